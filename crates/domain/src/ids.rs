//! Typed row ids. Each kind of row has its own id type, so passing a version id where a plan id
//! is expected does not compile:
//!
//! ```compile_fail,E0308
//! use domain::ids::{PlanId, VersionId};
//! fn plan(id: PlanId) -> i64 { id.get() }
//! plan(VersionId(7));
//! ```
//!
//! The same with the right kind compiles:
//!
//! ```
//! use domain::ids::PlanId;
//! fn plan(id: PlanId) -> i64 { id.get() }
//! assert_eq!(plan(PlanId(7)), 7);
//! ```
//!
//! They are `BIGINT` in the database (bound and read through [`PlanId::get`] and the tuple
//! constructor at the SQL boundary in `store`) and plain numbers in JSON (`#[serde(transparent)]`),
//! so neither the schema nor the API changes. A path segment that is not a number fails to
//! deserialize just as an `i64` did.

use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The number stored in the database.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

id!(
    /// An organization (`organizations.id`).
    OrgId
);
id!(
    /// A user (`users.id`).
    UserId
);
id!(
    /// A plan-schedule (`plans.id`).
    PlanId
);
id!(
    /// A position of a plan-schedule's working copy (`positions.id`).
    PositionId
);
id!(
    /// An approved version of a plan-schedule (`plan_versions.id`).
    VersionId
);
id!(
    /// A send of a version to ЕИС (`eis_sends.id`).
    SendId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_a_plain_number() {
        assert_eq!(serde_json::to_string(&PlanId(42)).unwrap(), "42");
        assert_eq!(serde_json::from_str::<VersionId>("7").unwrap(), VersionId(7));
        assert!(serde_json::from_str::<VersionId>("\"abc\"").is_err());
        assert_eq!(SendId(3).to_string(), "3");
    }
}
