//! ЕИС reference data (НСИ) as ЕИС exports it (`fcsExport.xsd`, root `export`): the catalogs a
//! plan-schedule refers to, read into one uniform [`Entry`] per record.
//!
//! | catalog | list element | record type (`IntegrationTypes.xsd`) | name taken from |
//! |---|---|---|---|
//! | ОКПД2 | `nsiOKPD2List` | `zfcs_nsiOKPD2Type` | `name` |
//! | КВР | `nsiKVRList` | `zfcs_nsiKVRType` | `name` |
//! | change reasons | `nsiTenderPlan2020PositionChangeReasons` | `zfcs_nsiTenderPlan2020PositionChangeReasonType` | `shortName` |
//! | special purchases | `nsiSpecialPurchases2020` | `zfcs_nsiSpecialPurchase2020Type` | `fullName` |
//! | КБК | `nsiKBKBudgetList` | `zfcs_nsiKBKBudgetType` | none in ЕИС: the budget codes |
//!
//! A КБК record pairs a code with one budget, so the same КБК may come once per budget; such
//! records are merged into one entry naming every budget. Other catalogs may repeat a code
//! (an old record and its current replacement): the actual one is kept.
//!
//! Reading uses roxmltree: the whole ОКПД2 (about 40 000 records, ~25 MB) takes a few times
//! its size in memory for well under a second, which a one-off administrative load affords.

use roxmltree::Node;

use crate::ReadError;
use crate::export::EXPORT_NS;
use crate::xml::{self, XmlWriter};
use crate::{bounds, ns};

pub use domain::nsi::{Catalog, Entry};

/// The list element of a catalog under `export`.
pub fn list_element(catalog: Catalog) -> &'static str {
    match catalog {
        Catalog::Okpd2 => "nsiOKPD2List",
        Catalog::Kvr => "nsiKVRList",
        Catalog::ChangeReason => "nsiTenderPlan2020PositionChangeReasons",
        Catalog::SpecialPurchase => "nsiSpecialPurchases2020",
        Catalog::Kbk => "nsiKBKBudgetList",
    }
}

/// The record element inside the list.
pub fn entry_element(catalog: Catalog) -> &'static str {
    match catalog {
        Catalog::Okpd2 => "nsiOKPD2",
        Catalog::Kvr => "nsiKVR",
        Catalog::ChangeReason => "nsiTenderPlan2020PositionChangeReason",
        Catalog::SpecialPurchase => "nsiSpecialPurchase2020",
        Catalog::Kbk => "nsiKBKBudget",
    }
}

fn catalog_of_list_element(name: &str) -> Option<Catalog> {
    Catalog::ALL.into_iter().find(|c| list_element(*c) == name)
}

/// A whole catalog export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsiDocument {
    pub catalog: Catalog,
    pub entries: Vec<Entry>,
}

/// Why an NSI file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NsiError {
    #[error("not valid UTF-8 text")]
    NotUtf8,
    #[error("a ZIP archive, not XML")]
    Zip,
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("no supported NSI catalog in the document (found {found})")]
    UnknownCatalog { found: String },
    #[error("the {list} list has no {entry} records")]
    Empty { list: String, entry: String },
}

impl NsiError {
    /// The same in Russian, for the page and the command line.
    pub fn message_ru(&self) -> String {
        match self {
            NsiError::NotUtf8 => {
                "Файл не является текстом в кодировке UTF-8. Загрузите XML-файл выгрузки НСИ ЕИС.".into()
            }
            NsiError::Zip => "Это ZIP-архив. Распакуйте его и загрузите XML-файл справочника.".into(),
            NsiError::Read(ReadError::UnexpectedRoot { found, .. }) => format!(
                "Файл не является выгрузкой НСИ ЕИС: корневой элемент {found}, ожидался export в пространстве имён {EXPORT_NS}"
            ),
            NsiError::Read(e) => e.message_ru(),
            NsiError::UnknownCatalog { found } => format!(
                "В файле нет справочника, который загружает plangraf (найден {found}). Поддерживаются: {}.",
                Catalog::ALL.map(list_element).join(", ")
            ),
            NsiError::Empty { list, entry } => format!("Справочник {list} в файле пуст: нет ни одной записи {entry}"),
        }
    }
}

/// Reads an NSI export from its bytes (as uploaded).
pub fn read_nsi_bytes(bytes: &[u8]) -> Result<NsiDocument, NsiError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(NsiError::Zip);
    }
    // The size first: no point checking the encoding of a file the reader will refuse.
    if bytes.len() > bounds::NSI.max_bytes {
        return Err(ReadError::TooLarge { size: bytes.len(), limit: bounds::NSI.max_bytes }.into());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| NsiError::NotUtf8)?;
    read_nsi(text)
}

/// Reads an NSI export: `export` with one of the supported lists (also the list alone as the
/// root, in the export namespace).
pub fn read_nsi(xml_text: &str) -> Result<NsiDocument, NsiError> {
    let doc = xml::parse_document(xml_text.strip_prefix('\u{feff}').unwrap_or(xml_text), &bounds::NSI)?;
    let root = doc.root_element();
    let in_export_ns = |n: Node<'_, '_>| n.tag_name().namespace() == Some(EXPORT_NS);
    let (list, path) = if in_export_ns(root) && root.tag_name().name() == "export" {
        let list =
            root.children().find(Node::is_element).ok_or_else(|| ReadError::Missing("export/nsi…List".into()))?;
        (list, "export".to_owned())
    } else if in_export_ns(root) && catalog_of_list_element(root.tag_name().name()).is_some() {
        (root, String::new())
    } else {
        return Err(ReadError::UnexpectedRoot {
            found: xml::qualified_name(root),
            expected: format!("{{{EXPORT_NS}}}export"),
        }
        .into());
    };
    let catalog = catalog_of_list_element(list.tag_name().name())
        .filter(|_| in_export_ns(list))
        .ok_or_else(|| NsiError::UnknownCatalog { found: xml::qualified_name(list) })?;
    let list_path =
        if path.is_empty() { list_element(catalog).to_owned() } else { format!("{path}/{}", list_element(catalog)) };
    let mut entries = Vec::new();
    for (i, record) in list.children().filter(|n| n.is_element()).enumerate() {
        let record_path = format!("{list_path}/{}[{}]", record.tag_name().name(), i + 1);
        if record.tag_name().name() != entry_element(catalog) {
            return Err(ReadError::Unsupported {
                path: record_path,
                what: format!("ожидался элемент {}", entry_element(catalog)),
            }
            .into());
        }
        entries.push(read_entry(catalog, record, &record_path)?);
    }
    if entries.is_empty() {
        return Err(NsiError::Empty { list: list_element(catalog).into(), entry: entry_element(catalog).into() });
    }
    Ok(NsiDocument { catalog, entries: merge(catalog, entries) })
}

/// Text of the first child element with this local name. The record's fields are in the
/// types namespace; matching the local name alone also reads files that put them elsewhere.
fn field(record: Node<'_, '_>, name: &str) -> Option<String> {
    record
        .children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
        .map(|c| c.children().filter(Node::is_text).filter_map(|t| t.text()).collect::<String>().trim().to_owned())
}

fn required(record: Node<'_, '_>, name: &str, path: &str) -> Result<String, ReadError> {
    match field(record, name) {
        Some(v) if !v.is_empty() => Ok(v),
        Some(v) => Err(ReadError::invalid(&format!("{path}/{name}"), &v, "пустое значение")),
        None => Err(ReadError::Missing(format!("{path}/{name}"))),
    }
}

fn read_entry(catalog: Catalog, record: Node<'_, '_>, path: &str) -> Result<Entry, ReadError> {
    let actual = xml::parse_bool(&required(record, "actual", path)?, &format!("{path}/actual"))?;
    let optional = |name: &str| field(record, name).filter(|v| !v.is_empty());
    let entry = match catalog {
        Catalog::Okpd2 | Catalog::Kvr => Entry {
            code: required(record, "code", path)?,
            name: required(record, "name", path)?,
            parent_code: optional("parentCode"),
            actual,
        },
        Catalog::ChangeReason => Entry {
            code: required(record, "code", path)?,
            name: optional("shortName").unwrap_or_default(),
            parent_code: None,
            actual,
        },
        Catalog::SpecialPurchase => Entry {
            code: required(record, "code", path)?,
            name: required(record, "fullName", path)?,
            parent_code: None,
            actual,
        },
        Catalog::Kbk => {
            let kbk = required(record, "kbk", path)?;
            if kbk.chars().count() != 20 {
                return Err(ReadError::invalid(&format!("{path}/kbk"), &kbk, "КБК состоит из 20 знаков"));
            }
            let budget = required(record, "budget", path)?;
            if budget.chars().count() > 8 {
                return Err(ReadError::invalid(&format!("{path}/budget"), &budget, "код бюджета не длиннее 8 знаков"));
            }
            Entry { code: kbk, name: budget, parent_code: None, actual }
        }
    };
    Ok(entry)
}

/// One entry per code, in the order of first appearance. For КБК `name` holds the budget code
/// of each record until here; the merged entry names them all.
fn merge(catalog: Catalog, entries: Vec<Entry>) -> Vec<Entry> {
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
    let mut budgets: Vec<Vec<String>> = Vec::new();
    for e in entries {
        match index.get(&e.code) {
            None => {
                index.insert(e.code.clone(), out.len());
                if catalog == Catalog::Kbk {
                    budgets.push(vec![e.name.clone()]);
                }
                out.push(e);
            }
            Some(&i) if catalog == Catalog::Kbk => {
                if !budgets[i].contains(&e.name) {
                    budgets[i].push(e.name.clone());
                }
                out[i].actual |= e.actual;
            }
            // An actual record replaces a retired one with the same code, and a later actual
            // one an earlier.
            Some(&i) => {
                if e.actual || !out[i].actual {
                    out[i] = e;
                }
            }
        }
    }
    if catalog == Catalog::Kbk {
        for (e, b) in out.iter_mut().zip(budgets) {
            e.name = kbk_name(&b);
        }
    }
    out
}

const KBK_ONE_BUDGET: &str = "Код бюджета ";
const KBK_BUDGETS: &str = "Коды бюджетов: ";

/// What a КБК entry shows: ЕИС gives no name, only the budgets the code belongs to.
pub fn kbk_name(budgets: &[String]) -> String {
    match budgets {
        [one] => format!("{KBK_ONE_BUDGET}{one}"),
        many => format!("{KBK_BUDGETS}{}", many.join(", ")),
    }
}

/// The (first) budget code a КБК entry's name holds, see [`kbk_name`]; for a name made some
/// other way, its first digits.
fn budget_of(name: &str) -> String {
    if let Some(one) = name.strip_prefix(KBK_ONE_BUDGET) {
        one.to_owned()
    } else if let Some(many) = name.strip_prefix(KBK_BUDGETS) {
        many.split(", ").next().unwrap_or_default().to_owned()
    } else {
        name.chars().filter(char::is_ascii_digit).take(8).collect()
    }
}

/// Writes a catalog as ЕИС exports it (element order of the 14.1 types). For tests and for
/// handing a catalog to another system; `id` is the record's position, `budget` of a КБК the
/// (first) budget code its name holds.
pub fn write_nsi(doc: &NsiDocument) -> String {
    let mut w = XmlWriter::new();
    w.open("exp:export", &[("xmlns:exp", EXPORT_NS), ("xmlns:oos", ns::TYPES)]);
    let list = format!("exp:{}", list_element(doc.catalog));
    let entry = format!("exp:{}", entry_element(doc.catalog));
    w.open(&list, &[]);
    for (i, e) in doc.entries.iter().enumerate() {
        let id = (i + 1).to_string();
        let actual = if e.actual { "true" } else { "false" };
        w.open(&entry, &[]);
        match doc.catalog {
            Catalog::Okpd2 => {
                w.leaf("oos:id", &id);
                w.leaf("oos:code", &e.code);
                w.leaf_opt("oos:parentCode", e.parent_code.as_deref());
                w.leaf("oos:name", &e.name);
                w.leaf("oos:actual", actual);
            }
            Catalog::Kvr => {
                w.leaf("oos:code", &e.code);
                w.leaf("oos:name", &e.name);
                w.leaf_opt("oos:parentCode", e.parent_code.as_deref());
                w.leaf("oos:actual", actual);
            }
            Catalog::ChangeReason => {
                w.leaf("oos:id", &id);
                w.leaf("oos:code", &e.code);
                w.leaf_opt("oos:shortName", Some(&e.name));
                w.leaf("oos:actual", actual);
            }
            Catalog::SpecialPurchase => {
                w.leaf("oos:id", &id);
                w.leaf("oos:code", &e.code);
                w.leaf("oos:fullName", &e.name);
                w.leaf("oos:actual", actual);
            }
            Catalog::Kbk => {
                let budget = budget_of(&e.name);
                w.leaf("oos:kbk", &e.code);
                w.leaf("oos:budget", &budget);
                w.leaf("oos:actual", actual);
            }
        }
        w.close(&entry);
    }
    w.close(&list);
    w.close("exp:export");
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_codes_round_trip() {
        for c in Catalog::ALL {
            assert_eq!(Catalog::from_code(c.code()), Some(c));
            assert_eq!(catalog_of_list_element(list_element(c)), Some(c));
        }
        assert_eq!(Catalog::from_code("okved2"), None);
    }

    #[test]
    fn kbk_records_merge_by_code() {
        let e = |code: &str, budget: &str, actual| Entry {
            code: code.into(),
            name: budget.into(),
            parent_code: None,
            actual,
        };
        let merged =
            merge(Catalog::Kbk, vec![e("A", "1", false), e("B", "2", true), e("A", "3", true), e("A", "1", true)]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].name, "Коды бюджетов: 1, 3");
        assert!(merged[0].actual);
        assert_eq!(merged[1].name, "Код бюджета 2");
    }

    #[test]
    fn an_actual_record_wins_over_a_retired_one() {
        let e = |name: &str, actual| Entry { code: "9".into(), name: name.into(), parent_code: None, actual };
        let merged = merge(Catalog::ChangeReason, vec![e("новая", true), e("старая", false)]);
        assert_eq!(merged, vec![e("новая", true)]);
        let merged = merge(Catalog::ChangeReason, vec![e("старая", false), e("новая", true)]);
        assert_eq!(merged, vec![e("новая", true)]);
    }
}
