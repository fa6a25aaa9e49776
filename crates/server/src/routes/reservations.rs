//! Drivers' reservations of connectors on chargers connected directly (OCPP ReserveNow).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::params::Params;
use crate::routes::charging::{charge_error, DRIVERS};
use crate::{ApiError, AppState};

/// A reservation request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveBody {
    /// The connector: `OPERATORID:CONNECTORID` of a charger connected directly (OCPP).
    #[schema(example = "EVGSYN001:P000001E01-1")]
    pub connector_id: String,
    /// How long to hold it, 5 to 30 minutes (default 15).
    #[serde(default, deserialize_with = "evgrid_model::whole::optional_whole")]
    #[schema(minimum = 5, maximum = 30)]
    pub minutes: Option<u32>,
}

/// A reservation (documentation of the answer).
#[derive(Serialize, ToSchema)]
pub struct ReservationDoc {
    pub id: String,
    pub operator_id: String,
    pub connector_id: String,
    /// The reservation's number at the charger (OCPP reservationId).
    pub ocpp_id: i64,
    /// reserved, refused (see `message`), cancelled, used (a charge started under it) or expired.
    pub status: String,
    pub message: Option<String>,
    /// Until when the connector is held, seconds since 1970.
    pub expires_at: i64,
    pub created_at: i64,
}

/// Reserves a connector of a charger connected directly (OCPP ReserveNow, with the expiry).
/// The charger's refusal (busy, faulted, offline) is answered as the reservation with `status`
/// `refused` and the reason. A charge you start on the connector before it expires runs under
/// the reservation. Connectors on operator platforms cannot be reserved (409): T/CEC 102 has no
/// reservation interface.
#[utoipa::path(post, path = "/api/v1/reservations", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    request_body = ReserveBody,
    responses(
        (status = 201, description = "Reserved, or refused by the charger (see status)", body = ReservationDoc),
        (status = 400, description = "A bad body", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a driver", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connector", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The connector's channel takes no reservations", body = crate::Problem, content_type = "application/problem+json"),
        (status = 429, description = "You hold the most open reservations one may (3)", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn reserve(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ReserveBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let user = caller.require(DRIVERS)?;
    let Json(body) = body.map_err(|e| ApiError::from_json_rejection("the body", &e))?;
    let reservation = state
        .app
        .charging()
        .reserve(
            &state.ocpp.hub,
            user,
            &body.connector_id,
            body.minutes.unwrap_or(15),
        )
        .await
        .map_err(charge_error)?;
    Ok((StatusCode::CREATED, Json(reservation)).into_response())
}

/// Your reservations, newest first.
#[utoipa::path(get, path = "/api/v1/me/reservations", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Your reservations", body = Vec<ReservationDoc>),
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
        .app
        .charging()
        .reservations_of(user)
        .await
        .map_err(charge_error)?;
    Ok(Json(list).into_response())
}

/// Cancels one of your reservations that still holds (OCPP CancelReservation).
#[utoipa::path(delete, path = "/api/v1/reservations/{id}", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The reservation's id")),
    responses(
        (status = 200, description = "Cancelled", body = ReservationDoc),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such reservation of yours", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not held any more (used, expired, cancelled or refused)", body = crate::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The charger cannot be reached", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = caller.require(crate::auth::ANYONE)?;
    let reservation = state
        .app
        .charging()
        .cancel_reservation(&state.ocpp.hub, user, &id)
        .await
        .map_err(charge_error)?;
    Ok(Json(reservation).into_response())
}
