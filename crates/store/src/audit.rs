//! The audit journal: who did what, when, to which entity, with details (before/after).

use crate::{Result, Store, Time, time_at};
use domain::ids::{OrgId, UserId};
use sqlx::{Any, Executor, Row};

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: Time,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub action: String,
    pub details: String,
}

/// Appends an entry inside the caller's transaction, so the journal and the change commit together.
pub async fn record<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: Option<UserId>,
    org_id: Option<OrgId>,
    entity: &str,
    // The id of a plan, a version or a user (as `entity` says): several kinds, so a plain number.
    entity_id: Option<i64>,
    action: &str,
    details: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, org_id, entity, entity_id, action, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(crate::now_ms())
    .bind(user_id.map(UserId::get))
    .bind(org_id.map(OrgId::get))
    .bind(entity)
    .bind(entity_id)
    .bind(action)
    .bind(details)
    .execute(ex)
    .await?;
    Ok(())
}

impl Store {
    /// Appends an entry on its own, for a use case that records what it did without changing
    /// anything else (making an evidence pack of a send).
    pub async fn record_audit(
        &self,
        user_id: Option<UserId>,
        org_id: Option<OrgId>,
        entity: &str,
        entity_id: Option<i64>,
        action: &str,
        details: &str,
    ) -> Result<()> {
        record(self.pool(), user_id, org_id, entity, entity_id, action, details).await
    }

    /// `entity_id` is the id of the kind `entity` names (see [`record`]).
    pub async fn audit_for(&self, entity: &str, entity_id: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT a.at, a.user_id, u.full_name, a.action, a.details FROM audit_log a \
             LEFT JOIN users u ON u.id = a.user_id WHERE a.entity = $1 AND a.entity_id = $2 ORDER BY a.id",
        )
        .bind(entity)
        .bind(entity_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: time_at(r, "at")?,
                    user_id: r.try_get::<Option<i64>, _>("user_id")?.map(UserId),
                    user_name: r.try_get("full_name")?,
                    action: r.try_get("action")?,
                    details: r.try_get("details")?,
                })
            })
            .collect()
    }
}
