//! Checking a detached CAdES-BES signature: the CMS over the content, then the signer's
//! certificate (key, usage, dates, chain to a trusted УЦ, revocation), each refusal its own.

use crate::SignatureError;
use crate::certificate::Certificate;
use crate::engine::ensure_engine;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::ssl::SslFiletype;
use openssl::stack::Stack;
use openssl::x509::store::{X509Lookup, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509, X509Crl, X509StoreContext};
use std::io::Write;

/// The largest signature taken (DER, or its base64 text). A CAdES-BES with the signer's
/// certificate is 2–4 KiB; a chain of a few more certificates stays far below this.
pub const MAX_SIGNATURE_BYTES: usize = 64 * 1024;
/// The largest content checked: a packet is at most 64 MiB (`eis::bounds`).
pub const MAX_CONTENT_BYTES: usize = 64 * 1024 * 1024;

/// What the administrator trusts: the root certificates of the accepted УЦ and, optionally,
/// their revocation lists. With any list given, every certificate's revocation is checked and
/// a certificate whose УЦ has no list in force is refused ([`SignatureError::RevocationUnknown`]).
#[derive(Default)]
pub struct Trust {
    roots: Vec<X509>,
    /// The lists as one PEM file: OpenSSL's store takes lists from files only.
    crls: Option<tempfile::NamedTempFile>,
}

impl Trust {
    pub fn new() -> Trust {
        Trust::default()
    }

    /// Adds root certificates from PEM (one or several) or DER.
    pub fn add_roots(&mut self, bytes: &[u8]) -> Result<usize, SignatureError> {
        ensure_engine()?;
        let trimmed = bytes.trim_ascii_start();
        let certs = if trimmed.starts_with(b"-----BEGIN") {
            X509::stack_from_pem(trimmed).map_err(|_| SignatureError::MalformedCertificate)?
        } else {
            vec![X509::from_der(bytes).map_err(|_| SignatureError::MalformedCertificate)?]
        };
        let n = certs.len();
        self.roots.extend(certs);
        Ok(n)
    }

    /// Adds a revocation list (PEM or DER), checked to parse.
    pub fn add_crl(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let trimmed = bytes.trim_ascii_start();
        let crl =
            if trimmed.starts_with(b"-----BEGIN") { X509Crl::from_pem(trimmed) } else { X509Crl::from_der(bytes) }
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let pem = crl.to_pem().map_err(std::io::Error::other)?;
        let file = match &mut self.crls {
            Some(file) => file,
            None => self.crls.insert(tempfile::NamedTempFile::new()?),
        };
        file.write_all(&pem)?;
        file.flush()
    }

    pub fn roots(&self) -> usize {
        self.roots.len()
    }
}

/// Checks the detached signature `signature` (DER, base64 or PEM, as the CryptoPro plug-in's
/// `SignCades` answers it) over exactly `content`, at the time `at`, and answers the signer's
/// certificate. Only a signature with one signer whose certificate it carries is taken.
pub fn verify_detached(
    signature: &[u8],
    content: &[u8],
    trust: &Trust,
    at: DateTime<Utc>,
) -> Result<Certificate, SignatureError> {
    if signature.len() > MAX_SIGNATURE_BYTES * 2 {
        return Err(SignatureError::TooLarge { what: "подпись", limit: MAX_SIGNATURE_BYTES });
    }
    if content.len() > MAX_CONTENT_BYTES {
        return Err(SignatureError::TooLarge { what: "подписанные данные", limit: MAX_CONTENT_BYTES });
    }
    let der = signature_der(signature)?;
    ensure_engine()?;
    let mut cms = CmsContentInfo::from_der(&der).map_err(|_| SignatureError::Malformed("не разбирается как CMS"))?;
    let signer = signer_of(&der)?;
    let certificate = Certificate::from_x509(&signer.0)?;
    if !certificate.is_gost() {
        return Err(SignatureError::NotGost);
    }
    // The signature over the content first: a changed file is told as such, whoever signed it.
    // NOVERIFY: the certificate's chain is checked below, with its own refusals.
    cms.verify(None, None, Some(content), None, CMSOptions::BINARY | CMSOptions::NOVERIFY)
        .map_err(|_| SignatureError::Tampered)?;
    if !certificate.digital_signature {
        return Err(SignatureError::WrongKeyUsage);
    }
    certificate.validity_at(at)?;
    check_chain(&signer.0, &signer.1, trust, at)?;
    Ok(certificate)
}

/// The thumbprint (SHA-1 of the DER, upper-case hex, as CryptoPro shows it) of the one signer's
/// certificate that `signature` carries, read without checking anything: to know whose attempt
/// a signature is before it is checked (sign-in throttling). Needs no ГОСТ engine.
pub fn signer_thumbprint(signature: &[u8]) -> Result<String, SignatureError> {
    if signature.len() > MAX_SIGNATURE_BYTES * 2 {
        return Err(SignatureError::TooLarge { what: "подпись", limit: MAX_SIGNATURE_BYTES });
    }
    let (signer, _) = signer_of(&signature_der(signature)?)?;
    let digest = signer
        .digest(openssl::hash::MessageDigest::sha1())
        .map_err(|_| SignatureError::Malformed("сертификат подписанта не читается"))?;
    Ok(digest.iter().map(|b| format!("{b:02X}")).collect())
}

/// The certificate of the one signer that `signature` carries, read without checking anything:
/// to name the signer of a signature verified earlier (a version's approval on its print form).
pub fn signer_certificate(signature: &[u8]) -> Result<Certificate, SignatureError> {
    if signature.len() > MAX_SIGNATURE_BYTES * 2 {
        return Err(SignatureError::TooLarge { what: "подпись", limit: MAX_SIGNATURE_BYTES });
    }
    let (signer, _) = signer_of(&signature_der(signature)?)?;
    Certificate::from_x509(&signer)
}

/// The signature's DER: as given, or decoded from base64 (line breaks and PEM armour allowed).
pub fn signature_der(signature: &[u8]) -> Result<Vec<u8>, SignatureError> {
    let trimmed = signature.trim_ascii();
    if trimmed.first() == Some(&0x30) {
        if trimmed.len() > MAX_SIGNATURE_BYTES {
            return Err(SignatureError::TooLarge { what: "подпись", limit: MAX_SIGNATURE_BYTES });
        }
        return Ok(trimmed.to_vec());
    }
    let text: Vec<u8> = std::str::from_utf8(trimmed)
        .map_err(|_| SignatureError::Malformed("ни DER, ни base64"))?
        .lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .flat_map(|line| line.bytes().filter(|b| !b.is_ascii_whitespace()))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&text)
        .map_err(|_| SignatureError::Malformed("ни DER, ни base64"))?;
    if der.len() > MAX_SIGNATURE_BYTES {
        return Err(SignatureError::TooLarge { what: "подпись", limit: MAX_SIGNATURE_BYTES });
    }
    Ok(der)
}

/// The one signer's certificate and the other certificates the signature carries (possible
/// intermediate УЦ). PKCS#7 reads the same SignedData and, unlike the crate's CMS type, hands
/// out the signer.
fn signer_of(der: &[u8]) -> Result<(X509, Stack<X509>), SignatureError> {
    let p7 = Pkcs7::from_der(der).map_err(|_| SignatureError::Malformed("не разбирается как SignedData"))?;
    let signed = p7.signed().ok_or(SignatureError::Malformed("не подписанные данные (SignedData)"))?;
    let empty = Stack::new().map_err(|_| SignatureError::Malformed("нет памяти"))?;
    let signers = p7
        .signers(&empty, Pkcs7Flags::empty())
        .map_err(|_| SignatureError::Malformed("в подписи нет сертификата подписанта"))?;
    if signers.len() != 1 {
        return Err(SignatureError::Malformed("подписант должен быть один"));
    }
    let signer = signers.get(0).ok_or(SignatureError::Malformed("в подписи нет сертификата подписанта"))?.to_owned();
    let mut others = Stack::new().map_err(|_| SignatureError::Malformed("нет памяти"))?;
    for cert in signed.certificates().into_iter().flatten() {
        if cert.to_der().ok() != signer.to_der().ok() {
            others.push(cert.to_owned()).map_err(|_| SignatureError::Malformed("нет памяти"))?;
        }
    }
    Ok((signer, others))
}

fn check_chain(leaf: &X509, others: &Stack<X509>, trust: &Trust, at: DateTime<Utc>) -> Result<(), SignatureError> {
    let untrusted = |_| SignatureError::Untrusted;
    let mut builder = X509StoreBuilder::new().map_err(untrusted)?;
    for root in &trust.roots {
        builder.add_cert(root.clone()).map_err(untrusted)?;
    }
    let mut param = X509VerifyParam::new().map_err(untrusted)?;
    // The time the signature is checked for, not the clock of the call.
    param.set_time(at.timestamp());
    let mut flags = X509VerifyFlags::USE_CHECK_TIME;
    if let Some(crls) = &trust.crls {
        builder
            .add_lookup(X509Lookup::file())
            .and_then(|lookup| lookup.load_crl_file(crls.path(), SslFiletype::PEM))
            .map_err(|_| SignatureError::RevocationUnknown)?;
        flags |= X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL;
    }
    param.set_flags(flags).map_err(untrusted)?;
    builder.set_param(&param).map_err(untrusted)?;
    let store = builder.build();
    let mut ctx = X509StoreContext::new().map_err(untrusted)?;
    let result = ctx.init(&store, leaf, others, |c| Ok((c.verify_cert()?, c.error()))).map_err(untrusted)?;
    match result {
        (true, _) => Ok(()),
        (false, error) => Err(match error.as_raw() {
            openssl_sys::X509_V_ERR_CERT_REVOKED => SignatureError::Revoked,
            openssl_sys::X509_V_ERR_UNABLE_TO_GET_CRL
            | openssl_sys::X509_V_ERR_CRL_HAS_EXPIRED
            | openssl_sys::X509_V_ERR_CRL_NOT_YET_VALID
            | openssl_sys::X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER
            | openssl_sys::X509_V_ERR_CRL_SIGNATURE_FAILURE => SignatureError::RevocationUnknown,
            // An expired intermediate or root: the leaf's own dates were checked before.
            _ => SignatureError::Untrusted,
        }),
    }
}
