//! The table a region is onboarded from: organizations and their users, one row per
//! organization or per user (or both in one row), as .xlsx or CSV, with its template.
//!
//! A row names an organization by its СПЗ code. When the organization's columns (names, ИНН,
//! КПП, type, level, ОКТМО, superior) are filled, the row describes the organization; when the
//! login is filled, the row describes a user of that organization, who may be described by
//! another row or be in plangraf already. Checking the values is the workflow's (`app`): here
//! the file is only read, bounded, into the texts of its cells, with the problems of the cells
//! themselves (a text too long, a character that is not text).
//!
//! - An .xlsx is checked before it is unpacked as the import of positions is
//!   (`import::check_archive`), and read as a stream of cells.
//! - A CSV is UTF-8 (with or without a BOM) or, when it is not valid UTF-8, Windows-1251 (what
//!   Excel saves in Russian Windows); fields are separated by `;`, `,` or a tab, whichever the
//!   title row has most of; quotes follow RFC 4180 (a field in `"…"` may hold separators, line
//!   breaks and `""`).
//! - The titles are looked for in the first rows; every column of [`RosterCol::ALL`] must be
//!   there (case and «ё» aside); other columns are ignored.

use crate::import::{Value, check_archive, number_text, text};
use crate::{CellError, Limits, ReadError, SheetError};
use calamine::{DataRef, Reader, Xlsx};
use rust_xlsxwriter::{Format, FormatBorder, Workbook};
use std::collections::BTreeMap;
use std::io::Cursor;

/// A column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RosterCol {
    Spz,
    FullName,
    ShortName,
    Inn,
    Kpp,
    OrgType,
    Level,
    Oktmo,
    SuperiorSpz,
    Login,
    UserName,
    Email,
    Role,
}

impl RosterCol {
    pub const ALL: [RosterCol; 13] = [
        RosterCol::Spz,
        RosterCol::FullName,
        RosterCol::ShortName,
        RosterCol::Inn,
        RosterCol::Kpp,
        RosterCol::OrgType,
        RosterCol::Level,
        RosterCol::Oktmo,
        RosterCol::SuperiorSpz,
        RosterCol::Login,
        RosterCol::UserName,
        RosterCol::Email,
        RosterCol::Role,
    ];

    pub fn index(self) -> usize {
        RosterCol::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }

    /// The column's title in the file.
    pub fn title(self) -> &'static str {
        match self {
            RosterCol::Spz => "СПЗ организации",
            RosterCol::FullName => "Полное наименование",
            RosterCol::ShortName => "Сокращенное наименование",
            RosterCol::Inn => "ИНН",
            RosterCol::Kpp => "КПП",
            RosterCol::OrgType => "Тип организации",
            RosterCol::Level => "Уровень бюджета",
            RosterCol::Oktmo => "ОКТМО",
            RosterCol::SuperiorSpz => "СПЗ вышестоящей",
            RosterCol::Login => "Логин",
            RosterCol::UserName => "ФИО",
            RosterCol::Email => "E-mail",
            RosterCol::Role => "Роль",
        }
    }

    /// What to write in it, for the template's instructions.
    pub fn hint(self) -> &'static str {
        match self {
            RosterCol::Spz => {
                "Код организации в сводном перечне заказчиков ЕИС, 11 цифр (ячейка текстовая: ведущий ноль \
                 сохраняется). Обязателен в каждой строке: строка описывает эту организацию и (или) её пользователя."
            }
            RosterCol::FullName => {
                "Полное наименование организации. Заполненные столбцы организации (от «Полное наименование» до \
                 «СПЗ вышестоящей») описывают организацию; пустые — строка только о пользователе."
            }
            RosterCol::ShortName => "Сокращенное наименование; если пусто — полное.",
            RosterCol::Inn => "ИНН организации, 10 цифр.",
            RosterCol::Kpp => "КПП, 9 знаков.",
            RosterCol::OrgType => {
                "Код типа организации по ЕИС: 01 (орган власти), 02 (орган управления внебюджетным фондом), \
                 03 (бюджетное учреждение), 05 (унитарное предприятие), 08 (казённое учреждение), \
                 10 (автономное учреждение)."
            }
            RosterCol::Level => "1 — федеральный, 2 — субъекта РФ, 3 — муниципальный.",
            RosterCol::Oktmo => "Код ОКТМО, 8 или 11 цифр.",
            RosterCol::SuperiorSpz => {
                "СПЗ вышестоящей организации: из этого файла или уже заведённой в plangraf, в пределах вашей \
                 организации и подчинённых ей. Пусто — у организации нет вышестоящей (только для оператора)."
            }
            RosterCol::Login => {
                "Логин пользователя: латинские буквы, цифры, точка, дефис, подчёркивание. Пусто — строка только об \
                 организации. Пользователь с этим логином, уже заведённый в plangraf, обновляется."
            }
            RosterCol::UserName => "Фамилия, имя, отчество пользователя.",
            RosterCol::Email => "Адрес электронной почты для уведомлений; можно оставить пустым.",
            RosterCol::Role => "Специалист заказчика, Согласующий или Администратор.",
        }
    }

    /// The columns that describe an organization (rather than a user).
    pub fn describes_organization(self) -> bool {
        !matches!(self, RosterCol::Spz | RosterCol::Login | RosterCol::UserName | RosterCol::Email | RosterCol::Role)
    }
}

/// The bounds of a table: a region's thousands of organizations and their users.
pub const LIMITS: Limits =
    Limits { file_bytes: 20 << 20, unpacked_bytes: 200 << 20, entries: 1000, rows: 50_000, cell_chars: 1000 };

/// The sheet of the template (a workbook's other sheets are read only when it has no sheet of
/// this name: then the first one).
pub const SHEET: &str = "Организации и пользователи";

/// Why a table cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    #[error("{0}")]
    Sheet(#[from] ReadError),
    #[error(
        "Не найдена строка заголовков со столбцом «СПЗ организации» в первых {TITLE_SEARCH_ROWS} строках: загрузите файл по шаблону"
    )]
    NoTitles,
    #[error("Нет столбца «{0}»: загрузите файл по шаблону (заголовки столбцов — как в нём)")]
    MissingColumn(&'static str),
    #[error("В файле нет ни одной строки с данными под заголовками")]
    Empty,
}

/// One row of the table as read: its number in the file, the text of each column (by
/// [`RosterCol::index`]), and the problems of its cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterRow {
    /// The row as the spreadsheet numbers it, or the line a CSV record starts on (from 1).
    pub row: u32,
    pub values: Vec<String>,
    pub errors: Vec<CellError>,
}

impl RosterRow {
    pub fn get(&self, col: RosterCol) -> &str {
        self.values.get(col.index()).map_or("", |v| v.trim())
    }

    /// Whether any column of the organization is filled.
    pub fn describes_organization(&self) -> bool {
        RosterCol::ALL.iter().any(|c| c.describes_organization() && !self.get(*c).is_empty())
    }
}

/// How far down the titles are looked for.
const TITLE_SEARCH_ROWS: u32 = 30;
/// Columns beyond this one are not read.
const MAX_COLUMNS: usize = 64;

/// Whether the bytes are an .xlsx (a ZIP archive) rather than a CSV.
pub fn is_xlsx(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Reads the table: an .xlsx when the bytes are a ZIP archive, a CSV otherwise.
pub fn read_roster(bytes: &[u8], limits: &Limits) -> Result<Vec<RosterRow>, RosterError> {
    if bytes.len() > limits.file_bytes {
        return Err(ReadError::TooLarge(limits.file_bytes).into());
    }
    let grid = if is_xlsx(bytes) { xlsx_cells(bytes, limits)? } else { csv_cells(bytes, limits)? };
    rows_of(grid, limits)
}

fn fold(s: &str) -> String {
    s.trim().to_lowercase().replace('ё', "е")
}

/// Cells by row (from 0) and column (from 0).
type Grid = BTreeMap<u32, BTreeMap<usize, Value>>;

fn rows_of(grid: Grid, limits: &Limits) -> Result<Vec<RosterRow>, RosterError> {
    let spz_titles = [fold(RosterCol::Spz.title()), fold("СПЗ")];
    let is_title = |v: &Value, wanted: &[String]| matches!(v, Value::Text(s) if wanted.contains(&fold(s)));
    let (&title_row, titles) = grid
        .iter()
        .take_while(|(r, _)| **r < TITLE_SEARCH_ROWS)
        .find(|(_, cells)| cells.values().any(|v| is_title(v, &spz_titles)))
        .ok_or(RosterError::NoTitles)?;
    let mut columns: Vec<(RosterCol, usize)> = Vec::new();
    for col in RosterCol::ALL {
        let wanted = if col == RosterCol::Spz { spz_titles.to_vec() } else { vec![fold(col.title())] };
        match titles.iter().find(|(_, v)| is_title(v, &wanted)) {
            Some((&index, _)) => columns.push((col, index)),
            None => return Err(RosterError::MissingColumn(col.title())),
        }
    }
    let mut out = Vec::new();
    if grid.range(title_row + 1..).count() > limits.rows as usize {
        return Err(ReadError::TooManyRows(limits.rows).into());
    }
    for (&r, cells) in grid.range(title_row + 1..) {
        let mut row = RosterRow { row: r + 1, values: vec![String::new(); RosterCol::ALL.len()], errors: Vec::new() };
        let mut any = false;
        for &(col, index) in &columns {
            let value = match cells.get(&index) {
                None => String::new(),
                Some(Value::Text(s)) => match domain::text::check(s) {
                    Ok(()) => s.trim().to_owned(),
                    Err(message) => {
                        row.errors.push(CellError { row: row.row, column: col.title().to_owned(), message });
                        any = true;
                        String::new()
                    }
                },
                Some(Value::Number(f)) => number_text(*f),
                Some(Value::Bool(b)) => (if *b { "да" } else { "нет" }).to_owned(),
                Some(Value::TooLong(n)) => {
                    row.errors.push(CellError {
                        row: row.row,
                        column: col.title().to_owned(),
                        message: format!("Текст длиннее {} символов ({n})", limits.cell_chars),
                    });
                    any = true;
                    String::new()
                }
                Some(Value::Other(shown)) => {
                    row.errors.push(CellError {
                        row: row.row,
                        column: col.title().to_owned(),
                        message: format!("Ожидается текст или число, а в ячейке «{shown}»"),
                    });
                    any = true;
                    String::new()
                }
            };
            any |= !value.is_empty();
            row.values[col.index()] = value;
        }
        if any {
            out.push(row);
        }
    }
    if out.is_empty() {
        return Err(RosterError::Empty);
    }
    Ok(out)
}

fn xlsx_cells(bytes: &[u8], limits: &Limits) -> Result<Grid, RosterError> {
    check_archive(bytes, limits)?;
    let unreadable = |e: calamine::XlsxError| ReadError::Unreadable(e.to_string());
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
    let names = wb.sheet_names();
    let name = names.iter().find(|n| n.as_str() == SHEET).or(names.first()).cloned().ok_or(ReadError::NoSheet)?;
    let mut reader = wb.worksheet_cells_reader(&name).map_err(unreadable)?;
    let mut grid = Grid::new();
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let (row, col) = cell.get_position();
        let col = col as usize;
        if col >= MAX_COLUMNS {
            continue;
        }
        if row > TITLE_SEARCH_ROWS.saturating_add(limits.rows) {
            return Err(ReadError::TooManyRows(limits.rows).into());
        }
        let value = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) => text(s, limits),
            DataRef::SharedString(s) => text(s, limits),
            DataRef::Int(i) => Value::Number(*i as f64),
            DataRef::Float(f) => Value::Number(*f),
            DataRef::Bool(b) => Value::Bool(*b),
            DataRef::DateTime(d) => Value::Other(format!("{}", d.as_f64())),
            DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Value::Other(s.chars().take(100).collect()),
            DataRef::Error(e) => Value::Other(e.to_string()),
        };
        grid.entry(row).or_default().insert(col, value);
    }
    Ok(grid)
}

/// The text of a CSV: UTF-8 (a BOM dropped), else Windows-1251.
fn decoded(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1251.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// The separator the first line has most of (outside quotes): `;`, `,` or a tab.
fn separator(text: &str) -> char {
    let mut counts = [(';', 0usize), (',', 0), ('\t', 0)];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => break,
            _ if !quoted => {
                for (s, n) in counts.iter_mut() {
                    if *s == c {
                        *n += 1;
                    }
                }
            }
            _ => {}
        }
    }
    counts.iter().max_by_key(|(_, n)| *n).filter(|(_, n)| *n > 0).map_or(';', |(s, _)| *s)
}

fn csv_cells(bytes: &[u8], limits: &Limits) -> Result<Grid, RosterError> {
    let text_all = decoded(bytes);
    let sep = separator(&text_all);
    let mut grid = Grid::new();
    // The line each record starts on (from 0), its fields, the field being read.
    let mut line: u32 = 0;
    let mut start: u32 = 0;
    let mut fields: BTreeMap<usize, Value> = BTreeMap::new();
    let mut field = String::new();
    let mut field_chars = 0usize;
    let mut column = 0usize;
    let mut quoted = false;
    let mut chars = text_all.chars().peekable();
    let mut records: u32 = 0;
    let end_field = |fields: &mut BTreeMap<usize, Value>, field: &mut String, chars_in: &mut usize, column: usize| {
        if column < MAX_COLUMNS && !field.trim().is_empty() {
            let value = if *chars_in > limits.cell_chars { Value::TooLong(*chars_in) } else { text(field, limits) };
            fields.insert(column, value);
        }
        field.clear();
        *chars_in = 0;
    };
    let push = |c: char, field: &mut String, chars_in: &mut usize| {
        *chars_in += 1;
        if *chars_in <= limits.cell_chars {
            field.push(c);
        }
    };
    loop {
        let c = chars.next();
        match c {
            Some('"') if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    push('"', &mut field, &mut field_chars);
                } else {
                    quoted = false;
                }
            }
            Some('"') if field.is_empty() && field_chars == 0 => quoted = true,
            Some('\n') if quoted => {
                line += 1;
                push('\n', &mut field, &mut field_chars);
            }
            Some(c) if c == sep && !quoted => {
                end_field(&mut fields, &mut field, &mut field_chars, column);
                column += 1;
            }
            Some('\r') if !quoted && chars.peek() == Some(&'\n') => {}
            None | Some('\n') => {
                end_field(&mut fields, &mut field, &mut field_chars, column);
                if !fields.is_empty() {
                    records += 1;
                    if records > limits.rows.saturating_add(TITLE_SEARCH_ROWS) {
                        return Err(ReadError::TooManyRows(limits.rows).into());
                    }
                    grid.insert(start, std::mem::take(&mut fields));
                }
                column = 0;
                quoted = false;
                if c.is_none() {
                    break;
                }
                line += 1;
                start = line;
            }
            Some(c) => push(c, &mut field, &mut field_chars),
        }
    }
    Ok(grid)
}

/// The template's example: an organization, and a user of it.
fn example() -> [[&'static str; 13]; 2] {
    [
        [
            "03722000123",
            "Государственное бюджетное общеобразовательное учреждение «Школа № 123»",
            "ГБОУ «Школа № 123»",
            "7801012345",
            "780101001",
            "03",
            "2",
            "40000000",
            "03722000010",
            "",
            "",
            "",
            "",
        ],
        [
            "03722000123",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "school123.ivanova",
            "Иванова Мария Петровна",
            "ivanova@school123.example.ru",
            "Специалист заказчика",
        ],
    ]
}

/// The template as .xlsx: the table's sheet with the titles and the example rows (every column
/// formatted as text, so that codes keep their leading zeros), and a sheet of instructions.
pub fn template_xlsx() -> Result<Vec<u8>, SheetError> {
    let mut wb = Workbook::new();
    let cell = Format::new().set_border(FormatBorder::Thin);
    let title = cell.clone().set_bold().set_text_wrap().set_background_color(0xE8EEF7);
    let text = cell.clone().set_num_format("@");
    let ws = wb.add_worksheet();
    ws.set_name(SHEET)?;
    for col in RosterCol::ALL {
        let i = col.index() as u16;
        ws.set_column_format(i, &Format::new().set_num_format("@"))?;
        ws.set_column_width(i, if matches!(col, RosterCol::FullName | RosterCol::UserName) { 40 } else { 18 })?;
        ws.write_string_with_format(0, i, col.title(), &title)?;
    }
    for (r, row) in example().iter().enumerate() {
        for (i, value) in row.iter().enumerate() {
            ws.write_string_with_format(r as u32 + 1, i as u16, *value, &text)?;
        }
    }
    let help = wb.add_worksheet();
    help.set_name("Инструкция")?;
    help.set_column_width(0, 28)?;
    help.set_column_width(1, 100)?;
    help.write_string_with_format(0, 0, "Столбец", &title)?;
    help.write_string_with_format(0, 1, "Что указать", &title)?;
    let wrapped = cell.set_text_wrap();
    for (r, col) in RosterCol::ALL.iter().enumerate() {
        help.write_string_with_format(r as u32 + 1, 0, col.title(), &wrapped)?;
        help.write_string_with_format(r as u32 + 1, 1, col.hint(), &wrapped)?;
    }
    help.write_string(
        RosterCol::ALL.len() as u32 + 2,
        1,
        "Строки-примеры замените своими. Перед сохранением plangraf покажет проверку файла с ошибками по строкам и \
         столбцам: ничего не сохраняется, пока вы не подтвердите загрузку.",
    )?;
    Ok(wb.save_to_buffer()?)
}

/// The template as CSV: UTF-8 with a BOM (so that Excel opens it in the right encoding), `;`
/// between fields, the titles and the example rows.
pub fn template_csv() -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    let line = |cells: Vec<&str>| cells.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(";") + "\r\n";
    out.push_str(&line(RosterCol::ALL.iter().map(|c| c.title()).collect()));
    for row in example() {
        out.push_str(&line(row.to_vec()));
    }
    out.into_bytes()
}

/// A field of a CSV with `;` between fields: quoted when it holds a separator, a quote or a
/// line break.
pub fn csv_field(value: &str) -> String {
    if value.contains([';', ',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(lines: &[&str]) -> Vec<u8> {
        lines.join("\r\n").into_bytes()
    }

    fn header(sep: &str) -> String {
        RosterCol::ALL.iter().map(|c| c.title()).collect::<Vec<_>>().join(sep)
    }

    #[test]
    fn both_templates_read_back_as_their_example() {
        for bytes in [template_csv(), template_xlsx().unwrap()] {
            let rows = read_roster(&bytes, &LIMITS).unwrap();
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0].row, 2);
            assert_eq!(rows[0].get(RosterCol::Spz), "03722000123");
            assert!(rows[0].describes_organization());
            assert_eq!(rows[1].get(RosterCol::Login), "school123.ivanova");
            assert_eq!(rows[1].get(RosterCol::UserName), "Иванова Мария Петровна");
            assert!(!rows[1].describes_organization());
            assert!(rows.iter().all(|r| r.errors.is_empty()));
        }
    }

    #[test]
    fn csv_quotes_separators_and_lines() {
        let bytes = csv(&[
            &header(","),
            "",
            "03722000001,\"ООО \"\"Ромашка\"\", филиал\",,7801000011,780101001,03,2,40000000,,,,,",
            "03722000001,,,,,,,,,petrov,\"Петров\nПётр\",,Согласующий",
        ]);
        let rows = read_roster(&bytes, &LIMITS).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].row, 3);
        assert_eq!(rows[0].get(RosterCol::FullName), "ООО \"Ромашка\", филиал");
        assert_eq!(rows[1].row, 4);
        assert_eq!(rows[1].get(RosterCol::UserName), "Петров\nПётр");
        assert_eq!(rows[1].get(RosterCol::Role), "Согласующий");
    }

    #[test]
    fn csv_in_windows_1251_is_read() {
        let text = format!("{}\n03722000001;Школа;;7801000011;780101001;03;2;40000000;;;;;\n", header(";"));
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
        assert!(std::str::from_utf8(&bytes).is_err());
        let rows = read_roster(&bytes, &LIMITS).unwrap();
        assert_eq!(rows[0].get(RosterCol::FullName), "Школа");
    }

    #[test]
    fn a_missing_column_and_no_titles_are_refused() {
        let without_role = header(";").replace(";Роль", "");
        assert_eq!(
            read_roster(&csv(&[&without_role, "03722000001"]), &LIMITS),
            Err(RosterError::MissingColumn("Роль"))
        );
        assert_eq!(read_roster(b"a;b\n1;2\n", &LIMITS), Err(RosterError::NoTitles));
        assert_eq!(read_roster(header(";").as_bytes(), &LIMITS), Err(RosterError::Empty));
    }

    #[test]
    fn bounds_hold() {
        let small = Limits { rows: 3, cell_chars: 30, ..LIMITS };
        let mut lines = vec![header(";")];
        lines.extend((0..5).map(|i| format!("0372200000{i}")));
        let bytes = lines.join("\n").into_bytes();
        assert!(matches!(read_roster(&bytes, &small), Err(RosterError::Sheet(ReadError::TooManyRows(3)))));
        let long = format!("{}\n03722000001;{}\n", header(";"), "я".repeat(50));
        let rows = read_roster(long.as_bytes(), &small).unwrap();
        assert_eq!(rows[0].errors.len(), 1);
        assert_eq!(rows[0].errors[0].column, "Полное наименование");
        let big = vec![b'a'; LIMITS.file_bytes + 1];
        assert!(matches!(read_roster(&big, &LIMITS), Err(RosterError::Sheet(ReadError::TooLarge(_)))));
    }

    proptest::proptest! {
        /// Whatever the bytes (a CSV with its titles, then anything), the reader answers rows of
        /// every column or an error, and never panics.
        #[test]
        fn any_csv_reads_or_is_refused(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let mut bytes = template_csv();
            bytes.extend(&tail);
            if let Ok(rows) = read_roster(&bytes, &LIMITS) {
                for row in rows {
                    proptest::prop_assert!(row.row > 0);
                    proptest::prop_assert_eq!(row.values.len(), RosterCol::ALL.len());
                }
            }
            let _ = read_roster(&tail, &LIMITS);
        }
    }
}
