//! The workflow layer: every use case of plangraf is a method of [`Workflow`] — creating a
//! plan-schedule, editing and cancelling positions, submitting, approving (one or many),
//! returning, starting changes, changing the header, the plan view with its findings,
//! requesting a send (one or many), the ЕИС credentials, ЕИС's copy of a plan (taken in or
//! reconciled), the evidence pack of a send, loading
//! НСИ, signing in and managing users and passwords.
//!
//! Pages, the JSON API and the CLI call it and only translate HTTP or command lines to calls and
//! results to HTML, JSON or text. A use case loads what it needs through [`access`], which
//! checks the caller's organization and role and hands out capabilities ([`Readable`],
//! [`Editable`]) that the writes require; `domain` decides, `store` persists — the write, its
//! queue entry and its audit entry in one transaction — and sending is handed to `exchange`.
//! Every refusal is one [`Error`].

pub mod access;
pub mod certificates;
pub mod checks;
pub mod ecp;
pub mod eis_copy;
pub mod error;
pub mod evidence;
pub mod excel;
pub mod health;
pub mod jobs;
pub mod journal;
pub mod notifications;
pub mod nsi;
pub mod onboarding;
pub mod onboarding_files;
pub mod org_admin;
pub mod passwords;
pub mod plans;
pub mod positions;
/// The instance's metrics (`Workflow::metrics`): what is counted and how it is rendered for
/// `/metrics`. Code that delivers a notification calls
/// `workflow.metrics().notification_sent(metrics::Channel::…)`.
pub mod metrics {
    pub use ::metrics::*;
}
pub mod sending;
pub mod snapshot;
pub mod user_admin;
pub mod users;

pub use access::{Editable, Readable, ReadableVersion};
pub use error::{Error, Refusal, Result};

use exchange::Exchange;
use store::Store;

/// The workflow layer's state: the database and the exchange with ЕИС (which holds the
/// official schemas when they are configured). Cheap to clone.
#[derive(Clone)]
pub struct Workflow {
    store: Store,
    exchange: Exchange,
    /// The findings kept per content stamp and the background schema check (`checks`).
    checks: std::sync::Arc<checks::Checks>,
    /// The turns of the jobs this instance runs, and their progress held in memory (`jobs`).
    jobs: std::sync::Arc<jobs::Jobs>,
    /// The УЦ trusted for ЭЦП sign-in and binding; `None`: both off (`ecp`).
    ecp: Option<std::sync::Arc<signature::Trust>>,
}

impl Workflow {
    /// A workflow that assumes the official schemas are configured; see [`Workflow::with_schemas`].
    pub fn new(store: Store, exchange: Exchange) -> Workflow {
        Workflow {
            store,
            exchange,
            checks: std::sync::Arc::new(checks::Checks::new(true)),
            jobs: std::sync::Arc::new(jobs::Jobs::new()),
            ecp: None,
        }
    }

    /// For reads that only present stored data (lists, the timeline, the journal). Every write
    /// goes through a use case of this crate.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The metrics of this instance, shared with its exchange (`ExchangeConfig::metrics`).
    pub fn metrics(&self) -> &metrics::Metrics {
        self.exchange.metrics()
    }

    /// The send queue by state for `/metrics`: one grouped query, bounded in time like the
    /// readiness probe; `None` when the database did not answer (the cause goes to the log).
    pub async fn queue_depth(&self) -> Option<Vec<metrics::QueueDepth>> {
        match tokio::time::timeout(health::DATABASE_WAIT, self.store.send_queue_depth(&metrics::QUEUE_STATES)).await {
            Ok(Ok(rows)) => {
                let now = store::now();
                Some(
                    rows.into_iter()
                        .map(|r| metrics::QueueDepth {
                            state: r.status,
                            count: r.count,
                            oldest: r.oldest_created_at.map(|t| (now - t).to_std().unwrap_or_default()),
                        })
                        .collect(),
                )
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "metrics: the send queue could not be read");
                None
            }
            Err(_) => {
                tracing::warn!("metrics: the send queue could not be read in time");
                None
            }
        }
    }
}
