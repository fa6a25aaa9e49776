//! Live connector status as observed and kept.

/// One observed connector status, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRecord {
    pub connector_id: String,
    pub status: crate::ConnectorStatus,
    /// The protocol's own code.
    pub raw_status: i32,
    pub park_status: Option<i32>,
    pub lock_status: Option<i32>,
    /// When it was observed (received), seconds since 1970.
    pub observed_at: i64,
    /// Who said so.
    pub source: StatusSource,
}

/// Where a status came from: an operator's push, evgrid's pull from the operator, or the
/// charger itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusSource {
    /// The operator's platform pushed it (T/CEC `notification_stationStatus`).
    TcecPush,
    /// evgrid pulled it from the operator's platform (T/CEC `query_station_status`).
    TcecPull,
    /// The charger reported it (OCPP `StatusNotification`).
    Ocpp,
}

impl StatusSource {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusSource::TcecPush => "tcec_push",
            StatusSource::TcecPull => "tcec_pull",
            StatusSource::Ocpp => "ocpp",
        }
    }

    /// The source of a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "tcec_push" => Some(StatusSource::TcecPush),
            "tcec_pull" => Some(StatusSource::TcecPull),
            "ocpp" => Some(StatusSource::Ocpp),
            _ => None,
        }
    }
}
