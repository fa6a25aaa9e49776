//! The demo as a user runs it: `evgrid demo` on an empty data directory, then every route and
//! every bad input over real HTTP on loopback.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::{get, haversine_m, request, start, Answer};
use serde_json::Value;

fn ok(a: &Answer) -> Value {
    assert_eq!(a.status, 200, "{}", a.text());
    a.json()
}

fn problem(a: &Answer, status: u16, mention: &str) {
    assert_eq!(a.status, status, "{}", a.text());
    assert_eq!(a.content_type, "application/problem+json");
    let p = a.json();
    assert_eq!(p["status"], status);
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains(mention),
        "detail {detail:?} should mention {mention:?}"
    );
}

#[test]
fn the_demo_serves_the_city_and_answers_every_route() {
    let data = tempfile::tempdir().unwrap();
    let server = start(&["demo", "--data-dir", data.path().to_str().unwrap()]);
    let addr = server.addr;

    // Health and the city's figures.
    assert_eq!(ok(&get(addr, "/healthz"))["status"], "ok");
    // Ready: the database answers and holds this evgrid's schema. On SQLite the node serves
    // alone (no node id); on PostgreSQL it has joined the database's nodes and has one.
    let ready = ok(&get(addr, "/readyz"));
    assert_eq!(ready["status"], "ready");
    assert!(ready["schema"].as_i64().unwrap() >= 1);
    assert_eq!(
        ready["node"].is_string(),
        common::postgres_server().is_some(),
        "{ready}"
    );
    let summary = ok(&get(addr, "/api/v1/stats/summary"));
    assert_eq!(summary["piles"]["total"], 19_000);
    assert_eq!(
        summary["piles"]["public"].as_i64().unwrap()
            + summary["piles"]["dedicated"].as_i64().unwrap(),
        13_000
    );
    assert_eq!(summary["piles"]["private"], 6_000);
    let public_stations = summary["stations"]["public"].as_f64().unwrap();
    let radius_km = (39_379.64 / (std::f64::consts::PI * public_stations)).sqrt();
    assert!(
        (radius_km - 3.0).abs() <= 0.1,
        "planning radius {radius_km}"
    );
    let county_piles: i64 = summary["counties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["piles"]["total"].as_i64().unwrap())
        .sum();
    assert_eq!(county_piles, 19_000);

    // Live status: the demo's simulated operators push over T/CEC; within seconds some
    // connectors have a reported status, and every connector is counted once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let reported = loop {
        let s = ok(&get(addr, "/api/v1/stats/summary"));
        let st = &s["connector_status"];
        let total: i64 = [
            "available",
            "charging",
            "occupied",
            "reserved",
            "offline",
            "faulted",
            "unknown",
        ]
        .iter()
        .map(|k| st[*k].as_i64().unwrap())
        .sum();
        assert_eq!(total, s["connectors"]["total"].as_i64().unwrap());
        let reported = total - st["unknown"].as_i64().unwrap();
        if reported >= 10 || std::time::Instant::now() > deadline {
            break reported;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert!(
        reported >= 10,
        "only {reported} connectors reported after 60 s"
    );

    // The metrics count what just happened: the simulated operators' T/CEC status pushes, the
    // simulated chargers' boots, the status group commits, the requests above by route.
    let metric = |text: &str, line_start: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(line_start))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let seen = wait_for_metrics(addr, |m| {
        metric(m, "evgrid_ocpp_calls_total{action=\"BootNotification\"}") >= 1.0
            && metric(m, "evgrid_tcec_messages_total{operator=\"EVGSYN") >= 1.0
            // A push is counted when answered, its group commit's job when that commits.
            && metric(m, "evgrid_group_commit_jobs_total{kind=\"pushes\"}") >= 1.0
    });
    assert!(metric(&seen, "evgrid_ocpp_connections ") >= 1.0, "{seen}");
    assert!(metric(&seen, "evgrid_group_commit_jobs_total{kind=\"pushes\"}") >= 1.0);
    assert!(
        metric(&seen, "evgrid_http_requests_total{method=\"GET\",route=\"/api/v1/stats/summary\",status=\"200\"}") >= 2.0,
        "{seen}"
    );
    assert!(metric(&seen, "evgrid_db_connections{state=\"open\"}") >= 1.0);

    // Regions.
    let regions = ok(&get(addr, "/api/v1/regions"));
    assert_eq!(regions["counties"].as_array().unwrap().len(), 18);
    assert_eq!(regions["townships"].as_array().unwrap().len(), 294);
    let township_piles: i64 = regions["townships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["piles"]["total"].as_i64().unwrap())
        .sum();
    assert_eq!(township_piles, 19_000);

    // Station lists: filters and pages.
    let page = ok(&get(addr, "/api/v1/stations"));
    let total = page["total"].as_i64().unwrap();
    assert_eq!(total, summary["stations"]["total"].as_i64().unwrap());
    assert_eq!(page["page"], 1);
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        page["page_size"].as_u64().unwrap() as usize
    );
    let item = &page["items"][0];
    for field in [
        "id",
        "name",
        "operator_id",
        "category",
        "lat",
        "lng",
        "county",
        "township",
        "piles",
        "connectors",
    ] {
        assert!(item.get(field).is_some(), "item lacks {field}");
    }
    let mut by_category = 0;
    for c in ["public", "dedicated", "private"] {
        let p = ok(&get(
            addr,
            &format!("/api/v1/stations?category={c}&page_size=1000"),
        ));
        assert!(p["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["category"] == c));
        by_category += p["total"].as_i64().unwrap();
    }
    assert_eq!(by_category, total);
    let zg = ok(&get(
        addr,
        "/api/v1/stations?county=360702&category=public&page_size=1000",
    ));
    assert!(zg["total"].as_i64().unwrap() > 0);
    assert!(zg["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["county"] == "360702" && i["category"] == "public"));
    let op = ok(&get(
        addr,
        "/api/v1/stations?operator=EVGSYN001&page_size=5&page=2",
    ));
    assert!(op["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["operator_id"] == "EVGSYN001"));
    let p1 = ok(&get(addr, "/api/v1/stations?page_size=10&page=1"));
    let p2 = ok(&get(addr, "/api/v1/stations?page_size=10&page=2"));
    assert_ne!(p1["items"][0]["id"], p2["items"][0]["id"]);
    let beyond = ok(&get(addr, "/api/v1/stations?page_size=1000&page=1000"));
    assert_eq!(beyond["items"].as_array().unwrap().len(), 0);
    let township = zg["items"][0]["township"].as_str().unwrap().to_owned();
    let tw = ok(&get(addr, &format!("/api/v1/stations?township={township}")));
    assert!(tw["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["township"] == township.as_str()));

    // One station in full.
    let id = zg["items"][0]["id"].as_str().unwrap().to_owned();
    let detail = ok(&get(addr, &format!("/api/v1/stations/{id}")));
    assert_eq!(detail["id"], id.as_str());
    assert!(!detail["equipment"].as_array().unwrap().is_empty());
    assert!(
        detail["equipment"][0]["connectors"][0]["power_kw"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(detail["tariff"]["periods"].as_array().unwrap().len() >= 3);
    // Each connector with the full id a driver's start takes.
    let first = &detail["equipment"][0]["connectors"][0];
    let operator = id.split(':').next().unwrap();
    assert_eq!(
        first["full_id"].as_str().unwrap(),
        format!("{operator}:{}", first["id"].as_str().unwrap())
    );
    let encoded = id.replace(':', "%3A");
    assert_eq!(
        ok(&get(addr, &format!("/api/v1/stations/{encoded}")))["id"],
        id.as_str()
    );

    // Nearest against brute force over every station of the map layer.
    let all = ok(&get(addr, "/api/v1/map/stations"));
    let features = all["features"].as_array().unwrap();
    assert_eq!(features.len() as i64, total);
    let points: Vec<(String, String, f64, f64)> = features
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            (
                f["properties"]["id"].as_str().unwrap().to_owned(),
                f["properties"]["category"].as_str().unwrap().to_owned(),
                c[1].as_f64().unwrap(),
                c[0].as_f64().unwrap(),
            )
        })
        .collect();
    for (lat, lng, k, category) in [
        (25.8306, 114.9328, 10, None),
        (26.33, 115.37, 7, Some("public")),
        (25.0, 115.5, 25, Some("dedicated")),
        (24.9, 114.6, 1, None),
    ] {
        let mut url = format!("/api/v1/search/nearest?lat={lat}&lng={lng}&k={k}");
        if let Some(c) = category {
            url.push_str(&format!("&category={c}"));
        }
        let got = ok(&get(addr, &url));
        let items = got["items"].as_array().unwrap();
        assert_eq!(items.len(), k);
        let mut expect: Vec<f64> = points
            .iter()
            .filter(|p| category.is_none_or(|c| p.1 == c))
            .map(|p| haversine_m(lat, lng, p.2, p.3))
            .collect();
        expect.sort_by(f64::total_cmp);
        for (item, d) in items.iter().zip(&expect) {
            // The map layer rounds coordinates to 6 decimals (0.1 m).
            assert!(
                (item["distance_m"].as_f64().unwrap() - d).abs() < 0.5,
                "{item} vs {d}"
            );
            if let Some(c) = category {
                assert_eq!(item["category"], c);
            }
        }
    }
    let within = ok(&get(
        addr,
        "/api/v1/search/nearest?lat=25.8306&lng=114.9328&k=100&radius_m=300",
    ));
    assert!(within["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["distance_m"].as_f64().unwrap() <= 300.0));
    let wgs = ok(&get(
        addr,
        "/api/v1/search/nearest?lat=25.8306&lng=114.9328&k=3",
    ));
    let gcj = ok(&get(
        addr,
        "/api/v1/search/nearest?lat=25.8306&lng=114.9328&k=3&coord=gcj02",
    ));
    assert_eq!(gcj["coord"], "gcj02");
    for (w, g) in wgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .zip(gcj["items"].as_array().unwrap())
    {
        assert_eq!(w["station_id"], g["station_id"]);
        let shift = haversine_m(
            w["lat"].as_f64().unwrap(),
            w["lng"].as_f64().unwrap(),
            g["lat"].as_f64().unwrap(),
            g["lng"].as_f64().unwrap(),
        );
        assert!((100.0..1000.0).contains(&shift), "GCJ-02 shift {shift}");
    }
    let dc = ok(&get(addr, "/api/v1/search/nearest?lat=25.8306&lng=114.9328&k=5&current=dc&min_power_kw=120&operator=EVGSYN001&connector_type=dc_plug"));
    for i in dc["items"].as_array().unwrap() {
        assert_eq!(i["operator_id"], "EVGSYN001");
        let d = ok(&get(
            addr,
            &format!("/api/v1/stations/{}", i["station_id"].as_str().unwrap()),
        ));
        let has = d["equipment"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e["connectors"].as_array().unwrap())
            .any(|c| c["current"] == "dc");
        assert!(has);
    }

    // The map page and its assets, offline.
    let page = get(addr, "/");
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(
        !page.text().contains("http://") && !page.text().contains("https://"),
        "no external resources"
    );
    assert_eq!(get(addr, "/assets/app.js").status, 200);
    assert_eq!(get(addr, "/assets/app.css").status, 200);
    assert!(
        get(addr, "/api/v1/map/counties").json()["features"]
            .as_array()
            .unwrap()
            .len()
            == 18
    );

    // The OpenAPI document covers every route.
    let doc = ok(&get(addr, "/api/openapi.json"));
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths: HashSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for p in [
        "/healthz",
        "/api/openapi.json",
        "/api/v1/stations",
        "/api/v1/stations/{id}",
        "/api/v1/search/nearest",
        "/api/v1/regions",
        "/api/v1/stats/summary",
        "/api/v1/map/stations",
        "/api/v1/map/counties",
        "/",
        "/assets/{file}",
    ] {
        assert!(paths.contains(p), "OpenAPI lacks {p}");
    }

    // Bad input: 400 with a problem body naming the parameter.
    for (url, mention) in [
        ("/api/v1/search/nearest?lat=91&lng=114.9", "lat"),
        ("/api/v1/search/nearest?lat=-90.5&lng=114.9", "lat"),
        ("/api/v1/search/nearest?lat=25.8&lng=181", "lng"),
        ("/api/v1/search/nearest?lat=25.8&lng=114.9&k=101", "k"),
        ("/api/v1/search/nearest?lat=25.8&lng=114.9&k=0", "k"),
        ("/api/v1/search/nearest?lat=abc&lng=114.9", "lat"),
        ("/api/v1/search/nearest?lat=25.8&lng=114.9&k=ten", "k"),
        ("/api/v1/search/nearest?lng=114.9", "lat"),
        ("/api/v1/search/nearest?lat=25.8", "lng"),
        ("/api/v1/search/nearest?lat=NaN&lng=114.9", "lat"),
        (
            "/api/v1/search/nearest?lat=25.8&lng=114.9&radius_m=-5",
            "radius_m",
        ),
        (
            "/api/v1/search/nearest?lat=25.8&lng=114.9&category=shared",
            "category",
        ),
        (
            "/api/v1/search/nearest?lat=25.8&lng=114.9&connector_type=ccs2",
            "connector_type",
        ),
        (
            "/api/v1/search/nearest?lat=25.8&lng=114.9&current=both",
            "current",
        ),
        (
            "/api/v1/search/nearest?lat=25.8&lng=114.9&coord=utm",
            "coord",
        ),
        (
            "/api/v1/search/nearest?lat=25.8&lng=114.9&min_power_kw=fast",
            "min_power_kw",
        ),
        (
            "/api/v1/search/nearest?lat=25.8&lng=114.9&operator=evgsyn001",
            "operator",
        ),
        (
            "/api/v1/search/nearest?lat=25.8&lng=114.9&operator=ZZZZZZZZZ",
            "unknown operator",
        ),
        (
            "/api/v1/search/nearest?lat=25.8&lng=114.9&radius=5",
            "unknown parameter",
        ),
        (
            "/api/v1/search/nearest?lat=25.8&lat=25.9&lng=114.9",
            "more than once",
        ),
        ("/api/v1/stations?page_size=1001", "page_size"),
        ("/api/v1/stations?page_size=0", "page_size"),
        ("/api/v1/stations?page=0", "page"),
        ("/api/v1/stations?page=two", "page"),
        ("/api/v1/stations?category=shared", "category"),
        ("/api/v1/stations?county=999999", "county"),
        ("/api/v1/stations?township=1", "township"),
        ("/api/v1/stations?operator=ZZZZZZZZZ", "operator"),
        ("/api/v1/stations?sort=name", "unknown parameter"),
        ("/api/v1/stations?operator=", "operator: is empty"),
        ("/api/v1/stats/summary?county=360702", "unknown parameter"),
    ] {
        problem(&get(addr, url), 400, mention);
    }
    // Unknown ids and routes: 404 with a problem body; a wrong method: 405.
    problem(
        &get(addr, "/api/v1/stations/EVGSYN001:NOSUCH"),
        404,
        "no station",
    );
    problem(&get(addr, "/api/v1/stations/not-an-id"), 404, "no station");
    problem(
        &get(addr, "/api/v1/stations/ZZZZZZZZZ:P000001"),
        404,
        "no station",
    );
    problem(&get(addr, "/api/v1/nothing-here"), 404, "no such route");
    problem(&get(addr, "/assets/nope.js"), 404, "no asset");
    problem(&request(addr, "POST", "/api/v1/stations"), 405, "POST");
}

/// `evgrid demo` on a data directory that already holds an operator's imported stations (as the
/// README suggests for real data) serves them; before, it stopped with "station
/// EVGSYN001:P000001 does not exist" while registering its simulated chargers.
#[test]
fn the_demo_serves_a_data_directory_that_holds_other_stations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let fixture = common::registry_fixture("good.csv");
    let imported = common::run(&[
        "import",
        "--data-dir",
        data.to_str().unwrap(),
        fixture.to_str().unwrap(),
    ]);
    assert!(imported.status.success(), "{imported:?}");
    let server = common::start(&["demo", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(common::get(server.addr, "/healthz").status, 200);
    let stations = common::get(server.addr, "/api/v1/stations?operator=MA0CSVOP1").json();
    assert!(
        stations.to_string().contains("CSV001"),
        "the imported stations are served: {stations}"
    );
}

/// `/metrics` once `ready` says it shows what is expected (within 60 s).
fn wait_for_metrics(addr: std::net::SocketAddr, ready: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let a = get(addr, "/metrics");
        assert_eq!(a.status, 200);
        assert!(
            a.content_type.starts_with("text/plain"),
            "{}",
            a.content_type
        );
        let text = a.text();
        if ready(&text) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "metrics never showed it:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
