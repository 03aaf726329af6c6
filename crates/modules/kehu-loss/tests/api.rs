//! `/api/v1/loss-records`, `/api/v1/loss-settings` and the scan through `/api/v1/jobs` on
//! SQLite and PostgreSQL: a manager sees and handles their own customers' records (another's
//! is 404), a supervisor all, an executive reads; measures and the confirmation with their
//! errors; the list's filters and sorts; the threshold setting.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_testkit::TestBackend;
use kehu_testkit::json::field_names;
use kehu_testkit::reqwest::Method;
use serde_json::json;

mod common;
use common::{GUANGDONG, ZHEJIANG, ago, on_both, today, world};

on_both!(
    a_manager_handles_their_own_warnings_and_nobody_elses,
    bad_measures_confirmations_and_queries_are_clear_errors,
    the_list_filters_by_status_manager_region_and_period,
    the_threshold_is_a_setting_of_whole_months,
);

async fn a_manager_handles_their_own_warnings_and_nobody_elses(b: TestBackend) {
    // Arrange: two managers with a customer each past the threshold, a supervisor, an
    // executive; the administrator runs the scan through the jobs API.
    let w = world(b).await;
    let (wang, t_wang) = w.user("wang", "account_manager").await;
    let (_, t_li) = w.user("li", "account_manager").await;
    let (_, t_sup) = w.user("chen", "sales_supervisor").await;
    let (_, t_exec) = w.user("boss", "executive").await;
    let mine = w.customer(&t_wang, "王的客户", GUANGDONG).await;
    let theirs = w.customer(&t_li, "李的客户", ZHEJIANG).await;
    w.order(&t_wang, mine, ago(7, 0)).await;
    w.order(&t_li, theirs, ago(7, 0)).await;
    let figures = w.scan().await;
    assert_eq!(figures["warned"], 2, "{figures}");
    let (s, runs) = w
        .call(
            &w.admin,
            Method::GET,
            "/api/v1/jobs/runs?job=loss-scan",
            None,
        )
        .await;
    assert_eq!(s, 200, "{runs}");
    assert_eq!(runs["items"][0]["figures"]["warned"], 2, "{runs}");
    assert_eq!(runs["items"][0]["trigger"], "manual", "{runs}");

    // Act + Assert: each manager sees their own; the supervisor and the executive see both.
    let of = |items: Vec<serde_json::Value>| -> Vec<i64> {
        items
            .iter()
            .map(|r| r["customer_id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(of(w.records(&t_wang, "").await), vec![mine]);
    assert_eq!(of(w.records(&t_li, "").await), vec![theirs]);
    assert_eq!(w.records(&t_sup, "").await.len(), 2);
    assert_eq!(w.records(&t_exec, "").await.len(), 2);
    let theirs_id = w.record_of(theirs).await["id"].as_i64().unwrap();
    let mine_id = w.record_of(mine).await["id"].as_i64().unwrap();
    let (s, _) = w
        .call(
            &t_wang,
            Method::GET,
            &format!("/api/v1/loss-records/{theirs_id}"),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, p) = w
        .call(
            &t_wang,
            Method::POST,
            &format!("/api/v1/loss-records/{theirs_id}/measures"),
            Some(json!({"measure": "越权"})),
        )
        .await;
    assert_eq!(s, 404, "{p}");
    // The executive reads but does not act; a manager may not run the scan.
    let (s, p) = w
        .call(
            &t_exec,
            Method::POST,
            &format!("/api/v1/loss-records/{mine_id}/measures"),
            Some(json!({"measure": "高管也想记"})),
        )
        .await;
    assert_eq!((s, p["code"].as_str()), (403, Some("forbidden")), "{p}");
    let (s, _) = w
        .call(&t_wang, Method::POST, "/api/v1/jobs/loss-scan", None)
        .await;
    assert_eq!(s, 403);

    // The manager logs two measures, then confirms.
    let url = format!("/api/v1/loss-records/{mine_id}");
    let (s, r) = w
        .call(
            &t_wang,
            Method::POST,
            &format!("{url}/measures"),
            Some(json!({"measure": "电话回访，客户说在比价"})),
        )
        .await;
    assert_eq!((s, r["status"].as_str()), (201, Some("deferring")), "{r}");
    w.call(
        &t_wang,
        Method::POST,
        &format!("{url}/measures"),
        Some(json!({"measure": "寄送新品目录"})),
    )
    .await;
    let (_, r) = w.call(&t_wang, Method::GET, &url, None).await;
    let measures = r["measures"].as_array().unwrap();
    assert_eq!(measures.len(), 2, "{r}");
    assert_eq!(measures[0]["measure"], "电话回访，客户说在比价");
    assert_eq!(measures[0]["created_by"], wang);
    assert_eq!(measures[0]["created_by_name"], "测试 wang");
    assert!(measures[0]["created_at"].is_string());
    let (s, r) = w
        .call(
            &t_wang,
            Method::POST,
            &format!("{url}/confirm"),
            Some(json!({"reason": "price", "detail": "转向低价供应商", "version": r["version"]})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (
            r["status"].as_str(),
            r["reason"].as_str(),
            r["detail"].as_str()
        ),
        (Some("confirmed"), Some("price"), Some("转向低价供应商"))
    );
    assert!(r["confirmed_at"].is_string(), "{r}");
    assert_eq!(w.status_of(mine).await, "lost");
    // The supervisor acts on the other manager's record.
    let (s, r) = w
        .call(
            &t_sup,
            Method::POST,
            &format!("/api/v1/loss-records/{theirs_id}/measures"),
            Some(json!({"measure": "主管亲自拜访"})),
        )
        .await;
    assert_eq!((s, r["status"].as_str()), (201, Some("deferring")), "{r}");
    // Every step is in the record's history.
    let (_, log) = w
        .call(
            &w.admin,
            Method::GET,
            &format!("/api/v1/audit?entity=loss_record&entity_id={mine_id}"),
            None,
        )
        .await;
    let statuses: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["changes"]["status"]["after"].as_str())
        .collect();
    assert_eq!(statuses, vec!["confirmed", "deferring", "warning"], "{log}");
}

async fn bad_measures_confirmations_and_queries_are_clear_errors(b: TestBackend) {
    // Arrange: a warned customer.
    let w = world(b).await;
    let (_, t) = w.user("wang", "account_manager").await;
    let c = w.customer(&t, "王的客户", GUANGDONG).await;
    w.order(&t, c, ago(7, 0)).await;
    w.scan().await;
    let id = w.record_of(c).await["id"].as_i64().unwrap();
    let url = format!("/api/v1/loss-records/{id}");
    let post = |path: String, body: serde_json::Value| {
        let w = &w;
        let t = t.clone();
        async move {
            kehu_testkit::json::read(
                kehu_testkit::bearer(&w.app, &t, Method::POST, &path, Some(body)).await,
            )
            .await
        }
    };

    // Act + Assert: an empty measure, a confirmation without a reason or with one the
    // dictionary does not hold, an unknown field — each a 422 naming the field.
    let (s, p) = post(format!("{url}/measures"), json!({"measure": "  "})).await;
    assert_eq!(
        (s, field_names(&p)),
        (422, vec!["measure".to_owned()]),
        "{p}"
    );
    let (s, p) = post(format!("{url}/confirm"), json!({"detail": "说不清"})).await;
    assert_eq!(
        (s, field_names(&p)),
        (422, vec!["reason".to_owned()]),
        "{p}"
    );
    let (s, p) = post(format!("{url}/confirm"), json!({"reason": "moved"})).await;
    assert_eq!(
        (s, field_names(&p)),
        (422, vec!["reason".to_owned()]),
        "{p}"
    );
    assert_eq!(p["errors"][0]["code"], "err-dict-unknown", "{p}");
    let (s, p) = post(format!("{url}/measures"), json!({"text": "错字段"})).await;
    assert!(s == 400 || s == 422, "{s} {p}");
    // A stale version is a conflict.
    let (s, p) = post(
        format!("{url}/confirm"),
        json!({"reason": "price", "version": 99}),
    )
    .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (409, Some("version_conflict")),
        "{p}"
    );
    // Confirmed, it takes neither a measure nor a second confirmation.
    let (s, _) = post(format!("{url}/confirm"), json!({"reason": "price"})).await;
    assert_eq!(s, 200);
    for (path, body) in [
        ("measures", json!({"measure": "还想挽回"})),
        ("confirm", json!({"reason": "service"})),
    ] {
        let (s, p) = post(format!("{url}/{path}"), body).await;
        assert_eq!(
            (s, p["code"].as_str(), p["reason"].as_str()),
            (409, Some("not_allowed"), Some("err-loss-closed")),
            "{p}"
        );
    }
    // Queries: an unknown status or sort, a period bound that is no day, a bad cursor.
    for q in [
        "status=lost",
        "sort=name",
        "warned_from=yesterday",
        "cursor=abc",
    ] {
        let (s, p) = w
            .call(&t, Method::GET, &format!("/api/v1/loss-records?{q}"), None)
            .await;
        assert!(s == 400 || s == 422, "{q}: {s} {p}");
        assert!(p["code"].is_string(), "{q}: {p}");
    }
    let (s, _) = w
        .call(&t, Method::GET, "/api/v1/loss-records/999999", None)
        .await;
    assert_eq!(s, 404);
}

async fn the_list_filters_by_status_manager_region_and_period(b: TestBackend) {
    // Arrange: three customers of two managers in two regions, warned; one confirmed.
    let w = world(b).await;
    let (wang, t_wang) = w.user("wang", "account_manager").await;
    let (_, t_li) = w.user("li", "account_manager").await;
    let a = w.customer(&t_wang, "广东甲", GUANGDONG).await;
    let bb = w.customer(&t_wang, "浙江乙", ZHEJIANG).await;
    let c = w.customer(&t_li, "浙江丙", ZHEJIANG).await;
    w.order(&t_wang, a, ago(12, 0)).await;
    w.order(&t_wang, bb, ago(8, 0)).await;
    w.order(&t_li, c, ago(10, 0)).await;
    w.scan().await;
    let id = w.record_of(bb).await["id"].as_i64().unwrap();
    w.call(
        &t_wang,
        Method::POST,
        &format!("/api/v1/loss-records/{id}/confirm"),
        Some(json!({"reason": "quality"})),
    )
    .await;
    let ids = |items: Vec<serde_json::Value>| -> Vec<i64> {
        items
            .iter()
            .map(|r| r["customer_id"].as_i64().unwrap())
            .collect()
    };

    // Act + Assert
    let admin = w.admin.clone();
    assert_eq!(ids(w.records(&admin, "status=confirmed").await), vec![bb]);
    let mut warning = ids(w.records(&admin, "status=warning").await);
    warning.sort_unstable();
    assert_eq!(warning, vec![a, c]);
    let mut of_wang = ids(w.records(&admin, &format!("owner_id={wang}")).await);
    of_wang.sort_unstable();
    assert_eq!(of_wang, vec![a, bb]);
    let mut zhejiang = ids(w.records(&admin, &format!("region={ZHEJIANG}")).await);
    zhejiang.sort_unstable();
    assert_eq!(zhejiang, vec![bb, c]);
    assert_eq!(
        ids(w.records(&admin, &format!("customer_id={c}")).await),
        vec![c]
    );
    // Warned today: all three; up to yesterday: none.
    let day = today();
    let yesterday = day.pred_opt().unwrap();
    assert_eq!(
        w.records(&admin, &format!("warned_from={day}&warned_to={day}"))
            .await
            .len(),
        3
    );
    assert!(
        w.records(&admin, &format!("warned_to={yesterday}"))
            .await
            .is_empty()
    );
    // The longest without an order first; then pages of one by cursor.
    assert_eq!(
        ids(w.records(&admin, "sort=last_order_at").await),
        vec![a, c, bb]
    );
    let (_, page) = w
        .call(
            &admin,
            Method::GET,
            "/api/v1/loss-records?sort=last_order_at&per_page=1",
            None,
        )
        .await;
    assert_eq!(
        (page["total"].as_i64(), page["total_exact"].as_bool()),
        (Some(3), Some(true))
    );
    let next = page["next_cursor"].as_str().unwrap();
    let (_, page) = w
        .call(
            &admin,
            Method::GET,
            &format!("/api/v1/loss-records?sort=last_order_at&per_page=1&cursor={next}"),
            None,
        )
        .await;
    assert_eq!(page["items"][0]["customer_id"], c, "{page}");
}

async fn the_threshold_is_a_setting_of_whole_months(b: TestBackend) {
    // Arrange: a customer who last ordered four months ago: not at risk at six months.
    let w = world(b).await;
    let (_, t) = w.user("wang", "account_manager").await;
    let c = w.customer(&t, "四个月没下单", GUANGDONG).await;
    w.order(&t, c, ago(4, 0)).await;
    let (s, set) = w
        .call(&w.admin, Method::GET, "/api/v1/loss-settings", None)
        .await;
    assert_eq!(s, 200, "{set}");
    assert_eq!(
        set,
        json!({"threshold_months": 6, "never_ordered": true, "stored": false, "version": null})
    );
    assert_eq!(w.scan().await["warned"], 0);

    // Act + Assert: 0, negative, fractional and too many months are refused, naming the field.
    for bad in [json!("0"), json!(-1), json!("2.5"), json!(121), json!("六")] {
        let (s, p) = w
            .call(
                &w.admin,
                Method::PUT,
                "/api/v1/loss-settings",
                Some(json!({"threshold_months": bad})),
            )
            .await;
        assert_eq!(
            (s, field_names(&p)),
            (422, vec!["threshold_months".to_owned()]),
            "{bad}: {p}"
        );
        assert_eq!(p["errors"][0]["code"], "err-loss-threshold", "{p}");
    }
    // A manager may not change it.
    let (s, _) = w
        .call(
            &t,
            Method::PUT,
            "/api/v1/loss-settings",
            Some(json!({"threshold_months": 3})),
        )
        .await;
    assert_eq!(s, 403);
    // Three months: stored, and the next scan warns the customer.
    let (s, set) = w
        .call(
            &w.admin,
            Method::PUT,
            "/api/v1/loss-settings",
            Some(json!({"threshold_months": 3, "never_ordered": false})),
        )
        .await;
    assert_eq!(s, 200, "{set}");
    assert_eq!(
        set,
        json!({"threshold_months": 3, "never_ordered": false, "stored": true, "version": 1})
    );
    assert_eq!(w.scan().await["warned"], 1);
    // A second change without the version read is a conflict.
    let (s, p) = w
        .call(
            &w.admin,
            Method::PUT,
            "/api/v1/loss-settings",
            Some(json!({"threshold_months": 12})),
        )
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (409, Some("version_conflict")),
        "{p}"
    );
}
