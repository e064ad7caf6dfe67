//! Roles of plangraf users (PRODUCT.md §3). A user belongs to one organization and has one role.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Fills plan-schedules of his organization and sends approved versions to ЕИС.
    CustomerSpecialist,
    /// Works at the superior organization: approves or returns subordinates' plan-schedules.
    Approver,
    /// Manages organizations, users and reference data.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::CustomerSpecialist, Role::Approver, Role::Admin];

    pub fn code(self) -> &'static str {
        match self {
            Role::CustomerSpecialist => "customer",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn title(self) -> &'static str {
        match self {
            Role::CustomerSpecialist => "Специалист заказчика",
            Role::Approver => "Согласующий",
            Role::Admin => "Администратор",
        }
    }

    /// Who may create and edit plan-schedules of his own organization and send them to ЕИС.
    pub fn edits_plans(self) -> bool {
        matches!(self, Role::CustomerSpecialist)
    }

    /// Who may decide on subordinate organizations' plan-schedules.
    pub fn approves_plans(self) -> bool {
        matches!(self, Role::Approver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        assert_eq!(Role::from_code("root"), None);
    }
}
