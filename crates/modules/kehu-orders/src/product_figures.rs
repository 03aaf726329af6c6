//! The products' running figures (`product_figures`): per period — all time, each year,
//! quarter and month, as [`crate::figures`] keeps them per customer — and product, the
//! orders that count (not cancelled) with the product, its quantity, revenue and cost. The
//! order store moves them in the transaction of every change (placed, cancelled, lines
//! merged), so the product sales report (产品销售构成, 毛利, 库存周转) of a kept period reads
//! one row per product, whatever the number of order lines ([`sales`]).
//!
//! The figures count every customer's orders: only a reader whose scope is every customer
//! reads them. An account manager's figures are their customers' order lines summed on
//! request ([`crate::store::lines_by_product`]), as are days that are no kept period.
//!
//! Cost: each line keeps the product's cost per unit when it was priced, times its quantity
//! (`order_lines.cost`, migration 4002; lines placed before it took the product's cost of
//! that day). A line whose product had no cost counts for the revenue but not for `costed`,
//! the revenue the cost is set against: the margin is `costed − cost`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use kehu_domain::policy::OwnerFilter;
use kehu_store::StoreResult;
use kehu_store::db::{Backend, Db, Tx};
use kehu_store::statement::Raw;
use sea_query::{Alias, Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use serde::Serialize;

use crate::figures::Period;
use crate::schema::{ProductFigures, Products};

/// What an order's lines of one product count for: quantity (thousandths), revenue, cost of
/// the lines with a cost, and their revenue (fen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counted {
    quantity: i64,
    revenue: i64,
    cost: i64,
    costed: i64,
}

impl Counted {
    fn minus(self, o: Counted) -> Counted {
        Counted {
            quantity: self.quantity - o.quantity,
            revenue: self.revenue - o.revenue,
            cost: self.cost - o.cost,
            costed: self.costed - o.costed,
        }
    }
}

/// One line of an order as the figures count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineFacts {
    pub product_id: i64,
    /// Thousandths.
    pub quantity: i64,
    /// Fen.
    pub total: i64,
    /// Fen; `None`: the product had no cost.
    pub cost: Option<i64>,
}

/// The lines summed by product (an order may name a product on more than one line: it is one
/// order of it).
fn by_product(lines: &[LineFacts]) -> BTreeMap<i64, Counted> {
    let mut out: BTreeMap<i64, Counted> = BTreeMap::new();
    for l in lines {
        let c = out.entry(l.product_id).or_default();
        c.quantity += l.quantity;
        c.revenue += l.total;
        if let Some(cost) = l.cost {
            c.cost += cost;
            c.costed += l.total;
        }
    }
    out
}

/// Moves the figures of every period of day `day` from an order's lines `before` to its
/// lines `after`, in `tx`: placed is (none, its lines), cancelled (its lines, none), lines
/// merged (the old, the new). A product the order gains is one order more, one it loses one
/// less; a row left with no order goes. One statement for every row, always in the same order
/// (the periods as [`Period::of_day`] lists them, then the products by id): two transactions
/// lock the rows they share in one order.
pub(crate) async fn moved(
    tx: &mut Tx,
    day: NaiveDate,
    before: &[LineFacts],
    after: &[LineFacts],
) -> StoreResult<()> {
    use ProductFigures as F;
    let (was, is) = (by_product(before), by_product(after));
    let ids: BTreeSet<i64> = was.keys().chain(is.keys()).copied().collect();
    let mut q = Query::insert()
        .into_table(F::Table)
        .columns([
            F::Period,
            F::ProductId,
            F::Orders,
            F::Quantity,
            F::Revenue,
            F::Cost,
            F::Costed,
        ])
        .to_owned();
    let (mut rows, mut fewer) = (0, Vec::new());
    for period in Period::of_day(day) {
        for id in &ids {
            let (old, new) = (was.get(id), is.get(id));
            let orders = i64::from(new.is_some()) - i64::from(old.is_some());
            let d = new
                .copied()
                .unwrap_or_default()
                .minus(old.copied().unwrap_or_default());
            if orders == 0 && d == Counted::default() {
                continue;
            }
            if orders < 0 && period == Period::All {
                fewer.push(*id);
            }
            q.values_panic([
                period.key().into(),
                (*id).into(),
                orders.into(),
                d.quantity.into(),
                d.revenue.into(),
                d.cost.into(),
                d.costed.into(),
            ]);
            rows += 1;
        }
    }
    if rows == 0 {
        return Ok(());
    }
    let mut on = OnConflict::columns([F::Period, F::ProductId]);
    for c in [F::Orders, F::Quantity, F::Revenue, F::Cost, F::Costed] {
        on.value(
            c,
            Expr::col((F::Table, c)).add(Expr::col((Alias::new("excluded"), c))),
        );
    }
    q.on_conflict(on);
    tx.execute(&q).await?;
    if !fewer.is_empty() {
        let keys = Period::of_day(day).map(Period::key);
        let gone = Query::delete()
            .from_table(F::Table)
            .and_where(Expr::col(F::Period).is_in(keys))
            .and_where(Expr::col(F::ProductId).is_in(fewer))
            .and_where(Expr::col(F::Orders).lte(0))
            .to_owned();
        tx.execute(&gone).await?;
    }
    Ok(())
}

/// Each order line's cost from its product's cost per unit, rounded half up (migration 4002:
/// the lines placed before lines kept their cost).
pub const LINE_COST: &str = "UPDATE order_lines SET cost = (SELECT (products.cost * \
order_lines.quantity + 500) / 1000 FROM products WHERE products.id = order_lines.product_id) \
WHERE cost IS NULL";

/// Every product's figures from the orders there are, by period, as the migration fills them
/// and [`rebuild`] does again: the same rows [`moved`] keeps. The lines are summed by order
/// and product first (one order of a product however many lines name it). Per backend, as
/// the day's text differs (SQLite keeps `YYYY-MM-DD`, PostgreSQL a date).
pub const FILL_SQLITE: &str = "WITH counted AS ( \
SELECT o.order_date AS d, l.product_id, SUM(l.quantity) AS quantity, SUM(l.total) AS revenue, \
SUM(COALESCE(l.cost, 0)) AS cost, SUM(CASE WHEN l.cost IS NULL THEN 0 ELSE l.total END) AS costed \
FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.status <> 'cancelled' \
GROUP BY l.order_id, l.product_id, o.order_date) \
INSERT INTO product_figures (period, product_id, orders, quantity, revenue, cost, costed) \
SELECT p, product_id, COUNT(*), SUM(quantity), SUM(revenue), SUM(cost), SUM(costed) FROM ( \
SELECT 'all' AS p, product_id, quantity, revenue, cost, costed FROM counted \
UNION ALL SELECT substr(d, 1, 4), product_id, quantity, revenue, cost, costed FROM counted \
UNION ALL SELECT substr(d, 1, 4) || '-Q' || ((CAST(substr(d, 6, 2) AS INTEGER) + 2) / 3), \
product_id, quantity, revenue, cost, costed FROM counted \
UNION ALL SELECT substr(d, 1, 7), product_id, quantity, revenue, cost, costed FROM counted \
) AS periods GROUP BY p, product_id";

/// [`FILL_SQLITE`] on PostgreSQL.
pub const FILL_POSTGRES: &str = "WITH counted AS ( \
SELECT o.order_date AS d, l.product_id, SUM(l.quantity) AS quantity, SUM(l.total) AS revenue, \
SUM(COALESCE(l.cost, 0)) AS cost, SUM(CASE WHEN l.cost IS NULL THEN 0 ELSE l.total END) AS costed \
FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.status <> 'cancelled' \
GROUP BY l.order_id, l.product_id, o.order_date) \
INSERT INTO product_figures (period, product_id, orders, quantity, revenue, cost, costed) \
SELECT p, product_id, COUNT(*), SUM(quantity), SUM(revenue), SUM(cost), SUM(costed) FROM ( \
SELECT 'all' AS p, product_id, quantity, revenue, cost, costed FROM counted \
UNION ALL SELECT to_char(d, 'YYYY'), product_id, quantity, revenue, cost, costed FROM counted \
UNION ALL SELECT to_char(d, 'YYYY-\"Q\"Q'), product_id, quantity, revenue, cost, costed FROM counted \
UNION ALL SELECT to_char(d, 'YYYY-MM'), product_id, quantity, revenue, cost, costed FROM counted \
) AS periods GROUP BY p, product_id";

/// Replaces every product figure by the sums of the orders there are (with
/// [`crate::figures::rebuild`]: after a bulk load, and by the reports' nightly job). Order
/// changes wait for it on PostgreSQL (the table is locked until it commits); SQLite has one
/// writer anyway.
pub async fn rebuild(db: &Db) -> StoreResult<u64> {
    db.write(async |tx| {
        let fill = match tx.backend() {
            Backend::Sqlite => FILL_SQLITE,
            Backend::Postgres => {
                tx.execute_raw("LOCK TABLE product_figures IN EXCLUSIVE MODE")
                    .await?;
                FILL_POSTGRES
            }
        };
        tx.execute(&Query::delete().from_table(ProductFigures::Table).to_owned())
            .await?;
        Ok(tx.execute(&Raw(fill.to_owned())).await?)
    })
    .await
}

/// What one product sold in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ProductSales {
    pub product_id: i64,
    pub name: String,
    pub model: String,
    pub unit: String,
    /// Orders that count with the product.
    pub orders: i64,
    /// Thousandths.
    pub quantity: i64,
    /// Fen.
    pub revenue: i64,
    /// Fen: the cost of the lines with a cost.
    pub cost: i64,
    /// Fen: the revenue of the lines with a cost.
    pub costed: i64,
    /// Fen: the product's cost per unit now (`None`: none).
    pub unit_cost: Option<i64>,
}

/// What each product sold to the customers in `scope`, dated `from` to `to` (both open: all
/// time), largest revenue first. Every customer's year, quarter, month or all time reads the
/// kept rows; anything else sums the order lines.
pub async fn sales(
    db: &Db,
    scope: OwnerFilter,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> StoreResult<Vec<ProductSales>> {
    Ok(db.fetch_all(&select_sales(scope, from, to)).await?)
}

/// The statement of [`sales`].
fn select_sales(
    scope: OwnerFilter,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> SelectStatement {
    use ProductFigures as F;
    let rows = match (scope.owner(), Period::exactly(from, to)) {
        (None, Some(period)) => Query::select()
            .columns([
                F::ProductId,
                F::Orders,
                F::Quantity,
                F::Revenue,
                F::Cost,
                F::Costed,
            ])
            .from(F::Table)
            .and_where(Expr::col(F::Period).eq(period.key()))
            .to_owned(),
        _ => crate::store::lines_by_product(scope, from, to),
    };
    let pf = Alias::new("pf");
    let mut q = Query::select().from_subquery(rows, pf.clone()).to_owned();
    for c in [
        F::ProductId,
        F::Orders,
        F::Quantity,
        F::Revenue,
        F::Cost,
        F::Costed,
    ] {
        q.column((pf.clone(), c));
    }
    q.columns([
        (Products::Table, Products::Name),
        (Products::Table, Products::Model),
        (Products::Table, Products::Unit),
    ])
    .expr_as(
        Expr::col((Products::Table, Products::Cost)),
        Alias::new("unit_cost"),
    )
    .inner_join(
        Products::Table,
        Expr::col((Products::Table, Products::Id)).equals((pf.clone(), F::ProductId)),
    )
    .order_by((pf.clone(), F::Revenue), Order::Desc)
    .order_by((pf, F::ProductId), Order::Asc);
    q
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use kehu_store::statement::Explain;

    use super::*;

    fn manager(user_id: i64) -> OwnerFilter {
        kehu_domain::Principal {
            user_id,
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

    /// Every customer's kept period reads its rows by the period; a manager's year and any
    /// reader's days of their own find the orders by an index (the customers', the dates')
    /// and their lines by order: SQLite never reads a whole table of orders, lines or
    /// figures.
    #[tokio::test]
    async fn the_product_figures_are_read_by_indexes_not_tables() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let mut all = kehu_customers::migrations::MIGRATIONS.to_vec();
        all.extend_from_slice(crate::migrations::MIGRATIONS);
        kehu_store::migrations::migrate_with(&db, &all)
            .await
            .unwrap();
        let day = |m: u32, d: u32| NaiveDate::from_ymd_opt(2026, m, d);
        let cases = [
            (
                "everyone's year",
                OwnerFilter::system(),
                day(1, 1),
                day(12, 31),
            ),
            (
                "everyone's days",
                OwnerFilter::system(),
                day(3, 5),
                day(4, 20),
            ),
            ("a manager's year", manager(7), day(1, 1), day(12, 31)),
            ("a manager's all time", manager(7), None, None),
        ];
        let mut scans = Vec::new();
        for (name, scope, from, to) in cases {
            let q = select_sales(scope, from, to);
            let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(&q)).await.unwrap();
            let bare = ["SCAN orders", "SCAN order_lines", "SCAN product_figures"];
            if plan.iter().any(|(.., d)| bare.iter().any(|b| d == b)) {
                scans.push(format!("{name}: {plan:?}"));
            }
        }
        assert!(scans.is_empty(), "table scans: {scans:#?}");
        db.close().await;
    }

    fn line(product_id: i64, quantity: i64, total: i64, cost: Option<i64>) -> LineFacts {
        LineFacts {
            product_id,
            quantity,
            total,
            cost,
        }
    }

    #[test]
    fn lines_of_one_product_are_one_order_of_it_and_uncosted_revenue_stays_apart() {
        let sums = by_product(&[
            line(1, 2_000, 2_500, Some(1_600)),
            line(2, 1_000, 900, None),
            line(1, 500, 625, Some(400)),
        ]);
        assert_eq!(sums.len(), 2);
        assert_eq!(
            sums[&1],
            Counted {
                quantity: 2_500,
                revenue: 3_125,
                cost: 2_000,
                costed: 3_125
            }
        );
        assert_eq!(
            sums[&2],
            Counted {
                quantity: 1_000,
                revenue: 900,
                cost: 0,
                costed: 0
            }
        );
    }
}
