//! `evgrid migrate`: move a deployment from SQLite (a data directory) to PostgreSQL.

use anyhow::{Context, Result};
use evgrid_app::{Duplicates, MigrationProgress};

/// Where from, where to, and what happens to rows the target holds.
#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The SQLite deployment: sqlite:DIR (a data directory), sqlite:FILE.sqlite, or a data
    /// directory.
    #[arg(long, default_value = "sqlite:./var")]
    from: String,
    /// The PostgreSQL database: postgres://USER[:PASSWORD]@HOST:PORT/DB (its schema is made
    /// first).
    #[arg(long, env = "EVGRID_DATABASE_URL", hide_env_values = true)]
    to: String,
    /// What to do when the target already holds data (without it, such a target is refused):
    /// `keep` leaves each row the target holds as it is and adds the others (run it again this
    /// way after a migration that stopped half way: no row is doubled); `replace` overwrites the
    /// target's rows with the source's.
    #[arg(long, value_parser = parse_duplicates)]
    append: Option<Duplicates>,
}

fn parse_duplicates(text: &str) -> Result<Duplicates, String> {
    match text {
        "keep" => Ok(Duplicates::Keep),
        "replace" => Ok(Duplicates::Replace),
        other => Err(format!("{other:?}: keep or replace")),
    }
}

/// Runs the command: copies, then prints each table's rows on both sides.
pub async fn run(args: MigrateArgs) -> Result<()> {
    let from = evgrid_app::shown_location(&args.from);
    let to = evgrid_app::shown_location(&args.to);
    let bar = crate::output::bar(0);
    let mut progress = |event: MigrationProgress| match event {
        MigrationProgress::Started { rows } => bar.set_length(rows),
        MigrationProgress::Copied { table, rows } => {
            bar.set_message(table);
            bar.inc(rows);
        }
        MigrationProgress::Committed { group } => {
            bar.println(format!("committed: {group}"));
        }
    };
    let counts = evgrid_app::migrate(
        &args.from,
        &args.to,
        args.append.unwrap_or(Duplicates::Refuse),
        &mut progress,
    )
    .await
    .with_context(|| format!("migrating {from} to {to}"))?;
    bar.finish_and_clear();
    println!("migrated {from} to {to}");
    println!(
        "{:<22} {:<22} {:>10} {:>14} {:>14}",
        "group", "table", "source", "target before", "target after"
    );
    for c in &counts {
        println!(
            "{:<22} {:<22} {:>10} {:>14} {:>14}",
            c.group, c.table, c.source_rows, c.target_rows_before, c.target_rows_after
        );
    }
    let source: u64 = counts.iter().map(|c| c.source_rows).sum();
    let after: u64 = counts.iter().map(|c| c.target_rows_after).sum();
    println!(
        "{:<22} {:<22} {source:>10} {:>14} {after:>14}",
        "all", "", ""
    );
    let short: Vec<String> = counts
        .iter()
        .filter(|c| c.target_rows_after < c.source_rows)
        .map(|c| format!("{} ({} of {})", c.table, c.target_rows_after, c.source_rows))
        .collect();
    if !short.is_empty() {
        anyhow::bail!(
            "the target holds fewer rows than the source in: {}",
            short.join(", ")
        );
    }
    Ok(())
}
