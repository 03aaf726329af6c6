//! Seeded generator of a transactions CSV from a BG/NBD + Gamma-Gamma process, for the
//! benchmark in bench/analytics.
//!
//! cargo run --release -p kehu-analytics --example gen_transactions -- \
//!     --customers 1000000 --seed 42 --out bench/out/transactions.csv
//!
//! Customers arrive uniformly over the 104 weeks before the as-of day 2024-12-31; each
//! purchase's amount is Gamma(p, ν) with the customer's ν; one purchase in ten is split
//! into two rows on the same day. Rows are written in date order, like a transaction log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark tool"
)]

#[path = "../tests/common/simulate.rs"]
mod simulate;

use std::io::{BufWriter, Write};

use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use simulate::Truth;

pub const TRUTH: Truth = Truth {
    r: 2.0,
    alpha: 5.0,
    a: 1.2,
    b: 8.0,
    p: 4.0,
    q: 3.5,
    gamma: 30.0,
};

fn main() {
    let mut customers = 1_000_000_u32;
    let mut seed = 42_u64;
    let mut out = String::from("transactions.csv");
    let mut weeks = 104.0_f64;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().expect("every flag takes a value");
        match flag.as_str() {
            "--customers" => customers = value.parse().expect("--customers N"),
            "--seed" => seed = value.parse().expect("--seed N"),
            "--out" => out = value,
            "--weeks" => weeks = value.parse().expect("--weeks W"),
            other => panic!("unknown flag {other}"),
        }
    }
    let as_of = NaiveDate::from_ymd_opt(2024, 12, 31)
        .unwrap()
        .num_days_from_ce();
    let span_days = (weeks * 7.0) as i32;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows: Vec<(i32, u32, i64)> = Vec::with_capacity(customers as usize * 12);
    for c in 1..=customers {
        let who = simulate::individual(&TRUTH, &mut rng).unwrap();
        let first = as_of - rng.random_range(0..span_days);
        let age_weeks = f64::from(as_of - first) / 7.0;
        let mut days = vec![first];
        days.extend(
            simulate::repeat_purchases(&who, age_weeks, &mut rng)
                .iter()
                .map(|t| (first + (t * 7.0) as i32).min(as_of)),
        );
        for day in days {
            let cents = ((simulate::spend(&TRUTH, &who, &mut rng) * 100.0).round() as i64).max(1);
            if rng.random::<f64>() < 0.1 && cents > 1 {
                let part = cents / 3;
                rows.push((day, c, part));
                rows.push((day, c, cents - part));
            } else {
                rows.push((day, c, cents));
            }
        }
    }
    rows.sort_by_key(|r| r.0);
    let file = std::fs::File::create(&out).expect("create output");
    let mut w = BufWriter::with_capacity(1 << 20, file);
    writeln!(w, "customer_id,date,amount").unwrap();
    let mut date_text = String::new();
    let mut date_day = i32::MIN;
    for (day, c, cents) in &rows {
        if *day != date_day {
            date_day = *day;
            date_text = NaiveDate::from_num_days_from_ce_opt(*day)
                .unwrap()
                .format("%Y-%m-%d")
                .to_string();
        }
        writeln!(w, "{c},{date_text},{}.{:02}", cents / 100, cents % 100).unwrap();
    }
    w.flush().unwrap();
    eprintln!("{} customers, {} rows -> {out}", customers, rows.len());
}
