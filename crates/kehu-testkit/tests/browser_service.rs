//! 服务管理 in headless Chromium, a complaint from the call to the archive across three users,
//! each in their own browser: the account manager records a key account's complaint from the
//! customer's page; the supervisor assigns it in 服务分配; the handler sees the bell, opens the
//! notice, judges it, names the department, the cause and a resolution; the supervisor
//! approves; the handler carries it out, sums it up and hands in the handling; the account
//! manager records the customer's satisfaction and it is archived, read-only. The service page
//! and the list are photographed at desktop and phone size
//! (`target/tmp/screenshots/{desktop,phone}/service-*.png`) and must not scroll sideways.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use anyhow::ensure;
use common::browser::{Browser, DESKTOP, PHONE, in_browser_at};
use fantoccini::Locator;
use kehu_testkit::json::call;
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, TestBackend};
use serde_json::json;

const PW: &str = "lang-genug-123";

async fn app_with_service() -> TestApp {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_service::module());
    let modules = kehu_web::Modules::new(modules).expect("modules that fit together");
    kehu_testkit::spawn_app_with_modules(TestBackend::Sqlite, modules).await
}

#[tokio::test]
async fn a_complaint_goes_from_the_call_to_the_archive() {
    let app = app_with_service().await;
    app.create_user("zhou", "sales_supervisor", PW).await;
    app.create_user("li", "account_manager", PW).await;
    app.create_user("zhao", "account_manager", PW).await;
    let li = app.token_for("li").await;
    let (s, c) = call(
        &app,
        &li,
        Method::POST,
        "/api/v1/customers",
        Some(json!({"name": "华强电子", "level": "key_account"})),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let customer = c["id"].as_i64().unwrap();

    // 服务创建, from the customer's page.
    let mut page = String::new();
    in_browser_at("service_manager", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("li", PW).await?;
        b.wait_for_path("/").await?;
        b.goto(&format!("/customers/{customer}")).await?;
        b.click(Locator::Id("new-customer-service")).await?;
        b.wait_for(Locator::Id("service-customer")).await?;
        b.wait_for(Locator::Id("f-type"))
            .await?
            .select_by_label("投诉")
            .await?;
        b.fill(Locator::Id("f-title"), "货物破损").await?;
        b.fill(Locator::Id("f-request"), "收到的货物外包装破损，要求换货")
            .await?;
        b.click(Locator::Id("save-service")).await?;
        b.has_service_status("新创建").await?;
        page = b.client.current_url().await?.path().to_owned();
        Ok(())
    })
    .await;

    // 服务分配.
    in_browser_at("service_supervisor", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("zhou", PW).await?;
        b.wait_for_path("/").await?;
        b.goto("/services?stage=assign").await?;
        b.click(Locator::Css("#services tbody a[href^='/services/']"))
            .await?;
        b.wait_for_path(&page).await?;
        b.wait_for(Locator::Id("f-assignee_id"))
            .await?
            .select_by_label("测试 zhao")
            .await?;
        b.click(Locator::Id("assign-service")).await?;
        b.has_service_status("已分配").await
    })
    .await;

    // The handler: the bell, the notice, the first steps.
    in_browser_at("service_handler", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("zhao", PW).await?;
        b.wait_for_path("/").await?;
        let badge = b.text(Locator::Id("notices-badge")).await?;
        ensure!(badge == "1", "the bell says {badge}");
        b.click(Locator::Id("notices-bell")).await?;
        b.click(Locator::Css("#notices a")).await?;
        b.wait_for_path(&page).await?;
        b.step(Some("accepted-yes"), "属实：外包装破损有照片")
            .await?;
        b.step(None, "物流部").await?;
        b.step(None, "承运商野蛮装卸").await?;
        b.step(None, "补发新货，运费由我方承担").await?;
        b.wait_for(Locator::Id("waiting-approval")).await?;
        Ok(())
    })
    .await;

    in_browser_at("service_approval", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("zhou", PW).await?;
        b.wait_for_path("/").await?;
        b.goto(&page).await?;
        b.step(Some("accepted-yes"), "同意补发").await
    })
    .await;

    in_browser_at("service_handling", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("zhao", PW).await?;
        b.wait_for_path("/").await?;
        b.goto(&page).await?;
        b.step(None, "已补发；承运商按合同赔付").await?;
        b.step(None, "加固包装，更换承运商").await?;
        b.fill(Locator::Id("f-handling"), "已补发新货并致歉")
            .await?;
        b.click(Locator::Id("handle-service")).await?;
        b.has_service_status("已处理").await
    })
    .await;

    // 服务反馈 → 服务归档.
    in_browser_at("service_feedback", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("li", PW).await?;
        b.wait_for_path("/").await?;
        b.goto(&page).await?;
        // A missing satisfaction is the form's own error.
        b.fill(Locator::Id("f-result"), "客户确认收到新货").await?;
        b.click(Locator::Id("record-feedback")).await?;
        b.wait_for(Locator::Id("f-satisfaction-error")).await?;
        b.click(Locator::Id("satisfaction-4")).await?;
        b.click(Locator::Id("record-feedback")).await?;
        b.has_service_status("已归档").await?;
        let actions = b.find(Locator::Id("next-steps")).await;
        ensure!(actions.is_err(), "an archived service offers nothing to do");
        let history = b.text(Locator::Id("history")).await?;
        ensure!(
            history.contains("投诉处理步骤"),
            "the steps in the timeline: {history}"
        );
        b.fits_the_screen("the service page").await?;
        b.photograph("service-page").await?;
        b.goto("/services").await?;
        b.wait_for(Locator::Id("services")).await?;
        b.fits_the_screen("the service list").await?;
        b.photograph("service-list").await?;
        // The 服务管理 menu opens on its stages.
        b.click(Locator::Css(".nav-group summary")).await?;
        let menu = b.text(Locator::Css(".nav-group .nav-menu")).await?;
        ensure!(
            menu.contains("服务反馈") && menu.contains("全部服务"),
            "{menu}"
        );
        b.photograph("service-menu").await?;
        // In English too.
        b.goto(&page).await?;
        b.switch_language().await?;
        b.has_service_status("Archived").await?;
        // Its type by the dictionary's English name.
        let page_text = b.text(Locator::Css("main")).await?;
        ensure!(
            page_text.contains("Complaint") && !page_text.contains("投诉"),
            "{page_text}"
        );
        b.fits_the_screen("the service page in English").await?;
        b.photograph("service-page-en").await?;
        // The choice is the user's: back to Chinese for the next story.
        b.switch_language().await?;
        b.has_service_status("已归档").await
    })
    .await;

    in_browser_at("service_phone", &app, PHONE, async |b: &Browser| {
        b.sign_in("li", PW).await?;
        b.wait_for_path("/").await?;
        b.goto(&page).await?;
        b.has_service_status("已归档").await?;
        b.fits_the_width("the service page").await?;
        b.photograph("service-page").await?;
        b.goto("/services").await?;
        b.wait_for(Locator::Id("services")).await?;
        b.fits_the_width("the service list").await?;
        b.photograph("service-list").await
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Steps of this story (the shared ones are in common/browser.rs)

impl Browser {
    async fn has_service_status(&self, label: &str) -> anyhow::Result<()> {
        self.eventually(
            &format!("the status {label}"),
            |t: &String| t == label,
            async || self.text(Locator::Id("service-status")).await,
        )
        .await
    }

    /// Records the complaint step the page offers: its decision (the radio `decision`) and
    /// `content`; waits until it is listed.
    async fn step(&self, decision: Option<&str>, content: &str) -> anyhow::Result<()> {
        if let Some(id) = decision {
            self.click(Locator::Id(id)).await?;
        }
        self.fill(Locator::Id("f-content"), content).await?;
        self.click(Locator::Id("record-step")).await?;
        self.eventually(
            "the step listed",
            |t: &String| t.contains(content),
            async || self.text(Locator::Id("steps")).await,
        )
        .await
    }
}
