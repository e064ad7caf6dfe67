//! Users, server-side sessions, API tokens and sign-in throttling.
//! Tokens are random 256-bit values; only their SHA-256 is stored.

use crate::{Result, Store, StoreError, is_unique_violation, now_ms};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use domain::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub full_name: String,
    pub org_id: i64,
    pub role: Role,
}

/// A user with the stored password hash, for sign-in only.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

/// A live session: the user and the CSRF token every state change must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: i64,
}

/// Sign-in throttling: after this many failures within the window the login is locked.
pub const MAX_FAILURES: i64 = 5;
pub const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
pub const LOCK_MS: i64 = 15 * 60 * 1000;

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    B64URL.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn user_from_row(r: &AnyRow) -> Result<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        login: r.try_get("login")?,
        full_name: r.try_get("full_name")?,
        org_id: r.try_get("org_id")?,
        role: Role::from_code(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
    })
}

impl Store {
    /// Creates a user; `Ok(None)` when the login is taken.
    pub async fn create_user(
        &self,
        login: &str,
        password_hash: &str,
        full_name: &str,
        org_id: i64,
        role: Role,
    ) -> Result<Option<User>> {
        let res = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (login, password_hash, full_name, org_id, role, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(login)
        .bind(password_hash)
        .bind(full_name)
        .bind(org_id)
        .bind(role.code())
        .bind(now_ms())
        .fetch_one(self.pool())
        .await;
        match res {
            Ok(id) => Ok(Some(User { id, login: login.into(), full_name: full_name.into(), org_id, role })),
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        let row = sqlx::query("SELECT id, login, full_name, org_id, role FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user_credentials(&self, login: &str) -> Result<Option<UserCredentials>> {
        let row = sqlx::query("SELECT id, login, full_name, org_id, role, password_hash FROM users WHERE login = $1")
            .bind(login)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(r) => Ok(Some(UserCredentials { user: user_from_row(&r)?, password_hash: r.try_get("password_hash")? })),
            None => Ok(None),
        }
    }

    pub async fn users_of_org(&self, org_id: i64) -> Result<Vec<User>> {
        let rows = sqlx::query("SELECT id, login, full_name, org_id, role FROM users WHERE org_id = $1 ORDER BY login")
            .bind(org_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// How long the login stays locked, if it is locked at `now`.
    pub async fn sign_in_locked_until(&self, login: &str, now: i64) -> Result<Option<i64>> {
        let until: Option<i64> = sqlx::query_scalar("SELECT locked_until FROM sign_in_failures WHERE login = $1")
            .bind(login)
            .fetch_optional(self.pool())
            .await?;
        Ok(until.filter(|u| *u > now))
    }

    /// Counts a failed sign-in; locks the login after [`MAX_FAILURES`] within the window.
    pub async fn record_sign_in_failure(&self, login: &str, now: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT failures, window_start FROM sign_in_failures WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?;
        let (failures, window_start) = match row {
            Some(r) => {
                let f: i64 = r.try_get("failures")?;
                let w: i64 = r.try_get("window_start")?;
                if now - w > FAILURE_WINDOW_MS { (1, now) } else { (f + 1, w) }
            }
            None => (1, now),
        };
        let locked_until = if failures >= MAX_FAILURES { now + LOCK_MS } else { 0 };
        sqlx::query("DELETE FROM sign_in_failures WHERE login = $1").bind(login).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO sign_in_failures (login, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)")
            .bind(login)
            .bind(if locked_until > 0 { 0 } else { failures })
            .bind(window_start)
            .bind(locked_until)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn clear_sign_in_failures(&self, login: &str) -> Result<()> {
        sqlx::query("DELETE FROM sign_in_failures WHERE login = $1").bind(login).execute(self.pool()).await?;
        Ok(())
    }

    /// Starts a session; returns the cookie token (shown once, stored hashed).
    pub async fn create_session(&self, user_id: i64, ttl_ms: i64) -> Result<String> {
        let token = random_token();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(random_token())
        .bind(now)
        .bind(now + ttl_ms)
        .execute(self.pool())
        .await?;
        Ok(token)
    }

    pub async fn session(&self, token: &str, now: i64) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT u.id, u.login, u.full_name, u.org_id, u.role, s.csrf_token, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash(token))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => Ok(Some(Session {
                user: user_from_row(&r)?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at: r.try_get("expires_at")?,
            })),
            None => Ok(None),
        }
    }

    pub async fn delete_session(&self, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash(token)).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn create_api_token(&self, user_id: i64, ttl_ms: i64) -> Result<String> {
        let token = random_token();
        let now = now_ms();
        sqlx::query("INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash(&token))
            .bind(user_id)
            .bind(now)
            .bind(now + ttl_ms)
            .execute(self.pool())
            .await?;
        Ok(token)
    }

    pub async fn api_token_user(&self, token: &str, now: i64) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT u.id, u.login, u.full_name, u.org_id, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.expires_at > $2",
        )
        .bind(token_hash(token))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Revokes an API token: it no longer authenticates anything.
    pub async fn revoke_api_token(&self, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM api_tokens WHERE token_hash = $1").bind(token_hash(token)).execute(self.pool()).await?;
        Ok(())
    }
}
