//! Which chargers are connected, and sending them commands: the transport registers each
//! connection's command queue here; [`Hub::call`] sends a CALL through it and waits for the
//! charger's answer, with a timeout.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// The connected chargers.
#[derive(Debug, Default)]
pub struct Hub {
    chargers: Mutex<HashMap<String, Entry>>,
    next: Mutex<u64>,
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
        (connection, rx, replaced_rx)
    }

    /// Unregisters a connection, unless a newer one took its place.
    pub fn disconnect(&self, charger: &str, connection: u64) {
        let mut map = self.lock();
        if map.get(charger).is_some_and(|e| e.connection == connection) {
            map.remove(charger);
        }
    }

    /// The OCPP version of a connected charger.
    pub fn version(&self, charger: &str) -> Option<crate::Version> {
        self.lock().get(charger).map(|e| e.version)
    }

    /// Sends `action` to a connected charger and waits for its answer.
    pub async fn call(
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
