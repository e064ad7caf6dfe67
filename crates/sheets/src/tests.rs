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
    let now_cancelled = sample();
    // The base has purchase 0003 not yet cancelled: it is cancelled in this round.
    let mut base = now_cancelled.clone();
    for p in base.positions.iter_mut().filter(|p| p.purchase_number.get() == 3) {
        p.change = None;
    }
    let mut now = now_cancelled;
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
    // Cancelled in an earlier round and still cancelled: unchanged, as ЕИС keeps it.
    let r = open(&plan_workbook(&now, Some(&now), "Рабочая копия").unwrap());
    let row = (TITLE_ROW + 1..TITLE_ROW + 20).find(|&row| text(&r, row, Col::Number) == "0003").unwrap();
    assert_eq!(text(&r, row, Col::Mark), "Без изменений");
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

mod import {
    use super::{money, sample};
    use crate::columns::{Col, SHEET};
    use crate::{CellError, Limits, ReadError, SheetRow, plan_workbook, read};
    use domain::OrgType;
    use domain::ikz::PurchaseNumber;
    use domain::plan::{Position, SpecialPurchase};
    use rust_xlsxwriter::Workbook;

    /// What a cell gets in a hand-made file.
    enum In {
        T(&'static str),
        N(f64),
        B(bool),
    }

    /// A file with the column titles of 2026 on its first row and these rows below.
    fn file(rows: &[Vec<(Col, In)>]) -> Vec<u8> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name(SHEET).unwrap();
        for col in Col::ALL {
            ws.write_string(0, col.index(), col.title(2026)).unwrap();
        }
        for (i, cells) in rows.iter().enumerate() {
            let r = i as u32 + 1;
            for (col, v) in cells {
                match v {
                    In::T(s) => ws.write_string(r, col.index(), *s).unwrap(),
                    In::N(n) => ws.write_number(r, col.index(), *n).unwrap(),
                    In::B(b) => ws.write_boolean(r, col.index(), *b).unwrap(),
                };
            }
        }
        wb.save_to_buffer().unwrap()
    }

    fn p4() -> Option<SpecialPurchase> {
        Some(SpecialPurchase { code: "P4_1_93".into(), name: "п. 4 ч. 1 ст. 93".into() })
    }

    /// Parses a row as the workflow does, with the special purchase kind «found in НСИ».
    fn parsed(row: &SheetRow, org_type: OrgType) -> Result<Position, Vec<domain::plan::FieldError>> {
        let number = PurchaseNumber::new(row.number.parse().unwrap_or(1)).unwrap();
        let special = (row.draft.special_type == "P4_1_93").then(p4).flatten();
        row.draft.parse(number, org_type, special)
    }

    /// A file the fuzzer made: a cell reference of many letters overflowed calamine's column
    /// arithmetic. It is refused or read, never a panic.
    #[test]
    fn a_cell_reference_past_every_column_is_not_a_panic() {
        let bytes = include_bytes!("../testdata/cell-reference-overflow.xlsx");
        for org_type in [OrgType::Budget, OrgType::Authority] {
            match read(bytes, 2026, org_type, &Limits::DEFAULT) {
                Ok(rows) => assert!(rows.len() <= Limits::DEFAULT.rows as usize),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn an_exported_plan_imports_as_the_same_positions() {
        let plan = sample();
        let bytes = plan_workbook(&plan, None, "Версия 1").unwrap();
        let rows = read(&bytes, plan.plan_year, plan.customer.org_type, &Limits::DEFAULT).unwrap();
        assert_eq!(rows.len(), plan.positions.len());
        for (row, p) in rows.iter().zip(&plan.positions) {
            assert!(row.errors.is_empty(), "{:?}", row.errors);
            assert_eq!(row.number, p.purchase_number.padded());
            let mut back = parsed(row, plan.customer.org_type).unwrap();
            back.special = back.special.map(|s| SpecialPurchase { name: p.special.clone().unwrap().name, ..s });
            assert_eq!(back, Position { change: None, ..p.clone() });
            if let Some(c) = &p.change {
                assert_eq!(
                    (row.reason_code.as_str(), row.change_description.as_str()),
                    (c.reason_code.as_str(), c.description.as_str())
                );
            }
        }
        assert_eq!(rows[0].line_rows.len(), 2, "the КВР lines");
        assert_eq!(rows[0].target_rows.len(), 1);
    }

    #[test]
    fn bad_cells_get_russian_messages_on_their_cells() {
        use In::*;
        let bytes = file(&[
            // Row 2: a wrong year, a wrong ОКПД2, an amount in words, a yes/no in Latin.
            vec![
                (Col::Okpd2, T("38.11.21.0000")),
                (Col::Kvr, N(244.0)),
                (Col::Object, T("Вывоз\u{1b}ТКО")),
                (Col::PublishYear, N(26.0)),
                (Col::Current, T("сто рублей")),
                (Col::First, N(10.001)),
                (Col::EnergyService, T("yes")),
                (Col::PublicDiscussion, B(true)),
            ],
            // Row 3: its КВР line with a two-digit code; row 4 a line of a kind the type does not take.
            vec![(Col::Kind, T("КВР")), (Col::LineCode, T("24")), (Col::Current, N(1.0))],
            vec![(Col::Kind, T("КБК")), (Col::LineCode, T("07507021234567890244")), (Col::Current, N(1.0))],
            // Row 5: an unknown kind; row 6 a correct position.
            vec![(Col::Kind, T("Позиция!"))],
            vec![
                (Col::Okpd2, T("38.11.21.000")),
                (Col::Kvr, T("244")),
                (Col::Object, T("Вывоз ТКО")),
                (Col::PublishYear, T("2026")),
                (Col::Current, T("1 000,50")),
            ],
        ]);
        let mut rows = read(&bytes, 2026, OrgType::Budget, &Limits::DEFAULT).unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows[0].draft.public_discussion, "a true cell is «да»");
        let field_errors = parsed(&rows[0], OrgType::Budget).unwrap_err();
        rows[0].place(&field_errors);
        let at = |errors: &[CellError], row: u32, col: Col| -> Vec<String> {
            errors.iter().filter(|e| e.row == row && e.column == col.title(2026)).map(|e| e.message.clone()).collect()
        };
        let e = &rows[0].errors;
        assert!(at(e, 2, Col::PublishYear)[0].contains("четырьмя цифрами"), "{e:?}");
        assert!(at(e, 2, Col::Okpd2)[0].contains("ОКПД2"), "{e:?}");
        assert!(at(e, 2, Col::Current)[0].contains("сто рублей"), "{e:?}");
        assert_eq!(at(e, 2, Col::First).len(), 1, "more than two decimals: {e:?}");
        assert!(at(e, 2, Col::EnergyService)[0].contains("«да» или «нет»"), "{e:?}");
        assert!(at(e, 2, Col::Object)[0].contains("U+001B"), "{e:?}");
        assert!(at(e, 3, Col::LineCode)[0].starts_with("Код КВР должен состоять из 3 цифр"), "{e:?}");
        assert!(at(e, 4, Col::Kind)[0].contains("типа 03"), "{e:?}");
        assert!(!rows[1].position && at(&rows[1].errors, 5, Col::Kind)[0].contains("Неизвестный вид строки"));
        assert!(rows[2].errors.is_empty() && rows[2].position);
        let good = parsed(&rows[2], OrgType::Budget).unwrap();
        assert_eq!(good.amounts.current, money("1000,50"));
    }

    #[test]
    fn a_file_of_another_year_or_shape_is_refused_whole() {
        let bytes = plan_workbook(&sample(), None, "Версия 1").unwrap();
        assert_eq!(
            read(&bytes, 2027, OrgType::Budget, &Limits::DEFAULT),
            Err(ReadError::MissingColumn(Col::Second.title(2027))),
            "the 2026 file has the 2027 and 2028 columns, not 2029's"
        );
        assert_eq!(read(b"not a zip", 2026, OrgType::Budget, &Limits::DEFAULT), Err(ReadError::NotXlsx));
        let empty = file(&[]);
        assert_eq!(read(&empty, 2026, OrgType::Budget, &Limits::DEFAULT), Err(ReadError::Empty));
    }

    #[test]
    fn sizes_and_rows_are_bounded() {
        let bytes = plan_workbook(&sample(), None, "Версия 1").unwrap();
        let limits = Limits::DEFAULT;
        let small = |l: Limits| read(&bytes, 2026, OrgType::Budget, &l);
        assert!(matches!(small(Limits { file_bytes: bytes.len() - 1, ..limits }), Err(ReadError::TooLarge(_))));
        assert!(small(Limits { file_bytes: bytes.len(), ..limits }).is_ok());
        assert!(matches!(small(Limits { unpacked_bytes: 10_000, ..limits }), Err(ReadError::TooLargeUnpacked(_))));
        assert!(matches!(small(Limits { entries: 3, ..limits }), Err(ReadError::TooLargeUnpacked(_))));
        // Six rows below the titles: positions, lines and the totals row.
        assert_eq!(small(Limits { rows: 5, ..limits }), Err(ReadError::TooManyRows(5)));
        assert!(small(Limits { rows: 7, ..limits }).is_ok());
        let long = small(Limits { cell_chars: 5, ..limits }).unwrap();
        assert!(
            long[0].errors.iter().any(|e| e.message.starts_with("Текст длиннее 5 символов")),
            "{:?}",
            long[0].errors
        );
    }

    /// A ZIP whose directory understates an entry's unpacked size (the trick of a ZIP bomb that
    /// passes a check of declared sizes) fails while unpacking, at the declared size.
    #[test]
    fn an_entry_larger_than_declared_is_not_unpacked() {
        let mut bytes = plan_workbook(&sample(), None, "Версия 1").unwrap();
        let name = b"xl/worksheets/sheet1.xml";
        let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut patched = 0;
        for i in 0..bytes.len().saturating_sub(46) {
            let (size_at, name_len_at, name_at) = match u32_at(&bytes, i) {
                0x0201_4b50 => (i + 24, i + 28, i + 46),
                0x0403_4b50 => (i + 22, i + 26, i + 30),
                _ => continue,
            };
            let len = usize::from(u16::from_le_bytes([bytes[name_len_at], bytes[name_len_at + 1]]));
            if bytes.get(name_at..name_at + len) == Some(&name[..]) && u32_at(&bytes, size_at) > 0 {
                bytes[size_at..size_at + 4].copy_from_slice(&100u32.to_le_bytes());
                patched += 1;
            }
        }
        assert!(patched >= 1, "the sheet's entry found");
        match read(&bytes, 2026, OrgType::Budget, &Limits::DEFAULT) {
            Err(ReadError::Unreadable(_)) => {}
            other => panic!("an entry past its declared size must fail: {other:?}"),
        }
    }
}
