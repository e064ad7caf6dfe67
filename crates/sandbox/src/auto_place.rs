//! Automatic placement, for benchmarks and tests: a draft received from a packet is placed
//! («Разместить», as the customer would do in the cabinet) once its packet's result has been
//! due for the configured delay. Off by default. The setting is kept in memory; what is due is
//! read from storage on every round, so a restart (with the setting given again) loses nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{Row, SqlitePool};
use tokio::sync::Notify;

use crate::db::now_ms;
use crate::{SandboxError, plans};

/// The most drafts placed in one round before the next look.
const ROUND: i64 = 200;

#[derive(Default)]
pub(crate) struct AutoPlace {
    after: Mutex<Option<Duration>>,
    wake: Notify,
}

impl AutoPlace {
    pub(crate) fn set(&self, after: Option<Duration>) {
        *self.after.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = after;
        tracing::info!(after_ms = after.map(|d| d.as_millis()), "eis-sandbox automatic placement set");
        self.wake.notify_one();
    }

    pub(crate) fn get(&self) -> Option<Duration> {
        *self.after.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Places what is due until the task is aborted.
pub(crate) async fn run(db: SqlitePool, setting: Arc<AutoPlace>) {
    loop {
        let Some(after) = setting.get() else {
            setting.wake.notified().await;
            continue;
        };
        let placed = match place_due(&db, after).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "automatic placement failed; trying again");
                0
            }
        };
        if placed < ROUND as usize {
            // A tenth of the delay keeps the placement within about 10 % of it.
            let tick = (after / 10).clamp(Duration::from_millis(20), Duration::from_millis(500));
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = setting.wake.notified() => {}
            }
        }
    }
}

/// Places, in version order per plan, every draft from a packet whose result has been due for
/// `after` and that is newer than the plan's latest placed version. Answers how many.
async fn place_due(db: &SqlitePool, after: Duration) -> Result<usize, SandboxError> {
    let due_by = now_ms().saturating_sub(i64::try_from(after.as_millis()).unwrap_or(i64::MAX));
    let rows = sqlx::query(
        "SELECT v.plan_id, v.version_number FROM plan_versions v JOIN packets p ON p.packet_id = v.packet_id \
         WHERE v.state = 'project' AND p.ready_at <= ?1 AND v.version_number > COALESCE((SELECT MAX(w.version_number) \
         FROM plan_versions w WHERE w.plan_id = v.plan_id AND w.state = 'placed'), -1) \
         ORDER BY v.plan_id, v.version_number LIMIT ?2",
    )
    .bind(due_by)
    .bind(ROUND)
    .fetch_all(db)
    .await?;
    let mut placed = 0;
    for r in rows {
        let (plan_id, version): (i64, i64) = (r.try_get("plan_id")?, r.try_get("version_number")?);
        match plans::place(db, plan_id, version).await {
            Ok(p) => {
                placed += 1;
                tracing::debug!(plan_id, version, plan_number = %p.plan_number, "draft placed automatically");
            }
            // Placed meanwhile from the cabinet or the directory: nothing to do.
            Err(SandboxError::Conflict(_) | SandboxError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(placed)
}
