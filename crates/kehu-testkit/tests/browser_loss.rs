//! 客户流失管理 in headless Chromium, the story: scan → the manager logs a measure →
//! confirms → the customer shows as lost. An account manager has two customers, one whose last
//! order is eight months old and one who ordered ten days ago; another manager has two at risk.
//! The administrator runs the loss scan with the jobs page's button (流失预警扫描) and finds the
//! settings from the loss list. The account manager sees the at-risk panel on the home page
//! (their one customer, not the other manager's), follows it to the open records, opens the
//! warning, logs what they did (暂缓流失), sends the confirmation without a reason (the field's
//! error, the detail kept), confirms it with one (确定流失, the forms gone), and finds the
//! customer 已流失 with the loss record, its measure and reason on the customer's page; their
//! home page has nobody at risk left, the administrator's the other manager's two. The loss
//! list, the record page (after the measure), the home page's panel and the settings page are
//! photographed at desktop and phone size (`target/tmp/screenshots/{desktop,phone}/loss-*.png`)
//! and must not scroll sideways.
//!
//! Like the other browser stories (common/browser.rs): its own app (SQLite, the scheduler
//! still: the scan runs when the administrator says), `chromedriver` on a port the system
//! picks and Chromium with a fresh profile per user; `KEHU_CHROMEDRIVER` / `KEHU_CHROMIUM`
//! name them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use anyhow::{Context as _, ensure};
use chrono::{Days, FixedOffset, Months, NaiveDate, Utc};
use common::browser::{Browser, DESKTOP, PHONE, in_browser_at};
use fantoccini::Locator;
use kehu_testkit::json::call;
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, TestBackend};
use serde_json::{Value, json};

const PW: &str = "lang-genug-123";
/// The customer at risk (no order for eight months) and the one who ordered ten days ago.
const AT_RISK: &str = "杭州明达贸易有限公司";
const ACTIVE: &str = "广州华南五金有限公司";
/// Another manager's customers, both at risk: not the first manager's to see.
const OTHERS: [&str; 2] = ["宁波东升机电有限公司", "温州瑞安鞋业有限公司"];
/// What the manager did about it, and why the customer is lost after all.
const MEASURE: &str = "电话回访采购经理：对方嫌价格偏高，已约下周上门洽谈新报价";
const DETAIL: &str = "客户改从低价供应商采购，报价谈不拢";

async fn app_with_loss() -> TestApp {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_orders::module());
    modules.push(kehu_loss::module());
    let modules = kehu_web::Modules::new(modules).expect("modules that fit together");
    // The scheduler stays still: the scan runs when the administrator presses the button.
    kehu_testkit::spawn_app_with_modules_and(TestBackend::Sqlite, modules, |c| {
        c.job_tick_secs = 0;
    })
    .await
}

/// Today in Beijing (the default time zone), the day the scan counts back from.
fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> i64 {
    let (s, v) = call(app, token, Method::POST, path, Some(body)).await;
    assert_eq!(s, 201, "POST {path}: {v}");
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_customer_at_risk_is_worked_on_then_confirmed_lost_by_the_manager() {
    let app = app_with_loss().await;
    app.create_user("li", "account_manager", PW).await;
    app.create_user("zhao", "account_manager", PW).await;
    let li = app.token_for("li").await;
    let zhao = app.token_for("zhao").await;
    let admin = app.token_for("admin").await;
    let product = post(
        &app,
        &admin,
        "/api/v1/products",
        json!({"name": "静音轴承", "unit": "个", "price": "12.50"}),
    )
    .await;
    let at_risk = post(
        &app,
        &li,
        "/api/v1/customers",
        json!({"name": AT_RISK, "region": "330000"}),
    )
    .await;
    let active = post(
        &app,
        &li,
        "/api/v1/customers",
        json!({"name": ACTIVE, "region": "440000"}),
    )
    .await;
    let eight_months_ago = today().checked_sub_months(Months::new(8)).unwrap();
    let ten_days_ago = today() - Days::new(10);
    let mut orders = vec![
        (&li, at_risk, eight_months_ago),
        (&li, active, ten_days_ago),
    ];
    for name in OTHERS {
        let theirs = post(
            &app,
            &zhao,
            "/api/v1/customers",
            json!({"name": name, "region": "330000"}),
        )
        .await;
        orders.push((&zhao, theirs, eight_months_ago - Days::new(30)));
    }
    for (token, customer, day) in orders {
        post(
            &app,
            token,
            "/api/v1/orders",
            json!({"customer_id": customer, "date": day.to_string(),
                   "lines": [{"product_id": product, "quantity": "1"}]}),
        )
        .await;
    }

    // The administrator runs the scan from the jobs page and opens the settings from the list.
    in_browser_at("loss_admin", &app, DESKTOP, async |b: &Browser| {
        b.sign_in_as_admin().await?;
        b.goto("/jobs").await?;
        let job = b.text(Locator::Id("job-loss-scan")).await?;
        ensure!(job.contains("流失预警扫描"), "the job's card: {job}");
        b.click(Locator::Id("run-loss-scan")).await?;
        b.wait_for(Locator::Id("ran")).await?;
        let runs = b.text(Locator::Id("runs")).await?;
        ensure!(
            runs.contains("成功")
                && runs.contains("手动")
                && runs.contains("扫描客户 4")
                && runs.contains("新增预警 3"),
            "the scan's run: {runs}"
        );
        b.goto("/loss").await?;
        b.click(Locator::Id("loss-settings")).await?;
        b.wait_for_path("/loss/settings").await?;
        b.wait_for(Locator::Id("loss-settings-form")).await?;
        let months = b
            .find(Locator::Id("f-threshold_months"))
            .await?
            .prop("value")
            .await?;
        ensure!(
            months.as_deref() == Some("6"),
            "the threshold shown: {months:?}"
        );
        b.find(Locator::Id("loss-configured")).await?;
        b.fits_the_screen("the loss settings").await?;
        b.photograph("loss-settings").await
    })
    .await;

    // The manager: the home page's panel, the open records, the record, a measure.
    let mut record = String::new();
    in_browser_at("loss_manager", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("li", PW).await?;
        b.wait_for_path("/").await?;
        b.at_risk_panel_says(
            &["1 位客户有流失风险", AT_RISK],
            &[ACTIVE, OTHERS[0], OTHERS[1]],
        )
        .await?;
        b.fits_the_screen("the home page").await?;
        b.photograph("loss-home").await?;

        b.click(Locator::Css("a#loss-at-risk-count")).await?;
        b.wait_for_path("/loss").await?;
        let url = b.client.current_url().await?;
        ensure!(
            url.query() == Some("status=open"),
            "the panel leads to {url}"
        );
        let rows = b.text(Locator::Css("#loss-records tbody")).await?;
        ensure!(
            rows.contains(AT_RISK)
                && rows.contains("流失预警")
                && rows.contains("测试 li")
                && rows.contains("浙江")
                && !rows.contains(ACTIVE)
                && !rows.contains(OTHERS[0]),
            "the open records: {rows}"
        );
        b.fits_the_screen("the loss list").await?;
        b.photograph("loss-list").await?;

        let link = Locator::Css("#loss-records tbody a[href^='/loss/']");
        record = b
            .find(link)
            .await?
            .attr("href")
            .await?
            .context("the record's link")?;
        b.click(link).await?;
        b.wait_for_path(&record).await?;
        b.has_loss_status("流失预警").await?;
        let empty = b.text(Locator::Id("measures")).await?;
        ensure!(empty.contains("还没有记录措施"), "no measure yet: {empty}");

        b.fill(Locator::Id("f-measure"), MEASURE).await?;
        b.click(Locator::Id("add-measure")).await?;
        b.eventually(
            "the measure listed with the manager's name",
            |t: &String| t.contains(MEASURE) && t.contains("测试 li"),
            async || b.text(Locator::Id("measure-log")).await,
        )
        .await?;
        b.has_loss_status("暂缓流失").await?;
        let field = b
            .find(Locator::Id("f-measure"))
            .await?
            .prop("value")
            .await?;
        ensure!(
            field.as_deref() == Some(""),
            "the measure field after saving: {field:?}"
        );
        b.fits_the_screen("the loss record").await?;
        b.photograph("loss-record").await
    })
    .await;

    // The same pages on a phone, the record still being worked on.
    in_browser_at("loss_phone", &app, PHONE, async |b: &Browser| {
        b.sign_in("li", PW).await?;
        b.wait_for_path("/").await?;
        b.at_risk_panel_says(
            &["1 位客户有流失风险", AT_RISK],
            &[ACTIVE, OTHERS[0], OTHERS[1]],
        )
        .await?;
        b.fits_the_screen("the home page").await?;
        b.photograph("loss-home").await?;
        b.goto("/loss?status=open").await?;
        let rows = b.text(Locator::Id("loss-records")).await?;
        ensure!(rows.contains(AT_RISK), "the open records: {rows}");
        b.fits_the_screen("the loss list").await?;
        b.photograph("loss-list").await?;
        b.goto(&record).await?;
        b.has_loss_status("暂缓流失").await?;
        b.fits_the_screen("the loss record").await?;
        b.photograph("loss-record").await?;

        // The same pages in English.
        b.switch_language().await?;
        b.wait_for(Locator::Css("html[lang=en]")).await?;
        b.has_loss_status("Deferring").await?;
        b.fits_the_screen("the loss record in English").await?;
        b.photograph("loss-record-en").await?;
        b.goto("/loss?status=open").await?;
        let rows = b.text(Locator::Id("loss-records")).await?;
        ensure!(
            rows.contains(AT_RISK) && rows.contains("Deferring"),
            "the open records in English: {rows}"
        );
        b.fits_the_screen("the loss list in English").await?;
        b.photograph("loss-list-en").await?;
        b.goto("/").await?;
        b.eventually(
            "the at-risk panel in English",
            |t: &String| t.contains("1 customer at risk of loss") && t.contains(AT_RISK),
            async || b.text(Locator::Css("section#loss-at-risk")).await,
        )
        .await?;
        b.fits_the_screen("the home page in English").await?;
        b.photograph("loss-home-en").await?;
        // Back to Chinese: the choice is the user's, and the story goes on in it.
        b.switch_language().await?;
        b.wait_for(Locator::Css("html[lang=zh-CN]")).await?;
        Ok(())
    })
    .await;

    in_browser_at("loss_admin_phone", &app, PHONE, async |b: &Browser| {
        b.sign_in_as_admin().await?;
        b.goto("/loss/settings").await?;
        b.wait_for(Locator::Id("loss-settings-form")).await?;
        b.fits_the_screen("the loss settings").await?;
        b.photograph("loss-settings").await
    })
    .await;

    // 确定流失: first without a reason, then with one; the customer is lost.
    in_browser_at("loss_confirm", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("li", PW).await?;
        b.wait_for_path("/").await?;
        b.goto(&record).await?;
        b.has_loss_status("暂缓流失").await?;
        b.fill(Locator::Id("f-detail"), DETAIL).await?;
        b.click(Locator::Id("confirm-loss")).await?;
        let error = b
            .wait_for(Locator::Id("f-reason-error"))
            .await?
            .text()
            .await?;
        ensure!(error.contains("必填"), "the reason's error: {error}");
        b.photograph("loss-confirm-error").await?;
        let kept = b.find(Locator::Id("f-detail")).await?.prop("value").await?;
        ensure!(
            kept.as_deref() == Some(DETAIL),
            "the detail after the error: {kept:?}"
        );
        b.has_loss_status("暂缓流失").await?;

        b.wait_for(Locator::Id("f-reason"))
            .await?
            .select_by_value("price")
            .await?;
        b.click(Locator::Id("confirm-loss")).await?;
        b.wait_for_path(&record).await?;
        b.has_loss_status("确定流失").await?;
        for form in ["measure-form", "confirm-form"] {
            ensure!(
                b.client.find(Locator::Id(form)).await.is_err(),
                "a confirmed loss still offers #{form}"
            );
        }
        let reason = b.text(Locator::Id("loss-reason")).await?;
        ensure!(
            reason.contains("价格原因") && reason.contains(DETAIL),
            "the reason shown: {reason}"
        );
        let measures = b.text(Locator::Id("measure-log")).await?;
        ensure!(measures.contains(MEASURE), "the measures kept: {measures}");
        b.fits_the_screen("the confirmed loss record").await?;
        b.photograph("loss-record-confirmed").await?;

        // The customer's page: 已流失, and the loss record with its measure and reason.
        b.click(Locator::Id("loss-customer")).await?;
        b.wait_for_path(&format!("/customers/{at_risk}")).await?;
        b.eventually(
            "the customer shown as lost",
            |t: &String| t.contains(AT_RISK) && t.contains("已流失"),
            async || b.text(Locator::Id("customer-name")).await,
        )
        .await?;
        let panel = b.text(Locator::Id("loss")).await?;
        ensure!(
            panel.contains("流失记录")
                && panel.contains("确定流失")
                && panel.contains("价格原因")
                && panel.contains(MEASURE),
            "the customer's loss panel: {panel}"
        );
        b.fits_the_screen("the customer page").await?;
        b.photograph("loss-customer").await?;

        // The other customer is as they were.
        b.goto(&format!("/customers/{active}")).await?;
        let name = b
            .wait_for(Locator::Id("customer-name"))
            .await?
            .text()
            .await?;
        ensure!(
            name.contains(ACTIVE) && name.contains("正常"),
            "the customer who ordered: {name}"
        );
        ensure!(
            b.client.find(Locator::Id("loss")).await.is_err(),
            "a customer without a loss record shows a loss panel"
        );

        // The record's history names the manager.
        b.goto(&record).await?;
        let history = b.text(Locator::Id("history")).await?;
        ensure!(
            history.contains("客户经理：测试 li"),
            "the manager in the record's history: {history}"
        );

        // None of the manager's customers is at risk any more.
        b.goto("/").await?;
        b.at_risk_panel_says(&["目前没有流失风险的客户"], &[AT_RISK])
            .await
    })
    .await;

    // The administrator sees every manager's: the other two are still at risk.
    in_browser_at("loss_admin_home", &app, DESKTOP, async |b: &Browser| {
        b.sign_in_as_admin().await?;
        b.at_risk_panel_says(&["2 位客户有流失风险", OTHERS[0], OTHERS[1]], &[AT_RISK])
            .await
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Steps of this story (the shared ones are in common/browser.rs)

impl Browser {
    async fn has_loss_status(&self, label: &str) -> anyhow::Result<()> {
        self.eventually(
            &format!("the status {label}"),
            |t: &String| t == label,
            async || self.text(Locator::Id("loss-status")).await,
        )
        .await
    }

    /// Waits until the home page's at-risk panel says each of `says` and none of `not`.
    async fn at_risk_panel_says(&self, says: &[&str], not: &[&str]) -> anyhow::Result<()> {
        self.eventually(
            &format!("the at-risk panel saying {says:?}, not {not:?}"),
            |t: &String| {
                t.contains("流失风险")
                    && says.iter().all(|s| t.contains(s))
                    && !not.iter().any(|s| t.contains(s))
            },
            async || self.text(Locator::Css("section#loss-at-risk")).await,
        )
        .await
    }
}
