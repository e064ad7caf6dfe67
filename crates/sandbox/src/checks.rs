//! The business checks the sandbox runs on a received plan-schedule packet. Pure: what the
//! storage knows comes in through [`Context`]. Every violation has a stable `errCode`,
//! documented in `docs/SANDBOX.md`.

use std::collections::BTreeMap;

use eis::ReadError;
use eis::packet::{ModificationStatus, Okpd2, OwnerRole, PlanPacket, PlanPacketKind, Position, SpecialPosition};
use eis::reply::{Violation, ViolationLevel};

use crate::directory::PlanSource;

/// The stable error codes (`errCode`, at most 10 characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    Schema,
    XmlRead,
    OrgCustomer,
    OrgOwner,
    OrgPowers,
    NoPositions,
    DuplicateNumber,
    IkzFormat,
    IkzYear,
    IkzIku,
    IkzNumber,
    IkzOrder,
    IkzOkpd2,
    IkzKvr,
    Okpd2Length,
    PlanInEis,
    PlanNotFound,
    PlanPlaced,
    VersionExists,
    Signature,
    SignatureUnchecked,
}

impl Code {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Code::Schema => "XSD",
            Code::XmlRead => "XML_READ",
            Code::OrgCustomer => "ORG_CUST",
            Code::OrgOwner => "ORG_OWNER",
            Code::OrgPowers => "ORG_POWERS",
            Code::NoPositions => "POS_NONE",
            Code::DuplicateNumber => "POS_DUP",
            Code::IkzFormat => "IKZ_FORMAT",
            Code::IkzYear => "IKZ_YEAR",
            Code::IkzIku => "IKZ_IKU",
            Code::IkzNumber => "IKZ_NUM",
            Code::IkzOrder => "IKZ_ORDER",
            Code::IkzOkpd2 => "IKZ_OKPD2",
            Code::IkzKvr => "IKZ_KVR",
            Code::Okpd2Length => "OKPD2_LEN",
            Code::PlanInEis => "PLAN_EIS",
            Code::PlanNotFound => "PLAN_NF",
            Code::PlanPlaced => "PLAN_PUB",
            Code::VersionExists => "VER_DUP",
            Code::Signature => "ECP_SIGN",
            Code::SignatureUnchecked => "ECP_TRUST",
        }
    }

    /// The violation's `name`: short and fixed per code.
    fn name(self) -> &'static str {
        match self {
            Code::Schema => "Пакет не соответствует схеме ЕИС",
            Code::XmlRead => "Пакет не прочитан",
            Code::OrgCustomer => "Заказчик не является организацией пользователя",
            Code::OrgOwner => "Владелец плана-графика указан неверно",
            Code::OrgPowers => "Нет полномочий размещать план-график заказчика",
            Code::NoPositions => "План-график не содержит позиций",
            Code::DuplicateNumber => "Номер закупки повторяется в плане-графике",
            Code::IkzFormat => "ИКЗ должен состоять из 36 цифр",
            Code::IkzYear => "ИКЗ не соответствует году размещения извещения",
            Code::IkzIku => "ИКЗ не соответствует ИКУ организации",
            Code::IkzNumber => "ИКЗ не соответствует номеру закупки",
            Code::IkzOrder => "ИКЗ: порядковый номер закупки в плане-графике должен быть 000",
            Code::IkzOkpd2 => "ИКЗ не соответствует коду ОКПД2",
            Code::IkzKvr => "ИКЗ не соответствует коду вида расходов (КВР)",
            Code::Okpd2Length => "Код ОКПД2 должен содержать не менее 4 цифр",
            Code::PlanInEis => "Отправка невозможна: план-график на этот период создан в ЕИС не из РИС",
            Code::PlanNotFound => "План-график с указанным реестровым номером не найден",
            Code::PlanPlaced => "План-график уже размещен: изменения направляются пакетом tenderPlan2020Change",
            Code::VersionExists => "Версия плана-графика уже загружена",
            Code::Signature => "Электронная подпись пакета недействительна",
            Code::SignatureUnchecked => "Электронная подпись пакета не может быть проверена",
        }
    }
}

/// The schema check's verdict as one violation: the first issues, with their lines.
pub(crate) fn schema_violation(issues: &[eis::validate::SchemaIssue]) -> Violation {
    let shown: Vec<String> = issues.iter().take(20).map(|i| i.to_string_ru()).collect();
    violation(Code::Schema, format!("Ошибок: {}. {}", issues.len(), shown.join("; ")))
}

pub(crate) fn violation(code: Code, description: String) -> Violation {
    Violation {
        err_code: code.as_str().to_owned(),
        level: ViolationLevel::Error,
        name: code.name().to_owned(),
        description: Some(description),
    }
}

pub(crate) fn unreadable(e: &ReadError) -> Violation {
    violation(Code::XmlRead, format!("Пакет не соответствует формату плана-графика: {}", e.message_ru()))
}

/// A plan-schedule the sandbox already holds.
#[derive(Debug, Clone)]
pub(crate) struct ExistingPlan {
    pub(crate) org_reg_num: String,
    pub(crate) plan_year: i32,
    pub(crate) source: PlanSource,
    /// Assigned at the first placement.
    pub(crate) plan_number: Option<String>,
    pub(crate) versions: Vec<u32>,
}

/// INN and KPP of an organization in the directory.
#[derive(Debug, Clone)]
pub(crate) struct OrgIds {
    pub(crate) inn: String,
    pub(crate) kpp: String,
}

/// The first digit of the ИКУ that ЕИС gives the organizations of its directory. The sandbox's
/// directory has no budget level, and the ИКУ checks compare only the INN and KPP that follow;
/// `2` (a subject of the Federation) is the level of the demo region and of the real samples.
pub(crate) const IKU_LEVEL: char = '2';

impl OrgIds {
    /// The ИКУ (20 digits: level · INN · KPP) that ЕИС puts into the ИКЗ of a position made in
    /// its cabinet. `None` when the INN is not 10 digits or the KPP not 9 digits (the layout
    /// the ИКУ checks know).
    pub(crate) fn iku(&self) -> Option<String> {
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        (digits(&self.inn, 10) && digits(&self.kpp, 9)).then(|| format!("{IKU_LEVEL}{}{}", self.inn, self.kpp))
    }
}

pub(crate) struct Context<'a> {
    /// СПЗ code of the uploading user's organization.
    pub(crate) user_org: &'a str,
    /// The owner organization, when the directory knows it.
    pub(crate) owner: Option<OrgIds>,
    /// For ownerRole OA: whether the owner holds the customer's powers under an agreement.
    pub(crate) agent_has_powers: bool,
    /// The plan of the packet's customer and plan year, if any.
    pub(crate) period_plan: Option<ExistingPlan>,
    /// For a change: the plan with the packet's plan number, if any.
    pub(crate) numbered_plan: Option<ExistingPlan>,
}

fn label(p: &Position) -> String {
    if p.ext_number.is_empty() {
        format!("Позиция с номером закупки {}", p.purchase_number)
    } else {
        format!("Позиция с номером закупки {} (внешний номер {})", p.purchase_number, p.ext_number)
    }
}

fn special_label(p: &SpecialPosition) -> String {
    if p.ext_number.is_empty() {
        format!("Позиция особой закупки с номером закупки {}", p.purchase_number)
    } else {
        format!("Позиция особой закупки с номером закупки {} (внешний номер {})", p.purchase_number, p.ext_number)
    }
}

/// Whether the user's organization may send this plan: the first failure, if any. Checked
/// before anything else and alone, so that a packet naming another customer learns nothing
/// of that customer's plans, versions or registry data.
fn ownership(d: &eis::packet::PlanData, ctx: &Context<'_>) -> Option<Violation> {
    match d.owner_role {
        OwnerRole::Cu if d.customer_reg_num != ctx.user_org => Some(violation(
            Code::OrgCustomer,
            format!(
                "Код заказчика по СПЗ {} не совпадает с кодом организации пользователя {}",
                d.customer_reg_num, ctx.user_org
            ),
        )),
        OwnerRole::Cu if d.owner_reg_num != d.customer_reg_num => Some(violation(
            Code::OrgOwner,
            format!(
                "При роли владельца CU (заказчик) код владельца {} должен совпадать с кодом заказчика {}",
                d.owner_reg_num, d.customer_reg_num
            ),
        )),
        OwnerRole::Oa if d.owner_reg_num != ctx.user_org => Some(violation(
            Code::OrgOwner,
            format!(
                "Код организации, действующей от имени заказчика, {} не совпадает с кодом организации пользователя {}",
                d.owner_reg_num, ctx.user_org
            ),
        )),
        OwnerRole::Oa if !ctx.agent_has_powers => Some(violation(
            Code::OrgPowers,
            format!(
                "Организация {} не имеет полномочий на размещение плана-графика заказчика {}: соглашение о передаче \
                 полномочий не зарегистрировано",
                d.owner_reg_num, d.customer_reg_num
            ),
        )),
        _ => None,
    }
}

pub(crate) fn check(packet: &PlanPacket, ctx: &Context<'_>) -> Vec<Violation> {
    let d = &packet.data;
    if let Some(refused) = ownership(d, ctx) {
        return vec![refused];
    }
    let mut out = Vec::new();

    // The period conflict comes next: it makes every other finding moot for the user.
    let target = match packet.kind {
        PlanPacketKind::New => ctx.period_plan.as_ref(),
        PlanPacketKind::Change => ctx.numbered_plan.as_ref().filter(|p| p.org_reg_num == d.customer_reg_num),
    };
    if packet.kind == PlanPacketKind::Change && target.is_none() {
        out.push(violation(
            Code::PlanNotFound,
            format!(
                "План-график с реестровым номером {} заказчика {} не найден; изменение можно направить только \
                 для размещенного в ЕИС плана-графика",
                d.plan_number.as_deref().unwrap_or("(не указан)"),
                d.customer_reg_num
            ),
        ));
    }
    if let Some(plan) = target {
        if plan.source == PlanSource::Eis {
            out.push(violation(
                Code::PlanInEis,
                format!(
                    "Отправка плана-графика невозможна: план-график заказчика {} на {} год (плановый период {}–{} гг.) \
                     создан в ЕИС непосредственно, а не интегрирован из РИС. Загрузка плана-графика на этот период \
                     из РИС невозможна.",
                    plan.org_reg_num,
                    plan.plan_year,
                    plan.plan_year + 1,
                    plan.plan_year + 2
                ),
            ));
        } else if let (PlanPacketKind::New, Some(number)) = (packet.kind, &plan.plan_number) {
            out.push(violation(
                Code::PlanPlaced,
                format!(
                    "План-график заказчика {} на {} год размещен в ЕИС под реестровым номером {number}; новую версию \
                     направьте пакетом tenderPlan2020Change с этим номером",
                    plan.org_reg_num, plan.plan_year
                ),
            ));
        } else if let Some(v) = d.version_number.filter(|v| plan.versions.contains(v)) {
            out.push(violation(
                Code::VersionExists,
                format!(
                    "Версия {v} плана-графика заказчика {} на {} год уже загружена",
                    plan.org_reg_num, plan.plan_year
                ),
            ));
        }
    }

    if d.positions.is_empty() && d.special_positions.is_empty() {
        out.push(violation(
            Code::NoPositions,
            "В плане-графике должна быть указана хотя бы одна позиция или позиция особой закупки".into(),
        ));
    }

    // Purchase numbers are one sequence for positions and special positions alike.
    let mut by_number: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for p in &d.positions {
        by_number.entry(p.purchase_number.as_str()).or_default().push(p.ext_number.clone());
    }
    for p in &d.special_positions {
        by_number.entry(p.purchase_number.as_str()).or_default().push(format!("{} (особая закупка)", p.ext_number));
    }
    for (number, exts) in by_number.iter().filter(|(_, l)| l.len() > 1) {
        out.push(violation(
            Code::DuplicateNumber,
            format!("Номер закупки {number} указан в {} позициях (внешние номера: {})", exts.len(), exts.join(", ")),
        ));
    }

    for p in &d.positions {
        check_okpd2_length(p, &mut out);
        // ЕИС ignores the ИКЗ of an edited position and keeps the previous one.
        if p.modification_status != Some(ModificationStatus::E) {
            check_position_ikz(p, ctx.owner.as_ref(), &mut out);
        }
    }
    for p in &d.special_positions {
        if p.modification_status != Some(ModificationStatus::E) {
            let subject = IkzSubject {
                label: special_label(p),
                ikz: &p.ikz,
                publish_year: p.publish_year,
                iku: p.iku.as_deref(),
                purchase_number: &p.purchase_number,
                okpd4: Okpd4::None,
                kvr: p.kvr.as_deref(),
            };
            check_ikz(&subject, ctx.owner.as_ref(), &mut out);
        }
    }
    out
}

/// The ИКЗ checks of one position against its fields and the owner organization.
pub(crate) fn check_position_ikz(p: &Position, owner: Option<&OrgIds>, out: &mut Vec<Violation>) {
    let okpd4 = match &p.okpd2 {
        Okpd2::Single(code) => okpd2_digits(code).chars().take(4).collect::<String>(),
        Okpd2::Undefined(_) => "0000".to_owned(),
    };
    let subject = IkzSubject {
        label: label(p),
        ikz: &p.ikz,
        publish_year: p.publish_year,
        iku: p.iku.as_deref(),
        purchase_number: &p.purchase_number,
        okpd4: Okpd4::Code(okpd4),
        kvr: p.kvr.as_deref(),
    };
    check_ikz(&subject, owner, out);
}

/// IKZ digits 30–33.
enum Okpd4 {
    /// The first four digits of the position's OKPD2 (`0000` for `undefined`).
    Code(String),
    /// A special position has no OKPD2: `0000`.
    None,
}

/// What the ИКЗ checks need of a position or a special position.
struct IkzSubject<'a> {
    label: String,
    ikz: &'a str,
    publish_year: i32,
    iku: Option<&'a str>,
    purchase_number: &'a str,
    okpd4: Okpd4,
    kvr: Option<&'a str>,
}

fn okpd2_digits(code: &str) -> String {
    code.chars().filter(char::is_ascii_digit).collect()
}

fn check_okpd2_length(p: &Position, out: &mut Vec<Violation>) {
    let codes: Vec<&str> = match &p.okpd2 {
        Okpd2::Single(c) => vec![c.as_str()],
        Okpd2::Undefined(cs) => cs.iter().map(String::as_str).collect(),
    };
    for code in codes.into_iter().filter(|c| okpd2_digits(c).len() < 4) {
        out.push(violation(Code::Okpd2Length, format!("{}: код ОКПД2 «{code}» содержит менее 4 цифр", label(p))));
    }
}

/// ИКЗ layout (eis-protocol.md §4): year(2) · ИКУ(20) · purchase number(4) · order number(3,
/// `000` in plans) · OKPD2(4, `0000` when undefined and in special positions) · KVR(3, `000`
/// when undefined).
fn check_ikz(p: &IkzSubject<'_>, owner: Option<&OrgIds>, out: &mut Vec<Violation>) {
    let ikz = p.ikz;
    let label = &p.label;
    if ikz.len() != 36 || !ikz.bytes().all(|b| b.is_ascii_digit()) {
        out.push(violation(Code::IkzFormat, format!("{label}: ИКЗ «{ikz}» должен состоять из 36 цифр")));
        return;
    }
    let part = |from: usize, to: usize| &ikz[from..to];
    let year = format!("{:02}", p.publish_year.rem_euclid(100));
    if part(0, 2) != year {
        out.push(violation(
            Code::IkzYear,
            format!(
                "{label}: разряды 1–2 ИКЗ «{}» не совпадают с последними цифрами года размещения извещения {} («{year}»)",
                part(0, 2),
                p.publish_year
            ),
        ));
    }
    if let Some(iku) = p.iku
        && part(2, 22) != iku
    {
        out.push(violation(
            Code::IkzIku,
            format!("{label}: разряды 3–22 ИКЗ «{}» не совпадают с ИКУ позиции «{iku}»", part(2, 22)),
        ));
    } else if let Some(org) = owner.filter(|o| o.inn.len() == 10 && o.kpp.len() == 9) {
        let expected = format!("{}{}", org.inn, org.kpp);
        let iku = p.iku.unwrap_or(part(2, 22));
        if iku.get(1..) != Some(expected.as_str()) {
            out.push(violation(
                Code::IkzIku,
                format!(
                    "{label}: ИКУ «{iku}» не соответствует ИНН {} и КПП {} организации-владельца",
                    org.inn, org.kpp
                ),
            ));
        }
    }
    if part(22, 26) != p.purchase_number {
        out.push(violation(
            Code::IkzNumber,
            format!(
                "{label}: разряды 23–26 ИКЗ «{}» не совпадают с номером закупки «{}»",
                part(22, 26),
                p.purchase_number
            ),
        ));
    }
    if part(26, 29) != "000" {
        out.push(violation(
            Code::IkzOrder,
            format!("{label}: разряды 27–29 ИКЗ «{}» должны быть «000» в плане-графике", part(26, 29)),
        ));
    }
    match &p.okpd4 {
        // A code with fewer than 4 digits is reported once, as OKPD2_LEN.
        Okpd4::Code(okpd4) if okpd4.len() == 4 && part(29, 33) != okpd4 => out.push(violation(
            Code::IkzOkpd2,
            format!(
                "{label}: разряды 30–33 ИКЗ «{}» не совпадают с первыми четырьмя цифрами ОКПД2 «{okpd4}»",
                part(29, 33)
            ),
        )),
        Okpd4::None if part(29, 33) != "0000" => out.push(violation(
            Code::IkzOkpd2,
            format!(
                "{label}: разряды 30–33 ИКЗ «{}» должны быть «0000»: у позиции особой закупки нет кода ОКПД2",
                part(29, 33)
            ),
        )),
        _ => {}
    }
    let kvr = p.kvr.unwrap_or("000");
    if part(33, 36) != kvr {
        out.push(violation(
            Code::IkzKvr,
            format!("{label}: разряды 34–36 ИКЗ «{}» не совпадают с кодом КВР «{kvr}»", part(33, 36)),
        ));
    }
}

#[cfg(test)]
mod tests {
    use eis::packet::*;
    use rust_decimal::Decimal;

    use super::*;

    const ORG: &str = "03722001684";
    const IKU: &str = "27802139698780201001";

    fn position(number: &str, okpd2: Okpd2, kvr: Option<&str>, ikz_tail: &str) -> Position {
        Position {
            position_number: None,
            ext_number: format!("P{number}"),
            // year 25 · ИКУ (level 2, INN, KPP) · number · 000 · OKPD2(4) + KVR(3)
            ikz: format!("25{IKU}{number}000{ikz_tail}"),
            publish_year: 2025,
            iku: None,
            purchase_number: number.into(),
            okpd2,
            kvr: kvr.map(str::to_owned),
            purchase_object_info: "x".into(),
            public_discussion: None,
            finance: YearAmounts { current_year: Decimal::ONE, ..YearAmounts::default() },
            kbks: vec![],
            kvrs: vec![],
            is_energy_service_contract: false,
            modification: None,
            modification_status: None,
            ..Default::default()
        }
    }

    fn special(number: &str, kvr: Option<&str>, ikz_tail: &str) -> SpecialPosition {
        SpecialPosition {
            type_code: "P4_1_93".into(),
            ext_number: format!("S{number}"),
            ikz: format!("25{IKU}{number}000{ikz_tail}"),
            publish_year: 2025,
            kvr: kvr.map(str::to_owned),
            purchase_number: number.into(),
            finance: YearAmounts { current_year: Decimal::ONE, ..YearAmounts::default() },
            ..Default::default()
        }
    }

    fn packet(positions: Vec<Position>) -> PlanPacket {
        PlanPacket {
            kind: PlanPacketKind::New,
            index: PacketIndex::new("RIS", "OOS", OBJECT_TYPE_TP2020, Mode::Test),
            data: PlanData {
                external_id: "1".into(),
                plan_number: None,
                version_number: Some(0),
                plan_year: 2025,
                first_year: 2026,
                second_year: 2027,
                customer_reg_num: ORG.into(),
                owner_reg_num: ORG.into(),
                owner_role: OwnerRole::Cu,
                positions,
                ..Default::default()
            },
        }
    }

    fn ctx() -> Context<'static> {
        Context {
            user_org: ORG,
            owner: Some(OrgIds { inn: "7802139698".into(), kpp: "780201001".into() }),
            agent_has_powers: true,
            period_plan: None,
            numbered_plan: None,
        }
    }

    fn codes(p: &PlanPacket, ctx: &Context<'_>) -> Vec<&'static str> {
        let all = [
            Code::Schema,
            Code::XmlRead,
            Code::OrgCustomer,
            Code::OrgOwner,
            Code::OrgPowers,
            Code::NoPositions,
            Code::DuplicateNumber,
            Code::IkzFormat,
            Code::IkzYear,
            Code::IkzIku,
            Code::IkzNumber,
            Code::IkzOrder,
            Code::IkzOkpd2,
            Code::IkzKvr,
            Code::Okpd2Length,
            Code::PlanInEis,
            Code::PlanNotFound,
            Code::PlanPlaced,
            Code::VersionExists,
        ];
        check(p, ctx)
            .iter()
            .map(|v| all.iter().find(|c| c.as_str() == v.err_code).map(|c| c.as_str()).unwrap_or("?"))
            .collect()
    }

    #[test]
    fn a_consistent_plan_passes() {
        let p = packet(vec![
            position("0001", Okpd2::Single("38.11.21.000".into()), Some("244"), "3811244"),
            position("0002", Okpd2::Undefined(vec!["17.12".into(), "22.29".into()]), None, "0000000"),
        ]);
        assert_eq!(codes(&p, &ctx()), Vec::<&str>::new());
    }

    #[test]
    fn each_ikz_part_is_checked() {
        let mut okpd = position("0001", Okpd2::Single("38.11.21.000".into()), Some("244"), "3812244");
        let mut order = position("0002", Okpd2::Single("38.11".into()), Some("244"), "3811244");
        order.ikz.replace_range(26..29, "001");
        let mut iku = position("0003", Okpd2::Single("38.11".into()), Some("244"), "3811244");
        iku.ikz.replace_range(3..13, "7802000001");
        let undefined_kvr = position("0004", Okpd2::Single("38.11".into()), None, "3811244");
        let short = position("0005", Okpd2::Single("38.1".into()), Some("244"), "3810244");
        okpd.ext_number = "with-okpd".into();
        let got = codes(&packet(vec![okpd, order, iku, undefined_kvr, short]), &ctx());
        assert_eq!(got, ["IKZ_OKPD2", "IKZ_ORDER", "IKZ_IKU", "IKZ_KVR", "OKPD2_LEN"]);
    }

    #[test]
    fn edited_positions_keep_their_ikz() {
        let mut p = position("0001", Okpd2::Single("38.11".into()), Some("244"), "9999999");
        p.modification_status = Some(ModificationStatus::E);
        assert!(codes(&packet(vec![p.clone()]), &ctx()).is_empty());
        p.modification_status = Some(ModificationStatus::N);
        assert_eq!(codes(&packet(vec![p]), &ctx()), ["IKZ_OKPD2", "IKZ_KVR"]);
    }

    #[test]
    fn special_positions_are_checked_like_positions() {
        let mut p = packet(vec![position("0001", Okpd2::Single("38.11".into()), Some("244"), "3811244")]);
        p.data.special_positions = vec![special("0002", Some("244"), "0000244"), special("0003", None, "0000000")];
        assert!(codes(&p, &ctx()).is_empty(), "{:?}", check(&p, &ctx()));

        // Digits 30–33 must be 0000, the KVR and the number must match; a number is unique
        // across both kinds.
        p.data.special_positions =
            vec![special("0002", Some("244"), "3811244"), special("0001", Some("244"), "0000242")];
        let found = check(&p, &ctx());
        let got: Vec<&str> = found.iter().map(|v| v.err_code.as_str()).collect();
        assert_eq!(got, ["POS_DUP", "IKZ_OKPD2", "IKZ_KVR"]);
        let text = |i: usize| found[i].description.clone().unwrap_or_default();
        assert!(
            text(0).contains("Номер закупки 0001 указан в 2 позициях") && text(0).contains("S0001 (особая закупка)"),
            "{}",
            text(0)
        );
        assert!(
            text(1).starts_with("Позиция особой закупки с номером закупки 0002") && text(1).contains("«0000»"),
            "{}",
            text(1)
        );

        // An edited special position keeps its ИКЗ; a plan of special positions only is a plan.
        let mut edited = special("0002", Some("244"), "9999999");
        edited.modification_status = Some(ModificationStatus::E);
        let only = PlanPacket {
            data: PlanData { positions: vec![], special_positions: vec![edited], ..p.data.clone() },
            ..p.clone()
        };
        assert!(codes(&only, &ctx()).is_empty());
        let none = PlanPacket { data: PlanData { positions: vec![], special_positions: vec![], ..p.data }, ..p };
        assert_eq!(codes(&none, &ctx()), ["POS_NONE"]);
    }

    #[test]
    fn owner_roles() {
        let pos = || vec![position("0001", Okpd2::Single("38.11".into()), Some("244"), "3811244")];
        // An authorized organization sends for a customer: the owner must be the user's org.
        let mut oa = packet(pos());
        oa.data.owner_role = OwnerRole::Oa;
        oa.data.customer_reg_num = "03722000001".into();
        assert!(codes(&oa, &ctx()).is_empty());
        assert_eq!(
            codes(&oa, &Context { agent_has_powers: false, ..ctx() }),
            ["ORG_POWERS"],
            "no agreement, no placing"
        );
        oa.data.owner_reg_num = "03722000002".into();
        assert_eq!(codes(&oa, &Context { owner: None, ..ctx() }), ["ORG_OWNER"]);
        let mut cu = packet(pos());
        cu.data.owner_reg_num = "03722000002".into();
        assert_eq!(codes(&cu, &Context { owner: None, ..ctx() }), ["ORG_OWNER"]);
    }

    #[test]
    fn an_ownership_failure_stops_the_checks() {
        // Another customer's placed plan, a version it has, an ИКЗ of its own: none of it is told.
        let mut p = packet(vec![position("0001", Okpd2::Single("38.11".into()), Some("244"), "9999999")]);
        p.data.customer_reg_num = "03722000001".into();
        p.data.owner_reg_num = "03722000001".into();
        p.data.positions.push(p.data.positions[0].clone());
        let theirs = ExistingPlan {
            org_reg_num: "03722000001".into(),
            plan_year: 2025,
            source: PlanSource::Ris,
            plan_number: Some("202503722000001001".into()),
            versions: vec![0],
        };
        let ctx = Context {
            period_plan: Some(theirs),
            owner: Some(OrgIds { inn: "7802000001".into(), kpp: "780201001".into() }),
            ..ctx()
        };
        let found = check(&p, &ctx);
        assert_eq!(found.iter().map(|v| v.err_code.as_str()).collect::<Vec<_>>(), ["ORG_CUST"]);
        let text = format!("{found:?}");
        assert!(!text.contains("202503722000001001") && !text.contains("7802000001"), "{text}");
    }

    #[test]
    fn plan_conflicts() {
        let p = packet(vec![position("0001", Okpd2::Single("38.11".into()), Some("244"), "3811244")]);
        let plan = |source| ExistingPlan {
            org_reg_num: ORG.into(),
            plan_year: 2025,
            source,
            plan_number: None,
            versions: vec![0],
        };
        assert_eq!(codes(&p, &Context { period_plan: Some(plan(PlanSource::Eis)), ..ctx() }), ["PLAN_EIS"]);
        assert_eq!(codes(&p, &Context { period_plan: Some(plan(PlanSource::Ris)), ..ctx() }), ["VER_DUP"]);
        let mut change = p.clone();
        change.kind = PlanPacketKind::Change;
        change.data.plan_number = Some("202503722001684001".into());
        change.data.version_number = Some(1);
        assert_eq!(codes(&change, &ctx()), ["PLAN_NF"]);
        assert!(codes(&change, &Context { numbered_plan: Some(plan(PlanSource::Ris)), ..ctx() }).is_empty());
        // Once placed, a plan takes changes only.
        let placed =
            ExistingPlan { plan_number: Some("202503722001684001".into()), versions: vec![0], ..plan(PlanSource::Ris) };
        let mut v1 = p.clone();
        v1.data.version_number = Some(1);
        assert_eq!(codes(&v1, &Context { period_plan: Some(placed), ..ctx() }), ["PLAN_PUB"]);
        // A plan number of another customer is not found either.
        let foreign = ExistingPlan { org_reg_num: "03722000001".into(), ..plan(PlanSource::Ris) };
        assert_eq!(codes(&change, &Context { numbered_plan: Some(foreign), ..ctx() }), ["PLAN_NF"]);
    }
}
