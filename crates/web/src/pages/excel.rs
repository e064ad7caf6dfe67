//! Plan-schedules in Excel on the plan page: «Скачать в Excel» (the working copy) and the
//! import of positions from .xlsx with its template.

use crate::AppState;
use crate::api::Id;
use crate::auth::CurrentUser;
use crate::error::WebResult;
use crate::pages::versions::download;
use axum::extract::State;
use axum::response::Response;
use domain::ids::PlanId;

/// «Скачать в Excel»: the working copy as it is now.
pub async fn plan_xlsx(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<PlanId>,
) -> WebResult<Response> {
    Ok(download(state.app.plan_xlsx(&session.user, id).await?))
}

/// «Скачать шаблон»: the empty import template of the plan.
pub async fn template(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id(id): Id<PlanId>,
) -> WebResult<Response> {
    Ok(download(state.app.import_template(&session.user, id).await?))
}
