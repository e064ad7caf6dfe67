//! The JSON API for machine clients: `POST /api/v1/auth/token` and `GET /api/v1/me`.
//! Errors are RFC 9457 problem documents with Russian `detail`.

use crate::AppState;
use crate::auth::{API_TOKEN_TTL_MS, ApiUser, SignIn, WRONG_LOGIN, locked_message, sign_in};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError { status, detail: detail.into() }
    }
    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "Требуется действующий токен: заголовок Authorization: Bearer <токен>")
    }
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(detail = %e, "api request failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Внутренняя ошибка сервера")
    }
}

impl From<crate::error::AppError> for ApiError {
    fn from(e: crate::error::AppError) -> ApiError {
        use crate::error::AppError::*;
        match e {
            NotFound => ApiError::new(StatusCode::NOT_FOUND, "Не найдено"),
            Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            BadRequest(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
            Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            Internal(m) => ApiError::internal(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut resp = (self.status, Json(body)).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

#[derive(Deserialize)]
pub struct TokenRequest {
    login: String,
    password: String,
}

#[derive(Serialize)]
pub struct TokenResponse {
    token: String,
    token_type: &'static str,
    expires_in: i64,
}

pub async fn issue_token(
    State(state): State<AppState>,
    body: Result<Json<TokenRequest>, JsonRejection>,
) -> Result<Json<TokenResponse>, ApiError> {
    let Json(req) = body.map_err(|_| {
        ApiError::new(StatusCode::BAD_REQUEST, "Ожидается JSON вида {\"login\": \"…\", \"password\": \"…\"}")
    })?;
    match sign_in(&state, &req.login, &req.password).await? {
        SignIn::Ok(user) => {
            let token = state.store.create_api_token(user.id, API_TOKEN_TTL_MS).await.map_err(ApiError::internal)?;
            Ok(Json(TokenResponse { token, token_type: "Bearer", expires_in: API_TOKEN_TTL_MS / 1000 }))
        }
        SignIn::Wrong => Err(ApiError::new(StatusCode::UNAUTHORIZED, WRONG_LOGIN)),
        SignIn::Locked { minutes } => Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, locked_message(minutes))),
    }
}

pub async fn me(State(state): State<AppState>, ApiUser(user): ApiUser) -> Result<Json<serde_json::Value>, ApiError> {
    let org = state.store.organization(user.org_id).await.map_err(ApiError::internal)?.ok_or_else(|| ApiError::internal("user without organization"))?;
    Ok(Json(json!({
        "id": user.id,
        "login": user.login,
        "full_name": user.full_name,
        "role": user.role.code(),
        "role_title": user.role.title(),
        "organization": {
            "id": org.id,
            "name": org.name,
            "short_name": org.short_name,
            "spz_code": org.spz_code,
            "inn": org.inn,
            "kpp": org.kpp,
            "org_type": org.org_type.code(),
        }
    })))
}
