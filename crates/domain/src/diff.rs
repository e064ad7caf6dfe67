//! Field-level differences between two versions of a plan-schedule, money deltas included.

use crate::money::Money;
use crate::plan::{PlanSnapshot, Position};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub after: String,
    /// `after − before` for money fields.
    pub delta: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PositionDiff {
    Added(Position),
    Removed(Position),
    Changed { number: String, object: String, changes: Vec<FieldChange> },
}

fn text(field: &'static str, before: String, after: String, out: &mut Vec<FieldChange>) {
    if before != after {
        out.push(FieldChange { field, before, after, delta: None });
    }
}

fn money(field: &'static str, before: Money, after: Money, out: &mut Vec<FieldChange>) {
    if before != after {
        out.push(FieldChange { field, before: before.to_string(), after: after.to_string(), delta: Some(after - before) });
    }
}

fn compare(a: &Position, b: &Position) -> Vec<FieldChange> {
    let mut out = Vec::new();
    text("Объект закупки", a.object_info.clone(), b.object_info.clone(), &mut out);
    text("Год размещения извещения", a.publish_year.to_string(), b.publish_year.to_string(), &mut out);
    text("ОКПД2", a.okpd2.as_str().into(), b.okpd2.as_str().into(), &mut out);
    let kvr = |p: &Position| p.kvr.as_ref().map(|k| k.as_str().to_owned()).unwrap_or_else(|| "не определен".into());
    text("КВР", kvr(a), kvr(b), &mut out);
    text("КБК", a.kbk.clone().unwrap_or_default(), b.kbk.clone().unwrap_or_default(), &mut out);
    money("Сумма, текущий год", a.amounts.current, b.amounts.current, &mut out);
    money("Сумма, первый год планового периода", a.amounts.first, b.amounts.first, &mut out);
    money("Сумма, второй год планового периода", a.amounts.second, b.amounts.second, &mut out);
    money("Сумма, последующие годы", a.amounts.subsequent, b.amounts.subsequent, &mut out);
    let yes_no = |v: bool| if v { "да" } else { "нет" }.to_owned();
    text("Общественное обсуждение", yes_no(a.public_discussion), yes_no(b.public_discussion), &mut out);
    text("Отменена", yes_no(a.is_canceled()), yes_no(b.is_canceled()), &mut out);
    out
}

/// What changed from `before` to `after`, by purchase number.
pub fn diff(before: &PlanSnapshot, after: &PlanSnapshot) -> Vec<PositionDiff> {
    let mut out = Vec::new();
    for b in &after.positions {
        match before.position(b.purchase_number) {
            None => out.push(PositionDiff::Added(b.clone())),
            Some(a) => {
                let changes = compare(a, b);
                if !changes.is_empty() {
                    out.push(PositionDiff::Changed { number: b.purchase_number.padded(), object: b.object_info.clone(), changes });
                }
            }
        }
    }
    for a in &before.positions {
        if after.position(a.purchase_number).is_none() {
            out.push(PositionDiff::Removed(a.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikz::{KvrCode, Okpd2Code, PurchaseNumber};
    use crate::org::OrgType;
    use crate::plan::{CustomerSnapshot, YearAmounts};

    fn position(n: u32, amount: &str) -> Position {
        Position {
            purchase_number: PurchaseNumber::new(n).unwrap(),
            publish_year: 2026,
            okpd2: Okpd2Code::parse("38.11.21.000").unwrap(),
            kvr: Some(KvrCode::parse("244").unwrap()),
            object_info: "Вывоз ТКО".into(),
            amounts: YearAmounts { current: Money::parse(amount).unwrap(), ..Default::default() },
            kbk: None,
            public_discussion: false,
            change: None,
        }
    }

    fn plan(positions: Vec<Position>) -> PlanSnapshot {
        PlanSnapshot {
            plan_year: 2026,
            customer: CustomerSnapshot {
                name: "x".into(),
                spz_code: "03722001001".into(),
                inn: "7801000011".into(),
                kpp: "780101001".into(),
                org_type: OrgType::Budget,
                iku: "27801000011780101001".into(),
            },
            positions,
        }
    }

    #[test]
    fn finds_added_removed_and_changed_with_deltas() {
        let before = plan(vec![position(1, "1000"), position(2, "500")]);
        let after = plan(vec![position(1, "800,50"), position(3, "10")]);
        let d = diff(&before, &after);
        assert_eq!(d.len(), 3);
        let PositionDiff::Changed { number, changes, .. } = &d[0] else { panic!("{d:?}") };
        assert_eq!(number, "0001");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].delta, Some(Money::ZERO - Money::parse("199,50").unwrap()));
        assert!(matches!(&d[1], PositionDiff::Added(p) if p.purchase_number.get() == 3));
        assert!(matches!(&d[2], PositionDiff::Removed(p) if p.purchase_number.get() == 2));
        assert!(diff(&after, &after).is_empty());
    }
}
