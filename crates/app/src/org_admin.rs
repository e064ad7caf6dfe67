//! «Администрирование» → «Организации»: an administrator manages their own organization and
//! every organization below it at any depth (the same reach as «Пользователи»), and nothing
//! else. An organization out of reach is [`Error::NotFound`], so its existence does not leak.
//!
//! [`Workflow::org_admin`] checks the role and reads the reach once; the tree, an organization's
//! card, creating and editing (with optimistic concurrency), blocking and the agreements on the
//! transfer of powers (OA) all go through [`OrgAdmin`]. Every change goes to the audit journal
//! in its own transaction.
//!
//! Blocking keeps everything the organization has: its plans stay readable to its superior,
//! its journal and sends stay. Its users cannot sign in (their sessions and API tokens end at
//! once); nothing new is sent to ЕИС for it (`Workflow::request_send` refuses); its sends that
//! ЕИС has not accepted yet wait in the queue, held by the runner until the organization is
//! unblocked (`store::sends`); sends ЕИС already accepted are followed to their final answer,
//! since ЕИС holds them either way.

use crate::{Error, Refusal, Result, Workflow};
use domain::ids::OrgId;
use domain::org::{Inn, Kpp, MAX_NAME_CHARS, MAX_SHORT_NAME_CHARS, OrgType, SpzCode};
use domain::plan::FieldError;
use std::collections::{HashMap, HashSet};
use store::Store;
use store::org_admin::{Actor, Agreement, EcpPolicy, NewAgreement, OrgFields, OrgNode, OrgRecord, Updated};
use store::orgs::Organization;
use store::users::User;

/// Rows of one page of the tree.
pub const PAGE_SIZE: usize = 100;
/// The longest search text; longer is refused, not cut.
pub const MAX_QUERY_CHARS: usize = 100;
/// The longest agreement number.
pub const MAX_AGREEMENT_NUMBER_CHARS: usize = 100;

/// Proof that the caller is an administrator, with the organizations in their reach.
pub struct OrgAdmin {
    store: Store,
    admin: User,
    org: Organization,
    /// The reach, by short name.
    nodes: Vec<OrgNode>,
    /// Where each organization of the reach is in `nodes`.
    index: HashMap<OrgId, usize>,
    ecp_enabled: bool,
}

/// One row of the tree as shown.
#[derive(Debug, Clone)]
pub struct TreeRow {
    pub node: OrgNode,
    /// 0 for the top of the tree shown.
    pub depth: usize,
    /// Direct subordinates.
    pub subordinates: usize,
    /// All organizations below it.
    pub below: usize,
    /// Its superiors from the top of the reach, by short name (shown with search results).
    pub path: Vec<String>,
}

/// One page of the tree.
#[derive(Debug)]
pub struct OrgTree {
    pub rows: Vec<TreeRow>,
    /// Rows on all pages.
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    /// The branch shown when not the whole reach: its top.
    pub branch: Option<OrgNode>,
}

/// What the create and edit forms send; everything as typed.
#[derive(Debug, Clone, Default)]
pub struct OrgForm {
    pub spz_code: String,
    pub name: String,
    pub short_name: String,
    pub inn: String,
    pub kpp: String,
    pub iku: String,
    pub org_type: String,
    pub budget_level: String,
    pub oktmo: String,
    pub superior_id: String,
    /// The edit form's row version (unused when creating).
    pub row_version: String,
}

impl OrgForm {
    /// The form filled with an organization's values.
    pub fn of(r: &OrgRecord) -> OrgForm {
        let o = &r.org;
        OrgForm {
            spz_code: o.spz_code.as_str().to_owned(),
            name: o.name.clone(),
            short_name: o.short_name.clone(),
            inn: o.inn.as_str().to_owned(),
            kpp: o.kpp.as_str().to_owned(),
            iku: domain::org::iku(o.budget_level, &o.inn, &o.kpp).map(|i| i.as_str().to_owned()).unwrap_or_default(),
            org_type: o.org_type.code().to_owned(),
            budget_level: o.budget_level.to_string(),
            oktmo: o.oktmo.clone(),
            superior_id: o.superior_id.map(|s| s.get().to_string()).unwrap_or_default(),
            row_version: r.row_version.to_string(),
        }
    }
}

/// What the agreement form sends.
#[derive(Debug, Clone, Default)]
pub struct AgreementForm {
    pub number: String,
    pub signed_on: String,
    pub valid_from: String,
    pub valid_to: String,
}

/// Today in Moscow as an ISO date, the form agreements' dates are compared in.
pub fn today_iso() -> String {
    chrono::Utc::now().with_timezone(&domain::format::moscow()).date_naive().format("%Y-%m-%d").to_string()
}

/// A date typed as `ГГГГ-ММ-ДД` (the date picker) or `ДД.ММ.ГГГГ`, as ISO; empty is `None`.
pub fn parse_date(typed: &str) -> std::result::Result<Option<String>, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(typed, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(typed, "%d.%m.%Y"))
        .map(|d| Some(d.format("%Y-%m-%d").to_string()))
        .map_err(|_| "Укажите дату в виде ДД.ММ.ГГГГ.".to_owned())
}

/// An ISO date as `ДД.ММ.ГГГГ`.
pub fn date_ru(iso: &str) -> String {
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d").map(|d| d.format("%d.%m.%Y").to_string()).unwrap_or_default()
}

/// Lowercase, «ё» as «е»: the search form of a name.
fn fold(s: &str) -> String {
    s.to_lowercase().replace('ё', "е")
}

fn err(errors: &mut Vec<FieldError>, field: &'static str, message: impl Into<String>) {
    errors.push(FieldError { field, message: message.into() });
}

fn summary(errors: Vec<FieldError>, what: &str) -> Error {
    let message = match errors.as_slice() {
        [one] => one.message.clone(),
        _ => format!("{what}: исправьте ошибки в отмеченных полях."),
    };
    Error::fields(message, errors)
}

/// The tree below `top` in list order (depth first, each level by short name).
fn flatten(nodes: &[OrgNode], top: OrgId) -> Vec<(usize, usize)> {
    let mut children: HashMap<OrgId, Vec<usize>> = HashMap::new();
    let mut index = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        index.insert(n.id, i);
        if let Some(s) = n.superior_id {
            children.entry(s).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    let Some(&start) = index.get(&top) else { return out };
    let mut seen = HashSet::new();
    let mut stack = vec![(start, 0usize)];
    while let Some((i, depth)) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        out.push((i, depth));
        if let Some(c) = children.get(&nodes[i].id) {
            for &k in c.iter().rev() {
                stack.push((k, depth + 1));
            }
        }
    }
    out
}

impl Workflow {
    /// The organizations pages of an administrator; refused to anyone else.
    pub async fn org_admin(&self, caller: &User) -> Result<OrgAdmin> {
        if !caller.roles.is_admin() {
            return Err(Error::not_allowed("Раздел «Организации» доступен только администратору."));
        }
        let org = self.store.organization(caller.org_id).await?.ok_or(Error::NotFound)?;
        let nodes = self.store.org_nodes(org.id).await?;
        let index = nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
        Ok(OrgAdmin {
            store: self.store.clone(),
            admin: caller.clone(),
            org,
            nodes,
            index,
            ecp_enabled: self.ecp_enabled(),
        })
    }
}

impl OrgAdmin {
    pub fn admin(&self) -> &User {
        &self.admin
    }

    /// The administrator's own organization, the top of the tree.
    pub fn organization(&self) -> &Organization {
        &self.org
    }

    fn by(&self) -> Actor {
        Actor { user_id: self.admin.id, org_id: self.admin.org_id }
    }

    pub fn reaches(&self, id: OrgId) -> bool {
        self.index.contains_key(&id)
    }

    fn node(&self, id: OrgId) -> Option<&OrgNode> {
        self.index.get(&id).map(|i| &self.nodes[*i])
    }

    /// The organization and every one below it, within the reach.
    fn below(&self, id: OrgId) -> HashSet<OrgId> {
        flatten(&self.nodes, id).into_iter().map(|(i, _)| self.nodes[i].id).collect()
    }

    /// One page of the tree: the whole reach, or the branch under `branch`; with a `query`, the
    /// organizations whose name, short name, ИНН or СПЗ code contain it, each with its path.
    pub async fn tree(&self, query: &str, branch: Option<i64>, page: i64) -> Result<OrgTree> {
        let query = query.trim();
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::field(
                "q",
                format!("Строка поиска не длиннее {MAX_QUERY_CHARS} символов. Сократите её и повторите поиск."),
            ));
        }
        domain::text::check(query).map_err(|m| Error::field("q", m))?;
        let top = match branch {
            Some(id) if self.reaches(OrgId(id)) => OrgId(id),
            Some(_) => return Err(Error::NotFound),
            None => self.org.id,
        };
        let order = flatten(&self.nodes, top);
        let mut counts: HashMap<OrgId, usize> = HashMap::new();
        for n in &self.nodes {
            if let Some(s) = n.superior_id.filter(|_| n.id != self.org.id) {
                *counts.entry(s).or_default() += 1;
            }
        }
        let needle = fold(query);
        let matches = |n: &OrgNode| {
            needle.is_empty()
                || fold(&n.short_name).contains(&needle)
                || fold(&n.name).contains(&needle)
                || n.inn.contains(query)
                || n.spz_code.contains(query)
        };
        let found: Vec<(usize, usize)> = order.into_iter().filter(|(i, _)| matches(&self.nodes[*i])).collect();
        let total = found.len();
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = usize::try_from(page).unwrap_or(1).clamp(1, pages);
        let rows = found
            .into_iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(|(i, depth)| {
                let node = self.nodes[i].clone();
                let path = if needle.is_empty() { Vec::new() } else { self.path(&node) };
                let below = self.below(node.id).len() - 1;
                TreeRow { subordinates: counts.get(&node.id).copied().unwrap_or(0), below, depth, path, node }
            })
            .collect();
        let branch = (top != self.org.id).then(|| self.node(top).cloned()).flatten();
        Ok(OrgTree { rows, total, page, pages, branch })
    }

    /// The superiors of an organization from the top of the reach, by short name.
    pub fn path(&self, node: &OrgNode) -> Vec<String> {
        let mut path = Vec::new();
        let mut at = node.superior_id.filter(|_| node.id != self.org.id);
        while let Some(id) = at {
            let Some(n) = self.node(id) else { break };
            if path.len() > self.nodes.len() {
                break;
            }
            path.push(n.short_name.clone());
            at = n.superior_id.filter(|_| n.id != self.org.id);
        }
        path.reverse();
        path
    }

    /// An organization in reach; anyone else is not found.
    pub async fn record(&self, id: OrgId) -> Result<OrgRecord> {
        if !self.reaches(id) {
            return Err(Error::NotFound);
        }
        self.store.org_record(id).await?.ok_or(Error::NotFound)
    }

    /// The short name of an organization in reach (or of the administrator's superior).
    pub async fn name_of(&self, id: OrgId) -> Result<String> {
        if let Some(n) = self.node(id) {
            return Ok(n.short_name.clone());
        }
        Ok(self.store.organization(id).await?.map(|o| o.short_name).unwrap_or_default())
    }

    /// The users of an organization in reach.
    pub fn users_of(&self, id: OrgId) -> i64 {
        self.node(id).map_or(0, |n| n.users)
    }

    /// The journal of an organization in reach, oldest first.
    pub async fn journal(&self, target: &OrgRecord) -> Result<Vec<store::audit::AuditEntry>> {
        Ok(self.store.audit_for("organization", target.org.id.get()).await?)
    }

    /// The direct subordinates of an organization in reach, by short name.
    pub fn subordinates(&self, id: OrgId) -> Vec<&OrgNode> {
        self.nodes.iter().filter(|n| n.superior_id == Some(id) && n.id != self.org.id).collect()
    }

    /// The organizations that may be the superior of `org` (a new one when `None`): the reach,
    /// less the organization itself and everything below it (no cycles).
    pub fn superior_choices(&self, org: Option<OrgId>) -> Vec<&OrgNode> {
        let below = org.map(|o| self.below(o)).unwrap_or_default();
        flatten(&self.nodes, self.org.id)
            .into_iter()
            .map(|(i, _)| &self.nodes[i])
            .filter(|n| !below.contains(&n.id))
            .collect()
    }

    /// Sends of the organization waiting in the queue.
    pub async fn queued_sends(&self, id: OrgId) -> Result<i64> {
        Ok(self.store.queued_sends_of_org(id).await?)
    }

    /// Checks the form; `current` is the organization edited (none for a new one).
    fn check(&self, f: &OrgForm, current: Option<&OrgRecord>) -> Result<OrgFields> {
        let mut errors = Vec::new();
        let spz = SpzCode::parse(&f.spz_code).map_err(|e| err(&mut errors, "spz_code", format!("{e}.")));
        if let Err(m) = domain::org::check_name(&f.name, "полное наименование", MAX_NAME_CHARS) {
            err(&mut errors, "name", m);
        }
        if let Err(m) = domain::org::check_name(&f.short_name, "краткое наименование", MAX_SHORT_NAME_CHARS)
        {
            err(&mut errors, "short_name", m);
        }
        let inn = Inn::parse(&f.inn).map_err(|e| err(&mut errors, "inn", format!("{e}.")));
        let kpp = Kpp::parse(&f.kpp).map_err(|e| err(&mut errors, "kpp", format!("{e}.")));
        let org_type = OrgType::parse(&f.org_type)
            .map_err(|_| err(&mut errors, "org_type", "Выберите тип организации из списка."));
        let level = match f.budget_level.trim().parse::<u8>() {
            Ok(l @ 1..=3) => Ok(l),
            _ => {
                err(&mut errors, "budget_level", format!("{}.", domain::org::OrgFieldError::BudgetLevel));
                Err(())
            }
        };
        if let (Ok(inn), Ok(kpp), Ok(level)) = (&inn, &kpp, &level)
            && let Err(m) = domain::org::check_iku(*level, inn, kpp, &f.iku)
        {
            err(&mut errors, "iku", m);
        }
        if let Err(m) = domain::org::check_oktmo(&f.oktmo) {
            err(&mut errors, "oktmo", m);
        }
        let superior = self.check_superior(&f.superior_id, current).map_err(|m| err(&mut errors, "superior_id", m));
        let (Ok(spz_code), Ok(inn), Ok(kpp), Ok(org_type), Ok(budget_level), Ok(superior_id), true) =
            (spz, inn, kpp, org_type, level, superior, errors.is_empty())
        else {
            let what = if current.is_some() {
                "Организация не сохранена"
            } else {
                "Организация не создана"
            };
            return Err(summary(errors, what));
        };
        Ok(OrgFields {
            name: f.name.trim().to_owned(),
            short_name: f.short_name.trim().to_owned(),
            superior_id,
            spz_code,
            inn,
            kpp,
            org_type,
            budget_level,
            oktmo: f.oktmo.trim().to_owned(),
        })
    }

    /// The superior chosen: within the reach and not the organization itself or below it. The
    /// superior an organization has stays allowed (the administrator's own organization's
    /// superior is out of their reach).
    fn check_superior(&self, raw: &str, current: Option<&OrgRecord>) -> std::result::Result<Option<OrgId>, String> {
        let raw = raw.trim();
        let chosen = if raw.is_empty() { None } else { raw.parse::<i64>().ok().map(OrgId) };
        if let Some(c) = current
            && chosen == c.org.superior_id
            && (raw.is_empty() || chosen.is_some())
        {
            return Ok(chosen);
        }
        let Some(chosen) = chosen else {
            return Err(if raw.is_empty() {
                "Выберите вышестоящую организацию: организация без вышестоящей окажется вне вашего администрирования."
                    .into()
            } else {
                "Выберите вышестоящую организацию из списка.".into()
            });
        };
        if !self.reaches(chosen) {
            return Err("Выберите вышестоящую организацию из списка.".into());
        }
        if let Some(c) = current
            && self.below(c.org.id).contains(&chosen)
        {
            return Err(
                "Вышестоящей не может быть сама организация или подчинённая ей: получился бы замкнутый круг подчинения."
                    .into(),
            );
        }
        Ok(Some(chosen))
    }

    /// A new organization below one in reach.
    pub async fn create(&self, form: &OrgForm) -> Result<OrgId> {
        let fields = self.check(form, None)?;
        match self.store.admin_create_organization(self.by(), &fields).await? {
            Some(id) => Ok(id),
            None => Err(Error::field(
                "spz_code",
                format!("Организация с кодом по СПЗ {} уже есть. Проверьте код.", fields.spz_code.as_str()),
            )),
        }
    }

    /// Saves the edit form of an organization in reach, if nobody changed it meanwhile. A new
    /// superior moves the organization's plans in the superiors' counts in the same transaction.
    pub async fn update(&self, target: &OrgRecord, form: &OrgForm) -> Result<bool> {
        let Ok(row_version) = form.row_version.trim().parse::<i64>() else {
            return Err(stale());
        };
        let fields = self.check(form, Some(target))?;
        let before = &target.org;
        let after = Organization {
            id: before.id,
            name: fields.name.clone(),
            short_name: fields.short_name.clone(),
            superior_id: fields.superior_id,
            spz_code: fields.spz_code.clone(),
            inn: fields.inn.clone(),
            kpp: fields.kpp.clone(),
            org_type: fields.org_type,
            budget_level: fields.budget_level,
            oktmo: fields.oktmo.clone(),
        };
        if *before == after {
            return Ok(false);
        }
        if row_version != target.row_version {
            return Err(stale());
        }
        let mut details = vec![format!("СПЗ {}", before.spz_code.as_str())];
        if before.spz_code != after.spz_code {
            details.push(format!("код по СПЗ: {} → {}", before.spz_code.as_str(), after.spz_code.as_str()));
        }
        if before.superior_id != after.superior_id {
            let name = |id: Option<OrgId>| async move {
                match id {
                    Some(id) => self.name_of(id).await,
                    None => Ok("нет".to_owned()),
                }
            };
            details.push(format!(
                "вышестоящая организация: {} → {}",
                name(before.superior_id).await?,
                name(after.superior_id).await?
            ));
        }
        let changed: Vec<&str> =
            store::orgs::changes(before, &after).into_iter().filter(|c| *c != "вышестоящая организация").collect();
        if !changed.is_empty() {
            details.push(format!("изменено: {}", changed.join(", ")));
        }
        match self
            .store
            .admin_update_organization(self.by(), before.id, row_version, &fields, &details.join("; "))
            .await?
        {
            Updated::Done => Ok(true),
            Updated::Stale => Err(stale()),
            Updated::SpzTaken => Err(Error::field(
                "spz_code",
                format!("Организация с кодом по СПЗ {} уже есть. Проверьте код.", fields.spz_code.as_str()),
            )),
        }
    }

    /// Blocks or unblocks an organization in reach. The administrator's own organization cannot
    /// be blocked: that is how one locks oneself out.
    pub async fn set_blocked(&self, target: &OrgRecord, blocked: bool) -> Result<()> {
        if blocked && target.org.id == self.org.id {
            return Err(Error::not_allowed(
                "Свою организацию заблокировать нельзя: вы лишитесь доступа. Попросите администратора вышестоящей организации.",
            ));
        }
        self.store.admin_set_org_blocked(self.by(), target.org.id, blocked).await?;
        Ok(())
    }

    /// Whether the server checks ЭЦП at all (the operator configured trusted УЦ): without it no
    /// organization can require it.
    pub fn ecp_enabled(&self) -> bool {
        self.ecp_enabled
    }

    /// Sets what an organization in reach requires of ЭЦП; false when nothing changed. Refused
    /// while the server checks no ЭЦП, and — for certificate sign-in of the administrator's own
    /// organization — until the administrator holds a bound certificate in force: that is how
    /// one locks oneself out.
    pub async fn set_ecp_policy(&self, target: &OrgRecord, policy: EcpPolicy) -> Result<bool> {
        let asks_more = (policy.sign_in && !target.ecp.sign_in)
            || (policy.approval && !target.ecp.approval)
            || (policy.packet && !target.ecp.packet);
        if asks_more && !self.ecp_enabled {
            return Err(Error::refused(Refusal::State, ECP_OFF));
        }
        if policy.sign_in && !target.ecp.sign_in && target.org.id == self.org.id {
            let now = store::now();
            let holds = self
                .store
                .user_certificates(self.admin.id)
                .await?
                .iter()
                .any(|c| c.certificate.not_before <= now && now < c.certificate.not_after);
            if !holds {
                return Err(Error::not_allowed(OWN_SIGN_IN_WITHOUT_CERTIFICATE));
            }
        }
        Ok(self.store.admin_set_ecp_policy(self.by(), target.org.id, policy).await?)
    }

    /// The agreements of an organization in reach, newest first.
    pub async fn agreements(&self, target: &OrgRecord) -> Result<Vec<Agreement>> {
        Ok(self.store.agreements_of(target.org.id).await?)
    }

    /// Whether the administrator manages this organization's agreements: those of an
    /// organization whose superior is in reach (the superior's administrator records them).
    pub fn manages_agreements(&self, target: &OrgRecord) -> bool {
        target.org.id != self.org.id && target.org.superior_id.is_some_and(|s| self.reaches(s))
    }

    /// Records an agreement of the organization with its superior (the agent).
    pub async fn add_agreement(&self, target: &OrgRecord, form: &AgreementForm) -> Result<i64> {
        let agent = match target.org.superior_id {
            Some(s) if self.manages_agreements(target) => s,
            Some(_) => {
                return Err(Error::not_allowed(
                    "Соглашение вашей организации с вышестоящей вносит администратор вышестоящей организации.",
                ));
            }
            None => {
                return Err(Error::refused(
                    Refusal::State,
                    "У организации нет вышестоящей организации, которой она могла бы передать полномочия.",
                ));
            }
        };
        let mut errors = Vec::new();
        let number = form.number.trim();
        if number.is_empty() {
            err(&mut errors, "number", "Укажите номер соглашения.");
        } else if number.chars().count() > MAX_AGREEMENT_NUMBER_CHARS {
            err(&mut errors, "number", format!("Номер соглашения не длиннее {MAX_AGREEMENT_NUMBER_CHARS} символов."));
        } else if let Err(m) = domain::text::check(number) {
            err(&mut errors, "number", m);
        }
        let signed = parse_date(&form.signed_on);
        let signed = match signed {
            Ok(Some(d)) => Some(d),
            Ok(None) => {
                err(&mut errors, "signed_on", "Укажите дату соглашения.");
                None
            }
            Err(m) => {
                err(&mut errors, "signed_on", m);
                None
            }
        };
        let from = parse_date(&form.valid_from).map_err(|m| err(&mut errors, "valid_from", m)).ok().flatten();
        let to = parse_date(&form.valid_to).map_err(|m| err(&mut errors, "valid_to", m)).ok().flatten();
        if let (Some(f), Some(t)) = (&from, &to)
            && t < f
        {
            err(&mut errors, "valid_to", "Дата окончания действия раньше даты начала.");
        }
        let (Some(signed), true) = (signed, errors.is_empty()) else {
            return Err(summary(errors, "Соглашение не внесено"));
        };
        let agent_name = self.name_of(agent).await?;
        let mut details =
            format!("Соглашение № {number} от {}; уполномоченная организация {agent_name}", date_ru(&signed));
        if let Some(f) = &from {
            details.push_str(&format!("; действует с {}", date_ru(f)));
        }
        if let Some(t) = &to {
            details.push_str(&format!("; действует по {}", date_ru(t)));
        }
        let new = NewAgreement {
            subordinate_id: target.org.id,
            agent_id: agent,
            number,
            signed_on: &signed,
            valid_from: from.as_deref(),
            valid_to: to.as_deref(),
        };
        Ok(self.store.admin_add_agreement(Some(self.by()), &new, &details).await?)
    }

    /// Revokes an agreement of an organization in reach (kept in the list as revoked).
    pub async fn revoke_agreement(&self, target: &OrgRecord, agreement: i64) -> Result<()> {
        let a = self.store.agreement(agreement).await?.ok_or(Error::NotFound)?;
        if a.subordinate_id != target.org.id {
            return Err(Error::NotFound);
        }
        if !self.reaches(a.agent_id) {
            return Err(Error::not_allowed(
                "Соглашение вашей организации с вышестоящей отзывает администратор вышестоящей организации.",
            ));
        }
        self.store.admin_revoke_agreement(self.by(), &a).await?;
        Ok(())
    }
}

/// Why no organization can require ЭЦП on this server.
pub const ECP_OFF: &str = "Проверка электронной подписи (ЭЦП) не включена на сервере plangraf (не заданы доверенные \
     удостоверяющие центры): требовать её нельзя. Обратитесь к администратору сервера.";
/// Why an administrator without a certificate cannot require certificate sign-in of his own organization.
pub const OWN_SIGN_IN_WITHOUT_CERTIFICATE: &str = "Нельзя потребовать вход только по ЭЦП для своей организации, пока \
     к вашей учётной записи не привязан действующий сертификат: вы не сможете войти. Привяжите его в «Настройки» → \
     «Сертификаты ЭЦП».";

fn stale() -> Error {
    Error::refused(
        Refusal::State,
        "Организацию изменил другой администратор, пока форма была открыта: изменения не сохранены. \
         Откройте карточку заново и повторите.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: i64, superior: Option<i64>, name: &str) -> OrgNode {
        OrgNode {
            id: OrgId(id),
            superior_id: superior.map(OrgId),
            short_name: name.into(),
            name: name.into(),
            spz_code: format!("{id:011}"),
            inn: String::new(),
            blocked: false,
            users: 0,
        }
    }

    #[test]
    fn the_tree_is_depth_first_each_level_by_name_and_survives_a_cycle() {
        // Sorted by name as the store gives them.
        let nodes = vec![
            node(1, None, "А-верх"),
            node(3, Some(2), "В-внук"),
            node(2, Some(1), "Г-дочь"),
            node(4, Some(1), "Д-дочь"),
            node(5, Some(6), "Е-кольцо"),
            node(6, Some(5), "Ж-кольцо"),
        ];
        let order: Vec<(i64, usize)> =
            flatten(&nodes, OrgId(1)).into_iter().map(|(i, d)| (nodes[i].id.get(), d)).collect();
        assert_eq!(order, vec![(1, 0), (2, 1), (3, 2), (4, 1)]);
        let branch: Vec<i64> = flatten(&nodes, OrgId(2)).into_iter().map(|(i, _)| nodes[i].id.get()).collect();
        assert_eq!(branch, vec![2, 3]);
        // A cycle in the data ends instead of looping.
        assert_eq!(flatten(&nodes, OrgId(5)).len(), 2);
        assert!(flatten(&nodes, OrgId(99)).is_empty());
    }

    #[test]
    fn dates_typed_either_way() {
        assert_eq!(parse_date("01.02.2026").unwrap().as_deref(), Some("2026-02-01"));
        assert_eq!(parse_date("2026-02-01").unwrap().as_deref(), Some("2026-02-01"));
        assert_eq!(parse_date(" ").unwrap(), None);
        assert!(parse_date("31.02.2026").is_err());
        assert_eq!(date_ru("2026-02-01"), "01.02.2026");
    }

    #[test]
    fn an_agreement_is_in_force_only_with_the_superior_within_its_dates_and_unrevoked() {
        let a = Agreement {
            id: 1,
            subordinate_id: OrgId(2),
            agent_id: OrgId(1),
            agent_short_name: "Комитет".into(),
            number: "7".into(),
            signed_on: "2026-01-10".into(),
            valid_from: Some("2026-01-15".into()),
            valid_to: Some("2026-12-31".into()),
            created_by: None,
            created_at: store::now(),
            revoked_at: None,
            revoked_by: None,
        };
        assert!(a.in_force(Some(OrgId(1)), "2026-06-01"));
        assert!(a.in_force(Some(OrgId(1)), "2026-12-31"));
        assert!(!a.in_force(Some(OrgId(1)), "2026-01-14"));
        assert!(!a.in_force(Some(OrgId(1)), "2027-01-01"));
        assert!(!a.in_force(Some(OrgId(9)), "2026-06-01"), "another superior");
        let revoked = Agreement { revoked_at: Some(store::now()), ..a };
        assert!(!revoked.in_force(Some(OrgId(1)), "2026-06-01"));
    }
}
