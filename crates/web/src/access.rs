//! Access control in one place: every page and API handler loads plan-schedules and versions
//! through these functions, which check the caller's organization and role. A document the
//! caller may not read answers «не найдено», so its existence does not leak.

use crate::AppState;
use crate::error::{AppError, AppResult};
use domain::plan::{self, Actor, PlanRef};
use store::orgs::Organization;
use store::plans::{Plan, Version};
use store::users::User;

pub fn actor(user: &User) -> Actor {
    Actor { user_id: user.id, org_id: user.org_id, role: user.role }
}

pub fn plan_ref(plan: &Plan, owner: &Organization) -> PlanRef {
    PlanRef { org_id: plan.org_id, superior_org_id: owner.superior_id, status: plan.status }
}

/// A plan-schedule the caller may read, with its owner organization.
pub async fn readable_plan(state: &AppState, user: &User, plan_id: i64) -> AppResult<(Plan, Organization)> {
    let plan = state.store.plan(plan_id).await?.ok_or(AppError::NotFound)?;
    let owner = state.store.organization(plan.org_id).await?.ok_or(AppError::NotFound)?;
    if !plan::can_read(actor(user), plan_ref(&plan, &owner)) {
        return Err(AppError::NotFound);
    }
    Ok((plan, owner))
}

/// A version the caller may read, with its plan-schedule and owner organization.
pub async fn readable_version(
    state: &AppState,
    user: &User,
    version_id: i64,
) -> AppResult<(Version, Plan, Organization)> {
    let version = state.store.version(version_id).await?.ok_or(AppError::NotFound)?;
    let (plan, owner) = readable_plan(state, user, version.plan_id).await?;
    Ok((version, plan, owner))
}

/// The customer's specialists send its versions to ЕИС, or, for a plan placed by the superior
/// organization under an agreement (OA), the superior's specialists.
pub fn check_can_send(user: &User, plan: &Plan, owner: &Organization) -> AppResult<()> {
    domain::exchange::check_sender(actor(user), plan_ref(plan, owner), plan.owner_role)
        .map_err(|e| AppError::Forbidden(e.to_string()))
}
