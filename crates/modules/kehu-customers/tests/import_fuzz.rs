//! Property tests through the whole customer import (reader, mapping, parsing, duplicates,
//! batches, rejects file): whatever the bytes, it never panics, and with a good header every
//! row of a ragged CSV is accounted for as imported, skipped or rejected.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use chrono::FixedOffset;
use kehu_customers::import::{Context, Kind, import_file};
use kehu_customers::store::CustomerStore;
use kehu_domain::policy::OwnerFilter;
use kehu_store::audit::Actor;
use kehu_testkit::TestBackend;
use kehu_web::import::{ImportOptions, OnDuplicate};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[allow(
    unused_macros,
    unused_imports,
    reason = "the fuzz runs on SQLite alone"
)]
mod common;

fn run_cases(strategy: impl Strategy<Value = Vec<u8>>, check_counts: bool) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(common::app(TestBackend::Sqlite));
    let owner = rt.block_on(app.create_user("boss", "admin", "lang-genug-123"));
    let store = CustomerStore::new(
        app.store.db.clone(),
        FixedOffset::east_opt(8 * 3600).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |bytes| {
            let path = dir.path().join("fuzz.csv");
            std::fs::write(&path, &bytes).unwrap();
            let options = ImportOptions {
                on_duplicate: OnDuplicate::Update,
                batch_rows: 7,
                ..ImportOptions::default()
            };
            let result = rt.block_on(async {
                let cx = Context::load(&store, OwnerFilter::system(), Actor::system(), owner)
                    .await
                    .unwrap();
                import_file(&store, Kind::Customers, cx, &path, &options, |_| {}).await
            });
            if check_counts {
                let summary = result.map_err(|e| TestCaseError::fail(e.to_string()))?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let lines = text.lines().skip(1).filter(|l| !l.trim().is_empty());
                // Quoted line ends join lines into one row: never more rows than lines.
                prop_assert!(summary.counts.rows() <= lines.count() as u64);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_bytes_through_the_import_never_panic() {
    run_cases(proptest::collection::vec(any::<u8>(), 0..1500), false);
}

/// Rows of 0–5 cells drawn from names, phones, regions, quotes, formulas and separators.
fn ragged_csv() -> impl Strategy<Value = Vec<u8>> {
    let cell = prop_oneof![
        Just(String::new()),
        "[a-z甲乙丙]{1,6}".prop_map(|s| s),
        Just("广东省".to_owned()),
        Just("13800138000".to_owned()),
        Just("=1+1".to_owned()),
        Just("\"".to_owned()),
        Just("\"a,b\"".to_owned()),
        Just("x\r\ny".to_owned()),
        Just("火星".to_owned()),
    ];
    let row = proptest::collection::vec(cell, 0..6).prop_map(|cells| cells.join(","));
    proptest::collection::vec(row, 0..25).prop_map(|rows| {
        let mut text = String::from("客户名称,地区,手机\n");
        for r in rows {
            text.push_str(&r);
            text.push('\n');
        }
        text.into_bytes()
    })
}

#[test]
fn ragged_csv_through_the_import_never_panics_and_accounts_for_rows() {
    run_cases(ragged_csv(), true);
}
