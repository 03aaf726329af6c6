//! The sales opportunity's workflow (销售机会 → 客户开发): its states, what may be done in
//! each, and by whom. One function, [`Opportunity::allows`], answers every question the store,
//! the pages and the API ask before they change an opportunity, so the rules live here only.
//!
//! ```text
//!  unassigned ──assign──▶ assigned ──plan──▶ developing ──succeed──▶ success
//!      │ edit, delete        │ reassign          │ plan, record, reassign
//!      │                     │                   └──fail (reason)──▶ failure
//! ```
//!
//! Who: anyone holding `opportunity.write` creates; the creator or a supervisor (a holder of
//! `opportunity.assign`) edits and deletes while unassigned; a supervisor assigns and
//! reassigns until it is closed; the assignee plans (the first plan item starts the
//! development) and records results; the assignee or a supervisor closes it. A refusal says
//! which rule: the state (409, with the reason) or the person (403).

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Where an opportunity stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Unassigned,
    Assigned,
    Developing,
    Success,
    Failure,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Unassigned,
        Status::Assigned,
        Status::Developing,
        Status::Success,
        Status::Failure,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Unassigned => "unassigned",
            Status::Assigned => "assigned",
            Status::Developing => "developing",
            Status::Success => "success",
            Status::Failure => "failure",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Success and failure are final: nothing changes a closed opportunity.
    pub fn is_closed(self) -> bool {
        matches!(self, Status::Success | Status::Failure)
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    /// A status by its code (`developing`), as lists' filters carry it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s.trim()).ok_or_else(|| {
            let codes: Vec<&str> = Self::ALL.iter().map(|s| s.code()).collect();
            format!("expected one of {}", codes.join(", "))
        })
    }
}

/// What someone wants to do to an opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Change its fields.
    Edit,
    Delete,
    /// Give it to an account manager (again).
    Assign,
    /// Add a dated to-do to its development plan.
    Plan,
    /// Write the result of a plan item.
    Record,
    /// Close it as won: the customer is created (or linked).
    Succeed,
    /// Close it as lost, with a reason.
    Fail,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Edit,
        Action::Delete,
        Action::Assign,
        Action::Plan,
        Action::Record,
        Action::Succeed,
        Action::Fail,
    ];

    /// The stable name clients and pages see (`edit`, `succeed` …).
    pub const fn code(self) -> &'static str {
        match self {
            Action::Edit => "edit",
            Action::Delete => "delete",
            Action::Assign => "assign",
            Action::Plan => "plan",
            Action::Record => "record",
            Action::Succeed => "succeed",
            Action::Fail => "fail",
        }
    }
}

/// Who is acting: their id, and whether they supervise sales (hold `opportunity.assign`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub supervisor: bool,
}

/// What the rules need to know of an opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opportunity {
    pub status: Status,
    pub created_by: i64,
    pub assignee: Option<i64>,
}

impl Opportunity {
    /// The status `action` by `actor` leads to, or why it may not be done. The person is
    /// checked first: someone who may not act on the opportunity at all learns nothing of
    /// its state.
    pub fn allows(&self, action: Action, actor: Actor) -> Result<Status, DomainError> {
        use Action::*;
        use Status::*;
        let creator = actor.user_id == self.created_by;
        let assignee = self.assignee == Some(actor.user_id);
        let person = match action {
            Edit | Delete => creator || actor.supervisor,
            Assign => actor.supervisor,
            Plan | Record => assignee,
            Succeed | Fail => assignee || actor.supervisor,
        };
        if !person {
            return Err(DomainError::Forbidden);
        }
        let refused = |key: &'static str| Err(DomainError::NotAllowed(key));
        match (action, self.status) {
            (_, Success | Failure) => refused("err-opportunity-closed"),
            (Edit | Delete, Unassigned) => Ok(Unassigned),
            (Edit | Delete, _) => refused("err-opportunity-assigned"),
            (Assign, Unassigned | Assigned) => Ok(Assigned),
            (Assign, Developing) => Ok(Developing),
            (Plan, Assigned | Developing) => Ok(Developing),
            (Record, Developing) => Ok(Developing),
            (Succeed, Developing) => Ok(Success),
            (Fail, Developing) => Ok(Failure),
            (Plan | Record | Succeed | Fail, Unassigned) => refused("err-opportunity-unassigned"),
            (Record | Succeed | Fail, Assigned) => refused("err-opportunity-not-developing"),
        }
    }

    /// The actions `actor` may take now (the buttons a page shows).
    pub fn actions(&self, actor: Actor) -> Vec<Action> {
        Action::ALL
            .into_iter()
            .filter(|a| self.allows(*a, actor).is_ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATOR: i64 = 1;
    const MANAGER: i64 = 2;
    const OTHER: i64 = 3;
    const BOSS: i64 = 4;

    fn user(id: i64) -> Actor {
        Actor {
            user_id: id,
            supervisor: id == BOSS,
        }
    }

    fn in_status(status: Status) -> Opportunity {
        Opportunity {
            status,
            created_by: CREATOR,
            assignee: (status != Status::Unassigned).then_some(MANAGER),
        }
    }

    fn outcome(status: Status, action: Action, who: i64) -> Result<Status, String> {
        in_status(status)
            .allows(action, user(who))
            .map_err(|e| match e {
                DomainError::NotAllowed(key) => key.to_owned(),
                DomainError::Forbidden => "forbidden".to_owned(),
                other => format!("{other:?}"),
            })
    }

    /// The whole table: every state × action × person, written out, so a change to a rule
    /// is a change here that a reviewer sees.
    #[test]
    fn every_transition_and_refusal() {
        use Action::*;
        use Status::*;
        let ok = |s: Status| Ok::<Status, String>(s);
        let no = |k: &str| Err::<Status, String>(k.to_owned());
        let forbidden = || no("forbidden");
        let closed = || no("err-opportunity-closed");
        let cases: Vec<(Status, Action, i64, Result<Status, String>)> = vec![
            // Unassigned: the creator or a supervisor edits and deletes; a supervisor assigns.
            (Unassigned, Edit, CREATOR, ok(Unassigned)),
            (Unassigned, Edit, BOSS, ok(Unassigned)),
            (Unassigned, Edit, OTHER, forbidden()),
            (Unassigned, Delete, CREATOR, ok(Unassigned)),
            (Unassigned, Delete, BOSS, ok(Unassigned)),
            (Unassigned, Delete, MANAGER, forbidden()),
            (Unassigned, Assign, BOSS, ok(Assigned)),
            (Unassigned, Assign, CREATOR, forbidden()),
            (Unassigned, Plan, BOSS, forbidden()),
            (Unassigned, Succeed, BOSS, no("err-opportunity-unassigned")),
            (Unassigned, Fail, BOSS, no("err-opportunity-unassigned")),
            // Assigned: fixed; the assignee starts the plan; a supervisor may reassign.
            (Assigned, Edit, CREATOR, no("err-opportunity-assigned")),
            (Assigned, Delete, BOSS, no("err-opportunity-assigned")),
            (Assigned, Assign, BOSS, ok(Assigned)),
            (Assigned, Assign, MANAGER, forbidden()),
            (Assigned, Plan, MANAGER, ok(Developing)),
            (Assigned, Plan, BOSS, forbidden()),
            (Assigned, Plan, CREATOR, forbidden()),
            (
                Assigned,
                Record,
                MANAGER,
                no("err-opportunity-not-developing"),
            ),
            (
                Assigned,
                Succeed,
                MANAGER,
                no("err-opportunity-not-developing"),
            ),
            (Assigned, Fail, BOSS, no("err-opportunity-not-developing")),
            // Developing: the assignee plans and records; the assignee or a supervisor closes.
            (Developing, Edit, CREATOR, no("err-opportunity-assigned")),
            (Developing, Plan, MANAGER, ok(Developing)),
            (Developing, Record, MANAGER, ok(Developing)),
            (Developing, Record, OTHER, forbidden()),
            (Developing, Record, BOSS, forbidden()),
            (Developing, Assign, BOSS, ok(Developing)),
            (Developing, Succeed, MANAGER, ok(Success)),
            (Developing, Succeed, BOSS, ok(Success)),
            (Developing, Succeed, OTHER, forbidden()),
            (Developing, Fail, MANAGER, ok(Failure)),
            (Developing, Fail, BOSS, ok(Failure)),
            (Developing, Fail, CREATOR, forbidden()),
        ];
        for (status, action, who, want) in cases {
            assert_eq!(
                outcome(status, action, who),
                want,
                "{status:?} {action:?} by {who}"
            );
        }
        // Closed is closed, for everyone who may otherwise act.
        for status in [Success, Failure] {
            for action in Action::ALL {
                for who in [MANAGER, BOSS] {
                    let got = outcome(status, action, who);
                    assert!(
                        got == closed() || got == forbidden(),
                        "{status:?} {action:?} by {who}: {got:?}"
                    );
                }
            }
            assert_eq!(outcome(status, Succeed, BOSS), closed());
            assert_eq!(outcome(status, Assign, BOSS), closed());
        }
    }

    #[test]
    fn someone_with_no_part_in_it_may_do_nothing() {
        for status in Status::ALL {
            assert!(
                in_status(status).actions(user(OTHER)).is_empty(),
                "{status:?}"
            );
        }
    }

    #[test]
    fn the_buttons_follow_the_rules() {
        use Action::*;
        assert_eq!(
            in_status(Status::Unassigned).actions(user(BOSS)),
            vec![Edit, Delete, Assign]
        );
        assert_eq!(
            in_status(Status::Unassigned).actions(user(CREATOR)),
            vec![Edit, Delete]
        );
        assert_eq!(
            in_status(Status::Assigned).actions(user(MANAGER)),
            vec![Plan]
        );
        assert_eq!(
            in_status(Status::Developing).actions(user(MANAGER)),
            vec![Plan, Record, Succeed, Fail]
        );
        assert_eq!(
            in_status(Status::Developing).actions(user(BOSS)),
            vec![Assign, Succeed, Fail]
        );
        assert!(in_status(Status::Success).actions(user(BOSS)).is_empty());
    }

    #[test]
    fn a_supervisor_who_is_also_the_assignee_does_both_parts() {
        let mine = Opportunity {
            status: Status::Developing,
            created_by: BOSS,
            assignee: Some(BOSS),
        };
        assert_eq!(
            mine.actions(user(BOSS)),
            vec![
                Action::Assign,
                Action::Plan,
                Action::Record,
                Action::Succeed,
                Action::Fail
            ]
        );
    }

    #[test]
    fn statuses_round_trip_by_code() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert_eq!(Status::from_code("won"), None);
    }
}
