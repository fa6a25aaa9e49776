//! Opening what the commands work on: the reference geography and the registry over a data
//! directory.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use evgrid_geo::ReferenceData;
use evgrid_registry::Registry;

pub(crate) fn reference() -> Result<Arc<ReferenceData>> {
    Ok(Arc::new(
        ReferenceData::embedded().context("reading the embedded Ganzhou reference data")?,
    ))
}

pub(crate) async fn open_registry_dir(data_dir: &Path) -> Result<Registry> {
    Registry::open_dir(data_dir, reference()?)
        .await
        .with_context(|| format!("opening the registry in {}", data_dir.display()))
}

pub(crate) async fn open_registry(data_dir: &Path) -> Result<Arc<Registry>> {
    Ok(Arc::new(open_registry_dir(data_dir).await?))
}
