//! «Отправить на ООС» and «Посмотреть статус отправки» of a version.

use crate::AppState;
use crate::api::Id;
use crate::auth::{CurrentUser, Post};
use crate::error::{WebError, WebResult};
use crate::pages::plan_page::status_class;
use crate::view::{Chrome, html};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use domain::SendStatus;
use domain::ids::{PlanId, SendId, VersionId};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "send_dialog.html")]
struct SendDialog {
    chrome: Option<Chrome>,
    csrf: String,
    plan_id: PlanId,
    year: i32,
    org_short: String,
    version_id: VersionId,
    version_number: i64,
    login: String,
    has_saved_password: bool,
    error: Option<String>,
    /// The sender's organization requires a signed packet: the URL of the plug-in's script.
    ecp_script: Option<String>,
}

async fn dialog(
    state: &AppState,
    session: &store::users::Session,
    version_id: VersionId,
    login: Option<String>,
    error: Option<String>,
) -> WebResult<Response> {
    let user = &session.user;
    let found = state.app.sendable_version(user, version_id).await?;
    if let Some(reason) = state.app.send_blocked(user, &found.plan, &found.version).await? {
        return Err(WebError::conflict(reason));
    }
    let (version, plan, owner) = found.into_parts();
    let saved = state.app.store().eis_credentials_info(user.id).await?;
    let signed = state.app.packet_signature_required(user).await?;
    let page = SendDialog {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        plan_id: plan.id,
        year: plan.plan_year,
        org_short: owner.short_name,
        version_id: version.id,
        version_number: version.version_number,
        login: login.or_else(|| saved.as_ref().map(|s| s.login.clone())).unwrap_or_default(),
        has_saved_password: saved.map(|s| s.has_password).unwrap_or(false),
        error,
        ecp_script: signed.then(|| state.ecp_plugin_script.to_string()),
    };
    let status =
        if page.error.is_some() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    Ok((status, html(&page)?).into_response())
}

pub async fn send_dialog(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<VersionId>,
) -> WebResult<Response> {
    dialog(&state, &session, id, None, None).await
}

#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: domain::secret::Secret,
    /// The packet signature the dialog's script made over the data `send_data` gave.
    #[serde(default)]
    signature: String,
}

pub async fn send_submit(
    State(state): State<AppState>,
    Id(id): Id<VersionId>,
    post: Post<SendForm>,
) -> WebResult<Response> {
    let user = &post.session.user;
    let signature = Some(post.form.signature.clone().into_bytes()).filter(|s| !s.trim_ascii().is_empty());
    match state.app.request_signed_send(user, id, &post.form.login, &post.form.password, signature).await {
        Ok(_) => Ok(Redirect::to(&format!("/versions/{id}/status?notice=queued")).into_response()),
        Err(app::Error::SendRefused(reason) | app::Error::Fields { message: reason, .. }) => {
            dialog(&state, &post.session, id, Some(post.form.login.trim().to_owned()), Some(reason)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /versions/{id}/send/data`: the bytes the dialog's script signs before «ОК» — the
/// `data` element of the packet that would go now, base64. A version that cannot go now is
/// refused (409) with the reason, as the send would be.
pub async fn send_data(
    State(state): State<AppState>,
    Id(id): Id<VersionId>,
    post: Post<NoFields>,
) -> WebResult<Response> {
    use base64::Engine as _;
    match state.app.packet_to_sign(&post.session.user, id).await {
        Ok(p) => Ok(axum::Json(serde_json::json!({
            "data": base64::engine::general_purpose::STANDARD.encode(&p.data),
            "required": p.required,
        }))
        .into_response()),
        Err(app::Error::SendRefused(reason)) => {
            Ok((axum::http::StatusCode::CONFLICT, axum::Json(serde_json::json!({ "error": reason }))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

struct EventRow {
    id: i64,
    send_id: SendId,
    at: String,
    status: &'static str,
    message: String,
    /// ЕИС's HTTP answer in words; the code itself goes to a tooltip.
    reply: Option<(i64, &'static str)>,
    has_raw: bool,
    /// For an event that recurred alike: «повторялось N раз, последний раз …».
    repeated: Option<String>,
}

#[derive(Template)]
#[template(path = "send_status.html")]
struct StatusPage {
    chrome: Option<Chrome>,
    plan_id: PlanId,
    year: i32,
    org_short: String,
    version_number: i64,
    notice: Option<String>,
    status: &'static str,
    status_class: &'static str,
    active: bool,
    last_error: Option<String>,
    /// While ЕИС fails: when the runner tries again, and when it will stop trying.
    next_attempt: Option<String>,
    gives_up_at: Option<String>,
    /// What ended a send the runner stopped (ЕИС's refusal, or since when ЕИС did not answer).
    reason: Option<String>,
    info: Option<String>,
    explanation: Option<String>,
    packet_id: Option<String>,
    /// The send shown, for «Доказательства отправки».
    send_id: Option<SendId>,
    eis_login: String,
    attempts: i64,
    violations: Vec<app::sending::ViolationView>,
    events: Vec<EventRow>,
    plan_number: Option<String>,
    position_numbers: Vec<(String, String)>,
}

/// What a final state means for the customer, in the words of the operating instructions; for a
/// refused authorization, `refused_with` is
/// the HTTP status ЕИС refused with (401: login or password, 403: no right).
fn explanation(status: SendStatus, refused_with: Option<i64>) -> (Option<String>, Option<String>) {
    match status {
        // 403: the login and password are right, the right to work with plan-schedules is missing.
        SendStatus::AuthError if refused_with == Some(403) => (
            None,
            Some(
                "ЕИС приняла логин и пароль, но у этого пользователя ЕИС нет права «Работа с планом-графиком» (код ЕИС 1003). \
                 Пароль менять не нужно. Попросите администратора вашей организации в ЕИС выдать право: личный кабинет \
                 ЕИС → «Администрирование» → «Пользователи организации» → в строке пользователя «Права доступа \
                 пользователя» → отметить «Работа с планом-графиком» и сохранить. Затем нажмите «Отправить на ООС» снова."
                    .into(),
            ),
        ),
        SendStatus::AuthError => (
            None,
            Some(
                "ЕИС не приняла логин или пароль пользователя ЕИС. Чаще всего пароль был создан заново: ЕИС создаёт новый \
                 пароль при каждом нажатии «Данные пользователя для альтернативной интеграции (по протоколу HTTPS)», и \
                 прежний пароль сразу перестаёт действовать. Получите пароль в ЕИС (раздел «Пользователь» личного \
                 кабинета), введите его в <a href=\"/settings/eis\">«Настройки» → «Регистрационные данные в ЕИС»</a> \
                 и отправьте версию снова. Если пользователь ЕИС заблокирован, обратитесь к администратору организации в ЕИС."
                    .into(),
            ),
        ),
        SendStatus::Conflict => (
            None,
            Some(
                "В личном кабинете заказчика на Официальном сайте уже создан план-график на этот период, который не был \
                 интегрирован из plangraf. Отправка плана-графика из plangraf на Официальный сайт невозможна: изменения \
                 на этот период вносятся в ЕИС. Чтобы видеть этот план-график в plangraf (для отчетов и сверки), \
                 загрузите его по реестровому номеру: <a href=\"/plans#eis-import\">«Загрузить из ЕИС»</a> в списке \
                 планов-графиков."
                    .into(),
            ),
        ),
        SendStatus::Rejected => (
            None,
            Some("План-график не прошёл проверку в ЕИС. Исправьте ошибки, перечисленные ниже, и отправьте исправленную версию.".into()),
        ),
        SendStatus::RequestRefused => (
            None,
            Some(
                "ЕИС отклоняет сам запрос, поэтому plangraf не повторяет его: ответ не изменится. \
                 Что именно ответила ЕИС — ниже и в ответе ЕИС (XML) в ходе отправки. Если причина понятна и её можно \
                 устранить, устраните её и нажмите «Отправить на ООС» снова; иначе обратитесь в службу поддержки, \
                 приложив ответ ЕИС. При новой отправке plangraf сначала спросит ЕИС о прежнем пакете, так что второй \
                 проект в ЕИС не появится."
                    .into(),
            ),
        ),
        SendStatus::GaveUp => (
            None,
            Some(
                "ЕИС не давала ответа до истечения срока повторных попыток, и plangraf прекратил их. Перед этим plangraf \
                 спросил ЕИС о пакете: ЕИС его не получала или не ответила. Отправьте версию снова позже, когда ЕИС \
                 заработает (кнопка «Отправить на ООС»): plangraf сначала спросит ЕИС о прежнем пакете и, если тот всё-таки \
                 дошёл, продолжит следить за ним, а не создаст второй проект. Если ЕИС работает, а отправка снова не \
                 проходит, обратитесь в службу поддержки."
                    .into(),
            ),
        ),
        SendStatus::Loaded => (
            Some(
                "План-график загружен в личный кабинет заказчика в ЕИС (раздел «Реестр планов-графиков»). \
                 Его требуется опубликовать (разместить) в ЕИС. plangraf узнает о размещении сам и покажет реестровые номера."
                    .into(),
            ),
            None,
        ),
        _ => (None, None),
    }
}

#[derive(Deserialize, Default)]
pub struct StatusQuery {
    #[serde(default)]
    notice: Option<String>,
}

pub async fn send_status(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<VersionId>,
    Query(q): Query<StatusQuery>,
) -> WebResult<Response> {
    let r = state.app.send_report(&session.user, id).await?;
    let status = r.status();
    let (mut info, explanation) = status.map(|s| explanation(s, r.refused_with)).unwrap_or((None, None));
    if r.held_for_blocked_organization {
        info = Some(app::sending::HELD_FOR_BLOCKED_ORGANIZATION.to_owned());
    }
    let published = r.published();
    let page = StatusPage {
        chrome: Some(Chrome::of(&state, &session).await?),
        plan_id: r.plan.id,
        year: r.plan.plan_year,
        org_short: r.owner.short_name.clone(),
        version_number: r.version.version_number,
        notice: (q.notice.as_deref() == Some("queued"))
            .then(|| "Версия поставлена в очередь на отправку в ЕИС".to_owned()),
        status: status.map(SendStatus::title).unwrap_or(SendStatus::NOT_SENT_TITLE),
        status_class: status_class(status),
        active: status.is_some_and(SendStatus::is_active),
        last_error: r.send.as_ref().and_then(|s| s.last_error.clone()),
        next_attempt: r
            .failing()
            .map(|s| s.next_attempt_at.with_timezone(&domain::format::moscow()).format("%H:%M:%S").to_string()),
        gives_up_at: r.gives_up_at.map(crate::view::fmt_time),
        reason: r.stopped().and_then(|s| s.last_error.clone()),
        info,
        explanation,
        packet_id: r.send.as_ref().map(|s| s.packet_id.clone()),
        send_id: r.send.as_ref().map(|s| s.id),
        eis_login: r.send.as_ref().map(|s| s.eis_login.clone()).unwrap_or_default(),
        attempts: r.send.as_ref().map(|s| s.attempts).unwrap_or(0),
        plan_number: if published { r.plan.eis_plan_number.clone() } else { None },
        position_numbers: if published { r.version.eis_position_numbers.clone().into_iter().collect() } else { vec![] },
        // The events are those of the send read first (a newer one may have started since).
        events: r
            .events
            .into_iter()
            .rev()
            .filter_map(|e| {
                Some(EventRow {
                    id: e.id,
                    send_id: r.timeline_of?,
                    at: domain::format::date_time_seconds_ru(e.at),
                    status: app::sending::event_title(&e),
                    message: e.message,
                    reply: e.http_status.map(|h| (h, app::sending::reply_in_words(h))),
                    has_raw: e.has_raw,
                    repeated: app::sending::repeated_ru(e.repeats, e.last_at),
                })
            })
            .collect(),
        violations: r.violations,
    };
    Ok(html(&page)?.into_response())
}

/// Downloads the raw ЕИС reply of one event: nothing ЕИС answered is lost or hidden.
pub async fn raw_reply(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id((send_id, event_id)): Id<(SendId, i64)>,
) -> WebResult<Response> {
    let send = state.app.store().send_head(send_id).await?.ok_or(WebError::not_found())?;
    state.app.readable_version_head(&session.user, send.version_id).await?;
    let event = state.app.store().send_event(send_id, event_id).await?.ok_or(WebError::not_found())?;
    let raw = event.raw_reply.ok_or(WebError::not_found())?;
    let name = format!("attachment; filename=\"eis-reply-{send_id}-{event_id}.xml\"");
    Ok(([(CONTENT_TYPE, "application/xml; charset=utf-8".to_owned()), (CONTENT_DISPOSITION, name)], raw)
        .into_response())
}

/// «Доказательства отправки»: the send's evidence pack as one ZIP, like the other downloads a
/// GET that reads; making it is journaled by the use case.
pub async fn evidence(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(send_id): Id<SendId>,
) -> WebResult<Response> {
    let pack = state.app.evidence_pack(&session.user, send_id).await?;
    let name = format!("attachment; filename=\"{}\"", pack.file_name);
    Ok(([(CONTENT_TYPE, "application/zip".to_owned()), (CONTENT_DISPOSITION, name)], pack.zip).into_response())
}

struct SendRow {
    customer: String,
    plan_id: PlanId,
    plan_year: i32,
    version_number: i64,
    version_id: VersionId,
    status: &'static str,
    status_class: &'static str,
    attempts: i64,
    updated: String,
}

#[derive(Template)]
#[template(path = "sends.html")]
struct SendsPage {
    chrome: Option<Chrome>,
    notice: Option<String>,
    problems: Vec<String>,
    rows: Vec<SendRow>,
    done: usize,
    any_active: bool,
}

async fn sends_page(
    state: &AppState,
    session: &store::users::Session,
    notice: Option<String>,
    problems: Vec<String>,
) -> WebResult<Response> {
    let rows: Vec<SendRow> = state
        .app
        .store()
        .send_list_of_org(session.user.org_id)
        .await?
        .into_iter()
        .map(|o| SendRow {
            customer: o.customer,
            plan_id: o.plan_id,
            plan_year: o.plan_year,
            version_number: o.version_number,
            version_id: o.send.version_id,
            status: o.send.status.title(),
            status_class: status_class(Some(o.send.status)),
            attempts: o.attempts,
            updated: crate::view::fmt_time(o.send.updated_at),
        })
        .collect();
    let page = SendsPage {
        chrome: Some(Chrome::of(state, session).await?),
        done: rows.iter().filter(|r| r.status_class != "wait").count(),
        any_active: rows.iter().any(|r| r.status_class == "wait"),
        notice,
        problems,
        rows,
    };
    Ok(html(&page)?.into_response())
}

/// «Отправки на ООС»: the organization's sends and how far each has come.
pub async fn sends(State(state): State<AppState>, CurrentUser(session): CurrentUser) -> WebResult<Response> {
    sends_page(&state, &session, None, vec![]).await
}

#[derive(Deserialize)]
pub struct NoFields {}

/// «Отправить все»: every approved version that was never sent and may go now, with the saved
/// ЕИС credentials (the organization's own plans placed by itself, CU, and its subordinates'
/// plans it places for them under an agreement, OA), queued by a job whose page shows the
/// progress. A caller who cannot send at all is told so here, and no job starts.
pub async fn send_all(State(state): State<AppState>, post: Post<NoFields>) -> WebResult<Response> {
    match state.app.start_send_all(&post.session.user).await {
        Ok(job) => Ok(crate::pages::jobs::to_job(job)),
        Err(app::Error::SendRefused(why)) => sends_page(&state, &post.session, None, vec![why]).await,
        Err(e) => Err(e.into()),
    }
}
