//! NSI exports: hand-written samples of every catalog plangraf loads, each valid against the
//! official `fcsExport.xsd` 14.1, read into entries; broken documents fail with the right error.

use eis::ReadError;
use eis::nsi::*;
use eis::schemas::{self, EXPORT_XSD};

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<export xmlns="http://zakupki.gov.ru/oos/export/1" xmlns:oos="http://zakupki.gov.ru/oos/types/1">"#;

fn doc(body: &str) -> String {
    format!("{HEAD}\n{body}\n</export>\n")
}

fn okpd2_sample() -> String {
    doc(r#"<nsiOKPD2List>
  <nsiOKPD2>
    <oos:id>1</oos:id>
    <oos:code>17</oos:code>
    <oos:name>Бумага и изделия из бумаги</oos:name>
    <oos:actual>true</oos:actual>
  </nsiOKPD2>
  <nsiOKPD2>
    <oos:id>2</oos:id>
    <oos:parentId>1</oos:parentId>
    <oos:code>17.23.1</oos:code>
    <oos:parentCode>17.23</oos:parentCode>
    <oos:name>Принадлежности канцелярские бумажные</oos:name>
    <oos:comment>Запись для проверки чтения</oos:comment>
    <oos:actual>1</oos:actual>
  </nsiOKPD2>
  <nsiOKPD2>
    <oos:code>22.29.25</oos:code>
    <oos:name>
      Принадлежности канцелярские или школьные пластмассовые
    </oos:name>
    <oos:actual>false</oos:actual>
  </nsiOKPD2>
</nsiOKPD2List>"#)
}

fn kvr_sample() -> String {
    doc(r#"<nsiKVRList>
  <nsiKVR>
    <oos:code>240</oos:code>
    <oos:name>Иные закупки товаров, работ и услуг для обеспечения государственных (муниципальных) нужд</oos:name>
    <oos:parentCode>200</oos:parentCode>
    <oos:actual>true</oos:actual>
  </nsiKVR>
  <nsiKVR>
    <oos:code>244</oos:code>
    <oos:name>Прочая закупка товаров, работ и услуг</oos:name>
    <oos:parentCode>240</oos:parentCode>
    <oos:actual>true</oos:actual>
  </nsiKVR>
</nsiKVRList>"#)
}

fn change_reasons_sample() -> String {
    doc(r#"<nsiTenderPlan2020PositionChangeReasons>
  <nsiTenderPlan2020PositionChangeReason>
    <oos:id>9</oos:id>
    <oos:code>9</oos:code>
    <oos:shortName>Возникновение иных обстоятельств, предвидеть которые при утверждении плана-графика было невозможно</oos:shortName>
    <oos:actual>true</oos:actual>
  </nsiTenderPlan2020PositionChangeReason>
  <nsiTenderPlan2020PositionChangeReason>
    <oos:id>100</oos:id>
    <oos:code>T1</oos:code>
    <oos:actual>false</oos:actual>
  </nsiTenderPlan2020PositionChangeReason>
</nsiTenderPlan2020PositionChangeReasons>"#)
}

fn special_purchases_sample() -> String {
    doc(r#"<nsiSpecialPurchases2020>
  <nsiSpecialPurchase2020>
    <oos:id>4</oos:id>
    <oos:code>P4_1_93</oos:code>
    <oos:fullName>Закупки в соответствии с п. 4 ч. 1 ст. 93 Федерального закона № 44-ФЗ</oos:fullName>
    <oos:shortName>п. 4 ч. 1 ст. 93</oos:shortName>
    <oos:actual>true</oos:actual>
  </nsiSpecialPurchase2020>
  <nsiSpecialPurchase2020>
    <oos:id>5</oos:id>
    <oos:code>P5_1_93</oos:code>
    <oos:fullName>Закупки в соответствии с п. 5 ч. 1 ст. 93 Федерального закона № 44-ФЗ</oos:fullName>
    <oos:actual>true</oos:actual>
  </nsiSpecialPurchase2020>
</nsiSpecialPurchases2020>"#)
}

fn kbk_sample() -> String {
    doc(r#"<nsiKBKBudgetList>
  <nsiKBKBudget>
    <oos:kbk>90107020110100590244</oos:kbk>
    <oos:budget>40000000</oos:budget>
    <oos:actual>true</oos:actual>
    <oos:start_date>2025-01-01T00:00:00+03:00</oos:start_date>
  </nsiKBKBudget>
  <nsiKBKBudget>
    <oos:kbk>90107020110100590244</oos:kbk>
    <oos:budget>40300000</oos:budget>
    <oos:actual>false</oos:actual>
    <oos:start_date>2024-01-01T00:00:00+03:00</oos:start_date>
    <oos:end_date>2024-12-31T00:00:00+03:00</oos:end_date>
  </nsiKBKBudget>
  <nsiKBKBudget>
    <oos:kbk>90107020110100590247</oos:kbk>
    <oos:budget>40000000</oos:budget>
    <oos:actual>false</oos:actual>
  </nsiKBKBudget>
</nsiKBKBudgetList>"#)
}

fn entry(code: &str, name: &str, parent: Option<&str>, actual: bool) -> Entry {
    Entry { code: code.into(), name: name.into(), parent_code: parent.map(Into::into), actual }
}

#[test]
fn okpd2_sample_validates_and_reads() {
    let xml = okpd2_sample();
    schemas::assert_valid_or_skip("nsiOKPD2List", EXPORT_XSD, &xml);
    let d = read_nsi(&xml).unwrap();
    assert_eq!(d.catalog, Catalog::Okpd2);
    assert_eq!(
        d.entries,
        [
            entry("17", "Бумага и изделия из бумаги", None, true),
            entry("17.23.1", "Принадлежности канцелярские бумажные", Some("17.23"), true),
            entry("22.29.25", "Принадлежности канцелярские или школьные пластмассовые", None, false),
        ]
    );
}

#[test]
fn kvr_sample_validates_and_reads() {
    let xml = kvr_sample();
    schemas::assert_valid_or_skip("nsiKVRList", EXPORT_XSD, &xml);
    let d = read_nsi(&xml).unwrap();
    assert_eq!(d.catalog, Catalog::Kvr);
    assert_eq!(d.entries.len(), 2);
    assert_eq!(d.entries[1], entry("244", "Прочая закупка товаров, работ и услуг", Some("240"), true));
}

#[test]
fn change_reasons_sample_validates_and_reads() {
    let xml = change_reasons_sample();
    schemas::assert_valid_or_skip("nsiTenderPlan2020PositionChangeReasons", EXPORT_XSD, &xml);
    let d = read_nsi(&xml).unwrap();
    assert_eq!(d.catalog, Catalog::ChangeReason);
    assert_eq!(d.entries[0].code, "9");
    assert!(d.entries[0].name.starts_with("Возникновение иных обстоятельств"));
    // shortName is optional in ЕИС.
    assert_eq!(d.entries[1], entry("T1", "", None, false));
}

#[test]
fn special_purchases_sample_validates_and_reads() {
    let xml = special_purchases_sample();
    schemas::assert_valid_or_skip("nsiSpecialPurchases2020", EXPORT_XSD, &xml);
    let d = read_nsi(&xml).unwrap();
    assert_eq!(d.catalog, Catalog::SpecialPurchase);
    assert_eq!(
        d.entries[0],
        entry("P4_1_93", "Закупки в соответствии с п. 4 ч. 1 ст. 93 Федерального закона № 44-ФЗ", None, true)
    );
    assert_eq!(d.entries[1].code, "P5_1_93");
}

#[test]
fn kbk_sample_validates_and_merges_budgets() {
    let xml = kbk_sample();
    schemas::assert_valid_or_skip("nsiKBKBudgetList", EXPORT_XSD, &xml);
    let d = read_nsi(&xml).unwrap();
    assert_eq!(d.catalog, Catalog::Kbk);
    assert_eq!(
        d.entries,
        [
            entry("90107020110100590244", "Коды бюджетов: 40000000, 40300000", None, true),
            entry("90107020110100590247", "Код бюджета 40000000", None, false),
        ]
    );
}

#[test]
fn written_catalogs_validate_and_read_back() {
    let docs = [
        NsiDocument {
            catalog: Catalog::Okpd2,
            entries: vec![
                entry("17", "Бумага и изделия из бумаги", None, true),
                entry("17.2", "Изделия из бумаги & картона", Some("17"), false),
            ],
        },
        NsiDocument {
            catalog: Catalog::Kvr,
            entries: vec![entry("244", "Прочая закупка товаров, работ и услуг", Some("240"), true)],
        },
        NsiDocument {
            catalog: Catalog::ChangeReason,
            entries: vec![entry("9", "Иные обстоятельства", None, true), entry("8", "", None, false)],
        },
        NsiDocument {
            catalog: Catalog::SpecialPurchase,
            entries: vec![entry("P4_1_93", "Закупки <малого> объёма", None, true)],
        },
        NsiDocument {
            catalog: Catalog::Kbk,
            entries: vec![entry("90107020110100590244", "Код бюджета 40000000", None, true)],
        },
    ];
    for d in docs {
        let xml = write_nsi(&d);
        schemas::assert_valid_or_skip(eis::nsi::list_element(d.catalog), EXPORT_XSD, &xml);
        assert_eq!(read_nsi(&xml).unwrap(), d, "{xml}");
    }
}

#[test]
fn the_list_alone_as_root_is_read() {
    let xml = okpd2_sample();
    let start = xml.find("<nsiOKPD2List>").unwrap();
    let end = xml.find("</nsiOKPD2List>").unwrap() + "</nsiOKPD2List>".len();
    let bare = xml[start..end].replacen(
        "<nsiOKPD2List>",
        r#"<nsiOKPD2List xmlns="http://zakupki.gov.ru/oos/export/1" xmlns:oos="http://zakupki.gov.ru/oos/types/1">"#,
        1,
    );
    assert_eq!(read_nsi(&bare).unwrap().entries.len(), 3);
}

#[test]
fn bytes_with_a_bom_are_read() {
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend_from_slice(kvr_sample().as_bytes());
    assert_eq!(read_nsi_bytes(&bytes).unwrap().catalog, Catalog::Kvr);
}

#[test]
fn unknown_roots_are_refused() {
    let packet = r#"<tenderPlan2020 xmlns="http://zakupki.gov.ru/oos/integration/1"/>"#;
    let e = read_nsi(packet).unwrap_err();
    assert!(matches!(e, NsiError::Read(ReadError::UnexpectedRoot { .. })), "{e:?}");
    assert!(e.message_ru().contains("не является выгрузкой НСИ ЕИС"), "{}", e.message_ru());
    // The right local name in no namespace is not an ЕИС export either.
    assert!(matches!(read_nsi("<export/>").unwrap_err(), NsiError::Read(ReadError::UnexpectedRoot { .. })));
}

#[test]
fn an_unsupported_catalog_is_refused() {
    let xml = doc(r#"<nsiOKVED2List>
  <nsiOKVED2><oos:code>85.14</oos:code><oos:name>Образование среднее общее</oos:name><oos:actual>true</oos:actual></nsiOKVED2>
</nsiOKVED2List>"#);
    let e = read_nsi(&xml).unwrap_err();
    assert!(matches!(&e, NsiError::UnknownCatalog { found } if found.ends_with("nsiOKVED2List")), "{e:?}");
    assert!(e.message_ru().contains("nsiOKPD2List"), "{}", e.message_ru());
}

#[test]
fn broken_documents_fail_with_their_reason() {
    let e = read_nsi("<export xmlns=\"http://zakupki.gov.ru/oos/export/1\"><nsiKVRList>").unwrap_err();
    assert!(matches!(e, NsiError::Read(ReadError::Syntax(_))), "{e:?}");
    assert!(e.message_ru().starts_with("Документ не является корректным XML"));

    let no_code = kvr_sample().replacen("<oos:code>244</oos:code>", "", 1);
    assert_eq!(
        read_nsi(&no_code).unwrap_err(),
        NsiError::Read(ReadError::Missing("export/nsiKVRList/nsiKVR[2]/code".into()))
    );

    let bad_flag = kvr_sample().replacen("<oos:actual>true</oos:actual>", "<oos:actual>да</oos:actual>", 1);
    let e = read_nsi(&bad_flag).unwrap_err();
    assert!(
        matches!(&e, NsiError::Read(ReadError::Invalid { path, .. }) if path == "export/nsiKVRList/nsiKVR[1]/actual"),
        "{e:?}"
    );
    assert!(e.message_ru().contains("«да»"), "{}", e.message_ru());

    let short_kbk = kbk_sample().replacen("90107020110100590247", "9010702", 1);
    assert!(matches!(read_nsi(&short_kbk).unwrap_err(), NsiError::Read(ReadError::Invalid { .. })));

    let foreign_record = kvr_sample().replacen("<nsiKVR>", "<nsiOKPD2>", 1).replacen("</nsiKVR>", "</nsiOKPD2>", 1);
    assert!(matches!(read_nsi(&foreign_record).unwrap_err(), NsiError::Read(ReadError::Unsupported { .. })));

    let empty = doc("<nsiKVRList/>");
    schemas::assert_valid_or_skip("empty nsiKVRList", EXPORT_XSD, &empty);
    assert!(matches!(read_nsi(&empty).unwrap_err(), NsiError::Empty { .. }));
}

#[test]
fn archives_and_other_encodings_are_refused() {
    assert_eq!(read_nsi_bytes(b"PK\x03\x04rest of a zip").unwrap_err(), NsiError::Zip);
    // «код» in windows-1251.
    assert_eq!(read_nsi_bytes(b"<export>\xea\xee\xe4</export>").unwrap_err(), NsiError::NotUtf8);
    assert!(NsiError::Zip.message_ru().contains("ZIP"));
}

/// A full-size ОКПД2 (40 000 records, about 9 MB) reads quickly enough for an upload.
#[test]
fn a_large_catalog_reads() {
    let entries: Vec<Entry> = (0..40_000)
        .map(|i| {
            entry(
                &format!("{:02}.{:02}.{:02}.{:03}", i % 99, i % 97, i % 89, i),
                "Изделия прочие, не включенные в другие группировки",
                Some("01"),
                i % 7 != 0,
            )
        })
        .collect();
    let xml = write_nsi(&NsiDocument { catalog: Catalog::Okpd2, entries });
    let started = std::time::Instant::now();
    let d = read_nsi(&xml).unwrap();
    assert_eq!(d.entries.len(), 40_000);
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
}

/// Found by fuzzing (target `nsi`): the writer took a КБК's budget from the digits of the
/// entry's name, so a budget code without digits was written empty and the written file did
/// not read back. The budget now comes back as read; one longer than the schema's 8
/// characters is refused.
#[test]
fn kbk_budgets_are_written_back_as_read() {
    let record = |budget: &str| {
        format!(
            "<nsiKBKBudget><oos:kbk>90107020000000000244</oos:kbk><oos:budget>{budget}</oos:budget><oos:actual>true</oos:actual></nsiKBKBudget>"
        )
    };
    let file = doc(&format!("<nsiKBKBudgetList>{}{}</nsiKBKBudgetList>", record("МБ"), record("4a000000")));
    let read = read_nsi(&file).expect("readable");
    assert_eq!(read.entries[0].name, "Коды бюджетов: МБ, 4a000000");
    let written = write_nsi(&read);
    assert!(written.contains("<oos:budget>МБ</oos:budget>"), "{written}");
    let again = read_nsi(&written).expect("the written file reads back");
    assert_eq!(write_nsi(&again), written);
    let long = doc(&format!("<nsiKBKBudgetList>{}</nsiKBKBudgetList>", record("123456789")));
    match read_nsi(&long) {
        Err(NsiError::Read(ReadError::Invalid { path, .. })) => {
            assert!(path.ends_with("nsiKBKBudget[1]/budget"), "{path}")
        }
        other => panic!("{other:?}"),
    }
}
