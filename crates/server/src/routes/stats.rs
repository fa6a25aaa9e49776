//! Headline statistics: piles, stations and connectors by category, city-wide and per county.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::ByCategory;
use crate::params::Params;
use crate::routes::regions::RegionCounts;
use crate::{ApiError, AppState};

/// One county's counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountySummary {
    /// County code; null for stations outside the city.
    pub code: Option<String>,
    pub name_zh: Option<String>,
    #[serde(flatten)]
    pub counts: RegionCounts,
}

/// The city's totals. A pile is one piece of charging equipment (T/CEC EquipmentInfo); the
/// city's reported 19,000 counts piles, not connectors.
#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    pub piles: ByCategory,
    pub stations: ByCategory,
    pub connectors: ByCategory,
    /// Connectors by live status; `unknown` counts connectors never reported.
    pub connector_status: ConnectorStatusCounts,
    pub counties: Vec<CountySummary>,
}

/// Connectors by their latest reported status.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ConnectorStatusCounts {
    pub available: i64,
    pub charging: i64,
    pub occupied: i64,
    pub reserved: i64,
    pub offline: i64,
    pub faulted: i64,
    pub unknown: i64,
    /// Of the reported ones, how many are stale (older than the push interval): not truth.
    pub stale: i64,
}

/// Piles, stations and connectors by category (public, dedicated, private), and per county.
#[utoipa::path(get, path = "/api/v1/stats/summary", tag = "stats",
    responses(
        (status = 200, description = "Totals", body = Summary),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn summary(State(state): State<AppState>, p: Params) -> Result<Json<Summary>, ApiError> {
    p.finish()?;
    let counts = state.registry.store().region_counts().await?;
    let mut counties: Vec<CountySummary> = state
        .registry
        .reference()
        .counties
        .iter()
        .map(|c| CountySummary {
            code: Some(c.code.clone()),
            name_zh: Some(c.name_zh.clone()),
            counts: counts
                .by_county
                .iter()
                .find(|(k, _)| k.as_deref() == Some(c.code.as_str()))
                .map_or_else(
                    || (&evgrid_store::Counts::default()).into(),
                    |(_, v)| v.into(),
                ),
        })
        .collect();
    if let Some((_, outside)) = counts.by_county.iter().find(|(k, _)| k.is_none()) {
        counties.push(CountySummary {
            code: None,
            name_zh: None,
            counts: outside.into(),
        });
    }
    let now = evgrid_model::time::unix_now();
    let (by_status, stale) = state
        .registry
        .store()
        .status_counts(now, evgrid_registry::DEFAULT_STALE_AFTER_SECONDS)
        .await?;
    let mut connector_status = ConnectorStatusCounts {
        stale,
        ..ConnectorStatusCounts::default()
    };
    for (name, n) in by_status {
        let slot = match name.as_str() {
            "available" => &mut connector_status.available,
            "charging" => &mut connector_status.charging,
            "occupied" => &mut connector_status.occupied,
            "reserved" => &mut connector_status.reserved,
            "offline" => &mut connector_status.offline,
            "faulted" => &mut connector_status.faulted,
            _ => &mut connector_status.unknown,
        };
        *slot += n;
    }
    Ok(Json(Summary {
        connector_status,
        piles: counts.city.piles.into(),
        stations: counts.city.stations.into(),
        connectors: counts.city.connectors.into(),
        counties,
    }))
}
