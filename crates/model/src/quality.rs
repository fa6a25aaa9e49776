//! What the operators' data-quality report is made of: the identity of each protocol message
//! (so a repeat is not applied twice), message counts by answer, and reconciliation requests.

use crate::OperatorId;

/// One protocol message's identity, kept with what it changed so that a message applied once
/// is not applied again: the operator, the interface it came on, and the message's own time
/// stamp and sequence (T/CEC `TimeStamp` and `Seq`; for an OCPP session message, what it
/// reports: session, time, state and energy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushId {
    pub operator_id: OperatorId,
    pub interface: &'static str,
    pub time_stamp: String,
    pub seq: String,
}

/// What storage could not do, as a protocol adapter must answer it: the message refers to
/// something the platform does not know (the sender's fault: the protocol's "invalid data"
/// answer), or storing failed (the platform's fault: nothing is acknowledged).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The message refers to something unknown (T/CEC 4004, OCPP PropertyConstraintViolation).
    #[error("{0}")]
    Invalid(String),
    /// Storing failed (T/CEC 500, OCPP InternalError); nothing was acknowledged.
    #[error("{0}")]
    Failed(String),
}

/// Messages of one operator, interface and answer (`ret` 0: accepted), summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficRow {
    pub operator_id: String,
    pub interface: String,
    pub ret: i32,
    pub count: i64,
    pub first_at: i64,
    pub last_at: i64,
}

/// A reconciliation request (T/CEC `check_charge_orders`) as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCheck {
    pub check_ref: String,
    pub period_start: String,
    pub period_end: String,
    pub order_count: i64,
    /// How many of its orders evgrid disputed.
    pub disputed: i64,
}
