//! Fills a kehu database for the loss scan's benchmark (bench/loss/run.sh): CUSTOMERS customers
//! (default 1,000,000) over the account managers already there (`kehu demo --customers 0 …`),
//! and LINES order lines (default ten a customer) on orders of three to five lines of the
//! products already there (the demo's catalogue), over the last three years.
//!
//! The data is a company's, not kehu's: the book grew over six years, fastest lately; 0.5 % are
//! key accounts that order every two weeks or so, the others every few months, some of them
//! stopped ordering some time ago, some never ordered at all, 1 % are in the trash. The
//! orders are inserted as an import of the old system's order history would insert them, by
//! order date (not by customer), about 4 % cancelled, the recent ones still placed; each
//! customer's `last_order_at` is its latest order that is not cancelled, at midnight of that
//! day in Asia/Shanghai (as kehu-orders keeps it). Customer codes and order numbers are kehu's
//! (`KH`/`DD`, the day, the day's sequence) and the day counters follow them.
//!
//! Bulk-loaded in multi-row `INSERT`s (one transaction per batch) into the schema kehu
//! migrates: the database must have been migrated by the binary (`kehu migrate`, `kehu demo`)
//! and hold no customers and no orders yet; the customer, order and loss modules' migrations
//! are applied here too when missing. No search index, contacts or audit entries for the
//! loaded rows: the loss scan reads none of them.
//!
//! Prints what it loaded, how long it took, and what a loss scan today with the default
//! settings (six months, customers that never ordered judged from their creation) must find:
//! a last line `expect scanned=N warned=M`.
//!
//! `cargo run --release -p kehu-loss --example loss_data -- DATABASE_URL [CUSTOMERS] [LINES] [SEED]`

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Context as _, bail, ensure};
use chrono::{DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, TimeZone, Utc};
use kehu_store::Store;
use kehu_store::db::{Backend, Db, DbOptions};
use kehu_store::statement::Raw;

/// Asia/Shanghai (no daylight saving): the zone of order days and `last_order_at`.
const ZONE_SECS: i32 = 8 * 3600;
/// The book's age: customers were created over the last six years.
const BOOK_DAYS: f64 = 2190.0;
/// The book's growth: customers created `ago` days ago are as many as `e^(-ago/GROWTH_DAYS)`.
const GROWTH_DAYS: f64 = 500.0;
/// The order history imported: the last three years.
const HISTORY_DAYS: i32 = 1095;
/// Rows per `INSERT` statement.
const ROWS: usize = 1000;
/// Customers per transaction.
const CUSTOMER_BATCH: usize = 20_000;
/// Orders per transaction (with their lines, about four times as many).
const ORDER_BATCH: usize = 10_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().context(
        "usage: loss_data DATABASE_URL [CUSTOMERS] [LINES] [SEED] (a database `kehu demo \
         --customers 0` made)",
    )?;
    let n: usize = args.next().map_or(Ok(1_000_000), |s| s.parse())?;
    let lines: u64 = args.next().map_or(Ok(n as u64 * 10), |s| s.parse())?;
    let seed: u64 = args.next().map_or(Ok(2026), |s| s.parse())?;
    ensure!(n > 0, "no customers to load");

    let started = Instant::now();
    let mut migrations = kehu_customers::migrations::MIGRATIONS.to_vec();
    migrations.extend_from_slice(kehu_orders::migrations::MIGRATIONS);
    migrations.extend_from_slice(kehu_loss::migrations::MIGRATIONS);
    let store = Store::open_with_migrations(&url, DbOptions::default(), &migrations).await?;
    let db = store.db.clone();
    let backend = db.backend();

    let (customers_there,): (i64,) = db
        .fetch_one(&Raw("SELECT COUNT(*) FROM customers".into()))
        .await?;
    let (orders_there,): (i64,) = db
        .fetch_one(&Raw("SELECT COUNT(*) FROM orders".into()))
        .await?;
    ensure!(
        customers_there == 0 && orders_there == 0,
        "the database holds {customers_there} customers and {orders_there} orders: give a \
         fresh one (kehu demo --customers 0 --opportunities 0 --services 0)"
    );
    let managers: Vec<(i64,)> = db
        .fetch_all(&Raw(
            "SELECT u.id FROM users u JOIN roles r ON r.id = u.role_id \
             WHERE r.code = 'account_manager' AND NOT u.disabled ORDER BY u.id"
                .into(),
        ))
        .await?;
    let managers: Vec<i64> = managers.into_iter().map(|(id,)| id).collect();
    let products: Vec<Product> = db
        .fetch_all(&Raw(
            "SELECT id, name, model, unit, price FROM products ORDER BY id".into(),
        ))
        .await?;
    if managers.is_empty() || products.len() < 5 {
        bail!(
            "{} account managers and {} products: run `kehu demo --customers 0 \
             --opportunities 0 --services 0` on this database first",
            managers.len(),
            products.len()
        );
    }

    let zone = FixedOffset::east_opt(ZONE_SECS).unwrap();
    let today = Utc::now().with_timezone(&zone).date_naive();
    let cutoff_day = today.checked_sub_months(Months::new(6)).unwrap();
    let cutoff = midnight(cutoff_day);

    let t = Instant::now();
    let book = generate(n, lines, seed, today, &managers);
    let generated = t.elapsed();
    book.describe(today, cutoff_day, cutoff, &products);

    // The SQL is written on a thread of its own while the database takes the previous batch.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(3);
    let writer = {
        let products = products.clone();
        std::thread::spawn(move || write_sql(&book, &products, backend, seed, &tx))
    };
    let t = Instant::now();
    // PostgreSQL takes two batches at once (a server process each: both cores); SQLite has
    // one writer. Every customer is in before the first order (its foreign key).
    let parallel = match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 2,
    };
    let mut running = tokio::task::JoinSet::new();
    let (mut customer_secs, mut rows_done, mut lines_done) = (0.0, 0u64, 0u64);
    let mut next_report = 0.1;
    let mut customers_done = false;
    while let Some(batch) = rx.recv().await {
        if batch.kind == Kind::Orders && !customers_done {
            while let Some(r) = running.join_next().await {
                r??;
            }
            customers_done = true;
            customer_secs = t.elapsed().as_secs_f64();
        }
        while running.len() >= parallel {
            if let Some(r) = running.join_next().await {
                r??;
            }
        }
        rows_done += batch.rows;
        lines_done += batch.lines;
        if batch.kind == Kind::Orders && lines_done as f64 >= next_report * lines as f64 {
            eprintln!(
                "  … {:.0} % of the order lines in {:.0} s",
                100.0 * lines_done as f64 / lines as f64,
                t.elapsed().as_secs_f64()
            );
            next_report += 0.1;
        }
        let db = db.clone();
        running.spawn(async move {
            let mut w = db.begin().await?;
            if backend == Backend::Sqlite {
                // The loader's own connection only (not kept in the file): the indexes' pages
                // in memory while a batch goes into them, not read back for each row.
                w.execute_raw("PRAGMA cache_size = -524288").await?;
            }
            w.execute_raw(&batch.sql).await?;
            w.commit().await?;
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(r) = running.join_next().await {
        r??;
    }
    if !customers_done {
        customer_secs = t.elapsed().as_secs_f64();
    }
    let counters = writer.join().expect("the SQL writer")?;
    let inserted = t.elapsed();
    finish(&db, &counters).await?;
    let total = t.elapsed();
    println!(
        "  loaded in {:.1} s: generated in {:.1} s, customers inserted in {customer_secs:.1} s, \
         orders and lines in {:.1} s ({:.0} lines/s), counters and statistics {:.1} s; \
         {rows_done} rows, {:.1} s with opening",
        generated.as_secs_f64() + total.as_secs_f64(),
        generated.as_secs_f64(),
        inserted.as_secs_f64() - customer_secs,
        lines_done as f64 / (inserted.as_secs_f64() - customer_secs).max(1e-9),
        (total - inserted).as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    println!(
        "expect scanned={} warned={}",
        counters.expect_scanned, counters.expect_warned
    );
    Ok(())
}

/// A product of the catalogue, as an order line copies it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Product {
    id: i64,
    name: String,
    model: String,
    unit: String,
    /// Fen.
    price: i64,
}

/// One customer as generated.
struct Customer {
    /// Days since the common era of its creation (local), and the minute of that day.
    created_day: i32,
    created_minute: u16,
    owner: i64,
    deleted: bool,
    /// Its latest order day that is not cancelled.
    last_day: Option<i32>,
}

/// One order as generated.
#[derive(Clone, Copy)]
struct Order {
    day: i32,
    minute: u16,
    /// Index into the customers (its id less one).
    customer: u32,
    status: OrderStatus,
    lines: u8,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OrderStatus {
    Placed,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    fn code(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

struct Book {
    customers: Vec<Customer>,
    /// By order day and minute: the order of the import.
    orders: Vec<Order>,
    lines: u64,
    /// The interval multiplier that gave the orders wanted.
    scale: f64,
}

/// SplitMix64: small, fast and good enough for a data set.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Index by weight.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// How a customer orders (when it does).
#[derive(Clone, Copy)]
struct Habit {
    /// First and last possible order day (days since the common era).
    first: f64,
    stop: f64,
    /// Days between orders (before the scale), each jittered by half either way.
    interval: f64,
    key_account: bool,
}

fn generate(n: usize, lines: u64, seed: u64, today: NaiveDate, managers: &[i64]) -> Book {
    let mut rng = Rng(seed);
    let today_n = today.num_days_from_ce();
    let yesterday = f64::from(today_n - 1);
    let history_from = f64::from(today_n - HISTORY_DAYS);
    // The managers' books differ in size: the first one's is the largest.
    let manager_weights: Vec<f64> = (0..managers.len()).map(|j| 0.8f64.powi(j as i32)).collect();

    // Created over six years, more of them lately (the company grew); in id order, oldest
    // first, as they were entered.
    let mut created: Vec<(i32, u16)> = (0..n)
        .map(|_| {
            // A truncated exponential: the book grew by about half each year.
            let u = rng.unit();
            let ago = 1
                + (-GROWTH_DAYS * (1.0 - u * (1.0 - (-BOOK_DAYS / GROWTH_DAYS).exp())).ln()) as i32;
            let minute = 8 * 60 + rng.below(10 * 60) as u16;
            (today_n - ago, minute)
        })
        .collect();
    created.sort_unstable();
    let mut customers: Vec<Customer> = created
        .iter()
        .map(|&(day, minute)| Customer {
            created_day: day,
            created_minute: minute,
            owner: managers[rng.weighted(&manager_weights)],
            deleted: rng.chance(0.01),
            last_day: None,
        })
        .collect();

    // Their habits: 5 % never buy; the others start two weeks or so after they were created
    // (or at the start of the imported history); 0.5 % are key accounts (every two weeks or
    // so, rarely lost), the others every few months, 15 % of whom stopped after a year and a
    // half or so on average.
    let habits: Vec<Option<Habit>> = customers
        .iter()
        .map(|c| {
            if rng.chance(0.05) {
                return None;
            }
            let first = (f64::from(c.created_day) + rng.exp(14.0)).max(history_from);
            if first > yesterday {
                return None;
            }
            let key_account = rng.chance(0.005);
            let (interval, churn, life) = if key_account {
                (14.0 * (0.3 * rng.normal()).exp(), 0.05, 700.0)
            } else {
                (120.0 * (0.5 * rng.normal()).exp(), 0.15, 500.0)
            };
            let stop = if rng.chance(churn) {
                (first + rng.exp(life)).min(yesterday)
            } else {
                yesterday
            };
            Some(Habit {
                first,
                stop,
                interval,
                key_account,
            })
        })
        .collect();

    // The regular customers' intervals scaled so the orders come to about LINES / 4.
    let wanted = (lines as f64 / 4.0).max(1.0);
    let order_seed = rng.next();
    let count = |scale: f64, mut visit: Option<&mut dyn FnMut(u32, f64)>| -> u64 {
        let mut r = Rng(order_seed);
        let mut total = 0;
        for (i, h) in habits.iter().enumerate() {
            let Some(h) = h else { continue };
            let interval = if h.key_account {
                h.interval
            } else {
                h.interval * scale
            };
            let mut day = h.first;
            while day <= h.stop {
                total += 1;
                if let Some(v) = visit.as_mut() {
                    v(i as u32, day);
                }
                day += interval * r.uniform(0.5, 1.5);
            }
        }
        total
    };
    let (mut lo, mut hi) = (0.01f64, 100.0f64);
    for _ in 0..40 {
        let mid = (lo * hi).sqrt();
        if count(mid, None) as f64 > wanted {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let scale = (lo * hi).sqrt();
    let mut days: Vec<(i32, u32)> = Vec::with_capacity(wanted as usize + n);
    count(scale, Some(&mut |i, day| days.push((day as i32, i))));

    // In the order of the import: by day, then by the time it was entered.
    let mut orders: Vec<Order> = days
        .into_iter()
        .map(|(day, customer)| {
            let age = today_n - day;
            let status = if rng.chance(0.04) {
                OrderStatus::Cancelled
            } else if age <= 10 && rng.chance(0.6) || rng.chance(0.005) {
                OrderStatus::Placed
            } else {
                OrderStatus::Delivered
            };
            Order {
                day,
                minute: 8 * 60 + rng.below(11 * 60) as u16,
                customer,
                status,
                lines: 3 + rng.below(3) as u8,
            }
        })
        .collect();
    orders.sort_unstable_by_key(|o| (o.day, o.minute));

    // Exactly LINES lines: a line more or less on random orders (three to five each, else
    // two to six).
    let mut have: i64 = orders.iter().map(|o| i64::from(o.lines)).sum();
    let want = lines as i64;
    for (lo, hi) in [(3u8, 5u8), (2, 6), (1, 20)] {
        let count = orders.len() as u64;
        let mut tries = 0u64;
        while have != want && count > 0 && tries < 50 * count {
            tries += 1;
            let o = &mut orders[rng.below(count) as usize];
            if have > want && o.lines > lo {
                o.lines -= 1;
                have -= 1;
            } else if have < want && o.lines < hi {
                o.lines += 1;
                have += 1;
            }
        }
    }
    for o in &orders {
        if o.status != OrderStatus::Cancelled {
            let c = &mut customers[o.customer as usize];
            c.last_day = Some(c.last_day.map_or(o.day, |d| d.max(o.day)));
        }
    }
    Book {
        customers,
        orders,
        lines: have as u64,
        scale,
    }
}

impl Book {
    /// What was generated, and what the loss scan must find in it.
    fn describe(
        &self,
        today: NaiveDate,
        cutoff_day: NaiveDate,
        cutoff: DateTime<Utc>,
        products: &[Product],
    ) {
        let n = self.customers.len();
        let pct = |k: usize| 100.0 * k as f64 / n.max(1) as f64;
        let today_n = today.num_days_from_ce();
        let cut_n = cutoff_day.num_days_from_ce();
        let never = self
            .customers
            .iter()
            .filter(|c| c.last_day.is_none())
            .count();
        let deleted = self.customers.iter().filter(|c| c.deleted).count();
        let within = |days: i32| {
            self.customers
                .iter()
                .filter(|c| c.last_day.is_some_and(|d| today_n - d <= days))
                .count()
        };
        let stale = self
            .customers
            .iter()
            .filter(|c| !c.deleted && is_stale(c, cut_n, cutoff))
            .count();
        let mut per: Vec<u32> = vec![0; n];
        for o in &self.orders {
            per[o.customer as usize] += 1;
        }
        per.sort_unstable();
        let q = |p: f64| per[((n - 1) as f64 * p) as usize];
        let cancelled = self
            .orders
            .iter()
            .filter(|o| o.status == OrderStatus::Cancelled)
            .count();
        let mut by_year = std::collections::BTreeMap::<i32, usize>::new();
        for o in &self.orders {
            let y = NaiveDate::from_num_days_from_ce_opt(o.day).unwrap().year();
            *by_year.entry(y).or_default() += 1;
        }
        let years: Vec<String> = by_year.iter().map(|(y, k)| format!("{y}: {k}")).collect();
        let created_recently = self
            .customers
            .iter()
            .filter(|c| today_n - c.created_day <= 183)
            .count();
        println!(
            "loss data: {n} customers, {} orders, {} order lines ({:.2} a order), {} products; \
             today {today}, cutoff {cutoff_day} (six months)",
            self.orders.len(),
            self.lines,
            self.lines as f64 / self.orders.len().max(1) as f64,
            products.len(),
        );
        println!(
            "  customers: {:.1} % created in the last six months, {:.1} % in the trash, \
             {:.1} % never ordered (or only cancelled orders); last order within 30 days \
             {:.1} %, 6 months {:.1} %, a year {:.1} %",
            pct(created_recently),
            pct(deleted),
            pct(never),
            pct(within(30)),
            pct(within(cut_n.abs_diff(today_n) as i32)),
            pct(within(365)),
        );
        println!(
            "  orders a customer: median {}, p90 {}, p99 {}, max {}; {:.1} % cancelled; by \
             year {}; regular intervals scaled {:.2}",
            q(0.5),
            q(0.9),
            q(0.99),
            per[n - 1],
            100.0 * cancelled as f64 / self.orders.len().max(1) as f64,
            years.join(", "),
            self.scale,
        );
        println!(
            "  stale (active, not in the trash, last order before the cutoff or never ordered \
             and created before it): {stale} = {:.1} %",
            pct(stale)
        );
    }
}

/// Whether the default loss scan warns customer `c` (not in the trash) on the cutoff.
fn is_stale(c: &Customer, cutoff_day: i32, cutoff: DateTime<Utc>) -> bool {
    match c.last_day {
        Some(d) => d < cutoff_day,
        None => created_at(c) < cutoff,
    }
}

fn day_of(n: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(n).unwrap()
}

/// Midnight of local day `d`, in UTC.
fn midnight(d: NaiveDate) -> DateTime<Utc> {
    at(d, 0)
}

/// Minute `minute` of local day `d`, in UTC.
fn at(d: NaiveDate, minute: u16) -> DateTime<Utc> {
    FixedOffset::east_opt(ZONE_SECS)
        .unwrap()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(i64::from(minute))
}

fn created_at(c: &Customer) -> DateTime<Utc> {
    at(day_of(c.created_day), c.created_minute)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Customers,
    Orders,
}

/// One transaction's SQL.
struct Batch {
    sql: String,
    kind: Kind,
    rows: u64,
    lines: u64,
}

/// What the SQL writer counted.
struct Counters {
    /// `YYYYMMDD` → the last sequence number of the day.
    codes: Vec<(String, i64)>,
    numbers: Vec<(String, i64)>,
    expect_scanned: u64,
    expect_warned: u64,
    backend: Backend,
}

/// A timestamp as the backend's driver writes one (sqlx: RFC 3339 on SQLite, which compares
/// them as text).
fn ts(backend: Backend, t: DateTime<Utc>) -> String {
    match backend {
        Backend::Sqlite => t.format("'%Y-%m-%dT%H:%M:%S+00:00'").to_string(),
        Backend::Postgres => t.format("'%Y-%m-%d %H:%M:%S+00'").to_string(),
    }
}

fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

const CUSTOMER_COLUMNS: &str = "INSERT INTO customers (id, code, name, owner_id, region, level, \
    industry, source, satisfaction, credit, address, phone, tags, status, last_order_at, \
    deleted_at, created_at, created_by, updated_at, updated_by, version) VALUES ";
const ORDER_COLUMNS: &str = "INSERT INTO orders (id, number, customer_id, order_date, \
    delivery_address, status, total, created_at, created_by, updated_at, updated_by, version) \
    VALUES ";
const LINE_COLUMNS: &str = "INSERT INTO order_lines (id, order_id, position, product_id, \
    product_name, model, unit, quantity, price, total) VALUES ";

/// Writes the customers', then the orders' and lines' SQL into `tx`, batch by batch.
fn write_sql(
    book: &Book,
    products: &[Product],
    backend: Backend,
    seed: u64,
    tx: &tokio::sync::mpsc::Sender<Batch>,
) -> anyhow::Result<Counters> {
    let mut rng = Rng(seed ^ 0x005E_ED0F_0DE5);
    let send = |b: Batch| {
        tx.blocking_send(b)
            .map_err(|_| anyhow::anyhow!("the loader stopped"))
    };
    let today = Utc::now()
        .with_timezone(&FixedOffset::east_opt(ZONE_SECS).unwrap())
        .date_naive();
    let cut_day = today.checked_sub_months(Months::new(6)).unwrap();
    let cutoff = midnight(cut_day);
    let cut_n = cut_day.num_days_from_ce();
    let mut counters = Counters {
        codes: Vec::new(),
        numbers: Vec::new(),
        expect_scanned: 0,
        expect_warned: 0,
        backend,
    };

    // Customers, with the demo's names, regions, levels … (the same generator as `kehu demo`).
    let mut demo = kehu_customers::demo::Demo::new(seed);
    let mut addresses: Vec<String> = Vec::with_capacity(book.customers.len());
    let mut sql = String::new();
    let mut in_stmt = 0;
    let mut in_batch = 0;
    let mut day_seq: (i32, i64) = (0, 0);
    for (i, c) in book.customers.iter().enumerate() {
        let d = demo.customer(i as u64);
        let id = i as i64 + 1;
        if day_seq.0 != c.created_day {
            if day_seq.1 > 0 {
                counters
                    .codes
                    .push((day_of(day_seq.0).format("%Y%m%d").to_string(), day_seq.1));
            }
            day_seq = (c.created_day, 0);
        }
        day_seq.1 += 1;
        let code = format!(
            "KH{}{:06}",
            day_of(c.created_day).format("%Y%m%d"),
            day_seq.1
        );
        let created = created_at(c);
        let last = c.last_day.map(|d| midnight(day_of(d)));
        // Put in the trash some time after its last order (or its creation).
        let deleted = c.deleted.then(|| {
            let from = last.map_or(created, |l| l.max(created)) + Duration::days(1);
            let span = (Utc::now() - from).num_minutes().max(1) as u64;
            (from + Duration::minutes(rng.below(span) as i64)).min(Utc::now())
        });
        let updated = [Some(created), last, deleted]
            .into_iter()
            .flatten()
            .max()
            .unwrap();
        if !c.deleted {
            counters.expect_scanned += 1;
            if is_stale(c, cut_n, cutoff) {
                counters.expect_warned += 1;
            }
        }
        sql.push_str(if in_stmt == 0 { CUSTOMER_COLUMNS } else { ", " });
        write!(
            sql,
            "({id}, '{code}', {}, {}, '{}', '{}', '{}', '{}', {}, {}, {}, {}, '', 'active', {}, {}, \
             {}, {}, {}, {}, 1)",
            text(&d.name),
            c.owner,
            d.region,
            d.level,
            d.industry,
            d.source,
            d.satisfaction,
            d.credit,
            text(&d.address),
            text(&d.phone),
            last.map_or_else(|| "NULL".to_owned(), |t| ts(backend, t)),
            deleted.map_or_else(|| "NULL".to_owned(), |t| ts(backend, t)),
            ts(backend, created),
            c.owner,
            ts(backend, updated),
            c.owner,
        )?;
        addresses.push(d.address);
        in_stmt += 1;
        in_batch += 1;
        if in_stmt == ROWS {
            sql.push_str(";\n");
            in_stmt = 0;
        }
        let last_one = i + 1 == book.customers.len();
        if in_batch == CUSTOMER_BATCH || last_one {
            if in_stmt > 0 {
                sql.push_str(";\n");
                in_stmt = 0;
            }
            send(Batch {
                sql: std::mem::take(&mut sql),
                kind: Kind::Customers,
                rows: in_batch as u64,
                lines: 0,
            })?;
            in_batch = 0;
        }
    }
    if day_seq.1 > 0 {
        counters
            .codes
            .push((day_of(day_seq.0).format("%Y%m%d").to_string(), day_seq.1));
    }

    // Orders by day, each with its lines: products by popularity (paper and toner sell most),
    // quantities mostly small, a discount on some lines.
    // Popularity by rank, the cheapest product first.
    let weights: Vec<f64> = (0..products.len())
        .map(|k| 1.0 / (1.0 + k as f64 * 0.35))
        .collect();
    let by_rank: Vec<usize> = {
        let mut idx: Vec<usize> = (0..products.len()).collect();
        idx.sort_by_key(|&k| products[k].price);
        idx
    };
    let mut orders_sql = String::new();
    let mut lines_sql = String::new();
    let (mut in_orders, mut in_lines, mut batch_orders, mut batch_lines) = (0, 0, 0u64, 0u64);
    let mut line_id: i64 = 0;
    let mut day_seq: (i32, i64) = (0, 0);
    let mut chosen: Vec<usize> = Vec::with_capacity(8);
    for (k, o) in book.orders.iter().enumerate() {
        let id = k as i64 + 1;
        if day_seq.0 != o.day {
            if day_seq.1 > 0 {
                counters
                    .numbers
                    .push((day_of(day_seq.0).format("%Y%m%d").to_string(), day_seq.1));
            }
            day_seq = (o.day, 0);
        }
        day_seq.1 += 1;
        let day = day_of(o.day);
        let number = format!("DD{}{:06}", day.format("%Y%m%d"), day_seq.1);
        let c = &book.customers[o.customer as usize];
        chosen.clear();
        let want = usize::from(o.lines).min(products.len());
        while chosen.len() < want {
            let p = by_rank[rng.weighted(&weights)];
            if !chosen.contains(&p) {
                chosen.push(p);
            }
        }
        let mut total: i64 = 0;
        for (pos, &p) in chosen.iter().enumerate() {
            let prod = &products[p];
            let units = 1 + rng.exp(4.0) as i64;
            let price = if rng.chance(0.2) {
                (prod.price as f64 * rng.uniform(0.85, 0.95)).round() as i64
            } else {
                prod.price
            };
            let line_total = units * price;
            total += line_total;
            line_id += 1;
            lines_sql.push_str(if in_lines == 0 { LINE_COLUMNS } else { ", " });
            write!(
                lines_sql,
                "({line_id}, {id}, {}, {}, {}, {}, {}, {}, {price}, {line_total})",
                pos + 1,
                prod.id,
                text(&prod.name),
                text(&prod.model),
                text(&prod.unit),
                units * 1000,
            )?;
            in_lines += 1;
            batch_lines += 1;
            if in_lines == ROWS {
                lines_sql.push_str(";\n");
                in_lines = 0;
            }
        }
        let created = at(day, o.minute);
        orders_sql.push_str(if in_orders == 0 { ORDER_COLUMNS } else { ", " });
        write!(
            orders_sql,
            "({id}, '{number}', {}, '{}', {}, '{}', {total}, {}, {}, {}, {}, 1)",
            o.customer + 1,
            day.format("%Y-%m-%d"),
            text(&addresses[o.customer as usize]),
            o.status.code(),
            ts(backend, created),
            c.owner,
            ts(backend, created),
            c.owner,
        )?;
        in_orders += 1;
        batch_orders += 1;
        if in_orders == ROWS {
            orders_sql.push_str(";\n");
            in_orders = 0;
        }
        let last_one = k + 1 == book.orders.len();
        if batch_orders as usize == ORDER_BATCH || last_one {
            if in_orders > 0 {
                orders_sql.push_str(";\n");
                in_orders = 0;
            }
            if in_lines > 0 {
                lines_sql.push_str(";\n");
                in_lines = 0;
            }
            orders_sql.push_str(&lines_sql);
            lines_sql.clear();
            send(Batch {
                sql: std::mem::take(&mut orders_sql),
                kind: Kind::Orders,
                rows: batch_orders + batch_lines,
                lines: batch_lines,
            })?;
            batch_orders = 0;
            batch_lines = 0;
        }
    }
    if day_seq.1 > 0 {
        counters
            .numbers
            .push((day_of(day_seq.0).format("%Y%m%d").to_string(), day_seq.1));
    }
    Ok(counters)
}

/// The day counters after the codes and numbers given out, the sequences after the ids
/// (PostgreSQL), and the statistics a bulk load leaves to renew (as `kehu demo` does).
async fn finish(db: &Db, c: &Counters) -> anyhow::Result<()> {
    for (table, rows) in [("customer_codes", &c.codes), ("order_numbers", &c.numbers)] {
        for chunk in rows.chunks(ROWS) {
            let values: Vec<String> = chunk
                .iter()
                .map(|(day, last)| format!("('{day}', {last})"))
                .collect();
            db.execute_raw(&format!(
                "INSERT INTO {table} (day, last) VALUES {} \
                 ON CONFLICT (day) DO UPDATE SET last = excluded.last",
                values.join(", ")
            ))
            .await?;
        }
    }
    if c.backend == Backend::Postgres {
        for table in ["customers", "orders", "order_lines"] {
            db.execute_raw(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 (SELECT max(id) FROM {table}))"
            ))
            .await?;
        }
    }
    db.vacuum(&[
        "customers",
        "orders",
        "order_lines",
        "customer_codes",
        "order_numbers",
    ])
    .await?;
    Ok(())
}
