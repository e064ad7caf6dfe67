//! eis-sandbox: a local stand-in for ЕИС (zakupki.gov.ru) that plangraf can be demonstrated,
//! taught and tested against.
//!
//! * the personal-cabinet pages of scenario A (Russian, server-rendered): sign-in,
//!   «Администрирование» → «Пользователи организации», the user's registration data and the
//!   generation of the alternative-integration password;
//! * «Реестр планов-графиков»: placement («Разместить») with plan and position numbers,
//!   «Создать план-график», positions of a plan created in ЕИС added, changed and cancelled in
//!   the cabinet ([`Directory::cabinet_add_position`] and the like), and the refusal to edit
//!   positions of an integrated plan;
//! * the exchange of PRODUCT.md §7 (`/44fz/integration/upload`, `/44fz/integration/status`,
//!   `fcsDocProjectStatusRequest`, `/44fz/integration/export`), asynchronous and restart-safe,
//!   with the business checks documented in `docs/SANDBOX.md`;
//! * faults on demand on the integration endpoints (latency, 503, dropped connections, slow
//!   replies, stuck processing), set through [`Directory::set_faults`] or `/_faults`;
//! * for benchmarks and tests: automatic placement of received drafts after a delay
//!   ([`Directory::set_auto_place`]) and a cache of verified integration credentials
//!   ([`Directory::set_credential_cache`]), both off by default;
//! * an `X-Request-Id` on every response (the caller's, when sane) and in the log span of
//!   every request, as plangraf's own server does;
//! * its own SQLite storage in `data_dir` and its own self-signed certificate.
//!
//! Everything is served over HTTPS on a loopback address only.

mod auto_place;
mod cabinet;
mod checks;
mod db;
mod directory;
mod drafts;
mod exchange;
mod faults;
mod packet_signature;
mod passwords;
mod plans;
mod request_id;
mod signin;
mod tls;

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sqlx::SqlitePool;

pub use directory::{Directory, PlanInfo, PlanSource, PlanVersionInfo, VersionState};
pub use drafts::{CHANGE_REASONS, CabinetChange, CabinetPosition};
pub use eis::client::Credentials;
pub use faults::{ADMIN_HEADER as FAULTS_ADMIN_HEADER, Faults};
pub use signin::{PasswordCheckStats, ThrottlePolicy};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// A loopback address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Holds the database (`sandbox.sqlite`) and the certificate (`sandbox-cert.pem`,
    /// `sandbox-key.pem`); created if missing.
    pub data_dir: PathBuf,
    /// How long a received packet stays `processing` before its result is revealed.
    pub processing_delay: Duration,
    /// The official schemas, compiled; when given, every received packet is validated first,
    /// as ЕИС does, and a packet they reject fails with the violation `XSD`.
    pub schemas: Option<Arc<eis::validate::SchemaSet>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// Not allowed for this object: a position of a plan-schedule integrated from a РИС is
    /// created and changed only in the РИС.
    #[error("refused: {0}")]
    Refused(String),
    #[error("password hashing: {0}")]
    Password(String),
}

/// Shared by every handler.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) db: SqlitePool,
    pub(crate) processing_delay: Duration,
    pub(crate) schemas: Option<Arc<eis::validate::SchemaSet>>,
    pub(crate) directory: Directory,
    pub(crate) faults: Arc<faults::FaultState>,
    /// The УЦ roots packet signatures are checked against ([`RunningSandbox::set_ecp_trust`]).
    pub(crate) ecp_trust: Arc<packet_signature::PacketTrust>,
}

/// A started sandbox. Dropping it leaves the server running until the runtime ends; call
/// [`RunningSandbox::shutdown`] to stop it.
pub struct RunningSandbox {
    pub addr: SocketAddr,
    /// `https://127.0.0.1:PORT` (or `https://[::1]:PORT`).
    pub base_url: String,
    /// The PEM certificate a client must trust to talk to this sandbox.
    pub ca_cert_path: PathBuf,
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    placer: tokio::task::JoinHandle<()>,
    state: AppState,
}

impl std::fmt::Debug for RunningSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSandbox").field("base_url", &self.base_url).finish()
    }
}

/// Opens (or creates) the storage in `cfg.data_dir`, loads (or creates) the certificate,
/// binds `cfg.listen` and serves in a spawned task.
pub async fn start(cfg: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
    if !cfg.listen.ip().is_loopback() {
        return Err(SandboxError::Invalid(format!(
            "eis-sandbox listens on loopback addresses only, not {}",
            cfg.listen
        )));
    }
    // A directory made here is the owner's only; an existing one is left as it is.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&cfg.data_dir)
        .map_err(|source| SandboxError::Io { path: cfg.data_dir.clone(), source })?;
    let db = db::open(&cfg.data_dir).await?;
    let tls = tls::load_or_create(&cfg.data_dir)?;

    let listener =
        std::net::TcpListener::bind(cfg.listen).map_err(|source| SandboxError::Bind { addr: cfg.listen, source })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind { addr: cfg.listen, source })?;
    let base_url = match addr {
        SocketAddr::V4(a) => format!("https://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("https://[{}]:{}", a.ip(), a.port()),
    };

    let fault_state = Arc::new(faults::FaultState::default());
    let auto_place = Arc::new(auto_place::AutoPlace::default());
    let state = AppState {
        db: db.clone(),
        processing_delay: cfg.processing_delay,
        schemas: cfg.schemas.clone(),
        directory: Directory::new(db.clone(), fault_state.clone(), auto_place.clone()),
        faults: fault_state.clone(),
        ecp_trust: Arc::default(),
    };
    let placer = tokio::spawn(auto_place::run(db.clone(), auto_place));
    let app = router(state.clone());
    let handle = axum_server::Handle::new();
    // Each TCP connection under TLS can be dropped by a fault (see `faults`).
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(tls.server_config),
    ))
    .acceptor(faults::KillableAcceptor { faults: fault_state });
    let server = axum_server::from_tcp(listener)
        .map_err(|source| SandboxError::Bind { addr, source })?
        .acceptor(acceptor)
        .handle(handle.clone());
    let task = tokio::spawn(async move { server.serve(app.into_make_service_with_connect_info::<SocketAddr>()).await });
    tracing::info!(%base_url, data_dir = %cfg.data_dir.display(), "eis-sandbox started");
    Ok(RunningSandbox { addr, base_url, ca_cert_path: tls.cert_path, handle, task, placer, state })
}

fn router(state: AppState) -> Router {
    let exchange = exchange::routes().layer(axum::middleware::from_fn_with_state(state.clone(), faults::inject));
    Router::new()
        .merge(exchange)
        .merge(cabinet::routes())
        .merge(faults::routes())
        .fallback(unknown_address)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
        .layer(axum::middleware::from_fn(request_id::layer))
}

/// An address the sandbox does not serve: Russian, as every refusal (axum's default is empty).
async fn unknown_address(uri: axum::http::Uri) -> axum::response::Response {
    refuse_route(&uri, axum::http::StatusCode::NOT_FOUND, "адрес не обслуживается")
}

async fn wrong_method(uri: axum::http::Uri) -> axum::response::Response {
    refuse_route(&uri, axum::http::StatusCode::METHOD_NOT_ALLOWED, "метод запроса не поддерживается по этому адресу")
}

fn refuse_route(uri: &axum::http::Uri, status: axum::http::StatusCode, what: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/44fz/") {
        exchange::route_refusal(status, what)
    } else if status == axum::http::StatusCode::NOT_FOUND {
        cabinet::not_found_page()
    } else {
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("Неверный запрос: {what}\n"),
        )
            .into_response()
    }
}

impl RunningSandbox {
    /// Programmatic administration of this sandbox's organizations, users and plans.
    pub fn directory(&self) -> Directory {
        self.state.directory.clone()
    }

    /// Sets the faults of the integration endpoints (replacing the previous ones); the same as
    /// [`Directory::set_faults`].
    pub fn set_faults(&self, faults: Faults) {
        self.state.faults.set(faults);
    }

    /// Automatic placement of received drafts `after` their result is due; the same as
    /// [`Directory::set_auto_place`].
    pub fn set_auto_place(&self, after: Option<Duration>) {
        self.state.directory.set_auto_place(after);
    }

    /// The roots (and revocation lists) of the УЦ whose certificates may sign packets: a packet
    /// with a non-empty `index/signature` is checked against them over its `data` (errCode
    /// `ECP_SIGN` when invalid); with none, a signed packet is refused as unchecked
    /// (`ECP_TRUST`). Unsigned packets are not affected. Needs the ГОСТ engine in the process
    /// (`signature::engine`).
    pub fn set_ecp_trust(&self, trust: Option<Arc<signature::Trust>>) {
        self.state.ecp_trust.set(trust);
    }

    /// Stops accepting connections, lets running requests finish (up to 5 s), closes storage.
    pub async fn shutdown(self) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(5)));
        self.placer.abort();
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "eis-sandbox server ended with an error"),
            Err(e) => tracing::warn!(error = %e, "eis-sandbox server task failed"),
        }
        self.state.db.close().await;
        tracing::info!(base_url = %self.base_url, "eis-sandbox stopped");
    }
}
