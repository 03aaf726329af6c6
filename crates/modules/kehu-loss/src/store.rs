//! The loss store: loss records (客户流失) in the caller's data scope, their measures, the
//! scan that opens them and the win-back that closes them. A record is its customer's account
//! manager's; supervisors see all. Every change goes through the write kit (version checked,
//! audited) and moves the customer's status (`kehu_customers::store::set_status`) in the same
//! transaction.

use chrono::{DateTime, FixedOffset, Utc};
use kehu_customers::domain::Status as CustomerStatus;
use kehu_customers::store as customer_store;
use kehu_domain::policy::OwnerFilter;
use kehu_store::audit::{self, Actor};
use kehu_store::db::{Backend, Db, Tx};
use kehu_store::page::{self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey};
use kehu_store::schema::Users;
use kehu_store::scope::{Owned, Scoped};
use kehu_store::write::{self, Event, Record, Table};
use kehu_store::{StoreError, StoreResult};
use sea_query::{Alias, Expr, ExprTrait, JoinType, OnConflict, Order, Query, SelectStatement};
use serde::Serialize;

use crate::domain::{ConfirmDraft, MeasureDraft, Settings, Status};
use crate::measures;
pub use crate::measures::Measure;
use crate::progress::{self, ScanRow};
use crate::schema::LossRecords;

/// The one builder of every statement on `loss_records` except the scan's insert: the owner
/// condition of `scope` is already in it.
fn records(scope: OwnerFilter) -> Scoped<LossRecords> {
    Scoped::new(
        Owned {
            table: LossRecords::Table,
            owner: LossRecords::OwnerId,
        },
        scope,
    )
}

/// The alias of the customer's facts joined onto a record.
fn cf() -> Alias {
    Alias::new("cf")
}

fn col(c: LossRecords) -> Expr {
    Expr::col((LossRecords::Table, c))
}

/// The live records (not won back): the condition of the unique index
/// `ux_loss_records_live`, word for word.
const LIVE: &str = "\"loss_records\".\"status\" <> 'won_back'";

/// The open records (warning, deferring): the customer is at risk.
const OPEN: &str = "\"loss_records\".\"status\" IN ('warning', 'deferring')";

/// A loss record as stored, with its customer's code, name and region and its manager's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LossRecord {
    pub id: i64,
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    pub region: Option<String>,
    /// The account manager.
    pub owner_id: i64,
    pub owner_name: String,
    /// The customer's last order when warned (none: it never ordered).
    pub last_order_at: Option<DateTime<Utc>>,
    pub warned_at: DateTime<Utc>,
    pub status: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirmed_by: Option<i64>,
    pub won_back_at: Option<DateTime<Utc>>,
    pub won_back_order_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl LossRecord {
    pub fn status(&self) -> Status {
        Status::from_code(&self.status).unwrap_or(Status::Warning)
    }

    /// Whole days from the last order (or, never ordered, from the warning) to `now`.
    pub fn days_since_order(&self, now: DateTime<Utc>) -> Option<i64> {
        self.last_order_at
            .map(|t| Ord::max((now - t).num_days(), 0))
    }
}

const COLUMNS: &[LossRecords] = &[
    LossRecords::Id,
    LossRecords::CustomerId,
    LossRecords::OwnerId,
    LossRecords::LastOrderAt,
    LossRecords::WarnedAt,
    LossRecords::Status,
    LossRecords::Reason,
    LossRecords::Detail,
    LossRecords::ConfirmedAt,
    LossRecords::ConfirmedBy,
    LossRecords::WonBackAt,
    LossRecords::WonBackOrderId,
    LossRecords::CreatedAt,
    LossRecords::UpdatedAt,
    LossRecords::Version,
];

/// `q` (a select of records) with a record's columns, its customer's and manager's.
fn with_columns(mut q: SelectStatement) -> SelectStatement {
    q.columns(COLUMNS.iter().map(|c| (LossRecords::Table, *c)))
        .expr_as(
            Expr::col((cf(), Alias::new("code"))),
            Alias::new("customer_code"),
        )
        .expr_as(
            Expr::col((cf(), Alias::new("name"))),
            Alias::new("customer_name"),
        )
        .expr_as(
            Expr::col((cf(), Alias::new("region"))),
            Alias::new("region"),
        )
        .expr_as(
            Expr::col((Users::Table, Users::DisplayName)),
            Alias::new("owner_name"),
        )
        .join_subquery(
            JoinType::InnerJoin,
            customer_store::loss_facts(),
            cf(),
            Expr::col((cf(), Alias::new("id")))
                .equals((LossRecords::Table, LossRecords::CustomerId)),
        )
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((LossRecords::Table, LossRecords::OwnerId)),
        );
    q
}

/// The records in `scope`, nothing selected: where the measures' selects start.
pub(crate) fn in_scope(scope: OwnerFilter) -> SelectStatement {
    records(scope).select()
}

/// The record's id column, for the measures' join.
pub(crate) fn id_column() -> Expr {
    col(LossRecords::Id)
}

fn select_records(scope: OwnerFilter) -> SelectStatement {
    with_columns(records(scope).select())
}

fn by_id(mut q: SelectStatement, id: i64) -> SelectStatement {
    q.and_where(col(LossRecords::Id).eq(id));
    q
}

impl Record for LossRecord {
    type Col = LossRecords;
    const TABLE: Table<LossRecords> = Table {
        table: LossRecords::Table,
        id: LossRecords::Id,
        version: LossRecords::Version,
        created_at: LossRecords::CreatedAt,
        created_by: LossRecords::CreatedBy,
        updated_at: LossRecords::UpdatedAt,
        updated_by: LossRecords::UpdatedBy,
        entity: "loss_record",
        unique: "customer_id",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_records(OwnerFilter::system()), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "customer_id": self.customer_id, "owner_id": self.owner_id,
            "last_order_at": self.last_order_at, "status": self.status,
            "reason": self.reason, "detail": self.detail,
            "won_back_order_id": self.won_back_order_id,
        })
    }
}

/// Filters of the loss list.
#[derive(Debug, Clone, Default)]
pub struct LossFilter {
    pub status: Option<Status>,
    /// Warning or deferring: the customers at risk.
    pub open: bool,
    pub owner_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// The customer's region (dictionary `region`).
    pub region: Option<String>,
    /// Warned at or after.
    pub warned_from: Option<DateTime<Utc>>,
    /// Warned before.
    pub warned_to: Option<DateTime<Utc>>,
    /// Confirmed lost at or after (the loss report, 客户流失分析).
    pub confirmed_from: Option<DateTime<Utc>>,
    /// Confirmed lost before.
    pub confirmed_to: Option<DateTime<Utc>>,
}

impl LossFilter {
    fn apply(&self, q: &mut SelectStatement) {
        if let Some(s) = self.status {
            // Written out, not bound: the codes are ours, and PostgreSQL plans each status
            // for what it is (most records are won back or confirmed).
            q.and_where(col(LossRecords::Status).eq(Expr::cust(format!("'{}'", s.code()))));
        }
        if self.open {
            q.and_where(Expr::cust(OPEN));
        }
        if let Some(o) = self.owner_id {
            q.and_where(col(LossRecords::OwnerId).eq(o));
        }
        if let Some(c) = self.customer_id {
            q.and_where(col(LossRecords::CustomerId).eq(c));
        }
        if let Some(r) = self.region.as_deref().filter(|r| !r.is_empty()) {
            q.and_where(col(LossRecords::CustomerId).in_subquery(customer_store::ids_in_region(r)));
        }
        if let Some(t) = self.warned_from {
            q.and_where(col(LossRecords::WarnedAt).gte(t));
        }
        if let Some(t) = self.warned_to {
            q.and_where(col(LossRecords::WarnedAt).lt(t));
        }
        if let Some(t) = self.confirmed_from {
            q.and_where(col(LossRecords::ConfirmedAt).gte(t));
        }
        if let Some(t) = self.confirmed_to {
            q.and_where(col(LossRecords::ConfirmedAt).lt(t));
        }
    }
}

/// The loss list's sorts, each with an index on `(column, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossSort {
    /// When warned, newest first.
    Warned,
    /// The last order, longest ago first (the most days without an order).
    LastOrder,
    /// When confirmed lost, newest first (never confirmed sorts as the oldest).
    Confirmed,
}

impl SortKey for LossSort {
    const ALL: &'static [Self] = &[LossSort::Warned, LossSort::LastOrder, LossSort::Confirmed];
    const DEFAULT: Sort<Self> = Sort {
        key: LossSort::Warned,
        dir: Dir::Desc,
    };

    fn code(self) -> &'static str {
        match self {
            LossSort::Warned => "warned_at",
            LossSort::LastOrder => "last_order_at",
            LossSort::Confirmed => "confirmed_at",
        }
    }

    fn kind(self) -> KeyKind {
        KeyKind::Time
    }

    fn column(self) -> Expr {
        match self {
            LossSort::Warned => col(LossRecords::WarnedAt),
            LossSort::LastOrder => col(LossRecords::LastOrderAt),
            LossSort::Confirmed => col(LossRecords::ConfirmedAt),
        }
    }

    fn nullable(self) -> bool {
        self != LossSort::Warned
    }

    fn first_dir(self) -> Dir {
        match self {
            LossSort::Warned | LossSort::Confirmed => Dir::Desc,
            LossSort::LastOrder => Dir::Asc,
        }
    }
}

impl Keyed<LossSort> for LossRecord {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, key: LossSort) -> KeyValue {
        match key {
            LossSort::Warned => KeyValue::from(Some(self.warned_at)),
            LossSort::LastOrder => KeyValue::from(self.last_order_at),
            LossSort::Confirmed => KeyValue::from(self.confirmed_at),
        }
    }
}

/// What one scan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScanFigures {
    /// Customers looked at (not in the trash).
    pub scanned: i64,
    /// Loss warnings opened.
    pub warned: i64,
    /// Live records closed as won back (a newer order the scan found).
    pub closed: i64,
    /// Batches that failed and were tried again.
    pub errors: i64,
}

/// Customers per batch of the scan: one transaction each, its progress recorded with it. A
/// nightly batch holds the writer for some tens of milliseconds; the first scan of a book
/// (28.7 % of a million warned) for about a second each. Fewer, larger batches write less: a
/// batch's warnings land anywhere in the indexes by last order and the audit log's, and
/// each transaction writes every page it touched again (the first scan at a million on
/// SQLite took 12.1 s in batches of 20,000).
pub const BATCH: i64 = 100_000;
/// Tries per batch before the scan stops (to be taken up where it stopped).
const TRIES: u32 = 3;
/// The tables a scan writes, whose statistics it renews when it wrote (PostgreSQL).
const TABLES: &[&str] = &["loss_records", "customers"];

#[derive(Clone, Debug)]
pub struct LossStore {
    db: Db,
    /// The configured time zone's offset: the day the threshold counts back from.
    utc_offset: FixedOffset,
}

impl LossStore {
    pub fn new(db: Db, utc_offset: FixedOffset) -> Self {
        Self { db, utc_offset }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// One page of the loss records in `scope`.
    pub async fn list(
        &self,
        scope: OwnerFilter,
        f: &LossFilter,
        req: impl Into<ListRequest<LossSort>>,
    ) -> StoreResult<Listing<LossRecord>> {
        let mut q = select_records(scope);
        f.apply(&mut q);
        let mut count = records(scope).select().expr(Expr::cust("1")).to_owned();
        f.apply(&mut count);
        page::fetch(&self.db, &q, count, col(LossRecords::Id), &req.into()).await
    }

    /// How many records in `scope` under `f` have each reason (`None`: none given), most
    /// first: the loss report's breakdown of confirmed losses.
    pub async fn reasons(
        &self,
        scope: OwnerFilter,
        f: &LossFilter,
    ) -> StoreResult<Vec<(Option<String>, i64)>> {
        let mut q = records(scope)
            .select()
            .expr_as(col(LossRecords::Reason), Alias::new("reason"))
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .group_by_col((LossRecords::Table, LossRecords::Reason))
            .to_owned();
        f.apply(&mut q);
        let mut rows: Vec<(Option<String>, i64)> = self.db.fetch_all(&q).await?;
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(rows)
    }

    /// Record `id` if it is in `scope`.
    pub async fn get(&self, scope: OwnerFilter, id: i64) -> StoreResult<LossRecord> {
        self.db.fetch_found(&by_id(select_records(scope), id)).await
    }

    /// The measures of records `ids` (in `scope`), oldest first.
    pub async fn measures(&self, scope: OwnerFilter, ids: &[i64]) -> StoreResult<Vec<Measure>> {
        measures::of(&self.db, scope, ids).await
    }

    /// Every record of customer `customer_id` in `scope`, newest first (its 360° page).
    pub async fn of_customer(
        &self,
        scope: OwnerFilter,
        customer_id: i64,
    ) -> StoreResult<Vec<LossRecord>> {
        let q = select_records(scope)
            .and_where(col(LossRecords::CustomerId).eq(customer_id))
            .order_by((LossRecords::Table, LossRecords::WarnedAt), Order::Desc)
            .order_by((LossRecords::Table, LossRecords::Id), Order::Desc)
            .limit(50)
            .to_owned();
        Ok(self.db.fetch_all(&q).await?)
    }

    /// Logs measure `d` on record `id` (in `scope`), which must be open (`err-loss-closed`
    /// otherwise); a warning becomes deferring. Audited.
    pub async fn add_measure(
        &self,
        scope: OwnerFilter,
        id: i64,
        d: &MeasureDraft,
        actor: &Actor,
    ) -> StoreResult<Measure> {
        self.db
            .write(async |tx| {
                let before = locked(tx, scope, id).await?;
                let next = before.status().after_measure()?;
                let m = measures::create(tx, id, &d.0, actor).await?;
                if next != before.status() {
                    let values = vec![(LossRecords::Status, Expr::val(next.code()))];
                    write::update(tx, &before, before.version, values, actor, async |_| Ok(()))
                        .await?;
                }
                Ok(m)
            })
            .await
    }

    /// Confirms the loss of record `id` (in `scope`; open, `err-loss-closed` otherwise) with
    /// `d`'s reason: the customer becomes lost. `version`: the one the user saw (a stale one is
    /// `StaleVersion`), none for the current one. Audited.
    pub async fn confirm(
        &self,
        scope: OwnerFilter,
        id: i64,
        d: &ConfirmDraft,
        version: Option<i32>,
        actor: &Actor,
    ) -> StoreResult<LossRecord> {
        self.db
            .write(async |tx| {
                let before = locked(tx, scope, id).await?;
                let next = before.status().after_confirm()?;
                let values = vec![
                    (LossRecords::Status, Expr::val(next.code())),
                    (LossRecords::Reason, Expr::val(d.reason.as_str())),
                    (LossRecords::Detail, Expr::val(d.detail.clone())),
                    (LossRecords::ConfirmedAt, Expr::val(Utc::now())),
                    (LossRecords::ConfirmedBy, Expr::val(actor.user_id)),
                ];
                let version = version.unwrap_or(before.version);
                let after =
                    write::update(tx, &before, version, values, actor, async |_| Ok(())).await?;
                customer_store::set_status(
                    tx,
                    &[before.customer_id],
                    &[CustomerStatus::LossWarned],
                    CustomerStatus::Lost,
                    actor,
                )
                .await?;
                Ok(after)
            })
            .await
    }

    /// The loss scan: opens a warning for every active customer whose last order (or, never
    /// ordered and `s.never_ordered`, creation) lies before the threshold's cutoff today, and
    /// closes as won back the live records whose customer has ordered since. Batches of
    /// [`BATCH`] customers by id, one transaction each with its progress: a scan that stopped
    /// is taken up where it stopped by the next one on the same day's cutoff. Idempotent: a
    /// customer's one live record is the unique index's (`ON CONFLICT DO NOTHING`), so a scan
    /// run twice, or two at once, warns each customer once. `progress` hears the customer id
    /// each batch has reached and the highest.
    pub async fn scan(
        &self,
        s: Settings,
        actor: &Actor,
        mut progress: impl FnMut(i64, i64),
    ) -> StoreResult<ScanFigures> {
        let today = Utc::now().with_timezone(&self.utc_offset).date_naive();
        let cutoff = s.threshold.cutoff(today, self.utc_offset);
        let (row, mut figures) = progress::take_up(&self.db, cutoff, s.never_ordered).await?;
        let (max,): (Option<i64>,) = self.db.fetch_one(&customer_store::max_id()).await?;
        let max = max.unwrap_or(0);
        let mut done = row.done_to;
        while done < max {
            let upto = Ord::min(done + BATCH, max);
            let mut tries = 0;
            let batch = loop {
                tries += 1;
                let r = self
                    .db
                    .write(async |tx| {
                        let b = scan_batch(tx, &row, done, upto, actor).await?;
                        progress::batch_done(tx, row.id, upto, &b).await?;
                        Ok::<_, StoreError>(b)
                    })
                    .await;
                match r {
                    Ok(b) => break b,
                    Err(e) if tries < TRIES => {
                        tracing::warn!(error = %e, after = done, "loss scan: a batch failed, trying it again");
                        figures.errors += 1;
                        tokio_sleep(tries).await;
                    }
                    Err(e) => return Err(e),
                }
            };
            // The first warnings of a book that had none: PostgreSQL's plans of the list
            // were made for an empty table (5 s a page at 287,000 records), so its
            // statistics are renewed at once, not when autovacuum comes round.
            if figures.warned == 0 && batch.warned > 0 {
                self.db.analyze(&[TABLES[0]]).await?;
            }
            figures.scanned += batch.scanned;
            figures.warned += batch.warned;
            figures.closed += batch.closed;
            done = upto;
            progress(done, max);
        }
        progress::finished(&self.db, row.id).await?;
        if figures.warned + figures.closed > 0 {
            self.db.analyze(TABLES).await?;
        }
        Ok(figures)
    }
}

/// A short pause before a failed batch is tried again.
async fn tokio_sleep(tries: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(tries))).await;
}

/// Record `id` in `scope`, read in `tx` (locked for the change on PostgreSQL).
async fn locked(tx: &mut Tx, scope: OwnerFilter, id: i64) -> StoreResult<LossRecord> {
    let mut q = by_id(records(scope).select(), id);
    q.column((LossRecords::Table, LossRecords::Id));
    records(scope).lock(&mut q);
    let (found,): (i64,) = tx.fetch_found(&q).await?;
    LossRecord::load(tx, found).await
}

/// One batch of the scan: customers with an id in `(after, upto]`.
async fn scan_batch(
    tx: &mut Tx,
    scan: &ScanRow,
    after: i64,
    upto: i64,
    actor: &Actor,
) -> StoreResult<ScanFigures> {
    use LossRecords as R;
    let now = Utc::now();
    let (scanned,): (i64,) = tx
        .fetch_one(&customer_store::count_between(after, upto))
        .await?;
    // The warnings: one insert of the batch's stale customers; a customer with a live record
    // already is the unique index's conflict, and skipped.
    let stale = customer_store::stale(after, upto, scan.cutoff, scan.never_ordered);
    let s = Alias::new("s");
    // A select of the customers' subquery, not of an owned table (hence no scoped builder).
    let source = SelectStatement::new()
        .column((s.clone(), Alias::new("id")))
        .column((s.clone(), Alias::new("owner_id")))
        .column((s.clone(), Alias::new("last_order_at")))
        .exprs([
            Expr::val(now),
            Expr::val(Status::Warning.code()),
            Expr::val(now),
            Expr::val(actor.user_id),
            Expr::val(now),
            Expr::val(actor.user_id),
        ])
        .from_subquery(stale, s.clone())
        // SQLite reads `ON CONFLICT` after a bare `FROM` as a join's `ON`: a `WHERE` ends it.
        .and_where(Expr::col((s, Alias::new("id"))).is_not_null())
        .to_owned();
    let insert = Query::insert()
        .into_table(R::Table)
        .columns([
            R::CustomerId,
            R::OwnerId,
            R::LastOrderAt,
            R::WarnedAt,
            R::Status,
            R::CreatedAt,
            R::CreatedBy,
            R::UpdatedAt,
            R::UpdatedBy,
        ])
        .select_from(source)
        .map_err(|e| anyhow::anyhow!("the scan's insert: {e}"))?
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    let warned = tx.execute(&insert).await?;
    if warned > 0 {
        // This batch's warnings (their moment is the batch's own): the customers warned, and
        // the records' creation in the audit log, each in one statement.
        let opened = || {
            records(OwnerFilter::system())
                .select()
                .and_where(col(R::CustomerId).gt(after))
                .and_where(col(R::CustomerId).lte(upto))
                .and_where(col(R::WarnedAt).eq(now))
                .and_where(col(R::Status).eq(Status::Warning.code()))
                .to_owned()
        };
        let customers = opened().column((R::Table, R::CustomerId)).to_owned();
        customer_store::set_status_of(
            tx,
            customers,
            &[CustomerStatus::Active],
            CustomerStatus::LossWarned,
            actor,
        )
        .await?;
        let entries = opened()
            .expr_as(
                col(R::Id).cast_as(Alias::new("TEXT")),
                Alias::new("entity_id"),
            )
            .expr_as(created_changes(tx.backend()), Alias::new("changes"))
            .to_owned();
        audit::record_each(tx, actor, audit::Action::Create, "loss_record", entries).await?;
    }

    // The live records of the batch's customers, with their customer's manager and last
    // order now: closed when it ordered since, given to its manager when that changed.
    let q = records(OwnerFilter::system())
        .select()
        .column((R::Table, R::Id))
        .column((R::Table, R::OwnerId))
        .column((R::Table, R::LastOrderAt))
        .expr_as(
            Expr::col((cf(), Alias::new("owner_id"))),
            Alias::new("now_owner"),
        )
        .expr_as(
            Expr::col((cf(), Alias::new("last_order_at"))),
            Alias::new("now_last"),
        )
        .join_subquery(
            JoinType::InnerJoin,
            customer_store::loss_facts(),
            cf(),
            Expr::col((cf(), Alias::new("id"))).equals((R::Table, R::CustomerId)),
        )
        .and_where(col(R::CustomerId).gt(after))
        .and_where(col(R::CustomerId).lte(upto))
        .and_where(Expr::cust(LIVE))
        .and_where(
            Expr::col((cf(), Alias::new("owner_id")))
                .ne(col(R::OwnerId))
                .or(Expr::col((cf(), Alias::new("last_order_at")))
                    .is_not_null()
                    .and(col(R::LastOrderAt).is_null().or(
                        Expr::col((cf(), Alias::new("last_order_at"))).gt(col(R::LastOrderAt)),
                    ))),
        )
        .to_owned();
    type Live = (i64, i64, Option<DateTime<Utc>>, i64, Option<DateTime<Utc>>);
    let live: Vec<Live> = tx.fetch_all(&q).await?;
    let mut closed = 0;
    for (id, owner, last, now_owner, now_last) in live {
        let ordered = match (last, now_last) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(l), Some(n)) => n > l,
        };
        if ordered {
            close_won_back(tx, id, None, actor).await?;
            closed += 1;
        } else if owner != now_owner {
            let before = LossRecord::load(tx, id).await?;
            let values = vec![(R::OwnerId, Expr::val(now_owner))];
            write::update(tx, &before, before.version, values, actor, async |_| Ok(())).await?;
        }
    }
    Ok(ScanFigures {
        scanned,
        warned: i64::try_from(warned).unwrap_or(i64::MAX),
        closed,
        errors: 0,
    })
}

/// The audit log's changes of a record the scan opened (what `Record::snapshot` would
/// write, as `audit::diff` of nothing to it), built by the database for a batch at once.
fn created_changes(backend: Backend) -> Expr {
    let fields = ["customer_id", "owner_id", "last_order_at", "status"];
    let (object, cast) = match backend {
        Backend::Sqlite => ("json_object", ""),
        Backend::Postgres => ("json_build_object", "::text"),
    };
    let pairs: Vec<String> = fields
        .iter()
        .map(|f| format!("'{f}', {object}('after', \"loss_records\".\"{f}\", 'before', NULL)"))
        .collect();
    Expr::cust(format!("{object}({}){cast}", pairs.join(", ")))
}

/// Closes live record `id` as won back (by order `order_id`, if one is known): its customer is
/// active again. Audited.
async fn close_won_back(
    tx: &mut Tx,
    id: i64,
    order_id: Option<i64>,
    actor: &Actor,
) -> StoreResult<()> {
    let before = LossRecord::load(tx, id).await?;
    let values = vec![
        (LossRecords::Status, Expr::val(Status::WonBack.code())),
        (LossRecords::WonBackAt, Expr::val(Utc::now())),
        (LossRecords::WonBackOrderId, Expr::val(order_id)),
    ];
    write::update(tx, &before, before.version, values, actor, async |_| Ok(())).await?;
    customer_store::set_status(
        tx,
        &[before.customer_id],
        &[CustomerStatus::LossWarned, CustomerStatus::Lost],
        CustomerStatus::Active,
        actor,
    )
    .await?;
    Ok(())
}

/// The win-back (`write::CUSTOMER_ORDERED`, in the order's transaction): a live record of the
/// customer whose last order lies before the new order's day is closed as won back by it, the
/// customer active again. An order dated before the record's last order (an import of old
/// history) wins nobody back.
pub async fn won_back(tx: &mut Tx, ordered: &Event, actor: &Actor) -> StoreResult<()> {
    let q = records(OwnerFilter::system())
        .select()
        .column((LossRecords::Table, LossRecords::Id))
        .and_where(col(LossRecords::CustomerId).eq(ordered.record_id))
        .and_where(Expr::cust(LIVE))
        .and_where(
            col(LossRecords::LastOrderAt)
                .is_null()
                .or(col(LossRecords::LastOrderAt).lt(ordered.on)),
        )
        .to_owned();
    let ids: Vec<(i64,)> = tx.fetch_all(&q).await?;
    for (id,) in ids {
        close_won_back(tx, id, ordered.cause_id, actor).await?;
    }
    Ok(())
}
