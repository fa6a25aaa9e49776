//! `evgrid coverage`: the regulator's figures from the data directory, printed, written as a
//! workbook and drawn as a map.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use evgrid_geo::coverage::CoverageOptions;
use evgrid_model::LatLng;

use crate::output::pct;

/// Options of `evgrid coverage`.
#[derive(clap::Args, Debug)]
pub struct CoverageArgs {
    #[command(flatten)]
    store: crate::open::StoreArgs,
    /// One county (code such as 360702, or its Chinese or pinyin name); the whole city when absent.
    #[arg(long)]
    region: Option<String>,
    /// Population grid cell, metres.
    #[arg(long, default_value_t = 250.0)]
    grid_m: f64,
    /// The service radius the figures are read against: the share of people within it is
    /// printed and the map's legend marks it.
    #[arg(long, default_value_t = 3.0)]
    radius_km: f64,
    /// Hot spots count as covered within this distance of a public station.
    #[arg(long, default_value_t = 1000.0)]
    hotspot_radius_m: f64,
    /// Radius of Zhangjiang New District's charging circle (default: 2 km).
    #[arg(long)]
    circle_radius_km: Option<f64>,
    /// Write the workbook here (XLSX, a sheet per table).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Draw the coverage map here: PNG, SVG or PDF by the file's extension.
    #[arg(long)]
    map: Option<PathBuf>,
    /// Width of the map in pixels (PNG) or units (SVG, PDF points).
    #[arg(long, default_value_t = 2000)]
    map_width: u32,
    /// Language of the map's words: zh (Chinese) or en.
    #[arg(long, default_value = "zh", value_parser = crate::output::parse_lang)]
    lang: evgrid_report::Lang,
    /// Print the summary as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub async fn run(args: CoverageArgs) -> Result<()> {
    if !evgrid_app::regulator::coverage::GRID_M_RANGE.contains(&args.grid_m) {
        bail!("--grid-m must be between 100 and 5000 metres");
    }
    if !(args.radius_km > 0.0 && args.radius_km <= 100.0) {
        bail!("--radius-km must be more than 0 and at most 100");
    }
    let map_format = crate::output::drawing_format(args.map.as_deref())?;
    let steps = 3 + u64::from(args.out.is_some()) + u64::from(args.map.is_some());
    let bar = crate::output::bar(steps);
    bar.set_message("opening the app");
    let app = crate::open::open_app(&args.store).await?;
    let data = app.reference();
    let county = match &args.region {
        None => None,
        Some(r) => Some(
            data.find_county(r)
                .map(|c| c.code.clone())
                .with_context(|| {
                    format!(
                        "--region {r:?} is not a county of the city (codes: {})",
                        data.county_list()
                    )
                })?,
        ),
    };
    let mut within = vec![1.0, 2.0, 3.0, 5.0];
    if !within.contains(&args.radius_km) {
        within.push(args.radius_km);
        within.sort_by(f64::total_cmp);
    }
    let options = CoverageOptions {
        county: county.clone(),
        hotspot_radius_m: args.hotspot_radius_m,
        circle_radius_km: args.circle_radius_km,
        within_km: within,
        ..CoverageOptions::default()
    };
    bar.inc(1);
    bar.set_message(format!("population grid at {} m", args.grid_m));
    let r2 = app.clone();
    let grid_m = args.grid_m;
    tokio::task::spawn_blocking(move || r2.regulator().population_grid(grid_m)).await?;
    bar.inc(1);
    bar.set_message("distances to the nearest public station");
    let r2 = app.clone();
    let o2 = options.clone();
    let report = tokio::task::spawn_blocking(move || r2.regulator().coverage(grid_m, &o2)).await?;
    bar.inc(1);
    if let Some(out) = &args.out {
        bar.set_message(format!("writing {}", out.display()));
        let tables = app.regulator().regulator_tables(&report).await?;
        let bytes = evgrid_report::workbook(&tables)?;
        crate::output::write_atomically(out, &bytes)?;
        bar.inc(1);
    }
    if let Some(map) = &args.map {
        bar.set_message(format!("drawing {}", map.display()));
        let canvas = draw_map(&app, &report, county.as_deref(), &args);
        let bytes = tokio::task::block_in_place(|| canvas.encode(map_format))?;
        crate::output::write_atomically(map, &bytes)?;
        bar.inc(1);
    }
    bar.finish_and_clear();

    let t = &report.total;
    if args.json {
        let bbox = evgrid_geo::population::city_bbox(data);
        let summary = serde_json::json!({
            "region": t.code, "name": t.name_zh, "grid_m": report.grid_m,
            "public_stations": t.public_stations,
            "planning_radius_km": t.planning_radius_km,
            "mean_distance_km": t.mean_distance_m / 1000.0,
            "p50_distance_km": t.p50_distance_m / 1000.0,
            "p90_distance_km": t.p90_distance_m / 1000.0,
            "population_within_km": t.population_within_km,
            "townships": {"covered": t.townships_covered, "total": t.townships_total},
            "hotspots": {"covered": report.hotspots.iter().filter(|h| h.covered).count(), "total": report.hotspots.len(), "radius_m": report.hotspot_radius_m},
            "circle": {"area": report.circle.area, "radius_km": report.circle.radius_km, "share": report.circle.share, "max_distance_m": report.circle.max_distance_m},
            "bbox": bbox,
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        let hot = report.hotspots.iter().filter(|h| h.covered).count();
        println!(
            "{} — public charging coverage (grid {} m)",
            t.name_zh, report.grid_m
        );
        println!("  public stations            {}", t.public_stations);
        println!(
            "  planning-norm radius       {:.2} km  (sqrt(A/(π·N)), A {:.2} km²; city reports 3 km)",
            t.planning_radius_km, t.area_km2
        );
        println!(
            "  measured distance          mean {:.2} km, p50 {:.2} km, p90 {:.2} km ({:.0} people)",
            t.mean_distance_m / 1000.0,
            t.p50_distance_m / 1000.0,
            t.p90_distance_m / 1000.0,
            t.population
        );
        let shares: Vec<String> = t
            .population_within_km
            .iter()
            .map(|(k, s)| format!("{k} km {}", pct(*s)))
            .collect();
        println!("  people within              {}", shares.join(", "));
        println!(
            "  townships covered          {} of {} ({}; city reports more than half)",
            t.townships_covered,
            t.townships_total,
            pct(t.townships_covered as f64 / t.townships_total.max(1) as f64)
        );
        println!(
            "  hot spots within {:.0} m     {} of {}",
            report.hotspot_radius_m,
            hot,
            report.hotspots.len()
        );
        let c = &report.circle;
        println!(
            "  {} {} km circle  {} of {:.2} km² covered, farthest point {:.0} m",
            c.area,
            c.radius_km,
            pct(c.share),
            c.area_km2,
            c.max_distance_m
        );
        let uncovered: Vec<&evgrid_geo::coverage::TownshipCoverage> =
            report.townships.iter().filter(|x| !x.covered).collect();
        if !uncovered.is_empty() {
            let mut by_people = uncovered.clone();
            by_people.sort_by(|a, b| b.population.total_cmp(&a.population));
            println!("  largest townships without a public station:");
            for x in by_people.iter().take(5) {
                println!(
                    "    {} {} ({}): {:.0} people, nearest public station {:.1} km",
                    x.county_name_zh,
                    x.name_zh,
                    x.code,
                    x.population,
                    x.nearest_distance_m / 1000.0
                );
            }
        }
        if let Some(out) = &args.out {
            println!("workbook: {}", out.display());
        }
        if let Some(map) = &args.map {
            println!("map: {}", map.display());
        }
    }
    Ok(())
}

fn draw_map(
    app: &evgrid_app::App,
    report: &evgrid_geo::coverage::CoverageReport,
    county: Option<&str>,
    args: &CoverageArgs,
) -> evgrid_report::Canvas {
    let points = app.regulator().public_locations();
    let uncovered: Vec<LatLng> = report
        .townships
        .iter()
        .filter(|t| !t.covered)
        .map(|t| t.centre)
        .collect();
    let figures =
        evgrid_app::regulator::Regulator::coverage_figures(report, args.radius_km, args.lang);
    let today = evgrid_app::regulator::targets::today();
    app.regulator()
        .coverage_map(&evgrid_app::regulator::maps::MapRequest {
            county,
            grid_m: args.grid_m,
            width: args.map_width,
            lang: args.lang,
            title: args.lang.pick("公共充电覆盖", "public charging coverage"),
            as_of: &today,
            stations: &points,
            proposed: &[],
            uncovered_townships: &uncovered,
            figures,
        })
}
