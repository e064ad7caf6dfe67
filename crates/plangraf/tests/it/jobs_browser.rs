//! The page of a running job in a real browser: its script (`static/job.js`) moves the progress
//! bar as the job writes its progress, and shows the outcome once the job has ended, with no
//! press of the user. Headless Chromium over chromedriver ([`crate::chromium`]); without them the
//! test says SKIPPED and passes, unless PLANGRAF_REQUIRE_BROWSER=1.

use crate::chromium::Scene;
use fantoccini::Locator;
use store::jobs::{JobKind, JobProgress, JobStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_page_follows_the_job_to_its_end() {
    let Some(s) = Scene::start("job-progress").await else { return };
    let (app, b, store) = (s.app.clone(), &s.b, s.h.app.store.clone());
    b.goto(&format!("{app}/login")).await;
    b.fill("#login", "zakazchik").await;
    b.fill("#password", "zakazchik").await;
    b.press("Войти").await;
    b.wait_for_text("Планы-графики").await;

    // The job is driven here, step by step, as «Отправить все» drives its own.
    let user = store.user_by_login("zakazchik").await.unwrap().unwrap();
    let id = store.create_job(JobKind::SendAll, user.id).await.unwrap();
    b.goto(&format!("{app}/jobs/{id}")).await;
    b.wait_for_heading("Отправка всех утверждённых неотправленных версий").await;
    b.expect_text(Locator::Css("#job-state"), "Ожидает очереди").await;

    let halfway = JobProgress { total: 4, done: 2, succeeded: 1, problems: vec!["версия 2: отказ".into()] };
    store.save_job_progress(id, &halfway).await.unwrap();
    b.wait_for_element_text(Locator::Css("#job-counts"), "Обработано 2 из 4, успешно 1, отказов 1").await;
    b.expect_text(Locator::Css("#job-percent"), "50 %").await;
    b.screenshot("job-running").await;

    let end = JobProgress { done: 4, succeeded: 3, ..halfway };
    store.finish_job(id, JobStatus::Done, &end, "Поставлено в очередь на отправку версий: 3").await.unwrap();
    b.wait_for_element_text(Locator::Css("#job-message"), "Поставлено в очередь на отправку версий: 3").await;
    b.expect_text(Locator::Css("#job-state"), "Завершено, есть отказы").await;
    b.expect_text(Locator::Css("#job-problems"), "версия 2: отказ").await;
    b.expect_text(Locator::Css("#job-counts"), "Обработано 4 из 4, успешно 3, отказов 1").await;
    b.screenshot("job-done").await;
    s.finish().await;
}
