//! Every accept and refuse path of certificate sign-in, and self-binding, over real HTTP.

use crate::common::Harness;
use crate::pki::User;
use crate::{Pki, bind};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

const COOKIE: &str = "plangraf_ecp_sign_in";

/// A browser without a cookie jar: the challenge's cookie is handled by hand, so that a used
/// one can be sent again.
pub(crate) struct Raw {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) location: String,
    pub(crate) retry_after: Option<String>,
    pub(crate) body: String,
}

impl Raw {
    pub(crate) fn new(base: String) -> Raw {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Raw { base, http }
    }

    /// A sign-in challenge: the cookie's value and the bytes to sign.
    pub(crate) async fn challenge(&self) -> (String, Vec<u8>) {
        let r = self.http.post(format!("{}/login/ecp/challenge", self.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(&format!("{COOKIE}=")))
            .expect("the challenge's cookie")
            .to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/login/ecp"), "{cookie}");
        let token = cookie.split(';').next().unwrap().to_owned();
        let json: serde_json::Value = r.json().await.unwrap();
        let content = B64.decode(json["challenge"].as_str().unwrap()).unwrap();
        assert!(String::from_utf8(content.clone()).unwrap().ends_with(&token), "the content names the challenge");
        (token, content)
    }

    pub(crate) async fn sign_in(&self, cookie: Option<&str>, signature: &str) -> Answer {
        let mut req = self.http.post(format!("{}/login/ecp", self.base)).form(&[("signature", signature)]);
        if let Some(c) = cookie {
            req = req.header("Cookie", format!("{COOKIE}={c}"));
        }
        let r = req.send().await.unwrap();
        let header = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (status, location, retry_after) =
            (r.status().as_u16(), header("location").unwrap_or_default(), header("retry-after"));
        Answer { status, location, retry_after, body: r.text().await.unwrap() }
    }

    /// Signs this browser's fresh challenge with `user`'s key, as the plug-in does.
    pub(crate) async fn sign_in_as(&self, user: &User) -> Answer {
        let (cookie, content) = self.challenge().await;
        self.sign_in(Some(&cookie), &B64.encode(user.sign_detached(&content))).await
    }
}

fn refused(answer: &Answer, message: &str) {
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(answer.body.contains(message), "expected «{message}» in: {}", answer.body);
}

pub(crate) async fn audit_details(h: &Harness, action: &str) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT details FROM audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(h.app.store.pool())
        .await
        .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

pub async fn certificate_sign_in_accepts_and_refuses_each_case() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let ecp = pki.configure(dir.path());
    let h = Harness::start_driven_configured(|c| c.ecp = Some(ecp)).await;
    let store = &h.app.store;
    bind(store, "zakazchik", &pki.valid).await;
    bind(store, "soglasovatel", &pki.of_blocked).await;
    bind(store, "komitet", &pki.of_blocked_org).await;
    let raw = Raw::new(h.app.url());

    // The sign-in page offers the plug-in's script and ecp.js (no inline script).
    let mut client = h.client();
    let page = client.get("/login").await;
    assert!(page.has("id=\"ecp\"") && page.has("src=\"/static/cadesplugin_api.js\"") && page.has("/static/ecp.js"));
    assert!(page.has("name=\"password\""), "password sign-in stays");
    let script = client.get("/static/ecp.js").await;
    assert_eq!(script.status, 200);
    assert!(script.has("SignCades") && script.has("CadesSignedData"));

    // A valid, bound certificate: signed in as its user, with a session like a password's.
    let ok = raw.sign_in_as(&pki.valid).await;
    assert_eq!((ok.status, ok.location.as_str()), (303, "/plans"), "{}", ok.body);
    // With a cookie jar, as a browser: the session cookie works on the pages.
    let mut browser = h.client();
    let r = browser.http.post(format!("{}/login/ecp/challenge", browser.base)).send().await.unwrap();
    let json: serde_json::Value = r.json().await.unwrap();
    let content = B64.decode(json["challenge"].as_str().unwrap()).unwrap();
    let signature = B64.encode(pki.valid.sign_detached(&content));
    let plans = browser.post_raw("/login/ecp", &[("signature", &signature)], None).await;
    assert_eq!(plans.status, 200, "{}", plans.body);
    assert!(plans.url.ends_with("/plans"), "{}", plans.url);
    assert!(plans.has("Планы-графики"), "{}", plans.body);
    assert!(plans.has("zakazchik") || plans.has("Школа"), "signed in as zakazchik");

    // Each refusal, with its own message.
    let (cookie, content) = raw.challenge().await;
    let tampered = B64.encode(pki.valid.sign_detached(&[content.as_slice(), b"!"].concat()));
    refused(&raw.sign_in(Some(&cookie), &tampered).await, "Подпись не соответствует подписанным данным");
    refused(&raw.sign_in_as(&pki.expired).await, "Срок действия сертификата истёк");
    refused(&raw.sign_in_as(&pki.not_yet).await, "Сертификат ещё не действует");
    refused(&raw.sign_in_as(&pki.of_other_ca).await, "выдан не доверенным удостоверяющим центром");
    refused(&raw.sign_in_as(&pki.revoked).await, "Сертификат отозван");
    refused(&raw.sign_in_as(&pki.not_gost).await, "Ключ сертификата не ГОСТ");
    refused(&raw.sign_in_as(&pki.encipher_only).await, "не предназначен для электронной подписи");
    refused(&raw.sign_in_as(&pki.unbound).await, "Сертификат не привязан ни к одному пользователю");
    let (cookie, _) = raw.challenge().await;
    refused(&raw.sign_in(Some(&cookie), "это не подпись").await, "Подпись повреждена");

    // A blocked user: refused although the certificate is theirs and valid.
    let soglasovatel = store.user_credentials("soglasovatel").await.unwrap().unwrap().user;
    store.set_blocked(soglasovatel.id, true).await.unwrap();
    refused(&raw.sign_in_as(&pki.of_blocked).await, "заблокированы");
    // A user of a blocked organization, likewise.
    let komitet = store.user_credentials("komitet").await.unwrap().unwrap().user;
    assert_eq!(raw.sign_in_as(&pki.of_blocked_org).await.status, 303, "not blocked yet");
    let actor = store::org_admin::Actor { user_id: komitet.id, org_id: komitet.org_id };
    assert!(store.admin_set_org_blocked(actor, komitet.org_id, true).await.unwrap());
    refused(&raw.sign_in_as(&pki.of_blocked_org).await, "заблокированы");

    // A challenge serves once: a valid signature sent again with the same cookie is refused.
    let (cookie, content) = raw.challenge().await;
    let signature = B64.encode(pki.valid.sign_detached(&content));
    assert_eq!(raw.sign_in(Some(&cookie), &signature).await.status, 303);
    refused(&raw.sign_in(Some(&cookie), &signature).await, "Запрос на подпись не найден или уже использован");
    // Without the challenge's cookie (another browser's signature): refused the same way.
    let (_, content) = raw.challenge().await;
    refused(
        &raw.sign_in(None, &B64.encode(pki.valid.sign_detached(&content))).await,
        "Запрос на подпись не найден или уже использован",
    );
    // A challenge past its five minutes.
    let (cookie, content) = raw.challenge().await;
    store.age_ecp_challenges(app::ecp::CHALLENGE_TTL_MS + 1000).await.unwrap();
    refused(&raw.sign_in(Some(&cookie), &B64.encode(pki.valid.sign_detached(&content))).await, "устарел");

    // Journaled: each refusal names the certificate and why; a success too.
    let refusals = audit_details(&h, "Отказ во входе по ЭЦП").await;
    assert!(refusals.len() >= 14, "{refusals:#?}");
    let unbound = pki.unbound.fingerprint();
    assert!(refusals.iter().any(|d| d.contains(&unbound) && d.contains("не привязан")), "{refusals:#?}");
    assert!(refusals.iter().any(|d| d.contains("логин soglasovatel") && d.contains("заблокированы")), "{refusals:#?}");
    assert!(refusals.iter().any(|d| d.contains(&pki.revoked.fingerprint()) && d.contains("отозван")));
    let entries = audit_details(&h, "Вход по ЭЦП").await;
    assert_eq!(entries.len(), 4, "{entries:#?}");
    assert!(entries[0].contains(&pki.valid.fingerprint()) && entries[0].contains("Логин zakazchik"));
    // Counted with the password sign-in's failures.
    let metrics = client.get("/metrics").await;
    let line = metrics
        .body
        .lines()
        .find(|l| l.starts_with("plangraf_sign_in_failures_total{reason=\"certificate\"}"))
        .unwrap_or_else(|| panic!("{}", metrics.body))
        .to_owned();
    let counted: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(counted >= 14.0, "{line}");

    self_binding(&h, &pki).await;

    // Throttled like passwords: a certificate failing again and again from one address is
    // refused without being checked, with Retry-After.
    let mut throttled = None;
    for attempt in 1..=10 {
        let (cookie, content) = raw.challenge().await;
        let tampered = B64.encode(pki.expired.sign_detached(&[content.as_slice(), b"x"].concat()));
        let answer = raw.sign_in(Some(&cookie), &tampered).await;
        if answer.status == 429 {
            throttled = Some((attempt, answer));
            break;
        }
        assert_eq!(answer.status, 401, "{}", answer.body);
    }
    let (attempt, answer) = throttled.expect("throttled within ten failures");
    assert!(attempt <= 7, "throttled only at attempt {attempt}");
    assert!(answer.retry_after.is_some());
    assert!(
        answer.body.contains("Слишком много неудачных попыток") || answer.body.contains("попыт"),
        "{}",
        answer.body
    );
    h.app.stop().await;
}

/// «Сертификаты ЭЦП»: a user signed in by password binds their own certificate by signing a
/// challenge, signs in with it, and unbinds it.
async fn self_binding(h: &Harness, pki: &Pki) {
    let mut user = h.client();
    user.login("zakazchik", "zakazchik").await;
    let page = user.get("/settings/certificates").await;
    assert_eq!(page.status, 200);
    assert!(page.has("Сертификаты ЭЦП") && page.has("Иванов Иван Иванович") && page.has("12345678901"));
    assert!(page.has(&pki.valid.fingerprint()) && page.has("Тестовый УЦ"), "{}", page.body);

    // Without the CSRF token, no challenge.
    let r = user.http.post(format!("{}/settings/certificates/challenge", user.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let csrf = user.csrf.clone();
    let r = user
        .http
        .post(format!("{}/settings/certificates/challenge", user.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let json: serde_json::Value = r.json().await.unwrap();
    let content = B64.decode(json["challenge"].as_str().unwrap()).unwrap();
    // A binding challenge's signature does not sign anyone in.
    assert!(String::from_utf8_lossy(&content).starts_with("plangraf bind-certificate "));

    // A certificate of an untrusted УЦ is not bound.
    let other = B64.encode(pki.of_other_ca.sign_detached(&content));
    let page = user.post("/settings/certificates", &[("signature", &other)]).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.has("не доверенным удостоверяющим центром"), "{}", page.body);

    // The challenge was used up by that attempt: a new one for the real binding.
    let r = user
        .http
        .post(format!("{}/settings/certificates/challenge", user.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = r.json().await.unwrap();
    let content = B64.decode(json["challenge"].as_str().unwrap()).unwrap();
    let signature = B64.encode(pki.unbound.sign_detached(&content));
    let page = user.post("/settings/certificates", &[("signature", &signature)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.url.ends_with("/settings/certificates?done=bound"), "{}", page.url);
    assert!(page.has("Сидорова Анна Павловна") && page.has("11122233344") && page.has("500100732259"));
    let thumbprint = pki.unbound.fingerprint();
    assert!(page.has(&thumbprint));
    let bound =
        h.app.store.user_certificates(h.app.store.user_credentials("zakazchik").await.unwrap().unwrap().user.id);
    assert_eq!(bound.await.unwrap().len(), 2);

    // Now it signs its holder in.
    let raw = Raw::new(h.app.url());
    let ok = raw.sign_in_as(&pki.unbound).await;
    assert_eq!((ok.status, ok.location.as_str()), (303, "/plans"), "{}", ok.body);

    // Unbound again: refused as unbound.
    let page = user.post(&format!("/settings/certificates/{thumbprint}/unbind"), &[]).await;
    assert!(page.url.ends_with("?done=unbound"), "{}", page.url);
    assert!(!page.has(&thumbprint));
    refused(&raw.sign_in_as(&pki.unbound).await, "Сертификат не привязан ни к одному пользователю");
    // Another user's certificate cannot be unbound from here.
    let page = user.post(&format!("/settings/certificates/{}/unbind", pki.of_blocked.fingerprint()), &[]).await;
    assert_eq!(page.status, 409, "{}", page.body);
}

pub async fn without_trusted_roots_certificate_sign_in_is_off() {
    let h = Harness::start_driven().await;
    let mut client = h.client();
    let page = client.get("/login").await;
    assert!(page.has("не включён администратором сервера"), "{}", page.body);
    assert!(!page.has("ecp.js") && !page.has("cadesplugin_api.js"));
    let raw = Raw::new(h.app.url());
    let r = raw.http.post(format!("{}/login/ecp/challenge", raw.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.text().await.unwrap().contains("не включён"));
    let answer = raw.sign_in(None, "MIIB").await;
    assert_eq!(answer.status, 404);
    client.login("zakazchik", "zakazchik").await;
    let page = client.get("/settings/certificates").await;
    assert!(page.has("не включён администратором сервера") && page.has("plangraf cert bind"), "{}", page.body);
    // No organization can require ЭЦП that the server does not check.
    let school = h.app.store.user_by_login("zakazchik").await.unwrap().unwrap().org_id.get();
    let mut admin = h.client();
    admin.login("admin", "admin").await;
    let card = admin.get(&format!("/admin/orgs/{school}")).await;
    assert!(card.has("id=\"org-ecp-off\""), "{}", card.body);
    let refused = admin.post(&format!("/admin/orgs/{school}/ecp"), &[("approval", "1")]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.has("не включена на сервере plangraf"), "{}", refused.body);
    assert_eq!(h.app.store.ecp_policy(domain::ids::OrgId(school)).await.unwrap(), Default::default());
    h.app.stop().await;
}
