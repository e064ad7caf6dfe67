//! Editing and cancelling one position, with the justification ЕИС requires once the position
//! is part of an approved version.

use crate::AppState;
use crate::api::Id;
use crate::auth::{CurrentUser, Post};
use crate::error::{WebError, WebResult};
use crate::pages::position_form::{FormContext, field, messages};
use crate::view::{Chrome, html};
use app::positions::EditablePosition as Loaded;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use domain::ids::{PlanId, PositionId};
use domain::plan::{FieldError, PositionDraft};
use serde::Deserialize;
use store::users::Session;

#[derive(Template)]
#[template(path = "position_edit.html")]
struct EditPage {
    chrome: Option<Chrome>,
    csrf: String,
    plan_id: PlanId,
    position_id: PositionId,
    year: i32,
    org_short: String,
    number: String,
    row_version: i64,
    draft: PositionDraft,
    form: FormContext,
    field_errors: Vec<FieldError>,
    error: Option<String>,
    /// Another user changed this position meanwhile: the page offers to open it afresh.
    stale: bool,
    in_base: bool,
    base_version: i64,
    reasons: Vec<(String, String)>,
    reason_code: String,
    change_description: String,
}

impl EditPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.field_errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    fn errs(&self, field: &str) -> Vec<&str> {
        messages(&self.field_errors, field)
    }
}

async fn load(state: &AppState, session: &Session, plan_id: PlanId, position_id: PositionId) -> WebResult<Loaded> {
    Ok(state.app.editable_position(&session.user, plan_id, position_id).await?)
}

struct Input {
    draft: PositionDraft,
    reason_code: String,
    change_description: String,
    field_errors: Vec<FieldError>,
    error: Option<String>,
    stale: bool,
}

async fn render(state: &AppState, session: &Session, l: &Loaded, input: Option<Input>) -> WebResult<Response> {
    let change = l.stored.position.change.as_ref();
    let input = input.unwrap_or_else(|| Input {
        draft: PositionDraft::of(&l.stored.position),
        reason_code: change.map(|c| c.reason_code.clone()).unwrap_or_default(),
        change_description: change.map(|c| c.description.clone()).unwrap_or_default(),
        field_errors: vec![],
        error: None,
        stale: false,
    });
    let (iku, findings) = state.app.position_findings(l).await?;
    let form =
        FormContext::new(state, l.plan.owner().org_type, iku.as_ref(), l.stored.position.purchase_number, &input.draft)
            .await?;
    // Without typed input, the pre-flight findings of this position show on its fields.
    let field_errors = if input.error.is_none() && input.field_errors.is_empty() {
        findings.into_iter().map(|f| FieldError { field: f.field, message: f.message }).collect()
    } else {
        input.field_errors
    };
    let page = EditPage {
        chrome: Some(Chrome::of(state, session).await?),
        csrf: session.csrf_token.clone(),
        plan_id: l.plan.plan().id,
        position_id: l.stored.id,
        year: l.plan.plan().plan_year,
        org_short: l.plan.owner().short_name.clone(),
        number: l.stored.position.purchase_number.padded(),
        row_version: l.stored.row_version,
        draft: input.draft,
        form,
        field_errors,
        error: input.error,
        stale: input.stale,
        in_base: l.in_base,
        base_version: l.base_version,
        reasons: state.app.change_reasons().await?,
        reason_code: input.reason_code,
        change_description: input.change_description,
    };
    let status = match (page.stale, page.error.is_some()) {
        (true, _) => axum::http::StatusCode::CONFLICT,
        (false, true) => axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        (false, false) => axum::http::StatusCode::OK,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn edit_page(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    Id((plan_id, position_id)): Id<(PlanId, PositionId)>,
) -> WebResult<Response> {
    let l = load(&state, &session, plan_id, position_id).await?;
    render(&state, &session, &l, None).await
}

/// The edit form: the position's fields, the position's row version and the justification.
struct EditForm {
    row_version: String,
    reason_code: String,
    change_description: String,
    draft: PositionDraft,
}

impl EditForm {
    fn of(pairs: &[(String, String)]) -> EditForm {
        EditForm {
            row_version: field(pairs, "row_version"),
            reason_code: field(pairs, "reason_code"),
            change_description: field(pairs, "change_description"),
            draft: crate::pages::position_form::draft_from_form(pairs),
        }
    }
}

fn row_version(raw: &str) -> WebResult<i64> {
    raw.trim().parse().map_err(|_| WebError::bad_request("Форма заполнена некорректно: нет версии документа"))
}

/// The edit form shown again after another user changed this position: what was typed stays,
/// the form now carries the position's new row version.
const STALE: &str = "Эту позицию изменил другой пользователь, пока вы заполняли форму. Введённые вами данные сохранены в форме: проверьте их и сохраните ещё раз.";

const STALE_CANCEL: &str = "Эту позицию изменил другой пользователь, пока вы заполняли форму. Закупка не отменена: проверьте позицию и повторите отмену.";

pub async fn update(
    State(state): State<AppState>,
    Id((plan_id, position_id)): Id<(PlanId, PositionId)>,
    post: Post<Vec<(String, String)>>,
) -> WebResult<Response> {
    let l = load(&state, &post.session, plan_id, position_id).await?;
    let f = EditForm::of(&post.form);
    let expected = row_version(&f.row_version)?;
    let back = |field_errors: Vec<FieldError>, error: &str| Input {
        draft: f.draft.clone(),
        reason_code: f.reason_code.clone(),
        change_description: f.change_description.clone(),
        field_errors,
        error: Some(error.to_owned()),
        stale: false,
    };
    match state
        .app
        .update_position(&post.session.user, &l, &f.draft, &f.reason_code, &f.change_description, expected)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/plans/{plan_id}?tab=positions&notice=updated")).into_response()),
        Err(app::Error::Fields { message, errors }) => {
            render(&state, &post.session, &l, Some(back(errors, &message))).await
        }
        Err(app::Error::Stale) => {
            let fresh = load(&state, &post.session, plan_id, position_id).await?;
            render(&state, &post.session, &fresh, Some(Input { stale: true, ..back(vec![], STALE) })).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    row_version: String,
    #[serde(default)]
    reason_code: String,
    #[serde(default)]
    change_description: String,
}

pub async fn cancel(
    State(state): State<AppState>,
    Id((plan_id, position_id)): Id<(PlanId, PositionId)>,
    post: Post<CancelForm>,
) -> WebResult<Response> {
    let l = load(&state, &post.session, plan_id, position_id).await?;
    let f = post.form;
    let expected = row_version(&f.row_version)?;
    match state.app.cancel_position(&post.session.user, &l, &f.reason_code, &f.change_description, expected).await {
        Ok(_) => Ok(Redirect::to(&format!("/plans/{plan_id}?tab=positions&notice=canceled")).into_response()),
        Err(app::Error::Stale) => {
            let fresh = load(&state, &post.session, plan_id, position_id).await?;
            let input = Input {
                draft: PositionDraft::of(&fresh.stored.position),
                reason_code: f.reason_code,
                change_description: f.change_description,
                field_errors: vec![],
                error: Some(STALE_CANCEL.to_owned()),
                stale: true,
            };
            render(&state, &post.session, &fresh, Some(input)).await
        }
        Err(app::Error::Fields { message, errors: field_errors }) => {
            let input = Input {
                draft: PositionDraft::of(&l.stored.position),
                reason_code: f.reason_code,
                change_description: f.change_description,
                field_errors,
                error: Some(message),
                stale: false,
            };
            render(&state, &post.session, &l, Some(input)).await
        }
        Err(e) => Err(e.into()),
    }
}
