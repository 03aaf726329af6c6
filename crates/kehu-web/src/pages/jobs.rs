//! 后台任务: the scheduled jobs (`crate::jobs`), each with its schedule (changed here), when it
//! runs next, how its last run went and a "run now" button; below, the runs newest first with
//! their figures and errors. Right: `system.jobs`.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use kehu_domain::DomainError;
use kehu_domain::schedule::Schedule;
use kehu_store::jobs::{JobRun, RunFilter};
use kehu_store::page::PageRequest;
use serde::Deserialize;

use crate::access::{PageGranted, need};
use crate::context::{CsrfForm, Ctx};
use crate::error::{AppError, PageError};
use crate::form::submit;
use crate::jobs::{JobView, RunError, overview, run_now};
use crate::state::AppState;
use crate::views::{Chrome, FormErrors, render, when};

/// Runs shown under the jobs.
const RUNS_SHOWN: u64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(page))
        .route("/jobs/{name}", post(configure))
        .route("/jobs/{name}/run", post(run))
}

struct JobRow {
    name: String,
    title: String,
    schedule: String,
    enabled: bool,
    next: String,
    running: bool,
    failures: i32,
    last: Option<RunRow>,
    /// This job's form came back with errors.
    errors: FormErrors,
}

struct RunRow {
    id: i64,
    job: String,
    trigger: String,
    status: String,
    /// 成功, 失败, 运行中.
    status_label: String,
    instance: String,
    started: String,
    seconds: String,
    figures: String,
    error: String,
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    c: Chrome,
    jobs: Vec<JobRow>,
    runs: Vec<RunRow>,
    /// `?ran=NAME`: that job just ran (its run is the first).
    ran: Option<String>,
    saved: bool,
    only_failed: bool,
}

fn run_row(c: &Chrome, r: &JobRun) -> RunRow {
    RunRow {
        id: r.id,
        job: r.job.clone(),
        trigger: c.t(&format!("jobs-trigger-{}", r.trigger)),
        status: r.status.clone(),
        status_label: c.t(&format!("jobs-status-{}", r.status)),
        instance: r.holder.clone(),
        started: when(&c.tr, &r.started_at),
        seconds: r.seconds().map(|s| format!("{s:.1}")).unwrap_or_default(),
        figures: r
            .figures()
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{} {v}", c.t(&format!("jobs-figure-{k}"))))
                    .collect::<Vec<_>>()
                    .join(" · ")
            })
            .unwrap_or_default(),
        error: r.error.clone().unwrap_or_default(),
    }
}

#[derive(Deserialize, Default)]
struct PageQuery {
    ran: Option<String>,
    saved: Option<String>,
    failed: Option<String>,
}

async fn show(
    state: &AppState,
    ctx: &Ctx,
    q: PageQuery,
    with_errors: Option<(&str, FormErrors)>,
) -> Result<Response, PageError> {
    let c = Chrome::new(ctx, "/jobs");
    let now = Utc::now();
    let mut status = axum::http::StatusCode::OK;
    let jobs = overview(state)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|JobView { def, job: j, last }| {
            let errors = match &with_errors {
                Some((name, e)) if *name == j.name => {
                    status = e.status();
                    e.clone()
                }
                _ => FormErrors::default(),
            };
            JobRow {
                title: c.t(def.label),
                running: j.is_running(now),
                next: when(&c.tr, &j.next_run_at),
                last: last.as_ref().map(|r| run_row(&c, r)),
                name: j.name,
                schedule: j.schedule,
                enabled: j.enabled,
                failures: j.attempt,
                errors,
            }
        })
        .collect();
    let only_failed = q.failed.as_deref().is_some_and(|f| !f.trim().is_empty());
    let filter = RunFilter {
        job: None,
        failed: only_failed,
    };
    let runs = state
        .store
        .jobs
        .runs(&filter, PageRequest::new(None, Some(RUNS_SHOWN)))
        .await?
        .items
        .iter()
        .map(|r| run_row(&c, r))
        .collect();
    let page = JobsPage {
        c,
        jobs,
        runs,
        ran: q.ran.filter(|r| state.scheduled_job(r).is_some()),
        saved: q.saved.is_some(),
        only_failed,
    };
    Ok((status, render(&page)?).into_response())
}

async fn page(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::Jobs>,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    show(&state, &ctx, q, None).await
}

#[derive(Deserialize)]
struct JobForm {
    #[serde(default)]
    schedule: String,
    /// A ticked checkbox sends it; an unticked one sends nothing.
    enabled: Option<String>,
}

async fn configure(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::Jobs>,
    Path(name): Path<String>,
    CsrfForm(f): CsrfForm<JobForm>,
) -> Result<Response, PageError> {
    if state.scheduled_job(&name).is_none() {
        return Err(AppError::NotFound.into());
    }
    let parsed = Schedule::parse("schedule", &f.schedule).map_err(DomainError::from);
    let enabled = f.enabled.is_some();
    let store = &state.store.jobs;
    submit(
        ctx.tr,
        parsed,
        async |schedule: Schedule| {
            let next = state.next_run(&schedule, Utc::now());
            store
                .configure(&name, &schedule, enabled, next, &ctx.actor())
                .await
        },
        |_| "/jobs".to_owned(),
        async |errors| show(&state, &ctx, PageQuery::default(), Some((&name, errors))).await,
    )
    .await
}

#[derive(Deserialize)]
struct RunForm {}

async fn run(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Jobs>,
    Path(name): Path<String>,
    CsrfForm(_): CsrfForm<RunForm>,
) -> Result<Response, PageError> {
    match run_now(&state, &name, Some(user.user_id)).await {
        Ok(_) => Ok(Redirect::to(&format!("/jobs?ran={name}")).into_response()),
        Err(RunError::Unknown) => Err(AppError::NotFound.into()),
        Err(RunError::Busy) => {
            // 409, as when a save meets someone else's: another run holds the job.
            let errors = FormErrors {
                form: Some(ctx.tr.t("jobs-running")),
                stale: true,
                ..FormErrors::default()
            };
            show(&state, &ctx, PageQuery::default(), Some((&name, errors))).await
        }
        Err(RunError::Store(e)) => Err(AppError::from(e).into()),
    }
}
