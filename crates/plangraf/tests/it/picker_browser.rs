//! The reference data picker (`static/picker.js`) in a real browser: typing into an input with
//! `data-nsi` lists matching records under it, ↓ and Enter choose one, the code lands in the
//! input and the name in the `data-nsi-name` element. Headless Chromium over chromedriver
//! ([`crate::chromium`]); without them the test says SKIPPED and passes, unless
//! PLANGRAF_REQUIRE_BROWSER=1.

use crate::chromium::Scene;
use fantoccini::key::Key;
use fantoccini::{Client, Locator};

async fn text_of(c: &Client, css: &str) -> Option<String> {
    let e = c.find(Locator::Css(css)).await.ok()?;
    if !e.is_displayed().await.ok()? {
        return None;
    }
    e.text().await.ok()
}

/// The text of an element whether or not it takes space (an empty one does not).
async fn raw_text(c: &Client, css: &str) -> Option<String> {
    c.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_picker_lists_and_chooses_records_from_the_keyboard() {
    let Some(s) = Scene::start("picker").await else { return };
    let (app, b) = (s.app.clone(), &s.b);
    let c = &b.c;

    c.goto(&format!("{app}/login")).await.unwrap();
    c.find(Locator::Css("#login")).await.unwrap().send_keys("admin").await.unwrap();
    c.find(Locator::Css("#password")).await.unwrap().send_keys("admin").await.unwrap();
    c.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    b.wait_until("sign-in", || async { c.current_url().await.ok().filter(|u| u.path() == "/plans") }).await;
    c.goto(&format!("{app}/reference")).await.unwrap();

    let input = c.find(Locator::Css("#okpd2-try")).await.unwrap();
    input.send_keys("канцелярские").await.unwrap();
    let listed = b
        .wait_until("the list of matches", || async {
            text_of(c, "ul.nsi-list li[role=option]").await.filter(|t| t.contains("17.23.1"))
        })
        .await;
    assert!(listed.contains("Принадлежности канцелярские бумажные"), "{listed}");
    assert_eq!(input.attr("aria-expanded").await.unwrap().as_deref(), Some("true"));
    b.screenshot("picker").await;

    // ↓ highlights the first record, Enter chooses it without submitting anything.
    input.send_keys(&Key::Down.to_string()).await.unwrap();
    let active = input.attr("aria-activedescendant").await.unwrap().expect("an active option");
    assert!(active.starts_with("nsi-list-"), "{active}");
    input.send_keys(&Key::Enter.to_string()).await.unwrap();
    let name = b
        .wait_until("the chosen name", || async { raw_text(c, "#okpd2-try-name").await.filter(|t| !t.is_empty()) })
        .await;
    assert_eq!(name, "Принадлежности канцелярские бумажные");
    assert_eq!(input.prop("value").await.unwrap().as_deref(), Some("17.23.1"));
    assert_eq!(input.attr("aria-expanded").await.unwrap().as_deref(), Some("false"));
    assert!(c.current_url().await.unwrap().path().ends_with("/reference"));

    // Typing by hand clears the name; Escape closes the list.
    input.send_keys("9").await.unwrap();
    b.wait_until("the name cleared", || async { raw_text(c, "#okpd2-try-name").await.filter(|t| t.is_empty()) }).await;
    b.wait_until("the «nothing found» line", || async {
        text_of(c, "ul.nsi-list li.nsi-empty").await.filter(|t| t == "Ничего не найдено")
    })
    .await;
    input.send_keys(&Key::Escape.to_string()).await.unwrap();
    b.wait_until("the list closed", || async {
        input.attr("aria-expanded").await.ok().flatten().filter(|v| v == "false")
    })
    .await;

    s.finish().await;
}
