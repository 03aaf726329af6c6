//! The order API over HTTP on SQLite and PostgreSQL: products and stock kept by a supervisor,
//! orders placed (in the past) and cancelled by an account manager with the customer's
//! `last_order_at` following, exact money and quantities, the scope matrix (another manager's
//! order ids are 404 on every route), and bad input as problem documents, never a 500.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kehu_testkit::json::{call, field_names, problem};
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

async fn post(app: &TestApp, t: &str, path: &str, body: Value) -> (u16, Value) {
    call(app, t, Method::POST, path, Some(body)).await
}

async fn get(app: &TestApp, t: &str, path: &str) -> (u16, Value) {
    call(app, t, Method::GET, path, None).await
}

/// A product made by `t` (a supervisor); its id.
async fn product(app: &TestApp, t: &str, name: &str, price: &str) -> i64 {
    let (s, p) = post(
        app,
        t,
        "/api/v1/products",
        json!({"name": name, "model": "M-1", "unit": "台", "price": price, "cost": "1.00"}),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    p["id"].as_i64().unwrap()
}

/// A customer of the manager holding `t`; its id.
async fn customer(app: &TestApp, t: &str, name: &str) -> i64 {
    let (s, c) = post(app, t, "/api/v1/customers", json!({"name": name})).await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_i64().unwrap()
}

async fn last_order_at(app: &TestApp, t: &str, customer: i64) -> Value {
    let (s, c) = get(app, t, &format!("/api/v1/customers/{customer}")).await;
    assert_eq!(s, 200, "{c}");
    c["last_order_at"].clone()
}

async fn a_customer_with_orders_is_not_deleted_for_good(b: TestBackend) {
    let app = app(b).await;
    let (_, admin) = token(&app, "boss", "admin").await;
    let paper = product(&app, &admin, "复印纸", "25.00").await;
    let with = customer(&app, &admin, "有订单公司").await;
    let without = customer(&app, &admin, "无订单公司").await;
    let (s, order) = post(
        &app,
        &admin,
        "/api/v1/orders",
        json!({"customer_id": with, "date": "2025-01-02", "lines": [{"product_id": paper, "quantity": 1}]}),
    )
    .await;
    assert_eq!(s, 201, "{order}");
    // To the trash (as read), then for good (as the trash answered).
    let mut trashed = Vec::new();
    for id in [with, without] {
        let (_, c) = get(&app, &admin, &format!("/api/v1/customers/{id}")).await;
        let at = format!("/api/v1/customers/{id}?version={}", c["version"]);
        let (s, c) = call(&app, &admin, Method::DELETE, &at, None).await;
        assert_eq!(s, 200, "to the trash: {c}");
        trashed.push(format!(
            "/api/v1/customers/{id}/purge?version={}",
            c["version"]
        ));
    }
    let (s, p) = call(&app, &admin, Method::DELETE, &trashed[0], None).await;
    assert_eq!((s, p["code"].as_str()), (409, Some("not_allowed")), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("订单"), "{p}");
    let (s, kept) = get(&app, &admin, &format!("/api/v1/orders/{}", order["id"])).await;
    assert_eq!((s, kept["number"].clone()), (200, order["number"].clone()));
    let (s, _) = call(&app, &admin, Method::DELETE, &trashed[1], None).await;
    assert_eq!(s, 204);
}

async fn a_manager_places_past_orders_and_cancels_one_and_the_last_order_follows(b: TestBackend) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhou", "sales_supervisor").await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let printer = product(&app, &sup, "激光打印机", "1299.50").await;
    let paper = product(&app, &sup, "复印纸", "25.00").await;
    // An account manager does not keep the product list.
    let (s, _) = post(
        &app,
        &li,
        "/api/v1/products",
        json!({"name": "x", "unit": "个", "price": "1"}),
    )
    .await;
    assert_eq!(s, 403);
    let c = customer(&app, &li, "广州华强电子").await;
    assert_eq!(last_order_at(&app, &li, c).await, Value::Null);

    let (s, first) = post(
        &app,
        &li,
        "/api/v1/orders",
        json!({
            "customer_id": c, "date": "2024-03-01", "delivery_address": "广州市天河区",
            "lines": [
                {"product_id": printer, "quantity": "1.5", "price": "12.50"},
                {"product_id": paper, "quantity": 4}
            ]
        }),
    )
    .await;
    assert_eq!(s, 201, "{first}");
    assert!(
        first["number"].as_str().unwrap().starts_with("DD"),
        "{first}"
    );
    assert_eq!(first["status"], "placed");
    assert_eq!(first["date"], "2024-03-01");
    assert_eq!(first["customer_name"], "广州华强电子");
    // 1.5 × 12.50 = 18.75; 4 × 25.00 (the product's price) = 100.00.
    assert_eq!(first["lines"][0]["total"], "18.75");
    assert_eq!(first["lines"][1]["price"], "25.00");
    assert_eq!(first["lines"][1]["unit"], "台");
    assert_eq!(first["total"], "118.75");
    // Midnight of 2024-03-01 in Asia/Shanghai.
    assert_eq!(
        last_order_at(&app, &li, c).await,
        json!("2024-02-29T16:00:00Z")
    );

    let (s, second) = post(
        &app,
        &li,
        "/api/v1/orders",
        json!({"customer_id": c, "date": "2025-01-10",
               "lines": [{"product_id": paper, "quantity": "1"}]}),
    )
    .await;
    assert_eq!(s, 201, "{second}");
    assert_ne!(first["number"], second["number"]);
    assert_eq!(
        last_order_at(&app, &li, c).await,
        json!("2025-01-09T16:00:00Z")
    );

    // Read back: one by one with lines, the list newest first, the customer's history.
    let id2 = second["id"].as_i64().unwrap();
    let (s, got) = get(&app, &li, &format!("/api/v1/orders/{id2}")).await;
    assert_eq!((s, got["lines"].as_array().unwrap().len()), (200, 1));
    let (s, list) = get(&app, &li, "/api/v1/orders").await;
    assert_eq!((s, list["total"].as_u64()), (200, Some(2)));
    assert_eq!(list["items"][0]["id"], id2);
    let (s, hist) = get(&app, &li, &format!("/api/v1/customers/{c}/orders")).await;
    assert_eq!((s, hist["total"].as_u64()), (200, Some(2)), "{hist}");
    for (q, n) in [
        ("status=placed", 2),
        ("date_from=2025-01-01", 1),
        ("date_to=2024-12-31", 1),
        ("min_total=100.00", 1),
        ("max_total=100", 1),
        ("max_total=24.99", 0),
        ("sort=-total", 2),
    ] {
        let (s, l) = get(&app, &li, &format!("/api/v1/orders?{q}")).await;
        assert_eq!((s, l["total"].as_u64()), (200, Some(n)), "{q}: {l}");
    }

    // Cancelling the latest order moves the last order back; a cancelled order stays so.
    let (s, cancelled) = post(
        &app,
        &li,
        &format!("/api/v1/orders/{id2}/cancel?version=1"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, &cancelled["status"]),
        (200, &json!("cancelled")),
        "{cancelled}"
    );
    assert_eq!(
        last_order_at(&app, &li, c).await,
        json!("2024-02-29T16:00:00Z")
    );
    let resp = bearer(
        &app,
        &li,
        Method::POST,
        &format!("/api/v1/orders/{id2}/cancel?version=2"),
        None,
    )
    .await;
    let p = problem(resp, 409, "not_allowed").await;
    assert_eq!(p["reason"], "err-order-not-placed");
    // A stale version is a conflict; the right one cancels the other order too.
    let id1 = first["id"].as_i64().unwrap();
    let resp = bearer(
        &app,
        &li,
        Method::POST,
        &format!("/api/v1/orders/{id1}/cancel?version=7"),
        None,
    )
    .await;
    problem(resp, 409, "version_conflict").await;
    let (s, _) = post(
        &app,
        &li,
        &format!("/api/v1/orders/{id1}/cancel?version=1"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(last_order_at(&app, &li, c).await, Value::Null);

    // The audit log has the order's creation and cancellation.
    let admin = app.token_for("admin").await;
    let (s, audit) = get(&app, &admin, "/api/v1/audit?entity=order").await;
    assert_eq!(s, 200, "{audit}");
    assert!(audit["total"].as_u64().unwrap() >= 4, "{audit}");
}

async fn money_and_quantities_are_exact_decimals(b: TestBackend) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhou", "sales_supervisor").await;
    let dime = product(&app, &sup, "螺丝", "0.10").await;
    let c = customer(&app, &sup, "精确客户").await;
    let (s, o) = post(
        &app,
        &sup,
        "/api/v1/orders",
        json!({"customer_id": c, "date": "2026-01-05", "lines": [
            {"product_id": dime, "quantity": "1"},
            {"product_id": dime, "quantity": "1", "price": "0.20"},
            {"product_id": dime, "quantity": "0.333", "price": "1.00"},
            {"product_id": dime, "quantity": 0.125, "price": "8"}
        ]}),
    )
    .await;
    assert_eq!(s, 201, "{o}");
    let totals: Vec<&str> = o["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["total"].as_str().unwrap())
        .collect();
    assert_eq!(totals, ["0.10", "0.20", "0.33", "1.00"]);
    assert_eq!(o["lines"][2]["quantity"], "0.333");
    assert_eq!(o["lines"][3]["quantity"], "0.125");
    assert_eq!(o["total"], "1.63");
    let (_, p) = get(&app, &sup, &format!("/api/v1/products/{dime}")).await;
    assert_eq!((&p["price"], &p["cost"]), (&json!("0.10"), &json!("1.00")));
}

async fn bad_order_input_is_a_field_error_and_another_managers_customer_is_not_found(
    b: TestBackend,
) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhou", "sales_supervisor").await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let (_, wang) = token(&app, "wang", "account_manager").await;
    let p = product(&app, &sup, "打印机", "100").await;
    let mine = customer(&app, &li, "李的客户").await;
    let theirs = customer(&app, &wang, "王的客户").await;

    let cases: Vec<(Value, u16, &str, Vec<&str>)> = vec![
        (
            json!({"customer_id": mine, "date": "2026-01-01",
                   "lines": [{"product_id": p, "quantity": "-2"}]}),
            422,
            "validation_failed",
            vec!["lines[0].quantity"],
        ),
        (
            json!({"customer_id": mine, "date": "2026-01-01",
                   "lines": [{"product_id": 999_999, "quantity": "1"}]}),
            422,
            "validation_failed",
            vec!["lines[0].product_id"],
        ),
        (
            json!({"customer_id": mine, "date": "2026-01-01",
                   "lines": [{"product_id": p, "quantity": "1", "price": "12.345"}]}),
            422,
            "validation_failed",
            vec!["lines[0].price"],
        ),
        (
            json!({"customer_id": mine, "date": "2999-01-01", "lines": []}),
            422,
            "validation_failed",
            vec!["date", "lines"],
        ),
        (
            json!({"customer_id": theirs, "date": "2026-01-01",
                   "lines": [{"product_id": p, "quantity": "1"}]}),
            404,
            "not_found",
            vec![],
        ),
    ];
    for (body, status, code, fields) in cases {
        let resp = bearer(
            &app,
            &li,
            Method::POST,
            "/api/v1/orders",
            Some(body.clone()),
        )
        .await;
        let pr = problem(resp, status, code).await;
        assert_eq!(field_names(&pr), fields, "{body}: {pr}");
    }
    // The stable codes per field.
    let resp = bearer(
        &app,
        &li,
        Method::POST,
        "/api/v1/orders",
        Some(json!({"customer_id": mine, "date": "2026-01-01",
                    "lines": [{"product_id": p, "quantity": "1", "price": "abc"}]})),
    )
    .await;
    let pr = problem(resp, 422, "validation_failed").await;
    assert_eq!(pr["errors"][0]["code"], "err-money");
    let resp = bearer(
        &app,
        &sup,
        Method::POST,
        "/api/v1/products",
        Some(json!({"name": "x", "unit": "个", "price": "1,2.3.4"})),
    )
    .await;
    let pr = problem(resp, 422, "validation_failed").await;
    assert_eq!(field_names(&pr), ["price"]);
    // Nothing was written by the refused orders.
    let (_, l) = get(&app, &li, "/api/v1/orders").await;
    assert_eq!(l["total"], 0);
    assert_eq!(last_order_at(&app, &li, mine).await, Value::Null);
}

async fn another_managers_orders_are_not_found_on_every_route(b: TestBackend) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhou", "sales_supervisor").await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let (_, wang) = token(&app, "wang", "account_manager").await;
    let p = product(&app, &sup, "打印机", "100").await;
    let c = customer(&app, &wang, "王的客户").await;
    let (_, o) = post(
        &app,
        &wang,
        "/api/v1/orders",
        json!({"customer_id": c, "date": "2026-01-01",
               "lines": [{"product_id": p, "quantity": "1"}]}),
    )
    .await;
    let id = o["id"].as_i64().unwrap();
    let routes: Vec<(Method, String)> = vec![
        (Method::GET, format!("/api/v1/orders/{id}")),
        (
            Method::POST,
            format!("/api/v1/orders/{id}/cancel?version=1"),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{id}/deliver?version=1"),
        ),
        (Method::GET, format!("/api/v1/customers/{c}/orders")),
    ];
    for (m, path) in &routes {
        let resp = bearer(&app, &li, m.clone(), path, None).await;
        problem(resp, 404, "not_found").await;
    }
    let (_, l) = get(&app, &li, "/api/v1/orders").await;
    assert_eq!(l["total"], 0, "{l}");
    let (_, l) = get(&app, &li, &format!("/api/v1/orders?customer_id={c}")).await;
    assert_eq!(l["total"], 0, "{l}");
    // The owner and a supervisor reach it; the order is untouched.
    for t in [&wang, &sup] {
        let (s, got) = get(&app, t, &format!("/api/v1/orders/{id}")).await;
        assert_eq!(
            (s, &got["status"], &got["version"]),
            (200, &json!("placed"), &json!(1))
        );
    }
    let (s, d) = post(
        &app,
        &wang,
        &format!("/api/v1/orders/{id}/deliver?version=1"),
        json!({}),
    )
    .await;
    assert_eq!((s, &d["status"]), (200, &json!("delivered")));
    // An executive reads no orders.
    let (_, exec) = token(&app, "gao", "executive").await;
    let resp = bearer(&app, &exec, Method::GET, "/api/v1/orders", None).await;
    problem(resp, 403, "forbidden").await;
}

async fn stock_is_queried_by_product_and_warehouse_and_a_product_on_an_order_stays(b: TestBackend) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhou", "sales_supervisor").await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let printer = product(&app, &sup, "激光打印机", "1299").await;
    let paper = product(&app, &sup, "复印纸", "25").await;
    for (p, w, l, q) in [
        (printer, "广州仓", "A-01", json!("3")),
        (printer, "北京仓", "", json!(0)),
        (paper, "广州仓", "B-02", json!("120.5")),
    ] {
        let (s, row) = post(
            &app,
            &sup,
            "/api/v1/stock",
            json!({"product_id": p, "warehouse": w, "location": l, "quantity": q}),
        )
        .await;
        assert_eq!(s, 201, "{row}");
    }
    let resp = bearer(
        &app,
        &sup,
        Method::POST,
        "/api/v1/stock",
        Some(json!({"product_id": printer, "warehouse": "广州仓", "location": "A-01", "quantity": 1})),
    )
    .await;
    problem(resp, 409, "already_exists").await;
    let resp = bearer(
        &app,
        &sup,
        Method::POST,
        "/api/v1/stock",
        Some(json!({"product_id": printer, "warehouse": "广州仓", "quantity": "-1"})),
    )
    .await;
    let pr = problem(resp, 422, "validation_failed").await;
    assert_eq!(field_names(&pr), ["quantity"]);

    for (q, n) in [
        ("", 3),
        ("q=激光", 2),
        ("q=m-1", 3),
        ("warehouse=广州仓", 2),
        ("q=复印&warehouse=广州仓", 1),
        (&format!("product_id={paper}") as &str, 1),
    ] {
        let (s, l) = get(&app, &li, &format!("/api/v1/stock?{q}")).await;
        assert_eq!((s, l["total"].as_u64()), (200, Some(n)), "{q}: {l}");
    }
    let (_, l) = get(&app, &li, "/api/v1/stock?q=复印").await;
    assert_eq!(l["items"][0]["quantity"], "120.5");
    let (_, l) = get(&app, &li, "/api/v1/products?q=激光").await;
    assert_eq!(l["total"], 1);

    // A product on an order is refused deletion; one on none goes, its stock with it.
    let c = customer(&app, &li, "客户").await;
    let (s, _) = post(
        &app,
        &li,
        "/api/v1/orders",
        json!({"customer_id": c, "date": "2026-01-01",
               "lines": [{"product_id": printer, "quantity": "1"}]}),
    )
    .await;
    assert_eq!(s, 201);
    let resp = bearer(
        &app,
        &sup,
        Method::DELETE,
        &format!("/api/v1/products/{printer}?version=1"),
        None,
    )
    .await;
    let pr = problem(resp, 409, "not_allowed").await;
    assert_eq!(pr["reason"], "err-product-in-use");
    let (s, _) = call(
        &app,
        &sup,
        Method::DELETE,
        &format!("/api/v1/products/{paper}?version=1"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (_, l) = get(&app, &li, "/api/v1/stock").await;
    assert_eq!(l["total"], 2);
    // A patch changes the named fields and keeps the rest.
    let (s, p) = call(
        &app,
        &sup,
        Method::PATCH,
        &format!("/api/v1/products/{printer}"),
        Some(json!({"price": "1099.00", "cost": null, "version": 1})),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        (&p["price"], &p["cost"], &p["name"]),
        (&json!("1099.00"), &Value::Null, &json!("激光打印机"))
    );
}

async fn the_order_list_pages_by_date_with_cursors(b: TestBackend) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhou", "sales_supervisor").await;
    let p = product(&app, &sup, "纸", "1").await;
    let c = customer(&app, &sup, "客户").await;
    for d in [
        "2025-01-01",
        "2025-02-01",
        "2025-02-01",
        "2025-03-01",
        "2025-04-01",
    ] {
        let (s, _) = post(
            &app,
            &sup,
            "/api/v1/orders",
            json!({"customer_id": c, "date": d, "lines": [{"product_id": p, "quantity": "1"}]}),
        )
        .await;
        assert_eq!(s, 201);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/orders?per_page=2".to_owned();
    loop {
        let (s, l) = get(&app, &sup, &path).await;
        assert_eq!(s, 200, "{l}");
        for o in l["items"].as_array().unwrap() {
            seen.push(o["date"].as_str().unwrap().to_owned());
        }
        match l["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/orders?per_page=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "2025-04-01",
            "2025-03-01",
            "2025-02-01",
            "2025-02-01",
            "2025-01-01"
        ]
    );
    let resp = bearer(
        &app,
        &sup,
        Method::GET,
        "/api/v1/orders?cursor=nonsense",
        None,
    )
    .await;
    problem(resp, 400, "invalid_cursor").await;
}

async fn the_openapi_document_lists_the_order_paths(b: TestBackend) {
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
        ("/api/v1/products", "post"),
        ("/api/v1/products/{id}", "patch"),
        ("/api/v1/stock", "get"),
        ("/api/v1/orders", "post"),
        ("/api/v1/orders/{id}/cancel", "post"),
        ("/api/v1/customers/{id}/orders", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{path} {method}");
    }
}

common::on_both! {
    a_customer_with_orders_is_not_deleted_for_good,
    a_manager_places_past_orders_and_cancels_one_and_the_last_order_follows,
    money_and_quantities_are_exact_decimals,
    bad_order_input_is_a_field_error_and_another_managers_customer_is_not_found,
    another_managers_orders_are_not_found_on_every_route,
    stock_is_queried_by_product_and_warehouse_and_a_product_on_an_order_stays,
    the_order_list_pages_by_date_with_cursors,
    the_openapi_document_lists_the_order_paths,
}
