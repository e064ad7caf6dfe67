//! Long operations as jobs: «Утвердить выбранные» and «Отправить все» answer with the job's
//! page at once; the page and its progress are the starter's only; a second press while the
//! job runs shows the same job.

use crate::common::*;
use domain::ids::PlanId;
use store::jobs::JobKind;

/// The customer's plan for `year` with one position, submitted for approval.
async fn submitted_plan(customer: &mut Client, year: &str) -> i64 {
    let plan = customer.create_plan(year).await;
    let mut position = POSITION;
    position[1] = ("publish_year", year);
    customer.add_position(plan, &position).await;
    customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    plan
}

fn job_id(page: &Page) -> i64 {
    page.url.rsplit('/').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_job_page_and_its_progress_belong_to_whoever_started_it() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = submitted_plan(&mut customer, "2026").await;
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get("/plans").await;
    let started = approver.post("/plans/approve", &[("plan", &plan.to_string())]).await;
    assert_eq!(started.status, 200);
    let id = job_id(&started);
    let done = approver.job_outcome(started).await;
    assert!(done.has("Утверждение выбранных планов-графиков") && done.has(">Завершено<"), "{}", done.body);
    assert!(done.has("Утверждено планов-графиков: 1"), "{}", done.body);
    assert!(!done.has("data-running=\"true\"") && !done.has("/static/job.js"), "an ended job's page is still");
    assert_eq!(h.app.store.versions(PlanId(plan)).await.unwrap().len(), 1);

    let progress = approver.get(&format!("/jobs/{id}/progress")).await;
    assert_eq!(progress.status, 200);
    let p: serde_json::Value = serde_json::from_str(&progress.body).unwrap();
    assert_eq!(p["running"], false);
    assert_eq!((p["total"].as_i64(), p["done"].as_i64(), p["succeeded"].as_i64()), (Some(1), Some(1), Some(1)));
    assert_eq!((p["refused"].as_i64(), p["percent"].as_i64()), (Some(0), Some(100)));

    // Nobody else sees it: not the customer of the plan, not another organization.
    for client in [&mut customer, &mut other_organization(&h).await] {
        assert_eq!(client.get(&format!("/jobs/{id}")).await.status, 404);
        assert_eq!(client.get(&format!("/jobs/{id}/progress")).await.status, 404);
    }
    assert_eq!(approver.get("/jobs/999999").await.status, 404);
    assert_eq!(approver.get("/jobs/abc").await.status, 404);
    h.app.stop().await;
}

#[tokio::test]
async fn a_second_press_while_the_job_runs_shows_the_same_job() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.save_eis_credentials(&login, &password).await;
    let user = h.app.store.user_by_login("zakazchik").await.unwrap().unwrap();
    // A job of the customer's that is running (its heartbeat fresh): as if pressed a moment ago.
    let running = h.app.store.create_job(JobKind::SendAll, user.id).await.unwrap();
    customer.get("/sends").await;
    let page = customer.post("/sends/bulk", &[]).await;
    assert_eq!(job_id(&page), running, "{}", page.url);
    assert!(page.has("data-running=\"true\"") && page.has("/static/job.js"), "{}", page.body);
    assert!(page.has("<noscript><meta http-equiv=\"refresh\" content=\"2\"></noscript>"), "{}", page.body);
    assert!(page.has("Ожидает очереди"), "{}", page.body);
    h.app.stop().await;
}

#[tokio::test]
async fn a_refusal_of_the_whole_operation_starts_no_job() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    customer.get("/sends").await;
    let p = customer.post("/sends/bulk", &[]).await;
    assert!(p.url.ends_with("/sends/bulk") || p.url.ends_with("/sends"), "{}", p.url);
    assert!(p.has("Сохраните логин и пароль ЕИС"), "{}", p.body);
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get("/plans").await;
    let p = approver.post("/plans/approve", &[]).await;
    assert!(p.has("Отметьте планы-графики"), "{}", p.body);
    for login in ["zakazchik", "soglasovatel"] {
        let user = h.app.store.user_by_login(login).await.unwrap().unwrap();
        for kind in [JobKind::SendAll, JobKind::ApproveMany] {
            assert!(h.app.store.running_jobs(user.id, kind, 5).await.unwrap().is_empty(), "{login}");
        }
    }
    h.app.stop().await;
}
