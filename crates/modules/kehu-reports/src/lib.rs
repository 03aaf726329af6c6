//! kehu's reports (统计报表): the seed's four — what each customer contributed
//! ([`contribution`], 客户贡献分析), how customers split by level, credit, satisfaction,
//! region and industry ([`composition`], 客户构成分析), how many services of each type and
//! month were taken ([`service`], 客户服务分析) and which customers were lost, when and why
//! ([`loss`], 客户流失分析). Each report is one [`table::Table`] that the page shows, the API
//! answers as JSON and both export to XLSX (real numbers and dates) and CSV. The figures are
//! read through the store of the module whose records they count, in the reader's data scope:
//! an account manager's reports count their own customers.

pub mod api;
pub mod ask;
pub mod chart;
pub mod composition;
pub mod contribution;
mod home;
pub mod loss;
pub mod migrations;
pub mod pages;
pub mod period;
pub mod pipeline;
pub mod products;
pub mod retention;
pub mod service;
pub mod table;
pub mod value;
mod value_pages;

use kehu_domain::{Principal, Right};
use kehu_web::context::Ctx;
use kehu_web::error::AppError;
use kehu_web::jobs::ScheduledJob;
use kehu_web::module::BoxFuture;
use kehu_web::{AppState, Module, NavEntry, Panel, RecordPanel};
use utoipa::OpenApi;

/// The rights this module's handlers check (`Granted<need::…>`).
pub mod need {
    kehu_web::needs! {
        Reports => ReportRead,
    }
}

/// The reports module as an application lists it.
pub fn module() -> Module {
    Module::new("reports")
        .pages(pages::router())
        .api(api::router(), api::ReportsApi::openapi())
        .pages(pipeline::pages())
        .api(pipeline::router(), pipeline::PipelineApi::openapi())
        .pages(products::pages())
        .api(products::router(), products::ProductsApi::openapi())
        .rights(&[Right::ReportRead])
        .migrations(migrations::MIGRATIONS)
        .scheduled(ScheduledJob {
            name: value::JOB,
            label: "report-analytics-job",
            // Every night at three, after the loss scan, in the configured time zone.
            schedule: "0 3 * * *",
            run: analytics_job,
        })
        .scheduled(ScheduledJob {
            name: value::REBUILD,
            label: "report-figures-job",
            // Sundays at four.
            schedule: "0 4 * * 0",
            run: rebuild_job,
        })
        .panel(RecordPanel {
            record: "home",
            order: 1,
            render: home_panel,
        })
        .nav(NavEntry::new(
            "/reports",
            "nav-reports",
            Some(Right::ReportRead),
            300,
        ))
}

/// The customer-value analysis as the jobs kit runs it.
fn analytics_job(state: AppState) -> BoxFuture<'static, anyhow::Result<serde_json::Value>> {
    Box::pin(async move { value::run(&state).await })
}

/// The running figures rebuilt from the orders, as the jobs kit runs it.
fn rebuild_job(state: AppState) -> BoxFuture<'static, anyhow::Result<serde_json::Value>> {
    Box::pin(async move { value::rebuild(&state).await })
}

/// The home page's figures: the reader's own, or the company's.
fn home_panel<'a>(
    state: &'a AppState,
    user: &'a Principal,
    ctx: &'a Ctx,
    _user_id: i64,
) -> BoxFuture<'a, Result<Option<Panel>, AppError>> {
    Box::pin(async move {
        if !user.can(Right::ReportRead) {
            return Ok(None);
        }
        let (id, title, body_html, count) = home::panel(state, user, ctx).await?;
        Ok(Some(Panel {
            id,
            title,
            count: Some(count),
            body_html,
            more_href: Some("/reports".into()),
        }))
    })
}

/// Today in the configured time zone: the day a report's presets and the analysis count from.
pub(crate) fn today(state: &AppState) -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&state.config.time_zone.tz())
        .date_naive()
}

/// The configured time zone's offset now (what the module stores count days in).
pub(crate) fn offset(state: &AppState) -> chrono::FixedOffset {
    use chrono::Offset;
    chrono::Utc::now()
        .with_timezone(&state.config.time_zone.tz())
        .offset()
        .fix()
}
