//! Id tokens end to end on `evgrid serve`: the token store managed by the CLI and by the API in
//! each role's scope, what a 1.6 charger is told about each token (accepted with its group,
//! blocked, expired, another operator's, unknown), a driver's card and the charges it started,
//! and bad input refused with nothing stored.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use common::{add_user, login, post_json, request_with, run, start};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

const CHARGER: &str = "TK1";
const CHARGER_PASSWORD: &str = "token-test-charger-password";
/// Another operator than the charger's (the platform's own).
const OTHER_OPERATOR: &str = "MA01H3BQ2";

fn call(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![("Authorization", bearer.as_str())];
    let text = body.map(Value::to_string).unwrap_or_default();
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    let a = request_with(addr, method, path, &headers, text.as_bytes());
    let value = if a.body.is_empty() {
        Value::Null
    } else {
        a.json()
    };
    (a.status, value)
}

/// A 1.6 charger's questions about tokens, and one charge under a token.
async fn charger_session(addr: SocketAddr, tags: &[&str], charge_with: &str) -> Vec<Value> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;
    let mut request = format!("ws://{addr}/ocpp/{CHARGER}")
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
    headers.insert(
        "Authorization",
        evgrid_ocpp::basic_authorization(CHARGER, CHARGER_PASSWORD)
            .parse()
            .unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut id = 0u64;
    let mut call = async |action: &str, payload: Value| -> Value {
        id += 1;
        let text = json!([2, id.to_string(), action, payload]).to_string();
        ws.send(Message::text(text)).await.unwrap();
        loop {
            if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
                let frame: Value = serde_json::from_str(&t).unwrap();
                if frame[1].as_str() == Some(id.to_string().as_str()) {
                    assert_eq!(frame[0], 3, "{action}: {frame}");
                    return frame[2].clone();
                }
            }
        }
    };
    let now = || evgrid_model::time::format_rfc3339(evgrid_model::time::unix_now());
    call(
        "BootNotification",
        json!({"chargePointVendor": "tokens", "chargePointModel": "test"}),
    )
    .await;
    let mut infos = Vec::new();
    for tag in tags {
        infos.push(call("Authorize", json!({"idTag": tag})).await["idTagInfo"].clone());
    }
    let start = call(
        "StartTransaction",
        json!({"connectorId": 1, "idTag": charge_with, "meterStart": 1000, "timestamp": now()}),
    )
    .await;
    infos.push(start["idTagInfo"].clone());
    let tx = start["transactionId"].as_i64().unwrap();
    let stop = call(
        "StopTransaction",
        json!({"transactionId": tx, "idTag": charge_with, "meterStop": 3500, "timestamp": now()}),
    )
    .await;
    infos.push(stop["idTagInfo"].clone());
    infos
}

#[test]
fn tokens_are_managed_in_each_roles_scope_and_chargers_are_told_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&[
        "charger",
        "add",
        "--id",
        CHARGER,
        "--password",
        CHARGER_PASSWORD,
        "--station",
        "TKS",
        "--lat",
        "25.83",
        "--lng",
        "114.93",
        "--name",
        "Token site",
        "--data-dir",
        d,
    ]);
    add_user(&data, "tk.admin", "admin", None, "admin password 123");
    add_user(
        &data,
        "tk.regulator",
        "regulator",
        None,
        "regulator password 1",
    );
    add_user(
        &data,
        "tk.operator",
        "operator",
        Some(OTHER_OPERATOR),
        "operator password 1",
    );
    // The CLI: a fleet card, a lost card, an expired one, from a CSV file as Excel writes it.
    let csv = dir.path().join("cards.csv");
    std::fs::write(
        &csv,
        "\u{feff}token,status,expires_at,group_id,label\r\n\
         FLEET-CARD-1,,2099-12-31,FLEET-A,\"Li, car 7\"\r\n\
         LOST-CARD,blocked,,,\r\n\
         OLD-CARD,,2020-01-01,,\r\n",
    )
    .unwrap();
    let imported = ok(&["token", "import", csv.to_str().unwrap(), "--data-dir", d]);
    assert!(imported.contains("3 tokens added"), "{imported}");
    // A bad file stores nothing of itself.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "token,status\nGOOD-ONE,\nBAD-ONE,lost\n").unwrap();
    let out = run(&["token", "import", bad.to_str().unwrap(), "--data-dir", d]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("row 3, status"),
        "{err}"
    );
    let listed = ok(&["token", "list", "--json", "--data-dir", d]);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["total"], 3, "{listed}");

    let server = start(&["serve", "--poll-interval", "0", "--data-dir", d]);
    let addr = server.addr;
    let admin = login(addr, "tk.admin", "admin password 123");
    let regulator = login(addr, "tk.regulator", "regulator password 1");
    let operator = login(addr, "tk.operator", "operator password 1");
    let a = post_json(
        addr,
        "/api/v1/auth/register",
        &[],
        &json!({"username": "tk.driver", "password": "driver password 12"}),
    );
    assert_eq!(a.status, 201, "{}", a.text());
    let driver = login(addr, "tk.driver", "driver password 12");

    // The operator issues a card: its own, whatever it says.
    let (status, body) = call(
        addr,
        &operator,
        "POST",
        "/api/v1/tokens",
        Some(&json!({"id_token": "OP-CARD"})),
    );
    assert_eq!(
        (status, &body["operator_id"]),
        (201, &json!(OTHER_OPERATOR)),
        "{body}"
    );
    let (status, _) = call(
        addr,
        &operator,
        "POST",
        "/api/v1/tokens",
        Some(&json!({"id_token": "OP-CARD-2", "operator_id": "MA5DA0SP7"})),
    );
    assert_eq!(status, 403);
    // The driver registers a card: theirs, accepted, the platform's.
    let (status, body) = call(
        addr,
        &driver,
        "POST",
        "/api/v1/tokens",
        Some(&json!({"id_token": "DRIVER-CARD"})),
    );
    assert_eq!(
        (status, &body["owner"], &body["operator_id"]),
        (201, &json!("tk.driver"), &Value::Null),
        "{body}"
    );
    // Another's card id is taken; a driver may not set a group or a status.
    let (status, _) = call(
        addr,
        &driver,
        "POST",
        "/api/v1/tokens",
        Some(&json!({"id_token": "LOST-CARD"})),
    );
    assert_eq!(status, 409);
    let (status, _) = call(
        addr,
        &driver,
        "POST",
        "/api/v1/tokens",
        Some(&json!({"id_token": "D2", "group_id": "X"})),
    );
    assert_eq!(status, 403);
    // Bad bodies are 400 problems and store nothing.
    for bad in [
        json!({"id_token": "has space"}),
        json!({"id_token": "X".repeat(37)}),
        json!({"id_token": "K1", "kind": "card"}),
        json!({"id_token": "K2", "status": "lost"}),
        json!({"id_token": "K3", "colour": "red"}),
        json!({"id_token": "K4", "owner": "nobody"}),
        json!({"id_token": 5}),
    ] {
        let (status, body) = call(addr, &admin, "POST", "/api/v1/tokens", Some(&bad));
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["detail"].is_string(), "{body}");
    }
    // Scopes: each role sees its own.
    let total = |token: &str| call(addr, token, "GET", "/api/v1/tokens", None).1["total"].clone();
    assert_eq!(total(&admin), 5, "3 imported, the operator's, the driver's");
    assert_eq!(total(&regulator), 5);
    assert_eq!(total(&operator), 1);
    assert_eq!(total(&driver), 1);
    let (status, _) = call(addr, &operator, "GET", "/api/v1/tokens/DRIVER-CARD", None);
    assert_eq!(status, 404, "another's token is not shown");
    let (status, _) = call(
        addr,
        &regulator,
        "PATCH",
        "/api/v1/tokens/LOST-CARD",
        Some(&json!({"status": "accepted"})),
    );
    assert_eq!(status, 403, "a regulator reads");
    let (status, body) = call(
        addr,
        &admin,
        "GET",
        "/api/v1/tokens?status=blocked&page_size=1",
        None,
    );
    assert_eq!(
        (status, &body["items"][0]["id"]),
        (200, &json!("LOST-CARD")),
        "{body}"
    );
    let (status, _) = call(addr, &admin, "GET", "/api/v1/tokens?status=lost", None);
    assert_eq!(status, 400);

    // What the charger is told.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let infos = rt.block_on(charger_session(
        addr,
        &[
            "FLEET-CARD-1",
            "LOST-CARD",
            "OLD-CARD",
            "OP-CARD",
            "NOBODYS-CARD",
        ],
        "DRIVER-CARD",
    ));
    assert_eq!(infos[0]["status"], "Accepted");
    assert_eq!(infos[0]["parentIdTag"], "FLEET-A");
    assert!(
        infos[0]["expiryDate"]
            .as_str()
            .unwrap()
            .starts_with("2099-12-31T15:59:59"),
        "{}",
        infos[0]
    );
    assert_eq!(infos[1]["status"], "Blocked");
    assert_eq!(infos[2]["status"], "Expired");
    assert_eq!(
        infos[3]["status"], "Invalid",
        "another operator's card is not valid here"
    );
    assert_eq!(infos[4]["status"], "Invalid", "1.6 has no Unknown");
    assert_eq!(infos[5]["status"], "Accepted", "the driver's card starts");
    assert_eq!(infos[6]["status"], "Accepted", "and stops");

    // The driver sees the charge their card started, with its energy; then blocks the card.
    let (status, body) = call(addr, &driver, "GET", "/api/v1/me/token-sessions", None);
    assert_eq!((status, &body["total"]), (200, &json!(1)), "{body}");
    assert_eq!(body["items"][0]["state"], "finished", "{body}");
    assert_eq!(body["items"][0]["energy"], 2500, "{body}");
    let (status, body) = call(
        addr,
        &admin,
        "GET",
        "/api/v1/tokens/DRIVER-CARD/sessions",
        None,
    );
    assert_eq!((status, &body["total"]), (200, &json!(1)), "{body}");
    let (status, _) = call(
        addr,
        &driver,
        "PATCH",
        "/api/v1/tokens/DRIVER-CARD",
        Some(&json!({"label": "mine"})),
    );
    assert_eq!(status, 403, "a driver only blocks");
    let (status, body) = call(
        addr,
        &driver,
        "PATCH",
        "/api/v1/tokens/DRIVER-CARD",
        Some(&json!({"status": "blocked"})),
    );
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("blocked")),
        "{body}"
    );
    // The operator clears its card's expiry and removes it; the admin unblocks through the CLI.
    let (status, _) = call(
        addr,
        &operator,
        "PATCH",
        "/api/v1/tokens/OP-CARD",
        Some(&json!({"expires_at": null, "label": "x"})),
    );
    assert_eq!(status, 200);
    let (status, _) = call(addr, &operator, "DELETE", "/api/v1/tokens/OP-CARD", None);
    assert_eq!(status, 204);
    let (status, _) = call(addr, &operator, "DELETE", "/api/v1/tokens/OP-CARD", None);
    assert_eq!(status, 404);
    let infos = rt.block_on(charger_session(
        addr,
        &["DRIVER-CARD", "OP-CARD"],
        "FLEET-CARD-1",
    ));
    assert_eq!(infos[0]["status"], "Blocked");
    assert_eq!(infos[1]["status"], "Invalid");
    ok(&["token", "unblock", "--id", "DRIVER-CARD", "--data-dir", d]);
    let infos = rt.block_on(charger_session(addr, &["DRIVER-CARD"], "FLEET-CARD-1"));
    assert_eq!(infos[0]["status"], "Accepted");
    // Without a login nothing is shown.
    let a = request_with(addr, "GET", "/api/v1/tokens", &[], b"");
    assert_eq!(a.status, 401);
}
