//! The job runner: the jobs modules schedule ([`ScheduledJob`], e.g. the nightly loss scan),
//! run by exactly one kehu instance at a time however many share the database.
//!
//! Every instance's scheduler looks at the jobs every `job_tick_secs` (20 s); an instance takes a due job
//! with the store's lease (`kehu_store::jobs`), renews it while the job runs and records the
//! run (when, who, attempt, figures or error). A failed run is tried again after a pause that
//! grows (1, 4, 16 minutes), [`RETRIES`] times, then waits for its next scheduled time.
//! Schedules are cron patterns read in the configured time zone; an administrator changes
//! them on the jobs page. A job that must not be done twice makes each step idempotent: a
//! run cut short is simply run again.

use std::sync::LazyLock;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use kehu_domain::schedule::Schedule;
use kehu_store::StoreResult;
use kehu_store::jobs::{Claim, Job, JobRun, Trigger};
use serde_json::Value;

use crate::module::BoxFuture;
use crate::state::AppState;

/// A job a module runs on a schedule.
#[derive(Clone, Copy)]
pub struct ScheduledJob {
    /// Its name in URLs, settings and the runs (`loss-scan`): lower-case letters and `-`.
    pub name: &'static str,
    /// The Fluent key of its title on the jobs page.
    pub label: &'static str,
    /// Its schedule until an administrator sets another (five-field cron).
    pub schedule: &'static str,
    /// Does the work; answers what it counted (an object of numbers).
    pub run: fn(AppState) -> BoxFuture<'static, anyhow::Result<Value>>,
}

impl std::fmt::Debug for ScheduledJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduledJob")
            .field("name", &self.name)
            .field("schedule", &self.schedule)
            .finish_non_exhaustive()
    }
}

/// How long a lease holds without renewal: an instance that stops leaves its job to another
/// after this.
pub const LEASE: Duration = Duration::seconds(90);
/// How often a running job's lease is renewed.
const RENEW: StdDuration = StdDuration::from_secs(30);
/// Tries after a failure before the job waits for its next scheduled time.
pub const RETRIES: i32 = 3;

/// The pause before try `attempt + 1` after `attempt` failures in a row: 1, 4, 16 minutes.
pub fn backoff(attempt: i32) -> Duration {
    Duration::minutes(4_i64.pow(u32::try_from(attempt.clamp(1, 4) - 1).unwrap_or(0)))
}

/// This instance, as the runs name it: host and process (read once).
pub fn holder() -> &'static str {
    static HOLDER: LazyLock<String> = LazyLock::new(|| {
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "kehu".to_owned());
        format!("{host}:{}", std::process::id())
    });
    &HOLDER
}

/// A job of the application as the jobs page, the API and `kehu jobs list` show it.
#[derive(Debug)]
pub struct JobView {
    pub def: ScheduledJob,
    pub job: Job,
    pub last: Option<JobRun>,
}

/// The application's jobs by name, each with its last run (another kehu's on the same
/// database are left out).
pub async fn overview(state: &AppState) -> anyhow::Result<Vec<JobView>> {
    register(state).await?;
    let mut last = state.store.jobs.last_runs().await?;
    Ok(state
        .store
        .jobs
        .list()
        .await?
        .into_iter()
        .filter_map(|job| {
            let def = state.scheduled_job(&job.name)?;
            let last = last
                .iter()
                .position(|r| r.job == job.name)
                .map(|i| last.swap_remove(i));
            Some(JobView { def, job, last })
        })
        .collect())
}

/// Why a job was not run when asked.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no such job")]
    Unknown,
    /// Another run of it (here or on another instance) holds its lease.
    #[error("the job is running")]
    Busy,
    #[error(transparent)]
    Store(#[from] kehu_store::StoreError),
}

impl AppState {
    /// The job named `name`, among those the application runs.
    pub fn scheduled_job(&self, name: &str) -> Option<ScheduledJob> {
        self.scheduled.iter().find(|j| j.name == name).copied()
    }

    /// The first moment `schedule` names after `after`, in the configured time zone (a year
    /// on when it names none: `Schedule::parse` refuses such a pattern).
    pub fn next_run(&self, schedule: &Schedule, after: DateTime<Utc>) -> DateTime<Utc> {
        schedule
            .next_after(after, &self.config.time_zone.tz())
            .unwrap_or(after + Duration::days(365))
    }
}

/// Adds the rows of the application's jobs that have none (each first due at its schedule's
/// next time); reads only, once they all have theirs.
pub async fn register(state: &AppState) -> anyhow::Result<()> {
    let now = Utc::now();
    let stored = state.store.jobs.list().await?;
    for job in state.scheduled.iter() {
        // The configuration's schedule (`job_schedules`), else the module's.
        let default = state
            .config
            .job_schedules
            .get(job.name)
            .map_or(job.schedule, String::as_str);
        let schedule = Schedule::parse("schedule", default)
            .map_err(|_| anyhow::anyhow!("job {}: bad schedule {default:?}", job.name))?;
        let next = state.next_run(&schedule, now);
        let jobs = &state.store.jobs;
        match stored.iter().find(|s| s.name == job.name) {
            None => jobs.register(job.name, &schedule, next).await?,
            // Until an administrator sets one, the default holds as configured now.
            Some(s) if s.updated_by.is_none() && s.schedule != schedule.as_str() => {
                jobs.set_default_schedule(job.name, &schedule, next).await?;
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Runs `name` now for `started_by` (the jobs page's button, the API, `kehu jobs run`),
/// whether or not it is due, unless a run of it is under way; answers the run. Its schedule
/// goes on as before.
pub async fn run_now(
    state: &AppState,
    name: &str,
    started_by: Option<i64>,
) -> Result<JobRun, RunError> {
    let job = state.scheduled_job(name).ok_or(RunError::Unknown)?;
    register(state)
        .await
        .map_err(|e| RunError::Store(e.into()))?;
    let claim = state
        .store
        .jobs
        .claim(
            name,
            holder(),
            Utc::now(),
            LEASE,
            Trigger::Manual,
            started_by,
        )
        .await?
        .ok_or(RunError::Busy)?;
    // The schedule goes on; a success clears the failures in a row, a failure leaves them.
    let (next, failures) = (claim.job.next_run_at, claim.job.attempt);
    Ok(run_claimed(state, job, claim, |ok| {
        (next, if ok { 0 } else { failures })
    })
    .await?)
}

/// Runs every due job this instance can take, one after another; answers their runs.
pub async fn tick(state: &AppState) -> StoreResult<Vec<JobRun>> {
    let now = Utc::now();
    let mut runs = Vec::new();
    for stored in state.store.jobs.list().await? {
        let Some(job) = state.scheduled_job(&stored.name) else {
            continue;
        };
        if !stored.enabled || stored.next_run_at > now || stored.is_running(now) {
            continue;
        }
        let trigger = if stored.attempt > 0 {
            Trigger::Retry
        } else {
            Trigger::Schedule
        };
        let Some(claim) = state
            .store
            .jobs
            .claim(job.name, holder(), now, LEASE, trigger, None)
            .await?
        else {
            continue;
        };
        let schedule = Schedule::parse("schedule", &claim.job.schedule).ok();
        let attempt = claim.job.attempt + 1;
        let state2 = state.clone();
        let after_run = move |ok: bool| {
            let now = Utc::now();
            let scheduled = schedule
                .as_ref()
                .map_or(now + Duration::days(1), |s| state2.next_run(s, now));
            if ok || attempt > RETRIES {
                (scheduled, 0)
            } else {
                ((now + backoff(attempt)).min(scheduled), attempt)
            }
        };
        runs.push(run_claimed(state, job, claim, after_run).await?);
    }
    Ok(runs)
}

/// Runs a claimed job with its lease renewed meanwhile, then records how it ended; `next`
/// says, from whether it succeeded, when it is due again and its failures in a row.
async fn run_claimed(
    state: &AppState,
    job: ScheduledJob,
    claim: Claim,
    next: impl FnOnce(bool) -> (DateTime<Utc>, i32),
) -> StoreResult<JobRun> {
    let work = tokio::spawn((job.run)(state.clone()));
    let renewing = {
        let (jobs, claim) = (state.store.jobs.clone(), claim.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(RENEW);
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(e) = jobs.renew(&claim, Utc::now() + LEASE).await {
                    tracing::warn!(job = claim.job.name, error = %e, "renewing a job's lease failed");
                }
            }
        })
    };
    let outcome = match work.await {
        Ok(Ok(figures)) => Ok(figures),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(e) => Err(format!("the job stopped: {e}")),
    };
    renewing.abort();
    let (next_run_at, attempt) = next(outcome.is_ok());
    if let Err(e) = &outcome {
        tracing::warn!(job = job.name, error = %e, "a scheduled job failed");
    }
    state
        .store
        .jobs
        .finish(
            &claim,
            outcome.as_ref().map_err(String::as_str),
            next_run_at,
            attempt,
        )
        .await
}

/// The scheduler of one instance: registers the jobs, then runs what is due every
/// `job_tick_secs` until the server stops (never with 0).
pub async fn scheduler(state: AppState) {
    if state.scheduled.is_empty() || state.config.job_tick_secs == 0 {
        return;
    }
    if let Err(e) = register(&state).await {
        tracing::error!(error = %format!("{e:#}"), "the scheduled jobs could not be registered");
        return;
    }
    let mut every = tokio::time::interval(StdDuration::from_secs(state.config.job_tick_secs));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = tick(&state).await {
            tracing::warn!(error = %e, "looking for due jobs failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_job_is_tried_again_after_a_growing_pause() {
        let minutes: Vec<i64> = (1..=4).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(minutes, [1, 4, 16, 64]);
    }
}
