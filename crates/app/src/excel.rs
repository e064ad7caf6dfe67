//! Plan-schedules in Excel: the export of the working copy and of any version, and the import
//! template. The sheets are written by the `sheets` crate, off the async threads; access is
//! checked here like every other read of a plan or a version.

use crate::{Error, Result, Workflow};
use domain::format::date_time_ru;
use domain::ids::{PlanId, VersionId};
use store::users::User;

pub use sheets::XLSX_MIME;

/// A file to download: its name (ASCII, for `Content-Disposition`) and its bytes.
#[derive(Debug, Clone)]
pub struct Download {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Writes a workbook on a blocking thread: a large plan takes a noticeable part of a second.
async fn written(build: impl FnOnce() -> Result<Vec<u8>, sheets::SheetError> + Send + 'static) -> Result<Vec<u8>> {
    tokio::task::spawn_blocking(build).await.map_err(Error::internal)?.map_err(Error::internal)
}

impl Workflow {
    /// The working copy as it is now, with the change marks against the latest approved version.
    pub async fn plan_xlsx(&self, user: &User, plan_id: PlanId) -> Result<Download> {
        let found = self.readable_plan(user, plan_id).await?;
        let (plan, owner) = (found.plan(), found.owner());
        let snapshot = self.working_copy(plan, owner).await?;
        let base = self.latest_base(plan).await?;
        let edition =
            format!("Рабочая копия (статус «{}»), выгружена {}", plan.status.title(), date_time_ru(chrono::Utc::now()));
        let bytes = written(move || sheets::plan_workbook(&snapshot, base.as_ref().as_ref(), &edition)).await?;
        Ok(Download { file_name: format!("plan-{}-{}-working.xlsx", plan.id, plan.plan_year), bytes })
    }

    /// An approved version, with the change marks against the version before it.
    pub async fn version_xlsx(&self, user: &User, version_id: VersionId) -> Result<Download> {
        let (version, plan, _) = self.readable_version(user, version_id).await?.into_parts();
        let previous = match version.version_number {
            0 => None,
            n => self.store.version_by_number(plan.id, n - 1).await?.map(|v| v.snapshot),
        };
        let edition = format!("Версия {}, утверждена {}", version.version_number, date_time_ru(version.approved_at));
        let snapshot = version.snapshot;
        let bytes = written(move || sheets::plan_workbook(&snapshot, previous.as_ref(), &edition)).await?;
        Ok(Download {
            file_name: format!("plan-{}-{}-v{}.xlsx", plan.id, plan.plan_year, version.version_number),
            bytes,
        })
    }

    /// The empty import template of the plan (for its year and its customer's type).
    pub async fn import_template(&self, user: &User, plan_id: PlanId) -> Result<Download> {
        let found = self.readable_plan(user, plan_id).await?;
        let customer = crate::snapshot::customer_snapshot(found.owner());
        let year = found.plan().plan_year;
        let bytes = written(move || sheets::template_workbook(year, &customer)).await?;
        Ok(Download { file_name: format!("plan-{}-{year}-template.xlsx", plan_id), bytes })
    }
}
