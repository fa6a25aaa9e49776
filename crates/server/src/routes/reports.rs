//! The regulator's monthly report: its figures as JSON and the report itself as a PDF (A4,
//! Chinese by default). One report is made at a time: each takes a second or more of CPU.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use evgrid_app::regulator::monthly::{Month, MonthlyFigures};
use evgrid_report::Lang;
use tokio::sync::Semaphore;

use crate::auth::{Caller, REGULATORS};
use crate::params::Params;
use crate::{ApiError, AppState};

/// A month, `YYYY-MM` from 2000-01 to 2200-12 (documentation).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, pattern = "^(20[0-9]{2}|21[0-9]{2}|2200)-(0[1-9]|1[0-2])$", example = "2026-11")]
pub struct MonthParam(String);

/// The report's language (documentation).
#[allow(dead_code)]
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LangParam {
    Zh,
    En,
}

/// Reports being made at once; more are answered 429.
static MAKING: Semaphore = Semaphore::const_new(1);

/// `month` (default: the current month) and `lang` (default: zh).
fn month_and_lang(p: &mut Params) -> (Month, Lang) {
    let month = match p.text(&["month"]) {
        None => Month::current(),
        Some(text) => Month::parse(&text).unwrap_or_else(|| {
            p.error(
                "month",
                format!("{text:?} is not a month YYYY-MM between 2000 and 2200"),
            );
            Month::current()
        }),
    };
    let lang = match p.text(&["lang"]) {
        None => Lang::Zh,
        Some(text) => Lang::parse(&text).unwrap_or_else(|| {
            p.error("lang", format!("{text:?} is not zh or en"));
            Lang::Zh
        }),
    };
    (month, lang)
}

async fn make(
    state: &AppState,
    month: Month,
    lang: Lang,
) -> Result<(MonthlyFigures, Vec<u8>), ApiError> {
    let _turn = MAKING.try_acquire().map_err(|_| {
        ApiError::TooManyRequests(
            "a monthly report is being made: try again in a few seconds".into(),
            5,
        )
    })?;
    let regulator = state.app.regulator();
    let plan = regulator.plans().latest_result().await?;
    Ok(regulator.monthly_pdf(month, lang, plan, &|_| {}).await?)
}

/// The monthly report as a PDF: headline figures against the targets and the last month,
/// counties, growth and utilization, faults and online rate, operators' data quality, the
/// largest townships without a public station, the latest siting plan (made on any node), and
/// the coverage map.
#[utoipa::path(get, path = "/api/v1/reports/monthly.pdf", tag = "stats",
    security(("bearer" = []), ("session" = [])),
    params(
        ("month" = Option<MonthParam>, Query, description = "YYYY-MM (default: the current month, UTC+8)"),
        ("lang" = Option<LangParam>, Query, description = "zh (default) or en"),
    ),
    responses(
        (status = 200, description = "The report", content_type = "application/pdf"),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Another report is being made", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn monthly_pdf(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    caller.require(REGULATORS)?;
    let (month, lang) = month_and_lang(&mut p);
    p.finish()?;
    let (_, pdf) = make(&state, month, lang).await?;
    let lang_tag = lang.pick("zh", "en");
    Ok(crate::export::pdf(
        format!("evgrid-monthly-{month}-{lang_tag}.pdf"),
        pdf,
    ))
}

/// The monthly report's figures as JSON: the numbers the PDF prints.
#[utoipa::path(get, path = "/api/v1/reports/monthly", tag = "stats",
    security(("bearer" = []), ("session" = [])),
    params(
        ("month" = Option<MonthParam>, Query, description = "YYYY-MM (default: the current month, UTC+8)"),
    ),
    responses(
        (status = 200, description = "The figures", body = Object, content_type = "application/json"),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a regulator or admin", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn monthly_figures(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Json<MonthlyFigures>, ApiError> {
    caller.require(REGULATORS)?;
    let (month, _) = month_and_lang(&mut p);
    p.finish()?;
    let regulator = state.app.regulator();
    let app = state.app.clone();
    let coverage = tokio::task::spawn_blocking(move || {
        app.regulator().coverage(
            evgrid_app::regulator::coverage::DEFAULT_GRID_M,
            &evgrid_geo::coverage::CoverageOptions::default(),
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let plan = regulator.plans().latest_result().await?;
    Ok(Json(
        regulator
            .monthly_figures(month, &coverage, plan.as_deref())
            .await?,
    ))
}
