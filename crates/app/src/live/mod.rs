//! Live: the operators' platforms and what they report. Their credentials and the tokens evgrid
//! issues them; the T/CEC platform side's storage (statuses, pushed stations, charging
//! notifications, order checks), the pull of every platform on a schedule (`poller`), the
//! live status of every connector (pushed, pulled, or reported by chargers, group-committed),
//! and each operator's data quality (`quality`).

pub mod poller;
pub mod quality;
mod recent;
mod tcec;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use evgrid_model::{OperatorCredentials, OperatorId, PushId, StatusRecord};
use evgrid_store::{Store, StoreError};

use crate::batch::{GroupCommit, PushJob, StatusJob};
use crate::network::Network;
use crate::{AppError, Settings, DEFAULT_STALE_AFTER_SECONDS};

/// Operators' platforms and live status.
#[derive(Debug)]
pub struct Live {
    store: Store,
    network: Arc<Network>,
    /// Message counts per operator, written to the store every few seconds.
    traffic: Arc<quality::TrafficLog>,
    /// The first message counted, across restarts.
    traffic_since: Mutex<Option<i64>>,
    /// Whether the task writing message counts runs.
    traffic_flushing: AtomicBool,
    /// When this service was opened, seconds since 1970.
    started_at: i64,
    /// The T/CEC `TimeStamp` window enforced on requests, seconds (`None`: not enforced).
    max_clock_skew: Option<i64>,
    /// The poller's state per operator.
    polls: Mutex<HashMap<OperatorId, poller::PollStatus>>,
    /// Group commit of statuses from many connections.
    statuses: GroupCommit<StatusJob>,
    /// Group commit of protocol pushes of statuses.
    pushes: GroupCommit<PushJob>,
    /// Operators' credentials read in the last second (every push needs them).
    recent_credentials: recent::Recent<OperatorId, OperatorCredentials>,
    /// Tokens' owners read in the last second (every push needs its token's).
    recent_token_owners: recent::Recent<String, OperatorId>,
}

impl Live {
    /// Opens the service: the message counts so far are loaded from the store.
    pub(crate) async fn open(
        store: Store,
        network: Arc<Network>,
        settings: &Settings,
    ) -> Result<Self, AppError> {
        let traffic = Arc::new(quality::TrafficLog::default());
        let since = traffic.load(&store.traffic().await?);
        Ok(Self {
            store,
            network,
            traffic,
            traffic_since: Mutex::new(since),
            traffic_flushing: AtomicBool::new(false),
            started_at: evgrid_model::time::unix_now(),
            max_clock_skew: settings.max_clock_skew,
            polls: Mutex::default(),
            statuses: GroupCommit::default(),
            pushes: GroupCommit::default(),
            recent_credentials: recent::Recent::default(),
            recent_token_owners: recent::Recent::default(),
        })
    }

    /// Stores one connector status, committed together with the statuses other connections
    /// send at the same time; returns after the commit.
    pub async fn put_status(
        &self,
        operator: &OperatorId,
        record: StatusRecord,
    ) -> Result<(), StoreError> {
        let job = StatusJob {
            operator: operator.clone(),
            record,
        };
        self.statuses.run(&self.store, job).await
    }

    /// Applies a protocol push of statuses (recorded for duplicate detection), committed
    /// together with the pushes that arrive at the same time; returns after the commit.
    /// `false`: the push was applied before.
    pub async fn apply_status_push(
        &self,
        push: &PushId,
        statuses: Vec<StatusRecord>,
    ) -> Result<bool, StoreError> {
        let job = PushJob {
            push: push.clone(),
            statuses,
        };
        self.pushes.run(&self.store, job).await
    }

    /// Seconds after which this operator's statuses are stale: its own setting or the default.
    pub async fn stale_after(&self, id: &OperatorId) -> Result<i64, AppError> {
        Ok(self
            .store
            .credentials(id)
            .await?
            .and_then(|c| c.stale_after_seconds)
            .unwrap_or(DEFAULT_STALE_AFTER_SECONDS))
    }

    /// Every connector's live status by name (`unknown` for never reported) and how many of
    /// the reported are stale at `now`.
    pub async fn status_counts(&self, now: i64) -> Result<(Vec<(String, i64)>, i64), AppError> {
        Ok(self
            .store
            .status_counts(now, DEFAULT_STALE_AFTER_SECONDS)
            .await?)
    }

    /// The latest status of every reported connector of an operator.
    pub async fn operator_statuses(&self, id: &OperatorId) -> Result<Vec<StatusRecord>, AppError> {
        Ok(self.store.operator_statuses(id).await?)
    }

    /// Registers an operator's platform (creating or renaming the operator) or replaces its
    /// credentials, recording the rotation; credentials T/CEC cannot use are refused.
    pub async fn register_operator(
        &self,
        name: &str,
        credentials: &OperatorCredentials,
    ) -> Result<(), AppError> {
        evgrid_tcec::credentials::check(credentials)
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        self.recent_credentials.forget(&credentials.operator_id);
        Ok(self.store.put_credentials(name, credentials).await?)
    }

    /// One operator's platform credentials.
    pub async fn operator_credentials(
        &self,
        id: &OperatorId,
    ) -> Result<Option<OperatorCredentials>, AppError> {
        Ok(self.store.credentials(id).await?)
    }

    /// Every registered operator platform's credentials.
    pub async fn all_operator_credentials(&self) -> Result<Vec<OperatorCredentials>, AppError> {
        Ok(self.store.all_credentials().await?)
    }

    /// Removes an operator platform's credentials (its stations stay); whether there were any.
    pub async fn remove_operator(&self, id: &OperatorId) -> Result<bool, AppError> {
        self.recent_credentials.forget(id);
        Ok(self.store.remove_credentials(id).await?)
    }

    /// When the first message counted in the data-quality report arrived.
    pub fn traffic_since(&self) -> Option<i64> {
        *self
            .traffic_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one protocol message for its operator's data-quality report; the counts are
    /// written to the store every few seconds by a task started on the first message.
    pub(crate) fn count_message(&self, outcome: &evgrid_tcec::platform::Outcome<'_>) {
        self.traffic.record(outcome);
        {
            let mut since = self
                .traffic_since
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if since.is_none() {
                *since = Some(evgrid_model::time::unix_now());
            }
        }
        if !self.traffic_flushing.swap(true, Ordering::AcqRel) {
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
    pub async fn flush_message_counts(&self) -> Result<(), AppError> {
        let rows = self.traffic.take_pending();
        if !rows.is_empty() {
            if let Err(e) = self.store.add_traffic(&rows).await {
                self.traffic.restore_pending(rows);
                return Err(e.into());
            }
        }
        Ok(())
    }
}
