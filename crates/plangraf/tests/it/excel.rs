//! Plan-schedules in Excel through HTTP: the export of the working copy and of a version read
//! back with calamine, and who may download them.

use crate::common::*;
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use domain::ids::PlanId;
use std::io::Cursor;

/// A download: status, content type and bytes.
pub async fn download(c: &Client, path: &str) -> (u16, String, Vec<u8>) {
    let r = c.http.get(format!("{}{path}", c.base)).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

pub fn positions_sheet(bytes: &[u8]) -> calamine::Range<Data> {
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("an .xlsx");
    wb.worksheet_range(sheets::columns::SHEET).expect("the positions sheet")
}

pub fn cell(r: &calamine::Range<Data>, row: u32, col: sheets::columns::Col) -> Data {
    r.get_value((row, u32::from(col.index()))).cloned().unwrap_or(Data::Empty)
}

/// The sheet's rows of kind `kind` («Позиция», «Итого», …), by row index.
pub fn rows_of(r: &calamine::Range<Data>, kind: &str) -> Vec<u32> {
    let first = sheets::columns::TITLE_ROW + 1;
    (first..first + r.height() as u32)
        .filter(|&row| cell(r, row, sheets::columns::Col::Kind) == Data::String(kind.to_owned()))
        .collect()
}

#[tokio::test]
async fn a_version_and_the_working_copy_export_to_xlsx() {
    use sheets::columns::Col;
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, version) = approved_plan(&h, &mut customer, "2026").await;

    let (status, ct, bytes) = download(&customer, &format!("/versions/{version}/xlsx")).await;
    assert_eq!(status, 200);
    assert_eq!(ct, sheets::XLSX_MIME);
    let r = positions_sheet(&bytes);
    let head: Vec<String> = (0..3).map(|row| cell(&r, row, Col::Kind).to_string()).collect();
    assert!(head[0].contains("2026"), "{head:?}");
    assert!(head[1].contains(plangraf::demo::SCHOOL.name), "{head:?}");
    assert!(head[2].contains("Версия 0"), "{head:?}");
    let stored = h.app.store.versions(PlanId(plan)).await.unwrap().remove(0).snapshot;
    let rows = rows_of(&r, "Позиция");
    assert_eq!(rows.len(), stored.positions.len());
    let p = &stored.positions[0];
    let amount: f64 = p.amounts.current.canonical().parse().unwrap();
    assert_eq!(cell(&r, rows[0], Col::Current), Data::Float(amount));
    assert_eq!(cell(&r, rows[0], Col::Ikz), Data::String(p.ikz(stored.owner_iku()).unwrap().to_string()));
    let total = rows_of(&r, "Итого");
    assert_eq!(cell(&r, total[0], Col::Current), Data::Float(amount));

    // The working copy in a change round: a new position, marked new, and the totals move.
    let p = customer.post(&format!("/plans/{plan}/changes"), &[]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let mut second = POSITION;
    second[0] = ("object_info", "Поставка мебели");
    second[4] = ("amount_current", "1 000,25");
    assert!(customer.add_position(plan, &second).await.has("Позиция добавлена"));
    let page = customer.get(&format!("/plans/{plan}")).await;
    assert!(page.has(&format!("href=\"/plans/{plan}/xlsx\"")), "the plan page offers the download");
    let (status, _, bytes) = download(&customer, &format!("/plans/{plan}/xlsx")).await;
    assert_eq!(status, 200);
    let r = positions_sheet(&bytes);
    assert!(cell(&r, 2, Col::Kind).to_string().contains("Рабочая копия"));
    let rows = rows_of(&r, "Позиция");
    assert_eq!(rows.len(), 2);
    assert_eq!(cell(&r, rows[1], Col::Mark), Data::String("Новая".into()));
    assert_eq!(cell(&r, rows[1], Col::Current), Data::Float(1000.25));
    let total = rows_of(&r, "Итого")[0];
    assert_eq!(cell(&r, total, Col::Current), Data::Float(amount + 1000.25));

    // The superior reads both; another organization neither.
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    assert_eq!(download(&approver, &format!("/versions/{version}/xlsx")).await.0, 200);
    assert_eq!(download(&approver, &format!("/plans/{plan}/xlsx")).await.0, 200);
    let other = other_organization(&h).await;
    for path in
        [format!("/versions/{version}/xlsx"), format!("/plans/{plan}/xlsx"), format!("/plans/{plan}/import/template")]
    {
        assert_eq!(download(&other, &path).await.0, 404, "{path}");
    }
    h.app.stop().await;
}

/// What a cell of a hand-made import file holds.
pub enum In {
    T(&'static str),
    N(f64),
}

/// An import file for a plan of 2026: the column titles on the first row, these rows below.
pub fn import_file(rows: &[Vec<(sheets::columns::Col, In)>]) -> Vec<u8> {
    import_file_for(2026, rows)
}

/// An import file for a plan of `year`.
pub fn import_file_for(year: i32, rows: &[Vec<(sheets::columns::Col, In)>]) -> Vec<u8> {
    use sheets::columns::Col;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheets::columns::SHEET).unwrap();
    for col in Col::ALL {
        ws.write_string(0, col.index(), col.title(year)).unwrap();
    }
    for (i, cells) in rows.iter().enumerate() {
        for (col, v) in cells {
            let r = i as u32 + 1;
            match v {
                In::T(s) => ws.write_string(r, col.index(), *s).unwrap(),
                In::N(n) => ws.write_number(r, col.index(), *n).unwrap(),
            };
        }
    }
    wb.save_to_buffer().unwrap()
}

/// Posts a file to «Проверить файл»; the page of the check.
pub async fn check_file(c: &mut Client, plan: i64, bytes: Vec<u8>) -> Page {
    c.get(&format!("/plans/{plan}/import")).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", c.csrf.clone())
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name("plan.xlsx"));
    multipart(c, &format!("/plans/{plan}/import"), form).await
}

/// «Загрузить позиции» on the page of a check.
pub async fn confirm(c: &mut Client, plan: i64, checked: &Page) -> Page {
    let form = reqwest::multipart::Form::new()
        .text("csrf", c.csrf.clone())
        .text("stamp", value_of(&checked.body, "stamp"))
        .text("checked_file", value_of(&checked.body, "checked_file"));
    multipart(c, &format!("/plans/{plan}/import/confirm"), form).await
}

async fn multipart(c: &mut Client, path: &str, form: reqwest::multipart::Form) -> Page {
    let r = c.http.post(format!("{}{path}", c.base)).multipart(form).send().await.unwrap();
    let status = r.status().as_u16();
    let url = r.url().to_string();
    let body = r.text().await.unwrap();
    Page { status, url, body }
}

/// The error rows of a check's page: (row, column, message).
fn errors_of(page: &Page) -> Vec<(String, String, String)> {
    let Some(start) = page.body.find("id=\"import-errors\"") else { return Vec::new() };
    let table = &page.body[start..start + page.body[start..].find("</table>").unwrap()];
    table
        .split("<tr><td class=\"num\">")
        .skip(1)
        .map(|tr| {
            let cells: Vec<String> =
                tr.split("</td><td>").map(|c| c.replace("</td></tr>", "").trim().to_owned()).collect();
            (cells[0].clone(), cells[1].clone(), cells[2].clone())
        })
        .collect()
}

fn position_row(object: &'static str, amount: f64) -> Vec<(sheets::columns::Col, In)> {
    use sheets::columns::Col;
    vec![
        (Col::Okpd2, In::T("58.11.19.000")),
        (Col::Kvr, In::T("244")),
        (Col::Object, In::T(object)),
        (Col::PublishYear, In::N(2026.0)),
        (Col::Current, In::N(amount)),
    ]
}

#[tokio::test]
async fn a_file_with_errors_saves_nothing_and_a_correct_one_saves_on_confirmation() {
    use sheets::columns::Col;
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2026").await;
    let page = customer.get(&format!("/plans/{plan}")).await;
    assert!(page.has(&format!("href=\"/plans/{plan}/import\"")), "the plan page offers the import");
    let (status, ct, template) = download(&customer, &format!("/plans/{plan}/import/template")).await;
    assert_eq!((status, ct.as_str()), (200, sheets::XLSX_MIME));
    assert_eq!(
        positions_sheet(&template).get_value((sheets::columns::TITLE_ROW, 0)),
        Some(&Data::String("Строка".into()))
    );

    // A file with errors: a wrong year, an amount in words, a КВР line with a bad code.
    let mut bad = position_row("Поставка учебников", 1000.0);
    bad[3] = (Col::PublishYear, In::T("26"));
    let mut words = position_row("Поставка мебели", 0.0);
    words[4] = (Col::Current, In::T("тысяча"));
    let file = import_file(&[
        bad,
        words,
        vec![(Col::Kind, In::T("КВР")), (Col::LineCode, In::T("2440")), (Col::Current, In::N(5.0))],
    ]);
    let p = check_file(&mut customer, plan, file).await;
    assert_eq!(p.status, 422, "{}", p.body);
    let errors = errors_of(&p);
    let has = |row: &str, col: Col, part: &str| {
        errors.iter().any(|(r, c, m)| r == row && *c == col.title(2026) && m.contains(part))
    };
    assert!(has("2", Col::PublishYear, "четырьмя цифрами"), "{errors:?}");
    assert!(has("3", Col::Current, "тысяча"), "{errors:?}");
    assert!(has("4", Col::LineCode, "3 цифр"), "{errors:?}");
    assert!(!p.has("id=\"import-confirm\""), "no confirmation while the file has errors");
    assert!(h.app.store.positions(PlanId(plan)).await.unwrap().is_empty(), "nothing saved");

    // A correct file: a position with a КВР breakdown and a special purchase.
    let mut broken_down = position_row("Поставка учебников", 1500.5);
    broken_down[1] = (Col::Kvr, In::T(""));
    let file = import_file(&[
        broken_down,
        vec![(Col::Kind, In::T("КВР")), (Col::LineCode, In::T("244")), (Col::Current, In::N(1000.0))],
        vec![(Col::Kind, In::T("КВР")), (Col::LineCode, In::T("247")), (Col::Current, In::N(500.5))],
        vec![
            (Col::Special, In::T("P4_1_93")),
            (Col::Kvr, In::T("244")),
            (Col::PublishYear, In::N(2026.0)),
            (Col::Current, In::T("300 000,00")),
        ],
    ]);
    let checked = check_file(&mut customer, plan, file).await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    assert!(checked.has("Будет добавлено позиций: 2"), "{}", checked.body);
    assert!(h.app.store.positions(PlanId(plan)).await.unwrap().is_empty(), "the check saves nothing");
    let done = confirm(&mut customer, plan, &checked).await;
    assert_eq!(done.status, 200);
    assert!(done.has("Позиции загружены из Excel"), "{}", done.body);
    let stored = h.app.store.positions(PlanId(plan)).await.unwrap();
    assert_eq!(stored.len(), 2);
    let first = &stored[0].position;
    assert_eq!(first.kvrs.iter().map(|l| l.code.as_str()).collect::<Vec<_>>(), ["244", "247"]);
    assert_eq!(first.amounts.current.canonical(), "1500.50");
    assert_eq!(stored[1].position.special.as_ref().map(|s| s.code.as_str()), Some("P4_1_93"));
    // Confirming the same check again is refused: the plan changed since.
    let again = confirm(&mut customer, plan, &checked).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(h.app.store.positions(PlanId(plan)).await.unwrap().len(), 2);

    // The export imported again changes nothing; a changed amount under a number updates.
    let (_, _, exported) = download(&customer, &format!("/plans/{plan}/xlsx")).await;
    let p = check_file(&mut customer, plan, exported).await;
    assert!(p.has("Будет добавлено позиций: 0, изменено: 0, без изменений: 2"), "{}", p.body);
    let mut update = position_row("Поставка учебников, 2 издание", 1500.5);
    update[1] = (Col::Kvr, In::T(""));
    update.push((Col::Number, In::T("0001")));
    let file = import_file(&[
        update,
        vec![(Col::Kind, In::T("КВР")), (Col::LineCode, In::T("244")), (Col::Current, In::N(1000.0))],
        vec![(Col::Kind, In::T("КВР")), (Col::LineCode, In::T("247")), (Col::Current, In::N(500.5))],
    ]);
    let checked = check_file(&mut customer, plan, file).await;
    assert!(checked.has("Будет добавлено позиций: 0, изменено: 1"), "{}", checked.body);
    // Meanwhile someone adds a position: the checked file is refused, nothing changes.
    assert!(customer.add_position(plan, &POSITION).await.has("Позиция добавлена"));
    let stale = confirm(&mut customer, plan, &checked).await;
    assert_eq!(stale.status, 409);
    assert!(stale.has("изменился после проверки"), "{}", stale.body);
    assert_eq!(h.app.store.positions(PlanId(plan)).await.unwrap()[0].position.object_info, "Поставка учебников");
    // Checked again, it applies: updated, not duplicated.
    let file = import_file(&[
        {
            let mut u = position_row("Поставка учебников, 2 издание", 1500.5);
            u[1] = (Col::Kvr, In::T(""));
            u.push((Col::Number, In::N(1.0)));
            u
        },
        vec![(Col::Kind, In::T("КВР")), (Col::LineCode, In::T("244")), (Col::Current, In::N(1000.0))],
        vec![(Col::Kind, In::T("КВР")), (Col::LineCode, In::T("247")), (Col::Current, In::N(500.5))],
    ]);
    let checked = check_file(&mut customer, plan, file).await;
    assert!(checked.has("изменено: 1"), "{}", checked.body);
    assert_eq!(confirm(&mut customer, plan, &checked).await.status, 200);
    let stored = h.app.store.positions(PlanId(plan)).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0].position.object_info, "Поставка учебников, 2 издание");
    h.app.stop().await;
}

#[tokio::test]
async fn in_a_change_round_a_changed_position_needs_its_reason_and_absent_ones_stay() {
    use sheets::columns::Col;
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, _) = approved_plan(&h, &mut customer, "2026").await;
    customer.get(&format!("/plans/{plan}")).await;
    assert_eq!(customer.post(&format!("/plans/{plan}/changes"), &[]).await.status, 200);
    let before = h.app.store.positions(PlanId(plan)).await.unwrap().remove(0);

    // The approved position with a new amount and no reason: refused on its cells.
    let mut changed = position_row("Поставка учебников для 5-х классов", 2_000_000.0);
    changed.push((Col::Number, In::T("1")));
    let p = check_file(&mut customer, plan, import_file(std::slice::from_ref(&changed))).await;
    assert_eq!(p.status, 422, "{}", p.body);
    let errors = errors_of(&p);
    assert!(errors.iter().any(|(r, c, _)| r == "2" && *c == Col::ReasonCode.title(2026)), "{errors:?}");
    assert!(errors.iter().any(|(r, c, _)| r == "2" && *c == Col::ChangeDescription.title(2026)), "{errors:?}");

    // With the reason and description it applies; a new row is added; nothing is cancelled.
    changed.push((Col::ReasonCode, In::N(9.0)));
    changed.push((Col::ChangeDescription, In::T("Уточнена цена")));
    let p = check_file(&mut customer, plan, import_file(&[position_row("Поставка мебели", 10.0)])).await;
    assert!(p.has("Будет добавлено позиций: 1, изменено: 0"), "the approved position missing from the file stays");
    let checked = check_file(&mut customer, plan, import_file(&[changed, position_row("Поставка мебели", 10.0)])).await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    assert_eq!(confirm(&mut customer, plan, &checked).await.status, 200);
    let stored = h.app.store.positions(PlanId(plan)).await.unwrap();
    assert_eq!(stored.len(), 2);
    let change = stored[0].position.change.as_ref().expect("justified");
    assert_eq!((change.reason_code.as_str(), change.description.as_str()), ("9", "Уточнена цена"));
    assert!(!stored[0].position.is_canceled());
    assert_ne!(stored[0].position.amounts, before.position.amounts);
    // A file without the approved position leaves it as it is.
    let checked = check_file(&mut customer, plan, import_file(&[position_row("Поставка стульев", 20.0)])).await;
    assert_eq!(confirm(&mut customer, plan, &checked).await.status, 200);
    let after = h.app.store.positions(PlanId(plan)).await.unwrap();
    assert_eq!(after.len(), 3);
    assert_eq!(after[0].position, stored[0].position);
    h.app.stop().await;
}

#[tokio::test]
async fn only_the_customers_specialists_import() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2026").await;
    let file = import_file(&[position_row("Поставка мебели", 10.0)]);
    let checked = check_file(&mut customer, plan, file.clone()).await;
    assert_eq!(checked.status, 200, "{}", checked.body);

    let mut other = other_organization(&h).await;
    other.get("/plans").await;
    assert_eq!(other.get(&format!("/plans/{plan}/import")).await.status, 404);
    assert_eq!(check_file(&mut other, plan, file.clone()).await.status, 404);
    assert_eq!(confirm(&mut other, plan, &checked).await.status, 404);
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get("/plans").await;
    assert_eq!(approver.get(&format!("/plans/{plan}/import")).await.status, 403);
    assert_eq!(confirm(&mut approver, plan, &checked).await.status, 403);
    // Without the session's CSRF token nothing is read.
    let form = reqwest::multipart::Form::new()
        .text("csrf", "forged")
        .part("file", reqwest::multipart::Part::bytes(file).file_name("plan.xlsx"));
    assert_eq!(multipart(&mut customer, &format!("/plans/{plan}/import"), form).await.status, 403);
    assert!(h.app.store.positions(PlanId(plan)).await.unwrap().is_empty());
    h.app.stop().await;
}

/// 5,000 rows, checked and saved in one transaction (timings in docs/PERFORMANCE.md).
#[tokio::test]
async fn five_thousand_rows_import_at_once() {
    use sheets::columns::Col;
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2026").await;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for col in Col::ALL {
        ws.write_string(0, col.index(), col.title(2026)).unwrap();
    }
    for r in 1..=5000u32 {
        ws.write_string(r, Col::Okpd2.index(), "58.11.19.000").unwrap();
        ws.write_string(r, Col::Kvr.index(), "244").unwrap();
        ws.write_string(r, Col::Object.index(), format!("Поставка учебников, партия {r}")).unwrap();
        ws.write_number(r, Col::PublishYear.index(), 2026.0).unwrap();
        ws.write_number(r, Col::Current.index(), f64::from(r) + 0.25).unwrap();
    }
    let file = wb.save_to_buffer().unwrap();
    let started = std::time::Instant::now();
    let checked = check_file(&mut customer, plan, file).await;
    let check_took = started.elapsed();
    assert!(checked.has("Будет добавлено позиций: 5000"), "{}", &checked.body[..checked.body.len().min(2000)]);
    let started = std::time::Instant::now();
    assert_eq!(confirm(&mut customer, plan, &checked).await.status, 200);
    let save_took = started.elapsed();
    eprintln!("5,000 rows: checked in {check_took:?}, saved in {save_took:?}");
    let stored = h.app.store.positions(PlanId(plan)).await.unwrap();
    assert_eq!(stored.len(), 5000);
    assert_eq!(stored[4999].position.purchase_number.get(), 5000);
    assert_eq!(stored[4999].position.amounts.current.canonical(), "5000.25");
    h.app.stop().await;
}
