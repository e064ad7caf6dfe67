//! The administrator's organizations pages: an administrator's reach (their organization and
//! every organization below it, at any depth), an organization with its administrative state,
//! changes with their audit entries in one transaction, blocking, and the agreements under
//! which a superior places a subordinate's plan-schedules in ЕИС (OA).

use crate::audit::record;
use crate::orgs::{Organization, from_row};
use crate::{Result, Store, Time, is_unique_violation, now_ms, time_opt};
use domain::OrgType;
use domain::ids::{OrgId, UserId};
use domain::org::{Inn, Kpp, SpzCode};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A subquery of the ids of organization `{param}` and of every organization below it at any
/// depth. `UNION` (not `UNION ALL`) ends the recursion even if the data held a cycle. The same
/// text runs on SQLite and PostgreSQL.
pub(crate) fn subtree_sql(param: &str) -> String {
    format!(
        "(WITH RECURSIVE reach(id) AS (SELECT id FROM organizations WHERE id = {param} \
         UNION SELECT o.id FROM organizations o JOIN reach r ON o.superior_id = r.id) SELECT id FROM reach)"
    )
}

/// An organization with what only administration reads.
#[derive(Debug, Clone)]
pub struct OrgRecord {
    pub org: Organization,
    pub blocked_at: Option<Time>,
    pub row_version: i64,
    pub ecp: EcpPolicy,
}

/// What an organization requires of ЭЦП (migration 0024). All off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EcpPolicy {
    /// Its users sign in only with a certificate: a password is refused.
    pub sign_in: bool,
    /// Its approvers sign «Утвердить» (the version's content as fixed at approval).
    pub approval: bool,
    /// Its senders sign the `data` of each packet they send to ЕИС.
    pub packet: bool,
}

impl EcpPolicy {
    fn from_row(r: &AnyRow) -> Result<EcpPolicy> {
        Ok(EcpPolicy {
            sign_in: r.try_get::<i64, _>("ecp_sign_in_required")? != 0,
            approval: r.try_get::<i64, _>("ecp_approval_required")? != 0,
            packet: r.try_get::<i64, _>("ecp_packet_required")? != 0,
        })
    }

    /// The requirements in force, in the journal's words («нет» when none).
    pub fn summary_ru(&self) -> String {
        let parts: Vec<&str> = [
            (self.sign_in, "вход только по ЭЦП"),
            (self.approval, "утверждение с ЭЦП"),
            (self.packet, "отправка в ЕИС с ЭЦП"),
        ]
        .into_iter()
        .filter_map(|(on, what)| on.then_some(what))
        .collect();
        if parts.is_empty() { "нет".into() } else { parts.join(", ") }
    }
}

const ECP_COLUMNS: &str = "ecp_sign_in_required, ecp_approval_required, ecp_packet_required";

/// A row of the tree: what the list shows of one organization.
#[derive(Debug, Clone)]
pub struct OrgNode {
    pub id: OrgId,
    pub superior_id: Option<OrgId>,
    pub short_name: String,
    pub name: String,
    pub spz_code: String,
    pub inn: String,
    pub blocked: bool,
    pub users: i64,
}

/// The fields of an organization, parsed and checked by the caller.
#[derive(Debug, Clone)]
pub struct OrgFields {
    pub name: String,
    pub short_name: String,
    pub superior_id: Option<OrgId>,
    pub spz_code: SpzCode,
    pub inn: Inn,
    pub kpp: Kpp,
    pub org_type: OrgType,
    pub budget_level: u8,
    pub oktmo: String,
}

/// What an update found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updated {
    Done,
    /// Someone changed the organization since the form was opened.
    Stale,
    /// Another organization has this СПЗ code.
    SpzTaken,
}

/// An agreement on the transfer of powers: `agent_id` places `subordinate_id`'s plans in ЕИС.
#[derive(Debug, Clone)]
pub struct Agreement {
    pub id: i64,
    pub subordinate_id: OrgId,
    pub agent_id: OrgId,
    pub agent_short_name: String,
    pub number: String,
    /// ISO dates, `ГГГГ-ММ-ДД`.
    pub signed_on: String,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub created_by: Option<String>,
    pub created_at: Time,
    pub revoked_at: Option<Time>,
    pub revoked_by: Option<String>,
}

impl Agreement {
    /// In force on `today` (ISO date) for a plan whose organization's superior is `superior`.
    pub fn in_force(&self, superior: Option<OrgId>, today: &str) -> bool {
        self.revoked_at.is_none()
            && Some(self.agent_id) == superior
            && self.valid_from.as_deref().is_none_or(|f| f <= today)
            && self.valid_to.as_deref().is_none_or(|t| today <= t)
    }
}

/// A new agreement, checked by the caller.
#[derive(Debug, Clone)]
pub struct NewAgreement<'a> {
    pub subordinate_id: OrgId,
    pub agent_id: OrgId,
    pub number: &'a str,
    pub signed_on: &'a str,
    pub valid_from: Option<&'a str>,
    pub valid_to: Option<&'a str>,
}

/// Who acts, for the audit journal.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub user_id: UserId,
    pub org_id: OrgId,
}

fn record_from_row(r: &AnyRow) -> Result<OrgRecord> {
    Ok(OrgRecord {
        org: from_row(r)?,
        blocked_at: time_opt(r, "blocked_at")?,
        row_version: r.try_get("row_version")?,
        ecp: EcpPolicy::from_row(r)?,
    })
}

fn agreement_from_row(r: &AnyRow) -> Result<Agreement> {
    Ok(Agreement {
        id: r.try_get("id")?,
        subordinate_id: OrgId(r.try_get("subordinate_id")?),
        agent_id: OrgId(r.try_get("agent_id")?),
        agent_short_name: r.try_get("agent_short_name")?,
        number: r.try_get("number")?,
        signed_on: r.try_get("signed_on")?,
        valid_from: r.try_get("valid_from")?,
        valid_to: r.try_get("valid_to")?,
        created_by: r.try_get("created_by_name")?,
        created_at: crate::time_at(r, "created_at")?,
        revoked_at: time_opt(r, "revoked_at")?,
        revoked_by: r.try_get("revoked_by_name")?,
    })
}

const AGREEMENT_SELECT: &str = "SELECT a.id, a.subordinate_id, a.agent_id, g.short_name AS agent_short_name, a.number, \
     a.signed_on, a.valid_from, a.valid_to, c.full_name AS created_by_name, a.created_at, a.revoked_at, \
     r.full_name AS revoked_by_name FROM org_agreements a JOIN organizations g ON g.id = a.agent_id \
     LEFT JOIN users c ON c.id = a.created_by LEFT JOIN users r ON r.id = a.revoked_by";

/// Inside the transaction that changes organization `org`'s superior from `from` to `to`: its
/// plans move from the old superior's tally (`plan_tallies`, migration 0012) to the new one's.
pub(crate) async fn move_tallies(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    org: OrgId,
    from: Option<OrgId>,
    to: Option<OrgId>,
) -> Result<()> {
    if let Some(from) = from {
        sqlx::query(
            "UPDATE plan_tallies SET n = n - (SELECT COUNT(*) FROM plans p WHERE p.org_id = $1 AND p.status = plan_tallies.status) \
             WHERE superior_id = $2",
        )
        .bind(org.get())
        .bind(from.get())
        .execute(&mut **tx)
        .await?;
    }
    if let Some(to) = to {
        sqlx::query(
            "INSERT INTO plan_tallies (superior_id, status, n) \
             SELECT CAST($2 AS BIGINT), p.status, COUNT(*) FROM plans p WHERE p.org_id = $1 GROUP BY p.status \
             ON CONFLICT (superior_id, status) DO UPDATE SET n = plan_tallies.n + excluded.n",
        )
        .bind(org.get())
        .bind(to.get())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The ids of organization `root` and of every organization below it at any depth.
    pub async fn subtree(&self, root: OrgId) -> Result<Vec<OrgId>> {
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT id FROM {} t", subtree_sql("$1"))))
            .bind(root.get())
            .fetch_all(self.pool())
            .await?;
        Ok(ids.into_iter().map(OrgId).collect())
    }

    /// The tree below `root` (itself included), with the users of each, by short name.
    pub async fn org_nodes(&self, root: OrgId) -> Result<Vec<OrgNode>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT o.id, o.superior_id, o.short_name, o.name, o.spz_code, o.inn, o.blocked_at, \
             (SELECT COUNT(*) FROM users u WHERE u.org_id = o.id) AS users \
             FROM organizations o WHERE o.id IN {} ORDER BY o.short_name, o.id",
            subtree_sql("$1")
        )))
        .bind(root.get())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OrgNode {
                    id: OrgId(r.try_get("id")?),
                    superior_id: r.try_get::<Option<i64>, _>("superior_id")?.map(OrgId),
                    short_name: r.try_get("short_name")?,
                    name: r.try_get("name")?,
                    spz_code: r.try_get("spz_code")?,
                    inn: r.try_get("inn")?,
                    blocked: r.try_get::<Option<i64>, _>("blocked_at")?.is_some(),
                    users: r.try_get("users")?,
                })
            })
            .collect()
    }

    pub async fn org_record(&self, id: OrgId) -> Result<Option<OrgRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, name, short_name, superior_id, spz_code, inn, kpp, org_type, budget_level, oktmo, blocked_at, \
             row_version, {ECP_COLUMNS} FROM organizations WHERE id = $1"
        )))
        .bind(id.get())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// What organization `id` requires of ЭЦП (an unknown one requires nothing).
    pub async fn ecp_policy(&self, id: OrgId) -> Result<EcpPolicy> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ECP_COLUMNS} FROM organizations WHERE id = $1")))
            .bind(id.get())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(EcpPolicy::from_row).transpose()?.unwrap_or_default())
    }

    /// Sets what organization `id` requires of ЭЦП, with its journal entry; false when nothing
    /// changed.
    pub async fn admin_set_ecp_policy(&self, by: Actor, id: OrgId, policy: EcpPolicy) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ECP_COLUMNS} FROM organizations WHERE id = $1")))
            .bind(id.get())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(before) = row.as_ref().map(EcpPolicy::from_row).transpose()? else { return Ok(false) };
        if before == policy {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE organizations SET ecp_sign_in_required = $1, ecp_approval_required = $2, ecp_packet_required = $3, \
             row_version = row_version + 1 WHERE id = $4",
        )
        .bind(i64::from(policy.sign_in))
        .bind(i64::from(policy.approval))
        .bind(i64::from(policy.packet))
        .bind(id.get())
        .execute(&mut *tx)
        .await?;
        let details = format!("Было: {}; стало: {}", before.summary_ru(), policy.summary_ru());
        record(
            &mut *tx,
            Some(by.user_id),
            Some(id),
            "organization",
            Some(id.get()),
            "Изменены требования ЭЦП",
            &details,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether the organization is blocked (an unknown one is not).
    pub async fn organization_blocked(&self, id: OrgId) -> Result<bool> {
        let at: Option<Option<i64>> = sqlx::query_scalar("SELECT blocked_at FROM organizations WHERE id = $1")
            .bind(id.get())
            .fetch_optional(self.pool())
            .await?;
        Ok(at.flatten().is_some())
    }

    /// A new organization made by an administrator; `Ok(None)` when the СПЗ code is taken.
    pub async fn admin_create_organization(&self, by: Actor, f: &OrgFields) -> Result<Option<OrgId>> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query_scalar::<_, i64>(
            "INSERT INTO organizations (name, short_name, superior_id, spz_code, inn, kpp, org_type, budget_level, oktmo, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&f.name)
        .bind(&f.short_name)
        .bind(f.superior_id.map(OrgId::get))
        .bind(f.spz_code.as_str())
        .bind(f.inn.as_str())
        .bind(f.kpp.as_str())
        .bind(f.org_type.code())
        .bind(i64::from(f.budget_level))
        .bind(&f.oktmo)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await;
        let id = match res {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let details = format!(
            "СПЗ {}; {}; ИНН {}; КПП {}; тип {}; уровень бюджета {}; ОКТМО {}",
            f.spz_code.as_str(),
            f.short_name,
            f.inn.as_str(),
            f.kpp.as_str(),
            f.org_type.code(),
            f.budget_level,
            f.oktmo
        );
        record(&mut *tx, Some(by.user_id), Some(OrgId(id)), "organization", Some(id), "Создана организация", &details)
            .await?;
        tx.commit().await?;
        Ok(Some(OrgId(id)))
    }

    /// Saves an organization's fields if its row version is still `row_version`. A new superior
    /// moves its plans between the superiors' tallies in the same transaction.
    pub async fn admin_update_organization(
        &self,
        by: Actor,
        id: OrgId,
        row_version: i64,
        f: &OrgFields,
        details: &str,
    ) -> Result<Updated> {
        let mut tx = self.write_tx().await?;
        let before: Option<Option<i64>> =
            sqlx::query_scalar("SELECT superior_id FROM organizations WHERE id = $1 AND row_version = $2")
                .bind(id.get())
                .bind(row_version)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(before) = before.map(|s| s.map(OrgId)) else { return Ok(Updated::Stale) };
        let res = sqlx::query(
            "UPDATE organizations SET name = $1, short_name = $2, superior_id = $3, spz_code = $4, inn = $5, kpp = $6, \
             org_type = $7, budget_level = $8, oktmo = $9, row_version = row_version + 1 WHERE id = $10 AND row_version = $11",
        )
        .bind(&f.name)
        .bind(&f.short_name)
        .bind(f.superior_id.map(OrgId::get))
        .bind(f.spz_code.as_str())
        .bind(f.inn.as_str())
        .bind(f.kpp.as_str())
        .bind(f.org_type.code())
        .bind(i64::from(f.budget_level))
        .bind(&f.oktmo)
        .bind(id.get())
        .bind(row_version)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(r) if r.rows_affected() == 1 => {}
            Ok(_) => return Ok(Updated::Stale),
            Err(e) if is_unique_violation(&e) => return Ok(Updated::SpzTaken),
            Err(e) => return Err(e.into()),
        }
        if before != f.superior_id {
            move_tallies(&mut tx, id, before, f.superior_id).await?;
        }
        record(&mut *tx, Some(by.user_id), Some(id), "organization", Some(id.get()), "Изменена организация", details)
            .await?;
        tx.commit().await?;
        Ok(Updated::Done)
    }

    /// Blocks or unblocks an organization. Blocking ends its users' sessions and API tokens in
    /// the same transaction; the journal entry says how many, and how many of its sends wait
    /// in the queue. Answers false when it already was in that state.
    pub async fn admin_set_org_blocked(&self, by: Actor, id: OrgId, blocked: bool) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let done = if blocked {
            sqlx::query("UPDATE organizations SET blocked_at = $1 WHERE id = $2 AND blocked_at IS NULL")
                .bind(now_ms())
                .bind(id.get())
                .execute(&mut *tx)
                .await?
        } else {
            sqlx::query("UPDATE organizations SET blocked_at = NULL WHERE id = $1 AND blocked_at IS NOT NULL")
                .bind(id.get())
                .execute(&mut *tx)
                .await?
        };
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM eis_sends WHERE org_id = $1 AND status = 'queued'")
            .bind(id.get())
            .fetch_one(&mut *tx)
            .await?;
        let (action, details) = if blocked {
            let a = sqlx::query("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE org_id = $1)")
                .bind(id.get())
                .execute(&mut *tx)
                .await?;
            let b = sqlx::query("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE org_id = $1)")
                .bind(id.get())
                .execute(&mut *tx)
                .await?;
            let ended = a.rows_affected() + b.rows_affected();
            (
                "Организация заблокирована",
                format!(
                    "Завершено сеансов и токенов API её пользователей: {ended}; отправок в ЕИС задержано в очереди: {queued}"
                ),
            )
        } else {
            ("Организация разблокирована", format!("Отправок в ЕИС в очереди продолжено: {queued}"))
        };
        record(&mut *tx, Some(by.user_id), Some(id), "organization", Some(id.get()), action, &details).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sends of the organization that wait in the queue (not yet accepted by ЕИС).
    pub async fn queued_sends_of_org(&self, id: OrgId) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM eis_sends WHERE org_id = $1 AND status = 'queued'")
            .bind(id.get())
            .fetch_one(self.pool())
            .await?)
    }

    /// The agreements of a subordinate organization, newest first.
    pub async fn agreements_of(&self, subordinate: OrgId) -> Result<Vec<Agreement>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{AGREEMENT_SELECT} WHERE a.subordinate_id = $1 ORDER BY a.id DESC"
        )))
        .bind(subordinate.get())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(agreement_from_row).collect()
    }

    pub async fn agreement(&self, id: i64) -> Result<Option<Agreement>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{AGREEMENT_SELECT} WHERE a.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(agreement_from_row).transpose()
    }

    /// Records an agreement with its audit entry (on the subordinate organization).
    pub async fn admin_add_agreement(&self, by: Option<Actor>, a: &NewAgreement<'_>, details: &str) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO org_agreements (subordinate_id, agent_id, number, signed_on, valid_from, valid_to, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(a.subordinate_id.get())
        .bind(a.agent_id.get())
        .bind(a.number)
        .bind(a.signed_on)
        .bind(a.valid_from)
        .bind(a.valid_to)
        .bind(by.map(|b| b.user_id.get()))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        record(
            &mut *tx,
            by.map(|b| b.user_id),
            Some(a.subordinate_id),
            "organization",
            Some(a.subordinate_id.get()),
            "Внесено соглашение о передаче полномочий",
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Revokes an agreement (kept, marked revoked); false when it already was.
    pub async fn admin_revoke_agreement(&self, by: Actor, a: &Agreement) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE org_agreements SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(by.user_id.get())
        .bind(a.id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        record(
            &mut *tx,
            Some(by.user_id),
            Some(a.subordinate_id),
            "organization",
            Some(a.subordinate_id.get()),
            "Отозвано соглашение о передаче полномочий",
            &format!("Соглашение № {} от {}; уполномоченная организация {}", a.number, a.signed_on, a.agent_short_name),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether an agreement of `subordinate` with `agent` is in force on `today` (ISO date).
    pub async fn agreement_in_force(&self, subordinate: OrgId, agent: OrgId, today: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM org_agreements WHERE subordinate_id = $1 AND agent_id = $2 AND revoked_at IS NULL \
             AND (valid_from IS NULL OR valid_from <= $3) AND (valid_to IS NULL OR valid_to >= $3)",
        )
        .bind(subordinate.get())
        .bind(agent.get())
        .bind(today)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }
}
