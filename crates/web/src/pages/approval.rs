//! Signed «Утвердить» (ЭЦП): the bytes the approver signs, and a signed version's two files —
//! its content exactly as stored and the signature — for anyone who may read the version to
//! check with `openssl cms -verify` (docs/SECURITY.md, «Подписанное утверждение»). The page
//! signs with `static/ecp.js`: the content goes to it as its challenge does for binding.

use crate::AppState;
use crate::api::Id;
use crate::auth::{CurrentUser, Post};
use crate::error::{WebError, WebResult, status_of};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use domain::ids::{PlanId, VersionId};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Empty {}

#[derive(Deserialize)]
pub struct ContentQuery {
    #[serde(default)]
    row_version: Option<String>,
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, [(CACHE_CONTROL, "no-store")], axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// `POST /plans/{id}/approve/content?row_version=N`: the content the approver signs to approve
/// the plan as read at row version N, base64 (`challenge`, as `static/ecp.js` reads it, and
/// `content`). Refusals are JSON `{"error": …}` in Russian.
pub async fn content(
    State(state): State<AppState>,
    Id(id): Id<PlanId>,
    Query(q): Query<ContentQuery>,
    post: Post<Empty>,
) -> WebResult<Response> {
    let Some(row_version) = q.row_version.as_deref().and_then(|v| v.trim().parse::<i64>().ok()) else {
        return Ok(json_error(
            StatusCode::BAD_REQUEST,
            "Не указана версия плана-графика, которую вы видите (row_version): обновите страницу",
        ));
    };
    match state.app.approval_content(&post.session.user, id, row_version).await {
        Ok(c) => {
            let content = base64::engine::general_purpose::STANDARD.encode(&c.content);
            let body = serde_json::json!({
                "challenge": content,
                "content": content,
                "row_version": c.row_version,
                "signature_required": c.signature_required,
            });
            Ok(([(CACHE_CONTROL, "no-store")], axum::Json(body)).into_response())
        }
        Err(app::Error::Stale) => Ok(json_error(
            StatusCode::CONFLICT,
            "План-график изменён после того, как вы открыли страницу: обновите её, проверьте план-график и подпишите снова",
        )),
        Err(e @ (app::Error::Refused { .. } | app::Error::Fields { .. } | app::Error::NotFound)) => {
            Ok(json_error(status_of(&e), &e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

fn file(content_type: &str, name: String, bytes: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(CONTENT_TYPE, content_type.to_owned()), (CONTENT_DISPOSITION, disposition)], bytes).into_response()
}

async fn signed(
    state: &AppState,
    session: &store::users::Session,
    id: VersionId,
) -> WebResult<app::plans::SignedVersion> {
    let signed = state.app.signed_version(&session.user, id).await?;
    if signed.signature.is_none() {
        return Err(WebError::not_found_with("Утверждение этой версии не подписано электронной подписью"));
    }
    Ok(signed)
}

fn base_name(v: &app::plans::SignedVersion) -> String {
    format!("plan-{}-v{}", v.head.plan_id, v.head.version_number)
}

/// `GET /versions/{id}/signed-content`: the version's content exactly as stored and signed.
pub async fn signed_content(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<VersionId>,
) -> WebResult<Response> {
    let v = signed(&state, &session, id).await?;
    let name = format!("{}.json", base_name(&v));
    Ok(file("application/json", name, v.content.into_bytes()))
}

/// `GET /versions/{id}/signature`: the approver's detached CAdES-BES, DER.
pub async fn signature(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<VersionId>,
) -> WebResult<Response> {
    let v = signed(&state, &session, id).await?;
    let name = format!("{}.sig", base_name(&v));
    Ok(file("application/pkcs7-signature", name, v.signature.unwrap_or_default()))
}
