//! The engines a benchmark runs on: SQLite in a temporary directory always, and PostgreSQL when
//! `--database` names a server. On PostgreSQL the benchmark makes a scratch database of its own
//! on that server (so a production database is never written) and drops it afterwards.

use anyhow::{Context, Result};
use sqlx::Connection;

/// The `--database` option the storage benchmarks share.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// Also measure on PostgreSQL: a server URL (postgres://USER@HOST:PORT/DB) whose user may
    /// create databases. The benchmark creates `evgrid_bench_PID` there and drops it at the end.
    #[arg(long, env = "EVGRID_BENCH_DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
}

/// One engine to measure.
pub(crate) struct Engine {
    /// Its name in the tables.
    pub name: &'static str,
    /// Where the store is (as `Store::open` reads it).
    pub location: String,
    /// What to remove afterwards.
    _scratch: Scratch,
}

enum Scratch {
    Directory(#[allow(dead_code)] tempfile::TempDir),
    Database { server: String, name: String },
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Scratch::Database { server, name } = self {
            // A thread of its own: this may run inside the benchmark's runtime.
            let (server, name) = (server.clone(), name.clone());
            let dropped = std::thread::spawn(move || -> Result<()> {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(async {
                        let mut admin = sqlx::PgConnection::connect(&server).await?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .await?;
                        Ok(())
                    })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop the scratch database {}", self.name());
            }
        }
    }
}

impl Scratch {
    fn name(&self) -> &str {
        match self {
            Scratch::Directory(_) => "",
            Scratch::Database { name, .. } => name,
        }
    }
}

/// The engines `args` asks for: SQLite first, then PostgreSQL.
pub(crate) async fn engines(args: &EngineArgs, bench: &str) -> Result<Vec<Engine>> {
    let dir = tempfile::tempdir()?;
    let mut out = vec![Engine {
        name: "SQLite",
        location: format!("sqlite:{}", dir.path().display()),
        _scratch: Scratch::Directory(dir),
    }];
    if let Some(server) = &args.database {
        let name = format!("evgrid_bench_{bench}_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(server).await.with_context(|| {
            format!(
                "connecting to {} (--database)",
                evgrid_app::shown_location(server)
            )
        })?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .context("creating the scratch database (the user needs CREATEDB)")?;
        let base = server
            .split('?')
            .next()
            .and_then(|s| s.rsplit_once('/'))
            .map_or(server.as_str(), |(base, _)| base);
        out.push(Engine {
            name: "PostgreSQL",
            location: format!("{base}/{name}"),
            _scratch: Scratch::Database {
                server: server.clone(),
                name,
            },
        });
    }
    Ok(out)
}
