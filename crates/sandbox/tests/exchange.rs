//! The exchange of eis-sandbox through plangraf's own client, in process on 127.0.0.1:0.

mod common;

use std::time::Duration;

use common::*;
use eis::client::{ClientError, Credentials, Reply};
use eis::packet::{PlanPacketKind, write_plan_packet};
use eis::reply::{Confirmation, ConfirmationResult};
use eis::schemas::{self, HTTPS_API_XSD, INTEGRATION_XSD};
use sandbox::{PlanSource, VersionState};

fn codes(c: &Confirmation) -> Vec<&str> {
    c.violations.iter().map(|v| v.err_code.as_str()).collect()
}

fn assert_schema_valid(what: &str, xml: &str) {
    schemas::assert_valid_or_skip(what, INTEGRATION_XSD, xml);
}

/// Waits out the processing delay and returns the final confirmation.
async fn final_reply(env: &Env, creds: &Credentials, ref_id: &str) -> Reply<Confirmation> {
    for _ in 0..100 {
        let r = env.client.status(creds, ref_id).await.expect("status");
        assert_schema_valid("status confirmation", &r.raw);
        if r.value.result != ConfirmationResult::Processing {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("packet {ref_id} still processing");
}

async fn final_status(env: &Env, creds: &Credentials, ref_id: &str) -> Confirmation {
    final_reply(env, creds, ref_id).await.value
}

/// Uploads (the answer is always `processing`) and returns the final reply.
async fn upload_final(env: &Env, creds: &Credentials, xml: &str) -> Reply<Confirmation> {
    let r = env.client.upload(creds, xml).await.expect("upload");
    assert_eq!(r.value.result, ConfirmationResult::Processing);
    assert_schema_valid("processing confirmation", &r.raw);
    final_reply(env, creds, &r.value.ref_id).await
}

#[tokio::test]
async fn processing_then_success_after_the_delay() {
    // Long enough for the early status to come within it on a loaded machine (argon2).
    let env = start(Duration::from_millis(2500)).await;
    let creds = creds(&env, "spec").await;
    assert_eq!(creds.login, "int_spec");
    let p = packet();
    let r = env.client.upload(&creds, &write_plan_packet(&p)).await.expect("upload");
    assert_eq!(r.value.result, ConfirmationResult::Processing);
    assert_eq!(r.value.ref_id, p.index.id);
    assert_eq!(r.value.index.sender, "OOS");
    assert_eq!(r.value.index.receiver, "PLANGRAF");
    assert_eq!(r.value.index.object_type, "TP2020");
    assert_ne!(r.value.index.id, p.index.id, "a confirmation has its own id");
    assert_schema_valid("processing confirmation", &r.raw);

    let early = env.client.status(&creds, &p.index.id).await.expect("status");
    assert_eq!(early.value.result, ConfirmationResult::Processing);

    tokio::time::sleep(Duration::from_millis(2600)).await;
    let done = final_status(&env, &creds, &p.index.id).await;
    assert_eq!(done.result, ConfirmationResult::Success, "{:?}", done.violations);
    assert!(done.violations.is_empty());
    assert!(done.load_id.is_some());

    let plans = env.sandbox.directory().plans(ORG).await.expect("plans");
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].plan_year, 2025);
    assert_eq!(plans[0].source, PlanSource::Ris);
    assert_eq!(plans[0].versions.len(), 1);
    let v = &plans[0].versions[0];
    assert_eq!((v.version_number, v.state, v.position_count), (0, VersionState::Project, 2));
    assert_eq!(v.packet_id.as_deref(), Some(p.index.id.as_str()));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn regenerated_credentials_invalidate_the_old_password() {
    let env = start(Duration::ZERO).await;
    let first = creds(&env, "spec").await;
    env.client.upload(&first, &write_plan_packet(&packet())).await.expect("first password works");

    let second = creds(&env, "spec").await;
    assert_eq!(second.login, first.login, "the integration login is stable");
    assert_ne!(second.password.expose(), first.password.expose());
    match env.client.upload(&first, &write_plan_packet(&packet())).await {
        Err(ClientError::Unauthorized { info, raw }) => {
            assert_eq!(info.code, 1001);
            schemas::assert_valid_or_skip("401 errorInfo", HTTPS_API_XSD, &raw);
        }
        other => panic!("old password must fail with 401: {other:?}"),
    }
    match env.client.status(&first, "00000000-0000-0000-0000-000000000000").await {
        Err(ClientError::Unauthorized { .. }) => {}
        other => panic!("{other:?}"),
    }
    let mut p = packet();
    p.data.plan_year = 2026;
    p.data.first_year = 2027;
    p.data.second_year = 2028;
    env.client.upload(&second, &write_plan_packet(&p)).await.expect("new password works");

    // The cabinet password is not an integration password, and unknown logins fail alike.
    let cabinet = Credentials { login: "spec".into(), password: "spec-pass".into() };
    assert!(matches!(
        env.client.upload(&cabinet, &write_plan_packet(&packet())).await,
        Err(ClientError::Unauthorized { .. })
    ));
    // A user whose password was never generated has none that works.
    let never = Credentials { login: "int_admin".into(), password: Default::default() };
    assert!(matches!(
        env.client.upload(&never, &write_plan_packet(&packet())).await,
        Err(ClientError::Unauthorized { .. })
    ));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn no_plan_rights_is_403_and_blocked_is_401() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    let creds = creds(&env, "norights").await;
    match env.client.upload(&creds, &write_plan_packet(&packet())).await {
        Err(ClientError::Forbidden { info, raw }) => {
            assert_eq!(info.code, 1003);
            assert!(info.message.contains("Работа с планом-графиком"));
            schemas::assert_valid_or_skip("403 errorInfo", HTTPS_API_XSD, &raw);
        }
        other => panic!("{other:?}"),
    }
    d.set_plan_rights("norights", true).await.expect("grant");
    env.client.upload(&creds, &write_plan_packet(&packet())).await.expect("allowed once granted");

    d.set_blocked("norights", true).await.expect("block");
    match env.client.upload(&creds, &write_plan_packet(&packet())).await {
        Err(ClientError::Unauthorized { info, .. }) => assert_eq!(info.code, 1002),
        other => panic!("{other:?}"),
    }
    assert!(d.set_plan_rights("nobody", true).await.is_err());
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_failing_packet_gets_its_violations() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    let mut p = packet();
    // Wrong year digits in the ИКЗ of the first position.
    p.data.positions[0].ikz.replace_range(0..2, "24");
    // The second position repeats the first one's purchase number, so its ИКЗ no longer
    // matches its number either.
    p.data.positions[1].purchase_number = "0001".into();
    // KVR that the ИКЗ does not carry.
    let mut third = position("0003");
    third.kvr = Some("243".into());
    p.data.positions.push(third);
    let r = upload_final(&env, &creds, &write_plan_packet(&p)).await;
    let c = r.value;
    assert_eq!(c.result, ConfirmationResult::Failure);
    assert_schema_valid("failure confirmation", &r.raw);
    let got = codes(&c);
    for expected in ["IKZ_YEAR", "POS_DUP", "IKZ_NUM", "IKZ_KVR"] {
        assert!(got.contains(&expected), "{expected} missing in {got:?}");
    }
    let dup = c.violations.iter().find(|v| v.err_code == "POS_DUP").expect("dup");
    assert!(dup.description.as_deref().unwrap_or("").contains("0001"));
    assert!(c.violations.iter().all(|v| !v.name.is_empty()));
    assert!(c.load_id.is_none());
    assert!(env.sandbox.directory().plans(ORG).await.expect("plans").is_empty(), "no draft from a failure");

    // Another organization's customer, and no positions at all: the ownership failure alone.
    let mut p = packet();
    p.data.customer_reg_num = OTHER_ORG.into();
    p.data.owner_reg_num = OTHER_ORG.into();
    p.data.positions.clear();
    let c = upload_final(&env, &creds, &write_plan_packet(&p)).await.value;
    assert_eq!(c.result, ConfirmationResult::Failure);
    assert_eq!(codes(&c), ["ORG_CUST"]);

    // ОКПД2 with fewer than four digits; ИКУ of another organization.
    let mut p = packet();
    p.data.positions[0].okpd2 = eis::packet::Okpd2::Single("38.1".into());
    p.data.positions[1].iku = Some("27802000001780201001".into());
    p.data.positions[1].ikz = format!("2527802000001780201001{}0003811244", "0002");
    let c = upload_final(&env, &creds, &write_plan_packet(&p)).await.value;
    let got = codes(&c);
    assert!(got.contains(&"OKPD2_LEN") && got.contains(&"IKZ_IKU"), "{got:?}");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn unreadable_packets() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    // The index is readable, the data is not: a failure confirmation for that id.
    let p = packet();
    let xml = write_plan_packet(&p).replace("<tp:planYear>2025</tp:planYear>", "<tp:planYear>двадцать</tp:planYear>");
    let r = upload_final(&env, &creds, &xml).await;
    assert_eq!(r.value.result, ConfirmationResult::Failure);
    // The schema check comes first when the schemas are configured, as at ЕИС.
    let expected = if common::schemas().is_some() { "XSD" } else { "XML_READ" };
    assert_eq!(codes(&r.value), [expected]);
    assert_eq!(r.value.ref_id, p.index.id);
    assert_schema_valid("failure confirmation", &r.raw);

    // Not even the id: nothing to confirm, 400 with an errorInfo.
    match env.client.upload(&creds, "это не XML").await {
        Err(ClientError::Server { status: 400, raw }) => {
            let info = eis::reply::read_error_info(&raw).expect("errorInfo");
            assert_eq!(info.code, 1005);
            schemas::assert_valid_or_skip("400 errorInfo", HTTPS_API_XSD, &raw);
        }
        other => panic!("{other:?}"),
    }
    match env.client.status(&creds, "0f3c2a8e-0000-0000-0000-000000000000").await {
        Err(ClientError::Server { status: 404, raw }) => {
            assert_eq!(eis::reply::read_error_info(&raw).expect("errorInfo").code, 1006);
            schemas::assert_valid_or_skip("404 errorInfo", HTTPS_API_XSD, &raw);
        }
        other => panic!("{other:?}"),
    }
    let Env { sandbox, dir, .. } = env;
    sandbox.shutdown().await;

    // Nothing is lost: the readable packet is stored with its replies, the refused document
    // with the reply it got, and every reply is in the log.
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("sandbox.sqlite").display()))
        .await
        .expect("db");
    let stored: (String, String) = sqlx::query_as("SELECT document, final_result FROM packets WHERE packet_id = ?1")
        .bind(&p.index.id)
        .fetch_one(&db)
        .await
        .expect("packet stored");
    assert_eq!(stored, (xml, "failure".to_owned()));
    let refused: String = sqlx::query_scalar("SELECT document FROM exchange_log WHERE http_status = 400")
        .fetch_one(&db)
        .await
        .expect("refused document logged");
    assert_eq!(refused, "это не XML");
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM exchange_log").fetch_one(&db).await.expect("count");
    assert_eq!(logged, 4, "upload, status, refused upload, unknown status");
    let passwords: i64 =
        sqlx::query_scalar("SELECT count(*) FROM exchange_log WHERE reply LIKE ?1 OR document LIKE ?1")
            .bind(format!("%{}%", creds.password.expose()))
            .fetch_one(&db)
            .await
            .expect("count");
    assert_eq!(passwords, 0);
    db.close().await;
}

#[tokio::test]
async fn the_same_packet_twice_is_one_packet() {
    let env = start(Duration::from_millis(500)).await;
    let creds = creds(&env, "spec").await;
    let xml = write_plan_packet(&packet());
    let first = env.client.upload(&creds, &xml).await.expect("first");
    let second = env.client.upload(&creds, &xml).await.expect("second");
    assert_eq!(first.raw, second.raw, "the very same confirmation");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let third = env.client.upload(&creds, &xml).await.expect("third");
    assert_eq!(third.value.result, ConfirmationResult::Success);
    let status = env.client.status(&creds, &first.value.ref_id).await.expect("status");
    assert_eq!(third.raw, status.raw);
    let plans = env.sandbox.directory().plans(ORG).await.expect("plans");
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].versions.len(), 1, "never a second draft");

    // Another organization cannot see or take over that id, nor learn that it is used: the
    // id is its own too, for a packet of its own.
    let other = common::creds(&env, "other").await;
    assert!(matches!(
        env.client.status(&other, &first.value.ref_id).await,
        Err(ClientError::Server { status: 404, .. })
    ));
    let mut theirs = packet();
    theirs.index.id = first.value.ref_id.clone();
    theirs.data.customer_reg_num = OTHER_ORG.into();
    theirs.data.owner_reg_num = OTHER_ORG.into();
    for pos in &mut theirs.data.positions {
        pos.iku = Some("27802000001780201001".into());
        pos.ikz = format!("2527802000001780201001{}0003811244", pos.purchase_number);
    }
    let r = upload_final(&env, &other, &write_plan_packet(&theirs)).await;
    assert_eq!(r.value.result, ConfirmationResult::Success, "{:?}", r.value.violations);
    assert_eq!(r.value.ref_id, first.value.ref_id);
    let theirs_plans = env.sandbox.directory().plans(OTHER_ORG).await.expect("plans");
    assert_eq!(theirs_plans[0].versions[0].packet_id.as_deref(), Some(first.value.ref_id.as_str()));
    // Each organization keeps its own answers for the id.
    assert_eq!(env.client.status(&creds, &first.value.ref_id).await.expect("status").raw, third.raw);
    assert_ne!(env.client.status(&other, &first.value.ref_id).await.expect("status").raw, third.raw);

    // A next version of the same plan is a new draft version; the same version again is not.
    let mut v1 = packet();
    v1.data.version_number = Some(1);
    let c = env.client.upload(&creds, &write_plan_packet(&v1)).await.expect("v1").value;
    let c = final_status(&env, &creds, &c.ref_id).await;
    assert_eq!(c.result, ConfirmationResult::Success, "{:?}", c.violations);
    // The same version in a new packet (a new id).
    let mut v1_again = v1.clone();
    v1_again.index = packet().index;
    let again = env.client.upload(&creds, &write_plan_packet(&v1_again)).await.expect("v1 again").value;
    let again = final_status(&env, &creds, &again.ref_id).await;
    assert_eq!(codes(&again), ["VER_DUP"]);
    let plans = env.sandbox.directory().plans(ORG).await.expect("plans");
    assert_eq!(plans[0].versions.iter().map(|v| v.version_number).collect::<Vec<_>>(), [0, 1]);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_plan_created_in_eis_blocks_sending() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    d.create_plan_directly(ORG, 2025).await.expect("created in ЕИС");
    d.create_plan_directly(ORG, 2025).await.expect("idempotent");
    let creds = creds(&env, "spec").await;
    let r = upload_final(&env, &creds, &write_plan_packet(&packet())).await;
    assert_eq!(r.value.result, ConfirmationResult::Failure);
    assert_schema_valid("conflict confirmation", &r.raw);
    let v = r.value.violations.iter().find(|v| v.err_code == "PLAN_EIS").expect("PLAN_EIS");
    assert_eq!(v.name, "Отправка невозможна: план-график на этот период создан в ЕИС не из РИС");
    let text = v.description.as_deref().unwrap_or("");
    assert!(
        text.contains("невозможна") && text.contains("создан в ЕИС непосредственно") && text.contains("2025"),
        "{text}"
    );

    // Other years are free; the directly created plan stays as it was.
    let mut p = packet();
    p.data.plan_year = 2026;
    p.data.first_year = 2027;
    p.data.second_year = 2028;
    let c = upload_final(&env, &creds, &write_plan_packet(&p)).await.value;
    assert_eq!(c.result, ConfirmationResult::Success, "{:?}", c.violations);
    let plans = d.plans(ORG).await.expect("plans");
    assert_eq!(
        plans.iter().map(|p| (p.plan_year, p.source)).collect::<Vec<_>>(),
        [(2025, PlanSource::Eis), (2026, PlanSource::Ris)]
    );
    // And an integrated period cannot be created directly.
    assert!(d.create_plan_directly(ORG, 2026).await.is_err());
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_change_needs_a_known_plan_number() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    let mut p = packet();
    p.kind = PlanPacketKind::Change;
    p.data.plan_number = Some("202503722001684999".into());
    let r = upload_final(&env, &creds, &write_plan_packet(&p)).await;
    assert_eq!(codes(&r.value), ["PLAN_NF"]);
    assert_schema_valid("PLAN_NF confirmation", &r.raw);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn results_survive_a_restart_and_the_certificate_is_reused() {
    let env = start(Duration::from_millis(300)).await;
    let creds = creds(&env, "spec").await;
    let p = packet();
    env.client.upload(&creds, &write_plan_packet(&p)).await.expect("upload");
    let cert_before = std::fs::read_to_string(&env.sandbox.ca_cert_path).expect("cert");
    let Env { sandbox, dir, .. } = env;
    sandbox.shutdown().await;

    tokio::time::sleep(Duration::from_millis(400)).await;
    let sandbox = sandbox::start(config(dir.path(), Duration::from_millis(300))).await.expect("restart");
    assert_eq!(std::fs::read_to_string(&sandbox.ca_cert_path).expect("cert"), cert_before);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("sandbox-key.pem")).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A client that trusted the old CA file still works: the same file, the same certificate.
    let client = client_for(&sandbox);
    let c = client.status(&creds, &p.index.id).await.expect("status after restart").value;
    assert_eq!(c.result, ConfirmationResult::Success);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn only_loopback_addresses() {
    let dir = tempfile::tempdir().expect("dir");
    let mut cfg = config(dir.path(), Duration::ZERO);
    cfg.listen = "0.0.0.0:0".parse().expect("addr");
    assert!(matches!(sandbox::start(cfg).await, Err(sandbox::SandboxError::Invalid(_))));
}

#[tokio::test]
async fn directory_validates_its_input() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    assert!(d.ensure_organization("123", "x", ORG_INN, ORG_KPP).await.is_err());
    assert!(d.ensure_user("x", "p", "99999999999", false, false, "X").await.is_err());
    assert!(d.ensure_user("with space", "p", ORG, false, false, "X").await.is_err());
    assert!(d.regenerate_integration_password("nobody").await.is_err());
    // ensure_* is idempotent.
    d.ensure_organization(ORG, "ГБОУ ПРОГИМНАЗИЯ № 130", ORG_INN, ORG_KPP).await.expect("again");
    d.ensure_user("spec", "spec-pass", ORG, false, true, "Петров Петр Петрович").await.expect("again");
    assert_eq!(d.integration_login("spec").await.expect("login"), "int_spec");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_packet_the_schemas_reject_fails_with_xsd() {
    if common::schemas().is_none() {
        return; // said loudly by common::schemas()
    }
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    let p = packet();
    // Readable for a lenient reader, but the index has receiver before sender: the schema says no.
    // Indented, so that the line the violation names is the receiver's own.
    let xml = eis::packet::write_plan_packet_with(&p, eis::Layout::Pretty);
    let sender = format!("<int:sender>{}</int:sender>", p.index.sender);
    let receiver = format!("<int:receiver>{}</int:receiver>", p.index.receiver);
    let swapped = xml.replacen(&sender, "\u{0}", 1).replacen(&receiver, &sender, 1).replacen('\u{0}', &receiver, 1);
    assert_ne!(swapped, xml);
    env.client.upload(&creds, &swapped).await.expect("upload");
    let done = send_and_wait(&env, &creds, &swapped).await;
    assert_eq!(done.result, ConfirmationResult::Failure);
    assert_eq!(done.violations.len(), 1, "{:?}", done.violations);
    assert_eq!(done.violations[0].err_code, "XSD");
    assert!(done.violations[0].description.as_deref().unwrap_or("").contains("Строка 5"), "{:?}", done.violations[0]);
    assert!(env.sandbox.directory().plans(ORG).await.expect("plans").is_empty(), "no draft from a rejected packet");
}

/// A packet naming another customer is refused for that alone: nothing about that customer's
/// plan (its registry number, its versions) is told.
#[tokio::test]
async fn another_customers_plan_is_not_revealed() {
    let env = start(Duration::ZERO).await;
    let spec = creds(&env, "spec").await;
    let c = upload_final(&env, &spec, &write_plan_packet(&packet())).await.value;
    assert_eq!(c.result, ConfirmationResult::Success);
    let plan_number = env.sandbox.directory().publish(ORG, 2025).await.expect("placed");

    // Another organization sends a plan for ORG (the same year and version, a broken ИКЗ).
    let other = creds(&env, "other").await;
    let mut p = packet();
    p.data.positions[0].ikz.replace_range(0..2, "24");
    let r = upload_final(&env, &other, &write_plan_packet(&p)).await;
    assert_eq!(codes(&r.value), ["ORG_CUST"]);
    assert!(!r.raw.contains(&plan_number), "the plan number leaked: {}", r.raw);
    assert!(!r.raw.contains("уже загружена") && !r.raw.contains("размещен"), "{}", r.raw);
    env.sandbox.shutdown().await;
}
