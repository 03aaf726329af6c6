//! The in-app inbox on both databases: notices a module pushes in its transaction reach their
//! user only — the bell's badge on every page, `/notifications`, `/api/v1/notifications` in
//! the user's language — and are marked read by their user only.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kehu_store::inbox::{self, NoticeDraft};
use kehu_testkit::json::call;
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, both_backends};
use serde_json::json;

const PW: &str = "lang-genug-123";

async fn push(app: &TestApp, user_id: i64, record_id: i64, subject: &str) {
    let subject = subject.to_owned();
    app.store
        .db
        .write(async |tx| {
            let n = NoticeDraft {
                kind: "service-assigned",
                record: "service",
                record_id,
                subject: &subject,
            };
            inbox::push(tx, user_id, n).await
        })
        .await
        .unwrap();
}

/// The bell's badge on the home page: its count, or `None` when there is none.
async fn badge(app: &TestApp, username: &str) -> Option<String> {
    let s = app.login(username, PW).await;
    let html = s.get("/").await.text().await.unwrap();
    assert!(
        html.contains(r#"id="notices-bell""#),
        "the bell is on every page"
    );
    let at = html.find(r#"id="notices-badge">"#)?;
    let rest = &html[at + r#"id="notices-badge">"#.len()..];
    Some(rest[..rest.find('<').unwrap()].to_owned())
}

both_backends! {
    async fn notices_reach_their_user_only(app) {
        let li = app.create_user("li", "account_manager", PW).await;
        let wang = app.create_user("wang", "account_manager", PW).await;
        push(&app, li, 7, "FW20261207-0001 货物破损").await;
        push(&app, li, 8, "FW20261207-0002 发票").await;
        push(&app, wang, 9, "FW20261207-0003 退货").await;

        assert_eq!(badge(&app, "li").await.as_deref(), Some("2"));
        assert_eq!(badge(&app, "wang").await.as_deref(), Some("1"));

        let t = app.token_for("li").await;
        let (s, l) = call(&app, &t, Method::GET, "/api/v1/notifications", None).await;
        assert_eq!((s, l["total"].as_u64()), (200, Some(2)), "{l}");
        let first = &l["items"][0];
        assert_eq!(first["href"], "/services/8", "newest first: {l}");
        assert_eq!(first["text"], "服务 FW20261207-0002 发票 已分配给您处理。");
        // Another's notice is not theirs to mark.
        let (_, w) = call(&app, &app.token_for("wang").await, Method::GET, "/api/v1/notifications", None).await;
        let wangs = w["items"][0]["id"].as_i64().unwrap();
        let (s, r) = call(&app, &t, Method::POST, "/api/v1/notifications/read", Some(json!({"ids": [wangs]}))).await;
        assert_eq!((s, r["marked"].as_u64()), (200, Some(0)), "{r}");
        assert_eq!(badge(&app, "wang").await.as_deref(), Some("1"));
        // One, then all.
        let one = first["id"].as_i64().unwrap();
        let (_, r) = call(&app, &t, Method::POST, "/api/v1/notifications/read", Some(json!({"ids": [one]}))).await;
        assert_eq!(r["marked"], 1);
        assert_eq!(badge(&app, "li").await.as_deref(), Some("1"));
        let (_, unread) = call(&app, &t, Method::GET, "/api/v1/notifications?unread=true", None).await;
        assert_eq!(unread["items"][0]["href"], "/services/7", "{unread}");

        // The page lists them; its button marks the rest read.
        let s = app.login("li", PW).await;
        let html = s.get("/notifications").await.text().await.unwrap();
        assert!(html.contains("FW20261207-0001 货物破损"), "{html}");
        assert!(html.contains(r#"<li class="unread"><a href="/services/7">"#), "{html}");
        let r = s.post_form("/notifications/read", &[]).await;
        assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
        assert_eq!(badge(&app, "li").await, None);
        let (_, r) = call(&app, &t, Method::POST, "/api/v1/notifications/read", Some(json!({}))).await;
        assert_eq!(r["marked"], 0);
    }

    async fn the_badge_stops_at_ninety_nine(app) {
        let li = app.create_user("li", "account_manager", PW).await;
        for i in 0..101 {
            push(&app, li, i, "x").await;
        }
        assert_eq!(badge(&app, "li").await.as_deref(), Some("99+"));
    }
}
