//! The service store: customers' requests (服务) from creation to archive, and a complaint's
//! steps, in the caller's data scope. A service is its creator's (who took the request) and,
//! once assigned, also its handler's: an account manager sees the ones they entered, a handler
//! those given to them, supervisors all. Every change asks the workflow
//! (`kehu_domain::service`) first, goes through the write kit (version checked, audited) and
//! moves the status in the same statement. New services get their service level targets
//! ([`crate::sla`]) and, when their type says so, a handler ([`crate::acd`]) in the creating
//! transaction.

use chrono::{DateTime, Duration, DurationRound, FixedOffset, NaiveDate, Utc};
use kehu_customers::domain::DictValues;
use kehu_customers::store::{self as customer_store, CustomerStore};
use kehu_domain::policy::OwnerFilter;
use kehu_domain::{DomainError, Principal, Right};
use kehu_store::audit::Actor;
use kehu_store::db::{Db, Tx};
use kehu_store::page::{self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey};
use kehu_store::schema::Users;
use kehu_store::scope::{Acting, OwnedByEither, Scoped};
use kehu_store::write::{self, DayCounter, DependentsCount, Record, Table};
use kehu_store::{StoreError, StoreResult};
use sea_query::{Alias, Expr, ExprTrait, JoinType, SelectStatement, SimpleExpr};
use serde::Serialize;

use crate::domain::{
    Action, COMPLAINT, FeedbackDraft, Priority, ServiceDraft, Status, Step, StepDraft, StepRecord,
};
use crate::schema::{ServiceNumbers, Services};
use crate::steps;
pub use crate::steps::StepRow;
use crate::{acd, sla};

/// The one builder of every statement on `services` except the insert: the owner condition
/// of `scope` (who took it, or its handler) is already in it.
fn services(scope: OwnerFilter) -> Scoped<Services> {
    Scoped::new(
        OwnedByEither {
            table: Services::Table,
            owner: Services::OwnerId,
            also: Services::AssigneeId,
        },
        scope,
    )
}

/// The alias of the customers' labels joined onto a service, and of its handler.
fn cu() -> Alias {
    Alias::new("cu")
}
fn handler() -> Alias {
    Alias::new("handler")
}

/// A service as stored, with its customer's and its people's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Service {
    pub id: i64,
    /// 服务编号, `FW20261207-0001`.
    pub number: String,
    pub service_type: String,
    pub title: String,
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    pub contact_id: Option<i64>,
    pub channel: Option<String>,
    pub request: String,
    pub priority: String,
    pub status: String,
    /// Who took the request.
    pub owner_id: i64,
    pub owner_name: String,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub handling: Option<String>,
    pub handled_by: Option<i64>,
    pub handled_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
    pub satisfaction: Option<i16>,
    pub feedback_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub respond_due_at: Option<DateTime<Utc>>,
    pub resolve_due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// Where a service stands against its service level targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    /// Handled or archived, or no target.
    Met,
    OnTime,
    /// A target is near: within a quarter of the time it allows, at most [`DUE_SOON`].
    DueSoon,
    /// A target has passed with the service still open.
    Overdue,
}

/// The most warning a target gives that it is near.
pub const DUE_SOON: Duration = Duration::hours(2);

impl Service {
    pub fn status(&self) -> Status {
        Status::from_code(&self.status).unwrap_or(Status::New)
    }

    pub fn priority(&self) -> Priority {
        Priority::from_code(&self.priority).unwrap_or(Priority::Normal)
    }

    pub fn is_complaint(&self) -> bool {
        self.service_type == COMPLAINT
    }

    /// What the workflow needs of it (created by the system: by no user).
    pub fn workflow(&self) -> kehu_domain::service::Service {
        kehu_domain::service::Service {
            status: self.status(),
            created_by: self.created_by.unwrap_or(0),
            assignee: self.assignee_id,
            complaint: self.is_complaint(),
        }
    }

    /// The actions `who` may take on it now.
    pub fn actions(&self, who: &Acting) -> Vec<Action> {
        self.workflow().actions(workflow_actor(who))
    }

    /// The targets still to meet: the response while nobody has responded, the resolution
    /// while it is open.
    fn open_targets(&self) -> impl Iterator<Item = DateTime<Utc>> {
        let open = self.status().is_open();
        let respond = self
            .respond_due_at
            .filter(|_| open && self.responded_at.is_none());
        let resolve = self.resolve_due_at.filter(|_| open);
        respond.into_iter().chain(resolve)
    }

    /// Where it stands against its targets at `now`: overdue when one has passed, due soon
    /// when one is within a quarter of the time it allows (at most [`DUE_SOON`]: a two-hour
    /// response is due soon in its last half hour, a day's resolution in its last two hours).
    pub fn due(&self, now: DateTime<Utc>) -> Due {
        let mut due = Due::Met;
        for t in self.open_targets() {
            if t <= now {
                return Due::Overdue;
            }
            let warning = DUE_SOON.min((t - self.created_at) / 4);
            due = if t - now <= warning {
                Due::DueSoon
            } else if due == Due::DueSoon {
                due
            } else {
                Due::OnTime
            };
        }
        due
    }
}

/// The workflow's view of who is acting (the system, acting for nobody, is no user).
fn workflow_actor(who: &Acting) -> kehu_domain::service::Actor {
    kehu_domain::service::Actor {
        user_id: who.user_id(),
        supervisor: who.supervisor,
    }
}

/// Who acts on services: their scope, their name in the audit log, and whether they
/// supervise service (hold `service.assign`).
pub fn acting(user: &Principal, actor: Actor) -> Acting {
    Acting::of(user, actor, Right::ServiceAssign)
}

const COLUMNS: &[Services] = &[
    Services::Id,
    Services::Number,
    Services::ServiceType,
    Services::Title,
    Services::CustomerId,
    Services::ContactId,
    Services::Channel,
    Services::Request,
    Services::Priority,
    Services::Status,
    Services::OwnerId,
    Services::AssigneeId,
    Services::AssignedAt,
    Services::Handling,
    Services::HandledBy,
    Services::HandledAt,
    Services::Result,
    Services::Satisfaction,
    Services::FeedbackAt,
    Services::ArchivedAt,
    Services::RespondedAt,
    Services::RespondDueAt,
    Services::ResolveDueAt,
    Services::CreatedAt,
    Services::CreatedBy,
    Services::UpdatedAt,
    Services::Version,
];

/// Services in `scope` with their customer's code and name and their people's names.
fn select_services(scope: OwnerFilter) -> SelectStatement {
    with_columns(services(scope).select())
}

/// `q` (a select of services) with a service's columns, its customer's code and name and its
/// people's names.
fn with_columns(mut q: SelectStatement) -> SelectStatement {
    q.columns(COLUMNS.iter().map(|c| (Services::Table, *c)))
        .expr_as(
            Expr::col((cu(), Alias::new("code"))),
            Alias::new("customer_code"),
        )
        .expr_as(
            Expr::col((cu(), Alias::new("name"))),
            Alias::new("customer_name"),
        )
        .expr_as(
            Expr::col((Users::Table, Users::DisplayName)),
            Alias::new("owner_name"),
        )
        .expr_as(
            Expr::col((handler(), Users::DisplayName)),
            Alias::new("assignee_name"),
        )
        .join_subquery(
            JoinType::InnerJoin,
            customer_store::labels(),
            cu(),
            Expr::col((cu(), Alias::new("id"))).equals((Services::Table, Services::CustomerId)),
        )
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Services::Table, Services::OwnerId)),
        )
        .join_as(
            JoinType::LeftJoin,
            Users::Table,
            handler(),
            Expr::col((handler(), Users::Id)).equals((Services::Table, Services::AssigneeId)),
        );
    q
}

fn by_id(mut q: SelectStatement, id: i64) -> SelectStatement {
    q.and_where(Expr::col((Services::Table, Services::Id)).eq(id));
    q
}

impl Record for Service {
    type Col = Services;
    const TABLE: Table<Services> = Table {
        table: Services::Table,
        id: Services::Id,
        version: Services::Version,
        created_at: Services::CreatedAt,
        created_by: Services::CreatedBy,
        updated_at: Services::UpdatedAt,
        updated_by: Services::UpdatedBy,
        entity: "service",
        unique: "number",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_services(OwnerFilter::system()), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "number": self.number, "service_type": self.service_type, "title": self.title,
            "customer_id": self.customer_id, "contact_id": self.contact_id,
            "channel": self.channel, "request": self.request, "priority": self.priority,
            "status": self.status, "assignee_id": self.assignee_id,
            "handling": self.handling, "result": self.result,
            "satisfaction": self.satisfaction,
            "respond_due_at": self.respond_due_at, "resolve_due_at": self.resolve_due_at,
            "responded_at": self.responded_at,
        })
    }
}

/// The services in `scope`, for the steps' store to join its table onto.
pub(crate) fn in_scope(scope: OwnerFilter) -> SelectStatement {
    services(scope).select()
}

/// The service's id column, for the join.
pub(crate) fn id_column() -> Expr {
    Expr::col((Services::Table, Services::Id))
}

/// The day counter of service numbers.
const NUMBERS: DayCounter<ServiceNumbers> = DayCounter {
    table: ServiceNumbers::Table,
    day: ServiceNumbers::Day,
    last: ServiceNumbers::Last,
};

/// `FW` + the day + the day's sequence, at least four digits: `FW20261207-0001`.
pub fn service_number(day: NaiveDate, seq: i64) -> String {
    format!("FW{}-{seq:04}", day.format("%Y%m%d"))
}

/// Writes `rows` as they are (their `id`, `number`, names and `updated_at` aside), oldest
/// first, in multi-row inserts: a bulk load written around the workflow (`kehu demo`). Each
/// is numbered on its day in `days` (the same order; numbers reserved from the day counter,
/// so they follow the ones there are), linked into its customer's history, and its creation
/// recorded in the audit log as `actor`'s. Sets each row's `id` and `number`.
pub(crate) async fn insert_many(
    tx: &mut Tx,
    rows: &mut [Service],
    days: &[NaiveDate],
    actor: &Actor,
) -> StoreResult<()> {
    use Services as S;
    if rows.len() != days.len() {
        return Err(anyhow::anyhow!("a bulk-loaded service without its day").into());
    }
    // One reservation for each run of services on the same day.
    let mut at = 0;
    while at < rows.len() {
        let day = days[at];
        let run = days[at..].iter().take_while(|d| **d == day).count();
        let first = write::reserve_of_day(tx, NUMBERS, day, run as i64).await?;
        for (k, s) in rows[at..at + run].iter_mut().enumerate() {
            s.number = service_number(day, first + k as i64);
        }
        at += run;
    }
    let values = rows
        .iter()
        .map(|s| {
            let last = [s.archived_at, s.handled_at, s.responded_at, s.assigned_at]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(s.created_at);
            let last_by = match s.status() {
                Status::Archived => s.created_by,
                Status::Handled => s.handled_by,
                Status::Assigned | Status::New => s.assignee_id.or(s.created_by),
            };
            vec![
                Expr::val(s.number.as_str()),
                Expr::val(s.service_type.as_str()),
                Expr::val(s.title.as_str()),
                Expr::val(s.customer_id),
                Expr::val(s.contact_id),
                Expr::val(s.channel.clone()),
                Expr::val(s.request.as_str()),
                Expr::val(s.priority.as_str()),
                Expr::val(s.status.as_str()),
                Expr::val(s.owner_id),
                Expr::val(s.assignee_id),
                Expr::val(s.assigned_at),
                Expr::val(s.handling.clone()),
                Expr::val(s.handled_by),
                Expr::val(s.handled_at),
                Expr::val(s.result.clone()),
                Expr::val(s.satisfaction),
                Expr::val(s.feedback_at),
                Expr::val(s.archived_at),
                Expr::val(s.responded_at),
                Expr::val(s.respond_due_at),
                Expr::val(s.resolve_due_at),
                Expr::val(s.created_at),
                Expr::val(s.created_by),
                Expr::val(last),
                Expr::val(last_by),
            ]
        })
        .collect();
    // A service's stored columns but its id and version (the database's), and who changed it
    // last.
    let mut columns = COLUMNS[1..COLUMNS.len() - 1].to_vec();
    columns.push(S::UpdatedBy);
    let ids = write::insert_many(tx, S::Table, S::Id, &columns, values).await?;
    for (s, id) in rows.iter_mut().zip(ids) {
        s.id = id;
    }
    let links: Vec<(i64, i64)> = rows.iter().map(|s| (s.customer_id, s.id)).collect();
    kehu_customers::history::link_many(tx, "service", &links).await?;
    let audited: Vec<(i64, serde_json::Value)> =
        rows.iter().map(|s| (s.id, s.snapshot())).collect();
    kehu_store::audit::record_created(tx, actor, Service::TABLE.entity, &audited).await
}

/// The open services: the condition of the partial index `ix_services_open`, word for word
/// (`|| ''` keeps the status indexes out of SQLite's choice, which otherwise reads every open
/// service and its customer to sort them).
const OPEN: &str = "(\"services\".\"status\" || '') IN ('new', 'assigned')";

/// Filters of the service list.
#[derive(Debug, Clone, Default)]
pub struct ServiceFilter {
    pub service_type: Option<String>,
    pub status: Option<Status>,
    /// Several statuses (a stage's page: new and assigned …); `status` narrows further.
    pub statuses: Vec<Status>,
    pub customer_id: Option<i64>,
    pub assignee_id: Option<i64>,
    /// Taken by this user.
    pub owner_id: Option<i64>,
    pub priority: Option<Priority>,
    /// Open with a target passed (`true`), or not overdue (`false`), at [`ServiceFilter::now`].
    pub overdue: Option<bool>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// The moment `overdue` is judged at (now, unless a test says otherwise).
    pub now: Option<DateTime<Utc>>,
}

/// `open and (not responded and respond_due_at <= now, or resolve_due_at <= now)`.
fn overdue_condition(now: DateTime<Utc>) -> Expr {
    let col = |c: Services| Expr::col((Services::Table, c));
    // Written out, not bound: the open services' partial index (`ix_services_open`) is used
    // only for its very condition.
    let open = Expr::cust(OPEN);
    // The moment written out too, as the drivers bind it (RFC 3339, which SQLite compares as
    // text): with no value bound, PostgreSQL plans the statement once per connection and
    // keeps the plan, where for a bound moment it planned every request afresh (1.6 ms of a
    // 2.1 ms page; its plan for any moment reads the whole index).
    let now = || written(now);
    // Never NULL (a service without targets is simply not late), so `NOT` it is the rest.
    let late_response = col(Services::RespondedAt)
        .is_null()
        .and(col(Services::RespondDueAt).is_not_null())
        .and(col(Services::RespondDueAt).lte(now()));
    let late_resolution = col(Services::ResolveDueAt)
        .is_not_null()
        .and(col(Services::ResolveDueAt).lte(now()));
    open.and(late_response.or(late_resolution))
}

/// Moment `t` written into the statement as the drivers bind it (RFC 3339, which SQLite
/// compares as text), not bound: see [`overdue_condition`].
fn written(t: DateTime<Utc>) -> Expr {
    Expr::cust(format!(
        "'{}'",
        t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
    ))
}

/// Now, to the minute.
fn this_minute() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(Duration::minutes(1)).unwrap_or(now)
}

impl ServiceFilter {
    /// Whether it has an index of its own that leaves few of anyone's services: one
    /// customer's, one handler's, the overdue ones (a person's services are a fair share of
    /// all, so their own indexes are the ones to walk for anything else — a status too: the
    /// `(owner, status)` and `(assignee, status)` indexes count it).
    fn narrow(&self) -> bool {
        self.customer_id.is_some() || self.assignee_id.is_some() || self.overdue == Some(true)
    }

    fn apply(&self, q: &mut SelectStatement) {
        let col = |c: Services| Expr::col((Services::Table, c));
        if let Some(t) = self.service_type.as_deref().filter(|s| !s.is_empty()) {
            q.and_where(col(Services::ServiceType).eq(t));
        }
        // Statuses written out, not bound: 98 in 100 services are archived, and PostgreSQL's
        // plan for any bound status (made once, for the average) counted the few assigned
        // ones by reading the whole table. The codes are ours, never a user's text.
        let code = |s: &Status| Expr::cust(format!("'{}'", s.code()));
        if let Some(s) = self.status {
            q.and_where(col(Services::Status).eq(code(&s)));
        }
        if !self.statuses.is_empty() {
            q.and_where(col(Services::Status).is_in(self.statuses.iter().map(code)));
        }
        if let Some(c) = self.customer_id {
            q.and_where(col(Services::CustomerId).eq(c));
        }
        if let Some(a) = self.assignee_id {
            q.and_where(col(Services::AssigneeId).eq(a));
        }
        if let Some(o) = self.owner_id {
            q.and_where(col(Services::OwnerId).eq(o));
        }
        if let Some(p) = self.priority {
            q.and_where(col(Services::Priority).eq(p.code()));
        }
        if let Some(late) = self.overdue {
            // Now to the minute (targets are set in minutes): the same list asked again
            // within it is the same statement, whose count is remembered (`page::CountMemo`).
            let now = self.now.unwrap_or_else(this_minute);
            let c = overdue_condition(now);
            q.and_where(if late { c } else { c.not() });
        }
        if let Some(t) = self.created_from {
            q.and_where(col(Services::CreatedAt).gte(t));
        }
        if let Some(t) = self.created_to {
            q.and_where(col(Services::CreatedAt).lt(t));
        }
    }
}

/// The service list's sorts, each with an index on `(column, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceSort {
    Created,
    /// The resolution target: the most urgent first.
    Due,
}

impl SortKey for ServiceSort {
    const ALL: &'static [Self] = &[ServiceSort::Created, ServiceSort::Due];
    const DEFAULT: Sort<Self> = Sort {
        key: ServiceSort::Created,
        dir: Dir::Desc,
    };

    fn code(self) -> &'static str {
        match self {
            ServiceSort::Created => "created_at",
            ServiceSort::Due => "resolve_due_at",
        }
    }

    fn kind(self) -> KeyKind {
        KeyKind::Time
    }

    fn column(self) -> Expr {
        let c = match self {
            ServiceSort::Created => Services::CreatedAt,
            ServiceSort::Due => Services::ResolveDueAt,
        };
        Expr::col((Services::Table, c))
    }

    fn nullable(self) -> bool {
        matches!(self, ServiceSort::Due)
    }

    fn first_dir(self) -> Dir {
        match self {
            ServiceSort::Due => Dir::Asc,
            ServiceSort::Created => Dir::Desc,
        }
    }
}

impl Keyed<ServiceSort> for Service {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, key: ServiceSort) -> KeyValue {
        match key {
            ServiceSort::Created => KeyValue::Time(self.created_at),
            ServiceSort::Due => self.resolve_due_at.map_or(KeyValue::Null, KeyValue::Time),
        }
    }
}

/// How many services of a user wait for them: assigned to them and not handled (their
/// queue), and handled ones they took that wait for the customer's feedback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub to_handle: u64,
    pub to_feedback: u64,
    /// Of those to handle, how many are overdue.
    pub overdue: u64,
}

/// Services and complaint steps over the application's database; service numbers carry the
/// day in the configured zone.
#[derive(Clone, Debug)]
pub struct ServiceStore {
    db: Db,
    customers: CustomerStore,
}

impl ServiceStore {
    pub fn new(db: Db, utc_offset: FixedOffset) -> Self {
        Self {
            customers: CustomerStore::new(db.clone(), utc_offset),
            db,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A new service for a customer in the creator's scope: numbered, its targets set by the
    /// service level agreement of its type and the customer's level, and given to a handler
    /// when its type is distributed automatically.
    pub async fn create(&self, who: &Acting, d: &ServiceDraft) -> StoreResult<Service> {
        let owner = who.actor.user_id.ok_or(DomainError::Forbidden)?;
        let today = self.customers.today();
        self.db
            .write(async |tx| {
                let customer = match customer_store::get_in(tx, who.scope, d.customer_id).await {
                    Err(StoreError::Domain(DomainError::NotFound)) => {
                        return Err(
                            DomainError::field("customer_id", "err-customer-unknown").into()
                        );
                    }
                    other => other?,
                };
                if let Some(contact) = d.contact_id {
                    let of_customer =
                        contact_customer(tx, who, contact).await? == Some(customer.id);
                    if !of_customer {
                        return Err(DomainError::field("contact_id", "err-contact-unknown").into());
                    }
                }
                let now = Utc::now();
                let targets = sla::targets(tx, &d.service_type, customer.level.as_deref()).await?;
                let seq = write::next_of_day(tx, NUMBERS, today).await?;
                let mut values = vec![
                    (Services::Number, Expr::val(service_number(today, seq))),
                    (Services::ServiceType, Expr::val(d.service_type.as_str())),
                    (Services::Title, Expr::val(d.title.as_str())),
                    (Services::CustomerId, Expr::val(customer.id)),
                    (Services::ContactId, Expr::val(d.contact_id)),
                    (Services::Channel, Expr::val(d.channel.clone())),
                    (Services::Request, Expr::val(d.request.as_str())),
                    (Services::Priority, Expr::val(d.priority.code())),
                    (Services::OwnerId, Expr::val(owner)),
                    (
                        Services::RespondDueAt,
                        Expr::val(targets.map(|t| t.respond_due(now))),
                    ),
                    (
                        Services::ResolveDueAt,
                        Expr::val(targets.map(|t| t.resolve_due(now))),
                    ),
                ];
                let handler = acd::distribute(tx, &d.service_type).await?;
                match handler {
                    Some(h) => values.extend([
                        (Services::Status, Expr::val(Status::Assigned.code())),
                        (Services::AssigneeId, Expr::val(h)),
                        (Services::AssignedAt, Expr::val(now)),
                    ]),
                    None => values.push((Services::Status, Expr::val(Status::New.code()))),
                }
                let s =
                    write::create_at::<Service>(tx, values, &who.actor, now, async |_, _| Ok(()))
                        .await?;
                // Its changes join the customer's history.
                kehu_customers::history::link(tx, customer.id, "service", s.id).await?;
                if let Some(h) = handler {
                    crate::notices::assigned(tx, &s, h).await?;
                }
                Ok(s)
            })
            .await
    }

    /// How many services in `scope` were created in `[from, to)` (either open), by type
    /// (dictionary `service_type`), most first: the service report (客户服务分析).
    pub async fn count_by_type(
        &self,
        scope: OwnerFilter,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<(String, i64)>> {
        let mut q = services(scope)
            .select()
            .expr_as(
                Expr::col((Services::Table, Services::ServiceType)),
                Alias::new("t"),
            )
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .group_by_col((Services::Table, Services::ServiceType))
            .to_owned();
        created_between(&mut q, from, to);
        let mut rows: Vec<(String, i64)> = self.db.fetch_all(&q).await?;
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(rows)
    }

    /// How many services in `scope` were created in `[from, to)` (either open): one range of
    /// the index by creation (the service report's months).
    pub async fn count_created(
        &self,
        scope: OwnerFilter,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<i64> {
        let mut q = services(scope)
            .select()
            .expr(Expr::cust("COUNT(*)"))
            .to_owned();
        created_between(&mut q, from, to);
        let (n,): (i64,) = self.db.fetch_one(&q).await?;
        Ok(n)
    }

    /// How many services in `scope` were created in `[from, to)` (either end open), per
    /// status (the statuses that have any), in the workflow's order: each status one range of
    /// a `(person,) status, created_at` index. The service-level report (统计报表).
    pub async fn count_by_status(
        &self,
        scope: OwnerFilter,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<(String, i64)>> {
        let Some(q) = count_per_status(scope, from, to) else {
            return Ok(Vec::new());
        };
        let rows: Vec<(String, i64)> = self.db.fetch_all(&q).await?;
        Ok(Status::ALL
            .iter()
            .filter_map(|s| {
                let n: i64 = rows
                    .iter()
                    .filter(|(code, _)| code == s.code())
                    .map(|(_, n)| n)
                    .sum();
                (n > 0).then(|| (s.code().to_owned(), n))
            })
            .collect())
    }

    /// How the services in `scope` due in `[from, to)` (either end open) met `target`, judged
    /// at `now`: due, met, late and not yet due. One range of a `(person,) due time` index.
    /// The service-level report's attainment.
    pub async fn attainment(
        &self,
        scope: OwnerFilter,
        target: Target,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Attainment> {
        let Some(q) = attainment_of(scope, target, from, to, now) else {
            return Ok(Attainment::default());
        };
        let rows: Vec<(i64, i64, i64)> = self.db.fetch_all(&q).await?;
        let mut a = Attainment::default();
        for (due, met, pending) in rows {
            a.due += due;
            a.met += met;
            a.pending += pending;
        }
        a.late = a.due - a.met - a.pending;
        Ok(a)
    }

    /// The customers' satisfaction (1–5) with the services in `scope` whose feedback was
    /// given in `[from, to)` (either end open): how many gave each score, lowest first (the
    /// scores given). One range of a `(person,) feedback_at, satisfaction` index. The
    /// service-level report.
    pub async fn count_by_satisfaction(
        &self,
        scope: OwnerFilter,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<(i16, i64)>> {
        let Some(q) = count_per_satisfaction(scope, from, to) else {
            return Ok(Vec::new());
        };
        let rows: Vec<(i16, i64)> = self.db.fetch_all(&q).await?;
        let mut out: Vec<(i16, i64)> = Vec::new();
        for (score, n) in rows {
            match out.iter_mut().find(|(s, _)| *s == score) {
                Some(row) => row.1 += n,
                None => out.push((score, n)),
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Service `id` if it is in `scope`; otherwise `NotFound`.
    pub async fn get(&self, scope: OwnerFilter, id: i64) -> StoreResult<Service> {
        self.db
            .fetch_found(&by_id(select_services(scope), id))
            .await
    }

    /// Who saved service `id` last, and when (the edit form's conflicts).
    pub async fn last_change(&self, id: i64) -> StoreResult<kehu_store::LastChange> {
        write::last_change::<Service>(&self.db, id).await
    }

    /// The steps of complaint `id` (in `scope`), oldest first.
    pub async fn steps(&self, scope: OwnerFilter, id: i64) -> StoreResult<Vec<StepRow>> {
        self.get(scope, id).await?;
        self.steps_of_found(scope, id).await
    }

    /// [`Self::steps`] of a service the caller has just read in `scope` (its page, an API
    /// answer): the steps' own statement, which joins them onto the scoped service, without
    /// reading the service again.
    pub async fn steps_of_found(&self, scope: OwnerFilter, id: i64) -> StoreResult<Vec<StepRow>> {
        Ok(self.db.fetch_all(&steps::of(scope, id)).await?)
    }

    /// One page of the services in `scope` and their capped count.
    pub async fn list(
        &self,
        scope: OwnerFilter,
        f: &ServiceFilter,
        req: impl Into<ListRequest<ServiceSort>>,
    ) -> StoreResult<Listing<Service>> {
        let id = Expr::col((Services::Table, Services::Id));
        let req = req.into();
        // A filter with an index of its own that leaves few services: read through it, the
        // person checked on each (`Scoped::select_unindexed`) — the page's ids alone, from the
        // index, then their rows. (Asked for the rows at once, PostgreSQL took the person's
        // check for one in a hundred and read all of one customer's 1,250 services to sort
        // them: 6 ms a page where the ids take 0.3.)
        if f.narrow() && scope.owner().is_some() {
            let mut ids = services(scope).select_unindexed();
            f.apply(&mut ids);
            let q = with_columns(services(scope).select_all());
            let count = ids.clone().expr(Expr::cust("1")).to_owned();
            let arm = [ids];
            return page::fetch_arms(&self.db, &q, &arm, count, id, &req).await;
        }
        // An account manager's services: the ones they took and the ones they handle, each
        // read in the page's order (see `Scoped::arms`).
        if let Some(mut arms) = services(scope).arms() {
            let q = with_columns(services(scope).select_all());
            for arm in &mut arms {
                f.apply(arm);
            }
            let count = page::count_of_arms(&arms);
            return page::fetch_arms(&self.db, &q, &arms, count, id, &req).await;
        }
        let mut q = select_services(scope);
        f.apply(&mut q);
        let mut count = services(scope).select().expr(Expr::cust("1")).to_owned();
        f.apply(&mut count);
        page::fetch(&self.db, &q, count, id, &req).await
    }

    /// What waits for `user_id`: services given to them, or taken by them — theirs in any
    /// scope they have, so counted on those columns' own indexes without the scope's `OR`.
    pub async fn waiting(&self, user_id: i64) -> StoreResult<Waiting> {
        let count = |f: ServiceFilter| {
            let mut q = services(OwnerFilter::system())
                .select()
                .expr(Expr::cust("COUNT(*)"))
                .to_owned();
            f.apply(&mut q);
            q
        };
        let queue = ServiceFilter {
            assignee_id: Some(user_id),
            status: Some(Status::Assigned),
            ..ServiceFilter::default()
        };
        let late = ServiceFilter {
            overdue: Some(true),
            ..queue.clone()
        };
        let feedback = ServiceFilter {
            owner_id: Some(user_id),
            status: Some(Status::Handled),
            ..ServiceFilter::default()
        };
        let mut n = [0u64; 3];
        for (i, f) in [queue, feedback, late].into_iter().enumerate() {
            n[i] = page::count_remembered(&self.db, &count(f)).await?;
        }
        Ok(Waiting {
            to_handle: n[0],
            to_feedback: n[1],
            overdue: n[2],
        })
    }

    /// The dictionary's values a service's fields are checked against (type, channel).
    pub async fn dictionary(&self) -> StoreResult<DictValues> {
        use kehu_customers::domain::kinds;
        customer_store::dictionary_of(
            &self.db,
            &[crate::domain::TYPE, kinds::CHANNEL, kinds::LEVEL],
        )
        .await
    }

    /// Reads service `id` in the caller's scope within `tx`, for update, and asks the
    /// workflow whether `action` may be taken: the status it leads to.
    async fn allowed(
        tx: &mut Tx,
        who: &Acting,
        id: i64,
        action: Action,
    ) -> StoreResult<(Service, Status)> {
        let mut q = by_id(select_services(who.scope), id);
        // The service's row only: its handler is joined on the nullable side.
        services(who.scope).lock(&mut q);
        let s: Service = tx.fetch_found(&q).await?;
        let next = s.workflow().allows(action, workflow_actor(who))?;
        Ok((s, next))
    }

    /// Sets `values` on `before` as `who`, audited, if it still has `version` (the client's,
    /// or the one just read in this transaction).
    async fn change(
        tx: &mut Tx,
        who: &Acting,
        before: &Service,
        version: Option<i32>,
        values: Vec<(Services, SimpleExpr)>,
    ) -> StoreResult<Service> {
        let v = version.unwrap_or(before.version);
        write::update(tx, before, v, values, &who.actor, async |_| Ok(())).await
    }

    /// Changes the fields of service `id` (while new) if it still has `version`. The customer
    /// stays; its targets are set again for a changed type.
    pub async fn update(
        &self,
        who: &Acting,
        id: i64,
        d: &ServiceDraft,
        version: i32,
    ) -> StoreResult<Service> {
        self.db
            .write(async |tx| {
                let (before, _) = Self::allowed(tx, who, id, Action::Edit).await?;
                if d.customer_id != before.customer_id {
                    return Err(
                        DomainError::field("customer_id", "err-service-customer-fixed").into(),
                    );
                }
                if let Some(contact) = d.contact_id.filter(|c| Some(*c) != before.contact_id) {
                    let of_customer =
                        contact_customer(tx, who, contact).await? == Some(before.customer_id);
                    if !of_customer {
                        return Err(DomainError::field("contact_id", "err-contact-unknown").into());
                    }
                }
                let mut values = vec![
                    (Services::ServiceType, Expr::val(d.service_type.as_str())),
                    (Services::Title, Expr::val(d.title.as_str())),
                    (Services::ContactId, Expr::val(d.contact_id)),
                    (Services::Channel, Expr::val(d.channel.clone())),
                    (Services::Request, Expr::val(d.request.as_str())),
                    (Services::Priority, Expr::val(d.priority.code())),
                ];
                if d.service_type != before.service_type {
                    let customer =
                        customer_store::get_in(tx, OwnerFilter::system(), before.customer_id)
                            .await?;
                    let targets =
                        sla::targets(tx, &d.service_type, customer.level.as_deref()).await?;
                    let at = before.created_at;
                    values.extend([
                        (
                            Services::RespondDueAt,
                            Expr::val(targets.map(|t| t.respond_due(at))),
                        ),
                        (
                            Services::ResolveDueAt,
                            Expr::val(targets.map(|t| t.resolve_due(at))),
                        ),
                    ]);
                }
                Self::change(tx, who, &before, Some(version), values).await
            })
            .await
    }

    /// Gives service `id` to `assignee`, an active user holding `service.handle`.
    pub async fn assign(
        &self,
        who: &Acting,
        id: i64,
        assignee: &Principal,
        version: Option<i32>,
    ) -> StoreResult<Service> {
        if !assignee.can(Right::ServiceHandle) {
            return Err(DomainError::field("assignee_id", "err-handler-right").into());
        }
        self.db
            .write(async |tx| {
                let (before, next) = Self::allowed(tx, who, id, Action::Assign).await?;
                let values = vec![
                    (Services::Status, Expr::val(next.code())),
                    (Services::AssigneeId, Expr::val(assignee.user_id)),
                    (Services::AssignedAt, Expr::val(Utc::now())),
                ];
                let s = Self::change(tx, who, &before, version, values).await?;
                if before.assignee_id != Some(assignee.user_id) {
                    crate::notices::assigned(tx, &s, assignee.user_id).await?;
                }
                Ok(s)
            })
            .await
    }

    /// Records how service `id` was handled (its handler); a complaint only once its steps
    /// are complete. The creator is told.
    pub async fn handle(
        &self,
        who: &Acting,
        id: i64,
        handling: &str,
        version: Option<i32>,
    ) -> StoreResult<Service> {
        self.db
            .write(async |tx| {
                let (before, next) = Self::allowed(tx, who, id, Action::Handle).await?;
                if before.is_complaint() {
                    let log: Vec<StepRow> =
                        tx.fetch_all(&steps::of(OwnerFilter::system(), id)).await?;
                    let log: Vec<StepRecord> = log.iter().map(StepRow::record).collect();
                    if crate::domain::next_step(&log).is_some() {
                        return Err(DomainError::NotAllowed("err-complaint-steps-open").into());
                    }
                }
                let now = Utc::now();
                let mut values = vec![
                    (Services::Status, Expr::val(next.code())),
                    (Services::Handling, Expr::val(handling)),
                    (Services::HandledBy, Expr::val(who.user_id())),
                    (Services::HandledAt, Expr::val(now)),
                ];
                if before.responded_at.is_none() {
                    values.push((Services::RespondedAt, Expr::val(now)));
                }
                let s = Self::change(tx, who, &before, version, values).await?;
                crate::notices::handled(tx, &s).await?;
                Ok(s)
            })
            .await
    }

    /// Records the customer's feedback on service `id` (its creator or a supervisor):
    /// satisfied, it is archived; not, it goes back to the same handler (and a complaint's
    /// handling starts again).
    pub async fn feedback(
        &self,
        who: &Acting,
        id: i64,
        d: &FeedbackDraft,
        version: Option<i32>,
    ) -> StoreResult<Service> {
        self.db
            .write(async |tx| {
                let (before, _) = Self::allowed(tx, who, id, Action::Feedback).await?;
                let next = before
                    .workflow()
                    .feedback(workflow_actor(who), d.satisfaction)?;
                let now = Utc::now();
                let mut values = vec![
                    (Services::Status, Expr::val(next.code())),
                    (Services::Result, Expr::val(d.result.as_str())),
                    (
                        Services::Satisfaction,
                        Expr::val(i16::from(d.satisfaction.get())),
                    ),
                    (Services::FeedbackAt, Expr::val(now)),
                ];
                if next == Status::Archived {
                    values.push((Services::ArchivedAt, Expr::val(now)));
                }
                let s = Self::change(tx, who, &before, version, values).await?;
                if next == Status::Assigned {
                    if before.is_complaint() {
                        let (step, content) = (Step::Reopened, d.result.as_str());
                        steps::insert(tx, id, step, None, content, &who.actor).await?;
                    }
                    if let Some(h) = s.assignee_id {
                        crate::notices::reopened(tx, &s, h).await?;
                    }
                }
                Ok(s)
            })
            .await
    }

    /// Records a step of complaint `id`: the one it waits for, by its handler (the approval
    /// by a supervisor). The first step by the handler is their response.
    pub async fn add_step(&self, who: &Acting, id: i64, d: &StepDraft) -> StoreResult<StepRow> {
        self.db
            .write(async |tx| {
                let (before, _) = Self::allowed(tx, who, id, Action::Step).await?;
                let log: Vec<StepRow> = tx.fetch_all(&steps::of(OwnerFilter::system(), id)).await?;
                let log: Vec<StepRecord> = log.iter().map(StepRow::record).collect();
                let assignee = before.assignee_id == Some(who.user_id());
                crate::domain::check_step(&log, d.step, d.accepted, workflow_actor(who), assignee)?;
                let row = steps::insert(tx, id, d.step, d.accepted, &d.content, &who.actor).await?;
                if assignee && before.responded_at.is_none() {
                    let responded = vec![(Services::RespondedAt, Expr::val(Utc::now()))];
                    Self::change(tx, who, &before, None, responded).await?;
                }
                Ok(row)
            })
            .await
    }
}

/// The customer of contact `id`, if the contact is in `who`'s scope.
async fn contact_customer(tx: &mut Tx, who: &Acting, id: i64) -> StoreResult<Option<i64>> {
    match customer_store::contact_of_in(tx, who.scope, id).await {
        Ok(c) => Ok(Some(c)),
        Err(StoreError::Domain(DomainError::NotFound)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn created_between(
    q: &mut SelectStatement,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) {
    let created = || Expr::col((Services::Table, Services::CreatedAt));
    if let Some(t) = from {
        q.and_where(created().gte(t));
    }
    if let Some(t) = to {
        q.and_where(created().lt(t));
    }
}

/// A service level target (服务时限).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Someone of ours responds (the first complaint step by its handler, or the handling).
    Response,
    /// The service is handled (and not reopened since).
    Resolution,
}

/// How the services due in a period met a target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attainment {
    /// Due in the period.
    pub due: i64,
    /// Done by the time they were due.
    pub met: i64,
    /// Done after it, or not done and the time has passed.
    pub late: i64,
    /// Not done, and not yet due: no verdict yet.
    pub pending: i64,
}

/// The statements to count `scope`'s services with: an account manager's two arms (each on
/// its own person's indexes; no service in both, so their counts add up), or the scope's
/// one.
fn counted(scope: OwnerFilter) -> Vec<SelectStatement> {
    match services(scope).arms() {
        Some(arms) => arms.into(),
        None => vec![services(scope).select()],
    }
}

/// `column` of the services in `[from, to)`, either end open.
fn between(
    q: &mut SelectStatement,
    column: Services,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) {
    let c = || Expr::col((Services::Table, column));
    if let Some(t) = from {
        q.and_where(c().gte(t));
    }
    if let Some(t) = to {
        q.and_where(c().lt(t));
    }
}

/// `(status, n)` of the services in `scope` created in `[from, to)`, one part per status
/// (and arm): each a range of a `(person,) status, created_at` index. Statuses written out,
/// as in [`ServiceFilter::apply`]. `None`: nothing to count.
fn count_per_status(
    scope: OwnerFilter,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Option<SelectStatement> {
    let status = || Expr::col((Services::Table, Services::Status));
    let mut parts = Vec::new();
    for s in Status::ALL {
        for mut q in counted(scope) {
            q.expr_as(status(), Alias::new("status"))
                .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
                .and_where(status().eq(Expr::cust(format!("'{}'", s.code()))))
                .group_by_col((Services::Table, Services::Status));
            created_between(&mut q, from, to);
            parts.push(q);
        }
    }
    page::union_all(parts)
}

/// `(due, met, pending)` of the services in `scope` due for `target` in `[from, to)`, at
/// `now` (written out, to the minute), one row per arm. Met: done by the due time — the
/// response recorded, or the service handled (and not reopened); pending: not done and not
/// yet due.
fn attainment_of(
    scope: OwnerFilter,
    target: Target,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<SelectStatement> {
    let col = |c: Services| Expr::col((Services::Table, c));
    let (due, done_at) = match target {
        Target::Response => (Services::RespondDueAt, Services::RespondedAt),
        Target::Resolution => (Services::ResolveDueAt, Services::HandledAt),
    };
    let done = || match target {
        Target::Response => col(done_at).is_not_null(),
        Target::Resolution => {
            let closed =
                [Status::Handled, Status::Archived].map(|s| Expr::cust(format!("'{}'", s.code())));
            col(Services::Status)
                .is_in(closed)
                .and(col(done_at).is_not_null())
        }
    };
    let met = done().and(col(done_at).lte(col(due)));
    let pending = done().not().and(col(due).gt(written(now)));
    let counted_if = |c: Expr| -> Expr {
        let case: Expr = Expr::case(c, Expr::cust("1")).into();
        case.count()
    };
    let parts = counted(scope)
        .into_iter()
        .map(|mut q| {
            q.expr_as(Expr::cust("COUNT(*)"), Alias::new("due"))
                .expr_as(counted_if(met.clone()), Alias::new("met"))
                .expr_as(counted_if(pending.clone()), Alias::new("pending"))
                .and_where(col(due).is_not_null());
            between(&mut q, due, from, to);
            q
        })
        .collect();
    page::union_all(parts)
}

/// `(satisfaction, n)` of the services in `scope` whose feedback was given in `[from, to)`,
/// one part per arm.
fn count_per_satisfaction(
    scope: OwnerFilter,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Option<SelectStatement> {
    let col = || Expr::col((Services::Table, Services::Satisfaction));
    let parts = counted(scope)
        .into_iter()
        .map(|mut q| {
            q.expr_as(col(), Alias::new("score"))
                .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
                .and_where(Expr::col((Services::Table, Services::FeedbackAt)).is_not_null())
                .and_where(col().is_not_null())
                .group_by_col((Services::Table, Services::Satisfaction));
            between(&mut q, Services::FeedbackAt, from, to);
            q
        })
        .collect();
    page::union_all(parts)
}

/// How many services customer `customer_id` has (they forbid deleting it for good).
pub fn services_of_customer(tx: &mut Tx, customer_id: i64) -> DependentsCount<'_> {
    Box::pin(async move {
        let q = services(OwnerFilter::system())
            .select()
            .expr(Expr::cust("COUNT(*)"))
            .and_where(Expr::col((Services::Table, Services::CustomerId)).eq(customer_id))
            .to_owned();
        let (n,): (i64,) = tx.fetch_one(&q).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    })
}

/// The open services assigned to each of `handlers` (their load), for the distribution.
pub(crate) async fn open_load(tx: &mut Tx, handlers: &[i64]) -> StoreResult<Vec<(i64, i64)>> {
    let q = services(OwnerFilter::system())
        .select()
        .column((Services::Table, Services::AssigneeId))
        .expr(Expr::cust("COUNT(*)"))
        .and_where(Expr::col((Services::Table, Services::Status)).eq(Status::Assigned.code()))
        .and_where(
            Expr::col((Services::Table, Services::AssigneeId)).is_in(handlers.iter().copied()),
        )
        .group_by_col((Services::Table, Services::AssigneeId))
        .to_owned();
    Ok(tx.fetch_all(&q).await?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use kehu_store::statement::Explain;

    use super::*;

    /// A SQLite database in a directory of its own, with the service tables.
    async fn migrated() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        kehu_store::migrations::migrate_with(&db, crate::migrations::MIGRATIONS)
            .await
            .unwrap();
        (dir, db)
    }

    /// User 7's own services (taken by them, or handled by them).
    fn own() -> OwnerFilter {
        Principal {
            user_id: 7,
            username: "li".into(),
            display_name: "李".into(),
            role_id: 3,
            role_name: "r".into(),
            rights: Default::default(),
            scope: kehu_domain::DataScope::Own,
            must_change_password: false,
            language: None,
        }
        .owner_filter()
    }

    /// The service-level report's counts, over everyone's and over an account manager's two
    /// arms, in a period: SQLite reads a range of an index for each — everyone's from the
    /// index alone — never the services table.
    #[tokio::test]
    async fn the_service_level_reports_counts_read_a_range_of_an_index() {
        let (_dir, db) = migrated().await;
        let now = Utc::now();
        let (from, to) = (Some(now - Duration::days(30)), Some(now));
        let mut wrong = Vec::new();
        for (everyone, scope) in [(true, OwnerFilter::system()), (false, own())] {
            let statements = [
                ("by status", count_per_status(scope, from, to).unwrap()),
                (
                    "response",
                    attainment_of(scope, Target::Response, from, to, now).unwrap(),
                ),
                (
                    "resolution",
                    attainment_of(scope, Target::Resolution, from, to, now).unwrap(),
                ),
                (
                    "satisfaction",
                    count_per_satisfaction(scope, from, to).unwrap(),
                ),
            ];
            for (name, q) in statements {
                let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(&q)).await.unwrap();
                let reads: Vec<&String> = plan
                    .iter()
                    .map(|(.., d)| d)
                    .filter(|d| d.contains(" services"))
                    .collect();
                let ranged = !reads.is_empty()
                    && reads.iter().all(|d| {
                        d.starts_with("SEARCH services USING")
                            && d.contains("<?)")
                            && (!everyone || d.contains("COVERING INDEX"))
                    });
                if !ranged {
                    wrong.push(format!("{name} everyone={everyone}: {plan:?}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
        db.close().await;
    }
}
