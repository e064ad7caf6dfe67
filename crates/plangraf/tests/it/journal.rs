//! «Журнал действий»: an administrator searches the audit journal of their organization and its
//! subordinates; filters narrow it, bad filters are refused in Russian, others see nothing.

use crate::common::*;

#[tokio::test]
async fn the_administrator_searches_the_journal_of_the_organization_and_its_subordinates() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2026").await;
    customer.add_position(plan, &POSITION).await;
    customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    // The district is the committee's subordinate too: its entries are in reach.
    let mut district = other_organization(&h).await;
    let district_plan = district.create_plan("2026").await;
    // An organization of its own, out of the committee's reach.
    let foreign = h
        .app
        .store
        .ensure_organization(&store::orgs::NewOrganization {
            name: "Министерство другого региона",
            short_name: "Министерство другого региона",
            superior_id: None,
            spz_code: domain::SpzCode::parse("03722009990").unwrap(),
            inn: domain::org::Inn::parse("7802139698").unwrap(),
            kpp: domain::org::Kpp::parse("780201001").unwrap(),
            org_type: domain::OrgType::Authority,
            budget_level: 2,
            oktmo: "40307000",
        })
        .await
        .unwrap();
    h.app.store.record_audit(None, Some(foreign.id), "plan", Some(424242), "Чужое действие", "").await.unwrap();

    // The operator's command belongs to no organization: the committee, at the top, sees it.
    h.app.store.record_audit(None, None, "reference", None, "Загружен справочник КВР", "").await.unwrap();
    let mut admin = h.client();
    admin.login("admin", "admin").await;
    let page = admin.get("/admin/journal").await;
    assert!(page.has("оператор (командная строка)") && page.has("Загружен справочник КВР"), "{}", page.body);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("Журнал действий") && page.has("href=\"/admin/journal\""), "{}", page.body);
    assert!(page.has(&format!("href=\"/plans/{plan}?tab=journal\">План-график № {plan}")), "{}", page.body);
    assert!(page.has("Петрова Анна Сергеевна (zakazchik)"), "{}", page.body);
    assert!(page.has(&format!("План-график № {district_plan}<")), "a subordinate's entries are shown");
    assert!(!page.has("Чужое действие") && !page.has("424242"), "another organization's entries are not shown");

    // Filters: by login, by action (typed in lower case), by kind of object, by period.
    let by_login = admin.get("/admin/journal?login=zakazchik").await;
    assert!(by_login.has("(zakazchik)"));
    assert!(admin.get("/admin/journal?login=nobody").await.has("Записей, подходящих под условия, нет"));
    let submitted = admin.get(&format!("/admin/journal?action={}", encode("согласован"))).await;
    let rows = submitted.body.matches("<tr><td class=\"nowrap\">").count();
    assert!(rows >= 1, "{}", submitted.body);
    assert!(admin.get("/admin/journal?entity=version").await.has("Записей, подходящих под условия, нет"));
    let today = store::now().with_timezone(&domain::format::moscow()).format("%Y-%m-%d").to_string();
    assert!(admin.get(&format!("/admin/journal?from={today}&to={today}")).await.has("(zakazchik)"));
    assert!(admin.get("/admin/journal?to=2000-01-01").await.has("Записей, подходящих под условия, нет"));

    // Bad filters are refused, not cut or ignored.
    for (query, message) in [
        ("from=31.02.2026", "Начало периода: укажите дату"),
        ("from=2026-12-31&to=2026-01-01", "Начало периода позже его конца"),
        ("entity=secret", "Неизвестный вид объекта"),
        ("before=-5", "Неверный номер страницы журнала"),
    ] {
        let p = admin.get(&format!("/admin/journal?{query}")).await;
        assert_eq!(p.status, 422, "{query}");
        assert!(p.has(message), "{query}: {}", p.body);
    }
    let long = "я".repeat(101);
    let p = admin.get(&format!("/admin/journal?action={}", encode(&long))).await;
    assert_eq!(p.status, 422);
    assert!(p.has("не более 100 символов"), "{}", p.body);

    // Only administrators.
    assert_eq!(customer.get("/admin/journal").await.status, 403);
    assert_eq!(h.client().get("/admin/journal").await.url.rsplit('/').next(), Some("login"));
    h.app.stop().await;
}

#[tokio::test]
async fn the_journal_pages_through_its_entries_newest_first() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2026").await;
    // 61 entries of the plan: more than one page of 50.
    for i in 0..60 {
        let mut position = POSITION;
        let name = format!("Позиция {i}");
        position[0] = ("object_info", &name);
        customer.add_position(plan, &position).await;
    }
    let mut admin = h.client();
    admin.login("admin", "admin").await;
    let first = admin.get("/admin/journal").await;
    assert_eq!(first.body.matches("<tr><td class=\"nowrap\">").count(), 50, "{}", first.body);
    let next = first.body.split("href=\"/admin/journal?").nth(1).map(|r| r[..r.find('"').unwrap()].to_owned());
    let next = next.expect("a link to the next page");
    assert!(next.starts_with("before="), "{next}");
    let second = admin.get(&format!("/admin/journal?{}", next.replace("&amp;", "&"))).await;
    let rest = second.body.matches("<tr><td class=\"nowrap\">").count();
    assert!((1..50).contains(&rest), "{rest}");
    assert!(second.has("Создан план-график"), "the oldest entry comes last: {}", second.body);
    assert!(!first.has("Создан план-график"), "the newest come first");
    h.app.stop().await;
}

fn encode(v: &str) -> String {
    v.bytes().map(|b| format!("%{b:02X}")).collect()
}
