//! The sandbox's directory of organizations, users and plan-schedules, with the programmatic
//! administration plangraf's demo loader and the tests use. Every `ensure_*` is idempotent.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Row, SqlitePool};

use crate::auto_place::AutoPlace;
use crate::db::now_ms;
use crate::faults::{FaultState, Faults};
use crate::signin::{Guard, PasswordCheckStats, ThrottlePolicy};
use crate::{Credentials, SandboxError, drafts, passwords, plans};

#[derive(Clone)]
pub struct Directory {
    db: SqlitePool,
    faults: Arc<FaultState>,
    guard: Guard,
    auto_place: Arc<AutoPlace>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Directory")
    }
}

/// Who created a plan-schedule in the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanSource {
    /// Created in the ЕИС cabinet directly: blocks integration for that period.
    Eis,
    /// Integrated from a РИС over the exchange.
    Ris,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionState {
    /// «Проект»: a draft to be signed and placed in the cabinet.
    Project,
    /// «Размещен».
    Placed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanVersionInfo {
    pub version_number: u32,
    pub state: VersionState,
    /// The packet that carried it (none for a plan created in ЕИС).
    pub packet_id: Option<String>,
    pub external_id: Option<String>,
    pub position_count: u32,
    /// Set once placed: the id of the published document (`publishedDocId`).
    pub published_doc_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInfo {
    pub org_reg_num: String,
    pub plan_year: i32,
    pub source: PlanSource,
    pub plan_number: Option<String>,
    pub versions: Vec<PlanVersionInfo>,
}

/// A cabinet user as the pages and the exchange see it.
#[derive(Debug, Clone)]
pub(crate) struct UserRecord {
    pub(crate) id: i64,
    pub(crate) login: String,
    pub(crate) full_name: String,
    pub(crate) org_reg_num: String,
    pub(crate) org_name: String,
    pub(crate) is_org_admin: bool,
    pub(crate) plan_rights: bool,
    pub(crate) blocked: bool,
    pub(crate) integration_login: String,
    pub(crate) integration_password_at: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// One SELECT of users with their organization's name; sqlx takes only `'static` SQL.
macro_rules! user_select {
    ($extra:literal, $condition:literal) => {
        concat!(
            "SELECT ",
            $extra,
            "u.id, u.login, u.full_name, u.org_reg_num, o.full_name AS org_name, ",
            "u.is_org_admin, u.plan_rights, u.blocked, u.integration_login, u.integration_password_at, ",
            "u.created_at, u.updated_at FROM users u JOIN organizations o ON o.reg_num = u.org_reg_num WHERE ",
            $condition
        )
    };
}

fn user_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: r.try_get("id")?,
        login: r.try_get("login")?,
        full_name: r.try_get("full_name")?,
        org_reg_num: r.try_get("org_reg_num")?,
        org_name: r.try_get("org_name")?,
        is_org_admin: r.try_get("is_org_admin")?,
        plan_rights: r.try_get("plan_rights")?,
        blocked: r.try_get("blocked")?,
        integration_login: r.try_get("integration_login")?,
        integration_password_at: r.try_get("integration_password_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The alternative-integration login: fixed once, derived from the cabinet login.
fn integration_login_for(login: &str) -> String {
    format!("int_{login}")
}

fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

impl Directory {
    pub(crate) fn new(db: SqlitePool, faults: Arc<FaultState>, auto_place: Arc<AutoPlace>) -> Self {
        Directory { db, faults, guard: Guard::new(), auto_place }
    }

    pub(crate) fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Password checks (Argon2 hashes and verifications) running now, the most that ever ran
    /// at once and how many finished: they are bounded to about the number of cores.
    pub fn password_check_stats(&self) -> PasswordCheckStats {
        self.guard.gate.stats()
    }

    /// The throttling of failed sign-ins (cabinet and integration), replacing the previous
    /// policy; kept in memory, a restart brings back the default.
    pub fn set_throttle_policy(&self, policy: ThrottlePolicy) {
        self.guard.set_policy(policy);
    }

    pub fn throttle_policy(&self) -> ThrottlePolicy {
        self.guard.policy()
    }

    /// Sets the faults of the integration endpoints, replacing the previous ones
    /// (`Faults::default()` clears them). Counters start afresh.
    pub fn set_faults(&self, faults: Faults) {
        self.faults.set(faults);
    }

    /// The faults in force, with what is left of the "next N" counters.
    pub fn faults(&self) -> Faults {
        self.faults.get()
    }

    /// Automatic placement for benchmarks and tests: every draft received from a packet is
    /// placed `after` its packet's result became due (`None`, the default: only by hand).
    /// Kept in memory; see docs/SANDBOX.md.
    pub fn set_auto_place(&self, after: Option<Duration>) {
        self.auto_place.set(after);
    }

    pub fn auto_place(&self) -> Option<Duration> {
        self.auto_place.get()
    }

    /// Caches verified integration credentials for `ttl` each (`None`, the default: every
    /// integration call verifies its password with Argon2). For benchmarks; see docs/SANDBOX.md.
    pub fn set_credential_cache(&self, ttl: Option<Duration>) {
        self.guard.set_credential_cache(ttl);
    }

    pub fn credential_cache(&self) -> Option<Duration> {
        self.guard.credential_cache()
    }

    /// The `index/id` of every packet the organization's users uploaded and the sandbox
    /// received (stored), in the order received: each id once, however often it was uploaded.
    pub async fn received_packet_ids(&self, org_reg_num: &str) -> Result<Vec<String>, SandboxError> {
        Ok(sqlx::query_scalar("SELECT ref_id FROM packets WHERE org_reg_num = ?1 ORDER BY received_at, ref_id")
            .bind(org_reg_num)
            .fetch_all(&self.db)
            .await?)
    }

    /// How many integration replies the exchange log holds per endpoint and HTTP status
    /// (injected faults are not logged), sorted by endpoint and status.
    pub async fn exchange_log_counts(&self) -> Result<Vec<(String, u16, u64)>, SandboxError> {
        let rows = sqlx::query(
            "SELECT endpoint, http_status, COUNT(*) AS n FROM exchange_log GROUP BY endpoint, http_status \
             ORDER BY endpoint, http_status",
        )
        .fetch_all(&self.db)
        .await?;
        rows.iter()
            .map(|r| {
                let status: i64 = r.try_get("http_status")?;
                let n: i64 = r.try_get("n")?;
                Ok((r.try_get("endpoint")?, u16::try_from(status).unwrap_or(0), u64::try_from(n).unwrap_or(0)))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(SandboxError::from)
    }

    /// Lets the packets received under `stuck_processing` reach their final result now.
    /// Returns how many were released.
    pub async fn release_stuck(&self) -> Result<u64, SandboxError> {
        let done = sqlx::query("UPDATE packets SET ready_at = ?1 WHERE ready_at = ?2")
            .bind(now_ms())
            .bind(i64::MAX)
            .execute(&self.db)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn ensure_organization(
        &self,
        reg_num: &str,
        full_name: &str,
        inn: &str,
        kpp: &str,
    ) -> Result<(), SandboxError> {
        if !is_digits(reg_num, 11) {
            return Err(SandboxError::Invalid(format!("СПЗ code must be 11 digits: {reg_num:?}")));
        }
        if !(is_digits(inn, 10) || is_digits(inn, 12)) {
            return Err(SandboxError::Invalid(format!("INN must be 10 or 12 digits: {inn:?}")));
        }
        if kpp.chars().count() != 9 {
            return Err(SandboxError::Invalid(format!("KPP must be 9 characters: {kpp:?}")));
        }
        if full_name.trim().is_empty() {
            return Err(SandboxError::Invalid("organization name is empty".into()));
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO organizations (reg_num, full_name, inn, kpp, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
             ON CONFLICT (reg_num) DO UPDATE SET full_name = excluded.full_name, inn = excluded.inn, kpp = excluded.kpp, \
             updated_at = excluded.updated_at \
             WHERE full_name <> excluded.full_name OR inn <> excluded.inn OR kpp <> excluded.kpp",
        )
        .bind(reg_num)
        .bind(full_name.trim())
        .bind(inn)
        .bind(kpp)
        .bind(now)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Registers an agreement: `agent` may place plan-schedules for `customer` (ownerRole OA).
    pub async fn grant_powers(&self, customer: &str, agent: &str) -> Result<(), SandboxError> {
        sqlx::query(
            "INSERT INTO powers (customer_reg_num, agent_reg_num, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (customer_reg_num, agent_reg_num) DO NOTHING",
        )
        .bind(customer)
        .bind(agent)
        .bind(now_ms())
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Ends an agreement registered with [`Directory::grant_powers`].
    pub async fn revoke_powers(&self, customer: &str, agent: &str) -> Result<(), SandboxError> {
        sqlx::query("DELETE FROM powers WHERE customer_reg_num = ?1 AND agent_reg_num = ?2")
            .bind(customer)
            .bind(agent)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// Creates the user or brings it to the given state (the blocked flag and the
    /// integration password are left as they are).
    pub async fn ensure_user(
        &self,
        login: &str,
        password: &str,
        org_reg_num: &str,
        is_org_admin: bool,
        plan_rights: bool,
        full_name: &str,
    ) -> Result<(), SandboxError> {
        if login.trim().is_empty() || login.chars().any(char::is_whitespace) {
            return Err(SandboxError::Invalid(format!("login must be non-empty without spaces: {login:?}")));
        }
        if password.is_empty() {
            return Err(SandboxError::Invalid("password is empty".into()));
        }
        let org_exists = sqlx::query("SELECT 1 FROM organizations WHERE reg_num = ?1")
            .bind(org_reg_num)
            .fetch_optional(&self.db)
            .await?
            .is_some();
        if !org_exists {
            return Err(SandboxError::NotFound(format!("organization {org_reg_num}")));
        }
        let hash = passwords::hash(&self.guard.gate, password.to_owned()).await?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO users (login, password_hash, org_reg_num, full_name, is_org_admin, plan_rights, \
             integration_login, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) \
             ON CONFLICT (login) DO UPDATE SET password_hash = excluded.password_hash, org_reg_num = excluded.org_reg_num, \
             full_name = excluded.full_name, is_org_admin = excluded.is_org_admin, plan_rights = excluded.plan_rights, \
             updated_at = excluded.updated_at",
        )
        .bind(login)
        .bind(hash)
        .bind(org_reg_num)
        .bind(full_name.trim())
        .bind(is_org_admin)
        .bind(plan_rights)
        .bind(integration_login_for(login))
        .bind(now)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// «Данные пользователя для альтернативной интеграции (по протоколу HTTPS)»: a new password
    /// for the user's integration login. The previous one stops working at once.
    pub async fn regenerate_integration_password(&self, login: &str) -> Result<Credentials, SandboxError> {
        let password = passwords::generate_password();
        let hash = passwords::hash(&self.guard.gate, password.clone()).await?;
        let now = now_ms();
        let row = sqlx::query(
            "UPDATE users SET integration_password_hash = ?1, integration_password_at = ?2, updated_at = ?2 \
             WHERE login = ?3 RETURNING integration_login",
        )
        .bind(hash)
        .bind(now)
        .bind(login)
        .fetch_optional(&self.db)
        .await?
        .ok_or_else(|| SandboxError::NotFound(format!("user {login}")))?;
        tracing::info!(login, "generated a new alternative-integration password");
        Ok(Credentials { login: row.try_get("integration_login")?, password: password.into() })
    }

    /// The user's alternative-integration login (fixed at creation).
    pub async fn integration_login(&self, login: &str) -> Result<String, SandboxError> {
        sqlx::query_scalar::<_, String>("SELECT integration_login FROM users WHERE login = ?1")
            .bind(login)
            .fetch_optional(&self.db)
            .await?
            .ok_or_else(|| SandboxError::NotFound(format!("user {login}")))
    }

    /// Grants or withdraws the right «Работа с планом-графиком».
    pub async fn set_plan_rights(&self, login: &str, on: bool) -> Result<(), SandboxError> {
        self.update_flag(login, "UPDATE users SET plan_rights = ?1, updated_at = ?2 WHERE login = ?3", on).await
    }

    /// «Заблокировать пользователя» (or unblock): a blocked user can neither sign in nor exchange.
    pub async fn set_blocked(&self, login: &str, on: bool) -> Result<(), SandboxError> {
        self.update_flag(login, "UPDATE users SET blocked = ?1, updated_at = ?2 WHERE login = ?3", on).await?;
        if on {
            sqlx::query("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE login = ?1)")
                .bind(login)
                .execute(&self.db)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn set_org_admin(&self, login: &str, on: bool) -> Result<(), SandboxError> {
        self.update_flag(login, "UPDATE users SET is_org_admin = ?1, updated_at = ?2 WHERE login = ?3", on).await
    }

    async fn update_flag(&self, login: &str, sql: &'static str, on: bool) -> Result<(), SandboxError> {
        let done = sqlx::query(sql).bind(on).bind(now_ms()).bind(login).execute(&self.db).await?;
        if done.rows_affected() == 0 {
            return Err(SandboxError::NotFound(format!("user {login}")));
        }
        Ok(())
    }

    /// «Создать план-график» in the cabinet: a plan-schedule for the organization and year
    /// created in ЕИС directly (a draft, version 0). Integration for that period is then
    /// impossible. Idempotent; refused when the period already has an integrated plan.
    pub async fn create_plan_directly(&self, org_reg_num: &str, plan_year: i32) -> Result<(), SandboxError> {
        if !(2020..=9999).contains(&plan_year) {
            return Err(SandboxError::Invalid(format!("plan year {plan_year}")));
        }
        let mut tx = self.db.begin_with("BEGIN IMMEDIATE").await?;
        let existing = sqlx::query("SELECT source FROM plans WHERE org_reg_num = ?1 AND plan_year = ?2")
            .bind(org_reg_num)
            .bind(plan_year)
            .fetch_optional(&mut *tx)
            .await?;
        match existing.map(|r| r.try_get::<String, _>("source")).transpose()?.as_deref() {
            Some("EIS") => return Ok(()),
            Some(_) => {
                return Err(SandboxError::Conflict(format!(
                    "organization {org_reg_num} already has an integrated plan-schedule for {plan_year}"
                )));
            }
            None => {}
        }
        let org_exists = sqlx::query("SELECT 1 FROM organizations WHERE reg_num = ?1")
            .bind(org_reg_num)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !org_exists {
            return Err(SandboxError::NotFound(format!("organization {org_reg_num}")));
        }
        let now = now_ms();
        let plan_id: i64 = sqlx::query_scalar(
            "INSERT INTO plans (org_reg_num, plan_year, source, created_at) VALUES (?1, ?2, 'EIS', ?3) RETURNING id",
        )
        .bind(org_reg_num)
        .bind(plan_year)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO plan_versions (plan_id, version_number, state, position_count, created_at) VALUES (?1, 0, 'project', 0, ?2)",
        )
        .bind(plan_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The organization's plan-schedules («Реестр планов-графиков»), by year.
    pub async fn plans(&self, org_reg_num: &str) -> Result<Vec<PlanInfo>, SandboxError> {
        let rows = sqlx::query(
            "SELECT p.id, p.plan_year, p.source, p.plan_number, v.version_number, v.state, \
             (SELECT k.ref_id FROM packets k WHERE k.packet_id = v.packet_id) AS packet_id, v.external_id, \
             v.position_count, v.published_doc_id FROM plans p LEFT JOIN plan_versions v ON v.plan_id = p.id \
             WHERE p.org_reg_num = ?1 ORDER BY p.plan_year, p.id, v.version_number",
        )
        .bind(org_reg_num)
        .fetch_all(&self.db)
        .await?;
        let mut plans: Vec<(i64, PlanInfo)> = Vec::new();
        for r in rows {
            let id: i64 = r.try_get("id")?;
            if plans.last().map(|(last, _)| *last) != Some(id) {
                let source: String = r.try_get("source")?;
                plans.push((
                    id,
                    PlanInfo {
                        org_reg_num: org_reg_num.to_owned(),
                        plan_year: r.try_get("plan_year")?,
                        source: if source == "EIS" { PlanSource::Eis } else { PlanSource::Ris },
                        plan_number: r.try_get("plan_number")?,
                        versions: Vec::new(),
                    },
                ));
            }
            let Some(version_number) = r.try_get::<Option<i64>, _>("version_number")? else { continue };
            let state: String = r.try_get("state")?;
            let info = PlanVersionInfo {
                version_number: u32::try_from(version_number).unwrap_or(0),
                state: if state == "placed" { VersionState::Placed } else { VersionState::Project },
                packet_id: r.try_get("packet_id")?,
                external_id: r.try_get("external_id")?,
                position_count: u32::try_from(r.try_get::<i64, _>("position_count")?).unwrap_or(0),
                published_doc_id: r.try_get("published_doc_id")?,
            };
            if let Some((_, plan)) = plans.last_mut() {
                plan.versions.push(info);
            }
        }
        Ok(plans.into_iter().map(|(_, p)| p).collect())
    }

    /// «Разместить» the latest draft of the organization's plan for `plan_year`, as the
    /// customer does in the cabinet. Returns the plan number (assigned at the first placement).
    pub async fn publish(&self, org_reg_num: &str, plan_year: i32) -> Result<String, SandboxError> {
        let plan = plans::plan_by_year(&self.db, org_reg_num, plan_year)
            .await?
            .ok_or_else(|| SandboxError::NotFound(format!("plan-schedule of {org_reg_num} for {plan_year}")))?;
        let draft = plans::versions(&self.db, plan.id)
            .await?
            .into_iter()
            .rev()
            .find(|v| v.state == VersionState::Project)
            .ok_or_else(|| {
                SandboxError::Conflict(format!("no draft of {org_reg_num}'s plan-schedule for {plan_year}"))
            })?;
        Ok(plans::place(&self.db, plan.id, draft.version_number).await?.plan_number)
    }

    /// «Разместить» one given draft version. Refused for a version already placed or older
    /// than the latest placed one.
    pub async fn publish_version(
        &self,
        org_reg_num: &str,
        plan_year: i32,
        version_number: u32,
    ) -> Result<String, SandboxError> {
        let plan = plans::plan_by_year(&self.db, org_reg_num, plan_year)
            .await?
            .ok_or_else(|| SandboxError::NotFound(format!("plan-schedule of {org_reg_num} for {plan_year}")))?;
        Ok(plans::place(&self.db, plan.id, i64::from(version_number)).await?.plan_number)
    }

    /// The positions of a version: as placed (with `positionNumber`) for a placed version, as
    /// received for a draft.
    pub async fn version_positions(
        &self,
        org_reg_num: &str,
        plan_year: i32,
        version_number: u32,
    ) -> Result<Vec<eis::packet::Position>, SandboxError> {
        let plan = plans::plan_by_year(&self.db, org_reg_num, plan_year)
            .await?
            .ok_or_else(|| SandboxError::NotFound(format!("plan-schedule of {org_reg_num} for {plan_year}")))?;
        let content = plans::version_content(&self.db, plan.id, i64::from(version_number)).await?;
        Ok(content.map(|p| p.data.positions).unwrap_or_default())
    }

    /// «Добавить позицию» to the organization's plan-schedule created in ЕИС for `plan_year`,
    /// as the customer does in the cabinet (the cabinet's page calls this). The position goes
    /// into the plan's draft: the draft before the first placement, else the «проект
    /// изменений» over the latest placed version (made on the first change). ЕИС gives it the
    /// plan's next purchase number, returned (4 digits), the ИКУ of the organization and the
    /// ИКЗ built from them. `Invalid` with a Russian text for a field that fails its check
    /// (nothing is changed), `Refused` for a plan integrated from a РИС, `NotFound` without a
    /// plan for that year. Placed with [`Directory::publish`].
    pub async fn cabinet_add_position(
        &self,
        org_reg_num: &str,
        plan_year: i32,
        position: crate::CabinetPosition,
    ) -> Result<String, SandboxError> {
        drafts::apply(&self.db, org_reg_num, plan_year, drafts::Action::Add(position)).await
    }

    /// «Изменить» the position with `purchase_number` (4 digits) of the plan's draft: its
    /// fields are replaced; the purchase number, the ИКУ and, once the position has been
    /// placed, the ИКЗ and the registry number are kept. A placed position is changed in the
    /// «проект изменений» with status `E` and `change` as its justification (required then;
    /// not asked for a position not placed yet). `Conflict` for a cancelled purchase, `NotFound`
    /// for an unknown purchase number; otherwise as [`Directory::cabinet_add_position`].
    pub async fn cabinet_edit_position(
        &self,
        org_reg_num: &str,
        plan_year: i32,
        purchase_number: &str,
        position: crate::CabinetPosition,
        change: Option<crate::CabinetChange>,
    ) -> Result<(), SandboxError> {
        let action = drafts::Action::Edit { purchase_number: purchase_number.to_owned(), position, change };
        drafts::apply(&self.db, org_reg_num, plan_year, action).await.map(|_| ())
    }

    /// «Отменить закупку»: the placed position with `purchase_number` is cancelled in the
    /// «проект изменений» (status `E`, `decision/purchaseCanceled`, `change` as the
    /// justification); once placed, the export carries `positionCanceled` = true. `Conflict`
    /// for a position not placed yet or already cancelled; otherwise as
    /// [`Directory::cabinet_edit_position`].
    pub async fn cabinet_cancel_position(
        &self,
        org_reg_num: &str,
        plan_year: i32,
        purchase_number: &str,
        change: crate::CabinetChange,
    ) -> Result<(), SandboxError> {
        let action = drafts::Action::Cancel { purchase_number: purchase_number.to_owned(), change };
        drafts::apply(&self.db, org_reg_num, plan_year, action).await.map(|_| ())
    }

    // --- for the cabinet and the exchange -------------------------------------------------

    pub(crate) async fn user_by_login(&self, login: &str) -> Result<Option<(UserRecord, String)>, SandboxError> {
        let sql = user_select!("u.password_hash, ", "u.login = ?1");
        let row = sqlx::query(sql).bind(login).fetch_optional(&self.db).await?;
        row.map(|r| Ok((user_from_row(&r)?, r.try_get("password_hash")?))).transpose()
    }

    /// The user of an integration login with that login's current password hash (if any).
    pub(crate) async fn user_by_integration_login(
        &self,
        login: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>, SandboxError> {
        let sql = user_select!("u.integration_password_hash, ", "u.integration_login = ?1");
        let row = sqlx::query(sql).bind(login).fetch_optional(&self.db).await?;
        row.map(|r| Ok((user_from_row(&r)?, r.try_get("integration_password_hash")?))).transpose()
    }

    pub(crate) async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, SandboxError> {
        let row = sqlx::query(user_select!("", "u.id = ?1")).bind(id).fetch_optional(&self.db).await?;
        Ok(row.map(|r| user_from_row(&r)).transpose()?)
    }

    pub(crate) async fn users_of_org(&self, org_reg_num: &str) -> Result<Vec<UserRecord>, SandboxError> {
        let rows = sqlx::query(user_select!("", "u.org_reg_num = ?1 ORDER BY u.full_name, u.login"))
            .bind(org_reg_num)
            .fetch_all(&self.db)
            .await?;
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }
}
