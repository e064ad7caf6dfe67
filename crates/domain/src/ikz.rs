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
    #[error("ИКЗ должен состоять из 36 цифр")]
    Ikz,
}

/// Implements `Display` and the string conversions serde uses, so that deserializing goes
/// through `parse` like every other way in: stored data cannot bypass the checks.
macro_rules! string_code {
    ($t:ident, $err:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $t {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $t::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(c: $t) -> String {
                c.0
            }
        }
    };
}
pub(crate) use string_code;

/// An ОКПД2 code in its dotted form, e.g. `38.11.21.000`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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

string_code!(Okpd2Code, CodeError);

/// A КВР code (вид расходов), exactly three digits, e.g. `244`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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

string_code!(KvrCode, CodeError);

/// The purchase's number within its plan-schedule (ИКЗ digits 23–26).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32")]
pub struct PurchaseNumber(u16);

impl TryFrom<u32> for PurchaseNumber {
    type Error = CodeError;
    fn try_from(n: u32) -> Result<Self, CodeError> {
        PurchaseNumber::new(n)
    }
}

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

fn digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// Идентификационный код заказчика: budget level digit + INN (10) + KPP (9) = 20 digits.
/// Built by [`crate::org::iku`]; stored in version snapshots as its string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Iku(String);

impl Iku {
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let s = s.trim();
        if digits(s, 20) { Ok(Iku(s.to_owned())) } else { Err(CodeError::Iku) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_code!(Iku, CodeError);

/// Идентификационный код закупки: 36 digits, built by [`compute`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ikz(String);

impl Ikz {
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let s = s.trim();
        if digits(s, 36) { Ok(Ikz(s.to_owned())) } else { Err(CodeError::Ikz) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The customer's ИКУ inside the ИКЗ (digits 3–22).
    pub fn iku(&self) -> Iku {
        Iku(self.0[2..22].to_owned())
    }
}

string_code!(Ikz, CodeError);

/// Computes the 36-digit ИКЗ of a plan position; `None` for the ИКУ (an organization whose
/// INN and KPP cannot form one) is an error.
pub fn compute(
    publish_year: i32,
    iku: Option<&Iku>,
    purchase_number: PurchaseNumber,
    okpd2: Option<&Okpd2Code>,
    kvr: Option<&KvrCode>,
) -> Result<Ikz, CodeError> {
    if !(2000..=2099).contains(&publish_year) {
        return Err(CodeError::Year(publish_year));
    }
    let iku = iku.ok_or(CodeError::Iku)?;
    let okpd = okpd2.map(Okpd2Code::ikz_part).unwrap_or_else(|| "0000".to_owned());
    let kvr = kvr.map(|k| k.as_str().to_owned()).unwrap_or_else(|| "000".to_owned());
    Ok(Ikz(format!("{:02}{iku}{}000{okpd}{kvr}", publish_year % 100, purchase_number.padded())))
}

/// Serde for an optional ИКУ stored as a string, `""` meaning none: snapshots have always
/// written an organization without a valid ИКУ that way.
pub mod iku_or_empty {
    use super::Iku;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(iku: &Option<Iku>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(iku.as_ref().map(Iku::as_str).unwrap_or(""))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Iku>, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() { Ok(None) } else { Iku::parse(&s).map(Some).map_err(serde::de::Error::custom) }
    }
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
            Some(&Iku::parse("27802139698780201001").unwrap()),
            PurchaseNumber::new(1).unwrap(),
            Some(&Okpd2Code::parse("38.11.21.000").unwrap()),
            Some(&KvrCode::parse("244").unwrap()),
        )
        .unwrap();
        assert_eq!(ikz.as_str(), "232780213969878020100100010003811244");
        assert_eq!(ikz.iku().as_str(), "27802139698780201001");
    }

    #[test]
    fn undefined_parts_are_zeros() {
        let iku = Iku::parse("27802139698780201001").unwrap();
        let ikz = compute(2023, Some(&iku), PurchaseNumber::new(6).unwrap(), None, None).unwrap();
        assert_eq!(ikz.to_string(), "232780213969878020100100060000000000");
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
        assert_eq!(compute(2023, None, PurchaseNumber::new(1).unwrap(), None, None), Err(CodeError::Iku));
        assert_eq!(Iku::parse("123"), Err(CodeError::Iku));
        assert_eq!(Ikz::parse("23278021396987802010010001000381124"), Err(CodeError::Ikz));
    }

    #[test]
    fn deserializing_goes_through_parse() {
        let ok: Okpd2Code = serde_json::from_str(r#""38.11.21.000""#).unwrap();
        assert_eq!(serde_json::to_string(&ok).unwrap(), r#""38.11.21.000""#);
        assert!(serde_json::from_str::<Okpd2Code>(r#""38..1""#).is_err());
        assert!(serde_json::from_str::<KvrCode>(r#""24a""#).is_err());
        assert!(serde_json::from_str::<PurchaseNumber>("0").is_err());
        assert_eq!(serde_json::from_str::<PurchaseNumber>("12").unwrap(), PurchaseNumber::new(12).unwrap());
        assert!(serde_json::from_str::<Iku>(r#""2780213969878020100""#).is_err());
        let ikz = r#""232780213969878020100100010003811244""#;
        assert_eq!(serde_json::to_string(&serde_json::from_str::<Ikz>(ikz).unwrap()).unwrap(), ikz);
    }

    proptest! {
        #[test]
        fn always_36_digits_and_decomposes(year in 2000i32..2100, iku in "[0-9]{20}", n in 1u32..10000,
                                          okpd in "[0-9]{2}\\.[0-9]{2}", kvr in "[0-9]{3}") {
            let okpd = Okpd2Code::parse(&okpd).unwrap();
            let kvr = KvrCode::parse(&kvr).unwrap();
            let ikz = compute(year, Some(&Iku::parse(&iku).unwrap()), PurchaseNumber::new(n).unwrap(), Some(&okpd), Some(&kvr)).unwrap();
            let ikz = ikz.as_str();
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
