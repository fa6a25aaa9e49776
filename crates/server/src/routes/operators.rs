//! Operators: their data-quality report.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use evgrid_model::{OperatorId, Role};

use crate::auth::Caller;
use crate::params::Params;
use crate::{ApiError, AppState};

/// An operator's data quality: messages accepted and refused by `Ret` (counted across restarts)
/// (with recent refusals and the latency from TimeStamp to receipt), unreported and stale
/// connectors, stations lacking required fields, outside the city, with swapped coordinates, or
/// within 30 m of another operator's station; and evgrid's pulls from the operator's platform
/// (last attempt and success, consecutive failures, what the last pull found and how it differs
/// from what was pushed).
///
/// Seen by that operator's own users, regulators and admins; another operator's user gets 403.
#[utoipa::path(get, path = "/api/v1/operators/{id}/data-quality", tag = "operators",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The operator's id (its T/CEC OperatorID, 9 characters)")),
    responses(
        (status = 200, description = "The report", body = Object, content_type = "application/json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another operator's report, or a driver", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such operator", body = crate::Problem, content_type = "application/problem+json"),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn data_quality(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    let user = caller.require(&[Role::Operator, Role::Regulator, Role::Admin])?;
    if user.role == Role::Operator && user.operator_id.as_ref().map(OperatorId::as_str) != Some(&id)
    {
        return Err(ApiError::Forbidden(format!(
            "an operator user sees only its own operator's report, not {id}'s"
        )));
    }
    p.finish()?;
    let not_found = || ApiError::NotFound(format!("no operator {id:?}"));
    let operator = OperatorId::new(&id).map_err(|_| not_found())?;
    let report = state
        .app
        .live()
        .data_quality(&operator)
        .await?
        .ok_or_else(not_found)?;
    let body = serde_json::to_vec(&report).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
