//! The city's coverage figures, measured from the stations themselves: how a regulator reads
//! the network.
//!
//! * **Planning-norm service radius**: `sqrt(A / (π · N))`, A the area (the official
//!   39,379.64 km² for the city, the boundary's area for a county) and N its public stations:
//!   the radius each station would serve if they were spread evenly.
//! * **Measured service radius**: the distance from where people live to the nearest public
//!   station, population-weighted on the grid of [`crate::population`] (mean, p50, p90 and the
//!   share within 1/2/3/5 km). Stations outside a county still serve its people.
//! * **Townships covered**: a township is covered when at least one public station lies in it
//!   (county by boundary, township by nearest centre, the rule that places every station). For
//!   the others: population and the distance from the centre to the nearest public station.
//! * **Hot spots**: each with its nearest public station; covered within `hotspot_radius_m`.
//! * **Charging circle** of a named area (Zhangjiang New District, 2 km): the share of the
//!   area's cells (50 m) within the radius of a public station, and the cells beyond as polygons.

use std::collections::HashMap;

use evgrid_model::{distance_m, LatLng};
use serde::Serialize;

use crate::field::{NearestField, Raster};
use crate::population::{township_populations, DistanceDistribution, PopulationGrid};
use crate::reference::{ReferenceData, CITY_AREA_KM2};
use crate::regions::is_township_kind;
use crate::{MultiPolygon, RegionMap};

/// A public station as coverage sees it.
#[derive(Debug, Clone)]
pub struct CoveragePlace {
    pub id: String,
    pub name: String,
    pub location: LatLng,
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct CoverageOptions {
    /// Restrict the figures to one county (its code); the city when `None`.
    pub county: Option<String>,
    /// Hot spots count as covered within this distance of a public station.
    pub hotspot_radius_m: f64,
    /// The charging circle's radius; the area's own (2 km for Zhangjiang) when `None`.
    pub circle_radius_km: Option<f64>,
    /// Distances for the "share of people within" figures.
    pub within_km: Vec<f64>,
    /// Cell size of the charging-circle raster, metres.
    pub circle_cell_m: f64,
}

impl Default for CoverageOptions {
    fn default() -> Self {
        Self {
            county: None,
            hotspot_radius_m: 1000.0,
            circle_radius_km: None,
            within_km: vec![1.0, 2.0, 3.0, 5.0],
            circle_cell_m: 50.0,
        }
    }
}

/// One county's (or the city's) radius figures.
#[derive(Debug, Clone, Serialize)]
pub struct RegionCoverage {
    /// County code; `None` for the city.
    pub code: Option<String>,
    pub name_zh: String,
    pub area_km2: f64,
    pub public_stations: usize,
    /// sqrt(A / (π · N)), km; infinite with no station.
    pub planning_radius_km: f64,
    pub population: f64,
    pub mean_distance_m: f64,
    pub p50_distance_m: f64,
    pub p90_distance_m: f64,
    /// (km, share of the population within).
    pub population_within_km: Vec<(f64, f64)>,
    pub townships_total: usize,
    pub townships_covered: usize,
}

/// One township.
#[derive(Debug, Clone, Serialize)]
pub struct TownshipCoverage {
    pub code: String,
    pub name_zh: String,
    pub kind: String,
    pub county_code: String,
    pub county_name_zh: String,
    pub centre: LatLng,
    /// Estimated residents (see [`crate::population`]).
    pub population: f64,
    pub population_estimated: bool,
    /// Public stations placed in the township.
    pub public_stations: usize,
    pub covered: bool,
    /// From the township's centre to the nearest public station.
    pub nearest_distance_m: f64,
    pub nearest_station_id: Option<String>,
    /// Population-weighted mean distance of the township's people to a public station.
    pub mean_distance_m: f64,
}

/// One hot spot.
#[derive(Debug, Clone, Serialize)]
pub struct HotspotCoverage {
    pub name_zh: String,
    pub category: String,
    pub county_code: String,
    pub location: LatLng,
    pub nearest_station_id: Option<String>,
    pub nearest_station_name: Option<String>,
    pub distance_m: f64,
    pub covered: bool,
}

/// The charging circle of a named area.
#[derive(Debug, Clone, Serialize)]
pub struct CircleCoverage {
    pub area: String,
    pub area_km2: f64,
    pub radius_km: f64,
    /// Share of the area within the radius of a public station.
    pub share: f64,
    /// Area beyond the radius, km².
    pub gap_km2: f64,
    /// Largest distance from a cell of the area to its nearest public station.
    pub max_distance_m: f64,
    pub cell_m: f64,
    /// The cells beyond the radius, as polygons.
    #[serde(skip)]
    pub gaps: MultiPolygon,
}

/// Everything measured.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageReport {
    pub grid_m: f64,
    pub hotspot_radius_m: f64,
    /// The city (or the asked county) as a whole.
    pub total: RegionCoverage,
    /// Each county (only the asked one with `county`).
    pub counties: Vec<RegionCoverage>,
    pub townships: Vec<TownshipCoverage>,
    pub hotspots: Vec<HotspotCoverage>,
    pub circle: CircleCoverage,
}

/// Measures everything of the module's text for `public` stations.
pub fn measure(
    data: &ReferenceData,
    regions: &RegionMap,
    grid: &PopulationGrid,
    public: &[CoveragePlace],
    options: &CoverageOptions,
) -> CoverageReport {
    let points: Vec<LatLng> = public.iter().map(|p| p.location).collect();
    let field = NearestField::new(&points);
    let index = crate::SpatialIndex::build(points.iter().enumerate().map(|(i, p)| {
        let attrs = crate::EntryAttrs {
            category: evgrid_model::Category::Public,
            operator: 0,
            connectors: Vec::new(),
        };
        (i, *p, attrs)
    }));
    let nearest = |p: LatLng| -> (Option<usize>, f64) {
        index
            .nearest(p, 1, None, &crate::Filter::default())
            .first()
            .map_or((None, f64::INFINITY), |h| (Some(h.key), h.distance_m))
    };
    let in_scope = |county: &str| options.county.as_deref().is_none_or(|c| c == county);

    // Stations per township and county.
    let mut per_township: HashMap<String, usize> = HashMap::new();
    let mut per_county: HashMap<String, usize> = HashMap::new();
    for p in &points {
        let placed = regions.locate(*p);
        if let Some(t) = placed.township_code {
            *per_township.entry(t).or_default() += 1;
        }
        if let Some(c) = placed.county_code {
            *per_county.entry(c).or_default() += 1;
        }
    }

    // People and their distances.
    let distances = grid.nearest_distances(&field);
    let mut township_people: HashMap<usize, (f64, f64)> = HashMap::new();
    let mut county_pairs: HashMap<&str, Vec<(f64, f64)>> = HashMap::new();
    for (cell, d) in grid.cells.iter().zip(&distances) {
        let t = &data.townships[cell.township];
        let d = f64::from(*d);
        let e = township_people.entry(cell.township).or_default();
        e.0 += cell.population;
        e.1 += cell.population * d;
        county_pairs
            .entry(t.county_code.as_str())
            .or_default()
            .push((d, cell.population));
    }

    let populations = township_populations(data);
    let mut townships = Vec::new();
    for tp in &populations {
        let t = &data.townships[tp.township];
        if !is_township_kind(&t.kind) || !in_scope(&t.county_code) {
            continue;
        }
        let (near, d) = nearest(t.centre);
        let stations = per_township.get(&t.code).copied().unwrap_or(0);
        let (people, weighted) = township_people
            .get(&tp.township)
            .copied()
            .unwrap_or((0.0, 0.0));
        townships.push(TownshipCoverage {
            code: t.code.clone(),
            name_zh: t.name_zh.clone(),
            kind: t.kind.clone(),
            county_code: t.county_code.clone(),
            county_name_zh: data
                .county(&t.county_code)
                .map(|c| c.name_zh.clone())
                .unwrap_or_default(),
            centre: t.centre,
            population: tp.population,
            population_estimated: tp.estimated,
            public_stations: stations,
            covered: stations > 0,
            nearest_distance_m: d,
            nearest_station_id: near.map(|i| public[i].id.clone()),
            mean_distance_m: if people > 0.0 { weighted / people } else { d },
        });
    }

    let region = |code: Option<&str>| -> RegionCoverage {
        let (name_zh, area_km2, stations, pairs) = match code {
            Some(c) => (
                data.county(c)
                    .map(|x| x.name_zh.clone())
                    .unwrap_or_default(),
                data.county(c).map_or(0.0, |x| x.area_km2),
                per_county.get(c).copied().unwrap_or(0),
                county_pairs.get(c).cloned().unwrap_or_default(),
            ),
            None => (
                "赣州市".to_owned(),
                CITY_AREA_KM2,
                points.len(),
                county_pairs.values().flatten().copied().collect(),
            ),
        };
        let dist = DistanceDistribution::of(pairs, &options.within_km);
        let in_region: Vec<&TownshipCoverage> = townships
            .iter()
            .filter(|t| code.is_none_or(|c| c == t.county_code))
            .collect();
        RegionCoverage {
            code: code.map(str::to_owned),
            name_zh,
            area_km2,
            public_stations: stations,
            planning_radius_km: planning_radius_km(area_km2, stations),
            population: dist.population,
            mean_distance_m: dist.mean_m,
            p50_distance_m: dist.p50_m,
            p90_distance_m: dist.p90_m,
            population_within_km: dist.within_km,
            townships_total: in_region.len(),
            townships_covered: in_region.iter().filter(|t| t.covered).count(),
        }
    };
    let counties: Vec<RegionCoverage> = data
        .counties
        .iter()
        .filter(|c| in_scope(&c.code))
        .map(|c| region(Some(&c.code)))
        .collect();
    let total = match &options.county {
        Some(c) => region(Some(c)),
        None => region(None),
    };

    let hotspots = data
        .hotspots
        .iter()
        .filter(|h| in_scope(&h.county_code))
        .map(|h| {
            let (near, d) = nearest(h.location);
            HotspotCoverage {
                name_zh: h.name_zh.clone(),
                category: h.category.clone(),
                county_code: h.county_code.clone(),
                location: h.location,
                nearest_station_id: near.map(|i| public[i].id.clone()),
                nearest_station_name: near.map(|i| public[i].name.clone()),
                distance_m: d,
                covered: d <= options.hotspot_radius_m,
            }
        })
        .collect();

    CoverageReport {
        grid_m: grid.cell_m,
        hotspot_radius_m: options.hotspot_radius_m,
        total,
        counties,
        townships,
        hotspots,
        circle: circle(
            &data.zhangjiang.name_zh,
            &data.zhangjiang.boundary,
            options
                .circle_radius_km
                .unwrap_or(data.zhangjiang.radius_m / 1000.0),
            options.circle_cell_m,
            &field,
        ),
    }
}

/// sqrt(area / (π · stations)), km; infinite with no station.
pub fn planning_radius_km(area_km2: f64, stations: usize) -> f64 {
    if stations == 0 {
        f64::INFINITY
    } else {
        (area_km2 / (std::f64::consts::PI * stations as f64)).sqrt()
    }
}

/// The charging circle of `area`: share of its cells within `radius_km` of a place of `field`.
pub fn circle(
    name: &str,
    area: &MultiPolygon,
    radius_km: f64,
    cell_m: f64,
    field: &NearestField,
) -> CircleCoverage {
    let raster = Raster::cover(&[area], cell_m);
    let distances = raster.distances(field, 1, &|_| {});
    let limit = (radius_km * 1000.0) as f32;
    let (mut inside, mut all, mut max) = (0.0, 0.0, 0f32);
    let mut gaps = Vec::new();
    let mut i = 0;
    for (r, row) in raster.rows.iter().enumerate() {
        let cell_area = raster.cell_area_km2(row.lat);
        for (c0, c1) in &row.spans {
            for c in *c0..=*c1 {
                let d = distances[i];
                i += 1;
                all += cell_area;
                max = max.max(d);
                if d <= limit {
                    inside += cell_area;
                } else {
                    gaps.push((r as i64, c));
                }
            }
        }
    }
    CircleCoverage {
        area: name.to_owned(),
        area_km2: all,
        radius_km,
        share: if all > 0.0 { inside / all } else { 0.0 },
        gap_km2: all - inside,
        max_distance_m: f64::from(max),
        cell_m: raster.cell_m,
        gaps: crate::outline::outline(&raster, &gaps),
    }
}

/// Great-circle distance from `p` to the nearest of `places` by brute force: the independent
/// check the tests hold the fast paths to.
pub fn brute_force_nearest(p: LatLng, places: &[LatLng]) -> f64 {
    places
        .iter()
        .map(|q| distance_m(p, *q))
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stations(data: &ReferenceData) -> Vec<CoveragePlace> {
        // Township centres of every other township plus the hot spots' neighbourhood.
        data.townships
            .iter()
            .step_by(2)
            .map(|t| t.centre)
            .chain(
                data.hotspots
                    .iter()
                    .take(10)
                    .map(|h| LatLng::new(h.location.lat + 0.004, h.location.lng)),
            )
            .enumerate()
            .map(|(i, p)| CoveragePlace {
                id: format!("S{i}"),
                name: format!("station {i}"),
                location: p,
            })
            .collect()
    }

    #[test]
    fn figures_match_an_independent_computation() {
        let data = ReferenceData::embedded().unwrap();
        let regions = RegionMap::new(&data);
        let grid = PopulationGrid::build(&data, 2000.0);
        let public = stations(&data);
        let pts: Vec<LatLng> = public.iter().map(|p| p.location).collect();
        let report = measure(&data, &regions, &grid, &public, &CoverageOptions::default());

        assert!(
            (report.total.planning_radius_km
                - (CITY_AREA_KM2 / (std::f64::consts::PI * pts.len() as f64)).sqrt())
            .abs()
                < 1e-12
        );
        // Every township with its own centre as a station is covered, the others are not
        // unless another station falls in them.
        for t in &report.townships {
            let own = data.townships.iter().step_by(2).any(|x| x.code == t.code);
            if own {
                assert!(t.covered, "{}", t.name_zh);
            }
            let want = brute_force_nearest(t.centre, &pts);
            assert!((t.nearest_distance_m - want).abs() < 0.01, "{}", t.name_zh);
        }
        // Hot spots: 10 have a station 445 m north.
        let within = report
            .hotspots
            .iter()
            .filter(|h| brute_force_nearest(h.location, &pts) <= 1000.0)
            .count();
        assert_eq!(report.hotspots.iter().filter(|h| h.covered).count(), within);
        assert!(within >= 10);
        // People within 3 km, by brute force over the grid.
        let (mut people, mut near) = (0.0, 0.0);
        for c in &grid.cells {
            people += c.population;
            if brute_force_nearest(c.centre, &pts) <= 3000.0 {
                near += c.population;
            }
        }
        let got = report.total.population_within_km[2].1;
        assert!(
            (got - near / people).abs() < 0.01,
            "{got} vs {}",
            near / people
        );
        // The circle: share by brute force over its own sample points.
        let area = &data.zhangjiang.boundary;
        let samples = area.sample_points(40);
        let inside = samples
            .iter()
            .filter(|p| area.contains(**p))
            .filter(|p| brute_force_nearest(**p, &pts) <= 2000.0)
            .count() as f64
            / samples.iter().filter(|p| area.contains(**p)).count() as f64;
        assert!(
            (report.circle.share - inside).abs() < 0.05,
            "{} vs {inside}",
            report.circle.share
        );
        // Gaps cover what is not within the radius.
        let gap_share = report.circle.gaps.area_km2() / report.circle.area_km2;
        assert!((gap_share - (1.0 - report.circle.share)).abs() < 0.01);
    }

    #[test]
    fn a_county_alone() {
        let data = ReferenceData::embedded().unwrap();
        let regions = RegionMap::new(&data);
        let grid = PopulationGrid::build(&data, 3000.0);
        let public = stations(&data);
        let options = CoverageOptions {
            county: Some("360702".into()),
            ..CoverageOptions::default()
        };
        let report = measure(&data, &regions, &grid, &public, &options);
        assert_eq!(report.counties.len(), 1);
        assert!(report.townships.iter().all(|t| t.county_code == "360702"));
        assert_eq!(report.total.code.as_deref(), Some("360702"));
        assert!(report.total.area_km2 < 1000.0);
    }
}
