//! The identification code of a purchase (ИКЗ), 36 digits, per Приказ Минфина № 55н:
//! year (2) + ИКУ (20) + purchase number (4) + order number (3, `000` in a plan)
//! + ОКПД2 first four digits (4, `0000` when undefined) + КВР (3, `000` when undefined).

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodeError {
    #[error(
        "Код ОКПД2 «{0}» некорректен: допустимы цифры и точки, не менее 4 цифр, не длиннее 12 символов (например, 38.11.21.000)"
    )]
    Okpd2(String),
    #[error("Код КВР «{0}» некорректен: требуется 3 цифры (например, 244)")]
    Kvr(String),
    #[error("Номер закупки должен быть от 0001 до 9999")]
    PurchaseNumber,
    #[error("Год размещения извещения {0} вне допустимого диапазона")]
    Year(i32),
    #[error("ИКУ должен состоять из 20 цифр")]
    Iku,
}

/// An ОКПД2 code in its dotted form, e.g. `38.11.21.000`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Okpd2Code(String);

impl Okpd2Code {
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let s = s.trim();
        let err = || CodeError::Okpd2(s.to_owned());
        if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(err());
        }
        if s.starts_with('.') || s.ends_with('.') || s.contains("..") {
            return Err(err());
        }
        if s.bytes().filter(u8::is_ascii_digit).count() < 4 {
            return Err(err());
        }
        Ok(Okpd2Code(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The first four digits, dots removed: ИКЗ digits 30–33.
    pub fn ikz_part(&self) -> String {
        self.0.chars().filter(char::is_ascii_digit).take(4).collect()
    }
}

/// A КВР code (вид расходов), exactly three digits, e.g. `244`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvrCode(String);

impl KvrCode {
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let s = s.trim();
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(KvrCode(s.to_owned()))
        } else {
            Err(CodeError::Kvr(s.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The purchase's number within its plan-schedule (ИКЗ digits 23–26).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PurchaseNumber(u16);

impl PurchaseNumber {
    pub fn new(n: u32) -> Result<Self, CodeError> {
        if (1..=9999).contains(&n) { Ok(PurchaseNumber(n as u16)) } else { Err(CodeError::PurchaseNumber) }
    }
    pub fn get(self) -> u16 {
        self.0
    }
    /// `0001`
    pub fn padded(self) -> String {
        format!("{:04}", self.0)
    }
}

/// Computes the 36-digit ИКЗ of a plan position.
pub fn compute(
    publish_year: i32,
    iku: &str,
    purchase_number: PurchaseNumber,
    okpd2: Option<&Okpd2Code>,
    kvr: Option<&KvrCode>,
) -> Result<String, CodeError> {
    if !(2000..=2099).contains(&publish_year) {
        return Err(CodeError::Year(publish_year));
    }
    if iku.len() != 20 || !iku.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CodeError::Iku);
    }
    let okpd = okpd2.map(Okpd2Code::ikz_part).unwrap_or_else(|| "0000".to_owned());
    let kvr = kvr.map(|k| k.as_str().to_owned()).unwrap_or_else(|| "000".to_owned());
    Ok(format!("{:02}{iku}{}000{okpd}{kvr}", publish_year % 100, purchase_number.padded()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_real_export() {
        // From the real ЕИС export: 23 27802139698780201001 0001 000 3811 244
        let ikz = compute(
            2023,
            "27802139698780201001",
            PurchaseNumber::new(1).unwrap(),
            Some(&Okpd2Code::parse("38.11.21.000").unwrap()),
            Some(&KvrCode::parse("244").unwrap()),
        )
        .unwrap();
        assert_eq!(ikz, "232780213969878020100100010003811244");
    }

    #[test]
    fn undefined_parts_are_zeros() {
        let ikz = compute(2023, "27802139698780201001", PurchaseNumber::new(6).unwrap(), None, None).unwrap();
        assert_eq!(ikz, "232780213969878020100100060000000000");
    }

    #[test]
    fn rejects_bad_codes() {
        assert!(Okpd2Code::parse("38.1").is_err(), "fewer than four digits");
        assert!(Okpd2Code::parse("38.11.21.0001").is_err(), "longer than 12");
        assert!(Okpd2Code::parse("38..11").is_err());
        assert!(Okpd2Code::parse("38.1a").is_err());
        assert!(KvrCode::parse("24").is_err());
        assert!(PurchaseNumber::new(0).is_err());
        assert!(PurchaseNumber::new(10000).is_err());
        assert_eq!(compute(2023, "123", PurchaseNumber::new(1).unwrap(), None, None), Err(CodeError::Iku));
    }

    proptest! {
        #[test]
        fn always_36_digits_and_decomposes(year in 2000i32..2100, iku in "[0-9]{20}", n in 1u32..10000,
                                          okpd in "[0-9]{2}\\.[0-9]{2}", kvr in "[0-9]{3}") {
            let okpd = Okpd2Code::parse(&okpd).unwrap();
            let kvr = KvrCode::parse(&kvr).unwrap();
            let ikz = compute(year, &iku, PurchaseNumber::new(n).unwrap(), Some(&okpd), Some(&kvr)).unwrap();
            prop_assert_eq!(ikz.len(), 36);
            prop_assert!(ikz.bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(&ikz[0..2], format!("{:02}", year % 100));
            prop_assert_eq!(&ikz[2..22], iku.as_str());
            prop_assert_eq!(&ikz[22..26], format!("{n:04}"));
            prop_assert_eq!(&ikz[26..29], "000");
            prop_assert_eq!(&ikz[29..33], okpd.ikz_part());
            prop_assert_eq!(&ikz[33..36], kvr.as_str());
        }
    }
}
