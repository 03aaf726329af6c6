//! `kehu analyze` as a library call: outputs, hand-computed fixtures, bad input, degenerate
//! populations, and the all-or-nothing output directory.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::fs;
use std::path::{Path, PathBuf};

use kehu_analytics::command::{AnalyzeArgs, run};
use serde_json::Value;

fn args(transactions: &Path, out: &Path) -> AnalyzeArgs {
    AnalyzeArgs {
        transactions: transactions.to_path_buf(),
        out: out.to_path_buf(),
        as_of: None,
        horizon_months: 12,
        discount_rate: 0.01,
        clusters: 3,
        current_quantile: 0.5,
        potential_quantile: 0.5,
        penalizer: 0.0,
    }
}

struct Case {
    _dir: tempfile::TempDir,
    input: PathBuf,
    out: PathBuf,
}

fn case(csv: &str) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tx.csv");
    fs::write(&input, csv).unwrap();
    let out = dir.path().join("out");
    Case {
        input,
        out,
        _dir: dir,
    }
}

fn rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().map(|r| r.unwrap()).collect()
}

fn column(path: &Path, name: &str) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let i = r.headers().unwrap().iter().position(|h| h == name).unwrap();
    r.records().map(|r| r.unwrap()[i].to_string()).collect()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn assert_no_nan(out: &Path) {
    for name in ["customers.csv", "model.json", "summary.json"] {
        let text = fs::read_to_string(out.join(name)).unwrap().to_lowercase();
        assert!(
            !text.contains("nan") && !text.contains("inf"),
            "{name} holds a non-finite number"
        );
    }
}

/// A population large enough to fit both models: customers with a few purchase days each.
fn population_csv() -> String {
    let mut csv = String::from("customer_id,date,amount\n");
    for c in 0..300_u32 {
        let purchases = c % 6;
        let start = c % 90;
        csv += &format!(
            "{c},2024-01-{:02},{}.{:02}\n",
            1 + start % 28,
            10 + c % 37,
            c % 100
        );
        for k in 0..purchases {
            let day = 40 + start + k * (5 + c % 11);
            let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
                + chrono::Days::new(u64::from(day));
            csv += &format!("{c},{date},{}.50\n", 5 + (c * 7 + k * 13) % 60);
        }
    }
    csv
}

#[test]
fn analyze_writes_the_three_outputs_with_every_column() {
    let c = case(&population_csv());
    run(&args(&c.input, &c.out)).unwrap();
    let mut r = csv::Reader::from_path(c.out.join("customers.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header.join(","),
        "customer_id,first_purchase,last_purchase,orders,revenue,frequency,recency,T,monetary_value,\
         recency_days,r_score,f_score,m_score,segment,abc,p_alive,expected_purchases,expected_spend,\
         clv,value_class,cluster"
    );
    assert_eq!(rows(&c.out.join("customers.csv")).len(), 300);
    let model = json(&c.out.join("model.json"));
    for key in ["r", "alpha", "a", "b", "log_likelihood"] {
        assert!(
            model["bgnbd"][key].is_f64(),
            "bgnbd.{key}: {}",
            model["bgnbd"]
        );
    }
    for key in ["p", "q", "gamma", "log_likelihood"] {
        assert!(
            model["gamma_gamma"][key].is_f64(),
            "gamma_gamma.{key}: {}",
            model["gamma_gamma"]
        );
    }
    assert_eq!(model["bgnbd"]["optimizer"]["converged"], Value::Bool(true));
    let summary = json(&c.out.join("summary.json"));
    assert_eq!(summary["customers"], 300);
    let classes: u64 = ["high", "sub", "potential", "low"]
        .iter()
        .map(|k| summary["value_classes"][k]["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(classes, 300);
    assert_eq!(
        summary["score_distribution"]["r"].as_array().unwrap().len(),
        5
    );
    // Customer ids are integers: rows come in numeric id order.
    let ids: Vec<u32> = column(&c.out.join("customers.csv"), "customer_id")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_no_nan(&c.out);
    // No temporary files are left behind.
    assert_eq!(fs::read_dir(&c.out).unwrap().count(), 3);
}

#[test]
fn customer_rows_match_a_hand_computed_fixture() {
    // as-of 2024-01-29. Customer 7: 01-01 (10.00 + 5.00), 01-08 (20.00), 01-22 (30.00, −10.00).
    // Customer 3: one purchase 01-15 (100.00). Customer 12: 01-29 (1.00) and a later row
    // (02-02) beyond as-of, ignored.
    let c = case(
        "customer_id,date,amount\n\
         7,2024-01-01,10.00\n7,2024-01-01,5\n7,2024-01-08,20.00\n7,2024-01-22,30.00\n7,2024-01-22,-10.00\n\
         3,2024-01-15,100.00\n12,2024-01-29,1.00\n12,2024-02-02,50.00\n",
    );
    let mut a = args(&c.input, &c.out);
    a.as_of = chrono::NaiveDate::from_ymd_opt(2024, 1, 29);
    run(&a).unwrap();
    let rows = rows(&c.out.join("customers.csv"));
    let get = |row: &csv::StringRecord, i: usize| row[i].to_string();
    // Numeric id order: 3, 7, 12.
    let ids: Vec<String> = rows.iter().map(|r| get(r, 0)).collect();
    assert_eq!(ids, ["3", "7", "12"]);
    let seven = &rows[1];
    assert_eq!(&seven[1], "2024-01-01");
    assert_eq!(&seven[2], "2024-01-22");
    assert_eq!(&seven[3], "5"); // orders = input rows
    assert_eq!(&seven[4], "55.00"); // revenue
    assert_eq!(&seven[5], "2"); // frequency
    assert_eq!(seven[6].parse::<f64>().unwrap(), 3.0); // recency = 21 days / 7
    assert_eq!(seven[7].parse::<f64>().unwrap(), 4.0); // T = 28 days / 7
    assert_eq!(seven[8].parse::<f64>().unwrap(), 20.0); // (20 + 20) / 2
    assert_eq!(&seven[9], "7"); // recency_days
    // R: recency_days 14 (3), 7 (7), 0 (12) → ranks 1, 2, 3 of 3 → scores 1, 2, 4.
    // F: orders 1 (3), 5 (7), 1 (12) → 3 then 12 then 7 → scores 1, 4, 2.
    // M: revenue 100 (3), 55 (7), 1 (12) → 12, 7, 3 → scores 4, 2, 1.
    let scores: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (get(r, 10), get(r, 11), get(r, 12)))
        .collect();
    assert_eq!(
        scores,
        [("1", "1", "4"), ("2", "4", "2"), ("4", "2", "1")].map(|(a, b, c)| (
            a.into(),
            b.into(),
            c.into()
        ))
    );
    // ABC over 156.00: 3 → 100/156 = 64 % A; 7 → 155/156 = 99.4 % C; 12 → C.
    let abc: Vec<String> = rows.iter().map(|r| get(r, 14)).collect();
    assert_eq!(abc, ["A", "C", "C"]);
    let summary = json(&c.out.join("summary.json"));
    assert_eq!(summary["rows_after_as_of_ignored"], 1);
    assert_eq!(summary["revenue"], "156.00");
    assert_no_nan(&c.out);
}

fn expect_error(csv: &str, needle: &str) {
    let c = case(csv);
    // A previous run's output must survive a failed run untouched.
    fs::create_dir_all(&c.out).unwrap();
    fs::write(c.out.join("customers.csv"), "old").unwrap();
    let err = run(&args(&c.input, &c.out)).expect_err("bad input must fail");
    let message = format!("{err:#}");
    assert!(
        message.contains(needle),
        "{message:?} should contain {needle:?}"
    );
    assert_eq!(
        fs::read_to_string(c.out.join("customers.csv")).unwrap(),
        "old"
    );
    assert_eq!(
        fs::read_dir(&c.out).unwrap().count(),
        1,
        "nothing else written"
    );
}

#[test]
fn an_unparsable_date_names_its_line() {
    expect_error(
        "customer_id,date,amount\n1,2024-01-01,5\n2,2024-13-01,5\n",
        "line 3: unparsable date \"2024-13-01\"",
    );
}

#[test]
fn an_unparsable_amount_names_its_line() {
    expect_error(
        "customer_id,date,amount\n1,2024-01-01,5\n1,2024-01-02,1.234\n",
        "line 3: unparsable amount \"1.234\"",
    );
    expect_error(
        "customer_id,date,amount\n1,2024-01-01,abc\n",
        "line 2: unparsable amount \"abc\"",
    );
}

#[test]
fn missing_and_extra_columns_are_reported() {
    expect_error(
        "customer_id,date\n1,2024-01-01\n",
        "line 1: missing column amount",
    );
    expect_error(
        "customer_id,date,amount,cost\n1,2024-01-01,5,3\n",
        "line 1: unexpected column \"cost\"",
    );
    expect_error(
        "customer_id,date,amount\n1,2024-01-01,5,3\n",
        "line 2: expected 3 fields",
    );
    expect_error(
        "customer_id,date,amount\n1,2024-01-01,5\n2,2024-01-01\n",
        "line 3: expected 3 fields",
    );
    expect_error(
        "customer_id,date,date\n",
        "line 1: duplicate column \"date\"",
    );
}

#[test]
fn an_empty_file_a_header_only_file_and_a_repeated_header_are_errors() {
    expect_error("", "line 1: empty file");
    expect_error("customer_id,date,amount\n", "no transactions");
    expect_error(
        "customer_id,date,amount\n1,2024-01-01,5\ncustomer_id,date,amount\n2,2024-01-02,5\n",
        "line 3: duplicate header",
    );
}

#[test]
fn an_empty_customer_id_names_its_line() {
    expect_error(
        "customer_id,date,amount\n1,2024-01-01,5\n,2024-01-01,5\n",
        "line 3: empty customer_id",
    );
}

#[test]
fn a_missing_input_file_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(run(&args(&dir.path().join("absent.csv"), &out)).is_err());
    assert!(!out.exists());
}

#[test]
fn refunds_reduce_revenue_and_are_accepted() {
    let c = case(
        "customer_id,date,amount\n1,2024-01-01,50.00\n1,2024-01-05,-20.00\n2,2024-01-03,-5.00\n",
    );
    run(&args(&c.input, &c.out)).unwrap();
    let revenue = column(&c.out.join("customers.csv"), "revenue");
    assert_eq!(revenue, ["30.00", "-5.00"]);
    let first = column(&c.out.join("customers.csv"), "first_purchase");
    assert_eq!(
        first,
        ["2024-01-01", ""],
        "a refund-only customer has no purchase day"
    );
    assert_eq!(column(&c.out.join("customers.csv"), "clv")[1], "0.0");
    assert_no_nan(&c.out);
}

#[test]
fn a_single_customer_gets_a_documented_result_without_nan() {
    let c = case("customer_id,date,amount\nalice,2024-01-01,10\nalice,2024-02-01,20\n");
    run(&args(&c.input, &c.out)).unwrap();
    let model = json(&c.out.join("model.json"));
    assert!(model["gamma_gamma"]["fitted"] == Value::Bool(false));
    assert!(model["gamma_gamma"]["reason"].is_string());
    assert_eq!(rows(&c.out.join("customers.csv")).len(), 1);
    assert_no_nan(&c.out);
}

#[test]
fn nobody_repeating_leaves_bgnbd_unfitted_with_a_reason_and_p_alive_one() {
    let c = case("customer_id,date,amount\n1,2024-01-01,10\n2,2024-01-05,20\n3,2024-02-01,5\n");
    run(&args(&c.input, &c.out)).unwrap();
    let model = json(&c.out.join("model.json"));
    assert_eq!(model["bgnbd"]["fitted"], Value::Bool(false));
    assert_eq!(
        model["bgnbd"]["reason"],
        "no customer has a repeat purchase day"
    );
    let customers = c.out.join("customers.csv");
    assert!(column(&customers, "p_alive").iter().all(|v| v == "1.0"));
    assert!(column(&customers, "clv").iter().all(|v| v == "0.0"));
    assert_no_nan(&c.out);
}

#[test]
fn everyone_buying_on_one_day_gives_a_documented_result_without_nan() {
    let c = case(
        "customer_id,date,amount\n1,2024-01-01,10\n2,2024-01-01,20\n2,2024-01-01,5\n3,2024-01-01,5\n",
    );
    run(&args(&c.input, &c.out)).unwrap();
    let model = json(&c.out.join("model.json"));
    assert_eq!(model["bgnbd"]["fitted"], Value::Bool(false));
    let summary = json(&c.out.join("summary.json"));
    assert_eq!(summary["customers"], 3);
    assert_no_nan(&c.out);
}

#[test]
fn the_same_input_gives_byte_identical_outputs() {
    let c = case(&population_csv());
    run(&args(&c.input, &c.out)).unwrap();
    let first = fs::read(c.out.join("customers.csv")).unwrap();
    run(&args(&c.input, &c.out)).unwrap();
    assert_eq!(first, fs::read(c.out.join("customers.csv")).unwrap());
}

/// Sold lines of three products over four customers, and one row without a product.
const PRODUCT_LINES: &str = "customer_id,date,product,quantity,amount,cost\n\
    1,2024-01-01,tea,2,6.00,2.00\n\
    1,2024-01-01,tea,1,3.00,1.00\n\
    2,2024-01-01,tea,1,3.00,1.00\n\
    2,2024-01-03,tea,1,3.00,1.00\n\
    3,2024-01-05,tea,-1,-3.00,-1.00\n\
    1,2024-01-02,\"cake, large\",1,5.00,\n\
    1,2024-01-10,\"cake, large\",,5.00,2.00\n\
    3,2024-01-02,coffee,1,10.00,4.00\n\
    3,2024-01-04,coffee,-1,-10.00,-4.00\n\
    4,2024-01-04,coffee,1,0.00,0.00\n\
    4,2024-01-06,,,7.50,\n";

#[test]
fn products_csv_has_a_hand_computed_row_per_product_by_revenue() {
    let c = case(PRODUCT_LINES);
    run(&args(&c.input, &c.out)).unwrap();
    // tea: 6 + 3 + 3 + 3 − 3 = 12.00, cost 4.00, margin 8.00 = 2/3, 4 units; buyers 1 and 2
    // (3 only returned one), 2 on two days. cake: 10.00, one line without cost and one
    // without quantity; buyer 1 on two days. coffee: 10 − 10 + 0 = 0.00 (no margin rate),
    // 1 unit; buyers 3 (the refund day is no purchase day) and 4 (0.00 is a purchase).
    assert_eq!(
        fs::read_to_string(c.out.join("products.csv")).unwrap(),
        "product,revenue,cost,gross_margin,margin_rate,quantity,customers,repeat_customers,repeat_rate\n\
         tea,12.00,4.00,8.00,0.6666666666666666,4,2,1,0.5\n\
         \"cake, large\",10.00,,,,,1,1,1.0\n\
         coffee,0.00,0.00,0.00,,1,2,0,0.0\n"
    );
    let summary = json(&c.out.join("summary.json"));
    assert_eq!(summary["products"], 3);
    assert_eq!(summary["customers"], 4, "the row without a product counts");
    assert_eq!(summary["revenue"], "29.50");
    assert_eq!(fs::read_dir(&c.out).unwrap().count(), 4);
    assert_no_nan(&c.out);
}

#[test]
fn product_columns_leave_the_customer_analysis_as_it_is_without_them() {
    let with = case(PRODUCT_LINES);
    run(&args(&with.input, &with.out)).unwrap();
    // The same rows with customer_id,date,amount only.
    let plain: String = PRODUCT_LINES
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            format!("{},{},{}\n", f[0], f[1], f[f.len() - 2])
        })
        .collect();
    let without = case(&plain);
    run(&args(&without.input, &without.out)).unwrap();
    for name in ["customers.csv", "model.json"] {
        assert_eq!(
            fs::read(with.out.join(name)).unwrap(),
            fs::read(without.out.join(name)).unwrap(),
            "{name}"
        );
    }
    assert!(
        json(&without.out.join("summary.json"))
            .get("products")
            .is_none()
    );
}

#[test]
fn without_a_product_column_no_products_csv_is_written_and_an_earlier_one_is_removed() {
    let c = case(PRODUCT_LINES);
    run(&args(&c.input, &c.out)).unwrap();
    assert!(c.out.join("products.csv").exists());
    fs::write(&c.input, "customer_id,date,amount\n1,2024-01-01,5\n").unwrap();
    run(&args(&c.input, &c.out)).unwrap();
    assert!(!c.out.join("products.csv").exists());
    assert_eq!(fs::read_dir(&c.out).unwrap().count(), 3);
}

#[test]
fn a_product_column_without_products_writes_a_header_only_products_csv() {
    let c = case("customer_id,date,amount,product\n1,2024-01-01,5,\n");
    run(&args(&c.input, &c.out)).unwrap();
    assert_eq!(
        fs::read_to_string(c.out.join("products.csv")).unwrap(),
        "product,revenue,cost,gross_margin,margin_rate,quantity,customers,repeat_customers,repeat_rate\n"
    );
    assert_eq!(json(&c.out.join("summary.json"))["products"], 0);
}

#[test]
fn a_bad_product_row_names_its_line_and_writes_nothing() {
    let header = "customer_id,date,amount,product,quantity,cost\n";
    expect_error(
        &format!("{header}1,2024-01-01,5,tea,1,2.00\n1,2024-01-02,5,tea,1,abc\n"),
        "line 3: unparsable cost \"abc\"",
    );
    expect_error(
        &format!("{header}1,2024-01-01,5,tea,1.5,2.00\n"),
        "line 2: unparsable quantity \"1.5\"",
    );
    expect_error(
        &format!("{header}1,2024-01-01,5,tea,1,2.00\n1,2024-01-02,5,,2,\n"),
        "line 3: quantity \"2\" without a product",
    );
    expect_error(
        &format!("{header}1,2024-01-01,5,,,1.00\n"),
        "line 2: cost \"1.00\" without a product",
    );
    expect_error(
        &format!("{header}1,2024-01-01,5,tea,1\n"),
        "line 2: expected 6 fields (customer_id,date,amount,product,quantity,cost), found 5",
    );
    expect_error(
        "customer_id,date,amount,quantity\n1,2024-01-01,5,1\n",
        "line 1: unexpected column \"quantity\": quantity and cost belong to a product",
    );
}
