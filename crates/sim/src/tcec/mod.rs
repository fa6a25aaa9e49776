//! Simulated operator platforms, for the demo and for tests: each is a real T/CEC 102 server on
//! its own loopback port (the pull interfaces and the business calls, behind the same checks as
//! evgrid's side: token, `Sig`, encryption) and a real client that pushes to the platform.
//!
//! Statuses move the way chargers do (mostly available, some charging, a few occupied, offline
//! or faulted) and are pushed as they change, with a jittered rhythm and backoff when the
//! platform does not answer. Charges started by the platform progress: start result, charge
//! status with kWh, SoC and cost every interval, stop result, and an order itemized by the
//! station's time-of-use periods. A configurable share of pushes carries a fault (late, bad
//! `Sig`, status outside the enum, each resent correctly after the refusal), and an operator can
//! be told to stop answering for a while.

mod http;
pub mod tariff;

use evgrid_model::time::unix_now;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use evgrid_model::{OperatorCredentials, OperatorId, WattHours};
use serde::Serialize;
use tokio::sync::watch;

use evgrid_model::StorageError;
use evgrid_tcec::business::{
    ChargeOrder, ChargeStatus, ConnectorStatusInfo, StartChargeNotice, StopChargeNotice,
};
use evgrid_tcec::client::{Client, ClientError, Defects};
use evgrid_tcec::gate::Gate;
use evgrid_tcec::time::china_datetime;
use evgrid_tcec::wire::StationInfo;

pub use http::{BASE_PATH, OPERATOR_INTERFACES};

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("the simulated operator's settings are unusable: {0}")]
    Settings(String),
    #[error("binding the simulated operator's port: {0}")]
    Bind(std::io::Error),
}

/// One simulated operator platform: who it is, the key set it shares with the platform, and
/// its stations (as its T/CEC directory, GCJ-02).
#[derive(Debug, Clone)]
pub struct OperatorPlatform {
    pub operator_id: String,
    /// What it presents to the platform's `query_token`.
    pub operator_secret: String,
    pub data_secret: String,
    pub data_secret_iv: String,
    pub sig_secret: String,
    /// The platform's OperatorID, the only caller it accepts.
    pub platform_operator_id: String,
    /// What the platform presents to this operator's `query_token`.
    pub platform_secret: String,
    pub stations: Vec<StationInfo>,
}

/// How the simulation runs.
#[derive(Debug, Clone)]
pub struct SimulatorOptions {
    /// The platform's T/CEC base URL, e.g. `http://127.0.0.1:8080/evcs/v1/`.
    pub platform_url: String,
    /// Mean pause between rounds of status changes.
    pub interval: Duration,
    /// Status changes per round.
    pub changes_per_round: usize,
    pub seed: u64,
    /// How often a charge pushes its live data.
    pub sample_interval: Duration,
    /// Energy accrues this many times faster than the connector's power would deliver; times
    /// on the wire stay real, so above 1 the platform rightly flags the charges as implausible
    /// (more energy than the connector could deliver). 1 by default.
    pub speedup: f64,
    /// Share of pushes (0 to 1) sent with a fault.
    pub fault_share: f64,
    /// Stop answering (pulls and pushes) from this long after start, for this long.
    pub hang: Option<(Duration, Duration)>,
    /// Lifetime of the tokens this operator issues, seconds.
    pub token_seconds: i64,
    /// Give up on a push after this long.
    pub push_timeout: Duration,
    /// Pause before the first resend of a push that got no answer (doubles per resend).
    pub retry_pause: Duration,
}

impl SimulatorOptions {
    /// Defaults for a platform at `platform_url`.
    pub fn new(platform_url: impl Into<String>) -> Self {
        Self {
            platform_url: platform_url.into(),
            interval: Duration::from_secs(1),
            changes_per_round: 10,
            seed: 1,
            sample_interval: Duration::from_secs(5),
            speedup: 1.0,
            fault_share: 0.0,
            hang: None,
            token_seconds: evgrid_tcec::gate::TOKEN_SECONDS,
            push_timeout: Duration::from_secs(10),
            retry_pause: Duration::from_millis(500),
        }
    }
}

/// What a simulated operator has done so far.
#[derive(Debug, Default, Serialize)]
pub struct Counters {
    pub pushes_acknowledged: AtomicU64,
    pub pushes_refused: AtomicU64,
    pub pushes_failed: AtomicU64,
    pub faults_injected: AtomicU64,
    pub requests_answered: AtomicU64,
    pub charges_started: AtomicU64,
    pub orders_sent: AtomicU64,
}

/// T/CEC status codes with how often a charger is found in each (per mille): available,
/// charging, occupied, reserved, offline, faulted.
const STATUS_WEIGHTS: [(i32, u64); 6] = [(1, 600), (3, 250), (2, 80), (4, 10), (0, 35), (255, 25)];

/// The simulation's random source, with the status draw.
#[derive(Debug, Clone)]
struct Rng(evgrid_model::rng::SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0.below(n)
    }

    fn chance(&mut self, share: f64) -> bool {
        share > 0.0 && self.0.unit() <= share
    }

    fn status(&mut self) -> i32 {
        let mut x = self.below(1000);
        for (code, weight) in STATUS_WEIGHTS {
            if x < weight {
                return code;
            }
            x -= weight;
        }
        1
    }
}

/// A charge in progress or finished.
#[derive(Debug, Clone)]
struct Charge {
    connector_id: String,
    station: usize,
    /// 1 starting, 2 charging, 3 stopping, 4 finished.
    state: i32,
    started_at: i64,
    ended_at: Option<i64>,
    energy: WattHours,
    /// The energy delivered, unrounded (Wh): `energy` is it in the 10 Wh steps DetailPower
    /// carries, so a slow charger's samples are not rounded away.
    exact_wh: f64,
    /// DC only.
    soc: Option<f64>,
    power_kw: f64,
    stop_requested: bool,
    stop_reason: i32,
}

#[derive(Debug)]
struct State {
    statuses: HashMap<String, i32>,
    charges: HashMap<String, Charge>,
    tokens: HashMap<String, Instant>,
    rng: Rng,
}

/// A running simulated operator.
#[derive(Debug)]
pub struct Sim {
    op: OperatorPlatform,
    options: SimulatorOptions,
    client: Client,
    started: Instant,
    started_unix: i64,
    /// Connector → (station index, power kW, DC).
    connectors: HashMap<String, (usize, f64, bool)>,
    station_index: HashMap<String, usize>,
    state: Mutex<State>,
    pub counters: Counters,
    stop: watch::Receiver<bool>,
}

fn seed_of(seed: u64, id: &str) -> u64 {
    seed ^ id
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
}

impl Sim {
    /// The operator's id.
    pub fn operator_id(&self) -> &str {
        &self.op.operator_id
    }

    /// The current status code of a connector.
    pub fn status_of(&self, connector_id: &str) -> Option<i32> {
        self.lock().statuses.get(connector_id).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere must not stop the simulation: take the data as it is.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long this operator still refuses to answer, if it is in its hang window now.
    fn hanging(&self) -> Option<Duration> {
        let (from, length) = self.options.hang?;
        let elapsed = self.started.elapsed();
        (elapsed >= from && elapsed < from + length).then(|| from + length - elapsed)
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Pushes one message to the platform, maybe with a fault first (then resent correctly),
    /// retried up to three times on transport failure.
    async fn push<T: Serialize>(&self, interface: &str, body: &T, faulty_status: bool) {
        let fault = {
            let mut st = self.lock();
            if st.rng.chance(self.options.fault_share) {
                Some((
                    st.rng.below(if faulty_status { 3 } else { 2 }),
                    60 + st.rng.below(240),
                ))
            } else {
                None
            }
        };
        let mut defects = Defects::default();
        if let Some((kind, late)) = fault {
            self.counters
                .faults_injected
                .fetch_add(1, Ordering::Relaxed);
            match kind {
                0 => defects.backdate_seconds = i64::try_from(late).unwrap_or(60),
                1 => {
                    let bad = Defects {
                        corrupt_sig: true,
                        ..Defects::default()
                    };
                    self.send(interface, body, bad).await;
                }
                _ => {
                    // The same push with a status outside the enum.
                    let mut v = serde_json::to_value(body).unwrap_or_default();
                    v["ConnectorStatusInfo"]["Status"] = 9.into();
                    self.send(interface, &v, Defects::default()).await;
                }
            }
        }
        self.send(interface, body, defects).await;
    }

    async fn send<T: Serialize>(&self, interface: &str, body: &T, defects: Defects) {
        let mut pause = self.options.retry_pause;
        for _ in 0..3 {
            match self
                .client
                .call_with_defects(interface, body, defects)
                .await
            {
                Ok(_) => {
                    self.counters
                        .pushes_acknowledged
                        .fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(ClientError::Refused { ret, msg }) => {
                    // A refusal is an answer: not resent as it was.
                    tracing::debug!(operator_id = %self.op.operator_id, interface, ret, %msg, "simulator: push refused");
                    self.counters.pushes_refused.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(e) => {
                    tracing::warn!(operator_id = %self.op.operator_id, interface, error = %e, "simulator: push failed");
                    if self.stopped() {
                        break;
                    }
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
        self.counters.pushes_failed.fetch_add(1, Ordering::Relaxed);
    }

    async fn push_status(&self, connector_id: &str, status: i32) {
        let body = serde_json::json!({"ConnectorStatusInfo": ConnectorStatusInfo {
            connector_id: connector_id.to_owned(),
            status,
            park_status: Some(if status == 1 { 10 } else { 50 }),
            lock_status: Some(0),
        }});
        self.push("notification_stationStatus", &body, true).await;
    }

    /// Random status changes on connectors that are not charging for the platform.
    async fn change_statuses(&self) {
        let changes: Vec<(String, i32)> = {
            let mut st = self.lock();
            let ids: Vec<&String> = self.connectors.keys().collect();
            let mut out = Vec::new();
            for _ in 0..self.options.changes_per_round {
                if ids.is_empty() {
                    break;
                }
                let id = ids[usize::try_from(st.rng.below(ids.len() as u64)).unwrap_or(0)].clone();
                let busy = st
                    .charges
                    .values()
                    .any(|c| c.connector_id == id && c.state < 4);
                if busy {
                    continue;
                }
                let status = st.rng.status();
                st.statuses.insert(id.clone(), status);
                out.push((id, status));
            }
            out
        };
        for (id, status) in changes {
            self.push_status(&id, status).await;
        }
    }

    fn charge_status(&self, seq: &str, c: &Charge, now: i64) -> ChargeStatus {
        let policies = self.op.stations[c.station]
            .policy_infos
            .clone()
            .unwrap_or_default();
        let end = c.ended_at.unwrap_or(now);
        let details = tariff::itemize(c.started_at, end, c.energy, &policies);
        let (elec, service) = totals(&details);
        let voltage = if self.connectors.get(&c.connector_id).is_some_and(|x| x.2) {
            500.0
        } else {
            220.0
        };
        let charging = c.state == 2;
        ChargeStatus {
            start_charge_seq: seq.to_owned(),
            start_charge_seq_stat: c.state,
            connector_id: c.connector_id.clone(),
            connector_status: if charging { 3 } else { 2 },
            current_a: if charging {
                (c.power_kw * 1000.0 / voltage * 10.0).round() / 10.0
            } else {
                0.0
            },
            current_b: None,
            current_c: None,
            voltage_a: voltage,
            voltage_b: None,
            voltage_c: None,
            soc: c.soc.map(|s| (s * 10.0).round() / 10.0),
            start_time: china_datetime(c.started_at),
            end_time: china_datetime(end),
            total_power: c.energy.kwh(),
            elec_money: Some(elec.yuan()),
            sevice_money: Some(service.yuan()),
            total_money: Some(evgrid_model::Fen(elec.0 + service.0).yuan()),
            sum_period: Some(i32::try_from(details.len()).unwrap_or(0)),
            charge_details: Some(details),
        }
    }

    /// Runs one charge from start to order.
    async fn run_charge(self: Arc<Self>, seq: String) {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let Some((connector_id, started_at)) = ({
            let mut st = self.lock();
            st.charges.get_mut(&seq).map(|c| {
                c.state = 2;
                (c.connector_id.clone(), c.started_at)
            })
        }) else {
            return;
        };
        self.lock().statuses.insert(connector_id.clone(), 3);
        self.push(
            "notification_start_charge_result",
            &StartChargeNotice {
                start_charge_seq: seq.clone(),
                start_charge_seq_stat: 2,
                connector_id: connector_id.clone(),
                start_time: china_datetime(started_at),
                ident_code: None,
            },
            false,
        )
        .await;
        self.push_status(&connector_id, 3).await;
        let mut last = Instant::now();
        loop {
            tokio::time::sleep(self.options.sample_interval).await;
            let now = unix_now();
            let (status, done) = {
                let mut st = self.lock();
                let Some(c) = st.charges.get_mut(&seq) else {
                    return;
                };
                let dt = last.elapsed().as_secs_f64();
                last = Instant::now();
                // Energy in 10 Wh steps, as DetailPower carries it.
                let before = c.energy.0;
                c.exact_wh += (c.power_kw * 1000.0 * dt * self.options.speedup / 3600.0).max(0.0);
                c.energy = WattHours((c.exact_wh / 10.0).floor() as i64 * 10);
                let add = c.energy.0 - before;
                if let Some(soc) = c.soc.as_mut() {
                    *soc = (*soc + add as f64 / 60_000.0 * 100.0).min(100.0);
                }
                let full =
                    c.soc.is_some_and(|s| s >= 100.0) || (c.soc.is_none() && c.energy.0 >= 40_000);
                if full && !c.stop_requested {
                    c.stop_requested = true;
                    c.stop_reason = 2;
                }
                let done = c.stop_requested || self.stopped();
                if done {
                    c.state = 4;
                    c.ended_at = Some(now);
                }
                (self.charge_status(&seq, c, now), done)
            };
            if !done {
                self.push("notification_equip_charge_status", &status, false)
                    .await;
                continue;
            }
            self.push(
                "notification_stop_charge_result",
                &StopChargeNotice {
                    start_charge_seq: seq.clone(),
                    start_charge_seq_stat: 4,
                    connector_id: connector_id.clone(),
                    succ_stat: 0,
                    fail_reason: 0,
                },
                false,
            )
            .await;
            self.lock().statuses.insert(connector_id.clone(), 2);
            self.push_status(&connector_id, 2).await;
            let order = {
                let st = self.lock();
                st.charges.get(&seq).map(|c| {
                    let s = self.charge_status(&seq, c, now);
                    let details = s.charge_details.clone().unwrap_or_default();
                    let (elec, service) = totals(&details);
                    ChargeOrder {
                        start_charge_seq: seq.clone(),
                        connector_id: connector_id.clone(),
                        start_time: s.start_time,
                        end_time: s.end_time,
                        total_power: s.total_power,
                        total_elec_money: elec.yuan(),
                        total_sevice_money: service.yuan(),
                        total_money: evgrid_model::Fen(elec.0 + service.0).yuan(),
                        stop_reason: c.stop_reason,
                        sum_period: s.sum_period,
                        charge_details: Some(details),
                    }
                })
            };
            if let Some(order) = order {
                self.push("notification_charge_order_info", &order, false)
                    .await;
                self.counters.orders_sent.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
    }
}

/// Electricity and service money of itemized periods, in fen.
fn totals(
    details: &[evgrid_tcec::business::ChargeDetail],
) -> (evgrid_model::Fen, evgrid_model::Fen) {
    let fen = |y: f64| evgrid_model::Fen::from_yuan_f64(y).map_or(0, |f| f.0);
    (
        evgrid_model::Fen(details.iter().map(|d| fen(d.detail_elec_money)).sum()),
        evgrid_model::Fen(details.iter().map(|d| fen(d.detail_sevice_money)).sum()),
    )
}

impl Gate for Sim {
    async fn credentials(
        &self,
        id: &OperatorId,
    ) -> Result<Option<OperatorCredentials>, StorageError> {
        if id.as_str() != self.op.platform_operator_id {
            return Ok(None);
        }
        Ok(Some(crate::http::caller(
            id,
            &self.op.platform_secret,
            &self.op.data_secret,
            &self.op.data_secret_iv,
            &self.op.sig_secret,
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
        if let Some((token, expiry)) = st.tokens.iter().next() {
            let left = i64::try_from(expiry.duration_since(now).as_secs()).unwrap_or(0);
            if left > 0 {
                return Ok((token.clone(), left));
            }
        }
        let token = format!("{:016x}{:016x}", st.rng.next(), st.rng.next());
        st.tokens.insert(
            token.clone(),
            now + Duration::from_secs(life.unsigned_abs()),
        );
        Ok((token, life))
    }

    async fn token_owner(&self, token: &str) -> Result<Option<OperatorId>, StorageError> {
        let st = self.lock();
        let valid = st.tokens.get(token).is_some_and(|e| *e > Instant::now());
        Ok(if valid {
            OperatorId::new(&self.op.platform_operator_id).ok()
        } else {
            None
        })
    }
}

/// Starts one simulated operator: its T/CEC server on `listener` and its pushes to the
/// platform, until `stop` turns true.
pub async fn start(
    op: OperatorPlatform,
    listener: tokio::net::TcpListener,
    options: SimulatorOptions,
    stop: watch::Receiver<bool>,
) -> Result<Arc<Sim>, SimError> {
    let keys =
        evgrid_tcec::crypto::KeySet::new(&op.data_secret, &op.data_secret_iv, &op.sig_secret)
            .map_err(|e| SimError::Settings(e.to_string()))?;
    let client = Client::new(
        &options.platform_url,
        &op.operator_id,
        &op.operator_secret,
        keys,
    )
    .map_err(|e| SimError::Settings(e.to_string()))?
    .with_timeout(options.push_timeout);
    let mut rng = Rng(evgrid_model::rng::SplitMix64(seed_of(
        options.seed,
        &op.operator_id,
    )));
    let mut connectors = HashMap::new();
    let mut statuses = HashMap::new();
    let mut station_index = HashMap::new();
    for (i, s) in op.stations.iter().enumerate() {
        station_index.insert(s.station_id.clone(), i);
        for e in &s.equipment_infos {
            for c in &e.connector_infos {
                let dc = matches!(e.equipment_type, 1 | 3) && c.connector_type == 4;
                connectors.insert(c.connector_id.clone(), (i, c.power, dc));
                statuses.insert(c.connector_id.clone(), rng.status());
            }
        }
    }
    let sim = Arc::new(Sim {
        op,
        options,
        client,
        started: Instant::now(),
        started_unix: unix_now(),
        connectors,
        station_index,
        state: Mutex::new(State {
            statuses,
            charges: HashMap::new(),
            tokens: HashMap::new(),
            rng,
        }),
        counters: Counters::default(),
        stop,
    });
    tokio::spawn(http::serve(sim.clone(), listener));
    tokio::spawn(push_loop(sim.clone()));
    Ok(sim)
}

/// Pushes status changes with a jittered rhythm, pausing while the operator hangs.
async fn push_loop(sim: Arc<Sim>) {
    let mut stop = sim.stop.clone();
    let base_ms = u64::try_from(sim.options.interval.as_millis())
        .unwrap_or(1000)
        .max(1);
    loop {
        let jitter = sim.lock().rng.below(base_ms);
        // Jitter: 50% to 150% of the interval.
        let pause = Duration::from_millis(base_ms / 2 + jitter);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
        if sim.stopped() {
            return;
        }
        if sim.hanging().is_some() || sim.options.changes_per_round == 0 {
            continue;
        }
        sim.change_statuses().await;
    }
}
