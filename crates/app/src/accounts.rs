//! Accounts: registration, login with a rate limit, sessions by bearer token or cookie, and the
//! users an admin adds. Passwords are hashed with Argon2id (the crate's defaults: 19 MiB, 2
//! passes); tokens are 32 random bytes, stored only as their SHA-256.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::Argon2;
use evgrid_model::account::{check_binding, check_password, check_username, AccountRuleError};
use evgrid_model::time::unix_now;
use evgrid_model::{AuditEntry, AuditFilter, OperatorId, Role, User};
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
    /// The username is taken (the message names it).
    #[error("{0}")]
    Taken(String),
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many failed logins for this username; try again in {0} s")]
    RateLimited(i64),
    #[error("too many attempts from this address; try again in {0} s")]
    AddressLimited(i64),
    #[error("the server is busy checking passwords; try again in {0} s")]
    Busy(i64),
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

/// Keys (usernames, client addresses) the failure table holds at most; past it the keys whose
/// window has passed are dropped, then the oldest. With usernames validated first (at most 32
/// characters) the table stays under a few megabytes whatever an attacker sends.
pub const MOST_KEYS: usize = 10_000;

/// Failed attempts per key within a window (in memory, per node: a restart forgets them, and
/// each node of several counts its own), bounded by [`MOST_KEYS`].
#[derive(Debug)]
pub struct AttemptLimiter {
    /// Attempts allowed per key within the window.
    most: usize,
    /// The window, seconds.
    window: i64,
    attempts: Mutex<HashMap<String, Vec<i64>>>,
}

impl AttemptLimiter {
    /// A limiter of `most` attempts per key within `window` seconds.
    pub fn new(most: usize, window: i64) -> Self {
        Self {
            most,
            window,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until `key` may try again, if it is locked now. Reads only: keys that never
    /// failed take no room.
    pub fn locked_for(&self, key: &str, now: i64) -> Option<i64> {
        let map = self
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let recent: Vec<i64> = map
            .get(key)?
            .iter()
            .copied()
            .filter(|t| now - t < self.window)
            .collect();
        (recent.len() >= self.most)
            .then(|| recent.first().map_or(1, |t| self.window - (now - t)).max(1))
    }

    /// Counts one failed attempt of `key`.
    pub fn fail(&self, key: &str, now: i64) {
        let mut map = self
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MOST_KEYS && !map.contains_key(key) {
            let window = self.window;
            map.retain(|_, v| v.iter().any(|t| now - t < window));
            if map.len() >= MOST_KEYS {
                let oldest = map
                    .iter()
                    .min_by_key(|(_, v)| v.last().copied().unwrap_or(i64::MIN))
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    map.remove(&oldest);
                }
            }
        }
        let failures = map.entry(key.to_owned()).or_default();
        failures.retain(|t| now - t < self.window);
        // Only the last `most` matter for the lock.
        if failures.len() >= self.most {
            failures.remove(0);
        }
        failures.push(now);
    }

    /// Forgets `key`'s failures (it succeeded).
    pub fn clear(&self, key: &str) {
        self.attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Password hashes or checks one client address may cause per window (failed logins and
/// registrations), whatever usernames it tries.
pub const MAX_PER_ADDRESS: usize = 60;

/// How long a request waits for a turn at password hashing before it is told to come back.
pub const HASH_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The most memory a stored hash may ask for, KiB (the defaults ask for 19 MiB); a hash asking
/// more is not checked (it was not written by evgrid).
const MOST_HASH_KIB: u32 = 64 * 1024;

/// Runs Argon2 with this thread's own memory, kept from one hash to the next: allocating 19 MiB
/// a hash left the allocator holding 19 MiB more after each of them (RSS rising with every
/// login), so the hashing threads each reuse one buffer.
fn argon2_into(
    argon2: &Argon2<'_>,
    block_count: usize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    thread_local! {
        static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < block_count {
            blocks.resize(block_count, argon2::Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..block_count])
    })
}

/// Hashes a password with Argon2id and a random salt (CPU-bound: tens of milliseconds).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let failed = |e: &dyn std::fmt::Display| AccountError::Hash(e.to_string());
    let salt_bytes = random_bytes(16).map_err(|e| failed(&e))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| failed(&e))?;
    let params = argon2::Params::default();
    let argon2 = Argon2::default();
    let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
    argon2_into(
        &argon2,
        params.block_count(),
        password.as_bytes(),
        &salt_bytes,
        &mut out,
    )
    .map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: argon2::Algorithm::Argon2id.ident(),
        version: Some(argon2::Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(argon2::password_hash::Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` is the one `stored` (a PHC string) was made from.
fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        argon2::Algorithm::try_from(hash.algorithm),
        argon2::Version::try_from(hash.version.unwrap_or(0x13)),
        argon2::Params::try_from(&hash),
    ) else {
        return false;
    };
    if params.m_cost() > MOST_HASH_KIB {
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let block_count = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon2, block_count, password.as_bytes(), salt_bytes, &mut out).is_ok()
        // Output's equality is constant-time.
        && argon2::password_hash::Output::new(&out).is_ok_and(|computed| computed == expected)
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
    logins: AttemptLimiter,
    /// Failed logins and registrations per client address.
    addresses: AttemptLimiter,
    /// Turns at password hashing: one per core, so that a flood of logins costs at most that
    /// many Argon2 buffers (19 MiB each) and leaves the rest of the server its threads.
    hashing: tokio::sync::Semaphore,
    /// The threads that hash, one per turn.
    hashers: HashThreads,
}

/// Work for a hashing thread.
type HashWork = Box<dyn FnOnce() + Send>;

/// A fixed set of threads for password hashing. Not tokio's blocking pool: each of its many
/// threads would keep its own 19 MiB in the allocator after one hash (a flood of 400 logins
/// left 570 MiB resident); these few reuse theirs.
#[derive(Debug)]
struct HashThreads(std::sync::mpsc::Sender<HashWork>);

impl HashThreads {
    fn start(threads: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<HashWork>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for n in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("evgrid-hash-{n}"))
                .spawn(move || loop {
                    let work = rx
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    match work {
                        Ok(work) => work(),
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Self(tx)
    }

    /// Runs `work` on one of the threads; its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.0
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| AccountError::Hash("the hashing threads stopped".into()))?;
        result
            .await
            .map_err(|_| AccountError::Hash("a hashing thread failed".into()))
    }
}

/// Who did something, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor<'a> {
    /// A logged-in user.
    User(&'a str),
    /// The command line, with the system user running it where known.
    CommandLine,
}

impl Actor<'_> {
    /// The name written to the log: `user:NAME` or `cli:SYSTEM-USER`.
    pub fn name(&self) -> String {
        match self {
            Actor::User(name) => format!("user:{name}"),
            Actor::CommandLine => match std::env::var("USER") {
                Ok(system) if !system.is_empty() => format!("cli:{system}"),
                _ => "cli".to_owned(),
            },
        }
    }
}

/// Most lines one read of the audit log gives.
pub const AUDIT_PAGE_MOST: i64 = 1_000;

impl Accounts {
    /// Writes a line to the audit log (who did `action` to `target`; `detail` never holds a
    /// secret). The line is committed before this returns.
    pub async fn audit(
        &self,
        actor: &Actor<'_>,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), AppError> {
        let entry = AuditEntry {
            id: 0,
            at: unix_now(),
            actor: actor.name(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail: detail.chars().take(1_000).collect(),
        };
        self.store.add_audit(&entry).await?;
        tracing::info!(actor = %entry.actor, action, target, detail = %entry.detail, "audit");
        Ok(())
    }

    /// Lines of the audit log, newest first (at most [`AUDIT_PAGE_MOST`]).
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, AppError> {
        let filter = AuditFilter {
            limit: filter.limit.clamp(1, AUDIT_PAGE_MOST),
            ..filter.clone()
        };
        Ok(self.store.audit_log(&filter).await?)
    }

    pub(crate) fn new(store: Store) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self {
            store,
            logins: AttemptLimiter::new(MAX_FAILURES, FAILURE_WINDOW_SECONDS),
            addresses: AttemptLimiter::new(MAX_PER_ADDRESS, FAILURE_WINDOW_SECONDS),
            hashing: tokio::sync::Semaphore::new(cores),
            hashers: HashThreads::start(cores),
        }
    }

    /// Runs `work` (a password hash or check) on a blocking thread once a turn is free; a
    /// request that waits longer than [`HASH_QUEUE_WAIT`] is told to come back.
    async fn hashing<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let turn = tokio::time::timeout(HASH_QUEUE_WAIT, self.hashing.acquire())
            .await
            .map_err(|_| AccountError::Busy(HASH_QUEUE_WAIT.as_secs().max(1).cast_signed()))?
            .map_err(|e| AccountError::Hash(e.to_string()))?;
        let done = self.hashers.run(work).await;
        drop(turn);
        done
    }

    /// Refuses a client address that failed too often in the window.
    fn check_address(
        &self,
        client: Option<std::net::IpAddr>,
        now: i64,
    ) -> Result<(), AccountError> {
        match client.and_then(|a| self.addresses.locked_for(&a.to_string(), now)) {
            Some(wait) => Err(AccountError::AddressLimited(wait)),
            None => Ok(()),
        }
    }

    fn address_failed(&self, client: Option<std::net::IpAddr>, now: i64) {
        if let Some(address) = client {
            self.addresses.fail(&address.to_string(), now);
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
        let hash = self.hashing(move || hash_password(&password)).await??;
        Ok(self
            .store
            .add_user(username, &hash, role, operator, unix_now())
            .await?)
    }

    /// A driver registers from `client` (counted against the address's limit).
    pub async fn register_driver(
        &self,
        username: &str,
        password: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<User, AccountError> {
        let now = unix_now();
        self.check_address(client, now)?;
        check_username(username)?;
        check_password(password)?;
        self.address_failed(client, now);
        self.add_user(username, password, Role::Driver, None).await
    }

    /// Sets a new password (ending the user's sessions); false for no such user.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<bool, AccountError> {
        check_password(password)?;
        let password = password.to_owned();
        let hash = self.hashing(move || hash_password(&password)).await??;
        Ok(self.store.set_password(username, &hash).await?)
    }

    /// Logs in from `client`: a fresh token for a right password; after [`MAX_FAILURES`] wrong
    /// ones within [`FAILURE_WINDOW_SECONDS`] the username is refused until the window passes,
    /// and after [`MAX_PER_ADDRESS`] failures the client address. A malformed username is
    /// refused before anything else (no hashing, no room in the tables); an unknown one is
    /// checked against a dummy hash so that it takes as long as a wrong password.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<Login, AccountError> {
        check_username(username)?;
        let now = unix_now();
        self.check_address(client, now)?;
        if let Some(wait) = self.logins.locked_for(username, now) {
            return Err(AccountError::RateLimited(wait));
        }
        if check_password(password).is_err() {
            // No account has such a password: nothing to check.
            self.logins.fail(username, now);
            self.address_failed(client, now);
            return Err(AccountError::BadCredentials);
        }
        let found = self.store.user_login(username).await?;
        let stored = found.as_ref().map(|(_, h)| h.clone());
        let password = password.to_owned();
        let ok = self
            .hashing(move || match &stored {
                Some(stored) => verify_password(&password, stored),
                None => verify_password(&password, dummy_hash()),
            })
            .await?;
        let Some((user, _)) = found.filter(|_| ok) else {
            self.logins.fail(username, now);
            self.address_failed(client, now);
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
            .register_driver("driver.one", "correct horse battery", None)
            .await
            .unwrap();
        assert_eq!(user.role, Role::Driver);
        assert!(matches!(
            registry
                .register_driver("driver.one", "another long pass", None)
                .await,
            Err(AccountError::Taken(_))
        ));
        assert!(matches!(
            registry
                .register_driver("x", "correct horse battery", None)
                .await,
            Err(AccountError::Rule(_))
        ));
        let login = registry
            .login("driver.one", "correct horse battery", None)
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
                registry.login("driver.one", "wrong password!", None).await,
                Err(AccountError::BadCredentials)
            ));
        }
        assert!(matches!(
            registry
                .login("driver.one", "correct horse battery", None)
                .await,
            Err(AccountError::RateLimited(_))
        ));
        // An unknown user is refused like a wrong password.
        assert!(matches!(
            registry
                .login("nobody-here", "whatever password", None)
                .await,
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
        let s = registry
            .login("op1", "operator password", None)
            .await
            .unwrap();
        assert!(registry
            .set_password("op1", "a new operator password")
            .await
            .unwrap());
        assert_eq!(registry.authenticate(&s.token).await.unwrap(), None);
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_are_verified() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("correct horse battery", &theirs));
        assert!(!verify_password("correct horse batterz", &theirs));
        let ours = hash_password("correct horse battery").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(verify_password("correct horse battery", &ours));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[tokio::test]
    async fn floods_of_bad_logins_take_bounded_room_and_addresses_are_limited() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::new(Store::open_sqlite_dir(dir.path()).await.unwrap());
        // A malformed username (4 MiB) is refused before anything: no row in any table.
        let huge = "u".repeat(4 << 20);
        assert!(matches!(
            accounts.login(&huge, "whatever password", None).await,
            Err(AccountError::Rule(_))
        ));
        assert!(accounts.logins.is_empty());
        // One address: refused after MAX_PER_ADDRESS failures, whatever the usernames; another
        // address is not.
        let attacker: std::net::IpAddr = "127.0.0.9".parse().unwrap();
        let now = unix_now();
        for i in 0..MAX_PER_ADDRESS {
            accounts.addresses.fail(&attacker.to_string(), now);
            accounts.logins.fail(&format!("user{i}"), now);
        }
        assert!(matches!(
            accounts
                .login("someone.else", "whatever password", Some(attacker))
                .await,
            Err(AccountError::AddressLimited(_))
        ));
        assert!(matches!(
            accounts
                .register_driver("new.driver", "a long password", Some(attacker))
                .await,
            Err(AccountError::AddressLimited(_))
        ));
        assert!(matches!(
            accounts
                .login(
                    "someone.else",
                    "whatever password",
                    Some("127.0.0.8".parse().unwrap())
                )
                .await,
            Err(AccountError::BadCredentials)
        ));
        // The username table never holds more than MOST_KEYS, however many names fail.
        for i in 0..(MOST_KEYS + 500) {
            accounts.logins.fail(&format!("name{i}"), now);
        }
        assert!(accounts.logins.len() <= MOST_KEYS);
    }

    #[tokio::test]
    async fn hashing_waits_its_turn_and_a_full_queue_is_told_to_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::new(Store::open_sqlite_dir(dir.path()).await.unwrap());
        // Every turn taken (as by a flood): a login waits HASH_QUEUE_WAIT, then is told Busy.
        let turns = accounts.hashing.available_permits();
        let held = accounts.hashing.acquire_many(turns as u32).await.unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(
            accounts
                .login("driver.two", "correct horse battery", None)
                .await,
            Err(AccountError::Busy(_))
        ));
        assert!(started.elapsed() >= HASH_QUEUE_WAIT);
        drop(held);
        assert!(matches!(
            accounts
                .login("driver.two", "correct horse battery", None)
                .await,
            Err(AccountError::BadCredentials)
        ));
    }
}
