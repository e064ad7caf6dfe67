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
    customer.save_eis_credentials(&login, &password).await;
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
    let numbers = h.app.store.version_head(VersionId(version)).await.unwrap().unwrap().eis_position_numbers;
    assert_eq!(numbers.len(), 3, "special positions get registry numbers too: {numbers:?}");
    h.app.stop().await;
}

async fn approve(h: &Harness, plan: i64) {
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get(&format!("/plans/{plan}")).await;
    assert!(approver.post(&format!("/plans/{plan}/approve"), &[]).await.has("План-график утвержден"));
}

/// Whether the store marks the position as one of the latest approved version.
async fn in_base(h: &Harness, plan: i64, id: domain::ids::PositionId) -> bool {
    h.app.store.position_with_base(PlanId(plan), id).await.unwrap().unwrap().0.in_base
}

/// The position form of `fields` with the version the edit page carried.
fn with_version<'a>(fields: &[(&'a str, &'a str)], row_version: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut f = fields.to_vec();
    f.push(("row_version", row_version));
    f
}

/// Two specialists edit positions of one plan: each position has its own version, so editing
/// one does not refuse an edit of another, while a stale edit of the same position is refused
/// with a message about that position and a link to open it afresh. Then change rounds keep
/// track of which positions are in the latest approved version (approved in version 0,
/// cancelled in version 1, added later).
#[tokio::test]
async fn positions_are_locked_one_by_one_and_rounds_keep_the_base() {
    let h = Harness::start_driven().await;
    let school = h.app.store.organization_by_spz(plangraf::demo::SCHOOL.spz_code).await.unwrap().unwrap();
    let hash = app::users::hash("kollega-pass".into()).await.unwrap();
    h.app
        .store
        .create_user("kollega", &hash, "Сидорова О. П.", school.id, domain::Role::CustomerSpecialist)
        .await
        .unwrap();
    let mut a = h.client();
    a.login("zakazchik", "zakazchik").await;
    let mut b = h.client();
    b.login("kollega", "kollega-pass").await;
    let plan = a.create_plan("2026").await;
    assert!(a.add_position(plan, &POSITION).await.has("Позиция добавлена"));
    assert!(b.add_position(plan, &POSITION).await.has("Позиция добавлена"));
    let stored = h.app.store.positions(PlanId(plan)).await.unwrap();
    let (p1, p2) = (stored[0].id, stored[1].id);
    let edit = |id| format!("/plans/{plan}/positions/{id}");

    // A opens position 1; B changes position 2 and then position 1.
    let a_rv = value_of(&a.get(&format!("{}/edit", edit(p1))).await.body, "row_version");
    let b_page = b.get(&format!("{}/edit", edit(p2))).await;
    let mut mine = POSITION.to_vec();
    mine[0] = ("object_info", "Учебники, уточнено коллегой");
    let p = b.post(&edit(p2), &with_version(&mine, &value_of(&b_page.body, "row_version"))).await;
    assert!(p.has("Позиция изменена"), "{}", p.body);
    // Another position's change does not make A's form stale.
    let mut theirs = POSITION.to_vec();
    theirs[0] = ("object_info", "Учебники для 5-х и 6-х классов");
    let p = a.post(&edit(p1), &with_version(&theirs, &a_rv)).await;
    assert!(p.has("Позиция изменена"), "{}", p.body);
    // B's form of position 1 was read before A saved it: refused, typed values kept, a link
    // to open the position afresh, and the form now carries the position's new version.
    let b_rv = a_rv.clone();
    let p = b.post(&edit(p1), &with_version(&mine, &b_rv)).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.has("Эту позицию изменил другой пользователь"), "{}", p.body);
    assert!(p.has(&format!("href=\"{}/edit\"", edit(p1))) && p.has("Открыть позицию заново"), "{}", p.body);
    assert!(p.has("Учебники, уточнено коллегой"), "typed values are kept");
    let fresh = value_of(&p.body, "row_version");
    assert_ne!(fresh, b_rv);
    let stored = h.app.store.positions(PlanId(plan)).await.unwrap();
    assert_eq!(stored[0].position.object_info, "Учебники для 5-х и 6-х классов", "A's edit is not lost");
    assert!(b.post(&edit(p1), &with_version(&mine, &fresh)).await.has("Позиция изменена"));

    // Deleting names the position's version too: a stale one is refused.
    a.get(&format!("/plans/{plan}")).await;
    let p = a.post(&format!("{}/delete", edit(p2)), &[("row_version", "1")]).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.has("Эту позицию изменил другой пользователь"), "{}", p.body);
    assert_eq!(h.app.store.positions(PlanId(plan)).await.unwrap().len(), 2);

    // Round 0: both positions approved.
    assert!(a.post(&format!("/plans/{plan}/submit"), &[]).await.has("На согласовании"));
    approve(&h, plan).await;
    assert!(in_base(&h, plan, p1).await && in_base(&h, plan, p2).await);

    // Round 1: position 2 cancelled, a new position 3 added (deletable, no justification).
    assert!(a.post(&format!("/plans/{plan}/changes"), &[]).await.has("Открыт новый цикл изменений"));
    let page = a.get(&format!("{}/edit", edit(p2))).await;
    assert!(page.has("Позиция есть в утвержденной версии 0"), "{}", page.body);
    let rv = value_of(&page.body, "row_version");
    let cancel = [("row_version", rv.as_str()), ("reason_code", "9"), ("change_description", "Потребность отпала")];
    assert!(a.post(&format!("{}/cancel", edit(p2)), &cancel).await.has("Закупка отменена"));
    assert!(a.add_position(plan, &POSITION).await.has("Позиция добавлена"));
    let p3 = h.app.store.positions(PlanId(plan)).await.unwrap()[2].id;
    assert!(!in_base(&h, plan, p3).await);
    let page = a.get(&format!("{}/edit", edit(p3))).await;
    assert!(!page.has("Позиция есть в утвержденной версии"), "a new position needs no justification");
    assert!(a.post(&format!("/plans/{plan}/submit"), &[]).await.has("На согласовании"));
    approve(&h, plan).await;

    // Round 2: the cancelled position and position 3 are in version 1; a new one is not.
    assert!(a.post(&format!("/plans/{plan}/changes"), &[]).await.has("Открыт новый цикл изменений"));
    assert!(in_base(&h, plan, p2).await && in_base(&h, plan, p3).await);
    let page = a.get(&format!("{}/edit", edit(p3))).await;
    assert!(page.has("Позиция есть в утвержденной версии 1"), "{}", page.body);
    let p = a.post(&format!("{}/delete", edit(p3)), &[("row_version", &value_of(&page.body, "row_version"))]).await;
    assert!(p.has("нельзя удалить"), "{}", p.body);
    assert!(a.add_position(plan, &POSITION).await.has("Позиция добавлена"));
    let p4 = h.app.store.positions(PlanId(plan)).await.unwrap()[3].id;
    assert!(!in_base(&h, plan, p4).await);
    let p = a.get(&format!("/plans/{plan}")).await;
    assert!(p.has(&format!("action=\"{}/delete\"", edit(p4))), "the new position can be deleted");
    assert!(!p.has(&format!("action=\"{}/delete\"", edit(p3))), "the approved one cannot");

    // The purchase cancelled in round 1 stays cancelled in round 2, as ЕИС keeps it: counted
    // in no total, unchanged (N) against version 1, and it cannot be changed or cancelled again.
    let stored = h.app.store.positions(PlanId(plan)).await.unwrap();
    let cancelled = stored.iter().find(|s| s.id == p2).unwrap();
    assert!(cancelled.position.is_canceled(), "{:?}", cancelled.position);
    let plan_page = a.get(&format!("/plans/{plan}")).await;
    assert!(!plan_page.has(&format!("href=\"{}/edit\"", edit(p2))), "no «Изменить» for it: {}", plan_page.body);
    let page = a.get(&format!("{}/edit", edit(p2))).await;
    let rv = value_of(&page.body, "row_version");
    let p = a.post(&edit(p2), &with_version(&theirs, &rv)).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.has("Закупка отменена в утвержденной версии"), "{}", p.body);
    let cancel = [("row_version", rv.as_str()), ("reason_code", "9"), ("change_description", "Ещё раз")];
    assert_eq!(a.post(&format!("{}/cancel", edit(p2)), &cancel).await.status, 409);
    let page = a.get(&format!("/plans/{plan}/positions/{p4}/edit")).await;
    let p = a
        .post(&format!("/plans/{plan}/positions/{p4}/delete"), &[("row_version", &value_of(&page.body, "row_version"))])
        .await;
    assert!(p.has("Позиция удалена"), "{}", p.body);
    assert!(a.post(&format!("/plans/{plan}/submit"), &[]).await.has("На согласовании"));
    approve(&h, plan).await;
    let versions = h.app.store.versions(PlanId(plan)).await.unwrap();
    let (v1, v2) = (
        &versions.iter().find(|v| v.version_number == 1).unwrap().snapshot,
        &versions.iter().find(|v| v.version_number == 2).unwrap().snapshot,
    );
    assert_eq!(v2.totals(), v1.totals(), "the cancelled purchase is counted in neither");
    let base = v1.index();
    for p in &v2.positions {
        assert_eq!(p.mark(base.get(p.purchase_number)), domain::plan::ChangeMark::Unchanged, "{p:?}");
    }
    assert!(v2.positions.iter().any(|p| p.is_canceled()), "still cancelled in version 2");
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
        store.add_position(&stored, &p, author).await.unwrap().unwrap();
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

    // What the form cannot produce is refused in words, never cut to fit: a filter applied
    // to a cut text would show a selection the user did not ask for.
    let longest = "г".repeat(200);
    let fits = customer.get(&format!("/plans/{plan}?q={longest}")).await;
    assert_eq!(fits.status, 200, "{}", fits.body);
    for (query, says) in [
        (format!("q={longest}г"), "Строка поиска — не более 200 символов"),
        (format!("okpd2={}", "1".repeat(21)), "Начало кода ОКПД2 — не более 20 символов"),
        (format!("kvr={}", "2".repeat(11)), "Код КВР — не более 10 символов"),
        ("page=abc".to_owned(), "Номер страницы должен быть целым числом от 1, получено «abc»"),
        ("page=0".to_owned(), "Номер страницы должен быть целым числом от 1"),
        ("mark=everything".to_owned(), "Неизвестный отбор по отметке «everything»"),
    ] {
        let refused = customer.get(&format!("/plans/{plan}?{query}")).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.body);
        assert!(refused.has(says), "{query}: {}", refused.body);
    }
}
