//! Many specialists of one organization edit the same plan-schedule at once over the JSON API,
//! while other plans of the organization are submitted and approved. Every write either lands
//! or is refused with 409 and a Russian message; nothing answered 2xx is lost; no fault (a
//! deadlock, a serialization failure) reaches a client. The refusal rate is printed: it is a
//! figure for docs/PERFORMANCE.md, not a goal of the test.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const EDITORS: usize = 50;
const ADDS: usize = 3;
const EDITS: usize = 2;
/// Editors that also raise the amount of one shared position by one rouble each, reading it
/// and naming the version they read: they refuse each other, and no raise may be lost.
const RAISERS: usize = 10;
const SHARED_AMOUNT: u64 = 100_000;
/// Attempts one operation may take before the test gives up on it.
const MAX_ATTEMPTS: usize = 2_000;
const DEADLINE: Duration = Duration::from_secs(300);

#[derive(Default)]
struct Counts {
    attempts: AtomicU64,
    refusals: AtomicU64,
    /// Refusals of the raises of the shared position.
    shared_refusals: AtomicU64,
}

struct Caller {
    base: String,
    http: reqwest::Client,
    token: String,
}

struct Answer {
    status: u16,
    json: Value,
}

impl Caller {
    /// Calls the API; any answer but 2xx and a 409 problem document in Russian fails the test.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let content_type =
            r.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_owned()).unwrap_or_default();
        let text = r.text().await.unwrap();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            assert_eq!(status, 409, "{method} {path}: only 409 may refuse a write here: {text}");
            assert!(content_type.starts_with("application/problem+json"), "{method} {path}: {content_type}");
            let detail = json["detail"].as_str().unwrap_or("");
            assert!(detail.chars().any(|c| ('а'..='я').contains(&c)), "a Russian refusal: {text}");
            for leak in ["deadlock", "serializ", "could not", "database"] {
                assert!(!detail.to_lowercase().contains(leak), "a database fault leaked: {text}");
            }
        }
        Answer { status, json }
    }

    /// The position's row version as the plan's detail shows it now.
    async fn position_version(&self, plan: i64, position: i64) -> i64 {
        let detail = self.call(Method::GET, &format!("/api/v1/plans/{plan}"), None).await.json;
        let p = detail["positions"].as_array().unwrap().iter().find(|p| p["id"] == position).unwrap().clone();
        p["row_version"].as_i64().unwrap()
    }
}

/// A position's fields; `row_version` names the position's version when it is changed.
fn position(object_info: &str, amount: u64, row_version: Option<i64>) -> Value {
    let mut p = json!({
        "object_info": object_info,
        "publish_year": "2026",
        "okpd2": "58.11.19.000",
        "kvr": "244",
        "amount_current": amount.to_string(),
    });
    if let Some(v) = row_version {
        p["row_version"] = json!(v);
    }
    p
}

/// One editor: adds its positions, then edits the first of them, retrying each write on 409.
/// Answers the content of every position it added as last confirmed: id → (object_info, amount).
async fn editor(
    caller: Caller,
    plan: i64,
    who: usize,
    shared: i64,
    counts: Arc<Counts>,
) -> BTreeMap<i64, (String, u64)> {
    let mut mine: BTreeMap<i64, (String, u64, i64)> = BTreeMap::new();
    let positions = format!("/api/v1/plans/{plan}/positions");
    for k in 0..ADDS {
        let info = format!("Закупка специалиста {who}, позиция {k}");
        let amount = 1_000 + (who * 10 + k) as u64;
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts <= MAX_ATTEMPTS, "editor {who} could not add a position in {MAX_ATTEMPTS} attempts");
            counts.attempts.fetch_add(1, Ordering::Relaxed);
            let r = caller.call(Method::POST, &positions, Some(position(&info, amount, None))).await;
            if r.status == 201 {
                let id = r.json["position"]["id"].as_i64().unwrap();
                assert_eq!(r.json["position"]["object_info"], info.as_str());
                mine.insert(id, (info.clone(), amount, r.json["position"]["row_version"].as_i64().unwrap()));
                break;
            }
            counts.refusals.fetch_add(1, Ordering::Relaxed);
        }
    }
    let ids: Vec<i64> = mine.keys().copied().take(EDITS).collect();
    for (e, id) in ids.into_iter().enumerate() {
        let info = format!("Закупка специалиста {who}, позиция {e}, правка");
        let amount = 50_000 + (who * 10 + e) as u64;
        let mut version = mine[&id].2;
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts <= MAX_ATTEMPTS, "editor {who} could not edit a position in {MAX_ATTEMPTS} attempts");
            counts.attempts.fetch_add(1, Ordering::Relaxed);
            let body = position(&info, amount, Some(version));
            let r = caller.call(Method::PUT, &format!("{positions}/{id}"), Some(body)).await;
            if r.status == 200 {
                assert_eq!(r.json["position"]["object_info"], info.as_str());
                mine.insert(id, (info.clone(), amount, r.json["position"]["row_version"].as_i64().unwrap()));
                break;
            }
            counts.refusals.fetch_add(1, Ordering::Relaxed);
            version = caller.position_version(plan, id).await;
        }
    }
    if who < RAISERS {
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts <= MAX_ATTEMPTS, "editor {who} could not raise the shared amount");
            let detail = caller.call(Method::GET, &format!("/api/v1/plans/{plan}"), None).await.json;
            let p = detail["positions"].as_array().unwrap().iter().find(|p| p["id"] == shared).unwrap().clone();
            let amount: rust_decimal::Decimal = p["amounts"]["current"].as_str().unwrap().parse().unwrap();
            let amount: u64 = amount.try_into().unwrap();
            let body = position("Общая закупка", amount + 1, Some(p["row_version"].as_i64().unwrap()));
            counts.attempts.fetch_add(1, Ordering::Relaxed);
            let r = caller.call(Method::PUT, &format!("{positions}/{shared}"), Some(body)).await;
            if r.status == 200 {
                break;
            }
            counts.refusals.fetch_add(1, Ordering::Relaxed);
            counts.shared_refusals.fetch_add(1, Ordering::Relaxed);
        }
    }
    mine.into_iter().map(|(id, (info, amount, _))| (id, (info, amount))).collect()
}

/// Meanwhile: plans of other years are created, filled, submitted and approved.
async fn approvals(customer: Caller, approver: Caller, years: std::ops::Range<i64>) -> usize {
    let mut approved = 0;
    for year in years {
        let r = customer.call(Method::POST, "/api/v1/plans", Some(json!({"plan_year": year}))).await;
        assert_eq!(r.status, 201, "{:?}", r.json);
        let plan = r.json["id"].as_i64().unwrap();
        let mut p = position("Поставка учебников", 10_000, None);
        p["publish_year"] = json!(year.to_string());
        let r = customer.call(Method::POST, &format!("/api/v1/plans/{plan}/positions"), Some(p)).await;
        assert_eq!(r.status, 201, "{:?}", r.json);
        let r = customer.call(Method::POST, &format!("/api/v1/plans/{plan}/submit"), None).await;
        assert_eq!(r.status, 200, "{:?}", r.json);
        let r = approver.call(Method::POST, &format!("/api/v1/plans/{plan}/approve"), None).await;
        assert_eq!(r.status, 200, "{:?}", r.json);
        approved += 1;
    }
    approved
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_editors_of_one_plan_lose_nothing() {
    let h = Harness::start_driven().await;
    let store = &h.app.store;
    let school = store.organization_by_spz(plangraf::demo::SCHOOL.spz_code).await.unwrap().unwrap();
    let caller = |token: String| Caller { base: h.app.url(), http: reqwest::Client::new(), token };
    let token_of = |id| store.create_api_token(id, 3_600_000);
    let zakazchik = store.user_by_login("zakazchik").await.unwrap().unwrap();
    let soglasovatel = store.user_by_login("soglasovatel").await.unwrap().unwrap();
    let customer = caller(token_of(zakazchik.id).await.unwrap());
    let approver = caller(token_of(soglasovatel.id).await.unwrap());

    let r = customer.call(Method::POST, "/api/v1/plans", Some(json!({"plan_year": 2026}))).await;
    assert_eq!(r.status, 201);
    let plan = r.json["id"].as_i64().unwrap();
    let shared_position = position("Общая закупка", SHARED_AMOUNT, None);
    let r = customer.call(Method::POST, &format!("/api/v1/plans/{plan}/positions"), Some(shared_position)).await;
    assert_eq!(r.status, 201);
    let shared = r.json["position"]["id"].as_i64().unwrap();

    let hash = app::users::hash("specialist1".into()).await.unwrap();
    let counts = Arc::new(Counts::default());
    let mut editors = Vec::new();
    for who in 0..EDITORS {
        let user = store
            .create_user(&format!("specialist{who}"), &hash, "Специалист", school.id, domain::Role::CustomerSpecialist)
            .await
            .unwrap()
            .unwrap();
        let c = caller(token_of(user.id).await.unwrap());
        editors.push(tokio::spawn(editor(c, plan, who, shared, counts.clone())));
    }
    let other = tokio::spawn(approvals(customer, approver, 2027..2031));

    let outcome = tokio::time::timeout(DEADLINE, async {
        let mut written = BTreeMap::new();
        for e in editors {
            written.extend(e.await.expect("an editor finished without a failed assertion"));
        }
        let approved = other.await.expect("the approvals finished without a failed assertion");
        (written, approved)
    })
    .await;
    let (written, approved) = outcome.expect("the editors finished before the deadline");
    assert_eq!(approved, 4);

    let attempts = counts.attempts.load(Ordering::Relaxed);
    let refusals = counts.refusals.load(Ordering::Relaxed);
    let shared_refusals = counts.shared_refusals.load(Ordering::Relaxed);
    println!(
        "concurrency: {EDITORS} editors, {} writes, {attempts} attempts, {refusals} refusals (409), refusal rate {:.3}; \
         of them {shared_refusals} on the one position {RAISERS} editors raise together",
        EDITORS * (ADDS + EDITS) + RAISERS,
        refusals as f64 / attempts as f64
    );

    // Every write answered 2xx is there with its content, and nothing else is.
    let last = caller(token_of(zakazchik.id).await.unwrap());
    let detail = last.call(Method::GET, &format!("/api/v1/plans/{plan}"), None).await.json;
    // The plan answers its first page of positions; the rest page by page after it.
    let mut positions: Vec<Value> = detail["positions"].as_array().unwrap().clone();
    let mut next = detail["positions_next"].as_str().map(String::from);
    while let Some(path) = next {
        let page = last.call(Method::GET, &path, None).await.json;
        positions.extend(page["items"].as_array().unwrap().iter().cloned());
        next = page["next_cursor"].as_str().map(|c| format!("/api/v1/plans/{plan}/positions?limit=100&cursor={c}"));
    }
    let stored: BTreeMap<i64, (String, u64)> = positions
        .iter()
        .map(|p| {
            let amount: rust_decimal::Decimal = p["amounts"]["current"].as_str().unwrap().parse().unwrap();
            (p["id"].as_i64().unwrap(), (p["object_info"].as_str().unwrap().to_owned(), amount.try_into().unwrap()))
        })
        .collect();
    let mut stored = stored;
    let raised = stored.remove(&shared).expect("the shared position");
    assert_eq!(raised.1, SHARED_AMOUNT + RAISERS as u64, "every confirmed raise is there: none lost");
    assert_eq!(written.len(), EDITORS * ADDS);
    assert_eq!(stored, written, "the stored positions are exactly the confirmed writes");
    // Purchase numbers: unique, from 1 without gaps.
    let mut numbers: Vec<u64> = positions.iter().map(|p| p["purchase_number"].as_u64().unwrap()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=(EDITORS * ADDS + 1) as u64).collect::<Vec<_>>());
    h.app.stop().await;
}
