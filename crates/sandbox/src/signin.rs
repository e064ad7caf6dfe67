//! What guards a password check, in the cabinet's sign-in and on the integration endpoints
//! alike:
//!
//! * a bound on concurrent Argon2 work ([`Gate`]): every hash and verification allocates a
//!   19 MiB work area on a blocking thread, so unbounded parallel requests would take the
//!   memory of the machine. A request that finds the gate full waits briefly, then is told
//!   the service is busy;
//! * throttling of failed sign-ins per login and per client address ([`ThrottlePolicy`]):
//!   after a number of consecutive failures every further attempt waits a delay that doubles
//!   per failure. An attempt is reserved (counted as a failure) in one write transaction
//!   before the slow check, so parallel attempts cannot race past the limit; a success
//!   forgives the failures before it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use sqlx::{Row, SqlitePool};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::SandboxError;
use crate::db::now_ms;

/// How long a password check waits for a free slot before the request is told to come back.
pub(crate) const BUSY_WAIT: Duration = Duration::from_secs(1);

/// Password checks (hash or verification) running now and so far, for tests and monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCheckStats {
    /// At most this many run at once (about the number of cores).
    pub limit: usize,
    pub running: usize,
    /// The most that ever ran at once since the start.
    pub high_water: usize,
    /// Finished since the start.
    pub completed: u64,
}

struct GateInner {
    permits: Arc<Semaphore>,
    limit: usize,
    running: AtomicUsize,
    high_water: AtomicUsize,
    completed: AtomicU64,
}

/// The bound on concurrent Argon2 work. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Gate(Arc<GateInner>);

/// The gate stayed full for the whole wait.
#[derive(Debug)]
pub(crate) struct Busy;

/// Counts one running check; dropped on the blocking thread when the work ends, even if the
/// request that started it is gone.
struct Running {
    gate: Gate,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.gate.0.running.fetch_sub(1, Ordering::SeqCst);
        self.gate.0.completed.fetch_add(1, Ordering::SeqCst);
    }
}

impl Gate {
    pub(crate) fn new() -> Self {
        let limit = std::thread::available_parallelism().map(usize::from).unwrap_or(2).max(2);
        Gate(Arc::new(GateInner {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            running: AtomicUsize::new(0),
            high_water: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
        }))
    }

    pub(crate) fn stats(&self) -> PasswordCheckStats {
        PasswordCheckStats {
            limit: self.0.limit,
            running: self.0.running.load(Ordering::SeqCst),
            high_water: self.0.high_water.load(Ordering::SeqCst),
            completed: self.0.completed.load(Ordering::SeqCst),
        }
    }

    /// Runs `work` on a blocking thread once a slot is free: waiting at most `wait`, or as
    /// long as it takes with `None`. The slot is held by the blocking work itself, so a
    /// request dropped mid-check does not free it early.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        wait: Option<Duration>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let acquire = self.0.permits.clone().acquire_owned();
        let permit = match wait {
            Some(w) => match tokio::time::timeout(w, acquire).await {
                Ok(Ok(p)) => p,
                _ => return Err(Busy),
            },
            None => acquire.await.map_err(|_| Busy)?,
        };
        let now = self.0.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.high_water.fetch_max(now, Ordering::SeqCst);
        let running = Running { gate: self.clone(), _permit: permit };
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(running);
            out
        })
        .await
        .map_err(|_| Busy)
    }
}

/// When failed sign-ins slow a login and a client address down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Consecutive failures of one login after which every attempt waits.
    pub login_failures: u32,
    /// The same for one client address (the TCP peer), over all logins.
    pub address_failures: u32,
    /// The wait after the last free failure; it doubles with each further failure.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Failures this old (with no attempt since) are forgotten.
    pub forget_after: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            login_failures: 5,
            address_failures: 20,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(3600),
        }
    }
}

impl ThrottlePolicy {
    /// The wait after the `failures`-th consecutive failure, if any.
    fn delay_ms(&self, failures: i64, threshold: u32) -> Option<i64> {
        let over = failures - i64::from(threshold);
        if over < 0 {
            return None;
        }
        let first = i64::try_from(self.first_delay.as_millis()).unwrap_or(i64::MAX);
        let max = i64::try_from(self.max_delay.as_millis()).unwrap_or(i64::MAX);
        let factor = u32::try_from(over).ok().and_then(|o| 1i64.checked_shl(o)).filter(|f| *f > 0).unwrap_or(i64::MAX);
        Some(first.saturating_mul(factor).min(max))
    }
}

/// Whose failures an attempt counts toward.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LoginKind {
    Cabinet,
    Integration,
}

fn login_key(kind: LoginKind, login: &str) -> String {
    let prefix = match kind {
        LoginKind::Cabinet => "cabinet",
        LoginKind::Integration => "integration",
    };
    // No login is that long: a hash keeps the table's keys small whatever is sent.
    if login.len() <= 128 {
        format!("{prefix}:{login}")
    } else {
        format!("{prefix}#{}", crate::passwords::token_hash(login))
    }
}

fn address_key(addr: IpAddr) -> String {
    format!("address:{addr}")
}

/// An attempt counted in advance: `k` is the login's failure count including this attempt.
pub(crate) struct Reservation {
    login_key: String,
    login_k: i64,
    address_key: String,
}

/// Why a password was not checked.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Too many failures: the next attempt is possible after this many seconds.
    Throttled {
        retry_after_secs: u64,
    },
    /// Every slot for a password check stayed busy.
    Busy,
    Storage(SandboxError),
}

impl From<sqlx::Error> for Refused {
    fn from(e: sqlx::Error) -> Self {
        Refused::Storage(SandboxError::Db(e))
    }
}

/// Integration credentials that passed Argon2 lately, so that a benchmark's thousands of calls
/// with one login do not each pay the 19 MiB hash (off by default: every call is verified).
/// An entry holds a keyed SHA-256 of the password (the key is random per process, nothing is
/// written anywhere) and the stored Argon2 hash it matched: a regenerated password changes the
/// stored hash, so the entry stops matching at once.
#[derive(Default)]
struct CredentialCache {
    ttl: Option<Duration>,
    key: [u8; 32],
    entries: HashMap<String, CachedCredential>,
}

struct CachedCredential {
    stored: String,
    digest: [u8; 32],
    until: Instant,
}

/// The most entries kept; beyond it the cache is emptied (a benchmark has a handful of logins).
const CACHE_MAX_ENTRIES: usize = 10_000;

impl CredentialCache {
    fn digest(&self, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    fn hit(&self, login: &str, password: &str, stored: &str) -> bool {
        let Some(e) = self.entries.get(login) else { return false };
        let digest = self.digest(password);
        e.until > Instant::now()
            && e.stored == stored
            && crate::passwords::constant_time_eq(&hex(&e.digest), &hex(&digest))
    }

    fn remember(&mut self, login: &str, password: &str, stored: &str) {
        let Some(ttl) = self.ttl else { return };
        if self.entries.len() >= CACHE_MAX_ENTRIES {
            self.entries.clear();
        }
        let digest = self.digest(password);
        self.entries.insert(
            login.to_owned(),
            CachedCredential { stored: stored.to_owned(), digest, until: Instant::now() + ttl },
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The gate and the throttle, shared by the directory, the cabinet and the exchange.
#[derive(Clone)]
pub(crate) struct Guard {
    pub(crate) gate: Gate,
    policy: Arc<Mutex<ThrottlePolicy>>,
    cache: Arc<Mutex<CredentialCache>>,
}

impl Guard {
    pub(crate) fn new() -> Self {
        Guard {
            gate: Gate::new(),
            policy: Arc::new(Mutex::new(ThrottlePolicy::default())),
            cache: Arc::new(Mutex::new(CredentialCache::default())),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, CredentialCache> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Turns the cache of verified integration credentials on for `ttl` per entry, or off
    /// (`None`, the default); either way it starts empty.
    pub(crate) fn set_credential_cache(&self, ttl: Option<Duration>) {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
        *self.cache() = CredentialCache { ttl: ttl.filter(|t| !t.is_zero()), key, entries: HashMap::new() };
    }

    pub(crate) fn credential_cache(&self) -> Option<Duration> {
        self.cache().ttl
    }

    pub(crate) fn policy(&self) -> ThrottlePolicy {
        self.policy.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub(crate) fn set_policy(&self, p: ThrottlePolicy) {
        *self.policy.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = p;
    }

    /// Checks `password` against `stored` (`None`: no such user or no password yet, which
    /// still costs a verification) for `login` from `addr`: reserved first, then verified in
    /// the gate. `Ok(true)` only for a match.
    ///
    /// The check runs to its end in a task of its own: a client that hangs up meanwhile (hyper
    /// then drops the request's handler) must not leave its reserved attempt counted as a
    /// failure, or a client whose connections break would throttle itself with a right password.
    pub(crate) async fn check(
        &self,
        db: &SqlitePool,
        kind: LoginKind,
        login: &str,
        addr: IpAddr,
        password: &str,
        stored: Option<String>,
    ) -> Result<bool, Refused> {
        let (me, db, login, password) = (self.clone(), db.clone(), login.to_owned(), password.to_owned());
        let task = tokio::spawn(async move { me.check_to_the_end(&db, kind, &login, addr, &password, stored).await });
        match task.await {
            Ok(r) => r,
            Err(e) => Err(Refused::Storage(SandboxError::Password(format!("the password check failed: {e}")))),
        }
    }

    async fn check_to_the_end(
        &self,
        db: &SqlitePool,
        kind: LoginKind,
        login: &str,
        addr: IpAddr,
        password: &str,
        stored: Option<String>,
    ) -> Result<bool, Refused> {
        let reservation = self.reserve(db, kind, login, addr).await?;
        // Only integration logins are cached; throttling above applies to a cached login too.
        let cacheable = matches!(kind, LoginKind::Integration) && self.cache().ttl.is_some();
        let hit = cacheable && stored.as_deref().is_some_and(|s| self.cache().hit(login, password, s));
        if hit {
            self.forgive(db, &reservation).await?;
            return Ok(true);
        }
        let remember = if cacheable { stored.clone() } else { None };
        match crate::passwords::verify(&self.gate, password.to_owned(), stored).await {
            Ok(true) => {
                if let Some(s) = remember {
                    self.cache().remember(login, password, &s);
                }
                self.forgive(db, &reservation).await?;
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(Busy) => {
                // No check ran: the attempt does not count.
                self.refund(db, &reservation).await?;
                Err(Refused::Busy)
            }
        }
    }

    /// Counts the attempt for the login and the address in one write transaction, unless
    /// either must still wait; then nothing is counted and the password is not checked.
    async fn reserve(
        &self,
        db: &SqlitePool,
        kind: LoginKind,
        login: &str,
        addr: IpAddr,
    ) -> Result<Reservation, Refused> {
        let policy = self.policy();
        let now = now_ms();
        let forget = i64::try_from(policy.forget_after.as_millis()).unwrap_or(i64::MAX);
        let keys = [(login_key(kind, login), policy.login_failures), (address_key(addr), policy.address_failures)];
        let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
        let mut counts = [0i64; 2];
        let mut wait_ms = 0i64;
        for (i, (key, threshold)) in keys.iter().enumerate() {
            let row = sqlx::query("SELECT failures, last_at, next_allowed_at FROM sign_in_failures WHERE key = ?1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            let (failures, last_at, next_allowed_at): (i64, i64, i64) = match row {
                Some(r) => (r.try_get("failures")?, r.try_get("last_at")?, r.try_get("next_allowed_at")?),
                None => (0, now, 0),
            };
            if now < next_allowed_at {
                wait_ms = wait_ms.max(next_allowed_at - now);
                continue;
            }
            let failures = if now.saturating_sub(last_at) >= forget { 0 } else { failures };
            let k = failures + 1;
            let next = policy.delay_ms(k, *threshold).map_or(0, |d| now.saturating_add(d));
            // The condition repeats the check above, so the reservation holds on its own.
            let done = sqlx::query(
                "INSERT INTO sign_in_failures (key, failures, last_at, next_allowed_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at, \
                 next_allowed_at = excluded.next_allowed_at WHERE sign_in_failures.next_allowed_at <= ?3",
            )
            .bind(key)
            .bind(k)
            .bind(now)
            .bind(next)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                wait_ms = wait_ms.max(1);
            }
            counts[i] = k;
        }
        if wait_ms > 0 {
            tx.rollback().await?;
            let retry_after_secs = u64::try_from(wait_ms.saturating_add(999) / 1000).unwrap_or(1).max(1);
            tracing::info!(login, %addr, retry_after_secs, "sign-in throttled");
            return Err(Refused::Throttled { retry_after_secs });
        }
        tx.commit().await?;
        let [(login_key, _), (address_key, _)] = keys;
        Ok(Reservation { login_key, login_k: counts[0], address_key })
    }

    /// A success: the login's failures up to this attempt are forgiven (attempts reserved
    /// after it still count); the address gets back only this attempt, so one good account
    /// does not clear the address for guessing others.
    async fn forgive(&self, db: &SqlitePool, r: &Reservation) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE sign_in_failures SET failures = MAX(failures - ?2, 0), \
             next_allowed_at = CASE WHEN failures - ?2 <= 0 THEN 0 ELSE next_allowed_at END WHERE key = ?1",
        )
        .bind(&r.login_key)
        .bind(r.login_k)
        .execute(db)
        .await?;
        sqlx::query("UPDATE sign_in_failures SET failures = MAX(failures - 1, 0) WHERE key = ?1")
            .bind(&r.address_key)
            .execute(db)
            .await?;
        Ok(())
    }

    /// The attempt was not checked after all.
    async fn refund(&self, db: &SqlitePool, r: &Reservation) -> Result<(), sqlx::Error> {
        for key in [&r.login_key, &r.address_key] {
            sqlx::query("UPDATE sign_in_failures SET failures = MAX(failures - 1, 0) WHERE key = ?1")
                .bind(key)
                .execute(db)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_from_the_threshold_and_is_capped() {
        let p = ThrottlePolicy::default();
        let d = |n| p.delay_ms(n, 5);
        assert_eq!((d(4), d(5), d(6), d(7)), (None, Some(1000), Some(2000), Some(4000)));
        assert_eq!(d(15), Some(900_000));
        assert_eq!(d(10_000), Some(900_000));
    }
}
