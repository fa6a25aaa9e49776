//! `evgrid simulate operators` and the demo's operator platforms: the synthetic network's
//! operators as real T/CEC servers on loopback ports that also push to a platform.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Subcommand;
use evgrid_app::Live;
use evgrid_model::{CoordSystem, OperatorCredentials, OperatorId};
use evgrid_sim::tcec::{self as simulator, OperatorPlatform, Sim, SimulatorOptions};

/// The platform's own OperatorID unless configured (`--platform-operator-id`).
pub const DEFAULT_PLATFORM_OPERATOR_ID: &str = evgrid_server::DEFAULT_PLATFORM_OPERATOR;

/// What to simulate.
#[derive(Subcommand)]
pub enum SimulateCommand {
    /// The synthetic network's operator platforms: each a T/CEC server on its own loopback port
    /// (pull interfaces and business calls) that pushes status changes and charges to the
    /// platform. The secrets are the demo's, so `evgrid demo` accepts them as they are.
    Operators {
        /// The platform's T/CEC base URL, e.g. http://127.0.0.1:8080/evcs/v1/.
        #[arg(long)]
        platform: String,
        /// How many of the synthetic operators to run (1 to 7).
        #[arg(long, default_value_t = 7)]
        count: usize,
        /// Seed of the synthetic network (the demo's by default, so the station ids match).
        #[arg(long, default_value_t = crate::demo::DEMO_SEED)]
        seed: u64,
        #[command(flatten)]
        behaviour: Behaviour,
        /// First port to listen on (one per operator, on 127.0.0.1); 0 picks free ports.
        #[arg(long, default_value_t = 0)]
        base_port: u16,
        /// Also register the operators (credentials and base URLs) in this data directory, so
        /// a server running on it pulls from them.
        #[arg(long)]
        register: Option<PathBuf>,
        /// Register them in this database instead (postgres://… or sqlite:PATH), with
        /// --register naming the data directory.
        #[arg(
            long,
            env = "EVGRID_DATABASE_URL",
            hide_env_values = true,
            requires = "register"
        )]
        database: Option<String>,
        /// The platform's OperatorID (what the simulated operators accept as caller).
        #[arg(long, default_value = DEFAULT_PLATFORM_OPERATOR_ID, env = "EVGRID_PLATFORM_OPERATOR_ID")]
        platform_operator_id: String,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
    },
    /// A superior supervision platform (provincial): a strict T/CEC server that evgrid reports
    /// to, refusing now and then; `GET /state` shows what it received. With --register it is
    /// added as a superior in that data directory (or --database), so a server running there
    /// reports to it.
    Superior {
        /// Where to listen (a loopback address).
        #[arg(long, default_value = "127.0.0.1:9070")]
        listen: SocketAddr,
        /// evgrid's OperatorID at this superior.
        #[arg(long, default_value = DEFAULT_PLATFORM_OPERATOR_ID, env = "EVGRID_PLATFORM_OPERATOR_ID")]
        platform_operator_id: String,
        /// Share of requests refused with Ret 500 (busy), 0 to 1.
        #[arg(long, default_value_t = 0.05)]
        refuse_share: f64,
        /// The Ret answered to an order already received (0: acknowledge it again).
        #[arg(long, default_value_t = 4015)]
        already_received_ret: i32,
        /// The superior's id in evgrid (with --register).
        #[arg(long, default_value = "sim-province")]
        id: String,
        /// The profile it is registered with: standard, provincial or a file.
        #[arg(long, default_value = "provincial")]
        profile: String,
        /// Register it in this data directory.
        #[arg(long)]
        register: Option<PathBuf>,
        /// Register it in this database instead (postgres://… or sqlite:PATH), with
        /// --register naming the data directory.
        #[arg(
            long,
            env = "EVGRID_DATABASE_URL",
            hide_env_values = true,
            requires = "register"
        )]
        database: Option<String>,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Chargers speaking OCPP-J to a central system: boot, heartbeats, status changes,
    /// sessions with meter values, occasional faults; they answer remote start/stop, unlock,
    /// reset, availability, trigger message and reservations.
    Chargers {
        /// The central system's OCPP base URL; each charger connects to URL + its id.
        #[arg(long, default_value = "ws://127.0.0.1:8080/ocpp/")]
        csms: String,
        /// How many chargers.
        #[arg(long, default_value_t = 10)]
        count: u32,
        /// OCPP version: 1.6 or 2.0.1.
        #[arg(long, default_value = "1.6", value_parser = parse_version)]
        version: evgrid_ocpp::Version,
        /// Charger ids are PREFIX-0001, PREFIX-0002, ...
        #[arg(long, default_value = "SIM")]
        id_prefix: String,
        /// Connectors per charger.
        #[arg(long, default_value_t = 2)]
        connectors: u32,
        /// HTTP Basic password of every charger (as registered); without one each presents a
        /// password of its own, made from its id and the seed, which a server accepting unknown
        /// chargers registers on first use.
        #[arg(long, env = "EVGRID_CHARGER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Mean seconds between events on a charger (a charge starts or stops, a fault).
        #[arg(long, default_value_t = 20)]
        event_seconds: u64,
        /// Seconds between meter values while charging.
        #[arg(long, default_value_t = 10)]
        meter_seconds: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
    },
}

fn parse_version(s: &str) -> Result<evgrid_ocpp::Version, String> {
    match s {
        "1.6" | "ocpp1.6" => Ok(evgrid_ocpp::Version::V16),
        "2.0.1" | "ocpp2.0.1" => Ok(evgrid_ocpp::Version::V201),
        other => Err(format!("OCPP version {other:?} is 1.6 or 2.0.1")),
    }
}

/// Options of simulated chargers.
#[allow(clippy::too_many_arguments)]
pub fn charger_options(
    csms: &str,
    version: evgrid_ocpp::Version,
    password: Option<String>,
    event_seconds: u64,
    meter_seconds: u64,
    seed: u64,
) -> evgrid_sim::ocpp::ChargerSimOptions {
    let mut o = evgrid_sim::ocpp::ChargerSimOptions::new(csms, version);
    o.password = password;
    o.event_interval = Duration::from_secs(event_seconds.max(1));
    o.meter_interval = Duration::from_secs(meter_seconds.max(1));
    o.seed = seed;
    o
}

/// Starts simulated chargers (id, connectors, its own password over the options' one); returns
/// their shared counters.
pub fn start_chargers(
    ids: &[(String, u32, Option<String>)],
    options: &evgrid_sim::ocpp::ChargerSimOptions,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Arc<evgrid_sim::ocpp::ChargerCounters> {
    let counters = Arc::new(evgrid_sim::ocpp::ChargerCounters::default());
    for (id, connectors, password) in ids {
        let mut options = options.clone();
        if password.is_some() {
            options.password.clone_from(password);
        }
        tokio::spawn(evgrid_sim::ocpp::run_charger(
            id.clone(),
            *connectors,
            options,
            counters.clone(),
            stop.clone(),
        ));
    }
    counters
}

/// How the simulated operators behave.
#[derive(clap::Args, Clone, Debug)]
pub struct Behaviour {
    /// Mean milliseconds between rounds of status changes.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    /// Status changes per round.
    #[arg(long, default_value_t = 10)]
    pub changes_per_round: usize,
    /// Seconds between live charge-status pushes of a charge.
    #[arg(long, default_value_t = 5)]
    pub sample_seconds: u64,
    /// Share of pushes sent with a fault (late, bad Sig, status outside the enum), 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub fault_share: f64,
    /// An operator that stops answering for a while (pulls hang, pushes pause).
    #[arg(long)]
    pub hang_operator: Option<String>,
    /// Seconds after start when that operator stops answering.
    #[arg(long, default_value_t = 90)]
    pub hang_after: u64,
    /// Seconds it stays silent.
    #[arg(long, default_value_t = 120)]
    pub hang_for: u64,
}

/// The demo's credentials of a synthetic operator: in this source, for the demo only.
pub fn demo_credentials(id: &OperatorId, base_url: Option<String>) -> OperatorCredentials {
    OperatorCredentials {
        operator_id: id.clone(),
        operator_secret: format!("{id}-demo-op"),
        data_secret: format!("{id}DATAKEY"),
        data_secret_iv: format!("{id}IVECTOR"),
        sig_secret: format!("{id}-demo-sig"),
        base_url,
        coords: CoordSystem::Gcj02,
        platform_secret: Some(format!("{id}-demo-platform")),
        stale_after_seconds: None,
    }
}

/// Whether stored credentials are the demo's (so the demo may run and re-register that
/// operator); an operator registered with other secrets is left alone.
pub fn is_demo_registration(c: &OperatorCredentials) -> bool {
    let demo = demo_credentials(&c.operator_id, None);
    c.operator_secret == demo.operator_secret
        && c.data_secret == demo.data_secret
        && c.data_secret_iv == demo.data_secret_iv
        && c.sig_secret == demo.sig_secret
}

/// Whether any of the secrets an operator proves itself with is the demo's (published in this
/// source): anyone could push as that operator, so `serve` refuses to run with it.
pub fn uses_demo_secret(c: &OperatorCredentials) -> bool {
    let demo = demo_credentials(&c.operator_id, None);
    c.operator_secret == demo.operator_secret
        || c.data_secret == demo.data_secret
        || c.data_secret_iv == demo.data_secret_iv
        || c.sig_secret == demo.sig_secret
}

/// The synthetic network's operators as platforms, with the demo's credentials.
pub fn demo_platforms(
    network: &evgrid_synth::Network,
    platform_operator_id: &str,
    count: usize,
) -> Vec<OperatorPlatform> {
    network
        .operators
        .iter()
        .take(count)
        .map(|op| {
            let c = demo_credentials(&op.id, None);
            OperatorPlatform {
                operator_id: op.id.to_string(),
                operator_secret: c.operator_secret,
                data_secret: c.data_secret,
                data_secret_iv: c.data_secret_iv,
                sig_secret: c.sig_secret,
                platform_operator_id: platform_operator_id.to_owned(),
                platform_secret: c.platform_secret.unwrap_or_default(),
                stations: network
                    .stations
                    .iter()
                    .filter(|s| s.operator_id == op.id)
                    .map(|s| evgrid_tcec::station_to_wire(s, CoordSystem::Gcj02))
                    .collect(),
            }
        })
        .collect()
}

/// Simulator options from the command line's behaviour flags.
pub fn options(
    platform_url: &str,
    seed: u64,
    b: &Behaviour,
    operator_id: &str,
) -> SimulatorOptions {
    let mut o = SimulatorOptions::new(platform_url);
    o.seed = seed;
    o.interval = Duration::from_millis(b.interval_ms.max(1));
    o.changes_per_round = b.changes_per_round;
    o.sample_interval = Duration::from_secs(b.sample_seconds.max(1));
    o.fault_share = b.fault_share.clamp(0.0, 1.0);
    if b.hang_operator.as_deref() == Some(operator_id) {
        o.hang = Some((
            Duration::from_secs(b.hang_after),
            Duration::from_secs(b.hang_for),
        ));
    }
    o
}

/// Starts the platforms, each on its own loopback port; returns them with their base URLs.
pub async fn start(
    platforms: Vec<OperatorPlatform>,
    platform_url: &str,
    seed: u64,
    behaviour: &Behaviour,
    base_port: u16,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<(Arc<Sim>, String)>> {
    let mut out = Vec::new();
    for (i, p) in platforms.into_iter().enumerate() {
        let port = if base_port == 0 {
            0
        } else {
            base_port.saturating_add(u16::try_from(i).unwrap_or(u16::MAX))
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr} for simulated operator {}", p.operator_id))?;
        let local = listener.local_addr()?;
        let opts = options(platform_url, seed, behaviour, &p.operator_id);
        let sim = simulator::start(p, listener, opts, stop.clone()).await?;
        out.push((sim, format!("http://{local}{}", simulator::BASE_PATH)));
    }
    Ok(out)
}

/// Registers the running platforms (demo credentials with their base URLs).
pub async fn register(
    live: &Live,
    sims: &[(Arc<Sim>, String)],
    names: &[(OperatorId, String)],
) -> Result<()> {
    for (sim, url) in sims {
        let id = OperatorId::new(sim.operator_id())?;
        let mut c = demo_credentials(&id, Some(url.clone()));
        if let Some(existing) = live.operator_credentials(&id).await? {
            c.stale_after_seconds = existing.stale_after_seconds;
        }
        let name = names
            .iter()
            .find(|(n, _)| *n == id)
            .map_or_else(|| id.to_string(), |(_, name)| name.clone());
        live.register_operator(&name, &c).await?;
    }
    Ok(())
}

/// Prints what each simulated operator did.
pub fn print_counters(sims: &[(Arc<Sim>, String)]) {
    println!(
        "{:<10} {:>8} {:>8} {:>7} {:>7} {:>9} {:>8} {:>7}",
        "operator", "pushed", "refused", "failed", "faults", "answered", "charges", "orders"
    );
    for (sim, _) in sims {
        let c = &sim.counters;
        let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        println!(
            "{:<10} {:>8} {:>8} {:>7} {:>7} {:>9} {:>8} {:>7}",
            sim.operator_id(),
            n(&c.pushes_acknowledged),
            n(&c.pushes_refused),
            n(&c.pushes_failed),
            n(&c.faults_injected),
            n(&c.requests_answered),
            n(&c.charges_started),
            n(&c.orders_sent)
        );
    }
}

/// The superior's settings in evgrid for a simulated superior at `url`.
pub fn superior_settings(
    id: &str,
    url: &str,
    options: &evgrid_sim::superior::SuperiorOptions,
    profile: evgrid_tcec::supervision::Profile,
) -> evgrid_app::superiors::SuperiorSettings {
    evgrid_app::superiors::SuperiorSettings {
        id: id.to_owned(),
        name: "模拟省级监管平台 (simulated)".to_owned(),
        base_url: url.to_owned(),
        platform_operator_id: options.platform_operator_id.clone(),
        operator_secret: options.operator_secret.clone(),
        data_secret: options.data_secret.clone(),
        data_secret_iv: options.data_secret_iv.clone(),
        sig_secret: options.sig_secret.clone(),
        profile,
    }
}

/// The demo's simulated superior: started on a free loopback port and registered; a
/// superior registered before (the simulator starts empty) gets the whole city queued again.
/// Returns its base URL.
pub async fn start_demo_superior(
    app: &evgrid_app::App,
    platform_operator_id: &str,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<String> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let url = format!(
        "http://{}{}",
        listener.local_addr()?,
        evgrid_sim::superior::BASE_PATH
    );
    let options = evgrid_sim::superior::SuperiorOptions::demo(platform_operator_id);
    evgrid_sim::superior::start(options.clone(), listener, stop);
    let settings = superior_settings(
        "sim-province",
        &url,
        &options,
        evgrid_tcec::supervision::Profile::provincial(),
    );
    if !app.superiors().put(&settings).await? {
        app.superiors().resend_everything(&settings.id).await?;
    }
    Ok(url)
}

/// Runs a simulate command.
pub async fn run(command: SimulateCommand) -> Result<()> {
    if let SimulateCommand::Superior {
        listen,
        platform_operator_id,
        refuse_share,
        already_received_ret,
        id,
        profile,
        register,
        database,
        duration,
        seed,
    } = command
    {
        OperatorId::new(&platform_operator_id).context("--platform-operator-id")?;
        if !listen.ip().is_loopback() {
            anyhow::bail!("--listen {listen}: the simulated superior listens on loopback only");
        }
        let mut options = evgrid_sim::superior::SuperiorOptions::demo(&platform_operator_id);
        options.refuse_share = refuse_share.clamp(0.0, 1.0);
        options.already_received_ret = (already_received_ret != 0).then_some(already_received_ret);
        options.seed = seed;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let local = listener.local_addr()?;
        let url = format!("http://{local}{}", evgrid_sim::superior::BASE_PATH);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let sim = evgrid_sim::superior::start(options.clone(), listener, stopped);
        println!("simulated superior at {url} (state: http://{local}/state)");
        if let Some(dir) = register {
            let app = crate::open::open_app(&crate::open::StoreArgs {
                data_dir: dir.clone(),
                database,
                secret_key_file: None,
            })
            .await?;
            let profile = crate::superior::load_profile(&profile)?;
            let settings = superior_settings(&id, &url, &options, profile);
            if !app.superiors().put(&settings).await? {
                app.superiors().resend_everything(&id).await?;
            }
            println!("registered as superior {id} in {}", dir.display());
        }
        let started = std::time::Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(10)) => {}
                _ = tokio::signal::ctrl_c() => break,
            }
            let r = sim.received();
            println!(
                "stations {} · statuses {} ({} pushes) · charge samples {} · orders {} · checks {} · refused busy {}",
                r.stations.len(),
                r.statuses.len(),
                r.status_pushes,
                r.charge_samples.values().map(Vec::len).sum::<usize>(),
                r.orders.len(),
                r.checks.len(),
                r.refused_busy
            );
            if duration.is_some_and(|d| started.elapsed().as_secs() >= d) {
                break;
            }
        }
        let _ = stop.send(true);
        return Ok(());
    }
    if let SimulateCommand::Chargers {
        csms,
        count,
        version,
        id_prefix,
        connectors,
        password,
        event_seconds,
        meter_seconds,
        seed,
        duration,
    } = command
    {
        let options = charger_options(&csms, version, password, event_seconds, meter_seconds, seed);
        let ids: Vec<(String, u32, Option<String>)> = (1..=count)
            .map(|i| (format!("{id_prefix}-{i:04}"), connectors, None))
            .collect();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let counters = start_chargers(&ids, &options, &stopped);
        println!(
            "{count} simulated OCPP {} chargers ({id_prefix}-0001…) connecting to {csms}",
            version.label()
        );
        let started = std::time::Instant::now();
        loop {
            let tick = tokio::time::sleep(Duration::from_secs(10));
            tokio::select! {
                () = tick => {}
                _ = tokio::signal::ctrl_c() => break,
            }
            let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
            println!(
                "connected {} · messages {} · CALLERRORs {} · commands answered {} · sessions {} · reconnects {}",
                n(&counters.connected),
                n(&counters.messages_sent),
                n(&counters.call_errors),
                n(&counters.commands_answered),
                n(&counters.sessions),
                n(&counters.reconnects)
            );
            if duration.is_some_and(|d| started.elapsed().as_secs() >= d) {
                break;
            }
        }
        let _ = stop.send(true);
        return Ok(());
    }
    let SimulateCommand::Operators {
        platform,
        count,
        seed,
        behaviour,
        base_port,
        register: register_dir,
        database,
        platform_operator_id,
        duration,
    } = command
    else {
        return Ok(());
    };
    OperatorId::new(&platform_operator_id).context("--platform-operator-id")?;
    let data = crate::open::reference()?;
    let network = evgrid_synth::generate(&data, seed);
    let platforms = demo_platforms(&network, &platform_operator_id, count.clamp(1, 7));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sims = start(platforms, &platform, seed, &behaviour, base_port, stopped).await?;
    for (sim, url) in &sims {
        println!("{} {url}", sim.operator_id());
    }
    if let Some(dir) = register_dir {
        let app = crate::open::open_app(&crate::open::StoreArgs {
            data_dir: dir.clone(),
            database,
            secret_key_file: None,
        })
        .await?;
        let names: Vec<(OperatorId, String)> = network
            .operators
            .iter()
            .map(|o| (o.id.clone(), o.name_zh.clone()))
            .collect();
        register(app.live(), &sims, &names).await?;
        println!("registered {} operators in {}", sims.len(), dir.display());
    }
    match duration {
        Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    let _ = stop.send(true);
    print_counters(&sims);
    Ok(())
}
