//! The order module (基础数据 and 历史订单): products and their stock by warehouse and location,
//! and customers' orders with lines and exact totals — the domain (parsed values, the order's
//! workflow), the migrations, the stores (orders scoped through their customer), the pages and
//! the JSON API — as one [`kehu_web::Module`]. It builds on the customer module, never the
//! other way round.

pub mod api;
pub mod domain;
pub mod migrations;
pub mod pages;
pub mod products;
pub mod schema;
pub mod store;

use chrono::{FixedOffset, Offset, Utc};
use kehu_domain::Right;
use kehu_web::{AppState, Module, NavEntry};
use utoipa::OpenApi;

pub use pages::customer_orders_html;

/// The rights this module's handlers check (`Granted<need::…>`).
pub mod need {
    kehu_web::needs! {
        Orders => OrderRead,
        OrderWrite => OrderWrite,
        Products => ProductRead,
        ProductWrite => ProductWrite,
    }
}

/// The order module as the binary lists it.
pub fn module() -> Module {
    Module::new("orders")
        .pages(pages::router())
        .nav(NavEntry::new(
            "/orders",
            "nav-orders",
            Some(Right::OrderRead),
            200,
        ))
        .nav(NavEntry::new(
            "/products",
            "nav-products",
            Some(Right::ProductRead),
            210,
        ))
        .nav(NavEntry::new(
            "/stock",
            "nav-stock",
            Some(Right::ProductRead),
            220,
        ))
        .api(api::router(), api::OrdersApi::openapi())
        .rights(&[
            Right::OrderRead,
            Right::OrderWrite,
            Right::ProductRead,
            Right::ProductWrite,
        ])
        .migrations(migrations::MIGRATIONS)
}

/// The configured time zone's offset now.
fn offset(state: &AppState) -> FixedOffset {
    Utc::now()
        .with_timezone(&state.config.time_zone.tz())
        .offset()
        .fix()
}

fn orders(state: &AppState) -> store::OrderStore {
    store::OrderStore::new(state.store.db.clone(), offset(state))
}

fn products(state: &AppState) -> products::ProductStore {
    products::ProductStore::new(state.store.db.clone())
}
