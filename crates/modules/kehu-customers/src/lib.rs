//! The customer module (客户管理): customers, their contacts and interactions (交往记录) — the
//! domain (parsed values), the migrations, the stores (scoped by account manager), the pages
//! with the customer page (客户 360°, `show.rs`) and the JSON API — as one
//! [`kehu_web::Module`].

pub mod activities;
pub mod api;
pub mod cli;
pub mod demo;
pub mod domain;
pub mod export;
pub mod history;
pub mod import;
pub mod indexing;
pub mod io_api;
pub mod migrations;
pub mod pages;
mod rows;
pub mod schema;
mod show;
pub mod store;
pub mod values;

use std::sync::Arc;

use chrono::{Offset, Utc};
use kehu_domain::Right;
use kehu_store::StoreResult;
use kehu_web::import::{ImportAs, ImportKind, ImportRows, Importer};
use kehu_web::module::BoxFuture;
use kehu_web::{AppState, Module, NavEntry, Searchable};
use utoipa::OpenApi;

/// The rights this module's handlers check (`Granted<need::…>`).
pub mod need {
    kehu_web::needs! {
        Customers => CustomerRead,
        CustomerWrite => CustomerWrite,
        CustomerDelete => CustomerDelete,
        CustomerImport => CustomerImport,
        CustomerExport => CustomerExport,
    }
}

/// The customer module as the binary lists it.
pub fn module() -> Module {
    Module::new("customers")
        .pages(pages::router())
        .nav(NavEntry::new(
            "/customers",
            "nav-customers",
            Some(Right::CustomerRead),
            100,
        ))
        .api(api::router(), api::CustomersApi::openapi())
        .pages(activities::pages::router())
        .api(
            activities::api::router(),
            activities::api::ActivitiesApi::openapi(),
        )
        .api(io_api::router(), io_api::IoApi::openapi())
        .rights(&[
            Right::CustomerRead,
            Right::CustomerWrite,
            Right::CustomerDelete,
            Right::CustomerImport,
            Right::CustomerExport,
        ])
        .migrations(migrations::MIGRATIONS)
        .searchable(Searchable {
            entity: indexing::CUSTOMER,
            label: "search-customers",
            right: Right::CustomerRead,
            href: |id| format!("/customers/{id}"),
        })
        .searchable(Searchable {
            entity: indexing::CONTACT,
            label: "search-contacts",
            right: Right::CustomerRead,
            href: |id| format!("/contacts/{id}"),
        })
        .import(ImportKind {
            code: "customers",
            label: "import-kind-customers",
            right: Right::CustomerImport,
            home: ("/customers", "nav-customers"),
            load: load_import::<import::CustomerImport>,
        })
        .import(ImportKind {
            code: "contacts",
            label: "import-kind-contacts",
            right: Right::CustomerImport,
            home: ("/customers", "nav-customers"),
            load: load_import::<import::ContactImport>,
        })
}

/// A customer or contact import: its rows checked against the scope, and the default owner
/// the account manager of rows that name none (an import without one is refused before it
/// starts).
fn load_import<I: ImportRows + From<import::Context>>(
    state: &AppState,
    by: ImportAs,
) -> BoxFuture<'_, StoreResult<Arc<dyn Importer>>> {
    Box::pin(async move {
        let owner = by.default_owner.ok_or_else(|| {
            anyhow::anyhow!("rows without an account manager need a default one (--owner)")
        })?;
        let cx = import::Context::load(&store(state), by.scope, by.actor, owner).await?;
        Ok(Arc::new(I::from(cx)) as Arc<dyn Importer>)
    })
}

/// The store over the application's database; new customer codes carry the day in the
/// configured time zone.
fn store(state: &AppState) -> store::CustomerStore {
    let offset = Utc::now()
        .with_timezone(&state.config.time_zone.tz())
        .offset()
        .fix();
    store::CustomerStore::new(state.store.db.clone(), offset)
}

/// The interaction store over the application's database.
fn activities(state: &AppState) -> activities::ActivityStore {
    activities::ActivityStore::new(state.store.db.clone())
}
