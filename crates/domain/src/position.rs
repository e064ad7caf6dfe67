//! Positions of a plan-schedule: ordinary purchases and special purchases
//! (особые закупки, НСИ `nsiSpecialPurchase2020`), their financing by year and its breakdown
//! by КБК (organization types 01, 02, 08) or by КВР (types 03, 10), and the justification of an
//! edit in a change round.

use crate::ikz::{self, CodeError, Iku, Ikz, KvrCode, Okpd2Code, PurchaseNumber};
use crate::money::{Money, MoneyError};
use crate::org::OrgType;
use serde::{Deserialize, Serialize};

/// Financing of a position by year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct YearAmounts {
    pub current: Money,
    pub first: Money,
    pub second: Money,
    pub subsequent: Money,
}

impl YearAmounts {
    pub fn total(&self) -> Money {
        self.current + self.first + self.second + self.subsequent
    }

    /// The years whose amounts differ, as «2026 год: 100,00 вместо 90,00» for messages.
    pub fn mismatches(&self, expected: &YearAmounts, plan_year: i32) -> Vec<String> {
        let pairs = [
            (format!("{plan_year} год"), self.current, expected.current),
            (format!("{} год", plan_year + 1), self.first, expected.first),
            (format!("{} год", plan_year + 2), self.second, expected.second),
            ("последующие годы".to_owned(), self.subsequent, expected.subsequent),
        ];
        pairs.into_iter().filter(|(_, a, b)| a != b).map(|(y, a, b)| format!("{y}: {a} вместо {b}")).collect()
    }
}

impl std::ops::Add for YearAmounts {
    type Output = YearAmounts;
    fn add(self, o: YearAmounts) -> YearAmounts {
        YearAmounts {
            current: self.current + o.current,
            first: self.first + o.first,
            second: self.second + o.second,
            subsequent: self.subsequent + o.subsequent,
        }
    }
}

/// One line of a financing breakdown: a КБК (20 characters) or a КВР (3 digits) with its
/// amounts by year. The lines of a position must add up to its financing, year by year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetLine {
    pub code: String,
    pub amounts: YearAmounts,
}

/// The kind of a special purchase, from НСИ `nsiSpecialPurchase2020` (e.g. `P4_1_93`,
/// purchases under п. 4 ч. 1 ст. 93 44-ФЗ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialPurchase {
    pub code: String,
    pub name: String,
}

/// What the customer decided about a position in a change round (eis-protocol.md §1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeDecision {
    /// «Закупка изменена»
    Changed,
    /// «Закупка отменена»
    Canceled,
}

impl ChangeDecision {
    pub fn title(self) -> &'static str {
        match self {
            ChangeDecision::Changed => "Изменение закупки",
            ChangeDecision::Canceled => "Отмена закупки",
        }
    }
}

/// The justification ЕИС requires for an edited position: a reason from НСИ
/// `nsiTenderPlan2020PositionChangeReason`, the decision and a description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionChange {
    pub reason_code: String,
    pub reason_name: String,
    pub decision: ChangeDecision,
    pub description: String,
}

/// How a position of a change round relates to the version it started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeMark {
    /// Not in the base version.
    New,
    /// Identical to the base version (ЕИС status N).
    Unchanged,
    /// Edited or cancelled (ЕИС status E).
    Edited,
}

impl ChangeMark {
    pub fn title(self) -> &'static str {
        match self {
            ChangeMark::New => "Новая",
            ChangeMark::Unchanged => "Без изменений",
            ChangeMark::Edited => "Изменена",
        }
    }
}

/// One planned purchase, as stored and as snapshotted into a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredPosition")]
pub struct Position {
    pub purchase_number: PurchaseNumber,
    pub publish_year: i32,
    /// `Some` for a special purchase: it has no ОКПД2 and no object description in ЕИС.
    pub special: Option<SpecialPurchase>,
    /// One code, or several («не определен», `0000` in the ИКЗ); none for a special purchase.
    pub okpd2: Vec<Okpd2Code>,
    /// `None` means «не определен» (several КВР, or mandatory for unitary enterprises).
    pub kvr: Option<KvrCode>,
    pub object_info: String,
    pub amounts: YearAmounts,
    /// Breakdown by КБК, for organization types 01, 02 and 08.
    pub kbks: Vec<BudgetLine>,
    /// Breakdown by КВР, for organization types 03 and 10; empty means the position's one КВР
    /// carries the whole financing (see [`Position::kvr_breakdown`]).
    pub kvrs: Vec<BudgetLine>,
    /// Optional breakdown by target article (целевая статья, 10 characters), for organization
    /// types 03 and 10 only.
    pub target_articles: Vec<BudgetLine>,
    pub public_discussion: bool,
    /// «Контракт энергосервиса»
    pub energy_service: bool,
    /// The justification of an edit or a cancellation in the current change round.
    pub change: Option<PositionChange>,
}

/// The stored form, which also reads positions saved before breakdowns and special purchases
/// existed: one ОКПД2 as a string and one optional КБК carrying the whole financing.
#[derive(Deserialize)]
struct StoredPosition {
    purchase_number: PurchaseNumber,
    publish_year: i32,
    #[serde(default)]
    special: Option<SpecialPurchase>,
    okpd2: OneOrMany,
    kvr: Option<KvrCode>,
    object_info: String,
    amounts: YearAmounts,
    #[serde(default)]
    kbks: Vec<BudgetLine>,
    #[serde(default)]
    kbk: Option<String>,
    #[serde(default)]
    kvrs: Vec<BudgetLine>,
    #[serde(default)]
    target_articles: Vec<BudgetLine>,
    public_discussion: bool,
    #[serde(default)]
    energy_service: bool,
    #[serde(default)]
    change: Option<PositionChange>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Okpd2Code),
    Many(Vec<Okpd2Code>),
}

impl From<StoredPosition> for Position {
    fn from(s: StoredPosition) -> Position {
        let mut kbks = s.kbks;
        if let (true, Some(code)) = (kbks.is_empty(), s.kbk) {
            kbks.push(BudgetLine { code, amounts: s.amounts });
        }
        Position {
            purchase_number: s.purchase_number,
            publish_year: s.publish_year,
            special: s.special,
            okpd2: match s.okpd2 {
                OneOrMany::One(c) => vec![c],
                OneOrMany::Many(v) => v,
            },
            kvr: s.kvr,
            object_info: s.object_info,
            amounts: s.amounts,
            kbks,
            kvrs: s.kvrs,
            target_articles: s.target_articles,
            public_discussion: s.public_discussion,
            energy_service: s.energy_service,
            change: s.change,
        }
    }
}

impl Position {
    /// Compares with the same purchase in the base version: content differences, or a
    /// cancellation made in this round, make the position edited. The justification itself is
    /// not content, and a purchase cancelled in an earlier round stays cancelled unchanged (ЕИС
    /// keeps it cancelled in every later version).
    pub fn mark(&self, base: Option<&Position>) -> ChangeMark {
        match base {
            None => ChangeMark::New,
            Some(b) => {
                let same = Position { change: None, ..self.clone() } == Position { change: None, ..b.clone() };
                if same && self.is_canceled() == b.is_canceled() { ChangeMark::Unchanged } else { ChangeMark::Edited }
            }
        }
    }

    pub fn is_canceled(&self) -> bool {
        self.change.as_ref().is_some_and(|c| c.decision == ChangeDecision::Canceled)
    }

    pub fn is_special(&self) -> bool {
        self.special.is_some()
    }

    /// The ОКПД2 that goes into the ИКЗ: the code if there is exactly one, otherwise
    /// «не определен».
    pub fn okpd2_single(&self) -> Option<&Okpd2Code> {
        match self.okpd2.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// ОКПД2 as shown: `38.11.21.000`, or the codes joined with «; » when there are several.
    pub fn okpd2_text(&self) -> String {
        self.okpd2.iter().map(Okpd2Code::as_str).collect::<Vec<_>>().join("; ")
    }

    pub fn kvr_text(&self) -> &str {
        self.kvr.as_ref().map(KvrCode::as_str).unwrap_or("не определен")
    }

    /// What the position is called in lists: the object of purchase, or the special
    /// purchase's kind.
    pub fn title(&self) -> String {
        match (&self.special, self.object_info.is_empty()) {
            (Some(s), true) => format!("Особая закупка: {}", s.name),
            _ => self.object_info.clone(),
        }
    }

    /// The КВР breakdown ЕИС gets for an organization of type 03 or 10: the lines entered, or
    /// the one КВР with the whole financing. Empty for other types.
    pub fn kvr_breakdown(&self, org_type: OrgType) -> Vec<BudgetLine> {
        if !org_type.uses_kvr_breakdown() {
            return Vec::new();
        }
        if !self.kvrs.is_empty() {
            return self.kvrs.clone();
        }
        self.kvr.iter().map(|k| BudgetLine { code: k.as_str().to_owned(), amounts: self.amounts }).collect()
    }

    /// One line for the audit journal: number, object, codes and money by year.
    pub fn summary(&self) -> String {
        let a = &self.amounts;
        let codes = match &self.special {
            Some(s) => format!("особая закупка {}", s.code),
            None => format!("ОКПД2 {}", self.okpd2_text()),
        };
        let lines = |name: &str, v: &[BudgetLine]| {
            if v.is_empty() {
                String::new()
            } else {
                format!(
                    ", {name}: {}",
                    v.iter().map(|l| format!("{} {}", l.code, l.amounts.total())).collect::<Vec<_>>().join("; ")
                )
            }
        };
        format!(
            "№ {} «{}», {codes}, КВР {}, год извещения {}, суммы: {} / {} / {} / последующие {}{}{}{}{}",
            self.purchase_number.padded(),
            self.title(),
            self.kvr_text(),
            self.publish_year,
            a.current,
            a.first,
            a.second,
            a.subsequent,
            lines("КБК", &self.kbks),
            lines("КВР", &self.kvrs),
            lines("целевые статьи", &self.target_articles),
            if self.energy_service { ", энергосервис" } else { "" }
        )
    }

    pub fn ikz(&self, iku: Option<&Iku>) -> Result<Ikz, CodeError> {
        ikz::compute(self.publish_year, iku, self.purchase_number, self.okpd2_single(), self.kvr.as_ref())
    }
}

/// A field-level input error: which form field, and what is wrong with it, in Russian.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// One breakdown line as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineDraft {
    pub code: String,
    pub current: String,
    pub first: String,
    pub second: String,
    pub subsequent: String,
}

impl LineDraft {
    pub fn is_blank(&self) -> bool {
        [&self.code, &self.current, &self.first, &self.second, &self.subsequent].iter().all(|s| s.trim().is_empty())
    }
}

/// A position as typed (the form's fields, or the API's body): raw strings, parsed all at once
/// so that every wrong field is reported together. How an HTML form's fields become a draft is
/// the web's business (`web::pages::position_form`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PositionDraft {
    /// Code of the special purchase kind; empty for an ordinary purchase.
    pub special_type: String,
    pub publish_year: String,
    /// One ОКПД2 code, or several separated by commas, semicolons or spaces.
    pub okpd2: String,
    pub kvr: String,
    pub object_info: String,
    pub amount_current: String,
    pub amount_first: String,
    pub amount_second: String,
    pub amount_subsequent: String,
    /// The breakdown by КБК or by КВР, whichever the organization type takes.
    pub lines: Vec<LineDraft>,
    /// The breakdown by target article (types 03 and 10).
    pub target_lines: Vec<LineDraft>,
    pub public_discussion: bool,
    pub energy_service: bool,
}

impl PositionDraft {
    /// The form's values for a stored position.
    pub fn of(p: &Position) -> PositionDraft {
        let money = |m: Money| if m.is_zero() { String::new() } else { m.to_string() };
        let lines = if p.kbks.is_empty() { &p.kvrs } else { &p.kbks };
        let drafts = |lines: &[BudgetLine]| {
            lines
                .iter()
                .map(|l| LineDraft {
                    code: l.code.clone(),
                    current: money(l.amounts.current),
                    first: money(l.amounts.first),
                    second: money(l.amounts.second),
                    subsequent: money(l.amounts.subsequent),
                })
                .collect()
        };
        PositionDraft {
            special_type: p.special.as_ref().map(|s| s.code.clone()).unwrap_or_default(),
            publish_year: p.publish_year.to_string(),
            okpd2: p.okpd2_text(),
            kvr: p.kvr.as_ref().map(|k| k.as_str().to_owned()).unwrap_or_default(),
            object_info: p.object_info.clone(),
            amount_current: money(p.amounts.current),
            amount_first: money(p.amounts.first),
            amount_second: money(p.amounts.second),
            amount_subsequent: money(p.amounts.subsequent),
            lines: drafts(lines),
            target_lines: drafts(&p.target_articles),
            public_discussion: p.public_discussion,
            energy_service: p.energy_service,
        }
    }

    /// Parses the draft for an organization of `org_type`; the purchase number is assigned by
    /// the caller (next free number in the plan). `special` is the special purchase kind the
    /// caller found in НСИ for `special_type`, if any.
    pub fn parse(
        &self,
        purchase_number: PurchaseNumber,
        org_type: OrgType,
        special: Option<SpecialPurchase>,
    ) -> Result<Position, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut push = |field: &'static str, message: String| errors.push(FieldError { field, message });

        let special_code = self.special_type.trim();
        let special = match (special_code.is_empty(), special) {
            (true, _) => None,
            (false, Some(s)) if s.code == special_code => Some(s),
            (false, _) => {
                push(
                    "special_type",
                    format!("Вид особой закупки «{special_code}» не найден в справочнике: выберите его из списка"),
                );
                None
            }
        };
        let is_special = !special_code.is_empty();
        let publish_year = match self.publish_year.trim().parse::<i32>() {
            Ok(y) if (2020..=2099).contains(&y) => Some(y),
            _ => {
                push("publish_year", "Укажите год размещения извещения четырьмя цифрами (например, 2026)".into());
                None
            }
        };
        let okpd2_codes: Vec<&str> =
            self.okpd2.split([',', ';', ' ', '\n', '\t']).map(str::trim).filter(|s| !s.is_empty()).collect();
        let mut okpd2 = Vec::new();
        if is_special {
            if !okpd2_codes.is_empty() {
                push("okpd2", "Для особой закупки ОКПД2 не указывается: ЕИС его не принимает".into());
            }
        } else if okpd2_codes.is_empty() {
            push("okpd2", "Укажите код ОКПД2 (например, 38.11.21.000); несколько кодов — через запятую".into());
        } else {
            for code in okpd2_codes {
                match Okpd2Code::parse(code) {
                    Ok(c) if okpd2.contains(&c) => push("okpd2", format!("Код ОКПД2 {code} указан дважды")),
                    Ok(c) => okpd2.push(c),
                    Err(e) => push("okpd2", e.to_string()),
                }
            }
        }
        let kvr_input = self.kvr.trim();
        let kvr = if kvr_input.is_empty() || kvr_input == "000" {
            if org_type.uses_kvr_breakdown() && self.lines.is_empty() {
                push("kvr", "Для бюджетных и автономных учреждений укажите КВР или распределение по КВР".into());
            }
            Some(None)
        } else if org_type.kvr_must_be_undefined() {
            push("kvr", "Для унитарного предприятия КВР должен быть «не определен»: оставьте поле пустым".into());
            None
        } else {
            KvrCode::parse(kvr_input).map(Some).map_err(|e| push("kvr", e.to_string())).ok()
        };
        let object_info = self.object_info.trim().to_owned();
        if object_info.is_empty() && !is_special {
            push("object_info", "Укажите наименование объекта закупки".into());
        } else if object_info.chars().count() > 2000 {
            push("object_info", "Наименование объекта закупки длиннее 2000 символов".into());
        }
        let mut money = |field: &'static str, raw: &str| -> Option<Money> {
            if raw.trim().is_empty() {
                return Some(Money::ZERO);
            }
            Money::parse(raw).map_err(|e: MoneyError| push(field, e.to_string())).ok()
        };
        let current = money("amount_current", &self.amount_current);
        let first = money("amount_first", &self.amount_first);
        let second = money("amount_second", &self.amount_second);
        let subsequent = money("amount_subsequent", &self.amount_subsequent);
        let lines = if self.lines.is_empty() {
            Vec::new()
        } else if org_type.uses_kbk() {
            parse_lines(&self.lines, LineKind::Kbk, &mut errors)
        } else if org_type.uses_kvr_breakdown() {
            parse_lines(&self.lines, LineKind::Kvr, &mut errors)
        } else {
            errors.push(FieldError {
                field: "lines",
                message: format!(
                    "Для организации типа {} распределение по КБК или КВР не указывается",
                    org_type.code()
                ),
            });
            Vec::new()
        };
        let target_articles = if self.target_lines.is_empty() {
            Vec::new()
        } else if org_type.uses_kvr_breakdown() {
            parse_lines(&self.target_lines, LineKind::TargetArticle, &mut errors)
        } else {
            errors.push(FieldError {
                field: "target_lines",
                message: format!(
                    "Распределение по целевым статьям указывается только для организаций типов 03 и 10, а не {}",
                    org_type.code()
                ),
            });
            Vec::new()
        };

        match (publish_year, kvr, current, first, second, subsequent) {
            (Some(publish_year), Some(kvr), Some(current), Some(first), Some(second), Some(subsequent))
                if errors.is_empty() =>
            {
                let amounts = YearAmounts { current, first, second, subsequent };
                if amounts.total().is_zero() {
                    return Err(vec![FieldError {
                        field: "amount_current",
                        message: "Укажите объём финансового обеспечения хотя бы на один год".into(),
                    }]);
                }
                let (kbks, kvrs) = if org_type.uses_kbk() { (lines, Vec::new()) } else { (Vec::new(), lines) };
                Ok(Position {
                    purchase_number,
                    publish_year,
                    special,
                    okpd2,
                    kvr,
                    object_info,
                    amounts,
                    kbks,
                    kvrs,
                    target_articles,
                    public_discussion: self.public_discussion,
                    energy_service: self.energy_service,
                    change: None,
                })
            }
            _ => Err(errors),
        }
    }
}

/// What a breakdown is by.
#[derive(Clone, Copy)]
enum LineKind {
    Kbk,
    Kvr,
    TargetArticle,
}

impl LineKind {
    fn field(self) -> &'static str {
        match self {
            LineKind::Kbk | LineKind::Kvr => "lines",
            LineKind::TargetArticle => "target_lines",
        }
    }

    /// The Russian complaint about a malformed code, or `None` when the code is well formed.
    fn code_problem(self, code: &str) -> Option<&'static str> {
        let alnum = |len: usize| code.chars().count() == len && code.chars().all(|c| c.is_ascii_alphanumeric());
        match self {
            LineKind::Kbk => (!alnum(20)).then_some("КБК должен состоять из 20 символов (цифры и латинские буквы)"),
            LineKind::Kvr => {
                KvrCode::parse(code).is_err().then_some("код КВР должен состоять из 3 цифр (например, 244)")
            }
            LineKind::TargetArticle => {
                (!alnum(10)).then_some("целевая статья должна состоять из 10 символов (цифры и латинские буквы)")
            }
        }
    }
}

/// The rows of one breakdown. Sums against the financing are a pre-flight rule, so that a
/// half-typed breakdown can be saved.
fn parse_lines(drafts: &[LineDraft], kind: LineKind, errors: &mut Vec<FieldError>) -> Vec<BudgetLine> {
    let mut push = |message: String| errors.push(FieldError { field: kind.field(), message });
    let mut out: Vec<BudgetLine> = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        let row = i + 1;
        let code = d.code.trim().to_owned();
        let problem = kind.code_problem(&code);
        if let Some(p) = problem {
            push(format!("Строка {row}: {p}"));
        }
        let code_ok = problem.is_none();
        if code_ok && out.iter().any(|l| l.code == code) {
            push(format!("Строка {row}: код {code} уже есть в распределении, объедините строки"));
        }
        let mut amount = |raw: &str| -> Money {
            if raw.trim().is_empty() {
                return Money::ZERO;
            }
            Money::parse(raw).unwrap_or_else(|e| {
                push(format!("Строка {row}: {e}"));
                Money::ZERO
            })
        };
        let amounts = YearAmounts {
            current: amount(&d.current),
            first: amount(&d.first),
            second: amount(&d.second),
            subsequent: amount(&d.subsequent),
        };
        out.push(BudgetLine { code, amounts });
    }
    out
}

/// The next purchase number after the ones in use (numbers are never reused inside a plan).
pub fn next_purchase_number(used: impl IntoIterator<Item = PurchaseNumber>) -> Result<PurchaseNumber, CodeError> {
    let max = used.into_iter().map(PurchaseNumber::get).max().unwrap_or(0);
    PurchaseNumber::new(u32::from(max) + 1)
}

/// Parses the justification fields of the edit and cancel forms; `reason_name` is the name the
/// caller found in НСИ for `reason_code`.
pub fn parse_change(
    reason_code: &str,
    reason_name: Option<&str>,
    decision: ChangeDecision,
    description: &str,
) -> Result<PositionChange, Vec<FieldError>> {
    let mut errors = Vec::new();
    if reason_name.is_none() {
        errors.push(FieldError {
            field: "reason_code", message: "Выберите причину изменения из справочника".into()
        });
    }
    let description = description.trim();
    if description.is_empty() {
        errors.push(FieldError {
            field: "change_description",
            message: "Опишите изменение: ЕИС требует обоснование".into(),
        });
    } else if description.chars().count() > 2000 {
        errors.push(FieldError {
            field: "change_description", message: "Обоснование длиннее 2000 символов".into()
        });
    }
    match reason_name {
        Some(name) if errors.is_empty() => Ok(PositionChange {
            reason_code: reason_code.trim().to_owned(),
            reason_name: name.to_owned(),
            decision,
            description: description.to_owned(),
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REASON_9: Option<&str> = Some("Возникновение иных обстоятельств");

    fn n(x: u32) -> PurchaseNumber {
        PurchaseNumber::new(x).unwrap()
    }

    fn draft() -> PositionDraft {
        PositionDraft {
            publish_year: "2026".into(),
            okpd2: "38.11.21.000".into(),
            kvr: "244".into(),
            object_info: "Услуги по обращению с ТКО".into(),
            amount_current: "100 000,00".into(),
            ..Default::default()
        }
    }

    fn line(code: &str, current: &str) -> LineDraft {
        LineDraft { code: code.into(), current: current.into(), ..Default::default() }
    }

    fn p4() -> Option<SpecialPurchase> {
        Some(SpecialPurchase {
            code: "P4_1_93".into(), name: "Закупки в соответствии с п. 4 ч. 1 ст. 93".into()
        })
    }

    fn iku() -> Iku {
        Iku::parse("27802139698780201001").unwrap()
    }

    #[test]
    fn draft_parses() {
        let p = draft().parse(n(1), OrgType::Budget, None).unwrap();
        assert_eq!(p.amounts.total().canonical(), "100000.00");
        assert_eq!(p.ikz(Some(&iku())).unwrap().as_str(), "262780213969878020100100010003811244");
        assert_eq!(p.kvr_breakdown(OrgType::Budget), vec![BudgetLine { code: "244".into(), amounts: p.amounts }]);
        assert!(p.kvr_breakdown(OrgType::Authority).is_empty());
    }

    #[test]
    fn draft_reports_every_bad_field() {
        let bad = PositionDraft {
            publish_year: "26".into(),
            okpd2: "3".into(),
            kvr: "24".into(),
            object_info: " ".into(),
            amount_current: "сто".into(),
            ..Default::default()
        };
        let errs = bad.parse(n(1), OrgType::Authority, None).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["publish_year", "okpd2", "kvr", "object_info", "amount_current"]);
    }

    #[test]
    fn draft_org_type_rules() {
        let mut d = draft();
        d.kvr = String::new();
        assert_eq!(d.parse(n(1), OrgType::Budget, None).unwrap_err()[0].field, "kvr");
        assert_eq!(draft().parse(n(1), OrgType::Unitary, None).unwrap_err()[0].field, "kvr");
        let mut d = draft();
        d.lines = vec![line("07507021234567890244", "100000")];
        let p = d.parse(n(1), OrgType::Authority, None).unwrap();
        assert_eq!(p.kbks.len(), 1);
        assert!(p.kvrs.is_empty());
        let mut u = d.clone();
        u.kvr = String::new();
        assert_eq!(u.parse(n(1), OrgType::Unitary, None).unwrap_err()[0].field, "lines", "no breakdown for type 05");
        let mut d = draft();
        d.amount_current = String::new();
        assert_eq!(d.parse(n(1), OrgType::Authority, None).unwrap_err()[0].field, "amount_current");
    }

    #[test]
    fn several_okpd2_make_it_undefined() {
        let mut d = draft();
        d.okpd2 = "38.11.21.000, 81.29.12; 38.11.21.000".into();
        assert_eq!(d.parse(n(1), OrgType::Budget, None).unwrap_err()[0].field, "okpd2", "a repeated code is refused");
        d.okpd2 = "38.11.21.000, 81.29.12".into();
        let p = d.parse(n(7), OrgType::Budget, None).unwrap();
        assert_eq!(p.okpd2.len(), 2);
        assert_eq!(p.okpd2_single(), None);
        assert_eq!(&p.ikz(Some(&iku())).unwrap().as_str()[29..33], "0000");
        assert_eq!(PositionDraft::of(&p).okpd2, "38.11.21.000; 81.29.12");
    }

    #[test]
    fn special_purchase_needs_a_known_kind_and_no_okpd2() {
        let mut d = draft();
        d.special_type = "P4_1_93".into();
        d.object_info = String::new();
        assert_eq!(d.parse(n(6), OrgType::Budget, p4()).unwrap_err()[0].field, "okpd2");
        d.okpd2 = String::new();
        assert_eq!(d.parse(n(6), OrgType::Budget, None).unwrap_err()[0].field, "special_type", "kind not in НСИ");
        let p = d.parse(n(6), OrgType::Budget, p4()).unwrap();
        assert!(p.is_special());
        assert!(p.title().contains("п. 4 ч. 1 ст. 93"));
        // The real export's special position: 23 27802139698780201001 0006 000 0000 244.
        let mut real = p.clone();
        real.publish_year = 2023;
        assert_eq!(real.ikz(Some(&iku())).unwrap().as_str(), "232780213969878020100100060000000244");
        // An ordinary purchase still needs its object.
        let mut plain = draft();
        plain.object_info = String::new();
        assert_eq!(plain.parse(n(1), OrgType::Budget, None).unwrap_err()[0].field, "object_info");
    }

    #[test]
    fn breakdown_rows_are_checked_one_by_one() {
        let mut d = draft();
        d.kvr = String::new();
        d.lines = vec![line("244", "60 000"), line("24", "40000"), line("244", "1"), line("247", "сорок")];
        let errs = d.parse(n(1), OrgType::Budget, None).unwrap_err();
        let msgs: Vec<_> = errs.iter().map(|e| (e.field, e.message.as_str())).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].1.starts_with("Строка 2"));
        assert!(msgs[1].1.starts_with("Строка 3") && msgs[1].1.contains("уже есть"));
        assert!(msgs[2].1.starts_with("Строка 4"));
        d.lines = vec![line("244", "60 000"), line("247", "40000")];
        let p = d.parse(n(1), OrgType::Budget, None).unwrap();
        assert_eq!(p.kvr, None);
        assert_eq!(p.kvr_breakdown(OrgType::Budget), p.kvrs);
        let mut kbk = draft();
        kbk.lines = vec![line("0750702123456789024", "1")];
        assert!(kbk.parse(n(1), OrgType::Authority, None).unwrap_err()[0].message.contains("20 символов"));
    }

    #[test]
    fn old_stored_positions_still_read() {
        let old = r#"{"purchase_number":3,"publish_year":2026,"okpd2":"38.11.21.000","kvr":"244","object_info":"ТКО",
            "amounts":{"current":"10.00","first":"0","second":"0","subsequent":"0"},"kbk":"07507021234567890244","public_discussion":false}"#;
        let p: Position = serde_json::from_str(old).unwrap();
        assert_eq!(p.okpd2_text(), "38.11.21.000");
        assert_eq!(p.kbks, vec![BudgetLine { code: "07507021234567890244".into(), amounts: p.amounts }]);
        let again: Position = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(again, p);
    }

    #[test]
    fn change_marks() {
        let base = draft().parse(n(1), OrgType::Budget, None).unwrap();
        assert_eq!(base.mark(None), ChangeMark::New);
        assert_eq!(base.mark(Some(&base)), ChangeMark::Unchanged);
        let mut edited = base.clone();
        edited.amounts.first = Money::parse("5").unwrap();
        assert_eq!(edited.mark(Some(&base)), ChangeMark::Edited);
        let mut flagged = base.clone();
        flagged.energy_service = true;
        assert_eq!(flagged.mark(Some(&base)), ChangeMark::Edited);
        let mut justified_only = base.clone();
        justified_only.change = Some(parse_change("9", REASON_9, ChangeDecision::Changed, "Уточнение").unwrap());
        assert_eq!(justified_only.mark(Some(&base)), ChangeMark::Unchanged, "a reason alone changes nothing");
        let mut canceled = base.clone();
        canceled.change = Some(parse_change("9", REASON_9, ChangeDecision::Canceled, "Закупка не нужна").unwrap());
        assert_eq!(canceled.mark(Some(&base)), ChangeMark::Edited);
        assert!(canceled.is_canceled());
        // Cancelled in an earlier round: unchanged while it stays cancelled.
        assert_eq!(canceled.mark(Some(&canceled)), ChangeMark::Unchanged);
        assert_eq!(base.mark(Some(&canceled)), ChangeMark::Edited, "no longer cancelled is a change");
    }

    #[test]
    fn change_justification_is_required() {
        let errs = parse_change("77", None, ChangeDecision::Changed, " ").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["reason_code", "change_description"]);
    }

    #[test]
    fn purchase_numbers_continue() {
        let used = [n(1), n(3)];
        assert_eq!(next_purchase_number(used).unwrap().get(), 4);
        assert_eq!(next_purchase_number([]).unwrap().get(), 1);
    }

    #[test]
    fn target_article_rows() {
        let mut d = draft();
        d.target_lines = vec![line("0110100590", "60 000"), line("011010059", "40 000")];
        let errs = d.parse(n(1), OrgType::Budget, None).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "target_lines");
        assert!(errs[0].message.starts_with("Строка 2: целевая статья"), "{}", errs[0].message);
        d.target_lines[1].code = "01101S0590".into();
        let p = d.parse(n(1), OrgType::Budget, None).unwrap();
        assert_eq!(p.target_articles.len(), 2);
        assert_eq!(PositionDraft::of(&p).target_lines.len(), 2);
        assert_eq!(d.parse(n(1), OrgType::Authority, None).unwrap_err()[0].field, "target_lines", "not for type 01");
    }
}
