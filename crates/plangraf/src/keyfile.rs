//! The key that seals secrets at rest: from `PLANGRAF_SECRET_KEY` (64 hex digits), or from a
//! key file created with mode 0600 on first run.

use anyhow::{Context, bail};
use std::io::Write;
use std::path::Path;

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

pub fn load_or_create(path: &Path) -> anyhow::Result<[u8; 32]> {
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return parse_hex_key(&text).with_context(|| format!("in {}", path.display()));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let key = store::SecretBox::generate_key();
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
    Ok(key)
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
}
