//! plangraf's web interface: Russian HTML pages for people and a JSON API for machines.
//! Handlers are thin adapters over the workflow layer (`app`): they translate a request into
//! a use case call and its result into a page or a JSON document. Errors are rendered by
//! [`error::render_errors`] for the route they occurred on.

pub mod api;
pub mod auth;
pub mod error;
pub mod headers;
pub mod health;
pub mod metrics;
mod pages;
pub mod request_id;
pub mod view;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};

#[derive(Clone)]
pub struct AppState {
    /// The workflow layer; it owns the database and the exchange with ЕИС.
    pub app: app::Workflow,
    /// Mark cookies `Secure` (when plangraf is served over HTTPS).
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the real client (see [`auth::client_address`]).
    pub trusted_proxies: std::sync::Arc<Vec<std::net::IpAddr>>,
    /// Who may read `/metrics` ([`metrics::Access`]).
    pub metrics_access: std::sync::Arc<metrics::Access>,
    /// Where pages load CryptoPro's `cadesplugin_api.js` from (same origin: the CSP allows no
    /// other); used only when ЭЦП sign-in is configured.
    pub ecp_plugin_script: std::sync::Arc<str>,
}

/// The default of [`AppState::ecp_plugin_script`]: a path the operator serves the vendor's
/// file at (plangraf does not ship it).
pub const DEFAULT_ECP_PLUGIN_SCRIPT: &str = "/static/cadesplugin_api.js";

pub fn router(state: AppState) -> Router {
    use pages::{
        approval, ecp, eis_copy, excel, jobs, journal, notifications, onboarding, orgs, plans, positions, reference,
        sending, session, settings, users, versions,
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/plans") }))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(metrics::scrape))
        .route("/login", get(session::login_page).post(session::login_submit))
        .route("/logout", post(session::logout))
        .route("/login/ecp/challenge", post(ecp::sign_in_challenge))
        .route("/login/ecp", post(ecp::sign_in))
        .route("/settings/certificates", get(ecp::certificates_page).post(ecp::bind))
        .route("/settings/certificates/challenge", post(ecp::bind_challenge))
        .route("/settings/certificates/{thumbprint}/unbind", post(ecp::unbind))
        .route("/plans", get(plans::list).post(plans::create))
        .route("/plans/approve", post(plans::approve_bulk))
        .route("/plans/eis-import", post(eis_copy::take_from_eis))
        .route("/sends", get(sending::sends))
        .route("/sends/bulk", post(sending::send_all))
        .route("/admin/journal", get(journal::journal))
        .route("/jobs/{id}", get(jobs::job))
        .route("/jobs/{id}/progress", get(jobs::progress))
        .route("/jobs/{id}/passwords", post(onboarding::passwords))
        .route(
            "/admin/onboarding",
            get(onboarding::page).post(onboarding::check).layer(DefaultBodyLimit::max(onboarding::MAX_UPLOAD_REQUEST)),
        )
        .route("/admin/onboarding/template.xlsx", get(onboarding::template_xlsx))
        .route("/admin/onboarding/template.csv", get(onboarding::template_csv))
        .route("/admin/onboarding/{id}", get(onboarding::staged))
        .route("/admin/onboarding/{id}/confirm", post(onboarding::confirm))
        .route("/plans/{id}", get(plans::view))
        .route("/plans/{id}/xlsx", get(excel::plan_xlsx))
        .route("/plans/{id}/import/template", get(excel::template))
        .route(
            "/plans/{id}/import",
            get(excel::page).post(excel::check).layer(DefaultBodyLimit::max(excel::MAX_IMPORT_REQUEST)),
        )
        .route(
            "/plans/{id}/import/confirm",
            post(excel::confirm).layer(DefaultBodyLimit::max(excel::MAX_IMPORT_REQUEST)),
        )
        .route("/plans/{id}/positions", post(plans::add_position))
        .route("/plans/{id}/positions/{position_id}/delete", post(plans::delete_position))
        .route("/plans/{id}/positions/{position_id}/edit", get(positions::edit_page))
        .route("/plans/{id}/positions/{position_id}", post(positions::update))
        .route("/plans/{id}/positions/{position_id}/cancel", post(positions::cancel))
        .route("/plans/{id}/changes", post(plans::start_changes))
        .route("/plans/{id}/owner", post(plans::set_owner))
        .route("/plans/{id}/responsible", post(plans::set_responsible))
        .route("/plans/{id}/submit", post(plans::submit))
        .route("/plans/{id}/approve", post(plans::approve))
        .route("/plans/{id}/approve/content", post(approval::content))
        .route("/plans/{id}/return", post(plans::return_for_revision))
        .route("/plans/{id}/reconcile", post(eis_copy::reconcile))
        .route("/plans/{id}/eis-copies/{copy_id}/export", get(eis_copy::copy_export))
        .route("/versions/{id}/send", get(sending::send_dialog).post(sending::send_submit))
        .route("/versions/{id}/send/data", post(sending::send_data))
        .route("/versions/{id}/status", get(sending::send_status))
        .route("/versions/{id}/xml", get(versions::xml))
        .route("/versions/{id}/xlsx", get(versions::xlsx))
        .route("/versions/{id}/print", get(versions::print))
        .route("/versions/{id}/signed-content", get(approval::signed_content))
        .route("/versions/{id}/signature", get(approval::signature))
        .route("/versions/{id}/diff", get(versions::compare))
        .route("/sends/{send_id}/events/{event_id}/raw", get(sending::raw_reply))
        .route("/sends/{send_id}/evidence", get(sending::evidence))
        .route("/settings/eis", get(settings::page).post(settings::save))
        .route("/settings/eis/check", post(settings::check))
        .route("/settings/notifications", get(notifications::settings_page).post(notifications::settings_save))
        .route("/notifications", get(notifications::list))
        .route("/notifications/read-all", post(notifications::mark_all_read))
        .route("/notifications/{id}/read", post(notifications::mark_read))
        .route("/settings/password", get(users::password_page).post(users::change_password))
        .route("/admin/users", get(users::list).post(users::create))
        .route("/admin/users/new", get(users::new_page))
        .route("/admin/users/{id}", get(users::view).post(users::update))
        .route("/admin/users/{id}/block", post(users::block))
        .route("/admin/users/{id}/unblock", post(users::unblock))
        .route("/admin/users/{id}/unlock", post(users::unlock))
        .route("/admin/users/{id}/password", post(users::reset_password))
        .route("/admin/users/{id}/certificates", post(users::bind_certificate))
        .route("/admin/users/{id}/certificates/unbind", post(users::unbind_certificate))
        .route("/admin/orgs", get(orgs::list).post(orgs::create))
        .route("/admin/orgs/new", get(orgs::new_page))
        .route("/admin/orgs/{id}", get(orgs::view).post(orgs::update))
        .route("/admin/orgs/{id}/edit", get(orgs::edit_page))
        .route("/admin/orgs/{id}/block", post(orgs::block))
        .route("/admin/orgs/{id}/unblock", post(orgs::unblock))
        .route("/admin/orgs/{id}/ecp", post(orgs::set_ecp))
        .route("/admin/orgs/{id}/agreements", post(orgs::add_agreement))
        .route("/admin/orgs/{id}/agreements/{agreement_id}/revoke", post(orgs::revoke_agreement))
        .route(
            "/reference",
            get(reference::page)
                .post(reference::upload)
                .layer(DefaultBodyLimit::max(reference::MAX_UPLOAD_BYTES + 64 * 1024)),
        )
        .route("/reference/{catalog}", get(reference::search))
        .merge(api::router())
        .route("/static/app.css", get(|| asset("text/css", include_str!("../static/app.css"))))
        .route("/static/print.css", get(|| asset("text/css", include_str!("../static/print.css"))))
        .route("/static/position.js", get(|| asset("text/javascript", include_str!("../static/position.js"))))
        .route("/static/page.js", get(|| asset("text/javascript", include_str!("../static/page.js"))))
        .route("/static/job.js", get(|| asset("text/javascript", include_str!("../static/job.js"))))
        .route("/static/ecp.js", get(|| asset("text/javascript", include_str!("../static/ecp.js"))))
        .route("/static/picker.js", get(reference::picker_script))
        .fallback(|| async { error::WebError::not_found() })
        .layer(axum::middleware::from_fn(error::render_errors))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .layer(axum::middleware::from_fn(request_id::layer))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::layer))
        .with_state(state)
}

/// A static file compiled into the binary, cached for an hour.
async fn asset(mime: &'static str, body: &'static str) -> impl IntoResponse {
    let content_type = match mime {
        "text/css" => "text/css; charset=utf-8",
        _ => "text/javascript; charset=utf-8",
    };
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "max-age=3600")], body)
}
