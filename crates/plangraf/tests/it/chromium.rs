//! The browser harness every browser test stands on: Debian's headless Chromium (flags as the
//! engineering guide sets them, a fresh profile), driven over WebDriver by chromedriver on a free
//! loopback port, next to plangraf and eis-sandbox in-process ([`Scene`]). Waits are bounded by
//! [`WAIT`] and a failure shows what the browser shows: URL, page source, a screenshot in
//! `target/browser-screenshots/`.
//!
//! Needs `chromium` and `chromium-driver` (`/usr/bin/chromium`, `/usr/bin/chromedriver`; other
//! paths in PLANGRAF_CHROMIUM, PLANGRAF_CHROMEDRIVER). Without them [`browser_tools`] says
//! SKIPPED and the test passes, unless PLANGRAF_REQUIRE_BROWSER=1.

use crate::common::Harness;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any one wait may take: a page, an element, a status.
pub const WAIT: Duration = Duration::from_secs(30);

/// Browser tests take turns: each starts its own Chromium, and two at once on a small machine
/// would only stretch each other's waits.
pub static ONE_BROWSER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What one browser test stands on: the harness, chromedriver and a browser, its turn taken.
pub struct Scene {
    pub h: Harness,
    pub app: String,
    pub eis: String,
    pub b: Browser,
    pub driver: Chromedriver,
    pub started: Instant,
    pub _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Scene {
    /// `None` (after a loud SKIPPED) without Chromium.
    pub async fn start(name: &'static str) -> Option<Scene> {
        let tools = browser_tools()?;
        let turn = ONE_BROWSER_AT_A_TIME.lock().await;
        let started = Instant::now();
        let h = Harness::start().await;
        let driver = Chromedriver::start(&tools.chromedriver);
        let b = Browser::open(&driver, &tools.chromium, name).await;
        Some(Scene { app: h.app.url(), eis: h.sandbox.base_url.clone(), h, b, driver, started, _turn: turn })
    }

    pub async fn finish(self) {
        let Scene { h, b, driver, started, .. } = self;
        let name = b.name;
        b.close().await;
        drop(driver);
        h.app.stop().await;
        eprintln!("browser: {name} took {:.1} s", started.elapsed().as_secs_f64());
    }
}

pub struct BrowserTools {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

/// The paths of chromedriver and chromium, or `None` (and a loud SKIPPED) when they are missing.
pub fn browser_tools() -> Option<BrowserTools> {
    let path = |var: &str, default: &str| PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_owned()));
    let tools = BrowserTools {
        chromedriver: path("PLANGRAF_CHROMEDRIVER", "/usr/bin/chromedriver"),
        chromium: path("PLANGRAF_CHROMIUM", "/usr/bin/chromium"),
    };
    let missing: Vec<String> = [&tools.chromedriver, &tools.chromium]
        .into_iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return Some(tools);
    }
    let why = format!("missing {}", missing.join(", "));
    if std::env::var("PLANGRAF_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("PLANGRAF_REQUIRE_BROWSER=1, but browser tests need chromium and chromium-driver: {why}");
    }
    // Straight to the process's stderr: the test harness captures eprintln! of passing tests.
    use std::io::Write;
    let line = "*".repeat(78);
    let _ = writeln!(
        std::io::stderr(),
        "\n{line}\nSKIPPED: browser tests need chromium and chromium-driver ({why})\n         \
         apt-get install -y chromium chromium-driver; PLANGRAF_REQUIRE_BROWSER=1 makes this a failure\n{line}\n"
    );
    None
}

/// chromedriver on a free loopback port, in its own process group: dropping it kills the group
/// (chromedriver and the Chromium it started), also when the test panics.
pub struct Chromedriver {
    pub child: Child,
    pub port: u16,
    /// Chromium's profile and chromedriver's log; removed after the processes are gone.
    pub dir: tempfile::TempDir,
}

impl Chromedriver {
    pub fn start(path: &Path) -> Chromedriver {
        use std::os::unix::process::CommandExt;
        // A free port: bind port 0, note it, let it go, hand it to chromedriver. Another process
        // may take it in between, so a chromedriver that exits at once is started again.
        for attempt in 1..=3 {
            let dir = tempfile::tempdir().unwrap();
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let log = dir.path().join("chromedriver.log");
            let child = Command::new(path)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
            let mut driver = Chromedriver { child, port, dir };
            let deadline = Instant::now() + WAIT;
            loop {
                if let Ok(Some(status)) = driver.child.try_wait() {
                    assert!(attempt < 3, "chromedriver exited at start ({status}); its log:\n{}", driver.log());
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return driver;
                }
                assert!(
                    Instant::now() < deadline,
                    "chromedriver does not answer on port {port}; its log:\n{}",
                    driver.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        unreachable!()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default()
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group id is chromedriver's pid (process_group(0)); Chromium inherits the group.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session in headless Chromium, with bounded waits that fail loudly.
pub struct Browser {
    pub c: Client,
    pub shots: PathBuf,
    pub name: &'static str,
}

impl Browser {
    /// `name` tells this test's failure picture from the others'.
    pub async fn open(driver: &Chromedriver, chromium: &Path, name: &'static str) -> Browser {
        let profile = driver.dir.path().join("profile");
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            // eis-sandbox's certificate is self-signed.
            "--ignore-certificate-errors".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            "--window-size=1400,1000".to_owned(),
        ];
        let caps = serde_json::json!({
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": { "binary": chromium.display().to_string(), "args": args },
        });
        let serde_json::Value::Object(caps) = caps else { unreachable!() };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let c = tokio::time::timeout(WAIT, ClientBuilder::new(connector).capabilities(caps).connect(&driver.url()))
            .await
            .unwrap_or_else(|_| panic!("no WebDriver session within {WAIT:?}; chromedriver's log:\n{}", driver.log()))
            .unwrap_or_else(|e| panic!("no WebDriver session: {e}; chromedriver's log:\n{}", driver.log()));
        let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
        std::fs::create_dir_all(&target).unwrap();
        let shots = target.canonicalize().unwrap().join("browser-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        // A failure picture of an earlier run would mislead.
        let _ = std::fs::remove_file(shots.join(format!("FAILED-{name}.png")));
        Browser { c, shots, name }
    }

    pub async fn close(self) {
        let _ = self.c.close().await;
    }

    /// Fails the test with what the browser shows: URL, visible text, page source, a screenshot.
    pub async fn fail<T>(&self, what: &str) -> T {
        let url = self.c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        let source = self.c.source().await.unwrap_or_else(|e| format!("(no page source: {e})"));
        let shot = format!("FAILED-{}", self.name);
        self.screenshot(&shot).await;
        panic!(
            "browser: {what}\n--- URL: {url}\n--- page source ---\n{source}\n--- end of page source (screenshot: {}) ---",
            self.shots.join(format!("{shot}.png")).display()
        );
    }

    pub async fn screenshot(&self, name: &str) {
        match self.c.screenshot().await {
            Ok(png) => {
                let path = self.shots.join(format!("{name}.png"));
                std::fs::write(&path, png).unwrap();
                eprintln!("browser: screenshot {}", path.display());
            }
            Err(e) => eprintln!("browser: no screenshot {name}: {e}"),
        }
    }

    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.c.goto(url).await {
            self.fail::<()>(&format!("cannot open {url}: {e}")).await;
        }
    }

    /// Waits until the element is there and visible.
    pub async fn find(&self, locator: Locator<'_>, what: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(e) = self.c.find(locator).await
                && e.is_displayed().await.unwrap_or(false)
            {
                return e;
            }
            if Instant::now() > deadline {
                return self.fail(&format!("{what} is not shown within {WAIT:?} ({locator:?})")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element once it is shown. A refused click (the page was still being replaced,
    /// something covered the element) did not happen, so it is tried again until the deadline.
    pub async fn click(&self, locator: Locator<'_>, what: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let e = self.find(locator, what).await;
            match e.click().await {
                Ok(()) => return,
                Err(err) if Instant::now() > deadline => {
                    return self.fail(&format!("cannot click {what}: {err}")).await;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub async fn click_link(&self, text: &str) {
        self.click(Locator::LinkText(text), &format!("the link «{text}»")).await;
    }

    /// Presses the button with this text.
    pub async fn press(&self, text: &str) {
        let xpath = format!("//button[normalize-space()='{text}']");
        self.click(Locator::XPath(&xpath), &format!("the button «{text}»")).await;
    }

    /// Opens a drop-down menu by its `<summary>`.
    pub async fn open_menu(&self, text: &str) {
        let xpath = format!("//summary[starts-with(normalize-space(), '{text}')]");
        self.click(Locator::XPath(&xpath), &format!("the menu «{text}»")).await;
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.find(Locator::Css(css), &format!("the field {css}")).await;
        let typed = async {
            e.clear().await?;
            e.send_keys(value).await?;
            e.prop("value").await
        }
        .await;
        match typed {
            Ok(Some(v)) if v == value => {}
            other => self.fail::<()>(&format!("typing {value:?} into {css} gave {other:?}")).await,
        }
    }

    pub async fn select_value(&self, css: &str, value: &str) {
        let e = self.find(Locator::Css(css), &format!("the list {css}")).await;
        if let Err(err) = e.select_by_value(value).await {
            self.fail::<()>(&format!("cannot choose {value} in {css}: {err}")).await;
        }
    }

    pub async fn tick(&self, css: &str) {
        let e = self.find(Locator::Css(css), &format!("the check box {css}")).await;
        if !e.is_selected().await.unwrap_or(false) {
            let _ = e.click().await;
        }
        if !e.is_selected().await.unwrap_or(false) {
            self.fail::<()>(&format!("the check box {css} is not ticked")).await;
        }
    }

    /// The text a person sees in an element; no-break spaces read as spaces.
    pub async fn visible_text_of(&self, locator: Locator<'_>, what: &str) -> String {
        let e = self.find(locator, what).await;
        match e.text().await {
            Ok(t) => normalize(&t),
            Err(err) => self.fail(&format!("cannot read {what}: {err}")).await,
        }
    }

    pub async fn body_text(&self) -> String {
        match self.c.find(Locator::Css("body")).await {
            Ok(body) => normalize(&body.text().await.unwrap_or_default()),
            Err(_) => String::new(),
        }
    }

    /// Waits until `f` gives `Some` (bounded), failing with what the browser shows.
    pub async fn wait_until<T, F, Fut>(&self, what: &str, mut f: F) -> T
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
                return self.fail(&format!("{what} did not happen within {WAIT:?}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page shows the text (bounded).
    pub async fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.body_text().await.contains(text) {
            if Instant::now() > deadline {
                return self.fail(&format!("the page does not show «{text}» within {WAIT:?}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_for_heading(&self, text: &str) {
        let xpath = format!("//h1[starts-with(normalize-space(), '{text}')]");
        self.find(Locator::XPath(&xpath), &format!("the heading «{text}»")).await;
    }

    /// Waits until the element shows the text (bounded); the page may reload meanwhile.
    pub async fn wait_for_element_text(&self, locator: Locator<'_>, text: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(e) = self.c.find(locator).await
                && let Ok(t) = e.text().await
                && normalize(&t).contains(text)
            {
                return;
            }
            if Instant::now() > deadline {
                return self.fail(&format!("{locator:?} does not show «{text}» within {WAIT:?}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element shows exactly `text` (bounded; the page may reload meanwhile).
    pub async fn expect_text(&self, locator: Locator<'_>, text: &str) {
        let deadline = Instant::now() + WAIT;
        let mut shown = String::new();
        loop {
            if let Ok(e) = self.c.find(locator).await
                && let Ok(t) = e.text().await
            {
                shown = normalize(&t).trim().to_owned();
                if shown == text {
                    return;
                }
            }
            if Instant::now() > deadline {
                return self
                    .fail(&format!("{locator:?} does not show exactly «{text}» within {WAIT:?}; shows «{shown}»"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the field holds exactly `value`.
    pub async fn expect_value(&self, css: &str, value: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let e = self.find(Locator::Css(css), &format!("the field {css}")).await;
            let v = e.prop("value").await.ok().flatten().unwrap_or_default();
            if v == value {
                return;
            }
            if Instant::now() > deadline {
                return self.fail(&format!("the field {css} holds {v:?}, not {value:?}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Presses one key in the field, as a person at the keyboard does.
    pub async fn keys(&self, css: &str, key: &str) {
        let e = self.find(Locator::Css(css), &format!("the field {css}")).await;
        if let Err(err) = e.send_keys(key).await {
            self.fail::<()>(&format!("cannot press a key in {css}: {err}")).await;
        }
    }

    /// Presses the button with this text inside the form with this id (a page may have several
    /// «Сохранить»).
    pub async fn press_in(&self, form: &str, text: &str) {
        let xpath = format!("//form[@id='{form}']//button[normalize-space()='{text}']");
        self.click(Locator::XPath(&xpath), &format!("the button «{text}» of the form {form}")).await;
    }

    /// Fails unless the element with this id is the page's `:target` (where a link with a
    /// fragment has led).
    pub async fn expect_target(&self, id: &str) {
        let target =
            self.c.execute("const t = document.querySelector(':target'); return t ? t.id : null;", vec![]).await;
        self.ensure(matches!(&target, Ok(serde_json::Value::String(t)) if t == id), || {
            format!("the element #{id} should be the page's target, is {target:?}")
        })
        .await;
    }

    /// Moves to the tab a link with `target="_blank"` has just opened.
    pub async fn switch_to_new_tab(&self) {
        let deadline = Instant::now() + WAIT;
        let current = self.c.window().await.ok();
        loop {
            let windows = self.c.windows().await.unwrap_or_default();
            if let Some(w) = windows.into_iter().find(|w| Some(w) != current.as_ref()) {
                if let Err(e) = self.c.switch_to_window(w).await {
                    self.fail::<()>(&format!("cannot switch to the new tab: {e}")).await;
                }
                return;
            }
            if Instant::now() > deadline {
                return self.fail(&format!("no new tab opened within {WAIT:?}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// At a 1366×768 window (a common office laptop): every element the XPath selects (at least
    /// `at_least` of them) lies inside the window once the page itself is scrolled up or down to
    /// it (never an inner box, which would hide the very clipping looked for), is what the
    /// browser finds at its centre and corners (nothing covers or clips it) and shows its whole
    /// text.
    /// A picture of the window so checked goes to `shot`.
    pub async fn expect_unclipped_at_1366(&self, xpath: &str, at_least: usize, what: &str, shot: &str) {
        const SCRIPT: &str = r#"
            const found = document.evaluate(arguments[0], document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
            const root = document.documentElement;
            const problems = [];
            for (let i = 0; i < found.snapshotLength; i++) {
                const el = found.snapshotItem(i);
                let b = el.getBoundingClientRect();
                if (b.top < 0 || b.bottom > root.clientHeight) {
                    window.scrollBy(0, b.top - root.clientHeight / 2);
                    b = el.getBoundingClientRect();
                }
                const name = '«' + el.textContent.trim() + '»';
                const box = [b.left, b.top, b.right, b.bottom].map(Math.round).join(', ');
                if (b.width === 0 || b.left < 0 || b.top < 0 || b.right > root.clientWidth || b.bottom > root.clientHeight) {
                    problems.push(name + ' lies outside the window: box ' + box + ' in ' + root.clientWidth + '×' + root.clientHeight);
                }
                const points = [['centre', b.left + b.width / 2, b.top + b.height / 2], ['top left corner', b.left + 2, b.top + 2],
                    ['top right corner', b.right - 2, b.top + 2], ['bottom left corner', b.left + 2, b.bottom - 2],
                    ['bottom right corner', b.right - 2, b.bottom - 2]];
                for (const [where, x, y] of points) {
                    const hit = document.elementFromPoint(x, y);
                    if (!hit || !(hit === el || el.contains(hit))) {
                        problems.push(name + ' (box ' + box + ') is hidden at its ' + where + ' by ' + (hit ? hit.outerHTML.slice(0, 100) : 'nothing'));
                    }
                }
                if (el.scrollWidth > el.clientWidth) {
                    problems.push(name + ' shows only part of its text: ' + el.scrollWidth + ' px of it in ' + el.clientWidth + ' px');
                }
            }
            return { count: found.snapshotLength, problems: problems };
        "#;
        if let Err(e) = self.c.set_window_size(1366, 768).await {
            self.fail::<()>(&format!("cannot resize the window to 1366×768: {e}")).await;
        }
        let checked = self.c.execute(SCRIPT, vec![serde_json::Value::String(xpath.to_owned())]).await;
        let count = checked.as_ref().ok().and_then(|v| v["count"].as_u64()).unwrap_or(0) as usize;
        let problems: Vec<String> = match &checked {
            Ok(v) => {
                v["problems"].as_array().into_iter().flatten().filter_map(|p| p.as_str().map(str::to_owned)).collect()
            }
            Err(e) => vec![format!("the check did not run: {e}")],
        };
        if count < at_least || !problems.is_empty() {
            self.screenshot(&format!("clipped-{}", self.name)).await;
            self.fail::<()>(&format!(
                "at 1366×768, {what}: {count} found ({at_least} expected at least); {problems:#?}"
            ))
            .await;
        }
        self.screenshot(shot).await;
        let _ = self.c.set_window_size(1400, 1000).await;
    }

    /// Fails with `what` unless `ok`.
    pub async fn ensure(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail::<()>(&what()).await;
        }
    }

    /// The visible text of the `n`-th cell (from 1) of the row the XPath selects.
    pub async fn cell(&self, row: &str, n: usize) -> String {
        let xpath = format!("{row}/td[{n}]");
        self.visible_text_of(Locator::XPath(&xpath), &format!("cell {n} of {row}")).await.trim().to_owned()
    }

    /// Waits until that cell shows exactly `text` (bounded; the page may reload meanwhile).
    pub async fn expect_cell(&self, row: &str, n: usize, text: &str) {
        let deadline = Instant::now() + WAIT;
        let xpath = format!("{row}/td[{n}]");
        loop {
            if let Ok(e) = self.c.find(Locator::XPath(&xpath)).await
                && let Ok(t) = e.text().await
                && normalize(&t).trim() == text
            {
                return;
            }
            if Instant::now() > deadline {
                return self.fail(&format!("cell {n} of {row} does not show «{text}» within {WAIT:?}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The visible text of every cell of the rows the XPath selects, row by row.
    pub async fn table_rows(&self, rows: &str) -> Vec<Vec<String>> {
        let found = match self.c.find_all(Locator::XPath(rows)).await {
            Ok(found) => found,
            Err(e) => return self.fail(&format!("cannot read the rows {rows}: {e}")).await,
        };
        let mut out = Vec::new();
        for row in found {
            let mut cells = Vec::new();
            for cell in row.find_all(Locator::Css("td")).await.unwrap_or_default() {
                cells.push(normalize(&cell.text().await.unwrap_or_default()).trim().to_owned());
            }
            out.push(cells);
        }
        out
    }
}

pub fn normalize(text: &str) -> String {
    text.replace(['\u{a0}', '\u{202f}'], " ")
}
