//! The regulator's view as a user runs it: `evgrid coverage` on an imported network (figures,
//! workbook, map), `evgrid targets` with good and bad progress files, and the API's coverage
//! and statistics answers with their bad inputs.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    evgrid_args, get, get_as, haversine_m, imported, login, post_json, request_with, run, start,
};
use serde_json::{json, Value};

fn fixture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn coverage_writes_the_figures_the_workbook_and_the_map() {
    let (dir, manifest) = imported();
    let data = dir.path().join("data");
    let xlsx = dir.path().join("report.xlsx");
    let png = dir.path().join("map.png");
    let out = evgrid_args(&["coverage", "--json", "--data-dir", data.to_str().unwrap()])
        .args([
            "--out",
            xlsx.to_str().unwrap(),
            "--map",
            png.to_str().unwrap(),
            "--map-width",
            "800",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let figures = &manifest["figures"];

    // The generator measured its own network another way (k-d tree, sample points): same figures.
    assert_eq!(s["public_stations"], figures["public_stations"]);
    let radius = s["planning_radius_km"].as_f64().unwrap();
    assert!((radius - figures["planning_radius_km"].as_f64().unwrap()).abs() < 1e-9);
    assert!((radius - 3.0).abs() <= 0.1, "planning radius {radius}");
    assert_eq!(
        s["townships"]["covered"],
        figures["townships_with_public_station"]
    );
    assert_eq!(s["townships"]["total"], figures["townships"]);
    assert!(
        s["townships"]["covered"].as_u64().unwrap() * 2 > s["townships"]["total"].as_u64().unwrap()
    );
    assert_eq!(
        s["hotspots"]["covered"],
        figures["hotspots_with_public_station_within_1km"]
    );
    assert_eq!(s["hotspots"]["covered"], s["hotspots"]["total"]);
    assert_eq!(s["circle"]["share"], 1.0);
    let max = s["circle"]["max_distance_m"].as_f64().unwrap();
    let sampled = figures["zhangjiang_max_distance_m"].as_f64().unwrap();
    assert!(
        (max - sampled).abs() < 60.0,
        "farthest point {max} vs {sampled}"
    );
    // Shares of people grow with the distance and stay shares.
    let within: Vec<f64> = s["population_within_km"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert!(
        within.windows(2).all(|w| w[0] <= w[1]) && within.iter().all(|x| (0.0..=1.0).contains(x))
    );

    // The workbook is a zip holding a sheet per table; the map a PNG of the asked width.
    let book = std::fs::read(&xlsx).unwrap();
    assert_eq!(&book[..2], b"PK");
    let text = String::from_utf8_lossy(&book);
    assert!(text.contains("xl/worksheets/sheet15.xml"), "15 sheets");
    let map = std::fs::read(&png).unwrap();
    assert_eq!(&map[1..4], b"PNG");
    assert_eq!(u32::from_be_bytes(map[16..20].try_into().unwrap()), 800);

    // One county, by name.
    let out = run(&[
        "coverage",
        "--json",
        "--region",
        "章贡区",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let c: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["region"], "360702");
    assert!(c["townships"]["total"].as_u64().unwrap() < 20);
    // A bad region or grid is refused with the reason.
    let out = run(&[
        "coverage",
        "--region",
        "Atlantis",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a county"));
    let out = run(&[
        "coverage",
        "--grid-m",
        "5",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
}

#[test]
fn targets_take_progress_files_all_or_nothing() {
    let (dir, _) = imported();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let list = |d: &str| -> Vec<Value> {
        let out = run(&["targets", "list", "--json", "--data-dir", d]);
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let before = list(d);
    let piles = before.iter().find(|t| t["id"] == "charging_piles").unwrap();
    assert_eq!(piles["current"], 19_000.0);
    assert_eq!(piles["progress"], 1.0);
    assert_eq!(piles["reached"], true);

    // Every bad line is reported and nothing is stored.
    let out = run(&[
        "targets",
        "import",
        "--data-dir",
        d,
        &fixture("progress-bad.csv"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "no_such_target",
        "2025-02-30",
        "measured from the registry",
        "\"-4\"",
    ] {
        assert!(err.contains(needle), "{needle} missing from {err}");
    }
    assert!(list(d)
        .iter()
        .all(|t| t["measure"] != "imported" || t["current"].is_null()));

    let out = run(&[
        "targets",
        "import",
        "--data-dir",
        d,
        &fixture("progress-good.csv"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = list(d);
    let fleet = after.iter().find(|t| t["id"] == "fleet_nev").unwrap();
    // The fleet total is the sum of its sectors, each carried forward: 1650 + 2400.
    assert_eq!(fleet["current"], 4050.0);
    assert!((fleet["progress"].as_f64().unwrap() - 4050.0 / 20_000.0).abs() < 1e-12);
    assert!(fleet["trend_per_day"].as_f64().unwrap() > 0.0);
    assert!(fleet["projected_day"].as_str().unwrap() > "2025-06-30");
    let parking = after
        .iter()
        .find(|t| t["id"] == "dedicated_parking")
        .unwrap();
    assert_eq!(parking["current"], 6200.0);
    assert_eq!(parking["as_of"], "2025-06-30");
}

#[test]
fn the_api_answers_coverage_and_statistics_and_refuses_bad_input() {
    let (dir, _) = imported();
    let data = dir.path().join("data");
    let out = evgrid_args(&[
        "user",
        "add",
        "--username",
        "inspector",
        "--role",
        "regulator",
        "--data-dir",
        data.to_str().unwrap(),
    ])
    .env("EVGRID_USER_PASSWORD", "inspector password 1")
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = start(&[
        "serve",
        "--poll-interval",
        "0",
        "--data-dir",
        data.to_str().unwrap(),
        "--parent-piles",
        "95000",
        "--parent-name",
        "江西省",
    ]);
    let addr = server.addr;
    let token = login(addr, "inspector", "inspector password 1");
    let json = |path: &str| -> Value {
        let a = get_as(addr, &token, path);
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        a.json()
    };
    let summary = json("/api/v1/coverage/summary");
    let townships = json("/api/v1/coverage/townships");
    let list = townships["townships"].as_array().unwrap();
    assert_eq!(
        list.len() as u64,
        summary["townships"]["total"].as_u64().unwrap()
    );
    assert_eq!(
        list.iter().filter(|t| t["covered"] == true).count() as u64,
        summary["townships"]["covered"].as_u64().unwrap()
    );
    // Each uncovered township's distance is the distance to the nearest public station.
    let stations = json("/api/v1/map/stations");
    let public: Vec<(f64, f64)> = stations["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["category"] == "public")
        .map(|f| {
            (
                f["geometry"]["coordinates"][1].as_f64().unwrap(),
                f["geometry"]["coordinates"][0].as_f64().unwrap(),
            )
        })
        .collect();
    for t in json("/api/v1/coverage/townships?covered=false")["townships"]
        .as_array()
        .unwrap()
        .iter()
        .step_by(5)
    {
        let (lat, lng) = (
            t["centre"]["lat"].as_f64().unwrap(),
            t["centre"]["lng"].as_f64().unwrap(),
        );
        let want = public
            .iter()
            .map(|(a, b)| haversine_m(lat, lng, *a, *b))
            .fold(f64::INFINITY, f64::min);
        assert!((t["nearest_distance_m"].as_f64().unwrap() - want).abs() < 0.5);
        assert_eq!(t["public_stations"], 0);
    }
    // Breakdowns add up and give the parent share.
    for by in [
        "category",
        "county",
        "township",
        "operator",
        "power_class",
        "connector_standard",
        "current",
    ] {
        let b = json(&format!("/api/v1/stats/breakdown?by={by}"));
        if by != "connector_standard" {
            let piles: i64 = b["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["piles"]["total"].as_i64().unwrap())
                .sum();
            assert_eq!(piles, 19_000, "{by}");
        }
        if by == "category" {
            let share: f64 = b["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["share_of_parent"].as_f64().unwrap())
                .sum();
            assert!((share - 19_000.0 / 95_000.0).abs() < 1e-9);
            assert_eq!(b["parent"]["name"], "江西省");
        }
    }
    // Growth: serve took today's snapshot.
    assert_eq!(
        json("/api/v1/stats/growth")["days"][0]["piles"]["total"],
        19_000
    );
    // Exports: CSV with a BOM, XLSX, GeoJSON of places.
    let csv = get_as(
        addr,
        &token,
        "/api/v1/coverage/townships?covered=false&format=csv",
    );
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    assert_eq!(&csv.body[..3], b"\xEF\xBB\xBF");
    let lines = csv.text().lines().count();
    assert_eq!(
        lines as u64 - 1,
        summary["townships"]["total"].as_u64().unwrap()
            - summary["townships"]["covered"].as_u64().unwrap()
    );
    let xlsx = get_as(
        addr,
        &token,
        "/api/v1/stats/breakdown?by=county&format=xlsx",
    );
    assert_eq!(&xlsx.body[..2], b"PK");
    let geo = get_as(addr, &token, "/api/v1/coverage/hotspots?format=geojson");
    assert_eq!(geo.content_type, "application/geo+json");
    assert_eq!(
        geo.json()["features"].as_array().unwrap().len() as u64,
        summary["hotspots"]["total"].as_u64().unwrap()
    );
    let png = get_as(addr, &token, "/api/v1/coverage/heatmap.png?grid_m=2000");
    assert_eq!(png.content_type, "image/png");
    // Bad input: a problem naming the parameter.
    for (path, param) in [
        ("/api/v1/coverage/summary?grid_m=123", "grid_m"),
        ("/api/v1/coverage/summary?county=999999", "county"),
        (
            "/api/v1/coverage/summary?hotspot_radius_m=-1",
            "hotspot_radius_m",
        ),
        ("/api/v1/coverage/townships?covered=maybe", "covered"),
        ("/api/v1/stats/breakdown", "by"),
        ("/api/v1/stats/breakdown?by=colour", "by"),
        ("/api/v1/stats/breakdown?by=county&format=geojson", "format"),
        ("/api/v1/stats/utilization?from=2025-02-30", "from"),
        ("/api/v1/stats/faults?by=planet", "by"),
        ("/api/v1/coverage/heatmap.png?grid_m=100", "grid_m"),
        ("/api/v1/coverage/summary?grid_m=100", "grid_m"),
        ("/api/v1/targets?format=pdf", "format"),
        ("/api/v1/coverage/circle?radius=2", "radius"),
    ] {
        let a = get_as(addr, &token, path);
        assert_eq!(a.status, 400, "{path}: {}", a.text());
        assert_eq!(a.content_type, "application/problem+json");
        assert_eq!(a.json()["errors"][0]["parameter"], param, "{path}");
    }
    drop(server);
}

#[test]
fn the_regulators_figures_need_a_regulator_and_accounts_behave() {
    let (dir, _) = imported();
    let data = dir.path().join("data");
    let server = start(&[
        "serve",
        "--poll-interval",
        "0",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let addr = server.addr;
    let protected = [
        "/api/v1/coverage/summary",
        "/api/v1/coverage/townships",
        "/api/v1/coverage/heatmap.png",
        "/api/v1/stats/breakdown?by=county",
        "/api/v1/stats/faults",
        "/api/v1/targets",
        "/api/v1/operators/data-quality",
        "/api/v1/reports/regulator.xlsx",
    ];
    // Nobody: 401 with a Bearer challenge; public pages stay open.
    for path in protected {
        let a = get(addr, path);
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(a.content_type, "application/problem+json");
        assert_eq!(
            a.header("www-authenticate"),
            Some("Bearer realm=\"evgrid\"")
        );
    }
    assert_eq!(get(addr, "/api/v1/stats/summary").status, 200);
    assert_eq!(get(addr, "/dashboard").status, 200);

    // A driver registers and logs in: 403 on the regulator's figures.
    let creds = serde_json::json!({"username": "driver_01", "password": "correct horse battery"});
    let a = post_json(addr, "/api/v1/auth/register", &[], &creds);
    assert_eq!(a.status, 201, "{}", a.text());
    assert_eq!(a.json()["role"], "driver");
    assert_eq!(
        post_json(addr, "/api/v1/auth/register", &[], &creds).status,
        409
    );
    for bad in [
        serde_json::json!({"username": "x", "password": "correct horse battery"}),
        serde_json::json!({"username": "driver_02", "password": "short"}),
        serde_json::json!({"username": "driver_02"}),
        serde_json::json!({"username": "driver_02", "password": "correct horse battery", "role": "admin"}),
    ] {
        let a = post_json(addr, "/api/v1/auth/register", &[], &bad);
        assert_eq!(a.status, 400, "{bad}: {}", a.text());
    }
    let token = login(addr, "driver_01", "correct horse battery");
    let me = get_as(addr, &token, "/api/v1/auth/me");
    assert_eq!(me.json()["role"], "driver");
    for path in protected {
        let a = get_as(addr, &token, path);
        assert_eq!(a.status, 403, "{path}");
        assert!(a.json()["detail"].as_str().unwrap().contains("regulator"));
    }
    // The session cookie works as well as the bearer token.
    let cookie = format!("evgrid_session={token}");
    let a = request_with(addr, "GET", "/api/v1/auth/me", &[("Cookie", &cookie)], b"");
    assert_eq!(a.status, 200);
    // Logout ends the session.
    let a = request_with(
        addr,
        "POST",
        "/api/v1/auth/logout",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(a.status, 204);
    assert_eq!(get_as(addr, &token, "/api/v1/auth/me").status, 401);

    // Wrong passwords: 401, then 429 with Retry-After, even for the right one.
    for _ in 0..5 {
        let a = post_json(
            addr,
            "/api/v1/auth/login",
            &[],
            &serde_json::json!({"username": "driver_01", "password": "not the password"}),
        );
        assert_eq!(a.status, 401);
    }
    let a = post_json(addr, "/api/v1/auth/login", &[], &creds);
    assert_eq!(a.status, 429);
    assert!(a.header("retry-after").is_some());

    // A regulator added by the CLI sees the figures.
    let out = evgrid_args(&[
        "user",
        "add",
        "--username",
        "city.regulator",
        "--role",
        "regulator",
        "--data-dir",
        data.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .unwrap()
        .to_owned();
    let token = login(addr, "city.regulator", &password);
    for path in protected {
        assert_eq!(get_as(addr, &token, path).status, 200, "{path}");
    }
    // A directly connected charger of EVGSYN001: its own operator's user sees and commands it;
    // another operator's user and a driver do not; a regulator may look, not command.
    let d = data.to_str().unwrap();
    assert!(run(&[
        "charger",
        "add",
        "--id",
        "CP-ROLES",
        "--operator-id",
        "EVGSYN001",
        "--station",
        "ROLES1",
        "--lat",
        "25.83",
        "--lng",
        "114.93",
        "--name",
        "roles test",
        "--data-dir",
        d
    ])
    .status
    .success());
    for (name, op) in [("op.one", "EVGSYN001"), ("op.two", "EVGSYN002")] {
        let out = evgrid_args(&[
            "user",
            "add",
            "--username",
            name,
            "--role",
            "operator",
            "--operator-id",
            op,
            "--data-dir",
            d,
        ])
        .env("EVGRID_USER_PASSWORD", "operator password 1")
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let one = login(addr, "op.one", "operator password 1");
    let two = login(addr, "op.two", "operator password 1");
    let creds2 = json!({"username": "driver_02x", "password": "correct horse battery x"});
    assert_eq!(
        post_json(addr, "/api/v1/auth/register", &[], &creds2).status,
        201
    );
    let driver = login(addr, "driver_02x", "correct horse battery x");
    assert_eq!(get_as(addr, &one, "/api/v1/chargers/CP-ROLES").status, 200);
    assert_eq!(get_as(addr, &two, "/api/v1/chargers/CP-ROLES").status, 403);
    assert_eq!(
        get_as(addr, &driver, "/api/v1/chargers/CP-ROLES").status,
        403
    );
    assert_eq!(
        get_as(addr, &token, "/api/v1/chargers/CP-ROLES").status,
        200,
        "a regulator looks"
    );
    let reset = json!({"command": "reset", "kind": "soft"});
    let bearer = |t: &str| format!("Bearer {t}");
    let a = post_json(
        addr,
        "/api/v1/chargers/CP-ROLES/commands",
        &[("Authorization", &bearer(&two))],
        &reset,
    );
    assert_eq!(a.status, 403, "{}", a.text());
    let a = post_json(
        addr,
        "/api/v1/chargers/CP-ROLES/commands",
        &[("Authorization", &bearer(&token))],
        &reset,
    );
    assert_eq!(a.status, 403, "a regulator may not command: {}", a.text());
    let a = post_json(
        addr,
        "/api/v1/chargers/CP-ROLES/commands",
        &[("Authorization", &bearer(&one))],
        &reset,
    );
    assert_eq!(
        a.status,
        409,
        "allowed, but the charger is not connected: {}",
        a.text()
    );
    assert_eq!(
        post_json(addr, "/api/v1/chargers/CP-ROLES/commands", &[], &reset).status,
        401
    );
    // An operator user sees its own data-quality report only.
    assert_eq!(
        get_as(addr, &one, "/api/v1/operators/EVGSYN001/data-quality").status,
        200
    );
    assert_eq!(
        get_as(addr, &one, "/api/v1/operators/EVGSYN002/data-quality").status,
        403
    );
    assert_eq!(
        get_as(addr, &driver, "/api/v1/operators/EVGSYN001/data-quality").status,
        403
    );

    // The CLI refuses an operator user without its operator, and a bad role.
    let out = run(&[
        "user",
        "add",
        "--username",
        "op.user",
        "--role",
        "operator",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let out = run(&[
        "user",
        "add",
        "--username",
        "op.user",
        "--role",
        "king",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    drop(server);
}
