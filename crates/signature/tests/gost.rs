//! Signatures made with real ГОСТ Р 34.10-2012 keys by the `openssl` command, checked by the
//! crate: every accept and refuse path. OpenSSL reads its configuration once per process, so
//! this test has its own `main`: it restarts itself with `OPENSSL_CONF` naming the engine's
//! configuration (see `signature::engine`) before anything touches OpenSSL.
//!
//! Without the ГОСТ engine the test says SKIPPED and passes, unless PLANGRAF_REQUIRE_GOST=1
//! (as in CI), when it fails.

mod pki;

use chrono::{DateTime, Duration, Utc};
use pki::{Ca, Issue, User};
use signature::{Certificate, KeyAlgorithm, SignatureError, Trust, verify_detached};

/// A named check of the shared test PKI.
type Case = (&'static str, fn(&World));

fn main() {
    if !pki::start_with_engine("ГОСТ signature tests") {
        return;
    }
    let world = World::new();
    let cases: &[Case] = &[
        ("a valid signature is accepted with the subject's fields", valid_signature),
        ("base64 with line breaks, as the plug-in answers, is accepted", base64_signature),
        ("a 512-bit key is accepted", gost_512),
        ("changed content is refused as tampered", tampered),
        ("an expired certificate is refused as expired", expired),
        ("a certificate not yet valid is refused as such", not_yet_valid),
        ("another УЦ's certificate is refused as untrusted", other_ca),
        ("a revoked certificate is refused by the list", revoked),
        ("without a list for its УЦ revocation is unknown", revocation_unknown),
        ("a key without digitalSignature usage is refused", key_usage),
        ("a key that is not ГОСТ is refused", not_gost),
        ("garbage and oversize input are refused before parsing", malformed),
        ("a certificate reads the same from PEM and DER", certificate_files),
    ];
    let mut failed = Vec::new();
    for (name, case) in cases {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&world)));
        println!("test gost::{name} ... {}", if result.is_ok() { "ok" } else { "FAILED" });
        if result.is_err() {
            failed.push(*name);
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        cases.len() - failed.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "failed: {failed:?}");
}

const SUBJECT: &str = "/C=RU/O=МБОУ Школа № 1/CN=Иванов Иван Иванович/SN=Иванов/GN=Иван Иванович/SNILS=12345678901/INN=123456789012/OGRN=1027700000001";

struct World {
    _dir: tempfile::TempDir,
    now: DateTime<Utc>,
    ca: Ca,
    other: Ca,
    valid: User,
    valid_512: User,
    expired: User,
    future: User,
    foreign: User,
    revoked: User,
    encipher_only: User,
    ec: User,
    trust: Trust,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let ca = Ca::new(dir.path(), "Тестовый УЦ");
        let other = Ca::new(dir.path(), "Чужой УЦ");
        let spec = |subject, algorithm, from, to| Issue {
            subject,
            algorithm,
            key_usage: "digitalSignature,nonRepudiation",
            from,
            to,
        };
        let year = Duration::days(365);
        let valid = ca.issue("valid", &spec(SUBJECT, "gost2012_256", now - Duration::days(1), now + year));
        let valid_512 =
            ca.issue("valid512", &spec("/CN=Петров Пётр", "gost2012_512", now - Duration::days(1), now + year));
        let expired = ca.issue("expired", &spec("/CN=Сидоров", "gost2012_256", now - year * 3, now - year));
        let future = ca.issue("future", &spec("/CN=Будущий", "gost2012_256", now + Duration::days(10), now + year));
        let foreign = other.issue("foreign", &spec("/CN=Чужой", "gost2012_256", now - Duration::days(1), now + year));
        let revoked = ca.issue("revoked", &spec("/CN=Отозванный", "gost2012_256", now - Duration::days(1), now + year));
        let encipher_only = ca.issue(
            "encipher",
            &Issue {
                key_usage: "keyEncipherment",
                ..spec("/CN=Шифрование", "gost2012_256", now - Duration::days(1), now + year)
            },
        );
        let ec = ca.issue("ec", &spec("/CN=Не ГОСТ", "ec", now - Duration::days(1), now + year));
        let mut trust = Trust::new();
        trust.add_roots(&ca.root_pem()).unwrap();
        World {
            _dir: dir,
            now,
            ca,
            other,
            valid,
            valid_512,
            expired,
            future,
            foreign,
            revoked,
            encipher_only,
            ec,
            trust,
        }
    }
}

const CHALLENGE: &[u8] = b"login-challenge:3f9a1c2e7b5d4e11:2026-12-01T20:30:00Z";

fn valid_signature(w: &World) {
    let signature = w.valid.sign_detached(CHALLENGE);
    let cert = verify_detached(&signature, CHALLENGE, &w.trust, w.now).expect("a valid signature verifies");
    assert_eq!(cert.thumbprint, w.valid.fingerprint());
    assert_eq!(cert.thumbprint, cert.thumbprint.to_uppercase());
    assert_eq!(cert.common_name.as_deref(), Some("Иванов Иван Иванович"));
    assert_eq!(cert.surname.as_deref(), Some("Иванов"));
    assert_eq!(cert.given_name.as_deref(), Some("Иван Иванович"));
    assert_eq!(cert.owner_name().as_deref(), Some("Иванов Иван Иванович"));
    assert_eq!(cert.snils.as_deref(), Some("12345678901"));
    assert_eq!(cert.inn.as_deref(), Some("123456789012"));
    assert_eq!(cert.ogrn.as_deref(), Some("1027700000001"));
    assert_eq!(cert.inn_le, None);
    assert_eq!(cert.organization.as_deref(), Some("МБОУ Школа № 1"));
    assert_eq!(cert.issuer_common_name.as_deref(), Some(w.ca.name.as_str()));
    assert_eq!(cert.key_algorithm, KeyAlgorithm::Gost2012_256);
    assert!(cert.digital_signature);
    assert!((cert.not_before - (w.now - Duration::days(1))).num_seconds().abs() <= 1, "{}", cert.not_before);
    assert!((cert.not_after - (w.now + Duration::days(365))).num_seconds().abs() <= 1, "{}", cert.not_after);
    assert_eq!(cert.der, w.valid.certificate_der());
    assert!(!cert.serial.is_empty() && cert.serial.chars().all(|c| c.is_ascii_hexdigit()));
}

fn base64_signature(w: &World) {
    use base64::Engine as _;
    let der = w.valid.sign_detached(CHALLENGE);
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let wrapped: Vec<String> = text.as_bytes().chunks(64).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
    let cert = verify_detached(wrapped.join("\r\n").as_bytes(), CHALLENGE, &w.trust, w.now).unwrap();
    assert_eq!(cert.thumbprint, w.valid.fingerprint());
}

fn gost_512(w: &World) {
    let signature = w.valid_512.sign_detached(CHALLENGE);
    let cert = verify_detached(&signature, CHALLENGE, &w.trust, w.now).unwrap();
    assert_eq!(cert.key_algorithm, KeyAlgorithm::Gost2012_512);
    assert_eq!(cert.common_name.as_deref(), Some("Петров Пётр"));
}

fn tampered(w: &World) {
    let signature = w.valid.sign_detached(CHALLENGE);
    let mut changed = CHALLENGE.to_vec();
    changed[0] ^= 1;
    assert_eq!(verify_detached(&signature, &changed, &w.trust, w.now).unwrap_err(), SignatureError::Tampered);
    // One byte more at the end is another content too.
    let longer = [CHALLENGE, b"\n"].concat();
    assert_eq!(verify_detached(&signature, &longer, &w.trust, w.now).unwrap_err(), SignatureError::Tampered);
}

fn expired(w: &World) {
    let signature = w.expired.sign_detached(CHALLENGE);
    let not_after = Certificate::parse(&w.expired.certificate_pem()).unwrap().not_after;
    assert!(not_after < w.now);
    let err = verify_detached(&signature, CHALLENGE, &w.trust, w.now).unwrap_err();
    assert_eq!(err, SignatureError::Expired { not_after });
    assert!(err.to_string().contains("истёк"), "{err}");
}

fn not_yet_valid(w: &World) {
    let signature = w.future.sign_detached(CHALLENGE);
    let not_before = Certificate::parse(&w.future.certificate_pem()).unwrap().not_before;
    assert_eq!(
        verify_detached(&signature, CHALLENGE, &w.trust, w.now).unwrap_err(),
        SignatureError::NotYetValid { not_before }
    );
}

fn other_ca(w: &World) {
    let signature = w.foreign.sign_detached(CHALLENGE);
    assert_eq!(verify_detached(&signature, CHALLENGE, &w.trust, w.now).unwrap_err(), SignatureError::Untrusted);
    // Trusting that УЦ too makes the same signature good.
    let mut both = Trust::new();
    both.add_roots(&w.ca.root_pem()).unwrap();
    both.add_roots(&w.other.root_pem()).unwrap();
    assert_eq!(both.roots(), 2);
    verify_detached(&signature, CHALLENGE, &both, w.now).unwrap();
    // Trusting nothing trusts no one.
    assert_eq!(verify_detached(&signature, CHALLENGE, &Trust::new(), w.now).unwrap_err(), SignatureError::Untrusted);
}

// A list is in force from when it was made: these check at the clock's time, after it.
fn revoked(w: &World) {
    let signature = w.revoked.sign_detached(CHALLENGE);
    let mut before = Trust::new();
    before.add_roots(&w.ca.root_pem()).unwrap();
    before.add_crl(&w.ca.crl()).unwrap();
    verify_detached(&signature, CHALLENGE, &before, Utc::now()).expect("not yet revoked");
    w.ca.revoke(&w.revoked);
    let mut after = Trust::new();
    after.add_roots(&w.ca.root_pem()).unwrap();
    after.add_crl(&w.ca.crl()).unwrap();
    assert_eq!(verify_detached(&signature, CHALLENGE, &after, Utc::now()).unwrap_err(), SignatureError::Revoked);
    // The list names that certificate only.
    verify_detached(&w.valid.sign_detached(CHALLENGE), CHALLENGE, &after, Utc::now()).unwrap();
}

fn revocation_unknown(w: &World) {
    let mut trust = Trust::new();
    trust.add_roots(&w.ca.root_pem()).unwrap();
    trust.add_roots(&w.other.root_pem()).unwrap();
    trust.add_crl(&w.ca.crl()).unwrap();
    let signature = w.foreign.sign_detached(CHALLENGE);
    assert_eq!(
        verify_detached(&signature, CHALLENGE, &trust, Utc::now()).unwrap_err(),
        SignatureError::RevocationUnknown
    );
    // The УЦ with its list is checked and good.
    verify_detached(&w.valid.sign_detached(CHALLENGE), CHALLENGE, &trust, Utc::now()).unwrap();
}

fn key_usage(w: &World) {
    let signature = w.encipher_only.sign_detached(CHALLENGE);
    assert_eq!(verify_detached(&signature, CHALLENGE, &w.trust, w.now).unwrap_err(), SignatureError::WrongKeyUsage);
}

fn not_gost(w: &World) {
    let signature = w.ec.sign_detached(CHALLENGE);
    assert_eq!(verify_detached(&signature, CHALLENGE, &w.trust, w.now).unwrap_err(), SignatureError::NotGost);
    let cert = Certificate::parse(&w.ec.certificate_pem()).unwrap();
    assert_eq!(cert.key_algorithm, KeyAlgorithm::Other);
    assert!(!cert.is_gost());
}

fn malformed(w: &World) {
    for garbage in [&b""[..], b"not a signature", b"\x30\x03\x02\x01\x01", b"MIIB////"] {
        assert!(
            matches!(verify_detached(garbage, CHALLENGE, &w.trust, w.now), Err(SignatureError::Malformed(_))),
            "{garbage:?}"
        );
    }
    let big = vec![0x30; signature::MAX_SIGNATURE_BYTES + 1];
    assert!(matches!(verify_detached(&big, CHALLENGE, &w.trust, w.now), Err(SignatureError::TooLarge { .. })));
    let signature = w.valid.sign_detached(CHALLENGE);
    let huge = vec![0u8; signature::MAX_CONTENT_BYTES + 1];
    assert!(matches!(verify_detached(&signature, &huge, &w.trust, w.now), Err(SignatureError::TooLarge { .. })));
    // A truncated signature is malformed, not a crash.
    assert!(matches!(
        verify_detached(&signature[..signature.len() / 2], CHALLENGE, &w.trust, w.now),
        Err(SignatureError::Malformed(_))
    ));
    assert_eq!(
        Certificate::parse(b"-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap_err(),
        SignatureError::MalformedCertificate
    );
    assert!(matches!(
        Certificate::parse(&vec![b'A'; signature::MAX_CERTIFICATE_BYTES + 1]),
        Err(SignatureError::TooLarge { .. })
    ));
}

fn certificate_files(w: &World) {
    let pem = Certificate::parse(&std::fs::read(w.valid.certificate_path()).unwrap()).unwrap();
    let der = Certificate::parse(&w.valid.certificate_der()).unwrap();
    assert_eq!(pem.thumbprint, der.thumbprint);
    assert_eq!(pem.thumbprint, w.valid.fingerprint());
    assert_eq!(pem.der, der.der);
    assert_eq!(pem.snils, der.snils);
    pem.validity_at(w.now).unwrap();
}
