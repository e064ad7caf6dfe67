//! Faults on demand, for tests of how a client copes with a misbehaving ЕИС: added latency,
//! 5xx replies, dropped connections, lost replies and packets stuck in `processing`. They apply to the
//! integration endpoints (`/44fz/integration/*`) only, never to the cabinet.
//!
//! Deterministic on purpose: "the next N requests" counters, and a share of 5xx spread evenly
//! (exactly `p` of every 100 consecutive requests) instead of randomness.
//!
//! A dropped connection must carry no reply at all. The TCP stream under TLS is wrapped per
//! connection ([`KillableAcceptor`]); the middleware finds the connection by its peer address,
//! marks it killed, and from then on every read and write of that stream fails, so the reply
//! hyper tries to write never leaves the socket and the connection closes.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::AppState;

/// The faults in force. `Faults::default()` is a well-behaved ЕИС.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Added before every integration reply (a 5xx and a dropped connection included).
    pub latency: Duration,
    /// Share of integration requests answered `503` (0–100; more counts as 100), spread
    /// evenly: exactly this many of every 100 consecutive requests, counted from when the
    /// faults were set.
    pub error_percent: u8,
    /// The next this many integration requests are answered `503`, before the share applies.
    pub fail_next: u32,
    /// The next this many integration requests get no reply: the connection is closed.
    pub drop_next: u32,
    /// The next this many integration requests are served — an upload is received and stored —
    /// but the connection is closed before the reply is written: the client never learns.
    pub lose_reply_next: u32,
    /// The next this many integration requests are answered `400` with an `errorInfo` (code
    /// 1004): a refusal that will not change however often it is repeated.
    pub refuse_next: u32,
    /// Packets received while this is on stay `processing` (until
    /// [`crate::Directory::release_stuck`]).
    pub stuck_processing: bool,
    /// Share (0–100) of the integration requests not answered `503` by `error_percent` whose
    /// connection is closed without a reply, spread evenly like `error_percent`.
    pub drop_percent: u8,
    /// Share (0–100) of the integration requests neither failed nor dropped by the shares above
    /// that are served and then answered only after `slow_latency`: past a client's read
    /// timeout, the request took effect but the client never learns.
    pub slow_percent: u8,
    /// How long a slow reply (`slow_percent`) is held after the request was served.
    pub slow_latency: Duration,
}

/// The `errorInfo/code` of an injected 503.
pub(crate) const INJECTED_5XX_CODE: i32 = 1010;
/// The `errorInfo/code` of an injected 400: the sandbox's «bad request».
pub(crate) const INJECTED_4XX_CODE: i32 = 1004;

#[derive(Default)]
struct Inner {
    faults: Faults,
    /// Requests seen since the faults were set, for the even spread of `error_percent`.
    seen: u64,
    /// Requests not failed by the share, for the even spread of `drop_percent`.
    seen_unfailed: u64,
    /// Requests neither failed nor dropped by the shares, for `slow_percent`.
    seen_undropped: u64,
}

/// What happens to one integration request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Serve,
    Fail,
    Drop,
    LoseReply,
    Refuse,
    /// Served, then the reply is held this long.
    Slow(Duration),
}

/// The faults shared by the handlers, the directory and the connections.
#[derive(Default)]
pub(crate) struct FaultState {
    inner: Mutex<Inner>,
    connections: Mutex<HashMap<SocketAddr, Arc<Kill>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FaultState {
    pub(crate) fn set(&self, faults: Faults) {
        tracing::info!(?faults, "eis-sandbox faults set");
        *lock(&self.inner) = Inner { faults, ..Inner::default() };
    }

    pub(crate) fn get(&self) -> Faults {
        lock(&self.inner).faults.clone()
    }

    pub(crate) fn stuck_processing(&self) -> bool {
        lock(&self.inner).faults.stuck_processing
    }

    /// Decides one request's fate and counts it.
    fn next(&self) -> (Duration, Fate) {
        let mut g = lock(&self.inner);
        let latency = g.faults.latency;
        if g.faults.drop_next > 0 {
            g.faults.drop_next -= 1;
            return (latency, Fate::Drop);
        }
        if g.faults.lose_reply_next > 0 {
            g.faults.lose_reply_next -= 1;
            return (latency, Fate::LoseReply);
        }
        if g.faults.refuse_next > 0 {
            g.faults.refuse_next -= 1;
            return (latency, Fate::Refuse);
        }
        if g.faults.fail_next > 0 {
            g.faults.fail_next -= 1;
            return (latency, Fate::Fail);
        }
        g.seen += 1;
        if hits(g.seen, g.faults.error_percent) {
            return (latency, Fate::Fail);
        }
        g.seen_unfailed += 1;
        if hits(g.seen_unfailed, g.faults.drop_percent) {
            return (latency, Fate::Drop);
        }
        g.seen_undropped += 1;
        if hits(g.seen_undropped, g.faults.slow_percent) {
            return (latency, Fate::Slow(g.faults.slow_latency));
        }
        (latency, Fate::Serve)
    }

    fn kill(&self, peer: SocketAddr) -> bool {
        match lock(&self.connections).get(&peer) {
            Some(k) => {
                k.kill();
                true
            }
            None => false,
        }
    }
}

/// Whether request `k` (counted from 1) of an evenly spread share of `percent` gets the fault:
/// when it carries the running count of faults past a whole number, so exactly `percent` of
/// every 100 consecutive requests do.
fn hits(k: u64, percent: u8) -> bool {
    let p = u64::from(percent.min(100));
    k * p / 100 > (k - 1) * p / 100
}

/// Middleware of the integration endpoints.
pub(crate) async fn inject(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let (latency, fate) = state.faults.next();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fate {
        Fate::Serve => next.run(req).await,
        Fate::Fail => {
            tracing::info!(path = %req.uri().path(), "injected 503");
            let body = eis::reply::write_error_info(&eis::reply::ErrorInfo {
                code: INJECTED_5XX_CODE,
                message: "Сервис временно недоступен (сбой, заданный в песочнице). Повторите попытку позже".into(),
            });
            (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
        }
        Fate::Refuse => {
            tracing::info!(path = %req.uri().path(), "injected 400");
            let body = eis::reply::write_error_info(&eis::reply::ErrorInfo {
                code: INJECTED_4XX_CODE,
                message: "Неверный запрос: документ не может быть принят (отказ, заданный в песочнице)".into(),
            });
            (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
        }
        Fate::Slow(hold) => {
            // In its own task, so the request takes effect even when the client gives up first
            // (hyper drops the handler of a closed connection).
            let served = match tokio::spawn(next.run(req)).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "serving a slow request failed");
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
            };
            tracing::info!(%peer, status = %served.status(), hold_ms = hold.as_millis(), "request served; injected slow reply");
            tokio::time::sleep(hold).await;
            served
        }
        Fate::LoseReply => {
            let served = next.run(req).await;
            tracing::info!(%peer, status = %served.status(), "request served; injected lost reply");
            if !state.faults.kill(peer) {
                tracing::warn!(%peer, "no connection to drop; the reply goes out");
            }
            served
        }
        Fate::Drop => {
            tracing::info!(path = %req.uri().path(), %peer, "injected dropped connection");
            if !state.faults.kill(peer) {
                tracing::warn!(%peer, "no connection to drop; answering 503 instead");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            // Whatever is answered now cannot be written: the connection is dead.
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

// --- the admin endpoint --------------------------------------------------------------------

/// A cross-site form cannot carry a custom header without a CORS preflight, which is never
/// answered: a page in the tester's browser cannot set faults.
pub const ADMIN_HEADER: &str = "x-eis-sandbox-faults";

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/_faults", get(show).post(set)).route("/_faults/release", post(release))
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body)
        .into_response()
}

fn describe(f: &Faults) -> String {
    format!(
        "latency_ms={}\nerror_percent={}\nfail_next={}\ndrop_next={}\nlose_reply_next={}\nrefuse_next={}\nstuck_processing={}\n\
         drop_percent={}\nslow_percent={}\nslow_ms={}\n",
        f.latency.as_millis(),
        f.error_percent,
        f.fail_next,
        f.drop_next,
        f.lose_reply_next,
        f.refuse_next,
        f.stuck_processing,
        f.drop_percent,
        f.slow_percent,
        f.slow_latency.as_millis()
    )
}

fn refuse(peer: SocketAddr, headers: &HeaderMap) -> Option<Response> {
    if !peer.ip().is_loopback() {
        return Some(text(
            StatusCode::FORBIDDEN,
            "Сбои задаются только с адреса обратной петли (127.0.0.1, ::1)\n".into(),
        ));
    }
    if !headers.contains_key(ADMIN_HEADER) {
        return Some(text(StatusCode::FORBIDDEN, format!("Требуется заголовок {ADMIN_HEADER}\n")));
    }
    None
}

async fn show(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refuse(peer, &headers) {
        return r;
    }
    text(StatusCode::OK, describe(&state.faults.get()))
}

#[derive(Deserialize)]
struct FaultsForm {
    latency_ms: Option<String>,
    error_percent: Option<String>,
    fail_next: Option<String>,
    drop_next: Option<String>,
    lose_reply_next: Option<String>,
    refuse_next: Option<String>,
    stuck_processing: Option<String>,
    drop_percent: Option<String>,
    slow_percent: Option<String>,
    slow_ms: Option<String>,
}

fn parse<T: std::str::FromStr + Default>(name: &str, v: Option<&String>) -> Result<T, String> {
    match v.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(T::default()),
        Some(s) => s.parse().map_err(|_| format!("{name}: «{s}» не является неотрицательным целым числом\n")),
    }
}

/// Replaces every fault at once; a field left out is off.
async fn set(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<FaultsForm>, FormRejection>,
) -> Response {
    if let Some(r) = refuse(peer, &headers) {
        return r;
    }
    let Ok(Form(form)) = form else {
        return text(StatusCode::BAD_REQUEST, "Ожидается форма application/x-www-form-urlencoded\n".into());
    };
    let parsed = (|| {
        let percent = |name: &str, v: Option<&String>| -> Result<u8, String> {
            let p: u8 = parse(name, v)?;
            if p > 100 {
                return Err(format!("{name}: допустимы значения от 0 до 100\n"));
            }
            Ok(p)
        };
        let error_percent = percent("error_percent", form.error_percent.as_ref())?;
        let drop_percent = percent("drop_percent", form.drop_percent.as_ref())?;
        let slow_percent = percent("slow_percent", form.slow_percent.as_ref())?;
        let stuck = match form.stuck_processing.as_deref().map(str::trim) {
            None | Some("" | "0" | "false") => false,
            Some("1" | "true" | "on") => true,
            Some(other) => return Err(format!("stuck_processing: ожидается true или false, получено «{other}»\n")),
        };
        Ok(Faults {
            latency: Duration::from_millis(parse("latency_ms", form.latency_ms.as_ref())?),
            error_percent,
            fail_next: parse("fail_next", form.fail_next.as_ref())?,
            drop_next: parse("drop_next", form.drop_next.as_ref())?,
            lose_reply_next: parse("lose_reply_next", form.lose_reply_next.as_ref())?,
            refuse_next: parse("refuse_next", form.refuse_next.as_ref())?,
            stuck_processing: stuck,
            drop_percent,
            slow_percent,
            slow_latency: Duration::from_millis(parse("slow_ms", form.slow_ms.as_ref())?),
        })
    })();
    match parsed {
        Ok(f) => {
            state.faults.set(f.clone());
            text(StatusCode::OK, describe(&f))
        }
        Err(e) => text(StatusCode::BAD_REQUEST, e),
    }
}

async fn release(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refuse(peer, &headers) {
        return r;
    }
    match state.directory.release_stuck().await {
        Ok(n) => text(StatusCode::OK, format!("released={n}\n")),
        Err(e) => {
            tracing::error!(error = %e, "releasing stuck packets failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "Внутренняя ошибка хранилища песочницы\n".into())
        }
    }
}

// --- killable connections ------------------------------------------------------------------

#[derive(Default)]
struct Kill {
    killed: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Kill {
    fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        if let Some(w) = lock(&self.waker).take() {
            w.wake();
        }
    }

    fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

/// Registers every accepted TCP connection by its peer address, so a request can drop it.
#[derive(Clone)]
pub(crate) struct KillableAcceptor {
    pub(crate) faults: Arc<FaultState>,
}

pub(crate) struct Killable {
    inner: TcpStream,
    peer: Option<SocketAddr>,
    kill: Arc<Kill>,
    faults: Arc<FaultState>,
}

impl<S: Send + 'static> axum_server::accept::Accept<TcpStream, S> for KillableAcceptor {
    type Stream = Killable;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Killable, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let kill = Arc::new(Kill::default());
        let peer = stream.peer_addr().ok();
        if let Some(p) = peer {
            lock(&self.faults.connections).insert(p, kill.clone());
        }
        std::future::ready(Ok((Killable { inner: stream, peer, kill, faults: self.faults.clone() }, service)))
    }
}

impl Drop for Killable {
    fn drop(&mut self) {
        if let Some(p) = self.peer {
            lock(&self.faults.connections).remove(&p);
        }
    }
}

fn dropped() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "connection dropped by an eis-sandbox fault")
}

impl AsyncRead for Killable {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.kill.is_killed() {
            return Poll::Ready(Err(dropped()));
        }
        *lock(&self.kill.waker) = Some(cx.waker().clone());
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Killable {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.kill.is_killed() {
            return Poll::Ready(Err(dropped()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.is_killed() {
            return Poll::Ready(Err(dropped()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.is_killed() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_spread_evenly() {
        let s = FaultState::default();
        s.set(Faults { error_percent: 25, ..Faults::default() });
        let fates: Vec<Fate> = (0..8).map(|_| s.next().1).collect();
        let fails = fates.iter().filter(|f| **f == Fate::Fail).count();
        assert_eq!(fails, 2);
        assert_eq!(fates[3], Fate::Fail, "{fates:?}");
        s.set(Faults { error_percent: 100, ..Faults::default() });
        assert!((0..10).all(|_| s.next().1 == Fate::Fail));
        s.set(Faults { error_percent: 0, drop_next: 1, fail_next: 2, lose_reply_next: 1, ..Faults::default() });
        let fates: Vec<Fate> = (0..6).map(|_| s.next().1).collect();
        assert_eq!(fates, [Fate::Drop, Fate::LoseReply, Fate::Fail, Fate::Fail, Fate::Serve, Fate::Serve]);
        assert_eq!(s.get(), Faults::default(), "counters are used up");
    }

    #[test]
    fn the_shares_of_drops_and_slow_replies_follow_the_share_of_503s() {
        let s = FaultState::default();
        let hold = Duration::from_secs(3);
        s.set(Faults {
            error_percent: 50,
            drop_percent: 50,
            slow_percent: 50,
            slow_latency: hold,
            ..Faults::default()
        });
        let fates: Vec<Fate> = (0..16).map(|_| s.next().1).collect();
        let count = |f: Fate| fates.iter().filter(|x| **x == f).count();
        // Half of all fail; half of the rest drop; half of what is left is slow.
        assert_eq!((count(Fate::Fail), count(Fate::Drop), count(Fate::Slow(hold)), count(Fate::Serve)), (8, 4, 2, 2));
        s.set(Faults { slow_percent: 100, slow_latency: hold, ..Faults::default() });
        assert!((0..5).all(|_| s.next().1 == Fate::Slow(hold)));
    }

    #[test]
    fn only_loopback_peers_with_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(ADMIN_HEADER, axum::http::HeaderValue::from_static("1"));
        let remote: SocketAddr = "192.0.2.1:5000".parse().expect("addr");
        let local: SocketAddr = "[::1]:5000".parse().expect("addr");
        assert!(refuse(remote, &headers).is_some());
        assert!(refuse(local, &headers).is_none());
        assert!(refuse(local, &HeaderMap::new()).is_some());
    }
}
