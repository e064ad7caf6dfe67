//! Positions of a plan-schedule created in ЕИС, made in the cabinet over real HTTPS: added,
//! placed, changed and cancelled in «проекты изменений», and exported as ЕИС publishes them.

mod common;

use std::time::Duration;

use common::*;
use eis::packet::{Decision, ModificationStatus, Position, write_plan_packet};
use eis::schemas::{EXPORT_XSD, assert_valid_or_skip};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use sandbox::{CabinetChange, CabinetPosition, SandboxError, VersionState};

/// The id of the plan for `year` in the registry page.
fn plan_id(registry: &str, year: i32) -> String {
    let at = registry.find(&format!("План-график на {year} год")).expect("the plan is listed");
    let rest = &registry[at..];
    let link = rest.find("href=\"/cabinet/plans/").expect("a link") + "href=\"/cabinet/plans/".len();
    rest[link..].split('/').next().unwrap_or_default().to_owned()
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

fn money(s: &str) -> Decimal {
    s.parse().expect("amount")
}

fn by_number<'a>(positions: &'a [Position], n: &str) -> &'a Position {
    positions.iter().find(|p| p.purchase_number == n).unwrap_or_else(|| panic!("no purchase {n}"))
}

fn ikz(year: &str, number: &str, okpd4: &str, kvr: &str) -> String {
    format!("{year}2{ORG_INN}{ORG_KPP}{number}000{okpd4}{kvr}")
}

async fn versions(env: &Env, year: i32) -> Vec<(u32, VersionState, u32)> {
    let plans = env.sandbox.directory().plans(ORG).await.expect("plans");
    let plan = plans.iter().find(|p| p.plan_year == year).expect("the plan");
    plan.versions.iter().map(|v| (v.version_number, v.state, v.position_count)).collect()
}

#[tokio::test]
async fn a_plan_created_in_eis_is_filled_placed_changed_cancelled_and_exported() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    let mut b = Browser::new(&env);
    b.sign_in("spec", "spec-pass").await;
    let (_, registry) = b.get("/cabinet/plans").await;
    let resp = b.post("/cabinet/plans/create", &[("csrf", &csrf(&registry)), ("plan_year", "2025")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, registry) = b.get("/cabinet/plans").await;
    let id = plan_id(&registry, 2025);
    let token = csrf(&registry);

    // «Добавить позицию» on the draft.
    let (status, page) = b.get(&format!("/cabinet/plans/{id}/versions/0")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("/cabinet/plans/{id}/positions/add")) && page.contains("Добавить позицию"));
    let (status, form) = b.get(&format!("/cabinet/plans/{id}/positions/add")).await;
    assert_eq!(status, StatusCode::OK);
    for label in [
        "Наименование объекта закупки",
        "Код ОКПД2",
        "Код вида расходов (КВР)",
        "Планируемый год размещения извещения",
        "на текущий год",
        "на первый год",
        "на второй год",
        "на последующие годы",
    ] {
        assert!(form.contains(label), "{label} missing");
    }
    assert!(!form.contains("Основание внесения изменений"), "a new position needs no justification");
    let add = format!("/cabinet/plans/{id}/positions/add");
    let resp = b
        .post(
            &add,
            &[
                ("csrf", &token),
                ("object_info", "Оказание услуг по обращению с твердыми коммунальными отходами"),
                ("okpd2", "38.11.21.000"),
                ("kvr", "244"),
                ("publish_year", "2025"),
                ("current_year", "148 895,28"),
                ("first_year", "0"),
                ("second_year", ""),
                ("subsequent_years", "0"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", resp.text().await.unwrap_or_default());
    assert_eq!(location(&resp), format!("/cabinet/plans/{id}/versions/0"));
    let resp = b
        .post(
            &add,
            &[
                ("csrf", &token),
                ("object_info", "Поставка бумаги"),
                ("okpd2", "17.12"),
                ("kvr", "247"),
                ("publish_year", "2026"),
                ("current_year", "0"),
                ("first_year", "50000"),
                ("second_year", "50000.5"),
                ("subsequent_years", "0"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(versions(&env, 2025).await, [(0, VersionState::Project, 2)]);
    let (_, page) = b.get(&format!("/cabinet/plans/{id}/versions/0")).await;
    let ikz1 = ikz("25", "0001", "3811", "244");
    let ikz2 = ikz("26", "0002", "1712", "247");
    assert!(page.contains(&ikz1) && page.contains(&ikz2) && page.contains("Поставка бумаги"), "{page}");
    assert!(page.contains("/positions/0001/edit") && !page.contains("/positions/0001/cancel"), "not placed yet");

    // «Разместить» from the version page.
    let resp = b.post(&form_action(&page, "/publish"), &[("csrf", &token)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let plan_number = format!("2025{ORG}001");
    let n = |k: u32| format!("{plan_number}{k:06}");
    let e = env.client.export_by_plan_number(&creds, &plan_number).await.expect("export");
    assert_valid_or_skip("export of a plan made in the cabinet", EXPORT_XSD, &e.raw);
    let d = &e.value.data;
    assert_eq!((d.version_number, d.plan_year), (Some(0), 2025));
    assert!(d.confirm_date.is_some() && d.publish_date.is_some() && d.create_date.is_some());
    assert_eq!(e.value.position_numbers(), [("", Some(n(1).as_str())), ("", Some(n(2).as_str()))]);
    let p1 = by_number(&d.positions, "0001");
    assert_eq!((p1.ikz.as_str(), p1.iku.clone()), (ikz1.as_str(), Some(format!("2{ORG_INN}{ORG_KPP}"))));
    assert_eq!(p1.finance.current_year, money("148895.28"));
    assert_eq!((p1.canceled, p1.public_discussion, p1.kvr.as_deref()), (Some(false), Some(false), Some("244")));
    let p2 = by_number(&d.positions, "0002");
    assert_eq!((p2.ikz.as_str(), p2.publish_year), (ikz2.as_str(), 2026));
    assert_eq!((p2.finance.first_year, p2.finance.second_year), (money("50000"), money("50000.50")));
    assert!(!e.raw.contains("extNumber"), "a position made in ЕИС has no external number");

    // «Изменить» a placed position: the form asks for the justification; without it nothing
    // changes, not even a new version.
    let (_, page) = b.get(&format!("/cabinet/plans/{id}/versions/0")).await;
    assert!(page.contains("/positions/0001/cancel"), "placed: it can be cancelled");
    let (status, form) = b.get(&format!("/cabinet/plans/{id}/positions/0001/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Основание внесения изменений") && form.contains("148895.28"), "{form}");
    let edit = form_action(&form, "/positions/edit");
    let edited = [
        ("csrf", token.as_str()),
        ("purchase_number", "0001"),
        ("object_info", "Оказание услуг по обращению с твердыми коммунальными отходами"),
        ("okpd2", "38.11.21.000"),
        ("kvr", "244"),
        ("publish_year", "2025"),
        ("current_year", "160000"),
        ("first_year", "0"),
        ("second_year", "0"),
        ("subsequent_years", "0"),
        ("change_reason", "9"),
    ];
    let resp = b.post(&edit, &edited).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.expect("body").contains("Описание изменения"));
    assert_eq!(versions(&env, 2025).await, [(0, VersionState::Placed, 2)], "no project was made");

    let mut with_reason = edited.to_vec();
    with_reason.push(("change_description", "Увеличен объем услуг"));
    let resp = b.post(&edit, &with_reason).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), format!("/cabinet/plans/{id}/versions/1"));
    assert_eq!(versions(&env, 2025).await, [(0, VersionState::Placed, 2), (1, VersionState::Project, 2)]);
    let (_, page) = b.get(&format!("/cabinet/plans/{id}/versions/1")).await;
    assert!(page.contains("Изменена") && page.contains("Без изменений") && page.contains(&n(1)), "{page}");
    // The placed version is no longer the one to act on.
    let (_, page0) = b.get(&format!("/cabinet/plans/{id}/versions/0")).await;
    assert!(!page0.contains("/positions/0001/edit"));

    // Placed, version 1: 0001 changed (E, its justification numbered 1), 0002 unchanged.
    assert_eq!(env.sandbox.directory().publish(ORG, 2025).await.expect("placed"), plan_number);
    let e = env.client.export_by_plan_number(&creds, &plan_number).await.expect("export");
    assert_valid_or_skip("export of a change made in the cabinet", EXPORT_XSD, &e.raw);
    let d = &e.value.data;
    assert_eq!(d.version_number, Some(1));
    let p1 = by_number(&d.positions, "0001");
    assert_eq!((p1.position_number.as_deref(), p1.ikz.as_str()), (Some(n(1).as_str()), ikz1.as_str()));
    assert_eq!(p1.finance.current_year, money("160000"));
    assert_eq!(p1.modification_status, Some(ModificationStatus::E));
    let m = p1.modification.as_ref().expect("justification");
    assert_eq!(
        (m.change_reason_code.as_str(), m.decision, m.description.as_str(), m.modification_number),
        ("9", Decision::Changed, "Увеличен объем услуг", Some(1))
    );
    let p2 = by_number(&d.positions, "0002");
    assert_eq!(p2.modification_status, Some(ModificationStatus::N));
    assert_eq!((p2.finance.first_year, p2.ikz.as_str()), (money("50000"), ikz2.as_str()));

    // «Отменить закупку» 0002: a new project, placed from the page, exported cancelled.
    let (status, form) = b.get(&format!("/cabinet/plans/{id}/positions/0002/cancel")).await;
    assert_eq!(status, StatusCode::OK);
    let resp = b
        .post(
            &form_action(&form, "/positions/cancel"),
            &[
                ("csrf", &token),
                ("purchase_number", "0002"),
                ("change_reason", "9"),
                ("change_description", "Закупка не требуется"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, page) = b.get(&location(&resp)).await;
    assert!(page.contains("Закупка отменена") && !page.contains("/positions/0002/edit"), "{page}");
    let resp = b.post(&form_action(&page, "/publish"), &[("csrf", &token)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let e = env.client.export_by_plan_number(&creds, &plan_number).await.expect("export");
    assert_valid_or_skip("export of a cancellation made in the cabinet", EXPORT_XSD, &e.raw);
    let d = &e.value.data;
    assert_eq!(d.version_number, Some(2));
    let p2 = by_number(&d.positions, "0002");
    assert_eq!(p2.canceled, Some(true));
    assert_eq!(
        p2.modification.as_ref().map(|m| (m.decision, m.modification_number)),
        Some((Decision::Canceled, Some(2)))
    );
    let p1 = by_number(&d.positions, "0001");
    assert_eq!((p1.modification_status, p1.finance.current_year), (Some(ModificationStatus::N), money("160000")));
    assert_eq!(e.value.position_numbers(), [("", Some(n(1).as_str())), ("", Some(n(2).as_str()))]);

    // A cancelled purchase is neither changed nor cancelled again.
    let mut again = with_reason.clone();
    again[1] = ("purchase_number", "0002");
    let resp = b.post(&edit, &again).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(resp.text().await.expect("body").contains("отменена"));
    let d = env.sandbox.directory();
    let change = CabinetChange { reason_code: "9".into(), description: "Еще раз".into() };
    assert!(matches!(d.cabinet_cancel_position(ORG, 2025, "0002", change).await, Err(SandboxError::Conflict(_))));
    assert_eq!(versions(&env, 2025).await.len(), 3, "no project was made");
    env.sandbox.shutdown().await;
}

fn position(object_info: &str) -> CabinetPosition {
    CabinetPosition {
        object_info: object_info.into(),
        okpd2: "38.11.21.000".into(),
        kvr: "244".into(),
        publish_year: 2026,
        current_year: money("1000.00"),
        first_year: Decimal::ZERO,
        second_year: Decimal::ZERO,
        subsequent_years: Decimal::ZERO,
    }
}

/// The API the cabinet pages use, as plangraf's tests use it: a position added to a placed plan
/// goes into the next project; invalid input and a plan of a РИС are refused and change nothing.
#[tokio::test]
async fn the_directory_api_adds_changes_and_refuses() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    let spec = creds(&env, "spec").await;
    d.create_plan_directly(ORG, 2026).await.expect("created");
    assert_eq!(d.cabinet_add_position(ORG, 2026, position("Услуги по обращению с ТКО")).await.expect("added"), "0001");
    let plan_number = d.publish(ORG, 2026).await.expect("placed");

    // Added after the placement: into a new project, the placed position carried unchanged.
    assert_eq!(d.cabinet_add_position(ORG, 2026, position("Поставка бумаги")).await.expect("added"), "0002");
    assert_eq!(versions(&env, 2026).await, [(0, VersionState::Placed, 1), (1, VersionState::Project, 2)]);
    let draft = d.version_positions(ORG, 2026, 1).await.expect("draft");
    assert_eq!(draft[0].modification_status, Some(ModificationStatus::N));
    assert_eq!((draft[1].modification_status, draft[1].position_number.as_deref()), (None, None));
    // A position of the project not placed yet is changed without a justification, its ИКЗ
    // following its fields; it cannot be cancelled.
    let changed = CabinetPosition {
        okpd2: "17.12.14".into(), kvr: "247".into(), ..position("Поставка бумаги А4")
    };
    d.cabinet_edit_position(ORG, 2026, "0002", changed, None).await.expect("edited");
    let draft = d.version_positions(ORG, 2026, 1).await.expect("draft");
    assert_eq!(draft[1].ikz, ikz("26", "0002", "1712", "247"));
    let change = || CabinetChange { reason_code: "9".into(), description: "Изменение".into() };
    assert!(matches!(d.cabinet_cancel_position(ORG, 2026, "0002", change()).await, Err(SandboxError::Conflict(_))));
    // A placed one needs the justification.
    assert!(matches!(
        d.cabinet_edit_position(ORG, 2026, "0001", position("x"), None).await,
        Err(SandboxError::Invalid(t)) if t.contains("основание")
    ));
    assert!(matches!(
        d.cabinet_edit_position(ORG, 2026, "0042", position("x"), Some(change())).await,
        Err(SandboxError::NotFound(_))
    ));
    d.publish(ORG, 2026).await.expect("placed");
    let e = env.client.export_by_plan_number(&spec, &plan_number).await.expect("export");
    assert_valid_or_skip("export with a position added by a change", EXPORT_XSD, &e.raw);
    let p = by_number(&e.value.data.positions, "0002");
    assert_eq!(
        (p.position_number.clone(), p.modification_status, p.purchase_object_info.as_str()),
        (Some(format!("{plan_number}000002")), None, "Поставка бумаги А4")
    );

    // Invalid input: refused with a Russian text, nothing changed.
    let before = versions(&env, 2026).await;
    for (bad, says) in [
        (position(""), "Наименование объекта закупки"),
        (CabinetPosition { okpd2: "38.1".into(), ..position("x") }, "ОКПД2"),
        (CabinetPosition { kvr: "2444".into(), ..position("x") }, "КВР"),
        (CabinetPosition { current_year: money("-1"), ..position("x") }, "отрицательной"),
        (CabinetPosition { current_year: Decimal::ZERO, ..position("x") }, "больше нуля"),
        (CabinetPosition { publish_year: 2025, ..position("x") }, "2026–2028"),
        (position(&"я".repeat(2001)), "2000"),
    ] {
        match d.cabinet_add_position(ORG, 2026, bad).await {
            Err(SandboxError::Invalid(t)) => assert!(t.contains(says), "{t}"),
            other => panic!("{says}: {other:?}"),
        }
    }
    assert_eq!(versions(&env, 2026).await, before);

    // A plan integrated from a РИС is refused; no plan is not found.
    let c = send_and_wait(&env, &spec, &write_plan_packet(&packet())).await;
    assert_eq!(c.result, eis::reply::ConfirmationResult::Success, "{:?}", c.violations);
    assert!(matches!(d.cabinet_add_position(ORG, 2025, position("x")).await, Err(SandboxError::Refused(_))));
    assert!(matches!(d.cabinet_cancel_position(ORG, 2025, "0001", change()).await, Err(SandboxError::Refused(_))));
    assert!(matches!(d.cabinet_add_position(ORG, 2030, position("x")).await, Err(SandboxError::NotFound(_))));
    env.sandbox.shutdown().await;
}

async fn post_form(b: &Browser, path: &str, form: Vec<(String, String)>) -> (StatusCode, String) {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let resp = b.post(path, &pairs).await;
    let status = resp.status();
    (status, resp.text().await.expect("body"))
}

#[tokio::test]
async fn the_position_pages_refuse_bad_input_foreign_plans_and_users_without_the_right() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    let spec = creds(&env, "spec").await;
    let c = send_and_wait(&env, &spec, &write_plan_packet(&packet())).await;
    assert_eq!(c.result, eis::reply::ConfirmationResult::Success, "{:?}", c.violations);
    d.create_plan_directly(ORG, 2026).await.expect("created");
    d.cabinet_add_position(ORG, 2026, position("Услуги по обращению с ТКО")).await.expect("added");
    d.publish(ORG, 2026).await.expect("placed");

    let mut b = Browser::new(&env);
    b.sign_in("spec", "spec-pass").await;
    let (_, registry) = b.get("/cabinet/plans").await;
    let token = csrf(&registry);
    let (eis_plan, ris_plan) = (plan_id(&registry, 2026), plan_id(&registry, 2025));
    let add = format!("/cabinet/plans/{eis_plan}/positions/add");
    let fields = |name: &str, okpd2: &str, amount: &str| -> Vec<(String, String)> {
        [
            ("csrf", token.as_str()),
            ("object_info", name),
            ("okpd2", okpd2),
            ("kvr", "244"),
            ("publish_year", "2026"),
            ("current_year", amount),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    };
    let post = |form: Vec<(String, String)>| post_form(&b, &add, form);

    // Bad input: 400 with the Russian text on the form, the typed values kept, nothing changed.
    let before = versions(&env, 2026).await;
    let long = "я".repeat(2001);
    for (form, says) in [
        (fields("", "38.11.21.000", "100"), "Заполните поле «Наименование объекта закупки»"),
        (fields("Бумага", "38.1", "100"), "Код ОКПД2 «38.1» указан неверно"),
        (fields("Бумага", "38.11", "-5"), "не может быть отрицательной"),
        (fields("Бумага", "38.11", "12,345"), "не более двух знаков"),
        (fields("Бумага", "38.11", "сто"), "указана неверно"),
        (fields("Бумага", "38.11", "0"), "больше нуля"),
        (fields(&long, "38.11", "100"), "не должно превышать 2000 символов"),
    ] {
        let (status, page) = post(form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{says}");
        assert!(page.contains(says) && page.contains("class=\"error\""), "{says}: {page}");
    }
    let (_, page) = post(fields("Бумага офисная", "38.1", "100")).await;
    assert!(page.contains("Бумага офисная"), "the typed values are kept");
    let mut bad_year = fields("Бумага", "38.11", "100");
    bad_year[4].1 = "две тысячи".into();
    let (status, page) = post(bad_year).await;
    assert!(status == StatusCode::BAD_REQUEST && page.contains("год размещения извещения"), "{page}");
    // 10 MB in one field: over the form's bound, refused before it is read.
    let huge = fields(&"x".repeat(10 * 1024 * 1024), "38.11", "100");
    let pairs: Vec<(&str, &str)> = huge.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut req = b.http.post(format!("{}{add}", b.base)).header("origin", &b.base).form(&pairs);
    if let Some(c) = &b.cookie {
        req = req.header("cookie", c);
    }
    // The sandbox may answer and close before the client finished sending.
    if let Ok(resp) = req.send().await {
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(resp.text().await.expect("body").contains("Запрос слишком велик"));
    }
    assert_eq!(versions(&env, 2026).await, before, "nothing changed");
    assert_eq!(d.version_positions(ORG, 2026, 0).await.expect("positions").len(), 1);

    // A forged form changes nothing either.
    let mut forged = fields("Бумага", "38.11", "100");
    forged[0].1 = "forged".into();
    assert_eq!(post(forged).await.0, StatusCode::FORBIDDEN);
    assert_eq!(versions(&env, 2026).await, before);

    // A plan integrated from a РИС: refused as before, on every form.
    let ris_refusal = "позиции такого плана-графика создаются и изменяются только в РИС";
    for path in ["positions/add", "positions/0001/edit", "positions/0001/cancel"] {
        let (status, page) = b.get(&format!("/cabinet/plans/{ris_plan}/{path}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains("Редактирование позиции невозможно") && page.contains(ris_refusal), "{page}");
    }
    for action in ["add", "edit", "cancel"] {
        let resp = b
            .post(
                &format!("/cabinet/plans/{ris_plan}/positions/{action}"),
                &[("csrf", &token), ("purchase_number", "0001"), ("object_info", "x")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{action}");
        assert!(resp.text().await.expect("body").contains(ris_refusal));
    }

    // Another organization's plan is not found, to read and to change.
    let mut other = Browser::new(&env);
    other.sign_in("other", "other-pass").await;
    let (_, other_registry) = other.get("/cabinet/plans").await;
    for path in ["positions/add", "positions/0001/edit", "positions/0001/cancel"] {
        let (status, page) = other.get(&format!("/cabinet/plans/{eis_plan}/{path}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.contains("План-график не найден"));
    }
    let resp = other
        .post(&add, &[("csrf", &csrf(&other_registry)), ("object_info", "Чужая"), ("okpd2", "38.11"), ("kvr", "244")])
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Without «Работа с планом-графиком»: 403.
    let mut norights = Browser::new(&env);
    norights.sign_in("norights", "norights-pass").await;
    let (status, page) = norights.get(&add).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Недостаточно прав"));
    let (_, home) = norights.get("/cabinet").await;
    let resp = norights.post(&add, &[("csrf", &csrf(&home)), ("object_info", "x")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // An unknown purchase number is not found.
    let (status, _) = b.get(&format!("/cabinet/plans/{eis_plan}/positions/0042/edit")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let junk = "<b>".repeat(5000);
    let resp = b
        .post(
            &format!("/cabinet/plans/{eis_plan}/positions/cancel"),
            &[("csrf", &token), ("purchase_number", &junk), ("change_reason", "9"), ("change_description", "x")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(!resp.text().await.expect("body").contains("&lt;b&gt;"), "a junk number is not echoed");
    assert_eq!(versions(&env, 2026).await, before);
    env.sandbox.shutdown().await;
}
