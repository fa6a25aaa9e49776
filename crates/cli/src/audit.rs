//! `evgrid audit`: the audit log (who sent which command to which charger, who changed which
//! operator's credentials, account, charger or id token), and the lines the command line writes
//! to it.

use anyhow::Result;
use evgrid_app::accounts::Actor;
use evgrid_app::App;
use evgrid_model::AuditFilter;

/// Writes a line to the audit log as the command line (`cli:SYSTEM-USER`).
pub async fn write(app: &App, action: &str, target: &str, detail: &str) -> Result<()> {
    app.accounts()
        .audit(&Actor::CommandLine, action, target, detail)
        .await?;
    Ok(())
}

/// Options of `evgrid audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only lines about this id (a charger, operator, user or token).
    #[arg(long)]
    target: Option<String>,
    /// Only lines by this actor, e.g. `user:ops` or `cli:root`.
    #[arg(long)]
    actor: Option<String>,
    /// Only lines of the last this many hours.
    #[arg(long)]
    hours: Option<u32>,
    /// At most this many lines (newest first).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=1000))]
    limit: i64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: crate::open::StoreArgs,
}

/// Prints the audit log, newest first.
pub async fn run(args: AuditArgs) -> Result<()> {
    let app = crate::open::open_app(&args.store).await?;
    let filter = AuditFilter {
        target: args.target,
        actor: args.actor,
        since: args
            .hours
            .map(|h| evgrid_model::time::unix_now() - i64::from(h) * 3600),
        before: None,
        limit: args.limit,
    };
    let lines = app.accounts().audit_log(&filter).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&lines)?);
        return Ok(());
    }
    if lines.is_empty() {
        println!("no audit lines");
    }
    for l in &lines {
        println!(
            "{}  {:<20} {:<26} {:<24} {}",
            evgrid_model::time::format_rfc3339(l.at),
            l.actor,
            l.action,
            l.target,
            l.detail
        );
    }
    Ok(())
}
