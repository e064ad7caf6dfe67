//! `/metrics` for Prometheus, and the HTTP latency of every request.
//!
//! - [`layer`] observes each request's latency (until the response's head is ready) under the
//!   router's route *template* (`/plans/{id}`, from axum's `MatchedPath`), never the path, with
//!   the method and the status class; a request no route matched counts as `other`.
//! - [`scrape`] answers the registry of `app::metrics` with the send queue read for the scrape,
//!   to callers [`Access`] lets in, and 404 — the answer of any unknown path — to everyone else.
//!
//! Who is let in: a caller with the configured bearer token, or a caller whose address is in the
//! allow list (default: loopback). The address is the TCP peer's. A request that carries a
//! forwarding header (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`) came through a proxy, so the
//! peer says nothing about the caller: from a configured trusted proxy the caller is the last
//! address of `X-Forwarded-For` that is not a trusted proxy; from any other peer such a request
//! is refused. So a reverse proxy on the same machine does not make every visitor a loopback
//! caller.

use crate::AppState;
use crate::error::WebError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// The shortest bearer token accepted in the configuration.
pub const MIN_TOKEN_LEN: usize = 16;
/// The longest `Authorization` header value that is looked at.
const MAX_AUTHORIZATION: usize = 1024;

/// An address or a network: `10.0.0.0/8`, `::1/128`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in the network; an IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`, as a
    /// dual-stack listener reports it) counts as the IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<IpNet, String> {
        let s = s.trim();
        let bad = || format!("«{s}» — не адрес и не сеть (ожидается, например, 127.0.0.1, 10.0.0.0/8 или ::1)");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?
            }
            Some(_) => return Err(bad()),
        };
        Ok(IpNet { addr, prefix })
    }
}

/// Who may read `/metrics`. The token is kept as its SHA-256 only, in memory; it is never
/// logged and `Debug` does not show it.
#[derive(Clone)]
pub struct Access {
    allow: Vec<IpNet>,
    token_sha256: Option<[u8; 32]>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("allow", &self.allow)
            .field("token", &self.token_sha256.map(|_| "<скрыт>"))
            .finish()
    }
}

impl Default for Access {
    /// Loopback only, no token.
    fn default() -> Self {
        Access::loopback()
    }
}

impl Access {
    /// `127.0.0.0/8` and `::1`.
    pub fn loopback() -> Access {
        let allow = ["127.0.0.0/8", "::1/128"].iter().filter_map(|n| n.parse().ok()).collect();
        Access { allow, token_sha256: None }
    }

    /// The networks allowed without a token (may be empty: token only), and the token, which
    /// must be at least [`MIN_TOKEN_LEN`] visible ASCII characters.
    pub fn new(allow: Vec<IpNet>, token: Option<&str>) -> Result<Access, String> {
        let token_sha256 = match token {
            None => None,
            Some(t) if t.len() >= MIN_TOKEN_LEN && t.len() <= 256 && t.bytes().all(|b| b.is_ascii_graphic()) => {
                Some(Sha256::digest(t.as_bytes()).into())
            }
            Some(_) => {
                return Err(format!(
                    "PLANGRAF_METRICS_TOKEN: нужен токен из {MIN_TOKEN_LEN}–256 видимых символов ASCII \
                     (например, вывод openssl rand -hex 32)"
                ));
            }
        };
        Ok(Access { allow, token_sha256 })
    }

    /// The allow list as configured: entries separated by commas, `none` for no address at all
    /// (token only); empty means the default, loopback.
    pub fn parse_allow(entries: &[String]) -> Result<Vec<IpNet>, String> {
        let entries: Vec<&str> = entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()).collect();
        if entries.is_empty() {
            return Ok(Access::loopback().allow);
        }
        if entries == ["none"] {
            return Ok(Vec::new());
        }
        entries.iter().map(|e| e.parse()).collect()
    }

    /// Whether the request may read the metrics (see the module's documentation).
    pub fn admits(&self, parts: &Parts, trusted_proxies: &[IpAddr]) -> bool {
        if self.token_matches(parts) {
            return true;
        }
        caller_address(parts, trusted_proxies).is_some_and(|ip| self.allow.iter().any(|n| n.contains(ip)))
    }

    /// The bearer token of the request equals the configured one; compared as SHA-256 digests
    /// in constant time, so neither the token nor its length leaks through timing.
    fn token_matches(&self, parts: &Parts) -> bool {
        let Some(expected) = &self.token_sha256 else { return false };
        let Some(given) = parts
            .headers
            .get(AUTHORIZATION)
            .filter(|v| v.len() <= MAX_AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        let given: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
        given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// The caller's address for the allow list: the TCP peer; for a request forwarded by a proxy,
/// the client a trusted proxy names, and `None` (refused) when the proxy is not trusted or the
/// client it names cannot be read.
fn caller_address(parts: &Parts, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())?;
    let headers = &parts.headers;
    let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"].iter().any(|h| headers.contains_key(*h));
    if !forwarded {
        return Some(peer);
    }
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|t| t.to_canonical() == ip.to_canonical());
    if !trusted(&peer) {
        return None;
    }
    let mut entries = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        entries.extend(value.to_str().ok()?.split(',').map(str::trim));
    }
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted(&ip) => continue,
            Ok(ip) => return Some(ip),
            Err(_) => return None,
        }
    }
    None
}

/// The middleware observing every request's latency (`from_fn_with_state`); see the module.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state.app.metrics().http_request(route.as_deref(), method.as_str(), response.status().as_u16(), started.elapsed());
    response
}

/// `GET /metrics`: the registry in the Prometheus text format 0.0.4 with the send queue read now;
/// 404 to a caller [`Access`] does not let in.
pub async fn scrape(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    if !state.metrics_access.admits(&parts, &state.trusted_proxies) {
        return WebError::not_found().into_response();
    }
    let queue = state.app.queue_depth().await;
    let body = state.app.metrics().render(queue.as_deref());
    ([(CONTENT_TYPE, app::metrics::CONTENT_TYPE)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_contain_what_they_should() {
        assert!(net("10.0.0.0/8").contains(ip("10.200.3.4")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("192.168.1.7").contains(ip("192.168.1.7")));
        assert!(!net("192.168.1.7").contains(ip("192.168.1.8")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!net("0.0.0.0/0").contains(ip("::2")), "an IPv4 network holds no IPv6 address");
        assert!(net("::1").contains(ip("::1")));
        assert!(net("fd00::/8").contains(ip("fd12::5")));
        assert!(net("127.0.0.0/8").contains(ip("::ffff:127.0.0.1")), "IPv4-mapped counts as IPv4");
        for bad in [
            "",
            "/8",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::1/129",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "localhost",
            "10.0.0.0/0008",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_allow_list_defaults_to_loopback_and_none_means_token_only() {
        assert_eq!(Access::parse_allow(&[]).unwrap(), Access::loopback().allow);
        assert_eq!(Access::parse_allow(&[" ".into()]).unwrap(), Access::loopback().allow);
        assert!(Access::parse_allow(&["none".into()]).unwrap().is_empty());
        assert_eq!(Access::parse_allow(&["10.0.0.0/8".into(), "::1".into()]).unwrap().len(), 2);
        assert!(Access::parse_allow(&["10.0.0.0/8".into(), "nope".into()]).is_err());
        assert!(Access::new(Vec::new(), Some("short")).is_err());
        assert!(Access::new(Vec::new(), Some("a token with spaces!")).is_err());
        let access = Access::new(Vec::new(), Some("0123456789abcdef0123")).unwrap();
        assert!(!format!("{access:?}").contains("0123456789abcdef"));
    }

    fn parts(peer: &str, headers: &[(&str, &str)]) -> Parts {
        let mut req = axum::http::Request::builder().uri("/metrics");
        for (k, v) in headers {
            req = req.header(*k, HeaderValue::from_str(v).unwrap());
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        let addr: std::net::SocketAddr = format!("{peer}:50000").parse().unwrap();
        parts.extensions.insert(axum::extract::ConnectInfo(addr));
        parts
    }

    #[test]
    fn the_peer_decides_and_forwarded_requests_need_a_trusted_proxy() {
        let access =
            Access::new(vec![net("127.0.0.0/8"), net("10.1.0.0/16")], Some("secret-token-0123456789")).unwrap();
        let proxy = [ip("127.0.0.1")];
        assert!(access.admits(&parts("127.0.0.1", &[]), &[]));
        assert!(access.admits(&parts("10.1.2.3", &[]), &[]));
        assert!(!access.admits(&parts("192.0.2.1", &[]), &[]));
        // Through a proxy nobody declared: refused, though the proxy itself is on loopback.
        assert!(!access.admits(&parts("127.0.0.1", &[("x-forwarded-for", "192.0.2.1")]), &[]));
        assert!(!access.admits(&parts("127.0.0.1", &[("x-real-ip", "127.0.0.1")]), &[]));
        // Through a trusted proxy: the client it names decides.
        assert!(!access.admits(&parts("127.0.0.1", &[("x-forwarded-for", "192.0.2.1")]), &proxy));
        assert!(access.admits(&parts("127.0.0.1", &[("x-forwarded-for", "10.1.9.9")]), &proxy));
        // A forged entry ahead of what the proxy appended does not help, nor does garbage.
        assert!(!access.admits(&parts("127.0.0.1", &[("x-forwarded-for", "10.1.9.9, 192.0.2.1")]), &proxy));
        assert!(!access.admits(&parts("127.0.0.1", &[("x-forwarded-for", "garbage, 192.0.2.1")]), &proxy));
        assert!(!access.admits(&parts("127.0.0.1", &[("x-forwarded-for", "192.0.2.1, garbage")]), &proxy));
        // The token opens it from anywhere; a wrong one does not.
        let with = |t: &str| parts("192.0.2.1", &[("authorization", t), ("x-forwarded-for", "192.0.2.1")]);
        assert!(access.admits(&with("Bearer secret-token-0123456789"), &[]));
        assert!(!access.admits(&with("Bearer secret-token-012345678"), &[]));
        assert!(!access.admits(&with("Bearer "), &[]));
        assert!(!access.admits(&with("secret-token-0123456789"), &[]));
        // Without a configured token, no bearer value opens it.
        let no_token = Access::new(vec![], None).unwrap();
        assert!(!no_token.admits(&parts("127.0.0.1", &[("authorization", "Bearer ")]), &[]));
    }
}
