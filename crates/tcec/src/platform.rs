//! The platform side of T/CEC 102 (operators call evgrid): one function takes an interface name,
//! the bearer token and the request body, runs the checks in the spec's order, lets a
//! [`Backend`] apply the business data durably, and returns the signed answer. HTTP is the
//! caller's business; storage is the backend's.
//!
//! Order: envelope (4003) → operator known (4001) → `Sig` (4001) → token, except for
//! `query_token` (4002) → duplicate push (answered, not applied again) → `Data` decrypted,
//! parsed and validated (4004) → applied (committed) → answered (0).

use std::future::Future;

use evgrid_model::{ConnectorStatus, Fen, SessionUpdate, Station, WattHours};

use crate::business::{
    self, ChargeOrder, ChargeOrderAnswer, ChargeStatus, CheckChargeOrders, CheckChargeOrdersResult,
    DisputeOrder, NoticeAnswer, StartChargeNotice, StopChargeNotice,
};
use crate::convert::parse_station_info;
use crate::envelope::{Refusal, ResponseEnvelope, Ret};
use crate::gate::{backend_refusal, bad_data, respond, verify, Checked, Verified};
use crate::{station_from_wire, ConvertOptions};

pub use crate::business::ConnectorStatusInfo;
pub use crate::gate::{Gate, Outcome, MAX_BODY_BYTES, TOKEN_SECONDS};
pub use evgrid_model::{PushId, StorageError};

/// A connector status change pushed by an operator.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusPush {
    pub connector_id: String,
    pub status: ConnectorStatus,
    /// The protocol's own code, kept for the data-quality report.
    pub raw_status: i32,
    pub park_status: Option<i32>,
    pub lock_status: Option<i32>,
}

/// A reconciliation request as the platform records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCheckSummary {
    pub check_ref: String,
    pub period_start: String,
    pub period_end: String,
    pub order_count: i64,
    pub disputed: i64,
}

/// Storage for the platform side. Every `apply_*` is one transaction that also records the
/// push id, and returns `false` without applying when the push id was seen before.
pub trait Backend: Gate {
    /// Applies connector statuses.
    fn apply_statuses(
        &self,
        push: &PushId,
        statuses: &[StatusPush],
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Applies a station (added or changed).
    fn apply_station(
        &self,
        push: &PushId,
        station: Station,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Merges what a notification says about a charging session.
    fn apply_session(
        &self,
        push: &PushId,
        update: SessionUpdate,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// For each session reference, the energy and total of its final order, if one arrived.
    fn final_orders(
        &self,
        push: &PushId,
        session_refs: &[String],
    ) -> impl Future<Output = Result<Vec<Option<(WattHours, Fen)>>, StorageError>> + Send;
    /// Records a reconciliation request and its outcome.
    fn record_order_check(
        &self,
        push: &PushId,
        check: OrderCheckSummary,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
}

/// The platform interfaces this module answers. `notification_connector_charge_status` is the
/// name some 2021-edition supervision guides give the live charge push; it takes the same
/// `ChargeStatus` body as `notification_equip_charge_status` (name unconfirmed, see the spec
/// notes).
pub const INTERFACES: [&str; 9] = [
    "query_token",
    "notification_stationStatus",
    "notification_stationInfo",
    "notification_start_charge_result",
    "notification_equip_charge_status",
    "notification_stop_charge_result",
    "notification_charge_order_info",
    "check_charge_orders",
    "notification_connector_charge_status",
];

#[derive(serde::Deserialize)]
struct StationStatusPush {
    #[serde(rename = "ConnectorStatusInfo")]
    connector_status_info: serde_json::Value,
}

/// The unified status of a T/CEC `Status` code (§7.6); `None` for a code outside the enum.
pub fn status_from_code(code: i32) -> Option<ConnectorStatus> {
    Some(match code {
        0 => ConnectorStatus::Offline,
        1 => ConnectorStatus::Available,
        2 => ConnectorStatus::Occupied,
        3 => ConnectorStatus::Charging,
        4 => ConnectorStatus::Reserved,
        255 => ConnectorStatus::Faulted,
        _ => return None,
    })
}

fn status_info(v: &serde_json::Value, path: &str) -> Result<StatusPush, Refusal> {
    let info: ConnectorStatusInfo = serde_path_to_error::deserialize(v).map_err(|e| {
        let field = e.path().to_string();
        let at = if field == "." {
            path.to_owned()
        } else {
            format!("{path}.{field}")
        };
        bad_data(format!("{at}: {}", e.into_inner()))
    })?;
    if info.connector_id.is_empty() || info.connector_id.chars().count() > 26 {
        return Err(bad_data(format!(
            "{path}.ConnectorID must be 1 to 26 characters"
        )));
    }
    let status = status_from_code(info.status).ok_or_else(|| {
        bad_data(format!(
            "{path}.Status {} is not a connector status (0, 1, 2, 3, 4 or 255)",
            info.status
        ))
    })?;
    for (name, value, allowed) in [
        ("ParkStatus", info.park_status, [0, 10, 50]),
        ("LockStatus", info.lock_status, [0, 10, 50]),
    ] {
        if let Some(v) = value {
            if !allowed.contains(&v) {
                return Err(bad_data(format!("{path}.{name} {v} is not 0, 10 or 50")));
            }
        }
    }
    Ok(StatusPush {
        connector_id: info.connector_id,
        status,
        raw_status: info.status,
        park_status: info.park_status,
        lock_status: info.lock_status,
    })
}

/// Answers one request to `interface`. Never panics on input; every refusal carries a `Msg`
/// that says what was wrong, and nothing of a refused request is applied.
pub async fn handle<B: Backend>(
    backend: &B,
    interface: &str,
    bearer: Option<&str>,
    body: &[u8],
) -> ResponseEnvelope {
    let mut keys = None;
    let result = match verify(backend, &INTERFACES, interface, bearer, body, &mut keys).await {
        Ok(Checked::Answered(answer)) => Ok(answer),
        Ok(Checked::Verified(request)) => apply(backend, *request).await,
        Err(refusal) => Err(refusal),
    };
    respond(backend, interface, body, keys, result).await
}

fn to_json<T: serde::Serialize>(answer: &T) -> Result<Vec<u8>, Refusal> {
    serde_json::to_vec(answer).map_err(|e| Refusal::new(Ret::SystemError, e.to_string()))
}

async fn apply<B: Backend>(backend: &B, request: Verified) -> Result<Vec<u8>, Refusal> {
    let Verified {
        credentials,
        push,
        data,
    } = request;
    match push.interface {
        "notification_stationStatus" => {
            let push_body: StationStatusPush = serde_json::from_value(data).map_err(|e| {
                bad_data(format!(
                    "expected {{\"ConnectorStatusInfo\": {{...}}}}: {e}"
                ))
            })?;
            // One object by the standard; an array is accepted too (batches of statuses).
            let statuses = match &push_body.connector_status_info {
                serde_json::Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| status_info(v, &format!("ConnectorStatusInfo[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?,
                v => vec![status_info(v, "ConnectorStatusInfo")?],
            };
            backend
                .apply_statuses(&push, &statuses)
                .await
                .map_err(backend_refusal)?;
            Ok(br#"{"Status":0}"#.to_vec())
        }
        "notification_stationInfo" => {
            let station_value = data
                .get("StationInfo")
                .ok_or_else(|| bad_data("StationInfo is missing"))?;
            let info = parse_station_info(station_value)
                .map_err(|e| bad_data(format!("StationInfo.{e}")))?;
            if info.operator_id != push.operator_id.as_str() {
                return Err(bad_data(
                    "StationInfo.OperatorID is not the caller's OperatorID",
                ));
            }
            let converted = station_from_wire(
                &info,
                ConvertOptions {
                    coords: credentials.coords,
                },
            )
            .map_err(|errors| {
                bad_data(
                    errors
                        .iter()
                        .map(|e| format!("StationInfo.{e}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
            backend
                .apply_station(&push, converted.station)
                .await
                .map_err(backend_refusal)?;
            Ok(br#"{"Status":0}"#.to_vec())
        }
        "notification_start_charge_result" => {
            let notice: StartChargeNotice = crate::gate::business(&data)?;
            let update = business::session_from_start(&notice).map_err(bad_data)?;
            session_notice(backend, &push, update, Some(0)).await
        }
        "notification_equip_charge_status" | "notification_connector_charge_status" => {
            let status: ChargeStatus = crate::gate::business(&data)?;
            let update = business::session_from_status(&status).map_err(bad_data)?;
            session_notice(backend, &push, update, None).await
        }
        "notification_stop_charge_result" => {
            let notice: StopChargeNotice = crate::gate::business(&data)?;
            let update = business::session_from_stop(&notice).map_err(bad_data)?;
            session_notice(backend, &push, update, Some(0)).await
        }
        "notification_charge_order_info" => {
            let order: ChargeOrder = crate::gate::business(&data)?;
            let update = business::session_from_order(&order).map_err(bad_data)?;
            let disputed = update.dispute.is_some();
            if let Some(why) = &update.dispute {
                tracing::warn!(operator_id = %push.operator_id, order = %order.start_charge_seq, %why, "charge order disputed");
            }
            backend
                .apply_session(&push, update)
                .await
                .map_err(backend_refusal)?;
            to_json(&ChargeOrderAnswer {
                start_charge_seq: order.start_charge_seq,
                connector_id: order.connector_id,
                confirm_result: i32::from(disputed),
            })
        }
        "check_charge_orders" => {
            let check: CheckChargeOrders = crate::gate::business(&data)?;
            check_orders(backend, &push, check).await
        }
        other => Err(Refusal::new(
            Ret::BadRequest,
            format!("unknown interface {other}"),
        )),
    }
}

/// Applies a session update from a charging notification and answers it (`SuccStat` 0, with
/// `FailReason` where the interface has one).
async fn session_notice<B: Backend>(
    backend: &B,
    push: &PushId,
    update: SessionUpdate,
    fail_reason: Option<i32>,
) -> Result<Vec<u8>, Refusal> {
    let start_charge_seq = update.session_ref.clone();
    backend
        .apply_session(push, update)
        .await
        .map_err(backend_refusal)?;
    to_json(&NoticeAnswer {
        start_charge_seq,
        succ_stat: 0,
        fail_reason,
    })
}

/// Compares an operator's order list with the orders evgrid holds and answers the disputes:
/// 1 not found, 2 money differs, 3 energy differs.
async fn check_orders<B: Backend>(
    backend: &B,
    push: &PushId,
    check: CheckChargeOrders,
) -> Result<Vec<u8>, Refusal> {
    business::check_seq("CheckOrderSeq", &check.check_order_seq).map_err(bad_data)?;
    for (name, t) in [
        ("StartTime", &check.start_time),
        ("EndTime", &check.end_time),
    ] {
        if crate::time::parse_china_datetime(t).is_none() {
            return Err(bad_data(format!(
                "{name} {t:?} is not a time yyyy-MM-dd HH:mm:ss"
            )));
        }
    }
    if usize::try_from(check.order_count).ok() != Some(check.charge_orders.len()) {
        return Err(bad_data(format!(
            "OrderCount {} but {} ChargeOrders",
            check.order_count,
            check.charge_orders.len()
        )));
    }
    let mut claimed = Vec::with_capacity(check.charge_orders.len());
    for (i, o) in check.charge_orders.iter().enumerate() {
        business::check_seq(
            &format!("ChargeOrders[{i}].StartChargeSeq"),
            &o.start_charge_seq,
        )
        .map_err(bad_data)?;
        let energy = WattHours::from_kwh_f64(o.total_power).ok_or_else(|| {
            bad_data(format!(
                "ChargeOrders[{i}].TotalPower {} is not an energy in kWh",
                o.total_power
            ))
        })?;
        let money = Fen::from_yuan_f64(o.total_money).ok_or_else(|| {
            bad_data(format!(
                "ChargeOrders[{i}].TotalMoney {} is not an amount in yuan",
                o.total_money
            ))
        })?;
        claimed.push((energy, money));
    }
    let refs: Vec<String> = check
        .charge_orders
        .iter()
        .map(|o| o.start_charge_seq.clone())
        .collect();
    let held = backend
        .final_orders(push, &refs)
        .await
        .map_err(backend_refusal)?;
    let mut disputes = Vec::new();
    let (mut dispute_energy, mut dispute_money) = (0i64, 0i64);
    for ((order, (energy, money)), ours) in check.charge_orders.iter().zip(&claimed).zip(&held) {
        let reason = match ours {
            None => 1,
            Some((_, our_money)) if our_money != money => 2,
            // Energy is compared to 0.01 kWh, the precision of the order's periods.
            Some((our_energy, _)) if (our_energy.0 - energy.0).abs() >= 10 => 3,
            Some(_) => continue,
        };
        dispute_energy += energy.0;
        dispute_money += money.0;
        disputes.push(DisputeOrder {
            start_charge_seq: order.start_charge_seq.clone(),
            total_power: order.total_power,
            total_money: order.total_money,
            dispute_reason: reason,
        });
    }
    let disputed = i64::try_from(disputes.len()).unwrap_or(i64::MAX);
    backend
        .record_order_check(
            push,
            OrderCheckSummary {
                check_ref: check.check_order_seq.clone(),
                period_start: check.start_time.clone(),
                period_end: check.end_time.clone(),
                order_count: i64::from(check.order_count),
                disputed,
            },
        )
        .await
        .map_err(backend_refusal)?;
    to_json(&CheckChargeOrdersResult {
        check_order_seq: check.check_order_seq,
        start_time: check.start_time,
        end_time: check.end_time,
        total_dispute_order: i32::try_from(disputes.len()).unwrap_or(i32::MAX),
        total_dispute_power: WattHours(dispute_energy).kwh(),
        total_dispute_money: Fen(dispute_money).yuan(),
        dispute_orders: disputes,
    })
}

#[cfg(test)]
mod tests;
