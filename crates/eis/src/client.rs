//! HTTPS client of the ЕИС alternative integration (login/password), PRODUCT.md §7:
//!
//! * `POST {base}/44fz/integration/upload` — multipart form `login`, `password`, `document`;
//! * `POST {base}/44fz/integration/status` — urlencoded form `login`, `password`, `refId`.
//!
//! 200 carries a `confirmation`; 401 and 403 carry an `errorInfo`. Every reply keeps its raw
//! body, so nothing ЕИС said is lost, whatever the outcome.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use domain::secret::Secret;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::packet::read_packet_index;
use crate::reply::{Confirmation, ErrorInfo, read_confirmation, read_error_info};

pub const UPLOAD_PATH: &str = "/44fz/integration/upload";
pub const STATUS_PATH: &str = "/44fz/integration/status";

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://host[:port][/prefix]`; only HTTPS is accepted.
    pub base_url: String,
    /// PEM file with the certificates to trust; `None` trusts the system's root store.
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// Longest pause between two reads of the reply.
    pub read_timeout: Duration,
}

impl ClientConfig {
    /// Defaults: 10 s to connect, 60 s between reads.
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            ca_file: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// A ЕИС user's alternative-integration login and password; `Debug` shows no password.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub login: String,
    pub password: Secret,
}

/// A reply that was understood, with what came over the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<T> {
    pub value: T,
    pub http_status: u16,
    /// The body exactly as received (lossily decoded if it was not UTF-8).
    pub raw: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// 401: wrong login or password (or the password was regenerated, or the user is blocked).
    #[error("ЕИС rejected the credentials (401): {} {}", info.code, info.message)]
    Unauthorized { info: ErrorInfo, raw: String },
    /// 403: the user has no right to work with plan-schedules.
    #[error("ЕИС refused access (403): {} {}", info.code, info.message)]
    Forbidden { info: ErrorInfo, raw: String },
    /// No usable HTTP exchange: connect, TLS, timeout, dropped connection.
    #[error("transport failure: {0}")]
    Transport(String),
    /// 5xx and every other status the contract does not name.
    #[error("unexpected HTTP status {status}")]
    Server { status: u16, raw: String },
    /// A 200 whose body is not the confirmation it should be.
    #[error("malformed reply: {reason}")]
    Malformed { reason: String, raw: String },
    /// The client could not be built from its configuration (only from [`EisClient::new`]).
    #[error("client configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// Whether sending the same request again later may succeed (network trouble, 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Transport(_) => true,
            ClientError::Server { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The raw body ЕИС sent, where there was one.
    pub fn raw(&self) -> Option<&str> {
        match self {
            ClientError::Unauthorized { raw, .. }
            | ClientError::Forbidden { raw, .. }
            | ClientError::Server { raw, .. }
            | ClientError::Malformed { raw, .. } => Some(raw),
            ClientError::Transport(_) | ClientError::Config(_) => None,
        }
    }
}

/// The multipart form of the upload call (RFC 7578): the credentials and one packet as
/// `document`, in one buffer.
///
/// Not reqwest's streamed `multipart::Form`: a streamed body cannot be sent again whole, and a
/// request whose body stream was partly read before its connection failed must never reach ЕИС
/// as a cut-off form. A buffer goes out with its `Content-Length`, the same bytes every time.
struct UploadForm {
    content_type: String,
    body: Vec<u8>,
}

fn upload_form(creds: &Credentials, xml: &str) -> UploadForm {
    let fields = [creds.login.as_str(), creds.password.expose(), xml];
    // A boundary must not occur in any part; a random one practically never does, but say so.
    let boundary = loop {
        let b = format!("plangraf-{}", uuid::Uuid::new_v4().simple());
        if !fields.iter().any(|f| f.contains(&b)) {
            break b;
        }
    };
    let mut body = Vec::with_capacity(xml.len() + 512);
    let mut part = |headers: &str, value: &str| {
        body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    };
    part("Content-Disposition: form-data; name=\"login\"", fields[0]);
    part("Content-Disposition: form-data; name=\"password\"", fields[1]);
    part(
        "Content-Disposition: form-data; name=\"document\"; filename=\"packet.xml\"\r\nContent-Type: text/xml; charset=utf-8",
        fields[2],
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    UploadForm { content_type: format!("multipart/form-data; boundary={boundary}"), body }
}

impl EisClient {
    /// Posts `form` to the upload address.
    async fn post_form(&self, form: UploadForm) -> Result<reqwest::Response, ClientError> {
        self.http
            .post(self.upload_url.clone())
            .header(reqwest::header::CONTENT_TYPE, form.content_type)
            .body(form.body)
            .send()
            .await
            .map_err(transport)
    }
}

/// The client. Cloning is cheap and clones share one connection pool.
#[derive(Clone)]
pub struct EisClient {
    http: reqwest::Client,
    upload_url: reqwest::Url,
    status_url: reqwest::Url,
    /// Where each call's round trip is observed ([`EisClient::with_metrics`]).
    metrics: Option<metrics::Metrics>,
}

impl fmt::Debug for EisClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EisClient").field("upload_url", &self.upload_url.as_str()).finish()
    }
}

fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let bad = |e: &dyn fmt::Display| ClientError::Config(format!("CA file {}: {e}", path.display()));
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(&e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(&e))?;
            if certs.is_empty() {
                return Err(bad(&"no certificates in the file"));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| bad(&e))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                // One unusable system certificate must not disable all the others.
                if let Err(e) = roots.add(cert) {
                    tracing::debug!(error = %e, "skipping an unusable system root certificate");
                }
            }
            if roots.is_empty() {
                return Err(ClientError::Config("no trusted root certificates in the system store".into()));
            }
        }
    }
    // The ring provider, explicitly: never whatever a process-wide default happens to be.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// `Display` of an error with all its causes: reqwest's own text alone is too terse to act on.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn transport(e: reqwest::Error) -> ClientError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "exchange"
    };
    ClientError::Transport(format!("{kind}: {}", chain(&e)))
}

impl EisClient {
    pub fn new(cfg: ClientConfig) -> Result<Self, ClientError> {
        let base = cfg.base_url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(base).map_err(|e| ClientError::Config(format!("base URL {base:?}: {e}")))?;
        if parsed.scheme() != "https" {
            return Err(ClientError::Config(format!("base URL {base:?} must use https")));
        }
        let join = |p: &str| {
            reqwest::Url::parse(&format!("{base}{p}")).map_err(|e| ClientError::Config(format!("URL {base}{p}: {e}")))
        };
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(cfg.ca_file.as_deref())?)
            .https_only(true)
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.read_timeout)
            .user_agent(concat!("plangraf-eis/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Config(chain(&e)))?;
        Ok(EisClient { http, upload_url: join(UPLOAD_PATH)?, status_url: join(STATUS_PATH)?, metrics: None })
    }

    /// The same client, observing the round trip of every call — from sending the request to
    /// the end of the reply or the failure — in `metrics`, by operation.
    pub fn with_metrics(mut self, metrics: metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Runs one call and observes how long it took.
    async fn timed<T>(&self, operation: metrics::EisOperation, call: impl Future<Output = T>) -> T {
        let started = std::time::Instant::now();
        let out = call.await;
        if let Some(m) = &self.metrics {
            m.eis_call(operation, started.elapsed());
        }
        out
    }

    /// Sends one packet. The reply is a `confirmation` whose `refId` is the packet's id
    /// (usually `processing`: ask [`EisClient::status`] later).
    pub async fn upload(&self, creds: &Credentials, packet_xml: &str) -> Result<Reply<Confirmation>, ClientError> {
        // The packet's own id, to check the reply is about it. A packet without a readable id
        // is still sent: judging it is ЕИС's business.
        let packet_id = read_packet_index(packet_xml).ok().map(|i| i.id);
        let form = upload_form(creds, packet_xml);
        tracing::debug!(url = %self.upload_url, packet_id = packet_id.as_deref().unwrap_or("?"), bytes = packet_xml.len(), "uploading a packet to ЕИС");
        self.timed(metrics::EisOperation::Upload, async {
            let resp = self.post_form(form).await?;
            finish(resp, packet_id.as_deref()).await
        })
        .await
    }

    /// The current confirmation of the packet with `index/id` = `ref_id`.
    pub async fn status(&self, creds: &Credentials, ref_id: &str) -> Result<Reply<Confirmation>, ClientError> {
        let form = [("login", creds.login.as_str()), ("password", creds.password.expose()), ("refId", ref_id)];
        tracing::debug!(url = %self.status_url, ref_id, "asking ЕИС for a packet's status");
        self.timed(metrics::EisOperation::Status, async {
            let resp = self.http.post(self.status_url.clone()).form(&form).send().await.map_err(transport)?;
            finish(resp, Some(ref_id)).await
        })
        .await
    }
}

/// The reply's body, read no further than `limit` bytes: a reply over the bound of its kind
/// (see [`crate::bounds`]) would be refused by the reader anyway, so it is not held in memory.
async fn read_body(mut resp: reqwest::Response, limit: usize) -> Result<String, ClientError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > limit {
            return Err(ClientError::Malformed {
                reason: format!("reply body over the limit of {limit} bytes"),
                raw: String::from_utf8_lossy(&body[..body.len().min(1024)]).into_owned(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

async fn finish(resp: reqwest::Response, expected_ref: Option<&str>) -> Result<Reply<Confirmation>, ClientError> {
    let status = resp.status().as_u16();
    let raw = read_body(resp, crate::bounds::REPLY.max_bytes).await?;
    tracing::debug!(status, bytes = raw.len(), "ЕИС replied");
    match status {
        200 => {
            let value = read_confirmation(&raw)
                .map_err(|e| ClientError::Malformed { reason: e.to_string(), raw: raw.clone() })?;
            if let Some(expected) = expected_ref
                && value.ref_id != expected
            {
                return Err(ClientError::Malformed {
                    reason: format!("confirmation refId {:?} is not the packet's id {:?}", value.ref_id, expected),
                    raw,
                });
            }
            Ok(Reply { value, http_status: status, raw })
        }
        401 => Err(ClientError::Unauthorized { info: error_info(&raw, status), raw }),
        403 => Err(ClientError::Forbidden { info: error_info(&raw, status), raw }),
        _ => Err(ClientError::Server { status, raw }),
    }
}

/// The status code is what decides 401/403; a body that is no `errorInfo` (a proxy's page,
/// say) still leaves the caller an `ErrorInfo` to show, coded with the HTTP status.
fn error_info(raw: &str, status: u16) -> ErrorInfo {
    read_error_info(raw).unwrap_or_else(|e| {
        tracing::warn!(status, error = %e, "ЕИС error reply without a readable errorInfo");
        ErrorInfo {
            code: i32::from(status),
            message: format!("Ответ ЕИС без сведений об ошибке (код ответа {status})"),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Draft status and export (publication sync)

/// `POST {base}/44fz/integration/export`: urlencoded form `login`, `password` and either
/// `planNumber` (the latest placed version) or `publishedDocId`.
pub const EXPORT_PATH: &str = "/44fz/integration/export";

impl EisClient {
    /// Asks whether the drafts carried by the given packets were placed: an
    /// `fcsDocProjectStatusRequest` sent like [`EisClient::upload`], answered by an
    /// `fcsDocProjectStatusResponse` whose `requestId` is the request's `index/id`.
    pub async fn doc_project_status(
        &self,
        creds: &Credentials,
        request: &crate::docproject::DocProjectStatusRequest,
    ) -> Result<Reply<crate::docproject::DocProjectStatusResponse>, ClientError> {
        let xml = crate::docproject::write_doc_project_status_request(request);
        let form = upload_form(creds, &xml);
        tracing::debug!(url = %self.upload_url, request_id = %request.index.id, ids = request.doc_project_ids.len(), "asking ЕИС for draft statuses");
        let expected = request.index.id.clone();
        self.timed(metrics::EisOperation::DocProjectStatus, async {
            let resp = self.post_form(form).await?;
            finish_with(resp, &crate::bounds::REPLY, |raw| {
                let value = crate::docproject::read_doc_project_status_response(raw).map_err(|e| e.to_string())?;
                if value.request_id != expected {
                    return Err(format!(
                        "response requestId {:?} is not the request's id {expected:?}",
                        value.request_id
                    ));
                }
                Ok(value)
            })
            .await
        })
        .await
    }

    /// The export of the placed version published as `published_doc_id`.
    pub async fn export_by_doc(
        &self,
        creds: &Credentials,
        published_doc_id: &str,
    ) -> Result<Reply<crate::export::ExportedPlan>, ClientError> {
        self.export(creds, ("publishedDocId", published_doc_id)).await
    }

    /// The export of the latest placed version of the plan-schedule `plan_number`.
    pub async fn export_by_plan_number(
        &self,
        creds: &Credentials,
        plan_number: &str,
    ) -> Result<Reply<crate::export::ExportedPlan>, ClientError> {
        self.export(creds, ("planNumber", plan_number)).await
    }

    async fn export(
        &self,
        creds: &Credentials,
        key: (&str, &str),
    ) -> Result<Reply<crate::export::ExportedPlan>, ClientError> {
        // The export endpoint sits beside upload: `…/integration/upload` → `…/integration/export`.
        let url = self
            .upload_url
            .join(EXPORT_PATH.rsplit('/').next().unwrap_or("export"))
            .map_err(|e| ClientError::Config(format!("export URL: {e}")))?;
        let form = [("login", creds.login.as_str()), ("password", creds.password.expose()), key];
        tracing::debug!(%url, by = key.0, value = key.1, "asking ЕИС for an export");
        self.timed(metrics::EisOperation::Export, async {
            let resp = self.http.post(url).form(&form).send().await.map_err(transport)?;
            finish_with(resp, &crate::bounds::EXPORT, |raw| crate::export::read_export(raw).map_err(|e| e.to_string()))
                .await
        })
        .await
    }
}

/// As [`finish`] for a 200 whose body `parse` reads.
async fn finish_with<T>(
    resp: reqwest::Response,
    limits: &crate::bounds::Limits,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Reply<T>, ClientError> {
    let status = resp.status().as_u16();
    let raw = read_body(resp, limits.max_bytes).await?;
    tracing::debug!(status, bytes = raw.len(), "ЕИС replied");
    match status {
        200 => match parse(&raw) {
            Ok(value) => Ok(Reply { value, http_status: status, raw }),
            Err(reason) => Err(ClientError::Malformed { reason, raw }),
        },
        401 => Err(ClientError::Unauthorized { info: error_info(&raw, status), raw }),
        403 => Err(ClientError::Forbidden { info: error_info(&raw, status), raw }),
        _ => Err(ClientError::Server { status, raw }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_form_is_one_buffer_with_each_field_between_boundaries() {
        let creds = Credentials { login: "eis_user".into(), password: "пароль".to_owned().into() };
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><x>Школа</x>";
        let form = upload_form(&creds, xml);
        let boundary = form.content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
        let body = String::from_utf8(form.body.clone()).unwrap();
        let parts: Vec<&str> = body.split(&format!("--{boundary}")).collect();
        // The preamble (empty), three parts, and the closing `--\r\n`.
        assert_eq!(parts.len(), 5, "{body}");
        assert_eq!(parts[0], "");
        assert_eq!(parts[1], "\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\neis_user\r\n");
        assert_eq!(parts[2], "\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nпароль\r\n");
        assert_eq!(
            parts[3],
            format!(
                "\r\nContent-Disposition: form-data; name=\"document\"; filename=\"packet.xml\"\r\n\
                 Content-Type: text/xml; charset=utf-8\r\n\r\n{xml}\r\n"
            )
        );
        assert_eq!(parts[4], "--\r\n");
        // A new boundary each time.
        assert_ne!(upload_form(&creds, xml).content_type, form.content_type);
    }
}
