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
    /// How long protocol logs are kept.
    retention: crate::Retention,
    /// Seals secrets and tokens before they are stored.
    /// Set at opening or once right after it (the binary reads its key once the database
    /// answered).
    sealer: std::sync::OnceLock<crate::secrets::Sealer>,
    /// The poller's state per operator.
    polls: Mutex<HashMap<OperatorId, poller::PollStatus>>,
    /// This node's id where several nodes share the database: each operator's poller then
    /// runs on the one node holding its lease.
    node: std::sync::OnceLock<String>,
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
    /// Status group commits: groups committed and the statuses in them.
    pub(crate) fn status_group_counts(&self) -> (u64, u64) {
        self.statuses.counts()
    }

    /// T/CEC status push group commits: groups committed and the pushes in them.
    pub(crate) fn push_group_counts(&self) -> (u64, u64) {
        self.pushes.counts()
    }

    /// Every operator's T/CEC messages since counting began: (operator, interface or "", Ret,
    /// count): accepted by interface (Ret 0), refused by Ret.
    pub fn message_totals(&self) -> Vec<(String, String, i32, u64)> {
        self.traffic.totals()
    }

    /// Runs each operator's poller only while this node holds its lease (several nodes on
    /// one database); set once when the node joins the others.
    pub fn set_node(&self, node: &str) {
        let _ = self.node.set(node.to_owned());
    }

    /// This node's id once it joined the others (several nodes on one database).
    pub(crate) fn node(&self) -> Option<String> {
        self.node.get().cloned()
    }

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
            retention: settings.retention,
            sealer: settings
                .sealer
                .clone()
                .map(std::sync::OnceLock::from)
                .unwrap_or_default(),
            polls: Mutex::default(),
            node: std::sync::OnceLock::new(),
            statuses: GroupCommit::default(),
            pushes: GroupCommit::default(),
            recent_credentials: recent::Recent::default(),
            recent_token_owners: recent::Recent::default(),
        })
    }

    /// Removes what retention no longer keeps (push keys, status history, expired tokens and
    /// logins), as of `now`.
    pub async fn prune(&self, now: i64) -> Result<evgrid_store::Pruned, AppError> {
        Ok(self
            .store
            .prune(&evgrid_store::PruneBefore {
                push_keys: now - self.retention.push_keys,
                status_events: now - self.retention.status_history,
                now,
            })
            .await?)
    }

    /// Prunes now and every hour after, in the background.
    pub fn keep_pruning(self: &Arc<Self>) {
        let live = self.clone();
        tokio::spawn(async move {
            loop {
                match live.prune(evgrid_model::time::unix_now()).await {
                    Ok(p) => tracing::info!(
                        push_keys = p.push_keys,
                        status_events = p.status_events,
                        expired_tokens = p.expired_tokens,
                        expired_logins = p.expired_logins,
                        "retention: pruned"
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "retention: not pruned; trying again in an hour")
                    }
                }
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            }
        });
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
        Ok(self
            .store
            .put_credentials(name, &self.sealed(credentials))
            .await?)
    }

    /// One operator's platform credentials.
    pub async fn operator_credentials(
        &self,
        id: &OperatorId,
    ) -> Result<Option<OperatorCredentials>, AppError> {
        self.store
            .credentials(id)
            .await?
            .map(|c| self.opened(c))
            .transpose()
    }

    /// Every registered operator platform's credentials.
    pub async fn all_operator_credentials(&self) -> Result<Vec<OperatorCredentials>, AppError> {
        self.store
            .all_credentials()
            .await?
            .into_iter()
            .map(|c| self.opened(c))
            .collect()
    }

    /// Gives the sealer of secrets, when the application was opened without one; refused once
    /// one is set (secrets sealed under one key must not meet another).
    pub fn set_sealer(&self, sealer: crate::secrets::Sealer) -> Result<(), AppError> {
        self.sealer
            .set(sealer)
            .map_err(|_| AppError::Invalid("the secret key is set already".into()))
    }

    /// `text` as it is stored: sealed when there is a sealer (as it is without one).
    pub(crate) fn seal(&self, text: &str) -> String {
        self.sealer
            .get()
            .map_or_else(|| text.to_owned(), |s| s.seal(text))
    }

    /// The plain text of a stored value.
    pub(crate) fn unseal(&self, stored: &str) -> Result<String, AppError> {
        match self.sealer.get() {
            Some(s) => Ok(s.open(stored)?),
            None if stored.starts_with(crate::secrets::SEALED_PREFIX) => {
                Err(crate::secrets::SecretError::WrongKey.into())
            }
            None => Ok(stored.to_owned()),
        }
    }

    /// Credentials with their secrets sealed, as they are stored.
    fn sealed(&self, c: &OperatorCredentials) -> OperatorCredentials {
        OperatorCredentials {
            operator_secret: self.seal(&c.operator_secret),
            data_secret: self.seal(&c.data_secret),
            data_secret_iv: self.seal(&c.data_secret_iv),
            sig_secret: self.seal(&c.sig_secret),
            platform_secret: c.platform_secret.as_deref().map(|s| self.seal(s)),
            ..c.clone()
        }
    }

    /// Stored credentials with their secrets opened.
    fn opened(&self, c: OperatorCredentials) -> Result<OperatorCredentials, AppError> {
        Ok(OperatorCredentials {
            operator_secret: self.unseal(&c.operator_secret)?,
            data_secret: self.unseal(&c.data_secret)?,
            data_secret_iv: self.unseal(&c.data_secret_iv)?,
            sig_secret: self.unseal(&c.sig_secret)?,
            platform_secret: c
                .platform_secret
                .as_deref()
                .map(|s| self.unseal(s))
                .transpose()?,
            ..c
        })
    }

    /// Seals every operator's secrets again with this service's sealer (after a key rotation:
    /// it seals with the new key and opens with the old ones too); tokens issued to operators
    /// are dropped (they ask for new ones). Returns how many operators' secrets were sealed
    /// again.
    pub async fn reseal_all(&self) -> Result<usize, AppError> {
        if self.sealer.get().is_none() {
            return Err(AppError::Invalid("no secret key to seal with".into()));
        }
        let names: HashMap<OperatorId, String> = self
            .store
            .operators()
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        let stored = self.store.all_credentials().await?;
        // Everything is opened first: a secret that opens with neither key stops the rotation
        // before anything is written.
        let plain = stored
            .into_iter()
            .map(|c| self.opened(c))
            .collect::<Result<Vec<_>, _>>()?;
        for c in &plain {
            let name = names
                .get(&c.operator_id)
                .cloned()
                .unwrap_or_else(|| c.operator_id.to_string());
            self.store.put_credentials(&name, &self.sealed(c)).await?;
            self.recent_credentials.forget(&c.operator_id);
        }
        self.store.drop_tokens().await?;
        Ok(plain.len())
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
