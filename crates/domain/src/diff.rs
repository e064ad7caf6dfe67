//! Field-level differences between two versions of a plan-schedule, money deltas included.

use crate::money::Money;
use crate::plan::{BudgetLine, PlanSnapshot, Position, YearAmounts};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
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

fn text(field: &str, before: String, after: String, out: &mut Vec<FieldChange>) {
    if before != after {
        out.push(FieldChange { field: field.to_owned(), before, after, delta: None });
    }
}

fn money(field: &str, before: Money, after: Money, out: &mut Vec<FieldChange>) {
    if before != after {
        out.push(FieldChange {
            field: field.to_owned(),
            before: before.to_string(),
            after: after.to_string(),
            delta: Some(after - before),
        });
    }
}

fn years(prefix: &str, a: &YearAmounts, b: &YearAmounts, out: &mut Vec<FieldChange>) {
    money(&format!("{prefix}текущий год"), a.current, b.current, out);
    money(&format!("{prefix}первый год планового периода"), a.first, b.first, out);
    money(&format!("{prefix}второй год планового периода"), a.second, b.second, out);
    money(&format!("{prefix}последующие годы"), a.subsequent, b.subsequent, out);
}

/// Breakdown lines compared by code: a line that appears or disappears compares with zeros.
fn lines(name: &str, a: &[BudgetLine], b: &[BudgetLine], out: &mut Vec<FieldChange>) {
    let mut codes: Vec<&str> = a.iter().chain(b).map(|l| l.code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let find = |v: &[BudgetLine], c: &str| v.iter().find(|l| l.code == c).map(|l| l.amounts).unwrap_or_default();
    for code in codes {
        years(&format!("{name} {code}, "), &find(a, code), &find(b, code), out);
    }
}

fn compare(a: &Position, b: &Position) -> Vec<FieldChange> {
    let mut out = Vec::new();
    text("Объект закупки", a.object_info.clone(), b.object_info.clone(), &mut out);
    text("Год размещения извещения", a.publish_year.to_string(), b.publish_year.to_string(), &mut out);
    let kind = |p: &Position| {
        p.special.as_ref().map(|s| format!("особая закупка {}", s.code)).unwrap_or_else(|| "обычная".into())
    };
    text("Вид позиции", kind(a), kind(b), &mut out);
    text("ОКПД2", a.okpd2_text(), b.okpd2_text(), &mut out);
    text("КВР", a.kvr_text().into(), b.kvr_text().into(), &mut out);
    years("Сумма, ", &a.amounts, &b.amounts, &mut out);
    lines("КБК", &a.kbks, &b.kbks, &mut out);
    lines("КВР", &a.kvrs, &b.kvrs, &mut out);
    lines("Целевая статья", &a.target_articles, &b.target_articles, &mut out);
    let yes_no = |v: bool| if v { "да" } else { "нет" }.to_owned();
    text("Общественное обсуждение", yes_no(a.public_discussion), yes_no(b.public_discussion), &mut out);
    text("Энергосервисный контракт", yes_no(a.energy_service), yes_no(b.energy_service), &mut out);
    text("Отменена", yes_no(a.is_canceled()), yes_no(b.is_canceled()), &mut out);
    out
}

/// What changed from `before` to `after`, by purchase number.
pub fn diff(before: &PlanSnapshot, after: &PlanSnapshot) -> Vec<PositionDiff> {
    let mut out = Vec::new();
    let (before_index, after_index) = (before.index(), after.index());
    for b in &after.positions {
        match before_index.get(b.purchase_number) {
            None => out.push(PositionDiff::Added(b.clone())),
            Some(a) => {
                let changes = compare(a, b);
                if !changes.is_empty() {
                    out.push(PositionDiff::Changed { number: b.purchase_number.padded(), object: b.title(), changes });
                }
            }
        }
    }
    for a in &before.positions {
        if !after_index.contains(a.purchase_number) {
            out.push(PositionDiff::Removed(a.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::OrgType;
    use crate::testing::{self, position};

    fn plan(positions: Vec<Position>) -> PlanSnapshot {
        testing::plan(OrgType::Budget, positions)
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

    #[test]
    fn breakdown_lines_compare_by_code() {
        let line = |code: &str, amount: &str| BudgetLine {
            code: code.into(),
            amounts: YearAmounts { current: Money::parse(amount).unwrap(), ..Default::default() },
        };
        let mut a = position(1, "100");
        a.kvrs = vec![line("244", "100")];
        let mut b = a.clone();
        b.kvrs = vec![line("244", "70"), line("247", "30")];
        let d = diff(&plan(vec![a]), &plan(vec![b]));
        let PositionDiff::Changed { changes, .. } = &d[0] else { panic!("{d:?}") };
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["КВР 244, текущий год", "КВР 247, текущий год"]);
        assert_eq!(changes[0].delta, Some(Money::ZERO - Money::parse("30").unwrap()));
        assert_eq!(changes[1].before, "0,00");
    }
}
