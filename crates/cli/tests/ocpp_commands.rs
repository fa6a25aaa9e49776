//! The platform's commands to directly connected chargers, over the API, on `evgrid demo` with
//! one simulated 1.6 charger and one 2.0.1 station: every command of the OCPP issue is sent,
//! answered by the charger, and where it changes something the change is seen (configuration
//! read back, composite schedule from the profiles set, local list version, firmware and
//! diagnostics progress and the base report among the charger's notices, a connector out of
//! service and back, a reset that makes the charger boot again).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{get_as, login, post_json};
use serde_json::{json, Value};

struct Api {
    addr: SocketAddr,
    bearer: String,
}

impl Api {
    /// Sends a command; returns the HTTP status and the body.
    fn command(&self, charger: &str, body: &Value) -> (u16, Value) {
        let a = post_json(
            self.addr,
            &format!("/api/v1/chargers/{charger}/commands"),
            &[("Authorization", &self.bearer)],
            body,
        );
        (a.status, a.json())
    }

    /// Sends an OCPP action as is; returns the charger's answer (status 200 asserted).
    fn ocpp(&self, charger: &str, action: &str, payload: Value) -> Value {
        let (status, body) = self.command(
            charger,
            &json!({"command": "ocpp", "action": action, "payload": payload}),
        );
        assert_eq!(status, 200, "{action}: {body}");
        assert_eq!(body["action"], action, "{body}");
        body["answer"].clone()
    }

    fn charger(&self, id: &str) -> Value {
        let token = self.bearer.trim_start_matches("Bearer ");
        let a = get_as(self.addr, token, &format!("/api/v1/chargers/{id}"));
        assert_eq!(a.status, 200, "{}", a.text());
        a.json()
    }
}

fn wait_for(seconds: u64, mut f: impl FnMut() -> Option<Value>) -> Option<Value> {
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    None
}

/// Connector 1's status as the platform shows it.
fn first_connector(api: &Api, id: &str) -> String {
    api.charger(id)["connectors"][0]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits until the charger's notices (`GET /api/v1/chargers/{id}`) hold `kind` saying `detail`.
fn wait_for_notice(api: &Api, id: &str, kind: &str, detail: &str) {
    wait_for(30, || {
        let c = api.charger(id);
        c["notices"]
            .as_array()?
            .iter()
            .any(|n| n["kind"] == kind && n["detail"] == detail)
            .then_some(c)
    })
    .unwrap_or_else(|| panic!("{id}: notice {kind} {detail}"));
}

/// Makes connector 1 inoperative (at once, or after its charge), then operative again.
fn out_of_service_and_back(api: &Api, id: &str) {
    let off = json!({"command": "change_availability", "connector": 1, "operative": false});
    let (status, body) = api.command(id, &off);
    assert_eq!(status, 200, "{body}");
    let answer = body["answer"]["status"].as_str().unwrap().to_owned();
    assert!(answer == "Accepted" || answer == "Scheduled", "{body}");
    wait_for(150, || {
        (first_connector(api, id) == "offline").then_some(Value::Null)
    })
    .unwrap_or_else(|| panic!("{id}: connector 1 out of service ({answer})"));
    let on = json!({"command": "change_availability", "connector": 1, "operative": true});
    let (status, body) = api.command(id, &on);
    assert_eq!(
        (status, &body["answer"]["status"]),
        (200, &json!("Accepted")),
        "{body}"
    );
    wait_for(30, || {
        (first_connector(api, id) != "offline").then_some(Value::Null)
    })
    .unwrap_or_else(|| panic!("{id}: connector 1 back in service"));
}

/// A soft reset: the charger accepts, reconnects and boots again.
fn reset_reboots(api: &Api, id: &str) {
    let booted = api.charger(id)["charger"]["last_boot_at"].as_i64().unwrap();
    // Boot times are in seconds: let the next one be later.
    std::thread::sleep(Duration::from_millis(1100));
    let (status, body) = api.command(id, &json!({"command": "reset", "kind": "soft"}));
    assert_eq!(
        (status, &body["answer"]["status"]),
        (200, &json!("Accepted")),
        "{body}"
    );
    wait_for(60, || {
        let c = api.charger(id);
        (c["connected"] == true && c["charger"]["last_boot_at"].as_i64().unwrap_or(0) > booted)
            .then_some(c)
    })
    .unwrap_or_else(|| panic!("{id} booted again after the reset"));
}

#[test]
fn every_command_reaches_a_simulated_charger_and_does_what_it_says() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let server = common::start(&["demo", "--no-faults", "--chargers", "2", "--data-dir", dir]);
    common::add_user(data.path(), "adm", "admin", None, "admin password 1");
    let api = Api {
        addr: server.addr,
        bearer: format!("Bearer {}", login(server.addr, "adm", "admin password 1")),
    };
    let out = common::evgrid_args(&["charger", "list", "--json", "--data-dir", dir])
        .output()
        .unwrap();
    assert!(out.status.success());
    let ids: Vec<String> = serde_json::from_slice::<Vec<Value>>(&out.stdout)
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.len() >= 2, "{ids:?}");
    // Each demo charger has a password of its own, kept for the owner only.
    let kept = data.path().join("demo-chargers.txt");
    let text = std::fs::read_to_string(&kept).unwrap();
    for id in &ids {
        assert!(
            text.lines()
                .any(|l| l.split(' ').next() == Some(id.as_str())),
            "{id} in {text}"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The demo connects half of its chargers with 1.6, half with 2.0.1: one of each.
    let of_version = |version: &str| -> String {
        wait_for(60, || {
            ids.iter()
                .find(|id| api.charger(id)["connected_with"] == version)
                .map(|id| json!(id))
        })
        .unwrap_or_else(|| panic!("a {version} charger connects"))
        .as_str()
        .unwrap()
        .to_owned()
    };
    let (cp16, cs201) = (of_version("1.6"), of_version("2.0.1"));
    let (cp16, cs201) = (cp16.as_str(), cs201.as_str());

    // 1.6: configuration.
    let all = api.ocpp(cp16, "GetConfiguration", json!({}));
    let keys = all["configurationKey"].as_array().unwrap();
    assert!(
        keys.iter()
            .any(|k| k["key"] == "HeartbeatInterval" && k["value"] == "300"),
        "{all}"
    );
    let change = |key: &str, value: &str| {
        api.ocpp(
            cp16,
            "ChangeConfiguration",
            json!({"key": key, "value": value}),
        )["status"]
            .clone()
    };
    assert_eq!(change("HeartbeatInterval", "120"), "Accepted");
    assert_eq!(change("NumberOfConnectors", "9"), "Rejected");
    assert_eq!(change("NoSuchKey", "1"), "NotSupported");
    let some = api.ocpp(
        cp16,
        "GetConfiguration",
        json!({"key": ["HeartbeatInterval", "NoSuchKey"]}),
    );
    assert_eq!(some["configurationKey"][0]["value"], "120", "{some}");
    assert_eq!(some["unknownKey"], json!(["NoSuchKey"]), "{some}");

    // 1.6: smart charging.
    let profile = json!({"connectorId": 1, "csChargingProfiles": {
        "chargingProfileId": 41, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative", "chargingSchedule": {"chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}, {"startPeriod": 600, "limit": 8.0}]}}});
    assert_eq!(
        api.ocpp(cp16, "SetChargingProfile", profile)["status"],
        "Accepted"
    );
    let composite = api.ocpp(
        cp16,
        "GetCompositeSchedule",
        json!({"connectorId": 1, "duration": 3600}),
    );
    assert_eq!(composite["status"], "Accepted", "{composite}");
    assert_eq!(
        composite["chargingSchedule"]["chargingSchedulePeriod"],
        json!([{"startPeriod": 0, "limit": 16.0}, {"startPeriod": 600, "limit": 8.0}])
    );
    assert_eq!(
        api.ocpp(cp16, "ClearChargingProfile", json!({"id": 41}))["status"],
        "Accepted"
    );
    assert_eq!(
        api.ocpp(cp16, "ClearChargingProfile", json!({"id": 41}))["status"],
        "Unknown"
    );
    assert_eq!(
        api.ocpp(
            cp16,
            "GetCompositeSchedule",
            json!({"connectorId": 1, "duration": 3600})
        )["status"],
        "Rejected"
    );

    // 1.6: local authorization list.
    let list = json!({"listVersion": 5, "updateType": "Full",
        "localAuthorizationList": [{"idTag": "CARD-0001", "idTagInfo": {"status": "Accepted"}}]});
    assert_eq!(api.ocpp(cp16, "SendLocalList", list)["status"], "Accepted");
    assert_eq!(
        api.ocpp(cp16, "GetLocalListVersion", json!({}))["listVersion"],
        5
    );
    // The list built from the token store: the demo's 200 simulated drivers' cards.
    let (status, body) = api.command(
        cp16,
        &json!({"command": "send_local_list", "max_entries": 10}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("200 tokens are valid"),
        "{body}"
    );
    let before = evgrid_model::time::unix_now();
    let (status, body) = api.command(cp16, &json!({"command": "send_local_list"}));
    assert_eq!(
        (status, &body["answer"]["status"]),
        (200, &json!("Accepted")),
        "{body}"
    );
    let version = api.ocpp(cp16, "GetLocalListVersion", json!({}))["listVersion"]
        .as_i64()
        .unwrap();
    assert!((before..before + 60).contains(&version), "{version}");
    let list = json!({"listVersion": 5, "updateType": "Full",
        "localAuthorizationList": [{"idTag": "CARD-0001", "idTagInfo": {"status": "Accepted"}}]});
    assert_eq!(api.ocpp(cp16, "SendLocalList", list)["status"], "Accepted");
    let stale = json!({"listVersion": 4, "updateType": "Differential"});
    assert_eq!(
        api.ocpp(cp16, "SendLocalList", stale)["status"],
        "VersionMismatch"
    );

    // 1.6: firmware management, data transfer, cache, trigger, unlock.
    let diagnostics = api.ocpp(
        cp16,
        "GetDiagnostics",
        json!({"location": "ftp://127.0.0.1/diagnostics/"}),
    );
    assert!(
        diagnostics["fileName"]
            .as_str()
            .is_some_and(|f| f.contains(cp16)),
        "{diagnostics}"
    );
    let firmware = api.ocpp(
        cp16,
        "UpdateFirmware",
        json!({"location": "http://127.0.0.1/fw.bin", "retrieveDate": "2026-11-26T00:00:00Z"}),
    );
    assert_eq!(firmware, json!({}));
    assert_eq!(
        api.ocpp(cp16, "DataTransfer", json!({"vendorId": "evgrid"}))["status"],
        "UnknownVendorId"
    );
    assert_eq!(
        api.ocpp(cp16, "ClearCache", json!({}))["status"],
        "Accepted"
    );
    for message in ["DiagnosticsStatusNotification", "Heartbeat", "MeterValues"] {
        let (status, body) = api.command(
            cp16,
            &json!({"command": "trigger_message", "message": message}),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["answer"]["status"], "Accepted", "{message}: {body}");
    }
    let (status, body) = api.command(cp16, &json!({"command": "unlock", "connector": 1}));
    assert_eq!(
        (status, &body["answer"]["status"]),
        (200, &json!("Unlocked")),
        "{body}"
    );
    // The notifications that follow reach the charger's page.
    wait_for_notice(&api, cp16, "DiagnosticsStatusNotification", "Uploaded");
    wait_for_notice(&api, cp16, "FirmwareStatusNotification", "Installed");
    // An action the charger does not implement comes back as its CALLERROR.
    let (status, body) = api.command(
        cp16,
        &json!({"command": "ocpp", "action": "GetLog", "payload": {"logType": "DiagnosticsLog", "requestId": 1, "log": {"remoteLocation": "ftp://127.0.0.1/"}}}),
    );
    assert_eq!(status, 502, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("NotImplemented")),
        "{body}"
    );

    // 2.0.1: variables and the base report.
    let heartbeat =
        json!({"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}});
    let got = api.ocpp(
        cs201,
        "GetVariables",
        json!({"getVariableData": [heartbeat, {"component": {"name": "Nope"}, "variable": {"name": "X"}}]}),
    );
    assert_eq!(
        got["getVariableResult"][0]["attributeValue"], "300",
        "{got}"
    );
    assert_eq!(
        got["getVariableResult"][1]["attributeStatus"],
        "UnknownComponent"
    );
    let mut set = heartbeat.clone();
    set["attributeValue"] = json!("90");
    let answer = api.ocpp(cs201, "SetVariables", json!({ "setVariableData": [set] }));
    assert_eq!(
        answer["setVariableResult"][0]["attributeStatus"],
        "Accepted"
    );
    let got = api.ocpp(
        cs201,
        "GetVariables",
        json!({ "getVariableData": [heartbeat] }),
    );
    assert_eq!(got["getVariableResult"][0]["attributeValue"], "90", "{got}");
    // Ten variables in one request to a charger that takes 4 a message (ItemsPerMessage; it
    // refuses more with a CALLERROR): sent as 4 + 4 + 2, answered as one, in order.
    let names = [
        "HeartbeatInterval",
        "X1",
        "X2",
        "X3",
        "X4",
        "X5",
        "X6",
        "X7",
        "X8",
        "HeartbeatInterval",
    ];
    let many: Vec<Value> = names
        .iter()
        .map(|v| json!({"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": v}}))
        .collect();
    let got = api.ocpp(cs201, "GetVariables", json!({ "getVariableData": many }));
    let results = got["getVariableResult"].as_array().unwrap();
    assert_eq!(results.len(), 10, "{got}");
    assert_eq!(results[0]["attributeValue"], "90", "{got}");
    assert_eq!(results[5]["attributeStatus"], "UnknownVariable", "{got}");
    assert_eq!(results[9]["attributeValue"], "90", "{got}");
    assert_eq!(
        api.ocpp(
            cs201,
            "GetBaseReport",
            json!({"requestId": 3, "reportBase": "FullInventory"})
        )["status"],
        "Accepted"
    );
    wait_for_notice(&api, cs201, "NotifyReport", "report 3 part 0: 7 variables");
    let list = json!({"versionNumber": 2, "updateType": "Full", "localAuthorizationList": [
        {"idToken": {"idToken": "CARD-0002", "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}]});
    assert_eq!(api.ocpp(cs201, "SendLocalList", list)["status"], "Accepted");
    assert_eq!(
        api.ocpp(cs201, "GetLocalListVersion", json!({}))["versionNumber"],
        2
    );
    let (status, body) = api.command(cs201, &json!({"command": "send_local_list"}));
    assert_eq!(
        (status, &body["answer"]["status"]),
        (200, &json!("Accepted")),
        "{body}"
    );
    assert!(
        api.ocpp(cs201, "GetLocalListVersion", json!({}))["versionNumber"]
            .as_i64()
            .unwrap()
            > 2
    );
    let (status, body) = api.command(
        cs201,
        &json!({"command": "trigger_message", "message": "StatusNotification", "connector": 1}),
    );
    assert_eq!(
        (status, &body["answer"]["status"]),
        (200, &json!("Accepted")),
        "{body}"
    );

    // Both: availability that holds, and a reset that reboots.
    for id in [cp16, cs201] {
        out_of_service_and_back(&api, id);
        reset_reboots(&api, id);
    }
}
