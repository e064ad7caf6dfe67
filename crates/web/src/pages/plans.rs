//! «Планы-графики размещения заказов»: the list, the plan form with its tabs, positions,
//! submission and the superior's decision.

use crate::AppState;
use crate::api::Id;
use crate::auth::{CurrentUser, Post};
use crate::error::{WebError, WebResult};
use crate::pages::position_form::{FormContext, field, messages};
use crate::view::{Chrome, fmt_time, html};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use domain::plan::{self, FieldError, PositionDraft, YearAmounts};
use domain::{PlanStatus, SendStatus};
use serde::Deserialize;

#[derive(Clone)]
struct PlanRow {
    id: i64,
    /// On approval at the signed-in approver's organization.
    awaits_me: bool,
    org_name: String,
    year: i32,
    status: &'static str,
    positions: i64,
    versions: i64,
    updated: String,
}

#[derive(Template)]
#[template(path = "plans.html")]
struct PlansPage {
    chrome: Option<Chrome>,
    csrf: String,
    queue: Vec<PlanRow>,
    rows: Vec<PlanRow>,
    can_create: bool,
    can_bulk_approve: bool,
    years: Vec<i32>,
    default_year: i32,
    notice: Option<String>,
    error: Option<String>,
    problems: Vec<String>,
}

async fn plans_page(state: &AppState, session: &store::users::Session, error: Option<WebError>) -> WebResult<Response> {
    plans_page_with(state, session, None, error, vec![]).await
}

async fn plans_page_with(
    state: &AppState,
    session: &store::users::Session,
    notice: Option<String>,
    error: Option<WebError>,
    problems: Vec<String>,
) -> WebResult<Response> {
    let items = state.app.visible_plans(&session.user).await?;
    let rows: Vec<PlanRow> = items
        .into_iter()
        .map(|i| PlanRow {
            // The approver's queue: subordinates' plans on approval, never the own organization's.
            awaits_me: session.user.role.approves_plans()
                && i.plan.status == PlanStatus::OnApproval
                && i.plan.org_id != session.user.org_id,
            id: i.plan.id,
            org_name: i.org_name,
            year: i.plan.plan_year,
            status: i.plan.status.title(),
            positions: i.position_count,
            versions: i.version_count,
            updated: fmt_time(i.plan.updated_at),
        })
        .collect();
    let this_year = chrono::Utc::now().with_timezone(&domain::format::moscow()).year();
    let page = PlansPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        queue: rows.iter().filter(|r| r.awaits_me).cloned().collect(),
        rows,
        can_create: session.user.role.edits_plans(),
        can_bulk_approve: session.user.role.approves_plans(),
        years: (this_year - 1..=this_year + 2).collect(),
        default_year: this_year + 1,
        notice,
        error: error.as_ref().map(|e| e.detail().to_owned()),
        problems,
    };
    let status = error.map(|e| e.status()).unwrap_or(axum::http::StatusCode::OK);
    Ok((status, html(&page)?).into_response())
}

pub async fn list(State(state): State<AppState>, CurrentUser(session): CurrentUser) -> WebResult<Response> {
    plans_page(&state, &session, None).await
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

pub struct PositionRow {
    id: i64,
    mark: &'static str,
    change: Option<String>,
    in_base: bool,
    number: String,
    ikz: String,
    object: String,
    okpd2: String,
    kvr: String,
    /// Breakdown lines as «КБК … : сумма» for the table.
    lines: Vec<String>,
    energy_service: bool,
    public_discussion: bool,
    publish_year: i32,
    amounts: YearAmounts,
}

pub struct FindingRow {
    place: String,
    message: String,
    link: Option<String>,
}

pub struct VersionRow {
    id: i64,
    number: i64,
    approved_at: String,
    approved_by: String,
    positions: usize,
    total_current: domain::Money,
    status: &'static str,
    status_class: &'static str,
    can_send: bool,
    send_blocked: String,
}

pub struct JournalRow {
    at: String,
    who: String,
    action: String,
    details: String,
}

#[derive(Template)]
#[template(path = "plan.html")]
pub struct PlanPage {
    chrome: Option<Chrome>,
    csrf: String,
    id: i64,
    year: i32,
    org_name: String,
    org_short: String,
    org_spz: String,
    org_type: &'static str,
    owner_role: &'static str,
    owner_role_title: &'static str,
    agent_name: Option<String>,
    has_superior: bool,
    responsible_text: Option<String>,
    responsible: domain::plan::ResponsiblePerson,
    status: &'static str,
    eis_plan_number: Option<String>,
    return_comment: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    tab: String,
    can_edit: bool,
    can_submit: bool,
    can_decide: bool,
    can_start_changes: bool,
    has_base: bool,
    row_version: i64,
    positions: Vec<PositionRow>,
    totals: YearAmounts,
    findings: Vec<FindingRow>,
    draft: PositionDraft,
    form: FormContext,
    field_errors: Vec<FieldError>,
    versions: Vec<VersionRow>,
    journal: Vec<JournalRow>,
}

impl PlanPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.field_errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    fn errs(&self, field: &str) -> Vec<&str> {
        messages(&self.field_errors, field)
    }
    fn responsible_has_errors(&self) -> bool {
        self.field_errors.iter().any(|e| e.field.starts_with("responsible_"))
    }
    fn responsible_fields(&self) -> [(&'static str, &'static str, &str); 5] {
        let r = &self.responsible;
        [
            ("responsible_last_name", "Фамилия", &r.last_name),
            ("responsible_first_name", "Имя", &r.first_name),
            ("responsible_middle_name", "Отчество", &r.middle_name),
            ("responsible_position", "Должность", &r.position),
            ("responsible_phone", "Телефон", &r.phone),
        ]
    }
}

/// CSS class of a send status on the page.
pub fn status_class(s: Option<SendStatus>) -> &'static str {
    match s {
        Some(SendStatus::Loaded | SendStatus::Published) => "ok",
        Some(
            SendStatus::AuthError
            | SendStatus::Rejected
            | SendStatus::Conflict
            | SendStatus::RequestRefused
            | SendStatus::GaveUp,
        ) => "bad",
        Some(SendStatus::Queued | SendStatus::Processing) => "wait",
        None => "",
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
    Id(id): Id<i64>,
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
pub async fn set_owner(State(state): State<AppState>, Id(id): Id<i64>, post: Post<OwnerForm>) -> WebResult<Response> {
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

/// The pre-flight findings; while the plan can be edited, each one links to the field of its
/// position.
fn finding_rows(found: Vec<domain::Finding>, editable: Option<(i64, &[(u16, i64)])>) -> Vec<FindingRow> {
    found
        .into_iter()
        .map(|f| {
            let link = match (editable, f.purchase_number) {
                (Some((plan_id, ids)), Some(n)) => ids
                    .iter()
                    .find(|(number, _)| *number == n)
                    .map(|(_, id)| format!("/plans/{plan_id}/positions/{id}/edit#{}", f.field)),
                _ => None,
            };
            FindingRow {
                place: match f.purchase_number {
                    Some(n) => format!("Позиция {n:04}"),
                    None => "План-график".into(),
                },
                message: f.message,
                link,
            }
        })
        .collect()
}

#[derive(Deserialize, Default)]
pub struct ViewQuery {
    #[serde(default)]
    tab: Option<String>,
    #[serde(default)]
    notice: Option<String>,
}

/// Messages shown after a redirect; only known codes are shown, so a link cannot inject text.
fn notice_text(code: &str) -> Option<String> {
    Some(
        match code {
            "added" => "Позиция добавлена",
            "deleted" => "Позиция удалена",
            "submitted" => "План-график отправлен на согласование",
            "approved" => "План-график утвержден, создана новая версия",
            "returned" => "План-график возвращён на доработку",
            "changing" => "Открыт новый цикл изменений: измените или отмените позиции с обоснованием, затем отправьте на согласование",
            "updated" => "Позиция изменена",
            "canceled" => "Закупка отменена",
            "owner" => "Изменено, кто размещает план-график в ЕИС",
            "responsible" => "Ответственный исполнитель сохранён",
            _ => return None,
        }
        .to_owned(),
    )
}

#[derive(Default)]
struct Extra {
    notice: Option<String>,
    error: Option<String>,
    /// The status of the answer: the refusal's, or 200.
    status: Option<StatusCode>,
    draft: Option<PositionDraft>,
    field_errors: Vec<FieldError>,
    /// The responsible person as typed, when the header form comes back with errors.
    responsible: Option<domain::plan::ResponsiblePerson>,
}

impl Extra {
    /// The page again, saying why the action was not done, with the refusal's status.
    fn error(e: WebError) -> Extra {
        let mut message = e.detail().to_owned();
        for p in e.problems() {
            message.push_str("; ");
            message.push_str(&p.message);
        }
        Extra { error: Some(message), status: Some(e.status()), ..Extra::default() }
    }
}

async fn render_plan(
    state: &AppState,
    session: &store::users::Session,
    plan_id: i64,
    tab: &str,
    extra: Extra,
) -> WebResult<Response> {
    let user = &session.user;
    let view = state.app.plan_view(user, plan_id).await?;
    let may = view.plan.permissions();
    let (plan, owner) = view.plan.into_parts();
    let app::snapshot::Checked { snapshot, base, findings: found } = view.checked;
    let iku = snapshot.owner_iku().to_owned();
    let stored = view.positions;
    let position_ids: Vec<(u16, i64)> = stored.iter().map(|sp| (sp.position.purchase_number.get(), sp.id)).collect();
    let positions: Vec<PositionRow> = stored
        .into_iter()
        .map(|sp| {
            let p = sp.position;
            let before = base.as_ref().and_then(|b| b.position(p.purchase_number));
            PositionRow {
                id: sp.id,
                mark: if p.is_canceled() { "Отменена" } else { p.mark(before).title() },
                change: p.change.as_ref().map(|c| {
                    // The reason's name from НСИ, kept with the change; the bare code only if it had none.
                    let reason = if c.reason_name.trim().is_empty() {
                        format!("код {}", c.reason_code)
                    } else {
                        c.reason_name.clone()
                    };
                    format!("{}. Причина: {}. Обоснование: {}", c.decision.title(), reason, c.description)
                }),
                in_base: before.is_some(),
                number: p.purchase_number.padded(),
                ikz: p.ikz(&iku).unwrap_or_else(|_| "— (проверьте ИНН/КПП заказчика)".into()),
                object: p.title(),
                okpd2: if p.is_special() { "—".into() } else { p.okpd2_text() },
                kvr: p.kvr_text().to_owned(),
                lines: p
                    .kbks
                    .iter()
                    .map(|l| ("КБК", l))
                    .chain(p.kvrs.iter().map(|l| ("КВР", l)))
                    .chain(p.target_articles.iter().map(|l| ("Целевая статья", l)))
                    .map(|(name, l)| format!("{name} {}: {}", l.code, l.amounts.total()))
                    .collect(),
                energy_service: p.energy_service,
                public_discussion: p.public_discussion,
                publish_year: p.publish_year,
                amounts: p.amounts,
            }
        })
        .collect();
    let mut versions = Vec::new();
    if tab == "versions" {
        for v in state.app.store().versions(plan.id).await? {
            let latest = state.app.store().latest_send(v.id).await?.map(|s| s.status);
            let approver = state.app.store().user(v.approved_by).await?.map(|u| u.full_name).unwrap_or_default();
            let blocked = state.app.send_blocked(user, v.id).await?;
            versions.push(VersionRow {
                id: v.id,
                number: v.version_number,
                approved_at: fmt_time(v.approved_at),
                approved_by: approver,
                positions: v.snapshot.positions.len(),
                total_current: v.snapshot.totals().current,
                status: latest.map(SendStatus::title).unwrap_or(SendStatus::NOT_SENT_TITLE),
                status_class: status_class(latest),
                can_send: blocked.is_none(),
                send_blocked: blocked.unwrap_or_default(),
            });
        }
    }
    let journal = if tab == "journal" {
        state
            .app
            .store()
            .audit_for("plan", plan.id)
            .await?
            .into_iter()
            .map(|e| JournalRow {
                at: fmt_time(e.at),
                who: e.user_name.unwrap_or_default(),
                action: e.action,
                details: e.details,
            })
            .collect()
    } else {
        Vec::new()
    };
    let can_edit = may.edit;
    let draft =
        extra.draft.unwrap_or_else(|| PositionDraft { publish_year: plan.plan_year.to_string(), ..Default::default() });
    let next_number = plan::next_purchase_number(snapshot.positions.iter().map(|p| p.purchase_number))
        .unwrap_or_else(|_| domain::ikz::PurchaseNumber::new(9999).expect("in range"));
    let form = FormContext::new(state, owner.org_type, &iku, next_number, &draft).await?;
    let page = PlanPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        id: plan.id,
        year: plan.plan_year,
        org_name: owner.name.clone(),
        org_short: owner.short_name.clone(),
        org_spz: owner.spz_code.clone(),
        org_type: owner.org_type.title(),
        owner_role: plan.owner_role.code(),
        owner_role_title: plan.owner_role.title(),
        agent_name: snapshot.agent.as_ref().map(|a| a.name.clone()),
        has_superior: owner.superior_id.is_some(),
        responsible_text: plan.responsible.as_ref().map(domain::plan::ResponsiblePerson::display),
        responsible: extra.responsible.or_else(|| plan.responsible.clone()).unwrap_or_default(),
        status: plan.status.title(),
        eis_plan_number: plan.eis_plan_number.clone(),
        return_comment: if plan.status == PlanStatus::Revision { plan.return_comment.clone() } else { None },
        notice: extra.notice,
        error: extra.error.clone(),
        tab: tab.to_owned(),
        can_edit,
        can_submit: may.submit,
        can_decide: may.decide,
        can_start_changes: may.start_changes,
        has_base: base.is_some(),
        row_version: plan.row_version,
        totals: snapshot.totals(),
        findings: finding_rows(found, can_edit.then_some((plan.id, &position_ids))),
        positions,
        form,
        draft,
        field_errors: extra.field_errors,
        versions,
        journal,
    };
    let status = match extra.status {
        Some(status) => status,
        None if extra.error.is_some() || !page.field_errors.is_empty() => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn view(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<i64>,
    Query(q): Query<ViewQuery>,
) -> WebResult<Response> {
    let tab = q.tab.as_deref().filter(|t| matches!(*t, "versions" | "journal")).unwrap_or("positions");
    let extra = Extra { notice: q.notice.as_deref().and_then(notice_text), ..Extra::default() };
    render_plan(&state, &session, id, tab, extra).await
}

fn redirect(plan_id: i64, tab: &str, notice: &str) -> Response {
    Redirect::to(&format!("/plans/{plan_id}?tab={tab}&notice={notice}")).into_response()
}

async fn show_error(
    state: &AppState,
    session: &store::users::Session,
    plan_id: i64,
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
    plan_id: i64,
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
    Id(id): Id<i64>,
    post: Post<Vec<(String, String)>>,
) -> WebResult<Response> {
    let user = &post.session.user;
    let plan = state.app.editable_plan(user, id).await?;
    let draft = PositionDraft::from_form(&post.form);
    let row_version: i64 = field(&post.form, "row_version")
        .trim()
        .parse()
        .map_err(|_| WebError::bad_request("Форма заполнена некорректно: нет версии документа"))?;
    let (error, field_errors) = match state.app.add_position(user, &plan, &draft, row_version).await {
        Ok(_) => return Ok(redirect(id, "positions", "added")),
        Err(app::Error::Stale) => (
            WebError::conflict(
                "План-график изменён другим пользователем, пока вы заполняли форму. Введённые данные сохранены в форме: проверьте список позиций и нажмите «Добавить позицию» ещё раз.",
            ),
            vec![],
        ),
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
    Id((id, position_id)): Id<(i64, i64)>,
    post: Post<RowVersion>,
) -> WebResult<Response> {
    let user = &post.session.user;
    let l = state.app.editable_position(user, id, position_id).await?;
    let outcome = state.app.delete_position(user, &l, post.form.row_version).await;
    after_action(&state, &post.session, id, outcome, ("positions", "deleted")).await
}

#[derive(Deserialize)]
pub struct NoFields {}

pub async fn submit(State(state): State<AppState>, Id(id): Id<i64>, post: Post<NoFields>) -> WebResult<Response> {
    let outcome = state.app.submit(&post.session.user, id).await;
    after_action(&state, &post.session, id, outcome, ("positions", "submitted")).await
}

pub async fn approve(State(state): State<AppState>, Id(id): Id<i64>, post: Post<NoFields>) -> WebResult<Response> {
    let outcome = state.app.approve(&post.session.user, id).await.map(|_| ());
    after_action(&state, &post.session, id, outcome, ("versions", "approved")).await
}

/// «Внести изменения»
pub async fn start_changes(
    State(state): State<AppState>,
    Id(id): Id<i64>,
    post: Post<NoFields>,
) -> WebResult<Response> {
    let outcome = state.app.start_changes(&post.session.user, id).await;
    after_action(&state, &post.session, id, outcome, ("positions", "changing")).await
}

/// «Утвердить выбранные» from the approver's list.
pub async fn approve_bulk(State(state): State<AppState>, post: Post<Vec<(String, String)>>) -> WebResult<Response> {
    let ids: Vec<i64> = post.form.iter().filter(|(k, _)| k == "plan").filter_map(|(_, v)| v.parse().ok()).collect();
    if ids.is_empty() {
        let none = WebError::new(StatusCode::UNPROCESSABLE_ENTITY, "Отметьте планы-графики, которые нужно утвердить");
        return plans_page(&state, &post.session, Some(none)).await;
    }
    let outcome = state.app.approve_many(&post.session.user, &ids).await?;
    let notice = (outcome.approved > 0).then(|| format!("Утверждено планов-графиков: {}", outcome.approved));
    plans_page_with(&state, &post.session, notice, None, outcome.problems).await
}

#[derive(Deserialize)]
pub struct ReturnForm {
    #[serde(default)]
    comment: String,
}

pub async fn return_for_revision(
    State(state): State<AppState>,
    Id(id): Id<i64>,
    post: Post<ReturnForm>,
) -> WebResult<Response> {
    let outcome = state.app.return_for_revision(&post.session.user, id, &post.form.comment).await;
    after_action(&state, &post.session, id, outcome, ("positions", "returned")).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn position_form_parses() {
        // Fields left empty by the browser may be missing altogether.
        let body = "object_info=x&publish_year=2026&okpd2=58.11&amount_current=1&row_version=3&csrf=abc";
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap();
        let draft = domain::plan::PositionDraft::from_form(&pairs);
        assert_eq!(super::field(&pairs, "row_version"), "3");
        assert_eq!(draft.okpd2, "58.11");
        assert!(draft.lines.is_empty() && !draft.public_discussion);
    }
}
