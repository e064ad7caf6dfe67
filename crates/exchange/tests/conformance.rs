//! Conformance: packets built from random valid versions — every organization type, from one to
//! two thousand positions, new plans and changes with edits, cancellations and new purchases,
//! with special purchase positions beside them — validate against the official ЕИС schemas
//! 14.1. Without the schemas the test says so and passes without checking.
//!
//! The version snapshot has no special positions yet, so they are added to the built packet
//! here, filled as the organization type requires.

use domain::ikz::{KvrCode, Okpd2Code, PurchaseNumber};
use domain::plan::{ChangeDecision, CustomerSnapshot, PlanSnapshot, Position, PositionChange, YearAmounts};
use domain::{Money, OrgType};
use eis::packet::{Decision, KbkAmounts, KvrAmounts, Modification, ModificationStatus, SpecialPosition, TargetArticleAmounts};
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

prop_compose! {
    fn position(org: OrgType, plan_year: i32, n: u32)(
        year_offset in 0i32..3,
        okpd in "[0-9]{2}\\.[0-9]{2}(\\.[0-9]{2}(\\.[0-9]{3})?)?",
        kvr in "[0-9]{3}",
        object in "[А-Яа-яA-Za-z0-9 ,.«»№&<>\"'-]{1,300}",
        current in money(), first in money(), second in money(), subsequent in money(),
        kbk in "[0-9]{20}", with_kbk in any::<bool>(), discussion in any::<bool>(),
    ) -> Position {
        Position {
            purchase_number: PurchaseNumber::new(n).unwrap(),
            publish_year: plan_year + year_offset,
            okpd2: Okpd2Code::parse(&okpd).unwrap(),
            // Unitary enterprises must leave the КВР undefined; the others carry one.
            kvr: (!org.kvr_must_be_undefined()).then(|| KvrCode::parse(&kvr).unwrap()),
            object_info: if object.trim().is_empty() { "Поставка".into() } else { object.trim().to_owned() },
            amounts: YearAmounts { current: current + Money::parse("1").unwrap(), first, second, subsequent },
            kbk: (org.uses_kbk() && with_kbk).then_some(kbk),
            public_discussion: discussion,
            change: None,
        }
    }
}

fn plan(max_positions: usize) -> impl Strategy<Value = PlanSnapshot> {
    (org_type(), 2024i32..2030, 1..=max_positions).prop_flat_map(|(org, year, count)| {
        let positions: Vec<_> = (1..=count as u32).map(|n| position(org, year, n)).collect();
        (Just(org), Just(year), positions).prop_map(|(org, year, positions)| PlanSnapshot {
            plan_year: year,
            customer: CustomerSnapshot {
                name: "Заказчик".into(),
                spz_code: "03722001001".into(),
                inn: "7801000011".into(),
                kpp: "780101001".into(),
                org_type: org,
                iku: "27801000011780101001".into(),
            },
            positions,
        })
    })
}

/// What varies in one special position.
#[derive(Debug, Clone)]
struct SpecialSeed {
    type_code: String,
    kvr: String,
    kbk: String,
    target_article: String,
    years: [Money; 4],
}

fn special_seed() -> impl Strategy<Value = SpecialSeed> {
    (
        prop_oneof![Just("P4_1_93".to_owned()), "P[0-9]{1,2}_1_93", "[A-Z0-9_]{1,10}"],
        "[0-9]{3}",
        "[0-9]{20}",
        "[0-9A-Z]{10}",
        [money(), money(), money(), money()],
    )
        .prop_map(|(type_code, kvr, kbk, target_article, years)| SpecialSeed { type_code, kvr, kbk, target_article, years })
}

fn years_of(m: &[Money; 4]) -> eis::packet::YearAmounts {
    eis::packet::YearAmounts {
        total: None,
        current_year: m[0].decimal(),
        first_year: m[1].decimal(),
        second_year: m[2].decimal(),
        subsec_years: m[3].decimal(),
    }
}

/// A special position with purchase number `number`, with the blocks the
/// organization type requires: KVR undefined for unitary enterprises; the KVR breakdown (and
/// a target article) for budget and autonomous institutions, and for them only; the KBK
/// breakdown where the type uses KBK. Its ИКЗ has `0000` for the OKPD2 part.
fn special(snapshot: &PlanSnapshot, number: u32, seed: &SpecialSeed) -> SpecialPosition {
    let org = snapshot.customer.org_type;
    let kvr = (!org.kvr_must_be_undefined()).then(|| seed.kvr.clone());
    let finance = years_of(&seed.years);
    let purchase_number = format!("{number:04}");
    SpecialPosition {
        type_code: seed.type_code.clone(),
        type_name: None,
        position_number: None,
        ext_number: format!("plangraf-7-special-{purchase_number}"),
        ikz: format!(
            "{:02}{}{purchase_number}0000000{}",
            snapshot.plan_year % 100,
            snapshot.customer.iku,
            kvr.as_deref().unwrap_or("000")
        ),
        publish_year: snapshot.plan_year,
        iku: Some(snapshot.customer.iku.clone()),
        kvr: kvr.clone(),
        purchase_number,
        kbks: if org.uses_kbk() { vec![KbkAmounts { kbk: seed.kbk.clone(), years: finance.clone() }] } else { vec![] },
        kvrs: match (&kvr, org.uses_kvr_breakdown()) {
            (Some(k), true) => vec![KvrAmounts { kvr: k.clone(), years: finance.clone() }],
            _ => vec![],
        },
        target_articles: if org.uses_kvr_breakdown() {
            vec![TargetArticleAmounts { target_article: seed.target_article.clone(), years: finance.clone() }]
        } else {
            vec![]
        },
        finance,
        ..Default::default()
    }
}

/// Special positions take purchase numbers from 9001 on, clear of the positions' (at most
/// 2,001 here): purchase numbers are unique across both kinds.
const FIRST_SPECIAL: u32 = 9001;

fn specials(snapshot: &PlanSnapshot, seeds: &[SpecialSeed]) -> Vec<SpecialPosition> {
    seeds.iter().enumerate().map(|(i, s)| special(snapshot, FIRST_SPECIAL + i as u32, s)).collect()
}

/// The special positions of a change over `placed`: every other one edited (with its required
/// justification), the rest unchanged, and one new.
fn changed_specials(placed: &[SpecialPosition], new: SpecialPosition) -> Vec<SpecialPosition> {
    let mut out: Vec<SpecialPosition> = placed
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut p = p.clone();
            p.position_number = Some(format!("202603722001001001{:06}", p.purchase_number.parse::<u32>().unwrap()));
            if i % 2 == 0 {
                p.finance.first_year += rust_decimal::Decimal::ONE_HUNDRED;
                for k in &mut p.kbks {
                    k.years = p.finance.clone();
                }
                for k in &mut p.kvrs {
                    k.years = p.finance.clone();
                }
                for t in &mut p.target_articles {
                    t.years = p.finance.clone();
                }
                p.modification_status = Some(ModificationStatus::E);
                p.modification = Some(Modification {
                    change_reason_code: "9".into(),
                    change_reason_name: "Возникновение иных обстоятельств".into(),
                    decision: if i % 4 == 0 { Decision::Changed } else { Decision::Canceled },
                    description: "Обоснование изменения".into(),
                    modification_number: None,
                });
            } else {
                p.modification_status = Some(ModificationStatus::N);
            }
            p
        })
        .collect();
    out.push(new);
    out
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
    fn new_and_change_packets_validate(
        snapshot in plan(40),
        seeds in proptest::collection::vec(special_seed(), 0..4),
        extra in special_seed(),
        seed in any::<u64>(),
    ) {
        let mut packet = plan_packet(7, 0, &snapshot, None, &envelope());
        packet.data.special_positions = specials(&snapshot, &seeds);
        prop_assert!(packet.problems().is_empty(), "{:?}", packet.problems());
        assert_valid(&eis::packet::write_plan_packet(&packet))?;

        let numbers: BTreeMap<String, String> = snapshot
            .positions
            .iter()
            .map(|p| (p.purchase_number.padded(), format!("202603722001001001{:06}", p.purchase_number.get())))
            .collect();
        let base = Base { plan_number: "202603722001001001", snapshot: &snapshot, position_numbers: &numbers };
        let next = changed(&snapshot, seed);
        let mut change = plan_packet(7, 1, &next, Some(&base), &envelope());
        prop_assert_eq!(change.kind, eis::packet::PlanPacketKind::Change);
        let new_special = special(&next, FIRST_SPECIAL + seeds.len() as u32, &extra);
        change.data.special_positions = changed_specials(&packet.data.special_positions, new_special);
        prop_assert!(change.problems().is_empty(), "{:?}", change.problems());
        assert_valid(&eis::packet::write_plan_packet(&change))?;
    }

    /// A plan of special positions only is a valid plan too.
    #[test]
    fn packets_of_special_positions_only_validate(
        snapshot in plan(1),
        seeds in proptest::collection::vec(special_seed(), 1..6),
    ) {
        let mut packet = plan_packet(7, 0, &snapshot, None, &envelope());
        packet.data.special_positions = specials(&snapshot, &seeds);
        packet.data.positions.clear();
        assert_valid(&eis::packet::write_plan_packet(&packet))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    /// Large plans: up to 2,000 positions.
    #[test]
    fn large_packets_validate(snapshot in plan(2000), seeds in proptest::collection::vec(special_seed(), 0..20)) {
        let mut packet = plan_packet(7, 0, &snapshot, None, &envelope());
        packet.data.special_positions = specials(&snapshot, &seeds);
        assert_valid(&eis::packet::write_plan_packet(&packet))?;
    }
}

#[test]
fn the_test_sees_what_it_checks() {
    // Guards the property tests above: the built packets do carry special positions in the
    // document, each organization type gets its blocks, and a broken one is caught.
    let org_types = domain::OrgType::ALL;
    for org in org_types {
        let snapshot = PlanSnapshot {
            plan_year: 2026,
            customer: CustomerSnapshot {
                name: "Заказчик".into(),
                spz_code: "03722001001".into(),
                inn: "7801000011".into(),
                kpp: "780101001".into(),
                org_type: org,
                iku: "27801000011780101001".into(),
            },
            positions: vec![],
        };
        let seed = SpecialSeed {
            type_code: "P4_1_93".into(),
            kvr: "244".into(),
            kbk: "80707020110000190244".into(),
            target_article: "026E120620".into(),
            years: [Money::parse("100").unwrap(), Money::parse("0").unwrap(), Money::parse("0").unwrap(), Money::parse("0").unwrap()],
        };
        let mut packet = plan_packet(7, 0, &snapshot, None, &envelope());
        packet.data.special_positions = specials(&snapshot, &[seed]);
        let xml = eis::packet::write_plan_packet(&packet);
        assert!(xml.contains("<tp:specialPurchasePosition><tp:type><tp:code>P4_1_93</tp:code></tp:type>"), "{xml}");
        assert!(xml.contains("<tp:IKZ>262780100001178010100190010000000"), "year 26, ИКУ, 9001, 000, 0000: {xml}");
        assert_eq!(xml.contains("<tp:KVRsInfo>"), org.uses_kvr_breakdown(), "{org:?}");
        assert_eq!(xml.contains("<tp:KBKsInfo>"), org.uses_kbk(), "{org:?}");
        assert_eq!(xml.contains("<tp:undefined>000</tp:undefined>"), org.kvr_must_be_undefined(), "{org:?}");
        assert_valid(&xml).unwrap_or_else(|e| panic!("{org:?}: {e}"));
        if schemas().is_some() {
            let broken = xml.replacen("<tp:purchaseNumber>9001</tp:purchaseNumber>", "<tp:purchaseNumber>1</tp:purchaseNumber>", 1);
            assert_ne!(broken, xml);
            assert!(assert_valid(&broken).is_err(), "{org:?}");
        }
    }
}
