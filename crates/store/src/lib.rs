//! evgrid's store: the registry's truth on disk. SQLite (embedded, the default) now; PostgreSQL
//! joins behind the same [`Store`] API without changing its callers.
//!
//! This crate is the only one that knows SQL. Writes of a batch happen in one transaction: a
//! batch is stored whole or not at all, and a caller hears "stored" only after the commit.

mod sqlite;
pub mod stats;

use std::path::Path;

use evgrid_model::{
    Category, County, Operator, OperatorCredentials, OperatorId, Station, StationKey, Township,
};

pub use sqlite::SqliteStore;

/// Notices kept per charger.
pub const CHARGER_NOTICES_KEPT: i64 = 100;

/// Something a charger reported about itself: firmware or diagnostics progress, a log upload,
/// a security event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChargerNotice {
    /// When it arrived (Unix seconds).
    pub at: i64,
    /// What kind: the OCPP action, e.g. `FirmwareStatusNotification`.
    pub kind: String,
    /// What it said, e.g. `Installed` or a security event's type and information.
    pub detail: String,
}

/// What went wrong in the store, with what to do next where there is something to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {path}: {source}. Check that the data directory exists and is writable (--data-dir)")]
    Open { path: String, source: sqlx::Error },
    #[error(
        "database migration failed: {0}. The data directory may hold a newer evgrid's database"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Unknown(String),
    /// The group commit this write was part of failed (nothing of it was stored).
    #[error("the batch this write was part of was not stored: {0}")]
    Batch(String),
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        table: &'static str,
        message: String,
    },
}

/// One observed connector status, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRecord {
    pub connector_id: String,
    pub status: evgrid_model::ConnectorStatus,
    /// The protocol's own code.
    pub raw_status: i32,
    pub park_status: Option<i32>,
    pub lock_status: Option<i32>,
    /// When it was observed (received), seconds since 1970.
    pub observed_at: i64,
    /// `tcec_push`, `tcec_pull`, `ocpp`.
    pub source: String,
}

/// A protocol message already applied, for duplicate detection.
#[derive(Debug, Clone)]
pub struct PushKey<'a> {
    pub operator_id: &'a str,
    pub interface: &'a str,
    pub time_stamp: &'a str,
    pub seq: &'a str,
}

/// Messages of one operator, interface and answer (`ret` 0: accepted), summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficRow {
    pub operator_id: String,
    pub interface: String,
    pub ret: i32,
    pub count: i64,
    pub first_at: i64,
    pub last_at: i64,
}

/// A reconciliation request (T/CEC `check_charge_orders`) as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCheck {
    pub check_ref: String,
    pub period_start: String,
    pub period_end: String,
    pub order_count: i64,
    /// How many of its orders evgrid disputed.
    pub disputed: i64,
}

/// A station with where the region rules placed it, ready to store.
#[derive(Debug, Clone)]
pub struct PlacedStation {
    pub station: Station,
    pub county_code: Option<String>,
    pub township_code: Option<String>,
    /// `nearest_centre` or `polygon`.
    pub township_method: Option<&'static str>,
    pub inside_city: bool,
}

/// One station as the spatial index needs it.
#[derive(Debug, Clone)]
pub struct IndexRow {
    pub pk: i64,
    pub key: StationKey,
    pub name: String,
    pub category: Category,
    pub lat: f64,
    pub lng: f64,
    /// (connector type, power in W) of every connector.
    pub connectors: Vec<(i32, u32)>,
}

/// A station in a list.
#[derive(Debug, Clone)]
pub struct StationSummary {
    pub pk: i64,
    pub key: StationKey,
    pub name: String,
    pub station_type: i32,
    pub category: Category,
    pub lat: f64,
    pub lng: f64,
    pub county_code: Option<String>,
    pub township_code: Option<String>,
    pub inside_city: bool,
    pub piles: i64,
    pub connectors: i64,
}

/// A station with everything stored about it.
#[derive(Debug, Clone)]
pub struct StationRecord {
    pub summary: StationSummary,
    pub station: Station,
    pub township_method: Option<String>,
    pub updated_at: i64,
}

/// Filters of the station list; `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct StationListFilter {
    pub county_code: Option<String>,
    pub township_code: Option<String>,
    pub operator_id: Option<String>,
    pub category: Option<Category>,
}

/// Piles, stations and connectors counted by category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CategoryCounts {
    pub public: i64,
    pub dedicated: i64,
    pub private: i64,
}

impl CategoryCounts {
    /// All categories together.
    pub fn total(&self) -> i64 {
        self.public + self.dedicated + self.private
    }

    fn add(&mut self, category: Category, n: i64) {
        match category {
            Category::Public => self.public += n,
            Category::Dedicated => self.dedicated += n,
            Category::Private => self.private += n,
        }
    }
}

/// Counts for one group (the whole city, a county, a township).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub piles: CategoryCounts,
    pub stations: CategoryCounts,
    pub connectors: CategoryCounts,
}

/// Counts per region code; `None` holds stations outside every county.
#[derive(Debug, Clone, Default)]
pub struct RegionCounts {
    pub city: Counts,
    pub by_county: Vec<(Option<String>, Counts)>,
    pub by_township: Vec<(Option<String>, Counts)>,
}

/// The store. One variant per engine; callers never see which.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
}

impl Store {
    /// Opens (creating if needed) the SQLite database in `data_dir` and applies migrations.
    pub async fn open_sqlite_dir(data_dir: &Path) -> Result<Self, StoreError> {
        Ok(Store::Sqlite(
            SqliteStore::open(&data_dir.join("evgrid.sqlite")).await?,
        ))
    }

    /// Writes the reference regions (idempotent).
    pub async fn put_regions(
        &self,
        counties: &[County],
        townships: &[Township],
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.put_regions(counties, townships).await,
        }
    }

    /// Stores operators and stations in one transaction; a station is replaced whole when its
    /// (operator, station id) exists. Returns the station keys' row ids in input order.
    pub async fn upsert_stations(
        &self,
        operators: &[Operator],
        stations: &[PlacedStation],
    ) -> Result<Vec<i64>, StoreError> {
        match self {
            Store::Sqlite(s) => s.upsert_stations(operators, stations).await,
        }
    }

    /// Every station, as the spatial index needs it.
    pub async fn index_rows(&self) -> Result<Vec<IndexRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.index_rows().await,
        }
    }

    /// A page of stations (ordered by operator and station id) and the total matching.
    pub async fn list_stations(
        &self,
        filter: &StationListFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<StationSummary>, i64), StoreError> {
        match self {
            Store::Sqlite(s) => s.list_stations(filter, offset, limit).await,
        }
    }

    /// Summaries of the stations with these row ids, in no particular order.
    pub async fn summaries(&self, pks: &[i64]) -> Result<Vec<StationSummary>, StoreError> {
        match self {
            Store::Sqlite(s) => s.summaries(pks).await,
        }
    }

    /// One station with its equipment, connectors and tariff.
    pub async fn station(&self, key: &StationKey) -> Result<Option<StationRecord>, StoreError> {
        match self {
            Store::Sqlite(s) => s.station(key).await,
        }
    }

    /// All operators.
    pub async fn operators(&self) -> Result<Vec<Operator>, StoreError> {
        match self {
            Store::Sqlite(s) => s.operators().await,
        }
    }

    /// The reference regions.
    pub async fn regions(&self) -> Result<(Vec<County>, Vec<Township>), StoreError> {
        match self {
            Store::Sqlite(s) => s.regions().await,
        }
    }

    /// Counts by category for the city, each county and each township.
    pub async fn region_counts(&self) -> Result<RegionCounts, StoreError> {
        match self {
            Store::Sqlite(s) => s.region_counts().await,
        }
    }

    /// Stores an operator's platform credentials (creating or renaming the operator); replaces
    /// existing ones, recording the rotation.
    pub async fn put_credentials(
        &self,
        name: &str,
        credentials: &OperatorCredentials,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.put_credentials(name, credentials).await,
        }
    }

    /// One operator's credentials.
    pub async fn credentials(
        &self,
        id: &OperatorId,
    ) -> Result<Option<OperatorCredentials>, StoreError> {
        match self {
            Store::Sqlite(s) => s.credentials(Some(id)).await.map(|mut v| v.pop()),
        }
    }

    /// Every operator's credentials, by operator id.
    pub async fn all_credentials(&self) -> Result<Vec<OperatorCredentials>, StoreError> {
        match self {
            Store::Sqlite(s) => s.credentials(None).await,
        }
    }

    /// Removes an operator's credentials (its stations stay); returns whether there were any.
    pub async fn remove_credentials(&self, id: &OperatorId) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.remove_credentials(id).await,
        }
    }

    /// The operator's unexpired token with its seconds left, or `new_token` stored for `seconds`.
    pub async fn issue_token(
        &self,
        id: &OperatorId,
        new_token: &str,
        seconds: i64,
    ) -> Result<(String, i64), StoreError> {
        match self {
            Store::Sqlite(s) => s.issue_token(id, new_token, seconds).await,
        }
    }

    /// The operator an unexpired token belongs to.
    pub async fn token_owner(&self, token: &str) -> Result<Option<OperatorId>, StoreError> {
        match self {
            Store::Sqlite(s) => s.token_owner(token).await,
        }
    }

    /// Records a push and applies its statuses in one transaction. Returns `false` (nothing
    /// applied) when the push was applied before; [`StoreError::Unknown`] names a connector the
    /// operator does not have (nothing applied).
    pub async fn apply_statuses(
        &self,
        push: &PushKey<'_>,
        statuses: &[StatusRecord],
    ) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.apply_statuses(push, statuses).await,
        }
    }

    /// Merges one message about a charging session, recording the push in the same
    /// transaction. `false` (nothing applied) for a duplicate push; [`StoreError::Unknown`] for
    /// a connector the operator does not have or a session on another connector.
    pub async fn apply_session(
        &self,
        push: &PushKey<'_>,
        update: &evgrid_model::SessionUpdate,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.apply_session(push, update).await,
        }
    }

    /// [`Store::apply_session`] for many messages in one transaction (one commit), each with
    /// its own outcome; a refused one leaves no trace. `Err` when the transaction itself
    /// failed (nothing of the batch is stored).
    pub async fn apply_sessions_many(
        &self,
        messages: &[(PushKey<'_>, &evgrid_model::SessionUpdate)],
    ) -> Result<Vec<Result<bool, StoreError>>, StoreError> {
        match self {
            Store::Sqlite(s) => s.apply_sessions_many(messages).await,
        }
    }

    /// A stored charging session with its periods.
    pub async fn session(
        &self,
        operator_id: &OperatorId,
        session_ref: &str,
    ) -> Result<Option<evgrid_model::Session>, StoreError> {
        match self {
            Store::Sqlite(s) => s.session(operator_id, session_ref).await,
        }
    }

    /// The latest sessions (most recently updated first) on connectors whose id starts with
    /// `connector_prefix`, with their periods.
    pub async fn recent_sessions(
        &self,
        operator_id: &OperatorId,
        connector_prefix: &str,
        limit: i64,
    ) -> Result<Vec<evgrid_model::Session>, StoreError> {
        let refs = match self {
            Store::Sqlite(s) => {
                s.recent_session_refs(operator_id, connector_prefix, limit)
                    .await?
            }
        };
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            if let Some(session) = self.session(operator_id, &r).await? {
                out.push(session);
            }
        }
        Ok(out)
    }

    /// For each session reference, the energy and total of its final order, if one arrived.
    pub async fn final_orders(
        &self,
        operator_id: &OperatorId,
        session_refs: &[String],
    ) -> Result<Vec<Option<(evgrid_model::WattHours, evgrid_model::Fen)>>, StoreError> {
        match self {
            Store::Sqlite(s) => s.final_orders(operator_id, session_refs).await,
        }
    }

    /// Records a reconciliation request; `false` for a duplicate push.
    pub async fn record_order_check(
        &self,
        push: &PushKey<'_>,
        check: &OrderCheck,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.record_order_check(push, check).await,
        }
    }

    /// Registers or replaces a directly connected charger.
    pub async fn put_charger(&self, charger: &evgrid_model::Charger) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.put_charger(charger).await,
        }
    }

    /// A directly connected charger.
    pub async fn charger(&self, id: &str) -> Result<Option<evgrid_model::Charger>, StoreError> {
        match self {
            Store::Sqlite(s) => s.charger(id).await,
        }
    }

    /// Every directly connected charger.
    pub async fn chargers(&self) -> Result<Vec<evgrid_model::Charger>, StoreError> {
        match self {
            Store::Sqlite(s) => s.chargers().await,
        }
    }

    /// Removes a charger's registration (its station and history stay).
    pub async fn remove_charger(&self, id: &str) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.remove_charger(id).await,
        }
    }

    /// Notes what a charger said at boot.
    pub async fn charger_booted(
        &self,
        id: &str,
        vendor: &str,
        model: &str,
        serial: Option<&str>,
        firmware: Option<&str>,
        version: &str,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.charger_booted(id, vendor, model, serial, firmware, version)
                    .await
            }
        }
    }

    /// Keeps what a charger reported about itself (firmware, diagnostics, logs, security
    /// events); the latest [`CHARGER_NOTICES_KEPT`] per charger stay.
    pub async fn add_charger_notice(
        &self,
        charger: &str,
        at: i64,
        kind: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.add_charger_notice(charger, at, kind, detail).await,
        }
    }

    /// A charger's notices, newest first.
    pub async fn charger_notices(&self, charger: &str) -> Result<Vec<ChargerNotice>, StoreError> {
        match self {
            Store::Sqlite(s) => s.charger_notices(charger).await,
        }
    }

    /// A new OCPP 1.6 transaction id, unique across chargers.
    pub async fn new_transaction_id(&self, charger: &str) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.new_transaction_id(charger).await,
        }
    }

    /// [`Store::apply_statuses`] for several pushes in one transaction (group commit): each
    /// push gets its own outcome; a refused one leaves no trace.
    pub async fn apply_statuses_many(
        &self,
        pushes: &[(PushKey<'_>, &[StatusRecord])],
    ) -> Result<Vec<Result<bool, StoreError>>, StoreError> {
        match self {
            Store::Sqlite(s) => s.apply_statuses_many(pushes).await,
        }
    }

    /// Adds message counts (one transaction).
    pub async fn add_traffic(&self, rows: &[TrafficRow]) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.add_traffic(rows).await,
        }
    }

    /// Every message count recorded.
    pub async fn traffic(&self) -> Result<Vec<TrafficRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.traffic().await,
        }
    }

    /// Connectors by live status name (`unknown` for never reported), and how many of the
    /// reported ones are stale at `now`: older than their operator's stale interval, or
    /// `default_stale_after` seconds where the operator has none.
    pub async fn status_counts(
        &self,
        now: i64,
        default_stale_after: i64,
    ) -> Result<(Vec<(String, i64)>, i64), StoreError> {
        match self {
            Store::Sqlite(s) => s.status_counts(now, default_stale_after).await,
        }
    }

    /// An operator's connectors: (total, reported, stale before `stale_before`).
    pub async fn operator_connector_status(
        &self,
        id: &OperatorId,
        stale_before: i64,
    ) -> Result<(i64, i64, i64), StoreError> {
        match self {
            Store::Sqlite(s) => s.operator_connector_status(id, stale_before).await,
        }
    }

    /// How many of an operator's stations lack an address, service telephone or area code
    /// (required by T/CEC, accepted empty with a warning).
    pub async fn stations_missing_fields(&self, id: &OperatorId) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.stations_missing_fields(id).await,
        }
    }

    /// Every connector id of an operator.
    pub async fn connector_ids(&self, id: &OperatorId) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Sqlite(s) => s.connector_ids(id).await,
        }
    }

    /// The latest status of every reported connector of an operator.
    pub async fn operator_statuses(
        &self,
        id: &OperatorId,
    ) -> Result<Vec<StatusRecord>, StoreError> {
        match self {
            Store::Sqlite(s) => s.operator_statuses(id).await,
        }
    }

    /// Every station id of an operator.
    pub async fn station_ids(&self, id: &OperatorId) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Sqlite(s) => s.station_ids(id).await,
        }
    }

    /// Writes statuses observed by a pull, in one transaction, skipping any connector whose
    /// stored status was observed later. Every connector must exist (the caller filters).
    /// Returns how many were written.
    pub async fn put_statuses(
        &self,
        id: &OperatorId,
        statuses: &[StatusRecord],
    ) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => s.put_statuses(id, statuses).await,
        }
    }

    /// [`Store::put_statuses`] for statuses of several operators, in one transaction.
    pub async fn put_statuses_of_many(
        &self,
        statuses: &[(OperatorId, StatusRecord)],
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.put_statuses_of_many(statuses).await,
        }
    }

    /// The latest status of each connector of a station.
    pub async fn station_statuses(
        &self,
        key: &StationKey,
    ) -> Result<Vec<StatusRecord>, StoreError> {
        match self {
            Store::Sqlite(s) => s.station_statuses(key).await,
        }
    }

    /// A fingerprint of everything stored about stations: row counts and a checksum, so tests
    /// and operators can prove a rejected import changed nothing.
    pub async fn fingerprint(&self) -> Result<String, StoreError> {
        match self {
            Store::Sqlite(s) => s.fingerprint().await,
        }
    }

    /// Adds a user with an already hashed password; [`StoreError::Conflict`] when the name is
    /// taken.
    pub async fn add_user(
        &self,
        username: &str,
        password_hash: &str,
        role: evgrid_model::Role,
        operator: Option<&OperatorId>,
        now: i64,
    ) -> Result<evgrid_model::User, StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.add_user(username, password_hash, role, operator, now)
                    .await
            }
        }
    }

    /// Replaces a user's password hash and ends the user's sessions; false for no such user.
    pub async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.set_password(username, password_hash).await,
        }
    }

    /// A user and the stored password hash, for logging in.
    pub async fn user_login(
        &self,
        username: &str,
    ) -> Result<Option<(evgrid_model::User, String)>, StoreError> {
        match self {
            Store::Sqlite(s) => s.user_login(username).await,
        }
    }

    /// Every user.
    pub async fn users(&self) -> Result<Vec<evgrid_model::User>, StoreError> {
        match self {
            Store::Sqlite(s) => s.users().await,
        }
    }

    /// Removes a user and the user's sessions; false for no such user.
    pub async fn remove_user(&self, username: &str) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.remove_user(username).await,
        }
    }

    /// Records a driver's charge unless the user already used its idempotency key: the stored
    /// row and whether it is new; `None` when its session reference is taken.
    pub async fn insert_driver_session(
        &self,
        s: &evgrid_model::DriverSession,
    ) -> Result<Option<(evgrid_model::DriverSession, bool)>, StoreError> {
        match self {
            Store::Sqlite(st) => st.insert_driver_session(s).await,
        }
    }

    /// A driver's charge by its id.
    pub async fn driver_session(
        &self,
        id: &str,
    ) -> Result<Option<evgrid_model::DriverSession>, StoreError> {
        match self {
            Store::Sqlite(s) => s.driver_session(id).await,
        }
    }

    /// A page of a user's charges (only those whose order arrived, with `orders_only`), newest
    /// first, and how many there are in all.
    pub async fn driver_sessions_of(
        &self,
        user_id: i64,
        orders_only: bool,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<evgrid_model::DriverSession>, i64), StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.driver_sessions_of(user_id, orders_only, offset, limit)
                    .await
            }
        }
    }

    /// Links a driver's charge started by OCPP remote start (whose reference is its id tag until
    /// then) to the transaction the charger opened under that tag; `false` when no charge waits
    /// for that tag.
    pub async fn link_driver_session(
        &self,
        operator_id: &OperatorId,
        id_tag: &str,
        session_ref: &str,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.link_driver_session(operator_id.as_str(), id_tag, session_ref)
                    .await
            }
        }
    }

    /// Links the driver's OCPP charge whose id tag starts with `prefix` and still waits for its
    /// transaction (2.0.1 `remoteStartId`) to `session_ref`.
    pub async fn link_driver_session_by_prefix(
        &self,
        operator_id: &OperatorId,
        prefix: &str,
        session_ref: &str,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.link_driver_session_by_prefix(operator_id.as_str(), prefix, session_ref)
                    .await
            }
        }
    }

    /// The station and operator of an operator's connector.
    pub async fn charge_place(
        &self,
        operator_id: &str,
        connector_id: &str,
    ) -> Result<Option<evgrid_model::ChargePlace>, StoreError> {
        match self {
            Store::Sqlite(s) => s.charge_place(operator_id, connector_id).await,
        }
    }

    /// Stores a new reservation; `false` when its id tag is taken (make another).
    pub async fn insert_reservation(
        &self,
        r: &evgrid_model::Reservation,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.insert_reservation(r).await,
        }
    }

    /// A reservation by its id.
    pub async fn reservation(
        &self,
        id: &str,
    ) -> Result<Option<evgrid_model::Reservation>, StoreError> {
        match self {
            Store::Sqlite(s) => s.reservation(id).await,
        }
    }

    /// A user's reservations, newest first.
    pub async fn reservations_of(
        &self,
        user_id: i64,
    ) -> Result<Vec<evgrid_model::Reservation>, StoreError> {
        match self {
            Store::Sqlite(s) => s.reservations_of(user_id).await,
        }
    }

    /// The user's reservation of a connector that still holds at `now`.
    pub async fn active_reservation(
        &self,
        user_id: i64,
        operator_id: &str,
        connector_id: &str,
        now: i64,
    ) -> Result<Option<evgrid_model::Reservation>, StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.active_reservation(user_id, operator_id, connector_id, now)
                    .await
            }
        }
    }

    /// Sets how a reservation stands (`reserved`, `refused`, `cancelled`, `used`).
    pub async fn set_reservation_status(
        &self,
        id: &str,
        status: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.set_reservation_status(id, status, message).await,
        }
    }

    /// Sets how a driver's charge stands (`started`, `refused`, `stop_requested`).
    pub async fn set_driver_session_status(
        &self,
        id: &str,
        status: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.set_driver_session_status(id, status, message).await,
        }
    }

    /// Records a session by its token's hash (and drops expired ones).
    pub async fn add_user_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.add_user_session(token_hash, user_id, now, expires_at)
                    .await
            }
        }
    }

    /// The user of a live session.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<evgrid_model::User>, StoreError> {
        match self {
            Store::Sqlite(s) => s.session_user(token_hash, now).await,
        }
    }

    /// Ends a session; false when there was none.
    pub async fn end_user_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.end_user_session(token_hash).await,
        }
    }

    /// Live availability, opening hours and tariff of stations (by row id), for a driver's
    /// search; statuses older than their operator's interval (or `default_stale_after`) are
    /// counted as stale, not free.
    /// `counted` narrows the connectors counted to those a driver asked for.
    pub async fn station_live(
        &self,
        pks: &[i64],
        now: i64,
        default_stale_after: i64,
        counted: &stats::ConnectorCriteria,
    ) -> Result<Vec<stats::StationLive>, StoreError> {
        match self {
            Store::Sqlite(s) => s.station_live(pks, now, default_stale_after, counted).await,
        }
    }

    /// Stations, piles and connectors by category, grouped by `by`.
    pub async fn breakdown(
        &self,
        by: stats::Dimension,
    ) -> Result<Vec<stats::BreakdownRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.breakdown(by).await,
        }
    }

    /// Records today's (UTC+8) size of the registry, replacing an earlier snapshot of the day;
    /// returns the day.
    pub async fn take_snapshot(&self, now: i64) -> Result<String, StoreError> {
        match self {
            Store::Sqlite(s) => s.take_snapshot(now).await,
        }
    }

    /// Every daily snapshot, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<stats::SnapshotRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.snapshots().await,
        }
    }

    /// Sessions, energy and charging time of sessions started in `[from, to)`, by group and
    /// bucket (sessions still running count up to `now`).
    pub async fn usage(
        &self,
        key: stats::UsageKey,
        bucket: stats::Bucket,
        from: i64,
        to: i64,
        now: i64,
    ) -> Result<Vec<stats::UsageRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.usage(key, bucket, from, to, now).await,
        }
    }

    /// Connectors per group.
    pub async fn connectors_by(
        &self,
        key: stats::UsageKey,
    ) -> Result<Vec<(Option<String>, i64)>, StoreError> {
        match self {
            Store::Sqlite(s) => s.connectors_by(key).await,
        }
    }

    /// Fault episodes overlapping `[from, to)` and the connectors online now, by group.
    pub async fn faults(
        &self,
        key: stats::UsageKey,
        from: i64,
        to: i64,
        now: i64,
    ) -> Result<Vec<stats::FaultRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.faults(key, from, to, now).await,
        }
    }

    /// Every target, in the order they were added.
    pub async fn targets(&self) -> Result<Vec<stats::Target>, StoreError> {
        match self {
            Store::Sqlite(s) => s.targets().await,
        }
    }

    /// Adds or replaces a target.
    pub async fn put_target(&self, target: &stats::Target) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.put_target(target).await,
        }
    }

    /// Every imported progress figure.
    pub async fn progress(&self) -> Result<Vec<stats::ProgressRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.progress().await,
        }
    }

    /// Stores progress figures in one transaction (a figure of the same target and day is
    /// replaced).
    pub async fn put_progress(&self, rows: &[stats::ProgressRow]) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.put_progress(rows).await,
        }
    }
}

#[cfg(test)]
mod tests;
