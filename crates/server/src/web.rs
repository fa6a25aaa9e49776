//! The web pages, built from `web/` and embedded in the binary: no CDN, no online tiles.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

const INDEX_HTML: &str = include_str!("../../../web/dist/index.html");
const DASHBOARD_HTML: &str = include_str!("../../../web/dist/dashboard.html");
const DRIVER_HTML: &str = include_str!("../../../web/dist/driver.html");
const ASSETS: [(&str, &str, &[u8]); 6] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/dist/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../web/dist/app.css"),
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/dist/dashboard.js"),
    ),
    (
        "dashboard.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../web/dist/dashboard.css"),
    ),
    (
        "driver.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/dist/driver.js"),
    ),
    (
        "driver.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../web/dist/driver.css"),
    ),
];

/// The map page.
#[utoipa::path(get, path = "/", tag = "system",
    responses((status = 200, description = "The station map (HTML)", content_type = "text/html")))]
pub async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

/// The regulator's dashboard: headline figures beside the city's reported ones, the county map
/// and coverage heat map, utilization and fault charts, targets, data quality, downloads.
#[utoipa::path(get, path = "/dashboard", tag = "system",
    responses((status = 200, description = "The dashboard (HTML)", content_type = "text/html")))]
pub async fn dashboard() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        DASHBOARD_HTML,
    )
        .into_response()
}

/// The driver's app: find a charger near you (map or list, filters), its live status and
/// prices, start, follow and stop a charge, orders and receipts. Phone-width, zh-CN and English.
#[utoipa::path(get, path = "/app", tag = "system",
    responses((status = 200, description = "The driver's app (HTML)", content_type = "text/html")))]
pub async fn driver_app() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        DRIVER_HTML,
    )
        .into_response()
}

/// The pages' assets (documentation-only type: the handler matches the name itself).
#[allow(dead_code)]
#[derive(serde::Serialize, utoipa::ToSchema)]
pub enum AssetName {
    #[serde(rename = "app.js")]
    AppJs,
    #[serde(rename = "app.css")]
    AppCss,
    #[serde(rename = "dashboard.js")]
    DashboardJs,
    #[serde(rename = "dashboard.css")]
    DashboardCss,
    #[serde(rename = "driver.js")]
    DriverJs,
    #[serde(rename = "driver.css")]
    DriverCss,
}

/// The page's script and style sheet.
#[utoipa::path(get, path = "/assets/{file}", tag = "system",
    params(("file" = AssetName, Path, description = "app.js, app.css, dashboard.js, dashboard.css, driver.js or driver.css")),
    responses(
        (status = 200, description = "The asset"),
        (status = 404, description = "No such asset", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (_, mime, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| ApiError::NotFound(format!("no asset {file:?}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, *mime),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        *body,
    )
        .into_response())
}
