//! The kit's import page (`/import`) on SQLite and PostgreSQL, with the modules' kinds:
//! upload a GBK customer file, see the detected encoding, the columns and a preview with each
//! bad row's reason, change a column, run it, follow the progress to the summary and download
//! the rejected rows; products and then orders of them imported the same way, each kind only
//! by a user with its right; an upload over the limit is a 413 with a message, and a 2 GB
//! upload is refused before its body is read.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{Read, Write};
use std::time::Duration;

use kehu_testkit::reqwest::Method;
use kehu_testkit::{Session, TestApp, TestBackend, spawn_app_with_modules_and};
use kehu_web::Modules;

fn modules() -> Modules {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_orders::module());
    modules.push(kehu_loss::module());
    Modules::new(modules).unwrap()
}

async fn app_with_limit(b: TestBackend, mb: u64) -> TestApp {
    spawn_app_with_modules_and(b, modules(), |c| c.import_max_mb = mb).await
}

const BOUNDARY: &str = "kehu-test-boundary-7f3a";

/// A multipart body as a browser sends the upload form.
fn form(csrf: &str, kind: &str, file: &[u8]) -> Vec<u8> {
    form_named(csrf, kind, "skip", "客户.csv", file)
}

fn form_named(csrf: &str, kind: &str, on_duplicate: &str, name: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in [
        ("csrf", csrf),
        ("kind", kind),
        ("on_duplicate", on_duplicate),
    ] {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(s: &Session, body: Vec<u8>) -> kehu_testkit::reqwest::Response {
    s.client
        .post(s.url("/import"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

kehu_testkit::on_both!(
    an_upload_is_mapped_previewed_run_and_summarised,
    products_then_their_orders_are_imported_on_the_same_page,
    an_imported_order_wins_back_a_customer_warned_of_loss,
    an_upload_over_the_limit_is_refused_with_413,
    a_slow_upload_is_not_cut_by_the_request_timeout,
);

async fn an_upload_is_mapped_previewed_run_and_summarised(b: TestBackend) {
    let app = app_with_limit(b, 8).await;
    let mut s = app.admin().await;
    s.refresh_csrf().await;
    let page = s.get("/import").await;
    assert_eq!(page.status(), 200);
    // The list offers the import and the exports with the list's filters.
    let list = s
        .get("/customers?region=440000")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("href=\"/import?kind=customers\""), "{list}");
    assert!(
        list.contains("/api/v1/customers/export?format=xlsx&#38;region=440000"),
        "{list}"
    );

    let text = "名称,地区,手机,联系人\r\n甲公司,广东省,13800138000,张三\r\n乙公司,火星,,\r\n丙公司,北京市,12,李四\r\n";
    let gbk = encoding_rs::GBK.encode(text).0.into_owned();
    let r = upload(&s, form(&s.csrf, "customers", &gbk)).await;
    assert_eq!(r.status(), 303);
    let job = r.headers()["location"].to_str().unwrap().to_owned();
    let map = s.get(&job).await;
    assert_eq!(map.status(), 200);
    let html = map.text().await.unwrap();
    assert!(html.contains("GBK"), "the detected encoding is shown");
    // `名称` matches no title: the name field has no column until the user picks one.
    assert!(
        html.contains("<option value=\"2\" selected>手机</option>"),
        "{html}"
    );
    assert!(html.contains("地区：数据字典中没有这个值。"), "{html}");
    let r = s
        .post_form(
            &format!("{job}/start"),
            &[("col_region", "1"), ("col_mobile", "2")],
        )
        .await;
    assert_eq!(r.status(), 422, "the required name has no column");
    assert!(r.text().await.unwrap().contains("客户名称"));
    let r = s
        .post_form(
            &format!("{job}/start"),
            &[
                ("col_name", "0"),
                ("col_region", "1"),
                ("col_mobile", "2"),
                ("col_contact_name", "3"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let status = finished(&s, &job).await;
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(
        status["summary"],
        "imported 1, updated 0, skipped 0, rejected 2"
    );
    let done = s.get(&job).await.text().await.unwrap();
    assert!(done.contains("id=\"download-rejects\""), "{done}");
    let rejects = s.get(&format!("{job}/rejects")).await;
    assert_eq!(rejects.status(), 200);
    let csv = rejects.text().await.unwrap();
    assert!(
        csv.contains("丙公司,北京市,12,李四,4,手机：不是有效的电话号码。"),
        "{csv}"
    );
    // Someone else's job is not found.
    app.create_user("li", "account_manager", "lang-genug-123")
        .await;
    let li = app.login("li", "lang-genug-123").await;
    assert_eq!(li.get(&job).await.status(), 404);
}

/// Uploads `file` as `kind` with `on_duplicate` (which the mapping page keeps), runs it with
/// the columns `mapping` and waits for its summary.
async fn run_file(
    s: &Session,
    (kind, on_duplicate): (&str, &str),
    name: &str,
    file: &str,
    mapping: &[(&str, &str)],
) -> serde_json::Value {
    let r = upload(
        s,
        form_named(&s.csrf, kind, on_duplicate, name, file.as_bytes()),
    )
    .await;
    assert_eq!(r.status(), 303);
    let job = r.headers()["location"].to_str().unwrap().to_owned();
    let page = s.get(&job).await;
    assert_eq!(page.status(), 200, "the mapping page");
    let html = page.text().await.unwrap();
    let chosen = format!("<option value=\"{on_duplicate}\" selected>");
    assert!(html.contains(&chosen), "{html}");
    let r = s.post_form(&format!("{job}/start"), mapping).await;
    assert_eq!(r.status(), 303);
    finished(s, &job).await
}

async fn an_imported_order_wins_back_a_customer_warned_of_loss(b: TestBackend) {
    // Arrange: a customer whose last order was eight months ago, warned by the loss scan.
    let app = app_with_limit(b, 8).await;
    let mut s = app.admin().await;
    s.refresh_csrf().await;
    let token = app.token_for("admin").await;
    let api = |method, path: String, body| {
        let token = token.clone();
        let app = &app;
        async move { kehu_testkit::json::call(app, &token, method, &path, body).await }
    };
    let body = serde_json::json!({"name": "静音轴承", "unit": "个", "price": "12.50"});
    let (_, p) = api(Method::POST, "/api/v1/products".into(), Some(body)).await;
    let body = serde_json::json!({"name": "久未下单公司", "region": "440000"});
    let (_, c) = api(Method::POST, "/api/v1/customers".into(), Some(body)).await;
    let id = c["id"].as_i64().unwrap();
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let today = chrono::Utc::now().with_timezone(&beijing).date_naive();
    let long_ago = today - chrono::Days::new(240);
    let body = serde_json::json!({"customer_id": id, "date": long_ago.to_string(),
        "lines": [{"product_id": p["id"], "quantity": "1"}]});
    let (status, _) = api(Method::POST, "/api/v1/orders".into(), Some(body)).await;
    assert_eq!(status, 201);
    let (_, run) = api(Method::POST, "/api/v1/jobs/loss-scan".into(), None).await;
    assert_eq!(run["figures"]["warned"], 1, "{run}");

    // Act: this week's orders arrive in a file.
    let file = format!(
        "订单号,客户名称,订单日期,产品名称,数量\r\nD-9,久未下单公司,{today},静音轴承,4\r\n"
    );
    let columns = [
        ("col_number", "0"),
        ("col_customer", "1"),
        ("col_date", "2"),
        ("col_product", "3"),
        ("col_quantity", "4"),
    ];
    let status = run_file(&s, ("orders", "skip"), "订单.csv", &file, &columns).await;

    // Assert: the warning closed as won back by the imported order, the customer active.
    assert_eq!(
        status["summary"], "imported 1, updated 0, skipped 0, rejected 0",
        "{status}"
    );
    let (_, records) = api(
        Method::GET,
        format!("/api/v1/loss-records?customer_id={id}"),
        None,
    )
    .await;
    let r = &records["items"][0];
    assert_eq!(r["status"], "won_back", "{records}");
    let (_, orders) = api(Method::GET, format!("/api/v1/customers/{id}/orders"), None).await;
    let imported = orders["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["number"] == "D-9")
        .unwrap();
    assert_eq!(r["won_back_order_id"], imported["id"], "{orders}");
    let (_, c) = api(Method::GET, format!("/api/v1/customers/{id}"), None).await;
    assert_eq!(c["status"], "active", "{c}");
}

/// The status of job `job` once it no longer runs (or after ten seconds).
async fn finished(s: &Session, job: &str) -> serde_json::Value {
    let mut status = serde_json::Value::Null;
    for _ in 0..100 {
        status = s.get(&format!("{job}/status")).await.json().await.unwrap();
        if status["state"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    status
}

async fn products_then_their_orders_are_imported_on_the_same_page(b: TestBackend) {
    // Arrange: a customer to order, and a manager who may not import products.
    let app = app_with_limit(b, 8).await;
    let mut s = app.admin().await;
    s.refresh_csrf().await;
    let token = app.token_for("admin").await;
    let api = |method, path: String, body| {
        let token = token.clone();
        let app = &app;
        async move { kehu_testkit::json::call(app, &token, method, &path, body).await }
    };
    let (status, customer) = api(
        Method::POST,
        "/api/v1/customers".into(),
        Some(serde_json::json!({"name": "导入订单客户", "region": "440000"})),
    )
    .await;
    assert_eq!(status, 201, "{customer}");
    let page = s.get("/import?kind=products").await.text().await.unwrap();
    assert!(
        page.contains("<option value=\"products\" selected>产品</option>"),
        "{page}"
    );
    let products = s.get("/products").await.text().await.unwrap();
    assert!(
        products.contains("href=\"/import?kind=products\""),
        "{products}"
    );

    // Act: a product file, then an order file naming them (one row per line).
    let file =
        "产品名称,规格型号,计量单位,单价\r\n静音轴承,6204,个,12.50\r\n齿轮泵,CB-B,台,880\r\n";
    let columns = [
        ("col_name", "0"),
        ("col_model", "1"),
        ("col_unit", "2"),
        ("col_price", "3"),
    ];
    let status = run_file(&s, ("products", "skip"), "产品.csv", file, &columns).await;
    assert_eq!(
        status["summary"],
        "imported 2, updated 0, skipped 0, rejected 0"
    );
    // The same products again at new prices, to update.
    let file = file.replace("12.50", "13.00");
    let status = run_file(&s, ("products", "update"), "产品.csv", &file, &columns).await;
    assert_eq!(
        status["summary"],
        "imported 0, updated 2, skipped 0, rejected 0"
    );
    let file = "订单号,客户名称,订单日期,送货地址,产品名称,数量,单价\r\n\
                D-1,导入订单客户,2026-03-01,广州市天河路1号,静音轴承,10,12.50\r\n\
                D-1,导入订单客户,2026-03-01,广州市天河路1号,齿轮泵,1,880\r\n";
    let columns = [
        ("col_number", "0"),
        ("col_customer", "1"),
        ("col_date", "2"),
        ("col_delivery_address", "3"),
        ("col_product", "4"),
        ("col_quantity", "5"),
        ("col_price", "6"),
    ];
    let status = run_file(&s, ("orders", "skip"), "订单.csv", file, &columns).await;

    // Assert: both lines in one order, its total exact; the customer's last order is its day
    // (midnight in Beijing).
    assert_eq!(
        status["summary"], "imported 2, updated 0, skipped 0, rejected 0",
        "{status}"
    );
    let id = customer["id"].as_i64().unwrap();
    let (_, orders) = api(Method::GET, format!("/api/v1/customers/{id}/orders"), None).await;
    assert_eq!(orders["items"].as_array().unwrap().len(), 1, "{orders}");
    assert_eq!(orders["items"][0]["total"], "1005.00", "{orders}");
    let (_, c) = api(Method::GET, format!("/api/v1/customers/{id}"), None).await;
    assert_eq!(c["last_order_at"], "2026-02-28T16:00:00Z", "{c}");

    // An account manager may not write products: the page does not offer them, and an upload
    // of them is refused.
    app.create_user("wu", "account_manager", "lang-genug-123")
        .await;
    let mut wu = app.login("wu", "lang-genug-123").await;
    wu.refresh_csrf().await;
    let page = wu.get("/import?kind=products").await.text().await.unwrap();
    assert!(!page.contains("value=\"products\""), "{page}");
    let r = upload(
        &wu,
        form_named(&wu.csrf, "products", "skip", "产品.csv", b"x"),
    )
    .await;
    assert_eq!(r.status(), 403);
}

async fn an_upload_over_the_limit_is_refused_with_413(b: TestBackend) {
    let app = app_with_limit(b, 1).await;
    let mut s = app.admin().await;
    s.refresh_csrf().await;
    // Streamed without a length: counted as it arrives and refused past 1 MB.
    let big = vec![b'a'; 1024 * 1024 + 10];
    let r = upload(&s, form(&s.csrf, "customers", &big)).await;
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("1 MB"));
    // A declared 2 GB body is refused from its headers, before the body is read.
    let addr = app.addr;
    let cookies = session_cookie(&app).await;
    let answer = tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "POST /import HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookies}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 2147483648\r\n\r\n"
        );
        tcp.write_all(head.as_bytes()).unwrap();
        tcp.write_all(&[b'x'; 4096]).unwrap();
        let mut buf = vec![0u8; 512];
        let n = tcp.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

async fn a_slow_upload_is_not_cut_by_the_request_timeout(b: TestBackend) {
    let app = spawn_app_with_modules_and(b, modules(), |c| {
        c.import_max_mb = 8;
        c.request_timeout_secs = 1;
    })
    .await;
    let cookies = session_cookie(&app).await;
    let page = kehu_testkit::reqwest::Client::new()
        .get(app.url("/import"))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    let csrf = kehu_testkit::form_token(&page.text().await.unwrap());
    // A megabyte of customers, sent over about two and a half seconds: a slow line, well
    // over the one second a request may otherwise take.
    let mut file = String::from("客户名称,地区\r\n");
    for i in 0..40_000 {
        file.push_str(&format!("慢速公司{i},广东省\r\n"));
    }
    let body = form(&csrf, "customers", file.as_bytes());
    assert!(body.len() > 1 << 20);
    let addr = app.addr;
    let answer = tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let head = format!(
            "POST /import HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookies}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).unwrap();
        for piece in body.chunks(body.len() / 10 + 1) {
            // A server that gave up answers and closes: stop sending, read its answer.
            if tcp.write_all(piece).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let mut buf = vec![0u8; 512];
        let n = tcp.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
}

/// Signs in as the administrator without a cookie jar and returns the `Cookie` header a raw
/// client sends.
async fn session_cookie(app: &TestApp) -> String {
    let plain = kehu_testkit::reqwest::Client::builder()
        .redirect(kehu_testkit::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookies = |r: &kehu_testkit::reqwest::Response| -> String {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let login = plain.get(app.url("/login")).send().await.unwrap();
    let jar = cookies(&login);
    let csrf = kehu_testkit::form_token(&login.text().await.unwrap());
    let r = plain
        .post(app.url("/login"))
        .header("cookie", &jar)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "admin"),
            ("password", kehu_testkit::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    cookies(&r)
}
