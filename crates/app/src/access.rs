//! Access control in one place. Plan-schedules and versions are loaded only through these
//! methods, which check the caller's organization and role and hand out capabilities:
//! [`Readable`] (the caller may read the plan) and [`Editable`] (the caller may change its
//! working copy now). Their fields are private and they are built only here, so a write that
//! takes an `&Editable` cannot be reached without the check. A document the caller may not
//! read is [`Error::NotFound`], so its existence does not leak.

use crate::{Error, Result, Workflow};
use domain::ids::{PlanId, VersionId};
use domain::plan::{Actor, Permissions, PlanRef};
use store::orgs::Organization;
use store::plans::{Plan, Version, VersionHead};
use store::users::User;

pub fn actor(user: &User) -> Actor {
    Actor { user_id: user.id, org_id: user.org_id, roles: user.roles }
}

pub fn plan_ref(plan: &Plan, owner: &Organization) -> PlanRef {
    PlanRef { org_id: plan.org_id, superior_org_id: owner.superior_id, status: plan.status }
}

/// Proof that the caller may read this plan-schedule, with its owner organization and what
/// the caller may do with it.
#[derive(Debug, Clone)]
pub struct Readable {
    plan: Plan,
    owner: Organization,
    permissions: Permissions,
}

impl Readable {
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
    pub fn owner(&self) -> &Organization {
        &self.owner
    }
    pub fn permissions(&self) -> Permissions {
        self.permissions
    }
    pub fn into_parts(self) -> (Plan, Organization) {
        (self.plan, self.owner)
    }
}

/// Proof that the caller may change this plan-schedule's working copy now (own organization,
/// editing role, editable state).
#[derive(Debug, Clone)]
pub struct Editable(Readable);

impl Editable {
    pub fn plan(&self) -> &Plan {
        &self.0.plan
    }
    pub fn owner(&self) -> &Organization {
        &self.0.owner
    }
    pub fn readable(&self) -> &Readable {
        &self.0
    }
}

/// A version the caller may read, with its plan-schedule.
#[derive(Debug, Clone)]
pub struct ReadableVersion {
    pub version: Version,
    pub plan: Readable,
}

impl ReadableVersion {
    pub fn into_parts(self) -> (Version, Plan, Organization) {
        (self.version, self.plan.plan, self.plan.owner)
    }
}

impl Workflow {
    /// A plan-schedule the caller may read.
    pub async fn readable_plan(&self, user: &User, plan_id: PlanId) -> Result<Readable> {
        let plan = self.store.plan(plan_id).await?.ok_or(Error::NotFound)?;
        let owner = self.store.organization(plan.org_id).await?.ok_or(Error::NotFound)?;
        let permissions = Permissions::of(actor(user), plan_ref(&plan, &owner), plan.owner_role);
        if !permissions.read {
            return Err(Error::NotFound);
        }
        Ok(Readable { plan, owner, permissions })
    }

    /// A plan-schedule the caller may change now, or the rule that forbids it.
    pub async fn editable_plan(&self, user: &User, plan_id: PlanId) -> Result<Editable> {
        let readable = self.readable_plan(user, plan_id).await?;
        domain::plan::check_edit(actor(user), plan_ref(&readable.plan, &readable.owner))?;
        Ok(Editable(readable))
    }

    /// A version the caller may read, without its snapshot and packet: for pages about its
    /// exchange, which should not read megabytes to show a state.
    pub async fn readable_version_head(&self, user: &User, version_id: VersionId) -> Result<(VersionHead, Readable)> {
        let version = self.store.version_head(version_id).await?.ok_or(Error::NotFound)?;
        let plan = self.readable_plan(user, version.plan_id).await?;
        Ok((version, plan))
    }

    /// A version the caller may read.
    pub async fn readable_version(&self, user: &User, version_id: VersionId) -> Result<ReadableVersion> {
        let version = self.store.version(version_id).await?.ok_or(Error::NotFound)?;
        let plan = self.readable_plan(user, version.plan_id).await?;
        Ok(ReadableVersion { version, plan })
    }

    /// A version the caller may send to ЕИС: the customer's specialists send its versions, or,
    /// for a plan placed by the superior organization under an agreement (OA), the superior's.
    pub async fn sendable_version(&self, user: &User, version_id: VersionId) -> Result<ReadableVersion> {
        let found = self.readable_version(user, version_id).await?;
        let plan = &found.plan;
        domain::exchange::check_sender(actor(user), plan_ref(&plan.plan, &plan.owner), plan.plan.owner_role)?;
        Ok(found)
    }
}
