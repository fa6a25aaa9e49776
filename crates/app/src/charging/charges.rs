//! One-stop charging: a driver starts and stops a charge on any operator's connector through
//! evgrid. The charge is recorded (with the driver's Idempotency-Key) before the operator is
//! asked, so a repeated request never starts a second charge; the live figures and the order
//! come from the operator's own notifications (`charging_sessions`).
//!
//! Channels:
//! - T/CEC 102 for an operator platform's connector: `query_equip_auth`, then
//!   `query_start_charge` with a `StartChargeSeq` of evgrid's OperatorID, the China time and 4
//!   random digits; `query_stop_charge`.
//! - OCPP for a charger connected directly: remote start (1.6 RemoteStartTransaction, 2.0.1
//!   RequestStartTransaction) under an id tag made for this charge (`EVG` + 17 hex digits). The
//!   charge's reference is that tag until the charger opens its transaction under it; then it is
//!   the transaction's (see `OcppBackend::transaction_started_by`; 2.0.1's `remoteStartId` is
//!   the tag's first 7 hex digits, for chargers whose events name no id token). Remote stop by
//!   transaction id.
//!   evgrid bills the transaction from the station's tariff (`OcppBackend`).

use std::time::Duration;

use evgrid_model::{
    Channel, Charge, ChargePlace, ChargeStatus, Charger, ChargingSession, OperatorId,
    ReservationStatus, User,
};
use evgrid_ocpp::commands::CommandStatus;
use evgrid_ocpp::hub::{CommandError, Hub};
use serde::Serialize;
use tracing::Instrument;

use super::Charging;

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
    /// The caller has as many of these open as one may.
    #[error("{0}")]
    TooMany(String),
    #[error(transparent)]
    Store(#[from] evgrid_store::StoreError),
}

/// A driver's charge with the operator's live figures, when any have arrived.
#[derive(Debug, Clone, Serialize)]
pub struct ChargeView {
    #[serde(flatten)]
    pub charge: Charge,
    /// The operator's session: state, energy (Wh), money (fen), periods, order.
    pub live: Option<ChargingSession>,
    /// The station and operator of the connector.
    pub place: Option<ChargePlace>,
}

/// How evgrid reaches the operators and chargers on a driver's behalf.
#[derive(Debug, Clone, Copy)]
pub struct Channels<'a> {
    /// evgrid's own OperatorID in T/CEC calls (and in `StartChargeSeq`).
    pub platform: &'a OperatorId,
    /// The connected OCPP chargers.
    pub hub: &'a Hub,
}

/// The prefix of the id tags evgrid makes for drivers' OCPP charges.
pub const ID_TAG_PREFIX: &str = "EVG";

/// A fresh id tag for a driver's OCPP charge or reservation: `EVG` + 17 hex digits (20
/// characters, the longest 1.6 `idTag`).
pub(crate) fn new_id_tag() -> Result<String, ChargeError> {
    let hex = crate::random_hex(9)
        .map_err(|e| ChargeError::Unavailable(e.to_string()))?
        .to_uppercase();
    Ok(format!("{ID_TAG_PREFIX}{}", &hex[..17]))
}

/// The `remoteStartId` of a charge's id tag: its first 7 hex digits (below 2^28).
fn remote_start_id(id_tag: &str) -> i64 {
    id_tag
        .get(ID_TAG_PREFIX.len()..ID_TAG_PREFIX.len() + 7)
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}

/// The id tag prefix (`EVG` + 7 hex digits) of the charge a `remoteStartId` came from.
pub(crate) fn id_tag_prefix_of_remote_start(id: i64) -> Option<String> {
    (0..1 << 28)
        .contains(&id)
        .then(|| format!("{ID_TAG_PREFIX}{id:07X}"))
}

pub(crate) fn command_error(charger: &str, e: CommandError) -> String {
    match e {
        CommandError::Offline(_) => format!("charger {charger} is not connected"),
        other => format!("charger {charger}: {other}"),
    }
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

impl Charging {
    async fn client(
        &self,
        operator: &OperatorId,
        platform: &OperatorId,
    ) -> Result<evgrid_tcec::client::Client, ChargeError> {
        let credentials = self
            .live
            .operator_credentials(operator)
            .await
            .map_err(|e| ChargeError::Unavailable(e.to_string()))?
            .filter(|c| c.base_url.is_some())
            .ok_or_else(|| {
                ChargeError::Unavailable(format!(
                    "operator {operator} takes no calls from evgrid (no platform URL)"
                ))
            })?;
        crate::live::poller::client_for(&credentials, platform, CALL_TIMEOUT)
            .map_err(ChargeError::Unavailable)
    }

    /// The operator and connector of `OPERATORID:CONNECTORID`, checked to exist.
    pub(crate) async fn resolve_connector(
        &self,
        connector: &str,
    ) -> Result<(OperatorId, String), ChargeError> {
        let bad = || {
            ChargeError::NotFound(format!(
                "no connector {connector:?}; connector ids look like OPERATORID:CONNECTORID"
            ))
        };
        let (operator, connector_id) = connector.split_once(':').ok_or_else(bad)?;
        let operator = OperatorId::new(operator).map_err(|_| bad())?;
        if !self
            .store
            .connector_ids(&operator)
            .await?
            .iter()
            .any(|c| c == connector_id)
        {
            return Err(bad());
        }
        Ok((operator, connector_id.to_owned()))
    }

    /// The directly connected charger of an operator's connector (`CHARGER-N`), with `N`.
    pub(crate) async fn ocpp_charger_of(
        &self,
        operator: &OperatorId,
        connector_id: &str,
    ) -> Result<Option<(Charger, u32)>, ChargeError> {
        let Some((charger_id, n)) = connector_id.rsplit_once('-') else {
            return Ok(None);
        };
        let Ok(n) = n.parse::<u32>() else {
            return Ok(None);
        };
        Ok(self
            .store
            .charger(charger_id)
            .await?
            .filter(|c| c.operator_id == *operator && (1..=c.connectors).contains(&n))
            .map(|c| (c, n)))
    }

    /// Starts a charge on `connector` (`OPERATORID:CONNECTORID`) for `user`, through the
    /// operator's platform (T/CEC) or the charger itself (OCPP). A key the user already used
    /// returns that charge (`false`): never a second start.
    pub async fn start_charge(
        &self,
        channels: Channels<'_>,
        user: &User,
        connector: &str,
        key: &str,
    ) -> Result<(ChargeView, bool), ChargeError> {
        let platform = channels.platform;
        check_key(key)?;
        let (operator, connector_id) = self.resolve_connector(connector).await?;
        let connector_id = connector_id.as_str();
        let ocpp = self.ocpp_charger_of(&operator, connector_id).await?;
        // A connector the driver reserved is held for the reservation's id tag: charge under it.
        let reservation = match ocpp {
            Some(_) => {
                self.store
                    .active_reservation(
                        user.id,
                        operator.as_str(),
                        connector_id,
                        evgrid_model::time::unix_now(),
                    )
                    .await?
            }
            None => None,
        };
        let client = match ocpp {
            Some(_) => None,
            None => Some(self.client(&operator, platform).await?),
        };
        let random_err = |e: std::io::Error| ChargeError::Unavailable(e.to_string());
        let mut stored = None;
        for attempt in 0..5 {
            let random = crate::random_bytes(4).map_err(random_err)?;
            let counter = u32::from_le_bytes([random[0], random[1], random[2], random[3]]);
            let now = evgrid_model::time::unix_now();
            let (channel, session_ref) = match (&ocpp, &reservation) {
                // The reservation's tag, unless an earlier (refused) charge took it.
                (Some(_), Some(r)) if attempt == 0 => (Channel::Ocpp, r.id_tag.clone()),
                (Some(_), _) => (Channel::Ocpp, new_id_tag()?),
                (None, _) => (
                    Channel::Tcec,
                    evgrid_tcec::business::new_seq(platform.as_str(), now, counter),
                ),
            };
            let charge = Charge {
                id: crate::random_hex(16).map_err(|e| ChargeError::Unavailable(e.to_string()))?,
                user_id: user.id,
                idempotency_key: key.to_owned(),
                operator_id: operator.as_str().to_owned(),
                connector_id: connector_id.to_owned(),
                channel,
                session_ref,
                status: ChargeStatus::Requested,
                message: None,
                created_at: now,
            };
            if let Some(row) = self.store.insert_charge(&charge).await? {
                stored = Some(row);
                break;
            }
        }
        let (charge, created) = stored
            .ok_or_else(|| ChargeError::Unavailable("no free StartChargeSeq; try again".into()))?;
        if created {
            if ocpp.is_some() {
                // The charger asks about the tag it is started with: it is the driver's token.
                self.issue_central_token(
                    &charge.session_ref,
                    &user.username,
                    &operator,
                    format!("charge {}", charge.id),
                )
                .await
                .map_err(|e| ChargeError::Unavailable(e.to_string()))?;
            }
            let span = tracing::info_span!("start_charge", operator = %operator, connector = connector_id, seq = %charge.session_ref);
            let outcome = async {
                match (&ocpp, &client) {
                    (Some((charger, n)), _) => {
                        self.remote_start(channels.hub, charger, *n, &charge.session_ref)
                            .await
                    }
                    (None, Some(client)) => {
                        Self::tcec_start(client, &operator, connector_id, &charge.session_ref).await
                    }
                    (None, None) => Err(format!("operator {operator} cannot be reached")),
                }
            }
            .instrument(span.clone())
            .await;
            let (status, message) = match outcome {
                Ok(()) => (ChargeStatus::Started, None),
                Err(m) => (ChargeStatus::Refused, Some(m)),
            };
            span.in_scope(|| tracing::info!(status = status.as_str(), ?message, "driver's start"));
            if let (Some(r), ChargeStatus::Started) = (
                reservation
                    .as_ref()
                    .filter(|r| r.id_tag == charge.session_ref),
                status,
            ) {
                self.store
                    .set_reservation_status(&r.id, ReservationStatus::Used, None)
                    .await?;
            }
            self.store
                .set_charge_status(&charge.id, status, message.as_deref())
                .await?;
        }
        Ok((self.charge(user, &charge.id).await?, created))
    }

    /// OCPP remote start of connector `n` under `id_tag`.
    async fn remote_start(
        &self,
        hub: &Hub,
        charger: &Charger,
        n: u32,
        id_tag: &str,
    ) -> Result<(), String> {
        let version = hub
            .locate(&charger.id)
            .await
            .ok_or_else(|| format!("charger {} is not connected", charger.id))?;
        let (action, payload) =
            evgrid_ocpp::commands::remote_start(version, n, id_tag, remote_start_id(id_tag));
        let answer = hub
            .call(&charger.id, action, payload, CALL_TIMEOUT)
            .await
            .map_err(|e| command_error(&charger.id, e))?;
        match CommandStatus::of(&answer).refused() {
            None => Ok(()),
            Some(status) => Err(format!(
                "charger {} refused to start (status {status})",
                charger.id
            )),
        }
    }

    /// T/CEC `query_equip_auth`, then `query_start_charge`.
    async fn tcec_start(
        client: &evgrid_tcec::client::Client,
        operator: &OperatorId,
        connector_id: &str,
        seq: &str,
    ) -> Result<(), String> {
        match client.query_equip_auth(connector_id).await {
            Err(e) => Err(format!("operator {operator} did not answer the check: {e}")),
            Ok(a) => match a.refusal() {
                Some(why) => Err(format!(
                    "operator {operator} says the connector is not ready: {why}"
                )),
                None => match client.query_start_charge(seq, connector_id, None).await {
                    Err(e) => Err(format!("operator {operator} did not answer the start: {e}")),
                    Ok(s) => match s.refusal() {
                        Some(why) => Err(format!("operator {operator} refused to start: {why}")),
                        None => Ok(()),
                    },
                },
            },
        }
    }

    /// A charge of `user` (admins and regulators see any).
    pub async fn charge(&self, user: &User, id: &str) -> Result<ChargeView, ChargeError> {
        let charge = self
            .store
            .charge(id)
            .await?
            .filter(|c| {
                c.user_id == user.id
                    || matches!(
                        user.role,
                        evgrid_model::Role::Admin | evgrid_model::Role::Regulator
                    )
            })
            .ok_or_else(|| ChargeError::NotFound(format!("no charge {id:?} of yours")))?;
        self.view(charge).await
    }

    /// A charge with its operator's live figures and its place.
    async fn view(&self, charge: Charge) -> Result<ChargeView, ChargeError> {
        let live = match OperatorId::new(&charge.operator_id) {
            Ok(op) => {
                self.store
                    .charging_session(&op, &charge.session_ref)
                    .await?
            }
            Err(_) => None,
        };
        let place = self
            .store
            .charge_place(&charge.operator_id, &charge.connector_id)
            .await?;
        Ok(ChargeView {
            charge,
            live,
            place,
        })
    }

    /// A page of the user's charges (only those with an order, with `orders_only`), newest
    /// first, with their live figures; and how many there are in all.
    pub async fn charges_of(
        &self,
        user: &User,
        orders_only: bool,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ChargeView>, i64), ChargeError> {
        let (charges, total) = self
            .store
            .charges_of(user.id, orders_only, offset, limit)
            .await?;
        // The page's sessions and places in two reads, not two per charge.
        let session_keys: Vec<(String, String)> = charges
            .iter()
            .map(|c| (c.operator_id.clone(), c.session_ref.clone()))
            .collect();
        let place_keys: Vec<(String, String)> = charges
            .iter()
            .map(|c| (c.operator_id.clone(), c.connector_id.clone()))
            .collect();
        let mut sessions: std::collections::HashMap<(String, String), ChargingSession> = self
            .store
            .charging_sessions(&session_keys)
            .await?
            .into_iter()
            .map(|s| ((s.operator_id.clone(), s.session_ref.clone()), s))
            .collect();
        let places: std::collections::HashMap<(String, String), ChargePlace> = self
            .store
            .charge_places(&place_keys)
            .await?
            .into_iter()
            .collect();
        let out = charges
            .into_iter()
            .map(|charge| {
                let live =
                    sessions.remove(&(charge.operator_id.clone(), charge.session_ref.clone()));
                let place = places
                    .get(&(charge.operator_id.clone(), charge.connector_id.clone()))
                    .cloned();
                ChargeView {
                    charge,
                    live,
                    place,
                }
            })
            .collect();
        Ok((out, total))
    }

    /// Asks the operator to stop a started charge of `user`.
    pub async fn stop_charge(
        &self,
        channels: Channels<'_>,
        user: &User,
        id: &str,
    ) -> Result<ChargeView, ChargeError> {
        let view = self.charge(user, id).await?;
        if view.charge.user_id != user.id {
            return Err(ChargeError::NotFound(format!("no charge {id:?} of yours")));
        }
        if view.charge.status != ChargeStatus::Started
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
        if view.charge.channel == Channel::Ocpp {
            self.remote_stop(channels.hub, &view.charge.session_ref)
                .await?;
        } else {
            self.tcec_stop(channels.platform, &operator, &view.charge)
                .await?;
        }
        self.store
            .set_charge_status(id, ChargeStatus::StopRequested, None)
            .await?;
        self.charge(user, id).await
    }

    /// OCPP remote stop of the transaction `session_ref` (`CHARGER:TRANSACTION`).
    async fn remote_stop(&self, hub: &Hub, session_ref: &str) -> Result<(), ChargeError> {
        let Some((charger, transaction)) = session_ref.split_once(':') else {
            return Err(ChargeError::Conflict(
                "the charger has not begun the transaction yet; try again in a moment".into(),
            ));
        };
        let version = hub.locate(charger).await.ok_or_else(|| {
            ChargeError::Unavailable(format!("charger {charger} is not connected"))
        })?;
        let (action, payload) = evgrid_ocpp::commands::remote_stop(version, transaction)
            .map_err(ChargeError::Unavailable)?;
        let answer = hub
            .call(charger, action, payload, CALL_TIMEOUT)
            .await
            .map_err(|e| ChargeError::Unavailable(command_error(charger, e)))?;
        match CommandStatus::of(&answer).refused() {
            None => Ok(()),
            Some(status) => Err(ChargeError::Conflict(format!(
                "charger {charger} refused to stop (status {status})"
            ))),
        }
    }

    /// T/CEC `query_stop_charge`.
    async fn tcec_stop(
        &self,
        platform: &OperatorId,
        operator: &OperatorId,
        charge: &Charge,
    ) -> Result<(), ChargeError> {
        let client = self.client(operator, platform).await?;
        let answer = client
            .query_stop_charge(&charge.session_ref, &charge.connector_id)
            .await
            .map_err(|e| {
                ChargeError::Unavailable(format!(
                    "operator {operator} did not answer the stop: {e}"
                ))
            })?;
        match answer.refusal() {
            Some(why) => Err(ChargeError::Conflict(format!(
                "operator {operator} refused to stop: {why}"
            ))),
            None => Ok(()),
        }
    }
}

/// A driver's orders as a table (CSV, XLSX): one row per order, money in yuan with 2 decimals.
pub fn orders_table(orders: &[ChargeView]) -> evgrid_report::Table {
    use evgrid_report::Kind;
    let mut t = evgrid_report::Table::new(
        "orders",
        &[
            ("id", "订单 Charge", Kind::Text),
            ("start", "开始 Start (China time)", Kind::Text),
            ("end", "结束 End", Kind::Text),
            ("station", "充电站 Station", Kind::Text),
            ("operator", "运营商 Operator", Kind::Text),
            ("connector", "充电接口 Connector", Kind::Text),
            ("channel", "渠道 Channel", Kind::Text),
            ("order_ref", "运营商订单号 Operator's order id", Kind::Text),
            ("energy_kwh", "电量 kWh", Kind::Number),
            ("electricity_yuan", "电费 Electricity ¥", Kind::Number),
            ("service_yuan", "服务费 Service ¥", Kind::Number),
            ("total_yuan", "合计 Total ¥", Kind::Number),
            ("dispute", "对账 Reconciliation", Kind::Text),
        ],
    );
    let time = |t: Option<i64>| t.map(evgrid_model::time::format_china_local);
    let yuan = |m: Option<evgrid_model::Fen>| m.map(evgrid_model::Fen::yuan);
    for o in orders {
        let live = o.live.as_ref();
        t.push(vec![
            o.charge.id.clone().into(),
            time(live.and_then(|s| s.started_at)).into(),
            time(live.and_then(|s| s.ended_at)).into(),
            o.place.as_ref().map(|p| p.station_name.clone()).into(),
            o.place
                .as_ref()
                .map_or_else(|| o.charge.operator_id.clone(), |p| p.operator_name.clone())
                .into(),
            o.charge.connector_id.clone().into(),
            o.charge.channel.as_str().into(),
            live.map(|s| s.session_ref.clone()).into(),
            live.and_then(|s| s.energy).map(|e| e.kwh()).into(),
            yuan(live.and_then(|s| s.electricity_money)).into(),
            yuan(live.and_then(|s| s.service_money)).into(),
            yuan(live.and_then(|s| s.total_money)).into(),
            live.and_then(|s| s.dispute.clone()).into(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_start_id_leads_back_to_its_tag() {
        let tag = new_id_tag().unwrap();
        assert_eq!(tag.len(), 20);
        let prefix = id_tag_prefix_of_remote_start(remote_start_id(&tag)).unwrap();
        assert!(tag.starts_with(&prefix), "{tag} {prefix}");
        assert_eq!(prefix.len(), 10);
        assert!(id_tag_prefix_of_remote_start(-1).is_none());
        assert!(id_tag_prefix_of_remote_start(1 << 28).is_none());
    }

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(check_key("order-2026-11-26-0001").is_ok());
        for bad in ["", "has space", "中文", &"k".repeat(101)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }
}
