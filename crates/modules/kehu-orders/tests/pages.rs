//! 基础数据 and 历史订单 in the browser's terms, on SQLite and PostgreSQL: the product and stock
//! forms save and the query pages find what they saved; an account manager places an order
//! through the form (adding a line with the "add line" button, no script), sees its lines and
//! total, and cancels it after the confirming page; bad entries come back as field errors; and
//! another manager's order is a 404 page.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kehu_testkit::{Session, TestApp, TestBackend};

mod common;
use common::app;

const PW: &str = "lang-genug-123";

async fn signed_in(app: &TestApp, username: &str, role: &str) -> Session {
    app.create_user(username, role, PW).await;
    app.login(username, PW).await
}

fn location(resp: &kehu_testkit::reqwest::Response) -> String {
    assert_eq!(resp.status(), 303, "not a redirect");
    resp.headers()["location"].to_str().unwrap().to_owned()
}

/// The id in `/things/{id}?saved=1`.
fn id_in(location: &str, prefix: &str) -> String {
    location
        .trim_start_matches(prefix)
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

async fn html(s: &Session, path: &str) -> String {
    let resp = s.get(path).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.text().await.unwrap()
}

fn version_in(html: &str, action: &str) -> String {
    let form = &html[html.find(&format!("action=\"{action}\"")).unwrap()..];
    let marker = "name=\"version\" value=\"";
    let rest = &form[form.find(marker).unwrap() + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn a_supervisor_keeps_products_and_stock_through_the_forms(b: TestBackend) {
    let app = app(b).await;
    let zhou = signed_in(&app, "zhou", "sales_supervisor").await;
    let home = html(&zhou, "/").await;
    for href in ["/orders", "/products", "/stock"] {
        assert!(home.contains(&format!("href=\"{href}\"")), "{href}: {home}");
    }
    assert!(html(&zhou, "/products").await.contains("还没有产品"));

    let bad = zhou
        .post_form(
            "/products",
            &[("name", "打印机"), ("unit", ""), ("price", "12.345")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(page.contains("请输入金额"), "{page}");
    assert!(page.contains("id=\"f-unit-error\""), "{page}");
    assert!(
        page.contains("value=\"打印机\""),
        "the entry is kept: {page}"
    );

    let ok = zhou
        .post_form(
            "/products",
            &[
                ("name", "激光打印机"),
                ("model", "HP-1020"),
                ("unit", "台"),
                ("price", "1,299.5"),
            ],
        )
        .await;
    let to = location(&ok);
    let id = id_in(&to, "/products/");
    let page = html(&zhou, &to).await;
    assert!(page.contains("value=\"1299.50\""), "{page}");
    let list = html(&zhou, "/products?q=HP").await;
    assert!(
        list.contains("激光打印机") && list.contains("1299.50"),
        "{list}"
    );
    assert!(
        html(&zhou, "/products?q=喷墨")
            .await
            .contains("没有符合筛选条件的产品")
    );

    // An edit saves; a stale version shows the conflict.
    let v = version_in(&page, &format!("/products/{id}"));
    let fields = [
        ("name", "激光打印机"),
        ("unit", "台"),
        ("price", "1099"),
        ("version", v.as_str()),
    ];
    let saved = zhou.post_form(&format!("/products/{id}"), &fields).await;
    assert_eq!(saved.status(), 303);
    let stale = zhou.post_form(&format!("/products/{id}"), &fields).await;
    assert_eq!(stale.status(), 409);

    let bad = zhou
        .post_form(
            "/stock",
            &[
                ("product_id", &id),
                ("warehouse", "广州仓"),
                ("quantity", "-3"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("请输入大于零的数量"));
    let ok = zhou
        .post_form(
            "/stock",
            &[
                ("product_id", &id),
                ("warehouse", "广州仓"),
                ("location", "A-01"),
                ("quantity", "12.5"),
            ],
        )
        .await;
    assert_eq!(location(&ok), "/stock?saved=1");
    let stock = html(&zhou, "/stock?q=激光&warehouse=广州仓").await;
    assert!(
        stock.contains("12.5 台") && stock.contains("A-01"),
        "{stock}"
    );
    assert!(
        html(&zhou, "/stock?warehouse=北京仓")
            .await
            .contains("没有符合筛选条件的库存")
    );
    // The row is changed from its own form.
    let row = stock[..stock.find(">广州仓</a>").unwrap()]
        .rsplit("href=\"")
        .next()
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    let form = html(&zhou, &row).await;
    let v = version_in(&form, &row);
    let changed = zhou
        .post_form(
            &row,
            &[
                ("product_id", &id),
                ("warehouse", "广州仓"),
                ("location", "A-01"),
                ("quantity", "0"),
                ("version", v.as_str()),
            ],
        )
        .await;
    assert_eq!(location(&changed), "/stock?saved=1");
    assert!(html(&zhou, "/stock?q=激光").await.contains(">0 台<"));

    // An account manager reads products but keeps none.
    let li = signed_in(&app, "li", "account_manager").await;
    assert_eq!(li.get("/products").await.status(), 200);
    assert_eq!(li.get("/products/new").await.status(), 403);
    let form = html(&li, &format!("/products/{id}")).await;
    assert!(!form.contains("id=\"delete-product\""), "{form}");
}

async fn a_manager_places_an_order_through_the_form_and_cancels_it(b: TestBackend) {
    let app = app(b).await;
    let zhou = signed_in(&app, "zhou", "sales_supervisor").await;
    let li = signed_in(&app, "li", "account_manager").await;
    let p = location(
        &zhou
            .post_form(
                "/products",
                &[("name", "复印纸"), ("unit", "箱"), ("price", "0.10")],
            )
            .await,
    );
    let product = id_in(&p, "/products/");
    let c = location(
        &li.post_form("/customers", &[("name", "广州华强电子")])
            .await,
    );
    let customer = c
        .trim_start_matches("/customers/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    let form = html(&li, &format!("/orders/new?customer_id={customer}")).await;
    assert!(form.contains("广州华强电子"), "{form}");
    assert_eq!(
        form.matches("name=\"lines[").count(),
        3,
        "one line of three fields"
    );

    // "添加一行" shows the form again with a second line; nothing is saved.
    let fields = [
        ("customer_id", customer.as_str()),
        ("date", "2024-05-20"),
        ("lines[0].product_id", product.as_str()),
        ("lines[0].quantity", "1"),
        ("add_line", "1"),
    ];
    let more = li.post_form("/orders", &fields).await;
    assert_eq!(more.status(), 200);
    let more = more.text().await.unwrap();
    assert!(more.contains("name=\"lines[1].quantity\""), "{more}");
    assert!(more.contains("value=\"2024-05-20\""), "{more}");

    // Bad lines come back with their errors.
    let bad = li
        .post_form(
            "/orders",
            &[
                ("customer_id", customer.as_str()),
                ("date", "2024-05-20"),
                ("lines[0].product_id", product.as_str()),
                ("lines[0].quantity", "-1"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(page.contains("请输入大于零的数量"), "{page}");
    // The summary names the line and links to its field.
    assert!(page.contains("第 1 行的数量"), "{page}");
    assert!(page.contains("href=\"#f-lines[0].quantity\""), "{page}");

    let placed = li
        .post_form(
            "/orders",
            &[
                ("customer_id", customer.as_str()),
                ("date", "2024-05-20"),
                ("delivery_address", "广州市天河区"),
                ("lines[0].product_id", product.as_str()),
                ("lines[0].quantity", "1"),
                ("lines[1].product_id", product.as_str()),
                ("lines[1].quantity", "1"),
                ("lines[1].price", "0.20"),
            ],
        )
        .await;
    let to = location(&placed);
    let order = id_in(&to, "/orders/");
    let page = html(&li, &to).await;
    assert!(page.contains("已下单"), "{page}");
    assert!(page.contains("0.30"), "the exact total: {page}");
    assert!(page.contains("广州市天河区"), "{page}");
    let list = html(&li, "/orders?status=placed&date_from=2024-01-01").await;
    assert!(
        list.contains("广州华强电子") && list.contains("0.30"),
        "{list}"
    );

    // Cancelling asks first, then cancels.
    let confirm = html(&li, &format!("/orders/{order}/cancel")).await;
    assert!(confirm.contains("确定取消订单"), "{confirm}");
    let v = version_in(&confirm, &format!("/orders/{order}/cancel"));
    let done = li
        .post_form(
            &format!("/orders/{order}/cancel"),
            &[("version", v.as_str())],
        )
        .await;
    assert_eq!(location(&done), format!("/orders/{order}?saved=1"));
    let page = html(&li, &format!("/orders/{order}")).await;
    assert!(
        page.contains("已取消") && !page.contains("id=\"cancel-order\""),
        "{page}"
    );
    // A cancelled order is not cancelled again.
    assert_eq!(
        li.get(&format!("/orders/{order}/cancel")).await.status(),
        409
    );

    // Another manager sees no such order.
    let wang = signed_in(&app, "wang", "account_manager").await;
    assert_eq!(wang.get(&format!("/orders/{order}")).await.status(), 404);
    assert!(html(&wang, "/orders").await.contains("还没有订单"));
}

/// The customer page (360°) shows the orders panel: the customer's recent orders with lines
/// and totals, newest first, their count on the tab, and the orders in the change history.
async fn the_customer_page_panel_lists_recent_orders_with_lines_and_totals(b: TestBackend) {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_orders::module());
    let app =
        kehu_testkit::spawn_app_with_modules(b, kehu_web::Modules::new(modules).unwrap()).await;
    let zhou = signed_in(&app, "zhou", "sales_supervisor").await;
    let li = signed_in(&app, "li", "account_manager").await;
    let p = location(
        &zhou
            .post_form(
                "/products",
                &[("name", "复印纸"), ("unit", "箱"), ("price", "25")],
            )
            .await,
    );
    let product = id_in(&p, "/products/");
    let c = location(
        &li.post_form("/customers", &[("name", "广州华强电子")])
            .await,
    );
    let customer = id_in(&c, "/customers/");
    let page = format!("/customers/{customer}");
    let empty = html(&li, &page).await;
    assert!(
        empty.contains("id=\"orders\"") && empty.contains("还没有订单"),
        "{empty}"
    );
    for (date, qty) in [("2024-01-02", "2"), ("2024-03-04", "1.5")] {
        let r = li
            .post_form(
                "/orders",
                &[
                    ("customer_id", customer.as_str()),
                    ("date", date),
                    ("lines[0].product_id", product.as_str()),
                    ("lines[0].quantity", qty),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    let whole = html(&li, &page).await;
    let panel = &whole[whole.find("id=\"orders\"").unwrap()..];
    assert!(
        panel.contains(&format!("/orders?customer_id={customer}")),
        "{panel}"
    );
    assert!(
        whole.contains("audit-entity-order") || whole.contains("订单"),
        "{whole}"
    );
    let newest = panel.find("2024-03-04").unwrap();
    let oldest = panel.find("2024-01-02").unwrap();
    assert!(newest < oldest, "newest first: {panel}");
    assert!(
        panel.contains("37.50") && panel.contains("50.00"),
        "{panel}"
    );
    assert!(panel.contains("复印纸") && panel.contains("1.5"), "{panel}");
    // The history names an order's fields and values as a reader says them, not as stored.
    let history = &whole[whole.find("id=\"history\"").unwrap()..];
    let history = &history[..history.find("</section>").unwrap()];
    assert!(
        history.contains("订单日期")
            && history.contains("复印纸 × 1.5 箱")
            && history.contains("已下单"),
        "{history}"
    );
    for raw in ["order_date", "product_name", "\"quantity\"", "placed"] {
        assert!(!history.contains(raw), "{raw} in {history}");
    }
    let wang = signed_in(&app, "wang", "account_manager").await;
    assert_eq!(wang.get(&page).await.status(), 404);
}

common::on_both! {
    a_supervisor_keeps_products_and_stock_through_the_forms,
    a_manager_places_an_order_through_the_form_and_cancels_it,
    the_customer_page_panel_lists_recent_orders_with_lines_and_totals,
}
