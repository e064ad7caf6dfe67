//! `plangraf`: the procurement planning server, its eis-sandbox, and administration commands.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use plangraf::{AppConfig, default_database_url, demo, keyfile, open_store_with, redact_url, sandbox_dir};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "plangraf", version, about = "Планы-графики закупок по 44-ФЗ и их отправка в ЕИС")]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Common {
    /// Directory for the embedded database, the key file and the sandbox's data.
    #[arg(long, env = "PLANGRAF_DATA_DIR", default_value = "data", global = true)]
    data_dir: PathBuf,
    /// Database URL: sqlite://FILE or postgres://USER:PASSWORD@HOST:PORT/DB. Default: SQLite in the data directory.
    #[arg(long, visible_alias = "database", env = "PLANGRAF_DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Key file sealing ЕИС passwords at rest (created with mode 0600 if missing).
    /// PLANGRAF_SECRET_KEY (64 hex digits) takes precedence.
    #[arg(long, env = "PLANGRAF_SECRET_KEY_FILE", global = true)]
    secret_key_file: Option<PathBuf>,
    /// Directory of the official ЕИС XSD set 14.1 (with fcsIntegration.xsd). When given, every
    /// packet is validated before it is queued. Optional.
    #[arg(long, env = "PLANGRAF_EIS_SCHEMAS", global = true)]
    eis_schemas: Option<PathBuf>,
    /// Log format: `text` (human-readable, on standard output) or `json` (one JSON object a
    /// line, with the request's span fields, on standard error). The filter is PLANGRAF_LOG.
    #[arg(long, env = "PLANGRAF_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
}

/// Sets up logging: the filter from PLANGRAF_LOG (default `info,sqlx=warn`), in `format`.
fn init_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("PLANGRAF_LOG").unwrap_or_else(|_| "info,sqlx=warn".into());
    match format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
        // Standard error, so that every line there is JSON while a command's own output (the
        // address banner, a report) stays on standard output. The current span's fields
        // (`request_id`, `method`, `path` of `web::request_id`) are in `span`, all open spans
        // in `spans`.
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .init(),
    }
}

/// ЭЦП for `serve` and `demo`: off unless trusted roots are given.
#[derive(Args, Debug, Clone, Default)]
struct EcpKnobs {
    /// Directory of the root certificates of the trusted УЦ (PEM or DER files); enables ЭЦП
    /// with qualified ГОСТ certificates: sign-in, signed approvals and signed packets.
    #[arg(long, env = "PLANGRAF_ECP_TRUSTED_ROOTS")]
    ecp_trusted_roots: Option<PathBuf>,
    /// Directory of the УЦ's revocation lists (CRL, PEM or DER); when given, a certificate whose
    /// УЦ has no list in force is refused.
    #[arg(long, env = "PLANGRAF_ECP_CRLS", requires = "ecp_trusted_roots")]
    ecp_crls: Option<PathBuf>,
    /// URL, on plangraf's own origin, of CryptoPro's cadesplugin_api.js (not shipped with plangraf).
    #[arg(long, env = "PLANGRAF_ECP_PLUGIN_SCRIPT", default_value = web::DEFAULT_ECP_PLUGIN_SCRIPT)]
    ecp_plugin_script: String,
}

impl EcpKnobs {
    fn configured(&self) -> bool {
        self.ecp_trusted_roots.is_some()
    }

    fn config(&self) -> anyhow::Result<Option<plangraf::EcpConfig>> {
        let Some(roots) = &self.ecp_trusted_roots else { return Ok(None) };
        anyhow::ensure!(
            self.ecp_plugin_script.starts_with('/') && !self.ecp_plugin_script.starts_with("//"),
            "PLANGRAF_ECP_PLUGIN_SCRIPT: укажите путь на сервере plangraf (начинается с /): \
             политика безопасности страниц не загружает скрипты с других адресов"
        );
        signature::ensure_engine().map_err(|e| anyhow::anyhow!("вход по ЭЦП: {e}"))?;
        let trust = plangraf::load_ecp_trust(roots, self.ecp_crls.as_deref())?;
        tracing::info!(roots = trust.roots(), "ЭЦП: sign-in with certificates is on");
        Ok(Some(plangraf::EcpConfig {
            trust: std::sync::Arc::new(trust),
            plugin_script: self.ecp_plugin_script.clone(),
        }))
    }
}

/// Who may read `/metrics`, for `serve` and `demo`. The bearer token is read from
/// PLANGRAF_METRICS_TOKEN only (not a flag: a flag shows in the process list).
#[derive(Args, Debug, Clone, Default)]
struct MetricsKnobs {
    /// Addresses and networks (comma-separated, e.g. 127.0.0.1,10.0.0.0/8) that may read
    /// /metrics without the token; `none` for none. Default: loopback (127.0.0.0/8, ::1).
    #[arg(long = "metrics-allow", env = "PLANGRAF_METRICS_ALLOW", value_delimiter = ',')]
    metrics_allow: Vec<String>,
}

impl MetricsKnobs {
    fn access(&self) -> anyhow::Result<web::metrics::Access> {
        let allow = web::metrics::Access::parse_allow(&self.metrics_allow)
            .map_err(|e| anyhow::anyhow!("PLANGRAF_METRICS_ALLOW: {e}"))?;
        let token = std::env::var("PLANGRAF_METRICS_TOKEN").ok().filter(|t| !t.is_empty());
        web::metrics::Access::new(allow, token.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))
    }
}

impl Common {
    fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| default_database_url(&self.data_dir))
    }

    fn key_file(&self) -> PathBuf {
        self.secret_key_file.clone().unwrap_or_else(|| self.data_dir.join("secret.key"))
    }

    /// The key: `PLANGRAF_SECRET_KEY`, else the key file, else a new key that
    /// [`plangraf::open_store_with`] writes to the key file once the database accepts it.
    fn key(&self) -> anyhow::Result<keyfile::SecretKey> {
        let env = std::env::var("PLANGRAF_SECRET_KEY").ok();
        keyfile::SecretKey::resolve(env.as_deref(), &self.key_file())
    }

    /// Where the key is, for the reminders of `backup` and `restore` (never the key itself).
    fn key_hint(&self) -> String {
        if std::env::var_os("PLANGRAF_SECRET_KEY").is_some() {
            "значение PLANGRAF_SECRET_KEY".to_owned()
        } else {
            format!("файл ключа {}", self.key_file().display())
        }
    }

    /// The schemas to validate packets with: the configured directory, or for the demo the set
    /// beside the project when it is there. None otherwise: they are optional.
    fn schemas(&self, look_beside: bool) -> anyhow::Result<Option<std::sync::Arc<eis::validate::SchemaSet>>> {
        let dir = match &self.eis_schemas {
            Some(d) => Some(d.clone()),
            None if look_beside => {
                let beside = PathBuf::from("../shared/fixtures/eis/xsd/14_1");
                beside.join("fcsIntegration.xsd").is_file().then_some(beside)
            }
            None => None,
        };
        match dir {
            Some(d) => plangraf::compile_schemas(&d).map(Some),
            None => {
                tracing::info!("no ЕИС schemas configured: packets are checked by the business rules only");
                Ok(None)
            }
        }
    }

    async fn store(&self) -> anyhow::Result<store::Store> {
        std::fs::create_dir_all(&self.data_dir).with_context(|| format!("creating {}", self.data_dir.display()))?;
        open_store_with(&self.database_url(), &self.key()?).await
    }
}

/// How the exchange with ЕИС runs, for `serve` and `demo`; unset values keep the defaults of
/// `exchange::ExchangeConfig` and `eis::client::ClientConfig`.
#[derive(Args, Debug, Clone, Default)]
struct ExchangeKnobs {
    /// How many sends the exchange runner works at once (default 8).
    #[arg(long, env = "PLANGRAF_EIS_CONCURRENCY", value_parser = clap::value_parser!(u16).range(1..=256))]
    eis_concurrency: Option<u16>,
    /// How long a send claimed by an instance stays its own without renewal, in milliseconds
    /// (default 30000); renewed every third of it while the send is in flight. A killed
    /// instance's sends are taken over after it.
    #[arg(long, env = "PLANGRAF_EIS_LEASE_MS", value_parser = clap::value_parser!(u64).range(300..=3_600_000))]
    eis_lease_ms: Option<u64>,
    /// The ЕИС client's longest pause between two reads of a reply, in milliseconds (default 60000).
    #[arg(long, env = "PLANGRAF_EIS_READ_TIMEOUT_MS", hide = true, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    eis_read_timeout_ms: Option<u64>,
    /// The ЕИС client's connect timeout, in milliseconds (default 10000).
    #[arg(long, env = "PLANGRAF_EIS_CONNECT_TIMEOUT_MS", hide = true, value_parser = clap::value_parser!(u64).range(100..=120_000))]
    eis_connect_timeout_ms: Option<u64>,
}

impl ExchangeKnobs {
    fn apply(&self, eis: &mut eis::client::ClientConfig, exchange: &mut exchange::ExchangeConfig) {
        if let Some(n) = self.eis_concurrency {
            exchange.concurrency = usize::from(n);
        }
        if let Some(ms) = self.eis_lease_ms {
            exchange.lease = Duration::from_millis(ms);
            exchange.lease_renewal = exchange.lease / 3;
        }
        if let Some(ms) = self.eis_read_timeout_ms {
            eis.read_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = self.eis_connect_timeout_ms {
            eis.connect_timeout = Duration::from_millis(ms);
        }
    }
}

/// Notifications beyond the application, for `serve` and `demo`: e-mail over SMTP when
/// PLANGRAF_SMTP_HOST is set (the password from PLANGRAF_SMTP_PASSWORD or its file), and when a
/// send counts as unanswered by ЕИС.
#[derive(Args, Debug, Clone, Default)]
struct NotifyKnobs {
    /// The SMTP server that mails notifications; without it, notifications stay in the application.
    #[arg(long, env = "PLANGRAF_SMTP_HOST")]
    smtp_host: Option<String>,
    /// Its port (default: 465 for tls, 587 for starttls, 25 for none).
    #[arg(long, env = "PLANGRAF_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// starttls (default), tls, or none (a relay on this machine or a trusted network only).
    #[arg(long, env = "PLANGRAF_SMTP_SECURITY", default_value = "starttls")]
    smtp_security: String,
    /// The SMTP user, when the server wants one; the password comes from PLANGRAF_SMTP_PASSWORD
    /// or the file PLANGRAF_SMTP_PASSWORD_FILE.
    #[arg(long, env = "PLANGRAF_SMTP_USERNAME")]
    smtp_username: Option<String>,
    /// A file holding the SMTP password (its first line).
    #[arg(long, env = "PLANGRAF_SMTP_PASSWORD_FILE")]
    smtp_password_file: Option<PathBuf>,
    /// The sender of the messages, e.g. "plangraf <plangraf@region.example.ru>".
    #[arg(long, env = "PLANGRAF_SMTP_FROM")]
    smtp_from: Option<String>,
    /// plangraf's address as its users open it, e.g. https://plangraf.region.example.ru: the
    /// links in the messages start with it. Required with PLANGRAF_SMTP_HOST.
    #[arg(long, env = "PLANGRAF_PUBLIC_URL")]
    public_url: Option<String>,
    /// How long a send may wait for ЕИС's final answer before its sender and the administrators
    /// are told, e.g. 30m (default), 90s, 2h; a bare number is minutes.
    #[arg(long, env = "PLANGRAF_EIS_SILENT_AFTER", default_value = "30m", value_parser = parse_duration)]
    eis_silent_after: Duration,
}

/// `90s`, `30m`, `2h`, or a bare number of minutes; from 1 s to 7 days.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "m"),
    };
    let n: u64 = number.parse().map_err(|_| format!("not a duration: {s:?} (e.g. 30m, 90s, 2h)"))?;
    let secs = match unit.trim() {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("not a duration: {s:?} (e.g. 30m, 90s, 2h)")),
    };
    if !(1..=7 * 24 * 3600).contains(&secs) {
        return Err(format!("{s:?} is out of range: from 1s to 7 days"));
    }
    Ok(Duration::from_secs(secs))
}

impl NotifyKnobs {
    fn config(&self) -> anyhow::Result<plangraf::NotifyConfig> {
        let mut config = plangraf::NotifyConfig { eis_silent_after: self.eis_silent_after, ..Default::default() };
        let Some(host) = &self.smtp_host else { return Ok(config) };
        let security = mail::Security::parse(&self.smtp_security).with_context(|| {
            format!("PLANGRAF_SMTP_SECURITY must be starttls, tls or none, not {:?}", self.smtp_security)
        })?;
        let from = self.smtp_from.clone().context("PLANGRAF_SMTP_HOST is set: set PLANGRAF_SMTP_FROM too")?;
        let public_url = self.public_url.clone().context(
            "PLANGRAF_SMTP_HOST is set: set PLANGRAF_PUBLIC_URL too (the links in the messages start with it)",
        )?;
        let mut m = mail::MailConfig::new(host.clone(), from, public_url);
        m.security = security;
        m.port = self.smtp_port.unwrap_or(match security {
            mail::Security::Tls => 465,
            mail::Security::StartTls => 587,
            mail::Security::None => 25,
        });
        m.username = self.smtp_username.clone();
        m.password = match (&self.smtp_password_file, std::env::var("PLANGRAF_SMTP_PASSWORD").ok()) {
            (_, Some(p)) if !p.is_empty() => Some(domain::secret::Secret::new(p)),
            (Some(file), _) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading the SMTP password file {}", file.display()))?;
                Some(domain::secret::Secret::new(text.lines().next().unwrap_or_default().to_owned()))
            }
            _ => None,
        };
        config.mail = Some(m);
        Ok(config)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Runs plangraf with eis-sandbox and demo data on the embedded database.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:8443")]
        sandbox_listen: SocketAddr,
        /// How long the sandbox keeps a packet `processing`, in milliseconds.
        #[arg(long, default_value_t = 3000)]
        processing_delay_ms: u64,
        /// Place every loaded draft in the sandbox automatically this many milliseconds after
        /// its result is due, as the customer would in the cabinet (for measurements). Off by default.
        #[arg(long)]
        sandbox_auto_place_ms: Option<u64>,
        #[command(flatten)]
        knobs: ExchangeKnobs,
        #[command(flatten)]
        metrics: MetricsKnobs,
        #[command(flatten)]
        notify: NotifyKnobs,
        #[command(flatten)]
        ecp: EcpKnobs,
    },
    /// Runs the plangraf server and its exchange runner.
    Serve {
        #[arg(long, env = "PLANGRAF_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Base URL of ЕИС's HTTPS integration (for eis-sandbox: https://127.0.0.1:8443).
        #[arg(long, env = "PLANGRAF_EIS_BASE_URL", default_value = "https://127.0.0.1:8443")]
        eis_url: String,
        /// PEM file of the certificates to trust for ЕИС (for eis-sandbox: DATA_DIR/sandbox/sandbox-cert.pem).
        #[arg(long, env = "PLANGRAF_EIS_CA_FILE")]
        eis_ca_file: Option<PathBuf>,
        /// Send session cookies with the Secure flag (behind HTTPS).
        #[arg(long, env = "PLANGRAF_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Addresses of the reverse proxies in front of plangraf (comma-separated); from them,
        /// the client's address is taken from X-Forwarded-For (for sign-in throttling).
        #[arg(long = "trusted-proxy", env = "PLANGRAF_TRUSTED_PROXIES", value_delimiter = ',')]
        trusted_proxies: Vec<std::net::IpAddr>,
        /// Hours after its first attempt that a send ЕИС gives no usable answer to is given up.
        #[arg(long, env = "PLANGRAF_EIS_RETRY_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=720))]
        eis_retry_hours: u64,
        #[command(flatten)]
        knobs: ExchangeKnobs,
        #[command(flatten)]
        metrics: MetricsKnobs,
        #[command(flatten)]
        notify: NotifyKnobs,
        #[command(flatten)]
        ecp: EcpKnobs,
    },
    /// Applies pending database migrations and exits.
    Migrate,
    /// Writes a consistent copy of the embedded database (SQLite) to FILE, also while plangraf
    /// is running. The key file is not in it: back it up separately. PostgreSQL: pg_dump.
    Backup {
        /// The copy to write; it must not exist.
        file: PathBuf,
    },
    /// Replaces the embedded database (SQLite) with the backup FILE; only while no plangraf
    /// has it open. The current database is kept aside under a name with the time.
    Restore {
        /// A copy written by `plangraf backup`.
        file: PathBuf,
    },
    /// Runs eis-sandbox, the local ЕИС, over HTTPS.
    EisSandbox {
        #[arg(long, env = "PLANGRAF_SANDBOX_LISTEN", default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        #[arg(long, env = "PLANGRAF_SANDBOX_PROCESSING_DELAY_MS", default_value_t = 3000)]
        processing_delay_ms: u64,
        /// Also create the demo organizations and users in the sandbox.
        #[arg(long)]
        demo: bool,
        /// Place every loaded draft automatically this many milliseconds after its result is
        /// due, as the customer would in the cabinet (for benchmarks and tests). Off by default.
        #[arg(long, env = "PLANGRAF_SANDBOX_AUTO_PLACE_MS")]
        auto_place_ms: Option<u64>,
        /// Remember a verified integration password this many milliseconds, so repeated calls
        /// skip Argon2 (for benchmarks). Off by default: every call is verified.
        #[arg(long, env = "PLANGRAF_SANDBOX_CREDENTIAL_CACHE_MS")]
        credential_cache_ms: Option<u64>,
        /// Directory of the root certificates of the УЦ whose certificates may sign packets (PEM
        /// or DER files): a packet with a non-empty index/signature is checked against them.
        /// Without it, a signed packet is refused (errCode ECP_TRUST).
        #[arg(long = "ecp-trusted-roots", env = "PLANGRAF_SANDBOX_ECP_TRUSTED_ROOTS")]
        sandbox_ecp_roots: Option<PathBuf>,
        /// Directory of those УЦ's revocation lists (CRL, PEM or DER).
        #[arg(long = "ecp-crls", env = "PLANGRAF_SANDBOX_ECP_CRLS", requires = "sandbox_ecp_roots")]
        sandbox_ecp_crls: Option<PathBuf>,
    },
    /// Organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Reference data (НСИ).
    #[command(subcommand)]
    Nsi(NsiCommand),
    /// Users' qualified certificates (ЭЦП, ГОСТ Р 34.10-2012).
    #[command(subcommand)]
    Cert(CertCommand),
}

#[derive(Subcommand)]
enum CertCommand {
    /// Binds a certificate (PEM or DER file) to a user; shows its owner, СНИЛС/ИНН, issuer,
    /// validity and thumbprint. A certificate not yet valid or expired is refused.
    Bind {
        /// The user's login.
        login: String,
        /// The certificate file (.cer, .crt or .pem).
        file: PathBuf,
    },
    /// Lists the certificates bound to a user.
    List {
        /// The user's login.
        login: String,
    },
    /// Unbinds a certificate from a user.
    Unbind {
        /// The user's login.
        login: String,
        /// The certificate's thumbprint (SHA-1, 40 hex digits, as CryptoPro shows it).
        thumbprint: String,
    },
}

#[derive(Subcommand)]
enum NsiCommand {
    /// Loads a catalog from an ЕИС NSI export XML file (ОКПД2, КВР, change reasons, special
    /// purchase types or КБК). Records missing from the file are marked not actual.
    Load {
        /// The XML file (unpacked from ЕИС's ZIP archive).
        file: PathBuf,
        /// The file is a part of the catalog: leave records it does not list as they are.
        #[arg(long)]
        partial: bool,
        /// Confirm a full load that marks records not actual (otherwise it only shows the counts).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Adds an organization (kept unchanged if its СПЗ code exists).
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        short_name: Option<String>,
        /// Код по СПЗ, 11 digits.
        #[arg(long)]
        spz: String,
        #[arg(long)]
        inn: String,
        #[arg(long)]
        kpp: String,
        /// 01, 02, 03, 05, 08 or 10.
        #[arg(long)]
        org_type: String,
        /// 1 federal, 2 subject, 3 municipal (first digit of the ИКУ).
        #[arg(long, default_value_t = 2)]
        budget_level: u8,
        #[arg(long, default_value = "")]
        oktmo: String,
        /// СПЗ code of the superior organization.
        #[arg(long)]
        superior_spz: Option<String>,
    },
    /// Checks ЕИС's «Сводный перечень заказчиков» (an nsiOrganizationList export XML) and, with
    /// --yes and no error in it, creates or updates its organizations by СПЗ code.
    Load {
        /// The export file.
        file: PathBuf,
        /// Load it (without: only check and say what loading would do).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds a user to an organization.
    Add {
        #[arg(long)]
        login: String,
        /// Read the password from the first line of standard input (preferred), else from
        /// PLANGRAF_USER_PASSWORD.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        full_name: String,
        /// СПЗ code of the user's organization.
        #[arg(long)]
        org_spz: String,
        /// customer, approver or admin; several as a comma list (`customer,approver`) or by
        /// repeating the option.
        #[arg(long, required = true)]
        role: Vec<String>,
    },
    /// Sets a new password; ends the user's sessions and revokes their API tokens.
    Passwd {
        #[arg(long)]
        login: String,
        /// Read the password from the first line of standard input (preferred), else from
        /// PLANGRAF_USER_PASSWORD.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lifts the sign-in delays of a login after failed attempts (from every address).
    Unlock {
        #[arg(long)]
        login: String,
    },
    /// Blocks a user: no sign-in; their sessions end and their API tokens are revoked.
    Block {
        #[arg(long)]
        login: String,
    },
    /// Lets a blocked user sign in again.
    Unblock {
        #[arg(long)]
        login: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let needs_engine = match &cli.command {
        Command::Cert(_) => true,
        Command::Serve { ecp, .. } | Command::Demo { ecp, .. } => ecp.configured(),
        Command::EisSandbox { sandbox_ecp_roots, .. } => sandbox_ecp_roots.is_some(),
        _ => false,
    };
    if needs_engine {
        // Certificates are read by OpenSSL with the ГОСТ engine, which OpenSSL loads only from
        // the configuration it reads at its start in the process: without OPENSSL_CONF, the
        // process starts again with it (signature::engine). Nothing has used OpenSSL yet.
        signature::engine::restart_with_engine()
            .context("не удалось перезапуститься с настройкой ГОСТ-модуля OpenSSL")?;
    }
    init_logging(cli.common.log_format);
    plangraf::install_crypto_provider();
    plangraf::return_big_allocations_to_the_system();
    match cli.command {
        Command::Demo {
            listen,
            sandbox_listen,
            processing_delay_ms,
            sandbox_auto_place_ms,
            knobs,
            metrics,
            notify,
            ecp,
        } => {
            let ecp = ecp.config()?;
            let sandbox = DemoSandbox {
                listen: sandbox_listen,
                delay_ms: processing_delay_ms,
                auto_place_ms: sandbox_auto_place_ms,
            };
            run_demo(&cli.common, listen, sandbox, &knobs, metrics.access()?, &notify, ecp).await
        }
        Command::Serve {
            listen,
            eis_url,
            eis_ca_file,
            secure_cookies,
            trusted_proxies,
            eis_retry_hours,
            knobs,
            metrics,
            notify,
            ecp,
        } => {
            let ecp = ecp.config()?;
            let access = metrics.access()?;
            let notify = notify.config()?;
            let store = cli.common.store().await?;
            let mut eis = eis::client::ClientConfig::new(eis_url);
            eis.ca_file = eis_ca_file;
            let mut exchange = exchange::ExchangeConfig {
                schemas: cli.common.schemas(false)?,
                retry_ceiling: Duration::from_secs(eis_retry_hours * 3600),
                ..Default::default()
            };
            knobs.apply(&mut eis, &mut exchange);
            let config = AppConfig {
                database_url: cli.common.database_url(),
                listen,
                eis,
                exchange,
                secure_cookies,
                trusted_proxies,
                run_exchange: true,
                metrics: access,
                notify,
                ecp,
            };
            let app = plangraf::start(config, store).await?;
            println!("plangraf: {}", app.url());
            wait_for_shutdown().await;
            app.shutdown().await;
            Ok(())
        }
        Command::Migrate => {
            let store = cli.common.store().await?;
            println!("Миграции применены: {}", redact_url(&cli.common.database_url()));
            store.close().await;
            Ok(())
        }
        Command::Backup { file } => {
            let report = plangraf::backups::backup(&cli.common.database_url(), &file, &cli.common.key_hint()).await?;
            println!("{report}");
            Ok(())
        }
        Command::Restore { file } => {
            let report = plangraf::backups::restore(&cli.common.database_url(), &file, &cli.common.key_hint()).await?;
            println!("{report}");
            Ok(())
        }
        Command::EisSandbox {
            listen,
            processing_delay_ms,
            demo: with_demo,
            auto_place_ms,
            credential_cache_ms,
            sandbox_ecp_roots,
            sandbox_ecp_crls,
        } => {
            let trust = match &sandbox_ecp_roots {
                Some(roots) => {
                    signature::ensure_engine().map_err(|e| anyhow::anyhow!("проверка подписи пакетов: {e}"))?;
                    Some(std::sync::Arc::new(plangraf::load_ecp_trust(roots, sandbox_ecp_crls.as_deref())?))
                }
                None => None,
            };
            let sb =
                start_sandbox(&cli.common.data_dir, listen, processing_delay_ms, cli.common.schemas(true)?).await?;
            sb.set_ecp_trust(trust);
            sb.set_auto_place(auto_place_ms.map(Duration::from_millis));
            sb.directory().set_credential_cache(credential_cache_ms.map(Duration::from_millis));
            if with_demo {
                demo::load_sandbox(&sb.directory()).await?;
            }
            println!("eis-sandbox: {}\nСертификат для клиента: {}", sb.base_url, sb.ca_cert_path.display());
            wait_for_shutdown().await;
            sb.shutdown().await;
            Ok(())
        }
        Command::Org(OrgCommand::Add {
            name,
            short_name,
            spz,
            inn,
            kpp,
            org_type,
            budget_level,
            oktmo,
            superior_spz,
        }) => {
            let spz = domain::SpzCode::parse(&spz)?;
            let inn = domain::org::Inn::parse(&inn)?;
            let kpp = domain::org::Kpp::parse(&kpp)?;
            let org_type = domain::OrgType::parse(&org_type)?;
            let store = cli.common.store().await?;
            let superior_id = match superior_spz {
                Some(s) => Some(
                    store
                        .organization_by_spz(&s)
                        .await?
                        .with_context(|| format!("нет организации с кодом СПЗ {s}"))?
                        .id,
                ),
                None => None,
            };
            let org = store
                .ensure_organization(&store::orgs::NewOrganization {
                    name: &name,
                    short_name: short_name.as_deref().unwrap_or(&name),
                    superior_id,
                    spz_code: spz,
                    inn,
                    kpp,
                    org_type,
                    budget_level,
                    oktmo: &oktmo,
                })
                .await?;
            println!("Организация {} (id {})", org.short_name, org.id);
            Ok(())
        }
        Command::Org(OrgCommand::Load { file, yes }) => load_organizations(&cli.common, &file, yes).await,
        Command::Nsi(NsiCommand::Load { file, partial, yes }) => load_nsi(&cli.common, &file, partial, yes).await,
        Command::User(command) => user_command(&cli.common, command).await,
        Command::Cert(command) => cert_command(&cli.common, command).await,
    }
}

/// The new password of `user add` / `user passwd`: standard input or the environment.
fn read_new_password(password_stdin: bool) -> anyhow::Result<String> {
    if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        std::env::var("PLANGRAF_USER_PASSWORD").context("укажите --password-stdin или PLANGRAF_USER_PASSWORD")
    }
}

/// A refusal of the workflow as the command line reports it.
fn refused(e: app::Error) -> anyhow::Error {
    match e {
        app::Error::Fields { errors, message } if !errors.is_empty() => {
            anyhow::anyhow!("{}", errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; ")).context(message)
        }
        app::Error::Internal(_) => anyhow::anyhow!("{}", e.chain()),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn user_command(common: &Common, command: UserCommand) -> anyhow::Result<()> {
    let admin = app::users::Administration::new(common.store().await?);
    match command {
        UserCommand::Add { login, password_stdin, full_name, org_spz, role } => {
            let roles = domain::Roles::parse(role.iter().flat_map(|r| r.split(','))).map_err(|e| match e {
                domain::role::RolesError::Empty => {
                    anyhow::anyhow!("--role: укажите хотя бы одну роль: customer, approver, admin")
                }
                e => anyhow::anyhow!("--role: {e}"),
            })?;
            let password = read_new_password(password_stdin)?;
            let (user, org) = admin.add_user(&login, password, &full_name, &org_spz, roles).await.map_err(refused)?;
            println!(
                "Пользователь {} (id {}, роли: {}) добавлен в {}",
                user.login, user.id, user.roles, org.short_name
            );
        }
        UserCommand::Passwd { login, password_stdin } => {
            let password = read_new_password(password_stdin)?;
            let user = admin.set_password(&login, password).await.map_err(refused)?;
            println!("Пароль пользователя {} изменён; его сеансы завершены, API-токены отозваны.", user.login);
        }
        UserCommand::Unlock { login } => {
            let (user, removed) = admin.unlock_sign_in(&login).await.map_err(refused)?;
            println!("Задержки входа для {} сняты (записей: {removed}).", user.login);
        }
        UserCommand::Block { login } => {
            let user = admin.set_blocked(&login, true).await.map_err(refused)?;
            println!("Пользователь {} заблокирован; его сеансы завершены, API-токены отозваны.", user.login);
        }
        UserCommand::Unblock { login } => {
            let user = admin.set_blocked(&login, false).await.map_err(refused)?;
            println!("Пользователь {} разблокирован.", user.login);
        }
    }
    Ok(())
}

async fn cert_command(common: &Common, command: CertCommand) -> anyhow::Result<()> {
    let admin = app::users::Administration::new(common.store().await?);
    match command {
        CertCommand::Bind { login, file } => {
            let bytes = read_certificate_file(&file)?;
            let bound = admin.bind_certificate(None, &login, &bytes, chrono::Utc::now()).await.map_err(refused)?;
            let what = if bound.already { "уже был привязан к" } else { "привязан к" };
            println!("Сертификат {what} пользователю {} ({}).", bound.user.login, bound.user.full_name);
            print!("{}", describe_certificate(&bound.bound.certificate));
        }
        CertCommand::List { login } => {
            let (user, list) = admin.certificates(&login).await.map_err(refused)?;
            if list.is_empty() {
                println!("У пользователя {} нет привязанных сертификатов.", user.login);
            }
            let now = chrono::Utc::now();
            for (i, bound) in list.iter().enumerate() {
                let c = &bound.certificate;
                let state = if c.not_after < now {
                    "истёк".to_string()
                } else if c.not_before > now {
                    "ещё не действует".to_string()
                } else {
                    format!("действует, осталось дней: {}", (c.not_after - now).num_days())
                };
                println!("{}. {state}; привязан {}", i + 1, bound.bound_at.format("%d.%m.%Y %H:%M UTC"));
                print!("{}", describe_certificate(c));
            }
        }
        CertCommand::Unbind { login, thumbprint } => {
            let user = admin.unbind_certificate(None, &login, &thumbprint).await.map_err(refused)?;
            println!("Сертификат отвязан от пользователя {}.", user.login);
        }
    }
    Ok(())
}

/// A certificate file, refused unread beyond the size a certificate can have.
fn read_certificate_file(file: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(file).with_context(|| format!("не удалось прочитать файл {}", file.display()))?.len();
    if size > signature::MAX_CERTIFICATE_BYTES as u64 {
        bail!("файл {} больше {} КБ: это не сертификат", file.display(), signature::MAX_CERTIFICATE_BYTES / 1024);
    }
    std::fs::read(file).with_context(|| format!("не удалось прочитать файл {}", file.display()))
}

fn describe_certificate(c: &store::certificates::CertificateRecord) -> String {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    format!(
        "   Владелец: {}\n   СНИЛС: {}\n   ИНН: {}\n   Издатель (УЦ): {}\n   Действует: с {} по {}\n   Серийный номер: {}\n   Отпечаток: {}\n",
        c.subject_name,
        or_dash(&c.snils),
        or_dash(&c.inn),
        c.issuer,
        c.not_before.format("%d.%m.%Y %H:%M UTC"),
        c.not_after.format("%d.%m.%Y %H:%M UTC"),
        c.serial,
        c.thumbprint
    )
}

async fn load_nsi(common: &Common, file: &Path, partial: bool, confirmed: bool) -> anyhow::Result<()> {
    let size = std::fs::metadata(file).with_context(|| format!("не удалось прочитать файл {}", file.display()))?.len();
    if size > eis::bounds::NSI.max_bytes as u64 {
        bail!(
            "файл {} больше {} МБ: это не выгрузка одного справочника НСИ ЕИС",
            file.display(),
            eis::bounds::NSI.max_bytes / 1024 / 1024
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("не удалось прочитать файл {}", file.display()))?;
    let store = common.store().await?;
    let admin = app::users::Administration::new(store.clone());
    let source =
        file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| file.display().to_string());
    let confirmation = if confirmed { app::users::Confirmation::Any } else { app::users::Confirmation::None };
    let reading = spinner(format!("Чтение {source} и сравнение со справочником"));
    let checked = admin.prepare_nsi(None, bytes, &source, partial, confirmation).await;
    reading.finish_and_clear();
    let outcome = match checked {
        Ok(app::users::NsiCheck::Ready(prepared)) => {
            let bar = counter(prepared.len(), "Запись справочника");
            let written = prepared.write(&admin, &|done| bar.set_position(done as u64)).await;
            bar.finish_and_clear();
            written.map(app::users::NsiLoad::Loaded)
        }
        Ok(app::users::NsiCheck::NeedsConfirmation(preview)) => Ok(app::users::NsiLoad::NeedsConfirmation(preview)),
        Err(e) => Err(e),
    };
    store.close().await;
    match outcome.map_err(refused)? {
        app::users::NsiLoad::NeedsConfirmation(app::users::NsiPreview { catalog, entries, preview, .. }) => bail!(
            "файл {source} содержит {entries} записей справочника «{}»: загрузка добавит {}, изменит {} и снимет актуальность с {} записей, \
             которых нет в файле. Ничего не изменено. Если файл — часть справочника, добавьте --partial; \
             если это полный справочник, повторите команду с --yes.",
            catalog.title(),
            preview.added,
            preview.updated,
            preview.retired
        ),
        app::users::NsiLoad::Loaded(loaded) => println!("{} (из {source}).", loaded.summary_ru()),
    }
    Ok(())
}

/// A spinner on standard error while a step of unknown length runs; nothing when it is not a
/// terminal (scripts and logs get only the closing line).
fn spinner(message: String) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner().with_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A progress bar of `total` items on standard error; nothing when it is not a terminal.
fn counter(total: usize, message: &'static str) -> indicatif::ProgressBar {
    let style = indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({percent}%), осталось {eta}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
    indicatif::ProgressBar::new(total as u64).with_style(style).with_message(message)
}

/// `plangraf org load`: the check of a «Сводный перечень заказчиков», then the load with --yes.
async fn load_organizations(common: &Common, file: &Path, confirmed: bool) -> anyhow::Result<()> {
    let size = std::fs::metadata(file).with_context(|| format!("не удалось прочитать файл {}", file.display()))?.len();
    if size > eis::bounds::NSI.max_bytes as u64 {
        bail!("файл {} больше {} МБ", file.display(), eis::bounds::NSI.max_bytes / 1024 / 1024);
    }
    let bytes = std::fs::read(file).with_context(|| format!("не удалось прочитать файл {}", file.display()))?;
    let store = common.store().await?;
    let admin = app::users::Administration::new(store.clone());
    let reading = spinner(format!("Проверка файла {}", file.display()));
    let bar = std::sync::OnceLock::new();
    let outcome = if confirmed {
        let progress = |p: app::onboarding::ListProgress| match p {
            app::onboarding::ListProgress::Total(total) => {
                reading.finish_and_clear();
                let _ = bar.set(counter(total, "Запись организаций"));
            }
            app::onboarding::ListProgress::Done(done) => {
                if let Some(bar) = bar.get() {
                    bar.set_position(done as u64);
                }
            }
        };
        admin.load_organization_list(None, bytes, &progress).await
    } else {
        admin.check_organization_list(None, bytes).await.map(Err)
    };
    reading.finish_and_clear();
    if let Some(bar) = bar.get() {
        bar.finish_and_clear();
    }
    store.close().await;
    let check = match outcome.map_err(refused)? {
        Ok(loaded) => {
            println!(
                "Организации загружены: создано {}, обновлено {}, без изменений {}.",
                loaded.created, loaded.updated, loaded.unchanged
            );
            return Ok(());
        }
        Err(check) => check,
    };
    println!(
        "В файле организаций: новых {}, с изменениями {}, без изменений {}, неактуальных (пропускаются) {}, \
         иностранных (пропускаются) {}, с ошибками {}.",
        check.new_count(),
        check.changed_count(),
        check.unchanged_count(),
        check.not_actual_count(),
        check.foreign,
        check.refused_count()
    );
    for (row, errors) in check.refused().take(100) {
        println!("  запись {} (СПЗ {}, {}):", row.position, row.spz, row.name.chars().take(80).collect::<String>());
        for e in errors {
            println!("    — {e}");
        }
    }
    if check.refused_count() > 100 {
        println!("  … и ещё {} записей с ошибками", check.refused_count() - 100);
    }
    if check.refused_count() > 0 {
        bail!("в файле есть ошибки: исправьте их и повторите. Ничего не изменено.");
    }
    if !confirmed {
        println!("Ничего не изменено. Чтобы загрузить, повторите команду с --yes.");
    }
    Ok(())
}

async fn start_sandbox(
    data_dir: &Path,
    listen: SocketAddr,
    delay_ms: u64,
    schemas: Option<std::sync::Arc<eis::validate::SchemaSet>>,
) -> anyhow::Result<sandbox::RunningSandbox> {
    sandbox::start(sandbox::SandboxConfig {
        listen,
        data_dir: sandbox_dir(data_dir),
        processing_delay: Duration::from_millis(delay_ms),
        schemas,
    })
    .await
    .context("starting eis-sandbox")
}

/// The demo's eis-sandbox: its address, processing delay and automatic placement.
struct DemoSandbox {
    listen: SocketAddr,
    delay_ms: u64,
    auto_place_ms: Option<u64>,
}

async fn run_demo(
    common: &Common,
    listen: SocketAddr,
    sandbox: DemoSandbox,
    knobs: &ExchangeKnobs,
    metrics: web::metrics::Access,
    notify: &NotifyKnobs,
    ecp: Option<plangraf::EcpConfig>,
) -> anyhow::Result<()> {
    let DemoSandbox { listen: sandbox_listen, delay_ms, auto_place_ms } = sandbox;
    let notify = notify.config()?;
    // One compiled schema set serves both sides.
    let schemas = common.schemas(true)?;
    let sb = start_sandbox(&common.data_dir, sandbox_listen, delay_ms, schemas.clone()).await?;
    sb.set_auto_place(auto_place_ms.map(Duration::from_millis));
    // The demo's ЕИС trusts the УЦ plangraf trusts: it checks the packets plangraf signs.
    sb.set_ecp_trust(ecp.as_ref().map(|e| e.trust.clone()));
    demo::load_sandbox(&sb.directory()).await?;
    let store = common.store().await?;
    demo::load(&store).await?;
    let mut eis = eis::client::ClientConfig::new(sb.base_url.clone());
    eis.ca_file = Some(sb.ca_cert_path.clone());
    let mut exchange = exchange::ExchangeConfig {
        poll_interval: Duration::from_secs(2),
        publication_poll_interval: Duration::from_secs(3),
        schemas,
        ..Default::default()
    };
    knobs.apply(&mut eis, &mut exchange);
    let config = AppConfig {
        database_url: common.database_url(),
        listen,
        eis,
        exchange,
        secure_cookies: false,
        trusted_proxies: Vec::new(),
        run_exchange: true,
        metrics,
        notify,
        ecp,
    };
    let app = plangraf::start(config, store).await?;
    println!(
        "\nplangraf (демонстрация) запущен.\n\n  plangraf:    {}\n  eis-sandbox: {}  (личный кабинет ЕИС)\n\n\
         Пользователи plangraf (логин / пароль):\n  zakazchik / zakazchik        — специалист заказчика, ГБОУ «Школа № 1»\n  \
         soglasovatel / soglasovatel  — согласующий, Комитет по образованию\n  \
         komitet / komitet            — специалист Комитета: размещает планы подведомственных по соглашению (OA)\n  \
         admin / admin                — администратор\n\n\
         Пользователи eis-sandbox (логин / пароль):\n  eis_admin / eis_admin  — администратор организации ГБОУ «Школа № 1» в ЕИС\n  \
         eis_user / eis_user    — пользователь ЕИС с правом работы с планом-графиком\n  \
         eis_komitet / eis_komitet — администратор организации Комитет по образованию в ЕИС\n\n\
         Данные: {}. Остановить: Ctrl+C.",
        app.url(),
        sb.base_url,
        common.data_dir.display()
    );
    wait_for_shutdown().await;
    app.shutdown().await;
    sb.shutdown().await;
    Ok(())
}

async fn wait_for_shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Fault tests and operators start the binary with these variables: their names are a contract.
    #[test]
    fn serve_and_demo_take_the_exchange_knobs_from_these_variables() {
        let cli = Cli::command();
        for sub in ["serve", "demo"] {
            let cmd = cli.find_subcommand(sub).unwrap();
            let envs: Vec<String> =
                cmd.get_arguments().filter_map(|a| a.get_env()).map(|e| e.to_string_lossy().into_owned()).collect();
            for name in [
                "PLANGRAF_EIS_CONCURRENCY",
                "PLANGRAF_EIS_LEASE_MS",
                "PLANGRAF_EIS_READ_TIMEOUT_MS",
                "PLANGRAF_EIS_CONNECT_TIMEOUT_MS",
            ] {
                assert!(envs.iter().any(|e| e == name), "{sub} lacks {name}: {envs:?}");
            }
        }
    }

    #[test]
    fn metrics_access_and_the_log_format_are_read_from_these_variables() {
        let cli = Cli::command();
        let envs = |cmd: &clap::Command| -> Vec<String> {
            cmd.get_arguments().filter_map(|a| a.get_env()).map(|e| e.to_string_lossy().into_owned()).collect()
        };
        for sub in ["serve", "demo"] {
            let names = envs(cli.find_subcommand(sub).unwrap());
            assert!(names.iter().any(|e| e == "PLANGRAF_METRICS_ALLOW"), "{sub}: {names:?}");
        }
        assert!(envs(&cli).iter().any(|e| e == "PLANGRAF_LOG_FORMAT"));
        let parsed = |args: &[&str]| Cli::try_parse_from([&["plangraf"], args].concat());
        let Ok(Cli { common, command: Command::Serve { metrics, .. } }) =
            parsed(&["--log-format", "json", "serve", "--metrics-allow", "10.0.0.0/8,::1"])
        else {
            panic!("serve with metrics flags")
        };
        assert_eq!(common.log_format, LogFormat::Json);
        assert_eq!(metrics.metrics_allow, ["10.0.0.0/8", "::1"]);
        assert!(metrics.access().is_ok());
        assert!(parsed(&["--log-format", "xml", "serve"]).is_err());
        let Ok(Cli { command: Command::Serve { metrics, .. }, .. }) =
            parsed(&["serve", "--metrics-allow", "localhost"])
        else {
            panic!("serve")
        };
        let refused = metrics.access().unwrap_err().to_string();
        assert!(refused.contains("PLANGRAF_METRICS_ALLOW") && refused.contains("localhost"), "{refused}");
    }

    #[test]
    fn exchange_knobs_set_what_they_name_and_leave_the_defaults_otherwise() {
        let knobs = |args: &[&str]| match Cli::try_parse_from([&["plangraf", "serve"], args].concat()) {
            Ok(Cli { command: Command::Serve { knobs, .. }, .. }) => Ok(knobs),
            Ok(_) => panic!("not serve"),
            Err(e) => Err(e.kind()),
        };
        let (mut eis, mut ex) = (eis::client::ClientConfig::new("https://x"), exchange::ExchangeConfig::default());
        knobs(&[]).unwrap().apply(&mut eis, &mut ex);
        assert_eq!((ex.concurrency, ex.lease, ex.lease_renewal), (8, Duration::from_secs(30), Duration::from_secs(10)));
        assert_eq!((eis.connect_timeout, eis.read_timeout), (Duration::from_secs(10), Duration::from_secs(60)));
        let set = knobs(&[
            "--eis-concurrency",
            "32",
            "--eis-lease-ms",
            "1500",
            "--eis-read-timeout-ms",
            "2000",
            "--eis-connect-timeout-ms",
            "700",
        ])
        .unwrap();
        set.apply(&mut eis, &mut ex);
        assert_eq!(
            (ex.concurrency, ex.lease, ex.lease_renewal),
            (32, Duration::from_millis(1500), Duration::from_millis(500))
        );
        assert_eq!((eis.connect_timeout, eis.read_timeout), (Duration::from_millis(700), Duration::from_millis(2000)));
        for wrong in [["--eis-concurrency", "0"], ["--eis-lease-ms", "10"], ["--eis-read-timeout-ms", "0"]] {
            assert_eq!(knobs(&wrong).unwrap_err(), clap::error::ErrorKind::ValueValidation, "{wrong:?}");
        }
    }
}
