//! «Реестр планов-графиков»: reading plans and their versions, and placement («Разместить»).
//!
//! Placing a draft assigns the plan number (`YYYY` + СПЗ code + 3-digit sequence, once per
//! plan) and position numbers (plan number + 6-digit sequence shared by positions and special
//! positions; a position keeps its number across versions, matched by `extNumber`), stamps the confirm/publish dates and stores the
//! placed content as a `tenderPlan2020` packet with those numbers: the source of the export.

use eis::packet::{
    Decision, Mode, ModificationStatus, OBJECT_TYPE_TP2020, OwnerRole, PacketIndex, PlanData, PlanPacket,
    PlanPacketKind, Position, SpecialPosition, read_plan_packet, write_plan_packet,
};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::SandboxError;
use crate::db::now_ms;
use crate::directory::{PlanSource, VersionState};
use crate::exchange::EIS_SENDER;

#[derive(Debug, Clone)]
pub(crate) struct PlanRow {
    pub(crate) id: i64,
    pub(crate) org_reg_num: String,
    pub(crate) plan_year: i32,
    pub(crate) source: PlanSource,
    pub(crate) plan_number: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct VersionRow {
    pub(crate) id: i64,
    pub(crate) version_number: i64,
    pub(crate) state: VersionState,
    pub(crate) external_id: Option<String>,
    pub(crate) position_count: i64,
    pub(crate) created_at: i64,
    pub(crate) published_at: Option<i64>,
    pub(crate) published_doc_id: Option<String>,
}

fn source_of(s: &str) -> PlanSource {
    if s == "EIS" { PlanSource::Eis } else { PlanSource::Ris }
}

fn plan_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<PlanRow, sqlx::Error> {
    Ok(PlanRow {
        id: r.try_get("id")?,
        org_reg_num: r.try_get("org_reg_num")?,
        plan_year: r.try_get("plan_year")?,
        source: source_of(&r.try_get::<String, _>("source")?),
        plan_number: r.try_get("plan_number")?,
    })
}

fn version_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<VersionRow, sqlx::Error> {
    let state: String = r.try_get("state")?;
    Ok(VersionRow {
        id: r.try_get("id")?,
        version_number: r.try_get("version_number")?,
        state: if state == "placed" { VersionState::Placed } else { VersionState::Project },
        external_id: r.try_get("external_id")?,
        position_count: r.try_get("position_count")?,
        created_at: r.try_get("created_at")?,
        published_at: r.try_get("published_at")?,
        published_doc_id: r.try_get("published_doc_id")?,
    })
}

const PLAN_COLUMNS: &str = "SELECT id, org_reg_num, plan_year, source, plan_number FROM plans";
const VERSION_COLUMNS: &str = "SELECT id, version_number, state, external_id, position_count, created_at, \
     published_at, published_doc_id FROM plan_versions";

/// The plans an organization's cabinet works with: its own, and those it placed for a customer
/// under an agreement (ownerRole OA).
pub(crate) async fn plans_of_org(db: &SqlitePool, org: &str) -> Result<Vec<PlanRow>, SandboxError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{PLAN_COLUMNS} WHERE org_reg_num = ?1 OR owner_reg_num = ?1 ORDER BY plan_year, id"
    )))
    .bind(org)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(plan_from_row).collect::<Result<_, _>>()?)
}

/// The plan with that id when `org` is its customer or placed it (OA): another organization's
/// plan is not found.
pub(crate) async fn plan_of_org(db: &SqlitePool, org: &str, plan_id: i64) -> Result<Option<PlanRow>, SandboxError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{PLAN_COLUMNS} WHERE id = ?1 AND (org_reg_num = ?2 OR owner_reg_num = ?2)"
    )))
    .bind(plan_id)
    .bind(org)
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(plan_from_row).transpose()?)
}

pub(crate) async fn plan_by_year(db: &SqlitePool, org: &str, year: i32) -> Result<Option<PlanRow>, SandboxError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{PLAN_COLUMNS} WHERE org_reg_num = ?1 AND plan_year = ?2")))
        .bind(org)
        .bind(year)
        .fetch_optional(db)
        .await?;
    Ok(row.as_ref().map(plan_from_row).transpose()?)
}

/// The same inside a write transaction.
pub(crate) async fn plan_by_year_in(
    tx: &mut Transaction<'static, Sqlite>,
    org: &str,
    year: i32,
) -> Result<Option<PlanRow>, SandboxError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{PLAN_COLUMNS} WHERE org_reg_num = ?1 AND plan_year = ?2")))
        .bind(org)
        .bind(year)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.as_ref().map(plan_from_row).transpose()?)
}

pub(crate) async fn versions(db: &SqlitePool, plan_id: i64) -> Result<Vec<VersionRow>, SandboxError> {
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(format!("{VERSION_COLUMNS} WHERE plan_id = ?1 ORDER BY version_number")))
            .bind(plan_id)
            .fetch_all(db)
            .await?;
    Ok(rows.iter().map(version_from_row).collect::<Result<_, _>>()?)
}

fn unreadable(what: &str, e: &eis::ReadError) -> SandboxError {
    SandboxError::Invalid(format!("stored {what} is unreadable: {e}"))
}

/// What a version holds: the placed content for a placed version (with registry numbers),
/// else the draft: the received packet, or the cabinet's draft of a plan created in ЕИС.
/// `None` for such a plan's draft before its first position.
pub(crate) async fn version_content(
    db: &SqlitePool,
    plan_id: i64,
    version_number: i64,
) -> Result<Option<PlanPacket>, SandboxError> {
    let row = sqlx::query(
        "SELECT v.placed_document, COALESCE(p.document, v.draft_document) AS document FROM plan_versions v \
         LEFT JOIN packets p ON p.packet_id = v.packet_id WHERE v.plan_id = ?1 AND v.version_number = ?2",
    )
    .bind(plan_id)
    .bind(version_number)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| SandboxError::NotFound(format!("version {version_number}")))?;
    let doc: Option<String> = match row.try_get::<Option<String>, _>("placed_document")? {
        Some(d) => Some(d),
        None => row.try_get("document")?,
    };
    doc.map(|d| read_plan_packet(&d).map_err(|e| unreadable("plan document", &e))).transpose()
}

/// The result of a placement.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub(crate) plan_number: String,
}

/// «Разместить»: places draft `version_number` of the plan. Refused (Conflict) for a version
/// already placed or older than the latest placed one.
pub(crate) async fn place(db: &SqlitePool, plan_id: i64, version_number: i64) -> Result<Placed, SandboxError> {
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let plan = sqlx::query(sqlx::AssertSqlSafe(format!("{PLAN_COLUMNS} WHERE id = ?1")))
        .bind(plan_id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(plan_from_row)
        .transpose()?
        .ok_or_else(|| SandboxError::NotFound(format!("plan {plan_id}")))?;
    let version =
        sqlx::query(sqlx::AssertSqlSafe(format!("{VERSION_COLUMNS} WHERE plan_id = ?1 AND version_number = ?2")))
            .bind(plan_id)
            .bind(version_number)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(version_from_row)
            .transpose()?
            .ok_or_else(|| SandboxError::NotFound(format!("version {version_number} of plan {plan_id}")))?;
    if version.state == VersionState::Placed {
        return Err(SandboxError::Conflict(format!("Версия {version_number} уже размещена")));
    }
    let latest_placed: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version_number) FROM plan_versions WHERE plan_id = ?1 AND state = 'placed'")
            .bind(plan_id)
            .fetch_one(&mut *tx)
            .await?;
    if let Some(latest) = latest_placed.filter(|l| *l >= version_number) {
        return Err(SandboxError::Conflict(format!(
            "Размещена более поздняя версия {latest}; версию {version_number} разместить нельзя"
        )));
    }

    // A received packet, or the cabinet's draft (`drafts`): read alike, placed alike.
    let doc: Option<String> = sqlx::query_scalar(
        "SELECT COALESCE(p.document, v.draft_document) FROM plan_versions v \
         LEFT JOIN packets p ON p.packet_id = v.packet_id WHERE v.id = ?1",
    )
    .bind(version.id)
    .fetch_one(&mut *tx)
    .await?;
    let draft = match doc {
        Some(doc) => read_plan_packet(&doc).map_err(|e| unreadable("draft", &e))?,
        None => created_in_eis(&plan),
    };
    let previous = match latest_placed {
        Some(v) => {
            let doc: Option<String> = sqlx::query_scalar(
                "SELECT placed_document FROM plan_versions WHERE plan_id = ?1 AND version_number = ?2",
            )
            .bind(plan_id)
            .bind(v)
            .fetch_one(&mut *tx)
            .await?;
            doc.map(|d| read_plan_packet(&d).map_err(|e| unreadable("placed document", &e))).transpose()?
        }
        None => None,
    };

    let plan_number = match &plan.plan_number {
        Some(n) => n.clone(),
        None => new_plan_number(&mut tx, &plan).await?,
    };
    let mut received = draft.data;
    // ЕИС ignores `positionCanceled` and `modificationNumber` on receipt: it publishes its own.
    for p in &mut received.positions {
        p.canceled = None;
        if let Some(m) = p.modification.as_mut() {
            m.modification_number = None;
        }
    }
    for m in received.special_positions.iter_mut().filter_map(|p| p.modification.as_mut()) {
        m.modification_number = None;
    }
    let mut data = match (draft.kind, &previous) {
        (PlanPacketKind::Change, Some(prev)) => apply_change(&prev.data, received),
        _ => received,
    };
    data.plan_number = Some(plan_number.clone());
    data.version_number = u32::try_from(version_number).ok();
    for p in &mut data.positions {
        p.position_number = Some(position_number(&mut tx, plan_id, &plan_number, &position_key(p)).await?);
    }
    for p in &mut data.special_positions {
        p.position_number = Some(position_number(&mut tx, plan_id, &plan_number, &special_key(p)).await?);
    }
    stamp_modifications(&mut data, u32::try_from(version_number).ok());
    let placed = PlanPacket {
        kind: PlanPacketKind::New,
        index: PacketIndex::new(EIS_SENDER, EIS_SENDER, OBJECT_TYPE_TP2020, draft.index.mode),
        data,
    };
    let now = now_ms();
    sqlx::query("UPDATE plans SET plan_number = ?1 WHERE id = ?2")
        .bind(&plan_number)
        .bind(plan_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE plan_versions SET state = 'placed', confirmed_at = ?1, published_at = ?1, published_doc_id = ?2, \
         placed_document = ?3, position_count = ?4 WHERE id = ?5",
    )
    .bind(now)
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(write_plan_packet(&placed))
    .bind(i64::try_from(placed.data.positions.len() + placed.data.special_positions.len()).unwrap_or(i64::MAX))
    .bind(version.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(plan_id, version_number, %plan_number, "plan-schedule version placed");
    Ok(Placed { plan_number })
}

/// What ЕИС publishes beside the received content: whether each purchase is cancelled (a
/// purchase cancelled earlier stays so), and the version each justification of this version
/// was made in.
fn stamp_modifications(data: &mut PlanData, version: Option<u32>) {
    for p in &mut data.positions {
        p.canceled = match &p.modification {
            Some(m) => Some(m.decision == Decision::Canceled),
            None => Some(p.canceled == Some(true)),
        };
        if let Some(m) = p.modification.as_mut().filter(|m| m.modification_number.is_none()) {
            m.modification_number = version;
        }
    }
    for p in &mut data.special_positions {
        if let Some(m) = p.modification.as_mut().filter(|m| m.modification_number.is_none()) {
            m.modification_number = version;
        }
    }
}

/// A plan created in ЕИС directly has no packet: before its first position its content is the
/// bare plan.
pub(crate) fn created_in_eis(plan: &PlanRow) -> PlanPacket {
    PlanPacket {
        kind: PlanPacketKind::New,
        index: PacketIndex::new(EIS_SENDER, EIS_SENDER, OBJECT_TYPE_TP2020, Mode::Prod),
        data: PlanData {
            external_id: String::new(),
            plan_number: None,
            version_number: None,
            plan_year: plan.plan_year,
            first_year: plan.plan_year + 1,
            second_year: plan.plan_year + 2,
            customer_reg_num: plan.org_reg_num.clone(),
            owner_reg_num: plan.org_reg_num.clone(),
            owner_role: OwnerRole::Cu,
            ..Default::default()
        },
    }
}

/// `YYYY` + СПЗ code + the organization's next sequence for that year.
async fn new_plan_number(tx: &mut Transaction<'static, Sqlite>, plan: &PlanRow) -> Result<String, SandboxError> {
    let prefix = format!("{:04}{}", plan.plan_year, plan.org_reg_num);
    let taken: i64 = sqlx::query_scalar("SELECT count(*) FROM plans WHERE plan_number LIKE ?1 || '%'")
        .bind(&prefix)
        .fetch_one(&mut **tx)
        .await?;
    Ok(format!("{prefix}{:03}", taken + 1))
}

/// The key a position is matched by across versions.
fn position_key(p: &Position) -> String {
    if p.ext_number.is_empty() { format!("#{}", p.purchase_number) } else { p.ext_number.clone() }
}

/// The same for a special position, in a key space of its own: a РИС may number its special
/// positions independently of the others.
fn special_key(p: &SpecialPosition) -> String {
    if p.ext_number.is_empty() {
        format!("special:#{}", p.purchase_number)
    } else {
        format!("special:{}", p.ext_number)
    }
}

/// The position's registry number: the one it got at an earlier placement, or the next of
/// the plan's one sequence (positions and special positions alike).
async fn position_number(
    tx: &mut Transaction<'static, Sqlite>,
    plan_id: i64,
    plan_number: &str,
    key: &str,
) -> Result<String, SandboxError> {
    let known: Option<String> =
        sqlx::query_scalar("SELECT position_number FROM plan_positions WHERE plan_id = ?1 AND ext_number = ?2")
            .bind(plan_id)
            .bind(key)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(n) = known {
        return Ok(n);
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM plan_positions WHERE plan_id = ?1")
        .bind(plan_id)
        .fetch_one(&mut **tx)
        .await?;
    let number = format!("{plan_number}{:06}", count + 1);
    sqlx::query("INSERT INTO plan_positions (plan_id, ext_number, position_number) VALUES (?1, ?2, ?3)")
        .bind(plan_id)
        .bind(key)
        .bind(&number)
        .execute(&mut **tx)
        .await?;
    Ok(number)
}

/// The N/E semantics of a change (eis-protocol.md §1.8) over the placed version, for positions
/// and special positions alike:
/// * `N` (or no status) on a known position: the placed content is kept as it was;
/// * `E` on a known position: the new content, with the placed ИКЗ (ЕИС ignores the ИКЗ of a
///   changed position);
/// * a position the placed version does not have: taken as sent (a new position);
/// * a placed position the change leaves out: carried over unchanged, as ЕИС never deletes a
///   placed position (a purchase is cancelled by editing it with `purchaseCanceled`).
pub(crate) fn apply_change(previous: &PlanData, mut change: PlanData) -> PlanData {
    change.positions = merge(
        &previous.positions,
        std::mem::take(&mut change.positions),
        position_key,
        |p| p.modification_status,
        |p, prev| Position { ikz: prev.ikz.clone(), ..p },
        |prev| Position { modification: None, modification_status: Some(ModificationStatus::N), ..prev.clone() },
    );
    change.special_positions = merge(
        &previous.special_positions,
        std::mem::take(&mut change.special_positions),
        special_key,
        |p| p.modification_status,
        |p, prev| SpecialPosition { ikz: prev.ikz.clone(), ..p },
        |prev| SpecialPosition { modification: None, modification_status: Some(ModificationStatus::N), ..prev.clone() },
    );
    change
}

/// One kind of positions of a change merged over the placed ones (see [`apply_change`]).
fn merge<T>(
    previous: &[T],
    change: Vec<T>,
    key: impl Fn(&T) -> String,
    status: impl Fn(&T) -> Option<ModificationStatus>,
    edited: impl Fn(T, &T) -> T,
    unchanged: impl Fn(&T) -> T,
) -> Vec<T> {
    let mut carried: Vec<Option<&T>> = previous.iter().map(Some).collect();
    let mut take_previous = |k: &str| -> Option<&T> {
        let slot = carried.iter_mut().find(|s| s.is_some_and(|p| key(p) == k))?;
        slot.take()
    };
    let mut merged = Vec::with_capacity(change.len());
    for p in change {
        let k = key(&p);
        let status = status(&p);
        merged.push(match (take_previous(&k), status) {
            (Some(prev), Some(ModificationStatus::E)) => edited(p, prev),
            (Some(prev), _) => unchanged(prev),
            (None, _) => p,
        });
    }
    merged.extend(carried.into_iter().flatten().map(unchanged));
    merged
}

#[cfg(test)]
mod tests {
    use eis::packet::{Decision, Modification, Okpd2, YearAmounts};
    use rust_decimal::Decimal;

    use super::*;

    fn pos(ext: &str, ikz: &str, info: &str) -> Position {
        Position {
            position_number: Some(format!("N-{ext}")),
            ext_number: ext.into(),
            ikz: ikz.into(),
            publish_year: 2025,
            iku: None,
            purchase_number: "0001".into(),
            okpd2: Okpd2::Single("38.11".into()),
            kvr: None,
            purchase_object_info: info.into(),
            public_discussion: None,
            finance: YearAmounts { current_year: Decimal::ONE, ..YearAmounts::default() },
            kbks: vec![],
            kvrs: vec![],
            is_energy_service_contract: false,
            modification: None,
            modification_status: None,
            ..Default::default()
        }
    }

    fn data(positions: Vec<Position>) -> PlanData {
        PlanData {
            external_id: "x".into(),
            plan_number: None,
            version_number: None,
            plan_year: 2025,
            first_year: 2026,
            second_year: 2027,
            customer_reg_num: "03722001684".into(),
            owner_reg_num: "03722001684".into(),
            owner_role: OwnerRole::Cu,
            positions,
            ..Default::default()
        }
    }

    #[test]
    fn change_semantics() {
        let prev = data(vec![pos("a", "IKZ-A", "old a"), pos("b", "IKZ-B", "old b"), pos("c", "IKZ-C", "old c")]);
        let mut a = pos("a", "NEW-IKZ-A", "new a");
        a.modification_status = Some(ModificationStatus::E);
        a.modification = Some(Modification {
            change_reason_code: "9".into(),
            change_reason_name: String::new(),
            decision: Decision::Changed,
            description: "d".into(),
            modification_number: None,
        });
        let mut b = pos("b", "NEW-IKZ-B", "ignored b");
        b.modification_status = Some(ModificationStatus::N);
        let d = pos("d", "IKZ-D", "new d");
        let merged = apply_change(&prev, data(vec![a, b, d]));
        let got: Vec<(&str, &str, &str)> = merged
            .positions
            .iter()
            .map(|p| (p.ext_number.as_str(), p.ikz.as_str(), p.purchase_object_info.as_str()))
            .collect();
        assert_eq!(
            got,
            [("a", "IKZ-A", "new a"), ("b", "IKZ-B", "old b"), ("d", "IKZ-D", "new d"), ("c", "IKZ-C", "old c")]
        );
        assert!(merged.positions[0].modification.is_some());
        assert_eq!(merged.positions[3].modification_status, Some(ModificationStatus::N));
    }

    fn special(ext: &str, ikz: &str, amount: i64) -> SpecialPosition {
        SpecialPosition {
            position_number: Some(format!("N-{ext}")),
            type_code: "P4_1_93".into(),
            ext_number: ext.into(),
            ikz: ikz.into(),
            purchase_number: "0009".into(),
            finance: YearAmounts { current_year: Decimal::from(amount), ..YearAmounts::default() },
            ..Default::default()
        }
    }

    #[test]
    fn change_semantics_of_special_positions() {
        let mut prev = data(vec![pos("a", "IKZ-A", "a")]);
        prev.special_positions = vec![special("a", "IKZ-SA", 1), special("b", "IKZ-SB", 2), special("c", "IKZ-SC", 3)];
        let mut edited = special("a", "NEW", 10);
        edited.modification_status = Some(ModificationStatus::E);
        let mut unchanged = special("b", "NEW", 20);
        unchanged.modification_status = Some(ModificationStatus::N);
        let mut change = data(vec![]);
        change.special_positions = vec![edited, unchanged, special("d", "IKZ-SD", 4)];
        let merged = apply_change(&prev, change);
        let got: Vec<(&str, &str, String)> = merged
            .special_positions
            .iter()
            .map(|p| (p.ext_number.as_str(), p.ikz.as_str(), p.finance.current_year.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "IKZ-SA", "10".into()),
                ("b", "IKZ-SB", "2".into()),
                ("d", "IKZ-SD", "4".into()),
                ("c", "IKZ-SC", "3".into())
            ]
        );
        // A regular position and a special position with the same external number are two.
        assert_eq!(merged.positions.len(), 1);
        assert_eq!(merged.positions[0].ikz, "IKZ-A");
        assert_ne!(position_key(&merged.positions[0]), special_key(&merged.special_positions[0]));
    }
}
