//! The administrator's users pages: the users of an organization and of every organization below
//! it (at any depth), with their state, and the administrator's changes, each with its audit
//! entry in one transaction.

use crate::audit::record;
use crate::users::{User, pair_prefix_of, roles_from_row, roles_mask, set_roles};
use crate::{Result, Store, Time, is_unique_violation, ms, now_ms, time, time_at, time_opt};
use domain::Roles;
use domain::ids::{OrgId, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A user as the administrator sees them.
#[derive(Debug, Clone)]
pub struct ManagedUser {
    pub user: User,
    pub org_short_name: String,
    /// The superior of the user's organization.
    pub org_superior_id: Option<OrgId>,
    pub blocked: bool,
    /// The user's organization is blocked: the user cannot sign in either.
    pub org_blocked: bool,
    pub must_change_password: bool,
    /// Failed sign-ins since the last successful one.
    pub failed_sign_ins: i64,
    pub last_failed_sign_in_at: Option<Time>,
    pub last_sign_in_at: Option<Time>,
    pub created_at: Time,
}

/// One user of an administrator's reach, as the list searches them.
#[derive(Debug, Clone)]
pub struct UserKey {
    pub id: UserId,
    pub login: String,
    pub full_name: String,
}

/// A user an administrator creates: the login, name and organization checked by the caller.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub login: &'a str,
    pub password_hash: &'a str,
    pub full_name: &'a str,
    pub org_id: OrgId,
    pub roles: Roles,
}

/// Who changes a user, for the audit journal.
#[derive(Debug, Clone, Copy)]
pub struct ChangedBy {
    pub user_id: UserId,
}

const MANAGED_COLUMNS: &str = concat!(
    "u.id, u.login, u.full_name, u.org_id, u.blocked, u.must_change_password, \
     u.failed_sign_ins, u.last_failed_sign_in_at, u.last_sign_in_at, u.created_at, \
     o.short_name AS org_short_name, o.superior_id AS org_superior_id, o.blocked_at AS org_blocked_at, ",
    roles_mask!()
);

fn managed_from_row(r: &AnyRow) -> Result<ManagedUser> {
    Ok(ManagedUser {
        user: User {
            id: UserId(r.try_get("id")?),
            login: r.try_get("login")?,
            full_name: r.try_get("full_name")?,
            org_id: OrgId(r.try_get("org_id")?),
            roles: roles_from_row(r)?,
        },
        org_short_name: r.try_get("org_short_name")?,
        org_superior_id: r.try_get::<Option<i64>, _>("org_superior_id")?.map(OrgId),
        blocked: r.try_get::<i64, _>("blocked")? != 0,
        org_blocked: r.try_get::<Option<i64>, _>("org_blocked_at")?.is_some(),
        must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
        failed_sign_ins: r.try_get("failed_sign_ins")?,
        last_failed_sign_in_at: time_opt(r, "last_failed_sign_in_at")?,
        last_sign_in_at: time_opt(r, "last_sign_in_at")?,
        created_at: time_at(r, "created_at")?,
    })
}

impl Store {
    /// The users of organization `org` and of every organization below it at any depth, by
    /// login: ids, logins and names only, for the list's search and paging.
    pub async fn user_keys_in_reach(&self, org: OrgId) -> Result<Vec<UserKey>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT u.id, u.login, u.full_name FROM users u WHERE u.org_id IN {} ORDER BY u.login",
            crate::org_admin::subtree_sql("$1")
        )))
        .bind(org.get())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UserKey {
                    id: UserId(r.try_get("id")?),
                    login: r.try_get("login")?,
                    full_name: r.try_get("full_name")?,
                })
            })
            .collect()
    }

    /// The users with these ids, by login.
    pub async fn managed_users(&self, ids: &[UserId]) -> Result<Vec<ManagedUser>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let params: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {MANAGED_COLUMNS} FROM users u JOIN organizations o ON o.id = u.org_id \
             WHERE u.id IN ({}) ORDER BY u.login",
            params.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id.get());
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter().map(managed_from_row).collect()
    }

    pub async fn managed_user(&self, id: UserId) -> Result<Option<ManagedUser>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MANAGED_COLUMNS} FROM users u JOIN organizations o ON o.id = u.org_id WHERE u.id = $1"
        )))
        .bind(id.get())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(managed_from_row).transpose()
    }

    /// Until when sign-in under `login` is delayed from some address or from everywhere after
    /// failed attempts; `None` when it is not.
    pub async fn sign_in_locked_until(&self, login: &str, now: Time) -> Result<Option<Time>> {
        let prefix = pair_prefix_of(login);
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(next_at) FROM sign_in_throttle \
             WHERE throttle_key = $1 OR substr(throttle_key, 1, CAST($2 AS INTEGER)) = $3",
        )
        .bind(format!("u:{login}"))
        .bind(prefix.chars().count() as i64)
        .bind(&prefix)
        .fetch_one(self.pool())
        .await?;
        Ok(next.filter(|n| *n > ms(now)).map(time))
    }

    /// A user made by an administrator: the password handed out must be changed at the first
    /// sign-in. `Ok(None)` when the login is taken.
    pub async fn admin_create_user(&self, by: ChangedBy, new: &NewUser<'_>, details: &str) -> Result<Option<User>> {
        let NewUser { login, password_hash, full_name, org_id, roles } = *new;
        let mut tx = self.write_tx().await?;
        let res = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (login, password_hash, full_name, org_id, created_at, must_change_password) \
             VALUES ($1, $2, $3, $4, $5, 1) RETURNING id",
        )
        .bind(login)
        .bind(password_hash)
        .bind(full_name)
        .bind(org_id.get())
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await;
        let id = match res {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        set_roles(&mut tx, UserId(id), roles).await?;
        record(&mut *tx, Some(by.user_id), Some(org_id), "user", Some(id), "Создан пользователь", details).await?;
        tx.commit().await?;
        Ok(Some(User { id: UserId(id), login: login.into(), full_name: full_name.into(), org_id, roles }))
    }

    /// A new organization and roles of a user, with the audit entry.
    pub async fn admin_update_user(
        &self,
        by: ChangedBy,
        user: UserId,
        org_id: OrgId,
        roles: Roles,
        details: &str,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE users SET org_id = $1 WHERE id = $2")
            .bind(org_id.get())
            .bind(user.get())
            .execute(&mut *tx)
            .await?;
        set_roles(&mut tx, user, roles).await?;
        record(&mut *tx, Some(by.user_id), Some(org_id), "user", Some(user.get()), "Изменён пользователь", details)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Blocks (ending the user's sessions and API tokens in the same transaction) or unblocks.
    pub async fn admin_set_blocked(&self, by: ChangedBy, user: &User, blocked: bool) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE users SET blocked = $1 WHERE id = $2")
            .bind(i64::from(blocked))
            .bind(user.id.get())
            .execute(&mut *tx)
            .await?;
        let mut ended = 0;
        if blocked {
            ended += end_sessions(&mut tx, user.id).await?;
        }
        let (action, details) = if blocked {
            ("Пользователь заблокирован", format!("Логин {}; завершено сеансов и токенов API: {ended}", user.login))
        } else {
            ("Пользователь разблокирован", format!("Логин {}", user.login))
        };
        record(&mut *tx, Some(by.user_id), Some(user.org_id), "user", Some(user.id.get()), action, &details).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A password handed out by the administrator: to be changed at the next sign-in; the
    /// user's sessions and API tokens end at once.
    pub async fn admin_reset_password(&self, by: ChangedBy, user: &User, password_hash: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 1 WHERE id = $2")
            .bind(password_hash)
            .bind(user.id.get())
            .execute(&mut *tx)
            .await?;
        let ended = end_sessions(&mut tx, user.id).await?;
        record(
            &mut *tx,
            Some(by.user_id),
            Some(user.org_id),
            "user",
            Some(user.id.get()),
            "Пароль сброшен администратором",
            &format!(
                "Логин {}; завершено сеансов и токенов API: {ended}; смена пароля при входе обязательна",
                user.login
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts the sign-in delays of a user's login, with the audit entry; answers how many
    /// throttle entries were removed.
    pub async fn admin_unlock_sign_in(&self, by: ChangedBy, user: &User) -> Result<u64> {
        let removed = self.unlock_sign_in(&user.login).await?;
        record(
            self.pool(),
            Some(by.user_id),
            Some(user.org_id),
            "user",
            Some(user.id.get()),
            "Вход разблокирован",
            &format!("Логин {}; снято задержек входа: {removed}", user.login),
        )
        .await?;
        Ok(removed)
    }

    /// The user's own new password: the forced change is over; every other session and every
    /// API token of the user ends, the session `keep` (a token hash) goes on.
    pub async fn change_own_password(&self, user: &User, password_hash: &str, keep: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0 WHERE id = $2")
            .bind(password_hash)
            .bind(user.id.get())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user.id.get())
            .bind(keep)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM api_tokens WHERE user_id = $1").bind(user.id.get()).execute(&mut *tx).await?;
        record(
            &mut *tx,
            Some(user.id),
            Some(user.org_id),
            "user",
            Some(user.id.get()),
            "Пользователь сменил пароль",
            &format!("Логин {}", user.login),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn end_sessions(tx: &mut sqlx::Transaction<'static, sqlx::Any>, user: UserId) -> Result<u64> {
    let a = sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.get()).execute(&mut **tx).await?;
    let b = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1").bind(user.get()).execute(&mut **tx).await?;
    Ok(a.rows_affected() + b.rows_affected())
}
