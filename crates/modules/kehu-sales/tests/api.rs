//! The sales API over HTTP on SQLite and PostgreSQL: a supervisor records an opportunity from
//! a trade fair and assigns it, the account manager plans, records results and wins it — the
//! customer and its primary contact appear in the manager's customer list, linked both ways;
//! the pipeline's counts and amounts follow every step; the list's filters and "mine"; the
//! scope matrix (another manager's opportunity is 404 on every route); and bad input as
//! problem documents with stable codes, never a 500, nothing half-done.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kehu_testkit::json::{call, field_names};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, TestBackend};
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

fn lead(title: &str, prospect: &str, amount: &str, rate: i64) -> Value {
    json!({
        "title": title, "prospect_name": prospect, "source": "trade_fair",
        "success_rate": rate, "contact_name": "王经理", "contact_phone": "13812345678",
        "description": "广交会上留下名片", "expected_amount": amount,
        "expected_close_date": "2027-03-31",
    })
}

/// A new opportunity recorded by `t`; its JSON.
async fn create(app: &TestApp, t: &str, body: Value) -> Value {
    let (s, o) = post(app, t, "/api/v1/opportunities", body).await;
    assert_eq!(s, 201, "{o}");
    o
}

fn at(o: &Value, rest: &str) -> String {
    format!("/api/v1/opportunities/{}{rest}", o["id"])
}

/// The pipeline's stage `status` as (count, CNY amount, CNY weighted amount).
async fn stage(app: &TestApp, t: &str, status: &str) -> (i64, String, String) {
    let (s, p) = get(app, t, "/api/v1/pipeline").await;
    assert_eq!(s, 200, "{p}");
    let st = p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == status)
        .unwrap()
        .clone();
    let cny = st["amounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["currency"] == "CNY")
        .cloned()
        .unwrap_or(json!({"amount": "0.00", "weighted_amount": "0.00"}));
    (
        st["count"].as_i64().unwrap(),
        cny["amount"].as_str().unwrap().to_owned(),
        cny["weighted_amount"].as_str().unwrap().to_owned(),
    )
}

fn titles(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn from_a_trade_fair_lead_to_the_managers_customer(b: TestBackend) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhuguan", "sales_supervisor").await;
    let (li, mgr) = token(&app, "li", "account_manager").await;

    // The supervisor records the lead: unassigned, theirs, in the pipeline.
    let o = create(
        &app,
        &sup,
        lead("华东区年度采购", "上海明达贸易有限公司", "120000", 60),
    )
    .await;
    assert_eq!(o["status"], "unassigned");
    assert_eq!(o["expected_amount"], "120000.00");
    assert_eq!(o["currency"], "CNY");
    assert_eq!(o["contact_phone"], "+8613812345678");
    assert!(o["actions"].as_array().unwrap().contains(&json!("assign")));
    assert_eq!(
        stage(&app, &sup, "unassigned").await,
        (1, "120000.00".into(), "72000.00".into())
    );
    // The manager does not see it yet.
    let (s, _) = get(&app, &mgr, &at(&o, "")).await;
    assert_eq!(s, 404);

    // Assigned: the manager's now, under "mine".
    let (s, o) = post(
        &app,
        &sup,
        &at(&o, "/assign"),
        json!({"assignee_id": li, "version": o["version"]}),
    )
    .await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["status"], "assigned");
    assert_eq!(o["assignee_id"], li);
    assert_eq!(o["owner_name"], "测试 li");
    let (_, mine) = get(&app, &mgr, "/api/v1/opportunities?mine=true").await;
    assert_eq!(titles(&mine), ["华东区年度采购"]);
    assert_eq!(stage(&app, &sup, "unassigned").await.0, 0);
    assert_eq!(stage(&app, &mgr, "assigned").await.0, 1);

    // The plan: the first item starts the development; one carried out.
    let (s, item) = post(
        &app,
        &mgr,
        &at(&o, "/plan-items"),
        json!({"date": "2026-01-05", "todo": "上门拜访采购部"}),
    )
    .await;
    assert_eq!(s, 201, "{item}");
    assert_eq!(item["overdue"], true, "a past day without a result");
    let (s, _) = post(
        &app,
        &mgr,
        &at(&o, "/plan-items"),
        json!({"date": "2099-01-05", "todo": "寄送报价单"}),
    )
    .await;
    assert_eq!(s, 201);
    let (_, o) = get(&app, &mgr, &at(&o, "")).await;
    assert_eq!(o["status"], "developing");
    let (s, done) = call(
        &app,
        &mgr,
        Method::PATCH,
        &at(&o, &format!("/plan-items/{}", item["id"])),
        Some(json!({"result": "见到采购经理，需求明确", "version": item["version"]})),
    )
    .await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["overdue"], false);
    let (_, plan) = get(&app, &mgr, &at(&o, "/plan-items")).await;
    let plan = plan.as_array().unwrap();
    assert_eq!(plan.len(), 2);
    assert_eq!(plan[0]["result"], "见到采购经理，需求明确");
    assert_eq!(plan[1]["result"], Value::Null);

    // Won: the customer and its primary contact, the manager's, linked both ways.
    let (s, won) = post(
        &app,
        &mgr,
        &at(&o, "/succeed"),
        json!({"version": o["version"]}),
    )
    .await;
    assert_eq!(s, 200, "{won}");
    assert_eq!(won["status"], "success");
    let customer = won["customer_id"].as_i64().expect("a customer");
    let (s, c) = get(&app, &mgr, &format!("/api/v1/customers/{customer}")).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["name"], "上海明达贸易有限公司");
    assert_eq!(c["owner_id"], li);
    let (_, list) = get(&app, &mgr, "/api/v1/customers").await;
    assert_eq!(list["total"], 1, "{list}");
    let (_, contacts) = get(
        &app,
        &mgr,
        &format!("/api/v1/customers/{customer}/contacts"),
    )
    .await;
    let contact = &contacts["items"][0];
    assert_eq!(contact["name"], "王经理");
    assert_eq!(contact["mobile"], "+8613812345678");
    assert_eq!(contact["is_primary"], true);
    let (_, of_customer) = get(
        &app,
        &mgr,
        &format!("/api/v1/opportunities?customer_id={customer}"),
    )
    .await;
    assert_eq!(titles(&of_customer), ["华东区年度采购"]);
    assert_eq!(
        stage(&app, &sup, "success").await,
        (1, "120000.00".into(), "72000.00".into())
    );
    assert_eq!(stage(&app, &sup, "developing").await.0, 0);

    // A second "won" (a double submit) is refused and makes no second customer.
    let (s, p) = post(&app, &mgr, &at(&o, "/succeed"), json!({})).await;
    assert_eq!(s, 409, "{p}");
    assert_eq!(p["reason"], "err-opportunity-closed");
    let (_, list) = get(&app, &mgr, "/api/v1/customers").await;
    assert_eq!(list["total"], 1);
    // Deleting the customer for good is refused while the opportunity points at it.
    let (_, admin) = token(&app, "boss", "admin").await;
    let (_, c) = get(&app, &mgr, &format!("/api/v1/customers/{customer}")).await;
    let (s, c) = call(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/customers/{customer}?version={}", c["version"]),
        None,
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let (s, p) = call(
        &app,
        &admin,
        Method::DELETE,
        &format!(
            "/api/v1/customers/{customer}/purge?version={}",
            c["version"]
        ),
        None,
    )
    .await;
    assert_eq!(s, 409, "{p}");
    assert_eq!(p["reason"], "err-customer-has-opportunities");
}

async fn a_prospect_that_is_a_customer_already_is_linked_not_duplicated(b: TestBackend) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhuguan", "sales_supervisor").await;
    let (li, mgr) = token(&app, "li", "account_manager").await;
    let (s, existing) = post(
        &app,
        &mgr,
        "/api/v1/customers",
        json!({"name": "北京远航科技有限公司"}),
    )
    .await;
    assert_eq!(s, 201, "{existing}");
    let o = create(&app, &sup, lead("续约", "北京远航科技有限公司", "5000", 80)).await;
    let (_, o) = post(&app, &sup, &at(&o, "/assign"), json!({"assignee_id": li})).await;
    let (s, _) = post(
        &app,
        &mgr,
        &at(&o, "/plan-items"),
        json!({"date": "2026-02-01", "todo": "电话确认续约"}),
    )
    .await;
    assert_eq!(s, 201);

    let (s, p) = post(&app, &mgr, &at(&o, "/succeed"), json!({})).await;
    assert_eq!(s, 409, "{p}");
    assert_eq!(p["code"], "customer_exists");
    assert_eq!(p["customers"][0]["id"], existing["id"]);
    assert_eq!(p["customers"][0]["name"], "北京远航科技有限公司");
    let (_, still) = get(&app, &mgr, &at(&o, "")).await;
    assert_eq!(still["status"], "developing", "nothing written");

    let (s, won) = post(
        &app,
        &mgr,
        &at(&o, "/succeed"),
        json!({"link_customer_id": existing["id"]}),
    )
    .await;
    assert_eq!(s, 200, "{won}");
    assert_eq!(won["customer_id"], existing["id"]);
    let (_, list) = get(&app, &mgr, "/api/v1/customers").await;
    assert_eq!(list["total"], 1, "no second customer");
}

async fn a_lost_deal_needs_a_reason(b: TestBackend) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhuguan", "sales_supervisor").await;
    let (li, mgr) = token(&app, "li", "account_manager").await;
    let o = create(&app, &sup, lead("小额试单", "杭州一品茶业", "800.50", 20)).await;
    let (_, o) = post(&app, &sup, &at(&o, "/assign"), json!({"assignee_id": li})).await;
    // Closing needs a development under way.
    let (s, p) = post(&app, &sup, &at(&o, "/fail"), json!({"reason": "太早"})).await;
    assert_eq!(s, 409, "{p}");
    assert_eq!(p["reason"], "err-opportunity-not-developing");
    post(
        &app,
        &mgr,
        &at(&o, "/plan-items"),
        json!({"date": "2026-01-01", "todo": "报价"}),
    )
    .await;
    let (_, o) = get(&app, &sup, &at(&o, "")).await;
    for body in [json!({}), json!({"reason": "   "})] {
        let (s, p) = post(&app, &sup, &at(&o, "/fail"), body).await;
        assert_eq!(s, 422, "{p}");
        assert_eq!(field_names(&p), ["reason"]);
    }
    let (s, lost) = post(
        &app,
        &sup,
        &at(&o, "/fail"),
        json!({"reason": "客户预算取消", "version": o["version"]}),
    )
    .await;
    assert_eq!(s, 200, "{lost}");
    assert_eq!(lost["status"], "failure");
    assert_eq!(lost["failure_reason"], "客户预算取消");
    assert_eq!(
        stage(&app, &sup, "failure").await,
        (1, "800.50".into(), "160.10".into())
    );
    // Closed: nothing more.
    let (s, p) = post(
        &app,
        &sup,
        &at(&o, "/plan-items"),
        json!({"date": "2026-03-01", "todo": "再联系"}),
    )
    .await;
    assert_eq!(s, 403, "the supervisor is not the assignee: {p}");
    let (s, p) = post(&app, &sup, &at(&o, "/assign"), json!({"assignee_id": li})).await;
    assert_eq!(s, 409, "{p}");
    assert_eq!(p["reason"], "err-opportunity-closed");
}

async fn bad_input_is_a_clear_error_and_writes_nothing(b: TestBackend) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhuguan", "sales_supervisor").await;
    let (li, mgr) = token(&app, "li", "account_manager").await;
    let (boss, _) = token(&app, "laoban", "executive").await;

    // Every bad field at once.
    let mut bad = lead("", "某公司", "-5", 150);
    bad["expected_close_date"] = json!("31/03/2027");
    bad["currency"] = json!("yuan");
    bad["source"] = json!("no_such_source");
    bad["contact_phone"] = json!("12");
    let (s, p) = post(&app, &sup, "/api/v1/opportunities", bad).await;
    assert_eq!(s, 422, "{p}");
    assert_eq!(p["code"], "validation_failed");
    let mut fields = field_names(&p);
    fields.sort();
    assert_eq!(
        fields,
        [
            "contact_phone",
            "currency",
            "expected_amount",
            "expected_close_date",
            "source",
            "success_rate",
            "title"
        ]
    );
    for rate in [json!(-1), json!(101), json!("六十"), json!(12.5)] {
        let mut body = lead("t", "p", "1", 0);
        body["success_rate"] = rate.clone();
        let (s, p) = post(&app, &sup, "/api/v1/opportunities", body).await;
        assert_eq!(s, 422, "{rate}: {p}");
        assert_eq!(field_names(&p), ["success_rate"]);
    }
    let (s, p) = post(
        &app,
        &sup,
        "/api/v1/opportunities",
        json!({"title": "x", "prospect_name": "y", "success_rate": 10, "stage": "won"}),
    )
    .await;
    assert_eq!(s, 400, "unknown fields are refused: {p}");
    let (_, l) = get(&app, &sup, "/api/v1/opportunities").await;
    assert_eq!(l["total"], 0, "nothing written");

    let o = create(&app, &sup, lead("展会线索", "苏州新材料", "30000", 40)).await;
    // Assigning to someone who cannot develop it, to nobody, to a missing user.
    for (body, field) in [
        (json!({"assignee_id": boss}), "assignee_id"),
        (json!({}), "assignee_id"),
        (json!({"assignee_id": 999_999}), "assignee_id"),
    ] {
        let (s, p) = post(&app, &sup, &at(&o, "/assign"), body.clone()).await;
        assert_eq!(s, 422, "{body}: {p}");
        assert_eq!(field_names(&p), [field]);
    }
    // A manager may not assign; a stale version is a conflict.
    let (s, p) = post(&app, &mgr, &at(&o, "/assign"), json!({"assignee_id": li})).await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = post(
        &app,
        &sup,
        &at(&o, "/assign"),
        json!({"assignee_id": li, "version": 99}),
    )
    .await;
    assert_eq!(s, 409, "{p}");
    assert_eq!(p["code"], "version_conflict");
    let (_, o) = post(&app, &sup, &at(&o, "/assign"), json!({"assignee_id": li})).await;
    // Edit and delete after assignment: refused for the state.
    let (s, p) = call(
        &app,
        &sup,
        Method::PATCH,
        &at(&o, ""),
        Some(json!({"title": "改名", "version": o["version"]})),
    )
    .await;
    assert_eq!(s, 409, "{p}");
    assert_eq!(p["reason"], "err-opportunity-assigned");
    // Plan items: a weird date, no to-do; results before development.
    let (s, p) = post(
        &app,
        &mgr,
        &at(&o, "/plan-items"),
        json!({"date": "2026-13-45", "todo": ""}),
    )
    .await;
    assert_eq!(s, 422, "{p}");
    let mut f = field_names(&p);
    f.sort();
    assert_eq!(f, ["date", "todo"]);
    let (s, p) = post(
        &app,
        &mgr,
        &at(&o, "/succeed"),
        json!({"version": o["version"]}),
    )
    .await;
    assert_eq!(s, 409, "not developing yet: {p}");
    assert_eq!(p["reason"], "err-opportunity-not-developing");
    // Query parameters.
    for q in [
        "status=won",
        "min_amount=-1",
        "created_from=yesterday",
        "sort=title",
        "cursor=nonsense",
        "per_page=0",
    ] {
        let (s, p) = get(&app, &sup, &format!("/api/v1/opportunities?{q}")).await;
        assert!(s == 400 || s == 422, "{q}: {s} {p}");
        assert!(p["code"].is_string(), "{q}: {p}");
    }
}

async fn a_manager_sees_and_touches_only_their_own(b: TestBackend) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhuguan", "sales_supervisor").await;
    let (li, li_t) = token(&app, "li", "account_manager").await;
    let (_, wang_t) = token(&app, "wang", "account_manager").await;
    let o = create(&app, &sup, lead("李的机会", "甲公司", "1000", 50)).await;
    let (_, o) = post(&app, &sup, &at(&o, "/assign"), json!({"assignee_id": li})).await;
    let (_, item) = post(
        &app,
        &li_t,
        &at(&o, "/plan-items"),
        json!({"date": "2026-01-01", "todo": "拜访"}),
    )
    .await;
    let own = create(&app, &wang_t, lead("王自己录入", "乙公司", "2000", 10)).await;
    assert_eq!(own["status"], "unassigned");

    // Wang: every route on Li's opportunity is 404 (no existence leak).
    let item_at = at(&o, &format!("/plan-items/{}", item["id"]));
    let v = o["version"].clone();
    for (m, path, body) in [
        (Method::GET, at(&o, ""), None),
        (
            Method::PATCH,
            at(&o, ""),
            Some(json!({"title": "x", "version": v})),
        ),
        (Method::DELETE, at(&o, &format!("?version={v}")), None),
        (Method::GET, at(&o, "/plan-items"), None),
        (
            Method::POST,
            at(&o, "/plan-items"),
            Some(json!({"date": "2026-01-02", "todo": "x"})),
        ),
        (
            Method::PATCH,
            item_at.clone(),
            Some(json!({"result": "x", "version": 1})),
        ),
        (Method::POST, at(&o, "/succeed"), Some(json!({}))),
        (Method::POST, at(&o, "/fail"), Some(json!({"reason": "x"}))),
    ] {
        let (s, p) = call(&app, &wang_t, m.clone(), &path, body).await;
        assert_eq!(s, 404, "{m} {path}: {p}");
    }
    // Wang's list, pipeline and "mine": only his own.
    let (_, l) = get(&app, &wang_t, "/api/v1/opportunities").await;
    assert_eq!(titles(&l), ["王自己录入"]);
    assert_eq!(stage(&app, &wang_t, "developing").await.0, 0);
    assert_eq!(stage(&app, &wang_t, "unassigned").await.0, 1);
    // The supervisor sees both; filters narrow.
    let (_, l) = get(&app, &sup, "/api/v1/opportunities").await;
    assert_eq!(l["total"], 2);
    for (q, want) in [
        ("status=developing", vec!["李的机会"]),
        ("status=unassigned", vec!["王自己录入"]),
        (&format!("assignee_id={li}") as &str, vec!["李的机会"]),
        ("min_amount=1500", vec!["王自己录入"]),
        ("max_amount=1000.00", vec!["李的机会"]),
        (
            "source=trade_fair&sort=expected_amount",
            vec!["李的机会", "王自己录入"],
        ),
        (
            "created_from=2000-01-01&created_to=2999-12-31&sort=-expected_amount",
            vec!["王自己录入", "李的机会"],
        ),
        ("created_to=2000-01-01", vec![]),
        ("mine=true", vec![]),
    ] {
        let (s, l) = get(&app, &sup, &format!("/api/v1/opportunities?{q}")).await;
        assert_eq!(s, 200, "{q}: {l}");
        assert_eq!(titles(&l), want, "{q}");
    }
}

async fn the_audit_log_has_every_transition(b: TestBackend) {
    let app = app(b).await;
    let (_, sup) = token(&app, "zhuguan", "sales_supervisor").await;
    let (li, mgr) = token(&app, "li", "account_manager").await;
    let (_, admin) = token(&app, "boss", "admin").await;
    let o = create(&app, &sup, lead("审计", "丙公司", "10", 10)).await;
    let (_, o) = post(&app, &sup, &at(&o, "/assign"), json!({"assignee_id": li})).await;
    post(
        &app,
        &mgr,
        &at(&o, "/plan-items"),
        json!({"date": "2026-01-01", "todo": "拜访"}),
    )
    .await;
    let (s, _) = post(&app, &mgr, &at(&o, "/fail"), json!({"reason": "没有预算"})).await;
    assert_eq!(s, 200);
    let (s, log) = get(
        &app,
        &admin,
        &format!("/api/v1/audit?entity=opportunity&entity_id={}", o["id"]),
    )
    .await;
    assert_eq!(s, 200, "{log}");
    let statuses: Vec<String> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["changes"]["status"]["after"].as_str().map(str::to_owned))
        .collect();
    for want in ["unassigned", "assigned", "developing", "failure"] {
        assert!(statuses.iter().any(|s| s == want), "{want} in {statuses:?}");
    }
}

common::on_both! {
    from_a_trade_fair_lead_to_the_managers_customer,
    a_prospect_that_is_a_customer_already_is_linked_not_duplicated,
    a_lost_deal_needs_a_reason,
    bad_input_is_a_clear_error_and_writes_nothing,
    a_manager_sees_and_touches_only_their_own,
    the_audit_log_has_every_transition,
}
