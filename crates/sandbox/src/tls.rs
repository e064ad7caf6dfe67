//! The sandbox's self-signed certificate: created once in the data directory and reused, so
//! the CA file a client was told to trust stays valid across restarts.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::SandboxError;

pub(crate) const CERT_FILE: &str = "sandbox-cert.pem";
pub(crate) const KEY_FILE: &str = "sandbox-key.pem";

pub(crate) struct Tls {
    pub(crate) server_config: rustls::ServerConfig,
    pub(crate) cert_path: PathBuf,
}

/// The ring provider. It is also installed as the process default (once; a provider already
/// installed is left alone), but every config here names it explicitly instead of relying on
/// that default.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let _ = rustls::crypto::CryptoProvider::install_default(provider.as_ref().clone());
    provider
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SandboxError + '_ {
    move |source| SandboxError::Io { path: path.to_owned(), source }
}

pub(crate) fn load_or_create(data_dir: &Path) -> Result<Tls, SandboxError> {
    let cert_path = data_dir.join(CERT_FILE);
    let key_path = data_dir.join(KEY_FILE);
    if !(cert_path.is_file() && key_path.is_file()) {
        create(&cert_path, &key_path)?;
    }
    // A key readable by others is tightened rather than trusted as is.
    let mode = std::fs::metadata(&key_path).map_err(io_err(&key_path))?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).map_err(io_err(&key_path))?;
    }
    let bad = |what: &Path, e: &dyn std::fmt::Display| SandboxError::Certificate(format!("{}: {e}", what.display()));
    let certs = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| bad(&cert_path, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&cert_path, &e))?;
    if certs.is_empty() {
        return Err(bad(&cert_path, &"no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| bad(&key_path, &e))?;
    let mut server_config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| SandboxError::Certificate(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| SandboxError::Certificate(e.to_string()))?;
    server_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls { server_config, cert_path })
}

fn create(cert_path: &Path, key_path: &Path) -> Result<(), SandboxError> {
    let names = vec!["127.0.0.1".to_owned(), "::1".to_owned(), "localhost".to_owned()];
    let mut params = rcgen::CertificateParams::new(names).map_err(|e| SandboxError::Certificate(e.to_string()))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "eis-sandbox (localhost)");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "eis-sandbox");
    let key = rcgen::KeyPair::generate().map_err(|e| SandboxError::Certificate(e.to_string()))?;
    let cert = params.self_signed(&key).map_err(|e| SandboxError::Certificate(e.to_string()))?;

    // The key is written first, with 0600 from its creation; the certificate last, so a
    // crash in between leaves no certificate without its key.
    let _ = std::fs::remove_file(key_path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(key_path)
        .map_err(io_err(key_path))?;
    f.write_all(key.serialize_pem().as_bytes()).map_err(io_err(key_path))?;
    f.sync_all().map_err(io_err(key_path))?;
    std::fs::write(cert_path, cert.pem()).map_err(io_err(cert_path))?;
    tracing::info!(cert = %cert_path.display(), "created the eis-sandbox certificate");
    Ok(())
}
