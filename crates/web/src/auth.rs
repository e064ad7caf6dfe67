//! Authentication and request guards: argon2 password hashes, server-side sessions in an
//! HttpOnly SameSite cookie, a CSRF token on every state-changing form, bearer tokens for the
//! JSON API, and throttling of repeated failed sign-ins.

use crate::AppState;
use crate::error::WebError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use store::users::{Session, User};

pub const SESSION_COOKIE: &str = "plangraf_session";
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;
pub const API_TOKEN_TTL_MS: i64 = 24 * 3600 * 1000;

pub fn cookie_value(parts_headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    parts_headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", SESSION_TTL_MS / 1000)
}

pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// A signed-in user of the HTML interface. Without a live session the browser is sent to the
/// sign-in page; a user who must change the password is sent to «Смена пароля» and reaches
/// nothing else ([`PasswordSession`] is the one way past).
pub struct CurrentUser(pub Session);

/// The page of the forced password change. It takes a session that must change its password,
/// as well as any other.
pub struct PasswordSession(pub Session);

/// Where a user who must change the password is sent.
pub const CHANGE_PASSWORD_PATH: &str = "/settings/password";

pub enum AuthRejection {
    SignIn,
    /// The password must be changed first.
    ChangePassword,
    Failed(WebError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::SignIn => Redirect::to("/login").into_response(),
            AuthRejection::ChangePassword => Redirect::to(CHANGE_PASSWORD_PATH).into_response(),
            AuthRejection::Failed(e) => e.into_response(),
        }
    }
}

/// A session that may use plangraf: not one whose password must change first.
fn usable(session: Session) -> Result<Session, AuthRejection> {
    if session.must_change_password { Err(AuthRejection::ChangePassword) } else { Ok(session) }
}

async fn session_of(headers: &axum::http::HeaderMap, state: &AppState) -> Result<Session, AuthRejection> {
    let token = cookie_value(headers, SESSION_COOKIE).ok_or(AuthRejection::SignIn)?;
    state
        .app
        .store()
        .session(&token, store::now())
        .await
        .map_err(|e| AuthRejection::Failed(e.into()))?
        .ok_or(AuthRejection::SignIn)
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        usable(session_of(&parts.headers, state).await?).map(CurrentUser)
    }
}

impl FromRequestParts<AppState> for PasswordSession {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        session_of(&parts.headers, state).await.map(PasswordSession)
    }
}

/// Refuses a browser request that another site started: the `Origin` (when the browser sends
/// one) must name this very host, and `Sec-Fetch-Site` must not say cross-site.
pub fn check_same_origin(headers: &axum::http::HeaderMap) -> Result<(), WebError> {
    let refuse = || WebError::forbidden("Запрос отклонён: он отправлен с другого сайта (защита от CSRF).");
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err(refuse());
    }
    if let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if origin == "null" || origin_host != host {
            return Err(refuse());
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A state-changing form post: a live session (not one whose password must change first), a
/// same-origin request, and the session's CSRF token in the `csrf` field. The form itself is
/// parsed into `T`.
pub struct Post<T> {
    pub session: Session,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Post<T> {
    type Rejection = AuthRejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let PasswordPost { session, form } = PasswordPost::<T>::from_request(req, state).await?;
        Ok(Post { session: usable(session)?, form })
    }
}

/// A form post of «Смена пароля» and «Выйти», which a user who must change the password may
/// send too; otherwise as [`Post`].
pub struct PasswordPost<T> {
    pub session: Session,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for PasswordPost<T> {
    type Rejection = AuthRejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        check_same_origin(&parts.headers).map_err(AuthRejection::Failed)?;
        let session = session_of(&parts.headers, state).await?;
        let bytes = axum::body::to_bytes(body, 1024 * 1024)
            .await
            .map_err(|_| AuthRejection::Failed(WebError::bad_request("Слишком большой или прерванный запрос")))?;
        check_csrf(&bytes, &session.csrf_token).map_err(AuthRejection::Failed)?;
        check_form_text(&bytes).map_err(AuthRejection::Failed)?;
        let form = serde_urlencoded::from_bytes::<T>(&bytes)
            .map_err(|_| AuthRejection::Failed(WebError::bad_request("Форма заполнена некорректно")))?;
        Ok(PasswordPost { session, form })
    }
}

/// Refuses a form any of whose values holds a control character (see `domain::text`): nothing
/// such is ever saved, whichever form it came through.
fn check_form_text(body: &Bytes) -> Result<(), WebError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    match pairs.iter().find_map(|(_, v)| domain::text::forbidden_char(v)) {
        Some(c) => Err(WebError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            format!("{} Данные не сохранены.", domain::text::forbidden_message(c)),
        )),
        None => Ok(()),
    }
}

fn check_csrf(body: &Bytes, expected: &str) -> Result<(), WebError> {
    let field: CsrfField = serde_urlencoded::from_bytes(body).unwrap_or(CsrfField { csrf: String::new() });
    check_csrf_token(&field.csrf, expected)
}

/// Compares a submitted CSRF token with the session's in constant time, so the token does not
/// leak through timing. For forms that are not url-encoded (file uploads).
pub fn check_csrf_token(given: &str, expected: &str) -> Result<(), WebError> {
    let a = given.as_bytes();
    let b = expected.as_bytes();
    let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    if same {
        Ok(())
    } else {
        Err(WebError::forbidden(
            "Форма устарела или отправлена не из plangraf (защита от CSRF). Обновите страницу и повторите.",
        ))
    }
}

/// A machine client of `/api/v1`, authenticated by `Authorization: Bearer <token>`.
pub struct ApiUser(pub User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(WebError::unauthorized)?;
        match state.app.store().api_token_user(token.trim(), store::now()).await {
            Ok(Some(user)) => Ok(ApiUser(user)),
            Ok(None) => Err(WebError::unauthorized()),
            Err(e) => Err(WebError::internal(e)),
        }
    }
}

/// The client's address: the TCP peer, or — when the peer is a trusted reverse proxy — the
/// last address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_address(parts: &Parts, trusted_proxies: &[std::net::IpAddr]) -> std::net::IpAddr {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<std::net::IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|a| a.trim().parse().ok())
        .collect();
    forwarded.into_iter().rev().find(|a| !trusted_proxies.contains(a)).unwrap_or(peer)
}

/// The client's address as an extractor (see [`client_address`]).
pub struct ClientAddress(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts, &state.trusted_proxies)))
    }
}

pub const WRONG_LOGIN: &str = "Неверный логин или пароль";

pub fn throttled_message(retry_after_secs: i64) -> String {
    let wait = if retry_after_secs >= 120 {
        format!("{} мин.", (retry_after_secs + 59) / 60)
    } else {
        format!("{} с", retry_after_secs.max(1))
    };
    format!(
        "Слишком много неудачных попыток входа. Повторите вход через {wait}. Если пароль забыт, обратитесь к администратору."
    )
}

/// What the user is told on the first page after signing in, if someone failed to sign in
/// as them since their previous sign-in.
pub fn failed_sign_ins_notice(failed: &store::users::FailedSignIns) -> Option<String> {
    if failed.count == 0 {
        return None;
    }
    let last = failed.last_at.map(|t| format!(", последняя — {}", crate::view::fmt_time(t))).unwrap_or_default();
    Some(format!(
        "С вашего последнего входа были неудачные попытки войти под вашим логином: {}{last}. Если это были не вы, сообщите администратору.",
        failed.count
    ))
}
