//! The loss pages on SQLite and PostgreSQL, as a manager and an administrator use them: the
//! home page's count of customers at risk, the list, a record's page with its measure and
//! confirm forms (their errors in place), the customer page's loss history, an order entered
//! in the order form winning the customer back, and the settings page.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_testkit::TestBackend;
use kehu_testkit::reqwest::Method;

mod common;
use common::{GUANGDONG, PW, ZHEJIANG, ago, on_both, today, world};

on_both!(
    a_manager_acts_on_a_warning_in_the_pages,
    the_settings_page_refuses_a_threshold_that_is_no_months,
);

async fn text(r: kehu_testkit::reqwest::Response, status: u16) -> String {
    let s = r.status().as_u16();
    let body = r.text().await.unwrap();
    assert_eq!(s, status, "{body}");
    body
}

async fn a_manager_acts_on_a_warning_in_the_pages(b: TestBackend) {
    // Arrange: a manager with two customers past the threshold and one active; the scan.
    let w = world(b).await;
    let (_, t) = w.user("wang", "account_manager").await;
    let (_, t_li) = w.user("li", "account_manager").await;
    let at_risk = w.customer(&t, "杭州明达贸易", ZHEJIANG).await;
    let other = w.customer(&t, "广州华南五金", GUANGDONG).await;
    let fine = w.customer(&t, "常来常往公司", GUANGDONG).await;
    let lis = w.customer(&t_li, "李经理的客户", GUANGDONG).await;
    w.order(&t, at_risk, ago(8, 0)).await;
    w.order(&t, other, ago(7, 0)).await;
    w.order(&t, fine, ago(0, 5)).await;
    w.order(&t_li, lis, ago(9, 0)).await;
    w.scan().await;
    let mut s = w.app.login("wang", PW).await;
    s.refresh_csrf().await;

    // The home page counts the manager's own customers at risk, longest without an order
    // first.
    let home = text(s.get("/").await, 200).await;
    assert!(home.contains("2 位客户有流失风险"), "{home}");
    let first = home.find("杭州明达贸易").expect("named on the home page");
    assert!(first < home.find("广州华南五金").unwrap(), "{home}");
    assert!(!home.contains("李经理的客户"), "{home}");

    // The list: theirs only, with the manager, region and days without an order.
    let list = text(s.get("/loss?status=open").await, 200).await;
    assert!(
        list.contains("杭州明达贸易") && list.contains("广州华南五金"),
        "{list}"
    );
    assert!(!list.contains("李经理的客户") && !list.contains("常来常往公司"));
    assert!(
        list.contains("浙江") && list.contains("测试 wang"),
        "{list}"
    );
    assert!(list.contains("流失预警"), "{list}");
    let id = w.record_of(at_risk).await["id"].as_i64().unwrap();
    let lis_id = w.record_of(lis).await["id"].as_i64().unwrap();
    assert_eq!(s.get(&format!("/loss/{lis_id}")).await.status(), 404);

    // An empty measure comes back with its error; a measure is logged with its author.
    let page = format!("/loss/{id}");
    let r = s
        .post_form(&format!("{page}/measures"), &[("measure", " ")])
        .await;
    let again = text(r, 422).await;
    assert!(again.contains("id=\"f-measure-error\""), "{again}");
    let r = s
        .post_form(
            &format!("{page}/measures"),
            &[("measure", "上门拜访，谈年度框架协议")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let shown = text(s.get(&page).await, 200).await;
    assert!(shown.contains("上门拜访，谈年度框架协议"), "{shown}");
    assert!(shown.contains("暂缓流失"), "{shown}");

    // Confirming without a reason keeps the detail typed; with one, the customer is lost.
    let r = s
        .post_form(
            &format!("{page}/confirm"),
            &[("reason", ""), ("detail", "客户改用竞品"), ("version", "2")],
        )
        .await;
    let again = text(r, 422).await;
    assert!(again.contains("id=\"f-reason-error\""), "{again}");
    assert!(again.contains("客户改用竞品"), "{again}");
    let r = s
        .post_form(
            &format!("{page}/confirm"),
            &[
                ("reason", "price"),
                ("detail", "客户改用竞品"),
                ("version", "2"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let shown = text(s.get(&page).await, 200).await;
    assert!(
        shown.contains("确定流失") && shown.contains("价格原因"),
        "{shown}"
    );
    assert!(
        !shown.contains("id=\"measure-form\""),
        "closed: no more forms"
    );
    let customer = text(s.get(&format!("/customers/{at_risk}")).await, 200).await;
    assert!(customer.contains("已流失"), "{customer}");
    assert!(
        customer.contains("流失记录") && customer.contains("上门拜访"),
        "{customer}"
    );
    let home = text(s.get("/").await, 200).await;
    assert!(home.contains("1 位客户有流失风险"), "{home}");

    // An order entered in the order form wins the lost customer back.
    let product = {
        let (_, p) = w
            .call(&w.admin, Method::GET, "/api/v1/products", None)
            .await;
        p["items"][0]["id"].as_i64().unwrap().to_string()
    };
    let customer_id = at_risk.to_string();
    let day = today().to_string();
    let r = s
        .post_form(
            "/orders",
            &[
                ("customer_id", customer_id.as_str()),
                ("date", day.as_str()),
                ("lines[0].product_id", product.as_str()),
                ("lines[0].quantity", "3"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let shown = text(s.get(&page).await, 200).await;
    assert!(shown.contains("已挽回"), "{shown}");
    assert_eq!(w.status_of(at_risk).await, "active");

    // The settings page is the administrator's.
    assert_eq!(s.get("/loss/settings").await.status(), 403);
}

async fn the_settings_page_refuses_a_threshold_that_is_no_months(b: TestBackend) {
    // Arrange
    let w = world(b).await;
    let mut s = w.app.admin().await;
    s.refresh_csrf().await;
    let page = text(s.get("/loss/settings").await, 200).await;
    assert!(page.contains("value=\"6\""), "{page}");
    assert!(page.contains("id=\"loss-configured\""), "{page}");

    // Act + Assert: 0 and -3 come back with the field's error; 12 is stored.
    for bad in ["0", "-3", "abc"] {
        let r = s
            .post_form("/loss/settings", &[("threshold_months", bad)])
            .await;
        let again = text(r, 422).await;
        assert!(again.contains("id=\"f-threshold_months-error\""), "{again}");
        assert!(again.contains("1 到 120"), "{again}");
    }
    let r = s
        .post_form(
            "/loss/settings",
            &[("threshold_months", "12"), ("never_ordered", "on")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let saved = text(s.get("/loss/settings").await, 200).await;
    assert!(saved.contains("value=\"12\""), "{saved}");
    assert!(!saved.contains("id=\"loss-configured\""), "{saved}");
    let (_, set) = w
        .call(&w.admin, Method::GET, "/api/v1/loss-settings", None)
        .await;
    assert_eq!(set["threshold_months"], 12, "{set}");
}
