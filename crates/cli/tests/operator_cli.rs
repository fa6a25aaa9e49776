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

/// Issue 19 item 9: operators' secrets are sealed in the database with a key kept outside it
/// (DATA_DIR/secret.key, 0600); `operator rotate-key` seals them again with a new key; `serve`
/// refuses operators registered with the demo's published secrets.
#[test]
fn secrets_are_sealed_at_rest_the_key_rotates_and_serve_refuses_demo_secrets() {
    use evgrid_app::secrets::{Sealer, SecretKey};
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let out = add_as(dir, "MA01D1QR8", SECRETS[1]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key_file = data.path().join("secret.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let location = common::postgres_database_for(dir).unwrap_or_else(|| format!("sqlite:{dir}"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stored = || {
        runtime.block_on(async {
            let store = evgrid_store::Store::open(&location).await.unwrap();
            store
                .credentials(&evgrid_model::OperatorId::new("MA01D1QR8").unwrap())
                .await
                .unwrap()
                .unwrap()
        })
    };
    let sealer_of = |text: &str| Sealer::new(SecretKey::from_hex(text).unwrap(), Vec::new());
    let raw = stored();
    for (value, secret) in [
        (&raw.operator_secret, SECRETS[0]),
        (&raw.data_secret, SECRETS[1]),
        (&raw.data_secret_iv, SECRETS[2]),
        (&raw.sig_secret, SECRETS[3]),
    ] {
        assert!(
            value.starts_with("sealed1:") && !value.contains(secret),
            "{value}"
        );
    }
    let first_key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(
        sealer_of(&first_key).open(&raw.data_secret).unwrap(),
        SECRETS[1]
    );
    if common::postgres_database_for(dir).is_none() {
        // Nowhere in the database's files either.
        for entry in std::fs::read_dir(data.path()).unwrap() {
            let path = entry.unwrap().path();
            // A -wal or -shm file may go while this runs.
            if let (true, Ok(bytes)) = (
                path.to_string_lossy().contains("sqlite"),
                std::fs::read(&path),
            ) {
                for secret in SECRETS {
                    assert!(
                        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                        "{secret} in {}",
                        path.display()
                    );
                }
            }
        }
    }

    let rotated = run(&["operator", "rotate-key", "--data-dir", dir]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let second_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(first_key, second_key);
    let previous = std::fs::read_to_string(data.path().join("secret.key.previous")).unwrap();
    assert_eq!(previous.trim(), first_key.trim());
    let raw_after = stored();
    assert_ne!(raw_after.operator_secret, raw.operator_secret);
    assert_eq!(
        sealer_of(&second_key)
            .open(&raw_after.operator_secret)
            .unwrap(),
        SECRETS[0],
        "sealed with the new key alone"
    );
    // The commands still read them (the list works; secrets are never printed).
    let list = run(&["operator", "list", "--data-dir", dir, "--json"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );

    // The demo's published secrets: serve refuses to start.
    let demo = run(&[
        "operator",
        "add",
        "--data-dir",
        dir,
        "--operator-id",
        "EVGSYN001",
        "--name",
        "demo",
        "--operator-secret",
        "EVGSYN001-demo-op",
        "--data-secret",
        "EVGSYN001DATAKEY",
        "--data-secret-iv",
        "EVGSYN001IVECTOR",
        "--sig-secret",
        "EVGSYN001-demo-sig",
    ]);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let mut serve = common::evgrid_args(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--poll-interval",
        "0",
        "--data-dir",
        dir,
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = serve.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > until {
            let _ = serve.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(serve.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{stderr}");
    assert!(
        stderr.contains("EVGSYN001 use the demo's published secrets"),
        "{stderr}"
    );
}
