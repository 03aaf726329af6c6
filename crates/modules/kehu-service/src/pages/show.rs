//! The service page: its fields, status, people and service level targets (overdue in red),
//! the complaint's steps with the form of the one it waits for, the forms of what the user may
//! do now (assign, hand in the handling, record the feedback: the workflow's `actions`) and
//! its timeline (the history of the service and its steps). Each form posts here; a field
//! error, the workflow's refusal (409, its reason) or a stale version shows the page again with
//! that form's message. Opening it marks the user's notices about it read.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::Utc;
use kehu_customers::domain::kinds;
use kehu_domain::{DomainError, Principal, Right};
use kehu_store::audit::AuditEntry;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::{CsrfForm, Ctx};
use kehu_web::error::PageError;
use kehu_web::history::{self, Change, Names};
use kehu_web::i18n::Tr;
use kehu_web::labels::Labels;
use kehu_web::pages::{SavedQuery, opt_i64};
use kehu_web::record::{Versioned, act};
use kehu_web::views::{Chrome, FormErrors, Opt, answer, when};
use serde::Deserialize;

use super::{acting, priority_label, status_label};
use crate::domain::TYPE;
use crate::domain::{
    Action, FeedbackDraft, FeedbackInput, Step, StepDraft, StepInput, StepRecord, next_step, text,
};
use crate::need;
use crate::store::{Due, Service};

/// How many history entries the page shows.
const HISTORY_LATEST: u64 = 50;

struct Field {
    label: String,
    value: String,
}

/// A recorded step as shown.
struct StepRow {
    label: String,
    /// "投诉成立", "驳回" … for a decision.
    decision: String,
    accepted: Option<bool>,
    content: String,
    by: String,
    at: String,
}

/// What the user may do now (the workflow's answer).
#[derive(Default)]
struct Can {
    edit: bool,
    assign: bool,
    handle: bool,
    feedback: bool,
    /// The step the complaint waits for, when the user is the one to take it.
    step: Option<Step>,
}

/// The page's action forms as entered, and the errors of the one that came back.
#[derive(Default)]
pub(super) struct Forms {
    /// Which form came back: `assign`, `step`, `handle` or `feedback`.
    which: &'static str,
    errors: FormErrors,
    assignee_id: String,
    step: StepInput,
    handling: String,
    feedback: FeedbackInput,
}

#[derive(Template)]
#[template(path = "service/show.html")]
struct ShowPage {
    c: Chrome,
    s: Service,
    kind: String,
    status: String,
    priority: String,
    /// `overdue`, `due-soon` or empty.
    due: &'static str,
    facts: Vec<Field>,
    steps: Vec<StepRow>,
    complaint: bool,
    /// The step it waits for, labelled (none when complete).
    next: Option<(Step, String)>,
    can: Can,
    handlers: Vec<Opt>,
    f: Forms,
    history: Vec<Change>,
    saved: bool,
}

impl ShowPage {
    /// The error of `field` when form `which` came back.
    fn err(&self, which: &str, field: &str) -> Option<&str> {
        (self.f.which == which)
            .then(|| self.f.errors.get(field))
            .flatten()
    }

    fn decides(&self) -> bool {
        self.can.step.is_some_and(Step::decides)
    }

    /// The labels of a decision's two answers for the step waited for.
    fn answers(&self) -> (String, String) {
        let (yes, no) = match self.can.step {
            Some(Step::Validity) => ("service-step-stands", "service-step-not-stands"),
            _ => ("service-step-approved", "service-step-rejected"),
        };
        (self.c.t(yes), self.c.t(no))
    }
}

fn step_label(tr: &Tr, step: &str) -> String {
    tr.t(&format!("service-step-{step}"))
}

/// What the timeline needs to show values by their names.
struct Named<'a> {
    labels: &'a Labels,
    people: &'a [(i64, String)],
    /// The service's customer (id, name).
    customer: (String, &'a str),
    /// Its steps' names by id, for their entries in the timeline.
    steps: Vec<(String, String)>,
}

impl Names for Named<'_> {
    fn entity(&self) -> &str {
        "service"
    }

    fn label(&self, tr: &Tr, field: &str) -> String {
        let key = match field {
            "service_type" => "service-type",
            "title" => "service-title",
            "channel" => "service-channel",
            "request" => "service-request",
            "priority" => "service-priority",
            "assignee_id" => "service-assignee",
            "handling" => "service-handling",
            "result" => "service-result",
            "satisfaction" => "service-satisfaction",
            "respond_due_at" => "service-respond-due",
            "resolve_due_at" => "service-resolve-due",
            "step" => "service-steps",
            "content" => "service-step-content",
            "contact_id" => "service-contact",
            "customer_id" => "service-customer",
            "number" => "service-number",
            "accepted" => "service-step-decision",
            "responded_at" => "service-responded-at",
            other => return kehu_web::views::field_label(tr, other),
        };
        tr.t(key)
    }

    fn shown(&self, tr: &Tr, field: &str, value: String) -> String {
        match field {
            "status" => status_label(tr, &value),
            "priority" => priority_label(tr, &value),
            "service_type" => self.labels.of(TYPE, Some(&value)),
            "channel" => self.labels.of(kinds::CHANNEL, Some(&value)),
            "step" => step_label(tr, &value),
            "assignee_id" => value
                .parse::<i64>()
                .ok()
                .and_then(|id| self.people.iter().find(|(i, _)| *i == id))
                .map_or(value, |(_, n)| n.clone()),
            "customer_id" if value == self.customer.0 => self.customer.1.to_owned(),
            "respond_due_at" | "resolve_due_at" | "responded_at" => {
                chrono::DateTime::parse_from_rfc3339(&value)
                    .map(|t| when(tr, &t.to_utc()))
                    .unwrap_or(value)
            }
            _ => value,
        }
    }

    fn named(&self, _entity: &str, id: &str) -> Option<String> {
        self.steps
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, name)| name.clone())
    }

    fn hidden(&self, field: &str) -> bool {
        field == "service_id"
    }
}

/// The service's fields that have a value.
fn facts(tr: &Tr, labels: &Labels, s: &Service) -> Vec<Field> {
    let t = |v: Option<chrono::DateTime<Utc>>| v.map(|t| when(tr, &t)).unwrap_or_default();
    let rows: Vec<(&str, String)> = vec![
        ("service-number", s.number.clone()),
        (
            "service-channel",
            s.channel
                .as_deref()
                .map(|c| labels.of(kinds::CHANNEL, Some(c)))
                .unwrap_or_default(),
        ),
        ("service-owner", s.owner_name.clone()),
        ("service-created", when(tr, &s.created_at)),
        (
            "service-assignee",
            s.assignee_name.clone().unwrap_or_default(),
        ),
        ("service-assigned-at", t(s.assigned_at)),
        ("service-respond-due", t(s.respond_due_at)),
        ("service-resolve-due", t(s.resolve_due_at)),
        ("service-handled-at", t(s.handled_at)),
        (
            "service-satisfaction",
            s.satisfaction
                .map(|n| "★".repeat(usize::try_from(n).unwrap_or(0)))
                .unwrap_or_default(),
        ),
        ("service-feedback-at", t(s.feedback_at)),
        ("service-archived-at", t(s.archived_at)),
    ];
    rows.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(label, value)| Field {
            label: tr.t(label),
            value,
        })
        .collect()
}

/// The service page, with `f` as entered (and its errors) after a failed action.
pub(super) async fn page(
    state: &AppState,
    ctx: &Ctx,
    user: &Principal,
    id: i64,
    f: Forms,
    saved: bool,
) -> Result<Response, PageError> {
    let store = crate::services(state);
    let scope = user.owner_filter();
    let s = store.get(scope, id).await?;
    let rows = store.steps_of_found(scope, id).await?;
    if ctx.notices > 0 {
        state
            .store
            .inbox
            .mark_record_read(user.own_records(), "service", id)
            .await?;
    }
    let step_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let entries: Vec<AuditEntry> = state
        .store
        .audit
        .latest_of(
            &[("service", &[id]), ("service_step", &step_ids)],
            HISTORY_LATEST,
        )
        .await?;
    let labels = Labels::load(state, ctx.tr.lang, &[TYPE, kinds::CHANNEL]).await?;
    let handlers = state.store.users.holding(Right::ServiceHandle, 200).await?;
    let c = Chrome::new(ctx, "/services");
    let tr = c.tr;
    let named = Named {
        labels: &labels,
        people: &handlers,
        customer: (s.customer_id.to_string(), &s.customer_name),
        steps: rows
            .iter()
            .map(|r| (r.id.to_string(), step_label(&tr, &r.step)))
            .collect(),
    };
    let history = entries
        .iter()
        .map(|e| history::change(&tr, &named, e))
        .collect();
    let log: Vec<StepRecord> = rows.iter().map(crate::store::StepRow::record).collect();
    let who = acting(user, ctx);
    let actions = s.actions(&who);
    let complaint = s.is_complaint();
    let waiting = complaint.then(|| next_step(&log)).flatten();
    let assignee = s.assignee_id == Some(user.user_id);
    let step = waiting.filter(|st| {
        actions.contains(&Action::Step)
            && if st.by_supervisor() {
                who.supervisor
            } else {
                assignee
            }
    });
    let can = Can {
        edit: actions.contains(&Action::Edit),
        assign: actions.contains(&Action::Assign),
        handle: actions.contains(&Action::Handle) && waiting.is_none(),
        feedback: actions.contains(&Action::Feedback),
        step,
    };
    let steps = rows
        .iter()
        .map(|r| StepRow {
            label: step_label(&tr, &r.step),
            decision: match (r.step.as_str(), r.accepted) {
                ("validity", Some(true)) => tr.t("service-step-stands"),
                ("validity", Some(false)) => tr.t("service-step-not-stands"),
                ("approval", Some(true)) => tr.t("service-step-approved"),
                ("approval", Some(false)) => tr.t("service-step-rejected"),
                _ => String::new(),
            },
            accepted: r.accepted,
            content: r.content.clone(),
            by: r.created_by_name.clone().unwrap_or_default(),
            at: when(&tr, &r.created_at),
        })
        .collect();
    let current = if f.assignee_id.is_empty() {
        s.assignee_id.map(|a| a.to_string()).unwrap_or_default()
    } else {
        f.assignee_id.clone()
    };
    let p = ShowPage {
        kind: labels.of(TYPE, Some(&s.service_type)),
        status: status_label(&tr, &s.status),
        priority: priority_label(&tr, &s.priority),
        due: match s.due(Utc::now()) {
            Due::Overdue => "overdue",
            Due::DueSoon => "due-soon",
            Due::Met | Due::OnTime => "",
        },
        facts: facts(&tr, &labels, &s),
        steps,
        complaint,
        next: waiting.map(|st| (st, step_label(&tr, st.code()))),
        handlers: if can.assign {
            Opt::list(handlers.clone(), &current)
        } else {
            Vec::new()
        },
        can,
        history,
        saved,
        s,
        f,
        c,
    };
    answer(&p, &p.f.errors)
}

pub(super) async fn show(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Services>,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    page(&state, &ctx, &user, id, Forms::default(), q.saved.is_some()).await
}

/// Runs form `f.which` of service `id`'s page (see `kehu_web::record::act`).
async fn run<I, T>(
    state: &AppState,
    ctx: Ctx,
    user: &Principal,
    id: i64,
    f: Forms,
    parsed: Result<I, DomainError>,
    save: impl AsyncFnOnce(I) -> kehu_store::StoreResult<T>,
) -> Result<Response, PageError> {
    let tr = ctx.tr;
    act(
        tr,
        parsed,
        save,
        format!("/services/{id}"),
        |errors| async move { page(state, &ctx, user, id, Forms { errors, ..f }, false).await },
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AssignForm {
    assignee_id: String,
    #[serde(flatten)]
    v: Versioned,
}

pub(super) async fn assign(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::ServiceAssign>,
    Path(id): Path<i64>,
    CsrfForm(a): CsrfForm<AssignForm>,
) -> Result<Response, PageError> {
    let assignee = match opt_i64(&Some(a.assignee_id.clone())) {
        Some(to) => state.store.users.principal(to).await?,
        None => None,
    };
    let parsed = assignee.ok_or_else(|| DomainError::field("assignee_id", "err-required"));
    let (store, who, version) = (crate::services(&state), acting(&user, &ctx), a.v.version());
    let f = Forms {
        which: "assign",
        assignee_id: a.assignee_id,
        ..Forms::default()
    };
    let save = async |p: Principal| store.assign(&who, id, &p, version).await;
    run(&state, ctx.clone(), &user, id, f, parsed, save).await
}

pub(super) async fn add_step(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Services>,
    Path(id): Path<i64>,
    CsrfForm(input): CsrfForm<StepInput>,
) -> Result<Response, PageError> {
    let parsed = StepDraft::parse(&input);
    let (store, who) = (crate::services(&state), acting(&user, &ctx));
    let f = Forms {
        which: "step",
        step: input,
        ..Forms::default()
    };
    let save = async |d: StepDraft| store.add_step(&who, id, &d).await;
    run(&state, ctx.clone(), &user, id, f, parsed, save).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct HandleForm {
    handling: String,
    #[serde(flatten)]
    v: Versioned,
}

pub(super) async fn handle(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::ServiceHandle>,
    Path(id): Path<i64>,
    CsrfForm(h): CsrfForm<HandleForm>,
) -> Result<Response, PageError> {
    let parsed = text("handling", &h.handling).map_err(DomainError::from);
    let (store, who, version) = (crate::services(&state), acting(&user, &ctx), h.v.version());
    let f = Forms {
        which: "handle",
        handling: h.handling,
        ..Forms::default()
    };
    let save = async |t: String| store.handle(&who, id, &t, version).await;
    run(&state, ctx.clone(), &user, id, f, parsed, save).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct FeedbackForm {
    #[serde(flatten)]
    input: FeedbackInput,
    #[serde(flatten)]
    v: Versioned,
}

pub(super) async fn feedback(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Services>,
    Path(id): Path<i64>,
    CsrfForm(fb): CsrfForm<FeedbackForm>,
) -> Result<Response, PageError> {
    let parsed = FeedbackDraft::parse(&fb.input);
    let (store, who, version) = (crate::services(&state), acting(&user, &ctx), fb.v.version());
    let f = Forms {
        which: "feedback",
        feedback: fb.input,
        ..Forms::default()
    };
    let save = async |d: FeedbackDraft| store.feedback(&who, id, &d, version).await;
    run(&state, ctx.clone(), &user, id, f, parsed, save).await
}
