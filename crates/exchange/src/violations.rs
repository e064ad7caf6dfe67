//! Turning ЕИС's confirmations into send states and their violations into what the status
//! page shows.

use domain::SendStatus;
use eis::reply::{Confirmation, ConfirmationResult, ViolationLevel};

/// The errCode with which ЕИС (as eis-sandbox documents it in docs/SANDBOX.md) refuses a plan
/// whose period already has a plan-schedule created directly in ЕИС.
pub const PLAN_CREATED_IN_EIS: &str = "PLAN_EIS";

/// A violation as the status page shows it, pinned to the position and field it concerns.
#[derive(Debug, Clone)]
pub struct ViolationView {
    pub code: String,
    pub level: &'static str,
    pub name: String,
    pub description: String,
    /// Purchase number (`0001`) of the position concerned, when the violation names one.
    pub position: Option<String>,
    /// The field of plangraf's form the violation is about.
    pub field: &'static str,
}

/// Which field an errCode concerns (codes as docs/SANDBOX.md documents them).
fn field_of(code: &str) -> &'static str {
    match code {
        "OKPD2_LEN" | "IKZ_OKPD2" => "Код ОКПД2",
        "IKZ_KVR" => "Код КВР",
        "IKZ_YEAR" => "Год размещения извещения",
        "IKZ_NUM" | "POS_DUP" => "Номер закупки",
        c if c.starts_with("IKZ") => "ИКЗ",
        "ORG_CUST" | "ORG_OWNER" => "Заказчик (код по СПЗ, ИНН, КПП)",
        "POS_NONE" => "Позиции плана-графика",
        "XSD" | "XML_READ" => "Пакет целиком",
        _ => "План-график",
    }
}

/// The purchase number a violation's text names: «номером закупки 0001» or «Номер закупки 0001».
fn position_in(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let at = lower
        .find("номером закупки ")
        .map(|i| i + "номером закупки ".len())
        .or_else(|| lower.find("номер закупки ").map(|i| i + "номер закупки ".len()))?;
    let digits: String = lower[at..].chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 4).then_some(digits)
}

/// Violations in a raw ЕИС reply (empty when the reply is no confirmation).
pub fn violations_in(raw: &str) -> Vec<ViolationView> {
    let Ok(c) = eis::reply::read_confirmation(raw) else { return vec![] };
    c.violations
        .into_iter()
        .map(|v| ViolationView {
            field: field_of(&v.err_code),
            code: v.err_code,
            level: match v.level {
                ViolationLevel::Error => "Ошибка",
                ViolationLevel::Warning => "Предупреждение",
            },
            position: v.description.as_deref().and_then(position_in),
            name: v.name,
            description: v.description.unwrap_or_default(),
        })
        .collect()
}

/// The send state a confirmation leads to, and the timeline line for it.
pub(crate) fn classify(c: &Confirmation) -> (SendStatus, String) {
    match c.result {
        ConfirmationResult::Processing => (SendStatus::Processing, "ЕИС приняла пакет и обрабатывает его".into()),
        ConfirmationResult::Success => {
            (SendStatus::Loaded, "ЕИС загрузила план-график в личный кабинет заказчика как проект".into())
        }
        ConfirmationResult::Failure => {
            if c.violations.iter().any(|v| v.err_code == PLAN_CREATED_IN_EIS) {
                (SendStatus::Conflict, SendStatus::Conflict.title().into())
            } else {
                let n = c.violations.len();
                (SendStatus::Rejected, format!("ЕИС отклонила план-график: ошибок {n}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_pinned_to_positions_and_fields() {
        assert_eq!(
            position_in("Позиция с номером закупки 0002 (внешний номер plangraf-1-0002): ИКЗ …").as_deref(),
            Some("0002")
        );
        assert_eq!(position_in("Номер закупки 0007 указан в 2 позициях").as_deref(), Some("0007"));
        assert_eq!(position_in("План-график на этот период создан в ЕИС"), None);
        assert_eq!(field_of("IKZ_IKU"), "ИКЗ");
        assert_eq!(field_of("IKZ_OKPD2"), "Код ОКПД2");
        assert_eq!(field_of("POS_DUP"), "Номер закупки");
        assert_eq!(field_of("PLAN_EIS"), "План-график");
    }
}
