//! Writing and reading the ЕИС documents: round trips, schema validity, element order, lengths.

mod samples;

use eis::packet::*;
use eis::reply::*;
use eis::schemas::{self, HTTPS_API_XSD, INTEGRATION_XSD};
use eis::{Layout, ReadError, ns};
use proptest::prelude::*;
use samples::*;

fn round_trip(p: &PlanPacket) {
    let xml = write_plan_packet(p);
    let back = read_plan_packet(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(&back, p);
    assert_eq!(write_plan_packet(&back), xml, "write → read → write must be identical");
}

#[test]
fn new_packet_round_trips() {
    round_trip(&new_packet());
}

#[test]
fn change_packet_round_trips() {
    round_trip(&change_packet());
}

#[test]
fn written_packets_validate_against_official_schema() {
    for (what, p) in [("tenderPlan2020", new_packet()), ("tenderPlan2020Change", change_packet())] {
        assert!(p.problems().is_empty(), "{what}: {:?}", p.problems());
        schemas::assert_valid_or_skip(what, INTEGRATION_XSD, &write_plan_packet(&p));
    }
}

#[test]
fn minimal_packet_validates() {
    // No optional element at all: no versionNumber, no IKU, no KVR/KBK blocks, no discussion flag.
    let mut p = new_packet();
    p.data.version_number = None;
    let mut pos = position_undefined("0001");
    pos.kbks.clear();
    p.data.positions = vec![pos];
    round_trip(&p);
    schemas::assert_valid_or_skip("minimal tenderPlan2020", INTEGRATION_XSD, &write_plan_packet(&p));
}

#[test]
fn a_packet_breaking_the_schema_is_caught_by_validation() {
    // Guards the validation itself: a schema check that passes everything proves nothing.
    let mut p = new_packet();
    p.index.id = "too-short".into();
    p.data.positions[0].ikz = "123".into();
    assert!(!p.problems().is_empty());
    if let Some(dir) = schemas::locate() {
        let err = schemas::validate(&dir, INTEGRATION_XSD, &write_plan_packet(&p)).expect_err("must be invalid");
        assert!(err.to_string().contains("id"), "{err}");
    } else {
        schemas::skipped("negative schema validation: ЕИС schemas not found");
    }
}

#[test]
fn packet_has_declaration_namespaces_and_root() {
    let xml = write_plan_packet(&new_packet());
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    let doc = roxmltree::Document::parse(&xml).expect("well-formed");
    let root = doc.root_element();
    assert_eq!(root.tag_name().namespace(), Some(ns::INTEGRATION));
    assert_eq!(root.tag_name().name(), "tenderPlan2020");
    let change = write_plan_packet(&change_packet());
    let doc = roxmltree::Document::parse(&change).expect("well-formed");
    assert_eq!(doc.root_element().tag_name().name(), "tenderPlan2020Change");
    // Every element is in one of the official namespaces.
    for n in doc.descendants().filter(|n| n.is_element()) {
        let nsu = n.tag_name().namespace().unwrap_or("");
        assert!([ns::INTEGRATION, ns::TP, ns::BASE].contains(&nsu), "{} in {nsu}", n.tag_name().name());
    }
}

fn child_names(node: roxmltree::Node<'_, '_>) -> Vec<String> {
    node.children().filter(|c| c.is_element()).map(|c| c.tag_name().name().to_owned()).collect()
}

fn find<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name).unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn element_order_follows_the_schema() {
    let xml = write_plan_packet(&change_packet());
    let doc = roxmltree::Document::parse(&xml).expect("well-formed");
    let root = doc.root_element();
    assert_eq!(child_names(root), ["index", "data"]);
    assert_eq!(
        child_names(find(root, "index")),
        ["id", "sender", "receiver", "createDateTime", "objectType", "signature", "mode"]
    );
    let data = find(root, "data");
    assert_eq!(data.attribute("schemeVersion"), Some("14.1"));
    assert_eq!(
        child_names(data),
        ["externalId", "planNumber", "versionNumber", "commonInfo", "positions", "specialPurchasePositions"]
    );
    assert_eq!(child_names(find(data, "commonInfo")), ["planYear", "planPeriod", "customerInfo", "ownerInfo"]);
    let positions: Vec<_> = find(data, "positions").children().filter(|c| c.is_element()).collect();
    assert_eq!(positions.len(), 3);
    assert_eq!(
        child_names(find(positions[0], "commonInfo")),
        [
            "positionNumber",
            "extNumber",
            "IKZ",
            "publishYear",
            "IKU",
            "purchaseNumber",
            "OKPD2Info",
            "KVRInfo",
            "purchaseObjectInfo",
            "publicDiscussion",
            "positionModification",
            "positionModificationStatus"
        ]
    );
    assert_eq!(child_names(positions[0]), ["commonInfo", "financeInfo", "KVRsInfo", "isEnergyServiceContract"]);
    assert_eq!(
        child_names(find(find(positions[0], "commonInfo"), "positionModification")),
        ["changeReason", "decision", "description"]
    );
    assert_eq!(child_names(positions[1]), ["commonInfo", "financeInfo", "isEnergyServiceContract"]);
    assert_eq!(
        child_names(find(positions[1], "financeInfo")),
        ["currentYear", "firstYear", "secondYear", "subsecYears", "KBKsInfo"]
    );
    let undefined_kvr = find(find(find(positions[1], "commonInfo"), "KVRInfo"), "undefined");
    assert_eq!(undefined_kvr.text(), Some("000"));

    let specials: Vec<_> = find(data, "specialPurchasePositions").children().filter(|c| c.is_element()).collect();
    assert_eq!(specials.len(), 3);
    assert!(specials.iter().all(|s| s.tag_name().name() == "specialPurchasePosition"));
    assert_eq!(
        child_names(specials[0]),
        [
            "type",
            "positionNumber",
            "extNumber",
            "IKZ",
            "publishYear",
            "IKU",
            "KVRInfo",
            "purchaseNumber",
            "financeInfo",
            "KVRsInfo",
            "targetArticlesInfo",
            "specialPurchasePositionModification",
            "specialPurchasePositionModificationStatus"
        ]
    );
    assert_eq!(child_names(find(specials[0], "type")), ["code", "name"]);
    assert_eq!(
        child_names(find(specials[0], "financeInfo")),
        ["currentYear", "firstYear", "secondYear", "subsecYears"]
    );
    assert_eq!(
        child_names(find(specials[0], "specialPurchasePositionModification")),
        ["changeReason", "decision", "description"]
    );
    assert_eq!(
        child_names(find(find(specials[0], "targetArticlesInfo"), "targetArticleInfo")),
        ["targetArticle", "targetArticleYearsInfo"]
    );
    // An authority's special position: KVR undefined, a KBK breakdown, status N.
    assert_eq!(
        child_names(specials[1]),
        [
            "type",
            "positionNumber",
            "extNumber",
            "IKZ",
            "publishYear",
            "KVRInfo",
            "purchaseNumber",
            "financeInfo",
            "KBKsInfo",
            "specialPurchasePositionModificationStatus"
        ]
    );
    assert_eq!(find(find(specials[1], "KVRInfo"), "undefined").text(), Some("000"));
    // A new special position in a change: neither registry number nor status.
    assert_eq!(child_names(specials[2])[..3], ["type", "extNumber", "IKZ"]);
    assert!(!child_names(specials[2]).contains(&"specialPurchasePositionModificationStatus".to_owned()));
}

#[test]
fn special_positions_keep_the_okpd2_part_of_the_ikz_empty() {
    for s in &new_packet().data.special_positions {
        assert_eq!(&s.ikz[22..26], s.purchase_number);
        assert_eq!(&s.ikz[26..33], "0000000", "order number 000 and OKPD2 0000: {}", s.ikz);
        assert_eq!(&s.ikz[33..], s.kvr.as_deref().unwrap_or("000"));
    }
}

#[test]
fn packets_are_compact_and_the_pretty_form_is_the_same_document() {
    let p = change_packet();
    let compact = write_plan_packet(&p);
    let pretty = write_plan_packet_with(&p, Layout::Pretty);
    // The declaration on its own line, then the whole document on one.
    assert_eq!(compact.lines().count(), 2, "{compact}");
    let (_, body) = compact.split_once('\n').expect("declaration line");
    assert!(!body.contains("> <") && !body.contains(">\n<") && !body.contains("  <"), "{body}");
    assert!(pretty.contains("\n  <int:index>\n    <int:id>"), "{pretty}");
    // The same document less the indentation.
    let mut lines = pretty.lines();
    let declaration = lines.next().expect("declaration");
    let squeezed: String = lines.map(str::trim_start).collect();
    assert_eq!(format!("{declaration}\n{squeezed}\n"), compact);
    assert!(compact.len() < pretty.len() * 3 / 4, "compact {} vs pretty {}", compact.len(), pretty.len());
    assert_eq!(read_plan_packet(&pretty).expect("pretty reads"), p);
    assert_eq!(read_plan_packet(&compact).expect("compact reads"), p);
    schemas::assert_valid_or_skip("pretty tenderPlan2020Change", INTEGRATION_XSD, &pretty);
}

#[test]
fn a_plan_of_special_positions_only_validates() {
    let mut p = new_packet();
    p.data.positions.clear();
    round_trip(&p);
    assert!(p.problems().is_empty(), "{:?}", p.problems());
    schemas::assert_valid_or_skip(
        "tenderPlan2020 with special positions only",
        INTEGRATION_XSD,
        &write_plan_packet(&p),
    );
}

#[test]
fn what_the_model_does_not_type_is_kept_in_place() {
    // Blocks the model has no field for, in a position, in a special position and at the plan
    // level: they come back where they were, so the document stays valid.
    let xml = write_plan_packet(&new_packet());
    let xml = xml
        .replacen(
            "<tp:purchaseNumber>0001</tp:purchaseNumber>",
            "<tp:purchaseNumber>0001</tp:purchaseNumber><tp:purchaseOrderNumber>000</tp:purchaseOrderNumber>",
            1,
        )
        .replacen(
            "<base:OKPDCode>38.11.21.000</base:OKPDCode>",
            "<base:OKPDCode>38.11.21.000</base:OKPDCode><base:OKPDName>Услуги по сбору отходов</base:OKPDName>",
            1,
        )
        .replacen(
            "</tp:specialPurchasePosition>",
            "<tp:centralizedPurchaseInfo><tp:centralizedPurchaseOrgInfo><tp:regNum>01722000032</tp:regNum>\
             </tp:centralizedPurchaseOrgInfo></tp:centralizedPurchaseInfo></tp:specialPurchasePosition>",
            1,
        )
        .replacen(
            "</int:data>",
            "<tp:attachments><cmn:attachmentInfo xmlns:cmn=\"http://zakupki.gov.ru/oos/common/1\">\
             <cmn:fileName>план.pdf</cmn:fileName><cmn:url>https://x/?a=1&amp;b=2</cmn:url>\
             <cmn:cryptoSigns><cmn:signature type=\"CAdES-BES\">AAAA</cmn:signature></cmn:cryptoSigns>\
             </cmn:attachmentInfo></tp:attachments></int:data>",
            1,
        );
    schemas::assert_valid_or_skip("packet with untyped blocks", INTEGRATION_XSD, &xml);
    let p = read_plan_packet(&xml).expect("readable");
    assert_eq!(p.data.positions[0].kept.iter().count(), 2);
    assert_eq!(p.data.special_positions[0].kept.iter().count(), 1);
    let attachments = p.data.kept.iter().next().expect("attachments kept");
    assert_eq!(attachments.element.name, "attachments");
    assert_eq!(attachments.after.as_deref(), Some("specialPurchasePositions"));
    assert_eq!(attachments.element.children[0].children[2].children[0].attributes[0].value, "CAdES-BES");
    let written = write_plan_packet(&p);
    assert_eq!(read_plan_packet(&written).expect("readable"), p);
    assert_eq!(write_plan_packet(&read_plan_packet(&written).expect("readable")), written);
    schemas::assert_valid_or_skip("written packet with untyped blocks", INTEGRATION_XSD, &written);
    let at = |needle: &str| written.find(needle).unwrap_or_else(|| panic!("{needle} in {written}"));
    assert!(at("<tp:purchaseNumber>0001") < at("<tp:purchaseOrderNumber>000</tp:purchaseOrderNumber>"));
    assert!(at("<tp:purchaseOrderNumber>") < at("<tp:OKPD2Info>"));
    assert!(at("<base:OKPDName>Услуги по сбору отходов</base:OKPDName>") < at("<tp:KVRInfo>"));
    assert!(at("<tp:centralizedPurchaseInfo>") > at("<tp:specialPurchasePosition>"));
    assert!(written.contains("<cmn:url>https://x/?a=1&amp;b=2</cmn:url>"));
    // Kept content in other namespaces, and attributes in the implicit `xml` one, come back
    // declared properly.
    let odd = written.replacen(
        "</int:data>",
        "<x:note xmlns:x=\"urn:example\" xml:lang=\"ru\" x:kind=\"a\">текст</x:note><bare/></int:data>",
        1,
    );
    let p2 = read_plan_packet(&odd).expect("readable");
    let again = write_plan_packet(&p2);
    assert!(
        again.contains(r#"<n1:note xmlns:n1="urn:example" xml:lang="ru" n1:kind="a">текст</n1:note><bare/>"#),
        "{again}"
    );
    assert_eq!(read_plan_packet(&again).expect("readable"), p2);
    // Without anything kept, the writer's output is what it was.
    let mut plain = p.clone();
    plain.data.kept = Kept::default();
    plain.data.positions[0].kept = Kept::default();
    plain.data.special_positions[0].kept = Kept::default();
    assert_eq!(plain, new_packet());
}

#[test]
fn lengths_and_formats_in_written_packet() {
    let p = new_packet();
    let xml = write_plan_packet(&p);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed");
    let text_of = |name: &str| -> Vec<String> {
        doc.descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == name)
            .map(|n| n.text().unwrap_or("").to_owned())
            .collect()
    };
    assert!(text_of("id").iter().all(|id| id.chars().count() == 36));
    assert!(text_of("IKZ").iter().all(|s| s.len() == 36 && s.bytes().all(|b| b.is_ascii_digit())));
    assert!(text_of("purchaseNumber").iter().all(|s| s.len() == 4));
    assert!(text_of("regNum").iter().all(|s| s.len() == 11));
    assert_eq!(text_of("currentYear")[0], "148895.28");
    // Money always has two decimals.
    assert!(text_of("firstYear").contains(&"1000.50".to_owned()));
    assert!(text_of("secondYear").contains(&"0.00".to_owned()));
    assert!(text_of("KBK").iter().all(|s| s.len() == 20));
}

#[test]
fn problems_point_at_the_fields() {
    let mut p = change_packet();
    p.index.id = "x".repeat(35);
    p.data.plan_number = None;
    p.data.external_id = "e".repeat(41);
    p.data.customer_reg_num = "123".into();
    p.data.positions[0].ikz = "1".repeat(35);
    p.data.positions[0].purchase_number = "12a4".into();
    p.data.positions[1].kbks[0].kbk = "short".into();
    p.data.positions[2].finance.current_year = dec("1.005");
    p.data.positions[2].purchase_object_info = "bad\u{1}char".into();
    p.data.special_positions[0].type_code = String::new();
    p.data.special_positions[0].ikz = "1".repeat(36) + "0";
    p.data.special_positions[0].target_articles[0].target_article = "026E1".into();
    if let Some(m) = p.data.special_positions[0].modification.as_mut() {
        // A special position's change needs its reason.
        m.change_reason_code = String::new();
    }
    p.data.special_positions[1].kbks[0].years.first_year = dec("1e18");
    p.data.special_positions[2].purchase_number = "6".into();
    let paths: Vec<String> = p.problems().into_iter().map(|pr| pr.path).collect();
    for expected in [
        "index/id",
        "data/planNumber",
        "data/externalId",
        "data/commonInfo/customerInfo/regNum",
        "data/positions/position[1]/commonInfo/IKZ",
        "data/positions/position[1]/commonInfo/purchaseNumber",
        "data/positions/position[2]/financeInfo/KBKsInfo/KBKInfo[1]/KBK",
        "data/positions/position[3]/financeInfo/currentYear",
        "data/positions/position[3]/commonInfo/purchaseObjectInfo",
        "data/specialPurchasePositions/specialPurchasePosition[1]/type/code",
        "data/specialPurchasePositions/specialPurchasePosition[1]/IKZ",
        "data/specialPurchasePositions/specialPurchasePosition[1]/targetArticlesInfo/targetArticleInfo[1]/targetArticle",
        "data/specialPurchasePositions/specialPurchasePosition[1]/specialPurchasePositionModification/changeReason/code",
        "data/specialPurchasePositions/specialPurchasePosition[2]/KBKsInfo/KBKInfo[1]/KBKYearsInfo/firstYear",
        "data/specialPurchasePositions/specialPurchasePosition[3]/purchaseNumber",
    ] {
        assert!(paths.iter().any(|p| p == expected), "no problem at {expected}: {paths:?}");
    }
    assert!(new_packet().problems().is_empty());
    assert!(change_packet().problems().is_empty());
}

#[test]
fn reads_other_prefixes_and_default_namespaces() {
    // Same content as an own skeleton, but with a default namespace and other prefixes: the
    // reader goes by namespace, never by prefix. Unknown optional blocks are skipped.
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<tenderPlan2020 xmlns="http://zakupki.gov.ru/oos/integration/1" xmlns:x="http://zakupki.gov.ru/oos/TPtypes/1" xmlns:b="http://zakupki.gov.ru/oos/base/1">
  <index>
    <id>0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c</id><sender>RIS</sender><receiver>OOS</receiver>
    <createDateTime>2025-01-15T10:00:00</createDateTime><objectType>TP2020</objectType>
    <objectId/><signature type="CAdES-BES"/><mode>PROD</mode>
  </index>
  <data schemeVersion="13.1">
    <x:externalId>  RIS-1 </x:externalId>
    <x:commonInfo>
      <x:planYear>2025</x:planYear>
      <x:planPeriod><x:firstYear>2026</x:firstYear><x:secondYear>2027</x:secondYear></x:planPeriod>
      <x:createDate>2025-01-01T00:00:00</x:createDate>
      <x:customerInfo><x:regNum>03722001684</x:regNum><x:fullName>Школа</x:fullName></x:customerInfo>
      <x:ownerInfo><x:regNum>03722001684</x:regNum><x:ownerRole>CU</x:ownerRole></x:ownerInfo>
    </x:commonInfo>
    <x:positions>
      <x:position>
        <x:commonInfo>
          <x:extNumber>P1</x:extNumber>
          <x:IKZ>252780213969878020100100010003811244</x:IKZ>
          <x:publishYear>2025</x:publishYear>
          <x:purchaseNumber>0001</x:purchaseNumber>
          <x:purchaseOrderNumber>000</x:purchaseOrderNumber>
          <x:OKPD2Info><b:OKPDCode>38.11.21.000</b:OKPDCode><b:OKPDName>Услуги</b:OKPDName></x:OKPD2Info>
          <x:KVRInfo><x:KVR><b:code>244</b:code><b:name>Прочая закупка</b:name></x:KVR></x:KVRInfo>
          <x:purchaseObjectInfo>Вывоз
             ТКО
          </x:purchaseObjectInfo>
        </x:commonInfo>
        <x:financeInfo><x:total>100.0</x:total><x:currentYear>100.0</x:currentYear></x:financeInfo>
        <x:isEnergyServiceContract>0</x:isEnergyServiceContract>
      </x:position>
    </x:positions>
    <x:outcomeIndicators/>
  </data>
</tenderPlan2020>"#;
    let p = read_plan_packet(xml).expect("readable");
    assert_eq!(p.kind, PlanPacketKind::New);
    assert_eq!(p.index.mode, Mode::Prod);
    // A dateTime without an offset is Moscow time.
    assert_eq!(p.index.create_date_time.to_rfc3339(), "2025-01-15T10:00:00+03:00");
    assert_eq!(p.data.external_id, "RIS-1");
    let pos = &p.data.positions[0];
    assert_eq!(pos.okpd2, Okpd2::Single("38.11.21.000".into()));
    assert_eq!(pos.kvr.as_deref(), Some("244"));
    assert_eq!(pos.finance.current_year, dec("100"));
    assert_eq!(pos.finance.first_year, dec("0"));
    assert!(!pos.is_energy_service_contract);
    assert!(pos.purchase_object_info.starts_with("Вывоз") && pos.purchase_object_info.ends_with("ТКО"));
    // What ЕИС adds is read too: the total, the date, the customer's name; the rest is kept.
    assert_eq!(pos.finance.total, Some(dec("100.0")));
    assert_eq!(p.data.create_date.as_ref().map(|d| d.as_str()), Some("2025-01-01T00:00:00"));
    assert_eq!(p.data.customer.org.full_name.as_deref(), Some("Школа"));
    let kept: Vec<&str> = pos.kept.iter().map(|k| k.element.name.as_str()).collect();
    assert_eq!(kept, ["purchaseOrderNumber", "OKPDName", "name"]);
    assert_eq!(p.data.outcome, Some(OutcomeIndicators::default()));
    let again = read_plan_packet(&write_plan_packet(&p)).expect("written form reads");
    assert_eq!(again, p);
}

#[test]
fn read_errors_name_the_place() {
    let xml = write_plan_packet(&new_packet());
    assert!(matches!(read_plan_packet("<a>"), Err(ReadError::Syntax(_))));
    assert!(matches!(
        read_plan_packet(&write_confirmation(&confirmation(ConfirmationResult::Success, vec![]))),
        Err(ReadError::UnexpectedRoot { .. })
    ));
    let no_year = xml.replacen("<tp:planYear>2025</tp:planYear>", "", 1);
    assert_eq!(read_plan_packet(&no_year), Err(ReadError::Missing("tenderPlan2020/data/commonInfo/planYear".into())));
    let bad_money = xml.replacen("148895.28", "148 895,28", 1);
    match read_plan_packet(&bad_money) {
        Err(ReadError::Invalid { path, .. }) => {
            assert_eq!(path, "tenderPlan2020/data/positions/position[1]/financeInfo/currentYear")
        }
        other => panic!("{other:?}"),
    }
    let change = write_plan_packet(&change_packet());
    let no_number = change.replacen("<tp:planNumber>202503722001684001</tp:planNumber>", "", 1);
    assert!(matches!(read_plan_packet(&no_number), Err(ReadError::Missing(p)) if p.ends_with("planNumber")));
    // A DTD is refused outright (no entity expansion games).
    let dtd = format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{}", &xml[xml.find("<int:").unwrap_or(0)..]);
    assert!(read_plan_packet(&dtd).is_err());
    assert!(!ReadError::Missing("x".into()).message_ru().is_empty());
}

#[test]
fn reads_the_index_alone() {
    let mut xml = write_plan_packet(&new_packet());
    xml = xml.replacen("<tp:planYear>2025</tp:planYear>", "", 1);
    assert!(read_plan_packet(&xml).is_err());
    let idx = read_packet_index(&xml).expect("index is readable");
    assert_eq!(idx.id, "0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c");
}

#[test]
fn fresh_index_has_a_uuid() {
    let i = PacketIndex::new("PLANGRAF", "OOS", OBJECT_TYPE_TP2020, Mode::Test);
    assert_eq!(i.id.len(), 36);
    assert!(uuid::Uuid::parse_str(&i.id).is_ok());
    assert_eq!(i.create_date_time.offset().local_minus_utc(), 3 * 3600);
}

fn confirmation(result: ConfirmationResult, violations: Vec<Violation>) -> Confirmation {
    Confirmation {
        index: PacketIndex {
            id: "b0921248-4f7f-40f2-9d5d-2ad9b60a42f2".into(),
            sender: "OOS".into(),
            receiver: "PLANGRAF".into(),
            ..index("")
        },
        load_id: (result == ConfirmationResult::Success).then(|| "81451225".into()),
        result,
        violations,
        load_url: None,
        ref_id: "0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c".into(),
    }
}

fn violations() -> Vec<Violation> {
    vec![
        Violation {
            err_code: "IKZ_YEAR".into(),
            level: ViolationLevel::Error,
            name: "ИКЗ не соответствует году <размещения> & номеру".into(),
            description: Some("Позиция 0001: разряды 1–2 ИКЗ".into()),
        },
        Violation {
            err_code: "W1".into(),
            level: ViolationLevel::Warning,
            name: "Предупреждение".into(),
            description: None,
        },
    ]
}

#[test]
fn confirmations_round_trip_and_validate() {
    for c in [
        confirmation(ConfirmationResult::Processing, vec![]),
        confirmation(ConfirmationResult::Success, vec![]),
        confirmation(ConfirmationResult::Failure, violations()),
        Confirmation {
            load_url: Some("https://127.0.0.1/x?a=1&b=2".into()),
            ..confirmation(ConfirmationResult::Success, vec![])
        },
    ] {
        let xml = write_confirmation(&c);
        let back = read_confirmation(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(back, c);
        assert_eq!(write_confirmation(&back), xml);
        schemas::assert_valid_or_skip("confirmation", INTEGRATION_XSD, &xml);
    }
}

#[test]
fn confirmation_element_order() {
    let c =
        Confirmation { load_url: Some("https://x".into()), ..confirmation(ConfirmationResult::Failure, violations()) };
    let c = Confirmation { load_id: Some("1".into()), ..c };
    let xml = write_confirmation(&c);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed");
    let data = find(doc.root_element(), "data");
    assert_eq!(child_names(data), ["loadId", "result", "violations", "loadUrl", "refId"]);
    for n in data.descendants().filter(|n| n.is_element() && *n != data) {
        assert_eq!(n.tag_name().namespace(), Some(ns::TYPES));
    }
    let v = find(find(data, "violations"), "violation");
    assert_eq!(child_names(v), ["errCode", "level", "name", "description"]);
}

#[test]
fn overlong_violation_texts_are_cut_to_the_schema() {
    let mut v = violations();
    v[0].name = "я".repeat(300);
    v[0].description = Some("ы".repeat(2500));
    let xml = write_confirmation(&confirmation(ConfirmationResult::Failure, v));
    let back = read_confirmation(&xml).expect("readable");
    assert_eq!(back.violations[0].name.chars().count(), 200);
    assert_eq!(back.violations[0].description.as_ref().map(|d| d.chars().count()), Some(2000));
    schemas::assert_valid_or_skip("confirmation with long texts", INTEGRATION_XSD, &xml);
    // A cut that ends in whitespace: the written text reads back as written.
    let mut v = violations();
    v[0].description = Some(format!("{} {}", "ы".repeat(1999), "ы".repeat(10)));
    let xml = write_confirmation(&confirmation(ConfirmationResult::Failure, v));
    let back = read_confirmation(&xml).expect("readable");
    assert_eq!(write_confirmation(&back), xml);
    let info = ErrorInfo { code: 1, message: format!("{} {}", "ы".repeat(1999), "ы".repeat(10)) };
    let xml = write_error_info(&info);
    assert_eq!(write_error_info(&read_error_info(&xml).expect("readable")), xml);
}

#[test]
fn reads_the_reference_confirmation() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/eis/confirmation.xml");
    let Ok(xml) = std::fs::read_to_string(&path) else {
        schemas::skipped(&format!("reference confirmation not found at {}", path.display()));
        return;
    };
    let c = read_confirmation(&xml).expect("the reference confirmation is readable");
    assert_eq!(c.result, ConfirmationResult::Success);
    assert_eq!(c.load_id.as_deref(), Some("81451225"));
    assert_eq!(c.ref_id, "a8be0ade-721f-9907-f0f7-bfd265db2024");
    assert_eq!(c.index.sender, "OOC");
    assert_eq!(c.index.object_type, "CT");
}

#[test]
fn error_info_round_trips_and_validates() {
    for e in [
        ErrorInfo { code: 401, message: "Неверный логин или пароль".into() },
        ErrorInfo {
            code: 403, message: "Нет права «Работа с планом-графиком» <&>".into()
        },
    ] {
        let xml = write_error_info(&e);
        assert_eq!(read_error_info(&xml), Ok(e.clone()));
        assert_eq!(write_error_info(&read_error_info(&xml).expect("readable")), xml);
        schemas::assert_valid_or_skip("errorInfo", HTTPS_API_XSD, &xml);
    }
    let doc = write_error_info(&ErrorInfo { code: 1, message: "m".into() });
    let parsed = roxmltree::Document::parse(&doc).expect("well-formed");
    let root = parsed.root_element();
    assert_eq!(root.tag_name().namespace(), Some(ns::HTTPS_API));
    // Children are unqualified, as the schema's elementFormDefault has them.
    assert!(root.children().filter(|c| c.is_element()).all(|c| c.tag_name().namespace().is_none()));
}

#[test]
fn error_info_schema_check_is_real() {
    let Some(dir) = schemas::locate() else {
        schemas::skipped("negative errorInfo validation: ЕИС schemas not found");
        return;
    };
    let bad = write_error_info(&ErrorInfo { code: 1, message: "m".into() }).replace("<code>1</code>", "<code>x</code>");
    assert!(schemas::validate(&dir, HTTPS_API_XSD, &bad).is_err());
}

fn text_strategy(max: usize) -> impl Strategy<Value = String> {
    // Any XML-legal text without surrounding whitespace (which readers drop, being layout).
    proptest::collection::vec(any::<char>().prop_filter("xml char", |c| {
        matches!(*c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    }), 1..max)
    .prop_map(|v| v.into_iter().collect::<String>().trim().to_owned())
    .prop_filter("non-empty", |s| !s.is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_text_and_amount_survives_a_round_trip(
        info in text_strategy(60),
        ext in text_strategy(20),
        cents in -100_000_000_000i64..100_000_000_000i64,
        reason in text_strategy(30),
    ) {
        let mut p = change_packet();
        p.data.positions[0].purchase_object_info = info;
        p.data.positions[0].ext_number = ext.clone();
        p.data.positions[0].finance.current_year = rust_decimal::Decimal::new(cents, 2);
        if let Some(m) = p.data.positions[0].modification.as_mut() {
            m.description = reason.clone();
        }
        let special = &mut p.data.special_positions[0];
        special.ext_number = format!("{ext}-особая");
        special.finance.second_year = rust_decimal::Decimal::new(-cents, 2);
        if let Some(m) = special.modification.as_mut() {
            m.description = reason;
        }
        let xml = write_plan_packet(&p);
        let back = read_plan_packet(&xml).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &p);
        prop_assert_eq!(write_plan_packet(&back), xml);
    }
}

/// Found by fuzzing (target `packet`): an element the schema allows once, repeated, was kept
/// and written back ahead of the typed one, so the written packet carried the other value
/// (write → read → write changed `firstYear` from 0.00 to 0.50).
#[test]
fn a_repeated_single_element_is_refused_not_kept() {
    let xml = write_plan_packet(&new_packet());
    let at = xml.find("<tp:KBKYearsInfo>").expect("a КБК breakdown") + "<tp:KBKYearsInfo>".len();
    let twice = format!("{}<tp:firstYear>0.00</tp:firstYear>{}", &xml[..at], &xml[at..]);
    match read_plan_packet(&twice) {
        Err(ReadError::Unsupported { path, .. }) => {
            assert!(path.ends_with("KBKsInfo[1]/KBKInfo[1]/KBKYearsInfo[1]/firstYear"), "{path}")
        }
        other => panic!("{other:?}"),
    }
    // The same name in another namespace is not a repetition: it is kept and written back.
    let other_ns = format!("{}<x:firstYear xmlns:x=\"urn:x\">1</x:firstYear>{}", &xml[..at], &xml[at..]);
    let p = read_plan_packet(&other_ns).expect("readable");
    let written = write_plan_packet(&p);
    assert_eq!(write_plan_packet(&read_plan_packet(&written).expect("readable")), written);
}
