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
        modification_number: None,
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
async fn special_positions_are_placed_numbered_and_exported() {
    use eis::schemas::{EXPORT_XSD, assert_valid_or_skip};

    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    let creds = creds(&env, "spec").await;
    // A special position sharing a purchase number with a position is refused.
    let mut dup = packet();
    dup.data.special_positions = vec![special("0002")];
    let c = send_and_wait(&env, &creds, &write_plan_packet(&dup)).await;
    assert_eq!(c.violations.iter().map(|v| v.err_code.as_str()).collect::<Vec<_>>(), ["POS_DUP"]);

    let mut v0 = packet();
    v0.data.special_positions = vec![special("0003"), special("0004")];
    let c = send_and_wait(&env, &creds, &write_plan_packet(&v0)).await;
    assert_eq!(c.result, ConfirmationResult::Success, "{:?}", c.violations);
    let plans = d.plans(ORG).await.expect("plans");
    assert_eq!(plans[0].versions.last().map(|v| v.position_count), Some(4), "special positions count as positions");
    let plan_number = d.publish(ORG, 2025).await.expect("placed");

    // One sequence of registry numbers for both kinds, kept across versions.
    let e = env.client.export_by_plan_number(&creds, &plan_number).await.expect("export");
    assert_valid_or_skip("export with special positions", EXPORT_XSD, &e.raw);
    let n = |k: u32| format!("{plan_number}{k:06}");
    let expected = [("POS-0001", n(1)), ("POS-0002", n(2)), ("SP-0003", n(3)), ("SP-0004", n(4))];
    let got: Vec<(String, String)> = e
        .value
        .position_numbers()
        .into_iter()
        .map(|(ext, num)| (ext.to_owned(), num.unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(got, expected.iter().map(|(e, n)| ((*e).to_owned(), n.clone())).collect::<Vec<_>>());
    let sp = &e.value.data.special_positions[0];
    assert_eq!((sp.type_code.as_str(), sp.ikz.as_str()), ("P4_1_93", v0.data.special_positions[0].ikz.as_str()));
    assert_eq!(sp.finance.current_year, v0.data.special_positions[0].finance.current_year);
    assert!(e.value.data.positions.iter().all(|p| p.canceled == Some(false)), "ЕИС publishes positionCanceled");

    // The change: SP-0003 edited (its new ИКЗ is ignored), SP-0004 left out (carried over), a
    // position cancelled, a new special position.
    let mut change = change_packet(&plan_number, 1);
    let justification = |decision| Modification {
        change_reason_code: "9".into(),
        change_reason_name: String::new(),
        decision,
        description: "Изменение".into(),
        modification_number: None,
    };
    change.data.positions[1].modification_status = Some(ModificationStatus::E);
    change.data.positions[1].modification = Some(justification(Decision::Canceled));
    let mut edited = special("0003");
    edited.modification_status = Some(ModificationStatus::E);
    edited.modification = Some(justification(Decision::Changed));
    edited.finance.current_year = "650000.00".parse().expect("amount");
    edited.kvrs[0].years.current_year = edited.finance.current_year;
    edited.ikz.replace_range(33..36, "000");
    change.data.special_positions = vec![edited, special("0005")];
    let c = send_and_wait(&env, &creds, &write_plan_packet(&change)).await;
    assert_eq!(c.result, ConfirmationResult::Success, "{:?}", c.violations);
    d.publish(ORG, 2025).await.expect("change placed");

    let e = env.client.export_by_plan_number(&creds, &plan_number).await.expect("export");
    assert_valid_or_skip("export of a change with special positions", EXPORT_XSD, &e.raw);
    let specials: Vec<(&str, Option<&str>)> =
        e.value.data.special_positions.iter().map(|p| (p.ext_number.as_str(), p.position_number.as_deref())).collect();
    assert_eq!(
        specials,
        [("SP-0003", Some(n(3).as_str())), ("SP-0005", Some(n(5).as_str())), ("SP-0004", Some(n(4).as_str()))]
    );
    let sp = &e.value.data.special_positions[0];
    assert_eq!(sp.finance.current_year.to_string(), "650000.00");
    assert_eq!(sp.ikz, v0.data.special_positions[0].ikz, "ЕИС keeps the ИКЗ of an edited special position");
    assert_eq!(sp.modification.as_ref().and_then(|m| m.modification_number), Some(1), "the version of the change");
    assert_eq!(e.value.data.positions[1].canceled, Some(true));
    assert_eq!(e.value.data.positions[1].modification.as_ref().and_then(|m| m.modification_number), Some(1));
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
    // Its export is the bare plan, still valid.
    let e = env.client.export_by_plan_number(&creds, &format!("2026{ORG}001")).await.expect("export");
    eis::schemas::assert_valid_or_skip("export of a plan created in ЕИС", eis::schemas::EXPORT_XSD, &e.raw);
    assert!(e.value.position_numbers().is_empty());
    env.sandbox.shutdown().await;
}

fn refused(r: Result<impl std::fmt::Debug, eis::client::ClientError>, status: u16, code: i32) {
    match r {
        Err(eis::client::ClientError::Server { status: s, raw }) if s == status => {
            assert_eq!(eis::reply::read_error_info(&raw).expect("errorInfo").code, code, "{raw}");
            eis::schemas::assert_valid_or_skip("errorInfo", eis::schemas::HTTPS_API_XSD, &raw);
        }
        other => panic!("expected {status}/{code}: {other:?}"),
    }
}

#[tokio::test]
async fn draft_status_and_export_follow_placement() {
    use eis::docproject::{DocProjectState, DocProjectStatusRequest};
    use eis::packet::Mode;
    use eis::schemas::{EXPORT_XSD, INTEGRATION_XSD, assert_valid_or_skip};

    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    let creds = creds(&env, "spec").await;
    let v0 = packet();
    send_and_wait(&env, &creds, &write_plan_packet(&v0)).await;
    let ask = |ids: Vec<String>| DocProjectStatusRequest::new("PLANGRAF", Mode::Test, ids);

    // A draft: not published, with the id of its final confirmation.
    let r = env.client.doc_project_status(&creds, &ask(vec![v0.index.id.clone()])).await.expect("status");
    assert_valid_or_skip("fcsDocProjectStatusResponse", INTEGRATION_XSD, &r.raw);
    let s = &r.value.statuses[0];
    assert_eq!(s.doc_project_id, v0.index.id);
    assert_eq!(s.state, DocProjectState::NotPublished);
    let final_confirmation = env.client.status(&creds, &v0.index.id).await.expect("confirmation").value;
    assert_eq!(s.doc_project_confirm_id.as_deref(), Some(final_confirmation.index.id.as_str()));
    assert_eq!(r.value.index.object_type, "SM");

    // Placed: the published document's id, and its export.
    let plan_number = d.publish(ORG, 2025).await.expect("placed");
    let r = env.client.doc_project_status(&creds, &ask(vec![v0.index.id.clone()])).await.expect("status");
    let DocProjectState::Published { published_doc_id: doc0 } = r.value.statuses[0].state.clone() else {
        panic!("not published: {:?}", r.value);
    };
    assert_eq!(d.plans(ORG).await.expect("plans")[0].versions[0].published_doc_id.as_deref(), Some(doc0.as_str()));
    let e = env.client.export_by_doc(&creds, &doc0).await.expect("export");
    assert_valid_or_skip("export", EXPORT_XSD, &e.raw);
    assert_eq!(e.value.plan_number(), Some(plan_number.as_str()));
    assert_eq!(e.value.version_number(), Some(0));
    assert_eq!(e.value.external_id(), "PG-2025-1");
    assert!(e.value.data.confirm_date.is_some() && e.value.publish_date().is_some());
    assert_eq!(
        e.value.position_numbers(),
        [
            ("POS-0001", Some(format!("{plan_number}000001").as_str())),
            ("POS-0002", Some(format!("{plan_number}000002").as_str()))
        ]
    );

    // A placed change: by plan number the latest version, by document id each its own.
    let mut change = change_packet(&plan_number, 1);
    change.data.positions.push(position("0003"));
    let c = send_and_wait(&env, &creds, &write_plan_packet(&change)).await;
    assert_eq!(c.result, eis::reply::ConfirmationResult::Success, "{:?}", c.violations);
    let r = env
        .client
        .doc_project_status(&creds, &ask(vec![v0.index.id.clone(), change.index.id.clone()]))
        .await
        .expect("both");
    assert_eq!(r.value.statuses.len(), 2);
    assert_eq!(r.value.statuses[1].state, DocProjectState::NotPublished);
    d.publish(ORG, 2025).await.expect("change placed");
    let latest = env.client.export_by_plan_number(&creds, &plan_number).await.expect("export").value;
    assert_eq!((latest.version_number(), latest.external_id()), (Some(1), "PG-2025-2"));
    assert_eq!(latest.position_numbers()[2], ("POS-0003", Some(format!("{plan_number}000003").as_str())));
    let first = env.client.export_by_doc(&creds, &doc0).await.expect("export").value;
    assert_eq!(first.version_number(), Some(0));

    // Unknown or foreign ids, plan numbers and documents are not found.
    refused(env.client.doc_project_status(&creds, &ask(vec![v0.index.id.clone(), "nope".into()])).await, 404, 1006);
    let other = common::creds(&env, "other").await;
    refused(env.client.doc_project_status(&other, &ask(vec![v0.index.id.clone()])).await, 404, 1006);
    refused(env.client.export_by_plan_number(&other, &plan_number).await, 404, 1008);
    refused(env.client.export_by_doc(&other, &doc0).await, 404, 1009);
    refused(env.client.export_by_plan_number(&creds, "202503722001684999").await, 404, 1008);
    let wrong = eis::client::Credentials { login: creds.login.clone(), password: "wrong".into() };
    assert!(matches!(
        env.client.export_by_doc(&wrong, &doc0).await,
        Err(eis::client::ClientError::Unauthorized { .. })
    ));
    let norights = common::creds(&env, "norights").await;
    assert!(matches!(
        env.client.doc_project_status(&norights, &ask(vec![v0.index.id.clone()])).await,
        Err(eis::client::ClientError::Forbidden { .. })
    ));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_draft_still_processing_has_no_confirmation_yet() {
    let env = start(Duration::from_secs(30)).await;
    let creds = creds(&env, "spec").await;
    let p = packet();
    env.client.upload(&creds, &write_plan_packet(&p)).await.expect("upload");
    let ask =
        eis::docproject::DocProjectStatusRequest::new("PLANGRAF", eis::packet::Mode::Test, vec![p.index.id.clone()]);
    let r = env.client.doc_project_status(&creds, &ask).await.expect("status");
    assert_eq!(r.value.statuses[0].doc_project_confirm_id, None);
    assert_eq!(r.value.statuses[0].state, eis::docproject::DocProjectState::NotPublished);

    // A request that cannot be read is 400 + errorInfo 1004; neither key for the export too.
    let http = browser(&env.sandbox);
    let bad = write_plan_packet(&p).replace("tenderPlan2020", "fcsDocProjectStatusRequest");
    let form = reqwest::multipart::Form::new()
        .text("login", creds.login.clone())
        .text("password", creds.password.expose().to_owned())
        .text("document", bad);
    let resp = http
        .post(format!("{}/44fz/integration/upload", env.sandbox.base_url))
        .multipart(form)
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 400);
    assert_eq!(eis::reply::read_error_info(&resp.text().await.expect("body")).expect("errorInfo").code, 1004);
    let resp = http
        .post(format!("{}/44fz/integration/export", env.sandbox.base_url))
        .form(&[("login", creds.login.as_str()), ("password", creds.password.expose())])
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 400);
    let raw = resp.text().await.expect("body");
    assert_eq!(eis::reply::read_error_info(&raw).expect("errorInfo").code, 1004);
    eis::schemas::assert_valid_or_skip("400 errorInfo", eis::schemas::HTTPS_API_XSD, &raw);
    env.sandbox.shutdown().await;
}
