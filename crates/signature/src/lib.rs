//! ГОСТ electronic signatures (ЭЦП): a detached CAdES-BES/CMS signature checked over the bytes
//! it was made of, and the signer's certificate read. OpenSSL 3 with the `gost` engine does the
//! cryptography (see [`engine`]); this crate decides what to check and names each refusal.

mod certificate;
pub mod engine;
mod verify;

pub use certificate::{Certificate, KeyAlgorithm, MAX_CERTIFICATE_BYTES, oid};
pub use engine::ensure_engine;
pub use verify::{
    MAX_CONTENT_BYTES, MAX_SIGNATURE_BYTES, Trust, signature_der, signer_certificate, signer_thumbprint,
    verify_detached,
};

use chrono::{DateTime, Utc};

/// Why a signature or a certificate is refused. `Display` is the Russian message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("Подпись повреждена или не является подписью CMS (CAdES-BES): {0}")]
    Malformed(&'static str),
    #[error("Файл не является сертификатом X.509 (ожидается PEM или DER)")]
    MalformedCertificate,
    #[error("Слишком большой объём ({what}): больше {limit} байт")]
    TooLarge { what: &'static str, limit: usize },
    #[error(
        "Подпись не соответствует подписанным данным: данные изменены после подписания или подписаны другие данные"
    )]
    Tampered,
    #[error("Срок действия сертификата истёк {}", ru_time(.not_after))]
    Expired { not_after: DateTime<Utc> },
    #[error("Сертификат ещё не действует: срок его действия начинается {}", ru_time(.not_before))]
    NotYetValid { not_before: DateTime<Utc> },
    #[error("Сертификат выдан не доверенным удостоверяющим центром (цепочка до корневого сертификата УЦ не построена)")]
    Untrusted,
    #[error("Сертификат отозван удостоверяющим центром (он в списке отзыва)")]
    Revoked,
    #[error("Проверить отзыв сертификата нельзя: нет действующего списка отзыва его удостоверяющего центра")]
    RevocationUnknown,
    #[error("Сертификат не предназначен для электронной подписи (в «Использовании ключа» нет цифровой подписи)")]
    WrongKeyUsage,
    #[error("Ключ сертификата не ГОСТ Р 34.10-2012: принимаются только квалифицированные сертификаты по ГОСТ")]
    NotGost,
    #[error(
        "Проверка ЭЦП недоступна: на сервере не установлен или не загружен ГОСТ-модуль OpenSSL (libengine-gost-openssl)"
    )]
    EngineUnavailable,
}

fn ru_time(t: &DateTime<Utc>) -> String {
    t.format("%d.%m.%Y %H:%M UTC").to_string()
}
