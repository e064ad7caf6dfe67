//! Readiness for an operator's probe: whether this instance can serve requests now.

use crate::Workflow;
use std::time::Duration;

/// How long the database may take to answer the probe before the instance counts as not ready.
pub(crate) const DATABASE_WAIT: Duration = Duration::from_secs(2);

/// What the readiness probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// The database answered within [`DATABASE_WAIT`].
    pub database: bool,
    /// The schema version the database holds (`None` when it did not answer).
    pub schema_version: Option<i64>,
    /// The schema version this build expects.
    pub schema_expected: i64,
    /// The official ЕИС schemas are configured; configured ones were compiled at start (an
    /// instance whose schemas fail to compile does not start).
    pub eis_schemas: bool,
}

impl Readiness {
    /// Ready: the database answers and holds this build's schema.
    pub fn ready(&self) -> bool {
        self.database && self.schema_version == Some(self.schema_expected)
    }
}

impl Workflow {
    /// Asks the database for its schema version, bounded in time. The cause of a failure goes
    /// to the log only: the probe's answer names no server or error text.
    pub async fn readiness(&self) -> Readiness {
        let version = match tokio::time::timeout(DATABASE_WAIT, self.store.schema_version()).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the database did not answer");
                None
            }
            Err(_) => {
                tracing::warn!(
                    wait_ms = DATABASE_WAIT.as_millis() as u64,
                    "readiness: the database did not answer in time"
                );
                None
            }
        };
        Readiness {
            database: version.is_some(),
            schema_version: version,
            schema_expected: store::latest_schema_version(),
            eis_schemas: self.checks.schemas_configured(),
        }
    }
}
