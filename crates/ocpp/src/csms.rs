//! The central system's side of one charger connection, without the transport: text frames in,
//! text frames out. Every CALL from the charger is validated against its schema (CALLERROR with
//! the code OCPP-J prescribes, the connection stays up), applied through a [`Backend`] (stored
//! before the answer), and answered; answers to the CALLs the platform sends (commands) are
//! matched to them by message id.

use evgrid_model::time::unix_now;
use std::collections::HashMap;
use std::future::Future;

use evgrid_model::time::{format_rfc3339, parse_rfc3339};
use evgrid_model::{
    Authorization, Channel, ConnectorStatus, Fen, Registration, SessionState, SessionUpdate,
    Verdict, WattHours,
};
use serde_json::{json, Value};

use crate::frame::{ErrorCode, Frame, FrameError, Version};
use crate::schema::{validate, Direction};

/// Largest text frame accepted, bytes; a larger one is answered with a CALLERROR.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Heartbeat interval given to chargers at boot, seconds.
pub const HEARTBEAT_SECONDS: i64 = 300;
/// When a pending charger (not yet commissioned) is told to boot again, seconds; it is asked
/// to boot at once (TriggerMessage) when commissioned.
pub const PENDING_RETRY_SECONDS: i64 = 60;
/// When a rejected charger may boot again, seconds.
pub const REJECTED_RETRY_SECONDS: i64 = 600;

/// What a charger whose boot was answered `Pending` may still send: its boot, proofs of life
/// and what it reports about itself (e.g. the report a provisioning GetBaseReport asks for);
/// nothing that charges. Everything else is answered `SecurityError`, as is everything but a
/// new BootNotification from a `Rejected` charger.
const WHILE_PENDING: [&str; 11] = [
    "BootNotification",
    "Heartbeat",
    "StatusNotification",
    "NotifyReport",
    "NotifyEvent",
    "NotifyMonitoringReport",
    "FirmwareStatusNotification",
    "DiagnosticsStatusNotification",
    "LogStatusNotification",
    "SecurityEventNotification",
    "SignedFirmwareStatusNotification",
];

pub use evgrid_model::StorageError;

/// What a charger said about itself at boot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootInfo {
    /// `1.6` or `2.0.1`.
    pub version: &'static str,
    pub vendor: String,
    pub model: String,
    pub serial: Option<String>,
    pub firmware: Option<String>,
}

/// A connector status as a charger reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// Connector number (1.6 connectorId, 2.0.1 evseId); 0 is the charger itself.
    pub connector: u32,
    pub status: ConnectorStatus,
    /// The protocol's own status name, e.g. `SuspendedEV`.
    pub raw: String,
    pub error_code: Option<String>,
    pub observed_at: i64,
}

/// Storage of what chargers report.
pub trait Backend: Send + Sync {
    /// Notes a boot; whether the charger is commissioned (what the boot is answered).
    fn boot(
        &self,
        charger: &str,
        info: &BootInfo,
    ) -> impl Future<Output = Result<Registration, StorageError>> + Send;
    /// Stores a connector status.
    fn status(
        &self,
        charger: &str,
        report: &StatusReport,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// A new transaction id (1.6, where the central system assigns it).
    fn new_transaction_id(
        &self,
        charger: &str,
    ) -> impl Future<Output = Result<i64, StorageError>> + Send;
    /// Merges a session update; `connector` is the connector number when the message names it
    /// (the update's `connector_id` is left empty for the backend to fill). `register` is the
    /// energy register the message read (Wh): the backend sets the update's energy to
    /// [`energy_since`] the session's meter start (the update's own at the start, else the
    /// stored one it reads anyway), so the message costs one read of the session, not two.
    /// Returns what the session costs so far, when the backend prices it (the charger is told
    /// at the end: 2.0.1 `totalCost`).
    fn session(
        &self,
        charger: &str,
        connector: Option<u32>,
        register: Option<WattHours>,
        update: SessionUpdate,
    ) -> impl Future<Output = Result<Option<Fen>, StorageError>> + Send;
    /// Keeps something the charger reported about itself (`kind` is the action:
    /// firmware, diagnostics or log upload progress, a security event, a report's arrival).
    fn notice(
        &self,
        charger: &str,
        kind: &str,
        detail: &str,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Notes who a transaction runs for, so that a charge the platform started remotely finds
    /// its transaction.
    fn transaction_started_by(
        &self,
        charger: &str,
        session_ref: &str,
        by: StartedBy<'_>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// What the platform says of the id token `token` presented at this charger (Authorize,
    /// and the token a transaction starts or stops with).
    fn authorize(
        &self,
        charger: &str,
        token: &str,
    ) -> impl Future<Output = Result<Authorization, StorageError>> + Send;
    /// The charger says the reservation it holds under `reservation_id` is over (2.0.1
    /// ReservationStatusUpdate: `Expired` or `Removed`).
    fn reservation_ended(
        &self,
        charger: &str,
        reservation_id: i64,
        how: &str,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Signs the charger's certificate signing request (PEM, SignCertificate) with the
    /// platform's certificate authority: the certificate chain (PEM) to send it in
    /// CertificateSigned, or why the request is refused.
    fn sign_certificate(
        &self,
        charger: &str,
        csr: &str,
    ) -> impl Future<Output = Result<Result<String, String>, StorageError>> + Send;
}

/// Energy delivered since the start of a session: the register read now minus the register at
/// the start (never below zero), when both are known.
pub fn energy_since(register: Option<WattHours>, start: Option<WattHours>) -> Option<WattHours> {
    register
        .zip(start)
        .map(|(r, s)| WattHours((r.0 - s.0).max(0)))
}

/// Who a transaction runs for, as the charger said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartedBy<'a> {
    /// The id tag (1.6 `idTag`, 2.0.1 `idToken.idToken`) it was authorized with.
    IdTag(&'a str),
    /// 2.0.1: the `remoteStartId` of the RequestStartTransaction that started it, when the
    /// event names no id token.
    RemoteStart(i64),
}

/// What the transport should do after a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Send this frame (the answer to the charger's CALL, or a CALLERROR).
    Reply(String),
    /// The charger answered one of the platform's CALLs.
    Answer {
        id: String,
        result: Result<Value, (String, String)>,
    },
    /// Nothing to send.
    Nothing,
}

/// One charger's connection.
#[derive(Debug)]
pub struct Connection {
    pub charger: String,
    pub version: Version,
    next_id: u64,
    /// The platform's CALLs awaiting an answer: id → action.
    pending: HashMap<String, String>,
    /// How the charger's last BootNotification was answered (`None`: not yet).
    registration: Option<Registration>,
    /// The platform's own CALLs to send once nothing is in flight (`GetTransactionStatus` on a
    /// gap in a transaction's sequence numbers, `CostUpdated` during a charge).
    follow_ups: std::collections::VecDeque<(&'static str, Value)>,
    /// 2.0.1: per open transaction, the highest `seqNo` seen and when its cost was last sent.
    transactions: HashMap<String, TransactionSeen>,
    /// 2.0.1: whether the charger takes CostUpdated (it stops being sent after a CALLERROR).
    cost_updates: bool,
}

/// What a connection remembers of one of its charger's 2.0.1 transactions.
#[derive(Debug, Clone, Copy, Default)]
struct TransactionSeen {
    seq_no: i64,
    cost_sent_at: Option<i64>,
    cost_sent: Option<Fen>,
}

/// Most open transactions a connection remembers (a charger has a few EVSEs).
const TRANSACTIONS_REMEMBERED: usize = 64;
/// Least seconds between two CostUpdated of one transaction.
pub const COST_UPDATE_SECONDS: i64 = 60;

/// The unified status of a 1.6 or 2.0.1 connector status name.
pub fn unified_status(raw: &str) -> ConnectorStatus {
    match raw {
        "Available" => ConnectorStatus::Available,
        "Charging" => ConnectorStatus::Charging,
        "Preparing" | "Finishing" | "SuspendedEV" | "SuspendedEVSE" | "Occupied" => {
            ConnectorStatus::Occupied
        }
        "Reserved" => ConnectorStatus::Reserved,
        "Unavailable" => ConnectorStatus::Offline,
        "Faulted" => ConnectorStatus::Faulted,
        _ => ConnectorStatus::Unknown,
    }
}

/// evgrid's stop-reason code of an OCPP reason: 0 by the driver, 1 by the platform, 2 by the
/// vehicle, 3 fault, 4 unplugged, 99 other.
pub fn stop_reason_code(reason: &str) -> i32 {
    match reason {
        "Local" => 0,
        "Remote" => 1,
        "EVDisconnected" | "EVDeparted" => 4,
        "SOCLimitReached" | "StoppedByEV" => 2,
        "EmergencyStop" | "PowerLoss" | "GroundFault" | "OvercurrentFault" | "PowerQuality" => 3,
        _ => 99,
    }
}

fn internal(e: StorageError) -> (ErrorCode, String) {
    match e {
        StorageError::Invalid(m) => (ErrorCode::PropertyConstraint, m),
        StorageError::Failed(m) => {
            tracing::error!(error = %m, "OCPP message not stored");
            (
                ErrorCode::Internal,
                "the central system could not store the message".into(),
            )
        }
    }
}

/// Energy register (Wh) and state of charge from OCPP meter values (both versions' shapes).
fn meter_readings(meter_values: Option<&Value>) -> (Option<WattHours>, Option<f64>) {
    let mut energy = None;
    let mut soc = None;
    for mv in meter_values.and_then(Value::as_array).into_iter().flatten() {
        for sv in mv
            .get("sampledValue")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let measurand = sv
                .get("measurand")
                .and_then(Value::as_str)
                .unwrap_or("Energy.Active.Import.Register");
            // 1.6 sends the value as a string, 2.0.1 as a number.
            let value = match sv.get("value") {
                Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                Some(v) => v.as_f64(),
                None => None,
            };
            let Some(value) = value.filter(|v| v.is_finite()) else {
                continue;
            };
            let unit = sv
                .get("unit")
                .and_then(Value::as_str)
                .or_else(|| {
                    sv.get("unitOfMeasure")
                        .and_then(|u| u.get("unit"))
                        .and_then(Value::as_str)
                })
                .unwrap_or("Wh");
            match measurand {
                "Energy.Active.Import.Register" => {
                    let wh = if unit.eq_ignore_ascii_case("kWh") {
                        value * 1000.0
                    } else {
                        value
                    };
                    energy = Some(WattHours(wh.round() as i64));
                }
                "SoC" => soc = Some(value),
                _ => {}
            }
        }
    }
    (energy, soc)
}

/// What a notice says, in a line: the status, a security event's type and information, or a
/// report's part and size.
fn notice_detail(action: &str, p: &Value) -> String {
    let text = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default();
    match action {
        "SecurityEventNotification" => match text("techInfo") {
            "" => text("type").to_owned(),
            info => format!("{}: {info}", text("type")),
        },
        "ReservationStatusUpdate" => format!(
            "reservation {}: {}",
            p["reservationId"],
            text("reservationUpdateStatus")
        ),
        // Kept as compact JSON, read back per connector by `connector_conditions`.
        "NotifyChargingLimit" => json!({
            "evse": p.get("evseId"),
            "source": p["chargingLimit"]["chargingLimitSource"],
            "grid_critical": p["chargingLimit"].get("isGridCritical"),
            "schedules": p.get("chargingSchedule").and_then(Value::as_array).map_or(0, Vec::len),
        })
        .to_string(),
        "ClearedChargingLimit" => {
            json!({"evse": p.get("evseId"), "source": p["chargingLimitSource"], "cleared": true})
                .to_string()
        }
        "NotifyEVChargingNeeds" => {
            let needs = &p["chargingNeeds"];
            let ac = &needs["acChargingParameters"];
            let dc = &needs["dcChargingParameters"];
            json!({
                "evse": p.get("evseId"),
                "transfer": needs["requestedEnergyTransfer"],
                "departure": needs.get("departureTime"),
                "energy_wh": ac.get("energyAmount").or_else(|| dc.get("energyAmount")),
                "max_current_a": ac.get("evMaxCurrent").or_else(|| dc.get("evMaxCurrent")),
                "max_voltage_v": ac.get("evMaxVoltage").or_else(|| dc.get("evMaxVoltage")),
                "max_power_w": dc.get("evMaxPower"),
            })
            .to_string()
        }
        "NotifyReport" => format!(
            "report {} part {}: {} variables",
            p["requestId"],
            p["seqNo"],
            p["reportData"].as_array().map_or(0, Vec::len)
        ),
        _ => match text("status") {
            // The message itself, in short, for the others.
            "" => {
                let mut whole = p.to_string();
                if whole.len() > NOTICE_DETAIL_MOST {
                    let mut end = NOTICE_DETAIL_MOST;
                    while !whole.is_char_boundary(end) {
                        end -= 1;
                    }
                    whole.truncate(end);
                    whole.push('…');
                }
                whole
            }
            status => status.to_owned(),
        },
    }
}

/// The longest detail kept of a charger's notice (bytes).
const NOTICE_DETAIL_MOST: usize = 500;

fn time_of(payload: &Value, field: &str) -> i64 {
    payload
        .get(field)
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
        .unwrap_or_else(unix_now)
}

fn u32_of(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

impl Connection {
    /// A connection of `charger` speaking `version`.
    pub fn new(charger: impl Into<String>, version: Version) -> Self {
        Self {
            charger: charger.into(),
            version,
            next_id: 0,
            pending: HashMap::new(),
            registration: None,
            follow_ups: std::collections::VecDeque::new(),
            transactions: HashMap::new(),
            cost_updates: true,
        }
    }

    /// Whether the charger has sent its BootNotification (and it was answered).
    pub fn booted(&self) -> bool {
        self.registration.is_some()
    }

    /// How the charger's last BootNotification was answered.
    pub fn registration(&self) -> Option<Registration> {
        self.registration
    }

    /// The next CALL the platform itself wants to send (the session sends it when no other
    /// CALL is in flight): `GetTransactionStatus` when a transaction's sequence numbers show a
    /// gap (E_31), `CostUpdated` with the running cost during a charge (I_02).
    pub fn next_follow_up(&mut self) -> Option<(&'static str, Value)> {
        self.follow_ups.pop_front()
    }

    /// Notes a 2.0.1 transaction event: a gap in its sequence numbers asks the charger for the
    /// transaction's status; its running cost is sent at most every [`COST_UPDATE_SECONDS`]
    /// while it changes; an ended transaction is forgotten.
    fn follow_transaction(
        &mut self,
        transaction: &str,
        event: &str,
        seq_no: Option<i64>,
        cost: Option<Fen>,
        now: i64,
    ) {
        if event == "Ended" {
            self.transactions.remove(transaction);
            return;
        }
        if !self.transactions.contains_key(transaction)
            && self.transactions.len() >= TRANSACTIONS_REMEMBERED
        {
            return;
        }
        let seen = self.transactions.entry(transaction.to_owned()).or_default();
        if let Some(seq) = seq_no {
            let known = event != "Started" || seen.seq_no > 0;
            if known && seq > seen.seq_no + 1 {
                tracing::info!(charger = %self.charger, transaction, after = seen.seq_no, seq, "sequence numbers skip: asking for the transaction's status");
                self.follow_ups.push_back((
                    "GetTransactionStatus",
                    json!({"transactionId": transaction}),
                ));
            }
            seen.seq_no = seen.seq_no.max(seq);
        }
        let due = seen
            .cost_sent_at
            .is_none_or(|at| now - at >= COST_UPDATE_SECONDS);
        if let (true, true, Some(cost)) = (self.cost_updates, due, cost) {
            if seen.cost_sent != Some(cost) && event == "Updated" {
                seen.cost_sent = Some(cost);
                seen.cost_sent_at = Some(now);
                self.follow_ups.push_back((
                    "CostUpdated",
                    json!({"totalCost": cost.yuan(), "transactionId": transaction}),
                ));
            }
        }
    }

    /// SignCertificate (1.6 security extension, 2.0.1 A02/A03): the request signed by the
    /// platform's authority is answered Accepted and its chain follows in CertificateSigned;
    /// a request that does not hold, names another charger or asks for a V2G certificate
    /// (ISO 15118's own PKI, not the platform's) is Rejected. Either way it is noted.
    async fn sign_certificate<B: Backend>(
        &mut self,
        backend: &B,
        p: &Value,
    ) -> Result<Value, (ErrorCode, String)> {
        let kind = p.get("certificateType").and_then(Value::as_str);
        let csr = p["csr"].as_str().unwrap_or_default();
        let signed = if kind == Some("V2GCertificate") {
            Err("V2G certificates are signed by the ISO 15118 PKI, not by this platform".into())
        } else {
            backend
                .sign_certificate(&self.charger, csr)
                .await
                .map_err(internal)?
        };
        let (detail, answer) = match signed {
            Ok(chain) => {
                let mut payload = json!({"certificateChain": chain});
                if let (Version::V201, Some(kind)) = (self.version, kind) {
                    payload["certificateType"] = json!(kind);
                }
                self.follow_ups.push_back(("CertificateSigned", payload));
                (
                    "signed: CertificateSigned follows".to_owned(),
                    json!({"status": "Accepted"}),
                )
            }
            Err(reason) => {
                let answer = match self.version {
                    Version::V16 => json!({"status": "Rejected"}),
                    Version::V201 => json!({"status": "Rejected", "statusInfo": {
                        "reasonCode": "InvalidCSR",
                        "additionalInfo": reason.chars().take(512).collect::<String>(),
                    }}),
                };
                (format!("refused: {reason}"), answer)
            }
        };
        backend
            .notice(&self.charger, "SignCertificate", &detail)
            .await
            .map_err(internal)?;
        Ok(answer)
    }

    /// Whether a CALL of the platform awaits its answer (OCPP-J: one at a time).
    pub fn busy(&self) -> bool {
        !self.pending.is_empty()
    }

    /// A CALL frame for a command, validated against the action's request schema first.
    pub fn call(&mut self, action: &str, payload: Value) -> Result<(String, String), FrameError> {
        validate(self.version, action, Direction::Request, &payload)
            .map_err(|v| FrameError::new("", v.code, format!("{action} {}", v)))?;
        self.next_id += 1;
        let id = format!("evgrid-{}", self.next_id);
        self.pending.insert(id.clone(), action.to_owned());
        let text = Frame::Call {
            id: id.clone(),
            action: action.to_owned(),
            payload,
        }
        .to_text();
        Ok((id, text))
    }

    /// Forgets a CALL that timed out.
    pub fn abandon(&mut self, id: &str) {
        self.pending.remove(id);
    }

    fn error(&self, id: &str, code: ErrorCode, description: impl Into<String>) -> Outcome {
        let e = FrameError::new(id, code, description);
        tracing::info!(charger = %self.charger, code = e.code.wire(self.version), description = %e.description, "OCPP CALLERROR");
        Outcome::Reply(e.to_text(self.version))
    }

    /// Handles one text frame from the charger.
    pub async fn on_text<B: Backend>(&mut self, backend: &B, text: &str) -> Outcome {
        if text.len() > MAX_FRAME_BYTES {
            // Try to answer the message by its id; the frame itself is not read further.
            let id = Frame::parse(text).ok().map_or_else(
                || "-1".to_owned(),
                |f| match f {
                    Frame::Call { id, .. }
                    | Frame::CallResult { id, .. }
                    | Frame::CallError { id, .. } => id,
                },
            );
            return self.error(
                &id,
                ErrorCode::Format,
                format!(
                    "the message is {} bytes; at most {MAX_FRAME_BYTES}",
                    text.len()
                ),
            );
        }
        let frame = match Frame::parse(text) {
            Ok(f) => f,
            Err(e) => return self.error(&e.id, e.code, e.description),
        };
        match frame {
            Frame::Call {
                id,
                action,
                payload,
            } => {
                if let Err(v) = validate(self.version, &action, Direction::Request, &payload) {
                    return self.error(&id, v.code, format!("{action}: {v}"));
                }
                let refused = match self.registration {
                    Some(Registration::Pending) => !WHILE_PENDING.contains(&action.as_str()),
                    Some(Registration::Rejected) => action != "BootNotification",
                    Some(Registration::Accepted) | None => false,
                };
                if refused {
                    let state = self
                        .registration
                        .map(Registration::as_str)
                        .unwrap_or_default();
                    return self.error(
                        &id,
                        ErrorCode::Security,
                        format!("{action}: the charger is not commissioned ({state}); boot again once it is"),
                    );
                }
                match self.apply(backend, &action, &payload).await {
                    Ok(answer) => {
                        if action == "BootNotification" {
                            self.registration = Some(match answer["status"].as_str() {
                                Some("Pending") => Registration::Pending,
                                Some("Rejected") => Registration::Rejected,
                                _ => Registration::Accepted,
                            });
                        }
                        debug_assert!(
                            validate(self.version, &action, Direction::Response, &answer).is_ok(),
                            "{action} answer {answer}"
                        );
                        Outcome::Reply(
                            Frame::CallResult {
                                id,
                                payload: answer,
                            }
                            .to_text(),
                        )
                    }
                    Err((code, msg)) => self.error(&id, code, msg),
                }
            }
            Frame::CallResult { id, payload } => match self.pending.remove(&id) {
                Some(action) => {
                    let result = validate(self.version, &action, Direction::Response, &payload)
                        .map(|()| payload)
                        .map_err(|v| {
                            (
                                v.code.wire(self.version).to_owned(),
                                format!("the charger's {action} answer is invalid: {v}"),
                            )
                        });
                    Outcome::Answer { id, result }
                }
                None => {
                    tracing::debug!(charger = %self.charger, %id, "CALLRESULT for no pending CALL; ignored");
                    Outcome::Nothing
                }
            },
            Frame::CallError {
                id,
                code,
                description,
                ..
            } => {
                if self.pending.get(&id).map(String::as_str) == Some("CostUpdated") {
                    tracing::info!(charger = %self.charger, %code, "the charger refuses CostUpdated: not sent again on this connection");
                    self.cost_updates = false;
                }
                if self.pending.remove(&id).is_some() {
                    Outcome::Answer {
                        id,
                        result: Err((code, description)),
                    }
                } else {
                    Outcome::Nothing
                }
            }
        }
    }

    fn session_ref(&self, transaction: &str) -> String {
        format!("{}:{transaction}", self.charger)
    }

    /// The token's verdict as this version spells it (1.6 `IdTagInfo`, 2.0.1 `IdTokenInfo`).
    /// A 2.0.1 `NoAuthorization` token (the charger needs none) is accepted without a look-up.
    async fn token_info<B: Backend>(
        &self,
        backend: &B,
        token: Option<&str>,
    ) -> Result<Value, (ErrorCode, String)> {
        let authorization = match token {
            Some(t) if !t.is_empty() => backend
                .authorize(&self.charger, t)
                .await
                .map_err(internal)?,
            _ => Authorization::plain(Verdict::Accepted),
        };
        Ok(token_info(self.version, &authorization))
    }

    async fn apply<B: Backend>(
        &mut self,
        backend: &B,
        action: &str,
        p: &Value,
    ) -> Result<Value, (ErrorCode, String)> {
        let t = unix_now();
        match (self.version, action) {
            (_, "BootNotification") => {
                let info = match self.version {
                    Version::V16 => BootInfo {
                        version: self.version.label(),
                        vendor: p["chargePointVendor"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        model: p["chargePointModel"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        serial: p
                            .get("chargePointSerialNumber")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        firmware: p
                            .get("firmwareVersion")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    },
                    Version::V201 => {
                        let cs = &p["chargingStation"];
                        BootInfo {
                            version: self.version.label(),
                            vendor: cs["vendorName"].as_str().unwrap_or_default().to_owned(),
                            model: cs["model"].as_str().unwrap_or_default().to_owned(),
                            serial: cs
                                .get("serialNumber")
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                            firmware: cs
                                .get("firmwareVersion")
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                        }
                    }
                };
                let registration = backend.boot(&self.charger, &info).await.map_err(internal)?;
                let (status, interval) = match registration {
                    Registration::Accepted => ("Accepted", HEARTBEAT_SECONDS),
                    Registration::Pending => ("Pending", PENDING_RETRY_SECONDS),
                    Registration::Rejected => ("Rejected", REJECTED_RETRY_SECONDS),
                };
                Ok(
                    json!({"status": status, "currentTime": format_rfc3339(t), "interval": interval}),
                )
            }
            (_, "Heartbeat") => Ok(json!({"currentTime": format_rfc3339(t)})),
            (_, "StatusNotification") => {
                let (connector, raw, error_code) = match self.version {
                    Version::V16 => (
                        u32_of(p.get("connectorId")).unwrap_or(0),
                        p["status"].as_str().unwrap_or_default(),
                        p.get("errorCode")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    ),
                    Version::V201 => (
                        u32_of(p.get("evseId")).unwrap_or(0),
                        p["connectorStatus"].as_str().unwrap_or_default(),
                        None,
                    ),
                };
                if connector > 0 {
                    let report = StatusReport {
                        connector,
                        status: unified_status(raw),
                        raw: raw.to_owned(),
                        error_code,
                        observed_at: time_of(p, "timestamp"),
                    };
                    backend
                        .status(&self.charger, &report)
                        .await
                        .map_err(internal)?;
                }
                Ok(json!({}))
            }
            (Version::V16, "Authorize") => {
                let info = self.token_info(backend, p["idTag"].as_str()).await?;
                Ok(json!({"idTagInfo": info}))
            }
            (Version::V201, "Authorize") => {
                let info = self.token_info(backend, token_of(p)).await?;
                Ok(json!({"idTokenInfo": info}))
            }
            (Version::V16, "StartTransaction") => {
                let connector = u32_of(p.get("connectorId")).unwrap_or(0);
                let id = backend
                    .new_transaction_id(&self.charger)
                    .await
                    .map_err(internal)?;
                let meter_start = p["meterStart"].as_i64().map(WattHours);
                let session_ref = self.session_ref(&id.to_string());
                let update = SessionUpdate {
                    session_ref: session_ref.clone(),
                    state: Some(SessionState::Charging),
                    raw_state: Some(2),
                    started_at: Some(time_of(p, "timestamp")),
                    energy: Some(WattHours(0)),
                    meter_start,
                    ..SessionUpdate::reported_by(Channel::Ocpp)
                };
                backend
                    .session(&self.charger, Some(connector), meter_start, update)
                    .await
                    .map_err(internal)?;
                let tag = p["idTag"].as_str();
                if let Some(tag) = tag {
                    backend
                        .transaction_started_by(&self.charger, &session_ref, StartedBy::IdTag(tag))
                        .await
                        .map_err(internal)?;
                }
                // The transaction is kept whatever the token's verdict: the charger started it
                // and stops it when told the token is not accepted (StopTransactionOnInvalidId).
                let info = self.token_info(backend, tag).await?;
                Ok(json!({"transactionId": id, "idTagInfo": info}))
            }
            (Version::V16, "MeterValues") => {
                if let Some(tx) = p.get("transactionId").and_then(Value::as_i64) {
                    let session_ref = self.session_ref(&tx.to_string());
                    let (register, soc) = meter_readings(p.get("meterValue"));
                    let update = SessionUpdate {
                        session_ref,
                        soc,
                        ..SessionUpdate::reported_by(Channel::Ocpp)
                    };
                    backend
                        .session(
                            &self.charger,
                            u32_of(p.get("connectorId")),
                            register,
                            update,
                        )
                        .await
                        .map_err(internal)?;
                }
                Ok(json!({}))
            }
            (Version::V16, "StopTransaction") => {
                let session_ref =
                    self.session_ref(&p["transactionId"].as_i64().unwrap_or(0).to_string());
                let stop = p["meterStop"].as_i64().map(WattHours);
                let update = SessionUpdate {
                    session_ref,
                    state: Some(SessionState::Finished),
                    raw_state: Some(4),
                    ended_at: Some(time_of(p, "timestamp")),
                    stop_reason: Some(stop_reason_code(
                        p.get("reason").and_then(Value::as_str).unwrap_or("Local"),
                    )),
                    ..SessionUpdate::reported_by(Channel::Ocpp)
                };
                backend
                    .session(&self.charger, None, stop, update)
                    .await
                    .map_err(internal)?;
                // The token the charge was stopped with, when the charger names one.
                match p.get("idTag").and_then(Value::as_str) {
                    Some(tag) => {
                        Ok(json!({"idTagInfo": self.token_info(backend, Some(tag)).await?}))
                    }
                    None => Ok(json!({})),
                }
            }
            (Version::V201, "TransactionEvent") => {
                let info = &p["transactionInfo"];
                let session_ref =
                    self.session_ref(info["transactionId"].as_str().unwrap_or_default());
                let event = p["eventType"].as_str().unwrap_or_default();
                let (register, soc) = meter_readings(p.get("meterValue"));
                let at = time_of(p, "timestamp");
                let charging = info.get("chargingState").and_then(Value::as_str);
                let update = SessionUpdate {
                    session_ref: session_ref.clone(),
                    state: Some(match event {
                        "Ended" => SessionState::Finished,
                        _ if charging == Some("Charging") => SessionState::Charging,
                        "Started" => SessionState::Starting,
                        _ => SessionState::Charging,
                    }),
                    started_at: (event == "Started").then_some(at),
                    ended_at: (event == "Ended").then_some(at),
                    soc,
                    stop_reason: (event == "Ended").then(|| {
                        stop_reason_code(
                            info.get("stoppedReason")
                                .and_then(Value::as_str)
                                .unwrap_or("Local"),
                        )
                    }),
                    meter_start: if event == "Started" { register } else { None },
                    ..SessionUpdate::reported_by(Channel::Ocpp)
                };
                let connector = u32_of(p.get("evse").and_then(|e| e.get("id")));
                let cost = backend
                    .session(&self.charger, connector, register, update)
                    .await
                    .map_err(internal)?;
                let by = token_of(p)
                    .filter(|t| !t.is_empty())
                    .map(StartedBy::IdTag)
                    .or_else(|| {
                        info.get("remoteStartId")
                            .and_then(Value::as_i64)
                            .map(StartedBy::RemoteStart)
                    });
                if let Some(by) = by {
                    backend
                        .transaction_started_by(&self.charger, &session_ref, by)
                        .await
                        .map_err(internal)?;
                }
                if let Some(tx) = info["transactionId"].as_str() {
                    let seq_no = p.get("seqNo").and_then(Value::as_i64);
                    self.follow_transaction(tx, event, seq_no, cost, t);
                }
                // E01.FR.12: the token's status when the event carries one; I02: the total cost
                // at the end, in the currency's main unit.
                let mut answer = serde_json::Map::new();
                if p.get("idToken").is_some() {
                    let info = self.token_info(backend, token_of(p)).await?;
                    answer.insert("idTokenInfo".into(), info);
                }
                if let (true, Some(cost)) = (event == "Ended", cost) {
                    answer.insert("totalCost".into(), json!(cost.yuan()));
                }
                Ok(Value::Object(answer))
            }
            (Version::V201, "MeterValues") => Ok(json!({})),
            (_, "SignCertificate") => self.sign_certificate(backend, p).await,
            (_, "DataTransfer") => Ok(json!({"status": "UnknownVendorId"})),
            (
                _,
                "FirmwareStatusNotification"
                | "DiagnosticsStatusNotification"
                | "LogStatusNotification"
                | "SecurityEventNotification"
                | "NotifyReport"
                | "SignedFirmwareStatusNotification"
                | "PublishFirmwareStatusNotification"
                | "ReportChargingProfiles"
                | "NotifyChargingLimit"
                | "ClearedChargingLimit"
                | "NotifyCustomerInformation"
                | "NotifyDisplayMessages"
                | "ReservationStatusUpdate"
                | "NotifyEVChargingNeeds"
                | "NotifyEVChargingSchedule"
                | "GetCertificateStatus"
                | "Get15118EVCertificate",
            ) => {
                // Kept as the charger's notices (shown on its page), answered as evgrid can.
                if let ("ReservationStatusUpdate", Some(reservation)) =
                    (action, p.get("reservationId").and_then(Value::as_i64))
                {
                    let how = p["reservationUpdateStatus"].as_str().unwrap_or_default();
                    backend
                        .reservation_ended(&self.charger, reservation, how)
                        .await
                        .map_err(internal)?;
                }
                let detail = notice_detail(action, p);
                backend
                    .notice(&self.charger, action, &detail)
                    .await
                    .map_err(internal)?;
                Ok(match action {
                    // evgrid computes no charging schedules: the EV's needs are noted, not met.
                    "NotifyEVChargingNeeds" => {
                        json!({"status": "Rejected", "statusInfo": {"reasonCode": "NoSmartCharging"}})
                    }
                    "NotifyEVChargingSchedule" => json!({"status": "Accepted"}),
                    // No OCSP responder or ISO 15118 certificate pool is configured.
                    "GetCertificateStatus" => {
                        json!({"status": "Failed", "statusInfo": {"reasonCode": "NoOcspResponder"}})
                    }
                    "Get15118EVCertificate" => json!({"status": "Failed", "exiResponse": ""}),
                    _ => json!({}),
                })
            }
            (_, "NotifyEvent" | "NotifyMonitoringReport") => Ok(json!({})),
            (_, other) => Err((
                ErrorCode::NotSupported,
                format!("{other} is a valid OCPP action that evgrid does not support"),
            )),
        }
    }
}

/// What a charger last said of connector (EVSE) `connector`'s charging limit (2.0.1
/// NotifyChargingLimit, or ClearedChargingLimit: `cleared`) and of the EV's charging needs
/// (NotifyEVChargingNeeds), from its notices (newest first): `{"charging_limit": …,
/// "ev_charging_needs": …}`, each with the time it arrived (`at`) or `null`. A notice without
/// an EVSE (or for EVSE 0) concerns the whole charger.
pub fn connector_conditions(notices: &[evgrid_model::ChargerNotice], connector: u32) -> Value {
    let latest = |kinds: &[&str]| {
        notices.iter().find_map(|n| {
            if !kinds.contains(&n.kind.as_str()) {
                return None;
            }
            let mut v: Value = serde_json::from_str(&n.detail).ok()?;
            // No EVSE (or EVSE 0): the whole charger, so every connector.
            let evse = v["evse"].as_u64().unwrap_or(0);
            (evse == 0 || evse == u64::from(connector)).then(|| {
                v["kind"] = json!(n.kind);
                v["at"] = json!(n.at);
                v
            })
        })
    };
    json!({
        "charging_limit": latest(&["NotifyChargingLimit", "ClearedChargingLimit"]),
        "ev_charging_needs": latest(&["NotifyEVChargingNeeds"]),
    })
}

/// The id token of a 2.0.1 message (`idToken.idToken`); `None` for a `NoAuthorization` token.
fn token_of(p: &Value) -> Option<&str> {
    let token = p.get("idToken")?;
    if token.get("type").and_then(Value::as_str) == Some("NoAuthorization") {
        return None;
    }
    token.get("idToken").and_then(Value::as_str)
}

/// A verdict on the wire: 1.6 `IdTagInfo` (no `Unknown` or `NotAtThisLocation`: both are
/// `Invalid`; the group as `parentIdTag` when it fits its 20 characters) or 2.0.1
/// `IdTokenInfo` (the group as a central `groupIdToken`).
pub fn token_info(version: Version, a: &Authorization) -> Value {
    let mut info = serde_json::Map::new();
    let status = match (version, a.verdict) {
        (_, Verdict::Accepted) => "Accepted",
        (_, Verdict::Blocked) => "Blocked",
        (_, Verdict::Expired) => "Expired",
        (_, Verdict::Invalid) | (Version::V16, Verdict::Unknown | Verdict::NotAtThisLocation) => {
            "Invalid"
        }
        (Version::V201, Verdict::Unknown) => "Unknown",
        (Version::V201, Verdict::NotAtThisLocation) => "NotAtThisLocation",
    };
    info.insert("status".into(), json!(status));
    match version {
        Version::V16 => {
            if let Some(g) = a.group_id.as_deref().filter(|g| g.len() <= 20) {
                info.insert("parentIdTag".into(), json!(g));
            }
            if let Some(t) = a.expires_at {
                info.insert("expiryDate".into(), json!(format_rfc3339(t)));
            }
        }
        Version::V201 => {
            if let Some(g) = &a.group_id {
                info.insert(
                    "groupIdToken".into(),
                    json!({"idToken": g, "type": "Central"}),
                );
            }
            if let Some(t) = a.expires_at {
                info.insert("cacheExpiryDateTime".into(), json!(format_rfc3339(t)));
            }
        }
    }
    Value::Object(info)
}

#[cfg(test)]
mod tests;
