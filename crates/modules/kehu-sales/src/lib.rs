//! kehu's sales module (营销管理): sales opportunities (销售机会) from a lead to a customer, and
//! their development plans (客户开发计划). The workflow's rules are in
//! `kehu_domain::opportunity`; this crate parses input ([`domain`]), stores ([`store`]) and
//! migrates ([`migrations`], versions 2000–2999).
//!
//! Work in progress (issue 10): the domain, the tables and the store (a won opportunity
//! becomes a customer through the customer module's store, in the same transaction); the
//! pages, the API, the pipeline board, the demo data and the customer page's panel come next,
//! and the module is listed in the binary with them.

pub mod domain;
pub mod migrations;
pub mod plan;
pub mod schema;
pub mod store;

use kehu_domain::Right;
use kehu_web::Module;

/// The sales module as an application lists it.
pub fn module() -> Module {
    Module::new("sales")
        .rights(&[
            Right::OpportunityRead,
            Right::OpportunityWrite,
            Right::OpportunityAssign,
            Right::PlanWrite,
        ])
        .migrations(migrations::MIGRATIONS)
}
