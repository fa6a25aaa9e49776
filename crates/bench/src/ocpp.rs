//! `evgrid bench ocpp`: the OCPP central system under load on loopback, against a server
//! process of its own (so its memory and CPU can be read from /proc): (a) idle connections held
//! after BootNotification, with the server's RSS per connection; (b) chargers each sending a
//! StatusNotification (stored) every interval, or with `--message meter-values` a MeterValues
//! of the transaction each opened first (stored, billed): messages acknowledged per second,
//! latency p50/p99, the server's CPU time per message; (c) the same load against a minimal central
//! system written on the Python `ocpp` package (tests/ocpp/baseline_csms.py, no storage), in the
//! same run, with the ratios; (d) the same load against a floor: a minimal Rust responder on the
//! same WebSocket library and runtime (frames parsed, every CALL answered `{}`, no validation, no
//! storage), i.e. what loopback TCP, the WebSocket and the runtime alone cost per message on this
//! machine, which bounds the CPU ratio any central system could show against the baseline here.
//! Connections come from several loopback source addresses.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use evgrid_ocpp::Frame;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Options of the OCPP benchmark.
#[derive(Debug, clap::Args)]
pub struct OcppArgs {
    /// Idle connections to hold (limited by the open-file limit; see the README).
    #[arg(long, default_value_t = 15_000)]
    connections: usize,
    /// Chargers sending messages in the load phase.
    #[arg(long, default_value_t = 10_000)]
    chargers: usize,
    /// Seconds between two messages of one charger, one phase each (comma-separated).
    #[arg(long, default_value = "10,2,1", value_delimiter = ',')]
    intervals: Vec<f64>,
    /// Seconds per load phase.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Skip the Python baseline.
    #[arg(long)]
    no_baseline: bool,
    /// Skip the floor (the minimal Rust responder).
    #[arg(long)]
    no_floor: bool,
    /// What each charger sends in the load phases.
    #[arg(long, value_enum, default_value = "status")]
    message: LoadMessage,
    /// Also write the table to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    engines: crate::engines::EngineArgs,
}

/// The message of the load phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LoadMessage {
    /// StatusNotification, Available and Charging in turn.
    Status,
    /// MeterValues of a transaction opened before the phases (StartTransaction), the energy
    /// register rising by 100 Wh a message.
    MeterValues,
}

impl LoadMessage {
    fn label(self) -> &'static str {
        match self {
            LoadMessage::Status => "StatusNotification",
            LoadMessage::MeterValues => "MeterValues",
        }
    }
}

/// Where chargers connect: address and path before the charger id.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    pub(crate) path: String,
}

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) target: Target,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_line(child: &mut Child, needle: &str) -> Result<String> {
    let stdout = child.stdout.take().context("server stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(line) = lines.next() else {
            bail!("the server exited")
        };
        let line = line?;
        if let Some(i) = line.find(needle) {
            std::thread::spawn(move || for _ in lines {});
            return Ok(line[i + needle.len()..].to_owned());
        }
    }
    bail!("the server did not start")
}

/// `evgrid serve` over the store at `location` (as `--database` reads it), in `dir`, with
/// `extra` options.
pub(crate) fn start_evgrid(
    dir: &std::path::Path,
    location: &str,
    extra: &[&str],
) -> Result<Server> {
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--poll-interval",
            "0",
            "--accept-unknown-chargers",
            "--data-dir",
        ])
        .arg(dir)
        .args(["--database", location])
        .args(extra)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let rest = wait_for_line(&mut child, "evgrid serving http://")?;
    let addr = rest.split('/').next().unwrap_or_default().parse()?;
    Ok(Server {
        child,
        target: Target {
            addr,
            path: "/ocpp/".into(),
        },
    })
}

fn start_python(root: &std::path::Path) -> Result<Server> {
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        bail!("no .venv with the ocpp package (run scripts/ocpp-interop.sh once)");
    }
    let mut python = Command::new(python);
    python.arg(root.join("tests/ocpp/baseline_csms.py"));
    start_listening(python)
}

fn start_floor() -> Result<Server> {
    let mut floor = Command::new(std::env::current_exe()?);
    floor.args(["bench", "ocpp-floor"]);
    start_listening(floor)
}

/// Starts a central system that prints `listening on ADDR` once it listens (any path).
fn start_listening(mut command: Command) -> Result<Server> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let rest = wait_for_line(&mut child, "listening on ")?;
    Ok(Server {
        child,
        target: Target {
            addr: rest.trim().parse()?,
            path: "/".into(),
        },
    })
}

/// The floor responder (`evgrid bench ocpp-floor`): accepts WebSockets on 127.0.0.1 (any path,
/// subprotocol `ocpp1.6`) and answers every CALL with an empty CALLRESULT (StartTransaction
/// with a transaction id).
pub async fn serve_floor() -> Result<()> {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            // The callback's error type is tungstenite's, large or not.
            #[allow(clippy::result_large_err)]
            let offer = |_: &Request, mut response: Response| {
                response.headers_mut().insert(
                    "Sec-WebSocket-Protocol",
                    tokio_tungstenite::tungstenite::http::HeaderValue::from_static("ocpp1.6"),
                );
                Ok(response)
            };
            let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, offer).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(Frame::Call { id, action, .. }) = Frame::parse(&text) else {
                    continue;
                };
                // A transaction needs its id (the meter-values load opens one first).
                let payload = if action == "StartTransaction" {
                    serde_json::json!({"transactionId": 1, "idTagInfo": {"status": "Accepted"}})
                } else {
                    serde_json::json!({})
                };
                let answer = Frame::CallResult { id, payload }.to_text();
                if ws.send(Message::Text(answer.into())).await.is_err() {
                    break;
                }
            }
        });
    }
}

/// The process's resident memory, bytes.
pub(crate) fn rss(pid: u32) -> u64 {
    crate::measure::proc_status_kib(&pid.to_string(), "VmRSS").map_or(0, |kb| kb * 1024)
}

/// The process's CPU time (user + system), seconds.
pub(crate) fn cpu(pid: u32) -> f64 {
    let ticks = 100.0; // USER_HZ on Linux
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            // Fields 14 and 15 (utime, stime) are 12th and 13th after the command name.
            Some(
                (after.get(11)?.parse::<f64>().ok()? + after.get(12)?.parse::<f64>().ok()?) / ticks,
            )
        })
        .unwrap_or(0.0)
}

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A WebSocket to the server from loopback source address 127.0.0.(2 + i % 200).
pub(crate) async fn connect(server: &Target, id: &str, i: usize) -> Result<Socket> {
    let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i % 200) as u8));
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(server.addr).await?;
    let mut request = format!("ws://{}{}{id}", server.addr, server.path).into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp1.6".parse()?);
    // Registered on first use by the server accepting unknown chargers.
    request.headers_mut().insert(
        "Authorization",
        evgrid_ocpp::basic_authorization(id, "evgrid-bench-password").parse()?,
    );
    let (ws, _) = tokio_tungstenite::client_async(request, stream).await?;
    Ok(ws)
}

/// Sends a CALL; returns the CALLRESULT's payload.
pub(crate) async fn call(
    ws: &mut Socket,
    id: &str,
    action: &str,
    payload: serde_json::Value,
) -> Result<serde_json::Value> {
    let text = Frame::Call {
        id: id.to_owned(),
        action: action.to_owned(),
        payload,
    }
    .to_text();
    ws.send(Message::Text(text.into())).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => match Frame::parse(&t) {
                Ok(Frame::CallResult {
                    id: answered,
                    payload,
                }) if answered == id => return Ok(payload),
                Ok(Frame::CallError {
                    code, description, ..
                }) => {
                    bail!("CALLERROR {code}: {description}")
                }
                Ok(_) => {}
                Err(e) => bail!("not an OCPP-J frame: {}", e.description),
            },
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("closed"),
        }
    }
}

pub(crate) async fn boot(server: &Target, id: &str, i: usize) -> Result<Socket> {
    let mut ws = connect(server, id, i).await?;
    call(
        &mut ws,
        "b",
        "BootNotification",
        serde_json::json!({"chargePointVendor": "bench", "chargePointModel": "load"}),
    )
    .await?;
    Ok(ws)
}

/// Opens a transaction on connector 1 of every socket (20 at a time); returns their ids, in
/// the sockets' order.
async fn open_transactions(sockets: Vec<Socket>) -> Result<(Vec<Socket>, Vec<i64>)> {
    let mut out = Vec::with_capacity(sockets.len());
    let mut sockets = sockets.into_iter();
    loop {
        let chunk: Vec<Socket> = sockets.by_ref().take(20).collect();
        if chunk.is_empty() {
            break;
        }
        let tasks: Vec<_> = chunk
            .into_iter()
            .map(|mut ws| {
                tokio::spawn(async move {
                    let answer = call(
                        &mut ws,
                        "t",
                        "StartTransaction",
                        serde_json::json!({"connectorId": 1, "idTag": "BENCH", "meterStart": 0,
                                           "timestamp": evgrid_model::time::format_rfc3339(evgrid_model::time::unix_now())}),
                    )
                    .await?;
                    let id = answer["transactionId"]
                        .as_i64()
                        .context("StartTransaction answered without a transaction id")?;
                    anyhow::Ok((ws, id))
                })
            })
            .collect();
        for t in tasks {
            out.push(t.await??);
        }
    }
    Ok(out.into_iter().unzip())
}

/// Opens `n` connections (64 at a time), each booted, the i-th to `servers[i % len]`; returns
/// them and how many failed.
pub(crate) async fn open_many(servers: &[Target], prefix: &str, n: usize) -> (Vec<Socket>, usize) {
    let sockets = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let failed = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (sockets, failed, next) = (sockets.clone(), failed.clone(), next.clone());
        let servers = servers.to_vec();
        let prefix = prefix.to_owned();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= n {
                    break;
                }
                match tokio::time::timeout(
                    Duration::from_secs(30),
                    boot(&servers[i % servers.len()], &format!("{prefix}{i:06}"), i),
                )
                .await
                {
                    Ok(Ok(ws)) => sockets
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(ws),
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let sockets = std::mem::take(
        &mut *sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    (sockets, failed.load(Ordering::Relaxed) as usize)
}

pub(crate) struct Load {
    pub(crate) acknowledged: u64,
    pub(crate) failed: u64,
    pub(crate) seconds: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// CPU time of the server processes together.
    pub(crate) server_cpu_s: f64,
}

/// Every socket sends a StatusNotification, or a MeterValues of its transaction
/// (`transactions[i]`), every `interval` seconds for `seconds`.
pub(crate) async fn load(
    server_pids: &[u32],
    sockets: Vec<Socket>,
    transactions: &[i64],
    interval: f64,
    seconds: f64,
) -> (Load, Vec<Socket>) {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let n = sockets.len().max(1);
    let cpu_of = || server_pids.iter().map(|&p| cpu(p)).sum::<f64>();
    let cpu0 = cpu_of();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for (i, mut ws) in sockets.into_iter().enumerate() {
        let (latencies, acknowledged, failed) =
            (latencies.clone(), acknowledged.clone(), failed.clone());
        let transaction = transactions.get(i).copied();
        tasks.push(tokio::spawn(async move {
            let phase = Duration::from_secs_f64(interval * i as f64 / n as f64);
            let mut next = start + phase;
            let mut mine = Vec::new();
            let mut k = 0u64;
            while next < end {
                tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
                k += 1;
                let (action, payload) = match transaction {
                    Some(tx) => (
                        "MeterValues",
                        serde_json::json!({"connectorId": 1, "transactionId": tx, "meterValue": [{
                            "timestamp": evgrid_model::time::format_rfc3339(evgrid_model::time::unix_now()),
                            "sampledValue": [{"value": (k * 100).to_string(),
                                              "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]}),
                    ),
                    None => {
                        let status = if k.is_multiple_of(2) {
                            "Available"
                        } else {
                            "Charging"
                        };
                        (
                            "StatusNotification",
                            serde_json::json!({"connectorId": 1, "errorCode": "NoError", "status": status}),
                        )
                    }
                };
                let t = Instant::now();
                let sent = call(&mut ws, &format!("s{k}"), action, payload).await;
                match sent {
                    Ok(_) => {
                        mine.push(t.elapsed().as_secs_f64() * 1000.0);
                        acknowledged.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
                next += Duration::from_secs_f64(interval);
            }
            latencies
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(mine);
            ws
        }));
    }
    let mut sockets = Vec::new();
    for t in tasks {
        if let Ok(ws) = t.await {
            sockets.push(ws);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let server_cpu_s = cpu_of() - cpu0;
    let mut l = std::mem::take(
        &mut *latencies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    l.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if l.is_empty() {
            0.0
        } else {
            l[((l.len() - 1) as f64 * p).round() as usize]
        }
    };
    (
        Load {
            acknowledged: acknowledged.load(Ordering::Relaxed),
            failed: failed.load(Ordering::Relaxed),
            seconds: elapsed,
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            server_cpu_s,
        },
        sockets,
    )
}

/// The floor's name in the table.
const FLOOR: &str = "floor: Rust, WebSocket + JSON only";

/// Runs the benchmark.
pub fn run(args: OcppArgs, runtime: &tokio::runtime::Runtime) -> Result<()> {
    runtime.block_on(async {
        let dir = tempfile::tempdir()?;
        let root = std::env::current_dir()?;
        let engines = crate::engines::engines(&args.engines, "ocpp").await?;
        let mut out = String::new();
        let mut line = |s: String| {
            println!("{s}");
            out.push_str(&s);
            out.push('\n');
        };
        line(format!("OCPP 1.6 central system on loopback, {} CPU cores shared by server and load generator; load: {}", std::thread::available_parallelism().map_or(0, |n| n.get()), args.message.label()));
        line(String::new());
        // (a) idle connections.
        let server = start_evgrid(dir.path(), &engines[0].location, &[])?;
        let pid = server.child.id();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = rss(pid);
        let t = Instant::now();
        let (idle, failed) = open_many(std::slice::from_ref(&server.target), "IDLE", args.connections).await;
        let opened = idle.len();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = rss(pid);
        line("| idle connections held | failed | seconds to open and boot | server RSS before | after | per connection |".into());
        line("|---:|---:|---:|---:|---:|---:|".into());
        line(format!(
            "| {opened} | {failed} | {:.1} | {:.1} MiB | {:.1} MiB | {:.1} KiB |",
            t.elapsed().as_secs_f64(),
            before as f64 / 1048576.0,
            after as f64 / 1048576.0,
            (after.saturating_sub(before)) as f64 / opened.max(1) as f64 / 1024.0
        ));
        drop(idle);
        tokio::time::sleep(Duration::from_secs(2)).await;
        line(String::new());
        // (b) and (c): the same load on evgrid and on the Python baseline.
        line("| central system | chargers | interval s | offered msg/s | acknowledged msg/s | failed | p50 ms | p99 ms | server CPU µs/msg |".into());
        line("|---|---:|---:|---:|---:|---:|---:|---:|---:|".into());
        let mut results: Vec<(String, f64, f64, f64, f64)> = Vec::new();
        let mut systems = vec![("evgrid (stored in SQLite)", server)];
        if let Some(postgres) = engines.get(1) {
            systems.push((
                "evgrid (stored in PostgreSQL)",
                start_evgrid(dir.path(), &postgres.location, &[])?,
            ));
        }
        if !args.no_baseline {
            match start_python(&root) {
                Ok(p) => systems.push(("Python ocpp 2.1.0 (no storage)", p)),
                Err(e) => line(format!("(Python baseline skipped: {e})")),
            }
        }
        if !args.no_floor {
            match start_floor() {
                Ok(f) => systems.push((FLOOR, f)),
                Err(e) => line(format!("(floor skipped: {e})")),
            }
        }
        for (name, server) in &systems {
            let pid = server.child.id();
            let (sockets, failed) = open_many(std::slice::from_ref(&server.target), "LOAD", args.chargers).await;
            if failed > 0 {
                line(format!("({name}: {failed} of {} chargers could not connect)", args.chargers));
            }
            let (mut sockets, transactions) = match args.message {
                LoadMessage::Status => (sockets, Vec::new()),
                LoadMessage::MeterValues => open_transactions(sockets)
                    .await
                    .with_context(|| format!("{name}: opening the transactions"))?,
            };
            for interval in &args.intervals {
                let (l, back) = load(&[pid], sockets, &transactions, *interval, args.seconds).await;
                sockets = back;
                let rate = l.acknowledged as f64 / l.seconds;
                let per_msg = l.server_cpu_s / l.acknowledged.max(1) as f64 * 1e6;
                line(format!(
                    "| {name} | {} | {interval} | {:.0} | {rate:.0} | {} | {:.1} | {:.1} | {per_msg:.0} |",
                    sockets.len(),
                    sockets.len() as f64 / interval,
                    l.failed,
                    l.p50_ms,
                    l.p99_ms
                ));
                results.push((name.to_string(), *interval, rate, per_msg, l.p99_ms));
            }
        }
        if results.iter().any(|r| r.0.contains("PostgreSQL")) {
            line(String::new());
            line("| interval s | SQLite msg/s | PostgreSQL msg/s | PostgreSQL ÷ SQLite | SQLite p99 ms | PostgreSQL p99 ms |".into());
            line("|---:|---:|---:|---:|---:|---:|".into());
            for interval in &args.intervals {
                let of = |engine: &str| results.iter().find(|r| r.0.contains(engine) && r.1 == *interval);
                if let (Some(sqlite), Some(postgres)) = (of("SQLite"), of("PostgreSQL")) {
                    line(format!(
                        "| {interval} | {:.0} | {:.0} | {:.2} | {:.1} | {:.1} |",
                        sqlite.2,
                        postgres.2,
                        postgres.2 / sqlite.2.max(1e-9),
                        sqlite.4,
                        postgres.4
                    ));
                }
            }
        }
        if results.iter().any(|r| r.0.starts_with("Python")) {
            line(String::new());
            line("| interval s | msg/s evgrid ÷ Python | CPU per message Python ÷ evgrid | Python ÷ floor (the most any central system could show here) |".into());
            line("|---:|---:|---:|---:|".into());
            let of = |prefix: &str, interval: f64| results.iter().find(|r| r.0.starts_with(prefix) && r.1 == interval);
            for interval in &args.intervals {
                if let (Some(e), Some(p)) = (of("evgrid", *interval), of("Python", *interval)) {
                    let floor = of(FLOOR, *interval).map_or("–".to_owned(), |f| format!("{:.1}", p.3 / f.3.max(1e-9)));
                    line(format!("| {interval} | {:.2} | {:.1} | {floor} |", e.2 / p.2.max(1e-9), p.3 / e.3.max(1e-9)));
                }
            }
        }
        if let Some(path) = &args.out {
            std::fs::write(path, &out)?;
        }
        Ok(())
    })
}
