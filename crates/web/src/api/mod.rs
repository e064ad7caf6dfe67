//! The JSON API for machine clients under `/api/v1`, described by the OpenAPI document served
//! at `/api/openapi.json` (`crates/web/openapi.json`).
//!
//! Every call but the token request carries `Authorization: Bearer <token>`; session cookies do
//! not authenticate here, so a browser page of another site cannot act through the API and the
//! API needs no CSRF token. Handlers call the same use cases of the workflow layer (`app`) as
//! the pages, so the rules and the status codes are the same. Errors are RFC 9457 problem
//! documents with a Russian `detail`, and field errors listed in `errors` (see
//! [`crate::error`]).

mod eis_copy;
mod exchange;
mod model;
mod notifications;
mod plans;
pub mod query;
mod versions;

use crate::AppState;
use crate::auth::{API_TOKEN_TTL_MS, ApiUser, ClientAddress, WRONG_LOGIN, throttled_message};
use crate::error::{Problem, WebError};
use app::users::SignIn;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The OpenAPI document; tests check it against [`routes`] and validate real responses with it.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// One endpoint. The API's [`router`] is built from [`routes`] and nothing else, and the same
/// list is what the tests compare with the OpenAPI document, so the two cannot drift apart.
pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
}

fn route<H, T>(method: Method, path: &'static str, handler: H) -> ApiRoute
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
    ApiRoute { method, path, handler: axum::routing::on(filter, handler) }
}

pub fn routes() -> Vec<ApiRoute> {
    use Method as M;
    vec![
        route(M::GET, "/api/openapi.json", openapi),
        route(M::POST, "/api/v1/auth/token", issue_token),
        route(M::DELETE, "/api/v1/auth/token", revoke_token),
        route(M::GET, "/api/v1/me", me),
        route(M::GET, "/api/v1/plans", plans::list),
        route(M::POST, "/api/v1/plans", plans::create),
        route(M::GET, "/api/v1/plans/{id}", plans::get),
        route(M::PUT, "/api/v1/plans/{id}/owner-role", plans::set_owner_role),
        route(M::PUT, "/api/v1/plans/{id}/responsible", plans::set_responsible),
        route(M::GET, "/api/v1/plans/{id}/positions", plans::positions),
        route(M::POST, "/api/v1/plans/{id}/positions", plans::add_position),
        route(M::PUT, "/api/v1/plans/{id}/positions/{position_id}", plans::update_position),
        route(M::DELETE, "/api/v1/plans/{id}/positions/{position_id}", plans::delete_position),
        route(M::POST, "/api/v1/plans/{id}/positions/{position_id}/cancel", plans::cancel_position),
        route(M::POST, "/api/v1/plans/{id}/submit", plans::submit),
        route(M::POST, "/api/v1/plans/{id}/approve", plans::approve),
        route(M::POST, "/api/v1/plans/{id}/approval-content", plans::approval_content),
        route(M::POST, "/api/v1/plans/{id}/return", plans::return_for_revision),
        route(M::POST, "/api/v1/plans/{id}/changes", plans::start_changes),
        route(M::GET, "/api/v1/plans/{id}/versions", versions::list),
        route(M::GET, "/api/v1/plans/{id}/journal", versions::journal),
        route(M::GET, "/api/v1/versions/{id}", versions::get),
        route(M::GET, "/api/v1/versions/{id}/diff", versions::diff),
        route(M::GET, "/api/v1/versions/{id}/packet.xml", versions::packet),
        route(M::GET, "/api/v1/versions/{id}/signed-content", versions::signed_content),
        route(M::GET, "/api/v1/versions/{id}/signature", versions::signature),
        route(M::POST, "/api/v1/versions/{id}/send", exchange::send),
        route(M::GET, "/api/v1/versions/{id}/send", exchange::send_report),
        route(M::POST, "/api/v1/versions/{id}/send/data", exchange::send_data),
        route(M::POST, "/api/v1/sends/bulk", exchange::send_all),
        route(M::POST, "/api/v1/plans/bulk-approve", exchange::approve_many),
        route(M::GET, "/api/v1/jobs/{id}", exchange::job),
        route(M::POST, "/api/v1/plans/eis-import", eis_copy::take_from_eis),
        route(M::POST, "/api/v1/plans/{id}/reconcile", eis_copy::reconcile),
        route(M::GET, "/api/v1/notifications", notifications::list),
        route(M::POST, "/api/v1/notifications/read-all", notifications::mark_all_read),
        route(M::POST, "/api/v1/notifications/{id}/read", notifications::mark_read),
    ]
}

/// The API's router: the endpoints of each path together; for a method the path does not take,
/// a 405 problem document naming the ones it does; for an unknown address under `/api/`, a 404
/// problem document rather than an HTML page.
pub fn router() -> Router<AppState> {
    let mut paths: Vec<(&'static str, MethodRouter<AppState>, Vec<Method>)> = Vec::new();
    for r in routes() {
        match paths.iter_mut().find(|(p, _, _)| *p == r.path) {
            Some((_, handler, methods)) => {
                *handler = std::mem::replace(handler, MethodRouter::new()).merge(r.handler);
                methods.push(r.method);
            }
            None => paths.push((r.path, r.handler, vec![r.method])),
        }
    }
    let router = Router::new().route("/api/{*rest}", axum::routing::any(not_found));
    paths.into_iter().fold(router, |router, (path, handler, methods)| {
        let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        router.route(path, handler.fallback(move || method_not_allowed(allow.clone())))
    })
}

async fn method_not_allowed(allow: String) -> Response {
    let mut resp = WebError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Метод не поддерживается по этому адресу; допустимые: {allow}"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&allow) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}

/// Method and path of every endpoint, as the router has them.
pub fn endpoints() -> Vec<(Method, &'static str)> {
    routes().into_iter().map(|r| (r.method, r.path)).collect()
}

async fn not_found() -> WebError {
    WebError::not_found()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "max-age=3600")], OPENAPI).into_response()
}

/// A JSON request body. Whatever does not parse, or carries a field the schema does not have
/// (a misspelt field would otherwise be ignored silently), is a 400 in Russian, naming the
/// schema to follow.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + Serialize> FromRequest<AppState> for Body<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, WebError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| WebError::bad_request("Тело запроса слишком велико или передано не полностью"))?;
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            check_json_text(&value, "")?;
        }
        let parsed: T = serde_json::from_slice(&bytes).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => "не соответствует схеме запроса",
                _ => "не является корректным JSON",
            };
            WebError::bad_request(format!(
                "Тело запроса {what} (строка {}, позиция {}). Схемы запросов — в /api/openapi.json",
                e.line(),
                e.column()
            ))
        })?;
        // What the input type keeps, written back, has every field it knows; whatever else the
        // body has, deserializing dropped.
        let input: serde_json::Value = serde_json::from_slice(&bytes).map_err(WebError::internal)?;
        let kept = serde_json::to_value(&parsed).map_err(WebError::internal)?;
        if let Some(path) = unknown_field(&input, &kept) {
            return Err(WebError::bad_request(format!(
                "Поле «{path}» не предусмотрено схемой запроса: проверьте его написание. Схемы запросов — в /api/openapi.json"
            )));
        }
        Ok(Body(parsed))
    }
}

/// A JSON request body that may be absent: an empty body is `None`; anything else is read as
/// [`Body`] reads it.
pub struct OptionalBody<T>(pub Option<T>);

impl<T: DeserializeOwned + Serialize> FromRequest<AppState> for OptionalBody<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, WebError> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|_| WebError::bad_request("Тело запроса слишком велико или передано не полностью"))?;
        if bytes.trim_ascii().is_empty() {
            return Ok(OptionalBody(None));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        Ok(OptionalBody(Some(Body::<T>::from_request(req, state).await?.0)))
    }
}

/// The first field of `input` that `kept` lacks, as `lines[0].code`.
fn unknown_field(input: &serde_json::Value, kept: &serde_json::Value) -> Option<String> {
    use serde_json::Value::{Array, Object};
    let nested = |head: String, rest: String| {
        if rest.starts_with('[') { format!("{head}{rest}") } else { format!("{head}.{rest}") }
    };
    match (input, kept) {
        (Object(input), Object(kept)) => input.iter().find_map(|(key, v)| match kept.get(key) {
            None => Some(key.clone()),
            Some(k) => unknown_field(v, k).map(|rest| nested(key.clone(), rest)),
        }),
        (Array(input), Array(kept)) => input
            .iter()
            .zip(kept)
            .enumerate()
            .find_map(|(i, (v, k))| unknown_field(v, k).map(|rest| nested(format!("[{i}]"), rest))),
        _ => None,
    }
}

/// Integers as JSON Schema counts them: `2026` and `2026.0` alike, within int64.
pub mod int64 {
    use serde::de::{Deserialize, Deserializer, Error};
    use serde_json::Number;

    fn integral(n: &Number) -> Option<i64> {
        // 2^63 is exact in f64; an integral value below it converts without loss of range.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && (-LIMIT..LIMIT).contains(f)).map(|f| f as i64))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let n = Number::deserialize(d)?;
        integral(&n).ok_or_else(|| D::Error::custom(format!("{n} is not an int64")))
    }

    /// A list of integers, each as [`deserialize`] takes it.
    pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
        Vec::<Number>::deserialize(d)?
            .iter()
            .map(|n| integral(n).ok_or_else(|| D::Error::custom(format!("{n} is not an int64"))))
            .collect()
    }

    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Number>::deserialize(d)? {
            None => Ok(None),
            Some(n) => integral(&n).map(Some).ok_or_else(|| D::Error::custom(format!("{n} is not an int64"))),
        }
    }
}

/// Refuses a control character anywhere in a JSON body's strings (see `domain::text`), naming
/// the field. The walk is iterative: serde_json bounds the depth at 128 anyway.
fn check_json_text(value: &serde_json::Value, root: &str) -> Result<(), WebError> {
    let mut stack = vec![(root.to_owned(), value)];
    while let Some((path, v)) = stack.pop() {
        match v {
            serde_json::Value::String(text) => {
                if let Some(c) = domain::text::forbidden_char(text) {
                    let message = domain::text::forbidden_message(c);
                    let problem = Problem { field: path.clone(), message: message.clone(), purchase_number: None };
                    return Err(WebError::new(StatusCode::UNPROCESSABLE_ENTITY, message).with_problems(vec![problem]));
                }
            }
            serde_json::Value::Array(items) => {
                stack.extend(items.iter().enumerate().map(|(i, item)| (format!("{path}[{i}]"), item)));
            }
            serde_json::Value::Object(fields) => {
                for (k, item) in fields {
                    let name = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    stack.push((name, item));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Path parameters; an address that does not parse names nothing, so it is a 404.
pub struct Id<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Id<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        Path::<T>::from_request_parts(parts, state).await.map(|Path(v)| Id(v)).map_err(|_| WebError::not_found())
    }
}

#[derive(Deserialize, Serialize)]
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

/// Why no token is issued to a user whose password an administrator handed out.
pub const MUST_CHANGE_PASSWORD_API: &str = "Пароль выдан администратором и должен быть сменён. Войдите в plangraf через браузер, \
     смените пароль на странице «Смена пароля» и получите токен с новым паролем.";

pub async fn issue_token(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    body: Result<Body<TokenRequest>, WebError>,
) -> Result<Json<TokenResponse>, WebError> {
    let Body(req) = body.map_err(|e| match e.status() {
        // A control character in the login or password: say so, with the sign-in's one status.
        StatusCode::UNPROCESSABLE_ENTITY => WebError::bad_request(e.detail()),
        _ => WebError::bad_request("Ожидается JSON вида {\"login\": \"…\", \"password\": \"…\"}"),
    })?;
    match state.app.sign_in(&req.login, &req.password, client).await? {
        SignIn::Ok { must_change_password: true, .. } => Err(WebError::forbidden(MUST_CHANGE_PASSWORD_API)),
        SignIn::Ok { user, .. } => {
            let token = state.app.issue_api_token(&user, API_TOKEN_TTL_MS).await?;
            Ok(Json(TokenResponse { token, token_type: "Bearer", expires_in: API_TOKEN_TTL_MS / 1000 }))
        }
        SignIn::Wrong => Err(WebError::new(StatusCode::UNAUTHORIZED, WRONG_LOGIN)),
        SignIn::CertificateRequired => Err(WebError::forbidden(app::users::CERTIFICATE_REQUIRED)),
        SignIn::Throttled { retry_after_secs } => {
            Err(WebError::new(StatusCode::TOO_MANY_REQUESTS, throttled_message(retry_after_secs))
                .retry_after(u64::try_from(retry_after_secs).unwrap_or(1)))
        }
        SignIn::Busy => Err(WebError::new(StatusCode::SERVICE_UNAVAILABLE, app::passwords::BUSY_MESSAGE)
            .retry_after(app::passwords::BUSY_RETRY_AFTER_SECS)),
    }
}

/// `DELETE /api/v1/auth/token`: the bearer token of this very request stops working.
pub async fn revoke_token(
    State(state): State<AppState>,
    ApiUser(_): ApiUser,
    headers: header::HeaderMap,
) -> Result<StatusCode, WebError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(WebError::unauthorized)?;
    state.app.revoke_api_token(token.trim()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(State(state): State<AppState>, ApiUser(user): ApiUser) -> Result<Json<serde_json::Value>, WebError> {
    let org = state
        .app
        .store()
        .organization(user.org_id)
        .await?
        .ok_or_else(|| WebError::internal("user without organization"))?;
    Ok(Json(json!({
        "id": user.id,
        "login": user.login,
        "full_name": user.full_name,
        "roles": user.roles,
        "roles_title": user.roles.to_string(),
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn the_document_lists_every_send_status() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("openapi.json is JSON");
        let listed = &doc["components"]["schemas"]["VersionFields"]["properties"]["send_status"]["enum"];
        let listed: Vec<&str> =
            listed.as_array().expect("send_status is an enum").iter().filter_map(|v| v.as_str()).collect();
        let known: Vec<&str> = domain::SendStatus::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(listed, known, "the document's send statuses and domain::SendStatus differ");
    }

    #[test]
    fn the_document_lists_every_role() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("openapi.json is JSON");
        let listed = &doc["components"]["schemas"]["Me"]["properties"]["roles"]["items"]["enum"];
        let listed: Vec<&str> = listed.as_array().expect("an enum").iter().map(|v| v.as_str().unwrap()).collect();
        let codes: Vec<&str> = domain::Role::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(listed, codes);
    }

    #[test]
    fn the_document_lists_exactly_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
            .collect();
        let routed: BTreeSet<(String, String)> =
            super::endpoints().into_iter().map(|(m, p)| (m.to_string(), p.to_owned())).collect();
        assert_eq!(routed.len(), super::endpoints().len(), "a route is listed twice");
        assert_eq!(routed, documented);
    }
}
