//! Sign-in and sign-out.

use crate::AppState;
use crate::auth::{
    ClientAddress, PasswordPost, WRONG_LOGIN, check_same_origin, clear_session_cookie, failed_sign_ins_notice,
    session_cookie, throttled_message,
};
use crate::error::WebResult;
use crate::view::{Chrome, html};
use app::users::SignIn;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Option<Chrome>,
    login: String,
    error: Option<String>,
    /// The plug-in's script when ЭЦП sign-in is configured (`ecp`).
    ecp_script: Option<String>,
}

fn ecp_script(state: &AppState) -> Option<String> {
    state.app.ecp_enabled().then(|| state.ecp_plugin_script.to_string())
}

pub async fn login_page(State(state): State<AppState>) -> WebResult<Response> {
    let page = LoginPage { chrome: None, login: String::new(), error: None, ecp_script: ecp_script(&state) };
    Ok(html(&page)?.into_response())
}

/// The sign-in page again, with `error`: a refused password or certificate sign-in.
pub(crate) fn login_refused(
    state: &AppState,
    status: StatusCode,
    login: &str,
    error: String,
    retry_after: Option<i64>,
) -> WebResult<Response> {
    let page = LoginPage { chrome: None, login: login.to_owned(), error: Some(error), ecp_script: ecp_script(state) };
    let mut response = (status, html(&page)?).into_response();
    if let Some(secs) = retry_after {
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    Ok(response)
}

/// A sign-in succeeded, by password or certificate: the session starts, with the notice of
/// failed attempts, and the user goes on to the plans or first to «Смена пароля».
pub(crate) async fn signed_in(state: &AppState, sign_in: SignIn) -> WebResult<Response> {
    let SignIn::Ok { user, failed, must_change_password } = sign_in else {
        return Err(crate::error::WebError::internal("a refused sign-in reached the session"));
    };
    let notice = failed_sign_ins_notice(&failed);
    let token = state.app.open_session(&user, crate::auth::SESSION_TTL_MS, notice.as_deref()).await?;
    tracing::info!(login = %user.login, "signed in");
    let next = if must_change_password { crate::auth::CHANGE_PASSWORD_PATH } else { "/plans" };
    Ok(([(SET_COOKIE, session_cookie(&token, state.secure_cookies))], Redirect::to(next)).into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> WebResult<Response> {
    // No session exists yet, so the same-origin check is what stops login CSRF here.
    check_same_origin(&headers)?;
    let Ok(Form(f)) = form else {
        return Err(crate::error::WebError::bad_request(
            "Форма входа заполнена некорректно: введите логин и пароль на странице входа.",
        ));
    };
    let fail = |status: StatusCode, error: String, retry_after: Option<i64>| {
        login_refused(&state, status, &f.login, error, retry_after)
    };
    if f.login.trim().is_empty() || f.password.is_empty() {
        return fail(StatusCode::UNAUTHORIZED, "Введите логин и пароль".into(), None);
    }
    match state.app.sign_in(&f.login, &f.password, client).await? {
        ok @ SignIn::Ok { .. } => signed_in(&state, ok).await,
        SignIn::Wrong => fail(StatusCode::UNAUTHORIZED, WRONG_LOGIN.into(), None),
        SignIn::CertificateRequired => fail(StatusCode::FORBIDDEN, app::users::CERTIFICATE_REQUIRED.into(), None),
        SignIn::Throttled { retry_after_secs } => {
            fail(StatusCode::TOO_MANY_REQUESTS, throttled_message(retry_after_secs), Some(retry_after_secs))
        }
        SignIn::Busy => fail(
            StatusCode::SERVICE_UNAVAILABLE,
            app::passwords::BUSY_MESSAGE.into(),
            Some(app::passwords::BUSY_RETRY_AFTER_SECS as i64),
        ),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _post: PasswordPost<Empty>,
) -> WebResult<Response> {
    if let Some(token) = crate::auth::cookie_value(&headers, crate::auth::SESSION_COOKIE) {
        state.app.close_session(&token).await?;
    }
    Ok(([(SET_COOKIE, clear_session_cookie())], Redirect::to("/login")).into_response())
}
