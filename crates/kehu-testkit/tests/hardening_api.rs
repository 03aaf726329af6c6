//! API hardening end to end, on SQLite and PostgreSQL: API tokens expire (also when cached), die
//! with an administrator's password reset or a disabled account, and administrators list and
//! revoke anyone's; passwords are long and not common; every numeric parameter is bounded and a
//! bad one is a problem document naming it; the OpenAPI document states these constraints.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use kehu_testkit::json::{call, field_names, problem};
use kehu_testkit::reqwest::{Method, header};
use kehu_testkit::{TestApp, bearer, both_backends};
use serde_json::{Value, json};

const PW: &str = "secret-pass-42";

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

fn days_from_now(v: &Value) -> i64 {
    (at(v) - Utc::now()).num_hours().div_euclid(24) + 1
}

/// The audit entries about API tokens, newest first.
async fn token_audit(app: &TestApp, admin: &str) -> Vec<Value> {
    let (_, log) = call(
        app,
        admin,
        Method::GET,
        "/api/v1/audit?entity=api_token&per_page=200",
        None,
    )
    .await;
    log["items"].as_array().unwrap().clone()
}

both_backends! {
    async fn an_expired_token_is_refused_even_while_it_is_cached(app) {
        app.create_user("li.na", "account_manager", PW).await;
        let soon = Utc::now() + chrono::Duration::milliseconds(1500);
        let t = app.token_expiring("li.na", Some(soon)).await;
        // The first answer puts the token in the 5-second cache.
        let (s, me) = call(&app, &t, Method::GET, "/api/v1/me", None).await;
        assert_eq!((s, &me["username"]), (200, &json!("li.na")));
        tokio::time::sleep(Duration::from_millis(1700)).await;
        let resp = bearer(&app, &t, Method::GET, "/api/v1/me", None).await;
        problem(resp, 401, "unauthenticated").await;
    }

    async fn tokens_issued_over_the_api_expire_after_90_days_unless_asked_otherwise(app) {
        let t = app.token_for("admin").await;
        let (s, default) = call(&app, &t, Method::POST, "/api/v1/me/tokens", Some(json!({"name": "报表"}))).await;
        assert_eq!(s, 201, "{default}");
        assert_eq!(days_from_now(&default["expires_at"]), 90);
        let (s, week) = call(&app, &t, Method::POST, "/api/v1/me/tokens",
            Some(json!({"name": "一周", "expires_days": 7}))).await;
        assert_eq!(s, 201, "{week}");
        assert_eq!(days_from_now(&week["expires_at"]), 7);
        for bad in [0, 366, -1] {
            let resp = bearer(&app, &t, Method::POST, "/api/v1/me/tokens",
                Some(json!({"name": "x", "expires_days": bad}))).await;
            let p = problem(resp, 422, "validation_failed").await;
            assert_eq!(field_names(&p), ["expires_days"], "{bad}");
        }
        let (_, list) = call(&app, &t, Method::GET, "/api/v1/me/tokens", None).await;
        let week_row = list["items"].as_array().unwrap().iter().find(|x| x["id"] == week["id"]).unwrap();
        assert_eq!(week_row["expires_at"], week["expires_at"]);
        let (s, _) = call(&app, week["token"].as_str().unwrap(), Method::GET, "/api/v1/me", None).await;
        assert_eq!(s, 200);
    }

    async fn an_administrators_password_reset_revokes_the_users_tokens(app) {
        let admin = app.token_for("admin").await;
        let id = app.create_user("li.na", "account_manager", PW).await;
        let (t1, t2) = (app.token_for("li.na").await, app.token_for("li.na").await);
        assert_eq!(call(&app, &t1, Method::GET, "/api/v1/me", None).await.0, 200);
        let (s, body) = call(&app, &admin, Method::POST, &format!("/api/v1/users/{id}/password"),
            Some(json!({"password": "temporary-pass-2026"}))).await;
        assert_eq!(s, 204, "{body}");
        for t in [&t1, &t2] {
            problem(bearer(&app, t, Method::GET, "/api/v1/me", None).await, 401, "unauthenticated").await;
        }
        let audit = token_audit(&app, &admin).await;
        let reset: Vec<_> = audit.iter()
            .filter(|e| e["changes"]["reason"]["after"] == "password_reset")
            .collect();
        assert_eq!(reset.len(), 2, "{audit:?}");
        assert_eq!(reset[0]["username"], "admin");
        // The admin's own tokens are untouched.
        assert_eq!(call(&app, &admin, Method::GET, "/api/v1/me", None).await.0, 200);
    }

    async fn disabling_a_user_revokes_their_tokens_for_good(app) {
        let admin = app.token_for("admin").await;
        let id = app.create_user("li.na", "account_manager", PW).await;
        let t = app.token_for("li.na").await;
        let (_, u) = call(&app, &admin, Method::GET, &format!("/api/v1/users/{id}"), None).await;
        let (s, u) = call(&app, &admin, Method::PATCH, &format!("/api/v1/users/{id}"),
            Some(json!({"disabled": true, "version": u["version"]}))).await;
        assert_eq!(s, 200, "{u}");
        let (_, u) = call(&app, &admin, Method::PATCH, &format!("/api/v1/users/{id}"),
            Some(json!({"disabled": false, "version": u["version"]}))).await;
        assert_eq!(u["disabled"], false);
        problem(bearer(&app, &t, Method::GET, "/api/v1/me", None).await, 401, "unauthenticated").await;
        let (_, list) = call(&app, &admin, Method::GET, &format!("/api/v1/users/{id}/tokens"), None).await;
        assert!(list["items"][0]["revoked_at"].is_string(), "{list}");
        let audit = token_audit(&app, &admin).await;
        assert!(audit.iter().any(|e| e["changes"]["reason"]["after"] == "user_disabled"), "{audit:?}");
    }

    async fn administrators_list_and_revoke_any_users_tokens_over_the_api(app) {
        let admin = app.token_for("admin").await;
        let id = app.create_user("li.na", "account_manager", PW).await;
        let t = app.token_for("li.na").await;
        let path = format!("/api/v1/users/{id}/tokens");
        let (s, list) = call(&app, &admin, Method::GET, &path, None).await;
        assert_eq!((s, &list["total"]), (200, &json!(1)), "{list}");
        let token = &list["items"][0];
        assert!(token.get("token").is_none() && token["expires_at"].is_string(), "{token}");

        // Someone without `system.users` may do neither.
        problem(bearer(&app, &t, Method::GET, &path, None).await, 403, "forbidden").await;
        let one = format!("{path}/{}", token["id"]);
        problem(bearer(&app, &t, Method::DELETE, &one, None).await, 403, "forbidden").await;

        let (s, _) = call(&app, &admin, Method::DELETE, &one, None).await;
        assert_eq!(s, 204);
        problem(bearer(&app, &t, Method::GET, "/api/v1/me", None).await, 401, "unauthenticated").await;
        problem(bearer(&app, &admin, Method::DELETE, &one, None).await, 404, "not_found").await;
        // A token is revoked through its owner only.
        let admins = call(&app, &admin, Method::GET, "/api/v1/me/tokens", None).await.1;
        let other = format!("{path}/{}", admins["items"][0]["id"]);
        problem(bearer(&app, &admin, Method::DELETE, &other, None).await, 404, "not_found").await;
        problem(bearer(&app, &admin, Method::GET, "/api/v1/users/999999/tokens", None).await, 404, "not_found").await;
        let audit = token_audit(&app, &admin).await;
        let token_id = token["id"].to_string();
        assert!(audit.iter().any(|e| e["entity_id"].as_str() == Some(token_id.as_str())
            && e["changes"]["revoked"]["after"] == true && e["username"] == "admin"), "{audit:?}");
    }

    async fn the_user_tokens_page_lists_a_users_tokens_and_revokes_them(app) {
        let id = app.create_user("li.na", "account_manager", PW).await;
        let t = app.token_for("li.na").await;
        let s = app.admin().await;
        let edit = s.get(&format!("/users/{id}")).await.text().await.unwrap();
        assert!(edit.contains(&format!("href=\"/users/{id}/tokens\"")), "no link on the edit form");
        let page = s.get(&format!("/users/{id}/tokens")).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let token_id = app.tokens_of(id).await[0].id;
        let action = format!("/users/{id}/tokens/{token_id}/revoke");
        assert!(html.contains(&action) && html.contains("li.na"), "{html}");

        let resp = s.post_form(&action, &[]).await;
        assert_eq!(resp.status(), 303);
        assert_eq!(resp.headers()[header::LOCATION], format!("/users/{id}/tokens?saved=1").as_str());
        problem(bearer(&app, &t, Method::GET, "/api/v1/me", None).await, 401, "unauthenticated").await;
        let html = s.get(&format!("/users/{id}/tokens?saved=1")).await.text().await.unwrap();
        assert!(!html.contains(&action), "a revoked token still has a revoke button");

        // Without the CSRF token nothing happens; without the right the page is refused.
        let forged = s.client.post(s.url(&action)).send().await.unwrap();
        assert_eq!(forged.status(), 403);
        let li = app.login("li.na", PW).await;
        assert_eq!(li.get(&format!("/users/{id}/tokens")).await.status(), 403);
    }

    async fn the_profile_token_form_takes_a_lifetime_and_shows_expiry(app) {
        let s = app.admin().await;
        let resp = s.post_form("/profile/tokens", &[("name", "脚本"), ("expires_days", "30")]).await;
        assert_eq!(resp.status(), 303, "POST-redirect-GET");
        assert_eq!(resp.headers()["location"], "/profile?saved=1");
        let html = s.get("/profile?saved=1").await.text().await.unwrap();
        assert!(html.contains("id=\"new-token\""), "{html}");
        // Reloading issues no second token and shows this one no more.
        let again = s.get("/profile?saved=1").await.text().await.unwrap();
        assert!(!again.contains("id=\"new-token\""), "the token is shown twice");
        let tokens = app.tokens_of(1).await;
        assert_eq!(tokens.len(), 1);
        let days = (tokens[0].expires_at.unwrap() - Utc::now()).num_hours().div_euclid(24) + 1;
        assert_eq!(days, 30);
        let resp = s.post_form("/profile/tokens", &[("name", "脚本"), ("expires_days", "0")]).await;
        assert_eq!(resp.status(), 422);
        assert!(resp.text().await.unwrap().contains("1 到 365"));
        let resp = s.post_form("/profile/tokens", &[("name", "默认")]).await;
        assert_eq!(resp.status(), 303, "a form without a lifetime takes the default");
    }

    async fn short_and_common_passwords_are_refused_with_a_clear_message(app) {
        let t = app.token_for("admin").await;
        let role = app.store.roles.by_code("account_manager").await.unwrap().unwrap().id;
        let attempt = |password: &'static str, lang: &'static str| {
            let app = &app;
            let t = t.clone();
            async move {
                let resp = app.client().post(app.url("/api/v1/users")).bearer_auth(&t)
                    .header(header::ACCEPT_LANGUAGE, lang)
                    .json(&json!({"username": "wang.fang", "display_name": "王芳", "role_id": role,
                        "password": password}))
                    .send().await.unwrap();
                problem(resp, 422, "validation_failed").await["errors"][0].clone()
            }
        };
        let e = attempt("eleven-char", "en").await;
        assert_eq!((&e["name"], &e["code"]), (&json!("password"), &json!("err-password-short")));
        assert_eq!(e["reason"], "A password needs at least 12 characters.");
        let e = attempt("Password1234", "en").await;
        assert_eq!(e["code"], "err-password-common");
        assert!(e["reason"].as_str().unwrap().contains("most common"), "{e}");
        let e = attempt("password1234", "zh-CN").await;
        assert!(e["reason"].as_str().unwrap().contains("最常见"), "{e}");
        // An administrator's temporary password follows the same rule.
        let (s, p) = call(&app, &t, Method::POST, "/api/v1/users/1/password",
            Some(json!({"password": "qwerty123456"}))).await;
        assert_eq!((s, &p["errors"][0]["code"]), (422, &json!("err-password-common")));
    }

    async fn huge_or_malformed_numeric_parameters_are_problems_naming_the_parameter(app) {
        let t = app.token_for("admin").await;
        for (path, name) in [
            ("/api/v1/users?page=9223372036854775808", "page"),
            ("/api/v1/audit?page=18446744073709551616", "page"),
            ("/api/v1/audit?per_page=201", "per_page"),
            ("/api/v1/roles?per_page=0", "per_page"),
            ("/api/v1/dictionary?page=0", "page"),
            ("/api/v1/me/tokens?page=1000001", "page"),
        ] {
            let p = problem(bearer(&app, &t, Method::GET, path, None).await, 400, "parameter_out_of_range").await;
            assert_eq!(field_names(&p), [name], "{path}");
            assert!(p["errors"][0]["reason"].as_str().unwrap().contains("1"), "{p}");
        }
        for (path, name) in [
            ("/api/v1/users?role_id=99999999999999999999", "role_id"),
            ("/api/v1/audit?user_id=x", "user_id"),
            ("/api/v1/users?page=-1", "page"),
            ("/api/v1/roles/1?version=abc", "version"),
        ] {
            let method = if path.starts_with("/api/v1/roles/1") { Method::DELETE } else { Method::GET };
            let p = problem(bearer(&app, &t, method, path, None).await, 400, "malformed_query").await;
            assert_eq!(field_names(&p), [name], "{path}");
        }
        for (method, path, name) in [
            (Method::GET, "/api/v1/users/abc", "id"),
            (Method::GET, "/api/v1/users/99999999999999999999", "id"),
            (Method::GET, "/api/v1/dictionary/1.5", "id"),
            (Method::DELETE, "/api/v1/users/1/tokens/x", "token_id"),
            (Method::DELETE, "/api/v1/me/tokens/-", "id"),
        ] {
            let p = problem(bearer(&app, &t, method, path, None).await, 400, "malformed_path").await;
            assert_eq!(field_names(&p), [name], "{path}");
        }
        // The last possible page is simply empty.
        let (s, last) = call(&app, &t, Method::GET, "/api/v1/users?page=1000000&per_page=200", None).await;
        assert_eq!((s, last["items"].as_array().unwrap().len()), (200, 0));
        let (s, last) = call(&app, &t, Method::GET, "/api/v1/audit?page=1000000", None).await;
        assert_eq!((s, last["total"].as_u64().unwrap() > 0), (200, true));
        // The pages' lists take any page number: far past the end is an empty page, no panic.
        let admin = app.admin().await;
        for path in ["/users?page=18446744073709551615", "/audit?page=9223372036854775808"] {
            assert_eq!(admin.get(path).await.status(), 200, "{path}");
        }
    }
}

/// The parameter `name` of the operation at `path`/`method`.
fn param<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
}

#[tokio::test]
async fn the_openapi_document_states_what_the_api_validates() {
    let app = kehu_testkit::spawn_app(kehu_testkit::TestBackend::Sqlite).await;
    let doc: Value = app
        .client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schema = |name: &str| doc["components"]["schemas"][name].clone();

    let new_user = schema("NewUserBody");
    let username = &new_user["properties"]["username"];
    assert_eq!(
        (&username["minLength"], &username["maxLength"]),
        (&json!(3), &json!(32)),
        "{username}"
    );
    assert!(username["pattern"].is_string(), "{username}");
    assert_eq!(new_user["properties"]["password"]["minLength"], 12);
    assert_eq!(new_user["properties"]["password"]["maxLength"], 128);
    assert_eq!(
        schema("PasswordBody")["properties"]["password"]["minLength"],
        12
    );
    assert_eq!(
        schema("NewRoleBody")["properties"]["data_scope"]["enum"],
        json!(["own", "all"])
    );
    let rights = &schema("NewRoleBody")["properties"]["rights"]["items"]["enum"];
    assert!(
        rights.as_array().unwrap().contains(&json!("system.users")),
        "{rights}"
    );
    assert_eq!(
        schema("NewDictBody")["properties"]["sort"]["maximum"],
        99999
    );
    assert_eq!(
        schema("NewTokenBody")["properties"]["expires_days"]["maximum"],
        365
    );
    assert_eq!(
        schema("NewTokenBody")["properties"]["name"]["maxLength"],
        64
    );

    let per_page = param(&doc, "/api/v1/users", "get", "per_page");
    assert_eq!(
        (
            &per_page["schema"]["minimum"],
            &per_page["schema"]["maximum"]
        ),
        (&json!(1), &json!(200))
    );
    let page = param(&doc, "/api/v1/audit", "get", "page");
    assert_eq!(page["schema"]["maximum"], 1_000_000);
    assert!(doc["paths"]["/api/v1/users/{id}/tokens"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/users/{id}/tokens/{token_id}"]["delete"].is_object());
    let expires = &schema("TokenOut")["properties"]["expires_at"];
    assert!(
        expires.to_string().contains("null"),
        "expires_at is nullable: {expires}"
    );
}

#[tokio::test]
async fn a_short_or_common_administrator_password_is_refused_at_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kehu.db").display());
    let store = kehu_store::Store::open(&url).await.unwrap();
    for (password, reason) in [("admin-123", "12 characters"), ("administrator", "common")] {
        let err = kehu_web::setup::bootstrap_admin(&store, Some(password))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("KEHU_ADMIN_PASSWORD") && err.contains(reason),
            "{err}"
        );
    }
    assert_eq!(
        store.users.count().await.unwrap(),
        0,
        "no administrator was created"
    );
}
