//! The exchange with ЕИС: accepting a request to send a version (building its packet and
//! writing it to the durable queue in one transaction), and the runner that claims due sends,
//! talks to ЕИС through `eis`, records every reply and drives the send's state machine.
//!
//! Every attempt of one send carries the same packet (same `index/id`), so a retry after a
//! lost reply can never create a second draft in ЕИС. Before a send gives up, and before a
//! version goes again under a new packet id, ЕИС is asked about the old packet id: an upload may
//! have arrived with only its reply lost.
//!
//! Modules: `request` (approval with the packet fixed, a request to send, the packet into the
//! queue), `runner` (claiming due sends, attempts, retries with backoff, the ceiling),
//! `publication` (after loading: placement, the export, the position numbers), `violations`
//! (ЕИС's confirmations into send states, violations for the status page), `failures` (what a
//! failed exchange means), `eis_copy` (asking ЕИС for its copy of a plan, for import and
//! reconciliation). The packet of a version is built by `plan_packets::build`.

mod config;
pub mod eis_copy;
mod failures;
mod publication;
mod request;
mod runner;
mod time;
mod violations;

use eis::client::EisClient;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::sync::{Notify, Semaphore, watch};

pub use config::ExchangeConfig;
/// What a version's packet is built against (the type lives in `domain`, next to the versions' other rules).
pub use domain::exchange::PacketBasis as Basis;
/// The packet of a version from its snapshot lives in `plan_packets`; named here as before.
pub use plan_packets::build;
pub use plan_packets::build::Envelope;
pub use request::{ChosenPacket, CredentialCheck, PacketSignature, RequestError, send_blocked};
pub use runner::{DRAIN_ROUNDS, retry_delay};
pub use violations::{PLAN_CREATED_IN_EIS, ViolationView, violations_in};

/// The exchange with ЕИС of one plangraf instance: cheap to clone, shared by the web handlers
/// (requests) and the runner task.
#[derive(Clone)]
pub struct Exchange {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    client: EisClient,
    config: ExchangeConfig,
    wake: Notify,
    /// Set by [`Exchange::stop`]: the grace of the exchange in flight.
    stop: watch::Sender<Option<Duration>>,
    worker_id: String,
    /// Snapshots of versions read to build change packets against (immutable once approved).
    contents: std::sync::Mutex<std::collections::HashMap<domain::ids::VersionId, Arc<domain::plan::PlanSnapshot>>>,
    /// Bounds the reads of ЕИС's copies of plans under way at once (`eis_copy`).
    copy_reads: Arc<Semaphore>,
}

/// Version snapshots kept at most (a large plan's is megabytes); past it they are forgotten.
const KEPT_CONTENTS: usize = 16;

impl Exchange {
    pub fn new(store: Store, client: EisClient, config: ExchangeConfig) -> Exchange {
        let worker_id = format!("worker-{}", uuid::Uuid::new_v4());
        let stop = watch::Sender::new(None);
        Exchange {
            inner: Arc::new(Inner {
                store,
                client: client.with_metrics(config.metrics.clone()),
                config,
                wake: Notify::new(),
                stop,
                worker_id,
                contents: Default::default(),
                copy_reads: Arc::new(Semaphore::new(eis_copy::COPY_READS_AT_ONCE)),
            }),
        }
    }

    /// The metrics this exchange counts into ([`ExchangeConfig::metrics`]).
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.config.metrics
    }
}
