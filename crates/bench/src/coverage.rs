//! `evgrid bench coverage`: the distance from every cell of the city (100 m, about 4 million
//! cells) to the nearest of 20,000 and of 1,000,000 stations, against the baseline a GIS analyst
//! would use (scipy's cKDTree on 3-D unit vectors, batched, in the project-local .venv).

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use evgrid_geo::field::{NearestField, Raster};
use evgrid_geo::MultiPolygon;
use evgrid_model::LatLng;

/// Options of the coverage benchmark.
#[derive(clap::Args, Debug)]
pub struct CoverageBenchArgs {
    /// Cell size, metres.
    #[arg(long, default_value_t = 100.0)]
    cell_m: f64,
    /// Station counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [20_000usize, 1_000_000])]
    stations: Vec<usize>,
    /// Threads for evgrid's computation.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Skip the scipy baseline.
    #[arg(long)]
    no_baseline: bool,
    /// Also write the table (Markdown) here.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Resets the process's peak RSS (Linux `clear_refs` 5), so the next peak is this step's.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak RSS since the last reset, MiB.
fn peak_mib() -> f64 {
    crate::measure::proc_status_kib("self", "VmHWM").map_or(0.0, |kb| kb as f64 / 1024.0)
}

struct Baseline {
    seconds: f64,
    peak_mib: f64,
    distances: Vec<f32>,
}

fn write_f64s(path: &std::path::Path, points: impl Iterator<Item = (f64, f64)>) -> Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (a, b) in points {
        w.write_all(&a.to_le_bytes())?;
        w.write_all(&b.to_le_bytes())?;
    }
    w.flush()?;
    Ok(())
}

fn scipy(cells: &std::path::Path, stations: &[LatLng], dir: &std::path::Path) -> Result<Baseline> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        bail!("no .venv with scipy (run scripts/bench-coverage.sh, which installs it)");
    }
    let st = dir.join("stations.bin");
    write_f64s(&st, stations.iter().map(|p| (p.lat, p.lng)))?;
    let out = dir.join("scipy.bin");
    let run = Command::new(&python)
        .arg(root.join("tests/bench/coverage_baseline.py"))
        .args([cells, &st, &out])
        .output()
        .context("running the scipy baseline")?;
    if !run.status.success() {
        bail!(
            "scipy baseline failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let report: serde_json::Value = serde_json::from_slice(&run.stdout)?;
    let bytes = std::fs::read(&out)?;
    let distances = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Baseline {
        seconds: report["seconds"].as_f64().unwrap_or(f64::NAN),
        peak_mib: report["peak_mib"].as_f64().unwrap_or(f64::NAN),
        distances,
    })
}

/// Runs the benchmark.
pub fn run(args: CoverageBenchArgs) -> Result<()> {
    let data = evgrid_geo::ReferenceData::embedded()?;
    let areas: Vec<&MultiPolygon> = data.county_boundaries.values().collect();
    let t = Instant::now();
    let raster = Raster::cover(&areas, args.cell_m);
    let raster_s = t.elapsed().as_secs_f64();
    let cells = raster.len();
    eprintln!(
        "{cells} cells of {} m inside the city (raster in {raster_s:.2} s)",
        args.cell_m
    );
    let dir = tempfile::tempdir()?;
    let cells_path = dir.path().join("cells.bin");
    if !args.no_baseline {
        let r = &raster;
        write_f64s(
            &cells_path,
            r.rows.iter().flat_map(|row| {
                row.spans
                    .iter()
                    .flat_map(move |(a, b)| (*a..=*b).map(move |c| (row.lat, r.lng(c))))
            }),
        )?;
    }
    let mut table = format!(
        "### Nearest-station distance for every cell of the city\n\nMachine: {}. {} cells of {} m (the 18 county polygons, rasterized in {raster_s:.2} s); stations spread like the synthetic network (1.5 km jitter). evgrid: row-wise lower envelope over latitude strips, {} threads; baseline: scipy cKDTree on 3-D unit vectors, `query(workers=-1)` in batches of 500,000 (Python {}), build and query timed, file reading not. Peak memory: the process's peak RSS during the step (evgrid's includes the raster and the points it already held).\n\n| stations | evgrid s | evgrid peak MiB | scipy s | scipy peak MiB | speed-up | max difference |\n|---:|---:|---:|---:|---:|---:|---:|\n",
        crate::measure::machine(),
        cells,
        args.cell_m,
        args.threads,
        if args.no_baseline { "skipped" } else { "3" },
    );
    for &n in &args.stations {
        eprintln!("generating {n} stations...");
        let points: Vec<LatLng> = crate::nearest::synthetic_points(n, 7)?.1;
        reset_peak();
        let t = Instant::now();
        let field = NearestField::new(&points);
        let ours = raster.distances(&field, args.threads, &|_| {});
        let ours_s = t.elapsed().as_secs_f64();
        let ours_peak = peak_mib();
        drop(field);
        eprintln!("evgrid: {ours_s:.3} s, peak {ours_peak:.0} MiB");
        let row = if args.no_baseline {
            format!("| {n} | {ours_s:.3} | {ours_peak:.0} | – | – | – | – |\n")
        } else {
            let base = scipy(&cells_path, &points, dir.path())?;
            let max_diff = ours
                .iter()
                .zip(&base.distances)
                .map(|(a, b)| {
                    let (a, b) = (f64::from(*a), f64::from(*b));
                    (a - b).abs() / b.max(1.0)
                })
                .fold(0.0, f64::max);
            eprintln!(
                "scipy: {:.3} s, peak {:.0} MiB; largest relative difference {:.4}%",
                base.seconds,
                base.peak_mib,
                max_diff * 100.0
            );
            format!(
                "| {n} | {ours_s:.3} | {ours_peak:.0} | {:.3} | {:.0} | {:.1}× | {:.3}% |\n",
                base.seconds,
                base.peak_mib,
                base.seconds / ours_s,
                max_diff * 100.0
            )
        };
        table.push_str(&row);
    }
    println!("{table}");
    if let Some(out) = &args.out {
        std::fs::write(out, &table).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}
