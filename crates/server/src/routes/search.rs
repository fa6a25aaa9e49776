//! Nearest-station search over the in-memory index.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use evgrid_app::network::search::{DriverFilter, DriverHit, SortBy};
use evgrid_app::SearchFilter;
use evgrid_model::{Category, ConnectorType, CoordSystem, CurrentKind, LatLng, Power, PricePerKwh};
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
    let filter = index_filter(&mut p, &state).await?;
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
    let k = usize::try_from(k).unwrap_or(10);
    // The answer is written while the index is read: no station text is copied.
    let body = state
        .app
        .network()
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

/// Reads the index's filters: `category`, `operator`, `min_power_kw`, `connector_type`,
/// `current`.
async fn index_filter(p: &mut Params, state: &AppState) -> Result<SearchFilter, ApiError> {
    let categories = category_param(p);
    let operator_id = operator_param(p, state).await?;
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
    Ok(SearchFilter {
        categories,
        operator_id,
        min_power,
        connector_type,
        current,
    })
}

/// One station for a driver.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriverItem {
    pub station_id: String,
    pub name: String,
    pub operator_id: String,
    #[schema(value_type = String, example = "public")]
    pub category: Category,
    pub lat: f64,
    pub lng: f64,
    /// From the query point (or off the route), metres.
    pub distance_m: f64,
    /// Along the route: where the station's nearest point of the route lies from its start.
    pub along_m: Option<f64>,
    /// Connectors that meet the query's connector conditions (all without any).
    pub connectors: i64,
    /// Of those, free now (status `available`, reported within the operator's interval).
    pub free: i64,
    /// Connectors whose status is too old to trust: never counted as free.
    pub stale: i64,
    /// Electricity + service now (Asia/Shanghai time of day), fen per kWh; null without a tariff.
    #[schema(value_type = Option<f64>)]
    pub price_now_fen_per_kwh: Option<crate::dto::Fen>,
    /// Open now by the reported hours; null when the hours are not readable.
    pub open_now: Option<bool>,
    pub business_hours: Option<String>,
}

/// A driver's search result.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriverResult {
    pub items: Vec<DriverItem>,
    #[schema(value_type = String, example = "wgs84")]
    pub coord: CoordSystem,
}

/// Reads what a driver filters and sorts by; public stations unless `category` says otherwise.
async fn driver_params(
    p: &mut Params,
    state: &AppState,
) -> Result<(SearchFilter, DriverFilter, usize, CoordSystem), ApiError> {
    let k = p.integer(&["k"], 1..=MAX_K).unwrap_or(20);
    let mut filter = index_filter(p, state).await?;
    if filter.categories.is_none() {
        filter.categories = Some(vec![Category::Public]);
    }
    let flag = |p: &mut Params, name: &'static str| -> bool {
        p.parsed::<bool>(&[name], "true or false").unwrap_or(false)
    };
    let free_now = flag(p, "free_now");
    let open_now = flag(p, "open_now");
    let max_price = p
        .number(&["max_price_fen"], 0.0..=100_000.0)
        .map(|fen| PricePerKwh((fen * 100.0).floor() as i64));
    let sort = match p.text(&["sort"]).as_deref() {
        None | Some("distance") => SortBy::Distance,
        Some("price") => SortBy::Price,
        Some(other) => {
            p.error("sort", format!("{other:?} is not distance or price"));
            SortBy::Distance
        }
    };
    let coord = coord_param(p);
    Ok((
        filter,
        DriverFilter {
            free_now,
            open_now,
            max_price,
            sort,
        },
        usize::try_from(k).unwrap_or(20),
        coord,
    ))
}

fn driver_answer(hits: Vec<DriverHit>, coord: CoordSystem) -> Response {
    let items = hits
        .into_iter()
        .map(|h| {
            let pt = point(h.station.location, coord);
            DriverItem {
                station_id: h.station.id().to_owned(),
                name: h.station.name().to_owned(),
                operator_id: h.station.operator_id().to_owned(),
                category: h.station.category,
                lat: pt.lat,
                lng: pt.lng,
                distance_m: (h.distance_m * 100.0).round() / 100.0,
                along_m: h.along_m.map(|a| a.round()),
                connectors: h.connectors,
                free: h.free,
                stale: h.stale,
                price_now_fen_per_kwh: h.price_now.map(crate::dto::Fen),
                open_now: h.open_now,
                business_hours: h.business_hours,
            }
        })
        .collect();
    axum::Json(DriverResult { items, coord }).into_response()
}

/// Stations for a driver near a point: within `radius_m` (default 5 km), filtered by what is
/// free now (fresh `available` statuses only: a stale status is never free), open now, a price
/// ceiling now, connector type, DC/AC, power and operator; sorted by distance or by the price
/// now. Public stations unless `category` says otherwise; the 400 nearest are considered.
#[utoipa::path(get, path = "/api/v1/search/stations", tag = "search",
    params(
        ("lat" = f64, Query, minimum = -90, maximum = 90, description = "Latitude (WGS-84 unless input_coord says otherwise)"),
        ("lng" = f64, Query, minimum = -180, maximum = 180, description = "Longitude (alias: lon)"),
        ("radius_m" = Option<f64>, Query, minimum = 1, maximum = 100000, description = "Search radius, metres (default 5000)"),
        ("k" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many (default 20)"),
        ("free_now" = Option<bool>, Query, description = "Only stations with a connector free now that meets the connector conditions (connector_type, current, min_power_kw)"),
        ("open_now" = Option<bool>, Query, description = "Only stations open now by their reported hours"),
        ("max_price_fen" = Option<f64>, Query, minimum = 0, maximum = 100000, description = "Electricity + service now at most this, fen per kWh"),
        ("sort" = Option<SortParam>, Query, description = "distance (default) or price"),
        ("category" = Option<CategoryParam>, Query, description = "Default public; a comma-separated list for several"),
        ("operator" = Option<String>, Query, description = "OperatorID of a known operator"),
        ("min_power_kw" = Option<f64>, Query, minimum = 0, maximum = 100000, description = "At least one connector of at least this rated power"),
        ("connector_type" = Option<ConnectorTypeParam>, Query, description = "Connector type (or the T/CEC code 1-6)"),
        ("current" = Option<CurrentParam>, Query, description = "dc or ac"),
        ("coord" = Option<CoordParam>, Query, description = "Datum of the returned coordinates (default wgs84)"),
        ("input_coord" = Option<CoordParam>, Query, description = "Datum of lat/lng given (default wgs84)"),
    ),
    responses(
        (status = 200, description = "Stations", body = DriverResult),
        (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn stations(State(state): State<AppState>, mut p: Params) -> Result<Response, ApiError> {
    let lat = p.number(&["lat"], -90.0..=90.0);
    let lat = p.required("lat", lat);
    let lng = p.number(&["lng", "lon"], -180.0..=180.0);
    let lng = p.required("lng", lng);
    let radius_m = p.number(&["radius_m"], 1.0..=100_000.0).unwrap_or(5000.0);
    let input_coord = p
        .parsed::<CoordSystem>(
            &["input_coord"],
            "a coordinate system (wgs84, gcj02 or bd09)",
        )
        .unwrap_or_default();
    let (filter, driver, k, coord) = driver_params(&mut p, &state).await?;
    p.finish()?;
    let (Some(lat), Some(lng)) = (lat, lng) else {
        return Err(ApiError::BadRequest("lat and lng are required".into()));
    };
    let center = LatLng::new(lat, lng).to_wgs84(input_coord);
    let hits = state
        .app
        .network()
        .search_for_driver(center, radius_m, k, &filter, &driver)
        .await?;
    Ok(driver_answer(hits, coord))
}

/// A point of a route (WGS-84).
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutePoint {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lng: f64,
}

/// A route: points in order and how far off it a station may be.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteQuery {
    /// The route's points in driving order, 2 to 1000.
    #[schema(min_items = 2, max_items = 1000, example = json!([{"lat": 25.8306, "lng": 114.9328}, {"lat": 25.958, "lng": 115.419}]))]
    pub points: Vec<RoutePoint>,
    /// Corridor half-width, metres (50-20000; default 2000).
    #[schema(minimum = 50, maximum = 20000)]
    pub corridor_m: Option<f64>,
}

/// Stations along a route: within `corridor_m` of the polyline, ordered along it (or by the
/// price now), with the same filters as `/api/v1/search/stations` (in the query string).
#[utoipa::path(post, path = "/api/v1/search/route", tag = "search",
    request_body = RouteQuery,
    params(
        ("k" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many (default 20)"),
        ("free_now" = Option<bool>, Query, description = "Only stations with a connector free now that meets the connector conditions (connector_type, current, min_power_kw)"),
        ("open_now" = Option<bool>, Query, description = "Only stations open now by their reported hours"),
        ("max_price_fen" = Option<f64>, Query, minimum = 0, maximum = 100000, description = "Electricity + service now at most this, fen per kWh"),
        ("sort" = Option<SortParam>, Query, description = "distance (along the route, default) or price"),
        ("category" = Option<CategoryParam>, Query, description = "Default public; a comma-separated list for several"),
        ("operator" = Option<String>, Query, description = "OperatorID of a known operator"),
        ("min_power_kw" = Option<f64>, Query, minimum = 0, maximum = 100000, description = "At least one connector of at least this rated power"),
        ("connector_type" = Option<ConnectorTypeParam>, Query, description = "Connector type (or the T/CEC code 1-6)"),
        ("current" = Option<CurrentParam>, Query, description = "dc or ac"),
        ("coord" = Option<CoordParam>, Query, description = "Datum of the returned coordinates (default wgs84)"),
    ),
    responses(
        (status = 200, description = "Stations along the route", body = DriverResult),
        (status = 400, description = "A bad parameter or route", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn route(
    State(state): State<AppState>,
    mut p: Params,
    body: Result<axum::Json<RouteQuery>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let (filter, driver, k, coord) = driver_params(&mut p, &state).await?;
    p.finish()?;
    let axum::Json(q) = body.map_err(|e| ApiError::from_json_rejection("the route", &e))?;
    if !(2..=1000).contains(&q.points.len()) {
        return Err(ApiError::BadRequest(format!(
            "the route needs 2 to 1000 points, got {}",
            q.points.len()
        )));
    }
    if let Some(i) = q
        .points
        .iter()
        .position(|p| !((-90.0..=90.0).contains(&p.lat) && (-180.0..=180.0).contains(&p.lng)))
    {
        return Err(ApiError::BadRequest(format!(
            "points[{i}] is not a point on the Earth (lat -90..90, lng -180..180)"
        )));
    }
    let corridor = q.corridor_m.unwrap_or(2000.0);
    if !(50.0..=20_000.0).contains(&corridor) {
        return Err(ApiError::BadRequest(format!(
            "corridor_m {corridor} is outside 50..20000"
        )));
    }
    let points: Vec<LatLng> = q.points.iter().map(|p| LatLng::new(p.lat, p.lng)).collect();
    let hits = state
        .app
        .network()
        .search_along_route(&points, corridor, k, &filter, &driver)
        .await?;
    Ok(driver_answer(hits, coord))
}

/// The order of a driver's search (documentation).
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortParam {
    Distance,
    Price,
}
