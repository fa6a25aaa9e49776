//! The data the cases store: one operator's stations with DC piles of one connector each, and
//! statuses, pushes and session messages about them.

use evgrid_model::{
    Channel, Connector, ConnectorStatus, ConnectorType, Equipment, EquipmentType, LatLng, Operator,
    OperatorId, PlacedStation, Power, PricePerKwh, PushId, SessionState, SessionUpdate, Station,
    StationType, StatusRecord, StatusSource, Tariff, TariffPeriod, WattHours,
};

/// The operator of every fixture station.
pub const OPERATOR: &str = "MA01D1QR8";

/// Station `id` with `piles` DC piles `{id}E{i}`, each with one connector `{id}E{i}C1`.
pub fn station(id: &str, piles: usize) -> PlacedStation {
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

/// The fixture operator.
pub fn operator() -> Operator {
    Operator {
        id: OperatorId::new("MA01D1QR8").unwrap(),
        name: "Sample".into(),
    }
}

/// A charging status of `connector` observed at `at`, as pushed.
pub fn status(connector: &str, at: i64) -> StatusRecord {
    status_at(connector, ConnectorStatus::Charging, at)
}

/// A status of `connector` observed at `at`, as pushed.
pub fn status_at(connector: &str, s: ConnectorStatus, at: i64) -> StatusRecord {
    StatusRecord {
        connector_id: connector.into(),
        status: s,
        raw_status: 3,
        park_status: None,
        lock_status: None,
        observed_at: at,
        source: StatusSource::TcecPush,
    }
}

/// The identity of a push of the fixture operator.
pub fn push(interface: &'static str, seq: &str) -> PushId {
    PushId {
        operator_id: OperatorId::new(OPERATOR).unwrap(),
        interface,
        time_stamp: "20260101000000".into(),
        seq: seq.into(),
    }
}

/// A message of session `session` on `connector`: charging since `started`, `wh` so far.
pub fn charging(session: &str, connector: &str, started: i64, wh: i64) -> SessionUpdate {
    SessionUpdate {
        session_ref: session.into(),
        connector_id: connector.into(),
        state: Some(SessionState::Charging),
        started_at: Some(started),
        energy: Some(WattHours(wh)),
        ..SessionUpdate::reported_by(Channel::Ocpp)
    }
}
