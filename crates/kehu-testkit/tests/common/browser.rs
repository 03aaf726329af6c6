//! The headless-Chromium kit of the browser stories (browser.rs, browser_sales.rs): a
//! [`Browser`] on one app with the steps stories share, and [`in_browser`] / [`in_browser_at`],
//! which start a `chromedriver` on a port the system picks and a Chromium with a fresh profile
//! for one story, so that tests may run in parallel.
//!
//! Needs `chromedriver` and `chromium` (Debian: `chromium-driver`, `chromium`); their paths come
//! from `KEHU_CHROMEDRIVER` and `KEHU_CHROMIUM`. A missing driver fails the test, it never skips.

#![allow(
    dead_code,
    reason = "a test kit shared by test files; each uses part of it"
)]
#![allow(clippy::expect_used, clippy::panic, reason = "tests")]

use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use kehu_testkit::{ADMIN_PASSWORD, TestApp};
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

/// A laptop's window and a phone's screen (CSS pixels).
pub const DESKTOP: (u32, u32) = (1280, 800);
pub const PHONE: (u32, u32) = (390, 844);

// ---------------------------------------------------------------------------------------------
// The browser

/// A WebDriver session on one app, with the steps the stories share.
pub struct Browser {
    pub client: Client,
    base: String,
    /// The page's width and height (the viewport).
    size: (u32, u32),
    /// How much taller the window is than the page in it.
    frame: u32,
}

impl Browser {
    pub async fn goto(&self, path: &str) -> anyhow::Result<()> {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .with_context(|| format!("opening {path}"))
    }

    pub async fn refresh(&self) -> anyhow::Result<()> {
        self.client.refresh().await.context("reloading the page")
    }

    pub async fn find(
        &self,
        locator: Locator<'_>,
    ) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .find(locator)
            .await
            .with_context(|| format!("finding {locator:?}"))
    }

    /// Waits until `locator` is on the page.
    pub async fn wait_for(
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

    pub async fn click(&self, locator: Locator<'_>) -> anyhow::Result<()> {
        self.wait_for(locator)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking {locator:?}"))
    }

    pub async fn fill(&self, locator: Locator<'_>, text: &str) -> anyhow::Result<()> {
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

    /// The text of what `locator` finds now (without waiting for it).
    pub async fn text(&self, locator: Locator<'_>) -> anyhow::Result<String> {
        self.find(locator)
            .await?
            .text()
            .await
            .with_context(|| format!("reading {locator:?}"))
    }

    /// Asks `probe` what the page shows until it is `wanted`; fails with what it showed last.
    pub async fn eventually<T: std::fmt::Debug>(
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
    pub async fn wait_for_path(&self, path: &str) -> anyhow::Result<()> {
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

    pub async fn wait_for_title_containing(&self, text: &str) -> anyhow::Result<()> {
        let what = format!("a title with {text:?}");
        self.eventually(
            &what,
            |title: &String| title.contains(text),
            async || self.client.title().await.context("reading the title"),
        )
        .await
    }

    pub async fn wait_for_nav_link(&self, text: &str) -> anyhow::Result<()> {
        let what = format!("a navigation link {text:?}");
        self.eventually(
            &what,
            |nav: &Vec<String>| nav.iter().any(|l| l == text),
            async || self.nav_links().await,
        )
        .await
    }

    /// The visible navigation links' texts.
    pub async fn nav_links(&self) -> anyhow::Result<Vec<String>> {
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

    /// Opens the user menu in the header.
    pub async fn open_user_menu(&self) -> anyhow::Result<()> {
        self.click(Locator::Css("#user-menu summary")).await?;
        self.eventually(
            "the user menu to open",
            |shown: &bool| *shown,
            async || {
                Ok(self
                    .find(Locator::Id("menu-profile"))
                    .await?
                    .is_displayed()
                    .await?)
            },
        )
        .await
    }

    /// Signs out through the user menu.
    pub async fn sign_out(&self) -> anyhow::Result<()> {
        self.open_user_menu().await?;
        self.click(Locator::Id("logout")).await?;
        self.wait_for_path("/login").await
    }

    /// Switches the language: in the user menu when signed in, in the header otherwise.
    pub async fn switch_language(&self) -> anyhow::Result<()> {
        if self.client.find(Locator::Id("user-menu")).await.is_ok() {
            self.open_user_menu().await?;
        }
        self.click(Locator::Id("lang-switch")).await
    }

    /// Presses and releases each key in turn, wherever the focus is.
    pub async fn press(&self, keys: &[char]) -> anyhow::Result<()> {
        let mut seq = KeyActions::new("keyboard".into());
        for k in keys {
            seq = seq
                .then(KeyAction::Down { value: *k })
                .then(KeyAction::Up { value: *k });
        }
        self.client
            .perform_actions(seq)
            .await
            .with_context(|| format!("pressing {keys:?}"))
    }

    /// Presses Ctrl with `key`.
    pub async fn press_with_control(&self, key: char) -> anyhow::Result<()> {
        let ctrl: char = Key::Control.into();
        let seq = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: ctrl })
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key })
            .then(KeyAction::Up { value: ctrl });
        self.client
            .perform_actions(seq)
            .await
            .with_context(|| format!("pressing Ctrl+{key}"))
    }

    /// Types `text` into the focused element.
    pub async fn type_keys(&self, text: &str) -> anyhow::Result<()> {
        self.client
            .active_element()
            .await
            .context("finding the focused element")?
            .send_keys(text)
            .await
            .with_context(|| format!("typing {text:?}"))
    }

    pub async fn focused_id(&self) -> anyhow::Result<String> {
        let el = self.client.active_element().await.context("the focus")?;
        Ok(el.attr("id").await?.unwrap_or_default())
    }

    pub async fn focused_tag(&self) -> anyhow::Result<String> {
        let el = self.client.active_element().await.context("the focus")?;
        Ok(el.tag_name().await?.to_lowercase())
    }

    pub async fn wait_for_focus(&self, id: &str) -> anyhow::Result<()> {
        let what = format!("the focus on #{id}");
        self.eventually(
            &what,
            |seen: &String| seen == id,
            async || self.focused_id().await,
        )
        .await
    }

    /// Fails when the page is wider than the window (it would scroll sideways) or a table
    /// or anything else in it scrolls sideways inside it.
    pub async fn fits_the_screen(&self, page: &str) -> anyhow::Result<()> {
        self.fits(page, true).await
    }

    /// Fails when the page is wider than the window; unlike [`Browser::fits_the_screen`], parts
    /// of it may scroll sideways inside it (the pipeline board's columns do on a phone).
    pub async fn fits_the_width(&self, page: &str) -> anyhow::Result<()> {
        self.fits(page, false).await
    }

    /// Fails when the page is wider than the window and, with `inside`, when something in it
    /// scrolls sideways.
    async fn fits(&self, page: &str, inside: bool) -> anyhow::Result<()> {
        let seen = self
            .client
            .execute(
                "const d = document.documentElement;
                 const wide = [...document.querySelectorAll('.table-wrap, main *')]
                   .filter((e) => e.clientWidth > 1 && e.scrollWidth > e.clientWidth + 1
                     && getComputedStyle(e).overflowX !== 'visible'
                     && e.tagName !== 'PRE')
                   .map((e) => e.tagName + '.' + e.className);
                 return [window.innerWidth, d.scrollWidth, wide];",
                vec![],
            )
            .await
            .context("measuring the page")?;
        let inner = seen[0].as_u64().unwrap_or(0);
        let width = seen[1].as_u64().unwrap_or(u64::MAX);
        ensure!(
            inner == u64::from(self.size.0),
            "the window is {inner}px wide, not {}px: the check would prove nothing",
            self.size.0
        );
        ensure!(
            width <= inner,
            "{page} is {width}px wide in a {inner}px window: it scrolls sideways"
        );
        ensure!(
            !inside || seen[2].as_array().is_none_or(Vec::is_empty),
            "{page}: these scroll sideways inside the page: {}",
            seen[2]
        );
        Ok(())
    }

    /// Saves a picture of the whole page (the window is stretched to its height for the
    /// shot) as `target/tmp/screenshots/<size>/<name>.png`, for people to look at and for CI
    /// to keep.
    pub async fn photograph(&self, name: &str) -> anyhow::Result<()> {
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
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        self.client.set_window_size(w, h + self.frame).await?;
        let label = if w < 700 { "phone" } else { "desktop" };
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("screenshots")
            .join(label);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{name}.png")), png)?;
        Ok(())
    }

    /// Drags element `from` onto element `to` (both ids) as a person would with a mouse:
    /// WebDriver's pointer actions do not start HTML drag and drop in Chromium, so the page gets
    /// the drag events a browser sends (dragstart, dragenter, dragover, drop, dragend) with one
    /// DataTransfer.
    pub async fn drag(&self, from: &str, to: &str) -> anyhow::Result<()> {
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

    /// The same browser (session, window and cookies) with paths resolved on `app`.
    pub fn on_app(&self, app: &TestApp) -> Browser {
        Browser {
            client: self.client.clone(),
            base: app.url(""),
            size: self.size,
            frame: self.frame,
        }
    }

    /// Signs in as the administrator and waits for the home page.
    /// The bytes behind a link on the page, fetched by the page itself (its session cookie),
    /// as the browser's download would save them.
    pub async fn download(&self, locator: Locator<'_>) -> anyhow::Result<Vec<u8>> {
        let href = self
            .wait_for(locator)
            .await?
            .attr("href")
            .await?
            .context("the link has no href")?;
        let bytes = self
            .client
            .execute_async(
                "const [href, done] = arguments;
                 fetch(href, {credentials: 'same-origin'})
                   .then((r) => r.ok ? r.arrayBuffer() : Promise.reject(r.status))
                   .then((b) => done(Array.from(new Uint8Array(b))))
                   .catch((e) => done('failed: ' + e));",
                vec![json!(href)],
            )
            .await
            .context("fetching the link")?;
        let bytes = bytes
            .as_array()
            .with_context(|| format!("downloading {href}: {bytes}"))?;
        Ok(bytes
            .iter()
            .filter_map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect())
    }

    /// The page as Chromium prints it on A4 (the print stylesheet applied): the PDF's bytes.
    pub async fn print_pdf(&self) -> anyhow::Result<Vec<u8>> {
        let config = fantoccini::wd::PrintConfiguration::builder()
            .build()
            .map_err(|e| anyhow::anyhow!("an A4 print configuration: {e:?}"))?;
        self.client.print(config).await.context("printing the page")
    }

    pub async fn sign_in_as_admin(&self) -> anyhow::Result<()> {
        self.sign_in("admin", ADMIN_PASSWORD).await?;
        self.wait_for_path("/").await
    }

    /// Sends the sign-in form; waits for nothing after it (a wrong password stays on the form).
    pub async fn sign_in(&self, username: &str, password: &str) -> anyhow::Result<()> {
        self.goto("/login").await?;
        self.fill(Locator::Css("input[name=username]"), username)
            .await?;
        self.fill(Locator::Css("input[name=password]"), password)
            .await?;
        self.click(Locator::Css("form[action='/login'] button[type=submit]"))
            .await
    }
}

/// Runs `story` in a fresh browser on `app`; on failure saves a screenshot and the page source
/// under the target directory, and always ends the browser session.
pub async fn in_browser(
    name: &str,
    app: &TestApp,
    story: impl AsyncFnOnce(&Browser) -> anyhow::Result<()>,
) {
    in_browser_at(name, app, (1280, 900), story).await;
}

/// [`in_browser`] with a window of `size` (width, height), e.g. [`PHONE`].
pub async fn in_browser_at(
    name: &str,
    app: &TestApp,
    size: (u32, u32),
    story: impl AsyncFnOnce(&Browser) -> anyhow::Result<()>,
) {
    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().expect("a temp dir for the browser profile");
    let client = driver.session(profile.path()).await;
    let mut browser = Browser {
        client,
        base: app.url(""),
        size,
        frame: 0,
    };
    browser
        .client
        .set_window_size(size.0, size.1)
        .await
        .expect("sizing the window");
    // The window has a frame even when headless: the page gets `size` once it is added.
    let frame = browser
        .client
        .execute("return window.outerHeight - window.innerHeight;", vec![])
        .await
        .expect("measuring the window")
        .as_u64()
        .and_then(|f| u32::try_from(f).ok())
        .unwrap_or(0);
    browser.frame = frame;
    browser
        .client
        .set_window_size(size.0, size.1 + frame)
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
