//! Positions of a plan-schedule created in ЕИС, made in the cabinet: «Добавить позицию»,
//! «Изменить», «Отменить закупку».
//!
//! The cabinet keeps its draft in `plan_versions.draft_document` as the packet a РИС would have
//! sent: a `tenderPlan2020` before the first placement, a `tenderPlan2020Change` over the
//! latest placed version after it (every placed position carried with `N`, the edited ones with
//! `E` and a justification). So placement («Разместить») treats it like any received draft and
//! there is one code path for numbers, `modificationNumber` and the N/E semantics.
//!
//! ЕИС assigns what a РИС would have sent: the purchase number (the plan's next one), the ИКУ
//! from its directory (see [`crate::checks::OrgIds::iku`]) and the ИКЗ built from them. A
//! position made in ЕИС has no `extNumber`: that element is the external (РИС) number and is
//! optional in `tenderPlan2020PositionType`; positions are matched across versions by their
//! purchase number then.

use eis::packet::{
    Decision, Mode, Modification, ModificationStatus, OBJECT_TYPE_TP2020, Okpd2, PacketIndex, PlanData, PlanPacket,
    PlanPacketKind, Position, YearAmounts, read_plan_packet, write_plan_packet,
};
use rust_decimal::Decimal;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::SandboxError;
use crate::checks::OrgIds;
use crate::db::now_ms;
use crate::directory::PlanSource;
use crate::exchange::EIS_SENDER;
use crate::plans;

/// A position as the cabinet form «Добавить позицию» / «Изменить» gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CabinetPosition {
    /// «Наименование объекта закупки», 1–2000 characters.
    pub object_info: String,
    /// «Код ОКПД2» in its dotted form (`38.11.21.000`, or a shorter one such as `38.11` or
    /// `01.13.1`), at least 4 digits.
    pub okpd2: String,
    /// «Код вида расходов (КВР)», 3 digits.
    pub kvr: String,
    /// «Планируемый год размещения извещения»: the plan year or one of the two planned years.
    pub publish_year: i32,
    /// Financing «на текущий год», «на первый год», «на второй год», «на последующие годы»:
    /// rubles with at most two decimals, each ≥ 0, the total above zero.
    pub current_year: Decimal,
    pub first_year: Decimal,
    pub second_year: Decimal,
    pub subsequent_years: Decimal,
}

/// The justification of a change of a placed position (`positionModification`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CabinetChange {
    /// A code of NSI `nsiTenderPlan2020PositionChangeReason`, one of [`CHANGE_REASONS`].
    pub reason_code: String,
    /// «Описание изменения», 1–2000 characters.
    pub description: String,
}

/// The change reasons the cabinet offers: the codes of plangraf's starter NSI (the one code a
/// real ЕИС export confirms), with their names.
pub const CHANGE_REASONS: &[(&str, &str)] =
    &[("9", "Возникновение иных обстоятельств, предвидеть которые при утверждении плана-графика было невозможно")];

pub(crate) const MAX_TEXT: usize = 2000;
/// Purchase numbers have 4 digits: a plan holds at most this many purchases.
pub(crate) const MAX_PURCHASES: u32 = 9999;

fn invalid(text: impl Into<String>) -> SandboxError {
    SandboxError::Invalid(text.into())
}

/// Refuses control characters XML cannot carry or a form should not hold (line breaks and tabs
/// are allowed in free text).
fn check_text(label: &str, s: &str) -> Result<String, SandboxError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid(format!("Заполните поле «{label}».")));
    }
    let chars = s.chars().count();
    if chars > MAX_TEXT {
        return Err(invalid(format!("Поле «{label}» не должно превышать {MAX_TEXT} символов (сейчас {chars}).")));
    }
    if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(invalid(format!("Поле «{label}» содержит недопустимые управляющие символы.")));
    }
    Ok(s.to_owned())
}

/// An ОКПД2 code in its dotted form: `NN.NN`, `NN.NN.N`, `NN.NN.NN`, `NN.NN.NN.N…NNN`, at most 12
/// characters and at least 4 digits (ЕИС puts the first four into the ИКЗ).
pub(crate) fn check_okpd2(s: &str) -> Result<String, SandboxError> {
    let s = s.trim();
    let refuse = || {
        invalid(format!(
            "Код ОКПД2 «{}» указан неверно: требуется код в формате NN.NN.NN.NNN или более короткий (например, \
             38.11.21.000, 38.11.21, 38.11), не менее 4 цифр.",
            s.chars().take(20).collect::<String>()
        ))
    };
    if s.len() > 12 {
        return Err(refuse());
    }
    let groups: Vec<&str> = s.split('.').collect();
    let widths: &[usize] = &[2, 2, 2, 3];
    if groups.len() < 2 || groups.len() > widths.len() {
        return Err(refuse());
    }
    for (i, (g, max)) in groups.iter().zip(widths).enumerate() {
        let last = i + 1 == groups.len();
        // Every group but the last is full; the last may be shorter (`01.13.1`).
        let ok_len = if i == 0 {
            g.len() == 2
        } else if last {
            (1..=*max).contains(&g.len())
        } else {
            g.len() == *max
        };
        if !ok_len || !g.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse());
        }
    }
    if s.bytes().filter(u8::is_ascii_digit).count() < 4 {
        return Err(refuse());
    }
    Ok(s.to_owned())
}

fn check_kvr(s: &str) -> Result<String, SandboxError> {
    let s = s.trim();
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(invalid(format!(
            "Код вида расходов (КВР) «{}» указан неверно: требуется 3 цифры (например, 244).",
            s.chars().take(20).collect::<String>()
        )))
    }
}

/// The export's money type holds at most 18 digits before the point.
fn money_ceiling() -> Decimal {
    Decimal::from(1_000_000_000_000_000_000_i64)
}

fn check_amount(label: &str, d: Decimal) -> Result<Decimal, SandboxError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(invalid(format!("Сумма «{label}» не может быть отрицательной.")));
    }
    if d.normalize().scale() > 2 {
        return Err(invalid(format!(
            "Сумма «{label}» указывается в рублях с копейками: не более двух знаков после запятой."
        )));
    }
    if d >= money_ceiling() {
        return Err(invalid(format!("Сумма «{label}» слишком велика.")));
    }
    let mut d = d.abs();
    d.rescale(2);
    Ok(d)
}

/// A money amount as typed in the form: digits with an optional `,` or `.` and up to two
/// decimals; spaces between thousands are allowed. An empty field is zero.
pub(crate) fn parse_money(label: &str, s: &str) -> Result<Decimal, SandboxError> {
    let cleaned: String = s.trim().chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    if cleaned.is_empty() {
        return Ok(Decimal::ZERO);
    }
    let refuse = || invalid(format!("Сумма «{label}» указана неверно: требуется число в рублях, например 125000,50."));
    if cleaned.len() > 24 {
        return Err(refuse());
    }
    let (negative, body) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    let (int, frac) = match body.split_once([',', '.']) {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(refuse());
    }
    if frac.is_some_and(|f| f.len() > 2) {
        return Err(invalid(format!(
            "Сумма «{label}» указывается в рублях с копейками: не более двух знаков после запятой."
        )));
    }
    if int.len() > 18 {
        return Err(invalid(format!("Сумма «{label}» слишком велика.")));
    }
    let text = match frac {
        Some(f) => format!("{int}.{f}"),
        None => int.to_owned(),
    };
    let d = Decimal::from_str_exact(&text).map_err(|_| refuse())?;
    if negative && !d.is_zero() {
        return Err(invalid(format!("Сумма «{label}» не может быть отрицательной.")));
    }
    Ok(d)
}

/// A position's fields checked and normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    object_info: String,
    okpd2: String,
    kvr: String,
    publish_year: i32,
    finance: YearAmounts,
}

pub(crate) fn check_position(p: &CabinetPosition, plan_year: i32) -> Result<Checked, SandboxError> {
    let object_info = check_text("Наименование объекта закупки", &p.object_info)?;
    let okpd2 = check_okpd2(&p.okpd2)?;
    let kvr = check_kvr(&p.kvr)?;
    if !(plan_year..=plan_year + 2).contains(&p.publish_year) {
        return Err(invalid(format!(
            "Планируемый год размещения извещения {} должен быть в пределах периода плана-графика: {}–{}.",
            p.publish_year,
            plan_year,
            plan_year + 2
        )));
    }
    let finance = YearAmounts {
        total: None,
        current_year: check_amount("на текущий год", p.current_year)?,
        first_year: check_amount("на первый год", p.first_year)?,
        second_year: check_amount("на второй год", p.second_year)?,
        subsec_years: check_amount("на последующие годы", p.subsequent_years)?,
    };
    let total = finance.total();
    if total.is_zero() {
        return Err(invalid("Объем финансового обеспечения закупки должен быть больше нуля."));
    }
    if total >= money_ceiling() {
        return Err(invalid("Общий объем финансового обеспечения закупки слишком велик."));
    }
    Ok(Checked { object_info, okpd2, kvr, publish_year: p.publish_year, finance })
}

pub(crate) fn check_change(c: &CabinetChange) -> Result<Modification, SandboxError> {
    let code = c.reason_code.trim();
    let Some((code, name)) = CHANGE_REASONS.iter().find(|(k, _)| *k == code) else {
        return Err(invalid("Выберите основание внесения изменений из справочника."));
    };
    Ok(Modification {
        change_reason_code: (*code).to_owned(),
        change_reason_name: (*name).to_owned(),
        decision: Decision::Changed,
        description: check_text("Описание изменения", &c.description)?,
        modification_number: None,
    })
}

/// ИКЗ (eis-protocol.md §4, the layout `checks::check_ikz` enforces): year of placement (2) ·
/// ИКУ (20) · purchase number (4) · `000` · first four digits of ОКПД2 · КВР (3).
pub(crate) fn build_ikz(publish_year: i32, iku: &str, purchase_number: &str, okpd2: &str, kvr: &str) -> String {
    let okpd4: String = okpd2.chars().filter(char::is_ascii_digit).take(4).collect();
    format!("{:02}{iku}{purchase_number}000{okpd4}{kvr}", publish_year.rem_euclid(100))
}

/// The plan's next purchase number: one above the highest used by a position or a special
/// position (numbers are never reused: a cancelled purchase keeps its number).
pub(crate) fn next_purchase_number(data: &PlanData) -> Result<String, SandboxError> {
    let highest = data
        .positions
        .iter()
        .map(|p| p.purchase_number.as_str())
        .chain(data.special_positions.iter().map(|p| p.purchase_number.as_str()))
        .filter_map(|n| n.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    if highest >= MAX_PURCHASES {
        return Err(invalid(format!(
            "В плане-графике не может быть более {MAX_PURCHASES} закупок: номер закупки состоит из 4 цифр."
        )));
    }
    Ok(format!("{:04}", highest + 1))
}

fn new_position(c: Checked, iku: &str, purchase_number: String, plan_year: i32) -> Position {
    Position {
        ikz: build_ikz(c.publish_year, iku, &purchase_number, &c.okpd2, &c.kvr),
        publish_year: c.publish_year,
        iku: Some(iku.to_owned()),
        purchase_number,
        okpd2: Okpd2::Single(c.okpd2),
        kvr: Some(c.kvr),
        purchase_object_info: c.object_info,
        // Required when the notice is planned for the plan year; the cabinet's default is «нет».
        public_discussion: (c.publish_year == plan_year).then_some(false),
        finance: c.finance,
        ..Default::default()
    }
}

/// What the cabinet does to a plan's draft.
pub(crate) enum Action {
    Add(CabinetPosition),
    Edit { purchase_number: String, position: CabinetPosition, change: Option<CabinetChange> },
    Cancel { purchase_number: String, change: CabinetChange },
}

/// Applies `action` to the draft of the organization's plan created in ЕИС for `plan_year`, in
/// one write transaction: the current draft, or a new «проект изменений» over the latest placed
/// version. Answers the purchase number acted on. Nothing is written when the action is
/// refused.
pub(crate) async fn apply(
    db: &SqlitePool,
    org_reg_num: &str,
    plan_year: i32,
    action: Action,
) -> Result<String, SandboxError> {
    if let Action::Edit { purchase_number: n, .. } | Action::Cancel { purchase_number: n, .. } = &action
        && !is_purchase_number(n)
    {
        return Err(not_found(n));
    }
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let plan = plans::plan_by_year_in(&mut tx, org_reg_num, plan_year)
        .await?
        .ok_or_else(|| SandboxError::NotFound(format!("plan-schedule of {org_reg_num} for {plan_year}")))?;
    if plan.source == PlanSource::Ris {
        return Err(SandboxError::Refused(
            "План-график интегрирован из РИС: его позиции создаются и изменяются только в РИС".into(),
        ));
    }
    let iku = org_iku(&mut tx, &plan.org_reg_num).await?;
    let (version_id, version_number, mut draft, placed) = open_draft(&mut tx, &plan).await?;
    let placed_position =
        |n: &str| placed.as_ref().and_then(|p| p.data.positions.iter().find(|q| q.purchase_number == n));

    let purchase_number = match action {
        Action::Add(p) => {
            let checked = check_position(&p, plan.plan_year)?;
            let number = next_purchase_number(&draft.data)?;
            draft.data.positions.push(new_position(checked, &iku, number.clone(), plan.plan_year));
            number
        }
        Action::Edit { purchase_number, position, change } => {
            let checked = check_position(&position, plan.plan_year)?;
            let was = placed_position(&purchase_number).cloned();
            let index = position_index(&draft.data, &purchase_number)?;
            let modification = match &was {
                Some(prev) => {
                    refuse_canceled(prev)?;
                    let change = change.ok_or_else(|| {
                        invalid("Укажите основание внесения изменений и описание изменения: позиция уже размещена.")
                    })?;
                    Some(check_change(&change)?)
                }
                None => None,
            };
            let current = &mut draft.data.positions[index];
            let mut edited = new_position(checked, &iku, purchase_number.clone(), plan.plan_year);
            edited.position_number = current.position_number.take();
            if let Some(prev) = &was {
                // ЕИС keeps the ИКЗ of a changed position (see `plans::apply_change`).
                edited.ikz = prev.ikz.clone();
                edited.iku = prev.iku.clone().or(edited.iku);
                edited.modification_status = Some(ModificationStatus::E);
                edited.modification = modification;
            }
            *current = edited;
            purchase_number
        }
        Action::Cancel { purchase_number, change } => {
            let Some(prev) = placed_position(&purchase_number) else {
                position_index(&draft.data, &purchase_number)?;
                return Err(SandboxError::Conflict(format!(
                    "Закупка {purchase_number} еще не размещена: отменить можно только размещенную закупку."
                )));
            };
            refuse_canceled(prev)?;
            let mut modification = check_change(&change)?;
            modification.decision = Decision::Canceled;
            let index = position_index(&draft.data, &purchase_number)?;
            let current = &mut draft.data.positions[index];
            current.modification_status = Some(ModificationStatus::E);
            current.modification = Some(modification);
            purchase_number
        }
    };

    let count = i64::try_from(draft.data.positions.len() + draft.data.special_positions.len()).unwrap_or(i64::MAX);
    sqlx::query("UPDATE plan_versions SET draft_document = ?1, position_count = ?2 WHERE id = ?3")
        .bind(write_plan_packet(&draft))
        .bind(count)
        .bind(version_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(org_reg_num, plan_year, version_number, %purchase_number, "cabinet draft changed");
    Ok(purchase_number)
}

fn position_index(data: &PlanData, purchase_number: &str) -> Result<usize, SandboxError> {
    data.positions.iter().position(|p| p.purchase_number == purchase_number).ok_or_else(|| not_found(purchase_number))
}

/// «не найдена», naming the number only when it is one (a form may post anything).
pub(crate) fn not_found(purchase_number: &str) -> SandboxError {
    if is_purchase_number(purchase_number) {
        SandboxError::NotFound(format!("Позиция с номером закупки {purchase_number} не найдена."))
    } else {
        SandboxError::NotFound("Позиция не найдена: номер закупки состоит из 4 цифр.".into())
    }
}

pub(crate) fn is_purchase_number(s: &str) -> bool {
    s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit())
}

fn refuse_canceled(placed: &Position) -> Result<(), SandboxError> {
    if placed.canceled == Some(true) {
        return Err(SandboxError::Conflict(format!(
            "Закупка {} отменена: изменить или отменить ее повторно нельзя.",
            placed.purchase_number
        )));
    }
    Ok(())
}

/// The organization's ИКУ from the directory.
async fn org_iku(tx: &mut Transaction<'static, Sqlite>, org_reg_num: &str) -> Result<String, SandboxError> {
    let row = sqlx::query("SELECT inn, kpp FROM organizations WHERE reg_num = ?1")
        .bind(org_reg_num)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| SandboxError::NotFound(format!("organization {org_reg_num}")))?;
    let ids = OrgIds { inn: row.try_get("inn")?, kpp: row.try_get("kpp")? };
    ids.iku().ok_or_else(|| {
        invalid(format!(
            "ИКУ организации не определен по справочнику: требуются ИНН из 10 цифр и КПП из 9 цифр (ИНН {}, КПП {}).",
            ids.inn, ids.kpp
        ))
    })
}

/// The draft the cabinet edits, with the latest placed content when there is one: the plan's
/// draft newer than its latest placed version, or a new one. A new draft of a placed plan is a
/// change carrying every placed position unchanged (`N`); before the first placement it is the
/// bare plan.
async fn open_draft(
    tx: &mut Transaction<'static, Sqlite>,
    plan: &plans::PlanRow,
) -> Result<(i64, i64, PlanPacket, Option<PlanPacket>), SandboxError> {
    let rows = sqlx::query(
        "SELECT id, version_number, state, draft_document, placed_document FROM plan_versions WHERE plan_id = ?1 \
         ORDER BY version_number",
    )
    .bind(plan.id)
    .fetch_all(&mut **tx)
    .await?;
    let read = |doc: String| read_plan_packet(&doc).map_err(|e| invalid(format!("stored draft is unreadable: {e}")));
    let mut placed: Option<(i64, PlanPacket)> = None;
    let mut draft: Option<(i64, i64, Option<String>)> = None;
    let mut highest = -1;
    for r in &rows {
        let number: i64 = r.try_get("version_number")?;
        highest = highest.max(number);
        if r.try_get::<String, _>("state")? == "placed" {
            let doc: Option<String> = r.try_get("placed_document")?;
            let doc = doc.ok_or_else(|| invalid("a placed version without its document"))?;
            placed = Some((number, read(doc)?));
            draft = None;
        } else {
            draft = Some((r.try_get("id")?, number, r.try_get("draft_document")?));
        }
    }
    let placed_number = placed.as_ref().map(|(n, _)| *n);
    let placed = placed.map(|(_, p)| p);
    if let Some((id, number, doc)) = draft.filter(|(_, n, _)| placed_number.is_none_or(|p| *n > p)) {
        let content = match doc {
            Some(d) => read(d)?,
            None => match &placed {
                Some(p) => change_over(p, number),
                None => plans::created_in_eis(plan),
            },
        };
        return Ok((id, number, content, placed));
    }
    let Some(base) = &placed else {
        return Err(SandboxError::Conflict("План-график не имеет проекта для изменения".into()));
    };
    let number = highest + 1;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO plan_versions (plan_id, version_number, state, position_count, created_at) \
         VALUES (?1, ?2, 'project', ?3, ?4) RETURNING id",
    )
    .bind(plan.id)
    .bind(number)
    .bind(i64::try_from(base.data.positions.len() + base.data.special_positions.len()).unwrap_or(i64::MAX))
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?;
    Ok((id, number, change_over(base, number), placed))
}

/// A «проект изменений»: the placed content as a change, every position carried unchanged.
fn change_over(placed: &PlanPacket, version_number: i64) -> PlanPacket {
    let mut data = placed.data.clone();
    data.version_number = u32::try_from(version_number).ok();
    data.id = None;
    data.create_date = None;
    data.confirm_date = None;
    data.publish_date = None;
    for p in &mut data.positions {
        p.modification_status = Some(ModificationStatus::N);
        p.modification = None;
    }
    for p in &mut data.special_positions {
        p.modification_status = Some(ModificationStatus::N);
        p.modification = None;
    }
    PlanPacket {
        kind: PlanPacketKind::Change,
        index: PacketIndex::new(EIS_SENDER, EIS_SENDER, OBJECT_TYPE_TP2020, Mode::Prod),
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IKU: &str = "27802139698780201001";

    fn position() -> CabinetPosition {
        CabinetPosition {
            object_info: "Услуги по обращению с ТКО".into(),
            okpd2: "38.11.21.000".into(),
            kvr: "244".into(),
            publish_year: 2025,
            current_year: Decimal::new(10_000_050, 2),
            first_year: Decimal::ZERO,
            second_year: Decimal::ZERO,
            subsequent_years: Decimal::ZERO,
        }
    }

    #[test]
    fn the_ikz_has_the_layout_check_ikz_enforces() {
        let ikz = build_ikz(2025, IKU, "0007", "38.11.21.000", "244");
        assert_eq!(ikz, "252780213969878020100100070003811244");
        assert_eq!(ikz.len(), 36);
        assert_eq!(build_ikz(2026, IKU, "0012", "01.13.1", "247"), "262780213969878020100100120000113247");
        // The same position passes the sandbox's own ИКЗ checks.
        let p = new_position(check_position(&position(), 2025).expect("valid"), IKU, "0001".into(), 2025);
        let mut violations = Vec::new();
        crate::checks::check_position_ikz(
            &p,
            Some(&OrgIds { inn: "7802139698".into(), kpp: "780201001".into() }),
            &mut violations,
        );
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!(p.public_discussion, Some(false), "required when the notice is planned for the plan year");
    }

    #[test]
    fn purchase_numbers_follow_the_highest_and_stop_at_9999() {
        let mut data = PlanData::default();
        assert_eq!(next_purchase_number(&data).expect("first"), "0001");
        data.positions.push(Position { purchase_number: "0002".into(), ..Default::default() });
        data.special_positions
            .push(eis::packet::SpecialPosition { purchase_number: "0005".into(), ..Default::default() });
        assert_eq!(next_purchase_number(&data).expect("next"), "0006");
        data.positions.push(Position { purchase_number: "9999".into(), ..Default::default() });
        assert!(matches!(next_purchase_number(&data), Err(SandboxError::Invalid(t)) if t.contains("9999")));
    }

    #[test]
    fn okpd2_forms() {
        for ok in ["38.11.21.000", "38.11.21.1", "38.11.21", "38.11.2", "38.11", "01.13.1", " 38.11 "] {
            assert!(check_okpd2(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "38",
            "38.1",
            "3811",
            "38.11.",
            ".38.11",
            "38..11",
            "38.11.21.0000",
            "38.1.21",
            "аб.вг",
            "38.11.21.000.1",
        ] {
            assert!(check_okpd2(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_as_typed() {
        let d = |s: &str| parse_money("x", s).map(|d| d.to_string());
        assert_eq!(d("125 000,50").expect("ok"), "125000.50");
        assert_eq!(d("100000").expect("ok"), "100000");
        assert_eq!(d("").expect("ok"), "0");
        assert_eq!(d("0.5").expect("ok"), "0.5");
        for bad in ["-1", "1,234", "1.2.3", "abc", "1e5", ",5", "5,", "1234567890123456789"] {
            assert!(d(bad).is_err(), "{bad}");
        }
        assert!(d("-0").is_ok());
    }

    #[test]
    fn positions_are_checked() {
        let ok = check_position(&position(), 2025).expect("valid");
        assert_eq!(ok.finance.current_year.to_string(), "100000.50");
        let refused = |p: CabinetPosition| match check_position(&p, 2025) {
            Err(SandboxError::Invalid(t)) => t,
            other => panic!("{other:?}"),
        };
        assert!(refused(CabinetPosition { object_info: "  ".into(), ..position() }).contains("Наименование"));
        assert!(refused(CabinetPosition { object_info: "я".repeat(2001), ..position() }).contains("2000"));
        assert!(refused(CabinetPosition { object_info: "a\u{0}b".into(), ..position() }).contains("управляющие"));
        assert!(refused(CabinetPosition { okpd2: "38.1".into(), ..position() }).contains("ОКПД2"));
        assert!(refused(CabinetPosition { kvr: "24".into(), ..position() }).contains("КВР"));
        assert!(refused(CabinetPosition { publish_year: 2028, ..position() }).contains("2025–2027"));
        assert!(refused(CabinetPosition { first_year: Decimal::NEGATIVE_ONE, ..position() }).contains("отрицательной"));
        assert!(refused(CabinetPosition { current_year: Decimal::new(1, 3), ..position() }).contains("копейками"));
        assert!(refused(CabinetPosition { current_year: Decimal::ZERO, ..position() }).contains("больше нуля"));
        let huge = Decimal::from(900_000_000_000_000_000_i64);
        assert!(refused(CabinetPosition { current_year: huge, first_year: huge, ..position() }).contains("велик"));
        assert_eq!(
            check_change(&CabinetChange { reason_code: "9".into(), description: "Увеличен объем".into() })
                .expect("valid")
                .change_reason_name,
            CHANGE_REASONS[0].1
        );
        assert!(check_change(&CabinetChange { reason_code: "77".into(), description: "x".into() }).is_err());
        assert!(check_change(&CabinetChange { reason_code: "9".into(), description: String::new() }).is_err());
    }
}
