//! Sign-in with ЭЦП and self-binding over real HTTP, and in a real browser with a test double
//! of the CryptoPro plug-in, with ГОСТ Р 34.10-2012 certificates and signatures made by the
//! `openssl` command and its ГОСТ engine (the signature crate's test PKI).
//!
//! Its own `main` (no libtest): plangraf runs in this process (`common::Harness`), and OpenSSL
//! loads the ГОСТ engine only from the configuration it reads at its start, so the process
//! first restarts itself with one (`signature::engine::restart_with_engine`), as `plangraf
//! serve` does. libtest's arguments (`--skip browser::` …) are ignored. Without the engine:
//! SKIPPED, or a failure when PLANGRAF_REQUIRE_GOST=1. The browser part runs where the other
//! browser tests run: in CI's PostgreSQL pass (PLANGRAF_TEST_DATABASE_URL set), or anywhere
//! PLANGRAF_REQUIRE_BROWSER is not 1; without Chromium it says SKIPPED unless that is 1.

#[path = "../it/chromium.rs"]
#[allow(dead_code, reason = "shared with the `it` tests; this one uses part of it")]
mod chromium;
#[path = "../it/common.rs"]
#[allow(dead_code, reason = "shared with the `it` tests; this one uses part of it")]
mod common;
#[path = "../../../signature/tests/pki/mod.rs"]
#[allow(dead_code, reason = "the PKI helpers serve several test targets")]
mod pki;

mod admin;
mod approve;
mod browser;
mod http;
mod packet;

use chrono::{Duration, Utc};
use pki::{Ca, Issue, User};
use std::path::Path;

fn main() {
    if !pki::start_with_engine("sign-in with ЭЦП") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut passed = 0;
    runtime.block_on(http::certificate_sign_in_accepts_and_refuses_each_case());
    println!("test ecp::http::certificate_sign_in_accepts_and_refuses_each_case ... ok");
    passed += 1;
    runtime.block_on(http::without_trusted_roots_certificate_sign_in_is_off());
    println!("test ecp::http::without_trusted_roots_certificate_sign_in_is_off ... ok");
    passed += 1;
    runtime.block_on(admin::requirements_and_administration());
    println!("test ecp::admin::requirements_and_administration ... ok");
    passed += 1;
    runtime.block_on(approve::signed_approval_accepts_and_refuses_each_case());
    println!("test ecp::approve::signed_approval_accepts_and_refuses_each_case ... ok");
    passed += 1;
    runtime.block_on(approve::without_trust_a_required_signature_refuses_approval());
    println!("test ecp::approve::without_trust_a_required_signature_refuses_approval ... ok");
    passed += 1;
    runtime.block_on(packet::signed_packets_are_checked_sent_and_verified());
    println!("test ecp::packet::signed_packets_are_checked_sent_and_verified ... ok");
    passed += 1;
    let in_postgres_pass = std::env::var_os("PLANGRAF_TEST_DATABASE_URL").is_some();
    let browser_required = std::env::var("PLANGRAF_REQUIRE_BROWSER").as_deref() == Ok("1");
    if in_postgres_pass || !browser_required {
        runtime.block_on(browser::sign_in_through_the_plugin_double());
        println!("test ecp::browser::sign_in_through_the_plugin_double ... ok");
        passed += 1;
        runtime.block_on(approve::signed_approval_through_the_plugin_double());
        println!("test ecp::approve::signed_approval_through_the_plugin_double ... ok");
        passed += 1;
        runtime.block_on(browser::signed_send_through_the_plugin_double());
        println!("test ecp::browser::signed_send_through_the_plugin_double ... ok");
        passed += 1;
    } else {
        eprintln!("ecp::browser: runs once, in the PostgreSQL pass");
    }
    println!("\ntest result: ok. {passed} passed; 0 failed");
}

/// The УЦ and certificates of the tests.
pub struct Pki {
    pub trusted: Ca,
    pub other: Ca,
    /// Bound to `zakazchik`.
    pub valid: User,
    /// Bound to `soglasovatel`, who is blocked.
    pub of_blocked: User,
    /// Bound to `komitet`, whose organization is blocked.
    pub of_blocked_org: User,
    /// Valid and trusted, bound to nobody (until it is bound by its holder).
    pub unbound: User,
    pub expired: User,
    pub not_yet: User,
    pub revoked: User,
    pub of_other_ca: User,
    pub not_gost: User,
    pub encipher_only: User,
}

pub const OWNER: &str = "/CN=Иванов Иван Иванович/SN=Иванов/GN=Иван Иванович/SNILS=12345678901/INN=123456789012";

impl Pki {
    pub fn new(dir: &Path) -> Pki {
        let now = Utc::now();
        let trusted = Ca::new(dir, "Тестовый УЦ");
        let other = Ca::new(dir, "Чужой УЦ");
        let spec = |subject, from, to| Issue {
            subject,
            algorithm: "gost2012_256",
            key_usage: "digitalSignature,nonRepudiation",
            from,
            to,
        };
        let year = (now - Duration::days(1), now + Duration::days(365));
        let valid = trusted.issue("valid", &spec(OWNER, year.0, year.1));
        let of_blocked = trusted.issue("blocked", &spec("/CN=Петров Пётр Петрович/SNILS=98765432109", year.0, year.1));
        let of_blocked_org =
            trusted.issue("blocked-org", &spec("/CN=Кузнецова Мария Игоревна/SNILS=22233344455", year.0, year.1));
        let unbound = trusted
            .issue("unbound", &spec("/CN=Сидорова Анна Павловна/SNILS=11122233344/INN=500100732259", year.0, year.1));
        let expired = trusted.issue("expired", &spec(OWNER, now - Duration::days(400), now - Duration::days(35)));
        let not_yet = trusted.issue("not-yet", &spec(OWNER, now + Duration::days(5), now + Duration::days(400)));
        let revoked = trusted.issue("revoked", &spec(OWNER, year.0, year.1));
        let of_other_ca = other.issue("other", &spec(OWNER, year.0, year.1));
        let not_gost = trusted.issue("ec", &Issue { algorithm: "ec", ..spec(OWNER, year.0, year.1) });
        let encipher_only =
            trusted.issue("encipher", &Issue { key_usage: "keyEncipherment", ..spec(OWNER, year.0, year.1) });
        trusted.revoke(&revoked);
        Pki {
            trusted,
            other,
            valid,
            of_blocked,
            of_blocked_org,
            unbound,
            expired,
            not_yet,
            revoked,
            of_other_ca,
            not_gost,
            encipher_only,
        }
    }

    /// The operator's directories: the trusted root, and its revocation list.
    pub fn configure(&self, dir: &Path) -> plangraf::EcpConfig {
        let roots = dir.join("roots");
        let crls = dir.join("crls");
        std::fs::create_dir_all(&roots).unwrap();
        std::fs::create_dir_all(&crls).unwrap();
        std::fs::write(roots.join("uc.pem"), self.trusted.root_pem()).unwrap();
        std::fs::write(crls.join("uc.crl"), self.trusted.crl()).unwrap();
        let trust = plangraf::load_ecp_trust(&roots, Some(&crls)).unwrap();
        assert_eq!(trust.roots(), 1);
        plangraf::EcpConfig {
            trust: std::sync::Arc::new(trust),
            plugin_script: web::DEFAULT_ECP_PLUGIN_SCRIPT.to_owned(),
        }
    }
}

/// Binds `user`'s certificate to `login` as the operator does (`plangraf cert bind`).
pub async fn bind(store: &store::Store, login: &str, user: &User) {
    let admin = app::users::Administration::new(store.clone());
    admin.bind_certificate(None, login, &user.certificate_der(), Utc::now()).await.unwrap();
}
