//! Siting as a user runs it: `evgrid plan mclp` on instance files (checked against an exact
//! optimum computed here, and on the public benchmark when ../shared is beside the repo), bad
//! files, `evgrid plan --new-piles` on the synthetic city, and the plans API.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{add_user, evgrid_args, get_as, imported, login, post_json, request_with, run, start};
use serde_json::{json, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Rows of a CSV file as numbers (header skipped).
fn rows(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// Covered weight of the sites with these ids, from the coordinates.
fn covered(demand: &[Vec<f64>], sites: &[Vec<f64>], chosen: &[i64], radius: f64) -> f64 {
    let at: Vec<&Vec<f64>> = chosen
        .iter()
        .map(|id| sites.iter().find(|s| s[0] as i64 == *id).unwrap())
        .collect();
    demand
        .iter()
        .filter(|d| {
            at.iter()
                .any(|s| (d[1] - s[1]).powi(2) + (d[2] - s[2]).powi(2) <= radius * radius)
        })
        .map(|d| d[3])
        .sum()
}

fn solve(dir: &Path, out: &Path, seed: &str) -> Value {
    let o = run(&[
        "plan",
        "mclp",
        "--instance",
        dir.to_str().unwrap(),
        "--seed",
        seed,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

#[test]
fn mclp_from_files_finds_the_optimum_and_a_bound_deterministically() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("mclp-small");
    let (demand, sites) = (rows(&dir.join("demand.csv")), rows(&dir.join("sites.csv")));
    let (p, radius) = (4usize, 2.5);
    // The optimum by trying every 4 of the 14 sites.
    let ids: Vec<i64> = sites.iter().map(|s| s[0] as i64).collect();
    let mut optimum: f64 = 0.0;
    let m = ids.len();
    for a in 0..m {
        for b in a + 1..m {
            for c in b + 1..m {
                for d in c + 1..m {
                    optimum = optimum.max(covered(
                        &demand,
                        &sites,
                        &[ids[a], ids[b], ids[c], ids[d]],
                        radius,
                    ));
                }
            }
        }
    }
    let solution = solve(&dir, &tmp.path().join("a.json"), "7");
    let chosen: Vec<i64> = solution["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(chosen.len(), p);
    assert_eq!(solution["objective"].as_f64().unwrap(), optimum);
    assert_eq!(
        covered(&demand, &sites, &chosen, radius),
        optimum,
        "the reported sites cover the reported weight"
    );
    assert!(solution["upper_bound"].as_f64().unwrap() >= optimum);
    assert!(solution["seconds"].as_f64().unwrap() >= 0.0);
    // Same seed, same answer.
    let again = solve(&dir, &tmp.path().join("b.json"), "7");
    assert_eq!(again["sites"], solution["sites"]);
}

#[test]
fn the_public_benchmark_small_instance_is_solved_within_half_a_percent() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/mclp/s2k_500_p50");
    if !dir.exists() {
        eprintln!("skipped: {} is not beside the repository", dir.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let solution = solve(&dir, &tmp.path().join("s.json"), "1");
    let reference: Value =
        serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    let best = reference["best_known_objective"].as_f64().unwrap();
    let chosen: Vec<i64> = solution["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let mine = covered(
        &rows(&dir.join("demand.csv")),
        &rows(&dir.join("sites.csv")),
        &chosen,
        3.0,
    );
    assert_eq!(mine, solution["objective"].as_f64().unwrap());
    assert!(mine >= 0.995 * best, "{mine} vs best known {best}");
    assert!(
        solution["upper_bound"].as_f64().unwrap() >= best,
        "the bound is below the proven optimum"
    );
}

#[test]
fn bad_instance_files_are_refused_with_line_and_field_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("solution.json");
    let dir = fixture("mclp-bad");
    let o = run(&[
        "plan",
        "mclp",
        "--instance",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    for needle in [
        "demand.csv line 3, field `weight`: `lots` is not a number",
        "demand.csv line 4, field `y`: `nan` is not a finite number",
        "demand.csv line 5: 3 fields where the header has 4",
        "sites.csv line 3, field `id`: id 0 appears twice",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from {err}");
    }
    assert!(!out.exists());
    // p larger than the candidates.
    let good = fixture("mclp-small");
    let o = run(&[
        "plan",
        "mclp",
        "--instance",
        good.to_str().unwrap(),
        "--p",
        "15",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("p = 15 but there are 14 candidate sites"));
    assert!(!out.exists());
}

fn check_plan(plan: &Value, piles: u64) {
    let sites = plan["sites"].as_array().unwrap();
    assert_eq!(
        sites
            .iter()
            .map(|s| s["piles"].as_u64().unwrap())
            .sum::<u64>(),
        piles
    );
    assert!(sites
        .iter()
        .all(|s| (1..=40).contains(&s["piles"].as_u64().unwrap())));
    let (before, after) = (&plan["before"], &plan["after"]);
    assert_eq!(
        after["public_stations"].as_u64().unwrap(),
        before["public_stations"].as_u64().unwrap() + sites.len() as u64
    );
    assert!(
        after["share_within_radius"].as_f64().unwrap()
            > before["share_within_radius"].as_f64().unwrap()
    );
    assert!(
        after["townships_covered"].as_u64().unwrap()
            > before["townships_covered"].as_u64().unwrap()
    );
    assert!(
        after["planning_radius_km"].as_f64().unwrap()
            < before["planning_radius_km"].as_f64().unwrap()
    );
    assert!(plan["upper_bound"].as_f64().unwrap() >= plan["objective"].as_f64().unwrap());
    // Sites are ranked by the people they newly cover, which add up to no more than the gain.
    let newly: Vec<f64> = sites
        .iter()
        .map(|s| s["newly_covered"].as_f64().unwrap())
        .collect();
    assert!(newly.windows(2).all(|w| w[0] >= w[1]));
    assert!(newly[0] > 0.0);
}

#[test]
fn the_city_plan_places_the_new_piles_and_writes_workbook_geojson_and_map() {
    let (dir, _) = imported();
    let data = dir.path().join("data");
    let (xlsx, geojson, png) = (
        dir.path().join("plan.xlsx"),
        dir.path().join("plan.geojson"),
        dir.path().join("plan.png"),
    );
    let out = evgrid_args(&[
        "plan",
        "--new-piles",
        "600",
        "--json",
        "--data-dir",
        data.to_str().unwrap(),
    ])
    .args([
        "--out",
        xlsx.to_str().unwrap(),
        "--geojson",
        geojson.to_str().unwrap(),
        "--map",
        png.to_str().unwrap(),
    ])
    .args(["--map-width", "600"])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["sites"].as_array().unwrap().len(),
        60,
        "one site per 10 piles"
    );
    check_plan(&plan, 600);
    let features: Value = serde_json::from_slice(&std::fs::read(&geojson).unwrap()).unwrap();
    assert_eq!(features["features"].as_array().unwrap().len(), 60);
    assert_eq!(&std::fs::read(&xlsx).unwrap()[..2], b"PK");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&xlsx).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o644,
            "an ordinary file, not the temporary file's 0600"
        );
    }
    let map = std::fs::read(&png).unwrap();
    assert_eq!(&map[1..4], b"PNG");
    assert_eq!(u32::from_be_bytes(map[16..20].try_into().unwrap()), 600);

    // One county, its map as SVG in Chinese; bad requests refused with the reason.
    let svg = dir.path().join("plan.svg");
    let out = run(&[
        "plan",
        "--new-piles",
        "50",
        "--region",
        "Zhanggong",
        "--json",
        "--data-dir",
        data.to_str().unwrap(),
        "--map",
        svg.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let county: Value = serde_json::from_slice(&out.stdout).unwrap();
    let map = std::fs::read_to_string(&svg).unwrap();
    for label in [
        "赣州市章贡区 充电设施选址规划",
        ">章贡区<",
        "规划新站点（大小：充电桩数）",
        " 公里<",
        ">北<",
        "数据截至",
    ] {
        assert!(map.contains(label), "{label} on the plan's map");
    }
    assert!(
        map.matches(r#"fill="rgb(235,110,0)""#).count() > county["sites"].as_array().unwrap().len(),
        "every proposed site and the legend's key are drawn"
    );
    assert!(county["sites"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["county_code"] == "360702"));
    // Five sites for 500 piles: the cap per site is raised, and the plan says so.
    let out = run(&[
        "plan",
        "--new-piles",
        "500",
        "--sites",
        "5",
        "--json",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let few: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        few["notes"][0].as_str().unwrap().contains("raised to 100"),
        "{}",
        few["notes"]
    );
    assert!(few["sites"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["piles"] == 100));
    for (args, needle) in [
        (
            vec!["--new-piles", "50", "--region", "Atlantis"],
            "is not a county",
        ),
        (vec!["--new-piles", "0"], "new_piles must be between"),
    ] {
        let mut all = vec!["plan"];
        all.extend(args.iter().copied());
        all.extend(["--data-dir", data.to_str().unwrap()]);
        let out = evgrid_args(&all).output().unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_plans_api_runs_a_plan_in_the_background_for_regulators_only() {
    let (dir, _) = imported();
    let data = dir.path().join("data");
    for (name, role) in [("planner", "regulator"), ("someone", "admin")] {
        add_user(&data, name, role, None, "planner password 1");
    }
    let server = start(&[
        "serve",
        "--poll-interval",
        "0",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let addr = server.addr;
    let token = login(addr, "planner", "planner password 1");
    let auth = format!("Bearer {token}");
    let body = json!({"new_piles": 300, "grid_m": 1000});
    let raw = |auth: &str, text: &str| {
        request_with(
            addr,
            "POST",
            "/api/v1/plans",
            &[
                ("content-type", "application/json"),
                ("authorization", auth),
            ],
            text.as_bytes(),
        )
    };

    // Nobody, and drivers, may not.
    assert_eq!(post_json(addr, "/api/v1/plans", &[], &body).status, 401);
    assert_eq!(
        post_json(
            addr,
            "/api/v1/auth/register",
            &[],
            &json!({"username": "driver1", "password": "driver password 1"})
        )
        .status,
        201
    );
    let driver = format!("Bearer {}", login(addr, "driver1", "driver password 1"));
    assert_eq!(
        post_json(addr, "/api/v1/plans", &[("authorization", &driver)], &body).status,
        403
    );
    // Bad bodies.
    for bad in [
        r#"{"new_piles": 0}"#,
        r#"{"new_piles": 100, "colour": "red"}"#,
        r#"{"radius_km": -1}"#,
        "not json",
        r#"{"region": "Atlantis"}"#,
        r#"{"sites": 0}"#,
        r#"{"new_piles": 10.5}"#,
        r#"{"grid_m": 300}"#,
    ] {
        let a = raw(&auth, bad);
        assert_eq!(a.status, 400, "{bad}: {}", a.text());
        assert!(a.content_type.starts_with("application/problem+json"));
    }

    let a = post_json(addr, "/api/v1/plans", &[("authorization", &auth)], &body);
    assert_eq!(a.status, 202, "{}", a.text());
    let id = a.json()["id"].as_u64().unwrap();
    let path = format!("/api/v1/plans/{id}");
    let started = std::time::Instant::now();
    let job = loop {
        let job = get_as(addr, &token, &path).json();
        if job["status"] != "running" && job["status"] != "queued" {
            break job;
        }
        assert!(started.elapsed().as_secs() < 300, "the plan did not finish");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["progress"], 1.0);
    check_plan(&job["result"], 300);

    let xlsx = get_as(addr, &token, &format!("{path}?format=xlsx"));
    assert_eq!(xlsx.status, 200);
    assert_eq!(&xlsx.body[..2], b"PK");
    let geojson = get_as(addr, &token, &format!("{path}?format=geojson")).json();
    assert_eq!(geojson["features"].as_array().unwrap().len(), 30);
    let csv = get_as(addr, &token, &format!("{path}?format=csv"));
    assert!(csv.text().lines().count() == 31, "a header and 30 sites");
    // Other regulators and admins see it; drivers and strangers do not.
    let admin = login(addr, "someone", "planner password 1");
    assert_eq!(get_as(addr, &admin, &path).status, 200);
    assert_eq!(
        request_with(addr, "GET", &path, &[("authorization", &driver)], b"").status,
        403
    );
    assert_eq!(request_with(addr, "GET", &path, &[], b"").status, 401);
    assert_eq!(get_as(addr, &token, "/api/v1/plans/999999").status, 404);
    assert_eq!(get_as(addr, &token, "/api/v1/plans/abc").status, 404);
    assert_eq!(
        get_as(addr, &token, &format!("{path}?format=pdf")).status,
        400
    );
}
