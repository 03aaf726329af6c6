//! 营销管理 in headless Chromium, across two users each in their own browser: the sales
//! supervisor records a lead and assigns it; the account manager finds it under "mine", plans,
//! records a result and closes it as won, and the new customer is in the manager's customer
//! list; a card dragged on the pipeline board onto "won" closes its opportunity. The board and
//! an opportunity's page are photographed at desktop and phone size
//! (`target/tmp/screenshots/{desktop,phone}/sales-*.png`) and must not scroll sideways (the
//! board's columns scroll inside it on a phone, by design).
//!
//! Like browser.rs, and with its kit (common/browser.rs): each test starts its own app (SQLite),
//! `chromedriver` on a port the system picks and Chromium with a fresh profile;
//! `KEHU_CHROMEDRIVER` / `KEHU_CHROMIUM` name them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::time::Duration;

use anyhow::ensure;
use common::browser::{Browser, DESKTOP, PHONE, in_browser_at};
use fantoccini::Locator;
use kehu_testkit::{TestApp, TestBackend};

const PW: &str = "lang-genug-123";

async fn app_with_sales() -> TestApp {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_orders::module());
    modules.push(kehu_sales::module());
    let modules = kehu_web::Modules::new(modules).expect("modules that fit together");
    kehu_testkit::spawn_app_with_modules(TestBackend::Sqlite, modules).await
}

// ---------------------------------------------------------------------------------------------
// Stories

#[tokio::test]
async fn a_lead_assigned_by_the_supervisor_becomes_the_managers_customer() {
    let app = app_with_sales().await;
    app.create_user("zhou", "sales_supervisor", PW).await;
    app.create_user("li", "account_manager", PW).await;

    let mut page = String::new();
    in_browser_at("sales_supervisor", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("zhou", PW).await?;
        b.wait_for_path("/").await?;
        page = b.new_opportunity("华强电子采购意向", "华强电子").await?;
        b.assign_to("测试 li").await?;
        b.new_opportunity("深圳展会线索", "鹏城科技").await?;
        b.assign_to("测试 li").await?;
        Ok(())
    })
    .await;

    in_browser_at("sales_manager", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("li", PW).await?;
        b.wait_for_path("/").await?;
        // "Mine" lists both.
        b.goto("/opportunities").await?;
        b.click(Locator::Id("filter-mine")).await?;
        b.click(Locator::Css("#opportunity-filters button[type=submit]"))
            .await?;
        b.eventually(
            "both opportunities under mine",
            |t: &String| t.contains("华强电子采购意向") && t.contains("深圳展会线索"),
            async || b.text(Locator::Id("opportunities")).await,
        )
        .await?;
        b.click(Locator::LinkText("华强电子采购意向")).await?;
        b.wait_for_path(&page).await?;

        // The plan: two items, the first carried out.
        b.add_plan_item("电话回访采购经理").await?;
        b.add_plan_item("上门演示样机").await?;
        b.has_status("开发中").await?;
        b.fill(
            Locator::Css(".plan-item form textarea"),
            "对方有意向，下周报价",
        )
        .await?;
        b.click(Locator::Css(".plan-item form button[type=submit]"))
            .await?;
        b.eventually(
            "the result recorded",
            |t: &String| t.contains("对方有意向，下周报价"),
            async || b.text(Locator::Id("plan")).await,
        )
        .await?;
        b.fits_the_screen("the opportunity page").await?;
        b.photograph("sales-opportunity").await?;

        // Won: the customer is created and linked, and it is the manager's.
        b.click(Locator::Id("succeed-opportunity")).await?;
        b.has_status("开发成功").await?;
        b.click(Locator::Id("opportunity-customer")).await?;
        b.wait_for(Locator::Css("h1")).await?;
        b.goto("/customers").await?;
        b.eventually(
            "the new customer in the manager's list",
            |t: &String| t.contains("华强电子"),
            async || b.text(Locator::Id("customers")).await,
        )
        .await?;

        // The other one is planned, then dragged on the board onto "won".
        b.goto("/opportunities?mine=1&status=assigned").await?;
        b.click(Locator::LinkText("深圳展会线索")).await?;
        b.add_plan_item("报价").await?;
        let other = b.client.current_url().await?.path().to_owned();
        let id = other.trim_start_matches("/opportunities/").to_owned();
        b.goto("/pipeline").await?;
        b.wait_for(Locator::Id(&format!("card-{id}"))).await?;
        b.fits_the_screen("the board").await?;
        b.photograph("sales-board").await?;
        b.drag(&format!("card-{id}"), "column-success").await?;
        b.wait_for_path(&other).await?;
        b.has_status("开发成功").await?;
        b.goto("/pipeline").await?;
        let won = b.text(Locator::Id("column-success")).await?;
        ensure!(
            won.contains("深圳展会线索") && won.contains("华强电子采购意向"),
            "the won column: {won}"
        );
        Ok(())
    })
    .await;

    // The same pages on a phone: the board's columns scroll inside it, the page does not.
    in_browser_at("sales_phone", &app, PHONE, async |b: &Browser| {
        b.sign_in("li", PW).await?;
        b.wait_for_path("/").await?;
        b.goto("/pipeline").await?;
        b.wait_for(Locator::Id("board")).await?;
        b.fits_the_width("the board").await?;
        b.photograph("sales-board").await?;
        b.goto(&page).await?;
        b.wait_for(Locator::Id("plan")).await?;
        b.fits_the_screen("the opportunity page").await?;
        b.photograph("sales-opportunity").await?;
        b.goto("/opportunities").await?;
        b.wait_for(Locator::Id("opportunities")).await?;
        b.fits_the_screen("the opportunity list").await?;
        b.photograph("sales-list").await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_card_may_only_be_dragged_onto_the_columns_it_may_move_to() {
    let app = app_with_sales().await;
    app.create_user("zhou", "sales_supervisor", PW).await;
    in_browser_at("sales_drag", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("zhou", PW).await?;
        b.wait_for_path("/").await?;
        let page = b.new_opportunity("只能指派", "某公司").await?;
        let id = page.trim_start_matches("/opportunities/").to_owned();
        b.goto("/pipeline").await?;
        let card = format!("card-{id}");
        let moves = b.find(Locator::Id(&card)).await?.attr("data-moves").await?;
        ensure!(moves.as_deref() == Some("assigned"), "moves: {moves:?}");
        // Dropped where it may not go, nothing happens.
        b.drag(&card, "column-success").await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.wait_for_path("/pipeline").await?;
        // Dropped on "assigned", it opens the assignment form.
        b.drag(&card, "column-assigned").await?;
        b.wait_for_path(&page).await?;
        let url = b.client.current_url().await?;
        ensure!(url.fragment() == Some("assign"), "opened {url}");
        b.wait_for(Locator::Id("f-assignee_id")).await?;
        Ok(())
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Steps of these stories (the shared ones are in common/browser.rs)

impl Browser {
    /// Records an opportunity through the form; answers its page's path.
    async fn new_opportunity(&self, title: &str, prospect: &str) -> anyhow::Result<String> {
        self.goto("/opportunities").await?;
        self.click(Locator::Id("new-opportunity")).await?;
        self.fill(Locator::Id("f-title"), title).await?;
        self.fill(Locator::Id("f-prospect_name"), prospect).await?;
        self.wait_for(Locator::Id("f-source"))
            .await?
            .select_by_label("展会")
            .await?;
        self.fill(Locator::Id("f-success_rate"), "60").await?;
        self.fill(Locator::Id("f-expected_amount"), "120000")
            .await?;
        self.fill(Locator::Id("f-contact_name"), "张经理").await?;
        self.click(Locator::Id("save-opportunity")).await?;
        self.has_status("未指派").await?;
        Ok(self.client.current_url().await?.path().to_owned())
    }

    /// Assigns the opportunity shown to the user named `name`.
    async fn assign_to(&self, name: &str) -> anyhow::Result<()> {
        self.wait_for(Locator::Id("f-assignee_id"))
            .await?
            .select_by_label(name)
            .await?;
        self.click(Locator::Id("assign-opportunity")).await?;
        self.has_status("已指派").await
    }

    async fn add_plan_item(&self, todo: &str) -> anyhow::Result<()> {
        self.fill(Locator::Id("f-todo"), todo).await?;
        self.click(Locator::Id("add-plan-item")).await?;
        self.eventually(
            "the plan item listed",
            |t: &String| t.contains(todo),
            async || self.text(Locator::Css("ol.plan")).await,
        )
        .await
    }

    async fn has_status(&self, label: &str) -> anyhow::Result<()> {
        self.eventually(
            &format!("the status {label}"),
            |t: &String| t == label,
            async || self.text(Locator::Id("opportunity-status")).await,
        )
        .await
    }
}
