//! The plangraf domain: organizations, roles, plan-schedules and their positions, the approval
//! and exchange state machines, the ИКЗ, money and the pre-flight checks.
//! Pure: no I/O and no async, so every rule here is testable in isolation.

pub mod account;
pub mod checks;
pub mod diff;
pub mod exchange;
pub mod format;
pub mod ids;
pub mod ikz;
pub mod money;
pub mod nsi;
pub mod org;
pub mod plan;
pub mod position;
pub mod role;
pub mod secret;
// Always compiled (as `store::testing`): a feature only tests turn on would make `cargo build`
// and `cargo test` build every crate above `domain` twice.
#[doc(hidden)]
pub mod testing;
pub mod text;

pub use checks::{Finding, preflight};
pub use exchange::SendStatus;
pub use money::Money;
pub use org::{OrgType, SpzCode};
pub use plan::{PlanStatus, PositionDraft};
pub use role::{Role, Roles};
