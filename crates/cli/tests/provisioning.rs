//! A charger not yet commissioned (`evgrid charger add --pending`) boots Pending: it stays
//! connected and answers the platform, but what would charge is refused with SecurityError and
//! nothing of it stored; commissioned through the API, it is asked to boot again at once
//! (TriggerMessage BootNotification), boots Accepted and charges. A rejected one may only boot.
//! A charger's Basic Auth password is rotated through its own configuration. The platform's
//! certificate authority and chargers' security profiles from the command line.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use common::{add_user, login, request_with, run, start};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const CHARGER: &str = "PEND1";
const PASSWORD: &str = "provisioning-charger-password";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr) -> Socket {
    connect_as(addr, CHARGER, PASSWORD, "ocpp2.0.1")
        .await
        .unwrap()
}

/// A charger's connection with its password; `Err` with the HTTP status when refused.
async fn connect_as(
    addr: SocketAddr,
    id: &str,
    password: &str,
    protocol: &str,
) -> Result<Socket, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/ocpp/{id}")
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    headers.insert(
        "Authorization",
        evgrid_ocpp::basic_authorization(id, password)
            .parse()
            .unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("{e}"),
    }
}

/// The next CALL the platform sends on `ws`.
async fn next_call(ws: &mut Socket) -> Value {
    loop {
        if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
            let frame: Value = serde_json::from_str(&t).unwrap();
            if frame[0] == 2 {
                return frame;
            }
        }
    }
}

/// Sends a CALL; returns the answering frame (CALLRESULT or CALLERROR).
async fn call(ws: &mut Socket, id: &str, action: &str, payload: Value) -> Value {
    ws.send(Message::text(json!([2, id, action, payload]).to_string()))
        .await
        .unwrap();
    loop {
        if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
            let frame: Value = serde_json::from_str(&t).unwrap();
            if frame[1] == id && frame[0] != 2 {
                return frame;
            }
        }
    }
}

fn boot() -> Value {
    json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "provisioning"}})
}

fn started() -> Value {
    let now = evgrid_model::time::format_rfc3339(evgrid_model::time::unix_now());
    json!({"eventType": "Started", "timestamp": now, "triggerReason": "CablePluggedIn", "seqNo": 0,
           "transactionInfo": {"transactionId": "P-TX-1"}, "evse": {"id": 1, "connectorId": 1}})
}

fn post(addr: SocketAddr, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let bearer = format!("Bearer {token}");
    let a = request_with(
        addr,
        "POST",
        path,
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    );
    (a.status, a.json())
}

#[test]
fn a_pending_charger_may_not_charge_until_commissioned_then_boots_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let out = run(&[
        "charger",
        "add",
        "--id",
        CHARGER,
        "--password",
        PASSWORD,
        "--station",
        "PENDS",
        "--lat",
        "25.83",
        "--lng",
        "114.93",
        "--name",
        "Provisioning site",
        "--pending",
        "--data-dir",
        d,
    ]);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && printed.contains("pending until commissioned"),
        "{printed}"
    );
    add_user(&data, "pv.admin", "admin", None, "admin password 123");
    let server = start(&["serve", "--poll-interval", "0", "--data-dir", d]);
    let addr = server.addr;
    let admin = login(addr, "pv.admin", "admin password 123");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut ws = connect(addr).await;
        let a = call(&mut ws, "b1", "BootNotification", boot()).await;
        assert_eq!(
            (&a[0], &a[2]["status"]),
            (&json!(3), &json!("Pending")),
            "{a}"
        );
        let a = call(&mut ws, "t1", "TransactionEvent", started()).await;
        assert_eq!((&a[0], &a[2]), (&json!(4), &json!("SecurityError")), "{a}");
        let a = call(&mut ws, "h1", "Heartbeat", json!({})).await;
        assert_eq!(a[0], 3, "a pending charger still proves it lives: {a}");
        // Commissioned through the API while connected: asked to boot again at once.
        let admin2 = admin.clone();
        let commission = tokio::task::spawn_blocking(move || {
            post(
                addr,
                &admin2,
                &format!("/api/v1/chargers/{CHARGER}/registration"),
                &json!({"registration": "accepted"}),
            )
        });
        let trigger = next_call(&mut ws).await;
        assert_eq!(trigger[2], "TriggerMessage", "{trigger}");
        assert_eq!(
            trigger[3]["requestedMessage"], "BootNotification",
            "{trigger}"
        );
        ws.send(Message::text(
            json!([3, trigger[1], {"status": "Accepted"}]).to_string(),
        ))
        .await
        .unwrap();
        let (status, body) = commission.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["registration"], "accepted");
        assert_eq!(body["asked_to_boot"]["status"], "Accepted", "{body}");
        let a = call(&mut ws, "b2", "BootNotification", boot()).await;
        assert_eq!(a[2]["status"], "Accepted", "{a}");
        let a = call(&mut ws, "t2", "TransactionEvent", started()).await;
        assert_eq!(a[0], 3, "a commissioned charger charges: {a}");
    });
    // Nothing of the refused event was kept; the accepted one was.
    let bearer = format!("Bearer {admin}");
    let a = request_with(
        addr,
        "GET",
        &format!("/api/v1/chargers/{CHARGER}"),
        &[("Authorization", &bearer)],
        b"",
    );
    let charger = a.json();
    assert_eq!(charger["charger"]["registration"], "accepted", "{charger}");
    let sessions = charger["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{charger}");
    // Rejected: only a new boot is answered; commands are refused; a bad body is a 400.
    let (status, _) = post(
        addr,
        &admin,
        &format!("/api/v1/chargers/{CHARGER}/registration"),
        &json!({"registration": "gone"}),
    );
    assert_eq!(status, 400);
    let out = run(&[
        "charger",
        "commission",
        "--id",
        CHARGER,
        "--as",
        "rejected",
        "--data-dir",
        d,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rt.block_on(async {
        let mut ws = connect(addr).await;
        let a = call(&mut ws, "b3", "BootNotification", boot()).await;
        assert_eq!(a[2]["status"], "Rejected", "{a}");
        let a = call(&mut ws, "h3", "Heartbeat", json!({})).await;
        assert_eq!(a[2], "SecurityError", "{a}");
    });
    let (status, body) = post(
        addr,
        &admin,
        &format!("/api/v1/chargers/{CHARGER}/commands"),
        &json!({"command": "reset", "kind": "soft"}),
    );
    assert_eq!(status, 409, "{body}");
    let out = run(&["charger", "commission", "--id", "NOPE", "--data-dir", d]);
    assert!(!out.status.success());

    // The audit log: who registered, commissioned and rejected the charger, newest first.
    let log = common::get_as(addr, &admin, &format!("/api/v1/audit?target={CHARGER}"));
    assert_eq!(log.status, 200, "{}", log.text());
    let lines: Vec<(String, String, String)> = log.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let text = |k: &str| l[k].as_str().unwrap().to_owned();
            (text("actor"), text("action"), text("detail"))
        })
        .collect();
    let actions: Vec<(&str, &str)> = lines
        .iter()
        .map(|(_, action, detail)| (action.as_str(), detail.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("charger.registration", "rejected"),
            ("charger.registration", "accepted"),
            ("charger.add", "pending"),
        ],
        "{lines:?}"
    );
    assert!(lines[0].0.starts_with("cli"), "{lines:?}");
    assert_eq!(lines[1].0, "user:pv.admin");
    // Only admins read it; a bad parameter is a 400.
    add_user(
        &data,
        "pv.regulator",
        "regulator",
        None,
        "regulator password 1",
    );
    let regulator = login(addr, "pv.regulator", "regulator password 1");
    assert_eq!(
        common::get_as(addr, &regulator, "/api/v1/audit").status,
        403
    );
    assert_eq!(
        common::get_as(addr, &admin, "/api/v1/audit?limit=0").status,
        400
    );
    // The same from the command line.
    let out = run(&["audit", "--target", CHARGER, "--json", "--data-dir", d]);
    assert!(out.status.success(), "{out:?}");
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli.as_array().unwrap().len(), 3, "{cli}");
    assert_eq!(cli[1]["actor"], "user:pv.admin");
}

#[test]
fn a_chargers_password_is_rotated_through_its_configuration() {
    const ID: &str = "ROT1";
    const OLD: &str = "the-old-password-of-rot1";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let out = run(&[
        "charger",
        "add",
        "--id",
        ID,
        "--password",
        OLD,
        "--data-dir",
        d,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    add_user(&data, "rot.admin", "admin", None, "admin password 123");
    let server = start(&["serve", "--poll-interval", "0", "--data-dir", d]);
    let addr = server.addr;
    let admin = login(addr, "rot.admin", "admin password 123");
    let path = format!("/api/v1/chargers/{ID}/password");
    let (status, _) = post(addr, &admin, &path, &json!({}));
    assert_eq!(status, 409, "not connected");
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The charger answers `answer` to the password it is sent; returns the API's answer and
    // the password.
    let rotate = |answer: Value| {
        let (admin, path) = (admin.clone(), path.clone());
        rt.block_on(async move {
            let mut ws = connect_as(addr, ID, OLD, "ocpp1.6").await.unwrap();
            let boot = json!({"chargePointVendor": "V", "chargePointModel": "M"});
            call(&mut ws, "b", "BootNotification", boot).await;
            let api = tokio::task::spawn_blocking(move || post(addr, &admin, &path, &json!({})));
            let change = next_call(&mut ws).await;
            assert_eq!(change[2], "ChangeConfiguration", "{change}");
            assert_eq!(change[3]["key"], "AuthorizationKey", "{change}");
            let password = change[3]["value"].as_str().unwrap().to_owned();
            ws.send(Message::text(json!([3, change[1], answer]).to_string()))
                .await
                .unwrap();
            let (status, body) = api.await.unwrap();
            assert_eq!(status, 200, "{body}");
            (body, password)
        })
    };
    // Refused: the proposed password never works, the old one does.
    let (body, refused) = rotate(json!({"status": "Rejected"}));
    assert_eq!(
        (&body["rotated"], &body["detail"]),
        (&json!("refused"), &json!("Rejected")),
        "{body}"
    );
    assert_eq!(refused.len(), 40, "{refused}");
    assert!(refused.bytes().all(|b| b.is_ascii_hexdigit()), "{refused}");
    // Accepted: old and new both work until the charger uses the new one; then only the new.
    let (body, new) = rotate(json!({"status": "Accepted"}));
    assert_eq!(body["rotated"], "accepted", "{body}");
    assert_ne!(new, refused);
    rt.block_on(async {
        assert_eq!(
            connect_as(addr, ID, &refused, "ocpp1.6").await.err(),
            Some(401)
        );
        assert!(
            connect_as(addr, ID, OLD, "ocpp1.6").await.is_ok(),
            "the old one until the new is used"
        );
        assert!(
            connect_as(addr, ID, &new, "ocpp1.6").await.is_ok(),
            "the new one"
        );
        assert_eq!(
            connect_as(addr, ID, OLD, "ocpp1.6").await.err(),
            Some(401),
            "the old one no more"
        );
        assert!(connect_as(addr, ID, &new, "ocpp1.6").await.is_ok());
    });
    // The password is not in the database in clear.
    let db = std::fs::read(data.join("evgrid.sqlite")).unwrap_or_default();
    assert!(!db.windows(new.len()).any(|w| w == new.as_bytes()));
}

/// The platform's certificate authority from the command line: created on first use and the
/// same afterwards, replaced by a given CA (made with openssl, not evgrid) only when the key is
/// its own; a charger's security profile set, and refused for an unknown charger or profile 4.
#[test]
fn the_certificate_authority_and_security_profiles_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let out = data.path().join("ca.pem");
    let printed = run(&["charger", "authority", "--data-dir", dir]);
    assert!(printed.status.success(), "{printed:?}");
    let first = String::from_utf8(printed.stdout).unwrap();
    assert!(first.starts_with("-----BEGIN CERTIFICATE-----"), "{first}");
    let written = run(&[
        "charger",
        "authority",
        "--data-dir",
        dir,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(written.status.success(), "{written:?}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        first,
        "the same authority the second time"
    );
    let subject = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&subject.stdout).contains("evgrid charging platform CA"));

    // A CA of the operator's own, made with openssl.
    let (cert, key, other_key) = (
        data.path().join("own-ca.pem"),
        data.path().join("own-ca.key"),
        data.path().join("other.key"),
    );
    for k in [&key, &other_key] {
        let made = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ])
            .arg(k)
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
    }
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-new",
            "-days",
            "30",
            "-subj",
            "/CN=Operator CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-key",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let wrong = run(&[
        "charger",
        "authority",
        "--data-dir",
        dir,
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        other_key.to_str().unwrap(),
    ]);
    assert_eq!(wrong.status.code(), Some(1), "{wrong:?}");
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("not the certificate's"),
        "{wrong:?}"
    );
    let replaced = run(&[
        "charger",
        "authority",
        "--data-dir",
        dir,
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert!(replaced.status.success(), "{replaced:?}");
    let now = String::from_utf8(run(&["charger", "authority", "--data-dir", dir]).stdout).unwrap();
    assert_eq!(now.trim(), std::fs::read_to_string(&cert).unwrap().trim());

    // Security profiles.
    let added = run(&[
        "charger",
        "add",
        "--data-dir",
        dir,
        "--id",
        "SEC1",
        "--password",
        PASSWORD,
    ]);
    assert!(added.status.success(), "{added:?}");
    let set = run(&[
        "charger",
        "security-profile",
        "--data-dir",
        dir,
        "--id",
        "SEC1",
        "--profile",
        "2",
    ]);
    assert!(set.status.success(), "{set:?}");
    let listed = run(&["charger", "list", "--json", "--data-dir", dir]);
    let chargers: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(chargers[0]["security_profile"], 2, "{chargers}");
    let unknown = run(&[
        "charger",
        "security-profile",
        "--data-dir",
        dir,
        "--id",
        "NOPE",
        "--profile",
        "2",
    ]);
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    let four = run(&[
        "charger",
        "security-profile",
        "--data-dir",
        dir,
        "--id",
        "SEC1",
        "--profile",
        "4",
    ]);
    assert!(!four.status.success(), "{four:?}");
}
