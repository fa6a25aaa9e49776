//! Administrative regions: county-level units and townships (乡镇/街道).

use serde::{Deserialize, Serialize};

use crate::LatLng;

/// A county-level unit (县/区/县级市) with its seat and, where known, its population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct County {
    /// 6-digit GB/T 2260 code, e.g. `360702`.
    pub code: String,
    pub name_zh: String,
    pub name_pinyin: String,
    /// 区, 县 or 市.
    pub kind: String,
    pub seat: LatLng,
    pub area_km2: f64,
    /// 2020 census resident population (or the reference data's estimate, see `population_estimated`).
    pub population: Option<u64>,
    pub population_estimated: bool,
}

/// A township-level unit (街道, 镇, 乡) with a representative point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Township {
    /// 9-digit code, e.g. `360702001`.
    pub code: String,
    pub name_zh: String,
    pub county_code: String,
    /// 街道, 镇, 乡 or other.
    pub kind: String,
    pub centre: LatLng,
    /// How the point was obtained (`county_seat_government`, `geonames_*`, `estimated_farthest_point`).
    pub centre_method: String,
    pub population: Option<u64>,
}
