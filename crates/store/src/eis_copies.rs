//! ЕИС's copies of plan-schedules as plangraf read them (migration 0014): a plan created in ЕИС
//! taken in by «Загрузить из ЕИС», and every «Сверить с ЕИС». The raw export is kept with each.

use std::collections::BTreeMap;

use domain::PlanStatus;
use domain::ids::{OrgId, PlanId, UserId};
use domain::plan::Position;
use sqlx::Row;

use crate::audit::record;
use crate::plans::{count_positions, move_tally, write_position_columns};
use crate::{Result, Store, StoreError, Time, now_ms, time_at};

/// Why a copy was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyPurpose {
    /// «Загрузить из ЕИС»: the plan's positions were replaced by it.
    Import,
    /// «Сверить с ЕИС»: compared, nothing changed.
    Reconciliation,
}

impl CopyPurpose {
    fn code(self) -> &'static str {
        match self {
            CopyPurpose::Import => "import",
            CopyPurpose::Reconciliation => "reconciliation",
        }
    }

    fn from_code(code: &str) -> Option<CopyPurpose> {
        [CopyPurpose::Import, CopyPurpose::Reconciliation].into_iter().find(|p| p.code() == code)
    }
}

/// One reading of ЕИС's copy, without the raw export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRecord {
    pub id: i64,
    pub plan_id: PlanId,
    pub purpose: CopyPurpose,
    pub plan_number: String,
    pub version_number: Option<i64>,
    /// ЕИС's registry number of each position, by purchase number (`0001`).
    pub position_numbers: BTreeMap<String, String>,
    /// A reconciliation: how many positions differ.
    pub differences: Option<i64>,
    /// A reconciliation: the number of plangraf's version it was compared with (none for a plan
    /// kept in ЕИС, compared with its import).
    pub compared_with: Option<i64>,
    pub fetched_by: UserId,
    pub fetched_at: Time,
}

/// A copy to take in: the organization's plan for `plan_year` becomes it.
#[derive(Debug)]
pub struct Taken<'a> {
    pub plan_year: i32,
    pub plan_number: &'a str,
    pub version_number: Option<i64>,
    pub positions: &'a [Position],
    pub position_numbers: &'a BTreeMap<String, String>,
    pub raw: &'a str,
}

/// Why «Загрузить из ЕИС» changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakeRefusal {
    /// The plan is on approval at the superior organization.
    OnApproval,
    /// The working copy holds positions no approved version has: they would be lost.
    UnapprovedPositions(i64),
    /// The plan was placed from plangraf under another registry number: it is kept here.
    PlacedFromHere(String),
}

/// A reconciliation to record.
#[derive(Debug)]
pub struct Reconciled<'a> {
    pub plan_id: PlanId,
    pub org_id: OrgId,
    pub plan_number: &'a str,
    pub version_number: Option<i64>,
    pub position_numbers: &'a BTreeMap<String, String>,
    pub differences: i64,
    pub compared_with: Option<i64>,
    pub raw: &'a str,
}

const COPY_COLUMNS: &str = "id, plan_id, purpose, plan_number, version_number, position_numbers, differences, \
     compared_with, fetched_by, fetched_at";

fn copy_from_row(r: &sqlx::any::AnyRow) -> Result<CopyRecord> {
    let purpose: String = r.try_get("purpose")?;
    let numbers: String = r.try_get("position_numbers")?;
    Ok(CopyRecord {
        id: r.try_get("id")?,
        plan_id: PlanId(r.try_get("plan_id")?),
        purpose: CopyPurpose::from_code(&purpose)
            .ok_or_else(|| StoreError::Corrupt(format!("ЕИС copy purpose {purpose}")))?,
        plan_number: r.try_get("plan_number")?,
        version_number: r.try_get("version_number")?,
        position_numbers: serde_json::from_str(&numbers)
            .map_err(|e| StoreError::Corrupt(format!("ЕИС copy position numbers: {e}")))?,
        differences: r.try_get("differences")?,
        compared_with: r.try_get("compared_with")?,
        fetched_by: UserId(r.try_get("fetched_by")?),
        fetched_at: time_at(r, "fetched_at")?,
    })
}

fn numbers_json(numbers: &BTreeMap<String, String>) -> Result<String> {
    serde_json::to_string(numbers).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// «Загрузить из ЕИС», in one transaction: the organization's plan for the year (created
    /// when there is none) is kept in ЕИС from now on, its working copy is ЕИС's positions and
    /// the export is kept. Refused, changing nothing, while the plan is on approval or its
    /// working copy holds positions no approved version has.
    pub async fn take_eis_copy(
        &self,
        org_id: OrgId,
        taken: &Taken<'_>,
        actor: UserId,
    ) -> Result<std::result::Result<PlanId, TakeRefusal>> {
        let mut tx = self.write_tx().await?;
        let now = now_ms();
        let existing = sqlx::query(
            "SELECT id, status, eis_plan_number, position_count FROM plans WHERE org_id = $1 AND plan_year = $2",
        )
        .bind(org_id.get())
        .bind(i64::from(taken.plan_year))
        .fetch_optional(&mut *tx)
        .await?;
        let plan_id = match existing {
            Some(row) => {
                let id = PlanId(row.try_get("id")?);
                let code: String = row.try_get("status")?;
                let status =
                    PlanStatus::from_code(&code).ok_or_else(|| StoreError::Corrupt(format!("plan status {code}")))?;
                let number: Option<String> = row.try_get("eis_plan_number")?;
                let count: i64 = row.try_get("position_count")?;
                match status {
                    PlanStatus::OnApproval => return Ok(Err(TakeRefusal::OnApproval)),
                    PlanStatus::Forming | PlanStatus::Revision if count > 0 => {
                        return Ok(Err(TakeRefusal::UnapprovedPositions(count)));
                    }
                    _ => {}
                }
                if let Some(n) = number.filter(|n| status != PlanStatus::KeptInEis && n != taken.plan_number) {
                    return Ok(Err(TakeRefusal::PlacedFromHere(n)));
                }
                // The status moves first, under the plan's row lock, so that no edit slips in.
                let moved = sqlx::query(
                    "UPDATE plans SET status = $1, eis_plan_number = $2, return_comment = NULL, \
                     row_version = row_version + 1, content_version = content_version + 1, updated_at = $3 \
                     WHERE id = $4 AND status = $5",
                )
                .bind(PlanStatus::KeptInEis.code())
                .bind(taken.plan_number)
                .bind(now)
                .bind(id.get())
                .bind(status.code())
                .execute(&mut *tx)
                .await?;
                if moved.rows_affected() != 1 {
                    return Err(StoreError::Conflict);
                }
                if status != PlanStatus::KeptInEis {
                    move_tally(&mut tx, org_id, Some(status), PlanStatus::KeptInEis).await?;
                }
                let removed =
                    sqlx::query("DELETE FROM positions WHERE plan_id = $1").bind(id.get()).execute(&mut *tx).await?;
                count_positions(&mut tx, id, -i64::try_from(removed.rows_affected()).unwrap_or(i64::MAX)).await?;
                id
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO plans (org_id, plan_year, status, eis_plan_number, row_version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
                )
                .bind(org_id.get())
                .bind(i64::from(taken.plan_year))
                .bind(PlanStatus::KeptInEis.code())
                .bind(taken.plan_number)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                move_tally(&mut tx, org_id, None, PlanStatus::KeptInEis).await?;
                PlanId(id)
            }
        };
        for p in taken.positions {
            let data = serde_json::to_string(p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO positions (plan_id, purchase_number, data, row_version, in_base) \
                 VALUES ($1, $2, $3, 1, 0) RETURNING id",
            )
            .bind(plan_id.get())
            .bind(i64::from(p.purchase_number.get()))
            .bind(&data)
            .fetch_one(&mut *tx)
            .await?;
            write_position_columns(&mut tx, id, p).await?;
        }
        count_positions(&mut tx, plan_id, i64::try_from(taken.positions.len()).unwrap_or(i64::MAX)).await?;
        sqlx::query(
            "INSERT INTO eis_copies (plan_id, purpose, plan_number, version_number, position_numbers, fetched_by, \
             fetched_at, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(plan_id.get())
        .bind(CopyPurpose::Import.code())
        .bind(taken.plan_number)
        .bind(taken.version_number)
        .bind(numbers_json(taken.position_numbers)?)
        .bind(actor.get())
        .bind(now)
        .bind(taken.raw)
        .execute(&mut *tx)
        .await?;
        let version = taken.version_number.map(|v| format!(", версия {v}")).unwrap_or_default();
        record(
            &mut *tx,
            Some(actor),
            Some(org_id),
            "plan",
            Some(plan_id.get()),
            "Загружен из ЕИС",
            &format!(
                "Реестровый номер {}{version}, позиций {}. План-график ведётся в ЕИС.",
                taken.plan_number,
                taken.positions.len()
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(plan_id))
    }

    /// Records a «Сверить с ЕИС» with the export read and the journal entry.
    pub async fn record_reconciliation(&self, r: &Reconciled<'_>, actor: UserId) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO eis_copies (plan_id, purpose, plan_number, version_number, position_numbers, differences, \
             compared_with, fetched_by, fetched_at, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(r.plan_id.get())
        .bind(CopyPurpose::Reconciliation.code())
        .bind(r.plan_number)
        .bind(r.version_number)
        .bind(numbers_json(r.position_numbers)?)
        .bind(r.differences)
        .bind(r.compared_with)
        .bind(actor.get())
        .bind(now_ms())
        .bind(r.raw)
        .fetch_one(&mut *tx)
        .await?;
        let outcome = if r.differences == 0 {
            "расхождений нет".to_owned()
        } else {
            format!("позиций с расхождениями: {}", r.differences)
        };
        let version = r.version_number.map(|v| format!(", версия в ЕИС {v}")).unwrap_or_default();
        record(
            &mut *tx,
            Some(actor),
            Some(r.org_id),
            "plan",
            Some(r.plan_id.get()),
            "Сверка с ЕИС",
            &format!("Реестровый номер {}{version}: {outcome}", r.plan_number),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The plan's latest reading of ЕИС's copy for `purpose`, without the export.
    pub async fn latest_eis_copy(&self, plan_id: PlanId, purpose: CopyPurpose) -> Result<Option<CopyRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COPY_COLUMNS} FROM eis_copies WHERE plan_id = $1 AND purpose = $2 ORDER BY id DESC LIMIT 1"
        )))
        .bind(plan_id.get())
        .bind(purpose.code())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(copy_from_row).transpose()
    }

    /// One reading of the plan's, with the export as ЕИС sent it.
    pub async fn eis_copy(&self, plan_id: PlanId, id: i64) -> Result<Option<(CopyRecord, String)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COPY_COLUMNS}, raw FROM eis_copies WHERE plan_id = $1 AND id = $2"
        )))
        .bind(plan_id.get())
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((copy_from_row(&r)?, r.try_get("raw")?))).transpose()
    }
}
