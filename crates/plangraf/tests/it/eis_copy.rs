//! ЕИС's copy of a plan-schedule: «Сверить с ЕИС» of a plan placed from plangraf, «Загрузить из
//! ЕИС» of a plan created in the sandbox's cabinet (the conflict of seed 004), read-only here,
//! and a drift made in the cabinet shown by the reconciliation. Real HTTPS to the sandbox.

use crate::common::*;
use domain::ids::{PlanId, VersionId};

/// Saves the sandbox user's fresh integration credentials in «Настройки» as the customer.
pub async fn save_eis_credentials(h: &Harness, customer: &mut Client) -> (String, String) {
    let (login, password) = h.eis_credentials("eis_user").await;
    let p = customer.save_eis_credentials(&login, &password).await;
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

/// A position as the cabinet's form takes it.
pub fn cabinet_position(object: &str, okpd2: &str, year: i32, current: i64) -> sandbox::CabinetPosition {
    sandbox::CabinetPosition {
        object_info: object.into(),
        okpd2: okpd2.into(),
        kvr: "244".into(),
        publish_year: year,
        current_year: rust_decimal::Decimal::new(current * 100, 2),
        first_year: rust_decimal::Decimal::ZERO,
        second_year: rust_decimal::Decimal::ZERO,
        subsequent_years: rust_decimal::Decimal::ZERO,
    }
}

/// Seed 004's conflict to its end: the school's plan for 2027 cannot go, because the plan for the
/// period was created in the ЕИС cabinet; it is taken in read-only, reconciled, changed in the
/// cabinet (a drift) and the reconciliation shows exactly that change.
#[tokio::test]
async fn a_plan_created_in_eis_is_taken_in_read_only_and_a_drift_made_in_the_cabinet_is_found() {
    let h = Harness::start_driven().await;
    let spz = plangraf::demo::SCHOOL.spz_code;
    let eis = h.sandbox.directory();
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, version) = approved_plan(&h, &mut customer, "2027").await;
    eis.create_plan_directly(spz, 2027).await.unwrap();
    let chalk = cabinet_position("Поставка мела", "23.99.19.000", 2027, 1000);
    let first = eis.cabinet_add_position(spz, 2027, chalk).await.unwrap();
    let roof = cabinet_position("Ремонт кровли", "43.91.19.000", 2027, 50_000);
    let second = eis.cabinet_add_position(spz, 2027, roof).await.unwrap();
    let number = eis.publish(spz, 2027).await.unwrap();
    let (login, password) = save_eis_credentials(&h, &mut customer).await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    let status = drive_to_status(&h, &mut customer, version, domain::SendStatus::Conflict.title()).await;
    assert!(status.has("href=\"/plans#eis-import\""), "the status page points to the import: {}", status.body);

    let p = customer.get("/plans").await;
    assert!(p.has("Загрузить из ЕИС"));
    let p = customer.post("/plans/eis-import", &[("plan_year", "2027"), ("plan_number", &number)]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.url.ends_with(&format!("/plans/{plan}?notice=taken_from_eis")), "the same plan: {}", p.url);
    assert!(p.has("id=\"kept-in-eis\"") && p.has("Ведётся в ЕИС") && p.has(&number), "{}", p.body);
    assert!(p.has("Поставка мела") && p.has("Ремонт кровли") && !p.has("Поставка учебников"), "{}", p.body);
    assert!(p.has(&format!("№ в ЕИС {number}000001")), "the registry numbers are shown: {}", p.body);
    assert!(!p.has("Изменена") && !p.has("Новая"), "no change marks against plangraf's own version: {}", p.body);
    let stored = h.app.store.plan(PlanId(plan)).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.eis_plan_number.as_deref()), (domain::PlanStatus::KeptInEis, Some(&*number)));
    // The approved version is kept, and can no longer go to ЕИС.
    let versions = customer.get(&format!("/plans/{plan}?tab=versions")).await;
    assert!(versions.has("ведётся в ЕИС: он создан в личном кабинете ЕИС"), "{}", versions.body);
    customer.get(&format!("/versions/{version}/send")).await;
    let again =
        customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    assert!(again.has("ведётся в ЕИС"), "{}", again.body);
    // Read-only: nothing can be added, changed or submitted.
    let before = h.app.store.positions(PlanId(plan)).await.unwrap().len();
    let add = customer.add_position(plan, &POSITION).await;
    assert_eq!(add.status, 409, "{}", add.body);
    assert_eq!(customer.post(&format!("/plans/{plan}/changes"), &[]).await.status, 409);
    assert_eq!(customer.post(&format!("/plans/{plan}/submit"), &[]).await.status, 409);
    assert_eq!(h.app.store.positions(PlanId(plan)).await.unwrap().len(), before);

    // What was taken in agrees with ЕИС.
    customer.get(&format!("/plans/{plan}")).await;
    let p = customer.post(&format!("/plans/{plan}/reconcile"), &[]).await;
    assert!(p.has("id=\"reconciliation-agrees\"") && p.has("копией, загруженной из ЕИС"), "{}", p.body);

    // A drift: the first purchase's money changed in the cabinet, and placed there.
    let change = sandbox::CabinetChange { reason_code: "9".into(), description: "Уточнение цены".into() };
    let edited = cabinet_position("Поставка мела", "23.99.19.000", 2027, 1200);
    eis.cabinet_edit_position(spz, 2027, &first, edited, Some(change)).await.unwrap();
    eis.publish(spz, 2027).await.unwrap();
    customer.get(&format!("/plans/{plan}")).await;
    let p = customer.post(&format!("/plans/{plan}/reconcile"), &[]).await;
    assert!(p.has("id=\"reconciliation-differs\""), "{}", p.body);
    let rows: Vec<&str> = p.body.split("<tr>").filter(|r| r.contains("<td>")).collect();
    assert_eq!(rows.len(), 1, "exactly one difference: {rows:#?}");
    let row = rows[0];
    assert!(row.contains(&format!("{first} «Поставка мела»")) && row.contains("Сумма, текущий год"), "{row}");
    let money = |text: &str| domain::Money::parse(text).unwrap().to_string();
    assert!(row.contains(&money("1000")) && row.contains(&money("1200")) && row.contains(&money("200")), "{row}");
    assert!(!p.body.contains(&format!("{second} «Ремонт кровли»")), "the other purchase agrees");
    let copy = h.app.store.latest_eis_copy(PlanId(plan), store::eis_copies::CopyPurpose::Reconciliation).await;
    assert_eq!(copy.unwrap().map(|c| (c.differences, c.version_number)), Some((Some(1), Some(1))));

    // Taken in again: the plan is ЕИС's version 1, and agrees.
    let p = customer.post("/plans/eis-import", &[("plan_year", "2027"), ("plan_number", &number)]).await;
    assert!(p.has("Загружена версия 1"), "{}", p.body);
    let p = customer.post(&format!("/plans/{plan}/reconcile"), &[]).await;
    assert!(p.has("id=\"reconciliation-agrees\""), "{}", p.body);
    let journal = h.app.store.audit_for("plan", plan).await.unwrap();
    assert_eq!(journal.iter().filter(|e| e.action == "Загружен из ЕИС").count(), 2, "{journal:#?}");
    h.app.stop().await;
}

/// Nothing the customer entered is lost: a plan being formed with positions is not replaced.
#[tokio::test]
async fn taking_in_never_replaces_positions_that_are_in_no_approved_version() {
    let h = Harness::start_driven().await;
    let spz = plangraf::demo::SCHOOL.spz_code;
    let eis = h.sandbox.directory();
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2028").await;
    let mut position = POSITION;
    position[1] = ("publish_year", "2028");
    assert!(customer.add_position(plan, &position).await.has("Позиция добавлена"));
    eis.create_plan_directly(spz, 2028).await.unwrap();
    eis.cabinet_add_position(spz, 2028, cabinet_position("Поставка мела", "23.99.19.000", 2028, 1000)).await.unwrap();
    let number = eis.publish(spz, 2028).await.unwrap();
    save_eis_credentials(&h, &mut customer).await;
    customer.get("/plans").await;
    let p = customer.post("/plans/eis-import", &[("plan_year", "2028"), ("plan_number", &number)]).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.has("не вошедшие в утвержденную версию"), "{}", p.body);
    let kept = h.app.store.positions(PlanId(plan)).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].position.object_info, "Поставка учебников для 5-х классов");
    assert_eq!(h.app.store.plan(PlanId(plan)).await.unwrap().unwrap().status, domain::PlanStatus::Forming);
    h.app.stop().await;
}
