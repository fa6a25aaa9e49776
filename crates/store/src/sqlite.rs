//! The SQLite engine (the embedded default): one file, WAL, full synchronous commits so that
//! "stored" means on disk, foreign keys on. One connection writes, in the order writers ask;
//! reads have their own connections and see committed data.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::StoreError;

/// The sqlx database the shared statements are compiled for here.
type Db = sqlx::Sqlite;
/// The engine the shared statements implement the contract for here.
type Engine = SqliteStore;

#[path = "sql/mod.rs"]
mod sql;

/// This evgrid's SQLite migrations.
pub(crate) fn migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate!("migrations/sqlite")
}

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Reads.
    pub(crate) pool: SqlitePool,
    /// Writes: one connection.
    pub(crate) writer: SqlitePool,
}

/// Creates `dir` (and its parents) readable by this user only (0700 on Unix): it holds
/// operators' secrets and tokens. A directory that exists keeps its mode.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the database file readable by this user only (0600 on Unix; SQLite gives its WAL
/// and shared-memory files the same mode), and takes group and others' access away from one
/// that was created wider by an earlier version.
fn private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::metadata(path) {
            Ok(meta) => {
                if meta.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(path = %path.display(), "the database was readable by others: now 0600");
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)?;
            }
            Err(e) => return Err(e),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl SqliteStore {
    /// Opens or creates the database file (and its directory) and migrates it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |error| StoreError::Open {
            path: path.display().to_string(),
            error,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir(dir).map_err(|e| open_err(sqlx::Error::Io(e)))?;
        }
        private_file(path).map_err(|e| open_err(sqlx::Error::Io(e)))?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // One connection writes, in the order writers ask (the pool queues them fairly), so
        // concurrent writers wait for each other instead of failing with SQLITE_BUSY; reads use
        // their own connections and see committed data (WAL).
        // No ping before lending a connection (sqlx's default): a connection to a local file
        // does not go stale, and the ping is one more hand-off to SQLite's thread per use.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.clone())
            .await
            .map_err(open_err)?;
        crate::migrate(migrator(), &writer).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        Ok(Self { pool, writer })
    }

    /// Writes (operator, status) rows in one transaction, skipping any connector whose stored
    /// status was observed later. The whole transaction (BEGIN, the inserts, COMMIT) is one
    /// request to SQLite's worker thread instead of one per statement: the hand-offs between
    /// threads, not SQLite, were most of the CPU of a small batch.
    async fn write_status_batch(
        &self,
        rows: &[(&str, &evgrid_model::StatusRecord)],
    ) -> Result<(), StoreError> {
        let sql = format!(
            "BEGIN IMMEDIATE; {} COMMIT;",
            sql::status_upsert_sql(rows.len())
        );
        let mut conn = self.writer.acquire().await?;
        if let Err(e) = sql::bind_statuses(sqlx::query(&sql), rows)
            .execute(&mut *conn)
            .await
        {
            // Whatever ran of the transaction is undone before the connection serves anyone
            // else; if BEGIN itself failed there is nothing to roll back.
            if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                tracing::debug!(error = %rollback, "rollback after a failed status batch");
            }
            return Err(e.into());
        }
        Ok(())
    }
}

/// One SQLite file serves one node: nothing to signal.
#[async_trait::async_trait]
impl crate::contract::SignalStore for SqliteStore {
    async fn signal(&self, _channel: &str, _payload: &str) -> Result<(), StoreError> {
        Ok(())
    }

    async fn listen(
        &self,
        _channel: &str,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError> {
        Ok(None)
    }
}

impl crate::contract::Engine for SqliteStore {
    fn engine_name(&self) -> &'static str {
        "sqlite"
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::SqliteStore;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn the_data_directory_and_database_files_are_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("var");
        let file = dir.join("evgrid.sqlite");
        let store = SqliteStore::open(&file).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&store.writer)
            .await
            .unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&file), 0o600);
        let wal = dir.join("evgrid.sqlite-wal");
        assert!(wal.exists());
        assert_eq!(mode(&wal), 0o600);
        drop(store);
        // A database an earlier version left readable by others is made private.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _store = SqliteStore::open(&file).await.unwrap();
        assert_eq!(mode(&file), 0o600);
    }
}
