//! «Реестр планов-графиков» of the user's organization: versions with source and state,
//! «Разместить», «Создать план-график», a version's positions and the refusal to edit a
//! position of an integrated plan-schedule. Every page needs the right «Работа с
//! планом-графиком»; a plan of another organization is «не найден».

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Datelike;
use eis::packet::{ModificationStatus, Okpd2};
use serde::Deserialize;

use super::{Authed, CabinetForm, CabinetPath, Nav, internal, message, render, same_origin};
use crate::db::format_ru;
use crate::directory::{PlanSource, VersionState};
use crate::plans::{self, PlanRow};
use crate::{AppState, SandboxError};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/cabinet/plans", get(registry))
        .route("/cabinet/plans/create", post(create))
        .route("/cabinet/plans/{plan_id}/versions/{version}", get(version_page))
        .route("/cabinet/plans/{plan_id}/versions/{version}/publish", post(publish))
        .route("/cabinet/plans/{plan_id}/positions/edit", post(edit_position))
}

const RIS_EDIT_REFUSAL: &str = "План-график интегрирован из РИС: позиции такого плана-графика создаются и изменяются \
     только в РИС, в ЕИС их редактирование невозможно. Внесите изменения в РИС и направьте из нее новую версию \
     плана-графика.";

fn source_label(s: PlanSource) -> &'static str {
    match s {
        PlanSource::Ris => "РИС (интегрирован из региональной информационной системы)",
        PlanSource::Eis => "ЕИС (создан в личном кабинете)",
    }
}

fn state_label(s: VersionState) -> &'static str {
    match s {
        VersionState::Project => "Проект",
        VersionState::Placed => "Размещен",
    }
}

struct VersionView {
    version_number: i64,
    state: &'static str,
    external_id: Option<String>,
    position_count: i64,
    created: String,
    published: Option<String>,
    placeable: bool,
}

struct PlanView {
    id: i64,
    plan_year: i32,
    plan_number: Option<String>,
    source: &'static str,
    /// For a plan placed for another customer under an agreement: that customer's СПЗ code.
    customer: Option<String>,
    versions: Vec<VersionView>,
}

#[derive(Template)]
#[template(path = "plans.html")]
struct RegistryPage {
    nav: Option<Nav>,
    org_name: String,
    org_reg_num: String,
    plans: Vec<PlanView>,
    years: Vec<i32>,
    csrf: String,
}

struct PositionView {
    position_number: Option<String>,
    ext_number: String,
    purchase_number: String,
    ikz: String,
    object_info: String,
    okpd2: String,
    amount: String,
    status: &'static str,
}

struct SpecialPositionView {
    position_number: Option<String>,
    ext_number: String,
    purchase_number: String,
    ikz: String,
    /// Type code with its name when the packet gave one.
    kind: String,
    amount: String,
    status: &'static str,
}

fn status_label(s: Option<ModificationStatus>) -> &'static str {
    match s {
        Some(ModificationStatus::E) => "Изменена",
        Some(ModificationStatus::N) => "Без изменений",
        None => "—",
    }
}

#[derive(Template)]
#[template(path = "plan_version.html")]
struct VersionPage {
    nav: Option<Nav>,
    plan_id: i64,
    plan_year: i32,
    plan_number: Option<String>,
    source: &'static str,
    version_number: i64,
    state: &'static str,
    published_doc_id: Option<String>,
    positions: Vec<PositionView>,
    special_positions: Vec<SpecialPositionView>,
    csrf: String,
}

impl Authed {
    fn refuse_no_plan_rights(&self) -> Option<Response> {
        (!self.user.plan_rights).then(|| {
            message(
                self.nav(),
                StatusCode::FORBIDDEN,
                "Недостаточно прав",
                "Для работы с реестром планов-графиков требуется право «Работа с планом-графиком».",
            )
        })
    }

    /// CSRF token, and an `Origin` (when the browser sends one) of this very sandbox.
    fn refuse_forged(&self, headers: &HeaderMap, uri: &Uri, token: &str) -> Option<Response> {
        if headers.contains_key(header::ORIGIN) && !same_origin(headers, uri) {
            return Some(message(
                self.nav(),
                StatusCode::FORBIDDEN,
                "Запрос отклонен",
                "Форма отправлена не со страницы личного кабинета.",
            ));
        }
        self.refuse_csrf(token)
    }

    async fn own_plan(&self, state: &AppState, plan_id: i64) -> Result<PlanRow, Response> {
        match plans::plan_of_org(&state.db, &self.user.org_reg_num, plan_id).await {
            Ok(Some(p)) => Ok(p),
            Ok(None) => {
                Err(message(self.nav(), StatusCode::NOT_FOUND, "План-график не найден", "План-график не найден."))
            }
            Err(e) => Err(internal(&e)),
        }
    }
}

async fn registry(State(state): State<AppState>, auth: Authed) -> Response {
    if let Some(refusal) = auth.refuse_no_plan_rights() {
        return refusal;
    }
    let loaded = async {
        let mut views = Vec::new();
        for p in plans::plans_of_org(&state.db, &auth.user.org_reg_num).await? {
            let versions = plans::versions(&state.db, p.id).await?;
            let latest_placed =
                versions.iter().filter(|v| v.state == VersionState::Placed).map(|v| v.version_number).max();
            views.push(PlanView {
                id: p.id,
                plan_year: p.plan_year,
                plan_number: p.plan_number.clone(),
                source: source_label(p.source),
                customer: (p.org_reg_num != auth.user.org_reg_num).then(|| p.org_reg_num.clone()),
                versions: versions
                    .into_iter()
                    .map(|v| VersionView {
                        placeable: v.state == VersionState::Project
                            && latest_placed.is_none_or(|l| l < v.version_number),
                        version_number: v.version_number,
                        state: state_label(v.state),
                        external_id: v.external_id,
                        position_count: v.position_count,
                        created: format_ru(v.created_at),
                        published: v.published_at.map(format_ru),
                    })
                    .collect(),
            });
        }
        Ok::<_, SandboxError>(views)
    }
    .await;
    let plans = match loaded {
        Ok(p) => p,
        Err(e) => return internal(&e),
    };
    let this_year = chrono::Utc::now().year();
    render(
        StatusCode::OK,
        &RegistryPage {
            nav: auth.nav(),
            org_name: auth.user.org_name.clone(),
            org_reg_num: auth.user.org_reg_num.clone(),
            plans,
            years: (this_year - 1..=this_year + 2).collect(),
            csrf: auth.csrf.clone(),
        },
    )
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    csrf: String,
    plan_year: String,
}

async fn create(
    State(state): State<AppState>,
    auth: Authed,
    headers: HeaderMap,
    uri: Uri,
    CabinetForm(form): CabinetForm<CreateForm>,
) -> Response {
    if let Some(refusal) = auth.refuse_forged(&headers, &uri, &form.csrf).or_else(|| auth.refuse_no_plan_rights()) {
        return refusal;
    }
    let Ok(year) = form.plan_year.trim().parse::<i32>() else {
        return message(auth.nav(), StatusCode::BAD_REQUEST, "Неверный год", "Укажите год плана-графика.");
    };
    match state.directory.create_plan_directly(&auth.user.org_reg_num, year).await {
        Ok(()) => {
            tracing::info!(login = %auth.user.login, year, "plan-schedule created in the cabinet");
            Redirect::to("/cabinet/plans").into_response()
        }
        Err(SandboxError::Invalid(_)) => message(
            auth.nav(),
            StatusCode::BAD_REQUEST,
            "Неверный год",
            &format!("Год {year} недопустим для плана-графика."),
        ),
        Err(SandboxError::Conflict(_)) => message(
            auth.nav(),
            StatusCode::CONFLICT,
            "Создание невозможно",
            &format!(
                "План-график на {year} год уже загружен из РИС. Создать в ЕИС план-график на этот период нельзя: \
                 изменения вносятся в РИС."
            ),
        ),
        Err(e) => internal(&e),
    }
}

async fn version_page(
    State(state): State<AppState>,
    auth: Authed,
    CabinetPath((plan_id, version)): CabinetPath<(i64, i64)>,
) -> Response {
    if let Some(refusal) = auth.refuse_no_plan_rights() {
        return refusal;
    }
    let plan = match auth.own_plan(&state, plan_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let versions = match plans::versions(&state.db, plan.id).await {
        Ok(v) => v,
        Err(e) => return internal(&e),
    };
    let Some(v) = versions.into_iter().find(|v| v.version_number == version) else {
        return message(auth.nav(), StatusCode::NOT_FOUND, "Версия не найдена", "Версия плана-графика не найдена.");
    };
    let content = match plans::version_content(&state.db, plan.id, version).await {
        Ok(c) => c,
        Err(e) => return internal(&e),
    };
    let (positions, special_positions) =
        content.map(|c| (c.data.positions, c.data.special_positions)).unwrap_or_default();
    let special_positions = special_positions
        .into_iter()
        .map(|p| SpecialPositionView {
            kind: match &p.type_name {
                Some(name) => format!("{} — {name}", p.type_code),
                None => p.type_code.clone(),
            },
            amount: p.finance.current_year.to_string(),
            status: status_label(p.modification_status),
            position_number: p.position_number,
            ext_number: p.ext_number,
            purchase_number: p.purchase_number,
            ikz: p.ikz,
        })
        .collect();
    let positions = positions
        .into_iter()
        .map(|p| PositionView {
            okpd2: match &p.okpd2 {
                Okpd2::Single(c) => c.clone(),
                Okpd2::Undefined(cs) => cs.join(", "),
            },
            amount: p.finance.current_year.to_string(),
            status: status_label(p.modification_status),
            position_number: p.position_number,
            ext_number: p.ext_number,
            purchase_number: p.purchase_number,
            ikz: p.ikz,
            object_info: p.purchase_object_info,
        })
        .collect();
    render(
        StatusCode::OK,
        &VersionPage {
            nav: auth.nav(),
            plan_id: plan.id,
            plan_year: plan.plan_year,
            plan_number: plan.plan_number,
            source: source_label(plan.source),
            version_number: v.version_number,
            state: state_label(v.state),
            published_doc_id: v.published_doc_id,
            positions,
            special_positions,
            csrf: auth.csrf.clone(),
        },
    )
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn publish(
    State(state): State<AppState>,
    auth: Authed,
    headers: HeaderMap,
    uri: Uri,
    CabinetPath((plan_id, version)): CabinetPath<(i64, i64)>,
    CabinetForm(form): CabinetForm<CsrfOnly>,
) -> Response {
    if let Some(refusal) = auth.refuse_forged(&headers, &uri, &form.csrf).or_else(|| auth.refuse_no_plan_rights()) {
        return refusal;
    }
    let plan = match auth.own_plan(&state, plan_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match plans::place(&state.db, plan.id, version).await {
        Ok(placed) => {
            tracing::info!(login = %auth.user.login, plan_number = %placed.plan_number, version, "placed in the cabinet");
            Redirect::to("/cabinet/plans").into_response()
        }
        Err(SandboxError::NotFound(_)) => {
            message(auth.nav(), StatusCode::NOT_FOUND, "Версия не найдена", "Версия плана-графика не найдена.")
        }
        Err(SandboxError::Conflict(text)) => message(auth.nav(), StatusCode::CONFLICT, "Размещение невозможно", &text),
        Err(e) => internal(&e),
    }
}

/// ЕИС forbids creating or editing positions of an integrated plan-schedule; editing in the
/// cabinet is not modelled for plans created in ЕИС either.
async fn edit_position(
    State(state): State<AppState>,
    auth: Authed,
    headers: HeaderMap,
    uri: Uri,
    CabinetPath(plan_id): CabinetPath<i64>,
    CabinetForm(form): CabinetForm<CsrfOnly>,
) -> Response {
    if let Some(refusal) = auth.refuse_forged(&headers, &uri, &form.csrf).or_else(|| auth.refuse_no_plan_rights()) {
        return refusal;
    }
    let plan = match auth.own_plan(&state, plan_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match plan.source {
        PlanSource::Ris => {
            message(auth.nav(), StatusCode::FORBIDDEN, "Редактирование позиции невозможно", RIS_EDIT_REFUSAL)
        }
        PlanSource::Eis => message(
            auth.nav(),
            StatusCode::NOT_IMPLEMENTED,
            "Редактирование позиции",
            "Редактирование позиций в личном кабинете песочницей ЕИС не поддерживается.",
        ),
    }
}
