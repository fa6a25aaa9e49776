//! Protocol message counts for the data-quality report.

use std::sync::LazyLock;

use super::*;

#[async_trait]
impl TrafficStore for Engine {
    async fn prune(&self, before: &PruneBefore) -> Result<Pruned, StoreError> {
        let run =
            |sql: &'static str, at: i64| sqlx::query(sql).bind(UnixTime(at)).execute(&self.writer);
        Ok(Pruned {
            push_keys: run(
                "DELETE FROM protocol_pushes WHERE received_at < $1",
                before.push_keys,
            )
            .await?
            .rows_affected(),
            status_events: run(
                "DELETE FROM status_events WHERE at < $1 AND EXISTS (
                   SELECT 1 FROM status_events later
                   WHERE later.operator_id = status_events.operator_id
                     AND later.connector_id = status_events.connector_id
                     AND later.at > status_events.at AND later.at < $1)",
                before.status_events,
            )
            .await?
            .rows_affected(),
            expired_tokens: run(
                "DELETE FROM platform_tokens WHERE expires_at < $1",
                before.now,
            )
            .await?
            .rows_affected(),
            expired_logins: run(
                "DELETE FROM user_sessions WHERE expires_at < $1",
                before.now,
            )
            .await?
            .rows_affected(),
        })
    }

    async fn add_traffic(&self, rows: &[evgrid_model::TrafficRow]) -> Result<(), StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "INSERT INTO protocol_traffic (operator_id, interface, ret, count, first_at, last_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (operator_id, interface, ret) DO UPDATE SET
                   count = protocol_traffic.count + excluded.count,
                   first_at = {}, last_at = {}",
                Db::least("protocol_traffic.first_at", "excluded.first_at"),
                Db::greatest("protocol_traffic.last_at", "excluded.last_at")
            )
        });
        let mut tx = self.writer.begin().await?;
        for r in rows {
            sqlx::query(&SQL)
                .bind(&r.operator_id)
                .bind(&r.interface)
                .bind(r.ret)
                .bind(r.count)
                .bind(UnixTime(r.first_at))
                .bind(UnixTime(r.last_at))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn traffic(&self) -> Result<Vec<evgrid_model::TrafficRow>, StoreError> {
        let rows: Vec<(String, String, i32, i64, UnixTime, UnixTime)> = sqlx::query_as(
            "SELECT operator_id, interface, ret, count, first_at, last_at FROM protocol_traffic",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(operator_id, interface, ret, count, first_at, last_at)| {
                evgrid_model::TrafficRow {
                    operator_id,
                    interface,
                    ret,
                    count,
                    first_at: first_at.0,
                    last_at: last_at.0,
                }
            })
            .collect())
    }
}
