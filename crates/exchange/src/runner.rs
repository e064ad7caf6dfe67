//! The runner: claims due sends, talks to ЕИС, records each reply, and retries what may heal
//! with a backoff until the retry ceiling.

use crate::Exchange;
use crate::failures::{failure_ru, http_status_of, lasting_refusal, refusal_text};
use crate::time::{after, ms, when_ru};
use crate::violations::classify;
use domain::SendStatus;
use eis::client::{ClientError, Credentials};
use eis::reply::Confirmation;
use std::time::Duration;
use store::sends::{ClaimedSend, EventNote, Outcome};
use store::{StoreError, Time, now};

/// The delay before the next try after `failures` (≥ 1) failures in a row: "equal jitter" over an
/// exponential cap. With cap = min(`max`, `base` · 2^(failures − 1)), the delay is
/// cap/2 + `sample` · cap/2, `sample` in [0, 1): never less than half the cap (ЕИС is not hammered
/// during an outage), and spread, so sends that failed together do not come back together.
pub fn retry_delay(base: Duration, max: Duration, failures: i64, sample: f64) -> Duration {
    let doublings = u32::try_from(failures.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let cap = base.saturating_mul(2u32.saturating_pow(doublings)).min(max);
    let sample = if sample.is_finite() { sample.clamp(0.0, 1.0) } else { 0.0 };
    cap / 2 + (cap / 2).mul_f64(sample)
}

/// When the next try comes after `failures` failures in a row, in words: the window
/// [`retry_delay`] draws from (whole seconds), not the drawn delay, so that failures answered
/// alike read alike and collapse into one timeline line (the exact time is on the status page).
pub(crate) fn retry_window_ru(base: Duration, max: Duration, failures: i64, floor: Duration) -> String {
    let secs = |d: Duration| d.max(floor).as_millis().div_ceil(1000);
    let (lo, hi) = (secs(retry_delay(base, max, failures, 0.0)), secs(retry_delay(base, max, failures, 1.0)));
    if lo == hi {
        format!("Повторная попытка через {hi} с.")
    } else {
        format!("Повторная попытка через {lo}–{hi} с.")
    }
}

/// The most sends [`Exchange::drain`] works in one call.
pub const DRAIN_ROUNDS: usize = 1000;

/// Logs a send's task that ended other than normally (a panic; an abort is the runner's own doing).
fn log_task_end(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!(error = %e, "exchange runner: a send's task panicked");
    }
}

impl Exchange {
    /// When the runner stops retrying a send that gets no usable answer; `None` before its
    /// first attempt and for sends not waiting on ЕИС's reply to the packet.
    pub fn give_up_at(&self, send: &store::sends::SendHead) -> Option<Time> {
        if !send.status.is_active() {
            return None;
        }
        send.first_attempt_at.map(|t| after(t, self.inner.config.retry_ceiling))
    }

    /// Claims and works one due send. Returns whether there was one.
    pub async fn run_once(&self) -> Result<bool, StoreError> {
        self.run_one_due_by(now()).await
    }

    /// Claims and works one send due by `due_by`, as if that time had come.
    async fn run_one_due_by(&self, due_by: Time) -> Result<bool, StoreError> {
        let Some(claimed) = self.claim_due_by(due_by).await? else {
            return Ok(false);
        };
        tokio::select! {
            r = self.work(claimed) => r?,
            never = self.keep_leases() => match never {},
        }
        Ok(true)
    }

    /// How often the leases of the sends in flight are renewed: as configured, but at most a
    /// third of the lease.
    fn renewal_interval(&self) -> Duration {
        let c = &self.inner.config;
        c.lease_renewal.min(c.lease / 3).max(Duration::from_millis(1))
    }

    /// Renews this worker's leases every [`Self::renewal_interval`], forever: run it beside the
    /// work and drop it with the work. A failed renewal is logged and tried again next time.
    async fn keep_leases(&self) -> std::convert::Infallible {
        let lease = ms(self.inner.config.lease);
        let every = self.renewal_interval();
        loop {
            tokio::time::sleep(every).await;
            match self.inner.store.renew_leases(&self.inner.worker_id, now(), lease).await {
                Ok(n) => tracing::trace!(renewed = n, "exchange runner: leases renewed"),
                Err(e) => tracing::error!(error = %e, "exchange runner: renewing the leases failed"),
            }
        }
    }

    /// Takes the lease of one send due by `due_by`, for this instance's worker.
    async fn claim_due_by(&self, due_by: Time) -> Result<Option<ClaimedSend>, StoreError> {
        let lease = ms(self.inner.config.lease);
        self.inner.store.claim_send_due_by(&self.inner.worker_id, now(), due_by, lease).await
    }

    /// The name this instance's runner holds its leases under.
    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    /// Does the runner's work in the calling task until no send is due now, at most
    /// [`DRAIN_ROUNDS`] sends (a send that ЕИС keeps failing comes back only after its delay, so
    /// the bound is reached only by a queue that long). Returns how many sends were worked. For
    /// tests and tools: they drive the queue instead of waiting for the runner.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        while n < DRAIN_ROUNDS && self.run_once().await? {
            n += 1;
        }
        Ok(n)
    }

    /// Works the one send that falls due first within `ahead` from now, at once, as if its time
    /// had come: a retry delay or a poll interval is skipped instead of waited out. Returns
    /// whether there was one. For tests that follow a send step by step.
    pub async fn run_next_within(&self, ahead: Duration) -> Result<bool, StoreError> {
        self.run_one_due_by(after(now(), ahead)).await
    }

    /// Runs the worker loop in a task until [`Exchange::stop`] (or until the task is aborted,
    /// which aborts the sends in flight with it and leaves their leases to run out).
    ///
    /// Up to [`ExchangeConfig::concurrency`](crate::ExchangeConfig) sends are worked at once, each
    /// claimed with its own lease. After `stop` the runner claims nothing new; the sends in flight
    /// get the grace given to `stop` to finish their exchange with ЕИС, and are then abandoned.
    /// Before the task ends, the leases this instance still holds are released, so another
    /// instance takes those sends at once instead of after the lease.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut stop = me.inner.stop.subscribe();
            let limit = me.inner.config.concurrency.max(1);
            // Owned by this task: aborting the runner drops the set, which aborts every send in it
            // and the renewal of their leases.
            let mut in_flight = tokio::task::JoinSet::new();
            let mut renewal = tokio::task::JoinSet::new();
            let renewing = me.clone();
            renewal.spawn(async move {
                let never = renewing.keep_leases().await;
                match never {}
            });
            loop {
                if stop.borrow().is_some() {
                    break;
                }
                while let Some(done) = in_flight.try_join_next() {
                    log_task_end(done);
                }
                if in_flight.len() < limit {
                    match me.claim_due_by(now()).await {
                        Ok(Some(claimed)) => {
                            let worker = me.clone();
                            in_flight.spawn(async move {
                                if let Err(e) = worker.work(claimed).await {
                                    tracing::error!(error = %e, "exchange runner: storage failure");
                                }
                            });
                            // Fill the free slots before waiting.
                            continue;
                        }
                        Ok(None) => {}
                        Err(e) => tracing::error!(error = %e, "exchange runner: storage failure"),
                    }
                }
                let room = in_flight.len() < limit;
                tokio::select! {
                    Some(done) = in_flight.join_next(), if !in_flight.is_empty() => log_task_end(done),
                    _ = me.inner.wake.notified(), if room => {}
                    _ = tokio::time::sleep(me.inner.config.idle_interval), if room => {}
                    _ = stop.changed() => {}
                }
            }
            let grace = (*stop.borrow()).unwrap_or_default();
            if !in_flight.is_empty() {
                let finish = async {
                    while let Some(done) = in_flight.join_next().await {
                        log_task_end(done);
                    }
                };
                if tokio::time::timeout(grace, finish).await.is_err() {
                    tracing::warn!(
                        abandoned = in_flight.len(),
                        "exchange runner: exchanges in flight did not finish in time; abandoned"
                    );
                    in_flight.shutdown().await;
                }
            }
            renewal.shutdown().await;
            match me.inner.store.release_leases(&me.inner.worker_id).await {
                Ok(released) => tracing::info!(released, "exchange runner stopped"),
                Err(e) => tracing::error!(error = %e, "exchange runner stopped; its leases run out on their own"),
            }
        })
    }

    /// Tells the runner of [`Exchange::spawn`] to stop: claim nothing new, give the sends in
    /// flight `grace` to finish, release the leases, end. Await the task's handle to wait for it.
    pub fn stop(&self, grace: Duration) {
        self.inner.stop.send_replace(Some(grace));
    }

    /// The delay after `failures` failures in a row, with a fresh random jitter.
    pub(crate) fn backoff(&self, failures: i64) -> Duration {
        let c = &self.inner.config;
        retry_delay(c.retry_base, c.retry_max, failures, rand::random::<f64>())
    }

    /// The window of [`Self::backoff`] in words, each end at least `floor`.
    pub(crate) fn backoff_ru(&self, failures: i64, floor: Duration) -> String {
        let c = &self.inner.config;
        retry_window_ru(c.retry_base, c.retry_max, failures, floor)
    }

    /// Records the outcome of an exchange on the send this worker holds, and counts a final
    /// state in the metrics once it is recorded. Answers whether the lease was still held.
    pub(crate) async fn record(&self, send: domain::ids::SendId, outcome: &Outcome<'_>) -> Result<bool, StoreError> {
        let recorded = self.inner.store.record_outcome(send, &self.inner.worker_id, outcome).await?;
        if recorded {
            self.inner.config.metrics.send_ended(outcome.status);
        }
        Ok(recorded)
    }

    async fn work(&self, claimed: ClaimedSend) -> Result<(), StoreError> {
        if claimed.send.status == SendStatus::Loaded {
            return self.follow_publication(claimed).await;
        }
        let send = &claimed.send;
        let creds =
            Credentials { login: claimed.credentials.login.clone(), password: claimed.credentials.password.clone() };
        let client = &self.inner.client;
        let uploading = send.status == SendStatus::Queued;
        let result = if uploading {
            client.upload(&creds, &send.packet_xml).await
        } else {
            client.status(&creds, &send.packet_id).await
        };
        self.record_eis_call(&result).await;
        match result {
            Ok(reply) => {
                // A poll that still says `processing` is not news, unless ЕИС was failing before.
                let quiet = !uploading && send.consecutive_failures == 0;
                self.record_reply(send, &reply, uploading, quiet, None).await
            }
            Err(ClientError::Unauthorized { info, raw }) => self.credentials_refused(send, &info, &raw, 401).await,
            Err(ClientError::Forbidden { info, raw }) => self.credentials_refused(send, &info, &raw, 403).await,
            Err(e) => match lasting_refusal(&e) {
                Some(status) => self.refused(send, &creds, uploading, status, &e).await,
                None => self.failed(send, &creds, &e).await,
            },
        }
    }

    /// Counts a call to ЕИС for «ЕИС недоступна»: answered, whatever the answer, or not (no
    /// connection, a server error, an unreadable reply: what [`may_heal`]). A failure to count it
    /// is logged and does not hold up the send.
    pub(crate) async fn record_eis_call<T>(&self, result: &Result<T, ClientError>) {
        let answered = match result {
            Ok(_) => true,
            Err(e) => !crate::failures::may_heal(e),
        };
        if let Err(e) = self.inner.store.record_eis_call(answered).await {
            tracing::error!(error = %e, "exchange runner: recording ЕИС's availability failed");
        }
    }

    /// Records a confirmation of the send's packet. `quiet` skips the timeline line of a poll
    /// that still says `processing`; `preface` opens the line (why ЕИС was asked).
    async fn record_reply(
        &self,
        send: &store::sends::Send,
        reply: &eis::client::Reply<Confirmation>,
        count_attempt: bool,
        quiet: bool,
        preface: Option<&str>,
    ) -> Result<(), StoreError> {
        let store = &self.inner.store;
        let (status, message) = classify(&reply.value);
        let message = match preface {
            Some(p) => format!("{p} {message}"),
            None => message,
        };
        let now = now();
        let next_attempt_at = match status {
            SendStatus::Processing => Some(after(now, self.inner.config.poll_interval)),
            // Loaded: from now on, watch for the customer placing the draft in ЕИС.
            SendStatus::Loaded => Some(after(now, self.inner.config.publication_poll_interval)),
            _ => None,
        };
        let silent = quiet && status == SendStatus::Processing;
        let outcome = Outcome {
            violations: reply.value.violations.len(),
            status,
            next_attempt_at,
            count_attempt,
            failed: false,
            last_error: None,
            event: (!silent).then_some(EventNote {
                message: &message,
                http_status: Some(reply.http_status),
                raw_reply: Some(&reply.raw),
            }),
        };
        // Credentials first, as for a refusal: the settings page is never behind the send's state.
        if status.is_in_eis() {
            store.mark_eis_credentials(send.requested_by, &send.eis_login, true, None).await?;
        }
        self.record(send.id, &outcome).await?;
        tracing::info!(send_id = send.id.get(), status = status.code(), "ЕИС replied");
        Ok(())
    }

    /// Before a queued send ends without ЕИС's verdict, asks ЕИС about its packet: an earlier
    /// upload may have arrived with its reply lost. Returns whether ЕИС knew it (and the reply
    /// was recorded); otherwise says what ЕИС answered.
    async fn known_after_all(
        &self,
        send: &store::sends::Send,
        creds: &Credentials,
        why: &str,
    ) -> Result<Result<(), String>, StoreError> {
        match self.inner.client.status(creds, &send.packet_id).await {
            Ok(reply) => {
                let preface = format!("{why} plangraf спросил ЕИС о пакете: ЕИС его получила.");
                // The failed attempt that led here counts; the question itself does not.
                self.record_reply(send, &reply, true, false, Some(&preface)).await?;
                tracing::info!(send_id = send.id.get(), "ЕИС knew the packet after all");
                Ok(Ok(()))
            }
            Err(ClientError::Server { status: 404, .. }) => {
                Ok(Err(format!("ЕИС подтвердила, что пакет {} не получала.", send.packet_id)))
            }
            Err(e) => Ok(Err(format!("Узнать у ЕИС, получен ли пакет, не удалось: {}.", failure_ru(&e)))),
        }
    }

    /// A 4xx other than 401/403: the same request would be refused again, so the send ends.
    /// ЕИС refused the credentials: 401 (login or password) or 403 (no right to work with
    /// plan-schedules). Different causes with different remedies, so the timeline keeps the
    /// HTTP status and the status page explains each.
    async fn credentials_refused(
        &self,
        send: &store::sends::Send,
        info: &eis::reply::ErrorInfo,
        raw: &str,
        http_status: u16,
    ) -> Result<(), StoreError> {
        let message = format!("ЕИС отказала в авторизации: {} (код {})", info.message, info.code);
        let outcome = Outcome {
            violations: 0,
            status: SendStatus::AuthError,
            next_attempt_at: None,
            count_attempt: true,
            failed: true,
            last_error: Some(&message),
            event: Some(EventNote { message: &message, http_status: Some(http_status), raw_reply: Some(raw) }),
        };
        // The credentials' failure first: whoever sees the send's new state then finds it on the
        // settings page too.
        self.inner.store.mark_eis_credentials(send.requested_by, &send.eis_login, false, Some(&message)).await?;
        self.record(send.id, &outcome).await?;
        tracing::warn!(send_id = send.id.get(), code = info.code, http_status, "ЕИС refused the credentials");
        Ok(())
    }

    async fn refused(
        &self,
        send: &store::sends::Send,
        creds: &Credentials,
        uploading: bool,
        status: u16,
        e: &ClientError,
    ) -> Result<(), StoreError> {
        let text = refusal_text(e.raw().unwrap_or_default());
        // An earlier upload of this packet may have arrived (its reply lost), and ЕИС may refuse
        // a second copy of a packet it holds: ask before ending.
        let mut known = String::new();
        if uploading && send.attempts > 0 {
            match self
                .known_after_all(
                    send,
                    creds,
                    &format!("ЕИС отклонила повторную загрузку (код ответа {status}): {text}."),
                )
                .await?
            {
                Ok(()) => return Ok(()),
                Err(what) => known = format!(" {what}"),
            }
        }
        let message = format!(
            "Отправка прекращена: ЕИС отклоняет запрос (код ответа {status}): {text}. Повторять тот же запрос бессмысленно — ответ не изменится.{known}"
        );
        let outcome = Outcome {
            violations: 0,
            status: SendStatus::RequestRefused,
            next_attempt_at: None,
            count_attempt: true,
            failed: true,
            last_error: Some(&message),
            event: Some(EventNote { message: &message, http_status: Some(status), raw_reply: e.raw() }),
        };
        self.record(send.id, &outcome).await?;
        tracing::warn!(send_id = send.id.get(), status, "ЕИС refused the request; not retrying");
        Ok(())
    }

    /// Transport failures, 5xx and unreadable replies: the same packet goes again after a
    /// backoff on the failures in a row, until the retry ceiling; there ЕИС is asked about the
    /// packet once more, and the send gives up only if ЕИС does not know it.
    async fn failed(&self, send: &store::sends::Send, creds: &Credentials, e: &ClientError) -> Result<(), StoreError> {
        let what = failure_ru(e);
        let now = now();
        if let Some(deadline) = self.give_up_at(send).filter(|d| now >= *d) {
            let since = send.failing_since.unwrap_or(now);
            let why = format!("{what}. Срок повторных попыток истёк {}.", when_ru(deadline));
            let known = match self.known_after_all(send, creds, &why).await? {
                Ok(()) => return Ok(()),
                Err(what) => what,
            };
            let message = format!(
                "ЕИС не отвечает с {}; попытки прекращены {} (срок истёк). Последняя ошибка: {what}. {known}",
                when_ru(since),
                when_ru(now)
            );
            let outcome = Outcome {
                violations: 0,
                status: SendStatus::GaveUp,
                next_attempt_at: None,
                count_attempt: true,
                failed: true,
                last_error: Some(&message),
                event: Some(EventNote { message: &message, http_status: http_status_of(e), raw_reply: e.raw() }),
            };
            self.record(send.id, &outcome).await?;
            tracing::warn!(send_id = send.id.get(), error = %e, "retry ceiling reached; giving up");
            return Ok(());
        }
        let delay = self.backoff(send.consecutive_failures + 1);
        let message = format!("{what}. {}", self.backoff_ru(send.consecutive_failures + 1, Duration::ZERO));
        let outcome = Outcome {
            violations: 0,
            status: send.status,
            next_attempt_at: Some(after(now, delay)),
            count_attempt: true,
            failed: true,
            last_error: Some(&message),
            event: Some(EventNote { message: &message, http_status: http_status_of(e), raw_reply: e.raw() }),
        };
        self.record(send.id, &outcome).await?;
        tracing::warn!(send_id = send.id.get(), error = %e, "ЕИС exchange failed; will retry");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_grows_with_failures_in_a_row_and_stays_within_its_jitter() {
        use rand::{Rng, SeedableRng};
        let (base, max) = (Duration::from_secs(5), Duration::from_secs(60));
        let cap = |n: i64| Duration::from_secs(5 * 2u64.pow(u32::try_from(n - 1).unwrap())).min(max);
        assert_eq!(retry_delay(base, max, 1, 0.0), Duration::from_millis(2500));
        assert_eq!(retry_delay(base, max, 1, 1.0), Duration::from_secs(5));
        assert_eq!(retry_delay(base, max, 3, 0.5), Duration::from_secs(15));
        // The ceiling holds however long the run of failures, and for nonsense samples.
        assert_eq!(retry_delay(base, max, 1_000_000, 1.0), max);
        assert_eq!(retry_delay(base, max, 0, 0.0), Duration::from_millis(2500), "treated as the first failure");
        assert_eq!(retry_delay(base, max, 2, f64::NAN), Duration::from_secs(5));
        let mut rng = rand::rngs::StdRng::seed_from_u64(44);
        for n in 1..=12 {
            for _ in 0..200 {
                let d = retry_delay(base, max, n, rng.random::<f64>());
                assert!(d >= cap(n) / 2 && d <= cap(n), "failure {n}: {d:?} outside [{:?}, {:?}]", cap(n) / 2, cap(n));
            }
        }
        // Jitter spreads: 50 samples of the same failure are not all alike.
        let spread: std::collections::BTreeSet<Duration> =
            (0..50).map(|_| retry_delay(base, max, 5, rng.random::<f64>())).collect();
        assert!(spread.len() > 40);
    }

    #[test]
    fn the_retry_window_in_words_is_the_same_for_every_draw() {
        let (base, max) = (Duration::from_secs(5), Duration::from_secs(60));
        assert_eq!(retry_window_ru(base, max, 1, Duration::ZERO), "Повторная попытка через 3–5 с.");
        assert_eq!(retry_window_ru(base, max, 10, Duration::ZERO), "Повторная попытка через 30–60 с.");
        assert_eq!(retry_window_ru(base, max, 10, Duration::from_secs(60)), "Повторная попытка через 60 с.");
        let tiny = Duration::from_millis(20);
        assert_eq!(retry_window_ru(tiny, tiny, 3, Duration::ZERO), "Повторная попытка через 1 с.");
    }
}
