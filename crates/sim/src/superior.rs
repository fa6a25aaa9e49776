//! A simulated superior supervision platform: a real T/CEC 102 server that evgrid reports to
//! (evgrid in the data provider's role). It verifies every request as a strict province
//! would — envelope, `Sig`, token, decryption, every field of every payload by the same rules
//! evgrid applies to operators — refuses now and then (`Ret` 500, busy) so that retries are
//! exercised, answers a repeated order with a configurable "already received" code, and
//! compares the daily order check with the orders it received.
//!
//! `GET /state` (no T/CEC) answers what it received, for the demo and the tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use evgrid_model::rng::SplitMix64;
use evgrid_model::{CoordSystem, OperatorCredentials, OperatorId, PushId, StorageError, WattHours};
use evgrid_tcec::business::{
    self, ChargeOrder, ChargeStatus, CheckChargeOrders, CheckChargeOrdersResult, DisputeOrder,
    NoticeAnswer,
};
use evgrid_tcec::convert::parse_station_info;
use evgrid_tcec::envelope::{Refusal, ResponseEnvelope, Ret};
use evgrid_tcec::gate::{bad_data, respond, verify, Checked, Gate, Verified};
use evgrid_tcec::platform::{status_from_code, ConnectorStatusInfo};
use evgrid_tcec::{station_from_wire, ConvertOptions};
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};

use crate::http::reply;
use serde::Serialize;
use tokio::sync::watch;

/// The base path the simulated superior serves.
pub const BASE_PATH: &str = "/evcs/v1/";

/// The interfaces it takes (the standard's names).
pub const SUPERIOR_INTERFACES: [&str; 9] = [
    "query_token",
    "notification_realtime_power_info",
    "notification_start_charge_result",
    "notification_stop_charge_result",
    "notification_stationInfo",
    "notification_stationStatus",
    "notification_equip_charge_status",
    "notification_charge_order_info",
    "check_charge_orders",
];

/// How the simulated superior behaves, and the key set it issued to the city platform.
#[derive(Debug, Clone)]
pub struct SuperiorOptions {
    /// The city platform's OperatorID at this superior (the only caller it accepts).
    pub platform_operator_id: String,
    pub operator_secret: String,
    pub data_secret: String,
    pub data_secret_iv: String,
    pub sig_secret: String,
    /// Share of requests refused with `Ret` 500 (busy), 0 to 1.
    pub refuse_share: f64,
    /// The `Ret` answered to an order received and acknowledged before (`None`: acknowledged
    /// again with `ConfirmResult` 0).
    pub already_received_ret: Option<i32>,
    /// Token life, seconds.
    pub token_seconds: i64,
    pub seed: u64,
}

impl SuperiorOptions {
    /// The demo's key set (published in this source: for the demo and tests only).
    pub fn demo(platform_operator_id: &str) -> Self {
        Self {
            platform_operator_id: platform_operator_id.into(),
            operator_secret: "superior-demo-operator".into(),
            data_secret: "SUPDEMODATASECRT".into(),
            data_secret_iv: "SUPDEMODATAIV000".into(),
            sig_secret: "superior-demo-signature".into(),
            refuse_share: 0.05,
            already_received_ret: Some(4015),
            token_seconds: 7200,
            seed: 1,
        }
    }
}

/// What the superior received, as `GET /state` answers it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Received {
    /// Stations by `OPERATOR:STATION`, with how often each was pushed.
    pub stations: HashMap<String, u32>,
    /// Latest status code by `OPERATOR:CONNECTOR`.
    pub statuses: HashMap<String, i32>,
    /// Status pushes accepted.
    pub status_pushes: u64,
    /// Status pushes of a connector whose station was not reported (accepted, counted).
    pub statuses_of_unknown_connectors: u64,
    /// Live charge samples by order number: the China-time seconds each arrived.
    pub charge_samples: HashMap<String, Vec<i64>>,
    /// Start and stop results of charges started through the city platform, by order number:
    /// the `StartChargeSeqStat` of each.
    pub start_results: HashMap<String, Vec<i32>>,
    pub stop_results: HashMap<String, Vec<i32>>,
    /// Real-time power reports accepted, and the latest power of each station (kW) by
    /// `OPERATOR:STATION`.
    pub power_reports: u64,
    pub station_power: HashMap<String, f64>,
    /// Orders by order number: how often each was acknowledged (`ConfirmResult` 0).
    pub orders: HashMap<String, u32>,
    /// Orders answered with the "already received" code.
    pub orders_already_received: u64,
    /// Orders whose figures did not add up (answered `ConfirmResult` 1).
    pub orders_disputed: u64,
    /// Daily checks received: (CheckOrderSeq, StartTime, orders listed, disputed).
    pub checks: Vec<(String, String, i32, i32)>,
    /// Requests refused on purpose (busy).
    pub refused_busy: u64,
    /// Requests refused as malformed (4001–4004), by `Ret`.
    pub refused: HashMap<i32, u64>,
}

struct State {
    rng: SplitMix64,
    tokens: HashMap<String, Instant>,
    received: Received,
    /// Energy (Wh) and total (fen) of each acknowledged order, for the daily check.
    order_totals: HashMap<String, (i64, i64)>,
}

/// A running simulated superior.
pub struct SimSuperior {
    options: SuperiorOptions,
    state: Mutex<State>,
}

impl std::fmt::Debug for SimSuperior {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimSuperior")
            .field("platform_operator_id", &self.options.platform_operator_id)
            .finish_non_exhaustive()
    }
}

impl SimSuperior {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What it received so far.
    pub fn received(&self) -> Received {
        self.lock().received.clone()
    }
}

impl Gate for SimSuperior {
    async fn credentials(
        &self,
        id: &OperatorId,
    ) -> Result<Option<OperatorCredentials>, StorageError> {
        if id.as_str() != self.options.platform_operator_id {
            return Ok(None);
        }
        let o = &self.options;
        Ok(Some(crate::http::caller(
            id,
            &o.operator_secret,
            &o.data_secret,
            &o.data_secret_iv,
            &o.sig_secret,
        )))
    }

    async fn issue_token(
        &self,
        _id: &OperatorId,
        _seconds: i64,
    ) -> Result<(String, i64), StorageError> {
        let life = self.options.token_seconds.max(1);
        let mut st = self.lock();
        let now = Instant::now();
        st.tokens.retain(|_, expiry| *expiry > now);
        let token = format!("{:016x}{:016x}", st.rng.next_u64(), st.rng.next_u64());
        st.tokens.insert(
            token.clone(),
            now + Duration::from_secs(life.unsigned_abs()),
        );
        Ok((token, life))
    }

    async fn token_owner(&self, token: &str) -> Result<Option<OperatorId>, StorageError> {
        let valid = self
            .lock()
            .tokens
            .get(token)
            .is_some_and(|e| *e > Instant::now());
        Ok(if valid {
            OperatorId::new(&self.options.platform_operator_id).ok()
        } else {
            None
        })
    }
}

/// Starts the simulated superior on `listener` until `stop` turns true.
pub fn start(
    options: SuperiorOptions,
    listener: tokio::net::TcpListener,
    stop: watch::Receiver<bool>,
) -> Arc<SimSuperior> {
    let sim = Arc::new(SimSuperior {
        state: Mutex::new(State {
            rng: SplitMix64(options.seed),
            tokens: HashMap::new(),
            received: Received::default(),
            order_totals: HashMap::new(),
        }),
        options,
    });
    tokio::spawn(crate::http::serve(
        sim.clone(),
        listener,
        stop,
        |sim, req| async move { answer(&sim, req).await },
    ));
    sim
}

async fn answer(
    sim: &Arc<SimSuperior>,
    req: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    if req.uri().path() == "/state" {
        let received = sim.received();
        return reply(
            StatusCode::OK,
            serde_json::to_vec(&received).unwrap_or_default(),
        );
    }
    let (interface, bearer, body) = match crate::http::tcec_request(req, BASE_PATH).await {
        Ok(r) => r,
        Err(not_found) => return not_found,
    };
    let mut keys = None;
    let verified = verify(
        sim.as_ref(),
        &SUPERIOR_INTERFACES,
        &interface,
        bearer.as_deref(),
        &body,
        &mut keys,
    )
    .await;
    let result = match verified {
        Ok(Checked::Answered(a)) => Ok(a),
        Ok(Checked::Verified(v)) => {
            let busy = {
                let mut st = sim.lock();
                let share = sim.options.refuse_share.clamp(0.0, 1.0);
                let busy = (st.rng.next_u64() % 1_000_000) < (share * 1_000_000.0) as u64;
                if busy {
                    st.received.refused_busy += 1;
                }
                busy
            };
            if busy {
                Err(Refusal::new(Ret::SystemError, "busy; retry later"))
            } else {
                match dispatch(sim, *v) {
                    Ok(Answer::Data(data)) => Ok(data),
                    Ok(Answer::Code(code, msg)) => {
                        // A code of the superior's own ("already received"), signed.
                        if let Some(k) = &keys {
                            let envelope = ResponseEnvelope {
                                ret: code,
                                sig: k.response_sig(code, &msg, ""),
                                msg,
                                data: String::new(),
                            };
                            return reply(
                                StatusCode::OK,
                                serde_json::to_vec(&envelope).unwrap_or_default(),
                            );
                        }
                        Err(Refusal::new(Ret::SystemError, "no keys"))
                    }
                    Err(r) => Err(r),
                }
            }
        }
        Err(r) => Err(r),
    };
    if let Err(r) = &result {
        if r.ret != Ret::SystemError {
            *sim.lock().received.refused.entry(r.ret.code()).or_default() += 1;
        }
    }
    let envelope = respond(sim.as_ref(), &interface, &body, keys, result).await;
    reply(
        StatusCode::OK,
        serde_json::to_vec(&envelope).unwrap_or_default(),
    )
}

enum Answer {
    Data(Vec<u8>),
    Code(i32, String),
}

fn json<T: Serialize>(v: &T) -> Result<Answer, Refusal> {
    serde_json::to_vec(v)
        .map(Answer::Data)
        .map_err(|e| Refusal::new(Ret::SystemError, e.to_string()))
}

/// The payload's `OperatorID` (the station's operator), required and 9 characters.
fn payload_operator(data: &serde_json::Value, at: &str) -> Result<String, Refusal> {
    let id = data
        .get("OperatorID")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            bad_data(format!(
                "{at}OperatorID (the station's operator) is missing"
            ))
        })?;
    OperatorId::new(id).map_err(|e| bad_data(format!("{at}OperatorID: {e}")))?;
    Ok(id.to_owned())
}

fn dispatch(sim: &SimSuperior, v: Verified) -> Result<Answer, Refusal> {
    let Verified { push, data, .. } = v;
    match push.interface {
        "notification_stationInfo" => station_info(sim, &data),
        "notification_stationStatus" => station_status(sim, &data),
        "notification_equip_charge_status" => charge_status(sim, &push, &data),
        "notification_charge_order_info" => charge_order(sim, &data),
        "notification_realtime_power_info" => realtime_power(sim, &data),
        "check_charge_orders" => check_orders(sim, &data),
        "notification_start_charge_result" => {
            let notice: business::StartChargeNotice = evgrid_tcec::gate::business(&data)?;
            business::session_from_start(&notice).map_err(bad_data)?;
            charge_result(
                sim,
                notice.start_charge_seq,
                notice.start_charge_seq_stat,
                true,
            )
        }
        "notification_stop_charge_result" => {
            let notice: business::StopChargeNotice = evgrid_tcec::gate::business(&data)?;
            business::session_from_stop(&notice).map_err(bad_data)?;
            charge_result(
                sim,
                notice.start_charge_seq,
                notice.start_charge_seq_stat,
                false,
            )
        }
        other => Err(Refusal::new(
            Ret::BadRequest,
            format!("{other} is not taken here"),
        )),
    }
}

/// A number in a payload, named by its path.
fn number(v: &serde_json::Value, at: &str) -> Result<f64, Refusal> {
    v.as_f64()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| bad_data(format!("{at} must be a number of kW, 0 or more")))
}

/// Each total must be the sum of its parts (to 0.01 kW).
fn realtime_power(sim: &SimSuperior, data: &serde_json::Value) -> Result<Answer, Refusal> {
    let stations = data
        .get("SupStationPowerInfos")
        .and_then(serde_json::Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad_data("SupStationPowerInfos must be a list of stations"))?;
    let mut powers = Vec::with_capacity(stations.len());
    for (i, s) in stations.iter().enumerate() {
        let at = format!("SupStationPowerInfos[{i}].");
        let operator = payload_operator(s, &at)?;
        let station = s
            .get("StationID")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| bad_data(format!("{at}StationID is missing")))?;
        let timed = s
            .get("DataTime")
            .and_then(serde_json::Value::as_str)
            .and_then(evgrid_tcec::time::parse_china_datetime)
            .is_some();
        if !timed {
            return Err(bad_data(format!("{at}DataTime is not yyyy-MM-dd HH:mm:ss")));
        }
        let total = number(
            &s["StationRealTimePower"],
            &format!("{at}StationRealTimePower"),
        )?;
        let mut sum = 0.0;
        for (j, e) in s["EquipmentPowerInfos"]
            .as_array()
            .ok_or_else(|| bad_data(format!("{at}EquipmentPowerInfos must be a list")))?
            .iter()
            .enumerate()
        {
            let at = format!("{at}EquipmentPowerInfos[{j}].");
            let equipment = number(&e["EquipRealTimePower"], &format!("{at}EquipRealTimePower"))?;
            let mut parts = 0.0;
            for (k, c) in e["ConnectorPowerInfos"]
                .as_array()
                .ok_or_else(|| bad_data(format!("{at}ConnectorPowerInfos must be a list")))?
                .iter()
                .enumerate()
            {
                parts += number(
                    &c["ConnectorRealTimePower"],
                    &format!("{at}ConnectorPowerInfos[{k}].ConnectorRealTimePower"),
                )?;
            }
            if (parts - equipment).abs() > 0.01 {
                return Err(bad_data(format!(
                    "{at}EquipRealTimePower {equipment} is not the sum of its connectors {parts}"
                )));
            }
            sum += equipment;
        }
        if (sum - total).abs() > 0.01 {
            return Err(bad_data(format!(
                "{at}StationRealTimePower {total} is not the sum of its equipment {sum}"
            )));
        }
        powers.push((format!("{operator}:{station}"), total));
    }
    let mut st = sim.lock();
    st.received.power_reports += 1;
    st.received.station_power.extend(powers);
    drop(st);
    json(&serde_json::json!({"Status": 0}))
}

/// Records a start (or stop) result of a charge started through the city platform.
fn charge_result(
    sim: &SimSuperior,
    seq: String,
    state: i32,
    start: bool,
) -> Result<Answer, Refusal> {
    own_seq(sim, &seq)?;
    let mut st = sim.lock();
    let results = if start {
        &mut st.received.start_results
    } else {
        &mut st.received.stop_results
    };
    results.entry(seq.clone()).or_default().push(state);
    drop(st);
    json(&NoticeAnswer {
        start_charge_seq: seq,
        succ_stat: 0,
        fail_reason: Some(0),
    })
}

/// A `StartChargeSeq` of the sender: 27 characters starting with its OperatorID.
fn own_seq(sim: &SimSuperior, seq: &str) -> Result<(), Refusal> {
    if seq.len() == 27 && seq.starts_with(&sim.options.platform_operator_id) {
        Ok(())
    } else {
        Err(bad_data(
            "StartChargeSeq must be 27 characters starting with the sender's OperatorID",
        ))
    }
}

fn station_info(sim: &SimSuperior, data: &serde_json::Value) -> Result<Answer, Refusal> {
    let value = data
        .get("StationInfo")
        .ok_or_else(|| bad_data("StationInfo is missing"))?;
    let info = parse_station_info(value).map_err(|e| bad_data(format!("StationInfo.{e}")))?;
    let converted = station_from_wire(
        &info,
        ConvertOptions {
            coords: CoordSystem::Gcj02,
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
    if let Some(code) = value.get("AreaCodeCountryside") {
        let ok = code
            .as_str()
            .is_some_and(|c| c.len() == 12 && c.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(bad_data(
                "StationInfo.AreaCodeCountryside must be 12 digits",
            ));
        }
    }
    let key = format!("{}:{}", info.operator_id, converted.station.id);
    *sim.lock().received.stations.entry(key).or_default() += 1;
    json(&serde_json::json!({"Status": 0}))
}

fn station_status(sim: &SimSuperior, data: &serde_json::Value) -> Result<Answer, Refusal> {
    let value = data
        .get("ConnectorStatusInfo")
        .ok_or_else(|| bad_data("ConnectorStatusInfo is missing"))?;
    if value.is_array() {
        return Err(bad_data(
            "ConnectorStatusInfo is one connector, not a list (one connector a call)",
        ));
    }
    let operator = payload_operator(value, "ConnectorStatusInfo.")?;
    let info: ConnectorStatusInfo = evgrid_tcec::gate::business(value)?;
    if info.connector_id.is_empty() || info.connector_id.chars().count() > 26 {
        return Err(bad_data(
            "ConnectorStatusInfo.ConnectorID must be 1 to 26 characters",
        ));
    }
    if status_from_code(info.status).is_none() {
        return Err(bad_data(format!(
            "ConnectorStatusInfo.Status {} is not 0, 1, 2, 3, 4 or 255",
            info.status
        )));
    }
    let station = value
        .get("StationID")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let mut st = sim.lock();
    if !st
        .received
        .stations
        .contains_key(&format!("{operator}:{station}"))
    {
        st.received.statuses_of_unknown_connectors += 1;
    }
    st.received
        .statuses
        .insert(format!("{operator}:{}", info.connector_id), info.status);
    st.received.status_pushes += 1;
    drop(st);
    json(&serde_json::json!({"Status": 0}))
}

fn charge_status(
    sim: &SimSuperior,
    push: &PushId,
    data: &serde_json::Value,
) -> Result<Answer, Refusal> {
    payload_operator(data, "")?;
    let status: ChargeStatus = evgrid_tcec::gate::business(data)?;
    business::session_from_status(&status).map_err(bad_data)?;
    if !status
        .start_charge_seq
        .starts_with(&sim.options.platform_operator_id)
    {
        return Err(bad_data(
            "StartChargeSeq must start with the sender's OperatorID",
        ));
    }
    let at = evgrid_tcec::time::parse_china_timestamp(&push.time_stamp).unwrap_or_default();
    sim.lock()
        .received
        .charge_samples
        .entry(status.start_charge_seq.clone())
        .or_default()
        .push(at);
    json(&NoticeAnswer {
        start_charge_seq: status.start_charge_seq,
        succ_stat: 0,
        fail_reason: None,
    })
}

fn charge_order(sim: &SimSuperior, data: &serde_json::Value) -> Result<Answer, Refusal> {
    payload_operator(data, "")?;
    let order: ChargeOrder = evgrid_tcec::gate::business(data)?;
    let update = business::session_from_order(&order).map_err(bad_data)?;
    if !order
        .start_charge_seq
        .starts_with(&sim.options.platform_operator_id)
    {
        return Err(bad_data(
            "StartChargeSeq must start with the sender's OperatorID",
        ));
    }
    let mut st = sim.lock();
    let seen = st
        .received
        .orders
        .get(&order.start_charge_seq)
        .copied()
        .unwrap_or(0);
    if seen > 0 {
        if let Some(code) = sim.options.already_received_ret {
            st.received.orders_already_received += 1;
            return Ok(Answer::Code(code, "order already received".into()));
        }
    }
    let confirm = if update.dispute.is_some() {
        st.received.orders_disputed += 1;
        1
    } else {
        *st.received
            .orders
            .entry(order.start_charge_seq.clone())
            .or_default() += 1;
        let energy = update.energy.unwrap_or(WattHours(0)).0;
        let money = update.total_money.map_or(0, |f| f.0);
        st.order_totals
            .insert(order.start_charge_seq.clone(), (energy, money));
        0
    };
    drop(st);
    json(&serde_json::json!({
        "StartChargeSeq": order.start_charge_seq,
        "ConnectorID": order.connector_id,
        "ConfirmResult": confirm,
    }))
}

fn check_orders(sim: &SimSuperior, data: &serde_json::Value) -> Result<Answer, Refusal> {
    let check: CheckChargeOrders = evgrid_tcec::gate::business(data)?;
    business::check_seq("CheckOrderSeq", &check.check_order_seq).map_err(bad_data)?;
    if usize::try_from(check.order_count).ok() != Some(check.charge_orders.len()) {
        return Err(bad_data(format!(
            "OrderCount {} but {} ChargeOrders",
            check.order_count,
            check.charge_orders.len()
        )));
    }
    let mut st = sim.lock();
    let mut disputes = Vec::new();
    for o in &check.charge_orders {
        let claimed_wh = WattHours::from_kwh_f64(o.total_power).map_or(-1, |w| w.0);
        let claimed_fen = evgrid_model::Fen::from_yuan_f64(o.total_money).map_or(-1, |f| f.0);
        let reason = match st.order_totals.get(&o.start_charge_seq) {
            None => 1,
            Some((_, fen)) if *fen != claimed_fen => 2,
            Some((wh, _)) if (wh - claimed_wh).abs() >= 10 => 3,
            Some(_) => continue,
        };
        disputes.push(DisputeOrder {
            start_charge_seq: o.start_charge_seq.clone(),
            total_power: o.total_power,
            total_money: o.total_money,
            dispute_reason: reason,
        });
    }
    st.received.checks.push((
        check.check_order_seq.clone(),
        check.start_time.clone(),
        check.order_count,
        i32::try_from(disputes.len()).unwrap_or(i32::MAX),
    ));
    drop(st);
    json(&CheckChargeOrdersResult {
        check_order_seq: check.check_order_seq,
        start_time: check.start_time,
        end_time: check.end_time,
        total_dispute_order: i32::try_from(disputes.len()).unwrap_or(i32::MAX),
        total_dispute_power: disputes.iter().map(|d| d.total_power).sum(),
        total_dispute_money: disputes.iter().map(|d| d.total_money).sum(),
        dispute_orders: disputes,
    })
}
