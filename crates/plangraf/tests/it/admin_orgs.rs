//! «Администрирование» → «Организации» and delegated administration at any depth: the tree and
//! its search, an organization created and edited through the forms with per-field refusals,
//! optimistic concurrency, a new superior moving the plans' counts between the superiors,
//! blocking (sign-in, sessions, held and refused sends) and unblocking, the agreements on the
//! transfer of powers that role OA requires, the reach of an administrator two levels up and of
//! a subordinate's administrator, CSRF, and the journal. Both backends.

use crate::common::{Client, Harness, Page, approved_plan, value_of};
use domain::Role;
use domain::ids::OrgId;
use plangraf::demo;

async fn admin(h: &Harness) -> Client {
    let mut c = h.client();
    c.login("admin", "admin").await;
    c
}

async fn org_of(h: &Harness, spz: &str) -> store::orgs::Organization {
    h.app.store.organization_by_spz(spz).await.unwrap().unwrap()
}

/// A valid form of a new organization below `superior`.
fn fields(spz: &str, short: &str, inn: &str, superior: i64) -> Vec<(&'static str, String)> {
    vec![
        ("spz_code", spz.to_owned()),
        ("name", format!("Государственное бюджетное учреждение «{short}»")),
        ("short_name", short.to_owned()),
        ("inn", inn.to_owned()),
        ("kpp", "780101001".to_owned()),
        ("iku", String::new()),
        ("org_type", "03".to_owned()),
        ("budget_level", "2".to_owned()),
        ("oktmo", "40911000".to_owned()),
        ("superior_id", superior.to_string()),
    ]
}

async fn post_fields(c: &mut Client, path: &str, f: &[(&'static str, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.post(path, &pairs).await
}

/// Creates an organization through the form; answers its id.
async fn create_org(h: &Harness, c: &mut Client, spz: &str, short: &str, inn: &str, superior: i64) -> i64 {
    c.get("/admin/orgs/new").await;
    let p = post_fields(c, "/admin/orgs", &fields(spz, short, inn, superior)).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("Организация создана."), "{}", p.body);
    org_of(h, spz).await.id.get()
}

async fn org_count(h: &Harness) -> usize {
    h.app.store.organizations().await.unwrap().len()
}

/// A user of `org` with a password of their own (no forced change), signed in.
async fn signed_in_user(h: &Harness, login: &str, org: i64, role: Role) -> Client {
    let password = format!("{login}-Пароль-2026");
    let hash = app::users::hash(password.clone()).await.unwrap();
    h.app.store.create_user(login, &hash, "Тестов Тест Тестович", OrgId(org), role).await.unwrap().unwrap();
    let mut c = h.client();
    let p = c.login(login, &password).await;
    assert_eq!(p.status, 200, "{}", p.body);
    c
}

#[tokio::test]
async fn create_and_edit_with_per_field_refusals_concurrency_and_the_journal() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let committee = org_of(&h, demo::COMMITTEE.spz_code).await.id.get();
    let district = org_of(&h, demo::DISTRICT.spz_code).await.id.get();
    let mut c = admin(&h).await;

    let list = c.get("/admin/orgs").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.has("href=\"/admin/orgs\">Организации</a>"), "the menu item");
    for spz in [demo::COMMITTEE.spz_code, demo::SCHOOL.spz_code, demo::DISTRICT.spz_code] {
        assert!(list.has(&format!("data-spz=\"{spz}\"")), "{spz}: {}", list.body);
    }
    assert!(list.has("Найдено организаций: 3."), "{}", list.body);

    // Every field wrong at once: each gets its message, nothing is created.
    let before = org_count(&h).await;
    c.get("/admin/orgs/new").await;
    let bad = vec![
        ("spz_code", "0372200".to_owned()),
        ("name", String::new()),
        ("short_name", "Ш".repeat(501)),
        ("inn", "78010000".to_owned()),
        ("kpp", "7801010".to_owned()),
        ("iku", "1".to_owned()),
        ("org_type", "04".to_owned()),
        ("budget_level", "7".to_owned()),
        ("oktmo", "4091".to_owned()),
        ("superior_id", "999999".to_owned()),
    ];
    let p = post_fields(&mut c, "/admin/orgs", &bad).await;
    assert_eq!(p.status, 422, "{}", p.body);
    for message in [
        "Код по СПЗ должен состоять из 11 цифр",
        "Укажите полное наименование.",
        "Краткое наименование не длиннее 500 символов.",
        "ИНН должен состоять из 10 или 12 цифр",
        "КПП должен состоять из 9 символов",
        "Выберите тип организации из списка.",
        "Уровень бюджета должен быть 1",
        "Код ОКТМО должен состоять из 8 или 11 цифр.",
        "Выберите вышестоящую организацию из списка.",
    ] {
        assert!(p.has(message), "{message}: {}", p.body);
    }
    assert!(p.has("Организация не создана: исправьте ошибки в отмеченных полях."), "{}", p.body);
    assert_eq!(org_count(&h).await, before, "nothing created");

    // A typed ИКУ that does not match budget level, ИНН and КПП.
    let mut f = fields("03722001101", "Гимназия № 2", "7801000044", district);
    f[5].1 = "37801000044780101001".to_owned();
    let p = post_fields(&mut c, "/admin/orgs", &f).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.has("должен быть 27801000044780101001"), "{}", p.body);
    assert_eq!(org_count(&h).await, before);
    // A taken СПЗ code.
    let p = post_fields(&mut c, "/admin/orgs", &fields(demo::SCHOOL.spz_code, "Дубль", "7801000044", district)).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.has(&format!("Организация с кодом по СПЗ {} уже есть", demo::SCHOOL.spz_code)), "{}", p.body);
    assert_eq!(org_count(&h).await, before);

    // Created two levels below the administrator's organization, with the ИКУ typed right.
    f[5].1 = "27801000044780101001".to_owned();
    let p = post_fields(&mut c, "/admin/orgs", &f).await;
    assert!(p.has("Организация создана."), "{}", p.body);
    let gym = org_of(&h, "03722001101").await;
    assert_eq!(gym.superior_id, Some(OrgId(district)));
    assert!(p.has("27801000044780101001"), "the card shows the ИКУ: {}", p.body);
    let tree = c.get("/admin/orgs").await;
    let row = &tree.body[tree.body.find("data-spz=\"03722001101\"").unwrap()..];
    assert!(row.starts_with("data-spz=\"03722001101\" data-depth=\"2\""), "indented under the district: {row}");
    let district_row = &tree.body[tree.body.find(&format!("data-spz=\"{}\"", demo::DISTRICT.spz_code)).unwrap()..];
    assert!(district_row.find("Гимназия").unwrap() > 0, "the subordinate follows its superior in the tree");

    // Edit: a stale form is refused and changes nothing; a fresh one saves and is journaled.
    let form = c.get(&format!("/admin/orgs/{}/edit", gym.id.get())).await;
    let row_version = value_of(&form.body, "row_version");
    let mut edit = fields("03722001101", "Гимназия № 2 им. Пушкина", "7801000044", district);
    edit.push(("row_version", row_version.clone()));
    let mut other = admin(&h).await;
    other.get(&format!("/admin/orgs/{}/edit", gym.id.get())).await;
    let mut first = fields("03722001101", "Гимназия № 2 (первая правка)", "7801000044", district);
    first.push(("row_version", row_version.clone()));
    let p = post_fields(&mut other, &format!("/admin/orgs/{}", gym.id.get()), &first).await;
    assert!(p.has("Изменения сохранены."), "{}", p.body);
    let p = post_fields(&mut c, &format!("/admin/orgs/{}", gym.id.get()), &edit).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.has("Организацию изменил другой администратор"), "{}", p.body);
    assert_eq!(org_of(&h, "03722001101").await.short_name, "Гимназия № 2 (первая правка)");
    let form = c.get(&format!("/admin/orgs/{}/edit", gym.id.get())).await;
    edit.last_mut().unwrap().1 = value_of(&form.body, "row_version");
    edit[8].1 = "40911000001".to_owned();
    let p = post_fields(&mut c, &format!("/admin/orgs/{}", gym.id.get()), &edit).await;
    assert!(p.has("Изменения сохранены."), "{}", p.body);
    let saved = org_of(&h, "03722001101").await;
    assert_eq!((saved.short_name.as_str(), saved.oktmo.as_str()), ("Гимназия № 2 им. Пушкина", "40911000001"));
    // A superior below the organization itself is a cycle.
    let form = c.get(&format!("/admin/orgs/{district}/edit")).await;
    let mut cycle = fields(demo::DISTRICT.spz_code, demo::DISTRICT.short_name, demo::DISTRICT.inn, gym.id.get());
    cycle[1].1 = demo::DISTRICT.name.to_owned();
    cycle[3].1 = "7801000022".to_owned();
    cycle[6].1 = "01".to_owned();
    cycle.push(("row_version", value_of(&form.body, "row_version")));
    let p = post_fields(&mut c, &format!("/admin/orgs/{district}"), &cycle).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.has("замкнутый круг подчинения"), "{}", p.body);
    assert_eq!(org_of(&h, demo::DISTRICT.spz_code).await.superior_id, Some(OrgId(committee)));

    let journal = store.audit_for("organization", gym.id.get()).await.unwrap();
    let actions: Vec<&str> = journal.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["Создана организация", "Изменена организация", "Изменена организация"]);
    assert!(journal[2].details.contains("ОКТМО"), "{}", journal[2].details);
    let page = c.get("/admin/journal?entity=organization").await;
    assert!(page.has("Создана организация") && page.has(&format!("/admin/orgs/{}", gym.id.get())), "{}", page.body);

    // Search by name part (any case), by ИНН, by СПЗ; a long query is refused.
    let found = c.get("/admin/orgs?q=%D0%BF%D1%83%D1%88%D0%BA%D0%B8%D0%BD").await; // пушкин
    assert!(found.has("data-spz=\"03722001101\"") && found.has("Найдено организаций: 1."), "{}", found.body);
    assert!(found.has("Комитет по образованию › Отдел образования Центрального района"), "the path: {}", found.body);
    let found = c.get(&format!("/admin/orgs?q={}", demo::SCHOOL.inn)).await;
    assert!(found.has(&format!("data-spz=\"{}\"", demo::SCHOOL.spz_code)) && found.has("Найдено организаций: 1."));
    let found = c.get(&format!("/admin/orgs?branch={district}")).await;
    assert!(found.has("Найдено организаций: 2.") && !found.has(&format!("data-spz=\"{}\"", demo::SCHOOL.spz_code)));
    let refused = c.get(&format!("/admin/orgs?q={}", "я".repeat(101))).await;
    assert_eq!(refused.status, 422);
    assert!(refused.has("Строка поиска не длиннее 100 символов"));
    assert_eq!(c.get("/admin/orgs?page=x").await.status, 400);

    // Without the CSRF token nothing is created or changed.
    let before = org_count(&h).await;
    let f = fields("03722001102", "Лицей", "7801000055", district);
    let mut raw: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = c.post_raw("/admin/orgs", &raw, None).await;
    assert_eq!(p.status, 403, "{}", p.body);
    raw.push(("csrf", "поддельный"));
    let p = c.post_raw("/admin/orgs", &raw, None).await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = c.post_raw(&format!("/admin/orgs/{}/block", gym.id.get()), &[], None).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert_eq!(org_count(&h).await, before);
    assert!(!store.organization_blocked(gym.id).await.unwrap());

    // Not an administrator: refused.
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    assert_eq!(customer.get("/admin/orgs").await.status, 403);
    assert_eq!(customer.get(&format!("/admin/orgs/{}", gym.id.get())).await.status, 403);
    let p = post_fields(&mut customer, "/admin/orgs", &fields("03722001102", "Лицей", "7801000055", district)).await;
    assert_eq!(p.status, 403);
    assert_eq!(org_count(&h).await, before);
    h.app.stop().await;
}

#[tokio::test]
async fn delegation_reaches_every_level_below_and_nothing_above_or_beside() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let committee = org_of(&h, demo::COMMITTEE.spz_code).await.id.get();
    let school = org_of(&h, demo::SCHOOL.spz_code).await.id.get();
    let district = org_of(&h, demo::DISTRICT.spz_code).await.id.get();
    let mut top = admin(&h).await;
    let gym = create_org(&h, &mut top, "03722001101", "Гимназия № 2", "7801000044", district).await;

    // The committee's administrator, two levels up, manages the gymnasium's users.
    top.get("/admin/users/new").await;
    let p = top
        .post(
            "/admin/users",
            &[
                ("login", "gimn"),
                ("full_name", "Гимназистова Гала"),
                ("org_id", &gym.to_string()),
                ("roles", "customer"),
            ],
        )
        .await;
    assert!(p.has("one-time-password"), "{}", p.body);
    let gimn = store.user_by_login("gimn").await.unwrap().unwrap();
    assert_eq!(gimn.org_id.get(), gym);
    assert!(top.get("/admin/users").await.has("data-login=\"gimn\""));
    top.get(&format!("/admin/users/{}", gimn.id.get())).await;
    let p = top.post(&format!("/admin/users/{}/block", gimn.id.get()), &[]).await;
    assert!(p.has("Пользователь заблокирован"), "{}", p.body);
    assert!(store.user_credentials("gimn").await.unwrap().unwrap().blocked);

    // The district's administrator: its own organization and the gymnasium, not the committee
    // (its superior) nor the school (its sibling).
    let mut mid = signed_in_user(&h, "rayon.admin", district, Role::Admin).await;
    let tree = mid.get("/admin/orgs").await;
    assert!(tree.has("data-spz=\"03722001101\"") && tree.has(&format!("data-spz=\"{}\"", demo::DISTRICT.spz_code)));
    assert!(!tree.has(&format!("data-spz=\"{}\"", demo::COMMITTEE.spz_code)), "{}", tree.body);
    assert!(!tree.has(&format!("data-spz=\"{}\"", demo::SCHOOL.spz_code)), "{}", tree.body);
    let users = mid.get("/admin/users").await;
    assert!(users.has("data-login=\"gimn\"") && users.has("data-login=\"rayon.admin\""), "{}", users.body);
    assert!(!users.has("data-login=\"zakazchik\"") && !users.has("data-login=\"admin\""), "{}", users.body);
    for id in [committee, school] {
        assert_eq!(mid.get(&format!("/admin/orgs/{id}")).await.status, 404);
        assert_eq!(mid.get(&format!("/admin/orgs/{id}/edit")).await.status, 404);
        assert_eq!(mid.get(&format!("/admin/orgs?branch={id}")).await.status, 404);
    }
    let zak = store.user_by_login("zakazchik").await.unwrap().unwrap();
    assert_eq!(mid.get(&format!("/admin/users/{}", zak.id.get())).await.status, 404);
    mid.get("/admin/orgs").await;
    for action in ["block", "unblock"] {
        let p = mid.post(&format!("/admin/orgs/{school}/{action}"), &[]).await;
        assert_eq!(p.status, 404, "{action}: {}", p.body);
    }
    let p =
        mid.post(&format!("/admin/orgs/{school}/agreements"), &[("number", "5"), ("signed_on", "2026-01-10")]).await;
    assert_eq!(p.status, 404);
    let p = post_fields(
        &mut mid,
        &format!("/admin/orgs/{school}"),
        &fields(demo::SCHOOL.spz_code, "Чужая", demo::SCHOOL.inn, district),
    )
    .await;
    assert_eq!(p.status, 404);
    assert_eq!(org_of(&h, demo::SCHOOL.spz_code).await.short_name, demo::SCHOOL.short_name);
    assert!(!store.organization_blocked(OrgId(school)).await.unwrap());
    assert_eq!(store.agreements_of(OrgId(school)).await.unwrap().len(), 1, "only the demo's");
    // A new organization below the committee or the school is out of reach too.
    let before = org_count(&h).await;
    for superior in [committee, school] {
        mid.get("/admin/orgs/new").await;
        let p =
            post_fields(&mut mid, "/admin/orgs", &fields("03722001103", "Чужой лицей", "7801000066", superior)).await;
        assert_eq!(p.status, 422, "{}", p.body);
        assert!(p.has("Выберите вышестоящую организацию из списка."), "{}", p.body);
    }
    assert_eq!(org_count(&h).await, before);
    // Its own organization: it may not block it, nor move it away from its superior.
    let p = mid.post(&format!("/admin/orgs/{district}/block"), &[]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.has("Свою организацию заблокировать нельзя"), "{}", p.body);
    let form = mid.get(&format!("/admin/orgs/{district}/edit")).await;
    assert!(form.has("без изменений (вне вашего администрирования)"), "{}", form.body);
    let mut own = fields(demo::DISTRICT.spz_code, demo::DISTRICT.short_name, demo::DISTRICT.inn, gym);
    own[1].1 = demo::DISTRICT.name.to_owned();
    own[6].1 = "01".to_owned();
    own.push(("row_version", value_of(&form.body, "row_version")));
    let p = post_fields(&mut mid, &format!("/admin/orgs/{district}"), &own).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert_eq!(org_of(&h, demo::DISTRICT.spz_code).await.superior_id, Some(OrgId(committee)));
    // The journal of the district's administrator holds the gymnasium's entries, not the school's.
    let journal = mid.get("/admin/journal").await;
    assert!(journal.has("Создана организация") && journal.has("Пользователь заблокирован"), "{}", journal.body);
    let school_entries = store.audit_for("organization", school).await.unwrap();
    assert!(!school_entries.is_empty(), "the demo's agreement is journaled on the school");
    assert!(!journal.has(&format!("/admin/orgs/{school}\"")), "{}", journal.body);
    h.app.stop().await;
}

#[tokio::test]
async fn a_new_superior_moves_the_plans_counts() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let committee = org_of(&h, demo::COMMITTEE.spz_code).await.id;
    let district = org_of(&h, demo::DISTRICT.spz_code).await.id;
    let school = org_of(&h, demo::SCHOOL.spz_code).await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    approved_plan(&h, &mut customer, "2027").await;
    let plan = customer.create_plan("2028").await;
    let mut position = crate::common::POSITION;
    position[1] = ("publish_year", "2028");
    let p = customer.add_position(plan, &position).await;
    assert!(p.has("Позиция добавлена"), "{}", p.body);
    let p = customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    assert!(p.has("На согласовании"), "{}", p.body);

    let before_committee = store.plan_counts(committee).await.unwrap();
    let before_district = store.plan_counts(district).await.unwrap();
    assert_eq!(before_committee, store.plan_counts_counted(committee).await.unwrap());
    let school_plans = store.plan_counts(school.id).await.unwrap().own;
    assert!(school_plans >= 2 && before_committee.awaiting >= 1, "{before_committee:?}");

    let mut c = admin(&h).await;
    let form = c.get(&format!("/admin/orgs/{}/edit", school.id.get())).await;
    let mut f = fields(demo::SCHOOL.spz_code, demo::SCHOOL.short_name, demo::SCHOOL.inn, district.get());
    f[1].1 = demo::SCHOOL.name.to_owned();
    f.push(("row_version", value_of(&form.body, "row_version")));
    let p = post_fields(&mut c, &format!("/admin/orgs/{}", school.id.get()), &f).await;
    assert!(p.has("Изменения сохранены."), "{}", p.body);
    assert!(p.has("Отдел образования Центрального района"), "the new superior on the card");

    let after_committee = store.plan_counts(committee).await.unwrap();
    let after_district = store.plan_counts(district).await.unwrap();
    assert_eq!(after_committee, store.plan_counts_counted(committee).await.unwrap(), "the committee's tally");
    assert_eq!(after_district, store.plan_counts_counted(district).await.unwrap(), "the district's tally");
    assert_eq!(after_committee.subordinates, before_committee.subordinates - school_plans);
    assert_eq!(after_district.subordinates, before_district.subordinates + school_plans);
    assert_eq!(after_committee.awaiting, before_committee.awaiting - 1);
    assert_eq!(after_district.awaiting, before_district.awaiting + 1);
    let journal = store.audit_for("organization", school.id.get()).await.unwrap();
    let last = journal.last().unwrap();
    assert!(
        last.details
            .contains("вышестоящая организация: Комитет по образованию → Отдел образования Центрального района"),
        "{}",
        last.details
    );

    // The superior's plan list shows the school's plan awaiting its approval; the committee's
    // approver no longer does.
    let mut district_approver = signed_in_user(&h, "rayon.sogl", district.get(), Role::Approver).await;
    let list = district_approver.get("/plans").await;
    assert!(list.has(&format!("/plans/{plan}\"")), "{}", list.body);
    let mut committee_approver = h.client();
    committee_approver.login("soglasovatel", "soglasovatel").await;
    let list = committee_approver.get("/plans").await;
    assert!(!list.has(&format!("/plans/{plan}\"")), "{}", list.body);

    // A list loaded with another superior moves the counts as well.
    let listed = store::orgs::ListedOrganization {
        name: demo::SCHOOL.name.to_owned(),
        short_name: demo::SCHOOL.short_name.to_owned(),
        superior_spz: Some(domain::org::SpzCode::parse(demo::COMMITTEE.spz_code).unwrap()),
        spz_code: domain::org::SpzCode::parse(demo::SCHOOL.spz_code).unwrap(),
        inn: domain::org::Inn::parse(demo::SCHOOL.inn).unwrap(),
        kpp: domain::org::Kpp::parse(demo::SCHOOL.kpp).unwrap(),
        org_type: demo::SCHOOL.org_type,
        budget_level: 2,
        oktmo: "40911000".to_owned(),
    };
    let loaded = store.load_organizations(std::slice::from_ref(&listed), None, None).await.unwrap();
    assert_eq!(loaded.updated, 1);
    assert_eq!(store.plan_counts(committee).await.unwrap(), before_committee, "moved back by the load");
    assert_eq!(store.plan_counts(district).await.unwrap(), before_district);
    let loaded = store
        .load_organizations(
            &[store::orgs::ListedOrganization {
                superior_spz: Some(domain::org::SpzCode::parse(demo::DISTRICT.spz_code).unwrap()),
                ..listed
            }],
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(loaded.updated, 1);
    assert_eq!(store.plan_counts(district).await.unwrap(), after_district);
    assert_eq!(store.plan_counts(committee).await.unwrap(), store.plan_counts_counted(committee).await.unwrap());

    // And back through the form: the counts return.
    let form = c.get(&format!("/admin/orgs/{}/edit", school.id.get())).await;
    let last = f.len() - 1;
    f[last].1 = value_of(&form.body, "row_version");
    f[9].1 = committee.get().to_string();
    let p = post_fields(&mut c, &format!("/admin/orgs/{}", school.id.get()), &f).await;
    assert!(p.has("Изменения сохранены."), "{}", p.body);
    assert_eq!(store.plan_counts(committee).await.unwrap(), before_committee);
    assert_eq!(store.plan_counts(district).await.unwrap(), before_district);
    h.app.stop().await;
}

#[tokio::test]
async fn a_blocked_organization_keeps_its_history_and_sends_nothing_new() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let school = org_of(&h, demo::SCHOOL.spz_code).await.id;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, version) = approved_plan(&h, &mut customer, "2027").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    assert_eq!(store.queued_sends_of_org(school).await.unwrap(), 1);

    let mut c = admin(&h).await;
    c.get(&format!("/admin/orgs/{}", school.get())).await;
    let p = c.post(&format!("/admin/orgs/{}/block", school.get()), &[]).await;
    assert!(p.has("Организация заблокирована:"), "{}", p.body);
    assert!(p.has("id=\"org-blocked\""), "{}", p.body);
    assert!(p.has("1 отправок ждут в очереди её разблокировки"), "{}", p.body);
    let tree = c.get("/admin/orgs").await;
    let row = &tree.body[tree.body.find(&format!("data-spz=\"{}\"", demo::SCHOOL.spz_code)).unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains("заблокирована"), "{row}");
    let users = c.get("/admin/users").await;
    let row = &users.body[users.body.find("data-login=\"zakazchik\"").unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains("организация заблокирована, вход невозможен"), "{row}");

    // Its users are signed out and cannot sign in, nor get an API token.
    let p = customer.get("/plans").await;
    assert!(p.url.contains("/login"), "the session ended: {}", p.url);
    let mut again = h.client();
    let p = again.post_raw("/login", &[("login", "zakazchik"), ("password", "zakazchik")], None).await;
    assert!(!p.url.ends_with("/plans"), "signed in to a blocked organization: {}", p.url);
    assert!(p.has("Неверный логин или пароль"), "{}", p.body);
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", h.app.url()))
        .json(&serde_json::json!({"login": "zakazchik", "password": "zakazchik"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // The queued send is held: the runner takes nothing of it.
    assert!(store.claim_due_send("test-runner", store::now(), 5_000).await.unwrap().is_none(), "held while blocked");
    assert_eq!(
        store.latest_send(domain::ids::VersionId(version)).await.unwrap().unwrap().status,
        domain::SendStatus::Queued
    );
    // Its plan stays readable to its superior.
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    assert_eq!(approver.get(&format!("/plans/{plan}")).await.status, 200);
    let status = approver.get(&format!("/versions/{version}/status")).await;
    assert_eq!(status.status, 200);
    assert!(status.has("отправка ждёт в очереди и уйдёт в ЕИС после разблокировки организации"), "{}", status.body);

    let journal = store.audit_for("organization", school.get()).await.unwrap();
    let blocked = journal.iter().find(|e| e.action == "Организация заблокирована").unwrap();
    assert!(blocked.details.contains("отправок в ЕИС задержано в очереди: 1"), "{}", blocked.details);

    // Unblocked: the users sign in again and the held send goes.
    c.get(&format!("/admin/orgs/{}", school.get())).await;
    let p = c.post(&format!("/admin/orgs/{}/unblock", school.get()), &[]).await;
    assert!(p.has("Организация разблокирована"), "{}", p.body);
    let p = again.login("zakazchik", "zakazchik").await;
    assert!(p.url.contains("/plans"), "{}", p.url);
    let claimed = store.claim_due_send("test-runner", store::now(), 5_000).await.unwrap().expect("the held send goes");
    assert_eq!(claimed.send.version_id.get(), version);
    store.release_leases("test-runner").await.unwrap();
    let actions: Vec<String> =
        store.audit_for("organization", school.get()).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(
        actions.ends_with(&["Организация заблокирована".to_owned(), "Организация разблокирована".to_owned()]),
        "{actions:?}"
    );
    h.app.stop().await;
}

async fn set_owner(c: &mut Client, plan: i64, role: &str) -> Page {
    let page = c.get(&format!("/plans/{plan}")).await;
    let rv = value_of(&page.body, "row_version");
    c.post(&format!("/plans/{plan}/owner"), &[("owner_role", role), ("row_version", &rv)]).await
}

async fn owner_role(h: &Harness, plan: i64) -> domain::plan::OwnerRole {
    h.app.store.plan(domain::ids::PlanId(plan)).await.unwrap().unwrap().owner_role
}

#[tokio::test]
async fn role_oa_needs_an_agreement_in_force_and_a_blocked_organization_sends_nothing_new() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let school = org_of(&h, demo::SCHOOL.spz_code).await.id;
    let committee = org_of(&h, demo::COMMITTEE.spz_code).await.id;
    let mut c = admin(&h).await;
    let card = c.get(&format!("/admin/orgs/{}", school.get())).await;
    assert!(card.has("1-ДЕМО") && card.has("действует"), "the demo's agreement: {}", card.body);
    let demo_agreement = store.agreements_of(school).await.unwrap()[0].id;
    let p = c.post(&format!("/admin/orgs/{}/agreements/{demo_agreement}/revoke", school.get()), &[]).await;
    assert!(p.has("Соглашение отозвано."), "{}", p.body);
    assert!(p.has("отозвано "), "{}", p.body);

    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2027").await;
    let p = set_owner(&mut customer, plan, "OA").await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(
        p.has("Нет действующего соглашения о передаче полномочий с вышестоящей организацией «Комитет по образованию»"),
        "{}",
        p.body
    );
    assert_eq!(owner_role(&h, plan).await, domain::plan::OwnerRole::Customer);

    // Bad agreements are refused per field and add nothing.
    let count = store.agreements_of(school).await.unwrap().len();
    c.get(&format!("/admin/orgs/{}", school.get())).await;
    let p = c
        .post(
            &format!("/admin/orgs/{}/agreements", school.get()),
            &[("number", ""), ("signed_on", "31.02.2026"), ("valid_from", "2026-05-01"), ("valid_to", "2026-04-01")],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    for m in
        ["Укажите номер соглашения.", "Укажите дату в виде ДД.ММ.ГГГГ.", "Дата окончания действия раньше даты начала."]
    {
        assert!(p.has(m), "{m}: {}", p.body);
    }
    assert_eq!(store.agreements_of(school).await.unwrap().len(), count);
    // One that has ended does not allow OA.
    let p = c
        .post(
            &format!("/admin/orgs/{}/agreements", school.get()),
            &[("number", "12/2020"), ("signed_on", "15.01.2020"), ("valid_from", ""), ("valid_to", "31.12.2020")],
        )
        .await;
    assert!(p.has("Соглашение внесено."), "{}", p.body);
    assert!(p.has("не действует в этот день"), "{}", p.body);
    let p = set_owner(&mut customer, plan, "OA").await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert_eq!(owner_role(&h, plan).await, domain::plan::OwnerRole::Customer);
    // One in force does.
    c.get(&format!("/admin/orgs/{}", school.get())).await;
    let p = c
        .post(&format!("/admin/orgs/{}/agreements", school.get()), &[("number", "7-П"), ("signed_on", "2025-12-20")])
        .await;
    assert!(p.has("Соглашение внесено."), "{}", p.body);
    set_owner(&mut customer, plan, "OA").await;
    assert_eq!(owner_role(&h, plan).await, domain::plan::OwnerRole::Agent);
    let actions: Vec<String> =
        store.audit_for("organization", school.get()).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(
        actions.iter().filter(|a| a.as_str() == "Внесено соглашение о передаче полномочий").count(),
        3,
        "the demo's and two: {actions:?}"
    );
    assert!(actions.iter().any(|a| a == "Отозвано соглашение о передаче полномочий"));
    // The committee has no superior: no agreement of its own to record.
    c.get(&format!("/admin/orgs/{}", committee.get())).await;
    let p = c
        .post(&format!("/admin/orgs/{}/agreements", committee.get()), &[("number", "1"), ("signed_on", "2026-01-10")])
        .await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(store.agreements_of(committee).await.unwrap().is_empty());

    // The plan goes on to approval; then the school is blocked, and the committee, which places
    // it under the agreement, cannot send it.
    let mut position = crate::common::POSITION;
    position[1] = ("publish_year", "2027");
    let p = customer.add_position(plan, &position).await;
    assert!(p.has("Позиция добавлена"), "{}", p.body);
    let p = customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    assert!(p.has("На согласовании"), "{}", p.body);
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get(&format!("/plans/{plan}")).await;
    let p = approver.post(&format!("/plans/{plan}/approve"), &[]).await;
    assert!(p.has("План-график утвержден"), "{}", p.body);
    let version = store.versions(domain::ids::PlanId(plan)).await.unwrap()[0].id.get();
    // With the agreement revoked, the committee cannot send the plan it places for the school.
    let in_force = store.agreements_of(school).await.unwrap().into_iter().find(|a| a.number == "7-П").unwrap().id;
    c.get(&format!("/admin/orgs/{}", school.get())).await;
    c.post(&format!("/admin/orgs/{}/agreements/{in_force}/revoke", school.get()), &[]).await;
    let mut komitet = h.client();
    komitet.login("komitet", "komitet").await;
    let dialog = komitet.get(&format!("/versions/{version}/send")).await;
    assert!(dialog.has("Нет действующего соглашения о передаче полномочий"), "{}", dialog.body);
    let p = komitet
        .post(&format!("/versions/{version}/send"), &[("login", "eis_komitet"), ("password", "eis-пароль")])
        .await;
    assert!(!p.url.contains("/status") && p.has("Нет действующего соглашения"), "{} {}", p.url, p.body);
    assert!(store.latest_send(domain::ids::VersionId(version)).await.unwrap().is_none(), "nothing queued");
    c.get(&format!("/admin/orgs/{}", school.get())).await;
    let p = c
        .post(&format!("/admin/orgs/{}/agreements", school.get()), &[("number", "8-П"), ("signed_on", "2026-01-12")])
        .await;
    assert!(p.has("Соглашение внесено."), "{}", p.body);

    c.get(&format!("/admin/orgs/{}", school.get())).await;
    c.post(&format!("/admin/orgs/{}/block", school.get()), &[]).await;
    assert!(store.organization_blocked(school).await.unwrap());
    let dialog = komitet.get(&format!("/versions/{version}/send")).await;
    assert!(dialog.has("Организация заблокирована администратором"), "the dialog says so first: {}", dialog.body);
    let p = komitet
        .post(&format!("/versions/{version}/send"), &[("login", "eis_komitet"), ("password", "eis-пароль")])
        .await;
    assert!(!p.url.contains("/status"), "queued: {}", p.url);
    assert!(p.has("Организация заблокирована администратором"), "{}", p.body);
    assert!(store.latest_send(domain::ids::VersionId(version)).await.unwrap().is_none(), "nothing queued");
    h.app.stop().await;
}

#[tokio::test]
async fn thousands_of_organizations_are_paged_searched_and_opened_by_branch() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let listed = |spz: String, short: String, inn: String, superior: Option<String>| store::orgs::ListedOrganization {
        name: format!("Учреждение «{short}»"),
        short_name: short,
        superior_spz: superior.map(|s| domain::org::SpzCode::parse(&s).unwrap()),
        spz_code: domain::org::SpzCode::parse(&spz).unwrap(),
        inn: domain::org::Inn::parse(&inn).unwrap(),
        kpp: domain::org::Kpp::parse("780101001").unwrap(),
        org_type: domain::OrgType::Budget,
        budget_level: 2,
        oktmo: "40911000".to_owned(),
    };
    // 30 districts under the committee, 100 schools under each.
    let (districts, schools): (usize, usize) = (30, 100);
    let mut list = Vec::new();
    for d in 0..districts {
        let spz = format!("04{d:09}");
        list.push(listed(
            spz.clone(),
            format!("Район {d:02}"),
            format!("79{d:08}"),
            Some(demo::COMMITTEE.spz_code.to_owned()),
        ));
        for s in 0..schools {
            let n = d * 1000 + s;
            list.push(listed(
                format!("05{n:09}"),
                format!("Школа {d:02}-{s:03}"),
                format!("77{n:08}"),
                Some(spz.clone()),
            ));
        }
    }
    store.load_organizations(&list, None, None).await.unwrap();
    let total = 3 + districts * (schools + 1);

    let mut c = admin(&h).await;
    let started = std::time::Instant::now();
    let p = c.get("/admin/orgs").await;
    let took = started.elapsed();
    assert_eq!(p.status, 200);
    assert!(p.has(&format!("Найдено организаций: {total}.")), "{}", &p.body[p.body.len().saturating_sub(2000)..]);
    assert_eq!(p.body.matches("data-spz=").count(), app::org_admin::PAGE_SIZE, "one page of rows");
    let last = total.div_ceil(app::org_admin::PAGE_SIZE);
    assert!(p.has(&format!("page={last}\">{last}</a>")), "a link to the last page");
    eprintln!("the tree of {total} organizations in {took:?}");
    let p = c.get(&format!("/admin/orgs?page={last}")).await;
    assert_eq!(p.body.matches("data-spz=").count(), total - (last - 1) * app::org_admin::PAGE_SIZE);

    // A school by its ИНН, with its path; a district's branch on its own.
    let p = c.get("/admin/orgs?q=7700017042").await;
    assert!(p.has("Найдено организаций: 1.") && p.has("data-spz=\"05000017042\""), "{}", p.body);
    assert!(p.has("Комитет по образованию › Район 17"), "{}", p.body);
    let district = org_of(&h, "04000000017").await.id.get();
    let p = c.get(&format!("/admin/orgs?branch={district}")).await;
    assert!(p.has(&format!("Найдено организаций: {}.", schools + 1)), "{}", p.body);
    assert!(!p.has("data-spz=\"05000018000\""), "another district's school");
    let p = c.get(&format!("/admin/orgs?branch={district}&q=%D1%88%D0%BA%D0%BE%D0%BB%D0%B0%2017-05")).await; // школа 17-05
    assert!(p.has("Найдено организаций: 10."), "{}", p.body);

    // The forms list every possible superior; the users page reaches every school.
    let started = std::time::Instant::now();
    let p = c.get("/admin/orgs/new").await;
    eprintln!("the new organization's form in {:?}", started.elapsed());
    assert_eq!(
        p.body.matches("<option value=\"").count() - 2 - 3 - 6,
        total,
        "every superior, less the two placeholders, the levels and the types"
    );
    let school = org_of(&h, "05000017042").await.id.get();
    c.get("/admin/users/new").await;
    let p = c
        .post(
            "/admin/users",
            &[
                ("login", "dalnyaya"),
                ("full_name", "Дальняя Школа"),
                ("org_id", &school.to_string()),
                ("roles", "customer"),
            ],
        )
        .await;
    assert!(p.has("one-time-password"), "{}", p.body);
    assert!(took < std::time::Duration::from_secs(10), "the tree took {took:?}");
    h.app.stop().await;
}
