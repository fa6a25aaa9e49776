//! Crash safety (issue 19 item 11): `evgrid serve` is killed with SIGKILL while an operator's
//! platform pushes connector statuses (T/CEC) and a charger sends meter values (OCPP); started
//! again on the same data, every acknowledged update is there, once, and no connector's state
//! is older than its last acknowledgement. Three rounds, a few seconds of load each.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{postgres_database_for, run, start};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

const OPERATOR: &str = "MA0CSVOP1";
const CONNECTORS: [&str; 4] = ["CSV001E1C1", "CSV001E1C2", "CSV001E2C1", "CSV002E1C1"];
const SECRETS: [&str; 4] = [
    "crash-operator-secret",
    "CRASHDATASECRET1",
    "CRASHDATASECRIV1",
    "crash-sig-secret",
];
const CHARGER: &str = "CRASH1";
const CHARGER_PASSWORD: &str = "crash-charger-password";
/// How long the load runs at most; the kill comes halfway.
const LOAD: Duration = Duration::from_secs(3);
/// Kills and restarts on the same data.
const ROUNDS: usize = 3;

/// What the clients sent and what the server acknowledged, per connector (T/CEC) and for the
/// charger's transaction (OCPP).
#[derive(Debug, Default)]
struct Ledger {
    /// Connector → (status of the last acknowledged push, status of a push sent after it and
    /// not answered).
    statuses: HashMap<String, (Option<i64>, Option<i64>)>,
    /// The OCPP transaction id, and the registers last acknowledged and last sent.
    transaction: Option<i64>,
    register_acked: i64,
    register_sent: i64,
    acknowledged: u64,
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pushes statuses of one connector in turn (1, 2, 3, 1, …) until `until`.
async fn push_statuses(
    client: Arc<evgrid_tcec::client::Client>,
    connector: &'static str,
    ledger: Arc<Mutex<Ledger>>,
    until: Instant,
) {
    let mut n = 0i64;
    while Instant::now() < until {
        let status = 1 + n % 3;
        n += 1;
        ledger
            .lock()
            .unwrap()
            .statuses
            .entry(connector.into())
            .or_default()
            .1 = Some(status);
        let body = json!({"ConnectorStatusInfo": {"ConnectorID": connector, "Status": status}});
        match client.call("notification_stationStatus", &body).await {
            Ok(_) => {
                let mut l = ledger.lock().unwrap();
                l.statuses.insert(connector.into(), (Some(status), None));
                l.acknowledged += 1;
            }
            // The server is gone: what was in flight stays "sent, not answered".
            Err(_) => return,
        }
    }
}

/// Connects the charger, boots, starts a transaction and sends a rising register until `until`.
async fn charge(addr: std::net::SocketAddr, ledger: Arc<Mutex<Ledger>>, until: Instant) {
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
    // One CALL, its CALLRESULT's payload (None when the connection is gone).
    let mut call = async |action: &str, payload: Value| -> Option<Value> {
        id += 1;
        let text = json!([2, id.to_string(), action, payload]).to_string();
        ws.send(Message::text(text)).await.ok()?;
        loop {
            match ws.next().await? {
                Ok(Message::Text(t)) => {
                    let frame: Value = serde_json::from_str(&t).ok()?;
                    if frame[0] == 3
                        && frame[1].as_str().and_then(|s| s.parse::<u64>().ok()) == Some(id)
                    {
                        return Some(frame[2].clone());
                    }
                    assert_ne!(frame[0], 4, "a CALLERROR: {frame}");
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    };
    let now = || evgrid_model::time::format_rfc3339(evgrid_model::time::unix_now());
    call(
        "BootNotification",
        json!({"chargePointVendor": "crash", "chargePointModel": "test"}),
    )
    .await
    .unwrap();
    let started = call(
        "StartTransaction",
        json!({"connectorId": 1, "idTag": "CRASH", "meterStart": 0, "timestamp": now()}),
    )
    .await
    .unwrap();
    ledger.lock().unwrap().transaction = started["transactionId"].as_i64();
    let mut register = 0;
    while Instant::now() < until {
        register += 10;
        ledger.lock().unwrap().register_sent = register;
        let meter = json!({"connectorId": 1, "transactionId": started["transactionId"],
            "meterValue": [{"timestamp": now(), "sampledValue": [
                {"value": register.to_string(), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]});
        if call("MeterValues", meter).await.is_none() {
            return;
        }
        let mut l = ledger.lock().unwrap();
        l.register_acked = register;
        l.acknowledged += 1;
    }
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_update() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_dir = data.to_str().unwrap();
    let fixture = common::registry_fixture("good.csv");
    ok(&run(&[
        "import",
        "--data-dir",
        data_dir,
        fixture.to_str().unwrap(),
    ]));
    ok(&run(&[
        "operator",
        "add",
        "--operator-id",
        OPERATOR,
        "--name",
        "crash test operator",
        "--operator-secret",
        SECRETS[0],
        "--data-secret",
        SECRETS[1],
        "--data-secret-iv",
        SECRETS[2],
        "--sig-secret",
        SECRETS[3],
        "--data-dir",
        data_dir,
    ]));
    ok(&run(&[
        "charger",
        "add",
        "--id",
        CHARGER,
        "--password",
        CHARGER_PASSWORD,
        "--station",
        "CRASHSITE",
        "--lat",
        "25.83",
        "--lng",
        "114.93",
        "--name",
        "crash site",
        "--dc",
        "--power-kw",
        "60",
        "--data-dir",
        data_dir,
    ]));
    let serve = ["serve", "--poll-interval", "0", "--data-dir", data_dir];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let location = postgres_database_for(data_dir).unwrap_or_else(|| format!("sqlite:{data_dir}"));
    let mut server = start(&serve);
    for round in 1..=ROUNDS {
        let addr = server.addr;
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let until = Instant::now() + LOAD;
        runtime.block_on(async {
            let keys =
                evgrid_tcec::crypto::KeySet::new(SECRETS[1], SECRETS[2], SECRETS[3]).unwrap();
            let client = Arc::new(
                evgrid_tcec::client::Client::new(
                    &format!("http://{addr}/evcs/v1/"),
                    OPERATOR,
                    SECRETS[0],
                    keys,
                )
                .unwrap()
                .with_timeout(Duration::from_secs(5)),
            );
            let mut tasks: Vec<_> = CONNECTORS
                .iter()
                .map(|c| tokio::spawn(push_statuses(client.clone(), c, ledger.clone(), until)))
                .collect();
            tasks.push(tokio::spawn(charge(addr, ledger.clone(), until)));
            // The kill lands in the middle of the load.
            tokio::time::sleep(LOAD / 2).await;
            server.child.kill().unwrap();
            server.child.wait().unwrap();
            for t in tasks {
                t.await.unwrap();
            }
        });
        let ledger = ledger.lock().unwrap();
        eprintln!(
        "round {round}: killed after {} acknowledged updates; register {} Wh acknowledged, {} Wh sent",
        ledger.acknowledged, ledger.register_acked, ledger.register_sent
    );
        assert!(
            ledger.acknowledged > 20,
            "too little load before the kill: {ledger:?}"
        );

        // Started again on the same data: it comes up, and what it acknowledged is there.
        server = start(&serve);
        assert_eq!(common::get(server.addr, "/healthz").status, 200);
        runtime.block_on(async {
            let store = evgrid_store::Store::open(&location).await.unwrap();
            let operator = evgrid_model::OperatorId::new(OPERATOR).unwrap();
            let stored: HashMap<String, evgrid_model::ConnectorStatus> = store
                .operator_statuses(&operator)
                .await
                .unwrap()
                .into_iter()
                .map(|s| (s.connector_id, s.status))
                .collect();
            let of = |code: Option<i64>| {
                code.and_then(|c| evgrid_tcec::platform::status_from_code(i32::try_from(c).ok()?))
            };
            for (connector, (acked, in_flight)) in &ledger.statuses {
                let Some(acked) = acked else { continue };
                let now = stored.get(connector).copied();
                assert!(
                now == of(Some(*acked)) || (now.is_some() && now == of(*in_flight)),
                "{connector}: stored {now:?}, last acknowledged {acked}, in flight {in_flight:?}"
            );
            }
            let platform = evgrid_model::OperatorId::new("EVGRID000").unwrap();
            let tx = ledger
                .transaction
                .expect("the transaction started before the kill");
            let session = store
                .charging_session(&platform, &format!("{CHARGER}:{tx}"))
                .await
                .unwrap()
                .expect("the acknowledged transaction survived");
            let energy = session.energy.map_or(0, |e| e.0);
            assert!(
                energy >= ledger.register_acked && energy <= ledger.register_sent,
                "energy {energy} Wh, last acknowledged {} Wh, last sent {} Wh",
                ledger.register_acked,
                ledger.register_sent
            );
            // Exactly once: each round's transaction is one session on the connector.
            let sessions = store
                .recent_charging_sessions(&platform, &format!("{CHARGER}-"), 10)
                .await
                .unwrap();
            assert_eq!(sessions.len(), round, "{sessions:?}");
            drop(store);
        });
    }
}
