//! Writing and reading the ЕИС documents: round trips, schema validity, element order, lengths.

mod samples;

use eis::packet::*;
use eis::reply::*;
use eis::schemas::{self, HTTPS_API_XSD, INTEGRATION_XSD};
use eis::{ReadError, ns};
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
    assert_eq!(child_names(data), ["externalId", "planNumber", "versionNumber", "commonInfo", "positions"]);
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
    ] {
        assert!(paths.iter().any(|p| p == expected), "no problem at {expected}: {paths:?}");
    }
    assert!(new_packet().problems().is_empty());
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
        index: PacketIndex { id: "b0921248-4f7f-40f2-9d5d-2ad9b60a42f2".into(), sender: "OOS".into(), receiver: "PLANGRAF".into(), ..index("") },
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
        Violation { err_code: "W1".into(), level: ViolationLevel::Warning, name: "Предупреждение".into(), description: None },
    ]
}

#[test]
fn confirmations_round_trip_and_validate() {
    for c in [
        confirmation(ConfirmationResult::Processing, vec![]),
        confirmation(ConfirmationResult::Success, vec![]),
        confirmation(ConfirmationResult::Failure, violations()),
        Confirmation { load_url: Some("https://127.0.0.1/x?a=1&b=2".into()), ..confirmation(ConfirmationResult::Success, vec![]) },
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
    let c = Confirmation { load_url: Some("https://x".into()), ..confirmation(ConfirmationResult::Failure, violations()) };
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
        ErrorInfo { code: 403, message: "Нет права «Работа с планом-графиком» <&>".into() },
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
        p.data.positions[0].ext_number = ext;
        p.data.positions[0].finance.current_year = rust_decimal::Decimal::new(cents, 2);
        if let Some(m) = p.data.positions[0].modification.as_mut() {
            m.description = reason;
        }
        let xml = write_plan_packet(&p);
        let back = read_plan_packet(&xml).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &p);
        prop_assert_eq!(write_plan_packet(&back), xml);
    }
}
