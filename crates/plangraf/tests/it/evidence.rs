//! «Доказательства отправки»: the evidence pack of a send that went through an outage, downloaded
//! as the customer, unpacked and checked against what plangraf stores and what it journaled; and
//! who may have it.

use crate::common::*;
use domain::ids::{SendId, VersionId};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// As HTML text content is written.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

struct Download {
    status: u16,
    content_type: String,
    disposition: String,
    bytes: Vec<u8>,
}

async fn download(client: &Client, path: &str) -> Download {
    let r = client.http.get(format!("{}{path}", client.base)).send().await.unwrap();
    let header = |name| r.headers().get(name).map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned());
    Download {
        status: r.status().as_u16(),
        content_type: header(reqwest::header::CONTENT_TYPE).unwrap_or_default(),
        disposition: header(reqwest::header::CONTENT_DISPOSITION).unwrap_or_default(),
        bytes: r.bytes().await.unwrap().to_vec(),
    }
}

/// Every file of a ZIP by name, in the archive's order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP archive");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (file.name().expect("a UTF-8 name").into_owned(), content)
        })
        .collect()
}

/// (name, size, SHA-256) of each row of the summary's table of files.
fn summary_rows(summary: &str) -> Vec<(String, usize, String)> {
    let cell = |row: &str, class: &str| {
        let open = format!("class=\"{class}\">");
        let start = row.find(&open).unwrap_or_else(|| panic!("no {class} in {row}")) + open.len();
        row[start..start + row[start..].find("</td>").unwrap()].to_owned()
    };
    summary
        .split("<tr>")
        .filter(|row| row.contains("class=\"mono sha256\""))
        .map(|row| (cell(row, "mono name"), cell(row, "size").parse().unwrap(), cell(row, "mono sha256")))
        .collect()
}

#[tokio::test]
async fn the_pack_of_a_send_through_an_outage_holds_every_reply_and_its_hashes_check() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, version) = approved_plan(&h, &mut customer, "2026").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    // ЕИС answers three uploads with 503, drops the connection of the fourth, then works.
    h.sandbox.set_faults(sandbox::Faults { fail_next: 3, drop_next: 1, ..Default::default() });
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    h.sandbox.directory().publish(plangraf::demo::SCHOOL.spz_code, 2026).await.unwrap();
    let page = drive_to_status(&h, &mut customer, version, "Размещена в ЕИС").await;

    let send = h.app.store.latest_send(VersionId(version)).await.unwrap().unwrap();
    let events = h.app.store.send_events(send.id).await.unwrap();
    let path = format!("/sends/{}/evidence", send.id);
    assert!(page.has(&format!("href=\"{path}\"")), "the status page offers the pack: {}", page.body);
    let versions = customer.get(&format!("/plans/{plan}?tab=versions")).await;
    assert!(versions.has(&format!("<a href=\"{path}\">Доказательства отправки</a>")), "{}", versions.body);
    // What the pack must show happened: a failure ЕИС answered, kept raw and counted as repeated.
    let outage = events.iter().find(|e| e.http_status == Some(503)).expect("the 503 is on the timeline");
    assert!(outage.raw_reply.is_some() && outage.repeats > 0, "{outage:?}");

    let pack = download(&customer, &path).await;
    assert_eq!(pack.status, 200, "{}", String::from_utf8_lossy(&pack.bytes));
    assert_eq!(pack.content_type, "application/zip");
    let file_name = pack
        .disposition
        .strip_prefix("attachment; filename=\"")
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{}", pack.disposition))
        .to_owned();
    assert!(file_name.ends_with(".zip") && file_name.is_ascii(), "{file_name}");
    let files = unzip(&pack.bytes);
    let by_name: BTreeMap<&str, &[u8]> = files.iter().map(|(n, c)| (n.as_str(), c.as_slice())).collect();
    assert_eq!(by_name.len(), files.len(), "no name twice");
    assert!(files.iter().all(|(n, _)| n.is_ascii()), "ASCII names");

    // The summary lists every other file with its size and SHA-256, and they check.
    let summary = String::from_utf8(by_name["summary.html"].to_vec()).unwrap();
    let rows = summary_rows(&summary);
    let listed: Vec<&str> = rows.iter().map(|(n, ..)| n.as_str()).collect();
    let others: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).filter(|n| *n != "summary.html").collect();
    assert_eq!(listed, others);
    for (name, size, hash) in &rows {
        let content = by_name[name.as_str()];
        assert_eq!((content.len(), sha256(content)), (*size, hash.clone()), "{name}");
    }
    assert!(summary.contains("не может содержать собственную контрольную сумму"));
    assert!(summary.contains("sha256sum -c SHA256SUMS"));
    // SHA256SUMS, as `sha256sum -c` would check it.
    let sums = String::from_utf8(by_name["SHA256SUMS"].to_vec()).unwrap();
    assert!(sums.lines().count() >= 4, "{sums}");
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").unwrap();
        assert_eq!(sha256(by_name[name]), hash, "{name}");
    }

    // The packet, byte for byte as stored with the send.
    assert_eq!(by_name[format!("packet-{}.xml", send.packet_id).as_str()], send.packet_xml.as_bytes());

    // Every reply the timeline keeps, raw, named by its line and the UTC time it was received,
    // which the summary also states.
    let replies: Vec<&(String, Vec<u8>)> = files.iter().filter(|(n, _)| n.starts_with("replies/")).collect();
    let kept: Vec<(usize, &store::sends::SendEvent)> =
        events.iter().enumerate().filter(|(_, e)| e.raw_reply.is_some()).map(|(i, e)| (i + 1, e)).collect();
    assert!(kept.len() >= 3, "the 503, processing, loaded: {events:#?}");
    assert_eq!(replies.len(), kept.len());
    for ((name, content), (line, event)) in replies.iter().zip(&kept) {
        assert_eq!(content, event.raw_reply.as_ref().unwrap().as_bytes(), "{name}");
        let stem = format!("replies/{line:03}-{}.", event.at.format("%Y%m%dT%H%M%SZ"));
        assert!(name.starts_with(&stem), "{name} is not {stem}…");
        assert!(summary.contains(&event.at.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()), "{name}");
    }

    // The timeline reads as the status page: every line's title and text, in order.
    let timeline = String::from_utf8(by_name["timeline.html"].to_vec()).unwrap();
    let mut from = 0;
    for e in &events {
        let line = format!("<b>{}</b></td><td>{}</td>", esc(app::sending::event_title(e)), esc(&e.message));
        let at = timeline[from..].find(&line).unwrap_or_else(|| panic!("{line} missing or out of order:\n{timeline}"));
        from += at + line.len();
        assert!(page.has(&format!("<b>{}</b> — {}", esc(app::sending::event_title(e)), esc(&e.message))));
    }
    assert!(timeline.contains(&app::sending::repeated_ru(outage.repeats, outage.last_at).unwrap()));

    // The approval: who, from which organization, when.
    let stored = h.app.store.version(VersionId(version)).await.unwrap().unwrap();
    let approver = h.app.store.user(stored.approved_by).await.unwrap().unwrap();
    let approver_org = h.app.store.organization(approver.org_id).await.unwrap().unwrap();
    let approval = String::from_utf8(by_name["approval.txt"].to_vec()).unwrap();
    assert!(approval.contains(&format!("Утвердил: {} (логин {})", approver.full_name, approver.login)), "{approval}");
    assert!(approval.contains(&format!("Организация утвердившего: {}", approver_org.name)), "{approval}");
    assert!(approval.contains(&domain::format::date_time_seconds_ru(stored.approved_at)), "{approval}");
    assert!(approval.contains(&format!("Версия: {}", stored.version_number)), "{approval}");

    // The audit journal holds the same hashes: of the ZIP, of the summary, of every file.
    let journal = h.app.store.audit_for("plan", plan).await.unwrap();
    let entries: Vec<_> = journal.iter().filter(|e| e.action == "Доказательства отправки").collect();
    assert_eq!(entries.len(), 1, "{journal:#?}");
    let details = &entries[0].details;
    assert!(details.contains(&format!("{file_name}: SHA-256 {}", sha256(&pack.bytes))), "{details}");
    for (name, content) in &files {
        assert!(details.contains(&format!("{name}: SHA-256 {}", sha256(content))), "{name}: {details}");
    }
    assert_eq!(entries[0].user_name.as_deref(), Some("Петрова Анна Сергеевна"));
    let tab = customer.get(&format!("/plans/{plan}?tab=journal")).await;
    assert!(tab.has("Доказательства отправки") && tab.has(&sha256(&pack.bytes)), "shown in the plan's journal");
    h.app.stop().await;
}

#[tokio::test]
async fn only_those_who_may_read_the_send_get_its_pack() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, version) = approved_plan(&h, &mut customer, "2026").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    let send = h.app.store.latest_send(VersionId(version)).await.unwrap().unwrap().id;
    let path = format!("/sends/{send}/evidence");
    let journaled = || async {
        let journal = h.app.store.audit_for("plan", plan).await.unwrap();
        journal.iter().filter(|e| e.action == "Доказательства отправки").count()
    };

    // A specialist of a sibling organization under the same superior: as if the send did not exist.
    let other = other_organization(&h).await;
    let refused = download(&other, &path).await;
    assert_eq!(refused.status, 404);
    assert!(!refused.content_type.contains("zip"), "{}", refused.content_type);
    let missing = SendId(send.get() + 1000);
    assert_eq!(download(&customer, &format!("/sends/{missing}/evidence")).await.status, 404);
    assert_eq!(download(&customer, "/sends/abc/evidence").await.status, 404);

    // Not signed in: sent to the sign-in page, as from every page.
    let stranger = h.client();
    let r = stranger.http.get(format!("{}{path}", stranger.base)).send().await.unwrap();
    assert!(r.url().path().ends_with("/login"), "{}", r.url());
    assert_eq!(journaled().await, 0, "nothing made, nothing journaled");

    // The superior's approver reads the subordinate's send status, so the pack too.
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    assert_eq!(approver.get(&format!("/versions/{version}/status")).await.status, 200);
    let pack = download(&approver, &path).await;
    assert_eq!(pack.status, 200);
    assert!(unzip(&pack.bytes).iter().any(|(n, _)| n == "summary.html"));
    assert_eq!(journaled().await, 1);
    h.app.stop().await;
}
