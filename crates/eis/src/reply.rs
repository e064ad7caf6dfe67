//! What ЕИС answers: the `confirmation` packet (`fcsIntegration.xsd`, data of
//! `oos:zfcs_confirmationType`) and `errorInfo` (`docs-https-api.xsd`).

pub use crate::ReadError;
use crate::packet::{PacketIndex, read_index_el, write_index};
use crate::xml::{self, El, Path, XmlWriter};
use crate::{bounds, ns};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmationResult {
    Success,
    Failure,
    /// Intermediate: ask again later for the same `refId`.
    Processing,
}

impl ConfirmationResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmationResult::Success => "success",
            ConfirmationResult::Failure => "failure",
            ConfirmationResult::Processing => "processing",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationLevel {
    Error,
    Warning,
}

impl ViolationLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationLevel::Error => "error",
            ViolationLevel::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// 1–10 characters.
    pub err_code: String,
    pub level: ViolationLevel,
    /// 1–200 characters; longer names are cut when written.
    pub name: String,
    /// Up to 2000 characters; longer texts are cut when written.
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The confirmation's own envelope (its id is not the packet's id; that is `ref_id`).
    pub index: PacketIndex,
    pub load_id: Option<String>,
    pub result: ConfirmationResult,
    pub violations: Vec<Violation>,
    pub load_url: Option<String>,
    /// `index/id` of the packet this confirmation is about.
    pub ref_id: String,
}

const NS_INT: Option<&str> = Some(ns::INTEGRATION);
const NS_OOS: Option<&str> = Some(ns::TYPES);

/// At most `max` characters. Whitespace the cut leaves at the end is dropped: the reader
/// trims texts, so a written text ending in it would not read back as written.
fn cut(s: &str, max: usize) -> String {
    let cut: String = s.chars().take(max).collect();
    match cut.trim_end() {
        t if t.len() == cut.len() => cut,
        t => t.to_owned(),
    }
}

pub fn write_confirmation(c: &Confirmation) -> String {
    let mut w = XmlWriter::new();
    w.open("int:confirmation", &[("xmlns:int", ns::INTEGRATION), ("xmlns:oos", ns::TYPES)]);
    write_index(&mut w, &c.index);
    w.open("int:data", &[("schemeVersion", ns::SCHEME_VERSION)]);
    w.leaf_opt("oos:loadId", c.load_id.as_deref());
    w.leaf("oos:result", c.result.as_str());
    if !c.violations.is_empty() {
        w.open("oos:violations", &[]);
        for v in &c.violations {
            w.open("oos:violation", &[]);
            w.leaf("oos:errCode", &v.err_code);
            w.leaf("oos:level", v.level.as_str());
            w.leaf("oos:name", &cut(&v.name, 200));
            w.leaf_opt("oos:description", v.description.as_deref().map(|d| cut(d, 2000)).as_deref());
            w.close("oos:violation");
        }
        w.close("oos:violations");
    }
    w.leaf_opt("oos:loadUrl", c.load_url.as_deref());
    w.leaf("oos:refId", &c.ref_id);
    w.close("int:data");
    w.close("int:confirmation");
    w.finish()
}

pub fn read_confirmation(xml: &str) -> Result<Confirmation, ReadError> {
    let doc = xml::parse_document(xml, &bounds::REPLY)?;
    let root = El::new(doc.root_element());
    if !root.is(NS_INT, "confirmation") {
        return Err(ReadError::UnexpectedRoot {
            found: xml::qualified_name(root.node),
            expected: format!("{{{}}}confirmation", ns::INTEGRATION),
        });
    }
    let path = Path("confirmation".into());
    let index = read_index_el(root, &path)?;
    let data = root.req(NS_INT, "data", &path)?;
    let dp = path.join("data");
    let result_text = data.req_text(NS_OOS, "result", &dp)?;
    let result = match result_text.as_str() {
        "success" => ConfirmationResult::Success,
        "failure" => ConfirmationResult::Failure,
        "processing" => ConfirmationResult::Processing,
        other => {
            return Err(ReadError::invalid(&dp.join("result").0, other, "expected success, failure or processing"));
        }
    };
    let mut violations = Vec::new();
    if let Some(list) = data.child(NS_OOS, "violations") {
        let lp = dp.join("violations");
        for (i, v) in list.children(NS_OOS, "violation").enumerate() {
            let vp = lp.nth("violation", i);
            let level_text = v.req_text(NS_OOS, "level", &vp)?;
            let level = match level_text.as_str() {
                "error" => ViolationLevel::Error,
                "warning" => ViolationLevel::Warning,
                other => return Err(ReadError::invalid(&vp.join("level").0, other, "expected error or warning")),
            };
            violations.push(Violation {
                err_code: v.req_text(NS_OOS, "errCode", &vp)?,
                level,
                name: v.req_text(NS_OOS, "name", &vp)?,
                description: v.opt_text(NS_OOS, "description"),
            });
        }
    }
    Ok(Confirmation {
        index,
        load_id: data.opt_text(NS_OOS, "loadId"),
        result,
        violations,
        load_url: data.opt_text(NS_OOS, "loadUrl"),
        ref_id: data.req_text(NS_OOS, "refId", &dp)?,
    })
}

/// `errorInfoType` of `docs-https-api.xsd`: how the login/password services of ЕИС report an
/// error. The schema declares it only as a local element, so the reply's root is `errorInfo`
/// in that schema's namespace with its children unqualified, as the schema's
/// `elementFormDefault="unqualified"` has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub code: i32,
    /// Up to 2000 characters; longer texts are cut when written.
    pub message: String,
}

pub fn write_error_info(e: &ErrorInfo) -> String {
    let mut w = XmlWriter::new();
    w.open("https:errorInfo", &[("xmlns:https", ns::HTTPS_API)]);
    w.leaf("code", &e.code.to_string());
    let message = cut(&e.message, 2000);
    // message has minLength 1.
    w.leaf("message", if message.is_empty() { "-" } else { &message });
    w.close("https:errorInfo");
    w.finish()
}

pub fn read_error_info(xml: &str) -> Result<ErrorInfo, ReadError> {
    let doc = xml::parse_document(xml, &bounds::REPLY)?;
    let root = El::new(doc.root_element());
    if !root.is(Some(ns::HTTPS_API), "errorInfo") {
        return Err(ReadError::UnexpectedRoot {
            found: xml::qualified_name(root.node),
            expected: format!("{{{}}}errorInfo", ns::HTTPS_API),
        });
    }
    let path = Path("errorInfo".into());
    // Unqualified per the schema; a qualified child is accepted too, being unambiguous.
    let field = |name: &'static str| -> Result<String, ReadError> {
        root.child(None, name)
            .or_else(|| root.child(Some(ns::HTTPS_API), name))
            .map(|e| e.text())
            .ok_or_else(|| ReadError::Missing(path.join(name).0))
    };
    let code = field("code")?;
    Ok(ErrorInfo { code: xml::parse_num(&code, &path.join("code").0, "not an integer")?, message: field("message")? })
}
