//! The plan page: the plan form with its tabs («Позиции», «Версии документов», «Журнал»),
//! its header, the pre-flight findings linked to their fields and the position form, rendered
//! from the workflow's plan view.

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::pages::position_form::{FormContext, messages};
use crate::view::{Chrome, fmt_time, html};
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::ids::{PlanId, PositionId, VersionId};
use domain::plan::{FieldError, PositionDraft, YearAmounts};
use domain::{PlanStatus, SendStatus};
use store::plans::PositionFilter;

pub struct PositionRow {
    id: PositionId,
    mark: &'static str,
    change: Option<String>,
    in_base: bool,
    /// The position's own row version, which its delete form names.
    row_version: i64,
    number: String,
    /// ЕИС's registry number, for a plan kept in ЕИС.
    eis_number: Option<String>,
    /// Cancelled in an earlier change round: not editable.
    cancelled_earlier: bool,
    ikz: String,
    object: String,
    okpd2: String,
    kvr: String,
    /// Breakdown lines as «КБК … : сумма» for the table.
    lines: Vec<String>,
    energy_service: bool,
    public_discussion: bool,
    publish_year: i32,
    amounts: YearAmounts,
}

pub struct FindingRow {
    place: String,
    message: String,
    link: Option<String>,
}

pub struct VersionRow {
    id: VersionId,
    number: i64,
    approved_at: String,
    approved_by: String,
    /// The approval was signed with ЭЦП.
    signed: bool,
    positions: i64,
    total_current: domain::Money,
    status: &'static str,
    status_class: &'static str,
    can_send: bool,
    send_blocked: String,
    /// The latest send, for «Доказательства отправки».
    latest_send: Option<domain::ids::SendId>,
}

pub struct JournalRow {
    at: String,
    who: String,
    action: String,
    details: String,
}

/// What the banner of a plan kept in ЕИС says of its last import.
pub struct KeptInEis {
    plan_number: String,
    version: String,
    taken_at: String,
}

#[derive(Template)]
#[template(path = "plan.html")]
pub struct PlanPage {
    chrome: Option<Chrome>,
    csrf: String,
    id: PlanId,
    year: i32,
    org_name: String,
    org_short: String,
    org_spz: String,
    org_type: &'static str,
    owner_role: &'static str,
    owner_role_title: &'static str,
    agent_name: Option<String>,
    has_superior: bool,
    responsible_text: Option<String>,
    responsible: domain::plan::ResponsiblePerson,
    status: &'static str,
    eis_plan_number: Option<String>,
    /// Created in ЕИС and taken in: read-only here; what was taken in, and when.
    kept_in_eis: Option<KeptInEis>,
    /// «Сверить с ЕИС»: placed in ЕИС, and the caller sends its versions.
    can_reconcile: bool,
    return_comment: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    tab: String,
    can_edit: bool,
    can_submit: bool,
    can_decide: bool,
    /// «Утвердить» must be signed: the plug-in's script to load.
    sign_approval: Option<String>,
    can_start_changes: bool,
    has_base: bool,
    row_version: i64,
    positions: Vec<PositionRow>,
    /// The sums of the positions shown by the filters (all of them without filters).
    totals: YearAmounts,
    /// Positions in the working copy.
    position_count: i64,
    /// Positions the filters select.
    matching_count: i64,
    filtered: bool,
    /// Numbered links to the pages of the selected positions.
    pages: Vec<PageLink>,
    query: PositionsQuery,
    /// Findings beyond those listed.
    hidden_findings: usize,
    findings: Vec<FindingRow>,
    /// The schema check of this content is still running.
    schema_pending: bool,
    draft: PositionDraft,
    form: FormContext,
    field_errors: Vec<FieldError>,
    versions: Vec<VersionRow>,
    journal: Vec<JournalRow>,
}

impl PlanPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.field_errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    fn errs(&self, field: &str) -> Vec<&str> {
        messages(&self.field_errors, field)
    }
    fn responsible_has_errors(&self) -> bool {
        self.field_errors.iter().any(|e| e.field.starts_with("responsible_"))
    }
    fn responsible_fields(&self) -> [(&'static str, &'static str, &str); 5] {
        let r = &self.responsible;
        [
            ("responsible_last_name", "Фамилия", &r.last_name),
            ("responsible_first_name", "Имя", &r.first_name),
            ("responsible_middle_name", "Отчество", &r.middle_name),
            ("responsible_position", "Должность", &r.position),
            ("responsible_phone", "Телефон", &r.phone),
        ]
    }
}

/// CSS class of a send status on the page.
pub fn status_class(s: Option<SendStatus>) -> &'static str {
    match s {
        Some(SendStatus::Loaded | SendStatus::Published) => "ok",
        Some(
            SendStatus::AuthError
            | SendStatus::Rejected
            | SendStatus::Conflict
            | SendStatus::RequestRefused
            | SendStatus::GaveUp,
        ) => "bad",
        Some(SendStatus::Queued | SendStatus::Processing) => "wait",
        None => "",
    }
}

/// The pre-flight findings; while the plan can be edited, each one links to the field of its
/// position.
fn finding_rows(found: Vec<domain::Finding>, editable: Option<(PlanId, &[(u16, PositionId)])>) -> Vec<FindingRow> {
    found
        .into_iter()
        .map(|f| {
            let link = match (editable, f.purchase_number) {
                (Some((plan_id, ids)), Some(n)) => ids
                    .iter()
                    .find(|(number, _)| *number == n)
                    .map(|(_, id)| format!("/plans/{plan_id}/positions/{id}/edit#{}", f.field)),
                _ => None,
            };
            FindingRow {
                place: match f.purchase_number {
                    Some(n) => format!("Позиция {n:04}"),
                    None => "План-график".into(),
                },
                message: f.message,
                link,
            }
        })
        .collect()
}

/// Messages shown after a redirect; only known codes are shown, so a link cannot inject text.
pub(super) fn notice_text(code: &str) -> Option<String> {
    Some(
        match code {
            "added" => "Позиция добавлена",
            "deleted" => "Позиция удалена",
            "submitted" => "План-график отправлен на согласование",
            "approved" => "План-график утвержден, создана новая версия",
            "returned" => "План-график возвращён на доработку",
            "changing" => "Открыт новый цикл изменений: измените или отмените позиции с обоснованием, затем отправьте на согласование",
            "updated" => "Позиция изменена",
            "canceled" => "Закупка отменена",
            "owner" => "Изменено, кто размещает план-график в ЕИС",
            "responsible" => "Ответственный исполнитель сохранён",
            "imported" => "Позиции загружены из Excel",
            "taken_from_eis" => "План-график загружен из ЕИС. Он ведётся в ЕИС: изменения вносятся в личном кабинете ЕИС",
            _ => return None,
        }
        .to_owned(),
    )
}

#[derive(Default)]
pub(super) struct Extra {
    pub(super) notice: Option<String>,
    pub(super) error: Option<String>,
    /// The status of the answer: the refusal's, or 200.
    pub(super) status: Option<StatusCode>,
    pub(super) draft: Option<PositionDraft>,
    pub(super) field_errors: Vec<FieldError>,
    /// The responsible person as typed, when the header form comes back with errors.
    pub(super) responsible: Option<domain::plan::ResponsiblePerson>,
    /// The page and filters of the positions.
    pub(super) query: Option<PositionsQuery>,
}

/// Positions shown on one page of the plan.
const PAGE: i64 = 50;

/// The plan page's position list: page number, search and filters, as in its query string.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PositionsQuery {
    #[serde(default)]
    pub page: Option<String>,
    /// Object name or ОКПД2 code.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub okpd2: String,
    #[serde(default)]
    pub kvr: String,
    /// `changed`, `canceled` or `new`.
    #[serde(default)]
    pub mark: String,
    /// «только с замечаниями»: present when checked.
    #[serde(default)]
    pub findings: Option<String>,
}

pub struct PageLink {
    number: i64,
    href: String,
    current: bool,
}

impl PositionsQuery {
    /// The page asked for ([`Self::refusal`] has refused one that is not a number).
    fn page(&self) -> i64 {
        super::page_number(self.page.as_deref()).unwrap_or(1)
    }

    /// Refuses what the filter form cannot produce: a page that is not a number from 1, an
    /// unknown mark, a text longer than the store's filter takes. Nothing is cut silently.
    fn refusal(&self) -> Option<String> {
        if let Err(why) = super::page_number(self.page.as_deref()) {
            return Some(why);
        }
        let mark = self.mark.trim();
        if !mark.is_empty() && app::plans::MarkFilter::from_code(mark).is_none() {
            return Some(format!(
                "Неизвестный отбор по отметке «{}»: выберите его из списка",
                mark.chars().take(40).collect::<String>()
            ));
        }
        [
            ("Строка поиска", &self.q, PositionFilter::MAX_SEARCH),
            ("Начало кода ОКПД2", &self.okpd2, PositionFilter::MAX_OKPD2),
            ("Код КВР", &self.kvr, PositionFilter::MAX_KVR),
        ]
        .into_iter()
        .find(|(_, value, max)| value.trim().chars().count() > *max)
        .map(|(name, _, max)| format!("{name} — не более {max} символов: сократите и повторите отбор"))
    }

    fn findings_only(&self) -> bool {
        self.findings.as_deref().is_some_and(|v| !v.is_empty())
    }

    fn is_filtered(&self) -> bool {
        !self.q.trim().is_empty()
            || !self.okpd2.trim().is_empty()
            || !self.kvr.trim().is_empty()
            || app::plans::MarkFilter::from_code(self.mark.trim()).is_some()
            || self.findings_only()
    }

    fn to_app(&self) -> Result<app::plans::PositionQuery, WebError> {
        if let Some(why) = self.refusal() {
            return Err(WebError::bad_request(why));
        }
        Ok(app::plans::PositionQuery {
            filter: PositionFilter {
                search: self.q.trim().to_owned(),
                okpd2_prefix: self.okpd2.trim().to_owned(),
                kvr: self.kvr.trim().to_owned(),
                ..Default::default()
            },
            mark: app::plans::MarkFilter::from_code(self.mark.trim()),
            findings_only: self.findings_only(),
            after: None,
            offset: (self.page() - 1).saturating_mul(PAGE),
            limit: PAGE,
        })
    }

    /// The query string of another page with the same filters.
    fn href(&self, page: i64) -> String {
        let mut pairs = vec![("page", page.to_string())];
        for (name, value) in [("q", &self.q), ("okpd2", &self.okpd2), ("kvr", &self.kvr), ("mark", &self.mark)] {
            if !value.trim().is_empty() {
                pairs.push((name, value.trim().to_owned()));
            }
        }
        if self.findings_only() {
            pairs.push(("findings", "1".to_owned()));
        }
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
        format!("?{}", query.join("&"))
    }
}

/// Percent-encodes a query string value.
pub(super) fn encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Numbered page links: the first, the last and those around the current page.
fn page_links(query: &PositionsQuery, matching: i64) -> Vec<PageLink> {
    let last = ((matching + PAGE - 1) / PAGE).max(1);
    let current = query.page().min(last);
    if last == 1 {
        return Vec::new();
    }
    (1..=last)
        .filter(|n| *n == 1 || *n == last || (n - current).abs() <= 3)
        .map(|n| PageLink { number: n, href: query.href(n), current: n == current })
        .collect()
}

impl Extra {
    /// The page again, saying why the action was not done, with the refusal's status.
    pub(super) fn error(e: WebError) -> Extra {
        let mut message = e.detail().to_owned();
        for p in e.problems() {
            message.push_str("; ");
            message.push_str(&p.message);
        }
        Extra { error: Some(message), status: Some(e.status()), ..Extra::default() }
    }
}

/// Shown findings at most; the rest are counted, and «только с замечаниями» lists their positions.
const SHOWN_FINDINGS: usize = 100;

pub(super) async fn render_plan(
    state: &AppState,
    session: &store::users::Session,
    plan_id: PlanId,
    tab: &str,
    extra: Extra,
) -> WebResult<Response> {
    let user = &session.user;
    let query = extra.query.clone().unwrap_or_default();
    let view = state.app.plan_view(user, plan_id, &query.to_app()?).await?;
    let readable = view.plan;
    let may = readable.permissions();
    let (plan, owner) = (readable.plan(), readable.owner());
    let rules = view.findings.rules.clone();
    // A plan kept in ЕИС is not sent from here: plangraf's pre-flight findings do not concern it.
    let kept = plan.status == PlanStatus::KeptInEis;
    let all_findings: &[domain::Finding] = if kept { &[] } else { view.findings.findings.as_ref() };
    let hidden_findings = all_findings.len().saturating_sub(SHOWN_FINDINGS);
    let found: Vec<domain::Finding> = all_findings.iter().take(SHOWN_FINDINGS).cloned().collect();
    let iku = view.iku.clone();
    let mut numbers: Vec<u16> = found.iter().filter_map(|f| f.purchase_number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let position_ids = if may.edit { state.app.store().position_ids(plan.id, &numbers).await? } else { Vec::new() };
    let has_base = view.version_count > 0;
    // What was taken in from ЕИС, with ЕИС's registry number of each position.
    let taken = match kept {
        true => state.app.store().latest_eis_copy(plan.id, store::eis_copies::CopyPurpose::Import).await?,
        false => None,
    };
    let positions: Vec<PositionRow> = view
        .page
        .into_iter()
        .map(|sp| {
            let p = sp.position;
            let mark = rules.mark(p.purchase_number.get());
            PositionRow {
                id: sp.id,
                // Cancelled in an earlier round: ЕИС keeps it cancelled, nothing to edit.
                cancelled_earlier: p.is_canceled() && mark.mark == domain::plan::ChangeMark::Unchanged,
                // A plan kept in ЕИС has no change round here: its positions are ЕИС's as taken in.
                mark: match (p.is_canceled(), kept) {
                    (true, _) => "Отменена",
                    (false, true) => "—",
                    (false, false) => mark.mark.title(),
                },
                change: p.change.as_ref().map(|c| {
                    // The reason's name from НСИ, kept with the change; the bare code only if it had none.
                    let reason = if c.reason_name.trim().is_empty() {
                        format!("код {}", c.reason_code)
                    } else {
                        c.reason_name.clone()
                    };
                    format!("{}. Причина: {}. Обоснование: {}", c.decision.title(), reason, c.description)
                }),
                in_base: mark.in_base,
                row_version: sp.row_version,
                eis_number: taken.as_ref().and_then(|c| c.position_numbers.get(&p.purchase_number.padded()).cloned()),
                number: p.purchase_number.padded(),
                ikz: p
                    .ikz(iku.as_ref())
                    .map(|k| k.to_string())
                    .unwrap_or_else(|_| "— (проверьте ИНН/КПП заказчика)".into()),
                object: p.title(),
                okpd2: if p.is_special() { "—".into() } else { p.okpd2_text() },
                kvr: p.kvr_text().to_owned(),
                lines: p
                    .kbks
                    .iter()
                    .map(|l| ("КБК", l))
                    .chain(p.kvrs.iter().map(|l| ("КВР", l)))
                    .chain(p.target_articles.iter().map(|l| ("Целевая статья", l)))
                    .map(|(name, l)| format!("{name} {}: {}", l.code, l.amounts.total()))
                    .collect(),
                energy_service: p.energy_service,
                public_discussion: p.public_discussion,
                publish_year: p.publish_year,
                amounts: p.amounts,
            }
        })
        .collect();
    let mut versions = Vec::new();
    if tab == "versions" {
        for item in state.app.version_list(user, &readable).await? {
            let (v, latest_send, latest) =
                (item.summary, item.latest.as_ref().map(|s| s.id), item.latest.map(|s| s.status));
            versions.push(VersionRow {
                id: v.id,
                number: v.version_number,
                approved_at: fmt_time(v.approved_at),
                approved_by: v.approved_by_name,
                signed: v.signed,
                positions: v.position_count,
                total_current: v.totals.current,
                status: latest.map(SendStatus::title).unwrap_or(SendStatus::NOT_SENT_TITLE),
                status_class: status_class(latest),
                can_send: item.blocked.is_none(),
                send_blocked: item.blocked.unwrap_or_default(),
                latest_send,
            });
        }
    }
    let journal = if tab == "journal" {
        state
            .app
            .store()
            .audit_for("plan", plan.id.get())
            .await?
            .into_iter()
            .map(|e| JournalRow {
                at: fmt_time(e.at),
                who: e.user_name.unwrap_or_default(),
                action: e.action,
                details: e.details,
            })
            .collect()
    } else {
        Vec::new()
    };
    let can_edit = may.edit;
    let draft =
        extra.draft.unwrap_or_else(|| PositionDraft { publish_year: plan.plan_year.to_string(), ..Default::default() });
    let next_number = domain::ikz::PurchaseNumber::new(view.next_number)
        .unwrap_or_else(|_| domain::ikz::PurchaseNumber::new(9999).expect("in range"));
    let form = FormContext::new(state, owner.org_type, iku.as_ref(), next_number, &draft).await?;
    let pages = page_links(&query, view.matching.count);
    let kept_in_eis = taken.map(|c| KeptInEis {
        plan_number: c.plan_number,
        version: c.version_number.map(|v| v.to_string()).unwrap_or_else(|| "не указана".into()),
        taken_at: fmt_time(c.fetched_at),
    });
    // The approver's organization requires signed approvals, and signatures can be checked.
    let sign_approval =
        may.decide && state.app.ecp_enabled() && state.app.ecp_policy(session.user.org_id).await?.approval;
    let page = PlanPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        id: plan.id,
        year: plan.plan_year,
        org_name: owner.name.clone(),
        org_short: owner.short_name.clone(),
        org_spz: owner.spz_code.to_string(),
        org_type: owner.org_type.title(),
        owner_role: plan.owner_role.code(),
        owner_role_title: plan.owner_role.title(),
        agent_name: view.agent.as_ref().map(|a| a.name.clone()),
        has_superior: owner.superior_id.is_some(),
        responsible_text: plan.responsible.as_ref().map(domain::plan::ResponsiblePerson::display),
        responsible: extra.responsible.or_else(|| plan.responsible.clone()).unwrap_or_default(),
        status: plan.status.title(),
        eis_plan_number: plan.eis_plan_number.clone(),
        kept_in_eis,
        can_reconcile: may.send && plan.eis_plan_number.is_some(),
        return_comment: if plan.status == PlanStatus::Revision { plan.return_comment.clone() } else { None },
        notice: extra.notice,
        error: extra.error.clone(),
        tab: tab.to_owned(),
        can_edit,
        can_submit: may.submit,
        can_decide: may.decide,
        sign_approval: sign_approval.then(|| state.ecp_plugin_script.to_string()),
        can_start_changes: may.start_changes,
        has_base,
        row_version: plan.row_version,
        totals: view.matching.amounts,
        position_count: view.totals.count,
        matching_count: view.matching.count,
        filtered: query.is_filtered(),
        pages,
        query,
        hidden_findings,
        findings: finding_rows(found, can_edit.then_some((plan.id, &position_ids))),
        schema_pending: !kept && view.findings.schema == app::checks::SchemaCheck::Pending,
        positions,
        form,
        draft,
        field_errors: extra.field_errors,
        versions,
        journal,
    };
    let status = match extra.status {
        Some(status) => status,
        None if extra.error.is_some() || !page.field_errors.is_empty() => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    Ok((status, html(&page)?).into_response())
}
