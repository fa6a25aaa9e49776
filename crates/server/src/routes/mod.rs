//! The API's handlers, one module per area.

pub mod audit;
pub mod auth;
pub mod charging;
pub mod coverage;
pub mod map;
pub mod ocpp;
pub mod operators;
pub mod plans;
pub mod regions;
pub mod reports;
pub mod reservations;
pub mod search;
pub mod stations;
pub mod stats;
pub mod superiors;
pub mod system;
pub mod tcec;
pub mod tokens;

use evgrid_model::{Category, CoordSystem, OperatorId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::params::Params;
use crate::AppState;

/// Reads `coord` (the datum of returned coordinates).
pub fn coord_param(p: &mut Params) -> CoordSystem {
    p.parsed::<CoordSystem>(&["coord"], "a coordinate system (wgs84, gcj02 or bd09)")
        .unwrap_or_default()
}

/// Reads `category`: one category or a comma-separated list.
pub fn category_param(p: &mut Params) -> Option<Vec<Category>> {
    let text = p.text(&["category"])?;
    let mut out = Vec::new();
    for part in text.split(',') {
        match part.trim().parse::<Category>() {
            Ok(c) => out.push(c),
            Err(e) => {
                p.error("category", e);
                return None;
            }
        }
    }
    Some(out)
}

/// Reads `operator` and checks that the registry knows it.
pub async fn operator_param(
    p: &mut Params,
    state: &AppState,
) -> Result<Option<OperatorId>, crate::ApiError> {
    let Some(text) = p.text(&["operator", "operator_id"]) else {
        return Ok(None);
    };
    let Ok(id) = OperatorId::new(&text) else {
        p.error(
            "operator",
            format!("{text:?} is not an operator id (9 characters, 0-9 and A-Z)"),
        );
        return Ok(None);
    };
    if !state.app.network().knows_operator(&id)
        && !state
            .app
            .network()
            .operators()
            .await?
            .iter()
            .any(|o| o.id == id)
    {
        p.error("operator", format!("unknown operator {text}"));
        return Ok(None);
    }
    Ok(Some(id))
}

// Documentation-only types: they give the OpenAPI document the exact values a parameter takes.
// The handlers read parameters with `Params`, which accepts the same values.

/// The city's category of a station.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CategoryParam {
    Public,
    Dedicated,
    Private,
}

/// A coordinate system.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CoordParam {
    Wgs84,
    Gcj02,
    Bd09,
}

/// Direct or alternating current.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CurrentParam {
    Dc,
    Ac,
}

/// A connector type (T/CEC ConnectorType 1-6; the code is accepted too).
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorTypeParam {
    HouseholdSocket,
    AcSocket,
    AcPlug,
    DcPlug,
    Wireless,
    Other,
}
