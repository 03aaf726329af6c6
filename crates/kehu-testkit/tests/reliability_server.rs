//! Reliability under faults, through the library and the real server: instances starting
//! together on one fresh database, connections that never finish a request, the connection
//! limit, and what a failing request writes to the log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::time::{Duration, Instant};

use kehu_store::{Db, Store};
use kehu_testkit::{TestBackend, fresh_database, postgres_url, reqwest, spawn_app_with};
use kehu_web::setup::{AdminBootstrap, bootstrap_admin};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What a starting `kehu serve` does before it listens: migrate, seed, create the administrator.
async fn start(url: String) -> AdminBootstrap {
    let store = Store::open(&url).await.expect("opening the database");
    let outcome = bootstrap_admin(&store, Some("admin-pass-123"))
        .await
        .expect("bootstrapping the administrator");
    store.db.close().await;
    outcome
}

async fn two_instances_start_together(backend: TestBackend) {
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database(backend, dir.path()).await;
        let (a, b) = tokio::join!(
            tokio::spawn(start(url.clone())),
            tokio::spawn(start(url.clone()))
        );
        let outcomes = [a.unwrap(), b.unwrap()];
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.users.count().await.unwrap(), 1, "round {round}");
        let created = outcomes
            .iter()
            .filter(|o| **o == AdminBootstrap::Configured)
            .count();
        assert_eq!(created, 1, "round {round}: {outcomes:?}");
        assert_eq!(
            store.roles.list().await.unwrap().len(),
            4,
            "round {round}: the built-in roles are seeded once"
        );
        assert_eq!(
            store.dictionary.count().await.unwrap(),
            kehu_domain::dictionary::seed().count() as i64,
            "round {round}: the dictionary is seeded once"
        );
        store.db.close().await;
        if let Some(schema) = url.split("options[search_path]=").nth(1) {
            let db = Db::connect(&postgres_url()).await.unwrap();
            db.execute_raw(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .unwrap();
            db.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_starting_together_on_a_fresh_postgresql_database_create_one_administrator() {
    two_instances_start_together(TestBackend::Postgres).await;
}

/// Reads until the server closes the connection; the time it took, or `None` after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn connections_that_send_nothing_or_dribble_a_header_are_closed_after_the_header_timeout() {
    let app = spawn_app_with(TestBackend::Sqlite, |c| {
        c.header_read_timeout_secs = 1;
        c.idle_timeout_secs = 30;
    })
    .await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let closed = closed_within(&mut silent, Duration::from_secs(5)).await;
    assert!(
        closed.is_some_and(|t| t >= Duration::from_millis(900)),
        "a silent connection stayed open: {closed:?}"
    );

    // One byte every 200 ms is progress, but the whole header is late: closed all the same.
    let mut dribble = TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\n" {
        if dribble.write_all(&[*b]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        if started.elapsed() > Duration::from_secs(5) {
            break;
        }
    }
    let closed = closed_within(&mut dribble, Duration::from_secs(1)).await;
    assert!(
        started.elapsed() < Duration::from_secs(4) && closed.is_some(),
        "a dribbled header kept the connection open for {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_when_no_next_request_comes() {
    let app = spawn_app_with(TestBackend::Sqlite, |c| c.header_read_timeout_secs = 1).await;
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let closed = closed_within(&mut conn, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the kept-alive connection stayed open");
}

#[tokio::test]
async fn a_request_whose_body_stalls_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(TestBackend::Sqlite, |c| {
        c.header_read_timeout_secs = 30;
        c.idle_timeout_secs = 1;
    })
    .await;
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=",
    )
    .await
    .unwrap();
    let closed = closed_within(&mut conn, Duration::from_secs(5)).await;
    assert!(
        closed.is_some_and(|t| t >= Duration::from_millis(900)),
        "a stalled upload held its connection: {closed:?}"
    );
}

#[tokio::test]
async fn idle_connections_beyond_the_limit_do_not_stop_healthz_once_they_time_out() {
    let app = spawn_app_with(TestBackend::Sqlite, |c| {
        c.header_read_timeout_secs = 1;
        c.max_connections = 2;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..5 {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    let started = Instant::now();
    let health = reqwest::Client::new()
        .get(app.url("/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("/healthz did not answer behind the idle connections");
    assert_eq!(health.status(), 200);
    // Five idle connections ahead of it, two at a time, one second each.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the limit was not applied: answered after {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_starting_together_on_a_fresh_sqlite_file_create_one_administrator() {
    two_instances_start_together(TestBackend::Sqlite).await;
}
