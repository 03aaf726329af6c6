//! 服务管理 in the browser's terms, on SQLite and PostgreSQL: the 服务管理 menu offers each
//! person the stages they work in; a request recorded through the form lands in 服务分配, is
//! assigned and handled through the page's forms and shows under each stage in turn; bad
//! entries come back on their fields, the workflow's refusals as messages (409), never a 500;
//! the settings save, and refuse bad minutes on their fields; the customer's page and the home
//! page show the services.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_testkit::json::call;
use kehu_testkit::reqwest::Method;
use kehu_testkit::{Session, TestApp, TestBackend};
use serde_json::json;

mod common;
use common::{app, on_both};

const PW: &str = "lang-genug-123";

async fn signed_in(app: &TestApp, username: &str, role: &str) -> (Session, i64) {
    let id = app.create_user(username, role, PW).await;
    (app.login(username, PW).await, id)
}

fn location(resp: &kehu_testkit::reqwest::Response) -> String {
    assert_eq!(resp.status(), 303, "not a redirect");
    resp.headers()["location"].to_str().unwrap().to_owned()
}

async fn html(s: &Session, path: &str) -> String {
    let resp = s.get(path).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.text().await.unwrap()
}

/// The 服务管理 menu's links, as (href, label).
fn menu(html: &str) -> Vec<(String, String)> {
    let Some(at) = html.find(r#"<details class="nav-group""#) else {
        return Vec::new();
    };
    let menu = &html[at..html[at..].find("</details>").unwrap() + at];
    menu.split("<a href=\"")
        .skip(1)
        .map(|a| {
            let href = a[..a.find('"').unwrap()].to_owned();
            let label = a[a.find('>').unwrap() + 1..a.find("</a>").unwrap()].to_owned();
            (href, label)
        })
        .collect()
}

async fn the_menu_offers_each_person_their_stages(b: TestBackend) {
    let app = app(b).await;
    let (boss, _) = signed_in(&app, "boss", "sales_supervisor").await;
    let (li, _) = signed_in(&app, "li", "account_manager").await;
    let labels = |m: Vec<(String, String)>| m.into_iter().map(|(_, l)| l).collect::<Vec<_>>();
    assert_eq!(
        labels(menu(&html(&boss, "/").await)),
        [
            "服务创建",
            "服务分配",
            "服务反馈",
            "服务归档",
            "全部服务",
            "服务设置"
        ]
    );
    assert_eq!(
        labels(menu(&html(&li, "/").await)),
        ["服务创建", "服务处理", "服务反馈", "服务归档", "全部服务"]
    );
    // The stage shown is the one marked.
    let page = html(&li, "/services?stage=handle").await;
    assert!(
        page.contains(r#"<a href="/services?stage=handle" aria-current="page">服务处理</a>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<summary aria-current="true">服务管理"#),
        "{page}"
    );
    app.create_user("liu", "executive", PW).await;
    let liu = app.login("liu", PW).await;
    assert!(menu(&html(&liu, "/").await).is_empty());
    assert_eq!(liu.get("/services").await.status(), 403);
}

async fn a_request_moves_through_the_stages_by_the_pages_forms(b: TestBackend) {
    let app = app(b).await;
    let (boss, _) = signed_in(&app, "boss", "sales_supervisor").await;
    let (li, _) = signed_in(&app, "li", "account_manager").await;
    let (zhao, zhao_id) = signed_in(&app, "zhao", "account_manager").await;
    let t = app.token_for("li").await;
    let cu = common::customer(&app, &t, json!({"name": "华强电子"}))
        .await
        .to_string();

    // Bad entries come back on their fields, what was typed kept.
    let resp = li
        .post_form(
            "/services",
            &[
                ("type", "gossip"),
                ("customer_id", &cu),
                ("title", "退货咨询"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains(r#"id="f-type-error""#) && page.contains(r#"id="f-request-error""#),
        "{page}"
    );
    assert!(page.contains(r#"value="退货咨询""#), "{page}");
    // Recorded: to its page, in 服务分配.
    let resp = li
        .post_form(
            "/services",
            &[
                ("type", "consultation"),
                ("customer_id", &cu),
                ("title", "退货咨询"),
                ("request", "客户问能否七天无理由退货"),
                ("channel", "phone"),
                ("priority", "normal"),
            ],
        )
        .await;
    let at = location(&resp);
    let path = at.split('?').next().unwrap().to_owned();
    assert!(
        html(&boss, "/services?stage=assign")
            .await
            .contains("退货咨询")
    );
    assert!(
        !html(&boss, "/services?stage=handle")
            .await
            .contains("退货咨询")
    );
    // Feedback before handling is refused with the reason, nothing changed.
    let resp = li
        .post_form(
            &format!("{path}/feedback"),
            &[("result", "好"), ("satisfaction", "5")],
        )
        .await;
    assert_eq!(resp.status(), 409);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("该服务尚未处理，还不能反馈。")
    );
    // Assigned by the supervisor through the page's form.
    let resp = boss
        .post_form(
            &format!("{path}/assign"),
            &[("assignee_id", &zhao_id.to_string())],
        )
        .await;
    assert_eq!(location(&resp), format!("{path}?saved=1"));
    assert!(
        html(&zhao, "/services?stage=handle")
            .await
            .contains("退货咨询")
    );
    // The home page tells the handler; handling without text comes back on its field.
    let home = html(&zhao, "/").await;
    assert!(home.contains("待处理 1"), "{home}");
    let resp = zhao
        .post_form(&format!("{path}/handle"), &[("handling", " ")])
        .await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains(r#"id="f-handling-error""#)
    );
    let resp = zhao
        .post_form(&format!("{path}/handle"), &[("handling", "已说明退货政策")])
        .await;
    assert_eq!(resp.status(), 303);
    assert!(
        html(&li, "/services?stage=feedback")
            .await
            .contains("退货咨询")
    );
    // Satisfaction 6 is refused on its field; 5 archives it.
    let resp = li
        .post_form(
            &format!("{path}/feedback"),
            &[("result", "满意"), ("satisfaction", "6")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("满意度须为 1 到 5 之间的整数。")
    );
    let resp = li
        .post_form(
            &format!("{path}/feedback"),
            &[("result", "满意"), ("satisfaction", "5")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let page = html(&li, &path).await;
    assert!(page.contains(r#"id="service-status">已归档"#), "{page}");
    assert!(
        !page.contains(r#"id="next-steps""#),
        "an archived service offers nothing to do"
    );
    assert!(
        html(&li, "/services?stage=archive")
            .await
            .contains("退货咨询")
    );
    // The customer's page lists it.
    let customer = html(&li, &format!("/customers/{cu}")).await;
    assert!(
        customer.contains("退货咨询") && customer.contains("new-customer-service"),
        "{customer}"
    );
}

async fn the_settings_save_and_refuse_bad_minutes(b: TestBackend) {
    let app = app(b).await;
    let (boss, _) = signed_in(&app, "boss", "sales_supervisor").await;
    let (li, _) = signed_in(&app, "li", "account_manager").await;
    assert_eq!(li.get("/services/settings").await.status(), 403);
    let resp = boss
        .post_form(
            "/services/settings/routing",
            &[("service_type", "consultation"), ("mode", "least_load")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let page = html(&boss, "/services/settings").await;
    assert!(
        page.contains(r#"<option value="least_load" selected>"#),
        "{page}"
    );
    let resp = boss
        .post_form(
            "/services/settings/sla",
            &[
                ("service_type", "suggestion"),
                ("customer_level", "key_account"),
                ("respond_minutes", "600"),
                ("resolve_minutes", "60"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("响应时限不能晚于解决时限。")
    );
    let resp = boss
        .post_form(
            "/services/settings/sla",
            &[
                ("service_type", "suggestion"),
                ("customer_level", "key_account"),
                ("respond_minutes", "60"),
                ("resolve_minutes", "600"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let page = html(&boss, "/services/settings").await;
    assert!(
        page.contains("<td>大客户</td><td class=\"num\">60</td><td class=\"num\">600</td>"),
        "{page}"
    );
}

/// The dictionary's values read in the page's language: 投诉 and 电话 in Chinese, Complaint and
/// Phone in English — in the list, on the service's page and in the form's choices.
async fn types_and_channels_read_in_the_users_language(b: TestBackend) {
    let app = app(b).await;
    let (li, li_id) = signed_in(&app, "li", "account_manager").await;
    let t = app.token_for("li").await;
    let cu = common::customer(&app, &t, json!({"name": "华强电子"})).await;
    let (s, svc) = call(
        &app,
        &t,
        Method::POST,
        "/api/v1/services",
        Some(
            json!({"type": "complaint", "title": "送货延误", "customer_id": cu,
                    "channel": "phone", "request": "晚到三天"}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{svc}");
    let show = format!("/services/{}", svc["id"]);
    let list = html(&li, "/services").await;
    assert!(
        list.contains(">投诉<") && !list.contains(">Complaint<"),
        "{list}"
    );
    let page = html(&li, &show).await;
    assert!(page.contains("投诉") && page.contains("电话"), "{page}");

    app.store.users.set_language(li_id, "en").await.unwrap();
    let list = html(&li, "/services").await;
    assert!(
        list.contains(">Complaint<") && !list.contains(">投诉<"),
        "{list}"
    );
    let page = html(&li, &show).await;
    assert!(
        page.contains("Complaint") && page.contains("Phone"),
        "{page}"
    );
    assert!(!page.contains("电话"), "{page}");
    let form = html(&li, "/services/new").await;
    assert!(form.contains(">Consultation</option>"), "{form}");
}

on_both!(
    the_menu_offers_each_person_their_stages,
    a_request_moves_through_the_stages_by_the_pages_forms,
    the_settings_save_and_refuse_bad_minutes,
    types_and_channels_read_in_the_users_language
);
