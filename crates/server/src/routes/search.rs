//! Nearest-station search over the in-memory index.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use evgrid_model::{Category, ConnectorType, CoordSystem, CurrentKind, LatLng, Power};
use evgrid_registry::SearchFilter;
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::point;
use crate::params::Params;
use crate::routes::{category_param, coord_param, operator_param};
use crate::{ApiError, AppState, Problem};

/// Most results one query returns.
pub const MAX_K: i64 = 100;
/// Largest search radius, metres.
pub const MAX_RADIUS_M: f64 = 1_000_000.0;

/// One search result.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearestItem<'a> {
    /// The station's API id, for /api/v1/stations/{id}.
    pub station_id: &'a str,
    pub name: &'a str,
    pub operator_id: &'a str,
    #[schema(value_type = String, example = "public")]
    pub category: Category,
    /// Latitude in the requested `coord` system.
    pub lat: f64,
    /// Longitude in the requested `coord` system.
    pub lng: f64,
    /// Great-circle distance from the query point, metres.
    pub distance_m: f64,
}

/// Search results, nearest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearestResult<'a> {
    pub items: Vec<NearestItem<'a>>,
    /// The coordinate system of `lat`/`lng` in the items.
    #[schema(value_type = String, example = "wgs84")]
    pub coord: CoordSystem,
}

/// The k nearest stations to a point (great-circle distance), with filters.
#[utoipa::path(get, path = "/api/v1/search/nearest", tag = "search",
    params(
        ("lat" = f64, Query, description = "Latitude, -90..90 (WGS-84 unless input_coord says otherwise)"),
        ("lng" = f64, Query, description = "Longitude, -180..180 (alias: lon)"),
        ("k" = Option<i64>, Query, description = "How many, 1 to 100 (default 10)"),
        ("radius_m" = Option<f64>, Query, description = "Only stations within this many metres (up to 1,000,000)"),
        ("category" = Option<String>, Query, description = "public, dedicated or private; a comma-separated list for several"),
        ("operator" = Option<String>, Query, description = "OperatorID"),
        ("min_power_kw" = Option<f64>, Query, description = "At least one connector of at least this rated power"),
        ("connector_type" = Option<String>, Query, description = "household_socket, ac_socket, ac_plug, dc_plug, wireless, other (or the T/CEC code 1-6)"),
        ("current" = Option<String>, Query, description = "dc or ac"),
        ("coord" = Option<String>, Query, description = "Datum of the returned coordinates: wgs84 (default), gcj02 or bd09"),
        ("input_coord" = Option<String>, Query, description = "Datum of lat/lng given: wgs84 (default), gcj02 or bd09"),
    ),
    responses(
        (status = 200, description = "Stations, nearest first", body = NearestResult<'static>),
        (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn nearest(State(state): State<AppState>, mut p: Params) -> Result<Response, ApiError> {
    let lat = p.number(&["lat"], -90.0..=90.0);
    let lat = p.required("lat", lat);
    let lng = p.number(&["lng", "lon"], -180.0..=180.0);
    let lng = p.required("lng", lng);
    let k = p.integer(&["k"], 1..=MAX_K).unwrap_or(10);
    let radius_m = p.number(&["radius_m"], 0.0..=MAX_RADIUS_M);
    let categories = category_param(&mut p);
    let operator_id = operator_param(&mut p, &state).await?;
    let min_power = match p.number(&["min_power_kw"], 0.0..=100_000.0) {
        Some(kw) => match Power::from_kw_f64(kw) {
            Some(w) => Some(w),
            None => {
                p.error("min_power_kw", "at most 3 decimals");
                None
            }
        },
        None => None,
    };
    let connector_type = p.text(&["connector_type"]).and_then(|t| {
        let parsed = ConnectorType::from_name(&t).or_else(|| {
            t.parse::<i32>()
                .ok()
                .filter(|n| (1..=6).contains(n))
                .map(ConnectorType)
        });
        if parsed.is_none() {
            p.error(
                "connector_type",
                format!("{t:?} is not one of {}", ConnectorType::NAMES.join(", ")),
            );
        }
        parsed
    });
    let current = p.parsed::<CurrentKind>(&["current"], "dc or ac");
    let coord = coord_param(&mut p);
    let input_coord = p
        .parsed::<CoordSystem>(
            &["input_coord"],
            "a coordinate system (wgs84, gcj02 or bd09)",
        )
        .unwrap_or_default();
    p.finish()?;
    let (Some(lat), Some(lng)) = (lat, lng) else {
        return Err(ApiError::BadRequest("lat and lng are required".into()));
    };
    let center = LatLng::new(lat, lng).to_wgs84(input_coord);
    let filter = SearchFilter {
        categories,
        operator_id,
        min_power,
        connector_type,
        current,
    };
    let k = usize::try_from(k).unwrap_or(10);
    // The answer is written while the index is read: no station text is copied.
    let body = state
        .registry
        .nearest_with(center, k, radius_m, &filter, |hits| {
            let items = hits
                .iter()
                .map(|(station, distance_m)| {
                    let pt = point(station.location, coord);
                    NearestItem {
                        station_id: station.id(),
                        name: station.name(),
                        operator_id: station.operator_id(),
                        category: station.category,
                        lat: pt.lat,
                        lng: pt.lng,
                        distance_m: (distance_m * 100.0).round() / 100.0,
                    }
                })
                .collect();
            serde_json::to_vec(&NearestResult { items, coord })
        });
    let body = body.map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
