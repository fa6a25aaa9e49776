//! Benchmarks.

use anyhow::Result;
use clap::Subcommand;

/// Which benchmark.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// k=10 nearest queries: in-process (1 and 2 threads), over HTTP (64 keep-alive connections), and PostGIS as the baseline.
    Nearest,
}

pub fn run(_which: BenchCommand, _runtime: &tokio::runtime::Runtime) -> Result<()> {
    anyhow::bail!("not yet")
}
