//! Pre-flight checks («проверка перед отправкой»): the rules ЕИС would apply, run before
//! submitting, approving and sending, each failure pinned to its position and field.

use crate::money::Money;
use crate::org::OrgType;
use crate::plan::{ChangeMark, PlanSnapshot, YearAmounts};
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Purchase number of the position concerned; `None` for the plan as a whole.
    pub purchase_number: Option<u16>,
    pub field: &'static str,
    pub message: String,
}

/// Above this amount a purchase must go through public discussion (ст. 20 44-ФЗ).
fn public_discussion_threshold() -> Money {
    Money::parse("1000000000").expect("constant")
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
    let base_index = base.map(PlanSnapshot::index);
    if let Some(b) = base {
        let now = plan.index();
        for old in &b.positions {
            if !now.contains(old.purchase_number) {
                out.push(Finding {
                    purchase_number: Some(old.purchase_number.get()),
                    field: "positions",
                    message: format!(
                        "Позиция {} утвержденной версии удалена: размещённую закупку можно только отменить",
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
            find(
                "purchase_number",
                format!("Номер закупки {} повторяется в плане-графике", p.purchase_number.padded()),
            );
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
        if let Err(e) = p.ikz(plan.owner_iku()) {
            find("ikz", format!("ИКЗ не может быть сформирован: {e}"));
        }
        let org_type = customer.org_type;
        if org_type.uses_kvr_breakdown() && p.kvr_breakdown(org_type).is_empty() {
            find(
                "kvr",
                "Для бюджетных и автономных учреждений КВР обязателен: укажите КВР или распределение по КВР".into(),
            );
        }
        if org_type == OrgType::Unitary && p.kvr.is_some() {
            find("kvr", "Для унитарного предприятия КВР должен быть «не определен»".into());
        }
        if !p.kbks.is_empty() && !org_type.uses_kbk() {
            find(
                "lines",
                format!(
                    "Распределение по КБК указывается только для организаций типов 01, 02 и 08, а не {}",
                    org_type.code()
                ),
            );
        }
        if !p.kvrs.is_empty() && !org_type.uses_kvr_breakdown() {
            find(
                "lines",
                format!(
                    "Распределение по КВР указывается только для организаций типов 03 и 10, а не {}",
                    org_type.code()
                ),
            );
        }
        if !p.target_articles.is_empty() && !org_type.uses_kvr_breakdown() {
            find(
                "target_lines",
                format!(
                    "Распределение по целевым статьям указывается только для организаций типов 03 и 10, а не {}",
                    org_type.code()
                ),
            );
        }
        for (field, name, lines) in [
            ("lines", "КБК", &p.kbks),
            ("lines", "КВР", &p.kvrs),
            ("target_lines", "целевым статьям", &p.target_articles),
        ] {
            if lines.is_empty() {
                continue;
            }
            let sum = lines.iter().fold(YearAmounts::default(), |acc, l| acc + l.amounts);
            let wrong = sum.mismatches(&p.amounts, plan.plan_year);
            if !wrong.is_empty() {
                find(
                    field,
                    format!(
                        "Сумма распределения по {name} не равна финансовому обеспечению позиции: {}",
                        wrong.join("; ")
                    ),
                );
            }
        }
        let distinct_kvrs: HashSet<&str> = p.kvrs.iter().map(|l| l.code.as_str()).collect();
        match &p.kvr {
            Some(k) if distinct_kvrs.len() > 1 => find(
                "kvr",
                format!(
                    "В распределении несколько КВР ({}): КВР позиции должен быть «не определен», а не {}",
                    distinct_kvrs.len(),
                    k.as_str()
                ),
            ),
            Some(k) if distinct_kvrs.len() == 1 && !distinct_kvrs.contains(k.as_str()) => {
                find("kvr", format!("КВР позиции {} не совпадает с КВР в распределении", k.as_str()))
            }
            _ => {}
        }
        if p.is_special() {
            if !p.okpd2.is_empty() {
                find("okpd2", "Для особой закупки ОКПД2 не указывается".into());
            }
            if p.energy_service {
                find("energy_service", "Признак энергосервисного контракта к особой закупке не относится".into());
            }
            if p.public_discussion {
                find("public_discussion", "Общественное обсуждение к особой закупке не относится".into());
            }
        } else if p.okpd2.is_empty() {
            find("okpd2", "Не указан код ОКПД2".into());
        }
        if p.public_discussion && !p.is_special() && p.publish_year != plan.plan_year {
            find(
                "public_discussion",
                format!(
                    "Общественное обсуждение указывается для закупок с извещением в {} году, а не в {}",
                    plan.plan_year, p.publish_year
                ),
            );
        }
        if !p.is_special()
            && !p.public_discussion
            && p.publish_year == plan.plan_year
            && p.amounts.total() > public_discussion_threshold()
        {
            find(
                "public_discussion",
                "Закупка дороже 1 млрд руб. подлежит обязательному общественному обсуждению (ст. 20 44-ФЗ): отметьте признак".into(),
            );
        }
        if p.amounts.total().is_zero() {
            find("amount_current", "Не указан объём финансового обеспечения".into());
        }
        let before = base_index.as_ref().and_then(|b| b.get(p.purchase_number));
        if p.mark(before) == ChangeMark::Edited && p.change.is_none() {
            find("change", "Позиция изменена: укажите причину изменения, решение и обоснование".into());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikz::KvrCode;
    use crate::money::Money;
    use crate::plan::{BudgetLine, Position, SpecialPurchase, YearAmounts};
    use crate::testing::{self, plan};

    /// The sample position with 100 ₽ in the current year.
    fn position(n: u32) -> Position {
        testing::position(n, "100")
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
        p2.change = Some(
            crate::plan::parse_change(
                "9",
                Some("Иные обстоятельства"),
                crate::plan::ChangeDecision::Changed,
                "Рост цен",
            )
            .unwrap(),
        );
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
        pl.customer.iku = None;
        assert_eq!(fields(&preflight_new(&pl)), ["ikz"]);
    }

    #[test]
    fn org_type_rules() {
        let mut p = position(1);
        p.kvr = None;
        assert_eq!(fields(&preflight_new(&plan(OrgType::Autonomous, vec![p]))), ["kvr"]);
        assert_eq!(fields(&preflight_new(&plan(OrgType::Unitary, vec![position(1)]))), ["kvr"]);
        let mut p = position(1);
        p.kbks = vec![BudgetLine { code: "07507021234567890244".into(), amounts: p.amounts }];
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![p.clone()]))), ["lines"]);
        assert!(preflight_new(&plan(OrgType::Treasury, vec![p.clone()])).is_empty());
        let mut k = position(1);
        k.kvrs = vec![BudgetLine { code: "244".into(), amounts: k.amounts }];
        assert_eq!(fields(&preflight_new(&plan(OrgType::Authority, vec![k.clone()]))), ["lines"]);
        assert!(preflight_new(&plan(OrgType::Budget, vec![k])).is_empty());
    }

    #[test]
    fn zero_financing_fails() {
        let mut p = position(1);
        p.amounts = YearAmounts::default();
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![p]))), ["amount_current"]);
    }

    fn money(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn breakdown_sums_must_match_financing() {
        let mut p = position(1);
        p.amounts = YearAmounts { current: money("100"), first: money("50"), ..Default::default() };
        p.kbks = vec![
            BudgetLine {
                code: "07507021234567890244".into(),
                amounts: YearAmounts { current: money("60"), first: money("50"), ..Default::default() },
            },
            BudgetLine {
                code: "07507021234567890247".into(),
                amounts: YearAmounts { current: money("40"), ..Default::default() },
            },
        ];
        assert!(preflight_new(&plan(OrgType::Authority, vec![p.clone()])).is_empty());
        p.kbks[1].amounts.current = money("39.99");
        let f = preflight_new(&plan(OrgType::Authority, vec![p]));
        assert_eq!(fields(&f), ["lines"]);
        assert!(f[0].message.contains("2026 год: 99,99 вместо 100,00"), "{}", f[0].message);
    }

    #[test]
    fn several_kvrs_make_the_position_kvr_undefined() {
        let mut p = position(1);
        let half = YearAmounts { current: money("50"), ..Default::default() };
        p.kvrs =
            vec![BudgetLine { code: "244".into(), amounts: half }, BudgetLine { code: "247".into(), amounts: half }];
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![p.clone()]))), ["kvr"]);
        p.kvr = None;
        assert!(preflight_new(&plan(OrgType::Budget, vec![p.clone()])).is_empty());
        // One code in the lines must be the position's КВР.
        p.kvrs = vec![BudgetLine { code: "247".into(), amounts: p.amounts }];
        p.kvr = Some(KvrCode::parse("244").unwrap());
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![p]))), ["kvr"]);
    }

    #[test]
    fn special_purchase_rules() {
        let mut s = position(6);
        s.special = Some(SpecialPurchase { code: "P4_1_93".into(), name: "п. 4 ч. 1 ст. 93".into() });
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![s.clone()]))), ["okpd2"]);
        s.okpd2.clear();
        assert!(preflight_new(&plan(OrgType::Budget, vec![position(1), s.clone()])).is_empty());
        // Purchase numbers are unique across ordinary and special positions.
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![position(6), s.clone()]))), ["purchase_number"]);
        s.energy_service = true;
        s.public_discussion = true;
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![s]))), ["energy_service", "public_discussion"]);
        let mut plain = position(1);
        plain.okpd2.clear();
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![plain]))), ["okpd2"]);
    }

    #[test]
    fn public_discussion_rules() {
        let mut p = position(1);
        p.public_discussion = true;
        assert!(preflight_new(&plan(OrgType::Budget, vec![p.clone()])).is_empty());
        p.publish_year = 2027;
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![p]))), ["public_discussion"]);
        let mut big = position(2);
        big.amounts.current = money("1000000000.01");
        assert_eq!(fields(&preflight_new(&plan(OrgType::Budget, vec![big.clone()]))), ["public_discussion"]);
        big.public_discussion = true;
        assert!(preflight_new(&plan(OrgType::Budget, vec![big.clone()])).is_empty());
        big.amounts.current = money("1000000000");
        big.public_discussion = false;
        assert!(preflight_new(&plan(OrgType::Budget, vec![big])).is_empty(), "exactly 1 bn is not above the threshold");
    }

    #[test]
    fn target_articles_only_for_budget_and_autonomous_and_summing_up() {
        let mut p = position(1);
        let half = YearAmounts { current: money("50"), ..Default::default() };
        p.target_articles = vec![
            BudgetLine { code: "0110100590".into(), amounts: half },
            BudgetLine { code: "01101S0590".into(), amounts: half },
        ];
        assert!(preflight_new(&plan(OrgType::Autonomous, vec![p.clone()])).is_empty());
        assert_eq!(fields(&preflight_new(&plan(OrgType::Authority, vec![p.clone()]))), ["target_lines"]);
        p.target_articles.pop();
        let f = preflight_new(&plan(OrgType::Budget, vec![p]));
        assert_eq!(fields(&f), ["target_lines"]);
        assert!(f[0].message.contains("по целевым статьям"), "{}", f[0].message);
    }
}
