//! `evgrid`: the platform's one binary. Serve the API and map, run the demo, synthesize the
//! reference network, import operators' files, benchmark.

mod bench;
mod bench_coverage;
mod bench_mclp;
mod bench_ocpp;
mod bench_tcec;
mod charger;
mod coverage;
mod operator;
mod plan;
mod plan_city;
mod simulate;
mod targets;
mod user;

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
pub(crate) const DEMO_SEED: u64 = 20_220_701;

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
    /// The platform's own T/CEC OperatorID, used when it calls operator platforms.
    #[arg(long, default_value = simulate::DEFAULT_PLATFORM_OPERATOR_ID, env = "EVGRID_PLATFORM_OPERATOR_ID")]
    platform_operator_id: String,
    /// Seconds between pulls from each operator platform that has a base URL (0: never pull).
    #[arg(long, default_value_t = 300, env = "EVGRID_POLL_INTERVAL")]
    poll_interval: u64,
    /// Seconds before a call to an operator platform is given up.
    #[arg(long, default_value_t = 30)]
    poll_timeout: u64,
    /// Also serve HTTPS/WSS on this address (OCPP security profile 2), with --tls-cert and
    /// --tls-key.
    #[arg(long, env = "EVGRID_TLS_LISTEN", requires_all = ["tls_cert", "tls_key"])]
    tls_listen: Option<SocketAddr>,
    /// PEM certificate chain for --tls-listen.
    #[arg(long, env = "EVGRID_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-listen.
    #[arg(long, env = "EVGRID_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Accept OCPP chargers that are not registered (as chargers of the platform's OperatorID,
    /// without a station until placed).
    #[arg(long, env = "EVGRID_ACCEPT_UNKNOWN_CHARGERS")]
    accept_unknown_chargers: bool,
    /// A parent total of piles (e.g. the province's) that statistics give the city's share of.
    #[arg(long, env = "EVGRID_PARENT_PILES", value_parser = clap::value_parser!(i64).range(1..))]
    parent_piles: Option<i64>,
    /// The parent total's name, e.g. 江西省.
    #[arg(long, env = "EVGRID_PARENT_NAME", default_value = "parent")]
    parent_name: String,
    /// Refuse T/CEC requests whose TimeStamp is more than this many seconds from the
    /// server's clock (China time). Not enforced unless given; the standard sets no window.
    #[arg(long, env = "EVGRID_TCEC_MAX_CLOCK_SKEW")]
    tcec_max_clock_skew: Option<i64>,
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
        /// Do not run the simulated operator platforms (T/CEC servers that push live status) and
        /// chargers (OCPP).
        #[arg(long)]
        no_simulate: bool,
        /// About how many piles of the synthetic network the demo connects directly by OCPP
        /// instead of through their operators' platforms (half 1.6, half 2.0.1).
        #[arg(long, default_value_t = 200)]
        chargers: u32,
        /// Simulated operators without faults: no bad pushes, no operator that stops answering.
        #[arg(long)]
        no_faults: bool,
        /// Password of the demo's `regulator` account (the dashboard's login). On first start
        /// without it, a random one is made; it is printed and kept in DATA_DIR/demo-accounts.txt.
        #[arg(long, env = "EVGRID_DEMO_REGULATOR_PASSWORD", hide_env_values = true)]
        regulator_password: Option<String>,
    },
    /// Chargers connected directly by OCPP: add, list, remove.
    Charger {
        #[command(subcommand)]
        action: charger::ChargerCommand,
    },
    /// Simulate counterparts: operator platforms speaking T/CEC.
    Simulate {
        #[command(subcommand)]
        what: simulate::SimulateCommand,
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
    /// The regulator's coverage figures: print them, write the workbook (--out report.xlsx) and
    /// draw the map (--map map.png).
    Coverage(coverage::CoverageArgs),
    /// Accounts of operators, regulators and admins: add, passwd, list, remove.
    User {
        #[command(subcommand)]
        action: user::UserCommand,
    },
    /// The city's targets: list with progress, import progress figures from CSV.
    Targets {
        #[command(subcommand)]
        action: targets::TargetsCommand,
    },
    /// Siting: where the next piles add the most coverage (`plan --new-piles 5000`), or solve
    /// a maximal covering location instance from files (`plan mclp`).
    Plan(plan::PlanArgs),
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
            chargers,
            no_faults,
            regulator_password,
        } => runtime.block_on(demo(
            args,
            seed,
            DemoOptions {
                simulate: !no_simulate,
                faults: !no_faults,
                chargers,
                regulator_password,
            },
        )),
        Command::Simulate { what } => runtime.block_on(simulate::run(what)),
        Command::Charger { action } => runtime.block_on(charger::run(action)),
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
        Command::Coverage(args) => runtime.block_on(coverage::run(args)),
        Command::Targets { action } => runtime.block_on(targets::run(action)),
        Command::User { action } => runtime.block_on(user::run(action)),
        Command::Plan(args) => runtime.block_on(plan::run(args)),
        Command::Bench { which } => bench::run(which, &runtime),
    }
}

pub(crate) fn reference() -> Result<Arc<ReferenceData>> {
    Ok(Arc::new(
        ReferenceData::embedded().context("reading the embedded Ganzhou reference data")?,
    ))
}

async fn open_registry_dir(data_dir: &Path) -> Result<Registry> {
    Registry::open_dir(data_dir, reference()?)
        .await
        .with_context(|| format!("opening the registry in {}", data_dir.display()))
}

pub(crate) async fn open_registry(data_dir: &Path) -> Result<Arc<Registry>> {
    Ok(Arc::new(open_registry_dir(data_dir).await?))
}

async fn open_serving_registry(args: &ServeArgs) -> Result<Arc<Registry>> {
    evgrid_model::OperatorId::new(&args.platform_operator_id).context("--platform-operator-id")?;
    let registry = open_registry_dir(&args.data_dir)
        .await?
        .with_max_clock_skew(args.tcec_max_clock_skew);
    Ok(Arc::new(registry))
}

/// Starts pulling from operator platforms, unless disabled.
fn start_poller(
    registry: &Arc<Registry>,
    args: &ServeArgs,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    if args.poll_interval == 0 {
        return Ok(());
    }
    let mut options = evgrid_registry::poller::PollOptions::new(evgrid_model::OperatorId::new(
        &args.platform_operator_id,
    )?);
    options.interval = std::time::Duration::from_secs(args.poll_interval);
    options.timeout = std::time::Duration::from_secs(args.poll_timeout.max(1));
    options.max_backoff = options.interval.saturating_mul(12).max(options.interval);
    options.discover_every = options.interval.min(std::time::Duration::from_secs(10));
    tokio::spawn(evgrid_registry::poller::run(
        registry.clone(),
        options,
        stop,
    ));
    Ok(())
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
    let state = match args.parent_piles {
        Some(piles) => state.with_parent_total(&args.parent_name, piles),
        None => state,
    };
    let state =
        state.with_platform_operator(evgrid_model::OperatorId::new(&args.platform_operator_id)?);
    let state = if args.accept_unknown_chargers {
        state.accept_unknown_chargers(evgrid_model::OperatorId::new(&args.platform_operator_id)?)
    } else {
        state
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("binding {listen}; is another server using the port? (--listen)")
        })?;
    let addr = listener.local_addr()?;
    if let (Some(tls_addr), Some(cert), Some(key)) =
        (args.tls_listen, &args.tls_cert, &args.tls_key)
    {
        let tls = evgrid_server::tls::Tls::from_pem_files(cert, key)
            .map_err(anyhow::Error::msg)
            .context("--tls-cert/--tls-key")?;
        let tls_listener = tokio::net::TcpListener::bind(tls_addr)
            .await
            .with_context(|| format!("binding {tls_addr} (--tls-listen)"))?;
        let tls_bound = tls_listener.local_addr()?;
        println!("evgrid serving https://{tls_bound}/ (TLS; OCPP at wss://{tls_bound}/ocpp/)");
        tokio::spawn(evgrid_server::tls::serve_tls(
            tls_listener,
            state.clone(),
            tls,
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
        ));
    }
    registry.keep_daily_snapshots();
    registry.warm_coverage();
    on_bound(addr);
    let stations = registry.station_count();
    // The URL goes to stdout (for people and scripts); logs go to stderr.
    println!("evgrid serving http://{addr}/ ({stations} stations; API document at http://{addr}/api/openapi.json)");
    evgrid_server::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("serving HTTP")?;
    registry
        .flush_message_counts()
        .await
        .context("writing the message counts")?;
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<()> {
    let registry = open_serving_registry(&args).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    start_poller(&registry, &args, stopped)?;
    let served = serve_registry(registry, &args, |_| {}).await;
    let _ = stop.send(true);
    served
}

/// The demo's directly connected chargers: the piles of some synthetic public stations, whose
/// operators connect those sites by OCPP instead of through their platforms (so the city's
/// totals stay as they are). Registered on first use, without password (the demo accepts
/// them). Returns (charger id, connectors) and the stations they take (`OPERATOR:STATION`).
async fn demo_chargers(
    registry: &Registry,
    network: &evgrid_synth::Network,
    count: u32,
) -> Result<(Vec<(String, u32)>, std::collections::HashSet<String>)> {
    let mut chargers = Vec::new();
    let mut stations = std::collections::HashSet::new();
    for s in network
        .stations
        .iter()
        .filter(|s| s.category() == evgrid_model::Category::Public)
        .step_by(7)
    {
        if chargers.len() >= count as usize {
            break;
        }
        stations.insert(format!("{}:{}", s.operator_id, s.id));
        for e in &s.equipment {
            chargers.push((s.clone(), e.clone()));
        }
    }
    let known = registry.store().chargers().await?;
    let fresh = chargers
        .iter()
        .any(|(_, e)| !known.iter().any(|c| c.id == e.id));
    if fresh {
        eprintln!(
            "registering {} piles of {} synthetic stations as directly connected OCPP chargers",
            chargers.len(),
            stations.len()
        );
        for (s, e) in &chargers {
            let spec = evgrid_registry::chargers::ChargerSpec {
                id: e.id.clone(),
                password: None,
                operator_id: s.operator_id.clone(),
                operator_name: None,
                station_id: Some(s.id.clone()),
                place: None,
                connectors: u32::try_from(e.connectors.len()).unwrap_or(1),
                power_kw: e.power.0 / 1000,
                dc: e.equipment_type == evgrid_model::EquipmentType::DC,
                tariff: None,
            };
            registry.add_charger(spec).await?;
        }
    }
    let ids = chargers
        .into_iter()
        .map(|(_, e)| (e.id, u32::try_from(e.connectors.len()).unwrap_or(1)))
        .collect();
    Ok((ids, stations))
}

/// What the demo runs besides the server.
struct DemoOptions {
    simulate: bool,
    faults: bool,
    chargers: u32,
    regulator_password: Option<String>,
}

/// The demo's regulator account: made on first start (with the given or a random password),
/// its password reset when one is given; printed and kept in DATA_DIR/demo-accounts.txt.
async fn demo_regulator(
    registry: &Registry,
    data_dir: &Path,
    password: Option<String>,
) -> Result<()> {
    const NAME: &str = "regulator";
    let file = data_dir.join("demo-accounts.txt");
    let exists = registry.store().user_login(NAME).await?.is_some();
    let password = match (exists, password) {
        (false, given) => {
            let p = match given {
                Some(p) => p,
                None => user::random_password()?,
            };
            registry
                .add_user(NAME, &p, evgrid_model::Role::Regulator, None)
                .await?;
            p
        }
        (true, Some(p)) => {
            registry.set_password(NAME, &p).await?;
            p
        }
        (true, None) => {
            println!("dashboard login: see {} (user {NAME})", file.display());
            return Ok(());
        }
    };
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options
            .open(&file)
            .with_context(|| format!("writing {}", file.display()))?;
        writeln!(
            f,
            "# evgrid demo accounts (the dashboard at /dashboard)\n{NAME} {password}"
        )?;
    }
    println!(
        "dashboard login: {NAME} / {password} (kept in {})",
        file.display()
    );
    Ok(())
}

async fn demo(mut args: ServeArgs, seed: u64, options: DemoOptions) -> Result<()> {
    let DemoOptions {
        simulate,
        faults,
        chargers,
        regulator_password,
    } = options;
    let registry = open_serving_registry(&args).await?;
    // The network the simulators play (and, on an empty data directory, the one imported).
    let network = evgrid_synth::generate(registry.reference(), seed);
    if registry.station_count() == 0 {
        let dir = args.data_dir.join("synthetic-network");
        eprintln!(
            "empty data directory: synthesizing the Ganzhou network (seed {seed}) into {}",
            dir.display()
        );
        network
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
    demo_regulator(&registry, &args.data_dir, regulator_password).await?;
    // The demo accepts unknown OCPP chargers and pulls every minute unless told otherwise.
    args.accept_unknown_chargers = true;
    if args.poll_interval == 300 {
        args.poll_interval = 60;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (charger_ids, ocpp_stations) = if simulate && chargers > 0 {
        demo_chargers(&registry, &network, chargers).await?
    } else {
        (Vec::new(), std::collections::HashSet::new())
    };
    let platforms = if simulate {
        let names: Vec<(evgrid_model::OperatorId, String)> = network
            .operators
            .iter()
            .map(|o| (o.id.clone(), o.name_zh.clone()))
            .collect();
        // An operator registered with its own secrets (not the demo's) is not simulated.
        let mut kept = Vec::new();
        for mut p in simulate::demo_platforms(&network, &args.platform_operator_id, 7) {
            // Sites connected by OCPP are not behind the operator's platform.
            p.stations.retain(|s| {
                !ocpp_stations.contains(&format!("{}:{}", s.operator_id, s.station_id))
            });
            let id = evgrid_model::OperatorId::new(&p.operator_id)?;
            match registry.store().credentials(&id).await? {
                Some(c) if !simulate::is_demo_registration(&c) => {
                    eprintln!("{id} is registered with its own credentials: not simulated");
                }
                _ => kept.push(p),
            }
        }
        Some((kept, names))
    } else {
        None
    };
    let behaviour = simulate::Behaviour {
        interval_ms: 1000,
        changes_per_round: 10,
        sample_seconds: 5,
        fault_share: if faults { 0.02 } else { 0.0 },
        hang_operator: faults.then(|| "EVGSYN007".to_owned()),
        hang_after: 90,
        hang_for: 120,
    };
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let base_path = args.tcec_base_path.clone();
    let poller_registry = registry.clone();
    let poller_args = args.clone();
    let sims_stop = stopped.clone();
    tokio::spawn(async move {
        let Ok(addr) = bound_rx.await else { return };
        if let Some((platforms, names)) = platforms {
            let url = format!("http://{addr}{base_path}");
            match simulate::start(platforms, &url, seed, &behaviour, 0, sims_stop).await {
                Ok(sims) => {
                    if let Err(e) = simulate::register(poller_registry.store(), &sims, &names).await
                    {
                        tracing::error!(error = %e, "demo: registering the simulated operators");
                    }
                    eprintln!(
                        "{} simulated operator platforms: T/CEC servers on {} pushing to {url}{}",
                        sims.len(),
                        sims.iter()
                            .map(|(_, u)| u.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        if faults {
                            " (2% faulty pushes; EVGSYN007 stops answering from 90 s to 210 s)"
                        } else {
                            ""
                        }
                    );
                    // Each simulator's tasks hold it; they run until the stop signal.
                }
                Err(e) => tracing::error!(error = %e, "demo: starting the simulated operators"),
            }
        }
        if !charger_ids.is_empty() {
            let csms = format!("ws://{addr}/ocpp/");
            let half = charger_ids.len() / 2;
            for (ids, version) in [
                (&charger_ids[..half], evgrid_ocpp::Version::V16),
                (&charger_ids[half..], evgrid_ocpp::Version::V201),
            ] {
                let options = simulate::charger_options(&csms, version, None, 30, 15, seed);
                simulate::start_chargers(ids, &options, &stopped);
            }
            eprintln!(
                "{} simulated OCPP chargers (half 1.6, half 2.0.1) connect to {csms}",
                charger_ids.len()
            );
        }
        if let Err(e) = start_poller(&poller_registry, &poller_args, stopped) {
            tracing::error!(error = %e, "demo: starting the poller");
        }
    });
    let served = serve_registry(registry, &args, move |addr| {
        let _ = bound_tx.send(addr);
    })
    .await;
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

/// Writes `bytes` to `path` through a temporary file beside it, so a reader never sees half a
/// file and a failed run leaves no file behind.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing {}", path.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    // A temporary file is private (0600); the output is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
