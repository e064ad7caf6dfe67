//! Sign-in and sign-out.

use crate::AppState;
use crate::auth::{Post, SignIn, WRONG_LOGIN, check_same_origin, clear_session_cookie, locked_message, session_cookie, sign_in};
use crate::error::AppResult;
use crate::pages::{Chrome, html};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Option<Chrome>,
    login: String,
    error: Option<String>,
}

pub async fn login_page() -> AppResult<Response> {
    Ok(html(&LoginPage { chrome: None, login: String::new(), error: None })?.into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

pub async fn login_submit(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<LoginForm>) -> AppResult<Response> {
    // No session exists yet, so the same-origin check is what stops login CSRF here.
    check_same_origin(&headers)?;
    let fail = |error: String| -> AppResult<Response> {
        let page = LoginPage { chrome: None, login: f.login.clone(), error: Some(error) };
        Ok((axum::http::StatusCode::UNAUTHORIZED, html(&page)?).into_response())
    };
    if f.login.trim().is_empty() || f.password.is_empty() {
        return fail("Введите логин и пароль".into());
    }
    match sign_in(&state, &f.login, &f.password).await? {
        SignIn::Ok(user) => {
            let token = state.store.create_session(user.id, crate::auth::SESSION_TTL_MS).await?;
            tracing::info!(login = %user.login, "signed in");
            Ok(([(SET_COOKIE, session_cookie(&token, state.secure_cookies))], Redirect::to("/plans")).into_response())
        }
        SignIn::Wrong => fail(WRONG_LOGIN.into()),
        SignIn::Locked { minutes } => fail(locked_message(minutes)),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap, _post: Post<Empty>) -> AppResult<Response> {
    if let Some(token) = crate::auth::cookie_value(&headers, crate::auth::SESSION_COOKIE) {
        state.store.delete_session(&token).await?;
    }
    Ok(([(SET_COOKIE, clear_session_cookie())], Redirect::to("/login")).into_response())
}
