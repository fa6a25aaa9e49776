//! Several nodes on one database: which node holds each OCPP charger's connection (presence
//! rows kept fresh by each node's heartbeat), and commands relayed to the node that holds the
//! charger through the database's signals (PostgreSQL LISTEN/NOTIFY). No cluster protocol of
//! evgrid's own: the database is the only thing the nodes share. On SQLite (one node) there is
//! nothing to join.
//!
//! Every node sees the same city: live status, tariffs and accounts are read from the database
//! at each request; the stations' in-memory index is reloaded when another node says on
//! `evgrid_city` that it stored stations (at most a few times a second), and every
//! [`FULL_RELOAD`] as the safety net for a signal lost while a listener reconnected.
//!
//! A node listens on its own channel `evgrid_node_<id>`. A command for a charger held elsewhere
//! is sent there as a `call` with this node's id; the holder runs it on its connection and
//! answers on the caller's channel. When a charger opens a newer connection on another node,
//! that node tells the old holder to close its connection (`evict`): one live connection per
//! charger, the newer wins.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use evgrid_model::time::unix_now;
use evgrid_ocpp::hub::{CommandError, Elsewhere, Hub};
use evgrid_ocpp::Version;
use evgrid_store::contract::{Presence, MAX_SIGNAL_BYTES};
use evgrid_store::Store;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::AppError;

/// How often a node says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// A presence counts while its node's heartbeat is at most this old (seconds).
pub const FRESH_FOR: i64 = 10;
/// A node silent for this long (seconds) is found dead: its rows are removed.
pub const DEAD_AFTER: i64 = 30;
/// The channel every node listens on for changes of the city.
pub(crate) const CITY: &str = "evgrid_city";
/// How long changes are gathered before one signal (or one reload) covers them all.
const SETTLE: Duration = Duration::from_millis(150);
/// The index is reloaded from the store this often whatever the signals said.
pub const FULL_RELOAD: Duration = Duration::from_secs(300);

/// A message between nodes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Signal {
    /// Run `action` on `charger`'s connection and answer on `from`'s channel.
    Call {
        id: u64,
        from: String,
        charger: String,
        action: String,
        payload: Value,
        timeout_ms: u64,
    },
    /// The answer to call `id`.
    Answer { id: u64, outcome: Outcome },
    /// A newer connection of `charger` opened elsewhere: close this node's.
    Evict { charger: String },
    /// Process `from` stored stations: reload the index.
    Stations { from: String },
}

/// The signal saying that process `from` stored stations.
pub(crate) fn stations_stored(from: &str) -> String {
    serde_json::to_string(&Signal::Stations {
        from: from.to_owned(),
    })
    .unwrap_or_default()
}

/// A command's outcome on the wire between nodes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Answered(Value),
    Offline,
    Timeout { ms: u64 },
    Invalid(String),
    CallError { code: String, description: String },
}

impl Outcome {
    fn of(result: Result<Value, CommandError>) -> Self {
        match result {
            Ok(v) => Outcome::Answered(v),
            Err(CommandError::Offline(_)) => Outcome::Offline,
            Err(CommandError::Timeout(_, d)) => Outcome::Timeout {
                ms: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            },
            Err(CommandError::Invalid(m)) => Outcome::Invalid(m),
            Err(CommandError::CallError { code, description }) => {
                Outcome::CallError { code, description }
            }
        }
    }

    fn into_result(self, charger: &str) -> Result<Value, CommandError> {
        match self {
            Outcome::Answered(v) => Ok(v),
            Outcome::Offline => Err(CommandError::Offline(charger.to_owned())),
            Outcome::Timeout { ms } => Err(CommandError::Timeout(
                charger.to_owned(),
                Duration::from_millis(ms),
            )),
            Outcome::Invalid(m) => Err(CommandError::Invalid(m)),
            Outcome::CallError { code, description } => {
                Err(CommandError::CallError { code, description })
            }
        }
    }
}

fn channel(node: &str) -> String {
    format!("evgrid_node_{node}")
}

fn version_of(label: &str) -> Option<Version> {
    [Version::V16, Version::V201]
        .into_iter()
        .find(|v| v.label() == label)
}

/// This node's membership of the deployment.
#[derive(Debug)]
pub struct Cluster {
    store: Store,
    node: String,
    hub: Arc<Hub>,
    /// Calls relayed to other nodes, waiting for their answers.
    pending: Mutex<HashMap<u64, oneshot::Sender<Outcome>>>,
    next: AtomicU64,
}

impl Cluster {
    /// Joins the deployment when the store carries signals between nodes (PostgreSQL): a node
    /// id, its heartbeat, its channel, and the hub reaching chargers held elsewhere through it.
    /// `None` on an engine with one node (SQLite).
    pub async fn join(
        store: Store,
        hub: Arc<Hub>,
        network: Arc<crate::network::Network>,
    ) -> Result<Option<Arc<Self>>, AppError> {
        if !store.carries_signals() {
            return Ok(None);
        }
        let node = crate::random_hex(8)
            .map_err(|e| AppError::Invalid(format!("no randomness for a node id: {e}")))?;
        store.node_alive(&node, unix_now()).await?;
        let Some(mut signals) = store.listen(&channel(&node)).await? else {
            return Ok(None);
        };
        let Some(city) = store.listen(CITY).await? else {
            return Ok(None);
        };
        let cluster = Arc::new(Self {
            store,
            node,
            hub: Arc::clone(&hub),
            pending: Mutex::default(),
            next: AtomicU64::new(1),
        });
        tracing::info!(node = %cluster.node, "joined the deployment's nodes");
        let weak: Weak<Self> = Arc::downgrade(&cluster);
        tokio::spawn(async move {
            while let Some(payload) = signals.recv().await {
                let Some(cluster) = weak.upgrade() else {
                    return;
                };
                cluster.on_signal(&payload);
            }
        });
        let weak = Arc::downgrade(&cluster);
        tokio::spawn(async move {
            let mut beat = tokio::time::interval(HEARTBEAT);
            loop {
                beat.tick().await;
                let Some(cluster) = weak.upgrade() else {
                    return;
                };
                cluster.heartbeat().await;
            }
        });
        cluster.share_station_changes(&network, city);
        hub.reach_elsewhere(cluster.clone());
        Ok(Some(cluster))
    }

    /// Stations stored elsewhere (another node, a command-line import) reload this node's
    /// index; and the index is reloaded every [`FULL_RELOAD`] anyway.
    fn share_station_changes(
        self: &Arc<Self>,
        network: &Arc<crate::network::Network>,
        mut city: tokio::sync::mpsc::Receiver<String>,
    ) {
        let net = Arc::clone(network);
        tokio::spawn(async move {
            let mut full = tokio::time::interval(FULL_RELOAD);
            full.tick().await;
            loop {
                let reload = tokio::select! {
                    payload = city.recv() => match payload {
                        None => return,
                        Some(p) => matches!(
                            serde_json::from_str::<Signal>(&p),
                            Ok(Signal::Stations { from }) if from != net.origin()
                        ),
                    },
                    _ = full.tick() => true,
                };
                if reload {
                    tokio::time::sleep(SETTLE).await;
                    while city.try_recv().is_ok() {}
                    match net.reload_index().await {
                        Ok(()) => tracing::debug!(
                            stations = net.station_count(),
                            "index reloaded: stations changed on another node"
                        ),
                        Err(e) => tracing::warn!(error = %e, "reloading the index"),
                    }
                }
            }
        });
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Leaves the deployment: this node's row and every presence it holds are removed.
    pub async fn leave(&self) {
        if let Err(e) = self.store.node_gone(&self.node).await {
            tracing::warn!(node = %self.node, error = %e, "leaving the deployment's nodes");
        }
    }

    async fn heartbeat(&self) {
        let now = unix_now();
        if let Err(e) = self.store.node_alive(&self.node, now).await {
            tracing::warn!(node = %self.node, error = %e, "heartbeat");
            return;
        }
        match self.store.stale_nodes(now - DEAD_AFTER).await {
            Ok(dead) => {
                for node in dead.iter().filter(|n| **n != self.node) {
                    if let Ok(cleared) = self.store.node_gone(node).await {
                        tracing::info!(dead = %node, chargers = cleared, "a node stopped answering: its chargers' presence cleared");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "looking for dead nodes"),
        }
    }

    fn on_signal(self: &Arc<Self>, payload: &str) {
        let signal: Signal = match serde_json::from_str(payload) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "an unreadable signal from another node");
                return;
            }
        };
        match signal {
            Signal::Answer { id, outcome } => {
                let waiting = self
                    .pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id);
                if let Some(reply) = waiting {
                    let _ = reply.send(outcome);
                }
            }
            Signal::Call {
                id,
                from,
                charger,
                action,
                payload,
                timeout_ms,
            } => {
                let me = Arc::clone(self);
                tokio::spawn(async move {
                    let result = me
                        .hub
                        .call_here(
                            &charger,
                            &action,
                            payload,
                            Duration::from_millis(timeout_ms),
                        )
                        .await;
                    let answer = Signal::Answer {
                        id,
                        outcome: Outcome::of(result),
                    };
                    me.send(&from, &answer).await;
                });
            }
            Signal::Stations { .. } => {}
            Signal::Evict { charger } => {
                let me = Arc::clone(self);
                tokio::spawn(async move {
                    // Only if the newer connection is still elsewhere (not a reconnection here).
                    match me.store.presence(&charger, unix_now() - FRESH_FOR).await {
                        Ok(Some(p)) if p.node_id != me.node => {
                            if me.hub.evict(&charger) {
                                tracing::info!(charger, holder = %p.node_id, "a newer connection of the charger opened on another node: closed here");
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(charger, error = %e, "checking a charger's presence")
                        }
                    }
                });
            }
        }
    }

    async fn send(&self, node: &str, signal: &Signal) {
        self.send_to(&channel(node), signal).await;
    }

    async fn send_to(&self, channel: &str, signal: &Signal) {
        let text = match serde_json::to_string(signal) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "encoding a signal");
                return;
            }
        };
        if let Err(e) = self.store.signal(channel, &text).await {
            tracing::warn!(channel, error = %e, "signalling the other nodes");
        }
    }

    async fn holder(&self, charger: &str) -> Option<Presence> {
        match self.store.presence(charger, unix_now() - FRESH_FOR).await {
            Ok(p) => p.filter(|p| p.node_id != self.node),
            Err(e) => {
                tracing::warn!(charger, error = %e, "looking up a charger's node");
                None
            }
        }
    }

    async fn relay(
        &self,
        charger: &str,
        action: &str,
        payload: Value,
        timeout: Duration,
    ) -> Result<Value, CommandError> {
        let Some(holder) = self.holder(charger).await else {
            return Err(CommandError::Offline(charger.to_owned()));
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let call = Signal::Call {
            id,
            from: self.node.clone(),
            charger: charger.to_owned(),
            action: action.to_owned(),
            payload,
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        };
        let text = serde_json::to_string(&call)
            .map_err(|e| CommandError::Invalid(format!("encoding the command: {e}")))?;
        if text.len() > MAX_SIGNAL_BYTES {
            return Err(CommandError::Invalid(format!(
                "the command is {} bytes: commands to a charger on another node take at most {MAX_SIGNAL_BYTES}",
                text.len()
            )));
        }
        let (reply, answer) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, reply);
        let forget = || {
            self.pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
        };
        if let Err(e) = self.store.signal(&channel(&holder.node_id), &text).await {
            forget();
            tracing::warn!(charger, to = %holder.node_id, error = %e, "relaying a command");
            return Err(CommandError::Offline(charger.to_owned()));
        }
        // The holder answers within the command's own timeout; a little more for the trip.
        match tokio::time::timeout(timeout + Duration::from_secs(2), answer).await {
            Ok(Ok(outcome)) => outcome.into_result(charger),
            _ => {
                forget();
                Err(CommandError::Timeout(charger.to_owned(), timeout))
            }
        }
    }
}

impl Elsewhere for Cluster {
    fn version<'a>(&'a self, charger: &'a str) -> BoxFuture<'a, Option<Version>> {
        Box::pin(async move {
            self.holder(charger)
                .await
                .and_then(|p| version_of(&p.version))
        })
    }

    fn call<'a>(
        &'a self,
        charger: &'a str,
        action: &'a str,
        payload: Value,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Value, CommandError>> {
        Box::pin(self.relay(charger, action, payload, timeout))
    }

    fn connected(&self, charger: &str, version: Version, connection: u64) {
        let presence = Presence {
            charger_id: charger.to_owned(),
            node_id: self.node.clone(),
            version: version.label().to_owned(),
            connection: i64::try_from(connection).unwrap_or(i64::MAX),
            since: unix_now(),
        };
        let store = self.store.clone();
        let node = self.node.clone();
        tokio::spawn(async move {
            match store.charger_present(&presence).await {
                Ok(Some(before)) if before.node_id != node => {
                    let evict = Signal::Evict {
                        charger: presence.charger_id.clone(),
                    };
                    if let Ok(text) = serde_json::to_string(&evict) {
                        if let Err(e) = store.signal(&channel(&before.node_id), &text).await {
                            tracing::warn!(charger = %presence.charger_id, error = %e, "telling the older connection's node");
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(charger = %presence.charger_id, error = %e, "recording the charger's presence");
                }
            }
        });
    }

    fn disconnected(&self, charger: &str, connection: u64) {
        let store = self.store.clone();
        let (charger, node) = (charger.to_owned(), self.node.clone());
        let connection = i64::try_from(connection).unwrap_or(i64::MAX);
        tokio::spawn(async move {
            if let Err(e) = store.charger_absent(&charger, &node, connection).await {
                tracing::warn!(charger, error = %e, "clearing the charger's presence");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_round_trip_and_outcomes_keep_their_errors() {
        let call = Signal::Call {
            id: 7,
            from: "a1".into(),
            charger: "CP1".into(),
            action: "Reset".into(),
            payload: serde_json::json!({"type": "Soft"}),
            timeout_ms: 30_000,
        };
        let text = serde_json::to_string(&call).unwrap();
        assert!(text.contains(r#""kind":"call""#), "{text}");
        assert!(matches!(
            serde_json::from_str::<Signal>(&text).unwrap(),
            Signal::Call { id: 7, .. }
        ));
        let error = Outcome::of(Err(CommandError::CallError {
            code: "NotSupported".into(),
            description: "no".into(),
        }));
        let back: Outcome = serde_json::from_str(&serde_json::to_string(&error).unwrap()).unwrap();
        assert_eq!(
            back.into_result("CP1"),
            Err(CommandError::CallError {
                code: "NotSupported".into(),
                description: "no".into()
            })
        );
        assert_eq!(version_of("2.0.1"), Some(Version::V201));
        assert_eq!(version_of("3"), None);
    }
}
