//! What ЕИС publishes: the export (`fcsExport.xsd`, root `export`) with one `tenderPlan2020`
//! of `tp:tenderPlan2020Type` — the placed version with its plan number, version number, the
//! РИС's `externalId`, every position's `positionNumber` beside its `extNumber`, and all that
//! ЕИС adds (dates, organization details, names, totals, attachments, the print form).
//!
//! The content is the same `tp:tenderPlan2020Type` a packet's `data` carries, so it is written
//! and read by the same code as packets ([`crate::packet`]). Reading keeps every element: what
//! the typed model has no field for is kept in place, so an export read and written again
//! carries the same elements and values (prefixes aside).

pub use crate::ReadError;
use crate::kept::Seen;
use crate::packet::{EisDateTime, PlanData, PlanPacketKind, Target, read_plan_content, write_plan_content};
use crate::xml::{self, El, Layout, Path, XmlWriter};
use crate::{bounds, ns};

/// `fcsExport.xsd`.
pub const EXPORT_NS: &str = ns::EXPORT;

/// A placed plan-schedule version as ЕИС exports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedPlan {
    /// `schemeVersion` of the `tenderPlan2020` element: the scheme version ЕИС wrote it in.
    pub scheme_version: String,
    /// The content; `id`, `plan_number`, `version_number`, the dates and every
    /// `position_number` are set in a real export.
    pub data: PlanData,
}

impl ExportedPlan {
    /// An export in the scheme version plangraf speaks (14.1).
    pub fn new(data: PlanData) -> Self {
        ExportedPlan { scheme_version: ns::SCHEME_VERSION.to_owned(), data }
    }

    /// `id`: ЕИС's own id of this revision.
    pub fn id(&self) -> Option<i64> {
        self.data.id
    }

    pub fn plan_number(&self) -> Option<&str> {
        self.data.plan_number.as_deref()
    }

    pub fn version_number(&self) -> Option<u32> {
        self.data.version_number
    }

    pub fn external_id(&self) -> &str {
        &self.data.external_id
    }

    pub fn publish_date(&self) -> Option<&EisDateTime> {
        self.data.publish_date.as_ref()
    }

    /// `(extNumber, positionNumber)` of every position and then every special position, in
    /// document order.
    pub fn position_numbers(&self) -> Vec<(&str, Option<&str>)> {
        self.data.position_numbers()
    }
}

/// Writes the export compact, with the official namespaces and the element order of
/// `tp:tenderPlan2020Type` (14.1). Money is written with the decimals it has (ЕИС writes
/// `0.0`), at most two.
pub fn write_export(p: &ExportedPlan) -> String {
    write_export_with(p, Layout::Compact)
}

/// The same in a chosen layout.
pub fn write_export_with(p: &ExportedPlan, layout: Layout) -> String {
    let mut w = XmlWriter::with_layout(layout);
    w.keep_money_scale();
    w.open_root("exp:export", &[("exp", ns::EXPORT), ("tp", ns::TP), ("base", ns::BASE), ("cmn", ns::COMMON)], &[]);
    w.open_scoped("exp:tenderPlan2020", &[("schemeVersion", &p.scheme_version)], &p.data.kept);
    write_plan_content(&mut w, &p.data, Target::Plan);
    w.close("exp:tenderPlan2020");
    w.close("exp:export");
    w.finish()
}

/// Reads an export holding a `tenderPlan2020` (also real ЕИС exports of older scheme versions),
/// keeping every element of it.
pub fn read_export(xml_text: &str) -> Result<ExportedPlan, ReadError> {
    let doc = xml::parse_document(xml_text, &bounds::EXPORT)?;
    let seen = Seen::new(&doc);
    let root = El::tracked(doc.root_element(), &seen);
    if !root.is(Some(EXPORT_NS), "export") {
        return Err(ReadError::UnexpectedRoot {
            found: xml::qualified_name(root.node),
            expected: format!("{{{EXPORT_NS}}}export"),
        });
    }
    let path = Path("export".into());
    let plan = root.req(Some(EXPORT_NS), "tenderPlan2020", &path)?;
    let plan_path = path.join("tenderPlan2020");
    let scheme_version = plan
        .node
        .attribute("schemeVersion")
        .ok_or_else(|| ReadError::Missing(format!("{}/@schemeVersion", plan_path.0)))?
        .to_owned();
    let data = read_plan_content(plan, &plan_path, PlanPacketKind::New)?;
    Ok(ExportedPlan { scheme_version, data })
}
