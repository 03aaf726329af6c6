//! What the sales module's test files share: an application running the customer and sales
//! modules, and the macro that runs each story on both databases.

use kehu_testkit::{TestApp, TestBackend, spawn_app_with_modules};
use kehu_web::Modules;

/// kehu with the platform's modules, customers and sales, over a fresh database.
pub async fn app(backend: TestBackend) -> TestApp {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_sales::module());
    #[allow(clippy::unwrap_used, reason = "tests")]
    spawn_app_with_modules(backend, Modules::new(modules).unwrap()).await
}

pub(crate) use kehu_testkit::on_both;
