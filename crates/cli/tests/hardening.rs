//! Attacks an outsider can make without an account, repeated against `evgrid serve` on
//! loopback, with what must hold: the server keeps answering, its memory stays bounded, and
//! nothing is written that should not be.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::{get, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A runtime for the load (the server is started first: on PostgreSQL its database is made
/// by a runtime of its own).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// `evgrid serve` (no polling) on a fresh data directory, with `extra` arguments; the directory
/// lives as long as the first value.
fn serve_fresh(extra: &[&str]) -> (tempfile::TempDir, common::Server) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut args = vec!["serve", "--poll-interval", "0"];
    args.extend_from_slice(extra);
    args.extend(["--data-dir", data.to_str().unwrap()]);
    let server = start(&args);
    (dir, server)
}

/// The server's resident memory now and at its peak, KiB (Linux).
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// POSTs `body` to `path` from the loopback address `from`; the answer's head and body as
/// text (empty when the connection failed). A server that answers before it has read the whole
/// body (413) may reset the connection: what arrived before counts.
async fn post_answer(from: IpAddr, to: SocketAddr, path: &str, body: &[u8]) -> String {
    let attempt = async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(from, 0))?;
        let mut stream = socket.connect(to).await?;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        let _ = stream.write_all(body).await;
        let mut answer = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        std::io::Result::Ok(String::from_utf8_lossy(&answer).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(120), attempt)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// The status of an answer from [`post_answer`] (0 for none).
fn status_of(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// POSTs `body` to `path` from `from`; the status, or 0 when the connection failed.
async fn post_from(from: IpAddr, to: SocketAddr, path: &str, body: &[u8]) -> u16 {
    status_of(&post_answer(from, to, path, body).await)
}

/// Watches `/healthz` every 100 ms until `stop`; the slowest answer.
fn watch_health(
    addr: SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Duration> {
    std::thread::spawn(move || {
        let mut slowest = Duration::ZERO;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let started = Instant::now();
            assert_eq!(get(addr, "/healthz").status, 200);
            slowest = slowest.max(started.elapsed());
            std::thread::sleep(Duration::from_millis(100));
        }
        slowest
    })
}

/// 400 logins with unknown usernames, 200 at a time from 200 addresses (before: 8.2 GB and a
/// 15 s median, every login hashing 19 MiB at once), then 150 with 4 MiB usernames (before: 1 GB
/// kept, each username stored). Hashing takes turns (one per core), the rest wait or are told
/// to come back (503 with Retry-After), a malformed username is refused (400) before anything.
#[test]
fn login_floods_leave_memory_bounded_and_the_server_answering() {
    let (_dir, server) = serve_fresh(&[]);
    let addr = server.addr;
    runtime().block_on(async move {
        let pid = server.child.id();
        let (before, _) = memory_kib(pid);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let health = watch_health(addr, stop.clone());

        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for round in 0..2 {
            let tasks: Vec<_> = (0..200u32)
                .map(|i| {
                    let from = IpAddr::V4(Ipv4Addr::new(127, 0, 1, u8::try_from(i % 250).unwrap() + 2));
                    let body = serde_json::json!({
                        "username": format!("nobody.{round}.{i}"),
                        "password": "a password that is long enough",
                    })
                    .to_string();
                    tokio::spawn(async move {
                        post_from(from, addr, "/api/v1/auth/login", body.as_bytes()).await
                    })
                })
                .collect();
            for t in tasks {
                *statuses.entry(t.await.unwrap()).or_default() += 1;
            }
        }
        let (_, peak_logins) = memory_kib(pid);
        // Every login answered: wrong credentials, or come back later; none failed or hung.
        assert!(
            statuses.keys().all(|s| [401, 503].contains(s)),
            "answers: {statuses:?}"
        );
        assert!(
            statuses.get(&401).copied().unwrap_or(0) > 0,
            "answers: {statuses:?}"
        );

        let huge =
            serde_json::json!({"username": "u".repeat(4 << 20), "password": "whatever password"})
                .to_string();
        let mut huge_statuses = std::collections::BTreeMap::<u16, usize>::new();
        for chunk in 0..5u8 {
            let tasks: Vec<_> = (0..30u8)
                .map(|i| {
                    let body = huge.clone();
                    let from = IpAddr::V4(Ipv4Addr::new(127, 0, 2, chunk * 30 + i + 2));
                    tokio::spawn(async move {
                        post_from(from, addr, "/api/v1/auth/login", body.as_bytes()).await
                    })
                })
                .collect();
            for t in tasks {
                *huge_statuses.entry(t.await.unwrap()).or_default() += 1;
            }
        }
        // A body that large is refused whole (413) or its username is (400): never stored.
        assert!(
            huge_statuses.keys().all(|s| [400, 413].contains(s)),
            "answers: {huge_statuses:?}"
        );
        // A body past the server's limit: 413 as a problem (before: 400, or 413 in plain text).
        let oversized =
            serde_json::json!({"username": "u".repeat(5 << 20), "password": "whatever password"})
                .to_string();
        let answer = post_answer(
            IpAddr::V4(Ipv4Addr::new(127, 0, 4, 2)),
            addr,
            "/api/v1/auth/login",
            oversized.as_bytes(),
        )
        .await;
        assert_eq!(
            status_of(&answer),
            413,
            "{}",
            &answer[..answer.len().min(500)]
        );
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{}",
            &answer[..answer.len().min(500)]
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let slowest_health = health.join().unwrap();
        let (after, peak) = memory_kib(pid);
        eprintln!(
            "RSS before {before} KiB, peak during the logins {peak_logins} KiB, peak {peak} KiB, after {after} KiB; slowest /healthz {slowest_health:?}; answers {statuses:?} {huge_statuses:?}"
        );
        // Two cores' turns at 19 MiB each, and the requests waiting, not 200 × 19 MiB (3.8 GiB).
        assert!(
            peak_logins < before + 300 * 1024,
            "peak {peak_logins} KiB against {before} KiB before the flood"
        );
        // The huge usernames are not kept: kept, the 150 of 4 MiB would hold at least 600 MiB
        // (1 GB was seen). What stays is the allocator's retention of the request buffers it
        // freed, up to the flood's peak (one CI run on 2 busy cores: 27 MiB before, 234 MiB
        // after), so the bound sits between the two.
        assert!(
            after < before + 450 * 1024,
            "after {after} KiB against {before} KiB"
        );
    });
}

/// Opens a connection from `from` and writes `first` (nothing when empty); the stream, or
/// `None` when the server refused or the connect failed.
async fn open_from(from: IpAddr, to: SocketAddr, first: &[u8]) -> Option<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(from, 0)).ok()?;
    let mut stream = socket.connect(to).await.ok()?;
    if !first.is_empty() {
        stream.write_all(first).await.ok()?;
    }
    Some(stream)
}

/// Waits until the server closes `stream` (or `limit` passes); whether it did.
async fn closed_by_server(stream: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    let mut buf = vec![0u8; 4096];
    let until = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // An answer (a 503, a 101 and then a close frame): keep reading to the end.
            Ok(Ok(_)) => {}
        }
    }
}

/// The server's open files (Linux).
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// Silent clients (before: 2,000 silent OCPP WebSockets, 2,000 half-sent HTTP requests and
/// 2,000 idle TCP connections all still open after 400 s; at about 20,000 the server ran out of
/// files and /healthz stopped answering): each kind is closed by the server once its time is
/// up (headers 2 s, BootNotification 3 s here), past the bound of connections new ones are
/// answered 503 at once, and /healthz answers throughout.
#[test]
fn silent_connections_are_closed_and_the_server_keeps_serving() {
    let (_dir, server) = serve_fresh(&[
        "--accept-unknown-chargers",
        "--max-connections",
        "400",
        "--header-timeout",
        "2",
        "--ocpp-boot-within",
        "3",
    ]);
    let addr = server.addr;
    runtime().block_on(async move {
        let pid = server.child.id();
        let files_before = open_files(pid);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));

        // 200 of each kind from 200 loopback addresses: 600 against a bound of 400.
        let mut streams = Vec::new();
        for i in 0..200u32 {
            let from = IpAddr::V4(Ipv4Addr::new(127, 0, 3, u8::try_from(i % 250).unwrap() + 2));
            let upgrade = upgrade_request(&format!("SILENT{i}"), Some(PASSWORD));
            for first in [
                Vec::new(),
                b"GET /api/v1/stations HTTP/1.1\r\nHost: x\r\n".to_vec(),
                upgrade.into_bytes(),
            ] {
                if let Some(s) = open_from(from, addr, &first).await {
                    streams.push(s);
                }
            }
        }
        assert!(
            streams.len() >= 590,
            "only {} connections opened",
            streams.len()
        );
        let health = watch_health(addr, stop.clone());
        let peak_files = open_files(pid);

        // Every one of them is closed by the server, within its time-out and some slack.
        let closing: Vec<_> = streams
            .into_iter()
            .map(|mut s| {
                tokio::spawn(async move { closed_by_server(&mut s, Duration::from_secs(20)).await })
            })
            .collect();
        let mut still_open = 0;
        for c in closing {
            if !c.await.unwrap() {
                still_open += 1;
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let slowest_health = health.join().unwrap();
        let files_after = open_files(pid);
        eprintln!(
            "open files: before {files_before}, with the silent clients {peak_files}, after {files_after}; slowest /healthz {slowest_health:?}"
        );
        assert_eq!(still_open, 0, "connections the server never closed");
        // The server held at most its bound of connections, and let go of them.
        assert!(
            peak_files <= files_before + 400 + 16,
            "{peak_files} files open"
        );
        assert!(
            files_after <= files_before + 16,
            "{files_after} files after, {files_before} before"
        );
        assert_eq!(get(addr, "/healthz").status, 200);
    });
}

/// SIGTERM (what systemd and container runtimes send) stops the server as Ctrl-C does, with a
/// graceful exit (status 0) within its bound although a client keeps a connection open (before:
/// SIGTERM killed the process without a shutdown).
#[test]
fn sigterm_stops_the_server_gracefully_within_its_bound() {
    let (_dir, mut server) = serve_fresh(&[]);
    let addr = server.addr;
    // A silent client may not hold the shutdown.
    let _idle = std::net::TcpStream::connect(addr).unwrap();
    let started = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still running 15 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // A graceful exit (status 0), not death by the signal.
    assert!(status.success(), "{status:?}");
}

/// Errors the framework answers itself come as problems too (before: `text/plain`), e.g. a
/// path whose escapes are not UTF-8.
#[test]
fn an_invalid_path_is_answered_with_a_problem() {
    let (_dir, server) = serve_fresh(&[]);
    let answer = get(server.addr, "/api/v1/plans/%FF%FE");
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(answer.content_type, "application/problem+json");
    let problem = answer.json();
    assert_eq!(problem["status"], 400);
    assert!(
        problem["detail"].as_str().unwrap().contains("UTF-8"),
        "{problem}"
    );
}

/// An OCPP message over the server's limit (1 MiB) closes the connection with 1009, message too
/// big (before: the connection was dropped without a close frame).
#[test]
fn an_oversized_ocpp_message_is_closed_with_1009() {
    use std::io::Write;
    let (_dir, server) = serve_fresh(&["--accept-unknown-chargers"]);
    let (head, mut stream) = upgrade(server.addr, "BIG1", Some(PASSWORD));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // One masked text frame of 2 MiB (a client's frames are masked; the mask of zeros leaves
    // the payload as it is).
    let size: u64 = 2 << 20;
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&size.to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.resize(frame.len() + usize::try_from(size).unwrap(), b'x');
    let _ = stream.write_all(&frame);
    // The server's close frame: 0x88, its length, then the code.
    assert_eq!(close_code(&mut stream), Some(1009));
}

/// A charger's password, as OCPP security profile 1 sets them (16 to 40 characters).
const PASSWORD: &str = "a-charger-password-1";

/// The WebSocket upgrade request of OCPP 1.6 charger `id`, with HTTP Basic when `password`.
fn upgrade_request(id: &str, password: Option<&str>) -> String {
    let authorization = password
        .map(|p| {
            format!(
                "Authorization: {}\r\n",
                evgrid_ocpp::basic_authorization(id, p)
            )
        })
        .unwrap_or_default();
    format!(
        "GET /ocpp/{id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n{authorization}\r\n"
    )
}

/// Opens charger `id`'s OCPP connection; the answer's head and the stream after it.
fn upgrade(addr: SocketAddr, id: &str, password: Option<&str>) -> (String, std::net::TcpStream) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(upgrade_request(id, password).as_bytes())
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read_exact(&mut byte).is_err() {
            break;
        }
        head.push(byte[0]);
    }
    (String::from_utf8_lossy(&head).into_owned(), stream)
}

/// The code of the close frame the server sends next (server frames are not masked: 0x88,
/// the length, then the code), or `None` when the connection ends without one.
fn close_code(stream: &mut std::net::TcpStream) -> Option<u16> {
    use std::io::Read;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while answer.len() < 4 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    (answer.len() >= 4 && answer[0] == 0x88).then(|| u16::from_be_bytes([answer[2], answer[3]]))
}

/// Issue 19 item 5: no charger connects without its password; an unknown charger is
/// registered with the password it presents first (trust on first use) and only while fewer
/// than the bound of unplaced chargers exist; a second connection under a connected charger's
/// identity takes over and the first is closed with 1008.
#[test]
fn chargers_need_their_password_and_one_identity_has_one_connection() {
    let (dir, server) = serve_fresh(&["--accept-unknown-chargers", "--max-unknown-chargers", "2"]);
    let addr = server.addr;
    let status = |id: &str, password: Option<&str>| upgrade(addr, id, password).0;
    // Unknown and without a password: refused, nothing registered.
    assert!(status("CP1", None).starts_with("HTTP/1.1 401"));
    let (head, mut first) = upgrade(addr, "CP1", Some(PASSWORD));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // Now registered with that password: another is refused.
    assert!(status("CP1", Some("another-password-22")).starts_with("HTTP/1.1 401"));
    assert!(status("CP1", None).starts_with("HTTP/1.1 401"));
    // The same identity again: the newer connection wins, the older is closed. The first
    // registers in the hub just after its 101: give it a moment on a loaded machine, or the
    // two race and the first is the newer (seen once in CI).
    std::thread::sleep(std::time::Duration::from_secs(1));
    let (head, _second) = upgrade(addr, "CP1", Some(PASSWORD));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert_eq!(close_code(&mut first), Some(1008));
    // At most two unplaced chargers.
    assert!(status("CP2", Some(PASSWORD)).starts_with("HTTP/1.1 101"));
    assert!(status("CP3", Some(PASSWORD)).starts_with("HTTP/1.1 401"));
    // A charger registered without --password gets a random one, shown once.
    let data = dir.path().join("data");
    let out = common::run(&[
        "charger",
        "add",
        "--id",
        "REG1",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{printed}");
    let password = printed
        .split("password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    assert!(password.len() >= 16, "{printed}");
    assert!(status("REG1", None).starts_with("HTTP/1.1 401"));
    assert!(status("REG1", Some(PASSWORD)).starts_with("HTTP/1.1 401"));
    assert!(status("REG1", Some(&password)).starts_with("HTTP/1.1 101"));
}

/// A charger that closes its WebSocket gets the answering close frame (RFC 6455 §5.5.1; before,
/// the connection was dropped without one).
#[test]
fn a_chargers_close_frame_is_answered() {
    use std::io::Write;
    let (_dir, server) = serve_fresh(&["--accept-unknown-chargers"]);
    let (head, mut stream) = upgrade(server.addr, "CLOSER1", Some(PASSWORD));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // A masked close frame with code 1000 (the mask of zeros leaves the payload as it is).
    stream
        .write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
        .unwrap();
    assert_eq!(close_code(&mut stream), Some(1000));
}
