//! ЕИС's copy of a plan-schedule: «Загрузить из ЕИС» (a plan created in ЕИС, from the list),
//! «Сверить с ЕИС» (from the plan) and the export each reading kept.

use crate::AppState;
use crate::api::Id;
use crate::auth::{CurrentUser, Post};
use crate::error::WebResult;
use crate::pages::plans::{ListQuery, NoFields, plans_page_with, show_error};
use crate::pages::versions::{DiffRow, diff_rows};
use crate::view::{Chrome, fmt_time, html};
use askama::Template;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use domain::ids::PlanId;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct TakeFromEis {
    #[serde(default)]
    plan_year: String,
    #[serde(default)]
    plan_number: String,
}

/// «Загрузить из ЕИС»: to the plan taken in, or the list again saying why not, with what was typed.
pub async fn take_from_eis(State(state): State<AppState>, post: Post<TakeFromEis>) -> WebResult<Response> {
    let form = &post.form;
    match state.app.take_from_eis(&post.session.user, &form.plan_year, &form.plan_number).await {
        Ok(id) => Ok(Redirect::to(&format!("/plans/{id}?notice=taken_from_eis")).into_response()),
        Err(e @ (app::Error::Fields { .. } | app::Error::Refused { .. } | app::Error::Eis(_))) => {
            // What was typed comes back, within what the field can hold (a hostile body is not echoed).
            let keep = |s: &str| s.chars().take(40).collect::<String>();
            let typed = super::plans::TypedTake { year: keep(&form.plan_year), number: keep(&form.plan_number) };
            plans_page_with(&state, &post.session, &ListQuery::default(), None, Some(e.into()), vec![], Some(typed))
                .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "reconciliation.html")]
struct ReconciliationPage {
    chrome: Option<Chrome>,
    plan_id: PlanId,
    year: i32,
    plan_number: String,
    eis_version: String,
    /// «версия N plangraf» or «загруженная копия».
    compared_with: String,
    fetched_at: String,
    copy_id: i64,
    rows: Vec<DiffRow>,
    positions_differing: usize,
}

/// «Сверить с ЕИС»: the differences found, or the plan again saying why there are none to show.
pub async fn reconcile(State(state): State<AppState>, Id(id): Id<PlanId>, post: Post<NoFields>) -> WebResult<Response> {
    let found = match state.app.reconcile(&post.session.user, id).await {
        Ok(found) => found,
        Err(e @ (app::Error::Refused { .. } | app::Error::Eis(_))) => {
            return show_error(&state, &post.session, id, "positions", e.into()).await;
        }
        Err(e) => return Err(e.into()),
    };
    let positions_differing = found.differences.len();
    let page = ReconciliationPage {
        chrome: Some(Chrome::of(&state, &post.session).await?),
        plan_id: found.plan.id,
        year: found.plan.plan_year,
        plan_number: found.record.plan_number.clone(),
        eis_version: found.eis_version.map(|v| v.to_string()).unwrap_or_else(|| "не указана".into()),
        compared_with: match found.compared_with {
            Some(v) => format!("версией {v}, размещенной из plangraf"),
            None => "копией, загруженной из ЕИС".into(),
        },
        fetched_at: fmt_time(found.record.fetched_at),
        copy_id: found.record.id,
        rows: diff_rows(found.differences, "Есть только в ЕИС", "Нет в ЕИС"),
        positions_differing,
    };
    Ok(html(&page)?.into_response())
}

/// The export ЕИС sent for one reading, as it came.
pub async fn copy_export(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id((plan_id, copy_id)): Id<(PlanId, i64)>,
) -> WebResult<Response> {
    let (record, raw) = state.app.eis_copy_export(&session.user, plan_id, copy_id).await?;
    let name = format!("attachment; filename=\"eis-export-{}-{}.xml\"", record.plan_number, record.id);
    Ok(([(CONTENT_TYPE, "application/xml; charset=utf-8".to_owned()), (CONTENT_DISPOSITION, name)], raw)
        .into_response())
}
