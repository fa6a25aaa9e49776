//! Drivers' charges and reservations.

use super::*;

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
    UnixTime,
);

const COLUMNS: &str = "user_id, id, idempotency_key, operator_id, connector_id, channel, session_ref, status, message, created_at";

fn charge_of(
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
) -> Result<Charge, StoreError> {
    Ok(Charge {
        channel: Channel::from_name(&channel)
            .ok_or_else(|| corrupt("driver_sessions", format!("channel {channel}")))?,
        status: ChargeStatus::from_name(&status)
            .ok_or_else(|| corrupt("driver_sessions", format!("status {status}")))?,
        id,
        user_id,
        idempotency_key,
        operator_id,
        connector_id,
        session_ref,
        message,
        created_at: created_at.0,
    })
}

type ReservationRow = (
    String,
    i64,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    UnixTime,
    UnixTime,
);

const RESERVATION_COLUMNS: &str =
    "id, user_id, operator_id, connector_id, id_tag, ocpp_id, status, message, expires_at, created_at";

fn reservation(
    (
        id,
        user_id,
        operator_id,
        connector_id,
        id_tag,
        ocpp_id,
        status,
        message,
        expires_at,
        created_at,
    ): ReservationRow,
) -> Result<Reservation, StoreError> {
    Ok(Reservation {
        status: ReservationStatus::from_name(&status)
            .ok_or_else(|| corrupt("reservations", format!("status {status}")))?,
        id,
        user_id,
        operator_id,
        connector_id,
        id_tag,
        ocpp_id,
        message,
        expires_at: expires_at.0,
        created_at: created_at.0,
    })
}

#[async_trait]
impl ChargeStore for Engine {
    async fn insert_charge(&self, s: &Charge) -> Result<Option<(Charge, bool)>, StoreError> {
        // `None` when the session reference is taken (the caller makes another).
        let mut tx = self.writer.begin().await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO driver_sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
        ))
        .bind(s.user_id)
        .bind(&s.id)
        .bind(&s.idempotency_key)
        .bind(&s.operator_id)
        .bind(&s.connector_id)
        .bind(s.channel.as_str())
        .bind(&s.session_ref)
        .bind(s.status.as_str())
        .bind(&s.message)
        .bind(UnixTime(s.created_at))
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
        row.map(|r| Ok((charge_of(r)?, inserted))).transpose()
    }

    async fn charge(&self, id: &str) -> Result<Option<Charge>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM driver_sessions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(charge_of).transpose()
    }

    async fn charges_of(
        &self,
        user_id: i64,
        orders_only: bool,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Charge>, i64), StoreError> {
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
        Ok((
            rows.into_iter().map(charge_of).collect::<Result<_, _>>()?,
            total,
        ))
    }

    async fn set_charge_status(
        &self,
        id: &str,
        status: ChargeStatus,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE driver_sessions SET status = $2, message = $3 WHERE id = $1")
            .bind(id)
            .bind(status.as_str())
            .bind(message)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn link_charge(
        &self,
        operator_id: &OperatorId,
        id_tag: &str,
        session_ref: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE driver_sessions SET session_ref = $3
             WHERE operator_id = $1 AND session_ref = $2 AND channel = 'ocpp'",
        )
        .bind(operator_id.as_str())
        .bind(id_tag)
        .bind(session_ref)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn link_charge_by_prefix(
        &self,
        operator_id: &OperatorId,
        prefix: &str,
        session_ref: &str,
    ) -> Result<bool, StoreError> {
        // Only a charge still waiting for its transaction (its reference is its id tag).
        let done = sqlx::query(
            "UPDATE driver_sessions SET session_ref = $3
             WHERE id = (SELECT id FROM driver_sessions
                         WHERE operator_id = $1 AND channel = 'ocpp' AND session_ref NOT LIKE '%:%'
                           AND status IN ('requested', 'started')
                           AND substr(session_ref, 1, length($2)) = $2
                         ORDER BY created_at DESC LIMIT 1)",
        )
        .bind(operator_id.as_str())
        .bind(prefix)
        .bind(session_ref)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_reservation(&self, r: &Reservation) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO reservations ({RESERVATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT DO NOTHING"
        ))
        .bind(&r.id)
        .bind(r.user_id)
        .bind(&r.operator_id)
        .bind(&r.connector_id)
        .bind(&r.id_tag)
        .bind(r.ocpp_id)
        .bind(r.status.as_str())
        .bind(&r.message)
        .bind(UnixTime(r.expires_at))
        .bind(UnixTime(r.created_at))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn reservation(&self, id: &str) -> Result<Option<Reservation>, StoreError> {
        let row: Option<ReservationRow> = sqlx::query_as(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(reservation).transpose()
    }

    async fn reservations_of(&self, user_id: i64) -> Result<Vec<Reservation>, StoreError> {
        let rows: Vec<ReservationRow> = sqlx::query_as(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE user_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(reservation).collect()
    }

    async fn active_reservation(
        &self,
        user_id: i64,
        operator_id: &str,
        connector_id: &str,
        now: i64,
    ) -> Result<Option<Reservation>, StoreError> {
        let row: Option<ReservationRow> = sqlx::query_as(&format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations
             WHERE user_id = $1 AND operator_id = $2 AND connector_id = $3
               AND status = 'reserved' AND expires_at > $4
             ORDER BY created_at DESC LIMIT 1"
        ))
        .bind(user_id)
        .bind(operator_id)
        .bind(connector_id)
        .bind(UnixTime(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(reservation).transpose()
    }

    async fn set_reservation_status(
        &self,
        id: &str,
        status: ReservationStatus,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE reservations SET status = $2, message = $3 WHERE id = $1")
            .bind(id)
            .bind(status.as_str())
            .bind(message)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn end_reservation_of_charger(
        &self,
        operator_id: &str,
        connector_prefix: &str,
        ocpp_id: i64,
        message: &str,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE reservations SET status = $4, message = $5
             WHERE operator_id = $1 AND ocpp_id = $3
               AND substr(connector_id, 1, length($2)) = $2
               AND status IN ('requested', 'reserved')",
        )
        .bind(operator_id)
        .bind(connector_prefix)
        .bind(ocpp_id)
        .bind(ReservationStatus::Cancelled.as_str())
        .bind(message)
        .execute(&self.writer)
        .await?
        .rows_affected()
            > 0)
    }
}
