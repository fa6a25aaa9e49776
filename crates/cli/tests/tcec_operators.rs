//! evgrid and simulated operator platforms over real T/CEC on loopback, both directions: the
//! server pulls the directory and statuses (paged, in batches), keeps polling the operator that
//! answers while another one hangs, and stores the charge an operator reports, to the order.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{add_user, evgrid_args, get, get_as, login, start, wait_for};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn evgrid_pulls_from_operators_keeps_going_past_a_hung_one_and_stores_their_charges() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // Who may read the reports: a regulator, and EVGSYN001's own operator user.
    for (name, role, op) in [
        ("qa.regulator", "regulator", None),
        ("op.one", "operator", Some("EVGSYN001")),
    ] {
        add_user(dir.path(), name, role, op, "a long test password");
    }
    let server = start(&[
        "serve",
        "--data-dir",
        data,
        "--poll-interval",
        "2",
        "--poll-timeout",
        "2",
    ]);
    let regulator = login(server.addr, "qa.regulator", "a long test password");
    let operator_one = login(server.addr, "op.one", "a long test password");
    let platform = format!("http://{}/evcs/v1/", server.addr);
    let mut sim = evgrid_args(&[
        "simulate",
        "operators",
        "--platform",
        &platform,
        "--count",
        "2",
        "--register",
        data,
        "--hang-operator",
        "EVGSYN002",
        "--hang-after",
        "0",
        "--hang-for",
        "600",
        "--interval-ms",
        "300",
        "--changes-per-round",
        "3",
        "--sample-seconds",
        "1",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    let mut urls = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("registered") {
            break;
        }
        if let Some((id, url)) = line.split_once(' ') {
            urls.push((id.to_owned(), url.to_owned()));
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let _sim = Killed(sim);
    assert_eq!(urls.len(), 2, "{urls:?}");

    // EVGSYN001 is pulled: its whole directory (415 stations over 9 pages of 50) and statuses.
    let quality = |id: &str| {
        get_as(
            server.addr,
            &regulator,
            &format!("/api/v1/operators/{id}/data-quality"),
        )
        .json()
    };
    // Nobody, and another operator's user, may not read a report; its own user may.
    assert_eq!(
        get(server.addr, "/api/v1/operators/EVGSYN001/data-quality").status,
        401
    );
    let own = get_as(
        server.addr,
        &operator_one,
        "/api/v1/operators/EVGSYN001/data-quality",
    );
    assert_eq!(own.status, 200, "{}", own.text());
    let other = get_as(
        server.addr,
        &operator_one,
        "/api/v1/operators/EVGSYN002/data-quality",
    );
    assert_eq!(other.status, 403, "{}", other.text());
    assert_eq!(
        get_as(server.addr, &operator_one, "/api/v1/coverage/summary").status,
        403
    );
    let pulled = wait_for(60, || {
        let q = quality("EVGSYN001");
        (q["pull"]["polls_ok"].as_u64() >= Some(2)).then_some(q)
    })
    .expect("EVGSYN001 pulled twice");
    let first = get(
        server.addr,
        "/api/v1/stations?operator=EVGSYN001&page_size=1",
    )
    .json();
    assert_eq!(first["total"], 415, "{first}");
    assert_eq!(pulled["stations"]["total"], 415);
    assert!(
        pulled["connectors"]["unreported"].as_i64() == Some(0),
        "{}",
        pulled["connectors"]
    );
    assert!(
        pulled["pull"]["last_result"]["statuses_pulled"].as_u64() > Some(1000),
        "{}",
        pulled["pull"]
    );

    // EVGSYN002 never answers: the poller times out and backs off; EVGSYN001 went on meanwhile.
    let hung = wait_for(30, || {
        let q = quality("EVGSYN002");
        (q["pull"]["consecutive_failures"].as_u64() >= Some(1)).then_some(q)
    })
    .expect("EVGSYN002 recorded as failing");
    let error = hung["pull"]["last_error"].as_str().unwrap_or("");
    assert!(error.contains("timed out"), "{error}");
    assert_eq!(hung["pull"]["polls_ok"], 0);
    let later = wait_for(30, || {
        let q = quality("EVGSYN001");
        (q["pull"]["polls_ok"].as_u64() > pulled["pull"]["polls_ok"].as_u64()).then_some(q)
    });
    assert!(
        later.is_some(),
        "EVGSYN001 keeps being polled while EVGSYN002 hangs"
    );

    // Pushes arrive too (statuses changing live).
    let pushes = wait_for(30, || {
        let q = quality("EVGSYN001");
        q["messages"]["accepted"]["notification_stationStatus"]
            .as_u64()
            .filter(|n| *n > 0)
    });
    assert!(pushes.is_some(), "status pushes accepted");

    // A charge on EVGSYN001, started as evgrid would: the operator notifies evgrid of every
    // step and the final order, which evgrid stores.
    let url = &urls.iter().find(|(id, _)| id == "EVGSYN001").unwrap().1;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (seq, connector) = runtime.block_on(async {
        let keys = evgrid_tcec::crypto::KeySet::new(
            "EVGSYN001DATAKEY",
            "EVGSYN001IVECTOR",
            "EVGSYN001-demo-sig",
        )
        .unwrap();
        let client =
            evgrid_tcec::client::Client::new(url, "EVGRID000", "EVGSYN001-demo-platform", keys)
                .unwrap();
        let page = client.query_stations_info(None, 1, 20).await.unwrap();
        let ids: Vec<String> = page
            .station_infos
            .iter()
            .map(|s| s["StationID"].as_str().unwrap().to_owned())
            .collect();
        let statuses = client.query_station_status(&ids).await.unwrap();
        let mut started = None;
        for info in statuses.iter().flat_map(|s| &s.connector_status_infos) {
            if info.status != 1 {
                continue;
            }
            let seq = client.new_seq();
            let r = client
                .query_start_charge(&seq, &info.connector_id, None)
                .await
                .unwrap();
            if r.succ_stat == 0 {
                started = Some((seq, info.connector_id.clone()));
                break;
            }
        }
        let (seq, connector) = started.expect("an idle connector starts");
        tokio::time::sleep(Duration::from_secs(3)).await;
        let stop = client.query_stop_charge(&seq, &connector).await.unwrap();
        assert_eq!(stop.succ_stat, 0, "{stop:?}");
        (seq, connector)
    });
    let store = runtime
        .block_on(evgrid_store::Store::open(
            &common::postgres_database_for(data).unwrap_or_else(|| format!("sqlite:{data}")),
        ))
        .unwrap();
    let operator = evgrid_model::OperatorId::new("EVGSYN001").unwrap();
    let session = wait_for(30, || {
        runtime
            .block_on(store.charging_session(&operator, &seq))
            .unwrap()
            .filter(|s| s.order_received_at.is_some())
    })
    .expect("the order reached evgrid");
    assert_eq!(session.connector_id, connector);
    assert_eq!(session.state, evgrid_model::SessionState::Finished);
    assert_eq!(session.dispute, None, "{session:?}");
    assert!(!session.periods.is_empty());
    let energy: i64 = session.periods.iter().map(|p| p.energy.0).sum();
    assert_eq!(Some(energy), session.energy.map(|e| e.0));
    let money: i64 = session
        .periods
        .iter()
        .map(|p| p.electricity_money.0 + p.service_money.0)
        .sum();
    assert_eq!(Some(money), session.total_money.map(|m| m.0));
    assert_eq!(session.stop_reason, Some(1), "stopped by the platform");
}
