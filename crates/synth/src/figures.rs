//! The city's reported figures, measured on a generated network, so that the manifest says what
//! the files reproduce.

use std::collections::HashSet;

use evgrid_geo::reference::{ReferenceData, CITY_AREA_KM2};
use evgrid_geo::regions::is_township_kind;
use evgrid_geo::{EntryAttrs, Filter, RegionMap, SpatialIndex};
use evgrid_model::{Category, LatLng};
use serde::Serialize;

use crate::Network;

/// What a network reproduces of the city's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub public_stations: usize,
    /// sqrt(city area / (π · public stations)), km, over the official 39,379.64 km².
    pub planning_radius_km: f64,
    pub townships: usize,
    /// Townships (by nearest centre within the county) holding at least one public station.
    pub townships_with_public_station: usize,
    pub hotspots: usize,
    pub hotspots_with_public_station_within_1km: usize,
    /// Largest distance from any point of Zhangjiang New District (boundary vertices and a
    /// 61 × 61 grid inside) to its nearest public station, metres.
    pub zhangjiang_max_distance_m: f64,
    pub stations_outside_city: usize,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl Network {
    /// Measures the figures on the real geography.
    pub fn figures(&self, data: &ReferenceData) -> Figures {
        let regions = RegionMap::new(data);
        let public: Vec<LatLng> = self
            .stations
            .iter()
            .filter(|s| s.category() == Category::Public)
            .map(|s| s.location)
            .collect();
        let index = SpatialIndex::build(public.iter().enumerate().map(|(i, p)| {
            let attrs = EntryAttrs {
                category: Category::Public,
                operator: 0,
                connectors: Vec::new(),
            };
            (i, *p, attrs)
        }));
        let nearest = |p: LatLng| {
            index
                .nearest(p, 1, None, &Filter::default())
                .first()
                .map_or(f64::INFINITY, |h| h.distance_m)
        };
        let covered: HashSet<String> = public
            .iter()
            .filter_map(|p| regions.locate(*p).township_code)
            .collect();
        let points = data.zhangjiang.boundary.sample_points(60);
        Figures {
            public_stations: public.len(),
            planning_radius_km: evgrid_geo::coverage::planning_radius_km(
                CITY_AREA_KM2,
                public.len(),
            ),
            townships: data
                .townships
                .iter()
                .filter(|t| is_township_kind(&t.kind))
                .count(),
            townships_with_public_station: covered.len(),
            hotspots: data.hotspots.len(),
            hotspots_with_public_station_within_1km: data
                .hotspots
                .iter()
                .filter(|h| nearest(h.location) <= 1000.0)
                .count(),
            zhangjiang_max_distance_m: round1(points.into_iter().map(nearest).fold(0.0, f64::max)),
            stations_outside_city: self
                .stations
                .iter()
                .filter(|s| !regions.contains(s.location))
                .count(),
        }
    }
}
