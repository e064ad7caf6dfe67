//! Every HTTP request gets an id: the caller's `X-Request-Id` when it is sane (1 to 64 visible
//! ASCII characters), otherwise a fresh one. The id is
//!
//! - in a tracing span `request` with the method and the path (never the query string, which
//!   may hold search terms), so every log line written while the request is handled carries it;
//! - a request extension, [`RequestId`] (`Extension<RequestId>` in a handler), and for code that
//!   sees no request — an error turned into a response — [`RequestId::current`];
//! - in the response header `X-Request-Id`, so a user or a proxy log can quote it.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header read from the request and written to the response.
pub const HEADER: &str = "x-request-id";

/// The longest incoming id that is kept.
pub const MAX_LEN: usize = 64;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of one HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The caller's id when it is acceptable, else a new one.
    pub fn accept_or_new(incoming: Option<&HeaderValue>) -> RequestId {
        match incoming.and_then(|v| v.to_str().ok()) {
            Some(id) if acceptable(id) => RequestId(id.to_owned()),
            _ => RequestId::new(),
        }
    }

    /// A fresh id: 32 hex digits.
    pub fn new() -> RequestId {
        RequestId(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the request the calling task is handling, if any (tasks spawned by a handler
    /// do not inherit it).
    pub fn current() -> Option<RequestId> {
        CURRENT.try_with(Clone::clone).ok()
    }
}

impl Default for RequestId {
    fn default() -> Self {
        RequestId::new()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// 1 to [`MAX_LEN`] visible ASCII characters: safe in a log line and in a header.
fn acceptable(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The middleware (`axum::middleware::from_fn(request_id::layer)`); put it outermost so that
/// every response, refusals of other layers included, carries the id.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let id = RequestId::accept_or_new(request.headers().get(HEADER));
    request.extensions_mut().insert(id.clone());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    );
    let mut response = CURRENT.scope(id.clone(), next.run(request).instrument(span)).await;
    // Visible ASCII only, so always a valid header value.
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_incoming_ids_are_kept_and_others_replaced() {
        let keep = |s: &str| RequestId::accept_or_new(Some(&HeaderValue::from_str(s).unwrap())).0 == s;
        assert!(keep("abc-123"));
        assert!(keep(&"x".repeat(MAX_LEN)));
        assert!(keep("req:42/7=ok"));
        for bad in ["", "a b", "\t", &"x".repeat(MAX_LEN + 1), "ид"] {
            let header = HeaderValue::from_bytes(bad.as_bytes()).unwrap();
            let id = RequestId::accept_or_new(Some(&header));
            assert_ne!(id.as_str(), bad, "{bad:?}");
            assert!(acceptable(id.as_str()) && id.as_str().len() == 32, "{id}");
        }
        assert_ne!(RequestId::new(), RequestId::new());
        assert_eq!(RequestId::current(), None, "outside a request");
    }
}
