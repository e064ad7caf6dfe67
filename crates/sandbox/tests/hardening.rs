//! The sandbox under abuse, over real HTTPS: parallel password checks, guessing, uploads
//! that must not be read, file modes, and refusals that stay Russian.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use common::*;
use eis::client::ClientError;
use eis::packet::write_plan_packet;
use eis::reply::{ConfirmationResult, read_error_info};
use eis::schemas::{HTTPS_API_XSD, assert_valid_or_skip};
use reqwest::StatusCode;
use sandbox::ThrottlePolicy;

const STATUS_URL: &str = "/44fz/integration/status";
const UPLOAD_URL: &str = "/44fz/integration/upload";

/// A `status` request with the given credentials: HTTP status, `Retry-After` and body.
async fn status_call(
    http: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
) -> (StatusCode, Option<String>, String) {
    let ref_id = uuid::Uuid::new_v4().to_string();
    let resp = http
        .post(format!("{base}{STATUS_URL}"))
        .form(&[("login", login), ("password", password), ("refId", ref_id.as_str())])
        .send()
        .await
        .expect("status request");
    let status = resp.status();
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, retry, resp.text().await.expect("body"))
}

/// The errorInfo code of a refusal, checked against the schema.
fn code_of(what: &str, body: &str) -> i32 {
    assert_valid_or_skip(what, HTTPS_API_XSD, body);
    read_error_info(body).unwrap_or_else(|e| panic!("{what}: not an errorInfo ({e}): {body}")).code
}

fn has_cyrillic(s: &str) -> bool {
    s.chars().any(|c| ('а'..='я').contains(&c) || ('А'..='Я').contains(&c))
}

/// A policy under which nothing unlocks while a test runs.
fn slow_policy() -> ThrottlePolicy {
    ThrottlePolicy { first_delay: Duration::from_secs(600), ..ThrottlePolicy::default() }
}

#[tokio::test]
async fn parallel_password_checks_stay_within_the_bound() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    // Throttling is not what this test is about: out of the way.
    d.set_throttle_policy(ThrottlePolicy {
        login_failures: 100_000,
        address_failures: 100_000,
        ..ThrottlePolicy::default()
    });
    let before = d.password_check_stats();
    let http = browser(&env.sandbox);
    let base = env.sandbox.base_url.clone();
    let calls: Vec<_> = (0..100)
        .map(|i| {
            let (http, base) = (http.clone(), base.clone());
            tokio::spawn(async move { status_call(&http, &base, &format!("int_nobody{i}"), "wrong").await })
        })
        .collect();
    let mut busy = 0;
    for call in calls {
        let (status, retry, body) = call.await.expect("task");
        match status {
            StatusCode::UNAUTHORIZED => assert_eq!(code_of("401", &body), 1001),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(code_of("503", &body), 1012);
                assert!(retry.is_some(), "503 without Retry-After");
                assert!(has_cyrillic(&read_error_info(&body).expect("errorInfo").message), "{body}");
                busy += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let after = d.password_check_stats();
    assert!(
        after.high_water <= after.limit,
        "{} password checks ran at once, the bound is {}",
        after.high_water,
        after.limit
    );
    assert!(after.completed > before.completed, "some checks ran");
    assert_eq!(after.running, 0);
    eprintln!("100 parallel checks: {busy} answered 503, high water {} of {}", after.high_water, after.limit);
    // The sandbox still serves afterwards.
    let creds = creds(&env, "spec").await;
    let c = send_and_wait(&env, &creds, &write_plan_packet(&packet())).await;
    assert_eq!(c.result, ConfirmationResult::Success);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn guessing_an_integration_password_is_throttled() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    d.set_throttle_policy(slow_policy());
    let spec = creds(&env, "spec").await;
    let http = browser(&env.sandbox);
    let base = env.sandbox.base_url.clone();
    let before = d.password_check_stats().completed;

    // 59 wrong passwords and the right one, all at once.
    let calls: Vec<_> = (0..60)
        .map(|i| {
            let (http, base, login) = (http.clone(), base.clone(), spec.login.clone());
            let password = if i == 30 { spec.password.expose().to_owned() } else { format!("wrong-{i}") };
            tokio::spawn(async move { status_call(&http, &base, &login, &password).await })
        })
        .collect();
    let mut throttled = 0;
    for call in calls {
        let (status, retry, body) = call.await.expect("task");
        match status {
            StatusCode::UNAUTHORIZED => assert_eq!(code_of("401", &body), 1001),
            // The right password, checked: an unknown refId.
            StatusCode::NOT_FOUND => assert_eq!(code_of("404", &body), 1006),
            StatusCode::SERVICE_UNAVAILABLE => assert_eq!(code_of("503", &body), 1012),
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(code_of("429", &body), 1011);
                let secs: u64 = retry.as_deref().and_then(|r| r.parse().ok()).expect("Retry-After in seconds");
                assert!(secs >= 1);
                assert!(read_error_info(&body).expect("errorInfo").message.contains("Повторите попытку"), "{body}");
                throttled += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let checks = d.password_check_stats().completed - before;
    assert!(checks <= 5, "{checks} password checks ran for one login");
    assert!(throttled >= 55, "{throttled} attempts throttled");

    // Throttled now, even with the right password: it is not even checked.
    let (status, _, body) = status_call(&http, &base, &spec.login, spec.password.expose()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(d.password_check_stats().completed - before, checks, "no check while throttled");
    // Through plangraf's client too: a 429 with the errorInfo.
    match env.client.status(&spec, "0f3c2a8e-0000-0000-0000-000000000000").await {
        Err(ClientError::Server { status: 429, raw }) => assert_eq!(code_of("429", &raw), 1011),
        other => panic!("{other:?}"),
    }

    // Another login from the same address is not affected.
    let admin = creds(&env, "admin").await;
    let (status, _, body) = status_call(&http, &base, &admin.login, admin.password.expose()).await;
    assert_eq!((status, code_of("404", &body)), (StatusCode::NOT_FOUND, 1006), "authenticated, an unknown packet");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_success_forgives_the_failures_before_it() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    d.set_throttle_policy(slow_policy());
    let spec = creds(&env, "spec").await;
    let http = browser(&env.sandbox);
    let base = env.sandbox.base_url.clone();
    for _ in 0..4 {
        assert_eq!(status_call(&http, &base, &spec.login, "wrong").await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status_call(&http, &base, &spec.login, spec.password.expose()).await.0, StatusCode::NOT_FOUND);
    // Four more failures are again free; the fifth in a row is the last before the wait.
    for _ in 0..5 {
        assert_eq!(status_call(&http, &base, &spec.login, "wrong").await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status_call(&http, &base, &spec.login, "wrong").await.0, StatusCode::TOO_MANY_REQUESTS);
    env.sandbox.shutdown().await;
}

/// The address counts failures over every login (20 by default).
#[tokio::test]
async fn guessing_many_logins_from_one_address_is_throttled() {
    let env = start(Duration::ZERO).await;
    env.sandbox.directory().set_throttle_policy(ThrottlePolicy { address_failures: 6, ..slow_policy() });
    let http = browser(&env.sandbox);
    let base = env.sandbox.base_url.clone();
    for i in 0..6 {
        assert_eq!(status_call(&http, &base, &format!("int_guess{i}"), "x").await.0, StatusCode::UNAUTHORIZED);
    }
    let spec = creds(&env, "spec").await;
    let (status, _, body) = status_call(&http, &base, &spec.login, spec.password.expose()).await;
    assert_eq!((status, code_of("429", &body)), (StatusCode::TOO_MANY_REQUESTS, 1011));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn cabinet_sign_in_is_throttled() {
    let env = start(Duration::ZERO).await;
    env.sandbox.directory().set_throttle_policy(slow_policy());
    let http = browser(&env.sandbox);
    let base = env.sandbox.base_url.clone();
    let sign_in = |login: &'static str, password: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let resp = http
                .post(format!("{base}/login"))
                .header("origin", &base)
                .form(&[("login", login), ("password", password)])
                .send()
                .await
                .expect("POST /login");
            let status = resp.status();
            let retry = resp.headers().get("retry-after").is_some();
            (status, retry, resp.text().await.expect("body"))
        }
    };
    for _ in 0..5 {
        assert_eq!(sign_in("admin", "wrong").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, retry, html) = sign_in("admin", "admin-pass").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "throttled even with the right password");
    assert!(retry && html.contains("Слишком много неудачных попыток входа"), "{html}");
    assert_eq!(sign_in("spec", "spec-pass").await.0, StatusCode::SEE_OTHER, "another login signs in");
    env.sandbox.shutdown().await;
}

/// A request body that sends `head`, then nothing until released, then `tail`.
struct HeldBody {
    head: Option<bytes::Bytes>,
    release: Option<tokio::sync::oneshot::Receiver<()>>,
    tail: Option<bytes::Bytes>,
}

impl http_body::Body for HeldBody {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(head))));
        }
        if let Some(rx) = self.release.as_mut() {
            match Pin::new(rx).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(_) => self.release = None,
            }
        }
        Poll::Ready(self.tail.take().map(|t| Ok(http_body::Frame::data(t))))
    }
}

const BOUNDARY: &str = "plangraf-test-boundary";

fn text_part(name: &str, value: &str) -> String {
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
}

fn file_head() -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"plan.xml\"\r\nContent-Type: text/xml\r\n\r\n"
    )
}

/// Sends `head` and holds the rest of the body until the answer came (or 60 s passed, which
/// means the sandbox waited for the body).
async fn held_upload(env: &Env, head: String) -> (StatusCode, String) {
    let (release, rx) = tokio::sync::oneshot::channel();
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let body = HeldBody { head: Some(head.into()), release: Some(rx), tail: Some(tail.into()) };
    let req = browser(&env.sandbox)
        .post(format!("{}{UPLOAD_URL}", env.sandbox.base_url))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(reqwest::Body::wrap(body))
        .send();
    let resp = tokio::time::timeout(Duration::from_secs(60), req)
        .await
        .expect("the sandbox answered only after the whole body (or not at all)")
        .expect("upload request");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let _ = release.send(());
    (status, text)
}

#[tokio::test]
async fn wrong_credentials_are_refused_before_the_packet_is_read() {
    let env = start(Duration::ZERO).await;
    let spec = creds(&env, "spec").await;
    // 2 MiB of the packet is sent; the rest never comes until the answer is in.
    let big = "<!-- padding -->".repeat(2 * 1024 * 1024 / 16);
    let head = format!("{}{}{}{big}", text_part("login", &spec.login), text_part("password", "wrong"), file_head());
    let (status, body) = held_upload(&env, head).await;
    assert_eq!((status, code_of("401", &body)), (StatusCode::UNAUTHORIZED, 1001));

    // A packet before the credentials is refused unread, with a reason.
    let head = format!("{}{big}", file_head());
    let (status, body) = held_upload(&env, head).await;
    assert_eq!((status, code_of("400", &body)), (StatusCode::BAD_REQUEST, 1004));
    assert!(
        read_error_info(&body).expect("errorInfo").message.contains("должны предшествовать полю document"),
        "{body}"
    );

    // plangraf's client sends the credentials first: its uploads are read and taken.
    let c = send_and_wait(&env, &spec, &write_plan_packet(&packet())).await;
    assert_eq!(c.result, ConfirmationResult::Success);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_database_and_the_key_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    send_and_wait(&env, &creds, &write_plan_packet(&packet())).await;
    let mode = |name: &str| {
        let meta = std::fs::metadata(env.dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        meta.permissions().mode() & 0o777
    };
    for name in ["sandbox.sqlite", "sandbox.sqlite-wal", "sandbox.sqlite-shm", "sandbox-key.pem"] {
        assert_eq!(mode(name), 0o600, "{name}");
    }
    let Env { sandbox, dir, .. } = env;
    sandbox.shutdown().await;

    // A database left readable by others is tightened at the next start.
    let db = dir.path().join("sandbox.sqlite");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let again = sandbox::start(config(dir.path(), Duration::ZERO)).await.expect("restart");
    assert_eq!(std::fs::metadata(&db).expect("db").permissions().mode() & 0o777, 0o600);
    again.shutdown().await;
}

#[tokio::test]
async fn refusals_are_russian() {
    let env = start(Duration::ZERO).await;
    let http = browser(&env.sandbox);
    let base = env.sandbox.base_url.clone();

    // The exchange: a form of the wrong type, an unknown address.
    let resp = http
        .post(format!("{base}{STATUS_URL}"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body = resp.text().await.expect("body");
    assert_eq!(code_of("415", &body), 1004);
    assert!(has_cyrillic(&read_error_info(&body).expect("errorInfo").message), "{body}");
    let resp = http.post(format!("{base}{UPLOAD_URL}")).body("not multipart").send().await.expect("POST");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code_of("400", &resp.text().await.expect("body")), 1004);
    let resp = http.post(format!("{base}/44fz/integration/nothing")).send().await.expect("POST");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(code_of("404", &resp.text().await.expect("body")), 1004);

    // The cabinet: a form without its CSRF token, an oversized form, a bad path.
    let resp = http
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[("login", "admin"), ("password", "admin-pass")])
        .send()
        .await
        .expect("sign in");
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_owned();
    let resp =
        http.post(format!("{base}/logout")).header("cookie", &cookie).form(&[("x", "1")]).send().await.expect("POST");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.expect("body").contains("Запрос отклонен"));
    let huge = "я".repeat(3 * 1024 * 1024);
    let resp = http
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[("login", huge.as_str()), ("password", "x")])
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(resp.text().await.expect("body").contains("Запрос слишком велик"));
    let resp = http
        .get(format!("{base}/cabinet/admin/users/abc/registration"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.text().await.expect("body").contains("Страница не найдена"));
    env.sandbox.shutdown().await;
}

/// More than 64 MiB: 413 with a Russian errorInfo, not axum's text.
#[tokio::test]
async fn an_oversized_upload_is_refused_in_russian() {
    let env = start(Duration::ZERO).await;
    let spec = creds(&env, "spec").await;
    let big = "x".repeat(65 * 1024 * 1024);
    let form = reqwest::multipart::Form::new()
        .text("login", spec.login.clone())
        .text("password", spec.password.expose().to_owned())
        .text("document", big);
    let resp = browser(&env.sandbox).post(format!("{}{UPLOAD_URL}", env.sandbox.base_url)).multipart(form).send().await;
    // The sandbox may close the connection before the client finished sending: then the log
    // tells what it answered.
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body = resp.text().await.expect("body");
        assert_eq!(code_of("413", &body), 1013);
        assert!(read_error_info(&body).expect("errorInfo").message.contains("64 МиБ"), "{body}");
    }
    let Env { sandbox, dir, .. } = env;
    sandbox.shutdown().await;
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("sandbox.sqlite").display()))
        .await
        .expect("db");
    let replies: Vec<(i64, String)> =
        sqlx::query_as("SELECT http_status, reply FROM exchange_log").fetch_all(&db).await.expect("log");
    db.close().await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].0, 413);
    assert_eq!(code_of("413", &replies[0].1), 1013);
}

/// Every answer carries an `X-Request-Id`: the caller's when it is sane, otherwise a fresh one;
/// on the cabinet, on the integration endpoints, on an injected fault and on an unknown address.
#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_sane_incoming_one_is_echoed() {
    let env = start(Duration::ZERO).await;
    let http = browser(&env.sandbox);
    let base = &env.sandbox.base_url;
    let id_of = |r: &reqwest::Response| {
        r.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned).unwrap_or_default()
    };
    let fresh = |id: &str| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());

    let r = http.get(format!("{base}/")).send().await.expect("cabinet");
    assert!(fresh(&id_of(&r)), "{:?}", r.headers());
    let r = http.get(format!("{base}/")).header("X-Request-Id", "plangraf:42/7").send().await.expect("cabinet");
    assert_eq!(id_of(&r), "plangraf:42/7");
    for bad in ["x".repeat(65), "a b".to_owned()] {
        let r = http.get(format!("{base}/")).header("X-Request-Id", bad.as_str()).send().await.expect("cabinet");
        assert!(fresh(&id_of(&r)), "{bad:?} replaced: {:?}", r.headers());
    }
    let r = http.get(format!("{base}/no/such/page")).header("X-Request-Id", "lost-1").send().await.expect("404");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(id_of(&r), "lost-1");

    // The integration endpoints: an ordinary answer and an injected 503.
    let form = [("login", "spec"), ("password", "wrong"), ("refId", "00000000-0000-4000-8000-000000000000")];
    let r = http.post(format!("{base}{STATUS_URL}")).header("X-Request-Id", "poll-1").form(&form).send().await;
    let r = r.expect("status");
    assert_eq!(id_of(&r), "poll-1", "{}", r.status());
    env.sandbox.set_faults(sandbox::Faults { fail_next: 1, ..Default::default() });
    let r = http.post(format!("{base}{STATUS_URL}")).header("X-Request-Id", "poll-2").form(&form).send().await;
    let r = r.expect("status");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(id_of(&r), "poll-2");
    env.sandbox.shutdown().await;
}
