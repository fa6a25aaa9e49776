//! A throw-away PostgreSQL + PostGIS cluster for benchmark baselines: initdb in a temporary
//! directory, a server on a free loopback port, points loaded with COPY under a GiST index on
//! `geography`, and the k-nearest query written the way PostGIS recommends
//! (`ORDER BY geog <-> point LIMIT k`). Stopped and removed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
pub use sqlx::PgPool;
use sqlx::Row;

/// Why the baseline could not run.
#[derive(Debug, thiserror::Error)]
pub enum PostgisError {
    #[error("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install postgresql-15)")]
    NoServer,
    #[error("the PostGIS extension is not installed for PostgreSQL {0} (install postgresql-{0}-postgis-3)")]
    NoPostgis(String),
    #[error("{command} failed: {output}")]
    Command { command: String, output: String },
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A running temporary cluster.
#[derive(Debug)]
pub struct PostgisCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    run_as_postgres: bool,
    pub port: u16,
    pub version: String,
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Finds the newest installed server's `bin` directory and its major version.
pub fn find_server() -> Result<(PathBuf, String), PostgisError> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| PostgisError::NoServer)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    let (v, bin) = versions.pop().ok_or(PostgisError::NoServer)?;
    let version = v.to_string();
    if !Path::new(&format!(
        "/usr/share/postgresql/{version}/extension/postgis.control"
    ))
    .exists()
    {
        return Err(PostgisError::NoPostgis(version));
    }
    Ok((bin, version))
}

impl PostgisCluster {
    fn run(&self, program: &str, args: &[&str]) -> Result<(), PostgisError> {
        let exe = self.bin.join(program);
        let mut cmd = if self.run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(PostgisError::Command {
                command: format!("{program} {}", args.join(" ")),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            })
        }
    }

    /// Creates and starts a cluster on a free loopback port (as user `postgres` when run as root).
    pub fn start() -> Result<Self, PostgisError> {
        let (bin, version) = find_server()?;
        let dir = tempfile::Builder::new()
            .prefix("evgrid-postgis-")
            .tempdir()?;
        let run_as_postgres = is_root();
        if run_as_postgres {
            let out = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .output()?;
            if !out.status.success() {
                return Err(PostgisError::Command {
                    command: "chown".into(),
                    output: String::from_utf8_lossy(&out.stderr).into_owned(),
                });
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let cluster = Self {
            bin,
            dir,
            run_as_postgres,
            port,
            version,
        };
        let data = cluster.dir.path().join("data");
        let data = data.to_string_lossy().into_owned();
        let socket_dir = cluster.dir.path().to_string_lossy().into_owned();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let options = format!(
            "-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c shared_buffers=512MB -c max_connections=20"
        );
        let log = format!("{socket_dir}/server.log");
        cluster.run(
            "pg_ctl",
            &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
        )?;
        Ok(cluster)
    }

    /// A pool of `n` connections to the cluster.
    pub async fn pool(&self, n: u32) -> Result<PgPool, PostgisError> {
        let options = PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username("postgres")
            .database("postgres");
        Ok(PgPoolOptions::new()
            .max_connections(n)
            .connect_with(options)
            .await?)
    }

    /// Loads points (id, lat, lng) into `pts(id, geog geography(Point, 4326))` with COPY and
    /// builds the GiST index.
    pub async fn load_points(
        &self,
        pool: &PgPool,
        points: &[(i64, f64, f64)],
    ) -> Result<(), PostgisError> {
        sqlx::query("CREATE EXTENSION IF NOT EXISTS postgis")
            .execute(pool)
            .await?;
        sqlx::query("DROP TABLE IF EXISTS pts")
            .execute(pool)
            .await?;
        sqlx::query(
            "CREATE TABLE pts (id BIGINT PRIMARY KEY, geog geography(Point, 4326) NOT NULL)",
        )
        .execute(pool)
        .await?;
        let mut conn = pool.acquire().await?;
        let mut copy = conn.copy_in_raw("COPY pts (id, geog) FROM STDIN").await?;
        for chunk in points.chunks(50_000) {
            let mut buf = String::with_capacity(chunk.len() * 48);
            for (id, lat, lng) in chunk {
                buf.push_str(&format!("{id}\tSRID=4326;POINT({lng:.7} {lat:.7})\n"));
            }
            copy.send(buf.into_bytes()).await?;
        }
        copy.finish().await?;
        drop(conn);
        sqlx::query("CREATE INDEX pts_geog ON pts USING gist (geog)")
            .execute(pool)
            .await?;
        sqlx::query("ANALYZE pts").execute(pool).await?;
        Ok(())
    }

    /// The k nearest points: (id, distance in metres), nearest first.
    pub async fn nearest(
        pool: &PgPool,
        lat: f64,
        lng: f64,
        k: i64,
    ) -> Result<Vec<(i64, f64)>, PostgisError> {
        let rows = sqlx::query(
            "SELECT id, ST_Distance(geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography, false) AS d
             FROM pts ORDER BY geog <-> ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography LIMIT $3",
        )
        .bind(lat)
        .bind(lng)
        .bind(k)
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}

impl Drop for PostgisCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").to_string_lossy().into_owned();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}
