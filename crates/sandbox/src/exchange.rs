//! The exchange of PRODUCT.md §7 as ЕИС would serve it.
//!
//! A packet's result is decided once, at receipt, and stored with both confirmations; the
//! upload answers `processing` and `status` reveals the final confirmation once
//! `processing_delay` has passed since receipt. No timers live in memory, so a restart loses
//! nothing. The same `index/id` uploaded again is the same packet: it gets the same answers.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Form, Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use eis::client::{EXPORT_PATH, STATUS_PATH, UPLOAD_PATH};
use eis::packet::{
    OBJECT_TYPE_TP2020, OwnerRole, PacketIndex, PlanPacket, PlanPacketKind, read_packet_index, read_plan_packet,
};
use eis::reply::{Confirmation, ConfirmationResult, ErrorInfo, Violation, write_confirmation, write_error_info};
use sqlx::{Row, Sqlite, Transaction};

use crate::checks::{self, Context, ExistingPlan, OrgIds};
use crate::db::now_ms;
use crate::directory::{PlanSource, UserRecord};
use crate::signin::{BUSY_WAIT, LoginKind, Refused};
use crate::{AppState, SandboxError, packet_signature};

mod sync;

/// The sender code ЕИС puts in the envelope of its replies.
pub(crate) const EIS_SENDER: &str = "OOS";
/// How many uploads are read and checked at once.
static UPLOAD_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
/// Room for a plan of 5,000 positions and more.
const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// `errorInfo/code` values of the sandbox (documented in docs/SANDBOX.md).
mod code {
    pub(super) const BAD_CREDENTIALS: i32 = 1001;
    pub(super) const BLOCKED: i32 = 1002;
    pub(super) const NO_PLAN_RIGHTS: i32 = 1003;
    pub(super) const BAD_REQUEST: i32 = 1004;
    pub(super) const NO_PACKET_ID: i32 = 1005;
    pub(super) const UNKNOWN_PACKET: i32 = 1006;
    // 1007 (an id another organization used) is no longer answered: ids are per organization.
    pub(super) const UNKNOWN_PLAN: i32 = 1008;
    pub(super) const UNKNOWN_DOCUMENT: i32 = 1009;
    pub(super) const THROTTLED: i32 = 1011;
    pub(super) const BUSY: i32 = 1012;
    pub(super) const TOO_LARGE: i32 = 1013;
    pub(super) const INTERNAL: i32 = 1000;
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(UPLOAD_PATH, post(upload))
        .route(STATUS_PATH, post(status))
        .route(EXPORT_PATH, post(sync::export))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
}

/// A refusal of the router itself (no such address, wrong method) on the integration paths.
pub(crate) fn route_refusal(status: StatusCode, what: &str) -> Response {
    xml_response(status, Refusal::new(status, code::BAD_REQUEST, format!("Неверный запрос: {what}")).body())
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body)
        .into_response()
}

/// A reply that is not a confirmation: the HTTP status with an `errorInfo`.
struct Refusal {
    status: StatusCode,
    code: i32,
    message: String,
    /// `Retry-After`, in seconds.
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, code: i32, message: impl Into<String>) -> Self {
        Refusal { status, code, message: message.into(), retry_after: None }
    }
    fn throttled(retry_after_secs: u64) -> Self {
        Refusal {
            retry_after: Some(retry_after_secs),
            ..Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                code::THROTTLED,
                format!(
                    "Слишком много неудачных попыток входа. Повторите попытку через {retry_after_secs} с \
                     и проверьте логин и пароль для альтернативной интеграции"
                ),
            )
        }
    }
    fn busy() -> Self {
        Refusal {
            retry_after: Some(BUSY_WAIT.as_secs().max(1)),
            ..Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::BUSY,
                "Сервис перегружен: слишком много одновременных запросов. Повторите попытку через несколько секунд",
            )
        }
    }
    fn too_large() -> Self {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::TOO_LARGE,
            format!(
                "Запрос слишком велик: размер запроса не должен превышать {} МиБ",
                MAX_UPLOAD_BYTES / (1024 * 1024)
            ),
        )
    }
    fn internal(e: &SandboxError) -> Self {
        tracing::error!(error = %e, "exchange request failed");
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "Внутренняя ошибка ЕИС. Повторите попытку позже",
        )
    }
    fn body(&self) -> String {
        write_error_info(&ErrorInfo { code: self.code, message: self.message.clone() })
    }
}

impl From<SandboxError> for Refusal {
    fn from(e: SandboxError) -> Self {
        Refusal::internal(&e)
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Refusal::internal(&SandboxError::Db(e))
    }
}

/// Who asked about what, for the exchange log.
#[derive(Default)]
struct Asked<'a> {
    login: Option<&'a str>,
    packet_id: Option<&'a str>,
    /// A document that was not stored as a packet.
    document: Option<&'a str>,
}

/// Stores what was answered (never a password) and builds the response.
async fn answer(state: &AppState, endpoint: &str, asked: Asked<'_>, reply: Result<String, Refusal>) -> Response {
    let Asked { login, packet_id, document } = asked;
    let (status, body, retry_after) = match reply {
        Ok(xml) => (StatusCode::OK, xml, None),
        Err(r) => (r.status, r.body(), r.retry_after),
    };
    let logged = sqlx::query(
        "INSERT INTO exchange_log (at, endpoint, login, packet_id, http_status, reply, document) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(now_ms())
    .bind(endpoint)
    .bind(login)
    .bind(packet_id)
    .bind(i64::from(status.as_u16()))
    .bind(&body)
    .bind(document)
    .execute(&state.db)
    .await;
    if let Err(e) = logged {
        tracing::warn!(error = %e, "could not log an exchange reply");
    }
    tracing::info!(
        endpoint,
        login = login.unwrap_or("-"),
        packet_id = packet_id.unwrap_or("-"),
        status = status.as_u16(),
        "exchange reply"
    );
    let mut resp = xml_response(status, body);
    if let Some(secs) = retry_after {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// Credentials first (429 while throttled, 503 when every password check slot is busy, 401),
/// then the right «Работа с планом-графиком» (403).
async fn authenticate(state: &AppState, peer: SocketAddr, login: &str, password: &str) -> Result<UserRecord, Refusal> {
    let found = state.directory.user_by_integration_login(login).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let checked =
        state.directory.guard().check(&state.db, LoginKind::Integration, login, peer.ip(), password, hash).await;
    let matched = match checked {
        Ok(m) => m,
        Err(Refused::Throttled { retry_after_secs }) => return Err(Refusal::throttled(retry_after_secs)),
        Err(Refused::Busy) => return Err(Refusal::busy()),
        Err(Refused::Storage(e)) => return Err(Refusal::internal(&e)),
    };
    if !matched {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            code::BAD_CREDENTIALS,
            "Неверный логин или пароль пользователя для альтернативной интеграции",
        ));
    }
    let Some(user) = user else {
        return Err(Refusal::new(StatusCode::UNAUTHORIZED, code::BAD_CREDENTIALS, "Неверный логин или пароль"));
    };
    if user.blocked {
        return Err(Refusal::new(StatusCode::UNAUTHORIZED, code::BLOCKED, "Пользователь заблокирован"));
    }
    if !user.plan_rights {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            code::NO_PLAN_RIGHTS,
            "У пользователя нет права «Работа с планом-графиком»",
        ));
    }
    Ok(user)
}

/// What is left of the upload form once its credentials are checked.
struct UploadForm {
    document: String,
}

/// The longest `login` or `password` field read: far above any real one.
const MAX_CREDENTIAL_BYTES: usize = 1024;

/// A multipart error as a Russian refusal (the body limit is 413).
fn multipart_refusal(e: &axum::extract::multipart::MultipartError) -> Refusal {
    tracing::info!(error = %e, "upload form not read");
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Refusal::too_large()
    } else {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            code::BAD_REQUEST,
            "Неверный запрос: форма multipart/form-data не прочитана",
        )
    }
}

/// The form's rejection (not multipart, no boundary) as a Russian refusal.
fn form_rejection(status: StatusCode, expected: &str) -> Refusal {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return Refusal::too_large();
    }
    Refusal::new(status, code::BAD_REQUEST, format!("Неверный запрос: ожидается {expected}"))
}

async fn read_small(mut field: axum::extract::multipart::Field<'_>, name: &str) -> Result<String, Refusal> {
    let bad = |m: String| Refusal::new(StatusCode::BAD_REQUEST, code::BAD_REQUEST, m);
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_refusal(&e))? {
        if bytes.len() + chunk.len() > MAX_CREDENTIAL_BYTES {
            return Err(bad(format!("Неверный запрос: поле {name} длиннее {MAX_CREDENTIAL_BYTES} байт")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| bad(format!("Неверный запрос: поле {name} не в кодировке UTF-8")))
}

/// Reads the upload form in order and checks the credentials as soon as both are read,
/// before the packet: a refused request never has its packet read. A `document` before
/// `login` and `password` is refused without reading it. Fields after `document` are not read.
/// The error carries the login when one was read.
async fn read_upload(
    state: &AppState,
    peer: SocketAddr,
    mut mp: Multipart,
) -> Result<(String, UserRecord, String), (Option<String>, Refusal)> {
    let bad = |m: String| Refusal::new(StatusCode::BAD_REQUEST, code::BAD_REQUEST, m);
    let (mut login, mut password) = (None::<String>, None::<String>);
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err((login, multipart_refusal(&e))),
        };
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "login" | "password" => {
                let text = match read_small(field, &name).await {
                    Ok(t) => t,
                    Err(r) => return Err((login, r)),
                };
                if name == "login" { login = Some(text) } else { password = Some(text) }
            }
            "document" => {
                let (Some(l), Some(p)) = (login.as_deref(), password.as_deref()) else {
                    return Err((
                        login,
                        bad("Неверный запрос: поля login и password должны предшествовать полю document: учетные данные \
                             проверяются до чтения пакета"
                            .into()),
                    ));
                };
                let user = match authenticate(state, peer, l, p).await {
                    Ok(u) => u,
                    Err(r) => return Err((login, r)),
                };
                let bytes = match field.bytes().await {
                    Ok(b) => b,
                    Err(e) => return Err((login, multipart_refusal(&e))),
                };
                let Ok(document) = String::from_utf8(bytes.to_vec()) else {
                    return Err((login, bad("Неверный запрос: поле document не в кодировке UTF-8".into())));
                };
                let login = login.unwrap_or_default();
                return Ok((login, user, document));
            }
            // Anything else is skipped unread (within the body limit).
            _ => {}
        }
    }
    let what = if login.is_none() {
        "login"
    } else if password.is_none() {
        "password"
    } else {
        "document"
    };
    Err((login, bad(format!("Неверный запрос: не передано поле {what}"))))
}

async fn upload(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mp: Result<Multipart, MultipartRejection>,
) -> Response {
    let mp = match mp {
        Ok(mp) => mp,
        Err(e) => {
            tracing::info!(error = %e, "upload without a multipart form");
            let r = form_rejection(e.status(), "форма multipart/form-data с полями login, password и document");
            return answer(&state, "upload", Asked::default(), Err(r)).await;
        }
    };
    // Each upload may hold up to 64 MiB while it is read and checked: a few at a time, the
    // rest wait here before reading anything (their credentials are checked in turn).
    let Ok(_slot) = UPLOAD_SLOTS.acquire().await else {
        return answer(
            &state,
            "upload",
            Asked::default(),
            Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::INTERNAL,
                "Сервис перегружен. Повторите попытку позже",
            )),
        )
        .await;
    };
    let (login, user, document) = match read_upload(&state, peer, mp).await {
        Ok(read) => read,
        Err((login, r)) => {
            return answer(&state, "upload", Asked { login: login.as_deref(), ..Asked::default() }, Err(r)).await;
        }
    };
    let form = UploadForm { document };
    let login = Some(login.as_str());
    // A service request is answered at once; it is not a packet that gets confirmations.
    if sync::root_name(&form.document) == Some("fcsDocProjectStatusRequest") {
        return sync::doc_project_status(&state, &user, &form.document).await;
    }
    let unstored = Asked { login, packet_id: None, document: Some(&form.document) };
    // Without its id a packet cannot be confirmed: the confirmation's refId is that id.
    let index = match read_packet_index(&form.document) {
        Ok(i) if i.id.chars().count() == 36 => i,
        Ok(i) => {
            let r = Refusal::new(
                StatusCode::BAD_REQUEST,
                code::NO_PACKET_ID,
                format!("Идентификатор пакета index/id «{}» должен состоять из 36 символов", i.id),
            );
            return answer(&state, "upload", unstored, Err(r)).await;
        }
        Err(e) => {
            let r = Refusal::new(
                StatusCode::BAD_REQUEST,
                code::NO_PACKET_ID,
                format!("Пакет не прочитан, идентификатор пакета не определен: {}", e.message_ru()),
            );
            return answer(&state, "upload", unstored, Err(r)).await;
        }
    };
    let reply = receive(&state, &user, &index, &form.document).await;
    // Only a refused document is logged in full; a received one is in `packets`.
    let document = reply.is_err().then_some(form.document.as_str());
    answer(&state, "upload", Asked { login, packet_id: Some(&index.id), document }, reply).await
}

fn confirmation(
    index: &PacketIndex,
    result: ConfirmationResult,
    violations: Vec<Violation>,
    load_id: Option<String>,
) -> String {
    write_confirmation(&Confirmation {
        index: PacketIndex::new(EIS_SENDER, index.sender.clone(), OBJECT_TYPE_TP2020, index.mode),
        load_id,
        result,
        violations,
        load_url: None,
        ref_id: index.id.clone(),
    })
}

/// Decides the packet's result, records a draft on success, stores the packet with both
/// confirmations and answers the one due now. All in one write transaction, so two uploads
/// of the same packet cannot both be taken.
async fn receive(state: &AppState, user: &UserRecord, index: &PacketIndex, document: &str) -> Result<String, Refusal> {
    // The packet signature, when there is one, is checked first: a packet whose signature
    // fails is not read any further. Then the schema check, as at ЕИС. Both outside the write
    // transaction: a large packet takes a while, and the database need not wait for it.
    let trust = state.ecp_trust.get();
    let doc = document.to_owned();
    let signed =
        tokio::task::spawn_blocking(move || packet_signature::check(&doc, trust.as_deref(), chrono::Utc::now()))
            .await
            .map_err(|e| Refusal::internal(&SandboxError::Invalid(format!("signature check task: {e}"))))?;
    let signature_refusal = match signed {
        packet_signature::Checked::Refused(v) => Some(v),
        packet_signature::Checked::Valid { thumbprint } => {
            tracing::info!(packet_id = %index.id, %thumbprint, "packet signature valid");
            None
        }
        packet_signature::Checked::Unsigned => None,
    };
    let schema_issues = match (&signature_refusal, state.schemas.clone()) {
        (None, Some(set)) => {
            let doc = document.to_owned();
            match tokio::task::spawn_blocking(move || set.validate(&doc)).await {
                Ok(Ok(())) => None,
                Ok(Err(issues)) => Some(issues),
                Err(e) => {
                    return Err(Refusal::internal(&SandboxError::Invalid(format!("schema validation task: {e}"))));
                }
            }
        }
        _ => None,
    };
    let mut tx = state.db.begin_with("BEGIN IMMEDIATE").await?;
    match stored_reply(&mut tx, &index.id, &user.org_reg_num).await? {
        Stored::Reply(reply) => {
            tracing::info!(packet_id = %index.id, "packet received again; answering as for the first time");
            return Ok(reply);
        }
        Stored::None => {}
    }
    // Another organization's packet may hold this id: this one is then stored under a key of
    // its own, and nobody learns of the other.
    let taken = sqlx::query_scalar::<_, i64>("SELECT 1 FROM packets WHERE packet_id = ?1")
        .bind(&index.id)
        .fetch_optional(&mut *tx)
        .await?;
    let key = if taken.is_some() { uuid::Uuid::new_v4().to_string() } else { index.id.clone() };
    let now = now_ms();
    // A packet the schema rejected is not read into the model: its answer is the schema's
    // violations, and nothing is gained by walking content already known to be wrong.
    let packet = match (signature_refusal, &schema_issues) {
        (Some(refused), _) => Err(refused),
        (None, Some(issues)) => Err(checks::schema_violation(issues)),
        (None, None) => read_plan_packet(document).map_err(|e| checks::unreadable(&e)),
    };
    // The root's name without building a tree (the document may be one the reader refused).
    let root = match &packet {
        Ok(p) => p.kind.root_name().to_owned(),
        Err(_) => sync::root_name(document).unwrap_or_default().to_owned(),
    };
    let violations = match &packet {
        Ok(p) => {
            let ctx = context(&mut tx, p, &user.org_reg_num).await?;
            checks::check(p, &ctx)
        }
        Err(v) => vec![v.clone()],
    };
    let (result, load_id) = match (&packet, violations.is_empty()) {
        (Ok(p), true) => {
            let version_id = record_draft(&mut tx, p, &key, now).await?;
            (ConfirmationResult::Success, Some(version_id.to_string()))
        }
        _ => (ConfirmationResult::Failure, None),
    };
    let final_reply = confirmation(index, result, violations, load_id);
    let processing_reply = confirmation(index, ConfirmationResult::Processing, vec![], None);
    // A packet received under the `stuck_processing` fault is never due (until released).
    let ready_at = if state.faults.stuck_processing() {
        i64::MAX
    } else {
        now.saturating_add(i64::try_from(state.processing_delay.as_millis()).unwrap_or(i64::MAX))
    };
    sqlx::query(
        "INSERT INTO packets (packet_id, user_id, org_reg_num, root, document, received_at, ready_at, processing_reply, \
         final_result, final_reply, ref_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .bind(&key)
    .bind(user.id)
    .bind(&user.org_reg_num)
    .bind(root)
    .bind(document)
    .bind(now)
    .bind(ready_at)
    .bind(&processing_reply)
    .bind(result.as_str())
    .bind(&final_reply)
    .bind(&index.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(packet_id = %index.id, result = result.as_str(), "packet received");
    // Always `processing` first, as ЕИС: the result is asked for with `status`.
    Ok(processing_reply)
}

enum Stored {
    /// This organization never sent a packet with that id (another one may have).
    None,
    /// The confirmation due now.
    Reply(String),
}

async fn stored_reply(
    tx: &mut Transaction<'static, Sqlite>,
    packet_id: &str,
    org: &str,
) -> Result<Stored, sqlx::Error> {
    let row = sqlx::query(
        "SELECT ready_at, processing_reply, final_reply FROM packets WHERE org_reg_num = ?1 AND ref_id = ?2",
    )
    .bind(org)
    .bind(packet_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(Stored::None) };
    let ready_at: i64 = row.try_get("ready_at")?;
    let column = if now_ms() >= ready_at { "final_reply" } else { "processing_reply" };
    Ok(Stored::Reply(row.try_get(column)?))
}

async fn existing_plan(
    tx: &mut Transaction<'static, Sqlite>,
    sql: &'static str,
    a: &str,
    b: Option<i32>,
) -> Result<Option<ExistingPlan>, sqlx::Error> {
    let mut q = sqlx::query(sql).bind(a.to_owned());
    if let Some(b) = b {
        q = q.bind(b);
    }
    let Some(row) = q.fetch_optional(&mut **tx).await? else { return Ok(None) };
    let id: i64 = row.try_get("id")?;
    let source: String = row.try_get("source")?;
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version_number FROM plan_versions WHERE plan_id = ?1")
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
    Ok(Some(ExistingPlan {
        org_reg_num: row.try_get("org_reg_num")?,
        plan_year: row.try_get("plan_year")?,
        source: if source == "EIS" { PlanSource::Eis } else { PlanSource::Ris },
        plan_number: row.try_get("plan_number")?,
        versions: versions.into_iter().filter_map(|v| u32::try_from(v).ok()).collect(),
    }))
}

async fn context<'a>(
    tx: &mut Transaction<'static, Sqlite>,
    p: &PlanPacket,
    user_org: &'a str,
) -> Result<Context<'a>, sqlx::Error> {
    let d = &p.data;
    let owner = sqlx::query("SELECT inn, kpp FROM organizations WHERE reg_num = ?1")
        .bind(&d.owner_reg_num)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| Ok::<_, sqlx::Error>(OrgIds { inn: r.try_get("inn")?, kpp: r.try_get("kpp")? }))
        .transpose()?;
    let period_plan = existing_plan(
        tx,
        "SELECT id, org_reg_num, plan_year, source, plan_number FROM plans WHERE org_reg_num = ?1 AND plan_year = ?2",
        &d.customer_reg_num,
        Some(d.plan_year),
    )
    .await?;
    let numbered_plan = match (&d.plan_number, p.kind) {
        (Some(n), PlanPacketKind::Change) => {
            existing_plan(
                tx,
                "SELECT id, org_reg_num, plan_year, source, plan_number FROM plans WHERE plan_number = ?1",
                n,
                None,
            )
            .await?
        }
        _ => None,
    };
    let agent_has_powers = match d.owner_role {
        OwnerRole::Oa => {
            sqlx::query_scalar::<_, i64>("SELECT 1 FROM powers WHERE customer_reg_num = ?1 AND agent_reg_num = ?2")
                .bind(&d.customer_reg_num)
                .bind(&d.owner_reg_num)
                .fetch_optional(&mut **tx)
                .await?
                .is_some()
        }
        OwnerRole::Cu => false,
    };
    Ok(Context { user_org, owner, agent_has_powers, period_plan, numbered_plan })
}

/// A successful packet becomes a draft («проект», source РИС) of the customer's plan for the
/// year; returns the version's id, which is the confirmation's loadId.
async fn record_draft(
    tx: &mut Transaction<'static, Sqlite>,
    p: &PlanPacket,
    packet_id: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let d = &p.data;
    let plan_id: i64 = match sqlx::query_scalar::<_, i64>(
        "SELECT id FROM plans WHERE org_reg_num = ?1 AND plan_year = ?2",
    )
    .bind(&d.customer_reg_num)
    .bind(d.plan_year)
    .fetch_optional(&mut **tx)
    .await?
    {
        Some(id) => id,
        None => sqlx::query_scalar(
            "INSERT INTO plans (org_reg_num, plan_year, source, created_at) VALUES (?1, ?2, 'RIS', ?3) RETURNING id",
        )
        .bind(&d.customer_reg_num)
        .bind(d.plan_year)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?,
    };
    // The owner of the latest version is the plan's owner: its cabinet places it.
    sqlx::query("UPDATE plans SET owner_reg_num = ?1, owner_role = ?2 WHERE id = ?3")
        .bind(&d.owner_reg_num)
        .bind(d.owner_role.as_str())
        .bind(plan_id)
        .execute(&mut **tx)
        .await?;
    let version = match d.version_number {
        Some(v) => i64::from(v),
        None => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COALESCE(MAX(version_number) + 1, 0) FROM plan_versions WHERE plan_id = ?1",
            )
            .bind(plan_id)
            .fetch_one(&mut **tx)
            .await?
        }
    };
    sqlx::query_scalar(
        "INSERT INTO plan_versions (plan_id, version_number, state, packet_id, external_id, position_count, created_at) \
         VALUES (?1, ?2, 'project', ?3, ?4, ?5, ?6) RETURNING id",
    )
    .bind(plan_id)
    .bind(version)
    .bind(packet_id)
    .bind(&d.external_id)
    .bind(i64::try_from(d.positions.len() + d.special_positions.len()).unwrap_or(i64::MAX))
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

/// The urlencoded form of `status` and `export`, or the refusal already answered.
pub(super) async fn url_form(
    state: &AppState,
    endpoint: &str,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Result<HashMap<String, String>, Response> {
    match form {
        Ok(Form(f)) => Ok(f),
        Err(e) => {
            tracing::info!(error = %e, endpoint, "form not read");
            let r = form_rejection(e.status(), "форма application/x-www-form-urlencoded в кодировке UTF-8");
            Err(answer(state, endpoint, Asked::default(), Err(r)).await)
        }
    }
}

async fn status(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let form = match url_form(&state, "status", form).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let login = form.get("login").map(String::as_str);
    let (Some(login), Some(password), Some(ref_id)) = (login, form.get("password"), form.get("refId")) else {
        let r = Refusal::new(
            StatusCode::BAD_REQUEST,
            code::BAD_REQUEST,
            "Неверный запрос: требуются поля login, password и refId",
        );
        return answer(&state, "status", Asked { login, ..Asked::default() }, Err(r)).await;
    };
    let reply = async {
        let user = authenticate(&state, peer, login, password).await?;
        let mut tx = state.db.begin().await?;
        let stored = stored_reply(&mut tx, ref_id, &user.org_reg_num).await?;
        tx.commit().await?;
        match stored {
            Stored::Reply(reply) => Ok(reply),
            // Another organization's packet is not this user's business: not found either.
            Stored::None => Err(Refusal::new(
                StatusCode::NOT_FOUND,
                code::UNKNOWN_PACKET,
                format!("Пакет с идентификатором {ref_id} не найден"),
            )),
        }
    }
    .await;
    answer(&state, "status", Asked { login: Some(login), packet_id: Some(ref_id), document: None }, reply).await
}
