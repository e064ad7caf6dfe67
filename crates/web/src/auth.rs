//! Authentication and request guards: argon2 password hashes, server-side sessions in an
//! HttpOnly SameSite cookie, a CSRF token on every state-changing form, bearer tokens for the
//! JSON API, and throttling of repeated failed sign-ins.

use crate::AppState;
use crate::error::AppError;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
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

/// Hashes a password with Argon2id (default parameters: 19 MiB, 2 passes) off the async threads.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

/// Verifies against a stored PHC string. A missing user is checked against a dummy hash so that
/// the answer takes the same time whether the login exists or not.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let dummy = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0BNwWcUQMo2RVZbtyNZB0A6XrZmWZxwsXHo2NNhw2m8";
        let exists = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy.to_owned());
        let ok = PasswordHash::new(&stored)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && exists
    })
    .await
    .unwrap_or(false)
}

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
/// sign-in page.
pub struct CurrentUser(pub Session);

pub enum AuthRejection {
    SignIn,
    Failed(AppError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::SignIn => Redirect::to("/login").into_response(),
            AuthRejection::Failed(e) => e.into_response(),
        }
    }
}

async fn session_of(headers: &axum::http::HeaderMap, state: &AppState) -> Result<Session, AuthRejection> {
    let token = cookie_value(headers, SESSION_COOKIE).ok_or(AuthRejection::SignIn)?;
    state
        .store
        .session(&token, store::now_ms())
        .await
        .map_err(|e| AuthRejection::Failed(e.into()))?
        .ok_or(AuthRejection::SignIn)
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        session_of(&parts.headers, state).await.map(CurrentUser)
    }
}

/// Refuses a browser request that another site started: the `Origin` (when the browser sends
/// one) must name this very host, and `Sec-Fetch-Site` must not say cross-site.
pub fn check_same_origin(headers: &axum::http::HeaderMap) -> Result<(), AppError> {
    let refuse = || AppError::Forbidden("Запрос отклонён: он отправлен с другого сайта (защита от CSRF).".into());
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

/// A state-changing form post: a live session, a same-origin request, and the session's CSRF
/// token in the `csrf` field. The form itself is parsed into `T`.
pub struct Post<T> {
    pub session: Session,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Post<T> {
    type Rejection = AuthRejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        check_same_origin(&parts.headers).map_err(AuthRejection::Failed)?;
        let session = session_of(&parts.headers, state).await?;
        let bytes = axum::body::to_bytes(body, 1024 * 1024)
            .await
            .map_err(|_| AuthRejection::Failed(AppError::BadRequest("Слишком большой или прерванный запрос".into())))?;
        check_csrf(&bytes, &session.csrf_token).map_err(AuthRejection::Failed)?;
        let form = serde_urlencoded::from_bytes::<T>(&bytes)
            .map_err(|_| AuthRejection::Failed(AppError::BadRequest("Форма заполнена некорректно".into())))?;
        Ok(Post { session, form })
    }
}

fn check_csrf(body: &Bytes, expected: &str) -> Result<(), AppError> {
    let field: CsrfField = serde_urlencoded::from_bytes(body).unwrap_or(CsrfField { csrf: String::new() });
    check_csrf_token(&field.csrf, expected)
}

/// Compares a submitted CSRF token with the session's in constant time, so the token does not
/// leak through timing. For forms that are not url-encoded (file uploads).
pub fn check_csrf_token(given: &str, expected: &str) -> Result<(), AppError> {
    let a = given.as_bytes();
    let b = expected.as_bytes();
    let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    if same {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Форма устарела или отправлена не из plangraf (защита от CSRF). Обновите страницу и повторите.".into(),
        ))
    }
}

/// A machine client of `/api/v1`, authenticated by `Authorization: Bearer <token>`.
pub struct ApiUser(pub User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = crate::api::ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(crate::api::ApiError::unauthorized)?;
        match state.store.api_token_user(token.trim(), store::now_ms()).await {
            Ok(Some(user)) => Ok(ApiUser(user)),
            Ok(None) => Err(crate::api::ApiError::unauthorized()),
            Err(e) => Err(crate::api::ApiError::internal(e)),
        }
    }
}

/// Outcome of checking a login and password, shared by the sign-in page and the token API.
pub enum SignIn {
    Ok(User),
    Wrong,
    Locked { minutes: i64 },
}

pub async fn sign_in(state: &AppState, login: &str, password: &str) -> Result<SignIn, AppError> {
    let login = login.trim();
    let now = store::now_ms();
    if let Some(until) = state.store.sign_in_locked_until(login, now).await? {
        return Ok(SignIn::Locked { minutes: ((until - now) / 60_000).max(1) });
    }
    let creds = state.store.user_credentials(login).await?;
    let stored = creds.as_ref().map(|c| c.password_hash.clone());
    if verify_password(password.to_owned(), stored).await {
        state.store.clear_sign_in_failures(login).await?;
        let user = creds.map(|c| c.user).ok_or_else(|| AppError::internal("verified user vanished"))?;
        return Ok(SignIn::Ok(user));
    }
    state.store.record_sign_in_failure(login, now).await?;
    if let Some(until) = state.store.sign_in_locked_until(login, now).await? {
        return Ok(SignIn::Locked { minutes: ((until - now) / 60_000).max(1) });
    }
    Ok(SignIn::Wrong)
}

pub const WRONG_LOGIN: &str = "Неверный логин или пароль";

pub fn locked_message(minutes: i64) -> String {
    format!("Слишком много неудачных попыток входа. Вход для этого логина заблокирован, повторите через {minutes} мин.")
}
