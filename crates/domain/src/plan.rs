//! Plan-schedules: the approval state machine, positions and the immutable version snapshot.

use crate::ikz::{self, CodeError, KvrCode, Okpd2Code, PurchaseNumber};
use crate::money::{Money, MoneyError};
use crate::org::OrgType;
use crate::role::Role;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// State of a plan-schedule's working copy (PRODUCT.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanStatus {
    Forming,
    OnApproval,
    Approved,
    Revision,
}

impl PlanStatus {
    pub const ALL: [PlanStatus; 4] =
        [PlanStatus::Forming, PlanStatus::OnApproval, PlanStatus::Approved, PlanStatus::Revision];

    pub fn code(self) -> &'static str {
        match self {
            PlanStatus::Forming => "forming",
            PlanStatus::OnApproval => "on_approval",
            PlanStatus::Approved => "approved",
            PlanStatus::Revision => "revision",
        }
    }

    pub fn from_code(code: &str) -> Option<PlanStatus> {
        PlanStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn title(self) -> &'static str {
        match self {
            PlanStatus::Forming => "Формирование",
            PlanStatus::OnApproval => "На согласовании",
            PlanStatus::Approved => "Утвержден",
            PlanStatus::Revision => "На доработке",
        }
    }

    /// Positions can be changed only while the customer holds the working copy.
    pub fn editable(self) -> bool {
        matches!(self, PlanStatus::Forming | PlanStatus::Revision)
    }
}

/// Who acts: the signed-in user's organization and role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub org_id: i64,
    pub role: Role,
}

/// What the state machine needs to know about a plan-schedule and its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanRef {
    pub org_id: i64,
    pub superior_org_id: Option<i64>,
    pub status: PlanStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    #[error("План-график принадлежит другой организации")]
    ForeignOrganization,
    #[error("Действие «{action}» недоступно для роли «{role}»")]
    WrongRole { action: &'static str, role: &'static str },
    #[error("Действие «{action}» недоступно в статусе «{status}»")]
    WrongState { action: &'static str, status: &'static str },
    #[error("Утверждать план-график может только вышестоящая организация заказчика")]
    NotSuperior,
    #[error("Нельзя утверждать план-график собственной организации")]
    OwnOrganization,
    #[error("Укажите причину возврата на доработку")]
    EmptyComment,
    #[error("План-график не прошёл проверку: исправьте ошибки ({0}) и повторите")]
    ChecksFailed(usize),
}

pub const ACTION_EDIT: &str = "Редактировать";
pub const ACTION_SUBMIT: &str = "Отправить на согласование";
pub const ACTION_APPROVE: &str = "Утвердить";
pub const ACTION_RETURN: &str = "Вернуть на доработку";
pub const ACTION_CHANGE: &str = "Внести изменения";

/// How the journal records each action (past tense).
pub const JOURNAL_SUBMITTED: &str = "Отправлен на согласование";
pub const JOURNAL_RETURNED: &str = "Возвращен на доработку";
pub const JOURNAL_CHANGES: &str = "Начаты изменения";

fn customer_action(actor: Actor, plan: PlanRef, action: &'static str) -> Result<(), PlanError> {
    if actor.org_id != plan.org_id {
        return Err(PlanError::ForeignOrganization);
    }
    if !actor.role.edits_plans() {
        return Err(PlanError::WrongRole { action, role: actor.role.title() });
    }
    if !plan.status.editable() {
        return Err(PlanError::WrongState { action, status: plan.status.title() });
    }
    Ok(())
}

fn approver_action(actor: Actor, plan: PlanRef, action: &'static str) -> Result<(), PlanError> {
    if actor.org_id == plan.org_id {
        return Err(PlanError::OwnOrganization);
    }
    if plan.superior_org_id != Some(actor.org_id) {
        return Err(PlanError::NotSuperior);
    }
    if !actor.role.approves_plans() {
        return Err(PlanError::WrongRole { action, role: actor.role.title() });
    }
    if plan.status != PlanStatus::OnApproval {
        return Err(PlanError::WrongState { action, status: plan.status.title() });
    }
    Ok(())
}

/// May the actor change the working copy (header and positions)?
pub fn check_edit(actor: Actor, plan: PlanRef) -> Result<(), PlanError> {
    customer_action(actor, plan, ACTION_EDIT)
}

/// «Отправить на согласование»: allowed only when the pre-flight checks found no errors.
pub fn submit(actor: Actor, plan: PlanRef, error_count: usize) -> Result<PlanStatus, PlanError> {
    customer_action(actor, plan, ACTION_SUBMIT)?;
    if error_count > 0 {
        return Err(PlanError::ChecksFailed(error_count));
    }
    Ok(PlanStatus::OnApproval)
}

/// «Утвердить» by the superior organization; the caller then creates the next version.
pub fn approve(actor: Actor, plan: PlanRef, error_count: usize) -> Result<PlanStatus, PlanError> {
    approver_action(actor, plan, ACTION_APPROVE)?;
    if error_count > 0 {
        return Err(PlanError::ChecksFailed(error_count));
    }
    Ok(PlanStatus::Approved)
}

/// «Вернуть на доработку» with a comment the customer will see.
pub fn return_for_revision(actor: Actor, plan: PlanRef, comment: &str) -> Result<PlanStatus, PlanError> {
    approver_action(actor, plan, ACTION_RETURN)?;
    if comment.trim().is_empty() {
        return Err(PlanError::EmptyComment);
    }
    Ok(PlanStatus::Revision)
}

/// May the actor read this plan-schedule? Its own organization, or the superior reading a
/// subordinate's plan.
pub fn can_read(actor: Actor, plan: PlanRef) -> bool {
    actor.org_id == plan.org_id || plan.superior_org_id == Some(actor.org_id)
}

/// Financing of a position by year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct YearAmounts {
    pub current: Money,
    pub first: Money,
    pub second: Money,
    pub subsequent: Money,
}

impl YearAmounts {
    pub fn total(&self) -> Money {
        self.current + self.first + self.second + self.subsequent
    }
}

impl std::ops::Add for YearAmounts {
    type Output = YearAmounts;
    fn add(self, o: YearAmounts) -> YearAmounts {
        YearAmounts {
            current: self.current + o.current,
            first: self.first + o.first,
            second: self.second + o.second,
            subsequent: self.subsequent + o.subsequent,
        }
    }
}

/// What the customer decided about a position in a change round (eis-protocol.md §1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeDecision {
    /// «Закупка изменена»
    Changed,
    /// «Закупка отменена»
    Canceled,
}

impl ChangeDecision {
    pub fn title(self) -> &'static str {
        match self {
            ChangeDecision::Changed => "Изменение закупки",
            ChangeDecision::Canceled => "Отмена закупки",
        }
    }
}

/// The justification ЕИС requires for an edited position: a reason from НСИ
/// `nsiTenderPlan2020PositionChangeReason`, the decision and a description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionChange {
    pub reason_code: String,
    pub reason_name: String,
    pub decision: ChangeDecision,
    pub description: String,
}

/// Change reasons plangraf knows (НСИ `nsiTenderPlan2020PositionChangeReason`). Only code 9 is
/// confirmed by a real ЕИС document; loading the full dictionary from ЕИС is a later step.
pub const CHANGE_REASONS: [(&str, &str); 1] = [(
    "9",
    "Возникновение иных обстоятельств, предвидеть которые при утверждении плана-графика было невозможно",
)];

/// How a position of a change round relates to the version it started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeMark {
    /// Not in the base version.
    New,
    /// Identical to the base version (ЕИС status N).
    Unchanged,
    /// Edited or cancelled (ЕИС status E).
    Edited,
}

impl ChangeMark {
    pub fn title(self) -> &'static str {
        match self {
            ChangeMark::New => "Новая",
            ChangeMark::Unchanged => "Без изменений",
            ChangeMark::Edited => "Изменена",
        }
    }
}

/// One planned purchase, as stored and as snapshotted into a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub purchase_number: PurchaseNumber,
    pub publish_year: i32,
    pub okpd2: Okpd2Code,
    /// `None` means «не определен» (several КВР, or mandatory for unitary enterprises).
    pub kvr: Option<KvrCode>,
    pub object_info: String,
    pub amounts: YearAmounts,
    /// КБК (20 characters) for organization types 01, 02 and 08.
    pub kbk: Option<String>,
    pub public_discussion: bool,
    /// The justification of an edit or a cancellation in the current change round.
    #[serde(default)]
    pub change: Option<PositionChange>,
}

impl Position {
    /// Compares with the same purchase in the base version: content differences, or a
    /// cancellation, make the position edited. The justification itself is not content.
    pub fn mark(&self, base: Option<&Position>) -> ChangeMark {
        match base {
            None => ChangeMark::New,
            Some(b) => {
                let same = Position { change: None, ..self.clone() } == Position { change: None, ..b.clone() };
                let canceled = self.change.as_ref().is_some_and(|c| c.decision == ChangeDecision::Canceled);
                if same && !canceled { ChangeMark::Unchanged } else { ChangeMark::Edited }
            }
        }
    }

    pub fn is_canceled(&self) -> bool {
        self.change.as_ref().is_some_and(|c| c.decision == ChangeDecision::Canceled)
    }

    /// One line for the audit journal: number, object, codes and money by year.
    pub fn summary(&self) -> String {
        let a = &self.amounts;
        format!(
            "№ {} «{}», ОКПД2 {}, КВР {}, год извещения {}, суммы: {} / {} / {} / последующие {}",
            self.purchase_number.padded(),
            self.object_info,
            self.okpd2.as_str(),
            self.kvr.as_ref().map(KvrCode::as_str).unwrap_or("не определен"),
            self.publish_year,
            a.current,
            a.first,
            a.second,
            a.subsequent
        )
    }

    pub fn ikz(&self, iku: &str) -> Result<String, CodeError> {
        ikz::compute(self.publish_year, iku, self.purchase_number, Some(&self.okpd2), self.kvr.as_ref())
    }
}

/// A field-level input error: which form field, and what is wrong with it, in Russian.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// What the position form sends: raw strings, parsed all at once so that every wrong field is
/// reported together.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PositionDraft {
    pub publish_year: String,
    pub okpd2: String,
    pub kvr: String,
    pub object_info: String,
    pub amount_current: String,
    pub amount_first: String,
    pub amount_second: String,
    pub amount_subsequent: String,
    #[serde(default)]
    pub kbk: String,
    #[serde(default)]
    pub public_discussion: Option<String>,
}

impl PositionDraft {
    /// Parses the draft for an organization of `org_type`; the purchase number is assigned by
    /// the caller (next free number in the plan).
    pub fn parse(&self, purchase_number: PurchaseNumber, org_type: OrgType) -> Result<Position, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut push = |field: &'static str, message: String| errors.push(FieldError { field, message });

        let publish_year = match self.publish_year.trim().parse::<i32>() {
            Ok(y) if (2020..=2099).contains(&y) => Some(y),
            _ => {
                push("publish_year", "Укажите год размещения извещения четырьмя цифрами (например, 2026)".into());
                None
            }
        };
        let okpd2 = Okpd2Code::parse(&self.okpd2).map_err(|e| push("okpd2", e.to_string())).ok();
        let kvr_input = self.kvr.trim();
        let kvr = if kvr_input.is_empty() || kvr_input == "000" {
            if org_type.uses_kvr_breakdown() {
                push("kvr", "Для бюджетных и автономных учреждений укажите КВР".into());
            }
            Some(None)
        } else if org_type.kvr_must_be_undefined() {
            push("kvr", "Для унитарного предприятия КВР должен быть «не определен»: оставьте поле пустым".into());
            None
        } else {
            KvrCode::parse(kvr_input).map(Some).map_err(|e| push("kvr", e.to_string())).ok()
        };
        let object_info = self.object_info.trim().to_owned();
        if object_info.is_empty() {
            push("object_info", "Укажите наименование объекта закупки".into());
        } else if object_info.chars().count() > 2000 {
            push("object_info", "Наименование объекта закупки длиннее 2000 символов".into());
        }
        let mut money = |field: &'static str, raw: &str| -> Option<Money> {
            if raw.trim().is_empty() {
                return Some(Money::ZERO);
            }
            Money::parse(raw).map_err(|e: MoneyError| push(field, e.to_string())).ok()
        };
        let current = money("amount_current", &self.amount_current);
        let first = money("amount_first", &self.amount_first);
        let second = money("amount_second", &self.amount_second);
        let subsequent = money("amount_subsequent", &self.amount_subsequent);
        let kbk_input = self.kbk.trim();
        let kbk = if kbk_input.is_empty() {
            None
        } else if !org_type.uses_kbk() {
            push("kbk", format!("КБК указывается только для организаций типов 01, 02 и 08, а не {}", org_type.code()));
            None
        } else if kbk_input.chars().count() != 20 || !kbk_input.chars().all(|c| c.is_ascii_alphanumeric()) {
            push("kbk", "КБК должен состоять из 20 символов (цифры и латинские буквы)".into());
            None
        } else {
            Some(kbk_input.to_owned())
        };

        match (publish_year, okpd2, kvr, current, first, second, subsequent) {
            (Some(publish_year), Some(okpd2), Some(kvr), Some(current), Some(first), Some(second), Some(subsequent))
                if errors.is_empty() =>
            {
                let amounts = YearAmounts { current, first, second, subsequent };
                if amounts.total().is_zero() {
                    return Err(vec![FieldError {
                        field: "amount_current",
                        message: "Укажите объём финансового обеспечения хотя бы на один год".into(),
                    }]);
                }
                Ok(Position {
                    purchase_number,
                    publish_year,
                    okpd2,
                    kvr,
                    object_info,
                    amounts,
                    kbk,
                    public_discussion: self.public_discussion.is_some(),
                    change: None,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The next purchase number after the ones in use (numbers are never reused inside a plan).
pub fn next_purchase_number(used: impl IntoIterator<Item = PurchaseNumber>) -> Result<PurchaseNumber, CodeError> {
    let max = used.into_iter().map(PurchaseNumber::get).max().unwrap_or(0);
    PurchaseNumber::new(u32::from(max) + 1)
}

/// The customer as a version records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSnapshot {
    pub name: String,
    pub spz_code: String,
    pub inn: String,
    pub kpp: String,
    pub org_type: OrgType,
    pub iku: String,
}

/// The immutable content of an approved version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSnapshot {
    pub plan_year: i32,
    pub customer: CustomerSnapshot,
    pub positions: Vec<Position>,
}

impl PlanSnapshot {
    /// Totals by year over the positions that are not cancelled.
    pub fn totals(&self) -> YearAmounts {
        self.positions.iter().filter(|p| !p.is_canceled()).fold(YearAmounts::default(), |acc, p| acc + p.amounts)
    }

    pub fn position(&self, n: PurchaseNumber) -> Option<&Position> {
        self.positions.iter().find(|p| p.purchase_number == n)
    }
}

/// Parses the justification fields of the edit and cancel forms.
pub fn parse_change(reason_code: &str, decision: ChangeDecision, description: &str) -> Result<PositionChange, Vec<FieldError>> {
    let mut errors = Vec::new();
    let reason = CHANGE_REASONS.iter().find(|(c, _)| *c == reason_code.trim());
    if reason.is_none() {
        errors.push(FieldError { field: "reason_code", message: "Выберите причину изменения из справочника".into() });
    }
    let description = description.trim();
    if description.is_empty() {
        errors.push(FieldError { field: "change_description", message: "Опишите изменение: ЕИС требует обоснование".into() });
    } else if description.chars().count() > 2000 {
        errors.push(FieldError { field: "change_description", message: "Обоснование длиннее 2000 символов".into() });
    }
    match reason {
        Some((code, name)) if errors.is_empty() => Ok(PositionChange {
            reason_code: (*code).to_owned(),
            reason_name: (*name).to_owned(),
            decision,
            description: description.to_owned(),
        }),
        _ => Err(errors),
    }
}

/// «Внести изменения»: the customer reopens an approved plan-schedule for a change round.
pub fn start_changes(actor: Actor, plan: PlanRef) -> Result<PlanStatus, PlanError> {
    if actor.org_id != plan.org_id {
        return Err(PlanError::ForeignOrganization);
    }
    if !actor.role.edits_plans() {
        return Err(PlanError::WrongRole { action: ACTION_CHANGE, role: actor.role.title() });
    }
    if plan.status != PlanStatus::Approved {
        return Err(PlanError::WrongState { action: ACTION_CHANGE, status: plan.status.title() });
    }
    Ok(PlanStatus::Forming)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;

    const CUSTOMER: i64 = 10;
    const SUPERIOR: i64 = 1;

    fn plan(status: PlanStatus) -> PlanRef {
        PlanRef { org_id: CUSTOMER, superior_org_id: Some(SUPERIOR), status }
    }
    fn specialist() -> Actor {
        Actor { user_id: 1, org_id: CUSTOMER, role: Role::CustomerSpecialist }
    }
    fn approver() -> Actor {
        Actor { user_id: 2, org_id: SUPERIOR, role: Role::Approver }
    }

    #[test]
    fn happy_path() {
        assert_eq!(submit(specialist(), plan(PlanStatus::Forming), 0), Ok(PlanStatus::OnApproval));
        assert_eq!(approve(approver(), plan(PlanStatus::OnApproval), 0), Ok(PlanStatus::Approved));
        assert_eq!(return_for_revision(approver(), plan(PlanStatus::OnApproval), "Нет КБК"), Ok(PlanStatus::Revision));
        assert_eq!(submit(specialist(), plan(PlanStatus::Revision), 0), Ok(PlanStatus::OnApproval));
    }

    #[test]
    fn forbidden_transitions() {
        let stranger = Actor { user_id: 3, org_id: 99, role: Role::CustomerSpecialist };
        assert_eq!(submit(stranger, plan(PlanStatus::Forming), 0), Err(PlanError::ForeignOrganization));
        assert!(matches!(submit(specialist(), plan(PlanStatus::OnApproval), 0), Err(PlanError::WrongState { .. })));
        assert!(matches!(submit(specialist(), plan(PlanStatus::Approved), 0), Err(PlanError::WrongState { .. })));
        assert_eq!(submit(specialist(), plan(PlanStatus::Forming), 2), Err(PlanError::ChecksFailed(2)));
        let own_approver = Actor { user_id: 4, org_id: CUSTOMER, role: Role::Approver };
        assert_eq!(approve(own_approver, plan(PlanStatus::OnApproval), 0), Err(PlanError::OwnOrganization));
        let other_superior = Actor { user_id: 5, org_id: 77, role: Role::Approver };
        assert_eq!(approve(other_superior, plan(PlanStatus::OnApproval), 0), Err(PlanError::NotSuperior));
        let superior_specialist = Actor { user_id: 6, org_id: SUPERIOR, role: Role::CustomerSpecialist };
        assert!(matches!(approve(superior_specialist, plan(PlanStatus::OnApproval), 0), Err(PlanError::WrongRole { .. })));
        assert!(matches!(approve(approver(), plan(PlanStatus::Forming), 0), Err(PlanError::WrongState { .. })));
        assert_eq!(return_for_revision(approver(), plan(PlanStatus::OnApproval), "  "), Err(PlanError::EmptyComment));
        assert!(matches!(check_edit(approver(), plan(PlanStatus::Forming)), Err(PlanError::ForeignOrganization)));
        assert!(matches!(check_edit(specialist(), plan(PlanStatus::Approved)), Err(PlanError::WrongState { .. })));
    }

    #[test]
    fn read_access() {
        assert!(can_read(specialist(), plan(PlanStatus::Forming)));
        assert!(can_read(approver(), plan(PlanStatus::Forming)));
        assert!(!can_read(Actor { user_id: 9, org_id: 55, role: Role::Approver }, plan(PlanStatus::Forming)));
    }

    fn draft() -> PositionDraft {
        PositionDraft {
            publish_year: "2026".into(),
            okpd2: "38.11.21.000".into(),
            kvr: "244".into(),
            object_info: "Услуги по обращению с ТКО".into(),
            amount_current: "100 000,00".into(),
            ..Default::default()
        }
    }

    #[test]
    fn draft_parses() {
        let p = draft().parse(PurchaseNumber::new(1).unwrap(), OrgType::Budget).unwrap();
        assert_eq!(p.amounts.total().canonical(), "100000.00");
        assert_eq!(p.ikz("27802139698780201001").unwrap(), "262780213969878020100100010003811244");
    }

    #[test]
    fn draft_reports_every_bad_field() {
        let bad = PositionDraft {
            publish_year: "26".into(),
            okpd2: "3".into(),
            kvr: "24".into(),
            object_info: " ".into(),
            amount_current: "сто".into(),
            ..Default::default()
        };
        let errs = bad.parse(PurchaseNumber::new(1).unwrap(), OrgType::Authority).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["publish_year", "okpd2", "kvr", "object_info", "amount_current"]);
    }

    #[test]
    fn draft_org_type_rules() {
        let mut d = draft();
        d.kvr = String::new();
        assert_eq!(d.parse(PurchaseNumber::new(1).unwrap(), OrgType::Budget).unwrap_err()[0].field, "kvr");
        assert_eq!(draft().parse(PurchaseNumber::new(1).unwrap(), OrgType::Unitary).unwrap_err()[0].field, "kvr");
        let mut d = draft();
        d.kbk = "07507021234567890244".into();
        assert_eq!(d.parse(PurchaseNumber::new(1).unwrap(), OrgType::Budget).unwrap_err()[0].field, "kbk");
        assert!(d.parse(PurchaseNumber::new(1).unwrap(), OrgType::Authority).is_ok());
        let mut d = draft();
        d.amount_current = String::new();
        assert_eq!(d.parse(PurchaseNumber::new(1).unwrap(), OrgType::Authority).unwrap_err()[0].field, "amount_current");
    }

    #[test]
    fn change_marks() {
        let base = draft().parse(PurchaseNumber::new(1).unwrap(), OrgType::Budget).unwrap();
        assert_eq!(base.mark(None), ChangeMark::New);
        assert_eq!(base.mark(Some(&base)), ChangeMark::Unchanged);
        let mut edited = base.clone();
        edited.amounts.first = Money::parse("5").unwrap();
        assert_eq!(edited.mark(Some(&base)), ChangeMark::Edited);
        let mut justified_only = base.clone();
        justified_only.change = Some(parse_change("9", ChangeDecision::Changed, "Уточнение").unwrap());
        assert_eq!(justified_only.mark(Some(&base)), ChangeMark::Unchanged, "a reason alone changes nothing");
        let mut canceled = base.clone();
        canceled.change = Some(parse_change("9", ChangeDecision::Canceled, "Закупка не нужна").unwrap());
        assert_eq!(canceled.mark(Some(&base)), ChangeMark::Edited);
        assert!(canceled.is_canceled());
    }

    #[test]
    fn change_justification_is_required() {
        let errs = parse_change("77", ChangeDecision::Changed, " ").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["reason_code", "change_description"]);
    }

    #[test]
    fn changes_start_from_an_approved_plan_only() {
        assert_eq!(start_changes(specialist(), plan(PlanStatus::Approved)), Ok(PlanStatus::Forming));
        assert!(matches!(start_changes(specialist(), plan(PlanStatus::Forming)), Err(PlanError::WrongState { .. })));
        assert!(matches!(start_changes(approver(), plan(PlanStatus::Approved)), Err(PlanError::ForeignOrganization)));
    }

    #[test]
    fn purchase_numbers_continue() {
        let used = [PurchaseNumber::new(1).unwrap(), PurchaseNumber::new(3).unwrap()];
        assert_eq!(next_purchase_number(used).unwrap().get(), 4);
        assert_eq!(next_purchase_number([]).unwrap().get(), 1);
    }
}
