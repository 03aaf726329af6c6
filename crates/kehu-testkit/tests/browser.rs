//! Browser stories in headless Chromium: what a person sees when signing in, managing users,
//! switching the language and working with customers (form, contacts, an edit conflict, export and
//! import). Each test starts its own app (SQLite), its own `chromedriver` on a
//! port the system picks and a Chromium with a fresh profile, so the tests may run in parallel.
//!
//! The kit that drives the browser is common/browser.rs (shared with browser_sales.rs).
//!
//! Needs `chromedriver` and `chromium` (Debian: `chromium-driver`, `chromium`); their paths come
//! from `KEHU_CHROMEDRIVER` and `KEHU_CHROMIUM`. A missing driver fails the test, it never skips.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use anyhow::{Context, ensure};
use common::browser::{Browser, DESKTOP, PHONE, in_browser, in_browser_at};
use fantoccini::Locator;
use fantoccini::key::Key;
use kehu_domain::secrets::hash_password;
use kehu_store::Actor;
use kehu_store::users::NewUser;
use kehu_testkit::json::call;
use kehu_testkit::reqwest::Method;
use kehu_testkit::{ADMIN_PASSWORD, TestApp, TestBackend, spawn_app};
use serde_json::json;

/// The links only an administrator's navigation holds.
const ADMIN_ONLY_NAV: &[&str] = &["用户管理", "角色管理", "数据字典", "操作日志", "后台任务"];

/// The platform with one scheduled job, for the jobs page's photographs.
fn with_a_job() -> kehu_web::Modules {
    fn nightly(
        _: kehu_web::AppState,
    ) -> kehu_web::module::BoxFuture<'static, anyhow::Result<serde_json::Value>> {
        Box::pin(async { Ok(json!({"scanned": 12000, "warned": 37, "closed": 4})) })
    }
    let mut modules = kehu_web::platform::modules();
    modules.push(
        kehu_web::Module::new("nightly").scheduled(kehu_web::jobs::ScheduledJob {
            name: "loss-scan",
            label: "nav-jobs",
            schedule: "0 2 * * *",
            run: nightly,
        }),
    );
    kehu_web::Modules::new(modules).unwrap()
}

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
        b.sign_out().await?;

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
        b.switch_language().await?;
        b.wait_for_nav_link("Home").await?;
        b.refresh().await?;
        b.wait_for_nav_link("Home").await?;
        let lang = b.find(Locator::Css("html")).await?.attr("lang").await?;
        ensure!(lang.as_deref() == Some("en"), "html lang is {lang:?}");

        // Act + Assert: and back to Chinese, also after a reload.
        b.switch_language().await?;
        b.wait_for_nav_link("首页").await?;
        b.refresh().await?;
        b.wait_for_nav_link("首页").await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn on_a_desktop_slash_focuses_the_header_search_and_the_user_menu_opens() {
    let app = spawn_app(TestBackend::Sqlite).await;
    in_browser_at("frame_desktop", &app, DESKTOP, async |b: &Browser| {
        b.sign_in_as_admin().await?;
        frame_story(b).await
    })
    .await;
}

#[tokio::test]
async fn on_a_phone_slash_focuses_the_header_search_and_the_user_menu_opens() {
    let app = spawn_app(TestBackend::Sqlite).await;
    in_browser_at("frame_phone", &app, PHONE, async |b: &Browser| {
        b.sign_in_as_admin().await?;

        // Assert: the navigation is folded away behind its button, which opens it.
        ensure!(
            b.nav_links().await?.is_empty(),
            "the navigation is open on a phone before its button is pressed"
        );
        b.click(Locator::Css("[data-toggle-nav]")).await?;
        b.wait_for_nav_link("用户管理").await?;
        b.fits_the_screen("/ with the navigation open").await?;
        b.photograph("navigation-open").await?;
        b.click(Locator::Css("[data-toggle-nav]")).await?;

        frame_story(b).await
    })
    .await;
}

/// An account manager types the pinyin initials of a contact's name into the header search and
/// opens the customer from the results (issue 9: find 张三's company by `zs`).
#[tokio::test]
async fn a_manager_finds_a_customer_by_pinyin_initials_in_the_header_search_and_opens_it() {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    let app = kehu_testkit::spawn_app_with_modules(
        TestBackend::Sqlite,
        kehu_web::Modules::new(modules).unwrap(),
    )
    .await;
    app.create_user("li.na", "account_manager", "lang-genug-123")
        .await;
    let li = app.token_for("li.na").await;
    let (s, c) = call(
        &app,
        &li,
        Method::POST,
        "/api/v1/customers",
        Some(json!({"name": "重庆张三火锅"})),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().unwrap();
    in_browser_at("search_pinyin", &app, DESKTOP, async |b: &Browser| {
        b.sign_in("li.na", "lang-genug-123").await?;
        // The home page, not the sign-in form still in the window: a "/" typed there would go
        // into the password field.
        b.wait_for_path("/").await?;
        b.wait_for(Locator::Id("search-q")).await?;

        // Act: the initials of 重庆张三 in the header's box, then Enter.
        b.press(&['/']).await?;
        b.wait_for_focus("search-q").await?;
        b.type_keys("cqzs\u{e007}").await?;

        // Assert: the customers' section links to it; following the link opens it.
        b.wait_for_path("/search").await?;
        let hit = b
            .wait_for(Locator::Css(&format!(
                "#results-customer a[href='/customers/{id}']"
            )))
            .await?;
        ensure!(
            hit.text().await?.contains("重庆张三火锅"),
            "the hit names the customer"
        );
        b.photograph("search-customers").await?;
        hit.click().await.context("opening the hit")?;
        b.wait_for_path(&format!("/customers/{id}")).await?;
        b.wait_for_title_containing("重庆张三火锅").await?;
        Ok(())
    })
    .await;
}

/// The header search and the user menu, as a keyboard user meets them (signed in, at home).
async fn frame_story(b: &Browser) -> anyhow::Result<()> {
    b.fits_the_screen("/").await?;

    // Act + Assert: "/" jumps to the search box; Escape leaves it; Ctrl+K comes back.
    b.press(&['/']).await?;
    b.wait_for_focus("search-q").await?;
    b.press(&[Key::Escape.into()]).await?;
    ensure!(b.focused_id().await? != "search-q", "Escape kept the focus");
    b.press_with_control('k').await?;
    b.wait_for_focus("search-q").await?;

    // Act: search for the administrator by name.
    b.type_keys("系统管理员\u{e007}").await?;

    // Assert: the results page lists the account with a link to it.
    b.wait_for_path("/search").await?;
    let hit = b
        .wait_for(Locator::Css("#results-users a[href^='/users/']"))
        .await?;
    let text = hit.text().await?;
    ensure!(
        text.contains("系统管理员") && text.contains("admin"),
        "result: {text}"
    );
    b.fits_the_screen("/search").await?;

    // Assert: in a field "/" is just a character.
    b.goto("/users/new").await?;
    b.click(Locator::Id("f-username")).await?;
    b.press(&['/']).await?;
    b.wait_for_focus("f-username").await?;
    let typed = b
        .find(Locator::Id("f-username"))
        .await?
        .prop("value")
        .await?;
    ensure!(typed.as_deref() == Some("/"), "the field holds {typed:?}");

    // Act + Assert: the user menu opens with profile, language and sign-out, and Escape
    // closes it, back on its button.
    b.open_user_menu().await?;
    for id in ["menu-profile", "lang-switch", "logout"] {
        ensure!(
            b.find(Locator::Id(id)).await?.is_displayed().await?,
            "{id} is not shown in the open user menu"
        );
    }
    b.fits_the_screen("/users/new with the user menu open")
        .await?;
    b.photograph("user-menu").await?;
    b.press(&[Key::Escape.into()]).await?;
    ensure!(
        !b.find(Locator::Id("menu-profile"))
            .await?
            .is_displayed()
            .await?,
        "Escape left the user menu open"
    );
    ensure!(
        b.focused_tag().await? == "summary",
        "the focus did not return to the menu button"
    );

    // Act + Assert: the profile entry leads to the profile.
    b.open_user_menu().await?;
    b.click(Locator::Id("menu-profile")).await?;
    b.wait_for_path("/profile").await?;

    // Assert: sending a form disables its button until the page is left, and coming back to
    // the page (from the browser's cache) enables it again.
    let states = b
        .client
        .execute(
            "const form = document.getElementById('password');
             const button = form.querySelector('button[type=submit]');
             // After the page's own handler (window hears the event last): stay on the page.
             window.addEventListener('submit', (e) => e.preventDefault());
             form.requestSubmit();
             await new Promise((r) => setTimeout(r, 50));
             const sending = button.disabled;
             window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
             return [sending, button.disabled];",
            vec![],
        )
        .await?;
    ensure!(
        states == json!([true, false]),
        "Save while sending, then back: {states}"
    );
    Ok(())
}

#[tokio::test]
async fn the_rights_grid_selects_a_whole_group_and_shows_a_partly_chosen_one() {
    let app = spawn_app(TestBackend::Sqlite).await;
    in_browser("rights_grid", &app, async |b: &Browser| {
        // Arrange
        b.sign_in_as_admin().await?;
        b.goto("/roles/new").await?;
        let group = "//fieldset[@data-rights-group][.//input[@value='customer.read']]";
        let all = format!("{group}//input[@data-group-all]");
        let boxes = format!("{group}//input[@name='rights']");

        // Act: select the whole customers group.
        b.click(Locator::XPath(&all)).await?;

        // Assert: every box of the group is ticked, none elsewhere.
        for el in b.client.find_all(Locator::XPath(&boxes)).await? {
            ensure!(el.is_selected().await?, "a customer right stayed unticked");
        }
        let ticked = b.client.find_all(Locator::Css("input[name=rights]:checked")).await?;
        let in_group = b.client.find_all(Locator::XPath(&boxes)).await?;
        ensure!(ticked.len() == in_group.len(), "rights outside the group were ticked");

        // Act: untick one; Assert: the group box shows "partly".
        b.click(Locator::XPath(&format!("{group}//label[.//input[@value='customer.delete']]")))
            .await?;
        let state = b
            .client
            .execute(
                "const all = document.evaluate(arguments[0], document, null, 9, null).singleNodeValue;
                 return [all.checked, all.indeterminate];",
                vec![json!(all)],
            )
            .await?;
        ensure!(state == json!([false, true]), "group box after unticking one: {state}");

        // Assert: the label shows the right's name; its code is in the tooltip.
        let label = b
            .find(Locator::XPath(&format!("{group}//label[.//input[@value='customer.read']]")))
            .await?;
        ensure!(label.text().await?.trim() == "查看客户", "label {:?}", label.text().await?);
        ensure!(label.attr("title").await?.as_deref() == Some("customer.read"), "no code tooltip");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn on_a_desktop_a_version_conflict_keeps_the_edits_and_saves_them_after_confirming() {
    let app = spawn_app(TestBackend::Sqlite).await;
    in_browser_at("conflict_desktop", &app, DESKTOP, async |b: &Browser| {
        conflict_story(b, &app).await
    })
    .await;
}

#[tokio::test]
async fn on_a_phone_a_version_conflict_keeps_the_edits_and_saves_them_after_confirming() {
    let app = spawn_app(TestBackend::Sqlite).await;
    in_browser_at("conflict_phone", &app, PHONE, async |b: &Browser| {
        conflict_story(b, &app).await
    })
    .await;
}

/// 王五, a second administrator, with an API token: the "someone else" of a conflict.
async fn wang_wu(app: &TestApp) -> anyhow::Result<String> {
    let admin = app
        .store
        .roles
        .by_code("admin")
        .await?
        .context("admin role")?;
    let new = NewUser {
        username: "wang.wu".into(),
        display_name: "王五".into(),
        email: None,
        role_id: admin.id,
        password_hash: hash_password("wang-wu-pass-2026")?,
        must_change_password: false,
    };
    app.store.users.create(&new, &Actor::system()).await?;
    Ok(app.token_for("wang.wu").await)
}

/// The administrator edits 李娜 while 王五 changes her: the form comes back with the edits,
/// 王五's values beside them and the confirmation; saving without it changes nothing, with it
/// saves. Photographed (the user form, then a role form with its rights summarised).
async fn conflict_story(b: &Browser, app: &TestApp) -> anyhow::Result<()> {
    // Arrange: the administrator opens 李娜's form.
    let id = app
        .create_user("li.na", "account_manager", "li-na-pass-2026")
        .await;
    let executive = app
        .store
        .roles
        .by_code("executive")
        .await?
        .context("executive")?;
    let token = wang_wu(app).await?;
    b.sign_in_as_admin().await?;
    let path = format!("/users/{id}");
    b.goto(&path).await?;
    b.wait_for(Locator::Id("user-form")).await?;

    // Act: 王五 renames her, makes her an executive and disables her (API); the administrator
    // types a new name and an e-mail into the form opened before, and saves.
    let version = app.store.users.get(id).await?.version;
    let (status, body) = call(app, &token, Method::PATCH, &format!("/api/v1/users/{id}"), Some(json!({
        "display_name": "李娜（华东）", "role_id": executive.id, "disabled": true, "version": version,
    })))
    .await;
    ensure!(status == 200, "王五's change: {status} {body}");
    b.fill(Locator::Id("f-display_name"), "李娜娜").await?;
    b.fill(Locator::Id("f-email"), "li.na@example.com").await?;
    b.click(Locator::Css("#user-form button[type=submit]"))
        .await?;

    // Assert: the notice, the user's entries kept, 王五's values beside the fields by label.
    b.shows_conflict_with_wang_wu(
        &[
            ("f-display_name", "李娜娜"),
            ("f-email", "li.na@example.com"),
        ],
        &[
            ("display_name", "王五保存的值：李娜（华东）"),
            ("role_id", "王五保存的值：高管"),
            ("disabled", "王五保存的值：已停用"),
            ("email", "王五保存的值：（空）"),
        ],
    )
    .await?;
    ensure!(
        !b.find(Locator::Id("f-overwrite"))
            .await?
            .is_selected()
            .await?,
        "pre-ticked"
    );
    b.fits_the_screen("/users/{id} (conflict)").await?;
    b.photograph("user-conflict").await?;
    let stored = app.store.users.get(id).await?;
    ensure!(
        stored.display_name == "李娜（华东）",
        "overwritten: {}",
        stored.display_name
    );

    // Act + Assert: saving without the tick asks for it and changes nothing.
    b.click(Locator::Css("#user-form button[type=submit]"))
        .await?;
    b.wait_for(Locator::Id("f-overwrite-error")).await?;
    b.wait_for_focus("f-overwrite").await?;
    b.photograph("user-conflict-unconfirmed").await?;
    ensure!(
        app.store.users.get(id).await?.version == stored.version,
        "saved without the tick"
    );

    // Act: tick and save.
    b.click(Locator::Css(".conflict-confirm label.check"))
        .await?;
    ensure!(
        b.find(Locator::Id("f-overwrite"))
            .await?
            .is_selected()
            .await?,
        "not ticked"
    );
    b.click(Locator::Css("#user-form button[type=submit]"))
        .await?;

    // Assert: saved, as the administrator entered it.
    b.wait_for(Locator::Id("flash")).await?;
    b.wait_for_path(&path).await?;
    ensure!(
        b.client.find(Locator::Id("conflict")).await.is_err(),
        "the notice stayed"
    );
    let saved = app.store.users.get(id).await?;
    ensure!(
        (
            saved.display_name.as_str(),
            saved.email.as_deref(),
            saved.role_name.as_str(),
            saved.disabled
        ) == ("李娜娜", Some("li.na@example.com"), "客户经理", false),
        "stored: {saved:?}"
    );

    // The role form: the other rights summarised by label, photographed.
    let role = app
        .store
        .roles
        .by_code("account_manager")
        .await?
        .context("role")?;
    b.goto(&format!("/roles/{}", role.id)).await?;
    b.wait_for(Locator::Id("role-form")).await?;
    let detail = app.store.roles.get(role.id).await?;
    let mut rights = detail.rights.clone();
    rights.retain(|r| r != "loss.handle" && r != "plan.write");
    rights.push("customer.export".to_owned());
    let (status, body) = call(
        app,
        &token,
        Method::PATCH,
        &format!("/api/v1/roles/{}", role.id),
        Some(json!({
            "description": "华东区客户经理", "rights": rights, "version": detail.role.version,
        })),
    )
    .await;
    ensure!(status == 200, "王五's role change: {status} {body}");
    b.fill(Locator::Id("f-name"), "客户经理（华东）").await?;
    b.click(Locator::Css("#role-form button[type=submit]"))
        .await?;
    let text = b
        .wait_for(Locator::Id("f-rights-theirs"))
        .await?
        .text()
        .await?;
    ensure!(
        text == "王五保存的值：另有 导出客户；没有 处理流失（暂缓/确定）、制定与执行开发计划",
        "rights: {text}"
    );
    b.fits_the_screen("/roles/{id} (conflict)").await?;
    b.photograph("role-conflict").await?;
    Ok(())
}

#[tokio::test]
async fn reloading_the_profile_after_creating_a_token_issues_no_second_one_and_hides_the_secret() {
    let app = spawn_app(TestBackend::Sqlite).await;
    let admin = app
        .store
        .users
        .by_username("admin")
        .await
        .unwrap()
        .expect("admin");
    in_browser("token_reload", &app, async |b: &Browser| {
        // Arrange
        b.sign_in_as_admin().await?;
        b.goto("/profile").await?;
        let before = app.tokens_of(admin.id).await.len();

        // Act: issue a token.
        b.fill(Locator::Css("#token-form input[name=name]"), "报表同步")
            .await?;
        b.click(Locator::Css("#token-form button[type=submit]"))
            .await?;

        // Assert: the secret is shown once, on the profile page reached by a redirect.
        let secret = b.wait_for(Locator::Id("new-token")).await?.text().await?;
        ensure!(secret.trim().len() > 20, "secret {secret:?}");
        b.wait_for_path("/profile").await?;
        ensure!(
            app.tokens_of(admin.id).await.len() == before + 1,
            "no token issued"
        );

        // Act: reload the page (marked, so the test knows it really was reloaded).
        b.client
            .execute("window.kehuBeforeReload = true;", vec![])
            .await?;
        b.refresh().await?;
        b.wait_for(Locator::Id("token-form")).await?;

        // Assert: a fresh page, no second token, the secret not shown again.
        let marked = b
            .client
            .execute("return window.kehuBeforeReload === true;", vec![])
            .await?;
        ensure!(marked == json!(false), "the page was not reloaded");
        ensure!(
            app.tokens_of(admin.id).await.len() == before + 1,
            "the reload issued a token"
        );
        ensure!(
            b.client.find(Locator::Id("new-token")).await.is_err(),
            "the secret is shown again"
        );
        let html = b.client.source().await?;
        ensure!(
            !html.contains(secret.trim()),
            "the secret is in the reloaded page"
        );
        let names = b.find(Locator::Id("tokens")).await?.text().await?;
        ensure!(
            names.matches("报表同步").count() == 1,
            "tokens listed: {names}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn every_page_fits_a_desktop_and_is_photographed() {
    let app = kehu_testkit::spawn_app_with_modules(TestBackend::Sqlite, with_a_job()).await;
    in_browser_at("pages_desktop", &app, DESKTOP, async |b: &Browser| {
        tour(b, &app).await
    })
    .await;
}

#[tokio::test]
async fn every_page_fits_a_phone_without_sideways_scrolling_and_is_photographed() {
    let app = kehu_testkit::spawn_app_with_modules(TestBackend::Sqlite, with_a_job()).await;
    in_browser_at("pages_phone", &app, PHONE, async |b: &Browser| {
        tour(b, &app).await
    })
    .await;
}

/// Opens every page in Chinese: none scrolls sideways; each is photographed (see
/// [`Browser::photograph`]); a 404 keeps the frame.
async fn tour(b: &Browser, app: &TestApp) -> anyhow::Result<()> {
    b.goto("/login").await?;
    b.wait_for(Locator::Id("login-form")).await?;
    b.fits_the_screen("/login").await?;
    b.photograph("login").await?;
    b.sign_in("admin", "not-the-password").await?;
    b.wait_for(Locator::Id("login-error")).await?;
    b.photograph("login-failed").await?;

    b.sign_in_as_admin().await?;
    let admin = app
        .store
        .users
        .by_username("admin")
        .await?
        .context("admin")?;
    let role = app
        .store
        .roles
        .by_code("account_manager")
        .await?
        .context("account manager role")?;
    let entry = app
        .store
        .dictionary
        .list(Some("region"), kehu_store::PageRequest::new(None, Some(1)))
        .await?
        .items
        .into_iter()
        .next()
        .context("a region")?;
    // The users list with a saved filter's chip.
    let input = kehu_store::saved_filters::NewSavedFilter::parse(
        "users",
        "客户经理",
        &format!("role={}", role.id),
    )?;
    app.store
        .saved_filters
        .create(admin.id, &input, &Actor::system())
        .await?;
    let pages = [
        ("home", "/".to_owned()),
        ("users", "/users".to_owned()),
        ("user-new", "/users/new".to_owned()),
        ("user-edit", format!("/users/{}", admin.id)),
        ("roles", "/roles".to_owned()),
        ("role-edit", format!("/roles/{}", role.id)),
        ("role-new", "/roles/new".to_owned()),
        ("dictionary", "/dictionary?kind=region".to_owned()),
        ("dictionary-edit", format!("/dictionary/{}", entry.id)),
        ("dictionary-new", "/dictionary/new?kind=region".to_owned()),
        ("audit", "/audit".to_owned()),
        ("jobs", "/jobs".to_owned()),
        ("profile", "/profile".to_owned()),
        ("search", "/search?q=管理".to_owned()),
        ("search-empty", "/search?q=没有这个".to_owned()),
    ];
    for (name, path) in &pages {
        b.goto(path).await?;
        b.wait_for(Locator::Css("main h1")).await?;
        b.fits_the_screen(path).await?;
        b.photograph(name).await?;
    }

    // The jobs page's button runs the job; its run and figures show.
    b.goto("/jobs").await?;
    b.click(Locator::Id("run-loss-scan")).await?;
    b.wait_for(Locator::Id("ran")).await?;
    let runs = b.text(Locator::Id("runs")).await?;
    ensure!(
        runs.contains("成功") && runs.contains("手动") && runs.contains("12000"),
        "the run is not listed: {runs}"
    );
    b.fits_the_screen("/jobs?ran=loss-scan").await?;
    b.photograph("jobs-ran").await?;

    // A form sent empty: the error summary, red fields, the first one focused.
    b.goto("/users/new").await?;
    b.click(Locator::Css("#user-form button[type=submit]"))
        .await?;
    b.wait_for(Locator::Css("[data-error-summary]")).await?;
    b.wait_for_focus("f-username").await?;
    b.fits_the_screen("/users (errors)").await?;
    b.photograph("user-form-errors").await?;

    // A 404 keeps the frame for a signed-in user.
    b.goto("/no-such-page").await?;
    b.wait_for(Locator::Css(".error-page")).await?;
    b.find(Locator::Id("search-q")).await?;
    b.find(Locator::Id("user-menu")).await?;
    b.fits_the_screen("/no-such-page").await?;
    b.photograph("not-found").await?;

    // The same frame in English.
    b.switch_language().await?;
    b.wait_for(Locator::Css("html[lang=en]")).await?;
    b.goto("/").await?;
    b.wait_for(Locator::Css("main h1")).await?;
    b.fits_the_screen("/ in English").await?;
    b.photograph("home-en").await?;
    Ok(())
}

#[tokio::test]
async fn on_a_desktop_the_users_list_hides_a_column_and_saves_and_applies_a_filter() {
    let app = spawn_app(TestBackend::Sqlite).await;
    in_browser_at("list_tools_desktop", &app, DESKTOP, async |b: &Browser| {
        list_tools_story(b, &app).await
    })
    .await;
}

#[tokio::test]
async fn on_a_phone_the_users_list_hides_a_column_and_saves_and_applies_a_filter() {
    let app = spawn_app(TestBackend::Sqlite).await;
    in_browser_at("list_tools_phone", &app, PHONE, async |b: &Browser| {
        list_tools_story(b, &app).await
    })
    .await;
}

/// The text of the users table's header row and of its body.
async fn users_table(b: &Browser) -> anyhow::Result<(String, String)> {
    let seen = b
        .client
        .execute(
            "const t = document.getElementById('users');
             return [t.tHead.textContent, t.tBodies[0].textContent];",
            vec![],
        )
        .await
        .context("reading the users table")?;
    Ok((
        seen[0].as_str().unwrap_or_default().to_owned(),
        seen[1].as_str().unwrap_or_default().to_owned(),
    ))
}

/// On the users list: hide a column with the chooser, filter by a role and save the filter as
/// 销售, clear the filters, and get the filtered list back from the saved filter's chip.
async fn list_tools_story(b: &Browser, app: &TestApp) -> anyhow::Result<()> {
    app.create_user("li.na", "account_manager", "li-na-pass-2026")
        .await;
    let role = app
        .store
        .roles
        .by_code("account_manager")
        .await?
        .context("account manager role")?;
    b.sign_in_as_admin().await?;
    b.goto("/users").await?;
    b.wait_for(Locator::Id("users")).await?;
    let (head, _) = users_table(b).await?;
    ensure!(
        head.contains("姓名"),
        "the display name column is shown at first: {head}"
    );

    // Act: open the chooser, untick 姓名, apply.
    b.click(Locator::Css("#col-chooser summary")).await?;
    b.wait_for(Locator::Css("#col-chooser[open] input[value=display_name]"))
        .await?;
    b.fits_the_screen("/users with the column chooser open")
        .await?;
    b.photograph("users-columns").await?;
    b.click(Locator::Css("#col-chooser input[value=display_name]"))
        .await?;
    b.click(Locator::Css("#col-chooser button[type=submit]"))
        .await?;

    // Assert: the column is gone, header and cells.
    b.eventually(
        "the users table without 姓名",
        |(head, body): &(String, String)| !head.contains("姓名") && body.contains("li.na"),
        async || users_table(b).await,
    )
    .await?;
    ensure!(
        !users_table(b).await?.1.contains("测试"),
        "no display name cells left"
    );

    // Act: filter by the account manager role, save the filter as 销售.
    b.find(Locator::Css("form.filters select[name=role]"))
        .await?
        .select_by_value(&role.id.to_string())
        .await
        .context("choosing the role")?;
    b.click(Locator::Css("form.filters button[type=submit]"))
        .await?;
    b.eventually(
        "only account managers",
        |(_, body): &(String, String)| body.contains("li.na") && !body.contains("admin"),
        async || users_table(b).await,
    )
    .await?;
    b.click(Locator::Css(".save-filter summary")).await?;
    b.fill(Locator::Id("f-name"), "销售").await?;
    b.click(Locator::Css("#save-filter button[type=submit]"))
        .await?;

    // Assert: the chip is there, marked as the filter shown.
    let chip = b.wait_for(Locator::Css(".chip.active .chip-link")).await?;
    ensure!(chip.text().await? == "销售", "the chip is named 销售");
    b.fits_the_screen("/users with a saved filter").await?;
    b.click(Locator::Css("#col-chooser summary")).await?;
    b.wait_for(Locator::Css("#col-chooser[open]")).await?;
    b.photograph("users-saved-filters").await?;

    // Act: clear the filters, then click the chip.
    b.goto("/users").await?;
    b.eventually(
        "the whole list",
        |(_, body): &(String, String)| body.contains("admin") && body.contains("li.na"),
        async || users_table(b).await,
    )
    .await?;
    ensure!(
        b.client
            .find_all(Locator::Css(".chip.active"))
            .await?
            .is_empty(),
        "no chip is active without the filter"
    );
    b.click(Locator::Css(".chip-link")).await?;

    // Assert: filtered again, the column still hidden, the chip active.
    b.eventually(
        "the saved filter applied",
        |(head, body): &(String, String)| {
            body.contains("li.na") && !body.contains("admin") && !head.contains("姓名")
        },
        async || users_table(b).await,
    )
    .await?;
    b.wait_for(Locator::Css(".chip.active")).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Steps of these stories (the shared ones are in common/browser.rs)

impl Browser {
    /// After a save met 王五's change: the notice names him, the fields with ids `kept` still
    /// hold what was typed, and beside each field of `theirs` his value is shown as given.
    async fn shows_conflict_with_wang_wu(
        &self,
        kept: &[(&str, &str)],
        theirs: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        let notice = self.wait_for(Locator::Id("conflict")).await?.text().await?;
        ensure!(
            notice.contains("此记录已被他人修改") && notice.contains("王五于"),
            "notice: {notice}"
        );
        for (id, typed) in kept {
            let field = self.find(Locator::Id(id)).await?;
            let value = field.prop("value").await?.unwrap_or_default();
            ensure!(
                value == *typed,
                "what was typed into #{id} was lost: {value:?}"
            );
        }
        for (field, shown) in theirs {
            let text = self
                .find(Locator::Id(&format!("f-{field}-theirs")))
                .await?
                .text()
                .await?;
            ensure!(text == *shown, "beside {field}: {text:?}");
        }
        Ok(())
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

// ---------------------------------------------------------------------------------------------
// The customer page (客户 360°)

#[tokio::test]
async fn on_a_desktop_an_interaction_recorded_on_the_customer_page_shows_in_its_timeline() {
    let app = app_with_customers().await;
    in_browser_at(
        "customer_desktop",
        &app,
        (1366, 900),
        async |b: &Browser| interaction_story(b, &app).await,
    )
    .await;
}

#[tokio::test]
async fn on_a_phone_an_interaction_recorded_on_the_customer_page_shows_in_its_timeline() {
    let app = app_with_customers().await;
    in_browser_at("customer_phone", &app, PHONE, async |b: &Browser| {
        interaction_story(b, &app).await
    })
    .await;
}

async fn app_with_customers() -> TestApp {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    let modules = kehu_web::Modules::new(modules).expect("modules that fit together");
    kehu_testkit::spawn_app_with_modules(TestBackend::Sqlite, modules).await
}

/// An account manager opens a customer with contacts and earlier interactions, records a visit
/// with the form on the page and finds it at the top of the timeline; the page fits the
/// screen and is photographed before and after.
async fn interaction_story(b: &Browser, app: &TestApp) -> anyhow::Result<()> {
    app.create_user("li", "account_manager", "lang-genug-123")
        .await;
    let t = app.token_for("li").await;
    let (_, c) = call(app, &t, Method::POST, "/api/v1/customers", Some(json!({
        "name": "广州华强电子有限公司", "region": "440000", "level": "key_account",
        "industry": "manufacturing", "phone": "020-8888 6666", "address": "广州市天河区天河路 385 号",
        "satisfaction": 4, "credit": 5, "tags": ["VIP", "华南"],
    }))).await;
    let id = c["id"].as_i64().context("a customer id")?;
    for (name, primary) in [("张三", true), ("李四", false)] {
        call(app, &t, Method::POST, &format!("/api/v1/customers/{id}/contacts"), Some(json!({
            "name": name, "position": "采购经理", "mobile": "13912345678", "is_primary": primary,
        }))).await;
    }
    for (at, channel, title) in [
        ("2026-11-20T02:00:00Z", "phone", "电话确认需求"),
        ("2026-11-21T07:30:00Z", "email", "发送报价单"),
    ] {
        call(app, &t, Method::POST, &format!("/api/v1/customers/{id}/activities"), Some(json!({
            "at": at, "channel": channel, "title": title, "description": "客户希望下月初交货，数量约 500 台。",
        }))).await;
    }
    let page = format!("/customers/{id}");
    b.sign_in("li", "lang-genug-123").await?;
    b.wait_for_path("/").await?;
    b.goto(&page).await?;
    b.wait_for(Locator::Id("activities")).await?;
    b.fits_the_screen(&page).await?;
    b.photograph("customer_360").await?;

    b.click(Locator::Css(".add-activity > summary")).await?;
    b.wait_for(Locator::Id("f-title")).await?;
    b.find(Locator::Id("f-channel"))
        .await?
        .select_by_value("visit")
        .await
        .context("choosing the channel")?;
    b.fill(Locator::Id("f-place"), "客户工厂").await?;
    b.fill(Locator::Id("f-title"), "上门拜访，签订框架协议")
        .await?;
    b.click(Locator::Css("#activity-form button[type=submit]"))
        .await?;
    b.wait_for_path(&page).await?;
    b.eventually(
        "the new interaction first in the timeline",
        |first: &String| first.contains("上门拜访，签订框架协议") && first.contains("客户工厂"),
        async || {
            let first = b.find(Locator::Css(".timeline .tl-item")).await?;
            Ok(first.text().await?)
        },
    )
    .await?;
    b.fits_the_screen(&page).await?;
    b.photograph("customer_360_recorded").await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Customers: the form, contacts, an edit conflict, export and import

#[tokio::test]
async fn on_a_desktop_a_manager_creates_a_customer_adds_two_contacts_and_moves_the_primary() {
    let app = app_with_customers().await;
    in_browser_at("contacts_desktop", &app, DESKTOP, async |b: &Browser| {
        contacts_story(b, &app).await
    })
    .await;
}

#[tokio::test]
async fn on_a_phone_a_manager_creates_a_customer_adds_two_contacts_and_moves_the_primary() {
    let app = app_with_customers().await;
    in_browser_at("contacts_phone", &app, PHONE, async |b: &Browser| {
        contacts_story(b, &app).await
    })
    .await;
}

/// Signs in as `username` and waits for the home page (not the sign-in form still in the
/// window) before anything else is done.
async fn signed_in(b: &Browser, username: &str, password: &str) -> anyhow::Result<()> {
    b.sign_in(username, password).await?;
    b.wait_for_path("/").await?;
    b.wait_for(Locator::Id("search-q")).await?;
    Ok(())
}

/// The contacts on the customer page: each name and whether it carries the primary badge.
async fn contact_rows(b: &Browser) -> anyhow::Result<Vec<(String, bool)>> {
    let mut rows = Vec::new();
    for row in b
        .client
        .find_all(Locator::Css("#contacts tbody tr:not(.empty)"))
        .await?
    {
        let name = row.find(Locator::Css("td a")).await?.text().await?;
        let primary = !row
            .find_all(Locator::Css(".primary-contact"))
            .await?
            .is_empty();
        rows.push((name.trim().to_owned(), primary));
    }
    rows.sort();
    Ok(rows)
}

/// An account manager creates a customer with the form, adds two contacts on its page (the
/// first as the primary); the page lists both with one primary badge; making the second the
/// primary moves the badge, and the API says the same.
async fn contacts_story(b: &Browser, app: &TestApp) -> anyhow::Result<()> {
    app.create_user("li", "account_manager", "lang-genug-123")
        .await;
    let token = app.token_for("li").await;
    signed_in(b, "li", "lang-genug-123").await?;

    // Act: the new-customer form, reached from the list.
    b.goto("/customers").await?;
    b.click(Locator::Id("new-customer")).await?;
    b.wait_for_path("/customers/new").await?;
    b.fill(Locator::Id("f-name"), "深圳明达科技有限公司")
        .await?;
    b.find(Locator::Id("f-region"))
        .await?
        .select_by_value("440000")
        .await
        .context("choosing the region")?;
    b.find(Locator::Id("f-level"))
        .await?
        .select_by_value("key_account")
        .await
        .context("choosing the level")?;
    b.fill(Locator::Id("f-phone"), "0755-8888 6666").await?;
    b.click(Locator::Css("#customer-form button[type=submit]"))
        .await?;

    // Assert: the new customer's page.
    let mut id = 0;
    b.eventually(
        "the new customer's page",
        |path: &String| {
            path.strip_prefix("/customers/")
                .is_some_and(|rest| rest.parse::<i64>().is_ok())
        },
        async || Ok(b.client.current_url().await?.path().to_owned()),
    )
    .await?;
    let path = b.client.current_url().await?.path().to_owned();
    if let Some(rest) = path.strip_prefix("/customers/") {
        id = rest.parse()?;
    }
    b.wait_for_title_containing("深圳明达科技有限公司").await?;
    b.wait_for(Locator::Id("contacts")).await?;
    let page = format!("/customers/{id}");

    // Act: two contacts through the form on the page, the first ticked as the primary.
    for (name, mobile, primary) in [
        ("张三", "13912345678", true),
        ("李四", "13800138000", false),
    ] {
        b.click(Locator::Css(".add-contact > summary")).await?;
        b.fill(Locator::Css("#contact-form #f-name"), name).await?;
        b.fill(Locator::Css("#contact-form #f-position"), "采购经理")
            .await?;
        b.fill(Locator::Css("#contact-form #f-mobile"), mobile)
            .await?;
        if primary {
            b.click(Locator::Css("#contact-form label.check")).await?;
            ensure!(
                b.find(Locator::Id("f-is_primary"))
                    .await?
                    .is_selected()
                    .await?,
                "the primary box is not ticked"
            );
        }
        b.click(Locator::Css("#contact-form button[type=submit]"))
            .await?;
        b.eventually(
            &format!("{name} in the contacts"),
            |rows: &Vec<(String, bool)>| rows.iter().any(|(n, _)| n == name),
            async || contact_rows(b).await,
        )
        .await?;
        b.wait_for_path(&page).await?;
    }

    // Assert: both listed, 张三 the one primary.
    let want = vec![("张三".to_owned(), true), ("李四".to_owned(), false)];
    ensure!(
        contact_rows(b).await? == want,
        "contacts: {:?}",
        contact_rows(b).await?
    );
    b.fits_the_screen(&page).await?;
    b.photograph("customer_contacts").await?;

    // Act: 李四 becomes the primary, with the button in his row.
    b.click(Locator::XPath(
        "//section[@id='contacts']//tr[td/a[text()='李四']]//form[contains(@action, '/primary')]/button",
    ))
    .await?;

    // Assert: the badge moved; the API agrees.
    let moved = vec![("张三".to_owned(), false), ("李四".to_owned(), true)];
    b.eventually(
        "the primary badge on 李四 alone",
        |rows: &Vec<(String, bool)>| *rows == moved,
        async || contact_rows(b).await,
    )
    .await?;
    let (status, contacts) = call(
        app,
        &token,
        Method::GET,
        &format!("/api/v1/customers/{id}/contacts"),
        None,
    )
    .await;
    ensure!(status == 200, "contacts API: {status} {contacts}");
    let mut primaries: Vec<&str> = contacts["items"]
        .as_array()
        .context("contact items")?
        .iter()
        .filter(|c| c["is_primary"] == json!(true))
        .filter_map(|c| c["name"].as_str())
        .collect();
    primaries.sort_unstable();
    ensure!(
        primaries == ["李四"],
        "primary contacts stored: {primaries:?}"
    );

    // The same pages in English: they fit the screen and are photographed too.
    b.switch_language().await?;
    b.wait_for(Locator::Css("html[lang=en]")).await?;
    for (name, path) in [
        ("customers-en", "/customers".to_owned()),
        ("customer-en", page.clone()),
        ("customer-edit-en", format!("{page}/edit")),
        ("customer-new-en", "/customers/new".to_owned()),
    ] {
        b.goto(&path).await?;
        b.wait_for(Locator::Css("html[lang=en] main h1")).await?;
        b.fits_the_screen(&format!("{path} in English")).await?;
        b.photograph(name).await?;
    }
    Ok(())
}

#[tokio::test]
async fn on_a_desktop_a_customer_edit_conflict_shows_who_changed_what_and_saves_after_confirming() {
    let app = app_with_customers().await;
    in_browser_at(
        "customer_conflict_desktop",
        &app,
        DESKTOP,
        async |b: &Browser| customer_conflict_story(b, &app).await,
    )
    .await;
}

#[tokio::test]
async fn on_a_phone_a_customer_edit_conflict_shows_who_changed_what_and_saves_after_confirming() {
    let app = app_with_customers().await;
    in_browser_at(
        "customer_conflict_phone",
        &app,
        PHONE,
        async |b: &Browser| customer_conflict_story(b, &app).await,
    )
    .await;
}

/// An account manager edits a customer while 王五 (an administrator, through the API) changes
/// it: the form comes back with the manager's entries, 王五's values beside them (dictionary
/// values by their labels) and the notice of who saved when; unconfirmed nothing is saved,
/// confirmed the manager's entries are.
async fn customer_conflict_story(b: &Browser, app: &TestApp) -> anyhow::Result<()> {
    app.create_user("li", "account_manager", "lang-genug-123")
        .await;
    let li = app.token_for("li").await;
    let (status, created) = call(
        app,
        &li,
        Method::POST,
        "/api/v1/customers",
        Some(json!({
            "name": "杭州远景贸易有限公司", "region": "330000", "level": "ordinary",
            "address": "杭州市西湖区文三路 90 号",
        })),
    )
    .await;
    ensure!(status == 201, "creating the customer: {status} {created}");
    let id = created["id"].as_i64().context("a customer id")?;
    let wang = wang_wu(app).await?;
    signed_in(b, "li", "lang-genug-123").await?;
    let edit = format!("/customers/{id}/edit");
    b.goto(&edit).await?;
    b.wait_for_path(&edit).await?;
    b.wait_for(Locator::Id("customer-form")).await?;

    // Act: 王五 renames it, makes it a key account and moves it (API, the version li read);
    // li types another name and address into the form opened before, and saves.
    let path = format!("/api/v1/customers/{id}");
    let (status, body) = call(app, &wang, Method::PATCH, &path, Some(json!({
        "name": "杭州远景贸易集团", "level": "key_account", "address": "杭州市滨江区江南大道 1 号",
        "version": created["version"],
    })))
    .await;
    ensure!(status == 200, "王五's change: {status} {body}");
    b.fill(Locator::Id("f-name"), "杭州远景贸易股份有限公司")
        .await?;
    b.fill(Locator::Id("f-address"), "杭州市西湖区文三路 100 号")
        .await?;
    b.click(Locator::Css("#customer-form button[type=submit]"))
        .await?;

    // Assert: the notice names 王五; the entries are kept; his values beside the fields.
    b.shows_conflict_with_wang_wu(
        &[
            ("f-name", "杭州远景贸易股份有限公司"),
            ("f-address", "杭州市西湖区文三路 100 号"),
        ],
        &[
            ("name", "王五保存的值：杭州远景贸易集团"),
            ("address", "王五保存的值：杭州市滨江区江南大道 1 号"),
            ("level", "王五保存的值：大客户"),
        ],
    )
    .await?;
    b.fits_the_screen(&format!("{edit} (conflict)")).await?;
    b.photograph("customer-conflict").await?;

    // Act + Assert: saving without the tick asks for it and changes nothing.
    b.click(Locator::Css("#customer-form button[type=submit]"))
        .await?;
    b.wait_for(Locator::Id("f-overwrite-error")).await?;
    let (_, stored) = call(app, &li, Method::GET, &path, None).await;
    ensure!(
        stored["name"] == json!("杭州远景贸易集团"),
        "saved without the tick: {stored}"
    );

    // Act: tick and save.
    b.click(Locator::Css(".conflict-confirm label.check"))
        .await?;
    b.click(Locator::Css("#customer-form button[type=submit]"))
        .await?;

    // Assert: the customer's page (not the form, which has the same address) with li's
    // entries, as stored.
    b.wait_for(Locator::Id("flash")).await?;
    b.wait_for(Locator::Id("edit-customer")).await?;
    b.wait_for_path(&format!("/customers/{id}")).await?;
    ensure!(
        b.client.find(Locator::Id("conflict")).await.is_err(),
        "the notice stayed"
    );
    let (_, stored) = call(app, &li, Method::GET, &path, None).await;
    ensure!(
        stored["name"] == json!("杭州远景贸易股份有限公司")
            && stored["address"] == json!("杭州市西湖区文三路 100 号"),
        "stored: {stored}"
    );
    Ok(())
}

#[tokio::test]
async fn on_a_desktop_a_filtered_xlsx_export_imports_back_skipped_here_and_new_elsewhere() {
    let app = app_with_customers().await;
    let fresh = app_with_customers().await;
    in_browser_at(
        "export_import_desktop",
        &app,
        DESKTOP,
        async |b: &Browser| export_import_story(b, &app, &fresh).await,
    )
    .await;
}

/// Uploads `file` on the import page as customers, goes through the mapping page (which
/// previews `names`) with `on_duplicate`, and waits for the summary line.
async fn import_customers(
    b: &Browser,
    file: &std::path::Path,
    on_duplicate: &str,
    names: &[&str],
    summary: &str,
) -> anyhow::Result<()> {
    b.goto("/customers").await?;
    b.click(Locator::Id("import")).await?;
    b.wait_for_path("/import").await?;
    b.find(Locator::Id("f-kind"))
        .await?
        .select_by_value("customers")
        .await
        .context("choosing customers")?;
    b.find(Locator::Id("f-file"))
        .await?
        .send_keys(&file.display().to_string())
        .await
        .context("choosing the file")?;
    b.click(Locator::Id("upload")).await?;

    // The mapping step: the columns found by title, the first rows previewed.
    let preview = b.wait_for(Locator::Id("preview")).await?.text().await?;
    for name in names {
        ensure!(preview.contains(name), "{name} not previewed: {preview}");
    }
    let mapped = b
        .find(Locator::Id("col-name"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    ensure!(
        !mapped.is_empty(),
        "the name column was not found by its title"
    );
    b.find(Locator::Css("#mapping-form #f-on-duplicate"))
        .await?
        .select_by_value(on_duplicate)
        .await
        .context("choosing what a duplicate does")?;
    b.click(Locator::Id("start")).await?;

    // The summary, once the run is done.
    b.wait_for(Locator::Id("import-status")).await?;
    b.eventually(
        summary,
        |line: &String| line == summary,
        async || Ok(b.find(Locator::Id("import-line")).await?.text().await?),
    )
    .await
}

/// The names in the customer list as shown.
async fn listed_names(b: &Browser) -> anyhow::Result<String> {
    Ok(b.find(Locator::Css("main")).await?.text().await?)
}

/// An administrator filters the customer list to 广东, downloads its XLSX export from the
/// list's link, and imports the file back: here every row is a duplicate and skipped; in a
/// fresh kehu both customers are created and listed.
async fn export_import_story(b: &Browser, app: &TestApp, fresh: &TestApp) -> anyhow::Result<()> {
    let admin = app.token_for("admin").await;
    for (name, region) in [
        ("广州华强电子有限公司", "440000"),
        ("深圳明达科技有限公司", "440000"),
        ("北京京华商贸有限公司", "110000"),
    ] {
        let (status, body) = call(
            app,
            &admin,
            Method::POST,
            "/api/v1/customers",
            Some(json!({
                "name": name, "region": region, "level": "key_account", "tags": ["华南"],
            })),
        )
        .await;
        ensure!(status == 201, "creating {name}: {status} {body}");
    }
    signed_in(b, "admin", ADMIN_PASSWORD).await?;

    // Act: the list filtered to 广东 with its own form.
    b.goto("/customers").await?;
    b.wait_for(Locator::Id("customer-filters")).await?;
    b.find(Locator::Css("#customer-filters select[name=region]"))
        .await?
        .select_by_value("440000")
        .await
        .context("choosing 广东省")?;
    b.click(Locator::Css("#customer-filters button[type=submit]"))
        .await?;
    b.eventually(
        "only the customers of 广东 listed",
        |text: &String| {
            text.contains("广州华强电子有限公司") && !text.contains("北京京华商贸有限公司")
        },
        async || listed_names(b).await,
    )
    .await?;
    let href = b
        .find(Locator::Id("export-xlsx"))
        .await?
        .attr("href")
        .await?
        .unwrap_or_default();
    ensure!(
        href.contains("region=440000"),
        "the export ignores the filter: {href}"
    );
    let xlsx = b.download(Locator::Id("export-xlsx")).await?;
    ensure!(
        xlsx.starts_with(b"PK"),
        "not an XLSX workbook ({} bytes)",
        xlsx.len()
    );
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("客户-广东.xlsx");
    std::fs::write(&file, &xlsx)?;

    // Act + Assert: imported back here, both are duplicates and skipped.
    let names = ["广州华强电子有限公司", "深圳明达科技有限公司"];
    import_customers(
        b,
        &file,
        "skip",
        &names,
        "imported 0, updated 0, skipped 2, rejected 0",
    )
    .await?;
    b.photograph("import-skipped").await?;
    let (_, all) = call(app, &admin, Method::GET, "/api/v1/customers", None).await;
    ensure!(
        all["total"] == json!(3),
        "the skip created customers: {all}"
    );

    // Act + Assert: into a fresh kehu, both are new and listed; 北京 is not.
    let other = b.on_app(fresh);
    signed_in(&other, "admin", ADMIN_PASSWORD).await?;
    import_customers(
        &other,
        &file,
        "skip",
        &names,
        "imported 2, updated 0, skipped 0, rejected 0",
    )
    .await?;
    other.goto("/customers").await?;
    other.wait_for(Locator::Id("customer-filters")).await?;
    let text = listed_names(&other).await?;
    for name in names {
        ensure!(text.contains(name), "{name} not in the fresh list: {text}");
    }
    ensure!(
        !text.contains("北京京华商贸有限公司"),
        "an unexported customer: {text}"
    );
    other.fits_the_screen("/customers (imported)").await?;
    other.photograph("customers-imported").await?;
    Ok(())
}
