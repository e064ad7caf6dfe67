//! «Загрузка организаций» in a real browser: the administrator finds the page in
//! «Администрирование», uploads a table with errors and sees each by row and column (nothing
//! saved), uploads the corrected table, confirms, follows the job's progress bar to its end,
//! and downloads the temporary passwords once. Headless Chromium over chromedriver
//! ([`crate::chromium`]); without them the test says SKIPPED and passes, unless
//! PLANGRAF_REQUIRE_BROWSER=1.

use crate::chromium::Scene;
use crate::onboarding_web::{org, table, user};
use fantoccini::Locator;
use plangraf::demo::COMMITTEE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_onboards_a_region_from_a_file_in_a_real_browser() {
    let Some(s) = Scene::start("onboarding").await else { return };
    let (b, app, store) = (&s.b, s.app.as_str(), s.h.app.store.clone());
    b.goto(&format!("{app}/login")).await;
    b.fill("#login", "admin").await;
    b.fill("#password", "admin").await;
    b.press("Войти").await;
    b.wait_for_text("Планы-графики").await;
    b.open_menu("Администрирование").await;
    b.click_link("Загрузка организаций").await;
    b.wait_for_heading("Загрузка организаций").await;
    let before = store.organizations().await.unwrap().len();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_string_lossy().into_owned()
    };

    // A region: a district, its schools, a user of the district and one of a school.
    let codes: Vec<(String, String, String)> = (0..1500)
        .map(|i| (format!("0372203{i:04}"), format!("78030{i:05}"), format!("ГБОУ «Школа № {}»", 100 + i)))
        .collect();
    let district = org("03722002999", "Отдел образования Южного района", "7803099999", COMMITTEE.spz_code);
    let mut rows = vec![district];
    rows.extend(codes.iter().map(|(spz, inn, name)| org(spz, name, inn, "03722002999")));
    rows.push(user("03722002999", "south.head", "Морозова Елена Викторовна", "Согласующий"));
    rows.push(user("03722030000", "school100", "Волков Андрей Сергеевич", "Специалист заказчика"));

    // With errors: an ИНН too short on the second school (row 4), an unknown role (last row).
    let mut with_errors = rows.clone();
    with_errors[2][3] = "780300";
    let last = with_errors.len() - 1;
    with_errors[last][12] = "Бухгалтер";
    let bad = file("south-with-errors.csv", table(&with_errors));
    b.find(Locator::Css("#onboarding-file"), "the file field").await.send_keys(&bad).await.unwrap();
    b.press("Проверить файл").await;
    b.wait_for_text("Исправьте файл и загрузите его ещё раз.").await;
    let errors = b.table_rows("//table[@id='onboarding-errors']/tbody/tr").await;
    let shown = |row: &str, column: &str, part: &str| {
        errors.iter().any(|e| e.len() == 3 && e[0] == row && e[1] == column && e[2].contains(part))
    };
    let last_row = (with_errors.len() + 1).to_string();
    b.ensure(
        shown("4", "ИНН", "нужно 10 цифр") && shown(&last_row, "Роль", "Бухгалтер"),
        || format!("the ИНН on row 4 and the role on row {last_row} expected: {errors:?}"),
    )
    .await;
    let confirm = b.c.find_all(Locator::Css("#onboarding-confirm")).await.unwrap();
    b.ensure(confirm.is_empty(), || "a file with errors offers no «Подтвердить»".to_owned()).await;
    b.screenshot("onboarding-errors").await;
    let now = store.organizations().await.unwrap().len();
    b.ensure(now == before, || format!("nothing saved: {before} organizations before, {now} now")).await;

    // Corrected: checked, confirmed, followed to the end.
    let good = file("south.csv", table(&rows));
    b.find(Locator::Css("#onboarding-file"), "the file field").await.send_keys(&good).await.unwrap();
    b.press("Проверить файл").await;
    b.wait_for_text("Организации: будет создано 1501, изменено 0, без изменений 0").await;
    b.wait_for_text("Пользователи: будет создано 2, изменено 0, без изменений 0").await;
    b.press("Подтвердить").await;
    b.wait_for_heading("Загрузка организаций и пользователей").await;
    b.wait_for_element_text(Locator::Css("#job-message"), "Организации: создано 1501").await;
    b.expect_text(Locator::Css("#job-state"), "Завершено").await;
    b.expect_text(Locator::Css("#job-percent"), "100 %").await;
    b.expect_text(Locator::Css("#job-counts"), "Обработано 1503 из 1503, успешно 1503, отказов 0").await;
    b.screenshot("onboarding-done").await;
    let now = store.organizations().await.unwrap().len();
    b.ensure(now == before + 1501, || format!("1501 organizations loaded: {before} before, {now} now")).await;

    // The passwords: the page's form, posted with the browser's session, once.
    let form = b.find(Locator::Css("#job-passwords-download"), "«Скачать временные пароли»").await;
    let action = form.attr("action").await.ok().flatten().unwrap_or_default();
    let csrf = b.c.find(Locator::Css("#job-passwords-download input[name=csrf]")).await.unwrap();
    let csrf = csrf.attr("value").await.ok().flatten().unwrap_or_default();
    let cookies = b.c.get_all_cookies().await.unwrap();
    let cookie = cookies.iter().map(|c| format!("{}={}", c.name(), c.value())).collect::<Vec<_>>().join("; ");
    let download = || {
        reqwest::Client::new()
            .post(format!("{app}{action}"))
            .header("Cookie", cookie.clone())
            .form(&[("csrf", csrf.clone())])
            .send()
    };
    let r = download().await.unwrap();
    let status = r.status();
    let csv = r.text().await.unwrap();
    let logins: Vec<&str> =
        csv.trim_start_matches('\u{feff}').lines().skip(1).filter_map(|l| l.split(';').next()).collect();
    b.ensure(
        status == 200 && logins.len() == 2 && logins.contains(&"south.head") && logins.contains(&"school100"),
        || format!("the passwords of both users expected: {status} {logins:?}"),
    )
    .await;
    let again = download().await.unwrap().status();
    b.ensure(again == 409, || format!("a second download is refused, got {again}")).await;
    b.c.refresh().await.unwrap();
    b.wait_for_text("Файл временных паролей уже скачан").await;
    b.screenshot("onboarding-passwords-taken").await;
    s.finish().await;
}
