//! `evgrid serve`: the API, the map and the protocol endpoints over a data directory, with the
//! poller of operator platforms and the daily snapshots.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use evgrid_app::{App, Settings};

use crate::open::open_app_with;

#[derive(clap::Args, Clone)]
pub struct ServeArgs {
    /// Read the settings from this TOML file (keys: the long options, `listen = "…"`,
    /// `poll_interval = 60`); the command line and environment variables win over it
    /// (`evgrid config example` prints every key).
    #[arg(long, env = "EVGRID_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", env = "EVGRID_LISTEN")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub store: crate::open::StoreArgs,
    /// Base path of the T/CEC 102 interfaces that operator platforms call.
    #[arg(long, default_value = evgrid_server::DEFAULT_TCEC_BASE_PATH, env = "EVGRID_TCEC_BASE_PATH")]
    pub tcec_base_path: String,
    /// The platform's own T/CEC OperatorID, used when it calls operator platforms.
    #[arg(long, default_value = crate::simulate::DEFAULT_PLATFORM_OPERATOR_ID, env = "EVGRID_PLATFORM_OPERATOR_ID")]
    pub platform_operator_id: String,
    /// Seconds between pulls from each operator platform that has a base URL (0: never pull).
    #[arg(long, default_value_t = 300, env = "EVGRID_POLL_INTERVAL")]
    pub poll_interval: u64,
    /// Seconds before a call to an operator platform is given up.
    #[arg(long, default_value_t = 30)]
    poll_timeout: u64,
    /// Also serve HTTPS/WSS on this address (OCPP security profile 2), with --tls-cert and
    /// --tls-key.
    #[arg(long, env = "EVGRID_TLS_LISTEN", requires_all = ["tls_cert", "tls_key"])]
    tls_listen: Option<SocketAddr>,
    /// PEM certificate chain for --tls-listen.
    #[arg(long, env = "EVGRID_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-listen.
    #[arg(long, env = "EVGRID_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Accept OCPP chargers that are not registered (as chargers of the platform's OperatorID,
    /// without a station until placed), registering each with the HTTP Basic password it
    /// presents on its first connection (trust on first use; one without a password is refused).
    #[arg(long, env = "EVGRID_ACCEPT_UNKNOWN_CHARGERS")]
    pub accept_unknown_chargers: bool,
    /// Most chargers registered that way (without a station) at one time; beyond it unknown
    /// chargers are refused.
    #[arg(long, env = "EVGRID_MAX_UNKNOWN_CHARGERS", default_value_t = evgrid_app::charging::chargers::UNPLACED_CHARGERS_MOST)]
    pub max_unknown_chargers: u32,
    /// Let any id token charge at OCPP chargers, also one the platform does not know (an open
    /// deployment); otherwise a charger is told such a token is unknown (1.6: invalid). Tokens
    /// are managed with `evgrid token` and `/api/v1/tokens`.
    #[arg(long, env = "EVGRID_ACCEPT_UNKNOWN_ID_TOKENS")]
    pub accept_unknown_id_tokens: bool,
    /// A parent total of piles (e.g. the province's) that statistics give the city's share of.
    #[arg(long, env = "EVGRID_PARENT_PILES", value_parser = clap::value_parser!(i64).range(1..))]
    parent_piles: Option<i64>,
    /// The parent total's name, e.g. 江西省.
    #[arg(long, env = "EVGRID_PARENT_NAME", default_value = "parent")]
    parent_name: String,
    /// Refuse T/CEC requests whose TimeStamp is more than this many seconds from the
    /// server's clock (China time). Not enforced unless given; the standard sets no window.
    #[arg(long, env = "EVGRID_TCEC_MAX_CLOCK_SKEW")]
    tcec_max_clock_skew: Option<i64>,
    /// Days the duplicate keys of protocol pushes are kept (pruned hourly); a T/CEC request
    /// whose TimeStamp is older is refused.
    #[arg(long, env = "EVGRID_KEEP_PUSH_KEYS_DAYS", default_value_t = 7, value_parser = clap::value_parser!(i64).range(1..=3650))]
    keep_push_keys_days: i64,
    /// Days of connector status history (faults, outages) kept (pruned hourly).
    #[arg(long, env = "EVGRID_KEEP_STATUS_HISTORY_DAYS", default_value_t = 400, value_parser = clap::value_parser!(i64).range(1..=36500))]
    keep_status_history_days: i64,
    /// Connections open at once (HTTP, WebSocket, TLS together); past it a connection is
    /// answered 503. Default: the open-file limit less 256.
    #[arg(long, env = "EVGRID_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(16..))]
    max_connections: Option<u64>,
    /// Seconds for a request's headers to arrive (and between two requests on a kept-alive
    /// connection); a fifth of it when the connections near --max-connections.
    #[arg(long, env = "EVGRID_HEADER_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds an OCPP charger has to send its BootNotification after connecting.
    #[arg(long, env = "EVGRID_OCPP_BOOT_WITHIN", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    ocpp_boot_within: u64,
    /// Seconds of silence after which an OCPP charger is pinged; it is closed when nothing
    /// arrives within half as long again.
    #[arg(long, env = "EVGRID_OCPP_PING_AFTER", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    ocpp_ping_after: u64,
}

impl ServeArgs {
    /// The bounds on connections these arguments set.
    fn connection_limits(&self) -> evgrid_server::connections::ConnectionLimits {
        let mut limits = evgrid_server::connections::ConnectionLimits::default();
        if let Some(max) = self.max_connections {
            limits.max_connections = usize::try_from(max).unwrap_or(usize::MAX);
            limits.reserve = (limits.max_connections / 10).max(8);
        }
        limits.header_timeout = std::time::Duration::from_secs(self.header_timeout);
        limits.busy_header_timeout =
            std::time::Duration::from_secs(self.header_timeout.div_ceil(5));
        limits
    }

    /// How long an OCPP charger may go without proof of life.
    fn ocpp_liveness(&self) -> evgrid_ocpp::session::Liveness {
        evgrid_ocpp::session::Liveness {
            boot_within: std::time::Duration::from_secs(self.ocpp_boot_within),
            ping_after: std::time::Duration::from_secs(self.ocpp_ping_after),
            answer_within: std::time::Duration::from_secs(self.ocpp_ping_after.div_ceil(2)),
        }
    }
}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM (what service managers and container
/// runtimes send), whichever comes first. The handlers are installed when this is called, not
/// when the future is first polled, so a signal right after the server says it serves is not
/// lost (nor kills the process).
pub(crate) fn stop_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::terminate())
            .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
            .ok()
    };
    async move {
        #[cfg(unix)]
        if let Some((mut term, mut interrupt)) = signals {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The application as `serve` and `demo` run it.
pub(crate) async fn open_serving_app(args: &ServeArgs) -> Result<App> {
    evgrid_model::OperatorId::new(&args.platform_operator_id).context("--platform-operator-id")?;
    let settings = Settings {
        max_clock_skew: args.tcec_max_clock_skew,
        retention: evgrid_app::Retention {
            push_keys: args.keep_push_keys_days * 86_400,
            status_history: args.keep_status_history_days * 86_400,
        },
        sealer: None,
        accept_unknown_tokens: args.accept_unknown_id_tokens,
    };
    open_app_with(&args.store, settings).await
}

/// Starts pulling from operator platforms, unless disabled.
pub(crate) fn start_poller(
    app: &App,
    args: &ServeArgs,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    if args.poll_interval == 0 {
        return Ok(());
    }
    let mut options = evgrid_app::live::poller::PollOptions::new(evgrid_model::OperatorId::new(
        &args.platform_operator_id,
    )?);
    options.interval = std::time::Duration::from_secs(args.poll_interval);
    options.timeout = std::time::Duration::from_secs(args.poll_timeout.max(1));
    options.max_backoff = options.interval.saturating_mul(12).max(options.interval);
    options.discover_every = options.interval.min(std::time::Duration::from_secs(10));
    tokio::spawn(evgrid_app::live::poller::run(
        app.live().clone(),
        options,
        stop,
    ));
    Ok(())
}

/// Starts the senders to the superior platforms (each on the node holding its lease).
pub(crate) fn start_superiors(app: &App, stop: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(app.superiors().clone().run(stop));
}

/// Binds, tells `on_bound` the address (before the URL is printed), and serves until SIGINT
/// or SIGTERM; then the requests in flight finish (at most 10 s).
pub(crate) async fn serve_app(
    app: App,
    args: &ServeArgs,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<()> {
    let listen = args.listen;
    let state = evgrid_server::AppState::new(app.clone())
        .with_tcec_base_path(&args.tcec_base_path)
        .map_err(anyhow::Error::msg)
        .context("--tcec-base-path")?;
    let state = match args.parent_piles {
        Some(piles) => state.with_parent_total(&args.parent_name, piles),
        None => state,
    };
    let state =
        state.with_platform_operator(evgrid_model::OperatorId::new(&args.platform_operator_id)?);
    let state = state.with_ocpp_liveness(args.ocpp_liveness());
    let limits = args.connection_limits();
    let state = if args.accept_unknown_chargers {
        state.accept_unknown_chargers(evgrid_app::charging::chargers::UnknownChargers {
            operator: evgrid_model::OperatorId::new(&args.platform_operator_id)?,
            most: args.max_unknown_chargers,
        })
    } else {
        state
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("binding {listen}; is another server using the port? (--listen)")
        })?;
    // On PostgreSQL, other nodes may serve the same database: chargers connected to any of
    // them are reachable from every one.
    let cluster = app
        .join_nodes(state.ocpp.hub.clone())
        .await
        .context("joining the other nodes of the database")?;
    if let Some(cluster) = &cluster {
        state.set_node(cluster.node());
    }
    let addr = listener.local_addr()?;
    if let (Some(tls_addr), Some(cert), Some(key)) =
        (args.tls_listen, &args.tls_cert, &args.tls_key)
    {
        // Chargers' client certificates (security profile 3) are verified against the
        // platform's authority, created here at the first start with TLS.
        let authority = app
            .charging()
            .certificate_authority()
            .await
            .context("the certificate authority for chargers' certificates")?;
        let tls =
            evgrid_server::tls::Tls::from_pem_files(cert, key, Some(&authority.certificate_pem))
                .map_err(anyhow::Error::msg)
                .context("--tls-cert/--tls-key")?;
        let tls_listener = tokio::net::TcpListener::bind(tls_addr)
            .await
            .with_context(|| format!("binding {tls_addr} (--tls-listen)"))?;
        let tls_bound = tls_listener.local_addr()?;
        println!("evgrid serving https://{tls_bound}/ (TLS; OCPP at wss://{tls_bound}/ocpp/)");
        tokio::spawn(evgrid_server::tls::serve_tls(
            tls_listener,
            state.clone(),
            tls,
            limits,
            stop_signal(),
        ));
    }
    let stopped = stop_signal();
    app.regulator().keep_daily_snapshots();
    app.live().keep_pruning();
    app.regulator().warm_coverage();
    on_bound(addr);
    let stations = app.network().station_count();
    // The URL goes to stdout (for people and scripts); logs go to stderr.
    println!("evgrid serving http://{addr}/ ({stations} stations; API document at http://{addr}/api/openapi.json)");
    evgrid_server::serve_with(listener, state, limits, stopped)
        .await
        .context("serving HTTP")?;
    if let Some(cluster) = &cluster {
        cluster.leave().await;
    }
    app.live()
        .flush_message_counts()
        .await
        .context("writing the message counts")?;
    Ok(())
}

pub async fn run(args: ServeArgs) -> Result<()> {
    let app = open_serving_app(&args).await?;
    // The demo's operator secrets are published in its source: fine for `evgrid demo`, never
    // for a server anyone relies on.
    let demo: Vec<String> = app
        .live()
        .all_operator_credentials()
        .await?
        .iter()
        .filter(|c| crate::simulate::uses_demo_secret(c))
        .map(|c| c.operator_id.to_string())
        .collect();
    if !demo.is_empty() {
        anyhow::bail!(
            "operator(s) {} use the demo's published secrets; give them their own \
             (evgrid operator rotate --operator-id ID) or remove them (evgrid operator remove) \
             before serving; `evgrid demo` runs with them",
            demo.join(", ")
        );
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    start_poller(&app, &args, stopped.clone())?;
    start_superiors(&app, stopped);
    let served = serve_app(app, &args, |_| {}).await;
    let _ = stop.send(true);
    served
}
