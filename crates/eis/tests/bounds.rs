//! Every public reader refuses a document nested deeper than `bounds::MAX_DEPTH` with the
//! typed error (no stack overflow), and accepts one exactly at the limit; the recursive code
//! over kept content runs within a small stack at the limit.

mod samples;

use eis::ReadError;
use eis::bounds::{self, MAX_DEPTH};
use eis::docproject::*;
use eis::export::*;
use eis::nsi::*;
use eis::packet::*;
use eis::reply::*;
use samples::*;

/// `levels` nested elements, unqualified (kept content in a packet, ignored elsewhere).
fn nest(levels: usize) -> String {
    format!("{}{}", "<deep>".repeat(levels), "</deep>".repeat(levels))
}

/// The depth of the element whose end tag starts at `at` (its children are one deeper).
fn depth_at(xml: &str, at: usize) -> usize {
    let doc = roxmltree::Document::parse(xml).expect("well-formed");
    let node = doc
        .descendants()
        .rfind(|n| n.is_element() && n.range().end > at && n.range().start < at)
        .expect("an element around the position");
    node.ancestors().filter(|n| n.is_element()).count()
}

/// `xml` with a nest inside the element whose end tag is `end_tag` (its first occurrence),
/// reaching exactly `depth` levels in all.
fn with_nest_to(xml: &str, end_tag: &str, depth: usize) -> String {
    let at = xml.find(end_tag).unwrap_or_else(|| panic!("{end_tag} in {xml}"));
    let levels = depth - depth_at(xml, at);
    format!("{}{}{}", &xml[..at], nest(levels), &xml[at..])
}

fn is_too_deep<T: std::fmt::Debug>(r: Result<T, ReadError>) -> bool {
    matches!(r, Err(ReadError::TooDeep { limit: MAX_DEPTH, .. }))
}

fn packet_xml() -> String {
    write_plan_packet(&new_packet())
}

fn confirmation_xml() -> String {
    write_confirmation(&Confirmation {
        index: index("b0921248-4f7f-40f2-9d5d-2ad9b60a42f2"),
        load_id: Some("81451225".into()),
        result: ConfirmationResult::Success,
        violations: vec![],
        load_url: None,
        ref_id: "0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c".into(),
    })
}

fn error_info_xml() -> String {
    write_error_info(&ErrorInfo { code: 1001, message: "Неверный логин".into() })
}

fn status_request_xml() -> String {
    write_doc_project_status_request(&DocProjectStatusRequest::new(
        "PLANGRAF",
        Mode::Test,
        vec!["6b1f9d3e-1c2a-4f5b-9a7e-0d3c2b1a0f9e".into()],
    ))
}

fn status_response_xml() -> String {
    write_doc_project_status_response(&DocProjectStatusResponse {
        index: PacketIndex::new("OOS", "PLANGRAF", OBJECT_TYPE_SM, Mode::Test),
        request_id: "6b1f9d3e-1c2a-4f5b-9a7e-0d3c2b1a0f9e".into(),
        statuses: vec![DocProjectStatus {
            doc_project_id: "0f3c2a8e-5d4b-4c3a-8b2a-1e0d9c8b7a6f".into(),
            doc_project_confirm_id: None,
            state: DocProjectState::NotPublished,
        }],
    })
}

fn export_xml() -> String {
    write_export(&ExportedPlan::new(new_packet().data))
}

fn nsi_xml() -> String {
    write_nsi(&NsiDocument {
        catalog: Catalog::Kvr,
        entries: vec![Entry {
            code: "244".into(), name: "Прочая закупка".into(), parent_code: None, actual: true
        }],
    })
}

/// A public reader's name, a document of its kind, the end tag to put a nest before, and
/// whether the reader refused a document for its depth.
type Reader = (&'static str, String, &'static str, Box<dyn Fn(&str) -> bool>);

fn readers() -> Vec<Reader> {
    vec![
        ("read_plan_packet", packet_xml(), "</tp:position>", Box::new(|x| is_too_deep(read_plan_packet(x)))),
        ("read_packet_index", packet_xml(), "</int:index>", Box::new(|x| is_too_deep(read_packet_index(x)))),
        ("read_confirmation", confirmation_xml(), "</", Box::new(|x| is_too_deep(read_confirmation(x)))),
        ("read_error_info", error_info_xml(), "</", Box::new(|x| is_too_deep(read_error_info(x)))),
        (
            "read_doc_project_status_request",
            status_request_xml(),
            "</",
            Box::new(|x| is_too_deep(read_doc_project_status_request(x))),
        ),
        (
            "read_doc_project_status_response",
            status_response_xml(),
            "</",
            Box::new(|x| is_too_deep(read_doc_project_status_response(x))),
        ),
        ("read_export", export_xml(), "</tp:position>", Box::new(|x| is_too_deep(read_export(x)))),
        (
            "read_nsi",
            nsi_xml(),
            "</",
            Box::new(|x| matches!(read_nsi(x), Err(NsiError::Read(ReadError::TooDeep { .. })))),
        ),
        (
            "read_nsi_bytes",
            nsi_xml(),
            "</",
            Box::new(|x| matches!(read_nsi_bytes(x.as_bytes()), Err(NsiError::Read(ReadError::TooDeep { .. })))),
        ),
    ]
}

#[test]
fn ten_thousand_levels_are_refused_by_every_reader() {
    for (name, xml, end_tag, too_deep) in readers() {
        let at = xml.find(end_tag).expect("end tag");
        let deep = format!("{}{}{}", &xml[..at], nest(10_000), &xml[at..]);
        assert!(too_deep(&deep), "{name} did not refuse 10,000 levels");
    }
}

#[test]
fn a_document_exactly_at_the_limit_is_not_refused_for_depth() {
    for (name, xml, end_tag, too_deep) in readers() {
        assert!(!too_deep(&with_nest_to(&xml, end_tag, MAX_DEPTH)), "{name} refused {MAX_DEPTH} levels");
        assert!(too_deep(&with_nest_to(&xml, end_tag, MAX_DEPTH + 1)), "{name} accepted {} levels", MAX_DEPTH + 1);
    }
}

#[test]
fn the_refusal_says_what_happened_in_russian() {
    let xml = packet_xml();
    let at = xml.find("</tp:position>").expect("position");
    let deep = format!("{}{}{}", &xml[..at], nest(10_000), &xml[at..]);
    let e = read_plan_packet(&deep).expect_err("refused");
    assert!(e.message_ru().contains(&format!("вложены глубже {MAX_DEPTH} уровней")), "{}", e.message_ru());
    let big = format!("{xml}{}", " ".repeat(bounds::REPLY.max_bytes));
    let e = read_confirmation(&big).expect_err("refused");
    assert!(matches!(e, ReadError::TooLarge { limit, .. } if limit == bounds::REPLY.max_bytes), "{e:?}");
    let expected = format!("Документ слишком большой: {} байт, допускается не более 8.0 МБ", big.len());
    assert!(e.message_ru().starts_with(&expected), "{}", e.message_ru());
}

/// Kept content is read, written, cloned, compared and dropped recursively: at the depth
/// limit all of it fits in a 256 KiB stack, an eighth of what a Rust thread gets by default.
#[test]
fn kept_content_at_the_limit_fits_a_small_stack() {
    let xml = with_nest_to(&packet_xml(), "</tp:position>", MAX_DEPTH);
    let worker = std::thread::Builder::new().stack_size(256 * 1024).spawn(move || {
        let p = read_plan_packet(&xml).expect("readable at the limit");
        assert_eq!(p.data.positions[0].kept.iter().count(), 1);
        let written = write_plan_packet(&p);
        assert!(written.contains(&"<deep>".repeat(MAX_DEPTH - 10)), "the nest is written back");
        let again = read_plan_packet(&written).expect("written packet readable");
        assert_eq!(again, p);
        assert_eq!(write_plan_packet(&again), written);
        let copy = again.clone();
        drop(again);
        format!("{copy:?}").len()
    });
    let printed = worker.expect("thread spawned").join().expect("no stack overflow at the limit");
    assert!(printed > 0);
}
