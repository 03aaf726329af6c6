//! Times what the customer page (客户 360°) reads, through the stores, at N customers (default
//! 1,000,000): each customer has a contact; every tenth has 20 interactions, each linked into
//! its history; the audit log holds a million other entries besides. For 1000 random customers
//! of those with interactions: the customer, its contacts, the latest 20 interactions with
//! their count, and the latest 50 history entries — the page's statements, one after another.
//!
//! `cargo run --release -p kehu-customers --example page_at_scale -- [DATABASE_URL] [N]`
//! (default: a SQLite file in a temporary directory). On PostgreSQL give a fresh schema, e.g.
//! `postgres://postgres@127.0.0.1:5432/test?options[search_path]=bench`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};
use kehu_customers::activities::ActivityStore;
use kehu_customers::store::CustomerStore;
use kehu_domain::policy::OwnerFilter;
use kehu_store::db::{Backend, DbOptions};
use kehu_store::page::ListRequest;
use kehu_store::users::NewUser;
use kehu_store::{Actor, Store};
use rand::{Rng, SeedableRng};

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
    kehu_store::audit::fill_synthetic(&store.db, 1_000_000, Utc::now()).await?;
    fill_around(&store, n, owners[0]).await?;
    println!(
        "filled {n} customers and what hangs off them in {:.1?}",
        t.elapsed()
    );

    let customers = CustomerStore::new(store.db.clone(), FixedOffset::east_opt(8 * 3600).unwrap());
    let activities = ActivityStore::new(store.db.clone());
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..1000 {
        let id = i64::try_from(rng.random_range(1..=n / 10)).unwrap() * 10;
        let t = Instant::now();
        let cu = customers.get(OwnerFilter::system(), id).await?;
        let k = customers.contacts_of(OwnerFilter::system(), id).await?;
        let a = activities
            .of_customer(OwnerFilter::system(), id, ListRequest::first(20))
            .await?;
        let h = kehu_customers::history::latest(&store.db, id, 50).await?;
        times.push(t.elapsed());
        assert!(cu.id == id && k.len() == 1 && a.items.len() == 20 && h.len() >= 20);
    }
    report("customer page's statements (1000 customers)", &mut times);
    Ok(())
}

/// One contact per customer; 20 interactions for every tenth, each with its audit entry and
/// its link into the customer's history.
async fn fill_around(store: &Store, n: u64, owner: i64) -> anyhow::Result<()> {
    let (hours, as_text) = match store.db.backend() {
        Backend::Sqlite => (
            "strftime('%Y-%m-%d %H:%M:%S+00:00', 1700000000 + c.id * 60 + j.j * 86400, 'unixepoch')",
            "CAST(a.id AS TEXT)",
        ),
        Backend::Postgres => (
            "to_timestamp(1700000000 + c.id * 60 + j.j * 86400)",
            "a.id::text",
        ),
    };
    let sqls = [
        "INSERT INTO contacts (customer_id, name, is_primary, created_at, updated_at, version) \
         SELECT id, '联系人' || id, TRUE, created_at, created_at, 1 FROM customers"
            .to_owned(),
        format!(
            "INSERT INTO activities (customer_id, at, channel, title, created_at, created_by, updated_at, version) \
             SELECT c.id, {hours}, 'visit', '拜访' || j.j, {hours}, {owner}, {hours}, 1 \
             FROM customers c CROSS JOIN (SELECT 1 AS j UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 \
             UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9 UNION ALL SELECT 10 \
             UNION ALL SELECT 11 UNION ALL SELECT 12 UNION ALL SELECT 13 UNION ALL SELECT 14 UNION ALL SELECT 15 \
             UNION ALL SELECT 16 UNION ALL SELECT 17 UNION ALL SELECT 18 UNION ALL SELECT 19 UNION ALL SELECT 20) j \
             WHERE c.id % 10 = 0 AND c.id <= {n}"
        ),
        format!(
            "INSERT INTO customer_records (customer_id, entity, entity_id) \
             SELECT a.customer_id, 'activity', {as_text} FROM activities a"
        ),
        format!(
            "INSERT INTO audit_log (at, user_id, username, action, entity, entity_id, changes) \
             SELECT a.created_at, {owner}, 'am0', 'create', 'activity', {as_text}, '{{}}' FROM activities a"
        ),
        "ANALYZE".to_owned(),
    ];
    for sql in sqls {
        store.db.execute_raw(&sql).await?;
    }
    Ok(())
}
