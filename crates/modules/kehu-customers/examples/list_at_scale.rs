//! Fills a database with N customers (default 1,000,000) spread over ten account managers,
//! five regions, the five levels and a VIP tag on one in seven, then times the customer list
//! through the store: each filter and sort a user picks, first pages and a deep cursor.
//!
//! `cargo run -p kehu-customers --example list_at_scale -- [DATABASE_URL] [N]`
//! (default: a SQLite file in a temporary directory). On PostgreSQL give a fresh schema, e.g.
//! `postgres://postgres@127.0.0.1:5432/test?options[search_path]=bench`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::time::Instant;

use chrono::FixedOffset;
use kehu_customers::domain::Status;
use kehu_customers::store::{CustomerFilter, CustomerSort, CustomerStore};
use kehu_domain::policy::OwnerFilter;
use kehu_store::db::DbOptions;
use kehu_store::page::{Dir, ListRequest, Sort};
use kehu_store::users::NewUser;
use kehu_store::{Actor, PageRequest, Store};

mod scale;
use scale::{fill, report};

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
