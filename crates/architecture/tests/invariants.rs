//! The architecture's invariants hold in this workspace: its dependencies (`cargo metadata`)
//! and its sources. A failure lists every violation with its rule and place; ARCHITECTURE.md
//! says what each rule protects.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use evgrid_architecture::{
    check_contract_suite, check_dependencies, check_sources, check_tool_modules, ocpp_actions,
    tcec_wire_names, ProtocolNames, Source, Violation,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The sources of every crate, paths relative to the workspace.
fn sources() -> Vec<Source> {
    let root = root();
    let mut out = Vec::new();
    for krate in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        let name = krate.file_name().to_string_lossy().into_owned();
        if name == "architecture" {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&krate.path(), &mut files);
        for f in files {
            let rel = f
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push(Source {
                krate: name.clone(),
                path: rel,
                text: std::fs::read_to_string(&f).unwrap(),
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn report(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("  {v}\n"))
        .collect::<String>()
}

#[test]
fn crates_depend_only_on_what_they_may() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap().len();
    assert!(packages >= 14, "the workspace has its crates ({packages})");
    let v = check_dependencies(&metadata);
    assert!(
        v.is_empty(),
        "dependencies that break the architecture:\n{}",
        report(&v)
    );
}

#[test]
fn every_room_keeps_its_protocol_sql_http_and_store() {
    let sources = sources();
    assert!(sources.len() > 100, "read the sources ({})", sources.len());
    let schemas = root().join("crates/ocpp/schemas");
    let mut schema_files = Vec::new();
    for version in ["v16", "v201"] {
        for e in std::fs::read_dir(schemas.join(version)).unwrap().flatten() {
            schema_files.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    let names = ProtocolNames {
        tcec: tcec_wire_names(&sources),
        ocpp_actions: ocpp_actions(schema_files.iter().map(String::as_str)),
    };
    // The names really were gathered (an empty set would make the check pass vacuously).
    for name in [
        "StationLng",
        "SevicePrice",
        "BusineHours",
        "notification_stationStatus",
    ] {
        assert!(names.tcec.contains(name), "T/CEC name {name} gathered");
    }
    for action in [
        "BootNotification",
        "TransactionEvent",
        "RemoteStartTransaction",
    ] {
        assert!(
            names.ocpp_actions.contains(action),
            "OCPP action {action} gathered"
        );
    }
    let v = check_sources(&sources, &names);
    assert!(v.is_empty(), "code outside its room:\n{}", report(&v));
}

#[test]
fn tools_live_in_their_own_crates() {
    let paths: Vec<String> = sources().into_iter().map(|s| s.path).collect();
    let v = check_tool_modules(paths.iter().map(String::as_str));
    assert!(v.is_empty(), "{}", report(&v));
}

#[test]
fn the_contract_suite_calls_every_method_of_the_store_contract() {
    let root = root();
    let contract = std::fs::read_to_string(root.join("crates/store/src/contract.rs")).unwrap();
    let mut suite = String::new();
    let mut files = Vec::new();
    rust_files(&root.join("crates/store/tests/contract"), &mut files);
    for f in files {
        suite.push_str(&std::fs::read_to_string(f).unwrap());
    }
    assert!(contract.matches("async fn ").count() > 60);
    let v = check_contract_suite(&contract, &suite);
    assert!(v.is_empty(), "{}", report(&v));
}
