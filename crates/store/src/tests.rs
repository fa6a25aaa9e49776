use evgrid_model::{
    Category, Connector, ConnectorType, Equipment, EquipmentType, LatLng, Operator, OperatorId,
    Power, PricePerKwh, Station, StationKey, StationType, Tariff, TariffPeriod,
};

use super::*;

fn station(id: &str, piles: usize) -> PlacedStation {
    let op = OperatorId::new("MA01D1QR8").unwrap();
    PlacedStation {
        station: Station {
            operator_id: op,
            id: id.into(),
            name: format!("station {id}"),
            station_type: StationType::PUBLIC,
            status: 50,
            location: LatLng::new(25.83, 114.93),
            address: "addr".into(),
            area_code: "360702".into(),
            equipment_owner_id: "MA01D1QR8".into(),
            country_code: "CN".into(),
            service_tel: "1".into(),
            station_tel: None,
            park_nums: 2,
            construction: 1,
            site_guide: None,
            business_hours: None,
            electricity_fee_text: None,
            service_fee_text: None,
            park_fee: None,
            payment: None,
            support_order: false,
            remark: None,
            tariff: Some(
                Tariff::new(vec![TariffPeriod {
                    start_second: 0,
                    electricity: PricePerKwh(6123),
                    service: PricePerKwh::from_fen(40),
                }])
                .unwrap(),
            ),
            equipment: (0..piles)
                .map(|i| Equipment {
                    id: format!("{id}E{i}"),
                    name: None,
                    equipment_type: EquipmentType::DC,
                    power: Power::from_kw(120),
                    manufacturer_name: None,
                    model: None,
                    production_date: None,
                    connectors: vec![Connector {
                        id: format!("{id}E{i}C1"),
                        name: None,
                        connector_type: ConnectorType::DC_PLUG,
                        national_standard: 2,
                        power: Power::from_kw(60),
                        voltage_upper_v: 750,
                        voltage_lower_v: 200,
                        current_a: 120,
                        park_no: None,
                    }],
                })
                .collect(),
        },
        county_code: None,
        township_code: None,
        township_method: None,
        inside_city: false,
    }
}

fn operator() -> Operator {
    Operator {
        id: OperatorId::new("MA01D1QR8").unwrap(),
        name: "Sample".into(),
    }
}

#[tokio::test]
async fn stations_round_trip_and_reimport_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let pks = store
        .upsert_stations(&[operator()], &[station("A", 2), station("B", 1)])
        .await
        .unwrap();
    let key = StationKey::parse("MA01D1QR8:A").unwrap();
    let rec = store.station(&key).await.unwrap().unwrap();
    assert_eq!(rec.station, station("A", 2).station);
    assert_eq!(rec.summary.piles, 2);
    let again = store
        .upsert_stations(&[operator()], &[station("A", 2), station("B", 1)])
        .await
        .unwrap();
    assert_eq!(pks, again, "row ids are stable on re-import");
    let (items, total) = store
        .list_stations(&StationListFilter::default(), 0, 10)
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(items.len(), 2);
    let counts = store.region_counts().await.unwrap();
    assert_eq!(counts.city.piles.public, 3);
    assert_eq!(counts.city.stations.total(), 2);
    let filtered = StationListFilter {
        category: Some(Category::Private),
        ..Default::default()
    };
    assert_eq!(store.list_stations(&filtered, 0, 10).await.unwrap().1, 0);
    // A real name is not overwritten by an import that knows only the id.
    store
        .upsert_stations(
            &[Operator {
                id: operator().id,
                name: "MA01D1QR8".into(),
            }],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(store.operators().await.unwrap()[0].name, "Sample");
}

#[tokio::test]
async fn a_conflicting_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    store
        .upsert_stations(&[operator()], &[station("A", 2)])
        .await
        .unwrap();
    let before = store.fingerprint().await.unwrap();
    // Station C reuses A's equipment ids: the whole batch must fail, C included.
    let mut c = station("C", 1);
    c.station.equipment[0].id = "AE0".into();
    let err = store
        .upsert_stations(&[operator()], &[station("B", 1), c])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(store.fingerprint().await.unwrap(), before);
    assert!(store
        .station(&StationKey::parse("MA01D1QR8:B").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn credentials_are_stored_rotated_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let mut c = evgrid_model::OperatorCredentials {
        operator_id: OperatorId::new("MA01D1QR8").unwrap(),
        operator_secret: "e3bb15a6f95f8bb7".into(),
        data_secret: "a1b2c3d4e5f6g7h8".into(),
        data_secret_iv: "1234567890abcdef".into(),
        sig_secret: "s1g2s3e4c5r6e7t8".into(),
        base_url: None,
        coords: evgrid_model::CoordSystem::Gcj02,
        platform_secret: None,
        stale_after_seconds: None,
    };
    store.put_credentials("Sample", &c).await.unwrap();
    assert_eq!(
        store.credentials(&c.operator_id).await.unwrap().as_ref(),
        Some(&c)
    );
    c.sig_secret = "0000000000000000".into();
    store.put_credentials("Sample", &c).await.unwrap();
    assert_eq!(store.all_credentials().await.unwrap(), vec![c.clone()]);
    assert_eq!(store.operators().await.unwrap()[0].name, "Sample");
    assert!(store.remove_credentials(&c.operator_id).await.unwrap());
    assert!(!store.remove_credentials(&c.operator_id).await.unwrap());
    assert!(store.credentials(&c.operator_id).await.unwrap().is_none());
}

fn status(connector: &str, at: i64) -> StatusRecord {
    StatusRecord {
        connector_id: connector.into(),
        status: evgrid_model::ConnectorStatus::Charging,
        raw_status: 3,
        park_status: None,
        lock_status: None,
        observed_at: at,
        source: "tcec_push".into(),
    }
}

#[tokio::test]
async fn grouped_pushes_keep_their_own_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    store
        .upsert_stations(&[operator()], &[station("A", 2)])
        .await
        .unwrap();
    let key = |seq: &'static str| PushKey {
        operator_id: "MA01D1QR8",
        interface: "notification_stationStatus",
        time_stamp: "20261125120000",
        seq,
    };
    let good = [status("AE0C1", 100)];
    let unknown = [status("AE1C1", 100), status("NOPE", 100)];
    let other = [status("AE1C1", 101)];
    let results = store
        .apply_statuses_many(&[
            (key("0001"), &good[..]),
            (key("0002"), &unknown[..]),
            (key("0001"), &good[..]),
            (key("0003"), &other[..]),
        ])
        .await
        .unwrap();
    assert!(matches!(results[0], Ok(true)));
    assert!(matches!(&results[1], Err(StoreError::Unknown(m)) if m.contains("NOPE")));
    assert!(
        matches!(results[2], Ok(false)),
        "a duplicate in the same batch is not applied twice"
    );
    assert!(matches!(results[3], Ok(true)));
    let a = StationKey::parse("MA01D1QR8:A").unwrap();
    let stored = store.station_statuses(&a).await.unwrap();
    let of = |c: &str| {
        stored
            .iter()
            .find(|s| s.connector_id == c)
            .map(|s| s.observed_at)
    };
    assert_eq!(of("AE0C1"), Some(100));
    // The refused push left nothing: AE1C1 holds the later push's observation only.
    assert_eq!(of("AE1C1"), Some(101));
    // The refused push's key was not recorded: it can be sent again, corrected.
    let again = store
        .apply_statuses(&key("0002"), &[status("AE1C1", 102)])
        .await
        .unwrap();
    assert!(again);
}

fn status_at(connector: &str, s: evgrid_model::ConnectorStatus, at: i64) -> StatusRecord {
    StatusRecord {
        status: s,
        ..status(connector, at)
    }
}

#[tokio::test]
async fn regulator_statistics_add_up() {
    use crate::stats::{Bucket, Dimension, UsageKey};
    use evgrid_model::ConnectorStatus::{Available, Faulted};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let mut ac = station("B", 3);
    for (i, e) in ac.station.equipment.iter_mut().enumerate() {
        e.equipment_type = EquipmentType::AC;
        e.power = Power::from_kw(if i == 0 { 7 } else { 180 });
    }
    store
        .upsert_stations(&[operator()], &[station("A", 2), ac])
        .await
        .unwrap();

    // Every breakdown accounts for every pile and connector.
    for by in [
        Dimension::Category,
        Dimension::County,
        Dimension::Operator,
        Dimension::PowerClass,
        Dimension::Current,
        Dimension::ConnectorStandard,
    ] {
        let rows = store.breakdown(by).await.unwrap();
        let piles: i64 = rows.iter().map(|r| r.piles.total()).sum();
        let connectors: i64 = rows.iter().map(|r| r.connectors.total()).sum();
        assert_eq!((piles, connectors), (5, 5), "{by:?}");
    }
    let power = store.breakdown(Dimension::PowerClass).await.unwrap();
    let order: Vec<&str> = power.iter().filter_map(|r| r.key.as_deref()).collect();
    assert_eq!(
        order,
        ["0-7kW", "60-120kW", "120-240kW"],
        "ordered by power"
    );
    let of = |k: &str| power.iter().find(|r| r.key.as_deref() == Some(k)).unwrap();
    assert_eq!(of("0-7kW").piles.public, 1);
    assert_eq!(of("120-240kW").piles.public, 2);
    assert_eq!(of("60-120kW").piles.public, 2);
    assert_eq!(of("60-120kW").stations.public, 1);

    // Status changes become events; a fault that was repaired counts with its length.
    let op = OperatorId::new("MA01D1QR8").unwrap();
    store
        .put_statuses(&op, &[status_at("AE0C1", Available, 1000)])
        .await
        .unwrap();
    store
        .put_statuses(&op, &[status_at("AE0C1", Faulted, 2000)])
        .await
        .unwrap();
    store
        .put_statuses(&op, &[status_at("AE0C1", Faulted, 2500)])
        .await
        .unwrap();
    store
        .put_statuses(&op, &[status_at("AE0C1", Available, 5600)])
        .await
        .unwrap();
    store
        .put_statuses(&op, &[status_at("BE0C1", Faulted, 9000)])
        .await
        .unwrap();
    let faults = store
        .faults(UsageKey::Station, 0, 20_000, 10_000)
        .await
        .unwrap();
    let a = faults
        .iter()
        .find(|r| r.key.as_deref() == Some("MA01D1QR8:A"))
        .unwrap();
    assert_eq!(
        (a.faults, a.fault_seconds, a.repaired, a.repair_seconds),
        (1, 3600, 1, 3600)
    );
    assert_eq!((a.connectors, a.online), (2, 1));
    let b = faults
        .iter()
        .find(|r| r.key.as_deref() == Some("MA01D1QR8:B"))
        .unwrap();
    // Still faulted: counted up to now, not repaired.
    assert_eq!((b.faults, b.fault_seconds, b.repaired), (1, 1000, 0));
    assert_eq!(b.online, 0);

    // Snapshots: one per day, replaced within the day.
    let day = store.take_snapshot(1_767_225_600).await.unwrap(); // 2026-01-01 08:00 UTC+8
    assert_eq!(day, "2026-01-01");
    store.take_snapshot(1_767_225_700).await.unwrap();
    let snaps = store.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].piles.public, 5);

    // Usage: a finished session and a running one, clipped to the window.
    for (seq, connector, start, end, wh) in [
        ("S1", "AE1C1", 3_600, Some(7_200), 20_000),
        ("S2", "BE1C1", 9_000, None, 1_000),
    ] {
        let push = PushKey {
            operator_id: "MA01D1QR8",
            interface: "notification_charge_order_info",
            time_stamp: "20260101000000",
            seq,
        };
        let update = evgrid_model::SessionUpdate {
            session_ref: seq.into(),
            connector_id: connector.into(),
            state: Some(evgrid_model::SessionState::Charging),
            started_at: Some(start),
            ended_at: end,
            energy: Some(evgrid_model::WattHours(wh)),
            source: "tcec",
            ..evgrid_model::SessionUpdate::default()
        };
        assert!(store.apply_session(&push, &update).await.unwrap());
    }
    let usage = store
        .usage(UsageKey::Station, Bucket::Hour, 0, 20_000, 10_000)
        .await
        .unwrap();
    let a = usage
        .iter()
        .find(|r| r.key.as_deref() == Some("MA01D1QR8:A"))
        .unwrap();
    assert_eq!(
        (
            a.bucket.as_str(),
            a.sessions,
            a.energy_wh,
            a.charging_seconds
        ),
        ("09", 1, 20_000, 3_600)
    );
    let b = usage
        .iter()
        .find(|r| r.key.as_deref() == Some("MA01D1QR8:B"))
        .unwrap();
    assert_eq!(b.charging_seconds, 1_000, "running: counted up to now");
    let connectors = store.connectors_by(UsageKey::Operator).await.unwrap();
    assert_eq!(connectors, vec![(Some("MA01D1QR8".into()), 5)]);

    // Targets are seeded and progress is stored.
    let targets = store.targets().await.unwrap();
    assert!(targets
        .iter()
        .any(|t| t.id == "charging_piles" && t.value == 19_000.0));
    store
        .put_progress(&[crate::stats::ProgressRow {
            target_id: "fleet_bus".into(),
            day: "2026-06-30".into(),
            value: 1200.0,
            source: "test".into(),
        }])
        .await
        .unwrap();
    assert_eq!(store.progress().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_status_batch_is_one_transaction_that_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    store
        .upsert_stations(&[operator()], &[station("A", 2)])
        .await
        .unwrap();
    let op = OperatorId::new("MA01D1QR8").unwrap();
    // A second operator's connectors are not in the catalogue; the status table takes them
    // (the OCPP side checks connectors before it writes).
    let other = OperatorId::new("MA02D1QR8").unwrap();
    // More rows than one INSERT statement holds, so the batch spans several statements.
    let mut batch: Vec<(OperatorId, StatusRecord)> = (0..450)
        .map(|i| (other.clone(), status(&format!("X{i:03}"), 500)))
        .collect();
    batch.push((op.clone(), status("AE0C1", 200)));
    store.put_statuses_of_many(&batch).await.unwrap();
    assert_eq!(store.operator_statuses(&other).await.unwrap().len(), 450);

    // An older observation does not overwrite a newer one; a newer one does.
    let older = status_at("AE0C1", evgrid_model::ConnectorStatus::Available, 100);
    let newer = status_at("X000", evgrid_model::ConnectorStatus::Faulted, 600);
    store
        .put_statuses_of_many(&[(op.clone(), older), (other.clone(), newer)])
        .await
        .unwrap();
    let a = store.operator_statuses(&op).await.unwrap();
    assert_eq!(
        (a[0].observed_at, a[0].status),
        (200, evgrid_model::ConnectorStatus::Charging)
    );
    let x = store.operator_statuses(&other).await.unwrap();
    let x0 = x.iter().find(|s| s.connector_id == "X000").unwrap();
    assert_eq!(
        (x0.observed_at, x0.status),
        (600, evgrid_model::ConnectorStatus::Faulted)
    );

    // A row the database refuses, in the batch's second statement: nothing of the batch stays,
    // and the writer's connection is left outside any transaction for the next writer.
    let side = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("evgrid.sqlite").display()
    ))
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_broken BEFORE INSERT ON connector_status
         WHEN NEW.connector_id = 'BROKEN' BEGIN SELECT RAISE(ABORT, 'refused by test'); END",
    )
    .execute(&side)
    .await
    .unwrap();
    let mut bad: Vec<(OperatorId, StatusRecord)> = (0..450)
        .map(|i| (other.clone(), status(&format!("Y{i:03}"), 700)))
        .collect();
    bad.push((other.clone(), status("BROKEN", 700)));
    let err = store.put_statuses_of_many(&bad).await.unwrap_err();
    assert!(err.to_string().contains("refused by test"), "{err}");
    let after = store.operator_statuses(&other).await.unwrap();
    assert_eq!(after.len(), 450, "none of the refused batch's rows stayed");
    assert!(after.iter().all(|s| !s.connector_id.starts_with('Y')));
    store
        .put_statuses_of_many(&[(op.clone(), status("AE1C1", 800))])
        .await
        .unwrap();
    store
        .put_statuses(&op, &[status("AE0C1", 900)])
        .await
        .unwrap();
    let a = store.operator_statuses(&op).await.unwrap();
    assert_eq!(a.len(), 2);
    assert!(a
        .iter()
        .any(|s| s.connector_id == "AE1C1" && s.observed_at == 800));
    assert!(a
        .iter()
        .any(|s| s.connector_id == "AE0C1" && s.observed_at == 900));
}

#[tokio::test]
async fn session_messages_grouped_keep_their_own_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    store
        .upsert_stations(&[operator()], &[station("A", 2)])
        .await
        .unwrap();
    let key = |seq: &'static str| PushKey {
        operator_id: "MA01D1QR8",
        interface: "ocpp",
        time_stamp: "100",
        seq,
    };
    let update = |session: &str, connector: &str, wh: i64| evgrid_model::SessionUpdate {
        session_ref: session.into(),
        connector_id: connector.into(),
        state: Some(evgrid_model::SessionState::Charging),
        started_at: Some(100),
        energy: Some(evgrid_model::WattHours(wh)),
        source: "ocpp",
        ..evgrid_model::SessionUpdate::default()
    };
    let (good, unknown, later) = (
        update("T1", "AE0C1", 500),
        update("T2", "NOPE", 700),
        update("T1", "AE0C1", 900),
    );
    let results = store
        .apply_sessions_many(&[
            (key("1"), &good),
            (key("2"), &unknown),
            (key("1"), &good),
            (key("3"), &later),
        ])
        .await
        .unwrap();
    assert!(matches!(results[0], Ok(true)));
    assert!(matches!(&results[1], Err(StoreError::Unknown(m)) if m.contains("NOPE")));
    assert!(
        matches!(results[2], Ok(false)),
        "a repeated message is not applied twice"
    );
    assert!(matches!(results[3], Ok(true)));
    let op = OperatorId::new("MA01D1QR8").unwrap();
    let t1 = store.session(&op, "T1").await.unwrap().unwrap();
    assert_eq!(t1.energy, Some(evgrid_model::WattHours(900)));
    assert!(store.session(&op, "T2").await.unwrap().is_none());
    // The refused message's key was not kept: corrected, it is applied.
    let fixed = update("T2", "AE1C1", 700);
    assert!(store.apply_session(&key("2"), &fixed).await.unwrap());
}

#[tokio::test]
async fn a_chargers_notices_keep_the_latest_hundred() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    for i in 0..105 {
        store
            .add_charger_notice(
                "CP1",
                1000 + i,
                "FirmwareStatusNotification",
                &format!("n{i}"),
            )
            .await
            .unwrap();
    }
    store
        .add_charger_notice("CP2", 5, "SecurityEventNotification", "other")
        .await
        .unwrap();
    let notices = store.charger_notices("CP1").await.unwrap();
    assert_eq!(notices.len(), crate::CHARGER_NOTICES_KEPT as usize);
    assert_eq!((notices[0].at, notices[0].detail.as_str()), (1104, "n104"));
    assert_eq!(notices[99].detail, "n5");
    assert_eq!(store.charger_notices("CP2").await.unwrap().len(), 1);
}
