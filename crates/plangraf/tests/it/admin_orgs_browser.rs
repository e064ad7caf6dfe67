//! «Администрирование» → «Организации» in a real browser: the administrator opens the tree,
//! creates an organization under a subordinate with one wrong field, reads the message under
//! that field, fixes it, and finds the new organization in the tree under its superior.
//! Headless Chromium over chromedriver ([`crate::chromium`]); without them the test says
//! SKIPPED and passes, unless PLANGRAF_REQUIRE_BROWSER=1.

use crate::chromium::Scene;
use fantoccini::Locator;
use plangraf::demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_creates_an_organization_fixing_a_wrong_field() {
    let Some(s) = Scene::start("admin-orgs").await else { return };
    let (app, b, store) = (s.app.clone(), &s.b, s.h.app.store.clone());
    b.goto(&format!("{app}/login")).await;
    b.fill("#login", "admin").await;
    b.fill("#password", "admin").await;
    b.press("Войти").await;
    b.wait_for_text("Планы-графики").await;

    b.open_menu("Администрирование").await;
    b.click_link("Организации").await;
    b.wait_for_heading("Организации").await;
    b.wait_for_element_text(Locator::Css("#org-pages"), "Найдено организаций: 3.").await;
    b.click_link("Создать организацию").await;
    b.wait_for_heading("Новая организация").await;
    b.fill("#spz_code", "03722001101").await;
    b.fill("#name", "Государственное бюджетное общеобразовательное учреждение «Гимназия № 2»").await;
    b.fill("#short_name", "ГБОУ «Гимназия № 2»").await;
    b.fill("#inn", "7801000044").await;
    b.fill("#kpp", "780101001").await;
    b.select_value("#org_type", "03").await;
    b.select_value("#budget_level", "2").await;
    // One wrong field: ОКТМО of seven digits.
    b.fill("#oktmo", "4091100").await;
    let district = store.organization_by_spz(demo::DISTRICT.spz_code).await.unwrap().unwrap();
    b.select_value("#superior_id", &district.id.get().to_string()).await;
    b.press("Создать").await;
    b.wait_for_heading("Новая организация").await;
    b.wait_for_element_text(Locator::Css(".field-error"), "Код ОКТМО должен состоять из 8 или 11 цифр.").await;
    b.ensure(store.organization_by_spz("03722001101").await.unwrap().is_none(), || {
        "an organization with a wrong ОКТМО was created".to_owned()
    })
    .await;
    // What was typed is kept; only the wrong field is fixed.
    b.expect_value("#short_name", "ГБОУ «Гимназия № 2»").await;
    b.screenshot("admin-org-refused").await;
    b.fill("#oktmo", "40911000").await;
    b.press("Создать").await;
    b.wait_for_heading("ГБОУ «Гимназия № 2»").await;
    b.wait_for_element_text(Locator::Css("#org-notice"), "Организация создана.").await;
    b.expect_text(Locator::Css("#org-iku"), "27801000044780101001").await;
    b.expect_text(Locator::Css("#org-superior"), demo::DISTRICT.short_name).await;
    b.screenshot("admin-org-card").await;

    b.click_link("К списку организаций").await;
    b.wait_for_heading("Организации").await;
    b.wait_for_element_text(Locator::Css("#org-pages"), "Найдено организаций: 4.").await;
    b.expect_text(Locator::Css("tr[data-spz='03722001101'][data-depth='2'] td.org-name a"), "ГБОУ «Гимназия № 2»")
        .await;
    b.screenshot("admin-org-tree").await;
    s.finish().await;
}
