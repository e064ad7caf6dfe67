//! One error story: every answer a person or a client can receive is Russian, and a page and
//! the API answer the same refusal with the same status.

use crate::common::{Client, Harness};
use serde_json::{Value, json};

/// True when the text has Cyrillic letters and none of the English phrases axum writes.
fn russian(body: &str) -> bool {
    let english = ["Invalid URL", "Failed to", "Expected request", "Cannot parse", "Length Required", "payload"];
    body.chars().any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)))
        && !english.iter().any(|e| body.contains(e))
}

async fn token(h: &Harness, login: &str, password: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", h.app.url()))
        .json(&json!({ "login": login, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn answers_axum_makes_by_itself_are_russian() {
    let h = Harness::start().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;

    // An address whose id does not parse names nothing: 404, a Russian page.
    for path in ["/plans/abc", "/versions/1e9/status", "/plans/1/positions/x/edit", "/nowhere"] {
        let p = customer.get(path).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(p.has("<html") && p.has("Не найдено") && russian(&p.body), "{path}: {}", p.body);
    }
    // The same under /api/ is a problem document.
    let bearer = token(&h, "zakazchik", "zakazchik").await;
    let http = reqwest::Client::new();
    let r = http.get(format!("{}/api/v1/plans/abc", h.app.url())).bearer_auth(&bearer).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = r.json().await.unwrap();
    assert!(russian(body["detail"].as_str().unwrap()), "{body}");

    // A sign-in sent as JSON instead of a form.
    let r = http
        .post(format!("{}/login", h.app.url()))
        .header("content-type", "application/json")
        .body(r#"{"login":"zakazchik","password":"zakazchik"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(russian(&body), "{body}");

    // A method the page does not take.
    let r = http.delete(format!("{}/plans", h.app.url())).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers().contains_key("allow"));
    let body = r.text().await.unwrap();
    assert!(body.contains("<html") && russian(&body), "{body}");
    h.app.stop().await;
}

#[tokio::test]
async fn a_page_and_the_api_answer_a_refusal_alike() {
    let h = Harness::start().await;
    let mut customer: Client = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2031").await;

    // Creating the same plan again: the state forbids it.
    customer.get("/plans").await;
    let page = customer.post("/plans", &[("plan_year", "2031")]).await;
    let bearer = token(&h, "zakazchik", "zakazchik").await;
    let http = reqwest::Client::new();
    let api = http
        .post(format!("{}/api/v1/plans", h.app.url()))
        .bearer_auth(&bearer)
        .json(&json!({ "plan_year": 2031 }))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status, 409, "{}", page.body);
    assert_eq!(api.status(), 409);
    let detail = api.json::<Value>().await.unwrap()["detail"].as_str().unwrap().to_owned();
    assert!(page.has(&detail), "the same reason on both: {detail}");

    // Submitting an empty plan: its content fails the checks (422 on both, findings listed).
    customer.get(&format!("/plans/{plan}")).await;
    let page = customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    let api =
        http.post(format!("{}/api/v1/plans/{plan}/submit", h.app.url())).bearer_auth(&bearer).send().await.unwrap();
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(api.status(), 422);
    let body: Value = api.json().await.unwrap();
    assert!(body["errors"].as_array().is_some_and(|e| !e.is_empty()), "{body}");

    // An approver deciding on a plan still being formed: the state forbids it (409 on both).
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get(&format!("/plans/{plan}")).await;
    let page = approver.post(&format!("/plans/{plan}/approve"), &[]).await;
    let approver_token = token(&h, "soglasovatel", "soglasovatel").await;
    let api = http
        .post(format!("{}/api/v1/plans/{plan}/approve", h.app.url()))
        .bearer_auth(&approver_token)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status, 409, "{}", page.body);
    assert_eq!(api.status(), 409);
    h.app.stop().await;
}

#[tokio::test]
async fn a_fault_answers_a_russian_page_with_the_request_id_and_no_internals() {
    let h = Harness::start().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    // The database goes away under the running server: every page is a fault now.
    h.app.store.close().await;
    let r = customer
        .http
        .get(format!("{}/plans", h.app.url()))
        .header("x-request-id", "support-case-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["x-request-id"], "support-case-42");
    let body = r.text().await.unwrap();
    assert!(body.contains("Внутренняя ошибка сервера") && russian(&body), "{body}");
    assert!(body.contains("support-case-42"), "the page names the request for support: {body}");
    assert!(!body.to_lowercase().contains("pool") && !body.contains("sqlx"), "no internals shown: {body}");
    // The API says the same as a problem document.
    let r = customer.http.get(format!("{}/api/v1/me", h.app.url())).bearer_auth("any-token").send().await.unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}
