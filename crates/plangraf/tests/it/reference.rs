//! Reference data over HTTP: the pickers' search (signed-in users only, actual records, at most
//! 20), the «Справочники» page and its NSI upload (administrators only, CSRF-protected, nothing
//! changed on error), and the picker script on every page.

use crate::common::Harness;
use store::nsi::Catalog;

const KVR_EXPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<export xmlns="http://zakupki.gov.ru/oos/export/1" xmlns:oos="http://zakupki.gov.ru/oos/types/1">
<nsiKVRList>
  <nsiKVR><oos:code>240</oos:code><oos:name>Иные закупки товаров, работ и услуг для обеспечения государственных (муниципальных) нужд</oos:name><oos:parentCode>200</oos:parentCode><oos:actual>true</oos:actual></nsiKVR>
  <nsiKVR><oos:code>244</oos:code><oos:name>Прочая закупка товаров, работ и услуг</oos:name><oos:parentCode>240</oos:parentCode><oos:actual>true</oos:actual></nsiKVR>
  <nsiKVR><oos:code>246</oos:code><oos:name>Закупка товаров, работ и услуг в целях создания, развития, эксплуатации и вывода из эксплуатации государственных информационных систем</oos:name><oos:parentCode>240</oos:parentCode><oos:actual>true</oos:actual></nsiKVR>
</nsiKVRList>
</export>
"#;

async fn json(c: &crate::common::Client, path: &str) -> (u16, serde_json::Value) {
    let r = c.http.get(format!("{}{path}", c.base)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn codes(v: &serde_json::Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap().to_owned()).collect()
}

/// Posts the upload form as a browser does: multipart with the CSRF token and the file.
async fn upload(
    c: &crate::common::Client,
    csrf: &str,
    name: &str,
    bytes: &[u8],
    partial: bool,
    origin: Option<&str>,
) -> crate::common::Page {
    upload_with(c, csrf, name, bytes, partial, origin, None).await
}

async fn upload_with(
    c: &crate::common::Client,
    csrf: &str,
    name: &str,
    bytes: &[u8],
    partial: bool,
    origin: Option<&str>,
    confirm_retired: Option<&str>,
) -> crate::common::Page {
    let mut form = reqwest::multipart::Form::new().text("csrf", csrf.to_owned()).part(
        "file",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()).mime_str("text/xml").unwrap(),
    );
    if partial {
        form = form.text("partial", "1");
    }
    if let Some(n) = confirm_retired {
        form = form.text("confirm_retired", n.to_owned());
    }
    let mut req = c.http.post(format!("{}/reference", c.base)).multipart(form);
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let url = r.url().to_string();
    crate::common::Page { status, url, body: r.text().await.unwrap() }
}

#[tokio::test]
async fn search_is_for_signed_in_users_only() {
    let h = Harness::start().await;
    let anonymous = h.client();
    let (status, body) = json(&anonymous, "/reference/okpd2?q=17").await;
    assert_eq!(status, 401);
    assert!(body["error"].as_str().unwrap().contains("Войдите"), "{body}");
    let mut c = h.client();
    c.login("zakazchik", "zakazchik").await;
    let (status, body) = json(&c, "/reference/okpd2?q=17.23").await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!([{ "code": "17.23.1", "name": "Принадлежности канцелярские бумажные" }]));
    let (_, body) = json(&c, "/reference/kvr?q=%D0%BF%D1%80%D0%BE%D1%87%D0%B0%D1%8F").await; // «прочая»
    assert_eq!(codes(&body), ["244"]);
    let (_, body) = json(&c, "/reference/special_purchase?q=p4").await;
    assert_eq!(codes(&body), ["P42_1_93", "P44_1_93", "P4_1_93"]);
    let (_, body) = json(&c, "/reference/special_purchase?q=p4_").await;
    assert_eq!(codes(&body), ["P4_1_93"]);
    // At most 20 records, however many match.
    let (_, body) = json(&c, "/reference/okpd2?q=%D1%83%D1%81%D0%BB%D1%83%D0%B3%D0%B8").await; // «услуги»
    assert_eq!(body.as_array().unwrap().len(), 20);
    let (status, body) = json(&c, "/reference/okved2?q=85").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().is_some());
    // A query longer than the search takes is refused in words, not cut to fit.
    let (status, body) = json(&c, &format!("/reference/okpd2?q={}", "1".repeat(100))).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = json(&c, &format!("/reference/okpd2?q={}", "1".repeat(101))).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "Строка поиска — не более 100 символов: сократите её", "{body}");
    h.app.stop().await;
}

#[tokio::test]
async fn only_administrators_see_and_load_catalogs() {
    let h = Harness::start().await;
    let mut c = h.client();
    let p = c.get("/reference").await;
    assert!(p.url.ends_with("/login"), "anonymous is sent to sign in");
    c.login("zakazchik", "zakazchik").await;
    let p = c.get("/plans").await;
    assert!(!p.has("href=\"/reference\""), "no link for a customer");
    let p = c.get("/reference").await;
    assert_eq!(p.status, 403);
    assert!(p.has("только администратору"));
    let token = c.csrf.clone();
    let p = upload(&c, &token, "kvr.xml", KVR_EXPORT.as_bytes(), false, None).await;
    assert_eq!(p.status, 403);
    assert!(h.app.store.reference_get(Catalog::Kvr, "246").await.unwrap().is_none(), "nothing loaded");
    h.app.stop().await;
}

#[tokio::test]
async fn an_administrator_loads_an_nsi_export() {
    let h = Harness::start().await;
    let mut admin = h.client();
    admin.login("admin", "admin").await;
    let p = admin.get("/plans").await;
    assert!(p.has("href=\"/reference\""), "the menu links the catalogs for admins");
    let p = admin.get("/reference").await;
    assert_eq!(p.status, 200);
    assert!(p.has("Справочники") && p.has("стартовый набор plangraf") && p.has("data-catalog=\"kbk\""), "{}", p.body);
    let token = admin.csrf.clone();

    // Refused before anything changes: no token, a forged one, a foreign origin.
    for (csrf, origin) in [("", None), ("forged", None), (token.as_str(), Some("http://evil.example"))] {
        let p = upload(&admin, csrf, "kvr.xml", KVR_EXPORT.as_bytes(), false, origin).await;
        assert_eq!(p.status, 403, "csrf {csrf:?}, origin {origin:?}");
        assert!(p.has("защита от CSRF"));
    }
    assert!(h.app.store.reference_get(Catalog::Kvr, "246").await.unwrap().is_none());

    // Files that are not a supported NSI export: a Russian message, nothing changed.
    let before = h.app.store.reference_catalogs().await.unwrap();
    for (name, bytes, says) in [
        (
            "plan.xml",
            &br#"<tenderPlan2020 xmlns="http://zakupki.gov.ru/oos/integration/1"/>"#[..],
            "не является выгрузкой НСИ ЕИС",
        ),
        (
            "okved.xml",
            &br#"<export xmlns="http://zakupki.gov.ru/oos/export/1"><nsiOKVED2List/></export>"#[..],
            "нет справочника",
        ),
        (
            "broken.xml",
            &b"<export xmlns=\"http://zakupki.gov.ru/oos/export/1\"><nsiKVRList>"[..],
            "не является корректным XML",
        ),
        ("nsi.zip", &b"PK\x03\x04zip"[..], "ZIP-архив"),
        ("empty.xml", &b""[..], "Выберите XML-файл"),
    ] {
        let p = upload(&admin, &token, name, bytes, false, None).await;
        assert_eq!(p.status, 422, "{name}: {}", p.body);
        assert!(p.has(says), "{name}: {}", p.body);
        assert!(p.has("role=\"alert\""));
    }
    assert_eq!(h.app.store.reference_catalogs().await.unwrap(), before, "nothing changed");

    // A full КВР export would retire the codes it does not list: first the counts, nothing changed.
    let p = upload(&admin, &token, "nsiKVRList_all.xml", KVR_EXPORT.as_bytes(), false, None).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("Подтвердите полную загрузку"), "{}", p.body);
    let retire = crate::common::value_of(&p.body, "confirm_retired");
    let actual_before = before.iter().find(|c| c.catalog == Catalog::Kvr).unwrap().actual;
    assert!(p.has(&format!("снимет актуальность с {retire} из {actual_before} актуальных записей")), "{}", p.body);
    assert_eq!(h.app.store.reference_catalogs().await.unwrap(), before, "nothing changed before the confirmation");
    // A confirmation of other counts (the catalog changed meanwhile) asks again.
    let other = (retire.parse::<usize>().unwrap() + 1).to_string();
    let p = upload_with(&admin, &token, "nsiKVRList_all.xml", KVR_EXPORT.as_bytes(), false, None, Some(&other)).await;
    assert!(p.has("Подтвердите полную загрузку"), "{}", p.body);
    // Confirmed: 246 added, codes it does not list are no longer offered.
    let p = upload_with(&admin, &token, "nsiKVRList_all.xml", KVR_EXPORT.as_bytes(), false, None, Some(&retire)).await;
    assert_eq!(p.status, 200, "{}", p.body);
    // The catalog is written by a job whose page shows the progress, then the counts.
    let p = admin.job_outcome(p).await;
    assert!(p.has("Загрузка справочника НСИ") && p.has("Завершено"), "{}", p.body);
    assert!(
        p.has("Справочник «КВР — коды видов расходов» загружен: записей в файле 3, добавлено 1, изменено 0, без изменений 2"),
        "{}",
        p.body
    );
    assert!(admin.get("/reference").await.has("nsiKVRList_all.xml"));
    let (_, body) = json(&admin, "/reference/kvr?q=24").await;
    assert_eq!(codes(&body), ["240", "244", "246"]);
    let retired = h.app.store.reference_get(Catalog::Kvr, "243").await.unwrap().expect("kept");
    assert!(!retired.actual);
    // Loading the same file again changes nothing.
    let p = upload(&admin, &token, "nsiKVRList_all.xml", KVR_EXPORT.as_bytes(), false, None).await;
    let p = admin.job_outcome(p).await;
    assert!(p.has("добавлено 0, изменено 0, без изменений 3, снята актуальность 0"), "{}", p.body);
    // The load is in the audit journal, under the administrator.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'reference'")
        .fetch_one(h.app.store.pool())
        .await
        .unwrap();
    assert_eq!(n, 2);
    h.app.stop().await;
}

#[tokio::test]
async fn every_page_carries_the_picker_script() {
    let h = Harness::start().await;
    let mut c = h.client();
    c.login("zakazchik", "zakazchik").await;
    let p = c.get("/plans").await;
    assert!(p.has("<script src=\"/static/picker.js\" defer></script>"));
    let r = c.http.get(format!("{}/static/picker.js", c.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let script = r.text().await.unwrap();
    assert!(script.contains("data-nsi-name") && script.contains("/reference/"));
    h.app.stop().await;
}
