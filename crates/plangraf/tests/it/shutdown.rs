//! Graceful shutdown of the real binary: `plangraf demo` (plangraf, its exchange runner and
//! eis-sandbox in one process) gets SIGTERM or SIGINT (Ctrl+C), stops accepting connections,
//! stops its runner, releases the runner's leases, stops the sandbox and exits with success.

use crate::demo_process::Demo;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A plain HTTP/1.1 GET; returns the status line.
fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply.lines().next().unwrap_or_default().to_owned()
}

async fn stops_on(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = store::testing::fresh_database_url(dir.path()).await.unwrap();
    let mut demo = Demo::start(dir.path(), &database_url, "info,sqlx=warn", &[]);
    let (app, _) = demo.addresses();
    let addr = app.strip_prefix("http://").expect("plangraf listens on http").to_owned();
    assert_eq!(get(&addr, "/login"), "HTTP/1.1 200 OK");
    // A connection that is open but idle (as browsers keep them) must not hold the shutdown up.
    let idle = TcpStream::connect(&addr).unwrap();

    let (status, log) = demo.signal_and_wait(signal);
    assert!(status.success(), "exit status {status} after {signal}:\n{log}");
    let position = |line: &str| log.find(line).unwrap_or_else(|| panic!("no «{line}» in the log:\n{log}"));
    let began = position("shutting down: no new connections");
    let server = position("web server stopped");
    let runner = position("exchange runner stopped released=");
    let stopped = position("plangraf stopped");
    let sandbox = position("eis-sandbox stopped");
    assert!(began < server && began < runner, "{log}");
    assert!(server < stopped && runner < stopped && stopped < sandbox, "{log}");
    assert!(!log.contains("cut off") && !log.contains("did not stop in time"), "{log}");
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_demo_gracefully() {
    stops_on("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_demo_gracefully() {
    stops_on("-INT").await;
}
