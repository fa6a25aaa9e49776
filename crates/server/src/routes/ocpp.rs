//! OCPP-J over WebSocket: `/ocpp/{chargePointId}` with subprotocol `ocpp1.6` or `ocpp2.0.1`,
//! HTTP Basic per charger (security profile 1; profile 2 is the same behind TLS) or a TLS
//! client certificate signed by the platform's authority (profile 3), and the platform's
//! commands to connected chargers.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use base64::Engine;
use evgrid_app::charging::chargers::{ConnectionSecurity, Login};
use evgrid_model::Role;
use evgrid_ocpp::hub::CommandError;
use evgrid_ocpp::session::{self, Incoming, Transport};
use evgrid_ocpp::Version;
use serde::Deserialize;
use tracing::Instrument;
use utoipa::ToSchema;

use crate::{ApiError, AppState};

/// Largest WebSocket message read at all; larger ones close the connection (1009). Messages
/// between `evgrid_ocpp::csms::MAX_FRAME_BYTES` and this are answered with a CALLERROR.
const MAX_WS_MESSAGE: usize = 1024 * 1024;

/// The WebSocket close code for a message over [`MAX_WS_MESSAGE`] (RFC 6455: message too big).
const CLOSE_TOO_BIG: u16 = 1009;

/// The charger's password from `Authorization: Basic` (the user must be the charger's id).
fn basic_password(headers: &HeaderMap, charger: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or_else(|| ApiError::Unauthorized("Authorization must be HTTP Basic".into()))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            ApiError::Unauthorized("Authorization: Basic is not base64 of user:password".into())
        })?;
    let (user, password) = decoded.split_once(':').ok_or_else(|| {
        ApiError::Unauthorized("Authorization: Basic must be user:password".into())
    })?;
    if user != charger {
        return Err(ApiError::Unauthorized(
            "the Basic user must be the charge point id".into(),
        ));
    }
    Ok(Some(password.to_owned()))
}

/// The first subprotocol the charger offers that evgrid speaks.
fn negotiate(headers: &HeaderMap) -> Option<Version> {
    headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(Version::from_subprotocol)
}

/// A charger's OCPP-J connection (WebSocket upgrade). The charger offers `ocpp1.6` or
/// `ocpp2.0.1` in `Sec-WebSocket-Protocol`; without one of them the upgrade is refused (400).
/// A charger must send its password by HTTP Basic (user = its id); unknown chargers are
/// refused (401) unless the server accepts them (`--accept-unknown-chargers`, with the
/// password they present on first connection).
/// Not in the OpenAPI document (it describes HTTP operations, not WebSocket protocols); the
/// document's description points here.
pub async fn connect(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    place: Option<axum::Extension<crate::connections::ConnectionPlace>>,
    security: Option<axum::Extension<ConnectionSecurity>>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade =
        upgrade.map_err(|e| ApiError::BadRequest(format!("not a WebSocket upgrade: {e}")))?;
    let version = negotiate(&headers).ok_or_else(|| {
        ApiError::BadRequest(
            "offer the subprotocol ocpp1.6 or ocpp2.0.1 (Sec-WebSocket-Protocol)".into(),
        )
    })?;
    let password = basic_password(&headers, &id)?;
    let charger = match state
        .app
        .charging()
        .charger_login(
            &id,
            password.as_deref(),
            state.ocpp.accept_unknown.as_ref(),
            &security.map(|s| s.0).unwrap_or_default(),
        )
        .await?
    {
        Login::Accepted(c) => *c,
        Login::Refused(reason) => {
            tracing::info!(charger = %id, %reason, "OCPP connection refused");
            return Err(ApiError::Unauthorized(format!(
                "charger {id} refused: {reason}"
            )));
        }
    };
    Ok(upgrade
        .protocols([version.subprotocol()])
        .max_message_size(MAX_WS_MESSAGE)
        // Small buffers: a connection mostly idles between messages of a few hundred bytes.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            let span =
                tracing::info_span!("ocpp", charger = %charger.id, version = version.label());
            // The connection keeps its place among the bounded ones while the charger is on.
            async move {
                let _place = place;
                run(socket, state, charger, version).await;
            }
            .instrument(span)
        }))
}

/// The charger's WebSocket as the OCPP session's transport (counting its frames for
/// `/metrics`).
struct Socket(WebSocket, std::sync::Arc<crate::metrics::Metrics>);

impl Transport for Socket {
    async fn recv(&mut self) -> Incoming {
        match self.0.recv().await {
            Some(Ok(Message::Text(t))) => {
                self.1.record_ocpp_frame(t.as_str());
                Incoming::Text(t.to_string())
            }
            Some(Ok(Message::Binary(_))) => Incoming::Binary,
            Some(Ok(Message::Close(_))) => {
                // The charger closes: the WebSocket queued the answering close frame (RFC 6455
                // §5.5.1); send it before the connection ends.
                let _ = futures_util::SinkExt::flush(&mut self.0).await;
                Incoming::Closed
            }
            None => Incoming::Closed,
            Some(Ok(_)) => Incoming::Other,
            Some(Err(e)) => {
                let text = e.to_string();
                if text.contains("Message too long") || text.contains("Space limit exceeded") {
                    // RFC 6455 §7.4.1: 1009, a message too big to process.
                    tracing::info!(error = %text, "a message over {MAX_WS_MESSAGE} bytes: closed");
                    let frame = axum::extract::ws::CloseFrame {
                        code: CLOSE_TOO_BIG,
                        reason: "message too big".into(),
                    };
                    let _ = self.0.send(Message::Close(Some(frame))).await;
                } else {
                    tracing::info!(error = %text, "connection error");
                }
                Incoming::Closed
            }
        }
    }

    async fn send(&mut self, text: String) -> Result<(), ()> {
        self.0
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| ())
    }

    async fn ping(&mut self) -> Result<(), ()> {
        self.0
            .send(Message::Ping(axum::body::Bytes::from_static(b"evgrid")))
            .await
            .map_err(|_| ())
    }

    async fn close(&mut self, code: u16, reason: &str) {
        let frame = axum::extract::ws::CloseFrame {
            code,
            reason: reason.to_owned().into(),
        };
        let _ = self.0.send(Message::Close(Some(frame))).await;
    }
}

async fn run(socket: WebSocket, state: AppState, charger: evgrid_model::Charger, version: Version) {
    let id = charger.id.clone();
    tracing::info!("charger connected");
    let hub = state.ocpp.hub.clone();
    let backend = state.app.charging().ocpp_backend(charger);
    let liveness = state.ocpp.liveness;
    let stopping = state.stopping();
    session::run(
        Socket(socket, state.metrics.clone()),
        &backend,
        &hub,
        &id,
        version,
        liveness,
        stopping,
    )
    .await;
    tracing::info!("charger disconnected");
}

/// A command to a connected charger.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum ChargerCommand {
    /// Start charging on a connector (1.6 RemoteStartTransaction, 2.0.1 RequestStartTransaction).
    RemoteStart {
        #[serde(deserialize_with = "evgrid_model::whole::whole")]
        connector: u32,
        id_tag: String,
    },
    /// Stop a transaction (its id as the charger knows it).
    RemoteStop { transaction_id: String },
    /// Unlock a connector.
    Unlock {
        #[serde(deserialize_with = "evgrid_model::whole::whole")]
        connector: u32,
    },
    /// Reset: `soft` or `hard`.
    Reset { kind: String },
    /// Make a connector (0: the whole charger) operative or inoperative.
    ChangeAvailability {
        #[serde(deserialize_with = "evgrid_model::whole::whole")]
        connector: u32,
        operative: bool,
    },
    /// Ask the charger to send a message now (e.g. `StatusNotification`, `Heartbeat`).
    TriggerMessage {
        message: String,
        #[serde(default, deserialize_with = "evgrid_model::whole::optional_whole")]
        connector: Option<u32>,
    },
    /// Reserve a connector for an id tag until `expiry` (RFC 3339).
    Reserve {
        #[serde(deserialize_with = "evgrid_model::whole::whole")]
        connector: u32,
        id_tag: String,
        expiry: String,
        #[serde(deserialize_with = "evgrid_model::whole::whole")]
        reservation_id: i64,
    },
    /// Cancel a reservation.
    CancelReservation {
        #[serde(deserialize_with = "evgrid_model::whole::whole")]
        reservation_id: i64,
    },
    /// Replace the charger's local authorization list with the tokens valid at it, from the
    /// token store (its operator's and the platform's; SendLocalList, update type Full, the
    /// list version the current time in seconds); at most `max_entries` (default 1,000).
    SendLocalList {
        #[serde(default, deserialize_with = "evgrid_model::whole::optional_whole")]
        max_entries: Option<u32>,
    },
    /// Any other action of the charger's OCPP version (e.g. `GetConfiguration`,
    /// `SetChargingProfile`, `SendLocalList`, `GetDiagnostics`, `GetVariables`), with its
    /// payload as the specification writes it; validated against the official schema.
    Ocpp {
        action: String,
        payload: serde_json::Value,
    },
}

fn build(version: Version, c: &ChargerCommand) -> Result<(String, serde_json::Value), ApiError> {
    use evgrid_ocpp::commands;
    let (action, payload) = match c {
        ChargerCommand::RemoteStart { connector, id_tag } => commands::remote_start(
            version,
            *connector,
            id_tag,
            evgrid_model::time::unix_now().rem_euclid(1_000_000_000),
        ),
        ChargerCommand::RemoteStop { transaction_id } => {
            commands::remote_stop(version, transaction_id).map_err(ApiError::BadRequest)?
        }
        ChargerCommand::Unlock { connector } => commands::unlock(version, *connector),
        ChargerCommand::Reset { kind } => match kind.as_str() {
            "soft" => commands::reset(version, false),
            "hard" => commands::reset(version, true),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "reset kind {other:?} is soft or hard"
                )))
            }
        },
        ChargerCommand::ChangeAvailability {
            connector,
            operative,
        } => commands::change_availability(version, *connector, *operative),
        ChargerCommand::TriggerMessage { message, connector } => {
            commands::trigger_message(version, message, *connector)
        }
        ChargerCommand::Reserve {
            connector,
            id_tag,
            expiry,
            reservation_id,
        } => commands::reserve(version, *connector, id_tag, expiry, *reservation_id),
        ChargerCommand::CancelReservation { reservation_id } => {
            commands::cancel_reservation(*reservation_id)
        }
        ChargerCommand::Ocpp { action, payload } => return Ok((action.clone(), payload.clone())),
        ChargerCommand::SendLocalList { .. } => {
            return Err(ApiError::Internal(
                "the local list is built from the store, not here".into(),
            ))
        }
    };
    Ok((action.to_owned(), payload))
}

/// Seconds a command waits for the charger's answer.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends a command to a connected charger and answers with the charger's reply: 409 when the
/// charger is not connected, 504 when it does not answer within 30 s, 502 when it answers with
/// a CALLERROR or an answer that breaks the schema, 400 when the command is not valid OCPP.
///
/// For the charger operator's own users and admins.
#[utoipa::path(post, path = "/api/v1/chargers/{id}/commands", tag = "ocpp",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge point id")),
    request_body(content = ChargerCommand, content_type = "application/json"),
    responses(
        (status = 200, description = "The charger's answer (its OCPP payload) with the action sent", body = Object, content_type = "application/json"),
        (status = 400, description = "The command is not valid", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not this charger's operator or an admin", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charger", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The charger is not connected", body = crate::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The charger answered with an error", body = crate::Problem, content_type = "application/problem+json"),
        (status = 504, description = "The charger did not answer in time", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn command(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path(id): Path<String>,
    body: Result<Json<ChargerCommand>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let charger = operated_charger(&state, &caller, &id).await?;
    let Json(command) = body.map_err(|e| ApiError::from_json_rejection("the command", &e))?;
    if charger.registration == evgrid_model::Registration::Rejected {
        return Err(ApiError::Conflict(format!(
            "charger {id} is rejected: commission it first (POST /api/v1/chargers/{id}/registration)"
        )));
    }
    let version = state
        .ocpp
        .hub
        .locate(&id)
        .await
        .ok_or_else(|| ApiError::Conflict(format!("charger {id} is not connected")))?;
    let (action, payload) = match &command {
        ChargerCommand::SendLocalList { max_entries } => {
            let most = i64::from(max_entries.unwrap_or(1_000));
            let entries = state
                .app
                .charging()
                .local_list(&charger, most)
                .await
                .map_err(crate::routes::tokens::token_error)?;
            let (action, payload) = evgrid_ocpp::commands::send_local_list(
                version,
                evgrid_model::time::unix_now(),
                &entries,
            );
            (action.to_owned(), payload)
        }
        other => build(version, other)?,
    };
    caller
        .audit(&state, "charger.command", &id, &action)
        .await?;
    match state
        .ocpp
        .hub
        .call_within_limits(&id, version, &action, payload, COMMAND_TIMEOUT)
        .await
    {
        Ok(answer) => Ok(Json(
            serde_json::json!({"action": action, "answer": answer}),
        )),
        Err(CommandError::Offline(m)) => {
            Err(ApiError::Conflict(format!("charger {m} is not connected")))
        }
        Err(e @ CommandError::Timeout(..)) => Err(ApiError::GatewayTimeout(e.to_string())),
        Err(CommandError::Invalid(m)) => Err(ApiError::BadRequest(m)),
        Err(e @ CommandError::CallError { .. }) => Err(ApiError::BadGateway(e.to_string())),
    }
}

/// A directly connected charger: its registration, whether it is connected now, its
/// connectors' live status, its latest charging sessions (energy in Wh) and what it reported
/// about itself (firmware and diagnostics progress, log uploads, security events, reports;
/// the latest 100, newest first). For the charger
/// operator's own users, regulators and admins.
#[utoipa::path(get, path = "/api/v1/chargers/{id}", tag = "ocpp",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge point id")),
    responses(
        (status = 200, description = "The charger", body = Object, content_type = "application/json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not this charger's operator, a regulator or an admin", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charger", body = crate::Problem, content_type = "application/problem+json"),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_charger(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path(id): Path<String>,
    p: crate::params::Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(crate::auth::ANYONE)?;
    p.finish()?;
    let charging = state.app.charging();
    let charger = charging
        .charger(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no charger {id:?}")))?;
    caller.require_for_operator(&charger.operator_id, &[Role::Regulator, Role::Admin])?;
    let statuses = state
        .app
        .live()
        .operator_statuses(&charger.operator_id)
        .await?;
    let notices = charging.charger_notices(&charger.id).await?;
    let connectors: Vec<serde_json::Value> = (1..=charger.connectors)
        .map(|n| {
            let cid = charger.connector_id(n);
            let st = statuses.iter().find(|s| s.connector_id == cid);
            let conditions = evgrid_ocpp::csms::connector_conditions(&notices, n);
            serde_json::json!({
                "id": cid,
                "status": st.map_or("unknown", |s| s.status.as_str()),
                "status_observed_at": st.map(|s| s.observed_at),
                "status_source": st.map(|s| s.source.as_str()),
                "charging_limit": conditions["charging_limit"],
                "ev_charging_needs": conditions["ev_charging_needs"],
            })
        })
        .collect();
    let sessions = charging.recent_sessions_of(&charger, 20).await?;
    let online = state.ocpp.hub.locate(&id).await.map(Version::label);
    Ok(Json(serde_json::json!({
        "charger": charger,
        "connected": online.is_some(),
        "connected_with": online,
        // Whether this node holds the connection (several nodes on one database).
        "connected_here": state.ocpp.hub.version(&id).is_some(),
        "connectors": connectors,
        "sessions": sessions,
        "notices": notices,
    })))
}

/// The charger `id`, for a caller who may act on it (its operator's users and admins): 404
/// when there is none, 401/403 for anyone else.
async fn operated_charger(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: &str,
) -> Result<evgrid_model::Charger, ApiError> {
    caller.require(crate::auth::ANYONE)?;
    let Some(charger) = state.app.charging().charger(id).await? else {
        return Err(ApiError::NotFound(format!("no charger {id:?}")));
    };
    caller.require_for_operator(&charger.operator_id, &[Role::Admin])?;
    Ok(charger)
}

/// What a connected charger answered to a platform's request, as JSON: `{"status": …}`,
/// `{"error": …}`, or `null` when it was not asked (not connected).
fn charger_answer(
    answer: Option<Result<evgrid_ocpp::commands::CommandStatus, String>>,
) -> serde_json::Value {
    match answer {
        None => serde_json::Value::Null,
        Some(Ok(status)) => serde_json::json!({ "status": status.label() }),
        Some(Err(e)) => serde_json::json!({ "error": e }),
    }
}

/// A charger's registration to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationBody {
    /// `accepted` (commissioned: it charges), `pending` (connected and configurable, may not
    /// charge) or `rejected`.
    #[schema(example = "accepted")]
    pub registration: String,
}

/// Commissions a charger (`{"registration": "accepted"}`) or takes it out of service
/// (`pending`, `rejected`): what its BootNotification is answered. A connected charger is asked
/// to boot again at once (TriggerMessage BootNotification); `asked_to_boot` gives its answer
/// (`null` when it is not connected: it learns at its next boot). While pending, a charger's
/// messages that would charge are answered CALLERROR SecurityError; a rejected one may only
/// boot again, and takes no commands.
///
/// For the charger operator's own users and admins.
#[utoipa::path(post, path = "/api/v1/chargers/{id}/registration", tag = "ocpp",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge point id")),
    request_body = RegistrationBody,
    responses(
        (status = 200, description = "Set; with the charger's answer to booting again", body = Object, content_type = "application/json"),
        (status = 400, description = "A bad body", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not this charger's operator or an admin", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charger", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn registration(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path(id): Path<String>,
    body: Result<Json<RegistrationBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    operated_charger(&state, &caller, &id).await?;
    let Json(body) = body.map_err(|e| ApiError::from_json_rejection("the body", &e))?;
    let registration =
        evgrid_model::Registration::from_name(&body.registration).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "registration {:?}: accepted, pending or rejected",
                body.registration
            ))
        })?;
    let charging = state.app.charging();
    charging
        .set_registration(&id, registration)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    caller
        .audit(&state, "charger.registration", &id, registration.as_str())
        .await?;
    let asked = charger_answer(charging.ask_to_boot_again(&state.ocpp.hub, &id).await);
    Ok(Json(serde_json::json!({
        "charger": id,
        "registration": registration,
        "asked_to_boot": asked,
    })))
}

/// A charger's security profile to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityProfileBody {
    /// 1 (HTTP Basic), 2 (HTTP Basic over TLS) or 3 (a TLS client certificate signed by the
    /// platform's authority).
    #[schema(example = 2, minimum = 1, maximum = 3)]
    pub profile: u8,
    /// 2.0.1: the URL the charger is to reconnect to with the new profile (`wss://…/ocpp/`,
    /// `ws://` only for profile 1). With it a connected 2.0.1 charger is sent SetNetworkProfile,
    /// the slot's priority and a Reset; without it, it is not told.
    #[schema(example = "wss://evgrid.example.org:8443/ocpp/", max_length = 512)]
    pub csms_url: Option<String>,
    /// 2.0.1: the network configuration slot for it (default 1).
    #[schema(minimum = 0, maximum = 99)]
    pub configuration_slot: Option<u32>,
}

/// Sets the lowest OCPP security profile the charger may connect with; a connection below it
/// is refused (401). A charger raises itself to 3 at its first connection with a client
/// certificate (got through SignCertificate); set 2 to require TLS, or lower the profile for a
/// charger that lost its certificate. A connected 1.6 charger is told (ChangeConfiguration
/// `SecurityProfile`); a connected 2.0.1 charger, given `csms_url`, is sent SetNetworkProfile
/// (the profile in `configuration_slot`), SetVariables `OCPPCommCtrlr.NetworkConfigurationPriority`
/// and a Reset `OnIdle` (A05). `told` gives the first answer that is not `Accepted`, else the
/// last; `null` when the charger was not told.
///
/// For the charger operator's own users and admins.
#[utoipa::path(post, path = "/api/v1/chargers/{id}/security-profile", tag = "ocpp",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge point id")),
    request_body = SecurityProfileBody,
    responses(
        (status = 200, description = "Set; with a 1.6 charger's answer", body = Object, content_type = "application/json"),
        (status = 400, description = "A bad body or profile", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not this charger's operator or an admin", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charger", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn security_profile(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path(id): Path<String>,
    body: Result<Json<SecurityProfileBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    operated_charger(&state, &caller, &id).await?;
    let Json(body) = body.map_err(|e| ApiError::from_json_rejection("the body", &e))?;
    if !(1..=3).contains(&body.profile) {
        return Err(ApiError::BadRequest(format!(
            "security profile {}: 1, 2 or 3",
            body.profile
        )));
    }
    if let Some(url) = &body.csms_url {
        let secure = url.starts_with("wss://");
        if !(secure || url.starts_with("ws://")) || url.len() > 512 {
            return Err(ApiError::BadRequest(
                "csms_url: a ws:// or wss:// URL of at most 512 characters".into(),
            ));
        }
        if body.profile >= 2 && !secure {
            return Err(ApiError::BadRequest(format!(
                "csms_url: security profile {} needs wss://",
                body.profile
            )));
        }
    }
    let slot = body.configuration_slot.unwrap_or(1);
    if slot > 99 {
        return Err(ApiError::BadRequest("configuration_slot: 0 to 99".into()));
    }
    let target = body
        .csms_url
        .as_deref()
        .map(|csms_url| evgrid_ocpp::commands::NetworkTarget { csms_url, slot });
    let charging = state.app.charging();
    charging
        .set_security_profile(&id, body.profile)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    caller
        .audit(
            &state,
            "charger.security_profile",
            &id,
            &format!("profile {}", body.profile),
        )
        .await?;
    let told = charger_answer(
        charging
            .tell_security_profile(&state.ocpp.hub, &id, body.profile, target.as_ref())
            .await,
    );
    Ok(Json(serde_json::json!({
        "charger": id,
        "security_profile": body.profile,
        "told": told,
    })))
}

/// The platform's certificate authority (PEM): the chargers' certificates it signed
/// (SignCertificate) are their TLS client certificates (security profile 3); check them with
/// it. Created at the first start with TLS, or given by `evgrid charger
/// authority --cert … --key …`. Public: a certificate, not a secret.
#[utoipa::path(get, path = "/api/v1/certificate-authority.pem", tag = "ocpp",
    responses(
        (status = 200, description = "The authority's certificate", body = String, content_type = "application/x-pem-file"),
    ))]
pub async fn certificate_authority(State(state): State<AppState>) -> Result<Response, ApiError> {
    let authority = state.app.charging().certificate_authority().await?;
    Response::builder()
        .header(axum::http::header::CONTENT_TYPE, "application/x-pem-file")
        .body(axum::body::Body::from(authority.certificate_pem))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Gives a connected charger a new HTTP Basic password through its own configuration (1.6
/// ChangeConfiguration `AuthorizationKey`, 2.0.1 SetVariables `SecurityCtrlr.BasicAuthPassword`;
/// 40 random hex digits, never shown or stored in clear). The new password is accepted beside
/// the old one until the charger first logs in with it; then only the new one. `rotated`:
/// `accepted`, `refused` (the old password stays the only one) or `no_answer` (both stay valid
/// until the charger logs in with the new one).
///
/// For the charger operator's own users and admins.
#[utoipa::path(post, path = "/api/v1/chargers/{id}/password", tag = "ocpp",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge point id")),
    responses(
        (status = 200, description = "What the charger did with its new password", body = Object, content_type = "application/json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not this charger's operator or an admin", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charger", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The charger is not connected", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_password(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    use evgrid_app::charging::chargers::PasswordRotation;
    operated_charger(&state, &caller, &id).await?;
    let outcome = state
        .app
        .charging()
        .rotate_charger_password(&state.ocpp.hub, &id)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (rotated, detail) = match outcome {
        PasswordRotation::Offline => {
            return Err(ApiError::Conflict(format!("charger {id} is not connected")))
        }
        PasswordRotation::Accepted => ("accepted", None),
        PasswordRotation::Refused(status) => ("refused", Some(status)),
        PasswordRotation::NoAnswer(why) => ("no_answer", Some(why)),
    };
    caller
        .audit(
            &state,
            "charger.password",
            &id,
            &format!("rotated: {rotated}"),
        )
        .await?;
    Ok(Json(
        serde_json::json!({"charger": id, "rotated": rotated, "detail": detail}),
    ))
}
