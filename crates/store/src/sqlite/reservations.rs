//! Drivers' reservations in SQLite.

use evgrid_model::Reservation;

use super::SqliteStore;
use crate::StoreError;

type Row = (
    String,
    i64,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    i64,
    i64,
);

const COLUMNS: &str =
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
    ): Row,
) -> Reservation {
    Reservation {
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
    }
}

impl SqliteStore {
    /// Inserts a reservation; `false` when its id tag is taken (make another).
    pub(crate) async fn insert_reservation(&self, r: &Reservation) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO reservations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT DO NOTHING"
        ))
        .bind(&r.id)
        .bind(r.user_id)
        .bind(&r.operator_id)
        .bind(&r.connector_id)
        .bind(&r.id_tag)
        .bind(r.ocpp_id)
        .bind(&r.status)
        .bind(&r.message)
        .bind(r.expires_at)
        .bind(r.created_at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn reservation(&self, id: &str) -> Result<Option<Reservation>, StoreError> {
        let row: Option<Row> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM reservations WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(reservation))
    }

    pub(crate) async fn reservations_of(
        &self,
        user_id: i64,
    ) -> Result<Vec<Reservation>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM reservations WHERE user_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(reservation).collect())
    }

    pub(crate) async fn active_reservation(
        &self,
        user_id: i64,
        operator_id: &str,
        connector_id: &str,
        now: i64,
    ) -> Result<Option<Reservation>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM reservations
             WHERE user_id = $1 AND operator_id = $2 AND connector_id = $3
               AND status = 'reserved' AND expires_at > $4
             ORDER BY created_at DESC LIMIT 1"
        ))
        .bind(user_id)
        .bind(operator_id)
        .bind(connector_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(reservation))
    }

    pub(crate) async fn set_reservation_status(
        &self,
        id: &str,
        status: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE reservations SET status = $2, message = $3 WHERE id = $1")
            .bind(id)
            .bind(status)
            .bind(message)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
