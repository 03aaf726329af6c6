//! What the at-scale examples share: filling a database with customers fast (one statement
//! per backend) and reporting timings.

#![allow(dead_code, reason = "each example uses part of it")]

use std::time::Duration;

use kehu_store::Store;
use kehu_store::db::Backend;

const REGIONS: [&str; 5] = ["440000", "110000", "310000", "330000", "510000"];

pub fn report(name: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{name:45} median {:7.2} ms   p90 {:7.2} ms   p99 {:7.2} ms   max {:7.2} ms",
        ms(p(0.5)),
        ms(p(0.9)),
        ms(p(0.99)),
        ms(times[times.len() - 1])
    );
}

/// Inserts `n` customers in one statement per backend, then the VIP tags; `first_owner` is
/// the first of ten consecutive user ids.
pub async fn fill(store: &Store, n: u64, first_owner: i64) -> anyhow::Result<()> {
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
