//! Users, server-side sessions, API tokens and sign-in throttling.
//! Tokens are random 256-bit values; only their SHA-256 is stored.

use crate::{Result, Store, StoreError, Time, is_unique_violation, ms, now_ms, time_at, time_opt};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use domain::Roles;
use domain::ids::{OrgId, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub full_name: String,
    pub org_id: OrgId,
    /// The roles the user holds (table `user_roles`).
    pub roles: Roles,
}

/// A user with the stored password hash, for sign-in only.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
    pub blocked: bool,
    /// The password was handed out by an administrator and must be changed before anything else.
    pub must_change_password: bool,
}

/// A live session: the user and the CSRF token every state change must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: Time,
    /// Shown once, on the session's first page (see [`Store::take_session_notice`]).
    pub notice: Option<String>,
    /// The SHA-256 of the session's cookie token.
    pub token_hash: String,
    /// The short name of the user's organization, for the header of every page.
    pub org_short_name: String,
    /// The user's unread notifications, for the header's counter.
    pub unread_notifications: i64,
    /// Since when ЕИС counts as unavailable («ЕИС недоступна», see `store::notify`).
    pub eis_down_since: Option<Time>,
    /// The user must change the password before doing anything else (see `user_admin`).
    pub must_change_password: bool,
}

/// One kind of throttle key: how many failures are free, and the delay after each further one,
/// which doubles from `first_delay_ms` up to `max_delay_ms`.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleRule {
    pub free_failures: i64,
    pub first_delay_ms: i64,
    pub max_delay_ms: i64,
}

impl ThrottleRule {
    /// The delay before the attempt that follows the `failures`-th failure.
    pub fn delay_after(&self, failures: i64) -> i64 {
        if failures < self.free_failures {
            return 0;
        }
        let doublings = (failures - self.free_failures).clamp(0, 30) as u32;
        self.first_delay_ms.saturating_mul(1i64 << doublings).min(self.max_delay_ms)
    }
}

/// One login from one address: five free failures, then 1 s, 2 s, 4 s … up to 15 minutes.
/// Keyed by the pair, so an attacker elsewhere cannot lock the real user out.
pub const LOGIN_FROM_ADDRESS: ThrottleRule =
    ThrottleRule { free_failures: 5, first_delay_ms: 1_000, max_delay_ms: 15 * 60_000 };
/// One address, whatever the login (password spraying): twenty free failures.
pub const FROM_ADDRESS: ThrottleRule =
    ThrottleRule { free_failures: 20, first_delay_ms: 1_000, max_delay_ms: 15 * 60_000 };
/// One login from anywhere (an attack from many addresses): a hundred free failures.
pub const LOGIN_ANYWHERE: ThrottleRule =
    ThrottleRule { free_failures: 100, first_delay_ms: 1_000, max_delay_ms: 15 * 60_000 };
/// Failures older than this, with no delay running, are forgotten.
pub const THROTTLE_MEMORY_MS: i64 = 60 * 60 * 1000;

/// Whether an attempt may go on to the password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Granted,
    /// Refused without checking the password; try again after this many milliseconds.
    Throttled {
        retry_after_ms: i64,
    },
}

/// Failed sign-ins since the user's previous successful one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedSignIns {
    pub count: i64,
    pub last_at: Option<Time>,
}

/// The three keys of an attempt, sorted so that concurrent transactions lock them in one order.
fn throttle_keys(login: &str, address: &str) -> Vec<(String, ThrottleRule)> {
    let mut keys = vec![
        (format!("{}{address}", pair_prefix(login)), LOGIN_FROM_ADDRESS),
        (format!("a:{address}"), FROM_ADDRESS),
        (format!("u:{login}"), LOGIN_ANYWHERE),
    ];
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys
}

/// Every pair key of `login` starts with this. The login's length leads it, so no login
/// can forge another's pairs by containing the separator.
fn pair_prefix(login: &str) -> String {
    format!("l:{}|{login}|", login.len())
}

/// The prefix of every throttle key of `login` paired with an address (for `user_admin`).
pub(crate) fn pair_prefix_of(login: &str) -> String {
    pair_prefix(login)
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    B64URL.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The roles of the user `u` as one column, `roles_mask`: the sum of the bits
/// ([`domain::Role::bit`]) of the roles in `user_roles`, read in the same query as the user (no
/// query per user in a list). A code no build wrote gives a bit no role has, and the row is
/// reported as corrupt; a user without roles too. The codes are `Role::code`, the bits its
/// place in `Role::ALL` (checked by the test `roles_mask_matches_the_domain`).
macro_rules! roles_mask {
    () => {
        "(SELECT SUM(CASE r.role WHEN 'customer' THEN 1 WHEN 'approver' THEN 2 WHEN 'admin' THEN 4 ELSE 64 END) \
         FROM user_roles r WHERE r.user_id = u.id) AS roles_mask"
    };
}
pub(crate) use roles_mask;

/// The roles from the `roles_mask` column (see [`roles_mask!`]).
pub(crate) fn roles_from_row(r: &AnyRow) -> Result<Roles> {
    let bits: Option<i64> = r.try_get("roles_mask")?;
    let id: i64 = r.try_get("id")?;
    bits.and_then(Roles::from_bits).ok_or_else(|| StoreError::Corrupt(format!("roles of user {id}: {bits:?}")))
}

fn user_from_row(r: &AnyRow) -> Result<User> {
    Ok(User {
        id: UserId(r.try_get("id")?),
        login: r.try_get("login")?,
        full_name: r.try_get("full_name")?,
        org_id: OrgId(r.try_get("org_id")?),
        roles: roles_from_row(r)?,
    })
}

/// Writes the user's roles in place of those he held.
pub(crate) async fn set_roles(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user: UserId,
    roles: Roles,
) -> Result<()> {
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(user.get()).execute(&mut **tx).await?;
    for role in roles.iter() {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
            .bind(user.get())
            .bind(role.code())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// `SELECT` of a user's columns, `u` being `users`.
macro_rules! user_columns {
    () => {
        concat!("u.id, u.login, u.full_name, u.org_id, ", crate::users::roles_mask!())
    };
}

impl Store {
    /// Creates a user holding `roles` (one [`domain::Role`] or several); `Ok(None)` when the
    /// login is taken.
    pub async fn create_user(
        &self,
        login: &str,
        password_hash: &str,
        full_name: &str,
        org_id: OrgId,
        roles: impl Into<Roles>,
    ) -> Result<Option<User>> {
        let roles = roles.into();
        let mut tx = self.write_tx().await?;
        let res = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (login, password_hash, full_name, org_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(login)
        .bind(password_hash)
        .bind(full_name)
        .bind(org_id.get())
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await;
        let id = match res {
            Ok(id) => UserId(id),
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        set_roles(&mut tx, id, roles).await?;
        tx.commit().await?;
        Ok(Some(User { id, login: login.into(), full_name: full_name.into(), org_id, roles }))
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>> {
        let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1"))
            .bind(id.get())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user_credentials(&self, login: &str) -> Result<Option<UserCredentials>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", u.password_hash, u.blocked, u.must_change_password FROM users u WHERE u.login = $1"
        ))
        .bind(login)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => Ok(Some(UserCredentials {
                user: user_from_row(&r)?,
                password_hash: r.try_get("password_hash")?,
                blocked: r.try_get::<i64, _>("blocked")? != 0,
                must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
            })),
            None => Ok(None),
        }
    }

    pub async fn users_of_org(&self, org_id: OrgId) -> Result<Vec<User>> {
        let rows =
            sqlx::query(concat!("SELECT ", user_columns!(), " FROM users u WHERE u.org_id = $1 ORDER BY u.login"))
                .bind(org_id.get())
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Reserves one sign-in attempt for `login` from `address` before the password is checked.
    ///
    /// The attempt is counted as a failure up front, in one write transaction over the three
    /// throttle keys (login and address together, the address, the login), so that parallel
    /// attempts cannot race past the limit: every attempt beyond a key's free failures must
    /// wait a delay that doubles with each further failure. A key inside its delay refuses the
    /// attempt without counting it, and the password is then not checked at all. A success
    /// gives the counted failure back ([`Store::sign_in_succeeded`]).
    pub async fn reserve_sign_in(&self, login: &str, address: &str, now: Time) -> Result<Reservation> {
        let now = ms(now);
        let keys = throttle_keys(login, address);
        let mut tx = self.write_tx().await?;
        for (key, _) in &keys {
            sqlx::query(
                "INSERT INTO sign_in_throttle (throttle_key, failures, next_at, updated_at) VALUES ($1, 0, 0, $2) \
                 ON CONFLICT (throttle_key) DO NOTHING",
            )
            .bind(key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let lock = if self.backend() == crate::Backend::Postgres { " FOR UPDATE" } else { "" };
        let mut current = Vec::with_capacity(keys.len());
        for (key, rule) in &keys {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT failures, next_at, updated_at FROM sign_in_throttle WHERE throttle_key = $1{lock}"
            )))
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            let (failures, next_at, updated_at): (i64, i64, i64) =
                (row.try_get("failures")?, row.try_get("next_at")?, row.try_get("updated_at")?);
            // A key that stayed quiet for a while starts afresh.
            let failures = if now - updated_at > THROTTLE_MEMORY_MS && next_at <= now { 0 } else { failures };
            current.push((key, rule, failures, next_at));
        }
        let wait = current.iter().map(|(_, _, _, next_at)| next_at - now).max().unwrap_or(0);
        if wait > 0 {
            tx.commit().await?;
            return Ok(Reservation::Throttled { retry_after_ms: wait });
        }
        for (key, rule, failures, _) in current {
            let failures = failures + 1;
            sqlx::query(
                "UPDATE sign_in_throttle SET failures = $1, next_at = $2, updated_at = $3 WHERE throttle_key = $4",
            )
            .bind(failures)
            .bind(now + rule.delay_after(failures))
            .bind(now)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Reservation::Granted)
    }

    /// The reserved attempt succeeded: the login's counters start afresh, the address gets its
    /// counted failure back, and the failed attempts since the user's previous sign-in are
    /// returned (and forgotten) so that the user can be told about them.
    pub async fn sign_in_succeeded(&self, login: &str, address: &str, user_id: UserId) -> Result<FailedSignIns> {
        let keys = throttle_keys(login, address);
        let mut tx = self.write_tx().await?;
        for (key, _) in keys.iter().filter(|(k, _)| !k.starts_with("a:")) {
            sqlx::query("DELETE FROM sign_in_throttle WHERE throttle_key = $1").bind(key).execute(&mut *tx).await?;
        }
        for (key, _) in keys.iter().filter(|(k, _)| k.starts_with("a:")) {
            sqlx::query("UPDATE sign_in_throttle SET failures = failures - 1 WHERE throttle_key = $1 AND failures > 0")
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query("SELECT failed_sign_ins, last_failed_sign_in_at FROM users WHERE id = $1")
            .bind(user_id.get())
            .fetch_one(&mut *tx)
            .await?;
        let failed = FailedSignIns {
            count: row.try_get("failed_sign_ins")?,
            last_at: time_opt(&row, "last_failed_sign_in_at")?,
        };
        sqlx::query(
            "UPDATE users SET failed_sign_ins = 0, last_failed_sign_in_at = NULL, last_sign_in_at = $1 WHERE id = $2",
        )
        .bind(now_ms())
        .bind(user_id.get())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(failed)
    }

    /// A reserved attempt was not checked after all (the password checkers were busy): the
    /// counted failure is given back on every key.
    pub async fn sign_in_abandoned(&self, login: &str, address: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for (key, _) in throttle_keys(login, address) {
            sqlx::query("UPDATE sign_in_throttle SET failures = failures - 1 WHERE throttle_key = $1 AND failures > 0")
                .bind(&key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A reserved attempt failed: the throttle counted it already; the user (if the login
    /// exists) is told about it at the next sign-in.
    pub async fn sign_in_failed(&self, login: &str, now: Time) -> Result<()> {
        sqlx::query(
            "UPDATE users SET failed_sign_ins = failed_sign_ins + 1, last_failed_sign_in_at = $1 WHERE login = $2",
        )
        .bind(ms(now))
        .bind(login)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Lifts every delay on `login` (from every address); the administrator's unlock. Returns
    /// how many throttle entries were removed.
    pub async fn unlock_sign_in(&self, login: &str) -> Result<u64> {
        let prefix = pair_prefix(login);
        let res = sqlx::query(
            "DELETE FROM sign_in_throttle WHERE throttle_key = $1 OR substr(throttle_key, 1, CAST($2 AS INTEGER)) = $3",
        )
        .bind(format!("u:{login}"))
        .bind(prefix.chars().count() as i64)
        .bind(&prefix)
        .execute(self.pool())
        .await?;
        Ok(res.rows_affected())
    }

    /// Whether `login` from `address` would be refused now, and for how long (for tests and
    /// the administrator's view).
    pub async fn sign_in_delay(&self, login: &str, address: &str, now: Time) -> Result<Option<i64>> {
        let now = ms(now);
        let mut wait = 0;
        for (key, _) in throttle_keys(login, address) {
            let next: Option<i64> = sqlx::query_scalar("SELECT next_at FROM sign_in_throttle WHERE throttle_key = $1")
                .bind(&key)
                .fetch_optional(self.pool())
                .await?;
            wait = wait.max(next.unwrap_or(0) - now);
        }
        Ok((wait > 0).then_some(wait))
    }

    /// Deletes expired sessions and API tokens and throttle entries that are neither
    /// delaying anyone nor remembered any more. Returns the number of rows removed.
    pub async fn purge_expired(&self, now: Time) -> Result<u64> {
        let now = ms(now);
        let mut removed = 0;
        removed += sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?
            .rows_affected();
        removed += sqlx::query("DELETE FROM api_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?
            .rows_affected();
        removed += sqlx::query("DELETE FROM sign_in_throttle WHERE next_at <= $1 AND updated_at < $2")
            .bind(now)
            .bind(now - THROTTLE_MEMORY_MS)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(removed)
    }

    /// Ends every session and revokes every API token of a user: after a password change,
    /// a block, or on request. Returns how many were ended.
    pub async fn end_all_sessions(&self, user_id: UserId) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let a = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id.get())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let b = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
            .bind(user_id.get())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(a + b)
    }

    /// Sets a new password hash and ends the user's sessions and tokens in one transaction.
    pub async fn set_password(&self, user_id: UserId, password_hash: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id.get())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id.get()).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM api_tokens WHERE user_id = $1").bind(user_id.get()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Blocks or unblocks a user. Blocking ends their sessions and tokens in the same transaction.
    pub async fn set_blocked(&self, user_id: UserId, blocked: bool) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE users SET blocked = $1 WHERE id = $2")
            .bind(i64::from(blocked))
            .bind(user_id.get())
            .execute(&mut *tx)
            .await?;
        if blocked {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id.get()).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM api_tokens WHERE user_id = $1").bind(user_id.get()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users u WHERE u.login = $1"))
            .bind(login)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Starts a session; returns the cookie token (shown once, stored hashed). `notice` is
    /// shown on the session's first page.
    pub async fn create_session(&self, user_id: UserId, ttl_ms: i64, notice: Option<&str>) -> Result<String> {
        let token = random_token();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, notice) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash(&token))
        .bind(user_id.get())
        .bind(random_token())
        .bind(now)
        .bind(now + ttl_ms)
        .bind(notice)
        .execute(self.pool())
        .await?;
        Ok(token)
    }

    /// Clears the session's one-time notice once it has been shown.
    pub async fn take_session_notice(&self, session: &Session) -> Result<()> {
        sqlx::query("UPDATE sessions SET notice = NULL WHERE token_hash = $1")
            .bind(&session.token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Revokes one API token (the caller's own, on sign-out of a machine client).
    pub async fn revoke_api_token(&self, token: &str) -> Result<bool> {
        let res = sqlx::query("DELETE FROM api_tokens WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(self.pool())
            .await?;
        Ok(res.rows_affected() > 0)
    }

    pub async fn session(&self, token: &str, now: Time) -> Result<Option<Session>> {
        let row = sqlx::query(
            concat!(
            "SELECT ",
            user_columns!(),
            ", s.csrf_token, s.expires_at, s.notice, s.token_hash, \
             o.short_name AS org_short_name, u.must_change_password, \
             (SELECT COUNT(*) FROM notifications n WHERE n.user_id = u.id AND n.in_app = 1 AND n.read_at IS NULL) AS unread, \
             e.consecutive_failures AS eis_failures, e.failing_since AS eis_failing_since, \
             e.updated_at AS eis_updated_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             JOIN organizations o ON o.id = u.org_id LEFT JOIN eis_availability e ON e.id = 1 \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.blocked = 0 AND o.blocked_at IS NULL"
            ),
        )
        .bind(token_hash(token))
        .bind(ms(now))
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => Ok(Some(Session {
                user: user_from_row(&r)?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at: time_at(&r, "expires_at")?,
                notice: r.try_get("notice")?,
                token_hash: r.try_get("token_hash")?,
                org_short_name: r.try_get("org_short_name")?,
                unread_notifications: r.try_get("unread")?,
                eis_down_since: crate::notify::down_since(
                    r.try_get("eis_failures")?,
                    r.try_get("eis_failing_since")?,
                    r.try_get("eis_updated_at")?,
                    ms(now),
                ),
                must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
            })),
            None => Ok(None),
        }
    }

    pub async fn delete_session(&self, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash(token)).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn create_api_token(&self, user_id: UserId, ttl_ms: i64) -> Result<String> {
        let token = random_token();
        let now = now_ms();
        sqlx::query("INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash(&token))
            .bind(user_id.get())
            .bind(now)
            .bind(now + ttl_ms)
            .execute(self.pool())
            .await?;
        Ok(token)
    }

    pub async fn api_token_user(&self, token: &str, now: Time) -> Result<Option<User>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.expires_at > $2 AND u.blocked = 0 AND u.must_change_password = 0 \
             AND NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = u.org_id AND o.blocked_at IS NOT NULL)"
        ))
        .bind(token_hash(token))
        .bind(ms(now))
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }
}

#[cfg(test)]
mod tests {
    use domain::Role;

    #[test]
    fn roles_mask_matches_the_domain() {
        let sql = roles_mask!();
        for role in Role::ALL {
            assert!(sql.contains(&format!("WHEN '{}' THEN {} ", role.code(), role.bit())), "{role:?}");
        }
        assert_eq!(sql.matches(" WHEN ").count(), Role::ALL.len());
        let unknown = 64;
        assert!(sql.contains(&format!("ELSE {unknown} END")));
        assert_eq!(domain::Roles::from_bits(unknown | 1), None, "an unknown code makes the row corrupt");
    }
}
