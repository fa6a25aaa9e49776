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
    /// This node's id where several nodes share a PostgreSQL database.
    pub node: Option<String>,
}

/// Liveness and readiness: answers once the registry is loaded.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        stations: state.app.network().station_count(),
        version: env!("CARGO_PKG_VERSION"),
        node: state.node().map(str::to_owned),
    })
}

/// Ready to serve.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    #[schema(example = "ready")]
    pub status: &'static str,
    /// The database's schema (its newest migration), the one this evgrid carries.
    pub schema: i64,
    /// This node's id where several nodes share a PostgreSQL database.
    pub node: Option<String>,
}

/// Readiness for a load balancer: 200 when the database answers (within 2 s) and holds this
/// evgrid's schema; 503 with the reason otherwise (database down, not yet migrated, or
/// migrated by a newer evgrid). `/healthz` only says the process is up.
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "The database does not answer or holds another schema", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Ready>, ApiError> {
    let asked =
        tokio::time::timeout(std::time::Duration::from_secs(2), state.app.readiness()).await;
    match asked {
        Ok(Ok(r)) if r.current() => Ok(Json(Ready {
            status: "ready",
            schema: r.known,
            node: state.node().map(str::to_owned),
        })),
        Ok(Ok(r)) => Err(ApiError::Unavailable(
            format!(
                "the database holds schema {} and this evgrid {}",
                r.applied
                    .map_or_else(|| "none".to_owned(), |v| v.to_string()),
                r.known
            ),
            5,
        )),
        Ok(Err(e)) => Err(ApiError::Unavailable(format!("the database: {e}"), 5)),
        Err(_) => Err(ApiError::Unavailable(
            "the database did not answer within 2 s".into(),
            5,
        )),
    }
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

/// The most of a plain-text error that is read to restate it as a problem.
const PLAIN_ERROR_BYTES: usize = 4096;

/// Restates an error answered in plain text (by the framework: a path that is not valid UTF-8,
/// a body over the limit on a route that reads it whole) as `application/problem+json`, so
/// that every error of the API has the same shape.
pub async fn plain_errors_as_problems(
    response: axum::response::Response,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, PLAIN_ERROR_BYTES)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let title = status.canonical_reason().unwrap_or("Error").to_owned();
    let problem = crate::Problem {
        kind: "about:blank",
        detail: if text.is_empty() { title.clone() } else { text },
        title,
        status: status.as_u16(),
        errors: Vec::new(),
    };
    let mut answer = (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_vec(&problem).unwrap_or_default(),
    )
        .into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}
