//! Id tokens and the sessions they started.

use super::*;

use evgrid_model::{IdToken, TokenFilter, TokenKind, TokenStatus};

const COLUMNS: &str = "t.token, t.kind, t.status, t.expires_at, t.group_id, u.username AS owner, \
                       t.operator_id, t.label, t.created_at, t.updated_at";
const FROM: &str = "FROM id_tokens t LEFT JOIN users u ON u.id = t.owner_id";

fn token_row(r: &DbRow) -> Result<IdToken, StoreError> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let operator: Option<String> = r.try_get("operator_id")?;
    Ok(IdToken {
        id: r.try_get("token")?,
        kind: TokenKind::from_name(&kind)
            .ok_or_else(|| corrupt("id_tokens", format!("kind {kind:?}")))?,
        status: TokenStatus::from_name(&status)
            .ok_or_else(|| corrupt("id_tokens", format!("status {status:?}")))?,
        expires_at: r.try_get::<Option<UnixTime>, _>("expires_at")?.map(|t| t.0),
        group_id: r.try_get("group_id")?,
        owner: r.try_get("owner")?,
        operator_id: operator
            .map(|o| OperatorId::new(&o).map_err(|e| corrupt("id_tokens", e.to_string())))
            .transpose()?,
        label: r.try_get("label")?,
        created_at: r.try_get::<UnixTime, _>("created_at")?.0,
        updated_at: r.try_get::<UnixTime, _>("updated_at")?.0,
    })
}

#[async_trait]
impl TokenStore for Engine {
    async fn put_tokens(
        &self,
        tokens: &[IdToken],
        replace: bool,
    ) -> Result<TokenCounts, StoreError> {
        let mut counts = TokenCounts::default();
        let mut tx = self.writer.begin().await?;
        for t in tokens {
            let owner_id: Option<i64> = match &t.owner {
                Some(name) => Some(
                    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                        .bind(name)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| StoreError::Unknown(format!("no user {name:?}")))?,
                ),
                None => None,
            };
            let exists =
                sqlx::query_scalar::<_, String>("SELECT token FROM id_tokens WHERE token = $1")
                    .bind(&t.id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
            if exists && !replace {
                counts.kept += 1;
                continue;
            }
            // A replaced row keeps its `created_at`.
            sqlx::query(
                "INSERT INTO id_tokens (token, kind, status, expires_at, group_id, owner_id,
                   operator_id, label, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (token) DO UPDATE SET kind = excluded.kind, status = excluded.status,
                   expires_at = excluded.expires_at, group_id = excluded.group_id,
                   owner_id = excluded.owner_id, operator_id = excluded.operator_id,
                   label = excluded.label, updated_at = excluded.updated_at",
            )
            .bind(&t.id)
            .bind(t.kind.as_str())
            .bind(t.status.as_str())
            .bind(t.expires_at.map(UnixTime))
            .bind(&t.group_id)
            .bind(owner_id)
            .bind(t.operator_id.as_ref().map(OperatorId::as_str))
            .bind(&t.label)
            .bind(UnixTime(t.created_at))
            .bind(UnixTime(t.updated_at))
            .execute(&mut *tx)
            .await?;
            if exists {
                counts.replaced += 1;
            } else {
                counts.inserted += 1;
            }
        }
        tx.commit().await?;
        Ok(counts)
    }

    async fn token(&self, id: &str) -> Result<Option<IdToken>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} {FROM} WHERE t.token = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(token_row)
            .transpose()
    }

    async fn tokens(
        &self,
        filter: &TokenFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<IdToken>, i64), StoreError> {
        let filtered = format!(
            "{FROM} WHERE (CAST($1 AS TEXT) IS NULL OR t.operator_id = $1)
               AND (CAST($2 AS TEXT) IS NULL OR u.username = $2)
               AND (CAST($3 AS TEXT) IS NULL OR t.status = $3)
               AND (CAST($4 AS TEXT) IS NULL
                    OR ((t.operator_id = $4 OR t.operator_id IS NULL) AND t.kind <> 'central'))"
        );
        let operator = filter.operator_id.as_ref().map(OperatorId::as_str);
        let status = filter.status.map(TokenStatus::as_str);
        let usable_at = filter.usable_at.as_ref().map(OperatorId::as_str);
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} {filtered} ORDER BY t.token LIMIT $5 OFFSET $6"
        ))
        .bind(operator)
        .bind(&filter.owner)
        .bind(status)
        .bind(usable_at)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {filtered}"))
            .bind(operator)
            .bind(&filter.owner)
            .bind(status)
            .bind(usable_at)
            .fetch_one(&self.pool)
            .await?;
        Ok((rows.iter().map(token_row).collect::<Result<_, _>>()?, total))
    }

    async fn remove_token(&self, id: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("DELETE FROM id_tokens WHERE token = $1")
            .bind(id)
            .execute(&self.writer)
            .await?
            .rows_affected()
            > 0)
    }

    async fn token_started(
        &self,
        token: &str,
        operator_id: &OperatorId,
        session_ref: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO token_sessions (operator_id, session_ref, token, started_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (operator_id, session_ref) DO NOTHING",
        )
        .bind(operator_id.as_str())
        .bind(session_ref)
        .bind(token)
        .bind(UnixTime(at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn token_sessions(
        &self,
        of: TokensOf<'_>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<(String, String)>, i64), StoreError> {
        let (filtered, key) = match of {
            TokensOf::Token(token) => ("FROM token_sessions s WHERE s.token = $1", token),
            TokensOf::Owner(owner) => (
                "FROM token_sessions s JOIN id_tokens t ON t.token = s.token
                 JOIN users u ON u.id = t.owner_id WHERE u.username = $1",
                owner,
            ),
        };
        let keys: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT s.operator_id, s.session_ref {filtered}
             ORDER BY s.started_at DESC, s.session_ref LIMIT $2 OFFSET $3"
        ))
        .bind(key)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {filtered}"))
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        Ok((keys, total))
    }
}
