//! Sign-in, sessions, CSRF, organization boundaries and secrets.

use crate::common::*;
use domain::ids::{OrgId, PlanId, VersionId};

#[tokio::test]
async fn sign_in_errors_and_throttling() {
    let h = Harness::start().await;
    let mut c = h.client();
    let p = c.post_raw("/login", &[("login", "zakazchik"), ("password", "wrong")], None).await;
    assert_eq!(p.status, 401);
    assert!(p.has("Неверный логин или пароль"));
    let p = c.post_raw("/login", &[("login", "nobody"), ("password", "x")], None).await;
    assert!(p.has("Неверный логин или пароль"), "unknown login looks the same");
    let p = c.post_raw("/login", &[("login", ""), ("password", "")], None).await;
    assert!(p.has("Введите логин и пароль"));
    for _ in 0..4 {
        c.post_raw("/login", &[("login", "zakazchik"), ("password", "wrong")], None).await;
    }
    let p = c.post_raw("/login", &[("login", "zakazchik"), ("password", "zakazchik")], None).await;
    assert!(p.has("Слишком много неудачных попыток"), "locked even with the right password: {}", p.body);
    // Pages need a session.
    let p = h.client().get("/plans").await;
    assert!(p.url.ends_with("/login"));
    h.app.stop().await;
}

#[tokio::test]
async fn csrf_and_cross_site_posts_are_refused() {
    let h = Harness::start().await;
    let mut c = h.client();
    c.login("zakazchik", "zakazchik").await;
    c.get("/plans").await;
    let p = c.post_raw("/plans", &[("plan_year", "2026")], None).await;
    assert_eq!(p.status, 403, "no token");
    let p = c.post_raw("/plans", &[("plan_year", "2026"), ("csrf", "forged")], None).await;
    assert_eq!(p.status, 403, "wrong token");
    let token = c.csrf.clone();
    let p = c.post_raw("/plans", &[("plan_year", "2026"), ("csrf", &token)], Some("http://evil.example")).await;
    assert_eq!(p.status, 403, "foreign origin");
    assert!(p.has("защита от CSRF"));
    let p =
        c.post_raw("/login", &[("login", "zakazchik"), ("password", "zakazchik")], Some("http://evil.example")).await;
    assert_eq!(p.status, 403, "login CSRF");
    assert!(h.app.store.plans_visible_to(OrgId(1)).await.unwrap().is_empty(), "nothing was created");
    // Every state-changing route refuses a post without the token, before doing anything.
    for path in [
        "/plans",
        "/plans/approve",
        "/plans/1/positions",
        "/plans/1/positions/1",
        "/plans/1/positions/1/delete",
        "/plans/1/positions/1/cancel",
        "/plans/1/submit",
        "/plans/1/approve",
        "/plans/1/return",
        "/plans/1/changes",
        "/plans/1/owner",
        "/plans/1/responsible",
        "/versions/1/send",
        "/reference",
        "/settings/eis",
        "/settings/eis/check",
        "/sends/bulk",
        "/logout",
    ] {
        let p = c.post_raw(path, &[("plan_year", "2026")], None).await;
        assert_eq!(p.status, 403, "{path} without a CSRF token");
    }
    // Logout is a POST with the token, and the session is gone afterwards.
    let p = c.post("/logout", &[]).await;
    assert!(p.url.ends_with("/login"));
    assert!(c.get("/plans").await.url.ends_with("/login"));
    h.app.stop().await;
}

#[tokio::test]
async fn other_organizations_see_nothing() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, version) = approved_plan(&h, &mut customer, "2026").await;

    // A specialist of a sibling organization under the same superior.
    let mut other = other_organization(&h).await;
    assert!(!other.get("/plans").await.has("Школа"));
    let position = h.app.store.positions(PlanId(plan)).await.unwrap()[0].id;
    let reads = [
        format!("/plans/{plan}"),
        format!("/plans/{plan}?tab=versions"),
        format!("/plans/{plan}?tab=journal"),
        format!("/plans/{plan}/positions/{position}/edit"),
        format!("/versions/{version}/status"),
        format!("/versions/{version}/send"),
        format!("/versions/{version}/xml"),
        format!("/versions/{version}/print"),
        format!("/versions/{version}/diff"),
    ];
    for path in &reads {
        assert_eq!(other.get(path).await.status, 404, "{path}");
    }
    other.get("/plans").await;
    let writes = [
        format!("/plans/{plan}/positions"),
        format!("/plans/{plan}/positions/{position}"),
        format!("/plans/{plan}/positions/{position}/delete"),
        format!("/plans/{plan}/positions/{position}/cancel"),
        format!("/plans/{plan}/submit"),
        format!("/plans/{plan}/approve"),
        format!("/plans/{plan}/return"),
        format!("/plans/{plan}/changes"),
        format!("/plans/{plan}/owner"),
        format!("/plans/{plan}/responsible"),
        format!("/versions/{version}/send"),
    ];
    for path in &writes {
        let p = other
            .post(
                path,
                &[("row_version", "1"), ("login", "x"), ("password", "y"), ("comment", "z"), ("owner_role", "OA")],
            )
            .await;
        assert_eq!(p.status, 404, "{path}");
    }
    // Bulk approval and bulk sending reach only what the caller may touch.
    let started = other.post("/plans/approve", &[("plan", &plan.to_string())]).await;
    let p = other.job_outcome(started).await;
    assert!(p.has("не найден"), "{}", p.body);
    let p = other.post("/sends/bulk", &[]).await;
    if p.url.contains("/jobs/") {
        other.job_outcome(p).await;
    }
    assert!(h.app.store.sends_for_version(VersionId(version)).await.unwrap().is_empty());
    // The raw reply of a send is the owner's business only.
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    let send = h.app.store.sends_for_version(VersionId(version)).await.unwrap()[0].id;
    let event = h.app.store.send_events(send).await.unwrap().last().unwrap().id;
    assert_eq!(other.get(&format!("/sends/{send}/events/{event}/raw")).await.status, 404);
    assert_eq!(customer.get(&format!("/sends/{send}/events/{event}/raw")).await.status, 200);
    h.app.stop().await;
}

/// Neither the password in use nor one regenerated since (and sent once, refused) is kept or
/// shown in plaintext: not on a page, not in plangraf's database, not in the sandbox's.
#[tokio::test]
async fn eis_password_is_never_stored_or_shown_in_plaintext() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;
    let (login, stale) = h.eis_credentials("eis_user").await;
    customer.get("/settings/eis").await;
    customer
        .post(
            "/settings/eis",
            &[("login", &login), ("change_password", "1"), ("password", &stale), ("password_confirm", &stale)],
        )
        .await;
    // The cabinet button again: the saved password is stale, and goes out once, refused.
    let (_, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", "")]).await;
    let refused = drive_to_status(&h, &mut customer, version, "Ошибка авторизации").await;
    customer.save_eis_credentials(&login, &password).await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", "")]).await;
    let status = drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    let settings = customer.get("/settings/eis").await;
    for secret in [&stale, &password] {
        for page in [&refused, &status, &settings] {
            assert!(!page.has(secret), "a password is shown on {}", page.url);
        }
    }
    h.app.stop().await;
    assert_not_in_database(&h.database_url, &[&stale, &password]).await;
    assert_not_in_sqlite_files(&h.dir.path().join("sandbox").join("sandbox.sqlite"), &[&stale, &password]);
}

#[tokio::test]
async fn api_token_and_me() {
    let h = Harness::start().await;
    let http = reqwest::Client::new();
    let base = h.app.url();
    let r = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"login": "zakazchik", "password": "bad"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = http
        .post(format!("{base}/api/v1/auth/token"))
        .body("not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http.get(format!("{base}/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"login": "zakazchik", "password": "zakazchik"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token: serde_json::Value = r.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let me: serde_json::Value =
        http.get(format!("{base}/api/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["login"], "zakazchik");
    assert_eq!(me["roles_title"], "Специалист заказчика");
    assert_eq!(me["organization"]["spz_code"], plangraf::demo::SCHOOL.spz_code);
    assert_eq!(http.get(format!("{base}/api/v1/me")).bearer_auth("forged").send().await.unwrap().status(), 401);
    h.app.stop().await;
}
