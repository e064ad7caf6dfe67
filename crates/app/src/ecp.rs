//! Sign-in with a qualified certificate (ЭЦП), and a signed-in user binding their own.
//!
//! Both prove possession of the certificate's key the same way: the server issues a one-time
//! challenge (`store::certificates`, kept hashed, in force for [`CHALLENGE_TTL_MS`]), the
//! browser signs [`challenge_content`] with the CryptoPro plug-in as a detached CAdES-BES, and
//! the signature is checked by `signature::verify_detached` against the trust the operator
//! configured ([`Workflow::with_ecp_trust`]). Without that configuration both are off.
//!
//! Sign-in attempts share the password sign-in's throttle (`store::users`), under the key
//! `ecp:<thumbprint>` in place of a login (logins cannot hold «:»), and the client's address;
//! every refusal is journaled and counted in `plangraf_sign_in_failures_total`.

use crate::certificates::CertificateBound;
use crate::users::SignIn;
use crate::{Error, Refusal, Result, Workflow};
use chrono::{DateTime, Utc};
use signature::{SignatureError, Trust};
use std::sync::Arc;
pub use store::certificates::Issued;
use store::certificates::{ChallengeLimits, ChallengePurpose, ChallengeTaken};
use store::users::{Reservation, User};

/// How long a challenge may be signed: enough to choose a certificate and type a token's PIN.
pub const CHALLENGE_TTL_MS: i64 = 5 * 60 * 1000;

/// Live challenges from one client address (a browser asks for one per page shown, and a
/// challenge lives [`CHALLENGE_TTL_MS`]) and in all.
pub const CHALLENGE_LIMITS: ChallengeLimits = ChallengeLimits { per_address: 60, total: 10_000 };
/// Said when an address asked for too many challenges.
pub const TOO_MANY_CHALLENGES: &str =
    "Слишком много запросов на подпись с вашего адреса: подождите и повторите вход по ЭЦП.";
/// Said when the server holds as many challenges as it keeps.
pub const CHALLENGES_BUSY: &str =
    "Сервер сейчас принимает слишком много запросов на вход по ЭЦП: повторите через минуту.";

/// The answer when the operator configured no trusted УЦ.
pub const NOT_ENABLED: &str =
    "Вход по электронной подписи (ЭЦП) не включён администратором сервера plangraf: войдите по логину и паролю.";
/// No challenge, or one used already.
pub const CHALLENGE_UNKNOWN: &str =
    "Запрос на подпись не найден или уже использован: обновите страницу и подпишите снова.";
/// A challenge whose time ran out.
pub const CHALLENGE_EXPIRED: &str =
    "Запрос на подпись устарел (он действует 5 минут): обновите страницу и подпишите снова.";
/// A valid certificate that nobody holds here.
pub const UNBOUND: &str = "Сертификат не привязан ни к одному пользователю plangraf: войдите по логину и паролю \
                           и привяжите его в «Настройки» → «Сертификаты ЭЦП» или обратитесь к администратору.";
/// The certificate's user, or their organization, is blocked.
pub const BLOCKED: &str = "Вход запрещён: пользователь, к которому привязан сертификат, или его организация \
                           заблокированы. Обратитесь к администратору.";

/// The bytes the browser signs for a challenge: the purpose is in them, so a signature made to
/// bind a certificate cannot sign anyone in, and the other way round.
pub fn challenge_content(purpose: ChallengePurpose, challenge: &str) -> Vec<u8> {
    let what = match purpose {
        ChallengePurpose::SignIn => "sign-in",
        ChallengePurpose::Bind(_) => "bind-certificate",
    };
    format!("plangraf {what} {challenge}").into_bytes()
}

/// What a certificate sign-in came to.
pub enum CertificateSignIn {
    /// As a password sign-in that succeeded.
    Ok(SignIn),
    /// Refused; the message says why, in the user's words.
    Refused(String),
    /// Too many failures: refused without checking the signature.
    Throttled { retry_after_secs: i64 },
}

impl Workflow {
    /// Certificate sign-in and binding are checked against `trust` (the УЦ the operator trusts,
    /// their revocation lists).
    pub fn with_ecp_trust(mut self, trust: Arc<Trust>) -> Workflow {
        self.ecp = Some(trust);
        self
    }

    /// Whether the operator configured certificate sign-in.
    pub fn ecp_enabled(&self) -> bool {
        self.ecp.is_some()
    }

    fn ecp_trust(&self) -> Result<&Trust> {
        self.ecp.as_deref().ok_or_else(|| Error::refused(Refusal::State, NOT_ENABLED))
    }

    /// A new challenge for `purpose`, asked from `client`; the caller keeps it with the browser
    /// that asked. Refused while the address holds [`CHALLENGE_LIMITS`]`.per_address` live
    /// challenges, or the server as many as it keeps: asking needs no sign-in, and each writes a row.
    pub async fn issue_ecp_challenge(&self, purpose: ChallengePurpose, client: std::net::IpAddr) -> Result<Issued> {
        self.ecp_trust()?;
        let issued =
            self.store.issue_ecp_challenge(purpose, CHALLENGE_TTL_MS, &client.to_string(), CHALLENGE_LIMITS).await?;
        if !matches!(issued, Issued::Challenge(_)) {
            tracing::warn!(client = %client, "ЭЦП challenge refused: too many live challenges");
        }
        Ok(issued)
    }

    /// Signs in the holder of the certificate that made `signature` (a detached CAdES-BES,
    /// base64 or DER) over the sign-in challenge `challenge`, from `client`.
    pub async fn sign_in_with_certificate(
        &self,
        challenge: Option<&str>,
        signature: &[u8],
        client: std::net::IpAddr,
    ) -> Result<CertificateSignIn> {
        let trust = self.ecp_trust()?;
        let address = client.to_string();
        let now = store::now();
        // Whose attempt it is, before anything is checked: the throttle's key.
        let thumbprint = signature::signer_thumbprint(signature).ok();
        let key = format!("ecp:{}", thumbprint.as_deref().unwrap_or("-"));
        if let Reservation::Throttled { retry_after_ms } = self.store.reserve_sign_in(&key, &address, now).await? {
            self.metrics().sign_in_failed(crate::metrics::SignInFailure::Throttled);
            self.journal_certificate_refusal(thumbprint.as_deref(), None, &address, "слишком много неудачных попыток")
                .await?;
            return Ok(CertificateSignIn::Throttled { retry_after_secs: (retry_after_ms + 999) / 1000 });
        }
        match self.check_sign_in(trust, challenge, signature, now).await? {
            Ok((user, certificate)) => {
                let failed = self.store.sign_in_succeeded(&key, &address, user.id).await?;
                let must_change_password =
                    self.store.user_credentials(&user.login).await?.is_some_and(|c| c.must_change_password);
                self.store
                    .record_audit(
                        Some(user.id),
                        Some(user.org_id),
                        "user",
                        Some(user.id.get()),
                        "Вход по ЭЦП",
                        &format!(
                            "Логин {}; сертификат {} ({}); адрес {address}",
                            user.login,
                            certificate.thumbprint,
                            certificate.owner_name().unwrap_or_default()
                        ),
                    )
                    .await?;
                Ok(CertificateSignIn::Ok(SignIn::Ok { user, failed, must_change_password }))
            }
            Err((message, user)) => {
                // The throttle counted the attempt already; the user, if known, hears of it.
                if let Some(user) = &user {
                    self.store.sign_in_failed(&user.login, now).await?;
                }
                self.metrics().sign_in_failed(crate::metrics::SignInFailure::Certificate);
                self.journal_certificate_refusal(thumbprint.as_deref(), user.as_ref(), &address, &message).await?;
                Ok(CertificateSignIn::Refused(message))
            }
        }
    }

    /// The checks of a sign-in, in order; a refusal names the user when the certificate is
    /// bound to one.
    #[allow(clippy::type_complexity, reason = "a private step with two outcomes")]
    async fn check_sign_in(
        &self,
        trust: &Trust,
        challenge: Option<&str>,
        signature: &[u8],
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<(User, signature::Certificate), (String, Option<User>)>> {
        // The challenge is used up first: whatever follows, it cannot be tried again.
        let taken = match challenge {
            Some(c) => self.store.take_ecp_challenge(ChallengePurpose::SignIn, c).await?,
            None => ChallengeTaken::Unknown,
        };
        let challenge = match (taken, challenge) {
            (ChallengeTaken::Fresh, Some(c)) => c,
            (ChallengeTaken::Expired, _) => return Ok(Err((CHALLENGE_EXPIRED.into(), None))),
            _ => return Ok(Err((CHALLENGE_UNKNOWN.into(), None))),
        };
        let content = challenge_content(ChallengePurpose::SignIn, challenge);
        let certificate = match signature::verify_detached(signature, &content, trust, now) {
            Ok(c) => c,
            Err(SignatureError::EngineUnavailable) => {
                return Err(Error::refused(Refusal::State, SignatureError::EngineUnavailable.to_string()));
            }
            Err(e) => {
                let user = match signature::signer_thumbprint(signature) {
                    Ok(t) => self.store.user_by_certificate(&t).await?,
                    Err(_) => None,
                };
                return Ok(Err((e.to_string(), user)));
            }
        };
        let Some(user) = self.store.user_by_certificate(&certificate.thumbprint).await? else {
            return Ok(Err((UNBOUND.into(), None)));
        };
        // The same refusals as a password sign-in: a blocked user, a blocked organization.
        let blocked = self.store.user_credentials(&user.login).await?.is_none_or(|c| c.blocked)
            || self.store.organization_blocked(user.org_id).await?;
        if blocked {
            return Ok(Err((BLOCKED.into(), Some(user))));
        }
        Ok(Ok((user, certificate)))
    }

    async fn journal_certificate_refusal(
        &self,
        thumbprint: Option<&str>,
        user: Option<&User>,
        address: &str,
        why: &str,
    ) -> Result<()> {
        let whose = match user {
            Some(u) => format!("логин {}; ", u.login),
            None => String::new(),
        };
        let certificate = thumbprint.unwrap_or("не прочитан");
        self.store
            .record_audit(
                None,
                user.map(|u| u.org_id),
                "user",
                user.map(|u| u.id.get()),
                "Отказ во входе по ЭЦП",
                &format!("{whose}сертификат {certificate}; адрес {address}; {why}"),
            )
            .await?;
        Ok(())
    }

    /// Binds to `user` the certificate that made `signature` over their binding challenge
    /// `challenge`: possession of its key is proven, and it is checked as at sign-in (trusted
    /// УЦ, not revoked) and by the binding rules of `certificates`.
    pub async fn bind_own_certificate(
        &self,
        user: &User,
        challenge: Option<&str>,
        signature: &[u8],
    ) -> Result<CertificateBound> {
        let trust = self.ecp_trust()?;
        let purpose = ChallengePurpose::Bind(user.id);
        let taken = match challenge {
            Some(c) => self.store.take_ecp_challenge(purpose, c).await?,
            None => ChallengeTaken::Unknown,
        };
        let challenge = match (taken, challenge) {
            (ChallengeTaken::Fresh, Some(c)) => c,
            (ChallengeTaken::Expired, _) => return Err(Error::refused(Refusal::State, CHALLENGE_EXPIRED)),
            _ => return Err(Error::refused(Refusal::State, CHALLENGE_UNKNOWN)),
        };
        let content = challenge_content(purpose, challenge);
        let certificate =
            signature::verify_detached(signature, &content, trust, store::now()).map_err(|e| match e {
                SignatureError::EngineUnavailable => Error::refused(Refusal::State, e.to_string()),
                e => Error::field("signature", e.to_string()),
            })?;
        self.administration().bind_certificate(Some(user), &user.login, &certificate.der, store::now()).await
    }

    /// `user`'s own certificates.
    pub async fn own_certificates(&self, user: &User) -> Result<Vec<store::certificates::BoundCertificate>> {
        Ok(self.store.user_certificates(user.id).await?)
    }

    /// `user` unbinds their own certificate `thumbprint`.
    pub async fn unbind_own_certificate(&self, user: &User, thumbprint: &str) -> Result<User> {
        self.administration().unbind_certificate(Some(user), &user.login, thumbprint).await
    }
}

/// A signature by a signed-in user over content plangraf fixed: the signer's certificate, and
/// the signature as DER, to be kept.
pub struct SignedBy {
    pub certificate: signature::Certificate,
    pub der: Vec<u8>,
}

/// Why a signature is needed and none came.
pub const SIGNATURE_REQUIRED: &str = "Организация требует электронной подписи (ЭЦП) этого действия: подпишите его \
                                      сертификатом, привязанным к вашей учётной записи.";
/// A valid certificate bound to someone else, or to nobody.
pub const NOT_YOURS: &str = "Подпись сделана сертификатом, который не привязан к вашей учётной записи: подпишите \
                             своим сертификатом или привяжите этот в «Настройки» → «Сертификаты ЭЦП».";

impl Workflow {
    /// What organization `org` requires of ЭЦП.
    pub async fn ecp_policy(&self, org: domain::ids::OrgId) -> Result<store::org_admin::EcpPolicy> {
        Ok(self.store.ecp_policy(org).await?)
    }

    fn verify_user_signature_blocking(
        &self,
        user: &User,
        bound: Option<&User>,
        content: &[u8],
        signature: &[u8],
    ) -> Result<SignedBy> {
        let trust = self.ecp_trust()?;
        let certificate = signature::verify_detached(signature, content, trust, store::now()).map_err(|e| match e {
            SignatureError::EngineUnavailable => Error::refused(Refusal::State, e.to_string()),
            e => Error::field("signature", e.to_string()),
        })?;
        if bound.is_none_or(|b| b.id != user.id) {
            return Err(Error::field("signature", NOT_YOURS));
        }
        let der = signature::signature_der(signature).map_err(|e| Error::field("signature", e.to_string()))?;
        Ok(SignedBy { certificate, der })
    }

    /// Checks that `signature` (a detached CAdES-BES, base64 or DER) was made over exactly
    /// `content` now, with a certificate the operator's УЦ trust accepts and that is bound to
    /// `user`. The refusal names what is wrong, under the field `signature`. The check runs on
    /// a blocking thread: a large plan's content takes a while to hash.
    pub async fn verify_user_signature(&self, user: &User, content: Vec<u8>, signature: Vec<u8>) -> Result<SignedBy> {
        if signature.trim_ascii().is_empty() {
            return Err(Error::field("signature", SIGNATURE_REQUIRED));
        }
        let bound = match signature::signer_thumbprint(&signature) {
            Ok(t) => self.store.user_by_certificate(&t).await?,
            Err(e) => return Err(Error::field("signature", e.to_string())),
        };
        let this = self.clone();
        let user = user.clone();
        tokio::task::spawn_blocking(move || {
            this.verify_user_signature_blocking(&user, bound.as_ref(), &content, &signature)
        })
        .await
        .map_err(|e| Error::Internal(format!("signature check task: {e}").into()))?
    }
}
