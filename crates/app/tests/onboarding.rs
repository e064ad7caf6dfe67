//! Onboarding a region from ЕИС's «Сводный перечень заказчиков»: the check says per record what
//! is wrong and saves nothing; a clean list loads superiors first in one transaction; loading it
//! again updates and never duplicates; an administrator reaches only their own subtree.

use app::onboarding::RowOutcome;
use app::users::Administration;
use domain::Role;
use store::Store;
use store::testing::fresh_store;

/// One record of the list, as ЕИС writes it.
struct Rec {
    spz: String,
    name: String,
    inn: String,
    kpp: &'static str,
    org_type: &'static str,
    level: &'static str,
    iku: Option<String>,
    head: Option<String>,
    oktmo: Option<&'static str>,
    actual: &'static str,
}

fn rec(spz: &str, name: &str, inn: &str, head: Option<&str>) -> Rec {
    Rec {
        spz: spz.into(),
        name: name.into(),
        inn: inn.into(),
        kpp: "780101001",
        org_type: if head.is_some() { "03" } else { "01" },
        level: "2",
        iku: Some(format!("2{inn}780101001")),
        head: head.map(str::to_owned),
        oktmo: Some("40000000"),
        actual: "true",
    }
}

fn xml(records: &[Rec], foreign: usize) -> Vec<u8> {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><export xmlns="http://zakupki.gov.ru/oos/export/1" xmlns:oos="http://zakupki.gov.ru/oos/types/1"><nsiOrganizationList>"#,
    );
    for r in records {
        s.push_str("<nsiOrganization>");
        s.push_str(&format!("<oos:regNumber>{}</oos:regNumber><oos:fullName>{}</oos:fullName>", r.spz, r.name));
        s.push_str("<oos:factualAddress/>");
        if let Some(h) = &r.head {
            s.push_str(&format!("<oos:headAgency><oos:regNum>{h}</oos:regNum></oos:headAgency>"));
        }
        s.push_str(&format!("<oos:INN>{}</oos:INN><oos:KPP>{}</oos:KPP>", r.inn, r.kpp));
        if let Some(iku) = &r.iku {
            s.push_str(&format!("<oos:IKUInfo><oos:IKU>{iku}</oos:IKU></oos:IKUInfo>"));
        }
        s.push_str("<oos:OGRN>1027800000000</oos:OGRN><oos:OKOPF><oos:code>75203</oos:code><oos:fullName>x</oos:fullName></oos:OKOPF>");
        s.push_str(&format!(
            "<oos:organizationType><oos:code>{}</oos:code><oos:name>x</oos:name></oos:organizationType>",
            r.org_type
        ));
        if let Some(o) = r.oktmo {
            s.push_str(&format!("<oos:OKTMO><oos:code>{o}</oos:code></oos:OKTMO>"));
        }
        s.push_str(&format!(
            "<oos:subordinationType>{}</oos:subordinationType><oos:actual>{}</oos:actual>",
            r.level, r.actual
        ));
        s.push_str("</nsiOrganization>");
    }
    for i in 0..foreign {
        s.push_str(&format!(
            "<nsiOrganization><oos:organizationForeignCountry><oos:regNumber>0999999{i:04}</oos:regNumber>\
             <oos:fullName>Foreign</oos:fullName></oos:organizationForeignCountry></nsiOrganization>"
        ));
    }
    s.push_str("</nsiOrganizationList></export>");
    s.into_bytes()
}

/// A committee with two schools under it (the second's superior is listed after it), one school
/// not actual, one foreign organization.
fn region() -> Vec<Rec> {
    let mut closed = rec("03722001003", "ГБОУ «Школа № 3»", "7801000033", Some("03722000010"));
    closed.actual = "false";
    vec![
        rec("03722001001", "ГБОУ «Школа № 1»", "7801000011", Some("03722000010")),
        rec("03722000010", "Комитет по образованию", "7830000426", None),
        rec("03722001002", "ГБОУ «Школа № 2»", "7801000022", Some("03722000010")),
        closed,
    ]
}

/// Loads are one at a time per process (`app::onboarding`): the tests that load take turns.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn store() -> (Store, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    (fresh_store(tmp.path()).await.unwrap(), tmp)
}

#[tokio::test]
async fn a_clean_list_loads_superiors_first_and_a_second_load_duplicates_nothing() {
    let _turn = TURN.lock().await;
    let (s, _tmp) = store().await;
    let admin = Administration::new(s.clone());
    let check = admin.check_organization_list(None, xml(&region(), 1)).await.unwrap();
    assert_eq!((check.new_count(), check.not_actual_count(), check.foreign, check.refused_count()), (3, 1, 1, 0));
    assert!(s.organizations().await.unwrap().is_empty(), "the check saves nothing");

    // The progress: first the records to write, then the count written, ending at all of them.
    let told = std::sync::Mutex::new(Vec::new());
    let progress = |p: app::onboarding::ListProgress| told.lock().unwrap().push(format!("{p:?}"));
    let loaded = admin.load_organization_list(None, xml(&region(), 1), &progress).await.unwrap().unwrap();
    assert_eq!((loaded.created, loaded.updated, loaded.unchanged), (3, 0, 0));
    let told = told.into_inner().unwrap();
    assert_eq!(told.first().map(String::as_str), Some("Total(3)"), "{told:?}");
    assert_eq!(told.last().map(String::as_str), Some("Done(3)"), "{told:?}");
    let committee = s.organization_by_spz("03722000010").await.unwrap().unwrap();
    let school = s.organization_by_spz("03722001001").await.unwrap().unwrap();
    assert_eq!(school.superior_id, Some(committee.id));
    assert_eq!(school.org_type, domain::OrgType::Budget);
    assert_eq!((school.budget_level, school.oktmo.as_str()), (2, "40000000"));
    assert_eq!(school.short_name, "ГБОУ «Школа № 1»", "no short name: the full one");
    assert!(s.organization_by_spz("03722001003").await.unwrap().is_none(), "not actual: left out");
    let journal = s.audit_for("organization", school.id.get()).await.unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].action, "Загружена из сводного перечня заказчиков");

    // Again: nothing new. With a renamed school: one update, said per field.
    let again = admin.load_organization_list(None, xml(&region(), 0), &|_| {}).await.unwrap().unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
    let mut renamed = region();
    renamed[2].name = "ГБОУ «Школа № 2 имени А. С. Пушкина»".into();
    let check = admin.check_organization_list(None, xml(&renamed, 0)).await.unwrap();
    let row = check.rows.iter().find(|r| r.spz == "03722001002").unwrap();
    assert_eq!(row.outcome, RowOutcome::Changed(vec!["наименование", "сокращенное наименование"]));
    let loaded = admin.load_organization_list(None, xml(&renamed, 0), &|_| {}).await.unwrap().unwrap();
    assert_eq!((loaded.created, loaded.updated, loaded.unchanged), (0, 1, 2));
    assert_eq!(s.organizations().await.unwrap().len(), 3);
    let second = s.organization_by_spz("03722001002").await.unwrap().unwrap();
    let journal = s.audit_for("organization", second.id.get()).await.unwrap();
    assert_eq!(journal.last().unwrap().action, "Обновлена из сводного перечня заказчиков");
    assert_eq!(journal.last().unwrap().details, "наименование, сокращенное наименование");
}

#[tokio::test]
async fn every_wrong_record_is_named_with_its_field_and_nothing_is_loaded() {
    let _turn = TURN.lock().await;
    let (s, _tmp) = store().await;
    let admin = Administration::new(s.clone());
    let mut list = region();
    list[0].inn = "78010".into();
    list[0].iku = None;
    list[2].org_type = "99";
    let mut no_oktmo = rec("03722001004", "ГБОУ «Школа № 4»", "7801000044", Some("03722000010"));
    no_oktmo.oktmo = None;
    let mut wrong_iku = rec("03722001005", "ГБОУ «Школа № 5»", "7801000055", Some("03722000010"));
    wrong_iku.iku = Some("37801000055780101001".into());
    let orphan = rec("03722001006", "ГБОУ «Школа № 6»", "7801000066", Some("03722009999"));
    let twice = rec("03722001005", "ГБОУ «Школа № 5» ещё раз", "7801000055", None);
    let mut a = rec("03722001007", "А", "7801000077", Some("03722001008"));
    let mut b = rec("03722001008", "Б", "7801000088", Some("03722001007"));
    a.org_type = "01";
    b.org_type = "01";
    let mut no_level = rec("03722001009", "ГБОУ «Школа № 9»", "7801000099", Some("03722000010"));
    no_level.level = "7";
    no_level.iku = None;
    list.extend([no_oktmo, wrong_iku, orphan, twice, a, b, no_level]);
    let check = admin.check_organization_list(None, xml(&list, 0)).await.unwrap();
    let errors = |spz: &str| -> String {
        check
            .refused()
            .filter(|(r, _)| r.spz == spz)
            .flat_map(|(_, e)| e.iter().map(ToString::to_string))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(errors("03722001001").contains("ИНН «78010»: нужно 10 цифр"), "{}", errors("03722001001"));
    assert!(errors("03722001002").contains("Тип организации «99»"), "{}", errors("03722001002"));
    assert!(errors("03722001004").contains("ОКТМО: не указан"), "{}", errors("03722001004"));
    assert!(errors("03722001005").contains("ИКУ «37801000055780101001»: не совпадает"), "{}", errors("03722001005"));
    assert!(errors("03722001005").contains("уже есть выше в файле"), "{}", errors("03722001005"));
    assert!(errors("03722001006").contains("нет ни в файле, ни в plangraf"), "{}", errors("03722001006"));
    assert!(errors("03722001007").contains("замкнутый круг") && errors("03722001008").contains("замкнутый круг"));
    assert!(errors("03722001009").contains("Уровень (subordinationType) «7»"), "{}", errors("03722001009"));
    assert_eq!(check.new_count(), 1, "only the committee is right");
    let refused = admin.load_organization_list(None, xml(&list, 0), &|_| {}).await.unwrap().unwrap_err();
    assert_eq!(refused.refused_count(), check.refused_count());
    assert!(s.organizations().await.unwrap().is_empty(), "a list with errors changes nothing");

    // Not a list at all.
    let e = admin.check_organization_list(None, b"<html/>".to_vec()).await.unwrap_err();
    assert!(e.to_string().contains("не является выгрузкой ЕИС"), "{e}");
}

#[tokio::test]
async fn an_administrator_loads_only_their_own_subtree() {
    let _turn = TURN.lock().await;
    let (s, _tmp) = store().await;
    let admin = Administration::new(s.clone());
    admin.load_organization_list(None, xml(&region()[..3], 0), &|_| {}).await.unwrap().unwrap();
    let committee = s.organization_by_spz("03722000010").await.unwrap().unwrap();
    let school = s.organization_by_spz("03722001001").await.unwrap().unwrap();
    let region_admin = s.create_user("admin", "-", "Администратор", committee.id, Role::Admin).await.unwrap().unwrap();
    let school_admin =
        s.create_user("school", "-", "Администратор школы", school.id, Role::Admin).await.unwrap().unwrap();
    let specialist =
        s.create_user("spec", "-", "Специалист", school.id, Role::CustomerSpecialist).await.unwrap().unwrap();
    let mut more = region();
    more.push(rec("03722001010", "ГБОУ «Школа № 10»", "7801000100", Some("03722000010")));
    more.push(rec("03722005000", "Другой комитет", "7830000500", None));
    let by_region = admin.check_organization_list(Some(&region_admin), xml(&more, 0)).await.unwrap();
    let out_of_reach: Vec<&str> = by_region.refused().map(|(r, _)| r.spz.as_str()).collect();
    assert_eq!(out_of_reach, ["03722005000"], "the committee's own subtree loads, another top does not");
    let by_school = admin.check_organization_list(Some(&school_admin), xml(&more, 0)).await.unwrap();
    let reached: Vec<&str> = by_school
        .rows
        .iter()
        .filter(|r| !matches!(r.outcome, RowOutcome::Refused(_) | RowOutcome::NotActual))
        .map(|r| r.spz.as_str())
        .collect();
    assert_eq!(reached, ["03722001001"], "a school's administrator reaches only the school");
    let e = admin.check_organization_list(Some(&specialist), xml(&more, 0)).await.unwrap_err();
    assert!(e.to_string().contains("только администратор"), "{e}");
}

#[tokio::test]
async fn five_thousand_organizations_load_in_one_go() {
    let _turn = TURN.lock().await;
    let (s, _tmp) = store().await;
    let admin = Administration::new(s.clone());
    let mut list = vec![rec("03722000010", "Комитет по образованию", "7830000426", None)];
    for i in 0..50 {
        let mut sup = rec(
            &format!("0372201{i:04}"),
            &format!("Отдел образования № {i}"),
            &format!("78020{i:05}"),
            Some("03722000010"),
        );
        sup.org_type = "01";
        list.push(sup);
    }
    for i in 0..4949 {
        let head = format!("0372201{:04}", i % 50);
        list.push(rec(&format!("0372300{i:04}"), &format!("ГБОУ «Школа № {i}»"), &format!("78030{i:05}"), Some(&head)));
    }
    let bytes = xml(&list, 0);
    let size = bytes.len();
    let started = std::time::Instant::now();
    let loaded = admin.load_organization_list(None, bytes.clone(), &|_| {}).await.unwrap().unwrap();
    let first = started.elapsed();
    assert_eq!((loaded.created, loaded.updated), (5000, 0));
    let started = std::time::Instant::now();
    let again = admin.load_organization_list(None, bytes, &|_| {}).await.unwrap().unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 5000));
    eprintln!(
        "onboarding: 5,000 organizations ({} KB) loaded in {:.1} s, checked again unchanged in {:.1} s",
        size / 1024,
        first.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let school = s.organization_by_spz("03723004948").await.unwrap().unwrap();
    let head = s.organization_by_spz("03722010048").await.unwrap().unwrap();
    assert_eq!(school.superior_id, Some(head.id));
}
