//! `evgrid operator` as an administrator runs it: secrets go in, never come back out.
#![allow(clippy::unwrap_used)]

mod common;

use common::run;

const SECRETS: [&str; 4] = [
    "e3bb15a6f95f8bb7",
    "a1b2c3d4e5f6g7h8",
    "1234567890abcdef",
    "s1g2s3e4c5r6e7t8",
];

/// `evgrid operator add` with the sample secrets, for operator `id` with `data_secret`.
fn add_as(dir: &str, id: &str, data_secret: &str) -> std::process::Output {
    run(&[
        "operator",
        "add",
        "--data-dir",
        dir,
        "--operator-id",
        id,
        "--name",
        "示例运营商",
        "--operator-secret",
        SECRETS[0],
        "--data-secret",
        data_secret,
        "--data-secret-iv",
        SECRETS[2],
        "--sig-secret",
        SECRETS[3],
        "--base-url",
        "http://127.0.0.1:9/evcs/v1/",
    ])
}

#[test]
fn operators_are_added_listed_rotated_and_removed_without_showing_secrets() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let out = add_as(dir, "MA01D1QR8", SECRETS[1]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let list = run(&["operator", "list", "--data-dir", dir, "--json"]);
    let text = String::from_utf8_lossy(&list.stdout).into_owned();
    let rows: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(rows[0]["operator_id"], "MA01D1QR8");
    assert_eq!(rows[0]["name"], "示例运营商");
    assert_eq!(rows[0]["coords"], "gcj02");
    for secret in SECRETS {
        assert!(!text.contains(secret), "list shows a secret");
        assert!(!String::from_utf8_lossy(&list.stderr).contains(secret));
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains(secret),
            "add logs a secret"
        );
    }

    let rotated = run(&[
        "operator",
        "rotate",
        "--data-dir",
        dir,
        "--operator-id",
        "MA01D1QR8",
    ]);
    assert!(rotated.status.success());
    let text = String::from_utf8_lossy(&rotated.stdout).into_owned();
    let fresh: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once('=').map(|(_, v)| v))
        .collect();
    assert_eq!(fresh.len(), 4);
    assert!(fresh.iter().all(|s| s.len() == 16 && !SECRETS.contains(s)));

    assert!(run(&[
        "operator",
        "remove",
        "--data-dir",
        dir,
        "--operator-id",
        "MA01D1QR8"
    ])
    .status
    .success());
    let gone = run(&[
        "operator",
        "remove",
        "--data-dir",
        dir,
        "--operator-id",
        "MA01D1QR8",
    ]);
    assert!(!gone.status.success());
    let list = run(&["operator", "list", "--data-dir", dir]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("no operator platforms"));
}

#[test]
fn bad_credentials_are_refused_with_the_reason() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let bad_key = add_as(dir, "MA01D1QR8", "short");
    assert!(!bad_key.status.success());
    assert!(String::from_utf8_lossy(&bad_key.stderr).contains("DataSecret must be exactly 16"));
    let bad_id = add_as(dir, "bad", SECRETS[1]);
    assert!(!bad_id.status.success());
    assert!(String::from_utf8_lossy(&bad_id.stderr).contains("operator id must be 9 characters"));
    let list = run(&["operator", "list", "--data-dir", dir, "--json"]);
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).trim(),
        "[]",
        "nothing stored"
    );
    // Secrets from the environment instead of the command line.
    let env = common::evgrid_args(&[
        "operator",
        "add",
        "--data-dir",
        dir,
        "--operator-id",
        "MA01D1QR8",
        "--name",
        "env",
    ])
    .env("EVGRID_OPERATOR_SECRET", SECRETS[0])
    .env("EVGRID_DATA_SECRET", SECRETS[1])
    .env("EVGRID_DATA_SECRET_IV", SECRETS[2])
    .env("EVGRID_SIG_SECRET", SECRETS[3])
    .output()
    .unwrap();
    assert!(
        env.status.success(),
        "{}",
        String::from_utf8_lossy(&env.stderr)
    );
}
