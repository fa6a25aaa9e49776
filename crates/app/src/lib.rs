//! The application layer: what evgrid does, split by concern into services that the server and
//! the CLI use through [`App`]. It ties the store (the truth), the geography and the protocol
//! adapters together; it knows no HTTP and no SQL.
//!
//! - [`Network`]: the stations of every operator, their regions, the spatial index, imports and
//!   drivers' searches.
//! - [`Live`]: operators' platforms (credentials, tokens, pushes, pulls), live connector status
//!   and each operator's data quality.
//! - [`Charging`]: operators' charging sessions, drivers' charges and reservations, chargers
//!   connected directly by OCPP and the billing of their transactions.
//! - [`Regulator`]: statistics, coverage, targets and siting plans.
//! - [`Accounts`]: users, roles and logins.

pub mod accounts;
mod batch;
pub mod charging;
pub mod cluster;
pub mod live;
pub mod network;
pub mod regulator;
pub mod secrets;
pub mod superiors;

use std::path::Path;
use std::sync::Arc;

use evgrid_geo::ReferenceData;
use evgrid_store::{Store, StoreError};

pub use accounts::Accounts;
pub use charging::Charging;
pub use evgrid_store::transfer::{Duplicates, Progress as MigrationProgress, TableCount};
pub use live::Live;
pub use network::import::{ImportEvent, ImportReport, Rejection};
pub use network::{IndexedStation, Network, SearchFilter, SearchHit};
pub use regulator::Regulator;
pub use superiors::Superiors;

/// Copies the SQLite deployment at `from` into the PostgreSQL database at `to` (a data
/// directory or `sqlite:PATH`, and a `postgres://` URL): every table, one transaction per group
/// of tables, `duplicates` saying what happens to rows the target already holds. Returns every
/// table's row counts on both sides.
pub async fn migrate(
    from: &str,
    to: &str,
    duplicates: Duplicates,
    progress: &mut (dyn FnMut(MigrationProgress) + Send),
) -> Result<Vec<TableCount>, AppError> {
    Ok(evgrid_store::transfer::transfer(from, to, duplicates, progress).await?)
}

/// Lower-case hexadecimal of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` bytes from the system's random source (tokens, salts).
pub(crate) fn random_bytes(n: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes))?;
    Ok(bytes)
}

/// `n` bytes from the system's random source, as hexadecimal (tokens, salts).
pub(crate) fn random_hex(n: usize) -> std::io::Result<String> {
    Ok(hex(&random_bytes(n)?))
}

/// Seconds after which a connector status is stale when its operator has no interval of its own.
pub const DEFAULT_STALE_AFTER_SECONDS: i64 = 900;

/// A store location as people may see it (a database URL's password hidden).
pub fn shown_location(location: &str) -> String {
    evgrid_store::Location::parse(location).map_or_else(|_| location.to_owned(), |l| l.to_string())
}

/// What the application layer could not do.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What was asked for is not valid (the reason says why).
    #[error("{0}")]
    Invalid(String),
    /// A stored secret could not be opened.
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
    /// A report or map could not be written.
    #[error(transparent)]
    Drawing(#[from] evgrid_report::DrawError),
    /// Work handed to a blocking thread did not finish (it panicked or was cancelled).
    #[error("a background computation did not finish: {0}")]
    Background(String),
}

/// How the application behaves where a deployment chooses.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The T/CEC `TimeStamp` window enforced on requests, seconds (`None`: not enforced).
    pub max_clock_skew: Option<i64>,
    /// How long protocol logs are kept.
    pub retention: Retention,
    /// Seals operators' secrets and issued tokens before they are stored. `None` stores them
    /// as they are: for tests and tools only; `evgrid` always gives one.
    pub sealer: Option<secrets::Sealer>,
    /// Whether an id token the platform does not know may charge at OCPP chargers (an open
    /// deployment); otherwise chargers are told it is unknown (1.6: invalid).
    pub accept_unknown_tokens: bool,
}

/// How long protocol logs are kept, seconds. Pruned every hour while serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Duplicate keys of T/CEC and OCPP pushes. A T/CEC request whose `TimeStamp` is older
    /// than this is refused: a replay of it could no longer be told from a new push.
    pub push_keys: i64,
    /// The history of connector status changes (faults and outages).
    pub status_history: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            push_keys: 7 * 86_400,
            status_history: 400 * 86_400,
        }
    }
}

/// The application: every service over one store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    network: Arc<Network>,
    live: Arc<Live>,
    charging: Arc<Charging>,
    regulator: Arc<Regulator>,
    accounts: Arc<Accounts>,
    superiors: Arc<Superiors>,
}

impl App {
    /// Opens the application over a store: the reference regions written, the index built from
    /// every stored station, the message counts loaded.
    pub async fn open(
        store: Store,
        reference: Arc<ReferenceData>,
        settings: Settings,
    ) -> Result<Self, AppError> {
        let network = Arc::new(Network::open(store.clone(), reference).await?);
        let live = Arc::new(Live::open(store.clone(), network.clone(), &settings).await?);
        let charging = Arc::new(Charging::new(
            store.clone(),
            network.clone(),
            live.clone(),
            settings.accept_unknown_tokens,
        ));
        let regulator = Arc::new(Regulator::new(store.clone(), network.clone(), live.clone()));
        let superiors = Arc::new(Superiors::new(store.clone(), network.clone(), live.clone()));
        let accounts = Arc::new(Accounts::new(store));
        Ok(Self {
            network,
            live,
            charging,
            regulator,
            accounts,
            superiors,
        })
    }

    /// Opens the application over the store at `location` (see `evgrid_store::Location`).
    pub async fn open_location(
        location: &str,
        reference: Arc<ReferenceData>,
        settings: Settings,
    ) -> Result<Self, AppError> {
        Self::open(Store::open(location).await?, reference, settings).await
    }

    /// Opens the application over the SQLite database in a data directory.
    pub async fn open_dir(
        data_dir: &Path,
        reference: Arc<ReferenceData>,
    ) -> Result<Self, AppError> {
        Self::open(
            Store::open_sqlite_dir(data_dir).await?,
            reference,
            Settings::default(),
        )
        .await
    }

    /// The stations, regions, index, imports and searches.
    pub fn network(&self) -> &Arc<Network> {
        &self.network
    }

    /// Operators' platforms, live status and data quality.
    pub fn live(&self) -> &Arc<Live> {
        &self.live
    }

    /// Charging sessions, drivers' charges and reservations, OCPP chargers.
    pub fn charging(&self) -> &Arc<Charging> {
        &self.charging
    }

    /// Joins the other nodes serving the same database (PostgreSQL): chargers connected to
    /// this node become reachable from theirs and theirs from this one, through `hub`. `None`
    /// on SQLite (one node).
    pub async fn join_nodes(
        &self,
        hub: Arc<evgrid_ocpp::hub::Hub>,
    ) -> Result<Option<Arc<cluster::Cluster>>, AppError> {
        let cluster =
            cluster::Cluster::join(self.charging.store().clone(), hub, self.network.clone())
                .await?;
        if let Some(c) = &cluster {
            self.live.set_node(c.node());
        }
        Ok(cluster)
    }

    /// Group commits by kind (`statuses`, `pushes`, `sessions`): groups committed and the jobs
    /// they held, since start.
    pub fn group_commits(&self) -> Vec<(&'static str, u64, u64)> {
        let (g, j) = self.live.status_group_counts();
        let (pg, pj) = self.live.push_group_counts();
        let (sg, sj) = self.charging.session_group_counts();
        vec![("statuses", g, j), ("pushes", pg, pj), ("sessions", sg, sj)]
    }

    /// The database's connections: (open, idle).
    pub fn database_connections(&self) -> (u32, usize) {
        self.charging.store().pool_connections()
    }

    /// Whether the database answers and holds this evgrid's schema (a load balancer's
    /// readiness check).
    pub async fn readiness(&self) -> Result<evgrid_store::contract::Readiness, AppError> {
        Ok(self.charging.store().readiness().await?)
    }

    /// Statistics, coverage, targets and plans.
    pub fn regulator(&self) -> &Arc<Regulator> {
        &self.regulator
    }

    /// The superior supervision platforms evgrid reports to.
    pub fn superiors(&self) -> &Arc<Superiors> {
        &self.superiors
    }

    /// Users and logins.
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    /// The reference geography.
    pub fn reference(&self) -> &ReferenceData {
        self.network.reference()
    }
}

#[cfg(test)]
mod tests;
