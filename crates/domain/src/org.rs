//! Organizations: their ЕИС identifiers and the organization type that decides which finance
//! blocks a position carries.

use crate::ikz::{Iku, string_code};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrgFieldError {
    #[error("Код по СПЗ должен состоять из 11 цифр")]
    Spz,
    #[error("ИНН должен состоять из 10 или 12 цифр")]
    Inn,
    #[error("КПП должен состоять из 9 символов (цифры и заглавные латинские буквы)")]
    Kpp,
    #[error("Неизвестный тип организации «{0}»: допустимы 01, 02, 03, 05, 08, 10")]
    OrgType(String),
    #[error("Уровень бюджета должен быть 1 (федеральный), 2 (субъекта РФ) или 3 (муниципальный)")]
    BudgetLevel,
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Код организации по Сводному перечню заказчиков (ЕИС `regNum`): exactly 11 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SpzCode(String);

impl SpzCode {
    pub fn parse(s: &str) -> Result<Self, OrgFieldError> {
        let s = s.trim();
        if s.len() == 11 && all_digits(s) { Ok(SpzCode(s.to_owned())) } else { Err(OrgFieldError::Spz) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_code!(SpzCode, OrgFieldError);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Inn(String);

impl Inn {
    pub fn parse(s: &str) -> Result<Self, OrgFieldError> {
        let s = s.trim();
        if (s.len() == 10 || s.len() == 12) && all_digits(s) { Ok(Inn(s.to_owned())) } else { Err(OrgFieldError::Inn) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_code!(Inn, OrgFieldError);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Kpp(String);

impl Kpp {
    /// KPP positions 5–6 may hold capital Latin letters (ФНС order ММВ-7-6/435@).
    pub fn parse(s: &str) -> Result<Self, OrgFieldError> {
        let s = s.trim();
        let ok = s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if ok { Ok(Kpp(s.to_owned())) } else { Err(OrgFieldError::Kpp) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_code!(Kpp, OrgFieldError);

/// Organization type as ЕИС classifies customers; it decides which finance breakdown a
/// position carries (eis-protocol.md §5, rule 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrgType {
    /// 01 — органы государственной власти, органы местного самоуправления
    Authority,
    /// 02 — органы управления государственными внебюджетными фондами
    ExtraBudgetFund,
    /// 03 — бюджетное учреждение
    Budget,
    /// 05 — унитарное предприятие
    Unitary,
    /// 08 — казённое учреждение
    Treasury,
    /// 10 — автономное учреждение
    Autonomous,
}

impl OrgType {
    pub const ALL: [OrgType; 6] = [
        OrgType::Authority,
        OrgType::ExtraBudgetFund,
        OrgType::Budget,
        OrgType::Unitary,
        OrgType::Treasury,
        OrgType::Autonomous,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OrgType::Authority => "01",
            OrgType::ExtraBudgetFund => "02",
            OrgType::Budget => "03",
            OrgType::Unitary => "05",
            OrgType::Treasury => "08",
            OrgType::Autonomous => "10",
        }
    }

    pub fn parse(code: &str) -> Result<OrgType, OrgFieldError> {
        OrgType::ALL
            .into_iter()
            .find(|t| t.code() == code.trim())
            .ok_or_else(|| OrgFieldError::OrgType(code.trim().to_owned()))
    }

    pub fn title(self) -> &'static str {
        match self {
            OrgType::Authority => "Орган власти",
            OrgType::ExtraBudgetFund => "Орган управления внебюджетным фондом",
            OrgType::Budget => "Бюджетное учреждение",
            OrgType::Unitary => "Унитарное предприятие",
            OrgType::Treasury => "Казённое учреждение",
            OrgType::Autonomous => "Автономное учреждение",
        }
    }

    /// КБК breakdown per year is allowed for 01, 02 and 08.
    pub fn uses_kbk(self) -> bool {
        matches!(self, OrgType::Authority | OrgType::ExtraBudgetFund | OrgType::Treasury)
    }

    /// КВР breakdown per year is mandatory for 03 and 10 and forbidden for the others.
    pub fn uses_kvr_breakdown(self) -> bool {
        matches!(self, OrgType::Budget | OrgType::Autonomous)
    }

    /// Unitary enterprises must leave the КВР undefined («не определен»).
    pub fn kvr_must_be_undefined(self) -> bool {
        matches!(self, OrgType::Unitary)
    }
}

/// Идентификационный код заказчика: budget level digit + INN (10) + KPP (9) = 20 digits.
pub fn iku(budget_level: u8, inn: &Inn, kpp: &Kpp) -> Result<Iku, OrgFieldError> {
    if !(1..=3).contains(&budget_level) {
        return Err(OrgFieldError::BudgetLevel);
    }
    if inn.as_str().len() != 10 || !all_digits(kpp.as_str()) {
        // A 12-digit INN (individuals) or a lettered KPP cannot form the 20-digit ИКУ.
        return Err(OrgFieldError::Inn);
    }
    Iku::parse(&format!("{budget_level}{}{}", inn.as_str(), kpp.as_str())).map_err(|_| OrgFieldError::Inn)
}

/// The longest full and short names an organization takes, in characters.
pub const MAX_NAME_CHARS: usize = 2000;
pub const MAX_SHORT_NAME_CHARS: usize = 500;

/// ОКТМО: 8 or 11 digits.
pub fn check_oktmo(s: &str) -> Result<(), String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("Укажите код ОКТМО.".into());
    }
    if matches!(s.len(), 8 | 11) && all_digits(s) {
        Ok(())
    } else {
        Err("Код ОКТМО должен состоять из 8 или 11 цифр.".into())
    }
}

/// A full or short name: not empty, at most `max` characters, no forbidden characters.
pub fn check_name(s: &str, what: &str, max: usize) -> Result<(), String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(format!("Укажите {what}."));
    }
    if s.chars().count() > max {
        return Err(format!("{} не длиннее {max} символов.", capitalized(what)));
    }
    crate::text::check(s)
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// The ИКУ of an organization from its budget level, ИНН and КПП, checked against the one typed
/// (empty: nothing typed, the computed one is taken). The message names what to fix.
pub fn check_iku(budget_level: u8, inn: &Inn, kpp: &Kpp, typed: &str) -> Result<Iku, String> {
    let computed = iku(budget_level, inn, kpp).map_err(|e| match e {
        OrgFieldError::BudgetLevel => e.to_string(),
        _ => "ИКУ не складывается: для него нужны ИНН из 10 цифр и КПП из 9 цифр.".into(),
    })?;
    let typed = typed.trim();
    if typed.is_empty() || typed == computed.as_str() {
        Ok(computed)
    } else {
        Err(format!(
            "ИКУ «{typed}» не соответствует уровню бюджета, ИНН и КПП: должен быть {}. Оставьте поле пустым, чтобы он заполнился сам.",
            computed.as_str()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spz_must_be_eleven_digits() {
        assert!(SpzCode::parse("03722001684").is_ok());
        assert_eq!(SpzCode::parse("0372200168"), Err(OrgFieldError::Spz));
        assert_eq!(SpzCode::parse("0372200168a"), Err(OrgFieldError::Spz));
    }

    #[test]
    fn org_type_codes() {
        for t in OrgType::ALL {
            assert_eq!(OrgType::parse(t.code()), Ok(t));
        }
        assert!(OrgType::parse("04").is_err());
        assert!(OrgType::Budget.uses_kvr_breakdown() && !OrgType::Budget.uses_kbk());
        assert!(OrgType::Treasury.uses_kbk() && !OrgType::Treasury.uses_kvr_breakdown());
        assert!(OrgType::Unitary.kvr_must_be_undefined());
    }

    #[test]
    fn iku_matches_real_example() {
        // The real ЕИС export carries ИКУ 27802139698780201001.
        let inn = Inn::parse("7802139698").unwrap();
        let kpp = Kpp::parse("780201001").unwrap();
        assert_eq!(iku(2, &inn, &kpp).unwrap().as_str(), "27802139698780201001");
        assert_eq!(iku(4, &inn, &kpp), Err(OrgFieldError::BudgetLevel));
    }

    #[test]
    fn inn_and_kpp() {
        assert!(Inn::parse("780213969812").is_ok());
        assert!(Inn::parse("78021396").is_err());
        assert!(Kpp::parse("7802AB001").is_ok());
        assert!(Kpp::parse("78020100").is_err());
    }

    #[test]
    fn deserializing_goes_through_parse() {
        assert_eq!(serde_json::from_str::<Inn>(r#""7802139698""#).unwrap(), Inn::parse("7802139698").unwrap());
        assert!(serde_json::from_str::<Inn>(r#""78021396""#).is_err());
        assert!(serde_json::from_str::<Kpp>(r#""78020100a""#).is_err());
        assert!(serde_json::from_str::<SpzCode>(r#""0372200168""#).is_err());
        let spz = SpzCode::parse("03722001684").unwrap();
        assert_eq!(serde_json::to_string(&spz).unwrap(), r#""03722001684""#);
    }

    #[test]
    fn oktmo_names_and_iku_checks() {
        assert!(check_oktmo("40000000").is_ok() && check_oktmo("40301000001").is_ok());
        assert!(check_oktmo("4030100").unwrap_err().contains("8 или 11 цифр"));
        assert!(check_oktmo("4030100a").is_err());
        assert_eq!(check_oktmo(" ").unwrap_err(), "Укажите код ОКТМО.");
        assert!(check_name("Школа", "краткое наименование", 10).is_ok());
        assert_eq!(check_name("", "краткое наименование", 10).unwrap_err(), "Укажите краткое наименование.");
        assert!(
            check_name("Школа № 1000", "краткое наименование", 10)
                .unwrap_err()
                .starts_with("Краткое наименование не длиннее 10")
        );
        assert!(check_name("Шко\u{1}ла", "краткое наименование", 10).is_err());
        let (inn, kpp) = (Inn::parse("7802139698").unwrap(), Kpp::parse("780201001").unwrap());
        assert_eq!(check_iku(2, &inn, &kpp, "").unwrap().as_str(), "27802139698780201001");
        assert_eq!(check_iku(2, &inn, &kpp, "27802139698780201001").unwrap().as_str(), "27802139698780201001");
        assert!(
            check_iku(3, &inn, &kpp, "27802139698780201001").unwrap_err().contains("должен быть 37802139698780201001")
        );
        let lettered = Kpp::parse("7802AB001").unwrap();
        assert!(check_iku(2, &inn, &lettered, "").unwrap_err().contains("КПП из 9 цифр"));
        assert!(check_iku(4, &inn, &kpp, "").unwrap_err().contains("Уровень бюджета"));
    }
}
