//! `evgrid bench tcec`: operator platforms pushing `notification_stationStatus` to evgrid on
//! loopback, each push a full T/CEC request (new connection, token, AES, HMAC) acknowledged only
//! after the commit, on SQLite and (with `--database`) on PostgreSQL in the same invocation. Prints pushes/s, statuses/s and latency for one status per push (the
//! standard's shape) and for batches (an array of ConnectorStatusInfo, which evgrid accepts).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use evgrid_app::{App, Settings};
use evgrid_geo::ReferenceData;
use evgrid_model::{CoordSystem, OperatorCredentials, OperatorId};
use evgrid_tcec::client::Client;
use evgrid_tcec::crypto::KeySet;
use serde_json::json;

use crate::engines::{engines, Engine, EngineArgs};
use crate::measure::{machine, micros, percentile};

/// Options of the T/CEC benchmark.
#[derive(Debug, clap::Args)]
pub struct TcecArgs {
    /// Concurrent operator clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Statuses per push in the batched measurement.
    #[arg(long, default_value_t = 50)]
    batch: usize,
    /// Also write the table to this file.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    #[command(flatten)]
    engines: EngineArgs,
}

struct Measured {
    batch: usize,
    pushes: usize,
    seconds: f64,
    lat_us: Vec<u32>,
    failures: usize,
}

fn credentials(id: &OperatorId) -> OperatorCredentials {
    OperatorCredentials {
        operator_id: id.clone(),
        operator_secret: format!("{id}-bench-op"),
        data_secret: format!("{id}BENCHKY"),
        data_secret_iv: format!("{id}BENCHIV"),
        sig_secret: format!("{id}-bench-sig"),
        base_url: None,
        coords: CoordSystem::Gcj02,
        platform_secret: None,
        stale_after_seconds: None,
    }
}

async fn push_load(
    url: &str,
    operators: &[(OperatorCredentials, Vec<String>)],
    clients: usize,
    batch: usize,
    seconds: f64,
) -> Result<Measured> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (creds, connectors) = operators[c % operators.len()].clone();
        let keys = KeySet::new(&creds.data_secret, &creds.data_secret_iv, &creds.sig_secret)?;
        let client = Client::new(
            url,
            creds.operator_id.as_str(),
            &creds.operator_secret,
            keys,
        )?;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failures = 0;
            let mut i = c * 7919;
            while Instant::now() < deadline && lat.len() < 1_000_000 {
                let infos: Vec<_> = (0..batch)
                    .map(|j| {
                        i += 1;
                        let id = &connectors[(i * 31 + j) % connectors.len()];
                        let status = [1, 3, 2, 1, 0][i % 5];
                        json!({"ConnectorID": id, "Status": status})
                    })
                    .collect();
                let body = if batch == 1 {
                    json!({"ConnectorStatusInfo": infos[0]})
                } else {
                    json!({"ConnectorStatusInfo": infos})
                };
                let t0 = Instant::now();
                match client.call("notification_stationStatus", &body).await {
                    Ok(_) => lat.push(micros(t0.elapsed())),
                    Err(e) => {
                        failures += 1;
                        if failures < 3 {
                            tracing::warn!(error = %e, "push failed");
                        }
                    }
                }
            }
            (lat, failures)
        }));
    }
    let mut lat_us = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await?;
        lat_us.extend(l);
        failures += f;
    }
    lat_us.sort_unstable();
    Ok(Measured {
        batch,
        pushes: lat_us.len(),
        seconds: start.elapsed().as_secs_f64(),
        lat_us,
        failures,
    })
}

/// Microseconds of CPU for the crypto of one push and its answer (seal, verify, decrypt, seal
/// answer, open answer), measured on one thread.
fn crypto_cost_us(batch: usize) -> Result<f64> {
    let keys = KeySet::new("a1b2c3d4e5f6g7h8", "1234567890abcdef", "s1g2s3e4c5r6e7t8")?;
    let infos: Vec<_> = (0..batch)
        .map(|i| json!({"ConnectorID": format!("EVGSYN001P000001E01C{i}"), "Status": 1}))
        .collect();
    let plain = serde_json::to_vec(&json!({"ConnectorStatusInfo": infos}))?;
    let n = 20_000 / batch.max(1) + 200;
    let t0 = Instant::now();
    for i in 0..n {
        let env = evgrid_tcec::envelope::RequestEnvelope::seal(
            &keys,
            "EVGSYN001",
            &plain,
            "20261125120000",
            &format!("{:04}", i % 9999 + 1),
        );
        let opened = env.open(&keys).map_err(|e| anyhow::anyhow!(e.msg))?;
        let answer = evgrid_tcec::envelope::ResponseEnvelope::seal_ok(&keys, br#"{"Status":0}"#);
        std::hint::black_box((
            opened,
            answer
                .open(&keys, true)
                .map_err(|e| anyhow::anyhow!(e.msg))?,
        ));
    }
    Ok(t0.elapsed().as_secs_f64() * 1e6 / n as f64)
}

/// The pushes of both shapes against a server over `engine`, with the synthetic network
/// imported into it.
fn measure_engine(
    engine: &Engine,
    args: &TcecArgs,
    runtime: &tokio::runtime::Runtime,
    reference: &Arc<ReferenceData>,
    network_dir: &std::path::Path,
) -> Result<Vec<Measured>> {
    let app = runtime
        .block_on(App::open_location(
            &engine.location,
            reference.clone(),
            Settings::default(),
        ))
        .with_context(|| format!("opening {}", engine.name))?;
    eprintln!("{}: importing the synthetic network...", engine.name);
    let report = runtime.block_on(app.network().import_paths(
        &[network_dir.to_path_buf()],
        None,
        &|_| {},
    ))?;
    anyhow::ensure!(report.committed, "the synthetic network did not import");
    let mut operators = Vec::new();
    for op in runtime.block_on(app.network().operators())? {
        let creds = credentials(&op.id);
        runtime.block_on(app.live().register_operator(&op.name, &creds))?;
        let connectors = runtime.block_on(app.network().connector_ids(&op.id))?;
        operators.push((creds, connectors));
    }
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = server_rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}/evcs/v1/", listener.local_addr()?);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = server_rt.spawn(evgrid_server::serve(
        listener,
        evgrid_server::AppState::new(app),
        async {
            let _ = rx.await;
        },
    ));
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    client_rt.block_on(push_load(&url, &operators, args.clients, 1, 1.0))?; // warm-up and tokens
    let mut rows = Vec::new();
    for batch in [1, args.batch] {
        eprintln!(
            "{}: pushing {batch} status(es) per request from {} clients for {} s...",
            engine.name, args.clients, args.seconds
        );
        rows.push(client_rt.block_on(push_load(
            &url,
            &operators,
            args.clients,
            batch,
            args.seconds,
        ))?);
    }
    let _ = tx.send(());
    let _ = server_rt.block_on(server);
    server_rt.shutdown_timeout(Duration::from_secs(5));
    Ok(rows)
}

/// Runs the benchmark.
pub fn run(args: TcecArgs, runtime: &tokio::runtime::Runtime) -> Result<()> {
    let engines = runtime.block_on(engines(&args.engines, "tcec"))?;
    let reference = Arc::new(ReferenceData::embedded()?);
    let network = tempfile::tempdir()?;
    evgrid_synth::generate(&reference, 20_220_701).write(network.path(), &reference)?;
    let mut rows = Vec::new();
    for engine in &engines {
        for m in measure_engine(engine, &args, runtime, &reference, network.path())? {
            rows.push((engine.name, m));
        }
    }

    let mut s = format!(
        "### T/CEC notification_stationStatus, {} concurrent operator clients on loopback\n\nMachine: {}. Each push: new TCP connection, Bearer token, AES-128-CBC Data, HMAC-MD5 Sig, stored in a database transaction committed before the answer (SQLite: WAL, synchronous=FULL; PostgreSQL: synchronous_commit=on, the server on the same machine); concurrent pushes share a transaction (group commit). Clients, evgrid and the database server share the cores.\n\n",
        args.clients,
        machine()
    );
    s.push_str("| engine | statuses per push | pushes | pushes/s | statuses/s (durable) | p50 ms | p99 ms | failed | crypto µs/push | crypto share of 2 cores |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (engine, m) in &rows {
        let pps = m.pushes as f64 / m.seconds;
        let crypto = crypto_cost_us(m.batch).context("measuring crypto")?;
        s.push_str(&format!(
            "| {engine} | {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {} | {:.1} | {:.1}% |\n",
            m.batch,
            m.pushes,
            pps,
            pps * m.batch as f64,
            percentile(&m.lat_us, 0.5),
            percentile(&m.lat_us, 0.99),
            m.failures,
            crypto,
            crypto * pps / 2e6 * 100.0
        ));
    }
    s.push_str("\nCrypto share: the measured µs of crypto per push (client seal + server verify/decrypt + answer seal + client open, timed alone on one thread) times the push rate, over the machine's 2 cores; the rest is HTTP, JSON, the store and the clients.\n");
    if engines.len() > 1 {
        s.push_str("\n| statuses per push | SQLite pushes/s | PostgreSQL pushes/s | PostgreSQL ÷ SQLite |\n|---:|---:|---:|---:|\n");
        for batch in [1, args.batch] {
            let rate = |name: &str| {
                rows.iter()
                    .find(|(e, m)| *e == name && m.batch == batch)
                    .map_or(0.0, |(_, m)| m.pushes as f64 / m.seconds)
            };
            let (sqlite, postgres) = (rate("SQLite"), rate("PostgreSQL"));
            s.push_str(&format!(
                "| {batch} | {sqlite:.0} | {postgres:.0} | {:.2} |\n",
                postgres / sqlite.max(1e-9)
            ));
        }
    }
    println!("{s}");
    if let Some(path) = &args.out {
        std::fs::write(path, &s).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
