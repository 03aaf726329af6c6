//! Interactions (交往记录) and the customer page (360°) over HTTP, on SQLite and PostgreSQL:
//! recording, editing (a stale version is a conflict) and deleting an interaction through the
//! API and the pages; bad input as field errors; another manager's interactions answer 404 on
//! every route; the customer page shows contacts, the timeline, another module's panel and the
//! history of the customer's contacts and interactions.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kehu_domain::Principal;
use kehu_testkit::json::{call, field_names, problem};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{Session, TestApp, TestBackend, bearer, spawn_app_with_modules};
use kehu_web::context::Ctx;
use kehu_web::error::AppError;
use kehu_web::module::BoxFuture;
use kehu_web::{AppState, Module, Modules, Panel, RecordPanel};
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

/// A customer of the token's manager with one contact: (customer id, contact id).
async fn customer_with_contact(app: &TestApp, t: &str, name: &str) -> (i64, i64) {
    let (s, c) = post(app, t, "/api/v1/customers", json!({ "name": name })).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().unwrap();
    let (s, k) = post(
        app,
        t,
        &format!("/api/v1/customers/{id}/contacts"),
        json!({"name": format!("{name}联系人")}),
    )
    .await;
    assert_eq!(s, 201, "{k}");
    (id, k["id"].as_i64().unwrap())
}

async fn a_manager_records_edits_and_deletes_an_interaction_through_the_api(b: TestBackend) {
    let app = app(b).await;
    let (li_id, li) = token(&app, "li", "account_manager").await;
    let (id, zhang) = customer_with_contact(&app, &li, "华强").await;
    let (_, other_contact) = customer_with_contact(&app, &li, "另一家").await;
    let path = format!("/api/v1/customers/{id}/activities");

    let (s, a) = post(
        &app,
        &li,
        &path,
        json!({
            "at": "2026-11-23T06:05:00Z", "channel": "visit", "place": "广州天河",
            "contact_id": zhang, "title": "上门拜访", "description": "谈了明年的框架协议"
        }),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["recorded_by"], li_id);
    assert_eq!(a["contact_name"], "华强联系人");
    assert_eq!(a["at"], "2026-11-23T06:05:00Z");
    assert_eq!(a["version"], 1);
    let aid = a["id"].as_i64().unwrap();
    let at = format!("/api/v1/activities/{aid}");

    // Newest first on the customer's timeline.
    post(
        &app,
        &li,
        &path,
        json!({"at": "2026-11-24T01:00:00Z", "channel": "phone", "title": "电话回访"}),
    )
    .await;
    let (s, l) = call(&app, &li, Method::GET, &path, None).await;
    assert_eq!(s, 200);
    assert_eq!(l["total"], 2);
    assert_eq!(l["items"][0]["title"], "电话回访");
    assert_eq!(l["items"][1]["title"], "上门拜访");

    // Bad input: each field named, nothing saved.
    let (s, p) = post(
        &app,
        &li,
        &path,
        json!({"at": "tomorrow", "channel": "pigeon", "title": ""}),
    )
    .await;
    assert_eq!(s, 422, "{p}");
    assert_eq!(field_names(&p), ["channel", "at", "title"]);
    let (s, p) = post(
        &app,
        &li,
        &path,
        json!({"at": "2026-11-23T06:05:00Z", "channel": "visit", "title": "x", "contact_id": other_contact}),
    )
    .await;
    assert_eq!(
        (s, field_names(&p)),
        (422, vec!["contact_id".to_owned()]),
        "{p}"
    );

    // A patch at the version read; the same version again is a conflict.
    let (s, a2) = call(
        &app,
        &li,
        Method::PATCH,
        &at,
        Some(json!({"title": "上门拜访（已签约）", "version": 1})),
    )
    .await;
    assert_eq!(
        (s, &a2["version"], &a2["channel"]),
        (200, &json!(2), &json!("visit")),
        "{a2}"
    );
    let resp = bearer(
        &app,
        &li,
        Method::PATCH,
        &at,
        Some(json!({"title": "旧的", "version": 1})),
    )
    .await;
    problem(resp, 409, "version_conflict").await;
    let resp = bearer(
        &app,
        &li,
        Method::PATCH,
        &at,
        Some(json!({"channel": "pigeon", "version": 2})),
    )
    .await;
    let p = problem(resp, 422, "validation_failed").await;
    assert_eq!(field_names(&p), ["channel"]);

    // Delete: a stale version is refused, the right one removes it.
    let resp = bearer(&app, &li, Method::DELETE, &format!("{at}?version=1"), None).await;
    problem(resp, 409, "version_conflict").await;
    let resp = bearer(&app, &li, Method::DELETE, &format!("{at}?version=2"), None).await;
    assert_eq!(resp.status(), 204);
    let resp = bearer(&app, &li, Method::GET, &at, None).await;
    problem(resp, 404, "not_found").await;
    let (_, l) = call(&app, &li, Method::GET, &path, None).await;
    assert_eq!(l["total"], 1);
}

async fn another_managers_interactions_are_not_found_on_every_route(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let (_, wang) = token(&app, "wang", "account_manager").await;
    let (id, _) = customer_with_contact(&app, &wang, "王的客户").await;
    let (s, a) = post(
        &app,
        &wang,
        &format!("/api/v1/customers/{id}/activities"),
        json!({"at": "2026-11-23T06:05:00Z", "channel": "phone", "title": "王的电话"}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let aid = a["id"].as_i64().unwrap();

    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::GET,
            format!("/api/v1/customers/{id}/activities"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/customers/{id}/activities"),
            Some(json!({"at": "2026-11-23T06:05:00Z", "channel": "phone", "title": "x"})),
        ),
        (Method::GET, format!("/api/v1/activities/{aid}"), None),
        (
            Method::PATCH,
            format!("/api/v1/activities/{aid}"),
            Some(json!({"title": "x", "version": 1})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/activities/{aid}?version=1"),
            None,
        ),
    ];
    for (m, path, body) in routes {
        let resp = bearer(&app, &li, m.clone(), &path, body).await;
        problem(resp, 404, "not_found").await;
    }
    let s = app.login("li", PW).await;
    for path in [
        format!("/activities/{aid}"),
        format!("/customers/{id}/activities"),
    ] {
        assert_eq!(s.get(&path).await.status(), 404, "GET {path}");
    }
    let form = [
        ("at", "2026-11-23T14:05"),
        ("channel", "phone"),
        ("title", "x"),
        ("version", "1"),
    ];
    for path in [
        format!("/activities/{aid}"),
        format!("/activities/{aid}/delete"),
        format!("/customers/{id}/activities"),
    ] {
        assert_eq!(s.post_form(&path, &form).await.status(), 404, "POST {path}");
    }
    // Untouched for its manager.
    let (s, still) = call(
        &app,
        &wang,
        Method::GET,
        &format!("/api/v1/activities/{aid}"),
        None,
    )
    .await;
    assert_eq!(
        (s, &still["title"], &still["version"]),
        (200, &json!("王的电话"), &json!(1))
    );
}

async fn html(s: &Session, path: &str) -> String {
    let resp = s.get(path).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.text().await.unwrap()
}

fn location(resp: &kehu_testkit::reqwest::Response) -> String {
    assert_eq!(resp.status(), 303, "not a redirect");
    resp.headers()["location"].to_str().unwrap().to_owned()
}

/// The `value` of the hidden `version` input of the form posting to `action`.
fn version_in(html: &str, action: &str) -> String {
    let form = &html[html.find(&format!("action=\"{action}\"")).unwrap()..];
    let marker = "name=\"version\" value=\"";
    let rest = &form[form.find(marker).unwrap() + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn a_manager_records_an_interaction_on_the_customer_page_and_edits_it(b: TestBackend) {
    let app = app(b).await;
    app.create_user("li", "account_manager", PW).await;
    let li = app.login("li", PW).await;
    let t = app.token_for("li").await;
    let (id, zhang) = customer_with_contact(&app, &t, "华强").await;
    let (_, other) = customer_with_contact(&app, &t, "另一家").await;
    let page = format!("/customers/{id}");
    let show = html(&li, &page).await;
    assert!(show.contains("还没有交往记录"), "{show}");
    assert!(
        show.contains(&format!("<option value=\"{zhang}\">华强联系人</option>")),
        "{show}"
    );

    // Mistakes come back on the customer page, with the form open and the entries kept.
    let bad = li
        .post_form(
            &format!("{page}/activities"),
            &[
                ("at", "2026-11-23T14:05"),
                ("channel", "pigeon"),
                ("title", "报价"),
                ("contact_id", &other.to_string()),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(body.contains("数据字典中没有这个值"), "{body}");
    assert!(
        body.contains("请选择此客户的联系人") || body.contains("f-channel-error"),
        "{body}"
    );
    assert!(body.contains("value=\"报价\""), "{body}");
    assert!(body.contains("class=\"add-activity\" open"), "{body}");

    let ok = li
        .post_form(
            &format!("{page}/activities"),
            &[
                ("at", "2026-11-23T14:05"),
                ("channel", "visit"),
                ("place", "天河区"),
                ("contact_id", &zhang.to_string()),
                ("title", "上门报价"),
                ("description", "带去了新报价单"),
            ],
        )
        .await;
    assert_eq!(location(&ok), format!("{page}?saved=1#activities"));
    let show = html(&li, &page).await;
    for shown in [
        "2026-11-23",
        "14:05",
        "拜访",
        "上门报价",
        "华强联系人",
        "天河区",
        "带去了新报价单",
    ] {
        assert!(
            show.contains(shown),
            "{shown} missing from the timeline: {show}"
        );
    }
    // The contact's field error: a contact of another customer.
    let bad = li
        .post_form(
            &format!("{page}/activities"),
            &[
                ("at", "2026-11-23T14:05"),
                ("channel", "visit"),
                ("title", "x"),
                ("contact_id", &other.to_string()),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("请选择此客户的联系人"));

    // Edit: two sessions, the later save meets the newer version.
    let (_, l) = call(
        &app,
        &t,
        Method::GET,
        &format!("/api/v1/customers/{id}/activities"),
        None,
    )
    .await;
    let aid = l["items"][0]["id"].as_i64().unwrap();
    let edit = html(&li, &format!("/activities/{aid}")).await;
    assert!(
        edit.contains("value=\"2026-11-23T14:05\""),
        "local time in the form: {edit}"
    );
    let v = version_in(&edit, &format!("/activities/{aid}"));
    let fields = |title: &'static str, v: &str| {
        vec![
            ("at", "2026-11-23T14:05".to_owned()),
            ("channel", "visit".to_owned()),
            ("title", title.to_owned()),
            ("version", v.to_owned()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let li = &li;
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            li.post_form(&format!("/activities/{aid}"), &f).await
        }
    };
    location(&post(fields("上门报价（一）", &v)).await);
    let conflict = post(fields("上门报价（二）", &v)).await;
    assert_eq!(conflict.status(), 409);
    let body = conflict.text().await.unwrap();
    assert!(
        body.contains("id=\"conflict\"") && body.contains("上门报价（一）"),
        "{body}"
    );

    // Delete from the edit page.
    let edit = html(&li, &format!("/activities/{aid}")).await;
    let v = version_in(&edit, &format!("/activities/{aid}/delete"));
    let gone = li
        .post_form(&format!("/activities/{aid}/delete"), &[("version", &v)])
        .await;
    assert_eq!(location(&gone), format!("{page}?saved=1"));
    let show = html(&li, &page).await;
    assert!(!show.contains("上门报价（一）</a>"), "{show}");
    // The history keeps what happened to the interaction.
    assert!(show.contains("交往记录 上门报价（一）"), "{show}");
}

/// A test module's panel on the customer page: it shows the customer id it was asked for.
fn notes_panel<'a>(
    _: &'a AppState,
    user: &'a Principal,
    _: &'a Ctx,
    id: i64,
) -> BoxFuture<'a, Result<Option<Panel>, AppError>> {
    Box::pin(async move {
        // Only for managers: a panel may decide to show nothing.
        if user.username == "zhao" {
            return Ok(None);
        }
        Ok(Some(Panel {
            id: "test-notes",
            title: "测试面板".into(),
            count: Some(3),
            body_html: format!("<p id=\"notes-for\">notes of {id}</p>"),
            more_href: Some(format!("/notes?customer={id}")),
        }))
    })
}

async fn the_customer_page_shows_contacts_timeline_panels_and_the_history_of_what_hangs_off_it(
    b: TestBackend,
) {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(Module::new("notes").panel(RecordPanel {
        record: "customer",
        order: 10,
        render: notes_panel,
    }));
    let app = spawn_app_with_modules(b, Modules::new(modules).unwrap()).await;
    app.create_user("li", "account_manager", PW).await;
    app.create_user("zhao", "sales_supervisor", PW).await;
    let li = app.login("li", PW).await;
    let t = app.token_for("li").await;
    let (id, zhang) = customer_with_contact(&app, &t, "华强").await;
    post(
        &app,
        &t,
        &format!("/api/v1/customers/{id}/contacts"),
        json!({"name": "李四", "is_primary": true}),
    )
    .await;
    let (s, _) = call(
        &app,
        &t,
        Method::PATCH,
        &format!("/api/v1/contacts/{zhang}"),
        Some(json!({"position": "采购经理", "version": 2})),
    )
    .await;
    assert_eq!(s, 200);
    post(
        &app,
        &t,
        &format!("/api/v1/customers/{id}/activities"),
        json!({"at": "2026-11-23T06:05:00Z", "channel": "phone", "title": "电话沟通", "contact_id": zhang}),
    )
    .await;

    let show = html(&li, &format!("/customers/{id}")).await;
    // Contacts, the primary first.
    let (first, second) = (
        show.find(">李四</a>").unwrap(),
        show.find(">华强联系人</a>").unwrap(),
    );
    assert!(first < second, "the primary contact first");
    // The timeline, in the configured zone (Asia/Shanghai).
    assert!(
        show.contains("14:05") && show.contains("电话沟通"),
        "{show}"
    );
    // The panel, with its tab and its link.
    assert!(
        show.contains(&format!("<p id=\"notes-for\">notes of {id}</p>")),
        "{show}"
    );
    assert!(
        show.contains("href=\"#test-notes\">测试面板 <span class=\"count\">3</span>"),
        "{show}"
    );
    assert!(
        show.contains(&format!("href=\"/notes?customer={id}\"")),
        "{show}"
    );
    // The history: the contact's change, field by field, and the interaction's creation.
    assert!(show.contains("联系人 华强联系人"), "{show}");
    assert!(show.contains("职位： → 采购经理"), "{show}");
    assert!(show.contains("交往记录 电话沟通"), "{show}");
    assert!(show.contains("方式：电话"), "channel by its label: {show}");
    assert!(
        !show.contains("地点："),
        "fields left empty are left out: {show}"
    );

    // A panel that renders nothing leaves no section.
    let zhao = app.login("zhao", PW).await;
    let show = html(&zhao, &format!("/customers/{id}")).await;
    assert!(!show.contains("测试面板"), "{show}");
    assert!(show.contains("电话沟通"));
}

/// The page shows the latest interactions and how many there are in all: a first page that
/// holds them all is its own count, a full one is counted; the API's first pages agree.
async fn the_customer_page_counts_the_interactions_past_the_latest_it_shows(b: TestBackend) {
    let app = app(b).await;
    app.create_user("li", "account_manager", PW).await;
    let li = app.login("li", PW).await;
    let t = app.token_for("li").await;
    let (id, _) = customer_with_contact(&app, &t, "华强").await;
    let page = format!("/customers/{id}");
    let path = format!("/api/v1/customers/{id}/activities");
    // The timeline's tab: "交往记录 <span class="count">N</span>".
    let tab = |show: &str| {
        let at = &show[show.find("href=\"#activities\"").unwrap()..];
        let at = &at[at.find("class=\"count\">").unwrap() + 14..];
        at[..at.find('<').unwrap()].to_owned()
    };
    let latest = 20; // as many as the page shows
    // The API's first page of `per_page`: (items on it, total).
    let api_total = |per_page: u64| {
        let (app, t, path) = (&app, &t, &path);
        async move {
            let url = format!("{path}?per_page={per_page}");
            let (s, l) = call(app, t, Method::GET, &url, None).await;
            assert_eq!(s, 200, "{l}");
            let items = l["items"].as_array().map_or(0, Vec::len) as u64;
            (items, l["total"].as_u64().unwrap())
        }
    };

    let show = html(&li, &page).await;
    assert_eq!(tab(&show), "0");
    for i in 0..=latest {
        let (s, a) = post(
            &app,
            &t,
            &path,
            json!({"at": format!("2026-11-{:02}T06:05:00Z", i + 1), "channel": "phone",
                   "title": format!("第{}次电话", i + 1)}),
        )
        .await;
        assert_eq!(s, 201, "{a}");
        if i + 1 == latest {
            // As many as the page shows: all of them, no "more".
            let show = html(&li, &page).await;
            assert_eq!(tab(&show), latest.to_string());
            assert!(!show.contains("id=\"more-activities\""), "{show}");
            assert_eq!(api_total(latest).await, (latest, latest));
        }
    }
    // One more than the page shows: the newest shown, the oldest a "more" away, all counted.
    let show = html(&li, &page).await;
    assert_eq!(tab(&show), (latest + 1).to_string());
    assert!(show.contains("id=\"more-activities\""), "{show}");
    assert!(
        show.contains(">第21次电话</a>") && !show.contains(">第1次电话</a>"),
        "{show}"
    );
    assert_eq!(api_total(latest).await, (latest, latest + 1));
    assert_eq!(api_total(50).await, (latest + 1, latest + 1));
}

common::on_both!(
    a_manager_records_edits_and_deletes_an_interaction_through_the_api,
    another_managers_interactions_are_not_found_on_every_route,
    a_manager_records_an_interaction_on_the_customer_page_and_edits_it,
    the_customer_page_shows_contacts_timeline_panels_and_the_history_of_what_hangs_off_it,
    the_customer_page_counts_the_interactions_past_the_latest_it_shows,
);
