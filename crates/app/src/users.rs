//! Signing in, and the administration of users and reference data.
//!
//! Sign-in belongs to [`Workflow`]. The administration use cases need only the database, so
//! they live on [`Administration`], which the command line builds without a connection to ЕИС
//! and the workflow hands out ([`Workflow::administration`]). The command line acts as the
//! installation's operator. The administrator's users pages go through `app::user_admin`,
//! which checks the administrator's reach.

use crate::passwords::{self, Busy, HashError};
use crate::{Error, Refusal, Result, Workflow};
use store::Store;
use store::nsi::{Catalog, LoadOptions, LoadSummary};
use store::users::{FailedSignIns, Reservation, User};

/// Logins longer than this cannot exist; longer input is cut for the throttle keys.
pub const MAX_LOGIN_CHARS: usize = 64;

/// Outcome of checking a login and password.
pub enum SignIn {
    Ok {
        user: User,
        /// Failed attempts under this login since its previous sign-in.
        failed: FailedSignIns,
        /// The password was handed out by an administrator: it must be changed before anything
        /// else (the pages lead to «Смена пароля», the API gives no token).
        must_change_password: bool,
    },
    Wrong,
    /// Too many failures: refused without checking the password.
    Throttled {
        retry_after_secs: i64,
    },
    /// The password checkers stayed busy; nothing was counted.
    Busy,
    /// The password was right, but the user's organization requires certificate sign-in
    /// (ЭЦП): no session. Said only after the password was checked, so it reveals nothing to
    /// someone who does not know it.
    CertificateRequired,
}

/// What a password sign-in hears when the organization requires a certificate.
pub const CERTIFICATE_REQUIRED: &str = "Ваша организация требует входа только по электронной подписи (ЭЦП): \
     войдите с сертификатом в разделе «Вход по электронной подписи (ЭЦП)» на странице входа.";

impl Workflow {
    /// Checks a login and password from `client`. The attempt is counted before the password
    /// is checked, so parallel attempts cannot race past the throttle (`store::users`).
    pub async fn sign_in(&self, login: &str, password: &str, client: std::net::IpAddr) -> Result<SignIn> {
        let login: String = login.trim().chars().take(MAX_LOGIN_CHARS + 1).collect();
        let address = client.to_string();
        let now = store::now();
        if let Reservation::Throttled { retry_after_ms } = self.store.reserve_sign_in(&login, &address, now).await? {
            self.metrics().sign_in_failed(crate::metrics::SignInFailure::Throttled);
            return Ok(SignIn::Throttled { retry_after_secs: (retry_after_ms + 999) / 1000 });
        }
        let creds =
            if login.chars().count() > MAX_LOGIN_CHARS { None } else { self.store.user_credentials(&login).await? };
        // A user of a blocked organization cannot sign in either (`org_admin`).
        let org_blocked = match &creds {
            Some(c) => self.store.organization_blocked(c.user.org_id).await?,
            None => false,
        };
        let stored = creds.as_ref().filter(|c| !c.blocked && !org_blocked).map(|c| c.password_hash.clone());
        match passwords::verify(password.to_owned(), stored).await {
            Err(Busy) => {
                self.store.sign_in_abandoned(&login, &address).await?;
                Ok(SignIn::Busy)
            }
            Ok(true) => {
                let creds = creds.ok_or_else(|| Error::internal("verified user vanished"))?;
                let (user, must_change_password) = (creds.user, creds.must_change_password);
                if self.store.ecp_policy(user.org_id).await?.sign_in {
                    // Not a failure: the attempt counted by the reservation is given back.
                    self.store.sign_in_abandoned(&login, &address).await?;
                    self.store
                        .record_audit(
                            Some(user.id),
                            Some(user.org_id),
                            "user",
                            Some(user.id.get()),
                            "Отказ во входе по паролю",
                            &format!("Логин {}; адрес {address}; организация требует входа по ЭЦП", user.login),
                        )
                        .await?;
                    return Ok(SignIn::CertificateRequired);
                }
                let failed = self.store.sign_in_succeeded(&login, &address, user.id).await?;
                Ok(SignIn::Ok { user, failed, must_change_password })
            }
            Ok(false) => {
                self.store.sign_in_failed(&login, now).await?;
                self.metrics().sign_in_failed(crate::metrics::SignInFailure::WrongPassword);
                Ok(SignIn::Wrong)
            }
        }
    }

    /// A session for a signed-in user, with the one-time notice its first page shows; answers
    /// the session's token.
    pub async fn open_session(&self, user: &User, ttl_ms: i64, notice: Option<&str>) -> Result<String> {
        Ok(self.store.create_session(user.id, ttl_ms, notice).await?)
    }

    /// «Выйти»: the session's token stops working.
    pub async fn close_session(&self, token: &str) -> Result<()> {
        Ok(self.store.delete_session(token).await?)
    }

    /// A bearer token of the JSON API for a signed-in user.
    pub async fn issue_api_token(&self, user: &User, ttl_ms: i64) -> Result<String> {
        Ok(self.store.create_api_token(user.id, ttl_ms).await?)
    }

    /// The bearer token stops working.
    pub async fn revoke_api_token(&self, token: &str) -> Result<()> {
        self.store.revoke_api_token(token).await?;
        Ok(())
    }

    /// The administration use cases, as the signed-in administrator would reach them.
    pub fn administration(&self) -> Administration {
        Administration::new(self.store.clone())
    }
}

/// What a loaded НСИ file did, or what a full load would retire before it may go.
#[derive(Debug)]
pub enum NsiLoad {
    Loaded(NsiLoaded),
    /// A full load would mark records not actual: it waits for a confirmation naming the count.
    NeedsConfirmation(NsiPreview),
}

/// A catalog loaded.
#[derive(Debug)]
pub struct NsiLoaded {
    pub catalog: Catalog,
    pub entries: usize,
    pub summary: LoadSummary,
}

impl NsiLoaded {
    /// The closing line of the load, in the words of the «Справочники» page.
    pub fn summary_ru(&self) -> String {
        let s = &self.summary;
        format!(
            "Справочник «{}» загружен: записей в файле {}, добавлено {}, изменено {}, без изменений {}, снята актуальность {}",
            self.catalog.title(),
            self.entries,
            s.added,
            s.updated,
            s.unchanged,
            s.retired
        )
    }
}

/// The counts of a full load that would retire records, for a person to confirm.
#[derive(Debug)]
pub struct NsiPreview {
    pub catalog: Catalog,
    pub entries: usize,
    pub preview: LoadSummary,
    /// Actual records of the catalog now.
    pub actual: i64,
}

/// How a full load that retires records is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    None,
    /// The administrator saw this many records to retire (the page); a different count asks again.
    Count(usize),
    /// `--yes` on the command line.
    Any,
}

/// One НСИ load at a time: reading a big export takes several times its size in memory.
static LOADING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Users and reference data. Built on the database alone.
#[derive(Clone)]
pub struct Administration {
    pub(crate) store: Store,
}

impl Administration {
    pub fn new(store: Store) -> Administration {
        Administration { store }
    }

    pub(crate) async fn existing(&self, login: &str) -> Result<User> {
        self.store
            .user_by_login(login.trim())
            .await?
            .ok_or_else(|| Error::refused(Refusal::State, format!("Нет пользователя с логином {}", login.trim())))
    }

    /// A new user of the organization with СПЗ `org_spz`, holding `roles` (one role or several).
    pub async fn add_user(
        &self,
        login: &str,
        password: String,
        full_name: &str,
        org_spz: &str,
        roles: impl Into<domain::Roles>,
    ) -> Result<(User, store::orgs::Organization)> {
        let roles = roles.into();
        let login = login.trim();
        domain::account::check_login(login).map_err(|m| Error::field("login", m))?;
        domain::account::check_full_name(full_name).map_err(|m| Error::field("full_name", m))?;
        domain::account::check_new_password(login, &password).map_err(|m| Error::field("password", m))?;
        let org = self
            .store
            .organization_by_spz(org_spz.trim())
            .await?
            .ok_or_else(|| Error::field("org_spz", format!("Нет организации с кодом СПЗ {}", org_spz.trim())))?;
        let hash = hash(password).await?;
        match self.store.create_user(login, &hash, full_name.trim(), org.id, roles).await? {
            Some(user) => Ok((user, org)),
            None => Err(Error::field("login", format!("Логин {login} уже занят"))),
        }
    }

    /// A new password; the user's sessions end and their API tokens are revoked.
    pub async fn set_password(&self, login: &str, password: String) -> Result<User> {
        domain::account::check_new_password(login.trim(), &password).map_err(|m| Error::field("password", m))?;
        let user = self.existing(login).await?;
        let hash = hash(password).await?;
        self.store.set_password(user.id, &hash).await?;
        Ok(user)
    }

    /// Lifts the sign-in delays of a login; answers how many throttle entries were removed.
    pub async fn unlock_sign_in(&self, login: &str) -> Result<(User, u64)> {
        let user = self.existing(login).await?;
        let removed = self.store.unlock_sign_in(&user.login).await?;
        Ok((user, removed))
    }

    /// Blocks (ending sessions and tokens) or unblocks a user.
    pub async fn set_blocked(&self, login: &str, blocked: bool) -> Result<User> {
        let user = self.existing(login).await?;
        self.store.set_blocked(user.id, blocked).await?;
        Ok(user)
    }

    /// Reads an ЕИС НСИ file and loads its catalog in one transaction. A file that is not a
    /// supported export changes nothing and says why; a full load that would retire records
    /// waits for [`Confirmation`]. `by` is the administrator (`None`: the operator). `progress`
    /// hears how many records are written (see [`PreparedNsi::write`]).
    pub async fn load_nsi(
        &self,
        by: Option<&User>,
        bytes: Vec<u8>,
        source: &str,
        partial: bool,
        confirmation: Confirmation,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<NsiLoad> {
        match self.prepare_nsi(by, bytes, source, partial, confirmation).await? {
            NsiCheck::Ready(prepared) => Ok(NsiLoad::Loaded(prepared.write(self, progress).await?)),
            NsiCheck::NeedsConfirmation(preview) => Ok(NsiLoad::NeedsConfirmation(preview)),
        }
    }

    /// Reads an ЕИС НСИ file and compares it with the catalog, changing nothing: ready to be
    /// written, or, for a full load that would retire records and is not confirmed, the
    /// counts to confirm. Holds the turn of the one load at a time until written or dropped.
    pub async fn prepare_nsi(
        &self,
        by: Option<&User>,
        bytes: Vec<u8>,
        source: &str,
        partial: bool,
        confirmation: Confirmation,
    ) -> Result<NsiCheck> {
        if by.is_some_and(|u| !u.roles.is_admin()) {
            return Err(Error::not_allowed("Загружать справочники может только администратор"));
        }
        let Ok(turn) = LOADING.try_acquire() else {
            return Err(Error::refused(
                Refusal::State,
                "Сейчас загружается другой справочник. Дождитесь окончания и повторите загрузку. Данные не изменены.",
            ));
        };
        // Parsing tens of megabytes is CPU work: off the async threads.
        let parsed =
            tokio::task::spawn_blocking(move || eis::nsi::read_nsi_bytes(&bytes)).await.map_err(Error::internal)?;
        let doc = parsed.map_err(|e| {
            Error::refused(
                Refusal::Content,
                format!("Файл «{source}» не загружен: {} Данные не изменены.", e.message_ru()),
            )
        })?;
        let catalog = Catalog::from_code(doc.catalog.code())
            .ok_or_else(|| Error::internal("the catalog codes of eis and store differ"))?;
        let entries: Vec<store::nsi::Entry> = doc
            .entries
            .into_iter()
            .map(|e| store::nsi::Entry { code: e.code, name: e.name, parent_code: e.parent_code, actual: e.actual })
            .collect();
        let opts =
            LoadOptions { source, partial, user_id: by.map(|u| u.id), org_id: by.map(|u| u.org_id), dry_run: true };
        let preview = self.store.reference_load(catalog, &entries, opts).await?;
        let confirmed = match confirmation {
            Confirmation::Any => true,
            Confirmation::Count(n) => n == preview.retired,
            Confirmation::None => false,
        };
        if preview.retired > 0 && !confirmed {
            let actual = self
                .store
                .reference_catalogs()
                .await?
                .into_iter()
                .find(|c| c.catalog == catalog)
                .map(|c| c.actual)
                .unwrap_or(0);
            return Ok(NsiCheck::NeedsConfirmation(NsiPreview { catalog, entries: entries.len(), preview, actual }));
        }
        Ok(NsiCheck::Ready(PreparedNsi {
            catalog,
            entries,
            source: source.to_owned(),
            partial,
            by: by.map(|u| (u.id, u.org_id)),
            _turn: turn,
        }))
    }
}

/// An НСИ file read, compared and, where needed, confirmed: ready to be written.
pub struct PreparedNsi {
    catalog: Catalog,
    entries: Vec<store::nsi::Entry>,
    source: String,
    partial: bool,
    by: Option<(domain::ids::UserId, domain::ids::OrgId)>,
    /// The one load at a time.
    _turn: tokio::sync::SemaphorePermit<'static>,
}

impl PreparedNsi {
    /// Records in the file.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn catalog(&self) -> Catalog {
        self.catalog
    }

    /// Writes the catalog in one transaction. `progress` hears how many records are written so
    /// far; it is called inside the transaction, so it must only count (no waiting, no database).
    pub async fn write(self, admin: &Administration, progress: &(dyn Fn(usize) + Sync)) -> Result<NsiLoaded> {
        let opts = LoadOptions {
            source: &self.source,
            partial: self.partial,
            user_id: self.by.map(|b| b.0),
            org_id: self.by.map(|b| b.1),
            dry_run: false,
        };
        let summary = admin.store.reference_load_observed(self.catalog, &self.entries, opts, progress).await?;
        Ok(NsiLoaded { catalog: self.catalog, entries: self.entries.len(), summary })
    }
}

/// What [`Administration::prepare_nsi`] found.
pub enum NsiCheck {
    Ready(PreparedNsi),
    NeedsConfirmation(NsiPreview),
}

/// Hashes a password with Argon2id on the bounded password checkers.
pub async fn hash(password: String) -> Result<String> {
    passwords::hash(password).await.map_err(|e| match e {
        HashError::Busy => Error::refused(Refusal::State, passwords::BUSY_MESSAGE),
        other => Error::internal(format!("{other:?}")),
    })
}
