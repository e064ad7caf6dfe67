//! Test harness: eis-sandbox and plangraf in-process on loopback port 0, on a fresh database
//! (SQLite, or PostgreSQL when PLANGRAF_TEST_DATABASE_URL is set), with the demo data loaded.
//!
//! [`Harness::start`] runs plangraf's exchange runner, for tests that watch it work.
//! [`Harness::start_driven`] does not: such a test works the queue itself in its own task
//! ([`drive_to_status`], [`drive_until`]), skipping retry and poll delays, so it waits on nothing.

use domain::ids::VersionId;
use plangraf::{AppConfig, RunningApp, demo};
use std::time::Duration;

pub struct Harness {
    pub app: RunningApp,
    pub sandbox: sandbox::RunningSandbox,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub key: [u8; 32],
    /// No runner: the test drives the queue (see [`Harness::start_driven`]).
    pub driven: bool,
}

/// The official schemas, compiled once for all tests of a binary; every packet the tests send
/// is validated with them before it is queued. Without them the tests say so and go on.
fn schemas() -> Option<std::sync::Arc<eis::validate::SchemaSet>> {
    static SET: std::sync::OnceLock<Option<std::sync::Arc<eis::validate::SchemaSet>>> = std::sync::OnceLock::new();
    SET.get_or_init(|| match eis::schemas::locate() {
        Some(dir) => Some(plangraf::compile_schemas(&dir).expect("the official schemas compile")),
        None => {
            eprintln!("SKIPPED: schema validation of sent packets (no ЕИС schemas; set PLANGRAF_EIS_SCHEMAS)");
            None
        }
    })
    .clone()
}

pub fn exchange_config() -> exchange::ExchangeConfig {
    exchange::ExchangeConfig {
        schemas: schemas(),
        poll_interval: Duration::from_millis(100),
        publication_poll_interval: Duration::from_millis(200),
        retry_base: Duration::from_millis(100),
        retry_max: Duration::from_secs(1),
        idle_interval: Duration::from_millis(50),
        // Longer than one exchange (connect + read timeouts below), short enough that a send
        // held by a stopped instance is taken over quickly.
        lease: Duration::from_secs(5),
        ..Default::default()
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_configured(|_| {}).await
    }

    /// Like [`Harness::start`], but plangraf runs no exchange runner and the sandbox reveals a
    /// packet's result at the first poll after its upload (still answering `processing` to the
    /// upload itself, as ЕИС does). The test works the queue with [`drive_to_status`] or
    /// [`drive_until`].
    pub async fn start_driven() -> Harness {
        Harness::launch(true, false, |_| {}).await
    }

    /// Like [`Harness::start_driven`], with plangraf's configuration adjusted by `tune`.
    pub async fn start_driven_configured(tune: impl FnOnce(&mut AppConfig)) -> Harness {
        Harness::launch(true, false, tune).await
    }

    /// Like [`Harness::start_driven`], on SQLite whatever the test backend: for what only the
    /// embedded database has (its backup and restore).
    pub async fn start_on_sqlite() -> Harness {
        Harness::launch(true, true, |_| {}).await
    }

    /// Like [`Harness::start`], with plangraf's configuration adjusted by `tune`.
    pub async fn start_configured(tune: impl FnOnce(&mut AppConfig)) -> Harness {
        Harness::launch(false, false, tune).await
    }

    async fn launch(driven: bool, sqlite: bool, tune: impl FnOnce(&mut AppConfig)) -> Harness {
        plangraf::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let sandbox = sandbox::start(sandbox::SandboxConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("sandbox"),
            processing_delay: if driven { Duration::ZERO } else { Duration::from_millis(200) },
            schemas: schemas(),
        })
        .await
        .unwrap();
        demo::load_sandbox(&sandbox.directory()).await.unwrap();
        let url = if sqlite {
            plangraf::default_database_url(dir.path())
        } else {
            store::testing::fresh_database_url(dir.path()).await.unwrap()
        };
        let key = store::SecretBox::generate_key();
        let store = plangraf::open_store(&url, key).await.unwrap();
        demo::load(&store).await.unwrap();
        let app = start_app_configured(&sandbox, url.clone(), store, |c| {
            c.run_exchange = !driven;
            tune(c);
        })
        .await;
        Harness { app, sandbox, dir, database_url: url, key, driven }
    }

    /// Stops plangraf abruptly and starts it again on the same database and key.
    pub async fn restart(self) -> Harness {
        let Harness { app, sandbox, dir, database_url, key, driven } = self;
        app.stop().await;
        let store = plangraf::open_store(&database_url, key).await.unwrap();
        let app = start_app_configured(&sandbox, database_url.clone(), store, |c| c.run_exchange = !driven).await;
        Harness { app, sandbox, dir, database_url, key, driven }
    }

    pub fn client(&self) -> Client {
        Client::new(self.app.url())
    }

    /// Gets a fresh integration password for a sandbox user, as the cabinet button does.
    pub async fn eis_credentials(&self, login: &str) -> (String, String) {
        let c = self.sandbox.directory().regenerate_integration_password(login).await.unwrap();
        (c.login, c.password.expose().to_owned())
    }
}

pub async fn start_app_configured(
    sandbox: &sandbox::RunningSandbox,
    database_url: String,
    store: store::Store,
    tune: impl FnOnce(&mut AppConfig),
) -> RunningApp {
    let mut eis = eis::client::ClientConfig::new(sandbox.base_url.clone());
    eis.ca_file = Some(sandbox.ca_cert_path.clone());
    eis.connect_timeout = Duration::from_secs(2);
    eis.read_timeout = Duration::from_secs(2);
    let mut config = AppConfig {
        database_url,
        listen: "127.0.0.1:0".parse().unwrap(),
        eis,
        exchange: exchange_config(),
        secure_cookies: false,
        trusted_proxies: Vec::new(),
        run_exchange: true,
        metrics: plangraf::MetricsAccess::default(),
        notify: Default::default(),
        ecp: None,
    };
    tune(&mut config);
    plangraf::start(config, store).await.unwrap()
}

/// A browser-like HTTP client: a cookie jar, and the CSRF token of the last page it read.
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub csrf: String,
}

pub struct Page {
    pub status: u16,
    pub url: String,
    pub body: String,
}

impl Page {
    pub fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

impl Client {
    pub fn new(base: String) -> Client {
        let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
        Client { base, http, csrf: String::new() }
    }

    fn remember_csrf(&mut self, body: &str) {
        if let Some(i) = body.find("name=\"csrf\" value=\"") {
            let rest = &body[i + 19..];
            if let Some(end) = rest.find('"') {
                self.csrf = rest[..end].to_owned();
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = r.status().as_u16();
        let url = r.url().to_string();
        let body = r.text().await.unwrap();
        self.remember_csrf(&body);
        Page { status, url, body }
    }

    /// Posts a form with this client's CSRF token added.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone();
        form.push(("csrf", &csrf));
        self.post_raw(path, &form, None).await
    }

    pub async fn post_raw(&mut self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Page {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let url = r.url().to_string();
        let body = r.text().await.unwrap();
        self.remember_csrf(&body);
        Page { status, url, body }
    }

    /// The page of the job a bulk action led to, read again until the job has ended (it runs
    /// on its own task; a bounded wait).
    pub async fn job_outcome(&mut self, started: Page) -> Page {
        assert!(
            started.url.contains("/jobs/"),
            "the action did not lead to a job's page: {} {}",
            started.url,
            started.body
        );
        let path = started.url[started.url.find("/jobs/").unwrap()..].to_owned();
        let mut page = started;
        for _ in 0..300 {
            if !page.has("data-running=\"true\"") {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            page = self.get(&path).await;
        }
        panic!("the job at {path} did not end: {}", page.body);
    }

    /// Saves ЕИС credentials on «Регистрационные данные в ЕИС», as the user types them.
    pub async fn save_eis_credentials(&mut self, login: &str, password: &str) -> Page {
        self.get("/settings/eis").await;
        let fields =
            [("login", login), ("change_password", "1"), ("password", password), ("password_confirm", password)];
        self.post("/settings/eis", &fields).await
    }

    pub async fn login(&mut self, login: &str, password: &str) -> Page {
        let p = self.post_raw("/login", &[("login", login), ("password", password)], None).await;
        assert_eq!(p.status, 200, "sign-in of {login} failed: {}", p.body);
        assert!(p.url.ends_with("/plans"), "{}", p.url);
        p
    }

    /// Creates a plan for the year and returns its id.
    pub async fn create_plan(&mut self, year: &str) -> i64 {
        self.get("/plans").await;
        let p = self.post("/plans", &[("plan_year", year)]).await;
        assert_eq!(p.status, 200, "{}", p.body);
        p.url.rsplit('/').next().unwrap().parse().unwrap()
    }

    pub async fn add_position(&mut self, plan: i64, fields: &[(&str, &str)]) -> Page {
        // Read the page for its CSRF token; adding names no version.
        self.get(&format!("/plans/{plan}")).await;
        self.post(&format!("/plans/{plan}/positions"), fields).await
    }
}

/// The value of a hidden input in a page.
pub fn value_of(body: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let i = body.find(&key).unwrap_or_else(|| panic!("no {name} in page"));
    let rest = &body[i + key.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

pub const POSITION: [(&str, &str); 5] = [
    ("object_info", "Поставка учебников для 5-х классов"),
    ("publish_year", "2026"),
    ("okpd2", "58.11.19.000"),
    ("kvr", "244"),
    ("amount_current", "1 250 000,50"),
];

/// A customer's plan with one position, submitted and approved; returns (plan id, version id).
pub async fn approved_plan(h: &Harness, customer: &mut Client, year: &str) -> (i64, i64) {
    let plan = customer.create_plan(year).await;
    let mut position = POSITION;
    position[1] = ("publish_year", year);
    let p = customer.add_position(plan, &position).await;
    assert!(p.has("Позиция добавлена"), "{}", p.body);
    let p = customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    assert!(p.has("На согласовании"), "{}", p.body);
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get(&format!("/plans/{plan}")).await;
    let p = approver.post(&format!("/plans/{plan}/approve"), &[]).await;
    assert!(p.has("План-график утвержден"), "{}", p.body);
    let version = h.app.store.versions(domain::ids::PlanId(plan)).await.unwrap()[0].id.get();
    (plan, version)
}

/// Polls the status page until it shows `text` (bounded: 30 s).
pub async fn wait_for_status(client: &mut Client, version: i64, text: &str) -> Page {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let p = client.get(&format!("/versions/{version}/status")).await;
        if p.body.contains(&format!("id=\"send-status\">{text}<")) {
            return p;
        }
        assert!(std::time::Instant::now() < deadline, "status «{text}» not reached:\n{}", p.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How far ahead [`drive_until`] takes a send as due: beyond every retry delay and poll interval
/// of [`exchange_config`], so none is waited out.
const DRIVE_AHEAD: Duration = Duration::from_secs(3600);
/// The most sends [`drive_until`] works before it gives up: far more than any test needs (a
/// send takes an upload, a poll and, until placed, one poll per step).
const DRIVE_STEPS: usize = 50;

/// Works the queue of a [`Harness::start_driven`] harness in this task, one send at a time, the
/// next due first and at once, until the latest send of each of `versions` has the status titled
/// `title`. Fails if the queue runs dry first, or after [`DRIVE_STEPS`] sends.
pub async fn drive_until(h: &Harness, versions: &[VersionId], title: &str) {
    assert!(h.driven, "drive_until needs Harness::start_driven (no runner of its own)");
    for _ in 0..DRIVE_STEPS {
        let mut reached = true;
        let mut now = Vec::new();
        for &version in versions {
            let send = h.app.store.latest_send(version).await.unwrap();
            let status = send.map(|s| s.status.title()).unwrap_or("no send");
            reached &= status == title;
            now.push(format!("{version}: {status}"));
        }
        if reached {
            return;
        }
        let worked = h.app.exchange.run_next_within(DRIVE_AHEAD).await.unwrap();
        assert!(worked, "nothing left to do in the queue, and «{title}» not reached: {now:?}");
    }
    panic!("«{title}» not reached after {DRIVE_STEPS} sends");
}

/// Drives the queue until the version's latest send has the status titled `text`
/// ([`drive_until`]), then reads the status page once and checks that it shows that status.
pub async fn drive_to_status(h: &Harness, client: &mut Client, version: i64, text: &str) -> Page {
    drive_until(h, &[VersionId(version)], text).await;
    let p = client.get(&format!("/versions/{version}/status")).await;
    assert!(p.body.contains(&format!("id=\"send-status\">{text}<")), "status «{text}» not shown:\n{}", p.body);
    p
}

/// Fails if any of `secrets` occurs in the bytes of a SQLite database file or of its `-wal` and
/// `-shm` companions (what was written lately may still be only there).
pub fn assert_not_in_sqlite_files(file: &std::path::Path, secrets: &[&str]) {
    let mut bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    for ext in ["-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{}{ext}", file.display())) {
            bytes.extend(b);
        }
    }
    for secret in secrets {
        let needle = secret.as_bytes();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle), "plaintext secret in {}", file.display());
    }
}

/// Fails if any of `secrets` occurs in plangraf's database: the SQLite file, or on PostgreSQL the
/// text of every row of every table. Call it after plangraf has stopped, so SQLite's files are
/// complete.
pub async fn assert_not_in_database(database_url: &str, secrets: &[&str]) {
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        assert_not_in_sqlite_files(std::path::Path::new(path), secrets);
        return;
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    // Where the passwords go, sealed: these must have rows, or the search proves nothing.
    let sealed_there = ["eis_credentials", "eis_sends"];
    for table in sealed_there {
        assert!(tables.iter().any(|t| t == table), "no table {table} among {tables:?}");
    }
    for table in &tables {
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT t::text FROM {table} t")))
            .fetch_all(&pool)
            .await
            .unwrap();
        assert!(!rows.is_empty() || !sealed_there.contains(&table.as_str()), "{table} has no rows to search");
        for secret in secrets {
            assert!(rows.iter().all(|r| !r.contains(secret)), "plaintext secret in the table {table}");
        }
    }
    pool.close().await;
}

/// The official schemas compiled for this test binary, if they are available.
pub fn official_schemas() -> Option<std::sync::Arc<eis::validate::SchemaSet>> {
    schemas()
}

/// Creates a specialist of a sibling organization of the school (the district's, under the same
/// superior) with login `district`, password `district1`.
pub async fn create_other_specialist(h: &Harness) {
    let district = h.app.store.organization_by_spz(plangraf::demo::DISTRICT.spz_code).await.unwrap().unwrap();
    let hash = app::users::hash("district1".into()).await.unwrap();
    h.app
        .store
        .create_user("district", &hash, "Сидоров С. С.", district.id, domain::Role::CustomerSpecialist)
        .await
        .unwrap();
}

/// That specialist, signed in.
pub async fn other_organization(h: &Harness) -> Client {
    create_other_specialist(h).await;
    let mut other = h.client();
    other.login("district", "district1").await;
    other
}
