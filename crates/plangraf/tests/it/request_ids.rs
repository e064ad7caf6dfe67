//! Request ids over real HTTP: every response has `X-Request-Id`, a sane incoming id is echoed,
//! another is replaced, and the log lines written while a request is handled carry its id and
//! its path without the query string.
//!
//! The log is that of the real binary (`plangraf demo` as a child process): a subscriber set
//! inside this test process would share tracing's process-wide callsite cache with every other
//! test running at the same time, and could miss lines.

use crate::demo_process::{Demo, strip_ansi};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Reply {
    status: u16,
    request_id: Option<String>,
}

/// One HTTP/1.1 request on its own connection; `extra` are header lines.
async fn call(addr: std::net::SocketAddr, method: &str, target: &str, extra: &[String], body: &str) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in extra {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, _) = text.split_once("\r\n\r\n").expect("a complete response head");
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("a status line");
    let ids: Vec<String> = lines
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("x-request-id"))
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    assert!(ids.len() <= 1, "one X-Request-Id at most: {ids:?}");
    Reply { status, request_id: ids.into_iter().next() }
}

fn generated(id: &Option<String>) -> bool {
    id.as_deref().is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_log_lines_carry_it_too() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = store::testing::fresh_database_url(dir.path()).await.unwrap();
    let mut demo = Demo::start(dir.path(), &database_url, "info,sqlx=warn", &[]);
    let (app, _) = demo.addresses();
    let addr: std::net::SocketAddr =
        app.strip_prefix("http://").expect("plangraf listens on http").parse().expect("an address");

    // None given: a new one, on a page, on a 404 and on a refused request alike.
    let page = call(addr, "GET", "/login", &[], "").await;
    assert_eq!(page.status, 200);
    assert!(generated(&page.request_id), "{:?}", page.request_id);
    let missing = call(addr, "GET", "/no-such-page", &[], "").await;
    assert_eq!(missing.status, 404);
    assert!(generated(&missing.request_id), "{:?}", missing.request_id);
    assert_ne!(page.request_id, missing.request_id, "each request its own");
    let cross = call(addr, "POST", "/login", &["Origin: http://evil.example".into()], "").await;
    assert!(cross.status >= 400, "{}", cross.status);
    assert!(generated(&cross.request_id), "{:?}", cross.request_id);

    // A sane id is echoed: up to 64 visible ASCII characters.
    for sane in ["abc-DEF_123.4", "trace:7/42=ok", &"x".repeat(64)] {
        let r = call(addr, "GET", "/login", &[format!("X-Request-Id: {sane}")], "").await;
        assert_eq!(r.request_id.as_deref(), Some(sane));
    }
    // Anything else is replaced.
    for insane in ["has space".to_owned(), "x".repeat(65), "a\tb".to_owned()] {
        let r = call(addr, "GET", "/login", &[format!("X-Request-Id: {insane}")], "").await;
        assert_eq!(r.status, 200);
        assert!(generated(&r.request_id), "{insane:?} → {:?}", r.request_id);
    }

    // A log line from inside the handler carries the id, the method and the path, not the query.
    let origin = format!("Origin: http://{addr}");
    let form = "login=zakazchik&password=zakazchik";
    let signed_in = call(
        addr,
        "POST",
        "/login?marker=query-secret",
        &[origin, "Content-Type: application/x-www-form-urlencoded".into(), "X-Request-Id: signin-7".into()],
        form,
    )
    .await;
    assert_eq!(signed_in.status, 303);
    assert_eq!(signed_in.request_id.as_deref(), Some("signin-7"));
    let (_, log) = demo.signal_and_wait("-TERM");
    let log = strip_ansi(&log);
    let line = log.lines().find(|l| l.contains("signed in")).unwrap_or_else(|| panic!("no sign-in line:\n{log}"));
    assert!(line.contains("request_id=signin-7"), "{line}");
    assert!(line.contains("method=POST") && line.contains("path=/login"), "{line}");
    assert!(!log.contains("query-secret"), "the query string stays out of the logs:\n{log}");
}
