//! Accounts: registration, login with a rate limit, sessions by bearer token or cookie, and the
//! users an admin adds. Passwords are hashed with Argon2id (the crate's defaults: 19 MiB, 2
//! passes); tokens are 32 random bytes, stored only as their SHA-256.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use evgrid_model::account::{check_binding, check_password, check_username, AccountRuleError};
use evgrid_model::time::unix_now;
use evgrid_model::{OperatorId, Role, User};
use sha2::{Digest, Sha256};

use evgrid_store::Store;

use crate::{hex, random_bytes, random_hex, AppError};

/// How long a session lasts, seconds (7 days).
pub const SESSION_SECONDS: i64 = 7 * 86_400;

/// Failed logins of one username allowed per window before it is refused for a while.
pub const MAX_FAILURES: usize = 5;

/// The rate-limit window, seconds.
pub const FAILURE_WINDOW_SECONDS: i64 = 60;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Rule(#[from] AccountRuleError),
    #[error("username {0:?} is taken")]
    Taken(String),
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many failed logins for this username; try again in {0} s")]
    RateLimited(i64),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Registry(#[from] AppError),
}

impl From<evgrid_store::StoreError> for AccountError {
    fn from(e: evgrid_store::StoreError) -> Self {
        match e {
            evgrid_store::StoreError::Conflict(m) => AccountError::Taken(m),
            other => AccountError::Registry(other.into()),
        }
    }
}

/// Failed logins per username (in memory: a restart forgets them).
#[derive(Debug, Default)]
pub struct LoginLimiter(Mutex<HashMap<String, Vec<i64>>>);

impl LoginLimiter {
    /// Seconds until `username` may try again, if it is locked now.
    fn locked_for(&self, username: &str, now: i64) -> Option<i64> {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let failures = map.entry(username.to_owned()).or_default();
        failures.retain(|t| now - t < FAILURE_WINDOW_SECONDS);
        (failures.len() >= MAX_FAILURES).then(|| {
            failures
                .first()
                .map_or(1, |t| FAILURE_WINDOW_SECONDS - (now - t))
                .max(1)
        })
    }

    fn fail(&self, username: &str, now: i64) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, v| v.iter().any(|t| now - t < FAILURE_WINDOW_SECONDS));
        }
        map.entry(username.to_owned()).or_default().push(now);
    }

    fn clear(&self, username: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(username);
    }
}

/// Hashes a password with Argon2id and a random salt (CPU-bound: tens of milliseconds).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt_bytes = random_bytes(16).map_err(|e| AccountError::Hash(e.to_string()))?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The stored form of a session token.
fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A hash to verify against when the username is unknown, so that the answer takes as long.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("evgrid-no-such-user").unwrap_or_default())
}

/// A new session.
#[derive(Debug, Clone)]
pub struct Login {
    pub token: String,
    pub user: User,
    pub expires_at: i64,
}

/// Users, roles and logins.
#[derive(Debug)]
pub struct Accounts {
    store: Store,
    /// Failed logins per username.
    logins: LoginLimiter,
}

impl Accounts {
    pub(crate) fn new(store: Store) -> Self {
        Self {
            store,
            logins: LoginLimiter::default(),
        }
    }

    /// Adds a user (admins add operators, regulators and admins; drivers register).
    pub async fn add_user(
        &self,
        username: &str,
        password: &str,
        role: Role,
        operator: Option<&OperatorId>,
    ) -> Result<User, AccountError> {
        check_username(username)?;
        check_password(password)?;
        check_binding(role, operator)?;
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))??;
        Ok(self
            .store
            .add_user(username, &hash, role, operator, unix_now())
            .await?)
    }

    /// A driver registers.
    pub async fn register_driver(
        &self,
        username: &str,
        password: &str,
    ) -> Result<User, AccountError> {
        self.add_user(username, password, Role::Driver, None).await
    }

    /// Sets a new password (ending the user's sessions); false for no such user.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<bool, AccountError> {
        check_password(password)?;
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))??;
        Ok(self.store.set_password(username, &hash).await?)
    }

    /// Logs in: a fresh token for a right password; after [`MAX_FAILURES`] wrong ones within
    /// [`FAILURE_WINDOW_SECONDS`] the username is refused until the window passes.
    pub async fn login(&self, username: &str, password: &str) -> Result<Login, AccountError> {
        let now = unix_now();
        if let Some(wait) = self.logins.locked_for(username, now) {
            return Err(AccountError::RateLimited(wait));
        }
        let found = self.store.user_login(username).await?;
        let stored = found
            .as_ref()
            .map_or_else(|| dummy_hash().to_owned(), |(_, h)| h.clone());
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))?;
        let Some((user, _)) = found.filter(|_| ok) else {
            self.logins.fail(username, now);
            return Err(AccountError::BadCredentials);
        };
        self.logins.clear(username);
        let token = random_hex(32).map_err(|e| AccountError::Hash(e.to_string()))?;
        let expires_at = now + SESSION_SECONDS;
        self.store
            .add_login(&token_hash(&token), user.id, now, expires_at)
            .await?;
        Ok(Login {
            token,
            user,
            expires_at,
        })
    }

    /// The user a token belongs to, while its session lasts.
    pub async fn authenticate(&self, token: &str) -> Result<Option<User>, AppError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        Ok(self
            .store
            .login_user(&token_hash(token), unix_now())
            .await?)
    }

    /// Every user.
    pub async fn users(&self) -> Result<Vec<User>, AppError> {
        Ok(self.store.users().await?)
    }

    /// A user by name.
    pub async fn find_user(&self, username: &str) -> Result<Option<User>, AppError> {
        Ok(self.store.user_login(username).await?.map(|(user, _)| user))
    }

    /// Removes a user and ends the user's logins; whether there was such a user.
    pub async fn remove_user(&self, username: &str) -> Result<bool, AppError> {
        Ok(self.store.remove_user(username).await?)
    }

    /// Ends a login; false when the token had none.
    pub async fn logout(&self, token: &str) -> Result<bool, AppError> {
        Ok(self.store.end_login(&token_hash(token)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn register_login_authenticate_logout_and_the_rate_limit() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Accounts::new(Store::open_sqlite_dir(dir.path()).await.unwrap());
        let user = registry
            .register_driver("driver.one", "correct horse battery")
            .await
            .unwrap();
        assert_eq!(user.role, Role::Driver);
        assert!(matches!(
            registry
                .register_driver("driver.one", "another long pass")
                .await,
            Err(AccountError::Taken(_))
        ));
        assert!(matches!(
            registry.register_driver("x", "correct horse battery").await,
            Err(AccountError::Rule(_))
        ));
        let login = registry
            .login("driver.one", "correct horse battery")
            .await
            .unwrap();
        assert_eq!(
            registry.authenticate(&login.token).await.unwrap(),
            Some(user.clone())
        );
        assert_eq!(registry.authenticate("not a token").await.unwrap(), None);
        assert!(registry.logout(&login.token).await.unwrap());
        assert_eq!(registry.authenticate(&login.token).await.unwrap(), None);
        // Wrong passwords, then the limit, which holds even for the right password.
        for _ in 0..MAX_FAILURES {
            assert!(matches!(
                registry.login("driver.one", "wrong password!").await,
                Err(AccountError::BadCredentials)
            ));
        }
        assert!(matches!(
            registry.login("driver.one", "correct horse battery").await,
            Err(AccountError::RateLimited(_))
        ));
        // An unknown user is refused like a wrong password.
        assert!(matches!(
            registry.login("nobody-here", "whatever password").await,
            Err(AccountError::BadCredentials)
        ));
        // Roles other than driver are bound or not as the rules say.
        let op = OperatorId::new("EVGSYN001").unwrap();
        assert!(registry
            .add_user("op1", "operator password", Role::Operator, None)
            .await
            .is_err());
        let o = registry
            .add_user("op1", "operator password", Role::Operator, Some(&op))
            .await
            .unwrap();
        assert_eq!(o.operator_id, Some(op));
        // A new password ends the old sessions.
        let s = registry.login("op1", "operator password").await.unwrap();
        assert!(registry
            .set_password("op1", "a new operator password")
            .await
            .unwrap());
        assert_eq!(registry.authenticate(&s.token).await.unwrap(), None);
    }
}
