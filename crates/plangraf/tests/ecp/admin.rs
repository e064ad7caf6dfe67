//! What an organization requires of ЭЦП, set on its card; certificate sign-in required; an
//! administrator binding a user's certificate on the user's page; the notice before a
//! certificate ends; the limit on live sign-in challenges. Over real HTTP.

use crate::common::{Client, Harness, Page};
use crate::http::{Raw, audit_details};
use crate::pki::Issue;
use crate::{OWNER, Pki};
use chrono::{Duration, Utc};
use store::org_admin::EcpPolicy;

async fn upload_certificate(admin: &mut Client, user_id: i64, der: Vec<u8>) -> Page {
    admin.get(&format!("/admin/users/{user_id}")).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", admin.csrf.clone())
        .part("file", reqwest::multipart::Part::bytes(der).file_name("user.cer"));
    let r = admin
        .http
        .post(format!("{}/admin/users/{user_id}/certificates", admin.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, url) = (r.status().as_u16(), r.url().to_string());
    Page { status, url, body: r.text().await.unwrap() }
}

pub async fn requirements_and_administration() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let ecp = pki.configure(dir.path());
    let h = Harness::start_driven_configured(|c| c.ecp = Some(ecp)).await;
    let store = &h.app.store;
    let zakazchik = store.user_by_login("zakazchik").await.unwrap().unwrap();
    let admin_user = store.user_by_login("admin").await.unwrap().unwrap();
    let (school, committee) = (zakazchik.org_id.get(), admin_user.org_id.get());
    let mut admin = h.client();
    admin.login("admin", "admin").await;

    // The card shows what the school requires: nothing yet.
    let card = admin.get(&format!("/admin/orgs/{school}")).await;
    assert!(card.has("Электронная подпись (ЭЦП)") && card.has("id=\"org-ecp\""), "{}", card.body);
    assert!(!card.has("name=\"sign_in\" value=\"1\" checked"));
    assert!(!card.has("id=\"org-ecp-off\""));

    // Certificate sign-in required of the school.
    let saved = admin.post(&format!("/admin/orgs/{school}/ecp"), &[("sign_in", "1")]).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.has("Требования ЭЦП сохранены") && saved.has("name=\"sign_in\" value=\"1\" checked"));
    assert_eq!(
        store.ecp_policy(zakazchik.org_id).await.unwrap(),
        EcpPolicy { sign_in: true, approval: false, packet: false }
    );
    let again = admin.post(&format!("/admin/orgs/{school}/ecp"), &[("sign_in", "1")]).await;
    assert!(again.has("не изменились"), "{}", again.body);
    let journal = audit_details(&h, "Изменены требования ЭЦП").await;
    assert_eq!(journal, vec!["Было: нет; стало: вход только по ЭЦП".to_owned()]);

    // The school's specialist: the right password is refused with the reason, a wrong one
    // as any wrong one (the reason is not told to someone who does not know the password);
    // the refusals do not count towards the throttle.
    for _ in 0..8 {
        let mut c = h.client();
        let p = c.post_raw("/login", &[("login", "zakazchik"), ("password", "zakazchik")], None).await;
        assert_eq!(p.status, 403, "{}", p.body);
        assert!(p.has("требует входа только по электронной подписи"), "{}", p.body);
    }
    let mut c = h.client();
    let wrong = c.post_raw("/login", &[("login", "zakazchik"), ("password", "не тот")], None).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.has("Неверный логин или пароль") && !wrong.has("электронной подписи (ЭЦП):"), "{}", wrong.body);
    let token = c
        .http
        .post(format!("{}/api/v1/auth/token", c.base))
        .json(&serde_json::json!({"login": "zakazchik", "password": "zakazchik"}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status().as_u16(), 403);
    assert!(token.text().await.unwrap().contains("требует входа только по электронной подписи"));
    let refusals = audit_details(&h, "Отказ во входе по паролю").await;
    assert_eq!(refusals.len(), 9, "{refusals:#?}");
    assert!(refusals[0].contains("Логин zakazchik") && refusals[0].contains("требует входа по ЭЦП"));
    // Users of other organizations are not affected.
    h.client().login("komitet", "komitet").await;

    // The administrator binds the specialist's certificate on the user's page.
    let page = admin.get(&format!("/admin/users/{}", zakazchik.id.get())).await;
    assert!(page.has("Сертификаты ЭЦП") && page.has("id=\"no-certificates\"") && page.has("Привязать сертификат"));
    assert!(page.has("<title>Пользователь zakazchik — plangraf</title>"), "{}", page.body);
    assert_eq!(page.body.matches("<h2>Сертификаты ЭЦП</h2>").count(), 1);
    let expired = upload_certificate(&mut admin, zakazchik.id.get(), pki.expired.certificate_der()).await;
    assert_eq!(expired.status, 422, "{}", expired.body);
    assert!(expired.has("Срок действия сертификата истёк"), "{}", expired.body);
    let empty = upload_certificate(&mut admin, zakazchik.id.get(), Vec::new()).await;
    assert_eq!(empty.status, 422, "{}", empty.body);
    assert!(empty.has("Выберите файл сертификата"));
    let bound = upload_certificate(&mut admin, zakazchik.id.get(), pki.valid.certificate_pem()).await;
    assert_eq!(bound.status, 200, "{}", bound.body);
    assert!(bound.url.ends_with("?done=certificate"), "{}", bound.url);
    assert!(bound.has("Иванов Иван Иванович") && bound.has(&pki.valid.fingerprint()) && bound.has("Тестовый УЦ"));
    // Without the CSRF token nothing is bound.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(pki.unbound.certificate_der()).file_name("x.cer"));
    let r = admin
        .http
        .post(format!("{}/admin/users/{}/certificates", admin.base, zakazchik.id.get()))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(store.user_certificates(zakazchik.id).await.unwrap().len(), 1);

    // Now the specialist signs in with the certificate.
    let raw = Raw::new(h.app.url());
    let ok = raw.sign_in_as(&pki.valid).await;
    assert_eq!((ok.status, ok.location.as_str()), (303, "/plans"), "{}", ok.body);

    // The administrator's own organization: certificate sign-in cannot be required while the
    // administrator holds no certificate — they could not sign in again.
    let own = admin.post(&format!("/admin/orgs/{committee}/ecp"), &[("sign_in", "1")]).await;
    assert_eq!(own.status, 403, "{}", own.body);
    assert!(own.has("пока к вашей учётной записи не привязан действующий сертификат"), "{}", own.body);
    assert!(!store.ecp_policy(admin_user.org_id).await.unwrap().sign_in);
    // Signed approvals and packets may be required of it.
    let own = admin.post(&format!("/admin/orgs/{committee}/ecp"), &[("approval", "1"), ("packet", "1")]).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(
        store.ecp_policy(admin_user.org_id).await.unwrap(),
        EcpPolicy { sign_in: false, approval: true, packet: true }
    );

    // Unbinding on the user's page: the certificate no longer signs in.
    let page = admin
        .post(
            &format!("/admin/users/{}/certificates/unbind", zakazchik.id.get()),
            &[("thumbprint", &pki.valid.fingerprint())],
        )
        .await;
    assert!(page.url.ends_with("?done=certificate-unbound"), "{} {}", page.url, page.body);
    assert!(store.user_certificates(zakazchik.id).await.unwrap().is_empty());
    let refused = raw.sign_in_as(&pki.valid).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    // Lifting the requirement lets the password in again.
    admin.post(&format!("/admin/orgs/{school}/ecp"), &[]).await;
    h.client().login("zakazchik", "zakazchik").await;

    // An administrator of the school sees only the school: the committee's users are out of
    // reach, their pages and their certificates too.
    app::users::Administration::new(store.clone())
        .add_user(
            "shkola_admin",
            "Школа-Админ-2026!".into(),
            "Администратор школы",
            plangraf::demo::SCHOOL.spz_code,
            domain::Role::Admin,
        )
        .await
        .unwrap();
    let mut other = h.client();
    other.login("shkola_admin", "Школа-Админ-2026!").await;
    let komitet = store.user_by_login("komitet").await.unwrap().unwrap();
    assert_eq!(other.get(&format!("/admin/users/{}", komitet.id.get())).await.status, 404);
    let foreign = upload_certificate(&mut other, komitet.id.get(), pki.unbound.certificate_der()).await;
    assert_eq!(foreign.status, 404, "{}", foreign.body);
    assert!(store.user_certificates(komitet.id).await.unwrap().is_empty());

    expiry_notice(&h, &pki).await;
    challenge_limit(&h).await;
    h.app.stop().await;
}

/// The holder of a certificate that ends within 30 days is told so once; one who already
/// holds a certificate that lasts longer is not.
async fn expiry_notice(h: &Harness, pki: &Pki) {
    let store = &h.app.store;
    let now = Utc::now();
    let spec = |from, to| Issue {
        subject: OWNER,
        algorithm: "gost2012_256",
        key_usage: "digitalSignature,nonRepudiation",
        from,
        to,
    };
    let ending = pki.trusted.issue("ending", &spec(now - Duration::days(300), now + Duration::days(10)));
    let komitet_ending = pki.trusted.issue("ending-2", &spec(now - Duration::days(300), now + Duration::days(12)));
    crate::bind(store, "zakazchik", &ending).await;
    crate::bind(store, "komitet", &komitet_ending).await;
    // komitet already holds a renewed one.
    crate::bind(store, "komitet", &pki.of_blocked_org).await;
    let until = now + Duration::days(app::certificates::EXPIRY_WARNING_DAYS);
    assert_eq!(store.report_expiring_certificates(until, 100).await.unwrap(), 1);
    assert_eq!(store.report_expiring_certificates(until, 100).await.unwrap(), 0, "told once");
    let mut user = h.client();
    user.login("zakazchik", "zakazchik").await;
    let page = user.get("/notifications").await;
    assert!(page.has("Сертификат ЭЦП действует до"), "{}", page.body);
    assert!(page.has(&ending.fingerprint()) && page.has("/settings/certificates"), "{}", page.body);
    let page = user.get("/settings/certificates").await;
    assert!(page.has("Истекает через"), "{}", page.body);
    let settings = user.get("/settings/notifications").await;
    assert!(settings.has("Срок действия сертификата ЭЦП заканчивается"));
    let mut komitet = h.client();
    komitet.login("komitet", "komitet").await;
    assert!(!komitet.get("/notifications").await.has("Сертификат ЭЦП действует до"));
}

/// Unused sign-in challenges live five minutes; one address holds at most
/// `app::ecp::CHALLENGE_LIMITS.per_address` of them, then waits.
async fn challenge_limit(h: &Harness) {
    let raw = Raw::new(h.app.url());
    let limit = app::ecp::CHALLENGE_LIMITS.per_address;
    let mut statuses = Vec::new();
    for _ in 0..limit + 1 {
        let r = raw.http.post(format!("{}/login/ecp/challenge", raw.base)).send().await.unwrap();
        let retry_after = r.headers().get("retry-after").is_some();
        statuses.push((r.status().as_u16(), retry_after, r.text().await.unwrap()));
    }
    // Earlier steps may have left a few unused ones from this address.
    let first_refused = statuses.iter().position(|s| s.0 != 200).expect("refused at some point");
    assert!(first_refused as i64 >= limit - 10, "refused too early: {first_refused}");
    let (status, retry_after, body) = &statuses[first_refused];
    assert_eq!(*status, 429, "{body}");
    assert!(*retry_after && body.contains("Слишком много запросов на подпись"), "{body}");
    assert!(statuses[first_refused..].iter().all(|s| s.0 == 429));
    // When they expire, the address may ask again.
    h.app.store.age_ecp_challenges(app::ecp::CHALLENGE_TTL_MS + 1000).await.unwrap();
    let r = raw.http.post(format!("{}/login/ecp/challenge", raw.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
}
