//! Group commit of connector statuses: many connections' statuses written in one transaction,
//! each caller answered only after that commit. A caller waits at most for the transaction in
//! progress plus its own; under load, one fsync serves hundreds of messages. A batch that starts
//! small waits up to 6 ms for company before it commits: most of the server's CPU per message
//! at low rates is the hand-off to the database thread and the fsync, not the message.
//! `evgrid bench ocpp`, 10,000 chargers (2 cores shared with the load generator), CPU per
//! message with no wait / 2 ms / 6 ms: every 10 s 354 / 150 / 105 µs (p50 5 ms, p99 under 30 ms),
//! every 1 s 77 / 53 / 37 µs.

use std::sync::OnceLock;

use evgrid_model::OperatorId;
use evgrid_store::{StatusRecord, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Most statuses in one transaction.
const MAX_BATCH: usize = 2000;

/// How long a batch waits for company after its first status before it commits (a charger
/// waits for its answer up to its timeout, 30 s or more; 6 ms of it buys a third of the CPU).
const LINGER: std::time::Duration = std::time::Duration::from_millis(6);
/// A batch this large commits without waiting longer (the queue is busy and fills it anyway).
const LINGER_BELOW: usize = 64;

type Job = (
    OperatorId,
    StatusRecord,
    oneshot::Sender<Result<(), String>>,
);

/// The status writer: started on first use inside the runtime.
#[derive(Debug, Default)]
pub(crate) struct StatusBatcher {
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl StatusBatcher {
    /// Writes one status with others waiting at the same time; returns after the commit.
    pub(crate) async fn put(
        &self,
        store: &Store,
        operator: &OperatorId,
        record: StatusRecord,
    ) -> Result<(), StoreError> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
            tokio::spawn(write_batches(store.clone(), rx));
            tx
        });
        let (done, result) = oneshot::channel();
        queue
            .send((operator.clone(), record, done))
            .await
            .map_err(|_| StoreError::Unknown("the status writer stopped".into()))?;
        result
            .await
            .map_err(|_| StoreError::Unknown("the status writer stopped".into()))?
            .map_err(StoreError::Unknown)
    }
}

async fn write_batches(store: Store, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let until = tokio::time::Instant::now() + LINGER;
        while jobs.len() < MAX_BATCH {
            // Wait for company only while the batch is small: a busy queue fills it anyway.
            let next = if jobs.len() < LINGER_BELOW {
                tokio::time::timeout_at(until, rx.recv())
                    .await
                    .ok()
                    .flatten()
            } else {
                rx.try_recv().ok()
            };
            match next {
                Some(job) => jobs.push(job),
                None => break,
            }
        }
        let statuses: Vec<(OperatorId, StatusRecord)> = jobs
            .iter()
            .map(|(op, st, _)| (op.clone(), st.clone()))
            .collect();
        let outcome = store
            .put_statuses_of_many(&statuses)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        if let Err(e) = &outcome {
            tracing::error!(error = %e, statuses = jobs.len(), "status batch not stored");
        }
        for (_, _, done) in jobs {
            let _ = done.send(outcome.clone());
        }
    }
}

/// One protocol push of statuses waiting for its group commit.
struct PushJob {
    operator_id: String,
    interface: String,
    time_stamp: String,
    seq: String,
    statuses: Vec<StatusRecord>,
    done: oneshot::Sender<Result<bool, StoreError>>,
}

/// Group commit of status pushes (T/CEC): each push keeps its own outcome (applied, duplicate,
/// or refused for an unknown connector) inside one transaction shared with the pushes that
/// arrive at the same time.
#[derive(Debug, Default)]
pub(crate) struct PushBatcher {
    queue: OnceLock<mpsc::Sender<PushJob>>,
}

impl PushBatcher {
    /// Applies one push with others waiting at the same time; returns after the commit.
    pub(crate) async fn apply(
        &self,
        store: &Store,
        push: &evgrid_store::PushKey<'_>,
        statuses: Vec<StatusRecord>,
    ) -> Result<bool, StoreError> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(1024);
            tokio::spawn(write_pushes(store.clone(), rx));
            tx
        });
        let (done, result) = oneshot::channel();
        let job = PushJob {
            operator_id: push.operator_id.to_owned(),
            interface: push.interface.to_owned(),
            time_stamp: push.time_stamp.to_owned(),
            seq: push.seq.to_owned(),
            statuses,
            done,
        };
        queue
            .send(job)
            .await
            .map_err(|_| StoreError::Batch("the status writer stopped".into()))?;
        result
            .await
            .map_err(|_| StoreError::Batch("the status writer stopped".into()))?
    }
}

async fn write_pushes(store: Store, mut rx: mpsc::Receiver<PushJob>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let mut rows = jobs[0].statuses.len();
        while rows < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => {
                    rows += job.statuses.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let pushes: Vec<(evgrid_store::PushKey<'_>, &[StatusRecord])> = jobs
            .iter()
            .map(|j| {
                (
                    evgrid_store::PushKey {
                        operator_id: &j.operator_id,
                        interface: &j.interface,
                        time_stamp: &j.time_stamp,
                        seq: &j.seq,
                    },
                    j.statuses.as_slice(),
                )
            })
            .collect();
        let outcome = store.apply_statuses_many(&pushes).await;
        drop(pushes);
        match outcome {
            Ok(results) => {
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.done.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, pushes = jobs.len(), "status pushes not stored");
                let message = e.to_string();
                for job in jobs {
                    let _ = job.done.send(Err(StoreError::Batch(message.clone())));
                }
            }
        }
    }
}
