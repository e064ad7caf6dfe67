//! The sandbox's SQLite storage.

use std::path::Path;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use crate::SandboxError;

pub(crate) const DB_FILE: &str = "sandbox.sqlite";

pub(crate) async fn open(data_dir: &Path) -> Result<SqlitePool, SandboxError> {
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
