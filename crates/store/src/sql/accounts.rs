//! Users and their logins.

use super::*;

use evgrid_model::{AuditEntry, AuditFilter, OperatorId, Role, User};

type UserRow = (i64, String, String, Option<String>);

fn user((id, username, role, operator): UserRow) -> Result<User, StoreError> {
    Ok(User {
        id,
        username,
        role: Role::from_name(&role).ok_or_else(|| corrupt("users", format!("role {role:?}")))?,
        operator_id: operator
            .map(|o| OperatorId::new(&o).map_err(|e| corrupt("users", e.to_string())))
            .transpose()?,
    })
}

#[async_trait]
impl AccountStore for Engine {
    async fn add_audit(&self, e: &AuditEntry) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor, action, target, detail)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(UnixTime(e.at))
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.detail)
        .fetch_one(&self.writer)
        .await?)
    }

    async fn audit_log(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, detail FROM audit_log
             WHERE (CAST($1 AS TEXT) IS NULL OR target = $1)
               AND (CAST($2 AS TEXT) IS NULL OR actor = $2)
               AND at >= $3 AND id < $4
             ORDER BY id DESC LIMIT $5",
        )
        .bind(&f.target)
        .bind(&f.actor)
        .bind(UnixTime(f.since.unwrap_or(0)))
        .bind(f.before.unwrap_or(i64::MAX))
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: r.try_get::<UnixTime, _>("at")?.0,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }

    async fn add_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        operator: Option<&OperatorId>,
        now: i64,
    ) -> Result<User, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO users (username, password_hash, role, operator_id, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING RETURNING id",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role.name())
        .bind(operator.map(OperatorId::as_str))
        .bind(UnixTime(now))
        .fetch_optional(&self.writer)
        .await?;
        let id =
            id.ok_or_else(|| StoreError::Conflict(format!("username {username:?} is taken")))?;
        Ok(User {
            id,
            username: username.to_owned(),
            role,
            operator_id: operator.cloned(),
        })
    }

    async fn set_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE username = $1")
            .bind(username)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        // A new password ends every session of the old one.
        sqlx::query(
            "DELETE FROM user_sessions WHERE user_id = (SELECT id FROM users WHERE username = $1)",
        )
        .bind(username)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn user_login(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        let row: Option<(i64, String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT id, username, role, operator_id, password_hash FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(id, u, r, o, hash)| Ok((user((id, u, r, o))?, hash)))
            .transpose()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> =
            sqlx::query_as("SELECT id, username, role, operator_id FROM users ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(user).collect()
    }

    async fn remove_user(&self, username: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("DELETE FROM users WHERE username = $1")
            .bind(username)
            .execute(&self.writer)
            .await?
            .rows_affected()
            > 0)
    }

    async fn add_login(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM user_sessions WHERE expires_at <= $1")
            .bind(UnixTime(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO user_sessions (token_hash, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(UnixTime(now))
        .bind(UnixTime(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn login_user(&self, token_hash: &str, now: i64) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT u.id, u.username, u.role, u.operator_id FROM user_sessions s
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(UnixTime(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(user).transpose()
    }

    async fn end_login(&self, token_hash: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("DELETE FROM user_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&self.writer)
                .await?
                .rows_affected()
                > 0,
        )
    }
}
