//! The stored result of a plan's background schema check, keyed by the content stamp of the
//! working copy it was computed for.

use crate::{Result, Store, StoreError, Time, now_ms, time_at};
use domain::ids::PlanId;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCheck {
    /// The content stamp of the working copy that was checked.
    pub stamp: i64,
    /// The schema findings in Russian; empty when the packet passed.
    pub messages: Vec<String>,
    pub checked_at: Time,
}

impl Store {
    /// The latest stored schema check of the plan, whatever its stamp.
    pub async fn plan_check(&self, plan_id: PlanId) -> Result<Option<PlanCheck>> {
        let row = sqlx::query("SELECT stamp, messages, checked_at FROM plan_checks WHERE plan_id = $1")
            .bind(plan_id.get())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            let messages: String = r.try_get("messages")?;
            Ok(PlanCheck {
                stamp: r.try_get("stamp")?,
                messages: serde_json::from_str(&messages)
                    .map_err(|e| StoreError::Corrupt(format!("plan check: {e}")))?,
                checked_at: time_at(&r, "checked_at")?,
            })
        })
        .transpose()
    }

    /// Records a check's result unless a check of a newer stamp is already stored: of two
    /// checks finishing out of order, the newer content wins.
    pub async fn save_plan_check(&self, plan_id: PlanId, stamp: i64, messages: &[String]) -> Result<()> {
        let json = serde_json::to_string(messages).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO plan_checks (plan_id, stamp, messages, checked_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (plan_id) DO UPDATE SET stamp = excluded.stamp, messages = excluded.messages, \
             checked_at = excluded.checked_at WHERE plan_checks.stamp <= excluded.stamp",
        )
        .bind(plan_id.get())
        .bind(stamp)
        .bind(json)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
