//! The page of a long operation run as a job («Отправить все», «Утвердить выбранные»,
//! «Загрузка организаций», loading an НСИ catalog): its progress while it runs and its outcome
//! after. A small script (`/static/job.js`) moves the progress bar from `/jobs/{id}/progress`;
//! without scripts the page refreshes itself.

use crate::AppState;
use crate::api::Id;
use crate::auth::CurrentUser;
use crate::error::WebResult;
use crate::view::{Chrome, fmt_time, html};
use app::jobs::JobView;
use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Redirect, Response};
use store::jobs::{JobKind, JobStatus};

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    chrome: Option<Chrome>,
    id: i64,
    title: &'static str,
    /// Where the operation was started from, and back.
    back: (&'static str, &'static str),
    running: bool,
    /// «Выполняется», «Завершено», «Прервано…».
    state: String,
    state_class: &'static str,
    total: i64,
    done: i64,
    succeeded: i64,
    percent: i64,
    message: Option<String>,
    problems: Vec<String>,
    started: String,
    finished: Option<String>,
    /// A finished «Загрузка организаций» that created users: whether their temporary
    /// passwords can still be downloaded (once).
    passwords: Option<bool>,
    csrf: String,
}

/// The page's words for a job.
fn describe(view: &JobView) -> (&'static str, (&'static str, &'static str), String, &'static str) {
    let (title, back) = match view.job.kind {
        JobKind::SendAll => ("Отправка всех утверждённых неотправленных версий", ("/sends", "К отправкам на ООС")),
        JobKind::ApproveMany => ("Утверждение выбранных планов-графиков", ("/plans", "К списку планов-графиков")),
        JobKind::NsiLoad => ("Загрузка справочника НСИ", ("/reference", "К справочникам")),
        JobKind::Onboarding => {
            ("Загрузка организаций и пользователей", ("/admin/onboarding", "К загрузке организаций"))
        }
    };
    let (state, class) = match view.job.status {
        _ if view.interrupted => (
            "Прервано: plangraf был остановлен во время операции. Выполненное сохранено; запустите операцию ещё раз, \
             чтобы продолжить"
                .to_owned(),
            "bad",
        ),
        JobStatus::Running if view.job.progress.total == 0 && view.job.progress.done == 0 => {
            ("Ожидает очереди".to_owned(), "wait")
        }
        JobStatus::Running => ("Выполняется".to_owned(), "wait"),
        JobStatus::Done if view.job.progress.problems.is_empty() => ("Завершено".to_owned(), "ok"),
        JobStatus::Done => ("Завершено, есть отказы".to_owned(), "wait"),
        JobStatus::Failed => ("Не выполнено".to_owned(), "bad"),
    };
    (title, back, state, class)
}

fn percent(done: i64, total: i64) -> i64 {
    if total <= 0 { 0 } else { (done.clamp(0, total) * 100) / total }
}

/// «Операция»: a job's progress and outcome.
pub async fn job(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<i64>,
) -> WebResult<Response> {
    let view = state.app.job(&session.user, id).await?;
    let (title, back, words, state_class) = describe(&view);
    let progress = &view.job.progress;
    let passwords = match view.job.kind {
        JobKind::Onboarding if !view.running() => state.app.onboarding_of_job(&session.user, id).await?.flatten(),
        _ => None,
    };
    let page = JobPage {
        chrome: Some(Chrome::of(&state, &session).await?),
        id,
        title,
        back,
        running: view.running(),
        state: words,
        state_class,
        total: progress.total,
        done: progress.done,
        succeeded: progress.succeeded,
        percent: percent(progress.done, progress.total),
        message: view.job.message.clone(),
        problems: progress.problems.clone(),
        started: fmt_time(view.job.created_at),
        finished: view.job.finished_at.map(fmt_time),
        passwords,
        csrf: session.csrf_token.clone(),
    };
    Ok(([(CACHE_CONTROL, "no-store")], html(&page)?).into_response())
}

/// What the page's script reads while the job runs.
#[derive(serde::Serialize)]
struct Progress {
    running: bool,
    total: i64,
    done: i64,
    succeeded: i64,
    refused: usize,
    percent: i64,
}

pub async fn progress(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<i64>,
) -> WebResult<Response> {
    let view = state.app.job(&session.user, id).await?;
    let p = &view.job.progress;
    let body = Progress {
        running: view.running(),
        total: p.total,
        done: p.done,
        succeeded: p.succeeded,
        refused: p.problems.len(),
        percent: percent(p.done, p.total),
    };
    Ok(([(CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// After a job is started: its page.
pub fn to_job(id: i64) -> Response {
    Redirect::to(&format!("/jobs/{id}")).into_response()
}
