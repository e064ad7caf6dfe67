//! Notifications in the application: each event reaches its recipients (and no one else) once,
//! with a link to the page concerned; the header counts the unread ones; marking read is the
//! recipient's alone.

use crate::common::*;
use domain::ids::VersionId;

/// The header's unread counter on a page (0 when it shows none).
fn unread(page: &Page) -> i64 {
    let Some(i) = page.body.find("id=\"unread-count\"") else { return 0 };
    let rest = &page.body[i..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find('<').unwrap();
    rest[start..end].trim().parse().unwrap()
}

/// How many rows of the list (first page) carry `subject`.
fn rows_with(list: &Page, subject: &str) -> usize {
    list.body.matches(subject).count()
}

/// The id of the first notification row of the list whose text holds `text`.
fn notification_id(list: &Page, text: &str) -> i64 {
    let at = list.body.find(text).unwrap_or_else(|| panic!("no «{text}» in\n{}", list.body));
    let row = list.body[..at].rfind("id=\"notification-").unwrap();
    let rest = &list.body[row + "id=\"notification-".len()..];
    rest[..rest.find('"').unwrap()].parse().unwrap()
}

#[tokio::test]
async fn plan_events_reach_the_approvers_and_the_customer() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    let mut committee = h.client();
    committee.login("komitet", "komitet").await;
    let mut admin = h.client();
    admin.login("admin", "admin").await;

    let plan = customer.create_plan("2026").await;
    customer.add_position(plan, &POSITION).await;
    let empty = approver.get("/notifications").await;
    assert_eq!(unread(&empty), 0);
    assert!(empty.has("Уведомлений нет"), "{}", empty.body);

    // Submitted: the superior's approver is told, with a link to the plan.
    customer.get(&format!("/plans/{plan}")).await;
    customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    let page = approver.get("/plans").await;
    assert_eq!(unread(&page), 1, "the header counts the new notification");
    let list = approver.get("/notifications").await;
    assert!(list.has("ожидает согласования"), "{}", list.body);
    assert!(list.has(&format!("href=\"/plans/{plan}\"")), "{}", list.body);
    assert!(list.has("Не прочитано"));
    // Nobody else: not the customer who submitted, not a specialist of the superior, not the admin.
    for other in [&mut customer, &mut committee, &mut admin] {
        let l = other.get("/notifications").await;
        assert_eq!(unread(&l), 0, "{}", l.body);
        assert!(!l.has("ожидает согласования"));
    }

    // Returned with the comment: the customer's specialist reads the comment.
    approver.get(&format!("/plans/{plan}")).await;
    let p = approver.post(&format!("/plans/{plan}/return"), &[("comment", "Уточните сумму учебников")]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let list = customer.get("/notifications").await;
    assert_eq!(unread(&list), 1);
    assert!(list.has("возвращён на доработку"), "{}", list.body);
    assert!(list.has("Уточните сумму учебников"), "{}", list.body);

    // Submitted again: a new round, a new notification (the first one is still there).
    customer.get(&format!("/plans/{plan}")).await;
    customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    let list = approver.get("/notifications").await;
    assert_eq!(unread(&list), 2);
    assert_eq!(rows_with(&list, "ожидает согласования"), 2);

    // Approved: the customer is told of version 0.
    approver.get(&format!("/plans/{plan}")).await;
    let p = approver.post(&format!("/plans/{plan}/approve"), &[]).await;
    assert!(p.has("План-график утвержден"), "{}", p.body);
    let list = customer.get("/notifications").await;
    assert_eq!(unread(&list), 2);
    assert!(list.has("утверждён (версия 0)"), "{}", list.body);

    // Marking read is the recipient's alone: the approver cannot reach the customer's.
    let returned = notification_id(&list, "возвращён на доработку");
    approver.get("/notifications").await;
    let p = approver.post(&format!("/notifications/{returned}/read"), &[("page", "1")]).await;
    assert_eq!(p.status, 404, "{}", p.body);
    assert_eq!(unread(&customer.get("/notifications").await), 2);
    // A post without the session's CSRF token changes nothing.
    let p = customer.post_raw(&format!("/notifications/{returned}/read"), &[("page", "1")], None).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert_eq!(unread(&customer.get("/notifications").await), 2);
    // The customer marks it read: the counter drops, the row says so.
    let p = customer.post(&format!("/notifications/{returned}/read"), &[("page", "1")]).await;
    assert_eq!(p.status, 200);
    assert_eq!(unread(&p), 1, "{}", p.body);
    assert!(p.has(&format!("id=\"notification-{returned}\" class=\"read\"")), "{}", p.body);
    // «Отметить все как прочитанные».
    let p = customer.post("/notifications/read-all", &[]).await;
    assert_eq!(unread(&p), 0);
    assert!(p.has("Уведомления отмечены как прочитанные"));
    assert!(!p.has("Не прочитано"));
    // The approver's are untouched.
    assert_eq!(unread(&approver.get("/notifications").await), 2);
    h.app.stop().await;
}

#[tokio::test]
async fn send_events_reach_the_sender_once() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;
    customer.get("/notifications").await;
    customer.post("/notifications/read-all", &[]).await;

    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    let list = customer.get("/notifications").await;
    assert_eq!(unread(&list), 1, "{}", list.body);
    assert!(list.has("ЕИС загрузила план-график на 2026 год (версия 0)"), "{}", list.body);
    assert!(list.has(&format!("href=\"/versions/{version}/status\"")), "{}", list.body);

    // The runner asks about placement again and again while the send stays loaded; the
    // notification is not repeated.
    for _ in 0..3 {
        assert!(h.app.exchange.run_next_within(std::time::Duration::from_secs(3600)).await.unwrap());
    }
    let plan_number = h.sandbox.directory().publish(plangraf::demo::SCHOOL.spz_code, 2026).await.unwrap();
    drive_to_status(&h, &mut customer, version, "Размещена в ЕИС").await;
    let list = customer.get("/notifications").await;
    assert_eq!(rows_with(&list, "ЕИС загрузила план-график"), 1, "{}", list.body);
    assert!(list.has("ЕИС разместила план-график на 2026 год (версия 0)"), "{}", list.body);
    assert!(list.has(&plan_number), "the registry number is told: {}", list.body);
    assert_eq!(unread(&list), 2);
    // The approver, who did not send, hears nothing of it.
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    assert!(!approver.get("/notifications").await.has("ЕИС загрузила"));

    // Another year's plan rejected by ЕИС: the count of its violations is told.
    let (_, v1) = approved_plan(&h, &mut customer, "2027").await;
    let school = &plangraf::demo::SCHOOL;
    h.sandbox.directory().ensure_organization(school.spz_code, school.name, "7801999990", school.kpp).await.unwrap();
    customer.get(&format!("/versions/{v1}/send")).await;
    customer.post(&format!("/versions/{v1}/send"), &[("login", &login), ("password", &password)]).await;
    let status = drive_to_status(&h, &mut customer, v1, "Отклонена ЕИС").await;
    let violations = status.body.matches("title=\"Код ошибки ЕИС:").count();
    assert!(violations >= 1, "{}", status.body);
    let list = customer.get("/notifications").await;
    assert!(
        list.has(&format!("ЕИС отклонила план-график на 2027 год (версия 0): ошибок {violations}")),
        "{}",
        list.body
    );
    assert!(list.has(&format!("href=\"/versions/{v1}/status\"")));
    h.app.stop().await;
}

#[tokio::test]
async fn refused_authorization_tells_the_sender_and_the_owner_of_the_credentials() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;
    customer.get("/notifications").await;
    customer.post("/notifications/read-all", &[]).await;
    let (login, old_password) = h.eis_credentials("eis_user").await;
    customer.get("/settings/eis").await;
    customer
        .post(
            "/settings/eis",
            &[
                ("login", &login),
                ("change_password", "1"),
                ("password", &old_password),
                ("password_confirm", &old_password),
            ],
        )
        .await;
    // The cabinet button is pressed again: the saved password stops working.
    h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", "")]).await;
    drive_to_status(&h, &mut customer, version, "Ошибка авторизации").await;
    let list = customer.get("/notifications").await;
    assert!(list.has("ЕИС отказала в авторизации: план-график на 2026 год (версия 0) не отправлен"), "{}", list.body);
    assert!(list.has(&format!("href=\"/versions/{version}/status\"")));
    assert!(list.has("ЕИС не принимает ваши регистрационные данные"), "{}", list.body);
    assert!(list.has("href=\"/settings/eis\""));
    assert!(!list.has(&old_password), "no password in a notification");
    assert_eq!(unread(&list), 2);
    // Checking them again fails again: the same failing credentials are not told twice.
    customer.get("/settings/eis").await;
    customer.post("/settings/eis/check", &[]).await;
    let list = customer.get("/notifications").await;
    assert_eq!(rows_with(&list, "ЕИС не принимает ваши регистрационные данные"), 1, "{}", list.body);
    let sends = h.app.store.sends_for_version(VersionId(version)).await.unwrap();
    assert_eq!(sends.len(), 1);
    h.app.stop().await;
}

/// The form's fields: the address and the kinds ticked for each channel.
fn settings_form<'a>(email: &'a str, in_app: &[&'a str], by_mail: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("email", email)];
    form.extend(in_app.iter().map(|k| ("in_app", *k)));
    form.extend(by_mail.iter().map(|k| ("email_kind", *k)));
    form
}

const ALL_KINDS: [&str; 10] = [
    "plan_submitted",
    "plan_approved",
    "plan_returned",
    "send_loaded",
    "send_rejected",
    "send_published",
    "send_auth_refused",
    "credentials_failed",
    "eis_silent",
    "certificate_expiring",
];

#[tokio::test]
async fn each_user_chooses_what_reaches_them_and_how() {
    let h = Harness::start_driven().await;
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    let approver_id = h.app.store.user_by_login("soglasovatel").await.unwrap().unwrap().id;
    let page = approver.get("/settings/notifications").await;
    assert_eq!(page.status, 200);
    assert!(page.has("<h1>Настройки уведомлений</h1>"), "{}", page.body);
    assert!(page.has("План-график подчинённой организации направлен на согласование"));
    assert!(page.has("Отправка писем на этом сервере не настроена"), "no SMTP in this harness: {}", page.body);
    // Nothing chosen yet: every kind in the application; by mail once there is an address.
    assert_eq!(page.body.matches(" checked>").count(), ALL_KINDS.len(), "{}", page.body);
    assert!(!page.has("по почте\" checked>"), "{}", page.body);

    // An address that is not one: refused in words, nothing saved, the form as typed.
    let others: Vec<&str> = ALL_KINDS.iter().copied().filter(|k| *k != "plan_submitted").collect();
    let p = approver.post("/settings/notifications", &settings_form("soglasovatel@", &others, &[])).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.has("Адрес электронной почты указан неверно"), "{}", p.body);
    assert!(p.has("value=\"soglasovatel@\""));
    assert_eq!(h.app.store.user_email(approver_id).await.unwrap(), None);
    assert!(h.app.store.notification_preferences(approver_id).await.unwrap().iter().all(|p| p.in_app && p.email));
    // E-mail chosen without an address: nothing could be sent, so refused too.
    let p = approver.post("/settings/notifications", &settings_form("", &others, &["plan_submitted"])).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.has("укажите адрес электронной почты"), "{}", p.body);
    assert!(h.app.store.notification_preferences(approver_id).await.unwrap().iter().all(|p| p.in_app && p.email));

    // Saved: an address, and «submitted for approval» off in the application.
    let p = approver
        .post(
            "/settings/notifications",
            &settings_form(" soglasovatel@komitet.example.ru ", &others, &["plan_returned"]),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("Настройки уведомлений сохранены"), "{}", p.body);
    assert!(p.has("value=\"soglasovatel@komitet.example.ru\""));
    assert_eq!(h.app.store.user_email(approver_id).await.unwrap().as_deref(), Some("soglasovatel@komitet.example.ru"));
    let saved = h.app.store.notification_preferences(approver_id).await.unwrap();
    for p in &saved {
        assert_eq!(p.in_app, p.kind.code() != "plan_submitted", "{p:?}");
        assert_eq!(p.email, p.kind.code() == "plan_returned", "{p:?}");
    }
    assert!(!p.has("name=\"in_app\" value=\"plan_submitted\" aria-label=\"План-график подчинённой организации направлен на согласование: в приложении\" checked"));
    assert!(p.has("name=\"email_kind\" value=\"plan_returned\" aria-label=\"План-график возвращён на доработку: по почте\" checked>"), "{}", p.body);
    assert_eq!(p.body.matches("по почте\" checked>").count(), 1, "{}", p.body);

    // The customer submits: the approver who turned it off sees nothing; the choice is his
    // alone, so a second approver of the committee still does.
    let committee = h.app.store.organization_by_spz(plangraf::demo::COMMITTEE.spz_code).await.unwrap().unwrap();
    let hash = app::users::hash("approver2".into()).await.unwrap();
    h.app.store.create_user("approver2", &hash, "Кузнецова К. К.", committee.id, domain::Role::Approver).await.unwrap();
    let mut second = h.client();
    second.login("approver2", "approver2").await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2026").await;
    customer.add_position(plan, &POSITION).await;
    customer.get(&format!("/plans/{plan}")).await;
    customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    let list = approver.get("/notifications").await;
    assert_eq!(unread(&list), 0);
    assert!(!list.has("ожидает согласования"), "{}", list.body);
    let list = second.get("/notifications").await;
    assert_eq!(unread(&list), 1);
    assert!(list.has("ожидает согласования"));
    h.app.stop().await;
}

/// «ЕИС недоступна»: after five calls to ЕИС in a row that failed, every page says so and since
/// when; the first answer takes the banner away.
#[tokio::test]
async fn every_page_says_eis_is_unavailable_while_its_calls_fail() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, version) = approved_plan(&h, &mut customer, "2026").await;
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    assert!(!customer.get("/plans").await.has("id=\"eis-down\""));

    h.sandbox.set_faults(sandbox::Faults { fail_next: 5, ..Default::default() });
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    let ahead = std::time::Duration::from_secs(3600);
    for failed in 1..=4 {
        assert!(h.app.exchange.run_next_within(ahead).await.unwrap());
        assert_eq!(h.app.store.eis_availability().await.unwrap().consecutive_failures, failed);
    }
    // Four failures are not yet an outage.
    assert!(!customer.get("/plans").await.has("id=\"eis-down\""));
    assert!(h.app.exchange.run_next_within(ahead).await.unwrap());
    let since = h.app.store.eis_availability().await.unwrap().failing_since.expect("failing since the first");
    let banner = format!("ЕИС недоступна с {}", domain::format::date_time_ru(since));
    // On every page, for every user, not only the sender.
    let paths = [
        (false, "/plans".to_owned()),
        (false, format!("/plans/{plan}")),
        (false, format!("/versions/{version}/status")),
        (true, "/notifications".to_owned()),
        (true, "/settings/notifications".to_owned()),
    ];
    for (by_approver, path) in paths {
        let client = if by_approver { &mut approver } else { &mut customer };
        let p = client.get(&path).await;
        assert!(p.has("id=\"eis-down\"") && p.has(&banner), "{path}: {}", p.body);
    }
    // ЕИС answers again: the banner goes.
    drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    assert_eq!(h.app.store.eis_availability().await.unwrap().consecutive_failures, 0);
    assert!(!customer.get("/plans").await.has("id=\"eis-down\""));
    assert!(!approver.get("/notifications").await.has("ЕИС недоступна"));
    h.app.stop().await;
}
