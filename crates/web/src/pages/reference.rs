//! «Администрирование» → «Справочники»: the reference data (НСИ) catalogs with their counts and
//! last loads, an upload of an ЕИС NSI export (administrators only), and the search the
//! pickers of the editor call (`GET /reference/{catalog}?q=`, any signed-in user).

use crate::AppState;
use crate::api::Id;
use crate::auth::{AuthRejection, CurrentUser, check_csrf_token, check_same_origin};
use crate::error::{WebError, WebResult};
use crate::view::{Chrome, fmt_time, html};
use app::jobs::NsiStart;
use app::users::Confirmation;
use askama::Template;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use store::nsi::Catalog;
use store::users::{Session, User};

/// The largest NSI file accepted: the whole ОКПД2 export is some tens of megabytes. The
/// reader's own bound ([`eis::bounds::NSI`]) is the same.
pub const MAX_UPLOAD_BYTES: usize = eis::bounds::NSI.max_bytes;
/// Records one search returns.
pub const SEARCH_LIMIT: u32 = 20;

struct CatalogRow {
    code: &'static str,
    title: &'static str,
    actual: i64,
    total: i64,
    last_load: String,
}

#[derive(Template)]
#[template(path = "reference.html")]
struct ReferencePage {
    chrome: Option<Chrome>,
    csrf: String,
    rows: Vec<CatalogRow>,
    lists: String,
    max_mb: usize,
    error: Option<String>,
    confirm: Option<Confirm>,
}

/// A full load that would retire records, waiting for the administrator to confirm the counts.
struct Confirm {
    file_name: String,
    title: &'static str,
    entries: usize,
    added: usize,
    updated: usize,
    retired: usize,
    actual: i64,
}

fn require_admin(user: &User) -> WebResult<()> {
    if !user.roles.is_admin() {
        return Err(WebError::forbidden("Раздел «Справочники» доступен только администратору."));
    }
    Ok(())
}

async fn render(state: &AppState, session: &Session, error: Option<String>) -> WebResult<Response> {
    render_with(state, session, error, None).await
}

async fn render_with(
    state: &AppState,
    session: &Session,
    error: Option<String>,
    confirm: Option<Confirm>,
) -> WebResult<Response> {
    let rows = state
        .app
        .store()
        .reference_catalogs()
        .await?
        .into_iter()
        .map(|c| CatalogRow {
            code: c.catalog.code(),
            title: c.catalog.title(),
            actual: c.actual,
            total: c.total,
            last_load: c
                .last_load
                .map(|(source, at)| format!("{} — {source}", fmt_time(at)))
                .unwrap_or_else(|| "не загружался".into()),
        })
        .collect();
    let page = ReferencePage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        rows,
        lists: eis::nsi::Catalog::ALL.map(eis::nsi::list_element).join(", "),
        max_mb: MAX_UPLOAD_BYTES / 1024 / 1024,
        error,
        confirm,
    };
    let status = if page.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, html(&page)?).into_response())
}

pub async fn page(State(state): State<AppState>, CurrentUser(session): CurrentUser) -> WebResult<Response> {
    require_admin(&session.user)?;
    render(&state, &session, None).await
}

/// The upload form's fields.
#[derive(Default)]
struct Upload {
    csrf: String,
    partial: bool,
    /// The count of records to retire that the administrator confirmed.
    confirm_retired: Option<usize>,
    file_name: String,
    bytes: Vec<u8>,
}

async fn read_upload(mut multipart: Multipart) -> WebResult<Upload> {
    let broken = || {
        WebError::bad_request(format!(
            "Файл не получен полностью или больше {} МБ. Данные не изменены.",
            MAX_UPLOAD_BYTES / 1024 / 1024
        ))
    };
    let mut u = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(|_| broken())? {
        match field.name() {
            Some("csrf") => u.csrf = field.text().await.map_err(|_| broken())?,
            Some("partial") => u.partial = !field.text().await.map_err(|_| broken())?.is_empty(),
            Some("confirm_retired") => {
                u.confirm_retired = field.text().await.map_err(|_| broken())?.trim().parse().ok()
            }
            Some("file") => {
                u.file_name = field.file_name().unwrap_or_default().chars().take(200).collect();
                u.bytes = field.bytes().await.map_err(|_| broken())?.to_vec();
            }
            _ => {}
        }
    }
    Ok(u)
}

/// «Загрузить»: reads the NSI file and loads its catalog in one transaction, as a job whose
/// page shows the progress. A file that is not a supported NSI export changes nothing and
/// says why; a full load that would retire records asks for confirmation first.
pub async fn upload(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> WebResult<Response> {
    check_same_origin(&headers)?;
    require_admin(&session.user)?;
    let multipart = multipart.map_err(|_| {
        WebError::bad_request("Форма загрузки отправлена некорректно: ожидался файл. Данные не изменены.")
    })?;
    let upload = read_upload(multipart).await?;
    check_csrf_token(&upload.csrf, &session.csrf_token)?;
    if upload.bytes.is_empty() {
        return render(&state, &session, Some("Выберите XML-файл выгрузки НСИ ЕИС.".into())).await;
    }
    let Upload { bytes, file_name, partial, confirm_retired, .. } = upload;
    let source = if file_name.is_empty() { "файл без имени".to_owned() } else { file_name };
    let confirmation = confirm_retired.map(Confirmation::Count).unwrap_or(Confirmation::None);
    match state.app.start_nsi_load(&session.user, bytes, &source, partial, confirmation).await {
        Ok(NsiStart::Job(id)) => Ok(crate::pages::jobs::to_job(id)),
        Ok(NsiStart::NeedsConfirmation(p)) => {
            let confirm = Confirm {
                file_name: source,
                title: p.catalog.title(),
                entries: p.entries,
                added: p.preview.added,
                updated: p.preview.updated,
                retired: p.preview.retired,
                actual: p.actual,
            };
            render_with(&state, &session, None, Some(confirm)).await
        }
        Err(app::Error::Refused { refusal: app::Refusal::State | app::Refusal::Content, message, .. }) => {
            render(&state, &session, Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Serialize)]
pub struct Found {
    code: String,
    name: String,
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// The pickers' search: up to 20 actual records as `[{code, name}]`.
pub async fn search(
    State(state): State<AppState>,
    user: Result<CurrentUser, AuthRejection>,
    Id(catalog): Id<String>,
    Query(q): Query<SearchQuery>,
) -> Response {
    match user {
        Ok(_) => {}
        Err(AuthRejection::SignIn) => {
            return json_error(StatusCode::UNAUTHORIZED, "Войдите в plangraf, чтобы искать в справочниках");
        }
        Err(AuthRejection::ChangePassword) => {
            return json_error(StatusCode::FORBIDDEN, "Сначала смените пароль: страница «Смена пароля»");
        }
        Err(AuthRejection::Failed(e)) => return e.into_response(),
    }
    let Some(catalog) = Catalog::from_code(&catalog) else {
        return json_error(StatusCode::NOT_FOUND, "Такого справочника нет");
    };
    match state.app.search_reference(catalog, &q.q, SEARCH_LIMIT).await {
        Ok(items) => {
            let found: Vec<Found> = items.into_iter().map(|(code, name)| Found { code, name }).collect();
            ([(CACHE_CONTROL, "no-store")], Json(found)).into_response()
        }
        // The script shows this text under the field.
        Err(app::Error::Fields { message, .. }) => json_error(StatusCode::BAD_REQUEST, &message),
        Err(e) => WebError::from(e).into_response(),
    }
}

pub async fn picker_script() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "max-age=3600")],
        include_str!("../../static/picker.js"),
    )
}
