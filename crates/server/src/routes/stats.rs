//! Headline statistics: piles, stations and connectors by category, city-wide and per county.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use evgrid_app::regulator::statistics::{self as regulator, Window};
use evgrid_model::stats::{Bucket, Dimension, UsageKey};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Caller, REGULATORS};
use crate::dto::ByCategory;
use crate::export::{format_param, respond};
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
    let counts = state.app.network().region_counts().await?;
    let mut counties: Vec<CountySummary> = state
        .app
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
                    || (&evgrid_model::Counts::default()).into(),
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
    let (by_status, stale) = state.app.live().status_counts(now).await?;
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

/// What `by` takes for breakdowns (documentation).
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakdownBy {
    Category,
    County,
    Township,
    Operator,
    PowerClass,
    ConnectorStandard,
    Current,
}

/// What `by` takes for utilization and faults (documentation).
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UsageBy {
    Station,
    County,
    Operator,
}

/// Time buckets (documentation).
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BucketParam {
    Day,
    Hour,
}

/// One group of a breakdown.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakdownItem {
    /// The group: a county or township code, an operator id, a power class (`60-120kW`), a
    /// connector standard (`2015:4` = GB/T 2015, DC plug), a current (`dc`); null for stations
    /// without one (outside every county).
    pub key: Option<String>,
    pub name: Option<String>,
    pub stations: ByCategory,
    pub piles: ByCategory,
    pub connectors: ByCategory,
    /// This group's piles over the parent total when one is configured (`--parent-piles`).
    pub share_of_parent: Option<f64>,
}

/// A breakdown.
#[derive(Debug, Serialize, ToSchema)]
pub struct Breakdown {
    pub by: String,
    pub groups: Vec<BreakdownItem>,
    /// The parent total (e.g. the province's piles) and its name, when configured.
    pub parent: Option<ParentTotal>,
}

/// A parent total that the city's piles are a share of.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParentTotal {
    pub name: String,
    pub piles: i64,
}

const FORMAT_DOC: &str = "json (default), csv or xlsx";

fn dimension(p: &mut Params) -> Option<(Dimension, String)> {
    let text = p.text(&["by"])?;
    let d = match text.as_str() {
        "category" => Dimension::Category,
        "county" => Dimension::County,
        "township" => Dimension::Township,
        "operator" => Dimension::Operator,
        "power_class" => Dimension::PowerClass,
        "connector_standard" => Dimension::ConnectorStandard,
        "current" => Dimension::Current,
        _ => {
            p.error("by", format!("{text:?} is not category, county, township, operator, power_class, connector_standard or current"));
            return None;
        }
    };
    Some((d, text))
}

fn usage_by(p: &mut Params) -> UsageKey {
    match p.text(&["by"]).as_deref() {
        None | Some("county") => UsageKey::County,
        Some("station") => UsageKey::Station,
        Some("operator") => UsageKey::Operator,
        Some(other) => {
            p.error(
                "by",
                format!("{other:?} is not station, county or operator"),
            );
            UsageKey::County
        }
    }
}

/// Reads `from` and `to` (YYYY-MM-DD, days in UTC+8, `to` included); default the last 7 days.
fn window(p: &mut Params) -> Window {
    let mut day = |name: &'static str| -> Option<i64> {
        let text = p.text(&[name])?;
        match evgrid_app::regulator::targets::parse_day(&text) {
            Some(d) => Some(d),
            None => {
                p.error(name, format!("{text:?} is not a date (YYYY-MM-DD)"));
                None
            }
        }
    };
    let (from, to) = (day("from"), day("to"));
    let today = evgrid_app::regulator::targets::parse_day(&evgrid_app::regulator::targets::today())
        .unwrap_or(0);
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - 6);
    let from = from.min(to);
    let offset = 8 * 3600;
    Window {
        from: from * 86_400 - offset,
        to: (to + 1) * 86_400 - offset,
    }
}

/// Stations, piles and connectors by category, grouped by county, township, operator, power
/// class (of the pile), connector standard (edition and type; a pile counts in each group it
/// has a connector of) or current; with each group's share of a configured parent total.
#[utoipa::path(get, path = "/api/v1/stats/breakdown", tag = "stats",
    security(("bearer" = []), ("session" = [])),
    params(
        ("by" = BreakdownBy, Query, description = "What to group by"),
        ("format" = Option<crate::export::TableFormatParam>, Query, description = FORMAT_DOC),
    ),
    responses(
        (status = 200, description = "The groups", content(
            (Breakdown = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A bad, missing or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn breakdown(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let by = dimension(&mut p);
    let by = p.required("by", by);
    let format = format_param(&mut p, false);
    p.finish()?;
    let Some((dim, name)) = by else {
        return Err(ApiError::BadRequest("by is required".into()));
    };
    let rows = state.app.regulator().breakdown(dim).await?;
    let names = state.app.regulator().breakdown_names(dim).await?;
    let parent = state.parent.clone();
    let body = Breakdown {
        by: name.clone(),
        groups: rows
            .iter()
            .map(|r| BreakdownItem {
                key: r.key.clone(),
                name: r.key.as_ref().and_then(|k| names.get(k).cloned()),
                stations: r.stations.into(),
                piles: r.piles.into(),
                connectors: r.connectors.into(),
                share_of_parent: parent
                    .as_ref()
                    .filter(|p| p.piles > 0)
                    .map(|p| r.piles.total() as f64 / p.piles as f64),
            })
            .collect(),
        parent,
    };
    respond(format, &body, || {
        regulator::breakdown_table(&name, &rows, &names)
    })
}

/// The registry's size day by day (a snapshot is taken every hour; the last of a day stays).
#[utoipa::path(get, path = "/api/v1/stats/growth", tag = "stats",
    security(("bearer" = []), ("session" = [])),
    params(("format" = Option<crate::export::TableFormatParam>, Query, description = FORMAT_DOC)),
    responses(
        (status = 200, description = "Days, oldest first", content(
            (Object = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn growth(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let format = format_param(&mut p, false);
    p.finish()?;
    let rows = state.app.regulator().snapshots().await?;
    let body: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "day": r.day,
                "stations": ByCategory::from(r.stations),
                "piles": ByCategory::from(r.piles),
                "connectors": ByCategory::from(r.connectors),
            })
        })
        .collect();
    respond(format, &serde_json::json!({ "days": body }), || {
        regulator::growth_table(&rows)
    })
}

/// Utilization: charging time over available time (connectors × hours), energy and sessions,
/// per station, county or operator, by day or by hour of the day (UTC+8). A session counts in
/// the bucket it started in; its time is clipped to the window.
#[utoipa::path(get, path = "/api/v1/stats/utilization", tag = "stats",
    security(("bearer" = []), ("session" = [])),
    params(
        ("by" = Option<UsageBy>, Query, description = "Group by (default county)"),
        ("bucket" = Option<BucketParam>, Query, description = "day (default) or hour"),
        ("from" = Option<String>, Query, format = Date, description = "First day, YYYY-MM-DD (default 6 days before `to`)"),
        ("to" = Option<String>, Query, format = Date, description = "Last day, YYYY-MM-DD (default today)"),
        ("format" = Option<crate::export::TableFormatParam>, Query, description = FORMAT_DOC),
    ),
    responses(
        (status = 200, description = "Rows", content(
            (Object = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn utilization(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let by = usage_by(&mut p);
    let bucket = match p.text(&["bucket"]).as_deref() {
        None | Some("day") => Bucket::Day,
        Some("hour") => Bucket::Hour,
        Some(other) => {
            p.error("bucket", format!("{other:?} is not day or hour"));
            Bucket::Day
        }
    };
    let window = window(&mut p);
    let format = format_param(&mut p, false);
    p.finish()?;
    let rows = state
        .app
        .regulator()
        .utilization(by, bucket, window)
        .await?;
    respond(format, &serde_json::json!({ "rows": rows }), || {
        regulator::utilization_table(&rows)
    })
}

/// Faults per station, county or operator: episodes overlapping the window (a connector
/// reporting `faulted` until it reports anything else), their hours, the mean time to repair
/// of those that ended, and the online rate now (connectors whose latest status is neither
/// offline nor faulted, over all connectors).
#[utoipa::path(get, path = "/api/v1/stats/faults", tag = "stats",
    security(("bearer" = []), ("session" = [])),
    params(
        ("by" = Option<UsageBy>, Query, description = "Group by (default county)"),
        ("from" = Option<String>, Query, format = Date, description = "First day, YYYY-MM-DD (default 6 days before `to`)"),
        ("to" = Option<String>, Query, format = Date, description = "Last day, YYYY-MM-DD (default today)"),
        ("format" = Option<crate::export::TableFormatParam>, Query, description = FORMAT_DOC),
    ),
    responses(
        (status = 200, description = "Rows", content(
            (Object = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn faults(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let by = usage_by(&mut p);
    let window = window(&mut p);
    let format = format_param(&mut p, false);
    p.finish()?;
    let rows = state.app.regulator().fault_summaries(by, window).await?;
    respond(format, &serde_json::json!({ "rows": rows }), || {
        regulator::faults_table(&rows)
    })
}

/// The city's targets with progress, trend and the projected day (piles from the registry,
/// fleet vehicles and parking spaces from imported figures: `evgrid targets import`).
#[utoipa::path(get, path = "/api/v1/targets", tag = "stats",
    security(("bearer" = []), ("session" = [])),
    params(("format" = Option<crate::export::TableFormatParam>, Query, description = FORMAT_DOC)),
    responses(
        (status = 200, description = "Targets", content(
            (Object = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn targets(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let format = format_param(&mut p, false);
    p.finish()?;
    let rows = state.app.regulator().target_statuses().await?;
    respond(format, &serde_json::json!({ "targets": rows }), || {
        regulator::targets_table(&rows)
    })
}

/// Every operator's data quality in one table (the per-operator report has the detail).
#[utoipa::path(get, path = "/api/v1/operators/data-quality", tag = "operators",
    security(("bearer" = []), ("session" = [])),
    params(("format" = Option<crate::export::TableFormatParam>, Query, description = FORMAT_DOC)),
    responses(
        (status = 200, description = "Reports", content(
            (Object = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn all_quality(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let format = format_param(&mut p, false);
    p.finish()?;
    let rows = state.app.live().all_data_quality().await?;
    respond(format, &serde_json::json!({ "operators": rows }), || {
        regulator::quality_table(&rows)
    })
}

/// The regulator's workbook: every table (service radius, townships, hot spots, charging circle,
/// breakdowns by county/operator/power class/connector standard, growth, utilization and faults
/// of the last 7 days by county, targets, data quality), a sheet each.
#[utoipa::path(get, path = "/api/v1/reports/regulator.xlsx", tag = "stats",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "An unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn workbook(
    State(state): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    p.finish()?;
    let tables = regulator_tables(&state).await?;
    crate::export::workbook("evgrid-regulator", &tables)
}

/// Every table of the regulator's workbook.
pub async fn regulator_tables(state: &AppState) -> Result<Vec<evgrid_report::Table>, ApiError> {
    let app = state.app.clone();
    let report = tokio::task::spawn_blocking(move || {
        app.regulator().coverage(
            evgrid_app::regulator::coverage::DEFAULT_GRID_M,
            &evgrid_geo::coverage::CoverageOptions::default(),
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(state.app.regulator().regulator_tables(&report).await?)
}
