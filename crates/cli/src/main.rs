//! `evgrid`: the platform's one binary. Serve the API and map, run the demo, synthesize the
//! reference network, import operators' files, benchmark.

mod bench;
mod bench_tcec;
mod operator;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use evgrid_geo::ReferenceData;
use evgrid_model::CoordSystem;
use evgrid_registry::{ImportEvent, ImportReport, Registry};
use indicatif::{ProgressBar, ProgressStyle};

/// The seed of the demo network (the city's reporting date).
const DEMO_SEED: u64 = 20_220_701;

#[derive(Parser)]
#[command(name = "evgrid", version, about = "evgrid: the charging-infrastructure information service platform (站桩信息服务平台)", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct ServeArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", env = "EVGRID_LISTEN")]
    listen: SocketAddr,
    /// Data directory holding the SQLite database.
    #[arg(long, default_value = "./var", env = "EVGRID_DATA_DIR")]
    data_dir: PathBuf,
    /// Base path of the T/CEC 102 interfaces that operator platforms call.
    #[arg(long, default_value = evgrid_server::DEFAULT_TCEC_BASE_PATH, env = "EVGRID_TCEC_BASE_PATH")]
    tcec_base_path: String,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the map over the data directory.
    Serve(ServeArgs),
    /// Run the demo: on an empty data directory, synthesize and import the Ganzhou network, then serve.
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        /// Seed of the synthetic network.
        #[arg(long, default_value_t = DEMO_SEED)]
        seed: u64,
        /// Do not run the simulated operator platforms that push live status over T/CEC.
        #[arg(long)]
        no_simulate: bool,
    },
    /// Write the synthetic Ganzhou network (T/CEC files per operator, GCJ-02) to a directory.
    Synth {
        /// Seed; the same seed gives byte-identical files.
        #[arg(long, default_value_t = DEMO_SEED)]
        seed: u64,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Import station files (T/CEC JSON, CSV, GeoJSON; directories are expanded): all or nothing.
    Import {
        /// Datum of the files' coordinates; default gcj02 for T/CEC JSON and CSV, wgs84 for GeoJSON.
        #[arg(long, value_parser = parse_coords)]
        coords: Option<CoordSystem>,
        /// Data directory holding the SQLite database.
        #[arg(long, default_value = "./var", env = "EVGRID_DATA_DIR")]
        data_dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Files or directories to import.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Operator platforms' T/CEC credentials: add, list, remove, rotate.
    Operator {
        #[command(subcommand)]
        action: operator::OperatorCommand,
    },
    /// Benchmarks (print a table; see the README for recorded results).
    Bench {
        #[command(subcommand)]
        which: bench::BenchCommand,
    },
}

fn parse_coords(s: &str) -> Result<CoordSystem, String> {
    s.parse()
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Demo {
            serve: args,
            seed,
            no_simulate,
        } => runtime.block_on(demo(args, seed, !no_simulate)),
        Command::Synth { seed, out } => synth(seed, &out),
        Command::Import {
            coords,
            data_dir,
            json,
            paths,
        } => {
            let ok = runtime.block_on(import(&data_dir, &paths, coords, json))?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Operator { action } => runtime.block_on(operator::run(action)),
        Command::Bench { which } => bench::run(which, &runtime),
    }
}

fn reference() -> Result<Arc<ReferenceData>> {
    Ok(Arc::new(
        ReferenceData::embedded().context("reading the embedded Ganzhou reference data")?,
    ))
}

async fn open_registry(data_dir: &Path) -> Result<Arc<Registry>> {
    let registry = Registry::open_dir(data_dir, reference()?)
        .await
        .with_context(|| format!("opening the registry in {}", data_dir.display()))?;
    Ok(Arc::new(registry))
}

/// Binds, tells `on_bound` the address (before the URL is printed), and serves until Ctrl-C.
async fn serve_registry(
    registry: Arc<Registry>,
    args: &ServeArgs,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<()> {
    let listen = args.listen;
    let state = evgrid_server::AppState::new(registry.clone())
        .with_tcec_base_path(&args.tcec_base_path)
        .map_err(anyhow::Error::msg)
        .context("--tcec-base-path")?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("binding {listen}; is another server using the port? (--listen)")
        })?;
    let addr = listener.local_addr()?;
    on_bound(addr);
    let stations = registry.station_count();
    // The URL goes to stdout (for people and scripts); logs go to stderr.
    println!("evgrid serving http://{addr}/ ({stations} stations; API document at http://{addr}/api/openapi.json)");
    evgrid_server::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("serving HTTP")?;
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<()> {
    let registry = open_registry(&args.data_dir).await?;
    serve_registry(registry, &args, |_| {}).await
}

/// The demo's simulated operators: every synthetic operator, with demo credentials registered
/// on first use (the secrets are in this source: for the demo only).
async fn demo_operators(
    registry: &Registry,
) -> Result<Vec<evgrid_tcec::simulator::SimulatedOperator>> {
    let store = registry.store();
    let mut out = Vec::new();
    for op in store
        .operators()
        .await?
        .into_iter()
        .filter(|o| o.id.as_str().starts_with("EVGSYN"))
    {
        let id = op.id.as_str().to_owned();
        let credentials = match store.credentials(&op.id).await? {
            Some(c) => c,
            None => {
                let c = evgrid_model::OperatorCredentials {
                    operator_id: op.id.clone(),
                    operator_secret: format!("{id}-demo-op"),
                    data_secret: format!("{id}DATAKEY"),
                    data_secret_iv: format!("{id}IVECTOR"),
                    sig_secret: format!("{id}-demo-sig"),
                    base_url: None,
                    coords: CoordSystem::Gcj02,
                    platform_secret: None,
                    stale_after_seconds: None,
                };
                c.validate()?;
                store.put_credentials(&op.name, &c).await?;
                c
            }
        };
        let keys = evgrid_tcec::crypto::KeySet::new(
            &credentials.data_secret,
            &credentials.data_secret_iv,
            &credentials.sig_secret,
        )?;
        out.push(evgrid_tcec::simulator::SimulatedOperator {
            operator_id: id,
            operator_secret: credentials.operator_secret,
            keys,
            connectors: store.connector_ids(&op.id).await?,
        });
    }
    Ok(out)
}

async fn demo(args: ServeArgs, seed: u64, simulate: bool) -> Result<()> {
    let registry = open_registry(&args.data_dir).await?;
    if registry.station_count() == 0 {
        let dir = args.data_dir.join("synthetic-network");
        eprintln!(
            "empty data directory: synthesizing the Ganzhou network (seed {seed}) into {}",
            dir.display()
        );
        evgrid_synth::generate(registry.reference(), seed)
            .write(&dir, registry.reference())
            .context("writing the synthetic network")?;
        let report = run_import(&registry, &[dir], None).await?;
        print_report(&report, false);
        if !report.committed {
            bail!("the synthetic network did not import; this is a bug");
        }
    } else {
        eprintln!(
            "data directory holds {} stations; serving them",
            registry.station_count()
        );
    }
    let operators = if simulate {
        demo_operators(&registry).await?
    } else {
        Vec::new()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let base_path = args.tcec_base_path.clone();
    let start_simulators = move |addr: SocketAddr| {
        if operators.is_empty() {
            return;
        }
        eprintln!(
            "{} simulated operator platforms push live status over T/CEC to http://{addr}{base_path}",
            operators.len()
        );
        for op in operators {
            let options = evgrid_tcec::simulator::SimulatorOptions {
                platform_url: format!("http://{addr}{base_path}"),
                interval: std::time::Duration::from_secs(1),
                changes_per_round: 10,
                seed,
            };
            tokio::spawn(evgrid_tcec::simulator::run_operator(
                op,
                options,
                stopped.clone(),
            ));
        }
    };
    let served = serve_registry(registry, &args, start_simulators).await;
    let _ = stop.send(true);
    served
}

fn synth(seed: u64, out: &Path) -> Result<()> {
    let data = reference()?;
    let network = evgrid_synth::generate(&data, seed);
    let manifest = network
        .write(out, &data)
        .with_context(|| format!("writing to {}", out.display()))?;
    println!(
        "wrote the SYNTHETIC Ganzhou network (seed {seed}) to {}: {} piles ({} public, {} dedicated, {} private) in {} stations, {} operator files + manifest.json + README.md",
        out.display(),
        manifest.piles["total"],
        manifest.piles["public"],
        manifest.piles["dedicated"],
        manifest.piles["private"],
        manifest.stations["total"],
        manifest.operators.len()
    );
    Ok(())
}

async fn run_import(
    registry: &Registry,
    paths: &[PathBuf],
    coords: Option<CoordSystem>,
) -> Result<ImportReport> {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |event: ImportEvent| match event {
        ImportEvent::Reading(i, n, path) => {
            bar.set_length(n as u64);
            bar.set_position(i as u64);
            bar.set_message(format!("validating {path}"));
        }
        ImportEvent::Writing(n) => {
            bar.set_message(format!("writing {n} stations in one transaction"));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
        }
    };
    let report = registry.import_paths(paths, coords, &progress).await?;
    bar.finish_and_clear();
    Ok(report)
}

fn print_report(report: &ImportReport, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
        return;
    }
    for f in &report.files {
        println!(
            "{}: {:?}, coordinates {}, {} records, {} valid, {} rejected",
            f.file, f.format, f.coords, f.records, f.valid, f.rejected
        );
    }
    for w in report.warnings.iter().take(20) {
        println!("warning: {w}");
    }
    if report.warnings.len() > 20 {
        println!("... and {} more warnings", report.warnings.len() - 20);
    }
    for r in &report.rejected {
        println!("rejected: {r}");
    }
    if report.committed {
        println!(
            "imported {} stations ({} piles)",
            report.stations_written, report.piles_written
        );
    } else {
        println!("nothing imported: {} problem(s); fix them and import again (an import is all or nothing)", report.rejected.len());
    }
}

async fn import(
    data_dir: &Path,
    paths: &[PathBuf],
    coords: Option<CoordSystem>,
    json: bool,
) -> Result<bool> {
    let registry = open_registry(data_dir).await?;
    let report = run_import(&registry, paths, coords).await?;
    print_report(&report, json);
    Ok(report.committed)
}
