//! `plangraf demo` as a child process on loopback ports of its choosing, everything it writes
//! collected: for the tests that need the real binary (logs, signals).

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a stream of the child wrote, collected by a reader thread.
type Buffer = Arc<Mutex<Vec<u8>>>;

pub struct Demo {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    /// What it wrote to standard error alone.
    errors: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Demo {
    /// Starts the demo on a fresh data directory and database, logging at `log` (a
    /// `PLANGRAF_LOG` filter), with `extra` arguments after the listen addresses.
    pub fn start(data_dir: &std::path::Path, database_url: &str, log: &str, extra: &[&str]) -> Demo {
        Demo::start_with_env(data_dir, database_url, log, extra, &[])
    }

    /// Like [`Demo::start`], with `env` added to the environment.
    pub fn start_with_env(
        data_dir: &std::path::Path,
        database_url: &str,
        log: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_plangraf"))
            .args(["demo", "--listen", "127.0.0.1:0", "--sandbox-listen", "127.0.0.1:0"])
            .args(extra)
            .env("PLANGRAF_LOG", log)
            .env("NO_COLOR", "1")
            .env("PLANGRAF_DATA_DIR", data_dir)
            .env("PLANGRAF_DATABASE_URL", database_url)
            .env_remove("PLANGRAF_SECRET_KEY")
            .env_remove("PLANGRAF_SECRET_KEY_FILE")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let streams: [(Box<dyn Read + Send>, Option<Buffer>); 2] = [
            (Box::new(child.stdout.take().unwrap()), None),
            (Box::new(child.stderr.take().unwrap()), Some(errors.clone())),
        ];
        let readers = streams
            .into_iter()
            .map(|(mut stream, alone)| {
                let output = output.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        output.lock().unwrap().extend_from_slice(&buf[..n]);
                        if let Some(alone) = &alone {
                            alone.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                    }
                })
            })
            .collect();
        Demo { child, output, errors, readers }
    }

    /// What the demo has written to standard error alone; complete once it has exited.
    pub fn stderr(&self) -> Arc<Mutex<Vec<u8>>> {
        self.errors.clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// plangraf's and the cabinet's addresses, from the banner the demo prints once it is up
    /// (bounded: 60 s).
    pub fn addresses(&mut self) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.text();
            let address = |label: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(label))
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned)
            };
            if let (Some(app), Some(eis)) = (address("  plangraf: "), address("  eis-sandbox: ")) {
                return (app, eis);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("plangraf demo exited ({status}):\n{text}");
            }
            assert!(Instant::now() < deadline, "plangraf demo did not start within 60 s:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` (`-TERM`, `-INT`) and waits (bounded: 40 s, beyond the grace periods) for
    /// the exit; answers the exit status and everything the demo wrote.
    pub fn signal_and_wait(mut self, signal: &str) -> (ExitStatus, String) {
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

/// The text without terminal colour sequences (`ESC [ … letter`), which the log has.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Up to and including the final letter of the sequence.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
