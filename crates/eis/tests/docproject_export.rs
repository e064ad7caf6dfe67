//! Draft status (`fcsDocProjectStatusRequest`/`Response`) and the export (`export` with a
//! `tenderPlan2020`): round trips and validity against the official 14.1 schemas.

mod samples;

use eis::docproject::*;
use eis::export::*;
use eis::packet::{Decision, Mode};
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
            DocProjectStatus {
                doc_project_id: ID_B.into(),
                doc_project_confirm_id: None,
                state: DocProjectState::NotPublished,
            },
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
    data.id = Some(11071866);
    data.plan_number = Some("202503722001684001".into());
    data.version_number = Some(3);
    for (i, p) in data.positions.iter_mut().enumerate() {
        p.position_number = Some(format!("202503722001684001{:06}", i + 1));
    }
    for (i, p) in data.special_positions.iter_mut().enumerate() {
        p.position_number = Some(format!("202503722001684001{:06}", i + 11));
    }
    let at = chrono::DateTime::parse_from_rfc3339("2025-03-28T15:11:00+03:00").expect("date");
    data.create_date = Some(at.into());
    data.confirm_date = Some(at.into());
    data.publish_date = Some(at.into());
    ExportedPlan::new(data)
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
    assert_eq!(back.id(), Some(11071866));
    let numbers = back.position_numbers();
    assert_eq!(numbers.len(), e.data.positions.len() + e.data.special_positions.len());
    assert_eq!(numbers[0], (e.data.positions[0].ext_number.as_str(), Some("202503722001684001000001")));
    assert_eq!(numbers[2], (e.data.special_positions[0].ext_number.as_str(), Some("202503722001684001000011")));
    schemas::assert_valid_or_skip("export tenderPlan2020", EXPORT_XSD, &xml);
    // The dates sit in commonInfo after planPeriod, id first.
    let period = xml.find("</tp:planPeriod>").expect("period");
    assert!(
        xml[period..].starts_with("</tp:planPeriod><tp:createDate>2025-03-28T15:11:00+03:00</tp:createDate>"),
        "{xml}"
    );
    assert!(xml.find("<tp:id>").expect("id") < xml.find("<tp:externalId>").expect("externalId"));
    assert!(xml.contains("<exp:tenderPlan2020 schemeVersion=\"14.1\">"));

    // Without the optional parts it is valid too.
    let mut bare = exported();
    bare.data.id = None;
    bare.data.create_date = None;
    bare.data.confirm_date = None;
    bare.data.publish_date = None;
    let xml = write_export(&bare);
    assert_eq!(read_export(&xml).expect("read"), bare);
    schemas::assert_valid_or_skip("bare export", EXPORT_XSD, &xml);
}

/// The real ЕИС export (scheme version 13.1, one position, one special position with its
/// change justification, totals, attachments, a signed print form).
fn real_export() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/eis/tenderPlan2020.xml");
    match std::fs::read_to_string(&path) {
        Ok(xml) => Some(xml),
        Err(_) => {
            schemas::skipped(&format!("real export sample not found at {}", path.display()));
            None
        }
    }
}

#[test]
fn a_real_export_is_read() {
    let Some(xml) = real_export() else { return };
    let e = read_export(&xml).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(e.scheme_version, "13.1");
    assert_eq!(e.plan_number(), Some("202303722001684001"));
    assert_eq!(e.version_number(), Some(5));
    assert_eq!(e.external_id(), "11837");
    assert_eq!(e.id(), Some(11071866));
    assert_eq!(e.publish_date().map(|d| d.as_str()), Some("2028-04-13T17:37:51+03:00"));
    // A date written without an offset is Moscow time, and stays written without one.
    let confirm = e.data.confirm_date.as_ref().expect("confirmDate");
    assert_eq!(confirm.as_str(), "2026-04-13T17:35:11");
    assert_eq!(confirm.at().to_rfc3339(), "2026-04-13T17:35:11+03:00");
    assert_eq!(e.data.direct_date.as_ref().map(|d| d.as_str()), Some("2027-04-13T17:35:11"));
    let numbers = e.position_numbers();
    assert_eq!(numbers.len(), 2);
    assert!(
        numbers.iter().all(|(_, n)| n.is_some_and(|n| n.len() == 24 && n.starts_with("202303722001684001"))),
        "{numbers:?}"
    );

    // The customer as ЕИС's directory has it.
    let c = &e.data.customer;
    assert_eq!(e.data.customer_reg_num, "03722001684");
    assert_eq!(c.org.inn.as_deref(), Some("7802139698"));
    assert_eq!(c.org.kpp.as_deref(), Some("780201001"));
    assert_eq!(c.org.oktmo.as_ref().map(|o| o.code.as_str()), Some("40318000"));
    assert_eq!(c.org.phone.as_deref(), Some("7-812-5171136"));
    assert_eq!(c.org.email.as_deref(), Some("130@shko.la"));
    assert!(
        c.org
            .fact_address
            .as_deref()
            .is_some_and(|a| a.starts_with("Российская Федерация, 194295") && a.ends_with("ЛИТ. А"))
    );
    assert!(c.org.full_name.as_deref().is_some_and(|n| n.contains("МЛАДШЕГО\n") && n.ends_with("САНКТ-ПЕТЕРБУРГА")));
    let authority = c.org.control_authority.as_ref().expect("control authority");
    assert_eq!((authority.reg_num.as_str(), authority.cons_registry_num.as_deref()), ("01722000032", Some("40200125")));
    assert_eq!(c.okopf.as_ref().map(|o| o.code.as_str()), Some("75203"));
    assert!(
        c.okopf.as_ref().and_then(|o| o.name.as_deref()).is_some_and(|n| n.starts_with("Государственное бюджетное"))
    );
    assert_eq!(c.okfs.as_ref().map(|o| o.code.as_str()), Some("13"));
    assert_eq!(c.oktmo_ppo.as_ref().map(|o| o.code.as_str()), Some("40318000"));
    assert_eq!(e.data.owner.email.as_deref(), Some("130@shko.la"));
    let contact = e.data.confirm_contact.as_ref().expect("confirmContactInfo");
    assert_eq!(
        (contact.last_name.as_str(), contact.middle_name.as_deref(), contact.position.as_str()),
        ("Фамилия", Some("Отчество"), "Тестировщик")
    );

    // The position with what ЕИС adds: total, positionCanceled; the names are kept.
    let p = &e.data.positions[0];
    assert_eq!(p.canceled, Some(false));
    assert_eq!(p.finance.total, Some(dec("148895.28")));
    assert_eq!(p.kvrs[0].kvr, "244");
    let kept: Vec<&str> = p.kept.iter().map(|k| k.element.name.as_str()).collect();
    assert_eq!(kept, ["OKPDName", "name", "name"], "OKPD2 name, KVR name in KVRInfo and in KVRsInfo");

    // The special position with its change justification.
    let s = &e.data.special_positions[0];
    assert_eq!((s.type_code.as_str(), s.purchase_number.as_str(), s.kvr.as_deref()), ("P4_1_93", "0006", Some("244")));
    assert_eq!(s.type_name.as_deref(), Some("Закупки в соответствии с п. 4 ч. 1 ст. 93 Федерального закона № 44-ФЗ"));
    assert_eq!(s.position_number.as_deref(), Some("202303722001684001000001"));
    assert_eq!(s.ikz, "232780213969878020100100060000000244");
    assert_eq!(&s.ikz[29..33], "0000", "no OKPD2 in a special position's ИКЗ");
    assert_eq!(s.finance.current_year, dec("680121.83"));
    assert_eq!(s.target_articles[0].target_article, "026E120620");
    assert_eq!(s.target_articles[0].years.current_year, dec("11357.59"));
    let m = s.modification.as_ref().expect("specialPurchasePositionModification");
    assert_eq!((m.change_reason_code.as_str(), m.decision, m.modification_number), ("9", Decision::Changed, Some(2)));
    assert_eq!(s.modification_status, None);

    // The totals.
    let o = e.data.outcome.as_ref().expect("outcomeIndicators");
    assert_eq!(o.totals.as_ref().and_then(|t| t.total), Some(dec("6732998.31")));
    assert_eq!(o.target_article_totals[0].target_article, "026E120620");
    assert_eq!(o.kvr_totals[0].years.first_year, dec("2481120.0"));

    // The KVR name of the totals is kept in its place; attachments and the print form whole,
    // after the totals.
    let kept: Vec<(&str, &str, Option<&str>)> =
        e.data.kept.iter().map(|k| (k.parent.as_str(), k.element.name.as_str(), k.after.as_deref())).collect();
    assert_eq!(
        kept,
        [
            ("outcomeIndicators[1]/KVRsTotalsInfo[1]/KVRTotalsInfo[1]/KVR[1]", "name", Some("code")),
            ("", "attachments", Some("outcomeIndicators")),
            ("", "printForm", Some("outcomeIndicators"))
        ]
    );
    assert!(read_export("<export/>").is_err());
}

/// Every element of a document as (namespace-qualified path, trimmed text), and every attribute
/// as (path/@name, value): prefixes do not matter, anything dropped or altered does.
fn fields(xml: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(xml).expect("well-formed");
    let qualified = |ns: Option<&str>, name: &str| match ns {
        Some(ns) => format!("{{{ns}}}{name}"),
        None => name.to_owned(),
    };
    let mut out = Vec::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        let path: Vec<String> = n
            .ancestors()
            .filter(|a| a.is_element())
            .map(|a| qualified(a.tag_name().namespace(), a.tag_name().name()))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let path = path.join("/");
        let text: String = n.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect();
        out.push((path.clone(), text.trim().to_owned()));
        for a in n.attributes() {
            out.push((format!("{path}/@{}", qualified(a.namespace(), a.name())), a.value().to_owned()));
        }
    }
    out.sort();
    out
}

#[test]
fn the_real_export_round_trips_with_every_field() {
    let Some(fixture) = real_export() else { return };
    let first = write_export(&read_export(&fixture).expect("the fixture reads"));
    let second = write_export(&read_export(&first).expect("our export reads"));
    assert_eq!(first, second, "read → write → read → write must be byte-identical");

    let (theirs, ours) = (fields(&fixture), fields(&first));
    let missing: Vec<_> = theirs.iter().filter(|f| !ours.contains(f)).collect();
    let added: Vec<_> = ours.iter().filter(|f| !theirs.contains(f)).collect();
    assert!(missing.is_empty() && added.is_empty(), "dropped or altered: {missing:#?}\nadded: {added:#?}");
    assert_eq!(theirs, ours, "the same fields as often");
    // 181 elements and 2 attributes (lxml counts the same).
    assert_eq!(theirs.len(), 183, "the comparison sees the whole document");

    // Our export validates against the official export schema, as the fixture itself does
    // (`the_real_export_validates_against_fcs_export` in validate.rs): it declares scheme
    // version 13.1, which the 14.1 set still lists, and uses nothing 14.1 dropped.
    schemas::assert_valid_or_skip("the real export written by eis::export", EXPORT_XSD, &first);
    schemas::assert_valid_or_skip("the real export itself", EXPORT_XSD, &fixture);
}

#[test]
fn the_fields_comparison_sees_a_change() {
    // Guards the comparison above: one altered value, one dropped element, one changed
    // attribute each make the field lists differ.
    let Some(fixture) = real_export() else { return };
    let base = fields(&fixture);
    for (from, to) in [
        ("<ns4:name>Прочая закупка товаров, работ и услуг</ns4:name>", "<ns4:name>Прочая закупка</ns4:name>"),
        ("<ns5:firstYear>0.0</ns5:firstYear>", "<ns5:firstYear>0.00</ns5:firstYear>"),
        ("<ns5:modificationNumber>2</ns5:modificationNumber>", ""),
        ("type=\"CAdES-BES\"", "type=\"CAdES-T\""),
    ] {
        assert!(fixture.contains(from), "{from}");
        assert_ne!(fields(&fixture.replacen(from, to, 1)), base, "{from} → {to}");
    }
    // A prefix is not a field.
    let renamed = fixture.replace("ns5:", "tp:").replace("xmlns:ns5=", "xmlns:tp=");
    assert_eq!(fields(&renamed), base);
}
