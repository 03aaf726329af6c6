//! 客户价值: what the customer-value analysis (kehu-reports' nightly job) found for each
//! customer that ordered — RFM scores and segment, ABC class, value class, cluster, P(alive),
//! expected purchases, lifetime value — one row per customer in `customer_values`, which each
//! run replaces. Read in a data scope: the lists of the highest lifetime value and the lowest
//! P(alive), and the counts behind the RFM grid and the value classes.

use chrono::NaiveDate;
use kehu_domain::policy::OwnerFilter;
use kehu_store::StoreResult;
use kehu_store::db::{Db, Tx};
use kehu_store::page::{self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey};
use kehu_store::scope::{OwnedVia, Scoped};
use sea_query::{Alias, Expr, ExprTrait, Func, JoinType, OnConflict, Query};
use serde::Serialize;

use crate::schema::CustomerValues as V;

/// The segments the analysis names (kehu-analytics' RFM segments), best first.
pub const SEGMENTS: &[&str] = &[
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "cant_lose",
    "at_risk",
    "hibernating",
    "lost",
];

/// The four value classes, in the order of the quadrant.
pub const VALUE_CLASSES: &[&str] = &["high", "sub", "potential", "low"];

/// The customer list's filters on what the analysis found: a value row of the customer whose
/// id is `id` with that segment and value class (none given: `None`). One probe of the
/// primary key per customer.
pub(crate) fn matching(
    segment: Option<&str>,
    value_class: Option<&str>,
    id: Expr,
) -> Option<sea_query::SelectStatement> {
    if segment.is_none() && value_class.is_none() {
        return None;
    }
    let mut q = values(OwnerFilter::system())
        .select()
        .expr(Expr::cust("1"))
        .and_where(col(V::CustomerId).eq(id))
        .to_owned();
    if let Some(s) = segment {
        q.and_where(col(V::Segment).eq(s));
    }
    if let Some(c) = value_class {
        q.and_where(col(V::ValueClass).eq(c));
    }
    Some(q)
}

/// The one builder of every statement on `customer_values` except the upsert.
fn values(scope: OwnerFilter) -> Scoped<V> {
    Scoped::new(
        OwnedVia {
            table: V::Table,
            parent_id: V::CustomerId,
            parents: crate::store::ids_in_scope,
        },
        scope,
    )
}

fn col(c: V) -> Expr {
    Expr::col((V::Table, c))
}

/// One customer's values as a run writes them.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CustomerValue {
    pub customer_id: i64,
    pub run_id: i64,
    pub r: i16,
    pub f: i16,
    pub m: i16,
    /// `champions`, `loyal` … (kehu-analytics' segments).
    pub segment: String,
    /// `A`, `B` or `C`.
    pub abc: String,
    /// `high`, `sub`, `potential` or `low`.
    pub value_class: String,
    pub cluster: i32,
    /// Millionths.
    pub p_alive: i32,
    pub expected_purchases: f64,
    /// Fen.
    pub clv: i64,
    /// Fen.
    pub revenue: i64,
    pub orders: i32,
    pub last_purchase: Option<NaiveDate>,
}

const COLUMNS: [V; 15] = [
    V::CustomerId,
    V::RunId,
    V::R,
    V::F,
    V::M,
    V::Segment,
    V::Abc,
    V::ValueClass,
    V::Cluster,
    V::PAlive,
    V::ExpectedPurchases,
    V::Clv,
    V::Revenue,
    V::Orders,
    V::LastPurchase,
];

/// Writes `rows` in `tx`, replacing what an earlier run found for the same customers.
pub async fn put(tx: &mut Tx, rows: &[CustomerValue]) -> StoreResult<()> {
    for chunk in rows.chunks(500) {
        let mut q = Query::insert()
            .into_table(V::Table)
            .columns(COLUMNS)
            .to_owned();
        for v in chunk {
            q.values_panic([
                v.customer_id.into(),
                v.run_id.into(),
                v.r.into(),
                v.f.into(),
                v.m.into(),
                v.segment.as_str().into(),
                v.abc.as_str().into(),
                v.value_class.as_str().into(),
                v.cluster.into(),
                v.p_alive.into(),
                v.expected_purchases.into(),
                v.clv.into(),
                v.revenue.into(),
                v.orders.into(),
                v.last_purchase.into(),
            ]);
        }
        q.on_conflict(
            OnConflict::column(V::CustomerId)
                .update_columns(COLUMNS.into_iter().skip(1))
                .to_owned(),
        );
        tx.execute(&q).await?;
    }
    Ok(())
}

/// Removes the rows no run `run_id` wrote (customers whose orders are gone): after a run.
pub async fn keep_only_run(db: &Db, run_id: i64) -> StoreResult<u64> {
    let q = values(OwnerFilter::system())
        .delete()
        .and_where(col(V::RunId).ne(run_id))
        .to_owned();
    Ok(db.execute(&q).await?)
}

/// The lists of valued customers: the highest lifetime value, or the lowest P(alive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSort {
    Clv,
    PAlive,
}

impl SortKey for ValueSort {
    const ALL: &'static [Self] = &[ValueSort::Clv, ValueSort::PAlive];
    const DEFAULT: Sort<Self> = Sort {
        key: ValueSort::Clv,
        dir: Dir::Desc,
    };

    fn code(self) -> &'static str {
        match self {
            ValueSort::Clv => "clv",
            ValueSort::PAlive => "p_alive",
        }
    }

    fn kind(self) -> KeyKind {
        KeyKind::Int
    }

    fn column(self) -> Expr {
        match self {
            ValueSort::Clv => col(V::Clv),
            ValueSort::PAlive => col(V::PAlive),
        }
    }

    fn first_dir(self) -> Dir {
        match self {
            ValueSort::Clv => Dir::Desc,
            ValueSort::PAlive => Dir::Asc,
        }
    }
}

/// A valued customer with its code and name.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Valued {
    pub customer_code: String,
    pub customer_name: String,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub value: CustomerValue,
}

impl Keyed<ValueSort> for Valued {
    fn id(&self) -> i64 {
        self.value.customer_id
    }

    fn key(&self, key: ValueSort) -> KeyValue {
        match key {
            ValueSort::Clv => KeyValue::Int(self.value.clv),
            ValueSort::PAlive => KeyValue::Int(i64::from(self.value.p_alive)),
        }
    }
}

/// What a list of valued customers keeps to.
#[derive(Debug, Clone, Default)]
pub struct ValueFilter {
    pub segment: Option<String>,
    pub value_class: Option<String>,
    /// P(alive) below this many millionths (the customers at risk).
    pub p_alive_below: Option<i32>,
}

/// One page of the valued customers in `scope` under `f`.
pub async fn list(
    db: &Db,
    scope: OwnerFilter,
    f: &ValueFilter,
    req: &ListRequest<ValueSort>,
) -> StoreResult<Listing<Valued>> {
    let cu = || Alias::new("cu");
    let apply = |q: &mut sea_query::SelectStatement| {
        if let Some(s) = &f.segment {
            q.and_where(col(V::Segment).eq(s.as_str()));
        }
        if let Some(c) = &f.value_class {
            q.and_where(col(V::ValueClass).eq(c.as_str()));
        }
        if let Some(p) = f.p_alive_below {
            q.and_where(col(V::PAlive).lt(p));
        }
    };
    let mut q = values(scope).select_walking();
    for c in COLUMNS {
        q.column((V::Table, c));
    }
    q.expr_as(
        Expr::col((cu(), Alias::new("code"))),
        Alias::new("customer_code"),
    )
    .expr_as(
        Expr::col((cu(), Alias::new("name"))),
        Alias::new("customer_name"),
    )
    .join_subquery(
        JoinType::InnerJoin,
        crate::store::labels(),
        cu(),
        Expr::col((cu(), Alias::new("id"))).equals((V::Table, V::CustomerId)),
    );
    apply(&mut q);
    let mut count = values(scope).select().expr(Expr::cust("1")).to_owned();
    apply(&mut count);
    page::fetch(db, &q, count, col(V::CustomerId), req).await
}

/// One cell of the RFM grid: customers with recency score `r` and frequency score `f`, and
/// their mean monetary score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, sqlx::FromRow)]
pub struct GridCell {
    pub r: i16,
    pub f: i16,
    pub customers: i64,
    pub mean_m: f64,
}

/// The RFM grid of the customers in `scope` (cells without customers left out).
pub async fn grid(db: &Db, scope: OwnerFilter) -> StoreResult<Vec<GridCell>> {
    let q = values(scope)
        .select()
        .expr_as(col(V::R), Alias::new("r"))
        .expr_as(col(V::F), Alias::new("f"))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("customers"))
        .expr_as(
            Func::avg(col(V::M).cast_as("DOUBLE PRECISION")).cast_as("DOUBLE PRECISION"),
            Alias::new("mean_m"),
        )
        .group_by_col((V::Table, V::R))
        .group_by_col((V::Table, V::F))
        .to_owned();
    Ok(db.fetch_all(&q).await?)
}

/// How many customers in `scope` and how much revenue and lifetime value fall to each value
/// of `by` (`segment`, `value_class` or `abc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ClassCount {
    pub key: String,
    pub customers: i64,
    /// Fen.
    pub revenue: i64,
    /// Fen.
    pub clv: i64,
}

/// What a class count is by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassBy {
    Segment,
    ValueClass,
    Abc,
}

/// The counts of each class of `by` among the customers in `scope`.
pub async fn classes(db: &Db, scope: OwnerFilter, by: ClassBy) -> StoreResult<Vec<ClassCount>> {
    let c = match by {
        ClassBy::Segment => V::Segment,
        ClassBy::ValueClass => V::ValueClass,
        ClassBy::Abc => V::Abc,
    };
    let sum = |c: V| Func::coalesce([col(c).sum(), Expr::val(0_i64)]).cast_as("BIGINT");
    let q = values(scope)
        .select()
        .expr_as(col(c), Alias::new("key"))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("customers"))
        .expr_as(sum(V::Revenue), Alias::new("revenue"))
        .expr_as(sum(V::Clv), Alias::new("clv"))
        .group_by_col((V::Table, c))
        .to_owned();
    Ok(db.fetch_all(&q).await?)
}

/// Customer `id`'s values, if a run found any and it is in `scope`.
pub async fn of_customer(
    db: &Db,
    scope: OwnerFilter,
    id: i64,
) -> StoreResult<Option<CustomerValue>> {
    let mut q = values(scope).select();
    for c in COLUMNS {
        q.column((V::Table, c));
    }
    q.and_where(col(V::CustomerId).eq(id));
    Ok(db.fetch_optional(&q).await?)
}

/// The revenue of each valued customer in `scope` (fen), largest first: a manager's Pareto
/// curve (a few thousand rows; everyone's comes from the run's figures).
pub async fn revenues(db: &Db, scope: OwnerFilter) -> StoreResult<Vec<i64>> {
    let q = values(scope)
        .select()
        .column((V::Table, V::Revenue))
        .order_by((V::Table, V::Revenue), sea_query::Order::Desc)
        .to_owned();
    let rows: Vec<(i64,)> = db.fetch_all(&q).await?;
    Ok(rows.into_iter().map(|(r,)| r).collect())
}
