//! The ЕИС exchange on the storage side: users' ЕИС credentials, the durable send queue
//! (outbox) with leases, and each send's timeline of events with the raw ЕИС replies.

use crate::audit::record;
use crate::{Backend, Result, Store, StoreError, Time, is_unique_violation, ms, now_ms, time_at, time_opt};
use domain::SendStatus;
use domain::ids::{OrgId, PlanId, SendId, UserId, VersionId};
use domain::secret::Secret;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, Default)]
pub struct EisCredentialsInfo {
    pub login: String,
    pub has_password: bool,
    pub updated_at: Time,
    pub last_ok_at: Option<Time>,
    pub last_fail_at: Option<Time>,
    pub last_fail_message: Option<String>,
}

#[derive(Clone)]
pub struct EisLogin {
    pub login: String,
    pub password: Secret,
}

impl std::fmt::Debug for EisLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EisLogin").field("login", &self.login).field("password", &"***").finish()
    }
}

/// A send with the exact packet it sends; its other fields are its head's (`send.status`
/// reads `send.head.status`).
#[derive(Debug, Clone)]
pub struct Send {
    pub head: SendHead,
    pub packet_xml: String,
}

impl std::ops::Deref for Send {
    type Target = SendHead;
    fn deref(&self) -> &SendHead {
        &self.head
    }
}

/// A send without its packet: what pages and state checks read (the packet of a large plan
/// is megabytes).
#[derive(Debug, Clone)]
pub struct SendHead {
    pub id: SendId,
    pub version_id: VersionId,
    pub org_id: OrgId,
    pub requested_by: UserId,
    pub packet_id: String,
    pub eis_login: String,
    pub status: SendStatus,
    pub attempts: i64,
    /// When the runner takes the send next; [`Time::MAX_UTC`] for a final state.
    pub next_attempt_at: Time,
    pub last_error: Option<String>,
    pub created_at: Time,
    pub updated_at: Time,
    /// Failed exchanges in a row; any exchange ЕИС answers resets it. The backoff grows with it.
    pub consecutive_failures: i64,
    /// When the current run of failures began; `None` while ЕИС answers.
    pub failing_since: Option<Time>,
    /// When the runner first took the send; the retry ceiling counts from it.
    pub first_attempt_at: Option<Time>,
}

#[derive(Debug, Clone)]
pub struct SendEvent {
    pub id: i64,
    pub at: Time,
    pub status: SendStatus,
    pub message: String,
    pub http_status: Option<i64>,
    /// ЕИС's reply as received: read by [`Store::send_events`] and [`Store::send_event`], left
    /// out (`None`) by [`Store::send_timeline`]; `has_raw` tells whether one is kept.
    pub raw_reply: Option<String>,
    pub has_raw: bool,
    /// A failed attempt that left the send's state as it was (see migration 0007).
    pub failed: bool,
    /// How many times the same event recurred right after itself (see migration 0008), and when
    /// it last did.
    pub repeats: i64,
    pub last_at: Option<Time>,
}

/// Who holds a send's lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub send_id: SendId,
    pub worker: String,
    pub until: Time,
}

/// A send a worker holds the lease of, with the credentials opened for the call.
#[derive(Debug, Clone)]
pub struct ClaimedSend {
    pub send: Send,
    pub credentials: EisLogin,
}

pub struct NewSend<'a> {
    pub version_id: VersionId,
    pub org_id: OrgId,
    pub requested_by: UserId,
    pub packet_id: &'a str,
    pub packet_xml: &'a str,
    pub login: &'a EisLogin,
    /// Where the packet comes from (fixed at approval, or built again and why), for the timeline.
    pub packet_note: &'a str,
}

/// What a worker learned from one exchange with ЕИС.
pub struct Outcome<'a> {
    pub status: SendStatus,
    /// When to come back (retry or poll); `None` for a final state.
    pub next_attempt_at: Option<Time>,
    pub count_attempt: bool,
    /// The exchange failed (no usable answer): the run of failures grows. Otherwise it ends.
    pub failed: bool,
    pub last_error: Option<&'a str>,
    /// A line for the send's timeline; `None` for a routine poll that changed nothing.
    pub event: Option<EventNote<'a>>,
    /// The number of violations in ЕИС's reply (a rejection tells the sender how many).
    pub violations: usize,
}

pub struct EventNote<'a> {
    pub message: &'a str,
    pub http_status: Option<u16>,
    pub raw_reply: Option<&'a str>,
}

macro_rules! send_head_columns {
    () => {
        "id, version_id, org_id, requested_by, packet_id, eis_login, status, attempts, \
     next_attempt_at, last_error, created_at, updated_at, consecutive_failures, failing_since, first_attempt_at"
    };
}

macro_rules! send_columns {
    () => {
        concat!(send_head_columns!(), ", packet_xml")
    };
}

/// The sends in one state, for the metrics of the queue ([`Store::send_queue_depth`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueState {
    pub status: SendStatus,
    pub count: u64,
    /// When the oldest of them was requested.
    pub oldest_created_at: Option<Time>,
}

impl Store {
    /// How many sends are in each of `states`, and when the oldest of each was requested: one
    /// grouped query over the index on (status, next attempt), so it reads the sends in those
    /// states only, never the finished history. States without sends are absent.
    pub async fn send_queue_depth(&self, states: &[SendStatus]) -> Result<Vec<QueueState>> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let params: Vec<String> = (1..=states.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT status, COUNT(*) AS n, MIN(created_at) AS oldest FROM eis_sends WHERE status IN ({}) GROUP BY status",
            params.join(", ")
        );
        // Only placeholders are formatted into the text; the states are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for s in states {
            query = query.bind(s.code());
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get("n")?;
                Ok(QueueState {
                    status: status_of(r)?,
                    count: u64::try_from(n).unwrap_or(0),
                    oldest_created_at: time_opt(r, "oldest")?,
                })
            })
            .collect()
    }
}

fn status_of(r: &AnyRow) -> Result<SendStatus> {
    let s: String = r.try_get("status")?;
    SendStatus::from_code(&s).ok_or_else(|| StoreError::Corrupt(format!("send status {s}")))
}

fn send_from_row(r: &AnyRow) -> Result<Send> {
    Ok(Send { head: send_head_from_row(r)?, packet_xml: r.try_get("packet_xml")? })
}

fn send_head_from_row(r: &AnyRow) -> Result<SendHead> {
    Ok(SendHead {
        id: SendId(r.try_get("id")?),
        version_id: VersionId(r.try_get("version_id")?),
        org_id: OrgId(r.try_get("org_id")?),
        requested_by: UserId(r.try_get("requested_by")?),
        packet_id: r.try_get("packet_id")?,
        eis_login: r.try_get("eis_login")?,
        status: status_of(r)?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: time_at(r, "next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        created_at: time_at(r, "created_at")?,
        updated_at: time_at(r, "updated_at")?,
        consecutive_failures: r.try_get("consecutive_failures")?,
        failing_since: time_opt(r, "failing_since")?,
        first_attempt_at: time_opt(r, "first_attempt_at")?,
    })
}

macro_rules! event_columns {
    () => {
        "id, at, status, message, http_status, CAST(CASE WHEN raw_reply IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_raw, \
         failed, repeats, last_at"
    };
}

fn event_from_row(r: &AnyRow, with_raw: bool) -> Result<SendEvent> {
    Ok(SendEvent {
        id: r.try_get("id")?,
        at: time_at(r, "at")?,
        status: status_of(r)?,
        message: r.try_get("message")?,
        http_status: r.try_get("http_status")?,
        raw_reply: if with_raw { r.try_get("raw_reply")? } else { None },
        has_raw: r.try_get::<i64, _>("has_raw")? != 0,
        failed: r.try_get::<i64, _>("failed")? != 0,
        repeats: r.try_get("repeats")?,
        last_at: time_opt(r, "last_at")?,
    })
}

fn credentials_aad(user_id: UserId) -> String {
    // The stored number, spelled out: the sealed passwords already at rest depend on this text.
    format!("eis_credentials.password_secret:{}", user_id.get())
}

fn send_aad(packet_id: &str) -> String {
    format!("eis_sends.eis_password_secret:{packet_id}")
}

/// Whether the store's key opens the ЕИС passwords sealed in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedSecrets {
    /// Nothing is sealed: any key will do.
    None,
    /// The key opens the first one found.
    Open,
    /// The key does not open it: the database was sealed with another key.
    WrongKey,
}

impl Store {
    /// Tries the key on one saved ЕИС password, or, when none is saved, on the password of one
    /// send still in the queue: one row each, whatever the size of the tables. Called at start,
    /// so that a database restored without its key, or a wrong key, stops plangraf at once
    /// instead of failing every send later.
    pub async fn check_sealed_secrets(&self) -> Result<SealedSecrets> {
        let saved = sqlx::query(
            "SELECT user_id, password_secret FROM eis_credentials WHERE password_secret IS NOT NULL ORDER BY user_id LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        let (sealed, aad) = match saved {
            Some(r) => (r.try_get::<String, _>("password_secret")?, credentials_aad(UserId(r.try_get("user_id")?))),
            None => {
                let queued = sqlx::query(
                    "SELECT packet_id, eis_password_secret FROM eis_sends \
                     WHERE status IN ('queued', 'processing', 'loaded') LIMIT 1",
                )
                .fetch_optional(self.pool())
                .await?;
                let Some(r) = queued else { return Ok(SealedSecrets::None) };
                (r.try_get::<String, _>("eis_password_secret")?, send_aad(&r.try_get::<String, _>("packet_id")?))
            }
        };
        Ok(match self.secrets().open(&sealed, &aad) {
            Ok(_) => SealedSecrets::Open,
            Err(_) => SealedSecrets::WrongKey,
        })
    }

    /// Saves the user's ЕИС login and, when given, a new password (sealed at rest). When the
    /// login or the password changes, what was known of the old ones working is forgotten.
    pub async fn save_eis_credentials(
        &self,
        user_id: UserId,
        org_id: OrgId,
        login: &str,
        password: Option<&Secret>,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let existing = sqlx::query("SELECT login, password_secret FROM eis_credentials WHERE user_id = $1")
            .bind(user_id.get())
            .fetch_optional(&mut *tx)
            .await?;
        let now = now_ms();
        match existing {
            Some(row) => {
                let old_login: String = row.try_get("login")?;
                let old_secret: Option<String> = row.try_get("password_secret")?;
                let changed = password.is_some() || old_login != login;
                let sealed = match password {
                    Some(p) => Some(self.secrets().seal(p, &credentials_aad(user_id))),
                    None => old_secret,
                };
                let sql = if changed {
                    "UPDATE eis_credentials SET login = $1, password_secret = $2, updated_at = $3, last_ok_at = NULL, \
                     last_fail_at = NULL, last_fail_message = NULL WHERE user_id = $4"
                } else {
                    "UPDATE eis_credentials SET login = $1, password_secret = $2, updated_at = $3 WHERE user_id = $4"
                };
                sqlx::query(sql).bind(login).bind(sealed).bind(now).bind(user_id.get()).execute(&mut *tx).await?;
            }
            None => {
                let sealed = password.map(|p| self.secrets().seal(p, &credentials_aad(user_id)));
                sqlx::query(
                    "INSERT INTO eis_credentials (user_id, login, password_secret, updated_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(user_id.get())
                .bind(login)
                .bind(sealed)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        let what = if password.is_some() {
            "Изменены логин и пароль ЕИС"
        } else {
            "Изменён логин ЕИС"
        };
        record(
            &mut *tx,
            Some(user_id),
            Some(org_id),
            "user",
            Some(user_id.get()),
            what,
            &format!("Логин ЕИС: {login}"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn eis_credentials_info(&self, user_id: UserId) -> Result<Option<EisCredentialsInfo>> {
        let row = sqlx::query(
            "SELECT login, password_secret, updated_at, last_ok_at, last_fail_at, last_fail_message \
             FROM eis_credentials WHERE user_id = $1",
        )
        .bind(user_id.get())
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let secret: Option<String> = r.try_get("password_secret")?;
        Ok(Some(EisCredentialsInfo {
            login: r.try_get("login")?,
            has_password: secret.is_some(),
            updated_at: time_at(&r, "updated_at")?,
            last_ok_at: time_opt(&r, "last_ok_at")?,
            last_fail_at: time_opt(&r, "last_fail_at")?,
            last_fail_message: r.try_get("last_fail_message")?,
        }))
    }

    /// The saved login and opened password, to pre-fill «Отправить на ООС» server-side.
    pub async fn eis_credentials(&self, user_id: UserId) -> Result<Option<EisLogin>> {
        let row = sqlx::query("SELECT login, password_secret FROM eis_credentials WHERE user_id = $1")
            .bind(user_id.get())
            .fetch_optional(self.pool())
            .await?;
        let Some(r) = row else { return Ok(None) };
        let secret: Option<String> = r.try_get("password_secret")?;
        let Some(secret) = secret else { return Ok(None) };
        let password = self.secrets().open(&secret, &credentials_aad(user_id))?;
        Ok(Some(EisLogin { login: r.try_get("login")?, password }))
    }

    /// Remembers whether the saved credentials last worked with ЕИС (only when the send used them).
    pub async fn mark_eis_credentials(
        &self,
        user_id: UserId,
        login: &str,
        ok: bool,
        message: Option<&str>,
    ) -> Result<()> {
        if ok {
            sqlx::query("UPDATE eis_credentials SET last_ok_at = $1 WHERE user_id = $2 AND login = $3")
                .bind(now_ms())
                .bind(user_id.get())
                .bind(login)
                .execute(self.pool())
                .await?;
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        // The owner is told once per saving of the credentials and success with them: the key
        // names both, so a failure after the credentials worked again, or after they were saved
        // anew, is a new event.
        let row = sqlx::query(
            "UPDATE eis_credentials SET last_fail_at = $1, last_fail_message = $4 WHERE user_id = $2 AND login = $3 \
             RETURNING updated_at, last_ok_at",
        )
        .bind(now_ms())
        .bind(user_id.get())
        .bind(login)
        .bind(message)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = row {
            let saved: i64 = r.try_get("updated_at")?;
            let worked: Option<i64> = r.try_get("last_ok_at")?;
            let notice = crate::notify::Notice {
                kind: crate::notify::Kind::CredentialsFailed,
                event_key: format!("credentials:{saved}:{}", worked.unwrap_or(0)),
                subject: "ЕИС не принимает ваши регистрационные данные".into(),
                body: format!(
                    "ЕИС отказала в авторизации по логину {login}: {}. Проверьте логин и пароль на странице «Регистрационные данные в ЕИС»; \
                     пока они не исправлены, отправки с ними не пройдут.",
                    message.unwrap_or("причина не указана")
                ),
                link: "/settings/eis".into(),
            };
            let mail = self.mail_outbox();
            crate::notify::notify(&mut tx, crate::notify::Recipients::User(user_id), &notice, mail).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes a send to the queue with its first event and audit entry, atomically. Fails with
    /// `Conflict` when the version already has a live send (the unique index decides).
    pub async fn enqueue_send(&self, s: &NewSend<'_>) -> Result<SendId> {
        let mut tx = self.write_tx().await?;
        let now = now_ms();
        let sealed = self.secrets().seal(&s.login.password, &send_aad(s.packet_id));
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO eis_sends (version_id, org_id, requested_by, packet_id, packet_xml, eis_login, eis_password_secret, \
             status, attempts, next_attempt_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9, $9) RETURNING id",
        )
        .bind(s.version_id.get())
        .bind(s.org_id.get())
        .bind(s.requested_by.get())
        .bind(s.packet_id)
        .bind(s.packet_xml)
        .bind(&s.login.login)
        .bind(sealed)
        .bind(SendStatus::Queued.code())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { e.into() })?;
        let id = SendId(id);
        let message = format!("Пакет поставлен в очередь на отправку в ЕИС. {}", s.packet_note);
        let note = EventNote { message: message.trim_end(), http_status: None, raw_reply: None };
        insert_event(&mut tx, id, now, SendStatus::Queued, &note, false).await?;
        record(
            &mut *tx,
            Some(s.requested_by),
            Some(s.org_id),
            "version",
            Some(s.version_id.get()),
            "Отправить на ООС",
            &format!("Пакет {}, логин ЕИС {}", s.packet_id, s.login.login),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn latest_send(&self, version_id: VersionId) -> Result<Option<Send>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            send_columns!(),
            " FROM eis_sends WHERE version_id = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(version_id.get())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(send_from_row).transpose()
    }

    /// The latest send of a version without its packet.
    pub async fn latest_send_head(&self, version_id: VersionId) -> Result<Option<SendHead>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            send_head_columns!(),
            " FROM eis_sends WHERE version_id = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(version_id.get())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(send_head_from_row).transpose()
    }

    /// One send without its packet.
    pub async fn send_head(&self, id: SendId) -> Result<Option<SendHead>> {
        let row = sqlx::query(concat!("SELECT ", send_head_columns!(), " FROM eis_sends WHERE id = $1"))
            .bind(id.get())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(send_head_from_row).transpose()
    }

    pub async fn sends_for_version(&self, version_id: VersionId) -> Result<Vec<Send>> {
        let rows =
            sqlx::query(concat!("SELECT ", send_columns!(), " FROM eis_sends WHERE version_id = $1 ORDER BY id DESC"))
                .bind(version_id.get())
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(send_from_row).collect()
    }

    pub async fn send(&self, id: SendId) -> Result<Option<Send>> {
        let row = sqlx::query(concat!("SELECT ", send_columns!(), " FROM eis_sends WHERE id = $1"))
            .bind(id.get())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(send_from_row).transpose()
    }

    /// A send's timeline with the raw replies, oldest first.
    pub async fn send_events(&self, send_id: SendId) -> Result<Vec<SendEvent>> {
        let sql =
            concat!("SELECT ", event_columns!(), ", raw_reply FROM eis_send_events WHERE send_id = $1 ORDER BY id");
        let rows = sqlx::query(sql).bind(send_id.get()).fetch_all(self.pool()).await?;
        rows.iter().map(|r| event_from_row(r, true)).collect()
    }

    /// A send's timeline without the raw replies (a placed plan's export is megabytes), oldest
    /// first: what the status page shows.
    pub async fn send_timeline(&self, send_id: SendId) -> Result<Vec<SendEvent>> {
        let sql = concat!("SELECT ", event_columns!(), " FROM eis_send_events WHERE send_id = $1 ORDER BY id");
        let rows = sqlx::query(sql).bind(send_id.get()).fetch_all(self.pool()).await?;
        rows.iter().map(|r| event_from_row(r, false)).collect()
    }

    /// One event of a send with its raw reply.
    pub async fn send_event(&self, send_id: SendId, event_id: i64) -> Result<Option<SendEvent>> {
        let sql =
            concat!("SELECT ", event_columns!(), ", raw_reply FROM eis_send_events WHERE send_id = $1 AND id = $2");
        let row = sqlx::query(sql).bind(send_id.get()).bind(event_id).fetch_optional(self.pool()).await?;
        row.as_ref().map(|r| event_from_row(r, true)).transpose()
    }

    /// Takes the lease of one due send. SQLite has a single writer, so the conditional UPDATE
    /// is enough; on PostgreSQL `SKIP LOCKED` lets concurrent instances pass each other.
    pub async fn claim_due_send(&self, worker: &str, now: Time, lease_ms: i64) -> Result<Option<ClaimedSend>> {
        self.claim_send_due_by(worker, now, now, lease_ms).await
    }

    /// Takes the lease of one send due by `due_by` (≥ `now`), as if that time had come; leases,
    /// and the first attempt's time, still count from `now`. Tests drive retries with it instead
    /// of waiting out their delays.
    ///
    /// Organizations take turns: the send comes from the organization with the fewest sends in
    /// flight (live leases), then the one served least recently (the latest `updated_at` of its
    /// active sends: a send's row is updated whenever an exchange of it is recorded), and only
    /// then by due time. So one organization with thousands of due sends does not hold back the
    /// others, whether the sends are worked one at a time or many at once.
    ///
    /// A blocked organization's sends that ЕИС has not accepted yet (`queued`) are held until it
    /// is unblocked; those ЕИС accepted are followed to their final answer.
    pub async fn claim_send_due_by(
        &self,
        worker: &str,
        now: Time,
        due_by: Time,
        lease_ms: i64,
    ) -> Result<Option<ClaimedSend>> {
        macro_rules! claim {
            ($lock:literal) => {
                concat!(
                    "UPDATE eis_sends SET locked_by = $1, locked_until = $2, first_attempt_at = COALESCE(first_attempt_at, $3) \
                     WHERE id = (SELECT s.id FROM eis_sends s JOIN (SELECT org_id, \
                     SUM(CASE WHEN locked_until >= $3 THEN 1 ELSE 0 END) AS in_flight, MAX(updated_at) AS last_served \
                     FROM eis_sends WHERE status IN ('queued', 'processing', 'loaded') GROUP BY org_id) o ON o.org_id = s.org_id \
                     WHERE s.status IN ('queued', 'processing', 'loaded') AND s.next_attempt_at <= $4 \
                     AND (s.locked_until IS NULL OR s.locked_until < $3) \
                     AND (s.status <> 'queued' OR NOT EXISTS (SELECT 1 FROM organizations b WHERE b.id = s.org_id AND b.blocked_at IS NOT NULL)) \
                     ORDER BY o.in_flight, o.last_served, s.next_attempt_at, s.id LIMIT 1 ",
                    $lock,
                    ") AND (locked_until IS NULL OR locked_until < $3) RETURNING ",
                    send_columns!(),
                    ", eis_password_secret"
                )
            };
        }
        let sql = match self.backend() {
            Backend::Postgres => claim!("FOR UPDATE OF s SKIP LOCKED"),
            Backend::Sqlite => claim!(""),
        };
        let (now, due_by) = (ms(now), ms(due_by));
        let row = sqlx::query(sql)
            .bind(worker)
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .bind(due_by.max(now))
            .fetch_optional(self.pool())
            .await?;
        let Some(r) = row else { return Ok(None) };
        let send = send_from_row(&r)?;
        let sealed: String = r.try_get("eis_password_secret")?;
        let password = self.secrets().open(&sealed, &send_aad(&send.packet_id))?;
        let credentials = EisLogin { login: send.eis_login.clone(), password };
        Ok(Some(ClaimedSend { send, credentials }))
    }

    /// Gives up the leases `worker` holds on sends it claimed but did not finish (at shutdown),
    /// so that another instance takes them at once instead of after the lease. Their state and
    /// next attempt stay as they were. Returns how many were released.
    pub async fn release_leases(&self, worker: &str) -> Result<u64> {
        let done = sqlx::query("UPDATE eis_sends SET locked_by = NULL, locked_until = NULL WHERE locked_by = $1")
            .bind(worker)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Extends, in one statement, every lease `worker` still holds (not run out at `now`) to
    /// `now + lease_ms`: its sends stay its own while their exchanges with ЕИС are in flight. A
    /// lease that ran out is not revived: another worker may be taking it over. Returns how many
    /// were renewed.
    pub async fn renew_leases(&self, worker: &str, now: Time, lease_ms: i64) -> Result<u64> {
        let now = ms(now);
        let done = sqlx::query("UPDATE eis_sends SET locked_until = $1 WHERE locked_by = $2 AND locked_until >= $3")
            .bind(now.saturating_add(lease_ms))
            .bind(worker)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// The leases taken and not yet released (some may have run out), by send.
    pub async fn leases(&self) -> Result<Vec<Lease>> {
        let rows = sqlx::query(
            "SELECT id, locked_by, locked_until FROM eis_sends WHERE locked_by IS NOT NULL AND locked_until IS NOT NULL ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Lease {
                    send_id: SendId(r.try_get("id")?),
                    worker: r.try_get("locked_by")?,
                    until: time_at(r, "locked_until")?,
                })
            })
            .collect()
    }

    /// Records what ЕИС answered and releases the lease, if this worker still holds it. Returns
    /// false when the lease was lost (another worker took over); nothing is then written.
    pub async fn record_outcome(&self, send_id: SendId, worker: &str, o: &Outcome<'_>) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE eis_sends SET status = $1, next_attempt_at = $2, attempts = attempts + $3, last_error = $4, \
             locked_by = NULL, locked_until = NULL, updated_at = $5, \
             consecutive_failures = CASE WHEN $8 = 1 THEN consecutive_failures + 1 ELSE 0 END, \
             failing_since = CASE WHEN $8 = 1 THEN COALESCE(failing_since, $5) ELSE NULL END \
             WHERE id = $6 AND locked_by = $7",
        )
        .bind(o.status.code())
        .bind(o.next_attempt_at.map_or(i64::MAX, ms))
        .bind(i64::from(o.count_attempt))
        .bind(o.last_error)
        .bind(now)
        .bind(send_id.get())
        .bind(worker)
        .bind(i64::from(o.failed))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(e) = &o.event {
            insert_event(&mut tx, send_id, now, o.status, e, o.failed).await?;
            // A new state always comes with its timeline line; a routine poll (none) is no news.
            crate::notify::send_state(&mut tx, send_id, o.status, o.violations, None, self.mail_outbox()).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// What ЕИС assigned when it placed a version.
pub struct Publication<'a> {
    pub plan_id: PlanId,
    pub version_id: VersionId,
    pub plan_number: &'a str,
    pub position_numbers: &'a std::collections::BTreeMap<String, String>,
}

impl Store {
    /// Records a placement: the plan number on the plan, the position numbers on the version, and
    /// the send's final state with its timeline line, in one transaction — only if this worker
    /// still holds the send's lease.
    pub async fn record_publication(
        &self,
        send_id: SendId,
        worker: &str,
        p: &Publication<'_>,
        o: &Outcome<'_>,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE eis_sends SET status = $1, next_attempt_at = $2, last_error = NULL, locked_by = NULL, locked_until = NULL, \
             updated_at = $3, consecutive_failures = 0, failing_since = NULL WHERE id = $4 AND locked_by = $5",
        )
        .bind(o.status.code())
        .bind(i64::MAX)
        .bind(now)
        .bind(send_id.get())
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("UPDATE plans SET eis_plan_number = $1, updated_at = $2 WHERE id = $3")
            .bind(p.plan_number)
            .bind(now)
            .bind(p.plan_id.get())
            .execute(&mut *tx)
            .await?;
        let numbers = serde_json::to_string(p.position_numbers).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE plan_versions SET eis_position_numbers = $1 WHERE id = $2")
            .bind(numbers)
            .bind(p.version_id.get())
            .execute(&mut *tx)
            .await?;
        if let Some(e) = &o.event {
            insert_event(&mut tx, send_id, now, o.status, e, o.failed).await?;
        }
        let mail = self.mail_outbox();
        crate::notify::send_state(&mut tx, send_id, o.status, o.violations, Some(p.plan_number), mail).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// A finished send taken up again because ЕИС, asked before the version went under a new packet
/// id, knew its packet after all.
pub struct Reopen<'a> {
    pub send_id: SendId,
    /// The state the send is expected in; nothing is written if it changed meanwhile.
    pub from: SendStatus,
    pub status: SendStatus,
    /// `None` keeps the send final (ЕИС's verdict on the packet is recorded, nothing more to do).
    pub next_attempt_at: Option<Time>,
    pub actor: UserId,
    /// The credentials that reached ЕИС now; they replace the send's (sealed the same way).
    pub login: &'a EisLogin,
    pub event: EventNote<'a>,
}

impl Store {
    /// Reopens a finished send with what ЕИС says of its packet, with a timeline line and an audit
    /// entry, atomically. Fails with `Conflict` when the version has a live send already (the
    /// unique index decides), and returns false when the send is no longer in `from`.
    pub async fn reopen_send(&self, r: &Reopen<'_>) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let now = now_ms();
        let row = sqlx::query("SELECT packet_id, version_id, org_id FROM eis_sends WHERE id = $1 AND status = $2")
            .bind(r.send_id.get())
            .bind(r.from.code())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(false) };
        let packet_id: String = row.try_get("packet_id")?;
        let version_id: i64 = row.try_get("version_id")?;
        let org_id = OrgId(row.try_get("org_id")?);
        let sealed = self.secrets().seal(&r.login.password, &send_aad(&packet_id));
        sqlx::query(
            "UPDATE eis_sends SET status = $1, next_attempt_at = $2, requested_by = $3, eis_login = $4, eis_password_secret = $5, \
             last_error = NULL, locked_by = NULL, locked_until = NULL, consecutive_failures = 0, failing_since = NULL, \
             first_attempt_at = NULL, updated_at = $6 WHERE id = $7",
        )
        .bind(r.status.code())
        .bind(r.next_attempt_at.map_or(i64::MAX, ms))
        .bind(r.actor.get())
        .bind(&r.login.login)
        .bind(sealed)
        .bind(now)
        .bind(r.send_id.get())
        .execute(&mut *tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { e.into() })?;
        insert_event(&mut tx, r.send_id, now, r.status, &r.event, false).await?;
        record(
            &mut *tx,
            Some(r.actor),
            Some(org_id),
            "version",
            Some(version_id),
            "Отправить на ООС",
            &format!("ЕИС знает прежний пакет {packet_id}: {}; логин ЕИС {}", r.status.title(), r.login.login),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Adds a line to the send's timeline, or, when it is identical to the send's latest line (same
/// state, message, HTTP status, raw reply and failure mark), counts it on that line instead: a
/// send that ЕИС answers the same way again and again keeps one line, and nothing ЕИС replied
/// is lost, since a reply that differs is a new line. Runs in the caller's transaction, which
/// holds the send's row, so two writers cannot interleave here.
async fn insert_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    send_id: SendId,
    at: i64,
    status: SendStatus,
    note: &EventNote<'_>,
    failed: bool,
) -> Result<()> {
    let failed = i64::from(failed && (status.is_active() || status == SendStatus::Loaded));
    let http_status = note.http_status.map(i64::from);
    let last = sqlx::query(
        "SELECT id, status, message, http_status, raw_reply, failed FROM eis_send_events WHERE send_id = $1 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(send_id.get())
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(r) = last {
        let same = r.try_get::<String, _>("status")? == status.code()
            && r.try_get::<String, _>("message")? == note.message
            && r.try_get::<Option<i64>, _>("http_status")? == http_status
            && r.try_get::<Option<String>, _>("raw_reply")?.as_deref() == note.raw_reply
            && r.try_get::<i64, _>("failed")? == failed;
        if same {
            sqlx::query("UPDATE eis_send_events SET repeats = repeats + 1, last_at = $1 WHERE id = $2")
                .bind(at)
                .bind(r.try_get::<i64, _>("id")?)
                .execute(&mut **tx)
                .await?;
            return Ok(());
        }
    }
    sqlx::query(
        "INSERT INTO eis_send_events (send_id, at, status, message, http_status, raw_reply, failed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(send_id.get())
    .bind(at)
    .bind(status.code())
    .bind(note.message)
    .bind(http_status)
    .bind(note.raw_reply)
    .bind(failed)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Batched reads for the lists: the latest send of many versions in one query, without the
// packet XML.

/// The latest send of a version, as the lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestSend {
    pub id: SendId,
    pub version_id: VersionId,
    pub status: SendStatus,
    pub updated_at: Time,
}

impl Store {
    /// The latest send of each of the versions that has one, in one query.
    pub async fn latest_sends(
        &self,
        versions: &[VersionId],
    ) -> Result<std::collections::HashMap<VersionId, LatestSend>> {
        let mut out = std::collections::HashMap::new();
        // Bounded statements: a plan has few versions, a bulk caller many.
        for chunk in versions.chunks(500) {
            let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT s.id, s.version_id, s.status, s.updated_at FROM eis_sends s \
                 WHERE s.version_id IN ({}) \
                 AND s.id = (SELECT MAX(x.id) FROM eis_sends x WHERE x.version_id = s.version_id)",
                params.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for v in chunk {
                query = query.bind(v.get());
            }
            for r in query.fetch_all(self.pool()).await? {
                let send = LatestSend {
                    id: SendId(r.try_get("id")?),
                    version_id: VersionId(r.try_get("version_id")?),
                    status: status_of(&r)?,
                    updated_at: time_at(&r, "updated_at")?,
                };
                out.insert(send.version_id, send);
            }
        }
        Ok(out)
    }
}

/// A line of «Отправки на ООС»: a version's latest send, without its packet.
#[derive(Debug, Clone)]
pub struct SendListItem {
    pub send: LatestSend,
    pub attempts: i64,
    pub plan_id: PlanId,
    pub plan_year: i32,
    pub version_number: i64,
    pub customer: String,
}

impl Store {
    /// The latest send of each version the organization sent or owns, newest first, without
    /// the packet XML and the credentials.
    pub async fn send_list_of_org(&self, org_id: OrgId) -> Result<Vec<SendListItem>> {
        let rows = sqlx::query(
            "SELECT s.id, s.version_id, s.status, s.attempts, s.updated_at, \
             p.id AS plan_id, p.plan_year, v.version_number, o.short_name AS customer \
             FROM eis_sends s JOIN plan_versions v ON v.id = s.version_id JOIN plans p ON p.id = v.plan_id \
             JOIN organizations o ON o.id = p.org_id \
             WHERE (s.org_id = $1 OR p.org_id = $1) AND s.id = (SELECT MAX(x.id) FROM eis_sends x WHERE x.version_id = s.version_id) \
             ORDER BY s.updated_at DESC, s.id DESC",
        )
        .bind(org_id.get())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let year: i64 = r.try_get("plan_year")?;
                Ok(SendListItem {
                    send: LatestSend {
                        id: SendId(r.try_get("id")?),
                        version_id: VersionId(r.try_get("version_id")?),
                        status: status_of(r)?,
                        updated_at: time_at(r, "updated_at")?,
                    },
                    attempts: r.try_get("attempts")?,
                    plan_id: PlanId(r.try_get("plan_id")?),
                    plan_year: i32::try_from(year).map_err(|_| StoreError::Corrupt("plan_year".into()))?,
                    version_number: r.try_get("version_number")?,
                    customer: r.try_get("customer")?,
                })
            })
            .collect()
    }
}
