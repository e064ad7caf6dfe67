//! ЭЦП in the browser: sign-in with a certificate, and «Настройки» → «Сертификаты ЭЦП» where
//! a signed-in user binds and unbinds their own. The challenge goes to the page as the bytes
//! to sign (base64) and stays with the browser in an HttpOnly cookie limited to the form it is
//! for; the signature comes back in a plain form post (`static/ecp.js` fills it). The checks
//! are `app::ecp`'s.

use crate::AppState;
use crate::auth::{ClientAddress, CurrentUser, Post, check_same_origin, cookie_value};
use crate::error::{WebError, WebResult};
use crate::pages::session::{login_refused, signed_in};
use crate::view::{Chrome, html};
use app::ecp::{CertificateSignIn, challenge_content};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use serde::Deserialize;
use store::certificates::ChallengePurpose;

const SIGN_IN_COOKIE: &str = "plangraf_ecp_sign_in";
const SIGN_IN_PATH: &str = "/login/ecp";
const BIND_COOKIE: &str = "plangraf_ecp_bind";
const BIND_PATH: &str = "/settings/certificates";
use app::certificates::EXPIRY_WARNING_DAYS;

fn challenge_cookie(state: &AppState, name: &str, path: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

/// The challenge's cookie and the bytes to sign, as the page's script reads them.
fn challenge_response(state: &AppState, cookie: &str, path: &str, purpose: ChallengePurpose, token: &str) -> Response {
    let content = base64::engine::general_purpose::STANDARD.encode(challenge_content(purpose, token));
    let cookie = challenge_cookie(state, cookie, path, token, app::ecp::CHALLENGE_TTL_MS / 1000);
    (
        [(SET_COOKIE, cookie), (CACHE_CONTROL, "no-store".to_owned())],
        axum::Json(serde_json::json!({ "challenge": content })),
    )
        .into_response()
}

fn not_enabled() -> WebError {
    WebError::new(StatusCode::NOT_FOUND, app::ecp::NOT_ENABLED)
}

/// `POST /login/ecp/challenge`: a sign-in challenge for this browser. No session exists yet,
/// so the same-origin check is what keeps other sites from asking.
pub async fn sign_in_challenge(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
) -> WebResult<Response> {
    check_same_origin(&headers)?;
    if !state.app.ecp_enabled() {
        return Err(not_enabled());
    }
    let token = issued(state.app.issue_ecp_challenge(ChallengePurpose::SignIn, client).await?)?;
    Ok(challenge_response(&state, SIGN_IN_COOKIE, SIGN_IN_PATH, ChallengePurpose::SignIn, &token))
}

/// The challenge, or 429 / 503 when too many live (`app::ecp::CHALLENGE_LIMITS`).
fn issued(issued: app::ecp::Issued) -> WebResult<String> {
    match issued {
        app::ecp::Issued::Challenge(token) => Ok(token),
        app::ecp::Issued::TooManyFromAddress { retry_after_ms } => {
            Err(WebError::new(StatusCode::TOO_MANY_REQUESTS, app::ecp::TOO_MANY_CHALLENGES)
                .retry_after(u64::try_from((retry_after_ms + 999) / 1000).unwrap_or(1)))
        }
        app::ecp::Issued::TooMany => {
            Err(WebError::new(StatusCode::SERVICE_UNAVAILABLE, app::ecp::CHALLENGES_BUSY).retry_after(60))
        }
    }
}

#[derive(Deserialize)]
pub struct SignatureForm {
    #[serde(default)]
    signature: String,
}

/// `POST /login/ecp`: the signature of this browser's challenge; signed in, or the sign-in
/// page with the reason.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    form: Result<Form<SignatureForm>, axum::extract::rejection::FormRejection>,
) -> WebResult<Response> {
    check_same_origin(&headers)?;
    if !state.app.ecp_enabled() {
        return login_refused(&state, StatusCode::NOT_FOUND, "", app::ecp::NOT_ENABLED.into(), None);
    }
    let signature = form.map(|Form(f)| f.signature).unwrap_or_default();
    // The challenge is single-use whatever happens: its cookie goes with this answer.
    let clear = challenge_cookie(&state, SIGN_IN_COOKIE, SIGN_IN_PATH, "", 0);
    let challenge = cookie_value(&headers, SIGN_IN_COOKIE).filter(|c| !c.is_empty());
    let outcome = state.app.sign_in_with_certificate(challenge.as_deref(), signature.as_bytes(), client).await?;
    let mut response = match outcome {
        CertificateSignIn::Ok(ok) => signed_in(&state, ok).await?,
        CertificateSignIn::Refused(message) => {
            tracing::info!(reason = %message, "certificate sign-in refused");
            login_refused(&state, StatusCode::UNAUTHORIZED, "", message, None)?
        }
        CertificateSignIn::Throttled { retry_after_secs } => login_refused(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "",
            crate::auth::throttled_message(retry_after_secs),
            Some(retry_after_secs),
        )?,
    };
    if let Ok(value) = clear.parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    Ok(response)
}

/// A bound certificate as the certificate tables show it.
pub(crate) struct CertificateRow {
    pub owner: String,
    pub snils: String,
    pub inn: String,
    pub issuer: String,
    pub valid: String,
    pub thumbprint: String,
    pub warning: Option<String>,
}

impl CertificateRow {
    /// The row of `c`, warned of when it ends within [`EXPIRY_WARNING_DAYS`] of `now` or has.
    pub(crate) fn of(c: store::certificates::CertificateRecord, now: chrono::DateTime<chrono::Utc>) -> CertificateRow {
        let days_left = (c.not_after - now).num_days();
        let warning = if c.not_after <= now {
            Some("Срок действия истёк: войти и подписывать им нельзя".to_owned())
        } else if days_left < EXPIRY_WARNING_DAYS {
            Some(format!("Истекает через {days_left} дн.: привяжите новый сертификат заранее"))
        } else {
            None
        };
        CertificateRow {
            owner: c.subject_name,
            snils: c.snils.unwrap_or_default(),
            inn: c.inn.unwrap_or_default(),
            issuer: c.issuer,
            valid: format!("{} — {}", c.not_before.format("%d.%m.%Y"), c.not_after.format("%d.%m.%Y")),
            thumbprint: c.thumbprint,
            warning,
        }
    }
}

#[derive(Template)]
#[template(path = "certificates.html")]
struct CertificatesPage {
    chrome: Option<Chrome>,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    rows: Vec<CertificateRow>,
    /// The plug-in's script when ЭЦП is configured; binding needs it.
    ecp_script: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

async fn certificates_response(
    state: &AppState,
    session: &store::users::Session,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<Response> {
    let now = store::now();
    let rows = state
        .app
        .own_certificates(&session.user)
        .await?
        .into_iter()
        .map(|b| CertificateRow::of(b.certificate, now))
        .collect();
    let page = CertificatesPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        notice,
        error,
        rows,
        ecp_script: state.app.ecp_enabled().then(|| state.ecp_plugin_script.to_string()),
    };
    Ok((status, html(&page)?).into_response())
}

/// «Настройки» → «Сертификаты ЭЦП».
pub async fn certificates_page(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Query(q): Query<Done>,
) -> WebResult<Response> {
    let notice = match q.done.as_deref() {
        Some("bound") => Some("Сертификат привязан: теперь по нему можно входить".to_owned()),
        Some("already") => Some("Этот сертификат уже привязан к вам".to_owned()),
        Some("unbound") => Some("Сертификат отвязан".to_owned()),
        _ => None,
    };
    certificates_response(&state, &session, StatusCode::OK, notice, None).await
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /settings/certificates/challenge`: a binding challenge for the signed-in user.
pub async fn bind_challenge(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    post: Post<Empty>,
) -> WebResult<Response> {
    if !state.app.ecp_enabled() {
        return Err(not_enabled());
    }
    let purpose = ChallengePurpose::Bind(post.session.user.id);
    let token = issued(state.app.issue_ecp_challenge(purpose, client).await?)?;
    Ok(challenge_response(&state, BIND_COOKIE, BIND_PATH, purpose, &token))
}

/// `POST /settings/certificates`: binds the certificate that signed the user's challenge.
pub async fn bind(State(state): State<AppState>, headers: HeaderMap, post: Post<SignatureForm>) -> WebResult<Response> {
    let session = post.session;
    let challenge = cookie_value(&headers, BIND_COOKIE).filter(|c| !c.is_empty());
    let clear = challenge_cookie(&state, BIND_COOKIE, BIND_PATH, "", 0);
    let outcome =
        state.app.bind_own_certificate(&session.user, challenge.as_deref(), post.form.signature.as_bytes()).await;
    let mut response = match outcome {
        Ok(bound) => {
            let done = if bound.already { "already" } else { "bound" };
            Redirect::to(&format!("{BIND_PATH}?done={done}")).into_response()
        }
        Err(e @ (app::Error::Fields { .. } | app::Error::Refused { .. })) => {
            let status = crate::error::status_of(&e);
            certificates_response(&state, &session, status, None, Some(e.to_string())).await?
        }
        Err(e) => return Err(e.into()),
    };
    if let Ok(value) = clear.parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    Ok(response)
}

/// «Отвязать» one of the user's own certificates.
pub async fn unbind(
    State(state): State<AppState>,
    Path(thumbprint): Path<String>,
    post: Post<Empty>,
) -> WebResult<Response> {
    match state.app.unbind_own_certificate(&post.session.user, &thumbprint).await {
        Ok(_) => Ok(Redirect::to(&format!("{BIND_PATH}?done=unbound")).into_response()),
        Err(e @ (app::Error::Fields { .. } | app::Error::Refused { .. })) => {
            let status = crate::error::status_of(&e);
            certificates_response(&state, &post.session, status, None, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}
