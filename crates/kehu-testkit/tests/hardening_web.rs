//! The web layer's defences over real HTTP: redirects that stay on the site, protective
//! headers on every kind of answer, `__Host-` cookies behind HTTPS, CSRF on the language
//! switch, request ids, the metrics token, and the timeout and panic answers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use kehu_store::Store;
use kehu_testkit::reqwest::{self, Method, redirect::Policy};
use kehu_testkit::{
    ADMIN_PASSWORD, TestApp, TestBackend, both_backends, spawn_app, spawn_app_with,
};
use kehu_web::{AppState, Config};
use serde_json::Value;

const CSP: &str = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
const PW: &str = "geheim-1234";

/// `next` / `back` values a phishing link might carry, as the form field holds them.
const HOSTILE: &[&str] = &[
    "//evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " /evil.example",
    "/ /evil.example",
    "https://evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "evil.example",
];

/// The same and more, percent-encoded in a query string (`/login?next=…`).
const HOSTILE_IN_QUERY: &[&str] = &[
    "%2F%09%2Fevil.example",
    "%2F%0A%2Fevil.example",
    "%2F%2Fevil",
    "/%5Cevil",
    "%2F%5C%2Fevil",
    "%09//evil.example",
    "https:%2F%2Fevil.example",
    "%2F%2F%2Fevil.example",
];

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no Location on a {} answer", resp.status()))
}

/// The first form token on a page (the language switch's, in the header).
fn csrf_in(html: &str) -> String {
    let token = kehu_testkit::form_token(html);
    assert!(!token.is_empty(), "a form token on the page");
    token
}

/// A browser-like client (cookie jar, redirects not followed) that opened the sign-in page;
/// returns it with the page's form token.
async fn at_sign_in_page(app: &TestApp) -> (reqwest::Client, String) {
    let c = app.client();
    let html = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_in(&html);
    (c, token)
}

async fn sign_in_with_next(app: &TestApp, next: &str) -> reqwest::Response {
    let (c, token) = at_sign_in_page(app).await;
    c.post(app.url("/login"))
        .form(&[
            ("csrf", token.as_str()),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

fn assert_protected(resp: &reqwest::Response, what: &str) {
    let h = resp.headers();
    assert_eq!(h["content-security-policy"], CSP, "CSP on {what}");
    assert_eq!(h["x-content-type-options"], "nosniff", "nosniff on {what}");
    assert_eq!(
        h["referrer-policy"], "same-origin",
        "Referrer-Policy on {what}"
    );
    assert_eq!(h["x-frame-options"], "DENY", "X-Frame-Options on {what}");
}

fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The value of cookie `name` among `Set-Cookie` headers.
fn cookie_set(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        pair.strip_prefix(&format!("{name}=")).map(str::to_owned)
    })
}

/// Serves `routes` under exactly the layers of the real application.
async fn serve_under_app_layers(
    routes: Router<AppState>,
    timeout_secs: u64,
) -> (String, tempfile::TempDir) {
    kehu_web::telemetry::init(
        &std::env::var("KEHU_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        "text",
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("kehu.db").display()
    ))
    .await
    .unwrap();
    let config = Config {
        request_timeout_secs: timeout_secs,
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let app = kehu_web::app::layers(routes, AppState::new(store, config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, dir)
}

both_backends! {
    async fn signing_in_never_sends_the_user_off_the_site(app) {
        for next in HOSTILE {
            let resp = sign_in_with_next(&app, next).await;
            assert_eq!(resp.status(), 303, "sign-in with next={next:?}");
            assert_eq!(location(&resp), "/", "sign-in with next={next:?}");
        }
        let resp = sign_in_with_next(&app, "/users?page=2").await;
        assert_eq!(location(&resp), "/users?page=2");
        // An encoded backslash stays encoded: a path on this site, not another host.
        let resp = sign_in_with_next(&app, "/%5Cevil").await;
        assert_eq!(location(&resp), "/%5Cevil");
    }

    async fn the_sign_in_page_for_a_signed_in_user_redirects_only_on_site(app) {
        let s = app.admin().await;
        for next in HOSTILE_IN_QUERY {
            let resp = s.get(&format!("/login?next={next}")).await;
            assert_eq!(resp.status(), 303, "next={next}");
            assert_eq!(location(&resp), "/", "next={next}");
        }
        assert_eq!(location(&s.get("/login?next=%2Fusers%3Fpage%3D2").await), "/users?page=2");
        assert_eq!(location(&s.get("/login?next=/%255Cevil").await), "/%5Cevil");
        // Not signed in, the form carries only a safe value forward.
        let html = app.anonymous().get("/login?next=%2F%09%2Fevil.example").await.text().await.unwrap();
        assert!(html.contains("name=\"next\" value=\"/\""), "{html}");
    }

    async fn the_language_switch_goes_back_only_to_a_page_of_this_site(app) {
        let mut s = app.admin().await;
        for back in HOSTILE {
            let resp = s.post_form("/language", &[("lang", "en"), ("back", back)]).await;
            assert_eq!(resp.status(), 303, "back={back:?}");
            assert_eq!(location(&resp), "/", "back={back:?}");
        }
        s.refresh_csrf().await;
        let resp = s.post_form("/language", &[("lang", "zh-CN"), ("back", "/users?page=2")]).await;
        assert_eq!(location(&resp), "/users?page=2");
        // Anonymous, from the sign-in page, with an encoded hostile value in the raw body.
        let (c, token) = at_sign_in_page(&app).await;
        for back in HOSTILE_IN_QUERY {
            let resp = c
                .post(app.url("/language"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("csrf={token}&lang=en&back={back}"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 303, "back={back}");
            assert_eq!(location(&resp), "/", "back={back}");
        }
    }

    async fn the_language_switch_on_the_sign_in_page_works_and_needs_its_token(app) {
        // The page's switch form carries the anonymous token, and the switch takes effect.
        let (c, token) = at_sign_in_page(&app).await;
        let resp = c.post(app.url("/language")).form(&[("csrf", token.as_str()), ("lang", "en"), ("back", "/login")]).send().await.unwrap();
        assert_eq!(resp.status(), 303);
        assert_eq!(location(&resp), "/login");
        let html = c.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Sign in"), "{html}");

        // No token, a wrong one, or a copied token without its cookie: refused.
        let resp = c.post(app.url("/language")).form(&[("lang", "zh-CN"), ("back", "/login")]).send().await.unwrap();
        assert_eq!(resp.status(), 403);
        let resp = c.post(app.url("/language")).form(&[("csrf", "forged"), ("lang", "zh-CN")]).send().await.unwrap();
        assert_eq!(resp.status(), 403);
        let stranger = app.client();
        let resp = stranger.post(app.url("/language")).form(&[("csrf", token.as_str()), ("lang", "en")]).send().await.unwrap();
        assert_eq!(resp.status(), 403);
        assert!(resp.text().await.unwrap().contains("表单已过期"));
        let html = c.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Sign in"), "a refused switch changed the language: {html}");
    }

    async fn a_signed_in_language_switch_needs_the_session_token(app) {
        let s = app.admin().await;
        let (_, anonymous_token) = at_sign_in_page(&app).await;
        for csrf in ["", "forged", anonymous_token.as_str()] {
            let resp = s.client.post(s.url("/language")).form(&[("csrf", csrf), ("lang", "en"), ("back", "/")]).send().await.unwrap();
            assert_eq!(resp.status(), 403, "csrf={csrf:?}");
        }
        let html = s.get("/").await.text().await.unwrap();
        assert!(html.contains("首页"), "the language changed without a valid token");
        let resp = s.post_form("/language", &[("lang", "en"), ("back", "/")]).await;
        assert_eq!(resp.status(), 303);
        assert!(s.get("/").await.text().await.unwrap().contains("Home"));
    }

    async fn with_secure_cookies_every_cookie_is_a_host_cookie_and_is_read_back(app) {
        let app = spawn_app_with(app.backend, |c| c.secure_cookies = true).await;
        // The cookie jar would not send Secure cookies over plain HTTP: send them by hand.
        let c = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let page = c.get(app.url("/login")).send().await.unwrap();
        let cookies = set_cookies(&page);
        let login_cookie = cookies.iter().find(|c| c.starts_with("__Host-kehu_login_csrf=")).unwrap_or_else(|| panic!("{cookies:?}"));
        for attr in ["Secure", "Path=/", "HttpOnly"] {
            assert!(login_cookie.contains(attr), "{attr} missing: {login_cookie}");
        }
        assert!(!login_cookie.to_lowercase().contains("domain="), "{login_cookie}");
        let login_token = cookie_set(&cookies, "__Host-kehu_login_csrf").unwrap();
        let form_token = csrf_in(&page.text().await.unwrap());
        assert_eq!(form_token, login_token);

        // The unprefixed name is not read: the sign-in form is refused with it.
        let resp = c.post(app.url("/login")).header("cookie", format!("kehu_login_csrf={login_token}"))
            .form(&[("csrf", form_token.as_str()), ("username", "admin"), ("password", ADMIN_PASSWORD), ("next", "/users")])
            .send().await.unwrap();
        assert_eq!(resp.status(), 403);

        let resp = c.post(app.url("/login")).header("cookie", format!("__Host-kehu_login_csrf={login_token}"))
            .form(&[("csrf", form_token.as_str()), ("username", "admin"), ("password", ADMIN_PASSWORD), ("next", "/users")])
            .send().await.unwrap();
        assert_eq!(resp.status(), 303);
        assert_eq!(location(&resp), "/users");
        let cookies = set_cookies(&resp);
        let session = cookie_set(&cookies, "__Host-kehu_session").unwrap_or_else(|| panic!("{cookies:?}"));
        let session_cookie = cookies.iter().find(|c| c.starts_with("__Host-kehu_session=")).unwrap();
        assert!(session_cookie.contains("Secure") && session_cookie.contains("Path=/") && !session_cookie.to_lowercase().contains("domain="), "{session_cookie}");
        let cleared = cookies.iter().find(|c| c.starts_with("__Host-kehu_login_csrf=")).unwrap_or_else(|| panic!("{cookies:?}"));
        assert!(cleared.contains("Max-Age=0"), "the sign-in token is not cleared: {cleared}");
        assert!(cookies.iter().all(|c| c.starts_with("__Host-")), "{cookies:?}");

        let resp = c.get(app.url("/users")).header("cookie", format!("__Host-kehu_session={session}")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["strict-transport-security"], "max-age=31536000");
        let html = resp.text().await.unwrap();
        let csrf = csrf_in(&html);
        let resp = c.get(app.url("/users")).header("cookie", format!("kehu_session={session}")).send().await.unwrap();
        assert_eq!(resp.status(), 303, "an unprefixed session cookie must not sign anyone in");

        let resp = c.post(app.url("/language")).header("cookie", format!("__Host-kehu_session={session}"))
            .form(&[("csrf", csrf.as_str()), ("lang", "en"), ("back", "/")]).send().await.unwrap();
        assert_eq!(resp.status(), 303);
        let lang = set_cookies(&resp);
        let lang_cookie = lang.iter().find(|c| c.starts_with("__Host-kehu_lang=en")).unwrap_or_else(|| panic!("{lang:?}"));
        assert!(lang_cookie.contains("Secure") && lang_cookie.contains("Path=/"), "{lang_cookie}");

        // The language cookie is read under its prefixed name only.
        let en = c.get(app.url("/login")).header("cookie", "__Host-kehu_lang=en").send().await.unwrap().text().await.unwrap();
        assert!(en.contains("Sign in"), "{en}");
        let zh = c.get(app.url("/login")).header("cookie", "kehu_lang=en").send().await.unwrap().text().await.unwrap();
        assert!(zh.contains("登录"), "{zh}");
    }

    async fn errors_and_404s_carry_the_protective_headers(app) {
        app.create_user("li", "account_manager", PW).await;
        let s = app.login("li", PW).await;
        let resp = s.get("/users").await;
        assert_eq!(resp.status(), 403);
        assert_protected(&resp, "a 403 page");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let resp = s.get("/nowhere").await;
        assert_eq!(resp.status(), 404);
        assert_protected(&resp, "a 404 page");
        let resp = app.anonymous().get("/api/v1/nowhere").await;
        assert_eq!(resp.status(), 404);
        assert_protected(&resp, "an API 404");
    }
}

#[tokio::test]
async fn pages_api_answers_and_static_files_carry_the_protective_headers() {
    let app = spawn_app(TestBackend::Sqlite).await;
    let s = app.admin().await;

    let resp = s.get("/users").await;
    assert_eq!(resp.status(), 200);
    assert_protected(&resp, "a signed-in page");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(
        !resp.headers().contains_key("strict-transport-security"),
        "HSTS without secure cookies"
    );

    let resp = s.get("/api/v1/me").await;
    assert_eq!(resp.status(), 200);
    assert_protected(&resp, "an API answer");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let token = app.token_for("admin").await;
    let resp = kehu_testkit::bearer(&app, &token, Method::GET, "/api/v1/users", None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");

    let resp = app.anonymous().get("/login").await;
    assert_protected(&resp, "the sign-in page");
    assert_eq!(resp.headers()["cache-control"], "no-store");

    let resp = app.anonymous().get("/healthz").await;
    assert_protected(&resp, "/healthz");

    // Static files keep their own caching.
    let resp = app.anonymous().get("/static/app.css").await;
    assert_protected(&resp, "a static file");
    assert_eq!(resp.headers()["cache-control"], "public, max-age=3600");

    // The API docs get the one exception they need, only there.
    let resp = app.anonymous().get("/api/docs/").await;
    assert_eq!(resp.status(), 200);
    let docs_csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        docs_csp.contains("img-src 'self' data:") && docs_csp.contains("frame-ancestors 'none'"),
        "{docs_csp}"
    );
    assert!(
        !docs_csp.contains("unsafe-inline") && !docs_csp.contains("unsafe-eval"),
        "{docs_csp}"
    );
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn hsts_is_sent_only_when_cookies_are_secure() {
    let plain = spawn_app(TestBackend::Sqlite).await;
    let resp = plain.anonymous().get("/login").await;
    assert!(!resp.headers().contains_key("strict-transport-security"));
    let https = spawn_app_with(TestBackend::Sqlite, |c| c.secure_cookies = true).await;
    for path in ["/login", "/healthz", "/nowhere", "/api/v1/me"] {
        let resp = https.anonymous().get(path).await;
        assert_eq!(
            resp.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_client_request_id_is_echoed_only_when_it_is_a_uuid() {
    let app = spawn_app(TestBackend::Sqlite).await;
    let c = app.client();
    let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
    let resp = c
        .get(app.url("/api/v1/me"))
        .header("x-request-id", id)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], id);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["request_id"], id,
        "the problem document names the request"
    );

    for bad in [
        "not-a-uuid",
        "67e55044-10b1-426f-9247-bb680e5fe0c8 admin=1",
        "<script>alert(1)</script>",
        "",
    ] {
        let resp = c
            .get(app.url("/healthz"))
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let echoed = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(echoed, bad);
        assert_eq!(echoed.len(), 36, "{echoed}");
        assert!(
            echoed.chars().all(|ch| ch.is_ascii_hexdigit() || ch == '-'),
            "{echoed}"
        );
    }
    // Without one, each request gets its own.
    let a = c.get(app.url("/healthz")).send().await.unwrap().headers()["x-request-id"].clone();
    let b = c.get(app.url("/healthz")).send().await.unwrap().headers()["x-request-id"].clone();
    assert_ne!(a, b);
}

#[tokio::test]
async fn metrics_need_the_bearer_token_when_one_is_configured() {
    let app = spawn_app_with(TestBackend::Sqlite, |c| {
        c.metrics_token = Some("scrape-secret-42".into())
    })
    .await;
    let c = app.client();
    let resp = c.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    let resp = c
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret-4")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = c
        .get(app.url("/metrics"))
        .header("authorization", "Basic c2NyYXBlLXNlY3JldC00Mg==")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = c
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("http_requests_total"));

    // Without a token configured, the endpoint stays open.
    let open = spawn_app(TestBackend::Sqlite).await;
    assert_eq!(
        open.client()
            .get(open.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn invented_http_methods_do_not_create_new_metric_series() {
    let app = spawn_app(TestBackend::Sqlite).await;
    let c = app.client();
    for m in ["BREW", "PROPFIND", "XYZZY1", "XYZZY2"] {
        let resp = c
            .request(
                Method::from_bytes(m.as_bytes()).unwrap(),
                app.url("/healthz"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{m}");
    }
    c.get(app.url("/healthz")).send().await.unwrap();
    let metrics = c
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("method=\"other\",route=\"/healthz\",status=\"405\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("method=\"GET\",route=\"/healthz\",status=\"200\"}"),
        "{metrics}"
    );
    for m in ["BREW", "PROPFIND", "XYZZY"] {
        assert!(!metrics.contains(m), "{m} became a label: {metrics}");
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_a_500_problem_with_the_request_id() {
    async fn boom() -> &'static str {
        panic!("deliberate test panic")
    }
    let routes = Router::new()
        .route("/boom", get(boom))
        .route("/api/v1/boom", get(boom))
        .route("/fine", get(|| async { "still here" }));
    let (base, _dir) = serve_under_app_layers(routes, 30).await;
    let c = reqwest::Client::new();
    for path in ["/boom", "/api/v1/boom"] {
        let resp = c
            .get(format!("{base}{path}"))
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 500, "{path}");
        assert_eq!(
            resp.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        assert_protected(&resp, path);
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "internal", "{body}");
        assert_eq!(body["status"], 500);
        assert_eq!(body["request_id"], id.as_str(), "{body}");
        assert!(
            !body.to_string().contains("deliberate"),
            "the panic message leaked: {body}"
        );
    }
    let resp = c.get(format!("{base}/fine")).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "still here");
}

#[tokio::test]
async fn a_request_that_runs_too_long_gets_a_timeout_answer_not_a_dropped_connection() {
    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "too late"
    }
    let routes = Router::new()
        .route("/slow", get(slow))
        .route("/api/v1/slow", get(slow));
    let (base, _dir) = serve_under_app_layers(routes, 1).await;
    let c = reqwest::Client::new();

    let started = Instant::now();
    let resp = c.get(format!("{base}/api/v1/slow")).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_protected(&resp, "a timed-out API request");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "timeout", "{body}");

    let resp = c
        .get(format!("{base}/slow"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(resp.text().await.unwrap().contains("Request timed out"));
}
