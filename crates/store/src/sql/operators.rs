//! Operator platforms' credentials and the tokens evgrid issued to them.

use super::*;

#[async_trait]
impl OperatorStore for Engine {
    async fn put_credentials(&self, name: &str, c: &OperatorCredentials) -> Result<(), StoreError> {
        let now = unix_now();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO operators (operator_id, name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (operator_id) DO UPDATE SET name = excluded.name",
        )
        .bind(c.operator_id.as_str())
        .bind(name)
        .bind(UnixTime(now))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO operator_credentials (operator_id, operator_secret, data_secret, data_secret_iv,
               sig_secret, base_url, coords, created_at, rotated_at, platform_secret, stale_after_seconds)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)
             ON CONFLICT (operator_id) DO UPDATE SET operator_secret = excluded.operator_secret,
               data_secret = excluded.data_secret, data_secret_iv = excluded.data_secret_iv,
               sig_secret = excluded.sig_secret, base_url = excluded.base_url, coords = excluded.coords,
               rotated_at = excluded.created_at, platform_secret = excluded.platform_secret,
               stale_after_seconds = excluded.stale_after_seconds",
        )
        .bind(c.operator_id.as_str())
        .bind(&c.operator_secret)
        .bind(&c.data_secret)
        .bind(&c.data_secret_iv)
        .bind(&c.sig_secret)
        .bind(&c.base_url)
        .bind(c.coords.as_str())
        .bind(UnixTime(now))
        .bind(&c.platform_secret)
        .bind(c.stale_after_seconds)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn credentials(
        &self,
        id: &OperatorId,
    ) -> Result<Option<OperatorCredentials>, StoreError> {
        Ok(self.credentials_of(Some(id)).await?.pop())
    }

    async fn all_credentials(&self) -> Result<Vec<OperatorCredentials>, StoreError> {
        self.credentials_of(None).await
    }

    async fn remove_credentials(&self, id: &OperatorId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM operator_credentials WHERE operator_id = $1")
            .bind(id.as_str())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn issue_token(
        &self,
        id: &OperatorId,
        new_token: &str,
        seconds: i64,
    ) -> Result<(String, i64), StoreError> {
        let now = unix_now();
        let mut tx = self.writer.begin().await?;
        let current: Option<(String, UnixTime)> = sqlx::query_as(
            "SELECT token, expires_at FROM platform_tokens WHERE operator_id = $1 AND expires_at > $2
             ORDER BY expires_at DESC LIMIT 1",
        )
        .bind(id.as_str())
        .bind(UnixTime(now + 60))
        .fetch_optional(&mut *tx)
        .await?;
        let answer = match current {
            Some((token, expires_at)) => (token, expires_at.0 - now),
            None => {
                sqlx::query(
                    "DELETE FROM platform_tokens WHERE operator_id = $1 AND expires_at <= $2",
                )
                .bind(id.as_str())
                .bind(UnixTime(now + 60))
                .execute(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO platform_tokens (token, operator_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(new_token)
                    .bind(id.as_str())
                    .bind(UnixTime(now + seconds))
                    .execute(&mut *tx)
                    .await?;
                (new_token.to_owned(), seconds)
            }
        };
        tx.commit().await?;
        Ok(answer)
    }

    async fn token_owner(&self, token: &str) -> Result<Option<OperatorId>, StoreError> {
        let owner: Option<String> = sqlx::query_scalar(
            "SELECT operator_id FROM platform_tokens WHERE token = $1 AND expires_at > $2",
        )
        .bind(token)
        .bind(UnixTime(unix_now()))
        .fetch_optional(&self.pool)
        .await?;
        owner
            .map(|o| OperatorId::new(&o).map_err(|e| corrupt("platform_tokens", e.to_string())))
            .transpose()
    }

    async fn drop_tokens(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM platform_tokens")
            .execute(&self.writer)
            .await?
            .rows_affected())
    }
}

impl Engine {
    /// The credentials of one operator, or of every operator with `None`.
    async fn credentials_of(
        &self,
        id: Option<&OperatorId>,
    ) -> Result<Vec<OperatorCredentials>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM operator_credentials WHERE $1 IS NULL OR operator_id = $1 ORDER BY operator_id",
        )
        .bind(id.map(OperatorId::as_str))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("operator_id")?;
                let coords: String = r.try_get("coords")?;
                Ok(OperatorCredentials {
                    operator_id: OperatorId::new(&id)
                        .map_err(|e| corrupt("operator_credentials", e.to_string()))?,
                    operator_secret: r.try_get("operator_secret")?,
                    data_secret: r.try_get("data_secret")?,
                    data_secret_iv: r.try_get("data_secret_iv")?,
                    sig_secret: r.try_get("sig_secret")?,
                    base_url: r.try_get("base_url")?,
                    coords: coords
                        .parse()
                        .map_err(|e: String| corrupt("operator_credentials", e))?,
                    platform_secret: r.try_get("platform_secret")?,
                    stale_after_seconds: r.try_get("stale_after_seconds")?,
                })
            })
            .collect()
    }
}
