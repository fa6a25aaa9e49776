//! `evgrid migrate` as an operator of the platform runs it: a running demo's data directory is
//! copied to PostgreSQL, a target that holds data is refused, a migration that stopped half way
//! is finished without doubling rows, and a `serve` on PostgreSQL shows the city the SQLite
//! deployment shows. Needs the PostgreSQL test server (bash scripts/test.sh starts one).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{evgrid, get, get_as, login, post_json, postgres_test_server, start_command};
use serde_json::{json, Value};

/// `evgrid migrate`'s table: table → (source, target before, target after).
fn migrate(from: &str, to: &str, append: Option<&str>) -> std::process::Output {
    let mut command = evgrid();
    command.args(["migrate", "--from", from, "--to", to]);
    if let Some(how) = append {
        command.args(["--append", how]);
    }
    command.output().unwrap()
}

fn counts(out: &std::process::Output) -> BTreeMap<String, (u64, u64, u64)> {
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    text.lines()
        .skip_while(|l| !l.starts_with("group"))
        .skip(1)
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let n = words.len();
            let numbers: Vec<u64> = words[n.saturating_sub(3)..]
                .iter()
                .filter_map(|w| w.parse().ok())
                .collect();
            (numbers.len() == 3 && n >= 4 && !line.starts_with("all")).then(|| {
                (
                    words[n - 4].to_owned(),
                    (numbers[0], numbers[1], numbers[2]),
                )
            })
        })
        .collect()
}

/// What a person sees of the city: stations, piles, connectors and statuses; charges and their
/// energy; accounts.
fn city(server: &common::Server, token: &str) -> Value {
    let summary = get(server.addr, "/api/v1/stats/summary").json();
    let utilization = get_as(server.addr, token, "/api/v1/stats/utilization").json();
    let rows = utilization["rows"].as_array().unwrap();
    let sessions: u64 = rows.iter().map(|r| r["sessions"].as_u64().unwrap()).sum();
    let energy: f64 = rows.iter().map(|r| r["energy_kwh"].as_f64().unwrap()).sum();
    let faults = get_as(server.addr, token, "/api/v1/stats/faults").json();
    let fault_events: u64 = faults["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["faults"].as_u64().unwrap())
        .sum();
    json!({
        "stations": summary["stations"],
        "piles": summary["piles"],
        "connectors": summary["connectors"],
        "connector_status": summary["connector_status"],
        "sessions": sessions,
        "energy_kwh": (energy * 1000.0).round() / 1000.0,
        "fault_events": fault_events,
    })
}

fn accounts(location: &[&str]) -> String {
    let out = evgrid()
        .args(["user", "list"])
        .args(location)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[ignore = "needs the PostgreSQL test server: EVGRID_TEST_POSTGRES_URL (bash scripts/test.sh)"]
fn a_running_demo_moves_to_postgresql_and_serves_the_same_city() {
    let server_url = postgres_test_server();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let from = format!("sqlite:{data}");

    let mut demo = evgrid();
    demo.args([
        "demo",
        "--data-dir",
        &data,
        "--regulator-password",
        "regulator-pw-1",
    ]);
    let demo = start_command(demo);
    let regulator = login(demo.addr, "regulator", "regulator-pw-1");
    let driver = post_json(
        demo.addr,
        "/api/v1/auth/register",
        &[],
        &json!({"username": "driver-migrate", "password": "driver-pw-12345"}),
    );
    assert!(driver.status < 300, "{}", driver.text());
    // Wait until the simulated operators have reported charges.
    let deadline = Instant::now() + Duration::from_secs(120);
    while city(&demo, &regulator)["sessions"].as_u64().unwrap() == 0 {
        assert!(Instant::now() < deadline, "no charge reported within 120 s");
        std::thread::sleep(Duration::from_secs(2));
    }

    // While the demo writes: one consistent snapshot, every table whole.
    let live_target = common::postgres_database_on(&server_url, &format!("{data}/live"));
    let live = counts(&migrate(&from, &live_target, None));
    assert!(live.len() >= 26, "every table: {live:?}");
    for (table, (source, _, after)) in &live {
        assert_eq!(source, after, "{table}");
    }
    for table in [
        "stations",
        "connectors",
        "connector_status",
        "charging_sessions",
        "users",
    ] {
        assert!(live[table].0 > 0, "{table} copied: {live:?}");
    }
    drop(demo);
    // `serve` refuses the demo's published operator secrets: the deployment gets its own.
    let listed = evgrid()
        .args(["operator", "list", "--json", "--data-dir", &data])
        .output()
        .unwrap();
    let operators: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(!operators.is_empty());
    for o in &operators {
        let rotated = evgrid()
            .args(["operator", "rotate", "--data-dir", &data, "--operator-id"])
            .arg(o["operator_id"].as_str().unwrap())
            .output()
            .unwrap();
        assert!(rotated.status.success(), "{rotated:?}");
    }

    // Stopped: the copy that a serve on PostgreSQL will show.
    let target = common::postgres_database_on(&server_url, &format!("{data}/stopped"));
    let first = counts(&migrate(&from, &target, None));
    for (table, (source, _, after)) in &first {
        assert_eq!(source, after, "{table}");
    }

    // A target that holds data is refused, with what it holds and the way on.
    let refused = migrate(&from, &target, None);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("already holds data") && message.contains("--append keep"),
        "{message}"
    );

    // As if the last groups had not committed: running again with --append keep finishes the
    // copy and doubles nothing.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let pool = sqlx::PgPool::connect(&target).await.unwrap();
            for statement in [
                "DELETE FROM users",
                "DELETE FROM charging_sessions",
                "DELETE FROM status_events WHERE seq % 2 = 0",
            ] {
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            pool.close().await;
        });
    let again = counts(&migrate(&from, &target, Some("keep")));
    for (table, (source, before, after)) in &again {
        assert_eq!(source, after, "{table}: nothing doubled, nothing missing");
        assert!(before <= after, "{table}");
    }
    assert!(again["users"].1 == 0 && again["users"].2 == 2, "{again:?}");
    assert!(again["status_events"].1 < again["status_events"].0);
    // And once more: every row is there already.
    for (table, (source, before, after)) in counts(&migrate(&from, &target, Some("keep"))) {
        assert!(source == before && before == after, "{table}");
    }

    // A serve on each shows the same city.
    let mut on_sqlite = evgrid();
    on_sqlite.args(["serve", "--data-dir", &data, "--poll-interval", "0"]);
    let on_sqlite = start_command(on_sqlite);
    let other_dir = tempfile::tempdir().unwrap();
    let mut on_postgres = evgrid();
    // The secrets travel sealed: the PostgreSQL node serves with the same key.
    let key_file = format!("{data}/secret.key");
    on_postgres.args([
        "serve",
        "--data-dir",
        other_dir.path().to_str().unwrap(),
        "--secret-key-file",
        &key_file,
        "--database",
        &target,
        "--poll-interval",
        "0",
    ]);
    let on_postgres = start_command(on_postgres);
    let sqlite_city = city(
        &on_sqlite,
        &login(on_sqlite.addr, "regulator", "regulator-pw-1"),
    );
    let postgres_city = city(
        &on_postgres,
        &login(on_postgres.addr, "regulator", "regulator-pw-1"),
    );
    assert_eq!(sqlite_city, postgres_city);
    assert!(sqlite_city["sessions"].as_u64().unwrap() > 0);
    let on_target = ["--database", &target, "--secret-key-file", &key_file];
    assert_eq!(accounts(&["--data-dir", &data]), accounts(&on_target));
    assert!(accounts(&on_target).contains("driver-migrate"));
}

#[test]
fn migrate_refuses_what_it_cannot_copy_in_one_line() {
    let out = evgrid()
        .args([
            "migrate",
            "--from",
            "postgres://a@127.0.0.1:1/x",
            "--to",
            "postgres://b@127.0.0.1:1/y",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("copies a SQLite deployment"), "{err}");
    let out = evgrid()
        .args([
            "migrate",
            "--from",
            "sqlite:/tmp/x",
            "--to",
            "postgres://b@127.0.0.1:1/y",
            "--append",
            "twice",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses an unknown --append"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("keep or replace"));
}
