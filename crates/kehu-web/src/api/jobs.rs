//! `/api/v1/jobs`: the scheduled jobs (`crate::jobs`) with their schedules and last runs,
//! running one now (`POST /api/v1/jobs/{name}`, answered with the run), changing its
//! schedule, and the runs newest first. Right: `system.jobs`.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use kehu_domain::schedule::Schedule;
use kehu_store::jobs::{JobRun, RunFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{
    BadRequest, Forbidden, Granted, Invalid, Json, ListOf, NotFound, PageQuery, Query,
    Unauthenticated, blank_as_none, need,
};
use crate::error::{ApiError, AppError};
use crate::jobs::{JobView, RunError, overview, run_now};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/jobs", get(list))
        .route("/api/v1/jobs/runs", get(runs))
        .route("/api/v1/jobs/{name}", get(one).post(run).put(configure))
}

/// A scheduled job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobOut {
    /// e.g. `loss-scan`.
    pub name: String,
    /// A five-field cron pattern in the configured time zone (`0 2 * * *`: every night at 2).
    pub schedule: String,
    /// False: it runs only when asked.
    pub enabled: bool,
    #[serde(serialize_with = "super::time::rfc3339")]
    pub next_run_at: DateTime<Utc>,
    /// A run of it is under way (here or on another instance).
    pub running: bool,
    /// Failed runs in a row (retried after 1, 4 and 16 minutes).
    pub failures: i32,
    pub last_run: Option<RunOut>,
}

/// One run of a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunOut {
    pub id: i64,
    pub job: String,
    /// `schedule`, `retry` or `manual`.
    pub trigger: String,
    /// The kehu instance that ran it (host and process).
    pub instance: String,
    pub attempt: i32,
    #[serde(serialize_with = "super::time::rfc3339")]
    pub started_at: DateTime<Utc>,
    #[serde(serialize_with = "super::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// What it counted, e.g. `{"scanned": 1000, "warned": 12, "closed": 3}`; `null` until it
    /// succeeds.
    #[schema(value_type = Option<Object>)]
    pub figures: serde_json::Value,
    pub error: Option<String>,
    /// Who asked for a manual run.
    pub started_by: Option<i64>,
}

impl From<JobRun> for RunOut {
    fn from(r: JobRun) -> Self {
        Self {
            figures: r.figures(),
            id: r.id,
            job: r.job,
            trigger: r.trigger,
            instance: r.holder,
            attempt: r.attempt,
            started_at: r.started_at,
            finished_at: r.finished_at,
            status: r.status,
            error: r.error,
            started_by: r.started_by,
        }
    }
}

impl From<JobView> for JobOut {
    fn from(JobView { job, last, .. }: JobView) -> Self {
        Self {
            running: job.is_running(Utc::now()),
            last_run: last.map(RunOut::from),
            name: job.name,
            schedule: job.schedule,
            enabled: job.enabled,
            next_run_at: job.next_run_at,
            failures: job.attempt,
        }
    }
}

async fn jobs_of(state: &AppState) -> Result<Vec<JobOut>, ApiError> {
    let jobs = overview(state).await.map_err(AppError::from)?;
    Ok(jobs.into_iter().map(JobOut::from).collect())
}

async fn find(state: &AppState, name: &str) -> Result<JobOut, ApiError> {
    jobs_of(state)
        .await?
        .into_iter()
        .find(|j| j.name == name)
        .ok_or_else(|| AppError::NotFound.into())
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    tag = "jobs",
    responses(
        (status = 200, description = "Every scheduled job, by name", body = Vec<JobOut>),
        Unauthenticated, Forbidden,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    _: Granted<need::Jobs>,
) -> Result<axum::Json<Vec<JobOut>>, ApiError> {
    Ok(axum::Json(jobs_of(&state).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/{name}",
    tag = "jobs",
    params(("name" = String, Path, description = "The job, e.g. `loss-scan`", max_length = 64)),
    responses(
        (status = 200, description = "The job", body = JobOut),
        Unauthenticated, Forbidden, NotFound,
    )
)]
pub async fn one(
    State(state): State<AppState>,
    _: Granted<need::Jobs>,
    Path(name): Path<String>,
) -> Result<axum::Json<JobOut>, ApiError> {
    Ok(axum::Json(find(&state, &name).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/jobs/{name}",
    tag = "jobs",
    params(("name" = String, Path, description = "The job, e.g. `loss-scan`", max_length = 64)),
    responses(
        (status = 200, description = "The job ran now; its run (`status` `succeeded` or `failed`)", body = RunOut),
        Unauthenticated, Forbidden, NotFound,
        (status = 409, description = "A run of it is under way (`not_allowed`, reason `err-job-running`)", content_type = "application/problem+json"),
    )
)]
pub async fn run(
    State(state): State<AppState>,
    g: Granted<need::Jobs>,
    Path(name): Path<String>,
) -> Result<axum::Json<RunOut>, ApiError> {
    match run_now(&state, &name, Some(g.user.user_id)).await {
        Ok(r) => Ok(axum::Json(r.into())),
        Err(RunError::Unknown) => Err(AppError::NotFound.into()),
        Err(RunError::Busy) => {
            Err(AppError::from(DomainError::NotAllowed("err-job-running")).into())
        }
        Err(RunError::Store(e)) => Err(e.into()),
    }
}

/// A job's schedule and whether it runs by itself.
#[derive(Debug, Deserialize, ToSchema)]
pub struct JobBody {
    /// Five-field cron pattern in the configured time zone, e.g. `0 2 * * *`.
    #[schema(max_length = 100)]
    pub schedule: String,
    pub enabled: bool,
}

#[utoipa::path(
    put,
    path = "/api/v1/jobs/{name}",
    tag = "jobs",
    params(("name" = String, Path, description = "The job, e.g. `loss-scan`", max_length = 64)),
    request_body = JobBody,
    responses(
        (status = 200, description = "The job with its new schedule and next run", body = JobOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Invalid,
    )
)]
pub async fn configure(
    State(state): State<AppState>,
    g: Granted<need::Jobs>,
    Path(name): Path<String>,
    Json(body): Json<JobBody>,
) -> Result<axum::Json<JobOut>, ApiError> {
    find(&state, &name).await?;
    let schedule = Schedule::parse("schedule", &body.schedule).map_err(DomainError::from)?;
    let next = state.next_run(&schedule, Utc::now());
    state
        .store
        .jobs
        .configure(&name, &schedule, body.enabled, next, &g.ctx.actor())
        .await?;
    Ok(axum::Json(find(&state, &name).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Only this job's runs.
    #[param(max_length = 64)]
    #[serde(default, deserialize_with = "blank_as_none")]
    job: Option<String>,
    /// Only failed runs.
    #[serde(default, deserialize_with = "blank_as_none")]
    failed: Option<bool>,
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/runs",
    tag = "jobs",
    params(RunsQuery, PageQuery),
    responses(
        (status = 200, description = "One page of runs, newest first", body = ListOf<RunOut>),
        BadRequest, Unauthenticated, Forbidden,
    )
)]
pub async fn runs(
    State(state): State<AppState>,
    _: Granted<need::Jobs>,
    Query(q): Query<RunsQuery>,
    Query(paging): Query<PageQuery>,
) -> Result<axum::Json<ListOf<RunOut>>, ApiError> {
    let filter = RunFilter {
        job: q.job,
        failed: q.failed.unwrap_or(false),
    };
    let page = state.store.jobs.runs(&filter, paging.request()).await?;
    Ok(axum::Json(ListOf::from_page(page, RunOut::from)))
}
