//! Group commit of connector statuses: many connections' statuses written in one transaction,
//! each caller answered only after that commit. A caller waits at most for the transaction in
//! progress plus its own; under load, one fsync serves hundreds of messages.

use std::sync::OnceLock;

use evgrid_model::OperatorId;
use evgrid_store::{StatusRecord, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Most statuses in one transaction.
const MAX_BATCH: usize = 2000;

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
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
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
