//! Builds the ЕИС packet of a version from its immutable snapshot.

use domain::plan::{ChangeDecision, ChangeMark, PlanSnapshot, Position};
use eis::packet::{
    Decision, KbkAmounts, KvrAmounts, Modification, ModificationStatus, Okpd2, OwnerRole, PacketIndex, PlanData, PlanPacket,
    PlanPacketKind, YearAmounts,
};
use std::collections::BTreeMap;

/// The placed version a change is made against: its content and the registry numbers ЕИС gave
/// its positions.
pub struct Base<'a> {
    pub plan_number: &'a str,
    pub snapshot: &'a PlanSnapshot,
    pub position_numbers: &'a BTreeMap<String, String>,
}

/// Where the packet goes and who sends it.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub sender: String,
    pub receiver: String,
    pub mode: eis::packet::Mode,
}

fn amounts(a: &domain::plan::YearAmounts) -> YearAmounts {
    YearAmounts {
        total: None,
        current_year: a.current.decimal(),
        first_year: a.first.decimal(),
        second_year: a.second.decimal(),
        subsec_years: a.subsequent.decimal(),
    }
}

fn position(plan_id: i64, snapshot: &PlanSnapshot, p: &Position, base: Option<&Base<'_>>) -> eis::packet::Position {
    let org_type = snapshot.customer.org_type;
    let finance = amounts(&p.amounts);
    // The breakdowns must sum to the position's financing per year; with one КВР / one КБК per
    // position in this model, the breakdown is that one code with the full amounts.
    let kvrs = match (&p.kvr, org_type.uses_kvr_breakdown()) {
        (Some(kvr), true) => vec![KvrAmounts { kvr: kvr.as_str().to_owned(), years: finance.clone() }],
        _ => vec![],
    };
    let kbks = match (&p.kbk, org_type.uses_kbk()) {
        (Some(kbk), true) => vec![KbkAmounts { kbk: kbk.clone(), years: finance.clone() }],
        _ => vec![],
    };
    eis::packet::Position {
        position_number: None,
        ext_number: format!("plangraf-{plan_id}-{}", p.purchase_number.padded()),
        ikz: p.ikz(&snapshot.customer.iku).unwrap_or_default(),
        publish_year: p.publish_year,
        iku: Some(snapshot.customer.iku.clone()),
        purchase_number: p.purchase_number.padded(),
        okpd2: Okpd2::Single(p.okpd2.as_str().to_owned()),
        kvr: p.kvr.as_ref().map(|k| k.as_str().to_owned()),
        purchase_object_info: p.object_info.clone(),
        // Mandatory when the notice is planned for the plan year itself.
        public_discussion: (p.publish_year == snapshot.plan_year).then_some(p.public_discussion),
        finance,
        kbks,
        kvrs,
        is_energy_service_contract: false,
        modification: None,
        modification_status: None,
        ..Default::default()
    }
    .marked(p, base)
}

trait Marked {
    fn marked(self, p: &Position, base: Option<&Base<'_>>) -> Self;
}

impl Marked for eis::packet::Position {
    /// In a change packet: the registry number of a placed position, and N or E with the
    /// justification. New positions go without either, as ЕИС takes them as sent.
    fn marked(mut self, p: &Position, base: Option<&Base<'_>>) -> Self {
        let Some(base) = base else { return self };
        let before = base.snapshot.position(p.purchase_number);
        match p.mark(before) {
            ChangeMark::New => {}
            ChangeMark::Unchanged => {
                self.modification_status = Some(ModificationStatus::N);
            }
            ChangeMark::Edited => {
                self.modification_status = Some(ModificationStatus::E);
                self.modification = p.change.as_ref().map(|c| Modification {
                    change_reason_code: c.reason_code.clone(),
                    change_reason_name: c.reason_name.clone(),
                    decision: match c.decision {
                        ChangeDecision::Changed => Decision::Changed,
                        ChangeDecision::Canceled => Decision::Canceled,
                    },
                    description: c.description.clone(),
                    modification_number: None,
                });
            }
        }
        if before.is_some() {
            self.position_number = base.position_numbers.get(&p.purchase_number.padded()).cloned();
        }
        self
    }
}

/// The packet of one version: `tenderPlan2020` for a plan ЕИС has not placed yet, and
/// `tenderPlan2020Change` against the placed `base` version.
pub fn plan_packet(plan_id: i64, version_number: i64, snapshot: &PlanSnapshot, base: Option<&Base<'_>>, envelope: &Envelope) -> PlanPacket {
    let kind = if base.is_some() { PlanPacketKind::Change } else { PlanPacketKind::New };
    let plan_number = base.map(|b| b.plan_number);
    PlanPacket {
        kind,
        index: PacketIndex::new(&envelope.sender, &envelope.receiver, eis::packet::OBJECT_TYPE_TP2020, envelope.mode),
        data: PlanData {
            external_id: format!("plangraf-{plan_id}-v{version_number}"),
            plan_number: plan_number.map(str::to_owned),
            version_number: u32::try_from(version_number).ok(),
            plan_year: snapshot.plan_year,
            first_year: snapshot.plan_year + 1,
            second_year: snapshot.plan_year + 2,
            customer_reg_num: snapshot.customer.spz_code.clone(),
            owner_reg_num: snapshot.customer.spz_code.clone(),
            owner_role: OwnerRole::Cu,
            positions: snapshot.positions.iter().map(|p| position(plan_id, snapshot, p, base)).collect(),
            special_positions: Vec::new(),
            ..Default::default()
        },
    }
}
