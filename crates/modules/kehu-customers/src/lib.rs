//! The customer module (客户管理): customers and their contacts — the domain (parsed values),
//! the migrations and the store, scoped by account manager — as one [`kehu_web::Module`].

pub mod domain;
pub mod migrations;
mod rows;
pub mod schema;
pub mod store;

use kehu_domain::Right;
use kehu_web::Module;

/// The customer module as the binary lists it.
pub fn module() -> Module {
    Module::new("customers")
        .rights(&[
            Right::CustomerRead,
            Right::CustomerWrite,
            Right::CustomerDelete,
        ])
        .migrations(migrations::MIGRATIONS)
}
