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

#[allow(unused_imports, reason = "not every test file runs stories on both")]
pub(crate) use kehu_testkit::on_both;
