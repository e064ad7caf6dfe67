//! The seed scenarios in a real browser: Debian's headless Chromium, driven over WebDriver
//! (chromedriver, started by this test on a free loopback port) through the eis-sandbox cabinet
//! (HTTPS, self-signed) and plangraf (HTTP), both in-process. Every assertion is on what a
//! person sees: visible text, the values in the fields.
//!
//! Seed 000: the administrator takes the login and password for the alternative integration
//! from the cabinet and the customer enters them in «Настройки» → «Регистрационные данные в
//! ЕИС»; every press of the cabinet button makes a new password. Seed 004: plan → approval →
//! «Версии документов» → «»» → «Отправить на ООС» → «Посмотреть статус отправки».
//!
//! Needs `chromium` and `chromium-driver` (`/usr/bin/chromium`, `/usr/bin/chromedriver`; other
//! paths in PLANGRAF_CHROMIUM, PLANGRAF_CHROMEDRIVER). Without them the test says SKIPPED and
//! passes, unless PLANGRAF_REQUIRE_BROWSER=1. Screenshots go to `target/browser-screenshots/`.

mod common;

use common::*;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any one wait may take: a page, an element, a status.
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scenarios_in_a_real_browser() {
    let Some(tools) = browser_tools() else { return };
    let started = Instant::now();
    let mut t = started;
    let mut lap = |step: &str| {
        eprintln!("browser: {step} — {:.1} s", t.elapsed().as_secs_f64());
        t = Instant::now();
    };
    let h = Harness::start().await;
    let app = h.app.url();
    let eis = h.sandbox.base_url.clone();
    lap("eis-sandbox and plangraf started");
    let driver = Chromedriver::start(&tools.chromedriver);
    let b = Browser::open(&driver, &tools.chromium).await;
    lap("chromedriver and headless Chromium started");

    // 1. Seed 000, in the ЕИС cabinet: «Администрирование» → «Пользователи организации» →
    //    the user's drop-down → «Регистрационные данные» → the button, pressed twice.
    b.goto(&format!("{eis}/login")).await;
    b.wait_for_text("Вход в личный кабинет").await;
    b.fill("#login", "eis_admin").await;
    b.fill("#password", "eis_admin").await;
    b.press("Войти").await;
    b.wait_for_text("Иванов Сергей Петрович").await;
    b.open_menu("Администрирование").await;
    b.click_link("Пользователи организации").await;
    b.wait_for_heading("Пользователи организации").await;
    let row = "//table//tr[td[normalize-space()='eis_user']]";
    b.click(Locator::XPath(&format!("{row}//details/summary")), "the drop-down of the user eis_user").await;
    let menu = b.visible_text_of(Locator::XPath(&format!("{row}//details/ul")), "the open drop-down of eis_user").await;
    let items = ["Регистрационные данные", "Права доступа пользователя", "Заблокировать пользователя"];
    for item in items {
        if !menu.contains(item) {
            b.fail::<()>(&format!("the drop-down of eis_user does not show «{item}»: {menu:?}")).await;
        }
    }
    b.click(Locator::XPath(&format!("{row}//a[normalize-space()='Регистрационные данные']")), "«Регистрационные данные» of eis_user").await;
    b.wait_for_heading("Регистрационные данные").await;
    b.wait_for_text("Петрова Анна Сергеевна").await;
    const BUTTON: &str = "Данные пользователя для альтернативной интеграции (по протоколу HTTPS)";
    b.press(BUTTON).await;
    b.wait_for_text("Пароль показывается один раз").await;
    let eis_login = b.field_shown("Логин").await;
    let first_password = b.field_shown("Пароль").await;
    b.screenshot("cabinet-integration-data").await;
    b.click_link("Продолжить").await;
    b.wait_for_heading("Регистрационные данные").await;
    let shown = b.field_shown("Логин для альтернативной интеграции").await;
    if eis_login.is_empty() || first_password.is_empty() || shown != eis_login {
        b.fail::<()>(&format!(
            "the integration login {eis_login:?} (and a password) should be shown; «Регистрационные данные» show {shown:?}"
        ))
        .await;
    }
    b.wait_for_text("сформирован ").await;
    b.press(BUTTON).await;
    b.wait_for_text("Пароль показывается один раз").await;
    let second_login = b.field_shown("Логин").await;
    let second_password = b.field_shown("Пароль").await;
    if second_login != eis_login || second_password.is_empty() || second_password == first_password {
        b.fail::<()>("the second press should show the same login and a new password").await;
    }
    eprintln!("browser: the cabinet shows login {eis_login}, two different passwords");
    lap("step 1, the ЕИС cabinet");

    // 2. plangraf: sign-in form, the top menu, a plan for 2026 with one position, for approval.
    b.sign_in(&app, "zakazchik", "zakazchik").await;
    b.wait_for_text("Петрова Анна Сергеевна").await;
    b.open_plans().await;
    b.wait_for_heading("Планы-графики размещения заказов").await;
    b.select_value("#plan_year", "2026").await;
    b.press("Создать план-график").await;
    b.wait_for_heading("План-график закупок на 2026 год и плановый период 2027 и 2028 годов").await;
    b.wait_for_text("В плане-графике нет позиций.").await;
    b.fill("#object_info", "Поставка учебников для 5-х классов").await;
    b.fill("#publish_year", "2026").await;
    b.fill("#okpd2", "58.11.19.000").await;
    b.fill("#kvr", "244").await;
    b.fill("#amount_current", "1 250 000,50").await;
    b.press("Добавить позицию").await;
    b.wait_for_text("Позиция добавлена").await;
    let table = b.visible_text_of(Locator::Id("positions"), "the table of positions").await;
    // ИКЗ: year 26, ИКУ 2+INN+KPP, number 0001, order 000, ОКПД2 5811, КВР 244.
    let expected = ["262780100001178010100100010005811244", "Поставка учебников для 5-х классов", "58.11.19.000", "1 250 000,50"];
    for shown in expected {
        if !table.contains(shown) {
            b.fail::<()>(&format!("the table of positions does not show «{shown}»: {table:?}")).await;
        }
    }
    b.press("Отправить на согласование").await;
    b.wait_for_element_text(Locator::Id("plan-status"), "На согласовании").await;
    lap("step 2, plan with a position, sent for approval");

    // 3. «Настройки» → «Регистрационные данные в ЕИС»: the login and the first password,
    //    which the second press of the button has already made stale.
    b.open_eis_settings().await;
    b.save_eis_credentials(&eis_login, &first_password).await;
    lap("step 3, the first (stale) password saved");

    // 4. The superior approves: version 0 appears on «Версии документов».
    b.sign_out().await;
    b.sign_in(&app, "soglasovatel", "soglasovatel").await;
    b.wait_for_text("Смирнов Олег Викторович").await;
    b.open_plan_2026().await;
    b.wait_for_text("Школа № 1").await;
    b.press("Утвердить").await;
    b.wait_for_text("План-график утверждён").await;
    b.click_link("Версии документов").await;
    let number = b.visible_text_of(Locator::XPath("//table[@id='versions']/tbody/tr[1]/td[1]"), "the number of the version").await;
    let status = b.visible_text_of(Locator::XPath("//table[@id='versions']/tbody/tr[1]/td[6]"), "the send status of the version").await;
    if number.trim() != "0" || status.trim() != "Не отправлена" {
        b.fail::<()>(&format!("version 0, «Не отправлена» expected on «Версии документов»; shown {number:?}, {status:?}")).await;
    }
    lap("step 4, approved, version 0");

    // 5. The customer sends with the saved (stale) password: «Ошибка авторизации», explained.
    b.sign_out().await;
    b.sign_in(&app, "zakazchik", "zakazchik").await;
    b.wait_for_text("Петрова Анна Сергеевна").await;
    b.open_plan_2026().await;
    b.send_to_oos(&eis_login).await;
    b.back_to_plan().await;
    b.open_send_status().await;
    b.wait_for_send_status("Ошибка авторизации").await;
    let page = b.body_text().await;
    let explained = ["нет права работы с планом-графиком", "создаёт новый пароль при каждом нажатии"];
    for shown in explained {
        if !page.contains(shown) {
            b.fail::<()>(&format!("the authorization error is not explained («{shown}» missing)")).await;
        }
    }
    b.screenshot("send-status-authorization-error").await;
    b.open_eis_settings().await;
    b.wait_for_text("Последний отказ ЕИС").await;
    lap("step 5, sent with the stale password: «Ошибка авторизации»");

    // 6. The second password, and the same version sent again.
    b.save_eis_credentials(&eis_login, &second_password).await;
    b.open_plan_2026().await;
    b.send_to_oos(&eis_login).await;
    b.back_to_plan().await;
    b.open_send_status().await;
    b.wait_for_send_status("Загрузка завершена успешно").await;
    b.wait_for_text("Реестр планов-графиков").await;
    lap("step 6, sent with the new password: «Загрузка завершена успешно»");

    // 7. Pictures for people.
    b.screenshot("send-status-loaded").await;
    b.back_to_plan().await;
    b.click_link("Позиции").await;
    b.wait_for_element_text(Locator::Id("positions"), "262780100001178010100100010005811244").await;
    b.screenshot("plan-positions").await;
    b.click_link("Версии документов").await;
    b.wait_for_element_text(Locator::Id("versions"), "Загрузка завершена успешно").await;
    b.screenshot("plan-versions").await;
    b.click_link("Журнал").await;
    b.wait_for_element_text(Locator::Id("journal"), "Смирнов Олег Викторович").await;
    b.screenshot("plan-journal").await;
    b.open_eis_settings().await;
    b.wait_for_text("Последняя успешная работа с ЕИС").await;
    b.screenshot("settings-eis").await;
    lap("step 7, screenshots");

    b.close().await;
    drop(driver);
    h.app.stop().await;
    eprintln!("browser: the whole scenario took {:.1} s", started.elapsed().as_secs_f64());
}

// --- the browser ----------------------------------------------------------------------------

struct BrowserTools {
    chromedriver: PathBuf,
    chromium: PathBuf,
}

/// The paths of chromedriver and chromium, or `None` (and a loud SKIPPED) when they are missing.
fn browser_tools() -> Option<BrowserTools> {
    let path = |var: &str, default: &str| PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_owned()));
    let tools = BrowserTools {
        chromedriver: path("PLANGRAF_CHROMEDRIVER", "/usr/bin/chromedriver"),
        chromium: path("PLANGRAF_CHROMIUM", "/usr/bin/chromium"),
    };
    let missing: Vec<String> =
        [&tools.chromedriver, &tools.chromium].into_iter().filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
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
struct Chromedriver {
    child: Child,
    port: u16,
    /// Chromium's profile and chromedriver's log; removed after the processes are gone.
    dir: tempfile::TempDir,
}

impl Chromedriver {
    fn start(path: &Path) -> Chromedriver {
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
                assert!(Instant::now() < deadline, "chromedriver does not answer on port {port}; its log:\n{}", driver.log());
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        unreachable!()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
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
struct Browser {
    c: Client,
    shots: PathBuf,
}

impl Browser {
    async fn open(driver: &Chromedriver, chromium: &Path) -> Browser {
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
        let _ = std::fs::remove_file(shots.join("FAILED.png"));
        Browser { c, shots }
    }

    async fn close(self) {
        let _ = self.c.close().await;
    }

    /// Fails the test with what the browser shows: URL, visible text, page source, a screenshot.
    async fn fail<T>(&self, what: &str) -> T {
        let url = self.c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        let source = self.c.source().await.unwrap_or_else(|e| format!("(no page source: {e})"));
        self.screenshot("FAILED").await;
        panic!(
            "browser: {what}\n--- URL: {url}\n--- page source ---\n{source}\n--- end of page source (screenshot: {}) ---",
            self.shots.join("FAILED.png").display()
        );
    }

    async fn screenshot(&self, name: &str) {
        match self.c.screenshot().await {
            Ok(png) => {
                let path = self.shots.join(format!("{name}.png"));
                std::fs::write(&path, png).unwrap();
                eprintln!("browser: screenshot {}", path.display());
            }
            Err(e) => eprintln!("browser: no screenshot {name}: {e}"),
        }
    }

    async fn goto(&self, url: &str) {
        if let Err(e) = self.c.goto(url).await {
            self.fail::<()>(&format!("cannot open {url}: {e}")).await;
        }
    }

    /// Waits until the element is there and visible.
    async fn find(&self, locator: Locator<'_>, what: &str) -> Element {
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
    async fn click(&self, locator: Locator<'_>, what: &str) {
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

    async fn click_link(&self, text: &str) {
        self.click(Locator::LinkText(text), &format!("the link «{text}»")).await;
    }

    /// Presses the button with this text.
    async fn press(&self, text: &str) {
        let xpath = format!("//button[normalize-space()='{text}']");
        self.click(Locator::XPath(&xpath), &format!("the button «{text}»")).await;
    }

    /// Opens a drop-down menu by its `<summary>`.
    async fn open_menu(&self, text: &str) {
        let xpath = format!("//summary[starts-with(normalize-space(), '{text}')]");
        self.click(Locator::XPath(&xpath), &format!("the menu «{text}»")).await;
    }

    async fn fill(&self, css: &str, value: &str) {
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

    async fn select_value(&self, css: &str, value: &str) {
        let e = self.find(Locator::Css(css), &format!("the list {css}")).await;
        if let Err(err) = e.select_by_value(value).await {
            self.fail::<()>(&format!("cannot choose {value} in {css}: {err}")).await;
        }
    }

    async fn tick(&self, css: &str) {
        let e = self.find(Locator::Css(css), &format!("the check box {css}")).await;
        if !e.is_selected().await.unwrap_or(false) {
            let _ = e.click().await;
        }
        if !e.is_selected().await.unwrap_or(false) {
            self.fail::<()>(&format!("the check box {css} is not ticked")).await;
        }
    }

    /// The text a person sees in an element; no-break spaces read as spaces.
    async fn visible_text_of(&self, locator: Locator<'_>, what: &str) -> String {
        let e = self.find(locator, what).await;
        match e.text().await {
            Ok(t) => normalize(&t),
            Err(err) => self.fail(&format!("cannot read {what}: {err}")).await,
        }
    }

    async fn body_text(&self) -> String {
        match self.c.find(Locator::Css("body")).await {
            Ok(body) => normalize(&body.text().await.unwrap_or_default()),
            Err(_) => String::new(),
        }
    }

    /// Waits until the page shows the text (bounded).
    async fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.body_text().await.contains(text) {
            if Instant::now() > deadline {
                return self.fail(&format!("the page does not show «{text}» within {WAIT:?}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_for_heading(&self, text: &str) {
        let xpath = format!("//h1[starts-with(normalize-space(), '{text}')]");
        self.find(Locator::XPath(&xpath), &format!("the heading «{text}»")).await;
    }

    /// Waits until the element shows the text (bounded); the page may reload meanwhile.
    async fn wait_for_element_text(&self, locator: Locator<'_>, text: &str) {
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

    /// The value shown next to a label in the cabinet's `<dl>`.
    async fn field_shown(&self, label: &str) -> String {
        let xpath = format!("//dt[normalize-space()='{label}']/following-sibling::dd[1]");
        let v = self.visible_text_of(Locator::XPath(&xpath), &format!("the value of «{label}»")).await;
        v.trim().to_owned()
    }

    async fn sign_in(&self, app: &str, login: &str, password: &str) {
        self.goto(&format!("{app}/login")).await;
        self.wait_for_heading("Вход в plangraf").await;
        self.fill("#login", login).await;
        self.fill("#password", password).await;
        self.press("Войти").await;
        self.wait_for_heading("Планы-графики размещения заказов").await;
    }

    async fn sign_out(&self) {
        self.press("Выйти").await;
        self.wait_for_heading("Вход в plangraf").await;
    }

    /// «Управление закупками» → «Планирование» → «Планы-графики размещения заказов».
    async fn open_plans(&self) {
        self.open_menu("Управление закупками").await;
        self.wait_for_element_text(Locator::Css("nav.menu details[open] .drop"), "Планирование").await;
        self.click_link("Планы-графики размещения заказов").await;
        self.wait_for_heading("Планы-графики размещения заказов").await;
    }

    /// The menu, then the plan for 2026 in the list.
    async fn open_plan_2026(&self) {
        self.open_plans().await;
        self.click(Locator::XPath("//table//a[normalize-space()='2026']"), "the plan for 2026 in the list").await;
        self.wait_for_heading("План-график закупок на 2026 год").await;
    }

    /// «Настройки» → «Регистрационные данные в ЕИС».
    async fn open_eis_settings(&self) {
        self.open_menu("Настройки").await;
        self.click_link("Регистрационные данные в ЕИС").await;
        self.wait_for_heading("Регистрационные данные в ЕИС").await;
    }

    /// On «Регистрационные данные в ЕИС»: the login, «Сменить пароль:», the password twice,
    /// «Сохранить».
    async fn save_eis_credentials(&self, login: &str, password: &str) {
        self.wait_for_text("Сменить пароль:").await;
        self.fill("#login", login).await;
        self.tick("#change_password").await;
        self.fill("#password", password).await;
        self.fill("#password_confirm", password).await;
        self.press("Сохранить").await;
        self.wait_for_text("Регистрационные данные в ЕИС сохранены").await;
        if self.c.source().await.unwrap_or_default().contains(password) {
            self.fail::<()>("the saved password is shown on the page").await;
        }
    }

    /// From the plan: «Версии документов» → «»» → «Отправить на ООС» → the dialog with the
    /// login filled in and the password left empty → «ОК».
    async fn send_to_oos(&self, login: &str) {
        self.click_link("Версии документов").await;
        self.open_menu("»").await;
        self.click(Locator::XPath("//details[@open]//a[normalize-space()='Отправить на ООС']"), "«Отправить на ООС» in the action menu")
            .await;
        self.wait_for_heading("Отправить на ООС").await;
        let field = self.find(Locator::Id("eis_login"), "the login field of the dialog").await;
        let filled = field.prop("value").await.unwrap_or_default().unwrap_or_default();
        if filled != login {
            self.fail::<()>(&format!("the dialog should show the saved login {login:?}, shows {filled:?}")).await;
        }
        let password = self.find(Locator::Id("eis_password"), "the password field of the dialog").await;
        if password.prop("value").await.unwrap_or_default().unwrap_or_default() != "" {
            self.fail::<()>("the password field of the dialog is not empty").await;
        }
        self.wait_for_text("Оставьте поле пустым").await;
        self.press("ОК").await;
        self.wait_for_text("Версия поставлена в очередь на отправку в ЕИС").await;
    }

    /// From the status page: «← План-график …».
    async fn back_to_plan(&self) {
        self.click(Locator::XPath("//a[starts-with(normalize-space(), '← План-график')]"), "the link back to the plan").await;
        self.wait_for_heading("План-график закупок").await;
    }

    /// From the plan: «Версии документов» → «»» → «Посмотреть статус отправки».
    async fn open_send_status(&self) {
        self.click_link("Версии документов").await;
        self.open_menu("»").await;
        self.click(
            Locator::XPath("//details[@open]//a[normalize-space()='Посмотреть статус отправки']"),
            "«Посмотреть статус отправки» in the action menu",
        )
        .await;
        self.wait_for_heading("Статус отправки на ООС").await;
    }

    /// Waits for the send status; the page refreshes itself while the send is under way, and is
    /// reloaded by hand every 5 s in case it does not.
    async fn wait_for_send_status(&self, status: &str) {
        let deadline = Instant::now() + WAIT;
        let mut reload = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(e) = self.c.find(Locator::Id("send-status")).await
                && let Ok(t) = e.text().await
                && normalize(&t) == status
            {
                return;
            }
            if Instant::now() > deadline {
                return self.fail(&format!("the send status does not become «{status}» within {WAIT:?}")).await;
            }
            if Instant::now() > reload {
                let _ = self.c.refresh().await;
                reload = Instant::now() + Duration::from_secs(5);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn normalize(text: &str) -> String {
    text.replace(['\u{a0}', '\u{202f}'], " ")
}
