//! ЕИС's copy of a plan-schedule: the export read back into plangraf's positions, for
//! «Загрузить из ЕИС» (a plan created in ЕИС, brought in read-only) and «Сверить с ЕИС» (the
//! export against the version plangraf knows to be placed).

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::ikz::{KvrCode, Okpd2Code, PurchaseNumber};
use domain::money::Money;
use domain::org::OrgType;
use domain::plan::{BudgetLine, ChangeDecision, PlanSnapshot, Position, PositionChange, SpecialPurchase, YearAmounts};
use eis::client::{ClientError, Credentials, Reply};
use eis::export::ExportedPlan;
use eis::packet::{Decision, Modification, Okpd2, PlanData};

use crate::Exchange;
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

/// Why ЕИС's copy could not be read.
#[derive(Debug)]
pub enum FetchError {
    /// As many reads of ЕИС's copies as allowed are under way.
    Busy,
    /// The exchange failed or ЕИС refused; the Russian words come from [`FetchError::explain`].
    Client(ClientError),
}

impl FetchError {
    /// What happened, in Russian, with the next step where there is one.
    pub fn explain(&self) -> String {
        match self {
            FetchError::Busy => "Сейчас выполняется слишком много запросов к ЕИС. Повторите через минуту.".to_owned(),
            FetchError::Client(ClientError::Unauthorized { info, .. }) => format!(
                "ЕИС отклонила логин или пароль: {} (код {}). Проверьте «Регистрационные данные в ЕИС» в «Настройки»: \
                 пароль для интеграции мог быть сформирован заново в личном кабинете ЕИС.",
                info.message, info.code
            ),
            FetchError::Client(ClientError::Forbidden { info, .. }) => format!(
                "ЕИС отказала в доступе: {} (код {}). У пользователя ЕИС нет права «Работа с планом-графиком»: \
                 попросите администратора организации в ЕИС выдать его («Администрирование» → «Пользователи \
                 организации» → «Права доступа»).",
                info.message, info.code
            ),
            FetchError::Client(ClientError::Server { status: 404, raw }) => format!(
                "ЕИС не нашла размещенный план-график: {}. Проверьте реестровый номер: план-график должен быть \
                 размещен в ЕИС.",
                crate::failures::refusal_text(raw)
            ),
            FetchError::Client(e) => format!("{}. Повторите позже.", crate::failures::failure_ru(e)),
        }
    }

    /// ЕИС's reply, when there was one: kept with whatever the attempt recorded.
    pub fn raw(&self) -> Option<&str> {
        match self {
            FetchError::Busy => None,
            FetchError::Client(e) => e.raw(),
        }
    }
}

/// Reads of ЕИС's copies at once: each holds an export of up to tens of megabytes.
pub(crate) const COPY_READS_AT_ONCE: usize = 4;

impl Exchange {
    /// The export of the latest placed version of `plan_number`, asked with the user's ЕИС
    /// credentials. Refused at once when [`COPY_READS_AT_ONCE`] reads are under way.
    pub async fn eis_export(&self, creds: &Credentials, plan_number: &str) -> Result<Reply<ExportedPlan>, FetchError> {
        let Ok(_permit) = Arc::clone(&self.inner.copy_reads).try_acquire_owned() else {
            return Err(FetchError::Busy);
        };
        self.inner.client.export_by_plan_number(creds, plan_number).await.map_err(FetchError::Client)
    }
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
    positions_of(&packet.data, org_type).map(|(positions, _)| positions)
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
