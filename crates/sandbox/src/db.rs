//! The sandbox's SQLite storage.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use crate::SandboxError;

pub(crate) const DB_FILE: &str = "sandbox.sqlite";

/// The database and its `-wal`/`-shm` hold password hashes and every packet: readable by the
/// owner only. SQLite gives the `-wal` and `-shm` files the mode of the database file, so the
/// database is created 0600 before SQLite opens it; files left looser by an older version are
/// tightened.
fn private_files(data_dir: &Path) -> Result<(), SandboxError> {
    let db = data_dir.join(DB_FILE);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SandboxError::Io { path, source }
    };
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&db) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(&db)(e)),
    }
    for suffix in ["", "-wal", "-shm"] {
        let path = data_dir.join(format!("{DB_FILE}{suffix}"));
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&path)(e)),
        };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io(&path))?;
        }
    }
    Ok(())
}

pub(crate) async fn open(data_dir: &Path) -> Result<SqlitePool, SandboxError> {
    private_files(data_dir)?;
    let opts = SqliteConnectOptions::new()
        .filename(data_dir.join(DB_FILE))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A stored time as the Russian UI shows it: `28.03.2019 15:11`, Moscow time.
pub(crate) fn format_ru(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => {
            let msk = chrono::FixedOffset::east_opt(3 * 3600).expect("+03:00 is a valid offset");
            t.with_timezone(&msk).format("%d.%m.%Y %H:%M").to_string()
        }
        None => String::new(),
    }
}
