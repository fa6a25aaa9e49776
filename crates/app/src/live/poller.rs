//! Pulling from operator platforms (evgrid as the T/CEC client): for every operator with a
//! base URL, on a jittered interval, the station directory (`query_stations_info`, all pages,
//! changes since the last good pull) and the live status of all its stations
//! (`query_station_status`, 50 per call), reconciled with what the operator pushed. Each
//! operator polls on its own task: one that hangs times out and backs off exponentially while
//! the others go on.

use evgrid_model::rng::SplitMix64;
use evgrid_model::time::unix_now;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use evgrid_model::StatusRecord;
use evgrid_model::{Operator, OperatorCredentials, OperatorId};
use evgrid_tcec::client::Client;
use evgrid_tcec::convert::parse_station_info;
use evgrid_tcec::crypto::KeySet;
use evgrid_tcec::platform::status_from_code;
use evgrid_tcec::{station_from_wire, ConvertOptions};
use serde::Serialize;
use tokio::sync::watch;

use super::Live;

/// How the poller runs.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// The OperatorID evgrid calls as.
    pub platform_operator_id: OperatorId,
    /// Mean pause between two pulls of one operator (jittered ±25%).
    pub interval: Duration,
    /// Give up on one call after this long.
    pub timeout: Duration,
    /// Longest pause after failures.
    pub max_backoff: Duration,
    /// `PageSize` asked of `query_stations_info`.
    pub page_size: i32,
    /// How often the list of operators is read again.
    pub discover_every: Duration,
}

impl PollOptions {
    /// Defaults: every 5 minutes, 30 s timeout, backoff up to 1 hour, pages of 50.
    pub fn new(platform_operator_id: OperatorId) -> Self {
        Self {
            platform_operator_id,
            interval: Duration::from_secs(300),
            timeout: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
            page_size: 50,
            discover_every: Duration::from_secs(10),
        }
    }
}

/// What one good pull found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PullResult {
    /// Stations in the directory answer (changed since the previous good pull).
    pub stations_pulled: usize,
    /// Of those, refused by validation (not stored).
    pub stations_rejected: usize,
    /// Connector statuses in the status answer.
    pub statuses_pulled: usize,
    /// Statuses written (newer than what was stored).
    pub statuses_applied: u64,
    /// Statuses of connectors evgrid does not know (not stored).
    pub unknown_connectors: usize,
    /// Connectors whose pushed status differs from the pulled one.
    pub differing_from_push: usize,
    /// Connectors with a pulled status that were never pushed.
    pub never_pushed: usize,
    /// Stations evgrid holds that the full directory did not list (full pulls only).
    pub missing_from_directory: Option<usize>,
    pub seconds: f64,
    /// Up to 5 reasons of rejected stations.
    pub rejections: Vec<String>,
}

/// The poller's state for one operator.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PollStatus {
    pub base_url: String,
    pub last_attempt_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub consecutive_failures: u32,
    pub polls_ok: u64,
    pub polls_failed: u64,
    pub last_error: Option<String>,
    /// When the next pull is due, seconds since 1970.
    pub next_poll_at: Option<i64>,
    pub last_result: Option<PullResult>,
    /// Another node of the deployment polls this operator (it holds the lease).
    pub elsewhere: bool,
}

/// How long a node holds an operator's poller without renewing it (seconds): one and a half
/// intervals, longer than the longest pause (a quarter above the interval), so that the
/// holder keeps it while alive and another node takes it within two intervals of its death.
fn lease_ttl(options: &PollOptions) -> i64 {
    i64::try_from(options.interval.as_secs().saturating_mul(3) / 2)
        .unwrap_or(i64::MAX)
        .max(3)
}

/// `base` ± 25%, from a reproducible random source per operator.
fn jitter(rng: &mut SplitMix64, base: Duration) -> Duration {
    base.mul_f64(0.75 + 0.5 * rng.unit())
}

/// The pause after `failures` consecutive failures: the interval doubled each time, capped.
pub fn backoff(interval: Duration, failures: u32, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.min(20));
    interval.saturating_mul(factor).min(max)
}

/// A T/CEC client to an operator's platform, calling as `platform` (evgrid's OperatorID).
pub(crate) fn client_for(
    c: &OperatorCredentials,
    platform: &OperatorId,
    timeout: Duration,
) -> Result<Client, String> {
    let url = c.base_url.as_deref().ok_or("no base URL")?;
    let keys =
        KeySet::new(&c.data_secret, &c.data_secret_iv, &c.sig_secret).map_err(|e| e.to_string())?;
    Ok(
        Client::new(url, platform.as_str(), c.secret_for_calls(), keys)
            .map_err(|e| e.to_string())?
            .with_timeout(timeout),
    )
}

impl Live {
    /// The poller's state for an operator, if it is polled.
    pub fn poll_status(&self, id: &OperatorId) -> Option<PollStatus> {
        self.polls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    fn set_poll_status(&self, id: &OperatorId, update: impl FnOnce(&mut PollStatus)) {
        let mut polls = self
            .polls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        update(polls.entry(id.clone()).or_default());
    }

    /// Pulls one operator once: directory changes since `since` (`None`: everything), then the
    /// status of all its stations, reconciled with the pushed statuses and stored.
    pub async fn pull_operator(
        &self,
        credentials: &OperatorCredentials,
        client: &Client,
        since: Option<i64>,
        page_size: i32,
    ) -> Result<PullResult, String> {
        let id = &credentials.operator_id;
        let started = std::time::Instant::now();
        let pulled_at = unix_now();
        let mut result = PullResult::default();
        let since_text = since.map(evgrid_tcec::time::china_datetime);
        let infos = client
            .all_stations(since_text.as_deref(), page_size)
            .await
            .map_err(|e| format!("query_stations_info: {e}"))?;
        result.stations_pulled = infos.len();
        let mut stations = Vec::new();
        let mut listed = HashSet::new();
        for value in &infos {
            let converted = parse_station_info(value)
                .map_err(|e| e.to_string())
                .and_then(|info| {
                    if info.operator_id != id.as_str() {
                        return Err(format!(
                            "StationID {}: OperatorID {} is not {id}",
                            info.station_id, info.operator_id
                        ));
                    }
                    listed.insert(info.station_id.clone());
                    station_from_wire(
                        &info,
                        ConvertOptions {
                            coords: credentials.coords,
                        },
                    )
                    .map_err(|errors| {
                        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                        format!("StationID {}: {}", info.station_id, list.join("; "))
                    })
                });
            match converted {
                Ok(c) => stations.push(c.station),
                Err(reason) => {
                    result.stations_rejected += 1;
                    if result.rejections.len() < 5 {
                        result.rejections.push(reason);
                    }
                }
            }
        }
        if !stations.is_empty() {
            let operator = Operator {
                id: id.clone(),
                name: id.to_string(),
            };
            self.network
                .store_stations(&[operator], stations)
                .await
                .map_err(|e| format!("storing pulled stations: {e}"))?;
        }
        let store = &self.store;
        let station_ids = store.station_ids(id).await.map_err(|e| e.to_string())?;
        if since.is_none() {
            result.missing_from_directory =
                Some(station_ids.iter().filter(|s| !listed.contains(*s)).count());
        }
        let known: HashSet<String> = store
            .connector_ids(id)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect();
        let pushed: HashMap<String, StatusRecord> = store
            .operator_statuses(id)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|s| (s.connector_id.clone(), s))
            .collect();
        let answers = client
            .query_station_status(&station_ids)
            .await
            .map_err(|e| format!("query_station_status: {e}"))?;
        let mut records = Vec::new();
        for info in answers.iter().flat_map(|s| &s.connector_status_infos) {
            result.statuses_pulled += 1;
            if !known.contains(&info.connector_id) {
                result.unknown_connectors += 1;
                continue;
            }
            let status =
                status_from_code(info.status).unwrap_or(evgrid_model::ConnectorStatus::Unknown);
            match pushed.get(&info.connector_id) {
                Some(p)
                    if p.source == evgrid_model::StatusSource::TcecPush
                        && p.raw_status != info.status =>
                {
                    result.differing_from_push += 1;
                }
                None => result.never_pushed += 1,
                _ => {}
            }
            records.push(StatusRecord {
                connector_id: info.connector_id.clone(),
                status,
                raw_status: info.status,
                park_status: info.park_status,
                lock_status: info.lock_status,
                observed_at: pulled_at,
                source: evgrid_model::StatusSource::TcecPull,
            });
        }
        result.statuses_applied = store
            .put_statuses(id, &records)
            .await
            .map_err(|e| format!("storing pulled statuses: {e}"))?;
        result.seconds = started.elapsed().as_secs_f64();
        Ok(result)
    }
}

/// Polls every operator that has a base URL until `stop` turns true; operators added later
/// are picked up, removed ones stop.
pub async fn run(live: Arc<Live>, options: PollOptions, mut stop: watch::Receiver<bool>) {
    let mut running: HashMap<OperatorId, tokio::task::JoinHandle<()>> = HashMap::new();
    loop {
        running.retain(|_, h| !h.is_finished());
        match live.all_operator_credentials().await {
            Ok(all) => {
                for c in all.into_iter().filter(|c| c.base_url.is_some()) {
                    if running.contains_key(&c.operator_id) {
                        continue;
                    }
                    let task = tokio::spawn(poll_operator(
                        live.clone(),
                        c.operator_id.clone(),
                        options.clone(),
                        stop.clone(),
                    ));
                    running.insert(c.operator_id, task);
                }
            }
            Err(e) => tracing::warn!(error = %e, "poller: cannot read the operators"),
        }
        tokio::select! {
            _ = tokio::time::sleep(options.discover_every) => {}
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

async fn poll_operator(
    live: Arc<Live>,
    id: OperatorId,
    options: PollOptions,
    mut stop: watch::Receiver<bool>,
) {
    let mut rng = SplitMix64(id.as_str().bytes().fold(0x5EED_u64, |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    }));
    // Spread the first pulls over the first quarter interval.
    let mut pause = jitter(&mut rng, options.interval / 4).min(Duration::from_secs(5));
    let mut client: Option<(OperatorCredentials, Client)> = None;
    let mut last_success: Option<i64> = None;
    let mut failures = 0u32;
    loop {
        live.set_poll_status(&id, |s| {
            s.next_poll_at = Some(unix_now() + i64::try_from(pause.as_secs()).unwrap_or(0))
        });
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        let credentials = match live.operator_credentials(&id).await {
            Ok(Some(c)) if c.base_url.is_some() => c,
            Ok(_) => {
                tracing::info!(operator_id = %id, "poller: operator removed or without base URL; stopping");
                return;
            }
            Err(e) => {
                tracing::warn!(operator_id = %id, error = %e, "poller: cannot read credentials");
                pause = options.interval;
                continue;
            }
        };
        if client.as_ref().is_none_or(|(c, _)| *c != credentials) {
            client = match client_for(&credentials, &options.platform_operator_id, options.timeout)
            {
                Ok(cl) => Some((credentials.clone(), cl)),
                Err(e) => {
                    tracing::warn!(operator_id = %id, error = %e, "poller: unusable settings");
                    pause = options.max_backoff;
                    continue;
                }
            };
            // New settings: pull everything again.
            last_success = None;
        }
        let Some((_, cl)) = client.as_ref() else {
            continue;
        };
        // Several nodes on one database: one of them polls the operator, the one holding its
        // lease; the others look again a quarter interval later and take it over once the
        // holder stops renewing it (within two intervals of its death).
        if live.store.carries_signals() && live.node.get().is_none() {
            // The node has not joined the others yet: no pull without a lease.
            pause = Duration::from_secs(1);
            continue;
        }
        if let Some(node) = live.node.get() {
            match live
                .store
                .hold_lease(
                    &format!("poller:{id}"),
                    node,
                    unix_now(),
                    lease_ttl(&options),
                )
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    live.set_poll_status(&id, |s| s.elsewhere = true);
                    pause = options.interval / 4;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(operator_id = %id, error = %e, "poller: cannot take the lease");
                    pause = options.interval / 4;
                    continue;
                }
            }
            live.set_poll_status(&id, |s| s.elsewhere = false);
        }
        let attempt_at = unix_now();
        let base_url = credentials.base_url.clone().unwrap_or_default();
        live.set_poll_status(&id, |s| {
            s.last_attempt_at = Some(attempt_at);
            s.base_url = base_url;
        });
        let outcome = live
            .pull_operator(&credentials, cl, last_success, options.page_size)
            .await;
        if let Some(node) = live.node.get() {
            // Renewed after the pull too: the lease outlives the pause, however long the pull.
            let _ = live
                .store
                .hold_lease(
                    &format!("poller:{id}"),
                    node,
                    unix_now(),
                    lease_ttl(&options),
                )
                .await;
        }
        match outcome {
            Ok(result) => {
                failures = 0;
                last_success = Some(attempt_at);
                tracing::info!(operator_id = %id, stations = result.stations_pulled, statuses = result.statuses_pulled,
                    differing = result.differing_from_push, "poller: pulled");
                live.set_poll_status(&id, |s| {
                    s.last_success_at = Some(attempt_at);
                    s.consecutive_failures = 0;
                    s.polls_ok += 1;
                    s.last_error = None;
                    s.last_result = Some(result);
                });
                pause = jitter(&mut rng, options.interval);
            }
            Err(e) => {
                failures += 1;
                pause = backoff(options.interval, failures, options.max_backoff);
                tracing::warn!(operator_id = %id, error = %e, failures, retry_in_s = pause.as_secs(), "poller: pull failed");
                live.set_poll_status(&id, |s| {
                    s.consecutive_failures = failures;
                    s.polls_failed += 1;
                    s.last_error = Some(e);
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let i = Duration::from_secs(10);
        let max = Duration::from_secs(300);
        assert_eq!(backoff(i, 1, max), Duration::from_secs(20));
        assert_eq!(backoff(i, 3, max), Duration::from_secs(80));
        assert_eq!(backoff(i, 10, max), max);
        assert_eq!(backoff(i, 1000, max), max);
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        let mut rng = SplitMix64(7);
        for _ in 0..1000 {
            let j = jitter(&mut rng, Duration::from_secs(100));
            assert!((75.0..=125.0).contains(&j.as_secs_f64()), "{j:?}");
        }
    }
}
