//! Seeded generator of a transactions CSV from a BG/NBD + Gamma-Gamma process, for the
//! benchmark in bench/analytics.
//!
//! cargo run --release -p kehu-analytics --example gen_transactions -- \
//!     --customers 1000000 --seed 42 --out bench/out/transactions.csv [--population 2]
//!
//! Rows are written sorted by date, then customer, like an order system's export
//! (`--sorted-by-date` says so explicitly; it is the only order).
//!
//! `--population 1` (default): customers arrive uniformly over the 104 weeks before the
//! as-of day 2024-12-31; ids are integers 1..N; each purchase's amount is Gamma(p, ν) with
//! the customer's ν; one purchase in ten is split into two rows on the same day.
//!
//! `--population 2`: an independent population with other BG/NBD + Gamma-Gamma parameters
//! (see `TRUTH_2`), 156 weeks before the as-of day 2025-06-30, ids as strings `C0000123`,
//! amounts with two decimals, one purchase in eight split into two or three rows, about 4 %
//! of purchases followed by a refund line (negative, part or all of the amount, the same
//! day or up to 30 days later, so some days are refund-only) and about 1 % of purchases
//! free (a `0.00` line).
//!
//! Memory: 16 bytes per row (10 M rows ≈ 160 MB) plus the output buffer.

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

/// The second population: fewer, burstier buyers who drop out sooner and spend more.
pub const TRUTH_2: Truth = Truth {
    r: 0.9,
    alpha: 3.6,
    a: 0.8,
    b: 6.0,
    p: 2.5,
    q: 4.0,
    gamma: 90.0,
};

struct Shape {
    truth: Truth,
    weeks: f64,
    as_of: NaiveDate,
    string_ids: bool,
    split: f64,
    refund: f64,
    free: f64,
}

fn main() {
    let mut customers = 1_000_000_u32;
    let mut seed = 42_u64;
    let mut out = String::from("transactions.csv");
    let mut weeks: Option<f64> = None;
    let mut population = 1_u32;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--sorted-by-date" {
            continue; // the only order written
        }
        let value = args
            .next()
            .expect("every flag but --sorted-by-date takes a value");
        match flag.as_str() {
            "--customers" => customers = value.parse().expect("--customers N"),
            "--seed" => seed = value.parse().expect("--seed N"),
            "--out" => out = value,
            "--weeks" => weeks = Some(value.parse().expect("--weeks W")),
            "--population" => population = value.parse().expect("--population 1|2"),
            other => panic!("unknown flag {other}"),
        }
    }
    let shape = match population {
        1 => Shape {
            truth: TRUTH,
            weeks: weeks.unwrap_or(104.0),
            as_of: NaiveDate::from_ymd_opt(2024, 12, 31).unwrap(),
            string_ids: false,
            split: 0.1,
            refund: 0.0,
            free: 0.0,
        },
        2 => Shape {
            truth: TRUTH_2,
            weeks: weeks.unwrap_or(156.0),
            as_of: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
            string_ids: true,
            split: 0.125,
            refund: 0.04,
            free: 0.01,
        },
        other => panic!("--population {other}: 1 or 2"),
    };
    let as_of = shape.as_of.num_days_from_ce();
    let span_days = (shape.weeks * 7.0) as i32;
    // Independent streams per population for the same seed.
    let mut rng = StdRng::seed_from_u64(seed ^ (u64::from(population - 1) << 32));
    let mut rows: Vec<(i32, u32, i64)> = Vec::with_capacity(customers as usize * 11);
    let truth = &shape.truth;
    for c in 1..=customers {
        let who = simulate::individual(truth, &mut rng).unwrap();
        let first = as_of - rng.random_range(0..span_days);
        let age_weeks = f64::from(as_of - first) / 7.0;
        let mut days = vec![first];
        days.extend(
            simulate::repeat_purchases(&who, age_weeks, &mut rng)
                .iter()
                .map(|t| (first + (t * 7.0) as i32).min(as_of)),
        );
        for day in days {
            let mut cents =
                ((simulate::spend(truth, &who, &mut rng) * 100.0).round() as i64).max(1);
            if shape.free > 0.0 && rng.random::<f64>() < shape.free {
                cents = 0;
            }
            if rng.random::<f64>() < shape.split && cents > 2 {
                let part = cents / 3;
                rows.push((day, c, part));
                if population == 2 && rng.random::<f64>() < 0.5 {
                    rows.push((day, c, part));
                    rows.push((day, c, cents - 2 * part));
                } else {
                    rows.push((day, c, cents - part));
                }
            } else {
                rows.push((day, c, cents));
            }
            if shape.refund > 0.0 && cents > 0 && rng.random::<f64>() < shape.refund {
                let share = if rng.random::<f64>() < 0.5 {
                    1.0
                } else {
                    rng.random_range(0.1..1.0)
                };
                let back = ((cents as f64 * share).round() as i64).max(1);
                let when = (day + rng.random_range(0..=30)).min(as_of);
                rows.push((when, c, -back));
            }
        }
    }
    rows.sort_unstable_by_key(|r| (r.0, r.1));
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
        let sign = if *cents < 0 { "-" } else { "" };
        let abs = cents.unsigned_abs();
        if shape.string_ids {
            write!(w, "C{c:07}").unwrap();
        } else {
            write!(w, "{c}").unwrap();
        }
        writeln!(w, ",{date_text},{sign}{}.{:02}", abs / 100, abs % 100).unwrap();
    }
    w.flush().unwrap();
    eprintln!("{} customers, {} rows -> {out}", customers, rows.len());
}
