//! Charging: an operator's *charging session* ([`ChargingSession`], one charge on one connector
//! from start to the final order, whichever protocol reported it), a driver's *charge*
//! ([`Charge`], started through evgrid, linked to the operator's session) and a driver's
//! [`Reservation`]. Money in fen, energy in Wh, times in seconds since 1970.

use serde::{Deserialize, Serialize};

use crate::{Fen, PricePerKwh, WattHours};

/// Where a session is in its life. The order matters: a session only moves forward, so a late
/// "charging" sample cannot reopen a finished session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Starting,
    Charging,
    Stopping,
    Finished,
    /// Start failed or the counterpart reported an unknown state.
    Failed,
}

impl SessionState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Starting => "starting",
            SessionState::Charging => "charging",
            SessionState::Stopping => "stopping",
            SessionState::Finished => "finished",
            SessionState::Failed => "failed",
        }
    }

    /// The state of a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "starting" => SessionState::Starting,
            "charging" => SessionState::Charging,
            "stopping" => SessionState::Stopping,
            "finished" => SessionState::Finished,
            "failed" => SessionState::Failed,
            _ => return None,
        })
    }

    /// Rank for "only forward": finished and failed are both final.
    pub fn rank(self) -> i32 {
        match self {
            SessionState::Starting => 1,
            SessionState::Charging => 2,
            SessionState::Stopping => 3,
            SessionState::Finished | SessionState::Failed => 4,
        }
    }
}

/// Energy and money of one time-of-use period inside a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargePeriod {
    pub starts_at: i64,
    pub ends_at: i64,
    pub electricity_price: PricePerKwh,
    pub service_price: PricePerKwh,
    pub energy: WattHours,
    pub electricity_money: Fen,
    pub service_money: Fen,
}

/// What one message says about a session; `None` leaves the stored value as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionUpdate {
    /// The session's reference in its channel (T/CEC `StartChargeSeq`, OCPP transaction id).
    pub session_ref: String,
    pub connector_id: String,
    pub state: Option<SessionState>,
    /// The protocol's own state code.
    pub raw_state: Option<i32>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub energy: Option<WattHours>,
    /// State of charge, percent.
    pub soc: Option<f64>,
    pub electricity_money: Option<Fen>,
    pub service_money: Option<Fen>,
    pub total_money: Option<Fen>,
    /// Why it stopped, the protocol's code.
    pub stop_reason: Option<i32>,
    /// A failure code reported by the counterpart (start or stop refused).
    pub fail_reason: Option<i32>,
    /// Periods of the final order or of the latest sample.
    pub periods: Option<Vec<ChargePeriod>>,
    /// True when this is the operator's final order (bill).
    pub is_order: bool,
    /// Why the order does not add up, when it does not (flagged, still stored).
    pub dispute: Option<String>,
    /// The charger's energy register when the session started (OCPP meter start).
    pub meter_start: Option<WattHours>,
    /// Which protocol reported it.
    pub source: Channel,
}

impl SessionUpdate {
    /// An update from `source` that says nothing yet (fill in what the message says).
    pub fn reported_by(source: Channel) -> Self {
        SessionUpdate {
            session_ref: String::new(),
            connector_id: String::new(),
            state: None,
            raw_state: None,
            started_at: None,
            ended_at: None,
            energy: None,
            soc: None,
            electricity_money: None,
            service_money: None,
            total_money: None,
            stop_reason: None,
            fail_reason: None,
            periods: None,
            is_order: false,
            dispute: None,
            meter_start: None,
            source,
        }
    }

    /// Replaces a start or end time ahead of the server's clock by `now`, the server's time of
    /// receipt ([`crate::plausibility::not_ahead`]); says what it replaced.
    pub fn check_times(&mut self, now: i64) -> Option<String> {
        let checked = self.checked_times(now);
        self.started_at = checked.started_at;
        self.ended_at = checked.ended_at;
        checked.replaced
    }

    /// The start and end times [`SessionUpdate::check_times`] would keep, without changing the
    /// update.
    pub fn checked_times(&self, now: i64) -> CheckedTimes {
        let mut replaced = Vec::new();
        let mut check = |name: &str, time: Option<i64>| {
            time.map(|claimed| {
                let (kept, believed) = crate::plausibility::not_ahead(claimed, now);
                if !believed {
                    replaced.push(format!(
                        "the reported {name} time {} was replaced by the server's {}",
                        if (0..253_402_300_800).contains(&claimed) {
                            crate::time::format_rfc3339(claimed)
                        } else {
                            format!("{claimed} s")
                        },
                        crate::time::format_rfc3339(now)
                    ));
                }
                kept
            })
        };
        let started_at = check("start", self.started_at);
        let ended_at = check("end", self.ended_at);
        CheckedTimes {
            started_at,
            ended_at,
            replaced: (!replaced.is_empty()).then(|| replaced.join("; ")),
        }
    }
}

/// A session update's times as believed ([`SessionUpdate::checked_times`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTimes {
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// What was replaced, when anything was.
    pub replaced: Option<String>,
}

/// An operator's charging session as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChargingSession {
    pub operator_id: String,
    pub session_ref: String,
    pub connector_id: String,
    pub state: SessionState,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub updated_at: i64,
    pub energy: Option<WattHours>,
    pub soc: Option<f64>,
    pub electricity_money: Option<Fen>,
    pub service_money: Option<Fen>,
    pub total_money: Option<Fen>,
    pub stop_reason: Option<i32>,
    pub fail_reason: Option<i32>,
    pub order_received_at: Option<i64>,
    pub dispute: Option<String>,
    pub meter_start: Option<WattHours>,
    pub periods: Vec<ChargePeriod>,
}

/// The channel through which evgrid reaches a connector: an operator's platform (T/CEC 102) or
/// the charger itself (OCPP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Tcec,
    Ocpp,
}

impl Channel {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Tcec => "tcec",
            Channel::Ocpp => "ocpp",
        }
    }

    /// The channel of a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "tcec" => Some(Channel::Tcec),
            "ocpp" => Some(Channel::Ocpp),
            _ => None,
        }
    }
}

/// How a driver's charge stands on evgrid's side (the live figures are the operator's session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    /// Stored; the operator or charger is being asked.
    Requested,
    /// The operator or charger accepted the start.
    Started,
    /// The start was refused (the reason is in the charge's message).
    Refused,
    /// The driver asked to stop and the operator or charger was asked.
    StopRequested,
}

impl ChargeStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeStatus::Requested => "requested",
            ChargeStatus::Started => "started",
            ChargeStatus::Refused => "refused",
            ChargeStatus::StopRequested => "stop_requested",
        }
    }

    /// The status of a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "requested" => ChargeStatus::Requested,
            "started" => ChargeStatus::Started,
            "refused" => ChargeStatus::Refused,
            "stop_requested" => ChargeStatus::StopRequested,
            _ => return None,
        })
    }
}

/// A charge a driver started through evgrid: whose it is, through which channel, and how the
/// start went. The live figures and the order are the operator's [`ChargingSession`] with the
/// same operator and `session_ref`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Charge {
    /// evgrid's id of the charge (random hex).
    pub id: String,
    #[serde(skip)]
    pub user_id: i64,
    /// The client's Idempotency-Key: the same key, the same charge.
    #[serde(skip)]
    pub idempotency_key: String,
    pub operator_id: String,
    pub connector_id: String,
    /// An operator platform or a charger connected directly.
    pub channel: Channel,
    /// The charge's reference in its channel (T/CEC `StartChargeSeq`).
    pub session_ref: String,
    pub status: ChargeStatus,
    /// Why a start was refused, in words.
    pub message: Option<String>,
    pub created_at: i64,
}

/// Where a charge takes place, for the driver's screens and receipt: the station and its
/// operator as the registry holds them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChargePlace {
    /// `OPERATORID:STATIONID`.
    pub station_id: String,
    pub station_name: String,
    pub address: String,
    pub operator_name: String,
    /// The connector's rated power, W.
    pub power_w: i64,
}

/// A connector a driver reserved through evgrid (OCPP ReserveNow), until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reservation {
    /// evgrid's id of the reservation (random hex).
    pub id: String,
    #[serde(skip)]
    pub user_id: i64,
    pub operator_id: String,
    pub connector_id: String,
    /// The id tag the charger holds the connector for (the driver's charge runs under it).
    #[serde(skip)]
    pub id_tag: String,
    /// The reservation's number at the charger (OCPP `reservationId`).
    pub ocpp_id: i64,
    /// How it stands; `Expired` once `expires_at` passed while reserved.
    pub status: ReservationStatus,
    pub message: Option<String>,
    pub expires_at: i64,
    pub created_at: i64,
}

/// How a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReservationStatus {
    /// Stored; the charger is being asked.
    Requested,
    /// The charger holds the connector.
    Reserved,
    /// The charger refused (the reason is in the message).
    Refused,
    /// The driver cancelled it.
    Cancelled,
    /// The driver's charge started under it.
    Used,
    /// Its time passed while reserved (never stored: seen when read).
    Expired,
}

impl ReservationStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Requested => "requested",
            ReservationStatus::Reserved => "reserved",
            ReservationStatus::Refused => "refused",
            ReservationStatus::Cancelled => "cancelled",
            ReservationStatus::Used => "used",
            ReservationStatus::Expired => "expired",
        }
    }

    /// The status of a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "requested" => ReservationStatus::Requested,
            "reserved" => ReservationStatus::Reserved,
            "refused" => ReservationStatus::Refused,
            "cancelled" => ReservationStatus::Cancelled,
            "used" => ReservationStatus::Used,
            "expired" => ReservationStatus::Expired,
            _ => return None,
        })
    }
}

impl Reservation {
    /// Whether the connector is still held for the driver at `now`.
    pub fn active_at(&self, now: i64) -> bool {
        self.status == ReservationStatus::Reserved && now < self.expires_at
    }
}
