//! Notifications by e-mail against a real SMTP server on loopback (aiosmtpd, started and
//! stopped by the test): every event's message is received and read as a mail client reads it.
//! Without aiosmtpd the tests say so and pass, unless PLANGRAF_REQUIRE_SMTP=1 (CI) makes its
//! absence a failure. The interpreter is PLANGRAF_TEST_PYTHON (CI's venv) or python3.

use crate::common::*;
use domain::ids::UserId;
use serde_json::Value;
use std::time::Duration;
use store::notify::{Kind, Preference};
use tokio::io::{AsyncBufReadExt, BufReader};

pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: tokio::process::Child,
}

impl SmtpSink {
    /// Starts the server, or `None` (the test is skipped) when aiosmtpd is not installed.
    pub async fn start() -> Option<SmtpSink> {
        let python = std::env::var("PLANGRAF_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let installed = std::process::Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !installed {
            assert!(
                std::env::var("PLANGRAF_REQUIRE_SMTP").as_deref() != Ok("1"),
                "PLANGRAF_REQUIRE_SMTP=1, but {python} cannot import aiosmtpd (pip install aiosmtpd)"
            );
            eprintln!("SKIPPED: e-mail test (no aiosmtpd for {python}; pip install aiosmtpd)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/smtp_sink.py");
        let mut child = tokio::process::Command::new(&python)
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        assert!(matches!(ready, Ok(Ok(Some(ref l))) if l == "ready"), "the SMTP server did not start: {ready:?}");
        Some(SmtpSink { port, dir, child })
    }

    /// Every message received so far, in order.
    pub fn received(&self) -> Vec<Value> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
    }

    /// Waits (up to 30 s) for the message to `to` whose subject holds `subject`, and checks it
    /// is a Russian message in plain text and HTML with the absolute link to `path`.
    pub async fn expect(&self, to: &str, subject: &str, path: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let found = loop {
            let all = self.received();
            if let Some(m) = all.iter().find(|m| {
                m["rcpt_tos"].as_array().is_some_and(|r| r.iter().any(|a| a == to))
                    && m["subject"].as_str().is_some_and(|s| s.contains(subject))
            }) {
                break m.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no message to {to} about «{subject}»; received: {:#?}",
                all.iter().map(|m| (m["rcpt_tos"].clone(), m["subject"].clone())).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(found["to"], to, "{found:#}");
        assert!(found["from"].as_str().unwrap().contains("plangraf@region.example.ru"), "{found:#}");
        assert_eq!(found["content_type"], "multipart/alternative", "{found:#}");
        assert_eq!(found["parts"], serde_json::json!(["text/plain", "text/html"]), "{found:#}");
        let url = format!("{PUBLIC_URL}{path}");
        let plain = found["plain"].as_str().unwrap();
        let html = found["html"].as_str().unwrap();
        assert!(plain.contains(&format!("Открыть в plangraf: {url}\n")), "{plain}");
        assert!(html.contains(&format!("<a href=\"{url}\">Открыть в plangraf</a>")), "{html}");
        assert!(plain.contains(subject) && html.contains("<html lang=\"ru\">"), "{plain}\n{html}");
        assert!(plain.contains("Выбрать, о чём и как получать уведомления"), "{plain}");
        found
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // Closing its standard input stops it; kill_on_drop is the backstop.
        drop(self.child.stdin.take());
        let _ = self.child.start_kill();
    }
}

pub const PUBLIC_URL: &str = "https://plangraf.region.example.ru";

/// plangraf mailing through the sink, retrying quickly.
pub fn mail_to(port: u16) -> mail::MailConfig {
    let mut m = mail::MailConfig::new("127.0.0.1", "plangraf <plangraf@region.example.ru>", format!("{PUBLIC_URL}/"));
    m.port = port;
    m.security = mail::Security::None;
    m.retry_delays = vec![Duration::from_millis(20), Duration::from_millis(20)];
    m.poll_interval = Duration::from_millis(50);
    m.timeout = Duration::from_secs(5);
    m
}

/// Gives the user `login` the address `email`, every kind by mail and in the application.
pub async fn set_email(h: &Harness, login: &str, email: &str) -> UserId {
    let id = h.app.store.user_by_login(login).await.unwrap().unwrap().id;
    let all: Vec<Preference> =
        Kind::ALL.into_iter().map(|kind| Preference { kind, in_app: true, email: true }).collect();
    h.app.store.save_notification_settings(id, Some(email), &all).await.unwrap();
    id
}

const CUSTOMER: &str = "zakazchik@school1.example.ru";
const APPROVER: &str = "soglasovatel@komitet.example.ru";

#[tokio::test]
async fn every_event_is_mailed_in_russian_with_its_link() {
    let Some(sink) = SmtpSink::start().await else { return };
    let h = Harness::start_driven_configured(|c| c.notify.mail = Some(mail_to(sink.port))).await;
    set_email(&h, "zakazchik", CUSTOMER).await;
    set_email(&h, "soglasovatel", APPROVER).await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let settings = customer.get("/settings/notifications").await;
    assert!(!settings.has("Отправка писем на этом сервере не настроена"), "{}", settings.body);
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;

    // Submitted, returned with the comment.
    let plan = customer.create_plan("2026").await;
    customer.add_position(plan, &POSITION).await;
    customer.get(&format!("/plans/{plan}")).await;
    customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    let plan_path = format!("/plans/{plan}");
    let m = sink.expect(APPROVER, "на 2026 год ожидает согласования", &plan_path).await;
    assert!(m["plain"].as_str().unwrap().contains("направила план-график на 2026 год на согласование"), "{m:#}");
    approver.get(&plan_path).await;
    approver.post(&format!("{plan_path}/return"), &[("comment", "Уточните сумму учебников")]).await;
    let m = sink.expect(CUSTOMER, "План-график на 2026 год возвращён на доработку", &plan_path).await;
    assert!(m["plain"].as_str().unwrap().contains("Комментарий: «Уточните сумму учебников»"), "{m:#}");
    assert!(m["html"].as_str().unwrap().contains("Комментарий: «Уточните сумму учебников»"), "{m:#}");

    // Approved.
    customer.get(&plan_path).await;
    customer.post(&format!("{plan_path}/submit"), &[]).await;
    approver.get(&plan_path).await;
    approver.post(&format!("{plan_path}/approve"), &[]).await;
    sink.expect(CUSTOMER, "План-график на 2026 год утверждён (версия 0)", &plan_path).await;
    let version = h.app.store.latest_version_id(domain::ids::PlanId(plan)).await.unwrap().unwrap().get();

    // Loaded, then placed.
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    let status = format!("/versions/{version}/status");
    sink.expect(CUSTOMER, "ЕИС загрузила план-график на 2026 год (версия 0)", &status).await;
    let plan_number = h.sandbox.directory().publish(plangraf::demo::SCHOOL.spz_code, 2026).await.unwrap();
    drive_to_status(&h, &mut customer, version, "Размещена в ЕИС").await;
    let m = sink.expect(CUSTOMER, "ЕИС разместила план-график на 2026 год (версия 0)", &status).await;
    assert!(m["plain"].as_str().unwrap().contains(&plan_number), "{m:#}");

    // Rejected, with the count of violations.
    let (_, v2027) = approved_plan(&h, &mut customer, "2027").await;
    let school = &plangraf::demo::SCHOOL;
    h.sandbox.directory().ensure_organization(school.spz_code, school.name, "7801999990", school.kpp).await.unwrap();
    customer.get(&format!("/versions/{v2027}/send")).await;
    customer.post(&format!("/versions/{v2027}/send"), &[("login", &login), ("password", &password)]).await;
    let page = drive_to_status(&h, &mut customer, v2027, "Отклонена ЕИС").await;
    let violations = page.body.matches("title=\"Код ошибки ЕИС:").count();
    assert!(violations >= 1);
    sink.expect(
        CUSTOMER,
        &format!("ЕИС отклонила план-график на 2027 год (версия 0): ошибок {violations}"),
        &format!("/versions/{v2027}/status"),
    )
    .await;

    // Refused for authorization, and the credentials failing.
    let (_, v2028) = approved_plan(&h, &mut customer, "2028").await;
    customer.save_eis_credentials(&login, &password).await;
    h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{v2028}/send")).await;
    customer.post(&format!("/versions/{v2028}/send"), &[("login", &login), ("password", "")]).await;
    drive_to_status(&h, &mut customer, v2028, "Ошибка авторизации").await;
    sink.expect(
        CUSTOMER,
        "ЕИС отказала в авторизации: план-график на 2028 год (версия 0) не отправлен",
        &format!("/versions/{v2028}/status"),
    )
    .await;
    let m = sink.expect(CUSTOMER, "ЕИС не принимает ваши регистрационные данные", "/settings/eis").await;
    assert!(!m["plain"].as_str().unwrap().contains(&password), "no password in a message");

    // Each event once: 2026 submitted twice (two rounds), returned, approved, loaded, placed;
    // 2027 and 2028 submitted and approved; rejected; refused; credentials.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = sink.received();
    let to_approver = all.iter().filter(|m| m["to"] == APPROVER).count();
    let to_customer = all.iter().filter(|m| m["to"] == CUSTOMER).count();
    assert_eq!(
        (to_approver, to_customer),
        (4, 9),
        "{:#?}",
        all.iter().map(|m| m["subject"].clone()).collect::<Vec<_>>()
    );
    h.app.stop().await;
}

#[tokio::test]
async fn a_failing_smtp_server_fails_no_event_and_is_retried_a_bounded_number_of_times() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let h = Harness::start_driven_configured(|c| c.notify.mail = Some(mail_to(port))).await;
    let approver_id = set_email(&h, "soglasovatel", APPROVER).await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2026").await;
    customer.add_position(plan, &POSITION).await;
    customer.get(&format!("/plans/{plan}")).await;
    let p = customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    assert!(p.has("На согласовании"), "the event stands whatever SMTP does: {}", p.body);
    let (list, _) = h.app.store.notifications(approver_id, 0, 10).await.unwrap();
    assert_eq!(list.len(), 1, "still shown in the application");
    let id = list[0].id;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (state, attempts, error) = h.app.store.mail_state(id).await.unwrap().unwrap();
        if state.as_deref() == Some("failed") {
            assert_eq!(attempts, 3, "the first attempt and the two retries configured");
            assert!(error.is_some_and(|e| !e.is_empty()));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not given up: {state:?} after {attempts}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    h.app.stop().await;
}

/// «ЕИС молчит»: a send ЕИС keeps in processing longer than configured is reported to its sender
/// and the administrators, once, in the application and by mail.
#[tokio::test]
async fn a_send_eis_leaves_unanswered_is_reported_once_to_the_sender_and_the_administrators() {
    let sink = SmtpSink::start().await;
    let h = Harness::start_driven_configured(|c| {
        c.notify.mail = sink.as_ref().map(|s| mail_to(s.port));
        c.notify.eis_silent_after = Duration::from_secs(1);
    })
    .await;
    set_email(&h, "zakazchik", CUSTOMER).await;
    set_email(&h, "admin", "admin@region.example.ru").await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;
    h.sandbox.set_faults(sandbox::Faults { stuck_processing: true, ..Default::default() });
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    drive_until(&h, &[domain::ids::VersionId(version)], "Отправлена, обрабатывается в ЕИС").await;
    // Asked again, ЕИС still says `processing`.
    assert!(h.app.exchange.run_next_within(Duration::from_secs(3600)).await.unwrap());
    let status = format!("/versions/{version}/status");
    let subject = "ЕИС не отвечает на отправку плана-графика ГБОУ «Школа № 1» на 2026 год (версия 0)";
    let mut admin = h.client();
    admin.login("admin", "admin").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for client in [&mut customer, &mut admin] {
        loop {
            let list = client.get("/notifications").await;
            if list.has(subject) {
                assert!(list.has(&format!("href=\"{status}\"")), "{}", list.body);
                assert!(list.has("окончательного ответа ЕИС нет уже"), "{}", list.body);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "not reported: {}", list.body);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The approver, who neither sent it nor administers, is not told.
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    assert!(!approver.get("/notifications").await.has(subject));
    if let Some(sink) = &sink {
        let m = sink.expect(CUSTOMER, subject, &status).await;
        assert!(m["plain"].as_str().unwrap().contains("повторно отправлять не нужно"), "{m:#}");
        sink.expect("admin@region.example.ru", subject, &status).await;
    }
    // Once: several more rounds of the watcher add nothing.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let list = customer.get("/notifications").await;
    assert_eq!(list.body.matches(subject).count(), 1, "{}", list.body);
    if let Some(sink) = &sink {
        let silent =
            sink.received().iter().filter(|m| m["subject"].as_str().is_some_and(|s| s.contains(subject))).count();
        assert_eq!(silent, 2, "one to the sender, one to the administrator");
    }
    h.sandbox.directory().release_stuck().await.unwrap();
    h.app.stop().await;
}
