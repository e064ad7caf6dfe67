//! ЕИС's copy of a plan: «Загрузить из ЕИС» and «Сверить с ЕИС».

use crate::AppState;
use crate::api::model::{FieldChangeOut, time};
use crate::api::{Body, Id};
use crate::auth::ApiUser;
use crate::error::WebError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::diff::PositionDiff;
use domain::ids::PlanId;
use serde::{Deserialize, Serialize};

type ApiResult<T = Response> = Result<T, WebError>;

/// `TakeFromEisInput`
#[derive(Deserialize, Serialize)]
pub struct TakeFromEisInput {
    #[serde(deserialize_with = "crate::api::int64::deserialize")]
    plan_year: i64,
    plan_number: String,
}

/// `POST /api/v1/plans/eis-import`: takes in a plan kept in the ЕИС cabinet (or takes it in
/// again); 201 with the plan's id.
pub async fn take_from_eis(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Body(input): Body<TakeFromEisInput>,
) -> ApiResult {
    let id = state.app.take_from_eis(&user, &input.plan_year.to_string(), &input.plan_number).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "plan_id": id, "href": format!("/api/v1/plans/{id}") })))
        .into_response())
}

/// `Discrepancy`: one position that differs, from plangraf's side («before») to ЕИС's («after»).
#[derive(Serialize)]
pub struct DiscrepancyOut {
    /// `added`: only in ЕИС; `removed`: not in ЕИС; `changed`: fields differ.
    pub kind: &'static str,
    pub purchase_number: String,
    pub object: String,
    pub summary: Option<String>,
    pub changes: Vec<FieldChangeOut>,
}

/// `Reconciliation`
#[derive(Serialize)]
pub struct ReconciliationOut {
    pub plan_id: PlanId,
    pub plan_number: String,
    pub eis_version: Option<u32>,
    /// plangraf's version compared with; `None` for a plan kept in ЕИС (compared with its copy).
    pub compared_with: Option<i64>,
    pub fetched_at: String,
    /// The reading kept: its export is on the plan's page.
    pub copy_id: i64,
    pub differences: Vec<DiscrepancyOut>,
}

/// `POST /api/v1/plans/{id}/reconcile`: reads ЕИС's copy with the caller's saved credentials and
/// compares it; an empty `differences` is «расхождений нет».
pub async fn reconcile(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<PlanId>,
) -> ApiResult<Json<ReconciliationOut>> {
    let found = state.app.reconcile(&user, id).await?;
    let changes = |changes: Vec<domain::diff::FieldChange>| {
        changes
            .into_iter()
            .map(|c| FieldChangeOut { field: c.field, before: c.before, after: c.after, delta: c.delta })
            .collect()
    };
    Ok(Json(ReconciliationOut {
        plan_id: found.plan.id,
        plan_number: found.record.plan_number.clone(),
        eis_version: found.eis_version,
        compared_with: found.compared_with,
        fetched_at: time(found.record.fetched_at),
        copy_id: found.record.id,
        differences: found
            .differences
            .into_iter()
            .map(|d| match d {
                PositionDiff::Added(p) => DiscrepancyOut {
                    kind: "added",
                    purchase_number: p.purchase_number.padded(),
                    object: p.title(),
                    summary: Some(p.summary()),
                    changes: Vec::new(),
                },
                PositionDiff::Removed(p) => DiscrepancyOut {
                    kind: "removed",
                    purchase_number: p.purchase_number.padded(),
                    object: p.title(),
                    summary: Some(p.summary()),
                    changes: Vec::new(),
                },
                PositionDiff::Changed { number, object, changes: c } => DiscrepancyOut {
                    kind: "changed",
                    purchase_number: number,
                    object,
                    summary: None,
                    changes: changes(c),
                },
            })
            .collect(),
    }))
}
