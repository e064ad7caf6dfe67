//! How the exchange behaves: envelope, polling, retries, leases, schemas.

use crate::Envelope;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ExchangeConfig {
    pub envelope: Envelope,
    /// How soon to ask again about a packet ЕИС is still processing.
    pub poll_interval: Duration,
    /// How often to ask whether a loaded draft has been placed (published) in ЕИС.
    pub publication_poll_interval: Duration,
    /// Retry delay cap after the first failure of a run (transport, 5xx, unreadable reply);
    /// doubled per failure in a row, up to `retry_max`. See [`crate::retry_delay`].
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How long after its first attempt a send that gets no usable answer is given up.
    pub retry_ceiling: Duration,
    /// How long a claimed send stays with its worker without a renewal; after it another
    /// instance may take the send over. While a send is in flight its worker renews the lease
    /// every `lease_renewal`, so a slow ЕИС reply (up to the client's read timeout) never lets a
    /// second worker repeat the call, and a killed instance's sends are taken over within about
    /// one lease.
    pub lease: Duration,
    /// How often a worker renews the leases of its sends in flight; well under `lease` (at most a
    /// third of it is used), so one late renewal does not lose a send.
    pub lease_renewal: Duration,
    /// How often an idle runner looks for due sends (it is also woken on every new send).
    pub idle_interval: Duration,
    /// How many sends the runner of [`crate::Exchange::spawn`] works at once, each under its own
    /// lease. ЕИС may take a second or more per call: with one at a time, a queue of thousands
    /// would take hours.
    pub concurrency: usize,
    /// The official ЕИС schemas, compiled once; when present, every packet is validated before
    /// it is queued, so ЕИС never sees a packet its schemas reject.
    pub schemas: Option<Arc<eis::validate::SchemaSet>>,
    /// Where the exchange counts: the final states sends reach, and (through its ЕИС client)
    /// the round trip of every call to ЕИС. Share it with the web layer that serves `/metrics`;
    /// the default is a registry of its own.
    pub metrics: metrics::Metrics,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            envelope: Envelope { sender: "PLANGRAF".into(), receiver: "OOS".into(), mode: eis::packet::Mode::Prod },
            poll_interval: Duration::from_secs(5),
            publication_poll_interval: Duration::from_secs(60),
            retry_base: Duration::from_secs(5),
            // Short on purpose: once ЕИС heals, every waiting send tries again within a minute.
            retry_max: Duration::from_secs(60),
            retry_ceiling: Duration::from_secs(24 * 60 * 60),
            lease: Duration::from_secs(30),
            lease_renewal: Duration::from_secs(10),
            idle_interval: Duration::from_secs(2),
            concurrency: 8,
            schemas: None,
            metrics: metrics::Metrics::new(),
        }
    }
}
