//! The cabinet pages of scenario A, driven over HTTPS like a browser would (cookies, Origin,
//! CSRF tokens), and the exchange checked with the password the page shows.

mod common;

use std::time::Duration;

use common::*;
use eis::client::{ClientError, Credentials};
use eis::packet::write_plan_packet;
use reqwest::StatusCode;

/// The id in the first link to a user's page for the row of `login`.
fn user_id(users_html: &str, login: &str) -> String {
    let row = users_html.find(&format!("<td>{login}</td>")).expect("user row");
    let link = users_html[row..].find("/cabinet/admin/users/").expect("link") + row + "/cabinet/admin/users/".len();
    users_html[link..].split('/').next().unwrap_or_default().to_owned()
}

/// The text of the `<span class="secret">` fields, in order (login, password).
fn secrets(html: &str) -> Vec<String> {
    html.split("<span class=\"secret\">").skip(1).filter_map(|s| s.split("</span>").next()).map(str::to_owned).collect()
}

#[tokio::test]
async fn sign_in_sets_a_strict_session_cookie() {
    let env = start(Duration::ZERO).await;
    let mut b = Browser::new(&env);
    let (status, html) = b.get("/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Вход в личный кабинет") && html.contains("lang=\"ru\""));

    let resp = b.sign_in("admin", "wrong").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.text().await.expect("body").contains("Неверный логин или пароль"));
    assert!(b.cookie.is_none());

    // Without Origin/Referer from this site the sign-in form is refused.
    let resp = b
        .http
        .post(format!("{}/login", b.base))
        .header("origin", "https://evil.example")
        .form(&[("login", "admin"), ("password", "admin-pass")])
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let resp = b.sign_in("admin", "admin-pass").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let set = resp.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("cookie").to_owned();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    let (status, html) = b.get("/cabinet").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Иванова Анна Петровна") && html.contains("Администрирование"));

    // Signing out ends the session on the server.
    let token = csrf(&html);
    let resp = b.post("/logout", &[("csrf", &token)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (status, _) = b.get("/cabinet").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "back to the sign-in page");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn scenario_a_linking_a_user_to_eis() {
    let env = start(Duration::ZERO).await;
    let mut b = Browser::new(&env);
    b.sign_in("admin", "admin-pass").await;

    // «Администрирование» → «Пользователи организации»
    let (status, users) = b.get("/cabinet/admin/users").await;
    assert_eq!(status, StatusCode::OK);
    for label in [
        "Пользователи организации",
        "Регистрационные данные",
        "Права доступа пользователя",
        "Заблокировать пользователя",
    ] {
        assert!(users.contains(label), "{label} missing");
    }
    assert!(users.contains("Петров Петр Петрович") && users.contains("Работа с планом-графиком"));
    assert!(!users.contains("Кузнецов"), "users of another organization are not listed");

    // The user's «Регистрационные данные» and the button.
    let id = user_id(&users, "spec");
    let (status, reg) = b.get(&format!("/cabinet/admin/users/{id}/registration")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(reg.contains("Данные пользователя для альтернативной интеграции (по протоколу HTTPS)"));
    assert!(reg.contains("int_spec") && reg.contains("не сформирован"));

    // A POST without the session's token is refused and generates nothing.
    let resp = b.post(&format!("/cabinet/admin/users/{id}/integration"), &[("csrf", "forged")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let token = csrf(&reg);
    let resp = b.post(&format!("/cabinet/admin/users/{id}/integration"), &[("csrf", &token)]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let page = resp.text().await.expect("body");
    let shown = secrets(&page);
    assert_eq!(shown.len(), 2, "login and password are shown");
    let first = Credentials { login: shown[0].clone(), password: shown[1].clone().into() };
    assert_eq!(first.login, "int_spec");
    env.client.upload(&first, &write_plan_packet(&packet())).await.expect("the shown password works");

    // Every press makes a new password; the previous one stops working at once.
    let resp = b.post(&format!("/cabinet/admin/users/{id}/integration"), &[("csrf", &token)]).await;
    let shown = secrets(&resp.text().await.expect("body"));
    let second = Credentials { login: shown[0].clone(), password: shown[1].clone().into() };
    assert_ne!(second.password.expose(), first.password.expose());
    assert!(matches!(
        env.client.upload(&first, &write_plan_packet(&packet())).await,
        Err(ClientError::Unauthorized { .. })
    ));
    let mut p = packet();
    p.data.plan_year = 2026;
    p.data.first_year = 2027;
    p.data.second_year = 2028;
    env.client.upload(&second, &write_plan_packet(&p)).await.expect("the new password works");

    let (_, reg) = b.get(&format!("/cabinet/admin/users/{id}/registration")).await;
    assert!(
        reg.contains("сформирован ") && !reg.contains(second.password.expose()),
        "the password is never shown again"
    );
    env.sandbox.shutdown().await;
}

/// Seed 004: the customer's specialist (not an administrator) finds his integration login and
/// password in «Пользователь» and makes a new one there; viewing the page changes nothing.
#[tokio::test]
async fn every_user_has_the_section_user_with_his_integration_credentials() {
    let env = start(Duration::ZERO).await;
    let mut b = Browser::new(&env);
    b.sign_in("spec", "spec-pass").await;
    let (status, home) = b.get("/cabinet").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("href=\"/cabinet/user\">Пользователь</a>"), "the menu has «Пользователь»");
    assert!(!home.contains("/cabinet/admin/users"), "no administration for a specialist");

    let (status, profile) = b.get("/cabinet/user").await;
    assert_eq!(status, StatusCode::OK);
    assert!(profile.contains("<h1>Пользователь</h1>") && profile.contains("Петров Петр Петрович"));
    assert!(profile.contains("int_spec") && profile.contains("не сформирован"));
    assert!(profile.contains("Данные пользователя для альтернативной интеграции (по протоколу HTTPS)"));
    let (_, again) = b.get("/cabinet/user").await;
    assert!(again.contains("не сформирован"), "viewing the page makes no password");

    let resp = b.post("/cabinet/user/integration", &[("csrf", "forged")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let token = csrf(&profile);
    let page = b.post("/cabinet/user/integration", &[("csrf", &token)]).await.text().await.expect("body");
    let shown = secrets(&page);
    assert_eq!(shown.len(), 2, "login and password are shown");
    assert!(page.contains("href=\"/cabinet/user\""), "«Продолжить» goes back to «Пользователь»");
    let first = Credentials { login: shown[0].clone(), password: shown[1].clone().into() };
    assert_eq!(first.login, "int_spec");
    env.client.upload(&first, &write_plan_packet(&packet())).await.expect("the shown password works");

    let page = b.post("/cabinet/user/integration", &[("csrf", &token)]).await.text().await.expect("body");
    let second = secrets(&page);
    assert_ne!(second[1], first.password.expose(), "each press makes a new password");
    assert!(matches!(
        env.client.upload(&first, &write_plan_packet(&packet())).await,
        Err(ClientError::Unauthorized { .. })
    ));
    let (_, profile) = b.get("/cabinet/user").await;
    assert!(profile.contains("сформирован ") && !profile.contains(&second[1]), "the password is never shown again");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn rights_and_blocking_from_the_cabinet() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    let mut b = Browser::new(&env);
    b.sign_in("admin", "admin-pass").await;
    let (_, users) = b.get("/cabinet/admin/users").await;
    let id = user_id(&users, "spec");
    let token = csrf(&users);

    // «Права доступа пользователя»: withdrawing «Работа с планом-графиком» gives 403.
    let (status, rights) = b.get(&format!("/cabinet/admin/users/{id}/rights")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(rights.contains("Работа с планом-графиком") && rights.contains("checked"));
    let resp = b.post(&format!("/cabinet/admin/users/{id}/rights"), &[("csrf", &token)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(matches!(
        env.client.upload(&creds, &write_plan_packet(&packet())).await,
        Err(ClientError::Forbidden { .. })
    ));
    b.post(&format!("/cabinet/admin/users/{id}/rights"), &[("csrf", &token), ("plan_rights", "1")]).await;
    env.client.upload(&creds, &write_plan_packet(&packet())).await.expect("granted again");

    // «Заблокировать пользователя»: no sign-in, no exchange.
    let resp = b.post(&format!("/cabinet/admin/users/{id}/block"), &[("csrf", &token), ("blocked", "1")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, users) = b.get("/cabinet/admin/users").await;
    assert!(users.contains("Заблокирован") && users.contains("Разблокировать пользователя"));
    assert!(matches!(
        env.client.upload(&creds, &write_plan_packet(&packet())).await,
        Err(ClientError::Unauthorized { .. })
    ));
    let mut spec = Browser::new(&env);
    let resp = spec.sign_in("spec", "spec-pass").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.text().await.expect("body").contains("заблокирован"));

    // The administrator cannot block himself.
    let me = user_id(&users, "admin");
    let resp = b.post(&format!("/cabinet/admin/users/{me}/block"), &[("csrf", &token), ("blocked", "1")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn only_the_org_admin_manages_his_organization() {
    let env = start(Duration::ZERO).await;
    // A user without administrator rights.
    let mut spec = Browser::new(&env);
    spec.sign_in("spec", "spec-pass").await;
    let (status, html) = spec.get("/cabinet/admin/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("Недостаточно прав"));
    let (_, home) = spec.get("/cabinet").await;
    assert!(!home.contains("Пользователи организации"));

    // The administrator of another organization sees none of this organization's users.
    let mut admin = Browser::new(&env);
    admin.sign_in("admin", "admin-pass").await;
    let (_, users) = admin.get("/cabinet/admin/users").await;
    let spec_id = user_id(&users, "spec");
    let mut other = Browser::new(&env);
    other.sign_in("other", "other-pass").await;
    let (status, _) = other.get(&format!("/cabinet/admin/users/{spec_id}/registration")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, other_users) = other.get("/cabinet/admin/users").await;
    let resp =
        other.post(&format!("/cabinet/admin/users/{spec_id}/integration"), &[("csrf", &csrf(&other_users))]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Without a session every cabinet page leads to the sign-in page.
    let anonymous = Browser::new(&env);
    let (status, _) = anonymous.get(&format!("/cabinet/admin/users/{spec_id}/registration")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn plan_registry_placement_and_refused_edits() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    let c = send_and_wait(&env, &creds, &write_plan_packet(&packet())).await;
    assert_eq!(c.result, eis::reply::ConfirmationResult::Success, "{:?}", c.violations);

    let mut b = Browser::new(&env);
    b.sign_in("spec", "spec-pass").await;
    let (_, home) = b.get("/cabinet").await;
    assert!(home.contains("Реестр планов-графиков"));
    let (status, html) = b.get("/cabinet/plans").await;
    assert_eq!(status, StatusCode::OK);
    for text in
        ["Реестр планов-графиков", "План-график на 2025 год", "РИС", "Проект", "PG-2025-1", "Разместить", "не присвоен"]
    {
        assert!(html.contains(text), "{text} missing");
    }
    let publish = form_action(&html, "/publish");
    let token = csrf(&html);

    // Forged: no token, or a foreign Origin.
    let resp = b.post(&publish, &[("csrf", "forged")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let mut req =
        b.http.post(format!("{}{publish}", b.base)).header("origin", "https://evil.example").form(&[("csrf", &token)]);
    if let Some(c) = &b.cookie {
        req = req.header("cookie", c);
    }
    assert_eq!(req.send().await.expect("POST").status(), StatusCode::FORBIDDEN);
    assert_eq!(
        env.sandbox.directory().plans(ORG).await.expect("plans")[0].versions[0].state,
        sandbox::VersionState::Project
    );

    // «Разместить».
    let resp = b.post(&publish, &[("csrf", &token)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, html) = b.get("/cabinet/plans").await;
    let number = format!("2025{ORG}001");
    assert!(html.contains("Размещен") && html.contains(&number));
    assert!(!html.contains("/publish\""), "nothing left to place");
    let resp = b.post(&publish, &[("csrf", &token)]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    // The positions, and the refusal to edit one of an integrated plan.
    let (status, page) = b.get(&publish.replace("/publish", "")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("{number}000001"))
            && page.contains("POS-0002")
            && page.contains("Редактировать позицию")
    );
    let edit = form_action(&page, "/positions/edit");
    let resp = b.post(&edit, &[("csrf", &token), ("ext_number", "POS-0001")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let text = resp.text().await.expect("body");
    assert!(text.contains("интегрирован из РИС") && text.contains("только в РИС"), "{text}");

    // «Создать план-график»: a year integrated from the РИС is refused, another one is created.
    let resp = b.post("/cabinet/plans/create", &[("csrf", &token), ("plan_year", "2025")]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let resp = b.post("/cabinet/plans/create", &[("csrf", &token), ("plan_year", "2026")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, html) = b.get("/cabinet/plans").await;
    assert!(html.contains("План-график на 2026 год") && html.contains("ЕИС (создан в личном кабинете)"));
    let c = {
        let mut p = packet();
        p.data.plan_year = 2026;
        p.data.first_year = 2027;
        p.data.second_year = 2028;
        send_and_wait(&env, &creds, &write_plan_packet(&p)).await
    };
    assert_eq!(c.violations.iter().map(|v| v.err_code.as_str()).collect::<Vec<_>>(), ["PLAN_EIS"]);

    // Another organization does not see the plan; a user without the right sees no registry.
    let mut other = Browser::new(&env);
    other.sign_in("other", "other-pass").await;
    let (status, _) = other.get(&publish.replace("/publish", "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, other_html) = other.get("/cabinet/plans").await;
    assert!(!other_html.contains("План-график на 2025"));
    let resp = other.post(&publish, &[("csrf", &csrf(&other_html))]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let mut norights = Browser::new(&env);
    norights.sign_in("norights", "norights-pass").await;
    let (status, _) = norights.get("/cabinet/plans").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    env.sandbox.shutdown().await;
}

/// A plan placed for a customer under an agreement (ownerRole OA): refused without the
/// agreement; with it, the agent's cabinet lists the customer's plan and places it, and the
/// customer's cabinet sees it too.
#[tokio::test]
async fn an_agent_places_the_customers_plan_under_an_agreement() {
    let env = start(Duration::ZERO).await;
    let (inn, kpp) = ("7802000001", "780201001");
    let mut p = packet();
    p.data.owner_reg_num = OTHER_ORG.into();
    p.data.owner_role = eis::packet::OwnerRole::Oa;
    // ЕИС checks the ИКУ against the owner of the version: the agent's.
    for pos in &mut p.data.positions {
        pos.iku = Some(format!("2{inn}{kpp}"));
        pos.ikz = format!("252{inn}{kpp}{}0003811244", pos.purchase_number);
    }
    let agent = creds(&env, "other").await;
    let c = send_and_wait(&env, &agent, &write_plan_packet(&p)).await;
    assert_eq!(c.result, eis::reply::ConfirmationResult::Failure);
    assert_eq!(c.violations.iter().map(|v| v.err_code.as_str()).collect::<Vec<_>>(), ["ORG_POWERS"]);

    env.sandbox.directory().grant_powers(ORG, OTHER_ORG).await.expect("agreement");
    p.index.id = uuid::Uuid::new_v4().to_string();
    let c = send_and_wait(&env, &agent, &write_plan_packet(&p)).await;
    assert_eq!(c.result, eis::reply::ConfirmationResult::Success, "{:?}", c.violations);

    let mut b = Browser::new(&env);
    b.sign_in("other", "other-pass").await;
    let (_, html) = b.get("/cabinet/plans").await;
    assert!(
        html.contains("План-график на 2025 год")
            && html.contains(&format!("код по СПЗ {ORG} — размещение по соглашению (OA)")),
        "{html}"
    );
    let publish = form_action(&html, "/publish");
    let resp = b.post(&publish, &[("csrf", &csrf(&html))]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, html) = b.get("/cabinet/plans").await;
    assert!(html.contains(&format!("2025{ORG}001")), "the customer's plan number: {html}");

    let mut customer = Browser::new(&env);
    customer.sign_in("spec", "spec-pass").await;
    let (_, html) = customer.get("/cabinet/plans").await;
    assert!(html.contains(&format!("2025{ORG}001")) && !html.contains("размещение по соглашению"), "{html}");

    // The agent sees its packet placed and exports the plan with the registry numbers.
    let plan_number = format!("2025{ORG}001");
    let ask =
        eis::docproject::DocProjectStatusRequest::new("PLANGRAF", eis::packet::Mode::Test, vec![p.index.id.clone()]);
    let r = env.client.doc_project_status(&agent, &ask).await.expect("the agent's draft status");
    let eis::docproject::DocProjectState::Published { published_doc_id } = r.value.statuses[0].state.clone() else {
        panic!("placed by the agent, seen as not placed: {:?}", r.value.statuses);
    };
    let by_doc =
        env.client.export_by_doc(&agent, &published_doc_id).await.expect("the agent exports by document id").value;
    let by_number =
        env.client.export_by_plan_number(&agent, &plan_number).await.expect("the agent exports by plan number").value;
    eis::schemas::assert_valid_or_skip("export", eis::schemas::EXPORT_XSD, &write_export_of(&by_doc));
    for e in [&by_doc, &by_number] {
        assert_eq!(e.data.plan_number.as_deref(), Some(plan_number.as_str()));
        assert_eq!(
            e.position_numbers(),
            [
                ("POS-0001", Some(format!("{plan_number}000001").as_str())),
                ("POS-0002", Some(format!("{plan_number}000002").as_str()))
            ]
        );
    }
    // The customer exports it too; an organization with no part in it does not.
    let own = creds(&env, "spec").await;
    env.client.export_by_plan_number(&own, &plan_number).await.expect("the customer exports");
    env.sandbox
        .directory()
        .ensure_organization("03722000002", "ГБОУ ШКОЛА № 2", "7802000002", "780201001")
        .await
        .expect("org");
    env.sandbox
        .directory()
        .ensure_user("third", "third-pass", "03722000002", true, true, "Третьев Т. Т.")
        .await
        .expect("user");
    let third = creds(&env, "third").await;
    assert!(matches!(
        env.client.export_by_plan_number(&third, &plan_number).await,
        Err(ClientError::Server { status: 404, .. })
    ));
}

fn write_export_of(e: &eis::export::ExportedPlan) -> String {
    eis::export::write_export(e)
}
