//! ЕИС's «Сводный перечень заказчиков» (СПЗ) as it exports it: `export/nsiOrganizationList`
//! of `fcsExport.xsd`, records of `zfcs_nsiOrganizationType` (`IntegrationTypes.xsd`). What a
//! region's onboarding needs of each Russian organization is read: the СПЗ registry number,
//! the names, ИНН, КПП, the current ИКУ, the organization type, ОКТМО, the level
//! (`subordinationType`: 1 federal, 2 regional, 3 municipal), the superior (`headAgency`) and
//! whether the record is actual. Foreign organizations (`organizationForeignCountry`) are
//! counted, not read: they are no customers of a Russian region.
//!
//! The values come as ЕИС wrote them, trimmed: checking them (an ИНН's check digit, an ИКУ
//! that matches ИНН and КПП) is the job of whoever takes them in, which says what is wrong per
//! record rather than refusing the whole file. Only the shape of the file is checked here: its
//! size and depth (`bounds::NSI`), the root, the list, each record's element and a readable
//! `actual`.

use roxmltree::Node;

use crate::ReadError;
use crate::bounds;
use crate::export::EXPORT_NS;
use crate::xml;

/// The list element under `export`.
pub const LIST: &str = "nsiOrganizationList";
/// Each record.
pub const RECORD: &str = "nsiOrganization";

/// One Russian organization of the list, as written there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsiOrganization {
    /// The record's place in the list, from 1 (for messages about it).
    pub position: usize,
    /// `regNumber`: the СПЗ code (11 digits in a correct file).
    pub reg_number: String,
    pub short_name: Option<String>,
    pub full_name: String,
    pub inn: String,
    pub kpp: String,
    /// The ИКУ in force: the last `IKUInfo` without an end date (none when every one ended).
    pub iku: Option<String>,
    /// `headAgency/regNum`: the СПЗ code of the superior organization.
    pub head_agency: Option<String>,
    /// `organizationType/code`.
    pub org_type: String,
    /// `OKTMO/code`.
    pub oktmo: Option<String>,
    /// `subordinationType`: `1`, `2` or `3` in a correct file.
    pub level: Option<String>,
    /// `actual`; absent in some exports.
    pub actual: Option<bool>,
}

/// A read list: the Russian organizations in file order, and how many foreign ones were left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganizationList {
    pub organizations: Vec<NsiOrganization>,
    pub foreign: usize,
}

/// Why the list could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("not valid UTF-8 text")]
    NotUtf8,
    #[error("a ZIP archive, not XML")]
    Zip,
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("no {LIST} in the document (found {found})")]
    NotTheList { found: String },
    #[error("the list has no organization")]
    Empty,
}

impl ListError {
    /// The same in Russian, for the page and the command line.
    pub fn message_ru(&self) -> String {
        match self {
            ListError::NotUtf8 => "Файл не является текстом в кодировке UTF-8. Загрузите XML-файл выгрузки ЕИС.".into(),
            ListError::Zip => "Это ZIP-архив. Распакуйте его и загрузите XML-файл сводного перечня заказчиков.".into(),
            ListError::Read(ReadError::UnexpectedRoot { found, .. }) => format!(
                "Файл не является выгрузкой ЕИС: корневой элемент {found}, ожидался export в пространстве имён {EXPORT_NS}"
            ),
            ListError::Read(e) => e.message_ru(),
            ListError::NotTheList { found } => {
                format!("В файле нет сводного перечня заказчиков ({LIST}): найден {found}")
            }
            ListError::Empty => "В сводном перечне заказчиков нет ни одной организации".into(),
        }
    }
}

/// Reads the list from its bytes, as uploaded.
pub fn read_organization_list_bytes(bytes: &[u8]) -> Result<OrganizationList, ListError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(ListError::Zip);
    }
    if bytes.len() > bounds::NSI.max_bytes {
        return Err(ReadError::TooLarge { size: bytes.len(), limit: bounds::NSI.max_bytes }.into());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ListError::NotUtf8)?;
    read_organization_list(text)
}

/// Reads `export/nsiOrganizationList` (also the list alone as the root, in the export namespace).
pub fn read_organization_list(xml_text: &str) -> Result<OrganizationList, ListError> {
    let doc = xml::parse_document(xml_text.strip_prefix('\u{feff}').unwrap_or(xml_text), &bounds::NSI)?;
    let root = doc.root_element();
    let in_export_ns = |n: Node<'_, '_>| n.tag_name().namespace() == Some(EXPORT_NS);
    let list = if in_export_ns(root) && root.tag_name().name() == "export" {
        root.children().find(Node::is_element).ok_or_else(|| ReadError::Missing(format!("export/{LIST}")))?
    } else if in_export_ns(root) && root.tag_name().name() == LIST {
        root
    } else {
        return Err(ReadError::UnexpectedRoot {
            found: xml::qualified_name(root),
            expected: format!("{{{EXPORT_NS}}}export"),
        }
        .into());
    };
    if !in_export_ns(list) || list.tag_name().name() != LIST {
        return Err(ListError::NotTheList { found: xml::qualified_name(list) });
    }
    let mut read = OrganizationList::default();
    for (i, record) in list.children().filter(Node::is_element).enumerate() {
        let path = format!("{LIST}/{RECORD}[{}]", i + 1);
        if record.tag_name().name() != RECORD {
            return Err(ReadError::Unsupported { path, what: format!("ожидался элемент {RECORD}") }.into());
        }
        if child(record, "organizationForeignCountry").is_some() {
            read.foreign += 1;
            continue;
        }
        read.organizations.push(read_record(record, i + 1, &path)?);
    }
    if read.organizations.is_empty() && read.foreign == 0 {
        return Err(ListError::Empty);
    }
    Ok(read)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The trimmed text of an element (its text children only).
fn text_of(node: Node<'_, '_>) -> String {
    node.children().filter(Node::is_text).filter_map(|t| t.text()).collect::<String>().trim().to_owned()
}

/// The text of the first child of this name, if present and not empty.
fn field(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(text_of).filter(|v| !v.is_empty())
}

/// The text of `outer/inner`, if present and not empty.
fn nested(node: Node<'_, '_>, outer: &str, inner: &str) -> Option<String> {
    child(node, outer).and_then(|o| field(o, inner))
}

fn read_record(record: Node<'_, '_>, position: usize, path: &str) -> Result<NsiOrganization, ReadError> {
    let iku = record
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "IKUInfo")
        .filter(|info| child(*info, "dateEndIKU").is_none_or(|end| text_of(end).is_empty()))
        .filter_map(|info| field(info, "IKU"))
        .next_back();
    let actual = match field(record, "actual") {
        Some(v) => Some(xml::parse_bool(&v, &format!("{path}/actual"))?),
        None => None,
    };
    Ok(NsiOrganization {
        position,
        reg_number: field(record, "regNumber").unwrap_or_default(),
        short_name: field(record, "shortName"),
        full_name: field(record, "fullName").unwrap_or_default(),
        inn: field(record, "INN").unwrap_or_default(),
        kpp: field(record, "KPP").unwrap_or_default(),
        iku,
        head_agency: nested(record, "headAgency", "regNum"),
        org_type: nested(record, "organizationType", "code").unwrap_or_default(),
        oktmo: nested(record, "OKTMO", "code"),
        level: field(record, "subordinationType"),
        actual,
    })
}
