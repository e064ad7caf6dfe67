//! Plan-schedule packets (`tenderPlan2020`, `tenderPlan2020Change`) of `fcsIntegration.xsd`.
//!
//! The model holds what a РИС sends; what ЕИС ignores on receipt and recomputes (totals,
//! organization names, dates, `purchaseOrderNumber`, `OKPDName`) is not modelled. Special
//! purchase positions, attachments and the other optional blocks are not modelled yet: the
//! reader skips them.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;

pub use crate::ReadError;
use crate::ns;
use crate::xml::{self, El, Path, XmlWriter};

/// `index/mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Prod,
    Test,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Prod => "PROD",
            Mode::Test => "TEST",
        }
    }
}

/// `index` — the envelope («индексная карточка») of every packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketIndex {
    /// Global packet id: exactly 36 characters (a UUID). ЕИС echoes it back as `refId`.
    pub id: String,
    pub sender: String,
    pub receiver: String,
    pub create_date_time: DateTime<FixedOffset>,
    /// `base:objectTypeEnum`, `TP2020` for plan-schedules.
    pub object_type: String,
    pub mode: Mode,
}

/// `objectType` of plan-schedules from 01.01.2020.
pub const OBJECT_TYPE_TP2020: &str = "TP2020";

impl PacketIndex {
    /// A fresh index: a new UUID and the current Moscow time (to the second).
    pub fn new(sender: impl Into<String>, receiver: impl Into<String>, object_type: impl Into<String>, mode: Mode) -> Self {
        use chrono::Timelike;
        let now = chrono::Utc::now().with_timezone(&xml::moscow());
        let now = now.with_nanosecond(0).unwrap_or(now);
        PacketIndex {
            id: uuid::Uuid::new_v4().to_string(),
            sender: sender.into(),
            receiver: receiver.into(),
            create_date_time: now,
            object_type: object_type.into(),
            mode,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanPacketKind {
    /// Root `tenderPlan2020`: a plan ЕИС has no number for yet.
    New,
    /// Root `tenderPlan2020Change`: a change of a registered plan; `plan_number` is required.
    Change,
}

impl PlanPacketKind {
    pub fn root_name(self) -> &'static str {
        match self {
            PlanPacketKind::New => "tenderPlan2020",
            PlanPacketKind::Change => "tenderPlan2020Change",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPacket {
    pub kind: PlanPacketKind,
    pub index: PacketIndex,
    pub data: PlanData,
}

/// `commonInfo/ownerInfo/ownerRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerRole {
    /// `CU`: the customer itself.
    Cu,
    /// `OA`: an organization acting for the customer under an agreement.
    Oa,
}

impl OwnerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerRole::Cu => "CU",
            OwnerRole::Oa => "OA",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanData {
    /// The РИС's own key of the document, 1–40 characters.
    pub external_id: String,
    /// Registry number (18 characters) assigned by ЕИС; required for `Change`.
    pub plan_number: Option<String>,
    pub version_number: Option<u32>,
    pub plan_year: i32,
    pub first_year: i32,
    pub second_year: i32,
    /// СПЗ code of the customer, 11 digits.
    pub customer_reg_num: String,
    pub owner_reg_num: String,
    pub owner_role: OwnerRole,
    pub positions: Vec<Position>,
}

/// OKPD2 of a position: one code, or several (`undefined`, giving `0000` in the ИКЗ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Okpd2 {
    Single(String),
    Undefined(Vec<String>),
}

/// Amounts of one financing block per year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearAmounts {
    pub current_year: Decimal,
    pub first_year: Decimal,
    pub second_year: Decimal,
    pub subsec_years: Decimal,
}

impl YearAmounts {
    pub fn total(&self) -> Decimal {
        self.current_year + self.first_year + self.second_year + self.subsec_years
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbkAmounts {
    /// Budget classification code, 20 characters.
    pub kbk: String,
    pub years: YearAmounts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvrAmounts {
    /// Expense-type code, 3 characters.
    pub kvr: String,
    pub years: YearAmounts,
}

/// `positionModification/decision` as a РИС sends it for an edited position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Changed,
    Canceled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modification {
    /// Code from NSI `nsiTenderPlan2020PositionChangeReason` (≤10 characters).
    pub change_reason_code: String,
    /// Name of the reason; ЕИС takes it from NSI, so it may be empty.
    pub change_reason_name: String,
    pub decision: Decision,
    pub description: String,
}

/// `positionModificationStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModificationStatus {
    /// Carried over unchanged from the previous version.
    N,
    /// Edited in this version.
    E,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Registry number of the position (24 characters), known once ЕИС has placed the plan.
    pub position_number: Option<String>,
    /// The РИС's own key of the position, 1–100 characters.
    pub ext_number: String,
    /// Identification code of the purchase, 36 digits.
    pub ikz: String,
    pub publish_year: i32,
    /// Customer identification code, 20 digits.
    pub iku: Option<String>,
    /// Purchase number in the plan, 4 digits.
    pub purchase_number: String,
    pub okpd2: Okpd2,
    /// KVR code (3 characters); `None` is `undefined` (`000` in the ИКЗ).
    pub kvr: Option<String>,
    pub purchase_object_info: String,
    pub public_discussion: Option<bool>,
    pub finance: YearAmounts,
    pub kbks: Vec<KbkAmounts>,
    pub kvrs: Vec<KvrAmounts>,
    pub is_energy_service_contract: bool,
    pub modification: Option<Modification>,
    pub modification_status: Option<ModificationStatus>,
}

// ---------------------------------------------------------------------------------------------
// Writing

const INT: &str = "int:";
const TP: &str = "tp:";

fn int(name: &str) -> String {
    format!("{INT}{name}")
}
fn tp(name: &str) -> String {
    format!("{TP}{name}")
}

pub(crate) fn write_index(w: &mut XmlWriter, index: &PacketIndex) {
    w.open(&int("index"), &[]);
    w.leaf(&int("id"), &index.id);
    w.leaf(&int("sender"), &index.sender);
    w.leaf(&int("receiver"), &index.receiver);
    w.leaf(&int("createDateTime"), &xml::date_time(&index.create_date_time));
    w.leaf(&int("objectType"), &index.object_type);
    // Mandatory element; the login/password channel carries no packet signature.
    w.empty(&int("signature"), &[("type", "CAdES-BES")]);
    w.leaf(&int("mode"), index.mode.as_str());
    w.close(&int("index"));
}

/// Writes the packet as UTF-8 XML with the declaration, the official namespaces and the
/// element order of `fcsIntegration.xsd` 14.1.
///
/// Money is written with two decimals (rounded half away from zero if it had more).
pub fn write_plan_packet(p: &PlanPacket) -> String {
    let mut w = XmlWriter::new();
    let root = int(p.kind.root_name());
    w.open(
        &root,
        &[("xmlns:int", ns::INTEGRATION), ("xmlns:tp", ns::TP), ("xmlns:base", ns::BASE)],
    );
    write_index(&mut w, &p.index);
    w.open(&int("data"), &[("schemeVersion", ns::SCHEME_VERSION)]);
    let d = &p.data;
    w.leaf_opt(&tp("externalId"), Some(&d.external_id));
    w.leaf_opt(&tp("planNumber"), d.plan_number.as_deref());
    if let Some(v) = d.version_number {
        w.leaf(&tp("versionNumber"), &v.to_string());
    }
    write_common_info(&mut w, d);
    if !d.positions.is_empty() {
        w.open(&tp("positions"), &[]);
        for pos in &d.positions {
            write_position(&mut w, pos);
        }
        w.close(&tp("positions"));
    }
    w.close(&int("data"));
    w.close(&root);
    w.finish()
}

fn write_common_info(w: &mut XmlWriter, d: &PlanData) {
    w.open(&tp("commonInfo"), &[]);
    w.leaf(&tp("planYear"), &d.plan_year.to_string());
    w.open(&tp("planPeriod"), &[]);
    w.leaf(&tp("firstYear"), &d.first_year.to_string());
    w.leaf(&tp("secondYear"), &d.second_year.to_string());
    w.close(&tp("planPeriod"));
    w.open(&tp("customerInfo"), &[]);
    w.leaf(&tp("regNum"), &d.customer_reg_num);
    w.close(&tp("customerInfo"));
    w.open(&tp("ownerInfo"), &[]);
    w.leaf(&tp("regNum"), &d.owner_reg_num);
    w.leaf(&tp("ownerRole"), d.owner_role.as_str());
    w.close(&tp("ownerInfo"));
    w.close(&tp("commonInfo"));
}

fn write_okpd2_info(w: &mut XmlWriter, code: &str) {
    w.open(&tp("OKPD2Info"), &[]);
    w.leaf("base:OKPDCode", code);
    w.close(&tp("OKPD2Info"));
}

fn write_kvr_ref(w: &mut XmlWriter, code: &str) {
    w.open(&tp("KVR"), &[]);
    w.leaf("base:code", code);
    w.close(&tp("KVR"));
}

fn write_years(w: &mut XmlWriter, y: &YearAmounts) {
    // `total` is left out: ЕИС ignores it on receipt and computes it itself.
    w.leaf(&tp("currentYear"), &xml::money(y.current_year));
    w.leaf(&tp("firstYear"), &xml::money(y.first_year));
    w.leaf(&tp("secondYear"), &xml::money(y.second_year));
    w.leaf(&tp("subsecYears"), &xml::money(y.subsec_years));
}

fn write_position(w: &mut XmlWriter, p: &Position) {
    w.open(&tp("position"), &[]);
    w.open(&tp("commonInfo"), &[]);
    w.leaf_opt(&tp("positionNumber"), p.position_number.as_deref());
    w.leaf_opt(&tp("extNumber"), Some(&p.ext_number));
    w.leaf_opt(&tp("IKZ"), Some(&p.ikz));
    w.leaf(&tp("publishYear"), &p.publish_year.to_string());
    w.leaf_opt(&tp("IKU"), p.iku.as_deref());
    w.leaf(&tp("purchaseNumber"), &p.purchase_number);
    match &p.okpd2 {
        Okpd2::Single(code) => write_okpd2_info(w, code),
        Okpd2::Undefined(codes) => {
            w.open(&tp("undefined"), &[]);
            w.open(&tp("OKPD2s"), &[]);
            for code in codes {
                write_okpd2_info(w, code);
            }
            w.close(&tp("OKPD2s"));
            w.close(&tp("undefined"));
        }
    }
    w.open(&tp("KVRInfo"), &[]);
    match &p.kvr {
        Some(code) => write_kvr_ref(w, code),
        None => w.leaf(&tp("undefined"), "000"),
    }
    w.close(&tp("KVRInfo"));
    w.leaf_opt(&tp("purchaseObjectInfo"), Some(&p.purchase_object_info));
    if let Some(b) = p.public_discussion {
        w.leaf(&tp("publicDiscussion"), bool_str(b));
    }
    if let Some(m) = &p.modification {
        w.open(&tp("positionModification"), &[]);
        if !m.change_reason_code.is_empty() {
            w.open(&tp("changeReason"), &[]);
            w.leaf(&tp("code"), &m.change_reason_code);
            w.leaf_opt(&tp("name"), Some(&m.change_reason_name));
            w.close(&tp("changeReason"));
        }
        w.open(&tp("decision"), &[]);
        match m.decision {
            Decision::Changed => w.leaf(&tp("purchaseChanged"), "true"),
            Decision::Canceled => w.leaf(&tp("purchaseCanceled"), "true"),
        }
        w.close(&tp("decision"));
        w.leaf_opt(&tp("description"), Some(&m.description));
        w.close(&tp("positionModification"));
    }
    if let Some(s) = p.modification_status {
        w.leaf(
            &tp("positionModificationStatus"),
            match s {
                ModificationStatus::N => "N",
                ModificationStatus::E => "E",
            },
        );
    }
    w.close(&tp("commonInfo"));

    w.open(&tp("financeInfo"), &[]);
    write_years(w, &p.finance);
    if !p.kbks.is_empty() {
        w.open(&tp("KBKsInfo"), &[]);
        for k in &p.kbks {
            w.open(&tp("KBKInfo"), &[]);
            w.leaf(&tp("KBK"), &k.kbk);
            w.open(&tp("KBKYearsInfo"), &[]);
            write_years(w, &k.years);
            w.close(&tp("KBKYearsInfo"));
            w.close(&tp("KBKInfo"));
        }
        w.close(&tp("KBKsInfo"));
    }
    w.close(&tp("financeInfo"));

    if !p.kvrs.is_empty() {
        w.open(&tp("KVRsInfo"), &[]);
        for k in &p.kvrs {
            w.open(&tp("KVRInfo"), &[]);
            write_kvr_ref(w, &k.kvr);
            w.open(&tp("KVRYearsInfo"), &[]);
            write_years(w, &k.years);
            w.close(&tp("KVRYearsInfo"));
            w.close(&tp("KVRInfo"));
        }
        w.close(&tp("KVRsInfo"));
    }
    w.leaf(&tp("isEnergyServiceContract"), bool_str(p.is_energy_service_contract));
    w.close(&tp("position"));
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

// ---------------------------------------------------------------------------------------------
// Reading

const NS_INT: Option<&str> = Some(ns::INTEGRATION);
const NS_TP: Option<&str> = Some(ns::TP);
const NS_BASE: Option<&str> = Some(ns::BASE);

/// Reads a `tenderPlan2020` or `tenderPlan2020Change` packet, whatever prefixes it uses.
/// Elements the model does not hold are skipped.
pub fn read_plan_packet(xml: &str) -> Result<PlanPacket, ReadError> {
    let doc = xml::parse_document(xml)?;
    let root = El::new(doc.root_element());
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
    let data = read_plan_data(root.req(NS_INT, "data", &path)?, &data_path, kind)?;
    Ok(PlanPacket { kind, index, data })
}

/// Reads only the `index` of any packet: lets a receiver answer about a packet whose `data`
/// it cannot read.
pub fn read_packet_index(xml: &str) -> Result<PacketIndex, ReadError> {
    let doc = xml::parse_document(xml)?;
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

fn read_plan_data(data: El<'_, '_>, path: &Path, kind: PlanPacketKind) -> Result<PlanData, ReadError> {
    let plan_number = data.opt_text(NS_TP, "planNumber");
    if kind == PlanPacketKind::Change && plan_number.is_none() {
        return Err(ReadError::Missing(path.join("planNumber").0));
    }
    let version_number = match data.opt_text(NS_TP, "versionNumber") {
        Some(v) => Some(xml::parse_num(&v, &path.join("versionNumber").0, "not a version number")?),
        None => None,
    };
    // commonInfo is optional in a change; the model always carries it, as plangraf writes it.
    let ci_path = path.join("commonInfo");
    let ci = data.req(NS_TP, "commonInfo", path)?;
    let period_path = ci_path.join("planPeriod");
    let period = ci.req(NS_TP, "planPeriod", &ci_path)?;
    let customer = ci.req(NS_TP, "customerInfo", &ci_path)?;
    let owner = ci.req(NS_TP, "ownerInfo", &ci_path)?;
    let owner_path = ci_path.join("ownerInfo");
    let role = owner.req_text(NS_TP, "ownerRole", &owner_path)?;
    let owner_role = match role.as_str() {
        "CU" => OwnerRole::Cu,
        "OA" => OwnerRole::Oa,
        other => return Err(ReadError::invalid(&owner_path.join("ownerRole").0, other, "expected CU or OA")),
    };
    let mut positions = Vec::new();
    if let Some(ps) = data.child(NS_TP, "positions") {
        let ps_path = path.join("positions");
        for (i, p) in ps.children(NS_TP, "position").enumerate() {
            positions.push(read_position(p, &ps_path.nth("position", i))?);
        }
    }
    Ok(PlanData {
        external_id: data.opt_text(NS_TP, "externalId").unwrap_or_default(),
        plan_number,
        version_number,
        plan_year: year(ci, "planYear", &ci_path)?,
        first_year: year(period, "firstYear", &period_path)?,
        second_year: year(period, "secondYear", &period_path)?,
        customer_reg_num: customer.req_text(NS_TP, "regNum", &ci_path.join("customerInfo"))?,
        owner_reg_num: owner.req_text(NS_TP, "regNum", &owner_path)?,
        owner_role,
        positions,
    })
}

fn read_years(el: El<'_, '_>, path: &Path) -> Result<YearAmounts, ReadError> {
    let amount = |name: &'static str| -> Result<Decimal, ReadError> {
        match el.opt_text(NS_TP, name) {
            Some(t) => xml::parse_money(&t, &path.join(name).0),
            None => Ok(Decimal::ZERO),
        }
    };
    Ok(YearAmounts {
        current_year: amount("currentYear")?,
        first_year: amount("firstYear")?,
        second_year: amount("secondYear")?,
        subsec_years: amount("subsecYears")?,
    })
}

fn read_kvr_code(kvr: El<'_, '_>, path: &Path) -> Result<String, ReadError> {
    kvr.req_text(NS_BASE, "code", path)
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

    let kvr_path = ci_path.join("KVRInfo");
    let kvr_info = ci.req(NS_TP, "KVRInfo", &ci_path)?;
    let kvr = match kvr_info.child(NS_TP, "KVR") {
        Some(k) => Some(read_kvr_code(k, &kvr_path.join("KVR"))?),
        None if kvr_info.child(NS_TP, "undefined").is_some() => None,
        None => return Err(ReadError::Missing(kvr_path.join("KVR").0)),
    };

    let public_discussion = match ci.opt_text(NS_TP, "publicDiscussion") {
        Some(t) => Some(xml::parse_bool(&t, &ci_path.join("publicDiscussion").0)?),
        None => None,
    };

    let modification = match ci.child(NS_TP, "positionModification") {
        None => None,
        Some(m) => {
            let mp = ci_path.join("positionModification");
            let (code, name) = match m.child(NS_TP, "changeReason") {
                Some(r) => (
                    r.req_text(NS_TP, "code", &mp.join("changeReason"))?,
                    r.opt_text(NS_TP, "name").unwrap_or_default(),
                ),
                None => (String::new(), String::new()),
            };
            let dec = m.req(NS_TP, "decision", &mp)?;
            let decision = if dec.child(NS_TP, "purchaseChanged").is_some() {
                Decision::Changed
            } else if dec.child(NS_TP, "purchaseCanceled").is_some() {
                Decision::Canceled
            } else {
                return Err(ReadError::Unsupported {
                    path: mp.join("decision").0,
                    what: "only purchaseChanged and purchaseCanceled are supported".into(),
                });
            };
            Some(Modification {
                change_reason_code: code,
                change_reason_name: name,
                decision,
                description: m.opt_text(NS_TP, "description").unwrap_or_default(),
            })
        }
    };

    let modification_status = match ci.opt_text(NS_TP, "positionModificationStatus").as_deref() {
        None => None,
        Some("N") => Some(ModificationStatus::N),
        Some("E") => Some(ModificationStatus::E),
        Some(other) => {
            return Err(ReadError::invalid(&ci_path.join("positionModificationStatus").0, other, "expected N or E"));
        }
    };

    let fin_path = path.join("financeInfo");
    let fin = pos.req(NS_TP, "financeInfo", path)?;
    let mut kbks = Vec::new();
    if let Some(list) = fin.child(NS_TP, "KBKsInfo") {
        let lp = fin_path.join("KBKsInfo");
        for (i, k) in list.children(NS_TP, "KBKInfo").enumerate() {
            let kp = lp.nth("KBKInfo", i);
            kbks.push(KbkAmounts {
                kbk: k.req_text(NS_TP, "KBK", &kp)?,
                years: read_years(k.req(NS_TP, "KBKYearsInfo", &kp)?, &kp.join("KBKYearsInfo"))?,
            });
        }
    }
    let mut kvrs = Vec::new();
    if let Some(list) = pos.child(NS_TP, "KVRsInfo") {
        let lp = path.join("KVRsInfo");
        for (i, k) in list.children(NS_TP, "KVRInfo").enumerate() {
            let kp = lp.nth("KVRInfo", i);
            kvrs.push(KvrAmounts {
                kvr: read_kvr_code(k.req(NS_TP, "KVR", &kp)?, &kp.join("KVR"))?,
                years: read_years(k.req(NS_TP, "KVRYearsInfo", &kp)?, &kp.join("KVRYearsInfo"))?,
            });
        }
    }
    let energy = pos.req_text(NS_TP, "isEnergyServiceContract", path)?;

    Ok(Position {
        position_number: ci.opt_text(NS_TP, "positionNumber"),
        ext_number: ci.opt_text(NS_TP, "extNumber").unwrap_or_default(),
        ikz: ci.opt_text(NS_TP, "IKZ").unwrap_or_default(),
        publish_year: year(ci, "publishYear", &ci_path)?,
        iku: ci.opt_text(NS_TP, "IKU"),
        purchase_number: ci.req_text(NS_TP, "purchaseNumber", &ci_path)?,
        okpd2,
        kvr,
        purchase_object_info: ci.opt_text(NS_TP, "purchaseObjectInfo").unwrap_or_default(),
        public_discussion,
        finance: read_years(fin, &fin_path)?,
        kbks,
        kvrs,
        is_energy_service_contract: xml::parse_bool(&energy, &path.join("isEnergyServiceContract").0)?,
        modification,
        modification_status,
    })
}

// ---------------------------------------------------------------------------------------------
// Structural checks

/// One place where a packet does not fit the lengths and patterns of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, as an element path (`data/positions/position[2]/commonInfo/IKZ`).
    pub path: String,
    /// What is wrong, in Russian.
    pub message: String,
}

fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

struct Checker(Vec<Problem>);

impl Checker {
    fn add(&mut self, path: &str, message: String) {
        self.0.push(Problem { path: path.to_owned(), message });
    }
    fn digits(&mut self, path: &str, s: &str, n: usize, what: &str) {
        if !is_digits(s, n) {
            self.add(path, format!("{what} должен состоять из {n} цифр (указано «{s}»)"));
        }
    }
    fn len(&mut self, path: &str, s: &str, min: usize, max: usize, what: &str) {
        let n = s.chars().count();
        if n < min || n > max {
            if min == max {
                self.add(path, format!("{what}: требуется ровно {min} символов, указано {n}"));
            } else {
                self.add(path, format!("{what}: допустимая длина {min}–{max} символов, указано {n}"));
            }
        }
        if !s.chars().all(xml::is_xml_char) {
            self.add(path, format!("{what} содержит недопустимые управляющие символы"));
        }
    }
    fn year(&mut self, path: &str, y: i32, what: &str) {
        if !(1000..=9999).contains(&y) {
            self.add(path, format!("{what}: год должен состоять из 4 цифр (указано {y})"));
        }
    }
    fn money(&mut self, path: &str, d: Decimal) {
        // 18 digits before the point; the writer rounds to two decimals.
        if d.abs().trunc() >= Decimal::from(10u64.pow(18)) {
            self.add(path, format!("Сумма {d} превышает 18 знаков до запятой"));
        }
        if d.scale() > 2 && d.round_dp(2) != d {
            self.add(path, format!("Сумма {d} содержит более двух знаков после запятой"));
        }
    }
    fn years(&mut self, path: &str, y: &YearAmounts) {
        self.money(&format!("{path}/currentYear"), y.current_year);
        self.money(&format!("{path}/firstYear"), y.first_year);
        self.money(&format!("{path}/secondYear"), y.second_year);
        self.money(&format!("{path}/subsecYears"), y.subsec_years);
    }
}

impl PlanPacket {
    /// Where the packet does not fit the schema's lengths, patterns and required elements.
    /// An empty list means the written XML is valid against `fcsIntegration.xsd` as far as
    /// this model can make it invalid. Business rules (ИКЗ consistency and the like) are not
    /// checked here.
    pub fn problems(&self) -> Vec<Problem> {
        let mut c = Checker(Vec::new());
        let i = &self.index;
        c.len("index/id", &i.id, 36, 36, "Идентификатор пакета");
        c.len("index/sender", &i.sender, 0, 200, "Отправитель");
        c.len("index/receiver", &i.receiver, 0, 200, "Получатель");
        c.len("index/objectType", &i.object_type, 1, 10, "Тип объекта");
        let d = &self.data;
        c.len("data/externalId", &d.external_id, 1, 40, "Внешний идентификатор документа");
        match (&d.plan_number, self.kind) {
            (Some(n), _) => c.len("data/planNumber", n, 18, 18, "Реестровый номер плана-графика"),
            (None, PlanPacketKind::Change) => c.add(
                "data/planNumber",
                "Для изменения плана-графика обязателен реестровый номер плана-графика".into(),
            ),
            (None, PlanPacketKind::New) => {}
        }
        c.year("data/commonInfo/planYear", d.plan_year, "Год плана");
        c.year("data/commonInfo/planPeriod/firstYear", d.first_year, "Первый год планового периода");
        c.year("data/commonInfo/planPeriod/secondYear", d.second_year, "Второй год планового периода");
        c.digits("data/commonInfo/customerInfo/regNum", &d.customer_reg_num, 11, "Код заказчика по СПЗ");
        c.digits("data/commonInfo/ownerInfo/regNum", &d.owner_reg_num, 11, "Код владельца по СПЗ");
        for (n, p) in d.positions.iter().enumerate() {
            let base = format!("data/positions/position[{}]", n + 1);
            let ci = format!("{base}/commonInfo");
            if let Some(num) = &p.position_number {
                c.len(&format!("{ci}/positionNumber"), num, 24, 24, "Реестровый номер позиции");
            }
            c.len(&format!("{ci}/extNumber"), &p.ext_number, 1, 100, "Внешний номер позиции");
            c.digits(&format!("{ci}/IKZ"), &p.ikz, 36, "ИКЗ");
            c.year(&format!("{ci}/publishYear"), p.publish_year, "Год размещения извещения");
            if let Some(iku) = &p.iku {
                c.digits(&format!("{ci}/IKU"), iku, 20, "ИКУ");
            }
            c.digits(&format!("{ci}/purchaseNumber"), &p.purchase_number, 4, "Номер закупки");
            match &p.okpd2 {
                Okpd2::Single(code) => c.len(&format!("{ci}/OKPD2Info/OKPDCode"), code, 1, 12, "Код ОКПД2"),
                Okpd2::Undefined(codes) => {
                    if codes.is_empty() {
                        c.add(&format!("{ci}/undefined/OKPD2s"), "Не указан ни один код ОКПД2".into());
                    }
                    for (k, code) in codes.iter().enumerate() {
                        c.len(&format!("{ci}/undefined/OKPD2s/OKPD2Info[{}]/OKPDCode", k + 1), code, 1, 12, "Код ОКПД2");
                    }
                }
            }
            if let Some(kvr) = &p.kvr {
                c.len(&format!("{ci}/KVRInfo/KVR/code"), kvr, 3, 3, "Код КВР");
            }
            c.len(&format!("{ci}/purchaseObjectInfo"), &p.purchase_object_info, 1, 2000, "Наименование объекта закупки");
            if let Some(m) = &p.modification {
                let mp = format!("{ci}/positionModification");
                if !m.change_reason_code.is_empty() {
                    c.len(&format!("{mp}/changeReason/code"), &m.change_reason_code, 1, 10, "Код основания изменения");
                }
                c.len(&format!("{mp}/changeReason/name"), &m.change_reason_name, 0, 2000, "Наименование основания изменения");
                c.len(&format!("{mp}/description"), &m.description, 0, 2000, "Обоснование изменения");
            }
            c.years(&format!("{base}/financeInfo"), &p.finance);
            for (k, kbk) in p.kbks.iter().enumerate() {
                let kp = format!("{base}/financeInfo/KBKsInfo/KBKInfo[{}]", k + 1);
                c.len(&format!("{kp}/KBK"), &kbk.kbk, 20, 20, "КБК");
                c.years(&format!("{kp}/KBKYearsInfo"), &kbk.years);
            }
            for (k, kvr) in p.kvrs.iter().enumerate() {
                let kp = format!("{base}/KVRsInfo/KVRInfo[{}]", k + 1);
                c.len(&format!("{kp}/KVR/code"), &kvr.kvr, 3, 3, "Код КВР");
                c.years(&format!("{kp}/KVRYearsInfo"), &kvr.years);
            }
        }
        c.0
    }
}
