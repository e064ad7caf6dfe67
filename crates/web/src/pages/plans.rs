//! «Планы-графики размещения заказов»: the list, and the actions on a plan — its header,
//! positions, submission, the superior's decision and change rounds. The plan page itself is
//! rendered by [`super::plan_page`].

use crate::AppState;
use crate::api::Id;
use crate::auth::{CurrentUser, Post};
use crate::error::{WebError, WebResult};
use crate::pages::plan_page::{Extra, notice_text, render_plan};
use crate::view::{Chrome, fmt_time, html};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use domain::ids::{PlanId, PositionId};
use serde::Deserialize;

#[derive(Clone)]
struct PlanRow {
    id: PlanId,
    org_name: String,
    year: i32,
    status: &'static str,
    positions: i64,
    versions: i64,
    updated: String,
}

/// The «Загрузить из ЕИС» form's fields as typed.
#[derive(Default)]
pub(super) struct TypedTake {
    pub(super) year: String,
    pub(super) number: String,
}

#[derive(Template)]
#[template(path = "plans.html")]
struct PlansPage {
    chrome: Option<Chrome>,
    csrf: String,
    queue: Vec<PlanRow>,
    rows: Vec<PlanRow>,
    /// Rows of each table in all its pages, and the links to those pages.
    total: i64,
    queue_total: i64,
    pages: Vec<(i64, String, bool)>,
    queue_pages: Vec<(i64, String, bool)>,
    can_create: bool,
    can_bulk_approve: bool,
    years: Vec<i32>,
    default_year: i32,
    /// «Загрузить из ЕИС» as typed, when it comes back refused.
    take: TypedTake,
    notice: Option<String>,
    error: Option<String>,
    problems: Vec<String>,
}

async fn plans_page(state: &AppState, session: &store::users::Session, error: Option<WebError>) -> WebResult<Response> {
    plans_page_with(state, session, &ListQuery::default(), None, error, vec![], None).await
}

/// Rows per table of the list.
const LIST_PAGE: i64 = 50;

/// The pages of the two tables: all plans, and the approver's queue.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    queue_page: Option<String>,
}

/// Links to the pages of a table of `total` rows; empty when one page holds them.
fn list_links(total: i64, current: i64, href: impl Fn(i64) -> String) -> Vec<(i64, String, bool)> {
    let last = ((total + LIST_PAGE - 1) / LIST_PAGE).max(1);
    if last == 1 {
        return Vec::new();
    }
    (1..=last)
        .filter(|n| *n == 1 || *n == last || (n - current).abs() <= 3)
        .map(|n| (n, href(n), n == current))
        .collect()
}

fn plan_row(i: store::plans::PlanListItem) -> PlanRow {
    PlanRow {
        id: i.plan.id,
        org_name: i.org_name,
        year: i.plan.plan_year,
        status: i.plan.status.title(),
        positions: i.position_count,
        versions: i.version_count,
        updated: fmt_time(i.plan.updated_at),
    }
}

pub(super) async fn plans_page_with(
    state: &AppState,
    session: &store::users::Session,
    query: &ListQuery,
    notice: Option<String>,
    error: Option<WebError>,
    problems: Vec<String>,
    take: Option<TypedTake>,
) -> WebResult<Response> {
    let user = &session.user;
    let page_of = |raw: &Option<String>| super::page_number(raw.as_deref()).map_err(WebError::bad_request);
    let (page, queue_page) = (page_of(&query.page)?, page_of(&query.queue_page)?);
    use store::plans::PlanListKind::{All, AwaitingApproval};
    let counts = state.app.plan_counts(user).await?;
    let total = counts.of(All);
    let items = state.app.visible_plans_page(user, All, &counts, page, LIST_PAGE).await?;
    let rows: Vec<PlanRow> = items.into_iter().map(plan_row).collect();
    let (queue, queue_total) = if user.roles.approves_plans() {
        let items = state.app.visible_plans_page(user, AwaitingApproval, &counts, queue_page, LIST_PAGE).await?;
        (items.into_iter().map(plan_row).collect(), counts.of(AwaitingApproval))
    } else {
        (Vec::new(), 0)
    };
    let this_year = chrono::Utc::now().with_timezone(&domain::format::moscow()).year();
    let page = PlansPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        queue,
        rows,
        total,
        queue_total,
        pages: list_links(total, page, |n| format!("/plans?page={n}&queue_page={queue_page}")),
        queue_pages: list_links(queue_total, queue_page, |n| format!("/plans?page={page}&queue_page={n}")),
        can_create: user.roles.edits_plans(),
        can_bulk_approve: user.roles.approves_plans(),
        years: (this_year - 1..=this_year + 2).collect(),
        default_year: this_year + 1,
        take: take.unwrap_or_default(),
        notice,
        error: error.as_ref().map(|e| e.detail().to_owned()),
        problems,
    };
    let status = error.map(|e| e.status()).unwrap_or(axum::http::StatusCode::OK);
    Ok((status, html(&page)?).into_response())
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Query(q): Query<ListQuery>,
) -> WebResult<Response> {
    plans_page_with(&state, &session, &q, None, None, vec![], None).await
}

#[derive(Deserialize)]
pub struct CreatePlan {
    #[serde(default)]
    plan_year: String,
}

pub async fn create(State(state): State<AppState>, post: Post<CreatePlan>) -> WebResult<Response> {
    match state.app.create_plan(&post.session.user, &post.form.plan_year).await {
        Ok(plan) => Ok(Redirect::to(&format!("/plans/{}", plan.id)).into_response()),
        Err(e @ (app::Error::Fields { .. } | app::Error::Refused { .. })) => {
            plans_page(&state, &post.session, Some(e.into())).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct OwnerForm {
    #[serde(default)]
    owner_role: String,
    #[serde(default)]
    row_version: String,
}

#[derive(Deserialize)]
pub struct ResponsibleForm {
    #[serde(default)]
    row_version: String,
    #[serde(default)]
    responsible_last_name: String,
    #[serde(default)]
    responsible_first_name: String,
    #[serde(default)]
    responsible_middle_name: String,
    #[serde(default)]
    responsible_position: String,
    #[serde(default)]
    responsible_phone: String,
}

const HEADER_STALE: &str = "План-график изменён другим пользователем: проверьте данные и сохраните ещё раз.";

/// «Ответственный исполнитель» of the plan.
pub async fn set_responsible(
    State(state): State<AppState>,
    Id(id): Id<PlanId>,
    post: Post<ResponsibleForm>,
) -> WebResult<Response> {
    let f = &post.form;
    let raw = domain::plan::ResponsiblePerson {
        last_name: f.responsible_last_name.clone(),
        first_name: f.responsible_first_name.clone(),
        middle_name: f.responsible_middle_name.clone(),
        position: f.responsible_position.clone(),
        phone: f.responsible_phone.clone(),
    };
    let expected: i64 = f
        .row_version
        .trim()
        .parse()
        .map_err(|_| WebError::bad_request("Форма заполнена некорректно: нет версии документа"))?;
    let (error, field_errors) = match state.app.set_responsible(&post.session.user, id, &raw, expected).await {
        Ok(()) => return Ok(redirect(id, "positions", "responsible")),
        Err(app::Error::Fields { message, errors }) => {
            (WebError::new(StatusCode::UNPROCESSABLE_ENTITY, message), errors)
        }
        Err(app::Error::Stale) => (WebError::conflict(HEADER_STALE), vec![]),
        Err(e) => return Err(e.into()),
    };
    let extra = Extra { field_errors, responsible: Some(raw), ..Extra::error(error) };
    render_plan(&state, &post.session, id, "positions", extra).await
}

/// Who places the plan in ЕИС: the customer (CU), or its superior under an agreement (OA).
pub async fn set_owner(
    State(state): State<AppState>,
    Id(id): Id<PlanId>,
    post: Post<OwnerForm>,
) -> WebResult<Response> {
    let expected: i64 = post
        .form
        .row_version
        .trim()
        .parse()
        .map_err(|_| WebError::bad_request("Форма заполнена некорректно: нет версии документа"))?;
    let error = match state.app.set_owner_role(&post.session.user, id, &post.form.owner_role, expected).await {
        Ok(()) => return Ok(redirect(id, "positions", "owner")),
        Err(e @ app::Error::Fields { .. }) => e.into(),
        Err(app::Error::Stale) => WebError::conflict(HEADER_STALE),
        Err(e) => return Err(e.into()),
    };
    show_error(&state, &post.session, id, "positions", error).await
}

#[derive(Deserialize, Default)]
pub struct ViewQuery {
    #[serde(default)]
    tab: Option<String>,
    #[serde(default)]
    notice: Option<String>,
    #[serde(flatten)]
    positions: crate::pages::plan_page::PositionsQuery,
}

pub async fn view(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<PlanId>,
    Query(q): Query<ViewQuery>,
) -> WebResult<Response> {
    let tab = q.tab.as_deref().filter(|t| matches!(*t, "versions" | "journal")).unwrap_or("positions");
    let extra =
        Extra { notice: q.notice.as_deref().and_then(notice_text), query: Some(q.positions), ..Extra::default() };
    render_plan(&state, &session, id, tab, extra).await
}

fn redirect(plan_id: PlanId, tab: &str, notice: &str) -> Response {
    Redirect::to(&format!("/plans/{plan_id}?tab={tab}&notice={notice}")).into_response()
}

pub(super) async fn show_error(
    state: &AppState,
    session: &store::users::Session,
    plan_id: PlanId,
    tab: &str,
    e: WebError,
) -> WebResult<Response> {
    render_plan(state, session, plan_id, tab, Extra::error(e)).await
}

/// After an action on the plan: to the tab that shows its outcome, or the plan page again
/// saying why it was refused. A fault of plangraf, or a plan the caller may not read, is an
/// error page.
async fn after_action(
    state: &AppState,
    session: &store::users::Session,
    plan_id: PlanId,
    outcome: app::Result<()>,
    done: (&str, &str),
) -> WebResult<Response> {
    match outcome {
        Ok(()) => Ok(redirect(plan_id, done.0, done.1)),
        Err(e @ (app::Error::Refused { .. } | app::Error::Fields { .. } | app::Error::Stale)) => {
            show_error(state, session, plan_id, "positions", e.into()).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn add_position(
    State(state): State<AppState>,
    Id(id): Id<PlanId>,
    post: Post<Vec<(String, String)>>,
) -> WebResult<Response> {
    let user = &post.session.user;
    let plan = state.app.editable_plan(user, id).await?;
    let draft = crate::pages::position_form::draft_from_form(&post.form);
    // Adding checks only that the plan is still editable: no version to name.
    let (error, field_errors) = match state.app.add_position(user, &plan, &draft).await {
        Ok(_) => return Ok(redirect(id, "positions", "added")),
        Err(app::Error::Fields { message, errors }) => {
            (WebError::new(StatusCode::UNPROCESSABLE_ENTITY, message), errors)
        }
        Err(e) => return Err(e.into()),
    };
    let extra = Extra { draft: Some(draft), field_errors, ..Extra::error(error) };
    render_plan(&state, &post.session, id, "positions", extra).await
}

#[derive(Deserialize)]
pub struct RowVersion {
    #[serde(default)]
    row_version: i64,
}

pub async fn delete_position(
    State(state): State<AppState>,
    Id((id, position_id)): Id<(PlanId, PositionId)>,
    post: Post<RowVersion>,
) -> WebResult<Response> {
    let user = &post.session.user;
    let l = state.app.editable_position(user, id, position_id).await?;
    // The row version is the position's: another user's change of this position refuses it.
    let outcome = state.app.delete_position(user, &l, post.form.row_version).await;
    if let Err(app::Error::Stale) = outcome {
        let e = WebError::conflict(
            "Эту позицию изменил другой пользователь, пока вы смотрели список. Позиция не удалена: список обновлён — проверьте её и удалите ещё раз, если нужно.",
        );
        return show_error(&state, &post.session, id, "positions", e).await;
    }
    after_action(&state, &post.session, id, outcome, ("positions", "deleted")).await
}

#[derive(Deserialize)]
pub struct NoFields {}

pub async fn submit(State(state): State<AppState>, Id(id): Id<PlanId>, post: Post<NoFields>) -> WebResult<Response> {
    let outcome = state.app.submit(&post.session.user, id).await;
    after_action(&state, &post.session, id, outcome, ("positions", "submitted")).await
}

#[derive(Deserialize)]
pub struct ApproveForm {
    /// The approver's signature of the version's content (`static/ecp.js` fills it), when the
    /// organization requires one.
    #[serde(default)]
    signature: String,
}

pub async fn approve(
    State(state): State<AppState>,
    Id(id): Id<PlanId>,
    post: Post<ApproveForm>,
) -> WebResult<Response> {
    let signature = post.form.signature.trim();
    let signature = (!signature.is_empty()).then_some(signature.as_bytes());
    let outcome = state.app.approve_signed(&post.session.user, id, signature).await.map(|_| ());
    after_action(&state, &post.session, id, outcome, ("versions", "approved")).await
}

/// «Внести изменения»
pub async fn start_changes(
    State(state): State<AppState>,
    Id(id): Id<PlanId>,
    post: Post<NoFields>,
) -> WebResult<Response> {
    let outcome = state.app.start_changes(&post.session.user, id).await;
    after_action(&state, &post.session, id, outcome, ("positions", "changing")).await
}

/// «Утвердить выбранные» from the approver's list: approved one by one by a job whose page
/// shows the progress.
pub async fn approve_bulk(State(state): State<AppState>, post: Post<Vec<(String, String)>>) -> WebResult<Response> {
    let ids: Vec<PlanId> =
        post.form.iter().filter(|(k, _)| k == "plan").filter_map(|(_, v)| v.parse().ok().map(PlanId)).collect();
    if ids.is_empty() {
        let none = WebError::new(StatusCode::UNPROCESSABLE_ENTITY, "Отметьте планы-графики, которые нужно утвердить");
        return plans_page(&state, &post.session, Some(none)).await;
    }
    Ok(crate::pages::jobs::to_job(state.app.start_approve_many(&post.session.user, ids).await?))
}

#[derive(Deserialize)]
pub struct ReturnForm {
    #[serde(default)]
    comment: String,
}

pub async fn return_for_revision(
    State(state): State<AppState>,
    Id(id): Id<PlanId>,
    post: Post<ReturnForm>,
) -> WebResult<Response> {
    let outcome = state.app.return_for_revision(&post.session.user, id, &post.form.comment).await;
    after_action(&state, &post.session, id, outcome, ("positions", "returned")).await
}
