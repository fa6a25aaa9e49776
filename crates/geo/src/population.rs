//! Where people live: an estimate of every township's population, and a population grid over
//! the city for distance-to-charger statistics.
//!
//! **Township populations.** The data holds census figures for every county but for only a few
//! townships. A township with a figure keeps it. In a county where no township has one, the
//! town holding the county seat gets 40% of the county; what is left of the county (after the
//! known figures and the seat) is shared by the other townships with weights 街道 3, 镇 1.5,
//! 乡 1. Only townships of those kinds count (the region rules place stations in them).
//!
//! **The grid.** Square cells of `cell_m` (at the city's middle latitude) over the county
//! polygons, rasterized by scan line. Each cell belongs to its county (polygon) and to the
//! nearest township centre in that county — the same rule that places stations. A township's
//! people are spread over its cells with weight `exp(-d / σ)`, d the distance from the
//! township centre and σ 2.2 km for 街道 and county seats, 0.9 km for 镇, 0.6 km for 乡:
//! people live near the centres, not evenly over the mountains. A township with no cell of its
//! own (a centre in a sliver) puts its people in the county's cell nearest its centre.

use evgrid_model::{distance_m, LatLng, Township};

use crate::field::{NearestField, Raster, RowScratch};
use crate::reference::ReferenceData;
use crate::regions::is_township_kind;

/// A township's estimated population.
#[derive(Debug, Clone, PartialEq)]
pub struct TownshipPopulation {
    /// Index into `ReferenceData::townships`.
    pub township: usize,
    pub population: f64,
    /// False when the data gives the figure, true when it is the estimate above.
    pub estimated: bool,
}

/// The estimate above, for every township of a township kind, county by county.
pub fn township_populations(data: &ReferenceData) -> Vec<TownshipPopulation> {
    let mut out = Vec::new();
    for county in &data.counties {
        let towns: Vec<(usize, &Township)> = data
            .townships
            .iter()
            .enumerate()
            .filter(|(_, t)| t.county_code == county.code && is_township_kind(&t.kind))
            .collect();
        let population = county.population.unwrap_or(0) as f64;
        let known: f64 = towns
            .iter()
            .filter_map(|(_, t)| t.population)
            .map(|p| p as f64)
            .sum();
        let has_seat = towns
            .iter()
            .any(|(_, t)| t.centre_method == "county_seat_government");
        let seat_share = if has_seat && known == 0.0 { 0.40 } else { 0.0 };
        let rel = |t: &Township| match t.kind.as_str() {
            "街道" => 3.0,
            "镇" => 1.5,
            _ => 1.0,
        };
        let rest_total: f64 = towns
            .iter()
            .filter(|(_, t)| {
                t.population.is_none()
                    && !(seat_share > 0.0 && t.centre_method == "county_seat_government")
            })
            .map(|(_, t)| rel(t))
            .sum();
        let remainder = (population - known).max(0.0) * (1.0 - seat_share);
        for (i, t) in towns {
            let (population, estimated) = if let Some(p) = t.population {
                (p as f64, false)
            } else if seat_share > 0.0 && t.centre_method == "county_seat_government" {
                (population * seat_share, true)
            } else {
                (remainder * rel(t) / rest_total.max(1.0), true)
            };
            out.push(TownshipPopulation {
                township: i,
                population,
                estimated,
            });
        }
    }
    out
}

/// The spread of a township's people around its centre, metres.
pub fn spread_m(t: &Township) -> f64 {
    if t.kind == "街道" || t.centre_method == "county_seat_government" {
        2200.0
    } else if t.kind == "镇" {
        900.0
    } else {
        600.0
    }
}

/// One populated cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub centre: LatLng,
    /// Estimated residents.
    pub population: f64,
    /// Index into `ReferenceData::townships`.
    pub township: usize,
    /// The cell's area, km² (cells narrow slightly towards the north).
    pub area_km2: f64,
    /// The grid row (cells of one row share a latitude).
    pub row: u32,
}

/// The city's population on a grid.
#[derive(Debug, Clone)]
pub struct PopulationGrid {
    pub cell_m: f64,
    /// Every cell inside the city.
    pub cells: Vec<Cell>,
    /// Cell indices row by row, west to east: the order row queries take.
    by_row: Vec<(u32, Vec<usize>)>,
}

/// The bounding box of every county, min lng, min lat, max lng, max lat.
pub fn city_bbox(data: &ReferenceData) -> [f64; 4] {
    crate::polygon::bbox_of(data.county_boundaries.values())
}

impl PopulationGrid {
    /// Builds the grid (see the module's text for the method).
    pub fn build(data: &ReferenceData, cell_m: f64) -> Self {
        let cell_m = cell_m.clamp(50.0, 10_000.0);
        let bbox = city_bbox(data);
        let populations = township_populations(data);
        let mut cells: Vec<Cell> = Vec::new();
        let mut weights: Vec<f64> = Vec::new();
        for county in &data.counties {
            let Some(boundary) = data.county_boundaries.get(&county.code) else {
                continue;
            };
            let towns: Vec<(usize, &Township)> = data
                .townships
                .iter()
                .enumerate()
                .filter(|(_, t)| t.county_code == county.code && is_township_kind(&t.kind))
                .collect();
            if towns.is_empty() {
                continue;
            }
            let first = cells.len();
            let raster = Raster::cover_in(&[boundary], cell_m, bbox);
            for (r, row) in raster.rows.iter().enumerate() {
                let area_km2 = raster.cell_area_km2(row.lat);
                for (c0, c1) in &row.spans {
                    for c in *c0..=*c1 {
                        let centre = LatLng::new(row.lat, raster.lng(c));
                        let (township, d) = towns
                            .iter()
                            .map(|(i, t)| (*i, distance_m(centre, t.centre)))
                            .min_by(|a, b| a.1.total_cmp(&b.1))
                            .unwrap_or((towns[0].0, 0.0));
                        weights.push((-d / spread_m(&data.townships[township])).exp());
                        cells.push(Cell {
                            centre,
                            population: 0.0,
                            township,
                            area_km2,
                            row: u32::try_from(r).unwrap_or(u32::MAX),
                        });
                    }
                }
            }
            // Spread each township's people over its cells.
            let county_cells = first..cells.len();
            for tp in populations
                .iter()
                .filter(|p| data.townships[p.township].county_code == county.code)
            {
                let total: f64 = county_cells
                    .clone()
                    .filter(|i| cells[*i].township == tp.township)
                    .map(|i| weights[i])
                    .sum();
                if total > 0.0 {
                    for i in county_cells.clone() {
                        if cells[i].township == tp.township {
                            cells[i].population += tp.population * weights[i] / total;
                        }
                    }
                } else if !county_cells.is_empty() {
                    let centre = data.townships[tp.township].centre;
                    let nearest = county_cells
                        .clone()
                        .min_by(|a, b| {
                            distance_m(cells[*a].centre, centre)
                                .total_cmp(&distance_m(cells[*b].centre, centre))
                        })
                        .unwrap_or(first);
                    cells[nearest].population += tp.population;
                }
            }
        }
        let mut order: Vec<usize> = (0..cells.len()).collect();
        order.sort_by(|a, b| {
            (cells[*a].row, cells[*a].centre.lng)
                .partial_cmp(&(cells[*b].row, cells[*b].centre.lng))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut by_row: Vec<(u32, Vec<usize>)> = Vec::new();
        for i in order {
            match by_row.last_mut() {
                Some((row, list)) if *row == cells[i].row => list.push(i),
                _ => by_row.push((cells[i].row, vec![i])),
            }
        }
        Self {
            cell_m,
            cells,
            by_row,
        }
    }

    /// Everyone on the grid.
    pub fn total_population(&self) -> f64 {
        self.cells.iter().map(|c| c.population).sum()
    }

    /// The distance from every cell (in `cells` order) to the nearest place of `field`.
    pub fn nearest_distances(&self, field: &NearestField) -> Vec<f32> {
        let mut out = vec![f32::INFINITY; self.cells.len()];
        let mut scratch = RowScratch::default();
        let (mut lngs, mut got) = (Vec::new(), Vec::new());
        for (_, list) in &self.by_row {
            let Some(first) = list.first() else { continue };
            lngs.clear();
            lngs.extend(list.iter().map(|i| self.cells[*i].centre.lng));
            got.clear();
            got.resize(list.len(), 0f32);
            field.row(self.cells[*first].centre.lat, &lngs, &mut got, &mut scratch);
            for (i, d) in list.iter().zip(&got) {
                out[*i] = *d;
            }
        }
        out
    }
}

/// How far people live from the nearest of some places (e.g. public charging stations),
/// weighted by the grid's population.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DistanceDistribution {
    pub population: f64,
    pub mean_m: f64,
    pub p50_m: f64,
    pub p90_m: f64,
    /// (km, share of the population within that distance) for each asked distance.
    pub within_km: Vec<(f64, f64)>,
}

impl DistanceDistribution {
    /// The population-weighted distribution of `(distance m, people)` pairs; pairs with nobody
    /// do not count.
    pub fn of(mut d: Vec<(f64, f64)>, within_km: &[f64]) -> Self {
        d.retain(|x| x.1 > 0.0);
        d.sort_by(|a, b| a.0.total_cmp(&b.0));
        let population: f64 = d.iter().map(|x| x.1).sum();
        let quantile = |q: f64| {
            let mut acc = 0.0;
            for (dist, p) in &d {
                acc += p;
                if acc >= q * population {
                    return *dist;
                }
            }
            f64::INFINITY
        };
        let mean_m = if population > 0.0 {
            d.iter().map(|(dist, p)| dist * p).sum::<f64>() / population
        } else {
            f64::INFINITY
        };
        DistanceDistribution {
            population,
            mean_m,
            p50_m: quantile(0.5),
            p90_m: quantile(0.9),
            within_km: within_km
                .iter()
                .map(|km| {
                    let inside: f64 = d
                        .iter()
                        .take_while(|(dist, _)| *dist <= km * 1000.0)
                        .map(|x| x.1)
                        .sum();
                    (
                        *km,
                        if population > 0.0 {
                            inside / population
                        } else {
                            0.0
                        },
                    )
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_match_a_brute_force_computation() {
        let data = ReferenceData::embedded().unwrap();
        let grid = PopulationGrid::build(&data, 5000.0);
        let stations = [
            LatLng::new(25.8306, 114.9328),
            LatLng::new(25.45, 115.0),
            LatLng::new(26.3, 115.8),
        ];
        let near = grid.nearest_distances(&NearestField::new(&stations));
        let got = DistanceDistribution::of(
            grid.cells
                .iter()
                .zip(&near)
                .map(|(c, d)| (f64::from(*d), c.population))
                .collect(),
            &[5.0, 50.0],
        );
        let (mut sum, mut people, mut within50) = (0.0, 0.0, 0.0);
        for c in grid.cells.iter().filter(|c| c.population > 0.0) {
            let d = stations
                .iter()
                .map(|s| distance_m(c.centre, *s))
                .fold(f64::INFINITY, f64::min);
            sum += d * c.population;
            people += c.population;
            if d <= 50_000.0 {
                within50 += c.population;
            }
        }
        // Equirectangular per row against great circle: well under 1% at these distances.
        assert!((got.mean_m - sum / people).abs() < 5e-3 * got.mean_m);
        assert!((got.within_km[1].1 - within50 / people).abs() < 1e-2);
        assert!(got.p50_m <= got.p90_m);
    }

    #[test]
    fn township_estimates_add_up_to_the_counties() {
        let data = ReferenceData::embedded().unwrap();
        let pops = township_populations(&data);
        assert!(pops.iter().all(|p| p.population >= 0.0));
        assert!(
            pops.iter().any(|p| !p.estimated),
            "the census figures are kept"
        );
        for county in &data.counties {
            let sum: f64 = pops
                .iter()
                .filter(|p| data.townships[p.township].county_code == county.code)
                .map(|p| p.population)
                .sum();
            let known = county.population.unwrap_or(0) as f64;
            // Equal unless the known township figures exceed the county's.
            assert!(sum >= known * 0.999, "{}: {sum} < {known}", county.code);
        }
    }

    #[test]
    fn the_grid_covers_the_city_and_keeps_everyone() {
        let data = ReferenceData::embedded().unwrap();
        let grid = PopulationGrid::build(&data, 1000.0);
        let area: f64 = grid.cells.iter().map(|c| c.area_km2).sum();
        let polygons: f64 = data.county_boundaries.values().map(|b| b.area_km2()).sum();
        assert!(
            (area / polygons - 1.0).abs() < 0.01,
            "grid {area} km² vs polygons {polygons} km²"
        );
        let people: f64 = township_populations(&data)
            .iter()
            .map(|p| p.population)
            .sum();
        assert!((grid.total_population() / people - 1.0).abs() < 1e-9);
        // Every cell lies in its township's county.
        let regions = crate::RegionMap::new(&data);
        for c in grid.cells.iter().step_by(97) {
            let placed = regions.locate(c.centre);
            assert_eq!(
                placed.county_code.as_deref(),
                Some(data.townships[c.township].county_code.as_str())
            );
        }
        // People concentrate near the centres: the densest tenth of cells holds most of them.
        let mut dens: Vec<f64> = grid.cells.iter().map(|c| c.population).collect();
        dens.sort_by(|a, b| b.total_cmp(a));
        let top: f64 = dens.iter().take(dens.len() / 10).sum();
        assert!(top > 0.5 * people, "{top} of {people}");
    }
}
