//! `evgrid targets`: the city's targets, their progress, and imports of progress figures.

use std::path::PathBuf;

use anyhow::Result;

/// What to do with targets.
#[derive(clap::Subcommand, Debug)]
pub enum TargetsCommand {
    /// List the targets with progress, trend and projected day.
    List {
        #[command(flatten)]
        store: crate::open::StoreArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import progress figures from CSV: `target_id,day,value[,source]` with that header
    /// (e.g. `fleet_bus,2026-06-30,1850,市交通局`). All lines or none.
    Import {
        #[command(flatten)]
        store: crate::open::StoreArgs,
        file: PathBuf,
    },
}

/// Runs the command.
pub async fn run(command: TargetsCommand) -> Result<()> {
    match command {
        TargetsCommand::List { store, json } => {
            let app = crate::open::open_app(&store).await?;
            let rows = app.regulator().target_statuses().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            for t in rows {
                let progress = t
                    .progress
                    .map_or(String::new(), |p| format!(" ({:.1}%)", p * 100.0));
                let current = t.current.map_or("no figure yet".to_owned(), |c| {
                    format!(
                        "{c:.0} {}{progress} as of {}",
                        t.target.unit,
                        t.as_of.as_deref().unwrap_or("?")
                    )
                });
                let value = if t.target.value > 0.0 {
                    format!(
                        "{:.0} {} by {}",
                        t.target.value, t.target.unit, t.target.deadline
                    )
                } else {
                    format!("part of {}", t.target.parent_id.as_deref().unwrap_or("-"))
                };
                let projection = match (&t.projected_day, t.on_track) {
                    (Some(d), Some(true)) => format!(", projected {d} (on track)"),
                    (Some(d), _) => format!(", projected {d} (late)"),
                    _ => String::new(),
                };
                println!(
                    "{} {} / {}: {value}; {current}{projection}",
                    t.target.id, t.target.name_zh, t.target.name_en
                );
            }
            Ok(())
        }
        TargetsCommand::Import { store, file } => {
            let app = crate::open::open_app(&store).await?;
            match app.regulator().import_progress(&file).await {
                Ok(n) => {
                    println!("imported {n} progress figure(s) from {}", file.display());
                    Ok(())
                }
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
        }
    }
}
