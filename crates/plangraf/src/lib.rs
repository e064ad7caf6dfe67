//! Wiring of plangraf: opening the store, the ЕИС client and exchange runner, the web server,
//! and the demo data. The binary's subcommands and the integration tests share it.

pub mod backups;
pub mod demo;
pub mod keyfile;

use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use store::{SecretBox, Store};
/// Who may read `/metrics` (`AppConfig::metrics`).
pub use web::metrics::Access as MetricsAccess;

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub database_url: String,
    pub listen: SocketAddr,
    pub eis: eis::client::ClientConfig,
    pub exchange: exchange::ExchangeConfig,
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for sign-in throttling).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Spawn the exchange runner (true in every real use). False leaves the queue to whoever
    /// calls [`exchange::Exchange::drain`] or [`exchange::Exchange::run_next_within`] on
    /// [`RunningApp::exchange`]: tests drive it step by step instead of waiting for the runner.
    pub run_exchange: bool,
    /// Who may read `/metrics`: addresses and networks, or the bearer token.
    pub metrics: web::metrics::Access,
    /// Notifications: e-mail when SMTP is configured, and when a send counts as unanswered.
    pub notify: NotifyConfig,
    /// Sign-in and binding with ЭЦП; `None`: off (the sign-in page says so).
    pub ecp: Option<EcpConfig>,
}

/// ЭЦП as the operator configured it: the trusted УЦ and where pages load CryptoPro's script.
#[derive(Clone)]
pub struct EcpConfig {
    pub trust: std::sync::Arc<signature::Trust>,
    /// The URL of `cadesplugin_api.js` on plangraf's own origin ([`web::DEFAULT_ECP_PLUGIN_SCRIPT`]).
    pub plugin_script: String,
}

impl std::fmt::Debug for EcpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcpConfig")
            .field("trusted_roots", &self.trust.roots())
            .field("plugin_script", &self.plugin_script)
            .finish()
    }
}

/// Every file of `dir` (not its subdirectories or hidden files), sorted by name.
fn files_of(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("каталог {}", dir.display()))? {
        let entry = entry?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// The trust of ЭЦП from the operator's directories: every file of `roots` holds root
/// certificates of trusted УЦ (PEM, one or several, or DER), every file of `crls` a revocation
/// list. A file that does not read is an error: a УЦ the operator meant to trust silently left
/// out, or a list of revoked certificates ignored, would be worse than not starting. Needs the
/// ГОСТ engine loaded (`signature::engine::restart_with_engine`).
pub fn load_ecp_trust(roots: &Path, crls: Option<&Path>) -> anyhow::Result<signature::Trust> {
    let mut trust = signature::Trust::new();
    for file in files_of(roots)? {
        let bytes = std::fs::read(&file).with_context(|| format!("файл {}", file.display()))?;
        trust.add_roots(&bytes).map_err(|e| anyhow::anyhow!("корневой сертификат УЦ {}: {e}", file.display()))?;
    }
    anyhow::ensure!(trust.roots() > 0, "в каталоге {} нет корневых сертификатов УЦ", roots.display());
    if let Some(crls) = crls {
        for file in files_of(crls)? {
            let bytes = std::fs::read(&file).with_context(|| format!("файл {}", file.display()))?;
            trust.add_crl(&bytes).with_context(|| format!("список отзыва {}", file.display()))?;
        }
    }
    Ok(trust)
}

/// How notifications go out beyond the application.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// SMTP settings; `None`: notifications stay in the application, nothing is queued for mail.
    pub mail: Option<mail::MailConfig>,
    /// A send with no final answer from ЕИС (still queued or in processing) this long after it
    /// was requested is reported to its sender and the administrators («ЕИС молчит»), once.
    pub eis_silent_after: Duration,
}

/// The default of [`NotifyConfig::eis_silent_after`].
pub const EIS_SILENT_AFTER: Duration = Duration::from_secs(30 * 60);

impl Default for NotifyConfig {
    fn default() -> NotifyConfig {
        NotifyConfig { mail: None, eis_silent_after: EIS_SILENT_AFTER }
    }
}

/// How long requests in flight may take to finish after a shutdown began.
pub const HTTP_GRACE: Duration = Duration::from_secs(10);
/// How long the exchange with ЕИС in flight may take to finish after a shutdown began.
pub const EIS_GRACE: Duration = Duration::from_secs(10);

pub struct RunningApp {
    pub addr: SocketAddr,
    pub store: Store,
    pub exchange: exchange::Exchange,
    /// Tells the web server to stop accepting connections and finish the requests in flight.
    stop_accepting: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    /// `None` when [`AppConfig::run_exchange`] is false.
    runner: Option<tokio::task::JoinHandle<()>>,
    housekeeping: tokio::task::JoinHandle<()>,
    /// The e-mail sender, when SMTP is configured.
    mailer: Option<tokio::task::JoinHandle<()>>,
    /// Reports sends ЕИС leaves unanswered (see [`NotifyConfig::eis_silent_after`]).
    silence: tokio::task::JoinHandle<()>,
}

impl RunningApp {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and the runner, as a crash or restart would: queued work stays in the
    /// database.
    pub async fn stop(self) {
        self.housekeeping.abort();
        self.silence.abort();
        if let Some(mailer) = &self.mailer {
            mailer.abort();
        }
        if let Some(runner) = &self.runner {
            runner.abort();
        }
        self.server.abort();
        if let Some(runner) = self.runner {
            let _ = runner.await;
        }
        let _ = self.server.await;
        self.store.close().await;
    }

    /// Stops in order, for SIGTERM and Ctrl+C: the web server accepts no more connections and
    /// lets the requests in flight finish (up to [`HTTP_GRACE`]); the runner claims no new sends,
    /// gives the exchange with ЕИС in flight up to [`EIS_GRACE`], and releases the leases of the
    /// sends it did not finish, so that another instance takes them at once.
    pub async fn shutdown(mut self) {
        tracing::info!("shutting down: no new connections; finishing the requests and the exchange in flight");
        self.stop_accepting.send_replace(true);
        self.exchange.stop(EIS_GRACE);
        // Both run meanwhile; each gets its own deadline, and a task past it is cut off.
        let runner_stopped = async {
            match &mut self.runner {
                Some(runner) => tokio::time::timeout(EIS_GRACE + Duration::from_secs(5), runner).await.map(|_| ()),
                None => Ok(()),
            }
        };
        let (server, runner) = tokio::join!(tokio::time::timeout(HTTP_GRACE, &mut self.server), runner_stopped);
        match server {
            Ok(_) => tracing::info!("web server stopped"),
            Err(_) => {
                tracing::warn!(grace_s = HTTP_GRACE.as_secs(), "requests still in flight at the deadline; cut off");
                self.server.abort();
            }
        }
        if runner.is_err() {
            tracing::warn!("the exchange runner did not stop in time; its leases run out on their own");
            if let Some(runner) = &self.runner {
                runner.abort();
            }
        }
        self.housekeeping.abort();
        self.silence.abort();
        if let Some(mailer) = &self.mailer {
            mailer.abort();
        }
        self.store.close().await;
        tracing::info!("plangraf stopped");
    }
}

/// The default SQLite file under the data directory.
pub fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("plangraf.sqlite").display())
}

/// Opens and migrates the store with a key handed over by the caller; see [`open_store_with`].
pub async fn open_store(database_url: &str, key: [u8; 32]) -> anyhow::Result<Store> {
    open_store_with(database_url, &keyfile::SecretKey::given(key)).await
}

/// Opens and migrates the store, and refuses it when the key does not open the ЕИС passwords
/// sealed in it (`Store::check_sealed_secrets`): a database restored without its key, or the
/// wrong `PLANGRAF_SECRET_KEY`, stops every command that opens the store here, before anything
/// runs. A new key file is written only after that check passed.
pub async fn open_store_with(database_url: &str, key: &keyfile::SecretKey) -> anyhow::Result<Store> {
    let store = Store::open(database_url, SecretBox::new(key.bytes))
        .await
        .with_context(|| format!("opening the database {}", redact_url(database_url)))?;
    let checked = store.check_sealed_secrets().await;
    match checked {
        Ok(store::sends::SealedSecrets::None | store::sends::SealedSecrets::Open) => {}
        Ok(store::sends::SealedSecrets::WrongKey) => {
            store.close().await;
            anyhow::bail!("{}", key_mismatch_message(key));
        }
        Err(e) => {
            store.close().await;
            return Err(anyhow::Error::new(e).context("checking the key against the saved ЕИС passwords"));
        }
    }
    if let Err(e) = key.persist() {
        store.close().await;
        return Err(e);
    }
    Ok(store)
}

/// What the operator is told when the key does not open the database's sealed passwords.
fn key_mismatch_message(key: &keyfile::SecretKey) -> String {
    let what = match &key.origin {
        keyfile::KeyOrigin::NewFile(path) => format!(
            "Файл ключа {} не найден, а в базе данных есть пароли ЕИС, запечатанные ключом: без него их не открыть. \
             Новый ключ не создан.",
            path.display()
        ),
        _ => format!(
            "Ключ не подходит к этой базе данных: {} не открывает сохранённые в ней пароли ЕИС.",
            key.describe()
        ),
    };
    format!(
        "{what} Вероятно, база восстановлена из резервной копии без своего файла ключа или задан не тот \
         PLANGRAF_SECRET_KEY. Верните ключ, с которым работала эта база: положите сохранённый файл ключа на место \
         (--secret-key-file, PLANGRAF_SECRET_KEY_FILE, по умолчанию DATA_DIR/secret.key) или задайте верный \
         PLANGRAF_SECRET_KEY, и запустите снова. Если ключ утрачен, сохранённые пароли ЕИС не восстановить: \
         см. docs/OPERATIONS.md, «The key does not match the database». Команда не выполнена."
    )
}

/// Starts the web server and (unless [`AppConfig::run_exchange`] is false) the exchange runner
/// on an open store.
pub async fn start(config: AppConfig, store: Store) -> anyhow::Result<RunningApp> {
    install_crypto_provider();
    let client = eis::client::EisClient::new(config.eis.clone()).context("configuring the ЕИС client")?;
    let exchange = exchange::Exchange::new(store.clone(), client, config.exchange.clone());
    let mailer = match &config.notify.mail {
        Some(m) => {
            let mailer = mail::Mailer::new(store.clone(), m)
                .context("configuring e-mail (PLANGRAF_SMTP_*)")?
                .with_metrics(exchange.metrics().clone());
            store.set_mail_outbox(true);
            Some(mailer.spawn())
        }
        None => None,
    };
    let silence = tokio::spawn(watch_silence(store.clone(), config.notify.eis_silent_after));
    let runner = config.run_exchange.then(|| exchange.spawn());
    let state = web::AppState {
        app: {
            let app =
                app::Workflow::new(store.clone(), exchange.clone()).with_schemas(config.exchange.schemas.is_some());
            match &config.ecp {
                Some(ecp) => app.with_ecp_trust(ecp.trust.clone()),
                None => app,
            }
        },
        secure_cookies: config.secure_cookies,
        trusted_proxies: std::sync::Arc::new(config.trusted_proxies.clone()),
        metrics_access: std::sync::Arc::new(config.metrics.clone()),
        ecp_plugin_script: config
            .ecp
            .as_ref()
            .map_or(web::DEFAULT_ECP_PLUGIN_SCRIPT, |e| e.plugin_script.as_str())
            .into(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let app = web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let (stop_accepting, mut stopping) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(async move {
        let stopped = async move {
            let _ = stopping.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
            tracing::error!(error = %e, "web server stopped");
        }
    });
    let housekeeping = tokio::spawn(housekeeping(store.clone()));
    Ok(RunningApp { addr, store, exchange, stop_accepting, server, runner, housekeeping, mailer, silence })
}

/// Looks for sends ЕИС leaves unanswered longer than `after` and reports each once
/// (`Store::report_silent_sends`), every quarter of `after` (from 100 ms to a minute).
async fn watch_silence(store: Store, after: Duration) {
    let every = (after / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
    let after = chrono::TimeDelta::from_std(after).unwrap_or(chrono::TimeDelta::MAX);
    loop {
        tokio::time::sleep(every).await;
        let before = store::now().checked_sub_signed(after).unwrap_or(store::Time::MIN_UTC);
        match store.report_silent_sends(before, 100).await {
            Ok(reported) if reported.is_empty() => {}
            Ok(reported) => tracing::warn!(sends = reported.len(), "ЕИС silent: sends without a final answer reported"),
            Err(e) => tracing::warn!(error = %e, "checking for sends ЕИС leaves unanswered failed; will try again"),
        }
    }
}

/// How often expired sessions, tokens and forgotten sign-in failures are deleted.
pub const HOUSEKEEPING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Deletes expired sessions and API tokens and stale throttle entries, and tells the holders
/// of certificates (ЭЦП) that end within `app::certificates::EXPIRY_WARNING_DAYS`, at start and
/// then every [`HOUSEKEEPING_INTERVAL`], so the tables do not grow with every sign-in.
async fn housekeeping(store: Store) {
    let mut tick = tokio::time::interval(HOUSEKEEPING_INTERVAL);
    loop {
        tick.tick().await;
        match store.purge_expired(store::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired sessions, tokens and sign-in entries removed"),
            Err(e) => tracing::warn!(error = %e, "housekeeping failed; will try again"),
        }
        let until = store::now() + chrono::TimeDelta::days(app::certificates::EXPIRY_WARNING_DAYS);
        match store.report_expiring_certificates(until, 500).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(certificates = n, "holders told that their certificates end soon"),
            Err(e) => tracing::warn!(error = %e, "checking for certificates that end soon failed; will try again"),
        }
    }
}

/// rustls needs one process-wide crypto provider; ring keeps the build free of C toolchains
/// beyond cc.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Makes glibc give every allocation of 1 MiB or more its own mapping, returned to the system
/// when freed.
///
/// Each password check allocates Argon2's 19 MiB work area. glibc's default raises its mmap
/// threshold to the size of the last such block freed, so later blocks come from the heap
/// arenas of whichever threads ran them — and each arena keeps tens of megabytes it will never
/// return: 20 sign-ins in a row took the process from 120 MB to 415 MB. A fixed threshold keeps
/// memory flat whatever the number of sign-ins (docs/SECURITY.md, «Measured»).
pub fn return_big_allocations_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code, reason = "one call of glibc's mallopt, which has no safe wrapper")]
    {
        unsafe extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
        // SAFETY: mallopt takes no pointers and only changes the allocator's tuning; glibc
        // serialises it with allocations.
        let ok = unsafe { mallopt(M_MMAP_THRESHOLD, 1024 * 1024) };
        if ok != 1 {
            tracing::warn!("could not set the allocator's mmap threshold; memory may grow with sign-ins");
        }
    }
}

/// A database URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Compiles the official schemas of `dir` for validating packets before they are queued.
pub fn compile_schemas(dir: &Path) -> anyhow::Result<std::sync::Arc<eis::validate::SchemaSet>> {
    let started = std::time::Instant::now();
    let set = eis::validate::SchemaSet::compile(dir, eis::validate::Root::Integration)
        .with_context(|| format!("compiling the ЕИС schemas in {}", dir.display()))?;
    tracing::info!(dir = %dir.display(), ms = started.elapsed().as_millis() as u64, "ЕИС schemas compiled");
    Ok(std::sync::Arc::new(set))
}

pub fn sandbox_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("sandbox")
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(super::redact_url("sqlite:///tmp/x.sqlite"), "sqlite:///tmp/x.sqlite");
    }
}
