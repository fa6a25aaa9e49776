//! Coverage for the regulator: service radius both ways, townships, hot spots, the charging
//! circle, the coverage heat map, and the whole report as one workbook.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use evgrid_app::regulator::coverage::DEFAULT_GRID_M;
use evgrid_app::regulator::statistics as regulator;
use evgrid_geo::coverage::{CoverageOptions, CoverageReport};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Caller, REGULATORS};
use crate::export::{format_param, respond};
use crate::params::Params;
use crate::{ApiError, AppState};

/// The method, written once for the API document and the answers.
pub const METHOD: &str = "Planning-norm radius: sqrt(A / (π·N)) with A the official city area 39,379.64 km² (a county's boundary area for a county) and N the public stations. Measured radius: the distance from every populated grid cell (default 250 m) to the nearest public station, weighted by the cell's people; distances are equirectangular at the cell's latitude (within 0.2% of great-circle under 20 km). People: the 2020 census per county; townships with a census figure keep it, otherwise the county seat's town takes 40% and the rest is shared 街道 3 : 镇 1.5 : 乡 1; within a township people are spread around its centre with weight exp(-d/σ), σ 2.2 km for 街道 and county seats, 0.9 km for 镇, 0.6 km for 乡; a cell belongs to the nearest township centre in its county (no township boundaries are published). A township is covered when a public station lies in it (same rule). Hot spots are covered within hotspot_radius_m (default 1000 m) of a public station. Charging circle: the share of the named area's 50 m cells within the radius of a public station; the cells beyond are the gaps.";

/// Reads the coverage parameters shared by the endpoints.
fn options(p: &mut Params, state: &AppState) -> (f64, CoverageOptions) {
    let grid_m = grid_param(p).unwrap_or(DEFAULT_GRID_M);
    let mut options = CoverageOptions {
        hotspot_radius_m: p
            .number(&["hotspot_radius_m"], 10.0..=50_000.0)
            .unwrap_or(1000.0),
        circle_radius_km: p.number(&["circle_radius_km"], 0.1..=50.0),
        ..CoverageOptions::default()
    };
    if let Some(code) = p.text(&["county"]) {
        if state.app.reference().county(&code).is_some() {
            options.county = Some(code);
        } else {
            p.error(
                "county",
                format!("{code:?} is not a county code of the city"),
            );
        }
    }
    (grid_m, options)
}

/// The grid cells the API computes on, metres (the CLI takes any size in 100-5000): each size
/// is a population grid kept in memory (100 m would be 4 million cells), so the API offers a few.
pub const GRID_SIZES: [f64; 4] = [250.0, 500.0, 1000.0, 2000.0];

/// Grid cell sizes (documentation).
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
pub enum GridParam {
    #[serde(rename = "250")]
    M250,
    #[serde(rename = "500")]
    M500,
    #[serde(rename = "1000")]
    M1000,
    #[serde(rename = "2000")]
    M2000,
}

fn grid_param(p: &mut Params) -> Option<f64> {
    let v: f64 = p.parsed(&["grid_m"], "a number")?;
    if GRID_SIZES.contains(&v) {
        Some(v)
    } else {
        p.error(
            "grid_m",
            format!("{v} is not one of 100, 250, 500, 1000, 2000"),
        );
        None
    }
}

/// Computes (or takes from the cache) the report, off the async threads.
async fn report(
    state: &AppState,
    grid_m: f64,
    options: CoverageOptions,
) -> Result<Arc<CoverageReport>, ApiError> {
    let app = state.app.clone();
    tokio::task::spawn_blocking(move || app.regulator().coverage(grid_m, &options))
        .await
        .map_err(|e| ApiError::Internal(format!("coverage computation failed: {e}")))
}

/// Covered out of a total.
#[derive(Debug, Serialize, ToSchema)]
pub struct Share {
    pub covered: usize,
    pub total: usize,
    /// covered / total (0 when there is none).
    pub share: f64,
}

/// Hot spots covered within a radius.
#[derive(Debug, Serialize, ToSchema)]
pub struct HotspotShare {
    pub covered: usize,
    pub total: usize,
    pub share: f64,
    pub radius_m: f64,
}

/// The charging circle's headline.
#[derive(Debug, Serialize, ToSchema)]
pub struct CircleSummary {
    /// The named area, e.g. 章江新区.
    pub area: String,
    pub area_km2: f64,
    pub radius_km: f64,
    /// Share of the area within the radius of a public station.
    pub share: f64,
    pub gap_km2: f64,
    pub max_distance_m: f64,
}

/// The measured distance from people to the nearest public station.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasuredRadius {
    pub population: f64,
    pub mean_km: f64,
    pub p50_km: f64,
    pub p90_km: f64,
}

/// The figures the city reports, for comparison.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reported {
    pub piles: i64,
    pub service_radius_km: f64,
    pub circle_radius_km: f64,
    /// "More than half of the townships covered".
    pub townships_share_at_least: f64,
    pub new_piles_per_year: i64,
}

/// The headline coverage figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageSummary {
    /// County code when restricted to one; null for the city.
    pub county: Option<String>,
    pub grid_m: f64,
    pub public_stations: usize,
    /// sqrt(A / (π·N)), km.
    pub planning_radius_km: f64,
    pub service_radius: MeasuredRadius,
    /// Share of the population within 1, 2, 3 and 5 km of a public station (keys are km).
    pub population_within_km: BTreeMap<String, f64>,
    pub townships: Share,
    pub hotspots: HotspotShare,
    pub circle: CircleSummary,
    /// The city's bounding box (min lng, min lat, max lng, max lat): where the heat map goes.
    pub bbox: [f64; 4],
    pub reported: Reported,
    pub method: String,
}

fn finite(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        -1.0
    }
}

fn share(covered: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        covered as f64 / total as f64
    }
}

/// The headline figures from a report.
pub fn summary_of(
    report: &CoverageReport,
    bbox: [f64; 4],
    county: Option<String>,
) -> CoverageSummary {
    let t = &report.total;
    let hot_covered = report.hotspots.iter().filter(|h| h.covered).count();
    let c = &report.circle;
    CoverageSummary {
        county,
        grid_m: report.grid_m,
        public_stations: t.public_stations,
        planning_radius_km: finite(t.planning_radius_km),
        service_radius: MeasuredRadius {
            population: t.population,
            mean_km: finite(t.mean_distance_m / 1000.0),
            p50_km: finite(t.p50_distance_m / 1000.0),
            p90_km: finite(t.p90_distance_m / 1000.0),
        },
        population_within_km: t
            .population_within_km
            .iter()
            .map(|(k, s)| (format!("{k}"), *s))
            .collect(),
        townships: Share {
            covered: t.townships_covered,
            total: t.townships_total,
            share: share(t.townships_covered, t.townships_total),
        },
        hotspots: HotspotShare {
            covered: hot_covered,
            total: report.hotspots.len(),
            share: share(hot_covered, report.hotspots.len()),
            radius_m: report.hotspot_radius_m,
        },
        circle: CircleSummary {
            area: c.area.clone(),
            area_km2: c.area_km2,
            radius_km: c.radius_km,
            share: c.share,
            gap_km2: c.gap_km2,
            max_distance_m: finite(c.max_distance_m),
        },
        bbox,
        reported: Reported {
            piles: 19_000,
            service_radius_km: 3.0,
            circle_radius_km: 2.0,
            townships_share_at_least: 0.5,
            new_piles_per_year: 5_000,
        },
        method: METHOD.to_owned(),
    }
}

/// Headline coverage figures: planning-norm and measured service radius, share of people within
/// 1/2/3/5 km, townships and hot spots covered, the charging circle. The method is in the
/// `method` field (planning radius sqrt(A/(π·N)); people on a population grid built from the
/// census per county, spread around township centres with exp(-d/σ); distances to the nearest
/// public station). Figures are recomputed only after a station changed.
#[utoipa::path(get, path = "/api/v1/coverage/summary", tag = "coverage",
    security(("bearer" = []), ("session" = [])),
    params(
        ("grid_m" = Option<GridParam>, Query, description = "Population grid cell, metres: 250 (default), 500, 1000 or 2000 (finer with evgrid coverage)"),
        ("hotspot_radius_m" = Option<f64>, Query, description = "A hot spot is covered within this distance of a public station (default 1000)", minimum = 10, maximum = 50000),
        ("circle_radius_km" = Option<f64>, Query, description = "The charging circle's radius (default: the area's own, 2 km for Zhangjiang)", minimum = 0.1, maximum = 50),
        ("county" = Option<String>, Query, description = "Restrict to one county (6-digit code)"),
    ),
    responses(
        (status = 200, description = "The figures", body = CoverageSummary),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let (grid_m, options) = options(&mut p, &state);
    p.finish()?;
    let county = options.county.clone();
    let r = report(&state, grid_m, options).await?;
    let bbox = evgrid_geo::population::city_bbox(state.app.reference());
    Ok(axum::Json(summary_of(&r, bbox, county)).into_response())
}

/// Every township: covered or not (a public station in it), estimated population, distance from
/// its centre to the nearest public station and its people's mean distance. `covered=false`
/// lists the townships without a public station. As JSON, CSV, XLSX or GeoJSON (centres).
#[utoipa::path(get, path = "/api/v1/coverage/townships", tag = "coverage",
    security(("bearer" = []), ("session" = [])),
    params(
        ("covered" = Option<bool>, Query, description = "Only covered (true) or uncovered (false) townships"),
        ("hotspot_radius_m" = Option<f64>, Query, description = "Hot-spot radius (part of the same report)", minimum = 10, maximum = 50000),
        ("circle_radius_km" = Option<f64>, Query, description = "Charging circle radius (part of the same report)", minimum = 0.1, maximum = 50),
        ("county" = Option<String>, Query, description = "Restrict to one county (6-digit code)"),
        ("grid_m" = Option<GridParam>, Query, description = "Population grid cell, metres: 250 (default), 500, 1000 or 2000 (finer with evgrid coverage)"),
        ("format" = Option<crate::export::FormatParam>, Query, description = "json (default), csv, xlsx or geojson"),
    ),
    responses(
        (status = 200, description = "The townships", content(
            (Object = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Object = "application/geo+json"),
        )),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn townships(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let covered: Option<bool> = p.parsed(&["covered"], "true or false");
    let format = format_param(&mut p, true);
    let (grid_m, options) = options(&mut p, &state);
    p.finish()?;
    let r = report(&state, grid_m, options).await?;
    let list: Vec<&evgrid_geo::coverage::TownshipCoverage> = r
        .townships
        .iter()
        .filter(|t| covered.is_none_or(|c| c == t.covered))
        .collect();
    let total = r.townships.len();
    let covered_n = r.townships.iter().filter(|t| t.covered).count();
    let body = serde_json::json!({
        "covered": covered_n,
        "total": total,
        "share": share(covered_n, total),
        "townships": list,
    });
    respond(format, &body, || regulator::townships_table(&r, covered))
}

/// Every hot spot with its nearest public station and distance; covered within
/// `hotspot_radius_m`. As JSON, CSV, XLSX or GeoJSON.
#[utoipa::path(get, path = "/api/v1/coverage/hotspots", tag = "coverage",
    security(("bearer" = []), ("session" = [])),
    params(
        ("hotspot_radius_m" = Option<f64>, Query, description = "Covered within this distance (default 1000)", minimum = 10, maximum = 50000),
        ("county" = Option<String>, Query, description = "Restrict to one county (6-digit code)"),
        ("grid_m" = Option<GridParam>, Query, description = "Population grid cell, metres: 250 (default), 500, 1000 or 2000 (finer with evgrid coverage)"),
        ("circle_radius_km" = Option<f64>, Query, description = "Charging circle radius (part of the same report)", minimum = 0.1, maximum = 50),
        ("format" = Option<crate::export::FormatParam>, Query, description = "json (default), csv, xlsx or geojson"),
    ),
    responses(
        (status = 200, description = "The hot spots", content(
            (Object = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Object = "application/geo+json"),
        )),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn hotspots(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let format = format_param(&mut p, true);
    let (grid_m, options) = options(&mut p, &state);
    p.finish()?;
    let r = report(&state, grid_m, options).await?;
    let covered = r.hotspots.iter().filter(|h| h.covered).count();
    let body = serde_json::json!({
        "covered": covered,
        "total": r.hotspots.len(),
        "radius_m": r.hotspot_radius_m,
        "hotspots": r.hotspots,
    });
    respond(format, &body, || regulator::hotspots_table(&r))
}

/// Service radius per county and for the city (first row), both ways, with piles per 10,000
/// people for the county map. As JSON, CSV or XLSX.
#[utoipa::path(get, path = "/api/v1/coverage/regions", tag = "coverage",
    security(("bearer" = []), ("session" = [])),
    params(
        ("grid_m" = Option<GridParam>, Query, description = "Population grid cell, metres: 250 (default), 500, 1000 or 2000 (finer with evgrid coverage)"),
        ("county" = Option<String>, Query, description = "Restrict to one county (6-digit code)"),
        ("hotspot_radius_m" = Option<f64>, Query, description = "Hot-spot radius (part of the same report)", minimum = 10, maximum = 50000),
        ("circle_radius_km" = Option<f64>, Query, description = "Charging circle radius (part of the same report)", minimum = 0.1, maximum = 50),
        ("format" = Option<crate::export::TableFormatParam>, Query, description = "json (default), csv or xlsx"),
    ),
    responses(
        (status = 200, description = "The regions", content(
            (Object = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn regions(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let format = format_param(&mut p, false);
    let (grid_m, options) = options(&mut p, &state);
    p.finish()?;
    let r = report(&state, grid_m, options).await?;
    let counts = state.app.network().region_counts().await?;
    let piles_of = |code: Option<&str>| -> i64 {
        match code {
            None => counts.city.piles.total(),
            Some(c) => counts
                .by_county
                .iter()
                .find(|(k, _)| k.as_deref() == Some(c))
                .map_or(0, |(_, v)| v.piles.total()),
        }
    };
    let rows: Vec<serde_json::Value> = regulator::regions_of(&r)
        .into_iter()
        .map(|c| {
            let piles = piles_of(c.code.as_deref());
            let mut v = serde_json::to_value(c).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("piles".into(), piles.into());
                o.insert(
                    "piles_per_10k_people".into(),
                    if c.population > 0.0 {
                        (piles as f64 / c.population * 10_000.0).into()
                    } else {
                        serde_json::Value::Null
                    },
                );
                for key in [
                    "planning_radius_km",
                    "mean_distance_m",
                    "p50_distance_m",
                    "p90_distance_m",
                ] {
                    if o.get(key).and_then(serde_json::Value::as_f64).is_none() {
                        o.insert(key.into(), serde_json::Value::Null);
                    }
                }
            }
            v
        })
        .collect();
    respond(format, &serde_json::json!({ "regions": rows }), || {
        regulator::service_radius_table(&r)
    })
}

/// The charging circle of Zhangjiang New District (or the radius asked): the share of its area
/// within the radius of a public station, and the gaps as polygons (GeoJSON).
#[utoipa::path(get, path = "/api/v1/coverage/circle", tag = "coverage",
    security(("bearer" = []), ("session" = [])),
    params(
        ("circle_radius_km" = Option<f64>, Query, description = "The circle's radius (default: the area's own, 2 km)", minimum = 0.1, maximum = 50),
        ("grid_m" = Option<GridParam>, Query, description = "Population grid cell, metres: 250 (default), 500, 1000 or 2000 (finer with evgrid coverage)"),
        ("county" = Option<String>, Query, description = "Restrict to one county (6-digit code)"),
        ("hotspot_radius_m" = Option<f64>, Query, description = "Hot-spot radius (part of the same report)", minimum = 10, maximum = 50000),
        ("format" = Option<crate::export::FormatParam>, Query, description = "json (default), csv, xlsx or geojson (the gaps)"),
    ),
    responses(
        (status = 200, description = "The circle", content(
            (Object = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Object = "application/geo+json"),
        )),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn circle(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let format = format_param(&mut p, true);
    let (grid_m, options) = options(&mut p, &state);
    p.finish()?;
    let r = report(&state, grid_m, options).await?;
    let c = &r.circle;
    let body = serde_json::json!({
        "area": c.area, "area_km2": c.area_km2, "radius_km": c.radius_km, "share": c.share,
        "gap_km2": c.gap_km2, "max_distance_m": c.max_distance_m, "cell_m": c.cell_m,
        "gaps": c.gaps.to_geojson(),
        "boundary": state.app.reference().zhangjiang.boundary.to_geojson(),
    });
    respond(format, &body, || regulator::circle_table(&r))
}

/// The coverage heat map: a PNG over the city's bounding box (`bbox` of the summary), one
/// pixel per grid cell, coloured by the distance to the nearest public station (≤1, ≤2, ≤3,
/// ≤5, >5 km), transparent outside the city. For map overlays: the header `X-Evgrid-Extent`
/// gives the image's corners (min lng, min lat, max lng, max lat).
#[utoipa::path(get, path = "/api/v1/coverage/heatmap.png", tag = "coverage",
    security(("bearer" = []), ("session" = [])),
    params(
        ("grid_m" = Option<GridParam>, Query, description = "Cell size, metres: 250, 500 (default), 1000 or 2000"),
    ),
    responses(
        (status = 200, description = "The image", content_type = "image/png"),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn heatmap(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let grid_m = grid_param(&mut p).unwrap_or(500.0);
    p.finish()?;
    let app = state.app.clone();
    let png = tokio::task::spawn_blocking(move || app.regulator().heatmap_png(grid_m))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (png, extent) = png;
    let extent = extent.map(|x| format!("{x:.6}")).join(",");
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_owned()),
            (header::CACHE_CONTROL, "max-age=60".to_owned()),
            (header::HeaderName::from_static("x-evgrid-extent"), extent),
        ],
        png,
    )
        .into_response())
}
