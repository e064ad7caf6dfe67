//! «Администрирование» → «Организации» (administrators only): the tree of the administrator's
//! organization and every organization below it, searched and paged; an organization's card
//! with its subordinates, agreements on the transfer of powers and journal; creating and
//! editing; blocking and unblocking. The rules are `app::org_admin`'s; these handlers translate.

use crate::AppState;
use crate::api::Id;
use crate::auth::{CurrentUser, Post};
use crate::error::{WebError, WebResult, status_of};
use crate::view::{Chrome, fmt_time, html};
use app::org_admin::{AgreementForm, OrgAdmin, OrgForm, date_ru, today_iso};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::OrgType;
use domain::ids::OrgId;
use serde::Deserialize;
use store::org_admin::OrgRecord;
use store::users::Session;

/// A row of the tree, as shown.
struct TreeRow {
    id: i64,
    short_name: String,
    spz_code: String,
    inn: String,
    /// Indentation class (capped) and the depth itself.
    depth_class: usize,
    depth: usize,
    subordinates: usize,
    below: usize,
    users: i64,
    blocked: bool,
    path: String,
}

#[derive(Template)]
#[template(path = "orgs.html")]
struct OrgsPage {
    chrome: Option<Chrome>,
    org_name: String,
    q: String,
    branch: Option<(i64, String)>,
    rows: Vec<TreeRow>,
    total: usize,
    pages: Vec<(usize, String, bool)>,
    error: Option<String>,
}

/// A `<select>` option: value, title, selected.
type Choice = (String, String, bool);

#[derive(Template)]
#[template(path = "org_form.html")]
struct OrgFormPage {
    chrome: Option<Chrome>,
    csrf: String,
    /// `None` for a new organization.
    id: Option<i64>,
    form: OrgForm,
    types: Vec<Choice>,
    levels: Vec<Choice>,
    superiors: Vec<Choice>,
    error: Option<String>,
    errors: Vec<(&'static str, String)>,
}

impl OrgFormPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
}

struct AgreementRow {
    id: i64,
    number: String,
    signed_on: String,
    agent: String,
    period: String,
    state: String,
    in_force: bool,
    revoked: bool,
    created: String,
}

struct JournalRow {
    at: String,
    who: String,
    action: String,
    details: String,
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    chrome: Option<Chrome>,
    csrf: String,
    id: i64,
    r: OrgRecord,
    iku: String,
    org_type: &'static str,
    superior: String,
    superior_id: Option<i64>,
    is_own: bool,
    blocked_at: Option<String>,
    queued_sends: i64,
    users: i64,
    subordinates: Vec<(i64, String, bool)>,
    agreements: Vec<AgreementRow>,
    manages_agreements: bool,
    ecp_enabled: bool,
    agreement: AgreementForm,
    agreement_errors: Vec<(&'static str, String)>,
    journal: Vec<JournalRow>,
    notice: Option<String>,
    error: Option<String>,
}

impl OrgPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.agreement_errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
}

fn level_title(level: u8) -> &'static str {
    match level {
        1 => "1 — федеральный",
        2 => "2 — субъекта РФ",
        3 => "3 — муниципальный",
        _ => "неизвестный",
    }
}

fn type_choices(selected: &str) -> Vec<Choice> {
    let mut out = vec![(String::new(), "— выберите —".to_owned(), selected.trim().is_empty())];
    out.extend(
        OrgType::ALL
            .iter()
            .map(|t| (t.code().to_owned(), format!("{} — {}", t.code(), t.title()), t.code() == selected.trim())),
    );
    out
}

fn level_choices(selected: &str) -> Vec<Choice> {
    (1..=3u8).map(|l| (l.to_string(), level_title(l).to_owned(), l.to_string() == selected.trim())).collect()
}

fn superior_choices(admin: &OrgAdmin, org: Option<&OrgRecord>, selected: &str) -> Vec<Choice> {
    let mut out = Vec::new();
    // The administrator's own organization keeps its superior, which is out of their reach.
    if let Some(r) = org
        && r.org.id == admin.organization().id
    {
        let (value, title) = match r.org.superior_id {
            Some(s) => (s.get().to_string(), "без изменений (вне вашего администрирования)".to_owned()),
            None => (String::new(), "нет (организация верхнего уровня)".to_owned()),
        };
        out.push((value, title, true));
        return out;
    }
    out.push((String::new(), "— выберите —".to_owned(), selected.trim().is_empty()));
    for n in admin.superior_choices(org.map(|r| r.org.id)) {
        let id = n.id.get().to_string();
        let chosen = id == selected.trim();
        let mut title = format!("{} (СПЗ {})", n.short_name, n.spz_code);
        let path = admin.path(n);
        if !path.is_empty() {
            title = format!("{} › {title}", path.join(" › "));
        }
        out.push((id, title, chosen));
    }
    out
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    branch: Option<String>,
}

/// «Организации»: the tree, 100 rows a page, searched by name, ИНН or СПЗ code, or one branch.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Query(query): Query<ListQuery>,
) -> WebResult<Response> {
    let admin = state.app.org_admin(&session.user).await?;
    let page = super::page_number(query.page.as_deref()).map_err(WebError::bad_request)?;
    let branch = match query.branch.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => Some(b.parse::<i64>().map_err(|_| WebError::not_found())?),
        None => None,
    };
    let chrome = Some(Chrome::of(&state, &session).await?);
    let org_name = admin.organization().short_name.clone();
    match admin.tree(&query.q, branch, page).await {
        Ok(tree) => {
            let q = query.q.trim().to_owned();
            let branch_param = tree.branch.as_ref().map(|b| b.id.get().to_string()).unwrap_or_default();
            let pages = if tree.pages > 1 {
                (1..=tree.pages)
                    .filter(|n| *n == 1 || *n == tree.pages || n.abs_diff(tree.page) <= 3)
                    .map(|n| {
                        let mut pairs = vec![("page", n.to_string())];
                        if !q.is_empty() {
                            pairs.push(("q", q.clone()));
                        }
                        if !branch_param.is_empty() {
                            pairs.push(("branch", branch_param.clone()));
                        }
                        let href =
                            serde_urlencoded::to_string(&pairs).map(|s| format!("/admin/orgs?{s}")).unwrap_or_default();
                        (n, href, n == tree.page)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let rows = tree
                .rows
                .into_iter()
                .map(|r| TreeRow {
                    id: r.node.id.get(),
                    short_name: r.node.short_name,
                    spz_code: r.node.spz_code,
                    inn: r.node.inn,
                    depth_class: r.depth.min(10),
                    depth: r.depth,
                    subordinates: r.subordinates,
                    below: r.below,
                    users: r.node.users,
                    blocked: r.node.blocked,
                    path: r.path.join(" › "),
                })
                .collect();
            let branch = tree.branch.map(|b| (b.id.get(), b.short_name));
            let page = OrgsPage { chrome, org_name, q, branch, rows, total: tree.total, pages, error: None };
            Ok(html(&page)?.into_response())
        }
        Err(e @ app::Error::Fields { .. }) => {
            let page = OrgsPage {
                chrome,
                org_name,
                q: String::new(),
                branch: None,
                rows: Vec::new(),
                total: 0,
                pages: Vec::new(),
                error: Some(e.to_string()),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    superior: Option<String>,
}

/// The form of a new organization (below `?superior=`, when given).
pub async fn new_page(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Query(q): Query<NewQuery>,
) -> WebResult<Response> {
    let admin = state.app.org_admin(&session.user).await?;
    let superior = q.superior.unwrap_or_else(|| admin.organization().id.get().to_string());
    let form = OrgForm {
        superior_id: superior,
        budget_level: admin.organization().budget_level.to_string(),
        ..Default::default()
    };
    render_form(&state, &session, &admin, None, form, (StatusCode::OK, None, Vec::new())).await
}

/// A form's answer: its status, the summary message and the per-field messages.
type Outcome = (StatusCode, Option<String>, Vec<(&'static str, String)>);

async fn render_form(
    state: &AppState,
    session: &Session,
    admin: &OrgAdmin,
    org: Option<&OrgRecord>,
    form: OrgForm,
    (status, error, errors): Outcome,
) -> WebResult<Response> {
    let page = OrgFormPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        id: org.map(|r| r.org.id.get()),
        types: type_choices(&form.org_type),
        levels: level_choices(&form.budget_level),
        superiors: superior_choices(admin, org, &form.superior_id),
        form,
        error,
        errors,
    };
    Ok((status, html(&page)?).into_response())
}

#[derive(Deserialize, Default)]
pub struct OrgFormFields {
    #[serde(default)]
    spz_code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    short_name: String,
    #[serde(default)]
    inn: String,
    #[serde(default)]
    kpp: String,
    #[serde(default)]
    iku: String,
    #[serde(default)]
    org_type: String,
    #[serde(default)]
    budget_level: String,
    #[serde(default)]
    oktmo: String,
    #[serde(default)]
    superior_id: String,
    #[serde(default)]
    row_version: String,
}

impl From<OrgFormFields> for OrgForm {
    fn from(f: OrgFormFields) -> OrgForm {
        OrgForm {
            spz_code: f.spz_code,
            name: f.name,
            short_name: f.short_name,
            inn: f.inn,
            kpp: f.kpp,
            iku: f.iku,
            org_type: f.org_type,
            budget_level: f.budget_level,
            oktmo: f.oktmo,
            superior_id: f.superior_id,
            row_version: f.row_version,
        }
    }
}

/// A refusal of a form: the form again with the messages, with the refusal's status.
async fn form_refused(
    state: &AppState,
    session: &Session,
    admin: &OrgAdmin,
    org: Option<&OrgRecord>,
    form: OrgForm,
    e: app::Error,
) -> WebResult<Response> {
    match e {
        app::Error::Fields { message, errors } => {
            let errors = errors.into_iter().map(|e| (e.field, e.message)).collect();
            render_form(state, session, admin, org, form, (StatusCode::UNPROCESSABLE_ENTITY, Some(message), errors))
                .await
        }
        e @ app::Error::Refused { .. } => {
            let status = status_of(&e);
            render_form(state, session, admin, org, form, (status, Some(e.to_string()), Vec::new())).await
        }
        e => Err(e.into()),
    }
}

/// «Создать»: the new organization's card.
pub async fn create(State(state): State<AppState>, post: Post<OrgFormFields>) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.org_admin(&session.user).await?;
    let form = OrgForm::from(post.form);
    match admin.create(&form).await {
        Ok(id) => Ok(Redirect::to(&format!("/admin/orgs/{}?done=created", id.get())).into_response()),
        Err(e) => form_refused(&state, session, &admin, None, form, e).await,
    }
}

/// «Изменить»: the form with the organization's values.
pub async fn edit_page(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<i64>,
) -> WebResult<Response> {
    let admin = state.app.org_admin(&session.user).await?;
    let r = admin.record(OrgId(id)).await?;
    let form = OrgForm::of(&r);
    render_form(&state, &session, &admin, Some(&r), form, (StatusCode::OK, None, Vec::new())).await
}

/// «Сохранить».
pub async fn update(State(state): State<AppState>, Id(id): Id<i64>, post: Post<OrgFormFields>) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.org_admin(&session.user).await?;
    let r = admin.record(OrgId(id)).await?;
    let form = OrgForm::from(post.form);
    match admin.update(&r, &form).await {
        Ok(true) => Ok(Redirect::to(&format!("/admin/orgs/{id}?done=changed")).into_response()),
        Ok(false) => Ok(Redirect::to(&format!("/admin/orgs/{id}?done=unchanged")).into_response()),
        Err(e) => form_refused(&state, session, &admin, Some(&r), form, e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct CardQuery {
    #[serde(default)]
    done: Option<String>,
}

fn done_notice(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "created" => "Организация создана.",
            "changed" => "Изменения сохранены.",
            "unchanged" => "Изменений нет: сохранять нечего.",
            "blocked" => {
                "Организация заблокирована: сеансы её пользователей завершены, новые отправки в ЕИС не принимаются."
            }
            "unblocked" => {
                "Организация разблокирована: её пользователи снова могут войти, отправки из очереди продолжатся."
            }
            "agreement" => "Соглашение внесено.",
            "ecp" => "Требования ЭЦП сохранены.",
            "ecp-unchanged" => "Требования ЭЦП не изменились: сохранять нечего.",
            "revoked" => "Соглашение отозвано.",
            _ => return None,
        }
        .to_owned(),
    )
}

struct CardExtras {
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    agreement: AgreementForm,
    agreement_errors: Vec<(&'static str, String)>,
}

impl CardExtras {
    fn ok(notice: Option<String>) -> CardExtras {
        CardExtras {
            status: StatusCode::OK,
            notice,
            error: None,
            agreement: AgreementForm::default(),
            agreement_errors: Vec::new(),
        }
    }
}

async fn render_card(
    state: &AppState,
    session: &Session,
    admin: &OrgAdmin,
    r: OrgRecord,
    x: CardExtras,
) -> WebResult<Response> {
    let id = r.org.id;
    let today = today_iso();
    let agreements = admin
        .agreements(&r)
        .await?
        .into_iter()
        .map(|a| {
            let in_force = a.in_force(r.org.superior_id, &today);
            let period = match (&a.valid_from, &a.valid_to) {
                (None, None) => "бессрочно".to_owned(),
                (Some(f), None) => format!("с {}", date_ru(f)),
                (None, Some(t)) => format!("по {}", date_ru(t)),
                (Some(f), Some(t)) => format!("с {} по {}", date_ru(f), date_ru(t)),
            };
            let state = match (&a.revoked_at, in_force) {
                (Some(t), _) => format!(
                    "отозвано {}{}",
                    fmt_time(*t),
                    a.revoked_by.as_deref().map(|w| format!(" ({w})")).unwrap_or_default()
                ),
                (None, true) => "действует".to_owned(),
                (None, false) if Some(a.agent_id) != r.org.superior_id => {
                    "не действует: уполномоченная организация больше не вышестоящая".to_owned()
                }
                (None, false) => "не действует в этот день".to_owned(),
            };
            AgreementRow {
                id: a.id,
                number: a.number,
                signed_on: date_ru(&a.signed_on),
                agent: a.agent_short_name,
                period,
                state,
                in_force,
                revoked: a.revoked_at.is_some(),
                created: format!(
                    "{}{}",
                    fmt_time(a.created_at),
                    a.created_by.map(|w| format!(", {w}")).unwrap_or_default()
                ),
            }
        })
        .collect();
    let journal = admin
        .journal(&r)
        .await?
        .into_iter()
        .rev()
        .take(20)
        .map(|e| JournalRow {
            at: fmt_time(e.at),
            who: e.user_name.unwrap_or_else(|| "оператор".to_owned()),
            action: e.action,
            details: e.details,
        })
        .collect();
    let superior = match r.org.superior_id {
        Some(s) => admin.name_of(s).await?,
        None => "нет".to_owned(),
    };
    let page = OrgPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        id: id.get(),
        iku: domain::org::iku(r.org.budget_level, &r.org.inn, &r.org.kpp)
            .map(|i| i.as_str().to_owned())
            .unwrap_or_else(|_| "не складывается (ИНН из 12 цифр или КПП с буквами)".to_owned()),
        org_type: r.org.org_type.title(),
        superior,
        superior_id: r.org.superior_id.filter(|s| admin.reaches(*s)).map(|s| s.get()),
        is_own: id == admin.organization().id,
        blocked_at: r.blocked_at.map(fmt_time),
        queued_sends: admin.queued_sends(id).await?,
        users: admin.users_of(id),
        subordinates: admin
            .subordinates(id)
            .into_iter()
            .map(|n| (n.id.get(), n.short_name.clone(), n.blocked))
            .collect(),
        agreements,
        manages_agreements: admin.manages_agreements(&r),
        ecp_enabled: admin.ecp_enabled(),
        agreement: x.agreement,
        agreement_errors: x.agreement_errors,
        journal,
        notice: x.notice,
        error: x.error,
        r,
    };
    Ok((x.status, html(&page)?).into_response())
}

/// An organization's card.
pub async fn view(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<i64>,
    Query(q): Query<CardQuery>,
) -> WebResult<Response> {
    let admin = state.app.org_admin(&session.user).await?;
    let r = admin.record(OrgId(id)).await?;
    render_card(&state, &session, &admin, r, CardExtras::ok(done_notice(q.done.as_deref()))).await
}

/// Shows a refusal of an action on the card, with the refusal's status.
async fn card_refused(
    state: &AppState,
    session: &Session,
    admin: &OrgAdmin,
    id: i64,
    e: app::Error,
    agreement: AgreementForm,
) -> WebResult<Response> {
    match e {
        app::Error::Fields { .. } | app::Error::Refused { .. } => {
            let status = status_of(&e);
            let agreement_errors = match &e {
                app::Error::Fields { errors, .. } => errors.iter().map(|x| (x.field, x.message.clone())).collect(),
                _ => Vec::new(),
            };
            let r = admin.record(OrgId(id)).await?;
            let x = CardExtras { status, notice: None, error: Some(e.to_string()), agreement, agreement_errors };
            render_card(state, session, admin, r, x).await
        }
        e => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct NoFields {}

async fn set_blocked(state: AppState, id: i64, post: Post<NoFields>, blocked: bool) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.org_admin(&session.user).await?;
    let r = admin.record(OrgId(id)).await?;
    match admin.set_blocked(&r, blocked).await {
        Ok(()) => {
            let done = if blocked { "blocked" } else { "unblocked" };
            Ok(Redirect::to(&format!("/admin/orgs/{id}?done={done}")).into_response())
        }
        Err(e) => card_refused(&state, session, &admin, id, e, AgreementForm::default()).await,
    }
}

/// «Заблокировать».
pub async fn block(State(state): State<AppState>, Id(id): Id<i64>, post: Post<NoFields>) -> WebResult<Response> {
    set_blocked(state, id, post, true).await
}

/// «Разблокировать».
pub async fn unblock(State(state): State<AppState>, Id(id): Id<i64>, post: Post<NoFields>) -> WebResult<Response> {
    set_blocked(state, id, post, false).await
}

#[derive(Deserialize, Default)]
pub struct AgreementFields {
    #[serde(default)]
    number: String,
    #[serde(default)]
    signed_on: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
}

/// «Внести соглашение».
pub async fn add_agreement(
    State(state): State<AppState>,
    Id(id): Id<i64>,
    post: Post<AgreementFields>,
) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.org_admin(&session.user).await?;
    let r = admin.record(OrgId(id)).await?;
    let f = post.form;
    let form =
        AgreementForm { number: f.number, signed_on: f.signed_on, valid_from: f.valid_from, valid_to: f.valid_to };
    match admin.add_agreement(&r, &form).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/orgs/{id}?done=agreement")).into_response()),
        Err(e) => card_refused(&state, session, &admin, id, e, form).await,
    }
}

/// «Отозвать» an agreement.
pub async fn revoke_agreement(
    State(state): State<AppState>,
    Id((id, agreement)): Id<(i64, i64)>,
    post: Post<NoFields>,
) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.org_admin(&session.user).await?;
    let r = admin.record(OrgId(id)).await?;
    match admin.revoke_agreement(&r, agreement).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/orgs/{id}?done=revoked")).into_response()),
        Err(e) => card_refused(&state, session, &admin, id, e, AgreementForm::default()).await,
    }
}

#[derive(Deserialize, Default)]
pub struct EcpFields {
    #[serde(default)]
    sign_in: Option<String>,
    #[serde(default)]
    approval: Option<String>,
    #[serde(default)]
    packet: Option<String>,
}

/// «Электронная подпись (ЭЦП)» of the card: what the organization requires.
pub async fn set_ecp(State(state): State<AppState>, Id(id): Id<i64>, post: Post<EcpFields>) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.org_admin(&session.user).await?;
    let r = admin.record(OrgId(id)).await?;
    let f = &post.form;
    let policy = store::org_admin::EcpPolicy {
        sign_in: f.sign_in.is_some(),
        approval: f.approval.is_some(),
        packet: f.packet.is_some(),
    };
    match admin.set_ecp_policy(&r, policy).await {
        Ok(changed) => {
            let done = if changed { "ecp" } else { "ecp-unchanged" };
            Ok(Redirect::to(&format!("/admin/orgs/{id}?done={done}")).into_response())
        }
        Err(e) => card_refused(&state, session, &admin, id, e, AgreementForm::default()).await,
    }
}
