//! The pipeline and service-level reports through the API and the pages, on both databases,
//! against figures worked out by hand: six opportunities of the year by status and source,
//! two won and one lost (win rate 66.67 %, conversion 2 of 6), the weighted pipeline of the
//! open ones exact per currency; five services by status, their response and resolution
//! targets met, late and not yet due, and three feedbacks' mean satisfaction; each account
//! manager or handler counting their own; bad periods as field errors; the exports as real
//! XLSX numbers; the pages with their figures.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use calamine::Data;
use chrono::{DateTime, Duration, Utc};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestBackend, on_both};
use serde_json::{Value, json};

mod common;
use common::{PW, World, text, today};

/// `from=…&to=…`: the days from a month ago to a month ahead (what is due soon included).
fn around_today() -> String {
    let t = today();
    format!(
        "from={}&to={}",
        t - chrono::Days::new(31),
        t + chrono::Days::new(31)
    )
}

/// (key, count, share) of each row of `rows`.
fn counts(rows: &Value) -> Vec<(Value, i64, String)> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].clone(),
                r["count"].as_i64().unwrap(),
                r["share"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn count(key: Value, n: i64, share: &str) -> (Value, i64, String) {
    (key, n, share.to_owned())
}

/// The row of the export `cells` whose first two cells are `section` and `key`, as a map from
/// the header's titles to its cells.
fn export_row(cells: &[Vec<Data>], section: &str, key: &str) -> Vec<(String, Data)> {
    let header = cells
        .iter()
        .position(|r| r[0] == Data::String("统计项".into()))
        .expect("a header row");
    let titles: Vec<String> = cells[header]
        .iter()
        .map(|c| match c {
            Data::String(s) => s.clone(),
            _ => String::new(),
        })
        .collect();
    let row = cells[header + 1..]
        .iter()
        .find(|r| r[0] == Data::String(section.into()) && r[1] == Data::String(key.into()))
        .unwrap_or_else(|| panic!("no row {section} / {key} in {cells:?}"));
    titles.into_iter().zip(row.iter().cloned()).collect()
}

fn cell<'a>(row: &'a [(String, Data)], title: &str) -> &'a Data {
    &row.iter()
        .find(|(t, _)| t == title)
        .unwrap_or_else(|| panic!("no column {title} in {row:?}"))
        .1
}

on_both!(
    the_pipeline_report_counts_the_opportunities_and_how_they_converted,
    the_service_level_report_counts_stages_targets_and_satisfaction,
    bad_pipeline_and_service_level_queries_are_field_errors,
);

/// An opportunity to arrange: title, source, amount, success rate, currency, the assignee
/// (id, token) and how it ends (`won`, `lost`, `developing`, `assigned`, `open`).
type Deal<'a> = (
    &'a str,
    &'a str,
    &'a str,
    i64,
    &'a str,
    Option<(i64, &'a str)>,
    &'a str,
);

async fn the_pipeline_report_counts_the_opportunities_and_how_they_converted(b: TestBackend) {
    // Arrange: the supervisor records six opportunities; Wang wins two and develops a USD
    // one, Li loses one and develops another; one stays unassigned with no source.
    let w = World::new(b).await;
    let (_, sup) = w.user("zhuguan", "sales_supervisor").await;
    let (wang_id, wang) = w.user("wang", "account_manager").await;
    let (li_id, li) = w.user("li", "account_manager").await;
    let (_, boss) = w.user("boss", "executive").await;
    let open = |title: &str, source: &str, amount: &str, rate: i64, currency: &str| {
        json!({
            "title": title, "prospect_name": format!("{title}公司"), "source": source,
            "success_rate": rate, "expected_amount": amount, "currency": currency,
        })
    };
    let plan: [Deal; 6] = [
        (
            "华东采购",
            "trade_fair",
            "100000.00",
            60,
            "CNY",
            Some((wang_id, wang.as_str())),
            "won",
        ),
        (
            "官网询价",
            "website",
            "50000.00",
            40,
            "CNY",
            Some((wang_id, wang.as_str())),
            "won",
        ),
        (
            "小额试单",
            "trade_fair",
            "800.50",
            20,
            "CNY",
            Some((li_id, li.as_str())),
            "lost",
        ),
        (
            "老客推荐",
            "referral",
            "333.33",
            50,
            "CNY",
            Some((li_id, li.as_str())),
            "developing",
        ),
        ("电话线索", "", "333.33", 50, "CNY", None, "open"),
        (
            "海外订单",
            "website",
            "1000.00",
            10,
            "USD",
            Some((wang_id, wang.as_str())),
            "assigned",
        ),
    ];
    for (title, source, amount, rate, currency, assignee, outcome) in plan {
        let o = w
            .post(
                &sup,
                "/api/v1/opportunities",
                open(title, source, amount, rate, currency),
            )
            .await;
        let at = |rest: &str| format!("/api/v1/opportunities/{}{rest}", o["id"]);
        let Some((id, token)) = assignee else {
            continue;
        };
        w.post(&sup, &at("/assign"), json!({"assignee_id": id}))
            .await;
        if outcome == "assigned" {
            continue;
        }
        w.post(
            token,
            &at("/plan-items"),
            json!({"date": today().to_string(), "todo": "拜访"}),
        )
        .await;
        match outcome {
            "won" => {
                let won = w.post(token, &at("/succeed"), json!({})).await;
                assert_eq!(won["status"], "success", "{won}");
            }
            "lost" => {
                w.post(token, &at("/fail"), json!({"reason": "预算取消"}))
                    .await;
            }
            _ => {}
        }
    }

    // Act: this year's report, as the executive.
    let year = format!(
        "from={}-01-01&to={}-12-31",
        today().format("%Y"),
        today().format("%Y")
    );
    let url = "/api/v1/reports/pipeline";
    let r = w.get(&boss, &format!("{url}?{year}")).await;

    // Every status in the workflow's order; the sources most first, the one without last
    // among equals.
    assert_eq!(
        counts(&r["by_status"]),
        vec![
            count(json!("unassigned"), 1, "16.67"),
            count(json!("assigned"), 1, "16.67"),
            count(json!("developing"), 1, "16.67"),
            count(json!("success"), 2, "33.33"),
            count(json!("failure"), 1, "16.67"),
        ]
    );
    assert_eq!(r["by_status"][3]["label"], "开发成功");
    assert_eq!(
        counts(&r["by_source"]),
        vec![
            count(json!("trade_fair"), 2, "33.33"),
            count(json!("website"), 2, "33.33"),
            count(Value::Null, 1, "16.67"),
            count(json!("referral"), 1, "16.67"),
        ]
    );
    assert_eq!(r["by_source"][0]["label"], "展会");
    assert_eq!(r["by_source"][2]["label"], "未填写");
    // The open ones now: 333.33 at 50 % twice is 333.33 (166.665 each: rounded once, not
    // per opportunity); the USD one on its own.
    assert_eq!(
        r["weighted"],
        json!([
            {"currency": "CNY", "count": 2, "amount": "666.66", "weighted_amount": "333.33"},
            {"currency": "USD", "count": 1, "amount": "1000.00", "weighted_amount": "100.00"},
        ])
    );
    // Two won and one lost: 66.67 %; two won of six created: 33.33 %.
    assert_eq!(
        r["conversion"],
        json!({
            "won": 2, "lost": 1, "win_rate": "66.67",
            "created": 6, "created_won": 2, "conversion_rate": "33.33",
        })
    );

    // A period without opportunities has no rates; the pipeline is today's whatever the period.
    let before = w
        .get(&boss, &format!("{url}?from=2020-01-01&to=2020-12-31"))
        .await;
    assert_eq!(before["conversion"]["win_rate"], Value::Null);
    assert_eq!(before["conversion"]["conversion_rate"], Value::Null);
    assert_eq!(before["conversion"]["created"], 0);
    assert_eq!(before["by_source"], json!([]));
    assert_eq!(before["weighted"], r["weighted"]);

    // Each manager counts their own: Wang's two won and the USD one.
    let mine = w.get(&wang, &format!("{url}?{year}")).await;
    assert_eq!(
        mine["conversion"],
        json!({
            "won": 2, "lost": 0, "win_rate": "100.00",
            "created": 3, "created_won": 2, "conversion_rate": "66.67",
        })
    );
    assert_eq!(
        mine["weighted"],
        json!([{"currency": "USD", "count": 1, "amount": "1000.00", "weighted_amount": "100.00"}])
    );
    let lis = w.get(&li, &format!("{url}?{year}")).await;
    assert_eq!(lis["conversion"]["win_rate"], "0.00");
    assert_eq!(lis["weighted"][0]["weighted_amount"], "166.67");

    // The export: every table, one after another, with real numbers.
    let cells = w.sheet(&boss, &format!("{url}?{year}&format=xlsx")).await;
    assert_eq!(cells[0][0], Data::String("销售漏斗分析".into()));
    let cny = export_row(&cells, "加权销售漏斗（当前未关闭的机会）", "CNY");
    assert_eq!(cell(&cny, "加权金额"), &Data::Float(333.33));
    assert_eq!(cell(&cny, "预计金额"), &Data::Float(666.66));
    assert_eq!(cell(&cny, "机会数"), &Data::Float(2.0));
    let closed = export_row(&cells, "转化率", "closed");
    assert_eq!(cell(&closed, "成交数"), &Data::Float(2.0));
    assert_eq!(cell(&closed, "机会数"), &Data::Float(3.0));
    assert_eq!(cell(&closed, "占比或比率（%）"), &Data::Float(66.67));
    let fair = export_row(&cells, "期间创建的机会（按来源）", "trade_fair");
    assert_eq!(cell(&fair, "机会数"), &Data::Float(2.0));
    let (s, kind, bytes) = w.download(&boss, &format!("{url}?{year}&format=csv")).await;
    assert_eq!(s, 200);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let csv = String::from_utf8(bytes).unwrap();
    assert!(csv.contains(",CNY,"), "{csv}");

    // The page shows the same, and the index offers it.
    let page = w.app.login("boss", PW).await;
    let html = text(&page, &format!("/reports/pipeline?period=custom&{year}")).await;
    for want in ["333.33", "666.66", "66.7%", "33.3%", "展会", "开发成功"] {
        assert!(html.contains(want), "{want}: {html}");
    }
    let (s, _, bytes) = w
        .download(&boss, "/reports/pipeline?period=this_year&format=xlsx")
        .await;
    assert_eq!((s, bytes.is_empty()), (200, false));
    let index = text(&page, "/reports").await;
    assert!(index.contains("/reports/pipeline"), "{index}");
    assert!(index.contains("/reports/service-levels"), "{index}");
}

/// Sets service `id`'s due times (around now, as its targets would have put them).
async fn set_due(w: &World, id: i64, respond: DateTime<Utc>, resolve: DateTime<Utc>) {
    use kehu_store::sea_query::{Alias, Expr, ExprTrait, Query};
    let q = Query::update()
        .table(Alias::new("services"))
        .value(Alias::new("respond_due_at"), Expr::val(respond))
        .value(Alias::new("resolve_due_at"), Expr::val(resolve))
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    w.app.store.db.execute(&q).await.unwrap();
}

async fn the_service_level_report_counts_stages_targets_and_satisfaction(b: TestBackend) {
    // Arrange: Li takes five consultations for her customer; the supervisor gives four to
    // Zhao, who handles three; the customer is satisfied with two (5 and 4), not with the
    // third (2: it goes back to Zhao).
    let w = World::new(b).await;
    let (_, sup) = w.user("zhuguan", "sales_supervisor").await;
    let (_, li) = w.user("li", "account_manager").await;
    let (zhao_id, zhao) = w.user("zhao", "account_manager").await;
    let (_, wang) = w.user("wang", "account_manager").await;
    let (_, boss) = w.user("boss", "executive").await;
    let customer = w
        .post(&li, "/api/v1/customers", json!({"name": "华强电子"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut ids = Vec::new();
    for title in ["报价", "交期", "发票", "安装", "培训"] {
        let s = w
            .post(
                &li,
                "/api/v1/services",
                json!({"type": "consultation", "title": title, "customer_id": customer,
                       "request": "请回复"}),
            )
            .await;
        ids.push(s["id"].as_i64().unwrap());
    }
    let at = |i: usize, rest: &str| format!("/api/v1/services/{}{rest}", ids[i]);
    for i in 0..4 {
        w.post(&sup, &at(i, "/assign"), json!({"assignee_id": zhao_id}))
            .await;
    }
    for i in 0..3 {
        w.post(&zhao, &at(i, "/handle"), json!({"handling": "已答复"}))
            .await;
    }
    for (i, score) in [(0, 5), (1, 4), (2, 2)] {
        w.post(
            &li,
            &at(i, "/feedback"),
            json!({"result": "客户回访", "satisfaction": score}),
        )
        .await;
    }
    // Their targets around now: the first met both; the second was late for both; the
    // third responded in time but was reopened after its resolution was due; the fourth is
    // late to respond and not yet due to be resolved; the fifth is due for neither yet.
    let now = Utc::now();
    let (hour, ago) = (now + Duration::hours(1), now - Duration::hours(1));
    for (i, respond, resolve) in [
        (0, hour, hour),
        (1, ago, ago),
        (2, hour, ago),
        (3, ago, hour),
        (4, hour, now + Duration::hours(2)),
    ] {
        set_due(&w, ids[i], respond, resolve).await;
    }

    // Act.
    let url = format!("/api/v1/reports/service-levels?{}", around_today());
    let r = w.get(&boss, &url).await;

    // By status: one new, two with the handler (the fourth, the reopened third), two archived.
    assert_eq!(
        counts(&r["by_status"]),
        vec![
            count(json!("new"), 1, "20.00"),
            count(json!("assigned"), 2, "40.00"),
            count(json!("handled"), 0, "0.00"),
            count(json!("archived"), 2, "40.00"),
        ]
    );
    assert_eq!(r["total"], 5);
    // Responses: met by the first and third, late for the second and fourth, the fifth not
    // yet due: 2 of 4. Resolutions: met by the first only; the second late, the reopened
    // third overdue; the fourth and fifth not yet due: 1 of 3.
    assert_eq!(
        r["response"],
        json!({"due": 5, "met": 2, "late": 2, "pending": 1, "attainment": "50.00"})
    );
    assert_eq!(
        r["resolution"],
        json!({"due": 5, "met": 1, "late": 2, "pending": 2, "attainment": "33.33"})
    );
    // Satisfaction: (5 + 4 + 2) / 3 = 3.67.
    assert_eq!(r["satisfaction"]["feedback"], 3);
    assert_eq!(r["satisfaction"]["average"], "3.67");
    assert_eq!(
        counts(&r["satisfaction"]["scores"]),
        vec![
            count(json!("1"), 0, "0.00"),
            count(json!("2"), 1, "33.33"),
            count(json!("3"), 0, "0.00"),
            count(json!("4"), 1, "33.33"),
            count(json!("5"), 1, "33.33"),
        ]
    );

    // The handler counts the four given to them; another manager nothing, and no rates.
    let zhaos = w.get(&zhao, &url).await;
    assert_eq!(zhaos["total"], 4);
    assert_eq!(
        zhaos["response"],
        json!({"due": 4, "met": 2, "late": 2, "pending": 0, "attainment": "50.00"})
    );
    assert_eq!(zhaos["satisfaction"]["average"], "3.67");
    let wangs = w.get(&wang, &url).await;
    assert_eq!(wangs["total"], 0);
    assert_eq!(wangs["response"]["attainment"], Value::Null);
    assert_eq!(wangs["satisfaction"]["average"], Value::Null);
    // Nothing was due or given back in 2020.
    let before = w
        .get(
            &boss,
            "/api/v1/reports/service-levels?from=2020-01-01&to=2020-12-31",
        )
        .await;
    assert_eq!(
        (
            before["total"].as_i64(),
            before["resolution"]["due"].as_i64()
        ),
        (Some(0), Some(0))
    );

    // The export: real numbers, the mean score with its two places.
    let cells = w.sheet(&boss, &format!("{url}&format=xlsx")).await;
    assert_eq!(cells[0][0], Data::String("服务水平分析".into()));
    let resolution = export_row(&cells, "服务时限达成（期间到期的服务）", "resolution");
    assert_eq!(cell(&resolution, "到期数"), &Data::Float(5.0));
    assert_eq!(cell(&resolution, "按时"), &Data::Float(1.0));
    assert_eq!(cell(&resolution, "未到期"), &Data::Float(2.0));
    assert_eq!(cell(&resolution, "占比或达成率（%）"), &Data::Float(33.33));
    let all = export_row(&cells, "客户满意度（期间反馈）", "合计");
    assert_eq!(cell(&all, "服务数"), &Data::Float(3.0));
    assert_eq!(cell(&all, "平均分"), &Data::Float(3.67));

    // The page.
    let page = w.app.login("boss", PW).await;
    let from_to = around_today();
    let html = text(
        &page,
        &format!("/reports/service-levels?period=custom&{from_to}"),
    )
    .await;
    for want in ["3.67", "50.0%", "33.3%", "已归档", "期间受理 5 项服务"] {
        assert!(html.contains(want), "{want}: {html}");
    }
}

async fn bad_pipeline_and_service_level_queries_are_field_errors(b: TestBackend) {
    let w = World::new(b).await;
    let admin = w.app.token_for("admin").await;
    let (_, wang) = w.user("wang", "account_manager").await;
    for report in ["pipeline", "service-levels"] {
        for (query, field) in [
            ("from=2025-13-01", "from"),
            ("from=2025-03-01&to=2025-02-01", "to"),
            ("format=pdf", "format"),
        ] {
            let path = format!("/api/v1/reports/{report}?{query}");
            let (s, p) = w.call(&admin, Method::GET, &path, None).await;
            assert_eq!(s, 422, "{path}: {p}");
            assert_eq!(p["code"], "validation_failed", "{p}");
            assert_eq!(p["errors"][0]["name"], field, "{path}: {p}");
        }
        // Account managers read their own figures; without a token, nobody.
        let path = format!("/api/v1/reports/{report}");
        let (s, _) = w.call(&wang, Method::GET, &path, None).await;
        assert_eq!(s, 200);
        let r = w.app.client().get(w.app.url(&path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    // Both are documented, with their answers' schemas.
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
    for path in ["/api/v1/reports/pipeline", "/api/v1/reports/service-levels"] {
        let params = &doc["paths"][path]["get"]["parameters"];
        let names: Vec<&str> = params
            .as_array()
            .unwrap_or_else(|| panic!("{path} undocumented"))
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["from", "to", "format"], "{path}");
    }
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas.get("PipelineReport").is_some() && schemas.get("ServiceLevelsReport").is_some(),
        "{schemas}"
    );
}
