//! Conformance: packets built from random valid versions — every organization type, from one to
//! two thousand positions, new plans and changes with edits, cancellations and new purchases —
//! with special purchases among them — validate against the official ЕИС schemas 14.1. Without the schemas the test says so and
//! passes without checking.

use domain::ids::PlanId;
use domain::ikz::{KvrCode, Okpd2Code, PurchaseNumber};
use domain::plan::{
    AgentSnapshot, BudgetLine, ChangeDecision, CustomerSnapshot, PlanSnapshot, Position, PositionChange,
    SpecialPurchase, YearAmounts,
};
use domain::{Money, OrgType};
use eis::validate::{Root, SchemaSet};
use exchange::build::{Base, Envelope, plan_packet};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn schemas() -> Option<&'static SchemaSet> {
    static SET: OnceLock<Option<SchemaSet>> = OnceLock::new();
    SET.get_or_init(|| match eis::schemas::locate() {
        Some(dir) => Some(SchemaSet::compile(&dir, Root::Integration).expect("the official schemas compile")),
        None => {
            eprintln!("SKIPPED: packet conformance (no ЕИС schemas; set PLANGRAF_EIS_SCHEMAS)");
            None
        }
    })
    .as_ref()
}

fn money() -> impl Strategy<Value = Money> {
    (0i64..=99_999_999_999).prop_map(|kopecks| Money::from_decimal(rust_decimal::Decimal::new(kopecks, 2)))
}

fn org_type() -> impl Strategy<Value = OrgType> {
    prop::sample::select(OrgType::ALL.to_vec())
}

fn amounts() -> impl Strategy<Value = YearAmounts> {
    (money(), money(), money(), money()).prop_map(|(current, first, second, subsequent)| YearAmounts {
        current: current + Money::parse("1").unwrap(),
        first,
        second,
        subsequent,
    })
}

prop_compose! {
    fn position(org: OrgType, plan_year: i32, n: u32)(
        year_offset in 0i32..3,
        okpd in prop::collection::vec("[0-9]{2}\\.[0-9]{2}(\\.[0-9]{2}(\\.[0-9]{3})?)?", 1..4),
        kvr in "[0-9]{3}",
        object in "[А-Яа-яA-Za-z0-9 ,.«»№&<>\"'-]{1,300}",
        line_amounts in prop::collection::vec(amounts(), 0..4),
        line_codes in prop::collection::vec(("[0-9]{20}", "[0-9]{3}"), 3),
        target_article in "[0-9A-Z]{10}", with_targets in any::<bool>(),
        discussion in any::<bool>(), energy in any::<bool>(),
        // About one position in four is a special purchase.
        special in prop::sample::select(vec![None, None, None, Some("P4_1_93"), Some("P5_1_93")]),
    ) -> Position {
        let mut okpd2: Vec<Okpd2Code> = okpd.iter().map(|c| Okpd2Code::parse(c).unwrap()).collect();
        okpd2.dedup();
        // Breakdown lines with distinct codes; the position's financing is their sum.
        let lines: Vec<BudgetLine> = line_amounts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let (kbk, kvr) = &line_codes[i % 3];
                let code = if org.uses_kbk() { kbk.clone() } else { format!("{:03}", (kvr.parse::<u32>().unwrap() + i as u32) % 1000) };
                BudgetLine { code, amounts: *a }
            })
            .collect();
        let total = lines.iter().fold(YearAmounts::default(), |acc, l| acc + l.amounts);
        let with_lines = !lines.is_empty() && (org.uses_kbk() || org.uses_kvr_breakdown());
        let several_kvrs = org.uses_kvr_breakdown() && lines.len() > 1;
        let amounts = if with_lines { total } else { line_amounts.first().copied().unwrap_or(YearAmounts { current: Money::parse("1").unwrap(), ..Default::default() }) };
        // Above 1 bn roubles public discussion is mandatory (a pre-flight rule).
        let big = amounts.total() > Money::parse("1000000000").unwrap();
        let special = special.map(|code| SpecialPurchase { code: code.into(), name: "Закупки в соответствии с ч. 1 ст. 93".into() });
        let is_special = special.is_some();
        Position {
            purchase_number: PurchaseNumber::new(n).unwrap(),
            publish_year: plan_year + year_offset,
            okpd2: if is_special { vec![] } else { okpd2 },
            special,
            // Unitary enterprises must leave the КВР undefined, and so must a position whose
            // breakdown has several КВР; the others carry one.
            kvr: match (org.kvr_must_be_undefined() || several_kvrs, org.uses_kvr_breakdown() && with_lines) {
                (true, _) => None,
                (false, true) => Some(KvrCode::parse(&lines[0].code).unwrap()),
                (false, false) => Some(KvrCode::parse(&kvr).unwrap()),
            },
            object_info: if object.trim().is_empty() { "Поставка".into() } else { object.trim().to_owned() },
            amounts,
            kbks: if org.uses_kbk() && with_lines { lines.clone() } else { vec![] },
            kvrs: if org.uses_kvr_breakdown() && with_lines { lines } else { vec![] },
            // One target article carrying the whole financing, for types 03 and 10.
            target_articles: if org.uses_kvr_breakdown() && with_targets {
                vec![BudgetLine { code: target_article, amounts }]
            } else {
                vec![]
            },
            public_discussion: (discussion || big) && year_offset == 0 && !is_special,
            energy_service: energy && !is_special,
            change: None,
        }
    }
}

fn plan(max_positions: usize) -> impl Strategy<Value = PlanSnapshot> {
    (org_type(), 2024i32..2030, 1..=max_positions).prop_flat_map(|(org, year, count)| {
        let positions: Vec<_> = (1..=count as u32).map(|n| position(org, year, n)).collect();
        (Just(org), Just(year), positions, any::<bool>()).prop_map(|(org, year, positions, by_agent)| PlanSnapshot {
            plan_year: year,
            customer: CustomerSnapshot {
                name: "Заказчик".into(),
                spz_code: domain::SpzCode::parse("03722001001").unwrap(),
                inn: domain::org::Inn::parse("7801000011").unwrap(),
                kpp: domain::org::Kpp::parse("780101001").unwrap(),
                org_type: org,
                iku: domain::ikz::Iku::parse("27801000011780101001").ok(),
            },
            // Role OA: the superior places the plan, and its ИКУ goes into the ИКЗ.
            agent: by_agent.then(|| AgentSnapshot {
                name: "Комитет".into(),
                spz_code: domain::SpzCode::parse("03722000010").unwrap(),
                iku: domain::ikz::Iku::parse("27830000426784001001").ok(),
            }),
            responsible: None,
            positions,
        })
    })
}

fn envelope() -> Envelope {
    Envelope { sender: "PLANGRAF".into(), receiver: "OOS".into(), mode: eis::packet::Mode::Test }
}

fn assert_valid(xml: &str) -> Result<(), TestCaseError> {
    if let Some(set) = schemas()
        && let Err(issues) = set.validate(xml)
    {
        let shown: Vec<String> = issues.iter().take(5).map(ToString::to_string).collect();
        return Err(TestCaseError::fail(format!("{} schema issues: {}", issues.len(), shown.join("; "))));
    }
    Ok(())
}

/// A change round over `base`: some positions edited, some cancelled, some new.
fn changed(base: &PlanSnapshot, seed: u64) -> PlanSnapshot {
    let mut next = base.clone();
    let reason = |decision| PositionChange {
        reason_code: "9".into(),
        reason_name: "Возникновение иных обстоятельств".into(),
        decision,
        description: "Обоснование изменения".into(),
    };
    for (i, p) in next.positions.iter_mut().enumerate() {
        match (seed as usize + i) % 4 {
            0 => {
                p.amounts.first = p.amounts.first + Money::parse("100").unwrap();
                p.change = Some(reason(ChangeDecision::Changed));
            }
            1 => p.change = Some(reason(ChangeDecision::Canceled)),
            _ => {}
        }
    }
    let mut extra = next.positions[0].clone();
    extra.purchase_number = PurchaseNumber::new(next.positions.len() as u32 + 1).unwrap();
    extra.change = None;
    next.positions.push(extra);
    next
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn new_and_change_packets_validate(snapshot in plan(40), seed in any::<u64>()) {
        // The generator makes versions plangraf would approve.
        prop_assert_eq!(domain::preflight(&snapshot, None), vec![]);
        let packet = plan_packet(PlanId(7), 0, &snapshot, None, &envelope());
        prop_assert!(packet.problems().is_empty(), "{:?}", packet.problems());
        assert_valid(&eis::packet::write_plan_packet(&packet))?;

        let numbers: BTreeMap<String, String> = snapshot
            .positions
            .iter()
            .map(|p| (p.purchase_number.padded(), format!("202603722001001001{:06}", p.purchase_number.get())))
            .collect();
        let base = Base { plan_number: "202603722001001001", snapshot: &snapshot, position_numbers: &numbers };
        let next = changed(&snapshot, seed);
        let change = plan_packet(PlanId(7), 1, &next, Some(&base), &envelope());
        prop_assert_eq!(change.kind, eis::packet::PlanPacketKind::Change);
        prop_assert!(change.problems().is_empty(), "{:?}", change.problems());
        let specials = next.positions.iter().filter(|p| p.is_special()).count();
        prop_assert_eq!(change.data.special_positions.len(), specials);
        prop_assert_eq!(change.data.positions.len() + specials, next.positions.len());
        assert_valid(&eis::packet::write_plan_packet(&change))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    /// Large plans: up to 2,000 positions.
    #[test]
    fn large_packets_validate(snapshot in plan(2000)) {
        let packet = plan_packet(PlanId(7), 0, &snapshot, None, &envelope());
        assert_valid(&eis::packet::write_plan_packet(&packet))?;
    }
}
