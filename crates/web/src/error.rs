//! One error type for the whole web interface. A handler returns [`WebError`]; the outermost
//! layer ([`render_errors`]) writes it as a Russian HTML page, or under `/api/` as an RFC 9457
//! problem document, so a page and the API answer the same refusal with the same status.
//! The same layer puts a Russian body on the error answers axum makes by itself (an address
//! that does not parse, a body of the wrong type or size, a method the path does not take).
//! Internal details go to the log with the request id, never to the user.

use crate::request_id::RequestId;
use app::{Error, Refusal};
use askama::Template;
use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use domain::plan::FieldError;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct WebError {
    status: StatusCode,
    detail: String,
    problems: Vec<Problem>,
    /// Seconds for a `Retry-After` header (429, 503).
    retry_after: Option<u64>,
    /// A concurrent change: the page and the API tell the user differently what to do.
    stale: bool,
}

pub type WebResult<T> = Result<T, WebError>;

/// One thing wrong with the input: the field and, for pre-flight findings, the position.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_number: Option<u16>,
}

/// What a stale write answers on a page.
pub const STALE_PAGE: &str =
    "Документ был изменён другим пользователем. Обновите страницу и повторите действие — ваши изменения не сохранены.";
/// What a stale `row_version` (or any concurrent change) answers in the API.
pub const STALE_API: &str = "План-график изменён другим пользователем после того, как вы его прочитали: получите его заново (GET) и повторите запрос с новым row_version. Изменения не сохранены.";

const INTERNAL: &str = "Внутренняя ошибка сервера. Данные не изменены. Повторите действие позже.";

impl WebError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> WebError {
        WebError { status, detail: detail.into(), problems: Vec::new(), retry_after: None, stale: false }
    }
    pub fn not_found() -> WebError {
        WebError::new(StatusCode::NOT_FOUND, "Не найдено: такой страницы или документа нет, или он вам недоступен.")
    }
    /// 404 saying what is absent.
    pub fn not_found_with(detail: impl Into<String>) -> WebError {
        WebError::new(StatusCode::NOT_FOUND, detail)
    }
    pub fn bad_request(detail: impl Into<String>) -> WebError {
        WebError::new(StatusCode::BAD_REQUEST, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> WebError {
        WebError::new(StatusCode::FORBIDDEN, detail)
    }
    pub fn conflict(detail: impl Into<String>) -> WebError {
        WebError::new(StatusCode::CONFLICT, detail)
    }
    pub fn unauthorized() -> WebError {
        WebError::new(StatusCode::UNAUTHORIZED, "Требуется действующий токен: заголовок Authorization: Bearer <токен>")
    }
    pub fn stale() -> WebError {
        WebError { stale: true, ..WebError::new(StatusCode::CONFLICT, STALE_PAGE) }
    }
    /// 422 with the field errors of the input.
    pub fn fields(detail: impl Into<String>, errors: Vec<FieldError>) -> WebError {
        let problems = errors
            .into_iter()
            .map(|e| Problem { field: e.field.to_owned(), message: e.message, purchase_number: None })
            .collect();
        WebError { problems, ..WebError::new(StatusCode::UNPROCESSABLE_ENTITY, detail) }
    }
    /// A fault of plangraf: logged with its cause, answered with a generic message.
    pub fn internal(e: impl std::fmt::Display) -> WebError {
        tracing::error!(detail = %e, "request failed");
        WebError::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL)
    }
    /// Tells the client when to try again.
    pub fn retry_after(mut self, seconds: u64) -> WebError {
        self.retry_after = Some(seconds.max(1));
        self
    }
    pub fn with_problems(mut self, problems: Vec<Problem>) -> WebError {
        self.problems = problems;
        self
    }
    pub fn detail(&self) -> &str {
        &self.detail
    }
    pub fn status(&self) -> StatusCode {
        self.status
    }
    pub fn is_stale(&self) -> bool {
        self.stale
    }
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

/// The status every refusal of the workflow answers, on pages and in the API alike.
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::Refused { refusal: Refusal::NotAllowed, .. } => StatusCode::FORBIDDEN,
        Error::Refused { refusal: Refusal::State, .. } | Error::Stale | Error::SendRefused(_) => StatusCode::CONFLICT,
        Error::Refused { refusal: Refusal::Content, .. } | Error::Fields { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Eis(_) => StatusCode::BAD_GATEWAY,
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for WebError {
    fn from(e: Error) -> WebError {
        let status = status_of(&e);
        match e {
            Error::Refused { message, findings, .. } => WebError::new(status, message).with_problems(
                findings
                    .into_iter()
                    .map(|f| Problem {
                        field: f.field.to_owned(),
                        message: f.message,
                        purchase_number: f.purchase_number,
                    })
                    .collect(),
            ),
            Error::Fields { message, errors } => WebError::fields(message, errors),
            Error::Stale => WebError::stale(),
            Error::SendRefused(message) | Error::Eis(message) => WebError::new(status, message),
            Error::NotFound => WebError::not_found(),
            e @ Error::Internal(_) => WebError::internal(e.chain()),
        }
    }
}

impl From<store::StoreError> for WebError {
    fn from(e: store::StoreError) -> WebError {
        Error::from(e).into()
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> WebError {
        WebError::internal(format!("template: {e}"))
    }
}

/// Carries the error from the handler to [`render_errors`], which knows the route.
#[derive(Clone)]
struct Pending(Arc<WebError>);

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let mut resp = self.status.into_response();
        resp.extensions_mut().insert(Pending(Arc::new(self)));
        resp
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    /// Always empty: the error page may be shown to someone not signed in.
    chrome: Option<crate::view::Chrome>,
    title: &'a str,
    message: &'a str,
    request_id: &'a str,
}

fn status_title(s: StatusCode) -> &'static str {
    match s {
        StatusCode::BAD_REQUEST => "Некорректный запрос",
        StatusCode::UNAUTHORIZED => "Требуется вход",
        StatusCode::FORBIDDEN => "Доступ запрещён",
        StatusCode::NOT_FOUND => "Не найдено",
        StatusCode::METHOD_NOT_ALLOWED => "Метод не поддерживается",
        StatusCode::CONFLICT => "Конфликт",
        StatusCode::PAYLOAD_TOO_LARGE => "Слишком большой запрос",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Неподдерживаемый формат запроса",
        StatusCode::UNPROCESSABLE_ENTITY => "Данные не прошли проверку",
        StatusCode::TOO_MANY_REQUESTS => "Слишком много попыток",
        StatusCode::SERVICE_UNAVAILABLE => "Сервис временно перегружен",
        _ => "Ошибка",
    }
}

/// What an error answer axum made by itself (not a [`WebError`]) means, in Russian.
fn generic_detail(s: StatusCode) -> &'static str {
    match s {
        StatusCode::BAD_REQUEST => "Запрос составлен некорректно. Вернитесь назад и повторите действие.",
        StatusCode::NOT_FOUND => "Не найдено: такой страницы или документа нет, или он вам недоступен.",
        StatusCode::METHOD_NOT_ALLOWED => "Этот адрес не принимает такой запрос.",
        StatusCode::PAYLOAD_TOO_LARGE => "Запрос слишком велик. Данные не изменены.",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "Запрос передан в неподдерживаемом формате: формы отправляются как application/x-www-form-urlencoded, API принимает application/json."
        }
        StatusCode::UNPROCESSABLE_ENTITY => "Данные запроса не прошли проверку. Данные не изменены.",
        s if s.is_server_error() => INTERNAL,
        _ => "Запрос не выполнен.",
    }
}

/// Whether a body is already one of ours: a page or a JSON document.
fn has_own_body(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html") || t.contains("json") || t.contains("xml"))
}

/// The outermost layer: renders [`WebError`]s by route and gives axum's own error answers a
/// Russian body.
pub async fn render_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let request_id = req.extensions().get::<RequestId>().map(|r| r.as_str().to_owned()).unwrap_or_default();
    let resp = next.run(req).await;
    let error = match resp.extensions().get::<Pending>() {
        Some(Pending(e)) => WebError::clone(e),
        None if (resp.status().is_client_error() || resp.status().is_server_error()) && !has_own_body(&resp) => {
            WebError::new(resp.status(), generic_detail(resp.status()))
        }
        None => return resp,
    };
    let (parts, _) = resp.into_parts();
    let mut out = if api { problem(&error) } else { page(&error, &request_id) };
    // Headers the handler set (Allow, WWW-Authenticate, security headers) stay.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    if let Some(seconds) = error.retry_after {
        out.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    out
}

fn problem(e: &WebError) -> Response {
    let detail = if e.stale { STALE_API } else { &e.detail };
    let mut body = json!({
        "type": "about:blank",
        "title": status_title(e.status),
        "status": e.status.as_u16(),
        "detail": detail,
    });
    if !e.problems.is_empty() {
        body["errors"] = json!(e.problems);
    }
    let mut resp = (e.status, Json(body)).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    if e.status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

fn page(e: &WebError, request_id: &str) -> Response {
    let mut message = e.detail.clone();
    for p in &e.problems {
        message.push_str("\n— ");
        message.push_str(&p.message);
    }
    let shown_id = if e.status.is_server_error() { request_id } else { "" };
    let page = ErrorPage { chrome: None, title: status_title(e.status), message: &message, request_id: shown_id };
    let body = page.render().unwrap_or_else(|_| message.clone());
    (e.status, Html(body)).into_response()
}
