//! The order module (基础数据 and 历史订单): products and their stock by warehouse and location,
//! and customers' orders with lines and exact totals — the domain (parsed values, the order's
//! workflow), the migrations, the stores (orders scoped through their customer), the pages and
//! the JSON API — as one [`kehu_web::Module`]. It builds on the customer module, never the
//! other way round.

pub mod api;
pub mod contribution;
pub mod demo;
pub mod domain;
pub mod figures;
pub mod import;
mod lines;
pub mod migrations;
pub mod pages;
pub mod product_figures;
pub mod products;
pub mod schema;
pub mod store;

use std::sync::Arc;

use chrono::{FixedOffset, Offset, Utc};
use kehu_domain::Right;
use kehu_domain::policy::Principal;
use kehu_store::write::Dependents;
use kehu_web::context::Ctx;
use kehu_web::error::AppError;
use kehu_web::import::{ImportKind, Importer};
use kehu_web::module::BoxFuture;
use kehu_web::{AppState, Module, NavEntry, Panel, RecordPanel};
use utoipa::OpenApi;

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
        .panel(RecordPanel {
            record: "customer",
            order: 20,
            render: orders_panel,
        })
        .dependents(Dependents {
            record: "customer",
            message: "err-customer-has-orders",
            count: store::orders_of_customer,
        })
        .import(ImportKind {
            code: "products",
            label: "import-kind-products",
            right: Right::ProductWrite,
            home: ("/products", "nav-products"),
            load: |_, by| {
                Box::pin(async move {
                    Ok(Arc::new(import::ProductImport::new(by.actor)) as Arc<dyn Importer>)
                })
            },
        })
        .import(ImportKind {
            code: "orders",
            label: "import-kind-orders",
            right: Right::OrderWrite,
            home: ("/orders", "nav-orders"),
            load: |state, by| {
                Box::pin(async move {
                    let import = import::OrderImport::new(orders(state), by.scope, by.actor);
                    Ok(Arc::new(import) as Arc<dyn Importer>)
                })
            },
        })
}

/// The customer page's orders (历史订单): the latest with lines and totals, for users who
/// may read orders.
fn orders_panel<'a>(
    state: &'a AppState,
    user: &'a Principal,
    ctx: &'a Ctx,
    customer_id: i64,
) -> BoxFuture<'a, Result<Option<Panel>, AppError>> {
    Box::pin(async move {
        if !user.can(Right::OrderRead) {
            return Ok(None);
        }
        let (body_html, count) =
            pages::customer_orders_panel(state, user, ctx, customer_id).await?;
        Ok(Some(Panel {
            id: "orders",
            title: ctx.tr.t("orders-history"),
            count: Some(count),
            body_html,
            more_href: Some(format!("/orders?customer_id={customer_id}")),
        }))
    })
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
        .with_reactions(state.reactions_to(kehu_store::write::CUSTOMER_ORDERED))
}

fn products(state: &AppState) -> products::ProductStore {
    products::ProductStore::new(state.store.db.clone())
}
