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

/// What changed in a working copy since a content stamp (see
/// [`Store::positions_written_after`]).
#[derive(Debug, Clone)]
pub struct WrittenAfter {
    /// The plan's content stamp as read.
    pub stamp: i64,
    /// The plan's positions as read.
    pub count: i64,
    /// The positions written after the stamp asked for.
    pub positions: Vec<StoredPosition>,
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

/// A position changed by an import: its id and the `row_version` read, its content before
/// (for the journal) and after.
#[derive(Debug, Clone)]
pub struct ImportedChange {
    pub id: PositionId,
    pub row_version: i64,
    pub before_summary: String,
    pub position: Position,
}

/// The outcome of a position write: the position as stored now, or why nothing changed.
pub type PositionWrite = std::result::Result<StoredPosition, PositionRefusal>;

/// A version with its content and packet; its other fields are its head's
/// (`version.version_number` reads `version.head.version_number`).
#[derive(Debug, Clone)]
pub struct Version {
    pub head: VersionHead,
    pub snapshot: PlanSnapshot,
    /// The packet fixed at approval, if one could be.
    pub packet: Option<FixedPacket>,
}

impl std::ops::Deref for Version {
    type Target = VersionHead;
    fn deref(&self) -> &VersionHead {
        &self.head
    }
}

/// A version without its snapshot and packet (megabytes each for a large plan): what a page
/// about the version's exchange reads.
#[derive(Debug, Clone)]
pub struct VersionHead {
    pub id: VersionId,
    pub plan_id: PlanId,
    pub version_number: i64,
    pub approved_by: UserId,
    pub approved_at: Time,
    /// Registry numbers of the positions by purchase number, once ЕИС has placed the version.
    pub eis_position_numbers: std::collections::BTreeMap<String, String>,
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

/// The version's content as approval stores it: the text written to `plan_versions.snapshot`,
/// byte for byte. Computed once, before approval, so that what the approver signed and what is
/// stored are the same bytes (`app::plans`, «Подписанное утверждение» in docs/SECURITY.md).
pub fn snapshot_json(snapshot: &PlanSnapshot) -> Result<String> {
    serde_json::to_string(snapshot).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The approver's signature of a version's content, verified before approval.
pub struct ApprovalSignature<'a> {
    /// The detached CAdES-BES as DER, base64 (`plan_versions.approval_signature`).
    pub der_base64: &'a str,
    /// The signer as the journal names them: the certificate's thumbprint and owner.
    pub signer: &'a str,
}

/// A version's content as stored and the approver's signature of it, when one was made: what a
/// reader downloads to check the signature.
#[derive(Debug, Clone)]
pub struct SignedContent {
    /// `plan_versions.snapshot`, exactly as stored.
    pub snapshot: String,
    /// The signature's DER, base64.
    pub signature: Option<String>,
}

/// An approval written and not yet committed (see [`Store::prepare_approval`]).
pub struct PendingApproval {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    version: Version,
}

impl PendingApproval {
    /// Makes the approval stand and returns the version it recorded.
    pub async fn commit(self) -> Result<Version> {
        self.tx.commit().await?;
        Ok(self.version)
    }
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
    Ok(Version {
        head: version_head_from_row(r)?,
        snapshot: serde_json::from_str(&snapshot).map_err(|e| StoreError::Corrupt(format!("snapshot: {e}")))?,
        packet: match (r.try_get::<Option<String>, _>("packet_id")?, r.try_get::<Option<String>, _>("packet_xml")?) {
            (Some(id), Some(xml)) => Some(FixedPacket { id, xml }),
            _ => None,
        },
    })
}

fn version_head_from_row(r: &AnyRow) -> Result<VersionHead> {
    let numbers: Option<String> = r.try_get("eis_position_numbers")?;
    let eis_position_numbers = match numbers {
        Some(n) => serde_json::from_str(&n).map_err(|e| StoreError::Corrupt(format!("position numbers: {e}")))?,
        None => Default::default(),
    };
    Ok(VersionHead {
        id: VersionId(r.try_get("id")?),
        plan_id: PlanId(r.try_get("plan_id")?),
        version_number: r.try_get("version_number")?,
        approved_by: UserId(r.try_get("approved_by")?),
        approved_at: time_at(r, "approved_at")?,
        eis_position_numbers,
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

/// Inside the transaction that adds (`delta` 1) or deletes (-1) a position: the plan's count
/// of positions, which the lists show without counting (migration 0012).
pub(crate) async fn count_positions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    plan_id: PlanId,
    delta: i64,
) -> Result<()> {
    sqlx::query("UPDATE plans SET position_count = position_count + $1 WHERE id = $2")
        .bind(delta)
        .bind(plan_id.get())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inside the transaction that changes a plan's status: moves the plan in its superior's tally
/// (`plan_tallies`, migration 0012) from `from` (none for a new plan) to `to`. The two rows are
/// touched in the order of their status codes, so that two transitions of one superior's
/// plans always lock them in the same order.
pub(crate) async fn move_tally(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: OrgId,
    from: Option<PlanStatus>,
    to: PlanStatus,
) -> Result<()> {
    let mut steps = vec![(to.code(), 1_i64)];
    if let Some(from) = from {
        steps.push((from.code(), -1));
    }
    steps.sort_unstable();
    for (status, delta) in steps {
        sqlx::query(
            "INSERT INTO plan_tallies (superior_id, status, n) \
             SELECT superior_id, $2, CAST($3 AS BIGINT) FROM organizations WHERE id = $1 AND superior_id IS NOT NULL \
             ON CONFLICT (superior_id, status) DO UPDATE SET n = plan_tallies.n + $3",
        )
        .bind(org_id.get())
        .bind(status)
        .bind(delta)
        .execute(&mut **tx)
        .await?;
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
        move_tally(&mut tx, org_id, None, PlanStatus::Forming).await?;
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

    /// The organization's plan-schedule for a year, if there is one.
    pub async fn plan_for_year(&self, org_id: OrgId, plan_year: i32) -> Result<Option<Plan>> {
        let row =
            sqlx::query(concat!("SELECT ", plan_columns!(), " FROM plans p WHERE p.org_id = $1 AND p.plan_year = $2"))
                .bind(org_id.get())
                .bind(i64::from(plan_year))
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(plan_from_row).transpose()
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
             p.position_count AS position_count, \
             (SELECT COUNT(*) FROM plan_versions v WHERE v.plan_id = p.id) AS version_count \
             FROM plans p JOIN organizations o ON o.id = p.org_id \
             WHERE p.org_id = $1 OR o.superior_id = $1 ORDER BY p.plan_year DESC, o.short_name"
        ))
        .bind(org_id.get())
        .fetch_all(self.pool())
        .await?;
        plan_list_items(&rows)
    }

    /// The approved versions never sent, of the organization's own plans and its
    /// subordinates', by plan and version number: what «Отправить все» looks at, without
    /// reading the plans that have nothing to send.
    pub async fn unsent_versions_visible_to(&self, org_id: OrgId) -> Result<Vec<(PlanId, VersionId)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT v.plan_id, v.id FROM plan_versions v JOIN plans p ON p.id = v.plan_id \
             JOIN organizations o ON o.id = p.org_id \
             WHERE (p.org_id = $1 OR o.superior_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM eis_sends s WHERE s.version_id = v.id) \
             ORDER BY v.plan_id, v.version_number",
        )
        .bind(org_id.get())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(plan, version)| (PlanId(plan), VersionId(version))).collect())
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

    /// The working copy's positions as (id, row_version), by purchase number: what a reader
    /// that keeps parsed positions needs to tell which of them changed.
    pub async fn position_versions(&self, plan_id: PlanId) -> Result<Vec<(PositionId, i64)>> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT id, row_version FROM positions WHERE plan_id = $1 ORDER BY purchase_number")
                .bind(plan_id.get())
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(id, v)| (PositionId(id), v)).collect())
    }

    /// The positions of the plan written after content stamp `after`, with the plan's stamp
    /// and count of positions now, all read by one statement (one snapshot on both backends).
    /// `None` when the plan does not exist.
    pub async fn positions_written_after(&self, plan_id: PlanId, after: i64) -> Result<Option<WrittenAfter>> {
        let rows = sqlx::query(
            "SELECT p.content_version AS stamp, (SELECT COUNT(*) FROM positions c WHERE c.plan_id = p.id) AS total, \
             x.id AS id, x.data AS data, x.row_version AS row_version, x.in_base AS in_base \
             FROM plans p LEFT JOIN positions x ON x.plan_id = p.id AND x.written_stamp > $2 WHERE p.id = $1",
        )
        .bind(plan_id.get())
        .bind(after)
        .fetch_all(self.pool())
        .await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let mut written = WrittenAfter {
            stamp: first.try_get("stamp")?,
            count: first.try_get("total")?,
            positions: Vec::with_capacity(rows.len()),
        };
        for r in &rows {
            // The left join's one row without a position when nothing was written.
            if r.try_get::<Option<i64>, _>("id")?.is_some() {
                written.positions.push(stored_position(r)?);
            }
        }
        Ok(Some(written))
    }

    /// These positions of the plan (those that exist), in no particular order.
    pub async fn positions_by_ids(&self, plan_id: PlanId, ids: &[PositionId]) -> Result<Vec<StoredPosition>> {
        let mut found = Vec::with_capacity(ids.len());
        // Bounded statements: a few hundred binds each.
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (2..=chunk.len() + 1).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT {} FROM positions WHERE plan_id = $1 AND id IN ({})",
                position_columns!(),
                placeholders.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(plan_id.get());
            for id in chunk {
                query = query.bind(id.get());
            }
            for r in query.fetch_all(self.pool()).await? {
                found.push(stored_position(&r)?);
            }
        }
        Ok(found)
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
        write_position_columns(&mut tx, id, &position).await?;
        count_positions(&mut tx, plan.id, 1).await?;
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

    /// An import from a file, in one transaction: the changed positions (each still at the
    /// `row_version` read) and the new ones under the next purchase numbers, if the plan is
    /// editable and its content stamp is still `expected_stamp` (nothing changed since the file
    /// was checked). All or nothing: a refusal changes nothing. Answers the numbers given to
    /// the new positions.
    pub async fn import_positions(
        &self,
        plan: &Plan,
        expected_stamp: i64,
        updates: &[ImportedChange],
        adds: &[Position],
        actor: UserId,
    ) -> Result<std::result::Result<Vec<PurchaseNumber>, PositionRefusal>> {
        let mut tx = self.write_tx().await?;
        let editable: Vec<&str> = PlanStatus::ALL.iter().filter(|s| s.editable()).map(|s| s.code()).collect();
        let [first, second] = editable[..] else {
            return Err(StoreError::Corrupt("expected two editable plan statuses".into()));
        };
        let moved = sqlx::query(
            "UPDATE plans SET content_version = content_version + 1, updated_at = $1 \
             WHERE id = $2 AND status IN ($3, $4) AND content_version = $5",
        )
        .bind(now_ms())
        .bind(plan.id.get())
        .bind(first)
        .bind(second)
        .bind(expected_stamp)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            let status: Option<String> = sqlx::query_scalar("SELECT status FROM plans WHERE id = $1")
                .bind(plan.id.get())
                .fetch_optional(&mut *tx)
                .await?;
            let editable = status.as_deref().and_then(PlanStatus::from_code).is_some_and(PlanStatus::editable);
            return Ok(Err(if editable { PositionRefusal::Stale } else { PositionRefusal::PlanNotEditable }));
        }
        let source = "загрузка из Excel";
        for u in updates {
            let data = serde_json::to_string(&u.position).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let done = sqlx::query(
                "UPDATE positions SET data = $1, row_version = row_version + 1 WHERE id = $2 AND plan_id = $3 \
                 AND row_version = $4",
            )
            .bind(&data)
            .bind(u.id.get())
            .bind(plan.id.get())
            .bind(u.row_version)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(Err(PositionRefusal::Stale));
            }
            write_position_columns(&mut tx, u.id.get(), &u.position).await?;
            let mut details = format!("Было: {}\nСтало: {}", u.before_summary, u.position.summary());
            if let Some(c) = &u.position.change {
                details.push_str(&format!("\nПричина: {} — {}", c.reason_code, c.description));
            }
            let action = format!("Изменена позиция {} ({source})", u.position.purchase_number.padded());
            record(&mut *tx, Some(actor), Some(plan.org_id), "plan", Some(plan.id.get()), &action, &details).await?;
        }
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(purchase_number) FROM positions WHERE plan_id = $1")
            .bind(plan.id.get())
            .fetch_one(&mut *tx)
            .await?;
        let mut next =
            u32::try_from(max.unwrap_or(0)).map_err(|_| StoreError::Corrupt(format!("purchase number {max:?}")))?;
        let mut numbers = Vec::with_capacity(adds.len());
        for p in adds {
            next += 1;
            let Ok(number) = PurchaseNumber::new(next) else {
                return Ok(Err(PositionRefusal::NumbersExhausted));
            };
            let mut position = p.clone();
            position.purchase_number = number;
            let data = serde_json::to_string(&position).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO positions (plan_id, purchase_number, data, row_version, in_base) \
                 VALUES ($1, $2, $3, 1, 0) RETURNING id",
            )
            .bind(plan.id.get())
            .bind(i64::from(number.get()))
            .bind(&data)
            .fetch_one(&mut *tx)
            .await?;
            write_position_columns(&mut tx, id, &position).await?;
            let action = format!("Добавлена позиция {} ({source})", number.padded());
            record(&mut *tx, Some(actor), Some(plan.org_id), "plan", Some(plan.id.get()), &action, &position.summary())
                .await?;
            numbers.push(number);
        }
        count_positions(&mut tx, plan.id, i64::try_from(adds.len()).unwrap_or(i64::MAX)).await?;
        tx.commit().await?;
        Ok(Ok(numbers))
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
        write_position_columns(&mut tx, position_id.get(), p).await?;
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
        move_tally(&mut tx, plan.org_id, Some(PlanStatus::Approved), PlanStatus::Forming).await?;
        let rows = sqlx::query("SELECT id, data FROM positions WHERE plan_id = $1")
            .bind(plan.id.get())
            .fetch_all(&mut *tx)
            .await?;
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let data: String = r.try_get("data")?;
            let mut p = parse_position(&data)?;
            // A new round starts without justifications, but a cancelled purchase stays
            // cancelled: ЕИС keeps it so in every later version.
            if p.change.as_ref().is_some_and(|c| c.decision != domain::plan::ChangeDecision::Canceled) {
                p.change = None;
                let data = serde_json::to_string(&p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query("UPDATE positions SET data = $1, row_version = row_version + 1 WHERE id = $2")
                    .bind(data)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                write_position_columns(&mut tx, id, &p).await?;
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
        count_positions(&mut tx, plan.id, -1).await?;
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
        let row_version: Option<i64> = sqlx::query_scalar(
            "UPDATE plans SET status = $1, return_comment = $2, row_version = row_version + 1, updated_at = $3 \
             WHERE id = $4 AND status = $5 RETURNING row_version",
        )
        .bind(to.code())
        .bind(comment)
        .bind(now_ms())
        .bind(plan.id.get())
        .bind(from.code())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row_version) = row_version else {
            return Err(StoreError::Conflict);
        };
        move_tally(&mut tx, plan.org_id, Some(from), to).await?;
        crate::notify::plan_transition(&mut tx, plan.id, to, comment, row_version, self.mail_outbox()).await?;
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
        self.prepare_approval(plan, snapshot, approval, approver).await?.commit().await
    }

    /// Writes everything [`Store::approve_plan`] records without committing it, so that the
    /// caller can finish a check that decides whether it stands (the packet's schema
    /// validation) meanwhile. Until it is committed the write lock is held (SQLite) or the
    /// plan's rows are locked (PostgreSQL); dropping it rolls everything back.
    pub async fn prepare_approval(
        &self,
        plan: &Plan,
        snapshot: &PlanSnapshot,
        approval: &Approval<'_>,
        approver: UserId,
    ) -> Result<PendingApproval> {
        let json = snapshot_json(snapshot)?;
        self.prepare_signed_approval(plan, snapshot, &json, None, approval, approver).await
    }

    /// [`Store::prepare_approval`] with the content already serialized: `json` is written as the
    /// version's snapshot exactly as given (it must be [`snapshot_json`] of `snapshot`), and the
    /// approver's `signature` of those bytes, when there is one, is stored with it and named in
    /// the journal entry.
    pub async fn prepare_signed_approval(
        &self,
        plan: &Plan,
        snapshot: &PlanSnapshot,
        json: &str,
        signature: Option<&ApprovalSignature<'_>>,
        approval: &Approval<'_>,
        approver: UserId,
    ) -> Result<PendingApproval> {
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
        move_tally(&mut tx, plan.org_id, Some(PlanStatus::OnApproval), PlanStatus::Approved).await?;
        let next: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version_number) + 1, 0) FROM plan_versions WHERE plan_id = $1")
                .bind(plan.id.get())
                .fetch_one(&mut *tx)
                .await?;
        if next != approval.version_number {
            return Err(StoreError::Conflict);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO plan_versions (plan_id, version_number, snapshot, approved_by, approved_at, packet_id, packet_xml, packet_basis, \
             position_count, totals, approval_signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(plan.id.get())
        .bind(next)
        .bind(json)
        .bind(approver.get())
        .bind(now)
        .bind(approval.packet.map(|p| p.id.as_str()))
        .bind(approval.packet.map(|p| p.xml.as_str()))
        .bind(approval.basis.code())
        .bind(summary_count(snapshot))
        .bind(summary_totals(snapshot)?)
        .bind(signature.map(|s| s.der_base64))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { e.into() })?;
        // The working copy cannot change while on approval, so its positions are the
        // snapshot's: all of them are now in the latest approved version, with this content.
        sqlx::query("UPDATE positions SET in_base = 1, base_data = data WHERE plan_id = $1")
            .bind(plan.id.get())
            .execute(&mut *tx)
            .await?;
        crate::notify::plan_approved(&mut tx, plan.id, next, self.mail_outbox()).await?;
        record(
            &mut *tx,
            Some(approver),
            Some(plan.org_id),
            "plan",
            Some(plan.id.get()),
            "Утвержден",
            &format!(
                "{} → {}; создана версия {next}{}",
                PlanStatus::OnApproval.title(),
                PlanStatus::Approved.title(),
                signature.map(|s| format!("; подписано ЭЦП: {}", s.signer)).unwrap_or_default()
            ),
        )
        .await?;
        let version = Version {
            head: VersionHead {
                id: VersionId(id),
                plan_id: plan.id,
                version_number: next,
                approved_by: approver,
                approved_at: time(now),
                eis_position_numbers: Default::default(),
                packet_basis: Some(approval.basis.clone()),
            },
            snapshot: snapshot.clone(),
            packet: approval.packet.cloned(),
        };
        Ok(PendingApproval { tx, version })
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

    /// The id of the plan's latest version.
    pub async fn latest_version_id(&self, plan_id: PlanId) -> Result<Option<VersionId>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM plan_versions WHERE plan_id = $1 ORDER BY version_number DESC LIMIT 1")
                .bind(plan_id.get())
                .fetch_optional(self.pool())
                .await?;
        Ok(id.map(VersionId))
    }

    /// The plan's latest version without its snapshot and packet.
    /// The latest version ЕИС is known to have placed (its publication was recorded).
    pub async fn latest_placed_version_id(&self, plan_id: PlanId) -> Result<Option<VersionId>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM plan_versions WHERE plan_id = $1 AND eis_position_numbers IS NOT NULL \
             ORDER BY version_number DESC LIMIT 1",
        )
        .bind(plan_id.get())
        .fetch_optional(self.pool())
        .await?;
        Ok(id.map(VersionId))
    }

    pub async fn latest_version_head(&self, plan_id: PlanId) -> Result<Option<VersionHead>> {
        let row = sqlx::query(
            "SELECT id, plan_id, version_number, approved_by, approved_at, eis_position_numbers, packet_basis \
             FROM plan_versions WHERE plan_id = $1 ORDER BY version_number DESC LIMIT 1",
        )
        .bind(plan_id.get())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(version_head_from_row).transpose()
    }

    /// A version's content alone (immutable once approved, so a reader may keep it).
    pub async fn version_snapshot(&self, id: VersionId) -> Result<Option<PlanSnapshot>> {
        let snapshot: Option<String> = sqlx::query_scalar("SELECT snapshot FROM plan_versions WHERE id = $1")
            .bind(id.get())
            .fetch_optional(self.pool())
            .await?;
        snapshot
            .map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("snapshot: {e}"))))
            .transpose()
    }

    /// A version's content exactly as stored, with the approver's signature of it if any.
    pub async fn version_signed_content(&self, id: VersionId) -> Result<Option<SignedContent>> {
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT snapshot, approval_signature FROM plan_versions WHERE id = $1")
                .bind(id.get())
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(snapshot, signature)| SignedContent { snapshot, signature }))
    }

    /// The approver's signature of a version (DER, base64), if one was made.
    pub async fn version_approval_signature(&self, id: VersionId) -> Result<Option<String>> {
        let signature: Option<Option<String>> =
            sqlx::query_scalar("SELECT approval_signature FROM plan_versions WHERE id = $1")
                .bind(id.get())
                .fetch_optional(self.pool())
                .await?;
        Ok(signature.flatten())
    }

    /// A version without its snapshot and packet.
    pub async fn version_head(&self, id: VersionId) -> Result<Option<VersionHead>> {
        let row = sqlx::query(
            "SELECT id, plan_id, version_number, approved_by, approved_at, eis_position_numbers, packet_basis \
             FROM plan_versions WHERE id = $1",
        )
        .bind(id.get())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(version_head_from_row).transpose()
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

// ---------------------------------------------------------------------------------------------
// Read paths that do not grow with what they do not show: version summaries without the
// snapshot and the packet XML, one version by its number.

/// A version as the lists show it: no snapshot, no packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSummary {
    pub id: VersionId,
    pub plan_id: PlanId,
    pub version_number: i64,
    pub approved_by: UserId,
    /// The approver's full name (empty if the user is gone).
    pub approved_by_name: String,
    pub approved_at: Time,
    pub position_count: i64,
    /// Totals by year over the positions that are not cancelled.
    pub totals: domain::plan::YearAmounts,
    /// The approval was signed with ЭЦП (`approval_signature` is set).
    pub signed: bool,
}

/// The number of positions a version records (what `position_count` holds).
fn summary_count(snapshot: &PlanSnapshot) -> i64 {
    i64::try_from(snapshot.positions.len()).unwrap_or(i64::MAX)
}

/// The version's totals as stored in `totals` (JSON of the money strings).
fn summary_totals(snapshot: &PlanSnapshot) -> Result<String> {
    serde_json::to_string(&snapshot.totals()).map_err(|e| StoreError::Corrupt(e.to_string()))
}

const VERSION_COLUMNS: &str = "id, plan_id, version_number, snapshot, approved_by, approved_at, eis_position_numbers, \
     packet_id, packet_xml, packet_basis";

impl Store {
    /// The plan's versions, newest first, as summaries: one query, no snapshot or XML read.
    pub async fn version_summaries(&self, plan_id: PlanId) -> Result<Vec<VersionSummary>> {
        let rows = sqlx::query(
            "SELECT v.id, v.plan_id, v.version_number, v.approved_by, v.approved_at, v.position_count, v.totals, \
             CAST(CASE WHEN v.approval_signature IS NULL THEN 0 ELSE 1 END AS BIGINT) AS signed, \
             u.full_name FROM plan_versions v LEFT JOIN users u ON u.id = v.approved_by \
             WHERE v.plan_id = $1 ORDER BY v.version_number DESC",
        )
        .bind(plan_id.get())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let totals: Option<String> = r.try_get("totals")?;
                let (Some(count), Some(totals)) = (r.try_get::<Option<i64>, _>("position_count")?, totals) else {
                    // Filled at approval and by the backfill at start; absent only if a row
                    // was written around both.
                    return Err(StoreError::Corrupt("version summary not filled in".into()));
                };
                Ok(VersionSummary {
                    id: VersionId(r.try_get("id")?),
                    plan_id: PlanId(r.try_get("plan_id")?),
                    version_number: r.try_get("version_number")?,
                    approved_by: UserId(r.try_get("approved_by")?),
                    approved_by_name: r.try_get::<Option<String>, _>("full_name")?.unwrap_or_default(),
                    approved_at: time_at(r, "approved_at")?,
                    position_count: count,
                    signed: r.try_get::<i64, _>("signed")? != 0,
                    totals: serde_json::from_str(&totals)
                        .map_err(|e| StoreError::Corrupt(format!("version totals: {e}")))?,
                })
            })
            .collect()
    }

    /// How many versions the plan has.
    pub async fn version_count(&self, plan_id: PlanId) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM plan_versions WHERE plan_id = $1")
            .bind(plan_id.get())
            .fetch_one(self.pool())
            .await?)
    }

    /// The id of the plan's version with this number, without reading the version.
    pub async fn version_id_by_number(&self, plan_id: PlanId, number: i64) -> Result<Option<VersionId>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM plan_versions WHERE plan_id = $1 AND version_number = $2")
                .bind(plan_id.get())
                .bind(number)
                .fetch_optional(self.pool())
                .await?;
        Ok(id.map(VersionId))
    }

    /// One version of the plan by its number, in full.
    pub async fn version_by_number(&self, plan_id: PlanId, number: i64) -> Result<Option<Version>> {
        let sql = format!("SELECT {VERSION_COLUMNS} FROM plan_versions WHERE plan_id = $1 AND version_number = $2");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(plan_id.get()).bind(number).fetch_optional(self.pool()).await?;
        row.as_ref().map(version_from_row).transpose()
    }

    /// The plan's latest approved version in full: what a change round is compared with.
    pub async fn latest_version(&self, plan_id: PlanId) -> Result<Option<Version>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM plan_versions WHERE plan_id = $1 ORDER BY version_number DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(plan_id.get()).fetch_optional(self.pool()).await?;
        row.as_ref().map(version_from_row).transpose()
    }

    /// Fills the derived columns of rows written before they existed (run at start, after the
    /// migrations; a no-op once done). In Rust, because the JSON functions of SQLite and
    /// PostgreSQL differ.
    pub async fn backfill_derived_columns(&self) -> Result<()> {
        loop {
            let rows = sqlx::query("SELECT id, snapshot FROM plan_versions WHERE position_count IS NULL LIMIT 100")
                .fetch_all(self.pool())
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut tx = self.write_tx().await?;
            for r in &rows {
                let id: i64 = r.try_get("id")?;
                let snapshot: String = r.try_get("snapshot")?;
                let snapshot: PlanSnapshot =
                    serde_json::from_str(&snapshot).map_err(|e| StoreError::Corrupt(format!("snapshot: {e}")))?;
                sqlx::query("UPDATE plan_versions SET position_count = $1, totals = $2 WHERE id = $3")
                    .bind(summary_count(&snapshot))
                    .bind(summary_totals(&snapshot)?)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        loop {
            let rows = sqlx::query("SELECT id, data FROM positions WHERE canceled IS NULL LIMIT 500")
                .fetch_all(self.pool())
                .await?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut tx = self.write_tx().await?;
            for r in &rows {
                let data: String = r.try_get("data")?;
                write_position_columns(&mut tx, r.try_get("id")?, &parse_position(&data)?).await?;
            }
            tx.commit().await?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The working copy's positions a page at a time, filtered and summed in the database.

/// The columns derived from a position that the page filters and sums by (migration 0011).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionColumns {
    /// The title, lowercased, for search.
    pub search: String,
    /// The ОКПД2 codes between spaces (` 38.11.21.000 01.11 `), for prefix matching.
    pub okpd2: String,
    pub kvr: String,
    pub canceled: bool,
    /// Financing by year in kopecks.
    pub kopecks: [i64; 4],
}

fn kopecks(m: domain::Money) -> Result<i64> {
    let d = m.decimal();
    let scale = d.scale();
    if scale > 2 {
        return Err(StoreError::Corrupt(format!("money with {scale} decimals")));
    }
    let k = d.mantissa() * 10i128.pow(2 - scale);
    i64::try_from(k).map_err(|_| StoreError::Corrupt("money out of range".into()))
}

fn money_of_kopecks(k: i64) -> Result<domain::Money> {
    let sign = if k < 0 { "-" } else { "" };
    let a = k.unsigned_abs();
    domain::Money::from_canonical(&format!("{sign}{}.{:02}", a / 100, a % 100))
        .map_err(|e| StoreError::Corrupt(format!("sum: {e}")))
}

/// What the page filters and sums by, derived from the position: the one helper every write of
/// a position calls.
pub fn position_columns(p: &Position) -> Result<PositionColumns> {
    let a = p.amounts;
    Ok(PositionColumns {
        search: p.title().to_lowercase(),
        okpd2: format!(" {} ", p.okpd2.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" ")),
        kvr: p.kvr.as_ref().map(|k| k.as_str().to_owned()).unwrap_or_default(),
        canceled: p.is_canceled(),
        kopecks: [kopecks(a.current)?, kopecks(a.first)?, kopecks(a.second)?, kopecks(a.subsequent)?],
    })
}

/// Writes the derived columns of one position, inside the write's transaction.
pub(crate) async fn write_position_columns(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    p: &Position,
) -> Result<()> {
    let c = position_columns(p)?;
    // Every write of a position's content passes here after moving the plan's stamp, so the
    // row records the stamp that wrote it (migration 0013).
    sqlx::query(
        "UPDATE positions SET search = $1, okpd2 = $2, kvr = $3, canceled = $4, kop_current = $5, kop_first = $6, \
         kop_second = $7, kop_subsequent = $8, \
         written_stamp = (SELECT content_version FROM plans WHERE plans.id = positions.plan_id) WHERE id = $9",
    )
    .bind(c.search)
    .bind(c.okpd2)
    .bind(c.kvr)
    .bind(i64::from(c.canceled))
    .bind(c.kopecks[0])
    .bind(c.kopecks[1])
    .bind(c.kopecks[2])
    .bind(c.kopecks[3])
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Which positions of the working copy a page shows. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PositionFilter {
    /// Part of the object's name, or the beginning of an ОКПД2 code.
    pub search: String,
    /// The beginning of an ОКПД2 code.
    pub okpd2_prefix: String,
    /// The КВР exactly.
    pub kvr: String,
    /// Only cancelled (`Some(true)`) or only not cancelled (`Some(false)`) positions.
    pub canceled: Option<bool>,
    /// Only these purchase numbers (from the findings or the change marks the caller keeps).
    pub numbers: Option<Vec<u16>>,
}

impl PositionFilter {
    /// The longest search text, ОКПД2 prefix and КВР a caller may filter by (in characters):
    /// longer ones are refused, never cut, on the page and in the API alike.
    pub const MAX_SEARCH: usize = 200;
    pub const MAX_OKPD2: usize = 20;
    pub const MAX_KVR: usize = 10;
}

/// Escapes `%`, `_` and `\` for `LIKE … ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl PositionFilter {
    /// The WHERE conditions after `plan_id = $1`, binding from `$2` on; the values in order.
    fn sql(&self) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut binds: Vec<String> = Vec::new();
        let param = |binds: &mut Vec<String>, v: String| {
            binds.push(v);
            format!("${}", binds.len() + 1)
        };
        let search = self.search.trim();
        if !search.is_empty() {
            let name = param(&mut binds, format!("%{}%", like_escape(&search.to_lowercase())));
            let code = param(&mut binds, format!("% {}%", like_escape(search)));
            sql.push_str(&format!(" AND (search LIKE {name} ESCAPE '\\' OR okpd2 LIKE {code} ESCAPE '\\')"));
        }
        let prefix = self.okpd2_prefix.trim();
        if !prefix.is_empty() {
            let code = param(&mut binds, format!("% {}%", like_escape(prefix)));
            sql.push_str(&format!(" AND okpd2 LIKE {code} ESCAPE '\\'"));
        }
        let kvr = self.kvr.trim();
        if !kvr.is_empty() {
            let p = param(&mut binds, kvr.to_owned());
            sql.push_str(&format!(" AND kvr = {p}"));
        }
        match self.canceled {
            Some(true) => sql.push_str(" AND canceled = 1"),
            Some(false) => sql.push_str(" AND canceled = 0"),
            None => {}
        }
        if let Some(numbers) = &self.numbers {
            // Numbers the caller computed, not text from outside: written inline, bounded by
            // the plan's size.
            if numbers.is_empty() {
                sql.push_str(" AND 1 = 0");
            } else {
                let list: Vec<String> = numbers.iter().map(u16::to_string).collect();
                sql.push_str(&format!(" AND purchase_number IN ({})", list.join(", ")));
            }
        }
        (sql, binds)
    }
}

/// The count and sums of the positions a filter selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PositionTotals {
    pub count: i64,
    /// Over the selected positions that are not cancelled.
    pub amounts: domain::plan::YearAmounts,
}

impl PositionTotals {
    /// The totals of positions already read, summed as [`Store::position_totals`] sums the
    /// stored columns (in kopecks, cancelled positions counted but not summed).
    pub fn of(positions: &[Position]) -> Result<PositionTotals> {
        let mut sums = [0i64; 4];
        for p in positions {
            let c = position_columns(p)?;
            if !c.canceled {
                for (sum, k) in sums.iter_mut().zip(c.kopecks) {
                    *sum = sum.checked_add(k).ok_or_else(|| StoreError::Corrupt("sum out of range".into()))?;
                }
            }
        }
        Ok(PositionTotals {
            count: i64::try_from(positions.len()).unwrap_or(i64::MAX),
            amounts: domain::plan::YearAmounts {
                current: money_of_kopecks(sums[0])?,
                first: money_of_kopecks(sums[1])?,
                second: money_of_kopecks(sums[2])?,
                subsequent: money_of_kopecks(sums[3])?,
            },
        })
    }
}

impl Store {
    /// Up to `limit` positions of the working copy that the filter selects, by purchase number,
    /// after the purchase number `after` (keyset) or skipping `offset` of them.
    pub async fn position_page(
        &self,
        plan_id: PlanId,
        filter: &PositionFilter,
        after: Option<u16>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<StoredPosition>> {
        let (conditions, binds) = filter.sql();
        let n = binds.len();
        let sql = format!(
            "SELECT {} FROM positions WHERE plan_id = $1{conditions} AND purchase_number > ${} \
             ORDER BY purchase_number LIMIT ${} OFFSET ${}",
            position_columns!(),
            n + 2,
            n + 3,
            n + 4
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(plan_id.get());
        for b in binds {
            q = q.bind(b);
        }
        let rows = q
            .bind(after.map(i64::from).unwrap_or(0))
            .bind(limit.max(0))
            .bind(offset.max(0))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(stored_position).collect()
    }

    /// How many positions the filter selects and their sums (cancelled ones not summed).
    pub async fn position_totals(&self, plan_id: PlanId, filter: &PositionFilter) -> Result<PositionTotals> {
        let (conditions, binds) = filter.sql();
        let sql = format!(
            "SELECT COUNT(*) AS n, \
             CAST(COALESCE(SUM(CASE WHEN canceled = 0 THEN kop_current ELSE 0 END), 0) AS BIGINT) AS c, \
             CAST(COALESCE(SUM(CASE WHEN canceled = 0 THEN kop_first ELSE 0 END), 0) AS BIGINT) AS f, \
             CAST(COALESCE(SUM(CASE WHEN canceled = 0 THEN kop_second ELSE 0 END), 0) AS BIGINT) AS s, \
             CAST(COALESCE(SUM(CASE WHEN canceled = 0 THEN kop_subsequent ELSE 0 END), 0) AS BIGINT) AS l \
             FROM positions WHERE plan_id = $1{conditions}"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(plan_id.get());
        for b in binds {
            q = q.bind(b);
        }
        let r = q.fetch_one(self.pool()).await?;
        Ok(PositionTotals {
            count: r.try_get("n")?,
            amounts: domain::plan::YearAmounts {
                current: money_of_kopecks(r.try_get("c")?)?,
                first: money_of_kopecks(r.try_get("f")?)?,
                second: money_of_kopecks(r.try_get("s")?)?,
                subsequent: money_of_kopecks(r.try_get("l")?)?,
            },
        })
    }

    /// The ids of the plan's positions by purchase number, for these numbers only.
    pub async fn position_ids(&self, plan_id: PlanId, numbers: &[u16]) -> Result<Vec<(u16, PositionId)>> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        // Numbers the caller computed, written inline.
        let list: Vec<String> = numbers.iter().map(u16::to_string).collect();
        let sql = format!(
            "SELECT id, purchase_number FROM positions WHERE plan_id = $1 AND purchase_number IN ({})",
            list.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(plan_id.get()).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get("purchase_number")?;
                let n = u16::try_from(n).map_err(|_| StoreError::Corrupt(format!("purchase number {n}")))?;
                Ok((n, PositionId(r.try_get("id")?)))
            })
            .collect()
    }

    /// The highest purchase number of the working copy (0 without positions).
    pub async fn max_purchase_number(&self, plan_id: PlanId) -> Result<i64> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(purchase_number) FROM positions WHERE plan_id = $1")
            .bind(plan_id.get())
            .fetch_one(self.pool())
            .await?;
        Ok(max.unwrap_or(0))
    }

    /// One position of the working copy.
    pub async fn position(&self, plan_id: PlanId, id: PositionId) -> Result<Option<StoredPosition>> {
        let row =
            sqlx::query(concat!("SELECT ", position_columns!(), " FROM positions WHERE id = $1 AND plan_id = $2"))
                .bind(id.get())
                .bind(plan_id.get())
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(stored_position).transpose()
    }
}

// ---------------------------------------------------------------------------------------------
// The list of plan-schedules a page at a time.
//
// The pages read their ids through the indexes in the order shown (own plans first, newest
// year first; then the subordinates' by organization name, newest year first), so a page stops
// after its rows instead of sorting every visible plan; the counts come from one scan of the
// subordinates' plans. Per-row figures are computed for the page's rows only.

/// Which of the visible plan-schedules a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanListKind {
    /// The organization's own and its subordinates'.
    All,
    /// The subordinates' plans on approval: the approver's queue.
    AwaitingApproval,
}

/// How many plan-schedules an organization sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanCounts {
    pub own: i64,
    pub subordinates: i64,
    /// The subordinates' plans on approval.
    pub awaiting: i64,
}

impl PlanCounts {
    pub fn of(&self, kind: PlanListKind) -> i64 {
        match kind {
            PlanListKind::All => self.own + self.subordinates,
            PlanListKind::AwaitingApproval => self.awaiting,
        }
    }
}

/// The subordinates' plans in the list's order, read in that order through the indexes (no sort
/// of every plan): `$1` the superior, `$2`/`$3` limit and offset.
const SUBORDINATE_PLANS: &str = "organizations o JOIN plans p ON p.org_id = o.id WHERE o.superior_id = $1 \
     ORDER BY o.short_name, o.id, p.plan_year DESC, p.id LIMIT $2 OFFSET $3";
/// The same, only those with status `$4`.
const AWAITING_PLANS: &str = "organizations o JOIN plans p ON p.org_id = o.id WHERE o.superior_id = $1 \
     AND p.status = $4 ORDER BY o.short_name, o.id, p.plan_year DESC, p.id LIMIT $2 OFFSET $3";
const OWN_PLANS: &str = "plans p JOIN organizations o ON o.id = p.org_id WHERE p.org_id = $1 \
     ORDER BY p.plan_year DESC, p.id LIMIT $2 OFFSET $3";

/// The list rows `from` selects (the FROM clause on, with `p` the plans and `o` their
/// organizations). The count of positions is kept on the plan (`count_positions`), so that a
/// row never counts a large plan's positions; the count of versions is computed for the rows
/// returned only (both backends evaluate it after the limit when the order comes from an index,
/// and PostgreSQL postpones expensive output columns past a sort).
fn plan_list_sql(from: &str) -> String {
    format!(
        "SELECT {}, o.short_name AS org_name, \
         p.position_count AS position_count, \
         (SELECT COUNT(*) FROM plan_versions v WHERE v.plan_id = p.id) AS version_count FROM {from}",
        plan_columns!()
    )
}

fn counts_of(row: &AnyRow) -> Result<PlanCounts> {
    Ok(PlanCounts {
        own: row.try_get("own")?,
        subordinates: row.try_get("subordinates")?,
        awaiting: row.try_get("awaiting")?,
    })
}

fn plan_list_items(rows: &[AnyRow]) -> Result<Vec<PlanListItem>> {
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

impl Store {
    /// The counts from the superior's tally: constant work however many plans it sees.
    pub async fn plan_counts(&self, org_id: OrgId) -> Result<PlanCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM plans WHERE org_id = $1) AS own, \
             CAST(COALESCE((SELECT SUM(n) FROM plan_tallies WHERE superior_id = $1), 0) AS BIGINT) AS subordinates, \
             CAST(COALESCE((SELECT n FROM plan_tallies WHERE superior_id = $1 AND status = $2), 0) AS BIGINT) AS awaiting",
        )
        .bind(org_id.get())
        .bind(PlanStatus::OnApproval.code())
        .fetch_one(self.pool())
        .await?;
        counts_of(&row)
    }

    /// The same counts from the plans themselves: what the tallies must always equal.
    pub async fn plan_counts_counted(&self, org_id: OrgId) -> Result<PlanCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM plans WHERE org_id = $1) AS own, COUNT(p.id) AS subordinates, \
             COALESCE(SUM(CASE WHEN p.status = $2 THEN 1 ELSE 0 END), 0) AS awaiting \
             FROM organizations s JOIN plans p ON p.org_id = s.id WHERE s.superior_id = $1",
        )
        .bind(org_id.get())
        .bind(PlanStatus::OnApproval.code())
        .fetch_one(self.pool())
        .await?;
        counts_of(&row)
    }

    /// One page of the plans an organization sees, in the list's order; `counts` are the
    /// organization's, read just before (they say where its own plans end).
    pub async fn plans_visible_page(
        &self,
        org_id: OrgId,
        kind: PlanListKind,
        counts: &PlanCounts,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<PlanListItem>> {
        let (offset, limit) = (offset.max(0), limit.max(0));
        let mut items = Vec::new();
        if kind == PlanListKind::All && offset < counts.own {
            let rows = sqlx::query(sqlx::AssertSqlSafe(plan_list_sql(OWN_PLANS)))
                .bind(org_id.get())
                .bind(limit)
                .bind(offset)
                .fetch_all(self.pool())
                .await?;
            items = plan_list_items(&rows)?;
        }
        let rest = limit - i64::try_from(items.len()).unwrap_or(limit);
        if rest == 0 {
            return Ok(items);
        }
        let rows = match kind {
            PlanListKind::All => {
                sqlx::query(sqlx::AssertSqlSafe(plan_list_sql(SUBORDINATE_PLANS)))
                    .bind(org_id.get())
                    .bind(rest)
                    .bind((offset - counts.own).max(0))
                    .fetch_all(self.pool())
                    .await?
            }
            PlanListKind::AwaitingApproval => {
                sqlx::query(sqlx::AssertSqlSafe(plan_list_sql(AWAITING_PLANS)))
                    .bind(org_id.get())
                    .bind(rest)
                    .bind(offset)
                    .bind(PlanStatus::OnApproval.code())
                    .fetch_all(self.pool())
                    .await?
            }
        };
        items.extend(plan_list_items(&rows)?);
        Ok(items)
    }

    /// Up to `limit` plans an organization sees (or only those awaiting its decision) with ids
    /// after `after`, by id: the API's keyset pages, stable while plans are added.
    pub async fn plans_visible_after(
        &self,
        org_id: OrgId,
        kind: PlanListKind,
        after: Option<PlanId>,
        limit: i64,
    ) -> Result<Vec<PlanListItem>> {
        // The page walks the primary key in order and stops after `limit` visible plans.
        // PostgreSQL does so by itself; SQLite would rather read every visible plan through the
        // organization index and sort them, unless the unary plus keeps it off that index.
        let org = match self.backend() {
            crate::Backend::Sqlite => "+p.org_id",
            crate::Backend::Postgres => "p.org_id",
        };
        let condition = match kind {
            PlanListKind::All => format!(
                "{org} IN (SELECT CAST($1 AS BIGINT) UNION ALL SELECT s.id FROM organizations s WHERE s.superior_id = $1)"
            ),
            PlanListKind::AwaitingApproval => {
                format!("p.status = $4 AND {org} IN (SELECT s.id FROM organizations s WHERE s.superior_id = $1)")
            }
        };
        // The page's ids first: sorting every visible plan by id must not compute the per-row
        // counts of each.
        let from = format!(
            "plans p JOIN organizations o ON o.id = p.org_id WHERE p.id IN \
             (SELECT p.id FROM plans p WHERE {condition} AND p.id > $2 ORDER BY p.id LIMIT $3) ORDER BY p.id"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(plan_list_sql(&from)))
            .bind(org_id.get())
            .bind(after.map_or(0, PlanId::get))
            .bind(limit.max(0));
        if kind == PlanListKind::AwaitingApproval {
            query = query.bind(PlanStatus::OnApproval.code());
        }
        plan_list_items(&query.fetch_all(self.pool()).await?)
    }
}
