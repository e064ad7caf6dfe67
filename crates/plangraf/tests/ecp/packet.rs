//! Signed packets (ЭЦП): «Отправить на ООС» signs the `data` of the packet that goes, plangraf
//! checks the signature before anything is queued, eis-sandbox checks it again over real HTTPS,
//! and the `openssl cms -verify -engine gost` command line accepts what was sent.

use crate::common::{Client, Harness, approved_plan, drive_to_status};
use crate::pki::User;
use crate::{Pki, bind};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use domain::ids::VersionId;
use std::path::Path;
use std::process::Command;

/// The policy of the demo school (zakazchik's organization): signed packets on or off.
pub async fn require_signed_packets(h: &Harness, on: bool) {
    let store = &h.app.store;
    let admin = store.user_by_login("admin").await.unwrap().unwrap();
    let school = store.organization_by_spz(plangraf::demo::SCHOOL.spz_code).await.unwrap().unwrap();
    let by = store::org_admin::Actor { user_id: admin.id, org_id: admin.org_id };
    let mut policy = store.ecp_policy(school.id).await.unwrap();
    policy.packet = on;
    store.admin_set_ecp_policy(by, school.id, policy).await.unwrap();
    assert_eq!(store.ecp_policy(school.id).await.unwrap().packet, on);
}

/// The bytes to sign for a send of `version` now, as the dialog's script asks for them.
async fn data_to_sign(client: &mut Client, version: i64) -> (u16, serde_json::Value) {
    client.get(&format!("/versions/{version}/send")).await;
    let csrf = client.csrf.clone();
    let r = client
        .http
        .post(format!("{}/versions/{version}/send/data", client.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn send(client: &mut Client, version: i64, login: &str, signature: Option<&[u8]>) -> crate::common::Page {
    client.get(&format!("/versions/{version}/send")).await;
    let signature = signature.map(|s| B64.encode(s)).unwrap_or_default();
    client
        .post(&format!("/versions/{version}/send"), &[("login", login), ("password", ""), ("signature", &signature)])
        .await
}

async fn queued(h: &Harness, version: i64) -> bool {
    h.app.store.latest_send(VersionId(version)).await.unwrap().is_some()
}

/// `openssl cms -verify -engine gost` of a detached signature over `content`, trusting `root`:
/// whether it verifies, and what openssl said.
fn openssl_verifies(dir: &Path, signature_der: &[u8], content: &[u8], root_pem: &[u8]) -> (bool, String) {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let (sig, data, root) = (format!("sig-{n}.der"), format!("data-{n}.xml"), format!("root-{n}.pem"));
    std::fs::write(dir.join(&sig), signature_der).unwrap();
    std::fs::write(dir.join(&data), content).unwrap();
    std::fs::write(dir.join(&root), root_pem).unwrap();
    let out = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-engine",
            "gost",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &sig,
            "-content",
            &data,
            "-CAfile",
            &root,
            "-out",
            "/dev/null",
        ])
        .current_dir(dir)
        .env_remove("OPENSSL_CONF")
        .output()
        .expect("the openssl command runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Uploads `xml` to the sandbox as plangraf's client does, and answers its final confirmation.
async fn upload_to_sandbox(h: &Harness, login: &str, password: &str, xml: &str) -> eis::reply::Confirmation {
    let mut config = eis::client::ClientConfig::new(h.sandbox.base_url.clone());
    config.ca_file = Some(h.sandbox.ca_cert_path.clone());
    let client = eis::client::EisClient::new(config).unwrap();
    let creds = eis::client::Credentials { login: login.to_owned(), password: password.to_owned().into() };
    let id = eis::packet::read_packet_index(xml).unwrap().id;
    let first = client.upload(&creds, xml).await.unwrap();
    assert_eq!(first.value.ref_id, id);
    client.status(&creds, &id).await.unwrap().value
}

/// `xml` as a new packet: a fresh `index/id`, so the sandbox takes it as never received.
fn with_new_id(xml: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let fresh = format!("5e1f0000-0000-4000-8000-{:012x}", N.fetch_add(1, Ordering::Relaxed));
    let id = eis::packet::read_packet_index(xml).unwrap().id;
    xml.replacen(&format!("<int:id>{id}</int:id>"), &format!("<int:id>{fresh}</int:id>"), 1)
}

fn violation_codes(c: &eis::reply::Confirmation) -> Vec<String> {
    c.violations.iter().map(|v| v.err_code.clone()).collect()
}

fn sign(user: &User, data: &[u8]) -> Vec<u8> {
    user.sign_detached(data)
}

pub async fn signed_packets_are_checked_sent_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let ecp = pki.configure(dir.path());
    let trust = ecp.trust.clone();
    let h = Harness::start_driven_configured(|c| c.ecp = Some(ecp)).await;
    // The sandbox trusts the УЦ plangraf trusts, as in `plangraf demo`.
    h.sandbox.set_ecp_trust(Some(trust.clone()));
    bind(&h.app.store, "zakazchik", &pki.valid).await;
    bind(&h.app.store, "komitet", &pki.of_blocked_org).await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.save_eis_credentials(&login, &password).await;
    let (_, version) = approved_plan(&h, &mut customer, "2027").await;
    let (_, other_version) = approved_plan(&h, &mut customer, "2028").await;

    // Policy off: the dialog has no signing, and an unsigned send goes as before.
    let dialog = customer.get(&format!("/versions/{other_version}/send")).await;
    assert!(!dialog.has("ecp.js") && !dialog.has("id=\"ecp\""), "{}", dialog.body);
    let (status, json) = data_to_sign(&mut customer, other_version).await;
    assert_eq!((status, json["required"].as_bool()), (200, Some(false)), "{json}");

    require_signed_packets(&h, true).await;

    // The dialog offers signing with the plug-in's script.
    let dialog = customer.get(&format!("/versions/{version}/send")).await;
    assert!(dialog.has("/static/ecp.js") && dialog.has("id=\"ecp\""), "{}", dialog.body);
    assert!(
        dialog.has(&format!("data-challenge=\"/versions/{version}/send/data\" data-key=\"data\"")),
        "{}",
        dialog.body
    );
    assert!(dialog.has("name=\"signature\""), "{}", dialog.body);
    let script = customer.get("/static/ecp.js").await;
    assert!(script.status == 200 && script.has("SignCades") && script.has("addEventListener('submit'"));

    // Required and missing: refused, nothing queued.
    let p = send(&mut customer, version, &login, None).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.has("Организация требует электронной подписи"), "{}", p.body);
    assert!(!queued(&h, version).await, "nothing is queued without the signature");

    // The bytes to sign: the data element of the packet that would go now.
    let (status, json) = data_to_sign(&mut customer, version).await;
    assert_eq!((status, json["required"].as_bool()), (200, Some(true)), "{json}");
    let data = B64.decode(json["data"].as_str().unwrap()).unwrap();
    let text = String::from_utf8(data.clone()).unwrap();
    assert!(text.starts_with("<int:data ") && text.ends_with("</int:data>"), "{text}");
    assert!(!text.contains("<int:index>"), "the index is outside the signed bytes");
    // Asked again: the same bytes (the send chooses the packet again and checks against it).
    let (_, again) = data_to_sign(&mut customer, version).await;
    assert_eq!(again["data"], json["data"]);

    // Each refusal, with its message, and nothing queued.
    let refusals: [(&str, Vec<u8>, &str); 5] = [
        ("unbound", sign(&pki.unbound, &data), "не привязан к вашей учётной записи"),
        ("another user's", sign(&pki.of_blocked_org, &data), "не привязан к вашей учётной записи"),
        ("expired", sign(&pki.expired, &data), "Срок действия сертификата истёк"),
        ("untrusted", sign(&pki.of_other_ca, &data), "не доверенным удостоверяющим центром"),
        ("other bytes", sign(&pki.valid, b"<int:data>something else</int:data>"), "Подпишите пакет заново"),
    ];
    for (what, signature, message) in refusals {
        let p = send(&mut customer, version, &login, Some(&signature)).await;
        assert_eq!(p.status, 422, "{what}: {}", p.body);
        assert!(p.has(message), "{what}: expected «{message}» in {}", p.body);
        assert!(!queued(&h, version).await, "{what}: nothing is queued");
    }
    // The data of another version (what a packet rebuilt against another basis would be):
    // the packet that goes now differs, so the signature is refused with «sign again».
    let (_, other) = data_to_sign(&mut customer, other_version).await;
    let other_data = B64.decode(other["data"].as_str().unwrap()).unwrap();
    assert_ne!(other_data, data);
    let p = send(&mut customer, version, &login, Some(&sign(&pki.valid, &other_data))).await;
    assert!(p.status == 422 && p.has("пакет изменился после подписания"), "{}", p.body);
    assert!(!queued(&h, version).await);

    // Signed by the sender's own certificate: queued, uploaded and loaded by the sandbox.
    let signature = sign(&pki.valid, &data);
    let p = send(&mut customer, version, &login, Some(&signature)).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.url.contains(&format!("/versions/{version}/status")), "{}", p.url);
    let status = drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    assert!(status.has("Пакет подписан ЭЦП"), "the timeline says it was signed: {}", status.body);
    assert!(status.has(&pki.valid.fingerprint()), "and with which certificate: {}", status.body);
    assert!(status.has("Иванов Иван Иванович"), "{}", status.body);

    // The packet sent carries the signature in index/signature, over its data exactly.
    let sent = h.app.store.latest_send(VersionId(version)).await.unwrap().unwrap().packet_xml;
    let parts = eis::packet::read_signed_parts(&sent).unwrap();
    assert_eq!(parts.data_of(&sent).as_bytes(), &data[..]);
    let carried = B64.decode(&parts.signature).unwrap();
    assert!(sent.contains(&format!("<int:signature type=\"CAdES-BES\">{}</int:signature>", parts.signature)));
    if let Some(schemas) = crate::common::official_schemas() {
        assert!(schemas.validate(&sent).is_ok(), "a signed packet validates against the schemas");
    }
    // The openssl command line verifies it with the УЦ's root.
    let root = pki.trusted.root_pem();
    let (ok, said) = openssl_verifies(dir.path(), &carried, parts.data_of(&sent).as_bytes(), &root);
    assert!(ok, "openssl cms -verify refused the sent packet's signature: {said}");
    assert!(said.contains("Verification successful"), "{said}");
    // …and refuses it over changed bytes, or from an untrusted root.
    let (ok, _) =
        openssl_verifies(dir.path(), &carried, parts.data_of(&sent).replace("2027", "2029").as_bytes(), &root);
    assert!(!ok, "openssl accepted changed data");
    let (ok, _) = openssl_verifies(dir.path(), &carried, parts.data_of(&sent).as_bytes(), &pki.other.root_pem());
    assert!(!ok, "openssl accepted an untrusted root");

    // Straight to the sandbox: the same packet with its data changed after signing is refused
    // with ECP_SIGN, and so is one whose signature bytes were altered.
    let tampered_data = with_new_id(&sent).replacen("Поставка учебников", "Поставка тетрадей", 1);
    assert_ne!(eis::packet::signed_data(&tampered_data).unwrap(), parts.data_of(&sent));
    let c = upload_to_sandbox(&h, &login, &password, &tampered_data).await;
    assert_eq!(c.result, eis::reply::ConfirmationResult::Failure);
    assert_eq!(violation_codes(&c), ["ECP_SIGN"], "{:?}", c.violations);
    let why = c.violations[0].description.clone().unwrap();
    assert!(why.contains("данные изменены после подписания"), "{why}");
    let mut altered = carried.clone();
    let middle = altered.len() / 2;
    altered[middle] ^= 0x5a;
    let tampered_signature = with_new_id(&sent).replacen(&parts.signature, &B64.encode(&altered), 1);
    let c = upload_to_sandbox(&h, &login, &password, &tampered_signature).await;
    assert_eq!(violation_codes(&c), ["ECP_SIGN"], "{:?}", c.violations);
    // Signed over the right bytes, but by a certificate the sandbox's УЦ roots do not accept.
    let signed_data = parts.data_of(&sent).as_bytes().to_vec();
    for (who, message) in [
        (&pki.of_other_ca, "не доверенным удостоверяющим центром"),
        (&pki.expired, "Срок действия сертификата истёк"),
        (&pki.revoked, "отозван"),
    ] {
        let resigned = with_new_id(&sent).replacen(&parts.signature, &B64.encode(sign(who, &signed_data)), 1);
        let c = upload_to_sandbox(&h, &login, &password, &resigned).await;
        assert_eq!(violation_codes(&c), ["ECP_SIGN"], "{:?}", c.violations);
        let why = c.violations[0].description.clone().unwrap();
        assert!(why.contains(message), "expected «{message}» in {why}");
    }
    // A sandbox that trusts no УЦ cannot check it: refused with ECP_TRUST, not accepted.
    h.sandbox.set_ecp_trust(None);
    let c = upload_to_sandbox(&h, &login, &password, &with_new_id(&sent)).await;
    assert_eq!(violation_codes(&c), ["ECP_TRUST"], "{:?}", c.violations);
    h.sandbox.set_ecp_trust(Some(trust.clone()));

    // «Отправить все» cannot sign: the version that requires a signature is left out with its
    // line, nothing of it is queued.
    let page = customer.get("/plans").await;
    assert_eq!(page.status, 200);
    let started = customer.post("/sends/bulk", &[]).await;
    let outcome = customer.job_outcome(started).await;
    assert!(outcome.has("из её окна «Отправить на ООС» с подписью"), "{}", outcome.body);
    assert!(outcome.has("2028"), "the line names the version's plan: {}", outcome.body);
    assert!(!queued(&h, other_version).await, "«Отправить все» queued a version that needs a signature");

    // The JSON API: a missing signature is 422 and nothing is queued; the data endpoint answers
    // the same bytes; a signed send is accepted.
    let http = reqwest::Client::new();
    let base = h.app.url();
    let token: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"login": "zakazchik", "password": "zakazchik"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let r = http
        .post(format!("{base}/api/v1/versions/{other_version}/send"))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let problem: serde_json::Value = r.json().await.unwrap();
    assert!(problem.to_string().contains("Организация требует электронной подписи"), "{problem}");
    assert!(!queued(&h, other_version).await);
    let r = http
        .post(format!("{base}/api/v1/versions/{other_version}/send/data"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let api_data: serde_json::Value = r.json().await.unwrap();
    assert_eq!(api_data["data"], other["data"]);
    assert_eq!(api_data["required"], true);
    let r = http
        .post(format!("{base}/api/v1/versions/{other_version}/send"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"signature": B64.encode(sign(&pki.valid, &other_data))}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "{}", r.text().await.unwrap());
    drive_to_status(&h, &mut customer, other_version, "Загрузка завершена успешно").await;

    // Policy off again: an unsigned send goes as before (a third plan).
    require_signed_packets(&h, false).await;
    let (_, third) = approved_plan(&h, &mut customer, "2029").await;
    let p = send(&mut customer, third, &login, None).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let status = drive_to_status(&h, &mut customer, third, "Загрузка завершена успешно").await;
    assert!(!status.has("Пакет подписан ЭЦП"), "{}", status.body);
    let sent = h.app.store.latest_send(VersionId(third)).await.unwrap().unwrap().packet_xml;
    assert_eq!(eis::packet::read_signed_parts(&sent).unwrap().signature, "");
    h.app.stop().await;
}
