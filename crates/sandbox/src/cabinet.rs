//! The personal-cabinet pages of scenario A, in Russian: sign-in, «Администрирование» →
//! «Пользователи организации», a user's «Регистрационные данные» with the generation of the
//! alternative-integration password, «Права доступа пользователя», «Заблокировать
//! пользователя».
//!
//! Sessions live in SQLite (the cookie carries a random token, the table its SHA-256); the
//! cookie is HttpOnly, Secure and SameSite=Strict. Every POST of a signed-in user carries the
//! session's CSRF token; the sign-in POST must come from this origin (Origin or Referer).
//! Only an organization's administrator manages the users of that organization.

use askama::Template;
use axum::Router;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::map_response;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sqlx::Row;

use crate::db::{format_ru, now_ms};
use crate::directory::UserRecord;
use crate::signin::{BUSY_WAIT, LoginKind, Refused};
use crate::{AppState, SandboxError, passwords};

mod plan_pages;

const SESSION_COOKIE: &str = "eis_sandbox_session";
const SESSION_TTL_MS: i64 = 8 * 3600 * 1000;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/cabinet") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/cabinet", get(home))
        .route("/cabinet/user", get(profile))
        .route("/cabinet/user/integration", post(own_integration))
        .route("/cabinet/admin/users", get(users))
        .route("/cabinet/admin/users/{id}/registration", get(registration))
        .route("/cabinet/admin/users/{id}/integration", post(integration))
        .route("/cabinet/admin/users/{id}/rights", get(rights_page).post(save_rights))
        .route("/cabinet/admin/users/{id}/block", post(block))
        .merge(plan_pages::routes())
        .layer(map_response(security_headers))
}

/// The pages use no external resources and no scripts; they are never framed or cached.
async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

// --- views ----------------------------------------------------------------------------------

struct Nav {
    full_name: String,
    org_name: String,
    is_admin: bool,
    plan_rights: bool,
    csrf: String,
}

struct UserView {
    id: i64,
    login: String,
    full_name: String,
    org_name: String,
    org_reg_num: String,
    role: &'static str,
    rights: &'static str,
    created: String,
    updated: String,
    blocked: bool,
}

fn view(u: &UserRecord) -> UserView {
    UserView {
        id: u.id,
        login: u.login.clone(),
        full_name: u.full_name.clone(),
        org_name: u.org_name.clone(),
        org_reg_num: u.org_reg_num.clone(),
        role: if u.is_org_admin {
            "Администратор организации"
        } else {
            "Лицо, уполномоченное на размещение информации и документов"
        },
        rights: if u.plan_rights { "Работа с планом-графиком" } else { "—" },
        created: format_ru(u.created_at),
        updated: format_ru(u.updated_at),
        blocked: u.blocked,
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    error: Option<String>,
    login: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    nav: Option<Nav>,
    user: UserView,
    nav_is_admin: bool,
    plan_rights: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Option<Nav>,
    org_name: String,
    org_reg_num: String,
    users: Vec<UserView>,
    csrf: String,
}

#[derive(Template)]
#[template(path = "registration.html")]
struct RegistrationPage {
    nav: Option<Nav>,
    user: UserView,
    integration_login: String,
    password_at: Option<String>,
    csrf: String,
    /// «Пользователь» (the user's own data) or an administrator's view of a user.
    title: &'static str,
    /// Where the integration button posts.
    integration_action: String,
    back_href: &'static str,
    back_label: &'static str,
}

#[derive(Template)]
#[template(path = "integration.html")]
struct IntegrationPage {
    nav: Option<Nav>,
    /// «Продолжить»: back to the page the button was on.
    continue_href: String,
    full_name: String,
    login: String,
    password: String,
}

#[derive(Template)]
#[template(path = "rights.html")]
struct RightsPage {
    nav: Option<Nav>,
    user: UserView,
    plan_rights: bool,
    org_admin: bool,
    is_self: bool,
    csrf: String,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    nav: Option<Nav>,
    title: String,
    text: String,
    is_error: bool,
    back_href: &'static str,
    back_label: &'static str,
}

fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cabinet page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Внутренняя ошибка").into_response()
        }
    }
}

fn message(nav: Option<Nav>, status: StatusCode, title: &str, text: &str) -> Response {
    render(
        status,
        &MessagePage {
            nav,
            title: title.to_owned(),
            text: text.to_owned(),
            is_error: status.is_client_error() || status.is_server_error(),
            back_href: "/cabinet",
            back_label: "← Личный кабинет",
        },
    )
}

fn internal(e: &SandboxError) -> Response {
    tracing::error!(error = %e, "cabinet request failed");
    message(None, StatusCode::INTERNAL_SERVER_ERROR, "Ошибка", "Внутренняя ошибка. Повторите попытку позже.")
}

// --- extractors with Russian refusals -------------------------------------------------------

/// `Form`, refused with a Russian page instead of axum's English text.
pub(super) struct CabinetForm<T>(pub(super) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for CabinetForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Form::<T>::from_request(req, state).await {
            Ok(Form(v)) => Ok(CabinetForm(v)),
            Err(e) => {
                tracing::info!(error = %e, "cabinet form refused");
                Err(match e.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => message(
                        None,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Запрос слишком велик",
                        "Данные формы превышают допустимый размер. Сократите введенный текст и повторите действие.",
                    ),
                    status => message(
                        None,
                        status,
                        "Неверный запрос",
                        "Форма не прочитана: она заполнена неверно или отправлена не со страницы личного кабинета. \
                         Обновите страницу и повторите действие.",
                    ),
                })
            }
        }
    }
}

/// `Path`, a segment that does not parse being «Страница не найдена» in Russian.
pub(super) struct CabinetPath<T>(pub(super) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for CabinetPath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(CabinetPath(v)),
            Err(_) => Err(not_found_page()),
        }
    }
}

pub(crate) fn not_found_page() -> Response {
    message(
        None,
        StatusCode::NOT_FOUND,
        "Страница не найдена",
        "Такой страницы в личном кабинете нет. Проверьте адрес.",
    )
}

// --- sessions -------------------------------------------------------------------------------

/// A signed-in, unblocked user with the session's CSRF token.
struct Authed {
    user: UserRecord,
    csrf: String,
}

impl Authed {
    fn nav(&self) -> Option<Nav> {
        Some(Nav {
            full_name: self.user.full_name.clone(),
            org_name: self.user.org_name.clone(),
            is_admin: self.user.is_org_admin,
            plan_rights: self.user.plan_rights,
            csrf: self.csrf.clone(),
        })
    }

    /// `Some(refusal)` when the form does not carry this session's token.
    fn refuse_csrf(&self, token: &str) -> Option<Response> {
        if passwords::constant_time_eq(&self.csrf, token) {
            None
        } else {
            Some(message(
                self.nav(),
                StatusCode::FORBIDDEN,
                "Запрос отклонен",
                "Форма устарела или отправлена не со страницы личного кабинета. Обновите страницу и повторите действие.",
            ))
        }
    }

    /// `Some(refusal)` unless the user administers his organization.
    fn refuse_non_admin(&self) -> Option<Response> {
        if self.user.is_org_admin {
            None
        } else {
            Some(message(
                self.nav(),
                StatusCode::FORBIDDEN,
                "Недостаточно прав",
                "Управлять пользователями организации может только администратор организации.",
            ))
        }
    }

    /// A user of the administrator's own organization; anything else is «не найден».
    async fn managed_user(&self, state: &AppState, id: i64) -> Result<UserRecord, Response> {
        if let Some(refusal) = self.refuse_non_admin() {
            return Err(refusal);
        }
        match state.directory.user_by_id(id).await {
            Ok(Some(u)) if u.org_reg_num == self.user.org_reg_num => Ok(u),
            Ok(_) => {
                Err(message(self.nav(), StatusCode::NOT_FOUND, "Пользователь не найден", "Пользователь не найден."))
            }
            Err(e) => Err(internal(&e)),
        }
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to("/login").into_response();
        let token = cookie_value(&parts.headers, SESSION_COOKIE).ok_or_else(to_login)?;
        let row = sqlx::query("SELECT user_id, csrf_token FROM sessions WHERE token_hash = ?1 AND expires_at > ?2")
            .bind(passwords::token_hash(token))
            .bind(now_ms())
            .fetch_optional(&state.db)
            .await
            .map_err(|e| internal(&e.into()))?
            .ok_or_else(to_login)?;
        let user_id: i64 = row.try_get("user_id").map_err(|e| internal(&e.into()))?;
        let csrf: String = row.try_get("csrf_token").map_err(|e| internal(&e.into()))?;
        match state.directory.user_by_id(user_id).await {
            Ok(Some(user)) if !user.blocked => Ok(Authed { user, csrf }),
            Ok(_) => Err(to_login()),
            Err(e) => Err(internal(&e)),
        }
    }
}

/// The sign-in form has no session yet to carry a token: it must come from this very origin.
fn same_origin(headers: &HeaderMap, uri: &Uri) -> bool {
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned));
    let Some(authority) = authority else { return false };
    let origin = format!("https://{authority}");
    if let Some(o) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return o == origin;
    }
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|r| r == origin || r.starts_with(&format!("{origin}/")))
}

// --- handlers -------------------------------------------------------------------------------

async fn login_page() -> Response {
    render(StatusCode::OK, &LoginPage { nav: None, error: None, login: String::new() })
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    CabinetForm(form): CabinetForm<LoginForm>,
) -> Response {
    if !same_origin(&headers, &uri) {
        return message(
            None,
            StatusCode::FORBIDDEN,
            "Запрос отклонен",
            "Форма входа отправлена не со страницы личного кабинета.",
        );
    }
    let refused = |status: StatusCode, text: &str| {
        render(status, &LoginPage { nav: None, error: Some(text.to_owned()), login: form.login.clone() })
    };
    let failed = |text: &str| refused(StatusCode::UNAUTHORIZED, text);
    let login = form.login.trim();
    let found = match state.directory.user_by_login(login).await {
        Ok(f) => f,
        Err(e) => return internal(&e),
    };
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), Some(h)),
        None => (None, None),
    };
    let checked =
        state.directory.guard().check(&state.db, LoginKind::Cabinet, login, peer.ip(), &form.password, hash).await;
    let retry = |secs: u64, resp: Response| {
        let mut resp = resp;
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        resp
    };
    match checked {
        Ok(true) => {}
        Ok(false) => return failed("Неверный логин или пароль"),
        Err(Refused::Throttled { retry_after_secs }) => {
            let text = format!(
                "Слишком много неудачных попыток входа. Повторите попытку через {} и проверьте логин и пароль.",
                seconds_ru(retry_after_secs)
            );
            return retry(retry_after_secs, refused(StatusCode::TOO_MANY_REQUESTS, &text));
        }
        Err(Refused::Busy) => {
            let text = "Сервис перегружен: слишком много одновременных попыток входа. Повторите попытку через несколько секунд.";
            return retry(BUSY_WAIT.as_secs().max(1), refused(StatusCode::SERVICE_UNAVAILABLE, text));
        }
        Err(Refused::Storage(e)) => return internal(&e),
    }
    let Some(user) = user else { return failed("Неверный логин или пароль") };
    if user.blocked {
        return failed("Пользователь заблокирован. Обратитесь к администратору организации.");
    }
    let token = passwords::random_token();
    let now = now_ms();
    let created = async {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?1").bind(now).execute(&state.db).await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)")
            .bind(passwords::token_hash(&token))
            .bind(user.id)
            .bind(passwords::random_token())
            .bind(now)
            .bind(now + SESSION_TTL_MS)
            .execute(&state.db)
            .await
    }
    .await;
    if let Err(e) = created {
        return internal(&e.into());
    }
    tracing::info!(login = %user.login, "cabinet sign-in");
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        SESSION_TTL_MS / 1000
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/cabinet")).into_response()
}

/// «N с» or «M мин» for a wait.
fn seconds_ru(secs: u64) -> String {
    if secs < 120 { format!("{secs} с") } else { format!("{} мин", secs.div_ceil(60)) }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: Authed,
    CabinetForm(form): CabinetForm<CsrfForm>,
) -> Response {
    if let Some(refusal) = auth.refuse_csrf(&form.csrf) {
        return refusal;
    }
    if let Some(token) = cookie_value(&headers, SESSION_COOKIE)
        && let Err(e) = sqlx::query("DELETE FROM sessions WHERE token_hash = ?1")
            .bind(passwords::token_hash(token))
            .execute(&state.db)
            .await
    {
        return internal(&e.into());
    }
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

async fn home(auth: Authed) -> Response {
    let page = HomePage {
        nav: auth.nav(),
        user: view(&auth.user),
        nav_is_admin: auth.user.is_org_admin,
        plan_rights: auth.user.plan_rights,
    };
    render(StatusCode::OK, &page)
}

async fn users(State(state): State<AppState>, auth: Authed) -> Response {
    if let Some(refusal) = auth.refuse_non_admin() {
        return refusal;
    }
    match state.directory.users_of_org(&auth.user.org_reg_num).await {
        Ok(list) => render(
            StatusCode::OK,
            &UsersPage {
                nav: auth.nav(),
                org_name: auth.user.org_name.clone(),
                org_reg_num: auth.user.org_reg_num.clone(),
                users: list.iter().map(view).collect(),
                csrf: auth.csrf.clone(),
            },
        ),
        Err(e) => internal(&e),
    }
}

/// Whose registration data a page shows: the user's own («Пользователь»), or another user's
/// to the organization's administrator.
#[derive(Clone, Copy)]
enum Whose {
    Own,
    Managed(i64),
}

impl Whose {
    fn page(self) -> String {
        match self {
            Whose::Own => "/cabinet/user".into(),
            Whose::Managed(id) => format!("/cabinet/admin/users/{id}/registration"),
        }
    }

    fn integration(self) -> String {
        match self {
            Whose::Own => "/cabinet/user/integration".into(),
            Whose::Managed(id) => format!("/cabinet/admin/users/{id}/integration"),
        }
    }
}

fn registration_page(auth: &Authed, user: &UserRecord, whose: Whose) -> Response {
    let (title, back_href, back_label) = match whose {
        Whose::Own => ("Пользователь", "/cabinet", "← Личный кабинет"),
        Whose::Managed(_) => ("Регистрационные данные", "/cabinet/admin/users", "← Пользователи организации"),
    };
    render(
        StatusCode::OK,
        &RegistrationPage {
            nav: auth.nav(),
            integration_login: user.integration_login.clone(),
            password_at: user.integration_password_at.map(format_ru),
            user: view(user),
            csrf: auth.csrf.clone(),
            title,
            integration_action: whose.integration(),
            back_href,
            back_label,
        },
    )
}

/// The button «Данные пользователя для альтернативной интеграции (по протоколу HTTPS)»: every
/// press makes a new password and shows it once.
async fn new_integration_password(state: &AppState, auth: &Authed, user: &UserRecord, whose: Whose) -> Response {
    match state.directory.regenerate_integration_password(&user.login).await {
        Ok(creds) => {
            tracing::info!(by = %auth.user.login, user = %user.login, "integration password generated in the cabinet");
            render(
                StatusCode::OK,
                &IntegrationPage {
                    nav: auth.nav(),
                    continue_href: whose.page(),
                    full_name: user.full_name.clone(),
                    login: creds.login,
                    password: creds.password.expose().to_owned(),
                },
            )
        }
        Err(e) => internal(&e),
    }
}

async fn registration(State(state): State<AppState>, auth: Authed, CabinetPath(id): CabinetPath<i64>) -> Response {
    match auth.managed_user(&state, id).await {
        Ok(user) => registration_page(&auth, &user, Whose::Managed(id)),
        Err(r) => r,
    }
}

/// The signed-in user as stored now: the session's copy may predate the last regeneration.
async fn signed_in_user(state: &AppState, auth: &Authed) -> Result<UserRecord, Response> {
    match state.directory.user_by_id(auth.user.id).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(internal(&SandboxError::NotFound("the signed-in user".into()))),
        Err(e) => Err(internal(&e)),
    }
}

/// «Пользователь»: every user's own registration data and integration login (seed 004: the
/// customer finds and changes them there). Viewing changes nothing.
async fn profile(State(state): State<AppState>, auth: Authed) -> Response {
    match signed_in_user(&state, &auth).await {
        Ok(user) => registration_page(&auth, &user, Whose::Own),
        Err(r) => r,
    }
}

/// The button in «Пользователь», for the user's own integration password.
async fn own_integration(
    State(state): State<AppState>,
    auth: Authed,
    CabinetForm(form): CabinetForm<CsrfForm>,
) -> Response {
    if let Some(refusal) = auth.refuse_csrf(&form.csrf) {
        return refusal;
    }
    match signed_in_user(&state, &auth).await {
        Ok(user) => new_integration_password(&state, &auth, &user, Whose::Own).await,
        Err(r) => r,
    }
}

/// The button on a user's «Регистрационные данные», for the organization's administrator.
async fn integration(
    State(state): State<AppState>,
    auth: Authed,
    CabinetPath(id): CabinetPath<i64>,
    CabinetForm(form): CabinetForm<CsrfForm>,
) -> Response {
    if let Some(refusal) = auth.refuse_csrf(&form.csrf) {
        return refusal;
    }
    match auth.managed_user(&state, id).await {
        Ok(user) => new_integration_password(&state, &auth, &user, Whose::Managed(id)).await,
        Err(r) => r,
    }
}

async fn rights_page(State(state): State<AppState>, auth: Authed, CabinetPath(id): CabinetPath<i64>) -> Response {
    let user = match auth.managed_user(&state, id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    render(
        StatusCode::OK,
        &RightsPage {
            nav: auth.nav(),
            plan_rights: user.plan_rights,
            org_admin: user.is_org_admin,
            is_self: user.id == auth.user.id,
            user: view(&user),
            csrf: auth.csrf.clone(),
        },
    )
}

#[derive(Deserialize)]
struct RightsForm {
    #[serde(default)]
    csrf: String,
    plan_rights: Option<String>,
    org_admin: Option<String>,
}

async fn save_rights(
    State(state): State<AppState>,
    auth: Authed,
    CabinetPath(id): CabinetPath<i64>,
    CabinetForm(form): CabinetForm<RightsForm>,
) -> Response {
    if let Some(refusal) = auth.refuse_csrf(&form.csrf) {
        return refusal;
    }
    let user = match auth.managed_user(&state, id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let saved = async {
        state.directory.set_plan_rights(&user.login, form.plan_rights.is_some()).await?;
        // An administrator cannot demote himself and leave the organization without one.
        if user.id != auth.user.id {
            state.directory.set_org_admin(&user.login, form.org_admin.is_some()).await?;
        }
        Ok::<_, SandboxError>(())
    }
    .await;
    match saved {
        Ok(()) => Redirect::to("/cabinet/admin/users").into_response(),
        Err(e) => internal(&e),
    }
}

#[derive(Deserialize)]
struct BlockForm {
    #[serde(default)]
    csrf: String,
    blocked: String,
}

async fn block(
    State(state): State<AppState>,
    auth: Authed,
    CabinetPath(id): CabinetPath<i64>,
    CabinetForm(form): CabinetForm<BlockForm>,
) -> Response {
    if let Some(refusal) = auth.refuse_csrf(&form.csrf) {
        return refusal;
    }
    let user = match auth.managed_user(&state, id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if user.id == auth.user.id {
        return message(
            auth.nav(),
            StatusCode::BAD_REQUEST,
            "Действие невозможно",
            "Нельзя заблокировать самого себя.",
        );
    }
    match state.directory.set_blocked(&user.login, form.blocked == "1").await {
        Ok(()) => Redirect::to("/cabinet/admin/users").into_response(),
        Err(e) => internal(&e),
    }
}
