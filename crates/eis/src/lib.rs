//! The ЕИС (zakupki.gov.ru) exchange language of plangraf.
//!
//! * [`packet`] — the plan-schedule packets plangraf sends (`tenderPlan2020`,
//!   `tenderPlan2020Change`), written in the official namespaces and element order of the
//!   ЕИС integration schemas 14.1, and read back namespace-aware.
//! * [`reply`] — what ЕИС answers: `confirmation` packets and `errorInfo`.
//! * [`export`] — what ЕИС publishes (`export/tenderPlan2020`), read and written losslessly.
//! * [`client`] — the HTTPS client of the alternative integration (login/password).
//! * [`nsi`] — reference data (НСИ) exports: ОКПД2, КВР, change reasons, special purchases, КБК.
//!
//! Documents are written compact (no indentation whitespace) unless [`Layout::Pretty`] is
//! asked for.
//!
//! Writing is infallible: the writer emits whatever the value holds. Whether the value fits
//! the schema's lengths and patterns is answered by [`packet::PlanPacket::problems`]; whether
//! the written document is schema-valid is checked with the official XSD set in tests.

pub mod bounds;
pub mod client;
pub mod docproject;
pub mod export;
pub mod kept;
#[allow(unsafe_code, reason = "bindings to libxml2, the schema validator")]
mod libxml_ffi;
pub mod nsi;
pub mod nsi_organizations;
pub mod packet;
pub mod reply;
pub mod schemas;
#[allow(unsafe_code, reason = "calls into libxml2; every unsafe block says why it is sound")]
pub mod validate;
mod xml;

pub use xml::Layout;

/// Namespaces of the ЕИС integration schemas (version 14.1).
pub mod ns {
    /// `fcsIntegration.xsd`: packet roots, `index` and `data`.
    pub const INTEGRATION: &str = "http://zakupki.gov.ru/oos/integration/1";
    /// `IntegrationTPTypes.xsd`: plan-schedule 2020 types.
    pub const TP: &str = "http://zakupki.gov.ru/oos/TPtypes/1";
    /// `BaseTypes.xsd`: references such as OKPD2 and KVR.
    pub const BASE: &str = "http://zakupki.gov.ru/oos/base/1";
    /// `CommonTypes.xsd`: attachments, print forms.
    pub const COMMON: &str = "http://zakupki.gov.ru/oos/common/1";
    /// `fcsExport.xsd`: the root of what ЕИС publishes.
    pub const EXPORT: &str = "http://zakupki.gov.ru/oos/export/1";
    /// `IntegrationTypes.xsd`: `zfcs_confirmationType` and its violations.
    pub const TYPES: &str = "http://zakupki.gov.ru/oos/types/1";
    /// `docs-https-api.xsd`: replies of the services authorized by a user's login and password.
    pub const HTTPS_API: &str = "http://zakupki.gov.ru/fz44/https";
    /// The `schemeVersion` attribute written on every `data` element.
    pub const SCHEME_VERSION: &str = "14.1";
}

/// Why an XML document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("not well-formed XML: {0}")]
    Syntax(String),
    #[error("unexpected root element {found}, expected {expected}")]
    UnexpectedRoot { found: String, expected: String },
    #[error("missing element {0}")]
    Missing(String),
    #[error("invalid value {value:?} at {path}: {reason}")]
    Invalid { path: String, value: String, reason: String },
    #[error("unsupported content at {path}: {what}")]
    Unsupported { path: String, what: String },
    /// Over [`bounds::Limits::max_bytes`].
    #[error("document of {size} bytes is over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// Over [`bounds::Limits::max_depth`]: `line` is where the element one level too deep starts.
    #[error("elements nested deeper than {limit} levels (line {line})")]
    TooDeep { limit: usize, line: usize },
    /// Over [`bounds::Limits::max_nodes`].
    #[error("more than {limit} XML nodes")]
    TooManyNodes { limit: u32 },
}

impl ReadError {
    pub(crate) fn invalid(path: &str, value: &str, reason: &str) -> Self {
        // Cap the echoed value: it ends up in logs and in replies.
        let value: String = value.chars().take(100).collect();
        ReadError::Invalid { path: path.to_owned(), value, reason: reason.to_owned() }
    }

    /// The same in Russian, for people (violation texts, pages).
    pub fn message_ru(&self) -> String {
        match self {
            ReadError::Syntax(e) => format!("Документ не является корректным XML: {e}"),
            ReadError::UnexpectedRoot { found, expected } => {
                format!("Неожиданный корневой элемент {found}, ожидался {expected}")
            }
            ReadError::Missing(path) => format!("Отсутствует обязательный элемент {path}"),
            ReadError::Invalid { path, value, reason } => {
                format!("Недопустимое значение «{value}» элемента {path} ({reason})")
            }
            ReadError::Unsupported { path, what } => {
                format!("Не поддерживается содержимое элемента {path}: {what}")
            }
            ReadError::TooLarge { size, limit } => format!(
                "Документ слишком большой: {size} байт, допускается не более {}. Проверьте, что выбран нужный файл, \
                 или разделите его на части",
                size_ru(*limit)
            ),
            ReadError::TooDeep { limit, line } => format!(
                "Элементы документа вложены глубже {limit} уровней (строка {line}); документы ЕИС так глубоко не вкладываются. \
                 Проверьте, что передан документ ЕИС"
            ),
            ReadError::TooManyNodes { limit } => format!(
                "В документе больше {limit} элементов и текстов, столько не бывает в документах ЕИС такого размера. \
                 Проверьте, что передан документ ЕИС"
            ),
        }
    }
}

/// A byte count for people: megabytes from 1 MiB, else bytes.
fn size_ru(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} МБ", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{bytes} байт")
    }
}
