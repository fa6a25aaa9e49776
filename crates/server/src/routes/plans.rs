//! Siting plans for the regulator: start one in the background, follow its progress, read or
//! download the result.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use evgrid_app::regulator::plan::{plan_tables, PlanError, PlanRequest};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Caller, REGULATORS};
use crate::export::{format_param, respond, workbook, Format};
use crate::params::Params;
use crate::{ApiError, AppState};

/// A plan request (documentation of [`PlanRequest`]; every field has a default).
#[allow(dead_code)]
#[derive(Serialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PlanRequestBody {
    /// New piles to place (default 5000).
    #[schema(minimum = 1, maximum = 200000)]
    pub new_piles: u32,
    /// Service radius, km (default 3).
    #[schema(exclusive_minimum = 0, maximum = 50)]
    pub radius_km: f64,
    /// One county: code, Chinese name or pinyin (default: the whole city).
    #[schema(schema_with = region_schema)]
    pub region: Option<String>,
    /// Number of new sites (default: one per 10 piles; at most 5000).
    #[schema(minimum = 1, maximum = 5000)]
    pub sites: Option<u32>,
    /// Most piles at one site (default 40).
    #[schema(minimum = 1, maximum = 10000)]
    pub max_piles_per_site: u32,
    /// Population grid cell, metres: 250, 500 (default), 1000 or 2000.
    #[schema(schema_with = grid_m_schema)]
    pub grid_m: f64,
    /// Seed of the search (default 1).
    pub seed: u64,
    /// Time limit of the search, seconds (default 60).
    #[schema(exclusive_minimum = 0, maximum = 3600)]
    pub time_limit_s: f64,
}

/// A plan's state. `result` (when `status` is `done`) holds the proposed sites with their
/// piles and the people they newly cover, the figures before and after (service radius,
/// people within the radius, townships and hot spots covered), per county, and the solver's
/// objective with its upper bound.
#[derive(Serialize, ToSchema)]
pub struct PlanJobDoc {
    pub id: u64,
    /// queued, running, done or failed.
    pub status: String,
    /// 0..1.
    pub progress: f64,
    /// queued, coverage, greedy, local_search, bound, improve or done.
    pub phase: String,
    pub objective: Option<f64>,
    pub error: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
}

fn grid_m_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Number)
        .enum_values(Some(crate::routes::coverage::GRID_SIZES))
        .description(Some(
            "Population grid cell, metres: 250, 500 (default), 1000 or 2000",
        ))
        .build()
}

/// The counties of the city by code, Chinese name and pinyin, or null for the whole city.
fn region_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    let mut names: Vec<serde_json::Value> = vec![serde_json::Value::Null];
    if let Ok(data) = evgrid_geo::ReferenceData::embedded() {
        for c in &data.counties {
            names.extend(
                [c.code.clone(), c.name_zh.clone(), c.name_pinyin.clone()]
                    .map(serde_json::Value::from),
            );
        }
    }
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(names))
        .description(Some(
            "One county: its code, Chinese name or pinyin; null or absent for the whole city",
        ))
        .build()
}

fn plan_error(e: PlanError) -> ApiError {
    match e {
        PlanError::Invalid(m) => ApiError::BadRequest(m),
        busy @ PlanError::Busy(_) => ApiError::TooManyRequests(busy.to_string(), 10),
        PlanError::Storage(e) => evgrid_app::AppError::from(e).into(),
    }
}

/// Starts a siting plan (maximal covering location: where the new piles bring the most people
/// within the radius of a public station) as a background job. Answers 202 with the job; follow
/// it at `Location`. Plans run one at a time, the others wait (`queued`); with 4 waiting or
/// running, 429. Sites beyond the piles become one pile per site, and a per-site cap too small
/// for the piles is raised (the result's `notes` say so).
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans",
    security(("bearer" = []), ("session" = [])),
    request_body = PlanRequestBody,
    responses(
        (status = 202, description = "Started", body = PlanJobDoc),
        (status = 400, description = "A bad body or parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
        (status = 429, description = "4 plans already queued or running", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<PlanRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let user = caller.require(REGULATORS)?;
    let Json(request) = body.map_err(|e| ApiError::from_json_rejection("the body", &e))?;
    // Each grid size is a population grid kept in memory: the API offers the coverage API's.
    if !crate::routes::coverage::GRID_SIZES.contains(&request.grid_m) {
        return Err(ApiError::BadRequest(format!(
            "grid_m {} is not one of 250, 500, 1000, 2000",
            request.grid_m
        )));
    }
    let id = state
        .app
        .regulator()
        .start_plan(request, &user.username)
        .await
        .map_err(plan_error)?;
    let job = state
        .app
        .regulator()
        .plans()
        .get(id)
        .await?
        .ok_or_else(|| ApiError::Internal("the plan vanished".into()))?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/v1/plans/{id}"))],
        Json(job),
    )
        .into_response())
}

/// A plan: its status and progress, and when done its result. `format=xlsx` downloads the
/// workbook (summary, proposed sites, counties); `csv` and `geojson` the proposed sites.
/// Plans are kept in the database (the latest 20): any node answers for any plan.
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans",
    security(("bearer" = []), ("session" = [])),
    params(
        ("id" = u64, Path, description = "The plan's id"),
        ("format" = Option<crate::export::FormatParam>, Query, description = "json (default), or a download once done: xlsx, csv, geojson"),
    ),
    responses(
        (status = 200, description = "The plan (JSON), or its workbook, sites as CSV or GeoJSON", content(
            (PlanJobDoc = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Object = "application/geo+json"),
        )),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan (or no longer kept)", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A download of a plan not done", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let format = format_param(&mut p, true);
    p.finish()?;
    let job = match id.parse::<u64>() {
        Ok(n) => state.app.regulator().plans().get(n).await?,
        Err(_) => None,
    }
    .ok_or_else(|| ApiError::NotFound(format!("no plan {id:?}")))?;
    if format == Format::Json {
        return Ok(Json(job).into_response());
    }
    let result = job.result.as_ref().ok_or_else(|| {
        ApiError::Conflict(format!(
            "plan {} is {}: nothing to download yet",
            job.id, job.status
        ))
    })?;
    let mut tables = plan_tables(result);
    if format == Format::Xlsx {
        return workbook(&format!("evgrid-plan-{}", job.id), &tables);
    }
    let sites = tables.swap_remove(1);
    respond(format, &(), || sites)
}
