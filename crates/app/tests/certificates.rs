//! Binding certificates (`app::certificates`) with real ГОСТ certificates made by the `openssl`
//! command (the signature crate's test PKI), on SQLite or, with PLANGRAF_TEST_DATABASE_URL, on
//! PostgreSQL. Its own `main`, as OpenSSL must read the engine's configuration before its first
//! use in the process (see `signature::engine`). Without the engine: SKIPPED, or a failure
//! when PLANGRAF_REQUIRE_GOST=1.

#[path = "../../signature/tests/pki/mod.rs"]
#[allow(dead_code, reason = "binding needs certificates only, not signatures or revocation lists")]
mod pki;

use app::users::Administration;
use chrono::{Duration, Utc};
use domain::{OrgType, Role};
use pki::{Ca, Issue};
use store::orgs::NewOrganization;

fn main() {
    if !pki::start_with_engine("binding ГОСТ certificates") {
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(binding());
    println!("test certificates::binding ... ok\n\ntest result: ok. 1 passed; 0 failed");
}

async fn binding() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::testing::fresh_store(dir.path()).await.unwrap();
    let org = store
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
    store.create_user("ivanov", "hash", "Иванов И. И.", org, Role::CustomerSpecialist).await.unwrap().unwrap();
    store.create_user("petrov", "hash", "Петров П. П.", org, Role::Approver).await.unwrap().unwrap();
    let admin = Administration::new(store.clone());

    let now = Utc::now();
    let ca = Ca::new(dir.path(), "Тестовый УЦ");
    let spec =
        |subject, from, to| Issue { subject, algorithm: "gost2012_256", key_usage: "digitalSignature", from, to };
    let valid = ca.issue(
        "valid",
        &spec(
            "/CN=Иванов Иван Иванович/SN=Иванов/GN=Иван Иванович/SNILS=12345678901/INN=123456789012",
            now - Duration::days(1),
            now + Duration::days(365),
        ),
    );
    let expired = ca.issue("expired", &spec("/CN=Иванов", now - Duration::days(400), now - Duration::days(35)));
    let future = ca.issue("future", &spec("/CN=Иванов", now + Duration::days(5), now + Duration::days(400)));

    // A valid certificate, from DER: bound, with the subject's fields.
    let bound = admin.bind_certificate(None, "ivanov", &valid.certificate_der(), now).await.unwrap();
    assert!(!bound.already);
    assert_eq!(bound.bound.certificate.thumbprint, valid.fingerprint());
    assert_eq!(bound.bound.certificate.subject_name, "Иванов Иван Иванович");
    assert_eq!(bound.bound.certificate.snils.as_deref(), Some("12345678901"));
    assert_eq!(bound.bound.certificate.inn.as_deref(), Some("123456789012"));
    assert_eq!(bound.bound.certificate.issuer, "Тестовый УЦ");
    // Again, from PEM: the same certificate, already bound.
    assert!(admin.bind_certificate(None, "ivanov", &valid.certificate_pem(), now).await.unwrap().already);
    // To another user: refused, saying whose it is.
    let taken = admin.bind_certificate(None, "petrov", &valid.certificate_pem(), now).await.unwrap_err().to_string();
    assert!(taken.contains("уже привязан к пользователю ivanov"), "{taken}");
    // Expired and not yet valid: refused with their messages, nothing bound.
    let err = admin.bind_certificate(None, "ivanov", &expired.certificate_pem(), now).await.unwrap_err().to_string();
    assert!(err.contains("истёк"), "{err}");
    let err = admin.bind_certificate(None, "ivanov", &future.certificate_pem(), now).await.unwrap_err().to_string();
    assert!(err.contains("ещё не действует"), "{err}");
    let err = admin.bind_certificate(None, "ivanov", b"not a certificate", now).await.unwrap_err().to_string();
    assert!(err.contains("не является сертификатом"), "{err}");
    let err = admin.bind_certificate(None, "nobody", &valid.certificate_pem(), now).await.unwrap_err().to_string();
    assert!(err.contains("Нет пользователя"), "{err}");

    let (user, list) = admin.certificates("ivanov").await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(store.user_by_certificate(&valid.fingerprint()).await.unwrap().map(|u| u.id), Some(user.id));

    // Unbinding takes the thumbprint as `openssl` prints it too (colons, lower case).
    let typed: String = valid
        .fingerprint()
        .to_lowercase()
        .as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8(p.to_vec()).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let err = admin.unbind_certificate(None, "petrov", &typed).await.unwrap_err().to_string();
    assert!(err.contains("нет сертификата"), "{err}");
    admin.unbind_certificate(None, "ivanov", &typed).await.unwrap();
    assert!(admin.certificates("ivanov").await.unwrap().1.is_empty());
    // Now free, it can be bound to the other user.
    assert!(!admin.bind_certificate(None, "petrov", &valid.certificate_der(), now).await.unwrap().already);
}
