//! Health, the OpenAPI document, and the answers for unknown routes and methods.

use axum::extract::State;
use axum::http::{header, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApiError, AppState};

/// Health of the server.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// Stations in the spatial index.
    pub stations: usize,
    pub version: &'static str,
}

/// Liveness and readiness: answers once the registry is loaded.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        stations: state.registry.station_count(),
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// This API's OpenAPI 3 document, generated from the code.
#[utoipa::path(get, path = "/api/openapi.json", tag = "system",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let doc = state
        .openapi
        .get()
        .cloned()
        .ok_or_else(|| ApiError::Internal("OpenAPI document not built".into()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], doc).into_response())
}

/// Unknown route.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!(
        "no such route: {}; see /api/openapi.json",
        uri.path()
    ))
}

/// Known route, wrong method.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}
