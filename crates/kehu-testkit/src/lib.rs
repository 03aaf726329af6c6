//! Test helpers: [`spawn_app`] starts the real server on port 0 over a fresh SQLite file or a
//! fresh PostgreSQL schema, and [`Session`] drives it over HTTP like a browser or API client.
//! PostgreSQL comes from `KEHU_TEST_POSTGRES_URL` (default: the local server's `test`
//! database); when it cannot be reached the test fails loudly, it is never skipped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support code"
)]

use std::net::SocketAddr;

use kehu_domain::policy::OwnerFilter;
use kehu_domain::secrets::{hash_password, new_token, token_digest};
use kehu_store::db::DbOptions;
use kehu_store::users::NewUser;
use kehu_store::{Actor, Db, Store};
use kehu_web::setup::bootstrap_admin;
use kehu_web::{Application, Config, Modules};
use reqwest::redirect::Policy;
use tokio::sync::oneshot;

pub use reqwest;

/// The administrator's password in every test app.
pub const ADMIN_PASSWORD: &str = "admin-pass-123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

pub fn postgres_url() -> String {
    std::env::var("KEHU_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A running kehu on a random port with its own empty database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Store,
    pub backend: TestBackend,
    /// The database URL the app uses (a second app can share it).
    pub db_url: String,
    /// The PostgreSQL schema this app created, dropped with it.
    own_schema: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(schema) = self.own_schema.take() {
            // Drop is not async: a short-lived runtime on its own thread removes the schema.
            let dropped = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(db) = Db::connect(&postgres_url()).await {
                            let sql = format!(
                                "SET lock_timeout = '2s'; DROP SCHEMA IF EXISTS {schema} CASCADE"
                            );
                            let _ = db.execute_raw(&sql).await;
                            db.close().await;
                        }
                    });
                }
            });
            let _ = dropped.join();
        }
    }
}

/// A fresh database URL for `backend`: a temp SQLite file, or a new PostgreSQL schema.
pub async fn fresh_database(backend: TestBackend, dir: &std::path::Path) -> String {
    match backend {
        TestBackend::Sqlite => format!("sqlite://{}", dir.join("kehu.db").display()),
        TestBackend::Postgres => {
            let base = postgres_url();
            let db = Db::connect(&base).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for the storage tests and cannot be reached at {}: {e}. \
                     Start it or set KEHU_TEST_POSTGRES_URL.",
                    kehu_store::db::redact_url(&base)
                )
            });
            let schema = format!("kehu_t_{}", uuid::Uuid::new_v4().simple());
            db.execute_raw(&format!("CREATE SCHEMA {schema}"))
                .await
                .expect("creating the test schema");
            db.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options[search_path]={schema}")
        }
    }
}

/// Starts kehu over a fresh database; the administrator `admin` exists with [`ADMIN_PASSWORD`].
pub async fn spawn_app(backend: TestBackend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`] with settings changed by `configure` (e.g. secure cookies, trusted proxies).
pub async fn spawn_app_with(backend: TestBackend, configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = fresh_database(backend, dir.path()).await;
    let mut app = spawn_on(backend, db_url, dir, configure).await;
    app.own_schema = app
        .db_url
        .split("options[search_path]=")
        .nth(1)
        .map(str::to_owned);
    app
}

/// Starts kehu over the database at `db_url` (e.g. a SQLite file on a small file system).
pub async fn spawn_at(
    backend: TestBackend,
    db_url: String,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    spawn_on(backend, db_url, dir, configure).await
}

/// Starts another kehu process-equivalent on the same database as `other`.
pub async fn spawn_beside(other: &TestApp) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    spawn_on(other.backend, other.db_url.clone(), dir, |_| {}).await
}

/// [`spawn_beside`] running `modules` (a second instance of an application with product
/// modules; the database is already migrated and seeded by the first).
pub async fn spawn_beside_with_modules(other: &TestApp, modules: Modules) -> TestApp {
    spawn_beside_with_modules_and(other, modules, |_| {}).await
}

/// [`spawn_beside_with_modules`] with settings changed by `configure`.
pub async fn spawn_beside_with_modules_and(
    other: &TestApp,
    modules: Modules,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    spawn_with(other.backend, other.db_url.clone(), dir, configure, modules).await
}

/// [`spawn_app`] running `modules` instead of the platform's alone (e.g. the platform's plus a
/// test module): their migrations, seeds, routes, navigation and OpenAPI paths.
pub async fn spawn_app_with_modules(backend: TestBackend, modules: Modules) -> TestApp {
    spawn_app_with_modules_and(backend, modules, |_| {}).await
}

/// [`spawn_app_with_modules`] with settings changed by `configure`.
pub async fn spawn_app_with_modules_and(
    backend: TestBackend,
    modules: Modules,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = fresh_database(backend, dir.path()).await;
    let mut app = spawn_with(backend, db_url, dir, configure, modules).await;
    app.own_schema = app
        .db_url
        .split("options[search_path]=")
        .nth(1)
        .map(str::to_owned);
    app
}

async fn spawn_on(
    backend: TestBackend,
    db_url: String,
    dir: tempfile::TempDir,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let modules = Modules::new(kehu_web::platform::modules()).expect("the platform's modules");
    spawn_with(backend, db_url, dir, configure, modules).await
}

async fn spawn_with(
    backend: TestBackend,
    db_url: String,
    dir: tempfile::TempDir,
    configure: impl FnOnce(&mut Config),
    modules: Modules,
) -> TestApp {
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: Some(db_url.clone()),
        data_dir: dir.path().to_path_buf(),
        log_level: std::env::var("KEHU_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        ..Config::default()
    };
    configure(&mut config);
    kehu_web::telemetry::init(&config.log_level, "text");
    let store = Store::open_with_migrations(&db_url, DbOptions::default(), &modules.migrations())
        .await
        .expect("opening the test database");
    modules.seed(&store).await.expect("seeding the modules");
    bootstrap_admin(&store, Some(ADMIN_PASSWORD))
        .await
        .expect("creating admin");
    let app = Application::with_modules(config, store.clone(), modules)
        .await
        .expect("binding");
    let addr = app.addr().expect("address");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        store,
        backend,
        db_url,
        own_schema: None,
        shutdown: Some(tx),
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A client with a cookie jar that does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("client")
    }

    /// Creates a user with a role (by code) directly in the store; no forced password change.
    pub async fn create_user(&self, username: &str, role_code: &str, password: &str) -> i64 {
        let role = self
            .store
            .roles
            .by_code(role_code)
            .await
            .unwrap()
            .expect("role exists");
        let new = NewUser {
            username: username.into(),
            display_name: format!("测试 {username}"),
            email: None,
            role_id: role.id,
            password_hash: hash_password(password).unwrap(),
            must_change_password: false,
        };
        self.store
            .users
            .create(&new, &Actor::system())
            .await
            .unwrap()
            .id
    }

    /// Issues an API token for `username`, valid for 90 days.
    pub async fn token_for(&self, username: &str) -> String {
        let expires_at = chrono::Utc::now() + chrono::Duration::days(90);
        self.token_expiring(username, Some(expires_at)).await
    }

    /// Issues an API token for `username` expiring at `expires_at` (`None`: never).
    pub async fn token_expiring(
        &self,
        username: &str,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> String {
        let u = self
            .store
            .users
            .by_username(username)
            .await
            .unwrap()
            .expect("user exists");
        let token = new_token();
        self.store
            .tokens
            .issue(
                u.id,
                "test",
                &token_digest(&token),
                expires_at,
                &Actor::system(),
            )
            .await
            .unwrap();
        token
    }

    /// Every token of `user_id`, newest first, revoked ones included (read as the system).
    pub async fn tokens_of(&self, user_id: i64) -> Vec<kehu_store::tokens::ApiToken> {
        let filter = kehu_store::tokens::TokenFilter::of_user(user_id);
        self.store
            .tokens
            .list(
                OwnerFilter::system(),
                &filter,
                kehu_store::PageRequest::default(),
            )
            .await
            .unwrap()
            .items
    }

    /// Signs in through the form; panics if sign-in does not redirect.
    pub async fn login(&self, username: &str, password: &str) -> Session {
        let s = Session {
            client: self.client(),
            base: self.url(""),
            csrf: String::new(),
        };
        let csrf = form_token(&s.get("/login").await.text().await.unwrap());
        let resp = s
            .client
            .post(self.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", username),
                ("password", password),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            303,
            "sign-in of {username} failed: {}",
            resp.text().await.unwrap_or_default()
        );
        let mut s = s;
        s.refresh_csrf().await;
        s
    }

    pub async fn admin(&self) -> Session {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// An anonymous session.
    pub fn anonymous(&self) -> Session {
        Session {
            client: self.client(),
            base: self.url(""),
            csrf: String::new(),
        }
    }
}

/// The form token (`<input name="csrf" value="…">`) of a page; empty when it has none.
pub fn form_token(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    html.find(marker)
        .map(|i| {
            let rest = &html[i + marker.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_owned()
        })
        .unwrap_or_default()
}

/// A browser-like client: cookie jar plus the page's CSRF token.
pub struct Session {
    pub client: reqwest::Client,
    base: String,
    pub csrf: String,
}

impl Session {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Reads the session's CSRF token from the profile page.
    pub async fn refresh_csrf(&mut self) {
        let html = self.get("/profile").await.text().await.unwrap();
        self.csrf = form_token(&html);
        assert!(!self.csrf.is_empty(), "no CSRF token on the profile page");
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Posts a form with the session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    /// Sends a JSON API request with the session cookie and the CSRF header.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }
}

/// Sends an API request with a bearer token.
pub async fn bearer(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut req = app
        .client()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// Runs each story once on SQLite and once on PostgreSQL:
/// `both_backends! { async fn name(app) { … } }` makes tests `name::sqlite` and `name::postgres`.
/// `name::sqlite` and `name::postgres` for each story `async fn name(b: TestBackend)` that
/// starts its own application (other modules, other settings than [`both_backends!`]'s).
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::TestBackend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::TestBackend::Postgres).await
            }
        }
    )*};
}

#[macro_export]
macro_rules! both_backends {
    ($( $(#[$m:meta])* async fn $name:ident($app:ident) $body:block )*) => {
        $(
            $(#[$m])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn story($app: $crate::TestApp) $body
                #[tokio::test]
                async fn sqlite() {
                    story($crate::spawn_app($crate::TestBackend::Sqlite).await).await
                }
                #[tokio::test]
                async fn postgres() {
                    story($crate::spawn_app($crate::TestBackend::Postgres).await).await
                }
            }
        )*
    };
}

/// Reading JSON API answers in tests: status and body, problem documents, field errors.
pub mod json {
    use serde_json::Value;

    use crate::{TestApp, bearer};

    /// Status and JSON body of an answer (`null` when empty, the text when not JSON).
    pub async fn read(resp: reqwest::Response) -> (u16, Value) {
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    /// Asserts an answer is a problem document with `status` and `code`, and returns it.
    pub async fn problem(resp: reqwest::Response, status: u16, code: &str) -> Value {
        let ct = resp.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let (s, body) = read(resp).await;
        assert_eq!((s, body["code"].as_str()), (status, Some(code)), "{body}");
        assert_eq!(ct, "application/problem+json");
        assert_eq!(body["status"], status);
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{body}"
        );
        body
    }

    /// The names of the invalid fields (or parameters) in a problem's `errors[]`.
    pub fn field_names(problem: &Value) -> Vec<String> {
        problem["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sends an API request with a bearer token; status and JSON body.
    pub async fn call(
        app: &TestApp,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        read(bearer(app, token, method, path, body).await).await
    }
}
