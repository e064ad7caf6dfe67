//! Money: exact decimals with at most two fraction digits, as ЕИС's money type
//! `(-)?\d{1,18}(\.\d{1,2})?`. Never floats.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("Сумма не указана")]
    Empty,
    #[error("«{0}» не является суммой: допустимы цифры, пробелы между разрядами и не более двух знаков после запятой")]
    Invalid(String),
    #[error("Сумма не может быть отрицательной")]
    Negative,
    #[error("Сумма слишком велика: не более 18 цифр до запятой")]
    TooLarge,
}

/// Serialized as its decimal string (`"1000.5"`, `"0"`, as `Decimal` writes it); read back
/// only through [`Money::from_canonical`], so stored data gets the same checks as input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Money(Decimal);

impl From<Money> for String {
    fn from(m: Money) -> String {
        m.0.to_string()
    }
}

impl TryFrom<String> for Money {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Money, MoneyError> {
        Money::from_canonical(&s)
    }
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses what a Russian user types: `1 234 567,89`, `1234567.89`, `100`.
    /// Spaces (including no-break spaces) between digit groups are allowed.
    pub fn parse(input: &str) -> Result<Money, MoneyError> {
        let cleaned: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
            .map(|c| if c == ',' { '.' } else { c })
            .collect();
        if cleaned.is_empty() {
            return Err(MoneyError::Empty);
        }
        let invalid = || MoneyError::Invalid(input.trim().to_owned());
        let unsigned = cleaned.strip_prefix('-').unwrap_or(&cleaned);
        let (int, frac) = match unsigned.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (unsigned, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        if let Some(f) = frac
            && (f.is_empty() || f.len() > 2 || !f.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid());
        }
        if int.trim_start_matches('0').len() > 18 {
            return Err(MoneyError::TooLarge);
        }
        if cleaned.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let d = Decimal::from_str(&cleaned).map_err(|_| invalid())?;
        Ok(Money(d.round_dp(2)))
    }

    /// Reads the machine form written by [`Money::canonical`] and by serialization (storage,
    /// XML): `-?\d{1,18}(\.\d{1,2})?`, nothing else — no spaces, no comma. Negative values
    /// are accepted here because differences (deltas between versions) are money too; user
    /// input goes through [`Money::parse`], which refuses them.
    pub fn from_canonical(s: &str) -> Result<Money, MoneyError> {
        let invalid = || MoneyError::Invalid(s.to_owned());
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        let unsigned = s.strip_prefix('-').unwrap_or(s);
        let (int, frac) = unsigned.split_once('.').map_or((unsigned, None), |(i, f)| (i, Some(f)));
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f) || f.len() > 2) {
            return Err(invalid());
        }
        if int.trim_start_matches('0').len() > 18 {
            return Err(MoneyError::TooLarge);
        }
        Decimal::from_str(s).map(Money).map_err(|_| invalid())
    }

    pub fn from_decimal(d: Decimal) -> Money {
        Money(d.round_dp(2))
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// `1234567.89` with exactly two fraction digits, as ЕИС and storage expect.
    pub fn canonical(self) -> String {
        format!("{:.2}", self.0)
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

/// Russian display: `1 234 567,89` with no-break spaces between groups.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::format::group_digits_ru(&self.canonical()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_russian_input() {
        assert_eq!(Money::parse("1 234 567,89").unwrap().canonical(), "1234567.89");
        assert_eq!(Money::parse("1\u{a0}000").unwrap().canonical(), "1000.00");
        assert_eq!(Money::parse("0.5").unwrap().canonical(), "0.50");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        assert!(matches!(Money::parse("12,345"), Err(MoneyError::Invalid(_))));
        assert!(matches!(Money::parse("abc"), Err(MoneyError::Invalid(_))));
        assert!(matches!(Money::parse("1e5"), Err(MoneyError::Invalid(_))));
        assert_eq!(Money::parse("-5"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("1234567890123456789"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn displays_russian() {
        assert_eq!(Money::parse("1234567.8").unwrap().to_string(), "1\u{a0}234\u{a0}567,80");
        assert_eq!(Money::parse("999").unwrap().to_string(), "999,00");
    }

    #[test]
    fn deserializing_reads_the_stored_form_only() {
        // What serialization wrote before and writes now: `Decimal`'s own string.
        for stored in ["0", "10.5", "1000.50", "999999999999999999.99", "-5.00"] {
            let m: Money = serde_json::from_str(&format!("\"{stored}\"")).unwrap();
            assert_eq!(m.decimal(), Decimal::from_str(stored).unwrap());
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{stored}\""));
        }
        for bad in ["", "1 000", "1,5", "1.005", "1e5", "abc", "1234567890123456789", "10."] {
            assert!(serde_json::from_str::<Money>(&format!("\"{bad}\"")).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Money>("10").is_err(), "a number was never stored");
    }

    proptest! {
        #[test]
        fn canonical_round_trips(kopecks in 0i64..=999_999_999_999_999_999) {
            let m = Money::from_decimal(Decimal::new(kopecks, 2));
            prop_assert_eq!(Money::from_canonical(&m.canonical()).unwrap(), m);
            prop_assert_eq!(Money::parse(&m.to_string()).unwrap(), m);
        }

        #[test]
        fn sums_are_exact(a in 0i64..1_000_000_000, b in 0i64..1_000_000_000) {
            let sum = Money::from_decimal(Decimal::new(a, 2)) + Money::from_decimal(Decimal::new(b, 2));
            prop_assert_eq!(sum.decimal(), Decimal::new(a + b, 2));
        }
    }
}
