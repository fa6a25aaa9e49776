use std::path::PathBuf;
use std::sync::Arc;

use evgrid_geo::ReferenceData;
use evgrid_model::{Category, CurrentKind, LatLng, OperatorId, Power, StationKey};

use evgrid_store::Store;

use super::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The application over a fresh store in `dir`, and the store itself (to check what it holds).
async fn registry(dir: &tempfile::TempDir) -> (App, Store) {
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let app = App::open(
        store.clone(),
        Arc::new(ReferenceData::embedded().unwrap()),
        Settings::default(),
    )
    .await
    .unwrap();
    (app, store)
}

fn quiet(_: ImportEvent) {}

#[tokio::test]
async fn csv_and_geojson_import_and_reimport_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, store) = registry(&dir).await;
    let paths = [fixture("good.csv"), fixture("good.geojson")];
    let report = reg
        .network()
        .import_paths(&paths, None, &quiet)
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert!(report.committed);
    assert_eq!(report.stations_written, 4);
    let first = store.fingerprint().await.unwrap();
    let (_, total) = store
        .list_stations(&Default::default(), 0, 100)
        .await
        .unwrap();
    assert_eq!(total, 4);

    let rec = store
        .station(&StationKey::parse("MA0CSVOP1:CSV001").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.station.equipment.len(), 2);
    assert_eq!(rec.station.connector_count(), 3);
    assert_eq!(rec.summary.county_code.as_deref(), Some("360702"));
    assert_eq!(rec.station.tariff.unwrap().periods.len(), 3);
    // CSV coordinates are GCJ-02 by default: stored WGS-84 is a few hundred metres away.
    let d = evgrid_model::distance_m(
        LatLng::new(rec.summary.lat, rec.summary.lng),
        LatLng::new(25.827573, 114.938281),
    );
    assert!((100.0..1000.0).contains(&d), "{d}");
    // GeoJSON is WGS-84: stored as given. The Nanchang station is kept but flagged.
    let geo = store
        .station(&StationKey::parse("MA0GEOOP1:GEO001").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((geo.summary.lat, geo.summary.lng), (25.8306, 114.9328));
    let outside = store
        .station(&StationKey::parse("MA0GEOOP1:GEO002").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!outside.summary.inside_city);
    assert_eq!(outside.summary.county_code, None);
    let ops = store.operators().await.unwrap();
    assert!(ops.iter().any(|o| o.name == "GeoJSON sample operator"));
    assert!(ops.iter().any(|o| o.name == "CSV示例运营商"));

    // Again: same rows, same ids, same counts.
    let again = reg
        .network()
        .import_paths(&paths, None, &quiet)
        .await
        .unwrap();
    assert!(again.committed);
    let (_, total) = store
        .list_stations(&Default::default(), 0, 100)
        .await
        .unwrap();
    assert_eq!(total, 4);
    let second = store.fingerprint().await.unwrap();
    assert_eq!(
        first
            .split('/')
            .next()
            .unwrap()
            .split(',')
            .take(5)
            .collect::<Vec<_>>(),
        second
            .split('/')
            .next()
            .unwrap()
            .split(',')
            .take(5)
            .collect::<Vec<_>>()
    );
    assert_eq!(reg.network().station_count(), 4);
}

#[tokio::test]
async fn a_bad_file_rejects_the_whole_import_and_names_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, store) = registry(&dir).await;
    reg.network()
        .import_paths(&[fixture("good.geojson")], None, &quiet)
        .await
        .unwrap();
    let before = store.fingerprint().await.unwrap();
    let report = reg
        .network()
        .import_paths(
            &[
                fixture("good.csv"),
                fixture("bad.csv"),
                fixture("bad.geojson"),
                fixture("bad_tcec.json"),
            ],
            None,
            &quiet,
        )
        .await
        .unwrap();
    assert!(!report.committed);
    assert_eq!(report.stations_written, 0);
    let got: Vec<(String, String, String)> = report
        .rejected
        .iter()
        .map(|r| {
            (
                r.file.rsplit('/').next().unwrap().to_owned(),
                r.record.clone(),
                r.field.clone(),
            )
        })
        .collect();
    let expect = |f: &str, rec: &str, field: &str| (f.to_owned(), rec.to_owned(), field.to_owned());
    assert_eq!(
        got,
        vec![
            expect("bad.csv", "line 3", "lat"),
            expect("bad.csv", "line 4", "station_type"),
            expect("bad.csv", "line 6", "connector_id"),
            expect("bad.geojson", "features[0]", "geometry"),
            expect("bad.geojson", "features[1]", ""),
            expect("bad_tcec.json", "StationInfos[1]", "StationStatus"),
            expect(
                "bad_tcec.json",
                "StationInfos[2]",
                "EquipmentInfos[0].Power"
            ),
        ],
        "{:#?}",
        report.rejected
    );
    assert!(report.rejected[4].reason.contains("StationName"));
    assert_eq!(
        store.fingerprint().await.unwrap(),
        before,
        "nothing written"
    );
    assert_eq!(reg.network().station_count(), 2, "index unchanged");
}

#[tokio::test]
async fn unreadable_files_are_rejected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, _store) = registry(&dir).await;
    let tmp = tempfile::tempdir().unwrap();
    let not_json = tmp.path().join("broken.json");
    std::fs::write(&not_json, "{\"StationInfos\": [").unwrap();
    let unknown = tmp.path().join("stations.txt");
    std::fs::write(&unknown, "hello").unwrap();
    let missing = tmp.path().join("missing.csv");
    let report = reg
        .network()
        .import_paths(&[not_json, unknown, missing], None, &quiet)
        .await
        .unwrap();
    assert_eq!(report.rejected.len(), 3);
    assert!(report.rejected[0].reason.contains("not valid JSON"));
    assert!(report.rejected[1].reason.contains("unknown file type"));
    assert!(!report.committed);
}

#[tokio::test]
async fn the_synthetic_network_imports_with_the_city_figures_and_search_works() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, store) = registry(&dir).await;
    let out = tempfile::tempdir().unwrap();
    evgrid_synth::generate(reg.reference(), 20220701)
        .write(out.path(), reg.reference())
        .unwrap();
    let report = reg
        .network()
        .import_paths(&[out.path().to_path_buf()], None, &quiet)
        .await
        .unwrap();
    assert!(report.committed, "{:?}", report.rejected.first());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings.first());
    let counts = store.region_counts().await.unwrap();
    assert_eq!(counts.city.piles.total(), 19_000);
    assert_eq!(
        counts.city.piles.public + counts.city.piles.dedicated,
        13_000
    );
    assert_eq!(counts.city.piles.private, 6_000);
    assert!(
        counts.by_county.iter().all(|(c, _)| c.is_some()),
        "every station in a county"
    );
    let ops = store.operators().await.unwrap();
    assert!(ops.iter().all(|o| o.name.contains("虚构")));

    // Nearest public DC >= 120 kW from the city centre.
    let filter = SearchFilter {
        categories: Some(vec![Category::Public]),
        current: Some(CurrentKind::Dc),
        min_power: Some(Power::from_kw(60)),
        ..Default::default()
    };
    let hits = reg
        .network()
        .nearest(LatLng::new(25.8306, 114.9328), 10, None, &filter);
    assert_eq!(hits.len(), 10);
    assert!(hits.windows(2).all(|w| w[0].distance_m <= w[1].distance_m));
    assert!(hits.iter().all(|h| h.station.category == Category::Public));
    let unknown_op = SearchFilter {
        operator_id: Some(OperatorId::new("ZZZZZZZZZ").unwrap()),
        ..Default::default()
    };
    assert!(reg
        .network()
        .nearest(LatLng::new(25.83, 114.93), 5, None, &unknown_op)
        .is_empty());

    // A fresh registry over the same store rebuilds the same index.
    drop(reg);
    let (reopened, _) = registry(&dir).await;
    assert_eq!(
        reopened.network().station_count(),
        1_400 + 6_000 + counts.city.stations.dedicated as usize
    );
}

#[tokio::test]
async fn message_counts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let id = evgrid_model::OperatorId::new("MA01D1QR8").unwrap();
    {
        let (r, _store) = registry(&dir).await;
        for (ret, interface) in [
            (0, "notification_stationStatus"),
            (0, "notification_stationStatus"),
            (4001, "notification_stationStatus"),
        ] {
            r.live().count_message(&evgrid_tcec::platform::Outcome {
                operator_id: &id,
                interface,
                ret,
                msg: "",
                sent_at: None,
            });
        }
        r.live().flush_message_counts().await.unwrap();
    }
    let (r, store) = registry(&dir).await;
    let rows = store.traffic().await.unwrap();
    let count = |ret: i32| rows.iter().find(|x| x.ret == ret).map(|x| x.count);
    assert_eq!((count(0), count(4001)), (Some(2), Some(1)));
    assert!(r.live().traffic_since().is_some());
    // The report shows the totals from before the restart.
    let creds = evgrid_model::OperatorCredentials {
        operator_id: id.clone(),
        operator_secret: "e3bb15a6f95f8bb7".into(),
        data_secret: "a1b2c3d4e5f6g7h8".into(),
        data_secret_iv: "1234567890abcdef".into(),
        sig_secret: "s1g2s3e4c5r6e7t8".into(),
        base_url: None,
        coords: evgrid_model::CoordSystem::Gcj02,
        platform_secret: None,
        stale_after_seconds: None,
    };
    store.put_credentials("Sample", &creds).await.unwrap();
    let q = r.live().data_quality(&id).await.unwrap().unwrap();
    assert_eq!(q.messages.accepted["notification_stationStatus"], 2);
    assert_eq!(q.messages.refused["4001"], 1);
}

/// Charger `id`, unknown until now, accepted as a charger of `operator` (trust on first use).
async fn accepted_unknown(
    app: &App,
    id: &str,
    operator: &evgrid_model::OperatorId,
) -> evgrid_model::Charger {
    let unknown = crate::charging::chargers::UnknownChargers {
        operator: operator.clone(),
        most: 10,
    };
    match app
        .charging()
        .charger_login(
            id,
            Some("first-use-password"),
            Some(&unknown),
            &Default::default(),
        )
        .await
        .unwrap()
    {
        crate::charging::chargers::Login::Accepted(c) => *c,
        refused => panic!("{id} refused: {refused:?}"),
    }
}

/// Security profiles at login: a client certificate for the charger's id needs no password and
/// makes profile 3 the charger's floor; a certificate of another charger, a password alone
/// after that, or plain HTTP for a profile-2 charger are refused.
#[tokio::test]
async fn security_profiles_decide_how_a_charger_may_log_in() {
    use crate::charging::chargers::{ConnectionSecurity, Login};
    let dir = tempfile::tempdir().unwrap();
    let (r, store) = registry(&dir).await;
    let op = evgrid_model::OperatorId::new("EVGRID000").unwrap();
    accepted_unknown(&r, "CERT_1", &op).await;
    let login = |security: ConnectionSecurity, password: Option<&'static str>| {
        let r = r.clone();
        async move {
            r.charging()
                .charger_login("CERT_1", password, None, &security)
                .await
                .unwrap()
        }
    };
    let plain = ConnectionSecurity::default();
    let tls = ConnectionSecurity {
        tls: true,
        certified_as: None,
    };
    let certified = |name: &str| ConnectionSecurity {
        tls: true,
        certified_as: Some(name.to_owned()),
    };
    // Profile 2 set: plain HTTP refused, TLS with the password accepted.
    assert!(store
        .set_charger_security_profile("CERT_1", 2, false)
        .await
        .unwrap());
    assert!(
        matches!(login(plain.clone(), Some("first-use-password")).await, Login::Refused(r) if r.contains("security profile 2"))
    );
    assert!(matches!(
        login(tls.clone(), Some("first-use-password")).await,
        Login::Accepted(_)
    ));
    // Another charger's certificate: refused, even with the right password.
    assert!(
        matches!(login(certified("CERT_2"), Some("first-use-password")).await, Login::Refused(r) if r.contains("CERT_2"))
    );
    // Its own certificate: no password needed, and profile 3 from now on.
    match login(certified("CERT_1"), None).await {
        Login::Accepted(c) => assert_eq!(c.security_profile, 3),
        refused => panic!("{refused:?}"),
    }
    assert_eq!(
        store
            .charger("CERT_1")
            .await
            .unwrap()
            .unwrap()
            .security_profile,
        3
    );
    assert!(
        matches!(login(tls, Some("first-use-password")).await, Login::Refused(r) if r.contains("security profile 3"))
    );
}

#[tokio::test]
async fn an_accepted_unknown_charger_stores_its_status_and_sessions() {
    use evgrid_ocpp::csms::{Backend, StatusReport};
    let dir = tempfile::tempdir().unwrap();
    let (r, store) = registry(&dir).await;
    let op = evgrid_model::OperatorId::new("EVGRID000").unwrap();
    assert!(matches!(
        r.charging()
            .charger_login("NEW_1", None, None, &Default::default())
            .await
            .unwrap(),
        crate::charging::chargers::Login::Refused(_)
    ));
    let c = accepted_unknown(&r, "NEW_1", &op).await;
    let backend = r.charging().ocpp_backend(c);
    backend
        .status(
            "NEW_1",
            &StatusReport {
                connector: 1,
                status: evgrid_model::ConnectorStatus::Charging,
                raw: "Charging".into(),
                error_code: None,
                observed_at: 100,
            },
        )
        .await
        .unwrap();
    let update = evgrid_model::SessionUpdate {
        session_ref: "NEW_1:7".into(),
        state: Some(evgrid_model::SessionState::Charging),
        meter_start: Some(evgrid_model::WattHours(500)),
        ..evgrid_model::SessionUpdate::reported_by(evgrid_model::Channel::Ocpp)
    };
    let start = Some(evgrid_model::WattHours(500));
    backend
        .session("NEW_1", Some(1), start, update)
        .await
        .unwrap();
    let s = store
        .charging_session(&op, "NEW_1:7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.connector_id.as_str(), s.meter_start, s.energy),
        ("NEW_1-1", start, Some(evgrid_model::WattHours(0)))
    );
    // A later reading: the energy since the stored meter start.
    let reading = evgrid_model::SessionUpdate {
        session_ref: "NEW_1:7".into(),
        ..evgrid_model::SessionUpdate::reported_by(evgrid_model::Channel::Ocpp)
    };
    backend
        .session("NEW_1", None, Some(evgrid_model::WattHours(2_250)), reading)
        .await
        .unwrap();
    let s = store
        .charging_session(&op, "NEW_1:7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.energy, Some(evgrid_model::WattHours(1_750)));
    // A connector id of another charger that only looks alike is refused.
    let other = evgrid_model::SessionUpdate {
        session_ref: "X:1".into(),
        connector_id: "NEWx1-1".into(),
        ..evgrid_model::SessionUpdate::reported_by(evgrid_model::Channel::Ocpp)
    };
    let key = evgrid_model::PushId {
        operator_id: op.clone(),
        interface: "ocpp",
        time_stamp: "0".into(),
        seq: "x".into(),
    };
    assert!(store.apply_charging_session(&key, &other).await.is_err());
    assert!(store
        .operator_statuses(&op)
        .await
        .unwrap()
        .iter()
        .any(|s| s.connector_id == "NEW_1-1"));
}

#[tokio::test]
async fn a_driver_finds_free_open_affordable_stations_and_stale_is_never_free() {
    use crate::network::search::{china_second_of_day, DriverFilter, SortBy};
    use evgrid_model::{ConnectorStatus, PricePerKwh};
    let dir = tempfile::tempdir().unwrap();
    let (reg, store) = registry(&dir).await;
    let report = reg
        .network()
        .import_paths(&[fixture("good.csv")], None, &quiet)
        .await
        .unwrap();
    assert!(report.committed);
    let op = OperatorId::new("MA0CSVOP1").unwrap();
    let now = evgrid_model::time::unix_now();
    let status = |id: &str, s: ConnectorStatus, at: i64| evgrid_model::StatusRecord {
        connector_id: id.into(),
        status: s,
        raw_status: 1,
        park_status: None,
        lock_status: None,
        observed_at: at,
        source: evgrid_model::StatusSource::TcecPush,
    };
    // CSV001: one fresh free connector, one free but stale (an hour old), one charging.
    store
        .put_statuses(
            &op,
            &[
                status("CSV001E1C1", ConnectorStatus::Available, now - 10),
                status("CSV001E1C2", ConnectorStatus::Available, now - 3600),
                status("CSV001E2C1", ConnectorStatus::Charging, now - 10),
            ],
        )
        .await
        .unwrap();
    let center = LatLng::new(25.8306, 114.9328);
    let everything = SearchFilter::default();
    let all = reg
        .network()
        .search_for_driver(center, 200_000.0, 10, &everything, &DriverFilter::default())
        .await
        .unwrap();
    assert!(all.len() >= 2);
    assert!(all.windows(2).all(|w| w[0].distance_m <= w[1].distance_m));
    let csv1 = all
        .iter()
        .find(|h| h.station.id() == "MA0CSVOP1:CSV001")
        .unwrap();
    assert_eq!((csv1.connectors, csv1.free, csv1.stale), (3, 1, 1));
    // The price now is the tariff period in force in China now.
    let tariff = store
        .station(&StationKey::parse("MA0CSVOP1:CSV001").unwrap())
        .await
        .unwrap()
        .unwrap()
        .station
        .tariff
        .unwrap();
    let period = tariff.period_at(china_second_of_day(now)).unwrap();
    assert_eq!(
        csv1.price_now,
        Some(PricePerKwh(period.electricity.0 + period.service.0))
    );

    // Free now: only CSV001 (the stale one does not count; others never reported).
    let free = reg
        .network()
        .search_for_driver(
            center,
            200_000.0,
            10,
            &everything,
            &DriverFilter {
                free_now: true,
                ..DriverFilter::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<&str> = free.iter().map(|h| h.station.id()).collect();
    assert_eq!(ids, ["MA0CSVOP1:CSV001"]);
    // A price ceiling below the price now leaves nothing with that tariff.
    let cheap = reg
        .network()
        .search_for_driver(
            center,
            200_000.0,
            10,
            &everything,
            &DriverFilter {
                max_price: Some(PricePerKwh(csv1.price_now.unwrap().0 - 1)),
                ..DriverFilter::default()
            },
        )
        .await
        .unwrap();
    assert!(cheap.iter().all(|h| h.station.id() != "MA0CSVOP1:CSV001"));
    // Sorted by price: stations with a tariff first, cheapest first.
    let by_price = reg
        .network()
        .search_for_driver(
            center,
            200_000.0,
            10,
            &everything,
            &DriverFilter {
                sort: SortBy::Price,
                ..DriverFilter::default()
            },
        )
        .await
        .unwrap();
    let prices: Vec<i64> = by_price
        .iter()
        .map(|h| h.price_now.map_or(i64::MAX, |p| p.0))
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    // Along a route from the city centre towards 于都 (CSV002): ordered along the route.
    let route = [center, LatLng::new(25.958, 115.419)];
    let along = reg
        .network()
        .search_along_route(&route, 3000.0, 10, &everything, &DriverFilter::default())
        .await
        .unwrap();
    assert!(along.len() >= 2, "{}", along.len());
    assert!(along
        .windows(2)
        .all(|w| w[0].along_m.unwrap() <= w[1].along_m.unwrap()));
    assert!(along.iter().all(|h| h.distance_m <= 3000.0));
}

/// Issue 19 item 6, OCPP side: a status stamped 2099 does not hide the charger's later ones,
/// and 900,000 kWh two minutes after the start is kept but disputed, up to the order.
#[tokio::test]
async fn a_chargers_clock_and_energy_are_checked_before_they_are_believed() {
    use evgrid_model::{Channel, ConnectorStatus, SessionState, SessionUpdate, WattHours};
    use evgrid_ocpp::csms::{Backend, StatusReport};
    let dir = tempfile::tempdir().unwrap();
    let (r, store) = registry(&dir).await;
    let op = evgrid_model::OperatorId::new("EVGRID000").unwrap();
    let c = accepted_unknown(&r, "LIAR_1", &op).await;
    let backend = r.charging().ocpp_backend(c);
    let now = evgrid_model::time::unix_now();
    for (status, observed_at) in [
        (ConnectorStatus::Faulted, 4_070_908_800), // 2099-01-01
        (ConnectorStatus::Available, now + 1),
    ] {
        let report = StatusReport {
            connector: 1,
            status,
            raw: format!("{status:?}"),
            error_code: None,
            observed_at,
        };
        backend.status("LIAR_1", &report).await.unwrap();
    }
    let statuses = store.operator_statuses(&op).await.unwrap();
    let status = statuses
        .iter()
        .find(|s| s.connector_id == "LIAR_1-1")
        .unwrap();
    assert_eq!(status.status, ConnectorStatus::Available, "{status:?}");
    assert!(status.observed_at <= now + 60, "{status:?}");

    let start = SessionUpdate {
        session_ref: "LIAR_1:1".into(),
        state: Some(SessionState::Charging),
        started_at: Some(now - 120),
        meter_start: Some(WattHours(1_000)),
        ..SessionUpdate::reported_by(Channel::Ocpp)
    };
    backend
        .session("LIAR_1", Some(1), Some(WattHours(1_000)), start)
        .await
        .unwrap();
    let reading = SessionUpdate {
        session_ref: "LIAR_1:1".into(),
        ..SessionUpdate::reported_by(Channel::Ocpp)
    };
    backend
        .session("LIAR_1", None, Some(WattHours(900_001_000)), reading)
        .await
        .unwrap();
    let s = store
        .charging_session(&op, "LIAR_1:1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.energy, Some(WattHours(900_000_000)));
    let why = s.dispute.clone().unwrap_or_default();
    assert!(why.contains("could deliver in"), "{s:?}");
    let stop = SessionUpdate {
        session_ref: "LIAR_1:1".into(),
        state: Some(SessionState::Finished),
        ended_at: Some(now),
        ..SessionUpdate::reported_by(Channel::Ocpp)
    };
    backend
        .session("LIAR_1", None, Some(WattHours(900_001_000)), stop)
        .await
        .unwrap();
    let s = store
        .charging_session(&op, "LIAR_1:1")
        .await
        .unwrap()
        .unwrap();
    assert!(s.order_received_at.is_some());
    assert!(
        s.dispute
            .as_deref()
            .unwrap_or_default()
            .contains("could deliver in"),
        "the order keeps the finding: {s:?}"
    );
}

/// Issue 20 (E_12, P_03): a 2.0.1 transaction started without its EVSE is kept (on the
/// charger's connector 0) and bound to its connector by the first event that names one; before,
/// it was refused as an unknown transaction.
#[tokio::test]
async fn a_transaction_started_before_its_evse_is_known_is_bound_later() {
    use evgrid_model::{Channel, SessionState, SessionUpdate, WattHours};
    use evgrid_ocpp::csms::Backend;
    let dir = tempfile::tempdir().unwrap();
    let (r, store) = registry(&dir).await;
    let op = evgrid_model::OperatorId::new("EVGRID000").unwrap();
    let c = accepted_unknown(&r, "EVSELESS_1", &op).await;
    let backend = r.charging().ocpp_backend(c);
    let now = evgrid_model::time::unix_now();
    let started = SessionUpdate {
        session_ref: "EVSELESS_1:T9".into(),
        state: Some(SessionState::Starting),
        started_at: Some(now),
        meter_start: Some(WattHours(100)),
        ..SessionUpdate::reported_by(Channel::Ocpp)
    };
    backend
        .session("EVSELESS_1", None, Some(WattHours(100)), started)
        .await
        .unwrap();
    let s = store
        .charging_session(&op, "EVSELESS_1:T9")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.connector_id, "EVSELESS_1-0");
    let charging = SessionUpdate {
        session_ref: "EVSELESS_1:T9".into(),
        state: Some(SessionState::Charging),
        ..SessionUpdate::reported_by(Channel::Ocpp)
    };
    backend
        .session("EVSELESS_1", Some(2), Some(WattHours(600)), charging)
        .await
        .unwrap();
    let s = store
        .charging_session(&op, "EVSELESS_1:T9")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.connector_id.as_str(), s.energy),
        ("EVSELESS_1-2", Some(WattHours(500)))
    );
}
