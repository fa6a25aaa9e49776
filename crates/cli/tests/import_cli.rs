//! `evgrid import` and `evgrid synth` as a user runs them.
#![allow(clippy::unwrap_used)]

mod common;

use common::{get, registry_fixture, run, start};

#[test]
fn a_rejected_import_reports_every_problem_and_leaves_the_store_unchanged() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let good = run(&[
        "import",
        "--data-dir",
        dir,
        registry_fixture("good.csv").to_str().unwrap(),
    ]);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("imported 2 stations (3 piles)"));

    let bad = run(&[
        "import",
        "--data-dir",
        dir,
        registry_fixture("good.geojson").to_str().unwrap(),
        registry_fixture("bad.csv").to_str().unwrap(),
        registry_fixture("bad_tcec.json").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(out.contains("bad.csv line 3 field lat"), "{out}");
    assert!(out.contains("bad.csv line 4 field station_type"), "{out}");
    assert!(
        out.contains("bad_tcec.json StationInfos[1] field StationStatus"),
        "{out}"
    );
    assert!(out.contains("nothing imported"), "{out}");

    let json = run(&[
        "import",
        "--json",
        "--data-dir",
        dir,
        registry_fixture("bad.csv").to_str().unwrap(),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["committed"], false);
    assert_eq!(report["rejected"][0]["record"], "line 3");

    // Served afterwards: only the two good stations.
    let server = start(&["serve", "--data-dir", dir]);
    let page = get(server.addr, "/api/v1/stations").json();
    assert_eq!(page["total"], 2);
    // Re-import is idempotent.
    drop(server);
    assert!(run(&[
        "import",
        "--data-dir",
        dir,
        registry_fixture("good.csv").to_str().unwrap()
    ])
    .status
    .success());
    let server = start(&["serve", "--data-dir", dir]);
    assert_eq!(
        get(server.addr, "/api/v1/stats/summary").json()["piles"]["total"],
        3
    );
}

#[test]
fn wgs84_coordinates_can_be_declared() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    assert!(run(&[
        "import",
        "--coords",
        "wgs84",
        "--data-dir",
        dir,
        registry_fixture("good.csv").to_str().unwrap()
    ])
    .status
    .success());
    let server = start(&["serve", "--data-dir", dir]);
    let s = get(server.addr, "/api/v1/stations/MA0CSVOP1:CSV001").json();
    assert_eq!(
        (s["lat"].as_f64().unwrap(), s["lng"].as_f64().unwrap()),
        (25.827573, 114.938281)
    );
    let bad = run(&[
        "import",
        "--coords",
        "mars",
        "--data-dir",
        dir,
        registry_fixture("good.csv").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2), "clap usage error");
}

#[test]
fn synth_is_byte_identical_for_a_seed_and_says_it_is_synthetic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for d in [&a, &b] {
        let out = run(&["synth", "--seed", "5", "--out", d.path().to_str().unwrap()]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout)
            .contains("19000 piles (10000 public, 3000 dedicated, 6000 private)"));
    }
    for entry in std::fs::read_dir(a.path()).unwrap() {
        let name = entry.unwrap().file_name();
        assert_eq!(
            std::fs::read(a.path().join(&name)).unwrap(),
            std::fs::read(b.path().join(&name)).unwrap()
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["synthetic"], true);
    assert!(manifest["operators"].as_array().unwrap().len() >= 6);
}

#[test]
fn every_subcommand_has_help() {
    let top = run(&["--help"]);
    let text = String::from_utf8_lossy(&top.stdout).into_owned();
    for sub in [
        "serve", "demo", "synth", "import", "operator", "charger", "simulate", "coverage",
        "targets", "user", "bench",
    ] {
        assert!(text.contains(sub), "{text}");
        let help = run(&[sub, "--help"]);
        assert!(help.status.success());
        assert!(String::from_utf8_lossy(&help.stdout).contains("Usage"));
    }
}

#[test]
fn the_tcec_base_path_is_configurable() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let server = start(&["serve", "--data-dir", dir, "--tcec-base-path", "/ccp/v2/"]);
    let answer = common::request(server.addr, "POST", "/ccp/v2/query_token");
    assert_eq!(answer.status, 200);
    let envelope = answer.json();
    assert_eq!(
        envelope["Ret"], 4003,
        "an empty body is a malformed POST: {envelope}"
    );
    assert!(!envelope["Msg"].as_str().unwrap().is_empty());
    assert_eq!(
        common::request(server.addr, "POST", "/evcs/v1/query_token").status,
        404
    );
    let doc = get(server.addr, "/api/openapi.json").json();
    assert!(doc["paths"].get("/ccp/v2/{interface}").is_some());
    assert!(doc["paths"].get("/evcs/v1/{interface}").is_none());
    drop(server);
    let bad = run(&[
        "serve",
        "--data-dir",
        dir,
        "--tcec-base-path",
        "ccp",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("must start and end with /"));
}
