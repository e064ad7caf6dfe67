//! The documents the API answers with. Each one is a component schema of the OpenAPI document
//! under the same name; the tests validate real answers against those schemas.

use crate::AppState;
use crate::error::WebError;
use domain::ids::{OrgId, PlanId, PositionId, UserId, VersionId};
use domain::plan::{self, Position, YearAmounts};
use domain::{Money, SendStatus};
use serde::Serialize;
use store::orgs::Organization;
use store::plans::{Plan, StoredPosition, Version};
use store::users::User;

/// RFC 3339 in UTC with milliseconds.
pub fn time(at: store::Time) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Serialize)]
pub struct OrgRef {
    pub id: OrgId,
    pub short_name: String,
}

/// `PlanSummary`
#[derive(Serialize)]
pub struct PlanSummary {
    pub id: PlanId,
    pub plan_year: i32,
    pub status: &'static str,
    pub status_title: &'static str,
    pub row_version: i64,
    pub updated_at: String,
    pub organization: OrgRef,
    pub position_count: i64,
    pub version_count: i64,
    /// On approval at the caller's organization, as a subordinate's plan.
    pub awaits_my_decision: bool,
}

impl PlanSummary {
    pub fn of(item: store::plans::PlanListItem, user: &User) -> PlanSummary {
        let p = item.plan;
        PlanSummary {
            id: p.id,
            plan_year: p.plan_year,
            status: p.status.code(),
            status_title: p.status.title(),
            row_version: p.row_version,
            updated_at: time(p.updated_at),
            organization: OrgRef { id: p.org_id, short_name: item.org_name },
            position_count: item.position_count,
            version_count: item.version_count,
            awaits_my_decision: p.status == domain::PlanStatus::OnApproval && p.org_id != user.org_id,
        }
    }
}

/// `Organization`: the customer with its ЕИС identifiers.
#[derive(Serialize)]
pub struct OrgOut {
    pub id: OrgId,
    pub name: String,
    pub short_name: String,
    pub spz_code: String,
    pub inn: String,
    pub kpp: String,
    pub org_type: &'static str,
    pub iku: String,
}

impl OrgOut {
    fn of(org: &Organization) -> OrgOut {
        OrgOut {
            id: org.id,
            name: org.name.clone(),
            short_name: org.short_name.clone(),
            spz_code: org.spz_code.to_string(),
            inn: org.inn.to_string(),
            kpp: org.kpp.to_string(),
            org_type: org.org_type.code(),
            iku: app::snapshot::customer_snapshot(org).iku.map(String::from).unwrap_or_default(),
        }
    }
}

/// `Permissions`: what the caller may do with the plan now (the same rules the actions check).
#[derive(Serialize)]
pub struct Permissions {
    pub edit: bool,
    pub submit: bool,
    pub approve: bool,
    #[serde(rename = "return")]
    pub return_for_revision: bool,
    pub start_changes: bool,
}

/// `Position`: a position of the working copy.
#[derive(Serialize)]
pub struct PositionOut<'a> {
    pub id: PositionId,
    /// `None` while the customer's ИНН or КПП cannot give an ИКУ.
    pub ikz: Option<String>,
    pub mark: &'static str,
    pub mark_title: &'static str,
    pub in_base: bool,
    /// The position's own optimistic lock: its edit, cancellation and deletion name it.
    pub row_version: i64,
    #[serde(flatten)]
    pub position: &'a Position,
}

fn mark_code(m: plan::ChangeMark) -> &'static str {
    match m {
        plan::ChangeMark::New => "new",
        plan::ChangeMark::Unchanged => "unchanged",
        plan::ChangeMark::Edited => "edited",
    }
}

impl<'a> PositionOut<'a> {
    /// A position with its mark against the latest approved version (from the findings cache).
    pub fn of(sp: &'a StoredPosition, iku: Option<&domain::ikz::Iku>, mark: app::checks::Mark) -> PositionOut<'a> {
        PositionOut {
            id: sp.id,
            ikz: sp.position.ikz(iku).ok().map(String::from),
            mark: mark_code(mark.mark),
            mark_title: mark.mark.title(),
            in_base: mark.in_base,
            row_version: sp.row_version,
            position: &sp.position,
        }
    }

    /// The position compared with its content in the latest approved version (`before`).
    pub fn against(
        sp: &'a StoredPosition,
        iku: Option<&domain::ikz::Iku>,
        before: Option<&Position>,
    ) -> PositionOut<'a> {
        let mark = sp.position.mark(before);
        PositionOut {
            id: sp.id,
            ikz: sp.position.ikz(iku).ok().map(String::from),
            mark: mark_code(mark),
            mark_title: mark.title(),
            in_base: before.is_some(),
            row_version: sp.row_version,
            position: &sp.position,
        }
    }
}

/// `PositionPage`: a page of the working copy's positions.
#[derive(Serialize)]
pub struct PositionPage<'a> {
    pub items: Vec<PositionOut<'a>>,
    /// Pass as `cursor` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
    /// How many positions the filters select, and their totals (cancelled ones not summed).
    pub count: i64,
    pub totals: YearAmounts,
}

/// `PlanList`: a page of the plan-schedules the caller sees, by id.
#[derive(Serialize)]
pub struct PlanList {
    pub items: Vec<PlanSummary>,
    /// Pass as `cursor` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
    /// How many plans the list has in all (with `awaiting=true`, those awaiting the caller).
    pub count: i64,
}

/// `Finding`: a pre-flight finding, pinned to its position (by purchase number) and field.
#[derive(Serialize)]
pub struct FindingOut {
    pub purchase_number: Option<u16>,
    pub field: &'static str,
    pub message: String,
}

/// `Agent`
#[derive(Serialize)]
pub struct AgentOut {
    pub name: String,
    pub spz_code: String,
}

/// `PlanDetail`
#[derive(Serialize)]
pub struct PlanDetail<'a> {
    pub id: PlanId,
    pub plan_year: i32,
    pub status: &'static str,
    pub status_title: &'static str,
    pub row_version: i64,
    pub updated_at: String,
    pub return_comment: Option<String>,
    pub eis_plan_number: Option<String>,
    pub organization: OrgOut,
    /// `CU` or `OA`.
    pub owner_role: &'static str,
    /// The superior organization that places the plan (role OA).
    pub agent: Option<AgentOut>,
    pub responsible: Option<domain::plan::ResponsiblePerson>,
    pub permissions: Permissions,
    pub totals: YearAmounts,
    /// Positions in the working copy.
    pub position_count: i64,
    /// The first page of positions; the rest from `positions_next`.
    pub positions: Vec<PositionOut<'a>>,
    /// The URL of the next page of positions (`GET /api/v1/plans/{id}/positions`), if any.
    pub positions_next: Option<String>,
    pub findings: Vec<FindingOut>,
    /// `done`, `pending` or `not_run` (see `app::checks::SchemaCheck`).
    pub schema_check: &'static str,
    pub version_count: usize,
}

/// Positions in a plan's detail; the rest are read a page at a time.
pub const FIRST_PAGE: i64 = 100;

/// Everything a plan's detail needs, loaded once by the workflow.
pub struct PlanData {
    view: app::plans::PlanView,
}

impl PlanData {
    pub async fn load(state: &AppState, user: &User, plan_id: PlanId) -> Result<PlanData, WebError> {
        let query = app::plans::PositionQuery { limit: FIRST_PAGE, ..Default::default() };
        Ok(PlanData { view: state.app.plan_view(user, plan_id, &query).await? })
    }

    pub fn detail(&self) -> PlanDetail<'_> {
        let v = &self.view;
        let (p, owner) = (v.plan.plan(), v.plan.owner());
        let iku = v.iku.as_ref();
        let may = v.plan.permissions();
        PlanDetail {
            id: p.id,
            plan_year: p.plan_year,
            status: p.status.code(),
            status_title: p.status.title(),
            row_version: p.row_version,
            updated_at: time(p.updated_at),
            return_comment: if p.status == domain::PlanStatus::Revision { p.return_comment.clone() } else { None },
            eis_plan_number: p.eis_plan_number.clone(),
            organization: OrgOut::of(owner),
            owner_role: p.owner_role.code(),
            agent: v.agent.as_ref().map(|a| AgentOut { name: a.name.clone(), spz_code: a.spz_code.to_string() }),
            responsible: p.responsible.clone(),
            permissions: Permissions {
                edit: may.edit,
                submit: may.submit,
                approve: may.decide,
                return_for_revision: may.decide,
                start_changes: may.start_changes,
            },
            totals: v.totals.amounts,
            position_count: v.totals.count,
            positions: v
                .page
                .iter()
                .map(|sp| PositionOut::of(sp, iku, v.findings.rules.mark(sp.position.purchase_number.get())))
                .collect(),
            positions_next: match (v.more, v.page.last()) {
                (true, Some(last)) => Some(format!(
                    "/api/v1/plans/{}/positions?limit={FIRST_PAGE}&cursor={}",
                    p.id,
                    crate::api::query::position_cursor_after(last.position.purchase_number.get())
                )),
                _ => None,
            },
            findings: v
                .findings
                .findings
                .iter()
                .map(|f| FindingOut { purchase_number: f.purchase_number, field: f.field, message: f.message.clone() })
                .collect(),
            schema_check: match v.findings.schema {
                app::checks::SchemaCheck::Done => "done",
                app::checks::SchemaCheck::Pending => "pending",
                app::checks::SchemaCheck::NotRun => "not_run",
            },
            version_count: v.version_count,
        }
    }
}

/// `PositionResult`: a changed position and its row version after the change (also in the
/// position), to name in its next change.
#[derive(Serialize)]
pub struct PositionResult<'a> {
    pub row_version: i64,
    pub position: PositionOut<'a>,
}

#[derive(Serialize)]
pub struct UserRef {
    pub id: UserId,
    pub full_name: String,
}

/// `VersionSummary`
#[derive(Serialize)]
pub struct VersionSummary {
    pub id: VersionId,
    pub plan_id: PlanId,
    pub version_number: i64,
    pub approved_at: String,
    pub approved_by: UserRef,
    pub position_count: usize,
    pub totals: YearAmounts,
    /// The latest send's state; `None` if the version was never sent.
    pub send_status: Option<&'static str>,
    pub send_status_title: &'static str,
}

impl VersionSummary {
    /// A version of a list: its stored summary and its latest send's state.
    pub fn from_summary(v: store::plans::VersionSummary, send: Option<SendStatus>) -> VersionSummary {
        VersionSummary {
            id: v.id,
            plan_id: v.plan_id,
            version_number: v.version_number,
            approved_at: time(v.approved_at),
            approved_by: UserRef { id: v.approved_by, full_name: v.approved_by_name },
            position_count: usize::try_from(v.position_count).unwrap_or(0),
            totals: v.totals,
            send_status: send.map(SendStatus::code),
            send_status_title: send.map(SendStatus::title).unwrap_or(SendStatus::NOT_SENT_TITLE),
        }
    }

    /// One version read in full (its detail).
    pub async fn of(state: &AppState, v: &Version) -> Result<VersionSummary, WebError> {
        let send: Option<SendStatus> = state.app.store().latest_send_head(v.id).await?.map(|s| s.status);
        let approver = state.app.store().user(v.approved_by).await?.map(|u| u.full_name).unwrap_or_default();
        Ok(VersionSummary {
            id: v.id,
            plan_id: v.plan_id,
            version_number: v.version_number,
            approved_at: time(v.approved_at),
            approved_by: UserRef { id: v.approved_by, full_name: approver },
            position_count: v.snapshot.positions.len(),
            totals: v.snapshot.totals(),
            send_status: send.map(SendStatus::code),
            send_status_title: send.map(SendStatus::title).unwrap_or(SendStatus::NOT_SENT_TITLE),
        })
    }
}

/// `Customer`: the customer as the version recorded it.
#[derive(Serialize)]
pub struct CustomerOut {
    pub name: String,
    pub spz_code: String,
    pub inn: String,
    pub kpp: String,
    pub org_type: &'static str,
    pub iku: String,
}

/// `VersionPosition`: a position as approved, with its ЕИС registry number once placed.
#[derive(Serialize)]
pub struct VersionPosition<'a> {
    pub ikz: Option<String>,
    pub eis_number: Option<String>,
    #[serde(flatten)]
    pub position: &'a Position,
}

/// `VersionDetail`
#[derive(Serialize)]
pub struct VersionDetail<'a> {
    #[serde(flatten)]
    pub summary: VersionSummary,
    pub plan_year: i32,
    pub eis_plan_number: Option<String>,
    pub customer: CustomerOut,
    pub positions: Vec<VersionPosition<'a>>,
}

impl<'a> VersionDetail<'a> {
    pub fn of(summary: VersionSummary, v: &'a Version, plan: &Plan) -> VersionDetail<'a> {
        let s = &v.snapshot;
        let c = &s.customer;
        let placed = !v.eis_position_numbers.is_empty();
        VersionDetail {
            summary,
            plan_year: s.plan_year,
            eis_plan_number: if placed { plan.eis_plan_number.clone() } else { None },
            customer: CustomerOut {
                name: c.name.clone(),
                spz_code: c.spz_code.to_string(),
                inn: c.inn.to_string(),
                kpp: c.kpp.to_string(),
                org_type: c.org_type.code(),
                iku: c.iku.as_ref().map(ToString::to_string).unwrap_or_default(),
            },
            positions: s
                .positions
                .iter()
                .map(|p| VersionPosition {
                    // The ИКЗ as sent: with the agent's ИКУ for a plan the superior places (OA).
                    ikz: p.ikz(s.owner_iku()).ok().map(String::from),
                    eis_number: v.eis_position_numbers.get(&p.purchase_number.padded()).cloned(),
                    position: p,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub struct VersionRef {
    pub id: VersionId,
    pub version_number: i64,
}

/// `FieldChange`
#[derive(Serialize)]
pub struct FieldChangeOut {
    pub field: String,
    pub before: String,
    pub after: String,
    /// `after − before`, for money fields only.
    pub delta: Option<Money>,
}

/// `PositionDiff`
#[derive(Serialize)]
pub struct PositionDiffOut {
    pub kind: &'static str,
    pub purchase_number: String,
    pub object: String,
    /// The whole position, for an added or removed one.
    pub summary: Option<String>,
    /// Change of the position's financing over all years; a cancelled position counts as zero,
    /// so the deltas add up to the change of the plan's total.
    pub total_delta: Money,
    pub changes: Vec<FieldChangeOut>,
}

/// `VersionDiff`
#[derive(Serialize)]
pub struct VersionDiff {
    pub version: VersionRef,
    pub with: VersionRef,
    pub positions: Vec<PositionDiffOut>,
    pub totals_before: YearAmounts,
    pub totals_after: YearAmounts,
    pub totals_delta: YearAmounts,
}

/// `JournalEntry`
#[derive(Serialize)]
pub struct JournalEntry {
    pub at: String,
    pub user_name: Option<String>,
    pub action: String,
    pub details: String,
}
