//! Sending to ЕИС and the bulk operations: a version's send and what became of it, «Отправить
//! все» and «Утвердить выбранные» as jobs, and a job's progress.

use crate::AppState;
use crate::api::model::time;
use crate::api::{Body, Id};
use crate::auth::ApiUser;
use crate::error::WebError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::SendStatus;
use domain::ids::{PlanId, SendId, VersionId};
use serde::{Deserialize, Serialize};

type ApiResult<T = Response> = Result<T, WebError>;

/// `SendInput`: the ЕИС login, and its password or none for the saved one.
#[derive(Deserialize)]
pub struct SendInput {
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    password: Option<domain::secret::Secret>,
    /// The sender's packet signature (CAdES-BES, base64) over the data `send/data` gave.
    #[serde(default)]
    signature: Option<String>,
}

/// Written back only to find fields the schema lacks ([`Body`]): the password never is.
impl Serialize for SendInput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("SendInput", 3)?;
        out.serialize_field("login", &self.login)?;
        out.serialize_field("password", &self.password.as_ref().map(|_| "***"))?;
        out.serialize_field("signature", &self.signature)?;
        out.end()
    }
}

/// `SendEvent`
#[derive(Serialize)]
pub struct EventOut {
    pub at: String,
    pub status: &'static str,
    pub title: &'static str,
    pub message: String,
    pub failed: bool,
    pub http_status: Option<i64>,
    pub repeats: i64,
    pub last_at: Option<String>,
}

/// `Violation`
#[derive(Serialize)]
pub struct ViolationOut {
    pub code: String,
    pub level: &'static str,
    pub name: String,
    pub description: String,
    pub position: Option<String>,
}

/// `SendReport`
#[derive(Serialize)]
pub struct SendReportOut {
    pub version_id: VersionId,
    pub plan_id: PlanId,
    pub version_number: i64,
    pub send_id: Option<SendId>,
    /// `None`: the version was never sent.
    pub status: Option<&'static str>,
    pub status_title: &'static str,
    /// The runner still works on the send.
    pub active: bool,
    pub packet_id: Option<String>,
    pub eis_login: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub gives_up_at: Option<String>,
    /// Queued while the organization is blocked: it goes to ЕИС after the unblocking.
    pub held_for_blocked_organization: bool,
    pub eis_plan_number: Option<String>,
    pub eis_position_numbers: std::collections::BTreeMap<String, String>,
    pub violations: Vec<ViolationOut>,
    /// Oldest first.
    pub events: Vec<EventOut>,
}

async fn report(state: &AppState, user: &store::users::User, id: VersionId) -> ApiResult<SendReportOut> {
    let r = state.app.send_report(user, id).await?;
    let status = r.status();
    let published = r.published();
    Ok(SendReportOut {
        version_id: r.version.id,
        plan_id: r.plan.id,
        version_number: r.version.version_number,
        send_id: r.send.as_ref().map(|s| s.id),
        status: status.map(SendStatus::code),
        status_title: status.map(SendStatus::title).unwrap_or(SendStatus::NOT_SENT_TITLE),
        active: status.is_some_and(SendStatus::is_active),
        packet_id: r.send.as_ref().map(|s| s.packet_id.clone()),
        eis_login: r.send.as_ref().map(|s| s.eis_login.clone()),
        attempts: r.send.as_ref().map(|s| s.attempts).unwrap_or(0),
        last_error: r.send.as_ref().and_then(|s| s.last_error.clone()),
        next_attempt_at: r.failing().map(|s| time(s.next_attempt_at)),
        gives_up_at: r.gives_up_at.map(time),
        held_for_blocked_organization: r.held_for_blocked_organization,
        eis_plan_number: if published { r.plan.eis_plan_number.clone() } else { None },
        eis_position_numbers: if published { r.version.eis_position_numbers.clone() } else { Default::default() },
        violations: r
            .violations
            .into_iter()
            .map(|v| ViolationOut {
                code: v.code,
                level: v.level,
                name: v.name,
                description: v.description,
                position: v.position,
            })
            .collect(),
        events: r
            .events
            .into_iter()
            .map(|e| EventOut {
                at: time(e.at),
                status: e.status.code(),
                title: app::sending::event_title(&e),
                message: e.message,
                failed: e.failed,
                http_status: e.http_status,
                repeats: e.repeats,
                last_at: e.last_at.map(time),
            })
            .collect(),
    })
}

/// `POST /api/v1/versions/{id}/send`: «Отправить на ООС». 202 with the send's report; a version
/// that may not go now, or no credentials, is a 409 saying why, and nothing is queued.
pub async fn send(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<VersionId>,
    Body(input): Body<SendInput>,
) -> ApiResult {
    let login = match input.login {
        Some(login) => login,
        None => state.app.store().eis_credentials_info(user.id).await?.map(|c| c.login).unwrap_or_default(),
    };
    let password = input.password.unwrap_or_default();
    let signature = input.signature.filter(|s| !s.is_empty()).map(String::into_bytes);
    state.app.request_signed_send(&user, id, &login, &password, signature).await?;
    Ok((StatusCode::ACCEPTED, Json(report(&state, &user, id).await?)).into_response())
}

/// `PacketToSign`
#[derive(Serialize)]
pub struct PacketDataOut {
    /// The `data` element of the packet that would go now, base64: the bytes to sign.
    pub data: String,
    /// The caller's organization requires the packet to be signed.
    pub required: bool,
}

/// `POST /api/v1/versions/{id}/send/data`: the bytes a packet signature must cover for a send
/// now. A version that may not go now is a 409 saying why, as the send would be.
pub async fn send_data(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<VersionId>,
) -> ApiResult<Json<PacketDataOut>> {
    use base64::Engine as _;
    let p = state.app.packet_to_sign(&user, id).await?;
    Ok(Json(PacketDataOut { data: base64::engine::general_purpose::STANDARD.encode(&p.data), required: p.required }))
}

/// `GET /api/v1/versions/{id}/send`: what became of the version's latest send.
pub async fn send_report(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<VersionId>,
) -> ApiResult<Json<SendReportOut>> {
    Ok(Json(report(&state, &user, id).await?))
}

/// `JobRef`: where to follow a job started.
#[derive(Serialize)]
struct JobRef {
    job_id: i64,
    href: String,
}

fn started(id: i64) -> Response {
    (StatusCode::ACCEPTED, Json(JobRef { job_id: id, href: format!("/api/v1/jobs/{id}") })).into_response()
}

/// `POST /api/v1/sends/bulk`: «Отправить все» as a job.
pub async fn send_all(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult {
    Ok(started(state.app.start_send_all(&user).await?))
}

/// `ApproveManyInput`
#[derive(Deserialize, Serialize)]
pub struct ApproveManyInput {
    #[serde(deserialize_with = "super::int64::list")]
    plan_ids: Vec<i64>,
}

/// `POST /api/v1/plans/bulk-approve`: «Утвердить выбранные» as a job.
pub async fn approve_many(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Body(input): Body<ApproveManyInput>,
) -> ApiResult {
    const MOST: usize = 10_000;
    if input.plan_ids.len() > MOST {
        return Err(WebError::bad_request(format!("За один раз можно утвердить не более {MOST} планов-графиков")));
    }
    if let Some(bad) = input.plan_ids.iter().find(|id| **id < 1) {
        return Err(WebError::bad_request(format!(
            "Идентификатор плана-графика должен быть целым числом не меньше 1, получено {bad}"
        )));
    }
    let ids = input.plan_ids.into_iter().map(PlanId).collect();
    Ok(started(state.app.start_approve_many(&user, ids).await?))
}

/// `Job`
#[derive(Serialize)]
pub struct JobOut {
    pub id: i64,
    pub kind: &'static str,
    /// `running`, `done`, `failed` or `interrupted` (its instance stopped while it ran).
    pub status: &'static str,
    pub total: i64,
    pub done: i64,
    pub succeeded: i64,
    pub problems: Vec<String>,
    pub message: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// `GET /api/v1/jobs/{id}`: the caller's job and how far it has come.
pub async fn job(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<i64>) -> ApiResult<Json<JobOut>> {
    let view = state.app.job(&user, id).await?;
    let status = if view.interrupted { "interrupted" } else { view.job.status.code() };
    let job = view.job;
    Ok(Json(JobOut {
        id: job.id,
        kind: job.kind.code(),
        status,
        total: job.progress.total,
        done: job.progress.done,
        succeeded: job.progress.succeeded,
        problems: job.progress.problems,
        message: job.message,
        created_at: time(job.created_at),
        finished_at: job.finished_at.map(time),
    }))
}
