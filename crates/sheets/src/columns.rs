//! The one column layout of the sheet «Позиции», shared by the export, the import template and
//! the import: an exported plan can be edited and imported again.
//!
//! A position takes one row of kind «Позиция»; its breakdown lines follow it, one row each, of
//! kind «КБК», «КВР» or «Целевая статья», with the line's code in «Код распределения» and its
//! amounts in the amount columns. The export adds columns the import does not read (ИКЗ, the
//! total, the change mark, cancelled) and a totals row of kind «Итого», which the import skips.

/// The columns, in sheet order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Kind,
    Number,
    Ikz,
    Special,
    Okpd2,
    Kvr,
    Object,
    PublishYear,
    LineCode,
    Current,
    First,
    Second,
    Subsequent,
    Total,
    PublicDiscussion,
    EnergyService,
    Mark,
    ReasonCode,
    ChangeDescription,
    Canceled,
}

impl Col {
    pub const ALL: [Col; 20] = [
        Col::Kind,
        Col::Number,
        Col::Ikz,
        Col::Special,
        Col::Okpd2,
        Col::Kvr,
        Col::Object,
        Col::PublishYear,
        Col::LineCode,
        Col::Current,
        Col::First,
        Col::Second,
        Col::Subsequent,
        Col::Total,
        Col::PublicDiscussion,
        Col::EnergyService,
        Col::Mark,
        Col::ReasonCode,
        Col::ChangeDescription,
        Col::Canceled,
    ];

    /// The column's index on the sheet.
    pub fn index(self) -> u16 {
        Col::ALL.iter().position(|c| *c == self).unwrap_or_default() as u16
    }

    /// The column's title for a plan of `plan_year` (the amount columns name their years).
    pub fn title(self, plan_year: i32) -> String {
        match self {
            Col::Kind => "Строка".into(),
            Col::Number => "Номер закупки".into(),
            Col::Ikz => "ИКЗ".into(),
            Col::Special => "Вид особой закупки".into(),
            Col::Okpd2 => "ОКПД2".into(),
            Col::Kvr => "КВР".into(),
            Col::Object => "Наименование объекта закупки".into(),
            Col::PublishYear => "Год размещения извещения".into(),
            Col::LineCode => "Код распределения".into(),
            Col::Current => format!("Сумма на {plan_year} год"),
            Col::First => format!("Сумма на {} год", plan_year + 1),
            Col::Second => format!("Сумма на {} год", plan_year + 2),
            Col::Subsequent => "Сумма на последующие годы".into(),
            Col::Total => "Всего".into(),
            Col::PublicDiscussion => "Общественное обсуждение".into(),
            Col::EnergyService => "Контракт энергосервиса".into(),
            Col::Mark => "Изменение".into(),
            Col::ReasonCode => "Причина изменения".into(),
            Col::ChangeDescription => "Обоснование изменения".into(),
            Col::Canceled => "Отменена".into(),
        }
    }

    /// Whether the import reads the column (the others are computed or shown only).
    pub fn imported(self) -> bool {
        !matches!(self, Col::Ikz | Col::Total | Col::Mark | Col::Canceled)
    }

    /// Whether the import needs the column on the sheet.
    pub fn required(self) -> bool {
        matches!(
            self,
            Col::Kind
                | Col::Number
                | Col::Okpd2
                | Col::Kvr
                | Col::Object
                | Col::PublishYear
                | Col::Current
                | Col::First
                | Col::Second
                | Col::Subsequent
        )
    }

    /// Whether the column holds a code, kept as text so that Excel does not turn `244` or a
    /// 20-digit КБК into a number.
    pub fn is_code(self) -> bool {
        matches!(self, Col::Number | Col::Ikz | Col::Special | Col::Okpd2 | Col::Kvr | Col::LineCode | Col::ReasonCode)
    }

    pub fn is_amount(self) -> bool {
        matches!(self, Col::Current | Col::First | Col::Second | Col::Subsequent | Col::Total)
    }

    /// Width in characters.
    pub fn width(self) -> f64 {
        match self {
            Col::Kind => 15.0,
            Col::Number => 10.0,
            Col::Ikz => 40.0,
            Col::Special => 14.0,
            Col::Okpd2 => 16.0,
            Col::Kvr => 7.0,
            Col::Object => 50.0,
            Col::PublishYear => 12.0,
            Col::LineCode => 24.0,
            Col::Current | Col::First | Col::Second | Col::Subsequent | Col::Total => 18.0,
            Col::PublicDiscussion | Col::EnergyService => 14.0,
            Col::Mark => 16.0,
            Col::ReasonCode => 12.0,
            Col::ChangeDescription => 40.0,
            Col::Canceled => 10.0,
        }
    }

    /// What the template's instructions say of the column.
    pub fn hint(self) -> &'static str {
        match self {
            Col::Kind => {
                "«Позиция» (или пусто) — строка позиции; «КБК», «КВР» или «Целевая статья» — строка распределения \
                 позиции, указанной выше; «Итого» — строка не загружается"
            }
            Col::Number => "Номер закупки в плане-графике: пусто — новая позиция, номер — изменить эту позицию",
            Col::Ikz => "Выгружается для сведения, при загрузке не читается",
            Col::Special => "Код вида особой закупки из справочника (например, P4_1_93); пусто — обычная закупка",
            Col::Okpd2 => {
                "Код ОКПД2 (например, 38.11.21.000); несколько кодов — через запятую; для особой закупки пусто"
            }
            Col::Kvr => "Код КВР (например, 244); пусто — «не определен»",
            Col::Object => "Наименование объекта закупки, до 2000 символов; для особой закупки можно не указывать",
            Col::PublishYear => "Год размещения извещения четырьмя цифрами",
            Col::LineCode => {
                "Только в строках распределения: КБК (20 символов), КВР (3 цифры) или целевая статья (10 символов)"
            }
            Col::Current | Col::First | Col::Second | Col::Subsequent => {
                "Сумма в рублях, не более двух знаков после запятой; пусто — ноль"
            }
            Col::Total => "Выгружается для сведения, при загрузке не читается",
            Col::PublicDiscussion | Col::EnergyService => "«да» или «нет» (пусто — нет)",
            Col::Mark => "Выгружается для сведения, при загрузке не читается",
            Col::ReasonCode => {
                "При изменении позиции утверждённой версии: код причины изменения из справочника (например, 9)"
            }
            Col::ChangeDescription => "При изменении позиции утверждённой версии: обоснование изменения",
            Col::Canceled => "Выгружается для сведения; отменить закупку можно только на странице позиции",
        }
    }
}

/// What a row of the sheet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Position,
    Kbk,
    Kvr,
    TargetArticle,
    Total,
}

impl RowKind {
    pub fn title(self) -> &'static str {
        match self {
            RowKind::Position => "Позиция",
            RowKind::Kbk => "КБК",
            RowKind::Kvr => "КВР",
            RowKind::TargetArticle => "Целевая статья",
            RowKind::Total => "Итого",
        }
    }

    /// The kind typed in the column «Строка»; empty is a position.
    pub fn parse(s: &str) -> Option<RowKind> {
        let s = s.trim().to_lowercase();
        if s.is_empty() {
            return Some(RowKind::Position);
        }
        [RowKind::Position, RowKind::Kbk, RowKind::Kvr, RowKind::TargetArticle, RowKind::Total]
            .into_iter()
            .find(|k| k.title().to_lowercase() == s)
    }
}

/// The name of the sheet with the positions.
pub const SHEET: &str = "Позиции";
/// The name of the template's sheet of instructions.
pub const HELP_SHEET: &str = "Инструкция";
/// The row (from 0) of the column titles in exported files and in the template.
pub const TITLE_ROW: u32 = 4;

pub const YES: &str = "да";
pub const NO: &str = "нет";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_unique_and_indices_follow_the_order() {
        let titles: Vec<String> = Col::ALL.iter().map(|c| c.title(2026)).collect();
        let mut sorted = titles.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), titles.len());
        for (i, c) in Col::ALL.iter().enumerate() {
            assert_eq!(usize::from(c.index()), i);
        }
        assert_eq!(Col::Second.title(2026), "Сумма на 2028 год");
    }

    #[test]
    fn row_kinds_read_back_whatever_the_case() {
        for k in [RowKind::Position, RowKind::Kbk, RowKind::Kvr, RowKind::TargetArticle, RowKind::Total] {
            assert_eq!(RowKind::parse(&k.title().to_uppercase()), Some(k));
        }
        assert_eq!(RowKind::parse(" "), Some(RowKind::Position));
        assert_eq!(RowKind::parse("строчка"), None);
    }
}
