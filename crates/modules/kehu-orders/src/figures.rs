//! The orders' running figures (`order_figures`): per period — all time, each year, quarter
//! and month — and customer, the number of orders that count (not cancelled) and their
//! amount. The order store moves them in the transaction of every change (placed, cancelled,
//! lines merged), so the contribution report (客户贡献分析) of a year, a quarter or a month
//! reads one period's rows in the order of an index, whatever the number of orders
//! ([`crate::contribution`]).

use chrono::{Datelike, NaiveDate};
use kehu_domain::policy::OwnerFilter;
use kehu_store::StoreResult;
use kehu_store::db::{Backend, Db, Tx};
use kehu_store::scope::{OwnedVia, Scoped};
use kehu_store::statement::Raw;
use sea_query::{Expr, ExprTrait, OnConflict, Query, SelectStatement};

use crate::schema::OrderFigures;

/// The one builder of every statement on `order_figures` except the upsert: the scope's
/// condition (the row's customer is one of the scope's) is already in it.
fn figures(scope: OwnerFilter) -> Scoped<OrderFigures> {
    Scoped::new(
        OwnedVia {
            table: OrderFigures::Table,
            parent_id: OrderFigures::CustomerId,
            parents: kehu_customers::store::ids_in_scope,
        },
        scope,
    )
}

/// A period the figures are kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    All,
    Year(i32),
    /// Year and quarter (1–4).
    Quarter(i32, u32),
    /// Year and month (1–12).
    Month(i32, u32),
}

impl Period {
    /// Its key in `order_figures`: `all`, `2026`, `2026-Q4`, `2026-11`.
    pub fn key(self) -> String {
        match self {
            Period::All => "all".to_owned(),
            Period::Year(y) => format!("{y}"),
            Period::Quarter(y, q) => format!("{y}-Q{q}"),
            Period::Month(y, m) => format!("{y}-{m:02}"),
        }
    }

    /// The periods day `d` counts in, in the order their rows are written (always the same:
    /// two transactions on one customer lock its rows in one order).
    pub fn of_day(d: NaiveDate) -> [Period; 4] {
        let (y, m) = (d.year(), d.month());
        [
            Period::All,
            Period::Year(y),
            Period::Quarter(y, m.div_ceil(3)),
            Period::Month(y, m),
        ]
    }

    /// Its first and last day (none: all time).
    pub fn days(self) -> Option<(NaiveDate, NaiveDate)> {
        let first = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1);
        let (start, months) = match self {
            Period::All => return None,
            Period::Year(y) => (first(y, 1)?, 12),
            Period::Quarter(y, q) => (first(y, q * 3 - 2)?, 3),
            Period::Month(y, m) => (first(y, m)?, 1),
        };
        let end = start
            .checked_add_months(chrono::Months::new(months))?
            .pred_opt()?;
        Some((start, end))
    }

    /// The kept period that is exactly the days `from` to `to` (both open: all time), if one
    /// is: the report then reads its rows.
    pub fn exactly(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Option<Period> {
        let (from, to) = match (from, to) {
            (None, None) => return Some(Period::All),
            (Some(f), Some(t)) => (f, t),
            _ => return None,
        };
        Period::of_day(from)
            .into_iter()
            .skip(1)
            .find(|p| p.days() == Some((from, to)))
    }
}

/// Adds `orders` orders and `amount` fen to customer `customer_id`'s figures of every period
/// of day `day` (negative: takes them away), in `tx`. A row left with no order goes.
pub(crate) async fn add(
    tx: &mut Tx,
    customer_id: i64,
    day: NaiveDate,
    orders: i64,
    amount: i64,
) -> StoreResult<()> {
    use OrderFigures as F;
    if orders == 0 && amount == 0 {
        return Ok(());
    }
    let plus = |c: F, n: i64| (c, Expr::col((F::Table, c)).add(n));
    for period in Period::of_day(day) {
        let mut q = Query::insert()
            .into_table(F::Table)
            .columns([F::Period, F::CustomerId, F::Orders, F::Amount])
            .values_panic([
                period.key().into(),
                customer_id.into(),
                orders.into(),
                amount.into(),
            ])
            .to_owned();
        let mut on = OnConflict::columns([F::Period, F::CustomerId]);
        for (c, e) in [plus(F::Orders, orders), plus(F::Amount, amount)] {
            on.value(c, e);
        }
        q.on_conflict(on);
        tx.execute(&q).await?;
    }
    if orders < 0 {
        let keys = Period::of_day(day).map(Period::key);
        let gone = figures(OwnerFilter::system())
            .delete()
            .and_where(Expr::col((F::Table, F::CustomerId)).eq(customer_id))
            .and_where(Expr::col((F::Table, F::Period)).is_in(keys))
            .and_where(Expr::col((F::Table, F::Orders)).lte(0))
            .to_owned();
        tx.execute(&gone).await?;
    }
    Ok(())
}

/// Every customer's figures from the orders there are, by period, as the migration fills them
/// and [`rebuild`] does again: the same rows [`add`] keeps. Per backend, as the day's text
/// differs (SQLite keeps `YYYY-MM-DD`, PostgreSQL a date).
pub const FILL_SQLITE: &str = "INSERT INTO order_figures (period, customer_id, orders, amount) \
SELECT p, customer_id, COUNT(*), SUM(total) FROM ( \
SELECT 'all' AS p, customer_id, total FROM orders WHERE status <> 'cancelled' \
UNION ALL SELECT substr(order_date, 1, 4), customer_id, total FROM orders WHERE status <> 'cancelled' \
UNION ALL SELECT substr(order_date, 1, 4) || '-Q' || ((CAST(substr(order_date, 6, 2) AS INTEGER) + 2) / 3), \
customer_id, total FROM orders WHERE status <> 'cancelled' \
UNION ALL SELECT substr(order_date, 1, 7), customer_id, total FROM orders WHERE status <> 'cancelled' \
) AS counted GROUP BY p, customer_id";

/// [`FILL_SQLITE`] on PostgreSQL.
pub const FILL_POSTGRES: &str = "INSERT INTO order_figures (period, customer_id, orders, amount) \
SELECT p, customer_id, COUNT(*), SUM(total) FROM ( \
SELECT 'all' AS p, customer_id, total FROM orders WHERE status <> 'cancelled' \
UNION ALL SELECT to_char(order_date, 'YYYY'), customer_id, total FROM orders WHERE status <> 'cancelled' \
UNION ALL SELECT to_char(order_date, 'YYYY-\"Q\"Q'), customer_id, total FROM orders WHERE status <> 'cancelled' \
UNION ALL SELECT to_char(order_date, 'YYYY-MM'), customer_id, total FROM orders WHERE status <> 'cancelled' \
) AS counted GROUP BY p, customer_id";

/// Replaces every figure by the sums of the orders there are: after a bulk load that went
/// around the order store, and by the reports' nightly job (any drift is gone by morning).
/// Order changes wait for it on PostgreSQL (the table is locked until it commits), so none is
/// lost between the delete and the sums; SQLite has one writer anyway. The products' figures
/// ([`crate::product_figures::rebuild`]) follow in a transaction of their own. Answers the
/// rows written.
pub async fn rebuild(db: &Db) -> StoreResult<u64> {
    let customers = rebuild_customers(db).await?;
    Ok(customers + crate::product_figures::rebuild(db).await?)
}

/// The customers' figures of [`rebuild`].
async fn rebuild_customers(db: &Db) -> StoreResult<u64> {
    db.write(async |tx| {
        let fill = match tx.backend() {
            Backend::Sqlite => FILL_SQLITE,
            Backend::Postgres => {
                tx.execute_raw("LOCK TABLE order_figures IN EXCLUSIVE MODE")
                    .await?;
                FILL_POSTGRES
            }
        };
        tx.execute(&figures(OwnerFilter::system()).delete()).await?;
        Ok(tx.execute(&Raw(fill.to_owned())).await?)
    })
    .await
}

/// The rows of period `period` in `scope` (`period`, `customer_id`, `orders`, `amount` of
/// `order_figures`), nothing selected yet: what the contribution report reads, in the order of
/// the index its sort walks, each row probing its customer's scope.
pub(crate) fn of_period(scope: OwnerFilter, period: Period) -> SelectStatement {
    let mut q = figures(scope).select_walking();
    q.and_where(Expr::col((OrderFigures::Table, OrderFigures::Period)).eq(period.key()));
    q
}

/// Every month's figures of the customers in `scope`: `(customer_id, "2026-03", amount in
/// fen)`, by customer and month — a manager's retention (their few thousand customers;
/// everyone's is the analysis job's, from the orders it reads anyway).
pub async fn months_of(db: &Db, scope: OwnerFilter) -> StoreResult<Vec<(i64, String, i64)>> {
    let col = |c: OrderFigures| Expr::col((OrderFigures::Table, c));
    let q = figures(scope)
        .select()
        .expr(col(OrderFigures::CustomerId))
        .expr(col(OrderFigures::Period))
        .expr(col(OrderFigures::Amount))
        // A month's key, `2026-03`: seven characters and no quarter's `Q`.
        .and_where(Expr::cust(
            "LENGTH(\"order_figures\".\"period\") = 7 AND \"order_figures\".\"period\" NOT LIKE '%Q%'",
        ))
        .to_owned();
    Ok(db.fetch_all(&q).await?)
}

/// The rows of period `period` in `scope`, nothing selected yet, for sums over the whole
/// scope (the credit overview): the scope's customers first, each probing its row by the key,
/// where [`of_period`]'s walk would read every row of the period for a manager's few.
pub(crate) fn of_period_summed(scope: OwnerFilter, period: Period) -> SelectStatement {
    let mut q = figures(scope).select();
    q.and_where(Expr::col((OrderFigures::Table, OrderFigures::Period)).eq(period.key()));
    q
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_day_counts_in_all_time_its_year_quarter_and_month() {
        let keys = Period::of_day(day(2026, 11, 23)).map(Period::key);
        assert_eq!(keys, ["all", "2026", "2026-Q4", "2026-11"]);
        assert_eq!(Period::of_day(day(2025, 3, 31))[2].key(), "2025-Q1");
        assert_eq!(Period::of_day(day(2025, 4, 1))[2].key(), "2025-Q2");
    }

    #[test]
    fn a_kept_period_is_found_only_for_its_exact_days() {
        let p = |f, t| Period::exactly(Some(f), Some(t));
        assert_eq!(Period::exactly(None, None), Some(Period::All));
        assert_eq!(
            p(day(2026, 1, 1), day(2026, 12, 31)),
            Some(Period::Year(2026))
        );
        assert_eq!(
            p(day(2026, 10, 1), day(2026, 12, 31)),
            Some(Period::Quarter(2026, 4))
        );
        assert_eq!(
            p(day(2024, 2, 1), day(2024, 2, 29)),
            Some(Period::Month(2024, 2))
        );
        assert_eq!(p(day(2026, 1, 2), day(2026, 12, 31)), None);
        assert_eq!(p(day(2026, 1, 1), day(2026, 2, 28)), None);
        assert_eq!(Period::exactly(Some(day(2026, 1, 1)), None), None);
    }
}
