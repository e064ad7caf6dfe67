//! Draft status (`fcsDocProjectStatusRequest`/`Response`) and the export (`export` with a
//! `tenderPlan2020`): round trips and validity against the official 14.1 schemas.

mod samples;

use eis::docproject::*;
use eis::export::*;
use eis::packet::Mode;
use eis::schemas::{self, EXPORT_XSD, INTEGRATION_XSD};
use samples::*;

const ID_A: &str = "6b1f9d3e-1c2a-4f5b-9a7e-0d3c2b1a0f9e";
const ID_B: &str = "0f3c2a8e-5d4b-4c3a-8b2a-1e0d9c8b7a6f";

#[test]
fn status_request_round_trips_and_validates() {
    let r = DocProjectStatusRequest::new("PLANGRAF", Mode::Test, vec![ID_A.into(), ID_B.into()]);
    assert_eq!(r.index.object_type, "SM");
    let xml = write_doc_project_status_request(&r);
    assert_eq!(read_doc_project_status_request(&xml).expect("read"), r);
    schemas::assert_valid_or_skip("fcsDocProjectStatusRequest", INTEGRATION_XSD, &xml);
    // At least one id.
    let empty = write_doc_project_status_request(&DocProjectStatusRequest { doc_project_ids: vec![], ..r });
    assert!(read_doc_project_status_request(&empty).is_err());
}

#[test]
fn status_response_round_trips_and_validates() {
    let request = DocProjectStatusRequest::new("PLANGRAF", Mode::Test, vec![ID_A.into(), ID_B.into()]);
    let r = DocProjectStatusResponse {
        index: eis::packet::PacketIndex::new("OOS", "PLANGRAF", OBJECT_TYPE_SM, Mode::Test),
        request_id: request.index.id.clone(),
        statuses: vec![
            DocProjectStatus {
                doc_project_id: ID_A.into(),
                doc_project_confirm_id: Some(ID_B.into()),
                state: DocProjectState::Published { published_doc_id: "5d9f0c1e-2b3a-4c5d-8e7f-6a5b4c3d2e1f".into() },
            },
            DocProjectStatus { doc_project_id: ID_B.into(), doc_project_confirm_id: None, state: DocProjectState::NotPublished },
        ],
    };
    let xml = write_doc_project_status_response(&r);
    assert_eq!(read_doc_project_status_response(&xml).expect("read"), r);
    schemas::assert_valid_or_skip("fcsDocProjectStatusResponse", INTEGRATION_XSD, &xml);
    // The choice is one of the two, in that order after the confirmation id.
    let a = xml.find("docProjectConfirmId").expect("confirm id");
    assert!(xml[a..].find("publishedDocId").is_some());
    assert!(read_doc_project_status_request(&xml).is_err(), "a response is not a request");
}

fn exported() -> ExportedPlan {
    let mut data = new_packet().data;
    data.plan_number = Some("202503722001684001".into());
    data.version_number = Some(3);
    for (i, p) in data.positions.iter_mut().enumerate() {
        p.position_number = Some(format!("202503722001684001{:06}", i + 1));
    }
    let at = chrono::DateTime::parse_from_rfc3339("2025-03-28T15:11:00+03:00").expect("date");
    ExportedPlan { id: Some(11071866), create_date: Some(at), confirm_date: Some(at), publish_date: Some(at), data }
}

#[test]
fn export_round_trips_and_validates() {
    let e = exported();
    let xml = write_export(&e);
    let back = read_export(&xml).unwrap_or_else(|err| panic!("{err}\n{xml}"));
    assert_eq!(back, e);
    assert_eq!(write_export(&back), xml);
    assert_eq!(back.plan_number(), Some("202503722001684001"));
    assert_eq!(back.version_number(), Some(3));
    assert_eq!(back.external_id(), e.data.external_id);
    let numbers = back.position_numbers();
    assert_eq!(numbers.len(), e.data.positions.len());
    assert_eq!(numbers[0], (e.data.positions[0].ext_number.as_str(), Some("202503722001684001000001")));
    schemas::assert_valid_or_skip("export tenderPlan2020", EXPORT_XSD, &xml);
    // The dates sit in commonInfo after planPeriod, id first.
    let period = xml.find("</tp:planPeriod>").expect("period");
    assert!(xml[period..].starts_with("</tp:planPeriod>\n      <tp:createDate>"), "{xml}");
    assert!(xml.find("<tp:id>").expect("id") < xml.find("<tp:externalId>").expect("externalId"));

    // Without the optional parts it is valid too.
    let bare = ExportedPlan { id: None, create_date: None, confirm_date: None, publish_date: None, ..exported() };
    let xml = write_export(&bare);
    assert_eq!(read_export(&xml).expect("read"), bare);
    schemas::assert_valid_or_skip("bare export", EXPORT_XSD, &xml);
}

#[test]
fn a_real_export_is_read() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/eis/tenderPlan2020.xml");
    let Ok(xml) = std::fs::read_to_string(&path) else {
        schemas::skipped(&format!("real export sample not found at {}", path.display()));
        return;
    };
    let e = read_export(&xml).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(e.plan_number(), Some("202303722001684001"));
    assert_eq!(e.version_number(), Some(5));
    assert_eq!(e.external_id(), "11837");
    assert_eq!(e.id, Some(11071866));
    assert!(e.publish_date.is_some());
    let numbers = e.position_numbers();
    assert!(!numbers.is_empty());
    assert!(numbers.iter().all(|(_, n)| n.is_some_and(|n| n.len() == 24 && n.starts_with("202303722001684001"))), "{numbers:?}");
    assert!(read_export("<export/>").is_err());
}
