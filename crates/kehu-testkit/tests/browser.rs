//! Browser stories in headless Chromium: what a person sees when signing in, managing users and
//! switching the language. Each test starts its own app (SQLite), its own `chromedriver` on a
//! port the system picks and a Chromium with a fresh profile, so the tests may run in parallel.
//!
//! Needs `chromedriver` and `chromium` (Debian: `chromium-driver`, `chromium`); their paths come
//! from `KEHU_CHROMEDRIVER` and `KEHU_CHROMIUM`. A missing driver fails the test, it never skips.

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
use kehu_domain::secrets::hash_password;
use kehu_store::Actor;
use kehu_testkit::{ADMIN_PASSWORD, TestApp, TestBackend, spawn_app};
use serde_json::json;

/// How long one page may take to show what a step waits for.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// Exactly the flags the browser runs with (plus a fresh `--user-data-dir`).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// The links only an administrator's navigation holds.
const ADMIN_ONLY_NAV: &[&str] = &["用户管理", "角色管理", "数据字典", "操作日志"];

// ---------------------------------------------------------------------------------------------
// Stories

#[tokio::test]
async fn first_sign_in_with_a_temporary_password_is_forced_to_change_it() {
    // Arrange: the administrator's password was set by someone else, so it is temporary.
    let app = spawn_app(TestBackend::Sqlite).await;
    let admin = app
        .store
        .users
        .by_username("admin")
        .await
        .unwrap()
        .expect("admin exists");
    let temporary = "temporary-pass-1";
    app.store
        .users
        .set_password(
            admin.id,
            &hash_password(temporary).unwrap(),
            true,
            None,
            &Actor::system(),
        )
        .await
        .unwrap();

    in_browser("first_sign_in", &app, async |b: &Browser| {
        // Act: sign in with the temporary password.
        b.sign_in("admin", temporary).await?;

        // Assert: the profile asks for a new password and nothing else is reachable.
        b.wait_for_path("/profile").await?;
        b.wait_for(Locator::Id("must-change")).await?;
        b.goto("/users").await?;
        b.wait_for_path("/profile").await?;
        b.wait_for(Locator::Id("must-change")).await?;

        // Act: choose a new password.
        b.change_password(temporary, "my-own-pass-42").await?;

        // Assert: home with the full navigation, and the old restriction is gone.
        b.wait_for_path("/").await?;
        b.wait_for_nav_link("首页").await?;
        let nav = b.nav_links().await?;
        ensure!(
            nav.iter().any(|l| l == "用户管理"),
            "users link missing from the navigation: {nav:?}"
        );
        b.goto("/users").await?;
        b.wait_for_path("/users").await?;
        let after = app
            .store
            .users
            .by_username("admin")
            .await?
            .context("admin exists")?;
        ensure!(
            !after.must_change_password,
            "the password change was not recorded"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_administrator_creates_an_account_manager_through_the_user_form() {
    let app = spawn_app(TestBackend::Sqlite).await;

    in_browser("create_user", &app, async |b: &Browser| {
        // Arrange
        b.sign_in_as_admin().await?;

        // Act
        b.create_account_manager("li.na", "李娜", "li.na@example.cn", "initial-pass-7")
            .await?;

        // Assert: the saved user, as the list and the store see it.
        b.goto("/users").await?;
        let row = b
            .wait_for(Locator::XPath("//tr[td/a[text()='li.na']]"))
            .await?;
        let text = row.text().await?;
        ensure!(
            text.contains("李娜") && text.contains("客户经理"),
            "unexpected user row: {text}"
        );
        let user = app
            .store
            .users
            .by_username("li.na")
            .await?
            .context("li.na was not saved")?;
        ensure!(user.role_name == "客户经理", "role is {}", user.role_name);
        ensure!(
            user.email.as_deref() == Some("li.na@example.cn"),
            "email is {:?}",
            user.email
        );
        ensure!(
            user.must_change_password,
            "an administrator-set password must be temporary"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn an_account_manager_sees_only_the_allowed_navigation_and_a_403_page_on_users() {
    let app = spawn_app(TestBackend::Sqlite).await;

    in_browser("account_manager_navigation", &app, async |b: &Browser| {
        // Arrange: the administrator creates the account manager, then signs out.
        b.sign_in_as_admin().await?;
        b.create_account_manager("zhang.wei", "张伟", "", "initial-pass-8")
            .await?;
        b.click(Locator::Id("logout")).await?;
        b.wait_for_path("/login").await?;

        // Act: the new user signs in; the administrator's password is temporary.
        b.sign_in("zhang.wei", "initial-pass-8").await?;
        b.wait_for_path("/profile").await?;
        b.wait_for(Locator::Id("must-change")).await?;
        b.change_password("initial-pass-8", "zhang-own-pass-9")
            .await?;
        b.wait_for_path("/").await?;

        // Assert: only the allowed navigation.
        b.wait_for_nav_link("首页").await?;
        let nav = b.nav_links().await?;
        for forbidden in ADMIN_ONLY_NAV {
            ensure!(
                !nav.iter().any(|l| l == forbidden),
                "{forbidden} shown to an account manager: {nav:?}"
            );
        }

        // Assert: a forbidden URL answers with the 403 page, not a crash.
        b.goto("/users").await?;
        b.wait_for_title_containing("无权访问").await?;
        let status = b
            .wait_for(Locator::Css(".error-page .status"))
            .await?
            .text()
            .await?;
        ensure!(status.trim() == "403", "error page status is {status:?}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_language_switch_changes_the_page_text_and_sticks_after_reload() {
    let app = spawn_app(TestBackend::Sqlite).await;

    in_browser("language_switch", &app, async |b: &Browser| {
        // Arrange: the browser asks for Chinese, the default.
        b.sign_in_as_admin().await?;
        b.wait_for_nav_link("首页").await?;

        // Act + Assert: English, also after a reload.
        b.click(Locator::Id("lang-switch")).await?;
        b.wait_for_nav_link("Home").await?;
        b.refresh().await?;
        b.wait_for_nav_link("Home").await?;
        let lang = b.find(Locator::Css("html")).await?.attr("lang").await?;
        ensure!(lang.as_deref() == Some("en"), "html lang is {lang:?}");

        // Act + Assert: and back to Chinese, also after a reload.
        b.click(Locator::Id("lang-switch")).await?;
        b.wait_for_nav_link("首页").await?;
        b.refresh().await?;
        b.wait_for_nav_link("首页").await?;
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
}

impl Browser {
    async fn goto(&self, path: &str) -> anyhow::Result<()> {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .with_context(|| format!("opening {path}"))
    }

    async fn refresh(&self) -> anyhow::Result<()> {
        self.client.refresh().await.context("reloading the page")
    }

    async fn find(&self, locator: Locator<'_>) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .find(locator)
            .await
            .with_context(|| format!("finding {locator:?}"))
    }

    /// Waits until `locator` is on the page.
    async fn wait_for(
        &self,
        locator: Locator<'_>,
    ) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(STEP_TIMEOUT)
            .for_element(locator)
            .await
            .with_context(|| format!("waiting for {locator:?}"))
    }

    async fn click(&self, locator: Locator<'_>) -> anyhow::Result<()> {
        self.wait_for(locator)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking {locator:?}"))
    }

    async fn fill(&self, locator: Locator<'_>, text: &str) -> anyhow::Result<()> {
        let field = self.wait_for(locator).await?;
        field
            .clear()
            .await
            .with_context(|| format!("clearing {locator:?}"))?;
        field
            .send_keys(text)
            .await
            .with_context(|| format!("typing into {locator:?}"))
    }

    /// Asks `probe` what the page shows until it is `wanted`; fails with what it showed last.
    async fn eventually<T: std::fmt::Debug>(
        &self,
        what: &str,
        wanted: impl Fn(&T) -> bool,
        probe: impl AsyncFn() -> anyhow::Result<T>,
    ) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            // While a page is being replaced, elements just found go stale: look again.
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

    /// Waits until the page's path (without the query) is `path`.
    async fn wait_for_path(&self, path: &str) -> anyhow::Result<()> {
        let what = format!("to be on {path}");
        self.eventually(
            &what,
            |seen: &String| seen == path,
            async || {
                let url = self
                    .client
                    .current_url()
                    .await
                    .context("reading the address")?;
                Ok(url.path().to_owned())
            },
        )
        .await
    }

    async fn wait_for_title_containing(&self, text: &str) -> anyhow::Result<()> {
        let what = format!("a title with {text:?}");
        self.eventually(
            &what,
            |title: &String| title.contains(text),
            async || self.client.title().await.context("reading the title"),
        )
        .await
    }

    async fn wait_for_nav_link(&self, text: &str) -> anyhow::Result<()> {
        let what = format!("a navigation link {text:?}");
        self.eventually(
            &what,
            |nav: &Vec<String>| nav.iter().any(|l| l == text),
            async || self.nav_links().await,
        )
        .await
    }

    /// The visible navigation links' texts.
    async fn nav_links(&self) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        for link in self
            .client
            .find_all(Locator::Css("#nav a"))
            .await
            .context("reading the navigation")?
        {
            if link.is_displayed().await? {
                out.push(link.text().await?.trim().to_owned());
            }
        }
        Ok(out)
    }

    async fn sign_in_as_admin(&self) -> anyhow::Result<()> {
        self.sign_in("admin", ADMIN_PASSWORD).await?;
        self.wait_for_path("/").await
    }

    async fn sign_in(&self, username: &str, password: &str) -> anyhow::Result<()> {
        self.goto("/login").await?;
        self.fill(Locator::Css("input[name=username]"), username)
            .await?;
        self.fill(Locator::Css("input[name=password]"), password)
            .await?;
        self.click(Locator::Css("form[action='/login'] button[type=submit]"))
            .await
    }

    /// Fills and sends the profile's password form (the browser must be on `/profile`).
    async fn change_password(&self, current: &str, new: &str) -> anyhow::Result<()> {
        self.fill(Locator::Css("#password input[name=current]"), current)
            .await?;
        self.fill(Locator::Css("#password input[name=new]"), new)
            .await?;
        self.fill(Locator::Css("#password input[name=confirm]"), new)
            .await?;
        self.click(Locator::Css("#password button[type=submit]"))
            .await
    }

    /// Creates a 客户经理 through the user form, as the signed-in administrator.
    async fn create_account_manager(
        &self,
        username: &str,
        display_name: &str,
        email: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        self.goto("/users").await?;
        self.click(Locator::Id("new-user")).await?;
        self.wait_for_path("/users/new").await?;
        self.fill(Locator::Css("input[name=username]"), username)
            .await?;
        self.fill(Locator::Css("input[name=display_name]"), display_name)
            .await?;
        self.fill(Locator::Css("input[name=email]"), email).await?;
        self.wait_for(Locator::Css("select[name=role_id]"))
            .await?
            .select_by_label("客户经理")
            .await
            .context("choosing the role 客户经理")?;
        self.fill(Locator::Css("input[name=password]"), password)
            .await?;
        self.click(Locator::Css("form[action='/users'] button[type=submit]"))
            .await?;
        // The saved user's page says so.
        self.wait_for(Locator::Css("p.notice[role=status]")).await?;
        let url = self.client.current_url().await?;
        ensure!(
            url.path().starts_with("/users/") && url.path() != "/users/new",
            "saving {username} did not open the user's page: {url}"
        );
        Ok(())
    }
}

/// Runs `story` in a fresh browser on `app`; on failure saves a screenshot and the page source
/// under the target directory, and always ends the browser session.
async fn in_browser(
    name: &str,
    app: &TestApp,
    story: impl AsyncFnOnce(&Browser) -> anyhow::Result<()>,
) {
    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().expect("a temp dir for the browser profile");
    let client = driver.session(profile.path()).await;
    let browser = Browser {
        client,
        base: app.url(""),
    };
    browser
        .client
        .set_window_size(1280, 900)
        .await
        .expect("sizing the window");

    let started = Instant::now();
    let outcome = story(&browser).await;
    let failure_note = match &outcome {
        Ok(()) => String::new(),
        Err(_) => save_evidence(name, &browser.client).await,
    };
    let _ = browser.client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!(
            "browser story {name} failed after {:.1?}: {e:#}{failure_note}",
            started.elapsed()
        );
    }
}

/// Saves a screenshot and the page source of a failed story; returns a note saying where.
async fn save_evidence(name: &str, client: &Client) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-failures");
    if std::fs::create_dir_all(&dir).is_err() {
        return String::new();
    }
    let url = client
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
    if let Ok(html) = client.source().await {
        let _ = std::fs::write(dir.join(format!("{name}.html")), html);
    }
    format!(
        "\n  page: {url}\n  screenshot and source: {}/{name}.{{png,html}}",
        dir.display()
    )
}

// ---------------------------------------------------------------------------------------------
// chromedriver

/// A `chromedriver` child process on its own port; killed (with the browsers it started) on drop.
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    fn binary() -> String {
        std::env::var("KEHU_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
    }

    fn chromium() -> String {
        std::env::var("KEHU_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
    }

    /// Starts chromedriver on a port the system picks (`--port=0`, no race with other tests for
    /// a "free" port) and waits until it says which; fails the test with instructions when it is
    /// not installed.
    fn start() -> ChromeDriver {
        let binary = Self::binary();
        let mut child = Command::new(&binary)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group, so that dropping it also ends the browsers it started.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start chromedriver at {binary}: {e}. Browser tests need Chromium \
                     and its driver: run ./scripts/test.sh (installs Debian's chromium and \
                     chromium-driver as root) or set KEHU_CHROMEDRIVER and KEHU_CHROMIUM."
                )
            });
        let stdout = child.stdout.take().expect("chromedriver's stdout");
        let mut driver = ChromeDriver { child, port: 0 };
        // "ChromeDriver was started successfully on port 40501." once it listens.
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(port) = line
                .split_once("started successfully on port ")
                .and_then(|(_, rest)| rest.trim_end_matches('.').trim().parse().ok())
            {
                driver.port = port;
                break;
            }
            seen.push(line);
        }
        if driver.port == 0 {
            let status = driver.child.wait();
            panic!("chromedriver ({binary}) did not start: {status:?}, said {seen:?}");
        }
        // Keep reading what it prints so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        driver
    }

    /// Opens a WebDriver session in a fresh headless Chromium using `profile`.
    async fn session(&self, profile: &std::path::Path) -> Client {
        let chromium = Self::chromium();
        assert!(
            std::path::Path::new(&chromium).exists(),
            "Chromium not found at {chromium}: install Debian's chromium or set KEHU_CHROMIUM"
        );
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": args,
                // Ask for pages in Chinese like the users do, whatever the machine's locale.
                "prefs": { "intl.accept_languages": "zh-CN,zh" },
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| {
                panic!("cannot open a Chromium session ({chromium}) through chromedriver: {e}")
            })
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // Kill the whole group: chromedriver and any Chromium left behind by a failed session.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
