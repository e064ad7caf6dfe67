//! Reference data (НСИ) storage: the starter set, loading and reloading catalogs, actual flags,
//! and search. Runs on SQLite and, when PLANGRAF_TEST_DATABASE_URL is set, on PostgreSQL.

use store::nsi::{Catalog, Entry, LoadOptions, LoadSummary, STARTER_SOURCE, starter_entries};
use store::testing::fresh_store;
use store::{Store, StoreError};

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let s = fresh_store(dir.path()).await.expect("fresh store");
    (s, dir)
}

fn entry(code: &str, name: &str, parent: Option<&str>, actual: bool) -> Entry {
    Entry { code: code.into(), name: name.into(), parent_code: parent.map(Into::into), actual }
}

fn full(source: &str) -> LoadOptions<'_> {
    LoadOptions { source, partial: false, user_id: None, org_id: None, dry_run: false }
}

fn codes(items: &[store::nsi::Item]) -> Vec<&str> {
    items.iter().map(|i| i.code.as_str()).collect()
}

#[tokio::test]
async fn the_starter_set_is_there_after_opening() {
    let (s, _d) = store().await;
    for c in Catalog::ALL {
        assert_eq!(s.reference_count(c).await.unwrap(), starter_entries(c).unwrap().len() as i64, "{}", c.code());
    }
    let kvr = s.reference_get(Catalog::Kvr, "244").await.unwrap().expect("КВР 244");
    assert_eq!(kvr.name, "Прочая закупка товаров, работ и услуг");
    assert_eq!(kvr.parent_code.as_deref(), Some("240"));
    assert!(kvr.actual);
    let reason = s.reference_get(Catalog::ChangeReason, "9").await.unwrap().expect("reason 9");
    assert!(reason.name.starts_with("Возникновение иных обстоятельств"));
    assert!(s.reference_get(Catalog::SpecialPurchase, "P4_1_93").await.unwrap().is_some());
    let info = s.reference_catalogs().await.unwrap();
    assert_eq!(info.len(), Catalog::ALL.len());
    let okpd2 = info.iter().find(|i| i.catalog == Catalog::Okpd2).unwrap();
    assert_eq!(okpd2.total, okpd2.actual);
    assert_eq!(okpd2.last_load.as_ref().map(|l| l.0.as_str()), Some(STARTER_SOURCE));
    // КБК has no starter set: it belongs to each budget.
    let kbk = info.iter().find(|i| i.catalog == Catalog::Kbk).unwrap();
    assert_eq!((kbk.total, kbk.last_load.is_none()), (0, true));
}

#[tokio::test]
async fn loading_is_idempotent_and_retires_what_is_gone() {
    let (s, _d) = store().await;
    let first = [
        entry("17", "Бумага и изделия из бумаги", None, true),
        entry("17.23.1", "Принадлежности канцелярские бумажные", Some("17.23"), true),
        entry("99", "Услуги, предоставляемые экстерриториальными организациями и органами", None, false),
    ];
    let starter = s.reference_count(Catalog::Okpd2).await.unwrap();
    let sum = s.reference_load(Catalog::Okpd2, &first, full("nsiOKPD2List_1.xml")).await.unwrap();
    // The starter set has 17 and 17.23.1 with the same names; everything else in it is retired.
    assert_eq!(sum, LoadSummary { added: 1, updated: 0, unchanged: 2, retired: starter as usize - 2 });
    assert_eq!(s.reference_count(Catalog::Okpd2).await.unwrap(), starter + 1, "nothing is deleted");
    let again = s.reference_load(Catalog::Okpd2, &first, full("nsiOKPD2List_1.xml")).await.unwrap();
    assert_eq!(again, LoadSummary { added: 0, updated: 0, unchanged: 3, retired: 0 });

    // A later full load without 17.23.1 retires it; a renamed record is updated.
    let second = [
        entry("17", "Бумага и изделия из бумаги (новая редакция)", None, true),
        entry("99", "Услуги экстерриториальных организаций", None, true),
    ];
    let sum = s.reference_load(Catalog::Okpd2, &second, full("nsiOKPD2List_2.xml")).await.unwrap();
    assert_eq!(sum, LoadSummary { added: 0, updated: 2, unchanged: 0, retired: 1 });
    let gone = s.reference_get(Catalog::Okpd2, "17.23.1").await.unwrap().expect("kept for old plans");
    assert!(!gone.actual);
    assert_eq!(gone.name, "Принадлежности канцелярские бумажные");
    assert_eq!(
        s.reference_get(Catalog::Okpd2, "17").await.unwrap().unwrap().name,
        "Бумага и изделия из бумаги (новая редакция)"
    );
    assert!(s.reference_get(Catalog::Okpd2, "99").await.unwrap().unwrap().actual);
    // Other catalogs are untouched.
    assert!(s.reference_get(Catalog::Kvr, "244").await.unwrap().unwrap().actual);
    let info = s.reference_catalogs().await.unwrap();
    let okpd2 = info.iter().find(|i| i.catalog == Catalog::Okpd2).unwrap();
    assert_eq!(okpd2.actual, 2);
    assert_eq!(okpd2.last_load.as_ref().unwrap().0, "nsiOKPD2List_2.xml");
}

#[tokio::test]
async fn a_partial_load_retires_nothing_and_a_retired_code_comes_back() {
    let (s, _d) = store().await;
    s.reference_load(
        Catalog::Kvr,
        &[entry("244", "Прочая закупка товаров, работ и услуг", Some("240"), true)],
        full("kvr.xml"),
    )
    .await
    .unwrap();
    assert!(!s.reference_get(Catalog::Kvr, "243").await.unwrap().unwrap().actual);
    let part = LoadOptions { source: "kvr_2.xml", partial: true, user_id: None, org_id: None, dry_run: false };
    let sum = s
        .reference_load(Catalog::Kvr, &[entry("243", "Закупка в целях капитального ремонта", Some("240"), true)], part)
        .await
        .unwrap();
    assert_eq!(sum, LoadSummary { added: 0, updated: 1, unchanged: 0, retired: 0 });
    assert!(s.reference_get(Catalog::Kvr, "243").await.unwrap().unwrap().actual);
    assert!(s.reference_get(Catalog::Kvr, "244").await.unwrap().unwrap().actual);
}

#[tokio::test]
async fn loaded_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let url = store::testing::fresh_database_url(dir.path()).await.unwrap();
    let key = store::SecretBox::generate_key();
    let s = Store::open(&url, store::SecretBox::new(key)).await.unwrap();
    s.reference_load(Catalog::ChangeReason, &[entry("9", "Иная формулировка из ЕИС", None, true)], full("reasons.xml"))
        .await
        .unwrap();
    s.close().await;
    // Opening again (a restart, `plangraf migrate`) does not reload the starter set over it.
    let s = Store::open(&url, store::SecretBox::new(key)).await.unwrap();
    assert_eq!(s.reference_get(Catalog::ChangeReason, "9").await.unwrap().unwrap().name, "Иная формулировка из ЕИС");
    assert_eq!(s.reference_catalogs().await.unwrap()[2].last_load.as_ref().unwrap().0, "reasons.xml");
}

#[tokio::test]
async fn search_by_code_prefix_and_cyrillic_words() {
    let (s, _d) = store().await;
    // Code prefix, with or without the dots.
    let hits = s.reference_search(Catalog::Okpd2, "17.23", 20).await.unwrap();
    assert_eq!(codes(&hits), ["17.23.1"]);
    assert_eq!(codes(&s.reference_search(Catalog::Okpd2, "1723", 20).await.unwrap()), ["17.23.1"]);
    // Name words in any case and order; «ё» is «е».
    let hits = s.reference_search(Catalog::Okpd2, "КАНЦЕЛЯРСКИЕ бумажные", 20).await.unwrap();
    assert_eq!(codes(&hits), ["17.23.1"]);
    let hits = s.reference_search(Catalog::Okpd2, "бумажные канцелярские", 20).await.unwrap();
    assert_eq!(codes(&hits), ["17.23.1"]);
    s.reference_load(
        Catalog::Kvr,
        &[entry("999", "Закупка ёлочных игрушек", None, true)],
        LoadOptions { source: "t", partial: true, user_id: None, org_id: None, dry_run: false },
    )
    .await
    .unwrap();
    assert_eq!(codes(&s.reference_search(Catalog::Kvr, "ЕЛОЧНЫХ", 20).await.unwrap()), ["999"]);
    // LIKE wildcards in the query are literal: «_» matches only an underscore.
    assert_eq!(codes(&s.reference_search(Catalog::SpecialPurchase, "p4_1", 20).await.unwrap()), ["P4_1_93"]);
    assert!(s.reference_search(Catalog::SpecialPurchase, "p4x1", 20).await.unwrap().is_empty());
    assert!(s.reference_search(Catalog::Okpd2, "100%", 20).await.unwrap().is_empty());
    // Code matches come before name matches: «24» is the start of КВР 240–247 and nowhere a name.
    let hits = s.reference_search(Catalog::Kvr, "24", 20).await.unwrap();
    assert_eq!(codes(&hits), ["240", "241", "243", "244", "247"]);
    // The limit holds, and an empty query lists the catalog from its first code.
    let hits = s.reference_search(Catalog::Okpd2, "услуги", 5).await.unwrap();
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| h.name.to_lowercase().contains("услуги")));
    assert_eq!(codes(&s.reference_search(Catalog::Okpd2, "  ", 2).await.unwrap()), ["01", "01.13.1"]);
}

#[tokio::test]
async fn search_shows_only_actual_records() {
    let (s, _d) = store().await;
    s.reference_load(
        Catalog::Kvr,
        &[entry("244", "Прочая закупка товаров, работ и услуг", Some("240"), true)],
        full("kvr.xml"),
    )
    .await
    .unwrap();
    assert!(s.reference_search(Catalog::Kvr, "243", 20).await.unwrap().is_empty());
    assert!(s.reference_search(Catalog::Kvr, "капитального", 20).await.unwrap().is_empty());
    assert_eq!(codes(&s.reference_search(Catalog::Kvr, "", 20).await.unwrap()), ["244"]);
    // get still finds it: a plan may refer to it.
    assert!(s.reference_get(Catalog::Kvr, "243").await.unwrap().is_some());
}

#[tokio::test]
async fn a_large_catalog_loads_and_reloads() {
    let (s, _d) = store().await;
    let entries: Vec<Entry> = (0..5000)
        .map(|i| {
            entry(&format!("{:02}.{:02}.{:04}", i / 1000, (i / 10) % 100, i), &format!("Изделие № {i}"), None, true)
        })
        .collect();
    let sum = s.reference_load(Catalog::Okpd2, &entries, full("big.xml")).await.unwrap();
    assert_eq!(sum.added, 5000);
    let sum = s.reference_load(Catalog::Okpd2, &entries, full("big.xml")).await.unwrap();
    assert_eq!((sum.added, sum.unchanged, sum.retired), (0, 5000, 0));
    assert_eq!(codes(&s.reference_search(Catalog::Okpd2, "изделие № 4321", 3).await.unwrap()), ["04.32.4321"]);
}

#[tokio::test]
async fn a_bad_entry_changes_nothing() {
    let (s, _d) = store().await;
    let before = s.reference_count(Catalog::Kvr).await.unwrap();
    let bad = [entry("111", "Фонд оплаты труда", None, true), entry(" ", "Пусто", None, true)];
    assert!(matches!(s.reference_load(Catalog::Kvr, &bad, full("bad.xml")).await, Err(StoreError::Corrupt(_))));
    assert_eq!(s.reference_count(Catalog::Kvr).await.unwrap(), before);
    assert!(s.reference_get(Catalog::Kvr, "111").await.unwrap().is_none());
    assert!(s.reference_get(Catalog::Kvr, "244").await.unwrap().unwrap().actual);
}

#[tokio::test]
async fn a_load_by_a_user_is_journaled() {
    let (s, _d) = store().await;
    let org = s
        .ensure_organization(&store::orgs::NewOrganization {
            name: "Комитет",
            short_name: "Комитет",
            superior_id: None,
            spz_code: domain::SpzCode::parse("03722000010").unwrap(),
            inn: domain::org::Inn::parse("7830000426").unwrap(),
            kpp: domain::org::Kpp::parse("784001001").unwrap(),
            org_type: domain::OrgType::Authority,
            budget_level: 2,
            oktmo: "40911000",
        })
        .await
        .unwrap();
    let user = s.create_user("admin", "x", "Администратор", org.id, domain::Role::Admin).await.unwrap().unwrap();
    let opts =
        LoadOptions { source: "kvr.xml", partial: false, user_id: Some(user.id), org_id: Some(org.id), dry_run: false };
    s.reference_load(Catalog::Kvr, &[entry("244", "Прочая закупка товаров, работ и услуг", Some("240"), true)], opts)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'reference' AND user_id = $1")
        .bind(user.id.get())
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);
}
