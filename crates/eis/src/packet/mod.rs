//! Plan-schedule packets (`tenderPlan2020`, `tenderPlan2020Change`) of `fcsIntegration.xsd`,
//! and the plan content (`tp:tenderPlan2020Type`) they share with what ЕИС publishes
//! ([`crate::export`]).
//!
//! The model types what a РИС sends — positions, special purchase positions, their financing
//! and change justifications — and what ЕИС adds when it publishes: its ids and dates, the
//! organizations' details from its directory, `positionCanceled`, `modificationNumber`,
//! `total` of every amount block and the plan's totals. ЕИС ignores those on receipt, so
//! plangraf leaves them empty. What the model has no field for (names ЕИС copies from НСИ,
//! attachments, the print form, rarely used blocks) is kept as read in [`Kept`] and written back
//! in its place, so a document read and written again loses nothing.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;

pub use crate::ReadError;
pub use crate::kept::{Kept, KeptElement, XmlAttribute, XmlElement};
use crate::xml;

mod problems;
mod read;
mod signed;
mod write;

pub use problems::Problem;
pub(crate) use read::{read_index_el, read_plan_content};
pub use read::{read_packet_index, read_plan_packet};
pub use signed::{SignedParts, read_signed_parts, signed_data, with_signature};
pub(crate) use write::{Target, write_index, write_plan_content};
pub use write::{write_plan_packet, write_plan_packet_with};

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
    pub fn new(
        sender: impl Into<String>,
        receiver: impl Into<String>,
        object_type: impl Into<String>,
        mode: Mode,
    ) -> Self {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OwnerRole {
    /// `CU`: the customer itself.
    #[default]
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

/// An `xs:dateTime` as written. ЕИС writes some dates with an offset and some without (Moscow
/// time); the text is kept so that a date is written back exactly as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EisDateTime {
    text: String,
    at: DateTime<FixedOffset>,
}

impl EisDateTime {
    pub fn new(at: DateTime<FixedOffset>) -> Self {
        EisDateTime { text: xml::date_time(&at), at }
    }

    pub fn at(&self) -> DateTime<FixedOffset> {
        self.at
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn parse(text: &str, path: &str) -> Result<Self, ReadError> {
        Ok(EisDateTime { at: xml::parse_date_time(text, path)?, text: text.to_owned() })
    }
}

impl From<DateTime<FixedOffset>> for EisDateTime {
    fn from(at: DateTime<FixedOffset>) -> Self {
        EisDateTime::new(at)
    }
}

/// A code with its name from a classifier (`base:OKTMORef`, `OKFSRef`, `OKOPFRef`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeName {
    pub code: String,
    /// `name` (`singularName` for OKOPF).
    pub name: Option<String>,
}

/// `base:organizationRef`: an organization named by its СПЗ code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgRef {
    pub reg_num: String,
    pub cons_registry_num: Option<String>,
    pub full_name: Option<String>,
}

/// `tenderPlan2020OrganizationType` beside `regNum`: ЕИС fills all of it from its directory
/// and ignores it on receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgDetails {
    /// Code in the consolidated register, 8 characters.
    pub cons_registry_num: Option<String>,
    pub full_name: Option<String>,
    pub inn: Option<String>,
    pub kpp: Option<String>,
    pub oktmo: Option<CodeName>,
    pub fact_address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub control_authority: Option<OrgRef>,
}

/// `customerInfo` beside `regNum`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerDetails {
    pub org: OrgDetails,
    pub okopf: Option<CodeName>,
    pub okfs: Option<CodeName>,
    pub oktmo_ppo: Option<CodeName>,
}

/// `confirmContactInfo`: who signed the version in ЕИС.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactPerson {
    pub last_name: String,
    pub first_name: String,
    pub middle_name: Option<String>,
    pub position: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanData {
    /// `id`: ЕИС's id of this revision; in what ЕИС publishes.
    pub id: Option<i64>,
    /// The РИС's own key of the document, 1–40 characters.
    pub external_id: String,
    /// Registry number (18 characters) assigned by ЕИС; required for `Change`.
    pub plan_number: Option<String>,
    pub version_number: Option<u32>,
    pub plan_year: i32,
    pub first_year: i32,
    pub second_year: i32,
    /// Dates ЕИС sets: the base draft saved, the version signed, sent for placement, placed.
    pub create_date: Option<EisDateTime>,
    pub confirm_date: Option<EisDateTime>,
    pub direct_date: Option<EisDateTime>,
    pub publish_date: Option<EisDateTime>,
    /// СПЗ code of the customer, 11 digits.
    pub customer_reg_num: String,
    pub customer: CustomerDetails,
    pub owner_reg_num: String,
    pub owner: OrgDetails,
    pub owner_role: OwnerRole,
    pub confirm_contact: Option<ContactPerson>,
    pub positions: Vec<Position>,
    pub special_positions: Vec<SpecialPosition>,
    /// The plan's totals, which ЕИС computes.
    pub outcome: Option<OutcomeIndicators>,
    /// What the model has no field for, outside the positions: attachments, the print form, …
    pub kept: Kept,
}

/// OKPD2 of a position: one code, or several (`undefined`, giving `0000` in the ИКЗ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Okpd2 {
    Single(String),
    Undefined(Vec<String>),
}

impl Default for Okpd2 {
    fn default() -> Self {
        Okpd2::Single(String::new())
    }
}

/// Amounts of one financing block per year (`tenderPlan2020FinanceResourcesType`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearAmounts {
    /// `total` as ЕИС publishes it; ЕИС computes it on receipt, so a РИС leaves it out.
    pub total: Option<Decimal>,
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

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KbkAmounts {
    /// Budget classification code, 20 characters.
    pub kbk: String,
    pub years: YearAmounts,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvrAmounts {
    /// Expense-type code, 3 characters.
    pub kvr: String,
    pub years: YearAmounts,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetArticleAmounts {
    /// Target article (КБК digits 4–13), 10 characters.
    pub target_article: String,
    pub years: YearAmounts,
}

/// `positionModification/decision` (and the same of a special position).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Changed,
    Canceled,
    /// `notSpecified`: allowed only for new positions.
    NotSpecified,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modification {
    /// Code from NSI `nsiTenderPlan2020PositionChangeReason` (≤10 characters). Optional for a
    /// position (empty: not written), required for a special position.
    pub change_reason_code: String,
    /// Name of the reason; ЕИС takes it from NSI, so it may be empty.
    pub change_reason_name: String,
    pub decision: Decision,
    pub description: String,
    /// The version the change was made in; ЕИС fills it when it publishes.
    pub modification_number: Option<u32>,
}

/// `positionModificationStatus` (`specialPurchasePositionModificationStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModificationStatus {
    /// Carried over unchanged from the previous version.
    N,
    /// Edited in this version.
    E,
}

impl ModificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ModificationStatus::N => "N",
            ModificationStatus::E => "E",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// `positionCanceled`: ЕИС sets it when it publishes a cancelled purchase.
    pub canceled: Option<bool>,
    pub finance: YearAmounts,
    pub kbks: Vec<KbkAmounts>,
    pub kvrs: Vec<KvrAmounts>,
    /// `targetArticlesInfo`: for budget (03) and autonomous (10) institutions only.
    pub target_articles: Vec<TargetArticleAmounts>,
    pub is_energy_service_contract: bool,
    pub modification: Option<Modification>,
    pub modification_status: Option<ModificationStatus>,
    /// What the model has no field for inside this position (OKPD2 and KVR names, …).
    pub kept: Kept,
}

/// `specialPurchasePosition` (`tenderPlan2020SpecialPurchasePositionType`): a purchase made
/// without a notice (e.g. п. 4 ч. 1 ст. 93 44-ФЗ), planned as one sum without OKPD2.
///
/// Its ИКЗ has no OKPD2 part: year(2) · ИКУ(20) · purchase number(4) · `000` · `0000` ·
/// KVR(3, `000` when undefined). Purchase numbers are shared with the regular positions and
/// must be unique across both kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialPosition {
    /// Type code from NSI `nsiSpecialPurchase2020` (≤10 characters), e.g. `P4_1_93`.
    pub type_code: String,
    /// Its name; ЕИС takes it from NSI.
    pub type_name: Option<String>,
    pub position_number: Option<String>,
    pub ext_number: String,
    pub ikz: String,
    pub publish_year: i32,
    pub iku: Option<String>,
    /// KVR code (3 characters); `None` is `undefined`.
    pub kvr: Option<String>,
    pub purchase_number: String,
    pub finance: YearAmounts,
    /// `KBKsInfo`: for authorities (01), extra-budgetary funds (02) and treasury institutions (08).
    pub kbks: Vec<KbkAmounts>,
    /// `KVRsInfo`: required for budget (03) and autonomous (10) institutions, forbidden otherwise.
    pub kvrs: Vec<KvrAmounts>,
    /// `targetArticlesInfo`: for budget (03) and autonomous (10) institutions only.
    pub target_articles: Vec<TargetArticleAmounts>,
    /// `specialPurchasePositionModification`: required with status `E`; its change reason is
    /// required.
    pub modification: Option<Modification>,
    /// `specialPurchasePositionModificationStatus`; ignored by ЕИС for a new special position.
    pub modification_status: Option<ModificationStatus>,
    pub kept: Kept,
}

/// `outcomeIndicators`: the plan's totals. ЕИС computes them and ignores them on receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomeIndicators {
    pub totals: Option<YearAmounts>,
    /// `KBKsTotalsInfo/KBKTotalsInfo`.
    pub kbk_totals: Vec<KbkAmounts>,
    /// `targetArticlesTotalsInfo/targetArticleTotalsInfo`.
    pub target_article_totals: Vec<TargetArticleAmounts>,
    /// `KVRsTotalsInfo/KVRTotalsInfo`.
    pub kvr_totals: Vec<KvrAmounts>,
}

impl PlanData {
    /// `(extNumber, positionNumber)` of every position, then of every special position, in
    /// document order.
    pub fn position_numbers(&self) -> Vec<(&str, Option<&str>)> {
        let regular = self.positions.iter().map(|p| (p.ext_number.as_str(), p.position_number.as_deref()));
        let special = self.special_positions.iter().map(|p| (p.ext_number.as_str(), p.position_number.as_deref()));
        regular.chain(special).collect()
    }
}
