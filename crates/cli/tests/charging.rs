//! One-stop charging as a driver does it over the API, on `evgrid demo` with its simulated
//! operator platforms (real T/CEC servers): start with an Idempotency-Key (a repeat starts
//! nothing), follow the operator's live figures, stop, see the order; a refused start says why;
//! nobody else sees the charge.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{get, login, post_json, request_with, start};
use serde_json::{json, Value};

fn register(addr: SocketAddr, name: &str) -> String {
    let a = post_json(
        addr,
        "/api/v1/auth/register",
        &[],
        &json!({"username": name, "password": "driver password 1"}),
    );
    assert_eq!(a.status, 201, "{}", a.text());
    login(addr, name, "driver password 1")
}

fn start_charge(
    addr: SocketAddr,
    token: &str,
    key: Option<&str>,
    connector: &str,
) -> common::Answer {
    let auth = format!("Bearer {token}");
    let mut headers = vec![
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
    ];
    if let Some(k) = key {
        headers.push(("idempotency-key", k));
    }
    request_with(
        addr,
        "POST",
        "/api/v1/sessions",
        &headers,
        json!({"connector_id": connector}).to_string().as_bytes(),
    )
}

fn as_user(addr: SocketAddr, token: &str, method: &str, path: &str) -> common::Answer {
    request_with(
        addr,
        method,
        path,
        &[("authorization", &format!("Bearer {token}"))],
        b"",
    )
}

/// Connectors of an operator's public stations with their live status, as the station pages
/// show them.
fn connectors(addr: SocketAddr, operator: &str) -> Vec<(String, String)> {
    let page = get(
        addr,
        &format!("/api/v1/stations?operator={operator}&category=public&page_size=40"),
    )
    .json();
    let mut out = Vec::new();
    for s in page["items"].as_array().unwrap() {
        let detail = get(
            addr,
            &format!("/api/v1/stations/{}", s["id"].as_str().unwrap()),
        )
        .json();
        for e in detail["equipment"].as_array().unwrap() {
            for c in e["connectors"].as_array().unwrap() {
                let status = c["status"]
                    .as_str()
                    .or_else(|| c["live"]["status"].as_str())
                    .unwrap_or("unknown");
                let source = c["status_source"]
                    .as_str()
                    .or_else(|| c["live"]["status_source"].as_str())
                    .unwrap_or("");
                if source.starts_with("tcec") {
                    out.push((
                        format!("{operator}:{}", c["id"].as_str().unwrap()),
                        status.to_owned(),
                    ));
                }
            }
        }
    }
    out
}

/// Opens a Server-Sent Events stream: its status line, and the connection (kept open).
fn stream_head(addr: SocketAddr, token: &str, path: &str) -> (String, std::net::TcpStream) {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").unwrap();
    let mut line = String::new();
    BufReader::new(stream.try_clone().unwrap())
        .read_line(&mut line)
        .unwrap();
    (line, stream)
}

/// Reads a Server-Sent Events stream: the `charge` events' data (at most `max`, or until the
/// stream ends or `seconds` pass) and whether the server ended the stream.
fn sse(addr: SocketAddr, token: &str, path: &str, max: usize, seconds: u64) -> (Vec<Value>, bool) {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(seconds)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let mut events = Vec::new();
    let mut line = String::new();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut ended = false;
    while events.len() < max && Instant::now() < until {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => {
                ended = true;
                break;
            }
            Ok(_) => {
                if line.trim_end() == "0" {
                    // The last chunk of a chunked body: the server ended the stream.
                    ended = true;
                    break;
                }
                if let Some(data) = line.strip_prefix("data: ") {
                    events.push(serde_json::from_str(data.trim_end()).unwrap());
                }
            }
            Err(_) => break,
        }
    }
    (events, ended)
}

fn wait_for(seconds: u64, mut f: impl FnMut() -> Option<Value>) -> Option<Value> {
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    None
}

/// The demo's regulator password in these tests.
const REGULATOR_PASSWORD: &str = "charging-test-regulator";

#[test]
fn a_driver_starts_follows_and_stops_a_charge_on_an_operator_platform() {
    let data = tempfile::tempdir().unwrap();
    let server = start(&[
        "demo",
        "--no-faults",
        "--chargers",
        "0",
        "--regulator-password",
        REGULATOR_PASSWORD,
        "--data-dir",
        data.path().to_str().unwrap(),
    ]);
    let addr = server.addr;
    let alice = register(addr, "alice");
    let bob = register(addr, "bob");

    // Statuses arrive from the simulated platforms' pushes.
    let list = wait_for(60, || {
        let c = connectors(addr, "EVGSYN001");
        let busy = c
            .iter()
            .any(|(_, s)| s == "charging" || s == "offline" || s == "faulted");
        (c.iter().any(|(_, s)| s == "available") && busy).then(|| json!(c))
    })
    .expect("live statuses from EVGSYN001");
    let list: Vec<(String, String)> = serde_json::from_value(list).unwrap();

    // Bad starts: no key, unknown connector, not a driver's call.
    let (free, _) = list.iter().find(|(_, s)| s == "available").unwrap().clone();
    assert_eq!(start_charge(addr, &alice, None, &free).status, 400);
    assert_eq!(
        start_charge(addr, &alice, Some("bad key with spaces"), &free).status,
        400
    );
    assert_eq!(
        start_charge(
            addr,
            &alice,
            Some("k-unknown"),
            "EVGSYN001:NO-SUCH-CONNECTOR"
        )
        .status,
        404
    );
    assert_eq!(
        request_with(
            addr,
            "POST",
            "/api/v1/sessions",
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "k0")
            ],
            br#"{"connector_id":"x"}"#
        )
        .status,
        401
    );

    // A refused start: a connector that is not idle; the operator's reason is in the answer.
    // (Statuses move: try a few busy connectors; the first refusal is checked.)
    let carol = register(addr, "carol");
    let refused = list
        .iter()
        .filter(|(_, s)| s == "charging" || s == "offline" || s == "faulted")
        .take(5)
        .enumerate()
        .find_map(|(i, (busy, _))| {
            let a = start_charge(addr, &carol, Some(&format!("k-busy-{i}")), busy);
            assert_eq!(a.status, 201, "{}", a.text());
            let v = a.json();
            (v["status"] == "refused").then_some(v)
        })
        .expect("a busy connector is refused");
    assert!(
        refused["message"].as_str().unwrap().contains("not ready"),
        "{refused}"
    );

    // Start on a free connector; the same key again is the same charge, not a second start.
    let mut started = None;
    for (i, (connector, _)) in list
        .iter()
        .filter(|(_, s)| s == "available")
        .take(5)
        .enumerate()
    {
        let key = format!("alice-start-{i}");
        let a = start_charge(addr, &alice, Some(&key), connector);
        assert_eq!(a.status, 201, "{}", a.text());
        if a.json()["status"] == "started" {
            started = Some((key, connector.clone(), a.json()));
            break;
        }
    }
    let (key, connector, charge) = started.expect("a free connector starts");
    let id = charge["id"].as_str().unwrap().to_owned();
    assert_eq!(charge["channel"], "tcec");
    assert!(charge["session_ref"]
        .as_str()
        .unwrap()
        .starts_with("EVGRID000"));
    let again = start_charge(addr, &alice, Some(&key), &connector);
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["id"], id.as_str());
    assert_eq!(again.json()["session_ref"], charge["session_ref"]);
    let mine = as_user(addr, &alice, "GET", "/api/v1/me/sessions").json();
    assert_eq!(
        mine.as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "started")
            .count(),
        1,
        "one charge started"
    );

    // Nobody else sees or stops it.
    assert_eq!(
        as_user(addr, &bob, "GET", &format!("/api/v1/sessions/{id}")).status,
        404
    );
    assert_eq!(
        as_user(addr, &bob, "POST", &format!("/api/v1/sessions/{id}/stop")).status,
        404
    );
    assert!(as_user(addr, &bob, "GET", "/api/v1/me/sessions")
        .json()
        .as_array()
        .unwrap()
        .is_empty());
    // Nor the connector's operator; operators and regulators start and reserve nothing.
    common::add_user(
        data.path(),
        "op1",
        "operator",
        Some("EVGSYN001"),
        "operator password 1",
    );
    common::add_user(
        data.path(),
        "reg1",
        "regulator",
        None,
        "regulator password 1",
    );
    let operator = login(addr, "op1", "operator password 1");
    let regulator = login(addr, "reg1", "regulator password 1");
    for (method, path) in [
        ("GET", format!("/api/v1/sessions/{id}")),
        ("POST", format!("/api/v1/sessions/{id}/stop")),
        ("GET", format!("/api/v1/sessions/{id}/receipt")),
    ] {
        assert_eq!(
            as_user(addr, &operator, method, &path).status,
            404,
            "{path}"
        );
    }
    for token in [&operator, &regulator] {
        assert_eq!(
            start_charge(addr, token, Some("not-a-driver"), &connector).status,
            403
        );
        let reserve = request_with(
            addr,
            "POST",
            "/api/v1/reservations",
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {token}")),
            ],
            json!({"connector_id": connector}).to_string().as_bytes(),
        );
        assert_eq!(reserve.status, 403);
    }

    // The operator's live figures arrive: charging, energy rising.
    let path = format!("/api/v1/sessions/{id}");
    let first = wait_for(60, || {
        let v = as_user(addr, &alice, "GET", &path).json();
        (v["live"]["state"] == "charging" && v["live"]["energy"].as_i64().unwrap_or(0) > 0)
            .then_some(v)
    })
    .expect("the charge reports energy");
    let e1 = first["live"]["energy"].as_i64().unwrap();
    wait_for(60, || {
        let v = as_user(addr, &alice, "GET", &path).json();
        (v["live"]["energy"].as_i64().unwrap_or(0) > e1).then_some(v)
    })
    .expect("energy rises");

    // The live stream: the charge now, then its changes (energy rising).
    let (events, _) = sse(addr, &alice, &format!("{path}/events"), 2, 30);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["id"], id.as_str());
    assert!(events[1]["live"]["energy"].as_i64() >= events[0]["live"]["energy"].as_i64());
    assert_eq!(
        as_user(addr, &bob, "GET", &format!("{path}/events")).status,
        404
    );

    assert_eq!(
        as_user(addr, &alice, "GET", &format!("{path}/receipt")).status,
        409,
        "no order yet"
    );

    // Stop; the order arrives with money and periods.
    let stopped = as_user(addr, &alice, "POST", &format!("{path}/stop"));
    assert_eq!(stopped.status, 200, "{}", stopped.text());
    assert_eq!(stopped.json()["status"], "stop_requested");
    let done = wait_for(90, || {
        let v = as_user(addr, &alice, "GET", &path).json();
        (v["live"]["order_received_at"].is_i64()).then_some(v)
    })
    .expect("the order reaches evgrid");
    assert_eq!(done["live"]["state"], "finished", "{done}");
    let total = done["live"]["total_money"].as_i64().unwrap();
    let periods = done["live"]["periods"].as_array().unwrap();
    assert!(!periods.is_empty());
    let sum: i64 = periods
        .iter()
        .map(|p| p["electricity_money"].as_i64().unwrap() + p["service_money"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, total, "the order's total is the sum of its periods");
    // The stream of a settled charge gives it once and ends.
    let (events, ended) = sse(addr, &alice, &format!("{path}/events"), 5, 20);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(ended, "the stream ends once the order is in");
    assert_eq!(events[0]["live"]["total_money"], total);
    // The order in the driver's list, and its receipt with the same total.
    let orders = as_user(addr, &alice, "GET", "/api/v1/me/orders").json();
    assert_eq!(orders.as_array().unwrap().len(), 1);
    assert_eq!(orders[0]["id"], id.as_str());
    assert!(as_user(addr, &bob, "GET", "/api/v1/me/orders")
        .json()
        .as_array()
        .unwrap()
        .is_empty());
    // The orders as a table for Excel: CSV and XLSX.
    let csv = as_user(addr, &alice, "GET", "/api/v1/me/orders?format=csv");
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    let text = csv.text();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with(&id))
        .expect("the order's row")
        .split(',')
        .collect();
    let column = header.iter().position(|h| *h == "total_yuan").unwrap();
    let yuan: f64 = row[column].parse().unwrap();
    assert!((yuan * 100.0 - total as f64).abs() < 1e-6, "{row:?}");
    let xlsx = as_user(addr, &alice, "GET", "/api/v1/me/orders?format=xlsx");
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.body.starts_with(b"PK"), "an XLSX (zip) file");
    assert_eq!(
        as_user(addr, &alice, "GET", "/api/v1/me/orders?format=pdf").status,
        400
    );
    let receipt = as_user(addr, &alice, "GET", &format!("{path}/receipt"));
    assert_eq!(receipt.status, 200);
    assert!(receipt.content_type.starts_with("text/html"));
    let yuan = format!("¥ {}.{:02}", total / 100, total % 100);
    assert!(
        receipt.text().contains(&format!("<b id=total>{yuan}</b>")),
        "{}",
        receipt.text()
    );
    assert_eq!(
        as_user(addr, &bob, "GET", &format!("{path}/receipt")).status,
        404
    );
    // A finished charge cannot be stopped again.
    assert_eq!(
        as_user(addr, &alice, "POST", &format!("{path}/stop")).status,
        409
    );
    // Its start result, its charge status (the first sample within seconds of the start; the
    // only charge running in this demo) and its stop result reached the demo's superior
    // (issue 21).
    let regulator = common::login(addr, "regulator", REGULATOR_PASSWORD);
    let delivered = |f: &Value, interface: &str| {
        f["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["interface"] == interface && a["delivered"] == true)
    };
    wait_for(60, || {
        let f = common::get_as(addr, &regulator, "/api/v1/superiors/sim-province/delivery").json();
        (delivered(&f, "notification_start_charge_result")
            && delivered(&f, "notification_equip_charge_status")
            && delivered(&f, "notification_stop_charge_result"))
        .then_some(f)
    })
    .expect("the start and stop results delivered to the superior");
}

/// The connectors of one station (`OPERATOR:STATION`) with their live status and its source.
fn station_connectors(addr: SocketAddr, station: &str) -> Vec<(String, String, String)> {
    let detail = get(addr, &format!("/api/v1/stations/{station}")).json();
    let mut out = Vec::new();
    for e in detail["equipment"].as_array().unwrap() {
        for c in e["connectors"].as_array().unwrap() {
            let field = |name: &str| {
                c[name]
                    .as_str()
                    .or_else(|| c["live"][name].as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            out.push((
                c["id"].as_str().unwrap().to_owned(),
                field("status"),
                field("status_source"),
            ));
        }
    }
    out
}

#[test]
fn a_driver_charges_on_a_directly_connected_ocpp_charger() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let server = start(&["demo", "--no-faults", "--chargers", "24", "--data-dir", dir]);
    let addr = server.addr;
    let dora = register(addr, "dora");
    let out = common::evgrid_args(&["charger", "list", "--json", "--data-dir", dir])
        .output()
        .unwrap();
    assert!(out.status.success());
    let chargers: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!chargers.is_empty());
    let stations: std::collections::BTreeSet<String> = chargers
        .iter()
        .map(|c| {
            format!(
                "{}:{}",
                c["operator_id"].as_str().unwrap(),
                c["station_id"].as_str().unwrap()
            )
        })
        .collect();

    // A free connector, its status reported by the charger itself.
    let free = wait_for(60, || {
        stations.iter().find_map(|s| {
            let operator = s.split_once(':').unwrap().0;
            station_connectors(addr, s)
                .into_iter()
                .find(|(_, status, source)| status == "available" && source == "ocpp")
                .map(|(c, _, _)| json!(format!("{operator}:{c}")))
        })
    })
    .expect("an available OCPP connector");
    let connector = free.as_str().unwrap().to_owned();

    let a = start_charge(addr, &dora, Some("dora-1"), &connector);
    assert_eq!(a.status, 201, "{}", a.text());
    let charge = a.json();
    assert_eq!(charge["channel"], "ocpp", "{charge}");
    assert_eq!(charge["status"], "started", "{charge}");
    let id = charge["id"].as_str().unwrap().to_owned();
    let tag = charge["session_ref"].as_str().unwrap();
    assert!(tag.starts_with("EVG") && tag.len() == 20, "{tag}");
    // The same key: the same charge.
    let again = start_charge(addr, &dora, Some("dora-1"), &connector);
    assert_eq!((again.status, again.json()["id"].clone()), (200, json!(id)));

    // The charger opens its transaction under the charge's id tag; energy rises.
    let path = format!("/api/v1/sessions/{id}");
    let first = wait_for(60, || {
        let v = as_user(addr, &dora, "GET", &path).json();
        (v["live"]["state"] == "charging" && v["live"]["energy"].as_i64().unwrap_or(0) > 0)
            .then_some(v)
    })
    .expect("the transaction reports energy");
    let transaction = first["session_ref"].as_str().unwrap().to_owned();
    assert!(
        transaction.contains(':'),
        "linked to the transaction: {first}"
    );
    assert!(
        first["live"]["total_money"].as_i64().unwrap() > 0,
        "billed as it goes: {first}"
    );
    let e1 = first["live"]["energy"].as_i64().unwrap();
    wait_for(60, || {
        let v = as_user(addr, &dora, "GET", &path).json();
        (v["live"]["energy"].as_i64().unwrap_or(0) > e1).then_some(v)
    })
    .expect("energy rises");

    // A second start on the busy connector is refused by the charger, with its reason.
    let busy = start_charge(addr, &dora, Some("dora-2"), &connector).json();
    assert_eq!(busy["status"], "refused", "{busy}");
    assert!(
        busy["message"]
            .as_str()
            .unwrap()
            .contains("refused to start"),
        "{busy}"
    );

    // Stop: the charger ends the transaction, evgrid's order is itemized by the tariff.
    let stopped = as_user(addr, &dora, "POST", &format!("{path}/stop"));
    assert_eq!(stopped.status, 200, "{}", stopped.text());
    let done = wait_for(30, || {
        let v = as_user(addr, &dora, "GET", &path).json();
        (v["live"]["order_received_at"].is_i64()).then_some(v)
    })
    .expect("the transaction ends with an order");
    let live = &done["live"];
    assert_eq!(live["state"], "finished", "{done}");
    assert!(live["dispute"].is_null(), "{done}");
    let periods = live["periods"].as_array().unwrap();
    assert!(!periods.is_empty());
    let energy: i64 = periods.iter().map(|p| p["energy"].as_i64().unwrap()).sum();
    assert_eq!(
        energy,
        live["energy"].as_i64().unwrap(),
        "periods add up to the energy"
    );
    let money: i64 = periods
        .iter()
        .map(|p| p["electricity_money"].as_i64().unwrap() + p["service_money"].as_i64().unwrap())
        .sum();
    assert_eq!(money, live["total_money"].as_i64().unwrap());
    for p in periods {
        let e = p["energy"].as_i64().unwrap();
        let price = p["electricity_price"].as_i64().unwrap();
        assert_eq!(
            p["electricity_money"].as_i64().unwrap(),
            (e * price + 50_000) / 100_000
        );
    }
    let orders = as_user(addr, &dora, "GET", "/api/v1/me/orders").json();
    assert_eq!(orders[0]["id"], id.as_str());
    let receipt = as_user(addr, &dora, "GET", &format!("{path}/receipt"));
    assert_eq!(receipt.status, 200);

    // Reservations: the connector is held for dora (the charger reports it reserved), refused
    // to someone else, and dora's charge runs under the reservation.
    let reserve = |token: &str, body: Value| {
        request_with(
            addr,
            "POST",
            "/api/v1/reservations",
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {token}")),
            ],
            body.to_string().as_bytes(),
        )
    };
    let station_of = |c: &str| {
        let (operator, connector_id) = c.split_once(':').unwrap();
        let charger = connector_id.rsplit_once('-').unwrap().0;
        let c = chargers.iter().find(|x| x["id"] == charger).unwrap();
        format!("{operator}:{}", c["station_id"].as_str().unwrap())
    };
    let status_of = |c: &str| {
        let id = c.split_once(':').unwrap().1;
        station_connectors(addr, &station_of(c))
            .into_iter()
            .find(|(x, _, _)| x == id)
            .map(|(_, s, _)| s)
            .unwrap()
    };
    wait_for(30, || {
        (status_of(&connector) == "available").then_some(json!(true))
    })
    .expect("the connector is free again");
    for bad in [
        json!({"connector_id": connector, "minutes": 2}),
        json!({"connector_id": connector, "minutes": 31}),
        json!({"connector_id": connector, "extra": 1}),
        json!({"minutes": 10}),
    ] {
        assert_eq!(reserve(&dora, bad.clone()).status, 400, "{bad}");
    }
    assert_eq!(
        reserve(&dora, json!({"connector_id": "EVGSYN001:NOPE-1"})).status,
        404
    );
    let tcec = connectors(addr, "EVGSYN002");
    let tcec_answer = reserve(&dora, json!({"connector_id": tcec[0].0}));
    assert_eq!(tcec_answer.status, 409, "{}", tcec_answer.text());
    assert!(tcec_answer.text().contains("no reservation"));

    let held = reserve(&dora, json!({"connector_id": connector, "minutes": 10}));
    assert_eq!(held.status, 201, "{}", held.text());
    let held = held.json();
    assert_eq!(held["status"], "reserved", "{held}");
    let expires = held["expires_at"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((expires - now - 600).abs() <= 5, "expires in 10 minutes");
    wait_for(20, || {
        (status_of(&connector) == "reserved").then_some(json!(true))
    })
    .expect("the charger reports the connector reserved");
    // Someone else cannot take it: the charger refuses the start.
    let eve = register(addr, "eve");
    let theirs = start_charge(addr, &eve, Some("eve-1"), &connector).json();
    assert_eq!(theirs["status"], "refused", "{theirs}");
    assert_eq!(
        as_user(
            addr,
            &eve,
            "DELETE",
            &format!("/api/v1/reservations/{}", held["id"].as_str().unwrap())
        )
        .status,
        404,
        "not eve's to cancel"
    );
    // Dora's own start uses the reservation.
    let mine = start_charge(addr, &dora, Some("dora-3"), &connector).json();
    assert_eq!(mine["status"], "started", "{mine}");
    let listed = as_user(addr, &dora, "GET", "/api/v1/me/reservations").json();
    assert_eq!(listed[0]["status"], "used", "{listed}");
    let path = format!("/api/v1/sessions/{}", mine["id"].as_str().unwrap());
    wait_for(60, || {
        let v = as_user(addr, &dora, "GET", &path).json();
        (v["live"]["state"] == "charging").then_some(v)
    })
    .expect("the reserved charge runs");
    // At most four live streams per user: a fifth is answered 429 while they are open, and
    // one closed frees its place.
    let mut open: Vec<_> = (0..4)
        .map(|_| stream_head(addr, &dora, &format!("{path}/events")))
        .collect();
    assert!(open
        .iter()
        .all(|(head, _)| head.starts_with("HTTP/1.1 200")));
    let (fifth, _) = stream_head(addr, &dora, &format!("{path}/events"));
    assert!(fifth.starts_with("HTTP/1.1 429"), "{fifth}");
    drop(open.pop());
    let freed = wait_for(10, || {
        let (head, s) = stream_head(addr, &dora, &format!("{path}/events"));
        head.starts_with("HTTP/1.1 200").then(|| {
            drop(s);
            json!(true)
        })
    });
    assert!(freed.is_some(), "a closed stream frees its place");
    drop(open);
    assert_eq!(
        as_user(addr, &dora, "POST", &format!("{path}/stop")).status,
        200
    );

    // A reservation cancelled frees the connector.
    wait_for(30, || {
        (status_of(&connector) == "available").then_some(json!(true))
    })
    .expect("free after the stop");
    let second = reserve(&dora, json!({"connector_id": connector})).json();
    assert_eq!(second["status"], "reserved", "{second}");
    let cancel = format!("/api/v1/reservations/{}", second["id"].as_str().unwrap());
    let cancelled = as_user(addr, &dora, "DELETE", &cancel);
    assert_eq!(cancelled.status, 200, "{}", cancelled.text());
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(as_user(addr, &dora, "DELETE", &cancel).status, 409);
    wait_for(20, || {
        (status_of(&connector) == "available").then_some(json!(true))
    })
    .expect("the charger frees the connector");

    // At most three open reservations per user: past them, 429 before anything else.
    let mut held = Vec::new();
    'reserving: for _ in 0..10 {
        for c in chargers.iter().flat_map(|c| {
            let id = c["id"].as_str().unwrap().to_owned();
            let operator = c["operator_id"].as_str().unwrap().to_owned();
            (1..=c["connectors"].as_u64().unwrap()).map(move |n| format!("{operator}:{id}-{n}"))
        }) {
            if held.len() == 3 {
                break 'reserving;
            }
            let r = reserve(&dora, json!({"connector_id": c})).json();
            if r["status"] == "reserved" {
                held.push(r["id"].as_str().unwrap().to_owned());
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(held.len(), 3, "three free connectors reserved");
    let fourth = reserve(&dora, json!({"connector_id": "EVGSYN001:NOPE-1"}));
    assert_eq!(fourth.status, 429, "{}", fourth.text());
    assert!(fourth.header("retry-after").is_some());
    for id in &held {
        let path = format!("/api/v1/reservations/{id}");
        assert_eq!(as_user(addr, &dora, "DELETE", &path).status, 200);
    }
    assert_eq!(
        reserve(&dora, json!({"connector_id": "EVGSYN001:NOPE-1"})).status,
        404,
        "cancelled reservations free their places"
    );

    // Dora's history a page at a time, newest first, with the total in a header.
    let all = as_user(addr, &dora, "GET", "/api/v1/me/sessions");
    let every = all.json();
    let count = every.as_array().unwrap().len();
    assert!(count >= 3, "{every}");
    let total_header = |a: &common::Answer| {
        a.header("x-total-count")
            .map(|v| v.parse::<usize>().unwrap())
    };
    assert_eq!(total_header(&all), Some(count));
    let second = as_user(addr, &dora, "GET", "/api/v1/me/sessions?page=2&page_size=1");
    assert_eq!(second.json()[0]["id"], every[1]["id"]);
    assert_eq!(total_header(&second), Some(count));
    let orders = as_user(addr, &dora, "GET", "/api/v1/me/orders?page_size=1");
    assert_eq!(orders.json().as_array().unwrap().len(), 1);
    assert!(
        total_header(&orders).unwrap() >= 2,
        "two charges ended with an order"
    );
    assert_eq!(
        as_user(addr, &dora, "GET", "/api/v1/me/sessions?page_size=0").status,
        400
    );
}
