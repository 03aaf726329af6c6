//! Fills a kehu database's audit log with made-up entries for the platform benchmark
//! (`bench/platform/run.sh`): migrates the database if needed, then inserts ROWS entries ending
//! a day ago in one statement (see `kehu_store::audit::fill_synthetic`).
//!
//! Usage: `fill_audit <database-url> <rows>`

use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(rows)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: fill_audit <database-url> <rows>");
    };
    let rows: u64 = rows.parse().context("rows must be a whole number")?;
    let store = kehu_store::Store::open(&url).await?;
    let started = std::time::Instant::now();
    let end = chrono::Utc::now() - chrono::Duration::days(1);
    kehu_store::audit::fill_synthetic(&store.db, rows, end).await?;
    if store.db.backend() == kehu_store::Backend::Postgres {
        // What autovacuum does soon after a bulk insert: statistics and the visibility map
        // (which lets index-only scans skip the table).
        store.db.execute_raw("VACUUM ANALYZE audit_log").await?;
    }
    println!(
        "{rows} audit entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    store.db.close().await;
    Ok(())
}
