//! «Администрирование» → «Загрузка организаций» over HTTP: a file with errors shows each by
//! row and column and saves nothing; a good table is checked, confirmed, loaded by a job and
//! loaded again without duplicates; the temporary passwords download once; another
//! administrator does not see the staged file; the forms need their CSRF token.

use crate::common::*;
use plangraf::demo::{COMMITTEE, SCHOOL};
use sheets::roster::RosterCol;

/// A CSV of the table: the titles, then `rows` (13 fields each, `;` between them).
pub fn table(rows: &[[&str; 13]]) -> Vec<u8> {
    let mut out = RosterCol::ALL.iter().map(|c| c.title()).collect::<Vec<_>>().join(";");
    out.push('\n');
    for r in rows {
        out.push_str(&r.iter().map(|v| sheets::roster::csv_field(v)).collect::<Vec<_>>().join(";"));
        out.push('\n');
    }
    out.into_bytes()
}

/// An organization row.
pub fn org<'a>(spz: &'a str, name: &'a str, inn: &'a str, superior: &'a str) -> [&'a str; 13] {
    [spz, name, "", inn, "780101001", "03", "2", "40000000", superior, "", "", "", ""]
}

/// A user row.
pub fn user<'a>(spz: &'a str, login: &'a str, name: &'a str, role: &'a str) -> [&'a str; 13] {
    [spz, "", "", "", "", "", "", "", "", login, name, "", role]
}

/// Posts a file to «Проверить файл»; the page of the check.
pub async fn upload(c: &mut Client, name: &str, bytes: Vec<u8>) -> Page {
    c.get("/admin/onboarding").await;
    upload_with(c, name, bytes, c.csrf.clone()).await
}

async fn upload_with(c: &mut Client, name: &str, bytes: Vec<u8>, csrf: String) -> Page {
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    let r = c.http.post(format!("{}/admin/onboarding", c.base)).multipart(form).send().await.unwrap();
    let status = r.status().as_u16();
    let url = r.url().to_string();
    let body = r.text().await.unwrap();
    Page { status, url, body }
}

/// The staged load a check page offers to confirm.
pub fn load_id(page: &Page) -> i64 {
    let at = page.body.find("/admin/onboarding/").expect("a confirmation form");
    let rest = &page.body[at + "/admin/onboarding/".len()..];
    let end = rest.find('/').unwrap();
    rest[..end].parse().unwrap_or_else(|_| panic!("no load id in {}", page.body))
}

/// The rows of the page's error table: (row, column, message).
fn errors(page: &Page) -> Vec<(u32, String, String)> {
    let Some(start) = page.body.find("id=\"onboarding-errors\"") else { return Vec::new() };
    let table = &page.body[start..page.body[start..].find("</table>").unwrap() + start];
    table
        .split("<tr><td class=\"num\">")
        .skip(1)
        .map(|r| {
            let cells: Vec<&str> = r.split("</td>").map(|c| c.trim_start_matches("<td>")).take(3).collect();
            (cells[0].parse().unwrap(), cells[1].to_owned(), cells[2].to_owned())
        })
        .collect()
}

/// Downloads the passwords of the load run by `job`: status and body.
pub async fn passwords(c: &mut Client, job: &str) -> (u16, String) {
    let p = c.post(&format!("/jobs/{job}/passwords"), &[]).await;
    (p.status, p.body)
}

fn job_of(page: &Page) -> String {
    page.url.rsplit('/').next().unwrap().to_owned()
}

async fn count_orgs(h: &Harness) -> usize {
    h.app.store.organizations().await.unwrap().len()
}

async fn admin(h: &Harness) -> Client {
    let mut c = h.client();
    c.login("admin", "admin").await;
    c
}

#[tokio::test]
async fn a_file_with_errors_shows_each_by_row_and_column_and_saves_nothing() {
    let h = Harness::start_driven().await;
    let mut a = admin(&h).await;
    let before = count_orgs(&h).await;
    let file = table(&[
        org("03722009001", "Школа № 901", "78010", COMMITTEE.spz_code),
        org("03722009002", "Школа № 902", "7801090002", COMMITTEE.spz_code),
        user("03722009002", "school902", "Орлова Ирина Павловна", "Директор"),
        user("03722009003", "school903", "Гусев Павел", "Согласующий"),
        user("03722009002", "school902", "Орлова Ирина Павловна", "Согласующий"),
    ]);
    let p = upload(&mut a, "orgs.csv", file).await;
    assert_eq!(p.status, 422, "{}", p.body);
    let found = errors(&p);
    let has =
        |row: u32, column: &str, text: &str| found.iter().any(|(r, c, m)| *r == row && c == column && m.contains(text));
    assert!(has(2, "ИНН", "«78010»: нужно 10 цифр"), "{found:?}");
    assert!(has(4, "Роль", "Неизвестная роль «Директор»"), "{found:?}");
    assert!(has(5, "СПЗ организации", "нет ни в файле, ни в plangraf"), "{found:?}");
    assert!(has(6, "Логин", "уже есть в строке 4"), "{found:?}");
    assert!(!p.has("id=\"onboarding-confirm\""), "a file with errors cannot be confirmed");
    assert!(p.has("Ничего не загружено"));
    assert_eq!(count_orgs(&h).await, before);
    assert!(h.app.store.user_by_login("school902").await.unwrap().is_none());

    // An organization outside the administrator's organization is an error of its row.
    let school = h.app.store.organization_by_spz(SCHOOL.spz_code).await.unwrap().unwrap();
    let hash = app::users::hash("school-admin-1".into()).await.unwrap();
    h.app.store.create_user("schooladmin", &hash, "Ершов Пётр", school.id, domain::Role::Admin).await.unwrap();
    let mut school_admin = h.client();
    school_admin.login("schooladmin", "school-admin-1").await;
    let p = upload(
        &mut school_admin,
        "orgs.csv",
        table(&[org("03722009005", "Школа № 905", "7801090005", COMMITTEE.spz_code)]),
    )
    .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(
        errors(&p).iter().any(|(r, c, m)| *r == 2 && c == "СПЗ организации" && m.contains("не подчинена")),
        "{}",
        p.body
    );

    // What cannot be read at all says so.
    let p = upload(&mut a, "orgs.csv", b"a;b\n1;2\n".to_vec()).await;
    assert_eq!(p.status, 422);
    assert!(p.has("строка заголовков"), "{}", p.body);
    assert_eq!(count_orgs(&h).await, before);
}

#[tokio::test]
async fn a_table_loads_by_a_job_and_again_without_duplicates_and_the_passwords_download_once() {
    let h = Harness::start_driven().await;
    let mut a = admin(&h).await;
    let before = count_orgs(&h).await;
    let rows = [
        org("03722009101", "Отдел образования Северного района", "7801091010", COMMITTEE.spz_code),
        org("03722009102", "ГБОУ «Школа № 912»", "7801091020", "03722009101"),
        user("03722009102", "school912", "Лебедева Анна Олеговна", "Специалист заказчика"),
        user("03722009101", "north.approver", "Соколов Иван Ильич", "Согласующий"),
    ];
    let p = upload(&mut a, "north.csv", table(&rows)).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("Организации: будет создано 2, изменено 0, без изменений 0"), "{}", p.body);
    assert!(p.has("Пользователи: будет создано 2, изменено 0, без изменений 0"), "{}", p.body);
    assert_eq!(count_orgs(&h).await, before, "nothing is saved before «Подтвердить»");
    let id = load_id(&p);

    let started = a.post(&format!("/admin/onboarding/{id}/confirm"), &[]).await;
    let done = a.job_outcome(started).await;
    assert!(done.has("Завершено"), "{}", done.body);
    assert!(done.has("Организации: создано 2, обновлено 0"), "{}", done.body);
    assert!(done.has("Пользователи: создано 2"), "{}", done.body);
    assert_eq!(count_orgs(&h).await, before + 2);
    let north = h.app.store.organization_by_spz("03722009101").await.unwrap().unwrap();
    let school = h.app.store.organization_by_spz("03722009102").await.unwrap().unwrap();
    assert_eq!(school.superior_id, Some(north.id));
    let u = h.app.store.user_by_login("school912").await.unwrap().unwrap();
    assert_eq!((u.org_id, u.roles), (school.id, domain::Roles::one(domain::Role::CustomerSpecialist)));
    let creds = h.app.store.user_credentials("north.approver").await.unwrap().unwrap();
    assert!(creds.must_change_password);

    // The passwords: once, then never again.
    let job = job_of(&done);
    assert!(done.has("Скачать временные пароли"), "{}", done.body);
    let (status, csv) = passwords(&mut a, &job).await;
    assert_eq!(status, 200, "{csv}");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "Логин;ФИО;Организация;Временный пароль");
    assert_eq!(lines.len(), 3, "{csv}");
    let line = lines.iter().find(|l| l.starts_with("school912;")).expect("the school's user");
    let password = line.rsplit(';').next().unwrap().to_owned();
    assert!(line.contains("Лебедева Анна Олеговна") && line.contains("ГБОУ «Школа № 912»"), "{line}");
    let (status, body) = passwords(&mut a, &job).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("уже скачан"), "{body}");
    assert!(a.get(&format!("/jobs/{job}")).await.has("уже скачан или срок его хранения истёк"));
    // The password works, once, for a forced change.
    let mut newcomer = h.client();
    let signed = newcomer.post_raw("/login", &[("login", "school912"), ("password", &password)], None).await;
    assert!(signed.url.ends_with("/settings/password"), "{}", signed.url);
    // Neither the journal nor the database holds it in the clear.
    let journal: Vec<String> = raw(&h, "SELECT details FROM audit_log").await;
    assert!(journal.iter().all(|d| !d.contains(&password)));
    assert!(
        journal.iter().any(|d| d.contains("Файл «north.csv»") && d.contains("организаций: создано 2")),
        "{journal:?}"
    );
    assert!(journal.iter().any(|d| d.contains("пользователей в файле паролей: 2")), "{journal:?}");
    let stored: Vec<String> = raw(&h, "SELECT COALESCE(passwords, '') FROM onboarding_loads").await;
    assert!(stored.iter().all(|s| s.is_empty()), "downloaded passwords are erased");
    assert!(a.get("/admin/journal").await.has("Загрузка организаций из файла"));

    // Again, with a new name and the approver given a second role: updated, nothing duplicated,
    // no new password.
    let mut again = rows;
    again[1][1] = "ГБОУ «Школа № 912 имени А. С. Пушкина»";
    let second_role = format!("{}, Администратор", again[3][12]);
    again[3][12] = &second_role;
    let p = upload(&mut a, "north.csv", table(&again)).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("Организации: будет создано 0, изменено 1, без изменений 1"), "{}", p.body);
    assert!(p.has("Пользователи: будет создано 0, изменено 1, без изменений 1"), "{}", p.body);
    let started = a.post(&format!("/admin/onboarding/{}/confirm", load_id(&p)), &[]).await;
    let done = a.job_outcome(started).await;
    assert!(done.has("Организации: создано 0, обновлено 1, без изменений 1"), "{}", done.body);
    assert!(!done.has("Скачать временные пароли"));
    assert_eq!(count_orgs(&h).await, before + 2);
    let school = h.app.store.organization_by_spz("03722009102").await.unwrap().unwrap();
    assert_eq!(school.name, "ГБОУ «Школа № 912 имени А. С. Пушкина»");
    let roles = h.app.store.user_by_login("north.approver").await.unwrap().unwrap().roles;
    assert!(roles.is_admin() && roles.approves_plans(), "{roles:?}");
    assert_eq!(h.app.store.users_of_org(school.id).await.unwrap().len(), 1);
    // The staged file was loaded: it cannot be confirmed twice into a second load.
    let p = a.get(&format!("/admin/onboarding/{id}")).await;
    assert_eq!(p.status, 409, "{}", p.body);
}

#[tokio::test]
async fn the_eis_list_loads_from_the_page() {
    let h = Harness::start_driven().await;
    let mut a = admin(&h).await;
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><export xmlns="http://zakupki.gov.ru/oos/export/1" xmlns:oos="http://zakupki.gov.ru/oos/types/1"><nsiOrganizationList><nsiOrganization><oos:regNumber>03722009301</oos:regNumber><oos:fullName>ГБОУ «Школа № 931»</oos:fullName><oos:headAgency><oos:regNum>{}</oos:regNum></oos:headAgency><oos:INN>7801093010</oos:INN><oos:KPP>780101001</oos:KPP><oos:organizationType><oos:code>03</oos:code></oos:organizationType><oos:OKTMO><oos:code>4000000</oos:code></oos:OKTMO><oos:subordinationType>2</oos:subordinationType><oos:actual>true</oos:actual></nsiOrganization></nsiOrganizationList></export>"#,
        COMMITTEE.spz_code
    );
    let p = upload(&mut a, "spz.xml", xml.clone().into_bytes()).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(
        errors(&p).iter().any(|(r, c, m)| *r == 1 && c == "ОКТМО (OKTMO)" && m.contains("нужно 8 или 11 цифр")),
        "{}",
        p.body
    );
    let p = upload(&mut a, "spz.xml", xml.replace("4000000<", "40000000<").into_bytes()).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("сводный перечень заказчиков ЕИС"));
    let started = a.post(&format!("/admin/onboarding/{}/confirm", load_id(&p)), &[]).await;
    let done = a.job_outcome(started).await;
    assert!(done.has("Организации: создано 1"), "{}", done.body);
    assert!(!done.has("Скачать временные пароли"), "no users, no passwords");
    assert!(h.app.store.organization_by_spz("03722009301").await.unwrap().is_some());
}

#[tokio::test]
async fn another_administrator_does_not_see_a_staged_load_and_the_forms_need_their_token() {
    let h = Harness::start_driven().await;
    let mut a = admin(&h).await;
    let p =
        upload(&mut a, "one.csv", table(&[org("03722009201", "Школа № 921", "7801092010", COMMITTEE.spz_code)])).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let id = load_id(&p);

    let committee = h.app.store.organization_by_spz(COMMITTEE.spz_code).await.unwrap().unwrap();
    let hash = app::users::hash("second-admin-1".into()).await.unwrap();
    h.app.store.create_user("admin2", &hash, "Второй администратор", committee.id, domain::Role::Admin).await.unwrap();
    let mut other = h.client();
    other.login("admin2", "second-admin-1").await;
    assert_eq!(other.get(&format!("/admin/onboarding/{id}")).await.status, 404);
    other.get("/admin/onboarding").await;
    assert_eq!(other.post(&format!("/admin/onboarding/{id}/confirm"), &[]).await.status, 404);
    assert!(h.app.store.organization_by_spz("03722009201").await.unwrap().is_none());

    // Not an administrator: no page, no template, no upload.
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    assert_eq!(customer.get("/admin/onboarding").await.status, 403);
    assert_eq!(customer.get("/admin/onboarding/template.csv").await.status, 403);
    let p =
        upload(&mut customer, "one.csv", table(&[org("03722009202", "Школа", "7801092020", COMMITTEE.spz_code)])).await;
    assert_eq!(p.status, 403, "{}", p.body);

    // Without the token nothing is checked, staged or confirmed.
    let p = upload_with(
        &mut a,
        "one.csv",
        table(&[org("03722009203", "Школа", "7801092030", COMMITTEE.spz_code)]),
        "x".into(),
    )
    .await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = a.post_raw(&format!("/admin/onboarding/{id}/confirm"), &[("csrf", "x")], None).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(h.app.store.organization_by_spz("03722009201").await.unwrap().is_none());
    // With it, the administrator's own load goes.
    a.get(&format!("/admin/onboarding/{id}")).await;
    let started = a.post(&format!("/admin/onboarding/{id}/confirm"), &[]).await;
    let done = a.job_outcome(started).await;
    assert!(done.has("Организации: создано 1"), "{}", done.body);

    // Both templates download and read back.
    let r = a.http.get(format!("{}/admin/onboarding/template.xlsx", a.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let rows = sheets::roster::read_roster(&r.bytes().await.unwrap(), &sheets::roster::LIMITS).unwrap();
    assert_eq!(rows.len(), 2);
    let r = a.http.get(format!("{}/admin/onboarding/template.csv", a.base)).send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(sheets::roster::read_roster(&r.bytes().await.unwrap(), &sheets::roster::LIMITS).unwrap().len(), 2);
}

/// 5,000 organizations under the administrator's organization, in one CSV: checked and loaded
/// well under a minute (the measured times are printed; see docs/PERFORMANCE.md).
#[tokio::test]
async fn five_thousand_organizations_load_well_under_a_minute() {
    let h = Harness::start_driven().await;
    let mut a = admin(&h).await;
    let codes: Vec<(String, String)> = (0..5000).map(|i| (format!("0372201{i:04}"), format!("78020{i:05}"))).collect();
    let names: Vec<String> = (0..5000).map(|i| format!("Учреждение № {i}")).collect();
    let rows: Vec<[&str; 13]> =
        codes.iter().zip(&names).map(|((spz, inn), name)| org(spz, name, inn, COMMITTEE.spz_code)).collect();
    let before = count_orgs(&h).await;
    let started = std::time::Instant::now();
    let p = upload(&mut a, "region.csv", table(&rows)).await;
    let checked = started.elapsed();
    assert_eq!(p.status, 200, "{}", &p.body[..p.body.len().min(3000)]);
    assert!(p.has("Организации: будет создано 5000"));
    let job = a.post(&format!("/admin/onboarding/{}/confirm", load_id(&p)), &[]).await;
    let path = job.url[job.url.find("/jobs/").unwrap()..].to_owned();
    let mut page = job;
    while page.has("data-running=\"true\"") {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "not loaded in a minute");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        page = a.get(&path).await;
    }
    let total = started.elapsed();
    assert!(page.has("Организации: создано 5000"), "{}", page.body);
    assert_eq!(count_orgs(&h).await, before + 5000);
    eprintln!("5000 organizations: checked in {checked:.1?}, checked and loaded in {total:.1?}");
    assert!(total < std::time::Duration::from_secs(30), "5000 organizations took {total:?}");
}

/// The texts of one column of a query, straight from the database.
async fn raw(h: &Harness, sql: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&h.database_url).await.unwrap();
    let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_all(&pool).await.unwrap();
    pool.close().await;
    rows
}
