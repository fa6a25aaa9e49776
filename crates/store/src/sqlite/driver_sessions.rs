//! Drivers' charges in SQLite.

use evgrid_model::DriverSession;

use super::SqliteStore;
use crate::StoreError;

type Row = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
);

const COLUMNS: &str = "user_id, id, idempotency_key, operator_id, connector_id, channel, session_ref, status, message, created_at";

fn session(
    (
        user_id,
        id,
        idempotency_key,
        operator_id,
        connector_id,
        channel,
        session_ref,
        status,
        message,
        created_at,
    ): Row,
) -> DriverSession {
    DriverSession {
        id,
        user_id,
        idempotency_key,
        operator_id,
        connector_id,
        channel,
        session_ref,
        status,
        message,
        created_at,
    }
}

impl SqliteStore {
    /// Inserts `s` unless the user already used its idempotency key; returns the stored row and
    /// whether it is new. `None` when the session reference is taken (make another).
    pub(crate) async fn insert_driver_session(
        &self,
        s: &DriverSession,
    ) -> Result<Option<(DriverSession, bool)>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO driver_sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
        ))
        .bind(s.user_id)
        .bind(&s.id)
        .bind(&s.idempotency_key)
        .bind(&s.operator_id)
        .bind(&s.connector_id)
        .bind(&s.channel)
        .bind(&s.session_ref)
        .bind(&s.status)
        .bind(&s.message)
        .bind(s.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM driver_sessions WHERE user_id = $1 AND idempotency_key = $2"
        ))
        .bind(s.user_id)
        .bind(&s.idempotency_key)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(|r| (session(r), inserted)))
    }

    pub(crate) async fn driver_session(
        &self,
        id: &str,
    ) -> Result<Option<DriverSession>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM driver_sessions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(session))
    }

    pub(crate) async fn driver_sessions_of(
        &self,
        user_id: i64,
        orders_only: bool,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<DriverSession>, i64), StoreError> {
        // A charge's order is the operator's session row with its order received.
        let from = "FROM driver_sessions d
             WHERE d.user_id = $1
               AND (NOT $2 OR EXISTS (SELECT 1 FROM charging_sessions cs
                    WHERE cs.operator_id = d.operator_id AND cs.session_ref = d.session_ref
                      AND cs.order_received_at IS NOT NULL))";
        let columns = COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {columns} {from} ORDER BY d.created_at DESC, d.id LIMIT $3 OFFSET $4"
        ))
        .bind(user_id)
        .bind(orders_only)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {from}"))
            .bind(user_id)
            .bind(orders_only)
            .fetch_one(&self.pool)
            .await?;
        Ok((rows.into_iter().map(session).collect(), total))
    }

    pub(crate) async fn set_driver_session_status(
        &self,
        id: &str,
        status: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE driver_sessions SET status = $2, message = $3 WHERE id = $1")
            .bind(id)
            .bind(status)
            .bind(message)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub(crate) async fn link_driver_session(
        &self,
        operator_id: &str,
        id_tag: &str,
        session_ref: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE driver_sessions SET session_ref = $3
             WHERE operator_id = $1 AND session_ref = $2 AND channel = 'ocpp'",
        )
        .bind(operator_id)
        .bind(id_tag)
        .bind(session_ref)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn charge_place(
        &self,
        operator_id: &str,
        connector_id: &str,
    ) -> Result<Option<evgrid_model::ChargePlace>, StoreError> {
        let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT s.operator_id || ':' || s.station_id, s.name, s.address, o.name, c.power_w
             FROM connectors c
             JOIN stations s ON s.id = c.station_pk
             JOIN operators o ON o.operator_id = s.operator_id
             WHERE c.operator_id = $1 AND c.connector_id = $2
             LIMIT 1",
        )
        .bind(operator_id)
        .bind(connector_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(station_id, station_name, address, operator_name, power_w)| {
                evgrid_model::ChargePlace {
                    station_id,
                    station_name,
                    address,
                    operator_name,
                    power_w,
                }
            },
        ))
    }

    pub(crate) async fn link_driver_session_by_prefix(
        &self,
        operator_id: &str,
        prefix: &str,
        session_ref: &str,
    ) -> Result<bool, StoreError> {
        // Only a charge still waiting for its transaction (its reference is its id tag).
        let done = sqlx::query(
            "UPDATE driver_sessions SET session_ref = $3
             WHERE id = (SELECT id FROM driver_sessions
                         WHERE operator_id = $1 AND channel = 'ocpp' AND instr(session_ref, ':') = 0
                           AND status IN ('requested', 'started')
                           AND substr(session_ref, 1, length($2)) = $2
                         ORDER BY created_at DESC LIMIT 1)",
        )
        .bind(operator_id)
        .bind(prefix)
        .bind(session_ref)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
