//! `evgrid report monthly`: the regulator's monthly report as a PDF (Chinese by default), with a
//! progress bar; optionally with a siting plan made on the way.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use evgrid_app::regulator::monthly::Month;
use evgrid_app::regulator::plan::PlanRequest;

/// Reports for people.
#[derive(clap::Subcommand, Debug)]
pub enum ReportCommand {
    /// The monthly report: headline figures against the targets and the last month, counties,
    /// growth and utilization, faults and online rate, operators' data quality, the largest
    /// townships without a public station, the siting plan and the coverage map (PDF, A4).
    Monthly(MonthlyArgs),
}

/// Options of `evgrid report monthly`.
#[derive(clap::Args, Debug)]
pub struct MonthlyArgs {
    #[command(flatten)]
    store: crate::open::StoreArgs,
    /// The month, YYYY-MM (default: the month the city is in now).
    #[arg(long)]
    month: Option<String>,
    /// Language: zh (Chinese) or en.
    #[arg(long, default_value = "zh", value_parser = crate::output::parse_lang)]
    lang: evgrid_report::Lang,
    /// Write the PDF here.
    #[arg(long, default_value = "report.pdf")]
    out: PathBuf,
    /// Also make a siting plan for this many new piles (3 km radius, the city) and put its
    /// headline and map in the report; without it the report says that no plan was made.
    #[arg(long)]
    plan_new_piles: Option<u32>,
    /// Time limit of that plan's search, seconds.
    #[arg(long, default_value_t = 30.0)]
    plan_time_limit: f64,
    /// Also write the figures as JSON here (the numbers the PDF prints).
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Runs the command.
pub async fn run(command: ReportCommand) -> Result<()> {
    let ReportCommand::Monthly(args) = command;
    let month = match &args.month {
        Some(text) => Month::parse(text)
            .with_context(|| format!("--month {text}: give the month as YYYY-MM, e.g. 2026-11"))?,
        None => Month::current(),
    };
    if args.out.extension().and_then(|e| e.to_str()) != Some("pdf") {
        bail!(
            "--out {}: the report is a PDF; name the file .pdf",
            args.out.display()
        );
    }
    let steps = 5 + u64::from(args.plan_new_piles.is_some());
    let bar = crate::output::bar(steps);
    bar.set_message("opening the data");
    let app = crate::open::open_app(&args.store).await?;
    bar.inc(1);
    let plan = match args.plan_new_piles {
        Some(new_piles) => {
            bar.set_message(format!("siting plan for {new_piles} new piles"));
            let request = PlanRequest {
                new_piles,
                time_limit_s: args.plan_time_limit,
                ..PlanRequest::default()
            };
            let app2 = app.clone();
            let plan =
                tokio::task::spawn_blocking(move || app2.regulator().plan(&request, &mut |_| {}))
                    .await?
                    .context("planning")?;
            bar.inc(1);
            Some(std::sync::Arc::new(plan))
        }
        None => None,
    };
    let step_bar = bar.clone();
    let step = move |name: &str| {
        step_bar.set_message(name.to_owned());
        step_bar.inc(1);
    };
    let (figures, pdf) = app
        .regulator()
        .monthly_pdf(month, args.lang, plan, &step)
        .await
        .context("making the report")?;
    crate::output::write_atomically(&args.out, &pdf)?;
    if let Some(json) = &args.json {
        crate::output::write_atomically(json, &serde_json::to_vec_pretty(&figures)?)?;
    }
    bar.finish_and_clear();
    if !figures.has_data {
        println!("{month}: no data was recorded in this month; the report says so");
    }
    println!(
        "monthly report {month}: {} ({} KiB), piles {}, planning radius {:.2} km, townships covered {} / {}",
        args.out.display(),
        pdf.len() / 1024,
        figures
            .piles
            .map_or_else(|| "—".to_owned(), |p| evgrid_app::regulator::monthly::thousands(p.total())),
        figures.planning_radius_km,
        figures.townships_covered,
        figures.townships_total
    );
    Ok(())
}
