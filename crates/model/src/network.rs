//! The registry as it is read back: stations placed in their regions, in lists, in the spatial
//! index, and counted by category and region.

use crate::{Category, Station, StationKey};

/// A station with where the region rules placed it, ready to store.
#[derive(Debug, Clone)]
pub struct PlacedStation {
    pub station: Station,
    pub county_code: Option<String>,
    pub township_code: Option<String>,
    /// `nearest_centre` or `polygon`.
    pub township_method: Option<&'static str>,
    pub inside_city: bool,
}

/// One station as the spatial index needs it.
#[derive(Debug, Clone)]
pub struct IndexRow {
    pub pk: i64,
    pub key: StationKey,
    pub name: String,
    pub category: Category,
    pub lat: f64,
    pub lng: f64,
    /// (connector type, power in W) of every connector.
    pub connectors: Vec<(i32, u32)>,
}

/// A station in a list.
#[derive(Debug, Clone)]
pub struct StationSummary {
    pub pk: i64,
    pub key: StationKey,
    pub name: String,
    pub station_type: i32,
    pub category: Category,
    pub lat: f64,
    pub lng: f64,
    pub county_code: Option<String>,
    pub township_code: Option<String>,
    pub inside_city: bool,
    pub piles: i64,
    pub connectors: i64,
}

/// A station with everything stored about it.
#[derive(Debug, Clone)]
pub struct StationRecord {
    pub summary: StationSummary,
    pub station: Station,
    pub township_method: Option<String>,
    pub updated_at: i64,
}

/// Filters of the station list; `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct StationListFilter {
    pub county_code: Option<String>,
    pub township_code: Option<String>,
    pub operator_id: Option<String>,
    pub category: Option<Category>,
}

/// Piles, stations and connectors counted by category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CategoryCounts {
    pub public: i64,
    pub dedicated: i64,
    pub private: i64,
}

impl CategoryCounts {
    /// All categories together.
    pub fn total(&self) -> i64 {
        self.public + self.dedicated + self.private
    }

    /// Adds `n` to one category.
    pub fn add(&mut self, category: Category, n: i64) {
        match category {
            Category::Public => self.public += n,
            Category::Dedicated => self.dedicated += n,
            Category::Private => self.private += n,
        }
    }
}

/// Counts for one group (the whole city, a county, a township).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub piles: CategoryCounts,
    pub stations: CategoryCounts,
    pub connectors: CategoryCounts,
}

/// Counts per region code; `None` holds stations outside every county.
#[derive(Debug, Clone, Default)]
pub struct RegionCounts {
    pub city: Counts,
    pub by_county: Vec<(Option<String>, Counts)>,
    pub by_township: Vec<(Option<String>, Counts)>,
}
