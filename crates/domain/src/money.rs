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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(#[serde(with = "rust_decimal::serde::str")] Decimal);

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

    /// Reads the canonical form written by [`Money::canonical`] (storage, XML).
    pub fn from_canonical(s: &str) -> Result<Money, MoneyError> {
        Money::parse(s)
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
