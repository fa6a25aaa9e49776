//! GeoJSON layers for maps: every station as a point, and the county boundaries (the map's
//! offline base layer).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use evgrid_model::StationListFilter;
use serde_json::{json, Value};

use crate::dto::point;
use crate::params::Params;
use crate::routes::{category_param, coord_param, CategoryParam, CoordParam};
use crate::{ApiError, AppState};

fn geojson(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/geo+json")], body).into_response()
}

/// Every station as a GeoJSON point with id, name, operator, category and counts.
#[utoipa::path(get, path = "/api/v1/map/stations", tag = "map",
    params(
        ("category" = Option<CategoryParam>, Query, description = "public, dedicated or private (comma-separated for several)"),
        ("coord" = Option<CoordParam>, Query, description = "wgs84 (default, as GeoJSON requires), gcj02 or bd09"),
    ),
    responses(
        (status = 200, description = "FeatureCollection of stations", content_type = "application/geo+json"),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn map_stations(
    State(state): State<AppState>,
    mut p: Params,
) -> Result<Response, ApiError> {
    let categories = category_param(&mut p);
    let coord = coord_param(&mut p);
    p.finish()?;
    let (items, _) = state
        .app
        .network()
        .list_stations(&StationListFilter::default(), 0, i64::MAX)
        .await?;
    let features: Vec<Value> = items
        .into_iter()
        .filter(|s| categories.as_ref().is_none_or(|c| c.contains(&s.category)))
        .map(|s| {
            let pt = point(evgrid_model::LatLng::new(s.lat, s.lng), coord);
            json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [pt.lng, pt.lat]},
                "properties": {
                    "id": s.key.to_string(),
                    "name": s.name,
                    "operator_id": s.key.operator_id.as_str(),
                    "category": s.category.as_str(),
                    "piles": s.piles,
                    "connectors": s.connectors,
                }
            })
        })
        .collect();
    let body = serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features}))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(geojson(body))
}

/// The county boundaries (WGS-84), as shipped in data/ganzhou.
#[utoipa::path(get, path = "/api/v1/map/counties", tag = "map",
    responses(
        (status = 200, description = "FeatureCollection of county polygons", content_type = "application/geo+json"),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn map_counties(State(state): State<AppState>, p: Params) -> Result<Response, ApiError> {
    p.finish()?;
    Ok(geojson(
        state.app.reference().counties_geojson.clone().into_bytes(),
    ))
}
