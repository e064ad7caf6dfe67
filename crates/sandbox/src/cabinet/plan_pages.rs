//! «Реестр планов-графиков» of the user's organization: versions with source and state,
//! «Разместить», «Создать план-график», a version's positions, «Добавить позицию», «Изменить»
//! and «Отменить закупку» for a plan created in ЕИС (through the same `Directory` calls the
//! tests use), and the refusal to edit a position of an integrated plan-schedule. Every page
//! needs the right «Работа с планом-графиком»; a plan of another organization is «не найден».

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Datelike;
use eis::packet::{Decision, ModificationStatus, Okpd2, Position};
use serde::Deserialize;

use super::{Authed, CabinetForm, CabinetPath, Nav, internal, message, render, same_origin};
use crate::db::format_ru;
use crate::directory::{PlanSource, VersionState};
use crate::drafts::{self, CHANGE_REASONS, CabinetChange, CabinetPosition};
use crate::plans::{self, PlanRow};
use crate::{AppState, SandboxError};

/// The position forms hold two texts of at most 2000 characters and a few short fields: far
/// below this, which bounds what a form can make the sandbox read.
const POSITION_FORM_LIMIT: usize = 64 * 1024;

pub(super) fn routes() -> Router<AppState> {
    let positions = Router::new()
        .route("/cabinet/plans/{plan_id}/positions/add", get(add_form).post(add_position))
        .route("/cabinet/plans/{plan_id}/positions/edit", post(edit_position))
        .route("/cabinet/plans/{plan_id}/positions/cancel", post(cancel_position))
        .route("/cabinet/plans/{plan_id}/positions/{purchase_number}/edit", get(edit_form))
        .route("/cabinet/plans/{plan_id}/positions/{purchase_number}/cancel", get(cancel_form))
        .layer(DefaultBodyLimit::max(POSITION_FORM_LIMIT));
    Router::new()
        .route("/cabinet/plans", get(registry))
        .route("/cabinet/plans/create", post(create))
        .route("/cabinet/plans/{plan_id}/versions/{version}", get(version_page))
        .route("/cabinet/plans/{plan_id}/versions/{version}/publish", post(publish))
        .merge(positions)
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
    /// Cancelled (placed so, or in this draft): no more actions on it.
    canceled: bool,
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

fn is_canceled(p: &Position) -> bool {
    p.canceled == Some(true) || p.modification.as_ref().is_some_and(|m| m.decision == Decision::Canceled)
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
    /// A plan integrated from a РИС: its positions show the refused «Редактировать позицию».
    from_ris: bool,
    /// A plan created in ЕИС, at its latest version: the positions can be added, changed and
    /// cancelled (a placed version starts the «проект изменений»).
    editable: bool,
    /// A draft that «Разместить» can place.
    placeable: bool,
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
    let latest = versions.iter().map(|v| v.version_number).max();
    let latest_placed = versions.iter().filter(|v| v.state == VersionState::Placed).map(|v| v.version_number).max();
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
            canceled: is_canceled(&p),
            okpd2: match &p.okpd2 {
                Okpd2::Single(c) => c.clone(),
                Okpd2::Undefined(cs) => cs.join(", "),
            },
            amount: p.finance.current_year.to_string(),
            status: if is_canceled(&p) {
                "Закупка отменена"
            } else {
                status_label(p.modification_status)
            },
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
            from_ris: plan.source == PlanSource::Ris,
            editable: plan.source == PlanSource::Eis && latest == Some(v.version_number),
            placeable: v.state == VersionState::Project && latest_placed.is_none_or(|l| l < v.version_number),
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

// --- positions of a plan created in ЕИС ------------------------------------------------------

/// What a position form posts. Every field may be missing: a refusal (a РИС plan, a forged
/// form) comes before the fields are read.
#[derive(Deserialize, Default)]
#[serde(default)]
struct PositionForm {
    csrf: String,
    purchase_number: String,
    object_info: String,
    okpd2: String,
    kvr: String,
    publish_year: String,
    current_year: String,
    first_year: String,
    second_year: String,
    subsequent_years: String,
    change_reason: String,
    change_description: String,
}

impl PositionForm {
    fn position(&self) -> Result<CabinetPosition, SandboxError> {
        let year = self.publish_year.trim();
        let publish_year = year.parse::<i32>().map_err(|_| {
            SandboxError::Invalid("Укажите планируемый год размещения извещения (четыре цифры).".into())
        })?;
        Ok(CabinetPosition {
            object_info: self.object_info.clone(),
            okpd2: self.okpd2.clone(),
            kvr: self.kvr.clone(),
            publish_year,
            current_year: drafts::parse_money("на текущий год", &self.current_year)?,
            first_year: drafts::parse_money("на первый год", &self.first_year)?,
            second_year: drafts::parse_money("на второй год", &self.second_year)?,
            subsequent_years: drafts::parse_money("на последующие годы", &self.subsequent_years)?,
        })
    }

    fn change(&self) -> CabinetChange {
        CabinetChange { reason_code: self.change_reason.clone(), description: self.change_description.clone() }
    }

    fn of(p: &Position) -> Self {
        let money = |d: rust_decimal::Decimal| d.to_string();
        PositionForm {
            purchase_number: p.purchase_number.clone(),
            object_info: p.purchase_object_info.clone(),
            okpd2: match &p.okpd2 {
                Okpd2::Single(c) => c.clone(),
                Okpd2::Undefined(cs) => cs.first().cloned().unwrap_or_default(),
            },
            kvr: p.kvr.clone().unwrap_or_default(),
            publish_year: p.publish_year.to_string(),
            current_year: money(p.finance.current_year),
            first_year: money(p.finance.first_year),
            second_year: money(p.finance.second_year),
            subsequent_years: money(p.finance.subsec_years),
            change_reason: p.modification.as_ref().map(|m| m.change_reason_code.clone()).unwrap_or_default(),
            change_description: p.modification.as_ref().map(|m| m.description.clone()).unwrap_or_default(),
            ..PositionForm::default()
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FormKind {
    Add,
    Edit,
    Cancel,
}

struct ReasonView {
    code: &'static str,
    name: &'static str,
}

#[derive(Template)]
#[template(path = "plan_position.html")]
struct PositionPage {
    nav: Option<Nav>,
    title: &'static str,
    plan_year: i32,
    plan_number: Option<String>,
    action: String,
    /// The position's fields («Добавить позицию», «Изменить»); none to cancel a purchase.
    with_fields: bool,
    /// The justification of a change: asked once the position has been placed.
    with_change: bool,
    error: Option<String>,
    form: PositionForm,
    reasons: Vec<ReasonView>,
    years: Vec<i32>,
    csrf: String,
    back_href: String,
}

fn position_page(
    auth: &Authed,
    plan: &PlanRow,
    kind: FormKind,
    with_change: bool,
    form: PositionForm,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let (title, action) = match kind {
        FormKind::Add => ("Добавить позицию", "add"),
        FormKind::Edit => ("Изменить позицию", "edit"),
        FormKind::Cancel => ("Отменить закупку", "cancel"),
    };
    render(
        status,
        &PositionPage {
            nav: auth.nav(),
            title,
            plan_year: plan.plan_year,
            plan_number: plan.plan_number.clone(),
            action: format!("/cabinet/plans/{}/positions/{action}", plan.id),
            with_fields: kind != FormKind::Cancel,
            with_change: with_change || kind == FormKind::Cancel,
            error,
            form: PositionForm { csrf: String::new(), ..form },
            reasons: CHANGE_REASONS.iter().map(|(code, name)| ReasonView { code, name }).collect(),
            years: (plan.plan_year..=plan.plan_year + 2).collect(),
            csrf: auth.csrf.clone(),
            back_href: "/cabinet/plans".into(),
        },
    )
}

impl Authed {
    /// The plan of the user's organization whose positions the cabinet may change: one created
    /// in ЕИС. A plan integrated from a РИС is refused as ЕИС refuses it.
    async fn editable_plan(&self, state: &AppState, plan_id: i64) -> Result<PlanRow, Response> {
        let plan = self.own_plan(state, plan_id).await?;
        match plan.source {
            PlanSource::Ris => {
                Err(message(self.nav(), StatusCode::FORBIDDEN, "Редактирование позиции невозможно", RIS_EDIT_REFUSAL))
            }
            PlanSource::Eis => Ok(plan),
        }
    }

    fn gate(&self, headers: &HeaderMap, uri: &Uri, csrf: &str) -> Option<Response> {
        self.refuse_forged(headers, uri, csrf).or_else(|| self.refuse_no_plan_rights())
    }
}

/// The plan's latest version with its content: what the cabinet's actions start from.
async fn latest_content(state: &AppState, plan: &PlanRow) -> Result<(Option<i64>, Vec<Position>), SandboxError> {
    let Some(latest) = plans::versions(&state.db, plan.id).await?.iter().map(|v| v.version_number).max() else {
        return Ok((None, Vec::new()));
    };
    let content = plans::version_content(&state.db, plan.id, latest).await?;
    Ok((Some(latest), content.map(|c| c.data.positions).unwrap_or_default()))
}

/// After a change: the version page of the draft that holds it.
async fn to_latest_version(state: &AppState, plan: &PlanRow) -> Response {
    match latest_content(state, plan).await {
        Ok((Some(v), _)) => Redirect::to(&format!("/cabinet/plans/{}/versions/{v}", plan.id)).into_response(),
        Ok((None, _)) => Redirect::to("/cabinet/plans").into_response(),
        Err(e) => internal(&e),
    }
}

/// A refused action shown on its form: the text of `Invalid` (400), `Conflict` (409),
/// `NotFound` (404), `Refused` (403); anything else is an internal error.
fn refused_on_form(
    auth: &Authed,
    plan: &PlanRow,
    kind: FormKind,
    with_change: bool,
    form: PositionForm,
    e: SandboxError,
) -> Response {
    let (status, text) = match e {
        SandboxError::Invalid(t) => (StatusCode::BAD_REQUEST, t),
        SandboxError::Conflict(t) => (StatusCode::CONFLICT, t),
        SandboxError::NotFound(t) => (StatusCode::NOT_FOUND, t),
        SandboxError::Refused(t) => (StatusCode::FORBIDDEN, t),
        e => return internal(&e),
    };
    position_page(auth, plan, kind, with_change, form, status, Some(text))
}

/// The position `purchase_number` in the plan's latest version, and whether it has been placed
/// (it has a registry number): a change of it is then justified.
async fn current_position(
    auth: &Authed,
    state: &AppState,
    plan: &PlanRow,
    purchase_number: &str,
) -> Result<(Position, bool), Response> {
    let (_, positions) = latest_content(state, plan).await.map_err(|e| internal(&e))?;
    match positions.into_iter().find(|p| p.purchase_number == purchase_number) {
        Some(p) => {
            let placed = p.position_number.is_some();
            Ok((p, placed))
        }
        None => {
            let text = match drafts::not_found(purchase_number) {
                SandboxError::NotFound(t) => t,
                e => e.to_string(),
            };
            Err(message(auth.nav(), StatusCode::NOT_FOUND, "Позиция не найдена", &text))
        }
    }
}

async fn add_form(State(state): State<AppState>, auth: Authed, CabinetPath(plan_id): CabinetPath<i64>) -> Response {
    if let Some(refusal) = auth.refuse_no_plan_rights() {
        return refusal;
    }
    let plan = match auth.editable_plan(&state, plan_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let form = PositionForm { publish_year: plan.plan_year.to_string(), ..PositionForm::default() };
    position_page(&auth, &plan, FormKind::Add, false, form, StatusCode::OK, None)
}

/// «Добавить позицию».
async fn add_position(
    State(state): State<AppState>,
    auth: Authed,
    headers: HeaderMap,
    uri: Uri,
    CabinetPath(plan_id): CabinetPath<i64>,
    CabinetForm(form): CabinetForm<PositionForm>,
) -> Response {
    if let Some(refusal) = auth.gate(&headers, &uri, &form.csrf) {
        return refusal;
    }
    let plan = match auth.editable_plan(&state, plan_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let added = match form.position() {
        Ok(p) => state.directory.cabinet_add_position(&plan.org_reg_num, plan.plan_year, p).await,
        Err(e) => Err(e),
    };
    match added {
        Ok(number) => {
            tracing::info!(login = %auth.user.login, plan_id, %number, "position added in the cabinet");
            to_latest_version(&state, &plan).await
        }
        Err(e) => refused_on_form(&auth, &plan, FormKind::Add, false, form, e),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    auth: Authed,
    CabinetPath((plan_id, purchase_number)): CabinetPath<(i64, String)>,
) -> Response {
    if let Some(refusal) = auth.refuse_no_plan_rights() {
        return refusal;
    }
    let plan = match auth.editable_plan(&state, plan_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match current_position(&auth, &state, &plan, &purchase_number).await {
        Ok((p, placed)) => {
            position_page(&auth, &plan, FormKind::Edit, placed, PositionForm::of(&p), StatusCode::OK, None)
        }
        Err(r) => r,
    }
}

/// «Изменить». ЕИС forbids creating or editing positions of an integrated plan-schedule: that
/// refusal comes first, whatever the form holds.
async fn edit_position(
    State(state): State<AppState>,
    auth: Authed,
    headers: HeaderMap,
    uri: Uri,
    CabinetPath(plan_id): CabinetPath<i64>,
    CabinetForm(form): CabinetForm<PositionForm>,
) -> Response {
    if let Some(refusal) = auth.gate(&headers, &uri, &form.csrf) {
        return refusal;
    }
    let plan = match auth.editable_plan(&state, plan_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let number = form.purchase_number.trim().to_owned();
    let placed = match current_position(&auth, &state, &plan, &number).await {
        Ok((_, placed)) => placed,
        Err(r) => return r,
    };
    let edited = match form.position() {
        Ok(p) => {
            let change = placed.then(|| form.change());
            state.directory.cabinet_edit_position(&plan.org_reg_num, plan.plan_year, &number, p, change).await
        }
        Err(e) => Err(e),
    };
    match edited {
        Ok(()) => {
            tracing::info!(login = %auth.user.login, plan_id, %number, "position changed in the cabinet");
            to_latest_version(&state, &plan).await
        }
        Err(e) => refused_on_form(&auth, &plan, FormKind::Edit, placed, form, e),
    }
}

async fn cancel_form(
    State(state): State<AppState>,
    auth: Authed,
    CabinetPath((plan_id, purchase_number)): CabinetPath<(i64, String)>,
) -> Response {
    if let Some(refusal) = auth.refuse_no_plan_rights() {
        return refusal;
    }
    let plan = match auth.editable_plan(&state, plan_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match current_position(&auth, &state, &plan, &purchase_number).await {
        Ok((p, _)) => {
            let form = PositionForm {
                purchase_number: p.purchase_number.clone(),
                object_info: p.purchase_object_info.clone(),
                ..PositionForm::default()
            };
            position_page(&auth, &plan, FormKind::Cancel, true, form, StatusCode::OK, None)
        }
        Err(r) => r,
    }
}

/// «Отменить закупку».
async fn cancel_position(
    State(state): State<AppState>,
    auth: Authed,
    headers: HeaderMap,
    uri: Uri,
    CabinetPath(plan_id): CabinetPath<i64>,
    CabinetForm(form): CabinetForm<PositionForm>,
) -> Response {
    if let Some(refusal) = auth.gate(&headers, &uri, &form.csrf) {
        return refusal;
    }
    let plan = match auth.editable_plan(&state, plan_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let number = form.purchase_number.trim().to_owned();
    match state.directory.cabinet_cancel_position(&plan.org_reg_num, plan.plan_year, &number, form.change()).await {
        Ok(()) => {
            tracing::info!(login = %auth.user.login, plan_id, %number, "purchase cancelled in the cabinet");
            to_latest_version(&state, &plan).await
        }
        Err(e) => refused_on_form(&auth, &plan, FormKind::Cancel, true, form, e),
    }
}
