//! ЕИС's copy of a plan read back: the positions of an export (what ЕИС publishes) as
//! plangraf's positions, for «Загрузить из ЕИС» and «Сверить с ЕИС», and a version's positions
//! as ЕИС would hold them once placed (through its own packet and back).

use std::collections::BTreeMap;

use domain::ikz::{KvrCode, Okpd2Code, PurchaseNumber};
use domain::money::Money;
use domain::org::OrgType;
use domain::plan::{BudgetLine, ChangeDecision, PlanSnapshot, Position, PositionChange, SpecialPurchase, YearAmounts};
use eis::export::ExportedPlan;
use eis::packet::{Decision, Modification, Okpd2, PlanData};

use crate::build::{self, Envelope};

/// The positions of a plan as ЕИС holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EisCopy {
    pub plan_number: String,
    pub version_number: Option<u32>,
    /// Ordinary and special positions, by purchase number.
    pub positions: Vec<Position>,
    /// ЕИС's registry number of each position, by purchase number (`0001`).
    pub position_numbers: BTreeMap<String, String>,
}

/// ЕИС's copy in an export, as positions of an organization of `org_type`; every position
/// plangraf cannot hold is one Russian line.
pub fn copy_of(export: &ExportedPlan, org_type: OrgType) -> Result<EisCopy, Vec<String>> {
    let Some(plan_number) = export.plan_number().map(str::to_owned) else {
        return Err(vec!["В выгрузке ЕИС нет реестрового номера плана-графика".to_owned()]);
    };
    let (positions, position_numbers) = positions_of(&export.data, org_type)?;
    Ok(EisCopy { plan_number, version_number: export.version_number(), positions, position_numbers })
}

/// A version's positions as ЕИС would hold them once placed: the snapshot through its packet
/// and back. What a packet cannot carry (a public discussion of a notice in a later year, one
/// КВР line equal to the whole) is gone on both sides of a reconciliation, so it is not a
/// difference.
pub fn as_eis_holds(snapshot: &PlanSnapshot, org_type: OrgType) -> Result<Vec<Position>, Vec<String>> {
    let envelope = Envelope { sender: String::new(), receiver: String::new(), mode: eis::packet::Mode::Prod };
    let packet = build::plan_packet(domain::ids::PlanId(0), 0, snapshot, None, &envelope);
    let (mut positions, _) = positions_of(&packet.data, org_type)?;
    // A packet without a base carries no cancellation, but ЕИС keeps a cancelled purchase
    // cancelled (`positionCanceled`) in every version it publishes: so does this side.
    let index = snapshot.index();
    for p in &mut positions {
        if let Some(ours) = index.get(p.purchase_number).filter(|ours| ours.is_canceled()) {
            p.change = ours.change.clone();
        }
    }
    Ok(positions)
}

type Positions = (Vec<Position>, BTreeMap<String, String>);

fn positions_of(data: &PlanData, org_type: OrgType) -> Result<Positions, Vec<String>> {
    let mut errors = Vec::new();
    let mut positions = Vec::with_capacity(data.positions.len() + data.special_positions.len());
    let mut numbers = BTreeMap::new();
    for p in &data.positions {
        let label = label(&p.purchase_number, &p.ikz);
        let okpd2: Vec<&str> = match &p.okpd2 {
            Okpd2::Single(one) => vec![one.as_str()],
            Okpd2::Undefined(many) => many.iter().map(String::as_str).collect(),
        };
        let common = Common {
            purchase_number: &p.purchase_number,
            ikz: &p.ikz,
            kvr: p.kvr.as_deref(),
            finance: &p.finance,
            kbks: p.kbks.iter().map(|l| (l.kbk.as_str(), &l.years)).collect(),
            kvrs: p.kvrs.iter().map(|l| (l.kvr.as_str(), &l.years)).collect(),
            targets: p.target_articles.iter().map(|l| (l.target_article.as_str(), &l.years)).collect(),
            canceled: p.canceled == Some(true),
            modification: p.modification.as_ref(),
        };
        match common.read(org_type, &okpd2) {
            Ok(mut position) => {
                position.publish_year = p.publish_year;
                position.object_info = p.purchase_object_info.clone();
                position.public_discussion = p.public_discussion == Some(true) && p.publish_year == data.plan_year;
                position.energy_service = p.is_energy_service_contract;
                if let Some(n) = &p.position_number {
                    numbers.insert(position.purchase_number.padded(), n.clone());
                }
                positions.push(position);
            }
            Err(why) => errors.push(format!("{label}: {why}")),
        }
    }
    for p in &data.special_positions {
        let label = label(&p.purchase_number, &p.ikz);
        let common = Common {
            purchase_number: &p.purchase_number,
            ikz: &p.ikz,
            kvr: p.kvr.as_deref(),
            finance: &p.finance,
            kbks: p.kbks.iter().map(|l| (l.kbk.as_str(), &l.years)).collect(),
            kvrs: p.kvrs.iter().map(|l| (l.kvr.as_str(), &l.years)).collect(),
            targets: p.target_articles.iter().map(|l| (l.target_article.as_str(), &l.years)).collect(),
            canceled: false,
            modification: p.modification.as_ref(),
        };
        match common.read(org_type, &[]) {
            Ok(mut position) => {
                position.publish_year = p.publish_year;
                position.special =
                    Some(SpecialPurchase { code: p.type_code.clone(), name: p.type_name.clone().unwrap_or_default() });
                if let Some(n) = &p.position_number {
                    numbers.insert(position.purchase_number.padded(), n.clone());
                }
                positions.push(position);
            }
            Err(why) => errors.push(format!("{label}: {why}")),
        }
    }
    positions.sort_by_key(|p| p.purchase_number);
    for pair in positions.windows(2) {
        if pair[0].purchase_number == pair[1].purchase_number {
            errors.push(format!("Номер закупки {} встречается в выгрузке дважды", pair[0].purchase_number.padded()));
        }
    }
    if errors.is_empty() { Ok((positions, numbers)) } else { Err(errors) }
}

fn label(purchase_number: &str, ikz: &str) -> String {
    if ikz.is_empty() { format!("Позиция {purchase_number}") } else { format!("Позиция с ИКЗ {ikz}") }
}

/// What ordinary and special positions share in the export.
struct Common<'a> {
    purchase_number: &'a str,
    ikz: &'a str,
    kvr: Option<&'a str>,
    finance: &'a eis::packet::YearAmounts,
    kbks: Vec<(&'a str, &'a eis::packet::YearAmounts)>,
    kvrs: Vec<(&'a str, &'a eis::packet::YearAmounts)>,
    targets: Vec<(&'a str, &'a eis::packet::YearAmounts)>,
    canceled: bool,
    modification: Option<&'a Modification>,
}

fn amounts(a: &eis::packet::YearAmounts) -> YearAmounts {
    YearAmounts {
        current: Money::from_decimal(a.current_year),
        first: Money::from_decimal(a.first_year),
        second: Money::from_decimal(a.second_year),
        subsequent: Money::from_decimal(a.subsec_years),
    }
}

fn lines(v: &[(&str, &eis::packet::YearAmounts)]) -> Vec<BudgetLine> {
    v.iter().map(|(code, years)| BudgetLine { code: (*code).to_owned(), amounts: amounts(years) }).collect()
}

impl Common<'_> {
    /// The position without what differs by kind (object, year, special kind, flags).
    fn read(&self, org_type: OrgType, okpd2: &[&str]) -> Result<Position, String> {
        // The purchase number is also digits 23–26 of the ИКЗ; an export may omit the element.
        let number_text =
            if self.purchase_number.is_empty() { self.ikz.get(22..26).unwrap_or("") } else { self.purchase_number };
        let purchase_number = number_text
            .parse::<u32>()
            .ok()
            .and_then(|n| PurchaseNumber::new(n).ok())
            .ok_or_else(|| format!("номер закупки «{number_text}» не распознан"))?;
        let okpd2 =
            okpd2.iter().map(|c| Okpd2Code::parse(c)).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
        let kvr = self.kvr.map(KvrCode::parse).transpose().map_err(|e| e.to_string())?;
        let amounts = amounts(self.finance);
        let mut kvrs = if org_type.uses_kvr_breakdown() { lines(&self.kvrs) } else { Vec::new() };
        // One КВР line carrying the whole financing is how the position's own КВР travels.
        if let [one] = kvrs.as_slice()
            && kvr.as_ref().is_some_and(|k| k.as_str() == one.code)
            && one.amounts == amounts
        {
            kvrs.clear();
        }
        let canceled = self.canceled || self.modification.is_some_and(|m| m.decision == Decision::Canceled);
        let change = canceled.then(|| PositionChange {
            reason_code: self.modification.map(|m| m.change_reason_code.clone()).unwrap_or_default(),
            reason_name: self.modification.map(|m| m.change_reason_name.clone()).unwrap_or_default(),
            decision: ChangeDecision::Canceled,
            description: self.modification.map(|m| m.description.clone()).unwrap_or_default(),
        });
        Ok(Position {
            purchase_number,
            publish_year: 0,
            special: None,
            okpd2,
            kvr,
            object_info: String::new(),
            amounts,
            kbks: if org_type.uses_kbk() { lines(&self.kbks) } else { Vec::new() },
            kvrs,
            target_articles: if org_type.uses_kvr_breakdown() { lines(&self.targets) } else { Vec::new() },
            public_discussion: false,
            energy_service: false,
            change,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::plan::SpecialPurchase;
    use domain::testing::{plan, position};

    /// The export ЕИС would publish of `snapshot` once placed: its packet's content with registry
    /// numbers and a plan number.
    fn published(snapshot: &PlanSnapshot) -> ExportedPlan {
        let envelope = Envelope { sender: String::new(), receiver: String::new(), mode: eis::packet::Mode::Prod };
        let mut data = build::plan_packet(domain::ids::PlanId(7), 0, snapshot, None, &envelope).data;
        data.plan_number = Some("202603722001684001".into());
        data.version_number = Some(0);
        for (i, p) in data.positions.iter_mut().enumerate() {
            p.position_number = Some(format!("202603722001684001{:06}", i + 1));
        }
        ExportedPlan::new(data)
    }

    #[test]
    fn a_version_reads_back_from_its_export_for_every_organization_type() {
        for org_type in OrgType::ALL {
            let mut special = position(3, "500");
            special.special = Some(SpecialPurchase {
                code: "P4_1_93".into(),
                name: "Закупки по п. 4 ч. 1 ст. 93".into(),
            });
            special.okpd2.clear();
            special.object_info.clear();
            let mut discussed = position(2, "2000000,10");
            discussed.public_discussion = true;
            let snapshot = plan(org_type, vec![position(1, "1000,50"), discussed, special]);
            let copy = copy_of(&published(&snapshot), org_type).unwrap_or_else(|e| panic!("{org_type:?}: {e:?}"));
            assert_eq!(copy.plan_number, "202603722001684001");
            assert_eq!(copy.positions, as_eis_holds(&snapshot, org_type).unwrap(), "{org_type:?}");
            assert_eq!(copy.positions.len(), 3);
            assert_eq!(copy.position_numbers["0001"], "202603722001684001000001");
            let theirs = &copy.positions[0];
            let ours = &snapshot.positions[0];
            assert_eq!((&theirs.okpd2, &theirs.kvr, theirs.amounts), (&ours.okpd2, &ours.kvr, ours.amounts));
            assert_eq!(copy.positions[2].special.as_ref().map(|s| s.code.as_str()), Some("P4_1_93"));
        }
    }

    #[test]
    fn what_a_packet_cannot_carry_is_lost_on_both_sides() {
        // A public discussion of a notice planned for a later year does not travel.
        let mut later = position(1, "100");
        later.publish_year = 2027;
        later.public_discussion = true;
        let held = as_eis_holds(&plan(OrgType::Budget, vec![later]), OrgType::Budget).unwrap();
        assert!(!held[0].public_discussion);
        // The one КВР line a budget institution's position travels with is its own КВР again.
        assert!(held[0].kvrs.is_empty());
    }

    #[test]
    fn a_cancelled_purchase_is_cancelled_on_both_sides() {
        let mut cancelled = position(2, "200");
        cancelled.change = Some(domain::plan::PositionChange {
            reason_code: "9".into(),
            reason_name: String::new(),
            decision: ChangeDecision::Canceled,
            description: "Не нужна".into(),
        });
        let snapshot = plan(OrgType::Budget, vec![position(1, "100"), cancelled]);
        let held = as_eis_holds(&snapshot, OrgType::Budget).unwrap();
        assert_eq!(held.iter().map(Position::is_canceled).collect::<Vec<_>>(), [false, true]);
        // As ЕИС publishes it in a later version: `positionCanceled`, no justification.
        let mut export = published(&snapshot);
        export.data.positions[1].canceled = Some(true);
        let theirs = copy_of(&export, OrgType::Budget).unwrap().positions;
        let differences = domain::diff::diff(
            &PlanSnapshot { positions: held, ..snapshot.clone() },
            &PlanSnapshot { positions: theirs, ..snapshot },
        );
        assert!(differences.is_empty(), "{differences:?}");
    }

    #[test]
    fn a_cancelled_purchase_stays_cancelled_and_bad_positions_are_named() {
        let snapshot = plan(OrgType::Budget, vec![position(1, "100"), position(2, "200")]);
        let mut export = published(&snapshot);
        export.data.positions[0].canceled = Some(true);
        let copy = copy_of(&export, OrgType::Budget).unwrap();
        assert!(copy.positions[0].is_canceled() && !copy.positions[1].is_canceled());

        // No purchase number element: taken from the ИКЗ.
        export.data.positions[1].purchase_number.clear();
        assert_eq!(copy_of(&export, OrgType::Budget).unwrap().positions[1].purchase_number.get(), 2);
        // The same purchase twice, a code plangraf cannot hold, no plan number: refused, named.
        export.data.positions[1].purchase_number = "0001".into();
        export.data.positions[0].kvr = Some("24".into());
        let lines = copy_of(&export, OrgType::Budget).unwrap_err();
        assert!(lines.iter().any(|l| l.contains("КВР «24»")), "{lines:?}");
        export.data.positions[0].kvr = Some("244".into());
        let lines = copy_of(&export, OrgType::Budget).unwrap_err();
        assert!(lines.iter().any(|l| l.contains("встречается в выгрузке дважды")), "{lines:?}");
        export.data.plan_number = None;
        assert!(copy_of(&export, OrgType::Budget).unwrap_err()[0].contains("реестрового номера"));
    }
}
