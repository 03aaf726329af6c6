//! kehu's sales module (营销管理): sales opportunities (销售机会) from a lead to a customer, their
//! development plans (客户开发计划) and the pipeline board. The workflow's rules are in
//! `kehu_domain::opportunity`; this crate parses input ([`domain`]), stores ([`store`], with
//! the plan items in [`plan`] and the board's running totals in [`pipeline`]), migrates
//! ([`migrations`], versions 2000–2999), shows ([`pages`]) and answers the API ([`api`]).
//! A won opportunity becomes a customer through the customer module's store, in the same
//! transaction; the customer page lists a customer's opportunities, the home page a user's
//! plan items due.

pub mod api;
pub mod demo;
pub mod domain;
pub mod migrations;
pub mod pages;
pub mod pipeline;
pub mod plan;
pub mod schema;
pub mod store;

use chrono::{FixedOffset, Offset, Utc};
use kehu_domain::Right;
use kehu_domain::policy::Principal;
use kehu_store::write::Dependents;
use kehu_web::context::Ctx;
use kehu_web::error::AppError;
use kehu_web::module::BoxFuture;
use kehu_web::{AppState, Module, NavEntry, Panel, RecordPanel};
use utoipa::OpenApi;

/// The rights this module's handlers check (`Granted<need::…>`).
pub mod need {
    kehu_web::needs! {
        Opportunities => OpportunityRead,
        OpportunityWrite => OpportunityWrite,
        OpportunityAssign => OpportunityAssign,
        PlanWrite => PlanWrite,
    }
}

/// The sales module as an application lists it.
pub fn module() -> Module {
    Module::new("sales")
        .pages(pages::router())
        .nav(NavEntry::new(
            "/opportunities",
            "nav-opportunities",
            Some(Right::OpportunityRead),
            150,
        ))
        .nav(NavEntry::new(
            "/pipeline",
            "nav-pipeline",
            Some(Right::OpportunityRead),
            160,
        ))
        .api(api::router(), api::SalesApi::openapi())
        .rights(&[
            Right::OpportunityRead,
            Right::OpportunityWrite,
            Right::OpportunityAssign,
            Right::PlanWrite,
        ])
        .migrations(migrations::MIGRATIONS)
        .panel(RecordPanel {
            record: "customer",
            order: 10,
            render: customer_panel,
        })
        .panel(RecordPanel {
            record: "home",
            order: 10,
            render: home_panel,
        })
        .dependents(Dependents {
            record: "customer",
            message: "err-customer-has-opportunities",
            count: store::opportunities_of_customer,
        })
}

/// The customer page's opportunities (the one it came from and later ones), for users who
/// may read opportunities.
fn customer_panel<'a>(
    state: &'a AppState,
    user: &'a Principal,
    ctx: &'a Ctx,
    customer_id: i64,
) -> BoxFuture<'a, Result<Option<Panel>, AppError>> {
    Box::pin(async move {
        if !user.can(Right::OpportunityRead) {
            return Ok(None);
        }
        let (body_html, count) = pages::customer_panel(state, user, ctx, customer_id).await?;
        Ok(Some(Panel {
            id: "opportunities",
            title: ctx.tr.t("opportunities-of-customer"),
            count: Some(count),
            body_html,
            more_href: Some(format!("/opportunities?customer_id={customer_id}")),
        }))
    })
}

/// The home page's plan items due today or overdue, of the opportunities the user develops.
fn home_panel<'a>(
    state: &'a AppState,
    user: &'a Principal,
    ctx: &'a Ctx,
    _user_id: i64,
) -> BoxFuture<'a, Result<Option<Panel>, AppError>> {
    Box::pin(async move {
        if !user.can(Right::PlanWrite) {
            return Ok(None);
        }
        let (body_html, count) = pages::due_panel(state, user, ctx).await?;
        Ok(Some(Panel {
            id: "plan-due",
            title: ctx.tr.t("plan-due-title"),
            count: Some(count),
            body_html,
            more_href: None,
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

fn opportunities(state: &AppState) -> store::OpportunityStore {
    store::OpportunityStore::new(state.store.db.clone(), offset(state))
}
