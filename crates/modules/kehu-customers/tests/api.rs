//! The customer API over HTTP on SQLite and PostgreSQL: a manager's customers and contacts
//! from create to trash, the scope matrix (another manager's ids are 404 on every route), the
//! supervisor's transfer, optimistic locking, and bad input as problem documents, never a 500.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kehu_testkit::json::{call, field_names, problem};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, TestBackend, bearer};
use serde_json::{Value, json};

mod common;
use common::app;

const PW: &str = "lang-genug-123";

/// A user of `role` and their API token.
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

async fn a_manager_keeps_a_customer_with_contacts_from_create_to_trash_and_back(b: TestBackend) {
    let app = app(b).await;
    let (li_id, li) = token(&app, "li", "account_manager").await;

    let (s, c) = post(
        &app,
        &li,
        "/api/v1/customers",
        json!({
            "name": "广州华强电子", "region": "440000", "level": "key_account",
            "phone": "020-8888 6666", "satisfaction": 4, "registered_capital": "5000000",
            "tags": ["VIP", "华南"]
        }),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    assert!(c["code"].as_str().unwrap().starts_with("KH"), "{c}");
    assert_eq!(c["owner_id"], li_id);
    assert_eq!(c["phone"], "+862088886666");
    assert_eq!(c["registered_capital"], "5000000.00");
    assert_eq!(c["status"], "active");
    assert_eq!(c["tags"], json!(["VIP", "华南"]));
    assert_eq!(c["version"], 1);
    let id = c["id"].as_i64().unwrap();
    let at = |p: &str| format!("/api/v1/customers/{id}{p}");

    // Two contacts: the first is the primary until the second takes over.
    let (s, zhang) = post(
        &app,
        &li,
        &at("/contacts"),
        json!({"name": "张三", "mobile": "13912345678"}),
    )
    .await;
    assert_eq!((s, &zhang["is_primary"]), (201, &json!(true)), "{zhang}");
    assert_eq!(zhang["mobile"], "+8613912345678");
    let (s, _) = post(
        &app,
        &li,
        &at("/contacts"),
        json!({"name": "李四", "is_primary": true}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, list) = get(&app, &li, &at("/contacts")).await;
    assert_eq!(s, 200);
    let primaries: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["is_primary"] == true)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(primaries, ["李四"]);

    // A merge patch: named fields change, `null` clears, the rest stays.
    let (s, changed) = call(
        &app,
        &li,
        Method::PATCH,
        &at(""),
        Some(json!({"name": "华强电子", "phone": null, "version": 1})),
    )
    .await;
    assert_eq!(s, 200, "{changed}");
    assert_eq!(changed["name"], "华强电子");
    assert_eq!(changed["phone"], Value::Null);
    assert_eq!(changed["region"], "440000");
    assert_eq!(changed["tags"], json!(["VIP", "华南"]));
    assert_eq!(changed["version"], 2);

    // The list finds it by region, tag and name prefix.
    for q in [
        "region=440000",
        "tag=VIP",
        "q=华强",
        "status=active&sort=name",
    ] {
        let (s, l) = get(&app, &li, &format!("/api/v1/customers?{q}")).await;
        assert_eq!((s, l["total"].as_u64()), (200, Some(1)), "{q}: {l}");
    }

    // To the trash and back.
    let (s, _) = call(&app, &li, Method::DELETE, &at("?version=2"), None).await;
    assert_eq!(s, 200);
    let (s, _) = get(&app, &li, &at("")).await;
    assert_eq!(s, 404);
    let (s, trash) = get(&app, &li, "/api/v1/customers/trash").await;
    assert_eq!((s, trash["total"].as_u64()), (200, Some(1)));
    let (s, back) = post(
        &app,
        &li,
        &format!("/api/v1/customers/{id}/restore?version=3"),
        json!({}),
    )
    .await;
    assert_eq!((s, &back["deleted_at"]), (200, &Value::Null), "{back}");

    // Only an administrator deletes for good.
    let (s, _) = call(&app, &li, Method::DELETE, &at("/purge?version=4"), None).await;
    assert_eq!(s, 403);
    let admin = app.token_for("admin").await;
    let (s, _) = call(&app, &admin, Method::DELETE, &at("/purge?version=4"), None).await;
    assert_eq!(s, 204);
    let (s, _) = get(&app, &admin, &at("")).await;
    assert_eq!(s, 404);
}

async fn another_managers_customer_and_contact_are_not_found_on_every_route(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let (wang_id, wang) = token(&app, "wang", "account_manager").await;
    let (_, c) = post(
        &app,
        &wang,
        "/api/v1/customers",
        json!({"name": "王的客户"}),
    )
    .await;
    let id = c["id"].as_i64().unwrap();
    let (_, k) = post(
        &app,
        &wang,
        &format!("/api/v1/customers/{id}/contacts"),
        json!({"name": "王联系人"}),
    )
    .await;
    let cid = k["id"].as_i64().unwrap();

    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/customers/{id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/customers/{id}"),
            Some(json!({"name": "x", "version": 1})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/customers/{id}?version=1"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/customers/{id}/restore?version=1"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/customers/{id}/contacts"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/customers/{id}/contacts"),
            Some(json!({"name": "x"})),
        ),
        (
            Method::POST,
            "/api/v1/customers/transfer".into(),
            Some(json!({"ids": [id], "to_owner_id": wang_id})),
        ),
        (Method::GET, format!("/api/v1/contacts/{cid}"), None),
        (
            Method::PATCH,
            format!("/api/v1/contacts/{cid}"),
            Some(json!({"name": "x", "version": 1})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/contacts/{cid}?version=1"),
            None,
        ),
    ];
    for (m, path, body) in routes {
        let resp = bearer(&app, &li, m.clone(), &path, body).await;
        problem(resp, 404, "not_found").await;
    }
    for path in [
        "/api/v1/customers".to_owned(),
        "/api/v1/customers/trash".to_owned(),
        "/api/v1/contacts".to_owned(),
        format!("/api/v1/contacts?customer_id={id}"),
        format!("/api/v1/customers?owner_id={wang_id}"),
    ] {
        let (s, l) = get(&app, &li, &path).await;
        assert_eq!((s, l["total"].as_u64()), (200, Some(0)), "{path}: {l}");
    }
    // Still there for its manager, unchanged.
    let (s, still) = get(&app, &wang, &format!("/api/v1/customers/{id}")).await;
    assert_eq!((s, &still["version"]), (200, &json!(1)));
}

async fn a_supervisor_transfers_customers_and_a_stale_version_is_a_conflict(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let (wang_id, wang) = token(&app, "wang", "account_manager").await;
    let (_, boss) = token(&app, "zhao", "sales_supervisor").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (_, c) = post(
            &app,
            &li,
            "/api/v1/customers",
            json!({"name": format!("客户{i}")}),
        )
        .await;
        ids.push(c["id"].as_i64().unwrap());
    }
    let (s, out) = post(
        &app,
        &boss,
        "/api/v1/customers/transfer",
        json!({"ids": ids, "to_owner_id": wang_id}),
    )
    .await;
    assert_eq!((s, out), (200, json!({"moved": 3})));
    let (_, wangs) = get(&app, &wang, "/api/v1/customers").await;
    assert_eq!(wangs["total"], 3);
    let (_, lis) = get(&app, &li, "/api/v1/customers").await;
    assert_eq!(lis["total"], 0);

    // The transfer changed the version: an edit made from the old one is refused.
    let resp = bearer(
        &app,
        &wang,
        Method::PATCH,
        &format!("/api/v1/customers/{}", ids[0]),
        Some(json!({"name": "新名", "version": 1})),
    )
    .await;
    problem(resp, 409, "version_conflict").await;
}

async fn bad_input_is_a_problem_document_naming_the_fields_never_a_500(b: TestBackend) {
    let app = app(b).await;
    let (wang_id, _) = token(&app, "wang", "account_manager").await;
    let (_, li) = token(&app, "li", "account_manager").await;

    let resp = bearer(
        &app,
        &li,
        Method::POST,
        "/api/v1/customers",
        Some(json!({
            "name": "", "region": "999999", "satisfaction": 9, "phone": "12",
            "email": "x"
        })),
    )
    .await;
    problem(resp, 400, "malformed_json").await;

    let resp = bearer(
        &app,
        &li,
        Method::POST,
        "/api/v1/customers",
        Some(json!({
            "name": "", "region": "999999", "satisfaction": 9, "phone": "12",
            "registered_capital": "1.234", "tags": ["这个标签远远超过了二十个字符的长度限制啊啊啊"]
        })),
    )
    .await;
    let p = problem(resp, 422, "validation_failed").await;
    assert_eq!(
        field_names(&p),
        [
            "name",
            "region",
            "satisfaction",
            "phone",
            "registered_capital",
            "tags"
        ]
    );
    // A manager names only themselves as the manager.
    let resp = bearer(
        &app,
        &li,
        Method::POST,
        "/api/v1/customers",
        Some(json!({"name": "给王", "owner_id": wang_id})),
    )
    .await;
    let p = problem(resp, 422, "validation_failed").await;
    assert_eq!(field_names(&p), ["owner_id"]);

    let (_, c) = post(&app, &li, "/api/v1/customers", json!({"name": "华强"})).await;
    let id = c["id"].as_i64().unwrap();
    for (m, path, body, status, code) in [
        (
            Method::PATCH,
            format!("/api/v1/customers/{id}"),
            json!({"name": "x"}),
            422,
            "validation_failed",
        ),
        (
            Method::DELETE,
            format!("/api/v1/customers/{id}"),
            Value::Null,
            422,
            "validation_failed",
        ),
        (
            Method::GET,
            "/api/v1/customers?status=gone".into(),
            Value::Null,
            400,
            "malformed_query",
        ),
        (
            Method::GET,
            "/api/v1/customers?sort=password".into(),
            Value::Null,
            400,
            "malformed_query",
        ),
        (
            Method::GET,
            "/api/v1/customers?cursor=nope".into(),
            Value::Null,
            400,
            "invalid_cursor",
        ),
        (
            Method::GET,
            "/api/v1/customers?created_from=yesterday".into(),
            Value::Null,
            422,
            "validation_failed",
        ),
        (
            Method::GET,
            "/api/v1/customers/abc".into(),
            Value::Null,
            400,
            "malformed_path",
        ),
        (
            Method::POST,
            "/api/v1/customers/transfer".into(),
            json!({"ids": []}),
            422,
            "validation_failed",
        ),
        (
            Method::POST,
            format!("/api/v1/customers/{id}/contacts"),
            json!({"name": "张三", "email": "no"}),
            422,
            "validation_failed",
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let resp = bearer(&app, &li, m.clone(), &path, body).await;
        problem(resp, status, code).await;
    }
    // An executive reads no customers.
    let (_, exec) = token(&app, "gao", "executive").await;
    let resp = bearer(&app, &exec, Method::GET, "/api/v1/customers", None).await;
    problem(resp, 403, "forbidden").await;
}

async fn the_openapi_document_lists_the_customer_paths(b: TestBackend) {
    let app = app(b).await;
    let doc: Value = app
        .client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, method) in [
        ("/api/v1/customers", "get"),
        ("/api/v1/customers", "post"),
        ("/api/v1/customers/{id}", "patch"),
        ("/api/v1/customers/transfer", "post"),
        ("/api/v1/customers/{id}/contacts", "post"),
        ("/api/v1/contacts/{id}", "delete"),
        ("/api/v1/customers/{id}/activities", "get"),
        ("/api/v1/customers/{id}/activities", "post"),
        ("/api/v1/activities/{id}", "patch"),
        ("/api/v1/activities/{id}", "delete"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{path} {method}");
    }
    assert!(doc["components"]["schemas"]["CustomerOut"].is_object());
    assert!(doc["components"]["schemas"]["ActivityOut"].is_object());
    let tags = doc["tags"].as_array().unwrap();
    let customers = tags.iter().filter(|t| t["name"] == "customers").count();
    assert_eq!(customers, 1, "one customers tag: {tags:?}");
}

common::on_both! {
    a_manager_keeps_a_customer_with_contacts_from_create_to_trash_and_back,
    another_managers_customer_and_contact_are_not_found_on_every_route,
    a_supervisor_transfers_customers_and_a_stale_version_is_a_conflict,
    bad_input_is_a_problem_document_naming_the_fields_never_a_500,
    the_openapi_document_lists_the_customer_paths,
}
