//! «Уведомления»: the caller's notifications with read and unread, marking one or all read;
//! «Настройки» → «Настройки уведомлений»: the e-mail address and the choices per kind.

use crate::AppState;
use crate::auth::{CurrentUser, Post};
use crate::error::{WebError, WebResult};
use crate::view::{Chrome, fmt_time, html};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use store::notify::{Kind, Preference};

struct Row {
    id: i64,
    when: String,
    subject: String,
    body: String,
    link: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct ListPage {
    chrome: Option<Chrome>,
    csrf: String,
    notice: Option<String>,
    items: Vec<Row>,
    unread: i64,
    page: i64,
    more: bool,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Query(q): Query<ListQuery>,
) -> WebResult<Response> {
    let page = super::page_number(q.page.as_deref()).map_err(WebError::bad_request)?;
    let found = state.app.notifications(&session.user, page).await?;
    let page = ListPage {
        chrome: Some(Chrome::of(&state, &session).await?),
        csrf: session.csrf_token.clone(),
        notice: q.done.is_some().then(|| "Уведомления отмечены как прочитанные".to_owned()),
        items: found
            .items
            .into_iter()
            .map(|n| Row {
                id: n.id,
                when: fmt_time(n.created_at),
                subject: n.subject,
                body: n.body,
                // Only a path of plangraf is a link; anything else stored would not be followed.
                link: if n.link.starts_with('/') && !n.link.starts_with("//") { n.link } else { "/".into() },
                unread: n.read_at.is_none(),
            })
            .collect(),
        unread: found.unread,
        page: found.page,
        more: found.more,
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct ReadForm {
    #[serde(default)]
    page: Option<String>,
}

/// «Прочитано» on one notification; back to the same page of the list.
pub async fn mark_read(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    post: Post<ReadForm>,
) -> WebResult<Response> {
    state.app.mark_notification_read(&post.session.user, id).await?;
    let page = super::page_number(post.form.page.as_deref()).unwrap_or(1);
    Ok(Redirect::to(&format!("/notifications?page={page}")).into_response())
}

#[derive(Deserialize)]
pub struct NoFields {}

/// «Отметить все как прочитанные».
pub async fn mark_all_read(State(state): State<AppState>, post: Post<NoFields>) -> WebResult<Response> {
    state.app.mark_all_notifications_read(&post.session.user).await?;
    Ok(Redirect::to("/notifications?done=1").into_response())
}

struct PreferenceRow {
    code: &'static str,
    title: &'static str,
    in_app: bool,
    email: bool,
}

#[derive(Template)]
#[template(path = "settings_notifications.html")]
struct SettingsPage {
    chrome: Option<Chrome>,
    csrf: String,
    email: String,
    mail_configured: bool,
    rows: Vec<PreferenceRow>,
    notice: Option<String>,
    error: Option<String>,
}

async fn render_settings(
    state: &AppState,
    session: &store::users::Session,
    typed: Option<(String, Vec<Preference>)>,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<Response> {
    let (email, preferences) = match typed {
        Some(t) => t,
        None => {
            let s = state.app.notification_settings(&session.user).await?;
            // Without an address nothing can be mailed: «По почте» shows unticked, so that the
            // form saves as shown.
            let has_address = s.email.is_some();
            let preferences =
                s.preferences.into_iter().map(|p| Preference { email: p.email && has_address, ..p }).collect();
            (s.email.unwrap_or_default(), preferences)
        }
    };
    let page = SettingsPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        email,
        mail_configured: state.app.store().mail_outbox(),
        rows: preferences
            .iter()
            .map(|p| PreferenceRow { code: p.kind.code(), title: p.kind.title(), in_app: p.in_app, email: p.email })
            .collect(),
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

pub async fn settings_page(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Query(q): Query<SettingsQuery>,
) -> WebResult<Response> {
    let notice = q.saved.is_some().then(|| "Настройки уведомлений сохранены".to_owned());
    render_settings(&state, &session, None, notice, None).await
}

/// Saves the form: `email`, and the kinds ticked in `in_app` and `email_kind` (repeated fields).
pub async fn settings_save(State(state): State<AppState>, post: Post<Vec<(String, String)>>) -> WebResult<Response> {
    let fields = &post.form;
    let email = fields.iter().find(|(k, _)| k == "email").map(|(_, v)| v.as_str()).unwrap_or_default();
    let ticked = |name: &str, kind: Kind| fields.iter().any(|(k, v)| k == name && v == kind.code());
    let preferences: Vec<Preference> = Kind::ALL
        .into_iter()
        .map(|kind| Preference { kind, in_app: ticked("in_app", kind), email: ticked("email_kind", kind) })
        .collect();
    match state.app.save_notification_settings(&post.session.user, email, &preferences).await {
        Ok(()) => Ok(Redirect::to("/settings/notifications?saved=1").into_response()),
        Err(app::Error::Fields { message, .. }) => {
            // Shown again as typed, at most as long as an address may be.
            let typed: String = email.chars().take(domain::account::EMAIL_MAX).collect();
            render_settings(&state, &post.session, Some((typed, preferences)), None, Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}
