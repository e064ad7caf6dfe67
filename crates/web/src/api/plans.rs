//! Plan-schedules, their positions and the approval transitions: each handler reads the
//! request, calls one use case of the workflow layer and answers with the plan as it is now.

use crate::AppState;
use crate::api::model::{
    FIRST_PAGE, PlanData, PlanList, PlanSummary, PositionOut, PositionPage, PositionResult, VersionSummary,
};
use crate::api::query::{Query, plan_cursor_after, plan_cursor_id, position_cursor_after, position_cursor_number};
use crate::api::{Body, Id, OptionalBody};
use crate::auth::ApiUser;
use crate::error::WebError;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use domain::ids::{PlanId, PositionId};
use domain::plan::{FieldError, PositionDraft};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::plans::PositionFilter;
use store::users::User;

type ApiResult<T = Response> = Result<T, WebError>;

/// `GET /api/v1/plans`: a page of the plans the caller sees, by id, with a cursor for the next.
pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<PlanList>> {
    let query = Query::parse(query.as_deref()).map_err(WebError::bad_request)?;
    let limit = query.limit(FIRST_PAGE, app::plans::MAX_PAGE).map_err(WebError::bad_request)?;
    let after = query.cursor(plan_cursor_id).map_err(WebError::bad_request)?;
    let kind = match query.flag("awaiting").map_err(WebError::bad_request)? {
        true => store::plans::PlanListKind::AwaitingApproval,
        false => store::plans::PlanListKind::All,
    };
    let counts = state.app.plan_counts(&user).await?;
    let mut items = state.app.visible_plans_after(&user, kind, after, limit + 1).await?;
    let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = match (more, items.last()) {
        (true, Some(last)) => Some(plan_cursor_after(last.plan.id)),
        _ => None,
    };
    Ok(Json(PlanList {
        items: items.into_iter().map(|i| PlanSummary::of(i, &user)).collect(),
        next_cursor,
        count: counts.of(kind),
    }))
}

/// The plan's detail as the caller sees it now.
async fn detail(state: &AppState, user: &User, plan_id: PlanId) -> ApiResult<serde_json::Value> {
    let data = PlanData::load(state, user, plan_id).await?;
    serde_json::to_value(data.detail()).map_err(WebError::internal)
}

/// Answers with the plan's detail (after a change, or when asked), serialized once, straight
/// from the view.
async fn plan_now(state: &AppState, user: &User, plan_id: PlanId) -> ApiResult {
    let data = PlanData::load(state, user, plan_id).await?;
    Ok(Json(data.detail()).into_response())
}

pub async fn get(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<PlanId>) -> ApiResult {
    plan_now(&state, &user, id).await
}

/// `GET /api/v1/plans/{id}/positions`: a page of the working copy's positions by purchase
/// number, filtered, with an opaque cursor for the next page.
pub async fn positions(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<PlanId>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let query = Query::parse(query.as_deref()).map_err(WebError::bad_request)?;
    let limit = query.limit(FIRST_PAGE, app::plans::MAX_PAGE).map_err(WebError::bad_request)?;
    // What the OpenAPI document allows and nothing else: an empty value is not an absent one.
    let after = query.cursor(position_cursor_number).map_err(WebError::bad_request)?;
    let mark = match query.text("mark") {
        None => None,
        Some(m) => Some(app::plans::MarkFilter::from_code(&m).ok_or_else(|| {
            WebError::bad_request(format!("Параметр mark может быть changed, canceled или new, получено «{m}»"))
        })?),
    };
    let findings_only = query.flag("findings").map_err(WebError::bad_request)?;
    let text = |name: &str, max: usize| query.bounded_text(name, max).map_err(WebError::bad_request);
    let q = app::plans::PositionQuery {
        filter: PositionFilter {
            search: text("q", PositionFilter::MAX_SEARCH)?,
            okpd2_prefix: text("okpd2", PositionFilter::MAX_OKPD2)?,
            kvr: text("kvr", PositionFilter::MAX_KVR)?,
            ..Default::default()
        },
        mark,
        findings_only,
        after,
        offset: 0,
        limit,
    };
    let view = state.app.plan_view(&user, id, &q).await?;
    let iku = view.iku.as_ref();
    let page = PositionPage {
        items: view
            .page
            .iter()
            .map(|sp| PositionOut::of(sp, iku, view.findings.rules.mark(sp.position.purchase_number.get())))
            .collect(),
        next_cursor: match (view.more, view.page.last()) {
            (true, Some(last)) => Some(position_cursor_after(last.position.purchase_number.get())),
            _ => None,
        },
        count: view.matching.count,
        totals: view.matching.amounts,
    };
    Ok(Json(page).into_response())
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

/// A position as typed, with the position's `row_version` the client read (when changing one;
/// adding names none) and, for a position of the approved version, the justification of the
/// change.
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

/// The `row_version` of the position being changed.
fn position_version(v: Option<i64>) -> ApiResult<i64> {
    v.ok_or_else(|| {
        let message = "Укажите row_version — версию позиции из последнего ответа (её поле row_version в GET /api/v1/plans/{id} или в ответе на её изменение)";
        WebError::fields(message, vec![FieldError { field: "row_version", message: message.into() }])
    })
}

const POSITION_STALE: &str = "Позицию изменил или удалил другой пользователь после того, как вы её прочитали: получите план-график заново (GET /api/v1/plans/{id}) и повторите запрос с новым row_version позиции. Изменения не сохранены.";

/// A stale position's refusal names the position, not the plan.
fn position_refusal(e: app::Error) -> WebError {
    match e {
        app::Error::Stale => WebError::conflict(POSITION_STALE),
        other => other.into(),
    }
}

/// Answers with the position as stored now; its row version is the one to name next.
async fn position_result(
    state: &AppState,
    plan: &app::Editable,
    stored: &store::plans::StoredPosition,
    before: Option<&domain::plan::Position>,
    status: StatusCode,
) -> ApiResult {
    let iku = state.app.owner_iku(plan).await?;
    let body = PositionResult {
        row_version: stored.row_version,
        position: PositionOut::against(stored, iku.as_ref(), before),
    };
    let location = format!("/api/v1/plans/{}/positions/{}", plan.plan().id, stored.id);
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
    let stored = state.app.add_position(&user, &plan, &input.draft).await?;
    position_result(&state, &plan, &stored, None, StatusCode::CREATED).await
}

pub async fn update_position(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id((id, position_id)): Id<(PlanId, PositionId)>,
    Body(input): Body<PositionInput>,
) -> ApiResult {
    let l = state.app.editable_position(&user, id, position_id).await?;
    let expected = position_version(input.row_version)?;
    let stored = state
        .app
        .update_position(&user, &l, &input.draft, &input.reason_code, &input.change_description, expected)
        .await
        .map_err(position_refusal)?;
    position_result(&state, &l.plan, &stored, l.base.as_ref(), StatusCode::OK).await
}

/// `DELETE …/positions/{position_id}?row_version=N` with the position's row version: a DELETE
/// carries no body. Answers the plan's row version, which a position's deletion leaves as it is.
pub async fn delete_position(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id((id, position_id)): Id<(PlanId, PositionId)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let l = state.app.editable_position(&user, id, position_id).await?;
    let expected = position_version(
        Query::parse(query.as_deref()).and_then(|q| q.int("row_version")).map_err(WebError::bad_request)?,
    )?;
    state.app.delete_position(&user, &l, expected).await.map_err(position_refusal)?;
    Ok(Json(json!({ "row_version": l.plan.plan().row_version })).into_response())
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
    let expected = position_version(input.row_version)?;
    let stored = state
        .app
        .cancel_position(&user, &l, &input.reason_code, &input.change_description, expected)
        .await
        .map_err(position_refusal)?;
    position_result(&state, &l.plan, &stored, l.base.as_ref(), StatusCode::OK).await
}

pub async fn submit(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<PlanId>) -> ApiResult {
    state.app.submit(&user, id).await?;
    plan_now(&state, &user, id).await
}

#[derive(Deserialize, Serialize)]
pub struct ApproveInput {
    /// The approver's detached CAdES-BES of the approval content, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

pub async fn approve(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<PlanId>,
    OptionalBody(input): OptionalBody<ApproveInput>,
) -> ApiResult {
    let signature = input.and_then(|i| i.signature).filter(|s| !s.trim().is_empty());
    let version = state.app.approve_signed(&user, id, signature.as_deref().map(str::as_bytes)).await?;
    let plan = detail(&state, &user, id).await?;
    let version = VersionSummary::of(&state, &version).await?;
    Ok(Json(json!({ "plan": plan, "version": version })).into_response())
}

#[derive(Deserialize, Serialize)]
pub struct ApprovalContentInput {
    #[serde(default, deserialize_with = "crate::api::int64::option")]
    row_version: Option<i64>,
}

/// The bytes to sign to approve the plan as read at `row_version` (base64): the content of the
/// version approval would create, exactly as it would be stored.
pub async fn approval_content(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<PlanId>,
    Body(input): Body<ApprovalContentInput>,
) -> ApiResult {
    let expected = row_version(input.row_version)?;
    let c = state.app.approval_content(&user, id, expected).await?;
    Ok(Json(json!({
        "content": base64::engine::general_purpose::STANDARD.encode(&c.content),
        "row_version": c.row_version,
        "signature_required": c.signature_required,
    }))
    .into_response())
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
