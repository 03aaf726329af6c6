//! What the order module's test files share: an application running the customer and order
//! modules, and the macro that runs each story on both databases.

use kehu_testkit::{TestApp, TestBackend, spawn_app_with_modules};
use kehu_web::Modules;

/// kehu with the platform's modules, the customer module and the order module, over a fresh
/// database.
pub async fn app(backend: TestBackend) -> TestApp {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_orders::module());
    #[allow(clippy::unwrap_used, reason = "tests")]
    spawn_app_with_modules(backend, Modules::new(modules).unwrap()).await
}

/// `name::sqlite` and `name::postgres` for each story `async fn name(b: TestBackend)`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(kehu_testkit::TestBackend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(kehu_testkit::TestBackend::Postgres).await
            }
        }
    )*};
}
pub(crate) use on_both;
