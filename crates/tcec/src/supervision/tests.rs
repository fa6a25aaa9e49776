use super::*;
use evgrid_model::{ChargePeriod, PricePerKwh, StatusSource};

fn session() -> ChargingSession {
    ChargingSession {
        operator_id: "MA01D1QR8".into(),
        session_ref: "MA01D1QR8202401051600040007".into(),
        connector_id: "AE0C1".into(),
        state: SessionState::Finished,
        started_at: Some(1_704_441_604),
        ended_at: Some(1_704_445_204),
        updated_at: 1_704_445_204,
        energy: Some(WattHours(30_500)),
        soc: Some(80.0),
        electricity_money: Some(Fen(1_830)),
        service_money: Some(Fen(610)),
        total_money: Some(Fen(2_440)),
        stop_reason: Some(0),
        fail_reason: None,
        order_received_at: Some(1_704_445_210),
        dispute: None,
        meter_start: Some(WattHours(1_000_000)),
        periods: vec![ChargePeriod {
            starts_at: 1_704_441_604,
            ends_at: 1_704_445_204,
            electricity_price: PricePerKwh(6_000),
            service_price: PricePerKwh(2_000),
            energy: WattHours(30_500),
            electricity_money: Fen(1_830),
            service_money: Fen(610),
        }],
    }
}

fn place() -> Place {
    Place {
        operator_id: "MA01D1QR8".into(),
        station_id: "A".into(),
        equipment_id: "AE0".into(),
        equipment_owner_id: "MA01D1QR8".into(),
        connector_power_w: 60_000,
        category: "public".into(),
        county_code: Some("360702".into()),
    }
}

#[test]
fn shipped_profiles_are_valid_and_round_trip_as_json() {
    for p in [Profile::standard(), Profile::provincial()] {
        p.check().unwrap();
        assert_eq!(Profile::from_json(&p.to_json()).unwrap(), p);
        assert_eq!(Profile::builtin(&p.name).unwrap(), p);
    }
    assert!(Profile::builtin("zhejiang").is_err());
}

#[test]
fn a_bad_profile_names_every_problem() {
    let mut p = Profile::standard();
    p.interfaces.charge_order = Some("notification charge".into());
    p.retry_seconds = vec![0];
    p.in_flight = 0;
    p.delivered_rets = vec![4004];
    let e = p.check().unwrap_err().to_string();
    for part in [
        "interfaces.charge_order",
        "at least one second",
        "in_flight",
        "4001 to 4004",
    ] {
        assert!(e.contains(part), "{e}");
    }
    let unknown =
        Profile::from_json(r#"{"name":"x","interfaces":{},"retry_seconds":[1],"colour":1}"#)
            .unwrap_err()
            .to_string();
    assert!(unknown.contains("colour"), "{unknown}");
}

#[test]
fn retries_follow_the_schedule_then_the_repeat_or_give_up() {
    let mut p = Profile::standard();
    p.retry_seconds = vec![15, 30];
    p.then_every_seconds = Some(3600);
    assert_eq!(p.retry_after(1), Some(15));
    assert_eq!(p.retry_after(2), Some(30));
    assert_eq!(p.retry_after(3), Some(3600));
    p.then_every_seconds = None;
    assert_eq!(p.retry_after(3), None);
}

#[test]
fn superior_refs_are_27_characters_of_the_sender_and_stable() {
    let a = superior_ref("EVGRID000", "MA01D1QR8", "S1");
    assert_eq!(a.len(), 27);
    assert!(a.starts_with("EVGRID000"));
    crate::business::check_seq("StartChargeSeq", &a).unwrap();
    assert_eq!(a, superior_ref("EVGRID000", "MA01D1QR8", "S1"));
    assert_ne!(a, superior_ref("EVGRID000", "MA01D1QR8", "S2"));
    assert_ne!(a, superior_ref("EVGRID000", "MA01D1QR9", "S1"));
}

#[test]
fn an_order_adds_up_as_the_platform_side_checks_it() {
    let p = Profile::provincial();
    let body = order_report(&p, "EVGRID000", &session(), &place());
    let order: ChargeOrder = serde_json::from_value(body.clone()).unwrap();
    let update = crate::business::session_from_order(&order).unwrap();
    assert_eq!(update.dispute, None, "{body}");
    assert_eq!(update.energy, Some(WattHours(30_500)));
    assert_eq!(update.total_money, Some(Fen(2_440)));
    assert_eq!(body["OperatorID"], "MA01D1QR8");
    assert_eq!(body["ConnectorPower"], 60.0);
    assert_eq!(body["ChargeLast"], 3600);
    assert_eq!(body["MeterValueEnd"], 1030.5);
    let standard = order_report(&Profile::standard(), "EVGRID000", &session(), &place());
    assert!(standard.get("ChargeLast").is_none());
}

#[test]
fn a_charge_sample_reads_back_on_the_platform_side() {
    let mut s = session();
    s.state = SessionState::Charging;
    s.ended_at = None;
    let body = charge_status_report(
        &Profile::standard(),
        "EVGRID000",
        &s,
        &place(),
        1_704_443_000,
    );
    let status: ChargeStatus = serde_json::from_value(body).unwrap();
    let u = crate::business::session_from_status(&status).unwrap();
    assert_eq!(u.state, Some(SessionState::Charging));
    assert_eq!(u.energy, Some(WattHours(30_500)));
}

#[test]
fn status_and_station_payloads() {
    let record = StatusRecord {
        connector_id: "AE0C1".into(),
        status: ConnectorStatus::Faulted,
        raw_status: 255,
        park_status: None,
        lock_status: None,
        observed_at: 1,
        source: StatusSource::Ocpp,
    };
    let v = status_report(&Profile::standard(), &record, &place());
    assert_eq!(v["ConnectorStatusInfo"]["Status"], 255);
    assert_eq!(v["ConnectorStatusInfo"]["StationID"], "A");
    let mut p = Profile::standard();
    p.extensions.operator_fields = false;
    assert!(status_report(&p, &record, &place())["ConnectorStatusInfo"]
        .get("StationID")
        .is_none());
}

#[test]
fn answers_are_judged_by_the_profile() {
    let p = Profile::provincial();
    let ok = |v: Value| Ok(serde_json::to_vec(&v).unwrap());
    assert_eq!(
        judge(&p, Report::ChargeOrder, &ok(json!({"ConfirmResult": 0}))).verdict,
        Verdict::Delivered
    );
    assert!(matches!(
        judge(&p, Report::ChargeOrder, &ok(json!({"ConfirmResult": 1}))).verdict,
        Verdict::Retry(_)
    ));
    let refused = |ret| {
        Err(ClientError::Refused {
            ret,
            msg: "x".into(),
        })
    };
    assert_eq!(
        judge(&p, Report::ChargeOrder, &refused(4015)).verdict,
        Verdict::Delivered
    );
    assert!(matches!(
        judge(&Profile::standard(), Report::ChargeOrder, &refused(4015)).verdict,
        Verdict::Retry(_)
    ));
    assert!(matches!(
        judge(&p, Report::StationStatus, &refused(4004)).verdict,
        Verdict::Refused(_)
    ));
    assert!(matches!(
        judge(&p, Report::StationStatus, &refused(4001)).verdict,
        Verdict::Retry(_)
    ));
    let timeout = judge(
        &p,
        Report::StationStatus,
        &Err(ClientError::Timeout(std::time::Duration::from_secs(1))),
    );
    assert_eq!(timeout.ret, None);
    let check = judge(
        &p,
        Report::CheckOrders,
        &ok(
            json!({"CheckOrderSeq": "EVGRID000202612010000000001", "StartTime": "2026-12-01 00:00:00",
            "EndTime": "2026-12-01 23:59:59", "TotalDisputeOrder": 1, "TotalDisputePower": 1.0,
            "TotalDisputeMoney": 1.0, "DisputeOrders": [{"StartChargeSeq": "EVGRID000AAAAAAAAAAAAAAAAAA",
            "TotalPower": 1.0, "TotalMoney": 1.0, "DisputeReason": 2}]}),
        ),
    );
    assert_eq!(check.verdict, Verdict::Delivered);
    assert_eq!(
        check.disputes,
        vec![("EVGRID000AAAAAAAAAAAAAAAAAA".to_owned(), 2)]
    );
}

#[test]
fn a_check_lists_every_order_with_totals() {
    let (body, listed) = check_report("EVGRID000", 1_764_518_400, 1_764_604_800, &[session()], 1);
    let check: CheckChargeOrders = serde_json::from_value(body).unwrap();
    assert_eq!(check.order_count, 1);
    assert_eq!(
        check.charge_orders[0].start_charge_seq,
        listed[0].superior_ref
    );
    assert_eq!(check.total_order_money, 24.4);
    assert_eq!(check.end_time, "2025-12-01 23:59:59");
    crate::business::check_seq("CheckOrderSeq", &check.check_order_seq).unwrap();
}

#[test]
fn power_adds_up_from_connectors_to_stations() {
    let mut other = place();
    other.equipment_id = "AE1".into();
    let connectors = [
        ConnectorPower {
            place: place(),
            connector_id: "AE0C1".into(),
            kw: 30.5,
        },
        ConnectorPower {
            place: place(),
            connector_id: "AE0C2".into(),
            kw: 20.25,
        },
        ConnectorPower {
            place: other,
            connector_id: "AE1C1".into(),
            kw: 7.0,
        },
    ];
    let v = power_report(&connectors, 1_704_441_604);
    let stations = v["SupStationPowerInfos"].as_array().unwrap();
    assert_eq!(stations.len(), 1);
    assert_eq!(stations[0]["StationRealTimePower"], 57.75);
    assert_eq!(stations[0]["DataTime"], "2024-01-05 16:00:04");
    let equipment = stations[0]["EquipmentPowerInfos"].as_array().unwrap();
    assert_eq!(equipment[0]["EquipRealTimePower"], 50.75);
    assert_eq!(
        equipment[0]["ConnectorPowerInfos"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(equipment[1]["EquipRealTimePower"], 7.0);
    assert!(Profile::standard()
        .wire_name(Report::RealtimePower)
        .is_none());
    assert_eq!(
        Profile::provincial().wire_name(Report::RealtimePower),
        Some("notification_realtime_power_info")
    );
}

#[test]
fn a_scope_takes_the_stations_it_names() {
    let all = Scope::default();
    assert!(place().in_scope(&all));
    let scope = Scope {
        operators: vec!["MA01D1QR8".into()],
        categories: vec!["public".into(), "dedicated".into()],
        counties: vec!["3607".into()],
    };
    assert!(place().in_scope(&scope));
    let mut private = place();
    private.category = "private".into();
    assert!(!private.in_scope(&scope));
    let mut elsewhere = place();
    elsewhere.county_code = Some("360102".into());
    assert!(!elsewhere.in_scope(&scope));
    let mut unplaced = place();
    unplaced.county_code = None;
    assert!(
        !unplaced.in_scope(&scope),
        "outside every county when counties are named"
    );
    let mut p = Profile::standard();
    p.scope.categories = vec!["all".into()];
    p.scope.counties = vec!["36a".into()];
    let e = p.check().unwrap_err().to_string();
    assert!(
        e.contains("scope.categories") && e.contains("scope.counties"),
        "{e}"
    );
}
