//! Notifications by e-mail: the background sender that works the outbox the store fills with
//! every notification a recipient wants mailed (`store::notify`), over SMTP.
//!
//! A message is claimed with a lease, sent, and marked sent only by the sender that still holds
//! the lease, so two instances do not send one message twice, and an event never waits for or
//! fails with the SMTP server: it only wrote its row. A failed attempt is tried again after a
//! growing delay, a bounded number of times ([`MailConfig::retry_delays`]), then marked failed
//! with the last error. The SMTP password is a [`Secret`]: never logged, never in an error.

use domain::secret::Secret;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use store::notify::OutgoingMail;
use store::{Store, StoreError};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (usually port 465).
    Tls,
    /// Plain, then STARTTLS, required (usually port 587).
    StartTls,
    /// No encryption: only for a relay on the same machine or a trusted network.
    None,
}

impl Security {
    pub fn parse(s: &str) -> Option<Security> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tls" => Some(Security::Tls),
            "starttls" => Some(Security::StartTls),
            "none" => Some(Security::None),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct MailConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The sender's address (`From`), e.g. `plangraf@region.example.ru` or
    /// `plangraf <plangraf@region.example.ru>`.
    pub from: String,
    /// plangraf's address as its users open it, e.g. `https://plangraf.region.example.ru`: the
    /// links in the messages start with it.
    pub public_url: String,
    /// The delays before the second, third … attempt; after the last one fails the message is
    /// given up. Its length bounds the attempts.
    pub retry_delays: Vec<Duration>,
    /// How often the outbox is looked at when it was empty.
    pub poll_interval: Duration,
    /// For one SMTP conversation.
    pub timeout: Duration,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl MailConfig {
    /// The usual settings for `host`: STARTTLS on 587, retries after 1, 5, 15, 60 and 180
    /// minutes (six attempts in about four and a half hours), the outbox looked at every 5 s.
    pub fn new(host: impl Into<String>, from: impl Into<String>, public_url: impl Into<String>) -> MailConfig {
        MailConfig {
            host: host.into(),
            port: 587,
            security: Security::StartTls,
            username: None,
            password: None,
            from: from.into(),
            public_url: public_url.into(),
            retry_delays: [1, 5, 15, 60, 180].into_iter().map(|m| Duration::from_secs(m * 60)).collect(),
            poll_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("PLANGRAF_SMTP_FROM is not an e-mail address: {0}")]
    From(String),
    #[error(
        "PLANGRAF_PUBLIC_URL must be an http:// or https:// address without spaces or quotes, e.g. https://plangraf.region.example.ru"
    )]
    PublicUrl,
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The sender of the outbox.
#[derive(Clone)]
pub struct Mailer {
    store: Store,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
    retry_delays: Vec<Duration>,
    poll_interval: Duration,
    lease: Duration,
    worker: String,
    /// Counts each e-mail handed to the server (`plangraf_notifications_sent_total`).
    metrics: Option<metrics::Metrics>,
}

/// A message as sent: subject, plain text and HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub plain: String,
    pub html: String,
}

/// The public base URL without a trailing slash, if it is one.
pub fn public_base(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let clean = !rest.is_empty()
        && !rest.starts_with('/')
        && url.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`'));
    clean.then(|| url.to_owned())
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The message of a notification, in Russian, plain and HTML, with the absolute link to the
/// page concerned (`base` from [`public_base`]).
pub fn compose(mail: &OutgoingMail, base: &str) -> Composed {
    // Only a path of plangraf becomes a link.
    let path = if mail.link.starts_with('/') && !mail.link.starts_with("//") { mail.link.as_str() } else { "/" };
    let url = format!("{base}{path}");
    let settings = format!("{base}/settings/notifications");
    let plain = format!(
        "{}\n\n{}\n\nОткрыть в plangraf: {url}\n\n--\nЭто письмо plangraf отправил автоматически; отвечать на него не нужно.\n\
         Выбрать, о чём и как получать уведомления: {settings}\n",
        mail.subject, mail.body
    );
    let html = format!(
        "<!doctype html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{subject}</title></head>\n\
         <body style=\"font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222\">\n\
         <h2 style=\"font-size:16px\">{subject}</h2>\n<p>{body}</p>\n\
         <p><a href=\"{url_attr}\">Открыть в plangraf</a></p>\n\
         <hr><p style=\"color:#666;font-size:12px\">Это письмо plangraf отправил автоматически; отвечать на него не нужно. \
         Выбрать, о чём и как получать уведомления: <a href=\"{settings_attr}\">«Настройки уведомлений»</a>.</p>\n</body></html>\n",
        subject = escape_html(&mail.subject),
        body = escape_html(&mail.body),
        url_attr = escape_html(&url),
        settings_attr = escape_html(&settings),
    );
    Composed { subject: mail.subject.clone(), plain, html }
}

/// Keeps an error short for the outbox row and the log.
fn short(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    let mut cut: String = text.chars().take(500).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

impl Mailer {
    pub fn new(store: Store, config: &MailConfig) -> Result<Mailer, MailError> {
        let from: Mailbox = config.from.parse().map_err(|_| MailError::From(config.from.clone()))?;
        let public_url = public_base(&config.public_url).ok_or(MailError::PublicUrl)?;
        let builder = match config.security {
            Security::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(|e| MailError::Smtp(short(&e)))?
            }
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(|e| MailError::Smtp(short(&e)))?,
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let Some(user) = &config.username {
            let password = config.password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let worker = format!("mail-{:016x}", rand::random::<u64>());
        Ok(Mailer {
            store,
            transport: builder.build(),
            from,
            public_url,
            retry_delays: config.retry_delays.clone(),
            poll_interval: config.poll_interval,
            // Longer than one SMTP conversation can take.
            lease: config.timeout * 4,
            worker,
            metrics: None,
        })
    }

    /// Counts the e-mails sent on these metrics.
    pub fn with_metrics(mut self, metrics: metrics::Metrics) -> Mailer {
        self.metrics = Some(metrics);
        self
    }

    /// Hands one message to the SMTP server. Every e-mail plangraf sends goes through here.
    pub async fn deliver(&self, to: &str, message: &Composed) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|e| MailError::Smtp(format!("the recipient's address: {}", short(&e))))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .multipart(MultiPart::alternative_plain_html(message.plain.clone(), message.html.clone()))
            .map_err(|e| MailError::Smtp(short(&e)))?;
        self.transport.send(email).await.map_err(|e| MailError::Smtp(short(&e)))?;
        if let Some(m) = &self.metrics {
            m.notification_sent(metrics::Channel::Email);
        }
        Ok(())
    }

    /// Claims and sends one due message of the outbox; returns whether there was one. A failed
    /// send is recorded on the message (tried again later, or given up), not returned.
    pub async fn send_one(&self) -> Result<bool, MailError> {
        let lease = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        let Some(mail) = self.store.claim_mail(&self.worker, store::now(), lease).await? else {
            return Ok(false);
        };
        let message = compose(&mail, &self.public_url);
        match self.deliver(&mail.to, &message).await {
            Ok(()) => {
                self.store.mail_sent(mail.id, &self.worker).await?;
                tracing::info!(notification = mail.id, "notification e-mailed");
            }
            Err(e) => {
                // `attempts` counts the attempts before this one.
                let delay = usize::try_from(mail.attempts).ok().and_then(|n| self.retry_delays.get(n));
                let retry_at = delay.map(|d| store::now() + chrono::TimeDelta::from_std(*d).unwrap_or_default());
                let error = short(&e);
                self.store.mail_failed(mail.id, &self.worker, &error, retry_at).await?;
                if retry_at.is_some() {
                    tracing::warn!(notification = mail.id, error = %error, "e-mail not sent; will retry");
                } else {
                    tracing::error!(notification = mail.id, error = %error, "e-mail not sent; given up");
                }
            }
        }
        Ok(true)
    }

    /// Sends every due message, one after another; returns how many were worked.
    pub async fn send_due(&self) -> Result<usize, MailError> {
        let mut n = 0;
        while self.send_one().await? {
            n += 1;
        }
        Ok(n)
    }

    /// Works the outbox in a task until it is aborted.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.send_due().await {
                    tracing::error!(error = %e, "e-mail sender: storage failure");
                }
                tokio::time::sleep(self.poll_interval).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(link: &str) -> OutgoingMail {
        OutgoingMail {
            id: 1,
            to: "ivanova@school.example.ru".into(),
            subject: "План-график на 2026 год возвращён на доработку".into(),
            body: "Комментарий: «Уточните <сумму> & сроки».".into(),
            link: link.into(),
            attempts: 0,
        }
    }

    #[test]
    fn messages_carry_the_absolute_link_and_escape_the_text() {
        let base = public_base("https://plangraf.region.example.ru/").unwrap();
        let m = compose(&mail("/plans/7"), &base);
        assert!(m.plain.contains("Открыть в plangraf: https://plangraf.region.example.ru/plans/7"), "{}", m.plain);
        assert!(m.plain.contains("«Уточните <сумму> & сроки»"));
        assert!(m.html.contains("<a href=\"https://plangraf.region.example.ru/plans/7\">Открыть в plangraf</a>"));
        assert!(m.html.contains("«Уточните &lt;сумму&gt; &amp; сроки»"), "{}", m.html);
        // A stored link that is not a path of plangraf leads to its start page.
        let odd = compose(&mail("//evil.example/x"), &base);
        assert!(odd.plain.contains("https://plangraf.region.example.ru/\n"), "{}", odd.plain);
    }

    #[test]
    fn the_public_url_is_checked() {
        assert_eq!(public_base("http://127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
        for bad in ["plangraf.example.ru", "ftp://x", "https://", "https://a b", "https://x\"y", "https:///x"] {
            assert!(public_base(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_password_is_not_in_the_debug_form() {
        let mut c = MailConfig::new("smtp.example.ru", "plangraf@example.ru", "https://plangraf.example.ru");
        c.password = Some(Secret::new("Пароль-SMTP-42"));
        assert!(!format!("{c:?}").contains("Пароль-SMTP-42"));
    }
}
