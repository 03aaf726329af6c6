//! Automatic distribution across two kehu instances on one PostgreSQL: services created at the
//! same moment through both, every one assigned once, none lost, the least-loaded handler
//! each time (the loads within one of each other at the end), never a disabled user.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::HashMap;

use kehu_testkit::json::call;
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestBackend, spawn_beside_with_modules};
use serde_json::{Value, json};

mod common;
use common::{app, modules};

const PW: &str = "lang-genug-123";

#[tokio::test]
async fn two_instances_assign_each_service_once_to_the_least_loaded() {
    let a = app(TestBackend::Postgres).await;
    let b = spawn_beside_with_modules(&a, modules()).await;
    a.create_user("boss", "sales_supervisor", PW).await;
    let boss = a.token_for("boss").await;
    for i in 0..5 {
        a.create_user(&format!("h{i}"), "account_manager", PW).await;
    }
    let cu = common::customer(&a, &boss, json!({"name": "华强电子"})).await;
    let (s, r) = call(
        &b,
        &boss,
        Method::PUT,
        "/api/v1/service-settings/routing/consultation",
        Some(json!({"mode": "least_load"})),
    )
    .await;
    assert_eq!(s, 200, "{r}");

    let body =
        json!({"type": "consultation", "title": "咨询", "customer_id": cu, "request": "价格"});
    let n = 120;
    let mut tasks = Vec::new();
    for i in 0..n {
        let app = if i % 2 == 0 { &a } else { &b };
        let (url, client, t, body) = (
            app.url("/api/v1/services"),
            app.client(),
            boss.clone(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(t)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            assert_eq!(status, 201, "{v}");
            v
        }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut load: HashMap<i64, usize> = HashMap::new();
    for t in tasks {
        let v = t.await.unwrap();
        assert_eq!(v["status"], "assigned", "{v}");
        ids.insert(v["id"].as_i64().unwrap());
        *load.entry(v["assignee_id"].as_i64().unwrap()).or_default() += 1;
    }
    assert_eq!(ids.len(), n, "none lost");
    // As stored (not as answered): one assignee each, the loads within one.
    let (_, stored) = call(
        &a,
        &boss,
        Method::GET,
        "/api/v1/services?per_page=200",
        None,
    )
    .await;
    let mut stored_load: HashMap<i64, usize> = HashMap::new();
    for s in stored["items"].as_array().unwrap() {
        *stored_load
            .entry(s["assignee_id"].as_i64().unwrap())
            .or_default() += 1;
    }
    assert_eq!(stored["total"], n, "{stored}");
    assert_eq!(stored_load, load);
    // h0–h4 and the administrator.
    assert_eq!(load.len(), 6, "{load:?}");
    let (min, max) = (load.values().min().unwrap(), load.values().max().unwrap());
    assert!(max - min <= 1, "{load:?}");
}
