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

/// A signed-in specialist of a sibling organization under the same superior.
pub async fn other_organization(h: &Harness) -> Client {
    let district = h.app.store.organization_by_spz(plangraf::demo::DISTRICT.spz_code).await.unwrap().unwrap();
    let hash = app::users::hash("district1".into()).await.unwrap();
    h.app
        .store
        .create_user("district", &hash, "Сидоров С. С.", district.id, domain::Role::CustomerSpecialist)
        .await
        .unwrap();
    let mut other = h.client();
    other.login("district", "district1").await;
    other
}
