//! `evgrid`: the platform's one binary. Serve the API and map, run the demo, synthesize the
//! reference network, import operators' files, benchmark.

mod audit;
mod charger;
mod config;
mod coverage;
mod demo;
mod import;
mod migrate;
mod open;
mod operator;
mod output;
mod plan;
mod plan_city;
mod report;
mod secret_key;
mod serve;
mod simulate;
mod superior;
mod targets;
mod token;
mod user;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use evgrid_model::CoordSystem;

#[derive(Parser)]
#[command(name = "evgrid", version, about = "evgrid: the charging-infrastructure information service platform (站桩信息服务平台)", long_about = None)]
struct Cli {
    /// How logs are written to stderr: `text` for people, `json` (one object a line, with the
    /// span fields such as the charger or operator id) for a log collector.
    #[arg(
        long,
        global = true,
        env = "EVGRID_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The format of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the map over the data directory.
    Serve(serve::ServeArgs),
    /// Run the demo: on an empty data directory, synthesize and import the Ganzhou network, then serve.
    Demo {
        #[command(flatten)]
        serve: serve::ServeArgs,
        /// Seed of the synthetic network.
        #[arg(long, default_value_t = demo::DEMO_SEED)]
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
    /// Id tokens (RFID cards, tags) that authorize charges at OCPP chargers: add, list, block,
    /// unblock, remove, import from CSV.
    Token {
        #[command(subcommand)]
        action: token::TokenCommand,
    },
    /// The audit log: who sent which command to which charger, who changed which operator's
    /// credentials, account, charger or id token (newest first).
    Audit(audit::AuditArgs),
    /// Simulate counterparts: operator platforms speaking T/CEC.
    Simulate {
        #[command(subcommand)]
        what: simulate::SimulateCommand,
    },
    /// Write the synthetic Ganzhou network (T/CEC files per operator, GCJ-02) to a directory.
    Synth {
        /// Seed; the same seed gives byte-identical files.
        #[arg(long, default_value_t = demo::DEMO_SEED)]
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
        #[command(flatten)]
        store: crate::open::StoreArgs,
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
    /// Superior supervision platforms the city reports to (T/CEC 102, evgrid as data provider):
    /// add, list, remove, rotate, status, resend, profile.
    Superior {
        #[command(subcommand)]
        action: superior::SuperiorCommand,
    },
    /// The regulator's coverage figures: print them, write the workbook (--out report.xlsx) and
    /// draw the map (--map map.png, .svg or .pdf; --lang zh|en).
    Coverage(coverage::CoverageArgs),
    /// A node's configuration file: `config check FILE`, `config example` (every key with its
    /// default); `serve --config FILE` reads one.
    Config {
        #[command(subcommand)]
        action: config::ConfigCommand,
    },
    /// Reports for people: `report monthly --month 2026-11 [--lang zh|en] --out report.pdf`.
    Report {
        #[command(subcommand)]
        what: report::ReportCommand,
    },
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
    /// Move a deployment from SQLite to PostgreSQL: every table, a transaction per group, a
    /// progress bar, and each table's rows on both sides (`migrate --from sqlite:./var --to
    /// postgres://evgrid@127.0.0.1:5432/evgrid`).
    Migrate(migrate::MigrateArgs),
    /// Benchmarks (print a table; see the README for recorded results).
    Bench {
        #[command(subcommand)]
        which: evgrid_bench::BenchCommand,
    },
}

fn parse_coords(s: &str) -> Result<CoordSystem, String> {
    s.parse()
}

fn main() {
    let args = match config::expand(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("evgrid: {e:#}");
            std::process::exit(1);
        }
    };
    let cli = Cli::parse_from(args);
    if let Err(e) = run(cli) {
        // One line: what failed and why, each cause after a colon; no backtrace.
        eprintln!("evgrid: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Demo {
            serve: args,
            seed,
            no_simulate,
            chargers,
            no_faults,
            regulator_password,
        } => runtime.block_on(demo::run(
            args,
            seed,
            demo::DemoOptions {
                simulate: !no_simulate,
                faults: !no_faults,
                chargers,
                regulator_password,
            },
        )),
        Command::Simulate { what } => runtime.block_on(simulate::run(what)),
        Command::Charger { action } => runtime.block_on(charger::run(action)),
        Command::Token { action } => runtime.block_on(token::run(action)),
        Command::Audit(args) => runtime.block_on(audit::run(args)),
        Command::Synth { seed, out } => import::synth(seed, &out),
        Command::Import {
            coords,
            store,
            json,
            paths,
        } => {
            let ok = runtime.block_on(import::run(&store, &paths, coords, json))?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Operator { action } => runtime.block_on(operator::run(action)),
        Command::Superior { action } => runtime.block_on(superior::run(action)),
        Command::Coverage(args) => runtime.block_on(coverage::run(args)),
        Command::Targets { action } => runtime.block_on(targets::run(action)),
        Command::Report { what } => runtime.block_on(report::run(what)),
        Command::Config { action } => config::run(action),
        Command::User { action } => runtime.block_on(user::run(action)),
        Command::Plan(args) => runtime.block_on(plan::run(args)),
        Command::Migrate(args) => runtime.block_on(migrate::run(args)),
        Command::Bench { which } => evgrid_bench::run(which, &runtime),
    }
}
