//! Plan-schedules, their positions and the approval transitions.

use crate::AppState;
use crate::access::readable_plan;
use crate::actions::{self, CreateRefusal, EditablePosition};
use crate::api::model::{PlanData, PlanSummary, PositionOut, PositionResult, VersionSummary};
use crate::api::{ApiError, Body, Id, Problem, STALE, query_i64, refusal};
use crate::auth::ApiUser;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::plan::{FieldError, PlanError, PositionDraft};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::plans::StoredPosition;
use store::users::User;

type ApiResult<T = Response> = Result<T, ApiError>;

pub async fn list(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult<Json<Vec<PlanSummary>>> {
    let items = state.store.plans_visible_to(user.org_id).await?;
    Ok(Json(items.into_iter().map(|i| PlanSummary::of(i, &user)).collect()))
}

/// The plan's detail as the caller sees it now.
async fn detail(state: &AppState, user: &User, plan_id: i64) -> ApiResult<serde_json::Value> {
    let (plan, owner) = readable_plan(state, user, plan_id).await?;
    let data = PlanData::load(state, plan, owner).await?;
    serde_json::to_value(data.detail(user)).map_err(ApiError::internal)
}

pub async fn get(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<i64>) -> ApiResult {
    Ok(Json(detail(&state, &user, id).await?).into_response())
}

#[derive(Deserialize, Serialize)]
pub struct CreatePlan {
    #[serde(deserialize_with = "crate::api::int64::deserialize")]
    plan_year: i64,
}

pub async fn create(State(state): State<AppState>, ApiUser(user): ApiUser, Body(req): Body<CreatePlan>) -> ApiResult {
    match actions::create_plan(&state, &user, &req.plan_year.to_string()).await? {
        Ok(plan) => {
            let body = detail(&state, &user, plan.id).await?;
            let location = format!("/api/v1/plans/{}", plan.id);
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
        }
        Err(r @ CreateRefusal::Year) => {
            Err(ApiError::fields(r.to_string(), vec![FieldError { field: "plan_year", message: r.to_string() }]))
        }
        Err(r @ CreateRefusal::Exists(_)) => Err(ApiError::conflict(r.to_string())),
    }
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
        ApiError::fields(message, vec![FieldError { field: "row_version", message: message.into() }])
    })
}

/// The plan for a change of its positions, or why the caller may not change it.
async fn editable(
    state: &AppState,
    user: &User,
    plan_id: i64,
) -> ApiResult<(store::plans::Plan, store::orgs::Organization)> {
    actions::plan_for_edit(state, user, plan_id).await?.map_err(refusal)
}

async fn editable_position(
    state: &AppState,
    user: &User,
    plan_id: i64,
    position_id: i64,
) -> ApiResult<EditablePosition> {
    let (plan, owner) = editable(state, user, plan_id).await?;
    Ok(actions::position_of(state, plan, owner, position_id).await?)
}

/// Answers with the position as stored now and the plan's row version after the change (the
/// change bumped the one the client sent by one).
async fn position_result(
    state: &AppState,
    plan_id: i64,
    position_id: i64,
    row_version: i64,
    status: StatusCode,
) -> ApiResult {
    let plan = state.store.plan(plan_id).await?.ok_or_else(ApiError::not_found)?;
    let owner = state.store.organization(plan.org_id).await?.ok_or_else(ApiError::not_found)?;
    let stored: StoredPosition = state
        .store
        .positions(plan_id)
        .await?
        .into_iter()
        .find(|p| p.id == position_id)
        .ok_or_else(ApiError::not_found)?;
    let base = state.store.versions(plan_id).await?.into_iter().next().map(|v| v.snapshot);
    let iku = crate::pages::plans::current_snapshot(state, &plan, &owner).await?.owner_iku().cloned();
    let body = PositionResult { row_version, position: PositionOut::of(&stored, iku.as_ref(), base.as_ref()) };
    let location = format!("/api/v1/plans/{plan_id}/positions/{position_id}");
    Ok((status, [(header::LOCATION, location)], Json(body)).into_response())
}

/// A refused change of the header, as the API answers it.
async fn header_refused(state: &AppState, user: &User, plan_id: i64, r: actions::HeaderRefusal) -> ApiError {
    match r {
        actions::HeaderRefusal::Plan(e) => refused(state, user, plan_id, e).await,
        actions::HeaderRefusal::Fields(errors) => {
            ApiError::fields("Заголовок плана-графика не изменён: исправьте отмеченные поля", errors)
        }
        actions::HeaderRefusal::Stale => ApiError::conflict(STALE),
    }
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
    Id(id): Id<i64>,
    Body(input): Body<OwnerRoleInput>,
) -> ApiResult {
    let expected = row_version(input.row_version)?;
    match actions::set_owner_role(&state, &user, id, &input.owner_role, expected).await? {
        Ok(()) => Ok(Json(detail(&state, &user, id).await?).into_response()),
        Err(r) => Err(header_refused(&state, &user, id, r).await),
    }
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
    Id(id): Id<i64>,
    Body(input): Body<ResponsibleInput>,
) -> ApiResult {
    let expected = row_version(input.row_version)?;
    match actions::set_responsible(&state, &user, id, &input.person, expected).await? {
        Ok(()) => Ok(Json(detail(&state, &user, id).await?).into_response()),
        Err(r) => Err(header_refused(&state, &user, id, r).await),
    }
}

fn stale(e: store::StoreError) -> ApiError {
    match e {
        store::StoreError::Conflict => ApiError::conflict(STALE),
        e => e.into(),
    }
}

pub async fn add_position(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<i64>,
    Body(input): Body<PositionInput>,
) -> ApiResult {
    let (plan, owner) = editable(&state, &user, id).await?;
    let expected = row_version(input.row_version)?;
    let position = actions::new_position(&state, &plan, &owner, &input.draft)
        .await?
        .map_err(|e| ApiError::fields("Позиция не добавлена: исправьте поля, указанные в errors", e))?;
    let position_id = state.store.add_position(&plan, expected, &position, user.id).await.map_err(stale)?;
    position_result(&state, plan.id, position_id, expected + 1, StatusCode::CREATED).await
}

pub async fn update_position(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id((id, position_id)): Id<(i64, i64)>,
    Body(input): Body<PositionInput>,
) -> ApiResult {
    let l = editable_position(&state, &user, id, position_id).await?;
    let expected = row_version(input.row_version)?;
    let position = actions::edited_position(&state, &l, &input.draft, &input.reason_code, &input.change_description)
        .await?
        .map_err(|e| ApiError::fields("Позиция не сохранена: исправьте поля, указанные в errors", e))?;
    state.store.update_position(&l.plan, expected, l.stored.id, &position, user.id).await.map_err(stale)?;
    position_result(&state, id, position_id, expected + 1, StatusCode::OK).await
}

/// `DELETE …/positions/{position_id}?row_version=N`: a DELETE carries no body.
pub async fn delete_position(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id((id, position_id)): Id<(i64, i64)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let l = editable_position(&state, &user, id, position_id).await?;
    let expected = row_version(query_i64(query.as_deref(), "row_version")?)?;
    match actions::delete_position(&state, &user, &l, expected).await {
        Ok(Ok(())) => Ok(Json(json!({ "row_version": expected + 1 })).into_response()),
        Ok(Err(message)) => Err(ApiError::conflict(message)),
        Err(e) => Err(e.into()),
    }
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
    Id((id, position_id)): Id<(i64, i64)>,
    Body(input): Body<CancelInput>,
) -> ApiResult {
    let l = editable_position(&state, &user, id, position_id).await?;
    if !l.in_base {
        return Err(ApiError::conflict(actions::CANCEL_NEW));
    }
    let expected = row_version(input.row_version)?;
    let position = actions::canceled_position(&state, &l, &input.reason_code, &input.change_description)
        .await?
        .map_err(|e| ApiError::fields("Закупка не отменена: укажите причину и обоснование", e))?;
    state.store.update_position(&l.plan, expected, l.stored.id, &position, user.id).await.map_err(stale)?;
    position_result(&state, id, position_id, expected + 1, StatusCode::OK).await
}

/// A refused transition; when the pre-flight checks failed, their findings are listed.
async fn refused(state: &AppState, user: &User, plan_id: i64, e: PlanError) -> ApiError {
    let failed = matches!(e, PlanError::ChecksFailed(_));
    let err = refusal(e);
    if !failed {
        return err;
    }
    let data = match readable_plan(state, user, plan_id).await {
        Ok((plan, owner)) => PlanData::load(state, plan, owner).await,
        Err(e) => Err(e.into()),
    };
    match data {
        Ok(d) => err.with_problems(
            d.findings()
                .into_iter()
                .map(|f| Problem { field: f.field.to_owned(), message: f.message, purchase_number: f.purchase_number })
                .collect(),
        ),
        Err(e) => e,
    }
}

async fn after_transition(state: &AppState, user: &User, plan_id: i64, outcome: Result<(), PlanError>) -> ApiResult {
    match outcome {
        Ok(()) => Ok(Json(detail(state, user, plan_id).await?).into_response()),
        Err(e) => Err(refused(state, user, plan_id, e).await),
    }
}

pub async fn submit(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<i64>) -> ApiResult {
    let outcome = actions::submit(&state, &user, id).await?;
    after_transition(&state, &user, id, outcome).await
}

pub async fn approve(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<i64>) -> ApiResult {
    match actions::approve(&state, &user, id).await? {
        Ok(version) => {
            let plan = detail(&state, &user, id).await?;
            let version = VersionSummary::of(&state, &version).await?;
            Ok(Json(json!({ "plan": plan, "version": version })).into_response())
        }
        Err(e) => Err(refused(&state, &user, id, e).await),
    }
}

#[derive(Deserialize, Serialize)]
pub struct ReturnInput {
    #[serde(default)]
    comment: String,
}

pub async fn return_for_revision(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<i64>,
    Body(input): Body<ReturnInput>,
) -> ApiResult {
    let outcome = actions::return_for_revision(&state, &user, id, &input.comment).await?;
    after_transition(&state, &user, id, outcome).await
}

pub async fn start_changes(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<i64>) -> ApiResult {
    let outcome = actions::start_changes(&state, &user, id).await?;
    after_transition(&state, &user, id, outcome).await
}
