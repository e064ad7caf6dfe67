//! «Администрирование» → «Пользователи» in a real browser: the administrator creates a user and
//! reads the one-time password, signs out; the new user signs in, is held on «Смена пароля»
//! until they set their own password, and lands on the plan list; when the school's plan is
//! returned, she finds the notification in the header and in «Уведомления». Headless Chromium
//! over chromedriver ([`crate::chromium`]); without them the test says SKIPPED and passes, unless
//! PLANGRAF_REQUIRE_BROWSER=1.

use crate::chromium::Scene;
use fantoccini::Locator;
use plangraf::demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_creates_a_user_who_must_change_the_password() {
    let Some(s) = Scene::start("admin-users").await else { return };
    let (app, b, store) = (s.app.clone(), &s.b, s.h.app.store.clone());
    b.goto(&format!("{app}/login")).await;
    b.fill("#login", "admin").await;
    b.fill("#password", "admin").await;
    b.press("Войти").await;
    b.wait_for_text("Планы-графики").await;

    b.open_menu("Администрирование").await;
    b.click_link("Пользователи").await;
    b.wait_for_heading("Пользователи").await;
    b.expect_text(Locator::Css("tr[data-login='zakazchik'] td:nth-child(2)"), "Петрова Анна Сергеевна").await;
    b.click_link("Создать пользователя").await;
    b.wait_for_heading("Новый пользователь").await;
    b.fill("#login", "a.orlova").await;
    b.fill("#full_name", "Орлова Алла Викторовна").await;
    let school = store.organization_by_spz(demo::SCHOOL.spz_code).await.unwrap().unwrap();
    b.select_value("#org_id", &school.id.get().to_string()).await;
    // The specialist's role is ticked already; she approves the subordinates' plans too.
    b.tick("#roles input[value='approver']").await;
    b.press("Создать").await;
    b.wait_for_heading("Пользователь создан").await;
    let password = b.visible_text_of(Locator::Css("#one-time-password"), "the one-time password").await;
    b.ensure(domain::account::check_new_password("a.orlova", &password).is_ok(), || {
        format!("the one-time password {password:?} breaks the rules")
    })
    .await;
    b.screenshot("admin-user-created").await;
    b.press("Выйти").await;
    b.wait_for_heading("Вход в plangraf").await;

    b.fill("#login", "a.orlova").await;
    b.fill("#password", &password).await;
    b.press("Войти").await;
    b.wait_for_heading("Смена пароля").await;
    b.expect_text(
        Locator::Css("#password-forced"),
        "Пароль выдан администратором. Чтобы продолжить работу, задайте свой пароль.",
    )
    .await;
    // Nothing else is reachable meanwhile.
    b.goto(&format!("{app}/plans")).await;
    b.wait_for_heading("Смена пароля").await;
    b.screenshot("admin-user-forced-change").await;
    b.fill("#current", &password).await;
    b.fill("#password", "Орлова-свой-пароль-2026").await;
    b.fill("#password_confirm", "Орлова-свой-пароль-2026").await;
    b.press("Сменить пароль").await;
    b.wait_for_heading("Планы-графики").await;
    b.wait_for_text("Орлова Алла Викторовна").await;
    b.wait_for_text("Специалист заказчика, Согласующий").await;
    let creds = store.user_credentials("a.orlova").await.unwrap().unwrap();
    b.ensure(!creds.must_change_password, || "the forced change is still recorded".to_owned()).await;
    b.screenshot("admin-user-plans").await;

    // The school's plan goes to the committee and comes back with a comment: she, a specialist
    // of the school, is told in the header and in «Уведомления».
    let (mut customer, mut approver) = (s.h.client(), s.h.client());
    customer.login("zakazchik", "zakazchik").await;
    approver.login("soglasovatel", "soglasovatel").await;
    let plan = customer.create_plan("2026").await;
    customer.add_position(plan, &crate::common::POSITION).await;
    customer.get(&format!("/plans/{plan}")).await;
    customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    approver.get(&format!("/plans/{plan}")).await;
    let p = approver.post(&format!("/plans/{plan}/return"), &[("comment", "Уточните сумму учебников")]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    b.goto(&format!("{app}/plans")).await;
    b.wait_for_heading("Планы-графики").await;
    b.expect_text(Locator::Css("#unread-count"), "1").await;
    b.click(Locator::Css("#notifications-link"), "«Уведомления» in the header").await;
    b.wait_for_heading("Уведомления").await;
    b.wait_for_text("возвращён на доработку").await;
    b.wait_for_text("Уточните сумму учебников").await;
    b.screenshot("admin-user-notified").await;
    s.finish().await;
}
