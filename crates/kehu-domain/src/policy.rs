//! The access policy: who may do what to which record. Extractors in the web crate only
//! identify the user; every decision is made here, and every store query for owned records
//! takes an [`OwnerFilter`], which only the principal (by its [`DataScope`]) or an explicit
//! [`OwnerFilter::system`] can make.
//!
//! Administrative changes (users, roles, passwords) follow one more rule, decided by
//! [`authorize`]: rights can only be delegated, never created. An actor grants, assigns or edits
//! only what its own [`Authority`] covers, and the last active user holding every right can be
//! neither disabled nor moved to a lesser role.

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

/// Which owners' records a store reads and changes (数据范围过滤). Its field is private: it
/// comes from the signed-in user ([`Principal::owner_filter`], [`Principal::own_records`]) or,
/// for jobs and the command line, from the explicit [`OwnerFilter::system`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerFilter {
    owner: Option<i64>,
}

impl OwnerFilter {
    /// Every record, for the system itself (command line, jobs, sign-in lookups): never for a
    /// request made by a user.
    pub const fn system() -> Self {
        Self { owner: None }
    }

    /// The only owner whose records pass, or `None` when every record does.
    pub const fn owner(self) -> Option<i64> {
        self.owner
    }
}

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

    /// The owner filter of this user's data scope: every query for owned records goes
    /// through it (or through [`Self::own_records`]).
    pub fn owner_filter(&self) -> OwnerFilter {
        match self.scope {
            DataScope::All => OwnerFilter::system(),
            DataScope::Own => self.own_records(),
        }
    }

    /// Only this user's own records, whatever their scope: what a user manages about
    /// themselves (their API tokens on the profile page).
    pub fn own_records(&self) -> OwnerFilter {
        OwnerFilter {
            owner: Some(self.user_id),
        }
    }
}

/// What a role grants: its rights and its data scope. An actor's authority is its role's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    pub rights: BTreeSet<Right>,
    pub scope: DataScope,
}

impl Authority {
    pub fn new(rights: impl IntoIterator<Item = Right>, scope: DataScope) -> Self {
        Self {
            rights: rights.into_iter().collect(),
            scope,
        }
    }

    /// Every right over every record: the administrator role, and the system itself (CLI, jobs).
    pub fn full() -> Self {
        Self::new(Right::ALL.iter().copied(), DataScope::All)
    }

    pub fn is_full(&self) -> bool {
        self.scope == DataScope::All && Right::ALL.iter().all(|r| self.rights.contains(r))
    }

    /// True when everything `other` grants is granted here too (`all` covers `own`).
    pub fn covers(&self, other: &Authority) -> bool {
        let scope_ok = self.scope == DataScope::All || other.scope == DataScope::Own;
        scope_ok && other.rights.is_subset(&self.rights)
    }
}

impl Principal {
    /// What this user holds, and so may delegate.
    pub fn authority(&self) -> Authority {
        Authority {
            rights: self.rights.clone(),
            scope: self.scope,
        }
    }
}

/// Why [`authorize`] refused a change. Each has a stable code for API clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The change would grant or assign a right (or data scope) the actor does not hold.
    RightsNotHeld,
    /// The user or role changed holds a right (or data scope) the actor does not hold.
    TargetOutranks,
    /// The change would leave no active user holding every right.
    LastAdministrator,
    /// Administrators reset other people's passwords; one's own is changed on the profile
    /// page, which asks for the current one.
    OwnAccount,
}

impl Refusal {
    /// The stable snake_case code of the refusal (the problem document's `code`).
    pub const fn code(self) -> &'static str {
        match self {
            Refusal::RightsNotHeld => "rights_not_held",
            Refusal::TargetOutranks => "target_outranks",
            Refusal::LastAdministrator => "last_administrator",
            Refusal::OwnAccount => "own_account",
        }
    }
}

/// A user as an administrative change finds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUser {
    pub authority: Authority,
    pub active: bool,
    /// The target is the actor.
    pub is_self: bool,
}

/// An administrative change, with what the policy needs to know about it. `full_users` is the
/// number of active users holding every right, counted in the transaction that makes the change.
#[derive(Debug, Clone, Copy)]
pub enum AdminChange<'a> {
    /// A new account with a role.
    CreateUser {
        role: &'a Authority,
    },
    /// An edit of an account: its role (maybe unchanged) and whether it ends up disabled.
    EditUser {
        target: &'a TargetUser,
        role: &'a Authority,
        disable: bool,
        full_users: u64,
    },
    /// An administrator sets a temporary password for an account.
    ResetPassword {
        target: &'a TargetUser,
    },
    /// Revoking another user's API tokens.
    RevokeTokens {
        target: &'a TargetUser,
    },
    CreateRole {
        role: &'a Authority,
    },
    /// A change to a role's rights or scope; `active_holders` of it hold every right now.
    EditRole {
        before: &'a Authority,
        after: &'a Authority,
        active_holders: u64,
        full_users: u64,
    },
    DeleteRole {
        role: &'a Authority,
    },
}

/// Decides whether `actor` may make `change`: the one place every page, API endpoint and CLI
/// command asks before an administrative change.
pub fn authorize(actor: &Authority, change: AdminChange<'_>) -> Result<(), DomainError> {
    let refuse = |r| Err(DomainError::Refused(r));
    match change {
        AdminChange::CreateUser { role } | AdminChange::CreateRole { role } => {
            if !actor.covers(role) {
                return refuse(Refusal::RightsNotHeld);
            }
        }
        AdminChange::EditUser {
            target,
            role,
            disable,
            full_users,
        } => {
            if !actor.covers(&target.authority) {
                return refuse(Refusal::TargetOutranks);
            }
            if !actor.covers(role) {
                return refuse(Refusal::RightsNotHeld);
            }
            let loses_full =
                target.active && target.authority.is_full() && (disable || !role.is_full());
            if loses_full && full_users <= 1 {
                return refuse(Refusal::LastAdministrator);
            }
        }
        AdminChange::ResetPassword { target } => {
            if target.is_self {
                return refuse(Refusal::OwnAccount);
            }
            if !actor.covers(&target.authority) {
                return refuse(Refusal::TargetOutranks);
            }
        }
        AdminChange::RevokeTokens { target } => {
            if !target.is_self && !actor.covers(&target.authority) {
                return refuse(Refusal::TargetOutranks);
            }
        }
        AdminChange::EditRole {
            before,
            after,
            active_holders,
            full_users,
        } => {
            if !actor.covers(before) {
                return refuse(Refusal::TargetOutranks);
            }
            if !actor.covers(after) {
                return refuse(Refusal::RightsNotHeld);
            }
            let loses_full = before.is_full() && !after.is_full() && active_holders > 0;
            if loses_full && active_holders >= full_users {
                return refuse(Refusal::LastAdministrator);
            }
        }
        AdminChange::DeleteRole { role } => {
            if !actor.covers(role) {
                return refuse(Refusal::TargetOutranks);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(rights: &[Right], scope: DataScope) -> Authority {
        Authority::new(rights.iter().copied(), scope)
    }

    fn user(a: &Authority, active: bool, is_self: bool) -> TargetUser {
        TargetUser {
            authority: a.clone(),
            active,
            is_self,
        }
    }

    /// One row of the delegation table: who acts, what they ask, what the policy answers.
    fn check(actor: &Authority, change: AdminChange<'_>) -> Option<&'static str> {
        match authorize(actor, change) {
            Ok(()) => None,
            Err(DomainError::Refused(r)) => Some(r.code()),
            Err(e) => Some(if matches!(e, DomainError::Forbidden) {
                "forbidden"
            } else {
                "other"
            }),
        }
    }

    #[test]
    fn rights_can_only_be_delegated_never_created() {
        use Right::*;
        let full = Authority::full();
        let users_only = auth(&[SystemUsers], DataScope::All);
        let roles_only = auth(&[SystemRoles], DataScope::All);
        let am = auth(&[CustomerRead, CustomerWrite], DataScope::Own);
        let am_all = auth(&[CustomerRead, CustomerWrite], DataScope::All);
        let sales = auth(&[CustomerRead, CustomerWrite, SystemUsers], DataScope::All);
        let admin_user = user(&full, true, false);
        let am_user = user(&am, true, false);
        let me_users_only = user(&users_only, true, true);
        let disabled_admin = user(&full, false, false);
        let me_admin = user(&full, true, true);
        let roles_and_read_own = auth(&[SystemRoles, CustomerRead], DataScope::Own);
        let read_all = auth(&[CustomerRead], DataScope::All);
        let roles_and_users = auth(&[SystemRoles, SystemUsers], DataScope::All);
        let rows: Vec<(&str, &Authority, AdminChange<'_>, Option<&str>)> = vec![
            (
                "create a user with a role one holds",
                &sales,
                AdminChange::CreateUser { role: &am },
                None,
            ),
            (
                "create an administrator without every right",
                &users_only,
                AdminChange::CreateUser { role: &full },
                Some("rights_not_held"),
            ),
            (
                "create a user with rights one lacks",
                &users_only,
                AdminChange::CreateUser { role: &am },
                Some("rights_not_held"),
            ),
            (
                "give oneself the administrator role",
                &users_only,
                AdminChange::EditUser {
                    target: &me_users_only,
                    role: &full,
                    disable: false,
                    full_users: 1,
                },
                Some("rights_not_held"),
            ),
            (
                "move an account manager to a role one holds",
                &sales,
                AdminChange::EditUser {
                    target: &am_user,
                    role: &am_all,
                    disable: false,
                    full_users: 1,
                },
                None,
            ),
            (
                "disable the administrator",
                &sales,
                AdminChange::EditUser {
                    target: &admin_user,
                    role: &full,
                    disable: true,
                    full_users: 2,
                },
                Some("target_outranks"),
            ),
            (
                "rename the administrator",
                &users_only,
                AdminChange::EditUser {
                    target: &admin_user,
                    role: &full,
                    disable: false,
                    full_users: 2,
                },
                Some("target_outranks"),
            ),
            (
                "disable the last administrator",
                &full,
                AdminChange::EditUser {
                    target: &admin_user,
                    role: &full,
                    disable: true,
                    full_users: 1,
                },
                Some("last_administrator"),
            ),
            (
                "demote the last administrator",
                &full,
                AdminChange::EditUser {
                    target: &admin_user,
                    role: &am,
                    disable: false,
                    full_users: 1,
                },
                Some("last_administrator"),
            ),
            (
                "demote one of two administrators",
                &full,
                AdminChange::EditUser {
                    target: &admin_user,
                    role: &am,
                    disable: false,
                    full_users: 2,
                },
                None,
            ),
            (
                "disable an already disabled administrator",
                &full,
                AdminChange::EditUser {
                    target: &disabled_admin,
                    role: &full,
                    disable: true,
                    full_users: 1,
                },
                None,
            ),
            (
                "reset the administrator's password",
                &users_only,
                AdminChange::ResetPassword {
                    target: &admin_user,
                },
                Some("target_outranks"),
            ),
            (
                "reset one's own password as administrator",
                &full,
                AdminChange::ResetPassword { target: &me_admin },
                Some("own_account"),
            ),
            (
                "reset an account manager's password",
                &sales,
                AdminChange::ResetPassword { target: &am_user },
                None,
            ),
            (
                "revoke the administrator's tokens",
                &users_only,
                AdminChange::RevokeTokens {
                    target: &admin_user,
                },
                Some("target_outranks"),
            ),
            (
                "revoke one's own tokens",
                &users_only,
                AdminChange::RevokeTokens {
                    target: &me_users_only,
                },
                None,
            ),
            (
                "create a role with every right",
                &roles_only,
                AdminChange::CreateRole { role: &full },
                Some("rights_not_held"),
            ),
            (
                "create a role with one's own rights",
                &roles_only,
                AdminChange::CreateRole { role: &roles_only },
                None,
            ),
            (
                "widen a role's scope to all records",
                &roles_and_read_own,
                AdminChange::CreateRole { role: &read_all },
                Some("rights_not_held"),
            ),
            (
                "add a right one lacks to one's own role",
                &roles_only,
                AdminChange::EditRole {
                    before: &roles_only,
                    after: &roles_and_users,
                    active_holders: 0,
                    full_users: 1,
                },
                Some("rights_not_held"),
            ),
            (
                "strip rights from the administrator role",
                &roles_only,
                AdminChange::EditRole {
                    before: &full,
                    after: &roles_only,
                    active_holders: 1,
                    full_users: 1,
                },
                Some("target_outranks"),
            ),
            (
                "strip the last full role",
                &full,
                AdminChange::EditRole {
                    before: &full,
                    after: &am,
                    active_holders: 1,
                    full_users: 1,
                },
                Some("last_administrator"),
            ),
            (
                "strip a full role while another administrator remains",
                &full,
                AdminChange::EditRole {
                    before: &full,
                    after: &am,
                    active_holders: 1,
                    full_users: 2,
                },
                None,
            ),
            (
                "delete a role with rights one lacks",
                &roles_only,
                AdminChange::DeleteRole { role: &am },
                Some("target_outranks"),
            ),
        ];
        for (what, actor, change, expected) in rows {
            assert_eq!(check(actor, change), expected, "{what}");
        }
    }

    #[test]
    fn all_records_cover_own_but_not_the_reverse() {
        let own = auth(&[Right::CustomerRead], DataScope::Own);
        let all = auth(&[Right::CustomerRead], DataScope::All);
        assert!(all.covers(&own) && !own.covers(&all) && own.covers(&own));
        assert!(Authority::full().is_full() && !all.is_full());
    }

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
        assert_eq!(p.owner_filter().owner(), Some(7));
        assert_eq!(p.own_records(), p.owner_filter());
    }

    #[test]
    fn all_scope_sees_everything_and_rights_are_checked() {
        let p = principal(DataScope::All, &[Right::ReportRead]);
        assert_eq!(p.owner_filter(), OwnerFilter::system());
        assert_eq!(p.owner_filter().owner(), None);
        assert_eq!(
            p.own_records().owner(),
            Some(7),
            "one's own records whatever the scope"
        );
        assert!(p.require(Right::ReportRead).is_ok());
        assert!(matches!(
            p.require(Right::SystemUsers),
            Err(DomainError::Forbidden)
        ));
    }
}
