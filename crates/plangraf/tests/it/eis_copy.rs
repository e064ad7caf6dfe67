//! ЕИС's copy of a plan-schedule: «Сверить с ЕИС» of a plan placed from plangraf, «Загрузить из
//! ЕИС» of a plan created in the sandbox's cabinet (the conflict of seed 004), read-only here,
//! and a drift made in the cabinet shown by the reconciliation. Real HTTPS to the sandbox.

use crate::common::*;
use domain::ids::{PlanId, VersionId};

/// Saves the sandbox user's fresh integration credentials in «Настройки» as the customer.
pub async fn save_eis_credentials(h: &Harness, customer: &mut Client) -> (String, String) {
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get("/settings/eis").await;
    let p = customer
        .post(
            "/settings/eis",
            &[("login", &login), ("change_password", "1"), ("password", &password), ("password_confirm", &password)],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    (login, password)
}

/// A plan of 2026 approved, sent and placed from plangraf; answers (plan id, version id).
async fn placed_plan(h: &Harness, customer: &mut Client) -> (i64, i64) {
    let (plan, version) = approved_plan(h, customer, "2026").await;
    let (login, password) = save_eis_credentials(h, customer).await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    drive_to_status(h, customer, version, "Загрузка завершена успешно").await;
    h.sandbox.directory().publish(plangraf::demo::SCHOOL.spz_code, 2026).await.unwrap();
    drive_to_status(h, customer, version, "Размещена в ЕИС").await;
    (plan, version)
}

#[tokio::test]
async fn a_plan_placed_from_here_agrees_with_eis_and_the_reading_is_kept() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, version) = placed_plan(&h, &mut customer).await;
    let number = h.app.store.plan(PlanId(plan)).await.unwrap().unwrap().eis_plan_number.unwrap();

    let page = customer.get(&format!("/plans/{plan}")).await;
    assert!(page.has(&format!("action=\"/plans/{plan}/reconcile\"")), "offered on a placed plan: {}", page.body);
    let p = customer.post(&format!("/plans/{plan}/reconcile"), &[]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("id=\"reconciliation-agrees\""), "{}", p.body);
    assert!(p.has(&number) && p.has("версией 0, размещенной из plangraf"), "{}", p.body);

    // The export is kept as ЕИС sent it, and the reading is journaled.
    let copy = h.app.store.latest_eis_copy(PlanId(plan), store::eis_copies::CopyPurpose::Reconciliation).await;
    let copy = copy.unwrap().expect("the reading is recorded");
    assert_eq!((copy.differences, copy.compared_with, copy.version_number), (Some(0), Some(0), Some(0)));
    assert_eq!(copy.position_numbers.len(), 1, "{copy:?}");
    let (_, raw) = h.app.store.eis_copy(PlanId(plan), copy.id).await.unwrap().unwrap();
    let r = customer.http.get(format!("{}/plans/{plan}/eis-copies/{}/export", customer.base, copy.id)).send().await;
    let r = r.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), raw);
    assert!(raw.contains(&number));
    let journal = h.app.store.audit_for("plan", plan).await.unwrap();
    assert!(
        journal.iter().any(|e| e.action == "Сверка с ЕИС" && e.details.contains("расхождений нет")),
        "{journal:#?}"
    );

    // The approver reads the plan but has no ЕИС credentials of the school: no reconciliation.
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    assert!(!approver.get(&format!("/plans/{plan}")).await.has("/reconcile\""));
    assert_eq!(approver.post(&format!("/plans/{plan}/reconcile"), &[]).await.status, 403);
    // Another organization: as if the plan did not exist.
    let mut other = other_organization(&h).await;
    other.get("/plans").await;
    assert_eq!(other.post(&format!("/plans/{plan}/reconcile"), &[]).await.status, 404);
    let r = other.http.get(format!("{}/plans/{plan}/eis-copies/{}/export", other.base, copy.id)).send().await;
    assert_eq!(r.unwrap().status(), 404);
    let _ = VersionId(version);
    h.app.stop().await;
}

#[tokio::test]
async fn reconciliation_says_why_when_it_cannot_compare() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    // Not placed: nothing to compare with, and nothing asked of ЕИС.
    let (plan, _) = approved_plan(&h, &mut customer, "2026").await;
    customer.get(&format!("/plans/{plan}")).await;
    let p = customer.post(&format!("/plans/{plan}/reconcile"), &[]).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.has("еще не размещен в ЕИС"), "{}", p.body);
    let exported = h.sandbox.directory().exchange_log_counts().await.unwrap();
    assert!(!exported.iter().any(|(endpoint, ..)| endpoint == "export"), "{exported:?}");
    h.app.stop().await;
}

#[tokio::test]
async fn taking_in_refuses_bad_numbers_and_missing_credentials_and_changes_nothing() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let spz = plangraf::demo::SCHOOL.spz_code;
    let page = customer.get("/plans").await;
    assert!(page.has("id=\"eis-import\""), "{}", page.body);
    let cases: [(&str, String, u16, &str); 4] = [
        ("2027", "12345".into(), 422, "состоит из 18 цифр"),
        ("2027", format!("2026{spz}001"), 422, &format!("начинается с 2027{spz}")),
        ("двадцать", format!("2027{spz}001"), 422, "четырьмя цифрами"),
        ("2027", format!("2027{spz}001"), 409, "Сохраните логин и пароль ЕИС"),
    ];
    for (year, number, status, message) in &cases {
        let p = customer.post("/plans/eis-import", &[("plan_year", year), ("plan_number", number)]).await;
        assert_eq!(p.status, *status, "{year} {number}: {}", p.body);
        assert!(p.has(message), "{year} {number}: {}", p.body);
        assert!(p.has(&format!("value=\"{number}\"")), "what was typed comes back: {}", p.body);
    }
    // ЕИС knows no such plan: its refusal, in words, and still nothing changed.
    save_eis_credentials(&h, &mut customer).await;
    customer.get("/plans").await;
    let p =
        customer.post("/plans/eis-import", &[("plan_year", "2027"), ("plan_number", &format!("2027{spz}009"))]).await;
    assert_eq!(p.status, 502, "{}", p.body);
    assert!(p.has("ЕИС не нашла размещенный план-график"), "{}", p.body);
    let school = h.app.store.organization_by_spz(spz).await.unwrap().unwrap();
    assert!(h.app.store.plan_for_year(school.id, 2027).await.unwrap().is_none());
    h.app.stop().await;
}
