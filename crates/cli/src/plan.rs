//! `evgrid plan`: where new piles add the most coverage. `evgrid plan mclp` solves a maximal
//! covering location instance given as files (the format of the MCLP benchmark); `evgrid plan
//! --new-piles N` plans the city's next piles from the data directory.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use evgrid_siting::{Instance, Options, Problem, Solution};

use crate::output::solver_progress;
use serde::Serialize;

/// Options of `evgrid plan`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PlanArgs {
    #[command(subcommand)]
    instance: Option<PlanCommand>,
    #[command(flatten)]
    city: crate::plan_city::CityPlanArgs,
}

/// `evgrid plan` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum PlanCommand {
    /// Solve a maximal covering location instance from files (demand.csv, sites.csv) and write
    /// solution.json: the chosen site ids, the covered weight and an upper bound.
    Mclp(MclpArgs),
}

/// Options of `evgrid plan mclp`.
#[derive(clap::Args, Debug)]
pub struct MclpArgs {
    /// Instance directory holding demand.csv, sites.csv and params.csv (p and radius_km); the
    /// options below override its files and parameters.
    #[arg(long)]
    instance: Option<PathBuf>,
    /// Demand points: CSV `id,x,y,weight` (km).
    #[arg(long, required_unless_present = "instance")]
    demand: Option<PathBuf>,
    /// Candidate sites: CSV `id,x,y` (km).
    #[arg(long, required_unless_present = "instance")]
    sites: Option<PathBuf>,
    /// Number of sites to open.
    #[arg(long, required_unless_present = "instance")]
    p: Option<usize>,
    /// Coverage radius, km (a point at exactly this distance is covered).
    #[arg(long, required_unless_present = "instance")]
    radius_km: Option<f64>,
    /// Stop searching after this many seconds (the answer then depends on the machine's speed).
    #[arg(long, default_value_t = 60.0)]
    time_limit: f64,
    /// Seed of the search: the same seed gives the same solution (within the time limit).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this many kicks of the local search in a row without improvement.
    #[arg(long, default_value_t = Options::default().max_stall)]
    max_stall: usize,
    /// Write the solution here (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// What `plan mclp` writes: the benchmark's fields first, then the details.
#[derive(Debug, Serialize)]
pub struct SolutionFile {
    /// Chosen site ids, as in sites.csv.
    pub sites: Vec<i64>,
    /// Covered weight.
    pub objective: f64,
    /// No solution covers more.
    pub upper_bound: f64,
    /// Wall seconds (reading the files included).
    pub seconds: f64,
    /// Gap to the bound, percent.
    pub gap_pct: f64,
    /// The bound is met.
    pub proven_optimal: bool,
    /// Covered weight of the lazy greedy start.
    pub greedy_objective: f64,
    /// Total demand weight.
    pub total_weight: f64,
    /// Sites opened.
    pub p: usize,
    /// Radius, km.
    pub radius_km: f64,
    /// Seed used.
    pub seed: u64,
    /// The time limit cut the search short.
    pub timed_out: bool,
}

/// Runs `evgrid plan`.
pub async fn run(args: PlanArgs) -> Result<()> {
    match args.instance {
        Some(PlanCommand::Mclp(mclp)) => {
            let problem = read_problem(&mclp)?;
            solve_to_file(&problem, &mclp)
        }
        None => crate::plan_city::run(args.city).await,
    }
}

fn read_problem(args: &MclpArgs) -> Result<Problem> {
    let from_dir = |name: &str| args.instance.as_ref().map(|d| d.join(name));
    let demand = args
        .demand
        .clone()
        .or_else(|| from_dir("demand.csv"))
        .context("--demand")?;
    let sites = args
        .sites
        .clone()
        .or_else(|| from_dir("sites.csv"))
        .context("--sites")?;
    let (p, radius_km) = match (args.p, args.radius_km, &args.instance) {
        (Some(p), Some(r), _) => (p, r),
        (p, r, Some(dir)) => {
            let (dp, dr) = evgrid_siting::read_params(&dir.join("params.csv"))?;
            (p.unwrap_or(dp), r.unwrap_or(dr))
        }
        _ => bail!("give --p and --radius-km, or --instance DIR with params.csv"),
    };
    let instance = Instance::read(&demand, &sites)?;
    let problem = Problem {
        instance,
        p,
        radius_km,
        existing: Vec::new(),
    };
    problem.check()?;
    Ok(problem)
}

pub(crate) fn options(seed: u64, time_limit: f64, max_stall: usize) -> Result<Options> {
    Options::with_limits(seed, time_limit, max_stall)
        .context("--time-limit must be a positive number of seconds")
}

fn solve_to_file(problem: &Problem, args: &MclpArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let options = options(args.seed, args.time_limit, args.max_stall)?;
    let bar = crate::output::bar(1000);
    let solution = evgrid_siting::solve(problem, &options, &mut solver_progress(&bar));
    bar.finish_and_clear();
    let file = solution_file(
        problem,
        &solution,
        args.seed,
        started.elapsed().as_secs_f64(),
    );
    crate::output::write_atomically(&args.out, &serde_json::to_vec_pretty(&file)?)?;
    println!(
        "{} sites, covered {} of {} ({:.2}%), upper bound {} (gap {:.3}%{}), {:.2} s{}; written to {}",
        problem.p,
        file.objective,
        file.total_weight,
        100.0 * file.objective / file.total_weight.max(f64::MIN_POSITIVE),
        file.upper_bound,
        file.gap_pct,
        if file.proven_optimal { ", optimal" } else { "" },
        file.seconds,
        if file.timed_out { " (time limit reached)" } else { "" },
        args.out.display()
    );
    Ok(())
}

/// The file `plan mclp` writes for a solution.
pub fn solution_file(
    problem: &Problem,
    solution: &Solution,
    seed: u64,
    seconds: f64,
) -> SolutionFile {
    SolutionFile {
        sites: solution
            .sites
            .iter()
            .map(|&j| problem.instance.site_ids[j])
            .collect(),
        objective: solution.objective,
        upper_bound: solution.upper_bound,
        seconds,
        gap_pct: solution.gap_pct,
        proven_optimal: solution.proven_optimal,
        greedy_objective: solution.greedy_objective,
        total_weight: solution.total_weight,
        p: problem.p,
        radius_km: problem.radius_km,
        seed,
        timed_out: solution.timed_out,
    }
}
