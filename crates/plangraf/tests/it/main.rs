//! plangraf's integration tests, in one binary: one link instead of one per file, and one
//! process in which the browser tests take turns. Each module is one former test file; the
//! module path is the filter (`cargo test --workspace --test it browser::`).

mod admin_browser;
mod admin_orgs;
mod admin_orgs_browser;
mod admin_users;
mod api;
mod backups;
mod browser;
mod cert_cli;
mod chromium;
mod common;
mod concurrency;
mod demo_process;
mod eis_copy;
mod errors;
mod evidence;
mod excel;
mod health;
mod hostile;
mod jobs;
mod jobs_browser;
mod journal;
mod lists;
mod logs;
mod mail;
mod metrics;
mod notifications;
mod onboarding;
mod onboarding_browser;
mod onboarding_web;
mod picker_browser;
mod positions;
mod reference;
mod request_ids;
mod roles;
mod security;
mod seed_path;
mod send_retries;
mod shutdown;
mod year_end_faults;
