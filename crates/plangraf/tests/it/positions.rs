//! Positions of every kind through the real forms: several ОКПД2, a special purchase, a КВР
//! breakdown by year; each wrong input reported on its field, each pre-flight finding pinned to
//! its position's field, and a plan with every kind approved and loaded into ЕИС.

use crate::common::*;
use domain::ids::{PlanId, VersionId};

fn line<'a>(code: &'a str, current: &'a str) -> [(&'static str, &'a str); 5] {
    [("line_code", code), ("line_current", current), ("line_first", ""), ("line_second", ""), ("line_subsequent", "")]
}

#[tokio::test]
async fn positions_of_every_kind_are_checked_and_sent() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2026").await;

    // The form offers the blocks of a budget institution (type 03): the КВР breakdown, the kinds
    // of special purchase, the live ИКЗ.
    let page = customer.get(&format!("/plans/{plan}")).await;
    assert!(page.has("Распределение по КВР") && !page.has("Распределение по КБК"));
    assert!(page.has("Особая закупка: Закупки в соответствии с п. 4 ч. 1 ст. 93"));
    assert!(page.has("id=\"ikz-live\"") && page.has("data-iku=\"27801000011780101001\""));

    // 1. Several ОКПД2: the ИКЗ gets 0000 for them.
    let p = customer
        .add_position(
            plan,
            &[
                ("object_info", "Канцелярские товары и бумага"),
                ("publish_year", "2026"),
                ("okpd2", "17.12.14, 22.29.25.000"),
                ("kvr", "244"),
                ("amount_current", "90 000"),
            ],
        )
        .await;
    assert!(p.has("Позиция добавлена"), "{}", p.body);
    assert!(p.has("262780100001178010100100010000000244"), "ИКЗ with 0000 for several ОКПД2: {}", p.body);
    assert!(p.has("17.12.14; 22.29.25.000"));

    // 2. A special purchase: its kind from НСИ, no ОКПД2.
    let special =
        [("special_type", "P4_1_93"), ("publish_year", "2026"), ("kvr", "244"), ("amount_current", "300 000")];
    let mut with_okpd = special.to_vec();
    with_okpd.push(("okpd2", "17.12.14"));
    let p = customer.add_position(plan, &with_okpd).await;
    assert_eq!(p.status, 422);
    assert!(p.has("Для особой закупки ОКПД2 не указывается"));
    let mut unknown = special.to_vec();
    unknown[0] = ("special_type", "P99_1_93");
    let p = customer.add_position(plan, &unknown).await;
    assert_eq!(p.status, 422);
    assert!(p.has("не найден в справочнике"));
    let p = customer.add_position(plan, &special).await;
    assert!(p.has("Позиция добавлена"), "{}", p.body);
    assert!(p.has("Особая закупка: Закупки в соответствии с п. 4 ч. 1 ст. 93"));
    assert!(p.has("262780100001178010100100020000000244"), "special ИКЗ: {}", p.body);

    // 3. A КВР breakdown: a bad row is refused with its row number, and nothing is stored.
    let mut form: Vec<(&str, &str)> = vec![
        ("object_info", "Ремонт кабинетов"),
        ("publish_year", "2026"),
        ("okpd2", "43.39.19"),
        ("kvr", ""),
        ("amount_current", "150 000"),
    ];
    form.extend(line("24", "100 000"));
    form.extend(line("247", "50 000"));
    let p = customer.add_position(plan, &form).await;
    assert_eq!(p.status, 422);
    assert!(p.has("Строка 1: код КВР должен состоять из 3 цифр"), "{}", p.body);
    assert!(p.has("value=\"247\""), "typed rows are kept");
    assert_eq!(h.app.store.positions(PlanId(plan)).await.unwrap().len(), 2);
    // Rows that do not add up are stored, and the pre-flight check pins the difference.
    form.truncate(5);
    form.extend(line("244", "100 000"));
    form.extend(line("247", "40 000"));
    let p = customer.add_position(plan, &form).await;
    assert!(p.has("Позиция добавлена"), "{}", p.body);
    assert!(p.has("Сумма распределения по КВР не равна финансовому обеспечению позиции: 2026 год: 140\u{a0}000,00 вместо 150\u{a0}000,00"));
    let stored = h.app.store.positions(PlanId(plan)).await.unwrap();
    let third = stored.iter().find(|s| s.position.purchase_number.get() == 3).unwrap();
    let link = format!("/plans/{plan}/positions/{}/edit#lines", third.id);
    assert!(p.has(&link), "the finding links to the field");
    let p = customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    assert_eq!(p.status, 422, "submission is refused while a finding is open");

    // The edit page shows the finding on the breakdown itself; fixing the row clears it.
    let edit = customer.get(&format!("/plans/{plan}/positions/{}/edit", third.id)).await;
    assert!(edit.has("Сумма распределения по КВР не равна"), "{}", edit.body);
    let row_version = value_of(&edit.body, "row_version");
    let mut fixed = form.clone();
    fixed.truncate(5);
    fixed.extend(line("244", "100 000"));
    fixed.extend(line("247", "50 000"));
    // An optional target-article breakdown beside it.
    fixed.extend([
        ("ta_code", "0110100590"),
        ("ta_current", "150 000"),
        ("ta_first", ""),
        ("ta_second", ""),
        ("ta_subsequent", ""),
    ]);
    fixed.push(("row_version", &row_version));
    let p = customer.post(&format!("/plans/{plan}/positions/{}", third.id), &fixed).await;
    assert!(p.has("Позиция изменена"), "{}", p.body);
    assert!(!p.has("Проверка перед отправкой"), "{}", p.body);
    let journal = customer.get(&format!("/plans/{plan}?tab=journal")).await;
    assert!(
        journal.has("КВР: 244 100\u{a0}000,00; 247 50\u{a0}000,00"),
        "the journal records the breakdown: {}",
        journal.body
    );

    // Approved and sent: ЕИС takes every kind and numbers every position.
    let p = customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    assert!(p.has("На согласовании"), "{}", p.body);
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get(&format!("/plans/{plan}")).await;
    assert!(approver.post(&format!("/plans/{plan}/approve"), &[]).await.has("План-график утвержден"));
    let version = h.app.store.versions(PlanId(plan)).await.unwrap()[0].id.get();
    let print = customer.get(&format!("/versions/{version}/print")).await;
    assert!(
        print.has("в том числе КВР 247")
            && print.has("в том числе целевая статья 0110100590")
            && print.has("Особая закупка"),
        "{}",
        print.body
    );
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get("/settings/eis").await;
    customer
        .post(
            "/settings/eis",
            &[("login", &login), ("change_password", "1"), ("password", &password), ("password_confirm", &password)],
        )
        .await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", "")]).await;
    drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    let sent = &h.app.store.sends_for_version(VersionId(version)).await.unwrap()[0].packet_xml;
    let packet = eis::packet::read_plan_packet(sent).unwrap();
    assert_eq!(packet.data.positions.len(), 2);
    assert_eq!(packet.data.special_positions.len(), 1);
    assert_eq!(packet.data.positions[1].kvrs.len(), 2);
    assert_eq!(packet.data.positions[1].target_articles.len(), 1);
    assert_eq!(packet.data.positions[1].target_articles[0].target_article, "0110100590");
    h.sandbox.directory().publish(plangraf::demo::SCHOOL.spz_code, 2026).await.unwrap();
    drive_to_status(&h, &mut customer, version, "Размещена в ЕИС").await;
    let numbers = h.app.store.version(VersionId(version)).await.unwrap().unwrap().eis_position_numbers;
    assert_eq!(numbers.len(), 3, "special positions get registry numbers too: {numbers:?}");
    h.app.stop().await;
}

#[tokio::test]
async fn the_plan_page_shows_a_page_of_positions_with_filters_and_totals_of_all() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2026").await;
    let store = &h.app.store;
    let author = store.user_by_login("zakazchik").await.unwrap().unwrap().id;
    for n in 1..=60u32 {
        let stored = store.plan(PlanId(plan)).await.unwrap().unwrap();
        let mut p = domain::testing::position(n, "100");
        p.object_info =
            if n == 57 { "Поставка глобусов".into() } else { format!("Закупка номер {n}") };
        store.add_position(&stored, stored.row_version, &p, author).await.unwrap();
    }
    let page = customer.get(&format!("/plans/{plan}")).await;
    assert_eq!(page.status, 200);
    assert!(page.has("Позиций: 60"), "{}", page.body);
    assert_eq!(page.body.matches("<tr id=\"pos-").count(), 50, "one page of 50");
    assert!(page.has("id=\"pos-0050\"") && !page.has("id=\"pos-0051\""));
    let compact = page.body.replace(['\u{a0}', '\u{202f}', ' '], "");
    assert!(compact.contains("<tdclass=\"num\">6000,00</td>"), "the total of all 60 positions: {}", page.body);
    assert!(page.has(&format!("href=\"/plans/{plan}?page=2\"")), "a link to page 2");

    let second = customer.get(&format!("/plans/{plan}?page=2")).await;
    assert_eq!(second.body.matches("<tr id=\"pos-").count(), 10);
    assert!(second.has("id=\"pos-0051\"") && second.has("id=\"pos-0060\""));

    let found = customer.get(&format!("/plans/{plan}?q=%D0%93%D0%9B%D0%9E%D0%91")).await;
    assert!(found.has("Отобрано позиций: 1 из 60"), "{}", found.body);
    assert!(found.has("id=\"pos-0057\"") && found.has("Итого по отобранным позициям"));
    let none = customer.get(&format!("/plans/{plan}?okpd2=99")).await;
    assert!(none.has("Нет позиций, отвечающих условиям отбора"), "{}", none.body);
}
