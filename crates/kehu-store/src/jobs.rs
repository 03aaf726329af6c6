//! Scheduled jobs (the loss scan, later reports and de-duplication): a row a job with its
//! schedule, when it runs next and the lease of the instance running it, and a row a run.
//!
//! Exactly one instance runs a job at a time, on either database: an instance takes the
//! job with one conditional `UPDATE` (due, and nobody's lease in force) and holds the lease
//! while it runs, renewing it; an instance that dies lets the lease run out and another takes
//! the job. What the job does and when it is due next is the runner's (`kehu_web::jobs`).

use chrono::{DateTime, Duration, Utc};
use kehu_domain::schedule::Schedule;
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use serde_json::Value;

use crate::audit::{self, Action, Actor};
use crate::db::Db;
use crate::error::{StoreError, StoreResult};
use crate::page::{Page, PageRequest};
use crate::schema::{JobRuns, Jobs};

/// A job as stored: its schedule and its state.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Job {
    pub name: String,
    /// A five-field cron pattern, in the configured time zone.
    pub schedule: String,
    pub enabled: bool,
    pub next_run_at: DateTime<Utc>,
    /// Failed attempts in a row: 0 after a success.
    pub attempt: i32,
    /// The instance running it now, while its lease holds.
    pub lease_holder: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Who set its schedule last; none: nobody (the module's or the configuration's).
    pub updated_by: Option<i64>,
}

impl Job {
    /// Somebody runs it now (their lease holds at `now`).
    pub fn is_running(&self, now: DateTime<Utc>) -> bool {
        self.lease_until.is_some_and(|t| t > now)
    }
}

/// How a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Its time came.
    Schedule,
    /// An earlier attempt failed; this is a later one, after a pause.
    Retry,
    /// Somebody asked for it (the admin page's button, the API, `kehu jobs run`).
    Manual,
}

impl Trigger {
    pub fn code(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Retry => "retry",
            Trigger::Manual => "manual",
        }
    }
}

/// One run of a job.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobRun {
    pub id: i64,
    pub job: String,
    /// `schedule`, `retry` or `manual`.
    pub trigger: String,
    /// The instance that ran it (host and process).
    pub holder: String,
    /// 1 for the first attempt, more for retries after failures.
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `succeeded` or `failed` (a run whose instance stopped stays `running` until
    /// the job runs again, when it is marked `failed`).
    pub status: String,
    /// What the run counted, as JSON (see [`JobRun::figures`]).
    pub figures: Option<String>,
    pub error: Option<String>,
    /// Who asked for a manual run.
    pub started_by: Option<i64>,
}

impl JobRun {
    /// What the run counted, e.g. `{"scanned": 1000, "warned": 12, "closed": 3}`; `null`
    /// until it succeeds.
    pub fn figures(&self) -> Value {
        self.figures
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or(Value::Null)
    }

    /// How long it took, once it ended.
    pub fn seconds(&self) -> Option<f64> {
        let took = self.finished_at? - self.started_at;
        Some(took.num_milliseconds() as f64 / 1000.0)
    }
}

/// Which runs a list shows.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub job: Option<String>,
    /// Only failed runs.
    pub failed: bool,
}

/// A job taken by one instance: run it, then [`JobStore::finish`].
#[derive(Debug, Clone)]
pub struct Claim {
    pub job: Job,
    pub run_id: i64,
    pub holder: String,
}

#[derive(Debug, Clone)]
pub struct JobStore {
    db: Db,
}

fn select_jobs() -> SelectStatement {
    Query::select()
        .columns([
            Jobs::Name,
            Jobs::Schedule,
            Jobs::Enabled,
            Jobs::NextRunAt,
            Jobs::Attempt,
            Jobs::LeaseHolder,
            Jobs::LeaseUntil,
            Jobs::UpdatedAt,
            Jobs::UpdatedBy,
        ])
        .from(Jobs::Table)
        .to_owned()
}

fn select_job(name: &str) -> SelectStatement {
    select_jobs()
        .and_where(Expr::col(Jobs::Name).eq(name))
        .to_owned()
}

fn select_runs() -> SelectStatement {
    Query::select()
        .columns([
            JobRuns::Id,
            JobRuns::Job,
            JobRuns::Trigger,
            JobRuns::Holder,
            JobRuns::Attempt,
            JobRuns::StartedAt,
            JobRuns::FinishedAt,
            JobRuns::Status,
            JobRuns::Figures,
            JobRuns::Error,
            JobRuns::StartedBy,
        ])
        .from(JobRuns::Table)
        .to_owned()
}

impl JobStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Makes sure `name` has its row: a job the application brings is added with its default
    /// `schedule`, first due at `next_run_at`; a job already there keeps what it has (an
    /// administrator may have changed its schedule).
    pub async fn register(
        &self,
        name: &str,
        schedule: &Schedule,
        next_run_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = Utc::now();
        self.db
            .execute(
                Query::insert()
                    .into_table(Jobs::Table)
                    .columns([
                        Jobs::Name,
                        Jobs::Schedule,
                        Jobs::Enabled,
                        Jobs::NextRunAt,
                        Jobs::Attempt,
                        Jobs::UpdatedAt,
                    ])
                    .values_panic([
                        name.into(),
                        schedule.as_str().into(),
                        true.into(),
                        Expr::val(next_run_at),
                        0.into(),
                        Expr::val(now),
                    ])
                    .on_conflict(OnConflict::column(Jobs::Name).do_nothing().to_owned()),
            )
            .await?;
        Ok(())
    }

    /// Gives job `name` the default `schedule` (next due at `next_run_at`) if nobody has set
    /// its schedule: the configuration's changed since it was registered.
    pub async fn set_default_schedule(
        &self,
        name: &str,
        schedule: &Schedule,
        next_run_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let q = Query::update()
            .table(Jobs::Table)
            .value(Jobs::Schedule, schedule.as_str())
            .value(Jobs::NextRunAt, Expr::val(next_run_at))
            .and_where(Expr::col(Jobs::Name).eq(name))
            .and_where(Expr::col(Jobs::UpdatedBy).is_null())
            .and_where(Expr::col(Jobs::Schedule).ne(schedule.as_str()))
            .to_owned();
        self.db.execute(&q).await?;
        Ok(())
    }

    pub async fn list(&self) -> StoreResult<Vec<Job>> {
        let q = select_jobs().order_by(Jobs::Name, Order::Asc).to_owned();
        Ok(self.db.fetch_all(&q).await?)
    }

    pub async fn get(&self, name: &str) -> StoreResult<Job> {
        self.db
            .fetch_optional(&select_job(name))
            .await?
            .ok_or(StoreError::Domain(kehu_domain::DomainError::NotFound))
    }

    /// Takes `name` for `holder` until `now + lease` when nobody's lease holds and, unless
    /// `manual`, it is enabled and due; records the run as started. `None`: not due, or
    /// another instance has it. The one conditional `UPDATE` decides between instances.
    pub async fn claim(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
        trigger: Trigger,
        started_by: Option<i64>,
    ) -> StoreResult<Option<Claim>> {
        self.db
            .write(async |tx| {
                let mut take = Query::update()
                    .table(Jobs::Table)
                    .value(Jobs::LeaseHolder, holder)
                    .value(Jobs::LeaseUntil, Expr::val(now + lease))
                    .and_where(Expr::col(Jobs::Name).eq(name))
                    .cond_where(
                        Expr::col(Jobs::LeaseUntil)
                            .is_null()
                            .or(Expr::col(Jobs::LeaseUntil).lte(Expr::val(now))),
                    )
                    .to_owned();
                if trigger != Trigger::Manual {
                    take.and_where(Expr::col(Jobs::Enabled).eq(true))
                        .and_where(Expr::col(Jobs::NextRunAt).lte(Expr::val(now)));
                }
                if tx.execute(&take).await? == 0 {
                    return Ok(None);
                }
                let job: Job = tx.fetch_one(&select_job(name)).await?;
                // A run left `running` by an instance that stopped: it ended without a word.
                tx.execute(
                    Query::update()
                        .table(JobRuns::Table)
                        .value(JobRuns::Status, "failed")
                        .value(JobRuns::FinishedAt, Expr::val(now))
                        .value(JobRuns::Error, "the instance running it stopped")
                        .and_where(Expr::col(JobRuns::Job).eq(name))
                        .and_where(Expr::col(JobRuns::Status).eq("running")),
                )
                .await?;
                let attempt = if trigger == Trigger::Manual {
                    1
                } else {
                    job.attempt + 1
                };
                let (run_id,): (i64,) = tx
                    .fetch_one(
                        Query::insert()
                            .into_table(JobRuns::Table)
                            .columns([
                                JobRuns::Job,
                                JobRuns::Trigger,
                                JobRuns::Holder,
                                JobRuns::Attempt,
                                JobRuns::StartedAt,
                                JobRuns::Status,
                                JobRuns::StartedBy,
                            ])
                            .values_panic([
                                name.into(),
                                trigger.code().into(),
                                holder.into(),
                                attempt.into(),
                                Expr::val(now),
                                "running".into(),
                                started_by.into(),
                            ])
                            .returning_col(JobRuns::Id),
                    )
                    .await?;
                Ok(Some(Claim {
                    job,
                    run_id,
                    holder: holder.to_owned(),
                }))
            })
            .await
    }

    /// Holds `claim`'s lease until `until`; false when it was lost (it ran out and another
    /// instance took the job).
    pub async fn renew(&self, claim: &Claim, until: DateTime<Utc>) -> StoreResult<bool> {
        let n = self
            .db
            .execute(
                Query::update()
                    .table(Jobs::Table)
                    .value(Jobs::LeaseUntil, Expr::val(until))
                    .and_where(Expr::col(Jobs::Name).eq(claim.job.name.as_str()))
                    .and_where(Expr::col(Jobs::LeaseHolder).eq(claim.holder.as_str())),
            )
            .await?;
        Ok(n == 1)
    }

    /// Ends `claim`'s run: its outcome (figures, or the error), the job's next run and its
    /// failures in a row (`attempt`), and the lease given back. Answers the run.
    pub async fn finish(
        &self,
        claim: &Claim,
        outcome: Result<&Value, &str>,
        next_run_at: DateTime<Utc>,
        attempt: i32,
    ) -> StoreResult<JobRun> {
        let now = Utc::now();
        let name = claim.job.name.as_str();
        self.db
            .write(async |tx| {
                let (status, figures, error) = match outcome {
                    Ok(f) => ("succeeded", Some(f.to_string()), None),
                    Err(e) => ("failed", None, Some(e.to_owned())),
                };
                tx.execute(
                    Query::update()
                        .table(JobRuns::Table)
                        .value(JobRuns::Status, status)
                        .value(JobRuns::FinishedAt, Expr::val(now))
                        .value(JobRuns::Figures, figures)
                        .value(JobRuns::Error, error)
                        .and_where(Expr::col(JobRuns::Id).eq(claim.run_id)),
                )
                .await?;
                tx.execute(
                    Query::update()
                        .table(Jobs::Table)
                        .value(Jobs::NextRunAt, Expr::val(next_run_at))
                        .value(Jobs::Attempt, attempt)
                        .value(Jobs::LeaseHolder, Option::<String>::None)
                        .value(Jobs::LeaseUntil, Option::<DateTime<Utc>>::None)
                        .and_where(Expr::col(Jobs::Name).eq(name))
                        .and_where(Expr::col(Jobs::LeaseHolder).eq(claim.holder.as_str())),
                )
                .await?;
                let run: JobRun = tx
                    .fetch_one(
                        &select_runs()
                            .and_where(Expr::col(JobRuns::Id).eq(claim.run_id))
                            .to_owned(),
                    )
                    .await?;
                Ok(run)
            })
            .await
    }

    /// Changes a job's schedule and whether it runs by itself, with when it is next due;
    /// audited.
    pub async fn configure(
        &self,
        name: &str,
        schedule: &Schedule,
        enabled: bool,
        next_run_at: DateTime<Utc>,
        actor: &Actor,
    ) -> StoreResult<Job> {
        let before = self.get(name).await?;
        let now = Utc::now();
        self.db
            .write(async |tx| {
                tx.execute(
                    Query::update()
                        .table(Jobs::Table)
                        .value(Jobs::Schedule, schedule.as_str())
                        .value(Jobs::Enabled, enabled)
                        .value(Jobs::NextRunAt, Expr::val(next_run_at))
                        .value(Jobs::UpdatedAt, Expr::val(now))
                        .value(Jobs::UpdatedBy, actor.user_id)
                        .and_where(Expr::col(Jobs::Name).eq(name)),
                )
                .await?;
                let after: Job = tx.fetch_one(&select_job(name)).await?;
                let shown =
                    |j: &Job| serde_json::json!({"schedule": j.schedule, "enabled": j.enabled});
                audit::record(
                    tx,
                    actor,
                    Action::Update,
                    "job",
                    name,
                    Some(&shown(&before)),
                    Some(&shown(&after)),
                )
                .await?;
                Ok(after)
            })
            .await
    }

    /// Runs newest first.
    pub async fn runs(&self, filter: &RunFilter, page: PageRequest) -> StoreResult<Page<JobRun>> {
        let mut q = select_runs();
        let mut count = Query::select()
            .expr(Expr::col(JobRuns::Id).count())
            .from(JobRuns::Table)
            .to_owned();
        for s in [&mut q, &mut count] {
            if let Some(job) = &filter.job {
                s.and_where(Expr::col(JobRuns::Job).eq(job.as_str()));
            }
            if filter.failed {
                s.and_where(Expr::col(JobRuns::Status).eq("failed"));
            }
        }
        q.order_by(JobRuns::StartedAt, Order::Desc)
            .order_by(JobRuns::Id, Order::Desc)
            .limit(page.per_page)
            .offset(page.offset());
        let items: Vec<JobRun> = self.db.fetch_all(&q).await?;
        let (total,): (i64,) = self.db.fetch_one(&count).await?;
        Ok(Page::new(items, total, page))
    }

    /// The last run of every job, by job name.
    pub async fn last_runs(&self) -> StoreResult<Vec<JobRun>> {
        let newest = Query::select()
            .expr(Expr::col(JobRuns::Id).max())
            .from(JobRuns::Table)
            .group_by_col(JobRuns::Job)
            .to_owned();
        let q = select_runs()
            .and_where(Expr::col(JobRuns::Id).in_subquery(newest))
            .order_by(JobRuns::Job, Order::Asc)
            .to_owned();
        Ok(self.db.fetch_all(&q).await?)
    }
}
