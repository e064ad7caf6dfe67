//! Sample packets shared by the test files of this crate.
#![allow(dead_code)]

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
    YearAmounts { current_year: dec(cur), first_year: dec(first), second_year: dec(second), subsec_years: dec(subsec) }
}

/// The ИКЗ of eis-protocol.md §4: year(2) + ИКУ(20) + purchase number(4) + 000 + OKPD2(4) + KVR(3).
pub fn ikz(publish_year: i32, purchase_number: &str, okpd2: &Okpd2, kvr: Option<&str>) -> String {
    let okpd4 = match okpd2 {
        Okpd2::Single(code) => code.chars().filter(|c| c.is_ascii_digit()).take(4).collect::<String>(),
        Okpd2::Undefined(_) => "0000".into(),
    };
    format!("{:02}{IKU}{purchase_number}000{okpd4}{}", publish_year % 100, kvr.unwrap_or("000"))
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
    });
    edited.modification_status = Some(ModificationStatus::E);
    let mut canceled = position_undefined("0002");
    canceled.position_number = Some("202503722001684001000002".into());
    canceled.modification = Some(Modification {
        change_reason_code: "9".into(),
        change_reason_name: String::new(),
        decision: Decision::Canceled,
        description: "Отмена закупки".into(),
    });
    canceled.modification_status = Some(ModificationStatus::E);
    let mut kept = position_single("0003");
    kept.position_number = Some("202503722001684001000003".into());
    kept.modification_status = Some(ModificationStatus::N);
    PlanPacket {
        kind: PlanPacketKind::Change,
        index: index("7d1f0b4e-2a3c-4f5e-8a9b-0c1d2e3f4a5b"),
        data: PlanData {
            external_id: "RIS-PG-2025-0001-v1".into(),
            plan_number: Some("202503722001684001".into()),
            version_number: Some(1),
            positions: vec![edited, canceled, kept],
            ..new_packet().data
        },
    }
}
