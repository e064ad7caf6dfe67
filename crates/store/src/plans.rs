//! Plan-schedules, their positions and their immutable versions.
//!
//! Optimistic locking has two levels. A position's `row_version` guards its edit, cancellation
//! and deletion; the plan's `row_version` guards its header (owner role, responsible person) and
//! its transitions. A position write also moves the plan's `content_version` forward, guarded by
//! an editable status, in the same transaction: on PostgreSQL that takes the plan row's lock,
//! so position writes of one plan and its transitions (approval above all) serialize, and a write
//! to a plan that is no longer editable is refused. Every write records its audit entry in the
//! same transaction.

use crate::audit::record;
use crate::{Result, Store, StoreError, Time, is_unique_violation, now_ms, time, time_at};
use domain::PlanStatus;
use domain::exchange::PacketBasis;
use domain::ids::{OrgId, PlanId, PositionId, UserId, VersionId};
use domain::ikz::PurchaseNumber;
use domain::plan::{OwnerRole, PlanSnapshot, Position, ResponsiblePerson};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: PlanId,
    pub org_id: OrgId,
    pub plan_year: i32,
    pub status: PlanStatus,
    pub return_comment: Option<String>,
    pub eis_plan_number: Option<String>,
    /// Who places the plan in ЕИС.
    pub owner_role: OwnerRole,
    pub responsible: Option<ResponsiblePerson>,
    pub row_version: i64,
    /// Increases with every change of the working copy (header or any position), and at
    /// approval and «Внести изменения»: (plan id, content_version) names one content to check.
    pub content_version: i64,
    pub updated_at: Time,
}

#[derive(Debug, Clone)]
pub struct PlanListItem {
    pub plan: Plan,
    pub org_name: String,
    pub position_count: i64,
    pub version_count: i64,
}

#[derive(Debug, Clone)]
pub struct StoredPosition {
    pub id: PositionId,
    pub position: Position,
    /// This position's optimistic lock: its edit, cancellation and deletion name it.
    pub row_version: i64,
    /// Whether its purchase number is in the latest approved version.
    pub in_base: bool,
}

/// Why a position write changed nothing (besides a fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionRefusal {
    /// The plan's status does not allow changing its working copy (it was submitted or
    /// approved meanwhile).
    PlanNotEditable,
    /// The position changed since the writer read it, or is gone.
    Stale,
    /// The plan has used every purchase number.
    NumbersExhausted,
}

/// The outcome of a position write: the position as stored now, or why nothing changed.
pub type PositionWrite = std::result::Result<StoredPosition, PositionRefusal>;

#[derive(Debug, Clone)]
pub struct Version {
    pub id: VersionId,
    pub plan_id: PlanId,
    pub version_number: i64,
    pub snapshot: PlanSnapshot,
    pub approved_by: UserId,
    pub approved_at: Time,
    /// Registry numbers of the positions by purchase number, once ЕИС has placed the version.
    pub eis_position_numbers: std::collections::BTreeMap<String, String>,
    /// The packet fixed at approval, if one could be.
    pub packet: Option<FixedPacket>,
    /// What the packet was (or, without one, would have been) built against.
    pub packet_basis: Option<PacketBasis>,
}

/// A version's packet as fixed at approval: the exact XML and its index id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedPacket {
    pub id: String,
    pub xml: String,
}

/// What approval fixes besides the snapshot.
pub struct Approval<'a> {
    /// The version number the packet was built for; approval fails with a conflict if another
    /// approval took it first.
    pub version_number: i64,
    pub packet: Option<&'a FixedPacket>,
    pub basis: &'a PacketBasis,
}

macro_rules! plan_columns {
    () => {
        "p.id, p.org_id, p.plan_year, p.status, p.return_comment, p.eis_plan_number, p.owner_role, p.responsible, p.row_version, p.content_version, p.updated_at"
    };
}

fn plan_from_row(r: &AnyRow) -> Result<Plan> {
    let status: String = r.try_get("status")?;
    let year: i64 = r.try_get("plan_year")?;
    Ok(Plan {
        id: PlanId(r.try_get("id")?),
        org_id: OrgId(r.try_get("org_id")?),
        plan_year: i32::try_from(year).map_err(|_| StoreError::Corrupt("plan_year".into()))?,
        status: PlanStatus::from_code(&status).ok_or_else(|| StoreError::Corrupt(format!("plan status {status}")))?,
        return_comment: r.try_get("return_comment")?,
        eis_plan_number: r.try_get("eis_plan_number")?,
        owner_role: match r.try_get::<Option<String>, _>("owner_role")? {
            None => OwnerRole::Customer,
            Some(code) => {
                OwnerRole::from_code(&code).ok_or_else(|| StoreError::Corrupt(format!("owner role {code}")))?
            }
        },
        responsible: match r.try_get::<Option<String>, _>("responsible")? {
            None => None,
            Some(json) => {
                Some(serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("responsible: {e}")))?)
            }
        },
        row_version: r.try_get("row_version")?,
        content_version: r.try_get("content_version")?,
        updated_at: time_at(r, "updated_at")?,
    })
}

fn version_from_row(r: &AnyRow) -> Result<Version> {
    let snapshot: String = r.try_get("snapshot")?;
    let numbers: Option<String> = r.try_get("eis_position_numbers")?;
    let eis_position_numbers = match numbers {
        Some(n) => serde_json::from_str(&n).map_err(|e| StoreError::Corrupt(format!("position numbers: {e}")))?,
        None => Default::default(),
    };
    Ok(Version {
        id: VersionId(r.try_get("id")?),
        plan_id: PlanId(r.try_get("plan_id")?),
        version_number: r.try_get("version_number")?,
        snapshot: serde_json::from_str(&snapshot).map_err(|e| StoreError::Corrupt(format!("snapshot: {e}")))?,
        approved_by: UserId(r.try_get("approved_by")?),
        approved_at: time_at(r, "approved_at")?,
        eis_position_numbers,
        packet: match (r.try_get::<Option<String>, _>("packet_id")?, r.try_get::<Option<String>, _>("packet_xml")?) {
            (Some(id), Some(xml)) => Some(FixedPacket { id, xml }),
            _ => None,
        },
        packet_basis: r
            .try_get::<Option<String>, _>("packet_basis")?
            .map(|b| PacketBasis::parse(&b))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("version packet: {e}")))?,
    })
}

/// Bumps the plan's row version (and content version: the header is content) if it is still
/// the one the writer read.
async fn bump(tx: &mut sqlx::Transaction<'_, sqlx::Any>, plan_id: PlanId, expected: i64) -> Result<()> {
    let done = sqlx::query(
        "UPDATE plans SET row_version = row_version + 1, content_version = content_version + 1, updated_at = $1 \
         WHERE id = $2 AND row_version = $3",
    )
    .bind(now_ms())
    .bind(plan_id.get())
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::Conflict) }
}

fn parse_position(data: &str) -> Result<Position> {
    serde_json::from_str(data).map_err(|e| StoreError::Corrupt(format!("position: {e}")))
}

fn stored_position(r: &AnyRow) -> Result<StoredPosition> {
    let data: String = r.try_get("data")?;
    Ok(StoredPosition {
        id: PositionId(r.try_get("id")?),
        position: parse_position(&data)?,
        row_version: r.try_get("row_version")?,
        in_base: r.try_get::<i64, _>("in_base")? != 0,
    })
}

macro_rules! position_columns {
    () => {
        "id, data, row_version, in_base"
    };
}

/// Inside a write transaction, first: moves the plan's content version forward if its status
/// still allows changing the working copy. On PostgreSQL this takes the plan row's lock, so the
/// position writes of one plan and its transitions serialize; `false` when the plan is not
/// editable (nothing was changed).
async fn lock_editable(tx: &mut sqlx::Transaction<'_, sqlx::Any>, plan_id: PlanId) -> Result<bool> {
    let editable: Vec<&str> = PlanStatus::ALL.iter().filter(|s| s.editable()).map(|s| s.code()).collect();
    let [first, second] = editable[..] else {
        return Err(StoreError::Corrupt("expected two editable plan statuses".into()));
    };
    let done = sqlx::query(
        "UPDATE plans SET content_version = content_version + 1, updated_at = $1 WHERE id = $2 AND status IN ($3, $4)",
    )
    .bind(now_ms())
    .bind(plan_id.get())
    .bind(first)
    .bind(second)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inside a write transaction, after [`lock_editable`]: the position about to change, if it is
/// still at the row version the writer read (a position that is gone is stale too).
async fn position_for_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    plan_id: PlanId,
    position_id: PositionId,
    expected_row_version: i64,
) -> Result<Option<StoredPosition>> {
    let row = sqlx::query(concat!("SELECT ", position_columns!(), " FROM positions WHERE id = $1 AND plan_id = $2"))
        .bind(position_id.get())
        .bind(plan_id.get())
        .fetch_optional(&mut **tx)
        .await?;
    let Some(stored) = row.as_ref().map(stored_position).transpose()? else { return Ok(None) };
    Ok((stored.row_version == expected_row_version).then_some(stored))
}

/// Marks the positions of each plan's latest approved version (migration 0009, for the rows
/// that existed before it): only the snapshots know them.
pub(crate) async fn mark_base_positions_of_all_plans(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
    let latest = sqlx::query(
        "SELECT v.plan_id, v.snapshot FROM plan_versions v WHERE v.version_number = \
         (SELECT MAX(w.version_number) FROM plan_versions w WHERE w.plan_id = v.plan_id)",
    )
    .fetch_all(&mut **tx)
    .await?;
    for r in latest {
        let plan_id: i64 = r.try_get("plan_id")?;
        let snapshot: String = r.try_get("snapshot")?;
        let snapshot: PlanSnapshot =
            serde_json::from_str(&snapshot).map_err(|e| StoreError::Corrupt(format!("snapshot: {e}")))?;
        for p in &snapshot.positions {
            let data = serde_json::to_string(p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query("UPDATE positions SET in_base = 1, base_data = $1 WHERE plan_id = $2 AND purchase_number = $3")
                .bind(data)
                .bind(plan_id)
                .bind(i64::from(p.purchase_number.get()))
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

impl Store {
    /// Creates a plan-schedule for the organization and year; `Ok(None)` if one exists already.
    pub async fn create_plan(&self, org_id: OrgId, plan_year: i32, actor: UserId) -> Result<Option<Plan>> {
        let mut tx = self.write_tx().await?;
        let now = now_ms();
        let res = sqlx::query_scalar::<_, i64>(
            "INSERT INTO plans (org_id, plan_year, status, row_version, created_at, updated_at) \
             VALUES ($1, $2, $3, 1, $4, $4) RETURNING id",
        )
        .bind(org_id.get())
        .bind(i64::from(plan_year))
        .bind(PlanStatus::Forming.code())
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        let id = match res {
            Ok(id) => PlanId(id),
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        record(
            &mut *tx,
            Some(actor),
            Some(org_id),
            "plan",
            Some(id.get()),
            "Создан план-график",
            &format!("Год: {plan_year}"),
        )
        .await?;
        tx.commit().await?;
        self.plan(id).await
    }

    pub async fn plan(&self, id: PlanId) -> Result<Option<Plan>> {
        let row = sqlx::query(concat!("SELECT ", plan_columns!(), " FROM plans p WHERE p.id = $1"))
            .bind(id.get())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(plan_from_row).transpose()
    }

    /// Plans of the organization itself and of the organizations it is superior to.
    pub async fn plans_visible_to(&self, org_id: OrgId) -> Result<Vec<PlanListItem>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            plan_columns!(),
            ", o.short_name AS org_name, \
             (SELECT COUNT(*) FROM positions x WHERE x.plan_id = p.id) AS position_count, \
             (SELECT COUNT(*) FROM plan_versions v WHERE v.plan_id = p.id) AS version_count \
             FROM plans p JOIN organizations o ON o.id = p.org_id \
             WHERE p.org_id = $1 OR o.superior_id = $1 ORDER BY p.plan_year DESC, o.short_name"
        ))
        .bind(org_id.get())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PlanListItem {
                    plan: plan_from_row(r)?,
                    org_name: r.try_get("org_name")?,
                    position_count: r.try_get("position_count")?,
                    version_count: r.try_get("version_count")?,
                })
            })
            .collect()
    }

    pub async fn positions(&self, plan_id: PlanId) -> Result<Vec<StoredPosition>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            position_columns!(),
            " FROM positions WHERE plan_id = $1 ORDER BY purchase_number"
        ))
        .bind(plan_id.get())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(stored_position).collect()
    }

    /// One position of the plan with its content in the latest approved version (`None` for a
    /// position added since), without reading the other positions or any snapshot.
    pub async fn position_with_base(
        &self,
        plan_id: PlanId,
        position_id: PositionId,
    ) -> Result<Option<(StoredPosition, Option<Position>)>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            position_columns!(),
            ", base_data FROM positions WHERE id = $1 AND plan_id = $2"
        ))
        .bind(position_id.get())
        .bind(plan_id.get())
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let base = r.try_get::<Option<String>, _>("base_data")?.map(|d| parse_position(&d)).transpose()?;
        Ok(Some((stored_position(&r)?, base)))
    }

    /// The number of the plan's latest approved version, without reading any snapshot.
    pub async fn latest_version_number(&self, plan_id: PlanId) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT MAX(version_number) FROM plan_versions WHERE plan_id = $1")
            .bind(plan_id.get())
            .fetch_one(self.pool())
            .await?)
    }

    /// Adds a position under the plan's next purchase number (one above the highest in use,
    /// read through the `(plan_id, purchase_number)` index), if the plan is editable. The
    /// purchase number `p` carries is replaced by the one allocated.
    pub async fn add_position(&self, plan: &Plan, p: &Position, actor: UserId) -> Result<PositionWrite> {
        let mut tx = self.write_tx().await?;
        if !lock_editable(&mut tx, plan.id).await? {
            return Ok(Err(PositionRefusal::PlanNotEditable));
        }
        // The plan row is locked from here on, so no other writer of this plan allocates
        // meanwhile, and on PostgreSQL this statement sees every number committed before.
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(purchase_number) FROM positions WHERE plan_id = $1")
            .bind(plan.id.get())
            .fetch_one(&mut *tx)
            .await?;
        let used = match max {
            None => None,
            Some(n) => Some(
                u32::try_from(n)
                    .ok()
                    .and_then(|n| PurchaseNumber::new(n).ok())
                    .ok_or_else(|| StoreError::Corrupt(format!("purchase number {n}")))?,
            ),
        };
        let Ok(number) = domain::plan::next_purchase_number(used) else {
            return Ok(Err(PositionRefusal::NumbersExhausted));
        };
        let mut position = p.clone();
        position.purchase_number = number;
        let data = serde_json::to_string(&position).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO positions (plan_id, purchase_number, data, row_version, in_base) VALUES ($1, $2, $3, 1, 0) \
             RETURNING id",
        )
        .bind(plan.id.get())
        .bind(i64::from(number.get()))
        .bind(&data)
        .fetch_one(&mut *tx)
        .await?;
        record(
            &mut *tx,
            Some(actor),
            Some(plan.org_id),
            "plan",
            Some(plan.id.get()),
            &format!("Добавлена позиция {}", number.padded()),
            &position.summary(),
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(StoredPosition { id: PositionId(id), position, row_version: 1, in_base: false }))
    }

    /// Replaces a position's content if the position is still at `expected_row_version` and the
    /// plan is editable.
    pub async fn update_position(
        &self,
        plan: &Plan,
        position_id: PositionId,
        expected_row_version: i64,
        p: &Position,
        actor: UserId,
    ) -> Result<PositionWrite> {
        let mut tx = self.write_tx().await?;
        if !lock_editable(&mut tx, plan.id).await? {
            return Ok(Err(PositionRefusal::PlanNotEditable));
        }
        let Some(before) = position_for_change(&mut tx, plan.id, position_id, expected_row_version).await? else {
            return Ok(Err(PositionRefusal::Stale));
        };
        let data = serde_json::to_string(p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE positions SET data = $1, row_version = row_version + 1 WHERE id = $2")
            .bind(&data)
            .bind(position_id.get())
            .execute(&mut *tx)
            .await?;
        let action = match &p.change {
            Some(c) if c.decision == domain::plan::ChangeDecision::Canceled => {
                format!("Отменена позиция {}", p.purchase_number.padded())
            }
            _ => format!("Изменена позиция {}", p.purchase_number.padded()),
        };
        let details = match &p.change {
            Some(c) => format!(
                "Было: {}\nСтало: {}\nПричина: {} — {}",
                before.position.summary(),
                p.summary(),
                c.reason_code,
                c.description
            ),
            None => format!("Было: {}\nСтало: {}", before.position.summary(), p.summary()),
        };
        record(&mut *tx, Some(actor), Some(plan.org_id), "plan", Some(plan.id.get()), &action, &details).await?;
        tx.commit().await?;
        Ok(Ok(StoredPosition { position: p.clone(), row_version: before.row_version + 1, ..before }))
    }

    /// «Внести изменения»: reopens an approved plan for a new change round. The justifications
    /// of the previous round belong to the version already approved, so they are cleared.
    pub async fn start_changes(&self, plan: &Plan, actor: UserId) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE plans SET status = $1, return_comment = NULL, row_version = row_version + 1, \
             content_version = content_version + 1, updated_at = $2 WHERE id = $3 AND status = $4",
        )
        .bind(PlanStatus::Forming.code())
        .bind(now_ms())
        .bind(plan.id.get())
        .bind(PlanStatus::Approved.code())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        let rows = sqlx::query("SELECT id, data FROM positions WHERE plan_id = $1")
            .bind(plan.id.get())
            .fetch_all(&mut *tx)
            .await?;
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let data: String = r.try_get("data")?;
            let mut p = parse_position(&data)?;
            if p.change.take().is_some() {
                let data = serde_json::to_string(&p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query("UPDATE positions SET data = $1, row_version = row_version + 1 WHERE id = $2")
                    .bind(data)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let details = format!("{} → {}", PlanStatus::Approved.title(), PlanStatus::Forming.title());
        record(
            &mut *tx,
            Some(actor),
            Some(plan.org_id),
            "plan",
            Some(plan.id.get()),
            domain::plan::JOURNAL_CHANGES,
            &details,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets who places the plan in ЕИС, on the working copy the writer read.
    pub async fn set_owner_role(
        &self,
        plan: &Plan,
        expected_row_version: i64,
        role: OwnerRole,
        actor: UserId,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        bump(&mut tx, plan.id, expected_row_version).await?;
        sqlx::query("UPDATE plans SET owner_role = $1 WHERE id = $2")
            .bind(role.code())
            .bind(plan.id.get())
            .execute(&mut *tx)
            .await?;
        let details = format!("{} → {}", plan.owner_role.title(), role.title());
        record(
            &mut *tx,
            Some(actor),
            Some(plan.org_id),
            "plan",
            Some(plan.id.get()),
            "Изменено: кто размещает в ЕИС",
            &details,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the person responsible for the plan, on the working copy the writer read.
    pub async fn set_responsible(
        &self,
        plan: &Plan,
        expected_row_version: i64,
        person: &ResponsiblePerson,
        actor: UserId,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        bump(&mut tx, plan.id, expected_row_version).await?;
        let json = serde_json::to_string(person).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE plans SET responsible = $1 WHERE id = $2")
            .bind(json)
            .bind(plan.id.get())
            .execute(&mut *tx)
            .await?;
        let before = plan.responsible.as_ref().map(ResponsiblePerson::display).unwrap_or_else(|| "не указан".into());
        let details = format!("{before} → {}", person.display());
        record(
            &mut *tx,
            Some(actor),
            Some(plan.org_id),
            "plan",
            Some(plan.id.get()),
            "Изменён ответственный исполнитель",
            &details,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a position if it is still at `expected_row_version` and the plan is editable.
    /// Answers the position as it was.
    pub async fn delete_position(
        &self,
        plan: &Plan,
        position_id: PositionId,
        expected_row_version: i64,
        actor: UserId,
    ) -> Result<PositionWrite> {
        let mut tx = self.write_tx().await?;
        if !lock_editable(&mut tx, plan.id).await? {
            return Ok(Err(PositionRefusal::PlanNotEditable));
        }
        let Some(before) = position_for_change(&mut tx, plan.id, position_id, expected_row_version).await? else {
            return Ok(Err(PositionRefusal::Stale));
        };
        sqlx::query("DELETE FROM positions WHERE id = $1").bind(position_id.get()).execute(&mut *tx).await?;
        let action = format!("Удалена позиция {}", before.position.purchase_number.padded());
        record(
            &mut *tx,
            Some(actor),
            Some(plan.org_id),
            "plan",
            Some(plan.id.get()),
            &action,
            &before.position.summary(),
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(before))
    }

    /// Moves the plan from `from` to `to` (submit, return); fails with `Conflict` if someone
    /// changed it meanwhile.
    pub async fn change_plan_status(
        &self,
        plan: &Plan,
        from: PlanStatus,
        to: PlanStatus,
        comment: Option<&str>,
        actor: UserId,
        action: &str,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE plans SET status = $1, return_comment = $2, row_version = row_version + 1, updated_at = $3 \
             WHERE id = $4 AND status = $5",
        )
        .bind(to.code())
        .bind(comment)
        .bind(now_ms())
        .bind(plan.id.get())
        .bind(from.code())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        let details =
            format!("{} → {}{}", from.title(), to.title(), comment.map(|c| format!(": {c}")).unwrap_or_default());
        record(&mut *tx, Some(actor), Some(plan.org_id), "plan", Some(plan.id.get()), action, &details).await?;
        tx.commit().await?;
        Ok(())
    }

    /// «Утвердить»: the plan becomes approved and its next immutable version is recorded, in
    /// one transaction.
    pub async fn approve_plan(
        &self,
        plan: &Plan,
        snapshot: &PlanSnapshot,
        approval: &Approval<'_>,
        approver: UserId,
    ) -> Result<Version> {
        let mut tx = self.write_tx().await?;
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE plans SET status = $1, return_comment = NULL, row_version = row_version + 1, \
             content_version = content_version + 1, updated_at = $2 WHERE id = $3 AND status = $4 AND row_version = $5",
        )
        .bind(PlanStatus::Approved.code())
        .bind(now)
        .bind(plan.id.get())
        .bind(PlanStatus::OnApproval.code())
        .bind(plan.row_version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        let next: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version_number) + 1, 0) FROM plan_versions WHERE plan_id = $1")
                .bind(plan.id.get())
                .fetch_one(&mut *tx)
                .await?;
        if next != approval.version_number {
            return Err(StoreError::Conflict);
        }
        let json = serde_json::to_string(snapshot).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO plan_versions (plan_id, version_number, snapshot, approved_by, approved_at, packet_id, packet_xml, packet_basis) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(plan.id.get())
        .bind(next)
        .bind(&json)
        .bind(approver.get())
        .bind(now)
        .bind(approval.packet.map(|p| p.id.as_str()))
        .bind(approval.packet.map(|p| p.xml.as_str()))
        .bind(approval.basis.code())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { e.into() })?;
        // The working copy cannot change while on approval, so its positions are the
        // snapshot's: all of them are now in the latest approved version, with this content.
        sqlx::query("UPDATE positions SET in_base = 1, base_data = data WHERE plan_id = $1")
            .bind(plan.id.get())
            .execute(&mut *tx)
            .await?;
        record(
            &mut *tx,
            Some(approver),
            Some(plan.org_id),
            "plan",
            Some(plan.id.get()),
            "Утвержден",
            &format!("{} → {}; создана версия {next}", PlanStatus::OnApproval.title(), PlanStatus::Approved.title()),
        )
        .await?;
        tx.commit().await?;
        Ok(Version {
            id: VersionId(id),
            plan_id: plan.id,
            version_number: next,
            snapshot: snapshot.clone(),
            approved_by: approver,
            approved_at: time(now),
            eis_position_numbers: Default::default(),
            packet: approval.packet.cloned(),
            packet_basis: Some(approval.basis.clone()),
        })
    }

    pub async fn versions(&self, plan_id: PlanId) -> Result<Vec<Version>> {
        let rows = sqlx::query(
            "SELECT id, plan_id, version_number, snapshot, approved_by, approved_at, eis_position_numbers, packet_id, packet_xml, \
             packet_basis FROM plan_versions WHERE plan_id = $1 ORDER BY version_number DESC",
        )
        .bind(plan_id.get())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    pub async fn version(&self, id: VersionId) -> Result<Option<Version>> {
        let row = sqlx::query(
            "SELECT id, plan_id, version_number, snapshot, approved_by, approved_at, eis_position_numbers, packet_id, packet_xml, \
             packet_basis FROM plan_versions WHERE id = $1",
        )
        .bind(id.get())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(version_from_row).transpose()
    }
}
