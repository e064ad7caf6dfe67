//! Backups of the embedded SQLite database and their restore.
//!
//! A backup is `VACUUM INTO` through the running store's pool: one read transaction, so the copy
//! is a consistent snapshot while plangraf keeps writing (WAL lets the writer go on), and a
//! compact single file without `-wal` or `-shm`. It is written beside its target under a
//! temporary name, checked, synced and then linked to its name, so a backup file either is
//! complete or does not exist, and an existing file is never overwritten.
//!
//! A restore replaces the database only while no plangraf has it open. Every store opened on a
//! SQLite file holds a shared lock on `FILE.lock` (`flock`) for as long as it is open; a restore
//! takes that lock exclusively or refuses. The operating system drops the lock with the process,
//! so a killed instance leaves none behind. (An exclusive SQLite transaction would not do: in
//! WAL mode an idle server holds no database lock at all.)
//!
//! PostgreSQL is backed up with `pg_dump` (docs/OPERATIONS.md), not here.

use crate::{Backend, Store, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Connection, SqliteConnection};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a backup or a restore did not happen. Nothing was changed in any of these cases.
#[derive(Debug, Error)]
pub enum BackupError {
    #[error("the database is PostgreSQL: back it up with pg_dump")]
    Postgres,
    #[error("{0} already exists")]
    Exists(PathBuf),
    #[error("{0} does not exist")]
    Missing(PathBuf),
    #[error("{path} is not a readable SQLite database: {reason}")]
    NotDatabase { path: PathBuf, reason: String },
    #[error("{0} is an SQLite database, but not plangraf's")]
    Foreign(PathBuf),
    #[error("{path} has schema version {found}; this build knows versions up to {known}")]
    Newer { path: PathBuf, found: i64, known: i64 },
    #[error("the database {0} is open in a running plangraf")]
    InUse(PathBuf),
    #[error("the backup is the database itself: {0}")]
    SameFile(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

type Result<T> = std::result::Result<T, BackupError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_owned(), source }
}

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupInfo {
    pub path: PathBuf,
    pub bytes: u64,
    pub schema_version: i64,
}

/// A database file found readable and plangraf's.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub bytes: u64,
    pub schema_version: i64,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub database: PathBuf,
    pub schema_version: i64,
    /// Where the database that was replaced now is (with its `-wal` and `-shm`, if it had them);
    /// none when there was no database.
    pub kept_aside: Option<PathBuf>,
}

impl Store {
    /// Writes a consistent copy of the SQLite database to `target`, which must not exist.
    pub async fn backup_to(&self, target: &Path) -> Result<BackupInfo> {
        if self.backend() == Backend::Postgres {
            return Err(BackupError::Postgres);
        }
        let target = std::path::absolute(target).map_err(io(target))?;
        if target.symlink_metadata().is_ok() {
            return Err(BackupError::Exists(target));
        }
        let tmp = temporary_beside(&target, "backup")?;
        let written = async {
            vacuum_into(self.pool(), &tmp).await?;
            let info = inspect(&tmp).await?;
            sync_file(&tmp)?;
            publish_new(&tmp, &target)?;
            Ok(BackupInfo { path: target.clone(), bytes: info.bytes, schema_version: info.schema_version })
        }
        .await;
        let _ = std::fs::remove_file(&tmp);
        written
    }
}

/// Checks that `path` is a readable SQLite database with plangraf's schema, without changing it,
/// and answers its schema version (which may be newer than this build's).
pub async fn inspect(path: &Path) -> Result<Inspection> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => BackupError::Missing(path.to_owned()),
        _ => BackupError::Io { path: path.to_owned(), source: e },
    })?;
    let not_db = |reason: &str| BackupError::NotDatabase { path: path.to_owned(), reason: reason.to_owned() };
    if !meta.is_file() {
        return Err(not_db("not a file"));
    }
    // The header first: a foreign file is refused without handing it to SQLite.
    let mut magic = [0u8; 16];
    let mut file = File::open(path).map_err(io(path))?;
    if file.read_exact(&mut magic).is_err() || &magic != b"SQLite format 3\0" {
        return Err(not_db("no SQLite header"));
    }
    drop(file);
    let wal = magic_is_wal(path);
    let mut conn = SqliteConnection::connect_with(&read_only(path, wal)).await.map_err(|e| not_db(&e.to_string()))?;
    let outcome = async {
        let check: String = sqlx::query_scalar("PRAGMA quick_check(1)")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| not_db(&e.to_string()))?;
        if check != "ok" {
            return Err(not_db(&check));
        }
        // plangraf's migrations table, whose first step is named `initial`: other tools keep a
        // `schema_migrations` too.
        let table: Option<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
                .fetch_optional(&mut conn)
                .await?;
        if table.is_none() {
            return Err(BackupError::Foreign(path.to_owned()));
        }
        let first: Option<String> = sqlx::query_scalar("SELECT name FROM schema_migrations WHERE version = 1")
            .fetch_optional(&mut conn)
            .await
            .map_err(|_| BackupError::Foreign(path.to_owned()))?;
        if first.as_deref() != Some("initial") {
            return Err(BackupError::Foreign(path.to_owned()));
        }
        let newest: i64 = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&mut conn)
            .await
            .map_err(|_| BackupError::Foreign(path.to_owned()))?;
        Ok(Inspection { bytes: meta.len(), schema_version: newest })
    }
    .await;
    let _ = conn.close().await;
    outcome
}

/// Whether the file's header marks it a WAL database (bytes 18 and 19 are 2).
fn magic_is_wal(path: &Path) -> bool {
    let mut header = [0u8; 20];
    File::open(path).and_then(|mut f| f.read_exact(&mut header)).is_ok() && header[18] == 2 && header[19] == 2
}

/// Options to read a database without changing it or leaving files beside it. A WAL database
/// without a log beside it (a copied file, or one closed cleanly) is opened immutable: read-only
/// alone would create `-wal` and `-shm` next to it. With a log there, it is read with the log.
fn read_only(path: &Path, wal: bool) -> SqliteConnectOptions {
    let log = PathBuf::from(format!("{}-wal", path.display()));
    let options = SqliteConnectOptions::new().filename(path).read_only(true).create_if_missing(false);
    if wal && log.symlink_metadata().is_err() { options.immutable(true) } else { options }
}

/// Replaces the SQLite database `database` with the backup `backup`, when no plangraf has it
/// open. The backup is checked first ([`inspect`]); the current database is renamed aside with
/// a timestamp, never deleted. An older schema is accepted: the next start migrates it.
pub async fn restore(backup: &Path, database: &Path) -> Result<Restored> {
    let backup = std::path::absolute(backup).map_err(io(backup))?;
    let database = std::path::absolute(database).map_err(io(database))?;
    if let (Ok(a), Ok(b)) = (backup.canonicalize(), database.canonicalize())
        && a == b
    {
        return Err(BackupError::SameFile(backup));
    }
    let info = inspect(&backup).await?;
    let known = crate::latest_schema_version();
    if info.schema_version > known {
        return Err(BackupError::Newer { path: backup, found: info.schema_version, known });
    }
    let dir = parent_of(&database)?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let _lock = lock_exclusive(&database)?;
    let tmp = temporary_beside(&database, "restore")?;
    let copied = async {
        copy_database(&backup, &tmp).await?;
        let copy = inspect(&tmp).await?;
        sync_file(&tmp)?;
        let kept_aside = if database.exists() { Some(move_aside(&database).await?) } else { None };
        std::fs::rename(&tmp, &database).map_err(io(&database))?;
        sync_dir(dir)?;
        Ok(Restored { database: database.clone(), schema_version: copy.schema_version, kept_aside })
    }
    .await;
    let _ = std::fs::remove_file(&tmp);
    copied
}

/// The lock file of a database file.
fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn open_lock_file(database: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(lock_path(database))
}

/// The shared lock every open store holds on its SQLite file (see the module's comment).
pub(crate) fn lock_shared(database: &Path) -> crate::Result<File> {
    let file =
        open_lock_file(database).map_err(|e| StoreError::File(format!("{}: {e}", lock_path(database).display())))?;
    match file.try_lock_shared() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::File(format!(
            "{} is being restored from a backup; start again once the restore has finished",
            database.display()
        ))),
        Err(TryLockError::Error(e)) => Err(StoreError::File(format!("{}: {e}", lock_path(database).display()))),
    }
}

fn lock_exclusive(database: &Path) -> Result<File> {
    let file = open_lock_file(database).map_err(io(database))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(BackupError::InUse(database.to_owned())),
        Err(TryLockError::Error(e)) => Err(BackupError::Io { path: lock_path(database), source: e }),
    }
}

fn parent_of(path: &Path) -> Result<&Path> {
    path.parent().ok_or_else(|| BackupError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no directory"),
    })
}

fn utf8(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| BackupError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path is not UTF-8"),
    })
}

/// A new empty file beside `path`, readable by its owner only: the copy holds password hashes
/// and sealed secrets. `VACUUM INTO` writes into an empty file and keeps its mode.
fn temporary_beside(path: &Path, what: &str) -> Result<PathBuf> {
    let dir = parent_of(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for attempt in 0..100u32 {
        let tmp = dir.join(format!(".{name}.{what}-{}-{attempt}.partial", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&tmp) {
            Ok(_) => return Ok(tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(BackupError::Io { path: tmp, source: e }),
        }
    }
    Err(BackupError::Exists(dir.join(format!(".{name}.{what}-*.partial"))))
}

async fn vacuum_into(pool: &sqlx::AnyPool, tmp: &Path) -> Result<()> {
    sqlx::query("VACUUM INTO $1").bind(utf8(tmp)?).execute(pool).await?;
    single_file(tmp).await
}

/// Copies the database at `from` into the empty file `to` through SQLite, so that a backup
/// that is itself a live WAL database (a copied file with its `-wal`) comes over whole.
async fn copy_database(from: &Path, to: &Path) -> Result<()> {
    let mut conn = SqliteConnection::connect_with(&read_only(from, magic_is_wal(from))).await?;
    let copied = sqlx::query("VACUUM INTO $1").bind(utf8(to)?).execute(&mut conn).await;
    let _ = conn.close().await;
    copied?;
    single_file(to).await
}

/// A copy of a WAL database is marked WAL too; the copy is made a plain single file, which
/// reads without creating `-wal` and `-shm` beside it. The store turns WAL on again when it
/// opens the restored file.
async fn single_file(path: &Path) -> Result<()> {
    let options = SqliteConnectOptions::new().filename(path).journal_mode(SqliteJournalMode::Delete);
    let conn = SqliteConnection::connect_with(&options).await?;
    conn.close().await?;
    Ok(())
}

fn sync_file(path: &Path) -> Result<()> {
    File::open(path).and_then(|f| f.sync_all()).map_err(io(path))
}

fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir).and_then(|f| f.sync_all()).map_err(io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Gives the finished `tmp` the name `target` unless `target` exists by then: a hard link
/// cannot replace a file, a rename could.
fn publish_new(tmp: &Path, target: &Path) -> Result<()> {
    match std::fs::hard_link(tmp, target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(BackupError::Exists(target.to_owned())),
        // A file system without hard links: check, then rename.
        Err(_) if target.symlink_metadata().is_err() => std::fs::rename(tmp, target).map_err(io(target))?,
        Err(e) => return Err(BackupError::Io { path: target.to_owned(), source: e }),
    }
    sync_dir(parent_of(target)?)
}

/// Renames the database with its `-wal` and `-shm` to `FILE.before-restore-<UTC time>`, after
/// copying what its log holds into it. The log goes first: should the rename stop half way, the
/// database left in place holds everything.
async fn move_aside(database: &Path) -> Result<PathBuf> {
    checkpoint(database).await;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let base = format!("{}.before-restore-{stamp}", database.display());
    let mut aside = PathBuf::from(&base);
    let mut n = 2;
    while aside.symlink_metadata().is_ok() {
        aside = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    for suffix in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", database.display()));
        if from.symlink_metadata().is_ok() {
            let to = PathBuf::from(format!("{}{suffix}", aside.display()));
            std::fs::rename(&from, &to).map_err(io(&from))?;
        }
    }
    std::fs::rename(database, &aside).map_err(io(database))?;
    Ok(aside)
}

/// Copies the log of the database being replaced into it, so the file kept aside is whole on
/// its own. A database that cannot be opened is moved aside as it is, log and all.
async fn checkpoint(database: &Path) {
    let options = SqliteConnectOptions::new().filename(database).create_if_missing(false);
    match SqliteConnection::connect_with(&options).await {
        Ok(mut conn) => {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await {
                tracing::warn!(error = %e, "the database being replaced could not be checkpointed; kept aside with its log");
            }
            let _ = conn.close().await;
        }
        Err(e) => tracing::warn!(error = %e, "the database being replaced does not open; kept aside as it is"),
    }
}
