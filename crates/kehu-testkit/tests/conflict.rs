//! Version conflicts on the edit forms (`kehu_web::form::submit_edit`): someone else saved the
//! record after the form was opened. The form comes back 409 with the user's entries, the other
//! person's values beside the fields where they differ and who saved them; saving again
//! without ticking the confirmation overwrites nothing; with it, the user's version is saved
//! and audited. The API keeps answering 409 `version_conflict`. Every story on SQLite and on
//! PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_domain::dictionary::DictInput;
use kehu_domain::secrets::hash_password;
use kehu_store::Actor;
use kehu_store::users::NewUser;
use kehu_testkit::json::{call, problem};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, bearer, both_backends};
use serde_json::{Value, json};

const PW: &str = "a-long-password-1";

/// The value of the input named `name` on a page (`value="…"` after `name="…"`).
fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name} on the page:\n{html}"));
    let rest = &html[at + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// 王五, a second administrator: the "someone else" of these stories.
async fn wang_wu(app: &TestApp) -> String {
    let admin = app.store.roles.by_code("admin").await.unwrap().unwrap();
    let new = NewUser {
        username: "wang.wu".into(),
        display_name: "王五".into(),
        email: None,
        role_id: admin.id,
        password_hash: hash_password(PW).unwrap(),
        must_change_password: false,
    };
    app.store
        .users
        .create(&new, &Actor::system())
        .await
        .unwrap();
    app.token_for("wang.wu").await
}

async fn role_id(app: &TestApp, code: &str) -> i64 {
    app.store.roles.by_code(code).await.unwrap().unwrap().id
}

/// The newest audit entry about `entity` `id`, as the API lists it.
async fn last_audit(app: &TestApp, entity: &str, id: i64) -> Value {
    let token = app.token_for("admin").await;
    let path = format!("/api/v1/audit?entity={entity}&entity_id={id}");
    let (status, list) = call(app, &token, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{list}");
    list["items"][0].clone()
}

both_backends! {
    async fn a_stale_user_form_keeps_the_edits_shows_the_other_values_and_saves_only_when_confirmed(app) {
        // Arrange: the administrator opens 李娜's form; 王五 then changes her through the API.
        let admin = app.admin().await;
        let id = app.create_user("li.na", "account_manager", PW).await;
        let (manager, executive) = (role_id(&app, "account_manager").await, role_id(&app, "executive").await);
        let path = format!("/users/{id}");
        let opened = admin.get(&path).await.text().await.unwrap();
        let version = input_value(&opened, "version");
        let token = wang_wu(&app).await;
        let (s, theirs) = call(&app, &token, Method::PATCH, &format!("/api/v1/users/{id}"), Some(json!({
            "display_name": "李娜（华东）", "role_id": executive, "disabled": true,
            "version": version.parse::<i64>().unwrap(),
        }))).await;
        assert_eq!(s, 200, "{theirs}");
        let manager_text = manager.to_string();
        let mine = [
            ("display_name", "李娜娜"), ("email", "li.na@example.com"),
            ("role_id", manager_text.as_str()), ("version", version.as_str()),
        ];

        // Act: the administrator saves the form opened before 王五's change.
        let resp = admin.post_form(&path, &mine).await;

        // Assert: 409, the user's entries kept, 王五's values beside them by label, nothing
        // overwritten.
        assert_eq!(resp.status(), 409);
        let html = resp.text().await.unwrap();
        assert!(html.contains("此记录已被他人修改"), "{html}");
        assert!(html.contains("你打开此表单后，王五于 "), "{html}");
        assert!(html.contains("value=\"李娜娜\"") && html.contains("value=\"li.na@example.com\""), "{html}");
        assert!(html.contains(&format!("<option value=\"{manager}\" selected>客户经理</option>")), "{html}");
        for shown in ["李娜（华东）", "高管", "已停用", "（空）"] {
            assert!(html.contains(&format!("王五保存的值：{shown}</p>")), "{shown}: {html}");
        }
        assert!(!html.contains(&format!("王五保存的值：{executive}<")), "the role's id is shown");
        assert!(html.contains("name=\"overwrite\""), "{html}");
        let stored = app.store.users.get(id).await.unwrap();
        assert_eq!((stored.display_name.as_str(), stored.role_id, stored.disabled), ("李娜（华东）", executive, true));
        assert_eq!(input_value(&html, "theirs_version"), stored.version.to_string());
        assert_eq!(input_value(&html, "version"), version, "the loaded version stays in the form");

        // Act: the same form sent again, and the conflict form sent without the tick.
        let again = admin.post_form(&path, &mine).await;
        let theirs_version = input_value(&html, "theirs_version");
        let mut unticked = mine.to_vec();
        unticked.push(("theirs_version", theirs_version.as_str()));
        let unconfirmed = admin.post_form(&path, &unticked).await;

        // Assert: both still 409, the second asks for the tick, nothing overwritten.
        assert_eq!(again.status(), 409);
        assert_eq!(unconfirmed.status(), 409);
        let html = unconfirmed.text().await.unwrap();
        assert!(html.contains("请先勾选确认，再保存。"), "{html}");
        assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"f-overwrite-error\""), "{html}");
        let unchanged = app.store.users.get(id).await.unwrap();
        assert_eq!((unchanged.display_name.as_str(), unchanged.version), ("李娜（华东）", stored.version));

        // Act: confirmed.
        let mut confirmed = unticked.clone();
        confirmed.push(("overwrite", "1"));
        let saved = admin.post_form(&path, &confirmed).await;

        // Assert: saved as the user entered it, and the audit log says so.
        assert_eq!(saved.status(), 303, "{}", saved.text().await.unwrap());
        assert_eq!(saved.headers()["location"], format!("/users/{id}?saved=1"));
        let now = app.store.users.get(id).await.unwrap();
        assert_eq!(
            (now.display_name.as_str(), now.email.as_deref(), now.role_id, now.disabled),
            ("李娜娜", Some("li.na@example.com"), manager, false)
        );
        let entry = last_audit(&app, "user", id).await;
        assert_eq!((&entry["username"], &entry["action"]), (&json!("admin"), &json!("update")), "{entry}");
        assert_eq!(entry["changes"]["display_name"], json!({"before": "李娜（华东）", "after": "李娜娜"}), "{entry}");
        assert_eq!(entry["changes"]["disabled"], json!({"before": true, "after": false}), "{entry}");
    }

    async fn a_stale_role_form_summarises_the_other_rights_and_saves_when_confirmed(app) {
        let t = app.token_for("admin").await;
        let (s, role) = call(&app, &t, Method::POST, "/api/v1/roles", Some(json!({
            "name": "区域经理", "data_scope": "own", "rights": ["customer.read", "report.read"],
        }))).await;
        assert_eq!(s, 201, "{role}");
        let id = role["id"].as_i64().unwrap();
        let admin = app.admin().await;
        let path = format!("/roles/{id}");
        let version = input_value(&admin.get(&path).await.text().await.unwrap(), "version");
        let token = wang_wu(&app).await;
        let (s, theirs) = call(&app, &token, Method::PATCH, &format!("/api/v1/roles/{id}"), Some(json!({
            "data_scope": "all", "rights": ["customer.read", "customer.write"], "version": role["version"],
        }))).await;
        assert_eq!(s, 200, "{theirs}");
        let mine = [
            ("name", "区域经理（华东）"), ("description", ""), ("scope", "own"),
            ("rights", "customer.read"), ("rights", "report.read"), ("rights", "customer.delete"),
            ("version", version.as_str()),
        ];

        let resp = admin.post_form(&path, &mine).await;

        assert_eq!(resp.status(), 409);
        let html = resp.text().await.unwrap();
        for shown in ["区域经理", "全部记录", "另有 编辑客户；没有 删除客户、查看统计报表"] {
            assert!(html.contains(&format!("王五保存的值：{shown}</p>")), "{shown}: {html}");
        }
        assert!(!html.contains("王五保存的值：（空）"), "the unchanged description is shown: {html}");
        assert_eq!(app.store.roles.get(id).await.unwrap().rights, ["customer.read", "customer.write"]);

        let mut confirmed = mine.to_vec();
        let theirs_version = input_value(&html, "theirs_version");
        confirmed.extend([("theirs_version", theirs_version.as_str()), ("overwrite", "1")]);
        let saved = admin.post_form(&path, &confirmed).await;
        assert_eq!(saved.status(), 303, "{}", saved.text().await.unwrap());
        let now = app.store.roles.get(id).await.unwrap();
        assert_eq!((now.role.name.as_str(), now.role.data_scope.as_str()), ("区域经理（华东）", "own"));
        let mut rights = now.rights.clone();
        rights.sort();
        assert_eq!(rights, ["customer.delete", "customer.read", "report.read"]);
        let entry = last_audit(&app, "role", id).await;
        assert_eq!(entry["changes"]["data_scope"], json!({"before": "all", "after": "own"}), "{entry}");
    }

    async fn a_stale_dictionary_form_names_the_system_and_the_api_still_answers_version_conflict(app) {
        let t = app.token_for("admin").await;
        let (s, item) = call(&app, &t, Method::POST, "/api/v1/dictionary", Some(json!({
            "kind": "industry", "item": "农业", "value": "agriculture", "sort": 20,
        }))).await;
        assert_eq!(s, 201, "{item}");
        let id = item["id"].as_i64().unwrap();
        let admin = app.admin().await;
        let path = format!("/dictionary/{id}");
        let version = input_value(&admin.get(&path).await.text().await.unwrap(), "version");
        // A job (no user) changes the item meanwhile.
        let input = DictInput::parse("industry", "农林牧渔", "", "agriculture", "30").unwrap();
        let version_n: i32 = version.parse().unwrap();
        app.store.dictionary.update(id, &input, version_n, &Actor::system()).await.unwrap();

        // The API answers a stale write as before: 409 `version_conflict`, nothing more.
        let stale = bearer(&app, &t, Method::PATCH, &format!("/api/v1/dictionary/{id}"), Some(json!({
            "item": "农业（种植）", "version": version_n,
        }))).await;
        let p = problem(stale, 409, "version_conflict").await;
        assert_eq!(p.get("conflict"), None, "{p}");
        assert_eq!(p.get("reason"), None, "{p}");

        // The form: the system named, the other item text and sort beside the user's.
        let mine = [
            ("kind", "industry"), ("item", "农业（种植）"), ("value", "agriculture"), ("sort", "20"),
            ("version", version.as_str()),
        ];
        let resp = admin.post_form(&path, &mine).await;
        assert_eq!(resp.status(), 409);
        let html = resp.text().await.unwrap();
        assert!(html.contains("你打开此表单后，系统于 "), "{html}");
        assert!(html.contains("系统保存的值：农林牧渔</p>") && html.contains("系统保存的值：30</p>"), "{html}");
        assert!(!html.contains("系统保存的值：agriculture"), "an unchanged field is shown: {html}");
        assert!(html.contains("value=\"农业（种植）\""), "{html}");
        assert_eq!(app.store.dictionary.get(id).await.unwrap().item, "农林牧渔");

        let mut confirmed = mine.to_vec();
        let theirs_version = input_value(&html, "theirs_version");
        confirmed.extend([("theirs_version", theirs_version.as_str()), ("overwrite", "1")]);
        let saved = admin.post_form(&path, &confirmed).await;
        assert_eq!(saved.status(), 303);
        let now = app.store.dictionary.get(id).await.unwrap();
        assert_eq!((now.item.as_str(), now.sort), ("农业（种植）", 20));
    }

    async fn a_form_confirmed_against_a_version_that_moved_on_meets_the_newer_one(app) {
        // The user ticked the box for version N, but a third save made N+1 in the meantime.
        let t = app.token_for("admin").await;
        let (_, item) = call(&app, &t, Method::POST, "/api/v1/dictionary", Some(json!({
            "kind": "industry", "item": "渔业", "value": "fishery", "sort": 21,
        }))).await;
        let id = item["id"].as_i64().unwrap();
        let loaded = item["version"].as_i64().unwrap();
        let path = format!("/dictionary/{id}");
        for (text, version) in [("渔业一", loaded), ("渔业二", loaded + 1)] {
            let input = DictInput::parse("industry", text, "", "fishery", "21").unwrap();
            let v = i32::try_from(version).unwrap();
            app.store.dictionary.update(id, &input, v, &Actor::system()).await.unwrap();
        }
        let admin = app.admin().await;
        let (loaded, shown) = (loaded.to_string(), (loaded + 1).to_string());
        let resp = admin.post_form(&path, &[
            ("kind", "industry"), ("item", "我的渔业"), ("value", "fishery"), ("sort", "21"),
            ("version", &loaded), ("theirs_version", &shown), ("overwrite", "1"),
        ]).await;
        assert_eq!(resp.status(), 409);
        let html = resp.text().await.unwrap();
        assert!(html.contains("系统保存的值：渔业二</p>"), "{html}");
        assert_eq!(input_value(&html, "theirs_version"), (loaded.parse::<i64>().unwrap() + 2).to_string());
        assert!(!html.contains("name=\"overwrite\" value=\"1\" required checked"), "ticked for a version not seen");
        assert_eq!(app.store.dictionary.get(id).await.unwrap().item, "渔业二");
    }

    async fn the_store_says_who_saved_a_record_last(app) {
        let id = app.create_user("zhao.liu", "executive", PW).await;
        assert_eq!(app.store.users.last_change(id).await.unwrap().by, None, "created by the system");
        let token = wang_wu(&app).await;
        let u = app.store.users.get(id).await.unwrap();
        let (s, _) = call(&app, &token, Method::PATCH, &format!("/api/v1/users/{id}"), Some(json!({
            "display_name": "赵六", "version": u.version,
        }))).await;
        assert_eq!(s, 200);
        let last = app.store.users.last_change(id).await.unwrap();
        assert_eq!(last.by.as_deref(), Some("王五"));
        assert!(last.at >= u.updated_at);
        assert!(app.store.users.last_change(999_999).await.is_err(), "a missing record");
    }
}
