//! Counties and townships with their station and pile counts.

use axum::extract::State;
use axum::Json;
use evgrid_model::Counts;
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::ByCategory;
use crate::params::Params;
use crate::{ApiError, AppState};

/// Stations, piles and connectors of a region, by category.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct RegionCounts {
    pub stations: ByCategory,
    pub piles: ByCategory,
    pub connectors: ByCategory,
}

impl From<&Counts> for RegionCounts {
    fn from(c: &Counts) -> Self {
        Self {
            stations: c.stations.into(),
            piles: c.piles.into(),
            connectors: c.connectors.into(),
        }
    }
}

/// A county-level unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountyView {
    #[schema(example = "360702")]
    pub code: String,
    pub name_zh: String,
    pub name_pinyin: String,
    /// 区, 县 or 市.
    pub kind: String,
    pub area_km2: f64,
    pub population: Option<u64>,
    /// True where the population is the reference data's estimate, not a census figure.
    pub population_estimated: bool,
    pub seat_lat: f64,
    pub seat_lng: f64,
    pub townships: usize,
    #[serde(flatten)]
    pub counts: RegionCounts,
}

/// A township-level unit (街道, 镇, 乡, or another unit the list holds).
#[derive(Debug, Serialize, ToSchema)]
pub struct TownshipView {
    #[schema(example = "360702001")]
    pub code: String,
    pub name_zh: String,
    pub county_code: String,
    pub kind: String,
    /// Representative point (WGS-84); how it was found is in centre_method.
    pub lat: f64,
    pub lng: f64,
    pub centre_method: String,
    pub population: Option<u64>,
    #[serde(flatten)]
    pub counts: RegionCounts,
}

/// All regions.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionsView {
    pub counties: Vec<CountyView>,
    pub townships: Vec<TownshipView>,
    /// Stations outside every county of the city.
    pub outside_city: RegionCounts,
}

/// Counties and townships with station, pile and connector counts by category.
#[utoipa::path(get, path = "/api/v1/regions", tag = "regions",
    responses(
        (status = 200, description = "Regions with counts", body = RegionsView),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn regions(
    State(state): State<AppState>,
    p: Params,
) -> Result<Json<RegionsView>, ApiError> {
    p.finish()?;
    let network = state.app.network();
    let (counties, townships) = network.stored_regions().await?;
    let counts = network.region_counts().await?;
    let find = |list: &[(Option<String>, Counts)], code: Option<&str>| -> RegionCounts {
        list.iter()
            .find(|(k, _)| k.as_deref() == code)
            .map_or_else(|| (&Counts::default()).into(), |(_, c)| c.into())
    };
    Ok(Json(RegionsView {
        counties: counties
            .into_iter()
            .map(|c| CountyView {
                townships: townships.iter().filter(|t| t.county_code == c.code).count(),
                counts: find(&counts.by_county, Some(&c.code)),
                code: c.code,
                name_zh: c.name_zh,
                name_pinyin: c.name_pinyin,
                kind: c.kind,
                area_km2: c.area_km2,
                population: c.population,
                population_estimated: c.population_estimated,
                seat_lat: c.seat.lat,
                seat_lng: c.seat.lng,
            })
            .collect(),
        townships: townships
            .into_iter()
            .map(|t| TownshipView {
                counts: find(&counts.by_township, Some(&t.code)),
                code: t.code,
                name_zh: t.name_zh,
                county_code: t.county_code,
                kind: t.kind,
                lat: t.centre.lat,
                lng: t.centre.lng,
                centre_method: t.centre_method,
                population: t.population,
            })
            .collect(),
        outside_city: find(&counts.by_county, None),
    }))
}
