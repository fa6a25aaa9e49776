//! Wire structures of the T/CEC 102 business interfaces beyond the station directory: the
//! part 2 queries (status, statistics) and part 3 (authorisation, tariff, start/stop, charge
//! status, orders and their reconciliation), field for field as the standard spells them
//! (`SeviceMoney` included), and their conversion into evgrid's charging sessions.

use evgrid_model::{
    Channel, ChargePeriod, Fen, PricePerKwh, SessionState, SessionUpdate, WattHours,
};
use serde::{Deserialize, Serialize};

use crate::time::parse_china_datetime;
use crate::wire::PolicyInfo;

/// `ConnectorStatusInfo` (§6.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectorStatusInfo {
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    pub status: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub park_status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_status: Option<i32>,
}

/// `query_stations_info` request (§5.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryStationsInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_query_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_no: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<i32>,
}

/// `query_station_status` request (§5.5): 1 to 50 stations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryStationStatus {
    #[serde(rename = "StationIDs")]
    pub station_ids: Vec<String>,
}

/// `StationStatusInfo` (§6.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StationStatusInfo {
    #[serde(rename = "StationID")]
    pub station_id: String,
    pub connector_status_infos: Vec<ConnectorStatusInfo>,
}

/// `query_station_status` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StationStatusResult {
    pub total: i32,
    pub station_status_infos: Vec<StationStatusInfo>,
}

/// `query_station_stats` request (§5.6); dates `yyyy-MM-dd`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryStationStats {
    #[serde(rename = "StationID")]
    pub station_id: String,
    pub start_time: String,
    pub end_time: String,
}

/// `StationStats` (§6.6): energy in kWh over the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StationStats {
    #[serde(rename = "StationID")]
    pub station_id: String,
    pub start_time: String,
    pub end_time: String,
    pub station_electricity: f64,
    pub equipment_stats_infos: Vec<EquipmentStats>,
}

/// `EquipmentStats` (§6.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EquipmentStats {
    #[serde(rename = "EquipmentID")]
    pub equipment_id: String,
    pub equipment_electricity: f64,
    pub connector_stats_infos: Vec<ConnectorStats>,
}

/// `ConnectorStats` (§6.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectorStats {
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    pub connector_electricity: f64,
}

/// `query_station_stats` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StationStatsResult {
    pub station_stats: StationStats,
}

/// `query_equip_auth` request (§5.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EquipAuth {
    pub equip_auth_seq: String,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
}

/// `query_equip_auth` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EquipAuthResult {
    pub equip_auth_seq: String,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    pub succ_stat: i32,
    pub fail_reason: i32,
}

/// Why a counterpart said no, in words with its code: `"equipment offline (FailReason 2)"`.
fn refused(succ_stat: i32, meaning: &str, code: i32) -> Option<String> {
    (succ_stat != 0).then(|| format!("{meaning} (FailReason {code})"))
}

impl EquipAuthResult {
    /// Why the check failed, in words with its code; `None` when it succeeded.
    pub fn refusal(&self) -> Option<String> {
        refused(self.succ_stat, self.fail_meaning(), self.fail_reason)
    }

    /// What the `FailReason` of a failed check means (§5.7).
    pub fn fail_meaning(&self) -> &'static str {
        match self.fail_reason {
            1 => "the gun is not plugged in",
            2 => "the equipment check failed",
            _ => OWN_REASON,
        }
    }
}

/// A `FailReason` the standard leaves to the operator.
const OWN_REASON: &str = "the operator's own reason";

/// The `FailReason` codes that start and stop answers share (§5.9, §5.13).
fn equipment_fail_meaning(code: i32) -> &'static str {
    match code {
        1 => "equipment not found",
        2 => "equipment offline",
        _ => OWN_REASON,
    }
}

/// `query_equip_business_policy` request (§5.8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BusinessPolicy {
    pub equip_biz_seq: String,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
}

/// `query_equip_business_policy` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BusinessPolicyResult {
    pub equip_biz_seq: String,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    pub succ_stat: i32,
    pub fail_reason: i32,
    pub sum_period: i32,
    pub policy_infos: Vec<PolicyInfo>,
}

/// `query_start_charge` request (§5.9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartCharge {
    pub start_charge_seq: String,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    #[serde(rename = "QRCode", default, skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
}

/// `query_start_charge` answer (an acknowledgement; the outcome is notified later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartChargeResult {
    pub start_charge_seq: String,
    pub start_charge_seq_stat: i32,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    pub succ_stat: i32,
    pub fail_reason: i32,
}

impl StartChargeResult {
    /// Why the start was refused, in words with its code; `None` when it was accepted.
    pub fn refusal(&self) -> Option<String> {
        refused(self.succ_stat, self.fail_meaning(), self.fail_reason)
    }

    /// What the `FailReason` of a refused start means (§5.9).
    pub fn fail_meaning(&self) -> &'static str {
        equipment_fail_meaning(self.fail_reason)
    }
}

/// `notification_start_charge_result` (§5.10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartChargeNotice {
    pub start_charge_seq: String,
    pub start_charge_seq_stat: i32,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    pub start_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ident_code: Option<String>,
}

/// The answer to a notification about an order: `SuccStat`, with `FailReason` where the
/// interface has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NoticeAnswer {
    pub start_charge_seq: String,
    pub succ_stat: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<i32>,
}

/// `query_equip_charge_status` request (§5.11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChargeStatusQuery {
    pub start_charge_seq: String,
}

/// `ChargeDetail` (§6.8): one tariff period of a charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChargeDetail {
    pub detail_start_time: String,
    pub detail_end_time: String,
    pub elec_price: f64,
    pub sevice_price: f64,
    pub detail_power: f64,
    pub detail_elec_money: f64,
    pub detail_sevice_money: f64,
}

/// `ChargeStatus` (§6.10): live data of a charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChargeStatus {
    pub start_charge_seq: String,
    pub start_charge_seq_stat: i32,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    pub connector_status: i32,
    pub current_a: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_b: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_c: Option<f64>,
    pub voltage_a: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voltage_b: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voltage_c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soc: Option<f64>,
    pub start_time: String,
    pub end_time: String,
    pub total_power: f64,
    /// `ElectMoney` in one aggregator's contract; accepted as an alias.
    #[serde(default, alias = "ElectMoney", skip_serializing_if = "Option::is_none")]
    pub elec_money: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sevice_money: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_money: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum_period: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_details: Option<Vec<ChargeDetail>>,
}

/// `query_stop_charge` request (§5.13).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopCharge {
    pub start_charge_seq: String,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
}

/// `query_stop_charge` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopChargeResult {
    pub start_charge_seq: String,
    pub start_charge_seq_stat: i32,
    pub succ_stat: i32,
    pub fail_reason: i32,
}

impl StopChargeResult {
    /// Why the stop was refused, in words with its code; `None` when it was accepted.
    pub fn refusal(&self) -> Option<String> {
        refused(self.succ_stat, self.fail_meaning(), self.fail_reason)
    }

    /// What the `FailReason` of a refused stop means (§5.13).
    pub fn fail_meaning(&self) -> &'static str {
        match self.fail_reason {
            3 => "already stopped",
            code => equipment_fail_meaning(code),
        }
    }
}

/// `notification_stop_charge_result` (§5.14).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopChargeNotice {
    pub start_charge_seq: String,
    pub start_charge_seq_stat: i32,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    pub succ_stat: i32,
    pub fail_reason: i32,
}

/// `ChargeOrder` (§6.11): the final bill, body of `notification_charge_order_info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChargeOrder {
    pub start_charge_seq: String,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    pub start_time: String,
    pub end_time: String,
    pub total_power: f64,
    pub total_elec_money: f64,
    pub total_sevice_money: f64,
    pub total_money: f64,
    pub stop_reason: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum_period: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_details: Option<Vec<ChargeDetail>>,
}

/// The answer to `notification_charge_order_info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChargeOrderAnswer {
    pub start_charge_seq: String,
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    /// 0 accepted, 1 disputed.
    pub confirm_result: i32,
}

/// `check_charge_orders` request (§5.16).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckChargeOrders {
    pub check_order_seq: String,
    pub start_time: String,
    pub end_time: String,
    pub order_count: i32,
    pub total_order_power: f64,
    pub total_order_money: f64,
    pub charge_orders: Vec<OrderTotal>,
}

/// One order inside `check_charge_orders`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderTotal {
    pub start_charge_seq: String,
    pub total_power: f64,
    pub total_money: f64,
}

/// `check_charge_orders` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckChargeOrdersResult {
    pub check_order_seq: String,
    pub start_time: String,
    pub end_time: String,
    pub total_dispute_order: i32,
    pub total_dispute_power: f64,
    pub total_dispute_money: f64,
    pub dispute_orders: Vec<DisputeOrder>,
}

/// One disputed order: `DisputeReason` 1 not found, 2 money differs, 3 energy differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisputeOrder {
    pub start_charge_seq: String,
    pub total_power: f64,
    pub total_money: f64,
    pub dispute_reason: i32,
}

/// Checks a 27-character business sequence (`StartChargeSeq`, `CheckOrderSeq`, ...): the
/// generating operator's 9-character OperatorID and 18 more characters.
pub fn check_seq(field: &str, seq: &str) -> Result<(), String> {
    let ok = seq.len() == 27
        && seq
            .bytes()
            .take(9)
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        && seq.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field} {seq:?} must be 27 letters or digits: an OperatorID (9) and 18 more"
        ))
    }
}

/// A new 27-character sequence for `operator_id`: the OperatorID, the China local time
/// (14 digits) and a 4-digit counter.
pub fn new_seq(operator_id: &str, unix_seconds: i64, counter: u32) -> String {
    format!(
        "{operator_id}{}{:04}",
        crate::time::china_timestamp(unix_seconds),
        counter % 10_000
    )
}

/// The session state of a `StartChargeSeqStat` (§6.9); `Ok(None)` for 5 (unknown).
pub fn session_state(field: &str, code: i32) -> Result<Option<SessionState>, String> {
    Ok(Some(match code {
        1 => SessionState::Starting,
        2 => SessionState::Charging,
        3 => SessionState::Stopping,
        4 => SessionState::Finished,
        5 => return Ok(None),
        other => {
            return Err(format!(
                "{field} {other} is not an order state (1 starting, 2 charging, 3 stopping, 4 finished, 5 unknown)"
            ))
        }
    }))
}

/// The `StartChargeSeqStat` of a session state.
pub fn session_state_code(state: SessionState) -> i32 {
    match state {
        SessionState::Starting => 1,
        SessionState::Charging => 2,
        SessionState::Stopping => 3,
        SessionState::Finished => 4,
        SessionState::Failed => 5,
    }
}

fn time(field: &str, text: &str) -> Result<i64, String> {
    parse_china_datetime(text)
        .ok_or_else(|| format!("{field} {text:?} is not a time yyyy-MM-dd HH:mm:ss"))
}

fn energy(field: &str, kwh: f64) -> Result<WattHours, String> {
    WattHours::from_kwh_f64(kwh).ok_or_else(|| {
        format!("{field} {kwh} is not an energy in kWh (0 or more, 3 decimals at most)")
    })
}

fn money(field: &str, yuan: f64) -> Result<Fen, String> {
    Fen::from_yuan_f64(yuan)
        .filter(|f| f.0 >= 0)
        .ok_or_else(|| {
            format!("{field} {yuan} is not an amount in yuan (0 or more, 2 decimals at most)")
        })
}

fn price(field: &str, yuan: f64) -> Result<PricePerKwh, String> {
    PricePerKwh::from_yuan_f64(yuan)
        .filter(|p| p.0 >= 0)
        .ok_or_else(|| {
            format!("{field} {yuan} is not a price in yuan/kWh (0 or more, 4 decimals at most)")
        })
}

fn connector(field: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.chars().count() > 26 {
        return Err(format!("{field} must be 1 to 26 characters"));
    }
    Ok(())
}

fn periods(
    details: Option<&[ChargeDetail]>,
    sum_period: Option<i32>,
) -> Result<Option<Vec<ChargePeriod>>, String> {
    let Some(details) = details else {
        return Ok(None);
    };
    if details.len() > 32 {
        return Err(format!(
            "ChargeDetails has {} periods; at most 32",
            details.len()
        ));
    }
    if let Some(n) = sum_period {
        if usize::try_from(n).ok() != Some(details.len()) {
            return Err(format!("SumPeriod {n} but {} ChargeDetails", details.len()));
        }
    }
    details
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let f = |name: &str| format!("ChargeDetails[{i}].{name}");
            Ok(ChargePeriod {
                starts_at: time(&f("DetailStartTime"), &d.detail_start_time)?,
                ends_at: time(&f("DetailEndTime"), &d.detail_end_time)?,
                electricity_price: price(&f("ElecPrice"), d.elec_price)?,
                service_price: price(&f("SevicePrice"), d.sevice_price)?,
                energy: energy(&f("DetailPower"), d.detail_power)?,
                electricity_money: money(&f("DetailElecMoney"), d.detail_elec_money)?,
                service_money: money(&f("DetailSeviceMoney"), d.detail_sevice_money)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Some)
}

/// A start result as a session update.
pub fn session_from_start(n: &StartChargeNotice) -> Result<SessionUpdate, String> {
    check_seq("StartChargeSeq", &n.start_charge_seq)?;
    connector("ConnectorID", &n.connector_id)?;
    let state = session_state("StartChargeSeqStat", n.start_charge_seq_stat)?;
    Ok(SessionUpdate {
        session_ref: n.start_charge_seq.clone(),
        connector_id: n.connector_id.clone(),
        state: state.or(Some(SessionState::Failed)),
        raw_state: Some(n.start_charge_seq_stat),
        started_at: Some(time("StartTime", &n.start_time)?),
        ..SessionUpdate::reported_by(Channel::Tcec)
    })
}

/// A live charge sample as a session update.
pub fn session_from_status(s: &ChargeStatus) -> Result<SessionUpdate, String> {
    check_seq("StartChargeSeq", &s.start_charge_seq)?;
    connector("ConnectorID", &s.connector_id)?;
    let state = session_state("StartChargeSeqStat", s.start_charge_seq_stat)?;
    if crate::platform::status_from_code(s.connector_status).is_none() {
        return Err(format!(
            "ConnectorStatus {} is not a connector status (0, 1, 2, 3, 4 or 255)",
            s.connector_status
        ));
    }
    if let Some(soc) = s.soc {
        if !(0.0..=100.0).contains(&soc) {
            return Err(format!("Soc {soc} is not a percentage"));
        }
    }
    for (name, v) in [("CurrentA", s.current_a), ("VoltageA", s.voltage_a)] {
        if !v.is_finite() || v < 0.0 {
            return Err(format!("{name} {v} must be 0 or more"));
        }
    }
    let opt_money = |name: &str, v: Option<f64>| v.map(|y| money(name, y)).transpose();
    // A sample's EndTime is the time of the sample; it ends the session only once finished.
    let sampled_at = time("EndTime", &s.end_time)?;
    Ok(SessionUpdate {
        session_ref: s.start_charge_seq.clone(),
        connector_id: s.connector_id.clone(),
        state,
        raw_state: Some(s.start_charge_seq_stat),
        started_at: Some(time("StartTime", &s.start_time)?),
        ended_at: (state == Some(SessionState::Finished)).then_some(sampled_at),
        energy: Some(energy("TotalPower", s.total_power)?),
        soc: s.soc,
        electricity_money: opt_money("ElecMoney", s.elec_money)?,
        service_money: opt_money("SeviceMoney", s.sevice_money)?,
        total_money: opt_money("TotalMoney", s.total_money)?,
        periods: periods(s.charge_details.as_deref(), s.sum_period)?,
        ..SessionUpdate::reported_by(Channel::Tcec)
    })
}

/// A stop result as a session update.
pub fn session_from_stop(n: &StopChargeNotice) -> Result<SessionUpdate, String> {
    check_seq("StartChargeSeq", &n.start_charge_seq)?;
    connector("ConnectorID", &n.connector_id)?;
    let state = session_state("StartChargeSeqStat", n.start_charge_seq_stat)?;
    if !matches!(n.succ_stat, 0 | 1) {
        return Err(format!("SuccStat {} is not 0 or 1", n.succ_stat));
    }
    Ok(SessionUpdate {
        session_ref: n.start_charge_seq.clone(),
        connector_id: n.connector_id.clone(),
        state,
        raw_state: Some(n.start_charge_seq_stat),
        fail_reason: (n.succ_stat != 0).then_some(n.fail_reason),
        ..SessionUpdate::reported_by(Channel::Tcec)
    })
}

/// A final order as a session update, with a dispute noted when its figures do not add up
/// (total ≠ electricity + service, or the periods' sums ≠ the totals).
pub fn session_from_order(o: &ChargeOrder) -> Result<SessionUpdate, String> {
    check_seq("StartChargeSeq", &o.start_charge_seq)?;
    connector("ConnectorID", &o.connector_id)?;
    let started_at = time("StartTime", &o.start_time)?;
    let ended_at = time("EndTime", &o.end_time)?;
    if ended_at < started_at {
        return Err(format!(
            "EndTime {} is before StartTime {}",
            o.end_time, o.start_time
        ));
    }
    let total_energy = energy("TotalPower", o.total_power)?;
    let elec = money("TotalElecMoney", o.total_elec_money)?;
    let service = money("TotalSeviceMoney", o.total_sevice_money)?;
    let total = money("TotalMoney", o.total_money)?;
    let periods = periods(o.charge_details.as_deref(), o.sum_period)?;
    let mut disputes = Vec::new();
    if elec.0 + service.0 != total.0 {
        disputes.push(format!(
            "TotalMoney {} ≠ TotalElecMoney {} + TotalSeviceMoney {}",
            total.yuan_text(),
            elec.yuan_text(),
            service.yuan_text()
        ));
    }
    if let Some(ps) = &periods {
        let energy_sum: i64 = ps.iter().map(|p| p.energy.0).sum();
        let elec_sum: i64 = ps.iter().map(|p| p.electricity_money.0).sum();
        let service_sum: i64 = ps.iter().map(|p| p.service_money.0).sum();
        // Periods are rounded to 0.01 kWh and 0.01 yuan each: allow one unit per period.
        let slack = i64::try_from(ps.len()).unwrap_or(i64::MAX);
        if (energy_sum - total_energy.0).abs() > 10 * slack {
            disputes.push(format!(
                "the periods' energy {} kWh ≠ TotalPower {} kWh",
                WattHours(energy_sum).kwh(),
                total_energy.kwh()
            ));
        }
        if (elec_sum - elec.0).abs() > slack || (service_sum - service.0).abs() > slack {
            disputes.push("the periods' money does not add up to the totals".to_owned());
        }
    }
    Ok(SessionUpdate {
        session_ref: o.start_charge_seq.clone(),
        connector_id: o.connector_id.clone(),
        state: Some(SessionState::Finished),
        raw_state: Some(4),
        started_at: Some(started_at),
        ended_at: Some(ended_at),
        energy: Some(total_energy),
        electricity_money: Some(elec),
        service_money: Some(service),
        total_money: Some(total),
        stop_reason: Some(o.stop_reason),
        periods,
        is_order: true,
        dispute: (!disputes.is_empty()).then(|| disputes.join("; ")),
        ..SessionUpdate::reported_by(Channel::Tcec)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> ChargeOrder {
        serde_json::from_str(include_str!("../tests/fixtures/charge_order.json")).unwrap()
    }

    #[test]
    fn sequences_are_27_characters() {
        let s = new_seq("MA01D1QR8", 1_704_441_604, 7);
        assert_eq!(s, "MA01D1QR8202401051600040007");
        assert!(check_seq("StartChargeSeq", &s).is_ok());
        assert!(check_seq("StartChargeSeq", "MA01D1QR8").is_err());
        assert!(check_seq("StartChargeSeq", "ma01d1qr8202401051600040007").is_err());
    }

    #[test]
    fn an_order_that_adds_up_is_not_disputed() {
        let u = session_from_order(&order()).unwrap();
        assert_eq!(u.dispute, None, "{u:?}");
        assert_eq!(u.energy, Some(WattHours(30_500)));
        assert_eq!(u.total_money, Some(Fen(2440)));
        assert_eq!(u.periods.as_ref().map(Vec::len), Some(2));
        assert_eq!(u.state, Some(SessionState::Finished));
    }

    #[test]
    fn an_order_that_does_not_add_up_is_flagged() {
        let mut o = order();
        o.total_money = 30.0;
        let u = session_from_order(&o).unwrap();
        assert!(u.dispute.unwrap().contains("TotalMoney 30.00"));
    }

    #[test]
    fn bad_orders_name_the_field() {
        let mut o = order();
        o.end_time = "yesterday".into();
        assert!(session_from_order(&o).unwrap_err().contains("EndTime"));
        let mut o = order();
        o.total_elec_money = -1.0;
        assert!(session_from_order(&o)
            .unwrap_err()
            .contains("TotalElecMoney"));
        let mut o = order();
        o.sum_period = Some(3);
        assert!(session_from_order(&o).unwrap_err().contains("SumPeriod 3"));
    }

    #[test]
    fn the_elect_money_alias_is_read() {
        let v = serde_json::json!({"StartChargeSeq": "MA01D1QR8202401051600040007", "StartChargeSeqStat": 2,
            "ConnectorID": "C1", "ConnectorStatus": 3, "CurrentA": 100.0, "VoltageA": 400.0,
            "StartTime": "2024-01-05 16:00:04", "EndTime": "2024-01-05 16:10:04", "TotalPower": 6.5,
            "ElectMoney": 3.9});
        let s: ChargeStatus = serde_json::from_value(v).unwrap();
        assert_eq!(s.elec_money, Some(3.9));
        let u = session_from_status(&s).unwrap();
        assert_eq!(u.electricity_money, Some(Fen(390)));
        assert_eq!(u.state, Some(SessionState::Charging));
    }
}

#[cfg(test)]
mod fail_reason_tests {
    use super::*;

    #[test]
    fn fail_reasons_say_what_the_standard_means() {
        let auth = |fail_reason| EquipAuthResult {
            equip_auth_seq: String::new(),
            connector_id: String::new(),
            succ_stat: 1,
            fail_reason,
        };
        let start = |fail_reason| StartChargeResult {
            start_charge_seq: String::new(),
            start_charge_seq_stat: 0,
            connector_id: String::new(),
            succ_stat: 1,
            fail_reason,
        };
        let stop = |fail_reason| StopChargeResult {
            start_charge_seq: String::new(),
            start_charge_seq_stat: 0,
            succ_stat: 1,
            fail_reason,
        };
        assert_eq!(auth(1).fail_meaning(), "the gun is not plugged in");
        assert_eq!(auth(2).fail_meaning(), "the equipment check failed");
        assert_eq!(start(2).fail_meaning(), "equipment offline");
        assert_eq!(start(3).fail_meaning(), "the operator's own reason");
        assert_eq!(stop(1).fail_meaning(), "equipment not found");
        assert_eq!(stop(3).fail_meaning(), "already stopped");
        assert_eq!(stop(9).fail_meaning(), "the operator's own reason");
    }
}
