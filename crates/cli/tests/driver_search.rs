//! A driver's search over HTTP on the synthetic network: near a point with the live filters and
//! price sort, along a route, and the bad inputs.
#![allow(clippy::unwrap_used)]

mod common;

use common::{get, haversine_m, imported, post_json, start};
use serde_json::{json, Value};

#[test]
fn drivers_search_near_a_point_and_along_a_route() {
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
    let ok = |path: &str| -> Vec<Value> {
        let a = get(addr, path);
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        a.json()["items"].as_array().unwrap().clone()
    };
    let (lat, lng) = (25.8306, 114.9328);
    let base = format!("/api/v1/search/stations?lat={lat}&lng={lng}&radius_m=3000&k=50");

    // Near the city centre: public stations within 3 km, nearest first, distances true.
    let near = ok(&base);
    assert!(near.len() >= 10, "{}", near.len());
    for w in near.windows(2) {
        assert!(w[0]["distance_m"].as_f64() <= w[1]["distance_m"].as_f64());
    }
    for s in &near {
        assert_eq!(s["category"], "public");
        let d = haversine_m(
            lat,
            lng,
            s["lat"].as_f64().unwrap(),
            s["lng"].as_f64().unwrap(),
        );
        assert!((d - s["distance_m"].as_f64().unwrap()).abs() < 1.0 && d <= 3000.5);
        assert!(s["price_now_fen_per_kwh"].as_f64().unwrap() > 0.0, "{s}");
    }
    // Nothing has reported a status: nothing is free now (never guessed).
    assert!(ok(&format!("{base}&free_now=true")).is_empty());
    assert!(near.iter().all(|s| s["free"] == 0));
    // By price now, cheapest first; a ceiling keeps only what is under it.
    let by_price = ok(&format!("{base}&sort=price"));
    let prices: Vec<f64> = by_price
        .iter()
        .map(|s| s["price_now_fen_per_kwh"].as_f64().unwrap())
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    let ceiling = prices[prices.len() / 2];
    let cheap = ok(&format!("{base}&max_price_fen={ceiling}"));
    assert!(!cheap.is_empty());
    assert!(cheap
        .iter()
        .all(|s| s["price_now_fen_per_kwh"].as_f64().unwrap() <= ceiling));
    assert!(cheap.len() < near.len() || prices.iter().all(|p| *p <= ceiling));
    // Open now: only stations whose hours say so.
    for s in ok(&format!("{base}&open_now=true")) {
        assert_eq!(s["open_now"], true);
    }
    // DC only: every station has a DC pile (checked on its detail), and the connectors it
    // counts are its DC ones (as free counts are: a free AC connector is no use to a DC car).
    for s in ok(&format!("{base}&current=dc")).iter().take(5) {
        let id = s["station_id"].as_str().unwrap();
        let detail = get(addr, &format!("/api/v1/stations/{id}")).json();
        assert!(detail["equipment"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["equipment_type"] == "dc"));
        let dc = detail["equipment"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e["connectors"].as_array().unwrap())
            .filter(|c| c["current"] == "dc")
            .count();
        assert_eq!(s["connectors"].as_u64().unwrap() as usize, dc, "{s}");
    }

    // Along the road from the city centre to 于都: within the corridor, ordered along it.
    let route = json!({"points": [{"lat": lat, "lng": lng}, {"lat": 25.958, "lng": 115.419}], "corridor_m": 1500});
    let a = post_json(addr, "/api/v1/search/route?k=100", &[], &route);
    assert_eq!(a.status, 200, "{}", a.text());
    let along = a.json()["items"].as_array().unwrap().clone();
    assert!(along.len() >= 3, "{}", along.len());
    for w in along.windows(2) {
        assert!(w[0]["along_m"].as_f64() <= w[1]["along_m"].as_f64());
    }
    assert!(along
        .iter()
        .all(|s| s["distance_m"].as_f64().unwrap() <= 1500.0));

    // Bad input: the parameter or the route named.
    for (path, param) in [
        (format!("{base}&sort=cheapest"), "sort"),
        (format!("{base}&max_price_fen=-1"), "max_price_fen"),
        (format!("{base}&free_now=maybe"), "free_now"),
        ("/api/v1/search/stations?lat=25.8".to_owned(), "lng"),
        (format!("{base}&radius_m=500000"), "radius_m"),
    ] {
        let a = get(addr, &path);
        assert_eq!(a.status, 400, "{path}");
        assert_eq!(a.json()["errors"][0]["parameter"], param, "{path}");
    }
    let here = json!({"lat": lat, "lng": lng});
    let there = json!({"lat": 25.9, "lng": 115.4});
    for (body, mention) in [
        (json!({"points": [here]}), "2 to 1000 points"),
        (
            json!({"points": [here, {"lat": 25.0, "lng": 500.0}]}),
            "points[1]",
        ),
        (
            json!({"points": [here, there], "corridor_m": 5}),
            "corridor_m",
        ),
        (json!({"points": [here, there], "width": 5}), "width"),
        // [lng, lat] pairs read as (lat, lng) are off the Earth: refused, not guessed.
        (json!({"points": [[lng, lat], [115.4, 25.9]]}), "points[0]"),
    ] {
        let a = post_json(addr, "/api/v1/search/route", &[], &body);
        assert_eq!(a.status, 400, "{body}: {}", a.text());
        assert!(
            a.json()["detail"].as_str().unwrap().contains(mention),
            "{}",
            a.text()
        );
    }
}
