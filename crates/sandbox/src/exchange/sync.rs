//! What plangraf's publication sync asks: whether drafts were placed
//! (`fcsDocProjectStatusRequest` over the upload) and the export of a placed version
//! (`/44fz/integration/export`).

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::DateTime;
use eis::docproject::{
    DocProjectState, DocProjectStatus, DocProjectStatusResponse, OBJECT_TYPE_SM, read_doc_project_status_request,
    write_doc_project_status_response,
};
use eis::export::{ExportedPlan, write_export};
use eis::packet::{PacketIndex, read_plan_packet};
use eis::reply::read_confirmation;
use sqlx::Row;

use super::{Asked, EIS_SENDER, Refusal, answer, authenticate, code, url_form};
use crate::db::now_ms;
use crate::directory::UserRecord;
use crate::{AppState, SandboxError};

/// The local name of the root element, found without parsing the whole document (a plan
/// packet may be tens of megabytes and is parsed later anyway).
pub(super) fn root_name(document: &str) -> Option<&str> {
    let mut rest = document;
    loop {
        let at = rest.find('<')?;
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix("?") {
            rest = &after[after.find("?>")? + 2..];
        } else if let Some(after) = rest.strip_prefix("!--") {
            rest = &after[after.find("-->")? + 3..];
        } else if rest.starts_with('!') {
            rest = &rest[rest.find('>')? + 1..];
        } else {
            let end = rest.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
            let name = &rest[..end];
            return Some(name.rsplit(':').next().unwrap_or(name));
        }
    }
}

/// Answers an `fcsDocProjectStatusRequest` of an authenticated user. Every id must be a packet
/// this organization sent: anything else is 404 + errorInfo 1006, as for `status`.
pub(super) async fn doc_project_status(state: &AppState, user: &UserRecord, document: &str) -> Response {
    let login = Some(user.integration_login.as_str());
    let request = match read_doc_project_status_request(document) {
        Ok(r) => r,
        Err(e) => {
            let r = Refusal::new(
                StatusCode::BAD_REQUEST,
                code::BAD_REQUEST,
                format!("Неверный запрос: запрос о статусе проектов документов не прочитан: {}", e.message_ru()),
            );
            return answer(state, "upload", Asked { login, packet_id: None, document: Some(document) }, Err(r)).await;
        }
    };
    let reply = statuses(state, user, &request.doc_project_ids).await.map(|statuses| {
        write_doc_project_status_response(&DocProjectStatusResponse {
            index: PacketIndex::new(EIS_SENDER, request.index.sender.clone(), OBJECT_TYPE_SM, request.index.mode),
            request_id: request.index.id.clone(),
            statuses,
        })
    });
    let document = reply.is_err().then_some(document);
    answer(state, "upload", Asked { login, packet_id: Some(&request.index.id), document }, reply).await
}

async fn statuses(state: &AppState, user: &UserRecord, ids: &[String]) -> Result<Vec<DocProjectStatus>, Refusal> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row = sqlx::query(
            "SELECT p.org_reg_num, p.ready_at, p.final_reply, v.state, v.published_doc_id FROM packets p \
             LEFT JOIN plan_versions v ON v.packet_id = p.packet_id WHERE p.ref_id = ?1 AND p.org_reg_num = ?2",
        )
        .bind(id)
        .bind(&user.org_reg_num)
        .fetch_optional(&state.db)
        .await?;
        let row = match row {
            Some(r) if r.try_get::<String, _>("org_reg_num")? == user.org_reg_num => r,
            _ => {
                return Err(Refusal::new(
                    StatusCode::NOT_FOUND,
                    code::UNKNOWN_PACKET,
                    format!("Пакет с идентификатором {id} не найден"),
                ));
            }
        };
        // The final confirmation exists for the client once its due time has come.
        let confirm_id = if now_ms() >= row.try_get::<i64, _>("ready_at")? {
            let reply: String = row.try_get("final_reply")?;
            let confirmation =
                read_confirmation(&reply).map_err(|e| SandboxError::Invalid(format!("stored confirmation: {e}")))?;
            Some(confirmation.index.id)
        } else {
            None
        };
        let published = match (row.try_get::<Option<String>, _>("state")?.as_deref(), row.try_get("published_doc_id")?)
        {
            (Some("placed"), Some(doc_id)) => DocProjectState::Published { published_doc_id: doc_id },
            _ => DocProjectState::NotPublished,
        };
        out.push(DocProjectStatus { doc_project_id: id.clone(), doc_project_confirm_id: confirm_id, state: published });
    }
    Ok(out)
}

/// `POST /44fz/integration/export`: form `login`, `password` and exactly one of `planNumber`
/// (the latest placed version) or `publishedDocId`. Only the plans the user's organization's
/// cabinet works with: its own, and those it placed for a customer under an agreement (OA).
pub(super) async fn export(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let form = match url_form(&state, "export", form).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let login = form.get("login").map(String::as_str);
    let key = match (form.get("planNumber"), form.get("publishedDocId")) {
        (Some(n), None) => Ok(("plan_number", n.as_str())),
        (None, Some(d)) => Ok(("published_doc_id", d.as_str())),
        _ => Err(()),
    };
    let (Some(login), Some(password), Ok((column, value))) = (login, form.get("password"), key) else {
        let r = Refusal::new(
            StatusCode::BAD_REQUEST,
            code::BAD_REQUEST,
            "Неверный запрос: требуются поля login, password и одно из полей planNumber или publishedDocId",
        );
        return answer(&state, "export", Asked { login, ..Asked::default() }, Err(r)).await;
    };
    let reply = async {
        let user = authenticate(&state, peer, login, password).await?;
        let sql = if column == "plan_number" {
            "SELECT v.id, v.created_at, v.confirmed_at, v.published_at, v.placed_document FROM plans p \
             JOIN plan_versions v ON v.plan_id = p.id WHERE p.plan_number = ?1 AND (p.org_reg_num = ?2 OR p.owner_reg_num = ?2) \
             AND v.state = 'placed' ORDER BY v.version_number DESC LIMIT 1"
        } else {
            "SELECT v.id, v.created_at, v.confirmed_at, v.published_at, v.placed_document FROM plans p \
             JOIN plan_versions v ON v.plan_id = p.id WHERE v.published_doc_id = ?1 AND (p.org_reg_num = ?2 OR p.owner_reg_num = ?2) \
             AND v.state = 'placed'"
        };
        let row = sqlx::query(sql).bind(value).bind(&user.org_reg_num).fetch_optional(&state.db).await?;
        let Some(row) = row else {
            return Err(if column == "plan_number" {
                Refusal::new(
                    StatusCode::NOT_FOUND,
                    code::UNKNOWN_PLAN,
                    format!("Размещенный план-график с реестровым номером {value} не найден"),
                )
            } else {
                Refusal::new(
                    StatusCode::NOT_FOUND,
                    code::UNKNOWN_DOCUMENT,
                    format!("Размещенный документ с идентификатором {value} не найден"),
                )
            });
        };
        let stored: Option<String> = row.try_get("placed_document")?;
        let stored = stored.ok_or_else(|| SandboxError::Invalid("a placed version without its document".into()))?;
        let placed = read_plan_packet(&stored).map_err(|e| SandboxError::Invalid(format!("stored placed document: {e}")))?;
        let date = |column: &str| -> Result<_, sqlx::Error> {
            let ms: Option<i64> = row.try_get(column)?;
            Ok(ms.and_then(DateTime::from_timestamp_millis).map(|t| t.with_timezone(&moscow())))
        };
        let mut data = placed.data;
        data.id = Some(row.try_get("id")?);
        data.create_date = date("created_at")?.map(Into::into);
        data.confirm_date = date("confirmed_at")?.map(Into::into);
        data.publish_date = date("published_at")?.map(Into::into);
        Ok(write_export(&ExportedPlan::new(data)))
    }
    .await;
    answer(&state, "export", Asked { login: Some(login), packet_id: None, document: None }, reply).await
}

fn moscow() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(3 * 3600).expect("+03:00 is a valid offset")
}
