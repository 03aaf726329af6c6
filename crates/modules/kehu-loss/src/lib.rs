//! kehu's loss module (客户流失管理): every night the loss scan ([`store::LossStore::scan`],
//! the scheduled job `loss-scan`) opens a warning for each customer who has not ordered for
//! the threshold's months; the account manager logs what they do about it (暂缓流失) or
//! confirms the loss with a reason (确定流失); a new order closes it as won back
//! ([`store::won_back`], a reaction in the order's transaction). This crate parses input
//! ([`domain`]), stores ([`store`]), migrates ([`migrations`], versions 7000–7999), shows
//! ([`pages`]) and answers the API ([`api`]).

pub mod api;
pub mod domain;
pub mod measures;
pub mod migrations;
pub mod pages;
pub mod progress;
pub mod schema;
pub mod settings;
pub mod store;

use chrono::{FixedOffset, Offset, Utc};
use kehu_domain::{Principal, Right};
use kehu_store::audit::Actor;
use kehu_store::db::Tx;
use kehu_store::write::{CUSTOMER_ORDERED, Event, Reacting, Reaction};
use kehu_web::context::Ctx;
use kehu_web::error::AppError;
use kehu_web::jobs::ScheduledJob;
use kehu_web::module::BoxFuture;
use kehu_web::{AppState, Module, NavEntry, Panel, RecordPanel};
use utoipa::OpenApi;

use crate::domain::{Settings, Threshold};

/// The rights this module's handlers check (`Granted<need::…>`).
pub mod need {
    kehu_web::needs! {
        Loss => LossRead,
        LossHandle => LossHandle,
        Jobs => SystemJobs,
    }
}

/// The scan's name among the scheduled jobs (`kehu jobs run loss-scan`).
pub const SCAN: &str = "loss-scan";

/// The loss module as an application lists it.
pub fn module() -> Module {
    Module::new("loss")
        .pages(pages::router())
        .nav(NavEntry::new(
            "/loss",
            "nav-loss",
            Some(Right::LossRead),
            110,
        ))
        .api(api::router(), api::LossApi::openapi())
        .rights(&[Right::LossRead, Right::LossHandle])
        .migrations(migrations::MIGRATIONS)
        .scheduled(ScheduledJob {
            name: SCAN,
            label: "loss-scan-job",
            // Every night at two, in the configured time zone.
            schedule: "0 2 * * *",
            run: scan_job,
        })
        .reaction(Reaction {
            event: CUSTOMER_ORDERED,
            run: won_back,
        })
        .panel(RecordPanel {
            record: "customer",
            order: 40,
            render: customer_panel,
        })
        .panel(RecordPanel {
            record: "home",
            order: 5,
            render: home_panel,
        })
}

/// The win-back, in the order's transaction.
fn won_back<'a>(tx: &'a mut Tx, ordered: &'a Event, actor: &'a Actor) -> Reacting<'a> {
    Box::pin(store::won_back(tx, ordered, actor))
}

/// The scheduled scan: the settings an administrator stored (or the configuration's),
/// answering its figures.
fn scan_job(state: AppState) -> BoxFuture<'static, anyhow::Result<serde_json::Value>> {
    Box::pin(async move {
        let store = losses(&state);
        let (settings, _) = settings::get(store.db(), configured(&state)).await?;
        let f = store.scan(settings, &Actor::system(), |_, _| {}).await?;
        Ok(serde_json::to_value(f)?)
    })
}

/// The scan's settings as the configuration gives them (checked when it was loaded).
pub fn configured(state: &AppState) -> Settings {
    Settings {
        threshold: Threshold::new(state.config.loss_threshold_months)
            .unwrap_or(Threshold::SIX_MONTHS),
        never_ordered: state.config.loss_include_never_ordered,
    }
}

/// The customer page's loss history, for users who may read loss records.
fn customer_panel<'a>(
    state: &'a AppState,
    user: &'a Principal,
    ctx: &'a Ctx,
    customer_id: i64,
) -> BoxFuture<'a, Result<Option<Panel>, AppError>> {
    Box::pin(async move {
        if !user.can(Right::LossRead) {
            return Ok(None);
        }
        let Some((body_html, count)) = pages::customer_panel(state, user, ctx, customer_id).await?
        else {
            return Ok(None);
        };
        Ok(Some(Panel {
            id: "loss",
            title: ctx.tr.t("loss-of-customer"),
            count: Some(count),
            body_html,
            more_href: Some(format!("/loss?customer_id={customer_id}")),
        }))
    })
}

/// The home page's customers at risk of the user's (all, for a supervisor).
fn home_panel<'a>(
    state: &'a AppState,
    user: &'a Principal,
    ctx: &'a Ctx,
    _user_id: i64,
) -> BoxFuture<'a, Result<Option<Panel>, AppError>> {
    Box::pin(async move {
        if !user.can(Right::LossRead) {
            return Ok(None);
        }
        let (body_html, count) = pages::at_risk_panel(state, user, ctx).await?;
        Ok(Some(Panel {
            id: "loss-at-risk",
            title: ctx.tr.t("loss-at-risk-title"),
            count: Some(count),
            body_html,
            more_href: Some("/loss?status=open".into()),
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

fn losses(state: &AppState) -> store::LossStore {
    store::LossStore::new(state.store.db.clone(), offset(state))
}

/// The values of the dictionary's `loss_reason`, in its order.
async fn reasons(state: &AppState) -> Result<Vec<String>, AppError> {
    // Values only: the language of the names does not matter.
    let lang = kehu_domain::user::Language::ZhCn;
    let labels = kehu_web::labels::Labels::load(state, lang, &[domain::REASON]).await?;
    Ok(labels.values(domain::REASON).map(str::to_owned).collect())
}
