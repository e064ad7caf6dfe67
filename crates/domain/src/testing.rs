//! Sample plan data for tests, here and in the crates above: one customer, a budget school in
//! Saint Petersburg, and positions that pass every pre-flight check. Tests change what they are
//! about on top of these.

use crate::ikz::{Iku, KvrCode, Okpd2Code, PurchaseNumber};
use crate::money::Money;
use crate::org::{Inn, Kpp, OrgType, SpzCode};
use crate::plan::{CustomerSnapshot, PlanSnapshot, Position, YearAmounts};

/// The sample customer's СПЗ code, ИНН and КПП.
pub const SPZ: &str = "03722001684";
pub const INN: &str = "7802139698";
pub const KPP: &str = "780201001";

/// The sample customer, of the given type; its ИКУ is `2` + ИНН + КПП.
pub fn customer(org_type: OrgType) -> CustomerSnapshot {
    CustomerSnapshot {
        name: "ГБОУ «Школа № 1»".into(),
        spz_code: SpzCode::parse(SPZ).expect("a valid СПЗ"),
        inn: Inn::parse(INN).expect("a valid ИНН"),
        kpp: Kpp::parse(KPP).expect("a valid КПП"),
        org_type,
        iku: Some(Iku::parse(&format!("2{INN}{KPP}")).expect("a valid ИКУ")),
    }
}

/// Position `n` of the year 2026: waste removal (ОКПД2 38.11.21.000, КВР 244) for `amount` in
/// the current year (Russian format, `1000,50`), nothing else filled in.
pub fn position(n: u32, amount: &str) -> Position {
    Position {
        purchase_number: PurchaseNumber::new(n).expect("a purchase number from 1 to 999"),
        publish_year: 2026,
        special: None,
        okpd2: vec![Okpd2Code::parse("38.11.21.000").expect("a valid ОКПД2 code")],
        kvr: Some(KvrCode::parse("244").expect("a valid КВР code")),
        object_info: "Вывоз ТКО".into(),
        amounts: YearAmounts { current: Money::parse(amount).expect("an amount"), ..Default::default() },
        kbks: vec![],
        kvrs: vec![],
        target_articles: vec![],
        public_discussion: false,
        energy_service: false,
        change: None,
    }
}

/// The sample customer's plan for 2026 with these positions, no agent, no responsible person.
pub fn plan(org_type: OrgType, positions: Vec<Position>) -> PlanSnapshot {
    PlanSnapshot { plan_year: 2026, customer: customer(org_type), agent: None, responsible: None, positions }
}
