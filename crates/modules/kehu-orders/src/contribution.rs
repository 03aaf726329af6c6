//! The contribution report (客户贡献分析): what each customer ordered in a period — the
//! number of orders that count (not cancelled) and their amount — sortable, with totals. A
//! year, a quarter, a month or all time is read from the running figures
//! ([`crate::figures`]) in the order of an index; any other days are summed from the orders
//! ([`crate::store::counted_by_customer`]).

use chrono::NaiveDate;
use kehu_customers::store::CustomerFilter;
use kehu_domain::policy::OwnerFilter;
use kehu_store::StoreResult;
use kehu_store::db::Db;
use kehu_store::page::{self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey};
use sea_query::{Alias, Expr, ExprTrait, Func, JoinType, Query, SelectStatement};
use serde::Serialize;

use crate::figures::Period;

/// The columns of the rows a report reads (`customer_id`, `orders`, `amount`), named as the
/// figures' table's, whichever it reads.
#[derive(sea_query::Iden, Clone, Copy)]
enum Fig {
    #[iden = "order_figures"]
    Table,
    CustomerId,
    Orders,
    Amount,
}

/// The contribution report's sorts (客户贡献分析), each on an index of `(period, key,
/// customer)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContributionSort {
    Amount,
    Orders,
}

impl SortKey for ContributionSort {
    const ALL: &'static [Self] = &[ContributionSort::Amount, ContributionSort::Orders];
    const DEFAULT: Sort<Self> = Sort {
        key: ContributionSort::Amount,
        dir: Dir::Desc,
    };

    fn code(self) -> &'static str {
        match self {
            ContributionSort::Amount => "amount",
            ContributionSort::Orders => "orders",
        }
    }

    fn kind(self) -> KeyKind {
        KeyKind::Int
    }

    fn column(self) -> Expr {
        let col = match self {
            ContributionSort::Amount => Fig::Amount,
            ContributionSort::Orders => Fig::Orders,
        };
        Expr::col((Fig::Table, col))
    }

    fn first_dir(self) -> Dir {
        Dir::Desc
    }
}

/// What one customer contributed in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Contribution {
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    pub orders: i64,
    /// Fen.
    pub amount: i64,
}

impl Keyed<ContributionSort> for Contribution {
    fn id(&self) -> i64 {
        self.customer_id
    }

    fn key(&self, key: ContributionSort) -> KeyValue {
        match key {
            ContributionSort::Amount => KeyValue::Int(self.amount),
            ContributionSort::Orders => KeyValue::Int(self.orders),
        }
    }
}

/// The report's totals over every row of its filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ContributionTotals {
    pub customers: i64,
    pub orders: i64,
    /// Fen.
    pub amount: i64,
}

/// The contribution report's filter: the days (both open: all time) and the customers (the
/// customer list's filters: a name prefix, manager …).
#[derive(Debug, Clone, Default)]
pub struct ContributionFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub customers: Option<CustomerFilter>,
}

impl ContributionFilter {
    /// The rows of the filter in `scope` (`customer_id`, `orders`, `amount`, read as
    /// `order_figures`), nothing selected from them yet, the customers' filter applied.
    fn rows(&self, scope: OwnerFilter) -> SelectStatement {
        use Fig as F;
        let mut q = match Period::exactly(self.from, self.to) {
            Some(period) => crate::figures::of_period(scope, period),
            None => Query::select()
                .from_subquery(
                    crate::store::counted_by_customer(scope, self.from, self.to),
                    F::Table,
                )
                .to_owned(),
        };
        if let Some(f) = &self.customers {
            q.and_where(
                Expr::col((Fig::Table, F::CustomerId))
                    .in_subquery(kehu_customers::store::ids_matching(scope, f)),
            );
        }
        q
    }
}

/// One page of what the customers in `scope` contributed under `f`, with their code and
/// name.
pub async fn contribution(
    db: &Db,
    scope: OwnerFilter,
    f: &ContributionFilter,
    req: &ListRequest<ContributionSort>,
) -> StoreResult<Listing<Contribution>> {
    use Fig as F;
    let cu = || Alias::new("cu");
    let mut q = f.rows(scope);
    q.expr_as(
        Expr::col((Fig::Table, F::CustomerId)),
        Alias::new("customer_id"),
    )
    .expr_as(
        Expr::col((cu(), Alias::new("code"))),
        Alias::new("customer_code"),
    )
    .expr_as(
        Expr::col((cu(), Alias::new("name"))),
        Alias::new("customer_name"),
    )
    .expr_as(Expr::col((Fig::Table, F::Orders)), Alias::new("orders"))
    .expr_as(Expr::col((Fig::Table, F::Amount)), Alias::new("amount"))
    .join_subquery(
        JoinType::InnerJoin,
        kehu_customers::store::labels(),
        cu(),
        Expr::col((cu(), Alias::new("id"))).equals((Fig::Table, F::CustomerId)),
    );
    let count = f.rows(scope).expr(Expr::cust("1")).to_owned();
    let id = Expr::col((Fig::Table, F::CustomerId));
    page::fetch(db, &q, count, id, req).await
}

/// The totals of the contribution report under `f` in `scope`: customers, orders, amount.
pub async fn contribution_totals(
    db: &Db,
    scope: OwnerFilter,
    f: &ContributionFilter,
) -> StoreResult<ContributionTotals> {
    use Fig as F;
    // SUM of BIGINT is NUMERIC on PostgreSQL: read back as BIGINT; no row is 0.
    let sum = |c: F| {
        Func::coalesce([Expr::col((Fig::Table, c)).sum(), Expr::val(0_i64)]).cast_as("BIGINT")
    };
    let mut q = f.rows(scope);
    q.expr_as(Expr::cust("COUNT(*)"), Alias::new("customers"))
        .expr_as(sum(F::Orders), Alias::new("orders"))
        .expr_as(sum(F::Amount), Alias::new("amount"));
    // Summed once between two writes: "all time" is every customer who ever ordered.
    let rows: Vec<ContributionTotals> = page::rows_remembered(db, &q).await?;
    Ok(rows.into_iter().next().unwrap_or_default())
}

/// What the customers of one credit (信用度) ordered: the orders and amount of a period, or
/// their open orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CreditFigures {
    /// `1` … `5`; `None`: not filled in.
    pub credit: Option<String>,
    pub orders: i64,
    /// Fen.
    pub amount: i64,
}

/// The credit overview's figures of the customers in `scope` (not in the trash), by their
/// credit: what they ordered dated `from` to `to` (both open: all time; a kept period reads
/// the running figures, other days the orders), and their open orders (placed, not yet
/// delivered, whenever dated). Each a row per credit that has any.
pub async fn by_credit(
    db: &Db,
    scope: OwnerFilter,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> StoreResult<(Vec<CreditFigures>, Vec<CreditFigures>)> {
    use Fig as F;
    let mut q = match Period::exactly(from, to) {
        Some(period) => crate::figures::of_period_summed(scope, period),
        None => Query::select()
            .from_subquery(crate::store::counted_by_customer(scope, from, to), F::Table)
            .to_owned(),
    };
    let cr = Alias::new("cr");
    let credit = Expr::col((cr.clone(), Alias::new("credit")));
    // SUM of BIGINT is NUMERIC on PostgreSQL: read back as BIGINT.
    let sum = |c: F| Expr::col((Fig::Table, c)).sum().cast_as("BIGINT");
    q.expr_as(credit.clone().cast_as("TEXT"), Alias::new("credit"))
        .expr_as(sum(F::Orders), Alias::new("orders"))
        .expr_as(sum(F::Amount), Alias::new("amount"))
        .join_subquery(
            JoinType::InnerJoin,
            kehu_customers::store::credits(),
            cr.clone(),
            Expr::col((cr, Alias::new("id"))).equals((Fig::Table, F::CustomerId)),
        )
        .add_group_by([credit]);
    let ordered = db.fetch_all(&q).await?;
    let open = crate::store::open_by_credit(scope, kehu_customers::store::credits());
    Ok((ordered, db.fetch_all(&open).await?))
}
