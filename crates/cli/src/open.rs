//! Opening what the commands work on: the reference geography and the application over the
//! store — SQLite in a data directory by default, or a database by URL.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use evgrid_app::{App, Settings};
use evgrid_geo::ReferenceData;

/// Where a command's data is.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    /// Data directory: holds the SQLite database unless --database names another, and the
    /// demo's files.
    #[arg(long, default_value = "./var", env = "EVGRID_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The database by URL instead of SQLite in --data-dir: postgres://USER[:PASSWORD]@HOST:PORT/DB
    /// (PostgreSQL) or sqlite:PATH.
    #[arg(long, env = "EVGRID_DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
    /// The key that seals operators' secrets and issued tokens in the database (64 hex
    /// characters; made on first use, 0600). Default: DATA_DIR/secret.key. Keep it out of the
    /// database's backups, or give it as EVGRID_SECRET_KEY instead.
    #[arg(long, env = "EVGRID_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
}

impl StoreArgs {
    /// The store's location as `evgrid_store` reads it.
    pub fn location(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.display()))
    }

    /// Where the data is, for people (a URL's password hidden).
    pub fn shown(&self) -> String {
        match &self.database {
            Some(url) => evgrid_app::shown_location(url),
            None => format!("the data directory {}", self.data_dir.display()),
        }
    }
}

pub(crate) fn reference() -> Result<Arc<ReferenceData>> {
    Ok(Arc::new(
        ReferenceData::embedded().context("reading the embedded Ganzhou reference data")?,
    ))
}

/// The application over the store of `store`, with `settings` (and the secret key of `store`
/// unless `settings` has a sealer: read, or made, once the database answered).
pub(crate) async fn open_app_with(store: &StoreArgs, settings: Settings) -> Result<App> {
    let has_sealer = settings.sealer.is_some();
    let app = App::open_location(&store.location(), reference()?, settings)
        .await
        .with_context(|| format!("opening {}", store.shown()))?;
    if !has_sealer {
        app.live().set_sealer(crate::secret_key::sealer(store)?)?;
    }
    Ok(app)
}

/// The application over the store of `store`.
pub(crate) async fn open_app(store: &StoreArgs) -> Result<App> {
    open_app_with(store, Settings::default()).await
}
