//! The service workflow (服务管理: 创建 → 分配 → 处理 → 反馈 → 归档) and the complaint's steps
//! (投诉处理). [`Service::allows`] answers every question the store, the pages and the API
//! ask before they change a service; [`next_step`] says which complaint step comes next. The
//! rules live here only.
//!
//! ```text
//!  new ──assign──▶ assigned ──handle──▶ handled ──feedback ≥ 3──▶ archived (read-only)
//!   │ edit          │ reassign ▲                    │
//!   │               │ steps    └──feedback < 3──────┘ (back to the same handler)
//! ```
//!
//! Who: a holder of `service.write` creates; the creator or a supervisor (a holder of
//! `service.assign`) edits while new; a supervisor assigns and reassigns until it is handled;
//! the assignee records the complaint's steps and the handling, the supervisor approves a
//! complaint's resolution; the creator or a supervisor records the customer's feedback. A
//! refusal says which rule: the state (409, with the reason) or the person (403).

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Where a service stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Assigned,
    Handled,
    Archived,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::New,
        Status::Assigned,
        Status::Handled,
        Status::Archived,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Assigned => "assigned",
            Status::Handled => "handled",
            Status::Archived => "archived",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Still waiting for someone of ours (new or in handling): what can be overdue.
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Assigned)
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    /// A status by its code (`assigned`), as lists' filters carry it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s.trim()).ok_or_else(|| {
            let codes: Vec<&str> = Self::ALL.iter().map(|s| s.code()).collect();
            format!("expected one of {}", codes.join(", "))
        })
    }
}

/// What someone wants to do to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Change its fields (while new).
    Edit,
    /// Give it to a handler (again).
    Assign,
    /// Record a step of a complaint's handling.
    Step,
    /// Write how it was handled.
    Handle,
    /// Record the result and the customer's satisfaction.
    Feedback,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Edit,
        Action::Assign,
        Action::Step,
        Action::Handle,
        Action::Feedback,
    ];

    /// The stable name clients and pages see (`assign`, `feedback` …).
    pub const fn code(self) -> &'static str {
        match self {
            Action::Edit => "edit",
            Action::Assign => "assign",
            Action::Step => "step",
            Action::Handle => "handle",
            Action::Feedback => "feedback",
        }
    }
}

/// Who is acting: their id, and whether they supervise service (hold `service.assign`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub supervisor: bool,
}

/// What the rules need to know of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub status: Status,
    pub created_by: i64,
    pub assignee: Option<i64>,
    /// A complaint (type `complaint`): it has steps, and is handled only when they are done.
    pub complaint: bool,
}

/// The lowest satisfaction that archives a service; below it goes back to handling.
pub const SATISFIED: u8 = 3;

impl Service {
    /// The status `action` by `actor` leads to, or why it may not be done. The person is
    /// checked first: someone who may not act on the service at all learns nothing of its
    /// state. For [`Action::Feedback`] it is the satisfied outcome ([`Status::Archived`]);
    /// [`Service::feedback`] gives the one for a satisfaction. For [`Action::Step`] on a
    /// complaint, a step's own rules (order, approval by a supervisor) are [`check_step`]'s.
    pub fn allows(&self, action: Action, actor: Actor) -> Result<Status, DomainError> {
        use Action::*;
        use Status::*;
        let creator = actor.user_id == self.created_by;
        let assignee = self.assignee == Some(actor.user_id);
        let person = match action {
            Edit => creator || actor.supervisor,
            Assign => actor.supervisor,
            // The supervisor's own step is the approval of a complaint's resolution.
            Step => assignee || (self.complaint && actor.supervisor),
            Handle => assignee,
            Feedback => creator || actor.supervisor,
        };
        if !person {
            return Err(DomainError::Forbidden);
        }
        let refused = |key: &'static str| Err(DomainError::NotAllowed(key));
        match (action, self.status) {
            (_, Archived) => refused("err-service-archived"),
            (Edit, New) => Ok(New),
            (Edit, _) => refused("err-service-assigned"),
            (Assign, New | Assigned) => Ok(Assigned),
            (Assign, Handled) => refused("err-service-handled"),
            (Step, _) if !self.complaint => refused("err-service-not-complaint"),
            (Step, Assigned) => Ok(Assigned),
            (Handle, Assigned) => Ok(Handled),
            (Step | Handle, New) => refused("err-service-unassigned"),
            (Step | Handle, Handled) => refused("err-service-handled"),
            (Feedback, Handled) => Ok(Archived),
            (Feedback, New | Assigned) => refused("err-service-not-handled"),
        }
    }

    /// The status feedback with `satisfaction` (1–5) by `actor` leads to: archived when
    /// satisfied ([`SATISFIED`] or more), else back to the same handler.
    pub fn feedback(
        &self,
        actor: Actor,
        satisfaction: Satisfaction,
    ) -> Result<Status, DomainError> {
        self.allows(Action::Feedback, actor)?;
        Ok(if satisfaction.0 >= SATISFIED {
            Status::Archived
        } else {
            Status::Assigned
        })
    }

    /// The actions `actor` may take now (the buttons a page shows).
    pub fn actions(&self, actor: Actor) -> Vec<Action> {
        Action::ALL
            .into_iter()
            .filter(|a| self.allows(*a, actor).is_ok())
            .collect()
    }
}

/// The customer's satisfaction, 1 (very unsatisfied) to 5 (very satisfied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Satisfaction(u8);

impl Satisfaction {
    pub fn new(n: i64) -> Result<Self, DomainError> {
        match u8::try_from(n) {
            Ok(v @ 1..=5) => Ok(Self(v)),
            _ => Err(DomainError::field("satisfaction", "err-satisfaction-range")),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A step of a complaint's handling (投诉处理), in the order they are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Whether the complaint stands (受理判断): `accepted` true if it does.
    Validity,
    /// The department responsible (责任部门).
    Department,
    /// Why it happened (原因分析).
    Cause,
    /// What is proposed to resolve it (处理方案).
    Resolution,
    /// The supervisor's decision on the resolution (主管审批): `accepted` true if approved.
    Approval,
    /// Carrying the resolution out, with who is held accountable (实施处理与责任追究).
    Execution,
    /// Summary and evaluation (总结评价).
    Summary,
    /// The customer was not satisfied: handling starts again (recorded by the feedback).
    Reopened,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Validity,
        Step::Department,
        Step::Cause,
        Step::Resolution,
        Step::Approval,
        Step::Execution,
        Step::Summary,
        Step::Reopened,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Step::Validity => "validity",
            Step::Department => "department",
            Step::Cause => "cause",
            Step::Resolution => "resolution",
            Step::Approval => "approval",
            Step::Execution => "execution",
            Step::Summary => "summary",
            Step::Reopened => "reopened",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether the step is a decision (stands or not; approved or not).
    pub const fn decides(self) -> bool {
        matches!(self, Step::Validity | Step::Approval)
    }

    /// Whether a supervisor takes it (the approval) rather than the handler.
    pub const fn by_supervisor(self) -> bool {
        matches!(self, Step::Approval)
    }
}

/// A step as recorded: which, and its decision for [`Step::decides`] steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRecord {
    pub step: Step,
    pub accepted: Option<bool>,
}

/// The step a complaint with `log` (oldest first) waits for; `None` when its handling is
/// complete (it may be handled). A complaint that does not stand goes straight to the
/// summary; a rejected resolution is proposed again; a reopened complaint starts again from a
/// new resolution (or from the judgement, if it did not stand).
pub fn next_step(log: &[StepRecord]) -> Option<Step> {
    let mut stands = false;
    let mut next = Some(Step::Validity);
    for r in log {
        let accepted = r.accepted.unwrap_or(false);
        next = match r.step {
            Step::Validity => {
                stands = accepted;
                Some(if accepted {
                    Step::Department
                } else {
                    Step::Summary
                })
            }
            Step::Department => Some(Step::Cause),
            Step::Cause => Some(Step::Resolution),
            Step::Resolution => Some(Step::Approval),
            Step::Approval if accepted => Some(Step::Execution),
            Step::Approval => Some(Step::Resolution),
            Step::Execution => Some(Step::Summary),
            Step::Summary => None,
            Step::Reopened if stands => Some(Step::Resolution),
            Step::Reopened => Some(Step::Validity),
        };
    }
    next
}

/// Whether `actor` may record `step` (with `accepted` for a decision) on a complaint whose
/// steps so far are `log`: it must be the step the complaint waits for, taken by the right
/// person; a decision must say its outcome. [`Step::Reopened`] is recorded by the feedback
/// only.
pub fn check_step(
    log: &[StepRecord],
    step: Step,
    accepted: Option<bool>,
    actor: Actor,
    assignee: bool,
) -> Result<(), DomainError> {
    if step == Step::Reopened {
        return Err(DomainError::field("step", "err-step-unknown"));
    }
    let person = if step.by_supervisor() {
        actor.supervisor
    } else {
        assignee
    };
    if !person {
        return Err(DomainError::Forbidden);
    }
    match next_step(log) {
        None => return Err(DomainError::NotAllowed("err-complaint-steps-done")),
        Some(want) if want != step => {
            return Err(DomainError::NotAllowed("err-complaint-step-order"));
        }
        Some(_) => {}
    }
    if step.decides() && accepted.is_none() {
        return Err(DomainError::field("accepted", "err-required"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATOR: i64 = 1;
    const HANDLER: i64 = 2;
    const OTHER: i64 = 3;
    const BOSS: i64 = 4;

    fn user(id: i64) -> Actor {
        Actor {
            user_id: id,
            supervisor: id == BOSS,
        }
    }

    fn in_status(status: Status, complaint: bool) -> Service {
        Service {
            status,
            created_by: CREATOR,
            assignee: (status != Status::New).then_some(HANDLER),
            complaint,
        }
    }

    fn why(e: DomainError) -> String {
        match e {
            DomainError::NotAllowed(key) => key.to_owned(),
            DomainError::Forbidden => "forbidden".to_owned(),
            DomainError::Invalid(f) => f[0].code.clone(),
            other => format!("{other:?}"),
        }
    }

    fn outcome(
        status: Status,
        complaint: bool,
        action: Action,
        who: i64,
    ) -> Result<Status, String> {
        in_status(status, complaint)
            .allows(action, user(who))
            .map_err(why)
    }

    /// The whole table: every state × action × person that matters, written out, so a change
    /// to a rule is a change here that a reviewer sees.
    #[test]
    fn every_transition_and_refusal() {
        use Action::*;
        use Status::*;
        let ok = |s: Status| Ok::<Status, String>(s);
        let no = |k: &str| Err::<Status, String>(k.to_owned());
        let forbidden = || no("forbidden");
        type Case = (Status, bool, Action, i64, Result<Status, String>);
        let cases: Vec<Case> = vec![
            // New: the creator or a supervisor edits; a supervisor assigns.
            (New, false, Edit, CREATOR, ok(New)),
            (New, false, Edit, BOSS, ok(New)),
            (New, false, Edit, OTHER, forbidden()),
            (New, false, Assign, BOSS, ok(Assigned)),
            (New, false, Assign, CREATOR, forbidden()),
            (New, false, Handle, BOSS, forbidden()),
            (New, true, Step, BOSS, no("err-service-unassigned")),
            (New, false, Feedback, CREATOR, no("err-service-not-handled")),
            // Assigned: fixed; the handler handles; a supervisor may reassign.
            (Assigned, false, Edit, CREATOR, no("err-service-assigned")),
            (Assigned, false, Assign, BOSS, ok(Assigned)),
            (Assigned, false, Assign, HANDLER, forbidden()),
            (Assigned, false, Handle, HANDLER, ok(Handled)),
            (Assigned, false, Handle, BOSS, forbidden()),
            (Assigned, false, Handle, CREATOR, forbidden()),
            (
                Assigned,
                false,
                Step,
                HANDLER,
                no("err-service-not-complaint"),
            ),
            (Assigned, true, Step, HANDLER, ok(Assigned)),
            (Assigned, true, Step, BOSS, ok(Assigned)),
            (Assigned, true, Step, CREATOR, forbidden()),
            (
                Assigned,
                false,
                Feedback,
                BOSS,
                no("err-service-not-handled"),
            ),
            // Handled: waiting for the customer's word, from the creator or a supervisor.
            (Handled, false, Feedback, CREATOR, ok(Archived)),
            (Handled, false, Feedback, BOSS, ok(Archived)),
            (Handled, false, Feedback, HANDLER, forbidden()),
            (Handled, false, Assign, BOSS, no("err-service-handled")),
            (Handled, false, Handle, HANDLER, no("err-service-handled")),
            (Handled, true, Step, HANDLER, no("err-service-handled")),
            (Handled, false, Edit, BOSS, no("err-service-assigned")),
        ];
        for (status, complaint, action, who, want) in cases {
            assert_eq!(
                outcome(status, complaint, action, who),
                want,
                "{status:?} complaint={complaint} {action:?} by {who}"
            );
        }
        // Archived is read-only, for everyone who may otherwise act.
        for complaint in [false, true] {
            for action in Action::ALL {
                for who in [CREATOR, HANDLER, BOSS] {
                    let got = outcome(Archived, complaint, action, who);
                    assert!(
                        got == no("err-service-archived") || got == forbidden(),
                        "{action:?} by {who}: {got:?}"
                    );
                }
            }
            assert_eq!(
                outcome(Archived, complaint, Feedback, BOSS),
                no("err-service-archived")
            );
        }
    }

    #[test]
    fn feedback_archives_when_satisfied_and_sends_back_when_not() {
        let handled = in_status(Status::Handled, false);
        for (n, want) in [
            (1, Status::Assigned),
            (2, Status::Assigned),
            (3, Status::Archived),
            (4, Status::Archived),
            (5, Status::Archived),
        ] {
            let s = Satisfaction::new(n).unwrap_or_else(|e| unreachable!("{n}: {e:?}"));
            assert_eq!(
                handled.feedback(user(CREATOR), s).map_err(why),
                Ok(want),
                "{n}"
            );
        }
        let s = Satisfaction::new(5).unwrap_or_else(|e| unreachable!("{e:?}"));
        assert_eq!(
            in_status(Status::Assigned, false)
                .feedback(user(CREATOR), s)
                .map_err(why),
            Err("err-service-not-handled".to_owned())
        );
    }

    #[test]
    fn satisfaction_is_one_to_five() {
        for bad in [0, 6, -1, 300] {
            assert_eq!(
                Satisfaction::new(bad).map_err(why),
                Err("err-satisfaction-range".to_owned()),
                "{bad}"
            );
        }
        assert_eq!(Satisfaction::new(1).map(Satisfaction::get).ok(), Some(1));
    }

    #[test]
    fn the_buttons_follow_the_rules() {
        use Action::*;
        assert_eq!(
            in_status(Status::New, false).actions(user(BOSS)),
            vec![Edit, Assign]
        );
        assert_eq!(
            in_status(Status::New, false).actions(user(CREATOR)),
            vec![Edit]
        );
        assert_eq!(
            in_status(Status::Assigned, false).actions(user(HANDLER)),
            vec![Handle]
        );
        assert_eq!(
            in_status(Status::Assigned, true).actions(user(HANDLER)),
            vec![Step, Handle]
        );
        assert_eq!(
            in_status(Status::Assigned, true).actions(user(BOSS)),
            vec![Assign, Step]
        );
        assert_eq!(
            in_status(Status::Handled, false).actions(user(CREATOR)),
            vec![Feedback]
        );
        for who in [CREATOR, HANDLER, OTHER, BOSS] {
            assert!(
                in_status(Status::Archived, true)
                    .actions(user(who))
                    .is_empty()
            );
        }
    }

    fn rec(step: Step, accepted: Option<bool>) -> StepRecord {
        StepRecord { step, accepted }
    }

    #[test]
    fn a_complaint_that_stands_takes_every_step_in_order() {
        use Step::*;
        let mut log = Vec::new();
        for (step, accepted) in [
            (Validity, Some(true)),
            (Department, None),
            (Cause, None),
            (Resolution, None),
            (Approval, Some(true)),
            (Execution, None),
            (Summary, None),
        ] {
            assert_eq!(next_step(&log), Some(step), "after {log:?}");
            log.push(rec(step, accepted));
        }
        assert_eq!(next_step(&log), None);
    }

    #[test]
    fn a_complaint_that_does_not_stand_goes_to_its_summary() {
        use Step::*;
        let log = [rec(Validity, Some(false))];
        assert_eq!(next_step(&log), Some(Summary));
        assert_eq!(
            next_step(&[rec(Validity, Some(false)), rec(Summary, None)]),
            None
        );
    }

    #[test]
    fn a_rejected_resolution_is_proposed_again_and_a_reopened_complaint_starts_over() {
        use Step::*;
        let mut log = vec![
            rec(Validity, Some(true)),
            rec(Department, None),
            rec(Cause, None),
            rec(Resolution, None),
            rec(Approval, Some(false)),
        ];
        assert_eq!(next_step(&log), Some(Resolution));
        log.extend([
            rec(Resolution, None),
            rec(Approval, Some(true)),
            rec(Execution, None),
            rec(Summary, None),
            rec(Reopened, None),
        ]);
        assert_eq!(
            next_step(&log),
            Some(Resolution),
            "it stood: a new resolution"
        );
        let not = [
            rec(Validity, Some(false)),
            rec(Summary, None),
            rec(Reopened, None),
        ];
        assert_eq!(next_step(&not), Some(Validity), "judged again");
    }

    #[test]
    fn steps_are_taken_in_order_by_their_people() {
        use Step::*;
        let log = [
            rec(Validity, Some(true)),
            rec(Department, None),
            rec(Cause, None),
            rec(Resolution, None),
        ];
        let check = |step, accepted, who: i64| {
            check_step(&log, step, accepted, user(who), who == HANDLER).map_err(why)
        };
        assert_eq!(check(Approval, Some(true), BOSS), Ok(()));
        assert_eq!(
            check(Approval, Some(true), HANDLER),
            Err("forbidden".into())
        );
        assert_eq!(check(Approval, None, BOSS), Err("err-required".into()));
        assert_eq!(
            check(Execution, None, HANDLER),
            Err("err-complaint-step-order".into())
        );
        assert_eq!(
            check(Reopened, None, HANDLER),
            Err("err-step-unknown".into())
        );
        let first = check_step(&[], Validity, None, user(HANDLER), true).map_err(why);
        assert_eq!(
            first,
            Err("err-required".into()),
            "stands or not must be said"
        );
        let done = [rec(Validity, Some(false)), rec(Summary, None)];
        assert_eq!(
            check_step(&done, Summary, None, user(HANDLER), true).map_err(why),
            Err("err-complaint-steps-done".into())
        );
    }

    #[test]
    fn codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        for s in Step::ALL {
            assert_eq!(Step::from_code(s.code()), Some(s));
        }
        assert_eq!(Status::from_code("closed"), None);
    }
}
