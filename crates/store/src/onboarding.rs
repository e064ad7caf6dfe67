//! «Загрузка организаций» (migration 0020): the file an administrator uploaded, kept between
//! the check and the confirmation, and the temporary passwords of the users its load created,
//! sealed with the application's key and handed out once.
//!
//! Every read is by the load's id AND its administrator: another administrator's load is not
//! found. The file is kept at most until its expiry, and dropped once loaded; the passwords
//! until they are downloaded or expire. Nothing of them goes to the audit journal.

use crate::{Result, Store, StoreError, now_ms};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use domain::ids::UserId;
use domain::secret::Secret;
use sqlx::Row;

/// A staged load as its administrator sees it.
#[derive(Debug, Clone)]
pub struct StagedLoad {
    pub id: i64,
    pub admin_id: UserId,
    pub file_name: String,
    /// What the file is (`app` names the kinds).
    pub file_kind: String,
    /// The file, until it was loaded or expired.
    pub content: Option<Vec<u8>>,
    /// The job that loads (or loaded) it, once confirmed.
    pub job_id: Option<i64>,
}

/// What became of the temporary passwords of a load.
#[derive(Debug)]
pub enum Passwords {
    /// Here they are; they are gone from the database now.
    Taken { file_name: String, count: i64, csv: Secret },
    /// Already downloaded, or expired.
    Gone,
    /// The load created no user.
    None,
}

fn aad(id: i64) -> String {
    format!("onboarding_loads.passwords:{id}")
}

impl Store {
    /// Keeps an uploaded file for its administrator until `expires_at` (ms): the administrator's
    /// earlier files not confirmed are dropped, and so is every expired file and password list.
    pub async fn stage_onboarding(
        &self,
        admin: UserId,
        file_name: &str,
        file_kind: &str,
        bytes: &[u8],
        expires_at: i64,
    ) -> Result<i64> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM onboarding_loads WHERE admin_id = $1 AND job_id IS NULL")
            .bind(admin.get())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE onboarding_loads SET content = NULL WHERE expires_at < $1 AND content IS NOT NULL")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE onboarding_loads SET passwords = NULL WHERE passwords_expires_at < $1 AND passwords IS NOT NULL",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO onboarding_loads (admin_id, file_name, file_kind, file_bytes, content, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(admin.get())
        .bind(file_name)
        .bind(file_kind)
        .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
        .bind(B64.encode(bytes))
        .bind(now)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The administrator's staged load (its file only while not expired); another's is `None`.
    pub async fn staged_onboarding(&self, id: i64, admin: UserId) -> Result<Option<StagedLoad>> {
        let row = sqlx::query(
            "SELECT id, admin_id, file_name, file_kind, job_id, \
             CASE WHEN expires_at >= $3 THEN content ELSE NULL END AS content \
             FROM onboarding_loads WHERE id = $1 AND admin_id = $2",
        )
        .bind(id)
        .bind(admin.get())
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let content: Option<String> = r.try_get("content")?;
        let content = content
            .map(|c| B64.decode(c).map_err(|e| StoreError::Corrupt(format!("staged file {id}: {e}"))))
            .transpose()?;
        Ok(Some(StagedLoad {
            id: r.try_get("id")?,
            admin_id: UserId(r.try_get("admin_id")?),
            file_name: r.try_get("file_name")?,
            file_kind: r.try_get("file_kind")?,
            content,
            job_id: r.try_get("job_id")?,
        }))
    }

    /// Ties a staged, unexpired, unconfirmed load to the job that loads it; `false` when it was
    /// confirmed already, expired, or is not the administrator's.
    pub async fn claim_onboarding(&self, id: i64, admin: UserId, job: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE onboarding_loads SET job_id = $1 \
             WHERE id = $2 AND admin_id = $3 AND job_id IS NULL AND content IS NOT NULL AND expires_at >= $4",
        )
        .bind(job)
        .bind(id)
        .bind(admin.get())
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The load's file is no longer needed (it was loaded).
    pub async fn drop_onboarding_file(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE onboarding_loads SET content = NULL WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(())
    }

    /// Keeps the temporary passwords of a load (one CSV, sealed with the application's key)
    /// until `expires_at` (ms) or their first download.
    pub async fn save_onboarding_passwords(&self, id: i64, csv: &Secret, count: i64, expires_at: i64) -> Result<()> {
        let sealed = self.secrets().seal(csv, &aad(id));
        sqlx::query(
            "UPDATE onboarding_loads SET passwords = $1, passwords_count = $2, passwords_expires_at = $3 WHERE id = $4",
        )
        .bind(sealed)
        .bind(count)
        .bind(expires_at)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The load run by job `job` of the administrator, if any: its id, and whether its
    /// passwords can still be downloaded (`None` when it created no user).
    pub async fn onboarding_of_job(&self, job: i64, admin: UserId) -> Result<Option<(i64, Option<bool>)>> {
        let row = sqlx::query(
            "SELECT id, passwords_count, \
             CASE WHEN passwords IS NOT NULL AND passwords_expires_at >= $3 THEN 1 ELSE 0 END AS available \
             FROM onboarding_loads WHERE job_id = $1 AND admin_id = $2",
        )
        .bind(job)
        .bind(admin.get())
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let count: i64 = r.try_get("passwords_count")?;
        let available: i64 = r.try_get("available")?;
        Ok(Some((r.try_get("id")?, (count > 0).then_some(available == 1))))
    }

    /// Takes the passwords of the load run by job `job` of the administrator: they are erased
    /// in the same transaction, so they are handed out once, with an audit entry (the count,
    /// never a password).
    pub async fn take_onboarding_passwords(
        &self,
        job: i64,
        admin: UserId,
        admin_org: domain::ids::OrgId,
    ) -> Result<Option<Passwords>> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "SELECT id, file_name, passwords, passwords_count, passwords_expires_at FROM onboarding_loads \
             WHERE job_id = $1 AND admin_id = $2",
        )
        .bind(job)
        .bind(admin.get())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let id: i64 = r.try_get("id")?;
        let count: i64 = r.try_get("passwords_count")?;
        let sealed: Option<String> = r.try_get("passwords")?;
        let expires: Option<i64> = r.try_get("passwords_expires_at")?;
        if count == 0 {
            return Ok(Some(Passwords::None));
        }
        let Some(sealed) = sealed.filter(|_| expires.is_some_and(|e| e >= now)) else {
            return Ok(Some(Passwords::Gone));
        };
        let taken = sqlx::query(
            "UPDATE onboarding_loads SET passwords = NULL, passwords_taken_at = $1 WHERE id = $2 AND passwords IS NOT NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            return Ok(Some(Passwords::Gone));
        }
        let csv = self.secrets().open(&sealed, &aad(id))?;
        let file_name: String = r.try_get("file_name")?;
        crate::audit::record(
            &mut *tx,
            Some(admin),
            Some(admin_org),
            "onboarding",
            Some(id),
            "Скачан файл временных паролей",
            &format!("Загрузка из файла «{file_name}»; пользователей в файле паролей: {count}"),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Passwords::Taken { file_name: format!("passwords-load-{id}.csv"), count, csv }))
    }

    /// A user's name and e-mail address as a load gives them, with the audit entry.
    pub async fn admin_set_contact(
        &self,
        by: crate::user_admin::ChangedBy,
        user: &crate::users::User,
        full_name: &str,
        email: Option<&str>,
        details: &str,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE users SET full_name = $1, email = $2 WHERE id = $3")
            .bind(full_name)
            .bind(email)
            .bind(user.id.get())
            .execute(&mut *tx)
            .await?;
        crate::audit::record(
            &mut *tx,
            Some(by.user_id),
            Some(user.org_id),
            "user",
            Some(user.id.get()),
            "Изменён пользователь",
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
