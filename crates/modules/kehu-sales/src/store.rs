//! The opportunity store: sales opportunities (销售机会) and their plan items (开发计划), in the
//! caller's data scope. An opportunity is its creator's until it is assigned, then its
//! assignee's (`owner_id`): an account manager sees the ones they entered and the ones given
//! to them, supervisors and executives all of them. Every change asks the workflow
//! (`kehu_domain::opportunity`) first, goes through the write kit (version checked, audited)
//! and moves the status in the same statement.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use kehu_customers::domain::{
    ContactDraft, ContactInput, CustomerDraft, CustomerInput, DictValues,
};
use kehu_customers::store::{self as customer_store, CustomerStore};
use kehu_domain::opportunity::{self, Action, Status};
use kehu_domain::policy::OwnerFilter;
use kehu_domain::{DomainError, Principal, Right};
use kehu_store::audit::Actor;
use kehu_store::db::{Db, Tx};
use kehu_store::page::{self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey};
use kehu_store::schema::Users;
use kehu_store::scope::{Owned, Scoped};
use kehu_store::write::{self, DependentsCount, Record, Table};
use kehu_store::{Backend, StoreResult};
use sea_query::{Expr, ExprTrait, SelectStatement, SimpleExpr};
use serde::Serialize;

use crate::domain::{OpportunityDraft, PlanItemDraft};
use crate::pipeline::{self, OpenTotal, Share, StageTotal};
use crate::plan::{self, PlanItem};
use crate::schema::Opportunities;

/// Who acts on an opportunity: their data scope, their name in the audit log, and whether they
/// supervise sales (hold `opportunity.assign`).
pub use kehu_store::scope::Acting;

/// `user` acting on opportunities as `actor`.
pub fn acting(user: &Principal, actor: Actor) -> Acting {
    Acting::of(user, actor, Right::OpportunityAssign)
}

/// The workflow's view of who is acting (the system, acting for nobody, is no user).
fn workflow_actor(who: &Acting) -> opportunity::Actor {
    opportunity::Actor {
        user_id: who.user_id(),
        supervisor: who.supervisor,
    }
}

/// The one builder of every statement on `opportunities` except the insert: the owner
/// condition of `scope` is already in it.
fn opportunities(scope: OwnerFilter) -> Scoped<Opportunities> {
    Scoped::new(
        Owned {
            table: Opportunities::Table,
            owner: Opportunities::OwnerId,
        },
        scope,
    )
}

/// A sales opportunity as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Opportunity {
    pub id: i64,
    pub title: String,
    pub prospect_name: String,
    pub source: Option<String>,
    pub success_rate: i16,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub description: Option<String>,
    /// Fen.
    pub expected_amount: Option<i64>,
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
    pub status: String,
    pub owner_id: i64,
    /// Whose it is now (the creator until it is assigned, then the assignee).
    pub owner_name: String,
    pub assignee_id: Option<i64>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    pub customer_id: Option<i64>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl Opportunity {
    pub fn status(&self) -> Status {
        Status::from_code(&self.status).unwrap_or(Status::Unassigned)
    }

    /// What the workflow needs of it (created by the system: by no user).
    pub fn workflow(&self) -> opportunity::Opportunity {
        opportunity::Opportunity {
            status: self.status(),
            created_by: self.created_by.unwrap_or(0),
            assignee: self.assignee_id,
        }
    }

    /// Its share of the pipeline's totals.
    fn share(&self) -> Share {
        Share {
            owner_id: self.owner_id,
            status: self.status.clone(),
            currency: self.currency.clone(),
            amount: self.expected_amount.unwrap_or(0),
            rate: self.success_rate,
        }
    }

    /// The actions `who` may take on it now.
    pub fn actions(&self, who: &Acting) -> Vec<Action> {
        self.workflow().actions(workflow_actor(who))
    }
}

const COLUMNS: &[Opportunities] = &[
    Opportunities::Id,
    Opportunities::Title,
    Opportunities::ProspectName,
    Opportunities::Source,
    Opportunities::SuccessRate,
    Opportunities::ContactName,
    Opportunities::ContactPhone,
    Opportunities::Description,
    Opportunities::ExpectedAmount,
    Opportunities::Currency,
    Opportunities::ExpectedCloseDate,
    Opportunities::Status,
    Opportunities::OwnerId,
    Opportunities::AssigneeId,
    Opportunities::AssignedAt,
    Opportunities::FailureReason,
    Opportunities::CustomerId,
    Opportunities::ClosedAt,
    Opportunities::CreatedAt,
    Opportunities::CreatedBy,
    Opportunities::UpdatedAt,
    Opportunities::Version,
];

/// Opportunities in `scope` with their owner's name.
fn select_opportunities(scope: OwnerFilter) -> SelectStatement {
    let mut q = opportunities(scope).select();
    q.columns(COLUMNS.iter().map(|c| (Opportunities::Table, *c)))
        .expr_as(
            Expr::col((Users::Table, Users::DisplayName)),
            sea_query::Alias::new("owner_name"),
        )
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id))
                .equals((Opportunities::Table, Opportunities::OwnerId)),
        );
    q
}

/// The opportunities in `scope`, for the plan items' store to join its table onto.
pub(crate) fn in_scope(scope: OwnerFilter) -> SelectStatement {
    opportunities(scope).select()
}

/// The opportunities in `scope` being developed, with their title as `opportunity_title`:
/// whose plan items are to be carried out.
pub(crate) fn developing_in_scope(scope: OwnerFilter) -> SelectStatement {
    let mut q = in_scope(scope);
    q.expr_as(
        Expr::col((Opportunities::Table, Opportunities::Title)),
        sea_query::Alias::new("opportunity_title"),
    )
    .and_where(
        Expr::col((Opportunities::Table, Opportunities::Status)).eq(Status::Developing.code()),
    );
    q
}

/// The opportunity's id column, for the join.
pub(crate) fn id_column() -> Expr {
    Expr::col((Opportunities::Table, Opportunities::Id))
}

fn by_id(mut q: SelectStatement, id: i64) -> SelectStatement {
    q.and_where(Expr::col((Opportunities::Table, Opportunities::Id)).eq(id));
    q
}

impl Record for Opportunity {
    type Col = Opportunities;
    const TABLE: Table<Opportunities> = Table {
        table: Opportunities::Table,
        id: Opportunities::Id,
        version: Opportunities::Version,
        created_at: Opportunities::CreatedAt,
        created_by: Opportunities::CreatedBy,
        updated_at: Opportunities::UpdatedAt,
        updated_by: Opportunities::UpdatedBy,
        entity: "opportunity",
        unique: "title",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_opportunities(OwnerFilter::system()), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "title": self.title, "prospect_name": self.prospect_name, "source": self.source,
            "success_rate": self.success_rate, "contact_name": self.contact_name,
            "contact_phone": self.contact_phone, "description": self.description,
            "expected_amount": self.expected_amount.map(kehu_domain::money::fen_to_decimal),
            "currency": self.currency,
            "expected_close_date": self.expected_close_date.map(|d| d.to_string()),
            "status": self.status, "owner_id": self.owner_id, "assignee_id": self.assignee_id,
            "failure_reason": self.failure_reason, "customer_id": self.customer_id,
        })
    }
}

fn draft_values(d: &OpportunityDraft) -> Vec<(Opportunities, SimpleExpr)> {
    vec![
        (Opportunities::Title, Expr::val(d.title.as_str())),
        (
            Opportunities::ProspectName,
            Expr::val(d.prospect_name.as_str()),
        ),
        (Opportunities::Source, Expr::val(d.source.clone())),
        (Opportunities::SuccessRate, Expr::val(d.success_rate)),
        (
            Opportunities::ContactName,
            Expr::val(d.contact_name.clone()),
        ),
        (
            Opportunities::ContactPhone,
            Expr::val(d.contact_phone.as_ref().map(|p| p.as_str().to_owned())),
        ),
        (Opportunities::Description, Expr::val(d.description.clone())),
        (
            Opportunities::ExpectedAmount,
            Expr::val(d.expected_amount.map(|m| m.fen())),
        ),
        (Opportunities::Currency, Expr::val(d.currency.as_str())),
        (
            Opportunities::ExpectedCloseDate,
            Expr::val(d.expected_close_date),
        ),
    ]
}

/// The customer opportunity `o` becomes, and its primary contact: their id.
async fn new_customer(
    tx: &mut Tx,
    o: &Opportunity,
    dict: &DictValues,
    actor: &Actor,
    today: NaiveDate,
) -> StoreResult<i64> {
    let owner = o
        .assignee_id
        .ok_or(DomainError::NotAllowed("err-opportunity-unassigned"))?;
    let input = CustomerInput {
        name: o.prospect_name.clone(),
        source: o.source.clone().unwrap_or_default(),
        level: "ordinary".into(),
        ..CustomerInput::default()
    };
    let draft = CustomerDraft::parse(&input, dict)?;
    let c = customer_store::create_in(tx, owner, &draft, actor, today).await?;
    if o.contact_name.is_some() || o.contact_phone.is_some() {
        let phone = o.contact_phone.clone().unwrap_or_default();
        // Chinese mobile numbers are +86 1…; anything else is an office line.
        let mobile = phone.starts_with("+861");
        let contact = ContactInput {
            name: o
                .contact_name
                .clone()
                .unwrap_or_else(|| o.prospect_name.clone()),
            mobile: if mobile { phone.clone() } else { String::new() },
            phone: if mobile { String::new() } else { phone },
            is_primary: true,
            ..ContactInput::default()
        };
        let d = ContactDraft::parse(&contact)?;
        customer_store::add_contact_in(tx, c.id, &d, actor).await?;
    }
    Ok(c.id)
}

/// Filters of the opportunity list.
#[derive(Debug, Clone, Default)]
pub struct OpportunityFilter {
    pub status: Option<Status>,
    /// A value of the dictionary `opportunity_source`.
    pub source: Option<String>,
    pub assignee_id: Option<i64>,
    /// Whose they are now ("mine": the ones a user entered, until assigned, and those given
    /// to them).
    pub owner_id: Option<i64>,
    /// The customer they became or were linked to.
    pub customer_id: Option<i64>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Fen, inclusive.
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
}

impl OpportunityFilter {
    fn apply(&self, q: &mut SelectStatement) {
        let col = |c: Opportunities| Expr::col((Opportunities::Table, c));
        if let Some(s) = self.status {
            q.and_where(col(Opportunities::Status).eq(s.code()));
        }
        if let Some(s) = self.source.as_deref().filter(|s| !s.is_empty()) {
            q.and_where(col(Opportunities::Source).eq(s));
        }
        if let Some(a) = self.assignee_id {
            q.and_where(col(Opportunities::AssigneeId).eq(a));
        }
        if let Some(o) = self.owner_id {
            q.and_where(col(Opportunities::OwnerId).eq(o));
        }
        if let Some(c) = self.customer_id {
            q.and_where(col(Opportunities::CustomerId).eq(c));
        }
        if let Some(t) = self.created_from {
            q.and_where(col(Opportunities::CreatedAt).gte(t));
        }
        if let Some(t) = self.created_to {
            q.and_where(col(Opportunities::CreatedAt).lt(t));
        }
        if let Some(m) = self.min_amount {
            q.and_where(col(Opportunities::ExpectedAmount).gte(m));
        }
        if let Some(m) = self.max_amount {
            q.and_where(col(Opportunities::ExpectedAmount).lte(m));
        }
    }
}

/// The opportunity list's sorts, each with an index on `(column, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpportunitySort {
    Created,
    Amount,
    CloseDate,
}

impl SortKey for OpportunitySort {
    const ALL: &'static [Self] = &[
        OpportunitySort::Created,
        OpportunitySort::Amount,
        OpportunitySort::CloseDate,
    ];
    const DEFAULT: Sort<Self> = Sort {
        key: OpportunitySort::Created,
        dir: Dir::Desc,
    };

    fn code(self) -> &'static str {
        match self {
            OpportunitySort::Created => "created_at",
            OpportunitySort::Amount => "expected_amount",
            OpportunitySort::CloseDate => "expected_close_date",
        }
    }

    fn kind(self) -> KeyKind {
        match self {
            OpportunitySort::Created => KeyKind::Time,
            OpportunitySort::Amount => KeyKind::Int,
            OpportunitySort::CloseDate => KeyKind::Date,
        }
    }

    fn column(self) -> Expr {
        let c = match self {
            OpportunitySort::Created => Opportunities::CreatedAt,
            OpportunitySort::Amount => Opportunities::ExpectedAmount,
            OpportunitySort::CloseDate => Opportunities::ExpectedCloseDate,
        };
        Expr::col((Opportunities::Table, c))
    }

    fn nullable(self) -> bool {
        !matches!(self, OpportunitySort::Created)
    }

    fn first_dir(self) -> Dir {
        match self {
            OpportunitySort::CloseDate => Dir::Asc,
            _ => Dir::Desc,
        }
    }
}

impl Keyed<OpportunitySort> for Opportunity {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, key: OpportunitySort) -> KeyValue {
        match key {
            OpportunitySort::Created => KeyValue::Time(self.created_at),
            OpportunitySort::Amount => self.expected_amount.map_or(KeyValue::Null, KeyValue::Int),
            OpportunitySort::CloseDate => self
                .expected_close_date
                .map_or(KeyValue::Null, KeyValue::Date),
        }
    }
}

/// Sets `values` on `before` as `who`, audited, if it still has `version` (the client's, or
/// the one just read in this transaction when the client sent none).
async fn change(
    tx: &mut Tx,
    who: &Acting,
    before: &Opportunity,
    version: Option<i32>,
    values: Vec<(Opportunities, SimpleExpr)>,
) -> StoreResult<Opportunity> {
    let v = version.unwrap_or(before.version);
    let after = write::update(tx, before, v, values, &who.actor, async |_| Ok(())).await?;
    pipeline::shift(tx, Some(&before.share()), Some(&after.share())).await?;
    Ok(after)
}

/// What closing an opportunity as won came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Won {
    /// Closed; its `customer_id` is the customer created or linked.
    Closed(Box<Opportunity>),
    /// Not closed: customers with the prospect's name or phone exist already (id, code,
    /// name). Link one of them instead.
    Exists(Vec<(i64, String, String)>),
}

/// Opportunities and their plans over the application's database; a won one becomes a
/// customer through the customer store (its codes carry the day in the configured zone).
#[derive(Clone, Debug)]
pub struct OpportunityStore {
    db: Db,
    customers: CustomerStore,
}

impl OpportunityStore {
    pub fn new(db: Db, utc_offset: FixedOffset) -> Self {
        Self {
            customers: CustomerStore::new(db.clone(), utc_offset),
            db,
        }
    }

    /// A new opportunity, unassigned, its creator's.
    pub async fn create(&self, who: &Acting, d: &OpportunityDraft) -> StoreResult<Opportunity> {
        let owner = who.actor.user_id.ok_or(DomainError::Forbidden)?;
        self.db
            .write(async |tx| {
                let mut values = draft_values(d);
                values.extend([
                    (Opportunities::Status, Expr::val(Status::Unassigned.code())),
                    (Opportunities::OwnerId, Expr::val(owner)),
                ]);
                let o = write::create::<Opportunity>(tx, values, &who.actor, async |_, _| Ok(()))
                    .await?;
                pipeline::shift(tx, None, Some(&o.share())).await?;
                Ok(o)
            })
            .await
    }

    /// Opportunity `id` if it is in `scope`; otherwise `NotFound`.
    pub async fn get(&self, scope: OwnerFilter, id: i64) -> StoreResult<Opportunity> {
        self.db
            .fetch_found(&by_id(select_opportunities(scope), id))
            .await
    }

    /// The pipeline of the opportunities in `scope`: per status and currency, how many and
    /// their summed and weighted expected amounts (from the running totals).
    pub async fn pipeline(&self, scope: OwnerFilter) -> StoreResult<Vec<StageTotal>> {
        pipeline::read(&self.db, scope).await
    }

    /// The weighted pipeline of the opportunities in `scope` still open (not won or lost),
    /// per currency, CNY first: how many, their expected amounts and those weighted by their
    /// success rates (from the running totals: a few rows whatever the number of
    /// opportunities). The pipeline report (统计报表).
    pub async fn weighted_pipeline(&self, scope: OwnerFilter) -> StoreResult<Vec<OpenTotal>> {
        Ok(pipeline::open_by_currency(
            &pipeline::read(&self.db, scope).await?,
        ))
    }

    /// How many opportunities in `scope` were created in `[from, to)` (either end open), per
    /// status (the statuses that have any): each status one range of the `(owner,) status,
    /// created_at` index. The pipeline report.
    pub async fn count_by_status(
        &self,
        scope: OwnerFilter,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<(String, i64)>> {
        let q = count_per_status(scope, &Status::ALL, Opportunities::CreatedAt, from, to);
        match q {
            Some(q) => Ok(self.db.fetch_all(&q).await?),
            None => Ok(Vec::new()),
        }
    }

    /// How many opportunities in `scope` were created in `[from, to)` (either end open), per
    /// source (dictionary `opportunity_source`; `None`: not given), most first: one range of
    /// the `(owner,) created_at, source` index. The pipeline report.
    pub async fn count_by_source(
        &self,
        scope: OwnerFilter,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<(Option<String>, i64)>> {
        let mut rows: Vec<(Option<String>, i64)> = self
            .db
            .fetch_all(&count_per_source(scope, from, to))
            .await?;
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(rows)
    }

    /// How many opportunities in `scope` were closed in `[from, to)` (either end open): won
    /// and lost, each one range of the `(owner,) status, closed_at` index. The pipeline
    /// report's win rate.
    pub async fn count_closed(
        &self,
        scope: OwnerFilter,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Closed> {
        let closed = [Status::Success, Status::Failure];
        let mut out = Closed::default();
        let Some(q) = count_per_status(scope, &closed, Opportunities::ClosedAt, from, to) else {
            return Ok(out);
        };
        let rows: Vec<(String, i64)> = self.db.fetch_all(&q).await?;
        for (status, n) in rows {
            match Status::from_code(&status) {
                Some(Status::Success) => out.won += n,
                Some(Status::Failure) => out.lost += n,
                _ => {}
            }
        }
        Ok(out)
    }

    /// The newest `n` opportunities of each of `statuses` in `scope` (the board's columns), in
    /// one statement: one round trip instead of one per column (under load the board's reads
    /// queued behind each other). Rows of one status follow one another, newest first.
    pub async fn newest(
        &self,
        scope: OwnerFilter,
        statuses: &[Status],
        n: u64,
    ) -> StoreResult<Vec<Opportunity>> {
        let col = |c: Opportunities| (Opportunities::Table, c);
        let parts = statuses.iter().map(|status| {
            let mut q = select_opportunities(scope);
            let code = status.code();
            // Over every owner, PostgreSQL takes the statuses as spread evenly over time and
            // walks the newest-first index until it has n of this one; but the won and lost are
            // old (at a million, 165,000 rows read for a column: 450 ms). `= ANY(ARRAY[…])` is
            // no constant to its planner, so with the status leading the order it reads the
            // status's own index (1 ms). A manager's columns read their own index either way.
            let status_is = if self.db.backend() == Backend::Postgres && scope.owner().is_none() {
                // The code is one of the workflow's constants (lower-case letters), written in.
                Expr::cust_with_exprs(
                    format!("$1 = ANY(ARRAY['{code}'])"),
                    [Expr::col(col(Opportunities::Status))],
                )
            } else {
                Expr::col(col(Opportunities::Status)).eq(code)
            };
            q.and_where(status_is)
                .order_by(col(Opportunities::Status), sea_query::Order::Desc)
                .order_by(col(Opportunities::CreatedAt), sea_query::Order::Desc)
                .order_by(col(Opportunities::Id), sea_query::Order::Desc)
                .limit(n);
            q
        });
        match page::union_all(parts.collect()) {
            Some(q) => Ok(self.db.fetch_all(&q).await?),
            None => Ok(Vec::new()),
        }
    }

    /// The plan items not carried out, due on or before `today`, of the opportunities being
    /// developed in `mine` (`Principal::own_records`: what a user is to do themselves): the
    /// oldest `n` first, and how many there are.
    pub async fn due(
        &self,
        mine: OwnerFilter,
        today: NaiveDate,
        n: u64,
    ) -> StoreResult<(Vec<plan::DueItem>, u64)> {
        plan::due(&self.db, mine, today, n).await
    }

    /// The dictionary's values an opportunity's fields are checked against (its source).
    pub async fn dictionary(&self) -> StoreResult<DictValues> {
        self.customers.dictionary().await
    }

    /// Today in the configured time zone (plan items' days).
    pub fn today(&self) -> NaiveDate {
        self.customers.today()
    }

    /// Recounts the pipeline's totals from the opportunities, after rows were written around
    /// the store (`kehu demo`'s bulk load).
    pub async fn rebuild_totals(&self) -> StoreResult<()> {
        let col = |c: Opportunities| Expr::col((Opportunities::Table, c));
        let amount = Expr::cust("COALESCE(expected_amount, 0)");
        let mut sums = in_scope(OwnerFilter::system());
        sums.expr(col(Opportunities::OwnerId))
            .expr(col(Opportunities::Status))
            .expr(col(Opportunities::Currency))
            .expr(col(Opportunities::Id).count())
            .expr(amount.clone().sum().cast_as("BIGINT"))
            .expr(
                amount
                    .mul(col(Opportunities::SuccessRate))
                    .sum()
                    .cast_as("BIGINT"),
            )
            .group_by_col((Opportunities::Table, Opportunities::OwnerId))
            .group_by_col((Opportunities::Table, Opportunities::Status))
            .group_by_col((Opportunities::Table, Opportunities::Currency));
        self.db
            .write(async |tx| pipeline::rebuild(tx, sums.clone()).await)
            .await
    }

    /// One page of the opportunities in `scope` and their capped count.
    pub async fn list(
        &self,
        scope: OwnerFilter,
        f: &OpportunityFilter,
        req: impl Into<ListRequest<OpportunitySort>>,
    ) -> StoreResult<Listing<Opportunity>> {
        let mut q = select_opportunities(scope);
        f.apply(&mut q);
        let mut count = in_scope(scope).expr(Expr::cust("1")).to_owned();
        f.apply(&mut count);
        let id = Expr::col((Opportunities::Table, Opportunities::Id));
        page::fetch(&self.db, &q, count, id, &req.into()).await
    }

    /// Reads opportunity `id` in the caller's scope within `tx` and asks the workflow whether
    /// `action` may be taken: the status it leads to. The row is read for update, so the
    /// changes of one opportunity take turns (on PostgreSQL; SQLite's writes always do): a
    /// second "won" at the same moment waits and finds it closed, rather than deciding on the
    /// state the first is changing.
    async fn allowed(
        tx: &mut Tx,
        who: &Acting,
        id: i64,
        action: Action,
    ) -> StoreResult<(Opportunity, Status)> {
        let mut q = by_id(select_opportunities(who.scope), id);
        q.lock_exclusive();
        let o: Opportunity = tx.fetch_found(&q).await?;
        let next = o.workflow().allows(action, workflow_actor(who))?;
        Ok((o, next))
    }

    /// Changes the fields of opportunity `id` (while unassigned) if it still has `version`.
    pub async fn update(
        &self,
        who: &Acting,
        id: i64,
        d: &OpportunityDraft,
        version: i32,
    ) -> StoreResult<Opportunity> {
        self.db
            .write(async |tx| {
                let (before, _) = Self::allowed(tx, who, id, Action::Edit).await?;
                change(tx, who, &before, Some(version), draft_values(d)).await
            })
            .await
    }

    /// Deletes opportunity `id` (while unassigned) if it still has `version`.
    pub async fn delete(&self, who: &Acting, id: i64, version: i32) -> StoreResult<()> {
        self.db
            .write(async |tx| {
                let (before, _) = Self::allowed(tx, who, id, Action::Delete).await?;
                write::delete(tx, &before, version, &who.actor).await?;
                pipeline::shift(tx, Some(&before.share()), None).await
            })
            .await
    }

    /// Gives opportunity `id` to `assignee`, who must be able to develop it (`plan.write`);
    /// it becomes theirs. `version`, when given, must still be the opportunity's.
    pub async fn assign(
        &self,
        who: &Acting,
        id: i64,
        assignee: &Principal,
        version: Option<i32>,
    ) -> StoreResult<Opportunity> {
        if !assignee.can(Right::PlanWrite) {
            return Err(DomainError::field("assignee_id", "err-assignee-right").into());
        }
        self.db
            .write(async |tx| {
                let (before, next) = Self::allowed(tx, who, id, Action::Assign).await?;
                let values = vec![
                    (Opportunities::Status, Expr::val(next.code())),
                    (Opportunities::AssigneeId, Expr::val(assignee.user_id)),
                    (Opportunities::OwnerId, Expr::val(assignee.user_id)),
                    (Opportunities::AssignedAt, Expr::val(Utc::now())),
                ];
                change(tx, who, &before, version, values).await
            })
            .await
    }

    /// Adds a dated to-do to the plan of opportunity `id` (its assignee); the first starts
    /// the development.
    pub async fn add_plan_item(
        &self,
        who: &Acting,
        id: i64,
        d: &PlanItemDraft,
    ) -> StoreResult<PlanItem> {
        self.db
            .write(async |tx| {
                let (before, next) = Self::allowed(tx, who, id, Action::Plan).await?;
                if next != before.status() {
                    let status = vec![(Opportunities::Status, Expr::val(next.code()))];
                    change(tx, who, &before, None, status).await?;
                }
                plan::insert(tx, id, d, &who.actor).await
            })
            .await
    }

    /// The plan of opportunity `id` (in `scope`), by date.
    pub async fn plan(&self, scope: OwnerFilter, id: i64) -> StoreResult<Vec<PlanItem>> {
        self.get(scope, id).await?;
        plan::of(&self.db, scope, id).await
    }

    /// Writes the result of plan item `item_id` of opportunity `id` (its assignee, while
    /// developing) if the item still has `version`.
    pub async fn record_result(
        &self,
        who: &Acting,
        id: i64,
        item_id: i64,
        result: &str,
        version: i32,
    ) -> StoreResult<PlanItem> {
        self.db
            .write(async |tx| {
                Self::allowed(tx, who, id, Action::Record).await?;
                plan::set_result(tx, id, item_id, result, version, &who.actor).await
            })
            .await
    }

    /// Closes opportunity `id` as won. Without `link`, the customer is created from it in the
    /// same transaction — the prospect's name, its source, the assignee as account manager,
    /// level `ordinary` — with the contact as its primary contact; unless a customer with that
    /// name or phone exists ([`Won::Exists`], nothing written). With `link`, that customer
    /// (in the caller's scope) is the one it became. A second "won" finds it closed.
    pub async fn succeed(
        &self,
        who: &Acting,
        id: i64,
        link: Option<i64>,
        version: Option<i32>,
    ) -> StoreResult<Won> {
        let dict = self.customers.dictionary().await?;
        let today = self.customers.today();
        self.db
            .write(async |tx| {
                let (before, next) = Self::allowed(tx, who, id, Action::Succeed).await?;
                let customer_id = match link {
                    Some(c) => customer_store::get_in(tx, who.scope, c).await?.id,
                    None => {
                        let phone = before.contact_phone.as_deref();
                        let same =
                            customer_store::same_name_or_phone(tx, &before.prospect_name, phone)
                                .await?;
                        if !same.is_empty() {
                            return Ok(Won::Exists(same));
                        }
                        new_customer(tx, &before, &dict, &who.actor, today).await?
                    }
                };
                // The opportunity's changes join the customer's history.
                kehu_customers::history::link(tx, customer_id, "opportunity", id).await?;
                let values = vec![
                    (Opportunities::Status, Expr::val(next.code())),
                    (Opportunities::CustomerId, Expr::val(customer_id)),
                    (Opportunities::ClosedAt, Expr::val(Utc::now())),
                ];
                let o = change(tx, who, &before, version, values).await?;
                Ok(Won::Closed(Box::new(o)))
            })
            .await
    }

    /// Closes opportunity `id` as lost, with `reason`.
    pub async fn fail(
        &self,
        who: &Acting,
        id: i64,
        reason: &str,
        version: Option<i32>,
    ) -> StoreResult<Opportunity> {
        self.db
            .write(async |tx| {
                let (before, next) = Self::allowed(tx, who, id, Action::Fail).await?;
                let values = vec![
                    (Opportunities::Status, Expr::val(next.code())),
                    (Opportunities::FailureReason, Expr::val(reason)),
                    (Opportunities::ClosedAt, Expr::val(Utc::now())),
                ];
                change(tx, who, &before, version, values).await
            })
            .await
    }

    /// Who changed opportunity `id` last, and when (the edit form's conflicts). The caller has
    /// found it in its scope.
    pub async fn last_change(&self, id: i64) -> StoreResult<kehu_store::LastChange> {
        write::last_change::<Opportunity>(&self.db, id).await
    }
}

/// How many opportunities were closed in a period: won and lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Closed {
    pub won: i64,
    pub lost: i64,
}

/// `column` of the opportunities in `[from, to)`, either end open.
fn between(
    q: &mut SelectStatement,
    column: Opportunities,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) {
    let c = || Expr::col((Opportunities::Table, column));
    if let Some(t) = from {
        q.and_where(c().gte(t));
    }
    if let Some(t) = to {
        q.and_where(c().lt(t));
    }
}

/// How many opportunities of each of `statuses` in `scope` have `column` in `[from, to)`, as
/// `(status, n)` rows (a status without any has none), in one statement: each status its own
/// range of the `(owner,) status, column` index. The status is written out, not bound (a
/// workflow's code, never a user's text): the won and lost are most of a book, and
/// PostgreSQL's plan for a bound status is made for the average one. `None` for no statuses.
fn count_per_status(
    scope: OwnerFilter,
    statuses: &[Status],
    column: Opportunities,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Option<SelectStatement> {
    let status = || Expr::col((Opportunities::Table, Opportunities::Status));
    let parts = statuses
        .iter()
        .map(|s| {
            let mut q = in_scope(scope);
            q.expr_as(status(), sea_query::Alias::new("status"))
                .expr_as(Expr::cust("COUNT(*)"), sea_query::Alias::new("n"))
                .and_where(status().eq(Expr::cust(format!("'{}'", s.code()))))
                .group_by_col((Opportunities::Table, Opportunities::Status));
            between(&mut q, column, from, to);
            q
        })
        .collect();
    page::union_all(parts)
}

/// `(source, n)` of the opportunities in `scope` created in `[from, to)`: one range of the
/// `(owner,) created_at, source` index, read alone.
fn count_per_source(
    scope: OwnerFilter,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> SelectStatement {
    let mut q = in_scope(scope);
    q.expr_as(
        Expr::col((Opportunities::Table, Opportunities::Source)),
        sea_query::Alias::new("source"),
    )
    .expr_as(Expr::cust("COUNT(*)"), sea_query::Alias::new("n"))
    .group_by_col((Opportunities::Table, Opportunities::Source));
    between(&mut q, Opportunities::CreatedAt, from, to);
    q
}

/// How many opportunities became or were linked to customer `customer_id`: while it has
/// any, it cannot be deleted for good (the pipeline's history would lose its result).
pub fn opportunities_of_customer(tx: &mut Tx, customer_id: i64) -> DependentsCount<'_> {
    Box::pin(async move {
        let q = opportunities(OwnerFilter::system())
            .select()
            .expr(Expr::col((Opportunities::Table, Opportunities::Id)).count())
            .and_where(Expr::col((Opportunities::Table, Opportunities::CustomerId)).eq(customer_id))
            .to_owned();
        let (n,): (i64,) = tx.fetch_one(&q).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    })
}

/// Writes `rows` as they are (their `id`, `owner_name` and `updated_at` aside), in multi-row
/// inserts, and records their creation in the audit log as `actor`'s: a bulk load written
/// around the workflow (`kehu demo`), which rebuilds the pipeline's totals after it
/// ([`OpportunityStore::rebuild_totals`]). Answers their ids in `rows`' order.
pub(crate) async fn insert_many(
    tx: &mut Tx,
    rows: &[Opportunity],
    actor: &Actor,
) -> StoreResult<Vec<i64>> {
    use Opportunities as O;
    let columns = [
        O::Title,
        O::ProspectName,
        O::Source,
        O::SuccessRate,
        O::ContactName,
        O::ContactPhone,
        O::Description,
        O::ExpectedAmount,
        O::Currency,
        O::ExpectedCloseDate,
        O::Status,
        O::OwnerId,
        O::AssigneeId,
        O::AssignedAt,
        O::FailureReason,
        O::CustomerId,
        O::ClosedAt,
        O::CreatedAt,
        O::CreatedBy,
        O::UpdatedAt,
        O::UpdatedBy,
    ];
    let values = rows
        .iter()
        .map(|o| {
            let last = o.closed_at.or(o.assigned_at).unwrap_or(o.created_at);
            vec![
                Expr::val(o.title.as_str()),
                Expr::val(o.prospect_name.as_str()),
                Expr::val(o.source.clone()),
                Expr::val(o.success_rate),
                Expr::val(o.contact_name.clone()),
                Expr::val(o.contact_phone.clone()),
                Expr::val(o.description.clone()),
                Expr::val(o.expected_amount),
                Expr::val(o.currency.as_str()),
                Expr::val(o.expected_close_date),
                Expr::val(o.status.as_str()),
                Expr::val(o.owner_id),
                Expr::val(o.assignee_id),
                Expr::val(o.assigned_at),
                Expr::val(o.failure_reason.clone()),
                Expr::val(o.customer_id),
                Expr::val(o.closed_at),
                Expr::val(o.created_at),
                Expr::val(o.created_by),
                Expr::val(last),
                Expr::val(o.assignee_id.or(o.created_by)),
            ]
        })
        .collect();
    let ids = kehu_store::write::insert_many(tx, O::Table, O::Id, &columns, values).await?;
    let audited: Vec<(i64, serde_json::Value)> = rows
        .iter()
        .zip(&ids)
        .map(|(o, id)| (*id, o.snapshot()))
        .collect();
    kehu_store::audit::record_created(tx, actor, "opportunity", &audited).await?;
    Ok(ids)
}

impl OpportunityStore {
    /// The database, for a bulk load's transactions ([`insert_many`]).
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use kehu_store::statement::Explain;

    use super::*;

    /// A SQLite database in a directory of its own, with the sales tables.
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

    /// User 7's own records.
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

    /// The pipeline report's counts, over everyone's and over a manager's own, in a period and
    /// in all time: SQLite answers each from an index alone (a covering index's range, or the
    /// whole of one for all time), never from the opportunities table.
    #[tokio::test]
    async fn the_pipeline_reports_counts_read_an_index_alone() {
        let (_dir, db) = migrated().await;
        let now = Utc::now();
        let periods = [
            (Some(now - chrono::Duration::days(30)), Some(now)),
            (None, None),
        ];
        let mut wrong = Vec::new();
        for scope in [OwnerFilter::system(), own()] {
            for (from, to) in periods {
                let all = Status::ALL;
                let closed = [Status::Success, Status::Failure];
                let statements = [
                    (
                        "by status",
                        count_per_status(scope, &all, Opportunities::CreatedAt, from, to).unwrap(),
                    ),
                    (
                        "closed",
                        count_per_status(scope, &closed, Opportunities::ClosedAt, from, to)
                            .unwrap(),
                    ),
                    ("by source", count_per_source(scope, from, to)),
                ];
                for (name, q) in statements {
                    let plan: Vec<(i64, i64, i64, String)> =
                        db.fetch_all(&Explain(&q)).await.unwrap();
                    let reads: Vec<&String> = plan
                        .iter()
                        .map(|(.., d)| d)
                        .filter(|d| d.contains(" opportunities"))
                        .collect();
                    let alone = !reads.is_empty()
                        && reads.iter().all(|d| d.contains("USING COVERING INDEX"));
                    if !alone {
                        wrong.push(format!("{name} {scope:?} {from:?}: {plan:?}"));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
        db.close().await;
    }
}
