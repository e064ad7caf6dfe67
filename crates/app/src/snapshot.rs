//! The working copy as it would be approved, the latest approved version it is compared with,
//! and the pre-flight findings of both together.

use crate::{Readable, Result, Workflow};
use domain::org::iku;
use domain::plan::{AgentSnapshot, CustomerSnapshot, OwnerRole, PlanSnapshot};
use store::orgs::Organization;
use store::plans::Plan;

/// The customer's identity as a version records it; the ИКУ is derived from INN and KPP.
pub fn customer_snapshot(org: &Organization) -> CustomerSnapshot {
    let iku = iku(org.budget_level, &org.inn, &org.kpp).ok();
    CustomerSnapshot {
        name: org.name.clone(),
        spz_code: org.spz_code.clone(),
        inn: org.inn.clone(),
        kpp: org.kpp.clone(),
        org_type: org.org_type,
        iku,
    }
}

/// The working copy with its pre-flight findings.
pub struct Checked {
    pub snapshot: PlanSnapshot,
    /// The latest approved version's content, if there is one.
    pub base: Option<std::sync::Arc<PlanSnapshot>>,
    pub findings: Vec<domain::Finding>,
}

impl Workflow {
    /// The superior organization that places the plan under an agreement (role OA).
    pub(crate) async fn agent_of(&self, plan: &Plan, owner: &Organization) -> Result<Option<AgentSnapshot>> {
        Ok(match (plan.owner_role, owner.superior_id) {
            (OwnerRole::Agent, Some(superior)) => self.store.organization(superior).await?.map(|o| AgentSnapshot {
                iku: customer_snapshot(&o).iku,
                name: o.name,
                spz_code: o.spz_code,
            }),
            _ => None,
        })
    }

    /// The working copy as a version would record it, from positions already read.
    pub(crate) async fn snapshot_of(
        &self,
        plan: &Plan,
        owner: &Organization,
        positions: Vec<domain::plan::Position>,
    ) -> Result<PlanSnapshot> {
        let agent = self.agent_of(plan, owner).await?;
        Ok(PlanSnapshot {
            plan_year: plan.plan_year,
            customer: customer_snapshot(owner),
            agent,
            responsible: plan.responsible.clone(),
            positions,
        })
    }

    /// Every pre-flight finding of the working copy: the rules of `domain::checks`, and, once
    /// they pass and the official schemas are configured, the schema check of the packet it
    /// would go as.
    pub async fn check(&self, plan: &Readable) -> Result<Checked> {
        let mut checked = self.check_rules(plan).await?;
        if checked.findings.is_empty() {
            for message in self.exchange.schema_findings(plan.plan(), &checked.snapshot).await? {
                checked.findings.push(domain::Finding { purchase_number: None, field: "packet", message });
            }
        }
        Ok(checked)
    }

    /// The findings of plangraf's own rules only, without the schema check (which concerns the
    /// plan as a whole): what one position's form shows.
    pub async fn check_rules(&self, plan: &Readable) -> Result<Checked> {
        let snapshot = self.working_copy(plan.plan(), plan.owner()).await?;
        let base = self.latest_base(plan.plan()).await?;
        let findings = domain::preflight(&snapshot, base.as_deref());
        Ok(Checked { snapshot, base, findings })
    }
}
