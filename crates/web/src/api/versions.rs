//! Approved versions: the list, a version's snapshot, the diff between two versions, the
//! packet XML, and the plan's audit journal.

use crate::AppState;
use crate::api::Id;
use crate::api::model::{
    FieldChangeOut, JournalEntry, PositionDiffOut, VersionDetail, VersionDiff, VersionRef, VersionSummary, time,
};
use crate::api::query::Query;
use crate::auth::ApiUser;
use crate::error::WebError;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::Money;
use domain::diff::PositionDiff;
use domain::ids::{PlanId, VersionId};
use domain::plan::{PlanSnapshot, Position, YearAmounts};

type ApiResult<T = Response> = Result<T, WebError>;

pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<PlanId>,
) -> ApiResult<Json<Vec<VersionSummary>>> {
    let plan = state.app.readable_plan(&user, id).await?;
    let items = state.app.version_list(&user, &plan).await?;
    Ok(Json(items.into_iter().map(|i| VersionSummary::from_summary(i.summary, i.latest.map(|s| s.status))).collect()))
}

pub async fn journal(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<PlanId>,
) -> ApiResult<Json<Vec<JournalEntry>>> {
    let plan = state.app.readable_plan(&user, id).await?.into_parts().0;
    let entries = state.app.store().audit_for("plan", plan.id.get()).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| JournalEntry { at: time(e.at), user_name: e.user_name, action: e.action, details: e.details })
            .collect(),
    ))
}

pub async fn get(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<VersionId>) -> ApiResult {
    let (version, plan, _) = state.app.readable_version(&user, id).await?.into_parts();
    let summary = VersionSummary::of(&state, &version).await?;
    Ok(Json(VersionDetail::of(summary, &version, &plan)).into_response())
}

/// The financing a position contributes to the plan's totals.
fn effective_total(p: Option<&Position>) -> Money {
    p.filter(|p| !p.is_canceled()).map(|p| p.amounts.total()).unwrap_or(Money::ZERO)
}

fn minus(a: YearAmounts, b: YearAmounts) -> YearAmounts {
    YearAmounts {
        current: a.current - b.current,
        first: a.first - b.first,
        second: a.second - b.second,
        subsequent: a.subsequent - b.subsequent,
    }
}

/// `GET /api/v1/versions/{id}/diff?with={other}`: what changed from version `with` (by default
/// the previous one) to version `id`.
pub async fn diff(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Id(id): Id<VersionId>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let (version, plan, _) = state.app.readable_version(&user, id).await?.into_parts();
    let other = match Query::parse(query.as_deref()).and_then(|q| q.int("with")).map_err(WebError::bad_request)? {
        Some(with) => {
            let (other, other_plan, _) = state.app.readable_version(&user, VersionId(with)).await?.into_parts();
            if other_plan.id != plan.id {
                return Err(WebError::bad_request("Сравнивать можно только версии одного плана-графика"));
            }
            other
        }
        None => state.app.store().version_by_number(plan.id, version.version_number - 1).await?.ok_or_else(|| {
            WebError::bad_request("У версии 0 нет предыдущей версии: укажите версию для сравнения в параметре with")
        })?,
    };
    let (before, after): (&PlanSnapshot, &PlanSnapshot) = (&other.snapshot, &version.snapshot);
    let positions = domain::diff::diff(before, after)
        .into_iter()
        .map(|d| match d {
            PositionDiff::Added(p) => PositionDiffOut {
                kind: "added",
                purchase_number: p.purchase_number.padded(),
                object: p.title(),
                summary: Some(p.summary()),
                total_delta: effective_total(Some(&p)),
                changes: Vec::new(),
            },
            PositionDiff::Removed(p) => PositionDiffOut {
                kind: "removed",
                purchase_number: p.purchase_number.padded(),
                object: p.title(),
                summary: Some(p.summary()),
                total_delta: Money::ZERO - effective_total(Some(&p)),
                changes: Vec::new(),
            },
            PositionDiff::Changed { number, object, changes } => {
                let find =
                    |s: &PlanSnapshot| s.positions.iter().find(|p| p.purchase_number.padded() == number).cloned();
                PositionDiffOut {
                    kind: "changed",
                    total_delta: effective_total(find(after).as_ref()) - effective_total(find(before).as_ref()),
                    purchase_number: number,
                    object,
                    summary: None,
                    changes: changes
                        .into_iter()
                        .map(|c| FieldChangeOut { field: c.field, before: c.before, after: c.after, delta: c.delta })
                        .collect(),
                }
            }
        })
        .collect();
    Ok(Json(VersionDiff {
        version: VersionRef { id: version.id, version_number: version.version_number },
        with: VersionRef { id: other.id, version_number: other.version_number },
        positions,
        totals_before: before.totals(),
        totals_after: after.totals(),
        totals_delta: minus(after.totals(), before.totals()),
    })
    .into_response())
}

/// The packet XML: the one sent to ЕИС if the version was sent, otherwise the one that would
/// be sent now. `X-Packet-Kind` says which.
pub async fn packet(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<VersionId>) -> ApiResult {
    let app::sending::PacketXml { xml, sent, .. } = state.app.packet_xml(&user, id).await?;
    let kind = if sent { "sent" } else { "preview" };
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::HeaderName::from_static("x-packet-kind"), kind),
        ],
        xml,
    )
        .into_response())
}

/// The version's content exactly as stored: what its approver signed (404 when the approval
/// was not signed).
pub async fn signed_content(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<VersionId>) -> ApiResult {
    let v = signed(&state, &user, id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], v.content.into_bytes()).into_response())
}

/// The approver's detached CAdES-BES of the version's content, DER (404 when not signed).
pub async fn signature(State(state): State<AppState>, ApiUser(user): ApiUser, Id(id): Id<VersionId>) -> ApiResult {
    let v = signed(&state, &user, id).await?;
    Ok(([(header::CONTENT_TYPE, "application/pkcs7-signature")], v.signature.unwrap_or_default()).into_response())
}

async fn signed(state: &AppState, user: &store::users::User, id: VersionId) -> ApiResult<app::plans::SignedVersion> {
    let v = state.app.signed_version(user, id).await?;
    if v.signature.is_none() {
        return Err(WebError::not_found_with("Утверждение этой версии не подписано электронной подписью"));
    }
    Ok(v)
}
