//! The nodes of a deployment and where each OCPP charger is connected; the database's
//! readiness.

use super::*;

fn presence_of(row: (String, String, String, i64, UnixTime)) -> Presence {
    let (charger_id, node_id, version, connection, since) = row;
    Presence {
        charger_id,
        node_id,
        version,
        connection,
        since: since.0,
    }
}

#[async_trait]
impl PresenceStore for Engine {
    async fn node_alive(&self, node: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cluster_nodes (node_id, started_at, last_seen) VALUES ($1, $2, $2)
             ON CONFLICT (node_id) DO UPDATE SET last_seen = excluded.last_seen",
        )
        .bind(node)
        .bind(UnixTime(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn node_gone(&self, node: &str) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await?;
        let cleared = sqlx::query("DELETE FROM charger_presence WHERE node_id = $1")
            .bind(node)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM leases WHERE node_id = $1")
            .bind(node)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM cluster_nodes WHERE node_id = $1")
            .bind(node)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(cleared)
    }

    async fn stale_nodes(&self, before: i64) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT node_id FROM cluster_nodes WHERE last_seen < $1")
                .bind(UnixTime(before))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    async fn charger_present(&self, p: &Presence) -> Result<Option<Presence>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let before: Option<(String, String, String, i64, UnixTime)> = sqlx::query_as(
            "SELECT charger_id, node_id, version, connection, since FROM charger_presence
             WHERE charger_id = $1",
        )
        .bind(&p.charger_id)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO charger_presence (charger_id, node_id, version, connection, since)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (charger_id) DO UPDATE SET node_id = excluded.node_id,
               version = excluded.version, connection = excluded.connection,
               since = excluded.since",
        )
        .bind(&p.charger_id)
        .bind(&p.node_id)
        .bind(&p.version)
        .bind(p.connection)
        .bind(UnixTime(p.since))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(before.map(presence_of))
    }

    async fn charger_absent(
        &self,
        charger: &str,
        node: &str,
        connection: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM charger_presence
             WHERE charger_id = $1 AND node_id = $2 AND connection = $3",
        )
        .bind(charger)
        .bind(node)
        .bind(connection)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn presence(
        &self,
        charger: &str,
        fresh_since: i64,
    ) -> Result<Option<Presence>, StoreError> {
        let row: Option<(String, String, String, i64, UnixTime)> = sqlx::query_as(
            "SELECT p.charger_id, p.node_id, p.version, p.connection, p.since
             FROM charger_presence p JOIN cluster_nodes n ON n.node_id = p.node_id
             WHERE p.charger_id = $1 AND n.last_seen >= $2",
        )
        .bind(charger)
        .bind(UnixTime(fresh_since))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(presence_of))
    }

    async fn hold_lease(
        &self,
        name: &str,
        node: &str,
        now: i64,
        ttl: i64,
    ) -> Result<bool, StoreError> {
        let taken = sqlx::query(
            "INSERT INTO leases (name, node_id, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET node_id = excluded.node_id,
               expires_at = excluded.expires_at
             WHERE leases.node_id = excluded.node_id OR leases.expires_at < $4",
        )
        .bind(name)
        .bind(node)
        .bind(UnixTime(now + ttl))
        .bind(UnixTime(now))
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(taken == 1)
    }
}

#[async_trait]
impl HealthStore for Engine {
    async fn readiness(&self) -> Result<Readiness, StoreError> {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        let known = migrator().iter().map(|m| m.version).max().unwrap_or(0);
        Ok(Readiness { applied, known })
    }

    fn pool_connections(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }
}
