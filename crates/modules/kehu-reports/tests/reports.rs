//! The seed's four reports through the API and the pages, on both databases, against figures
//! worked out by hand: what each customer contributed in a year (the kept period), in days of
//! one's own (summed from the orders) and in all time, a cancelled order not counting, an
//! account manager seeing only their customers; the composition by credit; services by type
//! and by month; confirmed losses with their reason; the exports as real XLSX numbers.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::{Days, NaiveDate, Utc};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestBackend, on_both};
use serde_json::{Value, json};

mod common;
use common::{PW, World, text};

/// A world with one product (a bearing at 12.50) that every order is of.
struct Books {
    world: World,
    product: i64,
}

impl std::ops::Deref for Books {
    type Target = World;

    fn deref(&self) -> &World {
        &self.world
    }
}

impl Books {
    async fn new(b: TestBackend) -> Books {
        let world = World::new(b).await;
        let product = world.product("静音轴承", "个", "12.50", None).await["id"]
            .as_i64()
            .unwrap();
        Books { world, product }
    }

    /// An order of one unit at `price` yuan: its id and version.
    async fn order(&self, t: &str, customer: i64, date: &str, price: &str) -> (i64, i64) {
        self.world
            .order(t, customer, date, &[(self.product, "1", price)])
            .await
    }
}

/// (name, orders, amount, share) of each row.
fn rows(report: &Value) -> Vec<(String, i64, String, String)> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["customer_name"].as_str().unwrap().to_owned(),
                r["orders"].as_i64().unwrap(),
                r["amount"].as_str().unwrap().to_owned(),
                r["share"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn row(name: &str, orders: i64, amount: &str, share: &str) -> (String, i64, String, String) {
    (name.into(), orders, amount.into(), share.into())
}

on_both!(
    the_contribution_report_counts_what_each_customer_ordered,
    composition_service_and_loss_reports_count_what_happened,
    bad_report_queries_are_clear_errors,
);

async fn the_contribution_report_counts_what_each_customer_ordered(b: TestBackend) {
    // Arrange: two managers; 华南 and 华北 are Wang's, 华东 Li's. Orders over 2024 and 2025,
    // one of them cancelled.
    let w = Books::new(b).await;
    let (_, t_wang) = w.user("wang", "account_manager").await;
    let (li, t_li) = w.user("li", "account_manager").await;
    let (_, t_exec) = w.user("boss", "executive").await;
    let south = w.customer(&t_wang, json!({"name": "华南机电"})).await;
    let north = w.customer(&t_wang, json!({"name": "华北机械"})).await;
    let east = w.customer(&t_li, json!({"name": "华东轴承"})).await;
    w.order(&t_wang, south, "2025-03-10", "100.00").await;
    w.order(&t_wang, south, "2025-03-20", "50.00").await;
    let (gone, v) = w.order(&t_wang, south, "2025-07-01", "30.00").await;
    w.order(&t_wang, north, "2025-05-05", "300.00").await;
    w.order(&t_li, east, "2025-11-11", "80.00").await;
    w.order(&t_li, east, "2024-12-31", "999.00").await;
    let (s, o) = w
        .call(
            &t_wang,
            Method::POST,
            &format!("/api/v1/orders/{gone}/cancel?version={v}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "{o}");

    // 2025 (a kept period): largest first, the cancelled order not counted.
    let url = "/api/v1/reports/contribution";
    let year = w
        .get(&t_exec, &format!("{url}?from=2025-01-01&to=2025-12-31"))
        .await;
    assert_eq!(
        rows(&year),
        vec![
            row("华北机械", 1, "300.00", "56.60"),
            row("华南机电", 2, "150.00", "28.30"),
            row("华东轴承", 1, "80.00", "15.09"),
        ]
    );
    assert_eq!(
        year["totals"],
        json!({"customers": 3, "orders": 4, "amount": "530.00"})
    );
    assert_eq!(
        (year["currency"].as_str(), year["total"].as_i64()),
        (Some("CNY"), Some(3))
    );

    // Days of one's own are summed from the orders: the same figures by another road.
    let some = w
        .get(&t_exec, &format!("{url}?from=2025-03-15&to=2025-11-11"))
        .await;
    assert_eq!(
        rows(&some),
        vec![
            row("华北机械", 1, "300.00", "69.77"),
            row("华东轴承", 1, "80.00", "18.60"),
            row("华南机电", 1, "50.00", "11.63"),
        ]
    );
    assert_eq!(some["totals"]["amount"], "430.00");
    let q1 = w
        .get(&t_exec, &format!("{url}?from=2025-01-01&to=2025-03-31"))
        .await;
    assert_eq!(rows(&q1), vec![row("华南机电", 2, "150.00", "100.00")]);

    // All time, by orders; one per page with a cursor to the next.
    let all = w
        .get(&t_exec, &format!("{url}?sort=-orders&per_page=1"))
        .await;
    assert_eq!(rows(&all), vec![row("华东轴承", 2, "1079.00", "70.57")]);
    assert_eq!(all["totals"]["amount"], "1529.00");
    let next = all["next_cursor"].as_str().unwrap();
    let more = w
        .get(
            &t_exec,
            &format!("{url}?sort=-orders&per_page=1&cursor={next}"),
        )
        .await;
    assert_eq!(rows(&more)[0].0, "华南机电");

    // A manager counts their own customers; the executive can narrow to one manager, or to a
    // name.
    let mine = w
        .get(&t_wang, &format!("{url}?from=2025-01-01&to=2025-12-31"))
        .await;
    assert_eq!(
        mine["totals"],
        json!({"customers": 2, "orders": 3, "amount": "450.00"})
    );
    let lis = w
        .get(
            &t_exec,
            &format!("{url}?from=2025-01-01&to=2025-12-31&owner_id={li}"),
        )
        .await;
    assert_eq!(rows(&lis), vec![row("华东轴承", 1, "80.00", "100.00")]);
    let named = w.get(&t_exec, &format!("{url}?q=%E5%8D%8E%E5%8D%97")).await;
    assert_eq!(rows(&named)[0].0, "华南机电");
    assert_eq!(named["total"], 1);

    // The figures rebuilt from the orders (the migration's fill, the weekly job's) are the
    // ones the order changes kept.
    let (s, run) = w
        .call(&w.admin, Method::POST, "/api/v1/jobs/report-figures", None)
        .await;
    assert_eq!(
        (s, run["status"].as_str()),
        (200, Some("succeeded")),
        "{run}"
    );
    let again = w
        .get(&t_exec, &format!("{url}?from=2025-01-01&to=2025-12-31"))
        .await;
    assert_eq!(rows(&again), rows(&year));
    let again = w
        .get(&t_exec, &format!("{url}?from=2025-01-01&to=2025-03-31"))
        .await;
    assert_eq!(rows(&again), rows(&q1));

    // The export: the heading, then real numbers a spreadsheet adds up.
    let (s, kind, bytes) = w
        .download(
            &t_exec,
            &format!("{url}?from=2025-01-01&to=2025-12-31&format=xlsx"),
        )
        .await;
    assert_eq!(s, 200);
    assert!(kind.contains("spreadsheetml"), "{kind}");
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let cells: Vec<Vec<Data>> = sheet.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(cells[0][0], Data::String("客户贡献分析".into()));
    let header = cells
        .iter()
        .position(|r| r[0] == Data::String("客户编号".into()))
        .expect("a header row");
    let first = &cells[header + 1];
    assert_eq!(first[1], Data::String("华北机械".into()));
    assert_eq!(first[2], Data::Float(1.0));
    assert_eq!(first[3], Data::Float(300.0));
    let totals = cells.last().unwrap();
    assert_eq!(totals[3], Data::Float(530.0));
    let (s, kind, bytes) = w
        .download(
            &t_exec,
            &format!("{url}?from=2025-01-01&to=2025-12-31&format=csv"),
        )
        .await;
    assert_eq!(s, 200);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let csv = String::from_utf8(bytes).unwrap();
    assert!(csv.contains("华北机械,1,300.00,56.60"), "{csv}");

    // The page shows the same, and the executive sees the reports in the navigation.
    let boss = w.app.login("boss", PW).await;
    let page = text(
        &boss,
        "/reports/contribution?period=custom&from=2025-01-01&to=2025-12-31",
    )
    .await;
    assert!(
        page.contains("华北机械") && page.contains("530.00"),
        "{page}"
    );
    let index = text(&boss, "/reports").await;
    assert!(index.contains("/reports/composition"), "{index}");
}

async fn composition_service_and_loss_reports_count_what_happened(b: TestBackend) {
    let w = Books::new(b).await;
    let (_, t_wang) = w.user("wang", "account_manager").await;
    let (_, t_li) = w.user("li", "account_manager").await;
    let (_, t_exec) = w.user("boss", "executive").await;
    let a = w
        .customer(&t_wang, json!({"name": "甲公司", "credit": 5}))
        .await;
    w.customer(&t_wang, json!({"name": "乙公司", "credit": 5}))
        .await;
    w.customer(&t_li, json!({"name": "丙公司", "credit": 2}))
        .await;
    w.customer(&t_li, json!({"name": "丁公司"})).await;

    // Composition by credit: most first, the unfilled one named so; a manager counts theirs.
    let c = w
        .get(&t_exec, "/api/v1/reports/composition?by=credit")
        .await;
    let parts: Vec<(Value, i64, String)> = c["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["key"].clone(),
                p["customers"].as_i64().unwrap(),
                p["share"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        parts,
        vec![
            (json!("5"), 2, "50.00".to_owned()),
            (json!("2"), 1, "25.00".to_owned()),
            (Value::Null, 1, "25.00".to_owned()),
        ]
    );
    assert_eq!(c["total"], 4);
    let mine = w
        .get(&t_wang, "/api/v1/reports/composition?by=credit")
        .await;
    assert_eq!(mine["total"], 2);

    // Services by type and by month.
    for (kind, title) in [
        ("complaint", "漏油"),
        ("complaint", "异响"),
        ("consultation", "报价"),
    ] {
        let body = json!({"type": kind, "title": title, "customer_id": a, "request": "请处理"});
        let (s, v) = w
            .call(&t_wang, Method::POST, "/api/v1/services", Some(body))
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let today = Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let s = w.get(&t_exec, "/api/v1/reports/service?by=type").await;
    let by_type: Vec<(&str, i64)> = s["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap(), r["services"].as_i64().unwrap()))
        .collect();
    assert_eq!(by_type, vec![("complaint", 2), ("consultation", 1)]);
    let month = today.format("%Y-%m").to_string();
    let from = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let s = w
        .get(
            &t_exec,
            &format!("/api/v1/reports/service?by=month&from={from}&to={today}"),
        )
        .await;
    let months = s["items"].as_array().unwrap();
    assert_eq!(months[0]["key"], "2025-01");
    assert_eq!(months.last().unwrap()["key"], month.as_str());
    assert_eq!(months.last().unwrap()["services"], 3);
    assert_eq!(s["total"], 3);
    let none = w
        .get(
            &t_exec,
            "/api/v1/reports/service?from=2020-01-01&to=2020-12-31",
        )
        .await;
    assert_eq!(none["total"], 0);

    // A loss confirmed today, with its reason, in this year's loss report.
    let quiet = w.customer(&t_li, json!({"name": "戊公司"})).await;
    let long_ago = today - Days::new(400);
    set_created(&w, quiet, long_ago).await;
    let (s, run) = w
        .call(&w.admin, Method::POST, "/api/v1/jobs/loss-scan", None)
        .await;
    assert_eq!(s, 200, "{run}");
    let (_, l) = w
        .call(
            &t_li,
            Method::GET,
            &format!("/api/v1/loss-records?customer_id={quiet}"),
            None,
        )
        .await;
    let rec = &l["items"][0];
    let (s, r) = w
        .call(
            &t_li,
            Method::POST,
            &format!("/api/v1/loss-records/{}/confirm", rec["id"]),
            Some(json!({"reason": "price", "detail": "转向低价供应商", "version": rec["version"]})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let year = format!(
        "from={}-01-01&to={}-12-31",
        today.format("%Y"),
        today.format("%Y")
    );
    let loss = w
        .get(&t_exec, &format!("/api/v1/reports/loss?{year}"))
        .await;
    let items = loss["items"].as_array().unwrap();
    let lost: Vec<&str> = items
        .iter()
        .map(|r| r["customer_name"].as_str().unwrap())
        .collect();
    assert!(lost.contains(&"戊公司"), "{loss}");
    let it = items
        .iter()
        .find(|r| r["customer_name"] == "戊公司")
        .unwrap();
    assert_eq!(
        (it["reason"].as_str(), it["owner"].as_str()),
        (Some("price"), Some("测试 li"))
    );
    assert!(it["confirmed_at"].is_string(), "{it}");
    let price = loss["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "price")
        .unwrap();
    assert!(price["losses"].as_i64().unwrap() >= 1);
    // Wang's customers lost nobody; last year nobody was lost.
    let wangs = w
        .get(&t_wang, &format!("/api/v1/reports/loss?{year}"))
        .await;
    assert!(
        wangs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["customer_name"] != "戊公司")
    );
    let before = w
        .get(
            &t_exec,
            "/api/v1/reports/loss?from=2020-01-01&to=2020-12-31",
        )
        .await;
    assert_eq!(before["total"], 0);

    // Each page renders with its figures.
    let boss = w.app.login("boss", PW).await;
    for (path, want) in [
        ("/reports/composition?by=credit", "5 星"),
        ("/reports/service?by=type", "共 3 项服务"),
        ("/reports/loss?period=this_year", "戊公司"),
    ] {
        let page = text(&boss, path).await;
        assert!(page.contains(want), "{path}: {page}");
    }
}

async fn set_created(w: &World, customer: i64, day: NaiveDate) {
    use kehu_store::sea_query::{Alias, Expr, ExprTrait, Query};
    let at = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let q = Query::update()
        .table(Alias::new("customers"))
        .value(Alias::new("created_at"), Expr::val(at))
        .and_where(Expr::col(Alias::new("id")).eq(customer))
        .to_owned();
    w.app.store.db.execute(&q).await.unwrap();
}

async fn bad_report_queries_are_clear_errors(b: TestBackend) {
    let w = Books::new(b).await;
    let (_, t_wang) = w.user("wang", "account_manager").await;
    for (path, field) in [
        ("/api/v1/reports/contribution?from=2025-13-01", "from"),
        (
            "/api/v1/reports/contribution?from=2025-03-01&to=2025-02-01",
            "to",
        ),
        ("/api/v1/reports/contribution?format=pdf", "format"),
        ("/api/v1/reports/composition?by=shoe_size", "by"),
        ("/api/v1/reports/service?by=week", "by"),
    ] {
        let (s, p) = w.call(&w.admin, Method::GET, path, None).await;
        assert_eq!(s, 422, "{path}: {p}");
        assert_eq!(p["code"], "validation_failed", "{p}");
        assert_eq!(p["errors"][0]["name"], field, "{path}: {p}");
    }
    let (s, p) = w
        .call(
            &w.admin,
            Method::GET,
            "/api/v1/reports/contribution?cursor=zzz",
            None,
        )
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (400, Some("invalid_cursor")),
        "{p}"
    );
    // Account managers read their own figures.
    let (s, _) = w
        .call(&t_wang, Method::GET, "/api/v1/reports/composition", None)
        .await;
    assert_eq!(s, 200);
}

on_both!(the_analytics_job_writes_the_engines_figures_back_to_each_customer,);

/// A small deterministic book: customer `i` orders every `gap` days from `start` days ago.
async fn the_analytics_job_writes_the_engines_figures_back_to_each_customer(b: TestBackend) {
    use kehu_analytics::analysis::{Config, analyze};
    use kehu_analytics::summary::{Transaction, summarize};
    use std::collections::BTreeMap;

    let w = Books::new(b).await;
    let (_, t_wang) = w.user("wang", "account_manager").await;
    let (_, t_li) = w.user("li", "account_manager").await;
    let (_, t_exec) = w.user("boss", "executive").await;
    let today = Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    // Before the first run the reports say so, and list nobody.
    let none = w.get(&t_exec, "/api/v1/reports/pareto").await;
    assert!(none["run"].is_null(), "{none}");
    assert_eq!(none["customers"], 0);

    let mut orders: BTreeMap<i64, Vec<(NaiveDate, i64)>> = BTreeMap::new();
    let mut wangs = Vec::new();
    for i in 0..24_i64 {
        let token = if i % 3 == 0 { &t_li } else { &t_wang };
        let id = w
            .customer(token, json!({"name": format!("价值客户{i:02}")}))
            .await;
        if i % 3 != 0 {
            wangs.push(id);
        }
        let (start, gap, count) = (30 + (i * 37) % 600, 20 + (i * 13) % 90, 1 + i % 5);
        for k in 0..count {
            let Some(back) = u64::try_from(start - k * gap).ok().filter(|b| *b > 0) else {
                continue;
            };
            let day = today - Days::new(back);
            let fen = 10_000 + (i * 7_919 + k * 1_013) % 90_000;
            let price = format!("{}.{:02}", fen / 100, fen % 100);
            let (oid, v) = w.order(token, id, &day.to_string(), &price).await;
            if i == 6 && k == 0 {
                // A cancelled order counts for nothing.
                let (s, _) = w
                    .call(
                        token,
                        Method::POST,
                        &format!("/api/v1/orders/{oid}/cancel?version={v}"),
                        Some(json!({})),
                    )
                    .await;
                assert_eq!(s, 200);
                continue;
            }
            orders.entry(id).or_default().push((day, fen));
        }
    }

    // Run it now through the jobs API: it needs `system.jobs`.
    let (s, _) = w
        .call(&t_exec, Method::POST, "/api/v1/jobs/analytics", None)
        .await;
    assert_eq!(s, 403);
    let (s, run) = w
        .call(&w.admin, Method::POST, "/api/v1/jobs/analytics", None)
        .await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["figures"]["customers"], 24, "{run}");

    // The engine on the same orders.
    let ids: Vec<i64> = orders.keys().copied().collect();
    let mut tx: Vec<Transaction> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        for (day, fen) in &orders[id] {
            tx.push(Transaction {
                customer: u32::try_from(i).unwrap(),
                day: chrono::Datelike::num_days_from_ce(day),
                cents: *fen,
            });
        }
    }
    let as_of = chrono::Datelike::num_days_from_ce(&today);
    let twelve = chrono::Datelike::num_days_from_ce(
        &today.checked_sub_months(chrono::Months::new(12)).unwrap(),
    );
    let summaries = summarize(&mut tx, ids.len(), as_of, twelve);
    let rank: Vec<u32> = (0..u32::try_from(ids.len()).unwrap()).collect();
    let a = analyze(&summaries, &rank, &Config::default(), &mut |_| {});

    // Every customer's values, as the API lists them (highest lifetime value first).
    let mut listed: BTreeMap<i64, Value> = BTreeMap::new();
    let mut url = "/api/v1/reports/clv?per_page=10".to_owned();
    loop {
        let page = w.get(&t_exec, &url).await;
        for v in page["items"].as_array().unwrap() {
            listed.insert(v["customer_id"].as_i64().unwrap(), v.clone());
        }
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/reports/clv?per_page=10&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(listed.len(), ids.len());
    let c = &a.customers;
    for (i, id) in ids.iter().enumerate() {
        let v = &listed[id];
        assert_eq!(v["segment"], c.segment[i].as_str(), "customer {id}: {v}");
        assert_eq!(v["abc"], c.abc[i].as_str(), "customer {id}");
        assert_eq!(v["value_class"], c.value_class[i].as_str(), "customer {id}");
        assert_eq!(v["r"], c.scores.r[i], "customer {id}");
        let clv = (c.clv[i] * 100.0).round() as i64;
        assert_eq!(
            v["clv"],
            format!("{}.{:02}", clv / 100, clv % 100),
            "customer {id}"
        );
        let p = (c.p_alive[i] * 1e6).round() / 1e6;
        assert!(
            (v["p_alive"].as_f64().unwrap() - p).abs() < 1e-6,
            "customer {id}: {v}"
        );
        assert_eq!(v["orders"], summaries[i].orders, "customer {id}");
    }

    // The customer list filters on what the analysis found.
    let segment = listed.values().next().unwrap()["segment"]
        .as_str()
        .unwrap()
        .to_owned();
    let class = listed.values().next().unwrap()["value_class"]
        .as_str()
        .unwrap()
        .to_owned();
    let expected = |key: &str, v: &str| listed.values().filter(|x| x[key] == v).count();
    let found = w
        .get(
            &w.admin,
            &format!("/api/v1/customers?segment={segment}&per_page=200"),
        )
        .await;
    assert_eq!(found["total"], expected("segment", &segment), "{found}");
    let found = w
        .get(
            &w.admin,
            &format!("/api/v1/customers?value_class={class}&per_page=200"),
        )
        .await;
    assert_eq!(found["total"], expected("value_class", &class), "{found}");
    let admin = w.app.admin().await;
    let page = text(&admin, &format!("/customers?segment={segment}")).await;
    assert!(
        page.contains(&format!("value=\"{segment}\" selected")),
        "{page}"
    );

    // The classes and the grid add up to the customers; a manager counts theirs only.
    let rfm = w.get(&t_exec, "/api/v1/reports/rfm").await;
    let cells: i64 = rfm["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customers"].as_i64().unwrap())
        .sum();
    assert_eq!(cells, 24);
    let mine = w.get(&t_wang, "/api/v1/reports/rfm").await;
    let cells: i64 = mine["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customers"].as_i64().unwrap())
        .sum();
    assert_eq!(cells, i64::try_from(wangs.len()).unwrap());
    let classes = w.get(&t_exec, "/api/v1/reports/value-classes").await;
    let counted: i64 = classes["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customers"].as_i64().unwrap())
        .sum();
    assert_eq!(counted, 24);
    assert!(
        !classes["clusters"].as_array().unwrap().is_empty(),
        "{classes}"
    );
    let pareto = w.get(&t_exec, "/api/v1/reports/pareto").await;
    assert_eq!(pareto["points"].as_array().unwrap().len(), 100);
    assert_eq!(pareto["points"][99]["revenue_share"], "100.00");
    let total: i64 = orders.values().flatten().map(|(_, f)| f).sum();
    assert_eq!(
        pareto["revenue"],
        format!("{}.{:02}", total / 100, total % 100)
    );

    // The retention decomposition, everyone's (the run's) and a manager's (their figures),
    // as the decomposition of the orders by customer and month says.
    let decomposed = |only: &dyn Fn(i64) -> bool| {
        let mut by: BTreeMap<(i64, String), i64> = BTreeMap::new();
        for (c, v) in &orders {
            if only(*c) {
                for (d, fen) in v {
                    *by.entry((*c, kehu_reports::retention::key(*d)))
                        .or_default() += fen;
                }
            }
        }
        let rows: Vec<(i64, String, i64)> = by.into_iter().map(|((c, m), a)| (c, m, a)).collect();
        kehu_reports::retention::decompose(&rows, today)
    };
    let said = |v: &Value| -> Vec<(String, i64, i64, i64, String)> {
        v["months"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["month"].as_str().unwrap().to_owned(),
                    m["new_customers"].as_i64().unwrap(),
                    m["existing_customers"].as_i64().unwrap(),
                    m["retained_customers"].as_i64().unwrap(),
                    m["revenue"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let want = |ms: Vec<kehu_reports::retention::Month>| -> Vec<(String, i64, i64, i64, String)> {
        ms.into_iter()
            .map(|m| {
                let r = m.revenue;
                (
                    m.month,
                    m.new,
                    m.existing,
                    m.retained,
                    format!("{}.{:02}", r / 100, r % 100),
                )
            })
            .collect()
    };
    let all = w.get(&t_exec, "/api/v1/reports/retention").await;
    assert_eq!(said(&all), want(decomposed(&|_| true)));
    assert!(
        all["months"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["retained_customers"].as_i64() > Some(0)),
        "{all}"
    );
    let his = w.get(&t_wang, "/api/v1/reports/retention").await;
    assert_eq!(said(&his), want(decomposed(&|c| wangs.contains(&c))));

    // At risk: P(alive) below one half, lowest first.
    let risk = w
        .get(&t_exec, "/api/v1/reports/clv?at_risk=true&per_page=200")
        .await;
    let ps: Vec<f64> = risk["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["p_alive"].as_f64().unwrap())
        .collect();
    assert!(ps.iter().all(|p| *p < 0.5), "{risk}");
    assert!(ps.windows(2).all(|w| w[0] <= w[1]), "{ps:?}");

    // A second run replaces the values, it does not add to them.
    let (s, run) = w
        .call(&w.admin, Method::POST, "/api/v1/jobs/analytics", None)
        .await;
    assert_eq!(
        (s, run["status"].as_str()),
        (200, Some("succeeded")),
        "{run}"
    );
    let again = w.get(&t_exec, "/api/v1/reports/clv?per_page=200").await;
    assert_eq!(again["total"], 24);

    // The pages.
    let boss = w.app.login("boss", PW).await;
    let page = text(&boss, "/reports/value").await;
    assert!(
        page.contains("rfm-grid") && page.contains("重要价值客户") || page.contains("RFM"),
        "{page}"
    );
    let page = text(&boss, "/reports/retention").await;
    assert!(page.contains("收入分解与客户保持"), "{page}");
    let page = text(&boss, "/reports/clv?view=at_risk").await;
    assert!(page.contains("流失风险客户"), "{page}");
    // The home pages: the company's figures for the executive, the manager's own for the
    // manager.
    let home = text(&boss, "/").await;
    assert!(
        home.contains("经营概况") && home.contains("本年贡献最大的客户"),
        "{home}"
    );
    assert!(
        home.contains("本年平均满意度") && home.contains("测试 wang 本年订单金额"),
        "{home}"
    );
    // A supervisor also sees the work nobody has yet.
    w.user("chen", "sales_supervisor").await;
    let sup = w.app.login("chen", PW).await;
    let home = text(&sup, "/").await;
    assert!(
        home.contains("待分配的销售机会") && home.contains("待分配的服务"),
        "{home}"
    );
    let wang = w.app.login("wang", PW).await;
    let home = text(&wang, "/").await;
    assert!(
        home.contains("我的业绩") && !home.contains("经营概况"),
        "{home}"
    );
    let (s, kind, _) = w
        .download(&t_exec, "/api/v1/reports/value-classes?format=xlsx")
        .await;
    assert_eq!((s, kind.contains("spreadsheetml")), (200, true));
}
