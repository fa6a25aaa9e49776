//! Several nodes on one PostgreSQL database: a charger connected to one node is reached through
//! another node's API (the command relayed by LISTEN/NOTIFY, the answer back to the caller), its
//! presence is visible from every node, and when its node is killed the other nodes stop
//! counting it connected within the heartbeat's freshness. Each operator's platform is polled
//! by one node at a time, and by another within two intervals of that node's death.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{evgrid, get_as, login, post_json, postgres_test_server, start_command, wait_for};
use serde_json::{json, Value};

#[test]
#[ignore = "needs the PostgreSQL test server: EVGRID_TEST_POSTGRES_URL (bash scripts/test.sh)"]
fn a_command_through_one_node_reaches_a_charger_on_another() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::postgres_database_on(
        &postgres_test_server(),
        &format!("{}/nodes", dir.path().display()),
    );
    let (data_b, data_a) = (dir.path().join("b"), dir.path().join("a"));
    std::fs::create_dir_all(&data_b).unwrap();
    std::fs::create_dir_all(&data_a).unwrap();
    let key = dir.path().join("secret.key");
    let node = |data: &std::path::Path, extra: &[&str]| {
        let mut c = evgrid();
        c.args(["demo", "--no-faults", "--data-dir", data.to_str().unwrap()])
            .args(["--database", &database])
            .args(["--secret-key-file", key.to_str().unwrap()])
            .args(extra);
        c
    };
    // Node B synthesizes the city into the database and connects two simulated chargers to
    // itself; node A serves the same database without simulating anything.
    let interval = 6;
    let every = interval.to_string();
    let b = start_command(node(
        &data_b,
        &["--chargers", "2", "--poll-interval", &every],
    ));
    let a = start_command(node(&data_a, &["--no-simulate", "--poll-interval", &every]));

    // Each node is ready and has an id of its own.
    let ids_of: Vec<String> = [&a, &b]
        .iter()
        .map(|n| {
            let r = common::get(n.addr, "/readyz");
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(
                common::get(n.addr, "/healthz").json()["node"],
                r.json()["node"]
            );
            r.json()["node"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_ne!(ids_of[0], ids_of[1]);

    // Stations imported into the database (by a command, not a node) reach both nodes' indexes
    // through the city's channel: the nearest search (served from the in-memory index) finds
    // them on each node.
    let near = "/api/v1/search/nearest?lat=25.8249&lng=114.9330&k=100&radius_m=3000";
    for n in [&a, &b] {
        assert!(!common::get(n.addr, near).text().contains("CSV001"));
    }
    let imported_at = Instant::now();
    let out = evgrid()
        .args([
            "import",
            common::registry_fixture("good.csv").to_str().unwrap(),
        ])
        .args([
            "--data-dir",
            data_a.to_str().unwrap(),
            "--database",
            &database,
        ])
        .args(["--secret-key-file", key.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, n) in [("A", &a), ("B", &b)] {
        let seen = wait_for(10, || {
            common::get(n.addr, near)
                .text()
                .contains("CSV001")
                .then(|| imported_at.elapsed())
        });
        assert!(seen.is_some(), "node {name} finds the imported station");
        eprintln!(
            "node {name} found the imported station {:?} after the import began",
            seen.unwrap()
        );
    }

    let out = evgrid()
        .args(["user", "add", "--username", "ops", "--role", "admin"])
        .args([
            "--data-dir",
            data_a.to_str().unwrap(),
            "--database",
            &database,
        ])
        .env("EVGRID_USER_PASSWORD", "ops password 123")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = login(a.addr, "ops", "ops password 123");
    let bearer = format!("Bearer {token}");
    let out = evgrid()
        .args(["charger", "list", "--json"])
        .args([
            "--data-dir",
            data_a.to_str().unwrap(),
            "--database",
            &database,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = serde_json::from_slice::<Vec<Value>>(&out.stdout)
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.len() >= 2, "{ids:?}");

    // Node A sees node B's 1.6 charger connected.
    let charger = |id: &str| get_as(a.addr, &token, &format!("/api/v1/chargers/{id}")).json();
    let cp16 = wait_for(60, || {
        ids.iter()
            .find(|id| charger(id)["connected_with"] == "1.6")
            .cloned()
    })
    .expect("node A sees a 1.6 charger of node B connected");

    // A command through node A is answered by the charger on node B.
    let command = json!({"command": "ocpp", "action": "GetConfiguration", "payload": {}});
    let started = Instant::now();
    let answer = post_json(
        a.addr,
        &format!("/api/v1/chargers/{cp16}/commands"),
        &[("Authorization", &bearer)],
        &command,
    );
    let round_trip = started.elapsed();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let keys = answer.json()["answer"]["configurationKey"].clone();
    assert!(
        keys.as_array().is_some_and(|k| !k.is_empty()),
        "the charger's configuration came back through node A: {keys}"
    );
    assert!(round_trip < Duration::from_secs(10), "{round_trip:?}");
    // The same command through node B (the charger's own node) gives the same keys.
    let token_b = login(b.addr, "ops", "ops password 123");
    let direct = post_json(
        b.addr,
        &format!("/api/v1/chargers/{cp16}/commands"),
        &[("Authorization", &format!("Bearer {token_b}"))],
        &command,
    );
    assert_eq!(direct.status, 200);
    assert_eq!(direct.json()["answer"]["configurationKey"], keys);

    // Every operator's platform is polled by exactly one of the nodes: over three intervals the
    // other node makes no attempt.
    let operators: Vec<String> = (1..=7).map(|n| format!("EVGSYN{n:03}")).collect();
    let attempts = |addr, token: &str, op: &str| -> (u64, bool) {
        let q = get_as(addr, token, &format!("/api/v1/operators/{op}/data-quality")).json();
        let pull = &q["pull"];
        (
            pull["polls_ok"].as_u64().unwrap_or(0) + pull["polls_failed"].as_u64().unwrap_or(0),
            pull["elsewhere"] == true,
        )
    };
    // Generous: on a loaded 2-core machine both demos take a while to make their first polls.
    let settled = wait_for(150, || {
        operators
            .iter()
            .all(|op| {
                let (na, ea) = attempts(a.addr, &token, op);
                let (nb, eb) = attempts(b.addr, &token_b, op);
                (na > 0 && eb) || (nb > 0 && ea)
            })
            .then_some(())
    });
    assert!(
        settled.is_some(),
        "each operator polled on one node, the other standing by"
    );
    let before: Vec<((u64, bool), (u64, bool))> = operators
        .iter()
        .map(|op| (attempts(a.addr, &token, op), attempts(b.addr, &token_b, op)))
        .collect();
    std::thread::sleep(Duration::from_secs(3 * interval));
    let mut on_b = Vec::new();
    for (op, ((na, ea), (nb, eb))) in operators.iter().zip(&before) {
        let ((na2, _), (nb2, _)) = (attempts(a.addr, &token, op), attempts(b.addr, &token_b, op));
        if *ea {
            assert_eq!(na2, *na, "{op}: node A stands by while B polls");
            assert!(nb2 > *nb, "{op}: node B polls");
            on_b.push(op.clone());
        } else {
            assert!(*eb, "{op}: one node polls");
            assert_eq!(nb2, *nb, "{op}: node B stands by while A polls");
            assert!(na2 > *na, "{op}: node A polls");
        }
    }

    assert!(
        !on_b.is_empty(),
        "node B, started first, polls some operators"
    );

    // A siting plan started through node A is followed through node B (its progress and its
    // result are in the database): the same result from both.
    let plan = post_json(
        a.addr,
        "/api/v1/plans",
        &[("Authorization", &bearer)],
        &serde_json::json!({"new_piles": 40, "grid_m": 2000}),
    );
    assert_eq!(plan.status, 202, "{}", plan.text());
    let path = plan
        .headers
        .iter()
        .find(|(name, _)| name == "location")
        .map(|(_, value)| value.clone())
        .expect("a Location");
    let done = wait_for(240, || {
        let job = get_as(b.addr, &token_b, &path).json();
        (job["status"] != "queued" && job["status"] != "running").then_some(job)
    })
    .expect("the plan ends");
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(get_as(a.addr, &token, &path).json(), done);

    // Node B dies: within the heartbeat's freshness node A no longer counts its chargers
    // connected, and a command is answered 409 (not connected) instead of waiting; node A takes
    // B's operators over within two intervals (their platforms died with B: the pulls fail, but
    // they are attempted).
    let killed = Instant::now();
    let counts_at_death: Vec<u64> = on_b
        .iter()
        .map(|op| attempts(a.addr, &token, op).0)
        .collect();
    drop(b);
    let gone = wait_for(30, || (charger(&cp16)["connected"] == false).then_some(()));
    assert!(
        gone.is_some(),
        "node A stops counting the dead node's charger connected"
    );
    let late = post_json(
        a.addr,
        &format!("/api/v1/chargers/{cp16}/commands"),
        &[("Authorization", &bearer)],
        &command,
    );
    assert_eq!(late.status, 409, "{}", late.text());
    let taken = wait_for(2 * interval + 5, || {
        on_b.iter()
            .zip(&counts_at_death)
            .all(|(op, n)| attempts(a.addr, &token, op).0 > *n)
            .then_some(killed.elapsed())
    });
    assert!(
        taken.is_some_and(|t| t <= Duration::from_secs(2 * interval + 3)),
        "node A polls {on_b:?} within two intervals of B's death ({taken:?})"
    );
}
