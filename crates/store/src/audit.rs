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

/// What «Журнал действий» asks for: the entries of an organization and its subordinates,
/// newest first, narrowed by the filters given.
#[derive(Debug, Clone, Default)]
pub struct JournalQuery<'a> {
    /// The administrator's organization: its entries and its subordinates'.
    pub org: Option<OrgId>,
    /// Also the entries of no organization (the operator's commands).
    pub with_operator: bool,
    /// From this time on (inclusive).
    pub from: Option<Time>,
    /// Before this time (exclusive).
    pub to: Option<Time>,
    /// The login of who did it, exactly.
    pub login: Option<&'a str>,
    /// Text the action contains, as typed or with its first letter capital (case as written:
    /// the same on both databases).
    pub action: Option<&'a str>,
    /// The kind of object (`plan`, `version`, `user`, `reference`).
    pub entity: Option<&'a str>,
    /// Entries older than this id (the next page).
    pub before: Option<i64>,
    pub limit: i64,
}

/// One line of «Журнал действий».
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub id: i64,
    pub at: Time,
    pub login: Option<String>,
    pub user_name: Option<String>,
    pub org_name: Option<String>,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub action: String,
    pub details: String,
}

impl Store {
    /// The journal's entries for `q`, newest first, at most `q.limit`.
    pub async fn journal(&self, q: &JournalQuery<'_>) -> Result<Vec<JournalEntry>> {
        enum Bind {
            Int(i64),
            Text(String),
        }
        fn param(b: Bind, binds: &mut Vec<Bind>) -> String {
            binds.push(b);
            format!("${}", binds.len())
        }
        let mut binds: Vec<Bind> = Vec::new();
        let mut filters: Vec<String> = Vec::new();
        let mut scope = Vec::new();
        if let Some(org) = q.org {
            let p = param(Bind::Int(org.get()), &mut binds);
            // The organization and every one below it, at any depth: the administrator's reach.
            scope.push(format!("a.org_id IN {}", crate::org_admin::subtree_sql(&p)));
        }
        if q.with_operator {
            scope.push("a.org_id IS NULL".to_owned());
        }
        if scope.is_empty() {
            return Ok(Vec::new());
        }
        filters.push(format!("({})", scope.join(" OR ")));
        if let Some(from) = q.from {
            filters.push(format!("a.at >= {}", param(Bind::Int(crate::ms(from)), &mut binds)));
        }
        if let Some(to) = q.to {
            filters.push(format!("a.at < {}", param(Bind::Int(crate::ms(to)), &mut binds)));
        }
        if let Some(login) = q.login {
            filters.push(format!("u.login = {}", param(Bind::Text(login.to_owned()), &mut binds)));
        }
        if let Some(entity) = q.entity {
            filters.push(format!("a.entity = {}", param(Bind::Text(entity.to_owned()), &mut binds)));
        }
        if let Some(before) = q.before {
            filters.push(format!("a.id < {}", param(Bind::Int(before), &mut binds)));
        }
        if let Some(action) = q.action {
            let contains = match self.backend() {
                crate::Backend::Sqlite => |p: &str| format!("instr(a.action, {p}) > 0"),
                crate::Backend::Postgres => |p: &str| format!("strpos(a.action, {p}) > 0"),
            };
            let mut chars = action.chars();
            let capital: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
            let typed = param(Bind::Text(action.to_owned()), &mut binds);
            let capital = param(Bind::Text(capital), &mut binds);
            filters.push(format!("({} OR {})", contains(&typed), contains(&capital)));
        }
        let limit = param(Bind::Int(q.limit.clamp(1, 500)), &mut binds);
        let sql = format!(
            "SELECT a.id, a.at, u.login, u.full_name, o.short_name, a.entity, a.entity_id, a.action, a.details \
             FROM audit_log a LEFT JOIN users u ON u.id = a.user_id LEFT JOIN organizations o ON o.id = a.org_id \
             WHERE {} ORDER BY a.id DESC LIMIT {limit}",
            filters.join(" AND ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = match b {
                Bind::Int(v) => query.bind(v),
                Bind::Text(v) => query.bind(v),
            };
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(JournalEntry {
                    id: r.try_get("id")?,
                    at: time_at(r, "at")?,
                    login: r.try_get("login")?,
                    user_name: r.try_get("full_name")?,
                    org_name: r.try_get("short_name")?,
                    entity: r.try_get("entity")?,
                    entity_id: r.try_get("entity_id")?,
                    action: r.try_get("action")?,
                    details: r.try_get("details")?,
                })
            })
            .collect()
    }
}
