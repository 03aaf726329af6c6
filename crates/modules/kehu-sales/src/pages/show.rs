//! The opportunity page: its fields, status and people, the development plan (items by date,
//! overdue ones marked, each with its result or the form to record it), the forms of the
//! actions the user may take now (assign, add a plan item, succeed, fail, delete: the
//! workflow's `actions`), and its history. Each action's form posts here; a field error, the
//! workflow's refusal (409, its reason) or a stale version shows the page again with that
//! form's message. A success that meets existing customers lists them, each with "link this
//! customer instead".

use std::collections::HashMap;
use std::sync::Mutex;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use kehu_customers::domain::kinds;
use kehu_domain::{DomainError, Principal};
use kehu_store::StoreResult;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::{CsrfForm, Ctx};
use kehu_web::error::PageError;
use kehu_web::history;
use kehu_web::i18n::Tr;
use kehu_web::labels::Labels;
use kehu_web::pages::{SavedQuery, opt_i64};
use kehu_web::record::{self, Versioned};
use kehu_web::views::{Chrome, FormErrors, Opt, field_label, when};
use serde::Deserialize;

use super::{People, acting, amount_text, answer, customers, status_label};
use crate::domain::{Action, PlanItemDraft, PlanItemInput, REASON_MAX, RESULT_MAX, required_text};
use crate::need;
use crate::store::{Acting, Opportunity, OpportunityStore, Won};

/// How many history entries the page shows.
const HISTORY_LATEST: u64 = 50;

/// One field of the opportunity: its label and value as shown.
struct Field {
    label: String,
    value: String,
}

/// A plan item as shown.
struct Item {
    id: i64,
    date: String,
    todo: String,
    result: Option<String>,
    overdue: bool,
    version: i32,
}

/// What the user may do now (the workflow's answer).
#[derive(Default)]
struct Can {
    edit: bool,
    delete: bool,
    assign: bool,
    plan: bool,
    record: bool,
    succeed: bool,
    fail: bool,
}

impl Can {
    fn of(actions: &[Action]) -> Self {
        let has = |a| actions.contains(&a);
        Self {
            edit: has(Action::Edit),
            delete: has(Action::Delete),
            assign: has(Action::Assign),
            plan: has(Action::Plan),
            record: has(Action::Record),
            succeed: has(Action::Succeed),
            fail: has(Action::Fail),
        }
    }

    fn any_step(&self) -> bool {
        self.assign || self.succeed || self.fail
    }
}

/// The page's action forms as entered, and the errors of the one that came back.
#[derive(Default)]
pub(super) struct Forms {
    /// Which form came back: `assign`, `plan`, `record`, `succeed`, `fail` or `delete`.
    which: &'static str,
    errors: FormErrors,
    assignee_id: String,
    plan: PlanItemInput,
    /// The plan item whose result came back, and the result entered.
    record_item: i64,
    result: String,
    reason: String,
    /// Customers with the prospect's name or phone, when "won" met them (id, code, name).
    exists: Vec<(i64, String, String)>,
}

#[derive(Template)]
#[template(path = "sales/show.html")]
struct ShowPage {
    c: Chrome,
    o: Opportunity,
    status: String,
    facts: Vec<Field>,
    /// The customer it became or was linked to (id, name).
    customer: Option<(i64, String)>,
    items: Vec<Item>,
    can: Can,
    assignees: Vec<Opt>,
    f: Forms,
    history: Vec<history::Change>,
    saved: bool,
}

impl ShowPage {
    /// The error of `field` when form `which` came back.
    fn err(&self, which: &str, field: &str) -> Option<&str> {
        (self.f.which == which)
            .then(|| self.f.errors.get(field))
            .flatten()
    }

    /// The result entered for plan item `id`, when its form came back.
    fn result_of(&self, id: &i64) -> &str {
        if self.f.which == "record" && self.f.record_item == *id {
            &self.f.result
        } else {
            ""
        }
    }

    fn record_err(&self, id: &i64) -> Option<&str> {
        (self.f.record_item == *id)
            .then(|| self.err("record", "result"))
            .flatten()
    }
}

/// What the history needs to show values by their names.
struct Names<'a> {
    sources: &'a Labels,
    people: &'a People,
    /// The plan items' to-dos by id.
    todos: HashMap<String, String>,
    /// The customer it became (id, name).
    customer: Option<(i64, String)>,
}

/// A field's label in the history: the opportunity's own words where the shared label means
/// something else (`date` is an order's elsewhere, `owner_id` an account manager).
fn label(tr: &Tr, field: &str) -> String {
    let key = match field {
        "date" => "opportunity-plan-date",
        "owner_id" => "opportunity-owner",
        "source" => "opportunity-source",
        "contact_name" => "opportunity-contact-name",
        "description" => "opportunity-description",
        "customer_id" => "opportunity-customer",
        "failure_reason" => "field-reason",
        other => return field_label(tr, other),
    };
    tr.t(key)
}

/// The history shows the status, the source and people by their names; a plan item's
/// entries name it by its to-do.
impl history::Names for Names<'_> {
    fn entity(&self) -> &str {
        "opportunity"
    }

    fn label(&self, tr: &Tr, field: &str) -> String {
        label(tr, field)
    }

    fn shown(&self, tr: &Tr, field: &str, s: String) -> String {
        match field {
            "status" => status_label(tr, &s),
            "source" => self.sources.of(kinds::SOURCE, Some(&s)),
            "customer_id" => match &self.customer {
                Some((id, name)) if id.to_string() == s => name.clone(),
                _ => format!("#{s}"),
            },
            "owner_id" | "assignee_id" => s
                .parse()
                .ok()
                .and_then(|id| self.people.name(id))
                .map_or(s, str::to_owned),
            _ => s,
        }
    }

    fn named(&self, _entity: &str, id: &str) -> Option<String> {
        self.todos.get(id).cloned()
    }

    fn hidden(&self, field: &str) -> bool {
        field == "opportunity_id"
    }
}

/// The opportunity's fields that have a value.
fn facts(tr: &Tr, sources: &Labels, people: &People, o: &Opportunity) -> Vec<Field> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows: Vec<(&str, String)> = vec![
        ("field-prospect-name", o.prospect_name.clone()),
        (
            "opportunity-source",
            sources.of(kinds::SOURCE, o.source.as_deref()),
        ),
        ("field-success-rate", format!("{}%", o.success_rate)),
        (
            "field-expected-amount",
            amount_text(o.expected_amount, &o.currency),
        ),
        (
            "field-expected-close-date",
            o.expected_close_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ),
        ("opportunity-contact-name", text(&o.contact_name)),
        ("field-contact-phone", text(&o.contact_phone)),
        ("opportunity-owner", o.owner_name.clone()),
        (
            "opportunity-created-by",
            o.created_by
                .and_then(|id| people.name(id))
                .unwrap_or_default()
                .to_owned(),
        ),
        ("opportunity-created-at", when(tr, &o.created_at)),
        (
            "opportunity-assigned-at",
            o.assigned_at.map(|t| when(tr, &t)).unwrap_or_default(),
        ),
        (
            "opportunity-closed-at",
            o.closed_at.map(|t| when(tr, &t)).unwrap_or_default(),
        ),
        ("field-reason", text(&o.failure_reason)),
    ];
    rows.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(label, value)| Field {
            label: tr.t(label),
            value,
        })
        .collect()
}

/// The opportunity page, with `f` as entered (and its errors) after a failed action.
pub(super) async fn page(
    state: &AppState,
    ctx: &Ctx,
    user: &Principal,
    id: i64,
    mut f: Forms,
    saved: bool,
) -> Result<Response, PageError> {
    let store = crate::opportunities(state);
    let scope = user.owner_filter();
    let o = store.get(scope, id).await?;
    let plan = store.plan(scope, id).await?;
    let ids: Vec<i64> = plan.iter().map(|i| i.id).collect();
    let entries = state
        .store
        .audit
        .latest_of(
            &[("opportunity", &[id]), ("plan_item", &ids)],
            HISTORY_LATEST,
        )
        .await?;
    let (sources, people) = (
        Labels::load(state, ctx.tr.lang, &[kinds::SOURCE]).await?,
        People::load(state).await?,
    );
    let customer = match o.customer_id {
        Some(cid) => {
            let name = customers(state).get(scope, cid).await.map(|c| c.name);
            Some((cid, name.unwrap_or_else(|_| format!("#{cid}"))))
        }
        None => None,
    };
    let c = Chrome::new(ctx, "/opportunities");
    let tr = c.tr;
    let today = store.today();
    let names = Names {
        sources: &sources,
        people: &people,
        todos: plan
            .iter()
            .map(|i| (i.id.to_string(), i.todo.clone()))
            .collect(),
        customer: customer.clone(),
    };
    let history = entries
        .iter()
        .map(|e| history::change(&tr, &names, e))
        .collect();
    let items = plan
        .iter()
        .map(|i| Item {
            id: i.id,
            date: i.date.to_string(),
            todo: i.todo.clone(),
            result: i.result.clone(),
            overdue: i.is_overdue(today),
            version: i.version,
        })
        .collect();
    let can = Can::of(&o.actions(&acting(user, ctx)));
    if f.plan.date.is_empty() && f.which != "plan" {
        f.plan.date = today.to_string();
    }
    let assignees = if can.assign {
        let current = if f.assignee_id.is_empty() {
            o.assignee_id.map(|a| a.to_string()).unwrap_or_default()
        } else {
            f.assignee_id.clone()
        };
        people.assignees(&current)
    } else {
        Vec::new()
    };
    let p = ShowPage {
        status: status_label(&tr, &o.status),
        facts: facts(&tr, &sources, &people, &o),
        customer,
        items,
        can,
        assignees,
        history,
        saved,
        o,
        f,
        c,
    };
    answer(&p, &p.f.errors)
}

pub(super) async fn show(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Opportunities>,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    page(&state, &ctx, &user, id, Forms::default(), q.saved.is_some()).await
}

/// Where an action form was posted: opportunity `id`'s page, for `user`.
struct At<'a> {
    state: &'a AppState,
    ctx: Ctx,
    user: &'a Principal,
    id: i64,
}

impl<'a> At<'a> {
    fn new(state: &'a AppState, ctx: Ctx, user: &'a Principal, id: i64) -> Self {
        Self {
            state,
            ctx,
            user,
            id,
        }
    }

    /// The store, and the user acting.
    fn tools(&self) -> (OpportunityStore, Acting) {
        (
            crate::opportunities(self.state),
            acting(self.user, &self.ctx),
        )
    }
}

/// Runs the page's action form `f.which` (see `kehu_web::record::act`): the page again with
/// the form's errors when it is not saved.
async fn act<I, T>(
    at: At<'_>,
    f: Forms,
    parsed: Result<I, DomainError>,
    save: impl AsyncFnOnce(I) -> StoreResult<T>,
    to: String,
) -> Result<Response, PageError> {
    let At {
        state,
        ctx,
        user,
        id,
    } = at;
    record::act(ctx.tr, parsed, save, to, |errors: FormErrors| async move {
        page(state, &ctx, user, id, Forms { errors, ..f }, false).await
    })
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
    PageGranted { user, ctx, .. }: PageGranted<need::OpportunityAssign>,
    Path(id): Path<i64>,
    CsrfForm(a): CsrfForm<AssignForm>,
) -> Result<Response, PageError> {
    let at = At::new(&state, ctx, &user, id);
    let assignee = match opt_i64(&Some(a.assignee_id.clone())) {
        Some(to) => state.store.users.principal(to).await?,
        None => None,
    };
    let parsed = assignee.ok_or_else(|| DomainError::field("assignee_id", "err-required"));
    let (store, who) = at.tools();
    let version = a.v.version();
    let f = Forms {
        which: "assign",
        assignee_id: a.assignee_id,
        ..Forms::default()
    };
    let save = async |p: Principal| store.assign(&who, id, &p, version).await;
    let to = format!("/opportunities/{id}");
    act(at, f, parsed, save, to).await
}

pub(super) async fn add_plan_item(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::PlanWrite>,
    Path(id): Path<i64>,
    CsrfForm(input): CsrfForm<PlanItemInput>,
) -> Result<Response, PageError> {
    let at = At::new(&state, ctx, &user, id);
    let parsed = PlanItemDraft::parse(&input);
    let (store, who) = at.tools();
    let f = Forms {
        which: "plan",
        plan: input,
        ..Forms::default()
    };
    let save = async |d: PlanItemDraft| store.add_plan_item(&who, id, &d).await;
    let to = format!("/opportunities/{id}#plan");
    act(at, f, parsed, save, to).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ResultForm {
    result: String,
    #[serde(flatten)]
    v: Versioned,
}

pub(super) async fn record_result(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::PlanWrite>,
    Path((id, item_id)): Path<(i64, i64)>,
    CsrfForm(r): CsrfForm<ResultForm>,
) -> Result<Response, PageError> {
    let at = At::new(&state, ctx, &user, id);
    let parsed = required_text("result", &r.result, RESULT_MAX);
    let (store, who) = at.tools();
    let version = r.v.version().unwrap_or(0);
    let f = Forms {
        which: "record",
        record_item: item_id,
        result: r.result,
        ..Forms::default()
    };
    let save = async |text: String| store.record_result(&who, id, item_id, &text, version).await;
    let to = format!("/opportunities/{id}#plan");
    act(at, f, parsed, save, to).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SucceedForm {
    /// An existing customer to link instead of creating one.
    link_customer_id: String,
    #[serde(flatten)]
    v: Versioned,
}

pub(super) async fn succeed(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Opportunities>,
    Path(id): Path<i64>,
    CsrfForm(s): CsrfForm<SucceedForm>,
) -> Result<Response, PageError> {
    let at = At::new(&state, ctx.clone(), &user, id);
    let (store, who) = at.tools();
    let version = s.v.version();
    let link = opt_i64(&Some(s.link_customer_id));
    // Customers in the way: the page lists them instead of a plain refusal.
    let exists = Mutex::new(Vec::new());
    let save = async |()| match store.succeed(&who, id, link, version).await? {
        Won::Closed(o) => Ok(o),
        Won::Exists(found) => {
            if let Ok(mut slot) = exists.lock() {
                *slot = found;
            }
            Err(DomainError::NotAllowed("err-customer-exists").into())
        }
    };
    let f = Forms {
        which: "succeed",
        ..Forms::default()
    };
    let to = format!("/opportunities/{id}");
    let resp = act(at, f, Ok(()), save, to).await?;
    let found = exists.into_inner().unwrap_or_default();
    match found {
        found if !found.is_empty() => {
            let f = Forms {
                which: "succeed",
                errors: FormErrors {
                    form: Some(ctx.tr.t("err-customer-exists")),
                    ..FormErrors::default()
                },
                exists: found,
                ..Forms::default()
            };
            let mut again = page(&state, &ctx, &user, id, f, false).await?;
            *again.status_mut() = StatusCode::CONFLICT;
            Ok(again)
        }
        _ => Ok(resp),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct FailForm {
    reason: String,
    #[serde(flatten)]
    v: Versioned,
}

pub(super) async fn fail(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Opportunities>,
    Path(id): Path<i64>,
    CsrfForm(r): CsrfForm<FailForm>,
) -> Result<Response, PageError> {
    let at = At::new(&state, ctx, &user, id);
    let parsed = required_text("reason", &r.reason, REASON_MAX);
    let (store, who) = at.tools();
    let version = r.v.version();
    let f = Forms {
        which: "fail",
        reason: r.reason,
        ..Forms::default()
    };
    let save = async |reason: String| store.fail(&who, id, &reason, version).await;
    let to = format!("/opportunities/{id}");
    act(at, f, parsed, save, to).await
}

pub(super) async fn delete(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::OpportunityWrite>,
    Path(id): Path<i64>,
    CsrfForm(v): CsrfForm<Versioned>,
) -> Result<Response, PageError> {
    let at = At::new(&state, ctx, &user, id);
    let (store, who) = at.tools();
    let version = v.version().unwrap_or(0);
    let f = Forms {
        which: "delete",
        ..Forms::default()
    };
    let save = async |()| store.delete(&who, id, version).await;
    let to = "/opportunities".to_owned();
    act(at, f, Ok(()), save, to).await
}
