//! Reporting upward: the city's stations, live statuses, running charges and orders pushed to
//! the superior supervision platforms (provincial, national) over T/CEC 102, each superior's
//! wishes in its profile (`evgrid_tcec::supervision::Profile`).
//!
//! Nothing lost, nothing doubled: the store queues a report in the transaction of the fact it
//! reports (its triggers fill each superior's outbox); a sender per superior delivers the
//! outbox — the payload built from the fact as it is when sent — and settles each item only on
//! the superior's acknowledgement under the profile's rule, retrying on its schedule otherwise.
//! A restart resumes from the outbox; ingest never waits for a superior. With several nodes,
//! each superior's sender runs on the one node holding its lease.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evgrid_model::superior::{
    Attempt, AttemptCount, BacklogRow, DisputedOrder, OutboxItem, ReportKind, ReportOutcome,
    Superior,
};
use evgrid_model::time::{china_day, china_second_of_day, unix_now};
use evgrid_model::{CoordSystem, OperatorCredentials, OperatorId, StationKey};
use evgrid_store::Store;
use evgrid_tcec::client::Client;
use evgrid_tcec::crypto::KeySet;
use evgrid_tcec::supervision::{self, Judged, Place, Profile, Report, Verdict};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::watch;

use crate::{AppError, Live, Network};

/// Items read from the outbox at a time.
const BATCH: i64 = 200;
/// How often an idle sender looks at its outbox.
const IDLE_LOOK: Duration = Duration::from_millis(250);
/// Seconds a sender's lease lasts (renewed every turn).
const LEASE_SECONDS: i64 = 15;
/// Settled outbox items are kept this long (the figures and lags read them), milliseconds.
const KEEP_SETTLED_MS: i64 = 2 * 86_400_000;
/// How often a sender looks for running charges, seconds (a new one's first sample goes
/// within this).
const RUNNING_LOOK_SECONDS: i64 = 5;
/// How long a status waits for its station to reach the superior before it is tried again,
/// milliseconds.
const WAIT_FOR_STATION_MS: i64 = 2_000;
/// A charge not heard of for this long is not reported as running.
const RUNNING_WITHIN_SECONDS: i64 = 600;

/// What a superior is to be told, as a person gives it.
#[derive(Debug, Clone)]
pub struct SuperiorSettings {
    pub id: String,
    pub name: String,
    pub base_url: String,
    pub platform_operator_id: String,
    pub operator_secret: String,
    pub data_secret: String,
    pub data_secret_iv: String,
    pub sig_secret: String,
    pub profile: Profile,
}

/// A superior as people see it (no secrets).
#[derive(Debug, Clone, Serialize)]
pub struct SuperiorView {
    pub id: String,
    pub name: String,
    pub base_url: String,
    pub platform_operator_id: String,
    pub profile: Profile,
    pub created_at: i64,
}

/// How reporting to one superior stands.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryReport {
    pub superior: SuperiorView,
    /// Attempts by interface and `Ret` (`ret` null: no answer), delivered or not.
    pub attempts: Vec<AttemptCount>,
    /// The outbox by kind: pending, given up (flagged), delivered (of the last two days).
    pub backlog: Vec<BacklogRow>,
    pub pending: i64,
    pub given_up: i64,
    /// Age of the oldest pending item, seconds.
    pub oldest_pending_seconds: Option<f64>,
    /// The last delivered attempt, seconds since 1970.
    pub last_success_at: Option<i64>,
    /// Delivery lag from the fact's commit to the superior's acknowledgement, over the latest
    /// delivered items.
    pub lag_samples: usize,
    pub lag_p50_ms: Option<i64>,
    pub lag_p99_ms: Option<i64>,
    /// Orders the superior disputed in its daily checks, newest first.
    pub disputes: Vec<DisputedOrder>,
    /// Whether this node sends to it now, and the last error it met (this node only).
    pub sending_here: bool,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct SenderState {
    sending_here: bool,
    last_error: Option<String>,
}

/// The superiors and their senders.
#[derive(Debug)]
pub struct Superiors {
    store: Store,
    network: Arc<Network>,
    live: Arc<Live>,
    senders: Mutex<HashMap<String, SenderState>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn check_id(id: &str) -> Result<(), AppError> {
    if id.is_empty()
        || id.len() > 32
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(AppError::Invalid(format!(
            "superior id {id:?} must be 1 to 32 letters, digits, - or _"
        )));
    }
    Ok(())
}

/// The `q`-quantile of sorted values (nearest rank).
fn quantile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

impl Superiors {
    pub(crate) fn new(store: Store, network: Arc<Network>, live: Arc<Live>) -> Self {
        Self {
            store,
            network,
            live,
            senders: Mutex::default(),
        }
    }

    fn set_state(&self, id: &str, update: impl FnOnce(&mut SenderState)) {
        let mut senders = self
            .senders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        update(senders.entry(id.to_owned()).or_default());
    }

    fn state(&self, id: &str) -> SenderState {
        self.senders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    /// Adds a superior (its first full report queued: every station and status) or replaces
    /// its settings; whether it is new. Every setting is checked first; the secrets are
    /// sealed before they are stored.
    pub async fn put(&self, s: &SuperiorSettings) -> Result<bool, AppError> {
        check_id(&s.id)?;
        if s.name.trim().is_empty() || s.name.chars().count() > 100 {
            return Err(AppError::Invalid("the name is 1 to 100 characters".into()));
        }
        s.profile
            .check()
            .map_err(|e| AppError::Invalid(format!("profile: {e}")))?;
        let credentials = OperatorCredentials {
            operator_id: OperatorId::new(&s.platform_operator_id)
                .map_err(|e| AppError::Invalid(format!("platform OperatorID: {e}")))?,
            operator_secret: s.operator_secret.clone(),
            data_secret: s.data_secret.clone(),
            data_secret_iv: s.data_secret_iv.clone(),
            sig_secret: s.sig_secret.clone(),
            base_url: Some(s.base_url.clone()),
            coords: CoordSystem::Gcj02,
            platform_secret: None,
            stale_after_seconds: None,
        };
        evgrid_tcec::credentials::check(&credentials)
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        client_of(s).map_err(AppError::Invalid)?;
        let existing = self.store.superiors().await?;
        let created_at = existing
            .iter()
            .find(|e| e.id == s.id)
            .map_or_else(unix_now, |e| e.created_at);
        let stored = Superior {
            id: s.id.clone(),
            name: s.name.trim().to_owned(),
            base_url: s.base_url.clone(),
            platform_operator_id: s.platform_operator_id.clone(),
            operator_secret: self.live.seal(&s.operator_secret),
            data_secret: self.live.seal(&s.data_secret),
            data_secret_iv: self.live.seal(&s.data_secret_iv),
            sig_secret: self.live.seal(&s.sig_secret),
            profile: s.profile.to_json(),
            created_at,
        };
        Ok(self.store.put_superior(&stored).await?)
    }

    /// Every superior with its secrets opened.
    async fn all_settings(&self) -> Result<Vec<SuperiorSettings>, AppError> {
        let mut out = Vec::new();
        for s in self.store.superiors().await? {
            out.push(self.opened(s)?);
        }
        Ok(out)
    }

    fn opened(&self, s: Superior) -> Result<SuperiorSettings, AppError> {
        let profile = Profile::from_json(&s.profile)
            .map_err(|e| AppError::Invalid(format!("superior {}: stored profile: {e}", s.id)))?;
        Ok(SuperiorSettings {
            operator_secret: self.live.unseal(&s.operator_secret)?,
            data_secret: self.live.unseal(&s.data_secret)?,
            data_secret_iv: self.live.unseal(&s.data_secret_iv)?,
            sig_secret: self.live.unseal(&s.sig_secret)?,
            id: s.id,
            name: s.name,
            base_url: s.base_url,
            platform_operator_id: s.platform_operator_id,
            profile,
        })
    }

    /// One superior's settings with its secrets opened.
    pub async fn settings(&self, id: &str) -> Result<Option<SuperiorSettings>, AppError> {
        Ok(self.all_settings().await?.into_iter().find(|s| s.id == id))
    }

    /// Seals every superior's secrets again with the current key (after a key rotation: they
    /// open with the old one too); how many superiors. Everything is opened before anything
    /// is written.
    pub async fn reseal_all(&self) -> Result<usize, AppError> {
        let all = self.all_settings().await?;
        for s in &all {
            self.put(s).await?;
        }
        Ok(all.len())
    }

    /// Every superior as people see it.
    pub async fn list(&self) -> Result<Vec<SuperiorView>, AppError> {
        let mut out = Vec::new();
        for s in self.store.superiors().await? {
            out.push(view_of(&s)?);
        }
        Ok(out)
    }

    /// Removes a superior, its outbox and figures; whether there was one.
    pub async fn remove(&self, id: &str) -> Result<bool, AppError> {
        Ok(self.store.remove_superior(id).await?)
    }

    /// Queues a full report again (every station and every status), e.g. after the superior
    /// lost its data; how many items were queued.
    pub async fn resend_everything(&self, id: &str) -> Result<u64, AppError> {
        let mut n = 0;
        for kind in [ReportKind::Station, ReportKind::Status] {
            n += self.store.queue_everything(id, kind).await?;
        }
        Ok(n)
    }

    /// How reporting to a superior stands; `None` for an unknown id.
    pub async fn delivery(&self, id: &str) -> Result<Option<DeliveryReport>, AppError> {
        let Some(stored) = self
            .store
            .superiors()
            .await?
            .into_iter()
            .find(|s| s.id == id)
        else {
            return Ok(None);
        };
        let figures = self.store.delivery(id, 2_000).await?;
        let mut lags = figures.recent_lags_ms.clone();
        lags.sort_unstable();
        let now = now_ms();
        let state = self.state(id);
        Ok(Some(DeliveryReport {
            superior: view_of(&stored)?,
            pending: figures.backlog.iter().map(|b| b.pending).sum(),
            given_up: figures.backlog.iter().map(|b| b.given_up).sum(),
            oldest_pending_seconds: figures
                .backlog
                .iter()
                .filter_map(|b| b.oldest_pending_ms)
                .min()
                .map(|ms| (now - ms).max(0) as f64 / 1000.0),
            last_success_at: figures.last_success_ms.map(|ms| ms / 1000),
            lag_samples: lags.len(),
            lag_p50_ms: quantile(&lags, 0.5),
            lag_p99_ms: quantile(&lags, 0.99),
            attempts: figures.attempts,
            backlog: figures.backlog,
            disputes: self.store.disputes(id, 100).await?,
            sending_here: state.sending_here,
            last_error: state.last_error,
        }))
    }

    /// Runs a sender for every superior until `stop` turns true; superiors added later are
    /// picked up, removed ones stop.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut running: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
        let mut last_prune = 0i64;
        loop {
            running.retain(|_, h| !h.is_finished());
            match self.store.superiors().await {
                Ok(all) => {
                    for s in all {
                        let id = s.id;
                        running.entry(id.clone()).or_insert_with(|| {
                            tokio::spawn(self.clone().send_to(id, stop.clone()))
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "superiors: cannot read the superiors"),
            }
            if unix_now() - last_prune > 3600 {
                last_prune = unix_now();
                match self.store.prune_outbox(now_ms() - KEEP_SETTLED_MS).await {
                    Ok(n) if n > 0 => {
                        tracing::info!(items = n, "superiors: settled outbox items pruned")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "superiors: pruning the outbox"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                for (_, h) in running {
                    h.abort();
                }
                return;
            }
        }
    }

    /// The sender of one superior: its outbox delivered, its periodic reports made.
    async fn send_to(self: Arc<Self>, id: String, mut stop: watch::Receiver<bool>) {
        let mut current: Option<(SuperiorSettings, Arc<Client>)> = None;
        let mut places = Places::default();
        let mut next_refresh: Option<i64> = None;
        let mut next_running_look = 0i64;
        let mut next_power = 0i64;
        // The connectors of the last power report: reported at 0 once they stop.
        let mut powered: Vec<supervision::ConnectorPower> = Vec::new();
        // When this node last renewed the sender's lease (several nodes).
        let mut lease_renewed_at: Option<i64> = None;
        // Each running charge's last sample: the first goes at once, the next a period later.
        let mut sampled: HashMap<(String, String), i64> = HashMap::new();
        loop {
            if *stop.borrow() {
                return;
            }
            let settings = match self.settings(&id).await {
                Ok(Some(s)) => s,
                Ok(None) => {
                    tracing::info!(superior_id = %id, "superior removed; its sender stops");
                    self.set_state(&id, |s| s.sending_here = false);
                    return;
                }
                Err(e) => {
                    self.set_state(&id, |s| s.last_error = Some(e.to_string()));
                    pause(&mut stop, Duration::from_secs(5)).await;
                    continue;
                }
            };
            if current
                .as_ref()
                .is_none_or(|(c, _)| !same_settings(c, &settings))
            {
                match client_of(&settings) {
                    Ok(client) => current = Some((settings.clone(), Arc::new(client))),
                    Err(e) => {
                        self.set_state(&id, |s| s.last_error = Some(e));
                        pause(&mut stop, Duration::from_secs(5)).await;
                        continue;
                    }
                }
            }
            let Some((settings, client)) = current.clone() else {
                continue;
            };
            if !self.hold_turn(&id, &mut lease_renewed_at).await {
                self.set_state(&id, |s| s.sending_here = false);
                pause(&mut stop, Duration::from_secs(2)).await;
                continue;
            }
            self.set_state(&id, |s| s.sending_here = true);
            let now = unix_now();
            let profile = &settings.profile;
            // The periodic full refresh of statuses.
            if let Some(every) = profile.periods.status_refresh_seconds {
                let every = i64::try_from(every).unwrap_or(i64::MAX);
                match next_refresh {
                    None => next_refresh = Some(now + every),
                    Some(at) if now >= at => {
                        if let Err(e) = self.store.queue_everything(&id, ReportKind::Status).await {
                            tracing::warn!(superior_id = %id, error = %e, "queueing the status refresh");
                        }
                        next_refresh = Some(now + every);
                    }
                    Some(_) => {}
                }
            }
            // Yesterday's order check, once, within the profile's hours.
            if profile.wire_name(Report::CheckOrders).is_some() {
                let hour = china_second_of_day(now) / 3600;
                if (profile.periods.check_orders_from_hour..profile.periods.check_orders_to_hour)
                    .contains(&hour)
                {
                    let yesterday = china_day(now - i64::from(china_second_of_day(now)) - 1);
                    if let Err(e) = self
                        .store
                        .queue_once(&id, ReportKind::OrderCheck, "", &yesterday, now_ms())
                        .await
                    {
                        tracing::warn!(superior_id = %id, error = %e, "queueing the order check");
                    }
                }
            }
            // Running charges: the first sample at once, then at the profile's period.
            if profile.wire_name(Report::ChargeStatus).is_some() && now >= next_running_look {
                next_running_look = now + RUNNING_LOOK_SECONDS;
                self.report_running_charges(&settings, &client, &mut places, &mut sampled)
                    .await;
            }
            // Real-time power, where the superior takes it.
            if profile.wire_name(Report::RealtimePower).is_some() && now >= next_power {
                next_power = now + i64::try_from(profile.periods.power_seconds).unwrap_or(900);
                self.report_power(&settings, &client, &mut places, &mut powered)
                    .await;
            }
            // The outbox.
            let due = match self.store.due_reports(&id, now_ms(), BATCH).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(superior_id = %id, error = %e, "reading the outbox");
                    pause(&mut stop, Duration::from_secs(1)).await;
                    continue;
                }
            };
            if due.is_empty() {
                pause(&mut stop, IDLE_LOOK).await;
                continue;
            }
            // Stations first in a batch: their connectors' places come from them.
            for item in due.iter().filter(|i| i.kind == ReportKind::Station) {
                places.forget_station(&item.operator_id, &item.key);
            }
            let in_flight = profile.in_flight.max(1);
            let this = &self;
            let settings_ref = &settings;
            let client_ref = &client;
            let places_ref = &places;
            let results: Vec<(OutboxItem, Sent)> = futures_util::stream::iter(due)
                .map(|item| async move {
                    let sent = this
                        .deliver(settings_ref, client_ref, places_ref, &item)
                        .await;
                    (item, sent)
                })
                .buffer_unordered(in_flight)
                .collect()
                .await;
            for (item, sent) in results {
                places.learn(sent.places);
                self.settle(&settings, &item, sent.outcome).await;
            }
        }
    }

    /// Takes this superior's sender lease where several nodes share the database.
    /// Renewed every few seconds, not every turn: the lease outlives three renewals.
    async fn hold_turn(&self, id: &str, renewed_at: &mut Option<i64>) -> bool {
        let Some(node) = self.live.node() else {
            // One node, or not joined yet: a node that should join waits for it.
            return !self.store.carries_signals();
        };
        let now = unix_now();
        if renewed_at.is_some_and(|at| now - at < LEASE_SECONDS / 3) {
            return true;
        }
        match self
            .store
            .hold_lease(&format!("superior:{id}"), &node, now, LEASE_SECONDS)
            .await
        {
            Ok(true) => {
                *renewed_at = Some(now);
                true
            }
            Ok(false) => {
                *renewed_at = None;
                false
            }
            Err(e) => {
                tracing::warn!(superior_id = %id, error = %e, "taking the sender's lease");
                *renewed_at = None;
                false
            }
        }
    }

    async fn settle(&self, settings: &SuperiorSettings, item: &OutboxItem, outcome: Outcome) {
        let now = now_ms();
        let (settled, attempt, digest) = match outcome {
            Outcome::Unchanged => (ReportOutcome::Delivered { unchanged: true }, None, None),
            Outcome::NotTaken => (ReportOutcome::Delivered { unchanged: true }, None, None),
            Outcome::WaitForStation => (
                ReportOutcome::Postpone(now + WAIT_FOR_STATION_MS),
                None,
                None,
            ),
            Outcome::Sent {
                interface,
                judged,
                digest,
            } => {
                let delivered = judged.verdict == Verdict::Delivered;
                let attempt = Attempt {
                    interface,
                    ret: judged.ret,
                    delivered,
                    at_ms: now,
                };
                let settled = match &judged.verdict {
                    Verdict::Delivered => ReportOutcome::Delivered { unchanged: false },
                    Verdict::Refused(why) => {
                        tracing::warn!(superior_id = %settings.id, kind = item.kind.as_str(),
                            operator_id = %item.operator_id, key = %item.key, %why,
                            "the superior refused a report; a retry cannot help: flagged");
                        self.set_state(&settings.id, |s| s.last_error = Some(why.clone()));
                        ReportOutcome::GivenUp
                    }
                    Verdict::Retry(why) => {
                        let failures = u32::try_from(item.attempts + 1).unwrap_or(u32::MAX);
                        self.set_state(&settings.id, |s| s.last_error = Some(why.clone()));
                        match settings.profile.retry_after(failures) {
                            Some(wait) => {
                                tracing::info!(superior_id = %settings.id, kind = item.kind.as_str(),
                                    key = %item.key, %why, retry_in_s = wait, "report not delivered");
                                ReportOutcome::RetryAt(
                                    now + i64::try_from(wait).unwrap_or(3600) * 1000,
                                )
                            }
                            None => {
                                tracing::warn!(superior_id = %settings.id, kind = item.kind.as_str(),
                                    key = %item.key, %why, "report not delivered after the last retry: flagged");
                                ReportOutcome::GivenUp
                            }
                        }
                    }
                };
                if !judged.disputes.is_empty() {
                    tracing::info!(superior_id = %settings.id, disputed = judged.disputes.len(), "orders disputed by the superior");
                }
                (settled, Some(attempt), digest.filter(|_| delivered))
            }
            Outcome::Failed(why) => {
                // evgrid could not build the report (the store failed): try again soon.
                tracing::warn!(superior_id = %settings.id, key = %item.key, %why, "building a report");
                (ReportOutcome::RetryAt(now + 5_000), None, None)
            }
        };
        if let Err(e) = self
            .store
            .settle_report(item, &settled, attempt.as_ref(), digest.as_deref(), now)
            .await
        {
            tracing::warn!(superior_id = %settings.id, error = %e, "settling a report");
        }
    }

    /// Builds and sends one outbox item.
    async fn deliver(
        &self,
        settings: &SuperiorSettings,
        client: &Client,
        places: &Places,
        item: &OutboxItem,
    ) -> Sent {
        match self
            .build_and_send(settings, client, places, item, check_number_of(item))
            .await
        {
            Ok(sent) => sent,
            Err(e) => Sent {
                outcome: Outcome::Failed(e.to_string()),
                places: Vec::new(),
            },
        }
    }

    async fn build_and_send(
        &self,
        settings: &SuperiorSettings,
        client: &Client,
        places: &Places,
        item: &OutboxItem,
        check_number: u32,
    ) -> Result<Sent, AppError> {
        let profile = &settings.profile;
        let report = Report::of_kind(item.kind);
        let Some(interface) = profile.wire_name(report).map(str::to_owned) else {
            return Ok(Sent::not_taken());
        };
        let mut learned = Vec::new();
        let mut digest = None;
        let mut listed = Vec::new();
        let body = match item.kind {
            ReportKind::Station => {
                let Some(key) = station_key(&item.operator_id, &item.key) else {
                    return Ok(Sent::not_taken());
                };
                let Some(record) = self.network.station(&key).await? else {
                    return Ok(Sent::not_taken());
                };
                learned = Places::of_station(&record);
                if !profile.scope.takes(
                    &item.operator_id,
                    record.summary.category.as_str(),
                    record.summary.county_code.as_deref(),
                ) {
                    return Ok(Sent::not_taken_learning(learned));
                }
                let body = supervision::station_report(
                    profile,
                    &record.station,
                    record.summary.township_code.as_deref(),
                );
                let text = body.to_string();
                let d = crate::hex(&sha_like(&text));
                if self
                    .store
                    .report_digest(&settings.id, item.kind, &item.operator_id, &item.key)
                    .await?
                    .as_deref()
                    == Some(d.as_str())
                {
                    return Ok(Sent {
                        outcome: Outcome::Unchanged,
                        places: learned,
                    });
                }
                digest = Some(d);
                body
            }
            ReportKind::Status => {
                let Some((place, found)) =
                    self.place_of(places, &item.operator_id, &item.key).await?
                else {
                    return Ok(Sent::not_taken());
                };
                learned = found;
                if !place.in_scope(&profile.scope) {
                    return Ok(Sent::not_taken_learning(learned));
                }
                let Some(key) = station_key(&item.operator_id, &place.station_id) else {
                    return Ok(Sent::not_taken());
                };
                if !self
                    .station_reported(settings, places, &item.operator_id, &place.station_id)
                    .await?
                {
                    return Ok(Sent {
                        outcome: Outcome::WaitForStation,
                        places: learned,
                    });
                }
                let statuses = self.network.station_statuses(&key).await?;
                let Some(status) = statuses.iter().find(|s| s.connector_id == item.key) else {
                    return Ok(Sent::not_taken());
                };
                supervision::status_report(profile, status, &place)
            }
            ReportKind::Order => {
                let operator = OperatorId::new(&item.operator_id)
                    .map_err(|e| AppError::Invalid(e.to_string()))?;
                let Some(session) = self.store.charging_session(&operator, &item.key).await? else {
                    return Ok(Sent::not_taken());
                };
                let (place, found) = self
                    .place_of(places, &item.operator_id, &session.connector_id)
                    .await?
                    .unwrap_or_default();
                learned = found;
                if !place.in_scope(&profile.scope) {
                    return Ok(Sent::not_taken_learning(learned));
                }
                supervision::order_report(profile, &settings.platform_operator_id, &session, &place)
            }
            ReportKind::StartResult | ReportKind::StopResult => {
                let Some(charge) = self.store.charge(&item.key).await? else {
                    return Ok(Sent::not_taken());
                };
                let (place, found) = self
                    .place_of(places, &charge.operator_id, &charge.connector_id)
                    .await?
                    .unwrap_or_default();
                learned = found;
                if !place.in_scope(&profile.scope) {
                    return Ok(Sent::not_taken_learning(learned));
                }
                let operator = OperatorId::new(&charge.operator_id)
                    .map_err(|e| AppError::Invalid(e.to_string()))?;
                let session = self
                    .store
                    .charging_session(&operator, &charge.session_ref)
                    .await?;
                if item.kind == ReportKind::StartResult {
                    supervision::start_result_report(
                        &settings.platform_operator_id,
                        &charge,
                        session.as_ref(),
                    )
                } else {
                    supervision::stop_result_report(
                        &settings.platform_operator_id,
                        &charge,
                        session.as_ref(),
                    )
                }
            }
            ReportKind::OrderCheck => {
                let Some(from) = evgrid_tcec::time::parse_china_date(&item.key) else {
                    return Ok(Sent::not_taken());
                };
                let sessions = self.store.orders_ended_between(from, from + 86_400).await?;
                let (body, orders) = supervision::check_report(
                    &settings.platform_operator_id,
                    from,
                    from + 86_400,
                    &sessions,
                    check_number,
                );
                listed = orders;
                body
            }
        };
        let result = client.call(&interface, &body).await;
        let judged = supervision::judge(profile, report, &result);
        if !judged.disputes.is_empty() {
            let at_ms = now_ms();
            let disputes: Vec<DisputedOrder> = judged
                .disputes
                .iter()
                .map(|(superior_ref, reason)| {
                    let ours = listed.iter().find(|o| &o.superior_ref == superior_ref);
                    DisputedOrder {
                        day: item.key.clone(),
                        operator_id: ours.map(|o| o.operator_id.clone()).unwrap_or_default(),
                        session_ref: ours.map(|o| o.session_ref.clone()).unwrap_or_default(),
                        superior_ref: superior_ref.clone(),
                        reason: *reason,
                        at_ms,
                    }
                })
                .collect();
            self.store.record_disputes(&settings.id, &disputes).await?;
        }
        Ok(Sent {
            outcome: Outcome::Sent {
                interface,
                judged,
                digest,
            },
            places: learned,
        })
    }

    /// Whether a station reached the superior (its digest is kept once delivered), so that
    /// its connectors' statuses may follow.
    async fn station_reported(
        &self,
        settings: &SuperiorSettings,
        places: &Places,
        operator_id: &str,
        station_id: &str,
    ) -> Result<bool, AppError> {
        if settings.profile.wire_name(Report::StationInfo).is_none()
            || places.reported(operator_id, station_id)
        {
            return Ok(true);
        }
        let reported = self
            .store
            .report_digest(&settings.id, ReportKind::Station, operator_id, station_id)
            .await?
            .is_some();
        if reported {
            places.mark_reported(operator_id, station_id);
        }
        Ok(reported)
    }

    /// Where a connector is: from what the sender learned, else from its station.
    async fn place_of(
        &self,
        places: &Places,
        operator_id: &str,
        connector_id: &str,
    ) -> Result<Option<(Place, Vec<((String, String), Place)>)>, AppError> {
        if let Some(p) = places.get(operator_id, connector_id) {
            return Ok(Some((p.clone(), Vec::new())));
        }
        let Some(charge_place) = self.store.charge_place(operator_id, connector_id).await? else {
            return Ok(None);
        };
        let Ok(key) = StationKey::parse(&charge_place.station_id) else {
            return Ok(None);
        };
        let Some(record) = self.network.station(&key).await? else {
            return Ok(None);
        };
        let found = Places::of_station(&record);
        let place = found
            .iter()
            .find(|((op, c), _)| op == operator_id && c == connector_id)
            .map(|(_, p)| p.clone());
        Ok(place.map(|p| (p, found)))
    }

    /// Sends the power of every connector delivering energy (and 0 for those of the last
    /// report that stopped) in one call, and counts the attempt. evgrid keeps no instantaneous
    /// power: a charge's power is its energy so far over its time so far, at most the
    /// connector's rated power.
    async fn report_power(
        &self,
        settings: &SuperiorSettings,
        client: &Client,
        places: &mut Places,
        powered: &mut Vec<supervision::ConnectorPower>,
    ) {
        let Some(interface) = settings.profile.wire_name(Report::RealtimePower) else {
            return;
        };
        let now = unix_now();
        let sessions = match self
            .store
            .running_sessions(now - RUNNING_WITHIN_SECONDS)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(superior_id = %settings.id, error = %e, "reading the running charges");
                return;
            }
        };
        let mut current = Vec::new();
        for session in sessions
            .iter()
            .filter(|s| s.state == evgrid_model::SessionState::Charging)
        {
            let Ok(Some((place, found))) = self
                .place_of(places, &session.operator_id, &session.connector_id)
                .await
            else {
                continue;
            };
            places.learn(found);
            if !place.in_scope(&settings.profile.scope) {
                continue;
            }
            let seconds = session
                .started_at
                .map_or(0, |start| session.updated_at - start);
            let wh = session.energy.map_or(0, |e| e.0);
            let kw = if seconds > 0 {
                (wh as f64 * 3.6 / seconds as f64).min(place.connector_power_w as f64 / 1000.0)
            } else {
                0.0
            };
            current.push(supervision::ConnectorPower {
                place,
                connector_id: session.connector_id.clone(),
                kw: kw.max(0.0),
            });
        }
        let mut report = current.clone();
        for before in powered.iter() {
            let still = current.iter().any(|c| {
                c.place.operator_id == before.place.operator_id
                    && c.connector_id == before.connector_id
            });
            if !still {
                report.push(supervision::ConnectorPower {
                    kw: 0.0,
                    ..before.clone()
                });
            }
        }
        *powered = current;
        if report.is_empty() {
            return;
        }
        let body = supervision::power_report(&report, now);
        let result = client.call(interface, &body).await;
        let judged = supervision::judge(&settings.profile, Report::RealtimePower, &result);
        let attempt = Attempt {
            interface: interface.to_owned(),
            ret: judged.ret,
            delivered: judged.verdict == Verdict::Delivered,
            at_ms: now_ms(),
        };
        if let Err(e) = self.store.count_attempt(&settings.id, &attempt).await {
            tracing::warn!(superior_id = %settings.id, error = %e, "counting an attempt");
        }
    }

    /// Sends the status of every running charge (one call each) and counts the attempts.
    async fn report_running_charges(
        &self,
        settings: &SuperiorSettings,
        client: &Client,
        places: &mut Places,
        sampled: &mut HashMap<(String, String), i64>,
    ) {
        let Some(interface) = settings.profile.wire_name(Report::ChargeStatus) else {
            return;
        };
        let now = unix_now();
        let period = i64::try_from(settings.profile.periods.charge_status_seconds).unwrap_or(50);
        let sessions = match self
            .store
            .running_sessions(now - RUNNING_WITHIN_SECONDS)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(superior_id = %settings.id, error = %e, "reading the running charges");
                return;
            }
        };
        sampled.retain(|key, _| {
            sessions
                .iter()
                .any(|s| s.operator_id == key.0 && s.session_ref == key.1)
        });
        for session in sessions {
            let key = (session.operator_id.clone(), session.session_ref.clone());
            if sampled.get(&key).is_some_and(|at| now - at < period) {
                continue;
            }
            sampled.insert(key, now);
            let place = match self
                .place_of(places, &session.operator_id, &session.connector_id)
                .await
            {
                Ok(Some((p, found))) => {
                    places.learn(found);
                    p
                }
                _ => continue,
            };
            if !place.in_scope(&settings.profile.scope) {
                continue;
            }
            let body = supervision::charge_status_report(
                &settings.profile,
                &settings.platform_operator_id,
                &session,
                &place,
                now,
            );
            let result = client.call(interface, &body).await;
            let judged = supervision::judge(&settings.profile, Report::ChargeStatus, &result);
            let attempt = Attempt {
                interface: interface.to_owned(),
                ret: judged.ret,
                delivered: judged.verdict == Verdict::Delivered,
                at_ms: now_ms(),
            };
            if let Verdict::Retry(why) | Verdict::Refused(why) = &judged.verdict {
                tracing::info!(superior_id = %settings.id, session = %session.session_ref, %why, "charge status not delivered (the next sample follows)");
            }
            if let Err(e) = self.store.count_attempt(&settings.id, &attempt).await {
                tracing::warn!(superior_id = %settings.id, error = %e, "counting an attempt");
            }
        }
    }
}

/// The serial part of a check's `CheckOrderSeq`: from the item, so a retry of the same check
/// keeps its number.
fn check_number_of(item: &OutboxItem) -> u32 {
    u32::try_from(item.id.rem_euclid(10_000)).unwrap_or(0)
}

fn station_key(operator_id: &str, station_id: &str) -> Option<StationKey> {
    StationKey::new(OperatorId::new(operator_id).ok()?, station_id).ok()
}

/// A digest of a payload (FNV-1a, 128 bits as two 64-bit halves): to tell an unchanged
/// station from a changed one; not a security measure.
fn sha_like(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    for offset in [0xcbf2_9ce4_8422_2325_u64, 0x6c62_272e_07bb_0142] {
        let mut h = offset;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.extend_from_slice(&h.to_be_bytes());
    }
    out
}

async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
}

fn same_settings(a: &SuperiorSettings, b: &SuperiorSettings) -> bool {
    a.base_url == b.base_url
        && a.platform_operator_id == b.platform_operator_id
        && a.operator_secret == b.operator_secret
        && a.data_secret == b.data_secret
        && a.data_secret_iv == b.data_secret_iv
        && a.sig_secret == b.sig_secret
        && a.profile == b.profile
}

fn client_of(s: &SuperiorSettings) -> Result<Client, String> {
    let keys =
        KeySet::new(&s.data_secret, &s.data_secret_iv, &s.sig_secret).map_err(|e| e.to_string())?;
    Ok(Client::new(
        &s.base_url,
        &s.platform_operator_id,
        &s.operator_secret,
        keys,
    )
    .map_err(|e| e.to_string())?
    .with_timeout(Duration::from_secs(s.profile.timeout_seconds)))
}

fn view_of(s: &Superior) -> Result<SuperiorView, AppError> {
    Ok(SuperiorView {
        id: s.id.clone(),
        name: s.name.clone(),
        base_url: s.base_url.clone(),
        platform_operator_id: s.platform_operator_id.clone(),
        profile: Profile::from_json(&s.profile)
            .map_err(|e| AppError::Invalid(format!("superior {}: stored profile: {e}", s.id)))?,
        created_at: s.created_at,
    })
}

/// What became of building and sending one item.
enum Outcome {
    /// Sent; judged.
    Sent {
        interface: String,
        judged: Judged,
        digest: Option<String>,
    },
    /// Nothing new to say (a station as delivered before).
    Unchanged,
    /// The superior does not take this report, or the fact is gone.
    NotTaken,
    /// A status whose station has not reached the superior yet.
    WaitForStation,
    /// evgrid could not build it.
    Failed(String),
}

struct Sent {
    outcome: Outcome,
    places: Vec<((String, String), Place)>,
}

impl Sent {
    fn not_taken() -> Self {
        Self::not_taken_learning(Vec::new())
    }

    /// Not for this superior (out of its scope), with the places learned on the way.
    fn not_taken_learning(places: Vec<((String, String), Place)>) -> Self {
        Self {
            outcome: Outcome::NotTaken,
            places,
        }
    }
}

/// Where connectors are (operator, connector → place), learned from station records, and
/// which stations are known to have reached the superior.
#[derive(Default)]
struct Places(
    HashMap<(String, String), Place>,
    Mutex<std::collections::HashSet<(String, String)>>,
);

/// Most places kept; beyond it the map starts again.
const MAX_PLACES: usize = 500_000;

impl Places {
    fn get(&self, operator_id: &str, connector_id: &str) -> Option<&Place> {
        self.0
            .get(&(operator_id.to_owned(), connector_id.to_owned()))
    }

    fn learn(&mut self, found: Vec<((String, String), Place)>) {
        if self.0.len() + found.len() > MAX_PLACES {
            self.0.clear();
        }
        self.0.extend(found);
    }

    fn reported(&self, operator_id: &str, station_id: &str) -> bool {
        self.1
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&(operator_id.to_owned(), station_id.to_owned()))
    }

    fn mark_reported(&self, operator_id: &str, station_id: &str) {
        let mut set = self
            .1
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if set.len() >= MAX_PLACES {
            set.clear();
        }
        set.insert((operator_id.to_owned(), station_id.to_owned()));
    }

    fn forget_station(&mut self, operator_id: &str, station_id: &str) {
        self.0
            .retain(|(op, _), p| !(op == operator_id && p.station_id == station_id));
    }

    fn of_station(record: &evgrid_model::StationRecord) -> Vec<((String, String), Place)> {
        let s = &record.station;
        let mut out = Vec::new();
        for e in &s.equipment {
            for c in &e.connectors {
                out.push((
                    (s.operator_id.to_string(), c.id.clone()),
                    Place {
                        operator_id: s.operator_id.to_string(),
                        station_id: s.id.clone(),
                        equipment_id: e.id.clone(),
                        equipment_owner_id: s.equipment_owner_id.clone(),
                        connector_power_w: i64::from(c.power.0),
                        category: record.summary.category.as_str().to_owned(),
                        county_code: record.summary.county_code.clone(),
                    },
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), Some(50));
        assert_eq!(quantile(&v, 0.99), Some(99));
        assert_eq!(quantile(&[7], 0.99), Some(7));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn superior_ids_are_checked() {
        assert!(check_id("js-province_1").is_ok());
        assert!(check_id("").is_err());
        assert!(check_id("a b").is_err());
        assert!(check_id(&"x".repeat(33)).is_err());
    }
}
