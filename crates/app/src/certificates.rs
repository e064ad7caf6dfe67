//! Certificates (ЭЦП) bound to users: the rules of binding, shared by the command line
//! (`plangraf cert …`) and the administrator's users pages. A certificate is read with `signature`
//! (OpenSSL with the ГОСТ engine); what may be bound is decided here; `store::certificates`
//! keeps it with its audit entry.

use crate::users::Administration;
use crate::{Error, Refusal, Result};
use chrono::{DateTime, Utc};
pub use signature::MAX_CERTIFICATE_BYTES;
use signature::{Certificate, SignatureError};
use store::certificates::{BoundCertificate, CertificateRecord};
use store::users::User;

/// A certificate this close to its end is shown with a warning, and its holder notified once.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// A certificate bound, or found bound already to the same user.
#[derive(Debug)]
pub struct CertificateBound {
    pub user: User,
    pub certificate: Certificate,
    pub bound: BoundCertificate,
    /// It was bound to this user before: nothing changed.
    pub already: bool,
}

/// Why `certificate` may not be bound at `at`, in the user's words; `None` when it may. Only
/// ГОСТ Р 34.10-2012 keys for signing, within their validity: a certificate that could never
/// sign in is not kept.
pub fn binding_refusal(certificate: &Certificate, at: DateTime<Utc>) -> Option<SignatureError> {
    if !certificate.is_gost() {
        return Some(SignatureError::NotGost);
    }
    if !certificate.digital_signature {
        return Some(SignatureError::WrongKeyUsage);
    }
    certificate.validity_at(at).err()
}

/// The owner's name, СНИЛС and ИНН as the binding shows them.
pub fn record_of(certificate: &Certificate) -> CertificateRecord {
    CertificateRecord {
        thumbprint: certificate.thumbprint.clone(),
        subject_name: certificate.owner_name().unwrap_or_default(),
        snils: certificate.snils.clone(),
        inn: certificate.inn.clone().or_else(|| certificate.inn_le.clone()),
        issuer: certificate.issuer_common_name.clone().unwrap_or_default(),
        serial: certificate.serial.clone(),
        not_before: certificate.not_before,
        not_after: certificate.not_after,
        der: certificate.der.clone(),
    }
}

/// A thumbprint as typed: CryptoPro shows it in upper case, `openssl` with colons, some tools
/// with spaces. Anything but 40 hex digits is refused.
pub fn normalize_thumbprint(text: &str) -> Result<String> {
    let hex: String = text.chars().filter(|c| !matches!(c, ':' | ' ' | '\u{200e}')).collect();
    if hex.len() == 40 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hex.to_ascii_uppercase())
    } else {
        Err(Error::field("thumbprint", "Отпечаток сертификата — 40 шестнадцатеричных цифр (SHA-1)"))
    }
}

fn certificate_error(e: SignatureError) -> Error {
    match e {
        // The server, not the file: the operator must install the engine.
        SignatureError::EngineUnavailable => Error::refused(Refusal::State, e.to_string()),
        e => Error::field("certificate", e.to_string()),
    }
}

impl Administration {
    /// Binds the certificate in `file` (PEM or DER) to the user `login`, as `by` (`None`: the
    /// operator on the command line), checked at `at`.
    pub async fn bind_certificate(
        &self,
        by: Option<&User>,
        login: &str,
        file: &[u8],
        at: DateTime<Utc>,
    ) -> Result<CertificateBound> {
        let user = self.existing(login).await?;
        let certificate = Certificate::parse(file).map_err(certificate_error)?;
        if let Some(refusal) = binding_refusal(&certificate, at) {
            return Err(certificate_error(refusal));
        }
        let record = record_of(&certificate);
        match self.store.bind_certificate(by.map(|u| u.id), &user, &record).await? {
            store::certificates::Binding::Bound(bound) => {
                Ok(CertificateBound { user, certificate, bound, already: false })
            }
            store::certificates::Binding::AlreadyBound(bound) => {
                Ok(CertificateBound { user, certificate, bound, already: true })
            }
            store::certificates::Binding::TakenBy { login: owner, .. } => Err(Error::refused(
                Refusal::State,
                format!(
                    "Сертификат {} уже привязан к пользователю {owner}: сначала отвяжите его там",
                    certificate.thumbprint
                ),
            )),
        }
    }

    /// The user `login` and the certificates bound to them.
    pub async fn certificates(&self, login: &str) -> Result<(User, Vec<BoundCertificate>)> {
        let user = self.existing(login).await?;
        let list = self.store.user_certificates(user.id).await?;
        Ok((user, list))
    }

    /// Unbinds the certificate `thumbprint` from the user `login`.
    pub async fn unbind_certificate(&self, by: Option<&User>, login: &str, thumbprint: &str) -> Result<User> {
        let thumbprint = normalize_thumbprint(thumbprint)?;
        let user = self.existing(login).await?;
        if self.store.unbind_certificate(by.map(|u| u.id), &user, &thumbprint).await? {
            Ok(user)
        } else {
            Err(Error::refused(
                Refusal::State,
                format!("У пользователя {} нет сертификата с отпечатком {thumbprint}", user.login),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use signature::KeyAlgorithm;

    fn certificate(from: DateTime<Utc>, to: DateTime<Utc>) -> Certificate {
        Certificate {
            thumbprint: "0123456789ABCDEF0123456789ABCDEF01234567".into(),
            common_name: Some("Иванов Иван Иванович".into()),
            surname: Some("Иванов".into()),
            given_name: Some("Иван Иванович".into()),
            snils: Some("12345678901".into()),
            inn: None,
            inn_le: Some("7701234567".into()),
            ogrn: None,
            organization: None,
            issuer_common_name: Some("УЦ".into()),
            serial: "1F".into(),
            not_before: from,
            not_after: to,
            key_algorithm: KeyAlgorithm::Gost2012_256,
            digital_signature: true,
            der: vec![0x30],
        }
    }

    #[test]
    fn only_a_gost_signing_certificate_within_its_validity_is_bound() {
        let now = Utc::now();
        let day = TimeDelta::days(1);
        let valid = certificate(now - day, now + day);
        assert_eq!(binding_refusal(&valid, now), None);
        let expired = certificate(now - day * 2, now - day);
        assert_eq!(binding_refusal(&expired, now), Some(SignatureError::Expired { not_after: now - day }));
        let future = certificate(now + day, now + day * 2);
        assert_eq!(binding_refusal(&future, now), Some(SignatureError::NotYetValid { not_before: now + day }));
        let rsa = Certificate { key_algorithm: KeyAlgorithm::Other, ..valid.clone() };
        assert_eq!(binding_refusal(&rsa, now), Some(SignatureError::NotGost));
        let encipher = Certificate { digital_signature: false, ..valid.clone() };
        assert_eq!(binding_refusal(&encipher, now), Some(SignatureError::WrongKeyUsage));
        // The binding's message says which.
        let message = certificate_error(SignatureError::Expired { not_after: now - day }).to_string();
        assert!(message.contains("истёк"), "{message}");
    }

    #[test]
    fn the_record_takes_the_persons_inn_or_else_the_legal_entitys() {
        let now = Utc::now();
        let c = certificate(now, now);
        let r = record_of(&c);
        assert_eq!(r.subject_name, "Иванов Иван Иванович");
        assert_eq!(r.inn.as_deref(), Some("7701234567"));
        let person = Certificate { inn: Some("123456789012".into()), ..c };
        assert_eq!(record_of(&person).inn.as_deref(), Some("123456789012"));
    }

    #[test]
    fn thumbprints_are_taken_as_typed_and_refused_otherwise() {
        let t = "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67";
        assert_eq!(normalize_thumbprint(t).unwrap(), "0123456789ABCDEF0123456789ABCDEF01234567");
        assert!(normalize_thumbprint("0123").is_err());
        assert!(normalize_thumbprint(&"G".repeat(40)).is_err());
    }
}
