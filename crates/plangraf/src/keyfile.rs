//! The key that seals secrets at rest: from `PLANGRAF_SECRET_KEY` (64 hex digits), or from a
//! key file created with mode 0600 on first run.

use anyhow::{Context, bail};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a key came from, for the messages that tell the operator which key to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `PLANGRAF_SECRET_KEY`.
    Environment,
    /// An existing key file.
    File(PathBuf),
    /// No key file yet: a new key, written to this path once the database is known to hold
    /// nothing sealed with another one ([`SecretKey::persist`]).
    NewFile(PathBuf),
    /// Handed over by the caller (tests, benchmarks).
    Given,
}

/// The key and where it came from.
#[derive(Clone)]
pub struct SecretKey {
    pub bytes: [u8; 32],
    pub origin: KeyOrigin,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey").field("origin", &self.origin).finish_non_exhaustive()
    }
}

impl SecretKey {
    pub fn given(bytes: [u8; 32]) -> SecretKey {
        SecretKey { bytes, origin: KeyOrigin::Given }
    }

    /// The key of `PLANGRAF_SECRET_KEY` when it is set (`env`), else of the key file at `path`,
    /// else a new one for that file, not written yet.
    pub fn resolve(env: Option<&str>, path: &Path) -> anyhow::Result<SecretKey> {
        if let Some(hex) = env {
            return Ok(SecretKey {
                bytes: parse_hex_key(hex).context("PLANGRAF_SECRET_KEY")?,
                origin: KeyOrigin::Environment,
            });
        }
        if path.exists() {
            return Ok(SecretKey { bytes: load(path)?, origin: KeyOrigin::File(path.to_owned()) });
        }
        Ok(SecretKey { bytes: store::SecretBox::generate_key(), origin: KeyOrigin::NewFile(path.to_owned()) })
    }

    /// Writes a new key to its file (mode 0600); nothing to do for a key that has one already.
    pub fn persist(&self) -> anyhow::Result<()> {
        match &self.origin {
            KeyOrigin::NewFile(path) => create(path, &self.bytes),
            _ => Ok(()),
        }
    }

    /// Which key this is, in the operator's words: where to look.
    pub fn describe(&self) -> String {
        match &self.origin {
            KeyOrigin::Environment => "ключ из PLANGRAF_SECRET_KEY".to_owned(),
            KeyOrigin::File(p) | KeyOrigin::NewFile(p) => format!("файл ключа {}", p.display()),
            KeyOrigin::Given => "заданный ключ".to_owned(),
        }
    }
}

pub fn parse_hex_key(s: &str) -> anyhow::Result<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("the secret key must be 64 hexadecimal digits (32 bytes)");
    }
    let mut key = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(chunk)?;
        key[i] = u8::from_str_radix(pair, 16)?;
    }
    Ok(key)
}

fn load(path: &Path) -> anyhow::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_hex_key(&text).with_context(|| format!("in {}", path.display()))
}

fn create(path: &Path, key: &[u8; 32]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    writeln!(f, "{hex}")?;
    f.sync_all()?;
    Ok(())
}

pub fn load_or_create(path: &Path) -> anyhow::Result<[u8; 32]> {
    let key = SecretKey::resolve(None, path)?;
    key.persist()?;
    Ok(key.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let k1 = load_or_create(&path).unwrap();
        let k2 = load_or_create(&path).unwrap();
        assert_eq!(k1, k2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(parse_hex_key("abc").is_err());
    }

    #[test]
    fn a_new_key_is_written_only_when_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let new = SecretKey::resolve(None, &path).unwrap();
        assert_eq!(new.origin, KeyOrigin::NewFile(path.clone()));
        assert!(!path.exists());
        new.persist().unwrap();
        let again = SecretKey::resolve(None, &path).unwrap();
        assert_eq!((again.bytes, again.origin), (new.bytes, KeyOrigin::File(path.clone())));
        let env = SecretKey::resolve(Some(&"ab".repeat(32)), &path).unwrap();
        assert!(!format!("{env:?}").contains("ab"), "the key is not in its Debug");
        assert_eq!((env.bytes, env.origin), ([0xab; 32], KeyOrigin::Environment));
    }
}
