//! evgrid's store: the truth on disk, behind a contract.
//!
//! [`contract`] says what evgrid keeps, one trait per area (stations and regions, operators'
//! credentials, live status, operators' charging sessions, drivers' charges and reservations,
//! accounts and logins, chargers, statistics, message counts). An engine implements all of them
//! ([`Engine`]); [`Store`] is the engine chosen when the store is opened, by location:
//! `sqlite:PATH` or a data directory (SQLite, the embedded default) or `postgres://…`
//! (PostgreSQL, for several nodes and larger deployments).
//!
//! This crate is the only one that knows SQL. The statements live in `sql/`, written once for
//! every engine: each engine module compiles them with its own sqlx database type and its
//! [`dialect::Dialect`] (the pieces SQL engines spell differently: date buckets,
//! least/greatest, string aggregation, id lists, transaction control, parameters of batch
//! statements). Writes of a batch happen in one transaction: a batch is stored whole or not at
//! all, and a caller hears "stored" only after the commit.

pub mod contract;
mod dialect;
mod error;
mod postgres;
mod sqlite;
mod time;
pub mod transfer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use contract::{
    AccountStore, ChargeStore, ChargerStore, ChargingSessionStore, Engine, NetworkStore,
    OperatorStore, PlanLimits, PlanRecord, PlanState, PlanStore, PruneBefore, Pruned,
    StatisticsStore, StatusStore, StoreResult, SuperiorStore, TokenCounts, TokenStore, TokensOf,
    TrafficStore,
};
pub use error::StoreError;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// The file name of the SQLite database in a data directory.
pub const SQLITE_FILE: &str = "evgrid.sqlite";

/// Where a store lives, parsed from what a user typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL.
    Postgres(String),
}

impl Location {
    /// Reads `postgres://…` (or `postgresql://…`), `sqlite:PATH` (or `sqlite://PATH`), a path
    /// to a `.sqlite`/`.db` file, or a data directory (the database is `evgrid.sqlite` inside
    /// it).
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Location::Postgres(text.to_owned()));
        }
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::Location(
                    "sqlite: needs a path, e.g. sqlite:./var/evgrid.sqlite".into(),
                ));
            }
            return Ok(Location::sqlite_at(Path::new(path)));
        }
        if text.contains("://") {
            let scheme = text.split("://").next().unwrap_or_default();
            return Err(StoreError::Location(format!(
                "database URL scheme {scheme:?} is not supported; use postgres://USER@HOST:PORT/DB, sqlite:PATH or a data directory"
            )));
        }
        Ok(Location::sqlite_at(Path::new(text)))
    }

    /// SQLite at a file path, or in a directory (`evgrid.sqlite` inside it).
    pub fn sqlite_at(path: &Path) -> Self {
        let is_file = path
            .extension()
            .is_some_and(|e| e == "sqlite" || e == "db" || e == "sqlite3");
        if is_file {
            Location::Sqlite(path.to_path_buf())
        } else {
            Location::Sqlite(path.join(SQLITE_FILE))
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Location::Postgres(url) => f.write_str(&postgres::redacted(url)),
        }
    }
}

/// Applies an engine's migrations, refusing a database that holds a newer evgrid's.
pub(crate) async fn migrate<'a, A>(
    migrator: sqlx::migrate::Migrator,
    on: A,
) -> Result<(), StoreError>
where
    A: sqlx::Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    match migrator.run(on).await {
        Err(sqlx::migrate::MigrateError::VersionMissing(version)) => {
            Err(StoreError::Newer(version))
        }
        other => Ok(other?),
    }
}

/// The store: one engine behind the contract, shared by everything in the process.
#[derive(Debug, Clone)]
pub struct Store(Arc<dyn Engine>);

impl Store {
    /// Opens (creating and migrating if needed) the store at `location`; see
    /// [`Location::parse`].
    pub async fn open(location: &str) -> Result<Self, StoreError> {
        Self::open_location(&Location::parse(location)?).await
    }

    /// Opens the store at a parsed location.
    pub async fn open_location(location: &Location) -> Result<Self, StoreError> {
        match location {
            Location::Sqlite(path) => Ok(Store(Arc::new(SqliteStore::open(path).await?))),
            Location::Postgres(url) => Ok(Store(Arc::new(PostgresStore::open(url).await?))),
        }
    }

    /// Opens (creating if needed) the SQLite database in `data_dir`.
    pub async fn open_sqlite_dir(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_location(&Location::Sqlite(data_dir.join(SQLITE_FILE))).await
    }

    /// A store over an engine made elsewhere (tests of other engines, wrappers).
    pub fn from_engine(engine: Arc<dyn Engine>) -> Self {
        Store(engine)
    }
}

impl std::ops::Deref for Store {
    type Target = dyn Engine;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_as_users_write_them() {
        let dir = |p: &str| Location::Sqlite(PathBuf::from(p).join(SQLITE_FILE));
        assert_eq!(Location::parse("./var").unwrap(), dir("./var"));
        assert_eq!(
            Location::parse("sqlite:./var").unwrap(),
            dir("./var"),
            "a directory after sqlite: is a data directory"
        );
        assert_eq!(
            Location::parse("sqlite:///tmp/x/evgrid.sqlite").unwrap(),
            Location::Sqlite(PathBuf::from("/tmp/x/evgrid.sqlite"))
        );
        assert_eq!(
            Location::parse("sqlite:a.db?mode=rwc").unwrap(),
            Location::Sqlite(PathBuf::from("a.db"))
        );
        assert!(Location::parse("sqlite:").is_err());
        let err = Location::parse("mysql://u@h/db").unwrap_err().to_string();
        assert!(err.contains("mysql"), "{err}");
        let pg = Location::parse("postgres://evgrid:pw@127.0.0.1:5432/evgrid").unwrap();
        assert_eq!(
            pg,
            Location::Postgres("postgres://evgrid:pw@127.0.0.1:5432/evgrid".into())
        );
        assert_eq!(
            pg.to_string(),
            "postgres://evgrid:***@127.0.0.1:5432/evgrid"
        );
    }
}
