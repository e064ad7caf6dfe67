//! «Сводный перечень заказчиков» (`export/nsiOrganizationList`): a hand-written sample valid
//! against the official `fcsExport.xsd` 14.1 read into organizations; broken files refused with
//! the right error.

use eis::ReadError;
use eis::nsi_organizations::*;
use eis::schemas::{self, EXPORT_XSD};

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<export xmlns="http://zakupki.gov.ru/oos/export/1" xmlns:oos="http://zakupki.gov.ru/oos/types/1">"#;

fn doc(list: &str) -> String {
    format!("{HEAD}\n{list}\n</export>\n")
}

/// A committee, a school under it (its first ИКУ ended, a second in force), and a foreign
/// organization.
fn sample() -> String {
    doc(r#"<nsiOrganizationList>
  <nsiOrganization>
    <oos:regNumber>03722000010</oos:regNumber>
    <oos:shortName>Комитет по образованию</oos:shortName>
    <oos:fullName>Комитет по образованию Санкт-Петербурга</oos:fullName>
    <oos:factualAddress>
      <oos:zip>190000</oos:zip>
    </oos:factualAddress>
    <oos:INN>7830000426</oos:INN>
    <oos:KPP>784001001</oos:KPP>
    <oos:IKUInfo>
      <oos:IKU>27830000426784001001</oos:IKU>
      <oos:dateStIKU>2014-01-01T00:00:00</oos:dateStIKU>
    </oos:IKUInfo>
    <oos:OGRN>1027809244561</oos:OGRN>
    <oos:OKOPF>
      <oos:code>75204</oos:code>
      <oos:fullName>Государственные казенные учреждения субъектов Российской Федерации</oos:fullName>
    </oos:OKOPF>
    <oos:organizationType>
      <oos:code>01</oos:code>
      <oos:name>Орган власти</oos:name>
    </oos:organizationType>
    <oos:OKTMO>
      <oos:code>40000000</oos:code>
    </oos:OKTMO>
    <oos:subordinationType>2</oos:subordinationType>
    <oos:actual>true</oos:actual>
  </nsiOrganization>
  <nsiOrganization>
    <oos:regNumber>03722001001</oos:regNumber>
    <oos:fullName>Государственное бюджетное общеобразовательное учреждение «Школа № 1»</oos:fullName>
    <oos:factualAddress/>
    <oos:headAgency>
      <oos:regNum>03722000010</oos:regNum>
      <oos:fullName>Комитет по образованию Санкт-Петербурга</oos:fullName>
    </oos:headAgency>
    <oos:INN>7801000011</oos:INN>
    <oos:KPP>780101001</oos:KPP>
    <oos:IKUInfo>
      <oos:IKU>27801000011780101001</oos:IKU>
      <oos:dateStIKU>2014-01-01T00:00:00</oos:dateStIKU>
      <oos:dateEndIKU>2019-01-01T00:00:00</oos:dateEndIKU>
    </oos:IKUInfo>
    <oos:IKUInfo>
      <oos:IKU>27801000011780101002</oos:IKU>
    </oos:IKUInfo>
    <oos:OGRN>1027800000011</oos:OGRN>
    <oos:OKOPF>
      <oos:code>75203</oos:code>
      <oos:fullName>Государственные бюджетные учреждения субъектов Российской Федерации</oos:fullName>
    </oos:OKOPF>
    <oos:organizationType>
      <oos:code>03</oos:code>
      <oos:name>Бюджетное учреждение</oos:name>
    </oos:organizationType>
    <oos:actual>false</oos:actual>
  </nsiOrganization>
  <nsiOrganization>
    <oos:organizationForeignCountry>
      <oos:regNumber>03722009999</oos:regNumber>
      <oos:fullName>Foreign Ltd</oos:fullName>
      <oos:INN>9909000001</oos:INN>
      <oos:KPP>990901001</oos:KPP>
      <oos:taxPayerCode>GB123</oos:taxPayerCode>
      <oos:organizationType>
        <oos:code>01</oos:code>
        <oos:name>Иностранная</oos:name>
      </oos:organizationType>
    </oos:organizationForeignCountry>
  </nsiOrganization>
</nsiOrganizationList>"#)
}

#[test]
fn the_sample_validates_and_reads_every_field_onboarding_needs() {
    let xml = sample();
    schemas::assert_valid_or_skip("nsiOrganizationList", EXPORT_XSD, &xml);
    let list = read_organization_list(&xml).unwrap();
    assert_eq!(list.foreign, 1);
    assert_eq!(
        list.organizations,
        [
            NsiOrganization {
                position: 1,
                reg_number: "03722000010".into(),
                short_name: Some("Комитет по образованию".into()),
                full_name: "Комитет по образованию Санкт-Петербурга".into(),
                inn: "7830000426".into(),
                kpp: "784001001".into(),
                iku: Some("27830000426784001001".into()),
                head_agency: None,
                org_type: "01".into(),
                oktmo: Some("40000000".into()),
                level: Some("2".into()),
                actual: Some(true),
            },
            NsiOrganization {
                position: 2,
                reg_number: "03722001001".into(),
                short_name: None,
                full_name: "Государственное бюджетное общеобразовательное учреждение «Школа № 1»".into(),
                inn: "7801000011".into(),
                kpp: "780101001".into(),
                iku: Some("27801000011780101002".into()),
                head_agency: Some("03722000010".into()),
                org_type: "03".into(),
                oktmo: None,
                level: None,
                actual: Some(false),
            },
        ]
    );
    // The same from bytes, with a byte-order mark, and the list alone as the root.
    let with_bom = format!("\u{feff}{xml}");
    assert_eq!(read_organization_list_bytes(with_bom.as_bytes()).unwrap(), list);
    let alone = xml
        .replace(HEAD, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .replace("</export>", "")
        .replace(
            "<nsiOrganizationList>",
            r#"<nsiOrganizationList xmlns="http://zakupki.gov.ru/oos/export/1" xmlns:oos="http://zakupki.gov.ru/oos/types/1">"#,
        );
    assert_eq!(read_organization_list(&alone).unwrap(), list);
}

#[test]
fn an_iku_whose_every_record_ended_is_no_iku() {
    let xml = sample().replace(
        "<oos:IKU>27830000426784001001</oos:IKU>",
        "<oos:IKU>27830000426784001001</oos:IKU><oos:dateEndIKU>2020-01-01T00:00:00</oos:dateEndIKU>",
    );
    let list = read_organization_list(&xml).unwrap();
    assert_eq!(list.organizations[0].iku, None);
}

#[test]
fn files_that_are_not_the_list_are_refused_with_the_reason() {
    let refused = |xml: &str| read_organization_list(xml).unwrap_err();
    assert_eq!(refused(&doc("<nsiOrganizationList/>")), ListError::Empty);
    assert!(matches!(refused(&doc("<nsiKVRList/>")), ListError::NotTheList { .. }));
    assert!(refused(&doc("<nsiKVRList/>")).message_ru().contains("nsiOrganizationList"));
    assert!(matches!(refused("<export/>"), ListError::Read(ReadError::UnexpectedRoot { .. })));
    assert!(matches!(refused("<export"), ListError::Read(ReadError::Syntax(_))));
    let other = refused(&doc("<nsiOrganizationList><nsiOKPD2/></nsiOrganizationList>"));
    assert!(matches!(other, ListError::Read(ReadError::Unsupported { .. })), "{other:?}");
    let bad_actual = sample().replace("<oos:actual>true</oos:actual>", "<oos:actual>да</oos:actual>");
    match refused(&bad_actual) {
        ListError::Read(ReadError::Invalid { path, .. }) => {
            assert_eq!(path, "nsiOrganizationList/nsiOrganization[1]/actual")
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(read_organization_list_bytes(b"PK\x03\x04zip").unwrap_err(), ListError::Zip);
    assert_eq!(read_organization_list_bytes(&[0xff, 0xfe, 0x00]).unwrap_err(), ListError::NotUtf8);
    for e in [ListError::Empty, ListError::Zip, ListError::NotUtf8] {
        assert!(!e.message_ru().is_empty());
    }
}
