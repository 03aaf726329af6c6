//! Fills a database with N customers (default 1,000,000) spread over ten account managers,
//! five regions, the five levels and a VIP tag on one in seven, then times the customer list
//! through the store: each filter and sort a user picks, first pages and a deep cursor.
//!
//! `cargo run -p kehu-customers --example list_at_scale -- [DATABASE_URL] [N]`
//! (default: a SQLite file in a temporary directory). On PostgreSQL give a fresh schema, e.g.
//! `postgres://postgres@127.0.0.1:5432/test?options[search_path]=bench`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::time::{Duration, Instant};

use chrono::FixedOffset;
use kehu_customers::domain::Status;
use kehu_customers::store::{CustomerFilter, CustomerSort, CustomerStore};
use kehu_domain::policy::OwnerFilter;
use kehu_store::db::{Backend, DbOptions};
use kehu_store::page::{Dir, ListRequest, Sort};
use kehu_store::users::NewUser;
use kehu_store::{Actor, PageRequest, Store};

const REGIONS: [&str; 5] = ["440000", "110000", "310000", "330000", "510000"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = tempfile::tempdir()?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let n: u64 = args.next().map_or(1_000_000, |s| s.parse().unwrap());
    let store = Store::open_with_migrations(
        &url,
        DbOptions::default(),
        kehu_customers::migrations::MIGRATIONS,
    )
    .await?;
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
    println!("filled {n} customers in {:.1?}", t.elapsed());

    let customers = CustomerStore::new(store.db.clone(), FixedOffset::east_opt(8 * 3600).unwrap());
    let all = OwnerFilter::system();
    let by = |key, dir| Sort::new(key, dir);
    let f = CustomerFilter::default;
    let cases: Vec<(&str, CustomerFilter, Sort<CustomerSort>)> = vec![
        (
            "everything, newest first",
            f(),
            by(CustomerSort::Created, Dir::Desc),
        ),
        ("everything by name", f(), by(CustomerSort::Name, Dir::Asc)),
        (
            "region, newest first",
            CustomerFilter {
                region: Some("440000".into()),
                ..f()
            },
            by(CustomerSort::Created, Dir::Desc),
        ),
        (
            "region by name",
            CustomerFilter {
                region: Some("440000".into()),
                ..f()
            },
            by(CustomerSort::Name, Dir::Asc),
        ),
        (
            "level by code",
            CustomerFilter {
                level: Some("key_account".into()),
                ..f()
            },
            by(CustomerSort::Code, Dir::Asc),
        ),
        (
            "one manager by name",
            CustomerFilter {
                owner_id: Some(owners[3]),
                ..f()
            },
            by(CustomerSort::Name, Dir::Asc),
        ),
        (
            "tag VIP, newest first",
            CustomerFilter {
                tag: Some("VIP".into()),
                ..f()
            },
            by(CustomerSort::Created, Dir::Desc),
        ),
        (
            "name prefix",
            CustomerFilter {
                q: Some("客户12345".into()),
                ..f()
            },
            by(CustomerSort::Name, Dir::Asc),
        ),
        (
            "status lost (none)",
            CustomerFilter {
                status: Some(Status::Lost),
                ..f()
            },
            by(CustomerSort::Created, Dir::Desc),
        ),
    ];
    for (name, filter, sort) in &cases {
        let mut times = Vec::new();
        for _ in 0..20 {
            let req = ListRequest::new(*sort, None, PageRequest::new(None, Some(50)));
            let t = Instant::now();
            let l = customers.list(all, filter, req).await?;
            times.push(t.elapsed());
            assert!(l.items.len() <= 50);
        }
        report(name, &mut times);
    }
    // A manager's own list (their scope), and 200 pages deep by cursor.
    let mine = {
        let p = store.users.principal(owners[3]).await?.unwrap();
        p.owner_filter()
    };
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        customers.list(mine, &f(), ListRequest::first(50)).await?;
        times.push(t.elapsed());
    }
    report("a manager's own, newest first", &mut times);
    let sort = by(CustomerSort::Name, Dir::Asc);
    let mut cursor = None;
    let mut times = Vec::new();
    for _ in 0..200 {
        let req = ListRequest::new(sort, cursor, PageRequest::new(None, Some(50)));
        let t = Instant::now();
        let l = customers.list(all, &f(), req).await?;
        times.push(t.elapsed());
        cursor = l.next;
    }
    report("200 pages by name, by cursor (each page)", &mut times);
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

/// Inserts `n` customers in one statement per backend, then the VIP tags; `first_owner` is
/// the first of ten consecutive user ids.
async fn fill(store: &Store, n: u64, first_owner: i64) -> anyhow::Result<()> {
    let regions = REGIONS
        .iter()
        .enumerate()
        .map(|(i, r)| format!("WHEN {i} THEN '{r}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let levels = [
        "ordinary",
        "key_account",
        "focus_development",
        "partner",
        "strategic_partner",
    ]
    .iter()
    .enumerate()
    .map(|(i, r)| format!("WHEN {i} THEN '{r}'"))
    .collect::<Vec<_>>()
    .join(" ");
    let (rows, code, at) = match store.db.backend() {
        Backend::Sqlite => (
            format!(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s"
            ),
            "'KH' || (20260101 + i / 900000) || printf('%06d', i % 900000)",
            "strftime('%Y-%m-%d %H:%M:%S+00:00', 1700000000 + i * 30, 'unixepoch')",
        ),
        Backend::Postgres => (
            format!("SELECT i FROM generate_series(1, {n}) AS i"),
            "'KH' || (20260101 + i / 900000)::text || lpad((i % 900000)::text, 6, '0')",
            "to_timestamp(1700000000 + i * 30)",
        ),
    };
    let sql = format!(
        "INSERT INTO customers (code, name, owner_id, region, level, status, tags, created_at, updated_at, version) \
         SELECT {code}, '客户' || i, {first_owner} + (i % 10), CASE i % 5 {regions} END, \
         CASE (i / 5) % 5 {levels} END, 'active', CASE WHEN i % 7 = 0 THEN 'VIP' ELSE '' END, {at}, {at}, 1 \
         FROM ({rows}) AS seq"
    );
    store.db.execute_raw(&sql).await?;
    store
        .db
        .execute_raw("INSERT INTO customer_tags (customer_id, tag) SELECT id, 'VIP' FROM customers WHERE tags = 'VIP'")
        .await?;
    store.db.execute_raw("ANALYZE").await?;
    Ok(())
}
