//! The write kit: [`Db::write`] runs a closure in one transaction (begin → run → commit; an
//! error rolls back), and [`Record`] with [`create`], [`update`] and [`delete`] is the one
//! path for a change to a versioned business record: stamp who and when, check the version,
//! read the record back and write the audit entry in the same transaction. The store clears
//! its caches once the transaction is committed ([`Caches`], [`Db::write_then_clear`]).

use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{
    Alias, Expr, ExprTrait, Iden, JoinType, OnConflict, Query, SelectStatement, SimpleExpr,
};
use serde_json::Value;

use crate::audit::{self, Action, Actor};
use crate::db::{Db, Tx};
use crate::error::{StoreResult, unique_as};
use crate::schema::Users;

impl Db {
    /// Runs `f` in one write transaction: begin, run, commit. When `f` fails, nothing it did
    /// is kept (the dropped transaction rolls back) and its error is returned.
    pub async fn write<T>(&self, f: impl AsyncFnOnce(&mut Tx) -> StoreResult<T>) -> StoreResult<T> {
        let mut tx = self.begin().await?;
        let out = f(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// [`Db::write`], then clears `caches` once the change is committed (never before: a
    /// reader could otherwise cache the old value again).
    pub async fn write_then_clear<T>(
        &self,
        caches: &impl Caches,
        f: impl AsyncFnOnce(&mut Tx) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let out = self.write(f).await?;
        caches.clear();
        Ok(out)
    }
}

/// What a store keeps in memory about its records, forgotten after each committed change
/// (here and, through [`crate::notify`], on the other instances).
pub trait Caches {
    fn clear(&self);
}

impl Caches for crate::cache::AuthCache {
    fn clear(&self) {
        crate::cache::AuthCache::clear(self);
    }
}

/// A versioned business table: the columns every one has (`id`, `created_at/by`,
/// `updated_at/by`, `version`), the entity name in the audit log, and the field a duplicate
/// (unique violation) is reported on.
pub struct Table<C> {
    pub table: C,
    pub id: C,
    pub version: C,
    pub created_at: C,
    pub created_by: C,
    pub updated_at: C,
    pub updated_by: C,
    pub entity: &'static str,
    pub unique: &'static str,
}

/// A record of a versioned table as its store reads it back, and what the audit log keeps of
/// it.
pub trait Record: Sized {
    type Col: Iden + Copy + 'static;
    const TABLE: Table<Self::Col>;

    /// Reads record `id` in `tx`; `NotFound` when there is none.
    fn load(tx: &mut Tx, id: i64) -> impl std::future::Future<Output = StoreResult<Self>> + Send;

    fn id(&self) -> i64;

    /// The fields the audit log compares before and after a change.
    fn snapshot(&self) -> Value;
}

/// Reads record `id` with `select`, the store's own statement (joins and all): what a
/// [`Record::load`] is for a record that is one row.
pub async fn load_by_id<R: Record + crate::db::Row>(
    tx: &mut Tx,
    mut select: SelectStatement,
    id: i64,
) -> StoreResult<R> {
    let t = R::TABLE;
    select.and_where(Expr::col((t.table, t.id)).eq(id));
    tx.fetch_found(&select).await
}

/// Inserts a record with `values`, stamped with who and when (no audit entry: the seed data
/// and [`create`] use it). A duplicate is a conflict on the table's unique field.
pub async fn insert_row<R: Record>(
    tx: &mut Tx,
    values: Vec<(R::Col, SimpleExpr)>,
    actor: &Actor,
) -> StoreResult<i64> {
    insert_row_at::<R>(tx, values, actor, Utc::now()).await
}

/// [`insert_row`] stamped as created at `now` (a record whose other values count from that
/// instant: a service's due times).
pub async fn insert_row_at<R: Record>(
    tx: &mut Tx,
    values: Vec<(R::Col, SimpleExpr)>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let t = R::TABLE;
    let (mut cols, mut vals): (Vec<R::Col>, Vec<SimpleExpr>) = values.into_iter().unzip();
    cols.extend([t.created_at, t.created_by, t.updated_at, t.updated_by]);
    vals.extend([
        Expr::val(now),
        actor.user_id.into(),
        Expr::val(now),
        actor.user_id.into(),
    ]);
    let (id,): (i64,) = tx
        .fetch_one(
            Query::insert()
                .into_table(t.table)
                .columns(cols)
                .values_panic(vals)
                .returning_col(t.id),
        )
        .await
        .map_err(unique_as(t.unique))?;
    Ok(id)
}

/// Bound values per multi-row insert of [`insert_many`]: under SQLite's 32,766.
const BOUND_MAX: usize = 30_000;

/// Inserts `rows` (each the values of `columns`, in order) into `table` in multi-row inserts:
/// a bulk load written around the workflow (`kehu demo`), which stamps and audits its rows
/// itself ([`audit::record_created`]). Answers the new ids of `id`, in `rows`' order.
pub async fn insert_many<C: Iden + Copy + 'static>(
    tx: &mut Tx,
    table: C,
    id: C,
    columns: &[C],
    rows: Vec<Vec<SimpleExpr>>,
) -> StoreResult<Vec<i64>> {
    let per = (BOUND_MAX / columns.len().max(1)).max(1);
    let mut ids = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut q = Query::insert()
            .into_table(table)
            .columns(columns.iter().copied())
            .to_owned();
        let mut n = 0;
        for row in rows.by_ref().take(per) {
            q.values(row)
                .map_err(|e| anyhow::anyhow!("a bulk row: {e}"))?;
            n += 1;
        }
        q.returning_col(id);
        let mut got: Vec<(i64,)> = tx.fetch_all(&q).await?;
        // RETURNING promises no order, but one statement's rows take their ids in the order
        // of its VALUES on both databases (SQLite's rowids and PostgreSQL's sequence both
        // grow): sorted, the ids are the rows'.
        got.sort_unstable();
        if got.len() != n {
            return Err(anyhow::anyhow!("a bulk-loaded row was not read back").into());
        }
        ids.extend(got.into_iter().map(|(id,)| id));
    }
    Ok(ids)
}

/// Creates a record: inserts `values` (stamped), runs `then` with the new id (e.g. a role's
/// rights), reads the record back and records the creation in the audit log.
pub async fn create<R: Record>(
    tx: &mut Tx,
    values: Vec<(R::Col, SimpleExpr)>,
    actor: &Actor,
    then: impl AsyncFnOnce(&mut Tx, i64) -> StoreResult<()>,
) -> StoreResult<R> {
    create_at(tx, values, actor, Utc::now(), then).await
}

/// [`create`], stamped as created at `now`.
pub async fn create_at<R: Record>(
    tx: &mut Tx,
    values: Vec<(R::Col, SimpleExpr)>,
    actor: &Actor,
    now: DateTime<Utc>,
    then: impl AsyncFnOnce(&mut Tx, i64) -> StoreResult<()>,
) -> StoreResult<R> {
    let id = insert_row_at::<R>(tx, values, actor, now).await?;
    then(tx, id).await?;
    let after = R::load(tx, id).await?;
    let snap = after.snapshot();
    audit::record(
        tx,
        actor,
        Action::Create,
        R::TABLE.entity,
        id,
        None,
        Some(&snap),
    )
    .await?;
    Ok(after)
}

/// Changes record `before` if it still has `version`: sets `values` (stamped, the
/// version counted up), runs `then` (what else changes with it), reads the record back and
/// records the difference in the audit log. A changed version is `StaleVersion` and nothing
/// is written.
pub async fn update<R: Record>(
    tx: &mut Tx,
    before: &R,
    version: i32,
    values: Vec<(R::Col, SimpleExpr)>,
    actor: &Actor,
    then: impl AsyncFnOnce(&mut Tx) -> StoreResult<()>,
) -> StoreResult<R> {
    let (t, id) = (R::TABLE, before.id());
    let mut values = values;
    values.extend([
        (t.updated_at, Expr::val(Utc::now())),
        (t.updated_by, actor.user_id.into()),
        (t.version, Expr::col(t.version).add(1)),
    ]);
    let n = tx
        .execute(
            Query::update()
                .table(t.table)
                .values(values)
                .and_where(Expr::col(t.id).eq(id))
                .and_where(Expr::col(t.version).eq(version)),
        )
        .await
        .map_err(unique_as(t.unique))?;
    if n == 0 {
        return Err(kehu_domain::DomainError::StaleVersion.into());
    }
    then(tx).await?;
    let after = R::load(tx, id).await?;
    let (b, a) = (before.snapshot(), after.snapshot());
    audit::record(tx, actor, Action::Update, t.entity, id, Some(&b), Some(&a)).await?;
    Ok(after)
}

/// Deletes record `before` if it still has `version`, and records what it
/// held. A changed version is `StaleVersion`, and nothing is deleted.
pub async fn delete<R: Record>(
    tx: &mut Tx,
    before: &R,
    version: i32,
    actor: &Actor,
) -> StoreResult<()> {
    let (t, id) = (R::TABLE, before.id());
    let n = tx
        .execute(
            Query::delete()
                .from_table(t.table)
                .and_where(Expr::col(t.id).eq(id))
                .and_where(Expr::col(t.version).eq(version)),
        )
        .await?;
    if n == 0 {
        return Err(kehu_domain::DomainError::StaleVersion.into());
    }
    let b = before.snapshot();
    audit::record(tx, actor, Action::Delete, t.entity, id, Some(&b), None).await
}

/// The records of one module that hang off another module's record (orders off a customer)
/// and forbid deleting that record for good: they would go with it, unaudited, and its
/// history (revenue, what was said) with them. `count` counts them within the deleting
/// transaction; `message` is the key of the refusal's message.
#[derive(Clone, Copy)]
pub struct Dependents {
    /// The kind of record they hang off, e.g. `customer`.
    pub record: &'static str,
    pub message: &'static str,
    pub count: for<'a> fn(&'a mut Tx, i64) -> DependentsCount<'a>,
}

/// What [`Dependents::count`] answers.
pub type DependentsCount<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<u64>> + Send + 'a>>;

impl std::fmt::Debug for Dependents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dependents")
            .field("record", &self.record)
            .field("message", &self.message)
            .finish()
    }
}

/// What a module does in the transaction of something that happened to another module's
/// record, without either crate naming the other: the orders module says "customer 7 ordered
/// (order 12, on this day)", and the loss module closes the customer's loss warning as won
/// back in the same transaction, whether the order came from a page, the API or an import.
#[derive(Clone, Copy)]
pub struct Reaction {
    /// What happened, `<record>.<what>`: [`CUSTOMER_ORDERED`].
    pub event: &'static str,
    pub run: for<'a> fn(&'a mut Tx, &'a Event, &'a Actor) -> Reacting<'a>,
}

/// A customer ordered: `record_id` the customer, `cause_id` the order, `on` the order's day
/// (midnight in the configured time zone, as `last_order_at` keeps it).
pub const CUSTOMER_ORDERED: &str = "customer.ordered";

/// What happened to a record, as a [`Reaction`] hears it.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub record_id: i64,
    /// The record that made it happen (the order).
    pub cause_id: Option<i64>,
    pub on: DateTime<Utc>,
}

/// What [`Reaction::run`] answers.
pub type Reacting<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<()>> + Send + 'a>>;

impl std::fmt::Debug for Reaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reaction")
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

/// Runs the reactions to `event` among `reactions`, in order, in `tx`.
pub async fn react(
    tx: &mut Tx,
    reactions: &[Reaction],
    event: &str,
    what: &Event,
    actor: &Actor,
) -> StoreResult<()> {
    for r in reactions.iter().filter(|r| r.event == event) {
        (r.run)(tx, what, actor).await?;
    }
    Ok(())
}

/// Refuses (`NotAllowed`, with the first one's message) when any of `dependents` has records
/// hanging off record `id`: what a delete for good checks first, in its transaction.
pub async fn refuse_with_dependents(
    tx: &mut Tx,
    dependents: &[Dependents],
    id: i64,
) -> StoreResult<()> {
    for d in dependents {
        if (d.count)(tx, id).await? > 0 {
            return Err(kehu_domain::DomainError::NotAllowed(d.message).into());
        }
    }
    Ok(())
}

/// Who saved a versioned record last, and when: what a form shows beside the user's edits
/// when their save met a newer version ("王五 saved this record at 14:05").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastChange {
    pub at: DateTime<Utc>,
    /// The display name of the user who saved it; `None` when the system did (CLI, jobs,
    /// seed data) or that user is gone.
    pub by: Option<String>,
}

/// The [`LastChange`] of record `id`; `NotFound` when there is none.
pub async fn last_change<R: Record>(db: &Db, id: i64) -> StoreResult<LastChange> {
    let t = R::TABLE;
    // The users table may be the record's own table: the editor is joined under an alias.
    let editor = Alias::new("editor");
    let q = Query::select()
        .expr(Expr::col((t.table, t.updated_at)))
        .expr(Expr::col((editor.clone(), Users::DisplayName)))
        .from(t.table)
        .join_as(
            JoinType::LeftJoin,
            Users::Table,
            editor.clone(),
            Expr::col((editor, Users::Id)).equals((t.table, t.updated_by)),
        )
        .and_where(Expr::col((t.table, t.id)).eq(id))
        .to_owned();
    let row: Option<(DateTime<Utc>, Option<String>)> = db.fetch_optional(&q).await?;
    let (at, by) = row.ok_or(kehu_domain::DomainError::NotFound)?;
    Ok(LastChange { at, by })
}

/// A table counting the numbers given out each day (customer codes, order and service
/// numbers): `day` (`YYYYMMDD`, the key) and `last`.
#[derive(Debug, Clone, Copy)]
pub struct DayCounter<C> {
    pub table: C,
    pub day: C,
    pub last: C,
}

/// The next number of `day` in `counter`: one statement counts the day's sequence up and
/// returns it. The counter's row stays locked until the transaction ends, so two writers
/// never get the same number and a rolled-back one gives its number back.
pub async fn next_of_day<C: Iden + Copy + 'static>(
    tx: &mut Tx,
    counter: DayCounter<C>,
    day: NaiveDate,
) -> StoreResult<i64> {
    reserve_of_day(tx, counter, day, 1).await
}

/// Reserves `n` consecutive numbers of `day` in `counter` in one statement (an import batch);
/// returns the first. Locked like [`next_of_day`] until the transaction ends.
pub async fn reserve_of_day<C: Iden + Copy + 'static>(
    tx: &mut Tx,
    counter: DayCounter<C>,
    day: NaiveDate,
    n: i64,
) -> StoreResult<i64> {
    let key = day.format("%Y%m%d").to_string();
    let (last,): (i64,) = tx
        .fetch_one(
            Query::insert()
                .into_table(counter.table)
                .columns([counter.day, counter.last])
                .values_panic([key.into(), n.into()])
                .on_conflict(
                    OnConflict::column(counter.day)
                        .value(
                            counter.last,
                            Expr::col((counter.table, counter.last)).add(n),
                        )
                        .to_owned(),
                )
                .returning_col(counter.last),
        )
        .await?;
    Ok(last - n + 1)
}
