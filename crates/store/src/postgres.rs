//! The PostgreSQL engine, for everything larger than one machine: several evgrid nodes share
//! one database server that the city's IT team backs up and monitors. Commits are synchronous
//! (`synchronous_commit = on`), so "stored" means on the server's disk; sessions run in UTC.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::StoreError;

/// The sqlx database the shared statements are compiled for here.
type Db = sqlx::Postgres;
/// The engine the shared statements implement the contract for here.
type Engine = PostgresStore;

// The statements of every engine, compiled a second time for this one (see `sql/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

/// Connections a node keeps to the database server.
const MAX_CONNECTIONS: u32 = 16;

/// Group commits side by side (`bench tcec` and `bench ocpp --database`, 2 cores: see README).
const GROUP_WRITERS: usize = 4;

/// This evgrid's PostgreSQL migrations.
pub(crate) fn migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate!("migrations/postgres")
}

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    /// Reads.
    pub(crate) pool: PgPool,
    /// Writes: the same pool (the server orders concurrent writers itself).
    pub(crate) writer: PgPool,
}

/// The URL with its password hidden, for messages.
pub(crate) fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://USER[:PASSWORD]@HOST:PORT/DB`) and
    /// migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let shown = redacted(url);
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Location(format!("{shown} is not a PostgreSQL URL: {e}")))?
            .application_name("evgrid")
            .options([("synchronous_commit", "on"), ("timezone", "UTC")]);
        let refused = |e: sqlx::Error| StoreError::Connect {
            url: shown.clone(),
            error: match e {
                sqlx::Error::Io(io) => io.to_string(),
                sqlx::Error::Database(db) => db.message().to_owned(),
                other => other.to_string(),
            },
        };
        // One connection first, so that a refusal says why (the pool would only time out).
        sqlx::Connection::close(
            <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
                .await
                .map_err(refused)?,
        )
        .await
        .map_err(refused)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(refused)?;
        crate::migrate(migrator(), &pool).await?;
        Ok(Self {
            writer: pool.clone(),
            pool,
        })
    }

    /// Writes (operator, status) rows in one transaction, skipping any connector whose stored
    /// status was observed later. A statement may not update a row twice in PostgreSQL: the
    /// newest observation of each connector in the batch is the one written.
    async fn write_status_batch(
        &self,
        rows: &[(&str, &evgrid_model::StatusRecord)],
    ) -> Result<(), StoreError> {
        let mut newest: HashMap<(&str, &str), &evgrid_model::StatusRecord> = HashMap::new();
        for (operator, st) in rows {
            let slot = newest
                .entry((operator, st.connector_id.as_str()))
                .or_insert(st);
            if st.observed_at >= slot.observed_at {
                *slot = st;
            }
        }
        let mut rows: Vec<(&str, &evgrid_model::StatusRecord)> = newest
            .into_iter()
            .map(|((operator, _), st)| (operator, st))
            .collect();
        // One order of connectors for every transaction: groups committed side by side take
        // their row locks in the same order and never deadlock.
        rows.sort_unstable_by(|a, b| (a.0, &a.1.connector_id).cmp(&(b.0, &b.1.connector_id)));
        let mut tx = self.writer.begin().await?;
        for chunk in rows.chunks(sql::STATUS_ROWS_PER_STATEMENT) {
            let statement = sql::status_upsert_sql(chunk.len());
            sql::bind_statuses(sqlx::query(&statement), chunk)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::contract::SignalStore for PostgresStore {
    fn carries_signals(&self) -> bool {
        true
    }

    async fn signal(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        if payload.len() > crate::contract::MAX_SIGNAL_BYTES {
            return Err(StoreError::Conflict(format!(
                "a signal of {} bytes is longer than {}",
                payload.len(),
                crate::contract::MAX_SIGNAL_BYTES
            )));
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn listen(
        &self,
        channel: &str,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(channel).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let channel = channel.to_owned();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        if tx.send(n.payload().to_owned()).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // The listener reconnects on the next receive; signals sent meanwhile
                        // are lost (their senders time out).
                        tracing::warn!(channel, error = %e, "listening for signals");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(rx))
    }
}

impl crate::contract::Engine for PostgresStore {
    fn engine_name(&self) -> &'static str {
        "postgres"
    }

    fn group_writers(&self) -> usize {
        GROUP_WRITERS
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redacted("postgres://evgrid:s3cret@127.0.0.1:5432/evgrid"),
            "postgres://evgrid:***@127.0.0.1:5432/evgrid"
        );
        assert_eq!(
            redacted("postgres://evgrid@127.0.0.1/evgrid"),
            "postgres://evgrid@127.0.0.1/evgrid"
        );
    }
}
