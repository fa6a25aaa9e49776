//! What the operators' data-quality report is made of: the identity of each protocol message
//! (so a repeat is not applied twice), message counts by answer, and reconciliation requests.

/// A protocol message already applied, for duplicate detection.
#[derive(Debug, Clone)]
pub struct PushKey<'a> {
    pub operator_id: &'a str,
    pub interface: &'a str,
    pub time_stamp: &'a str,
    pub seq: &'a str,
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
