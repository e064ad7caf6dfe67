//! The findings of a working copy are kept per content stamp and the schema check runs in the
//! background; approval still checks the packet itself.

use app::Workflow;
use app::checks::SchemaCheck;
use domain::ids::PlanId;
use domain::plan::PlanStatus;
use domain::{OrgType, Role, testing};
use eis::client::{ClientConfig, EisClient};
use exchange::{Exchange, ExchangeConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Store;
use store::orgs::NewOrganization;
use store::testing::fresh_store;
use store::users::User;

struct Setup {
    store: Store,
    app: Workflow,
    plan: PlanId,
    specialist: User,
    approver: User,
    schemas: Arc<eis::validate::SchemaSet>,
    _dir: tempfile::TempDir,
}

/// A plan with one position of 1000 ₽, or `None` (the test skips) without the ЕИС schemas.
async fn setup() -> Option<Setup> {
    let Some(dir) = eis::schemas::locate() else {
        eprintln!("SKIPPED: the background schema check test (no ЕИС schemas; set PLANGRAF_EIS_SCHEMAS)");
        return None;
    };
    let schemas = Arc::new(
        eis::validate::SchemaSet::compile(&dir, eis::validate::Root::Integration)
            .expect("the official schemas compile"),
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tmp = tempfile::tempdir().unwrap();
    let store = fresh_store(tmp.path()).await.unwrap();
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
    store.add_position(&plan, &testing::position(1, "1000"), specialist.id).await.unwrap().unwrap();
    // Nothing is sent in this test: the client only has to exist.
    let client = EisClient::new(ClientConfig::new("https://127.0.0.1:9")).unwrap();
    let exchange = Exchange::new(
        store.clone(),
        client,
        ExchangeConfig { schemas: Some(schemas.clone()), ..ExchangeConfig::default() },
    );
    let app = Workflow::new(store.clone(), exchange).with_schemas(true);
    Some(Setup { store, app, plan: plan.id, specialist, approver, schemas, _dir: tmp })
}

/// An object description longer than the schema's 2000 characters: the pre-flight rules pass
/// it (only the form limits it), the schemas do not.
fn too_long(n: u32) -> domain::plan::Position {
    let mut p = testing::position(n, "1000");
    p.object_info = "о".repeat(2001);
    p
}

impl Setup {
    /// Another instance on the same database, which has read nothing yet.
    fn fresh_instance(&self) -> Workflow {
        let client = EisClient::new(ClientConfig::new("https://127.0.0.1:9")).unwrap();
        let config = ExchangeConfig { schemas: Some(self.schemas.clone()), ..ExchangeConfig::default() };
        let exchange = Exchange::new(self.store.clone(), client, config);
        Workflow::new(self.store.clone(), exchange).with_schemas(true)
    }

    /// The working copy's positions as stored, in purchase-number order.
    async fn stored_positions(&self) -> Vec<domain::plan::Position> {
        self.store.positions(self.plan).await.unwrap().into_iter().map(|p| p.position).collect()
    }

    async fn findings(&self) -> app::checks::Findings {
        let plan = self.app.readable_plan(&self.specialist, self.plan).await.unwrap();
        self.app.findings(&plan).await.unwrap()
    }

    /// The findings once the background check of the current content is done (bounded wait).
    async fn settled(&self) -> app::checks::Findings {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let f = self.findings().await;
            if f.schema != SchemaCheck::Pending {
                return f;
            }
            assert!(Instant::now() < deadline, "the background schema check did not finish");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn plan(&self) -> store::plans::Plan {
        self.store.plan(self.plan).await.unwrap().unwrap()
    }
}

#[tokio::test]
async fn schema_findings_appear_after_an_edit_once_the_check_finished() {
    let Some(s) = setup().await else { return };
    let first = s.findings().await;
    assert_eq!(first.schema, SchemaCheck::Pending, "the view does not wait for the schema check");
    assert!(first.findings.is_empty());
    let done = s.settled().await;
    assert_eq!((done.schema, done.findings.len()), (SchemaCheck::Done, 0), "{:?}", done.findings);

    let plan = s.plan().await;
    s.store.add_position(&plan, &too_long(2), s.specialist.id).await.unwrap().unwrap();
    let after_edit = s.findings().await;
    assert_ne!(after_edit.stamp, done.stamp);
    assert_eq!(after_edit.schema, SchemaCheck::Pending, "the check of the old content is not shown as current");
    assert!(after_edit.findings.is_empty());
    let found = s.settled().await;
    assert_eq!(found.schema, SchemaCheck::Done);
    assert_eq!(found.stamp, after_edit.stamp);
    assert_eq!(found.findings.len(), 1, "{:?}", found.findings);
    assert!(found.findings[0].message.contains("схемам ЕИС"), "{}", found.findings[0].message);
    let stored = s.store.plan_check(s.plan).await.unwrap().unwrap();
    assert_eq!(stored.stamp, found.stamp, "the result is stored for the stamp it was computed at");
}

#[tokio::test]
async fn approval_checks_the_packet_itself_and_a_result_of_another_stamp_is_not_current() {
    let Some(s) = setup().await else { return };
    let plan = s.plan().await;
    s.store.add_position(&plan, &too_long(2), s.specialist.id).await.unwrap().unwrap();
    let plan = s.plan().await;
    // A wrong passing result stored for this very content: the page would show it…
    s.store.save_plan_check(s.plan, app::checks::content_stamp(&plan), &[]).await.unwrap();
    let shown = s.findings().await;
    assert_eq!((shown.schema, shown.findings.len()), (SchemaCheck::Done, 0));
    // …but approval validates the packet itself and refuses it.
    s.store
        .change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, s.specialist.id, "x")
        .await
        .unwrap();
    match s.app.approve(&s.approver, s.plan).await {
        Err(app::Error::Refused { refusal: app::Refusal::Content, findings, .. }) => {
            assert!(findings.iter().any(|f| f.message.contains("схемам ЕИС")), "{findings:?}")
        }
        other => panic!("approval must be refused: {:?}", other.map(|v| v.version_number)),
    }
    assert!(s.store.version_summaries(s.plan).await.unwrap().is_empty(), "no version");
    let plan = s.plan().await;
    assert_eq!(plan.status, PlanStatus::OnApproval, "nothing changed");

    // A result of an older stamp finishing late does not replace a newer one, and neither is
    // shown for content of another stamp.
    s.store.save_plan_check(s.plan, app::checks::content_stamp(&plan) + 10, &["новее".to_owned()]).await.unwrap();
    s.store.save_plan_check(s.plan, app::checks::content_stamp(&plan), &[]).await.unwrap();
    assert_eq!(
        s.store.plan_check(s.plan).await.unwrap().unwrap().stamp,
        app::checks::content_stamp(&plan) + 10,
        "the newest wins"
    );
    // This instance keeps the result it saw for this stamp (a stamp's result is final); another
    // instance, which never saw it, finds only the newer stamp's result and does not take it.
    let other = s.app.clone().with_schemas(true);
    let readable = other.readable_plan(&s.specialist, s.plan).await.unwrap();
    let f = other.findings(&readable).await.unwrap();
    assert_eq!(f.schema, SchemaCheck::Pending, "a result of another stamp is not current");
    assert!(f.findings.is_empty());
}

#[tokio::test]
async fn views_arriving_together_after_an_edit_compute_the_rules_once() {
    let Some(s) = setup().await else { return };
    let before = s.findings().await.stamp;
    let plan = s.store.plan(s.plan).await.unwrap().unwrap();
    s.store.add_position(&plan, &testing::position(2, "500"), s.specialist.id).await.unwrap().unwrap();
    let computed = s.app.rules_computed();
    let mut views = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (app, user, plan) = (s.app.clone(), s.specialist.clone(), s.plan);
        views.spawn(async move {
            let plan = app.readable_plan(&user, plan).await.unwrap();
            app.findings(&plan).await.unwrap().stamp
        });
    }
    while let Some(stamp) = views.join_next().await {
        assert!(stamp.unwrap() > before, "every view sees the new content");
    }
    assert_eq!(s.app.rules_computed() - computed, 1, "one view computed, the others waited for it");
}

#[tokio::test]
async fn a_view_after_edits_deletes_and_an_approval_sees_the_content_as_it_is() {
    use domain::plan::ChangeMark::{Edited, New, Unchanged};
    let Some(s) = setup().await else { return };
    let marks = |f: &app::checks::Findings, n: u16| f.rules.mark(n).mark;
    let plan = s.plan().await;
    let second = s.store.add_position(&plan, &testing::position(2, "500"), s.specialist.id).await.unwrap().unwrap();
    let plan = s.plan().await;
    let third = s.store.add_position(&plan, &testing::position(3, "700"), s.specialist.id).await.unwrap().unwrap();
    let f = s.findings().await;
    assert_eq!((marks(&f, 1), marks(&f, 2), marks(&f, 3)), (New, New, New));
    // Approved: the next round compares with this version.
    let plan = s.plan().await;
    s.store
        .change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, s.specialist.id, "x")
        .await
        .unwrap();
    s.app.approve(&s.approver, s.plan).await.unwrap();
    s.store.start_changes(&s.plan().await, s.specialist.id).await.unwrap();
    let f = s.findings().await;
    assert_eq!((marks(&f, 1), marks(&f, 2), marks(&f, 3)), (Unchanged, Unchanged, Unchanged));
    // One position saved: only it is read again (no list of every position's version), and
    // its mark follows its new content.
    let stored = s.store.position(s.plan, second.id).await.unwrap().unwrap();
    let mut changed = stored.position.clone();
    changed.object_info = "Поставка бумаги".into();
    let plan = s.plan().await;
    s.store.update_position(&plan, second.id, stored.row_version, &changed, s.specialist.id).await.unwrap().unwrap();
    let listed = s.app.working_copies_listed();
    let f = s.findings().await;
    assert_eq!((marks(&f, 1), marks(&f, 2), marks(&f, 3)), (Unchanged, Edited, Unchanged));
    assert_eq!(s.app.working_copies_listed(), listed, "read what was written since, not every version");
    // Saved back as it was: unchanged again.
    let stored = s.store.position(s.plan, second.id).await.unwrap().unwrap();
    let plan = s.plan().await;
    s.store
        .update_position(&plan, second.id, stored.row_version, &second.position, s.specialist.id)
        .await
        .unwrap()
        .unwrap();
    let f = s.findings().await;
    assert_eq!(marks(&f, 2), Unchanged);
    // A position added and one deleted: the view has the one, not the other.
    let plan = s.plan().await;
    s.store.add_position(&plan, &testing::position(4, "900"), s.specialist.id).await.unwrap().unwrap();
    let stored = s.store.position(s.plan, third.id).await.unwrap().unwrap();
    let plan = s.plan().await;
    let _ = s.store.delete_position(&plan, third.id, stored.row_version, s.specialist.id).await.unwrap();
    let listed = s.app.working_copies_listed();
    let f = s.findings().await;
    // (The background check may list too, so at least once.)
    assert!(s.app.working_copies_listed() > listed, "a deletion (the count alone unchanged) is noticed");
    assert_eq!(marks(&f, 4), New);
    assert!(!f.rules.marks.contains_key(&3), "the deleted position is gone");
    // The page's totals and next number, kept from the same content, are the database's.
    let view = s.app.plan_view(&s.specialist, s.plan, &app::plans::PositionQuery::default()).await.unwrap();
    let counted = s.store.position_totals(s.plan, &store::plans::PositionFilter::default()).await.unwrap();
    assert_eq!(view.totals, counted);
    let max = s.store.max_purchase_number(s.plan).await.unwrap();
    assert_eq!(i64::from(view.next_number), max + 1);
    assert_eq!(view.version_count, 1);
    assert_eq!(f.rules.marks.len(), s.store.positions(s.plan).await.unwrap().len(), "exactly the positions there are");
    // What the view computed is what the whole working copy, read afresh, gives.
    let fresh = s.fresh_instance();
    let readable = fresh.readable_plan(&s.specialist, s.plan).await.unwrap();
    let whole = fresh.check_rules(&readable).await.unwrap();
    assert_eq!(*f.rules.findings, whole.findings);
    assert_eq!(whole.snapshot.positions, s.stored_positions().await);
}

#[tokio::test]
async fn an_approval_fixes_the_content_as_stored_though_the_positions_read_before_moved() {
    let Some(s) = setup().await else { return };
    let plan = s.plan().await;
    let second = s.store.add_position(&plan, &testing::position(2, "500"), s.specialist.id).await.unwrap().unwrap();
    // Read (and kept) at these row versions.
    assert!(s.findings().await.findings.is_empty());
    let mut changed = second.position.clone();
    changed.object_info = "Поставка бумаги офисной".into();
    let plan = s.plan().await;
    s.store.update_position(&plan, second.id, second.row_version, &changed, s.specialist.id).await.unwrap().unwrap();
    let plan = s.plan().await;
    s.store.add_position(&plan, &testing::position(3, "700"), s.specialist.id).await.unwrap().unwrap();
    let plan = s.plan().await;
    s.store
        .change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, s.specialist.id, "x")
        .await
        .unwrap();
    let version = s.app.approve(&s.approver, s.plan).await.unwrap();
    assert_eq!(version.snapshot.positions, s.stored_positions().await);
    assert_eq!(version.snapshot.positions[1].object_info, "Поставка бумаги офисной");
    // The version as stored says the same, and its packet carries the new description.
    let stored = s.store.versions(s.plan).await.unwrap().pop().unwrap();
    assert_eq!(stored.snapshot.positions, version.snapshot.positions);
    assert!(stored.packet.unwrap().xml.contains("Поставка бумаги офисной"));
}
