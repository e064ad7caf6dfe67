//! Plan-schedules in Excel on the plan page: «Скачать в Excel» (the working copy) and the
//! import of positions from .xlsx with its template.

use crate::AppState;
use crate::api::Id;
use crate::auth::{CurrentUser, check_csrf_token, check_same_origin};
use crate::error::{WebError, WebResult};
use crate::pages::versions::download;
use crate::view::{Chrome, html};
use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::ids::PlanId;
use store::users::Session;

/// «Скачать в Excel»: the working copy as it is now.
pub async fn plan_xlsx(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<PlanId>,
) -> WebResult<Response> {
    Ok(download(state.app.plan_xlsx(&session.user, id).await?))
}

/// «Скачать шаблон»: the empty import template of the plan.
pub async fn template(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<PlanId>,
) -> WebResult<Response> {
    Ok(download(state.app.import_template(&session.user, id).await?))
}

/// The largest import file: the reader's own bound.
pub const MAX_IMPORT_BYTES: usize = app::excel::MAX_IMPORT_BYTES;
/// The request limit of the import's forms: the file, or the checked file carried back in the
/// confirmation as base64 (4/3 of its size), and the other fields.
pub const MAX_IMPORT_REQUEST: usize = MAX_IMPORT_BYTES / 3 * 4 + 1024 * 1024;
/// Rows of the file listed on the check's page at most (the errors are all listed).
const ROWS_SHOWN: usize = 1000;

struct ErrorRow {
    row: u32,
    column: String,
    message: String,
}

struct RowView {
    row: u32,
    number: String,
    title: String,
    action: &'static str,
    invalid: bool,
}

/// The check of a file: its summary, its errors and, when there are none, the confirmation
/// form carrying the file back.
struct Checked {
    file_name: String,
    rows: Vec<RowView>,
    more_rows: usize,
    errors: Vec<ErrorRow>,
    added: usize,
    changed: usize,
    unchanged: usize,
    stamp: i64,
    /// The checked file, base64, for the confirmation.
    file: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    chrome: Option<Chrome>,
    csrf: String,
    plan_id: PlanId,
    year: i32,
    org_short: String,
    max_mb: usize,
    error: Option<String>,
    checked: Option<Checked>,
}

async fn render(
    state: &AppState,
    session: &Session,
    plan: &app::Editable,
    error: Option<(StatusCode, String)>,
    checked: Option<Checked>,
) -> WebResult<Response> {
    let page = ImportPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        plan_id: plan.plan().id,
        year: plan.plan().plan_year,
        org_short: plan.owner().short_name.clone(),
        max_mb: MAX_IMPORT_BYTES >> 20,
        checked,
        error: error.as_ref().map(|(_, m)| m.clone()),
    };
    let status = error.map_or(StatusCode::OK, |(s, _)| s);
    Ok((status, html(&page)?).into_response())
}

/// «Загрузить из Excel»: the upload form with the template.
pub async fn page(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<PlanId>,
) -> WebResult<Response> {
    let plan = state.app.editable_plan(&session.user, id).await?;
    render(&state, &session, &plan, None, None).await
}

/// The import forms' fields.
#[derive(Default)]
struct Upload {
    csrf: String,
    file_name: String,
    bytes: Vec<u8>,
    /// The confirmation's checked file (base64) and stamp.
    checked_file: String,
    stamp: Option<i64>,
}

async fn read_upload(
    headers: &HeaderMap,
    session: &Session,
    multipart: Result<Multipart, MultipartRejection>,
) -> WebResult<Upload> {
    check_same_origin(headers)?;
    let broken = || {
        WebError::bad_request(format!(
            "Файл не получен полностью или больше {} МБ. Позиции не загружены.",
            MAX_IMPORT_BYTES >> 20
        ))
    };
    let mut multipart = multipart.map_err(|_| broken())?;
    let mut u = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(|_| broken())? {
        match field.name() {
            Some("csrf") => u.csrf = field.text().await.map_err(|_| broken())?,
            Some("stamp") => u.stamp = field.text().await.map_err(|_| broken())?.trim().parse().ok(),
            Some("checked_file") => u.checked_file = field.text().await.map_err(|_| broken())?,
            Some("file_name") => u.file_name = field.text().await.map_err(|_| broken())?.chars().take(200).collect(),
            Some("file") => {
                u.file_name = field.file_name().unwrap_or_default().chars().take(200).collect();
                u.bytes = field.bytes().await.map_err(|_| broken())?.to_vec();
            }
            _ => {}
        }
    }
    check_csrf_token(&u.csrf, &session.csrf_token)?;
    Ok(u)
}

/// An `app` refusal shown on the import page; anything else is an error page.
fn shown(e: app::Error) -> WebResult<(StatusCode, String)> {
    match e {
        e @ (app::Error::Fields { .. }
        | app::Error::Refused { refusal: app::Refusal::State | app::Refusal::Content, .. }) => {
            Ok((crate::error::status_of(&e), e.to_string()))
        }
        e => Err(e.into()),
    }
}

/// «Проверить файл»: reads the file and shows each row with its errors; saves nothing.
pub async fn check(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<PlanId>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> WebResult<Response> {
    let upload = read_upload(&headers, &session, multipart).await?;
    let plan = state.app.editable_plan(&session.user, id).await?;
    if upload.bytes.is_empty() {
        let error = (StatusCode::UNPROCESSABLE_ENTITY, "Выберите файл Excel (.xlsx) с позициями.".to_owned());
        return render(&state, &session, &plan, Some(error), None).await;
    }
    use base64::Engine as _;
    let file = base64::engine::general_purpose::STANDARD.encode(&upload.bytes);
    match state.app.import_preview(&session.user, id, upload.bytes).await {
        Ok(preview) => {
            let checked = Checked {
                file_name: upload.file_name,
                more_rows: preview.rows.len().saturating_sub(ROWS_SHOWN),
                rows: preview
                    .rows
                    .iter()
                    .take(ROWS_SHOWN)
                    .map(|r| RowView {
                        row: r.row,
                        number: r.number.clone().unwrap_or_default(),
                        title: r.title.clone(),
                        action: r.action.title(),
                        invalid: r.action == app::excel::ImportAction::Invalid,
                    })
                    .collect(),
                errors: preview
                    .errors
                    .into_iter()
                    .map(|e| ErrorRow { row: e.row, column: e.column, message: e.message })
                    .collect(),
                added: preview.added,
                changed: preview.changed,
                unchanged: preview.unchanged,
                stamp: preview.stamp,
                file,
            };
            let error = (!checked.errors.is_empty()).then(|| {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("В файле ошибок: {}. Позиции не загружены.", checked.errors.len()),
                )
            });
            render(&state, &session, &plan, error, Some(checked)).await
        }
        Err(e) => render(&state, &session, &plan, Some(shown(e)?), None).await,
    }
}

/// «Загрузить позиции»: applies the checked file, every row or none.
pub async fn confirm(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<PlanId>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> WebResult<Response> {
    let upload = read_upload(&headers, &session, multipart).await?;
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(upload.checked_file.trim())
        .map_err(|_| WebError::bad_request("Проверенный файл не получен: загрузите файл ещё раз."))?;
    let stamp =
        upload.stamp.ok_or_else(|| WebError::bad_request("Проверенный файл не получен: загрузите файл ещё раз."))?;
    match state.app.import_positions(&session.user, id, bytes, stamp).await {
        Ok(_) => Ok(Redirect::to(&format!("/plans/{id}?tab=positions&notice=imported")).into_response()),
        Err(e) => {
            let error = shown(e)?;
            let plan = state.app.editable_plan(&session.user, id).await?;
            render(&state, &session, &plan, Some(error), None).await
        }
    }
}
