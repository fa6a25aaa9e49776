//! One charger's connection from start to end, whatever carries its frames: every text frame
//! through the central system's side ([`Connection`], which stores before it answers), and the
//! platform's commands from the [`Hub`] sent one at a time, each matched with the charger's
//! CALLRESULT or CALLERROR, or given up at its deadline. The server's WebSocket route only
//! feeds this a [`Transport`].

use std::future::Future;

use crate::csms::{Backend, Connection, Outcome};
use crate::hub::{Command, CommandError, Hub};
use crate::{ErrorCode, FrameError, Version};

/// What the transport received.
#[derive(Debug)]
pub enum Incoming {
    /// A text frame: an OCPP-J message.
    Text(String),
    /// A binary frame (OCPP-J is text: answered with a CALLERROR).
    Binary,
    /// Something the transport handles itself (ping, pong).
    Other,
    /// The connection ended (closed, or an error the transport logged).
    Closed,
}

/// What carries one charger's frames (a WebSocket, in the server).
pub trait Transport: Send {
    /// The next message.
    fn recv(&mut self) -> impl Future<Output = Incoming> + Send;
    /// Sends a text frame; `Err` when the connection is gone.
    fn send(&mut self, text: String) -> impl Future<Output = Result<(), ()>> + Send;
    /// Asks the charger's side to show it is there (a WebSocket ping; its pong arrives as
    /// [`Incoming::Other`]); `Err` when the connection is gone.
    fn ping(&mut self) -> impl Future<Output = Result<(), ()>> + Send;
    /// Closes the connection with a WebSocket close code and reason.
    fn close(&mut self, code: u16, reason: &str) -> impl Future<Output = ()> + Send;
}

/// How long a connection may stay without proof of life: a charger that has not sent its
/// BootNotification within `boot_within` is closed (1008, policy violation); one from which
/// nothing arrives for `ping_after` is pinged, and closed when nothing (not even the pong)
/// arrives within `answer_within` more. A connection that never speaks holds its socket for at
/// most `boot_within`.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    pub boot_within: std::time::Duration,
    pub ping_after: std::time::Duration,
    pub answer_within: std::time::Duration,
}

impl Default for Liveness {
    /// 60 s to boot; a ping after 60 s of silence, answered within 30 s.
    fn default() -> Self {
        Self {
            boot_within: std::time::Duration::from_secs(60),
            ping_after: std::time::Duration::from_secs(60),
            answer_within: std::time::Duration::from_secs(30),
        }
    }
}

/// How long the platform's own CALLs (GetTransactionStatus, CostUpdated) wait for an answer.
const FOLLOW_UP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The WebSocket close code for a charger that broke the rules (RFC 6455: policy violation).
pub const CLOSE_POLICY: u16 = 1008;

/// Why a connection is closed when a newer one of its charger takes over.
const REPLACED: &str = "a newer connection of this charger took over";

/// The WebSocket close code when the server shuts down (RFC 6455: going away); the charger
/// reconnects, to another node where there is one.
pub const CLOSE_GOING_AWAY: u16 = 1001;

/// Runs charger `charger`'s connection over `transport` until it ends, or until it fails the
/// `liveness` rules; registers it in the hub for commands meanwhile. One connection per charger:
/// a newer connection of the same charger takes its place and this one is closed (1008).
pub async fn run<T: Transport, B: Backend>(
    mut transport: T,
    backend: &B,
    hub: &Hub,
    charger: &str,
    version: Version,
    liveness: Liveness,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::time::Instant;
    let (connection_no, mut commands, mut replaced) = hub.connect(charger, version);
    let mut conn = Connection::new(charger.to_owned(), version);
    let mut waiting: Option<(String, Command)> = None;
    let opened = Instant::now();
    let mut last_heard = opened;
    let mut pinged: Option<Instant> = None;
    loop {
        // The platform's own CALLs (a transaction's status, its running cost) go when nothing
        // is in flight, like a command whose answer nobody awaits.
        if waiting.is_none() {
            if let Some((action, payload)) = conn.next_follow_up() {
                let (reply, _) = tokio::sync::oneshot::channel();
                let command = Command {
                    action: action.to_owned(),
                    payload,
                    deadline: std::time::Instant::now() + FOLLOW_UP_TIMEOUT,
                    reply,
                };
                match conn.call(&command.action, command.payload.clone()) {
                    Ok((call_id, text)) => {
                        if transport.send(text).await.is_err() {
                            break;
                        }
                        waiting = Some((call_id, command));
                    }
                    Err(e) => {
                        tracing::warn!(charger, action, error = %e.description, "the platform's own CALL is not valid; not sent");
                    }
                }
                continue;
            }
        }
        let deadline = waiting.as_ref().map(|(_, c)| Instant::from_std(c.deadline));
        // The next check of the charger's proof of life.
        let check = match (conn.booted(), pinged) {
            (false, _) => opened + liveness.boot_within,
            (true, Some(at)) => at + liveness.answer_within,
            (true, None) => last_heard + liveness.ping_after,
        };
        tokio::select! {
            message = transport.recv() => {
                if !matches!(message, Incoming::Closed) {
                    last_heard = Instant::now();
                    pinged = None;
                }
                let text = match message {
                    Incoming::Text(t) => t,
                    Incoming::Binary => {
                        let e = FrameError::new("-1", ErrorCode::Format, "OCPP-J messages are text frames");
                        if transport.send(e.to_text(version)).await.is_err() { break; }
                        continue;
                    }
                    Incoming::Other => continue,
                    Incoming::Closed => break,
                };
                match conn.on_text(backend, &text).await {
                    Outcome::Reply(r) => {
                        if transport.send(r).await.is_err() { break; }
                    }
                    Outcome::Answer { id: answered, result } => {
                        if waiting.as_ref().is_some_and(|(w, _)| *w == answered) {
                            if let Some((_, command)) = waiting.take() {
                                let _ = command.reply.send(result.map_err(|(code, description)| CommandError::CallError { code, description }));
                            }
                        }
                    }
                    Outcome::Nothing => {}
                }
            }
            command = commands.recv(), if waiting.is_none() => {
                let Some(command) = command else {
                    // The queue ends only when a newer connection replaced this one.
                    transport.close(CLOSE_POLICY, REPLACED).await;
                    return;
                };
                match conn.call(&command.action, command.payload.clone()) {
                    Ok((call_id, text)) => {
                        if transport.send(text).await.is_err() {
                            let _ = command.reply.send(Err(CommandError::Offline(charger.to_owned())));
                            break;
                        }
                        waiting = Some((call_id, command));
                    }
                    Err(e) => {
                        let _ = command.reply.send(Err(CommandError::Invalid(e.description)));
                    }
                }
            }
            _ = &mut replaced => {
                tracing::info!(charger, "a newer connection of the charger took over: closed");
                transport.close(CLOSE_POLICY, REPLACED).await;
                if let Some((_, command)) = waiting.take() {
                    let _ = command.reply.send(Err(CommandError::Offline(charger.to_owned())));
                }
                // The newer connection is registered: nothing of this one to unregister.
                return;
            }
            _ = stopping.changed() => {
                tracing::info!(charger, "server shutting down: connection closed");
                transport.close(CLOSE_GOING_AWAY, "the server is shutting down").await;
                break;
            }
            () = tokio::time::sleep_until(check) => {
                if !conn.booted() {
                    tracing::info!(charger, "no BootNotification in time: closed");
                    transport.close(CLOSE_POLICY, "no BootNotification in time").await;
                    break;
                }
                if pinged.is_some() {
                    tracing::info!(charger, "no answer to a ping: closed");
                    break;
                }
                if transport.ping().await.is_err() {
                    break;
                }
                pinged = Some(Instant::now());
            }
            () = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some((call_id, command)) = waiting.take() {
                    conn.abandon(&call_id);
                    let timeout = command.deadline.saturating_duration_since(std::time::Instant::now());
                    let _ = command.reply.send(Err(CommandError::Timeout(charger.to_owned(), timeout)));
                }
            }
        }
    }
    hub.disconnect(charger, connection_no);
}
