//! The network: every station of every operator, where it lies (county, township), and the
//! in-memory spatial index kept current with the store; station lookups, lists and region
//! counts; imports of operators' station files; drivers' searches.

pub mod import;
pub mod search;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use evgrid_geo::{ConnectorProfile, EntryAttrs, Filter, ReferenceData, RegionMap, SpatialIndex};
use evgrid_model::{
    Category, ConnectorType, Counts, CurrentKind, IndexRow, LatLng, Operator, OperatorId,
    PlacedStation, Power, RegionCounts, StationKey, StationListFilter, StationRecord,
    StationSummary, StatusRecord,
};
use evgrid_store::Store;

use crate::AppError;

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

/// The network of stations.
#[derive(Debug)]
pub struct Network {
    store: Store,
    reference: Arc<ReferenceData>,
    regions: RegionMap,
    state: RwLock<IndexState>,
    /// This process's name on the city's channel: stations it stores are announced there so
    /// that the nodes sharing the database reload their indexes (its own announcements it
    /// skips).
    origin: String,
}

impl Network {
    /// Opens the network over a store: writes the reference regions and builds the index from
    /// every stored station.
    pub(crate) async fn open(
        store: Store,
        reference: Arc<ReferenceData>,
    ) -> Result<Self, AppError> {
        store
            .put_regions(&reference.counties, &reference.townships)
            .await?;
        let network = Self {
            regions: RegionMap::new(&reference),
            store,
            reference,
            state: RwLock::new(IndexState::default()),
            origin: crate::random_hex(8).unwrap_or_else(|_| "unnamed".to_owned()),
        };
        network.reload_index().await?;
        Ok(network)
    }

    /// Rebuilds the index from the store.
    pub async fn reload_index(&self) -> Result<(), AppError> {
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
    ) -> Result<Vec<i64>, AppError> {
        let placed: Vec<PlacedStation> = stations.into_iter().map(|s| self.place(s)).collect();
        let pks = self.store.upsert_stations(operators, &placed).await?;
        {
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
        }
        if self.store.carries_signals() {
            // The other nodes (and a command-line import's) reload their indexes.
            let signal = crate::cluster::stations_stored(&self.origin);
            if let Err(e) = self.store.signal(crate::cluster::CITY, &signal).await {
                tracing::warn!(error = %e, "announcing stored stations to the other nodes");
            }
        }
        Ok(pks)
    }

    /// This process's name on the city's channel.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
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

    /// The public stations, with the index generation they were read at (what is computed
    /// from them can be cached by it).
    pub fn public_places(&self) -> (u64, Vec<evgrid_geo::coverage::CoveragePlace>) {
        let state = self.read_state();
        let places = state
            .stations
            .iter()
            .filter(|s| s.category == Category::Public)
            .map(|s| evgrid_geo::coverage::CoveragePlace {
                id: s.id().to_owned(),
                name: s.name().to_owned(),
                location: s.location,
            })
            .collect();
        (state.generation, places)
    }

    /// A page of stations (ordered by operator and station id) and how many match.
    pub async fn list_stations(
        &self,
        filter: &StationListFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<StationSummary>, i64), AppError> {
        Ok(self.store.list_stations(filter, offset, limit).await?)
    }

    /// Summaries of the stations with these row ids.
    pub async fn summaries(&self, pks: &[i64]) -> Result<Vec<StationSummary>, AppError> {
        Ok(self.store.summaries(pks).await?)
    }

    /// One station with everything stored about it.
    pub async fn station(&self, key: &StationKey) -> Result<Option<StationRecord>, AppError> {
        Ok(self.store.station(key).await?)
    }

    /// The latest status of each reported connector of a station.
    pub async fn station_statuses(&self, key: &StationKey) -> Result<Vec<StatusRecord>, AppError> {
        Ok(self.store.station_statuses(key).await?)
    }

    /// Every connector id of an operator.
    pub async fn connector_ids(&self, id: &OperatorId) -> Result<Vec<String>, AppError> {
        Ok(self.store.connector_ids(id).await?)
    }

    /// Every operator known to the registry.
    pub async fn operators(&self) -> Result<Vec<Operator>, AppError> {
        Ok(self.store.operators().await?)
    }

    /// The regions as stored (counties and townships, by code).
    pub async fn stored_regions(
        &self,
    ) -> Result<(Vec<evgrid_model::County>, Vec<evgrid_model::Township>), AppError> {
        Ok(self.store.regions().await?)
    }

    /// Counts by category for the city, each county and each township.
    pub async fn region_counts(&self) -> Result<RegionCounts, AppError> {
        Ok(self.store.region_counts().await?)
    }

    /// A fingerprint of everything stored about stations (row counts and a checksum), to show
    /// that a rejected import changed nothing.
    pub async fn fingerprint(&self) -> Result<String, AppError> {
        Ok(self.store.fingerprint().await?)
    }
}

/// The counts of a county (or of stations outside every county with `None`).
pub fn counts_of<'a>(counts: &'a RegionCounts, county: Option<&str>) -> Option<&'a Counts> {
    counts
        .by_county
        .iter()
        .find(|(c, _)| c.as_deref() == county)
        .map(|(_, c)| c)
}
