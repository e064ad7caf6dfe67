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
pub mod checks;
pub mod eis_copy;
pub mod error;
pub mod evidence;
pub mod excel;
pub mod health;
pub mod notifications;
pub mod nsi;
pub mod passwords;
pub mod plans;
pub mod positions;
pub mod sending;
pub mod snapshot;
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
}

impl Workflow {
    /// A workflow that assumes the official schemas are configured; see [`Workflow::with_schemas`].
    pub fn new(store: Store, exchange: Exchange) -> Workflow {
        Workflow { store, exchange, checks: std::sync::Arc::new(checks::Checks::new(true)) }
    }

    /// For reads that only present stored data (lists, the timeline, the journal). Every write
    /// goes through a use case of this crate.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
