//! Onboarding a region's organizations from ЕИС's «Сводный перечень заказчиков»
//! (`nsiOrganizationList`, read by `eis::nsi_organizations`): every record checked first, with
//! what is wrong said per record and field in Russian and nothing saved; then, once the list
//! has no error, loaded in one transaction (`Store::load_organizations`), matched by СПЗ code,
//! so that loading it again updates and never duplicates.
//!
//! - Records marked not actual are left out and listed as such; foreign organizations are
//!   counted and left out.
//! - A record needs a valid СПЗ code, ИНН, КПП, an organization type plangraf knows, its level
//!   (`subordinationType`, else the first digit of its ИКУ), an ОКТМО of 8 or 11 digits; its ИКУ,
//!   when given, must be the level, ИНН and КПП together, as plangraf builds it.
//! - Its superior (`headAgency`) must be in the list (and correct) or already in plangraf; a
//!   loop of superiors is refused.
//! - An administrator (from the pages) loads only their own organization and the organizations
//!   whose superiors lead to it ([`within_reach`]); the operator (the command line) loads any.
//! - The same check serves «Загрузка организаций» (`crate::onboarding_files`), for the ЕИС list
//!   and for the organizations of a table (`Administration::check_records`); each problem
//!   names its field ([`OrgField`]) so that the page shows it under the file's column.

use crate::users::Administration;
use crate::{Error, Refusal, Result};
use domain::OrgType;
use domain::org::{Inn, Kpp, SpzCode};
use eis::nsi_organizations::{NsiOrganization, read_organization_list_bytes};
use std::collections::{HashMap, HashSet};
use store::orgs::{ListLoaded, ListedOrganization, Organization, changes};
use store::users::User;

/// One at a time: a region's list can be tens of megabytes.
pub(crate) static LOADING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// What loading a record would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    New,
    /// The fields that would change.
    Changed(Vec<&'static str>),
    Unchanged,
    /// Marked not actual in ЕИС: left out.
    NotActual,
    /// What is wrong with it; nothing of the list is loaded while any record has one.
    Refused(Vec<Problem>),
}

/// The field of a record a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgField {
    Spz,
    FullName,
    Inn,
    Kpp,
    OrgType,
    Level,
    Oktmo,
    /// The ИКУ (of the ЕИС list; built from the level, ИНН and КПП otherwise).
    Iku,
    Superior,
}

/// One problem of a record: its field, what is wrong with it (`detail`, the value in «…» when
/// there is one), and the whole line as the list's messages say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: OrgField,
    pub detail: String,
    line: String,
}

impl Problem {
    /// `label «value»: why`, or `label: why` without a value.
    fn of(field: OrgField, label: &str, value: &str, why: &str) -> Problem {
        let value: String = value.chars().take(60).collect();
        let detail = if value.is_empty() { why.to_owned() } else { format!("«{value}»: {why}") };
        let line = if value.is_empty() { format!("{label}: {why}") } else { format!("{label} «{value}»: {why}") };
        Problem { field, detail, line }
    }

    /// A whole sentence about the field.
    fn sentence(field: OrgField, text: &str) -> Problem {
        Problem { field, detail: text.to_owned(), line: text.to_owned() }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

/// One record of the list as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRow {
    /// Its place in the list, from 1.
    pub position: usize,
    pub spz: String,
    pub name: String,
    pub outcome: RowOutcome,
}

/// The list checked: every record with its outcome, and what would be loaded.
#[derive(Debug, Clone, Default)]
pub struct ListCheck {
    pub rows: Vec<ListedRow>,
    pub foreign: usize,
    /// The records to load, superiors first.
    ordered: Vec<ListedOrganization>,
    /// Every organization known, of the list (without errors) and of plangraf: its superior.
    superiors: HashMap<String, Option<String>>,
    /// The СПЗ code of the caller's organization (`None`: the operator).
    reach: Option<String>,
}

/// How far a load of a list is.
#[derive(Debug, Clone, Copy)]
pub enum ListProgress {
    /// The file is checked: this many records will be written.
    Total(usize),
    /// This many records are written so far.
    Done(usize),
}

/// Whether the organization `spz` is within the reach of an administrator of organization
/// `admin_spz`: that organization itself, or one whose superiors lead to it. The one rule of
/// onboarding's reach (organizations of a file and the organizations of its users).
pub fn within_reach(admin_spz: &str, spz: &str, superior_of: impl Fn(&str) -> Option<String>) -> bool {
    let mut at = spz.to_owned();
    for _ in 0..=64 {
        if at == admin_spz {
            return true;
        }
        match superior_of(&at) {
            Some(up) => at = up,
            None => return false,
        }
    }
    false
}

impl ListCheck {
    fn count(&self, pick: impl Fn(&RowOutcome) -> bool) -> usize {
        self.rows.iter().filter(|r| pick(&r.outcome)).count()
    }

    pub fn new_count(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::New))
    }

    pub fn changed_count(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Changed(_)))
    }

    pub fn unchanged_count(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Unchanged))
    }

    pub fn not_actual_count(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::NotActual))
    }

    pub fn refused_count(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Refused(_)))
    }

    /// The records with errors, each with its problems.
    pub fn refused(&self) -> impl Iterator<Item = (&ListedRow, &[Problem])> {
        self.rows.iter().filter_map(|r| match &r.outcome {
            RowOutcome::Refused(why) => Some((r, why.as_slice())),
            _ => None,
        })
    }

    /// The records to load, superiors first.
    pub fn ordered(&self) -> &[ListedOrganization] {
        &self.ordered
    }

    /// Whether the organization `spz` (of the list without errors, or of plangraf) is known and
    /// within the caller's reach.
    pub fn reaches(&self, spz: &str) -> bool {
        if !self.superiors.contains_key(spz) {
            return false;
        }
        match &self.reach {
            None => true,
            Some(admin) => within_reach(admin, spz, |s| self.superiors.get(s).cloned().flatten()),
        }
    }
}

/// A record checked on its own: the organization it describes, or what is wrong.
fn check_record(r: &NsiOrganization) -> std::result::Result<ListedOrganization, Vec<Problem>> {
    let mut errors = Vec::new();
    let mut note = |field: OrgField, label: &str, value: &str, why: &str| {
        errors.push(Problem::of(field, label, value, why));
    };
    let spz =
        SpzCode::parse(&r.reg_number).map_err(|_| note(OrgField::Spz, "СПЗ", &r.reg_number, "нужно 11 цифр")).ok();
    let inn = Inn::parse(&r.inn).map_err(|_| note(OrgField::Inn, "ИНН", &r.inn, "нужно 10 цифр")).ok();
    let kpp = Kpp::parse(&r.kpp)
        .map_err(|_| note(OrgField::Kpp, "КПП", &r.kpp, "нужно 9 символов: цифры и заглавные латинские буквы"))
        .ok();
    let org_type = match OrgType::parse(&r.org_type) {
        Ok(t) => Some(t),
        Err(_) => {
            let known: Vec<&str> = OrgType::ALL.iter().map(|t| t.code()).collect();
            note(
                OrgField::OrgType,
                "Тип организации",
                &r.org_type,
                &format!("plangraf работает с типами {}", known.join(", ")),
            );
            None
        }
    };
    let level_typed = r.level.clone().or_else(|| r.iku.as_ref().and_then(|i| i.get(..1)).map(str::to_owned));
    let level = match level_typed.as_deref().and_then(|l| l.parse::<u8>().ok()).filter(|l| (1..=3).contains(l)) {
        Some(l) => Some(l),
        None => {
            note(
                OrgField::Level,
                "Уровень (subordinationType)",
                level_typed.as_deref().unwrap_or(""),
                "нужен 1 (федеральный), 2 (субъекта РФ) или 3 (муниципальный)",
            );
            None
        }
    };
    let oktmo = r.oktmo.clone().unwrap_or_default();
    if !(matches!(oktmo.len(), 8 | 11) && oktmo.bytes().all(|b| b.is_ascii_digit())) {
        note(OrgField::Oktmo, "ОКТМО", &oktmo, if oktmo.is_empty() { "не указан" } else { "нужно 8 или 11 цифр" });
    }
    if r.full_name.trim().is_empty() {
        note(OrgField::FullName, "Полное наименование", "", "не указано");
    }
    if let (Some(level), Some(inn), Some(kpp)) = (level, &inn, &kpp) {
        match (domain::org::iku(level, inn, kpp), &r.iku) {
            (Err(_), _) => note(
                OrgField::Iku,
                "ИКУ",
                "",
                "не может быть составлен из уровня, ИНН и КПП: у организации ИНН из 10 цифр",
            ),
            (Ok(built), Some(iku)) if built.as_str() != iku => {
                note(OrgField::Iku, "ИКУ", iku, "не совпадает с уровнем, ИНН и КПП организации")
            }
            _ => {}
        }
    }
    let superior = match &r.head_agency {
        Some(head) => match SpzCode::parse(head) {
            Ok(s) if Some(&s) == spz.as_ref() => {
                note(
                    OrgField::Superior,
                    "Вышестоящая организация",
                    head,
                    "организация не может быть вышестоящей сама себе",
                );
                None
            }
            Ok(s) => Some(s),
            Err(_) => {
                note(OrgField::Superior, "Вышестоящая организация (headAgency)", head, "нужен код СПЗ из 11 цифр");
                None
            }
        },
        None => None,
    };
    match (spz, inn, kpp, org_type, level) {
        (Some(spz_code), Some(inn), Some(kpp), Some(org_type), Some(budget_level)) if errors.is_empty() => {
            let name = r.full_name.trim().to_owned();
            Ok(ListedOrganization {
                short_name: r.short_name.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| name.clone()),
                name,
                superior_spz: superior,
                spz_code,
                inn,
                kpp,
                org_type,
                budget_level,
                oktmo,
            })
        }
        _ => Err(errors),
    }
}

impl Administration {
    /// Checks a «Сводный перечень заказчиков» file without saving anything. `by` is the
    /// administrator (`None`: the operator, who may load any organization).
    pub async fn check_organization_list(&self, by: Option<&User>, bytes: Vec<u8>) -> Result<ListCheck> {
        if by.is_some_and(|u| !u.roles.is_admin()) {
            return Err(Error::not_allowed("Загружать организации может только администратор"));
        }
        let parsed =
            tokio::task::spawn_blocking(move || read_organization_list_bytes(&bytes)).await.map_err(Error::internal)?;
        let list = parsed.map_err(|e| {
            Error::refused(Refusal::Content, format!("Файл не загружен: {} Данные не изменены.", e.message_ru()))
        })?;
        self.check_records(by, &list.organizations, list.foreign).await
    }

    /// Checks records of a list (of ЕИС's, or read from a table) against the organizations in
    /// plangraf, without saving anything.
    pub(crate) async fn check_records(
        &self,
        by: Option<&User>,
        records: &[NsiOrganization],
        foreign: usize,
    ) -> Result<ListCheck> {
        let existing: HashMap<String, Organization> =
            self.store.organizations().await?.into_iter().map(|o| (o.spz_code.as_str().to_owned(), o)).collect();
        let by_id: HashMap<domain::ids::OrgId, String> =
            existing.values().map(|o| (o.id, o.spz_code.as_str().to_owned())).collect();
        let mut check = ListCheck { foreign, ..ListCheck::default() };
        let mut valid: Vec<(usize, ListedOrganization)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for r in records {
            let name =
                if r.full_name.is_empty() { r.short_name.clone().unwrap_or_default() } else { r.full_name.clone() };
            let row =
                |outcome| ListedRow { position: r.position, spz: r.reg_number.clone(), name: name.clone(), outcome };
            if r.actual == Some(false) {
                check.rows.push(row(RowOutcome::NotActual));
                continue;
            }
            if !seen.insert(r.reg_number.clone()) {
                check.rows.push(row(RowOutcome::Refused(vec![Problem::of(
                    OrgField::Spz,
                    "СПЗ",
                    &r.reg_number,
                    "организация с этим кодом уже есть выше в файле",
                )])));
                continue;
            }
            match check_record(r) {
                Ok(o) => {
                    valid.push((check.rows.len(), o));
                    check.rows.push(row(RowOutcome::New));
                }
                Err(errors) => check.rows.push(row(RowOutcome::Refused(errors))),
            }
        }
        // Superiors: in the list (and correct) or already here; no loops; within the caller's reach.
        let in_list: HashMap<String, usize> =
            valid.iter().enumerate().map(|(i, (_, o))| (o.spz_code.as_str().to_owned(), i)).collect();
        let refused_in_list: HashSet<&str> =
            check.rows.iter().filter(|r| matches!(r.outcome, RowOutcome::Refused(_))).map(|r| r.spz.as_str()).collect();
        let superior_of = |spz: &str| -> Option<String> {
            match in_list.get(spz) {
                Some(&i) => valid[i].1.superior_spz.as_ref().map(|s| s.as_str().to_owned()),
                None => existing.get(spz).and_then(|o| o.superior_id).and_then(|id| by_id.get(&id).cloned()),
            }
        };
        let reach = match by {
            Some(u) => Some(by_id.get(&u.org_id).cloned().ok_or(Error::NotFound)?),
            None => None,
        };
        let mut problems: Vec<(usize, Problem)> = Vec::new();
        for (row, o) in &valid {
            if let Some(sup) = &o.superior_spz
                && !in_list.contains_key(sup.as_str())
                && !existing.contains_key(sup.as_str())
            {
                let why = if refused_in_list.contains(sup.as_str()) {
                    "вышестоящая организация в файле с ошибками: исправьте её запись"
                } else {
                    "вышестоящей организации нет ни в файле, ни в plangraf"
                };
                problems.push((*row, Problem::of(OrgField::Superior, "Вышестоящая организация", sup.as_str(), why)));
                continue;
            }
            // Up the chain: a loop, and whether the caller's organization is on it.
            let mut at = o.spz_code.as_str().to_owned();
            let mut steps = 0;
            while let Some(up) = superior_of(&at) {
                steps += 1;
                if up == o.spz_code.as_str() || steps > 64 {
                    problems.push((
                        *row,
                        Problem::sentence(OrgField::Superior, "Вышестоящие организации образуют замкнутый круг"),
                    ));
                    break;
                }
                at = up;
            }
            if let Some(admin) = reach.as_deref()
                && !within_reach(admin, o.spz_code.as_str(), superior_of)
            {
                problems.push((
                    *row,
                    Problem::sentence(
                        OrgField::Spz,
                        "Организация не подчинена вашей организации: загрузить её может оператор или администратор \
                         вышестоящей организации",
                    ),
                ));
            }
        }
        for (row, why) in problems {
            match &mut check.rows[row].outcome {
                RowOutcome::Refused(errors) => errors.push(why),
                outcome => *outcome = RowOutcome::Refused(vec![why]),
            }
        }
        // What each would do, and the order of loading: superiors first.
        let mut placed: HashSet<String> = HashSet::new();
        let mut pending: Vec<&(usize, ListedOrganization)> =
            valid.iter().filter(|(row, _)| !matches!(check.rows[*row].outcome, RowOutcome::Refused(_))).collect();
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|(_, o)| {
                let ready = o.superior_spz.as_ref().is_none_or(|s| {
                    placed.contains(s.as_str())
                        || (!in_list.contains_key(s.as_str()) && existing.contains_key(s.as_str()))
                });
                if ready {
                    placed.insert(o.spz_code.as_str().to_owned());
                    check.ordered.push(o.clone());
                }
                !ready
            });
            if pending.len() == before {
                // Only records under a refused superior remain; they were refused above.
                break;
            }
        }
        for (row, o) in &valid {
            if let (RowOutcome::New, Some(e)) = (&check.rows[*row].outcome, existing.get(o.spz_code.as_str())) {
                let superior_id = o.superior_spz.as_ref().and_then(|s| existing.get(s.as_str())).map(|s| s.id);
                let wanted = Organization {
                    id: e.id,
                    name: o.name.clone(),
                    short_name: o.short_name.clone(),
                    // A superior new in this list differs from whatever is there now.
                    superior_id: if o.superior_spz.is_some() && superior_id.is_none() {
                        Some(domain::ids::OrgId(-1))
                    } else {
                        superior_id
                    },
                    spz_code: o.spz_code.clone(),
                    inn: o.inn.clone(),
                    kpp: o.kpp.clone(),
                    org_type: o.org_type,
                    budget_level: o.budget_level,
                    oktmo: o.oktmo.clone(),
                };
                let changed = changes(e, &wanted);
                check.rows[*row].outcome =
                    if changed.is_empty() { RowOutcome::Unchanged } else { RowOutcome::Changed(changed) };
            }
        }
        let mut superiors: HashMap<String, Option<String>> =
            existing.keys().map(|spz| (spz.clone(), superior_of(spz))).collect();
        for o in &check.ordered {
            superiors.insert(o.spz_code.as_str().to_owned(), o.superior_spz.as_ref().map(|s| s.as_str().to_owned()));
        }
        check.superiors = superiors;
        check.reach = reach;
        Ok(check)
    }

    /// Checks the file again and, when no record has an error, loads it in one transaction,
    /// telling `progress` first the count of records to write (`Total`), then how many are
    /// written (`Done`). A list with errors changes nothing: the check says what to fix.
    pub async fn load_organization_list(
        &self,
        by: Option<&User>,
        bytes: Vec<u8>,
        progress: &(dyn Fn(ListProgress) + Sync),
    ) -> Result<std::result::Result<ListLoaded, ListCheck>> {
        let Ok(_loading) = LOADING.try_acquire() else {
            return Err(Error::refused(
                Refusal::State,
                "Сейчас загружается другой перечень организаций. Дождитесь окончания и повторите. Данные не изменены.",
            ));
        };
        let check = self.check_organization_list(by, bytes).await?;
        if check.refused_count() > 0 {
            return Ok(Err(check));
        }
        progress(ListProgress::Total(check.ordered.len()));
        let loaded = self
            .store
            .load_organizations_observed(&check.ordered, by.map(|u| u.id), by.map(|u| u.org_id), &|done| {
                progress(ListProgress::Done(done))
            })
            .await?;
        Ok(Ok(loaded))
    }
}
