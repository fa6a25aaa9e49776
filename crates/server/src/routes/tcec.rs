//! T/CEC 102 platform interfaces over HTTP: the operator platforms' pushes and token requests.
//! Everything about the protocol happens in `evgrid_tcec::platform`; this handler only moves the
//! body, the bearer token and the answer. T/CEC reports errors inside the answer (`Ret`), so
//! the HTTP status is 200 whenever an answer could be formed.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState};

/// A T/CEC 102 interface called by an operator platform: `query_token` (no token) and the
/// pushes (`Authorization: Bearer <AccessToken>`). The body is the request envelope
/// (`OperatorID`, `Data`, `TimeStamp`, `Seq`, `Sig`); the answer is the response envelope
/// (`Ret`, `Msg`, `Data`, `Sig`) with `Ret` 0, 4001 (signature), 4002 (token), 4003 (envelope),
/// 4004 (business data) or 500. Nothing of a refused request is stored; an answer with `Ret` 0
/// is sent only after the data is committed.
#[utoipa::path(post, path = "/evcs/v1/{interface}", tag = "tcec",
    params(("interface" = String, Path, description = "The T/CEC interface name (the document lists the ones this platform serves)")),
    request_body(content = Option<serde_json::Value>, description = "T/CEC request envelope (any body is answered: problems come back in Ret)", content_type = "application/json"),
    responses(
        (status = 200, description = "T/CEC response envelope; the outcome is in Ret", content_type = "application/json"),
        (status = 404, description = "Not an interface this platform serves", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn tcec(
    State(state): State<AppState>,
    Path(interface): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !evgrid_tcec::platform::INTERFACES.contains(&interface.as_str()) {
        return Err(ApiError::NotFound(format!(
            "no T/CEC interface {interface:?} here; this platform serves {}",
            evgrid_tcec::platform::INTERFACES.join(", ")
        )));
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let answer =
        evgrid_tcec::platform::handle(&**state.app.live(), &interface, bearer, &body).await;
    let body = serde_json::to_vec(&answer).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        body,
    )
        .into_response())
}
