//! Builds the ЕИС packet of a version from its immutable snapshot.

use domain::ids::PlanId;
use domain::plan::{ChangeDecision, ChangeMark, PlanSnapshot, Position, PositionIndex};
use eis::packet::{
    Decision, KbkAmounts, KvrAmounts, Modification, ModificationStatus, Okpd2, OwnerRole, PacketIndex, PlanData,
    PlanPacket, PlanPacketKind, TargetArticleAmounts, YearAmounts,
};
use std::collections::BTreeMap;

/// The placed version a change is made against: its content and the registry numbers ЕИС gave
/// its positions.
pub struct Base<'a> {
    pub plan_number: &'a str,
    pub snapshot: &'a PlanSnapshot,
    pub position_numbers: &'a BTreeMap<String, String>,
}

/// The base with its positions indexed by purchase number, built once per packet.
struct Against<'a> {
    base: &'a Base<'a>,
    index: PositionIndex<'a>,
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

/// The target-article breakdown, for organization types 03 and 10 only.
fn target_articles(snapshot: &PlanSnapshot, p: &Position) -> Vec<TargetArticleAmounts> {
    if !snapshot.customer.org_type.uses_kvr_breakdown() {
        return Vec::new();
    }
    p.target_articles
        .iter()
        .map(|l| TargetArticleAmounts { target_article: l.code.clone(), years: amounts(&l.amounts) })
        .collect()
}

/// The breakdowns by КВР and by КБК the organization type takes.
fn breakdowns(snapshot: &PlanSnapshot, p: &Position) -> (Vec<KvrAmounts>, Vec<KbkAmounts>) {
    let org_type = snapshot.customer.org_type;
    let kvrs = p
        .kvr_breakdown(org_type)
        .iter()
        .map(|l| KvrAmounts { kvr: l.code.clone(), years: amounts(&l.amounts) })
        .collect();
    let kbks = if org_type.uses_kbk() {
        p.kbks.iter().map(|l| KbkAmounts { kbk: l.code.clone(), years: amounts(&l.amounts) }).collect()
    } else {
        vec![]
    };
    (kvrs, kbks)
}

/// A special purchase: its kind, КВР and financing; no ОКПД2, so its ИКЗ has `0000` there.
fn special_position(
    plan_id: PlanId,
    snapshot: &PlanSnapshot,
    p: &Position,
    base: Option<&Against<'_>>,
) -> eis::packet::SpecialPosition {
    let (kvrs, kbks) = breakdowns(snapshot, p);
    let kind = p.special.as_ref();
    let (modification_status, modification, position_number) = marks(p, base);
    eis::packet::SpecialPosition {
        type_code: kind.map(|k| k.code.clone()).unwrap_or_default(),
        type_name: kind.map(|k| k.name.clone()),
        position_number,
        ext_number: format!("plangraf-{plan_id}-{}", p.purchase_number.padded()),
        ikz: p.ikz(snapshot.owner_iku()).map(String::from).unwrap_or_default(),
        publish_year: p.publish_year,
        iku: snapshot.owner_iku().map(ToString::to_string),
        kvr: p.kvr.as_ref().map(|k| k.as_str().to_owned()),
        purchase_number: p.purchase_number.padded(),
        finance: amounts(&p.amounts),
        kbks,
        kvrs,
        target_articles: target_articles(snapshot, p),
        modification,
        modification_status,
        ..Default::default()
    }
}

fn position(
    plan_id: PlanId,
    snapshot: &PlanSnapshot,
    p: &Position,
    base: Option<&Against<'_>>,
) -> eis::packet::Position {
    let finance = amounts(&p.amounts);
    let (kvrs, kbks) = breakdowns(snapshot, p);
    let (modification_status, modification, position_number) = marks(p, base);
    eis::packet::Position {
        ext_number: format!("plangraf-{plan_id}-{}", p.purchase_number.padded()),
        ikz: p.ikz(snapshot.owner_iku()).map(String::from).unwrap_or_default(),
        publish_year: p.publish_year,
        iku: snapshot.owner_iku().map(ToString::to_string),
        purchase_number: p.purchase_number.padded(),
        okpd2: match p.okpd2_single() {
            Some(one) => Okpd2::Single(one.as_str().to_owned()),
            None => Okpd2::Undefined(p.okpd2.iter().map(|c| c.as_str().to_owned()).collect()),
        },
        kvr: p.kvr.as_ref().map(|k| k.as_str().to_owned()),
        purchase_object_info: p.object_info.clone(),
        // Mandatory when the notice is planned for the plan year itself.
        public_discussion: (p.publish_year == snapshot.plan_year).then_some(p.public_discussion),
        finance,
        kbks,
        kvrs,
        target_articles: target_articles(snapshot, p),
        is_energy_service_contract: p.energy_service,
        modification,
        modification_status,
        position_number,
        ..Default::default()
    }
}

/// In a change packet: N or E with the justification, and the registry number of a placed
/// position. New positions go without either, as ЕИС takes them as sent.
fn marks(
    p: &Position,
    base: Option<&Against<'_>>,
) -> (Option<ModificationStatus>, Option<Modification>, Option<String>) {
    let Some(Against { base, index }) = base else { return (None, None, None) };
    let before = index.get(p.purchase_number);
    let (status, modification) = match p.mark(before) {
        ChangeMark::New => (None, None),
        ChangeMark::Unchanged => (Some(ModificationStatus::N), None),
        ChangeMark::Edited => (
            Some(ModificationStatus::E),
            p.change.as_ref().map(|c| Modification {
                change_reason_code: c.reason_code.clone(),
                change_reason_name: c.reason_name.clone(),
                decision: match c.decision {
                    ChangeDecision::Changed => Decision::Changed,
                    ChangeDecision::Canceled => Decision::Canceled,
                },
                description: c.description.clone(),
                modification_number: None,
            }),
        ),
    };
    let number = before.and_then(|_| base.position_numbers.get(&p.purchase_number.padded()).cloned());
    (status, modification, number)
}

/// The packet of one version: `tenderPlan2020` for a plan ЕИС has not placed yet, and
/// `tenderPlan2020Change` against the placed `base` version.
pub fn plan_packet(
    plan_id: PlanId,
    version_number: i64,
    snapshot: &PlanSnapshot,
    base: Option<&Base<'_>>,
    envelope: &Envelope,
) -> PlanPacket {
    let kind = if base.is_some() { PlanPacketKind::Change } else { PlanPacketKind::New };
    let plan_number = base.map(|b| b.plan_number);
    let base = base.map(|base| Against { base, index: base.snapshot.index() });
    let base = base.as_ref();
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
            customer_reg_num: snapshot.customer.spz_code.to_string(),
            owner_reg_num: snapshot
                .agent
                .as_ref()
                .map(|a| &a.spz_code)
                .unwrap_or(&snapshot.customer.spz_code)
                .to_string(),
            owner_role: if snapshot.agent.is_some() { OwnerRole::Oa } else { OwnerRole::Cu },
            positions: snapshot
                .positions
                .iter()
                .filter(|p| !p.is_special())
                .map(|p| position(plan_id, snapshot, p, base))
                .collect(),
            special_positions: snapshot
                .positions
                .iter()
                .filter(|p| p.is_special())
                .map(|p| special_position(plan_id, snapshot, p, base))
                .collect(),
            ..Default::default()
        },
    }
}
