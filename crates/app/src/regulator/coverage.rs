//! The regulator's coverage figures over the registry's public stations, cached until a
//! station changes (the computation is in `evgrid_geo::coverage`).

use std::sync::{Arc, Mutex, PoisonError};

use evgrid_geo::coverage::{measure, CoverageOptions, CoverageReport};
use evgrid_geo::population::PopulationGrid;

use super::Regulator;

/// Grid cell sizes the registry computes on, metres.
pub const GRID_M_RANGE: std::ops::RangeInclusive<f64> = 100.0..=5000.0;

/// The default grid cell, metres.
pub const DEFAULT_GRID_M: f64 = 250.0;

/// How many reports and grids are kept.
const KEEP: usize = 6;

type ReportKey = (u64, u64, Option<String>, u64, Option<u64>, Vec<u64>);

/// Computed grids and reports.
#[derive(Debug, Default)]
pub struct CoverageCache {
    grids: Mutex<Vec<(u64, Arc<PopulationGrid>)>>,
    reports: Mutex<Vec<(ReportKey, Arc<CoverageReport>)>>,
}

fn remember<K: PartialEq, V: Clone>(list: &Mutex<Vec<(K, V)>>, key: K, value: V) -> V {
    let mut list = list.lock().unwrap_or_else(PoisonError::into_inner);
    if list.len() >= KEEP {
        list.remove(0);
    }
    list.push((key, value.clone()));
    value
}

fn recall<K: PartialEq, V: Clone>(list: &Mutex<Vec<(K, V)>>, key: &K) -> Option<V> {
    list.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

impl Regulator {
    /// The population grid of `cell_m` metres (clamped to [`GRID_M_RANGE`]), built once.
    pub fn population_grid(&self, cell_m: f64) -> Arc<PopulationGrid> {
        let cell_m = cell_m.clamp(*GRID_M_RANGE.start(), *GRID_M_RANGE.end());
        let key = cell_m.to_bits();
        if let Some(grid) = recall(&self.coverage.grids, &key) {
            return grid;
        }
        let grid = Arc::new(PopulationGrid::build(self.reference(), cell_m));
        remember(&self.coverage.grids, key, grid)
    }

    /// Computes the default report in the background (a server calls this at start, so that
    /// the first request does not wait for the population grid).
    pub fn warm_coverage(self: &std::sync::Arc<Self>) {
        let registry = self.clone();
        tokio::task::spawn_blocking(move || {
            registry.coverage(DEFAULT_GRID_M, &CoverageOptions::default());
        });
    }

    /// The coverage report on a grid of `grid_m` metres; computed again only after a station
    /// changed. CPU-bound (tens of milliseconds to seconds): call it off the async threads.
    pub fn coverage(&self, grid_m: f64, options: &CoverageOptions) -> Arc<CoverageReport> {
        let (generation, places) = self.network.public_places();
        let grid = self.population_grid(grid_m);
        let key = (
            generation,
            grid.cell_m.to_bits(),
            options.county.clone(),
            options.hotspot_radius_m.to_bits(),
            options.circle_radius_km.map(f64::to_bits),
            options.within_km.iter().map(|k| k.to_bits()).collect(),
        );
        if let Some(report) = recall(&self.coverage.reports, &key) {
            return report;
        }
        let report = Arc::new(measure(
            self.reference(),
            self.network.regions(),
            &grid,
            &places,
            options,
        ));
        remember(&self.coverage.reports, key, report)
    }
}
