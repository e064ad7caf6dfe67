//! Status of document drafts: `fcsDocProjectStatusRequest` / `fcsDocProjectStatusResponse`
//! of `fcsIntegration.xsd` (data types `docProjectStatusRequestType` and
//! `docProjectStatusResponseType` of `IntegrationSMTypes.xsd`).
//!
//! A РИС asks about the packets that carried its drafts; for each ЕИС says whether the draft
//! was placed and, if so, the id of the published document (which the export is asked by).

pub use crate::ReadError;
use crate::packet::{Mode, PacketIndex, read_index_el, write_index};
use crate::xml::{self, El, Path, XmlWriter};
use crate::{bounds, ns};

/// `IntegrationSMTypes.xsd`: service messages.
pub const SM_NS: &str = "http://zakupki.gov.ru/oos/SMTypes/1";
/// `index/objectType` of service messages.
pub const OBJECT_TYPE_SM: &str = "SM";

const NS_INT: Option<&str> = Some(ns::INTEGRATION);
const NS_SM: Option<&str> = Some(SM_NS);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocProjectStatusRequest {
    pub index: PacketIndex,
    /// `index/id` of the packets that carried the drafts (1 or more, each 1–36 characters).
    pub doc_project_ids: Vec<String>,
}

impl DocProjectStatusRequest {
    /// A request with a fresh index (`objectType` = `SM`, receiver `OOS`).
    pub fn new(sender: impl Into<String>, mode: Mode, doc_project_ids: Vec<String>) -> Self {
        DocProjectStatusRequest { index: PacketIndex::new(sender, "OOS", OBJECT_TYPE_SM, mode), doc_project_ids }
    }
}

/// Whether the draft was placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocProjectState {
    /// `notPublished` = `true`.
    NotPublished,
    /// `publishedDocId`: the id of the published document.
    Published { published_doc_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocProjectStatus {
    /// The packet that carried the draft.
    pub doc_project_id: String,
    /// `index/id` of the final confirmation, once ЕИС has one.
    pub doc_project_confirm_id: Option<String>,
    pub state: DocProjectState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocProjectStatusResponse {
    pub index: PacketIndex,
    /// `index/id` of the request this answers.
    pub request_id: String,
    pub statuses: Vec<DocProjectStatus>,
}

fn open_root(w: &mut XmlWriter, root: &str) {
    w.open(root, &[("xmlns:int", ns::INTEGRATION), ("xmlns:sm", SM_NS)]);
}

pub fn write_doc_project_status_request(r: &DocProjectStatusRequest) -> String {
    let mut w = XmlWriter::new();
    open_root(&mut w, "int:fcsDocProjectStatusRequest");
    write_index(&mut w, &r.index);
    w.open("int:data", &[("schemeVersion", ns::SCHEME_VERSION)]);
    w.open("sm:docProjectsIds", &[]);
    for id in &r.doc_project_ids {
        w.leaf("sm:id", id);
    }
    w.close("sm:docProjectsIds");
    w.close("int:data");
    w.close("int:fcsDocProjectStatusRequest");
    w.finish()
}

pub fn write_doc_project_status_response(r: &DocProjectStatusResponse) -> String {
    let mut w = XmlWriter::new();
    open_root(&mut w, "int:fcsDocProjectStatusResponse");
    write_index(&mut w, &r.index);
    w.open("int:data", &[("schemeVersion", ns::SCHEME_VERSION)]);
    w.leaf("sm:requestId", &r.request_id);
    for s in &r.statuses {
        w.open("sm:docProjectsStatusInfo", &[]);
        w.leaf("sm:docProjectId", &s.doc_project_id);
        w.leaf_opt("sm:docProjectConfirmId", s.doc_project_confirm_id.as_deref());
        match &s.state {
            DocProjectState::NotPublished => w.leaf("sm:notPublished", "true"),
            DocProjectState::Published { published_doc_id } => w.leaf("sm:publishedDocId", published_doc_id),
        }
        w.close("sm:docProjectsStatusInfo");
    }
    w.close("int:data");
    w.close("int:fcsDocProjectStatusResponse");
    w.finish()
}

/// The root in the integration namespace, its path and its `data`.
fn root_and_data<'a, 'i>(doc: &'a roxmltree::Document<'i>, name: &str) -> Result<(El<'a, 'i>, Path), ReadError> {
    let root = El::new(doc.root_element());
    if !root.is(NS_INT, name) {
        return Err(ReadError::UnexpectedRoot {
            found: xml::qualified_name(root.node),
            expected: format!("{{{}}}{name}", ns::INTEGRATION),
        });
    }
    Ok((root, Path(name.to_owned())))
}

pub fn read_doc_project_status_request(xml: &str) -> Result<DocProjectStatusRequest, ReadError> {
    let doc = xml::parse_document(xml, &bounds::REPLY)?;
    let (root, path) = root_and_data(&doc, "fcsDocProjectStatusRequest")?;
    let index = read_index_el(root, &path)?;
    let dp = path.join("data");
    let data = root.req(NS_INT, "data", &path)?;
    let ids_path = dp.join("docProjectsIds");
    let ids = data.req(NS_SM, "docProjectsIds", &dp)?;
    let doc_project_ids: Vec<String> = ids.children(NS_SM, "id").map(|e| e.text()).collect();
    if doc_project_ids.is_empty() {
        return Err(ReadError::Missing(ids_path.join("id").0));
    }
    if let Some((i, bad)) = doc_project_ids.iter().enumerate().find(|(_, id)| id.is_empty() || id.chars().count() > 36)
    {
        return Err(ReadError::invalid(&ids_path.nth("id", i).0, bad, "expected 1–36 characters"));
    }
    Ok(DocProjectStatusRequest { index, doc_project_ids })
}

pub fn read_doc_project_status_response(xml: &str) -> Result<DocProjectStatusResponse, ReadError> {
    let doc = xml::parse_document(xml, &bounds::REPLY)?;
    let (root, path) = root_and_data(&doc, "fcsDocProjectStatusResponse")?;
    let index = read_index_el(root, &path)?;
    let dp = path.join("data");
    let data = root.req(NS_INT, "data", &path)?;
    let mut statuses = Vec::new();
    for (i, info) in data.children(NS_SM, "docProjectsStatusInfo").enumerate() {
        let ip = dp.nth("docProjectsStatusInfo", i);
        let state = match (info.opt_text(NS_SM, "publishedDocId"), info.opt_text(NS_SM, "notPublished")) {
            (Some(id), _) => DocProjectState::Published { published_doc_id: id },
            (None, Some(flag)) => {
                if !xml::parse_bool(&flag, &ip.join("notPublished").0)? {
                    return Err(ReadError::invalid(&ip.join("notPublished").0, &flag, "fixed to true"));
                }
                DocProjectState::NotPublished
            }
            (None, None) => return Err(ReadError::Missing(ip.join("notPublished").0)),
        };
        statuses.push(DocProjectStatus {
            doc_project_id: info.req_text(NS_SM, "docProjectId", &ip)?,
            doc_project_confirm_id: info.opt_text(NS_SM, "docProjectConfirmId"),
            state,
        });
    }
    if statuses.is_empty() {
        return Err(ReadError::Missing(dp.join("docProjectsStatusInfo").0));
    }
    Ok(DocProjectStatusResponse { index, request_id: data.req_text(NS_SM, "requestId", &dp)?, statuses })
}
