//! «Журнал действий»: the audit journal searched by an administrator — the entries of their
//! organization and every organization below it at any depth (and, for an administrator of an organization with no
//! superior, the operator's commands, which belong to no organization), newest first, 50 a page,
//! narrowed by period, login, action and kind of object. What the form sends is checked here:
//! a bad date or an over-long text is refused in Russian, never cut.

use crate::{Error, Result, Workflow};
use chrono::{NaiveDate, TimeZone};
use domain::format::moscow;
use store::audit::{JournalEntry, JournalQuery};
use store::users::User;

/// Entries on one page.
pub const PAGE: i64 = 50;
/// The longest login and action text the filters take, in characters.
pub const MAX_LOGIN: usize = 64;
pub const MAX_ACTION: usize = 100;

/// The kinds of object an entry can be about, as `(code, name)`.
pub const ENTITIES: [(&str, &str); 6] = [
    ("plan", "План-график"),
    ("version", "Версия"),
    ("user", "Пользователь"),
    ("organization", "Организация"),
    ("reference", "Справочник"),
    ("onboarding", "Загрузка организаций"),
];

/// The filters as the form sends them.
#[derive(Debug, Clone, Default)]
pub struct JournalFilter {
    pub from: String,
    pub to: String,
    pub login: String,
    pub action: String,
    pub entity: String,
    pub before: String,
}

/// One page of the journal.
#[derive(Debug)]
pub struct JournalPage {
    pub entries: Vec<JournalEntry>,
    /// The cursor of the next page, when there is one.
    pub next: Option<i64>,
}

/// A date typed as `ГГГГ-ММ-ДД` (the date picker) or `ДД.ММ.ГГГГ`.
fn date(typed: &str, what: &str) -> Result<Option<NaiveDate>> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(typed, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(typed, "%d.%m.%Y"))
        .map(Some)
        .map_err(|_| Error::field("period", format!("{what}: укажите дату в виде ДД.ММ.ГГГГ")))
}

/// Midnight in Moscow at the start of `day`.
fn start_of(day: NaiveDate) -> Result<store::Time> {
    let midnight = day.and_hms_opt(0, 0, 0).ok_or_else(|| Error::field("period", "Неверная дата"))?;
    moscow()
        .from_local_datetime(&midnight)
        .single()
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| Error::field("period", "Неверная дата"))
}

impl Workflow {
    /// One page of «Журнал действий» for an administrator.
    pub async fn journal(&self, user: &User, filter: &JournalFilter) -> Result<JournalPage> {
        if !user.roles.is_admin() {
            return Err(Error::not_allowed("Журнал действий доступен только администратору"));
        }
        let from = date(&filter.from, "Начало периода")?;
        let to = date(&filter.to, "Конец периода")?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(Error::field("period", "Начало периода позже его конца: поменяйте даты местами"));
        }
        let login = filter.login.trim();
        if login.chars().count() > MAX_LOGIN {
            return Err(Error::field("login", format!("Логин — не более {MAX_LOGIN} символов")));
        }
        let action = filter.action.trim();
        if action.chars().count() > MAX_ACTION {
            return Err(Error::field("action", format!("Текст действия — не более {MAX_ACTION} символов")));
        }
        let entity = filter.entity.trim();
        if !entity.is_empty() && !ENTITIES.iter().any(|(code, _)| *code == entity) {
            return Err(Error::field("entity", "Неизвестный вид объекта: выберите его из списка"));
        }
        let before = match filter.before.trim() {
            "" => None,
            typed => Some(
                typed
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| Error::field("before", "Неверный номер страницы журнала"))?,
            ),
        };
        let org = self.store.organization(user.org_id).await?.ok_or(Error::NotFound)?;
        let query = JournalQuery {
            org: Some(user.org_id),
            with_operator: org.superior_id.is_none(),
            from: from.map(start_of).transpose()?,
            to: to.and_then(|t| t.succ_opt()).map(start_of).transpose()?,
            login: (!login.is_empty()).then_some(login),
            action: (!action.is_empty()).then_some(action),
            entity: (!entity.is_empty()).then_some(entity),
            before,
            limit: PAGE + 1,
        };
        let mut entries = self.store.journal(&query).await?;
        let next = (entries.len() > PAGE as usize).then(|| {
            entries.truncate(PAGE as usize);
            entries.last().map(|e| e.id)
        });
        Ok(JournalPage { entries, next: next.flatten() })
    }
}
