//! The product and credit reports through the API and the pages, on both databases, against
//! figures worked out by hand: three products (two with a cost, one without; one cost changed
//! between orders), orders of several lines (a product on two lines of one order, a price of
//! the line's own, a quantity with a fraction), one cancelled, one delivered, one with lines
//! merged; stock in two warehouses. The kept figures of a year, days of one's own (summed from
//! the lines), all time; the rebuilt figures equal the kept ones; an account manager counts
//! their customers and is refused the turnover; bad queries are field errors; the XLSX holds
//! real numbers; the pages render.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use kehu_domain::money::{Money, Quantity};
use kehu_orders::domain::{NewLine, NewOrder};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestBackend, on_both};
use serde_json::{Value, json};

mod common;
use common::{PW, World, text};

/// Merges `lines` (product, quantity, price) into order `id` as an import does: a line of a
/// product the order has takes the new quantity and price, another product is added.
async fn merge(w: &World, id: i64, customer: i64, date: &str, lines: &[(i64, &str, &str)]) {
    let store = kehu_orders::store::OrderStore::new(
        w.app.store.db.clone(),
        chrono::FixedOffset::east_opt(8 * 3600).unwrap(),
    );
    let d = NewOrder {
        customer_id: customer,
        date: date.parse().unwrap(),
        delivery_address: None,
        memo: None,
        lines: lines
            .iter()
            .map(|(p, q, price)| NewLine {
                product_id: *p,
                quantity: Quantity::parse("q", q).unwrap().unwrap(),
                price: Some(Money::parse("p", price).unwrap().unwrap()),
            })
            .collect(),
    };
    let actor = kehu_store::audit::Actor::system();
    store
        .db()
        .write(async |tx| {
            let before =
                <kehu_orders::store::Order as kehu_store::write::Record>::load(tx, id).await?;
            store.merge_lines_in(tx, &before, &d, &actor).await
        })
        .await
        .unwrap();
}

/// The people and the book of every story here.
struct Book {
    w: World,
    exec: String,
    wang: String,
    li: String,
}

/// Products 静音轴承 (12.50, cost 8.00), 密封圈 (3.00, no cost), 润滑脂 (40.00 a kilogram,
/// cost 25.00, then 26.00), 齿轮 (stock only); stock 40 bearings in two warehouses, 5 kg of
/// grease, 7 gears. Wang manages 华南 (credit 5) and 华北 (credit 3), Li 华东 (credit 5) and
/// 西部 (no credit). In 2025:
///
/// 1. 华南 03-10: 10 bearings 125.00 (cost 80.00), 20 seals 60.00 — delivered.
/// 2. 华北 05-05: 4 bearings at 12.00 48.00 (32.00) and 2 more 25.00 (16.00) — one order of
///    bearings — and 1.5 kg grease; after the grease's cost went up, merged with 3 kg grease
///    120.00 (78.00) and 10 seals 30.00: 223.00, open.
/// 3. 华东 11-11: 2 kg grease 80.00 (50.00), open.
/// 4. 华南 07-01: 100 bearings, cancelled.
/// 5. 西部 08-08: 5.5 seals 16.50, delivered.
///
/// And 华东 2024-12-31: 1 bearing 12.50 (8.00), open.
///
/// 2025 by product: 润滑脂 2 orders, 5 kg, 200.00, cost 128.00; 静音轴承 2 orders, 16, 198.00,
/// cost 128.00; 密封圈 3 orders, 35.5, 106.50, cost unknown — 504.50 in all.
async fn book(b: TestBackend) -> (Book, [i64; 4]) {
    let w = World::new(b).await;
    let (_, wang) = w.user("wang", "account_manager").await;
    let (_, li) = w.user("li", "account_manager").await;
    let (_, exec) = w.user("boss", "executive").await;
    let bearing = w.product("静音轴承", "个", "12.50", Some("8.00")).await["id"]
        .as_i64()
        .unwrap();
    let seal = w.product("密封圈", "个", "3.00", None).await["id"]
        .as_i64()
        .unwrap();
    let grease = w.product("润滑脂", "千克", "40.00", Some("25.00")).await;
    let gear = w.product("齿轮", "个", "100.00", None).await["id"]
        .as_i64()
        .unwrap();
    let grease_id = grease["id"].as_i64().unwrap();
    w.stock(bearing, "广州仓", "30").await;
    w.stock(bearing, "上海仓", "10").await;
    w.stock(grease_id, "广州仓", "5").await;
    w.stock(gear, "上海仓", "7").await;

    let south = w
        .customer(&wang, json!({"name": "华南机电", "credit": 5}))
        .await;
    let north = w
        .customer(&wang, json!({"name": "华北机械", "credit": 3}))
        .await;
    let east = w
        .customer(&li, json!({"name": "华东轴承", "credit": 5}))
        .await;
    let west = w.customer(&li, json!({"name": "西部五金"})).await;

    let first = w
        .order(
            &wang,
            south,
            "2025-03-10",
            &[(bearing, "10", "12.50"), (seal, "20", "3.00")],
        )
        .await;
    w.step(&wang, first, "deliver").await;
    let lines = [
        (bearing, "4", "12.00"),
        (bearing, "2", "12.50"),
        (grease_id, "1.5", "40.00"),
    ];
    let (second, _) = w.order(&wang, north, "2025-05-05", &lines).await;
    w.order(&li, east, "2025-11-11", &[(grease_id, "2", "40.00")])
        .await;
    let gone = w
        .order(&wang, south, "2025-07-01", &[(bearing, "100", "12.50")])
        .await;
    w.step(&wang, gone, "cancel").await;
    let fifth = w
        .order(&li, west, "2025-08-08", &[(seal, "5.5", "3.00")])
        .await;
    w.step(&li, fifth, "deliver").await;
    w.order(&li, east, "2024-12-31", &[(bearing, "1", "12.50")])
        .await;

    // The grease costs more from now on: the lines placed keep their cost.
    let patch = json!({"cost": "26.00", "version": grease["version"]});
    let (s, p) = w
        .call(
            &w.admin,
            Method::PATCH,
            &format!("/api/v1/products/{grease_id}"),
            Some(patch),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    merge(
        &w,
        second,
        north,
        "2025-05-05",
        &[(grease_id, "3", "40.00"), (seal, "10", "3.00")],
    )
    .await;
    (Book { w, exec, wang, li }, [bearing, seal, grease_id, gear])
}

/// (name, orders, quantity, revenue, share) of each row.
fn sold(report: &Value) -> Vec<(String, i64, String, String, String)> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["orders"].as_i64().unwrap(),
                r["quantity"].as_str().unwrap().to_owned(),
                r["revenue"].as_str().unwrap().to_owned(),
                r["share"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn row(
    name: &str,
    orders: i64,
    q: &str,
    revenue: &str,
    share: &str,
) -> (String, i64, String, String, String) {
    (name.into(), orders, q.into(), revenue.into(), share.into())
}

/// (name, cost, margin, margin rate, revenue without a cost) of each row.
fn margins(report: &Value) -> Vec<(String, Value, Value, Value, String)> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["cost"].clone(),
                r["margin"].clone(),
                r["margin_rate"].clone(),
                r["uncosted_revenue"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const YEAR: &str = "from=2025-01-01&to=2025-12-31";
const URL: &str = "/api/v1/reports/products";

on_both!(
    the_product_report_counts_what_each_product_sold_and_earned,
    stock_turnover_sets_the_years_sales_against_the_stock_now,
    the_credit_overview_counts_customers_orders_and_open_orders_by_credit,
    bad_product_report_queries_are_field_errors,
);

async fn the_product_report_counts_what_each_product_sold_and_earned(b: TestBackend) {
    let (k, _) = book(b).await;
    let w = &k.w;

    // 2025, a kept period: largest revenue first, the cancelled order not counted, the
    // bearings of order 2 one order.
    let year = w.get(&k.exec, &format!("{URL}?{YEAR}")).await;
    assert_eq!(
        sold(&year),
        vec![
            row("润滑脂", 2, "5", "200.00", "39.64"),
            row("静音轴承", 2, "16", "198.00", "39.25"),
            row("密封圈", 3, "35.5", "106.50", "21.11"),
        ]
    );
    assert_eq!(
        (year["view"].as_str(), year["currency"].as_str()),
        (Some("sales"), Some("CNY"))
    );
    assert_eq!(year["restricted"], false);

    // The margin: each line's cost when priced (the merged grease at 26.00, the earlier at
    // 25.00); the seals have none.
    let margin = w.get(&k.exec, &format!("{URL}?{YEAR}&view=margin")).await;
    assert_eq!(
        margins(&margin),
        vec![
            (
                "润滑脂".into(),
                json!("128.00"),
                json!("72.00"),
                json!("36.00"),
                "0.00".into()
            ),
            (
                "静音轴承".into(),
                json!("128.00"),
                json!("70.00"),
                json!("35.35"),
                "0.00".into()
            ),
            (
                "密封圈".into(),
                Value::Null,
                Value::Null,
                Value::Null,
                "106.50".into()
            ),
        ]
    );
    assert_eq!(
        margin["totals"],
        json!({"products": 3, "revenue": "504.50", "cost": "256.00", "margin": "142.00",
               "margin_rate": "35.68", "uncosted_revenue": "106.50"})
    );

    // Days of one's own are summed from the lines: March to June is orders 1 and 2.
    let spring = w
        .get(&k.exec, &format!("{URL}?from=2025-03-01&to=2025-06-30"))
        .await;
    let wangs = vec![
        row("静音轴承", 2, "16", "198.00", "48.53"),
        row("润滑脂", 1, "3", "120.00", "29.41"),
        row("密封圈", 2, "30", "90.00", "22.06"),
    ];
    assert_eq!(sold(&spring), wangs);

    // A manager counts their own customers' orders, whatever the period.
    let mine = w.get(&k.wang, &format!("{URL}?{YEAR}")).await;
    assert_eq!(sold(&mine), wangs);
    let mine = w.get(&k.wang, &format!("{URL}?{YEAR}&view=margin")).await;
    assert_eq!(margins(&mine)[1].3, json!("35.00"), "{mine}");
    let lis = w.get(&k.li, URL).await;
    assert_eq!(
        sold(&lis),
        vec![
            row("润滑脂", 1, "2", "80.00", "73.39"),
            row("密封圈", 1, "5.5", "16.50", "15.14"),
            row("静音轴承", 1, "1", "12.50", "11.47"),
        ]
    );

    // All time adds 2024's bearing.
    let all = w.get(&k.exec, URL).await;
    assert_eq!(sold(&all)[0], row("静音轴承", 3, "17", "210.50", "40.72"));
    assert_eq!(all["totals"]["revenue"], "517.00");

    // The figures rebuilt from the orders are the ones the order changes kept.
    kehu_orders::figures::rebuild(&w.app.store.db)
        .await
        .unwrap();
    for q in [format!("{URL}?{YEAR}&view=margin"), URL.to_owned()] {
        let before = if q == URL { &all } else { &margin };
        let again = w.get(&k.exec, &q).await;
        assert_eq!(again["items"], before["items"], "{q}");
    }

    // The export: the heading, then real numbers.
    let (s, kind, bytes) = w
        .download(&k.exec, &format!("{URL}?{YEAR}&view=margin&format=xlsx"))
        .await;
    assert_eq!(s, 200);
    assert!(kind.contains("spreadsheetml"), "{kind}");
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let cells: Vec<Vec<Data>> = sheet.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(cells[0][0], Data::String("产品销售分析".into()));
    let header = cells
        .iter()
        .position(|r| r[0] == Data::String("产品名称".into()))
        .expect("a header row");
    let first = &cells[header + 1];
    assert_eq!(first[0], Data::String("润滑脂".into()));
    assert_eq!(
        first[2..6],
        [
            Data::Float(200.0),
            Data::Float(128.0),
            Data::Float(72.0),
            Data::Float(36.0)
        ]
    );
    assert_eq!(cells[header + 3][3], Data::String("未知".into()));
    assert_eq!(cells.last().unwrap()[2], Data::Float(504.5));
    let (_, _, bytes) = w
        .download(&k.exec, &format!("{URL}?{YEAR}&format=xlsx"))
        .await;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let seals = sheet
        .rows()
        .find(|r| r[0] == Data::String("密封圈".into()))
        .unwrap()
        .to_vec();
    assert_eq!(
        (&seals[3], &seals[4]),
        (&Data::Float(3.0), &Data::Float(35.5))
    );
    let (s, kind, bytes) = w
        .download(&k.exec, &format!("{URL}?{YEAR}&format=csv"))
        .await;
    assert_eq!(s, 200);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let csv = String::from_utf8(bytes).unwrap();
    assert!(csv.contains("密封圈,,个,3,35.5,106.50,21.11"), "{csv}");

    // The pages: the views, the unknown cost, the index's cards.
    let boss = w.app.login("boss", PW).await;
    let page = text(
        &boss,
        "/reports/products?period=custom&from=2025-01-01&to=2025-12-31&view=margin",
    )
    .await;
    for want in [
        "润滑脂",
        "35.4%",
        "未知",
        "504.50",
        "view=turnover",
        "共 3 种产品",
    ] {
        assert!(page.contains(want), "{want}: {page}");
    }
    let index = text(&boss, "/reports").await;
    assert!(
        index.contains("/reports/products") && index.contains("/reports/credit"),
        "{index}"
    );
    let (s, _, bytes) = w
        .download(
            &k.exec,
            "/reports/products?period=last_year&view=sales&format=csv",
        )
        .await;
    assert_eq!(s, 200);
    assert!(String::from_utf8(bytes).unwrap().contains("润滑脂"));
}

async fn stock_turnover_sets_the_years_sales_against_the_stock_now(b: TestBackend) {
    let (k, _) = book(b).await;
    let w = &k.w;
    let t = w.get(&k.exec, &format!("{URL}?{YEAR}&view=turnover")).await;
    // 365 days; the sold first by revenue, then the unsold with stock.
    assert_eq!(t["days"], 365, "{t}");
    let rows: Vec<(&str, &str, &str, Value, Value)> = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["quantity"].as_str().unwrap(),
                r["stock"].as_str().unwrap(),
                r["turnover"].clone(),
                r["days_of_stock"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("润滑脂", "5", "5", json!("1.00"), json!(365)),
            // 40 in stock at 16 a year: 912.5 days, rounded half up.
            ("静音轴承", "16", "40", json!("0.40"), json!(913)),
            // Sold out: no turnover to speak of, no day left.
            ("密封圈", "35.5", "0", Value::Null, json!(0)),
            // Nothing sold: the stock lasts for ever.
            ("齿轮", "0", "7", json!("0.00"), Value::Null),
        ]
    );

    // A manager is told why there is nothing, on the page and in the API.
    let mine = w.get(&k.wang, &format!("{URL}?{YEAR}&view=turnover")).await;
    assert_eq!(mine["restricted"], true);
    assert_eq!(mine["items"], json!([]));
    assert!(
        mine["notice"].as_str().unwrap().contains("全部客户"),
        "{mine}"
    );
    let wang = w.app.login("wang", PW).await;
    let page = text(&wang, "/reports/products?view=turnover").await;
    assert!(
        page.contains("report-notice") && !page.contains("齿轮"),
        "{page}"
    );
    let boss = w.app.login("boss", PW).await;
    let page = text(
        &boss,
        "/reports/products?period=custom&from=2025-01-01&to=2025-12-31&view=turnover",
    )
    .await;
    assert!(page.contains("齿轮") && page.contains("913"), "{page}");
    let (s, kind, bytes) = w
        .download(&k.exec, &format!("{URL}?{YEAR}&view=turnover&format=xlsx"))
        .await;
    assert_eq!((s, kind.contains("spreadsheetml")), (200, true));
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let bearings = sheet
        .rows()
        .find(|r| r[0] == Data::String("静音轴承".into()))
        .unwrap()
        .to_vec();
    assert_eq!(
        bearings[3..7],
        [
            Data::Float(16.0),
            Data::Float(40.0),
            Data::Float(0.4),
            Data::Float(913.0)
        ]
    );
}

async fn the_credit_overview_counts_customers_orders_and_open_orders_by_credit(b: TestBackend) {
    let (k, _) = book(b).await;
    let w = &k.w;
    let url = "/api/v1/reports/credit";
    let c = w.get(&k.exec, &format!("{url}?{YEAR}")).await;
    let rows = |c: &Value| -> Vec<Value> {
        c["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                json!([
                    r["credit"],
                    r["customers"],
                    r["customer_share"],
                    r["orders"],
                    r["amount"],
                    r["amount_share"],
                    r["open_orders"],
                    r["open_amount"]
                ])
            })
            .collect()
    };
    assert_eq!(
        rows(&c),
        vec![
            json!(["5", 2, "50.00", 2, "265.00", "52.53", 2, "92.50"]),
            json!(["3", 1, "25.00", 1, "223.00", "44.20", 1, "223.00"]),
            json!([null, 1, "25.00", 1, "16.50", "3.27", 0, "0.00"]),
        ]
    );
    assert_eq!(
        c["totals"],
        json!({"customers": 4, "orders": 4, "amount": "504.50", "open_orders": 3,
               "open_amount": "315.50"})
    );
    assert_eq!(c["items"][0]["label"], "5 星");
    // Days of one's own: only 华北's order; the open orders are open whenever dated.
    let spring = w
        .get(&k.exec, &format!("{url}?from=2025-05-01&to=2025-05-31"))
        .await;
    assert_eq!(spring["totals"]["amount"], "223.00");
    assert_eq!(spring["totals"]["open_amount"], "315.50");
    // A manager's customers only.
    let mine = w.get(&k.wang, &format!("{url}?{YEAR}")).await;
    assert_eq!(
        rows(&mine),
        vec![
            json!(["5", 1, "50.00", 1, "185.00", "45.34", 0, "0.00"]),
            json!(["3", 1, "50.00", 1, "223.00", "54.66", 1, "223.00"]),
        ]
    );
    kehu_orders::figures::rebuild(&w.app.store.db)
        .await
        .unwrap();
    assert_eq!(
        rows(&w.get(&k.exec, &format!("{url}?{YEAR}")).await),
        rows(&c)
    );

    let (s, kind, bytes) = w
        .download(&k.exec, &format!("{url}?{YEAR}&format=xlsx"))
        .await;
    assert_eq!((s, kind.contains("spreadsheetml")), (200, true));
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let five = sheet
        .rows()
        .find(|r| r[0] == Data::String("5 星".into()))
        .unwrap()
        .to_vec();
    assert_eq!(
        five[1..8],
        [
            Data::Float(2.0),
            Data::Float(50.0),
            Data::Float(2.0),
            Data::Float(265.0),
            Data::Float(52.53),
            Data::Float(2.0),
            Data::Float(92.5)
        ]
    );
    let boss = w.app.login("boss", PW).await;
    let page = text(
        &boss,
        "/reports/credit?period=custom&from=2025-01-01&to=2025-12-31",
    )
    .await;
    for want in ["5 星", "未填写", "315.50", "共 4 个客户"] {
        assert!(page.contains(want), "{want}: {page}");
    }
}

async fn bad_product_report_queries_are_field_errors(b: TestBackend) {
    let w = World::new(b).await;
    for (path, field) in [
        ("/api/v1/reports/products?view=pie", "view"),
        ("/api/v1/reports/products?from=2025-13-01", "from"),
        ("/api/v1/reports/products?format=pdf", "format"),
        ("/api/v1/reports/credit?from=2025-03-01&to=2025-02-01", "to"),
        ("/api/v1/reports/credit?to=someday", "to"),
    ] {
        let (s, p) = w.call(&w.admin, Method::GET, path, None).await;
        assert_eq!(s, 422, "{path}: {p}");
        assert_eq!(p["code"], "validation_failed", "{p}");
        assert_eq!(p["errors"][0]["name"], field, "{path}: {p}");
    }
    // Nothing sold yet: empty reports, no error.
    let none = w
        .get(&w.admin, "/api/v1/reports/products?view=margin")
        .await;
    assert_eq!(none["items"], json!([]));
    assert_eq!(none["totals"]["cost"], Value::Null);
    let doc: Value = w
        .app
        .client()
        .get(w.app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &doc["paths"];
    assert!(
        paths.get("/api/v1/reports/products").is_some()
            && paths.get("/api/v1/reports/credit").is_some()
            && paths.get("/api/v1/reports/contribution").is_some(),
        "{paths}"
    );
}
