//! `plangraf org load`: ЕИС's «Сводный перечень заказчиков» checked (every error named, nothing
//! saved), then loaded with --yes, and loaded again without duplicates — the real binary.

use crate::backups::plangraf;

fn list(committee_inn: &str) -> String {
    let org = |spz: &str, name: &str, inn: &str, head: Option<&str>, org_type: &str| {
        let head =
            head.map(|h| format!("<oos:headAgency><oos:regNum>{h}</oos:regNum></oos:headAgency>")).unwrap_or_default();
        format!(
            "<nsiOrganization><oos:regNumber>{spz}</oos:regNumber><oos:fullName>{name}</oos:fullName><oos:factualAddress/>{head}\
             <oos:INN>{inn}</oos:INN><oos:KPP>780101001</oos:KPP><oos:OGRN>1</oos:OGRN>\
             <oos:OKOPF><oos:code>1</oos:code><oos:fullName>x</oos:fullName></oos:OKOPF>\
             <oos:organizationType><oos:code>{org_type}</oos:code><oos:name>x</oos:name></oos:organizationType>\
             <oos:OKTMO><oos:code>40000000</oos:code></oos:OKTMO><oos:subordinationType>2</oos:subordinationType>\
             <oos:actual>true</oos:actual></nsiOrganization>"
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><export xmlns="http://zakupki.gov.ru/oos/export/1" xmlns:oos="http://zakupki.gov.ru/oos/types/1"><nsiOrganizationList>{}{}</nsiOrganizationList></export>"#,
        org("03722000010", "Комитет по образованию", committee_inn, None, "01"),
        org("03722001001", "ГБОУ «Школа № 1»", "7801000011", Some("03722000010"), "03"),
    )
}

#[tokio::test]
async fn the_operator_checks_then_loads_a_region_list_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("spz.xml");

    std::fs::write(&file, list("78300")).unwrap();
    let (ok, out) = plangraf(&data, &["org", "load", file.to_str().unwrap(), "--yes"], &[]).await;
    assert!(!ok, "{out}");
    assert!(out.contains("запись 1 (СПЗ 03722000010, Комитет по образованию)"), "{out}");
    assert!(out.contains("ИНН «78300»: нужно 10 цифр"), "{out}");
    assert!(out.contains("вышестоящая организация в файле с ошибками"), "{out}");
    assert!(out.contains("Ничего не изменено"), "{out}");

    std::fs::write(&file, list("7830000426")).unwrap();
    let (ok, out) = plangraf(&data, &["org", "load", file.to_str().unwrap()], &[]).await;
    assert!(ok, "{out}");
    assert!(out.contains("новых 2, с изменениями 0, без изменений 0"), "{out}");
    assert!(out.contains("Чтобы загрузить, повторите команду с --yes"), "{out}");
    let (ok, out) = plangraf(&data, &["org", "load", file.to_str().unwrap(), "--yes"], &[]).await;
    assert!(ok, "{out}");
    assert!(out.contains("создано 2, обновлено 0, без изменений 0"), "{out}");
    let (ok, out) = plangraf(&data, &["org", "load", file.to_str().unwrap(), "--yes"], &[]).await;
    assert!(ok && out.contains("создано 0, обновлено 0, без изменений 2"), "{out}");
}
