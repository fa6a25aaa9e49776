//! Wire structures of T/CEC 102.2 (public information), field for field as the standard spells
//! them. Unknown fields are tolerated on input (operators add their own).

use serde::{Deserialize, Serialize};

/// `StationInfo` (§6.1): one station with its equipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationInfo {
    #[serde(rename = "StationID")]
    pub station_id: String,
    #[serde(rename = "OperatorID")]
    pub operator_id: String,
    #[serde(rename = "EquipmentOwnerID")]
    pub equipment_owner_id: String,
    #[serde(rename = "StationName")]
    pub station_name: String,
    #[serde(rename = "CountryCode")]
    pub country_code: String,
    #[serde(rename = "AreaCode")]
    pub area_code: String,
    #[serde(rename = "Address")]
    pub address: String,
    #[serde(
        rename = "StationTel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub station_tel: Option<String>,
    #[serde(rename = "ServiceTel")]
    pub service_tel: String,
    #[serde(rename = "StationType")]
    pub station_type: i32,
    #[serde(rename = "StationStatus")]
    pub station_status: i32,
    #[serde(rename = "ParkNums")]
    pub park_nums: i32,
    #[serde(rename = "StationLng")]
    pub station_lng: f64,
    #[serde(rename = "StationLat")]
    pub station_lat: f64,
    #[serde(rename = "SiteGuide", default, skip_serializing_if = "Option::is_none")]
    pub site_guide: Option<String>,
    #[serde(rename = "Construction")]
    pub construction: i32,
    #[serde(rename = "Pictures", default, skip_serializing_if = "Option::is_none")]
    pub pictures: Option<Vec<String>>,
    #[serde(rename = "MatchCars", default, skip_serializing_if = "Option::is_none")]
    pub match_cars: Option<String>,
    #[serde(rename = "ParkInfo", default, skip_serializing_if = "Option::is_none")]
    pub park_info: Option<String>,
    #[serde(
        rename = "BusineHours",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub busine_hours: Option<String>,
    #[serde(
        rename = "ElectricityFee",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub electricity_fee: Option<String>,
    #[serde(
        rename = "ServiceFee",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub service_fee: Option<String>,
    #[serde(rename = "ParkFee", default, skip_serializing_if = "Option::is_none")]
    pub park_fee: Option<String>,
    #[serde(rename = "Payment", default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<String>,
    #[serde(
        rename = "SupportOrder",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub support_order: Option<i32>,
    #[serde(rename = "Remark", default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    #[serde(rename = "EquipmentInfos")]
    pub equipment_infos: Vec<EquipmentInfo>,
    /// Extension, not in the standard's StationInfo: the station's time-of-use tariff in the
    /// shape of `query_equip_business_policy`'s `PolicyInfos`, so that a directory file carries
    /// a machine-readable price. Operators that do not send it are priced by
    /// `query_equip_business_policy` instead.
    #[serde(
        rename = "PolicyInfos",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub policy_infos: Option<Vec<PolicyInfo>>,
}

/// `EquipmentInfo` (§6.2): a pile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquipmentInfo {
    #[serde(rename = "EquipmentID")]
    pub equipment_id: String,
    #[serde(
        rename = "ManufacturerID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub manufacturer_id: Option<String>,
    #[serde(
        rename = "ManufacturerName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub manufacturer_name: Option<String>,
    #[serde(
        rename = "EquipmentModel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub equipment_model: Option<String>,
    #[serde(
        rename = "ProductionDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub production_date: Option<String>,
    #[serde(rename = "EquipmentType")]
    pub equipment_type: i32,
    #[serde(rename = "ConnectorInfos")]
    pub connector_infos: Vec<ConnectorInfo>,
    #[serde(
        rename = "EquipmentLng",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub equipment_lng: Option<f64>,
    #[serde(
        rename = "EquipmentLat",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub equipment_lat: Option<f64>,
    #[serde(rename = "Power")]
    pub power: f64,
    #[serde(
        rename = "EquipmentName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub equipment_name: Option<String>,
}

/// `ConnectorInfo` (§6.3): a gun or socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    #[serde(
        rename = "ConnectorName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connector_name: Option<String>,
    #[serde(rename = "ConnectorType")]
    pub connector_type: i32,
    #[serde(rename = "VoltageUpperLimits")]
    pub voltage_upper_limits: i32,
    #[serde(rename = "VoltageLowerLimits")]
    pub voltage_lower_limits: i32,
    #[serde(rename = "Current")]
    pub current: i32,
    #[serde(rename = "Power")]
    pub power: f64,
    #[serde(rename = "ParkNo", default, skip_serializing_if = "Option::is_none")]
    pub park_no: Option<String>,
    #[serde(rename = "NationalStandard")]
    pub national_standard: i32,
}

/// `PolicyInfo` (§6.7): one tariff period. `SevicePrice` is the standard's spelling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyInfo {
    /// Period start, `HHmmss`.
    #[serde(rename = "StartTime")]
    pub start_time: String,
    /// Electricity price, yuan/kWh, 4 decimals.
    #[serde(rename = "ElecPrice")]
    pub elec_price: f64,
    /// Service price, yuan/kWh, 4 decimals.
    #[serde(rename = "SevicePrice")]
    pub sevice_price: f64,
}

/// The business `Data` of a `query_stations_info` answer (§5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryStationsInfoResult {
    #[serde(rename = "PageNo")]
    pub page_no: i32,
    #[serde(rename = "PageCount")]
    pub page_count: i32,
    #[serde(rename = "ItemSize")]
    pub item_size: i32,
    #[serde(rename = "StationInfos")]
    pub station_infos: Vec<StationInfo>,
}
