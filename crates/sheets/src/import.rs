//! Reading an import file into position drafts, bounded before anything is unpacked.
//!
//! An .xlsx is a ZIP archive. Before calamine opens it, the file's size is checked, then the
//! archive's central directory (read with the `zip` crate): the number of entries and the sum of
//! their declared unpacked sizes. The unpacking reader stops any entry at its declared size (the
//! `zip` crate enforces it), so a ZIP bomb is refused, not expanded. The sheet is then read as a
//! stream of cells (never as a rectangle: a single cell at XFD1048576 would make one of
//! 17 billion cells), keeping at most `Limits::rows` rows of the known columns, and every text is
//! held to `Limits::cell_chars`.
//!
//! The result is one [`SheetRow`] per position row: its draft (the same [`PositionDraft`] the
//! form and the API parse, so every rule and message is `domain`'s) with the rows of its
//! breakdown lines, the purchase number and justification as typed, and the problems found in
//! the cells themselves. [`SheetRow::place`] puts `domain`'s field errors on their cells.

use crate::columns::{Col, NO, RowKind, SHEET, YES};
use calamine::{DataRef, Reader, Xlsx};
use domain::OrgType;
use domain::plan::{FieldError, LineDraft, PositionDraft};
use std::collections::BTreeMap;
use std::io::Cursor;

/// The bounds of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The file as uploaded.
    pub file_bytes: usize,
    /// The sum of the archive entries' unpacked sizes.
    pub unpacked_bytes: u64,
    /// Entries in the archive (a workbook has a dozen or two).
    pub entries: usize,
    /// Rows below the column titles.
    pub rows: u32,
    /// Characters in one cell.
    pub cell_chars: usize,
}

impl Limits {
    pub const DEFAULT: Limits =
        Limits { file_bytes: 20 << 20, unpacked_bytes: 200 << 20, entries: 1000, rows: 10_000, cell_chars: 4000 };
}

/// Why a file cannot be read at all (as opposed to errors in its cells).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("Файл больше {} МБ: разделите его на несколько", .0 >> 20)]
    TooLarge(usize),
    #[error("Файл после распаковки больше {} МБ: такой файл не загружается", .0 >> 20)]
    TooLargeUnpacked(u64),
    #[error("Файл не похож на книгу Excel (.xlsx): сохраните его в формате «Книга Excel» и загрузите снова")]
    NotXlsx,
    #[error("Не удалось прочитать книгу Excel: {0}")]
    Unreadable(String),
    #[error("В книге нет листа «{SHEET}» или другого листа с позициями")]
    NoSheet,
    #[error("На листе не найдена строка заголовков со столбцом «Номер закупки»: загрузите файл по шаблону")]
    NoTitles,
    #[error("Нет столбца «{0}»: загрузите файл по шаблону этого плана-графика (столбцы сумм называют его годы)")]
    MissingColumn(String),
    #[error("В файле больше {0} строк: разделите его на несколько")]
    TooManyRows(u32),
    #[error("В файле нет ни одной позиции")]
    Empty,
}

/// A problem of one cell: its row as the spreadsheet numbers it, its column's title, and what
/// is wrong, in Russian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    pub row: u32,
    pub column: String,
    pub message: String,
}

/// One position as the file gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SheetRow {
    /// The row of the position, as the spreadsheet numbers it (from 1).
    pub row: u32,
    /// The purchase number as typed; empty for a new position.
    pub number: String,
    pub draft: PositionDraft,
    pub reason_code: String,
    pub change_description: String,
    /// The rows of the draft's `lines` and `target_lines`, in order.
    pub line_rows: Vec<u32>,
    pub target_rows: Vec<u32>,
    /// Problems of the cells themselves (a kind, a yes/no, a text too long …).
    pub errors: Vec<CellError>,
    /// A position row; otherwise a row that is only its errors (an unknown kind, a breakdown
    /// line with no position above it).
    pub position: bool,
    plan_year: i32,
}

impl SheetRow {
    pub fn error(&mut self, col: Col, message: impl Into<String>) {
        self.errors.push(CellError { row: self.row, column: col.title(self.plan_year), message: message.into() });
    }

    /// Puts `domain`'s field errors of the draft (or of the justification) on their cells: a
    /// breakdown line's error («Строка 2: …», numbered within its breakdown) on that line's row.
    pub fn place(&mut self, errors: &[FieldError]) {
        for e in errors {
            let (col, rows) = match e.field {
                "special_type" => (Col::Special, None),
                "publish_year" => (Col::PublishYear, None),
                "okpd2" => (Col::Okpd2, None),
                "kvr" => (Col::Kvr, None),
                "object_info" => (Col::Object, None),
                "amount_current" => (Col::Current, None),
                "amount_first" => (Col::First, None),
                "amount_second" => (Col::Second, None),
                "amount_subsequent" => (Col::Subsequent, None),
                "reason_code" => (Col::ReasonCode, None),
                "change_description" => (Col::ChangeDescription, None),
                "lines" => (Col::LineCode, Some(&self.line_rows)),
                "target_lines" => (Col::LineCode, Some(&self.target_rows)),
                _ => (Col::Kind, None),
            };
            let mut row = self.row;
            let mut message = e.message.clone();
            if let Some(rows) = rows {
                let numbered = rows.iter().enumerate().find_map(|(i, &r)| {
                    message.strip_prefix(&format!("Строка {}: ", i + 1)).map(|rest| (r, rest.to_owned()))
                });
                if let Some((r, rest)) = numbered {
                    row = r;
                    message = capitalized(&rest);
                }
            }
            self.errors.push(CellError { row, column: col.title(self.plan_year), message });
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A cell's value as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Text(String),
    Number(f64),
    Bool(bool),
    /// A value that is no text, number or yes/no (a date, an error), as the reader shows it.
    Other(String),
    /// A text longer than the limit (its length).
    TooLong(usize),
}

/// Checks the archive before it is unpacked: its size, its entries and their unpacked sizes.
pub(crate) fn check_archive(bytes: &[u8], limits: &Limits) -> Result<(), ReadError> {
    if bytes.len() > limits.file_bytes {
        return Err(ReadError::TooLarge(limits.file_bytes));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| ReadError::NotXlsx)?;
    if archive.len() > limits.entries {
        return Err(ReadError::TooLargeUnpacked(limits.unpacked_bytes));
    }
    let mut unpacked: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|_| ReadError::NotXlsx)?;
        unpacked = unpacked.saturating_add(entry.size());
        if unpacked > limits.unpacked_bytes {
            return Err(ReadError::TooLargeUnpacked(limits.unpacked_bytes));
        }
    }
    Ok(())
}

/// How far down the column titles are looked for.
const TITLE_SEARCH_ROWS: u32 = 30;
/// Characters of a text above the column titles that are kept.
const TITLE_CHARS: usize = 200;
/// Columns beyond this one are not read.
const MAX_COLUMNS: u32 = 64;

/// The cells of the sheet by row, bounded.
fn cells(bytes: &[u8], limits: &Limits) -> Result<BTreeMap<u32, BTreeMap<u32, Value>>, ReadError> {
    let unreadable = |e: calamine::XlsxError| ReadError::Unreadable(e.to_string());
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
    let names = wb.sheet_names();
    let name = names.iter().find(|n| n.as_str() == SHEET).or(names.first()).cloned().ok_or(ReadError::NoSheet)?;
    let mut reader = wb.worksheet_cells_reader(&name).map_err(unreadable)?;
    let mut rows: BTreeMap<u32, BTreeMap<u32, Value>> = BTreeMap::new();
    // The title row is among the first rows; everything counts from there.
    let mut title_row: Option<u32> = None;
    let number_title = Col::Number.title(0);
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let (row, col) = cell.get_position();
        if col >= MAX_COLUMNS {
            continue;
        }
        // Above the column titles texts only need to be recognized: they are cut, not refused.
        let head = title_row.is_none_or(|t| row <= t);
        let text = |s: &str| match head {
            true => Value::Text(s.chars().take(TITLE_CHARS).collect()),
            false => text(s, limits),
        };
        let value = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) => text(s),
            DataRef::SharedString(s) => text(s),
            DataRef::Int(i) => Value::Number(*i as f64),
            DataRef::Float(f) => Value::Number(*f),
            DataRef::Bool(b) => Value::Bool(*b),
            DataRef::DateTime(d) => Value::Other(format!("{}", d.as_f64())),
            DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Value::Other(s.chars().take(100).collect()),
            DataRef::Error(e) => Value::Other(e.to_string()),
        };
        if let Value::Text(s) = &value
            && title_row.is_none()
            && row < TITLE_SEARCH_ROWS
            && s.trim() == number_title
        {
            title_row = Some(row);
        }
        let last = title_row.unwrap_or(TITLE_SEARCH_ROWS);
        if row > last.saturating_add(limits.rows) {
            return Err(ReadError::TooManyRows(limits.rows));
        }
        rows.entry(row).or_default().insert(col, value);
    }
    Ok(rows)
}

pub(crate) fn text(s: &str, limits: &Limits) -> Value {
    // Counting stops past the limit: a long text is not counted to its end.
    match s.chars().take(limits.cell_chars + 1).count() {
        n if n > limits.cell_chars => Value::TooLong(s.chars().count()),
        _ => Value::Text(s.to_owned()),
    }
}

/// A number as text: whole numbers without decimals; money rounded to the kopeck when the number
/// is a binary approximation of one (`0.30000000000000004` from a formula is 0.30).
pub(crate) fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e18 {
        return format!("{}", f as i64);
    }
    let kopecks = (f * 100.0).round();
    if f.is_finite() && kopecks.abs() < 1e17 && ((f * 100.0) - kopecks).abs() < 1e-6 {
        let k = kopecks as i64;
        let sign = if k < 0 { "-" } else { "" };
        return format!("{sign}{}.{:02}", k.abs() / 100, k.abs() % 100);
    }
    format!("{f}")
}

/// Reads an import file for a plan of `plan_year` whose customer is of `org_type`: one
/// [`SheetRow`] per position row, with the problems of its cells.
pub fn read(bytes: &[u8], plan_year: i32, org_type: OrgType, limits: &Limits) -> Result<Vec<SheetRow>, ReadError> {
    check_archive(bytes, limits)?;
    let rows = cells(bytes, limits)?;
    let number_title = Col::Number.title(plan_year);
    let (&title_row, titles) = rows
        .iter()
        .take_while(|(r, _)| **r < TITLE_SEARCH_ROWS)
        .find(|(_, cells)| cells.values().any(|v| matches!(v, Value::Text(s) if s.trim() == number_title)))
        .ok_or(ReadError::NoTitles)?;
    let mut columns: Vec<(Col, u32)> = Vec::new();
    for col in Col::ALL.into_iter().filter(|c| c.imported()) {
        let title = col.title(plan_year);
        match titles.iter().find(|(_, v)| matches!(v, Value::Text(s) if s.trim() == title)) {
            Some((&index, _)) => columns.push((col, index)),
            None if col.required() => return Err(ReadError::MissingColumn(title)),
            None => {}
        }
    }
    let mut out: Vec<SheetRow> = Vec::new();
    // The position row that breakdown rows below it belong to.
    let mut current: Option<usize> = None;
    for (&r, cells) in rows.range(title_row + 1..) {
        let at = |col: Col| columns.iter().find(|(c, _)| *c == col).and_then(|(_, i)| cells.get(i));
        if columns.iter().all(|(_, i)| cells.get(i).is_none_or(|v| matches!(v, Value::Text(s) if s.trim().is_empty())))
        {
            continue;
        }
        let mut row = SheetRow { row: r + 1, plan_year, ..Default::default() };
        // Reads a column as text, noting what cannot be text.
        let get = |row: &mut SheetRow, col: Col| -> String {
            match at(col) {
                None => String::new(),
                Some(Value::Text(s)) => match domain::text::check(s) {
                    Ok(()) => s.clone(),
                    Err(message) => {
                        row.error(col, message);
                        String::new()
                    }
                },
                Some(Value::Number(f)) => number_text(*f),
                Some(Value::Bool(b)) => (if *b { YES } else { NO }).to_owned(),
                Some(Value::TooLong(n)) => {
                    row.error(col, format!("Текст длиннее {} символов ({n})", limits.cell_chars));
                    String::new()
                }
                Some(Value::Other(shown)) => {
                    row.error(col, format!("Ожидается текст или число, а в ячейке «{shown}»"));
                    String::new()
                }
            }
        };
        let kind_text = get(&mut row, Col::Kind);
        let Some(kind) = RowKind::parse(&kind_text) else {
            row.error(
                Col::Kind,
                format!(
                    "Неизвестный вид строки «{}»: укажите «Позиция», «КБК», «КВР» или «Целевая статья»",
                    kind_text.trim()
                ),
            );
            out.push(row);
            current = None;
            continue;
        };
        match kind {
            RowKind::Total => continue,
            RowKind::Position => {
                row.number = get(&mut row, Col::Number).trim().to_owned();
                row.draft = PositionDraft {
                    special_type: get(&mut row, Col::Special).trim().to_owned(),
                    publish_year: get(&mut row, Col::PublishYear),
                    okpd2: get(&mut row, Col::Okpd2),
                    kvr: get(&mut row, Col::Kvr),
                    object_info: get(&mut row, Col::Object),
                    amount_current: get(&mut row, Col::Current),
                    amount_first: get(&mut row, Col::First),
                    amount_second: get(&mut row, Col::Second),
                    amount_subsequent: get(&mut row, Col::Subsequent),
                    ..Default::default()
                };
                for (col, flag) in [(Col::PublicDiscussion, 0), (Col::EnergyService, 1)] {
                    let value = get(&mut row, col).trim().to_lowercase();
                    let set = match value.as_str() {
                        "" | NO => false,
                        YES => true,
                        _ => {
                            row.error(col, format!("Укажите «{YES}» или «{NO}», а не «{value}»"));
                            false
                        }
                    };
                    if flag == 0 {
                        row.draft.public_discussion = set;
                    } else {
                        row.draft.energy_service = set;
                    }
                }
                row.reason_code = get(&mut row, Col::ReasonCode).trim().to_owned();
                row.change_description = get(&mut row, Col::ChangeDescription);
                row.position = true;
                out.push(row);
                current = Some(out.len() - 1);
            }
            RowKind::Kbk | RowKind::Kvr | RowKind::TargetArticle => {
                let line = LineDraft {
                    code: get(&mut row, Col::LineCode).trim().to_owned(),
                    current: get(&mut row, Col::Current),
                    first: get(&mut row, Col::First),
                    second: get(&mut row, Col::Second),
                    subsequent: get(&mut row, Col::Subsequent),
                };
                let allowed = match kind {
                    RowKind::Kbk => org_type.uses_kbk(),
                    _ => org_type.uses_kvr_breakdown(),
                };
                let problem = if !allowed {
                    Some(format!(
                        "Для организации типа {} распределение «{}» не указывается",
                        org_type.code(),
                        kind.title()
                    ))
                } else if line.is_blank() {
                    Some("Строка распределения пуста: укажите код и суммы или удалите строку".to_owned())
                } else {
                    None
                };
                match (problem, current) {
                    (Some(message), Some(i)) => {
                        row.error(Col::Kind, message);
                        out[i].errors.append(&mut row.errors);
                    }
                    (Some(message), None) => {
                        row.error(Col::Kind, message);
                        out.push(row);
                    }
                    (None, None) => {
                        row.error(Col::Kind, "Строка распределения без строки позиции над ней");
                        out.push(row);
                    }
                    (None, Some(i)) => {
                        let p = &mut out[i];
                        p.errors.append(&mut row.errors);
                        if kind == RowKind::TargetArticle {
                            p.draft.target_lines.push(line);
                            p.target_rows.push(row.row);
                        } else {
                            p.draft.lines.push(line);
                            p.line_rows.push(row.row);
                        }
                    }
                }
            }
        }
    }
    if out.is_empty() {
        return Err(ReadError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_typed_text() {
        assert_eq!(number_text(2026.0), "2026");
        assert_eq!(number_text(1234567.89), "1234567.89");
        assert_eq!(number_text(0.1 + 0.2), "0.30");
        assert_eq!(number_text(10.5), "10.50");
        assert_eq!(number_text(-3.0), "-3");
        assert_eq!(number_text(0.001), "0.001", "more than two decimals is left for the money rule to refuse");
        assert!(domain::Money::parse(&number_text(0.001)).is_err());
        assert_eq!(number_text(f64::INFINITY), "inf");
    }
}
