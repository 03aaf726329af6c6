//! 客户管理 in the browser's terms, on SQLite and PostgreSQL: forms that save and come back
//! with field errors, the customer page with contacts and history, an edit conflict between
//! two sessions, the trash, a supervisor's transfer from the list, and another manager's
//! records answering 404.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kehu_testkit::{Session, TestApp, TestBackend};

mod common;
use common::app;

const PW: &str = "lang-genug-123";

async fn signed_in(app: &TestApp, username: &str, role: &str) -> (i64, Session) {
    let id = app.create_user(username, role, PW).await;
    (id, app.login(username, PW).await)
}

/// Where a 303 goes.
fn location(resp: &kehu_testkit::reqwest::Response) -> String {
    assert_eq!(resp.status(), 303, "not a redirect");
    resp.headers()["location"].to_str().unwrap().to_owned()
}

/// The id in `/customers/{id}?saved=1`.
fn id_in(location: &str) -> String {
    location
        .trim_start_matches("/customers/")
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

/// The `value` of the hidden `version` input of the form posting to `action`.
fn version_in(html: &str, action: &str) -> String {
    let form = &html[html.find(&format!("action=\"{action}\"")).unwrap()..];
    let marker = "name=\"version\" value=\"";
    let rest = &form[form.find(marker).unwrap() + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn a_manager_creates_a_customer_adds_contacts_and_sees_its_history(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = signed_in(&app, "li", "account_manager").await;

    // The navigation offers 客户管理; the empty list offers a new customer.
    let home = html(&li, "/").await;
    assert!(home.contains("href=\"/customers\""), "{home}");
    let list = html(&li, "/customers").await;
    assert!(list.contains("还没有客户"), "{list}");

    // A form with mistakes comes back with each field's error, the entries kept.
    let bad = li
        .post_form(
            "/customers",
            &[
                ("name", ""),
                ("phone", "12"),
                ("satisfaction", "7"),
                ("region", "440000"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    assert!(page.contains("不是有效的电话号码"), "{page}");
    assert!(page.contains("请输入 1 到 5 之间的整数"), "{page}");
    assert!(page.contains("id=\"f-name-error\""), "{page}");
    assert!(page.contains("value=\"12\""), "the entry is kept: {page}");

    let ok = li
        .post_form(
            "/customers",
            &[
                ("name", "广州华强电子"),
                ("region", "440000"),
                ("level", "key_account"),
                ("phone", "020-8888 6666"),
                ("tags", "VIP，华南"),
            ],
        )
        .await;
    let at = location(&ok);
    assert!(at.ends_with("?saved=1"), "{at}");
    let id = id_in(&at);
    let page = html(&li, &at).await;
    for shown in [
        "广州华强电子",
        "广东省",
        "大客户",
        "+862088886666",
        "VIP、华南",
        "KH",
    ] {
        assert!(page.contains(shown), "{shown} missing: {page}");
    }

    // Contacts: the first is the primary; another is made primary from the page.
    let added = li
        .post_form(
            &format!("/customers/{id}/contacts"),
            &[("name", "张三"), ("mobile", "13912345678")],
        )
        .await;
    location(&added);
    let bad_contact = li
        .post_form(
            &format!("/customers/{id}/contacts"),
            &[("name", "李四"), ("email", "no")],
        )
        .await;
    assert_eq!(bad_contact.status(), 422);
    let added = li
        .post_form(&format!("/customers/{id}/contacts"), &[("name", "李四")])
        .await;
    location(&added);
    let page = html(&li, &format!("/customers/{id}")).await;
    assert_eq!(page.matches("class=\"badge primary-contact\"").count(), 1);
    let li_si = page.find("李四").unwrap();
    let primary_form = page[li_si..].find("/primary\"").unwrap();
    let action_start = page[..li_si + primary_form].rfind("action=\"").unwrap() + 8;
    let action = &page[action_start..li_si + primary_form + 8];
    let v = version_in(&page, action);
    location(&li.post_form(action, &[("version", &v)]).await);
    let page = html(&li, &format!("/customers/{id}")).await;
    let badge = page.find("primary-contact").unwrap();
    assert!(
        page[..badge].rfind("李四") > page[..badge].rfind("张三"),
        "{page}"
    );

    // The history lists the creation and the changes.
    assert!(page.contains("id=\"history\""));
    assert!(page.contains("新建") || page.contains("创建"), "{page}");

    // The list shows it with its labels.
    let list = html(&li, "/customers?region=440000").await;
    assert!(
        list.contains("广州华强电子") && list.contains("大客户"),
        "{list}"
    );
}

async fn an_edit_conflict_between_two_sessions_keeps_both_values(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = signed_in(&app, "li", "account_manager").await;
    let boss = { signed_in(&app, "zhao", "sales_supervisor").await.1 };
    let at = location(&li.post_form("/customers", &[("name", "华强")]).await);
    let id = id_in(&at);
    let form_li = html(&li, &format!("/customers/{id}/edit")).await;
    let form_boss = html(&boss, &format!("/customers/{id}/edit")).await;
    let v_li = version_in(&form_li, &format!("/customers/{id}"));
    let v_boss = version_in(&form_boss, &format!("/customers/{id}"));
    let path = format!("/customers/{id}");
    location(
        &boss
            .post_form(&path, &[("name", "华强集团"), ("version", &v_boss)])
            .await,
    );
    let conflict = li
        .post_form(&path, &[("name", "华强电子"), ("version", &v_li)])
        .await;
    assert_eq!(conflict.status(), 409);
    let page = conflict.text().await.unwrap();
    assert!(page.contains("id=\"conflict\""), "{page}");
    assert!(
        page.contains("华强集团") && page.contains("value=\"华强电子\""),
        "{page}"
    );
}

async fn the_trash_holds_deleted_customers_until_restored(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = signed_in(&app, "li", "account_manager").await;
    let at = location(&li.post_form("/customers", &[("name", "华强")]).await);
    let id = id_in(&at);
    let page = html(&li, &format!("/customers/{id}")).await;
    let v = version_in(&page, &format!("/customers/{id}/delete"));
    location(
        &li.post_form(&format!("/customers/{id}/delete"), &[("version", &v)])
            .await,
    );
    assert_eq!(li.get(&format!("/customers/{id}")).await.status(), 404);
    let trash = html(&li, "/customers/trash").await;
    assert!(trash.contains("华强"), "{trash}");
    let v = version_in(&trash, &format!("/customers/{id}/restore"));
    let back = li
        .post_form(&format!("/customers/{id}/restore"), &[("version", &v)])
        .await;
    assert_eq!(location(&back), format!("/customers/{id}?saved=1"));
    assert!(!html(&li, "/customers/trash").await.contains("华强"));
}

async fn a_supervisor_transfers_ticked_customers_from_the_list(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = signed_in(&app, "li", "account_manager").await;
    let (wang_id, wang) = signed_in(&app, "wang", "account_manager").await;
    let (_, boss) = signed_in(&app, "zhao", "sales_supervisor").await;
    let a = id_in(&location(
        &li.post_form("/customers", &[("name", "甲公司")]).await,
    ));
    let b2 = id_in(&location(
        &li.post_form("/customers", &[("name", "乙公司")]).await,
    ));
    let list = html(&boss, "/customers").await;
    assert!(list.contains("name=\"to_owner_id\""), "{list}");
    let (pa, pb, to) = (
        format!("pick-{a}"),
        format!("pick-{b2}"),
        wang_id.to_string(),
    );
    let done = boss
        .post_form(
            "/customers/transfer",
            &[(&pa, "on"), (&pb, "on"), ("to_owner_id", &to)],
        )
        .await;
    assert_eq!(location(&done), "/customers?saved=1");
    let theirs = html(&wang, "/customers").await;
    assert!(
        theirs.contains("甲公司") && theirs.contains("乙公司"),
        "{theirs}"
    );
    assert!(!html(&li, "/customers").await.contains("甲公司"));
    // A manager's list offers no transfer; nobody chosen is an error page, not a 500.
    assert!(
        !html(&li, "/customers")
            .await
            .contains("name=\"to_owner_id\"")
    );
    let none = boss
        .post_form("/customers/transfer", &[("to_owner_id", &to)])
        .await;
    assert_eq!(none.status(), 422);
    // In the app's frame: the navigation and the user menu stay at hand.
    let page = none.text().await.unwrap();
    assert!(
        page.contains("id=\"user-menu\"") && page.contains("id=\"nav\""),
        "{page}"
    );
    assert!(page.contains("请选择 1 到 1000 个客户"), "{page}");
}

async fn another_managers_customer_pages_are_not_found(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = signed_in(&app, "li", "account_manager").await;
    let (_, wang) = signed_in(&app, "wang", "account_manager").await;
    let id = id_in(&location(
        &wang.post_form("/customers", &[("name", "王的客户")]).await,
    ));
    location(
        &wang
            .post_form(
                &format!("/customers/{id}/contacts"),
                &[("name", "王联系人")],
            )
            .await,
    );
    let page = html(&wang, &format!("/customers/{id}")).await;
    let contact = page[page.find("href=\"/contacts/").unwrap() + 16..]
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    for path in [
        format!("/customers/{id}"),
        format!("/customers/{id}/edit"),
        format!("/contacts/{contact}"),
    ] {
        assert_eq!(li.get(&path).await.status(), 404, "GET {path}");
    }
    for path in [
        format!("/customers/{id}"),
        format!("/customers/{id}/delete"),
        format!("/customers/{id}/restore"),
        format!("/customers/{id}/contacts"),
        format!("/contacts/{contact}"),
        format!("/contacts/{contact}/primary"),
        format!("/contacts/{contact}/delete"),
    ] {
        let status = li
            .post_form(&path, &[("name", "x"), ("version", "1")])
            .await
            .status();
        assert_eq!(status, 404, "POST {path}");
    }
    // An executive may not open the customers at all.
    let (_, gao) = signed_in(&app, "gao", "executive").await;
    assert_eq!(gao.get("/customers").await.status(), 403);
}

async fn the_list_filters_by_industry_and_period_and_keeps_saved_filters(b: TestBackend) {
    let app = app(b).await;
    let (_, li) = signed_in(&app, "li", "account_manager").await;
    let made = li
        .post_form(
            "/customers",
            &[("name", "甲制造"), ("industry", "manufacturing")],
        )
        .await;
    location(&made);
    location(
        &li.post_form("/customers", &[("name", "乙金融"), ("industry", "finance")])
            .await,
    );

    let list = html(&li, "/customers?industry=manufacturing").await;
    assert!(
        list.contains("甲制造") && !list.contains("乙金融"),
        "{list}"
    );
    let long_ago = html(
        &li,
        "/customers?created_from=2000-01-01&created_to=2000-01-02",
    )
    .await;
    assert!(long_ago.contains("没有符合筛选条件的客户"), "{long_ago}");
    assert!(!long_ago.contains("甲制造"));
    // Today in Beijing, the configured zone whose days the filter means.
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&beijing)
        .date_naive()
        .to_string();
    let now = html(
        &li,
        &format!("/customers?created_from={today}&created_to={today}"),
    )
    .await;
    assert!(now.contains("甲制造") && now.contains("乙金融"), "{now}");

    let saved = li
        .post_form(
            "/customers/saved-filters",
            &[("name", "制造业"), ("query", "industry=manufacturing")],
        )
        .await;
    assert_eq!(location(&saved), "/customers?industry=manufacturing");
    let list = html(&li, "/customers").await;
    assert!(
        list.contains("href=\"/customers?industry=manufacturing\" class=\"chip-link\""),
        "{list}"
    );
    assert!(list.contains(">制造业</a>"), "{list}");
}

common::on_both! {
    the_list_filters_by_industry_and_period_and_keeps_saved_filters,
    a_manager_creates_a_customer_adds_contacts_and_sees_its_history,
    an_edit_conflict_between_two_sessions_keeps_both_values,
    the_trash_holds_deleted_customers_until_restored,
    a_supervisor_transfers_ticked_customers_from_the_list,
    another_managers_customer_pages_are_not_found,
}
