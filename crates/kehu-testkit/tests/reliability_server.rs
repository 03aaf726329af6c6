//! Reliability under faults, through the library and the real server: instances starting
//! together on one fresh database, connections that never finish a request, the connection
//! limit, and what a failing request writes to the log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_store::{Db, Store};
use kehu_testkit::{TestBackend, fresh_database, postgres_url};
use kehu_web::setup::{AdminBootstrap, bootstrap_admin};

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
