//! Data quality per operator: what its platform sent (accepted, refused by `Ret`, latency from
//! its `TimeStamp` to receipt, last seen) and what its data looks like (unreported and stale
//! connectors, stations lacking required fields, coordinate anomalies, stations that duplicate
//! another operator's).
//!
//! Message counts live in memory since the server started; everything else is computed from
//! the store and the index when asked.

use evgrid_model::time::unix_now;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use evgrid_model::StationListFilter;
use evgrid_model::{Category, LatLng, OperatorId};
use evgrid_tcec::platform::Outcome;
use serde::Serialize;

use super::Live;
use crate::{AppError, SearchFilter};

/// Latency samples kept per operator.
const LATENCY_SAMPLES: usize = 10_000;
/// Recent refusals kept per operator.
const RECENT_REFUSALS: usize = 20;
/// Two stations of different operators closer than this are reported as a likely duplicate.
pub const DUPLICATE_WITHIN_M: f64 = 30.0;

/// A recent refusal.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    pub at: i64,
    pub interface: String,
    pub ret: i32,
    pub msg: String,
}

#[derive(Debug, Default)]
struct Traffic {
    accepted: BTreeMap<String, u64>,
    refused: BTreeMap<i32, u64>,
    recent: VecDeque<Refused>,
    latencies_s: VecDeque<i64>,
    last_seen: Option<i64>,
}

/// Message traffic of every operator: totals (loaded from the store at start), recent refusals
/// and latencies (since start), and the counts not yet written to the store.
#[derive(Debug, Default)]
pub(crate) struct TrafficLog(Mutex<HashMap<OperatorId, Traffic>>, Mutex<Pending>);

/// Counts since the last flush: (operator, interface, ret) → (count, first, last).
type Pending = HashMap<(String, String, i32), (i64, i64, i64)>;

/// Seconds between two writes of the message counts to the store.
pub(crate) const TRAFFIC_FLUSH_SECONDS: u64 = 10;

impl TrafficLog {
    /// (operator, interface, Ret, count): accepted messages by interface (Ret 0), refused ones
    /// by Ret (interface "").
    pub(crate) fn totals(&self) -> Vec<(String, String, i32, u64)> {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        for (operator, t) in map.iter() {
            for (interface, n) in &t.accepted {
                out.push((operator.to_string(), interface.clone(), 0, *n));
            }
            for (ret, n) in &t.refused {
                out.push((operator.to_string(), String::new(), *ret, *n));
            }
        }
        out.sort();
        out
    }

    /// Starts from the totals in the store; returns the earliest message time, if any.
    pub(crate) fn load(&self, rows: &[evgrid_model::TrafficRow]) -> Option<i64> {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut since: Option<i64> = None;
        for r in rows {
            let Ok(id) = OperatorId::new(&r.operator_id) else {
                continue;
            };
            let t = map.entry(id).or_default();
            let n = u64::try_from(r.count).unwrap_or(0);
            if r.ret == 0 {
                *t.accepted.entry(r.interface.clone()).or_default() += n;
            } else {
                *t.refused.entry(r.ret).or_default() += n;
            }
            t.last_seen = t.last_seen.max(Some(r.last_at));
            since = Some(since.map_or(r.first_at, |s| s.min(r.first_at)));
        }
        since
    }

    /// The counts since the last call, to be written to the store.
    pub(crate) fn take_pending(&self) -> Vec<evgrid_model::TrafficRow> {
        let pending = std::mem::take(
            &mut *self
                .1
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        pending
            .into_iter()
            .map(
                |((operator_id, interface, ret), (count, first_at, last_at))| {
                    evgrid_model::TrafficRow {
                        operator_id,
                        interface,
                        ret,
                        count,
                        first_at,
                        last_at,
                    }
                },
            )
            .collect()
    }

    /// Puts counts back after a failed write.
    pub(crate) fn restore_pending(&self, rows: Vec<evgrid_model::TrafficRow>) {
        let mut pending = self
            .1
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for r in rows {
            let e = pending
                .entry((r.operator_id, r.interface, r.ret))
                .or_insert((0, r.first_at, r.last_at));
            e.0 += r.count;
            e.1 = e.1.min(r.first_at);
            e.2 = e.2.max(r.last_at);
        }
    }

    pub(crate) fn record(&self, o: &Outcome<'_>) {
        let at = unix_now();
        {
            let mut pending = self
                .1
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let e = pending
                .entry((o.operator_id.to_string(), o.interface.to_owned(), o.ret))
                .or_insert((0, at, at));
            e.0 += 1;
            e.2 = at;
        }
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let t = map.entry(o.operator_id.clone()).or_default();
        t.last_seen = Some(at);
        if o.ret == 0 {
            *t.accepted.entry(o.interface.to_owned()).or_default() += 1;
        } else {
            *t.refused.entry(o.ret).or_default() += 1;
            if t.recent.len() == RECENT_REFUSALS {
                t.recent.pop_front();
            }
            t.recent.push_back(Refused {
                at,
                interface: o.interface.to_owned(),
                ret: o.ret,
                msg: o.msg.to_owned(),
            });
        }
        if let Some(sent) = o.sent_at {
            if t.latencies_s.len() == LATENCY_SAMPLES {
                t.latencies_s.pop_front();
            }
            t.latencies_s.push_back(at - sent);
        }
    }
}

/// Messages of one operator: counts since `since` (kept across restarts, written every 10 s),
/// recent refusals and latencies since the server started.
#[derive(Debug, Clone, Serialize)]
pub struct Messages {
    /// Accepted requests by interface.
    pub accepted: BTreeMap<String, u64>,
    /// Refused requests by `Ret` code (4001 signature, 4002 token, 4003 envelope, 4004 data, 500).
    pub refused: BTreeMap<String, u64>,
    pub recent_refusals: Vec<Refused>,
    /// Seconds from the request's TimeStamp to its receipt (negative: the operator's clock runs ahead).
    pub latency_s_p50: Option<i64>,
    pub latency_s_p99: Option<i64>,
    pub latency_samples: usize,
    /// Last request, seconds since 1970.
    pub last_seen: Option<i64>,
}

/// The state of one operator's connectors.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorQuality {
    /// Seconds after which a status is stale for this operator.
    pub stale_after_seconds: i64,
    pub total: i64,
    /// Never reported a status.
    pub unreported: i64,
    /// Reported, but longer ago than the push interval.
    pub stale: i64,
}

/// The state of one operator's stations.
#[derive(Debug, Clone, Serialize)]
pub struct StationQuality {
    pub total: usize,
    /// Without address, service telephone or area code.
    pub missing_required_fields: i64,
    pub outside_city: usize,
    /// Outside the city, but inside it with latitude and longitude swapped.
    pub swapped_coordinates: usize,
    /// Public or dedicated stations within 30 m of another operator's.
    pub duplicates_across_operators: usize,
    /// Up to 20 example ids for each anomaly.
    pub examples: BTreeMap<String, Vec<String>>,
}

/// An operator's data-quality report.
#[derive(Debug, Clone, Serialize)]
pub struct DataQuality {
    pub operator_id: String,
    pub name: String,
    /// When the message counts started (the first message recorded), seconds since 1970.
    pub since: i64,
    pub messages: Messages,
    pub connectors: ConnectorQuality,
    pub stations: StationQuality,
    /// Evgrid's pulls from the operator's platform, when it has a base URL.
    pub pull: Option<crate::live::poller::PollStatus>,
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(i).copied()
}

impl Live {
    /// The data-quality report of an operator, or `None` if it is unknown.
    pub async fn data_quality(&self, id: &OperatorId) -> Result<Option<DataQuality>, AppError> {
        let operator = self
            .store
            .operators()
            .await?
            .into_iter()
            .find(|o| &o.id == id);
        match operator {
            Some(o) => Ok(Some(self.quality_of(o).await?)),
            None => Ok(None),
        }
    }

    /// The data-quality report of every operator.
    pub async fn all_data_quality(&self) -> Result<Vec<DataQuality>, AppError> {
        let mut out = Vec::new();
        for o in self.store.operators().await? {
            out.push(self.quality_of(o).await?);
        }
        Ok(out)
    }

    /// The report of a known operator.
    async fn quality_of(&self, operator: evgrid_model::Operator) -> Result<DataQuality, AppError> {
        let id = &operator.id;
        let store = &self.store;
        let stale_after_s = self.stale_after(id).await?;
        let messages = {
            let map = self
                .traffic
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let t = map.get(id);
            let mut lat: Vec<i64> = t
                .map(|t| t.latencies_s.iter().copied().collect())
                .unwrap_or_default();
            lat.sort_unstable();
            Messages {
                accepted: t.map(|t| t.accepted.clone()).unwrap_or_default(),
                refused: t
                    .map(|t| t.refused.iter().map(|(k, v)| (k.to_string(), *v)).collect())
                    .unwrap_or_default(),
                recent_refusals: t
                    .map(|t| t.recent.iter().cloned().collect())
                    .unwrap_or_default(),
                latency_s_p50: percentile(&lat, 0.5),
                latency_s_p99: percentile(&lat, 0.99),
                latency_samples: lat.len(),
                last_seen: t.and_then(|t| t.last_seen),
            }
        };
        let (total, reported, stale) = store
            .operator_connector_status(id, unix_now() - stale_after_s)
            .await?;
        let filter = StationListFilter {
            operator_id: Some(id.to_string()),
            ..StationListFilter::default()
        };
        let (stations, _) = store.list_stations(&filter, 0, i64::MAX).await?;
        let mut examples: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut note = |kind: &str, id: String| {
            let list = examples.entry(kind.to_owned()).or_default();
            if list.len() < 20 {
                list.push(id);
            }
        };
        let (mut outside, mut swapped, mut duplicates) = (0, 0, 0);
        for s in &stations {
            if !s.inside_city {
                outside += 1;
                note("outside_city", s.key.to_string());
                if self.network.regions().contains(LatLng::new(s.lng, s.lat)) {
                    swapped += 1;
                    note("swapped_coordinates", s.key.to_string());
                }
            }
            if s.category != Category::Private {
                let nearby = self.network.nearest(
                    LatLng::new(s.lat, s.lng),
                    8,
                    Some(DUPLICATE_WITHIN_M),
                    &SearchFilter::default(),
                );
                if nearby.iter().any(|h| {
                    h.station.operator_id() != id.as_str()
                        && h.station.category != Category::Private
                }) {
                    duplicates += 1;
                    note("duplicates_across_operators", s.key.to_string());
                }
            }
        }
        Ok(DataQuality {
            operator_id: id.to_string(),
            name: operator.name.clone(),
            since: self.traffic_since().unwrap_or(self.started_at),
            messages,
            connectors: ConnectorQuality {
                stale_after_seconds: stale_after_s,
                total,
                unreported: total - reported,
                stale,
            },
            stations: StationQuality {
                total: stations.len(),
                missing_required_fields: store.stations_missing_fields(id).await?,
                outside_city: outside,
                swapped_coordinates: swapped,
                duplicates_across_operators: duplicates,
                examples,
            },
            pull: self.poll_status(id),
        })
    }
}
