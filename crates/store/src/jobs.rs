//! Long operations run as jobs (migration 0016): their kind, who started them, how far they
//! have come and what went wrong on the way, so that a page can show the progress while the
//! job runs on another task, or another instance.

use domain::ids::UserId;
use sqlx::Row;

use crate::{Result, Store, StoreError, Time, now_ms, time_at, time_opt};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// «Отправить все»: every approved version never sent, queued for sending.
    SendAll,
    /// «Утвердить выбранные»: the plans an approver ticked, approved one by one.
    ApproveMany,
    /// Loading an НСИ catalog from an ЕИС file, in one transaction.
    NsiLoad,
    /// «Загрузка организаций»: a checked file of organizations and users, loaded.
    Onboarding,
}

impl JobKind {
    pub fn code(self) -> &'static str {
        match self {
            JobKind::SendAll => "send_all",
            JobKind::ApproveMany => "approve_many",
            JobKind::NsiLoad => "nsi_load",
            JobKind::Onboarding => "onboarding",
        }
    }

    pub fn from_code(code: &str) -> Option<JobKind> {
        [JobKind::SendAll, JobKind::ApproveMany, JobKind::NsiLoad, JobKind::Onboarding]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// Where a job stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for its turn or working.
    Running,
    /// Went through every item (some may have been refused: see the problems).
    Done,
    /// Stopped by a fault of plangraf before the end.
    Failed,
}

impl JobStatus {
    pub fn code(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    fn from_code(code: &str) -> Option<JobStatus> {
        [JobStatus::Running, JobStatus::Done, JobStatus::Failed].into_iter().find(|s| s.code() == code)
    }
}

/// How far a job has come: items in all, items gone through, of them succeeded, and a line
/// for each item that did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobProgress {
    pub total: i64,
    pub done: i64,
    pub succeeded: i64,
    pub problems: Vec<String>,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub user_id: UserId,
    pub status: JobStatus,
    pub progress: JobProgress,
    /// The closing summary, or why the job failed.
    pub message: Option<String>,
    pub created_at: Time,
    /// Moved by every step: a running job whose heartbeat stopped was interrupted.
    pub heartbeat_at: Time,
    pub finished_at: Option<Time>,
}

const JOB_COLUMNS: &str =
    "id, kind, user_id, status, total, done, succeeded, problems, message, created_at, heartbeat_at, finished_at";

fn job_from_row(r: &sqlx::any::AnyRow) -> Result<Job> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let problems: String = r.try_get("problems")?;
    Ok(Job {
        id: r.try_get("id")?,
        kind: JobKind::from_code(&kind).ok_or_else(|| StoreError::Corrupt(format!("job kind {kind}")))?,
        user_id: UserId(r.try_get("user_id")?),
        status: JobStatus::from_code(&status).ok_or_else(|| StoreError::Corrupt(format!("job status {status}")))?,
        progress: JobProgress {
            total: r.try_get("total")?,
            done: r.try_get("done")?,
            succeeded: r.try_get("succeeded")?,
            problems: serde_json::from_str(&problems).map_err(|e| StoreError::Corrupt(format!("job problems: {e}")))?,
        },
        message: r.try_get("message")?,
        created_at: time_at(r, "created_at")?,
        heartbeat_at: time_at(r, "heartbeat_at")?,
        finished_at: time_opt(r, "finished_at")?,
    })
}

fn problems_json(problems: &[String]) -> Result<String> {
    serde_json::to_string(problems).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// Records a new running job of `user`; its progress starts at nothing.
    pub async fn create_job(&self, kind: JobKind, user: UserId) -> Result<i64> {
        let now = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (kind, user_id, status, created_at, heartbeat_at) VALUES ($1, $2, 'running', $3, $3) \
             RETURNING id",
        )
        .bind(kind.code())
        .bind(user.get())
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    /// The progress of a running job so far; also its heartbeat. A finished job is left alone.
    pub async fn save_job_progress(&self, id: i64, progress: &JobProgress) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET total = $1, done = $2, succeeded = $3, problems = $4, heartbeat_at = $5 \
             WHERE id = $6 AND status = 'running'",
        )
        .bind(progress.total)
        .bind(progress.done)
        .bind(progress.succeeded)
        .bind(problems_json(&progress.problems)?)
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Ends a running job with its last progress and summary.
    pub async fn finish_job(&self, id: i64, status: JobStatus, progress: &JobProgress, message: &str) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "UPDATE jobs SET status = $1, total = $2, done = $3, succeeded = $4, problems = $5, message = $6, \
             heartbeat_at = $7, finished_at = $7 WHERE id = $8 AND status = 'running'",
        )
        .bind(status.code())
        .bind(progress.total)
        .bind(progress.done)
        .bind(progress.succeeded)
        .bind(problems_json(&progress.problems)?)
        .bind(message)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Shows that the job's instance still works on it.
    pub async fn job_heartbeat(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE jobs SET heartbeat_at = $1 WHERE id = $2 AND status = 'running'")
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn job(&self, id: i64) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// The user's latest jobs of `kind` that are still running (newest first), at most `limit`.
    pub async fn running_jobs(&self, user: UserId, kind: JobKind, limit: i64) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE user_id = $1 AND kind = $2 AND status = 'running' \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.get())
            .bind(kind.code())
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(job_from_row).collect()
    }
}
