//! Shared setup of the sandbox tests: a sandbox on 127.0.0.1:0 in a temp dir, a seeded
//! directory and packets consistent with it.
#![allow(dead_code, reason = "shared by several test binaries; each uses a part")]

use std::sync::Arc;
use std::time::Duration;

use eis::client::{ClientConfig, Credentials, EisClient};
use eis::packet::*;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use sandbox::{RunningSandbox, SandboxConfig};

pub const ORG: &str = "03722001684";
pub const ORG_INN: &str = "7802139698";
pub const ORG_KPP: &str = "780201001";
pub const OTHER_ORG: &str = "03722000001";

pub struct Env {
    pub sandbox: RunningSandbox,
    pub client: EisClient,
    pub dir: tempfile::TempDir,
}

pub fn config(dir: &std::path::Path, delay: Duration) -> SandboxConfig {
    SandboxConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.to_owned(),
        processing_delay: delay,
        schemas: schemas(),
    }
}

pub fn client_for(sandbox: &RunningSandbox) -> EisClient {
    EisClient::new(ClientConfig {
        base_url: sandbox.base_url.clone(),
        ca_file: Some(sandbox.ca_cert_path.clone()),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(30),
    })
    .expect("client")
}

/// A sandbox with two organizations and their users:
/// `admin` (org admin, plan rights), `spec` (plan rights), `norights` in ORG; `other` in OTHER_ORG.
pub async fn start(delay: Duration) -> Env {
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = sandbox::start(config(dir.path(), delay)).await.expect("sandbox starts");
    let d = sandbox.directory();
    d.ensure_organization(ORG, "ГБОУ ПРОГИМНАЗИЯ № 130", ORG_INN, ORG_KPP).await.expect("org");
    d.ensure_organization(OTHER_ORG, "ГБОУ ШКОЛА № 1", "7802000001", "780201001").await.expect("org");
    d.ensure_user("admin", "admin-pass", ORG, true, true, "Иванова Анна Петровна").await.expect("user");
    d.ensure_user("spec", "spec-pass", ORG, false, true, "Петров Петр Петрович").await.expect("user");
    d.ensure_user("norights", "norights-pass", ORG, false, false, "Сидоров Сидор Сидорович").await.expect("user");
    d.ensure_user("other", "other-pass", OTHER_ORG, true, true, "Кузнецов Иван Иванович").await.expect("user");
    let client = client_for(&sandbox);
    Env { sandbox, client, dir }
}

pub async fn creds(env: &Env, login: &str) -> Credentials {
    env.sandbox.directory().regenerate_integration_password(login).await.expect("credentials")
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

pub fn position(purchase_number: &str) -> Position {
    let okpd2 = Okpd2::Single("38.11.21.000".into());
    Position {
        position_number: None,
        ext_number: format!("POS-{purchase_number}"),
        ikz: format!("252{ORG_INN}{ORG_KPP}{purchase_number}0003811244"),
        publish_year: 2025,
        iku: Some(format!("2{ORG_INN}{ORG_KPP}")),
        purchase_number: purchase_number.into(),
        okpd2,
        kvr: Some("244".into()),
        purchase_object_info: "Услуги по обращению с ТКО".into(),
        public_discussion: Some(false),
        finance: YearAmounts { current_year: dec("100000.00"), ..YearAmounts::default() },
        kbks: vec![],
        kvrs: vec![KvrAmounts {
            kvr: "244".into(),
            years: YearAmounts { current_year: dec("100000.00"), ..YearAmounts::default() },
        }],
        is_energy_service_contract: false,
        modification: None,
        modification_status: None,
        ..Default::default()
    }
}

/// A special position of п. 4 ч. 1 ст. 93 (no OKPD2: `0000` in the ИКЗ), consistent with ORG.
pub fn special(purchase_number: &str) -> SpecialPosition {
    SpecialPosition {
        type_code: "P4_1_93".into(),
        type_name: Some("Закупки в соответствии с п. 4 ч. 1 ст. 93 Федерального закона № 44-ФЗ".into()),
        ext_number: format!("SP-{purchase_number}"),
        ikz: format!("252{ORG_INN}{ORG_KPP}{purchase_number}0000000244"),
        publish_year: 2025,
        iku: Some(format!("2{ORG_INN}{ORG_KPP}")),
        kvr: Some("244".into()),
        purchase_number: purchase_number.into(),
        finance: YearAmounts { current_year: dec("600000.00"), ..YearAmounts::default() },
        kvrs: vec![KvrAmounts {
            kvr: "244".into(),
            years: YearAmounts { current_year: dec("600000.00"), ..YearAmounts::default() },
        }],
        ..Default::default()
    }
}

/// A valid first version of ORG's plan for 2025 with two positions; a fresh packet id.
pub fn packet() -> PlanPacket {
    PlanPacket {
        kind: PlanPacketKind::New,
        index: PacketIndex::new("PLANGRAF", "OOS", OBJECT_TYPE_TP2020, Mode::Test),
        data: PlanData {
            external_id: "PG-2025-1".into(),
            plan_number: None,
            version_number: Some(0),
            plan_year: 2025,
            first_year: 2026,
            second_year: 2027,
            customer_reg_num: ORG.into(),
            owner_reg_num: ORG.into(),
            owner_role: OwnerRole::Cu,
            positions: vec![position("0001"), position("0002")],
            ..Default::default()
        },
    }
}

/// A reqwest client trusting the sandbox, not following redirects (the tests look at them).
pub fn browser(sandbox: &RunningSandbox) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&sandbox.ca_cert_path).expect("ca");
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.expect("cert")).expect("root");
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser")
}

/// Uploads a packet and waits out the processing delay: the final confirmation.
pub async fn send_and_wait(env: &Env, creds: &Credentials, xml: &str) -> eis::reply::Confirmation {
    let valid = |what: &str, raw: &str| eis::schemas::assert_valid_or_skip(what, eis::schemas::INTEGRATION_XSD, raw);
    let first = env.client.upload(creds, xml).await.expect("upload");
    valid("upload confirmation", &first.raw);
    for _ in 0..100 {
        let r = env.client.status(creds, &first.value.ref_id).await.expect("status");
        valid("status confirmation", &r.raw);
        if r.value.result != eis::reply::ConfirmationResult::Processing {
            return r.value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("packet {} still processing", first.value.ref_id);
}

/// A change of ORG's placed 2025 plan: version `version`, the positions of [`packet`] marked N.
pub fn change_packet(plan_number: &str, version: u32) -> PlanPacket {
    let mut p = packet();
    p.kind = PlanPacketKind::Change;
    p.data.plan_number = Some(plan_number.into());
    p.data.version_number = Some(version);
    p.data.external_id = format!("PG-2025-{}", version + 1);
    for pos in &mut p.data.positions {
        pos.modification_status = Some(ModificationStatus::N);
    }
    p
}

/// The official schemas, compiled once per test binary, so that the sandbox validates every
/// packet the tests upload as it does when configured. Without them: said, and skipped.
pub fn schemas() -> Option<std::sync::Arc<eis::validate::SchemaSet>> {
    static SET: std::sync::OnceLock<Option<std::sync::Arc<eis::validate::SchemaSet>>> = std::sync::OnceLock::new();
    SET.get_or_init(|| match eis::schemas::locate() {
        Some(dir) => Some(std::sync::Arc::new(
            eis::validate::SchemaSet::compile(&dir, eis::validate::Root::Integration)
                .expect("the official schemas compile"),
        )),
        None => {
            eprintln!("SKIPPED: the sandbox's schema validation of received packets (no ЕИС schemas)");
            None
        }
    })
    .clone()
}

/// A browser of the cabinet: one session cookie once signed in, the sandbox's own Origin on every
/// POST, redirects not followed.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(env: &Env) -> Self {
        Browser { http: browser(&env.sandbox), base: env.sandbox.base_url.clone(), cookie: None }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.expect("GET");
        let status = resp.status();
        (status, resp.text().await.expect("body"))
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.http.post(format!("{}{path}", self.base)).header("origin", &self.base).form(form);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        req.send().await.expect("POST")
    }

    pub async fn sign_in(&mut self, login: &str, password: &str) -> reqwest::Response {
        let resp = self.post("/login", &[("login", login), ("password", password)]).await;
        if let Some(set) = resp.headers().get("set-cookie").and_then(|v| v.to_str().ok()) {
            self.cookie = set.split(';').next().map(str::to_owned);
        }
        resp
    }
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap_or_default().to_owned()
}

/// The first `action` of a form in the page that ends with `suffix`.
pub fn form_action(html: &str, suffix: &str) -> String {
    html.split("action=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .find(|a| a.ends_with(suffix))
        .unwrap_or_else(|| panic!("no form ending with {suffix}"))
        .to_owned()
}
