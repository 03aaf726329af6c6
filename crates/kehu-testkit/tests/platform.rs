//! The platform end to end over HTTP, on SQLite and PostgreSQL: sign-in, roles, pages.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_testkit::{ADMIN_PASSWORD, both_backends};

both_backends! {
    async fn the_administrator_signs_in_and_sees_the_admin_navigation(app) {
        let s = app.admin().await;
        let html = s.get("/").await.text().await.unwrap();
        for link in ["/users", "/roles", "/dictionary", "/audit"] {
            assert!(html.contains(&format!("href=\"{link}\"")), "missing {link}");
        }
    }

    async fn a_wrong_password_gets_a_generic_message(app) {
        let s = app.anonymous();
        let html = s.get("/login").await.text().await.unwrap();
        let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let resp = s.client.post(s.url("/login"))
            .form(&[("csrf", csrf.as_str()), ("username", "admin"), ("password", "nope-nope")])
            .send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let body = resp.text().await.unwrap();
        assert!(body.contains("用户名或密码错误"), "{body}");
        let _ = ADMIN_PASSWORD;
    }
}
