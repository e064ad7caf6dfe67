//! One error type for pages: every failure becomes a Russian page with the right status.
//! Internal details go to the log, never to the user.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug)]
pub enum AppError {
    NotFound,
    Forbidden(String),
    BadRequest(String),
    /// The input is well-formed but not acceptable (422).
    Unprocessable(String),
    Conflict(String),
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> AppError {
        AppError::Internal(e.to_string())
    }

    fn status_and_text(&self) -> (StatusCode, String) {
        match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "Запрошенная страница или документ не найдены.".into()),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            AppError::Unprocessable(m) => (StatusCode::UNPROCESSABLE_ENTITY, m.clone()),
            AppError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Внутренняя ошибка сервера. Данные не изменены. Повторите действие позже.".into(),
            ),
        }
    }
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> AppError {
        match e {
            store::StoreError::Conflict => AppError::Conflict(
                "Документ был изменён другим пользователем. Обновите страницу и повторите действие — ваши изменения не сохранены."
                    .into(),
            ),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> AppError {
        AppError::Internal(format!("template: {e}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let (status, text) = self.status_and_text();
        let page = crate::pages::ErrorPage { chrome: None, title: status_title(status), message: &text };
        let body = askama::Template::render(&page).unwrap_or_else(|_| text.clone());
        (status, Html(body)).into_response()
    }
}

fn status_title(s: StatusCode) -> &'static str {
    match s {
        StatusCode::NOT_FOUND => "Не найдено",
        StatusCode::FORBIDDEN => "Доступ запрещён",
        StatusCode::BAD_REQUEST => "Некорректный запрос",
        StatusCode::CONFLICT => "Конфликт изменений",
        StatusCode::UNPROCESSABLE_ENTITY => "Данные не прошли проверку",
        _ => "Ошибка",
    }
}
