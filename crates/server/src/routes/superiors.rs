//! Reporting upward, as the regulator sees it: the superior supervision platforms the city
//! reports to and how delivery to each stands.

use axum::extract::{Path, State};
use axum::Json;
use evgrid_app::superiors::{DeliveryReport, SuperiorView};

use crate::auth::{Caller, REGULATORS};
use crate::params::Params;
use crate::{ApiError, AppState};

/// The superior platforms (no secrets).
#[utoipa::path(get, path = "/api/v1/superiors", tag = "stats",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The superiors with their profiles", body = [Object], content_type = "application/json"),
        (status = 400, description = "An unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Json<Vec<SuperiorView>>, ApiError> {
    caller.require(REGULATORS)?;
    p.finish()?;
    Ok(Json(state.app.superiors().list().await?))
}

/// How delivery to one superior stands: attempts by interface and `Ret` (delivered or not),
/// the backlog by kind with its oldest item, the last success, the delivery lag (p50/p99 from
/// the fact's commit to the superior's acknowledgement over the latest 2,000 items) and the
/// orders the superior disputed in its daily checks.
#[utoipa::path(get, path = "/api/v1/superiors/{id}/delivery", tag = "stats",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The superior's id")),
    responses(
        (status = 200, description = "The delivery figures", body = Object, content_type = "application/json"),
        (status = 400, description = "An unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such superior", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Result<Json<DeliveryReport>, ApiError> {
    caller.require(REGULATORS)?;
    p.finish()?;
    state
        .app
        .superiors()
        .delivery(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no superior {id:?}")))
}
