//! Sample packets shared by the test files of this crate.
#![allow(dead_code, reason = "shared by several test binaries; each uses a part")]

use chrono::{DateTime, FixedOffset};
use eis::packet::*;
use rust_decimal::Decimal;

pub const ORG_REG_NUM: &str = "03722001684";
/// 1 digit of level + INN + KPP of the sample organization.
pub const IKU: &str = "27802139698780201001";

pub fn dec(s: &str) -> Decimal {
    s.parse().expect("test decimal")
}

pub fn years(cur: &str, first: &str, second: &str, subsec: &str) -> YearAmounts {
    YearAmounts {
        total: None,
        current_year: dec(cur),
        first_year: dec(first),
        second_year: dec(second),
        subsec_years: dec(subsec),
    }
}

/// The ИКЗ of eis-protocol.md §4: year(2) + ИКУ(20) + purchase number(4) + 000 + OKPD2(4) + KVR(3).
pub fn ikz(publish_year: i32, purchase_number: &str, okpd2: &Okpd2, kvr: Option<&str>) -> String {
    let okpd4 = match okpd2 {
        Okpd2::Single(code) => code.chars().filter(|c| c.is_ascii_digit()).take(4).collect::<String>(),
        Okpd2::Undefined(_) => "0000".into(),
    };
    format!("{:02}{IKU}{purchase_number}000{okpd4}{}", publish_year % 100, kvr.unwrap_or("000"))
}

/// The ИКЗ of a special position: no OKPD2, so digits 30–33 are `0000`.
pub fn special_ikz(publish_year: i32, purchase_number: &str, kvr: Option<&str>) -> String {
    format!("{:02}{IKU}{purchase_number}0000000{}", publish_year % 100, kvr.unwrap_or("000"))
}

pub fn index(id: &str) -> PacketIndex {
    PacketIndex {
        id: id.into(),
        sender: "PLANGRAF".into(),
        receiver: "OOS".into(),
        create_date_time: DateTime::<FixedOffset>::parse_from_rfc3339("2025-01-15T10:00:00+03:00").expect("date"),
        object_type: "TP2020".into(),
        mode: Mode::Test,
    }
}

pub fn position_single(purchase_number: &str) -> Position {
    let okpd2 = Okpd2::Single("38.11.21.000".into());
    Position {
        position_number: None,
        ext_number: format!("RIS-POS-{purchase_number}"),
        ikz: ikz(2025, purchase_number, &okpd2, Some("244")),
        publish_year: 2025,
        iku: Some(IKU.into()),
        purchase_number: purchase_number.into(),
        okpd2,
        kvr: Some("244".into()),
        purchase_object_info: "Услуги по обращению с ТКО <сбор & вывоз>".into(),
        public_discussion: Some(false),
        finance: years("148895.28", "0", "0", "0"),
        kbks: vec![],
        kvrs: vec![KvrAmounts { kvr: "244".into(), years: years("148895.28", "0", "0", "0") }],
        is_energy_service_contract: false,
        modification: None,
        modification_status: None,
        ..Default::default()
    }
}

pub fn position_undefined(purchase_number: &str) -> Position {
    let okpd2 = Okpd2::Undefined(vec!["17.12.14.110".into(), "22.29.25.000".into()]);
    Position {
        position_number: None,
        ext_number: format!("RIS-POS-{purchase_number}"),
        ikz: ikz(2026, purchase_number, &okpd2, None),
        publish_year: 2026,
        iku: None,
        purchase_number: purchase_number.into(),
        okpd2,
        kvr: None,
        purchase_object_info: "Канцелярские товары".into(),
        public_discussion: None,
        finance: years("0", "1000.5", "2000", "0"),
        kbks: vec![
            KbkAmounts { kbk: "80707020110000190244".into(), years: years("0", "500.5", "1000", "0") },
            KbkAmounts { kbk: "80707020110000190243".into(), years: years("0", "500", "1000", "0") },
        ],
        kvrs: vec![],
        is_energy_service_contract: true,
        modification: None,
        modification_status: None,
        ..Default::default()
    }
}

/// A special position of п. 4 ч. 1 ст. 93 as a budget institution plans it: one KVR with its
/// breakdown and a target article.
pub fn special_small(purchase_number: &str) -> SpecialPosition {
    SpecialPosition {
        type_code: "P4_1_93".into(),
        type_name: Some("Закупки в соответствии с п. 4 ч. 1 ст. 93 Федерального закона № 44-ФЗ".into()),
        position_number: None,
        ext_number: format!("RIS-SP-{purchase_number}"),
        ikz: special_ikz(2025, purchase_number, Some("244")),
        publish_year: 2025,
        iku: Some(IKU.into()),
        kvr: Some("244".into()),
        purchase_number: purchase_number.into(),
        finance: years("680121.83", "0", "0", "0"),
        kbks: vec![],
        kvrs: vec![KvrAmounts { kvr: "244".into(), years: years("680121.83", "0", "0", "0") }],
        target_articles: vec![TargetArticleAmounts {
            target_article: "026E120620".into(),
            years: years("11357.59", "0", "0", "0"),
        }],
        modification: None,
        modification_status: None,
        kept: Kept::default(),
    }
}

/// A special position as an authority plans it: KVR undefined, a KBK breakdown.
pub fn special_kbk(purchase_number: &str) -> SpecialPosition {
    SpecialPosition {
        type_code: "P5_1_93".into(),
        type_name: None,
        ext_number: format!("RIS-SP-{purchase_number}"),
        ikz: special_ikz(2026, purchase_number, None),
        publish_year: 2026,
        iku: None,
        kvr: None,
        purchase_number: purchase_number.into(),
        finance: years("100", "200.5", "0", "0"),
        kbks: vec![KbkAmounts { kbk: "80707020110000190244".into(), years: years("100", "200.5", "0", "0") }],
        ..Default::default()
    }
}

pub fn new_packet() -> PlanPacket {
    PlanPacket {
        kind: PlanPacketKind::New,
        index: index("0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c"),
        data: PlanData {
            external_id: "RIS-PG-2025-0001".into(),
            plan_number: None,
            version_number: Some(0),
            plan_year: 2025,
            first_year: 2026,
            second_year: 2027,
            customer_reg_num: ORG_REG_NUM.into(),
            owner_reg_num: ORG_REG_NUM.into(),
            owner_role: OwnerRole::Cu,
            positions: vec![position_single("0001"), position_undefined("0002")],
            special_positions: vec![special_small("0003"), special_kbk("0004")],
            ..Default::default()
        },
    }
}

pub fn change_packet() -> PlanPacket {
    let mut edited = position_single("0001");
    edited.position_number = Some("202503722001684001000001".into());
    edited.finance = years("150000.00", "0", "0", "0");
    edited.kvrs[0].years = edited.finance.clone();
    edited.modification = Some(Modification {
        change_reason_code: "9".into(),
        change_reason_name: "Возникновение иных обстоятельств".into(),
        decision: Decision::Changed,
        description: "Изменение суммы".into(),
        modification_number: None,
    });
    edited.modification_status = Some(ModificationStatus::E);
    let mut canceled = position_undefined("0002");
    canceled.position_number = Some("202503722001684001000002".into());
    canceled.modification = Some(Modification {
        change_reason_code: "9".into(),
        change_reason_name: String::new(),
        decision: Decision::Canceled,
        description: "Отмена закупки".into(),
        modification_number: None,
    });
    canceled.modification_status = Some(ModificationStatus::E);
    let mut kept = position_single("0005");
    kept.position_number = Some("202503722001684001000003".into());
    kept.modification_status = Some(ModificationStatus::N);
    let mut special_edited = special_small("0003");
    special_edited.position_number = Some("202503722001684001000004".into());
    special_edited.finance = years("700000", "0", "0", "0");
    special_edited.kvrs[0].years = special_edited.finance.clone();
    special_edited.modification = Some(Modification {
        change_reason_code: "9".into(),
        change_reason_name: "Возникновение иных обстоятельств".into(),
        decision: Decision::Changed,
        description: "Увеличение суммы закупок малого объема".into(),
        modification_number: None,
    });
    special_edited.modification_status = Some(ModificationStatus::E);
    let mut special_kept = special_kbk("0004");
    special_kept.position_number = Some("202503722001684001000005".into());
    special_kept.modification_status = Some(ModificationStatus::N);
    PlanPacket {
        kind: PlanPacketKind::Change,
        index: index("7d1f0b4e-2a3c-4f5e-8a9b-0c1d2e3f4a5b"),
        data: PlanData {
            external_id: "RIS-PG-2025-0001-v1".into(),
            plan_number: Some("202503722001684001".into()),
            version_number: Some(1),
            positions: vec![edited, canceled, kept],
            special_positions: vec![special_edited, special_kept, special_small("0006")],
            ..new_packet().data
        },
    }
}
