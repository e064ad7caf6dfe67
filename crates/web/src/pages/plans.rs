//! «Планы-графики размещения заказов»: the list, the plan form with its tabs, positions,
//! submission and the superior's decision.

use crate::AppState;
use crate::access::{actor, plan_ref, readable_plan};
use crate::actions::{self, HeaderRefusal};
use crate::auth::{CurrentUser, Post};
use crate::error::{AppError, AppResult};
use crate::pages::position_form::{FormContext, field, messages};
use crate::pages::{Chrome, fmt_time, html};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use domain::org::iku;
use domain::plan::{self, CustomerSnapshot, FieldError, OwnerRole, PlanSnapshot, PositionDraft, YearAmounts};
use domain::{PlanStatus, SendStatus};
use serde::Deserialize;
use store::orgs::Organization;
use store::plans::Plan;

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

async fn plans_page(state: &AppState, session: &store::users::Session, error: Option<String>) -> AppResult<Response> {
    plans_page_with(state, session, None, error, vec![]).await
}

async fn plans_page_with(
    state: &AppState,
    session: &store::users::Session,
    notice: Option<String>,
    error: Option<String>,
    problems: Vec<String>,
) -> AppResult<Response> {
    let items = state.store.plans_visible_to(session.user.org_id).await?;
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
        error,
        problems,
    };
    let status =
        if page.error.is_some() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    Ok((status, html(&page)?).into_response())
}

pub async fn list(State(state): State<AppState>, CurrentUser(session): CurrentUser) -> AppResult<Response> {
    plans_page(&state, &session, None).await
}

#[derive(Deserialize)]
pub struct CreatePlan {
    #[serde(default)]
    plan_year: String,
}

pub async fn create(State(state): State<AppState>, post: Post<CreatePlan>) -> AppResult<Response> {
    match actions::create_plan(&state, &post.session.user, &post.form.plan_year).await? {
        Ok(plan) => Ok(Redirect::to(&format!("/plans/{}", plan.id)).into_response()),
        Err(refusal) => plans_page(&state, &post.session, Some(refusal.to_string())).await,
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

/// The latest approved version's content: what a change round is compared with.
pub async fn base_snapshot(state: &AppState, plan: &Plan) -> AppResult<Option<PlanSnapshot>> {
    Ok(state.store.versions(plan.id).await?.into_iter().next().map(|v| v.snapshot))
}

pub async fn current_snapshot(state: &AppState, plan: &Plan, owner: &Organization) -> AppResult<PlanSnapshot> {
    let positions = state.store.positions(plan.id).await?.into_iter().map(|p| p.position).collect();
    let agent = match (plan.owner_role, owner.superior_id) {
        (OwnerRole::Agent, Some(superior)) => state.store.organization(superior).await?.map(|o| {
            domain::plan::AgentSnapshot { iku: customer_snapshot(&o).iku, name: o.name, spz_code: o.spz_code }
        }),
        _ => None,
    };
    Ok(PlanSnapshot {
        plan_year: plan.plan_year,
        customer: customer_snapshot(owner),
        agent,
        responsible: plan.responsible.clone(),
        positions,
    })
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
    Path(id): Path<i64>,
    post: Post<ResponsibleForm>,
) -> AppResult<Response> {
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
        .map_err(|_| AppError::BadRequest("Форма заполнена некорректно: нет версии документа".into()))?;
    let (error, field_errors) = match actions::set_responsible(&state, &post.session.user, id, &raw, expected).await? {
        Ok(()) => return Ok(redirect(id, "positions", "responsible")),
        Err(HeaderRefusal::Plan(e)) => return Err(AppError::Forbidden(e.to_string())),
        Err(HeaderRefusal::Fields(errors)) => {
            ("Ответственный исполнитель не сохранён: исправьте отмеченные поля", errors)
        }
        Err(HeaderRefusal::Stale) => (HEADER_STALE, vec![]),
    };
    let extra = Extra { notice: None, error: Some(error.into()), draft: None, field_errors, responsible: Some(raw) };
    render_plan(&state, &post.session, id, "positions", extra).await
}

/// Who places the plan in ЕИС: the customer (CU), or its superior under an agreement (OA).
pub async fn set_owner(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    post: Post<OwnerForm>,
) -> AppResult<Response> {
    let expected: i64 = post
        .form
        .row_version
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest("Форма заполнена некорректно: нет версии документа".into()))?;
    let error = match actions::set_owner_role(&state, &post.session.user, id, &post.form.owner_role, expected).await? {
        Ok(()) => return Ok(redirect(id, "positions", "owner")),
        Err(HeaderRefusal::Plan(e)) => return Err(AppError::Forbidden(e.to_string())),
        Err(HeaderRefusal::Fields(errors)) => errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; "),
        Err(HeaderRefusal::Stale) => HEADER_STALE.to_owned(),
    };
    show_error(&state, &post.session, id, "positions", error).await
}

/// Every pre-flight finding of the working copy: the rules of `domain::checks`, and, once they
/// pass and the official schemas are configured, the schema check of the packet it would go as.
pub async fn findings(
    state: &AppState,
    plan: &Plan,
    owner: &Organization,
) -> AppResult<(PlanSnapshot, Vec<domain::Finding>)> {
    let snapshot = current_snapshot(state, plan, owner).await?;
    let base = base_snapshot(state, plan).await?;
    let mut found = domain::preflight(&snapshot, base.as_ref());
    if found.is_empty() {
        for message in state.exchange.schema_findings(plan, &snapshot).await? {
            found.push(domain::Finding { purchase_number: None, field: "packet", message });
        }
    }
    Ok((snapshot, found))
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

struct Extra {
    notice: Option<String>,
    error: Option<String>,
    draft: Option<PositionDraft>,
    field_errors: Vec<FieldError>,
    /// The responsible person as typed, when the header form comes back with errors.
    responsible: Option<domain::plan::ResponsiblePerson>,
}

async fn render_plan(
    state: &AppState,
    session: &store::users::Session,
    plan_id: i64,
    tab: &str,
    extra: Extra,
) -> AppResult<Response> {
    let user = &session.user;
    let (plan, owner) = readable_plan(state, user, plan_id).await?;
    let a = actor(user);
    let pref = plan_ref(&plan, &owner);
    let (snapshot, found) = findings(state, &plan, &owner).await?;
    let base = base_snapshot(state, &plan).await?;
    let iku = snapshot.owner_iku().cloned();
    let stored = state.store.positions(plan.id).await?;
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
                ikz: p.ikz(iku.as_ref()).map(String::from).unwrap_or_else(|_| "— (проверьте ИНН/КПП заказчика)".into()),
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
    let sender = domain::exchange::check_sender(a, pref, plan.owner_role);
    let mut versions = Vec::new();
    if tab == "versions" {
        for v in state.store.versions(plan.id).await? {
            let latest = state.store.latest_send(v.id).await?.map(|s| s.status);
            let approver = state.store.user(v.approved_by).await?.map(|u| u.full_name).unwrap_or_default();
            let blocked = match &sender {
                Err(e) => Some(e.to_string()),
                Ok(()) => exchange::send_blocked(&state.store, &plan, &v).await.map_err(AppError::internal)?,
            };
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
            .store
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
    let can_edit = plan::check_edit(a, pref).is_ok();
    let draft =
        extra.draft.unwrap_or_else(|| PositionDraft { publish_year: plan.plan_year.to_string(), ..Default::default() });
    let next_number = plan::next_purchase_number(snapshot.positions.iter().map(|p| p.purchase_number))
        .unwrap_or_else(|_| domain::ikz::PurchaseNumber::new(9999).expect("in range"));
    let form = FormContext::new(state, owner.org_type, iku.as_ref(), next_number, &draft).await?;
    let page = PlanPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        id: plan.id,
        year: plan.plan_year,
        org_name: owner.name.clone(),
        org_short: owner.short_name.clone(),
        org_spz: owner.spz_code.to_string(),
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
        can_submit: plan::check_edit(a, pref).is_ok(),
        can_decide: plan::approve(a, pref, 0).is_ok(),
        can_start_changes: plan::start_changes(a, pref).is_ok(),
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
    let status = if extra.error.is_some() || !page.field_errors.is_empty() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn view(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<ViewQuery>,
) -> AppResult<Response> {
    let tab = q.tab.as_deref().filter(|t| matches!(*t, "versions" | "journal")).unwrap_or("positions");
    let extra = Extra {
        notice: q.notice.as_deref().and_then(notice_text),
        error: None,
        draft: None,
        field_errors: vec![],
        responsible: None,
    };
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
    e: String,
) -> AppResult<Response> {
    render_plan(
        state,
        session,
        plan_id,
        tab,
        Extra { notice: None, error: Some(e), draft: None, field_errors: vec![], responsible: None },
    )
    .await
}

pub async fn add_position(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    post: Post<Vec<(String, String)>>,
) -> AppResult<Response> {
    let user = &post.session.user;
    let (plan, owner) = actions::editable_plan(&state, user, id).await?;
    let draft = PositionDraft::from_form(&post.form);
    let row_version: i64 = field(&post.form, "row_version")
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest("Форма заполнена некорректно: нет версии документа".into()))?;
    match actions::new_position(&state, &plan, &owner, &draft).await? {
        Ok(position) => match state.store.add_position(&plan, row_version, &position, user.id).await {
            Ok(_) => Ok(redirect(plan.id, "positions", "added")),
            Err(store::StoreError::Conflict) => {
                let e = "План-график изменён другим пользователем, пока вы заполняли форму. Введённые данные сохранены в форме: проверьте список позиций и нажмите «Добавить позицию» ещё раз.";
                let extra = Extra {
                    notice: None,
                    error: Some(e.into()),
                    draft: Some(draft),
                    field_errors: vec![],
                    responsible: None,
                };
                render_plan(&state, &post.session, plan.id, "positions", extra).await
            }
            Err(e) => Err(e.into()),
        },
        Err(field_errors) => {
            let extra = Extra {
                notice: None,
                error: Some("Позиция не добавлена: исправьте отмеченные поля".into()),
                draft: Some(draft),
                field_errors,
                responsible: None,
            };
            render_plan(&state, &post.session, plan.id, "positions", extra).await
        }
    }
}

#[derive(Deserialize)]
pub struct RowVersion {
    #[serde(default)]
    row_version: i64,
}

pub async fn delete_position(
    State(state): State<AppState>,
    Path((id, position_id)): Path<(i64, i64)>,
    post: Post<RowVersion>,
) -> AppResult<Response> {
    let l = actions::editable_position(&state, &post.session.user, id, position_id).await?;
    match actions::delete_position(&state, &post.session.user, &l, post.form.row_version).await? {
        Ok(()) => Ok(redirect(id, "positions", "deleted")),
        Err(e) => show_error(&state, &post.session, id, "positions", e.into()).await,
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

pub async fn submit(State(state): State<AppState>, Path(id): Path<i64>, post: Post<NoFields>) -> AppResult<Response> {
    match actions::submit(&state, &post.session.user, id).await? {
        Ok(()) => Ok(redirect(id, "positions", "submitted")),
        Err(e) => show_error(&state, &post.session, id, "positions", e.to_string()).await,
    }
}

pub async fn approve(State(state): State<AppState>, Path(id): Path<i64>, post: Post<NoFields>) -> AppResult<Response> {
    match actions::approve(&state, &post.session.user, id).await? {
        Ok(_) => Ok(redirect(id, "versions", "approved")),
        Err(e) => show_error(&state, &post.session, id, "positions", e.to_string()).await,
    }
}

/// «Внести изменения»
pub async fn start_changes(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    post: Post<NoFields>,
) -> AppResult<Response> {
    match actions::start_changes(&state, &post.session.user, id).await? {
        Ok(()) => Ok(redirect(id, "positions", "changing")),
        Err(e) => show_error(&state, &post.session, id, "positions", e.to_string()).await,
    }
}

/// «Утвердить» of one plan-schedule, alone or from the list: the pre-flight checks (with the
/// schemas), then the version with its packet. The error is the Russian reason.
async fn approve_one(state: &AppState, user: &store::users::User, plan_id: i64) -> AppResult<Result<(), String>> {
    let (plan, owner) = readable_plan(state, user, plan_id).await?;
    let name = format!("{} на {} год", owner.short_name, plan.plan_year);
    match actions::approve(state, user, plan.id).await {
        Ok(Ok(_)) => Ok(Ok(())),
        Ok(Err(e)) => Ok(Err(format!("{name}: {e}"))),
        Err(AppError::Conflict(why)) => Ok(Err(format!("{name}: {why}"))),
        Err(e) => Err(e),
    }
}

/// «Утвердить выбранные» from the approver's list.
pub async fn approve_bulk(State(state): State<AppState>, post: Post<Vec<(String, String)>>) -> AppResult<Response> {
    let user = &post.session.user;
    let ids: Vec<i64> = post.form.iter().filter(|(k, _)| k == "plan").filter_map(|(_, v)| v.parse().ok()).collect();
    if ids.is_empty() {
        return plans_page(&state, &post.session, Some("Отметьте планы-графики, которые нужно утвердить".into())).await;
    }
    let mut approved = 0;
    let mut problems = Vec::new();
    for id in ids {
        match approve_one(&state, user, id).await {
            Ok(Ok(())) => approved += 1,
            Ok(Err(problem)) => problems.push(problem),
            Err(AppError::NotFound) => problems.push(format!("План-график {id} не найден")),
            Err(e) => return Err(e),
        }
    }
    let notice = (approved > 0).then(|| format!("Утверждено планов-графиков: {approved}"));
    plans_page_with(&state, &post.session, notice, None, problems).await
}

#[derive(Deserialize)]
pub struct ReturnForm {
    #[serde(default)]
    comment: String,
}

pub async fn return_for_revision(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    post: Post<ReturnForm>,
) -> AppResult<Response> {
    match actions::return_for_revision(&state, &post.session.user, id, &post.form.comment).await? {
        Ok(()) => Ok(redirect(id, "positions", "returned")),
        Err(e) => show_error(&state, &post.session, id, "positions", e.to_string()).await,
    }
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
