//! Builds the ЕИС packet of a version from its immutable snapshot.

use domain::plan::{PlanSnapshot, Position};
use eis::packet::{
    KbkAmounts, KvrAmounts, ModificationStatus, Okpd2, OwnerRole, PacketIndex, PlanData, PlanPacket, PlanPacketKind,
    YearAmounts,
};

/// Where the packet goes and who sends it.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub sender: String,
    pub receiver: String,
    pub mode: eis::packet::Mode,
}

fn amounts(a: &domain::plan::YearAmounts) -> YearAmounts {
    YearAmounts {
        current_year: a.current.decimal(),
        first_year: a.first.decimal(),
        second_year: a.second.decimal(),
        subsec_years: a.subsequent.decimal(),
    }
}

fn position(plan_id: i64, snapshot: &PlanSnapshot, p: &Position, change: bool) -> eis::packet::Position {
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
        modification_status: change.then_some(ModificationStatus::N),
    }
}

/// The packet of one version: `tenderPlan2020` while ЕИС has no plan number, and
/// `tenderPlan2020Change` once it has one.
pub fn plan_packet(
    plan_id: i64,
    version_number: i64,
    snapshot: &PlanSnapshot,
    plan_number: Option<&str>,
    envelope: &Envelope,
) -> PlanPacket {
    let kind = if plan_number.is_some() { PlanPacketKind::Change } else { PlanPacketKind::New };
    let change = kind == PlanPacketKind::Change;
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
            positions: snapshot.positions.iter().map(|p| position(plan_id, snapshot, p, change)).collect(),
        },
    }
}
