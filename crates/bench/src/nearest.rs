//! `evgrid bench nearest`: k=10 nearest queries on 1,000,000 synthetic connectors spread like the
//! Ganzhou network, in-process on 1 and 2 threads, over HTTP with 64 keep-alive connections on
//! loopback, and, where PostgreSQL and PostGIS are installed, against PostGIS as the baseline,
//! all in one run. Prints a Markdown table (and writes it with --out).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::measure::{machine, micros, percentile};
use crate::postgis::PostgisCluster;
use anyhow::{Context, Result};
use evgrid_app::App;
use evgrid_geo::{EntryAttrs, Filter, ReferenceData, SpatialIndex};
use evgrid_model::IndexRow;
use evgrid_model::{LatLng, StationKey};
use evgrid_synth::Rng;

/// Options of the nearest benchmark.
#[derive(Debug, clap::Args)]
pub struct NearestArgs {
    /// Points (connectors) in the index.
    #[arg(long, default_value_t = 1_000_000)]
    points: usize,
    /// Seconds per measurement (each is also bounded to 10 million queries).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Results per query.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Concurrent keep-alive HTTP connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Skip the PostGIS baseline.
    #[arg(long)]
    no_postgis: bool,
    /// Worker threads of the HTTP server's runtime (the load generator uses one more thread).
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
    /// Skip the in-process measurements.
    #[arg(long)]
    no_in_process: bool,
    /// Also write the table to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seed of the synthetic points.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

const MAX_QUERIES: usize = 10_000_000;
const QUERY_POINTS: usize = 20_000;

/// One measured configuration.
struct Row {
    engine: String,
    clients: usize,
    queries: usize,
    qps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn row(engine: &str, clients: usize, elapsed: Duration, mut lat_us: Vec<u32>) -> Row {
    lat_us.sort_unstable();
    Row {
        engine: engine.into(),
        clients,
        queries: lat_us.len(),
        qps: lat_us.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&lat_us, 0.5),
        p99_ms: percentile(&lat_us, 0.99),
    }
}

/// One benchmark point: id, position, what it offers.
type Point = (i64, LatLng, EntryAttrs);

/// Points spread like the synthetic network: each is a station of it, drawn in proportion to
/// its connectors, moved by a normal offset of 1.5 km; attributes from one of its connectors.
pub(crate) fn synthetic_points(n: usize, seed: u64) -> Result<(Vec<Point>, Vec<LatLng>)> {
    let data = ReferenceData::embedded()?;
    let network = evgrid_synth::generate(&data, evgrid_synth::Rng::new(seed).next_u64() % 1000 + 1);
    let stations = &network.stations;
    let cumulative: Vec<f64> = stations
        .iter()
        .scan(0.0, |acc, s| {
            *acc += s.connector_count().max(1) as f64;
            Some(*acc)
        })
        .collect();
    let mut rng = Rng::new(seed);
    let jitter = |rng: &mut Rng, p: LatLng, sigma_m: f64| {
        LatLng::new(
            p.lat + rng.normal() * sigma_m / 111_195.0,
            p.lng + rng.normal() * sigma_m / (111_195.0 * p.lat.to_radians().cos()),
        )
    };
    let bar = indicatif::ProgressBar::new(n as u64);
    let mut points = Vec::with_capacity(n);
    for i in 0..n {
        let s = &stations[rng.weighted(&cumulative)];
        let connectors: Vec<_> = s
            .equipment
            .iter()
            .flat_map(|e| e.connectors.iter())
            .collect();
        let c = connectors[(rng.next_u64() % connectors.len().max(1) as u64) as usize];
        points.push((
            i as i64,
            jitter(&mut rng, s.location, 1500.0),
            EntryAttrs {
                category: s.category(),
                operator: (rng.next_u64() % 7) as u32,
                connectors: vec![evgrid_geo::ConnectorProfile {
                    connector_type: c.connector_type,
                    power: c.power,
                }],
            },
        ));
        if i % 100_000 == 0 {
            bar.set_position(i as u64);
        }
    }
    bar.finish_and_clear();
    let queries = (0..QUERY_POINTS)
        .map(|_| {
            let s = &stations[rng.weighted(&cumulative)];
            jitter(&mut rng, s.location, 3000.0)
        })
        .collect();
    Ok((points, queries))
}

fn in_process(
    index: &SpatialIndex<i64>,
    queries: &[LatLng],
    k: usize,
    threads: usize,
    seconds: f64,
) -> Row {
    let filter = Filter::default();
    let start = Instant::now();
    let lat_us: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let filter = &filter;
                scope.spawn(move || {
                    let mut lat = Vec::with_capacity(1 << 20);
                    let mut i = t * 7919;
                    let deadline = start + Duration::from_secs_f64(seconds);
                    while lat.len() < MAX_QUERIES / threads {
                        let q = queries[i % queries.len()];
                        i += 1;
                        let t0 = Instant::now();
                        let hits = index.nearest(q, k, None, filter);
                        std::hint::black_box(&hits);
                        let now = Instant::now();
                        lat.push(micros(now - t0));
                        if now >= deadline {
                            break;
                        }
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    row(
        &format!(
            "evgrid in-process ({threads} thread{})",
            if threads > 1 { "s" } else { "" }
        ),
        threads,
        start.elapsed(),
        lat_us,
    )
}

/// Reads one HTTP/1.1 response with a Content-Length from a keep-alive connection; returns its
/// status. `buf` keeps any bytes read past the response.
async fn read_response(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Result<u16> {
    use tokio::io::AsyncReadExt;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).context("response head")?;
            let status: u16 = head
                .get(9..12)
                .and_then(|s| s.parse().ok())
                .context("status line")?;
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .context("the server must send Content-Length")?;
            let total = end + 4 + length;
            while buf.len() < total {
                if stream.read_buf(buf).await? == 0 {
                    anyhow::bail!("connection closed mid-response");
                }
            }
            buf.drain(..total);
            return Ok(status);
        }
        if stream.read_buf(buf).await? == 0 {
            anyhow::bail!("connection closed");
        }
    }
}

/// A minimal HTTP/1.1 load generator: each connection sends a request, reads the whole answer,
/// and records the latency. Lean on purpose: it shares the machine's cores with the server.
async fn http_client(
    addr: SocketAddr,
    queries: Arc<Vec<LatLng>>,
    k: usize,
    connections: usize,
    seconds: f64,
) -> Result<(Duration, Vec<u32>)> {
    use tokio::io::AsyncWriteExt;
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let mut streams = Vec::new();
    for _ in 0..connections {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut stream in streams {
        let (stop, next, queries) = (stop.clone(), next.clone(), queries.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(1 << 16);
            let mut buf = Vec::with_capacity(8192);
            let mut req = Vec::with_capacity(256);
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= MAX_QUERIES {
                    break;
                }
                let q = queries[i % queries.len()];
                req.clear();
                std::io::Write::write_fmt(
                    &mut req,
                    format_args!("GET /api/v1/search/nearest?lat={:.6}&lng={:.6}&k={k} HTTP/1.1\r\nHost: bench\r\n\r\n", q.lat, q.lng),
                )?;
                let t0 = Instant::now();
                stream.write_all(&req).await?;
                let status = read_response(&mut stream, &mut buf).await?;
                lat.push(micros(t0.elapsed()));
                anyhow::ensure!(status == 200, "HTTP {status}");
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((start.elapsed(), all))
}

async fn postgis_clients(
    pool: &crate::postgis::PgPool,
    queries: &[LatLng],
    k: usize,
    clients: usize,
    seconds: f64,
) -> Result<(Duration, Vec<u32>)> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let pool = pool.clone();
        let queries: Vec<LatLng> = queries.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = c * 7919;
            while Instant::now() < deadline && lat.len() < MAX_QUERIES {
                let q = queries[i % queries.len()];
                i += 1;
                let t0 = Instant::now();
                let rows = PostgisCluster::nearest(&pool, q.lat, q.lng, k as i64).await?;
                std::hint::black_box(rows);
                lat.push(micros(t0.elapsed()));
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((start.elapsed(), all))
}

/// Runs the nearest benchmark.
pub fn run(args: NearestArgs, runtime: &tokio::runtime::Runtime) -> Result<()> {
    eprintln!(
        "generating {} points spread like the Ganzhou network...",
        args.points
    );
    let (points, queries) = synthetic_points(args.points, args.seed)?;
    let t0 = Instant::now();
    let index = SpatialIndex::build(points.iter().map(|(id, p, a)| (*id, *p, a.clone())));
    let build_s = t0.elapsed().as_secs_f64();
    eprintln!("index built in {build_s:.2} s");
    let mut rows = Vec::new();
    if !args.no_in_process {
        rows.push(in_process(&index, &queries, args.k, 1, args.seconds));
        rows.push(in_process(&index, &queries, args.k, 2, args.seconds));
    }
    drop(index);

    // The HTTP API over the same points, served by the real router on loopback.
    eprintln!("starting the HTTP server...");
    let data_dir = tempfile::tempdir()?;
    let app = runtime.block_on(App::open_dir(
        data_dir.path(),
        Arc::new(ReferenceData::embedded()?),
    ))?;
    let operator = evgrid_model::OperatorId::new("EVGBENCH1").context("operator id")?;
    app.network().replace_index(
        points
            .iter()
            .map(|(id, p, a)| IndexRow {
                pk: *id,
                key: StationKey {
                    operator_id: operator.clone(),
                    station_id: format!("C{id}"),
                },
                name: format!("connector {id}"),
                category: a.category,
                lat: p.lat,
                lng: p.lng,
                connectors: a
                    .connectors
                    .iter()
                    .map(|c| (c.connector_type.0, c.power.0))
                    .collect(),
            })
            .collect(),
    );
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.server_threads)
        .enable_all()
        .build()?;
    let listener = server_rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let state = evgrid_server::AppState::new(app);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = server_rt.spawn(evgrid_server::serve(listener, state, async {
        let _ = rx.await;
    }));
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let queries = Arc::new(queries);
    // Warm up, then measure.
    client_rt.block_on(http_client(
        addr,
        queries.clone(),
        args.k,
        args.connections,
        1.0,
    ))?;
    let (elapsed, lat) = client_rt.block_on(http_client(
        addr,
        queries.clone(),
        args.k,
        args.connections,
        args.seconds,
    ))?;
    rows.push(row(
        &format!("evgrid HTTP ({} keep-alive connections)", args.connections),
        args.connections,
        elapsed,
        lat,
    ));
    let _ = tx.send(());
    let _ = server_rt.block_on(server);
    drop(server_rt);

    let mut notes = Vec::new();
    let mut postgis: Vec<Row> = Vec::new();
    if args.no_postgis {
        notes.push("PostGIS baseline skipped (--no-postgis).".to_owned());
    } else {
        match runtime.block_on(postgis_baseline(&points, &queries, args.k, args.seconds)) {
            Ok((r, note)) => {
                postgis = r;
                notes.push(note);
            }
            Err(e) => notes.push(format!("PostGIS baseline not run: {e:#}")),
        }
    }
    let table = report(&args, build_s, &rows, &postgis, &notes);
    println!("{table}");
    if let Some(path) = &args.out {
        std::fs::write(path, &table).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn postgis_baseline(
    points: &[(i64, LatLng, EntryAttrs)],
    queries: &[LatLng],
    k: usize,
    seconds: f64,
) -> Result<(Vec<Row>, String)> {
    eprintln!("starting a temporary PostgreSQL + PostGIS cluster on loopback...");
    let cluster = PostgisCluster::start()?;
    let pool = cluster.pool(4).await?;
    let t0 = Instant::now();
    let rows: Vec<(i64, f64, f64)> = points
        .iter()
        .map(|(id, p, _)| (*id, p.lat, p.lng))
        .collect();
    cluster.load_points(&pool, &rows).await?;
    let load_s = t0.elapsed().as_secs_f64();
    eprintln!("PostGIS loaded and indexed in {load_s:.1} s");
    // Warm the cache, then 1 and 2 clients.
    postgis_clients(&pool, queries, k, 2, 1.0).await?;
    let (e1, l1) = postgis_clients(&pool, queries, k, 1, seconds).await?;
    let (e2, l2) = postgis_clients(&pool, queries, k, 2, seconds).await?;
    let out = vec![
        row(
            &format!(
                "PostGIS {} (GiST on geography, ORDER BY <-> LIMIT)",
                cluster.version
            ),
            1,
            e1,
            l1,
        ),
        row(
            &format!(
                "PostGIS {} (GiST on geography, ORDER BY <-> LIMIT)",
                cluster.version
            ),
            2,
            e2,
            l2,
        ),
    ];
    Ok((out, format!("PostGIS: PostgreSQL {} with PostGIS 3, COPY + GiST index build took {load_s:.1} s; fsync off; queries through sqlx prepared statements.", cluster.version)))
}

fn report(
    args: &NearestArgs,
    build_s: f64,
    rows: &[Row],
    postgis: &[Row],
    notes: &[String],
) -> String {
    let base1 = postgis.iter().find(|r| r.clients == 1).map(|r| r.qps);
    let base2 = postgis.iter().find(|r| r.clients == 2).map(|r| r.qps);
    let mut s = String::new();
    s.push_str(&format!(
        "### k={} nearest, {} synthetic connectors spread like the Ganzhou network\n\nMachine: {}. {} s per measurement. evgrid index build: {build_s:.2} s.\n\n",
        args.k,
        args.points,
        machine(),
        args.seconds
    ));
    s.push_str("| engine | clients | queries | q/s | p50 ms | p99 ms | vs PostGIS (same clients) |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for r in rows.iter().chain(postgis) {
        let base = if r.engine.starts_with("PostGIS") {
            None
        } else if r.engine.contains("HTTP") {
            base2
        } else if r.clients == 1 {
            base1
        } else {
            base2
        };
        let ratio = base.map_or_else(|| "–".to_owned(), |b| format!("{:.0}×", r.qps / b));
        s.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.3} | {:.3} | {} |\n",
            r.engine, r.clients, r.queries, r.qps, r.p50_ms, r.p99_ms, ratio
        ));
    }
    s.push('\n');
    if let (Some(b1), Some(b2)) = (base1, base2) {
        let inproc = rows.iter().find(|r| r.clients == 1).map_or(0.0, |r| r.qps);
        let http = rows.iter().find(|r| r.engine.contains("HTTP"));
        s.push_str(&format!(
            "Targets: in-process ≥ 100× PostGIS single-client: {:.0}× ({}). HTTP ≥ 20× PostGIS two clients: {:.0}× ({}); HTTP p99 < 5 ms: {:.2} ms ({}).\n\n",
            inproc / b1,
            if inproc / b1 >= 100.0 { "met" } else { "NOT met" },
            http.map_or(0.0, |h| h.qps / b2),
            if http.is_some_and(|h| h.qps / b2 >= 20.0) { "met" } else { "NOT met" },
            http.map_or(f64::NAN, |h| h.p99_ms),
            if http.is_some_and(|h| h.p99_ms < 5.0) { "met" } else { "NOT met" },
        ));
    }
    s.push_str("The HTTP load generator (a minimal keep-alive HTTP/1.1 client on one thread) runs in the same process and on the same cores as the server; the in-process and PostGIS figures use the same query points.\n");
    for n in notes {
        s.push_str(n);
        s.push('\n');
    }
    s
}
