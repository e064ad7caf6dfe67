//! In-process XSD validation (`eis::validate`) against the official ЕИС set 14.1.

mod samples;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use eis::Layout;
use eis::packet::*;
use eis::schemas;
use eis::validate::{CompileError, Root, SchemaIssue, SchemaSet};
use samples::*;

/// Issues carry the line; in the compact form everything is on line 2, so the tests about lines
/// validate the indented form.
fn pretty(p: &PlanPacket) -> String {
    write_plan_packet_with(p, Layout::Pretty)
}

/// `fcsIntegration.xsd` compiled once for the whole test binary (and so shared by the tests'
/// threads), or `None` after a loud SKIPPED line when the schemas are not there.
fn integration(what: &str) -> Option<&'static SchemaSet> {
    static SET: OnceLock<Option<SchemaSet>> = OnceLock::new();
    let set = SET
        .get_or_init(|| {
            let dir = schemas::locate()?;
            Some(SchemaSet::compile(&dir, Root::Integration).unwrap_or_else(|e| panic!("{e}")))
        })
        .as_ref();
    if set.is_none() {
        schemas::skipped(&format!("{what}: ЕИС schemas not found (set {} to the 14_1 directory)", schemas::ENV_VAR));
    }
    set
}

fn expect_invalid(set: &SchemaSet, xml: &str) -> Vec<SchemaIssue> {
    match set.validate(xml) {
        Ok(()) => panic!("must be invalid:\n{xml}"),
        Err(issues) => {
            assert!(!issues.is_empty());
            issues
        }
    }
}

/// 1-based number of the first line containing `needle`.
fn line_of(xml: &str, needle: &str) -> u32 {
    let n = xml.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle} not in document"));
    u32::try_from(n + 1).expect("small document")
}

#[test]
fn schema_set_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SchemaSet>();
}

#[test]
fn written_packets_validate() {
    let Some(set) = integration("in-process validation of written packets") else { return };
    let mut minimal = new_packet();
    minimal.data.version_number = None;
    let mut pos = position_undefined("0001");
    pos.kbks.clear();
    minimal.data.positions = vec![pos];
    for (what, p) in [("tenderPlan2020", new_packet()), ("tenderPlan2020Change", change_packet()), ("minimal", minimal)]
    {
        let xml = write_plan_packet(&p);
        if let Err(issues) = set.validate(&xml) {
            panic!("{what}:\n{}\n--- document ---\n{xml}", eis::validate::join_lines(&issues));
        }
    }
}

#[test]
fn wrong_element_order_is_reported_with_its_line() {
    let Some(set) = integration("wrong element order") else { return };
    let xml = pretty(&new_packet());
    // Swap <int:sender> and <int:receiver>: the schema wants sender first.
    let sender = xml.lines().find(|l| l.contains("<int:sender>")).expect("sender line");
    let receiver = xml.lines().find(|l| l.contains("<int:receiver>")).expect("receiver line");
    let broken =
        xml.replacen(sender, "@@SENDER@@", 1).replacen(receiver, sender, 1).replacen("@@SENDER@@", receiver, 1);
    let issues = expect_invalid(set, &broken);
    let first = &issues[0];
    assert_eq!(first.line, Some(line_of(&broken, "<int:receiver>")), "{issues:?}");
    assert!(first.message.contains("receiver"), "{issues:?}");
    let path = first.path.as_deref().expect("element path");
    assert!(path.ends_with("int:index/int:receiver"), "{path}");
}

#[test]
fn a_35_character_id_is_reported_with_its_line() {
    let Some(set) = integration("35-character id") else { return };
    let mut p = new_packet();
    p.index.id = "0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6".into();
    assert_eq!(p.index.id.chars().count(), 35);
    let xml = pretty(&p);
    let issues = expect_invalid(set, &xml);
    assert_eq!(issues[0].line, Some(line_of(&xml, "<int:id>")), "{issues:?}");
    assert!(issues[0].message.contains("35"), "{issues:?}");
    assert!(issues[0].path.as_deref().is_some_and(|p| p.ends_with("int:id")), "{issues:?}");
}

#[test]
fn a_bad_money_value_is_reported_with_its_line() {
    let Some(set) = integration("bad money value") else { return };
    let xml = pretty(&new_packet());
    let good = "<tp:currentYear>148895.28</tp:currentYear>";
    assert!(xml.contains(good));
    let broken = xml.replacen(good, "<tp:currentYear>148 895,28</tp:currentYear>", 1);
    let issues = expect_invalid(set, &broken);
    assert!(issues.iter().all(|i| i.line == Some(line_of(&broken, "148 895,28"))), "{issues:?}");
    assert!(issues[0].message.contains("currentYear"), "{issues:?}");
}

#[test]
fn not_well_formed_xml_is_reported_with_its_line() {
    let Some(set) = integration("malformed XML") else { return };
    let xml = pretty(&new_packet());
    let broken = xml.replacen("</int:sender>", "</int:sendr>", 1);
    let issues = expect_invalid(set, &broken);
    assert_eq!(issues[0].line, Some(line_of(&broken, "</int:sendr>")), "{issues:?}");
    assert!(issues[0].path.is_none());
}

#[test]
fn issues_of_a_compact_packet_name_the_element() {
    let Some(set) = integration("issues of a compact packet") else { return };
    let mut p = new_packet();
    p.data.special_positions[1].ikz = "123".into();
    let issues = expect_invalid(set, &write_plan_packet(&p));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].line, Some(2));
    let path = issues[0].path.as_deref().expect("element path");
    assert!(path.ends_with("tp:specialPurchasePositions/tp:specialPurchasePosition[2]/tp:IKZ"), "{path}");
}

#[test]
fn many_errors_are_capped() {
    let Some(set) = integration("issue cap") else { return };
    let mut p = new_packet();
    p.data.positions = (0..600)
        .map(|n| {
            let mut pos = position_single(&format!("{:04}", n + 1));
            pos.ikz = "123".into();
            pos
        })
        .collect();
    let issues = expect_invalid(set, &write_plan_packet(&p));
    assert_eq!(issues.len(), 501, "500 issues and a note about the rest");
    assert!(issues[500].message.contains("100 more"), "{:?}", issues[500]);
}

#[test]
fn the_real_export_validates_against_fcs_export() {
    let Some(dir) = schemas::locate() else {
        schemas::skipped("validation of the real tenderPlan2020 export: ЕИС schemas not found");
        return;
    };
    let candidates: Vec<PathBuf> = [
        dir.join("../../tenderPlan2020.xml"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/eis/tenderPlan2020.xml"),
    ]
    .into_iter()
    .collect();
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        schemas::skipped("validation of the real tenderPlan2020 export: fixture tenderPlan2020.xml not found");
        return;
    };
    let xml = std::fs::read_to_string(path).expect("fixture is UTF-8");
    let export = SchemaSet::compile(&dir, Root::Export).unwrap_or_else(|e| panic!("{e}"));
    assert!(export.path().ends_with("fcsExport.xsd"));
    if let Err(issues) = export.validate(&xml) {
        panic!("{}", eis::validate::join_lines(&issues));
    }
    // And the export is not a packet: the integration root schema rejects it.
    if let Some(set) = integration("export against the integration schema") {
        assert!(set.validate(&xml).is_err());
    }
}

#[test]
fn four_threads_validate_at_once_on_one_schema_set() {
    let Some(set) = integration("concurrent validation") else { return };
    let good = write_plan_packet(&change_packet());
    let mut p = new_packet();
    p.index.id = "x".repeat(35);
    let bad = pretty(&p);
    let bad_line = line_of(&bad, "<int:id>");
    std::thread::scope(|s| {
        for t in 0..4 {
            let (good, bad) = (&good, &bad);
            s.spawn(move || {
                for i in 0..25 {
                    if (i + t) % 2 == 0 {
                        if let Err(issues) = set.validate(good) {
                            panic!("thread {t}, run {i}: {issues:?}");
                        }
                    } else {
                        let issues = set.validate(bad).expect_err("must be invalid");
                        assert_eq!(issues.len(), 1, "thread {t}, run {i}: {issues:?}");
                        assert_eq!(issues[0].line, Some(bad_line), "thread {t}, run {i}");
                    }
                }
            });
        }
    });
}

#[test]
fn compiling_a_missing_schema_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    match SchemaSet::compile(dir.path(), Root::Integration) {
        Err(CompileError::NotFound(p)) => assert!(p.ends_with("fcsIntegration.xsd")),
        other => panic!("{other:?}"),
    }
    std::fs::write(
        dir.path().join("fcsExport.xsd"),
        "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'><xs:bogus/></xs:schema>",
    )
    .expect("write");
    match SchemaSet::compile(dir.path(), Root::Export) {
        Err(CompileError::Invalid { issues, .. }) => assert!(!issues.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn issues_read_well() {
    let issue = SchemaIssue {
        line: Some(7),
        path: Some("/int:tenderPlan2020/int:index/int:id".into()),
        message: "Element 'id': too short.".into(),
    };
    assert_eq!(issue.to_string(), "line 7: /int:tenderPlan2020/int:index/int:id: Element 'id': too short.");
    assert_eq!(
        issue.to_string_ru(),
        "Строка 7, элемент /int:tenderPlan2020/int:index/int:id — ошибка проверки по схеме ЕИС: Element 'id': too short."
    );
    let bare = SchemaIssue { line: None, path: None, message: "x".into() };
    assert_eq!(bare.to_string_ru(), "Документ — ошибка проверки по схеме ЕИС: x");
}
