//! `evgrid bench nodes`: several evgrid nodes on one PostgreSQL database. (a) Idle chargers
//! (after BootNotification) spread over `--nodes` nodes, opened by worker processes of this
//! binary (each under its open-file limit, from many loopback source addresses), with every
//! node's RSS per connection; (b) chargers sending a StatusNotification every interval through
//! 3 nodes, then the same through 1: acknowledged msg/s, p50/p99, CPU per message over the
//! nodes; (c) the cross-node command round trip at idle: an API call on node 1 for a charger
//! held by node 3, answered by the charger, p50/p99.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::ocpp::{self, Server, Target};

/// Options of the several-nodes benchmark.
#[derive(Debug, clap::Args)]
pub struct NodesArgs {
    /// The PostgreSQL server (a user that may create databases): the benchmark makes a scratch
    /// database there for its nodes and drops it afterwards.
    #[arg(long, env = "EVGRID_BENCH_DATABASE_URL", hide_env_values = true)]
    database: String,
    /// Nodes holding the idle chargers.
    #[arg(long, default_value_t = 6)]
    nodes: usize,
    /// Idle chargers, spread evenly over the nodes.
    #[arg(long, default_value_t = 100_000)]
    idle: usize,
    /// Idle chargers per worker process (each stays under its open-file limit).
    #[arg(long, default_value_t = 17_000)]
    per_worker: usize,
    /// Chargers sending statuses in the load phase.
    #[arg(long, default_value_t = 10_000)]
    chargers: usize,
    /// Seconds between two statuses of one charger.
    #[arg(long, default_value_t = 1.0)]
    interval: f64,
    /// Seconds per load phase.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Commands sent for the cross-node round trip.
    #[arg(long, default_value_t = 200)]
    commands: usize,
    /// Also write the tables to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Options of a worker process holding idle chargers (`bench nodes` starts them).
#[derive(Debug, clap::Args)]
pub struct IdleWorkerArgs {
    /// The nodes' addresses, comma-separated; charger i goes to node i mod n.
    #[arg(long, value_delimiter = ',')]
    targets: Vec<SocketAddr>,
    #[arg(long)]
    count: usize,
    /// Prefix of the chargers' ids.
    #[arg(long)]
    prefix: String,
}

/// A worker: opens and boots its chargers, prints `held N failed F`, holds them until its
/// standard input closes.
pub fn idle_worker(args: IdleWorkerArgs, runtime: &tokio::runtime::Runtime) -> Result<()> {
    runtime.block_on(async {
        let targets: Vec<Target> = args
            .targets
            .iter()
            .map(|&addr| Target {
                addr,
                path: "/ocpp/".into(),
            })
            .collect();
        if targets.is_empty() {
            bail!("--targets: at least one node");
        }
        let (sockets, failed) = ocpp::open_many(&targets, &args.prefix, args.count).await;
        println!("held {} failed {failed}", sockets.len());
        // Held (and answered by the runtime's pings) until the parent closes our stdin.
        tokio::task::spawn_blocking(|| {
            use std::io::Read;
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 64];
            while stdin.read(&mut buf).is_ok_and(|n| n > 0) {}
        })
        .await?;
        drop(sockets);
        Ok(())
    })
}

/// A one-shot HTTP/1.1 request; the status and the body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: &serde_json::Value,
) -> Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let body = body.to_string();
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .context("status line")?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, body))
}

/// The OCPP connections a node holds, from its `/metrics`.
async fn connections(addr: SocketAddr) -> Result<u64> {
    let (status, body) = http(addr, "GET", "/metrics", None, &serde_json::Value::Null).await?;
    if status != 200 {
        bail!("/metrics: HTTP {status}");
    }
    body.lines()
        .find_map(|l| l.strip_prefix("evgrid_ocpp_connections "))
        .and_then(|n| n.trim().parse().ok())
        .context("no evgrid_ocpp_connections in /metrics")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

const ADMIN: &str = "bench.admin";
const ADMIN_PASSWORD: &str = "bench admin password";

/// Runs the benchmark.
pub fn run(args: NodesArgs, runtime: &tokio::runtime::Runtime) -> Result<()> {
    runtime.block_on(async {
        if args.nodes < 3 {
            bail!("--nodes: at least 3 (the load goes through 3, the command crosses from 1 to 3)");
        }
        let engines = crate::engines::engines(
            &crate::engines::EngineArgs {
                database: Some(args.database.clone()),
            },
            "nodes",
        )
        .await?;
        let location = engines[1].location.clone();
        // One data directory for every node: the secret key that seals secrets is shared.
        let dir = tempfile::tempdir()?;
        let exe = std::env::current_exe()?;
        let added = Command::new(&exe)
            .args(["user", "add", "--username", ADMIN, "--role", "admin", "--database", &location])
            .env("EVGRID_USER_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "error")
            .output()?;
        if !added.status.success() {
            bail!("adding the admin: {}", String::from_utf8_lossy(&added.stderr));
        }
        let mut out = String::new();
        let mut line = |s: String| {
            println!("{s}");
            out.push_str(&s);
            out.push('\n');
        };
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        line(format!(
            "{} evgrid nodes on one PostgreSQL database, {cores} CPU cores shared by PostgreSQL, the nodes and the load generators",
            args.nodes
        ));
        line(String::new());
        let mut nodes: Vec<Server> = Vec::new();
        for _ in 0..args.nodes {
            nodes.push(ocpp::start_evgrid(
                dir.path(),
                &location,
                &["--max-unknown-chargers", "10000000"],
            )?);
        }
        let pids: Vec<u32> = nodes.iter().map(|n| n.child.id()).collect();
        let targets: Vec<Target> = nodes.iter().map(|n| n.target.clone()).collect();
        tokio::time::sleep(Duration::from_secs(2)).await;

        // (a) idle chargers over every node.
        let before: Vec<u64> = pids.iter().map(|&p| ocpp::rss(p)).collect();
        let workers = args.idle.div_ceil(args.per_worker.max(1));
        let addresses = targets
            .iter()
            .map(|t| t.addr.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let started = Instant::now();
        let mut children = Vec::new();
        for w in 0..workers {
            let count = args.per_worker.min(args.idle - w * args.per_worker);
            let child = Command::new(&exe)
                .args(["bench", "ocpp-idle-worker", "--targets", &addresses])
                .args(["--count", &count.to_string(), "--prefix", &format!("IDLE{w}-")])
                .env("RUST_LOG", "error")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()?;
            children.push(child);
        }
        let (mut held, mut failed) = (0usize, 0usize);
        for child in &mut children {
            let stdout = child.stdout.take().context("worker stdout")?;
            let first = tokio::task::spawn_blocking(move || {
                BufReader::new(stdout).lines().next().transpose()
            })
            .await??
            .unwrap_or_default();
            let numbers: Vec<usize> = first
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            if let [h, f] = numbers[..] {
                held += h;
                failed += f;
            } else {
                bail!("a worker said {first:?}");
            }
        }
        let open_seconds = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let after: Vec<u64> = pids.iter().map(|&p| ocpp::rss(p)).collect();
        let grown: u64 = after
            .iter()
            .zip(&before)
            .map(|(a, b)| a.saturating_sub(*b))
            .sum();
        line("| nodes | worker processes | idle chargers held | failed | seconds to open and boot | RSS of all nodes before | after | per connection |".into());
        line("|---:|---:|---:|---:|---:|---:|---:|---:|".into());
        line(format!(
            "| {} | {workers} | {held} | {failed} | {open_seconds:.0} | {:.0} MiB | {:.0} MiB | {:.1} KiB |",
            args.nodes,
            mib(before.iter().sum()),
            mib(after.iter().sum()),
            grown as f64 / held.max(1) as f64 / 1024.0
        ));
        line(String::new());
        line("| node | RSS before | after | connections (about) |".into());
        line("|---:|---:|---:|---:|".into());
        for (i, (b, a)) in before.iter().zip(&after).enumerate() {
            line(format!(
                "| {} | {:.0} MiB | {:.0} MiB | {} |",
                i + 1,
                mib(*b),
                mib(*a),
                held / args.nodes
            ));
        }
        // Closing the workers' stdin ends them and their connections; the load phase starts
        // when every node has let its chargers go (their presence rows deleted) and settled.
        for mut child in children {
            drop(child.stdin.take());
            let _ = child.wait();
        }
        let quiet = Instant::now();
        while quiet.elapsed() < Duration::from_secs(180) {
            let mut connected = 0;
            for t in &targets {
                connected += connections(t.addr).await.unwrap_or(1);
            }
            if connected == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;

        // (b) statuses through 3 nodes, then through 1.
        line(String::new());
        line("| nodes taking the load | chargers | offered msg/s | acknowledged msg/s | failed | p50 ms | p99 ms | nodes' CPU µs/msg |".into());
        line("|---:|---:|---:|---:|---:|---:|---:|---:|".into());
        for through in [3usize, 1] {
            let (sockets, failed_open) =
                ocpp::open_many(&targets[..through], &format!("LOAD{through}-"), args.chargers).await;
            if failed_open > 0 {
                line(format!("({failed_open} of {} chargers could not connect)", args.chargers));
            }
            let (l, sockets) = ocpp::load(&pids[..through], sockets, &[], args.interval, args.seconds).await;
            line(format!(
                "| {through} | {} | {:.0} | {:.0} | {} | {:.1} | {:.1} | {:.0} |",
                sockets.len(),
                sockets.len() as f64 / args.interval,
                l.acknowledged as f64 / l.seconds,
                l.failed,
                l.p50_ms,
                l.p99_ms,
                l.server_cpu_s / l.acknowledged.max(1) as f64 * 1e6
            ));
            drop(sockets);
            tokio::time::sleep(Duration::from_secs(3)).await;
        }

        // (c) an API call on node 1 for a charger on node 3, answered by the charger.
        let mut charger = ocpp::boot(&targets[2], "CROSS-NODE-1", 7).await?;
        let answering = tokio::spawn(async move {
            while let Some(Ok(message)) = charger.next().await {
                if let Message::Text(text) = message {
                    if let Ok(evgrid_ocpp::Frame::Call { id, .. }) = evgrid_ocpp::Frame::parse(&text) {
                        let reply = evgrid_ocpp::Frame::CallResult { id, payload: serde_json::json!({}) }.to_text();
                        if charger.send(Message::Text(reply.into())).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let (status, body) = http(
            targets[0].addr,
            "POST",
            "/api/v1/auth/login",
            None,
            &serde_json::json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
        )
        .await?;
        if status != 200 {
            bail!("login on node 1: HTTP {status} {body}");
        }
        let token: serde_json::Value = serde_json::from_str(&body)?;
        let token = token["token"].as_str().context("no token")?.to_owned();
        // The charger's presence reaches node 1 through the database.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let command = serde_json::json!({"command": "ocpp", "action": "GetConfiguration", "payload": {}});
        let mut times = Vec::with_capacity(args.commands);
        let mut refused = 0;
        for _ in 0..args.commands {
            let t = Instant::now();
            let (status, _) = http(
                targets[0].addr,
                "POST",
                "/api/v1/chargers/CROSS-NODE-1/commands",
                Some(&token),
                &command,
            )
            .await?;
            if status == 200 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            } else {
                refused += 1;
            }
        }
        answering.abort();
        times.sort_by(f64::total_cmp);
        line(String::new());
        line("| cross-node command (API on node 1 → charger on node 3 → answer) | answered | not answered | p50 ms | p99 ms |".into());
        line("|---|---:|---:|---:|---:|".into());
        line(format!(
            "| GetConfiguration, one at a time, idle | {} | {refused} | {:.1} | {:.1} |",
            times.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        ));
        drop(nodes);
        if let Some(path) = &args.out {
            std::fs::write(path, &out)?;
        }
        Ok(())
    })
}
