//! Directly connected chargers (OCPP).

use super::*;

use evgrid_model::{Charger, OperatorId, Registration, StoredAuthority};

fn charger_row(r: &DbRow) -> Result<Charger, StoreError> {
    let operator: String = r.try_get("operator_id")?;
    let connectors: i64 = r.try_get("connectors")?;
    Ok(Charger {
        id: r.try_get("charger_id")?,
        operator_id: OperatorId::new(&operator).map_err(|e| corrupt("chargers", e.to_string()))?,
        station_id: r.try_get("station_id")?,
        connectors: u32::try_from(connectors).map_err(|e| corrupt("chargers", e.to_string()))?,
        password_hash: r.try_get("password_hash")?,
        next_password_hash: r.try_get("next_password_hash")?,
        vendor: r.try_get("vendor")?,
        model: r.try_get("model")?,
        serial: r.try_get("serial")?,
        firmware: r.try_get("firmware")?,
        ocpp_version: r.try_get("ocpp_version")?,
        last_boot_at: r
            .try_get::<Option<UnixTime>, _>("last_boot_at")?
            .map(|t| t.0),
        registration: registration_of(&r.try_get::<String, _>("registration")?)?,
        security_profile: u8::try_from(r.try_get::<i64, _>("security_profile")?)
            .map_err(|e| corrupt("chargers", e.to_string()))?,
    })
}

fn registration_of(name: &str) -> Result<Registration, StoreError> {
    Registration::from_name(name)
        .ok_or_else(|| corrupt("chargers", format!("registration {name:?}")))
}

#[async_trait]
impl ChargerStore for Engine {
    async fn put_charger(&self, c: &Charger) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chargers (charger_id, operator_id, station_id, connectors, password_hash,
               created_at, registration, security_profile)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (charger_id) DO UPDATE SET operator_id = excluded.operator_id,
               station_id = excluded.station_id, connectors = excluded.connectors,
               password_hash = excluded.password_hash, registration = excluded.registration,
               security_profile = excluded.security_profile, next_password_hash = NULL",
        )
        .bind(&c.id)
        .bind(c.operator_id.as_str())
        .bind(&c.station_id)
        .bind(i64::from(c.connectors))
        .bind(&c.password_hash)
        .bind(UnixTime(unix_now()))
        .bind(c.registration.as_str())
        .bind(i64::from(c.security_profile))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn register_unplaced_charger(&self, c: &Charger, most: u32) -> Result<bool, StoreError> {
        // One statement: the count and the insert cannot be separated by another login. The
        // count is the tally the chargers' triggers keep (not a scan of every charger).
        Ok(sqlx::query(
            "INSERT INTO chargers (charger_id, operator_id, station_id, connectors, password_hash, created_at)
             SELECT $1, $2, NULL, $3, $4, $5
             WHERE (SELECT COALESCE(SUM(unplaced), 0) FROM charger_tallies) < $6
             ON CONFLICT (charger_id) DO NOTHING",
        )
        .bind(&c.id)
        .bind(c.operator_id.as_str())
        .bind(i64::from(c.connectors))
        .bind(&c.password_hash)
        .bind(UnixTime(unix_now()))
        .bind(i64::from(most))
        .execute(&self.writer)
        .await?
        .rows_affected()
            == 1)
    }

    async fn charger(&self, id: &str) -> Result<Option<Charger>, StoreError> {
        sqlx::query("SELECT * FROM chargers WHERE charger_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(charger_row)
            .transpose()
    }

    async fn chargers(&self) -> Result<Vec<Charger>, StoreError> {
        sqlx::query("SELECT * FROM chargers ORDER BY charger_id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(charger_row)
            .collect()
    }

    async fn remove_charger(&self, id: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("DELETE FROM chargers WHERE charger_id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?
            .rows_affected()
            > 0)
    }

    async fn charger_booted(
        &self,
        id: &str,
        vendor: &str,
        model: &str,
        serial: Option<&str>,
        firmware: Option<&str>,
        version: &str,
    ) -> Result<Option<Registration>, StoreError> {
        let registration: Option<String> = sqlx::query_scalar(
            "UPDATE chargers SET vendor = $2, model = $3, serial = $4, firmware = $5,
               ocpp_version = $6, last_boot_at = $7 WHERE charger_id = $1 RETURNING registration",
        )
        .bind(id)
        .bind(vendor)
        .bind(model)
        .bind(serial)
        .bind(firmware)
        .bind(version)
        .bind(UnixTime(unix_now()))
        .fetch_optional(&self.writer)
        .await?;
        registration.as_deref().map(registration_of).transpose()
    }

    async fn set_next_charger_password(
        &self,
        id: &str,
        next_password_hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("UPDATE chargers SET next_password_hash = $2 WHERE charger_id = $1")
                .bind(id)
                .bind(next_password_hash)
                .execute(&self.writer)
                .await?
                .rows_affected()
                > 0,
        )
    }

    async fn promote_charger_password(
        &self,
        id: &str,
        next_password_hash: &str,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE chargers SET password_hash = next_password_hash, next_password_hash = NULL
             WHERE charger_id = $1 AND next_password_hash = $2",
        )
        .bind(id)
        .bind(next_password_hash)
        .execute(&self.writer)
        .await?
        .rows_affected()
            > 0)
    }

    async fn set_charger_security_profile(
        &self,
        id: &str,
        profile: u8,
        only_raise: bool,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE chargers SET security_profile = $2
             WHERE charger_id = $1 AND (NOT $3 OR security_profile < $2)",
        )
        .bind(id)
        .bind(i64::from(profile))
        .bind(only_raise)
        .execute(&self.writer)
        .await?
        .rows_affected()
            > 0)
    }

    async fn certificate_authority(&self) -> Result<Option<StoredAuthority>, StoreError> {
        let row = sqlx::query(
            "SELECT certificate_pem, key_sealed, created_at FROM certificate_authority WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(StoredAuthority {
                certificate_pem: r.try_get("certificate_pem")?,
                key_sealed: r.try_get("key_sealed")?,
                created_at: r.try_get::<UnixTime, _>("created_at")?.0,
            })
        })
        .transpose()
    }

    async fn put_certificate_authority(
        &self,
        authority: &StoredAuthority,
        replace: bool,
    ) -> Result<bool, StoreError> {
        let sql = if replace {
            "INSERT INTO certificate_authority (id, certificate_pem, key_sealed, created_at)
             VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET certificate_pem = excluded.certificate_pem,
               key_sealed = excluded.key_sealed, created_at = excluded.created_at"
        } else {
            "INSERT INTO certificate_authority (id, certificate_pem, key_sealed, created_at)
             VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING"
        };
        Ok(sqlx::query(sql)
            .bind(&authority.certificate_pem)
            .bind(&authority.key_sealed)
            .bind(UnixTime(authority.created_at))
            .execute(&self.writer)
            .await?
            .rows_affected()
            > 0)
    }

    async fn set_charger_registration(
        &self,
        id: &str,
        registration: Registration,
    ) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("UPDATE chargers SET registration = $2 WHERE charger_id = $1")
                .bind(id)
                .bind(registration.as_str())
                .execute(&self.writer)
                .await?
                .rows_affected()
                > 0,
        )
    }

    async fn add_charger_notice(
        &self,
        charger: &str,
        at: i64,
        kind: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO charger_notices (charger_id, at, kind, detail) VALUES ($1, $2, $3, $4)",
        )
        .bind(charger)
        .bind(UnixTime(at))
        .bind(kind)
        .bind(detail)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM charger_notices WHERE charger_id = $1 AND id <= COALESCE(
               (SELECT id FROM charger_notices WHERE charger_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2), -1)",
        )
        .bind(charger)
        .bind(evgrid_model::CHARGER_NOTICES_KEPT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn charger_notices(&self, charger: &str) -> Result<Vec<ChargerNotice>, StoreError> {
        let rows: Vec<(UnixTime, String, String)> = sqlx::query_as(
            "SELECT at, kind, detail FROM charger_notices WHERE charger_id = $1 ORDER BY id DESC",
        )
        .bind(charger)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, kind, detail)| ChargerNotice {
                at: at.0,
                kind,
                detail,
            })
            .collect())
    }

    async fn new_transaction_id(&self, charger: &str) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ocpp_transactions (charger_id, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(charger)
        .bind(UnixTime(unix_now()))
        .fetch_one(&self.writer)
        .await?;
        Ok(id)
    }
}
