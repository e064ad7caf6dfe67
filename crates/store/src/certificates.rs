//! Certificates (ЭЦП) bound to users: binding, the list of a user's certificates, the user a
//! thumbprint belongs to, unbinding. Each write commits with its audit entry. What a
//! certificate says is read by the caller (`signature`); the store keeps it as given.

use crate::audit::record;
use crate::users::User;
use crate::{Result, Store, StoreError, Time, is_unique_violation, ms, now_ms, time_at};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use domain::ids::UserId;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A certificate as bound: the fields shown at binding, and the certificate itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    /// SHA-1 of the DER, upper-case hex (CryptoPro's thumbprint).
    pub thumbprint: String,
    /// The owner's name from the subject.
    pub subject_name: String,
    pub snils: Option<String>,
    pub inn: Option<String>,
    /// The issuing УЦ's name.
    pub issuer: String,
    pub serial: String,
    pub not_before: Time,
    pub not_after: Time,
    pub der: Vec<u8>,
}

/// How many challenges may live at once: from one client address, and in all.
#[derive(Debug, Clone, Copy)]
pub struct ChallengeLimits {
    pub per_address: i64,
    pub total: i64,
}

/// What asking for a challenge came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    /// The challenge, to be kept with the browser; only its hash is stored.
    Challenge(String),
    /// The address holds as many live challenges as it may; the oldest ends in `retry_after_ms`.
    TooManyFromAddress { retry_after_ms: i64 },
    /// As many challenges live as the server keeps at once.
    TooMany,
}

/// A bound certificate with who it is bound to, when and by whom.
#[derive(Debug, Clone)]
pub struct BoundCertificate {
    pub id: i64,
    pub user_id: UserId,
    pub certificate: CertificateRecord,
    pub bound_at: Time,
    /// The administrator who bound it; `None` for the operator on the command line.
    pub bound_by: Option<UserId>,
}

/// What binding did.
#[derive(Debug, Clone)]
pub enum Binding {
    Bound(BoundCertificate),
    /// The certificate was already bound to this user: nothing changed.
    AlreadyBound(BoundCertificate),
    /// The thumbprint belongs to another user; nothing changed.
    TakenBy {
        user_id: UserId,
        login: String,
    },
}

const COLUMNS: &str = "id, user_id, thumbprint, subject_name, snils, inn, issuer, serial, not_before, not_after, \
                       der, bound_at, bound_by";

fn from_row(r: &AnyRow) -> Result<BoundCertificate> {
    let der: String = r.try_get("der")?;
    Ok(BoundCertificate {
        id: r.try_get("id")?,
        user_id: UserId(r.try_get("user_id")?),
        certificate: CertificateRecord {
            thumbprint: r.try_get("thumbprint")?,
            subject_name: r.try_get("subject_name")?,
            snils: r.try_get("snils")?,
            inn: r.try_get("inn")?,
            issuer: r.try_get("issuer")?,
            serial: r.try_get("serial")?,
            not_before: time_at(r, "not_before")?,
            not_after: time_at(r, "not_after")?,
            der: B64.decode(der).map_err(|_| StoreError::Corrupt("user_certificates.der is not base64".into()))?,
        },
        bound_at: time_at(r, "bound_at")?,
        bound_by: r.try_get::<Option<i64>, _>("bound_by")?.map(UserId),
    })
}

/// The journal's words for a certificate.
fn describe(login: &str, c: &CertificateRecord) -> String {
    format!(
        "Логин {login}; сертификат {} ({}), выдан {}, действует до {}",
        c.thumbprint,
        c.subject_name,
        c.issuer,
        c.not_after.format("%d.%m.%Y")
    )
}

impl Store {
    /// Binds `certificate` to `user`. A thumbprint bound to another user is refused
    /// ([`Binding::TakenBy`]); to the same user, left as it is.
    pub async fn bind_certificate(
        &self,
        by: Option<UserId>,
        user: &User,
        certificate: &CertificateRecord,
    ) -> Result<Binding> {
        let mut tx = self.write_tx().await?;
        if let Some(existing) = certificate_in(&mut tx, &certificate.thumbprint).await? {
            drop(tx);
            return self.existing_binding(existing, user).await;
        }
        let c = certificate;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO user_certificates (user_id, thumbprint, subject_name, snils, inn, issuer, serial, \
             not_before, not_after, der, bound_at, bound_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(user.id.get())
        .bind(&c.thumbprint)
        .bind(&c.subject_name)
        .bind(c.snils.as_deref())
        .bind(c.inn.as_deref())
        .bind(&c.issuer)
        .bind(&c.serial)
        .bind(ms(c.not_before))
        .bind(ms(c.not_after))
        .bind(B64.encode(&c.der))
        .bind(now_ms())
        .bind(by.map(UserId::get))
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            // Bound by someone else between the read and the write.
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                let existing = self
                    .certificate_by_thumbprint(&c.thumbprint)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("a bound thumbprint vanished".into()))?;
                return self.existing_binding(existing, user).await;
            }
            Err(e) => return Err(e.into()),
        };
        record(
            &mut *tx,
            by,
            Some(user.org_id),
            "user",
            Some(user.id.get()),
            "Привязан сертификат ЭЦП",
            &describe(&user.login, c),
        )
        .await?;
        let bound = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM user_certificates WHERE id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let bound = from_row(&bound)?;
        tx.commit().await?;
        Ok(Binding::Bound(bound))
    }

    async fn existing_binding(&self, existing: BoundCertificate, user: &User) -> Result<Binding> {
        if existing.user_id == user.id {
            return Ok(Binding::AlreadyBound(existing));
        }
        let login = self.user(existing.user_id).await?.map(|u| u.login).unwrap_or_default();
        Ok(Binding::TakenBy { user_id: existing.user_id, login })
    }

    /// The certificates bound to `user`, the latest to expire first.
    pub async fn user_certificates(&self, user: UserId) -> Result<Vec<BoundCertificate>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM user_certificates WHERE user_id = $1 ORDER BY not_after DESC, id"
        )))
        .bind(user.get())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The binding of a thumbprint (upper-case hex), if any: whose certificate it is.
    pub async fn certificate_by_thumbprint(&self, thumbprint: &str) -> Result<Option<BoundCertificate>> {
        let mut conn = self.pool().acquire().await?;
        certificate_in(&mut conn, thumbprint).await
    }

    /// The user a certificate is bound to.
    pub async fn user_by_certificate(&self, thumbprint: &str) -> Result<Option<User>> {
        match self.certificate_by_thumbprint(thumbprint).await? {
            Some(bound) => self.user(bound.user_id).await,
            None => Ok(None),
        }
    }

    /// Unbinds the certificate `thumbprint` from `user`; `false` when it was not bound to them.
    pub async fn unbind_certificate(&self, by: Option<UserId>, user: &User, thumbprint: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let Some(existing) = certificate_in(&mut tx, thumbprint).await?.filter(|c| c.user_id == user.id) else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM user_certificates WHERE id = $1").bind(existing.id).execute(&mut *tx).await?;
        record(
            &mut *tx,
            by,
            Some(user.org_id),
            "user",
            Some(user.id.get()),
            "Отвязан сертификат ЭЦП",
            &describe(&user.login, &existing.certificate),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn certificate_in(conn: &mut sqlx::AnyConnection, thumbprint: &str) -> Result<Option<BoundCertificate>> {
    let row =
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM user_certificates WHERE thumbprint = $1")))
            .bind(thumbprint)
            .fetch_optional(&mut *conn)
            .await?;
    row.as_ref().map(from_row).transpose()
}

/// What an ЭЦП challenge is for: a signature made for one cannot serve the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengePurpose {
    /// Signing in with a certificate, before any session.
    SignIn,
    /// A signed-in user proving that they hold the certificate they bind.
    Bind(UserId),
}

impl ChallengePurpose {
    fn code(self) -> &'static str {
        match self {
            ChallengePurpose::SignIn => "sign_in",
            ChallengePurpose::Bind(_) => "bind",
        }
    }

    fn user(self) -> Option<i64> {
        match self {
            ChallengePurpose::SignIn => None,
            ChallengePurpose::Bind(user) => Some(user.get()),
        }
    }
}

/// What taking a challenge found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeTaken {
    /// Issued for this purpose and still in force; it is used up now.
    Fresh,
    /// Issued, but its time ran out; it is gone now.
    Expired,
    /// Never issued for this purpose, or used already.
    Unknown,
}

impl Store {
    /// Issues a one-time challenge for `purpose`, in force for `ttl_ms`, and answers it (the
    /// caller hands it to one browser only). Only its hash is kept. Expired challenges go.
    pub async fn issue_ecp_challenge(
        &self,
        purpose: ChallengePurpose,
        ttl_ms: i64,
        address: &str,
        limits: ChallengeLimits,
    ) -> Result<Issued> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM ecp_challenges WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
        let from_address: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ecp_challenges WHERE client_address = $1")
            .bind(address)
            .fetch_one(&mut *tx)
            .await?;
        if from_address >= limits.per_address {
            let first: Option<i64> =
                sqlx::query_scalar("SELECT MIN(expires_at) FROM ecp_challenges WHERE client_address = $1")
                    .bind(address)
                    .fetch_one(&mut *tx)
                    .await?;
            return Ok(Issued::TooManyFromAddress { retry_after_ms: first.map_or(ttl_ms, |t| (t - now).max(1000)) });
        }
        let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ecp_challenges").fetch_one(&mut *tx).await?;
        if open >= limits.total {
            return Ok(Issued::TooMany);
        }
        let challenge = crate::users::random_token();
        sqlx::query(
            "INSERT INTO ecp_challenges (challenge_hash, purpose, user_id, created_at, expires_at, client_address) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(crate::users::token_hash(&challenge))
        .bind(purpose.code())
        .bind(purpose.user())
        .bind(now)
        .bind(now + ttl_ms)
        .bind(address)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Issued::Challenge(challenge))
    }

    /// Uses up the challenge `challenge` of `purpose`: whatever it was, it cannot be used again.
    pub async fn take_ecp_challenge(&self, purpose: ChallengePurpose, challenge: &str) -> Result<ChallengeTaken> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let expires_at: Option<i64> = sqlx::query_scalar(
            "DELETE FROM ecp_challenges WHERE challenge_hash = $1 AND purpose = $2 AND COALESCE(user_id, 0) = $3 \
             RETURNING expires_at",
        )
        .bind(crate::users::token_hash(challenge))
        .bind(purpose.code())
        .bind(purpose.user().unwrap_or(0))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(match expires_at {
            None => ChallengeTaken::Unknown,
            Some(at) if at <= now => ChallengeTaken::Expired,
            Some(_) => ChallengeTaken::Fresh,
        })
    }

    /// Moves the expiry of every challenge `by_ms` earlier (tests of an expired challenge).
    pub async fn age_ecp_challenges(&self, by_ms: i64) -> Result<()> {
        sqlx::query("UPDATE ecp_challenges SET expires_at = expires_at - $1").bind(by_ms).execute(self.pool()).await?;
        Ok(())
    }
}
