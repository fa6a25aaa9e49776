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
use crate::routes::{
    category_param, coord_param, operator_param, CategoryParam, ConnectorTypeParam, CoordParam,
    CurrentParam,
};
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
        ("lat" = f64, Query, minimum = -90, maximum = 90, description = "Latitude (WGS-84 unless input_coord says otherwise)"),
        ("lng" = f64, Query, minimum = -180, maximum = 180, description = "Longitude (alias: lon)"),
        ("k" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many (default 10)"),
        ("radius_m" = Option<f64>, Query, minimum = 0, maximum = 1000000, description = "Only stations within this many metres"),
        ("category" = Option<CategoryParam>, Query, description = "public, dedicated or private; a comma-separated list for several"),
        ("operator" = Option<String>, Query, description = "OperatorID of a known operator"),
        ("min_power_kw" = Option<f64>, Query, minimum = 0, maximum = 100000, description = "At least one connector of at least this rated power"),
        ("connector_type" = Option<ConnectorTypeParam>, Query, description = "Connector type (or the T/CEC code 1-6)"),
        ("current" = Option<CurrentParam>, Query, description = "dc or ac"),
        ("coord" = Option<CoordParam>, Query, description = "Datum of the returned coordinates (default wgs84)"),
        ("input_coord" = Option<CoordParam>, Query, description = "Datum of lat/lng given (default wgs84)"),
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
    // Rounded up to the watt: "at least 7.0001 kW" must not match a 7 kW connector.
    let min_power = p
        .number(&["min_power_kw"], 0.0..=100_000.0)
        .map(|kw| Power((kw * 1000.0).ceil() as u32));
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
