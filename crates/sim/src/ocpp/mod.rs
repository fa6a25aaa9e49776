//! Simulated chargers: real OCPP-J clients over WebSocket (1.6 or 2.0.1) that boot, send
//! heartbeats and status changes, run charging sessions with meter values, fault now and then,
//! and answer the central system's commands: remote start/stop, unlock, reset (the charger
//! reboots), availability, trigger message, reservations, configuration (1.6 keys, 2.0.1
//! variables and base report), smart charging, local authorization list, diagnostics and
//! firmware updates (their status notifications follow; nothing is really uploaded or
//! downloaded).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use evgrid_model::time::format_rfc3339;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use evgrid_model::rng::SplitMix64 as Rng;

use evgrid_ocpp::frame::{ErrorCode, Frame, FrameError, Version};

mod device;
use device::Device;

/// How simulated chargers behave.
#[derive(Debug, Clone)]
pub struct ChargerSimOptions {
    /// The central system's OCPP base URL, e.g. `ws://127.0.0.1:8080/ocpp/` (the charger id is
    /// appended).
    pub csms_url: String,
    pub version: Version,
    /// HTTP Basic password; without one each charger presents [`own_password`] (what a
    /// central system accepting unknown chargers registers on first use).
    pub password: Option<String>,
    /// Mean seconds between two things happening on a charger (a charge starts or ends, a
    /// fault, ...).
    pub event_interval: Duration,
    /// Meter values while charging.
    pub meter_interval: Duration,
    /// Share of events that are faults.
    pub fault_share: f64,
    /// Charging power per connector, W.
    pub power_w: u32,
    /// Energy accrues this many times faster than the power would deliver (above 1 the
    /// central system rightly flags the charges as implausible). 1 by default.
    pub speedup: f64,
    pub seed: u64,
}

impl ChargerSimOptions {
    /// Defaults for a central system at `csms_url`.
    pub fn new(csms_url: impl Into<String>, version: Version) -> Self {
        Self {
            csms_url: csms_url.into(),
            version,
            password: None,
            event_interval: Duration::from_secs(20),
            meter_interval: Duration::from_secs(10),
            fault_share: 0.03,
            power_w: 7000,
            speedup: 1.0,
            seed: 1,
        }
    }
}

/// What simulated chargers have done, summed over all of them.
#[derive(Debug, Default)]
pub struct ChargerCounters {
    pub connected: AtomicU64,
    pub messages_sent: AtomicU64,
    pub call_errors: AtomicU64,
    pub commands_answered: AtomicU64,
    pub sessions: AtomicU64,
    pub reconnects: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Idle,
    Charging,
    Faulted,
    /// Made inoperative by ChangeAvailability.
    Unavailable,
}

impl Slot {
    /// The 1.6 status name of a connector in this state.
    fn status(self) -> &'static str {
        match self {
            Slot::Idle => "Available",
            Slot::Charging => "Charging",
            Slot::Faulted => "Faulted",
            Slot::Unavailable => "Unavailable",
        }
    }
}

#[derive(Debug)]
struct Connector {
    slot: Slot,
    /// The transaction as the central system knows it (1.6 integer as text, 2.0.1 our id).
    transaction: Option<String>,
    register_wh: f64,
    started: Option<Instant>,
    seq_no: i64,
    /// Started by the central system for someone (a driver's app): runs until stopped
    /// remotely, never ended by the simulation's random events.
    remote: bool,
    /// A reservation: its id, the id tag it holds the connector for, until when.
    reserved: Option<(i64, String, Instant)>,
    /// ChangeAvailability Inoperative arrived during a charge: unavailable once it ends.
    inoperative_after_charge: bool,
}

/// Something to do after answering a command.
#[derive(Debug)]
enum Effect {
    /// Start on a connector, for an id tag (remote start) or a random card.
    Start {
        connector: u32,
        id_tag: Option<String>,
        remote_start_id: Option<i64>,
    },
    Stop(String),
    Trigger(String),
    /// Report a connector's status.
    Status(u32, &'static str),
    /// Send this CALL (a notification that follows a command).
    Send(&'static str, Value),
    /// Reboot: end the charges, close the connection, connect and boot again.
    Reset,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Why a charger's connection ended.
#[derive(Debug, thiserror::Error)]
enum SimError {
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("the central system answered {0}")]
    Refused(String),
    #[error("closed")]
    Closed,
    #[error("stopped")]
    Stopped,
    #[error("reset by the central system")]
    Reset,
}

struct Charger {
    id: String,
    options: ChargerSimOptions,
    connectors: Vec<Connector>,
    socket: Socket,
    next_id: u64,
    effects: VecDeque<Effect>,
    rng: Rng,
    counters: Arc<ChargerCounters>,
    /// Settings, charging profiles, local list.
    device: Device,
}

/// The messages a TriggerMessage may ask for (1.6 and 2.0.1 names).
const TRIGGERABLE: [&str; 6] = [
    "Heartbeat",
    "StatusNotification",
    "BootNotification",
    "MeterValues",
    "FirmwareStatusNotification",
    "DiagnosticsStatusNotification",
];

fn now() -> String {
    format_rfc3339(evgrid_model::time::unix_now())
}

impl Charger {
    fn v16(&self) -> bool {
        self.options.version == Version::V16
    }

    async fn send(&mut self, text: String) -> Result<(), SimError> {
        self.socket.send(Message::Text(text.into())).await?;
        Ok(())
    }

    /// Sends a CALL and waits for its answer, answering the central system's CALLs meanwhile.
    async fn call(&mut self, action: &str, payload: Value) -> Result<Value, SimError> {
        self.next_id += 1;
        let id = format!("{}-{}", self.id, self.next_id);
        let text = Frame::Call {
            id: id.clone(),
            action: action.to_owned(),
            payload,
        }
        .to_text();
        self.send(text).await?;
        self.counters.messages_sent.fetch_add(1, Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .map_err(|_| SimError::Refused(format!("no answer to {action}")))?;
            let Some(message) = message else {
                return Err(SimError::Closed);
            };
            let Message::Text(text) = message? else {
                continue;
            };
            match Frame::parse(&text) {
                Ok(Frame::CallResult {
                    id: answered,
                    payload,
                }) if answered == id => return Ok(payload),
                Ok(Frame::CallError {
                    id: answered,
                    code,
                    description,
                    ..
                }) if answered == id => {
                    self.counters.call_errors.fetch_add(1, Ordering::Relaxed);
                    return Err(SimError::Refused(format!("{code}: {description}")));
                }
                Ok(Frame::Call {
                    id: call_id,
                    action,
                    payload,
                }) => self.answer(&call_id, &action, &payload).await?,
                _ => {}
            }
        }
    }

    /// Answers one CALL of the central system.
    async fn answer(&mut self, id: &str, action: &str, p: &Value) -> Result<(), SimError> {
        let connector_of = |p: &Value| {
            p.get("connectorId")
                .or_else(|| p.get("evseId"))
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(1)
        };
        let accepted = json!({"status": "Accepted"});
        let answer = match action {
            "RemoteStartTransaction" | "RequestStartTransaction" => {
                let n = connector_of(p);
                let id_tag = p
                    .get("idTag")
                    .or_else(|| p.get("idToken").and_then(|t| t.get("idToken")))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                // Free, and not held for someone else's reservation.
                let free = self
                    .connectors
                    .get(n.saturating_sub(1) as usize)
                    .is_some_and(|c| {
                        c.slot == Slot::Idle
                            && c.reserved
                                .as_ref()
                                .is_none_or(|(_, tag, _)| Some(tag) == id_tag.as_ref())
                    });
                if free {
                    self.effects.push_back(Effect::Start {
                        connector: n,
                        id_tag,
                        remote_start_id: p.get("remoteStartId").and_then(Value::as_i64),
                    });
                    accepted
                } else {
                    json!({"status": "Rejected"})
                }
            }
            "RemoteStopTransaction" | "RequestStopTransaction" => {
                let tx = match p.get("transactionId") {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => String::new(),
                };
                if self
                    .connectors
                    .iter()
                    .any(|c| c.transaction.as_deref() == Some(tx.as_str()))
                {
                    self.effects.push_back(Effect::Stop(tx));
                    accepted
                } else {
                    json!({"status": "Rejected"})
                }
            }
            "UnlockConnector" => json!({"status": "Unlocked"}),
            "ReserveNow" => {
                let n = connector_of(p);
                let id = p
                    .get("reservationId")
                    .or_else(|| p.get("id"))
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let tag = p
                    .get("idTag")
                    .or_else(|| p.get("idToken").and_then(|t| t.get("idToken")))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let expiry = p
                    .get("expiryDate")
                    .or_else(|| p.get("expiryDateTime"))
                    .and_then(Value::as_str)
                    .and_then(evgrid_model::time::parse_rfc3339)
                    .map(|t| t - evgrid_model::time::unix_now());
                match self.connectors.get_mut(n.saturating_sub(1) as usize) {
                    Some(c) if c.slot == Slot::Faulted => json!({"status": "Faulted"}),
                    Some(c) if c.slot == Slot::Unavailable => json!({"status": "Unavailable"}),
                    Some(c) if c.slot != Slot::Idle || c.reserved.is_some() => {
                        json!({"status": "Occupied"})
                    }
                    Some(c) => {
                        let seconds = u64::try_from(expiry.unwrap_or(0)).unwrap_or(0);
                        c.reserved = Some((id, tag, Instant::now() + Duration::from_secs(seconds)));
                        self.effects.push_back(Effect::Status(n, "Reserved"));
                        accepted
                    }
                    None => json!({"status": "Rejected"}),
                }
            }
            "CancelReservation" => {
                let id = p["reservationId"].as_i64().unwrap_or(0);
                match self
                    .connectors
                    .iter()
                    .position(|c| c.reserved.as_ref().is_some_and(|(r, _, _)| *r == id))
                {
                    Some(i) => {
                        self.connectors[i].reserved = None;
                        self.effects
                            .push_back(Effect::Status(i as u32 + 1, "Available"));
                        accepted
                    }
                    None => json!({"status": "Rejected"}),
                }
            }
            "Reset" => {
                self.effects.push_back(Effect::Reset);
                accepted
            }
            "ChangeAvailability" => self.change_availability(p),
            "ClearCache" => accepted,
            // 2.0.1: the running cost is shown (nothing to keep); a transaction's status.
            "CostUpdated" => json!({}),
            "GetTransactionStatus" => {
                let tx = p.get("transactionId").and_then(Value::as_str);
                let ongoing = self
                    .connectors
                    .iter()
                    .any(|c| c.transaction.is_some() && c.transaction.as_deref() == tx);
                json!({"ongoingIndicator": ongoing, "messagesInQueue": false})
            }
            "GetConfiguration" => self.device.get_configuration(p),
            "ChangeConfiguration" => self.device.change_configuration(p),
            "GetVariables" | "SetVariables"
                if p.get("getVariableData")
                    .or_else(|| p.get("setVariableData"))
                    .and_then(Value::as_array)
                    .is_some_and(|items| items.len() > self.device.items_per_message()) =>
            {
                let e = FrameError::new(
                    id,
                    ErrorCode::OccurrenceConstraint,
                    format!(
                        "more than ItemsPerMessage ({}) items",
                        self.device.items_per_message()
                    ),
                );
                return self.send(e.to_text(self.options.version)).await;
            }
            "GetVariables" => self.device.get_variables(p),
            "SetVariables" => self.device.set_variables(p),
            "GetBaseReport" => {
                let report = self.device.report(p["requestId"].as_i64().unwrap_or(0));
                self.effects.push_back(Effect::Send("NotifyReport", report));
                accepted
            }
            "SetChargingProfile" => {
                let charging = connector_of(p)
                    .checked_sub(1)
                    .and_then(|i| self.connectors.get(i as usize))
                    .is_some_and(|c| c.slot == Slot::Charging);
                let count = self.connectors.len() as u32;
                self.device.set_charging_profile(p, count, charging)
            }
            "ClearChargingProfile" => self.device.clear_charging_profile(p),
            "GetCompositeSchedule" => self.device.composite_schedule(p),
            "SendLocalList" => self.device.send_local_list(p),
            "GetLocalListVersion" => self.device.local_list_version(),
            "DataTransfer" => json!({"status": "UnknownVendorId"}),
            "GetDiagnostics" => {
                for status in ["Uploading", "Uploaded"] {
                    self.effects.push_back(Effect::Send(
                        "DiagnosticsStatusNotification",
                        json!({ "status": status }),
                    ));
                }
                json!({"fileName": format!("{}-diagnostics.log", self.id)})
            }
            "UpdateFirmware" => {
                for status in ["Downloading", "Downloaded", "Installing", "Installed"] {
                    self.effects.push_back(Effect::Send(
                        "FirmwareStatusNotification",
                        json!({ "status": status }),
                    ));
                }
                json!({})
            }
            "TriggerMessage" => {
                let m = p["requestedMessage"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if TRIGGERABLE.contains(&m.as_str()) {
                    self.effects.push_back(Effect::Trigger(m));
                    accepted
                } else {
                    json!({"status": "NotImplemented"})
                }
            }
            other => {
                let e = FrameError::new(
                    id,
                    ErrorCode::NotImplemented,
                    format!("{other} is not simulated"),
                );
                return self.send(e.to_text(self.options.version)).await;
            }
        };
        self.counters
            .commands_answered
            .fetch_add(1, Ordering::Relaxed);
        self.send(
            Frame::CallResult {
                id: id.to_owned(),
                payload: answer,
            }
            .to_text(),
        )
        .await
    }

    /// ChangeAvailability (1.6 `connectorId` and `type`, 2.0.1 `evse` and `operationalStatus`;
    /// connector 0 or no EVSE: the whole charger). A charging connector turns inoperative when
    /// its charge ends (`Scheduled`).
    fn change_availability(&mut self, p: &Value) -> Value {
        let operative = p
            .get("type")
            .or_else(|| p.get("operationalStatus"))
            .and_then(Value::as_str)
            == Some("Operative");
        let n = p
            .get("connectorId")
            .or_else(|| p.get("evse").and_then(|e| e.get("id")))
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let targets: Vec<usize> = match n {
            0 => (0..self.connectors.len()).collect(),
            n if n <= self.connectors.len() => vec![n - 1],
            _ => return json!({"status": "Rejected"}),
        };
        let mut scheduled = false;
        for i in targets {
            let c = &mut self.connectors[i];
            let next = match (operative, c.slot) {
                (true, Slot::Unavailable) => Slot::Idle,
                (false, Slot::Charging) => {
                    c.inoperative_after_charge = true;
                    scheduled = true;
                    continue;
                }
                (false, _) => Slot::Unavailable,
                (true, other) => {
                    c.inoperative_after_charge = false;
                    other
                }
            };
            if next != c.slot {
                c.slot = next;
                c.reserved = None;
                self.effects
                    .push_back(Effect::Status(i as u32 + 1, next.status()));
            }
        }
        json!({"status": if scheduled { "Scheduled" } else { "Accepted" }})
    }

    async fn status(&mut self, n: u32, status: &str) -> Result<(), SimError> {
        let payload = if self.v16() {
            json!({"connectorId": n, "errorCode": if status == "Faulted" { "InternalError" } else { "NoError" }, "status": status, "timestamp": now()})
        } else {
            let s = match status {
                "Charging" | "Preparing" | "Finishing" => "Occupied",
                other => other,
            };
            json!({"timestamp": now(), "connectorStatus": s, "evseId": n, "connectorId": 1})
        };
        self.call("StatusNotification", payload).await.map(|_| ())
    }

    async fn boot(&mut self) -> Result<(), SimError> {
        let payload = if self.v16() {
            json!({"chargePointVendor": "evgrid-sim", "chargePointModel": "SIM-AC7", "firmwareVersion": "1.0"})
        } else {
            json!({"reason": "PowerUp", "chargingStation": {"vendorName": "evgrid-sim", "model": "SIM-AC7", "firmwareVersion": "1.0"}})
        };
        let answer = self.call("BootNotification", payload).await?;
        if answer["status"] != "Accepted" {
            return Err(SimError::Refused(format!("boot {}", answer["status"])));
        }
        for i in 0..self.connectors.len() {
            let status = self.connectors[i].slot.status();
            self.status(i as u32 + 1, status).await?;
        }
        Ok(())
    }

    fn meter(&self, wh: f64, soc: Option<f64>) -> Value {
        let mut values = vec![if self.v16() {
            json!({"value": format!("{:.0}", wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"})
        } else {
            json!({"value": wh.round(), "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}})
        }];
        if let Some(s) = soc {
            values.push(if self.v16() {
                json!({"value": format!("{s:.0}"), "measurand": "SoC", "unit": "Percent"})
            } else {
                json!({"value": s.round(), "measurand": "SoC"})
            });
        }
        json!([{"timestamp": now(), "sampledValue": values}])
    }

    async fn start(
        &mut self,
        n: u32,
        id_tag: Option<String>,
        remote_start_id: Option<i64>,
    ) -> Result<(), SimError> {
        let i = n.saturating_sub(1) as usize;
        if self.connectors.get(i).is_none_or(|c| c.slot != Slot::Idle) {
            return Ok(());
        }
        let remote = id_tag.is_some();
        // A reservation for this tag is used by the charge (1.6 names it in StartTransaction).
        let reservation = self.connectors[i].reserved.take().map(|(id, _, _)| id);
        let tag = id_tag.unwrap_or_else(|| sim_card(self.rng.next_u64() % SIM_CARDS));
        let token_type = if remote { "Central" } else { "ISO14443" };
        self.status(n, "Preparing").await?;
        let register = self.connectors[i].register_wh;
        let tx = if self.v16() {
            let a = self.call("Authorize", json!({"idTag": tag})).await?;
            if a["idTagInfo"]["status"] != "Accepted" {
                // A card the central system does not accept does not charge.
                return self.status(n, "Available").await;
            }
            let a = self
                .call("StartTransaction", {
                    let mut p = json!({"connectorId": n, "idTag": tag, "meterStart": register.round() as i64, "timestamp": now()});
                    if let Some(id) = reservation {
                        p["reservationId"] = json!(id);
                    }
                    p
                })
                .await?;
            a["transactionId"].as_i64().unwrap_or(0).to_string()
        } else {
            let a = self
                .call(
                    "Authorize",
                    json!({"idToken": {"idToken": tag, "type": token_type}}),
                )
                .await?;
            if a["idTokenInfo"]["status"] != "Accepted" {
                return self.status(n, "Available").await;
            }
            let tx = format!("{}-{n}-{}", self.id, self.next_id);
            let meter = self.meter(register, None);
            let mut info = json!({"transactionId": tx, "chargingState": "Charging"});
            if let Some(id) = remote_start_id {
                info["remoteStartId"] = json!(id);
            }
            self.call(
                "TransactionEvent",
                json!({"eventType": "Started", "timestamp": now(),
                       "triggerReason": if remote { "RemoteStart" } else { "Authorized" }, "seqNo": 0,
                       "transactionInfo": info,
                       "evse": {"id": n, "connectorId": 1}, "idToken": {"idToken": tag, "type": token_type},
                       "meterValue": meter}),
            )
            .await?;
            tx
        };
        let c = &mut self.connectors[i];
        c.slot = Slot::Charging;
        c.transaction = Some(tx);
        c.started = Some(Instant::now());
        c.seq_no = 1;
        c.remote = remote;
        self.counters.sessions.fetch_add(1, Ordering::Relaxed);
        self.status(n, "Charging").await
    }

    async fn stop(&mut self, i: usize, reason: &str) -> Result<(), SimError> {
        let Some(tx) = self.connectors[i].transaction.take() else {
            return Ok(());
        };
        let n = i as u32 + 1;
        let register = self.connectors[i].register_wh;
        if self.v16() {
            let id: i64 = tx.parse().unwrap_or(0);
            self.call("StopTransaction", json!({"transactionId": id, "meterStop": register.round() as i64, "timestamp": now(), "reason": reason}))
                .await?;
        } else {
            let seq = self.connectors[i].seq_no;
            let meter = self.meter(register, None);
            self.call(
                "TransactionEvent",
                json!({"eventType": "Ended", "timestamp": now(), "triggerReason": match reason { "Remote" => "RemoteStop", "ImmediateReset" => "ResetCommand", _ => "StopAuthorized" },
                       "seqNo": seq, "transactionInfo": {"transactionId": tx, "stoppedReason": reason}, "meterValue": meter}),
            )
            .await?;
        }
        let c = &mut self.connectors[i];
        c.slot = if std::mem::take(&mut c.inoperative_after_charge) {
            Slot::Unavailable
        } else {
            Slot::Idle
        };
        c.remote = false;
        c.started = None;
        let after = c.slot.status();
        self.status(n, "Finishing").await?;
        self.status(n, after).await
    }

    async fn meter_tick(&mut self) -> Result<(), SimError> {
        for i in 0..self.connectors.len() {
            if self.connectors[i].slot != Slot::Charging {
                continue;
            }
            let add = f64::from(self.options.power_w)
                * self.device.meter_interval().as_secs_f64()
                * self.options.speedup
                / 3600.0;
            self.connectors[i].register_wh += add;
            let elapsed = self.connectors[i]
                .started
                .map_or(0.0, |s| s.elapsed().as_secs_f64());
            let soc = (20.0 + elapsed * self.options.speedup / 60.0).min(100.0);
            let n = i as u32 + 1;
            let meter = self.meter(self.connectors[i].register_wh, Some(soc));
            let tx = self.connectors[i].transaction.clone().unwrap_or_default();
            if self.v16() {
                let id: i64 = tx.parse().unwrap_or(0);
                self.call(
                    "MeterValues",
                    json!({"connectorId": n, "transactionId": id, "meterValue": meter}),
                )
                .await?;
            } else {
                let seq = self.connectors[i].seq_no;
                self.connectors[i].seq_no += 1;
                self.call(
                    "TransactionEvent",
                    json!({"eventType": "Updated", "timestamp": now(), "triggerReason": "MeterValuePeriodic", "seqNo": seq,
                           "transactionInfo": {"transactionId": tx, "chargingState": "Charging"}, "meterValue": meter}),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Something happens on a random connector.
    async fn event(&mut self) -> Result<(), SimError> {
        // Reservations past their expiry free their connector.
        for i in 0..self.connectors.len() {
            if self.connectors[i]
                .reserved
                .as_ref()
                .is_some_and(|(_, _, until)| *until <= Instant::now())
            {
                self.connectors[i].reserved = None;
                self.status(i as u32 + 1, "Available").await?;
            }
        }
        let i = (self.rng.next_u64() % self.connectors.len() as u64) as usize;
        let n = i as u32 + 1;
        if self.connectors[i].reserved.is_some() {
            return Ok(());
        }
        match self.connectors[i].slot {
            Slot::Idle if self.rng.unit() < self.options.fault_share => {
                self.connectors[i].slot = Slot::Faulted;
                self.status(n, "Faulted").await
            }
            Slot::Idle => self.start(n, None, None).await,
            Slot::Charging if self.connectors[i].remote => Ok(()),
            Slot::Charging => self.stop(i, "Local").await,
            Slot::Faulted => {
                self.connectors[i].slot = Slot::Idle;
                self.status(n, "Available").await
            }
            // Out of service until the central system makes it operative again.
            Slot::Unavailable => Ok(()),
        }
    }

    async fn effects(&mut self) -> Result<(), SimError> {
        while let Some(effect) = self.effects.pop_front() {
            match effect {
                Effect::Start {
                    connector,
                    id_tag,
                    remote_start_id,
                } => self.start(connector, id_tag, remote_start_id).await?,
                Effect::Stop(tx) => {
                    if let Some(i) = self
                        .connectors
                        .iter()
                        .position(|c| c.transaction.as_deref() == Some(tx.as_str()))
                    {
                        self.stop(i, "Remote").await?;
                    }
                }
                Effect::Status(n, status) => self.status(n, status).await?,
                Effect::Send(action, payload) => {
                    self.call(action, payload).await?;
                }
                Effect::Reset => {
                    let reason = if self.v16() {
                        "SoftReset"
                    } else {
                        "ImmediateReset"
                    };
                    for i in 0..self.connectors.len() {
                        if self.connectors[i].slot == Slot::Charging {
                            self.stop(i, reason).await?;
                        }
                    }
                    return Err(SimError::Reset);
                }
                Effect::Trigger(m) => match m.as_str() {
                    "Heartbeat" => {
                        self.call("Heartbeat", json!({})).await?;
                    }
                    "StatusNotification" => {
                        for i in 0..self.connectors.len() {
                            let s = self.connectors[i].slot.status();
                            self.status(i as u32 + 1, s).await?;
                        }
                    }
                    "BootNotification" => self.boot().await?,
                    "MeterValues" => self.meter_tick().await?,
                    "FirmwareStatusNotification" => {
                        self.call("FirmwareStatusNotification", json!({"status": "Idle"}))
                            .await?;
                    }
                    "DiagnosticsStatusNotification" => {
                        self.call("DiagnosticsStatusNotification", json!({"status": "Idle"}))
                            .await?;
                    }
                    _ => {}
                },
            }
        }
        Ok(())
    }

    async fn run(&mut self, stop: &mut watch::Receiver<bool>) -> Result<(), SimError> {
        self.boot().await?;
        self.counters.connected.fetch_add(1, Ordering::Relaxed);
        let mean = self.options.event_interval.as_secs_f64().max(0.1);
        let mut next_event =
            tokio::time::Instant::now() + Duration::from_secs_f64(mean * (0.2 + self.rng.unit()));
        let mut next_meter = tokio::time::Instant::now() + self.device.meter_interval();
        let mut next_heartbeat = tokio::time::Instant::now() + self.device.heartbeat_interval();
        loop {
            self.effects().await?;
            tokio::select! {
                message = self.socket.next() => {
                    let Some(message) = message else { return Err(SimError::Closed) };
                    if let Message::Text(text) = message? {
                        if let Ok(Frame::Call { id, action, payload }) = Frame::parse(&text) {
                            self.answer(&id, &action, &payload).await?;
                        }
                    }
                }
                () = tokio::time::sleep_until(next_event) => {
                    self.event().await?;
                    next_event = tokio::time::Instant::now() + Duration::from_secs_f64(mean * (0.5 + self.rng.unit()));
                }
                () = tokio::time::sleep_until(next_meter) => {
                    self.meter_tick().await?;
                    next_meter = tokio::time::Instant::now() + self.device.meter_interval();
                }
                () = tokio::time::sleep_until(next_heartbeat) => {
                    self.call("Heartbeat", json!({})).await?;
                    next_heartbeat = tokio::time::Instant::now() + self.device.heartbeat_interval();
                }
                _ = stop.changed() => return Err(SimError::Stopped),
            }
        }
    }
}

async fn connect(id: &str, options: &ChargerSimOptions) -> Result<Socket, SimError> {
    let url = format!("{}{id}", options.csms_url);
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        options
            .version
            .subprotocol()
            .parse()
            .map_err(|_| SimError::Refused("subprotocol".into()))?,
    );
    let password = options
        .password
        .clone()
        .unwrap_or_else(|| own_password(id, options.seed));
    request.headers_mut().insert(
        "Authorization",
        evgrid_ocpp::basic_authorization(id, &password)
            .parse()
            .map_err(|_| SimError::Refused("password".into()))?,
    );
    let (socket, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(socket)
}

/// How many cards the simulated drivers charge with at the chargers (local starts).
pub const SIM_CARDS: u64 = 200;

/// The id tag of simulated driver card `n` (below [`SIM_CARDS`]): `SIM-0000`…; `evgrid demo`
/// registers them as tokens.
pub fn sim_card(n: u64) -> String {
    format!("SIM-{n:04}")
}

/// The password a simulated charger presents when none is given: its own, made from its id and
/// the seed, the same at every reconnection (not secret: a simulator's).
pub fn own_password(id: &str, seed: u64) -> String {
    let h = id.bytes().fold(seed ^ 0x9e37_79b9_7f4a_7c15, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("evgrid-sim-{h:016x}")
}

/// Runs one simulated charger until `stop` turns true, reconnecting with backoff when the
/// connection fails.
pub async fn run_charger(
    id: String,
    connectors: u32,
    options: ChargerSimOptions,
    counters: Arc<ChargerCounters>,
    mut stop: watch::Receiver<bool>,
) {
    let seed = options.seed
        ^ id.bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut rng = Rng(seed);
    let mut backoff = Duration::from_secs(1);
    let mut state: Vec<Connector> = (0..connectors.max(1))
        .map(|_| Connector {
            slot: Slot::Idle,
            transaction: None,
            register_wh: (rng.next_u64() % 1_000_000) as f64,
            started: None,
            seq_no: 0,
            remote: false,
            reserved: None,
            inoperative_after_charge: false,
        })
        .collect();
    let mut device = Device::new(options.version, connectors.max(1), options.meter_interval);
    loop {
        if *stop.borrow() {
            return;
        }
        match connect(&id, &options).await {
            Ok(socket) => {
                let mut charger = Charger {
                    id: id.clone(),
                    options: options.clone(),
                    connectors: std::mem::take(&mut state),
                    socket,
                    next_id: 0,
                    effects: VecDeque::new(),
                    rng: Rng(rng.next_u64()),
                    counters: counters.clone(),
                    device: device.clone(),
                };
                let outcome = charger.run(&mut stop).await;
                state = charger.connectors;
                device = charger.device.clone();
                for c in &mut state {
                    // A charge interrupted by a lost connection is over for the simulation;
                    // a connector made inoperative stays so.
                    c.transaction = None;
                    c.slot = match c.slot {
                        Slot::Unavailable => Slot::Unavailable,
                        _ if std::mem::take(&mut c.inoperative_after_charge) => Slot::Unavailable,
                        _ => Slot::Idle,
                    };
                }
                match outcome {
                    Err(SimError::Stopped) => {
                        let _ = charger.socket.close(None).await;
                        return;
                    }
                    Err(SimError::Reset) => {
                        // A reboot: the connection closes cleanly, the charger comes back.
                        let _ = charger.socket.close(None).await;
                        tracing::debug!(charger = %id, "simulated charger: rebooting");
                    }
                    Err(e) => {
                        tracing::debug!(charger = %id, error = %e, "simulated charger: connection ended")
                    }
                    Ok(()) => {}
                }
                backoff = Duration::from_secs(1);
            }
            Err(e) => {
                tracing::debug!(charger = %id, error = %e, "simulated charger: cannot connect")
            }
        }
        counters.reconnects.fetch_add(1, Ordering::Relaxed);
        let pause = backoff.mul_f64(0.5 + rng.unit());
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
}
