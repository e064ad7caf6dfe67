//! Password hashing (argon2, off the async threads, bounded by the gate of `signin`), generated passwords and session tokens.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use crate::SandboxError;
use crate::signin::{BUSY_WAIT, Busy, Gate};

/// A fresh salt from the OS-seeded generator of `rand` (argon2's own needs an extra feature).
fn salt() -> Result<SaltString, SandboxError> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    SaltString::encode_b64(&bytes).map_err(|e| SandboxError::Password(e.to_string()))
}

/// Hashes in the gate, waiting for a slot as long as it takes (only administration hashes).
pub(crate) async fn hash(gate: &Gate, password: String) -> Result<String, SandboxError> {
    gate.run(None, move || {
        let salt = salt()?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| SandboxError::Password(e.to_string()))
    })
    .await
    .map_err(|Busy| SandboxError::Password("the password hashing task failed".into()))?
}

/// Whether `password` matches `stored`. `None` (no such user, no password generated yet) still
/// costs one verification, so response times do not tell which logins exist. Waits at most
/// [`BUSY_WAIT`] for a slot in the gate.
pub(crate) async fn verify(gate: &Gate, password: String, stored: Option<String>) -> Result<bool, Busy> {
    gate.run(Some(BUSY_WAIT), move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = PasswordHash::new(&stored)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && known
    })
    .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        salt()
            .ok()
            .and_then(|salt| Argon2::default().hash_password(b"no such user", &salt).ok().map(|h| h.to_string()))
            .unwrap_or_default()
    })
}

/// Letters and digits without look-alikes (0/O/o, 1/l/I), as a person copies it by hand.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// A fresh alternative-integration password: 16 characters, about 93 bits.
pub(crate) fn generate_password() -> String {
    let mut rng = rand::rng();
    (0..16).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// A random 256-bit token, URL-safe.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
