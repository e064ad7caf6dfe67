//! The thinnest full path of the seed scenarios, through real HTTP to plangraf and real HTTPS
//! from plangraf to eis-sandbox: plan → approval → version 0 → «Отправить на ООС» →
//! «Загрузка завершена успешно»; and the failures a customer meets on the way.

use crate::common::*;
use domain::ids::{PlanId, VersionId};

#[tokio::test]
async fn plan_is_approved_sent_and_loaded_into_eis() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;

    // The seed navigation exists on every page.
    let page = customer.get("/plans").await;
    for label in [
        "Управление закупками",
        "Планирование",
        "Планы-графики размещения заказов",
        "Настройки",
        "Регистрационные данные в ЕИС",
    ] {
        assert!(page.has(label), "menu label {label}");
    }
    // «Планирование» is a level of its own that opens its items, not a caption.
    assert!(
        page.has("<summary>Планирование</summary>\n          <a href=\"/plans\">Планы-графики размещения заказов</a>"),
        "{}",
        page.body
    );

    let plan = customer.create_plan("2026").await;
    // Empty fields carry hints that cannot be taken for entered values.
    let page = customer.get(&format!("/plans/{plan}")).await;
    assert!(!page.has("placeholder="), "{}", page.body);
    for hint in
        ["Например, 38.11.21.000.", "Например, 244.", "Рубли с копейками, например 1 250 000,50. Пустое поле — 0,00."]
    {
        assert!(page.has(hint), "hint {hint}");
    }
    // An empty plan cannot go for approval.
    let p = customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    assert_eq!(p.status, 422);
    assert!(p.has("не содержит ни одной позиции"), "{}", p.body);

    // Bad input is reported per field, and what was typed is kept in the form.
    let p = customer
        .add_position(
            plan,
            &[
                ("object_info", "Учебники"),
                ("publish_year", "26"),
                ("okpd2", "58"),
                ("kvr", "244"),
                ("amount_current", "сто"),
            ],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(p.has("Укажите год размещения извещения"));
    assert!(p.has("Код ОКПД2 «58» некорректен"));
    assert!(p.has("«сто» не является суммой"));
    assert!(p.has(">Учебники</textarea>"), "typed text kept");
    assert!(h.app.store.positions(PlanId(plan)).await.unwrap().is_empty(), "nothing stored");

    let p = customer.add_position(plan, &POSITION).await;
    assert!(p.has("Позиция добавлена"));
    // The ИКЗ is computed: year 26, ИКУ 2+INN+KPP, number 0001, order 000, ОКПД2 5811, КВР 244.
    assert!(p.has("262780100001178010100100010005811244"), "{}", p.body);
    assert!(p.has("1\u{a0}250\u{a0}000,50"), "Russian money format");

    // The responsible person of the header: checked per field, kept, journaled, printed.
    let row_version = value_of(&customer.get(&format!("/plans/{plan}")).await.body, "row_version");
    let person = [
        ("responsible_last_name", "Петрова"),
        ("responsible_first_name", "Анна"),
        ("responsible_middle_name", "Сергеевна"),
        ("responsible_position", "контрактный управляющий"),
        ("responsible_phone", "8 (812) 123-45-67"),
        ("row_version", &row_version),
    ];
    let mut bad = person.to_vec();
    bad[4] = ("responsible_phone", "звонить утром");
    bad[3] = ("responsible_position", " ");
    let p = customer.post(&format!("/plans/{plan}/responsible"), &bad).await;
    assert_eq!(p.status, 422);
    assert!(p.has("Укажите должность ответственного исполнителя") && p.has("Телефон: от 5 до 15 цифр"), "{}", p.body);
    assert!(p.has("value=\"звонить утром\""), "typed values are kept");
    let p = customer.post(&format!("/plans/{plan}/responsible"), &person).await;
    assert!(p.has("Петрова Анна Сергеевна, контрактный управляющий, тел. 8 (812) 123-45-67"), "{}", p.body);

    let p = customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    assert!(p.has("На согласовании"));
    // The working copy is locked while on approval: no form, and a forged post is refused.
    let p = customer.get(&format!("/plans/{plan}")).await;
    assert!(!p.has("Добавить позицию"));
    let mut form = POSITION.to_vec();
    form.push(("row_version", "1"));
    let p = customer.post(&format!("/plans/{plan}/positions"), &form).await;
    // The state forbids it (409, as the API answers), not the caller's rights.
    assert_eq!(p.status, 409);
    assert!(p.has("недоступно в статусе «На согласовании»"), "{}", p.body);

    // The superior approves; version 0 appears on «Версии документов».
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    let list = approver.get("/plans").await;
    assert!(list.has("ГБОУ «Школа № 1»"), "superior sees the subordinate's plan");
    approver.get(&format!("/plans/{plan}")).await;
    let p = approver.post(&format!("/plans/{plan}/approve"), &[]).await;
    assert!(p.has("План-график утвержден"));
    assert!(p.has("Версии документов"));
    let versions = h.app.store.versions(PlanId(plan)).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].version_number, 0);
    let version = versions[0].id.get();
    // The approver may not send the customer's version.
    assert_eq!(approver.get(&format!("/versions/{version}/send")).await.status, 403);

    // Seed 000: the ЕИС login and password go to «Регистрационные данные в ЕИС».
    let (eis_login, eis_password) = h.eis_credentials("eis_user").await;
    let p = customer.get("/settings/eis").await;
    assert!(p.has("Сменить пароль:"));
    let p = customer
        .post(
            "/settings/eis",
            &[
                ("login", &eis_login),
                ("change_password", "1"),
                ("password", &eis_password),
                ("password_confirm", "другой"),
            ],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(p.has("Пароли не совпадают"));
    let p = customer
        .post(
            "/settings/eis",
            &[("login", &eis_login), ("password", &eis_password), ("password_confirm", &eis_password)],
        )
        .await;
    assert_eq!(p.status, 422, "a typed password without «Сменить пароль:» is not dropped silently");
    assert!(p.has("отметьте «Сменить пароль:»"));
    let p = customer
        .post(
            "/settings/eis",
            &[
                ("login", &eis_login),
                ("change_password", "1"),
                ("password", &eis_password),
                ("password_confirm", &eis_password),
            ],
        )
        .await;
    assert!(p.has("Регистрационные данные в ЕИС сохранены"));
    assert!(!p.has(&eis_password), "the password is never shown again");

    let print = customer.get(&format!("/versions/{version}/print")).await;
    assert!(print.has("Петрова Анна Сергеевна, контрактный управляющий"), "{}", print.body);

    // The version holds its exact packet from approval: «Скачать XML» gives the same bytes twice.
    let fixed = customer.get(&format!("/versions/{version}/xml")).await.body;
    assert!(fixed.contains("<int:tenderPlan2020 "), "{fixed}");
    assert_eq!(customer.get(&format!("/versions/{version}/xml")).await.body, fixed);

    // Seed 004: «Версии документов» → «»» → «Отправить на ООС» → the dialog, pre-filled → «ОК».
    let p = customer.get(&format!("/plans/{plan}?tab=versions")).await;
    assert!(p.has("Отправить на ООС") && p.has("Посмотреть статус отправки") && p.has("Не отправлена"));
    let dialog = customer.get(&format!("/versions/{version}/send")).await;
    assert!(dialog.has(&format!("value=\"{eis_login}\"")), "login pre-filled");
    assert!(!dialog.has(&eis_password));
    let p = customer.post(&format!("/versions/{version}/send"), &[("login", &eis_login), ("password", "")]).await;
    assert!(p.has("поставлена в очередь"), "{}", p.body);

    let p = drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    assert!(p.has("Реестр планов-графиков"));
    assert!(p.has("Отправлена, обрабатывается в ЕИС"), "the timeline shows the processing step");
    // ЕИС's answers in words; the HTTP code is only a tooltip.
    assert!(p.has("<span title=\"Код ответа HTTP 200\">ЕИС приняла запрос</span>"), "{}", p.body);
    assert!(!p.has("· HTTP"), "{}", p.body);

    // ЕИС holds the draft, from РИС; the version is not sent twice.
    let plans = h.sandbox.directory().plans(common_spz()).await.unwrap();
    assert_eq!(plans.len(), 1, "{plans:?}");
    let again = customer.get(&format!("/versions/{version}/send")).await;
    assert_eq!(again.status, 409);
    assert!(again.has("повторно не отправляется"));
    let sends = h.app.store.sends_for_version(VersionId(version)).await.unwrap();
    assert_eq!(sends.len(), 1);
    // The packet sent is a tenderPlan2020 in the official namespace.
    assert!(
        sends[0].packet_xml.contains("tenderPlan2020")
            && sends[0].packet_xml.contains("http://zakupki.gov.ru/oos/integration/1")
    );
    assert_eq!(sends[0].packet_xml, fixed, "the packet fixed at approval is the one sent");

    // The customer places the draft in ЕИС; plangraf learns of it and shows the numbers.
    let plan_number = h.sandbox.directory().publish(common_spz(), 2026).await.unwrap();
    assert_eq!(plan_number.len(), 18);
    let p = drive_to_status(&h, &mut customer, version, "Размещена в ЕИС").await;
    assert!(p.has(&plan_number), "{}", p.body);
    let numbers = h.app.store.version_head(VersionId(version)).await.unwrap().unwrap().eis_position_numbers;
    assert_eq!(numbers.len(), 1);
    let position_number = &numbers["0001"];
    assert!(position_number.starts_with(&plan_number) && position_number.len() == 24);
    assert!(p.has(position_number));
    assert!(customer.get(&format!("/plans/{plan}")).await.has(&plan_number));
    h.app.stop().await;
}

fn common_spz() -> &'static str {
    plangraf::demo::SCHOOL.spz_code
}

#[tokio::test]
async fn regenerated_password_gives_authorization_error_then_success() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;

    let (login, old_password) = h.eis_credentials("eis_user").await;
    customer.get("/settings/eis").await;
    customer
        .post(
            "/settings/eis",
            &[
                ("login", &login),
                ("change_password", "1"),
                ("password", &old_password),
                ("password_confirm", &old_password),
            ],
        )
        .await;
    // The cabinet button is pressed again: the saved password stops working at once.
    let (_, new_password) = h.eis_credentials("eis_user").await;

    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", "")]).await;
    let p = drive_to_status(&h, &mut customer, version, "Ошибка авторизации").await;
    // A wrong password (401) gets the password's advice, not the missing right's.
    assert!(p.has("ЕИС не приняла логин или пароль"), "{}", p.body);
    assert!(p.has("создаёт новый пароль при каждом нажатии"));
    assert!(!p.has("нет права «Работа с планом-графиком»"), "{}", p.body);
    assert!(p.has("/settings/eis"));
    let settings = customer.get("/settings/eis").await;
    assert!(settings.has("Последний отказ ЕИС"));
    // «Проверить подключение» says the same before anything is sent.
    let p = customer.post("/settings/eis/check", &[]).await;
    assert!(p.has("ЕИС не приняла логин или пароль"), "{}", p.body);

    customer
        .post(
            "/settings/eis",
            &[
                ("login", &login),
                ("change_password", "1"),
                ("password", &new_password),
                ("password_confirm", &new_password),
            ],
        )
        .await;
    let p = customer.post("/settings/eis/check", &[]).await;
    assert!(p.has("Подключение к ЕИС работает"), "{}", p.body);
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", "")]).await;
    drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    let settings = customer.get("/settings/eis").await;
    assert!(settings.has("Последняя успешная работа с ЕИС"));
    h.app.stop().await;
}

#[tokio::test]
async fn plan_created_directly_in_eis_blocks_sending() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;
    h.sandbox.directory().create_plan_directly(common_spz(), 2026).await.unwrap();
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    let p = drive_to_status(
        &h,
        &mut customer,
        version,
        "Отправка невозможна: план-график на этот период создан в ЕИС не из РИС",
    )
    .await;
    assert!(p.has("не был интегрирован из plangraf"));
    // The violation is listed in words; ЕИС's code is only a tooltip.
    assert!(p.has("<td title=\"Код ошибки ЕИС: PLAN_EIS\">Отправка невозможна: план-график на этот период создан в ЕИС не из РИС</td>"), "{}", p.body);
    assert!(!p.has(">PLAN_EIS<"), "the code is not shown as text: {}", p.body);
    h.app.stop().await;
}

#[tokio::test]
async fn user_without_plan_rights_gets_authorization_error() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;
    h.sandbox.directory().set_plan_rights("eis_user", false).await.unwrap();
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    let p = drive_to_status(&h, &mut customer, version, "Ошибка авторизации").await;
    // A missing right (403, code 1003) gets its own advice, naming the place in the cabinet.
    assert!(p.has("нет права «Работа с планом-графиком» (код ЕИС 1003)"), "{}", p.body);
    assert!(p.has("«Администрирование» → «Пользователи организации»") && p.has("«Права доступа"), "{}", p.body);
    assert!(p.has("Пароль менять не нужно"), "{}", p.body);
    assert!(!p.has("создаёт новый пароль при каждом нажатии"), "not the password's advice: {}", p.body);
    h.app.stop().await;
}

#[tokio::test]
async fn send_survives_a_restart_of_plangraf() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    // Stop abruptly with the send queued, and again once ЕИС has taken the packet and answered
    // `processing`; each time start again on the same database.
    let h = h.restart().await;
    assert!(h.app.exchange.run_next_within(std::time::Duration::ZERO).await.unwrap(), "the queued send is due");
    let status = h.app.store.latest_send(VersionId(version)).await.unwrap().unwrap().status;
    assert_eq!(status.title(), "Отправлена, обрабатывается в ЕИС");
    let h = h.restart().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    // One send, one packet, one draft in ЕИС, whatever the moment of the restart.
    assert_eq!(h.app.store.sends_for_version(VersionId(version)).await.unwrap().len(), 1);
    assert_eq!(h.sandbox.directory().plans(common_spz()).await.unwrap().len(), 1);
    h.app.stop().await;
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried_with_the_same_packet() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (_, version) = approved_plan(&h, &mut customer, "2026").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    // The next two integration calls fail with 503, the one after loses its connection.
    h.sandbox.set_faults(sandbox::Faults { fail_next: 2, drop_next: 1, ..Default::default() });
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    let p = drive_to_status(&h, &mut customer, version, "Загрузка завершена успешно").await;
    assert!(p.has("ЕИС ответила ошибкой сервера (код ответа 503)"), "{}", p.body);
    assert!(p.has("Нет связи с ЕИС"), "the dropped connection is on the timeline: {}", p.body);
    assert!(p.has("Повторная попытка через"));
    let sends = h.app.store.sends_for_version(VersionId(version)).await.unwrap();
    assert_eq!(sends.len(), 1, "one send, whatever the number of attempts");
    assert!(sends[0].attempts >= 3, "attempts: {}", sends[0].attempts);
    // ЕИС saw one packet id and holds one draft.
    let plans = h.sandbox.directory().plans(common_spz()).await.unwrap();
    assert_eq!(plans.len(), 1);
    h.app.stop().await;
}

/// Seed 004, the last paragraph: changes are made in plangraf, approved, sent as a new version
/// and placed; the previous version is not annulled.
#[tokio::test]
async fn change_version_is_sent_and_placed() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, v0) = approved_plan(&h, &mut customer, "2026").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{v0}/send")).await;
    customer.post(&format!("/versions/{v0}/send"), &[("login", &login), ("password", &password)]).await;
    drive_to_status(&h, &mut customer, v0, "Загрузка завершена успешно").await;

    // «Внести изменения» is possible, but the change cannot go before version 0 is placed.
    customer.get(&format!("/plans/{plan}")).await;
    let p = customer.post(&format!("/plans/{plan}/changes"), &[]).await;
    assert!(p.has("Открыт новый цикл изменений"), "{}", p.body);
    let position_id = h.app.store.positions(PlanId(plan)).await.unwrap()[0].id;
    let edit = format!("/plans/{plan}/positions/{position_id}");

    // Deleting a position of the approved version is refused; it can only be cancelled.
    let rv = value_of(&p.body, "row_version");
    let p = customer.post(&format!("{edit}/delete"), &[("row_version", &rv)]).await;
    assert!(p.has("нельзя удалить"), "{}", p.body);

    // An edit without a justification is refused, and the typed values stay in the form.
    let page = customer.get(&format!("{edit}/edit")).await;
    let rv = value_of(&page.body, "row_version");
    let mut form: Vec<(&str, &str)> = POSITION.to_vec();
    form[4] = ("amount_current", "1 300 000,00");
    form.push(("row_version", &rv));
    let p = customer.post(&edit, &form).await;
    assert_eq!(p.status, 422);
    assert!(p.has("Выберите причину изменения") && p.has("1 300 000,00"));
    form.push(("reason_code", "9"));
    form.push(("change_description", "Рост цен поставщиков"));
    let p = customer.post(&edit, &form).await;
    assert!(p.has("Позиция изменена"), "{}", p.body);
    assert!(p.has("Изменена"));
    // A new purchase in the same round.
    let mut second = POSITION;
    second[0] = ("object_info", "Поставка интерактивных досок");
    second[2] = ("okpd2", "26.20.17.110");
    let p = customer.add_position(plan, &second).await;
    assert!(p.has("Новая"));
    customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get(&format!("/plans/{plan}")).await;
    approver.post(&format!("/plans/{plan}/approve"), &[]).await;
    let v1 = h.app.store.versions(PlanId(plan)).await.unwrap()[0].clone();
    assert_eq!(v1.version_number, 1);

    // «Сравнить с предыдущей»: the edited amount with its delta, the new purchase.
    let d = customer.get(&format!("/versions/{}/diff", v1.id)).await;
    assert!(
        d.has("Сумма, текущий год") && d.has("1\u{a0}250\u{a0}000,50") && d.has("1\u{a0}300\u{a0}000,00"),
        "{}",
        d.body
    );
    assert!(d.has("49\u{a0}999,50"), "money delta");
    assert!(d.has("Добавлена") && d.has("интерактивных досок"));
    // «Печатная форма» and «Скачать XML» (a preview before sending).
    let print = customer.get(&format!("/versions/{}/print", v1.id)).await;
    assert!(print.has("ПЛАН-ГРАФИК") && print.has("Версия 1") && print.has("1\u{a0}300\u{a0}000,00"));
    let xml = customer.get(&format!("/versions/{}/xml", v1.id)).await;
    assert!(xml.body.starts_with("<?xml") && xml.has("tenderPlan2020"));
    let blocked = customer.get(&format!("/versions/{}/send", v1.id)).await;
    assert_eq!(blocked.status, 409);
    assert!(blocked.has("не размещена в ЕИС"), "{}", blocked.body);

    let plan_number = h.sandbox.directory().publish(common_spz(), 2026).await.unwrap();
    drive_to_status(&h, &mut customer, v0, "Размещена в ЕИС").await;
    customer.get(&format!("/versions/{}/send", v1.id)).await;
    let p = customer.post(&format!("/versions/{}/send", v1.id), &[("login", &login), ("password", &password)]).await;
    assert!(p.has("поставлена в очередь"), "{}", p.body);
    drive_to_status(&h, &mut customer, v1.id.get(), "Загрузка завершена успешно").await;
    let sent = &h.app.store.sends_for_version(v1.id).await.unwrap()[0].packet_xml;
    assert!(sent.contains("tenderPlan2020Change") && sent.contains(&plan_number), "a change of the placed plan");
    assert!(sent.contains(">E<") && sent.contains("Рост цен поставщиков"));

    h.sandbox.directory().publish_version(common_spz(), 2026, 1).await.unwrap();
    let p = drive_to_status(&h, &mut customer, v1.id.get(), "Размещена в ЕИС").await;
    let numbers = h.app.store.version_head(v1.id).await.unwrap().unwrap().eis_position_numbers;
    assert_eq!(numbers.len(), 2, "{numbers:?}");
    let v0_numbers = h.app.store.version_head(VersionId(v0)).await.unwrap().unwrap().eis_position_numbers;
    assert_eq!(numbers["0001"], v0_numbers["0001"], "a placed position keeps its registry number");
    assert!(p.has(&numbers["0002"]));
    // «Скачать XML» now gives exactly the packet that was sent.
    assert_eq!(customer.get(&format!("/versions/{}/xml", v1.id)).await.body, *sent);
    // The previous version stays placed; nothing was annulled.
    assert!(customer.get(&format!("/versions/{v0}/status")).await.has(">Размещена в ЕИС<"));
    h.app.stop().await;
}

/// Seed 004: «Если же План-график не пройдет проверку … он будет возвращен заказчику с указанием
/// ошибок». Each violation is shown with its position and field.
#[tokio::test]
async fn rejection_shows_violations_on_positions_and_fields() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, version) = approved_plan(&h, &mut customer, "2026").await;
    // ЕИС knows the school under another ИНН, so the ИКУ inside every ИКЗ is wrong for it.
    let school = &plangraf::demo::SCHOOL;
    h.sandbox.directory().ensure_organization(school.spz_code, school.name, "7801999990", school.kpp).await.unwrap();
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;
    let p = drive_to_status(&h, &mut customer, version, "Отклонена ЕИС").await;
    assert!(p.has("IKZ_IKU"), "{}", p.body);
    assert!(p.has(&format!("href=\"/plans/{plan}?tab=positions#pos-0001\"")), "linked to the position");
    assert!(p.has("<td>ИКЗ</td>"), "pinned to the field");
    assert!(p.has("Исправьте ошибки"));
    // The position the link leads to carries the anchor.
    assert!(customer.get(&format!("/plans/{plan}")).await.has("id=\"pos-0001\""));
    h.app.stop().await;
}

#[tokio::test]
async fn bulk_approval_and_bulk_sending() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let mut plans = Vec::new();
    for year in ["2026", "2027"] {
        let plan = customer.create_plan(year).await;
        let mut position = POSITION;
        position[1] = ("publish_year", year);
        customer.add_position(plan, &position).await;
        customer.post(&format!("/plans/{plan}/submit"), &[]).await;
        plans.push(plan);
    }
    // The committee's own plan on approval is not in its approver's queue: nobody approves
    // his own organization's plan.
    let mut committee = h.client();
    committee.login("komitet", "komitet").await;
    let own = committee.create_plan("2026").await;
    committee.add_position(own, &POSITION).await;
    assert!(committee.post(&format!("/plans/{own}/submit"), &[]).await.has("На согласовании"));
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    let list = approver.get("/plans").await;
    assert!(list.has("Утвердить выбранные"));
    let queue = &list.body[list.body.find("id=\"approval-queue\"").unwrap()..];
    let queue = &queue[..queue.find("</table>").unwrap()];
    assert_eq!(queue.matches("type=\"checkbox\"").count(), 2, "{queue}");
    assert!(queue.contains("ГБОУ «Школа № 1»") && !queue.contains("Комитет по образованию"), "{queue}");
    assert!(list.has(&format!("/plans/{own}\">Комитет по образованию")), "the own plan is still listed");
    let p = approver.post("/plans/approve", &[]).await;
    assert!(p.has("Отметьте планы-графики"));
    let (a, b) = (plans[0].to_string(), plans[1].to_string());
    let started = approver.post("/plans/approve", &[("plan", &a), ("plan", &b), ("plan", "999999")]).await;
    let p = approver.job_outcome(started).await;
    assert!(p.has("Утверждено планов-графиков: 2"), "{}", p.body);
    assert!(p.has("План-график 999999 не найден"));
    assert!(p.has("Обработано 3 из 3, успешно 2, отказов 1"), "{}", p.body);
    assert!(p.has("Завершено, есть отказы"), "{}", p.body);
    for plan in &plans {
        assert_eq!(h.app.store.versions(PlanId(*plan)).await.unwrap().len(), 1);
    }

    // Without saved credentials, bulk sending says what to do and sends nothing.
    customer.get("/plans").await;
    let p = customer.post("/sends/bulk", &[]).await;
    assert!(p.has("Сохраните логин и пароль ЕИС"));
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.save_eis_credentials(&login, &password).await;
    customer.get("/plans").await;
    let started = customer.post("/sends/bulk", &[]).await;
    let p = customer.job_outcome(started).await;
    assert!(p.has("Поставлено в очередь на отправку версий: 2"), "{}", p.body);
    assert!(p.has("Обработано 2 из 2, успешно 2, отказов 0") && p.has(">Завершено<"), "{}", p.body);
    let mut versions = Vec::new();
    for plan in &plans {
        versions.push(h.app.store.versions(PlanId(*plan)).await.unwrap()[0].id);
    }
    drive_until(&h, &versions, "Загрузка завершена успешно").await;
    let p = customer.get("/sends").await;
    assert!(p.has("Готово 2 из 2"), "{}", p.body);
    assert_eq!(p.body.matches(">Загрузка завершена успешно<").count(), 2, "{}", p.body);
    // Nothing is sent twice: a second bulk send finds nothing to do.
    customer.get("/plans").await;
    let started = customer.post("/sends/bulk", &[]).await;
    assert!(customer.job_outcome(started).await.has("Неотправленных версий, которые можно отправить сейчас, нет"));
    h.app.stop().await;
}

/// A plan the superior places for the customer under an agreement (role OA): the customer picks
/// OA on the plan, the superior's specialist sends it with the superior's own ЕИС login, the packet
/// names the superior as owner, and ЕИС accepts it only while the agreement is registered.
#[tokio::test]
async fn superior_sends_its_subordinates_plan_as_oa() {
    let h = Harness::start_driven().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2026").await;
    // Who places the plan is said once: by the choice itself, not again as text beside it.
    let p = customer.get(&format!("/plans/{plan}")).await;
    assert_eq!(p.body.matches("Заказчик (CU)").count(), 1, "{}", p.body);
    let row_version = h.app.store.plan(PlanId(plan)).await.unwrap().unwrap().row_version.to_string();
    let p =
        customer.post(&format!("/plans/{plan}/owner"), &[("owner_role", "OA"), ("row_version", &row_version)]).await;
    assert!(p.has("<option value=\"OA\" selected>Вышестоящая организация по соглашению (OA)</option>"), "{}", p.body);
    assert!(p.has("<span id=\"owner-agent\">— Комитет по образованию</span>"), "{}", p.body);
    assert_eq!(p.body.matches("Вышестоящая организация по соглашению (OA)").count(), 1, "{}", p.body);
    assert!(customer.get(&format!("/plans/{plan}?tab=journal")).await.has("Изменено: кто размещает в ЕИС"));
    customer.add_position(plan, &POSITION).await;
    customer.post(&format!("/plans/{plan}/submit"), &[]).await;
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get(&format!("/plans/{plan}")).await;
    assert!(approver.post(&format!("/plans/{plan}/approve"), &[]).await.has("План-график утвержден"));
    let version = h.app.store.versions(PlanId(plan)).await.unwrap()[0].clone();
    let fixed = version.packet.clone().expect("fixed at approval").xml;
    let packet = eis::packet::read_plan_packet(&fixed).unwrap();
    assert_eq!(packet.data.owner_role, eis::packet::OwnerRole::Oa);
    assert_eq!(packet.data.owner_reg_num, plangraf::demo::COMMITTEE.spz_code);
    assert_eq!(packet.data.customer_reg_num, common_spz());

    // The customer no longer sends it; the approver neither (a role that does not send).
    let p = customer.get(&format!("/versions/{}/send", version.id)).await;
    assert_eq!(p.status, 403);
    assert!(p.has("размещает в ЕИС вышестоящая организация"), "{}", p.body);
    assert_eq!(approver.get(&format!("/versions/{}/send", version.id)).await.status, 403);

    // The superior's specialist saves the committee's ЕИС login and sends everything due.
    let mut superior = h.client();
    superior.login("komitet", "komitet").await;
    let (login, password) = h.eis_credentials("eis_komitet").await;
    superior.save_eis_credentials(&login, &password).await;
    superior.get("/plans").await;
    let started = superior.post("/sends/bulk", &[]).await;
    let p = superior.job_outcome(started).await;
    assert!(p.has("Поставлено в очередь на отправку версий: 1"), "{}", p.body);
    let p = drive_to_status(&h, &mut superior, version.id.get(), "Загрузка завершена успешно").await;
    assert!(p.has("зафиксированный при утверждении"), "{}", p.body);
    let sends = h.app.store.sends_for_version(version.id).await.unwrap();
    assert_eq!(sends[0].packet_xml, fixed, "the packet fixed at approval went");
    // Both sides see the send on «Отправки на ООС».
    assert!(superior.get("/sends").await.has("ГБОУ «Школа № 1»"));
    assert!(customer.get("/sends").await.has(">Загрузка завершена успешно<"));

    // Without a registered agreement ЕИС refuses the superior's packet.
    let plan2 = customer.create_plan("2027").await;
    let row_version = h.app.store.plan(PlanId(plan2)).await.unwrap().unwrap().row_version.to_string();
    customer.post(&format!("/plans/{plan2}/owner"), &[("owner_role", "OA"), ("row_version", &row_version)]).await;
    let mut position = POSITION;
    position[1] = ("publish_year", "2027");
    customer.add_position(plan2, &position).await;
    customer.post(&format!("/plans/{plan2}/submit"), &[]).await;
    approver.get(&format!("/plans/{plan2}")).await;
    approver.post(&format!("/plans/{plan2}/approve"), &[]).await;
    let v2 = h.app.store.versions(PlanId(plan2)).await.unwrap()[0].id.get();
    h.sandbox.directory().revoke_powers(common_spz(), plangraf::demo::COMMITTEE.spz_code).await.unwrap();
    superior.get("/plans").await;
    let started = superior.post("/sends/bulk", &[]).await;
    assert!(superior.job_outcome(started).await.has("Поставлено в очередь на отправку версий: 1"));
    let p = drive_to_status(&h, &mut superior, v2, "Отклонена ЕИС").await;
    assert!(p.has("ORG_POWERS") && p.has("не имеет полномочий"), "{}", p.body);
    h.app.stop().await;
}

/// The `<input …>` tag with this id in a page.
fn input_tag<'a>(body: &'a str, id: &str) -> &'a str {
    let key = format!("id=\"{id}\"");
    let at = body.find(&key).unwrap_or_else(|| panic!("no #{id} in page"));
    let start = body[..at].rfind("<input").unwrap_or_else(|| panic!("#{id} is not an input"));
    let end = at + body[at..].find('>').unwrap_or_else(|| panic!("#{id} is not closed"));
    &body[start..=end]
}

/// A refused «Регистрационные данные в ЕИС» form comes back as the person left it: the login
/// typed and «Сменить пароль:» ticked; only the password fields are empty.
#[tokio::test]
async fn settings_form_keeps_the_login_and_the_tick_after_a_refusal() {
    let h = Harness::start().await;
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (login, password) = h.eis_credentials("eis_user").await;
    let p = customer.save_eis_credentials(&login, &password).await;
    assert!(p.has("Регистрационные данные в ЕИС сохранены"));
    // With a password saved the box starts cleared.
    assert!(!input_tag(&p.body, "change_password").contains(" checked"), "{}", p.body);

    let p = customer
        .post(
            "/settings/eis",
            &[("login", "new_login"), ("change_password", "1"), ("password", "первый"), ("password_confirm", "второй")],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(p.has("Пароли не совпадают"));
    assert!(
        input_tag(&p.body, "change_password").contains(" checked"),
        "«Сменить пароль:» should stay ticked: {}",
        p.body
    );
    assert!(input_tag(&p.body, "login").contains("value=\"new_login\""), "the typed login should stay: {}", p.body);
    for field in ["password", "password_confirm"] {
        assert!(!input_tag(&p.body, field).contains("value="), "#{field} should be empty: {}", p.body);
    }
    assert!(!p.has("первый") && !p.has("второй"), "a typed password is never sent back");

    // Without the tick, a typed password is refused and the box stays cleared.
    let p = customer
        .post("/settings/eis", &[("login", "new_login"), ("password", "первый"), ("password_confirm", "первый")])
        .await;
    assert_eq!(p.status, 422);
    assert!(!input_tag(&p.body, "change_password").contains(" checked"), "{}", p.body);
}
