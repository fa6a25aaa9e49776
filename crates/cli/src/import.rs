//! `evgrid import` (operators' station files, all or nothing) and `evgrid synth` (the synthetic
//! Ganzhou network as T/CEC files).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use evgrid_app::{App, ImportEvent, ImportReport};
use evgrid_model::CoordSystem;
use indicatif::{ProgressBar, ProgressStyle};

use crate::open::{open_app, reference};

pub(crate) async fn run_import(
    app: &App,
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
    let report = app.network().import_paths(paths, coords, &progress).await?;
    bar.finish_and_clear();
    Ok(report)
}

pub(crate) fn print_report(report: &ImportReport, json: bool) {
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

pub(crate) async fn run(
    store: &crate::open::StoreArgs,
    paths: &[PathBuf],
    coords: Option<CoordSystem>,
    json: bool,
) -> Result<bool> {
    let app = open_app(store).await?;
    let report = run_import(&app, paths, coords).await?;
    print_report(&report, json);
    Ok(report.committed)
}

pub(crate) fn synth(seed: u64, out: &Path) -> Result<()> {
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
