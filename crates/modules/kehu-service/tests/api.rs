//! The service API over HTTP on SQLite and PostgreSQL: an account manager records a key
//! account's complaint, the supervisor assigns it, the handler takes every complaint step (the
//! supervisor approves the resolution), handles it; the customer is not satisfied and it comes
//! back with its steps reopened, then is archived and read-only. The service level targets of
//! a key account's complaint, automatic distribution (round-robin and least load, never to a
//! disabled user), the inbox, the audit log, the scope and bad input as problem documents.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kehu_testkit::json::{call, field_names};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, TestBackend};
use serde_json::{Value, json};

mod common;
use common::{app, on_both};

const PW: &str = "lang-genug-123";

async fn token(app: &TestApp, username: &str, role: &str) -> (i64, String) {
    let id = app.create_user(username, role, PW).await;
    (id, app.token_for(username).await)
}

async fn post(app: &TestApp, t: &str, path: &str, body: Value) -> (u16, Value) {
    call(app, t, Method::POST, path, Some(body)).await
}

async fn get(app: &TestApp, t: &str, path: &str) -> (u16, Value) {
    call(app, t, Method::GET, path, None).await
}

/// Disables user `id` (as the administrator).
async fn disable(app: &TestApp, id: i64) {
    let admin = app.token_for("admin").await;
    let path = format!("/api/v1/users/{id}");
    let (_, u) = get(app, &admin, &path).await;
    let (status, u) = call(
        app,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({"disabled": true, "version": u["version"]})),
    )
    .await;
    assert_eq!((status, u["disabled"].as_bool()), (200, Some(true)), "{u}");
}

/// A customer of `t`'s of `level`; its id.
async fn customer(app: &TestApp, t: &str, name: &str, level: &str) -> i64 {
    common::customer(app, t, json!({"name": name, "level": level})).await
}

async fn create(app: &TestApp, t: &str, body: Value) -> Value {
    let (s, v) = post(app, t, "/api/v1/services", body).await;
    assert_eq!(s, 201, "{v}");
    v
}

fn at(s: &Value, rest: &str) -> String {
    format!("/api/v1/services/{}{rest}", s["id"])
}

async fn step(app: &TestApp, t: &str, s: &Value, body: Value) -> (u16, Value) {
    post(app, t, &at(s, "/complaint-steps"), body).await
}

async fn show(app: &TestApp, t: &str, s: &Value) -> Value {
    let (status, v) = get(app, t, &at(s, "")).await;
    assert_eq!(status, 200, "{v}");
    v
}

fn ts(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .to_utc()
}

async fn complaint_from_request_to_archive(b: TestBackend) {
    let app = app(b).await;
    let (_, boss) = token(&app, "boss", "sales_supervisor").await;
    let (li_id, li) = token(&app, "li", "account_manager").await;
    let (zhao_id, zhao) = token(&app, "zhao", "account_manager").await;
    let (_, wang) = token(&app, "wang", "account_manager").await;
    let cu = customer(&app, &li, "华强电子", "key_account").await;

    // 服务创建: the request in the customer's words; a key account's complaint is due sooner.
    let s = create(
        &app,
        &li,
        json!({"type": "complaint", "title": "货物破损", "customer_id": cu,
               "channel": "phone", "request": "收到的货物外包装破损，要求换货", "priority": "high"}),
    )
    .await;
    assert_eq!(s["status"], "new");
    assert!(s["number"].as_str().unwrap().starts_with("FW"), "{s}");
    assert_eq!(s["next_step"], "validity");
    let created = ts(&s["created_at"]);
    assert_eq!((ts(&s["respond_due_at"]) - created).num_minutes(), 120);
    assert_eq!((ts(&s["resolve_due_at"]) - created).num_minutes(), 24 * 60);
    assert_eq!(s["due"], "on_time");
    assert_eq!(s["actions"], json!(["edit"]));

    // Another manager does not see it; the supervisor does.
    let (status, _) = get(&app, &wang, &at(&s, "")).await;
    assert_eq!(status, 404);

    // 服务分配.
    let (status, a) = post(
        &app,
        &boss,
        &at(&s, "/assign"),
        json!({"assignee_id": zhao_id}),
    )
    .await;
    assert_eq!(
        (status, a["status"].as_str()),
        (200, Some("assigned")),
        "{a}"
    );
    assert_eq!(a["assignee_name"], "测试 zhao");
    // The handler is told, and now sees it.
    let (_, inbox) = get(&app, &zhao, "/api/v1/notifications?unread=true").await;
    assert_eq!(inbox["items"][0]["kind"], "service-assigned", "{inbox}");
    assert_eq!(inbox["items"][0]["href"], format!("/services/{}", s["id"]));

    // A complaint is handled only once its steps are done.
    let (status, p) = post(
        &app,
        &zhao,
        &at(&s, "/handle"),
        json!({"handling": "已换货"}),
    )
    .await;
    assert_eq!(
        (status, p["reason"].as_str()),
        (409, Some("err-complaint-steps-open")),
        "{p}"
    );
    // Steps in order, by their people.
    let (status, p) = step(&app, &zhao, &s, json!({"step": "cause", "content": "x"})).await;
    assert_eq!(
        (status, p["reason"].as_str()),
        (409, Some("err-complaint-step-order")),
        "{p}"
    );
    let (status, p) = step(
        &app,
        &zhao,
        &s,
        json!({"step": "validity", "content": "照片为证"}),
    )
    .await;
    assert_eq!(status, 422, "stands or not must be said: {p}");
    assert_eq!(field_names(&p), ["accepted"]);
    for (who, body) in [
        (
            &zhao,
            json!({"step": "validity", "content": "属实：外包装破损有照片", "accepted": true}),
        ),
        (&zhao, json!({"step": "department", "content": "物流部"})),
        (&zhao, json!({"step": "cause", "content": "承运商野蛮装卸"})),
        (
            &zhao,
            json!({"step": "resolution", "content": "补发新货，运费我方承担"}),
        ),
    ] {
        let (status, r) = step(&app, who, &s, body).await;
        assert_eq!(status, 201, "{r}");
    }
    let (status, _) = step(
        &app,
        &zhao,
        &s,
        json!({"step": "approval", "content": "同意", "accepted": true}),
    )
    .await;
    assert_eq!(
        status, 403,
        "the handler does not approve their own resolution"
    );
    let (status, _) = step(
        &app,
        &boss,
        &s,
        json!({"step": "approval", "content": "同意", "accepted": true}),
    )
    .await;
    assert_eq!(status, 201);
    for body in [
        json!({"step": "execution", "content": "已补发；承运商按合同赔付"}),
        json!({"step": "summary", "content": "加固包装，更换承运商"}),
    ] {
        let (status, r) = step(&app, &zhao, &s, body).await;
        assert_eq!(status, 201, "{r}");
    }
    let v = show(&app, &li, &s).await;
    assert!(v.get("next_step").is_none(), "{v}");
    assert!(
        v["responded_at"].is_string(),
        "the first step was the response: {v}"
    );

    // 服务处理: the creator is told.
    let (status, h) = post(
        &app,
        &zhao,
        &at(&s, "/handle"),
        json!({"handling": "补发新货"}),
    )
    .await;
    assert_eq!(
        (status, h["status"].as_str()),
        (200, Some("handled")),
        "{h}"
    );
    let (_, inbox) = get(&app, &li, "/api/v1/notifications").await;
    assert_eq!(inbox["items"][0]["kind"], "service-handled", "{inbox}");

    // 服务反馈: not satisfied, back to the same handler, the steps reopened.
    let (status, f) = post(
        &app,
        &li,
        &at(&s, "/feedback"),
        json!({"result": "新货仍有划痕", "satisfaction": 2}),
    )
    .await;
    assert_eq!(
        (status, f["status"].as_str()),
        (200, Some("assigned")),
        "{f}"
    );
    assert_eq!(f["assignee_id"], zhao_id);
    assert_eq!(f["next_step"], "resolution");
    for (who, body) in [
        (&zhao, json!({"step": "resolution", "content": "上门更换"})),
        (
            &boss,
            json!({"step": "approval", "content": "同意", "accepted": true}),
        ),
        (&zhao, json!({"step": "execution", "content": "已上门更换"})),
        (&zhao, json!({"step": "summary", "content": "客户认可"})),
    ] {
        let (status, r) = step(&app, who, &s, body).await;
        assert_eq!(status, 201, "{r}");
    }
    let (status, _) = post(
        &app,
        &zhao,
        &at(&s, "/handle"),
        json!({"handling": "上门更换"}),
    )
    .await;
    assert_eq!(status, 200);
    // Satisfied: 服务归档, read-only for everyone.
    let (status, f) = post(
        &app,
        &li,
        &at(&s, "/feedback"),
        json!({"result": "满意", "satisfaction": "4"}),
    )
    .await;
    assert_eq!(
        (status, f["status"].as_str()),
        (200, Some("archived")),
        "{f}"
    );
    assert_eq!(f["satisfaction"], 4);
    assert_eq!(f["actions"], json!([]));
    for (who, path, body) in [
        (&boss, at(&s, "/assign"), json!({"assignee_id": li_id})),
        (&zhao, at(&s, "/handle"), json!({"handling": "x"})),
        (
            &li,
            at(&s, "/feedback"),
            json!({"result": "x", "satisfaction": 5}),
        ),
        (
            &zhao,
            at(&s, "/complaint-steps"),
            json!({"step": "resolution", "content": "x"}),
        ),
    ] {
        let (status, p) = post(&app, who, &path, body).await;
        assert_eq!(
            (status, p["reason"].as_str()),
            (409, Some("err-service-archived")),
            "{path}: {p}"
        );
    }
    let (status, p) = call(
        &app,
        &li,
        Method::PATCH,
        &at(&s, ""),
        Some(json!({"title": "改", "version": f["version"]})),
    )
    .await;
    assert_eq!(
        (status, p["reason"].as_str()),
        (409, Some("err-service-archived")),
        "{p}"
    );

    // The timeline: every step with who and when; the audit log has every transition.
    let (_, steps) = get(&app, &li, &at(&s, "/complaint-steps")).await;
    let names: Vec<&str> = steps
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "validity",
            "department",
            "cause",
            "resolution",
            "approval",
            "execution",
            "summary",
            "reopened",
            "resolution",
            "approval",
            "execution",
            "summary"
        ]
    );
    assert_eq!(steps[4]["created_by_name"], "测试 boss");
    let (_, audit) = get(
        &app,
        &app.token_for("admin").await,
        &format!("/api/v1/audit?entity=service&entity_id={}", s["id"]),
    )
    .await;
    assert!(
        audit["total"].as_u64().unwrap() >= 7,
        "create, assign, respond, 2×handle, 2×feedback: {audit}"
    );
}

async fn bad_input_changes_nothing(b: TestBackend) {
    let app = app(b).await;
    let (_, boss) = token(&app, "boss", "sales_supervisor").await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let (gone_id, _) = token(&app, "gone", "account_manager").await;
    let cu = customer(&app, &li, "华强电子", "ordinary").await;

    let (status, p) = post(
        &app,
        &li,
        "/api/v1/services",
        json!({"type": "gossip", "customer_id": "abc"}),
    )
    .await;
    assert_eq!(status, 422, "{p}");
    let mut names = field_names(&p);
    names.sort();
    assert_eq!(names, ["customer_id", "request", "title", "type"]);
    let (status, p) = post(
        &app,
        &boss,
        "/api/v1/services",
        json!({"type": "consultation", "title": "t", "customer_id": 999_999, "request": "r"}),
    )
    .await;
    assert_eq!(
        (status, field_names(&p)),
        (422, vec!["customer_id".to_owned()]),
        "{p}"
    );

    let s = create(
        &app,
        &li,
        json!({"type": "consultation", "title": "发票", "customer_id": cu, "request": "发票抬头怎么改"}),
    )
    .await;
    // Feedback before handling.
    let (status, p) = post(
        &app,
        &li,
        &at(&s, "/feedback"),
        json!({"result": "好", "satisfaction": 5}),
    )
    .await;
    assert_eq!(
        (status, p["reason"].as_str()),
        (409, Some("err-service-not-handled")),
        "{p}"
    );
    // Assigning to a disabled user, or to one who may not handle.
    disable(&app, gone_id).await;
    let (status, p) = post(
        &app,
        &boss,
        &at(&s, "/assign"),
        json!({"assignee_id": gone_id}),
    )
    .await;
    assert_eq!(
        (status, field_names(&p)),
        (422, vec!["assignee_id".to_owned()]),
        "{p}"
    );
    let (status, p) = post(&app, &boss, &at(&s, "/assign"), json!({"assignee_id": 1})).await;
    assert_eq!(status, 200, "the administrator may handle: {p}");
    // Satisfaction 0 and 6.
    let (status, _) = post(
        &app,
        &app.token_for("admin").await,
        &at(&s, "/handle"),
        json!({"handling": "已说明"}),
    )
    .await;
    assert_eq!(status, 200);
    for bad in [0, 6] {
        let (status, p) = post(
            &app,
            &li,
            &at(&s, "/feedback"),
            json!({"result": "好", "satisfaction": bad}),
        )
        .await;
        assert_eq!(
            (status, field_names(&p)),
            (422, vec!["satisfaction".to_owned()]),
            "{bad}: {p}"
        );
    }
    let v = show(&app, &li, &s).await;
    assert_eq!(
        (v["status"].as_str(), v["satisfaction"].is_null()),
        (Some("handled"), true),
        "{v}"
    );
    // A step on a consultation.
    let (status, p) = step(
        &app,
        &li,
        &s,
        json!({"step": "validity", "content": "x", "accepted": true}),
    )
    .await;
    assert!(status == 409 || status == 403, "{status} {p}");
}

async fn automatic_distribution(b: TestBackend) {
    let app = app(b).await;
    let (_, boss) = token(&app, "boss", "sales_supervisor").await;
    let admin = app.token_for("admin").await;
    for name in ["h1", "h2", "h3"] {
        app.create_user(name, "account_manager", PW).await;
    }
    let (gone_id, _) = token(&app, "h4", "account_manager").await;
    disable(&app, gone_id).await;
    let cu = customer(&app, &boss, "华强电子", "ordinary").await;

    let (status, r) = call(
        &app,
        &boss,
        Method::PUT,
        "/api/v1/service-settings/routing/consultation",
        Some(json!({"mode": "least_load"})),
    )
    .await;
    assert_eq!(
        (status, r["mode"].as_str()),
        (200, Some("least_load")),
        "{r}"
    );
    let (status, p) = call(
        &app,
        &boss,
        Method::PUT,
        "/api/v1/service-settings/routing/gossip",
        Some(json!({"mode": "least_load"})),
    )
    .await;
    assert_eq!(status, 404, "{p}");

    // 24 at once: every one assigned, to an active handler, the loads within one.
    let body =
        json!({"type": "consultation", "title": "咨询", "customer_id": cu, "request": "价格"});
    let results = futures_join(&app, &boss, &body, 24).await;
    let mut load = std::collections::HashMap::new();
    for s in &results {
        assert_eq!(s["status"], "assigned", "{s}");
        *load.entry(s["assignee_id"].as_i64().unwrap()).or_insert(0) += 1;
    }
    assert!(!load.contains_key(&gone_id), "{load:?}");
    // h1–h3 and the administrator (who holds every right).
    assert_eq!(load.len(), 4, "{load:?}");
    let (min, max) = (load.values().min().unwrap(), load.values().max().unwrap());
    assert!(max - min <= 1, "{load:?}");

    // Round-robin takes them in turn.
    call(
        &app,
        &admin,
        Method::PUT,
        "/api/v1/service-settings/routing/suggestion",
        Some(json!({"mode": "round_robin"})),
    )
    .await;
    let mut turns = Vec::new();
    for _ in 0..8 {
        let s = create(
            &app,
            &boss,
            json!({"type": "suggestion", "title": "建议", "customer_id": cu, "request": "r"}),
        )
        .await;
        turns.push(s["assignee_id"].as_i64().unwrap());
    }
    // Four handlers in turn: each twice, in the same order.
    assert_eq!(turns[..4], turns[4..], "{turns:?}");
    let distinct: std::collections::HashSet<_> = turns.iter().collect();
    assert_eq!(distinct.len(), 4, "{turns:?}");
    // Manual types stay new.
    let s = create(
        &app,
        &boss,
        json!({"type": "complaint", "title": "c", "customer_id": cu, "request": "r"}),
    )
    .await;
    assert_eq!(s["status"], "new");
}

/// `n` services created at once by `t`.
async fn futures_join(app: &TestApp, t: &str, body: &Value, n: usize) -> Vec<Value> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (app_url, client, t, body) = (
            app.url("/api/v1/services"),
            app.client(),
            t.to_owned(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(app_url)
                .bearer_auth(t)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201);
            r.json::<Value>().await.unwrap()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

on_both!(
    complaint_from_request_to_archive,
    bad_input_changes_nothing,
    automatic_distribution
);
