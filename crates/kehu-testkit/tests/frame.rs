//! The app frame and the form kit over HTTP, on SQLite and on PostgreSQL: error pages inside
//! the frame, the header search and the rights it respects, forms that come back with an error
//! summary and marked fields, and times in the configured zone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_domain::role::RoleInput;
use kehu_domain::secrets::hash_password;
use kehu_store::Actor;
use kehu_store::users::NewUser;
use kehu_testkit::{TestApp, TestBackend, both_backends, spawn_app_with};
use kehu_web::config::TimeZone;

const PW: &str = "geheim-123456";

/// The parts of the frame a signed-in page shows.
fn has_frame(html: &str) -> bool {
    html.contains("id=\"search-q\"")
        && html.contains("id=\"user-menu\"")
        && html.contains("id=\"logout\"")
}

/// Creates `username` (display name `name`) with a new role holding exactly `rights`.
async fn user_with_rights(app: &TestApp, username: &str, name: &str, rights: &[&str]) -> i64 {
    let rights: Vec<String> = rights.iter().map(|r| (*r).to_owned()).collect();
    let input = RoleInput::parse(&format!("角色 {username}"), "", "own", &rights).unwrap();
    let role = app
        .store
        .roles
        .create(&input, &Actor::system())
        .await
        .unwrap();
    let new = NewUser {
        username: username.into(),
        display_name: name.into(),
        email: None,
        role_id: role.role.id,
        password_hash: hash_password(PW).unwrap(),
        must_change_password: false,
    };
    app.store
        .users
        .create(&new, &Actor::system())
        .await
        .unwrap()
        .id
}

both_backends! {
    async fn a_signed_in_user_meets_a_404_and_a_403_inside_the_app_frame(app) {
        // Arrange
        let admin = app.admin().await;
        app.create_user("zhou.min", "account_manager", PW).await;
        let manager = app.login("zhou.min", PW).await;

        // Act
        let not_found = admin.get("/no-such-page").await;
        let forbidden = manager.get("/users").await;
        let anonymous = app.anonymous().get("/no-such-page").await;

        // Assert: the frame (search, user menu, navigation) around both errors.
        assert_eq!(not_found.status(), 404);
        let html = not_found.text().await.unwrap();
        assert!(has_frame(&html), "{html}");
        assert!(html.contains("找不到页面") && html.contains("href=\"/users\""), "{html}");
        assert_eq!(forbidden.status(), 403);
        let html = forbidden.text().await.unwrap();
        assert!(has_frame(&html) && html.contains("无权访问"), "{html}");
        assert!(!html.contains("href=\"/users\""), "the 403 frame offers the users page: {html}");
        // Our favicon is linked and served.
        assert!(html.contains("rel=\"icon\" href=\"/static/favicon.svg\""), "{html}");
        let icon = app.anonymous().get("/static/favicon.svg").await;
        assert_eq!(icon.status(), 200);
        assert_eq!(icon.headers()["content-type"], "image/svg+xml");
        assert!(icon.text().await.unwrap().starts_with("<svg"));
        // Before sign-in the error page stands alone.
        assert_eq!(anonymous.status(), 404);
        let html = anonymous.text().await.unwrap();
        assert!(!html.contains("search-q") && !html.contains("user-menu"), "{html}");
        assert!(html.contains("找不到页面"), "{html}");
    }

    async fn the_header_search_finds_what_the_user_may_see_and_nothing_else(app) {
        // Arrange: a user to find, a dictionary keeper, an account manager.
        let wang = user_with_rights(&app, "wang.fang", "王芳", &["customer.read"]).await;
        user_with_rights(&app, "dict.keeper", "李字典", &["system.dictionary"]).await;
        app.create_user("zhou.min", "account_manager", PW).await;
        let admin = app.admin().await;

        // Act + Assert: the administrator finds the user by name and by user name.
        for q in ["王芳", "WANG.F"] {
            let resp = admin.get(&format!("/search?q={q}")).await;
            assert_eq!(resp.status(), 200);
            let html = resp.text().await.unwrap();
            assert!(html.contains(&format!("href=\"/users/{wang}\"")) && html.contains("王芳"), "{q}: {html}");
        }
        // …and roles and dictionary entries.
        let html = admin.get("/search?q=%E5%8C%97%E4%BA%AC").await.text().await.unwrap();
        assert!(html.contains("id=\"results-dictionary\"") && html.contains("北京市"), "{html}");
        let html = admin.get("/search?q=客户经理").await.text().await.unwrap();
        assert!(html.contains("id=\"results-roles\"") && html.contains("href=\"/roles/"), "{html}");

        // Act + Assert: without system.users no user is found, but the dictionary is.
        let keeper = app.login("dict.keeper", PW).await;
        let html = keeper.get("/search?q=王芳").await.text().await.unwrap();
        // (The query itself is echoed in the search box and the heading.)
        assert!(!html.contains("results-users") && !html.contains("href=\"/users/"), "{html}");
        assert!(html.contains("id=\"search-empty\"") && html.contains("没有找到与“王芳”匹配的内容"), "no empty state: {html}");
        let html = keeper.get("/search?q=北京").await.text().await.unwrap();
        assert!(html.contains("北京市") && !html.contains("results-users"), "{html}");

        // Act + Assert: an account manager has nothing to search and is told so.
        let manager = app.login("zhou.min", PW).await;
        let resp = manager.get("/search?q=王").await;
        assert_eq!(resp.status(), 200);
        let html = resp.text().await.unwrap();
        assert!(!html.contains("王芳") && html.contains("您的角色没有可搜索的内容"), "{html}");
    }

    async fn a_bad_user_form_comes_back_with_an_error_summary_and_marked_fields(app) {
        // Arrange
        let admin = app.admin().await;
        let role = app.store.roles.by_code("account_manager").await.unwrap().unwrap();

        // Act: a too-short user name, no name, a bad address; the role is fine.
        let resp = admin
            .post_form("/users", &[
                ("username", "x"), ("display_name", ""), ("email", "not-an-address"),
                ("role_id", &role.id.to_string()), ("password", "initial-pass-77"),
            ])
            .await;

        // Assert: a summary linking each error to its field, in the form's order…
        assert_eq!(resp.status(), 422);
        let html = resp.text().await.unwrap();
        let summary = &html[html.find("data-error-summary").expect("an error summary")..];
        let links: Vec<usize> = ["#f-username", "#f-display_name", "#f-email"]
            .iter()
            .map(|l| summary.find(&format!("href=\"{l}\"")).unwrap_or_else(|| panic!("{l}: {html}")))
            .collect();
        assert!(links.windows(2).all(|w| w[0] < w[1]), "summary out of order: {html}");
        assert!(summary.contains("姓名：必填。"), "{html}");
        assert!(!summary.contains("href=\"#f-role_id\""), "{html}");
        // …and each bad field marked and tied to its message; the good one is not.
        for f in ["username", "display_name", "email"] {
            assert!(
                html.contains(&format!("id=\"f-{f}\"")) && html.contains(&format!("aria-invalid=\"true\" aria-describedby=\"f-{f}-error\""))
                    && html.contains(&format!("id=\"f-{f}-error\"")),
                "{f} not marked: {html}"
            );
        }
        let role_field = &html[html.find("id=\"f-role_id\"").unwrap()..];
        let role_tag = &role_field[..role_field.find('>').unwrap()];
        assert!(!role_tag.contains("aria-invalid"), "{role_tag}");
        // The required fields are marked and the mark explained; Cancel leads back.
        assert!(html.contains("class=\"req\"") && html.contains("为必填项"), "{html}");
        assert!(html.contains("id=\"cancel\"") && html.contains("href=\"/users\""), "{html}");
    }

    async fn after_saving_the_form_says_so_once(app) {
        // Arrange
        let admin = app.admin().await;

        // Act: a new dictionary entry.
        let resp = admin
            .post_form("/dictionary", &[("kind", "region"), ("item", "雄安新区"), ("value", "xiongan"), ("sort", "99")])
            .await;

        // Assert: it opens with the success message; the plain page has none.
        assert_eq!(resp.status(), 303);
        let to = resp.headers()["location"].to_str().unwrap().to_owned();
        assert!(to.starts_with("/dictionary/") && to.ends_with("?saved=1"), "{to}");
        let html = admin.get(&to).await.text().await.unwrap();
        assert!(html.contains("id=\"flash\"") && html.contains("已保存"), "{html}");
        let plain = admin.get(to.trim_end_matches("?saved=1")).await.text().await.unwrap();
        assert!(!plain.contains("id=\"flash\""), "{plain}");
    }

    async fn the_rights_grid_shows_labels_with_codes_in_tooltips_grouped(app) {
        let admin = app.admin().await;
        let html = admin.get("/roles/new").await.text().await.unwrap();
        assert!(html.contains("title=\"customer.read\"") && html.contains("查看客户"), "{html}");
        assert!(!html.contains("<code>customer.read</code>"), "codes shown as text: {html}");
        assert_eq!(html.matches("data-rights-group").count(), 6, "{html}");
        assert_eq!(html.matches("data-group-all").count(), 6, "{html}");
    }
}

/// Signs in on an app showing times in `zone` and returns the home page, with the
/// administrator's last sign-in as the store has it.
async fn home_in_zone(
    backend: TestBackend,
    zone: &str,
    lang: &str,
) -> (String, chrono::DateTime<chrono::Utc>) {
    let zone = TimeZone::parse(zone).unwrap();
    let app = spawn_app_with(backend, |c| c.time_zone = zone).await;
    let admin = app.admin().await;
    if lang != "zh-CN" {
        admin
            .post_form("/language", &[("lang", lang), ("back", "/")])
            .await;
    }
    let html = admin.get("/").await.text().await.unwrap();
    let at = app
        .store
        .users
        .by_username("admin")
        .await
        .unwrap()
        .unwrap()
        .last_login_at
        .unwrap();
    (html, at)
}

async fn times_show_in_the_configured_zone_with_its_label(backend: TestBackend) {
    // Arrange + Act: Kathmandu is UTC+5:45, unlike the default zone and UTC.
    let (html, at) = home_in_zone(backend, "Asia/Kathmandu", "zh-CN").await;

    // Assert
    let local = at.with_timezone(&chrono::FixedOffset::east_opt(5 * 3600 + 45 * 60).unwrap());
    let shown = format!("{}（UTC+5:45）", local.format("%Y-%m-%d %H:%M"));
    assert!(html.contains(&shown), "{shown} not in {html}");
    assert!(!html.contains("北京时间"), "{html}");

    // The same in English, and the default zone is Beijing time in Chinese.
    let (html, at) = home_in_zone(backend, "Asia/Kathmandu", "en").await;
    let local = at.with_timezone(&chrono::FixedOffset::east_opt(5 * 3600 + 45 * 60).unwrap());
    let shown = format!("{} (UTC+5:45)", local.format("%Y-%m-%d %H:%M"));
    assert!(html.contains(&shown), "{shown} not in {html}");
    let (html, at) = home_in_zone(backend, "Asia/Shanghai", "zh-CN").await;
    let local = at.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    let shown = format!("{}（北京时间）", local.format("%Y-%m-%d %H:%M"));
    assert!(html.contains(&shown), "{shown} not in {html}");
}

mod times_show_in_the_configured_zone {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        times_show_in_the_configured_zone_with_its_label(TestBackend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        times_show_in_the_configured_zone_with_its_label(TestBackend::Postgres).await;
    }
}
