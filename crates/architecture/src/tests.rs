//! Each check catches the violations it exists for: the ones a reviewer found in the code
//! before the architecture issue, written small.

use super::*;

fn source(krate: &str, path: &str, text: &str) -> Source {
    Source {
        krate: krate.into(),
        path: path.into(),
        text: text.into(),
    }
}

fn names() -> ProtocolNames {
    let tcec = source(
        "tcec",
        "crates/tcec/src/wire.rs",
        r#"
#[derive(Serialize)]
pub struct StationInfo {
    #[serde(rename = "StationLng")]
    pub station_lng: f64,
}
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyInfo {
    pub start_time: String,
    #[serde(rename = "SevicePrice")]
    pub service_price: f64,
}
const STATUS: &str = "notification_stationStatus";
"#,
    );
    ProtocolNames {
        tcec: tcec_wire_names(&[tcec]),
        ocpp_actions: ocpp_actions([
            "BootNotification.json",
            "BootNotificationResponse.json",
            "RemoteStartTransaction.json",
        ]),
    }
}

fn rules(violations: &[Violation]) -> Vec<&'static str> {
    let mut r: Vec<&str> = violations.iter().map(|v| v.rule).collect();
    r.dedup();
    r
}

#[test]
fn wire_names_are_read_from_the_adapter() {
    let n = names();
    for name in [
        "StationLng",
        "SevicePrice",
        "StartTime",
        "notification_stationStatus",
    ] {
        assert!(n.tcec.contains(name), "{name} in {:?}", n.tcec);
    }
    assert!(
        !n.tcec.contains("ServicePrice"),
        "renamed fields keep their wire name"
    );
    assert_eq!(
        n.ocpp_actions,
        BTreeSet::from(["BootNotification".into(), "RemoteStartTransaction".into()])
    );
}

#[test]
fn the_server_reaching_into_the_store_is_caught() {
    let s = source(
        "server",
        "crates/server/src/routes/stats.rs",
        "use evgrid_store::StationListFilter;\nlet counts = state.registry.store().region_counts().await?;\n",
    );
    assert_eq!(rules(&check_sources(&[s], &names())), ["S3", "S4"]);
}

#[test]
fn the_cli_opening_the_store_is_caught() {
    let s = source(
        "cli",
        "crates/cli/src/charger.rs",
        "let store = evgrid_store::Store::open_sqlite_dir(&data_dir).await?;\n",
    );
    assert_eq!(rules(&check_sources(&[s], &names())), ["S3"]);
}

#[test]
fn tcec_wire_names_outside_the_adapter_are_caught() {
    let s = source(
        "app",
        "crates/app/src/network/import.rs",
        r#"props.insert("StationLng".into(), json!(lng)); json!({"SevicePrice": 1});"#,
    );
    let v = check_sources(&[s], &names());
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v.iter().all(|v| v.rule == "S5"));
    // The same names in the adapter, in a comment, or in test code are fine.
    let ok = [
        source(
            "tcec",
            "crates/tcec/src/files.rs",
            r#"m.insert("StationLng", v);"#,
        ),
        source(
            "app",
            "crates/app/src/x.rs",
            "// StationLng is the longitude\n",
        ),
        source(
            "app",
            "crates/app/src/x.rs",
            "fn f() {}\n#[cfg(test)]\nmod tests { const S: &str = \"StationLng\"; }\n",
        ),
        source(
            "app",
            "crates/app/tests/e2e.rs",
            r#"const S: &str = "StationLng";"#,
        ),
    ];
    assert!(check_sources(&ok, &names()).is_empty());
}

#[test]
fn tcec_answer_codes_read_outside_the_adapter_are_caught() {
    let s = source(
        "app",
        "crates/app/src/charging/charges.rs",
        "Ok(a) if a.succ_stat != 0 => Err(format!(\"{}\", a.fail_meaning())),\n",
    );
    assert_eq!(rules(&check_sources(&[s], &names())), ["S10"]);
}

#[test]
fn ocpp_statuses_actions_frames_and_connections_outside_the_adapter_are_caught() {
    let app = source(
        "app",
        "crates/app/src/charging/reservations.rs",
        r#"let ok = answer["status"] == "Accepted"; hub.call(id, "RemoteStartTransaction", p);"#,
    );
    let v = check_sources(&[app], &names());
    assert_eq!(rules(&v), ["S6", "S7"], "{v:?}");
    let server = source(
        "server",
        "crates/server/src/routes/ocpp.rs",
        "let mut conn = evgrid_ocpp::csms::Connection::new(id, v);\nmatch conn.on_text(&backend, &text).await {}\n",
    );
    assert_eq!(rules(&check_sources(&[server], &names())), ["S9"]);
    let bench = source(
        "cli",
        "crates/cli/src/bench_ocpp.rs",
        "let text = serde_json::json!([2, id, action, payload]).to_string();\n",
    );
    assert_eq!(rules(&check_sources(&[bench], &names())), ["S8"]);
}

#[test]
fn sql_http_and_distance_fields_out_of_their_rooms_are_caught() {
    let v = check_sources(
        &[
            source("app", "crates/app/src/a.rs", "sqlx::query(\"SELECT 1\")"),
            source("app", "crates/app/src/b.rs", "use axum::Json;"),
            source(
                "server",
                "crates/server/src/routes/coverage.rs",
                "raster.distances(&evgrid_geo::field::NearestField::new(&points), 2, &|_| {})",
            ),
        ],
        &names(),
    );
    assert_eq!(rules(&v), ["S1", "S11", "S2"]);
}

#[test]
fn simulators_and_benchmarks_inside_product_crates_are_caught() {
    let v = check_tool_modules([
        "crates/ocpp/src/simulator.rs",
        "crates/tcec/src/simulator/http.rs",
        "crates/store/src/postgis_bench.rs",
        "crates/sim/src/ocpp/mod.rs",
        "crates/bench/src/ocpp.rs",
        "crates/cli/src/demo.rs",
    ]);
    assert_eq!(v.len(), 3, "{v:?}");
}

fn metadata(packages: &[(&str, &[&str])]) -> Value {
    let packages: Vec<Value> = packages
        .iter()
        .map(|(name, deps)| {
            serde_json::json!({
                "id": name,
                "name": name,
                "dependencies": deps.iter().map(|d| serde_json::json!({"name": d, "kind": null})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let members: Vec<&str> = packages.iter().filter_map(|p| p["id"].as_str()).collect();
    serde_json::json!({"packages": packages, "workspace_members": members})
}

#[test]
fn forbidden_dependencies_are_caught() {
    let bad = metadata(&[
        ("evgrid-app", &["sqlx", "axum"]),
        ("evgrid-server", &["evgrid-store"]),
        ("evgrid", &["evgrid-store", "evgrid-sim"]),
        ("evgrid-ocpp", &["evgrid-sim"]),
        ("evgrid-store", &["tempfile", "evgrid-tcec"]),
        ("evgrid-model", &["tokio", "evgrid-geo"]),
    ]);
    let v = check_dependencies(&bad);
    let found: BTreeSet<(&str, &str)> = v.iter().map(|v| (v.rule, v.place.as_str())).collect();
    for expected in [
        ("D1", "evgrid-app"),
        ("D2", "evgrid-app"),
        ("D3", "evgrid-server"),
        ("D3", "evgrid"),
        ("D4", "evgrid-ocpp"),
        ("D9", "evgrid-store"),
        ("D7", "evgrid-store"),
        ("D8", "evgrid-model"),
    ] {
        assert!(found.contains(&expected), "{expected:?} in {v:#?}");
    }
    let good = metadata(&[
        ("evgrid-store", &["sqlx", "evgrid-model"]),
        (
            "evgrid-app",
            &["evgrid-store", "evgrid-tcec", "evgrid-ocpp"],
        ),
        ("evgrid-server", &["axum", "evgrid-app"]),
        (
            "evgrid",
            &["evgrid-app", "evgrid-sim", "evgrid-bench", "tempfile"],
        ),
    ]);
    assert_eq!(check_dependencies(&good), []);
}

#[test]
fn a_contract_method_the_suite_never_calls_is_caught() {
    let contract =
        "pub trait A {\n    async fn put(&self) -> R;\n    async fn get(&self) -> R;\n}\n";
    let v = check_contract_suite(contract, "store.put().await;");
    assert_eq!(v.len(), 1);
    assert!(v[0].what.contains("get"));
}

#[test]
fn string_literals_skip_comments_chars_and_read_raw_strings() {
    let code = r###"let a = "one"; // "two"
/* "three" */ let c = '"'; let d = r#"four "x""#; let e = "fi\"ve";"###;
    assert_eq!(string_literals(code), ["one", "four \"x\"", "fi\\\"ve"]);
}
