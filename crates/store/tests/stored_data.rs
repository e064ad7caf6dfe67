//! Data stored by earlier builds still loads now that every code, amount and identifier is read
//! through its `parse`. The rows are written with SQL, as earlier builds left them, and read
//! through the store API. Runs on SQLite and, when PLANGRAF_TEST_DATABASE_URL is set, on
//! PostgreSQL.
//!
//! Decisions: free text (names, descriptions) loads as stored, even with characters that input
//! now refuses — those rows were accepted once and an approved version must stay readable; the
//! pre-flight checks and ЕИС judge the text when it is sent. A code, an amount or an identifier
//! that does not parse was never written by plangraf (every way in parses it first), so such a
//! row is reported as corrupt instead of being shown with a wrong value.

use domain::Money;
use domain::ids::PlanId;
use domain::plan::OwnerRole;
use store::testing::fresh_store;
use store::{Store, StoreError};

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let s = fresh_store(dir.path()).await.expect("fresh store");
    (s, dir)
}

async fn exec(s: &Store, sql: &'static str, args: &[&str]) {
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(a.to_string());
    }
    q.execute(s.pool()).await.unwrap();
}

/// An organization, a user and a plan, as earlier builds wrote them. Returns the plan id.
async fn plan_rows(s: &Store, inn: &str) -> (i64, i64) {
    let now = chrono::Utc::now().timestamp_millis().to_string();
    exec(
        s,
        "INSERT INTO organizations (name, short_name, superior_id, spz_code, inn, kpp, org_type, budget_level, oktmo, created_at) \
         VALUES ('ГБОУ «Школа № 1»', 'Школа № 1', NULL, '03722001684', $1, '780201001', '03', 2, '40307000', CAST($2 AS BIGINT))",
        &[inn, &now],
    )
    .await;
    let org: i64 = sqlx::query_scalar("SELECT id FROM organizations WHERE spz_code = '03722001684'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    let org = org.to_string();
    exec(
        s,
        "INSERT INTO users (login, password_hash, full_name, org_id, created_at) \
         VALUES ('spec', 'x', 'Петрова Анна', CAST($1 AS BIGINT), CAST($2 AS BIGINT))",
        &[&org, &now],
    )
    .await;
    exec(s, "INSERT INTO user_roles (user_id, role) SELECT id, 'customer' FROM users WHERE login = 'spec'", &[]).await;
    exec(
        s,
        "INSERT INTO plans (org_id, plan_year, status, return_comment, eis_plan_number, row_version, created_at, updated_at) \
         VALUES (CAST($1 AS BIGINT), 2026, 'forming', NULL, NULL, 1, CAST($2 AS BIGINT), CAST($2 AS BIGINT))",
        &[&org, &now],
    )
    .await;
    let plan: i64 = sqlx::query_scalar("SELECT id FROM plans").fetch_one(s.pool()).await.unwrap();
    let user: i64 = sqlx::query_scalar("SELECT id FROM users").fetch_one(s.pool()).await.unwrap();
    (plan, user)
}

async fn position_row(s: &Store, plan: i64, number: &str, data: &str) {
    exec(
        s,
        "INSERT INTO positions (plan_id, purchase_number, data) VALUES (CAST($1 AS BIGINT), CAST($2 AS BIGINT), $3)",
        &[&plan.to_string(), number, data],
    )
    .await;
}

/// Today's shape: a list of ОКПД2, a КВР breakdown, a change justification, and an object
/// name holding an escape character (U+001B) that input now refuses.
const CURRENT_POSITION: &str = r#"{"purchase_number":1,"publish_year":2026,"special":null,
    "okpd2":["38.11.21.000","81.29.12"],"kvr":"244","object_info":"Вывоз \u001b[31mотходов",
    "amounts":{"current":"1000.5","first":"0","second":"250.00","subsequent":"0"},
    "kbks":[],"kvrs":[{"code":"244","amounts":{"current":"1000.5","first":"0","second":"250.00","subsequent":"0"}}],
    "target_articles":[],"public_discussion":false,"energy_service":true,
    "change":{"reason_code":"9","reason_name":"Иные обстоятельства","decision":"Changed","description":"Уточнена цена"}}"#;

/// The shape before breakdowns and special purchases: one ОКПД2 string and one КБК.
const OLD_POSITION: &str = r#"{"purchase_number":2,"publish_year":2026,"okpd2":"58.11.1","kvr":"244",
    "object_info":"Учебники","amounts":{"current":"10.00","first":"0","second":"0","subsequent":"0"},
    "kbk":"07507021234567890244","public_discussion":true}"#;

const SNAPSHOT: &str = r#"{"plan_year":2026,
    "customer":{"name":"ГБОУ \u0007«Школа № 1»","spz_code":"03722001684","inn":"7802139698","kpp":"780201001",
        "org_type":"Budget","iku":"27802139698780201001"},
    "agent":{"name":"Комитет","spz_code":"03722000010","iku":""},
    "responsible":{"last_name":"Петрова","first_name":"Анна","middle_name":"","position":"Контрактный управляющий","phone":""},
    "positions":[POSITIONS]}"#;

#[tokio::test]
async fn versions_and_positions_stored_by_earlier_builds_load() {
    let (s, _d) = store().await;
    let (plan, user) = plan_rows(&s, "7802139698").await;
    position_row(&s, plan, "1", CURRENT_POSITION).await;
    position_row(&s, plan, "2", OLD_POSITION).await;
    let snapshot = SNAPSHOT.replace("POSITIONS", &format!("{CURRENT_POSITION},{OLD_POSITION}"));
    exec(
        &s,
        "INSERT INTO plan_versions (plan_id, version_number, snapshot, approved_by, approved_at) \
         VALUES (CAST($1 AS BIGINT), 1, $2, CAST($3 AS BIGINT), 1700000000000)",
        &[&plan.to_string(), &snapshot, &user.to_string()],
    )
    .await;

    let org = s.organizations().await.unwrap().remove(0);
    assert_eq!((org.spz_code.as_str(), org.inn.as_str(), org.kpp.as_str()), ("03722001684", "7802139698", "780201001"));
    assert_eq!(s.plan(PlanId(plan)).await.unwrap().unwrap().owner_role, OwnerRole::Customer);

    let positions = s.positions(PlanId(plan)).await.unwrap();
    assert_eq!(positions.len(), 2);
    let current = &positions[0].position;
    assert_eq!(current.okpd2_text(), "38.11.21.000; 81.29.12");
    assert_eq!(current.object_info, "Вывоз \u{1b}[31mотходов", "free text loads as stored");
    assert_eq!(current.amounts.current, Money::parse("1000,50").unwrap());
    assert_eq!(current.amounts.total(), Money::parse("1250,50").unwrap());
    assert_eq!(current.kvrs[0].code, "244");
    assert!(current.energy_service);
    assert_eq!(current.change.as_ref().map(|c| c.reason_code.as_str()), Some("9"));
    let old = &positions[1].position;
    assert_eq!(old.okpd2_text(), "58.11.1");
    assert_eq!(old.kbks.len(), 1);
    assert_eq!(old.kbks[0].code, "07507021234567890244");
    assert_eq!(old.kbks[0].amounts.current, Money::parse("10").unwrap(), "the one КБК carries the whole financing");

    let version = s.versions(PlanId(plan)).await.unwrap().remove(0);
    let snap = &version.snapshot;
    assert_eq!(snap.customer.name, "ГБОУ \u{7}«Школа № 1»");
    assert_eq!(snap.customer.inn.as_str(), "7802139698");
    assert_eq!(snap.customer.iku.as_ref().map(|i| i.as_str()), Some("27802139698780201001"));
    let agent = snap.agent.as_ref().unwrap();
    assert_eq!(agent.spz_code.as_str(), "03722000010");
    assert_eq!(agent.iku, None, "an empty ИКУ was stored for an organization that cannot form one");
    assert_eq!(snap.owner_iku(), None);
    assert_eq!(snap.positions, vec![current.clone(), old.clone()]);
    let customer_iku = snap.customer.iku.as_ref();
    assert_eq!(old.ikz(customer_iku).unwrap().as_str(), "262780213969878020100100020005811244");

    // What is written back keeps the stored shape: an absent ИКУ is still `""`.
    let json = serde_json::to_value(snap).unwrap();
    assert_eq!(json["agent"]["iku"], "");
    assert_eq!(json["positions"][0]["amounts"]["current"], "1000.5");
}

#[tokio::test]
async fn a_stored_value_that_does_not_parse_is_reported_as_corrupt() {
    let (s, _d) = store().await;
    let (plan, _) = plan_rows(&s, "7802139698").await;
    let bad_code = OLD_POSITION.replace("\"58.11.1\"", "\"58..11\"");
    position_row(&s, plan, "2", &bad_code).await;
    assert!(matches!(s.positions(PlanId(plan)).await, Err(StoreError::Corrupt(m)) if m.contains("position")));

    exec(&s, "DELETE FROM positions", &[]).await;
    let bad_money = OLD_POSITION.replace("\"10.00\"", "\"10.005\"");
    position_row(&s, plan, "2", &bad_money).await;
    assert!(matches!(s.positions(PlanId(plan)).await, Err(StoreError::Corrupt(_))));

    exec(&s, "DELETE FROM positions", &[]).await;
    let bad_number = OLD_POSITION.replace("\"purchase_number\":2", "\"purchase_number\":0");
    position_row(&s, plan, "2", &bad_number).await;
    assert!(matches!(s.positions(PlanId(plan)).await, Err(StoreError::Corrupt(_))));
}

#[tokio::test]
async fn an_organization_with_an_identifier_that_does_not_parse_is_reported_as_corrupt() {
    let (s, _d) = store().await;
    plan_rows(&s, "78021396").await;
    let err = s.organizations().await.unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt(m) if m.contains("inn «78021396»")), "{err}");
}
