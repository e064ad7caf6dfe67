//! A secret (the ЕИС password) that cannot be printed by accident: no `Display`, no
//! `Serialize`, a `Debug` that shows only a redaction. Reading it takes an explicit
//! [`Secret::expose`], so every place that needs the plaintext says so.

use serde::{Deserialize, Deserializer};
use std::fmt;

#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The plaintext, for the few places that must send or seal it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<скрыто>)")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

/// A form field or a JSON string can be read straight into a secret.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_show_the_secret() {
        let s = Secret::new("p@ssw0rd-ЕИС");
        let shown = format!("{s:?} {s:#?} {:?}", Some(&s));
        assert!(!shown.contains("p@ssw0rd"), "{shown}");
        assert!(shown.contains("скрыто"));
        assert_eq!(s.expose(), "p@ssw0rd-ЕИС");
        let read: Secret = serde_json::from_str(r#""x1""#).unwrap();
        assert_eq!(read.expose(), "x1");
    }
}
