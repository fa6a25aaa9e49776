//! `evgrid superior` as a city's IT team uses it (issue 21): superiors added with a shipped
//! profile or a province's own file, every mistake refused with a clear message and nothing
//! stored, secrets never shown and sealed at rest, kept across `operator rotate-key`.
#![allow(clippy::unwrap_used)]

mod common;

use common::run;
use serde_json::Value;

const KEYS: [&str; 8] = [
    "--operator-secret",
    "cli-superior-op-secret",
    "--data-secret",
    "CLISUPDATASECRT1",
    "--data-secret-iv",
    "CLISUPDATAIV0001",
    "--sig-secret",
    "cli-superior-sig-secret",
];

fn add(data: &str, id: &str, profile: &str) -> std::process::Output {
    let mut args = vec![
        "superior",
        "add",
        "--id",
        id,
        "--name",
        "江西省监管平台",
        "--base-url",
        "http://127.0.0.1:9/evcs/v1/",
        "--platform-operator-id",
        "EVGRID000",
        "--profile",
        profile,
        "--data-dir",
        data,
    ];
    args.extend(KEYS);
    run(&args)
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn list(data: &str) -> Value {
    let out = run(&["superior", "list", "--json", "--data-dir", data]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn superiors_are_configured_checked_and_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_dir = data.to_str().unwrap();
    // A shipped profile, printed as TOML, edited into a province's own file.
    let out = run(&["superior", "profile", "provincial"]);
    assert!(out.status.success());
    let toml = String::from_utf8(out.stdout).unwrap();
    assert!(toml.contains("notification_charge_order_info"), "{toml}");
    let own = dir.path().join("province.toml");
    std::fs::write(
        &own,
        toml.replace(
            "\"notification_charge_order_info\"",
            "\"notification_charge_order_info_for_bonus\"",
        )
        .replace(
            "check_orders = \"check_charge_orders\"",
            "check_orders = \"check_charge_order\"",
        ),
    )
    .unwrap();
    let out = add(data_dir, "jx", own.to_str().unwrap());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("queued"), "{}", text(&out));
    let superiors = list(data_dir);
    assert_eq!(superiors[0]["id"], "jx");
    assert_eq!(
        superiors[0]["profile"]["interfaces"]["charge_order"],
        "notification_charge_order_info_for_bonus"
    );
    assert_eq!(
        superiors[0]["profile"]["interfaces"]["check_orders"],
        "check_charge_order"
    );
    let shown = superiors.to_string();
    for secret in [KEYS[1], KEYS[3], KEYS[5], KEYS[7]] {
        assert!(!shown.contains(secret), "a secret shown: {shown}");
    }

    // Mistakes: each refused with what is wrong, exit 1, nothing stored.
    let bad_profile = dir.path().join("bad.toml");
    std::fs::write(
        &bad_profile,
        toml.replace("in_flight = 4", "in_flight = 0")
            .replace("retry_seconds = [", "retry_seconds = [0, "),
    )
    .unwrap();
    let bad = bad_profile.to_str().unwrap();
    let cases: [(&str, &[&str], &str, &str); 7] = [
        ("has space", &[], "provincial", "superior id"),
        (
            "bad",
            &[],
            "zhejiang",
            "neither standard, provincial nor a file",
        ),
        ("bad", &[], bad, "in_flight"),
        ("bad", &[], bad, "at least one second"),
        (
            "bad",
            &["--data-secret", "short"],
            "provincial",
            "DataSecret",
        ),
        ("bad", &["--base-url", "ftp://x"], "provincial", "http"),
        (
            "bad",
            &["--platform-operator-id", "evgrid"],
            "provincial",
            "OperatorID",
        ),
    ];
    for (id, overrides, profile, expected) in cases {
        let out = add_overriding(data_dir, id, profile, overrides);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{id} {overrides:?}: {said}");
        assert!(
            said.contains(expected),
            "{overrides:?} {profile}: {expected:?} not in {said}"
        );
        assert!(!said.contains("panicked"), "{said}");
    }
    assert_eq!(
        list(data_dir).as_array().unwrap().len(),
        1,
        "nothing stored"
    );

    // Secrets sealed at rest: not in the database file (SQLite; the PostgreSQL pass reads the
    // same sealing code).
    if common::postgres_server().is_none() {
        // The database and its write-ahead log, where recent writes may still be.
        let mut db = std::fs::read(data.join("evgrid.sqlite")).unwrap();
        db.extend(std::fs::read(data.join("evgrid.sqlite-wal")).unwrap_or_default());
        for secret in [KEYS[1], KEYS[3], KEYS[5], KEYS[7]] {
            assert!(
                !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} stored in plain text"
            );
        }
    }

    // The key that seals them is rotated: they still open (the status reads the settings).
    let out = run(&["operator", "rotate-key", "--data-dir", data_dir]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 superiors'"), "{}", text(&out));
    let out = run(&["superior", "status", "jx", "--data-dir", data_dir]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("pending"), "{}", text(&out));
    let out = run(&[
        "superior",
        "rotate",
        "jx",
        "--operator-secret",
        "cli-superior-new-secret",
        "--data-secret",
        "CLISUPDATASECRT2",
        "--data-secret-iv",
        "CLISUPDATAIV0002",
        "--sig-secret",
        "cli-superior-new-sig",
        "--data-dir",
        data_dir,
    ]);
    assert!(out.status.success(), "{}", text(&out));

    // Unknown ids, and removal.
    for cmd in [
        vec!["superior", "status", "nope", "--data-dir", data_dir],
        vec!["superior", "remove", "nope", "--data-dir", data_dir],
        vec!["superior", "resend", "nope", "--data-dir", data_dir],
    ] {
        let out = run(&cmd);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}");
        assert!(text(&out).contains("no superior nope"), "{}", text(&out));
    }
    let out = run(&["superior", "remove", "jx", "--data-dir", data_dir]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(list(data_dir).as_array().unwrap().len(), 0);
}

/// `add` with some of the values of [`add`] replaced.
fn add_overriding(data: &str, id: &str, profile: &str, extra: &[&str]) -> std::process::Output {
    let mut values: Vec<(String, String)> = vec![
        ("--base-url".into(), "http://127.0.0.1:9/evcs/v1/".into()),
        ("--platform-operator-id".into(), "EVGRID000".into()),
    ];
    for pair in KEYS.chunks(2) {
        values.push((pair[0].into(), pair[1].into()));
    }
    for pair in extra.chunks(2) {
        if let Some(v) = values.iter_mut().find(|(k, _)| k == pair[0]) {
            v.1 = pair[1].into();
        }
    }
    let mut args: Vec<String> = vec![
        "superior".into(),
        "add".into(),
        "--id".into(),
        id.into(),
        "--name".into(),
        "bad".into(),
        "--profile".into(),
        profile.into(),
        "--data-dir".into(),
        data.into(),
    ];
    for (k, v) in values {
        args.push(k);
        args.push(v);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args)
}
