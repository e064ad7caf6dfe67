//! «Администрирование» → «Загрузка организаций» (administrators only): the upload of ЕИС's
//! «Сводный перечень заказчиков» or of the table of organizations and users, its check with
//! every error by row and column, «Подтвердить» (a job), and the temporary passwords of the
//! created users, downloaded once from the job's page. The rules are `app::onboarding_files`'s.

use crate::AppState;
use crate::api::Id;
use crate::auth::{CurrentUser, Post, check_csrf_token, check_same_origin};
use crate::error::{WebError, WebResult, status_of};
use crate::pages::jobs::to_job;
use crate::pages::plans::NoFields;
use crate::view::{Chrome, html};
use app::onboarding_files::{Action, LoadPreview, MAX_UPLOAD_BYTES};
use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use store::users::Session;

/// The request limit of the upload: the file and the form's other fields.
pub const MAX_UPLOAD_REQUEST: usize = MAX_UPLOAD_BYTES + 64 * 1024;
/// Rows of organizations and of users listed at most (the errors are all listed).
const ROWS_SHOWN: usize = 1000;

struct ErrorRow {
    row: u32,
    column: String,
    message: String,
}

struct Line {
    row: u32,
    key: String,
    name: String,
    extra: String,
    action: String,
    invalid: bool,
}

struct Checked {
    load_id: Option<i64>,
    file_name: String,
    kind: &'static str,
    errors: Vec<ErrorRow>,
    invalid_rows: usize,
    orgs: Vec<Line>,
    more_orgs: usize,
    users: Vec<Line>,
    more_users: usize,
    org_counts: (usize, usize, usize),
    user_counts: (usize, usize, usize),
    not_actual: usize,
    foreign: usize,
}

#[derive(Template)]
#[template(path = "onboarding.html")]
struct OnboardingPage {
    chrome: Option<Chrome>,
    csrf: String,
    org_name: String,
    max_mb: usize,
    error: Option<String>,
    checked: Option<Checked>,
}

fn line(row: u32, key: &str, name: &str, extra: String, action: &Action) -> Line {
    Line {
        row,
        key: key.to_owned(),
        name: name.to_owned(),
        extra,
        action: action.title(),
        invalid: *action == Action::Invalid,
    }
}

fn checked(p: LoadPreview) -> Checked {
    let not_actual = p.orgs.iter().filter(|o| o.action == Action::NotActual).count();
    Checked {
        load_id: p.load_id,
        file_name: p.file_name.clone(),
        kind: p.kind.title(),
        invalid_rows: p.invalid_rows(),
        org_counts: p.org_counts(),
        user_counts: p.user_counts(),
        not_actual,
        foreign: p.foreign,
        more_orgs: p.orgs.len().saturating_sub(ROWS_SHOWN),
        more_users: p.users.len().saturating_sub(ROWS_SHOWN),
        orgs: p.orgs.iter().take(ROWS_SHOWN).map(|o| line(o.row, &o.spz, &o.name, String::new(), &o.action)).collect(),
        users: p
            .users
            .iter()
            .take(ROWS_SHOWN)
            .map(|u| line(u.row, &u.login, &u.full_name, format!("{}; {}", u.org_spz, u.role), &u.action))
            .collect(),
        errors: p.errors.into_iter().map(|e| ErrorRow { row: e.row, column: e.column, message: e.message }).collect(),
    }
}

async fn render(
    state: &AppState,
    session: &Session,
    error: Option<(StatusCode, String)>,
    checked: Option<Checked>,
) -> WebResult<Response> {
    let chrome = Chrome::of(state, session).await?;
    let page = OnboardingPage {
        org_name: chrome.org_name.clone(),
        chrome: Some(chrome),
        csrf: session.csrf_token.clone(),
        max_mb: MAX_UPLOAD_BYTES >> 20,
        error: error.as_ref().map(|(_, m)| m.clone()),
        checked,
    };
    let status = error.map_or(StatusCode::OK, |(s, _)| s);
    Ok((status, [(CACHE_CONTROL, "no-store")], html(&page)?).into_response())
}

/// An `app` refusal shown on the page; anything else is an error page.
fn shown(e: app::Error) -> WebResult<(StatusCode, String)> {
    match e {
        e @ (app::Error::Fields { .. }
        | app::Error::Refused { refusal: app::Refusal::State | app::Refusal::Content, .. }) => {
            Ok((status_of(&e), e.to_string()))
        }
        e => Err(e.into()),
    }
}

/// A check shown: with errors it answers 422.
async fn show(state: &AppState, session: &Session, preview: LoadPreview) -> WebResult<Response> {
    let c = checked(preview);
    let error = (!c.errors.is_empty()).then(|| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("В файле ошибок: {} (строк с ошибками: {}). Ничего не загружено.", c.errors.len(), c.invalid_rows),
        )
    });
    render(state, session, error, Some(c)).await
}

/// «Загрузка организаций»: the upload form with the templates.
pub async fn page(State(state): State<AppState>, CurrentUser(session): CurrentUser) -> WebResult<Response> {
    state.app.onboarding_template_csv(&session.user)?;
    render(&state, &session, None, None).await
}

/// The template of the table as .xlsx.
pub async fn template_xlsx(State(state): State<AppState>, CurrentUser(session): CurrentUser) -> WebResult<Response> {
    Ok(crate::pages::versions::download(state.app.onboarding_template_xlsx(&session.user).await?))
}

/// The template of the table as CSV.
pub async fn template_csv(State(state): State<AppState>, CurrentUser(session): CurrentUser) -> WebResult<Response> {
    Ok(csv(state.app.onboarding_template_csv(&session.user)?))
}

fn csv(d: app::excel::Download) -> Response {
    let name = format!("attachment; filename=\"{}\"", d.file_name);
    (
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (CONTENT_DISPOSITION, name),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        d.bytes,
    )
        .into_response()
}

/// «Проверить файл»: the check of an uploaded file; saves nothing but the file, for the
/// confirmation.
pub async fn check(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> WebResult<Response> {
    check_same_origin(&headers)?;
    let broken = || {
        WebError::bad_request(format!(
            "Файл не получен полностью или больше {} МБ. Ничего не загружено.",
            MAX_UPLOAD_BYTES >> 20
        ))
    };
    let mut multipart = multipart.map_err(|_| broken())?;
    let (mut csrf, mut file_name, mut bytes) = (String::new(), String::new(), Vec::new());
    while let Some(field) = multipart.next_field().await.map_err(|_| broken())? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|_| broken())?,
            Some("file") => {
                file_name = field.file_name().unwrap_or_default().chars().take(200).collect();
                bytes = field.bytes().await.map_err(|_| broken())?.to_vec();
            }
            _ => {}
        }
    }
    check_csrf_token(&csrf, &session.csrf_token)?;
    match state.app.onboarding_check(&session.user, &file_name, bytes).await {
        Ok(preview) => show(&state, &session, preview).await,
        Err(e) => render(&state, &session, Some(shown(e)?), None).await,
    }
}

/// A staged file's check, again.
pub async fn staged(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<i64>,
) -> WebResult<Response> {
    match state.app.onboarding_preview(&session.user, id).await {
        Ok(preview) => show(&state, &session, preview).await,
        Err(e) => render(&state, &session, Some(shown(e)?), None).await,
    }
}

/// «Подтвердить»: the load runs as a job; its page.
pub async fn confirm(State(state): State<AppState>, Id(id): Id<i64>, post: Post<NoFields>) -> WebResult<Response> {
    let session = &post.session;
    match state.app.onboarding_confirm(&session.user, id).await {
        Ok(job) => Ok(to_job(job)),
        Err(e) => render(&state, session, Some(shown(e)?), None).await,
    }
}

/// «Скачать временные пароли» on the job's page: once.
pub async fn passwords(State(state): State<AppState>, Id(id): Id<i64>, post: Post<NoFields>) -> WebResult<Response> {
    Ok(csv(state.app.onboarding_passwords(&post.session.user, id).await?))
}
