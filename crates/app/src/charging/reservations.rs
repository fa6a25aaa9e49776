//! Drivers' reservations: a connector held for a driver for a few minutes. Only chargers
//! connected directly by OCPP take them (ReserveNow with an expiry, CancelReservation); T/CEC 102
//! has no reservation interface (its stations only say whether they support orders). A charge
//! the driver starts on the reserved connector runs under the reservation's id tag, so the
//! charger lets them in (see `start_charge`).

use evgrid_model::{Reservation, ReservationStatus, User};
use evgrid_ocpp::commands::CommandStatus;
use evgrid_ocpp::hub::Hub;
use tracing::Instrument;

use super::charges::{command_error, new_id_tag, ChargeError, CALL_TIMEOUT};
use super::Charging;

/// Shortest and longest reservation, minutes.
pub const MINUTES: std::ops::RangeInclusive<u32> = 5..=30;

/// A stored reservation with `expired` in place of `reserved` once its time passed.
fn as_seen(mut r: Reservation, now: i64) -> Reservation {
    if r.status == ReservationStatus::Reserved && !r.active_at(now) {
        r.status = ReservationStatus::Expired;
    }
    r
}

/// Most reservations one user holds open (requested or reserved, not expired) at a time.
pub const OPEN_RESERVATIONS_MOST: usize = 3;

impl Charging {
    /// Reserves `connector` (`OPERATORID:CONNECTORID`) for `user` for `minutes`. A refusal (the
    /// charger is busy, faulted or offline) is stored and returned with the reason.
    pub async fn reserve(
        &self,
        hub: &Hub,
        user: &User,
        connector: &str,
        minutes: u32,
    ) -> Result<Reservation, ChargeError> {
        if !MINUTES.contains(&minutes) {
            return Err(ChargeError::Invalid(format!(
                "a reservation lasts {} to {} minutes, not {minutes}",
                MINUTES.start(),
                MINUTES.end()
            )));
        }
        let now = evgrid_model::time::unix_now();
        let open = self
            .store
            .reservations_of(user.id)
            .await?
            .iter()
            .filter(|r| {
                matches!(
                    r.status,
                    ReservationStatus::Requested | ReservationStatus::Reserved
                ) && r.active_at(now)
            })
            .count();
        if open >= OPEN_RESERVATIONS_MOST {
            return Err(ChargeError::TooMany(format!(
                "you have {open} open reservations, the most one may hold; cancel one or let it expire"
            )));
        }
        let (operator, connector_id) = self.resolve_connector(connector).await?;
        let Some((charger, n)) = self.ocpp_charger_of(&operator, &connector_id).await? else {
            return Err(ChargeError::Conflict(format!(
                "{connector} is on operator {operator}'s platform; T/CEC 102 has no reservation \
                 interface, so only chargers connected directly (OCPP) can be reserved"
            )));
        };
        let mut reservation = None;
        for _ in 0..5 {
            let random =
                crate::random_bytes(4).map_err(|e| ChargeError::Unavailable(e.to_string()))?;
            let r = Reservation {
                id: crate::random_hex(16).map_err(|e| ChargeError::Unavailable(e.to_string()))?,
                user_id: user.id,
                operator_id: operator.as_str().to_owned(),
                connector_id: connector_id.clone(),
                id_tag: new_id_tag()?,
                ocpp_id: i64::from(
                    u32::from_le_bytes([random[0], random[1], random[2], random[3]]) >> 1,
                ),
                status: ReservationStatus::Requested,
                message: None,
                expires_at: now + i64::from(minutes) * 60,
                created_at: now,
            };
            if self.store.insert_reservation(&r).await? {
                reservation = Some(r);
                break;
            }
        }
        let mut r = reservation
            .ok_or_else(|| ChargeError::Unavailable("no free id tag; try again".into()))?;
        self.issue_central_token(
            &r.id_tag,
            &user.username,
            &operator,
            format!("reservation {}", r.id),
        )
        .await
        .map_err(|e| ChargeError::Unavailable(e.to_string()))?;
        let span = tracing::info_span!("reserve", operator = %operator, charger = %charger.id, connector = n);
        let outcome = async {
            match hub.locate(&charger.id).await {
                None => Err(format!("charger {} is not connected", charger.id)),
                Some(version) => {
                    let expiry = evgrid_model::time::format_rfc3339(r.expires_at);
                    let (action, payload) =
                        evgrid_ocpp::commands::reserve(version, n, &r.id_tag, &expiry, r.ocpp_id);
                    match hub.call(&charger.id, action, payload, CALL_TIMEOUT).await {
                        Err(e) => Err(command_error(&charger.id, e)),
                        Ok(answer) => match CommandStatus::of(&answer).refused() {
                            None => Ok(()),
                            Some(status) => Err(format!(
                                "charger {} refused the reservation (status {status})",
                                charger.id
                            )),
                        },
                    }
                }
            }
        }
        .instrument(span.clone())
        .await;
        let (status, message) = match outcome {
            Ok(()) => (ReservationStatus::Reserved, None),
            Err(m) => (ReservationStatus::Refused, Some(m)),
        };
        span.in_scope(|| {
            tracing::info!(status = status.as_str(), ?message, "driver's reservation")
        });
        self.store
            .set_reservation_status(&r.id, status, message.as_deref())
            .await?;
        r.status = status;
        r.message = message;
        Ok(r)
    }

    /// The user's reservations, newest first.
    pub async fn reservations_of(&self, user: &User) -> Result<Vec<Reservation>, ChargeError> {
        let now = evgrid_model::time::unix_now();
        Ok(self
            .store
            .reservations_of(user.id)
            .await?
            .into_iter()
            .map(|r| as_seen(r, now))
            .collect())
    }

    /// Cancels a reservation of `user` that still holds (OCPP CancelReservation).
    pub async fn cancel_reservation(
        &self,
        hub: &Hub,
        user: &User,
        id: &str,
    ) -> Result<Reservation, ChargeError> {
        let now = evgrid_model::time::unix_now();
        let r = self
            .store
            .reservation(id)
            .await?
            .filter(|r| r.user_id == user.id)
            .map(|r| as_seen(r, now))
            .ok_or_else(|| ChargeError::NotFound(format!("no reservation {id:?} of yours")))?;
        if r.status != ReservationStatus::Reserved {
            return Err(ChargeError::Conflict(format!(
                "the reservation is {}: nothing to cancel",
                r.status.as_str()
            )));
        }
        let operator = evgrid_model::OperatorId::new(&r.operator_id)
            .map_err(|e| ChargeError::Unavailable(e.to_string()))?;
        let (charger, _) = self
            .ocpp_charger_of(&operator, &r.connector_id)
            .await?
            .ok_or_else(|| {
                ChargeError::Unavailable("the charger is no longer registered".into())
            })?;
        let (action, payload) = evgrid_ocpp::commands::cancel_reservation(r.ocpp_id);
        let answer = hub
            .call(&charger.id, action, payload, CALL_TIMEOUT)
            .await
            .map_err(|e| ChargeError::Unavailable(command_error(&charger.id, e)))?;
        // A charger that no longer knows the reservation holds nothing either.
        let message = CommandStatus::of(&answer).refused().map(|status| {
            format!(
                "charger {} answered {status:?} (it holds no such reservation)",
                charger.id
            )
        });
        self.store
            .set_reservation_status(&r.id, ReservationStatus::Cancelled, message.as_deref())
            .await?;
        Ok(Reservation {
            status: ReservationStatus::Cancelled,
            message,
            ..r
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_past_its_time_is_seen_as_expired() {
        let r = Reservation {
            id: "r".into(),
            user_id: 1,
            operator_id: "EVGSYN001".into(),
            connector_id: "C-1".into(),
            id_tag: "EVG1".into(),
            ocpp_id: 7,
            status: ReservationStatus::Reserved,
            message: None,
            expires_at: 1_000,
            created_at: 100,
        };
        assert_eq!(as_seen(r.clone(), 999).status, ReservationStatus::Reserved);
        assert_eq!(as_seen(r.clone(), 1_000).status, ReservationStatus::Expired);
        let cancelled = Reservation {
            status: ReservationStatus::Cancelled,
            ..r
        };
        assert_eq!(
            as_seen(cancelled, 2_000).status,
            ReservationStatus::Cancelled
        );
    }
}
