//! Server-rendered Russian pages.

pub mod plans;
pub mod position_form;
pub mod positions;
pub mod reference;
pub mod sending;
pub mod session;
pub mod settings;
pub mod versions;

use askama::Template;
use store::users::Session;

/// What every signed-in page shows in its header.
pub struct Chrome {
    pub user_name: String,
    pub role_title: &'static str,
    pub org_name: String,
    pub csrf: String,
    /// Shows the administrator's menu («Справочники»).
    pub is_admin: bool,
    /// The session's one-time notice (failed sign-in attempts since the previous sign-in).
    pub notice: Option<String>,
}

impl Chrome {
    pub async fn of(state: &crate::AppState, session: &Session) -> crate::error::AppResult<Chrome> {
        let org = state.store.organization(session.user.org_id).await?;
        if session.notice.is_some() {
            state.store.take_session_notice(session).await?;
        }
        Ok(Chrome {
            user_name: session.user.full_name.clone(),
            role_title: session.user.role.title(),
            org_name: org.map(|o| o.short_name).unwrap_or_default(),
            csrf: session.csrf_token.clone(),
            is_admin: session.user.role == domain::Role::Admin,
            notice: session.notice.clone(),
        })
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// Always empty: the error page may be shown to someone not signed in.
    pub chrome: Option<Chrome>,
    pub title: &'a str,
    pub message: &'a str,
}

pub fn html(t: &impl Template) -> crate::error::AppResult<axum::response::Html<String>> {
    Ok(axum::response::Html(t.render()?))
}

pub fn fmt_time(ms: i64) -> String {
    domain::format::date_time_ru(store::to_datetime(ms))
}
