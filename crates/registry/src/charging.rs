//! One-stop charging: a driver starts and stops a charge on any operator's connector through
//! evgrid. The charge is recorded (with the driver's Idempotency-Key) before the operator is
//! asked, so a repeated request never starts a second charge; the live figures and the order
//! come from the operator's own notifications (`charging_sessions`).
//!
//! Channel: T/CEC 102 (`query_equip_auth`, then `query_start_charge` with a `StartChargeSeq` of
//! evgrid's OperatorID, the China time and 4 random digits; `query_stop_charge`). Chargers
//! connected directly by OCPP are not started from here yet.

use std::time::Duration;

use evgrid_model::{DriverSession, OperatorId, Session, User};
use serde::Serialize;

use crate::Registry;

/// How long an operator platform has to answer a start or stop.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a charge cannot be started, stopped or shown.
#[derive(Debug, thiserror::Error)]
pub enum ChargeError {
    /// A bad connector id or idempotency key.
    #[error("{0}")]
    Invalid(String),
    /// No such connector or charge (or not the caller's).
    #[error("{0}")]
    NotFound(String),
    /// The charge is not in a state that allows it.
    #[error("{0}")]
    Conflict(String),
    /// The operator cannot be called, or did not answer.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] evgrid_store::StoreError),
}

/// A driver's charge with the operator's live figures, when any have arrived.
#[derive(Debug, Clone, Serialize)]
pub struct ChargeView {
    #[serde(flatten)]
    pub charge: DriverSession,
    /// The operator's session: state, energy (Wh), money (fen), periods, order.
    pub live: Option<Session>,
}

/// Longest accepted Idempotency-Key.
pub const MAX_KEY_LEN: usize = 100;

fn check_key(key: &str) -> Result<(), ChargeError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ChargeError::Invalid(format!(
            "the Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
        )));
    }
    Ok(())
}

impl Registry {
    async fn client(
        &self,
        operator: &OperatorId,
        platform: &OperatorId,
    ) -> Result<evgrid_tcec::client::Client, ChargeError> {
        let credentials = self
            .store()
            .credentials(operator)
            .await?
            .filter(|c| c.base_url.is_some())
            .ok_or_else(|| {
                ChargeError::Unavailable(format!(
                    "operator {operator} takes no calls from evgrid (no platform URL)"
                ))
            })?;
        crate::poller::client_for(&credentials, platform, CALL_TIMEOUT)
            .map_err(ChargeError::Unavailable)
    }

    /// Starts a charge on `connector` (`OPERATORID:CONNECTORID`) for `user`, calling the operator
    /// as `platform`. A key the user already used returns that charge (`false`): never a second
    /// start.
    pub async fn start_charge(
        &self,
        platform: &OperatorId,
        user: &User,
        connector: &str,
        key: &str,
    ) -> Result<(ChargeView, bool), ChargeError> {
        check_key(key)?;
        let bad = || {
            ChargeError::NotFound(format!(
                "no connector {connector:?}; connector ids look like OPERATORID:CONNECTORID"
            ))
        };
        let (operator, connector_id) = connector.split_once(':').ok_or_else(bad)?;
        let operator = OperatorId::new(operator).map_err(|_| bad())?;
        if !self
            .store()
            .connector_ids(&operator)
            .await?
            .iter()
            .any(|c| c == connector_id)
        {
            return Err(bad());
        }
        let client = self.client(&operator, platform).await?;
        let mut stored = None;
        for _ in 0..5 {
            let random =
                crate::random_bytes(4).map_err(|e| ChargeError::Unavailable(e.to_string()))?;
            let counter = u32::from_le_bytes([random[0], random[1], random[2], random[3]]);
            let now = evgrid_model::time::unix_now();
            let charge = DriverSession {
                id: crate::random_hex(16).map_err(|e| ChargeError::Unavailable(e.to_string()))?,
                user_id: user.id,
                idempotency_key: key.to_owned(),
                operator_id: operator.as_str().to_owned(),
                connector_id: connector_id.to_owned(),
                channel: "tcec".into(),
                session_ref: evgrid_tcec::business::new_seq(platform.as_str(), now, counter),
                status: "requested".into(),
                message: None,
                created_at: now,
            };
            if let Some(row) = self.store().insert_driver_session(&charge).await? {
                stored = Some(row);
                break;
            }
        }
        let (mut charge, created) = stored
            .ok_or_else(|| ChargeError::Unavailable("no free StartChargeSeq; try again".into()))?;
        if created {
            let span = tracing::info_span!("start_charge", operator = %operator, connector = connector_id, seq = %charge.session_ref);
            let _enter = span.enter();
            let outcome = match client.query_equip_auth(connector_id).await {
                Err(e) => Err(format!("operator {operator} did not answer the check: {e}")),
                Ok(a) if a.succ_stat != 0 => Err(format!(
                    "operator {operator} says the connector is not ready (FailReason {})",
                    a.fail_reason
                )),
                Ok(_) => match client
                    .query_start_charge(&charge.session_ref, connector_id, None)
                    .await
                {
                    Err(e) => Err(format!("operator {operator} did not answer the start: {e}")),
                    Ok(s) if s.succ_stat != 0 => Err(format!(
                        "operator {operator} refused to start (FailReason {})",
                        s.fail_reason
                    )),
                    Ok(_) => Ok(()),
                },
            };
            let (status, message) = match outcome {
                Ok(()) => ("started", None),
                Err(m) => ("refused", Some(m)),
            };
            tracing::info!(status, ?message, "driver's start");
            self.store()
                .set_driver_session_status(&charge.id, status, message.as_deref())
                .await?;
            charge.status = status.into();
            charge.message = message;
        }
        let live = self.store().session(&operator, &charge.session_ref).await?;
        Ok((ChargeView { charge, live }, created))
    }

    /// A charge of `user` (admins and regulators see any).
    pub async fn charge(&self, user: &User, id: &str) -> Result<ChargeView, ChargeError> {
        let charge = self
            .store()
            .driver_session(id)
            .await?
            .filter(|c| {
                c.user_id == user.id
                    || matches!(
                        user.role,
                        evgrid_model::Role::Admin | evgrid_model::Role::Regulator
                    )
            })
            .ok_or_else(|| ChargeError::NotFound(format!("no charge {id:?} of yours")))?;
        let operator = OperatorId::new(&charge.operator_id)
            .map_err(|e| ChargeError::Unavailable(e.to_string()))?;
        let live = self.store().session(&operator, &charge.session_ref).await?;
        Ok(ChargeView { charge, live })
    }

    /// The user's charges, newest first, with their live figures.
    pub async fn charges_of(&self, user: &User) -> Result<Vec<ChargeView>, ChargeError> {
        let mut out = Vec::new();
        for charge in self.store().driver_sessions_of(user.id).await? {
            let live = match OperatorId::new(&charge.operator_id) {
                Ok(op) => self.store().session(&op, &charge.session_ref).await?,
                Err(_) => None,
            };
            out.push(ChargeView { charge, live });
        }
        Ok(out)
    }

    /// Asks the operator to stop a started charge of `user`.
    pub async fn stop_charge(
        &self,
        platform: &OperatorId,
        user: &User,
        id: &str,
    ) -> Result<ChargeView, ChargeError> {
        let view = self.charge(user, id).await?;
        if view.charge.user_id != user.id {
            return Err(ChargeError::NotFound(format!("no charge {id:?} of yours")));
        }
        if view.charge.status != "started"
            || view.live.as_ref().is_some_and(|s| s.state.rank() >= 4)
        {
            return Err(ChargeError::Conflict(format!(
                "the charge is {}: nothing to stop",
                view.live
                    .as_ref()
                    .map_or(view.charge.status.as_str(), |s| s.state.as_str())
            )));
        }
        let operator = OperatorId::new(&view.charge.operator_id)
            .map_err(|e| ChargeError::Unavailable(e.to_string()))?;
        let client = self.client(&operator, platform).await?;
        let answer = client
            .query_stop_charge(&view.charge.session_ref, &view.charge.connector_id)
            .await
            .map_err(|e| {
                ChargeError::Unavailable(format!(
                    "operator {operator} did not answer the stop: {e}"
                ))
            })?;
        if answer.succ_stat != 0 {
            return Err(ChargeError::Conflict(format!(
                "operator {operator} refused to stop (FailReason {})",
                answer.fail_reason
            )));
        }
        self.store()
            .set_driver_session_status(id, "stop_requested", None)
            .await?;
        self.charge(user, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(check_key("order-2026-11-26-0001").is_ok());
        for bad in ["", "has space", "中文", &"k".repeat(101)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }
}
