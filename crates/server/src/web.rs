//! The web pages, built from `web/` and embedded in the binary: no CDN, no online tiles.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

const INDEX_HTML: &str = include_str!("../../../web/dist/index.html");
const ASSETS: [(&str, &str, &[u8]); 2] = [
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

/// The page's assets (documentation-only type: the handler matches the name itself).
#[allow(dead_code)]
#[derive(serde::Serialize, utoipa::ToSchema)]
pub enum AssetName {
    #[serde(rename = "app.js")]
    AppJs,
    #[serde(rename = "app.css")]
    AppCss,
}

/// The page's script and style sheet.
#[utoipa::path(get, path = "/assets/{file}", tag = "system",
    params(("file" = AssetName, Path, description = "app.js or app.css")),
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
