//! Reporting upward (issue 21) on the real binary: `evgrid serve` reports the city to
//! `evgrid simulate superior` (a strict T/CEC superior that refuses 30% of requests with Ret
//! 500): every station, every connector's status, the charge status and real-time power of a
//! running charge at the profile's period, each order exactly once — across the refusals, a superior outage and a
//! SIGKILL of evgrid — and the daily order check; the regulator sees the delivery figures.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{get_as, login, start_command, wait_for};
use evgrid_tcec::client::Client;
use evgrid_tcec::crypto::KeySet;
use serde_json::{json, Value};

const OPERATOR: &str = "MA0CSVOP1";
const SECRETS: [&str; 4] = [
    "superior-test-op-secret",
    "SUPTESTDATASECR1",
    "SUPTESTDATAIV001",
    "superior-test-sig",
];
const CONNECTORS: [&str; 4] = ["CSV001E1C1", "CSV001E1C2", "CSV001E2C1", "CSV002E1C1"];

struct Superior(Child);

impl Drop for Superior {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `evgrid simulate superior` on `port`, registered in `data` (when given).
fn start_superior(port: u16, data: Option<&str>, profile: &str, id: &str) -> Superior {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "simulate",
        "superior",
        "--id",
        id,
        "--listen",
        &listen,
        "--refuse-share",
        "0.3",
        "--profile",
        profile,
    ];
    if let Some(d) = data {
        args.extend(["--register", d]);
    }
    let mut child = common::evgrid_args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let wanted = if data.is_some() {
        "registered as superior"
    } else {
        "simulated superior at"
    };
    loop {
        let line = lines.next().expect("the superior exited").unwrap();
        if line.starts_with(wanted) {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Superior(child)
}

fn state(port: u16) -> Option<Value> {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let answer = std::panic::catch_unwind(|| common::get(addr, "/state")).ok()?;
    (answer.status == 200).then(|| answer.json())
}

fn serve(data: &str) -> common::Server {
    start_command(common::evgrid_args(&[
        "serve",
        "--data-dir",
        data,
        "--poll-interval",
        "0",
    ]))
}

fn operator_client(addr: SocketAddr) -> Client {
    Client::new(
        &format!("http://{addr}/evcs/v1/"),
        OPERATOR,
        SECRETS[0],
        KeySet::new(SECRETS[1], SECRETS[2], SECRETS[3]).unwrap(),
    )
    .unwrap()
}

fn china(t: i64) -> String {
    evgrid_tcec::time::china_datetime(t)
}

fn seq(n: u32) -> String {
    evgrid_tcec::business::new_seq(OPERATOR, 1_764_000_000, n)
}

fn order(session: &str, connector: &str, start: i64, end: i64, kwh: f64, yuan: f64) -> Value {
    json!({"StartChargeSeq": session, "ConnectorID": connector, "StartTime": china(start),
        "EndTime": china(end), "TotalPower": kwh, "TotalElecMoney": yuan, "TotalSeviceMoney": 0.0,
        "TotalMoney": yuan, "StopReason": 0})
}

#[test]
fn the_city_reaches_its_superior_once_across_refusals_an_outage_and_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_dir = data.to_str().unwrap();
    let fixture = common::registry_fixture("good.csv");
    let profile =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/superior-fast.toml");
    let profile = profile.to_str().unwrap();
    let run_ok = |args: &[&str]| {
        let out = common::evgrid_args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run_ok(&["import", "--data-dir", data_dir, fixture.to_str().unwrap()]);
    run_ok(&[
        "operator",
        "add",
        "--operator-id",
        OPERATOR,
        "--name",
        "superior test operator",
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
    ]);
    common::add_user(&data, "reg", "regulator", None, "regulator-password-1");
    let stations: std::collections::BTreeSet<String> = std::fs::read_to_string(&fixture)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| format!("{OPERATOR}:{}", l.split(',').nth(2).unwrap()))
        .collect();

    // An order that ended yesterday, stored before the superior is added: never reported to
    // it, so the daily check of yesterday lists it and the superior disputes it (not found).
    let server = serve(data_dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = operator_client(server.addr);
    let now = evgrid_model::time::unix_now();
    let yesterday_end = now - i64::from(evgrid_model::time::china_second_of_day(now)) - 3600;
    let old = seq(2);
    runtime
        .block_on(client.call(
            "notification_charge_order_info",
            &order(
                &old,
                CONNECTORS[1],
                yesterday_end - 3600,
                yesterday_end,
                20.0,
                16.0,
            ),
        ))
        .unwrap();
    let push_status = |client: &Client, connector: &str, status: i32| {
        runtime
            .block_on(client.call(
                "notification_stationStatus",
                &json!({"ConnectorStatusInfo": {"ConnectorID": connector, "Status": status}}),
            ))
            .unwrap();
    };
    for (i, c) in CONNECTORS.iter().enumerate() {
        push_status(&client, c, 1 + i32::try_from(i % 2).unwrap());
    }
    // The superior is added while evgrid serves: the whole city is queued for it.
    let port = free_port();
    let superior = start_superior(port, Some(data_dir), profile, "sim-province");
    // A second superior that takes one county only (its scope): CSV002's.
    let county = common::get(server.addr, &format!("/api/v1/stations/{OPERATOR}:CSV002")).json()
        ["county"]
        .as_str()
        .unwrap()
        .to_owned();
    let scoped_profile = dir.path().join("county.toml");
    std::fs::write(
        &scoped_profile,
        format!(
            "{}\n[scope]\ncounties = [\"{county}\"]\n",
            std::fs::read_to_string(profile).unwrap()
        ),
    )
    .unwrap();
    let scoped_port = free_port();
    let scoped = start_superior(
        scoped_port,
        Some(data_dir),
        scoped_profile.to_str().unwrap(),
        "county-only",
    );

    // Every station, then every connector's status, reach the superior despite its refusals.
    let received = wait_for(60, || {
        let s = state(port)?;
        let got: std::collections::BTreeSet<String> =
            s["stations"].as_object()?.keys().cloned().collect();
        let statuses = s["statuses"].as_object()?;
        (got == stations
            && CONNECTORS
                .iter()
                .enumerate()
                .all(|(i, c)| statuses.get(&format!("{OPERATOR}:{c}")) == Some(&json!(1 + i % 2))))
        .then_some(s)
    })
    .unwrap_or_else(|| panic!("not every station and status arrived: {:?}", state(port)));
    assert_eq!(received["statuses_of_unknown_connectors"], 0, "{received}");
    let in_county = wait_for(60, || {
        let s = state(scoped_port)?;
        let statuses = s["statuses"].as_object()?;
        (statuses.contains_key(&format!("{OPERATOR}:CSV002E1C1"))).then_some(s)
    })
    .unwrap_or_else(|| {
        panic!(
            "the county's superior got nothing: {:?}",
            state(scoped_port)
        )
    });
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(
        keys(&in_county["stations"]),
        [format!("{OPERATOR}:CSV002")],
        "{in_county}"
    );
    assert_eq!(
        keys(&in_county["statuses"]),
        [format!("{OPERATOR}:CSV002E1C1")],
        "{in_county}"
    );
    drop(scoped);
    assert_eq!(
        received["refused"],
        json!({}),
        "nothing malformed: {received}"
    );
    // The daily check of yesterday: one order listed, disputed as unknown to the superior.
    let check = wait_for(60, || {
        let s = state(port)?;
        s["checks"].as_array()?.first().cloned()
    })
    .unwrap_or_else(|| panic!("no check of yesterday's orders: {:?}", state(port)));
    assert_eq!(
        (check[2].as_i64(), check[3].as_i64()),
        (Some(1), Some(1)),
        "{check}"
    );

    // A running charge is reported at the profile's period (5 s).
    let running = seq(1);
    runtime
        .block_on(client.call(
            "notification_equip_charge_status",
            &json!({"StartChargeSeq": running, "StartChargeSeqStat": 2, "ConnectorID": CONNECTORS[0],
                "ConnectorStatus": 3, "CurrentA": 100.0, "VoltageA": 400.0, "Soc": 40.0,
                "StartTime": china(now - 600), "EndTime": china(now), "TotalPower": 5.5,
                "ElecMoney": 3.3, "SeviceMoney": 1.1, "TotalMoney": 4.4}),
        ))
        .unwrap();
    let samples = wait_for(40, || {
        let s = state(port)?;
        let times: Vec<i64> = s["charge_samples"]
            .as_object()?
            .values()
            .next()?
            .as_array()?
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        (times.len() >= 3).then_some(times)
    })
    .unwrap_or_else(|| panic!("no charge samples: {:?}", state(port)));
    for pair in samples.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            (4..=30).contains(&gap),
            "samples {samples:?} are not a period (5 s) apart; a refused one waits for the next"
        );
    }
    // Its power: energy over time so far (5.5 kWh in 600 s: 33 kW), the station's the sum.
    let station_power = |s: &Value| s["station_power"][format!("{OPERATOR}:CSV001")].as_f64();
    let s = wait_for(30, || state(port).filter(|s| station_power(s).is_some()))
        .unwrap_or_else(|| panic!("no real-time power: {:?}", state(port)));
    let kw = station_power(&s).unwrap();
    assert!((28.0..=40.0).contains(&kw), "station power {kw} kW: {s}");
    // The charge ends: its order arrives once.
    runtime
        .block_on(client.call(
            "notification_charge_order_info",
            &order(&running, CONNECTORS[0], now - 600, now, 5.5, 4.4),
        ))
        .unwrap();
    let orders_in = |s: &Value| s["orders"].as_object().map_or(0, serde_json::Map::len);
    let s = wait_for(60, || state(port).filter(|s| orders_in(s) == 1))
        .unwrap_or_else(|| panic!("the order did not arrive: {:?}", state(port)));
    assert!(s["orders"].get(crash_ref(&running)).is_some(), "{s}");
    // The charge stopped: its station's power goes to 0 in the next report.
    wait_for(30, || state(port).filter(|s| station_power(s) == Some(0.0)))
        .unwrap_or_else(|| panic!("the power did not go to 0: {:?}", state(port)));
    assert!(
        s["refused_busy"].as_u64().unwrap() > 0,
        "the superior refused some: {s}"
    );

    // The superior goes down; what happens meanwhile is delivered when it is back.
    drop(superior);
    push_status(&client, CONNECTORS[2], 255);
    let outage = seq(3);
    runtime
        .block_on(client.call(
            "notification_charge_order_info",
            &order(&outage, CONNECTORS[3], now - 1200, now - 60, 12.0, 9.6),
        ))
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let superior = start_superior(port, None, profile, "sim-province");
    wait_for(60, || {
        let s = state(port)?;
        (s["statuses"][format!("{OPERATOR}:{}", CONNECTORS[2])] == 255 && orders_in(&s) >= 1)
            .then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "what happened in the outage did not arrive: {:?}",
            state(port)
        )
    });

    // SIGKILL evgrid while it reports a burst of changes; started again, everything arrives and
    // no order is acknowledged twice.
    for round in 0..20 {
        push_status(
            &client,
            CONNECTORS[round % 4],
            1 + i32::try_from(round % 3).unwrap(),
        );
    }
    let crash = seq(4);
    runtime
        .block_on(client.call(
            "notification_charge_order_info",
            &order(&crash, CONNECTORS[1], now - 900, now - 30, 8.0, 6.4),
        ))
        .unwrap();
    let last: Vec<i32> = (0..4)
        .map(|c| {
            (0..20)
                .filter(|r| r % 4 == c)
                .map(|r| 1 + r % 3)
                .next_back()
                .unwrap()
        })
        .collect();
    let mut server = server;
    let _ = server.child.kill();
    let _ = server.child.wait();
    let server = serve(data_dir);
    let done = wait_for(60, || {
        let s = state(port)?;
        let statuses = s["statuses"].as_object()?;
        let all = CONNECTORS
            .iter()
            .zip(&last)
            .all(|(c, want)| statuses.get(&format!("{OPERATOR}:{c}")) == Some(&json!(want)));
        (all && s["orders"].get(crash_ref(&crash)).is_some()).then_some(s)
    })
    .unwrap_or_else(|| panic!("after the crash not everything arrived: {:?}", state(port)));
    for (order, times) in done["orders"].as_object().unwrap() {
        assert_eq!(
            times, 1,
            "order {order} acknowledged more than once: {done}"
        );
    }

    // The regulator sees the delivery figures.
    let token = login(server.addr, "reg", "regulator-password-1");
    let figures = wait_for(20, || {
        let f = get_as(
            server.addr,
            &token,
            "/api/v1/superiors/sim-province/delivery",
        )
        .json();
        (f["pending"] == 0).then_some(f)
    })
    .unwrap_or_else(|| panic!("a backlog remains"));
    let attempts = figures["attempts"].as_array().unwrap();
    let refused_500 = attempts
        .iter()
        .any(|a| a["ret"] == 500 && a["delivered"] == false);
    assert!(refused_500, "the refusals are counted: {figures}");
    assert!(attempts
        .iter()
        .any(|a| a["interface"] == "notification_equip_charge_status"));
    assert_eq!(figures["given_up"], 0, "{figures}");
    assert!(figures["lag_p50_ms"].as_i64().unwrap() >= 0);
    assert!(figures["last_success_at"].as_i64().is_some());
    let list = get_as(server.addr, &token, "/api/v1/superiors").json();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, ["county-only", "sim-province"]);
    assert!(
        !list.to_string().contains(SECRETS[0]),
        "no secret in {list}"
    );
    assert_eq!(
        get_as(server.addr, &token, "/api/v1/superiors/nope/delivery").status,
        404
    );
    assert_eq!(
        common::get(server.addr, "/api/v1/superiors/sim-province/delivery").status,
        401
    );
    let disputes = figures["disputes"].as_array().unwrap();
    assert_eq!(disputes.len(), 1, "{figures}");
    assert_eq!(disputes[0]["session_ref"], old.as_str());
    assert_eq!(disputes[0]["operator_id"], OPERATOR);
    assert_eq!(disputes[0]["reason"], 1);
    let out = run_ok(&["superior", "status", "sim-province", "--data-dir", data_dir]);
    assert!(out.contains("notification_charge_order_info"), "{out}");
    assert!(
        out.contains(old.as_str()),
        "the disputed order is listed: {out}"
    );
    assert!(out.contains("delivery lag"), "{out}");
    drop(superior);
}

/// The order number the superior knows an operator's session by.
fn crash_ref(session: &str) -> String {
    evgrid_tcec::supervision::superior_ref("EVGRID000", OPERATOR, session)
}
