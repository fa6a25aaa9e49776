//! The station registry: lists with filters and pagination, and one station in full.

use axum::extract::{Path, State};
use axum::Json;
use evgrid_model::StationListFilter;
use evgrid_model::{CoordSystem, StationKey};
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::{point, Fen, Point, StationItem, StationPage};
use crate::params::Params;
use crate::routes::{category_param, operator_param, CategoryParam};
use crate::{ApiError, AppState, Problem};

/// Largest page.
pub const MAX_PAGE_SIZE: i64 = 1000;
const DEFAULT_PAGE_SIZE: i64 = 50;

/// Stations, filtered and paged, ordered by operator and station id.
#[utoipa::path(get, path = "/api/v1/stations", tag = "stations",
    params(
        ("county" = Option<String>, Query, description = "County code (GB/T 2260, e.g. 360702)"),
        ("township" = Option<String>, Query, description = "Township code (9 digits, e.g. 360702001)"),
        ("operator" = Option<String>, Query, description = "OperatorID of a known operator"),
        ("category" = Option<CategoryParam>, Query, description = "public, dedicated or private"),
        ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000, description = "Page number (default 1)"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Items per page (default 50)"),
    ),
    responses(
        (status = 200, description = "A page of stations", body = StationPage),
        (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_stations(
    State(state): State<AppState>,
    mut p: Params,
) -> Result<Json<StationPage>, ApiError> {
    let county = p.text(&["county"]);
    if let Some(c) = &county {
        if !state.names.counties.contains_key(c) {
            p.error(
                "county",
                format!("unknown county {c:?}; see /api/v1/regions"),
            );
        }
    }
    let township = p.text(&["township"]);
    if let Some(t) = &township {
        if !state.names.townships.contains_key(t) {
            p.error(
                "township",
                format!("unknown township {t:?}; see /api/v1/regions"),
            );
        }
    }
    let operator = operator_param(&mut p, &state).await?;
    let category = category_param(&mut p);
    if category.as_ref().is_some_and(|c| c.len() > 1) {
        p.error("category", "give one category");
    }
    let (page, page_size) = p.page(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    p.finish()?;
    let filter = StationListFilter {
        county_code: county,
        township_code: township,
        operator_id: operator.map(|o| o.to_string()),
        category: category.and_then(|c| c.first().copied()),
    };
    let (items, total) = state
        .app
        .network()
        .list_stations(&filter, (page - 1) * page_size, page_size)
        .await?;
    Ok(Json(StationPage {
        items: items
            .into_iter()
            .map(|s| StationItem::new(s, &state.names))
            .collect(),
        total,
        page,
        page_size,
    }))
}

/// A connector of a pile.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorView {
    /// The operator's ConnectorID.
    pub id: String,
    /// The id `POST /api/v1/sessions` and `POST /api/v1/reservations` take:
    /// `OPERATORID:CONNECTORID`.
    pub full_id: String,
    pub name: Option<String>,
    /// household_socket, ac_socket, ac_plug, dc_plug, wireless or other.
    pub connector_type: &'static str,
    /// T/CEC ConnectorType as sent.
    pub connector_type_code: i32,
    /// dc or ac.
    pub current: &'static str,
    /// GB/T 20234 edition: 1 = 2011, 2 = 2015.
    pub national_standard: i32,
    pub power_kw: f64,
    pub voltage_upper_v: u32,
    pub voltage_lower_v: u32,
    pub current_a: u32,
    #[serde(flatten)]
    pub live: LiveStatus,
}

/// A connector's live status.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveStatus {
    /// offline, available, occupied, charging, reserved, faulted, or unknown when never
    /// reported. A stale status (older than the operator's push interval) is not truth.
    pub status: &'static str,
    /// When the status was observed, seconds since 1970 (UTC); null if never.
    pub status_observed_at: Option<i64>,
    /// Where it came from: tcec_push, tcec_pull or ocpp.
    pub status_source: Option<String>,
    /// True when the status is older than the operator's configured interval (15 minutes
    /// unless the operator's registration says otherwise).
    pub status_stale: bool,
}

/// A pile (charging equipment).
#[derive(Debug, Serialize, ToSchema)]
pub struct EquipmentView {
    pub id: String,
    pub name: Option<String>,
    /// dc, ac, ac_dc, wireless or other.
    pub equipment_type: &'static str,
    pub power_kw: f64,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub production_date: Option<String>,
    pub connectors: Vec<ConnectorView>,
}

/// One time-of-use period.
#[derive(Debug, Serialize, ToSchema)]
pub struct TariffPeriodView {
    /// Local start time (Asia/Shanghai), HH:MM:SS.
    pub start: String,
    /// Local end time, HH:MM:SS (24:00:00 for the last period).
    pub end: String,
    /// Electricity fee, fen per kWh (exact decimal).
    #[schema(value_type = f64)]
    pub electricity_fen_per_kwh: Fen,
    /// Service fee, fen per kWh.
    #[schema(value_type = f64)]
    pub service_fen_per_kwh: Fen,
    /// Electricity plus service, fen per kWh.
    #[schema(value_type = f64)]
    pub total_fen_per_kwh: Fen,
}

/// A station's time-of-use tariff.
#[derive(Debug, Serialize, ToSchema)]
pub struct TariffView {
    #[schema(example = "Asia/Shanghai")]
    pub timezone: &'static str,
    pub periods: Vec<TariffPeriodView>,
}

/// A station in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationDetail {
    #[serde(flatten)]
    pub summary: StationItem,
    pub operator_name: Option<String>,
    /// The station's position in GCJ-02, for Chinese map SDKs.
    pub gcj02: Point,
    /// How the township was assigned: nearest_centre (no township boundaries published) or polygon.
    pub township_method: Option<String>,
    /// T/CEC StationStatus (0 unknown, 1 building, 5 closed, 6 maintenance, 50 in use).
    pub status: i32,
    pub address: String,
    pub area_code: String,
    pub service_tel: String,
    pub station_tel: Option<String>,
    pub park_nums: i32,
    /// T/CEC Construction (site type).
    pub construction: i32,
    pub site_guide: Option<String>,
    pub business_hours: Option<String>,
    pub park_fee: Option<String>,
    pub payment: Option<String>,
    pub support_order: bool,
    /// The operator's own price text (ElectricityFee).
    pub electricity_fee_text: Option<String>,
    /// The operator's own service-fee text (ServiceFee).
    pub service_fee_text: Option<String>,
    pub remark: Option<String>,
    pub tariff: Option<TariffView>,
    pub equipment: Vec<EquipmentView>,
    /// Last change, seconds since 1970 (UTC).
    pub updated_at: i64,
}

/// A connector's live status from its latest observation, if any.
fn live_status(
    status: Option<&evgrid_model::StatusRecord>,
    now: i64,
    stale_after: i64,
) -> LiveStatus {
    LiveStatus {
        status: status.map_or("unknown", |s| s.status.as_str()),
        status_observed_at: status.map(|s| s.observed_at),
        status_source: status.map(|s| s.source.as_str().to_owned()),
        status_stale: status.is_some_and(|s| now - s.observed_at > stale_after),
    }
}

fn hhmmss(s: u32) -> String {
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// One station with its piles, connectors and tariff.
#[utoipa::path(get, path = "/api/v1/stations/{id}", tag = "stations",
    params(("id" = String, Path, description = "OPERATORID:STATIONID, e.g. EVGSYN001:P000001")),
    responses(
        (status = 200, description = "The station", body = StationDetail),
        (status = 404, description = "No such station", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_station(
    State(state): State<AppState>,
    Path(id): Path<String>,
    p: Params,
) -> Result<Json<StationDetail>, ApiError> {
    p.finish()?;
    let not_found = || {
        ApiError::NotFound(format!(
            "no station with id {id:?}; ids look like OPERATORID:STATIONID"
        ))
    };
    let key = StationKey::parse(&id).map_err(|_| not_found())?;
    let record = state
        .app
        .network()
        .station(&key)
        .await?
        .ok_or_else(not_found)?;
    let operator_name = state
        .app
        .network()
        .operators()
        .await?
        .into_iter()
        .find(|o| o.id == key.operator_id)
        .map(|o| o.name);
    let statuses = state.app.network().station_statuses(&key).await?;
    let stale_after = state.app.live().stale_after(&key.operator_id).await?;
    let now = evgrid_model::time::unix_now();
    let s = record.station;
    let tariff = s.tariff.as_ref().map(|t| TariffView {
        timezone: "Asia/Shanghai",
        periods: t
            .periods
            .iter()
            .enumerate()
            .map(|(i, p)| TariffPeriodView {
                start: hhmmss(p.start_second),
                end: t
                    .periods
                    .get(i + 1)
                    .map_or_else(|| "24:00:00".to_owned(), |n| hhmmss(n.start_second)),
                electricity_fen_per_kwh: Fen(p.electricity),
                service_fen_per_kwh: Fen(p.service),
                total_fen_per_kwh: Fen(evgrid_model::PricePerKwh(p.electricity.0 + p.service.0)),
            })
            .collect(),
    });
    let equipment = s
        .equipment
        .iter()
        .map(|e| EquipmentView {
            id: e.id.clone(),
            name: e.name.clone(),
            equipment_type: e.equipment_type.label(),
            power_kw: e.power.kw(),
            manufacturer: e.manufacturer_name.clone(),
            model: e.model.clone(),
            production_date: e.production_date.clone(),
            connectors: e
                .connectors
                .iter()
                .map(|c| ConnectorView {
                    id: c.id.clone(),
                    full_id: format!("{}:{}", s.operator_id, c.id),
                    name: c.name.clone(),
                    connector_type: c.connector_type.name(),
                    connector_type_code: c.connector_type.0,
                    current: c.connector_type.current().as_str(),
                    national_standard: c.national_standard,
                    power_kw: c.power.kw(),
                    voltage_upper_v: c.voltage_upper_v,
                    voltage_lower_v: c.voltage_lower_v,
                    current_a: c.current_a,
                    live: live_status(
                        statuses.iter().find(|st| st.connector_id == c.id),
                        now,
                        stale_after,
                    ),
                })
                .collect(),
        })
        .collect();
    Ok(Json(StationDetail {
        gcj02: point(s.location, CoordSystem::Gcj02),
        summary: StationItem::new(record.summary, &state.names),
        operator_name,
        township_method: record.township_method,
        status: s.status,
        address: s.address,
        area_code: s.area_code,
        service_tel: s.service_tel,
        station_tel: s.station_tel,
        park_nums: s.park_nums,
        construction: s.construction,
        site_guide: s.site_guide,
        business_hours: s.business_hours,
        park_fee: s.park_fee,
        payment: s.payment,
        support_order: s.support_order,
        electricity_fee_text: s.electricity_fee_text,
        service_fee_text: s.service_fee_text,
        remark: s.remark,
        tariff,
        equipment,
        updated_at: record.updated_at,
    }))
}
