//! Long operations as jobs: «Отправить все», «Утвердить выбранные», «Загрузка организаций» and
//! loading an НСИ catalog run on their own task, not inside the HTTP request that started them,
//! and write their progress to the job's row (`store::jobs`), which the job's page reads while
//! they run.
//!
//! A step that works inside one long write transaction (an НСИ catalog is loaded all or
//! nothing) cannot write its progress to the database meanwhile: on SQLite that transaction is
//! the only writer. Such a job counts in memory ([`Jobs`]); the job's page reads that count
//! while the job runs in the same instance, and the row's count when the step ends.
//!
//! - A job is the caller's: only the user who started it sees it.
//! - A refusal of the whole operation (wrong role, no saved ЕИС credentials, nothing ticked)
//!   comes at once, in the request, and starts no job.
//! - A second press while the caller's job of the same kind runs shows that job, not a new one.
//! - At most [`RUNNING`] jobs work at once per instance; the others wait their turn.
//! - A heartbeat moves while a job lives. A job whose heartbeat stopped for [`INTERRUPTED_AFTER`]
//!   was stopped with its instance; both operations may simply be started again: what they
//!   did is done (a version queued is not queued twice, a plan approved is no longer on
//!   approval), and they go on with the rest.

use crate::{Error, Result, Workflow};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::Store;
use store::jobs::{Job, JobKind, JobProgress, JobStatus};
use store::users::User;

/// Jobs working at once in one instance.
pub const RUNNING: usize = 4;
/// A running job whose heartbeat is older than this was interrupted.
pub const INTERRUPTED_AFTER: Duration = Duration::from_secs(60);
/// How often a live job's heartbeat moves, whatever its steps do.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How often progress is written at most (the last step is always written).
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// Lines of problems kept per job; past it they are counted.
pub const MAX_PROBLEMS: usize = 1000;

/// The progress of a bulk use case, written to its job's row when it runs as a job, or only
/// counted when it is called directly (the benches, the tests, the CLI).
pub struct Tracker {
    job: Option<(Store, i64)>,
    progress: JobProgress,
    /// Problems beyond [`MAX_PROBLEMS`], counted only.
    overflow: usize,
    saved: Instant,
}

impl Tracker {
    /// Counts without writing anywhere.
    pub fn untracked() -> Tracker {
        Tracker { job: None, progress: JobProgress::default(), overflow: 0, saved: Instant::now() }
    }

    fn of_job(store: Store, id: i64) -> Tracker {
        Tracker { job: Some((store, id)), ..Tracker::untracked() }
    }

    pub fn progress(&self) -> &JobProgress {
        &self.progress
    }

    /// The problems, with a closing line for those past [`MAX_PROBLEMS`].
    pub fn problems(&self) -> Vec<String> {
        let mut lines = self.progress.problems.clone();
        if self.overflow > 0 {
            lines.push(format!("… и ещё {} (не показаны)", self.overflow));
        }
        lines
    }

    pub(crate) async fn set_total(&mut self, total: usize) -> Result<()> {
        self.progress.total = i64::try_from(total).unwrap_or(i64::MAX);
        self.save(true).await
    }

    /// One item went through.
    pub(crate) async fn succeeded(&mut self) -> Result<()> {
        self.progress.succeeded += 1;
        self.step().await
    }

    /// Several items went through at once.
    pub(crate) async fn succeeded_many(&mut self, count: usize) -> Result<()> {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        self.progress.succeeded += count;
        self.progress.done += count;
        self.save(self.progress.done >= self.progress.total).await
    }

    /// One item was refused, for the reason the line gives.
    pub(crate) async fn refused(&mut self, line: String) -> Result<()> {
        if self.progress.problems.len() < MAX_PROBLEMS {
            self.progress.problems.push(line);
        } else {
            self.overflow += 1;
        }
        self.step().await
    }

    /// Every item went through at once (a step done in one transaction).
    pub(crate) async fn all_succeeded(&mut self) -> Result<()> {
        self.progress.done = self.progress.total;
        self.progress.succeeded = self.progress.total;
        self.save(true).await
    }

    /// One item needed nothing (gone meanwhile, or not the caller's to do).
    pub(crate) async fn skipped(&mut self) -> Result<()> {
        self.step().await
    }

    async fn step(&mut self) -> Result<()> {
        self.progress.done += 1;
        self.save(self.progress.done >= self.progress.total).await
    }

    async fn save(&mut self, now: bool) -> Result<()> {
        let Some((store, id)) = &self.job else { return Ok(()) };
        if now || self.saved.elapsed() >= SAVE_EVERY {
            store.save_job_progress(*id, &self.progress).await?;
            self.saved = Instant::now();
        }
        Ok(())
    }

    fn closing(&self) -> JobProgress {
        JobProgress { problems: self.problems(), ..self.progress.clone() }
    }
}

/// A job as its page shows it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job: Job,
    /// Still marked running, but its heartbeat stopped: its instance was stopped.
    pub interrupted: bool,
}

impl JobView {
    fn of(job: Job) -> JobView {
        let quiet = chrono::Utc::now().signed_duration_since(job.heartbeat_at);
        let interrupted =
            job.status == JobStatus::Running && quiet.to_std().is_ok_and(|quiet| quiet > INTERRUPTED_AFTER);
        JobView { job, interrupted }
    }

    pub fn running(&self) -> bool {
        self.job.status == JobStatus::Running && !self.interrupted
    }
}

/// The jobs of one instance: their turns, and the progress of steps that count in memory.
pub(crate) struct Jobs {
    turns: Arc<tokio::sync::Semaphore>,
    /// Items done so far by a job's step that cannot write them yet, by job id.
    live: Arc<Mutex<HashMap<i64, i64>>>,
}

impl Jobs {
    pub(crate) fn new() -> Jobs {
        Jobs { turns: Arc::new(tokio::sync::Semaphore::new(RUNNING)), live: Arc::default() }
    }

    fn live_done(&self, id: i64) -> Option<i64> {
        self.live.lock().ok()?.get(&id).copied()
    }
}

/// What [`Workflow::start_nsi_load`] did.
pub enum NsiStart {
    Job(i64),
    /// A full load would retire records: nothing started, the counts wait for a confirmation.
    NeedsConfirmation(crate::users::NsiPreview),
}

/// Counts the items of a job's step in memory, for [`Workflow::job`] to read; forgets the job's
/// count when dropped.
pub(crate) struct LiveCount {
    live: Arc<Mutex<HashMap<i64, i64>>>,
    id: i64,
}

impl LiveCount {
    /// `done` items of the job so far. Never waits long: it is called inside transactions.
    pub(crate) fn set(&self, done: usize) {
        if let Ok(mut live) = self.live.lock() {
            live.insert(self.id, i64::try_from(done).unwrap_or(i64::MAX));
        }
    }
}

impl Drop for LiveCount {
    fn drop(&mut self) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(&self.id);
        }
    }
}

/// The work of one job, on the tracker it is given: the closing summary, or a refusal.
pub(crate) type Work = std::pin::Pin<Box<dyn std::future::Future<Output = (Result<String>, Tracker)> + Send>>;

impl Workflow {
    /// The caller's job; while it runs here, with the count its current step holds in memory.
    pub async fn job(&self, user: &User, id: i64) -> Result<JobView> {
        match self.store.job(id).await? {
            Some(mut job) if job.user_id == user.id => {
                if job.status == JobStatus::Running
                    && let Some(done) = self.jobs.live_done(id)
                {
                    job.progress.done = job.progress.done.max(done.min(job.progress.total));
                    // Its step holds the only writer (SQLite), so the heartbeat may wait: the
                    // count in memory is proof enough that it lives.
                    job.heartbeat_at = chrono::Utc::now();
                }
                Ok(JobView::of(job))
            }
            _ => Err(Error::NotFound),
        }
    }

    /// A counter in memory for a step of job `id` that cannot write its progress.
    pub(crate) fn live_count(&self, id: i64) -> LiveCount {
        LiveCount { live: self.jobs.live.clone(), id }
    }

    /// The caller's job of `kind` that is running now, if any.
    async fn live_job(&self, user: &User, kind: JobKind) -> Result<Option<i64>> {
        let running = self.store.running_jobs(user.id, kind, 5).await?;
        Ok(running.into_iter().map(JobView::of).find(JobView::running).map(|v| v.job.id))
    }

    /// «Отправить все» as a job: refused at once when the caller may not send at all.
    pub async fn start_send_all(&self, user: &User) -> Result<i64> {
        self.may_send_all(user).await?;
        if let Some(id) = self.live_job(user, JobKind::SendAll).await? {
            return Ok(id);
        }
        let id = self.store.create_job(JobKind::SendAll, user.id).await?;
        let (workflow, user) = (self.clone(), user.clone());
        self.run_job(
            id,
            Box::new(move |mut tracker| {
                Box::pin(async move {
                    let outcome = workflow.send_all_tracked(&user, &mut tracker).await;
                    let summary = outcome.map(|o| match o.queued {
                        0 => "Неотправленных версий, которые можно отправить сейчас, нет".to_owned(),
                        n => summary("Поставлено в очередь на отправку версий", n),
                    });
                    (summary, tracker)
                })
            }),
        );
        Ok(id)
    }

    /// «Утвердить выбранные» as a job: refused at once when nothing is ticked.
    pub async fn start_approve_many(&self, user: &User, plan_ids: Vec<domain::ids::PlanId>) -> Result<i64> {
        if plan_ids.is_empty() {
            return Err(Error::field("plan", "Отметьте планы-графики, которые нужно утвердить"));
        }
        if let Some(id) = self.live_job(user, JobKind::ApproveMany).await? {
            return Ok(id);
        }
        let id = self.store.create_job(JobKind::ApproveMany, user.id).await?;
        let (workflow, user) = (self.clone(), user.clone());
        self.run_job(
            id,
            Box::new(move |mut tracker| {
                Box::pin(async move {
                    let outcome = workflow.approve_many_tracked(&user, &plan_ids, &mut tracker).await;
                    (outcome.map(|o| summary("Утверждено планов-графиков", o.approved)), tracker)
                })
            }),
        );
        Ok(id)
    }

    /// Loading an НСИ catalog as a job, once the file is read and, for a full load that retires
    /// records, confirmed (else the answer is the preview to confirm, and no job starts). The
    /// catalog is written in one transaction, so its progress is counted in memory.
    pub async fn start_nsi_load(
        &self,
        user: &User,
        bytes: Vec<u8>,
        source: &str,
        partial: bool,
        confirmation: crate::users::Confirmation,
    ) -> Result<NsiStart> {
        let prepared = match self.administration().prepare_nsi(Some(user), bytes, source, partial, confirmation).await?
        {
            crate::users::NsiCheck::Ready(prepared) => prepared,
            crate::users::NsiCheck::NeedsConfirmation(preview) => return Ok(NsiStart::NeedsConfirmation(preview)),
        };
        let id = self.store.create_job(JobKind::NsiLoad, user.id).await?;
        let (admin, live) = (self.administration(), self.live_count(id));
        self.run_job(
            id,
            Box::new(move |mut tracker| {
                Box::pin(async move {
                    if let Err(e) = tracker.set_total(prepared.len()).await {
                        return (Err(e), tracker);
                    }
                    let loaded = prepared.write(&admin, &|done| live.set(done)).await;
                    drop(live);
                    let summary = match loaded {
                        Ok(loaded) => match tracker.all_succeeded().await {
                            Ok(()) => Ok(loaded.summary_ru()),
                            Err(e) => Err(e),
                        },
                        Err(e) => Err(e),
                    };
                    (summary, tracker)
                })
            }),
        );
        Ok(NsiStart::Job(id))
    }

    /// Runs the job's work on its own task, in its turn among [`RUNNING`], with a heartbeat,
    /// and records how it ended.
    pub(crate) fn run_job(&self, id: i64, work: Box<dyn FnOnce(Tracker) -> Work + Send>) {
        let (store, turns) = (self.store.clone(), self.jobs.turns.clone());
        tokio::spawn(async move {
            let beating = store.clone();
            let heartbeat = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    if let Err(e) = beating.job_heartbeat(id).await {
                        tracing::warn!(job = id, error = %e, "job heartbeat not recorded");
                    }
                }
            });
            let ended = match turns.acquire_owned().await {
                Ok(_turn) => {
                    let (outcome, tracker) = work(Tracker::of_job(store.clone(), id)).await;
                    let closing = tracker.closing();
                    match outcome {
                        Ok(summary) => store.finish_job(id, JobStatus::Done, &closing, &summary).await,
                        Err(Error::SendRefused(why) | Error::Refused { message: why, .. }) => {
                            store.finish_job(id, JobStatus::Failed, &closing, &why).await
                        }
                        Err(e) => {
                            tracing::error!(job = id, error = %e, "job stopped by a fault");
                            let why = "Операция прервана внутренней ошибкой plangraf; выполненное сохранено, \
                                       запустите её ещё раз, чтобы продолжить";
                            store.finish_job(id, JobStatus::Failed, &closing, why).await
                        }
                    }
                }
                Err(_) => Ok(()),
            };
            heartbeat.abort();
            if let Err(e) = ended {
                tracing::error!(job = id, error = %e, "job end not recorded");
            }
        });
    }
}

fn summary(what: &str, count: usize) -> String {
    format!("{what}: {count}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::ids::UserId;

    fn job(status: JobStatus, quiet: Duration) -> Job {
        let now = chrono::Utc::now();
        let heartbeat_at = now - chrono::TimeDelta::from_std(quiet).unwrap();
        Job {
            id: 1,
            kind: JobKind::SendAll,
            user_id: UserId(1),
            status,
            progress: JobProgress::default(),
            message: None,
            created_at: heartbeat_at,
            heartbeat_at,
            finished_at: None,
        }
    }

    #[test]
    fn a_running_job_whose_heartbeat_stopped_was_interrupted() {
        let beating = JobView::of(job(JobStatus::Running, Duration::from_secs(15)));
        assert!(!beating.interrupted && beating.running());
        let stopped = JobView::of(job(JobStatus::Running, INTERRUPTED_AFTER + Duration::from_secs(1)));
        assert!(stopped.interrupted && !stopped.running());
        // An ended job is what it ended as, however long ago.
        let ended = JobView::of(job(JobStatus::Done, Duration::from_secs(3600)));
        assert!(!ended.interrupted && !ended.running());
    }

    #[tokio::test]
    async fn problems_past_the_bound_are_counted_not_kept() {
        let mut tracker = Tracker::untracked();
        tracker.set_total(MAX_PROBLEMS + 2).await.unwrap();
        for i in 0..MAX_PROBLEMS + 2 {
            tracker.refused(format!("отказ {i}")).await.unwrap();
        }
        assert_eq!(tracker.progress().done, i64::try_from(MAX_PROBLEMS + 2).unwrap());
        assert_eq!(tracker.progress().problems.len(), MAX_PROBLEMS);
        let lines = tracker.problems();
        assert_eq!(lines.len(), MAX_PROBLEMS + 1);
        assert_eq!(lines.last().unwrap(), "… и ещё 2 (не показаны)");
    }
}
