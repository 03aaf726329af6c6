//! The JSON API end to end over HTTP, on SQLite and PostgreSQL: users, roles, rights,
//! dictionary, audit and personal tokens; problem documents for every kind of bad input; the
//! OpenAPI document and its browsable UI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_testkit::json::{call, field_names, problem, read};
use kehu_testkit::reqwest::{Method, header};
use kehu_testkit::{TestApp, bearer, both_backends};
use serde_json::{Value, json};

const PW: &str = "secret-pass-42";

async fn admin_token(app: &TestApp) -> String {
    app.token_for("admin").await
}

async fn role_id(app: &TestApp, code: &str) -> i64 {
    app.store.roles.by_code(code).await.unwrap().unwrap().id
}

/// Creates a user over the API and returns its JSON.
async fn new_user(app: &TestApp, token: &str, username: &str) -> Value {
    let body = json!({
        "username": username, "display_name": "张伟", "email": "zw@example.cn",
        "role_id": role_id(app, "account_manager").await, "password": PW,
    });
    let (s, u) = call(app, token, Method::POST, "/api/v1/users", Some(body)).await;
    assert_eq!(s, 201, "{u}");
    u
}

both_backends! {
    async fn an_administrator_creates_reads_changes_and_resets_a_user(app) {
        let t = admin_token(&app).await;
        let am = role_id(&app, "account_manager").await;
        let resp = bearer(&app, &t, Method::POST, "/api/v1/users", Some(json!({
            "username": " Zhang.Wei ", "display_name": "张伟", "role_id": am, "password": PW,
        }))).await;
        let location = resp.headers()[header::LOCATION].to_str().unwrap().to_owned();
        let (s, created) = read(resp).await;
        assert_eq!(s, 201, "{created}");
        assert_eq!(created["username"], "zhang.wei");
        assert_eq!(created["must_change_password"], true);
        assert!(created.get("password_hash").is_none() && created.get("password").is_none());
        assert_eq!(location, format!("/api/v1/users/{}", created["id"]));

        let (s, read_back) = call(&app, &t, Method::GET, &location, None).await;
        assert_eq!((s, &read_back["role"]), (200, &json!("客户经理")));

        let (s, changed) = call(&app, &t, Method::PATCH, &location, Some(json!({
            "display_name": "张伟明", "email": "zwm@example.cn", "version": read_back["version"],
        }))).await;
        assert_eq!(s, 200, "{changed}");
        assert_eq!((&changed["display_name"], &changed["email"]), (&json!("张伟明"), &json!("zwm@example.cn")));
        assert_eq!(changed["version"], read_back["version"].as_i64().unwrap() + 1);

        let (s, cleared) = call(&app, &t, Method::PATCH, &location, Some(json!({
            "email": null, "disabled": true, "version": changed["version"],
        }))).await;
        assert_eq!(s, 200, "{cleared}");
        assert_eq!((&cleared["email"], &cleared["disabled"]), (&Value::Null, &json!(true)));

        let path = format!("{location}/password");
        let (s, _) = call(&app, &t, Method::POST, &path, Some(json!({"password": "another-pass-1"}))).await;
        assert_eq!(s, 204);
        let bad = bearer(&app, &t, Method::POST, &path, Some(json!({"password": "short"}))).await;
        assert_eq!(field_names(&problem(bad, 422, "validation_failed").await), ["password"]);

        let (s, list) = call(&app, &t, Method::GET, &format!("/api/v1/users?q=ZHANG&role_id={am}"), None).await;
        assert_eq!(s, 200);
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["display_name"], "张伟明");
        let missing = bearer(&app, &t, Method::GET, "/api/v1/users/999999", None).await;
        problem(missing, 404, "not_found").await;
    }

    async fn invalid_user_fields_get_a_422_naming_each_field(app) {
        let t = admin_token(&app).await;
        let resp = bearer(&app, &t, Method::POST, "/api/v1/users", Some(json!({
            "username": "x", "display_name": "a\u{7}b", "email": "not an email", "password": "short",
        }))).await;
        let p = problem(resp, 422, "validation_failed").await;
        assert_eq!(field_names(&p), ["username", "display_name", "email", "role_id", "password"]);
        assert_eq!(p["errors"][1]["code"], "err-control-chars");
        assert!(p["errors"][1]["reason"].as_str().is_some_and(|r| !r.is_empty()));

        let long = "长".repeat(65);
        let resp = bearer(&app, &t, Method::POST, "/api/v1/users", Some(json!({
            "username": "li.na", "display_name": long, "role_id": 999_999, "password": PW,
        }))).await;
        let p = problem(resp, 422, "validation_failed").await;
        assert_eq!(p["errors"][0]["code"], "err-too-long");

        let resp = bearer(&app, &t, Method::POST, "/api/v1/users", Some(json!({
            "username": "li.na", "display_name": "李娜", "role_id": 999_999, "password": PW,
        }))).await;
        assert_eq!(field_names(&problem(resp, 422, "validation_failed").await), ["role_id"]);
    }

    async fn a_duplicate_username_gets_409_already_exists_naming_the_field(app) {
        let t = admin_token(&app).await;
        new_user(&app, &t, "wang.fang").await;
        let resp = bearer(&app, &t, Method::POST, "/api/v1/users", Some(json!({
            "username": "WANG.FANG", "display_name": "王芳", "role_id": role_id(&app, "executive").await,
            "password": PW,
        }))).await;
        let p = problem(resp, 409, "already_exists").await;
        assert_eq!(field_names(&p), ["username"]);
    }

    async fn a_stale_or_missing_version_is_refused(app) {
        let t = admin_token(&app).await;
        let u = new_user(&app, &t, "liu.yang").await;
        let path = format!("/api/v1/users/{}", u["id"]);
        let (s, _) = call(&app, &t, Method::PATCH, &path, Some(json!({"display_name": "刘洋", "version": u["version"]}))).await;
        assert_eq!(s, 200);
        let stale = bearer(&app, &t, Method::PATCH, &path, Some(json!({"display_name": "刘阳", "version": u["version"]}))).await;
        problem(stale, 409, "version_conflict").await;
        let missing = bearer(&app, &t, Method::PATCH, &path, Some(json!({"display_name": "刘阳"}))).await;
        assert_eq!(field_names(&problem(missing, 422, "validation_failed").await), ["version"]);
    }

    async fn nobody_disables_themselves_or_changes_their_own_role(app) {
        let t = admin_token(&app).await;
        let (_, me) = call(&app, &t, Method::GET, "/api/v1/me", None).await;
        let path = format!("/api/v1/users/{}", me["id"]);
        let (_, admin) = call(&app, &t, Method::GET, &path, None).await;
        for change in [json!({"disabled": true}), json!({"role_id": role_id(&app, "executive").await})] {
            let mut body = change.clone();
            body["version"] = admin["version"].clone();
            let resp = bearer(&app, &t, Method::PATCH, &path, Some(body)).await;
            let p = problem(resp, 422, "validation_failed").await;
            assert_eq!(p["errors"][0]["code"], "err-self-change", "{change}");
        }
    }

    async fn roles_are_created_read_changed_and_deleted(app) {
        let t = admin_token(&app).await;
        let resp = bearer(&app, &t, Method::POST, "/api/v1/roles", Some(json!({
            "name": "区域经理", "description": "华东区", "data_scope": "own",
            "rights": ["customer.read", "report.read"],
        }))).await;
        let location = resp.headers()[header::LOCATION].to_str().unwrap().to_owned();
        let (s, role) = read(resp).await;
        assert_eq!(s, 201, "{role}");
        assert_eq!(role["rights"], json!(["customer.read", "report.read"]));
        assert_eq!((&role["builtin"], &role["users"]), (&json!(false), &json!(0)));

        let (s, changed) = call(&app, &t, Method::PATCH, &location, Some(json!({
            "data_scope": "all", "rights": ["customer.read"], "description": null, "version": role["version"],
        }))).await;
        assert_eq!(s, 200, "{changed}");
        assert_eq!((&changed["data_scope"], &changed["rights"]), (&json!("all"), &json!(["customer.read"])));
        assert_eq!((&changed["name"], &changed["description"]), (&json!("区域经理"), &Value::Null));

        let (s, list) = call(&app, &t, Method::GET, "/api/v1/roles", None).await;
        assert_eq!((s, &list["total"]), (200, &json!(5)));

        let stale = bearer(&app, &t, Method::DELETE, &format!("{location}?version={}", role["version"]), None).await;
        // Only `not_allowed` carries a reason.
        assert_eq!(problem(stale, 409, "version_conflict").await.get("reason"), None);
        let (s, _) = call(&app, &t, Method::DELETE, &format!("{location}?version={}", changed["version"]), None).await;
        assert_eq!(s, 204);
        problem(bearer(&app, &t, Method::GET, &location, None).await, 404, "not_found").await;
    }

    async fn an_unknown_right_code_is_a_field_error_on_rights(app) {
        let t = admin_token(&app).await;
        let resp = bearer(&app, &t, Method::POST, "/api/v1/roles", Some(json!({
            "name": "临时", "data_scope": "everything", "rights": ["customer.read", "customer.fly"],
        }))).await;
        let p = problem(resp, 422, "validation_failed").await;
        assert_eq!(field_names(&p), ["scope", "rights"]);
    }

    async fn built_in_and_in_use_roles_cannot_be_deleted(app) {
        let t = admin_token(&app).await;
        let admin_role = role_id(&app, "admin").await;
        let resp = bearer(&app, &t, Method::DELETE, &format!("/api/v1/roles/{admin_role}?version=1"), None).await;
        // The reason tells a client which rule refused, without parsing the translated detail.
        assert_eq!(problem(resp, 409, "not_allowed").await["reason"], "err-role-builtin");

        let (_, role) = call(&app, &t, Method::POST, "/api/v1/roles", Some(json!({
            "name": "客服专员", "data_scope": "own", "rights": ["service.read"],
        }))).await;
        let (s, _) = call(&app, &t, Method::POST, "/api/v1/users", Some(json!({
            "username": "kefu", "display_name": "客服", "role_id": role["id"], "password": PW,
        }))).await;
        assert_eq!(s, 201);
        let path = format!("/api/v1/roles/{}?version={}", role["id"], role["version"]);
        let in_use = problem(bearer(&app, &t, Method::DELETE, &path, None).await, 409, "not_allowed").await;
        assert_eq!(in_use["reason"], "err-role-in-use");
        let missing = bearer(&app, &t, Method::DELETE, &format!("/api/v1/roles/{}", role["id"]), None).await;
        assert_eq!(field_names(&problem(missing, 422, "validation_failed").await), ["version"]);
    }

    async fn every_right_is_listed_with_its_module_and_a_label_for_any_signed_in_user(app) {
        app.create_user("li", "account_manager", PW).await;
        let t = app.token_for("li").await;
        let (s, rights) = call(&app, &t, Method::GET, "/api/v1/rights", None).await;
        assert_eq!(s, 200);
        assert_eq!(rights["total"], kehu_domain::Right::ALL.len());
        let users = rights["items"].as_array().unwrap().iter().find(|r| r["code"] == "system.users").unwrap();
        assert_eq!(users["module"], "system");
        assert_eq!((&users["label"], &users["module_label"]), (&json!("用户管理"), &json!("系统管理")));
    }

    async fn dictionary_items_are_created_changed_and_deleted_and_protected_ones_refuse(app) {
        let t = admin_token(&app).await;
        let (s, kinds) = call(&app, &t, Method::GET, "/api/v1/dictionary/kinds", None).await;
        assert_eq!(s, 200);
        let region = kinds["items"].as_array().unwrap().iter().find(|k| k["kind"] == "region").unwrap();
        assert_eq!(region["count"], 34);

        let resp = bearer(&app, &t, Method::POST, "/api/v1/dictionary", Some(json!({
            "kind": "industry", "item": "农业", "item_en": " Agriculture ", "value": "agriculture", "sort": 20,
        }))).await;
        let location = resp.headers()[header::LOCATION].to_str().unwrap().to_owned();
        let (s, item) = read(resp).await;
        assert_eq!((s, &item["editable"], &item["item_en"]), (201, &json!(true), &json!("Agriculture")), "{item}");
        // Seeded items come with their English names.
        let (_, types) = call(&app, &t, Method::GET, "/api/v1/dictionary?kind=service_type", None).await;
        let names: Vec<(&str, &str)> = types["items"].as_array().unwrap().iter()
            .map(|i| (i["item"].as_str().unwrap(), i["item_en"].as_str().unwrap_or_default())).collect();
        assert_eq!(names, [("咨询", "Consultation"), ("投诉", "Complaint"), ("建议", "Suggestion")]);
        let bad = bearer(&app, &t, Method::POST, "/api/v1/dictionary", Some(json!({
            "kind": "industry", "item": "渔业", "item_en": "two\nlines", "value": "fishery",
        }))).await;
        assert_eq!(field_names(&problem(bad, 422, "validation_failed").await), ["item_en"]);

        let dup = bearer(&app, &t, Method::POST, "/api/v1/dictionary", Some(json!({
            "kind": "industry", "item": "农业", "value": "farming",
        }))).await;
        assert_eq!(field_names(&problem(dup, 409, "already_exists").await), ["item"]);
        let bad = bearer(&app, &t, Method::POST, "/api/v1/dictionary", Some(json!({
            "kind": "Bad Kind", "item": "", "value": "v", "sort": -1,
        }))).await;
        assert_eq!(field_names(&problem(bad, 422, "validation_failed").await), ["kind", "item", "sort"]);

        let (s, changed) = call(&app, &t, Method::PATCH, &location, Some(json!({"item": "农林牧渔", "version": item["version"]}))).await;
        assert_eq!((s, &changed["item"], &changed["sort"], &changed["item_en"]), (200, &json!("农林牧渔"), &json!(20), &json!("Agriculture")), "{changed}");
        // An empty English name takes it away.
        let (s, changed) = call(&app, &t, Method::PATCH, &location, Some(json!({"item_en": "", "version": changed["version"]}))).await;
        assert_eq!((s, &changed["item_en"]), (200, &json!(null)), "{changed}");
        let (s, got) = call(&app, &t, Method::GET, &location, None).await;
        assert_eq!((s, &got["value"]), (200, &json!("agriculture")));
        let (s, _) = call(&app, &t, Method::DELETE, &format!("{location}?version={}", changed["version"]), None).await;
        assert_eq!(s, 204);

        let (_, regions) = call(&app, &t, Method::GET, "/api/v1/dictionary?kind=region&per_page=1", None).await;
        let beijing = &regions["items"][0];
        assert_eq!(beijing["editable"], false);
        let path = format!("/api/v1/dictionary/{}", beijing["id"]);
        let resp = bearer(&app, &t, Method::PATCH, &path, Some(json!({"item": "北京", "version": beijing["version"]}))).await;
        assert_eq!(problem(resp, 409, "not_allowed").await["reason"], "err-dict-protected");
        let resp = bearer(&app, &t, Method::DELETE, &format!("{path}?version={}", beijing["version"]), None).await;
        assert_eq!(problem(resp, 409, "not_allowed").await["reason"], "err-dict-protected");
    }

    async fn any_signed_in_user_reads_the_dictionary_but_only_administrators_write_it(app) {
        app.create_user("li", "account_manager", PW).await;
        let t = app.token_for("li").await;
        let (s, list) = call(&app, &t, Method::GET, "/api/v1/dictionary?kind=customer_level", None).await;
        assert_eq!((s, &list["total"]), (200, &json!(5)));
        let (s, _) = call(&app, &t, Method::GET, "/api/v1/dictionary/kinds", None).await;
        assert_eq!(s, 200);
        let resp = bearer(&app, &t, Method::POST, "/api/v1/dictionary", Some(json!({
            "kind": "industry", "item": "农业", "value": "agriculture",
        }))).await;
        problem(resp, 403, "forbidden").await;
    }

    async fn api_changes_appear_in_the_audit_log_with_before_and_after(app) {
        let t = admin_token(&app).await;
        let u = new_user(&app, &t, "zhao.lei").await;
        let path = format!("/api/v1/users/{}", u["id"]);
        let (s, _) = call(&app, &t, Method::PATCH, &path, Some(json!({"display_name": "赵磊", "version": u["version"]}))).await;
        assert_eq!(s, 200);

        let (s, log) = call(&app, &t, Method::GET, &format!("/api/v1/audit?entity=user&entity_id={}", u["id"]), None).await;
        assert_eq!((s, &log["total"]), (200, &json!(2)), "{log}");
        let (update, create) = (&log["items"][0], &log["items"][1]);
        assert_eq!((&update["action"], &update["username"]), (&json!("update"), &json!("admin")));
        assert_eq!(update["changes"]["display_name"], json!({"before": "张伟", "after": "赵磊"}));
        assert_eq!(create["action"], "create");
        assert_eq!(create["changes"]["username"], json!({"before": null, "after": "zhao.lei"}));

        let (_, me) = call(&app, &t, Method::GET, "/api/v1/me", None).await;
        let (_, mine) = call(&app, &t, Method::GET, &format!("/api/v1/audit?user_id={}&entity=user", me["id"]), None).await;
        assert_eq!(mine["total"], 2);
    }

    async fn audit_periods_take_dates_or_rfc3339_and_refuse_anything_else(app) {
        let t = admin_token(&app).await;
        let u = new_user(&app, &t, "sun.li").await;
        let (_, log) = call(&app, &t, Method::GET, &format!("/api/v1/audit?entity=user&entity_id={}", u["id"]), None).await;
        // The entry's day in Beijing, the configured zone whose days a period means.
        let at = chrono::DateTime::parse_from_rfc3339(log["items"][0]["at"].as_str().unwrap()).unwrap();
        let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let today = at.with_timezone(&beijing).date_naive().to_string();
        let count = |q: String| {
            let (app, t, u) = (&app, &t, &u);
            async move {
                let (s, body) = call(app, t, Method::GET, &format!("/api/v1/audit?entity=user&entity_id={}&{q}", u["id"]), None).await;
                assert_eq!(s, 200, "{q}: {body}");
                body["total"].as_u64().unwrap()
            }
        };
        assert_eq!(count(format!("from={today}&to={today}")).await, 1);
        assert_eq!(count("from=2999-01-01".into()).await, 0);
        assert_eq!(count("to=2000-01-01T00:00:00Z".into()).await, 0);
        assert_eq!(count("from=2000-01-01T08:00:00%2B08:00&user_id=".into()).await, 1);

        let resp = bearer(&app, &t, Method::GET, "/api/v1/audit?from=yesterday&to=2025-02-30", None).await;
        let p = problem(resp, 422, "validation_failed").await;
        assert_eq!(field_names(&p), ["from", "to"]);
        assert_eq!(p["errors"][0]["code"], "err-date");
        let resp = bearer(&app, &t, Method::GET, "/api/v1/audit?user_id=abc", None).await;
        problem(resp, 400, "malformed_query").await;
    }

    async fn an_account_manager_token_is_forbidden_from_users_roles_and_audit(app) {
        app.create_user("li", "account_manager", PW).await;
        let t = app.token_for("li").await;
        for (method, path) in [
            (Method::GET, "/api/v1/users"),
            (Method::GET, "/api/v1/users/1"),
            (Method::PATCH, "/api/v1/users/1"),
            (Method::POST, "/api/v1/users/1/password"),
            (Method::GET, "/api/v1/roles"),
            (Method::GET, "/api/v1/roles/1"),
            (Method::DELETE, "/api/v1/roles/1?version=1"),
            (Method::GET, "/api/v1/audit"),
        ] {
            let body = (method != Method::GET && method != Method::DELETE).then(|| json!({"password": PW, "version": 1}));
            let p = problem(bearer(&app, &t, method.clone(), path, body).await, 403, "forbidden").await;
            assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{method} {path}");
        }
        let resp = bearer(&app, &t, Method::POST, "/api/v1/users", Some(json!({
            "username": "sneaky", "display_name": "x", "role_id": 1, "password": PW,
        }))).await;
        problem(resp, 403, "forbidden").await;
        let resp = bearer(&app, &t, Method::POST, "/api/v1/roles", Some(json!({
            "name": "x", "data_scope": "all", "rights": ["system.users"],
        }))).await;
        problem(resp, 403, "forbidden").await;
    }

    async fn a_request_without_credentials_gets_401_with_www_authenticate(app) {
        let anon = app.client();
        for path in ["/api/v1/users", "/api/v1/rights", "/api/v1/dictionary", "/api/v1/me/tokens"] {
            let resp = anon.get(app.url(path)).send().await.unwrap();
            assert_eq!(resp.headers()[header::WWW_AUTHENTICATE], "Bearer", "{path}");
            problem(resp, 401, "unauthenticated").await;
        }
        let resp = bearer(&app, "not-a-token", Method::GET, "/api/v1/dictionary", None).await;
        assert!(resp.headers().contains_key(header::WWW_AUTHENTICATE));
        problem(resp, 401, "unauthenticated").await;
    }

    async fn malformed_json_gets_a_400_problem(app) {
        let t = admin_token(&app).await;
        let client = app.client();
        let resp = client
            .post(app.url("/api/v1/users"))
            .bearer_auth(&t)
            .header(header::CONTENT_TYPE, "application/json")
            .body("{\"username\": \"li\",")
            .send()
            .await
            .unwrap();
        problem(resp, 400, "malformed_json").await;
        let resp = bearer(&app, &t, Method::POST, "/api/v1/roles", Some(json!({"name": 5}))).await;
        problem(resp, 400, "malformed_json").await;
        let resp = bearer(&app, &t, Method::POST, "/api/v1/dictionary", Some(json!({"kind": "x", "colour": "red"}))).await;
        problem(resp, 400, "malformed_json").await;
    }

    async fn a_session_cookie_write_without_the_csrf_header_is_refused(app) {
        let s = app.admin().await;
        let body = json!({"kind": "industry", "item": "农业", "value": "agriculture"});
        let resp = s.client.post(s.url("/api/v1/dictionary")).json(&body).send().await.unwrap();
        problem(resp, 403, "csrf_failed").await;
        let resp = s.client.post(s.url("/api/v1/dictionary")).header("x-csrf-token", "forged").json(&body).send().await.unwrap();
        problem(resp, 403, "csrf_failed").await;
        let (status, _) = read(s.api(Method::POST, "/api/v1/dictionary", Some(body)).await).await;
        assert_eq!(status, 201);
        let (status, _) = read(s.client.get(s.url("/api/v1/dictionary")).send().await.unwrap()).await;
        assert_eq!(status, 200, "reads need no CSRF header");
    }

    async fn an_unknown_api_path_gets_a_404_problem(app) {
        let t = admin_token(&app).await;
        problem(bearer(&app, &t, Method::GET, "/api/v1/nope", None).await, 404, "not_found").await;
        let resp = app.client().get(app.url("/api/v1/nope")).send().await.unwrap();
        problem(resp, 404, "not_found").await;
    }

    async fn the_openapi_document_is_3_1_and_lists_every_api_path(app) {
        let doc: Value = app.client().get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
        let expected = [
            ("/api/v1/me", &["get"][..]),
            ("/api/v1/users", &["get", "post"]),
            ("/api/v1/users/{id}", &["get", "patch"]),
            ("/api/v1/users/{id}/password", &["post"]),
            ("/api/v1/roles", &["get", "post"]),
            ("/api/v1/roles/{id}", &["get", "patch", "delete"]),
            ("/api/v1/rights", &["get"]),
            ("/api/v1/dictionary", &["get", "post"]),
            ("/api/v1/dictionary/kinds", &["get"]),
            ("/api/v1/dictionary/{id}", &["get", "patch", "delete"]),
            ("/api/v1/audit", &["get"]),
            ("/api/v1/me/tokens", &["get", "post"]),
            ("/api/v1/me/tokens/{id}", &["delete"]),
        ];
        for (path, methods) in expected {
            for m in methods {
                let op = &doc["paths"][path][m];
                assert!(op.is_object(), "{m} {path} missing from the document");
                let problem = &op["responses"]["401"]["content"]["application/problem+json"];
                assert!(problem.is_object(), "{m} {path} does not document its 401 problem");
            }
        }
        assert_eq!(doc["security"], json!([{"bearer": []}, {"session": []}]));
        let schemes = &doc["components"]["securitySchemes"];
        assert!(schemes["bearer"].is_object() && schemes["session"].is_object());
        assert!(doc["components"]["schemas"]["UserOut"]["properties"].get("password_hash").is_none());

        let client = kehu_testkit::reqwest::Client::new();
        let resp = client.get(app.url("/api/docs/")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let html = resp.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "{html}");
    }

    async fn lists_are_paginated_and_per_page_is_at_most_200(app) {
        let t = admin_token(&app).await;
        let (s, page4) = call(&app, &t, Method::GET, "/api/v1/dictionary?kind=region&per_page=10&page=4", None).await;
        assert_eq!(s, 200);
        assert_eq!((&page4["total"], &page4["page"], &page4["per_page"]), (&json!(34), &json!(4), &json!(10)));
        assert_eq!(page4["items"].as_array().unwrap().len(), 4);

        let resp = bearer(&app, &t, Method::GET, "/api/v1/dictionary?per_page=5000", None).await;
        problem(resp, 400, "parameter_out_of_range").await;
        let (_, all) = call(&app, &t, Method::GET, "/api/v1/dictionary?per_page=200", None).await;
        assert_eq!(all["per_page"], 200);
        let total = app.store.dictionary.count().await.unwrap();
        assert_eq!(all["total"], total);
        assert_eq!(all["items"].as_array().unwrap().len() as i64, total.min(200));

        for name in ["a.one", "a.two", "a.three"] {
            new_user(&app, &t, name).await;
        }
        let (_, users) = call(&app, &t, Method::GET, "/api/v1/users?per_page=2&page=2&q=", None).await;
        assert_eq!((&users["total"], &users["page"]), (&json!(4), &json!(2)));
        assert_eq!(users["items"].as_array().unwrap().len(), 2);
        let (_, roles) = call(&app, &t, Method::GET, "/api/v1/roles?per_page=3&page=2", None).await;
        assert_eq!((&roles["total"], roles["items"].as_array().unwrap().len()), (&json!(4), 1));
        let resp = bearer(&app, &t, Method::GET, "/api/v1/users?page=first", None).await;
        problem(resp, 400, "malformed_query").await;
    }

    async fn problems_speak_the_language_the_user_chose_else_accept_language(app) {
        let id = app.create_user("li", "account_manager", PW).await;
        let t = app.token_for("li").await;
        let p = problem(bearer(&app, &t, Method::GET, "/api/v1/users", None).await, 403, "forbidden").await;
        assert_eq!(p["title"], "无权访问");

        let resp = app.client().get(app.url("/api/v1/users")).bearer_auth(&t)
            .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9").send().await.unwrap();
        let p = problem(resp, 403, "forbidden").await;
        assert_eq!(p["title"], "Access denied");
        assert!(p["detail"].as_str().unwrap().starts_with("Your role"), "{p}");

        app.store.users.set_language(id, "en").await.unwrap();
        let resp = app.client().get(app.url("/api/v1/users")).bearer_auth(&t)
            .header(header::ACCEPT_LANGUAGE, "zh-CN").send().await.unwrap();
        let p = problem(resp, 403, "forbidden").await;
        assert_eq!(p["title"], "Access denied", "the saved preference beats Accept-Language");
        let (_, rights) = call(&app, &t, Method::GET, "/api/v1/rights", None).await;
        let users = rights["items"].as_array().unwrap().iter().find(|r| r["code"] == "system.users").unwrap();
        assert_eq!(users["label"], "Manage users");

        let anon = app.client().get(app.url("/api/v1/users")).header(header::ACCEPT_LANGUAGE, "en").send().await.unwrap();
        assert_eq!(problem(anon, 401, "unauthenticated").await["title"], "Not signed in");
    }

    async fn personal_tokens_are_shown_once_listed_and_revoked(app) {
        let s = app.admin().await;
        let resp = s.api(Method::POST, "/api/v1/me/tokens", Some(json!({"name": "报表脚本"}))).await;
        let location = resp.headers()[header::LOCATION].to_str().unwrap().to_owned();
        let (status, issued) = read(resp).await;
        assert_eq!(status, 201, "{issued}");
        let token = issued["token"].as_str().unwrap().to_owned();

        let (status, me) = call(&app, &token, Method::GET, "/api/v1/me", None).await;
        assert_eq!((status, &me["username"]), (200, &json!("admin")));
        let (_, list) = read(s.api(Method::GET, "/api/v1/me/tokens", None).await).await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["name"], "报表脚本");
        assert!(list["items"][0].get("token").is_none());

        let bad = s.api(Method::POST, "/api/v1/me/tokens", Some(json!({"name": ""}))).await;
        assert_eq!(field_names(&problem(bad, 422, "validation_failed").await), ["name"]);

        app.create_user("li", "account_manager", PW).await;
        let other = app.token_for("li").await;
        problem(bearer(&app, &other, Method::DELETE, &location, None).await, 404, "not_found").await;

        let (status, _) = read(s.api(Method::DELETE, &location, None).await).await;
        assert_eq!(status, 204);
        problem(bearer(&app, &token, Method::GET, "/api/v1/me", None).await, 401, "unauthenticated").await;
        problem(s.api(Method::DELETE, &location, None).await, 404, "not_found").await;
    }
}
