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
}

/// Runs charger `charger`'s connection over `transport` until it ends; registers it in the hub
/// for commands meanwhile (a newer connection of the same charger takes its place there).
pub async fn run<T: Transport, B: Backend>(
    mut transport: T,
    backend: &B,
    hub: &Hub,
    charger: &str,
    version: Version,
) {
    let (connection_no, mut commands) = hub.connect(charger, version);
    let mut conn = Connection::new(charger.to_owned(), version);
    let mut waiting: Option<(String, Command)> = None;
    loop {
        let deadline = waiting
            .as_ref()
            .map(|(_, c)| tokio::time::Instant::from_std(c.deadline));
        tokio::select! {
            message = transport.recv() => {
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
                let Some(command) = command else { break };
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
