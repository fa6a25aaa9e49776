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

    /// The status as the charger spelled it (`Accepted`, or the refusal's).
    pub fn label(&self) -> &str {
        match self {
            CommandStatus::Accepted => "Accepted",
            CommandStatus::Refused(status) => status,
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

/// Ask the charger to boot again (TriggerMessage BootNotification): a changed registration
/// takes effect at once.
pub fn boot_again(version: Version) -> Call {
    trigger_message(version, "BootNotification", None)
}

/// Where a 2.0.1 charger is to reconnect with its new security profile: the CSMS's URL as the
/// charger reaches it, and the network configuration slot to keep it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkTarget<'a> {
    pub csms_url: &'a str,
    pub slot: u32,
}

/// The calls that move a charger to security profile `profile`, in order. 1.6 (security
/// whitepaper): ChangeConfiguration `SecurityProfile`. 2.0.1 (A05), given where to reconnect: a
/// network connection profile in the slot (SetNetworkProfile), that slot first in
/// `OCPPCommCtrlr.NetworkConfigurationPriority` (SetVariables), and a Reset `OnIdle` so that it
/// reconnects with it; nothing without a target (the URL is the deployment's, not evgrid's to
/// guess).
pub fn security_profile(
    version: Version,
    profile: u8,
    target: Option<&NetworkTarget>,
) -> Vec<Call> {
    match (version, target) {
        (Version::V16, _) => vec![(
            "ChangeConfiguration",
            json!({"key": "SecurityProfile", "value": profile.to_string()}),
        )],
        (Version::V201, None) => Vec::new(),
        (Version::V201, Some(t)) => vec![
            (
                "SetNetworkProfile",
                json!({"configurationSlot": t.slot, "connectionData": {
                    "ocppVersion": "OCPP20",
                    "ocppTransport": "JSON",
                    "ocppCsmsUrl": t.csms_url,
                    "messageTimeout": 30,
                    "securityProfile": profile,
                    "ocppInterface": "Wired0",
                }}),
            ),
            (
                "SetVariables",
                json!({"setVariableData": [{
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "NetworkConfigurationPriority"},
                    "attributeValue": t.slot.to_string(),
                }]}),
            ),
            ("Reset", json!({"type": "OnIdle"})),
        ],
    }
}

/// How a charger answered one of the calls above, or any command: its `status`, or for
/// SetVariables the first variable's `attributeStatus`.
pub fn answer_status(action: &str, answer: &Value) -> CommandStatus {
    if action == "SetVariables" {
        let first = &answer["setVariableResult"][0];
        return CommandStatus::of(&json!({"status": first["attributeStatus"]}));
    }
    CommandStatus::of(answer)
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

/// Sets the charger's HTTP Basic password (security profiles 1 and 2): 1.6 ChangeConfiguration
/// of `AuthorizationKey`, 2.0.1 SetVariables of `SecurityCtrlr.BasicAuthPassword`.
pub fn set_basic_auth_password(version: Version, password: &str) -> Call {
    match version {
        Version::V16 => (
            "ChangeConfiguration",
            json!({"key": "AuthorizationKey", "value": password}),
        ),
        Version::V201 => (
            "SetVariables",
            json!({"setVariableData": [{"attributeValue": password,
                "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}]}),
        ),
    }
}

/// Whether the charger took the password of [`set_basic_auth_password`]: 1.6 `status`, 2.0.1
/// the variable's `attributeStatus`.
pub fn password_set_status(version: Version, answer: &Value) -> CommandStatus {
    match version {
        Version::V16 => CommandStatus::of(answer),
        Version::V201 => match answer["setVariableResult"][0]["attributeStatus"].as_str() {
            Some("Accepted") => CommandStatus::Accepted,
            Some(other) => CommandStatus::Refused(other.to_owned()),
            None => CommandStatus::Refused("missing".to_owned()),
        },
    }
}

/// 2.0.1 requests whose items a charger bounds per message (`DeviceDataCtrlr.ItemsPerMessage`
/// with the action as instance): the request's list and the answer's list.
fn itemized(action: &str) -> Option<(&'static str, &'static str)> {
    match action {
        "GetVariables" => Some(("getVariableData", "getVariableResult")),
        "SetVariables" => Some(("setVariableData", "setVariableResult")),
        _ => None,
    }
}

/// How many items a request of `action` carries, when the charger bounds them (2.0.1
/// GetVariables, SetVariables).
pub fn items_of(version: Version, action: &str, payload: &Value) -> Option<usize> {
    let (list, _) = itemized(action).filter(|_| version == Version::V201)?;
    payload[list].as_array().map(Vec::len)
}

/// Asks a 2.0.1 charger how many items a request of `action` may carry.
pub fn items_per_message_query(action: &str) -> Call {
    (
        "GetVariables",
        json!({"getVariableData": [{"component": {"name": "DeviceDataCtrlr"},
            "variable": {"name": "ItemsPerMessage", "instance": action}}]}),
    )
}

/// The bound of [`items_per_message_query`]'s answer, when the charger gave one.
pub fn items_per_message(answer: &Value) -> Option<usize> {
    let result = &answer["getVariableResult"][0];
    (result["attributeStatus"] == "Accepted")
        .then(|| result["attributeValue"].as_str()?.trim().parse().ok())
        .flatten()
        .filter(|&n: &usize| n > 0)
}

/// A request of `action` cut into requests of at most `most` items each.
pub fn split_items(action: &str, payload: &Value, most: usize) -> Vec<Value> {
    let Some((list, _)) = itemized(action) else {
        return vec![payload.clone()];
    };
    let items = payload[list].as_array().cloned().unwrap_or_default();
    items
        .chunks(most.max(1))
        .map(|chunk| {
            let mut part = payload.clone();
            part[list] = Value::Array(chunk.to_vec());
            part
        })
        .collect()
}

/// The answers to the parts of a split request as one answer (their result lists joined).
pub fn merge_items(action: &str, answers: Vec<Value>) -> Value {
    let Some((_, list)) = itemized(action) else {
        return answers.into_iter().next().unwrap_or_default();
    };
    let results: Vec<Value> = answers
        .iter()
        .flat_map(|a| a[list].as_array().cloned().unwrap_or_default())
        .collect();
    json!({ list: results })
}

/// One entry of a charger's local authorization list: the token, its kind and what the
/// charger may decide by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEntry {
    pub token: String,
    pub kind: evgrid_model::TokenKind,
    pub authorization: evgrid_model::Authorization,
}

/// The 2.0.1 `IdTokenEnumType` of a token kind.
pub fn token_type(kind: evgrid_model::TokenKind) -> &'static str {
    use evgrid_model::TokenKind;
    match kind {
        TokenKind::Iso14443 => "ISO14443",
        TokenKind::Iso15693 => "ISO15693",
        TokenKind::Emaid => "eMAID",
        TokenKind::Central => "Central",
        TokenKind::KeyCode => "KeyCode",
        TokenKind::Local => "Local",
        TokenKind::MacAddress => "MacAddress",
    }
}

/// Replaces the charger's local authorization list (SendLocalList, update type `Full`) with
/// `entries` under `list_version`. A 1.6 charger takes `idTag`s of at most 20 characters:
/// longer tokens are left out of its list.
pub fn send_local_list(version: Version, list_version: i64, entries: &[LocalEntry]) -> Call {
    let list: Vec<Value> = entries
        .iter()
        .filter_map(|e| {
            let info = crate::csms::token_info(version, &e.authorization);
            match version {
                Version::V16 => {
                    (e.token.len() <= 20).then(|| json!({"idTag": e.token, "idTagInfo": info}))
                }
                Version::V201 => Some(json!({
                    "idToken": {"idToken": e.token, "type": token_type(e.kind)},
                    "idTokenInfo": info,
                })),
            }
        })
        .collect();
    match version {
        Version::V16 => (
            "SendLocalList",
            json!({"listVersion": list_version, "updateType": "Full", "localAuthorizationList": list}),
        ),
        Version::V201 => (
            "SendLocalList",
            json!({"versionNumber": list_version, "updateType": "Full", "localAuthorizationList": list}),
        ),
    }
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
            let entries: Vec<LocalEntry> = evgrid_model::TokenKind::ALL
                .iter()
                .map(|&kind| LocalEntry {
                    token: format!("T-{}", kind.as_str()),
                    kind,
                    authorization: evgrid_model::Authorization {
                        verdict: evgrid_model::Verdict::Blocked,
                        group_id: Some("G".into()),
                        expires_at: Some(1_800_000_000),
                    },
                })
                .collect();
            calls.push(send_local_list(v, 1_790_000_000, &entries));
            calls.push(set_basic_auth_password(
                v,
                "0123456789abcdef0123456789abcdef01234567",
            ));
            calls.push(boot_again(v));
            let target = NetworkTarget {
                csms_url: "wss://evgrid.example.org/ocpp/",
                slot: 2,
            };
            calls.extend(security_profile(v, 3, Some(&target)));
            for (action, payload) in calls {
                assert!(
                    validate(v, action, Direction::Request, &payload).is_ok(),
                    "{v:?} {action} {payload}"
                );
            }
        }
        assert!(remote_stop(Version::V16, "T-1").is_err());
        // The 2.0.1 upgrade needs to know where to reconnect; 1.6 needs one call.
        assert!(security_profile(Version::V201, 2, None).is_empty());
        assert_eq!(security_profile(Version::V16, 2, None).len(), 1);
        let answered = json!({"setVariableResult": [{"attributeStatus": "Rejected",
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "NetworkConfigurationPriority"}}]});
        assert_eq!(
            answer_status("SetVariables", &answered),
            CommandStatus::Refused("Rejected".into())
        );
        let long = LocalEntry {
            token: "X".repeat(21),
            kind: evgrid_model::TokenKind::Iso14443,
            authorization: evgrid_model::Authorization::unknown(),
        };
        let (_, p) = send_local_list(Version::V16, 1, std::slice::from_ref(&long));
        assert_eq!(p["localAuthorizationList"], json!([]), "too long for 1.6");
        let get = json!({"getVariableData": (0..5).map(|i| json!({"component": {"name": "C"},
            "variable": {"name": format!("V{i}")}})).collect::<Vec<_>>()});
        assert_eq!(items_of(Version::V201, "GetVariables", &get), Some(5));
        assert_eq!(items_of(Version::V16, "GetVariables", &get), None);
        let parts = split_items("GetVariables", &get, 2);
        assert_eq!(parts.len(), 3);
        for part in &parts {
            assert!(validate(Version::V201, "GetVariables", Direction::Request, part).is_ok());
        }
        let answers: Vec<Value> = parts
            .iter()
            .map(|p| json!({"getVariableResult": p["getVariableData"]}))
            .collect();
        assert_eq!(
            merge_items("GetVariables", answers)["getVariableResult"],
            get["getVariableData"]
        );
        let (action, query) = items_per_message_query("SetVariables");
        assert!(validate(Version::V201, action, Direction::Request, &query).is_ok());
        let answer = json!({"getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "4",
            "component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "ItemsPerMessage"}}]});
        assert_eq!(items_per_message(&answer), Some(4));
        assert_eq!(
            items_per_message(
                &json!({"getVariableResult": [{"attributeStatus": "UnknownVariable"}]})
            ),
            None
        );
        let (_, p) = send_local_list(Version::V201, 1, &[long]);
        assert_eq!(
            p["localAuthorizationList"][0]["idTokenInfo"]["status"],
            "Unknown"
        );
    }
}
