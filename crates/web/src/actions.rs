//! What the plan pages and the JSON API both do to a plan-schedule: load what the caller may
//! change, let `domain` decide, and persist through `store`. One implementation, so a rule
//! cannot hold on one side and be missed on the other; each caller only presents the outcome
//! (a page or a JSON document).

use crate::AppState;
use crate::access::{actor, plan_ref, readable_plan};
use crate::error::{AppError, AppResult};
use crate::pages::plans::findings;
use crate::pages::position_form::parse_draft;
use domain::plan::{self, ChangeDecision, FieldError, PlanError, PlanSnapshot, Position, PositionDraft};
use store::orgs::Organization;
use store::plans::{Plan, StoredPosition, Version};
use store::users::User;

/// Creates the caller's plan-schedule for a year typed as text; `Ok(Err(message))` when the
/// year is not valid or the plan exists already.
pub async fn create_plan(state: &AppState, user: &User, year: &str) -> AppResult<Result<Plan, CreateRefusal>> {
    if !user.role.edits_plans() {
        return Err(AppError::Forbidden("Создавать планы-графики может только специалист заказчика".into()));
    }
    let year = match year.trim().parse::<i32>() {
        Ok(y) if (2020..=2099).contains(&y) => y,
        _ => return Ok(Err(CreateRefusal::Year)),
    };
    Ok(state.store.create_plan(user.org_id, year, user.id).await?.ok_or(CreateRefusal::Exists(year)))
}

pub enum CreateRefusal {
    Year,
    Exists(i32),
}

impl std::fmt::Display for CreateRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreateRefusal::Year => write!(f, "Укажите год плана-графика четырьмя цифрами"),
            CreateRefusal::Exists(year) => {
                write!(f, "План-график вашей организации на {year} год уже существует. Откройте его в списке.")
            }
        }
    }
}

/// A plan-schedule the caller may change (own organization, editing role, editable state), or
/// the rule that forbids it.
pub async fn plan_for_edit(
    state: &AppState,
    user: &User,
    plan_id: i64,
) -> AppResult<Result<(Plan, Organization), PlanError>> {
    let (plan, owner) = readable_plan(state, user, plan_id).await?;
    Ok(plan::check_edit(actor(user), plan_ref(&plan, &owner)).map(|()| (plan, owner)))
}

/// [`plan_for_edit`] for the pages, where every refusal is a «доступ запрещён».
pub async fn editable_plan(state: &AppState, user: &User, plan_id: i64) -> AppResult<(Plan, Organization)> {
    plan_for_edit(state, user, plan_id).await?.map_err(|e| AppError::Forbidden(e.to_string()))
}

/// The working copy as it would be approved, and how many pre-flight findings (the schema
/// check included) block it.
async fn checked_snapshot(state: &AppState, plan: &Plan, owner: &Organization) -> AppResult<(PlanSnapshot, usize)> {
    let (snapshot, found) = findings(state, plan, owner).await?;
    Ok((snapshot, found.len()))
}

/// «Отправить на согласование».
pub async fn submit(state: &AppState, user: &User, plan_id: i64) -> AppResult<Result<(), PlanError>> {
    let (plan, owner) = readable_plan(state, user, plan_id).await?;
    let (_, errors) = checked_snapshot(state, &plan, &owner).await?;
    match plan::submit(actor(user), plan_ref(&plan, &owner), errors) {
        Ok(to) => {
            state.store.change_plan_status(&plan, plan.status, to, None, user.id, plan::JOURNAL_SUBMITTED).await?;
            Ok(Ok(()))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// «Утвердить»: the plan becomes approved and its next version is recorded with its packet
/// (see `exchange::Exchange::approve`). A concurrent change, or a packet the schemas reject
/// after all, is a conflict.
pub async fn approve(state: &AppState, user: &User, plan_id: i64) -> AppResult<Result<Version, PlanError>> {
    let (plan, owner) = readable_plan(state, user, plan_id).await?;
    let (snapshot, errors) = checked_snapshot(state, &plan, &owner).await?;
    match plan::approve(actor(user), plan_ref(&plan, &owner), errors) {
        Ok(_) => match state.exchange.approve(&plan, &snapshot, user.id).await {
            Ok(version) => Ok(Ok(version)),
            Err(exchange::RequestError::Store(store::StoreError::Conflict)) => {
                Err(AppError::Conflict("План-график изменён другим пользователем: откройте его и проверьте".into()))
            }
            Err(exchange::RequestError::Refused(why)) => Err(AppError::Conflict(why)),
            Err(exchange::RequestError::Store(e)) => Err(e.into()),
        },
        Err(e) => Ok(Err(e)),
    }
}

/// «Вернуть на доработку» with the comment the customer will see.
pub async fn return_for_revision(
    state: &AppState,
    user: &User,
    plan_id: i64,
    comment: &str,
) -> AppResult<Result<(), PlanError>> {
    let (plan, owner) = readable_plan(state, user, plan_id).await?;
    let comment = comment.trim();
    match plan::return_for_revision(actor(user), plan_ref(&plan, &owner), comment) {
        Ok(to) => {
            state
                .store
                .change_plan_status(&plan, plan.status, to, Some(comment), user.id, plan::JOURNAL_RETURNED)
                .await?;
            Ok(Ok(()))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// «Внести изменения»
pub async fn start_changes(state: &AppState, user: &User, plan_id: i64) -> AppResult<Result<(), PlanError>> {
    let (plan, owner) = readable_plan(state, user, plan_id).await?;
    match plan::start_changes(actor(user), plan_ref(&plan, &owner)) {
        Ok(_) => {
            state.store.start_changes(&plan, user.id).await?;
            Ok(Ok(()))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// A new position of an editable plan: the next free purchase number and the draft parsed with
/// НСИ. The caller stores it with the row version it read.
pub async fn new_position(
    state: &AppState,
    plan: &Plan,
    owner: &Organization,
    draft: &PositionDraft,
) -> AppResult<Result<Position, Vec<FieldError>>> {
    let used = state.store.positions(plan.id).await?.into_iter().map(|p| p.position.purchase_number);
    let number = plan::next_purchase_number(used).map_err(|e| AppError::BadRequest(e.to_string()))?;
    parse_draft(state, draft, number, owner.org_type).await
}

/// A position of an editable plan, and whether it belongs to the latest approved version
/// (then it can only be edited or cancelled with a justification, never deleted).
pub struct EditablePosition {
    pub plan: Plan,
    pub owner: Organization,
    pub stored: StoredPosition,
    pub in_base: bool,
    /// Number of the latest approved version, 0 when there is none.
    pub base_version: i64,
}

pub async fn editable_position(
    state: &AppState,
    user: &User,
    plan_id: i64,
    position_id: i64,
) -> AppResult<EditablePosition> {
    let (plan, owner) = editable_plan(state, user, plan_id).await?;
    position_of(state, plan, owner, position_id).await
}

/// One position of a plan the caller may change (see [`plan_for_edit`]).
pub async fn position_of(
    state: &AppState,
    plan: Plan,
    owner: Organization,
    position_id: i64,
) -> AppResult<EditablePosition> {
    let stored =
        state.store.positions(plan.id).await?.into_iter().find(|p| p.id == position_id).ok_or(AppError::NotFound)?;
    let versions = state.store.versions(plan.id).await?;
    let base = versions.first();
    let in_base = base.and_then(|b| b.snapshot.position(stored.position.purchase_number)).is_some();
    Ok(EditablePosition { plan, owner, stored, in_base, base_version: base.map(|b| b.version_number).unwrap_or(0) })
}

/// The edited position: the draft parsed under its purchase number and, for a position of the
/// approved version, the justification. Every field error is reported at once.
pub async fn edited_position(
    state: &AppState,
    l: &EditablePosition,
    draft: &PositionDraft,
    reason_code: &str,
    change_description: &str,
) -> AppResult<Result<Position, Vec<FieldError>>> {
    let parsed = parse_draft(state, draft, l.stored.position.purchase_number, l.owner.org_type).await?;
    let change = if l.in_base {
        let reason = crate::refs::change_reason_name(state, reason_code).await?;
        Some(plan::parse_change(reason_code, reason.as_deref(), ChangeDecision::Changed, change_description))
    } else {
        None
    };
    let mut field_errors = parsed.as_ref().err().cloned().unwrap_or_default();
    if let Some(Err(e)) = &change {
        field_errors.extend(e.iter().cloned());
    }
    match parsed {
        Ok(mut position) if field_errors.is_empty() => {
            position.change = change.and_then(Result::ok);
            Ok(Ok(position))
        }
        _ => Ok(Err(field_errors)),
    }
}

pub const CANCEL_NEW: &str = "Отменить можно только закупку из утвержденной версии; новую позицию просто удалите";

/// The cancelled position: only a purchase of the approved version, with its justification.
pub async fn canceled_position(
    state: &AppState,
    l: &EditablePosition,
    reason_code: &str,
    change_description: &str,
) -> AppResult<Result<Position, Vec<FieldError>>> {
    if !l.in_base {
        return Err(AppError::BadRequest(CANCEL_NEW.into()));
    }
    let reason = crate::refs::change_reason_name(state, reason_code).await?;
    Ok(plan::parse_change(reason_code, reason.as_deref(), ChangeDecision::Canceled, change_description).map(|change| {
        let mut position = l.stored.position.clone();
        position.change = Some(change);
        position
    }))
}

pub const DELETE_BASE: &str =
    "Позицию утвержденной версии нельзя удалить: откройте её и отмените закупку с обоснованием.";

/// Deletes a position that is not in the approved version; `Ok(Err(message))` when it is.
pub async fn delete_position(
    state: &AppState,
    user: &User,
    l: &EditablePosition,
    row_version: i64,
) -> AppResult<Result<(), &'static str>> {
    if l.in_base {
        return Ok(Err(DELETE_BASE));
    }
    state.store.delete_position(&l.plan, row_version, l.stored.id, user.id).await?;
    Ok(Ok(()))
}

/// Why a change of the plan's header was not made.
pub enum HeaderRefusal {
    /// The plan cannot be changed by the caller now.
    Plan(PlanError),
    /// Input errors, per field.
    Fields(Vec<FieldError>),
    /// Another writer changed the plan since the caller read it.
    Stale,
}

fn header_write(result: store::Result<()>) -> AppResult<Result<(), HeaderRefusal>> {
    match result {
        Ok(()) => Ok(Ok(())),
        Err(store::StoreError::Conflict) => Ok(Err(HeaderRefusal::Stale)),
        Err(e) => Err(e.into()),
    }
}

/// Who places the plan in ЕИС: `CU` (the customer) or `OA` (its superior under an agreement).
pub async fn set_owner_role(
    state: &AppState,
    user: &User,
    plan_id: i64,
    code: &str,
    row_version: i64,
) -> AppResult<Result<(), HeaderRefusal>> {
    let (plan, owner) = match plan_for_edit(state, user, plan_id).await? {
        Ok(found) => found,
        Err(e) => return Ok(Err(HeaderRefusal::Plan(e))),
    };
    let field = |message: &str| {
        Ok(Err(HeaderRefusal::Fields(vec![FieldError { field: "owner_role", message: message.into() }])))
    };
    let Some(role) = plan::OwnerRole::from_code(code.trim()) else {
        return field(
            "Выберите, кто размещает план-график в ЕИС: CU (заказчик) или OA (вышестоящая организация по соглашению)",
        );
    };
    if role == plan::OwnerRole::Agent && owner.superior_id.is_none() {
        return field(
            "У организации нет вышестоящей организации, которая могла бы размещать план-график по соглашению",
        );
    }
    header_write(state.store.set_owner_role(&plan, row_version, role, user.id).await)
}

/// «Ответственный исполнитель» of the plan.
pub async fn set_responsible(
    state: &AppState,
    user: &User,
    plan_id: i64,
    raw: &plan::ResponsiblePerson,
    row_version: i64,
) -> AppResult<Result<(), HeaderRefusal>> {
    let plan = match plan_for_edit(state, user, plan_id).await? {
        Ok((plan, _)) => plan,
        Err(e) => return Ok(Err(HeaderRefusal::Plan(e))),
    };
    let person = match plan::ResponsiblePerson::parse(raw) {
        Ok(p) => p,
        Err(errors) => return Ok(Err(HeaderRefusal::Fields(errors))),
    };
    header_write(state.store.set_responsible(&plan, row_version, &person, user.id).await)
}
