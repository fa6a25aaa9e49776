//! `evgrid plan --new-piles N`: where the city's next piles add the most coverage, from the data
//! directory: printed, written as a workbook, GeoJSON and a map.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use evgrid_app::regulator::plan::{PlanRequest, PlanResult};
use evgrid_model::LatLng;

use crate::output::pct;

/// Options of the city plan.
#[derive(clap::Args, Debug)]
pub struct CityPlanArgs {
    #[command(flatten)]
    store: crate::open::StoreArgs,
    /// New piles to place (required unless a subcommand is given).
    #[arg(long)]
    new_piles: Option<u32>,
    /// Service radius, km: people within it of a public station count as covered.
    #[arg(long, default_value_t = 3.0)]
    radius_km: f64,
    /// One county (code such as 360702, or its Chinese or pinyin name); the whole city when absent.
    #[arg(long)]
    region: Option<String>,
    /// Number of new sites (default: one per 10 piles).
    #[arg(long)]
    sites: Option<u32>,
    /// Most piles at one new site.
    #[arg(long, default_value_t = PlanRequest::default().max_piles_per_site)]
    max_piles_per_site: u32,
    /// Population grid cell, metres (the demand points).
    #[arg(long, default_value_t = PlanRequest::default().grid_m)]
    grid_m: f64,
    /// Seed of the search.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Time limit of the search, seconds.
    #[arg(long, default_value_t = 60.0)]
    time_limit: f64,
    /// Write the workbook here (XLSX: summary, proposed sites, counties).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the proposed sites here (GeoJSON points, WGS-84).
    #[arg(long)]
    geojson: Option<PathBuf>,
    /// Draw the map here (PNG, SVG or PDF by the file's extension): distance after the plan,
    /// proposed sites sized by piles.
    #[arg(long)]
    map: Option<PathBuf>,
    /// Width of the map in pixels (PNG) or units (SVG, PDF points).
    #[arg(long, default_value_t = 2000)]
    map_width: u32,
    /// Language of the map's words: zh (Chinese) or en.
    #[arg(long, default_value = "zh", value_parser = crate::output::parse_lang)]
    lang: evgrid_report::Lang,
    /// Print the plan as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the city plan.
pub async fn run(args: CityPlanArgs) -> Result<()> {
    let Some(new_piles) = args.new_piles else {
        bail!("give --new-piles N to plan the city (or `evgrid plan mclp --help` for an instance from files)");
    };
    let request = PlanRequest {
        new_piles,
        radius_km: args.radius_km,
        region: args.region.clone(),
        sites: args.sites,
        max_piles_per_site: args.max_piles_per_site,
        grid_m: args.grid_m,
        seed: args.seed,
        time_limit_s: args.time_limit,
    };
    let app = crate::open::open_app(&args.store).await?;
    let bar = crate::output::bar(1000);
    let r2 = app.clone();
    let bar2 = bar.clone();
    let plan = tokio::task::spawn_blocking(move || {
        r2.regulator()
            .plan(&request, &mut crate::output::solver_progress(&bar2))
    })
    .await?
    .context("planning")?;
    bar.finish_and_clear();
    let tables = evgrid_app::regulator::plan::plan_tables(&plan);
    if let Some(out) = &args.out {
        crate::output::write_atomically(out, &evgrid_report::workbook(&tables)?)?;
    }
    if let Some(path) = &args.geojson {
        let sites = tables
            .iter()
            .find(|t| t.name == "proposed sites")
            .context("the sites table")?;
        crate::output::write_atomically(path, &serde_json::to_vec_pretty(&sites.to_geojson()?)?)?;
    }
    if let Some(path) = &args.map {
        let format = crate::output::drawing_format(Some(path))?;
        let canvas = draw(&app, &plan, &args);
        crate::output::write_atomically(path, &canvas.encode(format)?)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(());
    }
    print_summary(&plan, &args);
    Ok(())
}

fn print_summary(plan: &PlanResult, args: &CityPlanArgs) {
    let (b, a) = (&plan.before, &plan.after);
    let r = plan.request.radius_km;
    println!(
        "Siting plan: {} new piles at {} new sites, radius {r} km ({} demand cells, {} candidates, {:.1} s)",
        plan.request.new_piles,
        plan.sites.len(),
        plan.demand_points,
        plan.candidates,
        plan.seconds
    );
    for note in &plan.notes {
        println!("  note: {note}");
    }
    println!("                               before        after");
    println!(
        "  public stations          {:>10} {:>12}",
        b.public_stations, a.public_stations
    );
    println!(
        "  planning-norm radius     {:>8.2} km {:>9.2} km",
        b.planning_radius_km, a.planning_radius_km
    );
    println!(
        "  people within {r} km      {:>10} {:>12}   (+{:.0} people)",
        pct(b.share_within_radius),
        pct(a.share_within_radius),
        plan.newly_covered
    );
    println!(
        "  mean distance            {:>8.2} km {:>9.2} km",
        b.mean_distance_m / 1000.0,
        a.mean_distance_m / 1000.0
    );
    println!(
        "  townships covered        {:>6} / {} {:>7} / {}",
        b.townships_covered, b.townships_total, a.townships_covered, a.townships_total
    );
    println!(
        "  hot spots covered        {:>10} {:>12}",
        b.hotspots_covered, a.hotspots_covered
    );
    println!(
        "  solver: {:.0} people covered (planar), upper bound {:.0}, gap {:.3}%",
        plan.objective, plan.upper_bound, plan.gap_pct
    );
    println!("  top sites:");
    for s in plan.sites.iter().take(10) {
        println!(
            "    {:>3}. {} {} ({}) {:.5},{:.5}: {} piles, {:.0} people newly covered",
            s.rank,
            s.county_name.as_deref().unwrap_or(""),
            s.name,
            s.kind.label(),
            s.location.lat,
            s.location.lng,
            s.piles,
            s.newly_covered
        );
    }
    for (what, path) in [
        ("workbook", &args.out),
        ("GeoJSON", &args.geojson),
        ("map", &args.map),
    ] {
        if let Some(path) = path {
            println!("{what}: {}", path.display());
        }
    }
}

fn draw(app: &evgrid_app::App, plan: &PlanResult, args: &CityPlanArgs) -> evgrid_report::Canvas {
    let stations = app.regulator().public_locations();
    let proposed: Vec<(LatLng, u32)> = plan.sites.iter().map(|s| (s.location, s.piles)).collect();
    let today = evgrid_app::regulator::targets::today();
    app.regulator()
        .coverage_map(&evgrid_app::regulator::maps::MapRequest {
            county: plan.county_code.as_deref(),
            grid_m: args.grid_m,
            width: args.map_width,
            lang: args.lang,
            title: args.lang.pick("充电设施选址规划", "siting plan"),
            as_of: &today,
            stations: &stations,
            proposed: &proposed,
            uncovered_townships: &plan.uncovered_after,
            figures: evgrid_app::regulator::maps::plan_figures(plan, args.lang),
        })
}
