//! Graceful shutdown of the real binary: `plangraf demo` (plangraf, its exchange runner and
//! eis-sandbox in one process) gets SIGTERM or SIGINT (Ctrl+C), stops accepting connections,
//! stops its runner, releases the runner's leases, stops the sandbox and exits with success.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Demo {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Demo {
    fn start(data_dir: &std::path::Path, database_url: &str) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_plangraf"))
            .args(["demo", "--listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0"])
            .env("PLANGRAF_LOG", "info,sqlx=warn")
            .env("NO_COLOR", "1")
            .env("PLANGRAF_DATA_DIR", data_dir)
            .env("PLANGRAF_DATABASE_URL", database_url)
            .env_remove("PLANGRAF_SECRET_KEY")
            .env_remove("PLANGRAF_SECRET_KEY_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        let streams: [Box<dyn Read + Send>; 2] =
            [Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())];
        for mut stream in streams {
            let output = output.clone();
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            }));
        }
        Demo { child, output, readers }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// plangraf's address (host:port), from the banner the demo prints once it is up (bounded: 60 s).
    fn address(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.text();
            let found = text
                .lines()
                .find_map(|l| l.strip_prefix("  plangraf: "))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|url| url.strip_prefix("http://"))
                .map(str::to_owned);
            if let Some(addr) = found {
                return addr;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("plangraf demo exited ({status}):\n{text}");
            }
            assert!(Instant::now() < deadline, "plangraf demo did not start within 60 s:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` and waits (bounded: 40 s, beyond both grace periods) for the exit.
    fn signal_and_wait(mut self, signal: &str) -> (std::process::ExitStatus, String) {
        let sent = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill {signal}");
        let deadline = Instant::now() + Duration::from_secs(40);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("plangraf demo did not stop within 40 s of {signal}:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        (status, self.text())
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let mut demo = Demo::start(dir.path(), &database_url);
    let addr = demo.address();
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
