//! Pre-flight checks («проверка перед отправкой»): the rules ЕИС would apply, run before
//! submitting, approving and sending, each failure pinned to its position and field.

use crate::org::OrgType;
use crate::plan::{ChangeMark, PlanSnapshot};
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Purchase number of the position concerned; `None` for the plan as a whole.
    pub purchase_number: Option<u16>,
    pub field: &'static str,
    pub message: String,
}

/// Runs every rule over a plan's content; `base` is the version a change round started from.
/// An empty result means ЕИС has nothing to object to that plangraf can know in advance.
pub fn preflight(plan: &PlanSnapshot, base: Option<&PlanSnapshot>) -> Vec<Finding> {
    let mut out = Vec::new();
    let customer = &plan.customer;
    if plan.positions.is_empty() {
        out.push(Finding {
            purchase_number: None,
            field: "positions",
            message: "План-график не содержит ни одной позиции".into(),
        });
    }
    if let Some(b) = base {
        for old in &b.positions {
            if plan.position(old.purchase_number).is_none() {
                out.push(Finding {
                    purchase_number: Some(old.purchase_number.get()),
                    field: "positions",
                    message: format!(
                        "Позиция {} утверждённой версии удалена: размещённую закупку можно только отменить",
                        old.purchase_number.padded()
                    ),
                });
            }
        }
    }
    let mut seen = HashSet::new();
    for p in &plan.positions {
        let n = Some(p.purchase_number.get());
        let mut find = |field: &'static str, message: String| out.push(Finding { purchase_number: n, field, message });
        if !seen.insert(p.purchase_number) {
            find("purchase_number", format!("Номер закупки {} повторяется в плане-графике", p.purchase_number.padded()));
        }
        if p.publish_year < plan.plan_year || p.publish_year > plan.plan_year + 2 {
            find(
                "publish_year",
                format!(
                    "Год размещения извещения {} должен входить в период плана-графика {}–{}",
                    p.publish_year,
                    plan.plan_year,
                    plan.plan_year + 2
                ),
            );
        }
        if let Err(e) = p.ikz(&customer.iku) {
            find("ikz", format!("ИКЗ не может быть сформирован: {e}"));
        }
        if customer.org_type.uses_kvr_breakdown() && p.kvr.is_none() {
            find("kvr", "Для бюджетных и автономных учреждений КВР обязателен".into());
        }
        if customer.org_type == OrgType::Unitary && p.kvr.is_some() {
            find("kvr", "Для унитарного предприятия КВР должен быть «не определен»".into());
        }
        if p.kbk.is_some() && !customer.org_type.uses_kbk() {
            find("kbk", "КБК указывается только для организаций типов 01, 02 и 08".into());
        }
        if p.amounts.total().is_zero() {
            find("amount_current", "Не указан объём финансового обеспечения".into());
        }
        let before = base.and_then(|b| b.position(p.purchase_number));
        if p.mark(before) == ChangeMark::Edited && p.change.is_none() {
            find("change", "Позиция изменена: укажите причину изменения, решение и обоснование".into());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikz::{KvrCode, Okpd2Code, PurchaseNumber};
    use crate::money::Money;
    use crate::plan::{CustomerSnapshot, Position, YearAmounts};

    fn position(n: u32) -> Position {
        Position {
            purchase_number: PurchaseNumber::new(n).unwrap(),
            publish_year: 2026,
            okpd2: Okpd2Code::parse("38.11.21.000").unwrap(),
            kvr: Some(KvrCode::parse("244").unwrap()),
            object_info: "Вывоз ТКО".into(),
            amounts: YearAmounts { current: Money::parse("100").unwrap(), ..Default::default() },
            kbk: None,
            public_discussion: false,
            change: None,
        }
    }

    fn plan(org_type: OrgType, positions: Vec<Position>) -> PlanSnapshot {
        PlanSnapshot {
            plan_year: 2026,
            customer: CustomerSnapshot {
                name: "ГБОУ «Школа № 1»".into(),
                spz_code: "03722001684".into(),
                inn: "7802139698".into(),
                kpp: "780201001".into(),
                org_type,
                iku: "27802139698780201001".into(),
            },
            positions,
        }
    }

    fn preflight_new(p: &PlanSnapshot) -> Vec<Finding> {
        preflight(p, None)
    }

    #[test]
    fn edited_position_needs_a_reason() {
        let base = plan(OrgType::Budget, vec![position(1), position(2)]);
        let mut p2 = position(2);
        p2.amounts.current = Money::parse("200").unwrap();
        let changed = plan(OrgType::Budget, vec![position(1), p2.clone()]);
        let f = preflight(&changed, Some(&base));
        assert_eq!(fields(&f), ["change"]);
        assert_eq!(f[0].purchase_number, Some(2));
        p2.change = Some(crate::plan::parse_change("9", crate::plan::ChangeDecision::Changed, "Рост цен").unwrap());
        assert!(preflight(&plan(OrgType::Budget, vec![position(1), p2]), Some(&base)).is_empty());
        // Unchanged positions need nothing; a new one neither.
        assert!(preflight(&plan(OrgType::Budget, vec![position(1), position(2), position(3)]), Some(&base)).is_empty());
    }

    #[test]
    fn placed_position_cannot_disappear() {
        let base = plan(OrgType::Budget, vec![position(1), position(2)]);
        let f = preflight(&plan(OrgType::Budget, vec![position(1)]), Some(&base));
        assert_eq!(fields(&f), ["positions"]);
    }

    fn fields(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.field).collect()
    }

    #[test]
    fn clean_plan_passes() {
        assert!(preflight_new(&plan(OrgType::Budget, vec![position(1), position(2)])).is_empty());
    }

    #[test]
    fn empty_plan_fails() {
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![]))), ["positions"]);
    }

    #[test]
    fn duplicate_numbers_fail() {
        let f = preflight_new(&plan(OrgType::Budget, vec![position(1), position(1)]));
        assert_eq!(fields(&f), ["purchase_number"]);
        assert_eq!(f[0].purchase_number, Some(1));
    }

    #[test]
    fn publish_year_outside_period_fails() {
        let mut p = position(1);
        p.publish_year = 2030;
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![p]))), ["publish_year"]);
    }

    #[test]
    fn bad_iku_fails() {
        let mut pl = plan(OrgType::Budget, vec![position(1)]);
        pl.customer.iku = "123".into();
        assert_eq!(fields(&preflight_new(&pl)), ["ikz"]);
    }

    #[test]
    fn org_type_rules() {
        let mut p = position(1);
        p.kvr = None;
        assert_eq!(fields(&preflight_new(&plan(OrgType::Autonomous, vec![p]))), ["kvr"]);
        assert_eq!(fields(&preflight_new(&plan(OrgType::Unitary, vec![position(1)]))), ["kvr"]);
        let mut p = position(1);
        p.kbk = Some("07507021234567890244".into());
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![p.clone()]))), ["kbk"]);
        assert!(preflight_new(&plan(OrgType::Treasury, vec![p])).is_empty());
    }

    #[test]
    fn zero_financing_fails() {
        let mut p = position(1);
        p.amounts = YearAmounts::default();
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![p]))), ["amount_current"]);
    }
}
