//! Reading plan content namespace-aware, whatever prefixes the document uses. Every element the
//! typed model does not hold is kept (see [`crate::kept`]).

use super::*;
use crate::kept::Seen;
use crate::xml::{El, Path};
use crate::{bounds, ns};

const NS_INT: Option<&str> = Some(ns::INTEGRATION);
const NS_TP: Option<&str> = Some(ns::TP);
const NS_BASE: Option<&str> = Some(ns::BASE);

/// Reads a `tenderPlan2020` or `tenderPlan2020Change` packet. Everything in `data` is kept
/// (typed or in [`Kept`]); of the `index`, what [`PacketIndex`] holds.
pub fn read_plan_packet(xml: &str) -> Result<PlanPacket, ReadError> {
    let doc = xml::parse_document(xml, &bounds::PACKET)?;
    let seen = Seen::new(&doc);
    let root = El::tracked(doc.root_element(), &seen);
    let kind = if root.is(NS_INT, "tenderPlan2020") {
        PlanPacketKind::New
    } else if root.is(NS_INT, "tenderPlan2020Change") {
        PlanPacketKind::Change
    } else {
        return Err(ReadError::UnexpectedRoot {
            found: xml::qualified_name(root.node),
            expected: format!("{{{}}}tenderPlan2020 | tenderPlan2020Change", ns::INTEGRATION),
        });
    };
    let path = Path(root.node.tag_name().name().to_owned());
    let index = read_index_el(root, &path)?;
    let data_path = path.join("data");
    let data = read_plan_content(root.req(NS_INT, "data", &path)?, &data_path, kind)?;
    Ok(PlanPacket { kind, index, data })
}

/// Reads only the `index` of any packet: lets a receiver answer about a packet whose `data`
/// it cannot read.
pub fn read_packet_index(xml: &str) -> Result<PacketIndex, ReadError> {
    let doc = xml::parse_document(xml, &bounds::PACKET)?;
    let root = El::new(doc.root_element());
    if root.node.tag_name().namespace() != NS_INT {
        return Err(ReadError::UnexpectedRoot {
            found: xml::qualified_name(root.node),
            expected: format!("a packet in {}", ns::INTEGRATION),
        });
    }
    read_index_el(root, &Path(root.node.tag_name().name().to_owned()))
}

pub(crate) fn read_index_el(root: El<'_, '_>, path: &Path) -> Result<PacketIndex, ReadError> {
    let idx = root.req(NS_INT, "index", path)?;
    let p = path.join("index");
    let create = idx.req_text(NS_INT, "createDateTime", &p)?;
    let mode_text = idx.req_text(NS_INT, "mode", &p)?;
    let mode = match mode_text.as_str() {
        "PROD" => Mode::Prod,
        "TEST" => Mode::Test,
        other => return Err(ReadError::invalid(&p.join("mode").0, other, "expected PROD or TEST")),
    };
    Ok(PacketIndex {
        id: idx.req_text(NS_INT, "id", &p)?,
        sender: idx.req_text(NS_INT, "sender", &p)?,
        receiver: idx.req_text(NS_INT, "receiver", &p)?,
        create_date_time: xml::parse_date_time(&create, &p.join("createDateTime").0)?,
        object_type: idx.req_text(NS_INT, "objectType", &p)?,
        mode,
    })
}

fn year(el: El<'_, '_>, name: &'static str, path: &Path) -> Result<i32, ReadError> {
    let t = el.req_text(NS_TP, name, path)?;
    xml::parse_num(&t, &path.join(name).0, "not a year")
}

fn opt_num<T: std::str::FromStr>(
    el: El<'_, '_>,
    name: &'static str,
    path: &Path,
    what: &str,
) -> Result<Option<T>, ReadError> {
    el.opt_text(NS_TP, name).map(|t| xml::parse_num(&t, &path.join(name).0, what)).transpose()
}

fn opt_bool(el: El<'_, '_>, name: &'static str, path: &Path) -> Result<Option<bool>, ReadError> {
    el.opt_text(NS_TP, name).map(|t| xml::parse_bool(&t, &path.join(name).0)).transpose()
}

fn opt_date(el: El<'_, '_>, name: &'static str, path: &Path) -> Result<Option<EisDateTime>, ReadError> {
    el.opt_text(NS_TP, name).map(|t| EisDateTime::parse(&t, &path.join(name).0)).transpose()
}

/// The content of a `tenderPlan2020Type` / `tenderPlan2020ChangeType` element (`data` of a
/// packet, `tenderPlan2020` of an export).
pub(crate) fn read_plan_content(data: El<'_, '_>, path: &Path, kind: PlanPacketKind) -> Result<PlanData, ReadError> {
    let plan_number = data.opt_text(NS_TP, "planNumber");
    if kind == PlanPacketKind::Change && plan_number.is_none() {
        return Err(ReadError::Missing(path.join("planNumber").0));
    }
    // commonInfo is optional in a change; the model always carries it, as plangraf writes it.
    let ci_path = path.join("commonInfo");
    let ci = data.req(NS_TP, "commonInfo", path)?;
    let period_path = ci_path.join("planPeriod");
    let period = ci.req(NS_TP, "planPeriod", &ci_path)?;
    let customer_path = ci_path.join("customerInfo");
    let customer = ci.req(NS_TP, "customerInfo", &ci_path)?;
    let owner_path = ci_path.join("ownerInfo");
    let owner = ci.req(NS_TP, "ownerInfo", &ci_path)?;
    let role = owner.req_text(NS_TP, "ownerRole", &owner_path)?;
    let owner_role = match role.as_str() {
        "CU" => OwnerRole::Cu,
        "OA" => OwnerRole::Oa,
        other => return Err(ReadError::invalid(&owner_path.join("ownerRole").0, other, "expected CU or OA")),
    };
    let confirm_contact = match ci.child(NS_TP, "confirmContactInfo") {
        None => None,
        Some(c) => {
            let cp = ci_path.join("confirmContactInfo");
            Some(ContactPerson {
                last_name: c.req_text(NS_TP, "lastName", &cp)?,
                first_name: c.req_text(NS_TP, "firstName", &cp)?,
                middle_name: c.opt_text(NS_TP, "middleName"),
                position: c.req_text(NS_TP, "position", &cp)?,
            })
        }
    };

    let mut positions = Vec::new();
    if let Some(ps) = data.child(NS_TP, "positions") {
        let ps_path = path.join("positions");
        for (i, p) in ps.children(NS_TP, "position").enumerate() {
            positions.push(read_position(p, &ps_path.nth("position", i))?);
        }
    }
    let mut special_positions = Vec::new();
    if let Some(ps) = data.child(NS_TP, "specialPurchasePositions") {
        let ps_path = path.join("specialPurchasePositions");
        for (i, p) in ps.children(NS_TP, "specialPurchasePosition").enumerate() {
            special_positions.push(read_special_position(p, &ps_path.nth("specialPurchasePosition", i))?);
        }
    }
    let outcome = match data.child(NS_TP, "outcomeIndicators") {
        Some(o) => Some(read_outcome(o, &path.join("outcomeIndicators"))?),
        None => None,
    };

    let plan = PlanData {
        id: opt_num(data, "id", path, "not an integer")?,
        external_id: data.opt_text(NS_TP, "externalId").unwrap_or_default(),
        plan_number,
        version_number: opt_num(data, "versionNumber", path, "not a version number")?,
        plan_year: year(ci, "planYear", &ci_path)?,
        first_year: year(period, "firstYear", &period_path)?,
        second_year: year(period, "secondYear", &period_path)?,
        create_date: opt_date(ci, "createDate", &ci_path)?,
        confirm_date: opt_date(ci, "confirmDate", &ci_path)?,
        direct_date: opt_date(ci, "directDate", &ci_path)?,
        publish_date: opt_date(ci, "publishDate", &ci_path)?,
        customer_reg_num: customer.req_text(NS_TP, "regNum", &customer_path)?,
        customer: CustomerDetails {
            org: read_org(customer, &customer_path)?,
            okopf: read_code_name(customer, "OKOPF", "singularName", &customer_path)?,
            okfs: read_code_name(customer, "OKFS", "name", &customer_path)?,
            oktmo_ppo: read_code_name(customer, "OKTMOPPO", "name", &customer_path)?,
        },
        owner_reg_num: owner.req_text(NS_TP, "regNum", &owner_path)?,
        owner: read_org(owner, &owner_path)?,
        owner_role,
        confirm_contact,
        positions,
        special_positions,
        outcome,
        kept: Kept::default(),
    };
    Ok(PlanData { kept: data.take_kept(path)?, ..plan })
}

fn read_org(org: El<'_, '_>, path: &Path) -> Result<OrgDetails, ReadError> {
    let control_authority = match org.child(NS_TP, "controlAuthorityInfo") {
        None => None,
        Some(a) => Some(OrgRef {
            reg_num: a.req_text(NS_BASE, "regNum", &path.join("controlAuthorityInfo"))?,
            cons_registry_num: a.opt_text(NS_BASE, "consRegistryNum"),
            full_name: a.opt_text(NS_BASE, "fullName"),
        }),
    };
    Ok(OrgDetails {
        cons_registry_num: org.opt_text(NS_TP, "consRegistryNum"),
        full_name: org.opt_text(NS_TP, "fullName"),
        inn: org.opt_text(NS_TP, "INN"),
        kpp: org.opt_text(NS_TP, "KPP"),
        oktmo: read_code_name(org, "OKTMO", "name", path)?,
        fact_address: org.opt_text(NS_TP, "factAddress"),
        phone: org.opt_text(NS_TP, "phone"),
        email: org.opt_text(NS_TP, "email"),
        control_authority,
    })
}

fn read_code_name(
    parent: El<'_, '_>,
    element: &'static str,
    name_element: &'static str,
    path: &Path,
) -> Result<Option<CodeName>, ReadError> {
    let Some(el) = parent.child(NS_TP, element) else { return Ok(None) };
    Ok(Some(CodeName {
        code: el.req_text(NS_BASE, "code", &path.join(element))?,
        name: el.opt_text(NS_BASE, name_element),
    }))
}

fn read_years(el: El<'_, '_>, path: &Path) -> Result<YearAmounts, ReadError> {
    let amount = |name: &'static str| -> Result<Option<Decimal>, ReadError> {
        el.opt_text(NS_TP, name).map(|t| xml::parse_money(&t, &path.join(name).0)).transpose()
    };
    Ok(YearAmounts {
        total: amount("total")?,
        current_year: amount("currentYear")?.unwrap_or_default(),
        first_year: amount("firstYear")?.unwrap_or_default(),
        second_year: amount("secondYear")?.unwrap_or_default(),
        subsec_years: amount("subsecYears")?.unwrap_or_default(),
    })
}

/// A breakdown list: `list/item[1..n]`, each item read by `read`.
fn read_list<T>(
    parent: El<'_, '_>,
    path: &Path,
    list: &'static str,
    item: &'static str,
    read: impl Fn(El<'_, '_>, &Path) -> Result<T, ReadError>,
) -> Result<Vec<T>, ReadError> {
    let Some(l) = parent.child(NS_TP, list) else { return Ok(Vec::new()) };
    let lp = path.join(list);
    l.children(NS_TP, item).enumerate().map(|(i, k)| read(k, &lp.nth(item, i))).collect()
}

fn read_kbks(
    parent: El<'_, '_>,
    path: &Path,
    list: &'static str,
    item: &'static str,
    years: &'static str,
) -> Result<Vec<KbkAmounts>, ReadError> {
    read_list(parent, path, list, item, |k, kp| {
        Ok(KbkAmounts {
            kbk: k.req_text(NS_TP, "KBK", kp)?,
            years: read_years(k.req(NS_TP, years, kp)?, &kp.join(years))?,
        })
    })
}

fn read_kvrs(
    parent: El<'_, '_>,
    path: &Path,
    list: &'static str,
    item: &'static str,
    years: &'static str,
) -> Result<Vec<KvrAmounts>, ReadError> {
    read_list(parent, path, list, item, |k, kp| {
        Ok(KvrAmounts {
            kvr: read_kvr_code(k.req(NS_TP, "KVR", kp)?, &kp.join("KVR"))?,
            years: read_years(k.req(NS_TP, years, kp)?, &kp.join(years))?,
        })
    })
}

fn read_targets(
    parent: El<'_, '_>,
    path: &Path,
    list: &'static str,
    item: &'static str,
    years: &'static str,
) -> Result<Vec<TargetArticleAmounts>, ReadError> {
    read_list(parent, path, list, item, |t, tp| {
        Ok(TargetArticleAmounts {
            target_article: t.req_text(NS_TP, "targetArticle", tp)?,
            years: read_years(t.req(NS_TP, years, tp)?, &tp.join(years))?,
        })
    })
}

fn read_kvr_code(kvr: El<'_, '_>, path: &Path) -> Result<String, ReadError> {
    kvr.req_text(NS_BASE, "code", path)
}

/// `KVRInfo`: a code, or `undefined` (`None`).
fn read_kvr_info(parent: El<'_, '_>, path: &Path) -> Result<Option<String>, ReadError> {
    let kvr_path = path.join("KVRInfo");
    let kvr_info = parent.req(NS_TP, "KVRInfo", path)?;
    match kvr_info.child(NS_TP, "KVR") {
        Some(k) => Ok(Some(read_kvr_code(k, &kvr_path.join("KVR"))?)),
        None if kvr_info.child(NS_TP, "undefined").is_some() => Ok(None),
        None => Err(ReadError::Missing(kvr_path.join("KVR").0)),
    }
}

fn read_modification(m: El<'_, '_>, mp: &Path) -> Result<Modification, ReadError> {
    let (code, name) = match m.child(NS_TP, "changeReason") {
        Some(r) => {
            (r.req_text(NS_TP, "code", &mp.join("changeReason"))?, r.opt_text(NS_TP, "name").unwrap_or_default())
        }
        None => (String::new(), String::new()),
    };
    let dec = m.req(NS_TP, "decision", mp)?;
    let decision = if dec.child(NS_TP, "purchaseChanged").is_some() {
        Decision::Changed
    } else if dec.child(NS_TP, "purchaseCanceled").is_some() {
        Decision::Canceled
    } else if dec.child(NS_TP, "notSpecified").is_some() {
        Decision::NotSpecified
    } else {
        return Err(ReadError::Missing(mp.join("decision/purchaseChanged").0));
    };
    Ok(Modification {
        change_reason_code: code,
        change_reason_name: name,
        decision,
        description: m.opt_text(NS_TP, "description").unwrap_or_default(),
        modification_number: opt_num(m, "modificationNumber", mp, "not a version number")?,
    })
}

fn read_status(el: El<'_, '_>, name: &'static str, path: &Path) -> Result<Option<ModificationStatus>, ReadError> {
    match el.opt_text(NS_TP, name).as_deref() {
        None => Ok(None),
        Some("N") => Ok(Some(ModificationStatus::N)),
        Some("E") => Ok(Some(ModificationStatus::E)),
        Some(other) => Err(ReadError::invalid(&path.join(name).0, other, "expected N or E")),
    }
}

fn read_position(pos: El<'_, '_>, path: &Path) -> Result<Position, ReadError> {
    let ci_path = path.join("commonInfo");
    let ci = pos.req(NS_TP, "commonInfo", path)?;

    let okpd2 = if let Some(info) = ci.child(NS_TP, "OKPD2Info") {
        Okpd2::Single(info.req_text(NS_BASE, "OKPDCode", &ci_path.join("OKPD2Info"))?)
    } else if let Some(und) = ci.child(NS_TP, "undefined") {
        let p = ci_path.join("undefined");
        let list = und.req(NS_TP, "OKPD2s", &p)?;
        let p = p.join("OKPD2s");
        let codes = list
            .children(NS_TP, "OKPD2Info")
            .enumerate()
            .map(|(i, c)| c.req_text(NS_BASE, "OKPDCode", &p.nth("OKPD2Info", i)))
            .collect::<Result<Vec<_>, _>>()?;
        Okpd2::Undefined(codes)
    } else {
        return Err(ReadError::Missing(ci_path.join("OKPD2Info").0));
    };
    let kvr = read_kvr_info(ci, &ci_path)?;
    let modification = match ci.child(NS_TP, "positionModification") {
        Some(m) => Some(read_modification(m, &ci_path.join("positionModification"))?),
        None => None,
    };

    let fin_path = path.join("financeInfo");
    let fin = pos.req(NS_TP, "financeInfo", path)?;
    let energy = pos.req_text(NS_TP, "isEnergyServiceContract", path)?;

    let position = Position {
        position_number: ci.opt_text(NS_TP, "positionNumber"),
        ext_number: ci.opt_text(NS_TP, "extNumber").unwrap_or_default(),
        ikz: ci.opt_text(NS_TP, "IKZ").unwrap_or_default(),
        publish_year: year(ci, "publishYear", &ci_path)?,
        iku: ci.opt_text(NS_TP, "IKU"),
        purchase_number: ci.req_text(NS_TP, "purchaseNumber", &ci_path)?,
        okpd2,
        kvr,
        purchase_object_info: ci.opt_text(NS_TP, "purchaseObjectInfo").unwrap_or_default(),
        public_discussion: opt_bool(ci, "publicDiscussion", &ci_path)?,
        canceled: opt_bool(ci, "positionCanceled", &ci_path)?,
        finance: read_years(fin, &fin_path)?,
        kbks: read_kbks(fin, &fin_path, "KBKsInfo", "KBKInfo", "KBKYearsInfo")?,
        kvrs: read_kvrs(pos, path, "KVRsInfo", "KVRInfo", "KVRYearsInfo")?,
        target_articles: read_targets(pos, path, "targetArticlesInfo", "targetArticleInfo", "targetArticleYearsInfo")?,
        is_energy_service_contract: xml::parse_bool(&energy, &path.join("isEnergyServiceContract").0)?,
        modification,
        modification_status: read_status(ci, "positionModificationStatus", &ci_path)?,
        kept: Kept::default(),
    };
    Ok(Position { kept: pos.take_kept(path)?, ..position })
}

fn read_special_position(pos: El<'_, '_>, path: &Path) -> Result<SpecialPosition, ReadError> {
    let type_path = path.join("type");
    let ty = pos.req(NS_TP, "type", path)?;
    let modification = match pos.child(NS_TP, "specialPurchasePositionModification") {
        Some(m) => Some(read_modification(m, &path.join("specialPurchasePositionModification"))?),
        None => None,
    };
    let fin_path = path.join("financeInfo");
    let position = SpecialPosition {
        type_code: ty.req_text(NS_TP, "code", &type_path)?,
        type_name: ty.opt_text(NS_TP, "name"),
        position_number: pos.opt_text(NS_TP, "positionNumber"),
        ext_number: pos.opt_text(NS_TP, "extNumber").unwrap_or_default(),
        ikz: pos.opt_text(NS_TP, "IKZ").unwrap_or_default(),
        publish_year: year(pos, "publishYear", path)?,
        iku: pos.opt_text(NS_TP, "IKU"),
        kvr: read_kvr_info(pos, path)?,
        purchase_number: pos.req_text(NS_TP, "purchaseNumber", path)?,
        finance: read_years(pos.req(NS_TP, "financeInfo", path)?, &fin_path)?,
        kbks: read_kbks(pos, path, "KBKsInfo", "KBKInfo", "KBKYearsInfo")?,
        kvrs: read_kvrs(pos, path, "KVRsInfo", "KVRInfo", "KVRYearsInfo")?,
        target_articles: read_targets(pos, path, "targetArticlesInfo", "targetArticleInfo", "targetArticleYearsInfo")?,
        modification,
        modification_status: read_status(pos, "specialPurchasePositionModificationStatus", path)?,
        kept: Kept::default(),
    };
    Ok(SpecialPosition { kept: pos.take_kept(path)?, ..position })
}

fn read_outcome(o: El<'_, '_>, path: &Path) -> Result<OutcomeIndicators, ReadError> {
    Ok(OutcomeIndicators {
        totals: match o.child(NS_TP, "totalsInfo") {
            Some(t) => Some(read_years(t, &path.join("totalsInfo"))?),
            None => None,
        },
        kbk_totals: read_kbks(o, path, "KBKsTotalsInfo", "KBKTotalsInfo", "KBKTotalsYearsInfo")?,
        target_article_totals: read_targets(
            o,
            path,
            "targetArticlesTotalsInfo",
            "targetArticleTotalsInfo",
            "targetArticleTotalsYearsInfo",
        )?,
        kvr_totals: read_kvrs(o, path, "KVRsTotalsInfo", "KVRTotalsInfo", "KVRTotalsYearsInfo")?,
    })
}
