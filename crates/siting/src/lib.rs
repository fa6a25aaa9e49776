//! Siting: where new charging sites add the most coverage.
//!
//! This is the maximal covering location problem (MCLP): open `p` of the candidate sites so that
//! the demand weight within `radius` of an open site (or of a site already there) is maximal.
//! [`Instance`] holds a problem in planar kilometres (read from the benchmark CSV files or built
//! from the city), [`Coverage`] turns it into sparse coverage sets with equal demand merged,
//! and [`solve`] finds a solution (lazy greedy, then swap local search and an iterated local
//! search) together with a Lagrangian upper bound, so every answer states its gap to optimal.

mod cover;
mod instance;
mod solve;

pub use cover::{Coverage, PointGrid};
pub use instance::{read_params, BadLine, DemandPoint, Instance, InstanceError, Point, Problem};
pub use solve::{brute_force, covered_weight, solve, Options, Phase, Progress, Solution};
