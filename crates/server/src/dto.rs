//! The JSON shapes of the API, with their OpenAPI schemas.

use evgrid_model::{Category, CoordSystem, LatLng, PricePerKwh};
use evgrid_model::{CategoryCounts, StationSummary};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use crate::RegionNames;

/// A price in fen per kWh, written as an exact decimal JSON number (e.g. `61.23`).
#[derive(Debug, Clone, Copy)]
pub struct Fen(pub PricePerKwh);

impl Serialize for Fen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.whole_fen() {
            Some(whole) => s.serialize_i64(whole),
            // The shortest float text of n/100 is exactly the two-decimal value.
            None => s.serialize_f64(self.0 .0 as f64 / 100.0),
        }
    }
}

/// A point in the requested coordinate system.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Point {
    pub lat: f64,
    pub lng: f64,
}

/// Rounds to 6 decimals (about 0.1 m), as T/CEC does.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A WGS-84 point converted to `coord` and rounded.
pub fn point(p: LatLng, coord: CoordSystem) -> Point {
    let q = p.from_wgs84(coord);
    Point {
        lat: round6(q.lat),
        lng: round6(q.lng),
    }
}

/// A station in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationItem {
    /// The station's API id, `OPERATORID:STATIONID`.
    #[schema(example = "EVGSYN001:P000001")]
    pub id: String,
    pub operator_id: String,
    /// The operator's own station id.
    pub station_id: String,
    pub name: String,
    #[schema(value_type = String, example = "public")]
    pub category: Category,
    /// T/CEC StationType (1 public, 50 personal, 100 bus, 101 sanitation, 102 logistics, 103 taxi, 255 other).
    pub station_type: i32,
    pub lat: f64,
    pub lng: f64,
    /// County code (GB/T 2260), null outside the city.
    pub county: Option<String>,
    pub county_name: Option<String>,
    /// Township code (9 digits), null outside the city.
    pub township: Option<String>,
    pub township_name: Option<String>,
    /// False for stations outside every county of the city (kept, but flagged).
    pub inside_city: bool,
    pub piles: i64,
    pub connectors: i64,
}

impl StationItem {
    /// From a stored summary, with region names.
    pub fn new(s: StationSummary, names: &RegionNames) -> Self {
        Self {
            id: s.key.to_string(),
            operator_id: s.key.operator_id.to_string(),
            station_id: s.key.station_id.clone(),
            name: s.name,
            category: s.category,
            station_type: s.station_type,
            lat: round6(s.lat),
            lng: round6(s.lng),
            county_name: s
                .county_code
                .as_ref()
                .and_then(|c| names.counties.get(c).cloned()),
            county: s.county_code,
            township_name: s
                .township_code
                .as_ref()
                .and_then(|c| names.townships.get(c).cloned()),
            township: s.township_code,
            inside_city: s.inside_city,
            piles: s.piles,
            connectors: s.connectors,
        }
    }
}

/// A page of results.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationPage {
    pub items: Vec<StationItem>,
    /// Matching stations over all pages.
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// Counts by the city's categories.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ByCategory {
    pub total: i64,
    pub public: i64,
    pub dedicated: i64,
    pub private: i64,
}

impl From<CategoryCounts> for ByCategory {
    fn from(c: CategoryCounts) -> Self {
        Self {
            total: c.total(),
            public: c.public,
            dedicated: c.dedicated,
            private: c.private,
        }
    }
}
