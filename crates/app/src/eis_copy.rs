//! ЕИС's copy of a plan-schedule: «Загрузить из ЕИС» takes in a plan created in ЕИС (seed 004:
//! such a period cannot be sent from plangraf), read-only and marked «Ведётся в ЕИС»; «Сверить с
//! ЕИС» reads what ЕИС publishes and shows every difference from what plangraf knows to be
//! placed. Both use the caller's saved ЕИС credentials and keep the export as ЕИС sent it.

use crate::access::{actor, plan_ref};
use crate::sending::SAVE_CREDENTIALS_FIRST;
use crate::{Error, Refusal, Result, Workflow};
use domain::diff::{PositionDiff, diff};
use domain::ids::PlanId;
use domain::plan::{self, PlanSnapshot};
use eis::client::Credentials;
use exchange::eis_copy::{EisCopy, as_eis_holds, copy_of};
use store::eis_copies::{CopyRecord, Reconciled, TakeRefusal, Taken};
use store::plans::Plan;
use store::users::User;

/// Lines of an unreadable export named in a refusal; the rest are counted.
const NAMED_PROBLEMS: usize = 5;

/// What «Сверить с ЕИС» found.
#[derive(Debug)]
pub struct Reconciliation {
    pub plan: Plan,
    /// The reading recorded (its export can be downloaded).
    pub record: CopyRecord,
    /// The version number ЕИС published.
    pub eis_version: Option<u32>,
    /// plangraf's version compared with; `None` for a plan kept in ЕИС (compared with what was
    /// last taken in).
    pub compared_with: Option<i64>,
    /// What differs, from plangraf's side to ЕИС's: «было» is plangraf's, «стало» ЕИС's.
    pub differences: Vec<PositionDiff>,
}

/// A registry number of a plan-schedule: 18 digits, the plan year, the customer's СПЗ code and
/// a sequence (eis-protocol.md §4).
fn plan_number_of(text: &str, year: i32, spz: &str) -> Result<String> {
    let number = text.trim();
    if number.len() != 18 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::field(
            "plan_number",
            "Реестровый номер плана-графика в ЕИС состоит из 18 цифр: год, код организации по СПЗ и порядковый номер",
        ));
    }
    let expected = format!("{year:04}{spz}");
    if !number.starts_with(&expected) {
        return Err(Error::field(
            "plan_number",
            format!(
                "Реестровый номер плана-графика на {year} год вашей организации начинается с {expected}: \
                 проверьте номер в «Реестре планов-графиков» личного кабинета ЕИС"
            ),
        ));
    }
    Ok(number.to_owned())
}

fn problems(lines: Vec<String>) -> String {
    let more = lines.len().saturating_sub(NAMED_PROBLEMS);
    let mut text = lines.into_iter().take(NAMED_PROBLEMS).collect::<Vec<_>>().join("; ");
    if more > 0 {
        text.push_str(&format!("; и ещё {more}"));
    }
    text
}

impl Workflow {
    async fn saved_credentials(&self, user: &User) -> Result<Credentials> {
        let saved = self
            .store
            .eis_credentials(user.id)
            .await?
            .ok_or_else(|| Error::refused(Refusal::State, SAVE_CREDENTIALS_FIRST))?;
        Ok(Credentials { login: saved.login, password: saved.password })
    }

    /// ЕИС's copy of `plan_number` with the raw export, read as positions of the organization.
    async fn read_eis_copy(
        &self,
        user: &User,
        plan_number: &str,
        org_type: domain::org::OrgType,
    ) -> Result<(EisCopy, eis::export::ExportedPlan, String)> {
        let creds = self.saved_credentials(user).await?;
        let reply = self.exchange.eis_export(&creds, plan_number).await.map_err(|e| Error::Eis(e.explain()))?;
        let copy = copy_of(&reply.value, org_type)
            .map_err(|lines| Error::Eis(format!("Выгрузку ЕИС не удалось прочитать: {}", problems(lines))))?;
        if copy.plan_number != plan_number {
            return Err(Error::Eis(format!(
                "ЕИС прислала план-график {} вместо запрошенного {plan_number}",
                copy.plan_number
            )));
        }
        Ok((copy, reply.value, reply.raw))
    }

    /// «Загрузить из ЕИС»: the caller's organization's plan for the year becomes ЕИС's copy of
    /// plan `plan_number`, kept in ЕИС from now on. Nothing is sent to ЕИС, and nothing the
    /// user entered is lost: refused while the plan is on approval or holds positions no
    /// approved version has.
    pub async fn take_from_eis(&self, user: &User, year: &str, plan_number: &str) -> Result<PlanId> {
        let year = match year.trim().parse::<i32>() {
            Ok(y) if (2020..=2099).contains(&y) => y,
            _ => return Err(Error::field("plan_year", "Укажите год плана-графика четырьмя цифрами")),
        };
        let org = self.store.organization(user.org_id).await?.ok_or(Error::NotFound)?;
        let existing = self.store.plan_for_year(user.org_id, year).await?;
        plan::take_from_eis(actor(user), existing.as_ref().map(|p| plan_ref(p, &org)))?;
        let plan_number = plan_number_of(plan_number, year, org.spz_code.as_str())?;
        let (copy, export, raw) = self.read_eis_copy(user, &plan_number, org.org_type).await?;
        if export.data.plan_year != year {
            return Err(Error::Eis(format!(
                "План-график {plan_number} в ЕИС составлен на {} год, а не на {year}",
                export.data.plan_year
            )));
        }
        if export.data.customer_reg_num != org.spz_code.as_str() {
            return Err(Error::Eis(format!(
                "План-график {plan_number} в ЕИС принадлежит другому заказчику (код по СПЗ {})",
                export.data.customer_reg_num
            )));
        }
        if export.external_id().starts_with("plangraf-") {
            return Err(Error::refused(
                Refusal::State,
                format!(
                    "План-график {plan_number} размещен в ЕИС из plangraf: он ведется здесь. Чтобы сравнить его с ЕИС, \
                     откройте его и нажмите «Сверить с ЕИС»."
                ),
            ));
        }
        let taken = Taken {
            plan_year: year,
            plan_number: &plan_number,
            version_number: copy.version_number.map(i64::from),
            positions: &copy.positions,
            position_numbers: &copy.position_numbers,
            raw: &raw,
        };
        match self.store.take_eis_copy(user.org_id, &taken, user.id).await? {
            Ok(id) => {
                tracing::info!(plan_id = id.get(), %plan_number, positions = copy.positions.len(), "plan taken in from ЕИС");
                Ok(id)
            }
            Err(TakeRefusal::OnApproval) => Err(Error::refused(
                Refusal::State,
                format!(
                    "План-график на {year} год на согласовании: загрузить его из ЕИС нельзя, пока идет согласование."
                ),
            )),
            Err(TakeRefusal::UnapprovedPositions(n)) => Err(Error::refused(
                Refusal::State,
                format!(
                    "В плане-графике на {year} год есть позиции ({n}), не вошедшие в утвержденную версию: загрузка из ЕИС \
                     заменила бы их. Удалите их или утвердите план-график, затем повторите."
                ),
            )),
            Err(TakeRefusal::PlacedFromHere(number)) => Err(Error::refused(
                Refusal::State,
                format!(
                    "План-график на {year} год размещен из plangraf под номером {number} и ведется здесь. Чтобы сравнить \
                     его с ЕИС, нажмите «Сверить с ЕИС»."
                ),
            )),
        }
    }

    /// «Сверить с ЕИС»: reads ЕИС's copy of the plan and compares it with the latest version
    /// plangraf knows ЕИС placed (for a plan kept in ЕИС: with what was last taken in). The
    /// reading is kept and journaled; nothing else changes.
    pub async fn reconcile(&self, user: &User, plan_id: PlanId) -> Result<Reconciliation> {
        let found = self.readable_plan(user, plan_id).await?;
        let (plan, owner) = (found.plan(), found.owner());
        domain::exchange::check_sender(actor(user), plan_ref(plan, owner), plan.owner_role)?;
        let Some(plan_number) = plan.eis_plan_number.clone() else {
            return Err(Error::refused(
                Refusal::State,
                "План-график еще не размещен в ЕИС: сверять не с чем. Сверка доступна после размещения.",
            ));
        };
        let (known, compared_with): (PlanSnapshot, Option<i64>) = if plan.status == domain::PlanStatus::KeptInEis {
            (self.working_copy(plan, owner).await?, None)
        } else {
            let Some(id) = self.store.latest_placed_version_id(plan.id).await? else {
                return Err(Error::refused(
                    Refusal::State,
                    "Ни одна версия плана-графика еще не размещена в ЕИС: сверять не с чем.",
                ));
            };
            let head = self.store.version_head(id).await?.ok_or(Error::NotFound)?;
            let snapshot = self.exchange.version_content(id).await?;
            ((*snapshot).clone(), Some(head.version_number))
        };
        let (copy, _, raw) = self.read_eis_copy(user, &plan_number, owner.org_type).await?;
        let ours = as_eis_holds(&known, owner.org_type).map_err(|lines| {
            Error::internal(format!("a version that does not read back from its packet: {}", problems(lines)))
        })?;
        let differences = diff(
            &PlanSnapshot { positions: ours, ..known.clone() },
            &PlanSnapshot { positions: copy.positions, ..known },
        );
        let reconciled = Reconciled {
            plan_id: plan.id,
            org_id: plan.org_id,
            plan_number: &plan_number,
            version_number: copy.version_number.map(i64::from),
            position_numbers: &copy.position_numbers,
            differences: i64::try_from(differences.len()).unwrap_or(i64::MAX),
            compared_with,
            raw: &raw,
        };
        let id = self.store.record_reconciliation(&reconciled, user.id).await?;
        let (record, _) = self.store.eis_copy(plan.id, id).await?.ok_or(Error::NotFound)?;
        Ok(Reconciliation { plan: plan.clone(), record, eis_version: copy.version_number, compared_with, differences })
    }

    /// The export ЕИС sent for one reading of the plan's copy, for a caller who may read the plan.
    pub async fn eis_copy_export(&self, user: &User, plan_id: PlanId, id: i64) -> Result<(CopyRecord, String)> {
        self.readable_plan(user, plan_id).await?;
        self.store.eis_copy(plan_id, id).await?.ok_or(Error::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_number_is_checked_against_the_year_and_the_organization() {
        assert!(plan_number_of(" 202703722001684001 ", 2027, "03722001684").is_ok());
        for bad in ["", "2027037220016840", "20270372200168400x", "202603722001684001", "202703722001685001"] {
            assert!(matches!(plan_number_of(bad, 2027, "03722001684"), Err(Error::Fields { .. })), "{bad}");
        }
    }

    #[test]
    fn long_lists_of_problems_are_cut() {
        let text = problems((1..=8).map(|i| format!("строка {i}")).collect());
        assert!(text.starts_with("строка 1; строка 2"));
        assert!(text.ends_with("и ещё 3"), "{text}");
    }
}
