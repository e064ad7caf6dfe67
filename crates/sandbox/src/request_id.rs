//! Every request gets an id, as plangraf's own server gives them: the caller's `X-Request-Id`
//! when it is sane (1 to 64 visible ASCII characters), otherwise a fresh one. The id is in a
//! tracing span `request` with the method and the path (never the query string), so every log
//! line of the request carries it, and in the response header `X-Request-Id`, so a client's log
//! and the sandbox's can be matched. plangraf's web crate has the same rule; the sandbox keeps
//! its own copy so that it does not depend on plangraf's server.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header read from the request and written to the response.
pub(crate) const HEADER: &str = "x-request-id";

/// The longest incoming id that is kept.
const MAX_LEN: usize = 64;

/// The caller's id when it is acceptable, else a fresh one (32 hex digits).
fn accept_or_new(incoming: Option<&HeaderValue>) -> String {
    match incoming.and_then(|v| v.to_str().ok()) {
        Some(id) if acceptable(id) => id.to_owned(),
        _ => uuid::Uuid::new_v4().simple().to_string(),
    }
}

/// 1 to [`MAX_LEN`] visible ASCII characters: safe in a log line and in a header.
fn acceptable(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The middleware (`axum::middleware::from_fn(request_id::layer)`), outermost, so that every
/// response — injected faults and refusals included — carries the id.
pub(crate) async fn layer(request: Request, next: Next) -> Response {
    let id = accept_or_new(request.headers().get(HEADER));
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    );
    let mut response = next.run(request).instrument(span).await;
    // Visible ASCII only, so always a valid header value.
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_incoming_ids_are_kept_and_others_replaced() {
        let accept = |s: &str| accept_or_new(Some(&HeaderValue::from_bytes(s.as_bytes()).unwrap()));
        for good in ["abc-123", "req:42/7=ok", &"x".repeat(MAX_LEN)] {
            assert_eq!(accept(good), good);
        }
        for bad in ["", "a b", "\t", &"x".repeat(MAX_LEN + 1), "ид"] {
            let id = accept(bad);
            assert_ne!(id, bad, "{bad:?}");
            assert!(acceptable(&id) && id.len() == 32, "{id}");
        }
        assert_ne!(accept_or_new(None), accept_or_new(None));
    }
}
