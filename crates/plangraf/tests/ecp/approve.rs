//! Signed «Утвердить» over real HTTP: every refusal creates no version; a valid signature is
//! stored with the version, shown on its print form, and its two files verify with the
//! `openssl cms -verify` command line (and fail once the content is altered).

use crate::common::{Client, Harness, POSITION};
use crate::pki::User;
use crate::{Pki, bind};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use domain::ids::PlanId;
use std::path::Path;
use std::process::Command;

/// A customer's plan for `year` with one position (`object` names it), submitted.
async fn submitted_plan(customer: &mut Client, year: &str, object: &str) -> i64 {
    let plan = customer.create_plan(year).await;
    add_position(customer, plan, year, object).await;
    let p = customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    assert!(p.has("На согласовании"), "{}", p.body);
    plan
}

async fn add_position(customer: &mut Client, plan: i64, year: &str, object: &str) {
    let mut position = POSITION;
    position[0] = ("object_info", object);
    position[1] = ("publish_year", year);
    let p = customer.add_position(plan, &position).await;
    assert!(p.has("Позиция добавлена"), "{}", p.body);
}

/// The row version the approver's plan page signs against (in its «Подписать и утвердить»).
fn signing_row_version(body: &str) -> i64 {
    let key = "approve/content?row_version=";
    let i = body.find(key).unwrap_or_else(|| panic!("no signed approval on the page: {body}"));
    let rest = &body[i + key.len()..];
    rest[..rest.find('"').unwrap()].parse().unwrap()
}

/// The content to sign, as the page's script asks for it.
async fn content_to_sign(approver: &mut Client, plan: i64) -> Vec<u8> {
    let page = approver.get(&format!("/plans/{plan}")).await;
    let row_version = signing_row_version(&page.body);
    let r = approver
        .http
        .post(format!("{}/plans/{plan}/approve/content?row_version={row_version}", approver.base))
        .form(&[("csrf", approver.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["challenge"], json["content"], "ecp.js signs `challenge`");
    assert_eq!(json["signature_required"], true);
    B64.decode(json["content"].as_str().unwrap()).unwrap()
}

async fn approve_with(approver: &mut Client, plan: i64, signature: &[u8]) -> crate::common::Page {
    approver.get(&format!("/plans/{plan}")).await;
    approver.post(&format!("/plans/{plan}/approve"), &[("signature", &B64.encode(signature))]).await
}

async fn versions(h: &Harness, plan: i64) -> usize {
    h.app.store.versions(PlanId(plan)).await.unwrap().len()
}

/// A refusal on the plan page: 422 or 409 with `message`, the plan still on approval, no version.
async fn refused(h: &Harness, page: &crate::common::Page, plan: i64, message: &str) {
    assert!(page.status == 422 || page.status == 409, "{} {}", page.status, page.body);
    assert!(page.has(message), "expected «{message}» in: {}", page.body);
    assert_eq!(versions(h, plan).await, 0, "a refusal created a version");
    assert!(page.has("На согласовании"), "the plan stays on approval");
}

/// `openssl cms -verify` of a downloaded signature over downloaded content, as a reader runs it.
fn openssl_verifies(dir: &Path, signature: &[u8], content: &[u8], root: &[u8]) -> (bool, String) {
    std::fs::write(dir.join("v.sig"), signature).unwrap();
    std::fs::write(dir.join("v.json"), content).unwrap();
    std::fs::write(dir.join("root.pem"), root).unwrap();
    let out = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-engine",
            "gost",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "v.sig",
            "-content",
            "v.json",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ])
        .current_dir(dir)
        .env_remove("OPENSSL_CONF")
        .output()
        .expect("the openssl command runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn bytes_of(client: &Client, path: &str) -> (u16, Vec<u8>) {
    let r = client.http.get(format!("{}{path}", client.base)).send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

async fn audit_details(h: &Harness, action: &str) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT details FROM audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(h.app.store.pool())
        .await
        .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

async fn set_approval_required(h: &Harness, login: &str, required: bool) {
    let store = &h.app.store;
    let user = store.user_credentials(login).await.unwrap().unwrap().user;
    let admin = store.user_credentials("admin").await.unwrap().unwrap().user;
    let actor = store::org_admin::Actor { user_id: admin.id, org_id: admin.org_id };
    let policy = store::org_admin::EcpPolicy { approval: required, ..Default::default() };
    store.admin_set_ecp_policy(actor, user.org_id, policy).await.unwrap();
    assert_eq!(store.ecp_policy(user.org_id).await.unwrap().approval, required);
}

fn sign(user: &User, content: &[u8]) -> Vec<u8> {
    user.sign_detached(content)
}

pub async fn signed_approval_accepts_and_refuses_each_case() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let ecp = pki.configure(dir.path());
    let h = Harness::start_driven_configured(|c| c.ecp = Some(ecp)).await;
    let store = &h.app.store;
    // The approver holds `valid`; another user holds `of_blocked`; `unbound` is nobody's.
    bind(store, "soglasovatel", &pki.valid).await;
    bind(store, "zakazchik", &pki.of_blocked).await;
    set_approval_required(&h, "soglasovatel", true).await;

    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = submitted_plan(&mut customer, "2027", "Поставка учебников").await;
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;

    // The page signs «Утвердить» with the plug-in: ecp.js and the plug-in's script, no plain button.
    let page = approver.get(&format!("/plans/{plan}")).await;
    assert!(page.has("id=\"ecp\"") && page.has("Подписать и утвердить"), "{}", page.body);
    assert!(page.has("/static/ecp.js") && page.has("src=\"/static/cadesplugin_api.js\""), "{}", page.body);
    assert!(page.has("Организация требует подписывать утверждение"), "{}", page.body);
    let row_version = signing_row_version(&page.body);

    // The content to sign: CSRF-protected, for the row version the page showed.
    let content_url = format!("{}/plans/{plan}/approve/content?row_version={row_version}", approver.base);
    let r = approver.http.post(&content_url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403, "no content without the CSRF token");
    let stale_url = format!("{}/plans/{plan}/approve/content?row_version={}", approver.base, row_version - 1);
    let r = approver.http.post(&stale_url).form(&[("csrf", approver.csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 409);
    let json: serde_json::Value = r.json().await.unwrap();
    assert!(json["error"].as_str().unwrap().contains("обновите её"), "{json}");
    // The customer cannot ask for it: only the approver approves.
    let r = customer
        .http
        .post(format!("{}/plans/{plan}/approve/content?row_version={row_version}", customer.base))
        .form(&[("csrf", customer.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let content = content_to_sign(&mut approver, plan).await;
    let text = String::from_utf8(content.clone()).unwrap();
    assert!(text.starts_with('{') && text.contains("Поставка учебников"), "{text}");

    // No signature: refused, nothing created.
    approver.get(&format!("/plans/{plan}")).await;
    let p = approver.post(&format!("/plans/{plan}/approve"), &[]).await;
    refused(&h, &p, plan, "Организация требует электронной подписи (ЭЦП) этого действия").await;
    // Each wrong signature, with its own message.
    let not_yours = "не привязан к вашей учётной записи";
    refused(&h, &approve_with(&mut approver, plan, &sign(&pki.unbound, &content)).await, plan, not_yours).await;
    refused(&h, &approve_with(&mut approver, plan, &sign(&pki.of_blocked, &content)).await, plan, not_yours).await;
    let expired = approve_with(&mut approver, plan, &sign(&pki.expired, &content)).await;
    refused(&h, &expired, plan, "Срок действия сертификата истёк").await;
    let other = approve_with(&mut approver, plan, &sign(&pki.of_other_ca, &content)).await;
    refused(&h, &other, plan, "выдан не доверенным удостоверяющим центром").await;
    refused(&h, &approve_with(&mut approver, plan, &sign(&pki.revoked, &content)).await, plan, "отозван").await;
    refused(&h, &approve_with(&mut approver, plan, b"not a signature").await, plan, "Подпись повреждена").await;
    // Other bytes signed by the right certificate.
    let other_bytes = approve_with(&mut approver, plan, &sign(&pki.valid, b"{\"plan_year\":2027}")).await;
    refused(&h, &other_bytes, plan, "изменилось после того, как вы его подписали").await;

    // Signed, then the plan is returned, changed and submitted again: the old signature no
    // longer matches.
    let before = sign(&pki.valid, &content);
    approver.get(&format!("/plans/{plan}")).await;
    let p = approver.post(&format!("/plans/{plan}/return"), &[("comment", "Добавьте позицию")]).await;
    assert!(p.has("На доработке"), "{}", p.body);
    add_position(&mut customer, plan, "2027", "Поставка мебели").await;
    let p = customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    assert!(p.has("На согласовании"), "{}", p.body);
    let changed = approve_with(&mut approver, plan, &before).await;
    refused(&h, &changed, plan, "Содержание плана-графика изменилось после того, как вы его подписали").await;
    assert!(changed.has("подпишите утверждение снова"), "{}", changed.body);

    // Signed now: approved, the signature stored with the version over the bytes stored.
    let content = content_to_sign(&mut approver, plan).await;
    assert!(String::from_utf8_lossy(&content).contains("Поставка мебели"));
    let signature = sign(&pki.valid, &content);
    let p = approve_with(&mut approver, plan, &signature).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("План-график утвержден"), "{}", p.body);
    let stored = store.versions(PlanId(plan)).await.unwrap();
    assert_eq!(stored.len(), 1);
    let version = stored[0].id;
    let signed = store.version_signed_content(version).await.unwrap().unwrap();
    assert_eq!(signed.snapshot.as_bytes(), content.as_slice(), "the stored snapshot is what was signed");
    assert_eq!(B64.decode(signed.signature.unwrap()).unwrap(), signature);
    // Journaled with the signer.
    let approvals = audit_details(&h, "Утвержден").await;
    let thumbprint = pki.valid.fingerprint();
    assert!(
        approvals.iter().any(|d| d.contains("подписано ЭЦП") && d.contains(&thumbprint) && d.contains("Иванов")),
        "{approvals:#?}"
    );

    // The versions tab marks it; the print form names the signer with the certificate's details.
    let tab = customer.get(&format!("/plans/{plan}?tab=versions")).await;
    assert!(tab.has("title=\"Утверждение подписано ЭЦП"), "{}", tab.body);
    // The print form names the signer with the certificate's details.
    let print = customer.get(&format!("/versions/{version}/print")).await;
    assert_eq!(print.status, 200);
    for text in ["Подписано ЭЦП", "Иванов Иван Иванович", "12345678901", "123456789012", "Тестовый УЦ", &thumbprint]
    {
        assert!(print.has(text), "no «{text}» on the print form: {}", print.body);
    }
    assert!(
        print.has(&format!("/versions/{version}/signed-content"))
            && print.has(&format!("/versions/{version}/signature"))
    );

    // Its two files, downloaded by a reader of the version, verify with openssl; altered, not.
    let (status, json) = bytes_of(&customer, &format!("/versions/{version}/signed-content")).await;
    assert_eq!(status, 200);
    assert_eq!(json, content);
    let (status, sig) = bytes_of(&customer, &format!("/versions/{version}/signature")).await;
    assert_eq!((status, &sig), (200, &signature));
    let check = tempfile::tempdir().unwrap();
    let root = pki.trusted.root_pem();
    let (ok, err) = openssl_verifies(check.path(), &sig, &json, &root);
    assert!(ok, "openssl cms -verify refused the signed approval: {err}");
    let altered = String::from_utf8(json.clone()).unwrap().replace("Поставка мебели", "Поставка мебелИ");
    assert_ne!(altered.as_bytes(), json.as_slice());
    let (ok, _) = openssl_verifies(check.path(), &sig, altered.as_bytes(), &root);
    assert!(!ok, "openssl accepted altered content");
    let (ok, _) = openssl_verifies(check.path(), &sig, &json, &pki.other.root_pem());
    assert!(!ok, "openssl accepted the signature against another УЦ");
    // A user who may not read the version gets neither file.
    let other_org = crate::common::other_organization(&h).await;
    assert_eq!(bytes_of(&other_org, &format!("/versions/{version}/signature")).await.0, 404);
    assert_eq!(bytes_of(&other_org, &format!("/versions/{version}/signed-content")).await.0, 404);

    api_and_bulk(&h, &pki, &mut customer, &mut approver).await;
    h.app.stop().await;
}

/// The JSON API's content and signed approve; «Утвердить выбранные» refuses signed-only plans;
/// with the requirement off, approval without a signature works as before.
async fn api_and_bulk(h: &Harness, pki: &Pki, customer: &mut Client, approver: &mut Client) {
    let http = reqwest::Client::new();
    let base = h.app.url();
    let r = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"login": "soglasovatel", "password": "soglasovatel"}))
        .send()
        .await
        .unwrap();
    let token: serde_json::Value = r.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let call = |path: &str, body: Option<serde_json::Value>| {
        let mut req = http.post(format!("{base}{path}")).bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };

    let plan = submitted_plan(customer, "2028", "Поставка бумаги").await;
    // Without a signature: 422 in Russian, no version.
    let r = call(&format!("/api/v1/plans/{plan}/approve"), None).await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let problem: serde_json::Value = r.json().await.unwrap();
    assert!(problem.to_string().contains("Организация требует электронной подписи"), "{problem}");
    assert_eq!(versions(h, plan).await, 0);
    // The content for the plan's row version; a stale one is refused.
    let row_version = h.app.store.plan(PlanId(plan)).await.unwrap().unwrap().row_version;
    let r = call(
        &format!("/api/v1/plans/{plan}/approval-content"),
        Some(serde_json::json!({"row_version": row_version + 5})),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 409);
    let r =
        call(&format!("/api/v1/plans/{plan}/approval-content"), Some(serde_json::json!({"row_version": row_version})))
            .await
            .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (json["row_version"].as_i64(), &json["signature_required"]),
        (Some(row_version), &serde_json::json!(true))
    );
    let content = B64.decode(json["content"].as_str().unwrap()).unwrap();
    // Another user's certificate: 422, NOT_YOURS.
    let wrong = B64.encode(sign(&pki.of_blocked, &content));
    let r =
        call(&format!("/api/v1/plans/{plan}/approve"), Some(serde_json::json!({"signature": wrong}))).await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("не привязан к вашей учётной записи"));
    assert_eq!(versions(h, plan).await, 0);
    let good = B64.encode(sign(&pki.valid, &content));
    let r = call(&format!("/api/v1/plans/{plan}/approve"), Some(serde_json::json!({"signature": good}))).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let version = h.app.store.versions(PlanId(plan)).await.unwrap()[0].id;
    let r = http.get(format!("{base}/api/v1/versions/{version}/signature")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(B64.encode(r.bytes().await.unwrap()), good);
    let r =
        http.get(format!("{base}/api/v1/versions/{version}/signed-content")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), content.as_slice());

    // «Утвердить выбранные»: each plan must be signed on its own page.
    let bulk = submitted_plan(customer, "2029", "Поставка картриджей").await;
    approver.get("/plans").await;
    let started = approver.post("/plans/approve", &[("plan", &bulk.to_string())]).await;
    let done = approver.job_outcome(started).await;
    assert!(done.has("утвердите и подпишите этот план-график на его странице"), "{}", done.body);
    assert_eq!(versions(h, bulk).await, 0);
    // The API's bulk approval likewise.
    let r = call("/api/v1/plans/bulk-approve", Some(serde_json::json!({"plan_ids": [bulk]}))).await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let job: serde_json::Value = r.json().await.unwrap();
    let job_url = format!("{base}/api/v1/jobs/{}", job["job_id"]);
    let mut outcome = serde_json::Value::Null;
    for _ in 0..300 {
        outcome = http.get(&job_url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if outcome["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(outcome["status"], "done", "{outcome}");
    assert!(outcome["problems"].to_string().contains("утвердите и подпишите этот план-график"), "{outcome}");
    assert_eq!(versions(h, bulk).await, 0);

    // The requirement off: approved without a signature as before, nothing stored, no block.
    set_approval_required(h, "soglasovatel", false).await;
    let page = approver.get(&format!("/plans/{bulk}")).await;
    assert!(!page.has("Подписать и утвердить") && page.has(">Утвердить</button>"), "{}", page.body);
    let p = approver.post(&format!("/plans/{bulk}/approve"), &[]).await;
    assert!(p.has("План-график утвержден"), "{}", p.body);
    let version = h.app.store.versions(PlanId(bulk)).await.unwrap()[0].id;
    assert!(h.app.store.version_signed_content(version).await.unwrap().unwrap().signature.is_none());
    let print = customer.get(&format!("/versions/{version}/print")).await;
    assert!(!print.has("Подписано ЭЦП") && !print.has("/signature"), "{}", print.body);
    let tab = customer.get(&format!("/plans/{bulk}?tab=versions")).await;
    assert!(tab.has("id=\"versions\"") && !tab.has("Утверждение подписано ЭЦП"), "{}", tab.body);
    assert_eq!(bytes_of(customer, &format!("/versions/{version}/signature")).await.0, 404);

    // Not required, yet given: checked and stored the same way.
    let plan = submitted_plan(customer, "2030", "Поставка мела").await;
    let row_version = h.app.store.plan(PlanId(plan)).await.unwrap().unwrap().row_version;
    let r =
        call(&format!("/api/v1/plans/{plan}/approval-content"), Some(serde_json::json!({"row_version": row_version})))
            .await
            .unwrap();
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["signature_required"], false);
    let content = B64.decode(json["content"].as_str().unwrap()).unwrap();
    let bad = B64.encode(sign(&pki.expired, &content));
    let r = call(&format!("/api/v1/plans/{plan}/approve"), Some(serde_json::json!({"signature": bad}))).await.unwrap();
    assert_eq!(r.status().as_u16(), 422, "a bad signature given voluntarily is refused too");
    assert_eq!(versions(h, plan).await, 0);
    let good = B64.encode(sign(&pki.valid, &content));
    let r = call(&format!("/api/v1/plans/{plan}/approve"), Some(serde_json::json!({"signature": good}))).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let version = h.app.store.versions(PlanId(plan)).await.unwrap()[0].id;
    let stored = h.app.store.version_signed_content(version).await.unwrap().unwrap();
    assert_eq!((stored.snapshot.as_bytes(), stored.signature.as_deref()), (content.as_slice(), Some(good.as_str())));
}

/// The organization requires signed approvals, and the operator configured no trusted УЦ:
/// approval is refused with the reason, and nothing is created.
pub async fn without_trust_a_required_signature_refuses_approval() {
    let h = Harness::start_driven().await;
    set_approval_required(&h, "soglasovatel", true).await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = submitted_plan(&mut customer, "2027", "Поставка учебников").await;
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    let page = approver.get(&format!("/plans/{plan}")).await;
    assert!(!page.has("Подписать и утвердить") && !page.has("ecp.js"), "{}", page.body);
    let p = approver.post(&format!("/plans/{plan}/approve"), &[]).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.has("проверка подписей не включена администратором сервера plangraf"), "{}", p.body);
    assert_eq!(versions(&h, plan).await, 0);
    h.app.stop().await;
}

/// «Подписать и утвердить» in headless Chromium with the plug-in's double (`browser.rs`): ecp.js
/// fetches the content for the page's row version, the "plug-in" signs it (here, with
/// `openssl cms -sign -engine gost`), the approval is posted with the signature, and the version
/// stores exactly the bytes signed.
pub async fn signed_approval_through_the_plugin_double() {
    use crate::chromium::{Browser, Chromedriver, browser_tools};
    use fantoccini::Locator;
    use std::time::{Duration, Instant};

    let Some(tools) = browser_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let ecp = pki.configure(dir.path());
    let h = Harness::start_driven_configured(|c| c.ecp = Some(ecp)).await;
    bind(&h.app.store, "soglasovatel", &pki.valid).await;
    set_approval_required(&h, "soglasovatel", true).await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = submitted_plan(&mut customer, "2027", "Поставка учебников").await;

    let driver = Chromedriver::start(&tools.chromedriver);
    let b = Browser::open(&driver, &tools.chromium, "ecp_approve").await;
    let app = h.app.url();
    b.goto(&format!("{app}/login")).await;
    b.wait_for_heading("Вход в plangraf").await;
    b.fill("#login", "soglasovatel").await;
    b.fill("#password", "soglasovatel").await;
    b.press("Войти").await;
    b.wait_for_heading("Планы-графики размещения заказов").await;

    // Without the plug-in the page says so; with its double, the certificate is listed.
    b.goto(&format!("{app}/plans/{plan}")).await;
    b.wait_for_text("https://www.cryptopro.ru/products/cades/plugin").await;
    let shown = serde_json::json!({
        "subject": "CN=Иванов Иван Иванович, SN=Иванов, G=Иван Иванович, SNILS=12345678901",
        "issuer": "CN=Тестовый УЦ, O=Тестовый УЦ, C=RU",
        "from": "2026-01-01T12:00:00Z",
        "to": "2027-01-01T12:00:00Z",
        "thumbprint": pki.valid.fingerprint(),
    });
    b.c.execute(crate::browser::PLUGIN_DOUBLE, vec![shown]).await.unwrap();
    b.click(Locator::Id("ecp-retry"), "«Проверить плагин ещё раз»").await;
    b.wait_for_element_text(Locator::Id("ecp-certificate"), "Иванов Иван Иванович").await;
    b.click(Locator::Id("ecp-sign"), "«Подписать и утвердить»").await;

    let started = Instant::now();
    let content = loop {
        let pending = b.c.execute("return window.__ecpDouble.pending;", vec![]).await.unwrap();
        if let Some(text) = pending.as_str() {
            break B64.decode(text).unwrap();
        }
        if started.elapsed() > crate::chromium::WAIT {
            b.fail::<()>("the page never asked the plug-in to sign").await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(String::from_utf8_lossy(&content).contains("Поставка учебников"), "{content:?}");
    let signature = B64.encode(pki.valid.sign_detached(&content));
    b.c.execute("window.__ecpDouble.settle(arguments[0]);", vec![serde_json::Value::String(signature.clone())])
        .await
        .unwrap();
    b.wait_for_text("План-график утвержден").await;
    let stored = h.app.store.versions(PlanId(plan)).await.unwrap();
    assert_eq!(stored.len(), 1);
    let signed = h.app.store.version_signed_content(stored[0].id).await.unwrap().unwrap();
    assert_eq!(signed.snapshot.as_bytes(), content.as_slice());
    assert_eq!(signed.signature.as_deref(), Some(signature.as_str()));
    b.close().await;
    drop(driver);
    h.app.stop().await;
}
