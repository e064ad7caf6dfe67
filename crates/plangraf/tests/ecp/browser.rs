//! The sign-in page's flow in headless Chromium, the CryptoPro plug-in replaced by a test
//! double of its asynchronous JavaScript API. The double lists one certificate and, asked to
//! sign, hands the content to this test through the page (WebDriver); the test signs it with
//! `openssl cms -sign -engine gost` and hands the signature back. So ecp.js runs as with the
//! plug-in: lists, chooses, fetches the challenge, signs, posts, and the user lands on «Планы-графики».

use crate::chromium::{Browser, Chromedriver, browser_tools};
use crate::common::Harness;
use crate::{Pki, bind};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use fantoccini::Locator;
use std::time::{Duration, Instant};

/// The double: `cadesplugin` as a thenable with `CreateObjectAsync`, objects whose properties
/// are read with `await` and written with `propset_…`, `SignCades` answering a promise the test
/// settles. `arguments[0]`: the certificate shown.
pub(crate) const PLUGIN_DOUBLE: &str = r#"
const shown = arguments[0];
const cert = {
  SubjectName: Promise.resolve(shown.subject),
  IssuerName: Promise.resolve(shown.issuer),
  ValidFromDate: Promise.resolve(shown.from),
  ValidToDate: Promise.resolve(shown.to),
  Thumbprint: Promise.resolve(shown.thumbprint),
};
const collection = {
  Find: async () => collection,
  Count: Promise.resolve(1),
  Item: async (i) => { if (i !== 1) throw new Error('Item is 1-based'); return cert; },
};
window.__ecpDouble = { content: null, encoding: null, options: null, settle: null };
const d = window.__ecpDouble;
window.cadesplugin = {
  then: (resolve) => resolve(),
  CreateObjectAsync: async (name) => {
    if (name === 'CAdESCOM.Store') {
      return { Open: async () => {}, Close: async () => {}, Certificates: Promise.resolve(collection) };
    }
    if (name === 'CAdESCOM.CPSigner') {
      return { propset_Certificate: async (c) => { d.certificate = c; }, propset_Options: async (o) => { d.options = o; } };
    }
    if (name === 'CAdESCOM.CadesSignedData') {
      return {
        propset_ContentEncoding: async (e) => { d.encoding = e; },
        propset_Content: async (c) => { d.content = c; },
        SignCades: (signer, type, detached) => {
          if (d.certificate !== cert || type !== 1 || detached !== true || d.encoding !== 1) {
            return Promise.reject(new Error('SignCades called unlike the plug-in expects'));
          }
          return new Promise((resolve) => { d.settle = resolve; d.pending = d.content; });
        },
      };
    }
    throw new Error('no such object: ' + name);
  },
};
"#;

pub async fn sign_in_through_the_plugin_double() {
    let Some(tools) = browser_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let ecp = pki.configure(dir.path());
    let h = Harness::start_driven_configured(|c| c.ecp = Some(ecp)).await;
    bind(&h.app.store, "zakazchik", &pki.valid).await;
    let driver = Chromedriver::start(&tools.chromedriver);
    let b = Browser::open(&driver, &tools.chromium, "ecp_sign_in").await;
    let app = h.app.url();

    // Without the plug-in (plangraf does not ship its script): said so, with how to install it.
    b.goto(&format!("{app}/login")).await;
    b.wait_for_text("КриптоПро ЭЦП Browser plug-in").await;
    b.wait_for_text("https://www.cryptopro.ru/products/cades/plugin").await;

    // The double in place of the plug-in, then «Проверить плагин ещё раз».
    let shown = serde_json::json!({
        "subject": "CN=Иванов Иван Иванович, SN=Иванов, G=Иван Иванович, SNILS=12345678901",
        "issuer": "CN=Тестовый УЦ, O=Тестовый УЦ, C=RU",
        "from": "2026-01-01T12:00:00Z",
        "to": "2027-01-01T12:00:00Z",
        "thumbprint": pki.valid.fingerprint(),
    });
    b.c.execute(PLUGIN_DOUBLE, vec![shown]).await.unwrap();
    b.click(Locator::Id("ecp-retry"), "«Проверить плагин ещё раз»").await;
    b.wait_for_element_text(Locator::Id("ecp-certificate"), "Иванов Иван Иванович — действует 01.01.2026–01.01.2027")
        .await;
    // On an office laptop's screen the choice and the button are whole.
    b.expect_unclipped_at_1366(
        "//select[@id='ecp-certificate'] | //button[@id='ecp-sign']",
        2,
        "the ЭЦП sign-in",
        "ecp-login-1366",
    )
    .await;
    b.click(Locator::Id("ecp-sign"), "«Войти по сертификату»").await;

    // The page asked the server for a challenge and the "plug-in" to sign it: sign it here.
    let started = Instant::now();
    let content = loop {
        let pending = b.c.execute("return window.__ecpDouble.pending;", vec![]).await.unwrap();
        if let Some(text) = pending.as_str() {
            break B64.decode(text).unwrap();
        }
        if started.elapsed() > crate::chromium::WAIT {
            b.fail::<()>("the page never asked the plug-in to sign").await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(String::from_utf8_lossy(&content).starts_with("plangraf sign-in "), "{content:?}");
    let signature = B64.encode(pki.valid.sign_detached(&content));
    b.c.execute("window.__ecpDouble.settle(arguments[0]);", vec![serde_json::Value::String(signature)]).await.unwrap();
    b.wait_for_heading("Планы-графики").await;
    let url = b.c.current_url().await.unwrap();
    assert!(url.path().ends_with("/plans"), "{url}");
    // «Сертификаты ЭЦП» at 1366 px: every cell of the table whole, the thumbprint too.
    b.goto(&format!("{app}/settings/certificates")).await;
    b.wait_for_heading("Сертификаты ЭЦП").await;
    b.expect_unclipped_at_1366(
        "//table[@id='certificates']//th | //table[@id='certificates']//td/code | //table[@id='certificates']//button",
        9,
        "the table of «Сертификаты ЭЦП»",
        "ecp-certificates-1366",
    )
    .await;
    b.close().await;
    drop(driver);
    h.app.stop().await;
}

/// «Отправить на ООС» when the organization requires signed packets: the dialog lists the
/// certificate through the double, «ОК» fetches the packet's `data`, has it signed (here, by
/// `openssl cms -sign -engine gost`) and sends the form with the signature; the send is queued
/// with the signature in the packet and the status page opens.
pub async fn signed_send_through_the_plugin_double() {
    let Some(tools) = browser_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let ecp = pki.configure(dir.path());
    let h = Harness::start_driven_configured(|c| c.ecp = Some(ecp)).await;
    bind(&h.app.store, "zakazchik", &pki.valid).await;
    crate::packet::require_signed_packets(&h, true).await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.save_eis_credentials(&login, &password).await;
    let (_, version) = crate::common::approved_plan(&h, &mut customer, "2027").await;

    let driver = Chromedriver::start(&tools.chromedriver);
    let b = Browser::open(&driver, &tools.chromium, "ecp_signed_send").await;
    let app = h.app.url();
    b.goto(&format!("{app}/login")).await;
    b.fill("#login", "zakazchik").await;
    b.fill("#password", "zakazchik").await;
    b.press("Войти").await;
    b.wait_for_heading("Планы-графики").await;
    b.goto(&format!("{app}/versions/{version}/send")).await;
    // Without the plug-in: said so, and «ОК» cannot send an unsigned packet.
    b.wait_for_text("КриптоПро ЭЦП Browser plug-in").await;
    let shown = serde_json::json!({
        "subject": "CN=Иванов Иван Иванович, SNILS=12345678901",
        "issuer": "CN=Тестовый УЦ, C=RU",
        "from": "2026-01-01T12:00:00Z",
        "to": "2027-01-01T12:00:00Z",
        "thumbprint": pki.valid.fingerprint(),
    });
    b.c.execute(PLUGIN_DOUBLE, vec![shown]).await.unwrap();
    b.click(Locator::Id("ecp-retry"), "«Проверить плагин ещё раз»").await;
    b.wait_for_element_text(Locator::Id("ecp-certificate"), "Иванов Иван Иванович — действует 01.01.2026–01.01.2027")
        .await;
    b.click(Locator::Id("send-ok"), "«ОК»").await;

    let started = Instant::now();
    let content = loop {
        let pending = b.c.execute("return window.__ecpDouble.pending;", vec![]).await.unwrap();
        if let Some(text) = pending.as_str() {
            break B64.decode(text).unwrap();
        }
        if started.elapsed() > crate::chromium::WAIT {
            b.fail::<()>("the dialog never asked the plug-in to sign").await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let text = String::from_utf8(content.clone()).unwrap();
    assert!(text.starts_with("<int:data ") && text.ends_with("</int:data>"), "{text}");
    assert!(
        h.app.store.latest_send(domain::ids::VersionId(version)).await.unwrap().is_none(),
        "nothing before the signature"
    );
    let signature = B64.encode(pki.valid.sign_detached(&content));
    b.c.execute("window.__ecpDouble.settle(arguments[0]);", vec![serde_json::Value::String(signature)]).await.unwrap();
    b.wait_for_text("Пакет подписан ЭЦП").await;
    let url = b.c.current_url().await.unwrap();
    assert!(url.path().ends_with(&format!("/versions/{version}/status")), "{url}");
    let sent = h.app.store.latest_send(domain::ids::VersionId(version)).await.unwrap().unwrap().packet_xml;
    let parts = eis::packet::read_signed_parts(&sent).unwrap();
    assert_eq!(parts.data_of(&sent), text, "the packet queued carries the data signed");
    assert!(!parts.signature.is_empty());
    b.close().await;
    drop(driver);
    h.app.stop().await;
}
