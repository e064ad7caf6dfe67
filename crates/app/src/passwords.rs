//! Password hashing and checking with Argon2id, bounded.
//!
//! Every Argon2 computation allocates its whole work area (19 MiB with the default
//! parameters). Run without a bound, a burst of parallel sign-ins takes gigabytes, and memory
//! that glibc handed to many short-lived blocking threads is never returned. So the checks run
//! on a few dedicated threads (about one per core), and a request that finds them all busy
//! waits at most [`QUEUE_WAIT`] before it is told to come back later.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::{Semaphore, oneshot};

/// How long a sign-in waits for a free password checker before it is answered 503.
pub const QUEUE_WAIT: Duration = Duration::from_secs(1);
/// What `Retry-After` says when the checkers are busy.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// All password checkers were busy for [`QUEUE_WAIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

pub const BUSY_MESSAGE: &str =
    "Сервер сейчас проверяет много входов одновременно. Повторите вход через несколько секунд.";

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads that run Argon2, and a semaphore with as many permits, so a job
/// never waits in the channel behind another.
pub struct PasswordCheckers {
    permits: Semaphore,
    jobs: Mutex<mpsc::Sender<Job>>,
    running: Arc<AtomicUsize>,
    most_running: Arc<AtomicUsize>,
    size: usize,
}

impl PasswordCheckers {
    pub fn new(threads: usize) -> PasswordCheckers {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("password-check-{i}")).spawn(move || {
                loop {
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password checker thread");
            }
        }
        PasswordCheckers {
            permits: Semaphore::new(threads),
            jobs: Mutex::new(tx),
            running: Arc::new(AtomicUsize::new(0)),
            most_running: Arc::new(AtomicUsize::new(0)),
            size: threads,
        }
    }

    /// The process-wide checkers: one per core.
    pub fn shared() -> &'static PasswordCheckers {
        static SHARED: OnceLock<PasswordCheckers> = OnceLock::new();
        SHARED.get_or_init(|| PasswordCheckers::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)))
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// The most computations that ever ran at the same time (for tests and diagnostics).
    pub fn most_running(&self) -> usize {
        self.most_running.load(Ordering::SeqCst)
    }

    /// Runs `f` on a checker thread, waiting at most `wait` for one to be free.
    pub async fn run<T: Send + 'static>(
        &self,
        wait: Duration,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let permit = tokio::time::timeout(wait, self.permits.acquire()).await.map_err(|_| Busy)?.map_err(|_| Busy)?;
        let (tx, rx) = oneshot::channel();
        let running = self.running.clone();
        let most = self.most_running.clone();
        let job: Job = Box::new(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            let out = f();
            running.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send(out);
        });
        let sent = self.jobs.lock().map_err(|_| Busy)?.send(job);
        if sent.is_err() {
            return Err(Busy);
        }
        let out = rx.await.map_err(|_| Busy);
        drop(permit);
        out
    }
}

/// Hashes a password with Argon2id (default parameters: 19 MiB, 2 passes).
pub async fn hash(password: String) -> Result<String, HashError> {
    PasswordCheckers::shared()
        .run(Duration::from_secs(60), move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
        })
        .await
        .map_err(|_| HashError::Busy)?
        .map_err(|e| HashError::Argon2(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password checkers are busy")]
    Busy,
    #[error("argon2: {0}")]
    Argon2(String),
}

/// A hash nobody's password matches; an unknown login is checked against it, so that the
/// answer takes the same time whether the login exists or not.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0BNwWcUQMo2RVZbtyNZB0A6XrZmWZxwsXHo2NNhw2m8";

/// Verifies against a stored PHC string (`None`: no such user; still costs one check).
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, Busy> {
    PasswordCheckers::shared()
        .run(QUEUE_WAIT, move || {
            let exists = stored.is_some();
            let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
            let ok = PasswordHash::new(&stored)
                .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
                .unwrap_or(false);
            ok && exists
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn never_more_checks_at_once_than_threads_and_the_rest_are_told_busy() {
        let checkers = Arc::new(PasswordCheckers::new(2));
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let c = checkers.clone();
            tasks.push(tokio::spawn(async move {
                c.run(Duration::from_millis(50), || std::thread::sleep(Duration::from_millis(200))).await
            }));
        }
        let mut busy = 0;
        for t in tasks {
            if t.await.unwrap().is_err() {
                busy += 1;
            }
        }
        assert_eq!(checkers.most_running(), 2);
        assert!(busy >= 8, "only {busy} of 12 were refused although two threads were busy for 200 ms");
    }

    #[tokio::test]
    async fn a_hash_verifies_and_a_wrong_password_does_not() {
        let h = hash("верный пароль 1".into()).await.unwrap();
        assert!(verify("верный пароль 1".into(), Some(h.clone())).await.unwrap());
        assert!(!verify("неверный".into(), Some(h)).await.unwrap());
        assert!(!verify("любой".into(), None).await.unwrap());
    }
}
