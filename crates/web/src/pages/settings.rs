//! «Настройки» → «Регистрационные данные в ЕИС» (seed 000, step 4).

use crate::AppState;
use crate::auth::{CurrentUser, Post};
use crate::error::WebResult;
use crate::view::{Chrome, fmt_time, html};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "settings_eis.html")]
struct SettingsPage {
    chrome: Option<Chrome>,
    csrf: String,
    login: String,
    change_password: bool,
    has_password: bool,
    updated_at: String,
    last_ok: Option<String>,
    last_fail: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

/// What the person typed into a refused form, shown again as it was (the passwords excepted).
struct Typed {
    login: String,
    change_password: bool,
}

async fn render(
    state: &AppState,
    session: &store::users::Session,
    typed: Option<Typed>,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<Response> {
    let info = state.app.store().eis_credentials_info(session.user.id).await?.unwrap_or_default();
    let page = SettingsPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        login: typed.as_ref().map_or_else(|| info.login.clone(), |t| t.login.clone()),
        // A user without a saved password has to set one, so the box starts ticked; after a
        // refusal it stays as the person left it.
        change_password: typed.as_ref().map_or(!info.has_password, |t| t.change_password),
        has_password: info.has_password,
        updated_at: fmt_time(info.updated_at),
        last_ok: info.last_ok_at.map(fmt_time),
        last_fail: info
            .last_fail_at
            .map(|t| format!("{} — {}", fmt_time(t), info.last_fail_message.clone().unwrap_or_default())),
        notice,
        error,
    };
    let status =
        if page.error.is_some() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    Ok((status, html(&page)?).into_response())
}

#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Query(q): Query<SettingsQuery>,
) -> WebResult<Response> {
    let notice = q.saved.is_some().then(|| "Регистрационные данные в ЕИС сохранены".to_owned());
    render(&state, &session, None, notice, None).await
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    change_password: Option<String>,
    #[serde(default)]
    password: domain::secret::Secret,
    #[serde(default)]
    password_confirm: domain::secret::Secret,
}

pub async fn save(State(state): State<AppState>, post: Post<SettingsForm>) -> WebResult<Response> {
    let f = post.form;
    let login = f.login.trim().to_owned();
    let fail = |e: &str| Some(e.to_owned());
    let typed = |login: &str| Some(Typed { login: login.to_owned(), change_password: f.change_password.is_some() });
    let password = if f.change_password.is_some() {
        if f.password.is_empty() {
            return render(&state, &post.session, typed(&login), None, fail("Введите пароль ЕИС дважды")).await;
        }
        if f.password.expose() != f.password_confirm.expose() {
            return render(
                &state,
                &post.session,
                typed(&login),
                None,
                fail("Пароли не совпадают. Введите один и тот же пароль дважды."),
            )
            .await;
        }
        Some(&f.password)
    } else if !f.password.is_empty() || !f.password_confirm.is_empty() {
        // A typed password without the box ticked would be silently dropped: say so instead.
        return render(
            &state,
            &post.session,
            typed(&login),
            None,
            fail("Чтобы сменить пароль, отметьте «Сменить пароль:» и введите пароль дважды"),
        )
        .await;
    } else {
        None
    };
    match state.app.save_eis_credentials(&post.session.user, &login, password).await {
        Ok(()) => Ok(Redirect::to("/settings/eis?saved=1").into_response()),
        Err(app::Error::Fields { message, .. }) => {
            render(&state, &post.session, typed(&login), None, fail(&message)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

/// «Проверить подключение»: tries the saved login and password against ЕИС and remembers the
/// outcome, so the page can say when they last worked or failed.
pub async fn check(State(state): State<AppState>, post: Post<NoFields>) -> WebResult<Response> {
    let (notice, error) = match state.app.check_eis_credentials(&post.session.user).await {
        Ok(app::sending::CredentialsCheck::Works) => (
            Some("Подключение к ЕИС работает: логин и пароль приняты. Право работы с планом-графиком ЕИС проверяет при отправке.".to_owned()),
            None,
        ),
        Ok(app::sending::CredentialsCheck::Refused(why) | app::sending::CredentialsCheck::Unknown(why)) => {
            (None, Some(why))
        }
        Err(app::Error::SendRefused(why)) => (None, Some(why)),
        Err(e) => return Err(e.into()),
    };
    render(&state, &post.session, None, notice, error).await
}
