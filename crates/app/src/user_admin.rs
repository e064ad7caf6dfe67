//! «Администрирование» → «Пользователи»: an administrator manages the users of their own
//! organization and of every organization below it at any depth (delegated administration: the
//! administrator of a district manages its schools' users, the region's administrator both),
//! and nothing else — not the organization's superior, not its siblings.
//!
//! [`Workflow::user_admin`] checks the role and hands out a [`UserAdmin`]; every read and write
//! of a user goes through it, and a user goes out only as a [`Managed`], built here after the
//! reach check, so a page cannot change a user it may not see. A user out of reach is
//! [`Error::NotFound`], so its existence does not leak. Every change goes to the audit journal
//! with the administrator who made it, in the same transaction; no password goes there.
//!
//! Passwords the administrator hands out (a new user's, a reset) are generated here, shown once
//! and stored only hashed; the user must change them at the next sign-in
//! ([`Workflow::change_own_password`]).

use crate::users::hash;
use crate::{Error, Refusal, Result, Workflow, passwords};
use domain::ids::{OrgId, UserId};
use domain::plan::FieldError;
use domain::secret::Secret;
use domain::{Role, Roles, role::RolesError};
use rand::Rng;
use store::Store;
use store::orgs::Organization;
use store::user_admin::{ChangedBy, ManagedUser};
use store::users::User;

/// Rows of one page of the list.
pub const PAGE_SIZE: usize = 50;
/// The longest search text; longer is refused, not cut.
pub const MAX_QUERY_CHARS: usize = 100;

/// Proof that the caller is an administrator, with the organizations in their reach.
pub struct UserAdmin {
    store: Store,
    admin: User,
    org: Organization,
    /// The administrator's organization and every organization below it.
    reach: std::collections::HashSet<OrgId>,
}

/// A user the administrator may manage (built only after the reach check).
#[derive(Debug, Clone)]
pub struct Managed(ManagedUser);

impl Managed {
    pub fn get(&self) -> &ManagedUser {
        &self.0
    }
    pub fn user(&self) -> &User {
        &self.0.user
    }
}

/// A user in the list, with whether sign-in is delayed after failed attempts now.
#[derive(Debug, Clone)]
pub struct Row {
    pub user: Managed,
    pub locked_until: Option<store::Time>,
}

/// One page of the list.
#[derive(Debug)]
pub struct UserList {
    pub rows: Vec<Row>,
    /// Users matching the search, on all pages.
    pub total: usize,
    pub page: usize,
    pub pages: usize,
}

/// What the administrator typed to create a user.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub login: String,
    pub full_name: String,
    pub org_id: String,
    /// The codes of the roles ticked.
    pub roles: Vec<String>,
}

/// What the «Изменить» form sends: organization and roles.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub org_id: String,
    /// The codes of the roles ticked.
    pub roles: Vec<String>,
}

/// The roles ticked in a form; a field error when none is, or one is not in the list.
fn ticked_roles(codes: &[String], errors: &mut Vec<FieldError>) -> Option<Roles> {
    match Roles::parse(codes.iter().map(String::as_str)) {
        Ok(roles) => Some(roles),
        Err(e) => {
            let message = match e {
                RolesError::Empty => "Выберите хотя бы одну роль.",
                RolesError::Unknown(_) => "Выберите роли из списка.",
            };
            errors.push(FieldError { field: "roles", message: message.into() });
            None
        }
    }
}

impl Workflow {
    /// The users pages of an administrator; refused to anyone else.
    pub async fn user_admin(&self, caller: &User) -> Result<UserAdmin> {
        if !caller.roles.contains(Role::Admin) {
            return Err(Error::not_allowed("Раздел «Пользователи» доступен только администратору."));
        }
        let org = self.store.organization(caller.org_id).await?.ok_or(Error::NotFound)?;
        let reach = self.store.subtree(org.id).await?.into_iter().collect();
        Ok(UserAdmin { store: self.store.clone(), admin: caller.clone(), org, reach })
    }

    /// The user's own new password («Сменить пароль», and the change forced after an
    /// administrator handed one out): the current password is checked, the new one follows
    /// the rules of `domain::account`. The session `keep_session` (its token hash) goes on;
    /// the user's other sessions and API tokens end. A wrong current password counts as a
    /// failed sign-in from `client`, under the same throttle, so a taken-over session cannot
    /// guess it at leisure.
    pub async fn change_own_password(
        &self,
        user: &User,
        client: std::net::IpAddr,
        keep_session: &str,
        current: &Secret,
        new: &Secret,
        repeated: &Secret,
    ) -> Result<()> {
        if current.is_empty() {
            return Err(Error::field("current", "Введите текущий пароль."));
        }
        if current.expose().chars().count() > domain::account::MAX_PASSWORD_CHARS {
            return Err(Error::field("current", "Текущий пароль введён неверно."));
        }
        if let Err(m) = domain::account::check_new_password(&user.login, new.expose()) {
            return Err(Error::field("password", m));
        }
        if new.expose() != repeated.expose() {
            return Err(Error::field("password_confirm", "Пароли не совпадают. Введите новый пароль дважды."));
        }
        if new.expose() == current.expose() {
            return Err(Error::field("password", "Новый пароль должен отличаться от текущего."));
        }
        let (login, address, now) = (user.login.as_str(), client.to_string(), store::now());
        if let store::users::Reservation::Throttled { retry_after_ms } =
            self.store.reserve_sign_in(login, &address, now).await?
        {
            let secs = (retry_after_ms + 999) / 1000;
            return Err(Error::refused(
                Refusal::State,
                format!("Слишком много неверных паролей. Повторите через {} с. Пароль не изменён.", secs.max(1)),
            ));
        }
        let stored = self.store.user_credentials(login).await?.filter(|c| !c.blocked && c.user.id == user.id);
        match passwords::verify(current.expose().to_owned(), stored.map(|c| c.password_hash)).await {
            Ok(true) => self.store.sign_in_abandoned(login, &address).await?,
            Ok(false) => {
                self.store.sign_in_failed(login, now).await?;
                return Err(Error::field("current", "Текущий пароль введён неверно."));
            }
            Err(passwords::Busy) => {
                self.store.sign_in_abandoned(login, &address).await?;
                return Err(Error::refused(Refusal::State, passwords::BUSY_MESSAGE));
            }
        }
        let hashed = hash(new.expose().to_owned()).await?;
        self.store.change_own_password(user, &hashed, keep_session).await?;
        Ok(())
    }
}

impl UserAdmin {
    pub fn admin(&self) -> &User {
        &self.admin
    }

    /// The administrator's own organization.
    pub fn organization(&self) -> &Organization {
        &self.org
    }

    fn by(&self) -> ChangedBy {
        ChangedBy { user_id: self.admin.id }
    }

    fn reaches(&self, org_id: OrgId) -> bool {
        self.reach.contains(&org_id)
    }

    /// The organizations whose users the administrator manages: their own first, then every
    /// organization below it, by short name.
    pub async fn organizations(&self) -> Result<Vec<Organization>> {
        let mut orgs = vec![self.org.clone()];
        let mut below: Vec<Organization> = self
            .store
            .organizations()
            .await?
            .into_iter()
            .filter(|o| o.id != self.org.id && self.reaches(o.id))
            .collect();
        below.sort_by(|a, b| a.short_name.cmp(&b.short_name).then(a.id.get().cmp(&b.id.get())));
        orgs.extend(below);
        Ok(orgs)
    }

    /// One page of the users in reach whose login or name contains `query` (any case, «ё» as
    /// «е»). A query longer than [`MAX_QUERY_CHARS`] is refused.
    pub async fn list(&self, query: &str, page: i64) -> Result<UserList> {
        let query = query.trim();
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::field(
                "q",
                format!("Строка поиска не длиннее {MAX_QUERY_CHARS} символов. Сократите её и повторите поиск."),
            ));
        }
        domain::text::check(query).map_err(|m| Error::field("q", m))?;
        let needle = fold(query);
        let keys = self.store.user_keys_in_reach(self.org.id).await?;
        let found: Vec<UserId> = keys
            .into_iter()
            .filter(|k| needle.is_empty() || fold(&k.login).contains(&needle) || fold(&k.full_name).contains(&needle))
            .map(|k| k.id)
            .collect();
        let total = found.len();
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = usize::try_from(page).unwrap_or(1).clamp(1, pages);
        let ids: Vec<UserId> = found.into_iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).collect();
        let now = store::now();
        let mut rows = Vec::with_capacity(ids.len());
        for u in self.store.managed_users(&ids).await? {
            // Read through the same check as one user's page.
            if !self.reaches(u.user.org_id) {
                continue;
            }
            let locked_until = self.store.sign_in_locked_until(&u.user.login, now).await?;
            rows.push(Row { user: Managed(u), locked_until });
        }
        Ok(UserList { rows, total, page, pages })
    }

    /// A user in reach; anyone else is not found.
    pub async fn user(&self, id: UserId) -> Result<Managed> {
        let u = self.store.managed_user(id).await?.ok_or(Error::NotFound)?;
        if !self.reaches(u.user.org_id) {
            return Err(Error::NotFound);
        }
        Ok(Managed(u))
    }

    /// Until when sign-in of this user is delayed after failed attempts, if it is now.
    pub async fn locked_until(&self, user: &Managed) -> Result<Option<store::Time>> {
        Ok(self.store.sign_in_locked_until(&user.user().login, store::now()).await?)
    }

    /// An organization in reach, from the form's value.
    async fn org_in_reach(&self, raw: &str) -> Result<Option<Organization>> {
        let Ok(id) = raw.trim().parse::<i64>() else { return Ok(None) };
        Ok(self.organizations().await?.into_iter().find(|o| o.id.get() == id))
    }

    /// A new user with a generated password, which the answer carries to be shown once. The
    /// user must change it at the first sign-in.
    pub async fn create(&self, form: &NewUser) -> Result<(User, Secret)> {
        let login = form.login.trim();
        let full_name = form.full_name.trim();
        let mut errors = Vec::new();
        if let Err(m) = domain::account::check_login(login) {
            errors.push(FieldError { field: "login", message: m });
        }
        if let Err(m) = domain::account::check_full_name(full_name) {
            errors.push(FieldError { field: "full_name", message: m });
        }
        let org = self.org_in_reach(&form.org_id).await?;
        if org.is_none() {
            errors.push(FieldError {
                field: "org_id", message: "Выберите организацию из списка.".into()
            });
        }
        let roles = ticked_roles(&form.roles, &mut errors);
        let (Some(org), Some(roles), true) = (org, roles, errors.is_empty()) else {
            return Err(Error::fields(summary(&errors), errors));
        };
        let password = generate_password(login);
        let hashed = hash(password.expose().to_owned()).await?;
        let details = format!(
            "Логин {login}; ФИО {full_name}; организация {}; роли: {roles}; смена пароля при первом входе обязательна",
            org.short_name,
        );
        let new = store::user_admin::NewUser { login, password_hash: &hashed, full_name, org_id: org.id, roles };
        match self.store.admin_create_user(self.by(), &new, &details).await? {
            Some(user) => Ok((user, password)),
            None => Err(Error::field("login", format!("Логин {login} уже занят. Выберите другой."))),
        }
    }

    /// A new organization and roles, journaled with what they were. An administrator cannot
    /// move themselves to another organization or give up their own administrator's role: that
    /// is how one locks oneself out (as blocking oneself). Their other roles they may change.
    pub async fn update(&self, target: &Managed, change: &UserChange) -> Result<()> {
        let user = target.user();
        let mut errors = Vec::new();
        let org = self.org_in_reach(&change.org_id).await?;
        if org.is_none() {
            errors.push(FieldError {
                field: "org_id", message: "Выберите организацию из списка.".into()
            });
        }
        let roles = ticked_roles(&change.roles, &mut errors);
        let (Some(org), Some(roles), true) = (org, roles, errors.is_empty()) else {
            return Err(Error::fields(summary(&errors), errors));
        };
        if org.id == user.org_id && roles == user.roles {
            return Ok(());
        }
        if user.id == self.admin.id && (org.id != user.org_id || !roles.contains(Role::Admin)) {
            return Err(Error::not_allowed(
                "Свою организацию и свою роль «Администратор» изменить нельзя: так можно лишиться доступа \
                 к администрированию. Попросите другого администратора.",
            ));
        }
        let mut details = format!("Логин {}", user.login);
        if roles != user.roles {
            details.push_str(&format!("; роли: {} → {}", user.roles, roles));
        }
        if org.id != user.org_id {
            details.push_str(&format!("; организация: {} → {}", target.get().org_short_name, org.short_name));
        }
        self.store.admin_update_user(self.by(), user.id, org.id, roles, &details).await?;
        Ok(())
    }

    /// Blocks (the user's sessions and API tokens end at once) or unblocks. An administrator
    /// cannot block themselves.
    pub async fn set_blocked(&self, target: &Managed, blocked: bool) -> Result<()> {
        if blocked && target.user().id == self.admin.id {
            return Err(Error::not_allowed("Заблокировать себя нельзя. Попросите другого администратора."));
        }
        if target.get().blocked == blocked {
            return Ok(());
        }
        self.store.admin_set_blocked(self.by(), target.user(), blocked).await?;
        Ok(())
    }

    /// A new generated password, to be shown once and changed at the next sign-in; the user's
    /// sessions and API tokens end. One's own password is changed in «Настройки».
    pub async fn reset_password(&self, target: &Managed) -> Result<Secret> {
        if target.user().id == self.admin.id {
            return Err(Error::not_allowed(
                "Свой пароль смените в «Настройки» → «Сменить пароль»: сброс — для других пользователей.",
            ));
        }
        let password = generate_password(&target.user().login);
        let hashed = hash(password.expose().to_owned()).await?;
        self.store.admin_reset_password(self.by(), target.user(), &hashed).await?;
        Ok(password)
    }

    /// The certificates (ЭЦП) bound to a managed user.
    pub async fn certificates(&self, target: &Managed) -> Result<Vec<store::certificates::BoundCertificate>> {
        Ok(self.store.user_certificates(target.user().id).await?)
    }

    /// Binds the certificate in `file` (PEM or DER, as exported from CryptoPro) to a managed
    /// user, by the rules of `plangraf cert bind`.
    pub async fn bind_certificate(
        &self,
        target: &Managed,
        file: &[u8],
    ) -> Result<crate::certificates::CertificateBound> {
        if file.is_empty() {
            return Err(Error::field("certificate", "Выберите файл сертификата (.cer, .crt или .pem)."));
        }
        crate::users::Administration::new(self.store.clone())
            .bind_certificate(Some(&self.admin), &target.user().login, file, store::now())
            .await
    }

    /// Unbinds the certificate `thumbprint` from a managed user.
    pub async fn unbind_certificate(&self, target: &Managed, thumbprint: &str) -> Result<()> {
        crate::users::Administration::new(self.store.clone())
            .unbind_certificate(Some(&self.admin), &target.user().login, thumbprint)
            .await?;
        Ok(())
    }

    /// Lifts the sign-in delays after failed attempts; answers how many were lifted.
    pub async fn unlock(&self, target: &Managed) -> Result<u64> {
        Ok(self.store.admin_unlock_sign_in(self.by(), target.user()).await?)
    }
}

fn summary(errors: &[FieldError]) -> String {
    let mut s = String::from("Пользователь не создан: исправьте ошибки в полях.");
    if let [one] = errors {
        s = one.message.clone();
    }
    s
}

/// Lowercase, «ё» as «е»: the search form of a login or a name.
fn fold(s: &str) -> String {
    s.to_lowercase().replace('ё', "е")
}

/// Letters and digits that cannot be mistaken for one another when read off a screen.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A password to hand out: four groups of four from [`ALPHABET`] (some 90 bits), accepted by
/// the password rules for this login.
pub fn generate_password(login: &str) -> Secret {
    let mut rng = rand::rng();
    loop {
        let groups: Vec<String> =
            (0..4).map(|_| (0..4).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()).collect();
        let password = groups.join("-");
        if domain::account::check_new_password(login, &password).is_ok() {
            return Secret::new(password);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_follow_the_rules_and_differ() {
        let a = generate_password("ivanov");
        let b = generate_password("ivanov");
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().chars().count(), 19);
        assert!(domain::account::check_new_password("ivanov", a.expose()).is_ok());
        assert!(a.expose().chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
    }

    #[test]
    fn search_folds_case_and_yo() {
        assert_eq!(fold("Семёнов"), "семенов");
        assert!(fold("Семёнова Анна").contains(&fold("СЕМЕН")));
    }
}
