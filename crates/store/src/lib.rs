//! Persistence for plangraf on SQLite (the embedded default) and PostgreSQL (production).
//!
//! Every query is written once: the schema uses only portable column types (BIGINT, TEXT), so
//! sqlx's `Any` driver runs the same SQL on both backends. Only the auto-increment key in the
//! migrations and the outbox claim (`FOR UPDATE OF s SKIP LOCKED` on PostgreSQL) differ.

pub mod audit;
pub mod backup;
pub mod certificates;
pub mod checks;
pub mod eis_copies;
pub mod jobs;
mod migrate;
pub mod notify;
pub mod nsi;
pub mod onboarding;
pub mod org_admin;
pub mod orgs;
pub mod plans;
pub mod secret;
pub mod sends;
pub mod user_admin;
pub mod users;
mod wal;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

pub use migrate::latest_version as latest_schema_version;
pub use secret::SecretBox;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("the row was changed by someone else")]
    Conflict,
    #[error("secret cannot be opened: {0}")]
    Secret(String),
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    #[error("database file: {0}")]
    File(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The database handle: a pool, which backend it is, and the key that seals secrets at rest.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    secrets: SecretBox,
    /// SQLite only: the background checkpoints of the write-ahead log (see `wal`).
    _checkpointer: Option<Arc<wal::Checkpointer>>,
    /// SQLite files only: the shared lock that tells a restore this database is open (see
    /// `backup`); released by [`Store::close`] or when the last clone is dropped.
    file_lock: Arc<std::sync::Mutex<Option<std::fs::File>>>,
    /// Whether notifications are queued for e-mail too (`Store::set_mail_outbox`).
    mail: Arc<std::sync::atomic::AtomicBool>,
}

impl Store {
    /// Connects without migrating. A SQLite file is created when missing.
    pub async fn connect(url: &str, secrets: SecretBox) -> Result<Store> {
        install_default_drivers();
        let backend = Backend::from_url(url).ok_or(StoreError::UnsupportedUrl)?;
        let mut file_lock = None;
        if backend == Backend::Sqlite {
            if let Some(path) = sqlite_path(url) {
                file_lock = Some(backup::lock_shared(&path)?);
            }
            restrict_sqlite_files(url)?;
        }
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 10 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers work during a write; foreign keys are off by default in SQLite.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                        // The log is checkpointed in the background (`wal`); commits only past
                        // the backstop.
                        let backstop = format!("PRAGMA wal_autocheckpoint = {}", wal::BACKSTOP_PAGES);
                        sqlx::query(sqlx::AssertSqlSafe(backstop)).execute(&mut *conn).await?;
                        let limit = format!("PRAGMA journal_size_limit = {}", wal::LOG_LIMIT_BYTES);
                        sqlx::query(sqlx::AssertSqlSafe(limit)).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let checkpointer = (backend == Backend::Sqlite).then(|| Arc::new(wal::Checkpointer::start(pool.clone())));
        Ok(Store {
            pool,
            backend,
            secrets,
            _checkpointer: checkpointer,
            file_lock: Arc::new(std::sync::Mutex::new(file_lock)),
            mail: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        })
    }

    /// Connects, applies pending migrations and loads the starter reference data into
    /// catalogs that are still empty.
    pub async fn open(url: &str, secrets: SecretBox) -> Result<Store> {
        let store = Store::connect(url, secrets).await?;
        store.migrate().await?;
        store.backfill_derived_columns().await?;
        store.ensure_starter_reference_data().await?;
        Ok(store)
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first cannot wait for the lock
    /// when it later writes, and fails with "database is locked" if another writer — say, the
    /// exchange runner — is busy at that moment.
    pub async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn secrets(&self) -> &SecretBox {
        &self.secrets
    }

    /// Names of the tables the migrations created, for the schema-parity test.
    pub async fn table_names(&self) -> Result<Vec<String>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name <> 'schema_migrations' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT table_name::TEXT AS name FROM information_schema.tables WHERE table_schema = current_schema() \
                 AND table_name <> 'schema_migrations' ORDER BY table_name"
            }
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(|r| r.try_get::<String, _>("name").map_err(Into::into)).collect()
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Ok(mut lock) = self.file_lock.lock() {
            lock.take();
        }
    }
}

/// The SQLite file of a `sqlite:` URL (none for an in-memory database).
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// The database holds password hashes and sealed secrets: its file (and SQLite's `-wal` and
/// `-shm` files, which SQLite creates with the database file's mode) is readable by its owner
/// only. A missing file is created so; an existing one is tightened.
fn restrict_sqlite_files(url: &str) -> Result<()> {
    let Some(path) = sqlite_path(url) else { return Ok(()) };
    let io = |e: std::io::Error| StoreError::File(format!("{}: {e}", path.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&path).map_err(io)?;
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            }
        }
    }
    #[cfg(not(unix))]
    std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
    Ok(())
}

/// A moment as the store's API speaks of it. The database keeps UTC milliseconds (`BIGINT`);
/// only this crate converts, where rows are read and parameters bound.
pub type Time = chrono::DateTime<chrono::Utc>;

/// The current time at the storage's precision (whole milliseconds), so that a time passed to
/// the store compares equal to the same time read back.
pub fn now() -> Time {
    time(now_ms())
}

/// Current time in UTC milliseconds, the storage's time unit.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The time `after` from now in the storage's unit (an expiry).
pub fn now_ms_after(after: std::time::Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(after.as_millis()).unwrap_or(i64::MAX))
}

/// A time as the database keeps it.
pub(crate) fn ms(t: Time) -> i64 {
    t.timestamp_millis()
}

/// A stored time. A number beyond chrono's range (`i64::MAX`, a final send's "never") reads as
/// the range's end, so it still compares as later than any real time.
pub(crate) fn time(ms: i64) -> Time {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or(if ms > 0 { Time::MAX_UTC } else { Time::MIN_UTC })
}

/// The time in column `col` of a row.
pub(crate) fn time_at(r: &sqlx::any::AnyRow, col: &str) -> Result<Time> {
    Ok(time(r.try_get(col)?))
}

/// The time, if any, in column `col` of a row.
pub(crate) fn time_opt(r: &sqlx::any::AnyRow, col: &str) -> Result<Option<Time>> {
    Ok(r.try_get::<Option<i64>, _>(col)?.map(time))
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Fresh databases for tests: a new SQLite file, or a new PostgreSQL database on the server
/// named by `PLANGRAF_TEST_DATABASE_URL` (which must allow `CREATE DATABASE`).
pub mod testing {
    use super::*;

    pub const POSTGRES_ENV: &str = "PLANGRAF_TEST_DATABASE_URL";

    /// The backend the test run targets: PostgreSQL when the variable is set, else SQLite.
    pub fn target_backend() -> Backend {
        if std::env::var(POSTGRES_ENV).map(|v| !v.is_empty()).unwrap_or(false) {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// A URL to an empty database of the target backend. `dir` holds the SQLite file.
    pub async fn fresh_database_url(dir: &std::path::Path) -> Result<String> {
        match std::env::var(POSTGRES_ENV) {
            Ok(admin) if !admin.is_empty() => {
                install_default_drivers();
                let name = format!("plangraf_test_{}", random_suffix());
                let pool = AnyPoolOptions::new().max_connections(1).connect(&admin).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await?;
                pool.close().await;
                let (base, _) = admin.rsplit_once('/').ok_or(StoreError::UnsupportedUrl)?;
                Ok(format!("{base}/{name}"))
            }
            _ => Ok(format!("sqlite://{}", dir.join("plangraf.sqlite").display())),
        }
    }

    fn random_suffix() -> String {
        crate::users::token_hash(&crate::users::random_token())[..16].to_owned()
    }

    /// A migrated store on a fresh database with a throwaway key.
    pub async fn fresh_store(dir: &std::path::Path) -> Result<Store> {
        let url = fresh_database_url(dir).await?;
        Store::open(&url, SecretBox::new(SecretBox::generate_key())).await
    }
}
