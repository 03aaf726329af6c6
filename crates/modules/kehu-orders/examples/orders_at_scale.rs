//! Fills a database with 100,000 customers over ten account managers and N orders (default
//! 1,000,000) over three years, then times the order list through the store: each filter and
//! sort a user picks, a manager's own orders (scoped through their customers), one customer's
//! history, and 200 pages deep by cursor.
//!
//! `cargo run --release -p kehu-orders --example orders_at_scale -- [DATABASE_URL] [N]`
//! (default: a SQLite file in a temporary directory). On PostgreSQL give a fresh schema, e.g.
//! `postgres://postgres@127.0.0.1:5432/test?options[search_path]=bench`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::time::{Duration, Instant};

use chrono::{FixedOffset, NaiveDate};
use kehu_domain::money::Money;
use kehu_domain::policy::OwnerFilter;
use kehu_orders::domain::OrderStatus;
use kehu_orders::store::{OrderFilter, OrderSort, OrderStore};
use kehu_store::db::{Backend, DbOptions};
use kehu_store::page::{Dir, ListRequest, Sort};
use kehu_store::users::NewUser;
use kehu_store::{Actor, PageRequest, Store};

const CUSTOMERS: u64 = 100_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = tempfile::tempdir()?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let n: u64 = args.next().map_or(1_000_000, |s| s.parse().unwrap());
    let mut all = kehu_customers::migrations::MIGRATIONS.to_vec();
    all.extend_from_slice(kehu_orders::migrations::MIGRATIONS);
    let store = Store::open_with_migrations(&url, DbOptions::default(), &all).await?;
    let role = store
        .roles
        .list()
        .await?
        .into_iter()
        .find(|r| r.role.code.as_deref() == Some("account_manager"))
        .unwrap()
        .role
        .id;
    let mut owners = Vec::new();
    for i in 0..10 {
        let u = store
            .users
            .create(
                &NewUser {
                    username: format!("am{i}"),
                    display_name: format!("经理{i}"),
                    email: None,
                    role_id: role,
                    password_hash: "x".into(),
                    must_change_password: false,
                },
                &Actor::system(),
            )
            .await?;
        owners.push(u.id);
    }
    let t = Instant::now();
    fill(&store, n, owners[0]).await?;
    println!(
        "filled {CUSTOMERS} customers and {n} orders in {:.1?}",
        t.elapsed()
    );

    let orders = OrderStore::new(store.db.clone(), FixedOffset::east_opt(8 * 3600).unwrap());
    let everyone = OwnerFilter::system();
    let mine = store
        .users
        .principal(owners[3])
        .await?
        .unwrap()
        .owner_filter();
    let by = |key, dir| Sort::new(key, dir);
    let f = OrderFilter::default;
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let cases: Vec<(&str, OwnerFilter, OrderFilter, Sort<OrderSort>)> = vec![
        (
            "everything, newest first",
            everyone,
            f(),
            by(OrderSort::Date, Dir::Desc),
        ),
        (
            "everything by total",
            everyone,
            f(),
            by(OrderSort::Total, Dir::Desc),
        ),
        (
            "cancelled, newest first",
            everyone,
            OrderFilter {
                status: Some(OrderStatus::Cancelled),
                ..f()
            },
            by(OrderSort::Date, Dir::Desc),
        ),
        (
            "one month, newest first",
            everyone,
            OrderFilter {
                date_from: day("2025-03-01"),
                date_to: day("2025-03-31"),
                ..f()
            },
            by(OrderSort::Date, Dir::Desc),
        ),
        (
            "total ≥ 9000, newest first",
            everyone,
            OrderFilter {
                min_total: Some(Money::from_fen(900_000)),
                ..f()
            },
            by(OrderSort::Date, Dir::Desc),
        ),
        (
            "one customer's history",
            everyone,
            OrderFilter {
                customer_id: Some(4242),
                ..f()
            },
            by(OrderSort::Date, Dir::Desc),
        ),
        (
            "a manager's own, newest first",
            mine,
            f(),
            by(OrderSort::Date, Dir::Desc),
        ),
        (
            "a manager's own, cancelled",
            mine,
            OrderFilter {
                status: Some(OrderStatus::Cancelled),
                ..f()
            },
            by(OrderSort::Date, Dir::Desc),
        ),
        (
            "a manager's own by number",
            mine,
            f(),
            by(OrderSort::Number, Dir::Asc),
        ),
    ];
    for (name, scope, filter, sort) in &cases {
        let mut times = Vec::new();
        for _ in 0..20 {
            let req = ListRequest::new(*sort, None, PageRequest::new(None, Some(50)));
            let t = Instant::now();
            let l = orders.list(*scope, filter, req).await?;
            times.push(t.elapsed());
            assert!(l.items.len() <= 50);
        }
        report(name, &mut times);
    }
    for (name, scope) in [
        ("200 pages, everything", everyone),
        ("200 pages, a manager's", mine),
    ] {
        let mut cursor = None;
        let mut times = Vec::new();
        for _ in 0..200 {
            let sort = by(OrderSort::Date, Dir::Desc);
            let req = ListRequest::new(sort, cursor, PageRequest::new(None, Some(50)));
            let t = Instant::now();
            let l = orders.list(scope, &f(), req).await?;
            times.push(t.elapsed());
            cursor = l.next;
        }
        report(&format!("{name} by cursor (each page)"), &mut times);
    }
    Ok(())
}

fn report(name: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{name:45} median {:7.2} ms   p90 {:7.2} ms   max {:7.2} ms",
        ms(p(0.5)),
        ms(p(0.9)),
        ms(times[times.len() - 1])
    );
}

/// Inserts the customers (ten managers from `first_owner`) and `n` orders, one statement each.
async fn fill(store: &Store, n: u64, first_owner: i64) -> anyhow::Result<()> {
    let seq = |n: u64| match store.db.backend() {
        Backend::Sqlite => format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s"
        ),
        Backend::Postgres => format!("SELECT i FROM generate_series(1, {n}) AS i"),
    };
    let (code, number, at, date) = match store.db.backend() {
        Backend::Sqlite => (
            "'KH20260101' || printf('%06d', i)",
            "'DD' || (20260101 + i / 900000) || printf('%06d', i % 900000)",
            "strftime('%Y-%m-%d %H:%M:%S+00:00', 1700000000 + i * 30, 'unixepoch')",
            "date('2023-01-01', '+' || (i % 1095) || ' days')",
        ),
        Backend::Postgres => (
            "'KH20260101' || lpad(i::text, 6, '0')",
            "'DD' || (20260101 + i / 900000)::text || lpad((i % 900000)::text, 6, '0')",
            "to_timestamp(1700000000 + i * 30)",
            "DATE '2023-01-01' + (i % 1095)::int",
        ),
    };
    store
        .db
        .execute_raw(&format!(
            "INSERT INTO customers (code, name, owner_id, status, tags, created_at, updated_at, version) \
             SELECT {code}, '客户' || i, {first_owner} + (i % 10), 'active', '', {at}, {at}, 1 \
             FROM ({}) AS seq",
            seq(CUSTOMERS)
        ))
        .await?;
    store
        .db
        .execute_raw(&format!(
            "INSERT INTO orders (number, customer_id, order_date, status, total, created_at, updated_at, version) \
             SELECT {number}, 1 + (i * 7919) % {CUSTOMERS}, {date}, \
             CASE WHEN i % 20 = 0 THEN 'cancelled' WHEN i % 3 = 0 THEN 'delivered' ELSE 'placed' END, \
             (i * 7907) % 1000000, {at}, {at}, 1 FROM ({}) AS seq",
            seq(n)
        ))
        .await?;
    store.db.execute_raw("ANALYZE").await?;
    Ok(())
}
