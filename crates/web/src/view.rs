//! What every page shares: the header of a signed-in page, rendering a template, and times
//! as people read them. Used by the pages and the error page.

use askama::Template;
use store::users::Session;

/// What every signed-in page shows in its header.
pub struct Chrome {
    pub user_name: String,
    /// The roles the user holds, as a comma list («Специалист заказчика, Согласующий»).
    pub role_title: String,
    pub org_name: String,
    pub csrf: String,
    /// Shows the administrator's menu («Пользователи», «Справочники»).
    pub is_admin: bool,
    /// The session's one-time notice (failed sign-in attempts since the previous sign-in).
    pub notice: Option<String>,
    /// The user's unread notifications (the counter beside «Уведомления»).
    pub unread: i64,
    /// «ЕИС недоступна с …»: when the exchange's calls to ЕИС began to fail, while they do.
    pub eis_down_since: Option<String>,
    /// The password must be changed first: the header shows no menu.
    pub must_change_password: bool,
}

impl Chrome {
    pub async fn of(state: &crate::AppState, session: &Session) -> crate::error::WebResult<Chrome> {
        if session.notice.is_some() {
            state.app.store().take_session_notice(session).await?;
        }
        Ok(Chrome {
            user_name: session.user.full_name.clone(),
            role_title: session.user.roles.to_string(),
            org_name: session.org_short_name.clone(),
            csrf: session.csrf_token.clone(),
            is_admin: session.user.roles.is_admin(),
            notice: session.notice.clone(),
            unread: session.unread_notifications,
            eis_down_since: session.eis_down_since.map(fmt_time),
            must_change_password: session.must_change_password,
        })
    }
}

pub fn html(t: &impl Template) -> crate::error::WebResult<axum::response::Html<String>> {
    Ok(axum::response::Html(t.render()?))
}

pub fn fmt_time(at: store::Time) -> String {
    domain::format::date_time_ru(at)
}
