//! The customer-value analysis (客户价值分析): the job `analytics` (nightly, or now from the
//! jobs page or `POST /api/v1/jobs/analytics`; one instance at a time by the jobs kit's
//! lease) reads every order that counts, runs kehu-analytics' pipeline over them — RFM scores
//! and segments, ABC (80/20) classes, BG/NBD and Gamma-Gamma, P(alive), lifetime value, the
//! four value classes, k-means clusters — writes each customer's values back
//! (`kehu_customers::values`, which the customer list filters on) and keeps the run's figures
//! (`analytics_runs`): the Pareto curve, the RFM grid, the classes and the clusters, so that
//! the value reports read a few rows.
//!
//! Figures in a data scope that names a user (an account manager's) are counted from their
//! customers' values instead; the run's are everyone's.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use kehu_analytics::analysis::{self, Config};
use kehu_analytics::summary::{self, Transaction};
use kehu_customers::values::{self as stored, ClassBy, CustomerValue};
use kehu_domain::policy::OwnerFilter;
use kehu_store::StoreResult;
use kehu_store::db::Db;
use kehu_web::AppState;
use sea_query::{Alias, Expr, ExprTrait, Query};
use serde::{Deserialize, Serialize};

/// The job's name (`kehu jobs run analytics`, `POST /api/v1/jobs/analytics`).
pub const JOB: &str = "analytics";

/// The job that rebuilds the orders' running figures from the orders (`kehu jobs run
/// report-figures`): after a bulk load that went around the order store; weekly, so that a
/// figure that ever drifted is right again.
pub const REBUILD: &str = "report-figures";

/// Rebuilds the running figures; answers how many rows it wrote.
pub async fn rebuild(state: &AppState) -> anyhow::Result<serde_json::Value> {
    let rows = kehu_orders::figures::rebuild(&state.store.db).await?;
    Ok(serde_json::json!({ "rows": rows }))
}

/// Orders read per statement.
const READ_BATCH: u64 = 50_000;
/// Customers' values written per transaction.
const WRITE_BATCH: usize = 10_000;
/// Points of the Pareto curve: the top 1 %, 2 % … 100 % of customers.
const CURVE_POINTS: usize = 100;

/// A class (segment, ABC class, value class, cluster) with its customers and money.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassFigures {
    pub key: String,
    pub customers: i64,
    /// Fen.
    pub revenue: i64,
    /// Fen.
    pub clv: i64,
}

/// One cell of the 5×5 RFM grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub r: i16,
    pub f: i16,
    pub customers: i64,
    /// The mean monetary score (1–5) of its customers.
    pub mean_m: f64,
}

/// A cluster's typical customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub cluster: u32,
    pub customers: i64,
    pub recency_days: f64,
    pub orders: f64,
    /// Yuan.
    pub revenue: f64,
}

/// The figures of the value reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Figures {
    /// The customers with values (who ordered).
    pub customers: i64,
    /// Fen.
    pub revenue: i64,
    /// The share of revenue (basis points) of the top 1 % … 100 % of customers.
    pub pareto: Vec<i64>,
    /// The smallest share of customers (percent) that brings 80 % of revenue.
    pub customers_for_80: i64,
    pub abc: Vec<ClassFigures>,
    pub grid: Vec<Cell>,
    pub value_classes: Vec<ClassFigures>,
    pub segments: Vec<ClassFigures>,
    /// Everyone's only (a manager's figures have none).
    pub clusters: Vec<Cluster>,
    /// Thresholds of the value classes: revenue of the last 12 months and CLV, yuan.
    pub current_threshold: Option<f64>,
    pub potential_threshold: Option<f64>,
    pub models_fitted: bool,
    pub mean_p_alive: f64,
    /// The retention decomposition of the last 24 months (everyone's).
    #[serde(default)]
    pub retention: Vec<crate::retention::Month>,
}

/// A run of the analysis: when, over which day, and its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub as_of: NaiveDate,
    pub orders: i64,
    pub figures: Figures,
}

#[derive(sea_query::Iden, Clone, Copy)]
enum AnalyticsRuns {
    Table,
    Id,
    StartedAt,
    FinishedAt,
    AsOf,
    Orders,
    Figures,
}

/// The share (basis points) of the total of `revenues` (largest first) held by the top 1 % …
/// 100 % of them, and the smallest percent holding 80 %.
fn pareto(revenues: &[i64]) -> (Vec<i64>, i64) {
    let n = revenues.len();
    let total: i64 = revenues.iter().map(|r| Ord::max(*r, 0)).sum();
    if n == 0 || total <= 0 {
        return (Vec::new(), 0);
    }
    let mut running = Vec::with_capacity(n);
    let mut sum = 0_i64;
    for r in revenues {
        sum += Ord::max(*r, 0);
        running.push(sum);
    }
    let curve: Vec<i64> = (1..=CURVE_POINTS)
        .map(|p| {
            let k = (n * p).div_ceil(CURVE_POINTS).clamp(1, n);
            crate::table::basis_points(running[k - 1], total)
        })
        .collect();
    // The fewest customers whose revenue reaches 80 % (`5 × sum ≥ 4 × total`), in percent of
    // all, rounded up.
    let k = running
        .iter()
        .position(|s| 5 * i128::from(*s) >= 4 * i128::from(total))
        .map_or(n, |i| i + 1);
    (curve, ((k * 100).div_ceil(n)) as i64)
}

/// Runs the analysis over every order that counts, as of today in the configured zone;
/// answers what it counted.
pub async fn run(state: &AppState) -> anyhow::Result<serde_json::Value> {
    let db = &state.store.db;
    let started_at = Utc::now();
    let as_of = crate::today(state);

    // The orders, along the primary key.
    let mut rows: Vec<(i64, NaiveDate, i64)> = Vec::new();
    let mut after = 0_i64;
    loop {
        let batch: Vec<(i64, i64, NaiveDate, i64)> = db
            .fetch_all(&kehu_orders::store::counted_after(after, READ_BATCH))
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.0;
        rows.extend(batch.into_iter().map(|(_, c, d, t)| (c, d, t)));
    }
    let orders = rows.len() as i64;
    // Each customer's revenue by month: the retention decomposition.
    let mut by_month: HashMap<(i64, i32), i64> = HashMap::new();
    for (c, d, t) in &rows {
        *by_month
            .entry((*c, d.year() * 12 + d.month0() as i32))
            .or_default() += t;
    }
    let month_rows: Vec<(i64, String, i64)> = by_month
        .into_iter()
        .map(|((c, ym), amount)| (c, format!("{:04}-{:02}", ym / 12, ym % 12 + 1), amount))
        .collect();
    let retention = crate::retention::decompose(&month_rows, as_of);
    drop(month_rows);
    let mut ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let as_of_day = as_of.num_days_from_ce();
    let mut transactions: Vec<Transaction> = rows
        .iter()
        .filter(|r| r.1 <= as_of)
        .filter_map(|(c, d, t)| {
            let i = ids.binary_search(c).ok()?;
            Some(Transaction {
                customer: u32::try_from(i).ok()?,
                day: d.num_days_from_ce(),
                cents: *t,
            })
        })
        .collect();
    drop(rows);
    let twelve_months_ago = as_of
        .checked_sub_months(Months::new(12))
        .map_or(i32::MIN, |d| d.num_days_from_ce());
    let n = ids.len();
    let summaries = summary::summarize(&mut transactions, n, as_of_day, twelve_months_ago);
    drop(transactions);
    // Ranked by customer id: ties fall the same way on every run.
    let id_rank: Vec<u32> = (0..u32::try_from(n)?).collect();
    let a = analysis::analyze(&summaries, &id_rank, &Config::default(), &mut |_| {});

    // The run, then each customer's values under it, then the older values gone.
    let run_id = start_run(db, started_at, as_of, orders).await?;
    let c = &a.customers;
    let fen = |v: f64| {
        if v.is_finite() {
            (v * 100.0).round() as i64
        } else {
            0
        }
    };
    let values: Vec<CustomerValue> = (0..n)
        .map(|i| CustomerValue {
            customer_id: ids[i],
            run_id,
            r: i16::from(c.scores.r[i]),
            f: i16::from(c.scores.f[i]),
            m: i16::from(c.scores.m[i]),
            segment: c.segment[i].as_str().to_owned(),
            abc: c.abc[i].as_str().to_owned(),
            value_class: c.value_class[i].as_str().to_owned(),
            cluster: i32::try_from(c.cluster[i]).unwrap_or(0),
            p_alive: (c.p_alive[i].clamp(0.0, 1.0) * 1_000_000.0).round() as i32,
            expected_purchases: c.expected_purchases[i],
            clv: fen(c.clv[i]),
            revenue: summaries[i].revenue_cents,
            orders: i32::try_from(summaries[i].orders).unwrap_or(i32::MAX),
            last_purchase: summaries[i]
                .last_purchase
                .and_then(NaiveDate::from_num_days_from_ce_opt),
        })
        .collect();
    for chunk in values.chunks(WRITE_BATCH) {
        db.write(async |tx| stored::put(tx, chunk).await).await?;
    }
    stored::keep_only_run(db, run_id).await?;

    // Everyone's figures.
    let mut revenues: Vec<i64> = values.iter().map(|v| v.revenue).collect();
    revenues.sort_unstable_by(|a, b| b.cmp(a));
    let (curve, for_80) = pareto(&revenues);
    let classes = |key: &dyn Fn(&CustomerValue) -> String| {
        let mut m: BTreeMap<String, ClassFigures> = BTreeMap::new();
        for v in &values {
            let k = key(v);
            let e = m.entry(k.clone()).or_insert(ClassFigures {
                key: k,
                customers: 0,
                revenue: 0,
                clv: 0,
            });
            e.customers += 1;
            e.revenue += v.revenue;
            e.clv += v.clv;
        }
        m.into_values().collect::<Vec<_>>()
    };
    let mut grid: BTreeMap<(i16, i16), (i64, i64)> = BTreeMap::new();
    for v in &values {
        let e = grid.entry((v.r, v.f)).or_default();
        e.0 += 1;
        e.1 += i64::from(v.m);
    }
    let p = &a.population;
    let figures = Figures {
        customers: n as i64,
        revenue: revenues.iter().sum(),
        pareto: curve,
        customers_for_80: for_80,
        abc: classes(&|v| v.abc.clone()),
        grid: grid
            .into_iter()
            .map(|((r, f), (customers, m))| Cell {
                r,
                f,
                customers,
                mean_m: m as f64 / customers as f64,
            })
            .collect(),
        value_classes: classes(&|v| v.value_class.clone()),
        segments: classes(&|v| v.segment.clone()),
        clusters: p
            .clusters
            .iter()
            .map(|k| Cluster {
                cluster: k.cluster,
                customers: k.customers as i64,
                recency_days: k.recency_days,
                orders: k.orders,
                revenue: k.revenue,
            })
            .collect(),
        current_threshold: Some(p.value_thresholds.current_value),
        potential_threshold: Some(p.value_thresholds.potential_value),
        models_fitted: a.models.bgnbd.fitted,
        mean_p_alive: p.mean_p_alive,
        retention,
    };
    finish_run(db, run_id, &figures).await?;
    Ok(serde_json::json!({
        "customers": n,
        "orders": orders,
        "run": run_id,
        "models_fitted": figures.models_fitted,
    }))
}

async fn start_run(db: &Db, at: DateTime<Utc>, as_of: NaiveDate, orders: i64) -> StoreResult<i64> {
    use AnalyticsRuns as R;
    let q = Query::insert()
        .into_table(R::Table)
        .columns([R::StartedAt, R::AsOf, R::Orders])
        .values_panic([at.into(), as_of.into(), orders.into()])
        .returning_col(R::Id)
        .to_owned();
    let (id,): (i64,) = db.write(async |tx| Ok(tx.fetch_one(&q).await?)).await?;
    Ok(id)
}

async fn finish_run(db: &Db, id: i64, figures: &Figures) -> anyhow::Result<()> {
    use AnalyticsRuns as R;
    let q = Query::update()
        .table(R::Table)
        .value(R::FinishedAt, Expr::val(Utc::now()))
        .value(R::Figures, Expr::val(serde_json::to_string(figures)?))
        .and_where(Expr::col(R::Id).eq(id))
        .to_owned();
    db.write(async |tx| Ok(tx.execute(&q).await?)).await?;
    Ok(())
}

/// The last finished run, if there is one.
pub async fn last_run(db: &Db) -> anyhow::Result<Option<Run>> {
    use AnalyticsRuns as R;
    let q = Query::select()
        .columns([
            R::Id,
            R::StartedAt,
            R::FinishedAt,
            R::AsOf,
            R::Orders,
            R::Figures,
        ])
        .from(R::Table)
        .and_where(Expr::col(R::FinishedAt).is_not_null())
        .order_by(R::Id, sea_query::Order::Desc)
        .limit(1)
        .to_owned();
    type Row = (i64, DateTime<Utc>, DateTime<Utc>, NaiveDate, i64, String);
    let row: Option<Row> = db.fetch_optional(&q).await?;
    let Some((id, started_at, finished_at, as_of, orders, figures)) = row else {
        return Ok(None);
    };
    Ok(Some(Run {
        id,
        started_at,
        finished_at,
        as_of,
        orders,
        figures: serde_json::from_str(&figures)?,
    }))
}

/// The value figures in `scope`: everyone's are the last run's; a manager's are counted from
/// their customers' values (no clusters: those describe everyone). `None`: no run yet.
pub async fn figures(db: &Db, scope: OwnerFilter) -> anyhow::Result<Option<(Run, Figures)>> {
    let Some(run) = last_run(db).await? else {
        return Ok(None);
    };
    if scope.owner().is_none() {
        let f = run.figures.clone();
        return Ok(Some((run, f)));
    }
    let revenues = stored::revenues(db, scope).await?;
    let (curve, for_80) = pareto(&revenues);
    let class = |rows: Vec<stored::ClassCount>| {
        rows.into_iter()
            .map(|c| ClassFigures {
                key: c.key,
                customers: c.customers,
                revenue: c.revenue,
                clv: c.clv,
            })
            .collect::<Vec<_>>()
    };
    let f = Figures {
        customers: revenues.len() as i64,
        revenue: revenues.iter().sum(),
        pareto: curve,
        customers_for_80: for_80,
        abc: class(stored::classes(db, scope, ClassBy::Abc).await?),
        grid: stored::grid(db, scope)
            .await?
            .into_iter()
            .map(|g| Cell {
                r: g.r,
                f: g.f,
                customers: g.customers,
                mean_m: g.mean_m,
            })
            .collect(),
        value_classes: class(stored::classes(db, scope, ClassBy::ValueClass).await?),
        segments: class(stored::classes(db, scope, ClassBy::Segment).await?),
        clusters: Vec::new(),
        current_threshold: run.figures.current_threshold,
        potential_threshold: run.figures.potential_threshold,
        models_fitted: run.figures.models_fitted,
        mean_p_alive: 0.0,
        retention: crate::retention::months(db, scope, None, run.as_of).await?,
    };
    Ok(Some((run, f)))
}

/// `SELECT COUNT(*) FROM analytics_runs` (tests).
#[doc(hidden)]
pub async fn runs(db: &Db) -> StoreResult<i64> {
    let q = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from(AnalyticsRuns::Table)
        .to_owned();
    let (n,): (i64,) = db.fetch_one(&q).await?;
    Ok(n)
}

pub use kehu_customers::values::{SEGMENTS, VALUE_CLASSES};

/// `classes` in the order of `keys` (then any other), each named by `name`.
pub fn table_of_classes(
    tr: &kehu_web::i18n::Tr,
    classes: &[ClassFigures],
    keys: &[&str],
    name: impl Fn(&str) -> String,
) -> crate::table::Table {
    use crate::table::{Kind, Table, Value, basis_points};
    let mut t = Table::default();
    t.column("key", tr.t("report-key"), Kind::Text)
        .column("label", tr.t("report-label"), Kind::Text)
        .column("customers", tr.t("report-customers"), Kind::Count)
        .column("customer_share", tr.t("report-customer-share"), Kind::Share)
        .column("revenue", tr.t("report-amount"), Kind::Money)
        .column("revenue_share", tr.t("report-share"), Kind::Share)
        .column("clv", tr.t("report-clv"), Kind::Money);
    let customers: i64 = classes.iter().map(|c| c.customers).sum();
    let revenue: i64 = classes.iter().map(|c| c.revenue).sum();
    let rank = |k: &str| keys.iter().position(|x| *x == k).unwrap_or(keys.len());
    let mut sorted: Vec<&ClassFigures> = classes.iter().collect();
    sorted.sort_by_key(|c| (rank(&c.key), c.key.clone()));
    t.rows = sorted
        .into_iter()
        .map(|c| {
            vec![
                Value::Text(c.key.clone()),
                Value::Text(name(&c.key)),
                Value::Int(c.customers),
                Value::Int(basis_points(c.customers, customers)),
                Value::Int(c.revenue),
                Value::Int(basis_points(c.revenue, revenue)),
                Value::Int(c.clv),
            ]
        })
        .collect();
    t.totals = Some(vec![
        Value::Text(tr.t("report-total")),
        Value::Empty,
        Value::Int(customers),
        Value::Int(if customers > 0 { 10_000 } else { 0 }),
        Value::Int(revenue),
        Value::Int(if revenue > 0 { 10_000 } else { 0 }),
        Value::Int(classes.iter().map(|c| c.clv).sum()),
    ]);
    t
}

/// The Pareto curve as a table: the top 10 %, 20 % … of customers and their share.
pub fn pareto_table(tr: &kehu_web::i18n::Tr, f: &Figures) -> crate::table::Table {
    use crate::table::{Kind, Table, Value};
    let mut t = Table::default();
    t.column(
        "customers_percent",
        tr.t("report-top-customers"),
        Kind::Text,
    )
    .column("revenue_share", tr.t("report-share"), Kind::Share);
    t.rows = f
        .pareto
        .iter()
        .enumerate()
        .filter(|(i, _)| (i + 1) % 10 == 0 || *i == 0 || *i == 4)
        .map(|(i, bp)| vec![Value::Text(format!("{}%", i + 1)), Value::Int(*bp)])
        .collect();
    t
}

/// The RFM grid as a table: recency score down, frequency score across, customers in each
/// cell with their mean monetary score.
pub fn grid_table(tr: &kehu_web::i18n::Tr, f: &Figures) -> crate::table::Table {
    use crate::table::{Kind, Table, Value};
    let mut t = Table::default();
    t.column("r", tr.t("report-rfm-r"), Kind::Count);
    const FS: [&str; 5] = ["f1", "f2", "f3", "f4", "f5"];
    for (i, key) in FS.iter().enumerate() {
        t.column(key, format!("F{}", i + 1), Kind::Text);
    }
    for r in (1..=5).rev() {
        let mut row = vec![Value::Int(r)];
        for fs in 1..=5 {
            let cell = f
                .grid
                .iter()
                .find(|c| i64::from(c.r) == r && i64::from(c.f) == fs);
            row.push(Value::Text(cell.map_or_else(
                || "0".to_owned(),
                |c| format!("{}（M {:.1}）", c.customers, c.mean_m),
            )));
        }
        t.rows.push(row);
    }
    t
}

/// The clusters as a table.
pub fn cluster_table(tr: &kehu_web::i18n::Tr, f: &Figures) -> crate::table::Table {
    use crate::table::{Kind, Table, Value};
    let mut t = Table::default();
    t.column("cluster", tr.t("report-cluster"), Kind::Count)
        .column("customers", tr.t("report-customers"), Kind::Count)
        .column("recency_days", tr.t("report-recency-days"), Kind::Count)
        .column("orders", tr.t("report-orders"), Kind::Text)
        .column("revenue", tr.t("report-amount"), Kind::Money);
    t.rows = f
        .clusters
        .iter()
        .map(|c| {
            vec![
                Value::Int(i64::from(c.cluster) + 1),
                Value::Int(c.customers),
                Value::Int(c.recency_days.round() as i64),
                Value::Text(format!("{:.1}", c.orders)),
                Value::Int((c.revenue * 100.0).round() as i64),
            ]
        })
        .collect();
    t
}

/// A list of valued customers as a table.
pub fn valued_table(tr: &kehu_web::i18n::Tr, rows: &[stored::Valued]) -> crate::table::Table {
    use crate::table::{Kind, Table, Value};
    let mut t = Table::default();
    t.column("customer_code", tr.t("field-code"), Kind::Text)
        .column("customer_name", tr.t("report-customer"), Kind::Text)
        .column("segment", tr.t("report-segment"), Kind::Text)
        .column("value_class", tr.t("report-value-class"), Kind::Text)
        .column("clv", tr.t("report-clv"), Kind::Money)
        .column("p_alive", tr.t("report-p-alive"), Kind::Share)
        .column("revenue", tr.t("report-amount"), Kind::Money)
        .column("orders", tr.t("report-orders"), Kind::Count)
        .column("last_purchase", tr.t("report-last-purchase"), Kind::Day);
    t.rows = rows
        .iter()
        .map(|r| {
            let v = &r.value;
            vec![
                Value::Text(r.customer_code.clone()),
                Value::Text(r.customer_name.clone()),
                Value::Text(tr.t(&format!("segment-{}", v.segment))),
                Value::Text(tr.t(&format!("value-class-{}", v.value_class))),
                Value::Int(v.clv),
                Value::Int(i64::from(v.p_alive) / 100),
                Value::Int(v.revenue),
                Value::Int(i64::from(v.orders)),
                v.last_purchase.map_or(Value::Empty, Value::Day),
            ]
        })
        .collect();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pareto_curve_is_the_share_of_the_top_percent_of_customers() {
        // Ten customers; the first holds half the revenue.
        let revenues = [500, 100, 100, 50, 50, 50, 50, 50, 30, 20];
        let (curve, for_80) = pareto(&revenues);
        assert_eq!(curve.len(), 100);
        // The top 10 % is the first customer: 50 %.
        assert_eq!(curve[9], 5_000);
        // The top 40 %: 750 of 1000.
        assert_eq!(curve[39], 7_500);
        assert_eq!(curve[99], 10_000);
        // 80 % needs the top five customers: 50 %.
        assert_eq!(for_80, 50);
        assert_eq!(pareto(&[]), (Vec::new(), 0));
    }
}
