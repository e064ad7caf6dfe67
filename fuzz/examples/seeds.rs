//! Writes the seed inputs of every fuzz target with plangraf's own writers:
//! `cargo run --example seeds -- DIR` fills `DIR/<target>/seed-*` (DIR is usually `corpus`).

#[path = "../../crates/eis/tests/samples/mod.rs"]
mod samples;

use std::path::Path;

// Built with the fuzz targets' flags (so nothing is compiled twice), the example needs the
// coverage hooks libFuzzer defines.
extern crate libfuzzer_sys;

use domain::Money;
use eis::docproject::*;
use eis::export::{ExportedPlan, write_export};
use eis::nsi::{Catalog, NsiDocument, Entry, kbk_name, write_nsi};
use eis::packet::{Mode, PacketIndex, write_plan_packet, write_plan_packet_with};
use eis::reply::*;
use eis::Layout;
use samples::*;

fn put(dir: &Path, target: &str, seeds: &[String]) {
    let at = dir.join(target);
    std::fs::create_dir_all(&at).unwrap_or_else(|e| panic!("{}: {e}", at.display()));
    for (i, seed) in seeds.iter().enumerate() {
        let file = at.join(format!("seed-{i:02}"));
        std::fs::write(&file, seed).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}

fn put_bytes(dir: &Path, target: &str, seeds: &[Vec<u8>]) {
    let at = dir.join(target);
    std::fs::create_dir_all(&at).unwrap_or_else(|e| panic!("{}: {e}", at.display()));
    for (i, seed) in seeds.iter().enumerate() {
        let file = at.join(format!("seed-{i:02}"));
        std::fs::write(&file, seed).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}

/// Import files: an exported plan of each breakdown kind (positions, КБК or КВР and target
/// article lines, a special purchase) and an empty template.
fn sheets_seeds() -> Vec<Vec<u8>> {
    use domain::plan::{BudgetLine, SpecialPurchase};
    use domain::OrgType;
    let line = |code: &str, p: &domain::plan::Position| BudgetLine { code: code.into(), amounts: p.amounts };
    let mut kvr = domain::testing::position(1, "1 234,56");
    kvr.kvrs = vec![line("244", &kvr)];
    kvr.target_articles = vec![line("01101S0590", &kvr)];
    let mut special = domain::testing::position(2, "300 000");
    special.special = Some(SpecialPurchase { code: "P4_1_93".into(), name: "п. 4 ч. 1 ст. 93".into() });
    special.okpd2 = vec![];
    let budget = domain::testing::plan(OrgType::Budget, vec![kvr, special]);
    let mut kbk = domain::testing::position(1, "10");
    kbk.kbks = vec![line("07507021234567890244", &kbk)];
    let authority = domain::testing::plan(OrgType::Authority, vec![kbk]);
    vec![
        sheets::plan_workbook(&budget, None, "Версия 1").expect("a workbook"),
        sheets::plan_workbook(&authority, Some(&authority), "Рабочая копия").expect("a workbook"),
        sheets::template_workbook(2026, &budget.customer).expect("a workbook"),
    ]
}

fn entry(code: &str, name: &str, parent: Option<&str>) -> Entry {
    Entry { code: code.into(), name: name.into(), parent_code: parent.map(Into::into), actual: true }
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: seeds DIR");
    let dir = Path::new(&dir);

    let new = write_plan_packet(&new_packet());
    let kept = new.replacen(
        "</int:data>",
        "<x:note xmlns:x=\"urn:example\" xml:lang=\"ru\" x:kind=\"a\">текст<x:part n=\"1\"/></x:note></int:data>",
        1,
    );
    put_bytes(dir, "sheets", &sheets_seeds());
    put_bytes(
        dir,
        "roster",
        &[sheets::roster::template_csv(), sheets::roster::template_xlsx().expect("the template")],
    );
    put(dir, "packet", &[new.clone(), write_plan_packet(&change_packet()), write_plan_packet_with(&new_packet(), Layout::Pretty), kept]);

    let confirmation = |result, violations| Confirmation {
        index: index("b0921248-4f7f-40f2-9d5d-2ad9b60a42f2"),
        load_id: (result == ConfirmationResult::Success).then(|| "81451225".into()),
        result,
        violations,
        load_url: None,
        ref_id: "0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c".into(),
    };
    let violations = vec![
        Violation {
            err_code: "IKZ_YEAR".into(),
            level: ViolationLevel::Error,
            name: "ИКЗ не соответствует году".into(),
            description: Some("Позиция 0001".into()),
        },
        Violation { err_code: "W1".into(), level: ViolationLevel::Warning, name: "Предупреждение".into(), description: None },
    ];
    let mut replies = vec![
        write_confirmation(&confirmation(ConfirmationResult::Success, vec![])),
        write_confirmation(&confirmation(ConfirmationResult::Failure, violations)),
        write_confirmation(&confirmation(ConfirmationResult::Processing, vec![])),
        write_error_info(&ErrorInfo { code: 1001, message: "Неверный логин или пароль".into() }),
        write_error_info(&ErrorInfo { code: 1000, message: "<&>".into() }),
    ];

    let request = DocProjectStatusRequest::new("PLANGRAF", Mode::Test, vec!["6b1f9d3e-1c2a-4f5b-9a7e-0d3c2b1a0f9e".into()]);
    let response = DocProjectStatusResponse {
        index: PacketIndex::new("OOS", "PLANGRAF", OBJECT_TYPE_SM, Mode::Test),
        request_id: request.index.id.clone(),
        statuses: vec![
            DocProjectStatus {
                doc_project_id: "6b1f9d3e-1c2a-4f5b-9a7e-0d3c2b1a0f9e".into(),
                doc_project_confirm_id: Some("0f3c2a8e-5d4b-4c3a-8b2a-1e0d9c8b7a6f".into()),
                state: DocProjectState::Published { published_doc_id: "5d9f0c1e-2b3a-4c5d-8e7f-6a5b4c3d2e1f".into() },
            },
            DocProjectStatus {
                doc_project_id: "0f3c2a8e-5d4b-4c3a-8b2a-1e0d9c8b7a6f".into(),
                doc_project_confirm_id: None,
                state: DocProjectState::NotPublished,
            },
        ],
    };
    replies.extend([write_doc_project_status_request(&request), write_doc_project_status_response(&response)]);
    put(dir, "replies", &replies);

    let mut data = new_packet().data;
    data.id = Some(11071866);
    data.plan_number = Some("202503722001684001".into());
    data.version_number = Some(3);
    for (i, p) in data.positions.iter_mut().enumerate() {
        p.position_number = Some(format!("202503722001684001{:06}", i + 1));
    }
    put(dir, "export", &[write_export(&ExportedPlan::new(data)), write_export(&ExportedPlan::new(change_packet().data))]);

    put(
        dir,
        "nsi",
        &[
            write_nsi(&NsiDocument {
                catalog: Catalog::Okpd2,
                entries: vec![entry("17", "Бумага", None), entry("17.23.1", "Принадлежности канцелярские", Some("17.23"))],
            }),
            write_nsi(&NsiDocument { catalog: Catalog::Kvr, entries: vec![entry("244", "Прочая закупка", None)] }),
            write_nsi(&NsiDocument { catalog: Catalog::ChangeReason, entries: vec![entry("9", "Иные обстоятельства", None)] }),
            write_nsi(&NsiDocument { catalog: Catalog::SpecialPurchase, entries: vec![entry("P4_1_93", "п. 4 ч. 1 ст. 93", None)] }),
            write_nsi(&NsiDocument { catalog: Catalog::Kbk, entries: vec![entry("90107020000000000244", &kbk_name(&["40000000".into()]), None)] }),
        ],
    );

    let money: Vec<String> = ["0", "1", "1234567.89", "999999999999999999.99", "100000.5"]
        .iter()
        .filter_map(|s| Money::parse(s).ok())
        .flat_map(|m| [m.canonical(), m.to_string()])
        .chain(["1 234,56".to_owned(), "-5".to_owned(), "12,3".to_owned()])
        .collect();
    put(dir, "money", &money);

    put(
        dir,
        "codes",
        &[
            "38.11.21.000\n244\n03\n7802139698\n780201001\n2026".to_owned(),
            "01.11.11.111\n000\n10\n780213969878\n780201001\n1".to_owned(),
            "17\n\n12345678\n7802139698\n7802AB001\n".to_owned(),
        ],
    );

    let form = |pairs: &[(&str, &str)]| serde_urlencoded::to_string(pairs).expect("pairs encode");
    put(
        dir,
        "forms",
        &[
            form(&[
                ("publish_year", "2026"),
                ("okpd2", "38.11.21.000"),
                ("kvr", "244"),
                ("object_info", "Услуги по обращению с ТКО"),
                ("amount_current", "100 000,00"),
                ("line_code", "90107020000000000244"),
                ("line_current", "100000"),
                ("line_first", ""),
                ("line_second", ""),
                ("line_subsequent", ""),
                ("public_discussion", "on"),
            ]),
            form(&[
                ("special_type", "P4_1_93"),
                ("publish_year", "2026"),
                ("kvr", "244"),
                ("amount_current", "5000"),
                ("ta_code", "0101"),
                ("ta_current", "5000"),
            ]),
            form(&[
                ("last_name", "Петрова"),
                ("first_name", "Анна"),
                ("middle_name", "Сергеевна"),
                ("position", "контрактный управляющий"),
                ("phone", "+7 (812) 555-01-02"),
            ]),
            form(&[("reason_code", "9"), ("reason_name", "Иные обстоятельства"), ("change_description", "Изменение суммы")]),
        ],
    );
}
