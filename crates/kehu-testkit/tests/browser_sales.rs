//! 营销管理 in headless Chromium, across two users each in their own browser: the sales
//! supervisor records a lead and assigns it; the account manager finds it under "mine", plans,
//! records a result and closes it as won, and the new customer is in the manager's customer
//! list; a card dragged on the pipeline board onto "won" closes its opportunity. The board and
//! an opportunity's page are photographed at desktop and phone size
//! (`target/tmp/screenshots/{desktop,phone}/sales-*.png`) and must not scroll sideways (the
//! board's columns scroll inside it on a phone, by design).
//!
//! Like browser.rs: each test starts its own app (SQLite), `chromedriver` on a port the system
//! picks and Chromium with a fresh profile; `KEHU_CHROMEDRIVER` / `KEHU_CHROMIUM` name them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use kehu_testkit::{TestApp, TestBackend};
use serde_json::json;

const STEP_TIMEOUT: Duration = Duration::from_secs(15);
const DESKTOP: (u32, u32) = (1280, 800);
const PHONE: (u32, u32) = (390, 844);
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
    in_browser("sales_supervisor", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("zhou").await?;
        page = b.new_opportunity("华强电子采购意向", "华强电子").await?;
        b.assign_to("测试 li").await?;
        b.new_opportunity("深圳展会线索", "鹏城科技").await?;
        b.assign_to("测试 li").await?;
        Ok(())
    })
    .await;

    in_browser("sales_manager", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("li").await?;
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
        b.fits_the_screen("the opportunity page", true).await?;
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
        b.fits_the_screen("the board", true).await?;
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
    in_browser("sales_phone", &app, PHONE, async |b: &Browser| {
        b.sign_in("li").await?;
        b.goto("/pipeline").await?;
        b.wait_for(Locator::Id("board")).await?;
        b.fits_the_screen("the board", false).await?;
        b.photograph("sales-board").await?;
        b.goto(&page).await?;
        b.wait_for(Locator::Id("plan")).await?;
        b.fits_the_screen("the opportunity page", true).await?;
        b.photograph("sales-opportunity").await?;
        b.goto("/opportunities").await?;
        b.wait_for(Locator::Id("opportunities")).await?;
        b.fits_the_screen("the opportunity list", true).await?;
        b.photograph("sales-list").await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_card_may_only_be_dragged_onto_the_columns_it_may_move_to() {
    let app = app_with_sales().await;
    app.create_user("zhou", "sales_supervisor", PW).await;
    in_browser("sales_drag", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("zhou").await?;
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
// The browser

/// A WebDriver session on one app, with the steps the stories share.
struct Browser {
    client: Client,
    base: String,
    size: (u32, u32),
    /// How much taller the window is than the page in it.
    frame: u32,
}

impl Browser {
    async fn goto(&self, path: &str) -> anyhow::Result<()> {
        let url = format!("{}{path}", self.base);
        self.client
            .goto(&url)
            .await
            .with_context(|| format!("opening {path}"))
    }

    async fn find(&self, locator: Locator<'_>) -> anyhow::Result<fantoccini::elements::Element> {
        let found = self.client.find(locator).await;
        found.with_context(|| format!("finding {locator:?}"))
    }

    async fn wait_for(
        &self,
        locator: Locator<'_>,
    ) -> anyhow::Result<fantoccini::elements::Element> {
        let waited = self.client.wait().at_most(STEP_TIMEOUT);
        let found = waited.for_element(locator).await;
        found.with_context(|| format!("waiting for {locator:?}"))
    }

    async fn click(&self, locator: Locator<'_>) -> anyhow::Result<()> {
        let e = self.wait_for(locator).await?;
        e.click()
            .await
            .with_context(|| format!("clicking {locator:?}"))
    }

    async fn fill(&self, locator: Locator<'_>, text: &str) -> anyhow::Result<()> {
        let field = self.wait_for(locator).await?;
        field.clear().await?;
        field
            .send_keys(text)
            .await
            .with_context(|| format!("typing into {locator:?}"))
    }

    async fn text(&self, locator: Locator<'_>) -> anyhow::Result<String> {
        Ok(self.find(locator).await?.text().await?)
    }

    /// Asks `probe` until it answers what is `wanted`; fails with what it saw last.
    async fn eventually<T: std::fmt::Debug>(
        &self,
        what: &str,
        wanted: impl Fn(&T) -> bool,
        probe: impl AsyncFn() -> anyhow::Result<T>,
    ) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            let seen = probe().await;
            if seen.as_ref().is_ok_and(&wanted) {
                return Ok(());
            }
            if start.elapsed() > STEP_TIMEOUT {
                match seen {
                    Ok(seen) => bail!("expected {what}, saw {seen:?}"),
                    Err(e) => return Err(e.context(format!("expected {what}"))),
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_for_path(&self, path: &str) -> anyhow::Result<()> {
        self.eventually(
            &format!("to be on {path}"),
            |seen: &String| seen == path,
            async || Ok(self.client.current_url().await?.path().to_owned()),
        )
        .await
    }

    async fn sign_in(&self, username: &str) -> anyhow::Result<()> {
        self.goto("/login").await?;
        self.fill(Locator::Css("input[name=username]"), username)
            .await?;
        self.fill(Locator::Css("input[name=password]"), PW).await?;
        self.click(Locator::Css("form[action='/login'] button[type=submit]"))
            .await?;
        self.wait_for_path("/").await
    }

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

    /// Drags element `from` onto element `to` as a person would with a mouse: WebDriver's
    /// pointer actions do not start HTML drag and drop in Chromium, so the page gets the drag
    /// events a browser sends (dragstart, dragover, drop, dragend) with one DataTransfer.
    async fn drag(&self, from: &str, to: &str) -> anyhow::Result<()> {
        self.client
            .execute(
                "const [from, to] = [document.getElementById(arguments[0]),
                                     document.getElementById(arguments[1])];
                 const dt = new DataTransfer();
                 const fire = (el, type) => el.dispatchEvent(
                   new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
                 fire(from, 'dragstart');
                 fire(to, 'dragenter');
                 fire(to, 'dragover');
                 fire(to, 'drop');
                 fire(from, 'dragend');",
                vec![json!(from), json!(to)],
            )
            .await
            .with_context(|| format!("dragging #{from} onto #{to}"))?;
        Ok(())
    }

    /// Fails when the page is wider than the window; with `inside`, also when something in
    /// it scrolls sideways (the board's columns do on a phone, by design).
    async fn fits_the_screen(&self, page: &str, inside: bool) -> anyhow::Result<()> {
        let seen = self
            .client
            .execute(
                "const wide = [...document.querySelectorAll('main *')]
                   .filter((e) => e.clientWidth > 1 && e.scrollWidth > e.clientWidth + 1
                     && getComputedStyle(e).overflowX !== 'visible')
                   .map((e) => e.tagName + '.' + e.className);
                 return [window.innerWidth, document.documentElement.scrollWidth, wide];",
                vec![],
            )
            .await?;
        let inner = seen[0].as_u64().unwrap_or(0);
        let width = seen[1].as_u64().unwrap_or(u64::MAX);
        ensure!(
            inner == u64::from(self.size.0),
            "the window is {inner}px wide"
        );
        ensure!(width <= inner, "{page} is {width}px wide in {inner}px");
        if inside {
            let wide = seen[2].as_array().map_or(0, Vec::len);
            ensure!(wide == 0, "{page}: these scroll sideways: {}", seen[2]);
        }
        Ok(())
    }

    /// Saves the whole page as `target/tmp/screenshots/<desktop|phone>/<name>.png`.
    async fn photograph(&self, name: &str) -> anyhow::Result<()> {
        let (w, h) = self.size;
        let height = self
            .client
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await?
            .as_u64()
            .and_then(|x| u32::try_from(x).ok())
            .unwrap_or(h)
            .clamp(h, 4000);
        self.client.set_window_size(w, height + self.frame).await?;
        let png = self.client.screenshot().await?;
        self.client.set_window_size(w, h + self.frame).await?;
        let label = if w < 700 { "phone" } else { "desktop" };
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("screenshots")
            .join(label);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{name}.png")), png)?;
        Ok(())
    }
}

/// Runs `story` in a fresh browser of `size` on `app`; on failure saves a screenshot and the
/// page source, and always ends the browser.
async fn in_browser(
    name: &str,
    app: &TestApp,
    size: (u32, u32),
    story: impl AsyncFnOnce(&Browser) -> anyhow::Result<()>,
) {
    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().expect("a temp dir for the browser profile");
    let client = driver.session(profile.path()).await;
    client
        .set_window_size(size.0, size.1)
        .await
        .expect("sizing");
    let frame = client
        .execute("return window.outerHeight - window.innerHeight;", vec![])
        .await
        .expect("measuring the window")
        .as_u64()
        .and_then(|f| u32::try_from(f).ok())
        .unwrap_or(0);
    client
        .set_window_size(size.0, size.1 + frame)
        .await
        .expect("sizing");
    let browser = Browser {
        client,
        base: app.url(""),
        size,
        frame,
    };
    let outcome = story(&browser).await;
    let mut note = String::new();
    if outcome.is_err() {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-failures");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = browser.client.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
        if let Ok(html) = browser.client.source().await {
            let _ = std::fs::write(dir.join(format!("{name}.html")), html);
        }
        let url = browser.client.current_url().await.map(|u| u.to_string());
        note = format!("\n  page: {url:?}\n  evidence: {}/{name}.*", dir.display());
    }
    let _ = browser.client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("browser story {name} failed: {e:#}{note}");
    }
}

/// A `chromedriver` child on a port the system picks; killed with its browsers on drop.
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        let binary =
            std::env::var("KEHU_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let mut child = Command::new(&binary)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start chromedriver at {binary}: {e}"));
        let stdout = child.stdout.take().expect("chromedriver's stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                let (_, rest) = line.split_once("started successfully on port ")?;
                rest.trim_end_matches('.').trim().parse().ok()
            })
            .unwrap_or_else(|| panic!("chromedriver ({binary}) did not start"));
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        ChromeDriver { child, port }
    }

    async fn session(&self, profile: &std::path::Path) -> Client {
        let chromium =
            std::env::var("KEHU_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ]
        .map(str::to_owned)
        .to_vec();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": args,
                "prefs": { "intl.accept_languages": "zh-CN,zh" },
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session ({chromium}): {e}"))
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
