//! The regulator's view: statistics (breakdowns, growth, utilization, faults) and the tables
//! they download as (`statistics`), coverage (`coverage`), the city's targets and their
//! progress (`targets`), and siting plans run in the background (`plan`).

pub mod coverage;
pub mod maps;
pub mod monthly;
pub mod plan;
pub mod statistics;
pub mod targets;

use std::sync::Arc;

use evgrid_model::stats::{BreakdownRow, Dimension, SnapshotRow};
use evgrid_store::Store;

use crate::live::Live;
use crate::network::Network;
use crate::AppError;

/// Statistics, coverage, targets and plans.
#[derive(Debug)]
pub struct Regulator {
    store: Store,
    network: Arc<Network>,
    live: Arc<Live>,
    /// Population grids and coverage reports already computed.
    coverage: coverage::CoverageCache,
    /// Siting plans run in the background.
    plans: plan::PlanJobs,
}

impl Regulator {
    pub(crate) fn new(store: Store, network: Arc<Network>, live: Arc<Live>) -> Self {
        Self {
            plans: plan::PlanJobs::new(store.clone()),
            store,
            network,
            live,
            coverage: coverage::CoverageCache::default(),
        }
    }

    /// Stations, piles and connectors by category, grouped by `by`.
    pub async fn breakdown(&self, by: Dimension) -> Result<Vec<BreakdownRow>, AppError> {
        Ok(self.store.breakdown(by).await?)
    }

    /// Every daily snapshot of the registry's size, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<SnapshotRow>, AppError> {
        Ok(self.store.snapshots().await?)
    }

    /// The reference geography.
    pub fn reference(&self) -> &evgrid_geo::ReferenceData {
        self.network.reference()
    }
}
