//! The caller's notifications: the list with the unread count, and marking them read.

use crate::AppState;
use crate::api::Id;
use crate::api::model::time;
use crate::api::query::Query;
use crate::auth::ApiUser;
use crate::error::WebError;
use axum::Json;
use axum::extract::{RawQuery, State};
use serde::Serialize;

type ApiResult<T> = Result<T, WebError>;

/// `Notification`
#[derive(Serialize)]
pub struct NotificationOut {
    pub id: i64,
    /// `None` for a kind this version of plangraf no longer knows.
    pub kind: Option<&'static str>,
    pub subject: String,
    pub body: String,
    /// The page it is about, relative to the site.
    pub link: String,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// `NotificationList`
#[derive(Serialize)]
pub struct NotificationList {
    pub items: Vec<NotificationOut>,
    pub page: i64,
    pub more: bool,
    pub unread: i64,
}

/// `GET /api/v1/notifications?page=N`: newest first, 50 a page.
pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<NotificationList>> {
    let page = Query::parse(query.as_deref()).and_then(|q| q.page()).map_err(WebError::bad_request)?;
    let found = state.app.notifications(&user, page).await?;
    Ok(Json(NotificationList {
        items: found
            .items
            .into_iter()
            .map(|n| NotificationOut {
                id: n.id,
                kind: n.kind.map(|k| k.code()),
                subject: n.subject,
                body: n.body,
                link: n.link,
                created_at: time(n.created_at),
                read_at: n.read_at.map(time),
            })
            .collect(),
        page: found.page,
        more: found.more,
        unread: found.unread,
    }))
}

/// `MarkedRead`
#[derive(Serialize)]
pub struct MarkedRead {
    pub marked: u64,
}

/// `POST /api/v1/notifications/{id}/read`; another user's notification is not found.
pub async fn mark_read(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<i64>,
) -> ApiResult<Json<MarkedRead>> {
    state.app.mark_notification_read(&user, id).await?;
    Ok(Json(MarkedRead { marked: 1 }))
}

/// `POST /api/v1/notifications/read-all`: answers how many were unread.
pub async fn mark_all_read(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult<Json<MarkedRead>> {
    Ok(Json(MarkedRead { marked: state.app.mark_all_notifications_read(&user).await? }))
}
