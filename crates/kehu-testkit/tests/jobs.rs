//! The job runner (`kehu_web::jobs`): a job a module schedules runs when asked (API, page) or
//! due, exactly once however many instances ask, its runs recorded with their figures; a
//! failed run is tried again after growing pauses, then waits for its schedule; a lease left
//! by a stopped instance runs out. Each story runs on SQLite and PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests"
)]

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Duration, Utc};
use kehu_store::jobs::Trigger;
use kehu_store::sea_query::{Expr, ExprTrait, Query};
use kehu_testkit::json::{call, problem};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{
    TestApp, TestBackend, spawn_app_with_modules_and, spawn_beside_with_modules_and,
};
use kehu_web::jobs::{LEASE, ScheduledJob, run_now, tick};
use kehu_web::module::BoxFuture;
use kehu_web::{AppState, Config, Module, Modules};
use serde_json::{Value, json};

const PW: &str = "lang-genug-123";

/// How many times `tally` ran in this test's process.
static TALLIES: AtomicI64 = AtomicI64::new(0);

/// Counts its runs, taking a moment (long enough for a second request to meet it running).
fn tally(_: AppState) -> BoxFuture<'static, anyhow::Result<Value>> {
    Box::pin(async {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let n = TALLIES.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(json!({ "counted": n }))
    })
}

fn broken(_: AppState) -> BoxFuture<'static, anyhow::Result<Value>> {
    Box::pin(async { Err(anyhow::anyhow!("the source is unreachable")) })
}

fn modules() -> Modules {
    let mut m = kehu_web::platform::modules();
    m.push(
        Module::new("testjobs")
            .scheduled(ScheduledJob {
                name: "tally",
                label: "nav-jobs",
                schedule: "0 2 * * *",
                run: tally,
            })
            .scheduled(ScheduledJob {
                name: "broken",
                label: "nav-jobs",
                // Far from any test's moment: the pauses are never cut short by it.
                schedule: "0 3 1 1 *",
                run: broken,
            }),
    );
    Modules::new(m).unwrap()
}

/// An application with the test jobs whose own scheduler stays still (the stories drive
/// `tick` themselves), but for `tick_secs`.
async fn spawn(backend: TestBackend, tick_secs: u64) -> TestApp {
    spawn_app_with_modules_and(backend, modules(), |c| c.job_tick_secs = tick_secs).await
}

/// The application's state over the app's store, as a second scheduler would have it.
fn state_of(app: &TestApp) -> AppState {
    AppState::with_modules(app.store.clone(), Config::default(), &modules())
}

/// Makes `job` due a moment ago.
async fn make_due(app: &TestApp, job: &str) {
    app.store
        .db
        .execute(
            Query::update()
                .table("jobs")
                .value("next_run_at", Expr::val(Utc::now() - Duration::seconds(5)))
                .and_where(Expr::col("name").eq(job)),
        )
        .await
        .unwrap();
}

async fn a_job_run_now_is_recorded_with_its_figures_and_shown_to_holders_of_the_right(
    backend: TestBackend,
) {
    let app = spawn(backend, 0).await;
    let admin = app.token_for("admin").await;
    let (status, run) = call(&app, &admin, Method::POST, "/api/v1/jobs/tally", None).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["figures"], json!({"counted": 1}));
    assert!(
        run["finished_at"].is_string() && run["started_by"].is_i64(),
        "{run}"
    );

    let (_, jobs) = call(&app, &admin, Method::GET, "/api/v1/jobs", None).await;
    let names: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["broken", "tally"]);
    let tally_job = &jobs[1];
    assert_eq!(tally_job["last_run"]["id"], run["id"]);
    assert_eq!(tally_job["schedule"], "0 2 * * *");
    assert_eq!(tally_job["running"], false);
    // Every night at 02:00 Beijing time is 18:00 UTC.
    assert!(
        tally_job["next_run_at"]
            .as_str()
            .unwrap()
            .contains("T18:00:00"),
        "{tally_job}"
    );
    assert_eq!(jobs[0]["last_run"], Value::Null);

    let (_, runs) = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/jobs/runs?job=tally",
        None,
    )
    .await;
    assert_eq!(runs["total"], 1);
    let resp = kehu_testkit::bearer(&app, &admin, Method::POST, "/api/v1/jobs/nope", None).await;
    problem(resp, 404, "not_found").await;

    app.create_user("li", "account_manager", PW).await;
    let li = app.token_for("li").await;
    let resp = kehu_testkit::bearer(&app, &li, Method::POST, "/api/v1/jobs/tally", None).await;
    problem(resp, 403, "forbidden").await;
    assert_eq!(
        TALLIES.load(Ordering::SeqCst),
        1,
        "the refused request ran nothing"
    );
}

async fn two_instances_asked_at_once_run_a_job_once(backend: TestBackend) {
    let a = spawn(backend, 0).await;
    let b = spawn_beside_with_modules_and(&a, modules(), |c| c.job_tick_secs = 0).await;
    let token = a.token_for("admin").await;
    let (ra, rb) = tokio::join!(
        kehu_testkit::bearer(&a, &token, Method::POST, "/api/v1/jobs/tally", None),
        kehu_testkit::bearer(&b, &token, Method::POST, "/api/v1/jobs/tally", None),
    );
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    let busy = if ra.status() == 409 { ra } else { rb };
    let p = problem(busy, 409, "not_allowed").await;
    assert_eq!(p["reason"], "err-job-running");
    let (_, runs) = call(&a, &token, Method::GET, "/api/v1/jobs/runs?job=tally", None).await;
    assert_eq!(runs["total"], 1);

    // Due, and both schedulers look at once: one run.
    make_due(&a, "tally").await;
    let (sa, sb) = (state_of(&a), state_of(&b));
    let (ta, tb) = tokio::join!(tick(&sa), tick(&sb));
    assert_eq!(ta.unwrap().len() + tb.unwrap().len(), 1);
    let (_, runs) = call(&a, &token, Method::GET, "/api/v1/jobs/runs?job=tally", None).await;
    assert_eq!(runs["total"], 2);
    assert_eq!(runs["items"][0]["trigger"], "schedule");
    drop(b);
}

async fn a_failed_run_is_tried_again_after_growing_pauses_then_waits_for_its_schedule(
    backend: TestBackend,
) {
    let app = spawn(backend, 0).await;
    let state = state_of(&app);
    kehu_web::jobs::register(&state).await.unwrap();
    let mut pauses = Vec::new();
    for attempt in 1..=4 {
        make_due(&app, "broken").await;
        let runs = tick(&state).await.unwrap();
        assert_eq!(runs.len(), 1, "attempt {attempt}");
        let run = &runs[0];
        assert_eq!((run.status.as_str(), run.attempt), ("failed", attempt));
        assert_eq!(run.trigger, if attempt == 1 { "schedule" } else { "retry" });
        assert!(
            run.error
                .as_deref()
                .unwrap()
                .contains("the source is unreachable")
        );
        let job = app.store.jobs.get("broken").await.unwrap();
        pauses.push(((job.next_run_at - Utc::now()).num_seconds() + 30) / 60);
        assert_eq!(job.attempt, if attempt < 4 { attempt } else { 0 });
        // Not due again at once: the next look runs nothing.
        assert!(tick(&state).await.unwrap().is_empty());
    }
    // 1, 4, 16 minutes; after the fourth failure, its schedule (1 January, 03:00 Beijing
    // time).
    assert_eq!(&pauses[..3], [1, 4, 16]);
    let job = app.store.jobs.get("broken").await.unwrap();
    assert_eq!(
        job.next_run_at.format("%m-%d %H:%M").to_string(),
        "12-31 19:00"
    );
}

async fn a_lease_left_by_a_stopped_instance_runs_out_and_another_takes_the_job(
    backend: TestBackend,
) {
    let app = spawn(backend, 0).await;
    let state = state_of(&app);
    kehu_web::jobs::register(&state).await.unwrap();
    let long_ago = Utc::now() - LEASE * 3;
    // An instance took the job long ago and stopped before it finished.
    let gone = app
        .store
        .jobs
        .claim("tally", "gone:1", long_ago, LEASE, Trigger::Manual, None)
        .await
        .unwrap();
    assert!(gone.is_some());
    // While a lease holds, nobody else takes it.
    let held = app
        .store
        .jobs
        .claim(
            "tally",
            "other:2",
            long_ago + Duration::seconds(1),
            LEASE,
            Trigger::Manual,
            None,
        )
        .await
        .unwrap();
    assert!(held.is_none());

    let run = run_now(&state, "tally", None).await.unwrap();
    assert_eq!(run.status, "succeeded");
    let token = app.token_for("admin").await;
    let (_, runs) = call(
        &app,
        &token,
        Method::GET,
        "/api/v1/jobs/runs?job=tally",
        None,
    )
    .await;
    assert_eq!(runs["total"], 2);
    assert_eq!(runs["items"][1]["status"], "failed");
    assert_eq!(runs["items"][1]["instance"], "gone:1");
    assert_eq!(runs["items"][1]["error"], "the instance running it stopped");
    let (_, failed) = call(
        &app,
        &token,
        Method::GET,
        "/api/v1/jobs/runs?failed=true",
        None,
    )
    .await;
    assert_eq!(failed["total"], 1);
}

async fn a_schedule_is_changed_on_the_page_and_the_api_and_a_bad_one_is_refused_by_field(
    backend: TestBackend,
) {
    let app = spawn(backend, 0).await;
    let admin = app.admin().await;
    let page = admin.get("/jobs").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("id=\"job-tally\"") && html.contains("0 2 * * *"),
        "{html}"
    );

    let resp = admin
        .post_form(
            "/jobs/tally",
            &[("schedule", "every night"), ("enabled", "1")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("f-schedule-error") && html.contains("五段 cron"),
        "{html}"
    );

    let resp = admin
        .post_form("/jobs/tally", &[("schedule", " 30 3 * * * ")])
        .await;
    assert_eq!(resp.status(), 303);
    let token = app.token_for("admin").await;
    let (_, job) = call(&app, &token, Method::GET, "/api/v1/jobs/tally", None).await;
    assert_eq!(job["schedule"], "30 3 * * *");
    assert_eq!(job["enabled"], false, "the box was not ticked");
    assert!(
        job["next_run_at"].as_str().unwrap().contains("T19:30:00"),
        "{job}"
    );
    // Disabled: due or not, the scheduler leaves it.
    make_due(&app, "tally").await;
    assert!(tick(&state_of(&app)).await.unwrap().is_empty());

    let resp = kehu_testkit::bearer(
        &app,
        &token,
        Method::PUT,
        "/api/v1/jobs/tally",
        Some(json!({"schedule": "61 * * * *", "enabled": true})),
    )
    .await;
    let p = problem(resp, 422, "validation_failed").await;
    assert_eq!(kehu_testkit::json::field_names(&p), ["schedule"]);
    let (status, job) = call(
        &app,
        &token,
        Method::PUT,
        "/api/v1/jobs/tally",
        Some(json!({"schedule": "0 2 * * *", "enabled": true})),
    )
    .await;
    assert_eq!((status, &job["enabled"]), (200, &json!(true)));
    let (_, audit) = call(&app, &token, Method::GET, "/api/v1/audit?entity=job", None).await;
    assert_eq!(audit["total"], 2, "{audit}");

    // The page's button runs it and shows the run.
    let resp = admin.post_form("/jobs/tally/run", &[]).await;
    assert_eq!(resp.status(), 303);
    let html = admin.get("/jobs?ran=tally").await.text().await.unwrap();
    assert!(
        html.contains("id=\"ran\"") && html.contains("run-succeeded"),
        "{html}"
    );
}

async fn the_scheduler_of_a_running_instance_runs_a_due_job_by_itself(backend: TestBackend) {
    let app = spawn(backend, 1).await;
    let token = app.token_for("admin").await;
    // Registered at start: listed, not yet run.
    let (_, jobs) = call(&app, &token, Method::GET, "/api/v1/jobs", None).await;
    assert_eq!(jobs[1]["last_run"], Value::Null);
    make_due(&app, "tally").await;
    let mut runs = Value::Null;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        (_, runs) = call(
            &app,
            &token,
            Method::GET,
            "/api/v1/jobs/runs?job=tally",
            None,
        )
        .await;
        if runs["items"][0]["status"] == "succeeded" {
            break;
        }
    }
    assert_eq!(runs["total"], 1, "{runs}");
    assert_eq!(runs["items"][0]["trigger"], "schedule");
    assert_eq!(runs["items"][0]["status"], "succeeded");
    // Next due at its next scheduled time, not again at once.
    let (_, job) = call(&app, &token, Method::GET, "/api/v1/jobs/tally", None).await;
    assert!(
        job["next_run_at"].as_str().unwrap().contains("T18:00:00"),
        "{job}"
    );
}

kehu_testkit::on_both! {
    the_scheduler_of_a_running_instance_runs_a_due_job_by_itself,
    a_job_run_now_is_recorded_with_its_figures_and_shown_to_holders_of_the_right,
    two_instances_asked_at_once_run_a_job_once,
    a_failed_run_is_tried_again_after_growing_pauses_then_waits_for_its_schedule,
    a_lease_left_by_a_stopped_instance_runs_out_and_another_takes_the_job,
    a_schedule_is_changed_on_the_page_and_the_api_and_a_bad_one_is_refused_by_field,
    a_configured_schedule_holds_until_an_administrator_sets_one,
}

/// The application with `tally`'s schedule configured as `schedule`.
async fn configured(backend: TestBackend, schedule: &str) -> TestApp {
    spawn_app_with_modules_and(backend, modules(), |c| {
        c.job_tick_secs = 0;
        c.job_schedules.insert("tally".into(), schedule.into());
    })
    .await
}

async fn a_configured_schedule_holds_until_an_administrator_sets_one(backend: TestBackend) {
    // Arrange: an instance configured to tally at five.
    let app = configured(backend, "0 5 * * *").await;
    let token = app.token_for("admin").await;
    let schedule = async |app: &TestApp| {
        let (_, job) = call(app, &token, Method::GET, "/api/v1/jobs/tally", None).await;
        job["schedule"].as_str().unwrap().to_owned()
    };
    assert_eq!(schedule(&app).await, "0 5 * * *");

    // Act + Assert: another configured at six takes over the configured default; once an
    // administrator sets seven, a configuration at eight changes nothing.
    let six = spawn_beside_with_modules_and(&app, modules(), |c| {
        c.job_tick_secs = 0;
        c.job_schedules.insert("tally".into(), "0 6 * * *".into());
    })
    .await;
    assert_eq!(schedule(&six).await, "0 6 * * *");
    let (s, _) = call(
        &six,
        &token,
        Method::PUT,
        "/api/v1/jobs/tally",
        Some(json!({"schedule": "0 7 * * *", "enabled": true})),
    )
    .await;
    assert_eq!(s, 200);
    let eight = spawn_beside_with_modules_and(&app, modules(), |c| {
        c.job_tick_secs = 0;
        c.job_schedules.insert("tally".into(), "0 8 * * *".into());
    })
    .await;
    assert_eq!(schedule(&eight).await, "0 7 * * *");
    // A schedule that is no cron stops the configuration.
    let mut c = Config::default();
    c.job_schedules.insert("tally".into(), "every night".into());
    let e = c.validate().unwrap_err();
    assert!(e.to_string().contains("job_schedules"), "{e}");
}
