//! evgrid's benchmarks (`evgrid bench …`): each prints a Markdown table with the machine named
//! and, where a baseline exists, the baseline measured in the same invocation. A tool, not part
//! of the product: the `evgrid` binary links it for its `bench` subcommand.

mod coverage;
mod engines;
mod mclp;
mod measure;
mod nearest;
mod nodes;
mod ocpp;
mod postgis;
mod tcec;

use anyhow::Result;
use clap::Subcommand;

/// Which benchmark.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// k=10 nearest: in-process (1 and 2 threads), HTTP (64 keep-alive connections), PostGIS baseline (1 and 2 clients).
    Nearest(nearest::NearestArgs),
    /// T/CEC status pushes: 16 operator clients on loopback, acknowledged = committed.
    Tcec(tcec::TcecArgs),
    /// OCPP: idle connections (RSS per connection), chargers sending status or meter values
    /// (msg/s, latency, CPU per message), and the same load on a Python `ocpp` central system as
    /// the baseline and on a minimal Rust responder as the floor.
    Ocpp(ocpp::OcppArgs),
    /// The floor of `bench ocpp`: a minimal OCPP-J responder (WebSocket on loopback, each
    /// frame parsed as JSON, every CALL answered with an empty CALLRESULT, nothing validated or
    /// stored), started by `bench ocpp` as a process of its own; prints `listening on ADDR`.
    #[command(hide = true)]
    OcppFloor,
    /// Several nodes on one PostgreSQL database: idle chargers over N nodes (RSS per connection),
    /// statuses through 3 nodes and through 1 (msg/s, p50/p99, CPU per message), the cross-node
    /// command round trip.
    Nodes(nodes::NodesArgs),
    /// A worker of `bench nodes`: holds idle chargers until its standard input closes.
    #[command(hide = true)]
    OcppIdleWorker(nodes::IdleWorkerArgs),
    /// Coverage: nearest-station distance for every 100 m cell of the city against 20,000 and
    /// 1,000,000 stations, with scipy's cKDTree as the baseline.
    Coverage(coverage::CoverageBenchArgs),
    /// MCLP siting: every instance of a benchmark directory (e.g. ../shared/bench/mclp) against
    /// its best known objective, with spopt's MCLP (CBC) as the baseline.
    Mclp(mclp::MclpBenchArgs),
}

/// Runs a benchmark.
pub fn run(which: BenchCommand, runtime: &tokio::runtime::Runtime) -> Result<()> {
    match which {
        BenchCommand::Nearest(args) => nearest::run(args, runtime),
        BenchCommand::Tcec(args) => tcec::run(args, runtime),
        BenchCommand::Ocpp(args) => ocpp::run(args, runtime),
        BenchCommand::OcppFloor => runtime.block_on(ocpp::serve_floor()),
        BenchCommand::Nodes(args) => nodes::run(args, runtime),
        BenchCommand::OcppIdleWorker(args) => nodes::idle_worker(args, runtime),
        BenchCommand::Coverage(args) => coverage::run(args),
        BenchCommand::Mclp(args) => mclp::run(args),
    }
}
