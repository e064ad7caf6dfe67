//! The reference data picker (`static/picker.js`) in a real browser: typing into an input with
//! `data-nsi` lists matching records under it, ↓ and Enter choose one, the code lands in the
//! input and the name in the `data-nsi-name` element. Headless Chromium over chromedriver, as in
//! `browser.rs`; without them the test says SKIPPED and passes, unless PLANGRAF_REQUIRE_BROWSER=1.

use crate::common::Harness;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// chromedriver in its own process group; dropping it kills the group (and its Chromium).
struct Driver {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tools() -> Option<(PathBuf, PathBuf)> {
    let path = |var: &str, default: &str| PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_owned()));
    let driver = path("PLANGRAF_CHROMEDRIVER", "/usr/bin/chromedriver");
    let chromium = path("PLANGRAF_CHROMIUM", "/usr/bin/chromium");
    if driver.exists() && chromium.exists() {
        return Some((driver, chromium));
    }
    assert!(
        std::env::var("PLANGRAF_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "PLANGRAF_REQUIRE_BROWSER=1, but chromium or chromedriver is missing"
    );
    eprintln!("SKIPPED: the picker browser test needs chromium and chromium-driver");
    None
}

fn start_driver(path: &Path) -> Driver {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver { child, port, dir };
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver does not answer");
        std::thread::sleep(Duration::from_millis(50));
    }
    driver
}

async fn open(driver: &Driver, chromium: &Path) -> Client {
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--no-first-run".to_owned(),
        format!("--user-data-dir={}", driver.dir.path().join("profile").display()),
        "--window-size=1200,900".to_owned(),
    ];
    let caps = serde_json::json!({ "browserName": "chrome", "goog:chromeOptions": { "binary": chromium.display().to_string(), "args": args } });
    let serde_json::Value::Object(caps) = caps else { unreachable!() };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    tokio::time::timeout(
        WAIT,
        ClientBuilder::new(connector).capabilities(caps).connect(&format!("http://127.0.0.1:{}", driver.port)),
    )
    .await
    .expect("a WebDriver session in time")
    .expect("a WebDriver session")
}

/// Waits until `f` gives `Some`, failing with the page source after [`WAIT`].
async fn wait_for<T, F, Fut>(c: &Client, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            let source = c.source().await.unwrap_or_default();
            panic!("browser: {what} did not happen\n{source}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(c: &Client, css: &str) -> Option<String> {
    let e = c.find(Locator::Css(css)).await.ok()?;
    if !e.is_displayed().await.ok()? {
        return None;
    }
    e.text().await.ok()
}

/// The text of an element whether or not it takes space (an empty one does not).
async fn raw_text(c: &Client, css: &str) -> Option<String> {
    c.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_picker_lists_and_chooses_records_from_the_keyboard() {
    let Some((driver_path, chromium)) = tools() else { return };
    let h = Harness::start().await;
    let app = h.app.url();
    let driver = start_driver(&driver_path);
    let c = open(&driver, &chromium).await;

    c.goto(&format!("{app}/login")).await.unwrap();
    c.find(Locator::Css("#login")).await.unwrap().send_keys("admin").await.unwrap();
    c.find(Locator::Css("#password")).await.unwrap().send_keys("admin").await.unwrap();
    c.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for(&c, "sign-in", || async { c.current_url().await.ok().filter(|u| u.path() == "/plans") }).await;
    c.goto(&format!("{app}/reference")).await.unwrap();

    let input = c.find(Locator::Css("#okpd2-try")).await.unwrap();
    input.send_keys("канцелярские").await.unwrap();
    let listed = wait_for(&c, "the list of matches", || async {
        text_of(&c, "ul.nsi-list li[role=option]").await.filter(|t| t.contains("17.23.1"))
    })
    .await;
    assert!(listed.contains("Принадлежности канцелярские бумажные"), "{listed}");
    assert_eq!(input.attr("aria-expanded").await.unwrap().as_deref(), Some("true"));
    let shot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&shot).unwrap();
    if let Ok(png) = c.screenshot().await {
        std::fs::write(shot.join("picker.png"), png).unwrap();
    }

    // ↓ highlights the first record, Enter chooses it without submitting anything.
    input.send_keys(&Key::Down.to_string()).await.unwrap();
    let active = input.attr("aria-activedescendant").await.unwrap().expect("an active option");
    assert!(active.starts_with("nsi-list-"), "{active}");
    input.send_keys(&Key::Enter.to_string()).await.unwrap();
    let name =
        wait_for(&c, "the chosen name", || async { raw_text(&c, "#okpd2-try-name").await.filter(|t| !t.is_empty()) })
            .await;
    assert_eq!(name, "Принадлежности канцелярские бумажные");
    assert_eq!(input.prop("value").await.unwrap().as_deref(), Some("17.23.1"));
    assert_eq!(input.attr("aria-expanded").await.unwrap().as_deref(), Some("false"));
    assert!(c.current_url().await.unwrap().path().ends_with("/reference"));

    // Typing by hand clears the name; Escape closes the list.
    input.send_keys("9").await.unwrap();
    wait_for(&c, "the name cleared", || async { raw_text(&c, "#okpd2-try-name").await.filter(|t| t.is_empty()) }).await;
    wait_for(&c, "the «nothing found» line", || async {
        text_of(&c, "ul.nsi-list li.nsi-empty").await.filter(|t| t == "Ничего не найдено")
    })
    .await;
    input.send_keys(&Key::Escape.to_string()).await.unwrap();
    wait_for(&c, "the list closed", || async {
        input.attr("aria-expanded").await.ok().flatten().filter(|v| v == "false")
    })
    .await;

    let _ = c.close().await;
    drop(driver);
    h.app.stop().await;
}
