//! T/CEC `StationInfo` ⇄ domain `Station`, with validation.
//!
//! Input is validated whole: every problem of a record is reported with its field path, so an
//! operator can fix a file in one go. Lengths beyond the standard's maxima and values the
//! standard does not list but that do no harm (an unknown `Construction`, a `NationalStandard`
//! other than 1 or 2) are warnings; anything that would make the record wrong or ambiguous is an
//! error.

use std::collections::HashSet;

use evgrid_model::ids::validate_station_id;
use evgrid_model::{
    Connector, ConnectorType, CoordSystem, Equipment, EquipmentType, FieldError, LatLng,
    OperatorId, Power, PricePerKwh, Station, StationType, Tariff, TariffPeriod,
};
use serde_json::Value;

use crate::wire::{ConnectorInfo, EquipmentInfo, PolicyInfo, StationInfo};

/// How to read incoming records.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConvertOptions {
    /// The datum the operator's coordinates are in (GCJ-02 for Chinese operators).
    pub coords: CoordSystem,
}

/// A converted station and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Converted {
    pub station: Station,
    pub warnings: Vec<FieldError>,
}

/// Deserializes one `StationInfo`, naming the field when the JSON shape is wrong.
pub fn parse_station_info(value: &Value) -> Result<StationInfo, FieldError> {
    serde_path_to_error::deserialize::<_, StationInfo>(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        FieldError::new(field, e.into_inner().to_string())
    })
}

/// `StationStatus` values of §7.2.
const STATION_STATUSES: [i32; 5] = [0, 1, 5, 6, 50];
const MAX_EQUIPMENT_ID: usize = 23;
const MAX_CONNECTOR_ID: usize = 26;

struct Check {
    errors: Vec<FieldError>,
    warnings: Vec<FieldError>,
}

impl Check {
    fn error(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(FieldError::new(field, reason));
    }
    fn warn(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.warnings.push(FieldError::new(field, reason));
    }
    fn max_len(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.warn(
                field,
                format!("longer than the standard's {max} characters"),
            );
        }
    }
    fn required_text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.error(field, "must not be empty");
        }
        self.max_len(field, value, max);
    }
    fn id(&mut self, field: &str, value: &str, max: usize, seen: &mut HashSet<String>) {
        let len = value.chars().count();
        if len == 0 || len > max || value.chars().any(char::is_control) {
            self.error(
                field,
                format!("must be 1 to {max} characters without control characters"),
            );
        } else if !seen.insert(value.to_owned()) {
            self.error(field, format!("{value:?} appears twice in this station"));
        }
    }
    fn power(&mut self, field: &str, kw: f64) -> Power {
        match Power::from_kw_f64(kw) {
            Some(p) => {
                if p > Power::from_kw(2000) {
                    self.warn(field, format!("{kw} kW is implausibly high"));
                }
                p
            }
            None => {
                self.error(
                    field,
                    "must be a non-negative number of kW with at most 3 decimals",
                );
                Power(0)
            }
        }
    }
    fn non_negative(&mut self, field: &str, value: i32) -> u32 {
        u32::try_from(value).unwrap_or_else(|_| {
            self.error(field, "must not be negative");
            0
        })
    }
}

fn optional(text: &Option<String>) -> Option<String> {
    text.as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Converts a wire station to the domain, validating every field.
pub fn station_from_wire(
    info: &StationInfo,
    options: ConvertOptions,
) -> Result<Converted, Vec<FieldError>> {
    let mut c = Check {
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let operator_id = match OperatorId::new(&info.operator_id) {
        Ok(id) => Some(id),
        Err(e) => {
            c.error("OperatorID", e.to_string());
            None
        }
    };
    if let Err(e) = validate_station_id(&info.station_id) {
        c.error("StationID", e.to_string());
    }
    c.required_text("StationName", &info.station_name, 50);
    c.max_len("Address", &info.address, 50);
    c.max_len("ServiceTel", &info.service_tel, 30);
    let six_digits =
        info.area_code.len() == 6 && info.area_code.bytes().all(|b| b.is_ascii_digit());
    if !info.area_code.is_empty() && !six_digits {
        c.warn("AreaCode", "expected a 6-digit GB/T 2260 division code");
    }
    let station_type = StationType(info.station_type);
    if !station_type.is_known() {
        c.error(
            "StationType",
            format!(
                "{} is not a StationType (1, 50, 100, 101, 102, 103 or 255)",
                info.station_type
            ),
        );
    }
    if !STATION_STATUSES.contains(&info.station_status) {
        c.error(
            "StationStatus",
            format!(
                "{} is not a StationStatus (0, 1, 5, 6 or 50)",
                info.station_status
            ),
        );
    }
    if info.park_nums < 0 {
        c.error("ParkNums", "must not be negative");
    }
    if !(1..=11).contains(&info.construction) && info.construction != 255 {
        c.warn(
            "Construction",
            format!(
                "{} is not in the standard's list; kept as sent",
                info.construction
            ),
        );
    }
    let raw = LatLng::new(info.station_lat, info.station_lng);
    let location = match raw.validate() {
        Err(reason) => {
            c.error("StationLat/StationLng", reason);
            raw
        }
        Ok(_) if info.station_lat == 0.0 && info.station_lng == 0.0 => {
            c.error(
                "StationLat/StationLng",
                "(0, 0) is not a station position; coordinates missing?",
            );
            raw
        }
        Ok(p) => p.to_wgs84(options.coords),
    };
    let country_code = match info.country_code.trim() {
        "86" => "CN".to_owned(),
        "" => {
            c.error("CountryCode", "must not be empty");
            String::new()
        }
        other => other.to_owned(),
    };

    let mut equipment_ids = HashSet::new();
    let mut connector_ids = HashSet::new();
    let equipment = info
        .equipment_infos
        .iter()
        .enumerate()
        .map(|(i, e)| {
            equipment_from_wire(
                e,
                &format!("EquipmentInfos[{i}]"),
                &mut c,
                &mut equipment_ids,
                &mut connector_ids,
            )
        })
        .collect();

    let tariff = info
        .policy_infos
        .as_ref()
        .and_then(|p| tariff_from_wire(p, &mut c));

    let support_order = match info.support_order {
        None | Some(0) => false,
        Some(1) => true,
        Some(other) => {
            c.error("SupportOrder", format!("{other} is not 0 or 1"));
            false
        }
    };

    match operator_id {
        Some(operator_id) if c.errors.is_empty() => Ok(Converted {
            station: Station {
                operator_id,
                id: info.station_id.clone(),
                name: info.station_name.trim().to_owned(),
                station_type,
                status: info.station_status,
                location,
                address: info.address.clone(),
                area_code: info.area_code.clone(),
                equipment_owner_id: info.equipment_owner_id.clone(),
                country_code,
                service_tel: info.service_tel.clone(),
                station_tel: optional(&info.station_tel),
                park_nums: info.park_nums,
                construction: info.construction,
                site_guide: optional(&info.site_guide),
                business_hours: optional(&info.busine_hours),
                electricity_fee_text: optional(&info.electricity_fee),
                service_fee_text: optional(&info.service_fee),
                park_fee: optional(&info.park_fee),
                payment: optional(&info.payment),
                support_order,
                remark: optional(&info.remark),
                tariff,
                equipment,
            },
            warnings: c.warnings,
        }),
        _ => Err(c.errors),
    }
}

fn equipment_from_wire(
    e: &EquipmentInfo,
    path: &str,
    c: &mut Check,
    equipment_ids: &mut HashSet<String>,
    connector_ids: &mut HashSet<String>,
) -> Equipment {
    c.id(
        &format!("{path}.EquipmentID"),
        &e.equipment_id,
        MAX_EQUIPMENT_ID,
        equipment_ids,
    );
    if !(1..=5).contains(&e.equipment_type) {
        c.error(
            format!("{path}.EquipmentType"),
            format!(
                "{} is not an EquipmentType (1 DC, 2 AC, 3 AC/DC, 4 wireless, 5 other)",
                e.equipment_type
            ),
        );
    }
    let power = c.power(&format!("{path}.Power"), e.power);
    if e.connector_infos.is_empty() {
        c.warn(
            format!("{path}.ConnectorInfos"),
            "a pile without connectors",
        );
    }
    let connectors = e
        .connector_infos
        .iter()
        .enumerate()
        .map(|(j, k)| {
            connector_from_wire(k, &format!("{path}.ConnectorInfos[{j}]"), c, connector_ids)
        })
        .collect();
    Equipment {
        id: e.equipment_id.clone(),
        name: optional(&e.equipment_name),
        equipment_type: EquipmentType(e.equipment_type),
        power,
        manufacturer_name: optional(&e.manufacturer_name),
        model: optional(&e.equipment_model),
        production_date: optional(&e.production_date),
        connectors,
    }
}

fn connector_from_wire(
    k: &ConnectorInfo,
    path: &str,
    c: &mut Check,
    connector_ids: &mut HashSet<String>,
) -> Connector {
    c.id(
        &format!("{path}.ConnectorID"),
        &k.connector_id,
        MAX_CONNECTOR_ID,
        connector_ids,
    );
    if !(1..=7).contains(&k.connector_type) {
        c.warn(
            format!("{path}.ConnectorType"),
            format!(
                "{} is not in the standard's list; read as other",
                k.connector_type
            ),
        );
    }
    if !(1..=2).contains(&k.national_standard) {
        c.warn(
            format!("{path}.NationalStandard"),
            format!("{} is neither 1 (2011) nor 2 (2015)", k.national_standard),
        );
    }
    let voltage_upper_v = c.non_negative(
        &format!("{path}.VoltageUpperLimits"),
        k.voltage_upper_limits,
    );
    let voltage_lower_v = c.non_negative(
        &format!("{path}.VoltageLowerLimits"),
        k.voltage_lower_limits,
    );
    if voltage_lower_v > voltage_upper_v {
        c.error(
            format!("{path}.VoltageLowerLimits"),
            "is above VoltageUpperLimits",
        );
    }
    Connector {
        id: k.connector_id.clone(),
        name: optional(&k.connector_name),
        connector_type: ConnectorType(k.connector_type),
        national_standard: k.national_standard,
        power: c.power(&format!("{path}.Power"), k.power),
        voltage_upper_v,
        voltage_lower_v,
        current_a: c.non_negative(&format!("{path}.Current"), k.current),
        park_no: optional(&k.park_no),
    }
}

/// Parses `HHmmss` into seconds after midnight.
pub fn parse_hhmmss(text: &str) -> Option<u32> {
    if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| text[r].parse::<u32>().ok();
    let (h, m, s) = (n(0..2)?, n(2..4)?, n(4..6)?);
    (h < 24 && m < 60 && s < 60).then_some(h * 3600 + m * 60 + s)
}

fn tariff_from_wire(policies: &[PolicyInfo], c: &mut Check) -> Option<Tariff> {
    let before = c.errors.len();
    let mut periods = Vec::with_capacity(policies.len());
    for (i, p) in policies.iter().enumerate() {
        let path = format!("PolicyInfos[{i}]");
        let start = parse_hhmmss(&p.start_time);
        if start.is_none() {
            c.error(format!("{path}.StartTime"), "must be HHmmss");
        }
        let price = |c: &mut Check, field: &str, v: f64| match PricePerKwh::from_yuan_f64(v) {
            Some(p) if p.0 >= 0 => p,
            _ => {
                c.error(
                    format!("{path}.{field}"),
                    "must be a non-negative yuan amount with at most 4 decimals",
                );
                PricePerKwh(0)
            }
        };
        let electricity = price(c, "ElecPrice", p.elec_price);
        let service = price(c, "SevicePrice", p.sevice_price);
        periods.push(TariffPeriod {
            start_second: start.unwrap_or(0),
            electricity,
            service,
        });
    }
    if c.errors.len() > before {
        return None;
    }
    match Tariff::new(periods) {
        Ok(t) => Some(t),
        Err(e) => {
            c.error("PolicyInfos", e.to_string());
            None
        }
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn seconds_to_hhmmss(s: u32) -> String {
    format!("{:02}{:02}{:02}", s / 3600, (s / 60) % 60, s % 60)
}

fn price_to_wire(p: PricePerKwh) -> f64 {
    // The exact decimal text "0.6123" read as a JSON number.
    p.yuan_text().parse().unwrap_or(0.0)
}

fn kw(p: Power) -> f64 {
    p.kw_text().parse().unwrap_or(0.0)
}

/// Converts a domain station to the wire, with coordinates in `coords` at 6 decimals.
pub fn station_to_wire(s: &Station, coords: CoordSystem) -> StationInfo {
    let p = s.location.from_wgs84(coords);
    StationInfo {
        station_id: s.id.clone(),
        operator_id: s.operator_id.to_string(),
        equipment_owner_id: s.equipment_owner_id.clone(),
        station_name: s.name.clone(),
        country_code: s.country_code.clone(),
        area_code: s.area_code.clone(),
        address: s.address.clone(),
        station_tel: s.station_tel.clone(),
        service_tel: s.service_tel.clone(),
        station_type: s.station_type.0,
        station_status: s.status,
        park_nums: s.park_nums,
        station_lng: round6(p.lng),
        station_lat: round6(p.lat),
        site_guide: s.site_guide.clone(),
        construction: s.construction,
        pictures: None,
        match_cars: None,
        park_info: None,
        busine_hours: s.business_hours.clone(),
        electricity_fee: s.electricity_fee_text.clone(),
        service_fee: s.service_fee_text.clone(),
        park_fee: s.park_fee.clone(),
        payment: s.payment.clone(),
        support_order: Some(i32::from(s.support_order)),
        remark: s.remark.clone(),
        equipment_infos: s
            .equipment
            .iter()
            .map(|e| EquipmentInfo {
                equipment_id: e.id.clone(),
                manufacturer_id: None,
                manufacturer_name: e.manufacturer_name.clone(),
                equipment_model: e.model.clone(),
                production_date: e.production_date.clone(),
                equipment_type: e.equipment_type.0,
                connector_infos: e
                    .connectors
                    .iter()
                    .map(|k| ConnectorInfo {
                        connector_id: k.id.clone(),
                        connector_name: k.name.clone(),
                        connector_type: k.connector_type.0,
                        voltage_upper_limits: i32::try_from(k.voltage_upper_v).unwrap_or(i32::MAX),
                        voltage_lower_limits: i32::try_from(k.voltage_lower_v).unwrap_or(i32::MAX),
                        current: i32::try_from(k.current_a).unwrap_or(i32::MAX),
                        power: kw(k.power),
                        park_no: k.park_no.clone(),
                        national_standard: k.national_standard,
                    })
                    .collect(),
                equipment_lng: None,
                equipment_lat: None,
                power: kw(e.power),
                equipment_name: e.name.clone(),
            })
            .collect(),
        policy_infos: s.tariff.as_ref().map(|t| {
            t.periods
                .iter()
                .map(|p| PolicyInfo {
                    start_time: seconds_to_hhmmss(p.start_second),
                    elec_price: price_to_wire(p.electricity),
                    sevice_price: price_to_wire(p.service),
                })
                .collect()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        serde_json::from_str(include_str!("../tests/fixtures/station_info.json")).unwrap()
    }

    #[test]
    fn a_valid_station_converts_and_round_trips() {
        let info = parse_station_info(&sample()).unwrap();
        let converted = station_from_wire(
            &info,
            ConvertOptions {
                coords: CoordSystem::Gcj02,
            },
        )
        .unwrap();
        let s = &converted.station;
        assert_eq!(s.operator_id.as_str(), "MA01D1QR8");
        assert_eq!(s.equipment.len(), 2);
        assert_eq!(s.connector_count(), 3);
        assert_eq!(s.tariff.as_ref().unwrap().periods.len(), 3);
        assert_eq!(
            s.tariff.as_ref().unwrap().periods[1].electricity,
            PricePerKwh(9123)
        );
        // GCJ-02 in, WGS-84 inside: a few hundred metres apart.
        let d =
            evgrid_model::distance_m(s.location, LatLng::new(info.station_lat, info.station_lng));
        assert!((100.0..1000.0).contains(&d));
        let back = station_to_wire(s, CoordSystem::Gcj02);
        assert_eq!(back.station_lat, info.station_lat);
        assert_eq!(back.station_lng, info.station_lng);
        assert_eq!(back.policy_infos, info.policy_infos);
        assert_eq!(back.equipment_infos, info.equipment_infos);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut v = sample();
        v["OperatorID"] = "bad".into();
        v["StationType"] = 7.into();
        v["StationLat"] = 95.0.into();
        v["EquipmentInfos"][1]["EquipmentID"] = v["EquipmentInfos"][0]["EquipmentID"].clone();
        v["EquipmentInfos"][0]["ConnectorInfos"][0]["Power"] = (-1.0).into();
        v["PolicyInfos"][1]["StartTime"] = "250000".into();
        let info = parse_station_info(&v).unwrap();
        let errors = station_from_wire(&info, ConvertOptions::default()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "OperatorID",
                "StationType",
                "StationLat/StationLng",
                "EquipmentInfos[0].ConnectorInfos[0].Power",
                "EquipmentInfos[1].EquipmentID",
                "PolicyInfos[1].StartTime"
            ]
        );
    }

    #[test]
    fn shape_errors_name_the_field() {
        let mut v = sample();
        v["EquipmentInfos"][0]["Power"] = "sixty".into();
        let e = parse_station_info(&v).unwrap_err();
        assert_eq!(e.field, "EquipmentInfos[0].Power");
        let mut v = sample();
        v.as_object_mut().unwrap().remove("StationName");
        let e = parse_station_info(&v).unwrap_err();
        assert!(e.reason.contains("StationName"), "{e}");
    }

    #[test]
    fn hhmmss() {
        assert_eq!(parse_hhmmss("000000"), Some(0));
        assert_eq!(parse_hhmmss("235959"), Some(86_399));
        assert_eq!(parse_hhmmss("240000"), None);
        assert_eq!(parse_hhmmss("0800"), None);
        assert_eq!(seconds_to_hhmmss(8 * 3600 + 30 * 60), "083000");
    }
}
