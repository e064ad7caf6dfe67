//! A signer's certificate as plangraf shows and binds it: the thumbprint CryptoPro shows, the
//! owner's name and identifiers from the subject, the issuer and the validity.

use crate::SignatureError;
use crate::engine::{GOST_2012_256, GOST_2012_512, ensure_engine};
use chrono::{DateTime, Utc};
use openssl::asn1::{Asn1Object, Asn1Time, Asn1TimeRef};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::x509::{X509, X509KeyUsage, X509NameRef};

/// The largest certificate file read (PEM or DER). Qualified certificates are 1–3 KiB.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

/// Subject attributes of Russian qualified certificates (Приказ ФСБ № 795).
pub mod oid {
    pub const SURNAME: &str = "2.5.4.4";
    pub const GIVEN_NAME: &str = "2.5.4.42";
    pub const SNILS: &str = "1.2.643.100.3";
    /// ИНН of a person (older certificates put a legal entity's ИНН here, `00`-prefixed).
    pub const INN: &str = "1.2.643.3.131.1.1";
    /// ИНН of a legal entity (ИНН ЮЛ).
    pub const INN_LE: &str = "1.2.643.100.4";
    pub const OGRN: &str = "1.2.643.100.1";
}

/// The algorithm of the certificate's public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Gost2012_256,
    Gost2012_512,
    /// Anything else (RSA, ECDSA, ГОСТ Р 34.10-2001, …): not accepted for ЭЦП.
    Other,
}

/// A parsed certificate. Texts are as the certificate has them.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// SHA-1 of the DER, upper-case hex without separators, as CryptoPro shows it.
    pub thumbprint: String,
    pub common_name: Option<String>,
    pub surname: Option<String>,
    pub given_name: Option<String>,
    pub snils: Option<String>,
    /// ИНН of the person.
    pub inn: Option<String>,
    /// ИНН of the legal entity.
    pub inn_le: Option<String>,
    pub ogrn: Option<String>,
    pub organization: Option<String>,
    pub issuer_common_name: Option<String>,
    /// The serial number, upper-case hex.
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub key_algorithm: KeyAlgorithm,
    /// The key usage extension allows digital signatures (or the certificate has none).
    pub digital_signature: bool,
    /// The certificate as DER.
    pub der: Vec<u8>,
}

impl Certificate {
    /// A certificate from PEM (`-----BEGIN CERTIFICATE-----`) or DER bytes, as a file from a
    /// user or an administrator holds it. Refuses more than [`MAX_CERTIFICATE_BYTES`] unread.
    pub fn parse(bytes: &[u8]) -> Result<Certificate, SignatureError> {
        if bytes.len() > MAX_CERTIFICATE_BYTES {
            return Err(SignatureError::TooLarge { what: "сертификат", limit: MAX_CERTIFICATE_BYTES });
        }
        ensure_engine()?;
        let trimmed = bytes.trim_ascii_start();
        let x509 = if trimmed.starts_with(b"-----BEGIN") { X509::from_pem(trimmed) } else { X509::from_der(bytes) }
            .map_err(|_| SignatureError::MalformedCertificate)?;
        Certificate::from_x509(&x509)
    }

    pub(crate) fn from_x509(x509: &X509) -> Result<Certificate, SignatureError> {
        let der = x509.to_der().map_err(|_| SignatureError::MalformedCertificate)?;
        let thumbprint =
            hex_upper(&x509.digest(MessageDigest::sha1()).map_err(|_| SignatureError::MalformedCertificate)?);
        let subject = x509.subject_name();
        let serial = x509
            .serial_number()
            .to_bn()
            .and_then(|n| n.to_hex_str().map(|s| s.to_string()))
            .map_err(|_| SignatureError::MalformedCertificate)?;
        // Without the engine the key does not decode at all; with it, any other key is `Other`.
        let key_algorithm = match x509.public_key() {
            Ok(key) if key.id().as_raw() == GOST_2012_256 => KeyAlgorithm::Gost2012_256,
            Ok(key) if key.id().as_raw() == GOST_2012_512 => KeyAlgorithm::Gost2012_512,
            _ => KeyAlgorithm::Other,
        };
        Ok(Certificate {
            thumbprint,
            common_name: entry_by_nid(subject, Nid::COMMONNAME),
            surname: entry(subject, oid::SURNAME),
            given_name: entry(subject, oid::GIVEN_NAME),
            snils: entry(subject, oid::SNILS),
            inn: entry(subject, oid::INN),
            inn_le: entry(subject, oid::INN_LE),
            ogrn: entry(subject, oid::OGRN),
            organization: entry_by_nid(subject, Nid::ORGANIZATIONNAME),
            issuer_common_name: entry_by_nid(x509.issuer_name(), Nid::COMMONNAME),
            serial,
            not_before: time(x509.not_before())?,
            not_after: time(x509.not_after())?,
            key_algorithm,
            digital_signature: x509.key_usage().is_none_or(|usage| usage.contains(X509KeyUsage::DIGITAL_SIGNATURE)),
            der,
        })
    }

    /// The owner's name: surname and given names when the subject has them, else its CN.
    pub fn owner_name(&self) -> Option<String> {
        match (&self.surname, &self.given_name) {
            (Some(surname), Some(given)) => Some(format!("{surname} {given}")),
            _ => self.common_name.clone(),
        }
    }

    /// Whether the key is ГОСТ Р 34.10-2012 (256 or 512 bits).
    pub fn is_gost(&self) -> bool {
        self.key_algorithm != KeyAlgorithm::Other
    }

    /// Valid at `at`: not before its start, not after its end (both inclusive, as OpenSSL).
    pub fn validity_at(&self, at: DateTime<Utc>) -> Result<(), SignatureError> {
        if at < self.not_before {
            Err(SignatureError::NotYetValid { not_before: self.not_before })
        } else if at > self.not_after {
            Err(SignatureError::Expired { not_after: self.not_after })
        } else {
            Ok(())
        }
    }
}

/// The first value of attribute `oid`. OpenSSL knows most of them by a NID; one it has no name
/// for (ИНН ЮЛ) is matched by its dotted number, which is how OpenSSL prints an unknown object.
fn entry(name: &X509NameRef, oid: &str) -> Option<String> {
    let nid = Asn1Object::from_str(oid).ok()?.nid();
    if nid != Nid::UNDEF {
        return entry_by_nid(name, nid);
    }
    name.entries().find(|e| e.object().to_string() == oid).and_then(|e| e.data().to_string().ok())
}

fn entry_by_nid(name: &X509NameRef, nid: Nid) -> Option<String> {
    name.entries_by_nid(nid).next().and_then(|e| e.data().to_string().ok())
}

fn time(t: &Asn1TimeRef) -> Result<DateTime<Utc>, SignatureError> {
    let epoch = Asn1Time::from_unix(0).map_err(|_| SignatureError::MalformedCertificate)?;
    let diff = epoch.diff(t).map_err(|_| SignatureError::MalformedCertificate)?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    DateTime::from_timestamp(secs, 0).ok_or(SignatureError::MalformedCertificate)
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
