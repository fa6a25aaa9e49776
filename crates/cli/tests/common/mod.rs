//! Helpers for end-to-end tests: run the real `evgrid` binary and talk to it over HTTP on
//! loopback with a minimal HTTP/1.1 client.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The binary under test.
pub fn evgrid() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_evgrid"));
    c.env("RUST_LOG", "warn");
    c
}

/// The binary under test with `args`, on the engine the tests run on (see [`engine_args`]).
pub fn evgrid_args(args: &[&str]) -> Command {
    let mut c = evgrid();
    c.args(engine_args(args));
    c
}

/// The PostgreSQL server the end-to-end tests run on, when they do: `EVGRID_TEST_ENGINE` is
/// `postgres` and `EVGRID_TEST_POSTGRES_URL` names the server (bash scripts/test.sh sets both
/// for its second pass over these tests).
pub fn postgres_server() -> Option<String> {
    match std::env::var("EVGRID_TEST_ENGINE").as_deref() {
        Ok("postgres") => Some(std::env::var("EVGRID_TEST_POSTGRES_URL").expect(
            "EVGRID_TEST_ENGINE=postgres needs EVGRID_TEST_POSTGRES_URL (bash scripts/test.sh sets it)",
        )),
        Ok("sqlite") | Err(_) => None,
        Ok(other) => panic!("EVGRID_TEST_ENGINE={other}: sqlite or postgres"),
    }
}

/// The database of a data directory on the PostgreSQL test server, created on first use: every
/// command of a test that names the same data directory uses the same database.
pub fn postgres_database_for(data_dir: &str) -> Option<String> {
    Some(postgres_database_on(&postgres_server()?, data_dir))
}

/// A database of its own for `key` on the PostgreSQL server `server` (an admin URL), created on
/// first use.
pub fn postgres_database_on(server: &str, key: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let name = format!("evgrid_e2e_{hash:016x}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let admin = sqlx::PgPool::connect(server).await.unwrap();
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(&name)
                .fetch_optional(&admin)
                .await
                .unwrap();
        if exists.is_none() {
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
        }
        admin.close().await;
    });
    let base = server.rsplit_once('/').unwrap().0;
    format!("{base}/{name}")
}

/// `args` as the engine under test needs them: on PostgreSQL each `--data-dir DIR` (and
/// `simulate operators --register DIR`) is followed by `--database URL` of DIR's database; on
/// SQLite they are as given.
pub fn engine_args(args: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len() + 2);
    let mut i = 0;
    while i < args.len() {
        out.push(args[i].to_owned());
        if args[i] == "--data-dir" || args[i] == "--register" {
            if let Some(dir) = args.get(i + 1) {
                out.push((*dir).to_owned());
                if let Some(url) = postgres_database_for(dir) {
                    out.push("--database".to_owned());
                    out.push(url);
                }
                i += 1;
            }
        }
        i += 1;
    }
    out
}

/// A fixture file of the registry crate's tests.
pub fn registry_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../app/tests/fixtures")
        .join(name)
}

/// A running server, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `evgrid <args> --listen 127.0.0.1:0` and waits for its URL on stdout.
pub fn start(args: &[&str]) -> Server {
    start_command(evgrid_args(args))
}

/// Starts `command --listen 127.0.0.1:0` (an `evgrid serve` or `demo`) and waits for its URL.
pub fn start_command(mut command: Command) -> Server {
    let mut child = command
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start evgrid");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("evgrid exited before serving").unwrap();
        if let Some(rest) = line.strip_prefix("evgrid serving http://") {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on a fresh connection.
pub fn request(addr: SocketAddr, method: &str, path: &str) -> Answer {
    request_with(addr, method, path, &[], b"")
}

/// A GET with a bearer token.
pub fn get_as(addr: SocketAddr, token: &str, path: &str) -> Answer {
    request_with(
        addr,
        "GET",
        path,
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
}

/// A POST of a JSON body, with extra headers.
pub fn post_json(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &serde_json::Value,
) -> Answer {
    let mut h = vec![("Content-Type", "application/json")];
    h.extend_from_slice(headers);
    request_with(addr, "POST", path, &h, body.to_string().as_bytes())
}

/// Logs in and returns the bearer token.
pub fn login(addr: SocketAddr, username: &str, password: &str) -> String {
    let a = post_json(
        addr,
        "/api/v1/auth/login",
        &[],
        &serde_json::json!({"username": username, "password": password}),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    a.json()["token"].as_str().unwrap().to_owned()
}

/// One request with headers and a body on a fresh connection.
pub fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body_out: &[u8],
) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n", body_out.len()).unwrap();
    s.write_all(body_out).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut content_type = String::new();
    let mut chunked = false;
    let mut headers = Vec::new();
    for l in lines {
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.to_ascii_lowercase(), v.trim().to_owned()));
        match k.to_ascii_lowercase().as_str() {
            "content-type" => content_type = v.trim().to_owned(),
            "transfer-encoding" => chunked = v.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..end]).unwrap().trim(), 16)
                .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[end + 2..end + 2 + size]);
            rest = &rest[end + 4 + size..];
        }
        body = out;
    }
    Answer {
        status,
        content_type,
        body,
        headers,
    }
}

pub fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path)
}

/// Runs the binary to completion.
pub fn run(args: &[&str]) -> Output {
    evgrid_args(args).output().unwrap()
}

/// Great-circle distance in metres on the mean sphere, written independently of the library.
pub fn haversine_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let r = 6_371_008.8_f64;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}

/// A temporary directory holding the synthetic network (seed 20220701) in `net/`, imported into
/// the data directory `data/`, and the generator's manifest.
pub fn imported() -> (tempfile::TempDir, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let data = dir.path().join("data");
    assert!(run(&["synth", "--out", net.to_str().unwrap()])
        .status
        .success());
    let out = run(&[
        "import",
        "--data-dir",
        data.to_str().unwrap(),
        net.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest =
        serde_json::from_slice(&std::fs::read(net.join("manifest.json")).unwrap()).unwrap();
    (dir, manifest)
}

/// Adds an account with `evgrid user add` (an operator's with its operator id).
pub fn add_user(data: &Path, username: &str, role: &str, operator: Option<&str>, password: &str) {
    let mut c = evgrid_args(&[
        "user",
        "add",
        "--username",
        username,
        "--role",
        role,
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    c.env("EVGRID_USER_PASSWORD", password);
    if let Some(op) = operator {
        c.args(["--operator-id", op]);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The PostgreSQL test server's admin URL, for tests that need one whatever the engine pass
/// (they are `#[ignore]`d and run with `--run-ignored`; bash scripts/test.sh sets it).
pub fn postgres_test_server() -> String {
    std::env::var("EVGRID_TEST_POSTGRES_URL")
        .expect("EVGRID_TEST_POSTGRES_URL names the PostgreSQL test server (bash scripts/test.sh)")
}

/// Calls `check` every 250 ms until it gives a value or `seconds` have passed (a last call
/// after the deadline).
pub fn wait_for<T>(seconds: u64, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
