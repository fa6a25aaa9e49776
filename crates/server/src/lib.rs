//! The evgrid HTTP server: the REST API (with its OpenAPI document generated from this code),
//! and the web pages. Only this crate knows HTTP.

pub mod auth;
pub mod connections;
mod dto;
pub mod error;
mod export;
pub mod metrics;
pub mod params;
mod routes;
pub mod streams;
pub mod tls;
mod web;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use evgrid_app::App;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, Problem};

/// Names of regions by code, for answers.
#[derive(Debug, Default)]
pub struct RegionNames {
    pub counties: HashMap<String, String>,
    pub townships: HashMap<String, String>,
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The application.
    pub app: App,
    pub names: Arc<RegionNames>,
    /// The OpenAPI document, set once the router is built.
    openapi: Arc<OnceLock<serde_json::Value>>,
    /// Where the T/CEC interfaces live, e.g. `/evcs/v1/`.
    tcec_base_path: Arc<str>,
    /// Connected OCPP chargers and the policy for unknown ones.
    pub ocpp: OcppState,
    /// A parent total the city's piles are a share of (e.g. the province's), when configured.
    parent: Option<routes::stats::ParentTotal>,
    /// evgrid's own T/CEC OperatorID, used when it calls operator platforms (drivers' charges).
    pub platform_operator: evgrid_model::OperatorId,
    /// Set when the server shuts down: live streams end, chargers are told to go elsewhere.
    stopping: Arc<tokio::sync::watch::Sender<bool>>,
    /// Live streams open per user.
    pub streams: Arc<streams::StreamCounts>,
    /// This node's id where several nodes share a PostgreSQL database.
    node: Arc<OnceLock<String>>,
    /// Request, OCPP and protocol counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
}

/// The OCPP side of the server.
#[derive(Debug, Clone, Default)]
pub struct OcppState {
    pub hub: Arc<evgrid_ocpp::hub::Hub>,
    /// Accept chargers that are not registered (as chargers of an operator, up to a bound).
    pub accept_unknown: Option<evgrid_app::charging::chargers::UnknownChargers>,
    /// How long a charger's connection may go without proof of life.
    pub liveness: evgrid_ocpp::session::Liveness,
}

/// evgrid's OperatorID when none is configured (`serve --platform-operator-id`).
pub const DEFAULT_PLATFORM_OPERATOR: &str = "EVGRID000";

/// The default base path of the T/CEC interfaces.
pub const DEFAULT_TCEC_BASE_PATH: &str = "/evcs/v1/";

/// Checks a T/CEC base path: starts and ends with `/`, letters, digits, `-`, `_`, `.` between.
pub fn valid_tcec_base_path(path: &str) -> bool {
    path.len() >= 2
        && path.starts_with('/')
        && path.ends_with('/')
        && !path.contains("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
}

impl AppState {
    /// Names this node (several nodes on one database), once.
    pub fn set_node(&self, node: &str) {
        let _ = self.node.set(node.to_owned());
    }

    /// This node's id, when it serves with others.
    pub fn node(&self) -> Option<&str> {
        self.node.get().map(String::as_str)
    }

    /// State over the application.
    pub fn new(app: App) -> Self {
        let reference = app.reference();
        let names = RegionNames {
            counties: reference
                .counties
                .iter()
                .map(|c| (c.code.clone(), c.name_zh.clone()))
                .collect(),
            townships: reference
                .townships
                .iter()
                .map(|t| (t.code.clone(), t.name_zh.clone()))
                .collect(),
        };
        Self {
            app,
            names: Arc::new(names),
            openapi: Arc::new(OnceLock::new()),
            tcec_base_path: Arc::from(DEFAULT_TCEC_BASE_PATH),
            ocpp: OcppState::default(),
            stopping: Arc::new(tokio::sync::watch::channel(false).0),
            streams: Arc::default(),
            node: Arc::default(),
            metrics: Arc::default(),
            parent: None,
            platform_operator: evgrid_model::OperatorId::new(DEFAULT_PLATFORM_OPERATOR)
                .unwrap_or_else(|_| unreachable!("the default OperatorID is valid")),
        }
    }

    /// Calls operator platforms as `operator` (evgrid's own OperatorID).
    /// How drivers' charges reach operators (T/CEC, as evgrid's OperatorID) and chargers (OCPP).
    pub fn charge_channels(&self) -> evgrid_app::charging::Channels<'_> {
        evgrid_app::charging::Channels {
            platform: &self.platform_operator,
            hub: &self.ocpp.hub,
        }
    }

    pub fn with_platform_operator(mut self, operator: evgrid_model::OperatorId) -> Self {
        self.platform_operator = operator;
        self
    }

    /// Configures the parent total that breakdowns give shares of (e.g. the province's piles).
    pub fn with_parent_total(mut self, name: &str, piles: i64) -> Self {
        self.parent = Some(routes::stats::ParentTotal {
            name: name.to_owned(),
            piles,
        });
        self
    }

    /// Accepts OCPP chargers that are not registered, by `policy` (trust on first use).
    pub fn accept_unknown_chargers(
        mut self,
        policy: evgrid_app::charging::chargers::UnknownChargers,
    ) -> Self {
        self.ocpp.accept_unknown = Some(policy);
        self
    }

    /// Tells live streams and chargers' connections that the server shuts down.
    pub fn begin_shutdown(&self) {
        self.stopping.send_replace(true);
    }

    /// Whether the server shuts down, as a receiver that changes when it begins.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Sets how long a charger's connection may go without proof of life.
    pub fn with_ocpp_liveness(mut self, liveness: evgrid_ocpp::session::Liveness) -> Self {
        self.ocpp.liveness = liveness;
        self
    }

    /// Serves the T/CEC interfaces under `path` instead of `/evcs/v1/` (see
    /// [`valid_tcec_base_path`]; an invalid path is refused).
    pub fn with_tcec_base_path(mut self, path: &str) -> Result<Self, String> {
        if !valid_tcec_base_path(path) {
            return Err(format!(
                "T/CEC base path {path:?} must start and end with / and hold only letters, digits, -, _ and ."
            ));
        }
        self.tcec_base_path = Arc::from(path);
        Ok(self)
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "evgrid API",
        description = "Charging-infrastructure information service platform: station registry, search, regions and statistics. Coordinates are WGS-84 unless a `coord` parameter says otherwise; distances are great-circle metres on the mean Earth sphere (R = 6,371,008.8 m). Errors are `application/problem+json`. OCPP chargers connect by WebSocket at `/ocpp/{chargePointId}` (subprotocol `ocpp1.6` or `ocpp2.0.1`, HTTP Basic per charger); that endpoint speaks OCPP-J, not HTTP operations, so it is described here and not as a path.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "stations", description = "The station registry"),
        (name = "search", description = "Spatial search"),
        (name = "regions", description = "Counties and townships"),
        (name = "stats", description = "Statistics, targets and the regulator's workbook"),
        (name = "coverage", description = "Service radius and coverage, with the method in each operation"),
        (name = "map", description = "GeoJSON layers for maps"),
        (name = "operators", description = "Operators and their data quality"),
        (name = "system", description = "Health, API document and web pages"),
        (name = "tcec", description = "T/CEC 102 interfaces for operator platforms"),
        (name = "ocpp", description = "Chargers connected directly by OCPP: their state and commands"),
        (name = "auth", description = "Accounts: register, log in (bearer token and session cookie), log out"),
        (name = "charging", description = "Drivers' charges on any operator's connector: start (Idempotency-Key), follow, stop"),
        (name = "plans", description = "Siting plans: where new piles add the most coverage (maximal covering location)"),
    ),
    modifiers(&SecuritySchemes),
    paths(routes::tcec::tcec),
    components(schemas(
        routes::CategoryParam,
        routes::CoordParam,
        routes::CurrentParam,
        routes::ConnectorTypeParam,
        export::FormatParam,
        routes::search::SortParam,
        routes::coverage::GridParam,
        export::TableFormatParam,
        routes::stats::BreakdownBy,
        routes::stats::UsageBy,
        routes::stats::BucketParam,
        routes::reports::MonthParam,
        routes::reports::LangParam,
        web::AssetName,
    ))
)]
struct ApiDoc;

/// The ways to log in: a bearer token from `POST /api/v1/auth/login`, or its session cookie.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The token of POST /api/v1/auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
    }
}

/// The OpenAPI document and the router, built together so that every route is documented.
pub fn api(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::system::healthz))
        .routes(routes!(routes::system::readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(routes::auth::register))
        .routes(routes!(routes::auth::login))
        .routes(routes!(routes::auth::logout))
        .routes(routes!(routes::auth::who))
        .routes(routes!(routes::system::openapi_json))
        .routes(routes!(routes::stations::list_stations))
        .routes(routes!(routes::stations::get_station))
        .routes(routes!(routes::search::nearest))
        .routes(routes!(routes::search::stations))
        .routes(routes!(routes::search::route))
        .routes(routes!(routes::regions::regions))
        .routes(routes!(routes::stats::summary))
        .routes(routes!(routes::stats::breakdown))
        .routes(routes!(routes::stats::growth))
        .routes(routes!(routes::stats::utilization))
        .routes(routes!(routes::stats::faults))
        .routes(routes!(routes::stats::targets))
        .routes(routes!(routes::stats::all_quality))
        .routes(routes!(routes::stats::workbook))
        .routes(routes!(routes::reports::monthly_pdf))
        .routes(routes!(routes::reports::monthly_figures))
        .routes(routes!(routes::superiors::list))
        .routes(routes!(routes::superiors::delivery))
        .routes(routes!(routes::coverage::summary))
        .routes(routes!(routes::coverage::townships))
        .routes(routes!(routes::coverage::hotspots))
        .routes(routes!(routes::coverage::regions))
        .routes(routes!(routes::coverage::circle))
        .routes(routes!(routes::coverage::heatmap))
        .routes(routes!(routes::charging::start))
        .routes(routes!(routes::charging::get))
        .routes(routes!(routes::charging::stop))
        .routes(routes!(routes::charging::events))
        .routes(routes!(routes::charging::orders))
        .routes(routes!(routes::charging::receipt))
        .routes(routes!(routes::charging::mine))
        .routes(routes!(routes::reservations::reserve))
        .routes(routes!(routes::reservations::mine))
        .routes(routes!(routes::reservations::cancel))
        .routes(routes!(routes::tokens::list, routes::tokens::add))
        .routes(routes!(
            routes::tokens::get,
            routes::tokens::change,
            routes::tokens::remove
        ))
        .routes(routes!(routes::tokens::sessions))
        .routes(routes!(routes::tokens::mine))
        .routes(routes!(routes::plans::start))
        .routes(routes!(routes::plans::get))
        .routes(routes!(routes::map::map_stations))
        .routes(routes!(routes::map::map_counties))
        .routes(routes!(routes::operators::data_quality))
        .routes(routes!(routes::ocpp::command))
        .routes(routes!(routes::ocpp::get_charger))
        .routes(routes!(routes::ocpp::registration))
        .routes(routes!(routes::ocpp::rotate_password))
        .routes(routes!(routes::ocpp::security_profile))
        .routes(routes!(routes::ocpp::certificate_authority))
        .routes(routes!(routes::audit::list))
        .routes(routes!(web::index))
        .routes(routes!(web::dashboard))
        .routes(routes!(web::driver_app))
        .routes(routes!(web::asset))
        .split_for_parts();
    // The T/CEC interfaces live under the configured base path, in the router and the document.
    let mut doc = doc;
    let tcec_path = format!("{}{{interface}}", state.tcec_base_path);
    let default_path = format!("{DEFAULT_TCEC_BASE_PATH}{{interface}}");
    if let Some(item) = doc.paths.paths.remove(&default_path) {
        doc.paths.paths.insert(tcec_path.clone(), item);
    }
    let _ = state
        .openapi
        .set(serde_json::to_value(&doc).unwrap_or_default());
    let router = router
        .route(&tcec_path, axum::routing::post(routes::tcec::tcec))
        .route("/ocpp/{id}", axum::routing::get(routes::ocpp::connect))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            evgrid_tcec::platform::MAX_BODY_BYTES + 1024,
        ))
        .layer(axum::middleware::map_response(
            routes::system::plain_errors_as_problems,
        ))
        .fallback(routes::system::not_found)
        .method_not_allowed_fallback(routes::system::method_not_allowed)
        .with_state(state);
    (router, doc)
}

/// The application router.
pub fn router(state: AppState) -> Router {
    api(state).0
}

/// How long a shutdown waits for the requests in flight.
pub const SHUTDOWN_DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves on a bound listener with the default [`connections::ConnectionLimits`] until the
/// future `shutdown` completes; then the requests in flight finish (at most
/// [`SHUTDOWN_DRAIN`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        listener,
        state,
        connections::ConnectionLimits::default(),
        shutdown,
    )
    .await
}

/// [`serve`] with the given limits.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: connections::ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_state(listener, state, connections::Plain, limits, shutdown).await
}

/// Serves `state`'s router over `handshake` (plain or TLS) until `shutdown` completes; then
/// live streams and chargers are told ([`AppState::begin_shutdown`]) and the requests in
/// flight finish (at most [`SHUTDOWN_DRAIN`]).
pub(crate) async fn serve_state<H: connections::Handshake>(
    listener: tokio::net::TcpListener,
    state: AppState,
    handshake: H,
    limits: connections::ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = state.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.begin_shutdown();
    };
    connections::serve_connections(
        listener,
        router(state),
        handshake,
        limits,
        shutdown,
        SHUTDOWN_DRAIN,
    )
    .await
}
