//! Reporting upward: evgrid in the data provider's role of T/CEC 102 toward a superior
//! supervision platform (provincial or national). What differs between superiors is a
//! [`Profile`] — data, not code: the interfaces a superior takes and their wire names, the
//! payload extensions it wants, its periods, its retry schedule and which answers count as
//! delivered. Two profiles ship: [`Profile::standard`] (the standard alone) and
//! [`Profile::provincial`] (the common provincial variant of the reference,
//! `specs/tcec-supervision.md`); a province's own is one JSON or TOML file.
//!
//! This module builds the payloads from the domain and judges the superior's answers; the
//! application decides what to send when and keeps the outbox.

use evgrid_model::superior::ReportKind;
use evgrid_model::{
    ChargingSession, ConnectorStatus, CoordSystem, Fen, SessionState, Station, StatusRecord,
    WattHours,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::business::{
    session_state_code, ChargeDetail, ChargeOrder, ChargeStatus, CheckChargeOrders,
    CheckChargeOrdersResult, ConnectorStatusInfo, OrderTotal,
};
use crate::client::ClientError;
use crate::envelope::Ret;
use crate::time::china_datetime;

/// What a superior takes and how it wants it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// A name for people (`standard`, `provincial`, a province's own).
    pub name: String,
    /// The wire name of each interface the superior takes; a missing one is not sent.
    pub interfaces: WireNames,
    /// The payload extensions it wants.
    #[serde(default)]
    pub extensions: Extensions,
    /// How often periodic reports go.
    #[serde(default)]
    pub periods: Periods,
    /// Which stations go to this superior (all by default).
    #[serde(default)]
    pub scope: Scope,
    /// Seconds to wait after the 1st, 2nd, … failed attempt at an item.
    pub retry_seconds: Vec<u64>,
    /// After the schedule: retry this often, for ever (`None`: give up after the last retry and
    /// flag the item for the regulator).
    #[serde(default)]
    pub then_every_seconds: Option<u64>,
    /// `Ret` codes besides 0 that mean "delivered" (e.g. 4015, "already received").
    #[serde(default)]
    pub delivered_rets: Vec<i32>,
    /// Requests in flight to the superior at once.
    #[serde(default = "default_in_flight")]
    pub in_flight: usize,
    /// Seconds before a request is given up as a network failure.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_in_flight() -> usize {
    4
}

fn default_timeout() -> u64 {
    20
}

/// Wire names of the interfaces, `None` where the superior does not take it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireNames {
    pub station_info: Option<String>,
    pub station_status: Option<String>,
    pub charge_status: Option<String>,
    pub charge_order: Option<String>,
    pub check_orders: Option<String>,
    /// The start result of a charge started through evgrid.
    #[serde(default)]
    pub start_result: Option<String>,
    /// The stop result of such a charge.
    #[serde(default)]
    pub stop_result: Option<String>,
    /// Real-time power by station, equipment and connector (a provincial extension).
    #[serde(default)]
    pub realtime_power: Option<String>,
}

/// Payload extensions beyond the standard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Extensions {
    /// `OperatorID` (and `StationID`, `EquipmentOwnerID`) of the station's operator in status,
    /// charge-status and order payloads: the envelope names evgrid, the payload the operator.
    pub operator_fields: bool,
    /// `AreaCodeCountryside` (12-digit township code) on stations.
    pub township_code: bool,
    /// The municipal order additions: `ChargeModel`, `StationID`, `EquipmentID`,
    /// `ConnectorPower`, `ChargeLast`, `MeterValueStart`, `MeterValueEnd`.
    pub municipal_order: bool,
}

/// Which stations (and so their connectors, charges and orders) a superior takes: each list
/// empty takes all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scope {
    /// OperatorIDs.
    pub operators: Vec<String>,
    /// `public`, `dedicated`, `private`.
    pub categories: Vec<String>,
    /// County codes or their prefixes (`3607` a prefecture, `360702` a county).
    pub counties: Vec<String>,
}

impl Scope {
    /// Whether a station of `operator_id`, of `category`, in `county` (if placed) is taken.
    pub fn takes(&self, operator_id: &str, category: &str, county: Option<&str>) -> bool {
        (self.operators.is_empty() || self.operators.iter().any(|o| o == operator_id))
            && (self.categories.is_empty() || self.categories.iter().any(|c| c == category))
            && (self.counties.is_empty()
                || county.is_some_and(|c| self.counties.iter().any(|p| c.starts_with(p.as_str()))))
    }
}

/// Periods of the reports that go by the clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Periods {
    /// Every connector's status again this often (`None`: on change only).
    pub status_refresh_seconds: Option<u64>,
    /// A running charge's status this often.
    pub charge_status_seconds: u64,
    /// Real-time power this often (with `interfaces.realtime_power`).
    pub power_seconds: u64,
    /// The daily order check for yesterday goes between these hours (China time).
    pub check_orders_from_hour: u32,
    pub check_orders_to_hour: u32,
}

impl Default for Periods {
    fn default() -> Self {
        Self {
            status_refresh_seconds: Some(3 * 3600),
            charge_status_seconds: 50,
            power_seconds: 900,
            check_orders_from_hour: 0,
            check_orders_to_hour: 3,
        }
    }
}

/// Why a profile is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown profile {0:?}: standard or provincial, or a file")]
    Unknown(String),
    #[error("{0}")]
    Invalid(String),
}

/// The interfaces a superior may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    StationInfo,
    StationStatus,
    ChargeStatus,
    ChargeOrder,
    CheckOrders,
    StartResult,
    StopResult,
    RealtimePower,
}

impl Report {
    /// The report an outbox item of this kind is sent as.
    pub fn of_kind(kind: ReportKind) -> Self {
        match kind {
            ReportKind::Station => Report::StationInfo,
            ReportKind::Status => Report::StationStatus,
            ReportKind::Order => Report::ChargeOrder,
            ReportKind::OrderCheck => Report::CheckOrders,
            ReportKind::StartResult => Report::StartResult,
            ReportKind::StopResult => Report::StopResult,
        }
    }
}

impl Profile {
    /// T/CEC 102 alone: the standard's interface names and payloads, retries every few
    /// minutes and then hourly until delivered.
    pub fn standard() -> Self {
        Self {
            name: "standard".into(),
            interfaces: WireNames {
                station_info: Some("notification_stationInfo".into()),
                station_status: Some("notification_stationStatus".into()),
                charge_status: Some("notification_equip_charge_status".into()),
                charge_order: Some("notification_charge_order_info".into()),
                check_orders: Some("check_charge_orders".into()),
                start_result: Some("notification_start_charge_result".into()),
                stop_result: Some("notification_stop_charge_result".into()),
                realtime_power: None,
            },
            extensions: Extensions {
                operator_fields: true,
                township_code: false,
                municipal_order: false,
            },
            periods: Periods::default(),
            scope: Scope::default(),
            retry_seconds: vec![15, 15, 30, 180, 1800, 1800, 1800, 1800, 3600],
            then_every_seconds: Some(3600),
            delivered_rets: Vec::new(),
            in_flight: default_in_flight(),
            timeout_seconds: default_timeout(),
        }
    }

    /// The common provincial variant: the standard's names, the township code on stations,
    /// the municipal order additions, charge status every 5 minutes, real-time power every 15
    /// minutes, `Ret` 4015 ("already received") counted as delivered, hourly retries after the
    /// schedule.
    pub fn provincial() -> Self {
        let standard = Self::standard();
        Self {
            name: "provincial".into(),
            interfaces: WireNames {
                realtime_power: Some("notification_realtime_power_info".into()),
                ..standard.interfaces.clone()
            },
            extensions: Extensions {
                operator_fields: true,
                township_code: true,
                municipal_order: true,
            },
            periods: Periods {
                charge_status_seconds: 300,
                power_seconds: 900,
                ..Periods::default()
            },
            delivered_rets: vec![4015],
            ..standard
        }
    }

    /// A shipped profile by name.
    pub fn builtin(name: &str) -> Result<Self, ProfileError> {
        match name {
            "standard" => Ok(Self::standard()),
            "provincial" => Ok(Self::provincial()),
            other => Err(ProfileError::Unknown(other.into())),
        }
    }

    /// A profile from its JSON (as stored, or a province's file), checked.
    pub fn from_json(text: &str) -> Result<Self, ProfileError> {
        let p: Self =
            serde_json::from_str(text).map_err(|e| ProfileError::Invalid(e.to_string()))?;
        p.check()?;
        Ok(p)
    }

    /// The profile as JSON, for the store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Every rule a profile must keep, one message for all that it breaks.
    pub fn check(&self) -> Result<(), ProfileError> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push("name is empty".to_owned());
        }
        let names = [
            ("station_info", &self.interfaces.station_info),
            ("station_status", &self.interfaces.station_status),
            ("charge_status", &self.interfaces.charge_status),
            ("charge_order", &self.interfaces.charge_order),
            ("check_orders", &self.interfaces.check_orders),
            ("start_result", &self.interfaces.start_result),
            ("stop_result", &self.interfaces.stop_result),
            ("realtime_power", &self.interfaces.realtime_power),
        ];
        for (key, name) in names {
            if let Some(n) = name {
                if n.is_empty()
                    || n.len() > 64
                    || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    problems.push(format!(
                        "interfaces.{key} {n:?} is not an interface name (letters, digits, _)"
                    ));
                }
            }
        }
        if self.retry_seconds.is_empty() && self.then_every_seconds.is_none() {
            problems.push("retry_seconds is empty and then_every_seconds is not set".into());
        }
        if self.retry_seconds.contains(&0) || self.then_every_seconds == Some(0) {
            problems.push("a retry waits at least one second".into());
        }
        if self.periods.charge_status_seconds < 5 {
            problems.push("periods.charge_status_seconds is at least 5".into());
        }
        if self.periods.power_seconds < 5 {
            problems.push("periods.power_seconds is at least 5".into());
        }
        if self.periods.status_refresh_seconds.is_some_and(|s| s < 60) {
            problems.push("periods.status_refresh_seconds is at least 60".into());
        }
        if self.periods.check_orders_from_hour >= self.periods.check_orders_to_hour
            || self.periods.check_orders_to_hour > 24
        {
            problems.push(
                "periods.check_orders_from_hour must be before check_orders_to_hour (0 to 24)"
                    .into(),
            );
        }
        for c in &self.scope.categories {
            if !matches!(c.as_str(), "public" | "dedicated" | "private") {
                problems.push(format!(
                    "scope.categories {c:?} is not public, dedicated or private"
                ));
            }
        }
        for c in &self.scope.counties {
            if c.is_empty() || c.len() > 12 || !c.bytes().all(|b| b.is_ascii_digit()) {
                problems.push(format!("scope.counties {c:?} is not a code (digits)"));
            }
        }
        for o in &self.scope.operators {
            if o.len() != 9
                || !o
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            {
                problems.push(format!("scope.operators {o:?} is not an OperatorID"));
            }
        }
        if !(1..=64).contains(&self.in_flight) {
            problems.push("in_flight is 1 to 64".into());
        }
        if !(1..=600).contains(&self.timeout_seconds) {
            problems.push("timeout_seconds is 1 to 600".into());
        }
        if self.delivered_rets.iter().any(|&r| {
            matches!(
                Ret::from_code(r),
                Some(Ret::BadToken | Ret::BadSig | Ret::BadRequest | Ret::BadData)
            )
        }) {
            problems.push("delivered_rets may not hold 4001 to 4004".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ProfileError::Invalid(problems.join("; ")))
        }
    }

    /// The wire name of a report, if the superior takes it.
    pub fn wire_name(&self, report: Report) -> Option<&str> {
        let n = &self.interfaces;
        match report {
            Report::StationInfo => n.station_info.as_deref(),
            Report::StationStatus => n.station_status.as_deref(),
            Report::ChargeStatus => n.charge_status.as_deref(),
            Report::ChargeOrder => n.charge_order.as_deref(),
            Report::CheckOrders => n.check_orders.as_deref(),
            Report::StartResult => n.start_result.as_deref(),
            Report::StopResult => n.stop_result.as_deref(),
            Report::RealtimePower => n.realtime_power.as_deref(),
        }
    }

    /// Seconds to wait after the `failures`-th failed attempt (1 for the first); `None`: give
    /// up.
    pub fn retry_after(&self, failures: u32) -> Option<u64> {
        let i = usize::try_from(failures.max(1) - 1).unwrap_or(usize::MAX);
        self.retry_seconds
            .get(i)
            .copied()
            .or(self.then_every_seconds)
    }
}

/// The order number a superior knows a session by: evgrid's OperatorID there and 18
/// characters derived from the operator and its session reference (the same for the charge
/// status and the order, and across restarts), so that it is 27 characters starting with the
/// sender's OperatorID as the standard requires.
pub fn superior_ref(platform_operator_id: &str, operator_id: &str, session_ref: &str) -> String {
    // FNV-1a, 64 bits, twice with different offsets: 128 bits, 18 base-36 digits kept.
    let mut digits = String::with_capacity(27);
    digits.push_str(platform_operator_id);
    let text = format!("{operator_id}:{session_ref}");
    let mut out = Vec::with_capacity(26);
    for offset in [0xcbf2_9ce4_8422_2325_u64, 0x8422_2325_cbf2_9ce4] {
        let mut h = offset;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        for _ in 0..9 {
            let d = u8::try_from(h % 36).unwrap_or(0);
            out.push(if d < 10 { b'0' + d } else { b'A' + d - 10 });
            h /= 36;
        }
    }
    digits.extend(out.into_iter().map(char::from));
    digits
}

/// The T/CEC `Status` code of a connector status (§7.6); unknown reads as offline.
pub fn status_code(status: ConnectorStatus) -> i32 {
    match status {
        ConnectorStatus::Offline | ConnectorStatus::Unknown => 0,
        ConnectorStatus::Available => 1,
        ConnectorStatus::Occupied => 2,
        ConnectorStatus::Charging => 3,
        ConnectorStatus::Reserved => 4,
        ConnectorStatus::Faulted => 255,
    }
}

/// Where a connector is, for the payload extensions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    pub operator_id: String,
    pub station_id: String,
    pub equipment_id: String,
    pub equipment_owner_id: String,
    /// Rated power of the connector, W.
    pub connector_power_w: i64,
    /// The station's category (`public`, `dedicated`, `private`) and county, for the scope.
    pub category: String,
    pub county_code: Option<String>,
}

impl Place {
    /// Whether the superior's scope takes this place.
    pub fn in_scope(&self, scope: &Scope) -> bool {
        scope.takes(
            &self.operator_id,
            &self.category,
            self.county_code.as_deref(),
        )
    }
}

fn object(v: impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn put_place(m: &mut Map<String, Value>, place: &Place) {
    m.insert("OperatorID".into(), json!(place.operator_id));
    m.insert("EquipmentOwnerID".into(), json!(place.equipment_owner_id));
    m.insert("StationID".into(), json!(place.station_id));
    m.insert("EquipmentID".into(), json!(place.equipment_id));
}

/// `notification_stationInfo`'s body: the station as the standard writes it (GCJ-02), with
/// the township code where the profile asks.
pub fn station_report(profile: &Profile, station: &Station, township_code: Option<&str>) -> Value {
    let mut info = object(crate::station_to_wire(station, CoordSystem::Gcj02));
    if profile.extensions.township_code {
        if let Some(code) = township_code.filter(|c| c.bytes().all(|b| b.is_ascii_digit())) {
            let mut code = code.to_owned();
            while code.len() < 12 {
                code.push('0');
            }
            info.insert("AreaCodeCountryside".into(), json!(code));
        }
    }
    json!({ "StationInfo": Value::Object(info) })
}

/// `notification_stationStatus`'s body: one connector.
pub fn status_report(profile: &Profile, status: &StatusRecord, place: &Place) -> Value {
    let mut info = object(ConnectorStatusInfo {
        connector_id: status.connector_id.clone(),
        status: status_code(status.status),
        park_status: status.park_status,
        lock_status: status.lock_status,
    });
    if profile.extensions.operator_fields {
        put_place(&mut info, place);
    }
    json!({ "ConnectorStatusInfo": Value::Object(info) })
}

fn kwh(wh: Option<WattHours>) -> f64 {
    wh.unwrap_or(WattHours(0)).kwh()
}

fn details(session: &ChargingSession) -> Option<Vec<ChargeDetail>> {
    if session.periods.is_empty() || session.periods.len() > 32 {
        return None;
    }
    Some(
        session
            .periods
            .iter()
            .map(|p| ChargeDetail {
                detail_start_time: china_datetime(p.starts_at),
                detail_end_time: china_datetime(p.ends_at),
                elec_price: p.electricity_price.0 as f64 / 10_000.0,
                sevice_price: p.service_price.0 as f64 / 10_000.0,
                detail_power: p.energy.kwh(),
                detail_elec_money: p.electricity_money.yuan(),
                detail_sevice_money: p.service_money.yuan(),
            })
            .collect(),
    )
}

/// Money of a session as (electricity, service, total), each known or made up from the
/// others so that total = electricity + service.
fn money(session: &ChargingSession) -> (Fen, Fen, Fen) {
    let total = session.total_money;
    let elec = session.electricity_money;
    let service = session.service_money;
    match (elec, service, total) {
        (Some(e), Some(s), _) => (e, s, Fen(e.0 + s.0)),
        (Some(e), None, Some(t)) => (e, Fen((t.0 - e.0).max(0)), Fen(e.0 + (t.0 - e.0).max(0))),
        (None, Some(s), Some(t)) => (Fen((t.0 - s.0).max(0)), s, Fen((t.0 - s.0).max(0) + s.0)),
        (None, None, Some(t)) => (Fen(0), t, t),
        (e, s, None) => {
            let (e, s) = (e.unwrap_or(Fen(0)), s.unwrap_or(Fen(0)));
            (e, s, Fen(e.0 + s.0))
        }
    }
}

/// `notification_equip_charge_status`'s body: a running charge as evgrid holds it now. Phase
/// currents and voltages are not kept by evgrid and go as 0.
pub fn charge_status_report(
    profile: &Profile,
    platform_operator_id: &str,
    session: &ChargingSession,
    place: &Place,
    now: i64,
) -> Value {
    let (elec, service, total) = money(session);
    let mut body = object(ChargeStatus {
        start_charge_seq: superior_ref(
            platform_operator_id,
            &session.operator_id,
            &session.session_ref,
        ),
        start_charge_seq_stat: session_state_code(session.state),
        connector_id: session.connector_id.clone(),
        connector_status: if session.state == SessionState::Charging {
            3
        } else {
            2
        },
        current_a: 0.0,
        current_b: None,
        current_c: None,
        voltage_a: 0.0,
        voltage_b: None,
        voltage_c: None,
        soc: session.soc.filter(|s| (0.0..=100.0).contains(s)),
        start_time: china_datetime(session.started_at.unwrap_or(session.updated_at)),
        end_time: china_datetime(now.max(session.started_at.unwrap_or(now))),
        total_power: kwh(session.energy),
        elec_money: Some(elec.yuan()),
        sevice_money: Some(service.yuan()),
        total_money: Some(total.yuan()),
        sum_period: None,
        charge_details: None,
    });
    if profile.extensions.operator_fields {
        put_place(&mut body, place);
    }
    Value::Object(body)
}

/// `notification_charge_order_info`'s body: the final order.
pub fn order_report(
    profile: &Profile,
    platform_operator_id: &str,
    session: &ChargingSession,
    place: &Place,
) -> Value {
    let (elec, service, total) = money(session);
    let started = session.started_at.unwrap_or(session.updated_at);
    let ended = session.ended_at.unwrap_or(session.updated_at).max(started);
    let details = details(session);
    let mut body = object(ChargeOrder {
        start_charge_seq: superior_ref(
            platform_operator_id,
            &session.operator_id,
            &session.session_ref,
        ),
        connector_id: session.connector_id.clone(),
        start_time: china_datetime(started),
        end_time: china_datetime(ended),
        total_power: kwh(session.energy),
        total_elec_money: elec.yuan(),
        total_sevice_money: service.yuan(),
        total_money: total.yuan(),
        stop_reason: session.stop_reason.unwrap_or(0),
        sum_period: details
            .as_ref()
            .map(|d| i32::try_from(d.len()).unwrap_or(0)),
        charge_details: details,
    });
    if profile.extensions.operator_fields {
        put_place(&mut body, place);
    }
    if profile.extensions.municipal_order {
        body.insert("ChargeModel".into(), json!(0));
        body.insert("StationID".into(), json!(place.station_id));
        body.insert("EquipmentID".into(), json!(place.equipment_id));
        body.insert(
            "ConnectorPower".into(),
            json!((place.connector_power_w as f64 / 100.0).round() / 10.0),
        );
        body.insert("ChargeLast".into(), json!(ended - started));
        if let Some(start) = session.meter_start {
            let end = WattHours(start.0 + session.energy.unwrap_or(WattHours(0)).0);
            body.insert("MeterValueStart".into(), json!(round2(start.kwh())));
            body.insert("MeterValueEnd".into(), json!(round2(end.kwh())));
        }
    }
    Value::Object(body)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `notification_start_charge_result`'s body for a charge started through evgrid: started
/// (`StartChargeSeqStat` as the session stands, at least 1) or refused (5).
pub fn start_result_report(
    platform_operator_id: &str,
    charge: &evgrid_model::Charge,
    session: Option<&ChargingSession>,
) -> Value {
    let state = match (charge.status, session) {
        (evgrid_model::ChargeStatus::Refused, _) => 5,
        (_, Some(s)) if s.state != SessionState::Failed => session_state_code(s.state),
        (_, Some(_)) => 5,
        (_, None) => 1,
    };
    let started = session
        .and_then(|s| s.started_at)
        .unwrap_or(charge.created_at);
    serde_json::to_value(crate::business::StartChargeNotice {
        start_charge_seq: superior_ref(
            platform_operator_id,
            &charge.operator_id,
            &charge.session_ref,
        ),
        start_charge_seq_stat: state,
        connector_id: charge.connector_id.clone(),
        start_time: china_datetime(started),
        ident_code: None,
    })
    .unwrap_or(Value::Null)
}

/// `notification_stop_charge_result`'s body for a charge started through evgrid whose stop
/// was asked for and accepted: stopping (3) or finished (4) as the session stands.
pub fn stop_result_report(
    platform_operator_id: &str,
    charge: &evgrid_model::Charge,
    session: Option<&ChargingSession>,
) -> Value {
    let state = match session.map(|s| s.state) {
        Some(SessionState::Finished) => 4,
        _ => 3,
    };
    serde_json::to_value(crate::business::StopChargeNotice {
        start_charge_seq: superior_ref(
            platform_operator_id,
            &charge.operator_id,
            &charge.session_ref,
        ),
        start_charge_seq_stat: state,
        connector_id: charge.connector_id.clone(),
        succ_stat: 0,
        fail_reason: 0,
    })
    .unwrap_or(Value::Null)
}

/// A connector delivering energy now, with its power in kW.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorPower {
    pub place: Place,
    pub connector_id: String,
    pub kw: f64,
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// `notification_realtime_power_info`'s body (`SupStationPowerInfos`): each station with a
/// connector delivering energy, its equipment and connectors, each total the sum of its parts.
pub fn power_report(connectors: &[ConnectorPower], now: i64) -> Value {
    use std::collections::BTreeMap;
    let at = china_datetime(now);
    // station → equipment → connectors, in a stable order.
    type Equipment = BTreeMap<String, Vec<(String, f64)>>;
    let mut stations: BTreeMap<(String, String), (String, Equipment)> = BTreeMap::new();
    for c in connectors {
        let entry = stations
            .entry((c.place.operator_id.clone(), c.place.station_id.clone()))
            .or_insert_with(|| (c.place.equipment_owner_id.clone(), BTreeMap::new()));
        entry
            .1
            .entry(c.place.equipment_id.clone())
            .or_default()
            .push((c.connector_id.clone(), round3(c.kw)));
    }
    let infos: Vec<Value> = stations
        .into_iter()
        .map(|((operator_id, station_id), (owner, equipment))| {
            let mut station_kw = 0.0;
            let equipment: Vec<Value> = equipment
                .into_iter()
                .map(|(equipment_id, connectors)| {
                    let kw = round3(connectors.iter().map(|c| c.1).sum());
                    station_kw += kw;
                    json!({
                        "EquipmentID": equipment_id,
                        "DataTime": at,
                        "EquipRealTimePower": kw,
                        "ConnectorPowerInfos": connectors.iter().map(|(id, kw)| json!({
                            "ConnectorID": id, "DataTime": at, "ConnectorRealTimePower": kw,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({
                "OperatorID": operator_id,
                "EquipmentOwnerID": owner,
                "StationID": station_id,
                "DataTime": at,
                "StationRealTimePower": round3(station_kw),
                "EquipmentPowerInfos": equipment,
            })
        })
        .collect();
    json!({ "SupStationPowerInfos": infos })
}

/// One order of a daily check: how the superior knows it and how evgrid does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedOrder {
    pub superior_ref: String,
    pub operator_id: String,
    pub session_ref: String,
}

/// `check_charge_orders`'s body for the orders that ended in `[from, to)` (a day), with the
/// orders it lists.
pub fn check_report(
    platform_operator_id: &str,
    from: i64,
    to: i64,
    sessions: &[ChargingSession],
    check_number: u32,
) -> (Value, Vec<CheckedOrder>) {
    let mut orders = Vec::with_capacity(sessions.len());
    let mut listed = Vec::with_capacity(sessions.len());
    let (mut energy, mut money_total) = (0i64, 0i64);
    for s in sessions {
        let (_, _, total) = money(s);
        let wh = s.energy.unwrap_or(WattHours(0));
        energy += wh.0;
        money_total += total.0;
        let r = superior_ref(platform_operator_id, &s.operator_id, &s.session_ref);
        orders.push(OrderTotal {
            start_charge_seq: r.clone(),
            total_power: wh.kwh(),
            total_money: total.yuan(),
        });
        listed.push(CheckedOrder {
            superior_ref: r,
            operator_id: s.operator_id.clone(),
            session_ref: s.session_ref.clone(),
        });
    }
    let body = CheckChargeOrders {
        check_order_seq: crate::business::new_seq(platform_operator_id, from, check_number),
        start_time: china_datetime(from),
        end_time: china_datetime(to - 1),
        order_count: i32::try_from(orders.len()).unwrap_or(i32::MAX),
        total_order_power: WattHours(energy).kwh(),
        total_order_money: Fen(money_total).yuan(),
        charge_orders: orders,
    };
    (serde_json::to_value(body).unwrap_or(Value::Null), listed)
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Acknowledged under the profile's rule.
    Delivered,
    /// Not acknowledged; a retry may help (network, 5xx, a token or signature refusal, a
    /// business refusal such as `ConfirmResult` ≠ 0).
    Retry(String),
    /// Refused as malformed (4003, 4004): the same message would be refused again.
    Refused(String),
}

/// An attempt judged: its verdict, the `Ret` the superior answered (`None`: no answer) and,
/// for a daily check, the orders it disputed (superior's reference, reason).
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub verdict: Verdict,
    pub ret: Option<i32>,
    pub disputes: Vec<(String, i32)>,
}

/// Judges the outcome of a call under the profile's rules.
pub fn judge(profile: &Profile, report: Report, result: &Result<Vec<u8>, ClientError>) -> Judged {
    let answered = |verdict| Judged {
        verdict,
        ret: Some(0),
        disputes: Vec::new(),
    };
    match result {
        Ok(bytes) => {
            let v: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
            let field = |name: &str| v.get(name).and_then(Value::as_i64);
            match report {
                Report::StationInfo | Report::StationStatus | Report::RealtimePower => {
                    match field("Status") {
                        None | Some(0) => answered(Verdict::Delivered),
                        Some(s) => answered(Verdict::Retry(format!("Status {s}"))),
                    }
                }
                Report::ChargeStatus | Report::StartResult | Report::StopResult => {
                    match field("SuccStat") {
                        None | Some(0) => answered(Verdict::Delivered),
                        Some(s) => answered(Verdict::Retry(format!("SuccStat {s}"))),
                    }
                }
                Report::ChargeOrder => match field("ConfirmResult") {
                    Some(0) => answered(Verdict::Delivered),
                    Some(c) => answered(Verdict::Retry(format!("ConfirmResult {c} (disputed)"))),
                    None => answered(Verdict::Retry("the answer has no ConfirmResult".into())),
                },
                Report::CheckOrders => match serde_json::from_value::<CheckChargeOrdersResult>(v) {
                    Ok(r) => Judged {
                        verdict: Verdict::Delivered,
                        ret: Some(0),
                        disputes: r
                            .dispute_orders
                            .into_iter()
                            .map(|d| (d.start_charge_seq, d.dispute_reason))
                            .collect(),
                    },
                    Err(e) => answered(Verdict::Retry(format!("unreadable check answer: {e}"))),
                },
            }
        }
        Err(ClientError::Refused { ret, msg }) => {
            let verdict = if profile.delivered_rets.contains(ret) {
                Verdict::Delivered
            } else {
                match Ret::from_code(*ret) {
                    Some(Ret::BadRequest | Ret::BadData) => {
                        Verdict::Refused(format!("Ret {ret}: {msg}"))
                    }
                    _ => Verdict::Retry(format!("Ret {ret}: {msg}")),
                }
            };
            Judged {
                verdict,
                ret: Some(*ret),
                disputes: Vec::new(),
            }
        }
        Err(e) => Judged {
            verdict: Verdict::Retry(e.to_string()),
            ret: None,
            disputes: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests;
