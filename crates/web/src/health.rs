//! Probes for an operator or an orchestrator, open without signing in: `/health` says the
//! process answers; `/ready` says whether it can serve requests now (the database answers and
//! holds this build's schema), with 503 when it cannot. Neither names a server, a path or an
//! error: what failed is in the log.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Liveness: the process serves HTTP.
pub async fn health() -> Response {
    ([(CACHE_CONTROL, "no-store")], Json(json!({ "status": "ok" }))).into_response()
}

/// Readiness: 200 when ready, 503 with what is missing otherwise.
pub async fn ready(State(state): State<AppState>) -> Response {
    let r = state.app.readiness().await;
    let (status, word) =
        if r.ready() { (StatusCode::OK, "ready") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready") };
    let database = match (r.database, r.schema_version) {
        (false, _) => "База данных не отвечает".to_owned(),
        (true, Some(v)) if v < r.schema_expected => {
            format!(
                "Схема базы данных {v}, а эта версия plangraf ждёт {}: выполните plangraf migrate",
                r.schema_expected
            )
        }
        (true, Some(v)) if v > r.schema_expected => {
            format!("Схема базы данных {v} новее этой версии plangraf ({}): обновите plangraf", r.schema_expected)
        }
        (true, _) => "ok".to_owned(),
    };
    let body = json!({
        "status": word,
        "database": database,
        "schema_version": r.schema_version,
        "schema_expected": r.schema_expected,
        "eis_schemas": if r.eis_schemas { "compiled" } else { "not configured" },
    });
    (status, [(CACHE_CONTROL, "no-store")], Json(body)).into_response()
}
