//! Several kehu instances on one PostgreSQL database: a change made through one is seen by the
//! others at once (within 200 ms), not after their caches expire.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::time::{Duration, Instant};

use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, TestBackend, bearer, spawn_app, spawn_beside};
use serde_json::{Value, json};

const PW: &str = "instance-pass-2026";

/// Waits until `token` is refused (401) by `app`; returns how long that took.
async fn refused_within(app: &TestApp, token: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let status = bearer(app, token, Method::GET, "/api/v1/me", None)
            .await
            .status();
        if status == 401 {
            return start.elapsed();
        }
        assert_eq!(status, 200);
        assert!(
            start.elapsed() < limit,
            "still accepted after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_token_revoked_on_one_instance_is_refused_by_the_other_within_200_ms() {
    let a = spawn_app(TestBackend::Postgres).await;
    let b = spawn_beside(&a).await;
    let token = a.token_for("admin").await;
    // The other instance has the token's owner in its cache.
    for _ in 0..3 {
        let me = bearer(&b, &token, Method::GET, "/api/v1/me", None).await;
        assert_eq!(me.status(), 200);
    }
    let list: Value = bearer(&a, &token, Method::GET, "/api/v1/me/tokens", None)
        .await
        .json()
        .await
        .unwrap();
    let id = list["items"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/me/tokens/{id}");
    let revoked = bearer(&a, &token, Method::DELETE, &path, None).await;
    assert_eq!(revoked.status(), 204);
    let took = refused_within(&b, &token, Duration::from_millis(200)).await;
    eprintln!("revocation reached the other instance in {took:?}");
}

#[tokio::test]
async fn a_user_disabled_on_one_instance_is_refused_by_the_other_within_200_ms() {
    let a = spawn_app(TestBackend::Postgres).await;
    let b = spawn_beside(&a).await;
    let id = a.create_user("li.na", "account_manager", PW).await;
    let hers = a.token_for("li.na").await;
    let admin = a.token_for("admin").await;
    for _ in 0..3 {
        let me = bearer(&b, &hers, Method::GET, "/api/v1/me", None).await;
        assert_eq!(me.status(), 200);
    }
    let version = a.store.users.get(id).await.unwrap().version;
    let path = format!("/api/v1/users/{id}");
    let body = json!({"disabled": true, "version": version});
    let disabled = bearer(&a, &admin, Method::PATCH, &path, Some(body)).await;
    assert_eq!(disabled.status(), 200);
    let took = refused_within(&b, &hers, Duration::from_millis(200)).await;
    eprintln!("disabling reached the other instance in {took:?}");
}

#[tokio::test]
async fn after_a_burst_of_changes_on_one_instance_the_other_shows_the_last_within_200_ms() {
    let a = spawn_app(TestBackend::Postgres).await;
    let b = spawn_beside(&a).await;
    let admin = a.token_for("admin").await;
    let list = "/api/v1/dictionary?kind=burst&per_page=100";
    let count = async |app: &TestApp| -> i64 {
        let page: Value = bearer(app, &admin, Method::GET, list, None)
            .await
            .json()
            .await
            .unwrap();
        page["total"].as_i64().unwrap()
    };
    // The other instance has the dictionary in its cache.
    assert_eq!(count(&b).await, 0);
    // Announcements coalesce under a burst; the last change must still reach the other.
    let creates = (0..40).map(|i| {
        let body = json!({"kind": "burst", "item": format!("项目{i}"), "value": format!("v{i}")});
        bearer(&a, &admin, Method::POST, "/api/v1/dictionary", Some(body))
    });
    for created in futures_util::future::join_all(creates).await {
        assert_eq!(created.status(), 201);
    }
    let start = Instant::now();
    while count(&b).await != 40 {
        assert!(
            start.elapsed() < Duration::from_millis(200),
            "the other instance still shows {} items after {:?}",
            count(&b).await,
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
