//! The export read back with calamine; the import's rules (in `import`'s own tests).

use crate::columns::{Col, RowKind, SHEET, TITLE_ROW};
use crate::{plan_workbook, template_workbook};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use domain::Money;
use domain::OrgType;
use domain::plan::{BudgetLine, ChangeDecision, PlanSnapshot, Position, PositionChange, SpecialPurchase, YearAmounts};
use std::io::Cursor;

pub(crate) fn money(s: &str) -> Money {
    Money::parse(s).expect("an amount")
}

pub(crate) fn amounts(current: &str, first: &str) -> YearAmounts {
    YearAmounts { current: money(current), first: money(first), ..Default::default() }
}

/// A budget school's plan with an ordinary position broken down by КВР and target article, a
/// special purchase, and a cancelled position with its justification.
pub(crate) fn sample() -> PlanSnapshot {
    let mut broken = domain::testing::position(1, "1 234 567,89");
    broken.amounts = amounts("1 234 567,89", "10,01");
    broken.kvr = None;
    broken.kvrs = vec![
        BudgetLine { code: "244".into(), amounts: amounts("1 000 000", "10,01") },
        BudgetLine { code: "247".into(), amounts: amounts("234 567,89", "0") },
    ];
    broken.target_articles = vec![BudgetLine { code: "01101S0590".into(), amounts: broken.amounts }];
    broken.public_discussion = true;
    let mut special = domain::testing::position(2, "50 000");
    special.special = Some(SpecialPurchase { code: "P4_1_93".into(), name: "п. 4 ч. 1 ст. 93".into() });
    special.okpd2 = vec![];
    special.object_info = String::new();
    let mut canceled = domain::testing::position(3, "0,99");
    canceled.energy_service = true;
    canceled.change = Some(PositionChange {
        reason_code: "9".into(),
        reason_name: "Возникновение иных обстоятельств".into(),
        decision: ChangeDecision::Canceled,
        description: "Закупка не нужна".into(),
    });
    domain::testing::plan(OrgType::Budget, vec![broken, special, canceled])
}

pub(crate) fn open(bytes: &[u8]) -> calamine::Range<Data> {
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("an xlsx calamine reads");
    wb.worksheet_range(SHEET).expect("the positions sheet")
}

fn cell(r: &calamine::Range<Data>, row: u32, col: Col) -> Data {
    r.get_value((row, u32::from(col.index()))).cloned().unwrap_or(Data::Empty)
}

fn number(r: &calamine::Range<Data>, row: u32, col: Col) -> f64 {
    match cell(r, row, col) {
        Data::Float(f) => f,
        other => panic!("row {row} {col:?}: a number expected, found {other:?}"),
    }
}

fn text(r: &calamine::Range<Data>, row: u32, col: Col) -> String {
    match cell(r, row, col) {
        Data::String(s) => s,
        Data::Empty => String::new(),
        other => panic!("row {row} {col:?}: text expected, found {other:?}"),
    }
}

fn as_number(m: Money) -> f64 {
    m.canonical().parse().expect("a decimal")
}

#[test]
fn the_export_reads_back_with_numbers_as_numbers_and_codes_as_text() {
    let plan = sample();
    let bytes = plan_workbook(&plan, None, "Версия 2, утверждена 01.02.2026 10:00").unwrap();
    let r = open(&bytes);
    let title = |row| text(&r, row, Col::Kind);
    assert!(title(0).contains(&plan.plan_year.to_string()), "{}", title(0));
    assert!(title(1).contains(&plan.customer.name) && title(1).contains(plan.customer.inn.as_str()), "{}", title(1));
    assert!(title(2).contains("Версия 2"));
    for col in Col::ALL {
        assert_eq!(text(&r, TITLE_ROW, col), col.title(plan.plan_year));
    }
    // The rows: position 1, its two КВР lines and one target article, the special purchase,
    // the cancelled one, the totals.
    let first = TITLE_ROW + 1;
    let kinds: Vec<String> = (first..first + 7).map(|row| text(&r, row, Col::Kind)).collect();
    assert_eq!(kinds, ["Позиция", "КВР", "КВР", "Целевая статья", "Позиция", "Позиция", "Итого"]);
    let p = &plan.positions[0];
    assert_eq!(text(&r, first, Col::Number), "0001");
    let ikz = p.ikz(plan.owner_iku()).unwrap().to_string();
    assert_eq!(text(&r, first, Col::Ikz), ikz, "the ИКЗ is a text cell, leading digits and all");
    assert_eq!(number(&r, first, Col::Current), as_number(p.amounts.current));
    assert_eq!(number(&r, first, Col::First), as_number(p.amounts.first));
    assert_eq!(number(&r, first, Col::Total), as_number(p.amounts.total()));
    assert_eq!(number(&r, first, Col::PublishYear), f64::from(p.publish_year));
    assert_eq!(text(&r, first + 1, Col::LineCode), "244");
    assert_eq!(number(&r, first + 2, Col::Current), as_number(p.kvrs[1].amounts.current));
    assert_eq!(text(&r, first + 3, Col::LineCode), "01101S0590");
    assert_eq!(text(&r, first + 4, Col::Special), "P4_1_93");
    assert_eq!(text(&r, first + 4, Col::Okpd2), "");
    assert_eq!(text(&r, first + 5, Col::Canceled), "да");
    assert_eq!(text(&r, first + 5, Col::ReasonCode), "9");
    assert_eq!(text(&r, first + 5, Col::ChangeDescription), "Закупка не нужна");
    // The totals leave out the cancelled position and equal the sum of the others' cells.
    let totals = first + 6;
    for col in [Col::Current, Col::First, Col::Second, Col::Subsequent, Col::Total] {
        let summed: f64 = [first, first + 4].iter().map(|&row| number(&r, row, col)).sum();
        assert!((number(&r, totals, col) - summed).abs() < 0.005, "{col:?}");
    }
    assert_eq!(number(&r, totals, Col::Current), as_number(plan.totals().current));
    assert_ne!(plan.totals(), plan.positions.iter().fold(YearAmounts::default(), |a, p| a + p.amounts));
}

#[test]
fn the_export_marks_changes_against_the_base() {
    let base = sample();
    let mut now = base.clone();
    now.positions[1].amounts.current = money("60 000");
    now.positions.push(domain::testing::position(4, "1"));
    let r = open(&plan_workbook(&now, Some(&base), "Рабочая копия").unwrap());
    let mark_of = |number: &str| {
        let row = (TITLE_ROW + 1..TITLE_ROW + 20).find(|&row| text(&r, row, Col::Number) == number).unwrap();
        text(&r, row, Col::Mark)
    };
    assert_eq!(mark_of("0001"), "Без изменений");
    assert_eq!(mark_of("0002"), "Изменена");
    assert_eq!(mark_of("0003"), "Изменена", "cancelled");
    assert_eq!(mark_of("0004"), "Новая");
    let without_base = open(&plan_workbook(&now, None, "Рабочая копия").unwrap());
    assert_eq!(text(&without_base, TITLE_ROW + 1, Col::Mark), "");
}

#[test]
fn the_template_has_every_column_and_instructions() {
    let plan = sample();
    let bytes = template_workbook(2027, &plan.customer).unwrap();
    let r = open(&bytes);
    for col in Col::ALL {
        assert_eq!(text(&r, TITLE_ROW, col), col.title(2027));
    }
    assert_eq!(r.end().map(|(row, _)| row), Some(TITLE_ROW), "no rows below the titles");
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let help = wb.worksheet_range(crate::columns::HELP_SHEET).unwrap();
    let all: String = help.rows().flatten().map(|c| c.to_string()).collect::<Vec<_>>().join("\n");
    for col in Col::ALL {
        assert!(all.contains(&col.title(2027)), "{col:?}");
    }
    assert!(all.contains("КВР") && all.contains("Целевая статья"), "a budget school's breakdowns are explained");
    assert!(RowKind::parse(RowKind::Total.title()).is_some());
}

#[test]
fn money_numbers_are_exact_to_the_kopeck() {
    for s in ["0,01", "1 234 567,89", "999 999 999 999,99", "0,10"] {
        let m = money(s);
        let back = Money::parse(&format!("{}", crate::export::money_number(m))).unwrap();
        assert_eq!(back, m, "{s}");
    }
    let _: &[Position] = &sample().positions;
}
