//! Plan-schedules, their positions and the approval transitions: each handler reads the
//! request, calls one use case of the workflow layer and answers with the plan as it is now.

use crate::AppState;
use crate::api::model::{PlanData, PlanSummary, PositionOut, PositionResult, VersionSummary};
use crate::api::{Body, Id, query_i64};
use crate::auth::ApiUser;
use crate::error::WebError;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::ids::{PlanId, PositionId};
use domain::plan::{FieldError, PositionDraft};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::users::User;

type ApiResult<T = Response> = Result<T, WebError>;

pub async fn list(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult<Json<Vec<PlanSummary>>> {
    let items = state.app.visible_plans(&user).await?;
    Ok(Json(items.into_iter().map(|i| PlanSummary::of(i, &user)).collect()))
}

/// The plan's detail as the caller sees it now.
async fn detail(state: &AppState, user: &User, plan_id: PlanId) -> ApiResult<serde_json::Value> {
    let data = PlanData::load(state, user, plan_id).await?;
    serde_json::to_value(data.detail()).map_err(WebError::internal)
}

/// Answers with the plan's detail after a change.
async fn plan_now(state: &AppState, user: &User, plan_id: PlanId) -> ApiResult {
    Ok(Json(detail(state, user, plan_id).await?).into_response())
}

pub async fn get(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<PlanId>) -> ApiResult {
    plan_now(&state, &user, id).await
}

#[derive(Deserialize, Serialize)]
pub struct CreatePlan {
    #[serde(deserialize_with = "crate::api::int64::deserialize")]
    plan_year: i64,
}

pub async fn create(State(state): State<AppState>, ApiUser(user): ApiUser, Body(req): Body<CreatePlan>) -> ApiResult {
    let plan = state.app.create_plan(&user, &req.plan_year.to_string()).await?;
    let body = detail(&state, &user, plan.id).await?;
    let location = format!("/api/v1/plans/{}", plan.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

/// A position as typed, with the plan's `row_version` the client read and, for a position of
/// the approved version, the justification of the change.
#[derive(Deserialize, Serialize)]
pub struct PositionInput {
    #[serde(default, deserialize_with = "crate::api::int64::option")]
    row_version: Option<i64>,
    #[serde(default)]
    reason_code: String,
    #[serde(default)]
    change_description: String,
    #[serde(flatten)]
    draft: PositionDraft,
}

fn row_version(v: Option<i64>) -> ApiResult<i64> {
    v.ok_or_else(|| {
        let message = "Укажите row_version — версию плана-графика из последнего ответа GET /api/v1/plans/{id}";
        WebError::fields(message, vec![FieldError { field: "row_version", message: message.into() }])
    })
}

/// Answers with the position as stored now and the plan's row version after the change (the
/// change bumped the one the client sent by one).
async fn position_result(
    state: &AppState,
    user: &User,
    plan_id: PlanId,
    position_id: PositionId,
    row_version: i64,
    status: StatusCode,
) -> ApiResult {
    let view = state.app.plan_view(user, plan_id).await?;
    let stored = view.positions.iter().find(|p| p.id == position_id).ok_or_else(WebError::not_found)?;
    let iku = view.checked.snapshot.owner_iku();
    let body = PositionResult { row_version, position: PositionOut::of(stored, iku, view.checked.base.as_ref()) };
    let location = format!("/api/v1/plans/{plan_id}/positions/{position_id}");
    Ok((status, [(header::LOCATION, location)], Json(body)).into_response())
}

#[derive(Deserialize, Serialize)]
pub struct OwnerRoleInput {
    #[serde(default, deserialize_with = "crate::api::int64::option")]
    row_version: Option<i64>,
    #[serde(default)]
    owner_role: String,
}

/// Who places the plan in ЕИС: `CU` or `OA`.
pub async fn set_owner_role(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<PlanId>,
    Body(input): Body<OwnerRoleInput>,
) -> ApiResult {
    let expected = row_version(input.row_version)?;
    state.app.set_owner_role(&user, id, &input.owner_role, expected).await?;
    plan_now(&state, &user, id).await
}

#[derive(Deserialize, Serialize)]
pub struct ResponsibleInput {
    #[serde(default, deserialize_with = "crate::api::int64::option")]
    row_version: Option<i64>,
    #[serde(flatten)]
    person: domain::plan::ResponsiblePerson,
}

/// «Ответственный исполнитель».
pub async fn set_responsible(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<PlanId>,
    Body(input): Body<ResponsibleInput>,
) -> ApiResult {
    let expected = row_version(input.row_version)?;
    state.app.set_responsible(&user, id, &input.person, expected).await?;
    plan_now(&state, &user, id).await
}

pub async fn add_position(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<PlanId>,
    Body(input): Body<PositionInput>,
) -> ApiResult {
    let plan = state.app.editable_plan(&user, id).await?;
    let expected = row_version(input.row_version)?;
    let position_id = state.app.add_position(&user, &plan, &input.draft, expected).await?;
    position_result(&state, &user, id, position_id, expected + 1, StatusCode::CREATED).await
}

pub async fn update_position(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id((id, position_id)): Id<(PlanId, PositionId)>,
    Body(input): Body<PositionInput>,
) -> ApiResult {
    let l = state.app.editable_position(&user, id, position_id).await?;
    let expected = row_version(input.row_version)?;
    state.app.update_position(&user, &l, &input.draft, &input.reason_code, &input.change_description, expected).await?;
    position_result(&state, &user, id, position_id, expected + 1, StatusCode::OK).await
}

/// `DELETE …/positions/{position_id}?row_version=N`: a DELETE carries no body.
pub async fn delete_position(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id((id, position_id)): Id<(PlanId, PositionId)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let l = state.app.editable_position(&user, id, position_id).await?;
    let expected = row_version(query_i64(query.as_deref(), "row_version")?)?;
    state.app.delete_position(&user, &l, expected).await?;
    Ok(Json(json!({ "row_version": expected + 1 })).into_response())
}

#[derive(Deserialize, Serialize)]
pub struct CancelInput {
    #[serde(default, deserialize_with = "crate::api::int64::option")]
    row_version: Option<i64>,
    #[serde(default)]
    reason_code: String,
    #[serde(default)]
    change_description: String,
}

pub async fn cancel_position(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id((id, position_id)): Id<(PlanId, PositionId)>,
    Body(input): Body<CancelInput>,
) -> ApiResult {
    let l = state.app.editable_position(&user, id, position_id).await?;
    if !l.in_base {
        return Err(app::Error::refused(app::Refusal::State, app::positions::CANCEL_NEW).into());
    }
    let expected = row_version(input.row_version)?;
    state.app.cancel_position(&user, &l, &input.reason_code, &input.change_description, expected).await?;
    position_result(&state, &user, id, position_id, expected + 1, StatusCode::OK).await
}

pub async fn submit(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<PlanId>) -> ApiResult {
    state.app.submit(&user, id).await?;
    plan_now(&state, &user, id).await
}

pub async fn approve(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<PlanId>) -> ApiResult {
    let version = state.app.approve(&user, id).await?;
    let plan = detail(&state, &user, id).await?;
    let version = VersionSummary::of(&state, &version).await?;
    Ok(Json(json!({ "plan": plan, "version": version })).into_response())
}

#[derive(Deserialize, Serialize)]
pub struct ReturnInput {
    #[serde(default)]
    comment: String,
}

pub async fn return_for_revision(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<PlanId>,
    Body(input): Body<ReturnInput>,
) -> ApiResult {
    state.app.return_for_revision(&user, id, &input.comment).await?;
    plan_now(&state, &user, id).await
}

pub async fn start_changes(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<PlanId>) -> ApiResult {
    state.app.start_changes(&user, id).await?;
    plan_now(&state, &user, id).await
}
