//! The packet signature (`index/signature`, CAdES-BES) checked as ЕИС would: over the bytes of
//! the packet's `data` element exactly as received (see `eis::packet::signed_data`), with the
//! `signature` crate, against the УЦ roots the sandbox is given. An empty signature is the
//! login/password channel and is not checked.

use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use eis::reply::Violation;

use crate::checks::{Code, violation};

/// The УЦ roots (and revocation lists) packet signatures are checked against; none until given.
#[derive(Default)]
pub(crate) struct PacketTrust(RwLock<Option<Arc<signature::Trust>>>);

impl PacketTrust {
    pub(crate) fn set(&self, trust: Option<Arc<signature::Trust>>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = trust;
    }

    pub(crate) fn get(&self) -> Option<Arc<signature::Trust>> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// What the check found: nothing to check (an empty signature, or a document whose `data`
/// cannot be found: the other checks say why), a valid signature by a certificate
/// (its thumbprint), or the violation that refuses the packet.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Checked {
    Unsigned,
    Valid { thumbprint: String },
    Refused(Violation),
}

/// Checks the packet signature of `document` at `now`. Runs the hashing of a large packet:
/// call it off the async threads.
pub(crate) fn check(document: &str, trust: Option<&signature::Trust>, now: DateTime<Utc>) -> Checked {
    let Ok(parts) = eis::packet::read_signed_parts(document) else { return Checked::Unsigned };
    if parts.signature.is_empty() {
        return Checked::Unsigned;
    }
    let Some(trust) = trust else {
        return Checked::Refused(violation(
            Code::SignatureUnchecked,
            "Пакет подписан (index/signature не пуст), но песочнице ЕИС не заданы корневые сертификаты доверенных \
             удостоверяющих центров: проверить подпись нельзя, пакет не принят. Запустите песочницу с доверенными \
             корневыми сертификатами (--ecp-trusted-roots) или отправьте пакет без подписи."
                .into(),
        ));
    };
    match signature::verify_detached(parts.signature.as_bytes(), parts.data_of(document).as_bytes(), trust, now) {
        Ok(certificate) => Checked::Valid { thumbprint: certificate.thumbprint },
        Err(e) => Checked::Refused(violation(
            Code::Signature,
            format!("Подпись index/signature над элементом data пакета не прошла проверку: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(signature: &str) -> String {
        format!(
            "<int:tenderPlan2020 xmlns:int=\"{}\"><int:index><int:id>x</int:id><int:signature \
             type=\"CAdES-BES\">{signature}</int:signature></int:index><int:data>d</int:data></int:tenderPlan2020>",
            eis::ns::INTEGRATION
        )
    }

    #[test]
    fn an_empty_signature_is_not_checked() {
        assert_eq!(check(&packet(""), None, Utc::now()), Checked::Unsigned);
        assert_eq!(check(&packet("  \n "), Some(&signature::Trust::new()), Utc::now()), Checked::Unsigned);
        // Not a packet at all: the other checks refuse it.
        assert_eq!(check("<a>MIIB</a>", None, Utc::now()), Checked::Unsigned);
    }

    #[test]
    fn a_signed_packet_without_trust_is_refused_as_unchecked() {
        let Checked::Refused(v) = check(&packet("MIIBAA=="), None, Utc::now()) else { panic!("accepted") };
        assert_eq!(v.err_code, "ECP_TRUST");
        assert!(v.description.unwrap().contains("корневые сертификаты"));
    }

    #[test]
    fn a_signature_that_is_not_cms_is_refused_with_its_reason() {
        // Without the ГОСТ engine in this process the reason is that; either way: ECP_SIGN.
        let Checked::Refused(v) = check(&packet("bm90IGEgc2lnbmF0dXJl"), Some(&signature::Trust::new()), Utc::now())
        else {
            panic!("accepted")
        };
        assert_eq!(v.err_code, "ECP_SIGN");
        assert_eq!(v.name, "Электронная подпись пакета недействительна");
        assert!(v.description.unwrap().starts_with("Подпись index/signature над элементом data"));
    }
}
