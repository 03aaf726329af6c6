//! What the customer module's test files share: an application running the module, and the
//! macro that runs each story on both databases.

use kehu_testkit::{TestApp, TestBackend, spawn_app_with_modules};
use kehu_web::Modules;

/// kehu with the platform's modules and the customer module, over a fresh database.
pub async fn app(backend: TestBackend) -> TestApp {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    #[allow(clippy::unwrap_used, reason = "tests")]
    spawn_app_with_modules(backend, Modules::new(modules).unwrap()).await
}

pub(crate) use kehu_testkit::on_both;
