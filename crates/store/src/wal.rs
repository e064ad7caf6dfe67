//! SQLite's write-ahead log is copied back into the database file (checkpointed) by a
//! background task instead of by the transaction that happens to fill it.
//!
//! By default SQLite checkpoints on commit once the log passes 1,000 pages: the request whose
//! commit crosses the line copies every page written since and syncs the database file. An
//! approval of a 5,000-position plan writes about 11 MB (the packet, the snapshot, the
//! positions' base content), so it always paid for that copy (about 35 ms of its 60 ms of
//! storage). Here the task checkpoints a few times a second, on the pool's other connections,
//! and commits only write and sync the log. Durability is unchanged: a commit is on disk once
//! the log is synced (`synchronous = FULL`, the default), as before.
//!
//! Bounds: a passive checkpoint never waits for readers or writers, so a log still in use is
//! copied as far as it can be and again on the next turn. Should the task fall behind anyway,
//! commits take the work back past `BACKSTOP_PAGES` (SQLite's own automatic checkpoint), and
//! the log file is cut back to `LOG_LIMIT_BYTES` once it restarts.

use sqlx::AnyPool;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the task checkpoints a log that has grown.
const EVERY: Duration = Duration::from_millis(200);
/// Commits checkpoint themselves past this many log pages (64 MB at 4 KB pages).
pub(crate) const BACKSTOP_PAGES: u32 = 16_384;
/// The log file kept after a restart of the log, at most.
pub(crate) const LOG_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Keeps the task running while a `Store` holding it exists; the task ends after the last is
/// dropped or the pool is closed.
pub(crate) struct Checkpointer {
    _alive: Arc<()>,
}

impl Checkpointer {
    pub(crate) fn start(pool: AnyPool) -> Checkpointer {
        let alive = Arc::new(());
        tokio::spawn(run(pool, Arc::downgrade(&alive)));
        Checkpointer { _alive: alive }
    }
}

async fn run(pool: AnyPool, alive: Weak<()>) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if alive.strong_count() == 0 || pool.is_closed() {
            return;
        }
        if let Err(e) = checkpoint(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "SQLite checkpoint failed; the next turn tries again");
        }
    }
}

/// Copies what it can of the log into the database file without waiting for anyone.
async fn checkpoint(pool: &AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(pool).await?;
    Ok(())
}
