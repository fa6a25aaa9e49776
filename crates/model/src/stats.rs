//! What the regulator's statistics read: breakdowns of the registry, daily snapshots,
//! utilization from sessions, faults from status changes, and targets.

use crate::network::CategoryCounts;

/// What a breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Category,
    County,
    Township,
    Operator,
    /// Piles by rated power: `0-7kW`, `7-30kW`, `30-60kW`, `60-120kW`, `120-240kW`, `240kW+`.
    PowerClass,
    /// Connectors by standard edition and type: `2015:4` (T/CEC NationalStandard 2 = GB/T
    /// 2015, ConnectorType 4 = DC plug); `2011:…` for 2011, `other:…` otherwise.
    ConnectorStandard,
    /// Piles by current: `dc`, `ac`, `ac_dc`, `wireless`, `other` (T/CEC EquipmentType).
    Current,
}

/// One group of a breakdown. For connector-level groups a pile or station counts in each group
/// it has a connector of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BreakdownRow {
    /// The group's key; `None` for stations without one (e.g. outside every county).
    pub key: Option<String>,
    pub stations: CategoryCounts,
    pub piles: CategoryCounts,
    pub connectors: CategoryCounts,
}

/// The registry's size on one day (UTC+8).
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRow {
    pub day: String,
    pub stations: CategoryCounts,
    pub piles: CategoryCounts,
    pub connectors: CategoryCounts,
}

/// What utilization groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageKey {
    Station,
    County,
    Operator,
}

/// Time buckets of utilization: calendar days or hours of the day (UTC+8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Day,
    Hour,
}

/// Sessions of one group in one bucket. A session counts in the bucket it started in; its
/// charging time is clipped to the asked window.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRow {
    pub key: Option<String>,
    /// `YYYY-MM-DD` or `HH`.
    pub bucket: String,
    pub sessions: i64,
    pub energy_wh: i64,
    pub charging_seconds: i64,
}

/// Faults of one group in a window, and its connectors' state now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultRow {
    pub key: Option<String>,
    pub connectors: i64,
    /// Connectors whose latest status is neither offline nor faulted (and reported at all).
    pub online: i64,
    /// Fault episodes overlapping the window.
    pub faults: i64,
    /// Faulted time inside the window, summed over connectors.
    pub fault_seconds: i64,
    /// Episodes that ended (the connector reported another status), and their total length.
    pub repaired: i64,
    pub repair_seconds: i64,
}

/// A target: what is promised, by when, how progress is measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Target {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub unit: String,
    pub value: f64,
    pub baseline: f64,
    pub start_day: String,
    pub deadline: String,
    /// `registry_piles` or `imported`.
    pub measure: String,
    pub source: String,
    pub parent_id: Option<String>,
}

/// One progress figure of a target.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressRow {
    pub target_id: String,
    pub day: String,
    pub value: f64,
    pub source: String,
}

/// Which connectors a driver's search counts (all when every field is `None`): the search's
/// connector conditions, so that "3 of 8 free" means free connectors the driver can use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectorCriteria {
    /// T/CEC `ConnectorType` code.
    pub connector_type: Option<i32>,
    /// DC (`true`) or AC (`false`).
    pub dc: Option<bool>,
    pub min_power_w: Option<i64>,
}

/// What a driver's search needs of a station beyond the index: live availability, hours,
/// tariff.
#[derive(Debug, Clone, PartialEq)]
pub struct StationLive {
    pub pk: i64,
    pub connectors: i64,
    /// Connectors whose latest status is `available` and fresh (not older than the operator's
    /// stale interval).
    pub free: i64,
    /// Connectors whose latest status is stale: shown as such, never as free.
    pub stale: i64,
    pub business_hours: Option<String>,
    /// (start second, electricity, service) in hundredths of a fen per kWh, by start.
    pub tariff: Vec<(u32, i64, i64)>,
}
