//! The access policy: who may do what to which record. Extractors in the web crate only
//! identify the user; every decision is made here, and every store query for owned records
//! takes the [`DataScope`] from [`Principal::scope`].

use std::collections::BTreeSet;

use crate::{DomainError, Right};

/// Which records a role sees (数据范围).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataScope {
    /// Only records the user owns (an account manager's own customers).
    Own,
    /// Every record.
    All,
}

impl DataScope {
    pub fn code(self) -> &'static str {
        match self {
            DataScope::Own => "own",
            DataScope::All => "all",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "own" => Some(DataScope::Own),
            "all" => Some(DataScope::All),
            _ => None,
        }
    }
}

/// The signed-in user as the policy sees them.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role_id: i64,
    pub role_name: String,
    pub rights: BTreeSet<Right>,
    pub scope: DataScope,
    pub must_change_password: bool,
    /// Preferred UI language tag, if the user chose one.
    pub language: Option<String>,
}

/// The filter a store applies to owned records: `None` means all records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerFilter(pub Option<i64>);

impl Principal {
    pub fn can(&self, right: Right) -> bool {
        self.rights.contains(&right)
    }

    /// `Ok` when the user holds `right`, `Forbidden` otherwise.
    pub fn require(&self, right: Right) -> Result<(), DomainError> {
        if self.can(right) {
            Ok(())
        } else {
            Err(DomainError::Forbidden)
        }
    }

    /// The owner filter every query for owned records goes through.
    pub fn owner_filter(&self) -> OwnerFilter {
        match self.scope {
            DataScope::All => OwnerFilter(None),
            DataScope::Own => OwnerFilter(Some(self.user_id)),
        }
    }

    /// May this user see or change a record owned by `owner`?
    pub fn may_touch(&self, owner: Option<i64>) -> bool {
        match self.scope {
            DataScope::All => true,
            DataScope::Own => owner == Some(self.user_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(scope: DataScope, rights: &[Right]) -> Principal {
        Principal {
            user_id: 7,
            username: "li".into(),
            display_name: "李娜".into(),
            role_id: 3,
            role_name: "客户经理".into(),
            rights: rights.iter().copied().collect(),
            scope,
            must_change_password: false,
            language: None,
        }
    }

    #[test]
    fn own_scope_sees_only_own_records() {
        let p = principal(DataScope::Own, &[Right::CustomerRead]);
        assert_eq!(p.owner_filter(), OwnerFilter(Some(7)));
        assert!(p.may_touch(Some(7)));
        assert!(!p.may_touch(Some(8)));
        assert!(!p.may_touch(None));
    }

    #[test]
    fn all_scope_sees_everything_and_rights_are_checked() {
        let p = principal(DataScope::All, &[Right::ReportRead]);
        assert_eq!(p.owner_filter(), OwnerFilter(None));
        assert!(p.may_touch(Some(8)));
        assert!(p.require(Right::ReportRead).is_ok());
        assert!(matches!(
            p.require(Right::SystemUsers),
            Err(DomainError::Forbidden)
        ));
    }
}
