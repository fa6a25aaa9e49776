//! The cases of the contract, each over a fresh, empty store of some engine.

use evgrid_model::stats::{Bucket, ConnectorCriteria, Dimension, ProgressRow, Target, UsageKey};
use evgrid_model::{
    Category, Channel, Charge, ChargeStatus, Charger, ConnectorStatus, CoordSystem, County,
    EquipmentType, Fen, LatLng, Operator, OperatorCredentials, OperatorId, OrderCheck, Power,
    Reservation, ReservationStatus, Role, SessionState, SessionUpdate, StationKey,
    StationListFilter, StatusRecord, Township, TrafficRow, WattHours,
};
use evgrid_store::{Store, StoreError};

use crate::fixtures::{charging, operator, push, station, status, status_at, OPERATOR};

fn op() -> OperatorId {
    OperatorId::new(OPERATOR).unwrap()
}

fn key(station_id: &str) -> StationKey {
    StationKey::parse(&format!("{OPERATOR}:{station_id}")).unwrap()
}

pub async fn stations_round_trip_and_reimport_is_idempotent(store: Store) {
    let pks = store
        .upsert_stations(&[operator()], &[station("A", 2), station("B", 1)])
        .await
        .unwrap();
    let rec = store.station(&key("A")).await.unwrap().unwrap();
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
    assert_eq!(
        items
            .iter()
            .map(|s| s.key.station_id.as_str())
            .collect::<Vec<_>>(),
        ["A", "B"]
    );
    let (page, total) = store
        .list_stations(&StationListFilter::default(), 1, 10)
        .await
        .unwrap();
    assert_eq!((page.len(), total), (1, 2), "a page after the first");
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
                id: op(),
                name: OPERATOR.into(),
            }],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(store.operators().await.unwrap()[0].name, "Sample");
    // A station replaced with fewer piles keeps its row id and loses the others.
    let fewer = store
        .upsert_stations(&[operator()], &[station("A", 1)])
        .await
        .unwrap();
    assert_eq!(fewer[0], pks[0]);
    let rec = store.station(&key("A")).await.unwrap().unwrap();
    assert_eq!(rec.station.equipment.len(), 1);
    assert!(store.station(&key("Z")).await.unwrap().is_none());
}

pub async fn a_conflicting_batch_writes_nothing(store: Store) {
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
    assert!(store.station(&key("B")).await.unwrap().is_none());
    // The fingerprint moves with what is stored.
    store
        .upsert_stations(&[operator()], &[station("B", 1)])
        .await
        .unwrap();
    assert_ne!(store.fingerprint().await.unwrap(), before);
}

pub async fn regions_and_lookups_of_the_network(store: Store) {
    let county = County {
        code: "360702".into(),
        name_zh: "章贡区".into(),
        name_pinyin: "Zhanggong".into(),
        kind: "市辖区".into(),
        seat: LatLng::new(25.85, 114.94),
        area_km2: 477.4,
        population: Some(1_000_000),
        population_estimated: false,
    };
    let township = Township {
        code: "360702001".into(),
        name_zh: "解放街道".into(),
        county_code: "360702".into(),
        kind: "街道".into(),
        centre: LatLng::new(25.86, 114.93),
        centre_method: "seat".into(),
        population: None,
    };
    store
        .put_regions(
            std::slice::from_ref(&county),
            std::slice::from_ref(&township),
        )
        .await
        .unwrap();
    // Idempotent, and a change replaces.
    let renamed = County {
        area_km2: 478.0,
        ..county.clone()
    };
    store
        .put_regions(
            std::slice::from_ref(&renamed),
            std::slice::from_ref(&township),
        )
        .await
        .unwrap();
    assert_eq!(
        store.regions().await.unwrap(),
        (vec![renamed], vec![township])
    );

    let mut placed = station("A", 2);
    placed.county_code = Some("360702".into());
    placed.township_code = Some("360702001".into());
    placed.township_method = Some("nearest_centre");
    placed.inside_city = true;
    let mut bare = station("B", 1);
    bare.station.address = " ".into();
    let pks = store
        .upsert_stations(&[operator()], &[placed, bare])
        .await
        .unwrap();
    let rec = store.station(&key("A")).await.unwrap().unwrap();
    assert_eq!(
        (
            rec.summary.county_code.as_deref(),
            rec.township_method.as_deref(),
            rec.summary.inside_city
        ),
        (Some("360702"), Some("nearest_centre"), true)
    );
    let in_county = StationListFilter {
        county_code: Some("360702".into()),
        ..Default::default()
    };
    assert_eq!(store.list_stations(&in_county, 0, 10).await.unwrap().1, 1);
    let counts = store.region_counts().await.unwrap();
    let of = |code: Option<&str>| {
        counts
            .by_county
            .iter()
            .find(|(c, _)| c.as_deref() == code)
            .map(|(_, n)| n.piles.public)
    };
    assert_eq!((of(Some("360702")), of(None)), (Some(2), Some(1)));

    let mut rows = store.index_rows().await.unwrap();
    rows.sort_by_key(|r| r.pk);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].pk, pks[0]);
    assert_eq!(rows[0].connectors, vec![(4, 60_000), (4, 60_000)]);
    let mut summaries = store.summaries(&pks).await.unwrap();
    summaries.sort_by_key(|s| s.pk);
    assert_eq!(
        summaries.iter().map(|s| s.connectors).collect::<Vec<_>>(),
        [2, 1]
    );
    assert!(store.summaries(&[]).await.unwrap().is_empty());
    assert_eq!(store.station_ids(&op()).await.unwrap(), ["A", "B"]);
    assert_eq!(
        store.connector_ids(&op()).await.unwrap(),
        ["AE0C1", "AE1C1", "BE0C1"]
    );
    assert_eq!(store.stations_missing_fields(&op()).await.unwrap(), 1);
    let place = store
        .charge_place(OPERATOR, "AE1C1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            place.station_id.as_str(),
            place.operator_name.as_str(),
            place.power_w
        ),
        ("MA01D1QR8:A", "Sample", 60_000)
    );
    assert!(store
        .charge_place(OPERATOR, "NOPE")
        .await
        .unwrap()
        .is_none());
    let pair = |c: &str| (OPERATOR.to_owned(), c.to_owned());
    let mut places = store
        .charge_places(&[pair("AE1C1"), pair("NOPE"), pair("BE0C1")])
        .await
        .unwrap();
    places.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        places
            .iter()
            .map(|((_, c), p)| (c.as_str(), p.station_id.as_str()))
            .collect::<Vec<_>>(),
        [("AE1C1", "MA01D1QR8:A"), ("BE0C1", "MA01D1QR8:B")]
    );
    assert!(store.charge_places(&[]).await.unwrap().is_empty());
}

fn credentials() -> OperatorCredentials {
    OperatorCredentials {
        operator_id: op(),
        operator_secret: "e3bb15a6f95f8bb7".into(),
        data_secret: "a1b2c3d4e5f6g7h8".into(),
        data_secret_iv: "1234567890abcdef".into(),
        sig_secret: "s1g2s3e4c5r6e7t8".into(),
        base_url: Some("http://127.0.0.1:9/evcs/v1/".into()),
        coords: CoordSystem::Gcj02,
        platform_secret: Some("platform-secret-01".into()),
        stale_after_seconds: Some(300),
    }
}

pub async fn credentials_are_stored_rotated_and_removed(store: Store) {
    let mut c = credentials();
    store.put_credentials("Sample", &c).await.unwrap();
    assert_eq!(
        store.credentials(&c.operator_id).await.unwrap().as_ref(),
        Some(&c)
    );
    c.sig_secret = "0000000000000000".into();
    c.base_url = None;
    c.stale_after_seconds = None;
    store.put_credentials("Sample", &c).await.unwrap();
    assert_eq!(store.all_credentials().await.unwrap(), vec![c.clone()]);
    assert_eq!(store.operators().await.unwrap()[0].name, "Sample");
    assert!(store.remove_credentials(&c.operator_id).await.unwrap());
    assert!(!store.remove_credentials(&c.operator_id).await.unwrap());
    assert!(store.credentials(&c.operator_id).await.unwrap().is_none());
    assert!(store.all_credentials().await.unwrap().is_empty());
}

pub async fn tokens_are_reused_until_they_near_expiry(store: Store) {
    store
        .put_credentials("Sample", &credentials())
        .await
        .unwrap();
    let (token, left) = store.issue_token(&op(), "token-one", 7200).await.unwrap();
    assert_eq!((token.as_str(), left), ("token-one", 7200));
    let (again, left) = store.issue_token(&op(), "token-two", 7200).await.unwrap();
    assert_eq!(again, "token-one", "an unexpired token is given again");
    assert!((7190..=7200).contains(&left), "{left}");
    assert_eq!(store.token_owner("token-one").await.unwrap(), Some(op()));
    assert_eq!(store.token_owner("token-two").await.unwrap(), None);
    // A token about to expire (within a minute) is replaced, and then no longer answers.
    let other = OperatorId::new("MA02D1QR8").unwrap();
    store
        .put_credentials(
            "Other",
            &OperatorCredentials {
                operator_id: other.clone(),
                ..credentials()
            },
        )
        .await
        .unwrap();
    store.issue_token(&other, "short", 30).await.unwrap();
    let (fresh, _) = store.issue_token(&other, "longer", 7200).await.unwrap();
    assert_eq!(fresh, "longer");
    assert_eq!(store.token_owner("short").await.unwrap(), None);
    assert_eq!(store.token_owner("longer").await.unwrap(), Some(other));
    // After a key rotation every token goes.
    assert_eq!(store.drop_tokens().await.unwrap(), 2);
    assert_eq!(store.token_owner("longer").await.unwrap(), None);
}

pub async fn grouped_pushes_keep_their_own_outcomes(store: Store) {
    store
        .upsert_stations(&[operator()], &[station("A", 2)])
        .await
        .unwrap();
    let interface = "notification_stationStatus";
    let good = [status("AE0C1", 100)];
    let unknown = [status("AE1C1", 100), status("NOPE", 100)];
    let other = [status("AE1C1", 101)];
    let results = store
        .apply_statuses_many(&[
            (&push(interface, "0001"), &good[..]),
            (&push(interface, "0002"), &unknown[..]),
            (&push(interface, "0001"), &good[..]),
            (&push(interface, "0003"), &other[..]),
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
    let stored = store.station_statuses(&key("A")).await.unwrap();
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
    assert!(store
        .apply_statuses(&push(interface, "0002"), &[status("AE1C1", 102)])
        .await
        .unwrap());
    // A single push: a repeat is acknowledged, not applied; an unknown connector refuses all.
    assert!(!store
        .apply_statuses(&push(interface, "0002"), &[status("AE1C1", 50)])
        .await
        .unwrap());
    let err = store
        .apply_statuses(
            &push(interface, "0004"),
            &[status("AE0C1", 200), status("NOPE", 200)],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unknown(_)), "{err}");
    let stored = store.station_statuses(&key("A")).await.unwrap();
    assert!(stored.iter().all(|s| s.observed_at <= 102), "{stored:?}");
}

pub async fn a_status_batch_keeps_the_newest_observation(store: Store) {
    store
        .upsert_stations(&[operator()], &[station("A", 2)])
        .await
        .unwrap();
    // A second operator's connectors are not in the catalogue; the status table takes them
    // (the OCPP side checks connectors before it writes).
    let other = OperatorId::new("MA02D1QR8").unwrap();
    // More rows than one INSERT statement holds, so the batch spans several statements.
    let mut batch: Vec<(OperatorId, StatusRecord)> = (0..450)
        .map(|i| (other.clone(), status(&format!("X{i:03}"), 500)))
        .collect();
    batch.push((op(), status("AE0C1", 200)));
    store.put_statuses_of_many(&batch).await.unwrap();
    store.put_statuses_of_many(&[]).await.unwrap();
    assert_eq!(store.operator_statuses(&other).await.unwrap().len(), 450);

    // An older observation does not overwrite a newer one; a newer one does.
    let older = status_at("AE0C1", ConnectorStatus::Available, 100);
    let newer = status_at("X000", ConnectorStatus::Faulted, 600);
    store
        .put_statuses_of_many(&[(op(), older.clone()), (other.clone(), newer)])
        .await
        .unwrap();
    let a = store.operator_statuses(&op()).await.unwrap();
    assert_eq!(
        (a[0].observed_at, a[0].status, a[0].source),
        (
            200,
            ConnectorStatus::Charging,
            evgrid_model::StatusSource::TcecPush
        )
    );
    let x = store.operator_statuses(&other).await.unwrap();
    let x0 = x.iter().find(|s| s.connector_id == "X000").unwrap();
    assert_eq!((x0.observed_at, x0.status), (600, ConnectorStatus::Faulted));

    // A pull: written only where nothing newer is stored; the count says how many.
    let pulled = StatusRecord {
        source: evgrid_model::StatusSource::TcecPull,
        ..status_at("AE1C1", ConnectorStatus::Available, 300)
    };
    assert_eq!(
        store
            .put_statuses(&op(), &[older, pulled.clone()])
            .await
            .unwrap(),
        1
    );
    let a = store.operator_statuses(&op()).await.unwrap();
    assert!(a.contains(&pulled), "{a:?}");
    assert!(a
        .iter()
        .any(|s| s.connector_id == "AE0C1" && s.observed_at == 200));
}

pub async fn status_counts_and_staleness(store: Store) {
    store
        .upsert_stations(&[operator()], &[station("A", 3)])
        .await
        .unwrap();
    store
        .put_statuses(
            &op(),
            &[
                status_at("AE0C1", ConnectorStatus::Available, 1_000),
                status_at("AE1C1", ConnectorStatus::Faulted, 9_500),
            ],
        )
        .await
        .unwrap();
    let (counts, stale) = store.status_counts(10_000, 900).await.unwrap();
    assert_eq!(
        counts,
        vec![
            ("available".to_owned(), 1),
            ("faulted".to_owned(), 1),
            ("unknown".to_owned(), 1)
        ]
    );
    assert_eq!(stale, 1, "AE0C1 was seen 9,000 s ago, the default is 900 s");
    // The operator's own interval counts where it has one.
    store
        .put_credentials(
            "Sample",
            &OperatorCredentials {
                stale_after_seconds: Some(20_000),
                ..credentials()
            },
        )
        .await
        .unwrap();
    assert_eq!(store.status_counts(10_000, 900).await.unwrap().1, 0);
    assert_eq!(
        store.operator_connector_status(&op(), 5_000).await.unwrap(),
        (3, 2, 1)
    );
}

pub async fn a_drivers_search_counts_the_connectors_asked_for(store: Store) {
    let mut mixed = station("A", 3);
    mixed.station.equipment[2].equipment_type = EquipmentType::AC;
    mixed.station.equipment[2].connectors[0].connector_type = evgrid_model::ConnectorType(3);
    mixed.station.equipment[2].connectors[0].power = Power::from_kw(7);
    mixed.station.business_hours = Some("00:00-24:00".into());
    let pks = store
        .upsert_stations(&[operator()], &[mixed, station("B", 1)])
        .await
        .unwrap();
    store
        .put_statuses(
            &op(),
            &[
                status_at("AE0C1", ConnectorStatus::Available, 9_900),
                status_at("AE1C1", ConnectorStatus::Available, 1_000),
                status_at("AE2C1", ConnectorStatus::Available, 9_900),
            ],
        )
        .await
        .unwrap();
    let live = store
        .station_live(&pks, 10_000, 900, &ConnectorCriteria::default())
        .await
        .unwrap();
    let a = live.iter().find(|l| l.pk == pks[0]).unwrap();
    assert_eq!((a.connectors, a.free, a.stale), (3, 2, 1));
    assert_eq!(a.business_hours.as_deref(), Some("00:00-24:00"));
    assert_eq!(a.tariff, vec![(0, 6123, 4000)]);
    let b = live.iter().find(|l| l.pk == pks[1]).unwrap();
    assert_eq!((b.connectors, b.free, b.stale), (1, 0, 0));
    let dc = ConnectorCriteria {
        dc: Some(true),
        ..Default::default()
    };
    let live = store
        .station_live(&pks[..1], 10_000, 900, &dc)
        .await
        .unwrap();
    assert_eq!((live[0].connectors, live[0].free), (2, 1), "free DC only");
    let fast = ConnectorCriteria {
        min_power_w: Some(50_000),
        connector_type: Some(4),
        ..Default::default()
    };
    let live = store
        .station_live(&pks[..1], 10_000, 900, &fast)
        .await
        .unwrap();
    assert_eq!((live[0].connectors, live[0].free), (2, 1));
    assert!(store
        .station_live(&[], 10_000, 900, &dc)
        .await
        .unwrap()
        .is_empty());
}

pub async fn session_messages_grouped_keep_their_own_outcomes(store: Store) {
    store
        .upsert_stations(&[operator()], &[station("A", 2)])
        .await
        .unwrap();
    let (good, unknown, later) = (
        charging("T1", "AE0C1", 100, 500),
        charging("T2", "NOPE", 100, 700),
        charging("T1", "AE0C1", 100, 900),
    );
    let results = store
        .apply_charging_sessions_many(&[
            (&push("ocpp", "1"), &good),
            (&push("ocpp", "2"), &unknown),
            (&push("ocpp", "1"), &good),
            (&push("ocpp", "3"), &later),
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
    let t1 = store.charging_session(&op(), "T1").await.unwrap().unwrap();
    assert_eq!(t1.energy, Some(WattHours(900)));
    assert!(store.charging_session(&op(), "T2").await.unwrap().is_none());
    // The refused message's key was not kept: corrected, it is applied.
    let fixed = charging("T2", "AE1C1", 100, 700);
    assert!(store
        .apply_charging_session(&push("ocpp", "2"), &fixed)
        .await
        .unwrap());
    // A session is on one connector: a message naming another is refused.
    let moved = charging("T2", "AE0C1", 100, 800);
    let err = store
        .apply_charging_session(&push("ocpp", "4"), &moved)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unknown(_)), "{err}");
}

pub async fn a_session_only_moves_forward_and_keeps_its_order(store: Store) {
    store
        .upsert_stations(&[operator()], &[station("A", 1)])
        .await
        .unwrap();
    let start = SessionUpdate {
        meter_start: Some(WattHours(12_000)),
        ..charging("S1", "AE0C1", 1_000, 0)
    };
    store
        .apply_charging_session(&push("a", "1"), &start)
        .await
        .unwrap();
    let order = SessionUpdate {
        state: Some(SessionState::Finished),
        ended_at: Some(2_000),
        energy: Some(WattHours(5_000)),
        electricity_money: Some(Fen(300)),
        service_money: Some(Fen(200)),
        total_money: Some(Fen(500)),
        is_order: true,
        periods: Some(vec![evgrid_model::ChargePeriod {
            starts_at: 1_000,
            ends_at: 2_000,
            electricity_price: evgrid_model::PricePerKwh(6_000),
            service_price: evgrid_model::PricePerKwh(4_000),
            energy: WattHours(5_000),
            electricity_money: Fen(300),
            service_money: Fen(200),
        }]),
        ..charging("S1", "AE0C1", 1_000, 5_000)
    };
    store
        .apply_charging_session(&push("a", "2"), &order)
        .await
        .unwrap();
    // A late sample neither reopens the session nor changes the billed figures.
    let late = SessionUpdate {
        state: Some(SessionState::Charging),
        ..charging("S1", "AE0C1", 1_000, 4_000)
    };
    assert!(store
        .apply_charging_session(&push("a", "3"), &late)
        .await
        .unwrap());
    let s = store.charging_session(&op(), "S1").await.unwrap().unwrap();
    assert_eq!(s.state, SessionState::Finished);
    assert_eq!(
        (s.energy, s.total_money, s.meter_start),
        (
            Some(WattHours(5_000)),
            Some(Fen(500)),
            Some(WattHours(12_000))
        )
    );
    assert!(s.order_received_at.is_some());
    assert_eq!(s.periods, order.periods.clone().unwrap());
    // A corrected order replaces the figures and the periods.
    let corrected = SessionUpdate {
        total_money: Some(Fen(450)),
        dispute: Some("corrected by the operator".into()),
        periods: Some(Vec::new()),
        ..order
    };
    store
        .apply_charging_session(&push("a", "4"), &corrected)
        .await
        .unwrap();
    let s = store.charging_session(&op(), "S1").await.unwrap().unwrap();
    assert_eq!(s.total_money, Some(Fen(450)));
    assert_eq!(s.dispute.as_deref(), Some("corrected by the operator"));
    assert!(s.periods.is_empty());
}

/// Issue 19 items 6 and 7: a message captured and replayed (here under the sibling interface
/// name, which makes it a new push) never sets a session's energy, money, periods or state back;
/// a reading beyond the connector's power and a time ahead of the server's are kept as the rule
/// says and the session is marked disputed, with a bounded text.
pub async fn a_replayed_or_implausible_message_never_undoes_a_newer_one(store: Store) {
    store
        .upsert_stations(&[operator()], &[station("A", 2)])
        .await
        .unwrap();
    let now = evgrid_model::time::unix_now();
    let sample = |wh: i64, fen: i64| SessionUpdate {
        total_money: Some(Fen(fen)),
        soc: Some(20.0 + wh as f64 / 1_000.0),
        periods: Some(vec![evgrid_model::ChargePeriod {
            starts_at: now - 3_600,
            ends_at: now,
            electricity_price: evgrid_model::PricePerKwh(6_000),
            service_price: evgrid_model::PricePerKwh(4_000),
            energy: WattHours(wh),
            electricity_money: Fen(fen),
            service_money: Fen(0),
        }]),
        ..charging("S1", "AE0C1", now - 3_600, wh)
    };
    let captured = sample(5_000, 500);
    store
        .apply_charging_session(&push("notification_equip_charge_status", "1"), &captured)
        .await
        .unwrap();
    store
        .apply_charging_session(
            &push("notification_equip_charge_status", "2"),
            &sample(10_000, 1_000),
        )
        .await
        .unwrap();
    let replay = SessionUpdate {
        state: Some(SessionState::Starting),
        ..captured
    };
    assert!(store
        .apply_charging_session(&push("notification_connector_charge_status", "1"), &replay)
        .await
        .unwrap());
    let s = store.charging_session(&op(), "S1").await.unwrap().unwrap();
    assert_eq!(
        (s.state, s.energy, s.total_money, s.soc),
        (
            SessionState::Charging,
            Some(WattHours(10_000)),
            Some(Fen(1_000)),
            Some(30.0)
        )
    );
    assert_eq!(s.periods[0].energy, WattHours(10_000));
    assert_eq!(s.dispute, None, "60 kW for an hour delivers 10 kWh: {s:?}");
    // Finished is final: a later "failed" does not replace it.
    for (i, state) in [SessionState::Finished, SessionState::Failed]
        .into_iter()
        .enumerate()
    {
        let end = SessionUpdate {
            state: Some(state),
            ended_at: Some(now),
            ..charging("S1", "AE0C1", now - 3_600, 10_000)
        };
        store
            .apply_charging_session(
                &push("notification_stop_charge_result", &i.to_string()),
                &end,
            )
            .await
            .unwrap();
    }
    let s = store.charging_session(&op(), "S1").await.unwrap().unwrap();
    assert_eq!(s.state, SessionState::Finished);

    // 900,000 kWh two minutes after the start on a 60 kW connector: kept, and disputed.
    for (seq, wh) in [("3", 900_000_000), ("4", 900_100_000)] {
        store
            .apply_charging_session(
                &push("notification_equip_charge_status", seq),
                &charging("S2", "AE1C1", now - 120, wh),
            )
            .await
            .unwrap();
    }
    let s = store.charging_session(&op(), "S2").await.unwrap().unwrap();
    assert_eq!(s.energy, Some(WattHours(900_100_000)));
    let why = s.dispute.unwrap_or_default();
    assert!(
        why.contains("more than the connector (60 kW) could deliver"),
        "{why}"
    );
    assert_eq!(
        why.matches("could deliver").count(),
        1,
        "one finding kept: {why}"
    );

    // A start stamped 2099 is the server's time of receipt.
    store
        .apply_charging_session(
            &push("notification_start_charge_result", "5"),
            &charging("S3", "BE0C1", 4_070_908_800, 0),
        )
        .await
        .unwrap_err();
    store
        .apply_charging_session(
            &push("notification_start_charge_result", "6"),
            &charging("S3", "AE0C1", 4_070_908_800, 0),
        )
        .await
        .unwrap();
    let s = store.charging_session(&op(), "S3").await.unwrap().unwrap();
    let started = s.started_at.unwrap_or_default();
    assert!((now..now + 60).contains(&started), "{started} vs {now}");
    assert!(
        s.dispute
            .as_deref()
            .unwrap_or_default()
            .contains("start time 2099-01-01T00:00:00Z was replaced"),
        "{s:?}"
    );
}

/// OCPP 2.0.1 lets a transaction start before its EVSE is known: the session is on the
/// charger's unbound connector (`CHARGER-0`) until the first message that names its connector,
/// and stays there after (issue 20: E_12, P_03).
pub async fn a_charger_session_is_bound_to_its_connector_once_known(store: Store) {
    let cp = Charger::new("CP9", op(), None, 2, Some("sha256$s$h".into()));
    store.put_charger(&cp).await.unwrap();
    let on = |connector: &str, seq: &str| {
        let update = SessionUpdate {
            session_ref: "CP9:T1".into(),
            connector_id: connector.into(),
            state: Some(SessionState::Charging),
            ..SessionUpdate::reported_by(Channel::Ocpp)
        };
        (push("ocpp", seq), update)
    };
    let (key, started) = on("CP9-0", "1");
    store.apply_charging_session(&key, &started).await.unwrap();
    let (key, bound) = on("CP9-1", "2");
    store.apply_charging_session(&key, &bound).await.unwrap();
    let s = store
        .charging_session(&op(), "CP9:T1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.connector_id, "CP9-1");
    let (key, elsewhere) = on("CP9-2", "3");
    assert!(matches!(
        store.apply_charging_session(&key, &elsewhere).await,
        Err(StoreError::Unknown(_))
    ));
    let s = store
        .charging_session(&op(), "CP9:T1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.connector_id, "CP9-1");
}

pub async fn recent_sessions_and_final_orders_in_one_read(store: Store) {
    store
        .upsert_stations(&[operator()], &[station("A", 2), station("B", 1)])
        .await
        .unwrap();
    for (i, (session, connector)) in [("S1", "AE0C1"), ("S2", "AE1C1"), ("S3", "BE0C1")]
        .into_iter()
        .enumerate()
    {
        let seq = format!("{i}");
        store
            .apply_charging_session(&push("a", &seq), &charging(session, connector, 100, 10))
            .await
            .unwrap();
    }
    let order = SessionUpdate {
        is_order: true,
        total_money: Some(Fen(77)),
        energy: Some(WattHours(1_234)),
        ..charging("S2", "AE1C1", 100, 1_234)
    };
    store
        .apply_charging_session(&push("a", "9"), &order)
        .await
        .unwrap();
    let recent = store
        .recent_charging_sessions(&op(), "AE", 10)
        .await
        .unwrap();
    let mut refs: Vec<&str> = recent.iter().map(|s| s.session_ref.as_str()).collect();
    refs.sort_unstable();
    assert_eq!(refs, ["S1", "S2"], "only the connectors with the prefix");
    assert_eq!(
        store
            .recent_charging_sessions(&op(), "", 1)
            .await
            .unwrap()
            .len(),
        1
    );
    let orders = store
        .final_orders(&op(), &["S1".into(), "S2".into(), "NOPE".into()])
        .await
        .unwrap();
    assert_eq!(orders, vec![None, Some((WattHours(1_234), Fen(77))), None]);
    assert!(store.final_orders(&op(), &[]).await.unwrap().is_empty());
    // Many sessions by key in one read, the same as one by one.
    let keys: Vec<(String, String)> = ["S3", "S2", "NOPE"]
        .iter()
        .map(|r| (OPERATOR.to_owned(), (*r).to_owned()))
        .collect();
    let mut many = store.charging_sessions(&keys).await.unwrap();
    many.sort_by(|a, b| a.session_ref.cmp(&b.session_ref));
    let s2 = store.charging_session(&op(), "S2").await.unwrap().unwrap();
    let s3 = store.charging_session(&op(), "S3").await.unwrap().unwrap();
    assert_eq!(many, vec![s2, s3]);
    assert!(store.charging_sessions(&[]).await.unwrap().is_empty());
}

pub async fn order_checks_are_recorded_once(store: Store) {
    let check = OrderCheck {
        check_ref: "CHK1".into(),
        period_start: "2026-01-01 00:00:00".into(),
        period_end: "2026-01-02 00:00:00".into(),
        order_count: 3,
        disputed: 1,
    };
    let interface = "check_charge_orders";
    assert!(store
        .record_order_check(&push(interface, "1"), &check)
        .await
        .unwrap());
    assert!(!store
        .record_order_check(&push(interface, "1"), &check)
        .await
        .unwrap());
    let before = store.fingerprint().await.unwrap();
    // The same check sent again as a new message replaces its figures.
    let again = OrderCheck {
        order_count: 4,
        ..check
    };
    assert!(store
        .record_order_check(&push(interface, "2"), &again)
        .await
        .unwrap());
    assert_eq!(
        store.fingerprint().await.unwrap(),
        before,
        "still one check"
    );
}

fn charge(id: &str, user_id: i64, key: &str, session_ref: &str, created_at: i64) -> Charge {
    Charge {
        id: id.into(),
        user_id,
        idempotency_key: key.into(),
        operator_id: OPERATOR.into(),
        connector_id: "AE0C1".into(),
        channel: Channel::Ocpp,
        session_ref: session_ref.into(),
        status: ChargeStatus::Requested,
        message: None,
        created_at,
    }
}

pub async fn charges_are_idempotent_by_key_and_linked_to_transactions(store: Store) {
    store
        .upsert_stations(&[operator()], &[station("A", 1)])
        .await
        .unwrap();
    let alice = store
        .add_user("alice", "hash", Role::Driver, None, 1)
        .await
        .unwrap();
    let bob = store
        .add_user("bob", "hash", Role::Driver, None, 1)
        .await
        .unwrap();
    let first = charge("c1", alice.id, "key-1", "EVG00000000000000001", 100);
    let (stored, new) = store.insert_charge(&first).await.unwrap().unwrap();
    assert!(new);
    assert_eq!(stored, first);
    // The same key again: the stored charge, not a new one.
    let repeat = charge("c2", alice.id, "key-1", "EVG00000000000000002", 101);
    let (stored, new) = store.insert_charge(&repeat).await.unwrap().unwrap();
    assert!(!new);
    assert_eq!(stored.id, "c1");
    // Another user's key of the same text is theirs; a taken session reference is refused.
    let taken = charge("c3", bob.id, "key-1", "EVG00000000000000001", 102);
    assert!(store.insert_charge(&taken).await.unwrap().is_none());
    let bobs = charge("c3", bob.id, "key-1", "EVG00000000000000003", 102);
    assert!(store.insert_charge(&bobs).await.unwrap().unwrap().1);

    store
        .set_charge_status("c1", ChargeStatus::Refused, Some("busy"))
        .await
        .unwrap();
    let c1 = store.charge("c1").await.unwrap().unwrap();
    assert_eq!(
        (c1.status, c1.message.as_deref()),
        (ChargeStatus::Refused, Some("busy"))
    );
    assert!(store.charge("nope").await.unwrap().is_none());

    // Linked to the charger's transaction by its tag, or by the tag's prefix.
    assert!(store
        .link_charge(&op(), "EVG00000000000000003", "AE0C1:17")
        .await
        .unwrap());
    assert!(!store
        .link_charge(&op(), "EVG00000000000000003", "AE0C1:18")
        .await
        .unwrap());
    let second = charge("c4", alice.id, "key-2", "EVG12345670000000000", 103);
    store.insert_charge(&second).await.unwrap();
    assert!(store
        .link_charge_by_prefix(&op(), "EVG1234567", "AE0C1:19")
        .await
        .unwrap());
    assert!(
        !store
            .link_charge_by_prefix(&op(), "EVG1234567", "AE0C1:20")
            .await
            .unwrap(),
        "a linked charge is not linked again"
    );
    assert_eq!(
        store.charge("c4").await.unwrap().unwrap().session_ref,
        "AE0C1:19"
    );

    // A user's charges, newest first, a page at a time; orders only where one arrived.
    let (page, total) = store.charges_of(alice.id, false, 0, 1).await.unwrap();
    assert_eq!((page[0].id.as_str(), total), ("c4", 2));
    let (page, _) = store.charges_of(alice.id, false, 1, 1).await.unwrap();
    assert_eq!(page[0].id, "c1");
    assert_eq!(store.charges_of(alice.id, true, 0, 10).await.unwrap().1, 0);
    let order = SessionUpdate {
        is_order: true,
        ..charging("AE0C1:19", "AE0C1", 100, 1_000)
    };
    store
        .apply_charging_session(&push("ocpp", "1"), &order)
        .await
        .unwrap();
    let (orders, total) = store.charges_of(alice.id, true, 0, 10).await.unwrap();
    assert_eq!((orders.len(), total, orders[0].id.as_str()), (1, 1, "c4"));
}

pub async fn reservations_hold_until_they_expire(store: Store) {
    let user = store
        .add_user("dora", "hash", Role::Driver, None, 1)
        .await
        .unwrap();
    let reservation = |id: &str, tag: &str, created_at: i64| Reservation {
        id: id.into(),
        user_id: user.id,
        operator_id: OPERATOR.into(),
        connector_id: "AE0C1".into(),
        id_tag: tag.into(),
        ocpp_id: 7,
        status: ReservationStatus::Requested,
        message: None,
        expires_at: 1_000,
        created_at,
    };
    let r1 = reservation("r1", "EVGTAG1", 100);
    assert!(store.insert_reservation(&r1).await.unwrap());
    assert!(
        !store
            .insert_reservation(&reservation("r2", "EVGTAG1", 101))
            .await
            .unwrap(),
        "a tag is one reservation's"
    );
    assert!(store
        .insert_reservation(&reservation("r2", "EVGTAG2", 101))
        .await
        .unwrap());
    assert_eq!(store.reservation("r1").await.unwrap(), Some(r1));
    assert!(store
        .active_reservation(user.id, OPERATOR, "AE0C1", 500)
        .await
        .unwrap()
        .is_none());
    store
        .set_reservation_status("r1", ReservationStatus::Reserved, None)
        .await
        .unwrap();
    let active = store
        .active_reservation(user.id, OPERATOR, "AE0C1", 500)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.id, "r1");
    assert!(store
        .active_reservation(user.id, OPERATOR, "AE0C1", 1_000)
        .await
        .unwrap()
        .is_none());
    store
        .set_reservation_status("r2", ReservationStatus::Refused, Some("Occupied"))
        .await
        .unwrap();
    let mine = store.reservations_of(user.id).await.unwrap();
    assert_eq!(
        mine.iter()
            .map(|r| (r.id.as_str(), r.status))
            .collect::<Vec<_>>(),
        [
            ("r2", ReservationStatus::Refused),
            ("r1", ReservationStatus::Reserved)
        ]
    );
    assert!(store.reservations_of(user.id + 1).await.unwrap().is_empty());
    // The charger reports the reservation it holds under 7 expired: r1 ends (r2, refused,
    // stays as it is); another charger's prefix or id ends nothing.
    assert!(!store
        .end_reservation_of_charger(OPERATOR, "BE", 7, "expired")
        .await
        .unwrap());
    assert!(!store
        .end_reservation_of_charger(OPERATOR, "AE", 8, "expired")
        .await
        .unwrap());
    assert!(store
        .end_reservation_of_charger(OPERATOR, "AE", 7, "the charger reports it expired")
        .await
        .unwrap());
    let r1 = store.reservation("r1").await.unwrap().unwrap();
    assert_eq!(
        (r1.status, r1.message.as_deref()),
        (
            ReservationStatus::Cancelled,
            Some("the charger reports it expired")
        )
    );
    assert_eq!(
        store.reservation("r2").await.unwrap().unwrap().status,
        ReservationStatus::Refused
    );
}

pub async fn accounts_and_logins(store: Store) {
    let reg = store
        .add_user("reg", "h1", Role::Regulator, None, 1)
        .await
        .unwrap();
    let op_user = store
        .add_user("opx", "h2", Role::Operator, Some(&op()), 2)
        .await
        .unwrap();
    let err = store
        .add_user("reg", "h3", Role::Driver, None, 3)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(
        store.users().await.unwrap(),
        vec![reg.clone(), op_user.clone()]
    );
    let (user, hash) = store.user_login("opx").await.unwrap().unwrap();
    assert_eq!((user, hash.as_str()), (op_user.clone(), "h2"));
    assert!(store.user_login("nobody").await.unwrap().is_none());

    store.add_login("t1", reg.id, 100, 1_000).await.unwrap();
    store.add_login("t2", reg.id, 100, 200).await.unwrap();
    assert_eq!(
        store.login_user("t1", 500).await.unwrap(),
        Some(reg.clone())
    );
    assert_eq!(store.login_user("t2", 500).await.unwrap(), None, "expired");
    assert!(store.end_login("t1").await.unwrap());
    assert!(!store.end_login("t1").await.unwrap());
    assert_eq!(store.login_user("t1", 500).await.unwrap(), None);

    // A new password ends the user's logins; removing the user ends them too.
    store.add_login("t3", reg.id, 100, 1_000).await.unwrap();
    assert!(store.set_password("reg", "h9").await.unwrap());
    assert_eq!(store.login_user("t3", 500).await.unwrap(), None);
    assert_eq!(store.user_login("reg").await.unwrap().unwrap().1, "h9");
    assert!(!store.set_password("nobody", "h").await.unwrap());
    store.add_login("t4", op_user.id, 100, 1_000).await.unwrap();
    assert!(store.remove_user("opx").await.unwrap());
    assert!(!store.remove_user("opx").await.unwrap());
    assert_eq!(store.login_user("t4", 500).await.unwrap(), None);
    assert_eq!(store.users().await.unwrap(), vec![reg]);
}

/// Chargers that connect unannounced are registered up to a bound, never over a registered one.
pub async fn unplaced_chargers_are_registered_up_to_a_bound(store: Store) {
    let placed = Charger::new("CP-P", op(), Some("A".into()), 2, Some("sha256$s$h".into()));
    store.put_charger(&placed).await.unwrap();
    for i in 0..3 {
        let c = Charger::new(format!("U{i}"), op(), None, 2, Some("sha256$s$u".into()));
        assert_eq!(
            store.register_unplaced_charger(&c, 2).await.unwrap(),
            i < 2,
            "charger {i}"
        );
    }
    // The id of a registered charger is not taken over.
    let thief = Charger::new("CP-P", op(), None, 2, Some("sha256$s$t".into()));
    assert!(!store.register_unplaced_charger(&thief, 100).await.unwrap());
    assert_eq!(store.charger("CP-P").await.unwrap(), Some(placed));
    assert!(store.charger("U2").await.unwrap().is_none());
    assert_eq!(store.chargers().await.unwrap().len(), 3);
    // Placing one at a station, or removing one, frees its place under the bound; taking a
    // charger off its station takes a place again.
    let unplaced = |id: &str| Charger::new(id, op(), None, 2, Some("sha256$s$u".into()));
    let u0_placed = Charger::new("U0", op(), Some("A".into()), 2, Some("sha256$s$u".into()));
    store.put_charger(&u0_placed).await.unwrap();
    assert!(store
        .register_unplaced_charger(&unplaced("U2"), 2)
        .await
        .unwrap());
    assert!(!store
        .register_unplaced_charger(&unplaced("U3"), 2)
        .await
        .unwrap());
    assert!(store.remove_charger("U1").await.unwrap());
    assert!(store
        .register_unplaced_charger(&unplaced("U3"), 2)
        .await
        .unwrap());
    store.put_charger(&unplaced("CP-P")).await.unwrap();
    assert!(store.remove_charger("U2").await.unwrap());
    assert!(!store
        .register_unplaced_charger(&unplaced("U4"), 2)
        .await
        .unwrap());
    assert!(store
        .register_unplaced_charger(&unplaced("U4"), 3)
        .await
        .unwrap());
}

pub async fn chargers_register_boot_and_number_transactions(store: Store) {
    let cp = Charger::new("CP-1", op(), Some("A".into()), 2, Some("salt$hash".into()));
    store.put_charger(&cp).await.unwrap();
    assert_eq!(store.charger("CP-1").await.unwrap(), Some(cp.clone()));
    assert_eq!(
        store
            .charger_booted("CP-1", "Vendor", "Model", Some("SN1"), None, "2.0.1")
            .await
            .unwrap(),
        Some(evgrid_model::Registration::Accepted)
    );
    assert_eq!(
        store
            .charger_booted("CP-9", "V", "M", None, None, "1.6")
            .await
            .unwrap(),
        None,
        "no such charger"
    );
    // Commissioning: pending until accepted, as the next boot is answered.
    for r in [
        evgrid_model::Registration::Pending,
        evgrid_model::Registration::Rejected,
        evgrid_model::Registration::Accepted,
    ] {
        assert!(store.set_charger_registration("CP-1", r).await.unwrap());
        assert_eq!(
            store.charger("CP-1").await.unwrap().unwrap().registration,
            r
        );
        assert_eq!(
            store
                .charger_booted("CP-1", "Vendor", "Model", Some("SN1"), None, "2.0.1")
                .await
                .unwrap(),
            Some(r)
        );
    }
    assert!(!store
        .set_charger_registration("CP-9", evgrid_model::Registration::Pending)
        .await
        .unwrap());
    // A password rotated in: beside the old one until promoted, then the only one.
    assert!(store
        .set_next_charger_password("CP-1", Some("salt$new"))
        .await
        .unwrap());
    let rotating = store.charger("CP-1").await.unwrap().unwrap();
    assert_eq!(
        (
            rotating.password_hash.as_deref(),
            rotating.next_password_hash.as_deref()
        ),
        (Some("salt$hash"), Some("salt$new"))
    );
    assert!(!store
        .promote_charger_password("CP-1", "salt$other")
        .await
        .unwrap());
    assert!(store
        .promote_charger_password("CP-1", "salt$new")
        .await
        .unwrap());
    let rotated = store.charger("CP-1").await.unwrap().unwrap();
    assert_eq!(
        (rotated.password_hash.as_deref(), rotated.next_password_hash),
        (Some("salt$new"), None)
    );
    assert!(store.set_next_charger_password("CP-1", None).await.unwrap());
    assert!(!store
        .set_next_charger_password("CP-9", Some("x"))
        .await
        .unwrap());
    // Security profiles: raised only upward when asked so, set either way otherwise.
    assert_eq!(
        store
            .charger("CP-1")
            .await
            .unwrap()
            .unwrap()
            .security_profile,
        1
    );
    assert!(store
        .set_charger_security_profile("CP-1", 3, true)
        .await
        .unwrap());
    assert!(!store
        .set_charger_security_profile("CP-1", 2, true)
        .await
        .unwrap());
    assert_eq!(
        store
            .charger("CP-1")
            .await
            .unwrap()
            .unwrap()
            .security_profile,
        3
    );
    assert!(store
        .set_charger_security_profile("CP-1", 2, false)
        .await
        .unwrap());
    assert_eq!(
        store
            .charger("CP-1")
            .await
            .unwrap()
            .unwrap()
            .security_profile,
        2
    );
    assert!(!store
        .set_charger_security_profile("CP-9", 3, false)
        .await
        .unwrap());
    // The platform's certificate authority: the first one stays unless replaced.
    assert_eq!(store.certificate_authority().await.unwrap(), None);
    let first = evgrid_model::StoredAuthority {
        certificate_pem: "-----BEGIN CERTIFICATE-----\nfirst".into(),
        key_sealed: "sealed:first".into(),
        created_at: 1_800_000_000,
    };
    let second = evgrid_model::StoredAuthority {
        certificate_pem: "-----BEGIN CERTIFICATE-----\nsecond".into(),
        key_sealed: "sealed:second".into(),
        created_at: 1_800_000_100,
    };
    assert!(store
        .put_certificate_authority(&first, false)
        .await
        .unwrap());
    assert!(!store
        .put_certificate_authority(&second, false)
        .await
        .unwrap());
    assert_eq!(store.certificate_authority().await.unwrap(), Some(first));
    assert!(store
        .put_certificate_authority(&second, true)
        .await
        .unwrap());
    assert_eq!(store.certificate_authority().await.unwrap(), Some(second));
    store.put_charger(&cp).await.unwrap();
    let mut pending = Charger::new("CP-8", op(), None, 1, None);
    pending.registration = evgrid_model::Registration::Pending;
    store.put_charger(&pending).await.unwrap();
    assert_eq!(store.charger("CP-8").await.unwrap(), Some(pending));
    store.remove_charger("CP-8").await.unwrap();
    let booted = store.charger("CP-1").await.unwrap().unwrap();
    assert_eq!(
        (
            booted.vendor.as_deref(),
            booted.serial.as_deref(),
            booted.firmware.as_deref(),
            booted.ocpp_version.as_deref()
        ),
        (Some("Vendor"), Some("SN1"), None, Some("2.0.1"))
    );
    assert!(booted.last_boot_at.is_some());
    // Registered again: the registration changes, what it said at boot stays.
    let moved = Charger::new("CP-1", op(), None, 1, None);
    store.put_charger(&moved).await.unwrap();
    let again = store.charger("CP-1").await.unwrap().unwrap();
    assert_eq!((again.connectors, again.station_id), (1, None));
    assert_eq!(again.vendor.as_deref(), Some("Vendor"));
    store
        .put_charger(&Charger::new("CP-0", op(), None, 1, None))
        .await
        .unwrap();
    let ids: Vec<String> = store
        .chargers()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["CP-0", "CP-1"]);
    let a = store.new_transaction_id("CP-1").await.unwrap();
    let b = store.new_transaction_id("CP-0").await.unwrap();
    assert!(b > a, "transaction ids are unique across chargers");
    assert!(store.remove_charger("CP-0").await.unwrap());
    assert!(!store.remove_charger("CP-0").await.unwrap());
    assert!(store.charger("CP-0").await.unwrap().is_none());
}

pub async fn a_chargers_notices_keep_the_latest_hundred(store: Store) {
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
    assert_eq!(notices.len(), evgrid_model::CHARGER_NOTICES_KEPT as usize);
    assert_eq!((notices[0].at, notices[0].detail.as_str()), (1104, "n104"));
    assert_eq!(notices[99].detail, "n5");
    assert_eq!(store.charger_notices("CP2").await.unwrap().len(), 1);
    assert!(store.charger_notices("CP3").await.unwrap().is_empty());
}

pub async fn regulator_statistics_add_up(store: Store) {
    use evgrid_model::ConnectorStatus::{Available, Faulted};
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
        Dimension::Township,
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
    let current = store.breakdown(Dimension::Current).await.unwrap();
    assert_eq!(
        current
            .iter()
            .map(|r| (r.key.clone().unwrap_or_default(), r.piles.public))
            .collect::<Vec<_>>(),
        [("ac".to_owned(), 3), ("dc".to_owned(), 2)]
    );

    // Status changes become events; a fault that was repaired counts with its length.
    for (connector, s, at) in [
        ("AE0C1", Available, 1000),
        ("AE0C1", Faulted, 2000),
        ("AE0C1", Faulted, 2500),
        ("AE0C1", Available, 5600),
        ("BE0C1", Faulted, 9000),
    ] {
        store
            .put_statuses(&op(), &[status_at(connector, s, at)])
            .await
            .unwrap();
    }
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
    let by_operator = store
        .faults(UsageKey::Operator, 0, 20_000, 10_000)
        .await
        .unwrap();
    assert_eq!((by_operator[0].faults, by_operator[0].connectors), (2, 5));

    // Snapshots: one per day, replaced within the day.
    let day = store.take_snapshot(1_767_225_600).await.unwrap(); // 2026-01-01 08:00 UTC+8
    assert_eq!(day, "2026-01-01");
    store.take_snapshot(1_767_225_700).await.unwrap();
    assert_eq!(
        store.take_snapshot(1_767_139_199).await.unwrap(),
        "2025-12-31"
    );
    let snaps = store.snapshots().await.unwrap();
    assert_eq!(
        snaps.iter().map(|s| s.day.as_str()).collect::<Vec<_>>(),
        ["2025-12-31", "2026-01-01"]
    );
    assert_eq!(snaps[1].piles.public, 5);
    assert_eq!(snaps[1].connectors.public, 5);

    // Usage: a finished session and a running one, clipped to the window.
    for (seq, connector, start, end, wh) in [
        ("S1", "AE1C1", 3_600, Some(7_200), 20_000),
        ("S2", "BE1C1", 9_000, None, 1_000),
    ] {
        let update = SessionUpdate {
            ended_at: end,
            ..charging(seq, connector, start, wh)
        };
        assert!(store
            .apply_charging_session(&push("notification_charge_order_info", seq), &update)
            .await
            .unwrap());
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
    let daily = store
        .usage(UsageKey::Operator, Bucket::Day, 0, 20_000, 10_000)
        .await
        .unwrap();
    assert_eq!(
        daily
            .iter()
            .map(|r| (r.bucket.as_str(), r.sessions, r.energy_wh))
            .collect::<Vec<_>>(),
        [("1970-01-01", 2, 21_000)]
    );
    let connectors = store.connectors_by(UsageKey::Operator).await.unwrap();
    assert_eq!(connectors, vec![(Some("MA01D1QR8".into()), 5)]);
}

pub async fn targets_and_progress(store: Store) {
    // The city's targets are there from the start, in the order they were added.
    let targets = store.targets().await.unwrap();
    assert!(targets
        .iter()
        .any(|t| t.id == "charging_piles" && t.value == 19_000.0));
    let new = Target {
        id: "zz_new".into(),
        name_zh: "新目标".into(),
        name_en: "A new target".into(),
        unit: "piles".into(),
        value: 100.0,
        baseline: 0.0,
        start_day: "2026-01-01".into(),
        deadline: "2026-12-31".into(),
        measure: "imported".into(),
        source: "test".into(),
        parent_id: Some("charging_piles".into()),
    };
    store.put_target(&new).await.unwrap();
    let changed = Target {
        value: 120.0,
        ..new.clone()
    };
    store.put_target(&changed).await.unwrap();
    let after = store.targets().await.unwrap();
    assert_eq!(after.len(), targets.len() + 1);
    assert_eq!(after.last(), Some(&changed));

    let row = |day: &str, value: f64| ProgressRow {
        target_id: "zz_new".into(),
        day: day.into(),
        value,
        source: "test".into(),
    };
    store
        .put_progress(&[row("2026-06-30", 40.0), row("2026-07-31", 55.0)])
        .await
        .unwrap();
    // The same target and day is replaced.
    store
        .put_progress(&[row("2026-06-30", 45.0)])
        .await
        .unwrap();
    let mut progress = store.progress().await.unwrap();
    progress.sort_by(|a, b| a.day.cmp(&b.day));
    assert_eq!(
        progress,
        vec![row("2026-06-30", 45.0), row("2026-07-31", 55.0)]
    );
}

pub async fn message_counts_add_up(store: Store) {
    let row = |interface: &str, ret: i32, count: i64, first_at: i64, last_at: i64| TrafficRow {
        operator_id: OPERATOR.into(),
        interface: interface.into(),
        ret,
        count,
        first_at,
        last_at,
    };
    store
        .add_traffic(&[
            row("notification_stationStatus", 0, 10, 100, 200),
            row("notification_stationStatus", 4001, 2, 150, 160),
        ])
        .await
        .unwrap();
    store
        .add_traffic(&[row("notification_stationStatus", 0, 5, 50, 180)])
        .await
        .unwrap();
    store.add_traffic(&[]).await.unwrap();
    let mut all = store.traffic().await.unwrap();
    all.sort_by_key(|r| r.ret);
    assert_eq!(
        all,
        vec![
            row("notification_stationStatus", 0, 15, 50, 200),
            row("notification_stationStatus", 4001, 2, 150, 160),
        ]
    );
}

/// Retention (issue 19 item 10): push keys, the status history and expired tokens are removed
/// by age; the last status event of a connector before the cut stays (the state its history
/// starts from).
pub async fn retention_prunes_by_age_and_keeps_where_history_starts(store: Store) {
    store
        .upsert_stations(&[operator()], &[station("A", 1)])
        .await
        .unwrap();
    let now = evgrid_model::time::unix_now();
    let first = push("notification_stationStatus", "0001");
    let at = |s, t| status_at("AE0C1", s, t);
    assert!(store
        .apply_statuses(&first, &[at(ConnectorStatus::Available, 100)])
        .await
        .unwrap());
    for (i, (s, t)) in [
        (ConnectorStatus::Faulted, 200),
        (ConnectorStatus::Available, 300),
        (ConnectorStatus::Faulted, 400),
    ]
    .into_iter()
    .enumerate()
    {
        let key = push("notification_stationStatus", &format!("{}", i + 2));
        store.apply_statuses(&key, &[at(s, t)]).await.unwrap();
    }
    store.issue_token(&op(), "old-token", 60).await.unwrap();
    let keep_all = evgrid_store::PruneBefore {
        push_keys: now - 3_600,
        status_events: 0,
        now,
    };
    assert_eq!(store.prune(&keep_all).await.unwrap(), Default::default());
    let pruned = store
        .prune(&evgrid_store::PruneBefore {
            push_keys: now + 1,
            status_events: 350,
            now: now + 120,
        })
        .await
        .unwrap();
    assert_eq!(
        (
            pruned.push_keys,
            pruned.status_events,
            pruned.expired_tokens
        ),
        (4, 1, 1),
        "{pruned:?}"
    );
    // The push key is gone: the same push is new again.
    assert!(store
        .apply_statuses(&first, &[at(ConnectorStatus::Faulted, 500)])
        .await
        .unwrap());
    assert_eq!(store.token_owner("old-token").await.unwrap(), None);
    // Nothing more to remove at the same cut.
    let again = store
        .prune(&evgrid_store::PruneBefore {
            push_keys: 0,
            status_events: 350,
            now: now + 120,
        })
        .await
        .unwrap();
    assert_eq!(again.status_events, 0);
}

pub async fn nodes_presence_and_leases(store: Store) {
    use evgrid_store::contract::Presence;
    let now = 1_800_000_000;
    store.node_alive("a", now).await.unwrap();
    store.node_alive("b", now).await.unwrap();
    let on = |node: &str, connection: i64| Presence {
        charger_id: "CP1".into(),
        node_id: node.into(),
        version: "1.6".into(),
        connection,
        since: now,
    };
    assert_eq!(store.charger_present(&on("a", 1)).await.unwrap(), None);
    assert_eq!(
        store.presence("CP1", now - 10).await.unwrap(),
        Some(on("a", 1))
    );
    // A newer connection on node b replaces a's and says whose it was.
    assert_eq!(
        store.charger_present(&on("b", 7)).await.unwrap(),
        Some(on("a", 1))
    );
    // a's connection ending does not clear b's presence.
    store.charger_absent("CP1", "a", 1).await.unwrap();
    assert_eq!(
        store.presence("CP1", now - 10).await.unwrap(),
        Some(on("b", 7))
    );
    // A node whose heartbeat is older than asked does not count.
    assert_eq!(store.presence("CP1", now + 1).await.unwrap(), None);
    store.node_alive("b", now + 20).await.unwrap();
    assert_eq!(
        store.stale_nodes(now + 5).await.unwrap(),
        vec!["a".to_owned()]
    );
    // Leases: one holder until it lapses; the holder renews.
    assert!(store.hold_lease("poller:X", "a", now, 30).await.unwrap());
    assert!(!store
        .hold_lease("poller:X", "b", now + 10, 30)
        .await
        .unwrap());
    assert!(store
        .hold_lease("poller:X", "a", now + 20, 30)
        .await
        .unwrap());
    assert!(!store
        .hold_lease("poller:X", "b", now + 49, 30)
        .await
        .unwrap());
    assert!(store
        .hold_lease("poller:X", "b", now + 51, 30)
        .await
        .unwrap());
    assert!(store.hold_lease("poller:Y", "a", now, 30).await.unwrap());
    // A node gone takes its presence and leases with it.
    assert_eq!(store.node_gone("b").await.unwrap(), 1);
    assert_eq!(store.presence("CP1", 0).await.unwrap(), None);
    assert!(store
        .hold_lease("poller:X", "a", now + 52, 30)
        .await
        .unwrap());
    assert_eq!(store.node_gone("a").await.unwrap(), 0);
    assert!(store.stale_nodes(now + 1_000_000).await.unwrap().is_empty());
    assert!(store
        .hold_lease("poller:Y", "b", now + 53, 30)
        .await
        .unwrap());
}

pub async fn the_database_is_ready(store: Store) {
    let ready = store.readiness().await.unwrap();
    assert!(ready.current(), "{ready:?}");
    assert!(ready.known >= 1);
    let (open, idle) = store.pool_connections();
    assert!(
        open >= 1 && idle <= open as usize,
        "{open} open, {idle} idle"
    );
}

fn superior(id: &str) -> evgrid_model::superior::Superior {
    evgrid_model::superior::Superior {
        id: id.into(),
        name: format!("superior {id}"),
        base_url: "http://127.0.0.1:9/evcs/v1/".into(),
        platform_operator_id: "EVGRID000".into(),
        operator_secret: "os".into(),
        data_secret: "ds".into(),
        data_secret_iv: "iv".into(),
        sig_secret: "ss".into(),
        profile: "{}".into(),
        created_at: 1_000,
    }
}

pub async fn superiors_get_every_fact_queued_once(store: Store) {
    use evgrid_model::superior::{Attempt, DisputedOrder, ReportKind, ReportOutcome};
    store
        .upsert_stations(&[operator()], &[station("A", 2)])
        .await
        .unwrap();
    store
        .apply_statuses(&push("s", "1"), &[status("AE0C1", 100)])
        .await
        .unwrap();
    // A new superior gets the first full report: every station and every reported status.
    assert!(store.put_superior(&superior("P1")).await.unwrap());
    assert!(
        !store.put_superior(&superior("P1")).await.unwrap(),
        "replaced, not new"
    );
    assert_eq!(store.superiors().await.unwrap(), vec![superior("P1")]);
    let due = store.due_reports("P1", i64::MAX, 100).await.unwrap();
    let mut kinds: Vec<(ReportKind, &str)> = due.iter().map(|i| (i.kind, i.key.as_str())).collect();
    kinds.sort_by_key(|k| (k.0.as_str(), k.1.to_owned()));
    assert_eq!(
        kinds,
        [(ReportKind::Station, "A"), (ReportKind::Status, "AE0C1")]
    );
    assert_eq!(store.next_due("P1").await.unwrap(), Some(0));
    // A status change while the item is pending is folded into it (sent once, as it is then).
    store
        .apply_statuses(
            &push("s", "2"),
            &[status_at("AE0C1", ConnectorStatus::Available, 200)],
        )
        .await
        .unwrap();
    let status_item = store
        .due_reports("P1", i64::MAX, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.kind == ReportKind::Status)
        .unwrap();
    assert_eq!(status_item.changes, 1);
    // Delivered with the count read before the change: stays pending, due now.
    let stale = evgrid_model::superior::OutboxItem {
        changes: 0,
        ..status_item.clone()
    };
    let attempt = Attempt {
        interface: "notify_status".into(),
        ret: Some(0),
        delivered: true,
        at_ms: 5_000,
    };
    store
        .settle_report(
            &stale,
            &ReportOutcome::Delivered { unchanged: false },
            Some(&attempt),
            None,
            5_000,
        )
        .await
        .unwrap();
    assert!(store
        .due_reports("P1", 0, 100)
        .await
        .unwrap()
        .iter()
        .any(|i| i.id == status_item.id));
    store
        .settle_report(
            &status_item,
            &ReportOutcome::Delivered { unchanged: false },
            Some(&attempt),
            None,
            6_000,
        )
        .await
        .unwrap();
    // An unchanged status writes nothing new; a change queues a new item.
    store
        .apply_statuses(
            &push("s", "3"),
            &[status_at("AE0C1", ConnectorStatus::Available, 300)],
        )
        .await
        .unwrap();
    let statuses = |items: Vec<evgrid_model::superior::OutboxItem>| {
        items
            .into_iter()
            .filter(|i| i.kind == ReportKind::Status)
            .count()
    };
    assert_eq!(
        statuses(store.due_reports("P1", i64::MAX, 100).await.unwrap()),
        0
    );
    store
        .apply_statuses(&push("s", "4"), &[status("AE1C1", 400)])
        .await
        .unwrap();
    assert_eq!(
        statuses(store.due_reports("P1", i64::MAX, 100).await.unwrap()),
        1
    );
    // The station: retried later, then delivered with its digest.
    let station_item = store
        .due_reports("P1", i64::MAX, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.kind == ReportKind::Station)
        .unwrap();
    let failed = Attempt {
        interface: "notify_station".into(),
        ret: None,
        delivered: false,
        at_ms: 7_000,
    };
    store
        .settle_report(
            &station_item,
            &ReportOutcome::RetryAt(60_000),
            Some(&failed),
            None,
            7_000,
        )
        .await
        .unwrap();
    assert!(store
        .due_reports("P1", 59_999, 100)
        .await
        .unwrap()
        .iter()
        .all(|i| i.id != station_item.id));
    let again = store
        .due_reports("P1", 60_000, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.id == station_item.id)
        .unwrap();
    assert_eq!(again.attempts, 1);
    // Postponed: due later, no attempt counted.
    store
        .settle_report(&again, &ReportOutcome::Postpone(65_000), None, None, 60_500)
        .await
        .unwrap();
    assert!(store
        .due_reports("P1", 64_999, 100)
        .await
        .unwrap()
        .iter()
        .all(|i| i.id != station_item.id));
    let again = store
        .due_reports("P1", 65_000, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.id == station_item.id)
        .unwrap();
    assert_eq!(again.attempts, 1);
    store
        .settle_report(
            &again,
            &ReportOutcome::Delivered { unchanged: false },
            Some(&Attempt {
                interface: "notify_station".into(),
                at_ms: 61_000,
                ..attempt.clone()
            }),
            Some("digest-1"),
            61_000,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .report_digest("P1", ReportKind::Station, OPERATOR, "A")
            .await
            .unwrap()
            .as_deref(),
        Some("digest-1")
    );
    // An order is queued once, when it arrives.
    store
        .apply_charging_session(&push("c", "1"), &charging("S1", "AE0C1", 100, 10))
        .await
        .unwrap();
    assert_eq!(store.running_sessions(0).await.unwrap().len(), 1);
    let order = SessionUpdate {
        is_order: true,
        state: Some(SessionState::Finished),
        ended_at: Some(500),
        total_money: Some(Fen(77)),
        ..charging("S1", "AE0C1", 100, 1_234)
    };
    store
        .apply_charging_session(&push("c", "2"), &order)
        .await
        .unwrap();
    assert!(store.running_sessions(0).await.unwrap().is_empty());
    let orders: Vec<_> = store
        .due_reports("P1", i64::MAX, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == ReportKind::Order)
        .collect();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].key, "S1");
    let ended = store.orders_ended_between(400, 600).await.unwrap();
    assert_eq!(ended.len(), 1);
    assert!(store
        .orders_ended_between(600, 700)
        .await
        .unwrap()
        .is_empty());
    store
        .settle_report(
            &orders[0],
            &ReportOutcome::GivenUp,
            Some(&failed),
            None,
            8_000,
        )
        .await
        .unwrap();
    // The daily check: once per day, whatever became of it.
    assert!(store
        .queue_once("P1", ReportKind::OrderCheck, "", "2026-12-01", 9_000)
        .await
        .unwrap());
    assert!(!store
        .queue_once("P1", ReportKind::OrderCheck, "", "2026-12-01", 9_500)
        .await
        .unwrap());
    // A full refresh queues every reported connector again.
    assert_eq!(
        store
            .queue_everything("P1", ReportKind::Status)
            .await
            .unwrap(),
        2
    );
    assert!(store
        .queue_everything("P1", ReportKind::Order)
        .await
        .is_err());
    store
        .count_attempt(
            "P1",
            &Attempt {
                interface: "notify_charge".into(),
                ret: Some(500),
                delivered: false,
                at_ms: 10_000,
            },
        )
        .await
        .unwrap();
    let figures = store.delivery("P1", 100).await.unwrap();
    assert_eq!(figures.last_success_ms, Some(61_000));
    let count = |interface: &str, ret: Option<i32>| {
        figures
            .attempts
            .iter()
            .find(|a| a.interface == interface && a.ret == ret)
            .map_or(0, |a| a.count)
    };
    assert_eq!(count("notify_status", Some(0)), 2);
    assert_eq!(count("notify_station", None), 2);
    assert_eq!(count("notify_station", Some(0)), 1);
    assert_eq!(count("notify_charge", Some(500)), 1);
    let backlog = |kind: &str| {
        figures
            .backlog
            .iter()
            .find(|b| b.kind == kind)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(backlog("order").given_up, 1);
    assert_eq!(backlog("status").delivered, 1);
    assert_eq!(backlog("status").pending, 2);
    assert_eq!(backlog("station").delivered, 1);
    assert!(backlog("order_check").oldest_pending_ms == Some(9_000));
    assert_eq!(figures.recent_lags_ms.len(), 2, "{figures:?}");
    // Disputes.
    let dispute = DisputedOrder {
        day: "2026-12-01".into(),
        operator_id: OPERATOR.into(),
        session_ref: "S1".into(),
        superior_ref: "EVGRID000XYZ".into(),
        reason: 2,
        at_ms: 11_000,
    };
    store
        .record_disputes("P1", std::slice::from_ref(&dispute))
        .await
        .unwrap();
    store
        .record_disputes("P1", std::slice::from_ref(&dispute))
        .await
        .unwrap();
    assert_eq!(store.disputes("P1", 10).await.unwrap(), vec![dispute]);
    // Pruning settled items keeps the pending ones.
    assert_eq!(store.prune_outbox(i64::MAX).await.unwrap(), 3);
    assert_eq!(
        store.due_reports("P1", i64::MAX, 100).await.unwrap().len(),
        3
    );
    // A driver's charge through evgrid: its start and its stop are queued, once each.
    let driver = store
        .add_user("driver", "hash", Role::Driver, None, 1)
        .await
        .unwrap();
    store
        .insert_charge(&charge(
            "d1",
            driver.id,
            "key-d1",
            "EVG00000000000000009",
            100,
        ))
        .await
        .unwrap();
    store
        .set_charge_status("d1", ChargeStatus::Started, None)
        .await
        .unwrap();
    store
        .set_charge_status("d1", ChargeStatus::StopRequested, None)
        .await
        .unwrap();
    store
        .set_charge_status("d1", ChargeStatus::StopRequested, None)
        .await
        .unwrap();
    let mut results: Vec<ReportKind> = store
        .due_reports("P1", i64::MAX, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.key == "d1")
        .map(|i| i.kind)
        .collect();
    results.sort_by_key(|k| k.as_str());
    assert_eq!(results, [ReportKind::StartResult, ReportKind::StopResult]);
    // Results and orders are read before the bulk of stations and statuses.
    let first = store.due_reports("P1", i64::MAX, 2).await.unwrap();
    assert!(
        first
            .iter()
            .all(|i| matches!(i.kind, ReportKind::StartResult | ReportKind::StopResult)),
        "{first:?}"
    );
    // A second superior gets its own first report; removing one leaves the other.
    assert!(store.put_superior(&superior("P2")).await.unwrap());
    assert!(store.remove_superior("P1").await.unwrap());
    assert!(!store.remove_superior("P1").await.unwrap());
    assert!(store
        .due_reports("P1", i64::MAX, 100)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.superiors().await.unwrap().len(), 1);
    assert!(!store
        .due_reports("P2", i64::MAX, 100)
        .await
        .unwrap()
        .is_empty());
}

pub async fn tokens_are_kept_replaced_listed_and_remember_their_sessions(store: Store) {
    use evgrid_model::{IdToken, TokenFilter, TokenKind, TokenStatus};
    use evgrid_store::TokensOf;
    store
        .add_user("erin", "hash", Role::Driver, None, 1)
        .await
        .unwrap();
    let card = |id: &str, owner: Option<&str>, operator: Option<OperatorId>| IdToken {
        id: id.into(),
        kind: TokenKind::Iso14443,
        status: TokenStatus::Accepted,
        expires_at: Some(2_000_000_000),
        group_id: Some("FLEET".into()),
        owner: owner.map(str::to_owned),
        operator_id: operator,
        label: Some("卡 1".into()),
        created_at: 100,
        updated_at: 100,
    };
    let counts = store
        .put_tokens(
            &[card("A1", Some("erin"), None), card("B2", None, Some(op()))],
            false,
        )
        .await
        .unwrap();
    assert_eq!((counts.inserted, counts.replaced, counts.kept), (2, 0, 0));
    assert_eq!(
        store.token("A1").await.unwrap().unwrap(),
        card("A1", Some("erin"), None),
        "a token reads back as stored, owner by name"
    );
    // Kept unless replacing; a replaced one keeps its creation time.
    let mut blocked = card("A1", Some("erin"), None);
    blocked.status = TokenStatus::Blocked;
    blocked.created_at = 500;
    blocked.updated_at = 500;
    let counts = store.put_tokens(&[blocked.clone()], false).await.unwrap();
    assert_eq!((counts.inserted, counts.kept), (0, 1));
    assert_eq!(
        store.token("A1").await.unwrap().unwrap().status,
        TokenStatus::Accepted
    );
    let counts = store.put_tokens(&[blocked.clone()], true).await.unwrap();
    assert_eq!(counts.replaced, 1);
    let stored = store.token("A1").await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.created_at, stored.updated_at),
        (TokenStatus::Blocked, 100, 500)
    );
    // An unknown owner stores nothing of the batch.
    let err = store
        .put_tokens(
            &[card("C3", None, None), card("D4", Some("nobody"), None)],
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unknown(_)), "{err:?}");
    assert!(store.token("C3").await.unwrap().is_none());
    // Filters and pages.
    let (all, total) = store.tokens(&TokenFilter::default(), 0, 10).await.unwrap();
    assert_eq!((all.len(), total), (2, 2));
    let by_operator = TokenFilter {
        operator_id: Some(op()),
        ..TokenFilter::default()
    };
    let (mine, total) = store.tokens(&by_operator, 0, 10).await.unwrap();
    assert_eq!((mine[0].id.as_str(), total), ("B2", 1));
    let erins = TokenFilter {
        owner: Some("erin".into()),
        status: Some(TokenStatus::Blocked),
        ..TokenFilter::default()
    };
    assert_eq!(store.tokens(&erins, 0, 10).await.unwrap().1, 1);
    let (page, total) = store.tokens(&TokenFilter::default(), 1, 1).await.unwrap();
    assert_eq!((page[0].id.as_str(), total), ("B2", 2));
    // A charger's local list: its operator's and the platform's tokens, no central tags.
    let mut tag = card("EVG0001", None, Some(op()));
    tag.kind = TokenKind::Central;
    let other = OperatorId::new("MA5DA0SP7").unwrap();
    store
        .put_tokens(&[tag, card("F6", None, Some(other.clone()))], false)
        .await
        .unwrap();
    let usable = |at: OperatorId| TokenFilter {
        usable_at: Some(at),
        ..TokenFilter::default()
    };
    let (here, _) = store.tokens(&usable(op()), 0, 10).await.unwrap();
    let ids: Vec<&str> = here.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["A1", "B2"]);
    let (there, _) = store.tokens(&usable(other), 0, 10).await.unwrap();
    let ids: Vec<&str> = there.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["A1", "F6"]);
    store.remove_token("EVG0001").await.unwrap();
    store.remove_token("F6").await.unwrap();
    // Sessions: the first token named for a session wins; by token and by owner, newest first.
    store.token_started("A1", &op(), "S1", 10).await.unwrap();
    store.token_started("A1", &op(), "S2", 20).await.unwrap();
    store.token_started("B2", &op(), "S2", 30).await.unwrap();
    store.token_started("B2", &op(), "S3", 40).await.unwrap();
    let (keys, total) = store
        .token_sessions(TokensOf::Token("A1"), 0, 10)
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(keys[0], (OPERATOR.to_owned(), "S2".to_owned()));
    let (keys, total) = store
        .token_sessions(TokensOf::Owner("erin"), 0, 1)
        .await
        .unwrap();
    assert_eq!((keys.len(), total), (1, 2));
    // Removing a token keeps its history; removing a user leaves the card without owner.
    assert!(store.remove_token("A1").await.unwrap());
    assert!(!store.remove_token("A1").await.unwrap());
    assert_eq!(
        store
            .token_sessions(TokensOf::Token("A1"), 0, 10)
            .await
            .unwrap()
            .1,
        2
    );
    store
        .put_tokens(&[card("E5", Some("erin"), None)], false)
        .await
        .unwrap();
    assert!(store.remove_user("erin").await.unwrap());
    assert_eq!(store.token("E5").await.unwrap().unwrap().owner, None);
}

pub async fn the_audit_log_is_appended_and_read_newest_first(store: Store) {
    use evgrid_model::{AuditEntry, AuditFilter};
    let line = |at: i64, actor: &str, action: &str, target: &str| AuditEntry {
        id: 0,
        at,
        actor: actor.into(),
        action: action.into(),
        target: target.into(),
        detail: format!("{action} on {target}"),
    };
    let mut ids = Vec::new();
    for (at, actor, action, target) in [
        (1_800_000_000, "user:ops", "charger.command", "CP-1"),
        (1_800_000_010, "cli", "operator.credentials", "MA0001"),
        (1_800_000_020, "user:ops", "charger.command", "CP-2"),
        (1_800_000_030, "user:adm", "charger.registration", "CP-1"),
    ] {
        ids.push(
            store
                .add_audit(&line(at, actor, action, target))
                .await
                .unwrap(),
        );
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let all = |f: AuditFilter| {
        let store = store.clone();
        async move {
            store
                .audit_log(&AuditFilter { limit: 10, ..f })
                .await
                .unwrap()
        }
    };
    let every = all(AuditFilter::default()).await;
    assert_eq!(every.len(), 4);
    assert_eq!(every[0].id, ids[3]);
    assert_eq!(
        every[3],
        AuditEntry {
            id: ids[0],
            ..line(1_800_000_000, "user:ops", "charger.command", "CP-1")
        }
    );
    let of_cp1 = all(AuditFilter {
        target: Some("CP-1".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        of_cp1.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["charger.registration", "charger.command"]
    );
    let by_ops = all(AuditFilter {
        actor: Some("user:ops".into()),
        since: Some(1_800_000_005),
        ..Default::default()
    })
    .await;
    assert_eq!(by_ops.len(), 1);
    assert_eq!(by_ops[0].target, "CP-2");
    let page = store
        .audit_log(&AuditFilter {
            before: Some(ids[2]),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, ids[1]);
}

/// Siting plans: at most so many pending (a stale heartbeat counts no more), updated, read
/// back, the newest done one found, the newest kept.
pub async fn plans_are_queued_bounded_updated_and_kept(store: Store) {
    use evgrid_store::{PlanLimits, PlanState};
    let limits = |alive_since| PlanLimits {
        most_pending: 2,
        alive_since,
        keep: 3,
    };
    let queue = |now: i64, alive_since: i64| {
        let store = store.clone();
        async move {
            store
                .queue_plan(
                    "reg",
                    "node-a",
                    r#"{"new_piles":10}"#,
                    now,
                    limits(alive_since),
                )
                .await
                .unwrap()
        }
    };
    let first = queue(100, 0).await.unwrap();
    let second = queue(101, 0).await.unwrap();
    assert_eq!(queue(102, 0).await, Err(2), "two pending: the third waits");
    let queued = store.plan(first).await.unwrap().unwrap();
    assert_eq!(
        (
            queued.owner.as_str(),
            queued.node_id.as_str(),
            queued.request.as_str()
        ),
        ("reg", "node-a", r#"{"new_piles":10}"#)
    );
    assert_eq!(
        (
            queued.state.status.as_str(),
            queued.created_at,
            queued.updated_at
        ),
        ("queued", 100, 100)
    );
    // The first runs, then is done with its result.
    let running = PlanState {
        status: "running".into(),
        progress: 0.5,
        phase: "solve".into(),
        objective: Some(1234.5),
        error: None,
        result: None,
    };
    store.update_plan(first, &running, 110).await.unwrap();
    let read = store.plan(first).await.unwrap().unwrap();
    assert_eq!(
        (read.state.clone(), read.updated_at),
        (running.clone(), 110)
    );
    assert_eq!(store.latest_done_plan().await.unwrap(), None);
    let done = PlanState {
        status: "done".into(),
        progress: 1.0,
        result: Some(r#"{"sites":[]}"#.into()),
        ..running
    };
    store.update_plan(first, &done, 120).await.unwrap();
    let running = PlanState {
        status: "running".into(),
        result: None,
        ..done.clone()
    };
    assert_eq!(
        store
            .latest_done_plan()
            .await
            .unwrap()
            .map(|p| (p.id, p.state)),
        Some((first, done.clone()))
    );
    store.update_plan(first, &running, 130).await.unwrap();
    assert_eq!(
        store
            .plan(first)
            .await
            .unwrap()
            .map(|p| (p.state, p.updated_at)),
        Some((done.clone(), 120)),
        "a late heartbeat does not undo the end"
    );
    // One pending now (the second): a third is queued, and runs.
    let third = queue(121, 0).await.unwrap();
    let third_running = PlanState {
        status: "running".into(),
        result: None,
        ..done.clone()
    };
    store.update_plan(third, &third_running, 190).await.unwrap();
    // The second's node stopped (no heartbeat since 101): it counts no more.
    let fourth = queue(200, 150).await.unwrap();
    assert_eq!(queue(201, 150).await, Err(2), "the third and the fourth");
    assert!(
        store.plan(first).await.unwrap().is_none(),
        "done, and older than the newest three: removed"
    );
    store.update_plan(fourth, &done, 202).await.unwrap();
    let fifth = queue(203, 150).await.unwrap();
    assert!(
        store.plan(second).await.unwrap().is_none(),
        "stale, and older than the newest three: removed"
    );
    for id in [third, fourth, fifth] {
        assert!(store.plan(id).await.unwrap().is_some(), "plan {id}");
    }
    assert_eq!(
        store.latest_done_plan().await.unwrap().map(|p| p.id),
        Some(fourth)
    );
    assert!(store.plan(9_999).await.unwrap().is_none());
}
