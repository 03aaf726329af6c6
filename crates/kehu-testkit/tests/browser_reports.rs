//! 统计报表 in headless Chromium, the story: an executive opens each report from the
//! reports' index (every one answers with its title and no error, and fits the window), changes
//! the contribution report's period to all time (the customer ordered last year appears, the
//! totals follow), downloads it as Excel (opened here: real numbers under the heading) and
//! prints it to PDF through Chromium (read back with pdftotext: the heading the print
//! stylesheet shows — report, period, reader — the figures, and none of the page's navigation
//! or buttons). The index, the contribution report and the value analysis are photographed at
//! desktop and phone size (`target/tmp/screenshots/{desktop,phone}/reports-*.png`).
//!
//! Like the other browser stories (common/browser.rs): its own app (SQLite, the scheduler
//! still: the analysis runs when the story says), `chromedriver` on a port the system picks and
//! Chromium with a fresh profile; `KEHU_CHROMEDRIVER` / `KEHU_CHROMIUM` name them, and
//! `pdftotext` (poppler-utils) reads the PDF.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::io::Cursor;

use anyhow::{Context as _, ensure};
use calamine::{Data, Reader, Xlsx};
use chrono::{Datelike, FixedOffset, Utc};
use common::browser::{Browser, DESKTOP, PHONE, in_browser_at};
use fantoccini::Locator;
use kehu_testkit::json::call;
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, TestBackend};
use serde_json::{Value, json};

const PW: &str = "lang-genug-123";
/// Ordered this year, and last year only.
const THIS_YEAR: &str = "杭州明达贸易有限公司";
const LAST_YEAR: &str = "宁波东升机电有限公司";

async fn app_with_reports() -> TestApp {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_orders::module());
    modules.push(kehu_sales::module());
    modules.push(kehu_service::module());
    modules.push(kehu_loss::module());
    modules.push(kehu_reports::module());
    let modules = kehu_web::Modules::new(modules).expect("modules that fit together");
    kehu_testkit::spawn_app_with_modules_and(TestBackend::Sqlite, modules, |c| {
        c.job_tick_secs = 0;
    })
    .await
}

async fn post(app: &TestApp, t: &str, path: &str, body: Value) -> Value {
    let (s, v) = call(app, t, Method::POST, path, Some(body)).await;
    assert!(s == 200 || s == 201, "{path}: {s} {v}");
    v
}

/// A manager's two customers: one ordered twice this year, one once last year; the analysis
/// has run. Answers the executive's user name.
async fn arrange(app: &TestApp) -> &'static str {
    let admin = app.token_for("admin").await;
    app.create_user("wang", "account_manager", PW).await;
    app.create_user("boss", "executive", PW).await;
    let wang = app.token_for("wang").await;
    let product = post(
        app,
        &admin,
        "/api/v1/products",
        json!({"name": "静音轴承", "unit": "个", "price": "12.50"}),
    )
    .await["id"]
        .clone();
    let today = Utc::now()
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let this_year = chrono::NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap();
    let last_year = chrono::NaiveDate::from_ymd_opt(today.year() - 1, 6, 15).unwrap();
    for (name, days, price) in [
        (THIS_YEAR, vec![this_year, today], "1200.00"),
        (LAST_YEAR, vec![last_year], "800.00"),
    ] {
        let c = post(app, &wang, "/api/v1/customers", json!({"name": name})).await["id"].clone();
        for d in days {
            let body = json!({"customer_id": c, "date": d.to_string(),
                "lines": [{"product_id": product, "quantity": "1", "price": price}]});
            post(app, &wang, "/api/v1/orders", body).await;
        }
    }
    let run = post(app, &admin, "/api/v1/jobs/analytics", json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    "boss"
}

#[tokio::test]
async fn an_executive_reads_each_report_exports_one_to_excel_and_prints_it() {
    let app = app_with_reports().await;
    let boss = arrange(&app).await;
    in_browser_at("reports_desktop", &app, DESKTOP, async |b| {
        b.sign_in(boss, PW).await?;
        b.wait_for_path("/").await?;
        story(b).await
    })
    .await;
    in_browser_at("reports_phone", &app, PHONE, async |b| {
        b.sign_in(boss, PW).await?;
        b.wait_for_path("/").await?;
        for path in [
            "/reports",
            "/reports/contribution?period=all",
            "/reports/value",
        ] {
            b.goto(path).await?;
            b.wait_for(Locator::Css(".page-head h1")).await?;
            b.fits_the_width(path).await?;
        }
        b.goto("/reports/contribution?period=all").await?;
        b.photograph("reports-contribution").await
    })
    .await;
}

async fn story(b: &Browser) -> anyhow::Result<()> {
    // Every report of the index opens, titled, with no error.
    b.goto("/reports").await?;
    b.wait_for(Locator::Id("report-cards")).await?;
    b.photograph("reports-index").await?;
    let cards = b
        .client
        .find_all(Locator::Css("#report-cards a"))
        .await
        .context("the report cards")?;
    let mut hrefs = Vec::new();
    for card in cards {
        hrefs.push(card.attr("href").await?.context("a card without a link")?);
    }
    ensure!(hrefs.len() >= 10, "the index lists {hrefs:?}");
    for href in &hrefs {
        b.goto(href).await?;
        let h1 = b.text(Locator::Css(".page-head h1")).await?;
        ensure!(!h1.trim().is_empty(), "{href} has no title");
        let body = b.text(Locator::Css("main")).await?;
        ensure!(
            !body.contains("出错") && !body.contains("error"),
            "{href}: {body}"
        );
        b.fits_the_width(href).await?;
    }

    // The contribution report: this year shows the customer who ordered this year only;
    // all time brings last year's.
    b.goto("/reports/contribution").await?;
    let table = b.text(Locator::Id("report-contribution")).await?;
    ensure!(
        table.contains(THIS_YEAR) && !table.contains(LAST_YEAR),
        "this year: {table}"
    );
    ensure!(table.contains("2,400.00"), "this year's total: {table}");
    b.client
        .find(Locator::Css("#report-period option[value='all']"))
        .await?
        .click()
        .await?;
    b.click(Locator::Css("#report-filters button[type=submit]"))
        .await?;
    b.eventually(
        "all time's table",
        |t: &String| t.contains(LAST_YEAR) && t.contains("3,200.00"),
        async || b.text(Locator::Id("report-contribution")).await,
    )
    .await?;
    ensure!(
        b.client
            .current_url()
            .await?
            .as_str()
            .contains("period=all"),
        "the filter is in the link"
    );
    b.photograph("reports-contribution").await?;

    // Excel: the heading, then the customers with real numbers, the total last.
    let xlsx = b.download(Locator::Id("export-xlsx")).await?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(xlsx)).context("an XLSX file")?;
    let sheet = book.worksheet_range_at(0).context("a sheet")??;
    let rows: Vec<Vec<Data>> = sheet.rows().map(<[Data]>::to_vec).collect();
    ensure!(
        rows[0][0] == Data::String("客户贡献分析".into()),
        "heading: {:?}",
        rows[0]
    );
    let first = rows
        .iter()
        .find(|r| r.get(1) == Some(&Data::String(THIS_YEAR.into())))
        .context("the customer's row")?;
    ensure!(
        first[2] == Data::Float(2.0) && first[3] == Data::Float(2400.0),
        "{first:?}"
    );
    let total = rows.last().context("a totals row")?;
    ensure!(total[3] == Data::Float(3200.0), "{total:?}");

    // Printed on A4: the heading the print stylesheet shows, the figures, no navigation and
    // no buttons.
    let pdf = b.print_pdf().await?;
    ensure!(pdf.starts_with(b"%PDF"), "not a PDF");
    let text = pdf_text(&pdf)?;
    for want in [
        "客户贡献分析",
        "期间：全部",
        "生成时间",
        THIS_YEAR,
        "3,200.00",
    ] {
        ensure!(text.contains(want), "the PDF lacks {want}: {text}");
    }
    for gone in ["导出 Excel", "筛选", "打印"] {
        ensure!(!text.contains(gone), "the PDF shows {gone}: {text}");
    }

    // The value analysis has its charts and its grid.
    b.goto("/reports/value").await?;
    b.wait_for(Locator::Id("rfm-grid")).await?;
    let charts = b.client.find_all(Locator::Css(".report-chart svg")).await?;
    ensure!(charts.len() >= 3, "{} charts", charts.len());
    b.photograph("reports-value").await
}

/// The text of a PDF, as poppler's pdftotext reads it.
fn pdf_text(pdf: &[u8]) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf)?;
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .context("running pdftotext (Debian: poppler-utils)")?;
    ensure!(out.status.success(), "pdftotext: {:?}", out);
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
