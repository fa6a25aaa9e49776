//! A node's configuration file as an operator of the platform uses it: `evgrid config example`
//! gives a file `config check` accepts; a wrong file is one line per problem and exit status 1;
//! `serve --config FILE` listens where the file says, the command line winning over it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{evgrid, get, start_command};

#[test]
fn serve_reads_its_configuration_file_and_check_reports_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    // The example, every key commented out, is a valid (empty) configuration.
    let out = evgrid().args(["config", "example"]).output().unwrap();
    assert!(out.status.success());
    let example = dir.path().join("example.toml");
    std::fs::write(&example, &out.stdout).unwrap();
    let out = evgrid()
        .args(["config", "check", example.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Mistakes: all of them, on one line, exit status 1, nothing started.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "lisen = \"127.0.0.1:1\"\npoll_interval = \"often\"\n").unwrap();
    let out = evgrid()
        .args(["config", "check", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown key `lisen`"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = evgrid()
        .args(["serve", "--config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let typed = dir.path().join("typed.toml");
    std::fs::write(&typed, "poll_interval = \"often\"\n").unwrap();
    let out = evgrid()
        .args(["config", "check", typed.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("often"));

    // A good file: serve uses its data directory and settings; --listen on the command line
    // (start_command adds 127.0.0.1:0) wins over the file's.
    let data = dir.path().join("data");
    let good = dir.path().join("evgrid.toml");
    std::fs::write(
        &good,
        format!(
            "listen = \"127.0.0.1:1\"\ndata_dir = \"{}\"\npoll_interval = 0\ntcec_base_path = \"/t/\"\n",
            data.display()
        ),
    )
    .unwrap();
    let out = evgrid()
        .args(["config", "check", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("--tcec-base-path /t/"));
    let mut serve = evgrid();
    serve
        .env_remove("EVGRID_DATA_DIR")
        .args(["serve", "--config", good.to_str().unwrap()]);
    let server = start_command(serve);
    assert_eq!(get(server.addr, "/readyz").status, 200);
    assert!(data.join("evgrid.sqlite").exists() || data.read_dir().unwrap().count() > 0);
    // The file's T/CEC base path is the one served.
    let doc = get(server.addr, "/api/openapi.json").text();
    assert!(
        doc.contains("/t/{interface}"),
        "the file's tcec_base_path is served"
    );
}

/// `--log-format json` (or EVGRID_LOG_FORMAT=json): every log line on stderr is one JSON object
/// with its level, message and fields, for a log collector.
#[test]
fn logs_are_json_lines_on_request() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let out = common::evgrid_args(&[
        "--log-format",
        "json",
        "user",
        "add",
        "--username",
        "json.logs",
        "--role",
        "admin",
        "--data-dir",
        dir,
    ])
    .env("EVGRID_USER_PASSWORD", "a long enough password")
    .env("RUST_LOG", "info")
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let audit = lines
        .iter()
        .find(|l| l["fields"]["message"] == "audit")
        .unwrap_or_else(|| panic!("no audit line in {stderr}"));
    assert_eq!(audit["level"], "INFO");
    assert_eq!(audit["fields"]["action"], "user.add");
    assert_eq!(audit["fields"]["target"], "json.logs");
    // A format that does not exist is refused.
    let bad = common::evgrid_args(&["--log-format", "xml", "user", "list", "--data-dir", dir])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}
