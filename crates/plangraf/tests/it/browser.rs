//! The seed scenarios in a real browser: Debian's headless Chromium, driven over WebDriver
//! (chromedriver, started by this test on a free loopback port) through the eis-sandbox cabinet
//! (HTTPS, self-signed) and plangraf (HTTP), both in-process. Every assertion is on what a
//! person sees: visible text, the values in the fields (one look into the store, at the packet
//! that went over the wire, is marked as such).
//!
//! Seed 000: the administrator takes the login and password for the alternative integration
//! from the cabinet and the customer enters them in «Настройки» → «Регистрационные данные в
//! ЕИС»; every press of the cabinet button makes a new password. Seed 004: plan → approval →
//! «Версии документов» → «»» → «Отправить на ООС» → «Посмотреть статус отправки»; then, each in
//! its own test: «Разместить» in the cabinet and «Размещена в ЕИС» with the registry numbers,
//! and a change version sent and placed after it; a rejection with each violation linked to its
//! position; a plan-schedule created in the cabinet that makes sending impossible, taken in by
//! «Загрузить из ЕИС» read-only, and a drift made in the cabinet found by «Сверить с ЕИС». Issue 3: a
//! plan-schedule built in the position form (reference picker, live ИКЗ and breakdown sums),
//! returned (the customer told by a notification), fixed, approved, changed, and its versions
//! compared and printed. Issue 13: positions
//! imported from an Excel file (errors first, then a correct file) and the plan exported back.
//!
//! The browser, chromedriver and the waits are in [`crate::chromium`]: without Chromium each test
//! says SKIPPED and passes, unless PLANGRAF_REQUIRE_BROWSER=1. The tests take turns, one browser
//! at a time. Screenshots go to `target/browser-screenshots/` (a failure's to `FAILED-<test>.png`).

use crate::chromium::*;
use crate::common::*;
use fantoccini::Locator;
use fantoccini::key::Key;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scenarios_in_a_real_browser() {
    let Some(tools) = browser_tools() else { return };
    let _turn = ONE_BROWSER_AT_A_TIME.lock().await;
    let started = Instant::now();
    let mut t = started;
    let mut lap = |step: &str| {
        eprintln!("browser: {step} — {:.1} s", t.elapsed().as_secs_f64());
        t = Instant::now();
    };
    let h = Harness::start().await;
    let app = h.app.url();
    let eis = h.sandbox.base_url.clone();
    lap("eis-sandbox and plangraf started");
    let driver = Chromedriver::start(&tools.chromedriver);
    let b = Browser::open(&driver, &tools.chromium, "seed-scenarios").await;
    lap("chromedriver and headless Chromium started");

    // 1. Seed 000, in the ЕИС cabinet: «Администрирование» → «Пользователи организации» →
    //    the user's drop-down → «Регистрационные данные» → the button, pressed twice.
    b.goto(&format!("{eis}/login")).await;
    b.wait_for_text("Вход в личный кабинет").await;
    b.fill("#login", "eis_admin").await;
    b.fill("#password", "eis_admin").await;
    b.press("Войти").await;
    b.wait_for_text("Иванов Сергей Петрович").await;
    b.open_menu("Администрирование").await;
    b.click_link("Пользователи организации").await;
    b.wait_for_heading("Пользователи организации").await;
    let row = "//table//tr[td[normalize-space()='eis_user']]";
    b.click(Locator::XPath(&format!("{row}//details/summary")), "the drop-down of the user eis_user").await;
    let menu = b.visible_text_of(Locator::XPath(&format!("{row}//details/ul")), "the open drop-down of eis_user").await;
    let items = ["Регистрационные данные", "Права доступа пользователя", "Заблокировать пользователя"];
    for item in items {
        if !menu.contains(item) {
            b.fail::<()>(&format!("the drop-down of eis_user does not show «{item}»: {menu:?}")).await;
        }
    }
    b.click(
        Locator::XPath(&format!("{row}//a[normalize-space()='Регистрационные данные']")),
        "«Регистрационные данные» of eis_user",
    )
    .await;
    b.wait_for_heading("Регистрационные данные").await;
    b.wait_for_text("Петрова Анна Сергеевна").await;
    const BUTTON: &str = "Данные пользователя для альтернативной интеграции (по протоколу HTTPS)";
    b.press(BUTTON).await;
    b.wait_for_text("Пароль показывается один раз").await;
    let eis_login = b.field_shown("Логин").await;
    let first_password = b.field_shown("Пароль").await;
    b.screenshot("cabinet-integration-data").await;
    b.click_link("Продолжить").await;
    b.wait_for_heading("Регистрационные данные").await;
    let shown = b.field_shown("Логин для альтернативной интеграции").await;
    if eis_login.is_empty() || first_password.is_empty() || shown != eis_login {
        b.fail::<()>(&format!(
            "the integration login {eis_login:?} (and a password) should be shown; «Регистрационные данные» show {shown:?}"
        ))
        .await;
    }
    b.wait_for_text("сформирован ").await;
    b.press(BUTTON).await;
    b.wait_for_text("Пароль показывается один раз").await;
    let second_login = b.field_shown("Логин").await;
    let second_password = b.field_shown("Пароль").await;
    if second_login != eis_login || second_password.is_empty() || second_password == first_password {
        b.fail::<()>("the second press should show the same login and a new password").await;
    }
    eprintln!("browser: the cabinet shows login {eis_login}, two different passwords");
    lap("step 1, the ЕИС cabinet");

    // 2. plangraf: sign-in form, the top menu, a plan for the year offered with one position,
    // for approval.
    b.sign_in(&app, "zakazchik", "zakazchik").await;
    b.wait_for_text("Петрова Анна Сергеевна").await;
    b.open_plans().await;
    b.wait_for_heading("Планы-графики размещения заказов").await;
    let year = b.create_plan().await;
    b.wait_for_heading(&format!(
        "План-график закупок на {year} год и плановый период {} и {} годов",
        year + 1,
        year + 2
    ))
    .await;
    b.fill("#object_info", "Поставка учебников для 5-х классов").await;
    b.fill("#publish_year", &year.to_string()).await;
    b.fill("#okpd2", "58.11.19.000").await;
    b.fill("#kvr", "244").await;
    b.fill("#amount_current", "1 250 000,50").await;
    b.press("Добавить позицию").await;
    b.wait_for_text("Позиция добавлена").await;
    let table = b.visible_text_of(Locator::Id("positions"), "the table of positions").await;
    // ИКЗ: year 26, ИКУ 2+INN+KPP, number 0001, order 000, ОКПД2 5811, КВР 244.
    let ikz = format!("{:02}2780100001178010100100010005811244", year % 100);
    let expected = [ikz.as_str(), "Поставка учебников для 5-х классов", "58.11.19.000", "1 250 000,50"];
    for shown in expected {
        if !table.contains(shown) {
            b.fail::<()>(&format!("the table of positions does not show «{shown}»: {table:?}")).await;
        }
    }
    b.press("Отправить на согласование").await;
    b.wait_for_element_text(Locator::Id("plan-status"), "На согласовании").await;
    lap("step 2, plan with a position, sent for approval");

    // 3. «Настройки» → «Регистрационные данные в ЕИС»: the login and the first password,
    //    which the second press of the button has already made stale.
    b.open_eis_settings().await;
    b.save_eis_credentials(&eis_login, &first_password).await;
    lap("step 3, the first (stale) password saved");

    // 4. The superior approves: version 0 appears on «Версии документов».
    b.sign_out().await;
    b.sign_in(&app, "soglasovatel", "soglasovatel").await;
    b.wait_for_text("Смирнов Олег Викторович").await;
    b.open_plan(year).await;
    b.wait_for_text("Школа № 1").await;
    b.press("Утвердить").await;
    b.wait_for_text("План-график утвержден").await;
    b.click_link("Версии документов").await;
    let number = b
        .visible_text_of(Locator::XPath("//table[@id='versions']/tbody/tr[1]/td[1]"), "the number of the version")
        .await;
    let status = b
        .visible_text_of(Locator::XPath("//table[@id='versions']/tbody/tr[1]/td[6]"), "the send status of the version")
        .await;
    if number.trim() != "0" || status.trim() != "Не отправлена" {
        b.fail::<()>(&format!(
            "version 0, «Не отправлена» expected on «Версии документов»; shown {number:?}, {status:?}"
        ))
        .await;
    }
    lap("step 4, approved, version 0");

    // 5. The customer sends with the saved (stale) password: «Ошибка авторизации», explained.
    b.sign_out().await;
    b.sign_in(&app, "zakazchik", "zakazchik").await;
    b.wait_for_text("Петрова Анна Сергеевна").await;
    b.open_plan(year).await;
    b.send_to_oos(0, &eis_login).await;
    b.back_to_plan().await;
    b.open_send_status(0).await;
    b.wait_for_send_status("Ошибка авторизации").await;
    let page = b.body_text().await;
    // A stale password (401): the password's advice, not the missing right's.
    if !page.contains("создаёт новый пароль при каждом нажатии") {
        b.fail::<()>("the authorization error is not explained (the password's advice is missing)").await;
    }
    if page.contains("нет права «Работа с планом-графиком»") {
        b.fail::<()>("a wrong password is explained as a missing right").await;
    }
    b.screenshot("send-status-authorization-error").await;
    b.open_eis_settings().await;
    b.wait_for_text("Последний отказ ЕИС").await;
    lap("step 5, sent with the stale password: «Ошибка авторизации»");

    // 6. The second password, and the same version sent again.
    b.save_eis_credentials(&eis_login, &second_password).await;
    b.open_plan(year).await;
    b.send_to_oos(0, &eis_login).await;
    b.back_to_plan().await;
    b.open_send_status(0).await;
    b.wait_for_send_status("Загрузка завершена успешно").await;
    b.wait_for_text("Реестр планов-графиков").await;
    lap("step 6, sent with the new password: «Загрузка завершена успешно»");

    // 7. Pictures for people.
    b.screenshot("send-status-loaded").await;
    b.back_to_plan().await;
    b.click_link("Позиции").await;
    b.wait_for_element_text(Locator::Id("positions"), &ikz).await;
    b.screenshot("plan-positions").await;
    b.click_link("Версии документов").await;
    b.wait_for_element_text(Locator::Id("versions"), "Загрузка завершена успешно").await;
    b.screenshot("plan-versions").await;
    b.click_link("Журнал").await;
    b.wait_for_element_text(Locator::Id("journal"), "Смирнов Олег Викторович").await;
    b.screenshot("plan-journal").await;
    b.open_eis_settings().await;
    b.wait_for_text("Последняя успешная работа с ЕИС").await;
    b.screenshot("settings-eis").await;
    lap("step 7, screenshots");

    b.close().await;
    drop(driver);
    h.app.stop().await;
    eprintln!("browser: the whole scenario took {:.1} s", started.elapsed().as_secs_f64());
}

/// A position as a person types it into the form.
struct Typed {
    object: &'static str,
    okpd2: &'static str,
    kvr: &'static str,
    amount: &'static str,
}

const TEXTBOOKS: Typed =
    Typed {
        object: "Поставка учебников для 5-х классов", okpd2: "58.11.19.000", kvr: "244", amount: "1 250 000,50"
    };
const BOARDS: Typed =
    Typed {
        object: "Поставка интерактивных досок", okpd2: "26.20.17.110", kvr: "244", amount: "480 000,00"
    };

/// The ИКЗ of a position of the demo school, laid out as eis-protocol.md §4 says: year (2) ·
/// ИКУ (budget level 2, ИНН, КПП) · purchase number (4) · 000 · ОКПД2 (4) · КВР (3).
fn ikz(year: i32, number: u32, p: &Typed) -> String {
    let school = &plangraf::demo::SCHOOL;
    let okpd4: String = p.okpd2.chars().filter(char::is_ascii_digit).take(4).collect();
    format!("{:02}2{}{}{number:04}000{okpd4}{}", year % 100, school.inn, school.kpp, p.kvr)
}

/// The name of change reason 9 in НСИ, shown instead of its code.
const REASON_9: &str =
    "Возникновение иных обстоятельств, предвидеть которые при утверждении плана-графика было невозможно";

const INTEGRATION_BUTTON: &str = "Данные пользователя для альтернативной интеграции (по протоколу HTTPS)";

/// The card of the plan-schedule for the year in the cabinet's «Реестр планов-графиков».
fn registry_card(year: i32) -> String {
    format!("//div[contains(@class, 'card')][strong[starts-with(normalize-space(), 'План-график на {year} год')]]")
}

/// The row of one version in that card.
fn registry_row(year: i32, version: i64) -> String {
    format!("{}//tbody/tr[td[1][normalize-space()='{version}']]", registry_card(year))
}

/// The row of a purchase on the cabinet's page of a version's positions.
fn cabinet_position_row(purchase: &str) -> String {
    format!("//table/tbody/tr[td[3][normalize-space()='{purchase}']]")
}

/// Seed 004 to its end: the customer places the draft in the cabinet («Реестр планов-графиков» →
/// «Разместить») and plangraf shows «Размещена в ЕИС» with the numbers ЕИС gave. Then «Все
/// последующие изменения … формируются» in plangraf: «Внести изменения», an edited purchase with
/// its reason, decision and description, approval, and the change goes to ЕИС, is loaded and
/// placed as the next version of the same plan; the previous version is not annulled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placement_and_a_change_version_in_a_real_browser() {
    let Some(s) = Scene::start("placement-and-change").await else { return };
    let (b, app, eis) = (&s.b, s.app.as_str(), s.eis.as_str());

    // Seed 000: the integration password from the cabinet, saved in plangraf.
    b.cabinet_sign_in(eis, "eis_admin", "eis_admin").await;
    let (login, password) = b.cabinet_integration_credentials().await;
    b.sign_in(app, "zakazchik", "zakazchik").await;
    b.open_eis_settings().await;
    b.save_eis_credentials(&login, &password).await;

    // Two purchases, approved; version 0 sent and loaded as a draft.
    let year = b.plan_for_approval(&[TEXTBOOKS, BOARDS]).await;
    b.approve_as_superior(app, year).await;
    b.open_plan(year).await;
    b.send_to_oos(0, &login).await;
    b.back_to_plan().await;
    b.open_send_status(0).await;
    b.wait_for_send_status("Загрузка завершена успешно").await;
    b.wait_for_text("Его требуется опубликовать (разместить) в ЕИС").await;

    // The cabinet: the draft came from РИС and has no number yet; «Разместить».
    b.cabinet_registry(eis).await;
    let card = registry_card(year);
    let v0 = registry_row(year, 0);
    b.wait_for_element_text(Locator::XPath(&card), "РИС (интегрирован из региональной информационной системы)").await;
    b.wait_for_element_text(Locator::XPath(&card), "не присвоен").await;
    b.expect_cell(&v0, 2, "Проект").await;
    b.expect_cell(&v0, 4, "2").await;
    b.click(Locator::XPath(&format!("{v0}//button[normalize-space()='Разместить']")), "«Разместить» of version 0")
        .await;
    b.wait_for_element_text(Locator::XPath(&format!("{v0}/td[2]")), "Размещен").await;
    let number_xpath = format!("{card}//dt[normalize-space()='Реестровый номер']/following-sibling::dd[1]");
    let plan_number =
        b.visible_text_of(Locator::XPath(&number_xpath), "the plan's registry number in the cabinet").await;
    let plan_number = plan_number.trim().to_owned();
    let spz = plangraf::demo::SCHOOL.spz_code;
    b.ensure(plan_number.len() == 18 && plan_number.starts_with(&format!("{year}{spz}")), || {
        format!("the registry number {plan_number:?} should be the year, the СПЗ code and a sequence")
    })
    .await;
    b.screenshot("cabinet-registry-placed").await;

    // The placed positions got their registry numbers. Editing them in ЕИС is refused: seed 004
    // forbids it, and ЕИС refuses it for a plan integrated from a РИС.
    b.click(Locator::XPath(&format!("{v0}//a[normalize-space()='Позиции']")), "«Позиции» of version 0").await;
    b.wait_for_heading(&format!("План-график на {year} год, версия 0")).await;
    let mut numbers = Vec::new();
    for purchase in ["0001", "0002"] {
        let n = b.cell(&cabinet_position_row(purchase), 1).await;
        b.ensure(n.len() == 24 && n.starts_with(&plan_number), || {
            format!("position {purchase} has the registry number {n:?}")
        })
        .await;
        numbers.push((purchase, n));
    }
    b.ensure(numbers[0].1 != numbers[1].1, || format!("two positions, one number: {numbers:?}")).await;
    let edit = format!("{}//button[normalize-space()='Редактировать позицию']", cabinet_position_row("0001"));
    b.click(Locator::XPath(&edit), "«Редактировать позицию» of purchase 0001").await;
    b.wait_for_heading("Редактирование позиции невозможно").await;
    b.wait_for_text("Внесите изменения в РИС").await;
    // Nor can the period get a second plan-schedule made in ЕИС.
    b.cabinet_registry(eis).await;
    b.select_value("#plan_year", &year.to_string()).await;
    b.press("Создать план-график").await;
    b.wait_for_heading("Создание невозможно").await;

    // plangraf learns of the placement by itself.
    b.goto(app).await;
    b.open_plan(year).await;
    b.open_send_status(0).await;
    b.wait_for_send_status("Размещена в ЕИС").await;
    b.expect_placed(&plan_number, &numbers).await;
    b.screenshot("send-status-placed").await;
    b.back_to_plan().await;
    b.wait_for_element_text(Locator::Id("eis-plan-number"), &plan_number).await;

    // «Внести изменения»: purchase 0001 costs more, with the reason, the decision (an edit, not a
    // cancellation) and the description; purchase 0002 stays as it was.
    b.press("Внести изменения").await;
    b.wait_for_text("Открыт новый цикл изменений").await;
    b.click(Locator::XPath("//tr[@id='pos-0001']//a[normalize-space()='Изменить']"), "«Изменить» of purchase 0001")
        .await;
    b.wait_for_heading("Позиция 0001").await;
    b.wait_for_text("ЕИС требует обоснование изменения").await;
    b.fill("#amount_current", "1 300 000,00").await;
    b.select_value("#position-form select[name='reason_code']", "9").await;
    b.fill("#position-form textarea[name='change_description']", "Рост цен поставщиков").await;
    b.press("Сохранить").await;
    b.wait_for_text("Позиция изменена").await;
    let edited = b.visible_text_of(Locator::Id("pos-0001"), "purchase 0001").await;
    let change = format!("Изменение закупки. Причина: {REASON_9}. Обоснование: Рост цен поставщиков");
    for shown in ["1 300 000,00", "Изменена", change.as_str()] {
        b.ensure(edited.contains(shown), || format!("purchase 0001 should show «{shown}»: {edited:?}")).await;
    }
    b.wait_for_element_text(Locator::Id("pos-0002"), "Без изменений").await;
    b.press("Отправить на согласование").await;
    b.wait_for_element_text(Locator::Id("plan-status"), "На согласовании").await;
    b.approve_as_superior(app, year).await;

    // Version 1 goes as a change of the placed plan.
    b.open_plan(year).await;
    b.send_to_oos(1, &login).await;
    b.back_to_plan().await;
    b.open_send_status(1).await;
    b.wait_for_send_status("Загрузка завершена успешно").await;
    // What went over the wire (the browser cannot see it): the change packet of the placed plan.
    let store = &s.h.app.store;
    let school = store.organization_by_spz(spz).await.unwrap().unwrap();
    let plan =
        store.plans_visible_to(school.id).await.unwrap().into_iter().find(|p| p.plan.plan_year == year).unwrap().plan;
    let v1 = store.versions(plan.id).await.unwrap().into_iter().find(|v| v.version_number == 1).unwrap();
    let packet = &store.sends_for_version(v1.id).await.unwrap()[0].packet_xml;
    assert!(
        packet.contains("tenderPlan2020Change") && packet.contains(&plan_number),
        "not sent as a change of {plan_number}"
    );

    // The cabinet: version 1 of the same plan, purchase 0001 changed, 0002 untouched, both with
    // the numbers they were placed with; «Разместить».
    b.cabinet_registry(eis).await;
    let v1_row = registry_row(year, 1);
    b.expect_cell(&v1_row, 2, "Проект").await;
    b.click(Locator::XPath(&format!("{v1_row}//a[normalize-space()='Позиции']")), "«Позиции» of version 1").await;
    b.wait_for_heading(&format!("План-график на {year} год, версия 1")).await;
    let changed = cabinet_position_row("0001");
    b.expect_cell(&changed, 8, "Изменена").await;
    b.wait_for_element_text(Locator::XPath(&format!("{changed}/td[7]")), "1300000").await;
    b.expect_cell(&cabinet_position_row("0002"), 8, "Без изменений").await;
    for (purchase, n) in &numbers {
        b.expect_cell(&cabinet_position_row(purchase), 1, n).await;
    }
    b.click_link("← Реестр планов-графиков").await;
    b.wait_for_heading("Реестр планов-графиков").await;
    b.click(Locator::XPath(&format!("{v1_row}//button[normalize-space()='Разместить']")), "«Разместить» of version 1")
        .await;
    b.wait_for_element_text(Locator::XPath(&format!("{v1_row}/td[2]")), "Размещен").await;
    b.expect_cell(&v0, 2, "Размещен").await;
    b.wait_for_element_text(Locator::XPath(&number_xpath), &plan_number).await;

    // plangraf: version 1 placed under the same numbers; version 0 stays placed.
    b.goto(app).await;
    b.open_plan(year).await;
    b.open_send_status(1).await;
    b.wait_for_send_status("Размещена в ЕИС").await;
    b.expect_placed(&plan_number, &numbers).await;
    b.screenshot("send-status-change-placed").await;
    b.back_to_plan().await;
    b.click_link("Версии документов").await;
    for version in [0, 1] {
        b.expect_cell(
            &format!("//table[@id='versions']/tbody/tr[td[1][normalize-space()='{version}']]"),
            6,
            "Размещена в ЕИС",
        )
        .await;
    }
    s.finish().await;
}

/// Seed 004: «Если же План-график не пройдет проверку на Общероссийском сайте, то он будет
/// возвращен заказчику с указанием ошибок». ЕИС checks the ИКУ inside every ИКЗ against the ИНН
/// and КПП it holds for the organization. plangraf can check the ИКЗ only against its own record
/// of the organization, so when ЕИС knows the school under another ИНН (re-registered in ЕИС,
/// not yet in plangraf), only ЕИС finds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejection_shows_each_violation_on_its_position_in_a_real_browser() {
    let Some(s) = Scene::start("rejection").await else { return };
    let (b, app, eis) = (&s.b, s.app.as_str(), s.eis.as_str());
    let school = &plangraf::demo::SCHOOL;
    const EIS_INN: &str = "7801999990";
    s.h.sandbox.directory().ensure_organization(school.spz_code, school.name, EIS_INN, school.kpp).await.unwrap();

    b.cabinet_sign_in(eis, "eis_admin", "eis_admin").await;
    let (login, password) = b.cabinet_integration_credentials().await;
    b.sign_in(app, "zakazchik", "zakazchik").await;
    b.open_eis_settings().await;
    b.save_eis_credentials(&login, &password).await;
    let year = b.plan_for_approval(&[TEXTBOOKS, BOARDS]).await;
    // plangraf's own checks have nothing to object to: the plan went for approval.
    b.ensure(b.c.find(Locator::Id("findings")).await.is_err(), || "plangraf's pre-flight checks found errors".into())
        .await;
    b.approve_as_superior(app, year).await;
    b.open_plan(year).await;
    b.send_to_oos(0, &login).await;
    b.back_to_plan().await;
    b.open_send_status(0).await;
    b.wait_for_send_status("Отклонена ЕИС").await;
    b.wait_for_text("Исправьте ошибки, перечисленные ниже").await;

    // One violation per position, each on its position and its field, in the customer's words.
    let rows = b.table_rows("//table[@id='violations']/tbody/tr").await;
    b.ensure(rows.len() == 2, || format!("two violations expected: {rows:?}")).await;
    for (row, purchase) in rows.iter().zip(["0001", "0002"]) {
        // In words: ЕИС's code (IKZ_IKU) is only a tooltip.
        let pinned = row.len() == 5
            && row[0] == purchase
            && row[1] == "ИКЗ"
            && row[2] == "ИКЗ не соответствует ИКУ организации"
            && row[3].contains(&format!("номером закупки {purchase}"))
            && row[3].contains(EIS_INN)
            && !row.iter().any(|cell| cell.contains("IKZ_IKU"));
        b.ensure(pinned, || format!("the violation of purchase {purchase} is not shown on it: {row:?}")).await;
    }
    b.screenshot("send-status-rejected").await;

    // Its link leads to the position.
    b.click(Locator::XPath("//table[@id='violations']//a[normalize-space()='0002']"), "the link to purchase 0002")
        .await;
    b.wait_for_element_text(Locator::Id("pos-0002"), BOARDS.object).await;
    b.wait_for_element_text(Locator::Id("pos-0002"), &ikz(year, 2, &BOARDS)).await;
    let url = b.c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
    b.ensure(url.ends_with("?tab=positions#pos-0002"), || format!("the link led to {url}")).await;
    let target = b.c.execute("const t = document.querySelector(':target'); return t ? t.id : null;", vec![]).await;
    b.ensure(matches!(&target, Ok(serde_json::Value::String(id)) if id == "pos-0002"), || {
        format!("the row of purchase 0002 should be the page's target, is {target:?}")
    })
    .await;

    // Nothing reached the cabinet: a rejected packet makes no draft.
    b.cabinet_registry(eis).await;
    b.wait_for_text("Планов-графиков нет.").await;
    s.finish().await;
}

/// Seed 004: «Если в личном кабинете заказчика на Официальном сайте уже создан План-график на
/// текущий период, который не был интегрирован из АИС МЗ, то отправка Плана-графика … будет
/// невозможна!» The plan for the period is made in the cabinet («Создать план-график»), then
/// plangraf sends its version. Issue 13 C: a purchase made in the cabinet, the plan taken in by
/// «Загрузить из ЕИС» (read-only, «Ведётся в ЕИС»), «Сверить с ЕИС» agreeing, then a drift made
/// in the cabinet and found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_created_in_the_cabinet_blocks_sending_in_a_real_browser() {
    let Some(s) = Scene::start("conflict").await else { return };
    let (b, app, eis) = (&s.b, s.app.as_str(), s.eis.as_str());
    b.cabinet_sign_in(eis, "eis_admin", "eis_admin").await;
    let (login, password) = b.cabinet_integration_credentials().await;
    b.sign_in(app, "zakazchik", "zakazchik").await;
    b.open_eis_settings().await;
    b.save_eis_credentials(&login, &password).await;
    let year = b.plan_for_approval(&[TEXTBOOKS]).await;

    // Meanwhile the plan-schedule for that period is created right in the cabinet.
    b.cabinet_registry(eis).await;
    b.wait_for_text("Планов-графиков нет.").await;
    b.select_value("#plan_year", &year.to_string()).await;
    b.press("Создать план-график").await;
    let card = registry_card(year);
    b.wait_for_element_text(Locator::XPath(&card), "ЕИС (создан в личном кабинете)").await;

    b.goto(app).await;
    b.approve_as_superior(app, year).await;
    b.open_plan(year).await;
    b.send_to_oos(0, &login).await;
    b.back_to_plan().await;
    b.open_send_status(0).await;
    const CONFLICT: &str = "Отправка невозможна: план-график на этот период создан в ЕИС не из РИС";
    b.wait_for_send_status(CONFLICT).await;
    b.wait_for_text(
        "В личном кабинете заказчика на Официальном сайте уже создан план-график на этот период, который не был \
         интегрирован из plangraf. Отправка плана-графика из plangraf на Официальный сайт невозможна: изменения \
         на этот период вносятся в ЕИС.",
    )
    .await;
    let rows = b.table_rows("//table[@id='violations']/tbody/tr").await;
    // Words, not ЕИС's code PLAN_EIS (which stays in the tooltip and in ЕИС's reply).
    let whole_plan = rows.len() == 1
        && rows[0].len() == 5
        && rows[0][0] == "—"
        && rows[0][1] == "План-график"
        && rows[0][2] == "Отправка невозможна: план-график на этот период создан в ЕИС не из РИС"
        && !rows[0].iter().any(|cell| cell.contains("PLAN_EIS"));
    b.ensure(whole_plan, || format!("one violation of the whole plan expected: {rows:?}")).await;
    b.screenshot("send-status-conflict").await;
    b.back_to_plan().await;
    b.click_link("Версии документов").await;
    b.expect_cell("//table[@id='versions']/tbody/tr[td[1][normalize-space()='0']]", 6, CONFLICT).await;

    // ЕИС holds only its own plan for the period, still without positions.
    b.cabinet_registry(eis).await;
    let cards = b.c.find_all(Locator::XPath(&card)).await.map(|c| c.len()).unwrap_or(0);
    b.ensure(cards == 1, || format!("one plan for {year} expected in the cabinet, {cards} shown")).await;
    b.wait_for_element_text(Locator::XPath(&card), "ЕИС (создан в личном кабинете)").await;
    b.expect_cell(&registry_row(year, 0), 4, "0").await;

    // The plan is kept in ЕИС: a purchase is made there and the plan placed.
    let v0 = registry_row(year, 0);
    b.click(Locator::XPath(&format!("{v0}//a[normalize-space()='Позиции']")), "«Позиции» of version 0").await;
    b.wait_for_heading(&format!("План-график на {year} год, версия 0")).await;
    b.click_link("Добавить позицию").await;
    b.wait_for_heading("Добавить позицию").await;
    b.fill("#object_info", "Поставка мела").await;
    b.fill("#okpd2", "23.99.19.000").await;
    b.fill("#kvr", "244").await;
    b.fill("#current_year", "1000").await;
    b.press("Сохранить").await;
    b.wait_for_text("Поставка мела").await;
    b.press("Разместить").await;
    b.wait_for_element_text(Locator::XPath(&format!("{v0}/td[2]")), "Размещен").await;
    let number_xpath = format!("{card}//dt[normalize-space()='Реестровый номер']/following-sibling::dd[1]");
    let plan_number = b.visible_text_of(Locator::XPath(&number_xpath), "the registry number").await.trim().to_owned();

    // plangraf: from the refusal's advice to «Загрузить из ЕИС» on the list, by that number.
    b.goto(app).await;
    b.open_plan(year).await;
    b.open_send_status(0).await;
    b.click_link("«Загрузить из ЕИС»").await;
    b.wait_for_heading("Планы-графики размещения заказов").await;
    b.select_value("#eis_year", &year.to_string()).await;
    b.fill("#eis_plan_number", &plan_number).await;
    b.press("Загрузить из ЕИС").await;
    b.wait_for_text("План-график загружен из ЕИС").await;
    b.expect_text(Locator::Id("plan-status"), "Ведётся в ЕИС").await;
    b.wait_for_element_text(Locator::Id("kept-in-eis"), &plan_number).await;
    b.wait_for_text("Поставка мела").await;
    b.wait_for_text(&format!("№ в ЕИС {plan_number}000001")).await;
    let body = b.body_text().await;
    b.ensure(!body.contains("Поставка учебников"), || "the plan's positions are ЕИС's now".into()).await;
    // Read-only: no position form, nothing to submit or change.
    for button in ["Добавить позицию", "Отправить на согласование", "Внести изменения"]
    {
        let xpath = format!("//button[normalize-space()='{button}']");
        let shown = b.c.find_all(Locator::XPath(&xpath)).await.map(|e| e.len()).unwrap_or(0);
        b.ensure(shown == 0, || format!("«{button}» is offered on a plan kept in ЕИС")).await;
    }
    b.screenshot("plan-kept-in-eis").await;
    b.press("Сверить с ЕИС").await;
    b.wait_for_heading("Сверка с ЕИС").await;
    b.wait_for_element_text(Locator::Id("reconciliation-agrees"), "расхождений нет").await;

    // A drift: the purchase's money changed in the cabinet and placed there as version 1.
    b.cabinet_registry(eis).await;
    b.click(Locator::XPath(&format!("{v0}//a[normalize-space()='Позиции']")), "«Позиции» of version 0").await;
    b.wait_for_heading(&format!("План-график на {year} год, версия 0")).await;
    b.click(
        Locator::XPath(&format!("{}//a[normalize-space()='Изменить']", cabinet_position_row("0001"))),
        "«Изменить»",
    )
    .await;
    b.fill("#current_year", "1200").await;
    b.fill("#change_description", "Уточнение цены").await;
    b.press("Сохранить").await;
    b.wait_for_heading(&format!("План-график на {year} год, версия 1")).await;
    b.press("Разместить").await;
    b.wait_for_element_text(Locator::XPath(&format!("{}/td[2]", registry_row(year, 1))), "Размещен").await;

    b.goto(app).await;
    b.open_plan(year).await;
    b.press("Сверить с ЕИС").await;
    b.wait_for_heading("Сверка с ЕИС").await;
    b.wait_for_element_text(Locator::Id("reconciliation-differs"), "позиций с расхождениями — 1").await;
    let rows = b.table_rows("//table[@id='reconciliation']/tbody/tr").await;
    // As the browser's text shows it: the group separator (a no-break space) as a space.
    let money = |text: &str| domain::Money::parse(text).unwrap().to_string().replace('\u{a0}', " ");
    let drift = rows.len() == 1
        && rows[0][0] == "0001 «Поставка мела»"
        && rows[0][1] == "Сумма, текущий год"
        && rows[0][2] == money("1000")
        && rows[0][3] == money("1200")
        && rows[0][4] == money("200");
    b.ensure(drift, || format!("the one drift expected: {rows:?}")).await;
    b.screenshot("reconciliation-drift").await;
    s.finish().await;
}

/// Issue 3, the plan-schedule itself in the browser: a plan with positions of every kind typed
/// into the position form (ОКПД2 from the reference picker with the keyboard, several ОКПД2, a
/// special purchase, a КВР breakdown) with the live ИКЗ and breakdown sums, the responsible
/// person; sent for approval, returned with a comment, fixed, approved; «Внести изменения» with
/// an edited and a cancelled purchase, approved again; then «Сравнить с предыдущей» and
/// «Печатная форма» of the change version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_schedule_from_positions_to_the_compared_versions_in_a_real_browser() {
    let Some(s) = Scene::start("plan-schedule").await else { return };
    let (b, app) = (&s.b, s.app.as_str());
    let school = &plangraf::demo::SCHOOL;
    let code = |year: i32, number: u32, okpd4: &str, kvr: &str| {
        format!("{:02}2{}{}{number:04}000{okpd4}{kvr}", year % 100, school.inn, school.kpp)
    };

    // 1. A new plan-schedule and its «Ответственный исполнитель».
    b.sign_in(app, "zakazchik", "zakazchik").await;
    let year = b.create_plan().await;
    b.expect_text(Locator::Id("responsible"), "не указан").await;
    b.open_menu("Изменить ответственного исполнителя").await;
    b.fill("#responsible_last_name", "Петрова").await;
    b.fill("#responsible_first_name", "Анна").await;
    b.fill("#responsible_middle_name", "Сергеевна").await;
    b.fill("#responsible_position", "контрактный управляющий").await;
    b.fill("#responsible_phone", "+7 (812) 555-01-01").await;
    b.press_in("responsible-form", "Сохранить").await;
    b.wait_for_text("Ответственный исполнитель сохранён").await;
    const RESPONSIBLE: &str = "Петрова Анна Сергеевна, контрактный управляющий, тел. +7 (812) 555-01-01";
    b.expect_text(Locator::Id("responsible"), RESPONSIBLE).await;

    // 2a. An ordinary purchase. Its ОКПД2 is picked from the reference list by a part of its
    //     name, with the keyboard; the ИКЗ follows every field as it is typed.
    let live = Locator::Id("ikz-live");
    b.expect_text(live, "—").await;
    b.fill("#object_info", "Поставка учебников для 5-х классов").await;
    b.fill("#okpd2", "книги печатные").await;
    let option = "//ul[@role='listbox']/li[@data-code='58.11.1']";
    b.wait_for_element_text(Locator::XPath(option), "58.11.1 — Книги печатные").await;
    b.keys("#okpd2", &Key::Down).await;
    b.find(Locator::XPath(&format!("{option}[@aria-selected='true']")), "the highlighted «Книги печатные»").await;
    b.keys("#okpd2", &Key::Enter).await;
    b.expect_value("#okpd2", "58.11.1").await;
    b.expect_text(live, &code(year, 1, "5811", "000")).await;
    b.fill("#publish_year", &(year + 1).to_string()).await;
    b.expect_text(live, &code(year + 1, 1, "5811", "000")).await;
    b.fill("#publish_year", &year.to_string()).await;
    b.expect_text(live, &code(year, 1, "5811", "000")).await;
    b.fill("#kvr", "244").await;
    b.expect_text(live, &code(year, 1, "5811", "244")).await;
    b.fill("#amount_current", "1 250 000,50").await;
    b.press("Добавить позицию").await;
    b.wait_for_text("Позиция добавлена").await;
    let row = |n: &str| format!("//tr[@id='pos-{n}']");
    b.expect_cell(&row("0001"), 2, &code(year, 1, "5811", "244")).await;
    b.expect_cell(&row("0001"), 4, "58.11.1").await;

    // 2b. Several ОКПД2: «не определен», 0000 in the ИКЗ.
    b.fill("#object_info", "Поставка компьютерной техники и мебели").await;
    b.fill("#okpd2", "26.20.1, 31.01.1").await;
    b.fill("#kvr", "244").await;
    b.fill("#amount_current", "480 000,00").await;
    b.expect_text(live, &code(year, 2, "0000", "244")).await;
    b.press("Добавить позицию").await;
    b.wait_for_text("Позиция добавлена").await;
    b.expect_cell(&row("0002"), 2, &code(year, 2, "0000", "244")).await;
    b.expect_cell(&row("0002"), 4, "26.20.1; 31.01.1").await;

    // 2c. A special purchase: its kind instead of an object and an ОКПД2.
    b.select_value("#special_type", "P4_1_93").await;
    b.fill("#kvr", "244").await;
    b.fill("#amount_current", "600 000,00").await;
    b.fill("#amount_first", "600 000,00").await;
    b.expect_text(live, &code(year, 3, "0000", "244")).await;
    b.press("Добавить позицию").await;
    b.wait_for_text("Позиция добавлена").await;
    const SPECIAL: &str = "Особая закупка: Закупки в соответствии с п. 4 ч. 1 ст. 93 Федерального закона № 44-ФЗ";
    b.expect_cell(&row("0003"), 3, SPECIAL).await;
    b.expect_cell(&row("0003"), 4, "—").await;
    b.expect_cell(&row("0003"), 11, "1 200 000,00").await;

    // 2d. A breakdown over two КВР (the position's КВР left «не определен»), typed with a
    //     slip: the live note says the lines do not add up, and the plan says so after saving.
    b.fill("#object_info", "Поставка хозяйственных товаров").await;
    b.fill("#okpd2", "17.22.1").await;
    b.fill("#amount_current", "300 000,00").await;
    b.press("Добавить строку").await;
    let rows_xpath = "//table[@id='lines']/tbody/tr";
    let rows = b.table_rows(rows_xpath).await;
    b.ensure(rows.len() == 3, || format!("three breakdown rows expected after «Добавить строку»: {rows:?}")).await;
    let focused = b.c.active_element().await.ok();
    let label = match &focused {
        Some(e) => e.attr("aria-label").await.ok().flatten(),
        None => None,
    };
    b.ensure(label.as_deref() == Some("КВР, строка 3"), || {
        format!("the new row's code should have the focus, has {label:?}")
    })
    .await;
    let line = |what: &str, n: u32| format!("#lines input[aria-label='{what}, строка {n}']");
    let this_year = format!("{year} год");
    b.fill(&line("КВР", 1), "244").await;
    b.fill(&line(&this_year, 1), "200 000,00").await;
    b.fill(&line("КВР", 2), "247").await;
    b.fill(&line(&this_year, 2), "90 000,00").await;
    let sum = Locator::Id("lines-sum");
    b.expect_text(
        sum,
        "Распределено: 290 000,00 / 0,00 / 0,00 / 0,00 — не совпадает с финансовым обеспечением (300 000,00 / 0,00 / 0,00 / 0,00).",
    )
    .await;
    b.expect_text(live, &code(year, 4, "1722", "000")).await;
    b.press("Добавить позицию").await;
    b.wait_for_text("Позиция добавлена").await;
    b.expect_cell(&row("0004"), 5, "не определен").await;
    let mismatch = format!(
        "Сумма распределения по КВР не равна финансовому обеспечению позиции: {year} год: 290 000,00 вместо 300 000,00"
    );
    b.expect_text(Locator::Css("#findings li"), &format!("Позиция 0004: {mismatch}")).await;
    b.expect_text(Locator::Css("#findings > b"), "Проверка перед отправкой: ошибок 1").await;
    b.screenshot("plan-schedule-breakdown-finding").await;

    // The finding's link leads to the breakdown of that position, where it is fixed.
    b.click(Locator::XPath("//div[@id='findings']//a[normalize-space()='Позиция 0004']"), "the link of the finding")
        .await;
    b.wait_for_heading("Позиция 0004").await;
    let url = b.c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
    b.ensure(url.ends_with("/edit#lines"), || format!("the finding's link led to {url}")).await;
    b.expect_target("lines").await;
    b.expect_text(
        Locator::XPath("//table[@id='lines']/parent::div/following-sibling::div[1][@class='field-error']"),
        &mismatch,
    )
    .await;
    b.fill(&line(&this_year, 2), "100 000,00").await;
    b.expect_text(sum, "Распределено: 300 000,00 / 0,00 / 0,00 / 0,00 — совпадает с финансовым обеспечением.").await;
    b.press_in("position-form", "Сохранить").await;
    b.wait_for_text("Позиция изменена").await;
    b.expect_cell(&row("0004"), 3, "Поставка хозяйственных товаров\nКВР 244: 200 000,00\nКВР 247: 100 000,00").await;
    b.ensure(b.c.find(Locator::Id("findings")).await.is_err(), || "the pre-flight checks still find errors".into())
        .await;
    b.screenshot("plan-schedule-positions").await;

    // 3. For approval; the approver finds it in «Ожидают согласования» and returns it.
    b.press("Отправить на согласование").await;
    b.expect_text(Locator::Id("plan-status"), "На согласовании").await;
    b.sign_out().await;
    b.sign_in(app, "soglasovatel", "soglasovatel").await;
    let queued = format!("//table[@id='approval-queue']/tbody/tr[td[3][normalize-space()='{year}']]");
    b.expect_cell(&queued, 2, school.short_name).await;
    b.expect_cell(&queued, 5, "4").await;
    b.click(Locator::XPath(&format!("{queued}/td[2]/a")), "the plan in «Ожидают согласования»").await;
    b.wait_for_heading(&format!("План-график закупок на {year} год")).await;
    const COMMENT: &str = "Уточните наименование объекта закупки 0002";
    b.fill("input[name='comment']", COMMENT).await;
    b.press("Вернуть на доработку").await;
    b.wait_for_text("План-график возвращён на доработку").await;
    b.expect_text(Locator::Id("plan-status"), "На доработке").await;

    // The customer is told: the header counts the notification, «Уведомления» gives the
    // comment, «Прочитано» clears the counter, and the link leads to the plan.
    b.sign_out().await;
    b.sign_in(app, "zakazchik", "zakazchik").await;
    b.expect_text(Locator::Id("unread-count"), "1").await;
    b.click(Locator::Id("notifications-link"), "«Уведомления» in the header").await;
    b.wait_for_heading("Уведомления").await;
    b.wait_for_text(&format!("Комментарий: «{COMMENT}»")).await;
    b.press("Прочитано").await;
    b.wait_for_text("Непрочитанных: 0").await;
    b.ensure(b.c.find(Locator::Id("unread-count")).await.is_err(), || "the counter still shows".into()).await;
    b.click_link(&format!("План-график на {year} год возвращён на доработку")).await;
    b.wait_for_heading(&format!("План-график закупок на {year} год")).await;

    // The customer sees why, fixes purchase 0002 and sends it again; the approver approves.
    b.open_plan(year).await;
    b.expect_text(Locator::Id("plan-status"), "На доработке").await;
    b.wait_for_text(&format!("Возвращён на доработку: {COMMENT}")).await;
    b.click(
        Locator::XPath(&format!("{}//a[normalize-space()='Изменить']", row("0002"))),
        "«Изменить» of purchase 0002",
    )
    .await;
    b.wait_for_heading("Позиция 0002").await;
    const COMPUTERS: &str = "Поставка компьютеров и офисной мебели";
    b.fill("#object_info", COMPUTERS).await;
    b.press_in("position-form", "Сохранить").await;
    b.wait_for_text("Позиция изменена").await;
    b.expect_cell(&row("0002"), 3, COMPUTERS).await;
    b.press("Отправить на согласование").await;
    b.expect_text(Locator::Id("plan-status"), "На согласовании").await;
    b.approve_as_superior(app, year).await;
    b.open_plan(year).await;
    b.expect_text(Locator::Id("plan-status"), "Утвержден").await;
    // The only version's action menu is shown whole, not cut off by the tab.
    b.click_link("Версии документов").await;
    b.expect_version_menu_unclipped("//table[@id='versions']/tbody/tr[1]", "the only version", "versions-menu-1366")
        .await;

    // 4. «Внести изменения»: purchase 0001 costs more, purchase 0002 is cancelled.
    b.press("Внести изменения").await;
    b.wait_for_text("Открыт новый цикл изменений").await;
    b.click(
        Locator::XPath(&format!("{}//a[normalize-space()='Изменить']", row("0001"))),
        "«Изменить» of purchase 0001",
    )
    .await;
    b.wait_for_heading("Позиция 0001").await;
    b.fill("#amount_current", "1 320 000,00").await;
    b.select_value("#edit-reason_code", "9").await;
    b.fill("#edit-change_description", "Рост цен на учебную литературу").await;
    b.press_in("position-form", "Сохранить").await;
    b.wait_for_text("Позиция изменена").await;
    b.click(
        Locator::XPath(&format!("{}//a[normalize-space()='Изменить']", row("0002"))),
        "«Изменить» of purchase 0002",
    )
    .await;
    b.wait_for_heading("Позиция 0002").await;
    b.select_value("#cancel-reason_code", "9").await;
    b.fill("#cancel-change_description", "Техника получена по программе оснащения школ").await;
    b.press("Отменить закупку").await;
    b.wait_for_text("Закупка отменена").await;
    b.expect_cell(
        &row("0001"),
        12,
        &format!("Изменена\nИзменение закупки. Причина: {REASON_9}. Обоснование: Рост цен на учебную литературу"),
    )
    .await;
    b.expect_cell(
        &row("0002"),
        12,
        &format!(
            "Отменена\nОтмена закупки. Причина: {REASON_9}. Обоснование: Техника получена по программе оснащения школ"
        ),
    )
    .await;
    b.expect_cell(&row("0003"), 12, "Без изменений").await;
    b.expect_cell(&row("0004"), 12, "Без изменений").await;
    b.screenshot("plan-schedule-change-round").await;
    // In change mode every «Изменить» is reachable and whole at 1366 px, without sideways scrolling.
    b.expect_unclipped_at_1366(
        "//table[@id='positions']//a[normalize-space()='Изменить']",
        4,
        "the buttons «Изменить»",
        "plan-schedule-change-round-1366",
    )
    .await;
    b.press("Отправить на согласование").await;
    b.expect_text(Locator::Id("plan-status"), "На согласовании").await;
    b.approve_as_superior(app, year).await;

    // 5. «Версии документов» → «»» of version 1 → «Сравнить с предыдущей».
    b.open_plan(year).await;
    b.click_link("Версии документов").await;
    b.expect_cell("//table[@id='versions']/tbody/tr[td[1][normalize-space()='1']]", 5, "2 220 000,00").await;
    b.expect_version_menu_unclipped(
        "//table[@id='versions']/tbody/tr[last()]",
        "the last of two versions",
        "versions-menu-last-1366",
    )
    .await;
    b.version_action(1, "Сравнить с предыдущей").await;
    b.wait_for_heading("Сравнение версии 1 с версией 0").await;
    let diff = b.table_rows("//table[@id='diff']/tbody/tr").await;
    let cancelled = format!("0002 «{COMPUTERS}»");
    let expected = [
        [
            "0001 «Поставка учебников для 5-х классов»",
            "Сумма, текущий год",
            "1 250 000,50",
            "1 320 000,00",
            "69 999,50",
        ],
        [cancelled.as_str(), "Отменена", "нет", "да", ""],
    ];
    b.ensure(diff == expected, || format!("the comparison should show {expected:?}, shows {diff:?}")).await;
    let totals =
        b.table_rows("//h2[normalize-space()='Итого по годам, руб.']/following-sibling::table[1]/tbody/tr").await;
    let expected = [
        ["Версия 0", "2 630 000,50", "600 000,00", "0,00", "0,00"],
        ["Версия 1", "2 220 000,00", "600 000,00", "0,00", "0,00"],
    ];
    b.ensure(totals == expected, || format!("the totals should be {expected:?}, are {totals:?}")).await;
    b.screenshot("plan-schedule-diff").await;

    // «Печатная форма» of version 1 opens in a new tab.
    b.click_link(&format!("← План-график {year} · {}", school.short_name)).await;
    b.wait_for_heading(&format!("План-график закупок на {year} год")).await;
    b.version_action(1, "Печатная форма").await;
    b.switch_to_new_tab().await;
    b.wait_for_text("Версия 1").await;
    b.expect_text(
        Locator::Css("h1"),
        &format!(
            "ПЛАН-ГРАФИК\nзакупок товаров, работ, услуг на {year} финансовый год и на плановый период {} и {} годов",
            year + 1,
            year + 2
        ),
    )
    .await;
    let meta = b.table_rows("//table[@class='meta']//tr").await;
    for wanted in [["Наименование заказчика", school.name], ["Ответственный исполнитель", RESPONSIBLE]]
    {
        b.ensure(meta.iter().any(|r| r == &wanted), || format!("the printed header should have {wanted:?}: {meta:?}"))
            .await;
    }
    let printed = b.table_rows("//table[not(@class='meta')]/tbody/tr").await;
    let y = year.to_string();
    let zero = "0,00";
    let position = |n: &str, ikz: String, object: &str, okpd2: &str, kvr: &str, amounts: [&str; 5]| {
        [
            vec![n.to_owned(), ikz, object.to_owned(), okpd2.to_owned(), kvr.to_owned(), y.clone()],
            amounts.map(String::from).to_vec(),
        ]
        .concat()
    };
    let part = |what: &str, amounts: [&str; 5]| {
        [vec![String::new(), String::new(), what.to_owned()], amounts.map(String::from).to_vec()].concat()
    };
    let expected: Vec<Vec<String>> = vec![
        position(
            "0001",
            code(year, 1, "5811", "244"),
            "Поставка учебников для 5-х классов",
            "58.11.1",
            "244",
            ["1 320 000,00", "1 320 000,00", zero, zero, zero],
        ),
        part("в том числе КВР 244", ["1 320 000,00", "1 320 000,00", zero, zero, zero]),
        position(
            "0002",
            code(year, 2, "0000", "244"),
            &format!("{COMPUTERS} (закупка отменена)"),
            "26.20.1; 31.01.1",
            "244",
            ["480 000,00", "480 000,00", zero, zero, zero],
        ),
        part("в том числе КВР 244", ["480 000,00", "480 000,00", zero, zero, zero]),
        position(
            "0003",
            code(year, 3, "0000", "244"),
            SPECIAL,
            "—",
            "244",
            ["1 200 000,00", "600 000,00", "600 000,00", zero, zero],
        ),
        part("в том числе КВР 244", ["1 200 000,00", "600 000,00", "600 000,00", zero, zero]),
        position(
            "0004",
            code(year, 4, "1722", "000"),
            "Поставка хозяйственных товаров",
            "17.22.1",
            "не определен",
            ["300 000,00", "300 000,00", zero, zero, zero],
        ),
        part("в том числе КВР 244", ["200 000,00", "200 000,00", zero, zero, zero]),
        part("в том числе КВР 247", ["100 000,00", "100 000,00", zero, zero, zero]),
        ["Итого (без отменённых закупок)", "2 820 000,00", "2 220 000,00", "600 000,00", zero, zero]
            .map(String::from)
            .to_vec(),
    ];
    if printed != expected {
        let diff: Vec<_> = printed.iter().zip(&expected).filter(|(a, b)| a != b).collect();
        b.fail::<()>(&format!(
            "the printed positions differ (shown, expected): {diff:?}; {} rows shown",
            printed.len()
        ))
        .await;
    }
    b.screenshot("plan-schedule-print").await;
    s.finish().await;
}

/// Issue 13 part B in the browser: «Загрузить из Excel» with a file that has errors (each shown
/// by row and column, nothing saved), then a correct one checked and confirmed; «Скачать в
/// Excel» of the plan, downloaded with the browser's session and opened with calamine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_from_excel_and_back_in_a_real_browser() {
    use crate::excel::{In, cell, import_file_for, positions_sheet, rows_of};
    use sheets::columns::Col;
    let Some(s) = Scene::start("excel").await else { return };
    let (b, app) = (&s.b, s.app.as_str());
    b.sign_in(app, "zakazchik", "zakazchik").await;
    let year = b.create_plan().await;
    let url = b.c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
    let plan_id: i64 = match url.rsplit('/').next().and_then(|id| id.split('?').next()).and_then(|id| id.parse().ok()) {
        Some(id) => id,
        None => b.fail(&format!("no plan id in {url}")).await,
    };
    let plan = domain::ids::PlanId(plan_id);
    b.click_link("Загрузить из Excel").await;
    b.wait_for_heading("Загрузка позиций из Excel").await;
    let dir = tempfile::tempdir().unwrap();
    let upload = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_string_lossy().into_owned()
    };
    let y = f64::from(year);
    let textbooks = || {
        vec![
            (Col::Okpd2, In::T("58.11.19.000")),
            (Col::Kvr, In::T("244")),
            (Col::Object, In::T("Поставка учебников")),
            (Col::PublishYear, In::N(y)),
            (Col::Current, In::N(1500.5)),
        ]
    };

    // A wrong year and an amount in words: each error on its row and column, nothing saved.
    let mut wrong_year = textbooks();
    wrong_year[3] = (Col::PublishYear, In::T("26"));
    let mut in_words = textbooks();
    in_words[4] = (Col::Current, In::T("тысяча"));
    let bad = upload("with-errors.xlsx", import_file_for(year, &[wrong_year, in_words]));
    b.find(Locator::Css("#import-file"), "the file field").await.send_keys(&bad).await.unwrap();
    b.press("Проверить файл").await;
    b.wait_for_text("Исправьте ячейки в файле и загрузите его ещё раз.").await;
    let errors = b.table_rows("//table[@id='import-errors']/tbody/tr").await;
    let shown = |row: &str, col: Col, part: &str| {
        errors.iter().any(|e| e.len() == 3 && e[0] == row && e[1] == col.title(year) && e[2].contains(part))
    };
    b.ensure(
        shown("2", Col::PublishYear, "четырьмя цифрами") && shown("3", Col::Current, "тысяча"),
        || format!("the wrong year on row 2 and the amount in words on row 3 expected: {errors:?}"),
    )
    .await;
    b.screenshot("excel-import-errors").await;
    let saved = s.h.app.store.positions(plan).await.unwrap().len();
    b.ensure(saved == 0, || format!("nothing saved while the file has errors, {saved} positions found")).await;

    // The file fixed: checked, then «Загрузить позиции».
    let furniture = vec![
        (Col::Okpd2, In::T("26.20.11.110")),
        (Col::Kvr, In::T("244")),
        (Col::Object, In::T("Поставка мебели")),
        (Col::PublishYear, In::N(y)),
        (Col::Current, In::N(2000.0)),
    ];
    let good = upload("fixed.xlsx", import_file_for(year, &[textbooks(), furniture]));
    b.find(Locator::Css("#import-file"), "the file field").await.send_keys(&good).await.unwrap();
    b.press("Проверить файл").await;
    b.wait_for_text("Будет добавлено позиций: 2, изменено: 0, без изменений: 0.").await;
    b.press("Загрузить позиции").await;
    b.wait_for_text("Позиции загружены из Excel").await;
    b.wait_for_text("Поставка мебели").await;
    b.wait_for_text("Поставка учебников").await;
    b.screenshot("excel-imported").await;

    // «Скачать в Excel» as the browser would fetch it: the link on the page, the session's cookie.
    let link = b
        .find(Locator::XPath("//p[@id='excel-links']/a[normalize-space()='Скачать в Excel']"), "«Скачать в Excel»")
        .await;
    let href = link.attr("href").await.ok().flatten().unwrap_or_default();
    let cookies = b.c.get_all_cookies().await.unwrap();
    let cookie = cookies.iter().map(|c| format!("{}={}", c.name(), c.value())).collect::<Vec<_>>().join("; ");
    let r = reqwest::Client::new().get(format!("{app}{href}")).header("Cookie", cookie).send().await.unwrap();
    b.ensure(r.status() == 200, || format!("«Скачать в Excel» answered {}", r.status())).await;
    let sheet = positions_sheet(&r.bytes().await.unwrap());
    let rows = rows_of(&sheet, "Позиция");
    let objects: Vec<String> = rows.iter().map(|&row| cell(&sheet, row, Col::Object).to_string()).collect();
    let amounts: Vec<_> = rows.iter().map(|&row| cell(&sheet, row, Col::Current)).collect();
    let total = rows_of(&sheet, "Итого").first().map(|&row| cell(&sheet, row, Col::Current));
    b.ensure(
        objects == ["Поставка учебников", "Поставка мебели"]
            && amounts == [calamine::Data::Float(1500.5), calamine::Data::Float(2000.0)]
            && total == Some(calamine::Data::Float(3500.5)),
        || format!("the export holds the imported positions as numbers: {objects:?} {amounts:?} {total:?}"),
    )
    .await;
    s.finish().await;
}

// --- what a person does in plangraf and the cabinet ---------------------------------------

impl Browser {
    /// «Управление закупками» → … → «Создать план-график» for the year offered (the next one).
    /// Returns the plan's year, as its heading says.
    async fn create_plan(&self) -> i32 {
        self.open_plans().await;
        self.press("Создать план-график").await;
        self.wait_for_text("В плане-графике нет позиций.").await;
        let heading = self.visible_text_of(Locator::Css("h1"), "the heading of the plan").await;
        let year = heading
            .strip_prefix("План-график закупок на ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|y| y.parse::<i32>().ok());
        match year {
            Some(year) => year,
            None => self.fail(&format!("no year in the heading {heading:?}")).await,
        }
    }

    /// The value shown next to a label in the cabinet's `<dl>`.
    async fn field_shown(&self, label: &str) -> String {
        let xpath = format!("//dt[normalize-space()='{label}']/following-sibling::dd[1]");
        let v = self.visible_text_of(Locator::XPath(&xpath), &format!("the value of «{label}»")).await;
        v.trim().to_owned()
    }

    async fn sign_in(&self, app: &str, login: &str, password: &str) {
        self.goto(&format!("{app}/login")).await;
        self.wait_for_heading("Вход в plangraf").await;
        self.fill("#login", login).await;
        self.fill("#password", password).await;
        self.press("Войти").await;
        self.wait_for_heading("Планы-графики размещения заказов").await;
    }

    async fn sign_out(&self) {
        self.press("Выйти").await;
        self.wait_for_heading("Вход в plangraf").await;
    }

    /// «Управление закупками» → «Планирование» → «Планы-графики размещения заказов», level by level.
    async fn open_plans(&self) {
        self.open_menu("Управление закупками").await;
        // «Планирование» is a level of the menu: its item shows only once it is opened.
        let item = Locator::XPath("//nav//a[normalize-space()='Планы-графики размещения заказов']");
        let hidden = match self.c.find(item).await {
            Ok(e) => !e.is_displayed().await.unwrap_or(true),
            Err(_) => true,
        };
        self.ensure(hidden, || "«Планы-графики размещения заказов» is shown before «Планирование» is opened".into())
            .await;
        self.open_menu("Планирование").await;
        self.click_link("Планы-графики размещения заказов").await;
        self.wait_for_heading("Планы-графики размещения заказов").await;
    }

    /// The menu, then the plan for the year in the list.
    async fn open_plan(&self, year: i32) {
        self.open_plans().await;
        let xpath = format!("//table//a[normalize-space()='{year}']");
        self.click(Locator::XPath(&xpath), &format!("the plan for {year} in the list")).await;
        self.wait_for_heading(&format!("План-график закупок на {year} год")).await;
    }

    /// «Настройки» → «Регистрационные данные в ЕИС».
    async fn open_eis_settings(&self) {
        self.open_menu("Настройки").await;
        self.click_link("Регистрационные данные в ЕИС").await;
        self.wait_for_heading("Регистрационные данные в ЕИС").await;
    }

    /// On «Регистрационные данные в ЕИС»: the login, «Сменить пароль:», the password twice,
    /// «Сохранить».
    async fn save_eis_credentials(&self, login: &str, password: &str) {
        self.wait_for_text("Сменить пароль:").await;
        self.fill("#login", login).await;
        self.tick("#change_password").await;
        self.fill("#password", password).await;
        self.fill("#password_confirm", password).await;
        self.press("Сохранить").await;
        self.wait_for_text("Регистрационные данные в ЕИС сохранены").await;
        if self.c.source().await.unwrap_or_default().contains(password) {
            self.fail::<()>("the saved password is shown on the page").await;
        }
    }

    /// On «Версии документов»: opens the action menu «»» of the version and chooses the item.
    async fn version_action(&self, version: i64, item: &str) {
        let row = format!("//table[@id='versions']/tbody/tr[td[1][normalize-space()='{version}']]");
        self.click(
            Locator::XPath(&format!("{row}//details/summary")),
            &format!("the action menu «»» of version {version}"),
        )
        .await;
        self.click(
            Locator::XPath(&format!("{row}//details[@open]//a[normalize-space()='{item}']")),
            &format!("«{item}» in the action menu of version {version}"),
        )
        .await;
    }

    /// On «Версии документов» at 1366×768: the action menu «»» of the version in the row the
    /// XPath selects opens with every item shown whole; then it is closed again.
    async fn expect_version_menu_unclipped(&self, row: &str, what: &str, shot: &str) {
        let summary = format!("{row}//details/summary");
        self.click(Locator::XPath(&summary), &format!("the action menu «»» of {what}")).await;
        let items = format!("{row}//details[@open]/div[contains(@class, 'drop')]/*");
        self.expect_unclipped_at_1366(&items, 5, &format!("the items of the action menu of {what}"), shot).await;
        self.click(Locator::XPath(&summary), &format!("the action menu «»» of {what}, to close it")).await;
    }

    /// From the plan: «Версии документов» → «»» of the version → «Отправить на ООС» → the dialog
    /// with the login filled in and the password left empty → «ОК».
    async fn send_to_oos(&self, version: i64, login: &str) {
        self.click_link("Версии документов").await;
        self.version_action(version, "Отправить на ООС").await;
        self.wait_for_heading("Отправить на ООС").await;
        self.wait_for_text(&format!("версия {version}")).await;
        let field = self.find(Locator::Id("eis_login"), "the login field of the dialog").await;
        let filled = field.prop("value").await.unwrap_or_default().unwrap_or_default();
        if filled != login {
            self.fail::<()>(&format!("the dialog should show the saved login {login:?}, shows {filled:?}")).await;
        }
        let password = self.find(Locator::Id("eis_password"), "the password field of the dialog").await;
        if password.prop("value").await.unwrap_or_default().unwrap_or_default() != "" {
            self.fail::<()>("the password field of the dialog is not empty").await;
        }
        self.wait_for_text("Оставьте поле пустым").await;
        self.press("ОК").await;
        self.wait_for_text("Версия поставлена в очередь на отправку в ЕИС").await;
    }

    /// From the status page: «← План-график …».
    async fn back_to_plan(&self) {
        self.click(Locator::XPath("//a[starts-with(normalize-space(), '← План-график')]"), "the link back to the plan")
            .await;
        self.wait_for_heading("План-график закупок").await;
    }

    /// From the plan: «Версии документов» → «»» of the version → «Посмотреть статус отправки».
    async fn open_send_status(&self, version: i64) {
        self.click_link("Версии документов").await;
        self.version_action(version, "Посмотреть статус отправки").await;
        self.wait_for_heading("Статус отправки на ООС").await;
        self.wait_for_text(&format!("версия {version}")).await;
    }

    /// Waits for the send status; the page refreshes itself while the send is under way, and is
    /// reloaded by hand every 2 s otherwise, as a person waiting for the placement would.
    async fn wait_for_send_status(&self, status: &str) {
        let deadline = Instant::now() + WAIT;
        let mut reload = Instant::now() + Duration::from_secs(2);
        loop {
            if let Ok(e) = self.c.find(Locator::Id("send-status")).await
                && let Ok(t) = e.text().await
                && normalize(&t) == status
            {
                return;
            }
            if Instant::now() > deadline {
                return self.fail(&format!("the send status does not become «{status}» within {WAIT:?}")).await;
            }
            if Instant::now() > reload {
                let _ = self.c.refresh().await;
                reload = Instant::now() + Duration::from_secs(2);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn cabinet_sign_in(&self, eis: &str, login: &str, password: &str) {
        self.goto(&format!("{eis}/login")).await;
        self.wait_for_text("Вход в личный кабинет").await;
        self.fill("#login", login).await;
        self.fill("#password", password).await;
        self.press("Войти").await;
        self.wait_for_heading("Личный кабинет").await;
    }

    /// Seed 000 in the cabinet, as the organization's administrator: «Администрирование» →
    /// «Пользователи организации» → the drop-down of eis_user → «Регистрационные данные» → the
    /// button. Returns the login and the password it shows.
    async fn cabinet_integration_credentials(&self) -> (String, String) {
        self.open_menu("Администрирование").await;
        self.click_link("Пользователи организации").await;
        self.wait_for_heading("Пользователи организации").await;
        let row = "//table//tr[td[normalize-space()='eis_user']]";
        self.click(Locator::XPath(&format!("{row}//details/summary")), "the drop-down of the user eis_user").await;
        self.click(
            Locator::XPath(&format!("{row}//a[normalize-space()='Регистрационные данные']")),
            "«Регистрационные данные» of eis_user",
        )
        .await;
        self.wait_for_heading("Регистрационные данные").await;
        self.press(INTEGRATION_BUTTON).await;
        self.wait_for_text("Пароль показывается один раз").await;
        let login = self.field_shown("Логин").await;
        let password = self.field_shown("Пароль").await;
        self.ensure(!login.is_empty() && !password.is_empty(), || "the cabinet shows no login or password".into())
            .await;
        self.click_link("Продолжить").await;
        self.wait_for_heading("Регистрационные данные").await;
        (login, password)
    }

    /// The cabinet's «Реестр планов-графиков», from its top menu.
    async fn cabinet_registry(&self, eis: &str) {
        self.goto(&format!("{eis}/cabinet")).await;
        self.wait_for_heading("Личный кабинет").await;
        self.click_link("Реестр планов-графиков").await;
        self.wait_for_heading("Реестр планов-графиков").await;
    }

    /// «Создать план-график» for the year offered (the next one), the positions typed in one by
    /// one, «Отправить на согласование». Returns the plan's year, as its heading says.
    async fn plan_for_approval(&self, positions: &[Typed]) -> i32 {
        let year = self.create_plan().await;
        for (i, p) in positions.iter().enumerate() {
            self.fill("#object_info", p.object).await;
            self.fill("#publish_year", &year.to_string()).await;
            self.fill("#okpd2", p.okpd2).await;
            self.fill("#kvr", p.kvr).await;
            self.fill("#amount_current", p.amount).await;
            self.press("Добавить позицию").await;
            let number = i as u32 + 1;
            let id = format!("pos-{number:04}");
            // The ИКЗ plangraf computed, and the amount in Russian format.
            self.wait_for_element_text(Locator::Id(&id), &ikz(year, number, p)).await;
            self.wait_for_element_text(Locator::Id(&id), p.amount).await;
        }
        self.press("Отправить на согласование").await;
        self.wait_for_element_text(Locator::Id("plan-status"), "На согласовании").await;
        year
    }

    /// The superior organization approves: «Выйти», «Утвердить» as the approver, and the customer
    /// signs in again.
    async fn approve_as_superior(&self, app: &str, year: i32) {
        self.sign_out().await;
        self.sign_in(app, "soglasovatel", "soglasovatel").await;
        self.open_plan(year).await;
        self.press("Утвердить").await;
        self.wait_for_text("План-график утвержден").await;
        self.sign_out().await;
        self.sign_in(app, "zakazchik", "zakazchik").await;
    }

    /// On the status page of a placed version: the plan's registry number and each purchase's.
    async fn expect_placed(&self, plan_number: &str, positions: &[(&str, String)]) {
        self.wait_for_element_text(Locator::Id("eis-plan-number"), plan_number).await;
        for (purchase, number) in positions {
            self.expect_cell(
                &format!("//table[@id='position-numbers']/tbody/tr[td[1][normalize-space()='{purchase}']]"),
                2,
                number,
            )
            .await;
        }
        let rows = self.table_rows("//table[@id='position-numbers']/tbody/tr").await;
        self.ensure(rows.len() == positions.len(), || {
            format!("registry numbers of {} positions expected: {rows:?}", positions.len())
        })
        .await;
    }
}
