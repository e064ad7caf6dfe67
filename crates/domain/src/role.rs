//! Roles of plangraf users (PRODUCT.md §3). A user belongs to one organization and holds one or
//! more roles ([`Roles`]): a specialist of a superior organization may also approve its
//! subordinates' plans, an administrator may also be a specialist. Every check asks whether the
//! user holds a role that allows the action; holding several roles never widens what one
//! organization may do with another's plans (approval stays with the superior organization).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// Every role, in the order lists show them.
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

    /// The role's bit in [`Roles`] (and in the store's `roles_mask`): its place in [`Role::ALL`].
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The roles a user holds: a set that is never empty, iterated and shown in the order of
/// [`Role::ALL`]. Shown in Russian as a comma list of titles; written as role codes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Roles(u8);

/// Why a list of role codes is not a [`Roles`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RolesError {
    #[error("Выберите хотя бы одну роль.")]
    Empty,
    #[error("Неизвестная роль «{0}»: допустимы customer, approver, admin.")]
    Unknown(String),
}

impl Roles {
    /// Exactly one role.
    pub fn one(role: Role) -> Roles {
        Roles(role.bit())
    }

    /// The roles listed (repeats are one); `None` when there are none.
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Option<Roles> {
        let bits = roles.into_iter().fold(0, |b, r| b | r.bit());
        (bits != 0).then_some(Roles(bits))
    }

    /// The roles of these codes (surrounding spaces ignored, empty items skipped, repeats are
    /// one). An unknown code, or no code at all, is an error.
    pub fn parse<'a>(codes: impl IntoIterator<Item = &'a str>) -> Result<Roles, RolesError> {
        let mut bits = 0;
        for code in codes.into_iter().map(str::trim).filter(|c| !c.is_empty()) {
            let role = Role::from_code(code).ok_or_else(|| RolesError::Unknown(code.chars().take(40).collect()))?;
            bits |= role.bit();
        }
        if bits == 0 { Err(RolesError::Empty) } else { Ok(Roles(bits)) }
    }

    /// A comma list of codes: `customer,approver`.
    pub fn parse_list(list: &str) -> Result<Roles, RolesError> {
        Roles::parse(list.split(','))
    }

    /// The set from its bits ([`Role::bit`]); `None` for no role or an unknown bit.
    pub fn from_bits(bits: i64) -> Option<Roles> {
        let all = Role::ALL.iter().fold(0i64, |b, r| b | i64::from(r.bit()));
        (bits != 0 && bits & !all == 0).then_some(Roles(bits as u8))
    }

    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// These roles and `role`.
    pub fn with(self, role: Role) -> Roles {
        Roles(self.0 | role.bit())
    }

    /// The roles, in the order of [`Role::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    pub fn codes(self) -> Vec<&'static str> {
        self.iter().map(Role::code).collect()
    }

    /// Some held role may create and edit plans (see [`Role::edits_plans`]).
    pub fn edits_plans(self) -> bool {
        self.iter().any(Role::edits_plans)
    }

    /// Some held role may decide on subordinates' plans (see [`Role::approves_plans`]).
    pub fn approves_plans(self) -> bool {
        self.iter().any(Role::approves_plans)
    }

    pub fn is_admin(self) -> bool {
        self.contains(Role::Admin)
    }
}

impl From<Role> for Roles {
    fn from(role: Role) -> Roles {
        Roles::one(role)
    }
}

/// «Специалист заказчика, Согласующий».
impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(r.title())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// A list of codes: `["customer", "approver"]`.
impl Serialize for Roles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Role::code))
    }
}

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Roles, D::Error> {
        let codes = Vec::<String>::deserialize(d)?;
        Roles::parse(codes.iter().map(String::as_str)).map_err(serde::de::Error::custom)
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

    #[test]
    fn bits_are_distinct_and_round_trip() {
        let bits: Vec<u8> = Role::ALL.iter().map(|r| r.bit()).collect();
        for (i, b) in bits.iter().enumerate() {
            assert_eq!(b.count_ones(), 1);
            assert!(bits[i + 1..].iter().all(|o| o != b));
        }
        let all = Roles::new(Role::ALL).unwrap();
        assert_eq!(Roles::from_bits(all.bits()), Some(all));
        assert_eq!(Roles::from_bits(0), None);
        assert_eq!(Roles::from_bits(all.bits() + 1), None, "an unknown bit is not a role");
    }

    #[test]
    fn parses_codes_in_any_order_and_keeps_the_list_order() {
        let r = Roles::parse_list(" admin , customer,admin").unwrap();
        assert_eq!(r.codes(), ["customer", "admin"]);
        assert_eq!(r.to_string(), "Специалист заказчика, Администратор");
        assert_eq!(Roles::parse(["approver"]).unwrap(), Roles::one(Role::Approver));
        assert_eq!(Roles::parse_list(""), Err(RolesError::Empty));
        assert_eq!(Roles::parse_list(" , "), Err(RolesError::Empty));
        assert_eq!(Roles::parse_list("customer,root"), Err(RolesError::Unknown("root".into())));
        assert_eq!(RolesError::Empty.to_string(), "Выберите хотя бы одну роль.");
    }

    #[test]
    fn never_empty() {
        assert_eq!(Roles::new([]), None);
        assert_eq!(Roles::new([Role::Approver, Role::Approver]), Some(Roles::one(Role::Approver)));
    }

    #[test]
    fn any_held_role_allows() {
        let approver = Roles::one(Role::Approver);
        assert!(approver.approves_plans() && !approver.edits_plans() && !approver.is_admin());
        let both = approver.with(Role::CustomerSpecialist);
        assert!(both.approves_plans() && both.edits_plans() && !both.is_admin());
        assert!(both.contains(Role::CustomerSpecialist) && !both.contains(Role::Admin));
        let admin = Roles::one(Role::Admin);
        assert!(!admin.edits_plans() && !admin.approves_plans() && admin.is_admin());
    }

    #[test]
    fn json_is_a_list_of_codes() {
        let both = Roles::new([Role::Admin, Role::CustomerSpecialist]).unwrap();
        let json = serde_json::to_string(&both).unwrap();
        assert_eq!(json, r#"["customer","admin"]"#);
        assert_eq!(serde_json::from_str::<Roles>(&json).unwrap(), both);
        assert!(serde_json::from_str::<Roles>("[]").is_err());
        assert!(serde_json::from_str::<Roles>(r#"["root"]"#).is_err());
    }
}
