//! Health, the OpenAPI document, and the answers for unknown routes and methods.

use axum::extract::State;
use axum::http::{header, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
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
        stations: state.app.network().station_count(),
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// This API's OpenAPI 3 document, generated from the code. The parameters that name a county,
/// township or operator list the values this server knows, so a client (or a fuzzer) can tell a
/// valid request from one that will be refused.
#[utoipa::path(get, path = "/api/openapi.json", tag = "system",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut doc = state
        .openapi
        .get()
        .cloned()
        .ok_or_else(|| ApiError::Internal("OpenAPI document not built".into()))?;
    let sorted = |codes: Vec<String>| {
        let mut codes = codes;
        codes.sort();
        codes
    };
    let counties = sorted(state.names.counties.keys().cloned().collect());
    let townships = sorted(state.names.townships.keys().cloned().collect());
    let operators: Vec<String> = state
        .app
        .network()
        .operators()
        .await?
        .into_iter()
        .map(|o| o.id.to_string())
        .collect();
    let interfaces: Vec<String> = evgrid_tcec::platform::INTERFACES
        .iter()
        .map(|i| (*i).to_owned())
        .collect();
    list_known_values(
        &mut doc,
        &[
            ("county", &counties),
            ("township", &townships),
            ("operator", &operators),
            ("interface", &interfaces),
        ],
    );
    let body = serde_json::to_vec(&doc).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Sets `enum` on every parameter with one of these names (left alone where no value is known).
fn list_known_values(doc: &mut Value, known: &[(&str, &Vec<String>)]) {
    let operations = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for op in operations {
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for p in params {
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let Some((_, values)) = known.iter().find(|(n, v)| *n == name && !v.is_empty()) {
                if let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut) {
                    schema.insert("enum".into(), Value::from((*values).clone()));
                }
            }
        }
    }
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
