//! The demo's services (`kehu demo --services N`) on SQLite and PostgreSQL: every stage is
//! there, archived complaints carry all their steps (a reopened one its second round), each
//! service is its taker's and its handler's only, and every change is in the audit log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use chrono::FixedOffset;
use kehu_customers::store::CustomerStore;
use kehu_domain::policy::OwnerFilter;
use kehu_service::demo::{self, Staff};
use kehu_service::domain::Status;
use kehu_service::store::{ServiceFilter, ServiceStore};
use kehu_store::audit::AuditFilter;
use kehu_store::page::ListRequest;
use kehu_testkit::TestBackend;

mod common;
use common::{app, on_both};

const PW: &str = "lang-genug-123";

async fn a_small_demo_has_every_stage_and_complete_complaints(b: TestBackend) {
    let app = app(b).await;
    let offset = FixedOffset::east_opt(8 * 3600).unwrap();
    let supervisor = app.create_user("zhangwei", "sales_supervisor", PW).await;
    let li = app.create_user("lina", "account_manager", PW).await;
    let wang = app.create_user("wangfang", "account_manager", PW).await;
    let customers = CustomerStore::new(app.store.db.clone(), offset);
    kehu_customers::demo::load(&customers, &[li, wang], 7, 0, 20, |_| {})
        .await
        .unwrap();
    let store = ServiceStore::new(app.store.db.clone(), offset);
    let staff = Staff {
        supervisor,
        managers: vec![li, wang],
    };

    let n = 60;
    let loaded = demo::load(
        &store,
        &customers,
        &app.store.users,
        &staff,
        2026,
        n,
        |_| {},
    )
    .await
    .unwrap();

    assert_eq!(loaded.services, n);
    assert!(loaded.by_status.iter().all(|&k| k > 0), "{loaded:?}");
    assert!(loaded.complaints > 0 && loaded.reopened > 0, "{loaded:?}");
    let all = store
        .list(
            OwnerFilter::system(),
            &ServiceFilter::default(),
            ListRequest::first(200),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(all.len() as u64, n);
    for (status, want) in Status::ALL.iter().zip(loaded.by_status) {
        let got = all.iter().filter(|s| s.status() == *status).count() as u64;
        assert_eq!(got, want, "{status:?}");
    }
    for s in &all {
        // Taken by the customer's own manager; handled by one of the managers.
        assert!([li, wang].contains(&s.owner_id), "{s:?}");
        assert_eq!(s.status() == Status::New, s.assignee_id.is_none(), "{s:?}");
        let steps = store.steps(OwnerFilter::system(), s.id).await.unwrap();
        if s.is_complaint() && s.status() != Status::New && s.status() != Status::Assigned {
            let names: Vec<&str> = steps.iter().map(|x| x.step.as_str()).collect();
            assert_eq!(
                &names[..7],
                [
                    "validity",
                    "department",
                    "cause",
                    "resolution",
                    "approval",
                    "execution",
                    "summary"
                ],
                "{s:?}"
            );
            if names.contains(&"reopened") {
                assert_eq!(
                    names.len(),
                    12,
                    "a second round from the resolution: {names:?}"
                );
            }
            assert!(steps.iter().all(|x| x.created_by.is_some()));
        } else if !s.is_complaint() {
            assert!(steps.is_empty());
        }
        assert_eq!(
            s.status() == Status::Archived,
            s.satisfaction.is_some_and(|n| n >= 3)
        );
    }
    // A manager sees what they took and what they handle, nothing else.
    let li_p = app.store.users.principal(li).await.unwrap().unwrap();
    let mine = store
        .list(
            li_p.owner_filter(),
            &ServiceFilter::default(),
            ListRequest::first(200),
        )
        .await
        .unwrap()
        .items;
    assert!(
        mine.iter()
            .all(|s| s.owner_id == li || s.assignee_id == Some(li)),
        "{mine:?}"
    );
    assert!(mine.len() < all.len());
    // Every service's creation is audited.
    let audit = app
        .store
        .audit
        .list(
            &AuditFilter {
                entity: Some("service".into()),
                action: Some("create".into()),
                ..AuditFilter::default()
            },
            ListRequest::first(200),
        )
        .await
        .unwrap();
    assert_eq!(audit.items.len() as u64, n);
}

on_both!(a_small_demo_has_every_stage_and_complete_complaints);
