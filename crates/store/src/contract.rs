//! The store's contract: what evgrid keeps, one trait per area, that every engine implements
//! whole. The application layer sees only these traits (through [`crate::Store`]); which engine
//! answers is decided once, when the store is opened.
//!
//! Rules every implementation keeps (the contract suite in `tests/contract.rs` checks them):
//! a batch is stored whole or not at all; a method returns only after its commit; a protocol
//! message applied once is not applied again (its [`PushId`]); a refused message leaves no
//! trace; a status is only replaced by a newer observation.

use async_trait::async_trait;
use evgrid_model::stats::{
    BreakdownRow, Bucket, ConnectorCriteria, Dimension, FaultRow, ProgressRow, SnapshotRow,
    StationLive, Target, UsageKey, UsageRow,
};
use evgrid_model::superior::{
    Attempt, DeliveryFigures, DisputedOrder, OutboxItem, ReportKind, ReportOutcome, Superior,
};
use evgrid_model::{
    AuditEntry, AuditFilter, Charge, ChargePlace, ChargeStatus, Charger, ChargerNotice,
    ChargingSession, County, Fen, IdToken, IndexRow, Operator, OperatorCredentials, OperatorId,
    OrderCheck, PlacedStation, PushId, RegionCounts, Registration, Reservation, ReservationStatus,
    Role, SessionUpdate, StationKey, StationListFilter, StationRecord, StationSummary,
    StatusRecord, StoredAuthority, TokenFilter, Township, TrafficRow, User, WattHours,
};

use crate::StoreError;

/// What a store method returns.
pub type StoreResult<T> = Result<T, StoreError>;

/// The stations and the regions they lie in, and the operators that own them.
#[async_trait]
pub trait NetworkStore: Send + Sync {
    /// Writes the reference regions (idempotent).
    async fn put_regions(&self, counties: &[County], townships: &[Township]) -> StoreResult<()>;

    /// Stores operators and stations in one transaction; a station is replaced whole when its
    /// (operator, station id) exists. Returns the station keys' row ids in input order.
    async fn upsert_stations(
        &self,
        operators: &[Operator],
        stations: &[PlacedStation],
    ) -> StoreResult<Vec<i64>>;

    /// Every station, as the spatial index needs it.
    async fn index_rows(&self) -> StoreResult<Vec<IndexRow>>;

    /// A page of stations (ordered by operator and station id) and the total matching.
    async fn list_stations(
        &self,
        filter: &StationListFilter,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<StationSummary>, i64)>;

    /// Summaries of the stations with these row ids, in no particular order.
    async fn summaries(&self, pks: &[i64]) -> StoreResult<Vec<StationSummary>>;

    /// One station with its equipment, connectors and tariff.
    async fn station(&self, key: &StationKey) -> StoreResult<Option<StationRecord>>;

    /// All operators.
    async fn operators(&self) -> StoreResult<Vec<Operator>>;

    /// The reference regions.
    async fn regions(&self) -> StoreResult<(Vec<County>, Vec<Township>)>;

    /// Counts by category for the city, each county and each township.
    async fn region_counts(&self) -> StoreResult<RegionCounts>;

    /// Every station id of an operator.
    async fn station_ids(&self, id: &OperatorId) -> StoreResult<Vec<String>>;

    /// Every connector id of an operator.
    async fn connector_ids(&self, id: &OperatorId) -> StoreResult<Vec<String>>;

    /// How many of an operator's stations lack an address, service telephone or area code
    /// (required by T/CEC, accepted empty with a warning).
    async fn stations_missing_fields(&self, id: &OperatorId) -> StoreResult<i64>;

    /// The station and operator of an operator's connector.
    async fn charge_place(
        &self,
        operator_id: &str,
        connector_id: &str,
    ) -> StoreResult<Option<ChargePlace>>;

    /// The places of many (operator, connector) pairs in one read; pairs not found are left
    /// out.
    async fn charge_places(
        &self,
        connectors: &[(String, String)],
    ) -> StoreResult<Vec<((String, String), ChargePlace)>>;

    /// A fingerprint of everything stored about stations: row counts and a checksum, so tests
    /// and operators can prove a rejected import changed nothing.
    async fn fingerprint(&self) -> StoreResult<String>;
}

/// Operator platforms' T/CEC credentials and the tokens evgrid issued to them.
#[async_trait]
pub trait OperatorStore: Send + Sync {
    /// Stores an operator's platform credentials (creating or renaming the operator); replaces
    /// existing ones, recording the rotation.
    async fn put_credentials(
        &self,
        name: &str,
        credentials: &OperatorCredentials,
    ) -> StoreResult<()>;

    /// One operator's credentials.
    async fn credentials(&self, id: &OperatorId) -> StoreResult<Option<OperatorCredentials>>;

    /// Every operator's credentials, by operator id.
    async fn all_credentials(&self) -> StoreResult<Vec<OperatorCredentials>>;

    /// Removes an operator's credentials (its stations stay); returns whether there were any.
    async fn remove_credentials(&self, id: &OperatorId) -> StoreResult<bool>;

    /// The operator's unexpired token with its seconds left, or `new_token` stored for `seconds`.
    async fn issue_token(
        &self,
        id: &OperatorId,
        new_token: &str,
        seconds: i64,
    ) -> StoreResult<(String, i64)>;

    /// The operator an unexpired token belongs to.
    async fn token_owner(&self, token: &str) -> StoreResult<Option<OperatorId>>;

    /// Removes every token issued to operators (they ask for new ones); how many there were.
    async fn drop_tokens(&self) -> StoreResult<u64>;
}

/// Live connector status: pushed, pulled and reported by chargers, newest observation kept.
#[async_trait]
pub trait StatusStore: Send + Sync {
    /// Records a push and applies its statuses in one transaction. Returns `false` (nothing
    /// applied) when the push was applied before; [`StoreError::Unknown`] names a connector the
    /// operator does not have (nothing applied).
    async fn apply_statuses(&self, push: &PushId, statuses: &[StatusRecord]) -> StoreResult<bool>;

    /// [`Store::apply_statuses`] for several pushes in one transaction (group commit): each
    /// push gets its own outcome; a refused one leaves no trace.
    async fn apply_statuses_many(
        &self,
        pushes: &[(&PushId, &[StatusRecord])],
    ) -> StoreResult<Vec<StoreResult<bool>>>;

    /// Writes statuses observed by a pull, in one transaction, skipping any connector whose
    /// stored status was observed later. Every connector must exist (the caller filters).
    /// Returns how many were written.
    async fn put_statuses(&self, id: &OperatorId, statuses: &[StatusRecord]) -> StoreResult<u64>;

    /// [`Store::put_statuses`] for statuses of several operators, in one transaction.
    async fn put_statuses_of_many(
        &self,
        statuses: &[(OperatorId, StatusRecord)],
    ) -> StoreResult<()>;

    /// Connectors by live status name (`unknown` for never reported), and how many of the
    /// reported ones are stale at `now`: older than their operator's stale interval, or
    /// `default_stale_after` seconds where the operator has none.
    async fn status_counts(
        &self,
        now: i64,
        default_stale_after: i64,
    ) -> StoreResult<(Vec<(String, i64)>, i64)>;

    /// An operator's connectors: (total, reported, stale before `stale_before`).
    async fn operator_connector_status(
        &self,
        id: &OperatorId,
        stale_before: i64,
    ) -> StoreResult<(i64, i64, i64)>;

    /// The latest status of every reported connector of an operator.
    async fn operator_statuses(&self, id: &OperatorId) -> StoreResult<Vec<StatusRecord>>;

    /// The latest status of each connector of a station.
    async fn station_statuses(&self, key: &StationKey) -> StoreResult<Vec<StatusRecord>>;

    /// Live availability, opening hours and tariff of stations (by row id), for a driver's
    /// search; statuses older than their operator's interval (or `default_stale_after`) are
    /// counted as stale, not free.
    /// `counted` narrows the connectors counted to those a driver asked for.
    async fn station_live(
        &self,
        pks: &[i64],
        now: i64,
        default_stale_after: i64,
        counted: &ConnectorCriteria,
    ) -> StoreResult<Vec<StationLive>>;
}

/// Operators' charging sessions (T/CEC notifications, OCPP transactions), merged message by message, and their reconciliation.
#[async_trait]
pub trait ChargingSessionStore: Send + Sync {
    /// Merges one message about a charging session, recording the push in the same
    /// transaction. `false` (nothing applied) for a duplicate push; [`StoreError::Unknown`] for
    /// a connector the operator does not have or a session on another connector.
    async fn apply_charging_session(
        &self,
        push: &PushId,
        update: &SessionUpdate,
    ) -> StoreResult<bool>;

    /// [`Store::apply_session`] for many messages in one transaction (one commit), each with
    /// its own outcome; a refused one leaves no trace. `Err` when the transaction itself
    /// failed (nothing of the batch is stored).
    async fn apply_charging_sessions_many(
        &self,
        messages: &[(&PushId, &SessionUpdate)],
    ) -> StoreResult<Vec<StoreResult<bool>>>;

    /// A stored charging session with its periods.
    async fn charging_session(
        &self,
        operator_id: &OperatorId,
        session_ref: &str,
    ) -> StoreResult<Option<ChargingSession>>;

    /// The latest sessions (most recently updated first) on connectors whose id starts with
    /// `connector_prefix`, with their periods.
    async fn recent_charging_sessions(
        &self,
        operator_id: &OperatorId,
        connector_prefix: &str,
        limit: i64,
    ) -> StoreResult<Vec<ChargingSession>>;

    /// Many sessions by (operator, session reference) in one read, with their periods; keys
    /// not found are left out.
    async fn charging_sessions(
        &self,
        keys: &[(String, String)],
    ) -> StoreResult<Vec<ChargingSession>>;

    /// For each session reference, the energy and total of its final order, if one arrived.
    async fn final_orders(
        &self,
        operator_id: &OperatorId,
        session_refs: &[String],
    ) -> StoreResult<Vec<Option<(WattHours, Fen)>>>;

    /// Records a reconciliation request; `false` for a duplicate push.
    async fn record_order_check(&self, push: &PushId, check: &OrderCheck) -> StoreResult<bool>;
}

/// Drivers' charges started through evgrid, and their reservations.
#[async_trait]
pub trait ChargeStore: Send + Sync {
    /// Records a driver's charge unless the user already used its idempotency key: the stored
    /// row and whether it is new; `None` when its session reference is taken.
    async fn insert_charge(&self, charge: &Charge) -> StoreResult<Option<(Charge, bool)>>;

    /// A driver's charge by its id.
    async fn charge(&self, id: &str) -> StoreResult<Option<Charge>>;

    /// A page of a user's charges (only those whose order arrived, with `orders_only`), newest
    /// first, and how many there are in all.
    async fn charges_of(
        &self,
        user_id: i64,
        orders_only: bool,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<Charge>, i64)>;

    /// Sets how a driver's charge stands.
    async fn set_charge_status(
        &self,
        id: &str,
        status: ChargeStatus,
        message: Option<&str>,
    ) -> StoreResult<()>;

    /// Links a driver's charge started by OCPP remote start (whose reference is its id tag until
    /// then) to the transaction the charger opened under that tag; `false` when no charge waits
    /// for that tag.
    async fn link_charge(
        &self,
        operator_id: &OperatorId,
        id_tag: &str,
        session_ref: &str,
    ) -> StoreResult<bool>;

    /// Links the driver's OCPP charge whose id tag starts with `prefix` and still waits for its
    /// transaction (2.0.1 `remoteStartId`) to `session_ref`.
    async fn link_charge_by_prefix(
        &self,
        operator_id: &OperatorId,
        prefix: &str,
        session_ref: &str,
    ) -> StoreResult<bool>;

    /// Stores a new reservation; `false` when its id tag is taken (make another).
    async fn insert_reservation(&self, r: &Reservation) -> StoreResult<bool>;

    /// A reservation by its id.
    async fn reservation(&self, id: &str) -> StoreResult<Option<Reservation>>;

    /// A user's reservations, newest first.
    async fn reservations_of(&self, user_id: i64) -> StoreResult<Vec<Reservation>>;

    /// The user's reservation of a connector that still holds at `now`.
    async fn active_reservation(
        &self,
        user_id: i64,
        operator_id: &str,
        connector_id: &str,
        now: i64,
    ) -> StoreResult<Option<Reservation>>;

    /// Sets how a reservation stands.
    async fn set_reservation_status(
        &self,
        id: &str,
        status: ReservationStatus,
        message: Option<&str>,
    ) -> StoreResult<()>;

    /// Ends the open (requested or reserved) reservation that a charger holds under
    /// `ocpp_id` on a connector whose id starts with `connector_prefix` (the charger's own
    /// report that it expired or was removed); whether there was one.
    async fn end_reservation_of_charger(
        &self,
        operator_id: &str,
        connector_prefix: &str,
        ocpp_id: i64,
        message: &str,
    ) -> StoreResult<bool>;
}

/// Users with their roles, and their logins (kept by the hash of the login token).
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Adds a user with an already hashed password; [`StoreError::Conflict`] when the name is
    /// taken.
    async fn add_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        operator: Option<&OperatorId>,
        now: i64,
    ) -> StoreResult<User>;

    /// Replaces a user's password hash and ends the user's sessions; false for no such user.
    async fn set_password(&self, username: &str, password_hash: &str) -> StoreResult<bool>;

    /// Appends a line to the audit log; its id.
    async fn add_audit(&self, entry: &AuditEntry) -> StoreResult<i64>;

    /// Lines of the audit log, newest first.
    async fn audit_log(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;

    /// A user and the stored password hash, for logging in.
    async fn user_login(&self, username: &str) -> StoreResult<Option<(User, String)>>;

    /// Every user.
    async fn users(&self) -> StoreResult<Vec<User>>;

    /// Removes a user and the user's sessions; false for no such user.
    async fn remove_user(&self, username: &str) -> StoreResult<bool>;

    /// Records a session by its token's hash (and drops expired ones).
    async fn add_login(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;

    /// The user of a live session.
    async fn login_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<User>>;

    /// Ends a session; false when there was none.
    async fn end_login(&self, token_hash: &str) -> StoreResult<bool>;
}

/// Id tokens (RFID cards, the app's tags) and the charging sessions each started.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores tokens in one transaction: a new id is inserted; an existing one is replaced
    /// (keeping its creation time) when `replace`, else kept as it is. An owner names a user;
    /// [`StoreError::Unknown`] (nothing stored) when there is no such user.
    async fn put_tokens(&self, tokens: &[IdToken], replace: bool) -> StoreResult<TokenCounts>;

    /// A token by its id.
    async fn token(&self, id: &str) -> StoreResult<Option<IdToken>>;

    /// A page of the tokens that pass `filter`, by id, and how many pass it in all.
    async fn tokens(
        &self,
        filter: &TokenFilter,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<IdToken>, i64)>;

    /// Removes a token (the sessions it started stay); whether there was one.
    async fn remove_token(&self, id: &str) -> StoreResult<bool>;

    /// Notes that `token` started the operator's session `session_ref` at `at` (once per
    /// session: the first token named wins).
    async fn token_started(
        &self,
        token: &str,
        operator_id: &OperatorId,
        session_ref: &str,
        at: i64,
    ) -> StoreResult<()>;

    /// A page of the sessions (operator, session reference) started by one token or by any
    /// token of one account, newest first, and how many there are in all.
    async fn token_sessions(
        &self,
        of: TokensOf<'_>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<(String, String)>, i64)>;
}

/// Whose tokens' sessions to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokensOf<'a> {
    /// One token.
    Token(&'a str),
    /// Every token of the account with this user name.
    Owner(&'a str),
}

/// What [`TokenStore::put_tokens`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TokenCounts {
    pub inserted: u64,
    pub replaced: u64,
    /// Existing ids left as they were.
    pub kept: u64,
}

/// Chargers connected directly by OCPP: registrations, what they said at boot and about themselves, transaction numbers.
#[async_trait]
pub trait ChargerStore: Send + Sync {
    /// Registers or replaces a directly connected charger.
    async fn put_charger(&self, charger: &Charger) -> StoreResult<()>;

    /// Registers a charger that connected unannounced (no station yet), unless `most` such
    /// chargers are registered already or the id is taken; whether it was registered.
    async fn register_unplaced_charger(&self, charger: &Charger, most: u32) -> StoreResult<bool>;

    /// A directly connected charger.
    async fn charger(&self, id: &str) -> StoreResult<Option<Charger>>;

    /// Every directly connected charger.
    async fn chargers(&self) -> StoreResult<Vec<Charger>>;

    /// Removes a charger's registration (its station and history stay).
    async fn remove_charger(&self, id: &str) -> StoreResult<bool>;

    /// Notes what a charger said at boot; its registration (what the boot is answered), or
    /// `None` for no such charger.
    async fn charger_booted(
        &self,
        id: &str,
        vendor: &str,
        model: &str,
        serial: Option<&str>,
        firmware: Option<&str>,
        version: &str,
    ) -> StoreResult<Option<Registration>>;

    /// Sets (or with `None` drops) the password being rotated in through the charger; false
    /// for no such charger.
    async fn set_next_charger_password(
        &self,
        id: &str,
        next_password_hash: Option<&str>,
    ) -> StoreResult<bool>;

    /// Makes the rotated-in password the charger's only one, if it is still `next_password_hash`
    /// (the charger logged in with it); whether it was.
    async fn promote_charger_password(
        &self,
        id: &str,
        next_password_hash: &str,
    ) -> StoreResult<bool>;

    /// Sets the lowest security profile a charger may connect with (only upward when
    /// `only_raise`); false for no such charger, or when `only_raise` and it is not lower.
    async fn set_charger_security_profile(
        &self,
        id: &str,
        profile: u8,
        only_raise: bool,
    ) -> StoreResult<bool>;

    /// The platform's certificate authority, once created or given.
    async fn certificate_authority(&self) -> StoreResult<Option<StoredAuthority>>;

    /// Stores the platform's certificate authority: replacing the one there when `replace`,
    /// else only where there is none (several nodes creating one at once keep the first);
    /// whether it was written.
    async fn put_certificate_authority(
        &self,
        authority: &StoredAuthority,
        replace: bool,
    ) -> StoreResult<bool>;

    /// Sets whether a charger is commissioned; false for no such charger.
    async fn set_charger_registration(
        &self,
        id: &str,
        registration: Registration,
    ) -> StoreResult<bool>;

    /// Keeps what a charger reported about itself (firmware, diagnostics, logs, security
    /// events); the latest [`CHARGER_NOTICES_KEPT`] per charger stay.
    async fn add_charger_notice(
        &self,
        charger: &str,
        at: i64,
        kind: &str,
        detail: &str,
    ) -> StoreResult<()>;

    /// A charger's notices, newest first.
    async fn charger_notices(&self, charger: &str) -> StoreResult<Vec<ChargerNotice>>;

    /// A new OCPP 1.6 transaction id, unique across chargers.
    async fn new_transaction_id(&self, charger: &str) -> StoreResult<i64>;
}

/// The regulator's statistics: breakdowns, daily snapshots, utilization, faults, targets and their progress.
#[async_trait]
pub trait StatisticsStore: Send + Sync {
    /// Stations, piles and connectors by category, grouped by `by`.
    async fn breakdown(&self, by: Dimension) -> StoreResult<Vec<BreakdownRow>>;

    /// Records today's (UTC+8) size of the registry, replacing an earlier snapshot of the day;
    /// returns the day.
    async fn take_snapshot(&self, now: i64) -> StoreResult<String>;

    /// Every daily snapshot, oldest first.
    async fn snapshots(&self) -> StoreResult<Vec<SnapshotRow>>;

    /// Sessions, energy and charging time of sessions started in `[from, to)`, by group and
    /// bucket (sessions still running count up to `now`).
    async fn usage(
        &self,
        key: UsageKey,
        bucket: Bucket,
        from: i64,
        to: i64,
        now: i64,
    ) -> StoreResult<Vec<UsageRow>>;

    /// Connectors per group.
    async fn connectors_by(&self, key: UsageKey) -> StoreResult<Vec<(Option<String>, i64)>>;

    /// Fault episodes overlapping `[from, to)` and the connectors online now, by group.
    async fn faults(
        &self,
        key: UsageKey,
        from: i64,
        to: i64,
        now: i64,
    ) -> StoreResult<Vec<FaultRow>>;

    /// Every target, in the order they were added.
    async fn targets(&self) -> StoreResult<Vec<Target>>;

    /// Adds or replaces a target.
    async fn put_target(&self, target: &Target) -> StoreResult<()>;

    /// Every imported progress figure.
    async fn progress(&self) -> StoreResult<Vec<ProgressRow>>;

    /// Stores progress figures in one transaction (a figure of the same target and day is
    /// replaced).
    async fn put_progress(&self, rows: &[ProgressRow]) -> StoreResult<()>;
}

/// What retention removes: rows older than these times (seconds since 1970).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneBefore {
    /// Duplicate keys of protocol pushes received before this time.
    pub push_keys: i64,
    /// Status events (the fault and outage history) before this time, except the last one of
    /// each connector before it (the state the history starts from).
    pub status_events: i64,
    /// Now: expired operator tokens and logins go.
    pub now: i64,
}

/// Rows retention removed, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub push_keys: u64,
    pub status_events: u64,
    pub expired_tokens: u64,
    pub expired_logins: u64,
}

/// Protocol message counts per operator, interface and answer (the data-quality report), and
/// the retention of protocol logs.
#[async_trait]
pub trait TrafficStore: Send + Sync {
    /// Removes what retention no longer keeps (one transaction per kind).
    async fn prune(&self, before: &PruneBefore) -> StoreResult<Pruned>;

    /// Adds message counts (one transaction).
    async fn add_traffic(&self, rows: &[TrafficRow]) -> StoreResult<()>;

    /// Every message count recorded.
    async fn traffic(&self) -> StoreResult<Vec<TrafficRow>>;
}

/// Where an OCPP charger's connection is held in a deployment of several nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub charger_id: String,
    pub node_id: String,
    /// The OCPP version the connection speaks (`1.6`, `2.0.1`).
    pub version: String,
    /// The node's own number of the connection (a newer one replaces it).
    pub connection: i64,
    pub since: i64,
}

/// The nodes of a deployment and which node holds each charger's connection: rows that a node's
/// heartbeat keeps fresh and that its stop (or its heartbeat going stale) clears.
#[async_trait]
pub trait PresenceStore: Send + Sync {
    /// Records that `node` is alive at `now` (started at `now` if new).
    async fn node_alive(&self, node: &str, now: i64) -> StoreResult<()>;

    /// Removes `node`, every presence and every lease it holds (it stops, or it was found dead).
    async fn node_gone(&self, node: &str) -> StoreResult<u64>;

    /// Nodes whose last heartbeat is before `before`: found dead.
    async fn stale_nodes(&self, before: i64) -> StoreResult<Vec<String>>;

    /// Records that `presence.node_id` holds the charger's connection now, replacing any other
    /// presence of it; returns the replaced one.
    async fn charger_present(&self, presence: &Presence) -> StoreResult<Option<Presence>>;

    /// Clears a charger's presence if it is still this node's connection `connection`.
    async fn charger_absent(&self, charger: &str, node: &str, connection: i64) -> StoreResult<()>;

    /// Where the charger is connected, if on a node whose heartbeat is at or after
    /// `fresh_since`.
    async fn presence(&self, charger: &str, fresh_since: i64) -> StoreResult<Option<Presence>>;

    /// Takes or renews the lease `name` for `node` until `now + ttl` seconds, unless another
    /// node holds it unexpired; whether `node` holds it now.
    async fn hold_lease(&self, name: &str, node: &str, now: i64, ttl: i64) -> StoreResult<bool>;
}

/// Messages between the nodes of a deployment through the database (PostgreSQL's
/// LISTEN/NOTIFY); an engine with one node (SQLite) has none.
#[async_trait]
pub trait SignalStore: Send + Sync {
    /// Whether this engine carries signals between nodes.
    fn carries_signals(&self) -> bool {
        false
    }

    /// Sends `payload` (at most [`MAX_SIGNAL_BYTES`]) to whoever listens on `channel`.
    async fn signal(&self, channel: &str, payload: &str) -> StoreResult<()>;

    /// Listens on `channel`: its signals arrive on the receiver, in order, until it is dropped;
    /// `None` where the engine carries none.
    async fn listen(
        &self,
        channel: &str,
    ) -> StoreResult<Option<tokio::sync::mpsc::Receiver<String>>>;
}

/// The longest signal payload (PostgreSQL's NOTIFY takes less than 8,000 bytes).
pub const MAX_SIGNAL_BYTES: usize = 7_900;

/// Whether the database can serve: reachable, and its schema the one this evgrid knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// The newest migration applied to the database (`None`: none yet).
    pub applied: Option<i64>,
    /// The newest migration this evgrid carries.
    pub known: i64,
}

impl Readiness {
    /// Reachable and migrated to exactly this evgrid's schema.
    pub fn current(&self) -> bool {
        self.applied == Some(self.known)
    }
}

/// The database's health for a load balancer's readiness check.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// Asks the database (one round trip) which migration it holds; an error when it cannot
    /// be reached.
    async fn readiness(&self) -> StoreResult<Readiness>;

    /// The connections this process holds to the database: (open, idle).
    fn pool_connections(&self) -> (u32, usize);
}

/// The superior platforms evgrid reports to and the outbox of each. The outbox is filled by
/// the engine in the transaction that stores a fact (a station, a connector's status change, a
/// charge's order): nothing committed goes unreported.
#[async_trait]
pub trait SuperiorStore: Send + Sync {
    /// Adds a superior or replaces its settings; a new one gets its first full report queued
    /// (every station and every connector's status). Whether it is new.
    async fn put_superior(&self, superior: &Superior) -> StoreResult<bool>;

    /// Every superior, by id.
    async fn superiors(&self) -> StoreResult<Vec<Superior>>;

    /// Removes a superior with its outbox and counts; whether there was one.
    async fn remove_superior(&self, id: &str) -> StoreResult<bool>;

    /// Queues every station (`Station`) or every reported connector's status (`Status`) for a
    /// superior (a full refresh); how many items were queued or were pending already.
    async fn queue_everything(&self, id: &str, kind: ReportKind) -> StoreResult<u64>;

    /// Queues one item unless one with the same kind and key exists in any state (the daily
    /// order check is sent once per day); whether it was queued.
    async fn queue_once(
        &self,
        id: &str,
        kind: ReportKind,
        operator_id: &str,
        key: &str,
        now_ms: i64,
    ) -> StoreResult<bool>;

    /// Pending items due at `now_ms`, oldest first, at most `limit`.
    async fn due_reports(&self, id: &str, now_ms: i64, limit: i64) -> StoreResult<Vec<OutboxItem>>;

    /// When the next pending item of a superior is due, milliseconds since 1970.
    async fn next_due(&self, id: &str) -> StoreResult<Option<i64>>;

    /// Settles an attempt at `item`: delivered (only if the fact did not change meanwhile,
    /// else it stays pending and due now; `digest` then remembers what was delivered), retried
    /// later, or given up; counts the attempt. One transaction.
    async fn settle_report(
        &self,
        item: &OutboxItem,
        outcome: &ReportOutcome,
        attempt: Option<&Attempt>,
        digest: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Counts an attempt that has no outbox item (a live charge-status sample).
    async fn count_attempt(&self, id: &str, attempt: &Attempt) -> StoreResult<()>;

    /// The digest of what was last delivered of an item.
    async fn report_digest(
        &self,
        id: &str,
        kind: ReportKind,
        operator_id: &str,
        key: &str,
    ) -> StoreResult<Option<String>>;

    /// A superior's attempts by interface and answer, its backlog by kind, its last success
    /// and the lags of the latest (at most `lags`) delivered items.
    async fn delivery(&self, id: &str, lags: i64) -> StoreResult<DeliveryFigures>;

    /// Records the orders a superior disputed (a repeat replaces the reason).
    async fn record_disputes(&self, id: &str, disputes: &[DisputedOrder]) -> StoreResult<()>;

    /// The latest disputed orders of a superior, newest first.
    async fn disputes(&self, id: &str, limit: i64) -> StoreResult<Vec<DisputedOrder>>;

    /// Sessions charging now (starting, charging or stopping, no order yet) that were updated
    /// at or after `updated_since`, with their periods.
    async fn running_sessions(&self, updated_since: i64) -> StoreResult<Vec<ChargingSession>>;

    /// Sessions whose order arrived and which ended in `[from, to)`, with their periods.
    async fn orders_ended_between(&self, from: i64, to: i64) -> StoreResult<Vec<ChargingSession>>;

    /// Removes settled items (delivered or given up) settled before `before_ms`; how many.
    async fn prune_outbox(&self, before_ms: i64) -> StoreResult<u64>;
}

/// Where a siting plan run in the background stands.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanState {
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// 0..1.
    pub progress: f64,
    /// The solver's phase.
    pub phase: String,
    /// Best covered people so far (the solver's figure).
    pub objective: Option<f64>,
    pub error: Option<String>,
    /// The result (JSON), once done.
    pub result: Option<String>,
}

/// A siting plan as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRecord {
    pub id: i64,
    /// The account that asked for it.
    pub owner: String,
    /// The node that runs (or ran) it.
    pub node_id: String,
    /// The request (JSON).
    pub request: String,
    pub state: PlanState,
    pub created_at: i64,
    /// The heartbeat of a queued or running plan: its node updates it while the plan waits
    /// or runs.
    pub updated_at: i64,
}

/// Siting plans run in the background, in the database so that any node of a deployment
/// answers for any plan; each runs on the node that queued it.
#[async_trait]
pub trait PlanStore: Send + Sync {
    /// Queues `owner`'s plan (`request`, JSON) on `node` at `now`, unless `most_pending`
    /// plans are queued or running with a heartbeat at or after `alive_since`; then keeps the
    /// newest `keep` plans, removing older finished or stale ones. `Ok(id)`, or `Err(pending)`.
    async fn queue_plan(
        &self,
        owner: &str,
        node: &str,
        request: &str,
        now: i64,
        limits: PlanLimits,
    ) -> StoreResult<Result<i64, u32>>;

    /// Records a queued or running plan's state at `now` (its heartbeat); a plan that is done
    /// or failed stays as it is (a late heartbeat cannot undo its end).
    async fn update_plan(&self, id: i64, state: &PlanState, now: i64) -> StoreResult<()>;

    /// A plan, if kept.
    async fn plan(&self, id: i64) -> StoreResult<Option<PlanRecord>>;

    /// The newest plan that is done.
    async fn latest_done_plan(&self) -> StoreResult<Option<PlanRecord>>;
}

/// The bounds [`PlanStore::queue_plan`] keeps.
#[derive(Debug, Clone, Copy)]
pub struct PlanLimits {
    /// Plans queued or running at once.
    pub most_pending: u32,
    /// A queued or running plan whose heartbeat is older counts no more (its node stopped).
    pub alive_since: i64,
    /// Plans kept (the newest).
    pub keep: u32,
}

/// A whole engine: every area of the contract.
pub trait Engine:
    NetworkStore
    + OperatorStore
    + StatusStore
    + ChargingSessionStore
    + ChargeStore
    + AccountStore
    + ChargerStore
    + StatisticsStore
    + TrafficStore
    + PresenceStore
    + SignalStore
    + HealthStore
    + SuperiorStore
    + TokenStore
    + PlanStore
    + std::fmt::Debug
{
    /// The engine's name, for logs and error messages: `sqlite`, `postgres`.
    fn engine_name(&self) -> &'static str;

    /// How many group commits (of statuses, of session messages) may run side by side, each
    /// its own transaction: 1 where the engine has one writer (SQLite); more where the server
    /// runs transactions side by side and a commit is a round trip to it (PostgreSQL), so that
    /// the next group need not wait for the one being committed. The application layer keeps
    /// what must stay in order on one writer (a session's messages).
    fn group_writers(&self) -> usize {
        1
    }
}
