//! The plan-schedule's life: creating it, its header, submitting, the superior's decision (one
//! plan or many) and change rounds.

use crate::access::{actor, plan_ref};
use crate::{Error, Readable, Refusal, Result, Workflow};
use domain::ids::PlanId;
use domain::plan::{self, PlanError, ResponsiblePerson};
use store::plans::{Plan, Version};
use store::users::User;

/// A refused transition; when the content checks failed, with their findings.
fn refused(e: PlanError, findings: Vec<domain::Finding>) -> Error {
    let failed_checks = matches!(e, PlanError::ChecksFailed(_));
    match (Error::from(e), failed_checks) {
        (Error::Refused { refusal, message, .. }, true) => Error::Refused { refusal, message, findings },
        (other, _) => other,
    }
}

/// What «Утвердить выбранные» did.
#[derive(Debug, Default)]
pub struct BulkApproval {
    pub approved: usize,
    /// One Russian line per plan-schedule that was not approved, naming it and why.
    pub problems: Vec<String>,
}

impl Workflow {
    /// Creates the caller's plan-schedule for a year typed as text.
    pub async fn create_plan(&self, user: &User, year: &str) -> Result<Plan> {
        if !user.role.edits_plans() {
            return Err(Error::not_allowed("Создавать планы-графики может только специалист заказчика"));
        }
        let year = match year.trim().parse::<i32>() {
            Ok(y) if (2020..=2099).contains(&y) => y,
            _ => return Err(Error::field("plan_year", "Укажите год плана-графика четырьмя цифрами")),
        };
        self.store.create_plan(user.org_id, year, user.id).await?.ok_or_else(|| {
            Error::refused(
                Refusal::State,
                format!("План-график вашей организации на {year} год уже существует. Откройте его в списке."),
            )
        })
    }

    /// «Отправить на согласование».
    pub async fn submit(&self, user: &User, plan_id: PlanId) -> Result<()> {
        let found = self.readable_plan(user, plan_id).await?;
        let checked = self.check(&found).await?;
        let (plan, owner) = (found.plan(), found.owner());
        let to = plan::submit(actor(user), plan_ref(plan, owner), checked.findings.len())
            .map_err(|e| refused(e, checked.findings))?;
        self.store.change_plan_status(plan, plan.status, to, None, user.id, plan::JOURNAL_SUBMITTED).await?;
        Ok(())
    }

    /// «Утвердить»: the plan becomes approved and its next version is recorded with its packet
    /// (see `exchange::Exchange::approve`). A packet the schemas reject creates no version.
    pub async fn approve(&self, user: &User, plan_id: PlanId) -> Result<Version> {
        let found = self.readable_plan(user, plan_id).await?;
        self.approve_readable(user, &found).await
    }

    async fn approve_readable(&self, user: &User, found: &Readable) -> Result<Version> {
        let checked = self.check(found).await?;
        let (plan, owner) = (found.plan(), found.owner());
        plan::approve(actor(user), plan_ref(plan, owner), checked.findings.len())
            .map_err(|e| refused(e, checked.findings))?;
        match self.exchange.approve(plan, &checked.snapshot, user.id).await {
            Ok(version) => Ok(version),
            Err(exchange::RequestError::Refused(why)) => Err(Error::refused(Refusal::Content, why)),
            Err(exchange::RequestError::Store(e)) => Err(e.into()),
        }
    }

    /// «Утвердить выбранные»: each plan-schedule on its own, so one refusal does not stop the
    /// others; a fault of plangraf does.
    pub async fn approve_many(&self, user: &User, plan_ids: &[PlanId]) -> Result<BulkApproval> {
        let mut outcome = BulkApproval::default();
        for &id in plan_ids {
            let found = match self.readable_plan(user, id).await {
                Ok(found) => found,
                Err(Error::NotFound) => {
                    outcome.problems.push(format!("План-график {id} не найден"));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let name = format!("{} на {} год", found.owner().short_name, found.plan().plan_year);
            match self.approve_readable(user, &found).await {
                Ok(_) => outcome.approved += 1,
                Err(Error::Internal(e)) => return Err(Error::Internal(e)),
                Err(Error::Stale) => outcome
                    .problems
                    .push(format!("{name}: план-график изменён другим пользователем, откройте его и проверьте")),
                Err(e) => outcome.problems.push(format!("{name}: {e}")),
            }
        }
        Ok(outcome)
    }

    /// «Вернуть на доработку» with the comment the customer will see.
    pub async fn return_for_revision(&self, user: &User, plan_id: PlanId, comment: &str) -> Result<()> {
        let found = self.readable_plan(user, plan_id).await?;
        let (plan, owner) = (found.plan(), found.owner());
        let comment = comment.trim();
        let to = plan::return_for_revision(actor(user), plan_ref(plan, owner), comment)?;
        self.store.change_plan_status(plan, plan.status, to, Some(comment), user.id, plan::JOURNAL_RETURNED).await?;
        Ok(())
    }

    /// «Внести изменения».
    pub async fn start_changes(&self, user: &User, plan_id: PlanId) -> Result<()> {
        let found = self.readable_plan(user, plan_id).await?;
        plan::start_changes(actor(user), plan_ref(found.plan(), found.owner()))?;
        self.store.start_changes(found.plan(), user.id).await?;
        Ok(())
    }

    /// Who places the plan in ЕИС: `CU` (the customer) or `OA` (its superior under an
    /// agreement). `row_version` is the plan's version the caller read.
    pub async fn set_owner_role(&self, user: &User, plan_id: PlanId, code: &str, row_version: i64) -> Result<()> {
        let found = self.editable_plan(user, plan_id).await?;
        let Some(role) = plan::OwnerRole::from_code(code.trim()) else {
            return Err(Error::field(
                "owner_role",
                "Выберите, кто размещает план-график в ЕИС: CU (заказчик) или OA (вышестоящая организация по соглашению)",
            ));
        };
        if role == plan::OwnerRole::Agent && found.owner().superior_id.is_none() {
            return Err(Error::field(
                "owner_role",
                "У организации нет вышестоящей организации, которая могла бы размещать план-график по соглашению",
            ));
        }
        Ok(self.store.set_owner_role(found.plan(), row_version, role, user.id).await?)
    }

    /// «Ответственный исполнитель» of the plan.
    pub async fn set_responsible(
        &self,
        user: &User,
        plan_id: PlanId,
        raw: &ResponsiblePerson,
        row_version: i64,
    ) -> Result<()> {
        let found = self.editable_plan(user, plan_id).await?;
        let person = ResponsiblePerson::parse(raw).map_err(|errors| {
            Error::fields("Ответственный исполнитель не сохранён: исправьте отмеченные поля", errors)
        })?;
        Ok(self.store.set_responsible(found.plan(), row_version, &person, user.id).await?)
    }

    /// The plan-schedules the caller sees: its organization's and its subordinates'.
    pub async fn visible_plans(&self, user: &User) -> Result<Vec<store::plans::PlanListItem>> {
        Ok(self.store.plans_visible_to(user.org_id).await?)
    }

    /// The plan with its working copy and its findings: what the plan page and the API's plan
    /// show. The findings come from the cache of this content stamp; the schema check is never
    /// awaited here (see `app::checks`).
    pub async fn plan_view(&self, user: &User, plan_id: PlanId) -> Result<PlanView> {
        let plan = self.readable_plan(user, plan_id).await?;
        let positions = self.store.positions(plan_id).await?;
        let snapshot =
            self.snapshot_of(plan.plan(), plan.owner(), positions.iter().map(|p| p.position.clone()).collect()).await?;
        let base = self.base_snapshot(plan.plan()).await?;
        let found = self.findings_from(&plan, || domain::preflight(&snapshot, base.as_ref())).await?;
        let version_count = usize::try_from(self.store.version_count(plan_id).await?).unwrap_or(0);
        let checked = crate::snapshot::Checked { snapshot, base, findings: found.findings.as_ref().clone() };
        Ok(PlanView { plan, checked, schema: found.schema, positions, version_count })
    }
}

/// A readable plan-schedule, its working copy's positions as stored and its pre-flight
/// findings.
pub struct PlanView {
    pub plan: Readable,
    pub checked: crate::snapshot::Checked,
    /// Whether the schema check of this content is done, under way or not run.
    pub schema: crate::checks::SchemaCheck,
    pub positions: Vec<store::plans::StoredPosition>,
    pub version_count: usize,
}
