//! Placement («Разместить») of integrated drafts: plan and position numbers, change versions
//! with N/E semantics, and the rules around them.

mod common;

use std::time::Duration;

use common::*;
use eis::packet::{Decision, Modification, ModificationStatus, write_plan_packet};
use eis::reply::ConfirmationResult;
use sandbox::{SandboxError, VersionState};

fn numbers(positions: &[eis::packet::Position]) -> Vec<(String, String)> {
    positions.iter().map(|p| (p.ext_number.clone(), p.position_number.clone().unwrap_or_default())).collect()
}

#[tokio::test]
async fn placing_assigns_numbers_kept_across_versions() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    let creds = creds(&env, "spec").await;
    let c = send_and_wait(&env, &creds, &write_plan_packet(&packet())).await;
    assert_eq!(c.result, ConfirmationResult::Success, "{:?}", c.violations);

    let plan_number = d.publish(ORG, 2025).await.expect("placed");
    assert_eq!(plan_number, format!("2025{ORG}001"));
    assert_eq!(plan_number.len(), 18);
    let plans = d.plans(ORG).await.expect("plans");
    assert_eq!(plans[0].plan_number.as_deref(), Some(plan_number.as_str()));
    let v0 = &plans[0].versions[0];
    assert_eq!(v0.state, VersionState::Placed);
    assert_eq!(v0.published_doc_id.as_deref().map(str::len), Some(36));
    let placed = d.version_positions(ORG, 2025, 0).await.expect("positions");
    assert_eq!(
        numbers(&placed),
        [("POS-0001".into(), format!("{plan_number}000001")), ("POS-0002".into(), format!("{plan_number}000002"))]
    );
    assert!(placed.iter().all(|p| p.position_number.as_deref().map(str::len) == Some(24)));
    // Placing twice, or a plan that does not exist, is refused.
    assert!(matches!(d.publish(ORG, 2025).await, Err(SandboxError::Conflict(_))));
    assert!(matches!(d.publish(ORG, 2030).await, Err(SandboxError::NotFound(_))));

    // Once placed, a new version must be a change.
    let mut v1 = packet();
    v1.data.version_number = Some(1);
    let c = send_and_wait(&env, &creds, &write_plan_packet(&v1)).await;
    assert_eq!(c.violations.iter().map(|v| v.err_code.as_str()).collect::<Vec<_>>(), ["PLAN_PUB"]);

    // The change: 0001 edited (its new ИКЗ is ignored), 0002 unchanged but sent with another
    // name (ignored too), 0003 new.
    let mut change = change_packet(&plan_number, 1);
    let edited = &mut change.data.positions[0];
    edited.modification_status = Some(ModificationStatus::E);
    edited.modification = Some(Modification {
        change_reason_code: "9".into(),
        change_reason_name: String::new(),
        decision: Decision::Changed,
        description: "Изменение объема".into(),
    });
    edited.purchase_object_info = "Услуги по обращению с ТКО (увеличен объем)".into();
    let first_ikz = edited.ikz.clone();
    edited.ikz.replace_range(29..33, "3812");
    change.data.positions[1].purchase_object_info = "не должно попасть в ЕИС".into();
    change.data.positions.push(position("0003"));
    let c = send_and_wait(&env, &creds, &write_plan_packet(&change)).await;
    assert_eq!(c.result, ConfirmationResult::Success, "{:?}", c.violations);
    assert_eq!(d.publish(ORG, 2025).await.expect("change placed"), plan_number, "the number is kept");

    let placed = d.version_positions(ORG, 2025, 1).await.expect("positions");
    assert_eq!(
        numbers(&placed),
        [
            ("POS-0001".into(), format!("{plan_number}000001")),
            ("POS-0002".into(), format!("{plan_number}000002")),
            ("POS-0003".into(), format!("{plan_number}000003")),
        ]
    );
    assert_eq!(placed[0].purchase_object_info, "Услуги по обращению с ТКО (увеличен объем)");
    assert_eq!(placed[0].ikz, first_ikz, "ЕИС keeps the ИКЗ of an edited position");
    assert_eq!(placed[1].purchase_object_info, "Услуги по обращению с ТКО", "an N position stays as placed");
    let plans = d.plans(ORG).await.expect("plans");
    let states: Vec<_> = plans[0].versions.iter().map(|v| (v.version_number, v.state)).collect();
    assert_eq!(states, [(0, VersionState::Placed), (1, VersionState::Placed)], "the previous version is not annulled");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn an_older_draft_cannot_be_placed_after_a_newer_one() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    let creds = creds(&env, "spec").await;
    send_and_wait(&env, &creds, &write_plan_packet(&packet())).await;
    let mut v1 = packet();
    v1.data.version_number = Some(1);
    send_and_wait(&env, &creds, &write_plan_packet(&v1)).await;
    assert_eq!(d.publish_version(ORG, 2025, 1).await.expect("v1 placed"), format!("2025{ORG}001"));
    assert!(matches!(d.publish_version(ORG, 2025, 0).await, Err(SandboxError::Conflict(_))));
    assert!(matches!(d.publish_version(ORG, 2025, 7).await, Err(SandboxError::NotFound(_))));

    // A plan created in ЕИС is placed the same way, without positions.
    d.create_plan_directly(ORG, 2026).await.expect("created");
    assert_eq!(d.publish(ORG, 2026).await.expect("placed"), format!("2026{ORG}001"));
    assert!(d.version_positions(ORG, 2026, 0).await.expect("positions").is_empty());
    env.sandbox.shutdown().await;
}
