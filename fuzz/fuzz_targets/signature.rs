//! Certificates and detached CMS signatures as a user's browser or an administrator's file
//! brings them (arbitrary bytes): reading never panics, and a refusal always has its message.
//! The first byte picks what the rest is read as. The target restarts itself once with the ГОСТ
//! engine's OpenSSL configuration (`signature::engine`), so ГОСТ keys decode as in plangraf.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signature::{Certificate, Trust, verify_detached};

fuzz_target!(
    init: {
        if let Err(e) = signature::engine::restart_with_engine() {
            panic!("could not restart with the engine's configuration: {e}");
        }
    },
    |data: &[u8]| {
        let Some((&pick, rest)) = data.split_first() else { return };
        match pick % 3 {
            0 => match Certificate::parse(rest) {
                Ok(cert) => {
                    assert_eq!(cert.thumbprint.len(), 40);
                    let _ = cert.owner_name();
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            },
            1 => {
                let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
                if let Err(e) = verify_detached(rest, b"challenge", &Trust::new(), at) {
                    assert!(!e.to_string().is_empty());
                }
            }
            _ => {
                // A root certificate file and a revocation list as an administrator gives them.
                let mut trust = Trust::new();
                let _ = trust.add_roots(rest);
                let _ = trust.add_crl(rest);
            }
        }
    }
);
