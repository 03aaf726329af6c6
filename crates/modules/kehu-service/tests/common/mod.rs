//! What the service module's test files share: an application running the customer and
//! service modules, and the macro that runs each story on both databases.

use kehu_testkit::{TestApp, TestBackend, spawn_app_with_modules};
use kehu_web::Modules;

/// The modules of the application under test: the platform's, customers and service.
pub fn modules() -> Modules {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_service::module());
    #[allow(clippy::unwrap_used, reason = "tests")]
    Modules::new(modules).unwrap()
}

/// kehu with the platform's modules, customers and service, over a fresh database.
pub async fn app(backend: TestBackend) -> TestApp {
    spawn_app_with_modules(backend, modules()).await
}

/// A customer with `fields` (a name at least), created through the API as the holder of
/// token `t`: its id.
#[allow(dead_code, reason = "not every test file creates customers")]
pub async fn customer(app: &TestApp, t: &str, fields: serde_json::Value) -> i64 {
    let (s, c) = kehu_testkit::json::call(
        app,
        t,
        kehu_testkit::reqwest::Method::POST,
        "/api/v1/customers",
        Some(fields),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    #[allow(clippy::unwrap_used, reason = "tests")]
    c["id"].as_i64().unwrap()
}

#[allow(unused_imports, reason = "not every test file runs stories on both")]
pub(crate) use kehu_testkit::on_both;
