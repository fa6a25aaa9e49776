//! `evgrid plan --new-piles N`: the city's siting plan.

use anyhow::{bail, Result};

/// Options of the city plan.
#[derive(clap::Args, Debug)]
pub struct CityPlanArgs {
    /// New piles to place.
    #[arg(long)]
    new_piles: Option<u32>,
}

/// Runs the city plan.
pub async fn run(_args: CityPlanArgs) -> Result<()> {
    bail!("not yet")
}
