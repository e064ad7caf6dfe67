//! What ЕИС publishes: the export (`fcsExport.xsd`, root `export`) with one `tenderPlan2020`
//! of `tp:tenderPlan2020Type` — the placed version with its plan number, version number, the
//! РИС's `externalId` and every position's `positionNumber` beside its `extNumber`.
//!
//! The plan content is the same `tp:` content a packet's `data` carries, so writing and
//! reading go through [`crate::packet`]: the packet writer's `data` is copied under the export
//! root (with `id` and the dates ЕИС adds), and an export is read by copying its
//! `tenderPlan2020` into a packet's `data` for the packet reader.

use chrono::{DateTime, FixedOffset};
use roxmltree::Node;

pub use crate::ReadError;
use crate::ns;
use crate::packet::{Mode, OBJECT_TYPE_TP2020, PacketIndex, PlanData, PlanPacket, PlanPacketKind, read_plan_packet, write_plan_packet};
use crate::xml::{self, El, Path, XmlWriter};

/// `fcsExport.xsd`.
pub const EXPORT_NS: &str = "http://zakupki.gov.ru/oos/export/1";

const NS_TP: Option<&str> = Some(ns::TP);

/// A placed plan-schedule version as ЕИС exports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedPlan {
    /// `id`: ЕИС's own id of this revision.
    pub id: Option<i64>,
    pub create_date: Option<DateTime<FixedOffset>>,
    pub confirm_date: Option<DateTime<FixedOffset>>,
    pub publish_date: Option<DateTime<FixedOffset>>,
    /// The content; `plan_number`, `version_number` and every `position_number` are set in a
    /// real export.
    pub data: PlanData,
}

impl ExportedPlan {
    pub fn plan_number(&self) -> Option<&str> {
        self.data.plan_number.as_deref()
    }

    pub fn version_number(&self) -> Option<u32> {
        self.data.version_number
    }

    pub fn external_id(&self) -> &str {
        &self.data.external_id
    }

    /// `(extNumber, positionNumber)` of every position, in document order.
    pub fn position_numbers(&self) -> Vec<(&str, Option<&str>)> {
        self.data.positions.iter().map(|p| (p.ext_number.as_str(), p.position_number.as_deref())).collect()
    }
}

/// Prefixes for the namespaces met while copying: the known ones keep their usual prefixes.
struct Prefixes(Vec<(String, String)>);

impl Prefixes {
    fn new() -> Self {
        Prefixes(vec![(ns::TP.to_owned(), "tp".to_owned()), (ns::BASE.to_owned(), "base".to_owned())])
    }

    fn collect(&mut self, node: Node<'_, '_>) {
        for n in node.descendants().filter(Node::is_element) {
            let uris = n.tag_name().namespace().into_iter().chain(n.attributes().filter_map(|a| a.namespace()));
            for uri in uris {
                if !self.0.iter().any(|(u, _)| u == uri) {
                    let prefix = format!("n{}", self.0.len());
                    self.0.push((uri.to_owned(), prefix));
                }
            }
        }
    }

    fn qualify(&self, namespace: Option<&str>, local: &str) -> String {
        match namespace.and_then(|uri| self.0.iter().find(|(u, _)| u == uri)) {
            Some((_, prefix)) => format!("{prefix}:{local}"),
            None => local.to_owned(),
        }
    }

    fn declarations(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(uri, prefix)| (format!("xmlns:{prefix}"), uri.clone())).collect()
    }
}

fn attrs_of(node: Node<'_, '_>, prefixes: &Prefixes) -> Vec<(String, String)> {
    node.attributes().map(|a| (prefixes.qualify(a.namespace(), a.name()), a.value().to_owned())).collect()
}

fn as_refs(attrs: &[(String, String)]) -> Vec<(&str, &str)> {
    attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Copies an element with everything under it; `insert` may add elements after a child.
fn copy(w: &mut XmlWriter, node: Node<'_, '_>, prefixes: &Prefixes, insert: &dyn Fn(&mut XmlWriter, Node<'_, '_>)) {
    let name = prefixes.qualify(node.tag_name().namespace(), node.tag_name().name());
    let attrs = attrs_of(node, prefixes);
    if !node.children().any(|c| c.is_element()) {
        let text: String = node.children().filter(Node::is_text).filter_map(|c| c.text()).collect();
        if text.is_empty() && !attrs.is_empty() {
            w.empty(&name, &as_refs(&attrs));
        } else if attrs.is_empty() {
            w.leaf(&name, &text);
        } else {
            // A leaf with attributes and text (a print form's signature) is no plan content:
            // the element is kept, its text is not.
            w.open(&name, &as_refs(&attrs));
            w.close(&name);
        }
        return;
    }
    w.open(&name, &as_refs(&attrs));
    for child in node.children().filter(Node::is_element) {
        copy(w, child, prefixes, insert);
        insert(w, child);
    }
    w.close(&name);
}

/// Writes the export with the official namespaces and the element order of
/// `tp:tenderPlan2020Type` (14.1).
pub fn write_export(p: &ExportedPlan) -> String {
    let packet = PlanPacket {
        kind: PlanPacketKind::New,
        index: PacketIndex::new("OOS", "OOS", OBJECT_TYPE_TP2020, Mode::Prod),
        data: p.data.clone(),
    };
    let packet_xml = write_plan_packet(&packet);
    let mut w = XmlWriter::new();
    w.open("exp:export", &[("xmlns:exp", EXPORT_NS), ("xmlns:tp", ns::TP), ("xmlns:base", ns::BASE)]);
    w.open("exp:tenderPlan2020", &[("schemeVersion", ns::SCHEME_VERSION)]);
    // The packet writer's own output always parses; an empty plan is the fallback regardless.
    let Ok(doc) = xml::parse_document(&packet_xml) else {
        w.close("exp:tenderPlan2020");
        w.close("exp:export");
        return w.finish();
    };
    let data = doc.root_element().children().find(|n| n.is_element() && n.tag_name().name() == "data");
    if let Some(id) = p.id {
        w.leaf("tp:id", &id.to_string());
    }
    let prefixes = Prefixes::new();
    // Dates go after `commonInfo/planPeriod`, in the schema's order.
    let dates = |w: &mut XmlWriter, after: Node<'_, '_>| {
        let in_common_info = after.parent().is_some_and(|p| p.tag_name().name() == "commonInfo")
            && after.parent().and_then(|p| p.parent()).is_some_and(|pp| pp.tag_name().name() == "data");
        if in_common_info && after.tag_name().name() == "planPeriod" {
            for (name, date) in [("createDate", p.create_date), ("confirmDate", p.confirm_date), ("publishDate", p.publish_date)] {
                if let Some(d) = date {
                    w.leaf(&format!("tp:{name}"), &xml::date_time(&d));
                }
            }
        }
    };
    for child in data.into_iter().flat_map(|d| d.children()).filter(Node::is_element) {
        copy(&mut w, child, &prefixes, &dates);
    }
    w.close("exp:tenderPlan2020");
    w.close("exp:export");
    w.finish()
}

fn date(el: El<'_, '_>, name: &'static str, path: &Path) -> Result<Option<DateTime<FixedOffset>>, ReadError> {
    el.opt_text(NS_TP, name).map(|t| xml::parse_date_time(&t, &path.join(name).0)).transpose()
}

/// Reads an export holding a `tenderPlan2020` (also real ЕИС exports of older scheme
/// versions: what the model does not hold is skipped).
pub fn read_export(xml_text: &str) -> Result<ExportedPlan, ReadError> {
    let doc = xml::parse_document(xml_text)?;
    let root = El::new(doc.root_element());
    if !root.is(Some(EXPORT_NS), "export") {
        return Err(ReadError::UnexpectedRoot {
            found: xml::qualified_name(root.node),
            expected: format!("{{{EXPORT_NS}}}export"),
        });
    }
    let path = Path("export".into());
    let plan = root.req(Some(EXPORT_NS), "tenderPlan2020", &path)?;
    let plan_path = path.join("tenderPlan2020");

    // The same content as a packet's data, for the packet reader.
    let mut prefixes = Prefixes::new();
    prefixes.collect(plan.node);
    let mut w = XmlWriter::new();
    let mut root_attrs = vec![("xmlns:int".to_owned(), ns::INTEGRATION.to_owned())];
    root_attrs.extend(prefixes.declarations());
    w.open("int:tenderPlan2020", &as_refs(&root_attrs));
    crate::packet::write_index(&mut w, &PacketIndex::new("OOS", "OOS", OBJECT_TYPE_TP2020, Mode::Prod));
    w.open("int:data", &[("schemeVersion", ns::SCHEME_VERSION)]);
    for child in plan.node.children().filter(Node::is_element) {
        copy(&mut w, child, &prefixes, &|_, _| {});
    }
    w.close("int:data");
    w.close("int:tenderPlan2020");
    let packet = read_plan_packet(&w.finish()).map_err(|e| rebase(e, &plan_path))?;

    let ci_path = plan_path.join("commonInfo");
    let ci = plan.req(NS_TP, "commonInfo", &plan_path)?;
    let id = match plan.opt_text(NS_TP, "id") {
        Some(t) => Some(xml::parse_num(&t, &plan_path.join("id").0, "not an integer")?),
        None => None,
    };
    Ok(ExportedPlan {
        id,
        create_date: date(ci, "createDate", &ci_path)?,
        confirm_date: date(ci, "confirmDate", &ci_path)?,
        publish_date: date(ci, "publishDate", &ci_path)?,
        data: packet.data,
    })
}

/// Paths of the packet reader start at `tenderPlan2020/data`; the export's at
/// `export/tenderPlan2020`.
fn rebase(e: ReadError, plan_path: &Path) -> ReadError {
    let fix = |p: String| match p.strip_prefix("tenderPlan2020/data") {
        Some(rest) => format!("{}{rest}", plan_path.0),
        None => p,
    };
    match e {
        ReadError::Missing(p) => ReadError::Missing(fix(p)),
        ReadError::Invalid { path, value, reason } => ReadError::Invalid { path: fix(path), value, reason },
        ReadError::Unsupported { path, what } => ReadError::Unsupported { path: fix(path), what },
        other => other,
    }
}
