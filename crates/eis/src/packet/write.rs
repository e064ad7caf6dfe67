//! Writing plan content in the official namespaces and the element order of the 14.1 schemas.

use super::*;
use crate::ns;
use crate::xml::{Layout, XmlWriter};

/// Which type the content is written as: the two packet data types differ in the order of the
/// totals and in what only ЕИС publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// `tenderPlan2020Type` in a packet or an export.
    Plan,
    /// `tenderPlan2020ChangeType`.
    Change,
}

// Element names are built at compile time: a 5,000-position plan has some 150,000 elements.
macro_rules! int {
    ($name:literal) => {
        concat!("int:", $name)
    };
}
macro_rules! tp {
    ($name:literal) => {
        concat!("tp:", $name)
    };
}

pub(crate) fn write_index(w: &mut XmlWriter, index: &PacketIndex) {
    w.open(int!("index"), &[]);
    w.leaf(int!("id"), &index.id);
    w.leaf(int!("sender"), &index.sender);
    w.leaf(int!("receiver"), &index.receiver);
    w.leaf(int!("createDateTime"), &xml::date_time(&index.create_date_time));
    w.leaf(int!("objectType"), &index.object_type);
    // Mandatory element; the login/password channel carries no packet signature.
    w.empty(int!("signature"), &[("type", "CAdES-BES")]);
    w.leaf(int!("mode"), index.mode.as_str());
    w.close(int!("index"));
}

/// Writes the packet as compact UTF-8 XML (the form that is sent) with the declaration, the
/// official namespaces and the element order of `fcsIntegration.xsd` 14.1.
///
/// Money is written with two decimals (rounded half away from zero if it had more).
pub fn write_plan_packet(p: &PlanPacket) -> String {
    write_plan_packet_with(p, Layout::Compact)
}

/// The same in a chosen layout: [`Layout::Pretty`] for people reading the packet.
pub fn write_plan_packet_with(p: &PlanPacket, layout: Layout) -> String {
    let mut w = XmlWriter::with_layout(layout);
    let root = match p.kind {
        PlanPacketKind::New => int!("tenderPlan2020"),
        PlanPacketKind::Change => int!("tenderPlan2020Change"),
    };
    w.open_root(root, &[("int", ns::INTEGRATION), ("tp", ns::TP), ("base", ns::BASE)], &[]);
    write_index(&mut w, &p.index);
    let target = match p.kind {
        PlanPacketKind::New => Target::Plan,
        PlanPacketKind::Change => Target::Change,
    };
    w.open_scoped(int!("data"), &[("schemeVersion", ns::SCHEME_VERSION)], &p.data.kept);
    write_plan_content(&mut w, &p.data, target);
    w.close(int!("data"));
    w.close(root);
    w.finish()
}

/// The children of a `tenderPlan2020Type` / `tenderPlan2020ChangeType` element, whose start
/// tag (scoped with `d.kept`) the caller has written.
pub(crate) fn write_plan_content(w: &mut XmlWriter, d: &PlanData, target: Target) {
    if let Some(id) = d.id {
        w.leaf_num(tp!("id"), id);
    }
    w.leaf_opt(tp!("externalId"), Some(&d.external_id));
    w.leaf_opt(tp!("planNumber"), d.plan_number.as_deref());
    if let Some(v) = d.version_number {
        w.leaf_num(tp!("versionNumber"), v);
    }
    write_common_info(w, d);
    if !d.positions.is_empty() {
        w.open(tp!("positions"), &[]);
        for pos in &d.positions {
            write_position(w, pos);
        }
        w.close(tp!("positions"));
    }
    if !d.special_positions.is_empty() {
        w.open(tp!("specialPurchasePositions"), &[]);
        for pos in &d.special_positions {
            write_special_position(w, pos);
        }
        w.close(tp!("specialPurchasePositions"));
    }
    if let Some(o) = &d.outcome {
        write_outcome(w, o, target);
    }
}

fn write_common_info(w: &mut XmlWriter, d: &PlanData) {
    w.open(tp!("commonInfo"), &[]);
    w.leaf_num(tp!("planYear"), d.plan_year);
    w.open(tp!("planPeriod"), &[]);
    w.leaf_num(tp!("firstYear"), d.first_year);
    w.leaf_num(tp!("secondYear"), d.second_year);
    w.close(tp!("planPeriod"));
    for (name, date) in [
        (tp!("createDate"), &d.create_date),
        (tp!("confirmDate"), &d.confirm_date),
        (tp!("directDate"), &d.direct_date),
        (tp!("publishDate"), &d.publish_date),
    ] {
        if let Some(date) = date {
            w.leaf(name, date.as_str());
        }
    }
    w.open(tp!("customerInfo"), &[]);
    write_org(w, &d.customer_reg_num, &d.customer.org);
    write_code_name(w, tp!("OKOPF"), "base:singularName", d.customer.okopf.as_ref());
    write_code_name(w, tp!("OKFS"), "base:name", d.customer.okfs.as_ref());
    write_code_name(w, tp!("OKTMOPPO"), "base:name", d.customer.oktmo_ppo.as_ref());
    w.close(tp!("customerInfo"));
    w.open(tp!("ownerInfo"), &[]);
    write_org(w, &d.owner_reg_num, &d.owner);
    w.leaf(tp!("ownerRole"), d.owner_role.as_str());
    w.close(tp!("ownerInfo"));
    if let Some(c) = &d.confirm_contact {
        w.open(tp!("confirmContactInfo"), &[]);
        w.leaf(tp!("lastName"), &c.last_name);
        w.leaf(tp!("firstName"), &c.first_name);
        w.leaf_opt(tp!("middleName"), c.middle_name.as_deref());
        w.leaf(tp!("position"), &c.position);
        w.close(tp!("confirmContactInfo"));
    }
    w.close(tp!("commonInfo"));
}

fn write_org(w: &mut XmlWriter, reg_num: &str, o: &OrgDetails) {
    w.leaf(tp!("regNum"), reg_num);
    w.leaf_opt(tp!("consRegistryNum"), o.cons_registry_num.as_deref());
    w.leaf_opt(tp!("fullName"), o.full_name.as_deref());
    w.leaf_opt(tp!("INN"), o.inn.as_deref());
    w.leaf_opt(tp!("KPP"), o.kpp.as_deref());
    write_code_name(w, tp!("OKTMO"), "base:name", o.oktmo.as_ref());
    w.leaf_opt(tp!("factAddress"), o.fact_address.as_deref());
    w.leaf_opt(tp!("phone"), o.phone.as_deref());
    w.leaf_opt(tp!("email"), o.email.as_deref());
    if let Some(a) = &o.control_authority {
        w.open(tp!("controlAuthorityInfo"), &[]);
        w.leaf("base:regNum", &a.reg_num);
        w.leaf_opt("base:consRegistryNum", a.cons_registry_num.as_deref());
        w.leaf_opt("base:fullName", a.full_name.as_deref());
        w.close(tp!("controlAuthorityInfo"));
    }
}

/// A classifier reference: `element` with `base:code` and `name_element`.
fn write_code_name(w: &mut XmlWriter, element: &str, name_element: &str, c: Option<&CodeName>) {
    let Some(c) = c else { return };
    w.open(element, &[]);
    w.leaf("base:code", &c.code);
    w.leaf_opt(name_element, c.name.as_deref());
    w.close(element);
}

fn write_okpd2_info(w: &mut XmlWriter, code: &str) {
    w.open(tp!("OKPD2Info"), &[]);
    w.leaf("base:OKPDCode", code);
    w.close(tp!("OKPD2Info"));
}

fn write_kvr_ref(w: &mut XmlWriter, code: &str) {
    w.open(tp!("KVR"), &[]);
    w.leaf("base:code", code);
    w.close(tp!("KVR"));
}

fn write_kvr_info(w: &mut XmlWriter, kvr: Option<&str>) {
    w.open(tp!("KVRInfo"), &[]);
    match kvr {
        Some(code) => write_kvr_ref(w, code),
        None => w.leaf(tp!("undefined"), "000"),
    }
    w.close(tp!("KVRInfo"));
}

fn write_years(w: &mut XmlWriter, y: &YearAmounts) {
    // `total` only when it was read: ЕИС ignores it on receipt and computes it itself.
    if let Some(t) = y.total {
        w.leaf_money(tp!("total"), t);
    }
    w.leaf_money(tp!("currentYear"), y.current_year);
    w.leaf_money(tp!("firstYear"), y.first_year);
    w.leaf_money(tp!("secondYear"), y.second_year);
    w.leaf_money(tp!("subsecYears"), y.subsec_years);
}

fn write_years_block(w: &mut XmlWriter, name: &str, y: &YearAmounts) {
    w.open(name, &[]);
    write_years(w, y);
    w.close(name);
}

/// Element names of one breakdown list: the list, its item, the item's amounts.
struct Names {
    list: &'static str,
    item: &'static str,
    years: &'static str,
}

const KBKS: Names = Names { list: tp!("KBKsInfo"), item: tp!("KBKInfo"), years: tp!("KBKYearsInfo") };
const KVRS: Names = Names { list: tp!("KVRsInfo"), item: tp!("KVRInfo"), years: tp!("KVRYearsInfo") };
const TARGETS: Names =
    Names { list: tp!("targetArticlesInfo"), item: tp!("targetArticleInfo"), years: tp!("targetArticleYearsInfo") };
const KBK_TOTALS: Names =
    Names { list: tp!("KBKsTotalsInfo"), item: tp!("KBKTotalsInfo"), years: tp!("KBKTotalsYearsInfo") };
const KVR_TOTALS: Names =
    Names { list: tp!("KVRsTotalsInfo"), item: tp!("KVRTotalsInfo"), years: tp!("KVRTotalsYearsInfo") };
const TARGET_TOTALS: Names = Names {
    list: tp!("targetArticlesTotalsInfo"),
    item: tp!("targetArticleTotalsInfo"),
    years: tp!("targetArticleTotalsYearsInfo"),
};

fn write_kbks(w: &mut XmlWriter, n: &Names, list: &[KbkAmounts]) {
    if list.is_empty() {
        return;
    }
    w.open(n.list, &[]);
    for k in list {
        w.open(n.item, &[]);
        w.leaf(tp!("KBK"), &k.kbk);
        write_years_block(w, n.years, &k.years);
        w.close(n.item);
    }
    w.close(n.list);
}

fn write_kvrs(w: &mut XmlWriter, n: &Names, list: &[KvrAmounts]) {
    if list.is_empty() {
        return;
    }
    w.open(n.list, &[]);
    for k in list {
        w.open(n.item, &[]);
        write_kvr_ref(w, &k.kvr);
        write_years_block(w, n.years, &k.years);
        w.close(n.item);
    }
    w.close(n.list);
}

fn write_targets(w: &mut XmlWriter, n: &Names, list: &[TargetArticleAmounts]) {
    if list.is_empty() {
        return;
    }
    w.open(n.list, &[]);
    for t in list {
        w.open(n.item, &[]);
        w.leaf(tp!("targetArticle"), &t.target_article);
        write_years_block(w, n.years, &t.years);
        w.close(n.item);
    }
    w.close(n.list);
}

fn write_modification(w: &mut XmlWriter, name: &str, m: &Modification) {
    w.open(name, &[]);
    if !m.change_reason_code.is_empty() {
        w.open(tp!("changeReason"), &[]);
        w.leaf(tp!("code"), &m.change_reason_code);
        w.leaf_opt(tp!("name"), Some(&m.change_reason_name));
        w.close(tp!("changeReason"));
    }
    w.open(tp!("decision"), &[]);
    match m.decision {
        Decision::NotSpecified => w.leaf(tp!("notSpecified"), "true"),
        Decision::Canceled => w.leaf(tp!("purchaseCanceled"), "true"),
        Decision::Changed => w.leaf(tp!("purchaseChanged"), "true"),
    }
    w.close(tp!("decision"));
    w.leaf_opt(tp!("description"), Some(&m.description));
    if let Some(n) = m.modification_number {
        w.leaf_num(tp!("modificationNumber"), n);
    }
    w.close(name);
}

fn write_position(w: &mut XmlWriter, p: &Position) {
    w.open_scoped(tp!("position"), &[], &p.kept);
    w.open(tp!("commonInfo"), &[]);
    w.leaf_opt(tp!("positionNumber"), p.position_number.as_deref());
    w.leaf_opt(tp!("extNumber"), Some(&p.ext_number));
    w.leaf_opt(tp!("IKZ"), Some(&p.ikz));
    w.leaf_num(tp!("publishYear"), p.publish_year);
    w.leaf_opt(tp!("IKU"), p.iku.as_deref());
    w.leaf(tp!("purchaseNumber"), &p.purchase_number);
    match &p.okpd2 {
        Okpd2::Single(code) => write_okpd2_info(w, code),
        Okpd2::Undefined(codes) => {
            w.open(tp!("undefined"), &[]);
            w.open(tp!("OKPD2s"), &[]);
            for code in codes {
                write_okpd2_info(w, code);
            }
            w.close(tp!("OKPD2s"));
            w.close(tp!("undefined"));
        }
    }
    write_kvr_info(w, p.kvr.as_deref());
    w.leaf_opt(tp!("purchaseObjectInfo"), Some(&p.purchase_object_info));
    if let Some(b) = p.public_discussion {
        w.leaf(tp!("publicDiscussion"), bool_str(b));
    }
    if let Some(b) = p.canceled {
        w.leaf(tp!("positionCanceled"), bool_str(b));
    }
    if let Some(m) = &p.modification {
        write_modification(w, tp!("positionModification"), m);
    }
    if let Some(s) = p.modification_status {
        w.leaf(tp!("positionModificationStatus"), s.as_str());
    }
    w.close(tp!("commonInfo"));

    w.open(tp!("financeInfo"), &[]);
    write_years(w, &p.finance);
    write_kbks(w, &KBKS, &p.kbks);
    w.close(tp!("financeInfo"));
    write_kvrs(w, &KVRS, &p.kvrs);
    write_targets(w, &TARGETS, &p.target_articles);
    w.leaf(tp!("isEnergyServiceContract"), bool_str(p.is_energy_service_contract));
    w.close(tp!("position"));
}

fn write_special_position(w: &mut XmlWriter, p: &SpecialPosition) {
    w.open_scoped(tp!("specialPurchasePosition"), &[], &p.kept);
    w.open(tp!("type"), &[]);
    w.leaf(tp!("code"), &p.type_code);
    w.leaf_opt(tp!("name"), p.type_name.as_deref());
    w.close(tp!("type"));
    w.leaf_opt(tp!("positionNumber"), p.position_number.as_deref());
    w.leaf_opt(tp!("extNumber"), Some(&p.ext_number));
    w.leaf_opt(tp!("IKZ"), Some(&p.ikz));
    w.leaf_num(tp!("publishYear"), p.publish_year);
    w.leaf_opt(tp!("IKU"), p.iku.as_deref());
    write_kvr_info(w, p.kvr.as_deref());
    w.leaf(tp!("purchaseNumber"), &p.purchase_number);
    write_years_block(w, tp!("financeInfo"), &p.finance);
    write_kbks(w, &KBKS, &p.kbks);
    write_kvrs(w, &KVRS, &p.kvrs);
    write_targets(w, &TARGETS, &p.target_articles);
    if let Some(m) = &p.modification {
        write_modification(w, tp!("specialPurchasePositionModification"), m);
    }
    if let Some(s) = p.modification_status {
        w.leaf(tp!("specialPurchasePositionModificationStatus"), s.as_str());
    }
    w.close(tp!("specialPurchasePosition"));
}

fn write_outcome(w: &mut XmlWriter, o: &OutcomeIndicators, target: Target) {
    w.open(tp!("outcomeIndicators"), &[]);
    if let Some(t) = &o.totals {
        write_years_block(w, tp!("totalsInfo"), t);
    }
    write_kbks(w, &KBK_TOTALS, &o.kbk_totals);
    // The change type lists the KVR totals before the target-article totals.
    if target == Target::Change {
        write_kvrs(w, &KVR_TOTALS, &o.kvr_totals);
        write_targets(w, &TARGET_TOTALS, &o.target_article_totals);
    } else {
        write_targets(w, &TARGET_TOTALS, &o.target_article_totals);
        write_kvrs(w, &KVR_TOTALS, &o.kvr_totals);
    }
    w.close(tp!("outcomeIndicators"));
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}
