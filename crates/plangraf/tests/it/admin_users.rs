//! «Администрирование» → «Пользователи»: the list with its search and paging, a new user with a
//! one-time password and the change forced at the first sign-in, organization and role,
//! blocking, a password reset, unlocking sign-in, the administrator's reach (their organization
//! and every organization below it, see also `admin_orgs`), and every refusal changing nothing.
//! Both backends.

use crate::common::{Client, Harness, Page};
use domain::ids::UserId;
use domain::{OrgType, Role, Roles};
use plangraf::demo;
use serde_json::json;

/// The one-time password on a result page.
fn one_time_password(page: &Page) -> String {
    let key = "id=\"one-time-password\">";
    let i = page.body.find(key).unwrap_or_else(|| panic!("no one-time password in the page: {}", page.body));
    let rest = &page.body[i + key.len()..];
    rest[..rest.find('<').unwrap()].to_owned()
}

async fn admin(h: &Harness) -> Client {
    let mut c = h.client();
    c.login("admin", "admin").await;
    c
}

async fn org_id(h: &Harness, spz: &str) -> i64 {
    h.app.store.organization_by_spz(spz).await.unwrap().unwrap().id.get()
}

/// Creates a user through the page; answers the result page.
async fn create(c: &mut Client, login: &str, name: &str, org: i64, role: &str) -> Page {
    c.get("/admin/users/new").await;
    c.post("/admin/users", &[("login", login), ("full_name", name), ("org_id", &org.to_string()), ("roles", role)])
        .await
}

async fn user_count(h: &Harness) -> usize {
    let mut n = 0;
    for o in h.app.store.organizations().await.unwrap() {
        n += h.app.store.users_of_org(o.id).await.unwrap().len();
    }
    n
}

/// An organization outside the demo administrator's reach (no superior), with a user.
async fn outsider(h: &Harness) -> (domain::ids::OrgId, store::users::User) {
    let org = h
        .app
        .store
        .ensure_organization(&store::orgs::NewOrganization {
            name: "Комитет финансов соседнего региона",
            short_name: "Комитет финансов",
            superior_id: None,
            spz_code: domain::org::SpzCode::parse("03722000099").unwrap(),
            inn: domain::org::Inn::parse("7830000433").unwrap(),
            kpp: domain::org::Kpp::parse("784001001").unwrap(),
            org_type: OrgType::Authority,
            budget_level: 2,
            oktmo: "40000000",
        })
        .await
        .unwrap();
    let hash = app::users::hash("Чужой-пароль-2026".into()).await.unwrap();
    let user =
        h.app.store.create_user("chuzhoy", &hash, "Чужой Иван Иванович", org.id, Role::Admin).await.unwrap().unwrap();
    (org.id, user)
}

async fn token_status(h: &Harness, login: &str, password: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", h.app.url()))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn the_list_shows_the_demo_users_with_their_state_and_searches() {
    let h = Harness::start_driven().await;
    let mut c = admin(&h).await;
    let list = c.get("/admin/users").await;
    assert_eq!(list.status, 200, "{}", list.body);
    for login in ["zakazchik", "komitet", "soglasovatel", "admin"] {
        assert!(list.has(&format!("data-login=\"{login}\"")), "{login} missing: {}", list.body);
    }
    assert!(list.has("Найдено пользователей: 4."), "{}", list.body);
    assert!(list.has("href=\"/admin/users\">Пользователи</a>"), "the menu item");
    // The administrator has signed in; the others never did.
    let admin_row = &list.body[list.body.find("data-login=\"admin\"").unwrap()..];
    assert!(!admin_row[..admin_row.find("</tr>").unwrap()].contains("не входил"), "{admin_row}");
    let zak_row = &list.body[list.body.find("data-login=\"zakazchik\"").unwrap()..];
    assert!(zak_row[..zak_row.find("</tr>").unwrap()].contains("не входил"), "{zak_row}");

    // By name, in any case, «ё» as «е»; by a part of the login.
    let found = c.get("/admin/users?q=%D0%9F%D0%95%D0%A2%D0%A0%D0%9E%D0%92%D0%90").await; // ПЕТРОВА
    assert!(found.has("data-login=\"zakazchik\"") && !found.has("data-login=\"komitet\""), "{}", found.body);
    assert!(found.has("Найдено пользователей: 1."), "{}", found.body);
    let found = c.get("/admin/users?q=soglas").await;
    assert!(found.has("data-login=\"soglasovatel\"") && !found.has("data-login=\"admin\""), "{}", found.body);

    // Too long a query is refused, not cut.
    let long = "а".repeat(101);
    let refused = c.get(&format!("/admin/users?q={long}")).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.has("Строка поиска не длиннее 100 символов"), "{}", refused.body);
    let bad_page = c.get("/admin/users?page=abc").await;
    assert_eq!(bad_page.status, 400, "{}", bad_page.body);

    // Anyone else is refused the pages.
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let p = customer.get("/admin/users").await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(!p.has("href=\"/admin/users\">Пользователи</a>"), "no menu item for a customer");
    let zak = h.app.store.user_by_login("zakazchik").await.unwrap().unwrap();
    assert_eq!(customer.get(&format!("/admin/users/{}", zak.id.get())).await.status, 403);
    assert_eq!(customer.get("/admin/users/new").await.status, 403);
    let before = user_count(&h).await;
    let school = org_id(&h, demo::SCHOOL.spz_code).await;
    let p = create(&mut customer, "novyi", "Новый Пользователь", school, "customer").await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert_eq!(user_count(&h).await, before, "nothing created");
    h.app.stop().await;
}

#[tokio::test]
async fn the_list_is_paged_by_fifty() {
    let h = Harness::start_driven().await;
    let school = h.app.store.organization_by_spz(demo::SCHOOL.spz_code).await.unwrap().unwrap();
    let hash = app::users::hash("Пароль-для-всех-2026".into()).await.unwrap();
    for i in 0..60 {
        h.app
            .store
            .create_user(&format!("uchitel{i:02}"), &hash, &format!("Учитель {i}"), school.id, Role::CustomerSpecialist)
            .await
            .unwrap()
            .unwrap();
    }
    let mut c = admin(&h).await;
    let first = c.get("/admin/users").await;
    assert_eq!(first.body.matches("data-login=").count(), 50, "{}", first.body);
    assert!(first.has("Найдено пользователей: 64."), "{}", first.body);
    let second = c.get("/admin/users?page=2").await;
    assert_eq!(second.body.matches("data-login=").count(), 14);
    let searched = c.get("/admin/users?q=uchitel&page=2").await;
    assert_eq!(searched.body.matches("data-login=").count(), 10, "{}", searched.body);
    assert!(searched.has("data-login=\"uchitel59\""));
    h.app.stop().await;
}

#[tokio::test]
async fn a_new_user_gets_a_one_time_password_and_must_change_it_first() {
    let h = Harness::start_driven().await;
    let mut c = admin(&h).await;
    let district = org_id(&h, demo::DISTRICT.spz_code).await;
    let created = create(&mut c, "i.sidorov", "Сидоров Иван Петрович", district, "customer").await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.has("Пользователь создан"), "{}", created.body);
    assert!(!created.url.contains("password"), "the password is in no URL: {}", created.url);
    let password = one_time_password(&created);
    assert!(domain::account::check_new_password("i.sidorov", &password).is_ok(), "{password}");

    let store = &h.app.store;
    let user = store.user_by_login("i.sidorov").await.unwrap().unwrap();
    assert_eq!((user.org_id.get(), user.roles), (district, Roles::one(Role::CustomerSpecialist)));
    let creds = store.user_credentials("i.sidorov").await.unwrap().unwrap();
    assert!(creds.must_change_password);
    assert!(creds.password_hash.starts_with("$argon2") && !creds.password_hash.contains(&password));
    let journal = store.audit_for("user", user.id.get()).await.unwrap();
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0].action, "Создан пользователь");
    assert_eq!(journal[0].user_name.as_deref(), Some("Администратор системы"));
    assert!(journal[0].details.contains("i.sidorov") && !journal[0].details.contains(&password));
    // The user's page shows the new user, never the password again.
    let page = c.get(&format!("/admin/users/{}", user.id.get())).await;
    assert!(page.has("должен сменить пароль") && !page.has(&password), "{}", page.body);

    // Signed in, the user is held on «Смена пароля».
    let mut u = h.client();
    let signed = u.post_raw("/login", &[("login", "i.sidorov"), ("password", &password)], None).await;
    assert!(signed.url.ends_with("/settings/password"), "{}", signed.url);
    assert!(signed.has("Пароль выдан администратором"), "{}", signed.body);
    let plans = u.get("/plans").await;
    assert!(plans.url.ends_with("/settings/password"), "the plan list is out of reach: {}", plans.url);
    assert!(u.get("/settings/eis").await.url.ends_with("/settings/password"));
    let posted = u.post("/plans", &[("plan_year", "2027")]).await;
    assert!(posted.url.ends_with("/settings/password"), "{}", posted.url);
    assert!(store.plan_for_year(user.org_id, 2027).await.unwrap().is_none(), "no plan was created");
    // The API gives no token until the password is changed.
    let (status, problem) = token_status(&h, "i.sidorov", &password).await;
    assert_eq!(status, 403, "{problem}");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("смените пароль"), "{problem}");

    // A wrong current password, a weak or mismatched new one: refused, still held.
    let wrong = u
        .post(
            "/settings/password",
            &[("current", "не-тот-пароль"), ("password", "Свой-пароль-2026"), ("password_confirm", "Свой-пароль-2026")],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.has("Текущий пароль введён неверно"), "{}", wrong.body);
    let weak = u
        .post("/settings/password", &[("current", &password), ("password", "short"), ("password_confirm", "short")])
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.has("не короче 10 символов"), "{}", weak.body);
    let mismatch = u
        .post(
            "/settings/password",
            &[("current", &password), ("password", "Свой-пароль-2026"), ("password_confirm", "Свой-пароль-2027")],
        )
        .await;
    assert_eq!(mismatch.status, 422);
    assert!(mismatch.has("Пароли не совпадают"), "{}", mismatch.body);
    assert!(store.user_credentials("i.sidorov").await.unwrap().unwrap().must_change_password, "still to change");
    assert!(u.get("/plans").await.url.ends_with("/settings/password"));

    let done = u
        .post(
            "/settings/password",
            &[("current", &password), ("password", "Свой-пароль-2026"), ("password_confirm", "Свой-пароль-2026")],
        )
        .await;
    assert!(done.url.ends_with("/plans"), "the user goes on to the plan list: {} {}", done.url, done.body);
    assert_eq!(u.get("/plans").await.status, 200);
    assert!(!store.user_credentials("i.sidorov").await.unwrap().unwrap().must_change_password);
    assert_eq!(token_status(&h, "i.sidorov", &password).await.0, 401, "the handed-out password is gone");
    assert_eq!(token_status(&h, "i.sidorov", "Свой-пароль-2026").await.0, 200);
    let journal = store.audit_for("user", user.id.get()).await.unwrap();
    assert_eq!(journal.last().unwrap().action, "Пользователь сменил пароль");
    assert!(journal.iter().all(|e| !e.details.contains(&password) && !e.details.contains("Свой-пароль-2026")));
    if let Some(path) = h.database_url.strip_prefix("sqlite://") {
        crate::common::assert_not_in_sqlite_files(std::path::Path::new(path), &[&password, "Свой-пароль-2026"]);
    }
    h.app.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_in_russian_and_creates_nothing() {
    let h = Harness::start_driven().await;
    let mut c = admin(&h).await;
    let school = org_id(&h, demo::SCHOOL.spz_code).await;
    let (outside, _) = outsider(&h).await;
    let before = user_count(&h).await;
    let cases: [(&str, &str, i64, &str, &str); 6] = [
        ("иванов", "Иванов Иван", school, "customer", "только латинские буквы"),
        ("", "Иванов Иван", school, "customer", "Логин не может быть пустым"),
        ("ivanov", "   ", school, "customer", "Укажите ФИО"),
        ("ivanov", "Иванов Иван", outside.get(), "customer", "Выберите организацию из списка"),
        ("ivanov", "Иванов Иван", school, "root", "Выберите роли из списка"),
        ("zakazchik", "Другая Петрова", school, "customer", "Логин zakazchik уже занят"),
    ];
    for (login, name, org, role, message) in cases {
        let p = create(&mut c, login, name, org, role).await;
        assert_eq!(p.status, 422, "{login}: {}", p.body);
        assert!(p.has(message), "{login}: expected «{message}»: {}", p.body);
        assert!(!p.has("one-time-password"), "no password handed out");
    }
    let long = "x".repeat(65);
    let p = create(&mut c, &long, "Иванов Иван", school, "customer").await;
    assert_eq!(p.status, 422);
    assert!(p.has("Логин не длиннее 64 символов"), "{}", p.body);
    assert_eq!(user_count(&h).await, before, "nothing created");
    let zak = h.app.store.user_by_login("zakazchik").await.unwrap().unwrap();
    assert_eq!(zak.full_name, "Петрова Анна Сергеевна", "the existing user is untouched");
    h.app.stop().await;
}

#[tokio::test]
async fn users_out_of_reach_are_not_found_and_untouched() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let (outside_org, stranger) = outsider(&h).await;
    let mut c = admin(&h).await;
    let list = c.get("/admin/users").await;
    assert!(!list.has("chuzhoy"), "{}", list.body);
    let id = stranger.id.get();
    assert_eq!(c.get(&format!("/admin/users/{id}")).await.status, 404);
    c.get("/admin/users").await;
    for action in ["block", "unlock", "password"] {
        let p = c.post(&format!("/admin/users/{id}/{action}"), &[]).await;
        assert_eq!(p.status, 404, "{action}: {}", p.body);
        assert!(!p.has("one-time-password"));
    }
    let school = org_id(&h, demo::SCHOOL.spz_code).await;
    let p = c.post(&format!("/admin/users/{id}"), &[("org_id", &school.to_string()), ("roles", "customer")]).await;
    assert_eq!(p.status, 404);
    let creds = store.user_credentials("chuzhoy").await.unwrap().unwrap();
    assert!(!creds.blocked && !creds.must_change_password);
    assert_eq!((creds.user.org_id, creds.user.roles), (outside_org, Roles::one(Role::Admin)));
    assert!(store.audit_for("user", id).await.unwrap().is_empty(), "nothing journaled");

    // A subordinate's administrator manages its own users only, not the superior's.
    let hash = app::users::hash("Школьный-админ-2026".into()).await.unwrap();
    let school_admin = store
        .create_user("shkola.admin", &hash, "Админ Школы", domain::ids::OrgId(school), Role::Admin)
        .await
        .unwrap()
        .unwrap();
    let mut s = h.client();
    s.login("shkola.admin", "Школьный-админ-2026").await;
    let list = s.get("/admin/users").await;
    assert!(list.has("data-login=\"zakazchik\"") && list.has("data-login=\"shkola.admin\""), "{}", list.body);
    assert!(!list.has("data-login=\"komitet\"") && !list.has("data-login=\"admin\""), "{}", list.body);
    let komitet = store.user_by_login("komitet").await.unwrap().unwrap();
    assert_eq!(s.get(&format!("/admin/users/{}", komitet.id.get())).await.status, 404);
    let committee = org_id(&h, demo::COMMITTEE.spz_code).await;
    let before = user_count(&h).await;
    let p = create(&mut s, "novyi", "Новый Сотрудник", committee, "customer").await;
    assert_eq!(p.status, 422, "the superior's organization is out of reach: {}", p.body);
    assert_eq!(user_count(&h).await, before);
    // Nor can the school's administrator move its user to the superior.
    let zak = store.user_by_login("zakazchik").await.unwrap().unwrap();
    s.get(&format!("/admin/users/{}", zak.id.get())).await;
    let p = s
        .post(&format!("/admin/users/{}", zak.id.get()), &[("org_id", &committee.to_string()), ("roles", "customer")])
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert_eq!(store.user(zak.id).await.unwrap().unwrap().org_id.get(), school);
    let _ = school_admin;
    h.app.stop().await;
}

#[tokio::test]
async fn an_administrator_cannot_lock_themselves_out() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let me = store.user_by_login("admin").await.unwrap().unwrap();
    let mut c = admin(&h).await;
    let id = me.id.get();
    c.get(&format!("/admin/users/{id}")).await;
    let p =
        c.post(&format!("/admin/users/{id}"), &[("org_id", &me.org_id.get().to_string()), ("roles", "approver")]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.has("Свою организацию и свою роль «Администратор» изменить нельзя"), "{}", p.body);
    let school = org_id(&h, demo::SCHOOL.spz_code).await;
    let p = c.post(&format!("/admin/users/{id}"), &[("org_id", &school.to_string()), ("roles", "admin")]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = c.post(&format!("/admin/users/{id}/block"), &[]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.has("Заблокировать себя нельзя"), "{}", p.body);
    let p = c.post(&format!("/admin/users/{id}/password"), &[]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    let creds = store.user_credentials("admin").await.unwrap().unwrap();
    assert_eq!((creds.user.roles, creds.user.org_id), (Roles::one(Role::Admin), me.org_id));
    assert!(!creds.blocked && !creds.must_change_password);
    assert!(store.audit_for("user", id).await.unwrap().is_empty());
    assert_eq!(c.get("/admin/users").await.status, 200, "still an administrator");
    h.app.stop().await;
}

#[tokio::test]
async fn role_and_organization_block_reset_and_unlock() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let zak = store.user_by_login("zakazchik").await.unwrap().unwrap();
    let id = zak.id.get();
    let mut c = admin(&h).await;

    // Organization and role.
    let district = org_id(&h, demo::DISTRICT.spz_code).await;
    c.get(&format!("/admin/users/{id}")).await;
    let p = c.post(&format!("/admin/users/{id}"), &[("org_id", &district.to_string()), ("roles", "approver")]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("Организация и роли пользователя сохранены"), "{}", p.body);
    let changed = store.user(UserId(id)).await.unwrap().unwrap();
    assert_eq!((changed.org_id.get(), changed.roles), (district, Roles::one(Role::Approver)));
    let p = c.post(&format!("/admin/users/{id}"), &[("org_id", "abc"), ("roles", "approver")]).await;
    assert_eq!(p.status, 422);
    let school = org_id(&h, demo::SCHOOL.spz_code).await;
    c.post(&format!("/admin/users/{id}"), &[("org_id", &school.to_string()), ("roles", "customer")]).await;

    // Blocking ends the sessions and tokens at once; the user cannot sign in.
    let mut u = h.client();
    u.login("zakazchik", "zakazchik").await;
    let (_, token) = token_status(&h, "zakazchik", "zakazchik").await;
    let token = token["token"].as_str().unwrap().to_owned();
    let me = || async {
        reqwest::Client::new()
            .get(format!("{}/api/v1/me", h.app.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(me().await, 200);
    c.get(&format!("/admin/users/{id}")).await;
    let p = c.post(&format!("/admin/users/{id}/block"), &[]).await;
    assert!(p.has("Пользователь заблокирован"), "{}", p.body);
    assert!(p.has("id=\"user-state\">заблокирован"), "{}", p.body);
    assert!(u.get("/plans").await.url.ends_with("/login"), "the session ended");
    assert_eq!(me().await, 401, "the token was revoked");
    let mut again = h.client();
    assert_eq!(again.post_raw("/login", &[("login", "zakazchik"), ("password", "zakazchik")], None).await.status, 401);
    let list = c.get("/admin/users?q=zakazchik").await;
    assert!(list.has("заблокирован"), "{}", list.body);
    let p = c.post(&format!("/admin/users/{id}/unblock"), &[]).await;
    assert!(p.has("Пользователь разблокирован"), "{}", p.body);
    let mut u = h.client();
    u.login("zakazchik", "zakazchik").await;

    // A reset: a new password shown once, the old one and the sessions gone, a change forced.
    c.get(&format!("/admin/users/{id}")).await;
    let reset = c.post(&format!("/admin/users/{id}/password"), &[]).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert!(reset.has("Пароль сброшен"), "{}", reset.body);
    let password = one_time_password(&reset);
    assert!(u.get("/plans").await.url.ends_with("/login"), "the sessions ended");
    assert_eq!(
        h.client().post_raw("/login", &[("login", "zakazchik"), ("password", "zakazchik")], None).await.status,
        401
    );
    let mut fresh = h.client();
    let signed = fresh.post_raw("/login", &[("login", "zakazchik"), ("password", &password)], None).await;
    assert!(signed.url.ends_with("/settings/password"), "{}", signed.url);

    // Unlock: failed attempts delay sign-in; the list shows it; unlocking lifts the delay.
    // Sixteen failures from one address over the last forty minutes, spaced by the delays the
    // throttle imposed, as a patient attacker would make them: the last delay runs for minutes.
    // (The wrong passwords above are forgotten first: they count from now.)
    store.unlock_sign_in("zakazchik").await.unwrap();
    let rule = store::users::LOGIN_FROM_ADDRESS;
    let mut at = store::now() - std::time::Duration::from_secs(40 * 60);
    for failures in 0..16 {
        let r = store.reserve_sign_in("zakazchik", "192.0.2.7", at).await.unwrap();
        assert_eq!(r, store::users::Reservation::Granted, "attempt {failures}");
        store.sign_in_failed("zakazchik", at).await.unwrap();
        at += std::time::Duration::from_millis(rule.delay_after(failures + 1) as u64 + 1);
    }
    assert!(store.sign_in_delay("zakazchik", "192.0.2.7", store::now()).await.unwrap().is_some(), "locked");
    let list = c.get("/admin/users?q=zakazchik").await;
    assert!(list.has("вход закрыт до"), "{}", list.body);
    let page = c.get(&format!("/admin/users/{id}")).await;
    let failed = store.managed_user(UserId(id)).await.unwrap().unwrap().failed_sign_ins;
    assert!(failed >= 5, "{failed}");
    assert!(page.has(&format!("id=\"user-failed\">{failed},")), "{}", page.body);
    let p = c.post(&format!("/admin/users/{id}/unlock"), &[]).await;
    assert!(p.has("Вход разблокирован"), "{}", p.body);
    assert!(!p.has("вход закрыт до"), "{}", p.body);
    assert_eq!(store.sign_in_delay("zakazchik", "192.0.2.7", store::now()).await.unwrap(), None, "unlocked");
    let signed = h.client().post_raw("/login", &[("login", "zakazchik"), ("password", &password)], None).await;
    assert!(signed.url.ends_with("/settings/password"), "sign-in works again: {} {}", signed.status, signed.body);
    let page = c.get(&format!("/admin/users/{id}")).await;
    assert!(!page.has("id=\"user-last-sign-in\">не входил"), "the last sign-in is shown: {}", page.body);

    // Every action in the journal, by the administrator, without a password.
    let journal = store.audit_for("user", id).await.unwrap();
    let actions: Vec<&str> = journal.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "Изменён пользователь",
            "Изменён пользователь",
            "Пользователь заблокирован",
            "Пользователь разблокирован",
            "Пароль сброшен администратором",
            "Вход разблокирован"
        ],
        "{journal:?}"
    );
    assert!(journal.iter().all(|e| e.user_name.as_deref() == Some("Администратор системы")));
    assert!(journal[0].details.contains("Специалист заказчика → Согласующий"), "{}", journal[0].details);
    assert!(journal.iter().all(|e| !e.details.contains(&password)));
    h.app.stop().await;
}

#[tokio::test]
async fn every_user_changes_their_own_password_in_settings() {
    let h = Harness::start_driven().await;
    let mut other = h.client();
    other.login("komitet", "komitet").await;
    let mut c = h.client();
    c.login("komitet", "komitet").await;
    let page = c.get("/settings/password").await;
    assert_eq!(page.status, 200);
    assert!(page.has("href=\"/settings/password\">Сменить пароль</a>") && !page.has("Пароль выдан администратором"));
    let wrong = c
        .post(
            "/settings/password",
            &[("current", "komitet-no"), ("password", "Новый-пароль-2026"), ("password_confirm", "Новый-пароль-2026")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.has("Текущий пароль введён неверно"), "{}", wrong.body);
    let komitet = h.app.store.user_by_login("komitet").await.unwrap().unwrap();
    let failed = h.app.store.managed_user(komitet.id).await.unwrap().unwrap().failed_sign_ins;
    assert_eq!(failed, 1, "a wrong current password counts as a failed sign-in");
    assert_eq!(token_status(&h, "komitet", "komitet").await.0, 200, "the password is unchanged");
    let (_, token) = token_status(&h, "komitet", "komitet").await;
    let token = token["token"].as_str().unwrap().to_owned();
    let done = c
        .post(
            "/settings/password",
            &[("current", "komitet"), ("password", "Новый-пароль-2026"), ("password_confirm", "Новый-пароль-2026")],
        )
        .await;
    assert!(done.url.ends_with("/settings/password?changed=1"), "{}", done.url);
    assert!(done.has("Пароль изменён"), "{}", done.body);
    assert_eq!(c.get("/plans").await.status, 200, "this session goes on");
    assert!(other.get("/plans").await.url.ends_with("/login"), "the other session ended");
    let me = reqwest::Client::new().get(format!("{}/api/v1/me", h.app.url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status().as_u16(), 401, "the API tokens were revoked");
    assert_eq!(token_status(&h, "komitet", "Новый-пароль-2026").await.0, 200);
    h.app.stop().await;
}

/// Several roles: ticked on the form, shown in the list and on the page, changed with the
/// journal saying what they were and became; none ticked is refused and changes nothing.
#[tokio::test]
async fn a_user_holds_the_roles_ticked() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let mut c = admin(&h).await;
    let committee = org_id(&h, demo::COMMITTEE.spz_code).await;
    let form = c.get("/admin/users/new").await;
    assert!(form.has("type=\"checkbox\" name=\"roles\" value=\"approver\""), "{}", form.body);
    let (name, org) = ("Орлова Алла Викторовна", committee.to_string());
    let fields = |roles: &'static [&'static str]| {
        let mut f: Vec<(&str, &str)> = vec![("login", "a.orlova"), ("full_name", name), ("org_id", &org)];
        f.extend(roles.iter().map(|r| ("roles", *r)));
        f
    };
    let before = user_count(&h).await;
    let none = c.post("/admin/users", &fields(&[])).await;
    assert_eq!(none.status, 422, "{}", none.body);
    assert!(none.has("Выберите хотя бы одну роль."), "{}", none.body);
    assert!(!none.has("one-time-password"));
    assert_eq!(user_count(&h).await, before, "nothing created");

    let created = c.post("/admin/users", &fields(&["approver", "customer"])).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let user = store.user_by_login("a.orlova").await.unwrap().unwrap();
    let both = Roles::new([Role::CustomerSpecialist, Role::Approver]).unwrap();
    assert_eq!(user.roles, both);
    let journal = store.audit_for("user", user.id.get()).await.unwrap();
    assert!(journal[0].details.contains("роли: Специалист заказчика, Согласующий"), "{journal:?}");
    let list = c.get("/admin/users?q=orlova").await;
    let row = &list.body[list.body.find("data-login=\"a.orlova\"").unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains("<td>Специалист заказчика, Согласующий</td>"), "{row}");
    let id = user.id.get();
    let page = c.get(&format!("/admin/users/{id}")).await;
    assert!(page.has("id=\"user-roles\">Специалист заказчика, Согласующий<"), "{}", page.body);
    assert!(
        page.has("name=\"roles\" value=\"customer\" checked") && page.has("name=\"roles\" value=\"approver\" checked")
    );
    assert!(!page.has("name=\"roles\" value=\"admin\" checked"), "{}", page.body);

    // No role ticked, or an unknown one: refused, nothing changes.
    for roles in [vec![], vec![("roles", "root")]] {
        let mut f = vec![("org_id", org.as_str())];
        f.extend(roles);
        let p = c.post(&format!("/admin/users/{id}"), &f).await;
        assert_eq!(p.status, 422, "{}", p.body);
        assert!(p.has("Выберите хотя бы одну роль.") || p.has("Выберите роли из списка."), "{}", p.body);
    }
    assert_eq!(store.user(user.id).await.unwrap().unwrap().roles, both);
    assert_eq!(store.audit_for("user", user.id.get()).await.unwrap().len(), 1, "nothing journaled");

    // Approver only, then all three.
    let p = c.post(&format!("/admin/users/{id}"), &[("org_id", &org), ("roles", "approver")]).await;
    assert!(p.has("Организация и роли пользователя сохранены"), "{}", p.body);
    assert_eq!(store.user(user.id).await.unwrap().unwrap().roles, Roles::one(Role::Approver));
    let all = [("org_id", org.as_str()), ("roles", "admin"), ("roles", "customer"), ("roles", "approver")];
    c.post(&format!("/admin/users/{id}"), &all).await;
    assert_eq!(store.user(user.id).await.unwrap().unwrap().roles, Roles::new(Role::ALL).unwrap());
    let journal = store.audit_for("user", user.id.get()).await.unwrap();
    let changes: Vec<&str> = journal.iter().skip(1).map(|e| e.details.as_str()).collect();
    assert_eq!(
        changes,
        [
            "Логин a.orlova; роли: Специалист заказчика, Согласующий → Согласующий",
            "Логин a.orlova; роли: Согласующий → Специалист заказчика, Согласующий, Администратор",
        ]
    );
    // Saving the same roles again changes and journals nothing.
    c.post(&format!("/admin/users/{id}"), &all).await;
    assert_eq!(store.audit_for("user", user.id.get()).await.unwrap().len(), 3);
    h.app.stop().await;
}

/// An administrator may take on another role, but not give up his own administrator's role.
#[tokio::test]
async fn an_administrator_keeps_his_own_administrators_role() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let me = store.user_by_login("admin").await.unwrap().unwrap();
    let (id, org) = (me.id.get(), me.org_id.get().to_string());
    let mut c = admin(&h).await;
    c.get(&format!("/admin/users/{id}")).await;
    let p =
        c.post(&format!("/admin/users/{id}"), &[("org_id", &org), ("roles", "approver"), ("roles", "customer")]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.has("свою роль «Администратор» изменить нельзя"), "{}", p.body);
    assert_eq!(store.user(me.id).await.unwrap().unwrap().roles, Roles::one(Role::Admin));
    assert!(store.audit_for("user", id).await.unwrap().is_empty());

    let p = c.post(&format!("/admin/users/{id}"), &[("org_id", &org), ("roles", "admin"), ("roles", "approver")]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let now = Roles::new([Role::Admin, Role::Approver]).unwrap();
    assert_eq!(store.user(me.id).await.unwrap().unwrap().roles, now);
    let journal = store.audit_for("user", id).await.unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].details, "Логин admin; роли: Администратор → Согласующий, Администратор");
    // The header says both, and the administrator's menu is still there.
    let plans = c.get("/plans").await;
    assert!(plans.has("Согласующий, Администратор"), "{}", plans.body);
    assert_eq!(c.get("/admin/users").await.status, 200, "still an administrator");
    h.app.stop().await;
}
