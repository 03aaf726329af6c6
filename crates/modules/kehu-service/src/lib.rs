//! kehu's service module (服务管理): customers' requests from creation (服务创建) through
//! assignment (服务分配), handling (服务处理) and feedback (服务反馈) to the archive (服务归档),
//! and the complaint's extra steps (投诉处理). The workflow's rules are in
//! `kehu_domain::service`; this crate parses input ([`domain`]), stores ([`store`], with the
//! automatic distribution in [`acd`] and the service levels in [`sla`]), tells people
//! ([`notices`]), migrates ([`migrations`], versions 3000–3999), shows ([`pages`]) and
//! answers the API ([`api`]).

pub mod acd;
pub mod api;
pub mod demo;
pub mod domain;
pub mod migrations;
pub mod notices;
pub mod pages;
pub mod schema;
pub mod sla;
pub mod steps;
pub mod store;

use chrono::{FixedOffset, Offset, Utc};
use kehu_domain::Principal;
use kehu_domain::Right;
use kehu_store::Store;
use kehu_store::audit::Actor;
use kehu_store::write::Dependents;
use kehu_web::context::Ctx;
use kehu_web::error::AppError;
use kehu_web::module::BoxFuture;
use kehu_web::{AppState, Module, NavEntry, Panel, RecordPanel};
use utoipa::OpenApi;

/// The rights this module's handlers check (`Granted<need::…>`).
pub mod need {
    kehu_web::needs! {
        Services => ServiceRead,
        ServiceWrite => ServiceWrite,
        ServiceAssign => ServiceAssign,
        ServiceHandle => ServiceHandle,
    }
}

/// The service module as an application lists it.
pub fn module() -> Module {
    Module::new("service")
        .pages(pages::router())
        // 服务管理: a menu with an entry per stage, as the seed's menu has them.
        .nav(nav(
            "/services/new",
            "service-stage-create",
            Right::ServiceWrite,
            170,
        ))
        .nav(nav(
            "/services?stage=assign",
            "service-stage-assign",
            Right::ServiceAssign,
            171,
        ))
        .nav(nav(
            "/services?stage=handle",
            "service-stage-handle",
            Right::ServiceHandle,
            172,
        ))
        .nav(nav(
            "/services?stage=feedback",
            "service-stage-feedback",
            Right::ServiceWrite,
            173,
        ))
        .nav(nav(
            "/services?stage=archive",
            "service-stage-archive",
            Right::ServiceRead,
            174,
        ))
        .nav(nav("/services", "services-all", Right::ServiceRead, 175))
        .nav(nav(
            "/services/settings",
            "nav-service-settings",
            Right::ServiceAssign,
            176,
        ))
        .api(api::router(), api::ServiceApi::openapi())
        .rights(&[
            Right::ServiceRead,
            Right::ServiceWrite,
            Right::ServiceAssign,
            Right::ServiceHandle,
        ])
        .migrations(migrations::MIGRATIONS)
        .seed(seed)
        .panel(RecordPanel {
            record: "customer",
            order: 30,
            render: customer_panel,
        })
        .panel(RecordPanel {
            record: "home",
            order: 20,
            render: home_panel,
        })
        .dependents(Dependents {
            record: "customer",
            message: "err-customer-has-services",
            count: store::services_of_customer,
        })
}

/// An entry of the 服务管理 menu.
const fn nav(href: &'static str, key: &'static str, right: Right, order: i32) -> NavEntry {
    NavEntry::new(href, key, Some(right), order).in_group("nav-services")
}

/// The customer page's services, for users who may read services.
fn customer_panel<'a>(
    state: &'a AppState,
    user: &'a Principal,
    ctx: &'a Ctx,
    customer_id: i64,
) -> BoxFuture<'a, Result<Option<Panel>, AppError>> {
    Box::pin(async move {
        if !user.can(Right::ServiceRead) {
            return Ok(None);
        }
        let (body_html, count) = pages::customer_panel(state, user, ctx, customer_id)
            .await
            .map_err(|e| e.0)?;
        Ok(Some(Panel {
            id: "services",
            title: ctx.tr.t("services-of-customer"),
            count: Some(count),
            body_html,
            more_href: Some(format!("/services?customer_id={customer_id}")),
        }))
    })
}

/// The home page's services waiting for the user (to handle, to ask the customer about).
fn home_panel<'a>(
    state: &'a AppState,
    user: &'a Principal,
    ctx: &'a Ctx,
    _user_id: i64,
) -> BoxFuture<'a, Result<Option<Panel>, AppError>> {
    Box::pin(async move {
        if !user.can(Right::ServiceHandle) && !user.can(Right::ServiceWrite) {
            return Ok(None);
        }
        let (body_html, count) = pages::waiting_panel(state, user, ctx)
            .await
            .map_err(|e| e.0)?;
        Ok(Some(Panel {
            id: "services-waiting",
            title: ctx.tr.t("service-waiting-title"),
            count: Some(count),
            body_html,
            more_href: None,
        }))
    })
}

/// The service level agreement a new installation starts with ([`sla::DEFAULTS`]), once: a
/// database that has any row keeps what its people set. Instances starting together take
/// turns (the startup lock), so only the first writes it.
fn seed(store: &Store) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let actor = Actor::system();
        store
            .db
            .write(async |tx| {
                tx.lock(kehu_store::db::TxLock::Startup).await?;
                if sla::any_in(tx).await? {
                    return Ok(());
                }
                for (t, level, respond, resolve) in sla::DEFAULTS {
                    let d = sla::SlaDraft::parse(
                        (*t).to_owned(),
                        (*level).to_owned(),
                        &respond.to_string(),
                        &resolve.to_string(),
                    )?;
                    sla::set_in(tx, &d, &actor).await?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    })
}

/// The configured time zone's offset now.
fn offset(state: &AppState) -> FixedOffset {
    Utc::now()
        .with_timezone(&state.config.time_zone.tz())
        .offset()
        .fix()
}

fn services(state: &AppState) -> store::ServiceStore {
    store::ServiceStore::new(state.store.db.clone(), offset(state))
}

/// The values of the dictionary's `service_type`, in its order.
async fn service_types(state: &AppState) -> Result<Vec<String>, AppError> {
    // Values only: the language of the names does not matter.
    let lang = kehu_domain::user::Language::ZhCn;
    let labels = kehu_web::labels::Labels::load(state, lang, &[domain::TYPE]).await?;
    Ok(labels.values(domain::TYPE).map(str::to_owned).collect())
}
