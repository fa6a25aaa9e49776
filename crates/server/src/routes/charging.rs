//! Drivers' charges: start (with an Idempotency-Key), follow, stop, list their own.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use evgrid_app::charging::ChargeError;
use evgrid_model::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::params::Params;
use crate::{ApiError, AppState};

/// Who may start charges: drivers (and admins, for support).
pub(crate) const DRIVERS: &[Role] = &[Role::Driver, Role::Admin];

/// A start request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// The connector: `OPERATORID:CONNECTORID`, as the station's page lists it.
    #[schema(example = "EVGSYN001:P000001-01-1")]
    pub connector_id: String,
}

/// A charge (documentation of the answer): evgrid's record and the operator's live figures.
#[derive(Serialize, ToSchema)]
pub struct ChargeDoc {
    /// evgrid's id of the charge.
    pub id: String,
    pub operator_id: String,
    pub connector_id: String,
    /// `tcec`: through the operator's platform; `ocpp`: the charger connected directly.
    pub channel: String,
    /// The operator's reference: T/CEC StartChargeSeq; OCPP `CHARGER:TRANSACTION` once the
    /// charger opened its transaction (the charge's id tag until then).
    pub session_ref: String,
    /// requested, started, refused (see `message`) or stop_requested.
    pub status: String,
    pub message: Option<String>,
    pub created_at: i64,
    /// The operator's session once it reports: state (starting, charging, stopping, finished,
    /// failed), energy (Wh), SoC, money so far (fen), periods and the order.
    #[schema(value_type = Option<Object>)]
    pub live: Option<serde_json::Value>,
    /// The station (`station_id`, `station_name`, `address`), `operator_name` and the
    /// connector's `power_w`.
    #[schema(value_type = Option<Object>)]
    pub place: Option<serde_json::Value>,
}

pub(crate) fn charge_error(e: ChargeError) -> ApiError {
    match e {
        ChargeError::Invalid(m) => ApiError::BadRequest(m),
        ChargeError::NotFound(m) => ApiError::NotFound(m),
        ChargeError::Conflict(m) => ApiError::Conflict(m),
        ChargeError::Unavailable(m) => ApiError::BadGateway(m),
        ChargeError::TooMany(m) => ApiError::TooManyRequests(m, 60),
        ChargeError::Store(s) => ApiError::Internal(s.to_string()),
    }
}

/// Starts a charge on any operator's connector. The `Idempotency-Key` header is required: the
/// same key again answers the same charge (200) and never starts a second one. The charge is
/// stored before the operator is asked (T/CEC query_equip_auth, then query_start_charge), or
/// the charger (OCPP remote start under an id tag made for the charge, or the one of your
/// reservation of that connector); a refusal is answered as the charge with `status` `refused`
/// and the reason.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    request_body = StartBody,
    params(("Idempotency-Key" = String, Header, description = "1-100 visible ASCII characters, unique per charge you mean to start")),
    responses(
        (status = 201, description = "Started, or refused by the operator (see status)", body = ChargeDoc),
        (status = 200, description = "This key was used before: that charge", body = ChargeDoc),
        (status = 400, description = "A bad body or Idempotency-Key", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a driver", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connector", body = crate::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The operator cannot be called", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Json<StartBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let user = caller.require(DRIVERS)?;
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| ApiError::BadRequest("the Idempotency-Key header is required".into()))?
        .to_str()
        .map_err(|_| ApiError::BadRequest("the Idempotency-Key must be visible ASCII".into()))?;
    let Json(body) = body.map_err(|e| ApiError::from_json_rejection("the body", &e))?;
    let (view, created) = state
        .app
        .charging()
        .start_charge(state.charge_channels(), user, &body.connector_id, key)
        .await
        .map_err(charge_error)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)).into_response())
}

/// One of your charges, with the operator's live figures (state, kWh, SoC, cost so far) and,
/// once it has arrived, the order.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge's id")),
    responses(
        (status = 200, description = "The charge", body = ChargeDoc),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charge of yours", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    let user = caller.require(crate::auth::ANYONE)?;
    p.finish()?;
    let view = state
        .app
        .charging()
        .charge(user, &id)
        .await
        .map_err(charge_error)?;
    Ok(Json(view).into_response())
}

/// Asks the operator (T/CEC query_stop_charge) or the charger (OCPP remote stop) to stop one of
/// your charges.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/stop", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge's id")),
    responses(
        (status = 200, description = "The operator or charger accepted the stop", body = ChargeDoc),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charge of yours", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing to stop, or the operator refused", body = crate::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The operator cannot be called", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn stop(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = caller.require(crate::auth::ANYONE)?;
    let view = state
        .app
        .charging()
        .stop_charge(state.charge_channels(), user, &id)
        .await
        .map_err(charge_error)?;
    Ok(Json(view).into_response())
}

/// Largest page of a driver's charges or orders (JSON); a download takes up to `MAX_EXPORT`.
const MAX_PAGE_SIZE: i64 = 200;
const MAX_EXPORT: i64 = 10_000;

/// Reads `page` and `page_size` (default `default_size`, at most `max`): offset and limit.
fn paging(p: &mut Params, default_size: i64, max: i64) -> (i64, i64) {
    let (page, size) = p.page(default_size, max);
    ((page - 1) * size, size)
}

/// A list answer with its total in `X-Total-Count`.
fn with_total(response: Response, total: i64) -> Response {
    let mut response = response;
    if let Ok(v) = axum::http::HeaderValue::from_str(&total.to_string()) {
        response.headers_mut().insert("x-total-count", v);
    }
    response
}

/// Your charges, newest first, a page at a time (`X-Total-Count` says how many in all).
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(
        ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000, description = "Page number (default 1)"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Charges per page (default 50)"),
    ),
    responses(
        (status = 200, description = "Your charges", body = Vec<ChargeDoc>,
         headers(("x-total-count" = i64, description = "How many charges in all"))),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn mine(
    State(state): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Response, ApiError> {
    let user = caller.require(crate::auth::ANYONE)?;
    let mut p = p;
    let (offset, limit) = paging(&mut p, 50, MAX_PAGE_SIZE);
    p.finish()?;
    let (list, total) = state
        .app
        .charging()
        .charges_of(user, false, offset, limit)
        .await
        .map_err(charge_error)?;
    Ok(with_total(Json(list).into_response(), total))
}

/// Whether nothing more will happen to a charge: refused, or the operator's session ended.
fn settled(view: &evgrid_app::charging::ChargeView) -> bool {
    view.charge.status == evgrid_model::ChargeStatus::Refused
        || view
            .live
            .as_ref()
            .is_some_and(|s| s.state.rank() >= 4 && s.order_received_at.is_some())
}

/// Seconds between two looks at a charge for its event stream.
const EVENT_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// One of your charges as a live stream (Server-Sent Events): an event `charge` with the same
/// body as `GET /api/v1/sessions/{id}` now and at every change (state, kWh, SoC, cost so far),
/// until the order has arrived or the start was refused; then the stream ends.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/events", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge's id")),
    responses(
        (status = 200, description = "The stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charge of yours", body = crate::Problem, content_type = "application/problem+json"),
        (status = 429, description = "You hold the most live streams one may (4)", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let user = caller.require(crate::auth::ANYONE)?.clone();
    p.finish()?;
    // Not yours, not found: answered before the stream starts.
    state
        .app
        .charging()
        .charge(&user, &id)
        .await
        .map_err(charge_error)?;
    // The slot lives in the stream: freed when it ends or its client leaves.
    let slot = state.streams.open(user.id).ok_or_else(|| {
        ApiError::TooManyRequests(
            format!(
                "you have {} live streams open, the most one may; close one",
                crate::streams::STREAMS_PER_USER
            ),
            10,
        )
    })?;
    let app = state.app.clone();
    let stopping = state.stopping();
    let stream = futures_util::stream::unfold((None::<String>, false), move |(last, ended)| {
        let _held = &slot;
        let (app, user, id) = (app.clone(), user.clone(), id.clone());
        let mut stopping = stopping.clone();
        async move {
            if ended || *stopping.borrow() {
                return None;
            }
            let mut last = last;
            loop {
                if last.is_some() {
                    // The stream ends when the server shuts down (the client reconnects).
                    tokio::select! {
                        () = tokio::time::sleep(EVENT_POLL) => {}
                        _ = stopping.changed() => return None,
                    }
                }
                let view = match app.charging().charge(&user, &id).await {
                    Ok(v) => v,
                    Err(e) => {
                        let event = Event::default().event("error").data(e.to_string());
                        return Some((Ok::<_, std::convert::Infallible>(event), (last, true)));
                    }
                };
                let json = serde_json::to_string(&view).unwrap_or_default();
                if last.as_deref() != Some(json.as_str()) {
                    let done = settled(&view);
                    let event = Event::default().event("charge").data(json.clone());
                    return Some((Ok(event), (Some(json), done)));
                }
                last = Some(json);
            }
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Your charges whose order has arrived from the operator, newest first: energy per
/// time-of-use period, electricity and service money in fen, total, start and end, and the
/// operator's order reference (`session_ref`). `live.dispute` says when evgrid's check of the
/// order against the operator's reconciliation found a mismatch. `format=csv|xlsx` downloads
/// them as a table (one row per order, money in yuan) that opens in Excel. A page at a time
/// (`X-Total-Count` says how many in all); a download holds up to 10,000 orders by default.
#[utoipa::path(get, path = "/api/v1/me/orders", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(
        ("format" = Option<crate::export::TableFormatParam>, Query, description = "json (default), csv or xlsx"),
        ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000, description = "Page number (default 1)"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 10000, description = "Orders per page (default 50; for a csv or xlsx download 10,000)"),
    ),
    responses(
        (status = 200, description = "Your orders", content(
            (Vec<ChargeDoc> = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn orders(
    State(state): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Response, ApiError> {
    let user = caller.require(crate::auth::ANYONE)?;
    let mut p = p;
    let format = crate::export::format_param(&mut p, false);
    let default_size = match format {
        crate::export::Format::Json => 50,
        _ => MAX_EXPORT,
    };
    let (offset, limit) = paging(&mut p, default_size, MAX_EXPORT);
    p.finish()?;
    let (list, total) = state
        .app
        .charging()
        .charges_of(user, true, offset, limit)
        .await
        .map_err(charge_error)?;
    let response = crate::export::respond(format, &list, || {
        evgrid_app::charging::charges::orders_table(&list)
    })?;
    Ok(with_total(response, total))
}

fn esc(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// A printable receipt (HTML, Chinese and English) of one of your charges once its order has
/// arrived: every time-of-use period with its energy, prices and money, and the totals.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/receipt", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The charge's id")),
    responses(
        (status = 200, description = "The receipt", content_type = "text/html", body = String),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charge of yours", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No order yet", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn receipt(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    let user = caller.require(crate::auth::ANYONE)?;
    p.finish()?;
    let view = state
        .app
        .charging()
        .charge(user, &id)
        .await
        .map_err(charge_error)?;
    let order = view
        .live
        .as_ref()
        .filter(|s| s.order_received_at.is_some())
        .ok_or_else(|| ApiError::Conflict(format!("charge {id} has no order yet")))?;
    let time =
        |t: Option<i64>| t.map_or_else(|| "–".to_owned(), evgrid_model::time::format_china_local);
    let rows: String = order
        .periods
        .iter()
        .map(|p| {
            format!(
                "<tr><td>{} – {}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                evgrid_model::time::format_china_local(p.starts_at),
                evgrid_model::time::format_china_local(p.ends_at),
                p.energy.kwh_text(),
                p.electricity_price.yuan_text(),
                p.service_price.yuan_text(),
                p.electricity_money.yuan_text(),
                p.service_money.yuan_text(),
            )
        })
        .collect();
    let money = |m: Option<evgrid_model::Fen>| {
        m.map_or_else(|| "–".to_owned(), evgrid_model::Fen::yuan_text)
    };
    let dispute = order
        .dispute
        .as_deref()
        .map(|d| {
            format!(
                "<p class=warn>对账不一致 Reconciliation mismatch: {}</p>",
                esc(d)
            )
        })
        .unwrap_or_default();
    let html = format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>充电订单 Charging receipt {id}</title>
<style>body{{font:14px sans-serif;max-width:720px;margin:20px auto;padding:0 12px}}table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left}}.n{{text-align:right;font-variant-numeric:tabular-nums}}.warn{{color:#b2182b}}@media print{{button{{display:none}}}}</style></head>
<body><h1>充电订单 Charging receipt</h1>
<table>
<tr><th>订单 Order</th><td>{order_ref}</td></tr>
<tr><th>运营商 Operator</th><td>{operator_name} ({operator})</td></tr>
<tr><th>充电站 Station</th><td>{station}<br><small>{address}</small></td></tr>
<tr><th>充电接口 Connector</th><td>{connector}</td></tr>
<tr><th>开始 Start (北京时间 China time)</th><td>{start}</td></tr>
<tr><th>结束 End</th><td>{end}</td></tr>
<tr><th>电量 Energy (kWh)</th><td>{energy}</td></tr>
</table>
<h2>分时段明细 By time-of-use period</h2>
<table><tr><th>时段 Period</th><th class=n>kWh</th><th class=n>电价 Electricity ¥/kWh</th><th class=n>服务费 Service ¥/kWh</th><th class=n>电费 Electricity ¥</th><th class=n>服务费 Service ¥</th></tr>{rows}</table>
<table>
<tr><th>电费 Electricity</th><td class=n>¥ {electricity}</td></tr>
<tr><th>服务费 Service</th><td class=n>¥ {service}</td></tr>
<tr><th>合计 Total</th><td class=n><b id=total>¥ {total}</b></td></tr>
</table>{dispute}
<p><button onclick="print()">打印 Print</button></p></body></html>"#,
        id = esc(&id),
        order_ref = esc(&order.session_ref),
        operator = esc(&order.operator_id),
        operator_name = esc(view.place.as_ref().map_or("", |p| p.operator_name.as_str())),
        station = esc(view.place.as_ref().map_or("", |p| p.station_name.as_str())),
        address = esc(view.place.as_ref().map_or("", |p| p.address.as_str())),
        connector = esc(&order.connector_id),
        start = time(order.started_at),
        end = time(order.ended_at),
        energy = order
            .energy
            .map_or_else(|| "–".to_owned(), evgrid_model::WattHours::kwh_text),
        electricity = money(order.electricity_money),
        service = money(order.service_money),
        total = money(order.total_money),
    );
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response())
}
