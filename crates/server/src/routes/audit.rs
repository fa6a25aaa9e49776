//! The audit log: who sent which command to which charger, who changed which charger's
//! registration or security, which operator's credentials, which account or id token.

use axum::extract::State;
use axum::Json;
use evgrid_model::{AuditFilter, Role};

use crate::auth::Caller;
use crate::params::Params;
use crate::{ApiError, AppState};

/// 9999-12-31T23:59:59Z: the latest time a database keeps.
const LATEST_TIME: i64 = 253_402_300_799;

/// Lines of the audit log, newest first: `target` (a charger's, operator's, user's or token's
/// id), `actor` (`user:NAME`, `cli:SYSTEM-USER`), `since` (Unix seconds), `before` (an id: the
/// next page is `before` the last line's id), `limit` (1 to 1,000, default 100).
///
/// For admins.
#[utoipa::path(get, path = "/api/v1/audit", tag = "auth",
    security(("bearer" = []), ("session" = [])),
    params(
        ("target" = Option<String>, Query, min_length = 1, description = "Only lines about this id"),
        ("actor" = Option<String>, Query, min_length = 1, description = "Only lines by this actor, e.g. user:ops"),
        ("since" = Option<i64>, Query, minimum = 0, description = "Only lines at or after this time (Unix seconds)"),
        ("before" = Option<i64>, Query, minimum = 1, description = "Only lines with an id below this (the next page)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "At most this many lines (default 100)"),
    ),
    responses(
        (status = 200, description = "Lines of the audit log, newest first", body = Object, content_type = "application/json"),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&[Role::Admin])?;
    let filter = AuditFilter {
        target: p.text(&["target"]),
        actor: p.text(&["actor"]),
        // Any time after 1970 is a valid question; past year 9999 it is the same one.
        since: p
            .integer(&["since"], 0..=i64::MAX)
            .map(|t| t.min(LATEST_TIME)),
        before: p.integer(&["before"], 1..=i64::MAX),
        limit: p
            .integer(&["limit"], 1..=evgrid_app::accounts::AUDIT_PAGE_MOST)
            .unwrap_or(100),
    };
    p.finish()?;
    let items = state.app.accounts().audit_log(&filter).await?;
    let next_before = (items.len() as i64 == filter.limit)
        .then(|| items.last().map(|e| e.id))
        .flatten();
    Ok(Json(
        serde_json::json!({"items": items, "next_before": next_before}),
    ))
}
