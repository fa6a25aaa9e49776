//! Drivers' charges: start (with an Idempotency-Key), follow, stop, list their own.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use evgrid_model::Role;
use evgrid_registry::charging::ChargeError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::params::Params;
use crate::{ApiError, AppState};

/// Who may start charges: drivers (and admins, for support).
const DRIVERS: &[Role] = &[Role::Driver, Role::Admin];

/// A start request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// The connector: `OPERATORID:CONNECTORID`, as the station's page lists it.
    #[schema(example = "EVGSYN001:P000001-01-1")]
    pub connector_id: String,
}

/// A charge (documentation of the answer): evgrid's record and the operator's live figures.
#[derive(Serialize, ToSchema)]
pub struct ChargeDoc {
    /// evgrid's id of the charge.
    pub id: String,
    pub operator_id: String,
    pub connector_id: String,
    /// `tcec`: through the operator's platform.
    pub channel: String,
    /// The operator's reference (T/CEC StartChargeSeq).
    pub session_ref: String,
    /// requested, started, refused (see `message`) or stop_requested.
    pub status: String,
    pub message: Option<String>,
    pub created_at: i64,
    /// The operator's session once it reports: state (starting, charging, stopping, finished,
    /// failed), energy (Wh), SoC, money so far (fen), periods and the order.
    #[schema(value_type = Option<Object>)]
    pub live: Option<serde_json::Value>,
}

fn charge_error(e: ChargeError) -> ApiError {
    match e {
        ChargeError::Invalid(m) => ApiError::BadRequest(m),
        ChargeError::NotFound(m) => ApiError::NotFound(m),
        ChargeError::Conflict(m) => ApiError::Conflict(m),
        ChargeError::Unavailable(m) => ApiError::BadGateway(m),
        ChargeError::Store(s) => s.into(),
    }
}

/// Starts a charge on any operator's connector. The `Idempotency-Key` header is required: the
/// same key again answers the same charge (200) and never starts a second one. The charge is
/// stored before the operator is asked (T/CEC query_equip_auth, then query_start_charge); a
/// refusal is answered as the charge with `status` `refused` and the operator's reason.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    request_body = StartBody,
    params(("Idempotency-Key" = String, Header, description = "1-100 visible ASCII characters, unique per charge you mean to start")),
    responses(
        (status = 201, description = "Started, or refused by the operator (see status)", body = ChargeDoc),
        (status = 200, description = "This key was used before: that charge", body = ChargeDoc),
        (status = 400, description = "A bad body or Idempotency-Key", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a driver", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connector", body = crate::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The operator cannot be called", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Json<StartBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let user = caller.require(DRIVERS)?;
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| ApiError::BadRequest("the Idempotency-Key header is required".into()))?
        .to_str()
        .map_err(|_| ApiError::BadRequest("the Idempotency-Key must be visible ASCII".into()))?;
    let Json(body) =
        body.map_err(|e| ApiError::BadRequest(format!("the body: {}", e.body_text())))?;
    let (view, created) = state
        .registry
        .start_charge(&state.platform_operator, user, &body.connector_id, key)
        .await
        .map_err(charge_error)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)).into_response())
}

/// One of your charges, with the operator's live figures (state, kWh, SoC, cost so far) and,
/// once it has arrived, the order.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge's id")),
    responses(
        (status = 200, description = "The charge", body = ChargeDoc),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charge of yours", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    let user = caller.require(crate::auth::ANYONE)?;
    p.finish()?;
    let view = state
        .registry
        .charge(user, &id)
        .await
        .map_err(charge_error)?;
    Ok(Json(view).into_response())
}

/// Asks the operator to stop one of your charges (T/CEC query_stop_charge).
#[utoipa::path(post, path = "/api/v1/sessions/{id}/stop", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge's id")),
    responses(
        (status = 200, description = "The operator accepted the stop", body = ChargeDoc),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charge of yours", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing to stop, or the operator refused", body = crate::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The operator cannot be called", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn stop(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = caller.require(crate::auth::ANYONE)?;
    let view = state
        .registry
        .stop_charge(&state.platform_operator, user, &id)
        .await
        .map_err(charge_error)?;
    Ok(Json(view).into_response())
}

/// Your charges, newest first.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Your charges", body = Vec<ChargeDoc>),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn mine(
    State(state): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Response, ApiError> {
    let user = caller.require(crate::auth::ANYONE)?;
    p.finish()?;
    let list = state
        .registry
        .charges_of(user)
        .await
        .map_err(charge_error)?;
    Ok(Json(list).into_response())
}

/// Whether nothing more will happen to a charge: refused, or the operator's session ended.
fn settled(view: &evgrid_registry::charging::ChargeView) -> bool {
    view.charge.status == "refused"
        || view
            .live
            .as_ref()
            .is_some_and(|s| s.state.rank() >= 4 && s.order_received_at.is_some())
}

/// Seconds between two looks at a charge for its event stream.
const EVENT_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// One of your charges as a live stream (Server-Sent Events): an event `charge` with the same
/// body as `GET /api/v1/sessions/{id}` now and at every change (state, kWh, SoC, cost so far),
/// until the order has arrived or the start was refused; then the stream ends.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/events", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge's id")),
    responses(
        (status = 200, description = "The stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charge of yours", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let user = caller.require(crate::auth::ANYONE)?.clone();
    p.finish()?;
    // Not yours, not found: answered before the stream starts.
    state
        .registry
        .charge(&user, &id)
        .await
        .map_err(charge_error)?;
    let registry = state.registry.clone();
    let stream = futures_util::stream::unfold((None::<String>, false), move |(last, ended)| {
        let (registry, user, id) = (registry.clone(), user.clone(), id.clone());
        async move {
            if ended {
                return None;
            }
            let mut last = last;
            loop {
                if last.is_some() {
                    tokio::time::sleep(EVENT_POLL).await;
                }
                let view = match registry.charge(&user, &id).await {
                    Ok(v) => v,
                    Err(e) => {
                        let event = Event::default().event("error").data(e.to_string());
                        return Some((Ok::<_, std::convert::Infallible>(event), (last, true)));
                    }
                };
                let json = serde_json::to_string(&view).unwrap_or_default();
                if last.as_deref() != Some(json.as_str()) {
                    let done = settled(&view);
                    let event = Event::default().event("charge").data(json.clone());
                    return Some((Ok(event), (Some(json), done)));
                }
                last = Some(json);
            }
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}
