//! `kehu analyze`: read a transactions CSV, run the analysis, write customers.csv,
//! model.json, summary.json and, when the file has a product column, products.csv into the
//! output directory — all or nothing.

use std::fs::{self, File};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{Datelike, Months, NaiveDate};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::analysis::{self, Config, Models, Population};
use crate::csv_io;
use crate::products::{ProductFigures, product_figures};
use crate::summary;

/// Arguments of `kehu analyze`.
#[derive(clap::Args, Debug, Clone)]
pub struct AnalyzeArgs {
    /// Transactions CSV with the header customer_id,date,amount (ISO dates, decimal amounts),
    /// optionally with product, quantity and cost columns for product analytics.
    ///
    /// A customer's day with at least one amount ≥ 0 (0.00 included) is a purchase day,
    /// whatever its net total; negative amounts are refunds that reduce their day's total,
    /// and a day of refunds only is not a purchase. The Gamma-Gamma spend model is fitted
    /// on the repeat customers whose mean repeat-day total is above 0; other buyers get the
    /// population mean spend.
    ///
    /// With a product column each row is one sold line, and products.csv gets one row per
    /// product, by revenue descending: revenue, cost, gross margin and margin rate (when
    /// every line of the product has a cost), quantity (whole units, when every line has
    /// one), its customers (those with a purchase day of it) and repeat customers (two or
    /// more such days) with the repeat rate. A row with an empty product counts for the
    /// customers only and may not give a quantity or cost.
    #[arg(long, value_name = "FILE.csv")]
    pub transactions: PathBuf,
    /// Directory to write customers.csv, model.json, summary.json and, with a product
    /// column, products.csv into (created if missing; without a product column a
    /// products.csv of an earlier run is removed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Last day of the observation, inclusive (default: the latest date in the file); later rows are ignored.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// Months of the CLV horizon.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1200))]
    pub horizon_months: u32,
    /// Monthly discount rate of the CLV.
    #[arg(long, default_value_t = 0.01, value_parser = parse_rate)]
    pub discount_rate: f64,
    /// Number of k-means clusters.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub clusters: u32,
    /// Quantile of the last 12 months' revenue splitting high from low current value.
    #[arg(long, default_value_t = 0.5, value_parser = parse_quantile)]
    pub current_quantile: f64,
    /// Quantile of CLV splitting high from low potential value.
    #[arg(long, default_value_t = 0.5, value_parser = parse_quantile)]
    pub potential_quantile: f64,
    /// L2 penalizer on the model parameters (as `lifetimes`' penalizer_coef).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub penalizer: f64,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("not a YYYY-MM-DD date: {s}"))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("not a number ≥ 0: {s}")),
    }
}

fn parse_quantile(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("not a quantile between 0 and 1: {s}")),
    }
}

#[derive(Serialize)]
struct ModelFile<'a> {
    as_of: String,
    time_unit: &'static str,
    #[serde(flatten)]
    models: &'a Models,
}

#[derive(Serialize)]
struct SummaryFile<'a> {
    as_of: String,
    transactions_file: String,
    rows: u64,
    rows_after_as_of_ignored: u64,
    revenue: String,
    /// Rows of products.csv; absent without a product column.
    #[serde(skip_serializing_if = "Option::is_none")]
    products: Option<usize>,
    #[serde(flatten)]
    population: &'a Population,
}

/// Runs `kehu analyze`. Input errors name the file, the line and the reason; on any error
/// nothing in `--out` is replaced or left half-written.
pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let bar = progress_bar(&args.transactions);
    let result = run_with(args, &bar);
    bar.finish_and_clear();
    result
}

fn run_with(args: &AnalyzeArgs, bar: &ProgressBar) -> anyhow::Result<()> {
    // KEHU_ANALYZE_TIMINGS=1 prints each stage's start time, the peak memory and the CPU time
    // so far (a stage whose CPU grows slower than twice its wall time leaves a core idle).
    let timings = std::env::var_os("KEHU_ANALYZE_TIMINGS").is_some();
    let t0 = std::time::Instant::now();
    let tick = move |stage: &str| {
        if timings {
            let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
            let peak = status
                .lines()
                .find(|l| l.starts_with("VmHWM"))
                .unwrap_or("");
            eprintln!(
                "{:>7.2}s {stage:<22} {peak} cpu {:.2}s",
                t0.elapsed().as_secs_f64(),
                cpu_seconds()
            );
        }
    };
    let size = fs::metadata(&args.transactions)
        .with_context(|| format!("cannot open {}", args.transactions.display()))?
        .len();
    bar.set_message("reading");
    let as_of = args.as_of.map(|d| d.num_days_from_ce());
    let loaded =
        csv_io::read_transactions_file(&args.transactions, as_of, csv_io::SPLIT_BYTES, &mut |b| {
            bar.set_position(b)
        })
        .with_context(|| format!("cannot read {}", args.transactions.display()))?
        .map_err(|e| anyhow::anyhow!("{}, {e}", args.transactions.display()))?;
    bar.set_position(size);

    let as_of_date =
        NaiveDate::from_num_days_from_ce_opt(loaded.as_of).context("as-of date out of range")?;
    let twelve_months_ago = as_of_date
        .checked_sub_months(Months::new(12))
        .map_or(i32::MIN, |d| d.num_days_from_ce());
    let csv_io::Loaded {
        mut transactions,
        ids,
        rows,
        rows_after_as_of,
        products,
        ..
    } = loaded;
    tick("read");
    let products: Option<Vec<ProductFigures>> =
        products.map(|p| product_figures(&p.lines, &p.names));
    if products.is_some() {
        tick("products");
    }
    bar.set_message("summarising");
    // The customers' id order (a sort of the ids, one thread) beside the summaries.
    let (summaries, (id_rank, order)) = std::thread::scope(|scope| {
        let id_order = scope.spawn(|| csv_io::id_order(&ids));
        let summaries = summary::summarize(
            &mut transactions,
            ids.len(),
            loaded.as_of,
            twelve_months_ago,
        );
        let id_order = id_order.join().unwrap_or_else(|_| csv_io::id_order(&ids));
        (summaries, id_order)
    });
    drop(transactions);
    tick("summarised");

    let config = Config {
        horizon_months: args.horizon_months,
        discount_rate: args.discount_rate,
        clusters: args.clusters as usize,
        current_quantile: args.current_quantile,
        potential_quantile: args.potential_quantile,
        penalizer: args.penalizer,
        ..Config::default()
    };
    let analysis = analysis::analyze(&summaries, &id_rank, &config, &mut |s| {
        tick(s);
        bar.set_message(s.to_string())
    });
    tick("analysed");

    bar.set_message("writing");
    let as_of_text = as_of_date.format("%Y-%m-%d").to_string();
    let model = ModelFile {
        as_of: as_of_text.clone(),
        time_unit: "weeks",
        models: &analysis.models,
    };
    let summary_file = SummaryFile {
        as_of: as_of_text,
        transactions_file: args.transactions.display().to_string(),
        rows,
        rows_after_as_of_ignored: rows_after_as_of,
        revenue: csv_io::format_cents(analysis.population.revenue_cents),
        products: products.as_ref().map(Vec::len),
        population: &analysis.population,
    };
    let outputs: &[&str] = match products {
        Some(_) => &WITH_PRODUCTS,
        None => &WITHOUT_PRODUCTS,
    };
    write_all_or_nothing(&args.out, outputs, |name, w| match name {
        "customers.csv" => {
            csv_io::write_customers(w, &ids, &order, &summaries, &analysis.customers)
                .map_err(anyhow::Error::from)
        }
        "model.json" => serde_json::to_writer_pretty(w, &model).map_err(anyhow::Error::from),
        PRODUCTS => csv_io::write_products(w, products.as_deref().unwrap_or_default())
            .map_err(anyhow::Error::from),
        _ => serde_json::to_writer_pretty(w, &summary_file).map_err(anyhow::Error::from),
    })?;
    if products.is_none() {
        // An earlier run's products.csv would not describe these transactions.
        let stale = args.out.join(PRODUCTS);
        if let Err(e) = fs::remove_file(&stale)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            bail!("cannot remove {} of an earlier run: {e}", stale.display());
        }
    }
    tick("written");
    Ok(())
}

/// The process's user + system time so far (Linux: /proc/self/stat, in 1/100 s); 0 elsewhere.
fn cpu_seconds() -> f64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

const PRODUCTS: &str = "products.csv";
const WITHOUT_PRODUCTS: [&str; 3] = ["customers.csv", "model.json", "summary.json"];
const WITH_PRODUCTS: [&str; 4] = ["customers.csv", "model.json", PRODUCTS, "summary.json"];

/// Writes every output to a temporary file in `dir`, then renames them into place only
/// when all were written; on error the temporaries are removed.
fn write_all_or_nothing(
    dir: &Path,
    outputs: &[&str],
    mut write: impl FnMut(&str, &mut BufWriter<File>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let temporary = |name: &str| dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut written = Vec::new();
    let outcome = (|| -> anyhow::Result<()> {
        for &name in outputs {
            let path = temporary(name);
            let file =
                File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            written.push(path.clone());
            let mut w = BufWriter::with_capacity(1 << 20, file);
            write(name, &mut w).with_context(|| format!("writing {}", path.display()))?;
            w.flush()?;
            w.into_inner().map_err(|e| e.into_error())?;
        }
        Ok(())
    })();
    if let Err(e) = outcome {
        for path in &written {
            let _ = fs::remove_file(path);
        }
        return Err(e);
    }
    for &name in outputs {
        let to = dir.join(name);
        if let Err(e) = fs::rename(temporary(name), &to) {
            for &name in outputs {
                let _ = fs::remove_file(temporary(name));
            }
            bail!("cannot move {} into place: {e}", to.display());
        }
    }
    Ok(())
}

/// A bar over the file's bytes with the stage as message, drawn only on a terminal.
fn progress_bar(path: &Path) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let size = fs::metadata(path).map_or(0, |m| m.len());
    let bar = ProgressBar::new(size);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {bytes}/{total_bytes} {msg}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
