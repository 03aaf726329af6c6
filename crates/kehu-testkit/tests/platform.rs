//! The platform end to end over HTTP, every story on SQLite and on PostgreSQL: sign-in and
//! sessions, rights and data scope per route, forms and their errors, audit, operations.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_domain::secrets::hash_password;
use kehu_store::Actor;
use kehu_testkit::{ADMIN_PASSWORD, Session, TestApp, both_backends, form_token, spawn_beside};

const PW: &str = "geheim-123456";

/// Expected status per role for a GET: admin, sales supervisor, account manager, executive.
const GET_MATRIX: &[(&str, [u16; 4])] = &[
    ("/", [200, 200, 200, 200]),
    ("/profile", [200, 200, 200, 200]),
    ("/users", [200, 403, 403, 403]),
    ("/users/new", [200, 403, 403, 403]),
    ("/users/1", [200, 403, 403, 403]),
    ("/roles", [200, 403, 403, 403]),
    ("/roles/new", [200, 403, 403, 403]),
    ("/roles/1", [200, 403, 403, 403]),
    ("/dictionary", [200, 403, 403, 403]),
    ("/dictionary/new", [200, 403, 403, 403]),
    ("/dictionary/1", [200, 403, 403, 403]),
    ("/audit", [200, 403, 403, 403]),
    ("/search?q=a", [200, 200, 200, 200]),
    ("/api/v1/me", [200, 200, 200, 200]),
    // Everyone may search; what they find is filtered by rights and scope.
    ("/api/v1/search?q=a", [200, 200, 200, 200]),
    ("/api/v1/search", [400, 400, 400, 400]),
];

/// State-changing form posts: only the administrator may make them.
const POST_MATRIX: &[(&str, [u16; 4])] = &[
    ("/users", [422, 403, 403, 403]),
    ("/users/1", [422, 403, 403, 403]),
    ("/users/1/password", [422, 403, 403, 403]),
    ("/roles", [422, 403, 403, 403]),
    ("/roles/1", [422, 403, 403, 403]),
    ("/roles/1/delete", [422, 403, 403, 403]),
    ("/dictionary", [422, 403, 403, 403]),
    ("/dictionary/1", [422, 403, 403, 403]),
    ("/dictionary/1/delete", [422, 403, 403, 403]),
];

/// The customer module's routes (GET and a form post each role may or may not make): the
/// account manager and the supervisor hold `customer.read` and `customer.write`, the executive
/// neither. A record that does not exist is 404 to those who may look, 403 to the others.
const CUSTOMER_GET_MATRIX: &[(&str, [u16; 4])] = &[
    ("/customers", [200, 200, 200, 403]),
    ("/customers/new", [200, 200, 200, 403]),
    ("/customers/trash", [200, 200, 200, 403]),
    ("/customers/999999", [404, 404, 404, 403]),
    ("/customers/999999/edit", [404, 404, 404, 403]),
    ("/contacts/999999", [404, 404, 404, 403]),
    ("/api/v1/customers", [200, 200, 200, 403]),
    ("/api/v1/customers/trash", [200, 200, 200, 403]),
    ("/api/v1/customers/999999", [404, 404, 404, 403]),
    ("/api/v1/customers/999999/contacts", [404, 404, 404, 403]),
    ("/api/v1/contacts", [200, 200, 200, 403]),
    ("/api/v1/contacts/999999", [404, 404, 404, 403]),
    ("/search?q=zs", [200, 200, 200, 200]),
    ("/api/v1/search?q=zs", [200, 200, 200, 200]),
    ("/customers/999999/activities", [404, 404, 404, 403]),
    ("/activities/999999", [404, 404, 404, 403]),
    ("/api/v1/customers/999999/activities", [404, 404, 404, 403]),
    ("/api/v1/activities/999999", [404, 404, 404, 403]),
    // Exports need `customer.export` (administrator and supervisor).
    ("/api/v1/customers/export?format=csv", [200, 200, 403, 403]),
    ("/api/v1/customers/export?format=xlsx", [200, 200, 403, 403]),
    ("/api/v1/contacts/export?format=vcf", [200, 200, 403, 403]),
];

/// Form posts with an empty body: field errors or "no such record" where the right is held.
const CUSTOMER_POST_MATRIX: &[(&str, [u16; 4])] = &[
    ("/customers", [422, 422, 422, 403]),
    ("/customers/transfer", [422, 422, 422, 403]),
    ("/customers/999999", [404, 404, 404, 403]),
    ("/customers/999999/delete", [404, 404, 404, 403]),
    ("/customers/999999/restore", [404, 404, 404, 403]),
    ("/customers/999999/contacts", [404, 404, 404, 403]),
    ("/contacts/999999", [404, 404, 404, 403]),
    ("/contacts/999999/primary", [404, 404, 404, 403]),
    ("/contacts/999999/delete", [404, 404, 404, 403]),
    ("/customers/999999/activities", [404, 404, 404, 403]),
    ("/activities/999999", [404, 404, 404, 403]),
    ("/activities/999999/delete", [404, 404, 404, 403]),
];

/// The order module's routes: everyone but the executive reads orders, products and stock and
/// places orders (the account manager for their own customers); products and stock are kept
/// by the supervisor and the administrator.
const ORDER_GET_MATRIX: &[(&str, [u16; 4])] = &[
    ("/orders", [200, 200, 200, 403]),
    ("/orders/new", [200, 200, 200, 403]),
    ("/orders/999999", [404, 404, 404, 403]),
    ("/orders/999999/cancel", [404, 404, 404, 403]),
    ("/products", [200, 200, 200, 403]),
    ("/products/new", [200, 200, 403, 403]),
    ("/products/999999", [404, 404, 404, 403]),
    ("/stock", [200, 200, 200, 403]),
    ("/stock/new", [200, 200, 403, 403]),
    ("/stock/999999", [404, 404, 404, 403]),
    ("/api/v1/orders", [200, 200, 200, 403]),
    ("/api/v1/orders/999999", [404, 404, 404, 403]),
    ("/api/v1/customers/999999/orders", [404, 404, 404, 403]),
    ("/api/v1/products", [200, 200, 200, 403]),
    ("/api/v1/products/999999", [404, 404, 404, 403]),
    ("/api/v1/stock", [200, 200, 200, 403]),
    ("/api/v1/stock/999999", [404, 404, 404, 403]),
];

/// The order module's form posts with an empty body.
const ORDER_POST_MATRIX: &[(&str, [u16; 4])] = &[
    ("/orders", [422, 422, 422, 403]),
    ("/orders/saved-filters", [422, 422, 422, 403]),
    ("/orders/999999/cancel", [404, 404, 404, 403]),
    ("/orders/999999/deliver", [404, 404, 404, 403]),
    ("/products", [422, 422, 403, 403]),
    ("/products/saved-filters", [422, 422, 422, 403]),
    ("/products/999999", [404, 404, 403, 403]),
    ("/products/999999/delete", [404, 404, 403, 403]),
    ("/stock", [422, 422, 403, 403]),
    ("/stock/999999", [404, 404, 403, 403]),
    ("/stock/saved-filters", [422, 422, 422, 403]),
];

/// The order module's API writes (cookie session with the CSRF header): method, path, body.
const ORDER_API_MATRIX: &[(&str, &str, &str, [u16; 4])] = &[
    ("POST", "/api/v1/orders", "{}", [422, 422, 422, 403]),
    (
        "POST",
        "/api/v1/orders/999999/cancel?version=1",
        "{}",
        [404, 404, 404, 403],
    ),
    (
        "POST",
        "/api/v1/orders/999999/deliver?version=1",
        "{}",
        [404, 404, 404, 403],
    ),
    ("POST", "/api/v1/products", "{}", [422, 422, 403, 403]),
    (
        "PATCH",
        "/api/v1/products/999999",
        r#"{"version":1}"#,
        [404, 404, 403, 403],
    ),
    (
        "DELETE",
        "/api/v1/products/999999?version=1",
        "",
        [404, 404, 403, 403],
    ),
    ("POST", "/api/v1/stock", "{}", [422, 422, 403, 403]),
    (
        "PATCH",
        "/api/v1/stock/999999",
        r#"{"version":1}"#,
        [404, 404, 403, 403],
    ),
];

/// The service module's routes: everyone but the executive reads and records services; the
/// administrator and the supervisor assign and set the distribution and service levels; the
/// administrator and the account manager handle (the supervisor does not).
const SERVICE_GET_MATRIX: &[(&str, [u16; 4])] = &[
    ("/api/v1/services", [200, 200, 200, 403]),
    (
        "/api/v1/services?overdue=true&type=complaint",
        [200, 200, 200, 403],
    ),
    ("/api/v1/services/999999", [404, 404, 404, 403]),
    (
        "/api/v1/services/999999/complaint-steps",
        [404, 404, 404, 403],
    ),
    ("/api/v1/service-settings", [200, 200, 403, 403]),
    ("/notifications", [200, 200, 200, 200]),
    ("/api/v1/notifications", [200, 200, 200, 200]),
];

/// The service module's API writes: method, path, body.
const SERVICE_API_MATRIX: &[(&str, &str, &str, [u16; 4])] = &[
    ("POST", "/api/v1/services", "{}", [422, 422, 422, 403]),
    (
        "PATCH",
        "/api/v1/services/999999",
        r#"{"version":1}"#,
        [404, 404, 404, 403],
    ),
    (
        "POST",
        "/api/v1/services/999999/assign",
        r#"{"assignee_id":1}"#,
        [404, 404, 403, 403],
    ),
    (
        "POST",
        "/api/v1/services/999999/handle",
        r#"{"handling":"x"}"#,
        [404, 403, 404, 403],
    ),
    (
        "POST",
        "/api/v1/services/999999/feedback",
        r#"{"result":"x","satisfaction":3}"#,
        [404, 404, 404, 403],
    ),
    (
        "POST",
        "/api/v1/services/999999/complaint-steps",
        r#"{"step":"cause","content":"x"}"#,
        [404, 404, 404, 403],
    ),
    (
        "PUT",
        "/api/v1/service-settings/routing/consultation",
        r#"{"mode":"manual"}"#,
        [200, 200, 403, 403],
    ),
    (
        "PUT",
        "/api/v1/service-settings/sla",
        "{}",
        [422, 422, 403, 403],
    ),
    (
        "DELETE",
        "/api/v1/service-settings/sla/999999",
        "",
        [404, 404, 403, 403],
    ),
    (
        "POST",
        "/api/v1/notifications/read",
        "{}",
        [200, 200, 200, 200],
    ),
];

/// The sales module's routes: the administrator, the supervisor and the account manager read
/// and record opportunities, only the first two assign them; the executive has none of it.
const SALES_GET_MATRIX: &[(&str, [u16; 4])] = &[
    ("/opportunities", [200, 200, 200, 403]),
    (
        "/opportunities?mine=1&status=developing",
        [200, 200, 200, 403],
    ),
    ("/opportunities/new", [200, 200, 200, 403]),
    ("/opportunities/999999", [404, 404, 404, 403]),
    ("/opportunities/999999/edit", [404, 404, 404, 403]),
    ("/pipeline", [200, 200, 200, 403]),
    ("/api/v1/opportunities", [200, 200, 200, 403]),
    ("/api/v1/opportunities?mine=true", [200, 200, 200, 403]),
    ("/api/v1/opportunities/999999", [404, 404, 404, 403]),
    (
        "/api/v1/opportunities/999999/plan-items",
        [404, 404, 404, 403],
    ),
    ("/api/v1/pipeline", [200, 200, 200, 403]),
];

/// The sales module's form posts with an empty body.
const SALES_POST_MATRIX: &[(&str, [u16; 4])] = &[
    ("/opportunities", [422, 422, 422, 403]),
    ("/opportunities/saved-filters", [422, 422, 422, 403]),
    ("/opportunities/999999", [404, 404, 404, 403]),
    ("/opportunities/999999/delete", [404, 404, 404, 403]),
    ("/opportunities/999999/assign", [404, 404, 403, 403]),
    ("/opportunities/999999/plan-items", [404, 404, 404, 403]),
    (
        "/opportunities/999999/plan-items/1/result",
        [404, 404, 404, 403],
    ),
    ("/opportunities/999999/succeed", [404, 404, 404, 403]),
    ("/opportunities/999999/fail", [404, 404, 404, 403]),
];

/// The sales module's API writes: method, path, body.
const SALES_API_MATRIX: &[(&str, &str, &str, [u16; 4])] = &[
    ("POST", "/api/v1/opportunities", "{}", [422, 422, 422, 403]),
    (
        "PATCH",
        "/api/v1/opportunities/999999",
        r#"{"version":1}"#,
        [404, 404, 404, 403],
    ),
    (
        "DELETE",
        "/api/v1/opportunities/999999?version=1",
        "",
        [404, 404, 404, 403],
    ),
    (
        "POST",
        "/api/v1/opportunities/999999/assign",
        r#"{"assignee_id":1}"#,
        [404, 404, 403, 403],
    ),
    (
        "POST",
        "/api/v1/opportunities/999999/plan-items",
        "{}",
        [422, 422, 422, 403],
    ),
    (
        "POST",
        "/api/v1/opportunities/999999/plan-items",
        r#"{"date":"2026-01-01","todo":"x"}"#,
        [404, 404, 404, 403],
    ),
    (
        "PATCH",
        "/api/v1/opportunities/999999/plan-items/1",
        r#"{"result":"x","version":1}"#,
        [404, 404, 404, 403],
    ),
    (
        "POST",
        "/api/v1/opportunities/999999/succeed",
        "{}",
        [404, 404, 404, 403],
    ),
    (
        "POST",
        "/api/v1/opportunities/999999/fail",
        r#"{"reason":"x"}"#,
        [404, 404, 404, 403],
    ),
];

/// The loss module's routes: everyone reads loss records (the executive too); the
/// administrator, the supervisor and the account manager act on them; only the administrator
/// sets the scan's threshold and runs it.
const LOSS_GET_MATRIX: &[(&str, [u16; 4])] = &[
    ("/loss", [200, 200, 200, 200]),
    ("/loss?status=open&sort=last_order_at", [200, 200, 200, 200]),
    ("/loss/999999", [404, 404, 404, 404]),
    ("/loss/settings", [200, 403, 403, 403]),
    ("/api/v1/loss-records", [200, 200, 200, 200]),
    ("/api/v1/loss-records/999999", [404, 404, 404, 404]),
    ("/api/v1/loss-settings", [200, 403, 403, 403]),
];

/// The loss module's form posts (with no fields).
const LOSS_POST_MATRIX: &[(&str, [u16; 4])] = &[
    ("/loss/999999/measures", [404, 404, 404, 403]),
    ("/loss/999999/confirm", [404, 404, 404, 403]),
    ("/loss/settings", [422, 403, 403, 403]),
];

/// The loss module's API writes: method, path, body.
const LOSS_API_MATRIX: &[(&str, &str, &str, [u16; 4])] = &[
    (
        "POST",
        "/api/v1/loss-records/999999/measures",
        r#"{"measure":"x"}"#,
        [404, 404, 404, 403],
    ),
    (
        "POST",
        "/api/v1/loss-records/999999/confirm",
        r#"{"reason":"price"}"#,
        [404, 404, 404, 403],
    ),
    ("PUT", "/api/v1/loss-settings", "{}", [422, 403, 403, 403]),
    ("POST", "/api/v1/jobs/loss-scan", "", [200, 403, 403, 403]),
];

const ROLES: [&str; 4] = ["admin", "sales_supervisor", "account_manager", "executive"];

async fn sessions_per_role(app: &TestApp) -> Vec<Session> {
    let mut out = Vec::new();
    for role in ROLES {
        let name = format!("u_{role}");
        app.create_user(&name, role, PW).await;
        out.push(app.login(&name, PW).await);
    }
    out
}

async fn post_login(s: &Session, username: &str, password: &str) -> reqwest::Response {
    let csrf = form_token(&s.get("/login").await.text().await.unwrap());
    s.client
        .post(s.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

both_backends! {
    async fn every_route_answers_each_role_by_its_rights(app) {
        let sessions = sessions_per_role(&app).await;
        for (path, expected) in GET_MATRIX {
            for (i, s) in sessions.iter().enumerate() {
                let status = s.get(path).await.status().as_u16();
                assert_eq!(status, expected[i], "GET {path} as {}", ROLES[i]);
            }
        }
        for (path, expected) in POST_MATRIX {
            for (i, s) in sessions.iter().enumerate() {
                // An invalid body: the administrator gets field errors, the others 403.
                let status = s.post_form(path, &[("version", "1")]).await.status().as_u16();
                let ok = status == expected[i] || (i == 0 && (200..400).contains(&status));
                assert!(ok, "POST {path} as {}: {status}, expected {}", ROLES[i], expected[i]);
            }
        }
    }

    async fn a_forbidden_page_is_a_403_page_in_the_users_language(app) {
        app.create_user("li", "account_manager", PW).await;
        let s = app.login("li", PW).await;
        let resp = s.get("/users").await;
        assert_eq!(resp.status(), 403);
        let html = resp.text().await.unwrap();
        assert!(html.contains("无权访问"), "{html}");
        s.post_form("/language", &[("lang", "en"), ("back", "/")]).await;
        let html = s.get("/users").await.text().await.unwrap();
        assert!(html.contains("Access denied"), "{html}");
        let home = s.get("/").await.text().await.unwrap();
        assert!(home.contains("Account manager") && !home.contains("客户经理"), "{home}");
    }

    async fn the_navigation_shows_only_what_the_role_may_use(app) {
        app.create_user("li", "account_manager", PW).await;
        let html = app.login("li", PW).await.get("/").await.text().await.unwrap();
        for link in ["/users", "/roles", "/dictionary", "/audit"] {
            assert!(!html.contains(&format!("href=\"{link}\"")), "{link} shown to an account manager");
        }
        let html = app.admin().await.get("/").await.text().await.unwrap();
        for link in ["/users", "/roles", "/dictionary", "/audit"] {
            assert!(html.contains(&format!("href=\"{link}\"")), "{link} missing for the admin");
        }
    }

    async fn anonymous_visitors_are_sent_to_sign_in_and_come_back(app) {
        let s = app.anonymous();
        let resp = s.get("/users?page=2").await;
        assert_eq!(resp.status(), 303);
        assert_eq!(resp.headers()["location"], "/login?next=%2Fusers%3Fpage%3D2");
        let resp = s.get("/api/v1/me").await;
        assert_eq!(resp.status(), 401);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
    }

    async fn a_wrong_password_gets_a_generic_message_and_repeated_failures_slow_that_client_down(app) {
        let s = app.anonymous();
        let resp = post_login(&s, "admin", "nope-nope").await;
        assert_eq!(resp.status(), 401);
        assert!(resp.text().await.unwrap().contains("用户名或密码错误"));
        let unknown = post_login(&s, "nobody", "nope-nope").await.text().await.unwrap();
        assert!(unknown.contains("用户名或密码错误"), "unknown users get the same message");
        for _ in 0..4 {
            post_login(&s, "admin", "still-wrong").await;
        }
        // Throttled now (this account from this address): even the right password waits,
        // with a clear message. Other addresses are not affected (tests/hardening_signin.rs).
        let resp = post_login(&s, "admin", ADMIN_PASSWORD).await;
        assert_eq!(resp.status(), 429);
        assert!(resp.headers().contains_key("retry-after"));
        assert!(resp.text().await.unwrap().contains("登录失败次数过多"));
    }

    async fn a_form_post_without_the_csrf_token_is_refused(app) {
        let s = app.admin().await;
        let resp = s.client.post(s.url("/users"))
            .form(&[("username", "zhao"), ("display_name", "赵"), ("role_id", "1"), ("password", PW)])
            .send().await.unwrap();
        assert_eq!(resp.status(), 403);
        assert!(app.store.users.by_username("zhao").await.unwrap().is_none());
    }

    async fn an_invalid_form_shows_field_errors_in_the_users_language_and_keeps_the_values(app) {
        let s = app.admin().await;
        let resp = s.post_form("/users", &[
            ("username", "ab"), ("display_name", "张三丰"), ("email", "not-an-email"),
            ("role_id", "3"), ("password", "short"),
        ]).await;
        assert_eq!(resp.status(), 422);
        let html = resp.text().await.unwrap();
        assert!(html.contains("用户名需 3 到 32 个字符"), "{html}");
        assert!(html.contains("电子邮件地址无效"));
        assert!(html.contains("密码至少需要 12 个字符"));
        assert!(html.contains("value=\"张三丰\""), "entered values are kept");
        s.post_form("/language", &[("lang", "en"), ("back", "/")]).await;
        let html = s.post_form("/users", &[("username", "ab"), ("display_name", "x"), ("role_id", "3"), ("password", PW)])
            .await.text().await.unwrap();
        assert!(html.contains("A user name has 3 to 32 characters"), "{html}");
    }

    async fn over_long_or_control_character_input_is_rejected(app) {
        let s = app.admin().await;
        let long = "长".repeat(65);
        let html = s.post_form("/users", &[("username", "zhao"), ("display_name", &long), ("role_id", "3"), ("password", PW)])
            .await.text().await.unwrap();
        assert!(html.contains("太长了"), "{html}");
        let html = s.post_form("/users", &[("username", "zhao"), ("display_name", "赵\u{7}"), ("role_id", "3"), ("password", PW)])
            .await.text().await.unwrap();
        assert!(html.contains("控制字符"), "{html}");
        assert!(app.store.users.by_username("zhao").await.unwrap().is_none());
    }

    async fn the_administrator_creates_a_user_who_must_change_the_password_at_first_sign_in(app) {
        let admin = app.admin().await;
        let resp = admin.post_form("/users", &[
            ("username", "Wang.Fang"), ("display_name", "王芳"), ("email", "wang@example.cn"),
            ("role_id", &role_id(&app, "account_manager").await.to_string()), ("password", PW),
        ]).await;
        assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
        let dup = admin.post_form("/users", &[
            ("username", "wang.fang"), ("display_name", "王芳"),
            ("role_id", &role_id(&app, "account_manager").await.to_string()), ("password", PW),
        ]).await;
        assert_eq!(dup.status(), 422);
        assert!(dup.text().await.unwrap().contains("已被使用"));

        let s = app.login("wang.fang", PW).await;
        let resp = s.get("/users").await;
        assert_eq!(resp.headers()["location"], "/profile", "the password change comes first");
        let resp = s.post_form("/profile/password", &[("current", PW), ("new", "mein-neues-pw"), ("confirm", "mein-neues-pw")]).await;
        assert_eq!(resp.status(), 303);
        assert_eq!(s.get("/").await.status(), 200);
        // The creation is in the audit log, with the values after.
        let log = admin.get("/audit?entity=user").await.text().await.unwrap();
        assert!(log.contains("wang.fang") && log.contains("王芳"), "{log}");
    }

    async fn a_disabled_user_cannot_sign_in_and_loses_their_session(app) {
        let id = app.create_user("li", "account_manager", PW).await;
        let s = app.login("li", PW).await;
        app.store.users.set_disabled(id, true, &Actor::system()).await.unwrap();
        assert_eq!(s.get("/").await.status(), 303, "the old session is gone");
        let resp = post_login(&app.anonymous(), "li", PW).await;
        assert_eq!(resp.status(), 401);
    }

    async fn signing_out_invalidates_the_session_on_the_server(app) {
        let cookie = format!("kehu_session={}", session_cookie(&app).await);
        let c = app.client();
        let profile = c.get(app.url("/profile")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(profile.status(), 200);
        let csrf = form_token(&profile.text().await.unwrap());
        let out = c.post(app.url("/logout")).header("cookie", &cookie).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(out.status(), 303);
        let replay = c.get(app.url("/")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(replay.status(), 303, "a stolen cookie is useless after sign-out");
    }

    async fn two_kehu_processes_on_one_database_share_sessions(app) {
        let other = spawn_beside(&app).await;
        let cookie = session_cookie(&app).await;
        let resp = other.client().get(other.url("/")).header("cookie", format!("kehu_session={cookie}")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }

    async fn roles_are_edited_by_ticking_rights_and_take_effect_at_once(app) {
        let admin = app.admin().await;
        let resp = admin.client.post(admin.url("/roles")).form(&[
            ("csrf", admin.csrf.as_str()), ("name", "审计员"), ("description", "只读审计"),
            ("scope", "all"), ("rights", "system.audit"), ("rights", "report.read"),
        ]).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
        let id = role_id_by_name(&app, "审计员").await;
        let role = app.store.roles.get(id).await.unwrap();
        assert_eq!(role.rights, ["report.read", "system.audit"]);
        let user = app.store.users.create(&kehu_store::users::NewUser {
            username: "shen".into(), display_name: "沈".into(), email: None, role_id: id,
            password_hash: hash_password(PW).unwrap(), must_change_password: false,
        }, &Actor::system()).await.unwrap();
        let s = app.login(&user.username, PW).await;
        assert_eq!(s.get("/audit").await.status(), 200);
        assert_eq!(s.get("/users").await.status(), 403);
        // A role in use cannot be deleted; a built-in one never.
        let del = admin.post_form(&format!("/roles/{id}/delete"), &[("version", "1")]).await;
        assert!(del.text().await.unwrap().contains("仍有用户属于此角色"));
        let admin_role = role_id(&app, "admin").await;
        let del = admin.post_form(&format!("/roles/{admin_role}/delete"), &[("version", "1")]).await;
        assert!(del.text().await.unwrap().contains("内置角色不能删除"));
    }

    async fn the_dictionary_is_seeded_and_protected_items_cannot_change(app) {
        let admin = app.admin().await;
        let html = admin.get("/dictionary?kind=region").await.text().await.unwrap();
        assert!(html.contains("澳门特别行政区") && html.contains("北京市"));
        let region = app.store.dictionary.list(Some("region"), kehu_store::PageRequest::new(None, Some(200))).await.unwrap();
        assert_eq!(region.total, 34);
        let beijing = &region.items[0];
        let resp = admin.post_form(&format!("/dictionary/{}", beijing.id), &[
            ("kind", "region"), ("item", "北平"), ("value", "110000"), ("sort", "1"), ("version", "1"),
        ]).await;
        assert!(resp.text().await.unwrap().contains("受保护的条目"));
        assert_eq!(app.store.dictionary.get(beijing.id).await.unwrap().item, "北京市");
        // An editable item is created, changed and deleted, each step audited.
        let resp = admin.post_form("/dictionary", &[("kind", "industry"), ("item", "农业"), ("value", "agriculture"), ("sort", "5")]).await;
        assert_eq!(resp.status(), 303);
        let log = admin.get("/audit?entity=dictionary").await.text().await.unwrap();
        assert!(log.contains("农业"), "{log}");
    }

    async fn a_stale_form_is_refused_instead_of_overwriting_a_newer_change(app) {
        let admin = app.admin().await;
        let id = app.create_user("li", "account_manager", PW).await;
        let role = role_id(&app, "account_manager").await.to_string();
        let first = admin.post_form(&format!("/users/{id}"), &[("display_name", "李娜"), ("role_id", &role), ("version", "1")]).await;
        assert_eq!(first.status(), 303);
        let second = admin.post_form(&format!("/users/{id}"), &[("display_name", "李四"), ("role_id", &role), ("version", "1")]).await;
        assert_eq!(second.status(), 409);
        assert!(second.text().await.unwrap().contains("已被他人修改"));
        assert_eq!(app.store.users.get(id).await.unwrap().display_name, "李娜");
    }

    async fn unknown_routes_answer_404_as_a_page_or_a_problem(app) {
        let s = app.admin().await;
        let resp = s.get("/nowhere").await;
        assert_eq!(resp.status(), 404);
        assert!(resp.text().await.unwrap().contains("找不到页面"));
        let resp = s.get("/api/v1/nowhere").await;
        assert_eq!(resp.status(), 404);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
        assert_eq!(s.get("/users/999999").await.status(), 404);
    }

    async fn operations_endpoints_report_health_readiness_and_metrics(app) {
        let c = app.client();
        let resp = c.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().contains_key("x-request-id"));
        assert_eq!(c.get(app.url("/readyz")).send().await.unwrap().status(), 200);
        app.admin().await.get("/users").await;
        let metrics = c.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("http_requests_total{method=\"GET\",route=\"/users\",status=\"200\"}"), "{metrics}");
        assert!(metrics.contains("http_request_duration_seconds_bucket"));
    }

    async fn with_the_database_gone_readiness_fails_and_pages_answer_503_without_a_panic(app) {
        let s = app.admin().await;
        app.store.db.close().await;
        let c = app.client();
        assert_eq!(c.get(app.url("/healthz")).send().await.unwrap().status(), 200);
        assert_eq!(c.get(app.url("/readyz")).send().await.unwrap().status(), 503);
        let resp = s.get("/users").await;
        assert_eq!(resp.status(), 503);
        assert!(resp.text().await.unwrap().contains("数据库暂时无法访问"));
        let resp = s.get("/api/v1/me").await;
        assert_eq!(resp.status(), 503);
    }
}

async fn role_id(app: &TestApp, code: &str) -> i64 {
    app.store.roles.by_code(code).await.unwrap().unwrap().id
}

async fn role_id_by_name(app: &TestApp, name: &str) -> i64 {
    app.store
        .roles
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.role.name == name)
        .unwrap()
        .role
        .id
}

/// Signs the administrator in on a fresh client and returns the raw session cookie value.
async fn session_cookie(app: &TestApp) -> String {
    let c = app.client();
    let html = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_token(&html);
    let resp = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("kehu_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .expect("a session cookie")
}

both_backends! {
    async fn a_right_taken_from_a_role_is_gone_at_the_next_request(app) {
        let admin = app.admin().await;
        let form = |rights: &'static [&'static str]| {
            let mut f: Vec<(&str, &str)> = vec![("csrf", admin.csrf.as_str()), ("name", "审计员"), ("scope", "all")];
            f.extend(rights.iter().map(|r| ("rights", *r)));
            f
        };
        let resp = admin.client.post(admin.url("/roles")).form(&form(&["system.audit"])).send().await.unwrap();
        assert_eq!(resp.status(), 303);
        let id = role_id_by_name(&app, "审计员").await;
        let user = app.store.users.create(&kehu_store::users::NewUser {
            username: "shen".into(), display_name: "沈".into(), email: None, role_id: id,
            password_hash: hash_password(PW).unwrap(), must_change_password: false,
        }, &Actor::system()).await.unwrap();
        let s = app.login(&user.username, PW).await;
        let token = app.token_for("shen").await;
        assert_eq!(s.get("/audit").await.status(), 200);
        assert_eq!(kehu_testkit::bearer(&app, &token, reqwest::Method::GET, "/api/v1/audit", None).await.status(), 200);

        let mut f = form(&[]);
        f.push(("version", "1"));
        let resp = admin.client.post(admin.url(&format!("/roles/{id}"))).form(&f).send().await.unwrap();
        assert_eq!(resp.status(), 303);
        assert_eq!(s.get("/audit").await.status(), 403, "the page checks the new rights at once");
        assert_eq!(kehu_testkit::bearer(&app, &token, reqwest::Method::GET, "/api/v1/audit", None).await.status(), 403);
    }
}

/// The customer module's rows of the matrix, on an application that runs the module.
async fn every_customer_route_answers_each_role_by_its_rights(backend: kehu_testkit::TestBackend) {
    let modules = vec![kehu_customers::module()];
    module_matrix(
        backend,
        modules,
        CUSTOMER_GET_MATRIX,
        CUSTOMER_POST_MATRIX,
        &[],
    )
    .await;
}

mod every_customer_route_answers_each_role_by_its_rights {
    #[tokio::test]
    async fn sqlite() {
        super::every_customer_route_answers_each_role_by_its_rights(
            kehu_testkit::TestBackend::Sqlite,
        )
        .await
    }
    #[tokio::test]
    async fn postgres() {
        super::every_customer_route_answers_each_role_by_its_rights(
            kehu_testkit::TestBackend::Postgres,
        )
        .await
    }
}

/// Rows of the matrix (GET, form posts, API writes) on an application that runs `modules`
/// besides the platform's.
async fn module_matrix(
    backend: kehu_testkit::TestBackend,
    modules: Vec<kehu_web::Module>,
    gets: &[(&str, [u16; 4])],
    posts: &[(&str, [u16; 4])],
    writes: &[(&str, &str, &str, [u16; 4])],
) {
    let mut all = kehu_web::platform::modules();
    all.extend(modules);
    let modules = kehu_web::Modules::new(all).unwrap();
    let app = kehu_testkit::spawn_app_with_modules(backend, modules).await;
    let sessions = sessions_per_role(&app).await;
    for (path, expected) in gets {
        for (i, s) in sessions.iter().enumerate() {
            let status = s.get(path).await.status().as_u16();
            assert_eq!(status, expected[i], "GET {path} as {}", ROLES[i]);
        }
    }
    for (path, expected) in posts {
        for (i, s) in sessions.iter().enumerate() {
            let status = s.post_form(path, &[]).await.status().as_u16();
            assert_eq!(status, expected[i], "POST {path} as {}", ROLES[i]);
        }
    }
    for (method, path, body, expected) in writes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let body: Option<serde_json::Value> =
            (!body.is_empty()).then(|| serde_json::from_str(body).unwrap());
        for (i, s) in sessions.iter().enumerate() {
            let status = s
                .api(method.clone(), path, body.clone())
                .await
                .status()
                .as_u16();
            assert_eq!(status, expected[i], "{method} {path} as {}", ROLES[i]);
        }
    }
}

/// The order module's rows of the matrix, on an application that runs it (and the customer
/// module it builds on).
async fn every_order_route_answers_each_role_by_its_rights(backend: kehu_testkit::TestBackend) {
    let modules = vec![kehu_customers::module(), kehu_orders::module()];
    module_matrix(
        backend,
        modules,
        ORDER_GET_MATRIX,
        ORDER_POST_MATRIX,
        ORDER_API_MATRIX,
    )
    .await;
}

/// The sales module's rows of the matrix, on an application that runs it (and the customer
/// module it builds on).
async fn every_sales_route_answers_each_role_by_its_rights(backend: kehu_testkit::TestBackend) {
    let modules = vec![kehu_customers::module(), kehu_sales::module()];
    module_matrix(
        backend,
        modules,
        SALES_GET_MATRIX,
        SALES_POST_MATRIX,
        SALES_API_MATRIX,
    )
    .await;
}

mod every_sales_route_answers_each_role_by_its_rights {
    #[tokio::test]
    async fn sqlite() {
        super::every_sales_route_answers_each_role_by_its_rights(kehu_testkit::TestBackend::Sqlite)
            .await
    }
    #[tokio::test]
    async fn postgres() {
        super::every_sales_route_answers_each_role_by_its_rights(
            kehu_testkit::TestBackend::Postgres,
        )
        .await
    }
}

mod every_order_route_answers_each_role_by_its_rights {
    #[tokio::test]
    async fn sqlite() {
        super::every_order_route_answers_each_role_by_its_rights(kehu_testkit::TestBackend::Sqlite)
            .await
    }
    #[tokio::test]
    async fn postgres() {
        super::every_order_route_answers_each_role_by_its_rights(
            kehu_testkit::TestBackend::Postgres,
        )
        .await
    }
}

/// The service module's rows of the matrix (it has no pages of its own yet).
async fn every_service_route_answers_each_role_by_its_rights(backend: kehu_testkit::TestBackend) {
    let modules = vec![kehu_customers::module(), kehu_service::module()];
    module_matrix(
        backend,
        modules,
        SERVICE_GET_MATRIX,
        &[],
        SERVICE_API_MATRIX,
    )
    .await;
}

mod every_service_route_answers_each_role_by_its_rights {
    #[tokio::test]
    async fn sqlite() {
        super::every_service_route_answers_each_role_by_its_rights(
            kehu_testkit::TestBackend::Sqlite,
        )
        .await
    }
    #[tokio::test]
    async fn postgres() {
        super::every_service_route_answers_each_role_by_its_rights(
            kehu_testkit::TestBackend::Postgres,
        )
        .await
    }
}

/// The loss module's rows of the matrix, on an application that runs it (and the customer
/// and order modules it builds on).
async fn every_loss_route_answers_each_role_by_its_rights(backend: kehu_testkit::TestBackend) {
    let modules = vec![
        kehu_customers::module(),
        kehu_orders::module(),
        kehu_loss::module(),
    ];
    module_matrix(
        backend,
        modules,
        LOSS_GET_MATRIX,
        LOSS_POST_MATRIX,
        LOSS_API_MATRIX,
    )
    .await;
}

kehu_testkit::on_both!(every_loss_route_answers_each_role_by_its_rights);
