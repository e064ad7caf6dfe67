//! Secrets at rest (ЕИС passwords): AES-256-GCM with a random nonce and associated data that
//! binds each ciphertext to its table, column and row, so a sealed value copied into another
//! row does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use std::fmt;
use std::sync::Arc;

use crate::StoreError;
use domain::secret::Secret;

/// Version prefix of the sealed format, so that the key or algorithm can be rotated.
const FORMAT: &str = "v1";

#[derive(Clone)]
pub struct SecretBox {
    cipher: Arc<Aes256Gcm>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> SecretBox {
        SecretBox { cipher: Arc::new(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key))) }
    }

    pub fn generate_key() -> [u8; 32] {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        key
    }

    /// `v1:<base64 nonce‖ciphertext>`
    pub fn seal(&self, secret: &Secret, aad: &str) -> String {
        let plaintext = secret.expose();
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{FORMAT}:{}", B64.encode(out))
    }

    pub fn open(&self, sealed: &str, aad: &str) -> Result<Secret, StoreError> {
        let body = sealed.strip_prefix("v1:").ok_or_else(|| StoreError::Secret("unknown format".into()))?;
        let raw = B64.decode(body).map_err(|_| StoreError::Secret("not base64".into()))?;
        if raw.len() < 12 + 16 {
            return Err(StoreError::Secret("too short".into()));
        }
        let (nonce, ct) = raw.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() })
            .map_err(|_| StoreError::Secret("wrong key or row".into()))?;
        String::from_utf8(plain).map(Secret::new).map_err(|_| StoreError::Secret("not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens() {
        let b = SecretBox::new(SecretBox::generate_key());
        let sealed = b.seal(&"p@ssw0rd".into(), "eis_credentials.password:1");
        assert!(!sealed.contains("p@ssw0rd"));
        assert_eq!(b.open(&sealed, "eis_credentials.password:1").unwrap().expose(), "p@ssw0rd");
    }

    #[test]
    fn refuses_other_row_and_other_key() {
        let b = SecretBox::new(SecretBox::generate_key());
        let sealed = b.seal(&"secret".into(), "row:1");
        assert!(b.open(&sealed, "row:2").is_err());
        let other = SecretBox::new(SecretBox::generate_key());
        assert!(other.open(&sealed, "row:1").is_err());
        assert!(b.open("v1:AAAA", "row:1").is_err());
    }

    #[test]
    fn nonces_differ() {
        let b = SecretBox::new(SecretBox::generate_key());
        assert_ne!(b.seal(&"x".into(), "a"), b.seal(&"x".into(), "a"));
    }
}
