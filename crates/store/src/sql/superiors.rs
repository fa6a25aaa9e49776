//! Superior platforms and their outboxes (filled by the triggers of the superiors migration).

use evgrid_model::superior::{
    Attempt, AttemptCount, BacklogRow, DeliveryFigures, DisputedOrder, OutboxItem, ReportKind,
    ReportOutcome, Superior,
};

use super::sessions::{session_of_row, SESSION_SELECT};
use super::*;

const PENDING: &str = "pending";
const DELIVERED: &str = "delivered";
const GIVEN_UP: &str = "given_up";
/// The kinds read before the others (their deadlines are seconds).
const URGENT: &str = "'start_result', 'stop_result', 'order'";
/// The stored `ret` of an attempt that got no answer (T/CEC's own codes include -1).
const NO_ANSWER: i32 = -9999;

type SuperiorRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    UnixTime,
);

fn superior_of_row(r: SuperiorRow) -> Superior {
    let (id, name, base_url, platform_operator_id, os, ds, iv, ss, profile, created_at) = r;
    Superior {
        id,
        name,
        base_url,
        platform_operator_id,
        operator_secret: os,
        data_secret: ds,
        data_secret_iv: iv,
        sig_secret: ss,
        profile,
        created_at: created_at.0,
    }
}

fn item_of_row(r: &DbRow) -> Result<OutboxItem, StoreError> {
    let kind: String = r.try_get("kind")?;
    Ok(OutboxItem {
        id: r.try_get("id")?,
        superior_id: r.try_get("superior_id")?,
        kind: ReportKind::from_name(&kind)
            .ok_or_else(|| corrupt("superior_outbox", format!("kind {kind}")))?,
        operator_id: r.try_get("operator_id")?,
        key: r.try_get("item_key")?,
        created_ms: r.try_get("created_ms")?,
        attempts: r.try_get("attempts")?,
        changes: r.try_get("changes")?,
    })
}

/// The current time in milliseconds, as the triggers write it.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

async fn count_attempt_in(tx: &mut Tx<'_>, id: &str, a: &Attempt) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO superior_attempts (superior_id, interface, ret, delivered, count, last_ms)
         VALUES ($1, $2, $3, $4, 1, $5)
         ON CONFLICT (superior_id, interface, ret, delivered) DO UPDATE SET
           count = superior_attempts.count + 1, last_ms = {}",
        Db::greatest("superior_attempts.last_ms", "excluded.last_ms")
    ))
    .bind(id)
    .bind(&a.interface)
    .bind(a.ret.unwrap_or(NO_ANSWER))
    .bind(a.delivered)
    .bind(a.at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl SuperiorStore for Engine {
    async fn put_superior(&self, s: &Superior) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let existed: Option<(String,)> =
            sqlx::query_as("SELECT superior_id FROM superiors WHERE superior_id = $1")
                .bind(&s.id)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO superiors (superior_id, name, base_url, platform_operator_id,
               operator_secret, data_secret, data_secret_iv, sig_secret, profile, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (superior_id) DO UPDATE SET name = excluded.name,
               base_url = excluded.base_url, platform_operator_id = excluded.platform_operator_id,
               operator_secret = excluded.operator_secret, data_secret = excluded.data_secret,
               data_secret_iv = excluded.data_secret_iv, sig_secret = excluded.sig_secret,
               profile = excluded.profile",
        )
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.base_url)
        .bind(&s.platform_operator_id)
        .bind(&s.operator_secret)
        .bind(&s.data_secret)
        .bind(&s.data_secret_iv)
        .bind(&s.sig_secret)
        .bind(&s.profile)
        .bind(UnixTime(s.created_at))
        .execute(&mut *tx)
        .await?;
        if existed.is_none() {
            for kind in [ReportKind::Station, ReportKind::Status] {
                queue_everything_in(&mut tx, &s.id, kind).await?;
            }
        }
        tx.commit().await?;
        Ok(existed.is_none())
    }

    async fn superiors(&self) -> Result<Vec<Superior>, StoreError> {
        let rows: Vec<SuperiorRow> = sqlx::query_as(
            "SELECT superior_id, name, base_url, platform_operator_id, operator_secret,
               data_secret, data_secret_iv, sig_secret, profile, created_at
             FROM superiors ORDER BY superior_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(superior_of_row).collect())
    }

    async fn remove_superior(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        for table in [
            "superior_outbox",
            "superior_digests",
            "superior_attempts",
            "superior_disputes",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE superior_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let removed = sqlx::query("DELETE FROM superiors WHERE superior_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(removed == 1)
    }

    async fn queue_everything(&self, id: &str, kind: ReportKind) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await?;
        let n = queue_everything_in(&mut tx, id, kind).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn queue_once(
        &self,
        id: &str,
        kind: ReportKind,
        operator_id: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let queued = sqlx::query(
            "INSERT INTO superior_outbox (superior_id, kind, operator_id, item_key, created_ms,
               state, attempts, next_ms)
             SELECT $1, $2, $3, $4, $5, $6, 0, $5
             WHERE NOT EXISTS (SELECT 1 FROM superior_outbox
                               WHERE superior_id = $1 AND kind = $2 AND operator_id = $3
                                 AND item_key = $4)",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(operator_id)
        .bind(key)
        .bind(now_ms)
        .bind(PENDING)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(queued == 1)
    }

    async fn due_reports(
        &self,
        id: &str,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        // Results and orders first (their deadlines are seconds), then the rest, each oldest
        // first.
        let mut items = Vec::new();
        for (kinds, not) in [(URGENT, ""), (URGENT, "NOT")] {
            let left = limit - i64::try_from(items.len()).unwrap_or(i64::MAX);
            if left <= 0 {
                break;
            }
            let rows = sqlx::query(&format!(
                "SELECT id, superior_id, kind, operator_id, item_key, created_ms, attempts, changes
                 FROM superior_outbox
                 WHERE superior_id = $1 AND state = $2 AND next_ms <= $3 AND kind {not} IN ({kinds})
                 ORDER BY next_ms, id LIMIT $4"
            ))
            .bind(id)
            .bind(PENDING)
            .bind(now_ms)
            .bind(left)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                items.push(item_of_row(r)?);
            }
        }
        Ok(items)
    }

    async fn next_due(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(next_ms) FROM superior_outbox WHERE superior_id = $1 AND state = $2",
        )
        .bind(id)
        .bind(PENDING)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn settle_report(
        &self,
        item: &OutboxItem,
        outcome: &ReportOutcome,
        attempt: Option<&Attempt>,
        digest: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        match outcome {
            ReportOutcome::Delivered { .. } => {
                let settled = sqlx::query(
                    "UPDATE superior_outbox SET state = $1, attempts = attempts + $2, done_ms = $3
                     WHERE id = $4 AND state = $5 AND changes = $6",
                )
                .bind(DELIVERED)
                .bind(i32::from(attempt.is_some()))
                .bind(now_ms)
                .bind(item.id)
                .bind(PENDING)
                .bind(item.changes)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if settled == 0 {
                    // Changed while it was being sent: send it again, as it is now.
                    sqlx::query(
                        "UPDATE superior_outbox SET attempts = attempts + $1, next_ms = 0
                         WHERE id = $2 AND state = $3",
                    )
                    .bind(i32::from(attempt.is_some()))
                    .bind(item.id)
                    .bind(PENDING)
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some(digest) = digest {
                    sqlx::query(
                        "INSERT INTO superior_digests (superior_id, kind, operator_id, item_key, digest)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (superior_id, kind, operator_id, item_key)
                         DO UPDATE SET digest = excluded.digest",
                    )
                    .bind(&item.superior_id)
                    .bind(item.kind.as_str())
                    .bind(&item.operator_id)
                    .bind(&item.key)
                    .bind(digest)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            ReportOutcome::RetryAt(at) => {
                sqlx::query(
                    "UPDATE superior_outbox SET attempts = attempts + 1, next_ms = $1
                     WHERE id = $2 AND state = $3",
                )
                .bind(*at)
                .bind(item.id)
                .bind(PENDING)
                .execute(&mut *tx)
                .await?;
            }
            ReportOutcome::Postpone(at) => {
                sqlx::query("UPDATE superior_outbox SET next_ms = $1 WHERE id = $2 AND state = $3")
                    .bind(*at)
                    .bind(item.id)
                    .bind(PENDING)
                    .execute(&mut *tx)
                    .await?;
            }
            ReportOutcome::GivenUp => {
                sqlx::query(
                    "UPDATE superior_outbox SET state = $1, attempts = attempts + 1, done_ms = $2
                     WHERE id = $3 AND state = $4",
                )
                .bind(GIVEN_UP)
                .bind(now_ms)
                .bind(item.id)
                .bind(PENDING)
                .execute(&mut *tx)
                .await?;
            }
        }
        if let Some(a) = attempt {
            count_attempt_in(&mut tx, &item.superior_id, a).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn count_attempt(&self, id: &str, attempt: &Attempt) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        count_attempt_in(&mut tx, id, attempt).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn report_digest(
        &self,
        id: &str,
        kind: ReportKind,
        operator_id: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT digest FROM superior_digests
             WHERE superior_id = $1 AND kind = $2 AND operator_id = $3 AND item_key = $4",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(operator_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn delivery(&self, id: &str, lags: i64) -> Result<DeliveryFigures, StoreError> {
        let attempts: Vec<(String, i32, bool, i64, i64)> = sqlx::query_as(
            "SELECT interface, ret, delivered, count, last_ms FROM superior_attempts
             WHERE superior_id = $1 ORDER BY interface, ret, delivered",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let last_success_ms = attempts.iter().filter(|a| a.2).map(|a| a.4).max();
        let backlog_rows = sqlx::query(&format!(
            "SELECT kind,
                    {} AS pending,
                    {} AS given_up,
                    {} AS delivered,
                    MIN(CASE WHEN state = 'pending' THEN created_ms END) AS oldest
             FROM superior_outbox WHERE superior_id = $1 GROUP BY kind ORDER BY kind",
            Db::sum_int("CASE WHEN state = 'pending' THEN 1 ELSE 0 END"),
            Db::sum_int("CASE WHEN state = 'given_up' THEN 1 ELSE 0 END"),
            Db::sum_int("CASE WHEN state = 'delivered' THEN 1 ELSE 0 END"),
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut backlog = Vec::with_capacity(backlog_rows.len());
        for r in &backlog_rows {
            backlog.push(BacklogRow {
                kind: r.try_get("kind")?,
                pending: r.try_get("pending")?,
                given_up: r.try_get("given_up")?,
                delivered: r.try_get("delivered")?,
                oldest_pending_ms: r.try_get("oldest")?,
            });
        }
        let recent_lags_ms: Vec<i64> = sqlx::query_scalar(
            "SELECT done_ms - created_ms FROM superior_outbox
             WHERE superior_id = $1 AND state = $2 AND attempts > 0
             ORDER BY done_ms DESC LIMIT $3",
        )
        .bind(id)
        .bind(DELIVERED)
        .bind(lags)
        .fetch_all(&self.pool)
        .await?;
        Ok(DeliveryFigures {
            attempts: attempts
                .into_iter()
                .map(|(interface, ret, delivered, count, last_ms)| AttemptCount {
                    interface,
                    ret: (ret != NO_ANSWER).then_some(ret),
                    delivered,
                    count,
                    last_ms,
                })
                .collect(),
            backlog,
            last_success_ms,
            recent_lags_ms,
        })
    }

    async fn record_disputes(
        &self,
        id: &str,
        disputes: &[DisputedOrder],
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        for d in disputes {
            sqlx::query(
                "INSERT INTO superior_disputes (superior_id, day, operator_id, session_ref,
                   superior_ref, reason, at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (superior_id, day, superior_ref) DO UPDATE SET
                   reason = excluded.reason, at_ms = excluded.at_ms",
            )
            .bind(id)
            .bind(&d.day)
            .bind(&d.operator_id)
            .bind(&d.session_ref)
            .bind(&d.superior_ref)
            .bind(d.reason)
            .bind(d.at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn disputes(&self, id: &str, limit: i64) -> Result<Vec<DisputedOrder>, StoreError> {
        let rows: Vec<(String, String, String, String, i32, i64)> = sqlx::query_as(
            "SELECT day, operator_id, session_ref, superior_ref, reason, at_ms
             FROM superior_disputes WHERE superior_id = $1
             ORDER BY at_ms DESC, superior_ref LIMIT $2",
        )
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(day, operator_id, session_ref, superior_ref, reason, at_ms)| DisputedOrder {
                    day,
                    operator_id,
                    session_ref,
                    superior_ref,
                    reason,
                    at_ms,
                },
            )
            .collect())
    }

    async fn running_sessions(
        &self,
        updated_since: i64,
    ) -> Result<Vec<ChargingSession>, StoreError> {
        let rows = sqlx::query(&format!(
            "{} WHERE s.state IN ('starting', 'charging', 'stopping')
               AND s.order_received_at IS NULL AND s.updated_at >= $1
             ORDER BY s.operator_id, s.session_ref",
            *SESSION_SELECT
        ))
        .bind(UnixTime(updated_since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(session_of_row).collect()
    }

    async fn orders_ended_between(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<ChargingSession>, StoreError> {
        let rows = sqlx::query(&format!(
            "{} WHERE s.order_received_at IS NOT NULL AND s.ended_at >= $1 AND s.ended_at < $2
             ORDER BY s.operator_id, s.session_ref",
            *SESSION_SELECT
        ))
        .bind(UnixTime(from))
        .bind(UnixTime(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(session_of_row).collect()
    }

    async fn prune_outbox(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM superior_outbox WHERE state <> $1 AND done_ms < $2")
                .bind(PENDING)
                .bind(before_ms)
                .execute(&self.writer)
                .await?
                .rows_affected(),
        )
    }
}

/// Queues every station or every reported connector's status for a superior in `tx`.
async fn queue_everything_in(
    tx: &mut Tx<'_>,
    id: &str,
    kind: ReportKind,
) -> Result<u64, StoreError> {
    let source = match kind {
        ReportKind::Station => "SELECT operator_id AS op, station_id AS item FROM stations",
        ReportKind::Status => {
            "SELECT operator_id AS op, connector_id AS item FROM connector_status"
        }
        ReportKind::Order
        | ReportKind::OrderCheck
        | ReportKind::StartResult
        | ReportKind::StopResult => {
            return Err(StoreError::Conflict(format!(
                "{} reports are queued one by one",
                kind.as_str()
            )))
        }
    };
    let now = now_ms();
    Ok(sqlx::query(&format!(
        "INSERT INTO superior_outbox (superior_id, kind, operator_id, item_key, created_ms,
           state, attempts, next_ms)
         SELECT $1, $2, f.op, f.item, $3, $4, 0, 0 FROM ({source}) f WHERE true
         ON CONFLICT (superior_id, kind, operator_id, item_key) WHERE state = 'pending'
         DO UPDATE SET changes = superior_outbox.changes + 1"
    ))
    .bind(id)
    .bind(kind.as_str())
    .bind(now)
    .bind(PENDING)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}
