//! The platform's commands to a charger as OCPP CALLs of the charger's version: the action name
//! and the payload as the specification writes it (1.6J or 2.0.1). The payloads are validated
//! against the official schemas when sent ([`crate::csms::Connection::call`]).

use serde_json::{json, Value};

use crate::Version;

/// A CALL to send: the action and its payload.
pub type Call = (&'static str, Value);

/// How a charger answered a command whose answer is a status (remote start and stop,
/// reservations, availability, reset, …): `Accepted`, or refused with the status it gave
/// (`Rejected`, `Occupied`, …; `missing` when the answer had none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandStatus {
    Accepted,
    Refused(String),
}

impl CommandStatus {
    /// The status of a command's answer (its `status` field, both versions).
    pub fn of(answer: &Value) -> Self {
        match answer["status"].as_str() {
            Some("Accepted") => CommandStatus::Accepted,
            Some(other) => CommandStatus::Refused(other.to_owned()),
            None => CommandStatus::Refused("missing".to_owned()),
        }
    }

    /// The refusal's status, `None` when accepted.
    pub fn refused(&self) -> Option<&str> {
        match self {
            CommandStatus::Accepted => None,
            CommandStatus::Refused(status) => Some(status),
        }
    }
}

/// Start charging on connector (1.6) / EVSE (2.0.1) `connector` for `id_tag`;
/// `remote_start_id` is 2.0.1's number that comes back in the transaction's events.
pub fn remote_start(version: Version, connector: u32, id_tag: &str, remote_start_id: i64) -> Call {
    match version {
        Version::V16 => (
            "RemoteStartTransaction",
            json!({"connectorId": connector, "idTag": id_tag}),
        ),
        Version::V201 => (
            "RequestStartTransaction",
            json!({"evseId": connector, "remoteStartId": remote_start_id,
                   "idToken": {"idToken": id_tag, "type": "Central"}}),
        ),
    }
}

/// Stop a transaction, by the id the charger gave it (1.6: an integer).
pub fn remote_stop(version: Version, transaction_id: &str) -> Result<Call, String> {
    match version {
        Version::V16 => {
            let id: i64 = transaction_id
                .parse()
                .map_err(|_| "an OCPP 1.6 transaction id is an integer".to_owned())?;
            Ok(("RemoteStopTransaction", json!({"transactionId": id})))
        }
        Version::V201 => Ok((
            "RequestStopTransaction",
            json!({"transactionId": transaction_id}),
        )),
    }
}

/// Unlock a connector.
pub fn unlock(version: Version, connector: u32) -> Call {
    match version {
        Version::V16 => ("UnlockConnector", json!({"connectorId": connector})),
        Version::V201 => (
            "UnlockConnector",
            json!({"evseId": connector, "connectorId": 1}),
        ),
    }
}

/// Reset, `hard` (at once) or not (when idle).
pub fn reset(version: Version, hard: bool) -> Call {
    let kind = match (version, hard) {
        (Version::V16, false) => "Soft",
        (Version::V16, true) => "Hard",
        (Version::V201, false) => "OnIdle",
        (Version::V201, true) => "Immediate",
    };
    ("Reset", json!({"type": kind}))
}

/// Make a connector (0: the whole charger) operative or inoperative.
pub fn change_availability(version: Version, connector: u32, operative: bool) -> Call {
    let state = if operative {
        "Operative"
    } else {
        "Inoperative"
    };
    match version {
        Version::V16 => (
            "ChangeAvailability",
            json!({"connectorId": connector, "type": state}),
        ),
        Version::V201 => {
            let mut p = json!({"operationalStatus": state});
            if connector > 0 {
                p["evse"] = json!({"id": connector});
            }
            ("ChangeAvailability", p)
        }
    }
}

/// Ask the charger to send `message` now, for one connector or all.
pub fn trigger_message(version: Version, message: &str, connector: Option<u32>) -> Call {
    let mut p = json!({"requestedMessage": message});
    if let Some(n) = connector {
        match version {
            Version::V16 => p["connectorId"] = json!(n),
            Version::V201 => p["evse"] = json!({"id": n}),
        }
    }
    ("TriggerMessage", p)
}

/// Reserve a connector for `id_tag` until `expiry` (RFC 3339).
pub fn reserve(
    version: Version,
    connector: u32,
    id_tag: &str,
    expiry: &str,
    reservation_id: i64,
) -> Call {
    match version {
        Version::V16 => (
            "ReserveNow",
            json!({"connectorId": connector, "expiryDate": expiry, "idTag": id_tag,
                   "reservationId": reservation_id}),
        ),
        Version::V201 => (
            "ReserveNow",
            json!({"id": reservation_id, "expiryDateTime": expiry, "evseId": connector,
                   "idToken": {"idToken": id_tag, "type": "Central"}}),
        ),
    }
}

/// Cancel a reservation.
pub fn cancel_reservation(reservation_id: i64) -> Call {
    (
        "CancelReservation",
        json!({"reservationId": reservation_id}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{validate, Direction};

    #[test]
    fn every_command_is_valid_for_its_version() {
        for v in [Version::V16, Version::V201] {
            let mut calls = vec![
                remote_start(v, 1, "EVG0123456789ABCDEF", 42),
                remote_stop(v, "17").unwrap(),
                unlock(v, 2),
                reset(v, true),
                reset(v, false),
                change_availability(v, 0, false),
                change_availability(v, 1, true),
                trigger_message(v, "StatusNotification", Some(1)),
                reserve(v, 1, "EVG01", "2026-11-26T10:00:00Z", 5),
                cancel_reservation(5),
            ];
            calls.push(trigger_message(v, "Heartbeat", None));
            for (action, payload) in calls {
                assert!(
                    validate(v, action, Direction::Request, &payload).is_ok(),
                    "{v:?} {action} {payload}"
                );
            }
        }
        assert!(remote_stop(Version::V16, "T-1").is_err());
    }
}
