//! Superior platforms: the provincial (or national) supervision platforms a city platform
//! reports to, and the queue of what is still to be reported to each (the outbox).

use serde::{Deserialize, Serialize};

/// A superior platform as stored: where it is, who evgrid is there, the secrets it issued
/// (sealed by the application before they are stored) and its profile (what it takes, how
/// often, which answers count as delivered), kept as the profile's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superior {
    pub id: String,
    pub name: String,
    /// The superior's T/CEC base URL, e.g. `http://host:port/evcs/v1/`.
    pub base_url: String,
    /// evgrid's OperatorID at the superior (the envelope's sender).
    pub platform_operator_id: String,
    pub operator_secret: String,
    pub data_secret: String,
    pub data_secret_iv: String,
    pub sig_secret: String,
    /// The profile as JSON (the protocol adapter reads it).
    pub profile: String,
    pub created_at: i64,
}

/// What an outbox item reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// A station added or changed (key: the station id).
    Station,
    /// A connector's live status (key: the connector id).
    Status,
    /// A finished order (key: the operator's session reference).
    Order,
    /// The daily reconciliation of a day's orders (key: the day, `YYYY-MM-DD`, China time).
    OrderCheck,
    /// The start (or refusal) of a charge a driver started through evgrid (key: the charge id).
    StartResult,
    /// The stop of such a charge (key: the charge id).
    StopResult,
}

impl ReportKind {
    /// Every kind, in the order reports are listed.
    pub const ALL: [ReportKind; 6] = [
        ReportKind::Station,
        ReportKind::Status,
        ReportKind::Order,
        ReportKind::OrderCheck,
        ReportKind::StartResult,
        ReportKind::StopResult,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Station => "station",
            ReportKind::Status => "status",
            ReportKind::Order => "order",
            ReportKind::OrderCheck => "order_check",
            ReportKind::StartResult => "start_result",
            ReportKind::StopResult => "stop_result",
        }
    }

    /// The kind of a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One fact still to be reported (or reported) to a superior.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub superior_id: String,
    pub kind: ReportKind,
    /// The operator the fact belongs to (empty for a city-wide item such as the daily check).
    pub operator_id: String,
    pub key: String,
    /// When the fact was stored, milliseconds since 1970 (the start of the delivery lag).
    pub created_ms: i64,
    /// Attempts made so far.
    pub attempts: i32,
    /// Changes of the fact that met this item while pending: it is delivered only if none
    /// came while it was being sent.
    pub changes: i32,
}

/// What became of one attempt to deliver an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// The superior acknowledged it (or had nothing new to hear: `unchanged`); done.
    Delivered { unchanged: bool },
    /// Try again at this time (milliseconds since 1970).
    RetryAt(i64),
    /// Not attempted: wait until this time (a connector's status waits for its station to
    /// reach the superior first). No attempt is counted.
    Postpone(i64),
    /// Given up: a retry cannot help, or the last retry of the profile failed. Flagged for
    /// the regulator.
    GivenUp,
}

/// One attempt as counted per superior, interface and answer code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The interface's wire name.
    pub interface: String,
    /// The answer's `Ret`; `None` where no answer came (network error, time-out).
    pub ret: Option<i32>,
    /// Whether it counted as delivered.
    pub delivered: bool,
    /// Milliseconds since 1970.
    pub at_ms: i64,
}

/// A counted row: attempts at one interface with one answer code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptCount {
    pub interface: String,
    /// `None`: no answer (network error, time-out, HTTP error).
    pub ret: Option<i32>,
    pub delivered: bool,
    pub count: i64,
    pub last_ms: i64,
}

/// The state of a superior's outbox by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BacklogRow {
    pub kind: String,
    pub pending: i64,
    pub given_up: i64,
    pub delivered: i64,
    /// Creation time of the oldest pending item, milliseconds since 1970.
    pub oldest_pending_ms: Option<i64>,
}

/// An order the superior disputed in a daily check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisputedOrder {
    pub day: String,
    pub operator_id: String,
    pub session_ref: String,
    /// The order number as the superior knows it.
    pub superior_ref: String,
    /// The superior's reason code (1 not found, 2 money differs, 3 energy differs, or its own).
    pub reason: i32,
    pub at_ms: i64,
}

/// How a superior's reporting stands, as the store counts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryFigures {
    pub attempts: Vec<AttemptCount>,
    pub backlog: Vec<BacklogRow>,
    /// The last attempt that counted as delivered, milliseconds since 1970.
    pub last_success_ms: Option<i64>,
    /// Lags (milliseconds from the fact to its acknowledgement) of the latest delivered items.
    pub recent_lags_ms: Vec<i64>,
}
