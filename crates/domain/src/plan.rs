//! Plan-schedules: the approval state machine, positions and the immutable version snapshot.

use crate::ids::{OrgId, UserId};
use crate::ikz::{Iku, PurchaseNumber};
use crate::org::{Inn, Kpp, OrgType, SpzCode};
pub use crate::position::{
    BudgetLine, ChangeDecision, ChangeMark, FieldError, LineDraft, Position, PositionChange, PositionDraft,
    SpecialPurchase, YearAmounts, next_purchase_number, parse_change,
};
use crate::role::{Role, Roles};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// State of a plan-schedule's working copy (PRODUCT.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanStatus {
    Forming,
    OnApproval,
    Approved,
    Revision,
    /// Created in ЕИС, not from plangraf, and brought in by «Загрузить из ЕИС»: read-only, as
    /// ЕИС accepts no plan from a regional system for that period (seed 004).
    KeptInEis,
}

impl PlanStatus {
    pub const ALL: [PlanStatus; 5] = [
        PlanStatus::Forming,
        PlanStatus::OnApproval,
        PlanStatus::Approved,
        PlanStatus::Revision,
        PlanStatus::KeptInEis,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PlanStatus::Forming => "forming",
            PlanStatus::OnApproval => "on_approval",
            PlanStatus::Approved => "approved",
            PlanStatus::Revision => "revision",
            PlanStatus::KeptInEis => "kept_in_eis",
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
            PlanStatus::KeptInEis => "Ведётся в ЕИС",
        }
    }

    /// Positions can be changed only while the customer holds the working copy.
    pub fn editable(self) -> bool {
        matches!(self, PlanStatus::Forming | PlanStatus::Revision)
    }
}

/// Who acts: the signed-in user's organization and the roles he holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub roles: Roles,
}

/// What the state machine needs to know about a plan-schedule and its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanRef {
    pub org_id: OrgId,
    pub superior_org_id: Option<OrgId>,
    pub status: PlanStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    #[error("План-график принадлежит другой организации")]
    ForeignOrganization,
    /// The actor holds no role that allows the action; `needed` is the title of one that does.
    #[error("Действие «{action}» доступно только с ролью «{needed}»")]
    WrongRole { action: &'static str, needed: &'static str },
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
pub const ACTION_TAKE_FROM_EIS: &str = "Загрузить из ЕИС";

/// How the journal records each action (past tense).
pub const JOURNAL_SUBMITTED: &str = "Отправлен на согласование";
pub const JOURNAL_RETURNED: &str = "Возвращен на доработку";
pub const JOURNAL_CHANGES: &str = "Начаты изменения";

fn customer_action(actor: Actor, plan: PlanRef, action: &'static str) -> Result<(), PlanError> {
    if actor.org_id != plan.org_id {
        return Err(PlanError::ForeignOrganization);
    }
    if !actor.roles.edits_plans() {
        return Err(PlanError::WrongRole { action, needed: Role::CustomerSpecialist.title() });
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
    if !actor.roles.approves_plans() {
        return Err(PlanError::WrongRole { action, needed: Role::Approver.title() });
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

/// What an actor may do with a plan-schedule in its current state, from the same rules as the
/// transitions (the content checks aside: they come with the attempt). Pages show their buttons
/// by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    pub read: bool,
    /// Change the working copy and its header.
    pub edit: bool,
    /// «Отправить на согласование».
    pub submit: bool,
    /// «Утвердить» and «Вернуть на доработку».
    pub decide: bool,
    /// «Внести изменения».
    pub start_changes: bool,
    /// Send its versions to ЕИС (see `domain::exchange::check_sender`).
    pub send: bool,
}

impl Permissions {
    pub fn of(actor: Actor, plan: PlanRef, owner_role: OwnerRole) -> Permissions {
        let read = can_read(actor, plan);
        Permissions {
            read,
            edit: read && check_edit(actor, plan).is_ok(),
            submit: read && customer_action(actor, plan, ACTION_SUBMIT).is_ok(),
            decide: read && approver_action(actor, plan, ACTION_APPROVE).is_ok(),
            start_changes: read && start_changes(actor, plan).is_ok(),
            send: read && crate::exchange::check_sender(actor, plan, owner_role).is_ok(),
        }
    }
}

/// Who places the plan-schedule in ЕИС (`commonInfo/ownerInfo/ownerRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OwnerRole {
    /// `CU`: the customer itself.
    #[default]
    Customer,
    /// `OA`: the superior organization, acting for the customer under an agreement.
    Agent,
}

impl OwnerRole {
    pub fn code(self) -> &'static str {
        match self {
            OwnerRole::Customer => "CU",
            OwnerRole::Agent => "OA",
        }
    }
    pub fn from_code(code: &str) -> Option<OwnerRole> {
        match code {
            "CU" => Some(OwnerRole::Customer),
            "OA" => Some(OwnerRole::Agent),
            _ => None,
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            OwnerRole::Customer => "Заказчик (CU)",
            OwnerRole::Agent => "Вышестоящая организация по соглашению (OA)",
        }
    }
}

/// The organization that places the plan for the customer (role OA), as a version records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSnapshot {
    pub name: String,
    pub spz_code: SpzCode,
    /// The agent's ИКУ: ЕИС takes the ИКУ in a position's ИКЗ from the owner of the version.
    /// `None` (stored as `""`) when its INN and KPP cannot form one.
    #[serde(with = "crate::ikz::iku_or_empty")]
    pub iku: Option<Iku>,
}

/// The person responsible for the plan-schedule («ответственный исполнитель»), shown on the
/// plan and its printed form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResponsiblePerson {
    pub last_name: String,
    pub first_name: String,
    pub middle_name: String,
    pub position: String,
    pub phone: String,
}

impl ResponsiblePerson {
    /// Checks what the header form sends; every wrong field is reported.
    pub fn parse(raw: &ResponsiblePerson) -> Result<ResponsiblePerson, Vec<FieldError>> {
        let mut errors = Vec::new();
        let t = |s: &str| s.trim().to_owned();
        let p = ResponsiblePerson {
            last_name: t(&raw.last_name),
            first_name: t(&raw.first_name),
            middle_name: t(&raw.middle_name),
            position: t(&raw.position),
            phone: t(&raw.phone),
        };
        for (field, value, what) in [
            ("responsible_last_name", &p.last_name, "фамилию"),
            ("responsible_first_name", &p.first_name, "имя"),
            ("responsible_position", &p.position, "должность"),
        ] {
            if value.is_empty() {
                errors.push(FieldError {
                    field, message: format!("Укажите {what} ответственного исполнителя")
                });
            } else if value.chars().count() > 200 {
                errors.push(FieldError { field, message: "Не длиннее 200 символов".into() });
            }
        }
        if p.middle_name.chars().count() > 200 {
            errors.push(FieldError {
                field: "responsible_middle_name", message: "Не длиннее 200 символов".into()
            });
        }
        let digits = p.phone.chars().filter(char::is_ascii_digit).count();
        let phone_chars = p.phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
        if !p.phone.is_empty() && (!phone_chars || !(5..=15).contains(&digits)) {
            errors.push(FieldError {
                field: "responsible_phone",
                message: "Телефон: от 5 до 15 цифр, допустимы пробелы, +, - и скобки".into(),
            });
        }
        if errors.is_empty() { Ok(p) } else { Err(errors) }
    }

    /// «Петрова Анна Сергеевна, контрактный управляющий, тел. …»
    pub fn display(&self) -> String {
        let name = [&self.last_name, &self.first_name, &self.middle_name]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let phone = if self.phone.is_empty() { String::new() } else { format!(", тел. {}", self.phone) };
        format!("{name}, {}{phone}", self.position)
    }
}

/// The customer as a version records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSnapshot {
    pub name: String,
    pub spz_code: SpzCode,
    pub inn: Inn,
    pub kpp: Kpp,
    pub org_type: OrgType,
    /// `None` (stored as `""`) when INN and KPP cannot form an ИКУ (a 12-digit INN, a KPP
    /// with letters); the pre-flight checks then refuse the plan.
    #[serde(with = "crate::ikz::iku_or_empty")]
    pub iku: Option<Iku>,
}

/// The immutable content of an approved version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSnapshot {
    pub plan_year: i32,
    pub customer: CustomerSnapshot,
    /// `Some` when the superior organization places the plan for the customer (role OA).
    #[serde(default)]
    pub agent: Option<AgentSnapshot>,
    #[serde(default)]
    pub responsible: Option<ResponsiblePerson>,
    pub positions: Vec<Position>,
}

impl PlanSnapshot {
    /// The ИКУ that goes into every ИКЗ: the owner's of the version (the customer, or the
    /// agent for role OA), as ЕИС checks it.
    pub fn owner_iku(&self) -> Option<&Iku> {
        match &self.agent {
            Some(a) => a.iku.as_ref(),
            None => self.customer.iku.as_ref(),
        }
    }

    /// Totals by year over the positions that are not cancelled.
    pub fn totals(&self) -> YearAmounts {
        self.positions.iter().filter(|p| !p.is_canceled()).fold(YearAmounts::default(), |acc, p| acc + p.amounts)
    }

    /// The positions by purchase number: one pass, so that comparing two versions of
    /// thousands of positions stays linear rather than scanning one list per position.
    pub fn index(&self) -> PositionIndex<'_> {
        PositionIndex(self.positions.iter().rev().map(|p| (p.purchase_number, p)).collect())
    }
}

/// A snapshot's positions by purchase number (see [`PlanSnapshot::index`]). Should a number
/// repeat, which the pre-flight rules refuse, the first position holding it answers.
pub struct PositionIndex<'a>(std::collections::HashMap<PurchaseNumber, &'a Position>);

impl<'a> PositionIndex<'a> {
    pub fn get(&self, n: PurchaseNumber) -> Option<&'a Position> {
        self.0.get(&n).copied()
    }

    pub fn contains(&self, n: PurchaseNumber) -> bool {
        self.0.contains_key(&n)
    }
}

/// «Внести изменения»: the customer reopens an approved plan-schedule for a change round.
/// «Загрузить из ЕИС» into the organization's plan for a period (`None`: there is none yet).
/// Allowed to the customer's specialists while the working copy holds nothing that is not in
/// an approved version: no plan yet, an approved one, one already kept in ЕИС (a refresh), or
/// one being formed that has no positions. The caller checks the positions.
pub fn take_from_eis(actor: Actor, plan: Option<PlanRef>) -> Result<(), PlanError> {
    if !actor.roles.edits_plans() {
        return Err(PlanError::WrongRole { action: ACTION_TAKE_FROM_EIS, needed: Role::CustomerSpecialist.title() });
    }
    let Some(plan) = plan else { return Ok(()) };
    if actor.org_id != plan.org_id {
        return Err(PlanError::ForeignOrganization);
    }
    match plan.status {
        PlanStatus::OnApproval => {
            Err(PlanError::WrongState { action: ACTION_TAKE_FROM_EIS, status: plan.status.title() })
        }
        _ => Ok(()),
    }
}

pub fn start_changes(actor: Actor, plan: PlanRef) -> Result<PlanStatus, PlanError> {
    if actor.org_id != plan.org_id {
        return Err(PlanError::ForeignOrganization);
    }
    if !actor.roles.edits_plans() {
        return Err(PlanError::WrongRole { action: ACTION_CHANGE, needed: Role::CustomerSpecialist.title() });
    }
    if plan.status != PlanStatus::Approved {
        return Err(PlanError::WrongState { action: ACTION_CHANGE, status: plan.status.title() });
    }
    Ok(PlanStatus::Forming)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrgId, UserId};

    const CUSTOMER: OrgId = OrgId(10);
    const SUPERIOR: OrgId = OrgId(1);

    fn plan(status: PlanStatus) -> PlanRef {
        PlanRef { org_id: CUSTOMER, superior_org_id: Some(SUPERIOR), status }
    }
    fn specialist() -> Actor {
        Actor { user_id: UserId(1), org_id: CUSTOMER, roles: Roles::one(Role::CustomerSpecialist) }
    }

    #[test]
    fn the_index_finds_each_number_and_the_first_of_a_repeated_one() {
        let mut repeated = crate::testing::position(2, "300");
        repeated.object_info = "повтор".into();
        let snapshot = crate::testing::plan(
            crate::org::OrgType::Budget,
            vec![crate::testing::position(1, "100"), crate::testing::position(2, "200"), repeated],
        );
        let index = snapshot.index();
        let number = |n: u32| PurchaseNumber::try_from(n).expect("valid");
        assert_eq!(index.get(number(1)), Some(&snapshot.positions[0]));
        assert_eq!(index.get(number(2)), Some(&snapshot.positions[1]));
        assert!(index.contains(number(2)));
        assert_eq!(index.get(number(3)), None);
        assert!(!index.contains(number(3)));
    }
    fn approver() -> Actor {
        Actor { user_id: UserId(2), org_id: SUPERIOR, roles: Roles::one(Role::Approver) }
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
        let stranger = Actor { user_id: UserId(3), org_id: OrgId(99), roles: Roles::one(Role::CustomerSpecialist) };
        assert_eq!(submit(stranger, plan(PlanStatus::Forming), 0), Err(PlanError::ForeignOrganization));
        assert!(matches!(submit(specialist(), plan(PlanStatus::OnApproval), 0), Err(PlanError::WrongState { .. })));
        assert!(matches!(submit(specialist(), plan(PlanStatus::Approved), 0), Err(PlanError::WrongState { .. })));
        assert_eq!(submit(specialist(), plan(PlanStatus::Forming), 2), Err(PlanError::ChecksFailed(2)));
        let own_approver = Actor { user_id: UserId(4), org_id: CUSTOMER, roles: Roles::one(Role::Approver) };
        assert_eq!(approve(own_approver, plan(PlanStatus::OnApproval), 0), Err(PlanError::OwnOrganization));
        let other_superior = Actor { user_id: UserId(5), org_id: OrgId(77), roles: Roles::one(Role::Approver) };
        assert_eq!(approve(other_superior, plan(PlanStatus::OnApproval), 0), Err(PlanError::NotSuperior));
        let superior_specialist =
            Actor { user_id: UserId(6), org_id: SUPERIOR, roles: Roles::one(Role::CustomerSpecialist) };
        assert!(matches!(
            approve(superior_specialist, plan(PlanStatus::OnApproval), 0),
            Err(PlanError::WrongRole { .. })
        ));
        assert!(matches!(approve(approver(), plan(PlanStatus::Forming), 0), Err(PlanError::WrongState { .. })));
        assert_eq!(return_for_revision(approver(), plan(PlanStatus::OnApproval), "  "), Err(PlanError::EmptyComment));
        assert!(matches!(check_edit(approver(), plan(PlanStatus::Forming)), Err(PlanError::ForeignOrganization)));
        assert!(matches!(check_edit(specialist(), plan(PlanStatus::Approved)), Err(PlanError::WrongState { .. })));
    }

    #[test]
    fn permissions_follow_the_transitions() {
        let p = |actor, status, role| Permissions::of(actor, plan(status), role);
        let forming = p(specialist(), PlanStatus::Forming, OwnerRole::Customer);
        assert!(forming.read && forming.edit && forming.submit && forming.send);
        assert!(!forming.decide && !forming.start_changes);
        let deciding = p(approver(), PlanStatus::OnApproval, OwnerRole::Customer);
        assert!(deciding.read && deciding.decide && !deciding.edit && !deciding.submit && !deciding.send);
        assert!(!p(approver(), PlanStatus::Forming, OwnerRole::Customer).decide);
        let approved = p(specialist(), PlanStatus::Approved, OwnerRole::Customer);
        assert!(approved.start_changes && !approved.edit && !approved.submit);
        // Under an agreement the superior's specialist sends; the customer no longer does.
        assert!(!p(specialist(), PlanStatus::Approved, OwnerRole::Agent).send);
        let superior_specialist =
            Actor { user_id: UserId(6), org_id: SUPERIOR, roles: Roles::one(Role::CustomerSpecialist) };
        assert!(p(superior_specialist, PlanStatus::Approved, OwnerRole::Agent).send);
        let stranger = p(
            Actor { user_id: UserId(9), org_id: OrgId(55), roles: Roles::one(Role::Approver) },
            PlanStatus::OnApproval,
            OwnerRole::Agent,
        );
        assert_eq!(
            stranger,
            Permissions { read: false, edit: false, submit: false, decide: false, start_changes: false, send: false }
        );
    }

    #[test]
    fn read_access() {
        assert!(can_read(specialist(), plan(PlanStatus::Forming)));
        assert!(can_read(approver(), plan(PlanStatus::Forming)));
        assert!(!can_read(
            Actor { user_id: UserId(9), org_id: OrgId(55), roles: Roles::one(Role::Approver) },
            plan(PlanStatus::Forming)
        ));
    }

    /// One person holding both roles in a superior organization that has plans of its own:
    /// each role works where it applies, and neither lets him approve his own organization's plan.
    #[test]
    fn a_specialist_who_also_approves() {
        let both = Actor {
            user_id: UserId(7),
            org_id: SUPERIOR,
            roles: Roles::new([Role::CustomerSpecialist, Role::Approver]).unwrap(),
        };
        let own = |status| PlanRef { org_id: SUPERIOR, superior_org_id: Some(OrgId(0)), status };
        assert_eq!(submit(both, own(PlanStatus::Forming), 0), Ok(PlanStatus::OnApproval));
        assert_eq!(approve(both, own(PlanStatus::OnApproval), 0), Err(PlanError::OwnOrganization));
        assert_eq!(return_for_revision(both, own(PlanStatus::OnApproval), "x"), Err(PlanError::OwnOrganization));
        let on_own = Permissions::of(both, own(PlanStatus::OnApproval), OwnerRole::Customer);
        assert!(on_own.read && !on_own.decide && !on_own.edit);
        let top_level = PlanRef { org_id: SUPERIOR, superior_org_id: None, status: PlanStatus::OnApproval };
        assert_eq!(approve(both, top_level, 0), Err(PlanError::OwnOrganization));
        // The subordinate's plan: he decides on it, and does not edit it.
        assert_eq!(approve(both, plan(PlanStatus::OnApproval), 0), Ok(PlanStatus::Approved));
        let on_subordinate = Permissions::of(both, plan(PlanStatus::OnApproval), OwnerRole::Customer);
        assert!(on_subordinate.decide && !on_subordinate.edit && !on_subordinate.submit);
        assert_eq!(check_edit(both, plan(PlanStatus::Forming)), Err(PlanError::ForeignOrganization));
        assert_eq!(
            approve(specialist(), plan(PlanStatus::OnApproval), 0),
            Err(PlanError::OwnOrganization),
            "the customer's specialist is never the approver of his plan"
        );
        let wrong = approve(
            Actor { user_id: UserId(8), org_id: SUPERIOR, roles: Roles::one(Role::Admin) },
            plan(PlanStatus::OnApproval),
            0,
        );
        assert_eq!(wrong, Err(PlanError::WrongRole { action: ACTION_APPROVE, needed: "Согласующий" }));
    }

    #[test]
    fn changes_start_from_an_approved_plan_only() {
        assert_eq!(start_changes(specialist(), plan(PlanStatus::Approved)), Ok(PlanStatus::Forming));
        assert!(matches!(start_changes(specialist(), plan(PlanStatus::Forming)), Err(PlanError::WrongState { .. })));
        assert!(matches!(start_changes(approver(), plan(PlanStatus::Approved)), Err(PlanError::ForeignOrganization)));
    }
}
