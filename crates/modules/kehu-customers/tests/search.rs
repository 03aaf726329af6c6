//! The header search over customers and contacts, on SQLite and PostgreSQL, through the API
//! (`GET /api/v1/search`) and the search page: a contact found by `zhangsan`, `zs`, `张三`,
//! digits of its mobile and part of its email, a customer by `chongqing` and `cq`; the index
//! follows every write (rename, trash, restore, transfer, purge, a contact's edit and delete);
//! a manager never finds another manager's records; bad queries are problem documents.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kehu_testkit::json::{call, problem};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, TestBackend, bearer};
use serde_json::{Value, json};

mod common;
use common::app;

const PW: &str = "lang-genug-123";

async fn token(app: &TestApp, username: &str, role: &str) -> (i64, String) {
    let id = app.create_user(username, role, PW).await;
    (id, app.token_for(username).await)
}

async fn post(app: &TestApp, t: &str, path: &str, body: Value) -> Value {
    let (s, v) = call(app, t, Method::POST, path, Some(body)).await;
    assert!(s == 200 || s == 201, "POST {path}: {s} {v}");
    v
}

/// What `q` finds for the holder of `t`: `kind:title` per hit, best first.
async fn found(app: &TestApp, t: &str, q: &str) -> Vec<String> {
    let path = format!(
        "/api/v1/search?{}",
        serde_urlencoded::to_string([("q", q), ("limit", "50")]).unwrap()
    );
    let (s, v) = call(app, t, Method::GET, &path, None).await;
    assert_eq!(s, 200, "{q}: {v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}:{}",
                h["kind"].as_str().unwrap(),
                h["title"].as_str().unwrap()
            )
        })
        .collect()
}

/// A customer of the holder of `t` named `name`, with one contact; their ids.
async fn customer_with_contact(
    app: &TestApp,
    t: &str,
    name: &str,
    phone: &str,
    contact: Value,
) -> (i64, i64) {
    let c = post(
        app,
        t,
        "/api/v1/customers",
        json!({"name": name, "phone": phone}),
    )
    .await;
    let id = c["id"].as_i64().unwrap();
    let k = post(app, t, &format!("/api/v1/customers/{id}/contacts"), contact).await;
    (id, k["id"].as_i64().unwrap())
}

async fn customers_and_contacts_are_found_by_chinese_pinyin_initials_phone_and_email(
    b: TestBackend,
) {
    let app = app(b).await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let (cq, zhang) = customer_with_contact(
        &app,
        &li,
        "重庆火锅餐饮",
        "023-6888 1234",
        json!({"name": "张三", "mobile": "13912345678", "email": "Zhang.San@Example.com"}),
    )
    .await;
    post(
        &app,
        &li,
        "/api/v1/customers",
        json!({"name": "北京李四商贸"}),
    )
    .await;

    for q in [
        "zhangsan",
        "zs",
        "张三",
        "张",
        "5678",
        "139 1234",
        "san@example",
    ] {
        let hits = found(&app, &li, q).await;
        assert!(hits.contains(&"contact:张三".to_owned()), "{q}: {hits:?}");
        assert!(!hits.iter().any(|h| h.contains("李四")), "{q}: {hits:?}");
    }
    for q in ["chongqing", "cq", "重庆", "火锅", "6888", "02368881234"] {
        let hits = found(&app, &li, q).await;
        assert_eq!(
            hits.first().map(String::as_str),
            Some("customer:重庆火锅餐饮"),
            "{q}: {hits:?}"
        );
    }
    assert_eq!(found(&app, &li, "lisi").await, ["customer:北京李四商贸"]);
    assert!(found(&app, &li, "wangwu").await.is_empty());

    // A hit says what it is, where it opens and what tells it apart.
    let (_, v) = call(&app, &li, Method::GET, "/api/v1/search?q=zs", None).await;
    let hit = &v["items"][0];
    assert_eq!(hit["kind"], "contact");
    assert_eq!(hit["id"], zhang);
    assert_eq!(hit["subtitle"], "重庆火锅餐饮");
    assert_eq!(hit["rank"], "exact");
    assert_eq!(hit["href"], format!("/contacts/{zhang}"));
    let (_, v) = call(&app, &li, Method::GET, "/api/v1/search?q=cq", None).await;
    assert_eq!(v["items"][0]["href"], format!("/customers/{cq}"));
    assert!(
        v["items"][0]["subtitle"]
            .as_str()
            .unwrap()
            .starts_with("KH")
    );
    // The customer's code finds it too.
    let code = v["items"][0]["subtitle"].as_str().unwrap().to_owned();
    assert_eq!(found(&app, &li, &code).await, ["customer:重庆火锅餐饮"]);
}

async fn the_search_follows_renames_trash_restore_transfer_and_deletes(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let (wang_id, wang) = token(&app, "wang", "account_manager").await;
    let (_, boss) = token(&app, "zhao", "sales_supervisor").await;
    let (id, zhang) = customer_with_contact(
        &app,
        &li,
        "华强电子",
        "0755-8888 1234",
        json!({"name": "张三", "mobile": "13912345678"}),
    )
    .await;
    let at = |p: &str| format!("/api/v1/customers/{id}{p}");

    // Renamed: found by the new name only; the contact shows the new customer name.
    let (s, _) = call(
        &app,
        &li,
        Method::PATCH,
        &at(""),
        Some(json!({"name": "长城物流", "version": 1})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(found(&app, &li, "changcheng").await, ["customer:长城物流"]);
    assert!(found(&app, &li, "华强").await.is_empty());
    assert!(found(&app, &li, "huaqiang").await.is_empty());
    let (_, v) = call(&app, &li, Method::GET, "/api/v1/search?q=zhangsan", None).await;
    assert_eq!(v["items"][0]["subtitle"], "长城物流");

    // A contact renamed: the old name finds nothing.
    let (s, _) = call(
        &app,
        &li,
        Method::PATCH,
        &format!("/api/v1/contacts/{zhang}"),
        Some(json!({"name": "张四", "version": 1})),
    )
    .await;
    assert_eq!(s, 200);
    assert!(found(&app, &li, "zhangsan").await.is_empty());
    assert_eq!(found(&app, &li, "zhangsi").await, ["contact:张四"]);

    // In the trash: neither it nor its contact; restored: both again.
    let (s, _) = call(&app, &li, Method::DELETE, &at("?version=2"), None).await;
    assert_eq!(s, 200);
    assert!(found(&app, &li, "changcheng").await.is_empty());
    assert!(found(&app, &li, "zhangsi").await.is_empty());
    post(&app, &li, &at("/restore?version=3"), json!({})).await;
    assert_eq!(found(&app, &li, "changcheng").await, ["customer:长城物流"]);
    assert_eq!(found(&app, &li, "12345678").await, ["contact:张四"]);

    // Transferred: the new manager finds it and its contact, the old one neither.
    post(
        &app,
        &boss,
        "/api/v1/customers/transfer",
        json!({"ids": [id], "to_owner_id": wang_id}),
    )
    .await;
    assert_eq!(found(&app, &wang, "ccwl").await, ["customer:长城物流"]);
    assert_eq!(found(&app, &wang, "zs").await, ["contact:张四"]);
    assert!(found(&app, &li, "ccwl").await.is_empty());
    assert!(found(&app, &li, "zs").await.is_empty());

    // A contact deleted is not found; a customer deleted for good takes its contacts along.
    let k = post(
        &app,
        &wang,
        &at("/contacts"),
        json!({"name": "王五", "email": "wangwu@example.com"}),
    )
    .await;
    let (s, _) = call(
        &app,
        &wang,
        Method::DELETE,
        &format!("/api/v1/contacts/{}?version=1", k["id"]),
        None,
    )
    .await;
    assert_eq!(s, 204);
    assert!(found(&app, &wang, "wangwu").await.is_empty());
    let admin = app.token_for("admin").await;
    assert_eq!(found(&app, &admin, "zs").await, ["contact:张四"]);
    let (_, c) = call(&app, &admin, Method::GET, &at(""), None).await;
    let purge = at(&format!("/purge?version={}", c["version"]));
    let (s, _) = call(&app, &admin, Method::DELETE, &purge, None).await;
    assert_eq!(s, 204);
    assert!(found(&app, &admin, "zs").await.is_empty());
    assert!(found(&app, &admin, "ccwl").await.is_empty());
}

async fn a_manager_never_finds_another_managers_customers_in_the_page_or_the_api(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let (_, wang) = token(&app, "wang", "account_manager").await;
    let (_, boss) = token(&app, "zhao", "sales_supervisor").await;
    let (_, ceo) = token(&app, "qian", "executive").await;
    let (li_c, li_k) = customer_with_contact(
        &app,
        &li,
        "张三五金",
        "010-6666 1234",
        json!({"name": "张三", "mobile": "13900001234"}),
    )
    .await;
    let (wang_c, wang_k) = customer_with_contact(
        &app,
        &wang,
        "张三建材",
        "010-6666 5678",
        json!({"name": "张三丰", "mobile": "13900005678"}),
    )
    .await;

    for q in ["张三", "zhangsan", "zs", "6666", "139000"] {
        let lis = found(&app, &li, q).await;
        assert!(!lis.is_empty(), "{q}");
        assert!(
            lis.iter()
                .all(|h| !h.contains("建材") && !h.contains("张三丰")),
            "{q}: {lis:?}"
        );
        let wangs = found(&app, &wang, q).await;
        assert!(
            wangs
                .iter()
                .all(|h| !h.contains("五金") && *h != "contact:张三"),
            "{q}: {wangs:?}"
        );
        assert_eq!(
            found(&app, &boss, q).await.len(),
            lis.len() + wangs.len(),
            "{q}"
        );
    }
    // Without `customer.read` there is nothing to find, and that is no error.
    assert!(found(&app, &ceo, "张三").await.is_empty());

    // The page: li's sections link to li's records only.
    let page = |user: &'static str| {
        let app = &app;
        async move {
            let s = app.login(user, PW).await;
            let r = s.get("/search?q=%E5%BC%A0%E4%B8%89").await;
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    let html = page("li").await;
    assert!(html.contains("id=\"results-customer\""), "{html}");
    assert!(html.contains("id=\"results-contact\""), "{html}");
    assert!(
        html.contains(&format!("href=\"/customers/{li_c}\"")),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"/contacts/{li_k}\"")),
        "{html}"
    );
    assert!(
        !html.contains(&format!("href=\"/customers/{wang_c}\"")),
        "{html}"
    );
    assert!(
        !html.contains(&format!("href=\"/contacts/{wang_k}\"")),
        "{html}"
    );
    assert!(!html.contains("张三建材"), "{html}");
    let html = page("zhao").await;
    assert!(
        html.contains(&format!("href=\"/customers/{wang_c}\"")),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"/customers/{li_c}\"")),
        "{html}"
    );
    let html = page("qian").await;
    assert!(!html.contains("results-customer"), "{html}");
    assert!(!html.contains("张三五金"), "{html}");
}

async fn a_bad_search_query_is_a_problem_document_never_a_500(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = token(&app, "li", "account_manager").await;
    for (path, code) in [
        ("/api/v1/search", "query_required"),
        ("/api/v1/search?q=", "query_required"),
        ("/api/v1/search?q=%20%20", "query_required"),
        ("/api/v1/search?q=a&limit=0", "parameter_out_of_range"),
        ("/api/v1/search?q=a&limit=101", "parameter_out_of_range"),
        ("/api/v1/search?q=a&limit=ten", "malformed_query"),
    ] {
        let resp = bearer(&app, &li, Method::GET, path, None).await;
        let p = problem(resp, 400, code).await;
        assert!(p["errors"].to_string().contains('"'), "{path}: {p}");
    }
    // A long query is cut to its first 64 characters, as documented.
    let long = "张".repeat(2000);
    let (s, v) = call(
        &app,
        &li,
        Method::GET,
        &format!("/api/v1/search?q={long}"),
        None,
    )
    .await;
    assert_eq!(
        (s, v["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{v}"
    );
    let unauthenticated = app
        .client()
        .get(app.url("/api/v1/search?q=a"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);

    let (_, doc) = call(&app, &li, Method::GET, "/api/openapi.json", None).await;
    let op = &doc["paths"]["/api/v1/search"]["get"];
    assert!(op["responses"]["400"].is_object(), "{op}");
    assert!(op.to_string().contains("64 characters"), "{op}");
    assert!(doc["components"]["schemas"]["SearchHitOut"].is_object());
}

common::on_both! {
    customers_and_contacts_are_found_by_chinese_pinyin_initials_phone_and_email,
    the_search_follows_renames_trash_restore_transfer_and_deletes,
    a_manager_never_finds_another_managers_customers_in_the_page_or_the_api,
    a_bad_search_query_is_a_problem_document_never_a_500,
}
