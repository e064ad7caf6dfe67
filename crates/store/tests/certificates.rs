//! Certificates bound to users (`store::certificates`), on SQLite and, when
//! PLANGRAF_TEST_DATABASE_URL is set, on PostgreSQL.

use chrono::TimeDelta;
use domain::{OrgType, Role};
use store::Store;
use store::certificates::{Binding, CertificateRecord};
use store::orgs::NewOrganization;
use store::testing::fresh_store;
use store::users::User;

async fn setup() -> (Store, tempfile::TempDir, User, User, User) {
    let dir = tempfile::tempdir().unwrap();
    let s = fresh_store(dir.path()).await.expect("fresh store");
    let org = s
        .ensure_organization(&NewOrganization {
            name: "Государственное бюджетное общеобразовательное учреждение «Школа № 1»",
            short_name: "ГБОУ «Школа № 1»",
            superior_id: None,
            spz_code: domain::SpzCode::parse("03722000001").unwrap(),
            inn: domain::org::Inn::parse("7802139698").unwrap(),
            kpp: domain::org::Kpp::parse("780201001").unwrap(),
            org_type: OrgType::Budget,
            budget_level: 2,
            oktmo: "40307000",
        })
        .await
        .unwrap()
        .id;
    let ivanov = s.create_user("ivanov", "hash", "Иванов И. И.", org, Role::CustomerSpecialist).await.unwrap().unwrap();
    let petrov = s.create_user("petrov", "hash", "Петров П. П.", org, Role::Approver).await.unwrap().unwrap();
    let admin = s.create_user("admin", "hash", "Админ", org, Role::Admin).await.unwrap().unwrap();
    (s, dir, ivanov, petrov, admin)
}

fn certificate(thumbprint: &str, days_left: i64) -> CertificateRecord {
    let now = store::now();
    CertificateRecord {
        thumbprint: thumbprint.into(),
        subject_name: "Иванов Иван Иванович".into(),
        snils: Some("12345678901".into()),
        inn: Some("123456789012".into()),
        issuer: "Тестовый УЦ".into(),
        serial: "01AB".into(),
        not_before: now - TimeDelta::days(1),
        not_after: now + TimeDelta::days(days_left),
        der: thumbprint.bytes().chain([0, 0x30, 0xff]).collect(),
    }
}

#[tokio::test]
async fn a_certificate_is_bound_found_listed_and_unbound_with_journal_entries() {
    let (s, _dir, ivanov, _petrov, admin) = setup().await;
    let old = certificate("AA00000000000000000000000000000000000001", 30);
    let renewed = certificate("AA00000000000000000000000000000000000002", 365);

    let Binding::Bound(bound) = s.bind_certificate(Some(admin.id), &ivanov, &old).await.unwrap() else {
        panic!("bound")
    };
    assert_eq!(bound.user_id, ivanov.id);
    assert_eq!(bound.bound_by, Some(admin.id));
    assert_eq!(bound.certificate, old, "read back as written, DER bytes included");
    assert!(
        matches!(s.bind_certificate(None, &ivanov, &renewed).await.unwrap(), Binding::Bound(b) if b.bound_by.is_none())
    );

    let list = s.user_certificates(ivanov.id).await.unwrap();
    let thumbprints: Vec<&str> = list.iter().map(|b| b.certificate.thumbprint.as_str()).collect();
    assert_eq!(thumbprints, [renewed.thumbprint.as_str(), old.thumbprint.as_str()], "the latest to expire first");
    assert_eq!(s.user_by_certificate(&old.thumbprint).await.unwrap().map(|u| u.id), Some(ivanov.id));
    assert!(s.user_by_certificate("FF00000000000000000000000000000000000000").await.unwrap().is_none());

    // Binding it again to the same user changes nothing and journals nothing.
    assert!(matches!(s.bind_certificate(Some(admin.id), &ivanov, &old).await.unwrap(), Binding::AlreadyBound(_)));
    let journal = s.audit_for("user", ivanov.id.get()).await.unwrap();
    let bound_entries: Vec<_> = journal.iter().filter(|e| e.action == "Привязан сертификат ЭЦП").collect();
    assert_eq!(bound_entries.len(), 2);
    assert!(bound_entries.iter().any(|e| e.details.contains(&old.thumbprint) && e.user_id == Some(admin.id)));

    assert!(s.unbind_certificate(Some(admin.id), &ivanov, &old.thumbprint).await.unwrap());
    assert!(!s.unbind_certificate(Some(admin.id), &ivanov, &old.thumbprint).await.unwrap(), "already unbound");
    assert!(s.user_by_certificate(&old.thumbprint).await.unwrap().is_none());
    assert_eq!(s.user_certificates(ivanov.id).await.unwrap().len(), 1);
    let journal = s.audit_for("user", ivanov.id.get()).await.unwrap();
    assert_eq!(journal.iter().filter(|e| e.action == "Отвязан сертификат ЭЦП").count(), 1);
}

#[tokio::test]
async fn a_certificate_of_one_user_is_not_bound_to_another() {
    let (s, _dir, ivanov, petrov, _admin) = setup().await;
    let c = certificate("BB00000000000000000000000000000000000001", 100);
    assert!(matches!(s.bind_certificate(None, &ivanov, &c).await.unwrap(), Binding::Bound(_)));
    match s.bind_certificate(None, &petrov, &c).await.unwrap() {
        Binding::TakenBy { user_id, login } => {
            assert_eq!(user_id, ivanov.id);
            assert_eq!(login, "ivanov");
        }
        other => panic!("{other:?}"),
    }
    assert!(s.user_certificates(petrov.id).await.unwrap().is_empty());
    // Nor unbound by the other user.
    assert!(!s.unbind_certificate(None, &petrov, &c.thumbprint).await.unwrap());
    assert_eq!(s.user_by_certificate(&c.thumbprint).await.unwrap().map(|u| u.id), Some(ivanov.id));
}
