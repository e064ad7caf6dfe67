//! «Администрирование» → «Пользователи» (administrators only): the users of the administrator's
//! organization and of every organization below it, a new user, a user's page with its
//! organization and roles, blocking, a password reset and unlocking sign-in; and «Настройки» →
//! «Сменить пароль», which is also the page every user whose password an administrator handed
//! out is held on until they change it. The rules are `app::user_admin`'s; these handlers translate.

use crate::AppState;
use crate::api::Id;
use crate::auth::{ClientAddress, CurrentUser, PasswordPost, PasswordSession, Post};
use crate::error::{WebError, WebResult, status_of};
use crate::view::{Chrome, fmt_time, html};
use app::user_admin::{Managed, NewUser, UserAdmin, UserChange};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Role;
use domain::ids::UserId;
use domain::secret::Secret;
use serde::Deserialize;
use store::users::Session;

/// A row of the list, as shown.
struct UserRow {
    id: i64,
    login: String,
    full_name: String,
    org: String,
    roles: String,
    state: String,
    last_sign_in: String,
    failed: i64,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Option<Chrome>,
    org_name: String,
    q: String,
    rows: Vec<UserRow>,
    total: usize,
    pages: Vec<(usize, String, bool)>,
    notice: Option<String>,
    error: Option<String>,
}

/// An organization in a `<select>` or a role's checkbox: value, title, selected.
type Choice = (String, String, bool);

#[derive(Template)]
#[template(path = "user_new.html")]
struct NewUserPage {
    chrome: Option<Chrome>,
    csrf: String,
    login: String,
    full_name: String,
    orgs: Vec<Choice>,
    roles: Vec<Choice>,
    error: Option<String>,
    errors: Vec<(&'static str, String)>,
}

impl NewUserPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    chrome: Option<Chrome>,
    csrf: String,
    id: i64,
    login: String,
    full_name: String,
    org: String,
    roles_title: String,
    blocked: bool,
    org_blocked: bool,
    must_change_password: bool,
    locked_until: Option<String>,
    failed: i64,
    last_failed: Option<String>,
    last_sign_in: String,
    created: String,
    is_self: bool,
    orgs: Vec<Choice>,
    roles: Vec<Choice>,
    notice: Option<String>,
    error: Option<String>,
    certificates: Vec<super::ecp::CertificateRow>,
    /// The server checks ЭЦП (trusted УЦ configured).
    ecp_enabled: bool,
}

#[derive(Template)]
#[template(path = "user_password.html")]
struct OneTimePasswordPage {
    chrome: Option<Chrome>,
    id: i64,
    login: String,
    full_name: String,
    created: bool,
    password: String,
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Option<Chrome>,
    csrf: String,
    forced: bool,
    notice: Option<String>,
    error: Option<String>,
    errors: Vec<(&'static str, String)>,
}

impl PasswordPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
}

fn state_of(u: &store::user_admin::ManagedUser, locked_until: Option<store::Time>) -> String {
    let mut parts = Vec::new();
    if u.blocked {
        parts.push("заблокирован".to_owned());
    }
    if u.org_blocked {
        parts.push("организация заблокирована, вход невозможен".to_owned());
    }
    if let Some(t) = locked_until {
        parts.push(format!("вход закрыт до {} после неудачных попыток", fmt_time(t)));
    }
    if u.must_change_password {
        parts.push("должен сменить пароль".to_owned());
    }
    if parts.is_empty() { "активен".to_owned() } else { parts.join("; ") }
}

fn never_or(t: Option<store::Time>) -> String {
    t.map(fmt_time).unwrap_or_else(|| "не входил".to_owned())
}

/// A checkbox for every role, ticked for those in `ticked`.
fn role_choices(ticked: impl Fn(Role) -> bool) -> Vec<Choice> {
    Role::ALL.iter().map(|r| (r.code().to_owned(), r.title().to_owned(), ticked(*r))).collect()
}

/// The roles ticked in a posted form, as sent (checked by `app::user_admin`).
fn ticked(pairs: &[(String, String)]) -> Vec<String> {
    pairs.iter().filter(|(k, _)| k == "roles").map(|(_, v)| v.clone()).collect()
}

/// The value of one field of a posted form (the first, if repeated).
fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

async fn org_choices(admin: &UserAdmin, selected: &str) -> WebResult<Vec<Choice>> {
    Ok(admin
        .organizations()
        .await?
        .into_iter()
        .map(|o| {
            let id = o.id.get().to_string();
            let chosen = id == selected.trim();
            (id, format!("{} (СПЗ {})", o.short_name, o.spz_code), chosen)
        })
        .collect())
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<String>,
}

/// «Пользователи»: 50 a page, searched by login or name.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Query(query): Query<ListQuery>,
) -> WebResult<Response> {
    let admin = state.app.user_admin(&session.user).await?;
    let page = super::page_number(query.page.as_deref()).map_err(WebError::bad_request)?;
    let chrome = Some(Chrome::of(&state, &session).await?);
    let org_name = admin.organization().short_name.clone();
    match admin.list(&query.q, page).await {
        Ok(list) => {
            let q = query.q.trim().to_owned();
            let pages = if list.pages > 1 {
                (1..=list.pages)
                    .filter(|n| *n == 1 || *n == list.pages || n.abs_diff(list.page) <= 3)
                    .map(|n| {
                        let href = serde_urlencoded::to_string([("q", q.as_str()), ("page", &n.to_string())])
                            .map(|s| format!("/admin/users?{s}"))
                            .unwrap_or_default();
                        (n, href, n == list.page)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let rows = list
                .rows
                .into_iter()
                .map(|r| {
                    let u = r.user.get();
                    UserRow {
                        id: u.user.id.get(),
                        login: u.user.login.clone(),
                        full_name: u.user.full_name.clone(),
                        org: u.org_short_name.clone(),
                        roles: u.user.roles.to_string(),
                        state: state_of(u, r.locked_until),
                        last_sign_in: never_or(u.last_sign_in_at),
                        failed: u.failed_sign_ins,
                    }
                })
                .collect();
            let page = UsersPage { chrome, org_name, q, rows, total: list.total, pages, notice: None, error: None };
            Ok(html(&page)?.into_response())
        }
        Err(app::Error::Fields { message, .. }) => {
            // The query is not shown back: it was refused.
            let page = UsersPage {
                chrome,
                org_name,
                q: String::new(),
                rows: Vec::new(),
                total: 0,
                pages: Vec::new(),
                notice: None,
                error: Some(message),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The form of a new user.
pub async fn new_page(State(state): State<AppState>, CurrentUser(session): CurrentUser) -> WebResult<Response> {
    let admin = state.app.user_admin(&session.user).await?;
    let own = admin.organization().id.get().to_string();
    let page = NewUserPage {
        chrome: Some(Chrome::of(&state, &session).await?),
        csrf: session.csrf_token.clone(),
        login: String::new(),
        full_name: String::new(),
        orgs: org_choices(&admin, &own).await?,
        roles: role_choices(|r| r == Role::CustomerSpecialist),
        error: None,
        errors: Vec::new(),
    };
    Ok(html(&page)?.into_response())
}

/// «Создать»: the new user, and their password shown once on the answer (never in a URL).
/// The form: `login`, `full_name`, `org_id`, and `roles` once per role ticked.
pub async fn create(State(state): State<AppState>, post: Post<Vec<(String, String)>>) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.user_admin(&session.user).await?;
    let f = &post.form;
    let form = NewUser {
        login: field(f, "login"),
        full_name: field(f, "full_name"),
        org_id: field(f, "org_id"),
        roles: ticked(f),
    };
    match admin.create(&form).await {
        Ok((user, password)) => {
            tracing::info!(login = %user.login, "user created by an administrator");
            one_time_page(&state, session, user.id, &user.login, &user.full_name, true, password).await
        }
        Err(app::Error::Fields { message, errors }) => {
            let page = NewUserPage {
                chrome: Some(Chrome::of(&state, session).await?),
                csrf: session.csrf_token.clone(),
                orgs: org_choices(&admin, &form.org_id).await?,
                roles: role_choices(|r| form.roles.iter().any(|c| c.trim() == r.code())),
                login: form.login,
                full_name: form.full_name,
                error: Some(message),
                errors: errors.into_iter().map(|e| (e.field, e.message)).collect(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn one_time_page(
    state: &AppState,
    session: &Session,
    id: UserId,
    login: &str,
    full_name: &str,
    created: bool,
    password: Secret,
) -> WebResult<Response> {
    let page = OneTimePasswordPage {
        chrome: Some(Chrome::of(state, session).await?),
        id: id.get(),
        login: login.to_owned(),
        full_name: full_name.to_owned(),
        created,
        password: password.expose().to_owned(),
    };
    // Shown once: the security layer marks every page `no-store`, so no cache keeps it.
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize, Default)]
pub struct UserQuery {
    #[serde(default)]
    done: Option<String>,
}

fn done_notice(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "changed" => "Организация и роли пользователя сохранены.",
            "blocked" => "Пользователь заблокирован: его сеансы завершены, токены API отозваны.",
            "unblocked" => "Пользователь разблокирован и снова может войти.",
            "unlocked" => "Вход разблокирован: задержки после неудачных попыток сняты.",
            "certificate" => "Сертификат привязан: пользователь может входить и подписывать им.",
            "certificate-already" => "Этот сертификат уже привязан к пользователю.",
            "certificate-unbound" => "Сертификат отвязан.",
            _ => return None,
        }
        .to_owned(),
    )
}

async fn render_user(
    state: &AppState,
    session: &Session,
    admin: &UserAdmin,
    target: &Managed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<Response> {
    let u = target.get();
    let locked_until = admin.locked_until(target).await?;
    let now = store::now();
    let certificates = admin
        .certificates(target)
        .await?
        .into_iter()
        .map(|b| super::ecp::CertificateRow::of(b.certificate, now))
        .collect();
    let page = UserPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        id: u.user.id.get(),
        login: u.user.login.clone(),
        full_name: u.user.full_name.clone(),
        org: u.org_short_name.clone(),
        roles_title: u.user.roles.to_string(),
        blocked: u.blocked,
        org_blocked: u.org_blocked,
        must_change_password: u.must_change_password,
        locked_until: locked_until.map(fmt_time),
        failed: u.failed_sign_ins,
        last_failed: u.last_failed_sign_in_at.map(fmt_time),
        last_sign_in: never_or(u.last_sign_in_at),
        created: fmt_time(u.created_at),
        is_self: u.user.id == session.user.id,
        orgs: org_choices(admin, &u.user.org_id.get().to_string()).await?,
        roles: role_choices(|r| u.user.roles.contains(r)),
        notice,
        error,
        certificates,
        ecp_enabled: state.app.ecp_enabled(),
    };
    Ok((status, html(&page)?).into_response())
}

/// A user's page: what the list shows, and the administrator's actions.
pub async fn view(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<i64>,
    Query(q): Query<UserQuery>,
) -> WebResult<Response> {
    let admin = state.app.user_admin(&session.user).await?;
    let target = admin.user(UserId(id)).await?;
    render_user(&state, &session, &admin, &target, StatusCode::OK, done_notice(q.done.as_deref()), None).await
}

/// Shows a refusal of an action on the user's page, with the refusal's status.
async fn refused(
    state: &AppState,
    session: &Session,
    admin: &UserAdmin,
    id: UserId,
    e: app::Error,
) -> WebResult<Response> {
    match e {
        app::Error::Fields { .. } | app::Error::Refused { .. } => {
            let status = status_of(&e);
            let target = admin.user(id).await?;
            render_user(state, session, admin, &target, status, None, Some(e.to_string())).await
        }
        e => Err(e.into()),
    }
}

/// «Сохранить»: organization and roles (`org_id`, and `roles` once per role ticked).
pub async fn update(
    State(state): State<AppState>,
    Id(id): Id<i64>,
    post: Post<Vec<(String, String)>>,
) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.user_admin(&session.user).await?;
    let target = admin.user(UserId(id)).await?;
    let change = UserChange { org_id: field(&post.form, "org_id"), roles: ticked(&post.form) };
    match admin.update(&target, &change).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/users/{id}?done=changed")).into_response()),
        Err(e) => refused(&state, session, &admin, UserId(id), e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct NoFields {}

async fn set_blocked(state: AppState, id: i64, post: Post<NoFields>, blocked: bool) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.user_admin(&session.user).await?;
    let target = admin.user(UserId(id)).await?;
    match admin.set_blocked(&target, blocked).await {
        Ok(()) => {
            let done = if blocked { "blocked" } else { "unblocked" };
            Ok(Redirect::to(&format!("/admin/users/{id}?done={done}")).into_response())
        }
        Err(e) => refused(&state, session, &admin, UserId(id), e).await,
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

/// «Разблокировать вход» after failed sign-ins.
pub async fn unlock(State(state): State<AppState>, Id(id): Id<i64>, post: Post<NoFields>) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.user_admin(&session.user).await?;
    let target = admin.user(UserId(id)).await?;
    match admin.unlock(&target).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/users/{id}?done=unlocked")).into_response()),
        Err(e) => refused(&state, session, &admin, UserId(id), e).await,
    }
}

/// «Сбросить пароль»: a new password shown once.
pub async fn reset_password(
    State(state): State<AppState>,
    Id(id): Id<i64>,
    post: Post<NoFields>,
) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.user_admin(&session.user).await?;
    let target = admin.user(UserId(id)).await?;
    match admin.reset_password(&target).await {
        Ok(password) => {
            let u = target.user();
            one_time_page(&state, session, u.id, &u.login, &u.full_name, false, password).await
        }
        Err(e) => refused(&state, session, &admin, UserId(id), e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct PasswordQuery {
    #[serde(default)]
    changed: Option<String>,
}

/// «Смена пароля».
pub async fn password_page(
    State(state): State<AppState>,
    PasswordSession(session): PasswordSession,
    Query(q): Query<PasswordQuery>,
) -> WebResult<Response> {
    let notice = q.changed.is_some().then(|| "Пароль изменён.".to_owned());
    let page = PasswordPage {
        chrome: Some(Chrome::of(&state, &session).await?),
        csrf: session.csrf_token.clone(),
        forced: session.must_change_password,
        notice: if session.must_change_password { None } else { notice },
        error: None,
        errors: Vec::new(),
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize, Default)]
pub struct PasswordForm {
    #[serde(default)]
    current: Secret,
    #[serde(default)]
    password: Secret,
    #[serde(default)]
    password_confirm: Secret,
}

/// «Сменить пароль»: the forced change ends, the user goes on to the plan list.
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    post: PasswordPost<PasswordForm>,
) -> WebResult<Response> {
    let session = &post.session;
    let f = &post.form;
    match state
        .app
        .change_own_password(&session.user, client, &session.token_hash, &f.current, &f.password, &f.password_confirm)
        .await
    {
        Ok(()) => {
            tracing::info!(login = %session.user.login, "password changed by its user");
            let next = if session.must_change_password { "/plans" } else { "/settings/password?changed=1" };
            Ok(Redirect::to(next).into_response())
        }
        Err(e @ (app::Error::Fields { .. } | app::Error::Refused { .. })) => {
            let status = status_of(&e);
            let errors = match &e {
                app::Error::Fields { errors, .. } => errors.iter().map(|x| (x.field, x.message.clone())).collect(),
                _ => Vec::new(),
            };
            let page = PasswordPage {
                chrome: Some(Chrome::of(&state, session).await?),
                csrf: session.csrf_token.clone(),
                forced: session.must_change_password,
                notice: None,
                error: Some(e.to_string()),
                errors,
            };
            Ok((status, html(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// «Привязать сертификат»: the certificate file (multipart `file`, with `csrf`).
pub async fn bind_certificate(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<i64>,
    headers: axum::http::HeaderMap,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> WebResult<Response> {
    crate::auth::check_same_origin(&headers)?;
    let broken = || {
        WebError::bad_request(format!(
            "Файл сертификата не получен полностью или больше {} КБ. Ничего не изменено.",
            app::certificates::MAX_CERTIFICATE_BYTES / 1024
        ))
    };
    let mut multipart = multipart.map_err(|_| broken())?;
    let (mut csrf, mut file) = (String::new(), Vec::new());
    while let Some(field) = multipart.next_field().await.map_err(|_| broken())? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|_| broken())?,
            Some("file") => file = field.bytes().await.map_err(|_| broken())?.to_vec(),
            _ => {}
        }
    }
    crate::auth::check_csrf_token(&csrf, &session.csrf_token)?;
    let admin = state.app.user_admin(&session.user).await?;
    let target = admin.user(UserId(id)).await?;
    match admin.bind_certificate(&target, &file).await {
        Ok(bound) => {
            let done = if bound.already { "certificate-already" } else { "certificate" };
            Ok(Redirect::to(&format!("/admin/users/{id}?done={done}")).into_response())
        }
        Err(e) => refused(&state, &session, &admin, UserId(id), e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct ThumbprintField {
    #[serde(default)]
    thumbprint: String,
}

/// «Отвязать» a user's certificate.
pub async fn unbind_certificate(
    State(state): State<AppState>,
    Id(id): Id<i64>,
    post: Post<ThumbprintField>,
) -> WebResult<Response> {
    let session = &post.session;
    let admin = state.app.user_admin(&session.user).await?;
    let target = admin.user(UserId(id)).await?;
    match admin.unbind_certificate(&target, &post.form.thumbprint).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/users/{id}?done=certificate-unbound")).into_response()),
        Err(e) => refused(&state, session, &admin, UserId(id), e).await,
    }
}
