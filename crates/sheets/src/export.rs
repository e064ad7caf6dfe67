//! Writing .xlsx with `rust_xlsxwriter`: a plan's positions (the working copy or a version) and
//! the empty template of the import.

use crate::SheetError;
use crate::columns::{Col, HELP_SHEET, NO, RowKind, SHEET, TITLE_ROW, YES};
use domain::Money;
use domain::plan::{BudgetLine, CustomerSnapshot, PlanSnapshot, Position, PositionIndex, YearAmounts};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

impl From<XlsxError> for SheetError {
    fn from(e: XlsxError) -> SheetError {
        SheetError::Write(e.to_string())
    }
}

/// The number format of amounts. A file stores the format in the invariant notation (`,` groups
/// thousands, `.` separates the decimals); Excel and LibreOffice show it in the reader's locale,
/// which in Russian is `# ##0,00`: `1 234 567,89`.
const MONEY_FORMAT: &str = "#,##0.00";

struct Formats {
    title: Format,
    header: Format,
    column: Format,
    text: Format,
    wrapped: Format,
    money: Format,
    total_text: Format,
    total_money: Format,
}

impl Formats {
    fn new() -> Formats {
        let cell = Format::new().set_border(FormatBorder::Thin);
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            header: Format::new(),
            column: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_background_color(0xE8EEF7),
            text: cell.clone().set_num_format("@"),
            wrapped: cell.clone().set_text_wrap(),
            money: cell.clone().set_num_format(MONEY_FORMAT),
            total_text: cell.clone().set_bold(),
            total_money: cell.set_bold().set_num_format(MONEY_FORMAT),
        }
    }
}

/// The amount as a number of the sheet. Amounts have two decimals and stay far below 2^53
/// kopecks, so the double nearest to the decimal reads back as the same amount.
pub fn money_number(m: Money) -> f64 {
    m.canonical().parse().unwrap_or_default()
}

fn customer_line(customer: &CustomerSnapshot) -> String {
    format!("Заказчик: {}, ИНН {}, КПП {}", customer.name, customer.inn, customer.kpp)
}

/// The title rows, the column titles and widths, and the frozen pane below them.
fn sheet_head(ws: &mut Worksheet, f: &Formats, lines: [String; 3], plan_year: i32) -> Result<(), SheetError> {
    ws.set_name(SHEET)?;
    ws.write_string_with_format(0, 0, &lines[0], &f.title)?;
    ws.write_string_with_format(1, 0, &lines[1], &f.header)?;
    ws.write_string_with_format(2, 0, &lines[2], &f.header)?;
    for col in Col::ALL {
        ws.set_column_width(col.index(), col.width())?;
        ws.write_string_with_format(TITLE_ROW, col.index(), col.title(plan_year), &f.column)?;
    }
    ws.set_row_height(TITLE_ROW, 45)?;
    ws.set_freeze_panes(TITLE_ROW + 1, 0)?;
    Ok(())
}

/// One row of the positions sheet under construction.
struct RowWriter<'a> {
    ws: &'a mut Worksheet,
    f: &'a Formats,
    row: u32,
}

impl RowWriter<'_> {
    fn text(&mut self, col: Col, value: &str) -> Result<(), SheetError> {
        let format = if col == Col::Object || col == Col::ChangeDescription { &self.f.wrapped } else { &self.f.text };
        self.ws.write_string_with_format(self.row, col.index(), value, format)?;
        Ok(())
    }

    fn amounts(&mut self, a: &YearAmounts, total: bool) -> Result<(), SheetError> {
        let format = if total { &self.f.total_money } else { &self.f.money };
        for (col, m) in [
            (Col::Current, a.current),
            (Col::First, a.first),
            (Col::Second, a.second),
            (Col::Subsequent, a.subsequent),
            (Col::Total, a.total()),
        ] {
            self.ws.write_number_with_format(self.row, col.index(), money_number(m), format)?;
        }
        Ok(())
    }

    fn line(&mut self, kind: RowKind, line: &BudgetLine) -> Result<(), SheetError> {
        self.text(Col::Kind, kind.title())?;
        self.text(Col::LineCode, &line.code)?;
        self.amounts(&line.amounts, false)?;
        self.row += 1;
        Ok(())
    }

    fn position(
        &mut self,
        p: &Position,
        snapshot: &PlanSnapshot,
        base: Option<&PositionIndex<'_>>,
    ) -> Result<(), SheetError> {
        let yes_no = |b: bool| if b { YES } else { NO };
        self.text(Col::Kind, RowKind::Position.title())?;
        self.text(Col::Number, &p.purchase_number.padded())?;
        self.text(Col::Ikz, &p.ikz(snapshot.owner_iku()).map(String::from).unwrap_or_default())?;
        self.text(Col::Special, p.special.as_ref().map(|s| s.code.as_str()).unwrap_or_default())?;
        self.text(Col::Okpd2, &p.okpd2_text())?;
        self.text(Col::Kvr, p.kvr.as_ref().map(|k| k.as_str()).unwrap_or_default())?;
        self.text(Col::Object, &p.object_info)?;
        self.ws.write_number_with_format(
            self.row,
            Col::PublishYear.index(),
            f64::from(p.publish_year),
            &self.f.wrapped,
        )?;
        self.amounts(&p.amounts, false)?;
        self.text(Col::PublicDiscussion, yes_no(p.public_discussion))?;
        self.text(Col::EnergyService, yes_no(p.energy_service))?;
        if let Some(base) = base {
            self.text(Col::Mark, p.mark(base.get(p.purchase_number)).title())?;
        }
        if let Some(c) = &p.change {
            self.text(Col::ReasonCode, &c.reason_code)?;
            self.text(Col::ChangeDescription, &c.description)?;
        }
        self.text(Col::Canceled, if p.is_canceled() { YES } else { "" })?;
        self.row += 1;
        let org_type = snapshot.customer.org_type;
        let (kind, lines) =
            if org_type.uses_kbk() || !p.kbks.is_empty() { (RowKind::Kbk, &p.kbks) } else { (RowKind::Kvr, &p.kvrs) };
        for l in lines {
            self.line(kind, l)?;
        }
        for l in &p.target_articles {
            self.line(RowKind::TargetArticle, l)?;
        }
        Ok(())
    }
}

/// A plan's positions as an .xlsx: the title names the year, the customer and `edition` (the
/// version, or the working copy); one row per position (and per breakdown line), amounts as
/// numbers, codes and the ИКЗ as text, then the totals of the positions not cancelled. With
/// `base` (the version a change round or a version is compared with) each position gets its
/// change mark.
pub fn plan_workbook(
    snapshot: &PlanSnapshot,
    base: Option<&PlanSnapshot>,
    edition: &str,
) -> Result<Vec<u8>, SheetError> {
    let f = Formats::new();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let mut customer = customer_line(&snapshot.customer);
    if let Some(agent) = &snapshot.agent {
        customer.push_str(&format!("; размещает по соглашению: {}", agent.name));
    }
    let lines = [format!("План-график закупок на {} год", snapshot.plan_year), customer, edition.to_owned()];
    sheet_head(ws, &f, lines, snapshot.plan_year)?;
    let mut w = RowWriter { ws, f: &f, row: TITLE_ROW + 1 };
    let base = base.map(PlanSnapshot::index);
    for p in &snapshot.positions {
        w.position(p, snapshot, base.as_ref())?;
    }
    w.ws.write_string_with_format(w.row, Col::Kind.index(), RowKind::Total.title(), &f.total_text)?;
    let canceled = snapshot.positions.iter().filter(|p| p.is_canceled()).count();
    let what = match canceled {
        0 => format!("позиций: {}", snapshot.positions.len()),
        n => format!("позиций: {}, без отменённых ({n})", snapshot.positions.len() - n),
    };
    w.ws.write_string_with_format(w.row, Col::Object.index(), what, &f.total_text)?;
    w.amounts(&snapshot.totals(), true)?;
    Ok(wb.save_to_buffer()?)
}

/// The empty import template for a plan: the positions sheet with its titles (code columns
/// formatted as text) and a sheet of instructions with every column and examples of each kind
/// of row the customer's organization type takes.
pub fn template_workbook(plan_year: i32, customer: &CustomerSnapshot) -> Result<Vec<u8>, SheetError> {
    let f = Formats::new();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let lines = [
        format!("Загрузка позиций плана-графика на {plan_year} год"),
        customer_line(customer),
        format!(
            "Заполните строки ниже, начиная со строки {}; описание столбцов — на листе «{HELP_SHEET}»",
            TITLE_ROW + 2
        ),
    ];
    sheet_head(ws, &f, lines, plan_year)?;
    for col in Col::ALL {
        if col.is_code() {
            ws.set_column_format(col.index(), &Format::new().set_num_format("@"))?;
        }
    }
    let help = wb.add_worksheet();
    help.set_name(HELP_SHEET)?;
    help.set_column_width(0, 30)?;
    help.set_column_width(1, 100)?;
    help.write_string_with_format(0, 0, "Столбец", &f.column)?;
    help.write_string_with_format(0, 1, "Что указать", &f.column)?;
    let mut row = 1;
    for col in Col::ALL {
        help.write_string_with_format(row, 0, col.title(plan_year), &f.wrapped)?;
        help.write_string_with_format(row, 1, col.hint(), &f.wrapped)?;
        row += 1;
    }
    row += 1;
    let org_type = customer.org_type;
    let breakdown = if org_type.uses_kbk() {
        "Распределение по КБК: строки «КБК» сразу под строкой позиции, суммы строк по годам равны суммам позиции."
            .to_owned()
    } else if org_type.uses_kvr_breakdown() {
        "Распределение по КВР и по целевым статьям: строки «КВР» и «Целевая статья» сразу под строкой позиции; \
         без строк «КВР» весь объём относится к КВР позиции."
            .to_owned()
    } else {
        format!("Для организации типа {} распределение по КБК или КВР не указывается.", org_type.code())
    };
    for text in [
        "Строки с номером закупки изменяют позиции с этим номером; строки без номера добавляются как новые позиции. \
         Позиции, которых нет в файле, не изменяются и не отменяются."
            .to_owned(),
        breakdown,
        "Особая закупка: укажите код вида особой закупки и оставьте ОКПД2 пустым.".to_owned(),
        "Во время внесения изменений строка, которая изменяет позицию утверждённой версии, должна содержать причину \
         изменения и обоснование."
            .to_owned(),
        "Перед сохранением plangraf покажет проверку файла: ничего не сохраняется, пока вы не подтвердите загрузку."
            .to_owned(),
    ] {
        help.write_string_with_format(row, 1, text, &f.wrapped)?;
        row += 1;
    }
    Ok(wb.save_to_buffer()?)
}
