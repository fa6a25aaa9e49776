//! The generator must reproduce the city's figures, for any seed.

use std::collections::HashSet;

use evgrid_geo::reference::{ReferenceData, CITY_AREA_KM2};
use evgrid_geo::regions::is_township_kind;
use evgrid_geo::{Filter, RegionMap, SpatialIndex};
use evgrid_model::{Category, EquipmentType};

use super::*;

fn public_index(net: &Network) -> SpatialIndex<usize> {
    SpatialIndex::build(
        net.stations
            .iter()
            .enumerate()
            .filter(|(_, s)| s.category() == Category::Public)
            .map(|(i, s)| {
                (
                    i,
                    s.location,
                    evgrid_geo::EntryAttrs {
                        category: Category::Public,
                        operator: 0,
                        connectors: vec![],
                    },
                )
            }),
    )
}

fn check_figures(seed: u64) {
    let data = ReferenceData::embedded().unwrap();
    let net = generate(&data, seed);
    let [piles, stations, _] = net.totals();
    assert_eq!(piles["total"], 19_000);
    assert_eq!(piles["public"] + piles["dedicated"], 13_000);
    assert_eq!(piles["private"], 6_000);
    assert_eq!(piles["public"], 10_000);
    assert_eq!(stations["private"], 6_000, "one pile per private station");
    assert_eq!(stations["public"], PUBLIC_STATIONS);
    let radius_km = (CITY_AREA_KM2 / (std::f64::consts::PI * stations["public"] as f64)).sqrt();
    assert!(
        (radius_km - 3.0).abs() <= 0.1,
        "planning radius {radius_km}"
    );

    let regions = RegionMap::new(&data);
    let mut covered = HashSet::new();
    for s in &net.stations {
        let placed = regions.locate(s.location);
        assert!(placed.inside_city, "{} outside the city", s.name);
        if s.category() == Category::Public {
            covered.insert(placed.township_code.unwrap());
        }
    }
    let townships = data
        .townships
        .iter()
        .filter(|t| is_township_kind(&t.kind))
        .count();
    let share = covered.len() as f64 / townships as f64;
    assert!(
        share > 0.5 && share < 1.0,
        "township share {share} ({} of {townships})",
        covered.len()
    );

    let index = public_index(&net);
    for h in &data.hotspots {
        let d = index.nearest(h.location, 1, None, &Filter::default())[0].distance_m;
        assert!(
            d <= 1000.0,
            "hot spot {} nearest public station {d} m",
            h.name_zh
        );
    }
    // Every point of the district (its boundary and a fine grid inside) within 2 km.
    let points = data.zhangjiang.boundary.sample_points(60);
    assert!(points.len() > 2000);
    for p in points {
        let d = index.nearest(p, 1, None, &Filter::default())[0].distance_m;
        assert!(d <= 2000.0, "{p:?} is {d} m from a public station");
    }

    // Dedicated depots are bus, sanitation, logistics or taxi; DC power 60-240 kW, AC 7-22 kW.
    for s in &net.stations {
        if s.category() == Category::Dedicated {
            assert!((100..=103).contains(&s.station_type.0));
        }
        for e in &s.equipment {
            let kw = e.power.kw();
            match e.equipment_type {
                EquipmentType::DC => assert!((60.0..=240.0).contains(&kw)),
                EquipmentType::AC => assert!((7.0..=22.0).contains(&kw)),
                other => panic!("unexpected {other:?}"),
            }
            assert!(e
                .connectors
                .iter()
                .all(|c| c.national_standard == 1 || c.national_standard == 2));
        }
        if s.category() != Category::Private {
            assert!(
                s.tariff.as_ref().is_some_and(|t| t.periods.len() >= 3),
                "peak/flat/valley"
            );
        }
    }
    assert!(net.operators.len() >= 6);

    // The manifest's figures agree with the checks above.
    let f = net.figures(&data);
    assert_eq!(f.public_stations, stations["public"]);
    assert_eq!(f.townships, townships);
    assert_eq!(f.townships_with_public_station, covered.len());
    assert_eq!(
        f.hotspots_with_public_station_within_1km,
        data.hotspots.len()
    );
    assert!(f.zhangjiang_max_distance_m <= 2000.0);
    assert_eq!(f.stations_outside_city, 0);
}

#[test]
fn the_default_seed_reproduces_the_city_figures() {
    check_figures(20220701);
}

#[test]
fn other_seeds_reproduce_them_too() {
    check_figures(1);
    check_figures(987_654_321);
}

#[test]
fn the_same_seed_gives_byte_identical_files() {
    let data = ReferenceData::embedded().unwrap();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    generate(&data, 42).write(a.path(), &data).unwrap();
    generate(&data, 42).write(b.path(), &data).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "7 operators + manifest + README");
    for name in names {
        assert_eq!(
            std::fs::read(a.path().join(&name)).unwrap(),
            std::fs::read(b.path().join(&name)).unwrap(),
            "{name:?}"
        );
    }
    let c = tempfile::tempdir().unwrap();
    generate(&data, 43).write(c.path(), &data).unwrap();
    assert_ne!(
        std::fs::read(a.path().join("EVGSYN001.json")).unwrap(),
        std::fs::read(c.path().join("EVGSYN001.json")).unwrap()
    );
}

#[test]
fn written_files_parse_back_as_tcec_and_say_they_are_synthetic() {
    let data = ReferenceData::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let net = generate(&data, 7);
    let manifest = net.write(dir.path(), &data).unwrap();
    assert!(manifest.synthetic);
    let mut count = 0;
    for op in &manifest.operators {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(&op.file)).unwrap()).unwrap();
        assert!(v["Notice"].as_str().unwrap().contains("SYNTHETIC"));
        for s in v["StationInfos"].as_array().unwrap() {
            let info = evgrid_tcec::convert::parse_station_info(s).unwrap();
            assert!(info.remark.as_deref().unwrap().contains("synthetic"));
            evgrid_tcec::station_from_wire(
                &info,
                evgrid_tcec::ConvertOptions {
                    coords: evgrid_model::CoordSystem::Gcj02,
                },
            )
            .unwrap();
            count += 1;
        }
    }
    assert_eq!(count, net.stations.len());
    assert!(std::fs::read_to_string(dir.path().join("README.md"))
        .unwrap()
        .contains("SYNTHETIC"));
}
