//! The send status page while ЕИС fails and after the runner stops: when the next attempt is,
//! when the attempts stop, and, for a request ЕИС will always refuse, what happened and what to do.

use crate::common::*;
use domain::ids::VersionId;

#[tokio::test]
async fn the_status_page_shows_the_next_attempt_and_when_attempts_stop() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    h.sandbox.set_faults(sandbox::Faults { error_percent: 100, ..Default::default() });
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    // One attempt, answered 503: the send waits for its next try.
    assert!(h.app.exchange.run_next_within(std::time::Duration::ZERO).await.unwrap(), "the queued send is due");
    assert_eq!(h.app.store.latest_send(VersionId(version)).await.unwrap().unwrap().consecutive_failures, 1);
    let p = customer.get(&format!("/versions/{version}/status")).await;
    assert!(p.has("Попытки прекратятся"), "{}", p.body);
    assert!(p.has("id=\"send-status\">В очереди<"), "{}", p.body);
    assert!(p.has("Следующая попытка в "), "{}", p.body);
    assert!(p.has(", если ЕИС не ответит."), "{}", p.body);
    h.sandbox.set_faults(sandbox::Faults::default());
    let p = drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    assert!(!p.has("Попытки прекратятся"), "not shown once ЕИС answers");
    let send = h.app.store.latest_send(VersionId(version)).await.unwrap().unwrap();
    assert_eq!(send.consecutive_failures, 0);
    h.app.stop().await;
}

#[tokio::test]
async fn a_request_eis_always_refuses_ends_with_what_to_do() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;
    // ЕИС refuses the upload with HTTP 400, as it would every repeat of it.
    h.sandbox.set_faults(sandbox::Faults { refuse_next: 1, ..sandbox::Faults::default() });
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    let p = drive_to_status(&h, &mut customer, version, "Отправка прекращена: ЕИС отклоняет запрос").await;
    assert!(p.has("id=\"stop-reason\""), "{}", p.body);
    assert!(p.has("код ответа 400"), "{}", p.body);
    assert!(p.has("документ не может быть принят"), "ЕИС's own words: {}", p.body);
    assert!(p.has("обратитесь в службу поддержки"), "{}", p.body);
    assert_eq!(h.app.store.latest_send(VersionId(version)).await.unwrap().unwrap().attempts, 1);
    // A new send is offered (the state is final, not live).
    let dialog = customer.get(&format!("/versions/{version}/send")).await;
    assert_eq!(dialog.status, 200, "{}", dialog.body);
    h.app.stop().await;
}

/// A loaded send whose placement check ЕИС refuses (the password was made anew in the cabinet)
/// stays loaded, and its timeline says the check failed: the entry is not titled «Загрузка
/// завершена успешно» over a refusal.
#[tokio::test]
async fn a_refused_placement_check_is_titled_as_what_happened() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    // The password is made anew in the cabinet; the next placement check is refused.
    h.eis_credentials("eis_user").await;
    assert!(h.app.exchange.run_next_within(std::time::Duration::from_secs(3600)).await.unwrap());
    let send = h.app.store.latest_send(VersionId(version)).await.unwrap().unwrap();
    assert_eq!(send.status, domain::SendStatus::Loaded, "the version stays loaded in ЕИС");
    let p = customer.get(&format!("/versions/{version}/status")).await;
    assert!(
        p.has("<b>Проверка размещения в ЕИС не удалась</b> — Не удалось узнать, размещён ли план-график"),
        "{}",
        p.body
    );
    assert!(!p.has("<b>Загрузка завершена успешно</b> — Не удалось узнать"), "{}", p.body);
    h.app.stop().await;
}
