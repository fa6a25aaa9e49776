//! The station registry: the one place where stations enter evgrid and are looked up.
//!
//! It ties the store (the truth), the region rules (county and township of every station) and
//! the in-memory spatial index (kept current on every change) together, and it reads the import
//! formats (T/CEC StationInfos JSON, evgrid's CSV, GeoJSON). Servers and the CLI use it; it knows
//! no HTTP.

pub mod accounts;
mod batch;
pub mod chargers;
pub mod charging;
pub mod coverage;
pub mod import;
pub mod plan;
pub mod poller;
pub mod quality;
pub mod regulator;
pub mod reservations;
pub mod search;
pub mod targets;
mod tcec_backend;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use evgrid_geo::{ConnectorProfile, EntryAttrs, Filter, ReferenceData, RegionMap, SpatialIndex};
pub use evgrid_model::IndexRow;
use evgrid_model::PlacedStation;
use evgrid_model::{Category, ConnectorType, CurrentKind, LatLng, OperatorId, Power, StationKey};
use evgrid_store::{Store, StoreError};

pub use import::{ImportEvent, ImportReport, Rejection};

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

/// Registry failures.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A station as the index and the search answers know it. Its texts (API id, operator id,
/// name) share one allocation: a search answer touches one piece of memory per hit.
#[derive(Debug, Clone)]
pub struct IndexedStation {
    /// The store's row id.
    pub pk: i64,
    /// `OPERATORID:STATIONID` followed by the name; the operator id is the first 9 bytes.
    text: Arc<str>,
    id_len: usize,
    pub category: Category,
    pub location: LatLng,
}

impl IndexedStation {
    fn new(pk: i64, key: &StationKey, name: &str, category: Category, location: LatLng) -> Self {
        let id = key.to_string();
        Self {
            pk,
            id_len: id.len(),
            text: Arc::from(format!("{id}{name}")),
            category,
            location,
        }
    }

    /// The API id, `OPERATORID:STATIONID`.
    pub fn id(&self) -> &str {
        &self.text[..self.id_len]
    }

    /// The operator's id (the 9 characters before the colon).
    pub fn operator_id(&self) -> &str {
        self.id().split_once(':').map_or("", |(op, _)| op)
    }

    /// The station's name.
    pub fn name(&self) -> &str {
        &self.text[self.id_len..]
    }
}

/// The index and what it answers with. Index keys are dense slots into `stations`, so a hit is
/// one array access away from its answer.
#[derive(Debug, Default)]
struct IndexState {
    index: SpatialIndex<u32>,
    stations: Vec<IndexedStation>,
    slot_of_pk: HashMap<i64, u32>,
    operators: HashMap<OperatorId, u32>,
    /// Counts every change, so that what is computed from the stations can be cached.
    generation: u64,
}

impl IndexState {
    fn operator_number(&mut self, id: &OperatorId) -> u32 {
        let next = u32::try_from(self.operators.len()).unwrap_or(u32::MAX);
        *self.operators.entry(id.clone()).or_insert(next)
    }

    /// Turns a stored row into an index entry; the station takes its existing slot or a new one.
    fn entry(&mut self, row: IndexRow) -> (u32, LatLng, EntryAttrs) {
        let operator = self.operator_number(&row.key.operator_id);
        let mut connectors: Vec<ConnectorProfile> = row
            .connectors
            .iter()
            .map(|(t, w)| ConnectorProfile {
                connector_type: ConnectorType(*t),
                power: Power(*w),
            })
            .collect();
        connectors.sort_by_key(|c| (c.connector_type.0, c.power));
        connectors.dedup();
        let location = LatLng::new(row.lat, row.lng);
        let attrs = EntryAttrs {
            category: row.category,
            operator,
            connectors,
        };
        let station = IndexedStation::new(row.pk, &row.key, &row.name, row.category, location);
        let slot = match self.slot_of_pk.get(&row.pk) {
            Some(&slot) => {
                self.stations[slot as usize] = station;
                slot
            }
            None => {
                let slot = u32::try_from(self.stations.len()).unwrap_or(u32::MAX);
                self.stations.push(station);
                self.slot_of_pk.insert(row.pk, slot);
                slot
            }
        };
        (slot, location, attrs)
    }

    /// Adds or replaces one station; the index answers with it at once.
    fn put(&mut self, row: IndexRow) {
        self.generation += 1;
        let (slot, location, attrs) = self.entry(row);
        self.index.upsert(slot, location, attrs);
    }
}

/// What a search asks for.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub categories: Option<Vec<Category>>,
    pub operator_id: Option<OperatorId>,
    pub min_power: Option<Power>,
    pub connector_type: Option<ConnectorType>,
    pub current: Option<CurrentKind>,
}

/// One search result.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub station: IndexedStation,
    pub distance_m: f64,
}

/// The registry.
#[derive(Debug)]
pub struct Registry {
    store: Store,
    reference: Arc<ReferenceData>,
    regions: RegionMap,
    state: RwLock<IndexState>,
    traffic: Arc<quality::TrafficLog>,
    /// The first message counted, across restarts.
    traffic_since: std::sync::Mutex<Option<i64>>,
    /// Whether the task writing message counts runs.
    traffic_flushing: std::sync::atomic::AtomicBool,
    /// When this registry was opened, seconds since 1970.
    pub started_at: i64,
    /// The T/CEC `TimeStamp` window enforced on requests, seconds (`None`: not enforced).
    max_clock_skew: Option<i64>,
    /// The poller's state per operator.
    polls: std::sync::Mutex<HashMap<OperatorId, poller::PollStatus>>,
    /// Group commit of statuses from many connections.
    statuses: batch::GroupCommit<batch::StatusJob>,
    /// Group commit of protocol pushes of statuses.
    pushes: batch::GroupCommit<batch::PushJob>,
    /// Group commit of OCPP session messages (meter values, transaction events).
    sessions: batch::GroupCommit<batch::SessionJob>,
    /// Population grids and coverage reports already computed.
    coverage: coverage::CoverageCache,
    /// Siting plans run in the background.
    plans: plan::PlanJobs,
    /// Failed logins per username.
    logins: accounts::LoginLimiter,
}

impl Registry {
    /// Stores one connector status, committed together with the statuses other connections
    /// send at the same time; returns after the commit.
    pub async fn put_status(
        &self,
        operator: &OperatorId,
        record: evgrid_model::StatusRecord,
    ) -> Result<(), RegistryError> {
        let job = batch::StatusJob {
            operator: operator.clone(),
            record,
        };
        Ok(self.statuses.run(&self.store, job).await?)
    }

    /// Applies a protocol push of statuses (recorded for duplicate detection), committed
    /// together with the pushes that arrive at the same time; returns after the commit.
    pub async fn apply_status_push(
        &self,
        push: &evgrid_model::PushKey<'_>,
        statuses: Vec<evgrid_model::StatusRecord>,
    ) -> Result<bool, RegistryError> {
        Ok(self
            .pushes
            .run(&self.store, batch::PushJob::new(push, statuses))
            .await?)
    }

    /// Merges one session message (see [`Store::apply_session`]) in a transaction shared with
    /// the messages that arrive at the same time; returns after the commit.
    pub(crate) async fn apply_session_grouped(
        &self,
        push: &evgrid_model::PushKey<'_>,
        update: evgrid_model::SessionUpdate,
    ) -> Result<bool, StoreError> {
        self.sessions
            .run(
                &self.store,
                batch::SessionJob {
                    push: batch::PushJob::new(push, Vec::new()),
                    update,
                },
            )
            .await
    }

    /// Seconds after which this operator's statuses are stale: its own setting or the default.
    pub async fn stale_after(&self, id: &OperatorId) -> Result<i64, RegistryError> {
        Ok(self
            .store
            .credentials(id)
            .await?
            .and_then(|c| c.stale_after_seconds)
            .unwrap_or(DEFAULT_STALE_AFTER_SECONDS))
    }

    /// Refuses T/CEC requests whose `TimeStamp` is more than `seconds` from this clock.
    pub fn with_max_clock_skew(mut self, seconds: Option<i64>) -> Self {
        self.max_clock_skew = seconds;
        self
    }

    /// Opens the registry over a store: writes the reference regions and builds the index from
    /// every stored station.
    pub async fn open(store: Store, reference: Arc<ReferenceData>) -> Result<Self, RegistryError> {
        store
            .put_regions(&reference.counties, &reference.townships)
            .await?;
        let regions = RegionMap::new(&reference);
        let registry = Self {
            store,
            reference,
            regions,
            state: RwLock::new(IndexState::default()),
            traffic: Arc::default(),
            traffic_since: std::sync::Mutex::new(None),
            traffic_flushing: std::sync::atomic::AtomicBool::new(false),
            max_clock_skew: None,
            polls: std::sync::Mutex::default(),
            statuses: batch::GroupCommit::default(),
            pushes: batch::GroupCommit::default(),
            sessions: batch::GroupCommit::default(),
            coverage: coverage::CoverageCache::default(),
            plans: plan::PlanJobs::default(),
            logins: accounts::LoginLimiter::default(),
            started_at: evgrid_model::time::unix_now(),
        };
        registry.reload_index().await?;
        let since = registry.traffic.load(&registry.store.traffic().await?);
        *registry
            .traffic_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = since;
        Ok(registry)
    }

    /// When the first message counted in the data-quality report arrived.
    pub fn traffic_since(&self) -> Option<i64> {
        *self
            .traffic_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one protocol message for its operator's data-quality report; the counts are
    /// written to the store every few seconds by a task started on the first message.
    pub(crate) fn count_message(&self, outcome: &evgrid_tcec::platform::Outcome<'_>) {
        self.traffic.record(outcome);
        {
            let mut since = self
                .traffic_since
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if since.is_none() {
                *since = Some(evgrid_model::time::unix_now());
            }
        }
        if !self
            .traffic_flushing
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            let (traffic, store) = (self.traffic.clone(), self.store.clone());
            tokio::spawn(async move {
                let every = std::time::Duration::from_secs(quality::TRAFFIC_FLUSH_SECONDS);
                loop {
                    tokio::time::sleep(every).await;
                    let rows = traffic.take_pending();
                    if rows.is_empty() {
                        continue;
                    }
                    if let Err(e) = store.add_traffic(&rows).await {
                        tracing::warn!(error = %e, "message counts not written; kept for the next try");
                        traffic.restore_pending(rows);
                    }
                }
            });
        }
    }

    /// Writes the message counts not yet stored (at shutdown, in tests).
    pub async fn flush_message_counts(&self) -> Result<(), RegistryError> {
        let rows = self.traffic.take_pending();
        if !rows.is_empty() {
            if let Err(e) = self.store.add_traffic(&rows).await {
                self.traffic.restore_pending(rows);
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Opens the SQLite registry in a data directory.
    pub async fn open_dir(
        data_dir: &Path,
        reference: Arc<ReferenceData>,
    ) -> Result<Self, RegistryError> {
        Self::open(Store::open_sqlite_dir(data_dir).await?, reference).await
    }

    /// Rebuilds the index from the store.
    pub async fn reload_index(&self) -> Result<(), RegistryError> {
        let rows = self.store.index_rows().await?;
        self.replace_index(rows);
        Ok(())
    }

    /// Replaces the in-memory index with these rows in one build. The store is not touched:
    /// this is for benchmarks that serve synthetic points the store does not hold.
    pub fn replace_index(&self, rows: Vec<IndexRow>) {
        let mut state = IndexState::default();
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            entries.push(state.entry(row));
        }
        state.index = SpatialIndex::build(entries);
        let mut current = self.write_state();
        state.generation = current.generation + 1;
        *current = state;
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, IndexState> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, IndexState> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The store, for the queries that go to it directly (lists, details, statistics).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The reference geography.
    pub fn reference(&self) -> &ReferenceData {
        &self.reference
    }

    /// The region rules.
    pub fn regions(&self) -> &RegionMap {
        &self.regions
    }

    /// Number of stations in the index.
    pub fn station_count(&self) -> usize {
        self.read_state().index.len()
    }

    /// Whether an operator has stations in the index.
    pub fn knows_operator(&self, id: &OperatorId) -> bool {
        self.read_state().operators.contains_key(id)
    }

    /// Stores stations (one transaction) and then updates the index.
    pub async fn store_stations(
        &self,
        operators: &[evgrid_model::Operator],
        stations: Vec<evgrid_model::Station>,
    ) -> Result<Vec<i64>, RegistryError> {
        let placed: Vec<PlacedStation> = stations.into_iter().map(|s| self.place(s)).collect();
        let pks = self.store.upsert_stations(operators, &placed).await?;
        let mut state = self.write_state();
        for (p, pk) in placed.into_iter().zip(&pks) {
            let s = p.station;
            let connectors = s
                .equipment
                .iter()
                .flat_map(|e| e.connectors.iter().map(|c| (c.connector_type.0, c.power.0)))
                .collect();
            state.put(IndexRow {
                pk: *pk,
                key: StationKey {
                    operator_id: s.operator_id.clone(),
                    station_id: s.id.clone(),
                },
                name: s.name.clone(),
                category: s.category(),
                lat: s.location.lat,
                lng: s.location.lng,
                connectors,
            });
        }
        Ok(pks)
    }

    /// Where a station lies: county by boundary, township by nearest centre in the county.
    pub fn place(&self, station: evgrid_model::Station) -> PlacedStation {
        let placement = self.regions.locate(station.location);
        PlacedStation {
            county_code: placement.county_code,
            township_code: placement.township_code,
            township_method: placement.township_method.map(|m| match m {
                evgrid_geo::TownshipMethod::Polygon => "polygon",
                evgrid_geo::TownshipMethod::NearestCentre => "nearest_centre",
            }),
            inside_city: placement.inside_city,
            station,
        }
    }

    /// The `k` nearest stations matching the filter, within `radius_m` if given.
    pub fn nearest(
        &self,
        center: LatLng,
        k: usize,
        radius_m: Option<f64>,
        filter: &SearchFilter,
    ) -> Vec<SearchHit> {
        self.nearest_with(center, k, radius_m, filter, |hits| {
            hits.iter()
                .map(|(s, d)| SearchHit {
                    station: (*s).clone(),
                    distance_m: *d,
                })
                .collect()
        })
    }

    /// Like [`Registry::nearest`], but hands the hits to `answer` while the index is read, so
    /// that an answer can be built without copying anything (the HTTP search does this).
    pub fn nearest_with<R>(
        &self,
        center: LatLng,
        k: usize,
        radius_m: Option<f64>,
        filter: &SearchFilter,
        answer: impl FnOnce(&[(&IndexedStation, f64)]) -> R,
    ) -> R {
        let state = self.read_state();
        let operator = match &filter.operator_id {
            Some(id) => match state.operators.get(id) {
                Some(n) => Some(*n),
                None => return answer(&[]),
            },
            None => None,
        };
        let index_filter = Filter {
            categories: filter.categories.clone(),
            operator,
            min_power: filter.min_power,
            connector_type: filter.connector_type,
            current: filter.current,
        };
        let hits: Vec<(&IndexedStation, f64)> = state
            .index
            .nearest(center, k, radius_m, &index_filter)
            .into_iter()
            .filter_map(|h| {
                state
                    .stations
                    .get(h.key as usize)
                    .map(|s| (s, h.distance_m))
            })
            .collect();
        answer(&hits)
    }
}

#[cfg(test)]
mod tests;
