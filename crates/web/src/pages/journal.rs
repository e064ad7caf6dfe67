//! «Администрирование» → «Журнал действий»: the audit journal, searched (`app::journal`).

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{WebError, WebResult};
use crate::pages::plan_page::encode;
use crate::view::{Chrome, fmt_time, html};
use app::journal::{ENTITIES, JournalFilter};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct JournalForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    before: String,
}

struct Row {
    at: String,
    who: String,
    org: String,
    /// The object, with a link where it has a page.
    object: String,
    href: Option<String>,
    action: String,
    details: String,
}

#[derive(Template)]
#[template(path = "journal.html")]
struct JournalPage {
    chrome: Option<Chrome>,
    form: JournalForm,
    entities: &'static [(&'static str, &'static str)],
    error: Option<String>,
    rows: Vec<Row>,
    /// The query string of the next page.
    next: Option<String>,
}

fn entity_name(code: &str) -> &str {
    ENTITIES.iter().find(|(c, _)| *c == code).map_or(code, |(_, name)| name)
}

fn next_page(form: &JournalForm, before: i64) -> String {
    let pairs = [
        ("from", form.from.as_str()),
        ("to", form.to.as_str()),
        ("login", form.login.as_str()),
        ("action", form.action.as_str()),
        ("entity", form.entity.as_str()),
    ];
    let mut query: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| format!("{k}={}", encode(v.trim()))).collect();
    query.push(format!("before={before}"));
    format!("?{}", query.join("&"))
}

/// The journal with the filters of the query string.
pub async fn journal(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Query(form): Query<JournalForm>,
) -> WebResult<Response> {
    let filter = JournalFilter {
        from: form.from.clone(),
        to: form.to.clone(),
        login: form.login.clone(),
        action: form.action.clone(),
        entity: form.entity.clone(),
        before: form.before.clone(),
    };
    let (status, error, rows, next) = match state.app.journal(&session.user, &filter).await {
        Ok(page) => {
            let rows = page
                .entries
                .into_iter()
                .map(|e| Row {
                    at: fmt_time(e.at),
                    who: match (e.user_name, e.login) {
                        (Some(name), Some(login)) => format!("{name} ({login})"),
                        _ => "оператор (командная строка)".to_owned(),
                    },
                    org: e.org_name.unwrap_or_default(),
                    object: match e.entity_id {
                        Some(id) => format!("{} № {id}", entity_name(&e.entity)),
                        None => entity_name(&e.entity).to_owned(),
                    },
                    href: match (e.entity.as_str(), e.entity_id) {
                        ("plan", Some(id)) => Some(format!("/plans/{id}?tab=journal")),
                        ("organization", Some(id)) => Some(format!("/admin/orgs/{id}")),
                        _ => None,
                    },
                    action: e.action,
                    details: e.details,
                })
                .collect();
            (StatusCode::OK, None, rows, page.next.map(|before| next_page(&form, before)))
        }
        Err(e @ app::Error::Fields { .. }) => (StatusCode::UNPROCESSABLE_ENTITY, Some(e.to_string()), Vec::new(), None),
        Err(e) => return Err(WebError::from(e)),
    };
    let page =
        JournalPage { chrome: Some(Chrome::of(&state, &session).await?), form, entities: &ENTITIES, error, rows, next };
    Ok((status, html(&page)?).into_response())
}
