//! Approval fixes the version's packet: built and, with the official schemas, validated at the
//! moment of approval, kept with the version, and sent as it is. A packet the schemas reject
//! stops the approval and changes nothing.

use domain::plan::{PlanSnapshot, PlanStatus};
use domain::testing;
use domain::{OrgType, Role};
use eis::client::{ClientConfig, EisClient};
use exchange::{Exchange, ExchangeConfig, RequestError};
use std::sync::Arc;
use store::Store;
use store::orgs::NewOrganization;
use store::plans::Plan;
use store::testing::fresh_store;

/// The sample plan with two positions of 1000 ₽, under the СПЗ code `spz`.
fn snapshot(spz: &str) -> PlanSnapshot {
    let mut plan = testing::plan(OrgType::Budget, vec![testing::position(1, "1000"), testing::position(2, "1000")]);
    plan.customer.spz_code = domain::SpzCode::parse(spz).unwrap();
    plan
}

struct Setup {
    store: Store,
    exchange: Exchange,
    plan: Plan,
    approver: domain::ids::UserId,
    schemas: bool,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(dir.path()).await.unwrap();
    let org = |spz: &'static str, superior| NewOrganization {
        name: "Организация",
        short_name: "Организация",
        superior_id: superior,
        spz_code: domain::SpzCode::parse(spz).unwrap(),
        inn: domain::org::Inn::parse("7802139698").unwrap(),
        kpp: domain::org::Kpp::parse("780201001").unwrap(),
        org_type: OrgType::Budget,
        budget_level: 2,
        oktmo: "40307000",
    };
    let sup = store.ensure_organization(&org("03722000010", None)).await.unwrap().id;
    let customer = store.ensure_organization(&org("03722001684", Some(sup))).await.unwrap().id;
    let specialist =
        store.create_user("z", "h", "Заказчик", customer, Role::CustomerSpecialist).await.unwrap().unwrap();
    let approver = store.create_user("a", "h", "Согласующий", sup, Role::Approver).await.unwrap().unwrap();
    let plan = store.create_plan(customer, 2026, specialist.id).await.unwrap().unwrap();
    store
        .change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, specialist.id, "x")
        .await
        .unwrap();
    let plan = store.plan(plan.id).await.unwrap().unwrap();
    let compiled = eis::schemas::locate().map(|dir| {
        Arc::new(
            eis::validate::SchemaSet::compile(&dir, eis::validate::Root::Integration)
                .expect("the official schemas compile"),
        )
    });
    if compiled.is_none() {
        eprintln!("SKIPPED: the schema part of the approval test (no ЕИС schemas; set PLANGRAF_EIS_SCHEMAS)");
    }
    let schemas = compiled.is_some();
    // Nothing is sent in this test: the client only has to exist.
    let client = EisClient::new(ClientConfig::new("https://127.0.0.1:9")).unwrap();
    let exchange =
        Exchange::new(store.clone(), client, ExchangeConfig { schemas: compiled, ..ExchangeConfig::default() });
    Setup { store, exchange, plan, approver: approver.id, schemas, _dir: dir }
}

#[tokio::test]
async fn approval_fixes_the_exact_packet() {
    let s = setup().await;
    let v = s.exchange.approve(&s.plan, &snapshot("03722001684"), s.approver).await.unwrap();
    let fixed = v.packet.clone().expect("the first version's packet is fixed at approval");
    assert_eq!(v.packet_basis, Some(exchange::Basis::New));
    assert_eq!(fixed.id.len(), 36);
    assert!(fixed.xml.contains(&format!("<int:id>{}</int:id>", fixed.id)));
    assert!(fixed.xml.contains("<int:tenderPlan2020 "), "a first version goes as tenderPlan2020");
    let stored = s.store.version(v.id).await.unwrap().unwrap();
    assert_eq!(stored.packet, Some(fixed.clone()), "kept with the version");
    let plan = s.store.plan(s.plan.id).await.unwrap().unwrap();
    let (xml, sent) = s.exchange.packet_xml(&plan, &stored).await.unwrap();
    assert!(!sent);
    assert_eq!(xml, fixed.xml, "«Скачать XML» gives the fixed packet, not a fresh one");

    // A change approved while version 0 is not placed in ЕИС cannot fix its packet yet.
    s.store.start_changes(&plan, s.approver).await.unwrap();
    let plan = s.store.plan(plan.id).await.unwrap().unwrap();
    s.store
        .change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, s.approver, "x")
        .await
        .unwrap();
    let plan = s.store.plan(plan.id).await.unwrap().unwrap();
    let v1 = s.exchange.approve(&plan, &snapshot("03722001684"), s.approver).await.unwrap();
    assert_eq!(v1.version_number, 1);
    assert_eq!(v1.packet, None);
    assert_eq!(v1.packet_basis, Some(exchange::Basis::Pending { base_version: 0 }));
    let blocked = exchange::send_blocked(&s.store, &plan, &v1).await.unwrap().expect("a change waits for its base");
    assert!(blocked.contains("не размещена"), "{blocked}");
}

#[tokio::test]
async fn a_packet_the_schemas_reject_stops_approval() {
    let s = setup().await;
    if !s.schemas {
        return;
    }
    // An object description longer than the schema's 2000 characters passes the pre-flight
    // checks (only the form limits it) but not the schema. (A malformed СПЗ code, used here
    // before, can no longer be put into a snapshot.)
    let mut bad = snapshot("03722001684");
    bad.positions[0].object_info = "о".repeat(2001);
    assert!(domain::preflight(&bad, None).is_empty(), "the schema check is what catches it");
    let findings = s.exchange.schema_findings(&s.plan, &bad).await.unwrap();
    assert_eq!(findings.len(), 1);
    assert!(findings[0].contains("схемам ЕИС"), "{}", findings[0]);
    match s.exchange.approve(&s.plan, &bad, s.approver).await {
        Err(RequestError::Refused(why)) => assert!(why.starts_with("План-график не утверждён"), "{why}"),
        other => panic!("approval must be refused: {other:?}"),
    }
    assert!(s.store.versions(s.plan.id).await.unwrap().is_empty(), "no version");
    assert_eq!(s.store.plan(s.plan.id).await.unwrap().unwrap().status, PlanStatus::OnApproval, "nothing changed");
    assert!(s.exchange.schema_findings(&s.plan, &snapshot("03722001684")).await.unwrap().is_empty());
    // The refused approval's writes were rolled back and its lock released: valid content is
    // approved as version 0.
    let v0 = s.exchange.approve(&s.plan, &snapshot("03722001684"), s.approver).await.unwrap();
    assert_eq!(v0.version_number, 0);
    assert_eq!(s.store.versions(s.plan.id).await.unwrap().len(), 1);
}

/// The bytes a packet signature covers (its `data`) depend only on the version and its basis:
/// the packet fixed at approval and packets built again for it (new packet ids, new creation
/// times) carry the same `data`, so a signature made over it before the send still matches.
#[tokio::test]
async fn a_packet_chosen_again_has_the_same_data_to_sign() {
    let s = setup().await;
    let v = s.exchange.approve(&s.plan, &snapshot("03722001684"), s.approver).await.unwrap();
    let plan = s.store.plan(s.plan.id).await.unwrap().unwrap();
    let fixed = s.exchange.choose_packet(&plan, &v).await.unwrap();
    assert_eq!(fixed.packet_id, v.packet.as_ref().unwrap().id, "the first send takes the packet fixed at approval");
    let data = fixed.data().unwrap().to_owned();
    assert!(data.starts_with("<int:data ") && data.ends_with("</int:data>"), "{data}");
    // Built again, as for a new send after a refusal: another packet, the same data.
    let mut unfixed = v.clone();
    unfixed.packet = None;
    let first = s.exchange.choose_packet(&plan, &unfixed).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = s.exchange.choose_packet(&plan, &unfixed).await.unwrap();
    assert!(first.packet_id != second.packet_id && first.packet_id != fixed.packet_id);
    assert_ne!(first.xml, second.xml, "the index differs (id, time)");
    assert_eq!(first.data().unwrap(), data);
    assert_eq!(second.data().unwrap(), data);
}
