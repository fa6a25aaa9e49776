//! `evgrid bench mclp DIR`: every instance of the MCLP benchmark (a folder per instance, see its
//! README) solved by evgrid and, in the same run, by spopt (`spopt.locate.MCLP` with PuLP's CBC,
//! in the project-local .venv) under a time limit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use evgrid_siting::{Instance, Problem};

/// Options of the MCLP benchmark.
#[derive(clap::Args, Debug)]
pub struct MclpBenchArgs {
    /// The benchmark directory (one folder per instance).
    dir: PathBuf,
    /// evgrid's time limit per instance, seconds.
    #[arg(long, default_value_t = 60.0)]
    time_limit: f64,
    /// spopt's time limit per instance, seconds; an instance it does not finish in time is
    /// reported as "> LIMIT s".
    #[arg(long, default_value_t = 600)]
    baseline_time_limit: u64,
    /// Seed of evgrid's search.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Skip the spopt baseline.
    #[arg(long)]
    no_baseline: bool,
    /// Also write the table (Markdown) here.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// What results.json says of the best known solution.
struct Reference {
    best_known: f64,
    proven_optimal: bool,
}

fn reference(dir: &Path) -> Option<Reference> {
    let text = std::fs::read_to_string(dir.join("results.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(Reference {
        best_known: json["best_known_objective"].as_f64()?,
        proven_optimal: json["proven_optimal"].as_bool().unwrap_or(false),
    })
}

enum Baseline {
    Solved { objective: f64, seconds: f64 },
    TimedOut,
    Failed(String),
}

fn spopt(dir: &Path, limit: u64) -> Baseline {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    // `timeout` signals the whole process group: CBC goes with Python.
    let run = Command::new("timeout")
        .args(["-k", "10", &limit.to_string()])
        .arg(&python)
        .arg(root.join("tests/bench/mclp_spopt.py"))
        .arg(dir)
        .output();
    match run {
        Err(e) => Baseline::Failed(format!("cannot run the baseline: {e}")),
        Ok(out) if out.status.code() == Some(124) || out.status.code() == Some(137) => {
            Baseline::TimedOut
        }
        Ok(out) if !out.status.success() => Baseline::Failed(
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .to_owned(),
        ),
        Ok(out) => match serde_json::from_slice::<serde_json::Value>(&out.stdout) {
            Ok(v) => Baseline::Solved {
                objective: v["objective"].as_f64().unwrap_or(f64::NAN),
                seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
            },
            Err(e) => Baseline::Failed(format!("unreadable baseline output: {e}")),
        },
    }
}

/// Runs the benchmark.
pub fn run(args: MclpBenchArgs) -> Result<()> {
    let mut instances: Vec<PathBuf> = std::fs::read_dir(&args.dir)
        .with_context(|| format!("reading {}", args.dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("demand.csv").exists())
        .collect();
    instances.sort_by_key(|p| {
        std::fs::metadata(p.join("demand.csv"))
            .map(|m| m.len())
            .unwrap_or(0)
    });
    if instances.is_empty() {
        anyhow::bail!(
            "no instance folders (with demand.csv) in {}",
            args.dir.display()
        );
    }
    let options = evgrid_siting::Options::with_limits(
        args.seed,
        args.time_limit,
        evgrid_siting::Options::default().max_stall,
    )
    .context("--time-limit must be a positive number of seconds")?;
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let mut table = format!(
        "### MCLP: evgrid against the best known objective and spopt\n\nMachine: {} cores ({cpu}). evgrid: seed {}, time limit {} s, seconds from reading the CSV files to the answer (coverage sets, search and bound). spopt 0.7.0 `MCLP.from_cost_matrix(...).solve(PULP_CBC_CMD)` from the arrays (cost matrix, model build, CBC), time limit {} s, objective recomputed from its chosen sites. Both objectives also recomputed from the coordinates.\n\n| instance | demand | sites | p | evgrid objective | best known | ratio | upper bound | gap % | evgrid s | spopt objective | spopt s | speed-up |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.seed,
        args.time_limit,
        args.baseline_time_limit
    );
    for dir in &instances {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!("{name}: evgrid");
        let started = Instant::now();
        let (p, radius_km) = evgrid_siting::read_params(&dir.join("params.csv"))?;
        let instance = Instance::read(&dir.join("demand.csv"), &dir.join("sites.csv"))?;
        let problem = Problem {
            instance,
            p,
            radius_km,
            existing: Vec::new(),
        };
        problem.check()?;
        let solution = evgrid_siting::solve(&problem, &options, &mut |_| {});
        let seconds = started.elapsed().as_secs_f64();
        let recomputed = evgrid_siting::covered_weight(&problem, &solution.sites);
        if (recomputed - solution.objective).abs() > 1e-6 * recomputed.max(1.0) {
            anyhow::bail!(
                "{name}: the solver says {} but its sites cover {recomputed}",
                solution.objective
            );
        }
        let reference = reference(dir);
        let (best_known, ratio) = match &reference {
            Some(r) => (
                format!(
                    "{}{}",
                    r.best_known,
                    if r.proven_optimal { " (optimal)" } else { "" }
                ),
                format!("{:.4}", solution.objective / r.best_known),
            ),
            None => ("–".into(), "–".into()),
        };
        let (spopt_objective, spopt_seconds, speedup) = if args.no_baseline {
            ("not run".to_owned(), "–".to_owned(), "–".to_owned())
        } else {
            eprintln!("{name}: spopt (up to {} s)", args.baseline_time_limit);
            match spopt(dir, args.baseline_time_limit) {
                Baseline::Solved {
                    objective,
                    seconds: s,
                } => (
                    format!("{objective}"),
                    format!("{s:.1}"),
                    format!("{:.0}×", s / seconds),
                ),
                Baseline::TimedOut => (
                    "timed out".to_owned(),
                    format!("> {}", args.baseline_time_limit),
                    format!("> {:.0}×", args.baseline_time_limit as f64 / seconds),
                ),
                Baseline::Failed(why) => (format!("failed: {why}"), "–".to_owned(), "–".to_owned()),
            }
        };
        let row = format!(
            "| {name} | {} | {} | {p} | {} | {best_known} | {ratio} | {} | {:.3} | {seconds:.2} | {spopt_objective} | {spopt_seconds} | {speedup} |\n",
            problem.instance.demand.len(),
            problem.instance.sites.len(),
            solution.objective,
            solution.upper_bound,
            solution.gap_pct,
        );
        eprint!("{row}");
        table.push_str(&row);
    }
    println!("{table}");
    if let Some(out) = &args.out {
        std::fs::write(out, &table).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}
