//! Notifications: in the application (a list with read and unread, the header's counter) and
//! by e-mail (the outbox a background sender works), the users' choices per kind, and the
//! exchange's view of whether ЕИС answers at all («ЕИС недоступна»).
//!
//! A notification is written in the transaction of its event (a plan's transition, a send's new
//! state), once per event and recipient: the key `(user_id, kind, event_key)` is unique and a
//! second write of the same event does nothing, so a retried runner or a second instance cannot
//! repeat one. Whether a recipient sees it in the application and whether it is mailed follows
//! their choices at that moment.

use crate::{Result, Store, StoreError, Time, ms, now_ms, time, time_at, time_opt};
use domain::Role;
use domain::ids::{OrgId, PlanId, SendId, UserId};
use sqlx::{Any, Row, Transaction};

/// The kinds of notification, each a line of «Настройки уведомлений».
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A subordinate's plan-schedule submitted for approval: to the approvers of the superior.
    PlanSubmitted,
    /// Approved: to the customer's specialists.
    PlanApproved,
    /// Returned for revision with the comment: to the customer's specialists.
    PlanReturned,
    /// ЕИС loaded the version as a draft: to the sender.
    SendLoaded,
    /// ЕИС rejected the version, with the count of violations: to the sender.
    SendRejected,
    /// ЕИС placed the version: to the sender.
    SendPublished,
    /// ЕИС refused the sender's authorization: to the sender.
    SendAuthRefused,
    /// Saved ЕИС credentials stopped working: to their owner.
    CredentialsFailed,
    /// No final answer from ЕИС for longer than configured: to the sender and the administrators.
    EisSilent,
    /// A bound certificate (ЭЦП) ends soon: to its holder.
    CertificateExpiring,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::PlanSubmitted,
        Kind::PlanApproved,
        Kind::PlanReturned,
        Kind::SendLoaded,
        Kind::SendRejected,
        Kind::SendPublished,
        Kind::SendAuthRefused,
        Kind::CredentialsFailed,
        Kind::EisSilent,
        Kind::CertificateExpiring,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::PlanSubmitted => "plan_submitted",
            Kind::PlanApproved => "plan_approved",
            Kind::PlanReturned => "plan_returned",
            Kind::SendLoaded => "send_loaded",
            Kind::SendRejected => "send_rejected",
            Kind::SendPublished => "send_published",
            Kind::SendAuthRefused => "send_auth_refused",
            Kind::CredentialsFailed => "credentials_failed",
            Kind::EisSilent => "eis_silent",
            Kind::CertificateExpiring => "certificate_expiring",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The line of «Настройки уведомлений».
    pub fn title(self) -> &'static str {
        match self {
            Kind::PlanSubmitted => "План-график подчинённой организации направлен на согласование",
            Kind::PlanApproved => "План-график утверждён",
            Kind::PlanReturned => "План-график возвращён на доработку",
            Kind::SendLoaded => "ЕИС загрузила отправленную версию",
            Kind::SendRejected => "ЕИС отклонила отправленную версию",
            Kind::SendPublished => "ЕИС разместила отправленную версию",
            Kind::SendAuthRefused => "ЕИС отказала в авторизации при отправке",
            Kind::CredentialsFailed => "Регистрационные данные в ЕИС не принимаются",
            Kind::EisSilent => "ЕИС долго не отвечает на отправку",
            Kind::CertificateExpiring => "Срок действия сертификата ЭЦП заканчивается",
        }
    }
}

/// Who receives a notification.
#[derive(Debug, Clone, Copy)]
pub enum Recipients {
    User(UserId),
    /// The users of one organization who hold this role (among others, perhaps).
    OrgRole(OrgId, Role),
    /// Every user who holds the administrator's role.
    Admins,
}

/// One event's notification: the same for each recipient.
#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: Kind,
    /// Names the event among the kind's: with the recipient and the kind, unique.
    pub event_key: String,
    pub subject: String,
    pub body: String,
    /// The page concerned, as a path of plangraf (`/plans/7`).
    pub link: String,
}

/// Writes `notice` for `to` inside the caller's transaction, following each recipient's
/// choices; an event already written for a recipient is left as it is. Blocked users get
/// nothing. Returns how many rows were written.
pub(crate) async fn notify(
    tx: &mut Transaction<'static, Any>,
    to: Recipients,
    notice: &Notice,
    mail: bool,
) -> Result<u64> {
    // A recipient is mailed when the outbox is on, they did not turn e-mail off for the kind,
    // and they have an address.
    const MAILED: &str = "($7 = 1 AND COALESCE(p.email, 1) = 1 AND u.email IS NOT NULL)";
    let (who, a, b): (&str, Option<i64>, Option<&str>) = match to {
        Recipients::User(id) => ("u.id = $8", Some(id.get()), None),
        Recipients::OrgRole(org, role) => (
            "u.org_id = $8 AND u.id IN (SELECT user_id FROM user_roles WHERE role = $9)",
            Some(org.get()),
            Some(role.code()),
        ),
        Recipients::Admins => {
            ("u.id IN (SELECT user_id FROM user_roles WHERE role = $9)", None, Some(Role::Admin.code()))
        }
    };
    let sql = format!(
        "INSERT INTO notifications (user_id, kind, event_key, subject, body, link, created_at, in_app, \
         mail_to, mail_state, mail_next_at) \
         SELECT u.id, $1, $2, $3, $4, $5, $6, COALESCE(p.in_app, 1), \
         CASE WHEN {MAILED} THEN u.email ELSE NULL END, \
         CASE WHEN {MAILED} THEN 'pending' ELSE NULL END, \
         CASE WHEN {MAILED} THEN $6 ELSE NULL END \
         FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id AND p.kind = $1 \
         WHERE u.blocked = 0 AND (COALESCE(p.in_app, 1) = 1 OR {MAILED}) AND {who} \
         ON CONFLICT (user_id, kind, event_key) DO NOTHING"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(notice.kind.code())
        .bind(&notice.event_key)
        .bind(&notice.subject)
        .bind(&notice.body)
        .bind(&notice.link)
        .bind(now_ms())
        .bind(i64::from(mail));
    // $8 and $9 are bound whether or not the recipients' condition uses them, so that the
    // statement's parameters are always the same.
    q = q.bind(a.unwrap_or(0)).bind(b.unwrap_or(""));
    Ok(q.execute(&mut **tx).await?.rows_affected())
}

/// What the events about a plan say of it.
struct PlanFacts {
    year: i64,
    org_name: String,
    org_id: OrgId,
    superior_id: Option<OrgId>,
}

async fn plan_facts(tx: &mut Transaction<'static, Any>, plan_id: PlanId) -> Result<PlanFacts> {
    let r = sqlx::query(
        "SELECT p.plan_year, p.org_id, o.short_name, o.superior_id FROM plans p \
         JOIN organizations o ON o.id = p.org_id WHERE p.id = $1",
    )
    .bind(plan_id.get())
    .fetch_one(&mut **tx)
    .await?;
    Ok(PlanFacts {
        year: r.try_get("plan_year")?,
        org_name: r.try_get("short_name")?,
        org_id: OrgId(r.try_get("org_id")?),
        superior_id: r.try_get::<Option<i64>, _>("superior_id")?.map(OrgId),
    })
}

/// The plan's transition `to`, as a notification: submitted (`row_version` is the plan's after
/// the transition, so each round of approval is its own event), returned with `comment`.
pub(crate) async fn plan_transition(
    tx: &mut Transaction<'static, Any>,
    plan_id: PlanId,
    to: domain::PlanStatus,
    comment: Option<&str>,
    row_version: i64,
    mail: bool,
) -> Result<()> {
    use domain::PlanStatus;
    let f = plan_facts(tx, plan_id).await?;
    let link = format!("/plans/{}", plan_id.get());
    let event_key = format!("plan:{}:{row_version}", plan_id.get());
    match (to, comment) {
        (PlanStatus::OnApproval, _) => {
            let Some(superior) = f.superior_id else { return Ok(()) };
            let notice = Notice {
                kind: Kind::PlanSubmitted,
                event_key,
                subject: format!("План-график {} на {} год ожидает согласования", f.org_name, f.year),
                body: format!(
                    "{} направила план-график на {} год на согласование. Откройте его, чтобы утвердить или вернуть на доработку.",
                    f.org_name, f.year
                ),
                link,
            };
            notify(tx, Recipients::OrgRole(superior, Role::Approver), &notice, mail).await?;
        }
        (PlanStatus::Revision, Some(comment)) => {
            let notice = Notice {
                kind: Kind::PlanReturned,
                event_key,
                subject: format!("План-график на {} год возвращён на доработку", f.year),
                body: format!(
                    "Вышестоящая организация вернула план-график {} на {} год на доработку. Комментарий: «{comment}».",
                    f.org_name, f.year
                ),
                link,
            };
            notify(tx, Recipients::OrgRole(f.org_id, Role::CustomerSpecialist), &notice, mail).await?;
        }
        _ => {}
    }
    Ok(())
}

/// Approval of the plan as version `version_number`: to the customer's specialists.
pub(crate) async fn plan_approved(
    tx: &mut Transaction<'static, Any>,
    plan_id: PlanId,
    version_number: i64,
    mail: bool,
) -> Result<()> {
    let f = plan_facts(tx, plan_id).await?;
    let notice = Notice {
        kind: Kind::PlanApproved,
        event_key: format!("plan:{}:version:{version_number}", plan_id.get()),
        subject: format!("План-график на {} год утверждён (версия {version_number})", f.year),
        body: format!(
            "План-график {} на {} год утверждён; создана версия {version_number}. Её можно отправить на ООС.",
            f.org_name, f.year
        ),
        link: format!("/plans/{}", plan_id.get()),
    };
    notify(tx, Recipients::OrgRole(f.org_id, Role::CustomerSpecialist), &notice, mail).await?;
    Ok(())
}

/// What the events about a send say of it.
struct SendFacts {
    requested_by: UserId,
    version_id: i64,
    version_number: i64,
    year: i64,
    org_name: String,
    created_at: Time,
    status: domain::SendStatus,
}

async fn send_facts(tx: &mut Transaction<'static, Any>, send_id: SendId) -> Result<SendFacts> {
    let r = sqlx::query(
        "SELECT s.requested_by, s.version_id, s.created_at, s.status, v.version_number, p.plan_year, o.short_name \
         FROM eis_sends s JOIN plan_versions v ON v.id = s.version_id JOIN plans p ON p.id = v.plan_id \
         JOIN organizations o ON o.id = p.org_id WHERE s.id = $1",
    )
    .bind(send_id.get())
    .fetch_one(&mut **tx)
    .await?;
    let status: String = r.try_get("status")?;
    Ok(SendFacts {
        requested_by: UserId(r.try_get("requested_by")?),
        version_id: r.try_get("version_id")?,
        version_number: r.try_get("version_number")?,
        year: r.try_get("plan_year")?,
        org_name: r.try_get("short_name")?,
        created_at: time_at(&r, "created_at")?,
        status: domain::SendStatus::from_code(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("send status {status}")))?,
    })
}

/// A send's new state, when it is one the sender is told of: loaded, rejected (with the count
/// of ЕИС's violations), placed (with the plan's registry number), refused for authorization.
pub(crate) async fn send_state(
    tx: &mut Transaction<'static, Any>,
    send_id: SendId,
    status: domain::SendStatus,
    violations: usize,
    plan_number: Option<&str>,
    mail: bool,
) -> Result<()> {
    use domain::SendStatus;
    let kind = match status {
        SendStatus::Loaded => Kind::SendLoaded,
        SendStatus::Rejected => Kind::SendRejected,
        SendStatus::Published => Kind::SendPublished,
        SendStatus::AuthError => Kind::SendAuthRefused,
        _ => return Ok(()),
    };
    let f = send_facts(tx, send_id).await?;
    let what = format!("версию {} плана-графика {} на {} год", f.version_number, f.org_name, f.year);
    let (subject, body) = match kind {
        Kind::SendLoaded => (
            format!("ЕИС загрузила план-график на {} год (версия {})", f.year, f.version_number),
            format!(
                "ЕИС загрузила {what} в личный кабинет заказчика как проект. Разместите его в ЕИС; plangraf следит за размещением."
            ),
        ),
        Kind::SendRejected => (
            format!("ЕИС отклонила план-график на {} год (версия {}): ошибок {violations}", f.year, f.version_number),
            format!(
                "ЕИС отклонила {what}: ошибок {violations}. Замечания ЕИС — на странице состояния отправки; исправьте план-график и отправьте новую версию."
            ),
        ),
        Kind::SendPublished => (
            format!("ЕИС разместила план-график на {} год (версия {})", f.year, f.version_number),
            format!(
                "ЕИС разместила {what}{}.",
                plan_number.map(|n| format!("; реестровый номер плана-графика {n}")).unwrap_or_default()
            ),
        ),
        _ => (
            format!(
                "ЕИС отказала в авторизации: план-график на {} год (версия {}) не отправлен",
                f.year, f.version_number
            ),
            format!(
                "ЕИС не приняла логин и пароль, с которыми отправлялась {what}. Проверьте их на странице «Регистрационные данные в ЕИС» и отправьте версию снова."
            ),
        ),
    };
    let notice = Notice {
        kind,
        event_key: format!("send:{}", send_id.get()),
        subject,
        body,
        link: format!("/versions/{}/status", f.version_id),
    };
    notify(tx, Recipients::User(f.requested_by), &notice, mail).await?;
    Ok(())
}

/// A send waiting for ЕИС's verdict whose silence is reported.
#[derive(Debug, Clone)]
pub struct SilentSend {
    pub send_id: SendId,
    pub requested_by: UserId,
}

/// Whether ЕИС answers: the exchange's calls to ЕИС that failed in a row, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EisAvailability {
    pub consecutive_failures: i64,
    pub failing_since: Option<Time>,
}

/// After this many failed calls to ЕИС in a row, with none answered in between, every page
/// says «ЕИС недоступна».
pub const EIS_DOWN_AFTER_FAILURES: i64 = 5;

/// A notification as the list shows it.
#[derive(Debug, Clone)]
pub struct Notification {
    pub id: i64,
    pub kind: Option<Kind>,
    pub subject: String,
    pub body: String,
    pub link: String,
    pub created_at: Time,
    pub read_at: Option<Time>,
}

/// A message of the e-mail outbox, claimed by a sender.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    pub attempts: i64,
}

/// A user's choice for one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preference {
    pub kind: Kind,
    pub in_app: bool,
    pub email: bool,
}

impl Store {
    /// Turns the e-mail outbox on (SMTP is configured): from now on notifications are also
    /// queued for mailing to the recipients who want them. Off, nothing is queued.
    pub fn set_mail_outbox(&self, on: bool) {
        self.mail.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether notifications are queued for e-mail (SMTP is configured).
    pub fn mail_outbox(&self) -> bool {
        self.mail.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The unread notifications the user sees in the application.
    pub async fn unread_notifications(&self, user: UserId) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND in_app = 1 AND read_at IS NULL",
        )
        .bind(user.get())
        .fetch_one(self.pool())
        .await?)
    }

    /// One page of the user's notifications, newest first, and whether there are more.
    pub async fn notifications(&self, user: UserId, offset: i64, limit: i64) -> Result<(Vec<Notification>, bool)> {
        let rows = sqlx::query(
            "SELECT id, kind, subject, body, link, created_at, read_at FROM notifications \
             WHERE user_id = $1 AND in_app = 1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        )
        .bind(user.get())
        .bind(limit + 1)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        let more = rows.len() as i64 > limit;
        let list = rows
            .iter()
            .take(limit as usize)
            .map(|r| {
                Ok(Notification {
                    id: r.try_get("id")?,
                    kind: Kind::from_code(&r.try_get::<String, _>("kind")?),
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    link: r.try_get("link")?,
                    created_at: time_at(r, "created_at")?,
                    read_at: time_opt(r, "read_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((list, more))
    }

    /// Marks one of the user's notifications read; false when the user has no such one.
    pub async fn mark_notification_read(&self, user: UserId, id: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE notifications SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND user_id = $3 AND in_app = 1",
        )
        .bind(now_ms())
        .bind(id)
        .bind(user.get())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks all the user's notifications read; returns how many were unread.
    pub async fn mark_all_notifications_read(&self, user: UserId) -> Result<u64> {
        let done = sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL")
            .bind(now_ms())
            .bind(user.get())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// The user's choices, one per kind (both channels where the user chose nothing).
    pub async fn notification_preferences(&self, user: UserId) -> Result<Vec<Preference>> {
        let rows = sqlx::query("SELECT kind, in_app, email FROM notification_preferences WHERE user_id = $1")
            .bind(user.get())
            .fetch_all(self.pool())
            .await?;
        let mut chosen = std::collections::HashMap::new();
        for r in &rows {
            if let Some(kind) = Kind::from_code(&r.try_get::<String, _>("kind")?) {
                chosen.insert(kind, (r.try_get::<i64, _>("in_app")? != 0, r.try_get::<i64, _>("email")? != 0));
            }
        }
        Ok(Kind::ALL
            .into_iter()
            .map(|kind| {
                let (in_app, email) = chosen.get(&kind).copied().unwrap_or((true, true));
                Preference { kind, in_app, email }
            })
            .collect())
    }

    /// Saves the user's e-mail address (`None` clears it) and choices, in one transaction.
    pub async fn save_notification_settings(
        &self,
        user: UserId,
        email: Option<&str>,
        preferences: &[Preference],
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE users SET email = $1 WHERE id = $2").bind(email).bind(user.get()).execute(&mut *tx).await?;
        for p in preferences {
            sqlx::query(
                "INSERT INTO notification_preferences (user_id, kind, in_app, email) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, kind) DO UPDATE SET in_app = excluded.in_app, email = excluded.email",
            )
            .bind(user.get())
            .bind(p.kind.code())
            .bind(i64::from(p.in_app))
            .bind(i64::from(p.email))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user's e-mail address, if set.
    pub async fn user_email(&self, user: UserId) -> Result<Option<String>> {
        let email: Option<Option<String>> = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
            .bind(user.get())
            .fetch_optional(self.pool())
            .await?;
        Ok(email.flatten())
    }

    /// Takes one message due by `now` from the e-mail outbox for `worker`, for `lease_ms`: no
    /// other sender takes it meanwhile.
    pub async fn claim_mail(&self, worker: &str, now: Time, lease_ms: i64) -> Result<Option<OutgoingMail>> {
        let now = ms(now);
        // The outer conditions repeat the inner ones: on PostgreSQL a row another sender claimed
        // meanwhile is checked again after its lock and no longer matches.
        let row = sqlx::query(
            "UPDATE notifications SET mail_locked_by = $1, mail_locked_until = $2 WHERE id = \
             (SELECT id FROM notifications WHERE mail_state = 'pending' AND mail_next_at <= $3 \
              AND (mail_locked_until IS NULL OR mail_locked_until < $3) ORDER BY mail_next_at, id LIMIT 1) \
             AND mail_state = 'pending' AND (mail_locked_until IS NULL OR mail_locked_until < $3) \
             RETURNING id, mail_to, subject, body, link, mail_attempts",
        )
        .bind(worker)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(OutgoingMail {
                id: r.try_get("id")?,
                to: r.try_get::<Option<String>, _>("mail_to")?.unwrap_or_default(),
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                link: r.try_get("link")?,
                attempts: r.try_get("mail_attempts")?,
            })
        })
        .transpose()
    }

    /// Records that the SMTP server accepted a claimed message.
    pub async fn mail_sent(&self, id: i64, worker: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE notifications SET mail_state = 'sent', mail_sent_at = $1, mail_attempts = mail_attempts + 1, \
             mail_error = NULL, mail_locked_by = NULL, mail_locked_until = NULL WHERE id = $2 AND mail_locked_by = $3",
        )
        .bind(now_ms())
        .bind(id)
        .bind(worker)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt: tried again at `retry_at`, or given up (`None`).
    pub async fn mail_failed(&self, id: i64, worker: &str, error: &str, retry_at: Option<Time>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE notifications SET mail_state = $1, mail_next_at = $2, mail_attempts = mail_attempts + 1, \
             mail_error = $3, mail_locked_by = NULL, mail_locked_until = NULL WHERE id = $4 AND mail_locked_by = $5",
        )
        .bind(if retry_at.is_some() { "pending" } else { "failed" })
        .bind(retry_at.map(ms))
        .bind(error)
        .bind(id)
        .bind(worker)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The state of the e-mail of one notification: (state, attempts, last error), for tests and
    /// the operator.
    pub async fn mail_state(&self, id: i64) -> Result<Option<(Option<String>, i64, Option<String>)>> {
        let row = sqlx::query("SELECT mail_state, mail_attempts, mail_error FROM notifications WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((r.try_get("mail_state")?, r.try_get("mail_attempts")?, r.try_get("mail_error")?))).transpose()
    }

    /// Reports, once each, the sends still waiting for ЕИС's verdict (queued or in processing)
    /// that were requested before `requested_before`: a notification to the sender and to every
    /// administrator. At most `limit` sends per call; returns those reported.
    pub async fn report_silent_sends(&self, requested_before: Time, limit: i64) -> Result<Vec<SilentSend>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM eis_sends WHERE status IN ('queued', 'processing') AND created_at < $1 \
             AND silence_reported_at IS NULL ORDER BY id LIMIT $2",
        )
        .bind(ms(requested_before))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut reported = Vec::new();
        for id in ids {
            let mut tx = self.write_tx().await?;
            let now = now_ms();
            let done = sqlx::query(
                "UPDATE eis_sends SET silence_reported_at = $1 WHERE id = $2 AND silence_reported_at IS NULL \
                 AND status IN ('queued', 'processing')",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                continue;
            }
            let send_id = SendId(id);
            let f = send_facts(&mut tx, send_id).await?;
            let waited = (now - ms(f.created_at)).max(0) / 60_000;
            let notice = Notice {
                kind: Kind::EisSilent,
                event_key: format!("send:{id}"),
                subject: format!(
                    "ЕИС не отвечает на отправку плана-графика {} на {} год (версия {})",
                    f.org_name, f.year, f.version_number
                ),
                body: format!(
                    "Версия {} плана-графика {} на {} год отправлена в ЕИС {}, и окончательного ответа ЕИС нет уже {waited} мин. \
                     Состояние отправки: «{}». plangraf продолжает обмен сам; повторно отправлять не нужно.",
                    f.version_number,
                    f.org_name,
                    f.year,
                    domain::format::date_time_ru(f.created_at),
                    f.status.title()
                ),
                link: format!("/versions/{}/status", f.version_id),
            };
            let mail = self.mail_outbox();
            notify(&mut tx, Recipients::User(f.requested_by), &notice, mail).await?;
            notify(&mut tx, Recipients::Admins, &notice, mail).await?;
            tx.commit().await?;
            reported.push(SilentSend { send_id, requested_by: f.requested_by });
        }
        Ok(reported)
    }

    /// Tells, once each, the holders of bound certificates whose validity ends before `until`
    /// (and has not ended yet) that it ends soon — unless the holder has bound one that lasts
    /// beyond `until` already. At most `limit` per call; answers how many.
    pub async fn report_expiring_certificates(&self, until: Time, limit: i64) -> Result<usize> {
        let now = now_ms();
        let rows = sqlx::query(
            "SELECT id, user_id, thumbprint, subject_name, issuer, not_after FROM user_certificates \
             WHERE expiry_notified_at IS NULL AND not_after > $1 AND not_after <= $2 \
             AND NOT EXISTS (SELECT 1 FROM user_certificates r WHERE r.user_id = user_certificates.user_id \
             AND r.not_after > $2) ORDER BY not_after LIMIT $3",
        )
        .bind(now)
        .bind(ms(until))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut told = 0;
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let mut tx = self.write_tx().await?;
            let done = sqlx::query(
                "UPDATE user_certificates SET expiry_notified_at = $1 WHERE id = $2 AND expiry_notified_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                continue;
            }
            let thumbprint: String = r.try_get("thumbprint")?;
            let ends = crate::time_at(&r, "not_after")?;
            let notice = Notice {
                kind: Kind::CertificateExpiring,
                event_key: format!("certificate:{thumbprint}"),
                subject: format!("Сертификат ЭЦП действует до {}", domain::format::date_time_ru(ends)),
                body: format!(
                    "Срок действия вашего сертификата ЭЦП ({}, выдан «{}», отпечаток {thumbprint}) заканчивается {}. \
                     После этого входить и подписывать им нельзя. Получите новый сертификат в удостоверяющем центре \
                     и привяжите его в «Настройки» → «Сертификаты ЭЦП»: старый и новый могут быть привязаны одновременно.",
                    r.try_get::<String, _>("subject_name")?,
                    r.try_get::<String, _>("issuer")?,
                    domain::format::date_time_ru(ends)
                ),
                link: "/settings/certificates".into(),
            };
            notify(&mut tx, Recipients::User(UserId(r.try_get("user_id")?)), &notice, self.mail_outbox()).await?;
            tx.commit().await?;
            told += 1;
        }
        Ok(told)
    }

    /// Records one call of the exchange to ЕИС: answered (`true`, whatever ЕИС said) or not
    /// (no connection, a server error, an unreadable reply).
    pub async fn record_eis_call(&self, answered: bool) -> Result<()> {
        let sql = if answered {
            "UPDATE eis_availability SET consecutive_failures = 0, failing_since = NULL, updated_at = $1 \
             WHERE id = 1 AND consecutive_failures <> 0"
        } else {
            "UPDATE eis_availability SET consecutive_failures = consecutive_failures + 1, \
             failing_since = COALESCE(failing_since, $1), updated_at = $1 WHERE id = 1"
        };
        sqlx::query(sql).bind(now_ms()).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn eis_availability(&self) -> Result<EisAvailability> {
        let r = sqlx::query("SELECT consecutive_failures, failing_since FROM eis_availability WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        Ok(EisAvailability {
            consecutive_failures: r.try_get("consecutive_failures")?,
            failing_since: time_opt(&r, "failing_since")?,
        })
    }
}

/// The banner stays only while the failures are this recent: with no call to ЕИС since (no send
/// waiting), nothing says ЕИС is still down. The runner calls at least every minute while a
/// send waits (`ExchangeConfig::retry_max`).
pub const EIS_DOWN_FRESH_MS: i64 = 15 * 60_000;

/// Since when ЕИС counts as unavailable at `now`, from what the session query read.
pub(crate) fn down_since(failures: Option<i64>, since: Option<i64>, updated_at: Option<i64>, now: i64) -> Option<Time> {
    match (failures, since, updated_at) {
        (Some(n), Some(at), Some(last)) if n >= EIS_DOWN_AFTER_FAILURES && now - last <= EIS_DOWN_FRESH_MS => {
            Some(time(at))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eis_is_down_after_enough_recent_failures() {
        let now = 10 * EIS_DOWN_FRESH_MS;
        let since = now - 120_000;
        assert_eq!(down_since(Some(EIS_DOWN_AFTER_FAILURES), Some(since), Some(now - 1000), now), Some(time(since)));
        assert_eq!(down_since(Some(EIS_DOWN_AFTER_FAILURES - 1), Some(since), Some(now - 1000), now), None);
        // No failing call for longer than the window: nothing says ЕИС is still down.
        assert_eq!(down_since(Some(50), Some(since), Some(now - EIS_DOWN_FRESH_MS - 1), now), None);
        assert_eq!(down_since(None, None, None, now), None);
    }
}
