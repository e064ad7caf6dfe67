//! A version's action menu «»» beyond sending: «Скачать XML», «Скачать в Excel», «Печатная
//! форма» and «Сравнить с предыдущей».

use crate::AppState;
use crate::api::Id;
use crate::auth::CurrentUser;
use crate::error::{WebError, WebResult};
use crate::view::{Chrome, fmt_time, html};
use askama::Template;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use domain::diff::{PositionDiff, diff};
use domain::ids::{PlanId, VersionId};
use domain::plan::YearAmounts;

pub async fn xml(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<VersionId>,
) -> WebResult<Response> {
    let app::sending::PacketXml { xml, sent, version, plan } = state.app.packet_xml(&session.user, id).await?;
    let kind = if sent { "sent" } else { "preview" };
    let name =
        format!("attachment; filename=\"plan-{}-{}-v{}-{kind}.xml\"", plan.id, plan.plan_year, version.version_number);
    Ok(([(CONTENT_TYPE, "application/xml; charset=utf-8".to_owned()), (CONTENT_DISPOSITION, name)], xml)
        .into_response())
}

/// «Скачать в Excel»: the version's positions as .xlsx.
pub async fn xlsx(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<VersionId>,
) -> WebResult<Response> {
    Ok(download(state.app.version_xlsx(&session.user, id).await?))
}

/// A workbook to save.
pub fn download(d: app::excel::Download) -> Response {
    let name = format!("attachment; filename=\"{}\"", d.file_name);
    ([(CONTENT_TYPE, app::excel::XLSX_MIME.to_owned()), (CONTENT_DISPOSITION, name)], d.bytes).into_response()
}

struct PrintRow {
    number: String,
    ikz: String,
    object: String,
    okpd2: String,
    kvr: String,
    publish_year: i32,
    lines: Vec<(String, YearAmounts)>,
    amounts: YearAmounts,
    canceled: bool,
}

/// «Подписано ЭЦП» of a signed approval: the signer's certificate as the signature carries it.
struct SignedBlock {
    owner: String,
    snils: String,
    inn: String,
    issuer: String,
    serial: String,
    valid: String,
    thumbprint: String,
    at: String,
}

impl SignedBlock {
    fn of(c: &signature::Certificate, at: String) -> SignedBlock {
        let day = |t: chrono::DateTime<chrono::Utc>| t.format("%d.%m.%Y %H:%M UTC").to_string();
        let none = || "не указан".to_owned();
        SignedBlock {
            owner: c.owner_name().unwrap_or_else(none),
            snils: c.snils.clone().unwrap_or_else(none),
            inn: c.inn.clone().or_else(|| c.inn_le.clone()).unwrap_or_else(none),
            issuer: c.issuer_common_name.clone().unwrap_or_else(none),
            serial: c.serial.clone(),
            valid: format!("с {} по {}", day(c.not_before), day(c.not_after)),
            thumbprint: c.thumbprint.clone(),
            at,
        }
    }

    fn unreadable(at: String) -> SignedBlock {
        let dash = || "—".to_owned();
        SignedBlock {
            owner: "сведения о сертификате подписанта сейчас не прочитать: проверьте подпись по файлам ниже".into(),
            snils: dash(),
            inn: dash(),
            issuer: dash(),
            serial: dash(),
            valid: dash(),
            thumbprint: dash(),
            at,
        }
    }
}

#[derive(Template)]
#[template(path = "version_print.html")]
struct PrintPage {
    version_id: VersionId,
    signed: Option<SignedBlock>,
    plan_id: PlanId,
    year: i32,
    number: i64,
    plan_number: Option<String>,
    customer: String,
    inn: String,
    kpp: String,
    spz: String,
    org_type: &'static str,
    approved_at: String,
    approved_by: String,
    responsible: Option<String>,
    agent: Option<String>,
    positions: Vec<PrintRow>,
    totals: YearAmounts,
}

pub async fn print(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<VersionId>,
) -> WebResult<Response> {
    let (version, plan, _) = state.app.readable_version(&session.user, id).await?.into_parts();
    let s = &version.snapshot;
    let approver = state.app.store().user(version.approved_by).await?.map(|u| u.full_name).unwrap_or_default();
    let at = fmt_time(version.approved_at);
    let signed = match state.app.approval_signer(version.id).await {
        Ok(c) => c.map(|c| SignedBlock::of(&c, at)),
        // The signature is there but its certificate does not read now: said so, not a 500; the
        // two files still download.
        Err(app::Error::Internal(e)) => {
            tracing::warn!(version_id = version.id.get(), error = %e, "the approval signature's certificate did not read");
            Some(SignedBlock::unreadable(at))
        }
        Err(e) => return Err(e.into()),
    };
    let page = PrintPage {
        version_id: version.id,
        signed,
        plan_id: plan.id,
        year: plan.plan_year,
        number: version.version_number,
        plan_number: (!version.eis_position_numbers.is_empty()).then(|| plan.eis_plan_number.clone()).flatten(),
        customer: s.customer.name.clone(),
        inn: s.customer.inn.to_string(),
        kpp: s.customer.kpp.to_string(),
        spz: s.customer.spz_code.to_string(),
        org_type: s.customer.org_type.title(),
        approved_at: fmt_time(version.approved_at),
        approved_by: approver,
        responsible: s.responsible.as_ref().map(domain::plan::ResponsiblePerson::display),
        agent: s.agent.as_ref().map(|a| format!("{} (СПЗ {}), по соглашению (OA)", a.name, a.spz_code)),
        positions: s
            .positions
            .iter()
            .map(|p| PrintRow {
                number: p.purchase_number.padded(),
                ikz: p.ikz(s.owner_iku()).map(String::from).unwrap_or_default(),
                object: p.title(),
                okpd2: if p.is_special() { "—".into() } else { p.okpd2_text() },
                kvr: p.kvr_text().to_owned(),
                lines: p
                    .kbks
                    .iter()
                    .map(|l| (format!("в том числе КБК {}", l.code), l.amounts))
                    .chain(
                        p.kvr_breakdown(s.customer.org_type)
                            .into_iter()
                            .map(|l| (format!("в том числе КВР {}", l.code), l.amounts)),
                    )
                    .chain(
                        p.target_articles.iter().map(|l| (format!("в том числе целевая статья {}", l.code), l.amounts)),
                    )
                    .collect(),
                publish_year: p.publish_year,
                amounts: p.amounts,
                canceled: p.is_canceled(),
            })
            .collect(),
        totals: s.totals(),
    };
    Ok(html(&page)?.into_response())
}

pub(super) struct DiffRow {
    pub(super) position: String,
    pub(super) what: String,
    pub(super) before: String,
    pub(super) after: String,
    pub(super) delta: String,
}

/// One row per changed field, and one per position only one side has (`added`: only the
/// second side, `removed`: only the first), with the money delta from the first side.
pub(super) fn diff_rows(diffs: Vec<PositionDiff>, added: &str, removed: &str) -> Vec<DiffRow> {
    let mut rows = Vec::new();
    for d in diffs {
        match d {
            PositionDiff::Added(p) => rows.push(DiffRow {
                position: format!("{} «{}»", p.purchase_number.padded(), p.title()),
                what: added.to_owned(),
                before: String::new(),
                after: p.summary(),
                delta: p.amounts.total().to_string(),
            }),
            PositionDiff::Removed(p) => rows.push(DiffRow {
                position: format!("{} «{}»", p.purchase_number.padded(), p.title()),
                what: removed.to_owned(),
                before: p.summary(),
                after: String::new(),
                delta: (domain::Money::ZERO - p.amounts.total()).to_string(),
            }),
            PositionDiff::Changed { number, object, changes } => {
                for c in changes {
                    rows.push(DiffRow {
                        position: format!("{number} «{object}»"),
                        what: c.field,
                        before: c.before,
                        after: c.after,
                        delta: c.delta.map(|d| d.to_string()).unwrap_or_default(),
                    });
                }
            }
        }
    }
    rows
}

#[derive(Template)]
#[template(path = "version_diff.html")]
struct DiffPage {
    chrome: Option<Chrome>,
    plan_id: PlanId,
    year: i32,
    org_short: String,
    before: i64,
    after: i64,
    rows: Vec<DiffRow>,
    totals_before: YearAmounts,
    totals_after: YearAmounts,
}

pub async fn compare(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<VersionId>,
) -> WebResult<Response> {
    let (version, plan, owner) = state.app.readable_version(&session.user, id).await?.into_parts();
    let Some(previous) = state.app.store().version_by_number(plan.id, version.version_number - 1).await? else {
        return Err(WebError::bad_request("У версии 0 нет предыдущей версии для сравнения"));
    };
    let rows = diff_rows(diff(&previous.snapshot, &version.snapshot), "Добавлена", "Удалена");
    let page = DiffPage {
        chrome: Some(Chrome::of(&state, &session).await?),
        plan_id: plan.id,
        year: plan.plan_year,
        org_short: owner.short_name,
        before: previous.version_number,
        after: version.version_number,
        rows,
        totals_before: previous.snapshot.totals(),
        totals_after: version.snapshot.totals(),
    };
    Ok(html(&page)?.into_response())
}
