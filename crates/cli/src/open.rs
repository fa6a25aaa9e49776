//! Opening what the commands work on: the reference geography and the application over a data
//! directory.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use evgrid_app::{App, Settings};
use evgrid_geo::ReferenceData;

pub(crate) fn reference() -> Result<Arc<ReferenceData>> {
    Ok(Arc::new(
        ReferenceData::embedded().context("reading the embedded Ganzhou reference data")?,
    ))
}

/// The application over the SQLite database in `data_dir`, with `settings`.
pub(crate) async fn open_app_with(data_dir: &Path, settings: Settings) -> Result<App> {
    App::open_location(
        &format!("sqlite:{}", data_dir.display()),
        reference()?,
        settings,
    )
    .await
    .with_context(|| format!("opening the data directory {}", data_dir.display()))
}

/// The application over the SQLite database in `data_dir`.
pub(crate) async fn open_app(data_dir: &Path) -> Result<App> {
    open_app_with(data_dir, Settings::default()).await
}
