//! Which chargers are connected, and sending them commands: the transport registers each
//! connection's command queue here; [`Hub::call`] sends a CALL through it and waits for the
//! charger's answer, with a timeout. Where several nodes serve one deployment, a charger
//! connected to another node is reached through [`Elsewhere`] (the application's relay).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// Why a command got no answer from the charger.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("charger {0} is not connected")]
    Offline(String),
    #[error("charger {0} did not answer within {1:?}")]
    Timeout(String, Duration),
    #[error("the command is not valid OCPP: {0}")]
    Invalid(String),
    #[error("the charger answered CALLERROR {code}: {description}")]
    CallError { code: String, description: String },
}

/// One command on its way to a charger.
#[derive(Debug)]
pub struct Command {
    pub action: String,
    pub payload: Value,
    /// Answer by then, or give up.
    pub deadline: Instant,
    pub reply: oneshot::Sender<Result<Value, CommandError>>,
}

/// A connected charger's queue, with the connection's number so that a stale connection does
/// not unregister a newer one.
#[derive(Debug)]
struct Entry {
    queue: mpsc::Sender<Command>,
    connection: u64,
    version: crate::Version,
    /// Dropped with the entry: tells the connection a newer one of its charger took its place.
    _replaced: oneshot::Sender<()>,
}

/// The chargers connected to the other nodes of a deployment: the hub asks here for a charger
/// it does not hold, and says here which connections it holds.
pub trait Elsewhere: Send + Sync + std::fmt::Debug {
    /// The OCPP version of `charger`'s connection on another node, if one holds it.
    fn version<'a>(&'a self, charger: &'a str) -> BoxFuture<'a, Option<crate::Version>>;

    /// Sends `action` to `charger` through the node that holds it and waits for the answer.
    fn call<'a>(
        &'a self,
        charger: &'a str,
        action: &'a str,
        payload: Value,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Value, CommandError>>;

    /// This node holds `charger`'s connection number `connection` now.
    fn connected(&self, charger: &str, version: crate::Version, connection: u64);

    /// This node's connection `connection` of `charger` ended.
    fn disconnected(&self, charger: &str, connection: u64);
}

/// The connected chargers.
#[derive(Debug, Default)]
pub struct Hub {
    chargers: Mutex<HashMap<String, Entry>>,
    next: Mutex<u64>,
    elsewhere: OnceLock<Arc<dyn Elsewhere>>,
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.chargers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a connection, replacing an older one of the same charger (the newer wins: the
    /// older's `replaced` receiver completes and it closes). Returns its number, the receiving
    /// end of its command queue, and its own `replaced` receiver.
    pub fn connect(
        &self,
        charger: &str,
        version: crate::Version,
    ) -> (u64, mpsc::Receiver<Command>, oneshot::Receiver<()>) {
        let (tx, rx) = mpsc::channel(16);
        let (replaced_tx, replaced_rx) = oneshot::channel();
        let connection = {
            let mut n = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *n += 1;
            *n
        };
        self.lock().insert(
            charger.to_owned(),
            Entry {
                queue: tx,
                connection,
                version,
                _replaced: replaced_tx,
            },
        );
        if let Some(elsewhere) = self.elsewhere.get() {
            elsewhere.connected(charger, version, connection);
        }
        (connection, rx, replaced_rx)
    }

    /// Unregisters a connection, unless a newer one took its place.
    pub fn disconnect(&self, charger: &str, connection: u64) {
        let removed = {
            let mut map = self.lock();
            let current = map.get(charger).is_some_and(|e| e.connection == connection);
            current && map.remove(charger).is_some()
        };
        if removed {
            if let Some(elsewhere) = self.elsewhere.get() {
                elsewhere.disconnected(charger, connection);
            }
        }
    }

    /// How many chargers are connected to this node.
    pub fn connected(&self) -> usize {
        self.lock().len()
    }

    /// Reaches chargers on other nodes through `elsewhere` from now on (set once).
    pub fn reach_elsewhere(&self, elsewhere: Arc<dyn Elsewhere>) {
        let _ = self.elsewhere.set(elsewhere);
    }

    /// Closes this node's connection of `charger` (its `replaced` receiver completes): a newer
    /// connection of it was opened on another node. Whether there was one.
    pub fn evict(&self, charger: &str) -> bool {
        self.lock().remove(charger).is_some()
    }

    /// The OCPP version of a charger's connection on this node or, through [`Elsewhere`], on
    /// another.
    pub async fn locate(&self, charger: &str) -> Option<crate::Version> {
        if let Some(v) = self.version(charger) {
            return Some(v);
        }
        match self.elsewhere.get() {
            Some(elsewhere) => elsewhere.version(charger).await,
            None => None,
        }
    }

    /// The OCPP version of a connected charger.
    pub fn version(&self, charger: &str) -> Option<crate::Version> {
        self.lock().get(charger).map(|e| e.version)
    }

    /// Sends `action` to a connected charger, on this node or (through [`Elsewhere`]) on
    /// another, and waits for its answer.
    pub async fn call(
        &self,
        charger: &str,
        action: &str,
        payload: Value,
        timeout: Duration,
    ) -> Result<Value, CommandError> {
        let here = self.lock().contains_key(charger);
        match self.elsewhere.get() {
            Some(elsewhere) if !here => elsewhere.call(charger, action, payload, timeout).await,
            _ => self.call_here(charger, action, payload, timeout).await,
        }
    }

    /// [`Hub::call`], with a 2.0.1 GetVariables or SetVariables of several items cut to the
    /// charger's `ItemsPerMessage` for that action (asked first; the parts sent one after
    /// another and their results joined in order). A charger that does not say sends it whole.
    pub async fn call_within_limits(
        &self,
        charger: &str,
        version: crate::Version,
        action: &str,
        payload: Value,
        timeout: Duration,
    ) -> Result<Value, CommandError> {
        use crate::commands;
        let Some(items) = commands::items_of(version, action, &payload).filter(|&n| n > 1) else {
            return self.call(charger, action, payload, timeout).await;
        };
        let (query, asked) = commands::items_per_message_query(action);
        let most = match self.call(charger, query, asked, timeout).await {
            Ok(answer) => commands::items_per_message(&answer),
            Err(CommandError::CallError { .. }) => None,
            Err(e) => return Err(e),
        };
        match most {
            Some(most) if most < items => {
                let mut answers = Vec::new();
                for part in commands::split_items(action, &payload, most) {
                    answers.push(self.call(charger, action, part, timeout).await?);
                }
                Ok(commands::merge_items(action, answers))
            }
            _ => self.call(charger, action, payload, timeout).await,
        }
    }

    /// Sends `action` to a charger connected to this node and waits for its answer.
    pub async fn call_here(
        &self,
        charger: &str,
        action: &str,
        payload: Value,
        timeout: Duration,
    ) -> Result<Value, CommandError> {
        let queue = self
            .lock()
            .get(charger)
            .map(|e| e.queue.clone())
            .ok_or_else(|| CommandError::Offline(charger.to_owned()))?;
        let (reply, answer) = oneshot::channel();
        let command = Command {
            action: action.to_owned(),
            payload,
            deadline: Instant::now() + timeout,
            reply,
        };
        queue
            .send(command)
            .await
            .map_err(|_| CommandError::Offline(charger.to_owned()))?;
        match tokio::time::timeout(timeout + Duration::from_secs(1), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(CommandError::Offline(charger.to_owned())),
            Err(_) => Err(CommandError::Timeout(charger.to_owned(), timeout)),
        }
    }
}
