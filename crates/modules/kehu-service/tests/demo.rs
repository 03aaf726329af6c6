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
use kehu_service::store::{ServiceFilter, ServiceSort, ServiceStore};
use kehu_store::PageRequest;
use kehu_store::audit::AuditFilter;
use kehu_store::page::{Count, Dir, ListRequest, Sort};
use kehu_store::statement::Raw;
use kehu_testkit::{TestApp, TestBackend};

mod common;
use common::{app, on_both};

const PW: &str = "lang-genug-123";

/// The demo's people and customers: a supervisor and the account managers `managers`, with
/// `customers` customers between them; the stores over them, and who works the services.
async fn company(
    b: TestBackend,
    managers: &[&str],
    customers: u64,
) -> (TestApp, CustomerStore, ServiceStore, Staff) {
    let app = app(b).await;
    let offset = FixedOffset::east_opt(8 * 3600).unwrap();
    let supervisor = app.create_user("zhangwei", "sales_supervisor", PW).await;
    let mut ids = Vec::new();
    for m in managers {
        ids.push(app.create_user(m, "account_manager", PW).await);
    }
    let book = CustomerStore::new(app.store.db.clone(), offset);
    kehu_customers::demo::load(&book, &ids, 7, 0, customers, |_| {})
        .await
        .unwrap();
    let store = ServiceStore::new(app.store.db.clone(), offset);
    let staff = Staff {
        supervisor,
        managers: ids,
    };
    (app, book, store, staff)
}

async fn a_small_demo_has_every_stage_and_complete_complaints(b: TestBackend) {
    let (app, customers, store, staff) = company(b, &["lina", "wangfang"], 20).await;
    let (li, wang) = (staff.managers[0], staff.managers[1]);

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

/// One number of `sql` (a count).
async fn count(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = app
        .store
        .db
        .fetch_one(&Raw(sql.into()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    n
}

async fn a_large_demo_writes_two_years_of_services_before_the_played_ones(b: TestBackend) {
    let (app, customers, store, staff) = company(b, &["lina", "wangfang"], 30).await;
    let written = 6_000;
    let n = demo::PLAYED + written;
    let mut heard = Vec::new();
    let loaded = demo::load(&store, &customers, &app.store.users, &staff, 2026, n, |k| {
        heard.push(k)
    })
    .await
    .unwrap();
    assert_eq!(loaded.services, n);
    assert_eq!(heard.last(), Some(&n));
    assert!(heard.windows(2).all(|w| w[0] < w[1]), "progress only grows");

    // Every status as counted, every number once.
    for (status, want) in Status::ALL.iter().zip(loaded.by_status) {
        let got = count(
            &app,
            &format!(
                "SELECT count(*) FROM services WHERE status = '{}'",
                status.code()
            ),
        )
        .await;
        assert_eq!(got as u64, want, "{status:?}");
    }
    assert_eq!(
        count(&app, "SELECT count(DISTINCT number) FROM services").await as u64,
        n
    );
    // Oldest first, as a real table grows: a later id is never taken earlier.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM services a JOIN services b ON b.id = a.id + 1 \
             WHERE b.created_at < a.created_at"
        )
        .await,
        0
    );
    // The old ones are archived but for a few: fewer than one in ten of all is open.
    let open = loaded.by_status[0] + loaded.by_status[1];
    assert!(open > 0 && open * 10 < n, "{loaded:?}");
    // Each one's times follow its workflow; an archived one was satisfied.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM services WHERE status <> 'new' AND NOT \
             (assignee_id IS NOT NULL AND assigned_at >= created_at)"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM services WHERE status IN ('handled', 'archived') AND NOT \
             (handled_at >= assigned_at AND handled_by = assignee_id AND handling IS NOT NULL \
              AND responded_at <= handled_at)"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM services WHERE status = 'archived' AND NOT \
             (satisfaction >= 3 AND archived_at >= handled_at AND result IS NOT NULL)"
        )
        .await,
        0
    );
    // Handled complaints carry all their steps, in order, within their handling.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM services s WHERE service_type = 'complaint' \
             AND status IN ('handled', 'archived') AND (SELECT count(*) FROM service_steps t \
             WHERE t.service_id = s.id AND t.created_at >= s.assigned_at \
             AND t.created_at <= s.handled_at) < 7"
        )
        .await,
        0
    );
    // Some are overdue, as in any real book; the targets came from the service levels.
    assert!(
        count(
            &app,
            "SELECT count(*) FROM services WHERE resolve_due_at IS NULL"
        )
        .await
            == 0
    );
    let overdue = store
        .list(
            OwnerFilter::system(),
            &ServiceFilter {
                overdue: Some(true),
                ..ServiceFilter::default()
            },
            ListRequest::first(20),
        )
        .await
        .unwrap();
    assert_eq!(overdue.items.len(), 20);
    // Every service and step audited; every service in its customer's history.
    let steps = count(&app, "SELECT count(*) FROM service_steps").await;
    assert!(steps as u64 >= loaded.steps && loaded.steps > 0);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE entity = 'service_step' AND action = 'create'"
        )
        .await,
        steps
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE entity = 'service' AND action = 'create'"
        )
        .await as u64,
        n
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM customer_records WHERE entity = 'service'"
        )
        .await as u64,
        n
    );

    // A second run adds more: its numbers follow the days' counters.
    demo::load(
        &store,
        &customers,
        &app.store.users,
        &staff,
        2027,
        demo::PLAYED + 500,
        |_| {},
    )
    .await
    .unwrap();
    let total = n + demo::PLAYED + 500;
    assert_eq!(
        count(&app, "SELECT count(DISTINCT number) FROM services").await as u64,
        total
    );
}

on_both!(a_large_demo_writes_two_years_of_services_before_the_played_ones);

/// Every page of `filter` under `sort` in `scope`, `per` at a time, by cursor: the ids, and
/// the first page's count.
async fn walk(
    store: &ServiceStore,
    scope: OwnerFilter,
    filter: &ServiceFilter,
    sort: Sort<ServiceSort>,
    per: u64,
) -> (Vec<i64>, Count) {
    let mut ids = Vec::new();
    let mut cursor = None;
    let mut first_count = None;
    loop {
        let req = ListRequest::new(sort, cursor, PageRequest::new(None, Some(per)));
        let page = store.list(scope, filter, req).await.unwrap();
        first_count.get_or_insert(page.count);
        ids.extend(page.items.iter().map(|s| s.id));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    (ids, first_count.unwrap())
}

/// An account manager's list is read in two arms (the services they took, the ones they
/// handle): every sort, direction and filter gives, page after page, exactly the supervisor's
/// list of the services either names them in, in the same order, with the same count; and an
/// offset page is the same slice of it.
async fn a_managers_pages_are_the_services_they_took_or_handle(b: TestBackend) {
    let (app, customers, store, staff) = company(b, &["lina", "wangfang", "zhaolei"], 30).await;
    let li = staff.managers[0];
    // Suggestions without service levels: their due time is NULL, which sorts first.
    app.store
        .db
        .execute_raw("DELETE FROM service_sla WHERE service_type = 'suggestion'")
        .await
        .unwrap();
    demo::load(
        &store,
        &customers,
        &app.store.users,
        &staff,
        11,
        demo::PLAYED + 400,
        |_| {},
    )
    .await
    .unwrap();
    let li_p = app.store.users.principal(li).await.unwrap().unwrap();
    // A customer of another manager's that lina handles a service of.
    let other_customer = store
        .list(
            OwnerFilter::system(),
            &ServiceFilter {
                assignee_id: Some(li),
                ..ServiceFilter::default()
            },
            ListRequest::first(200),
        )
        .await
        .unwrap()
        .items
        .iter()
        .find(|s| s.owner_id != li)
        .map(|s| s.customer_id)
        .expect("lina handles another manager's service");
    let all_rows = |sort, filter: ServiceFilter| {
        let store = &store;
        async move {
            let mut ids = Vec::new();
            let mut cursor = None;
            loop {
                let req = ListRequest::new(sort, cursor, PageRequest::new(None, Some(200)));
                let page = store
                    .list(OwnerFilter::system(), &filter, req)
                    .await
                    .unwrap();
                ids.extend(
                    page.items
                        .iter()
                        .filter(|s| s.owner_id == li || s.assignee_id == Some(li))
                        .map(|s| s.id),
                );
                match page.next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            ids
        }
    };
    let filters = [
        ServiceFilter::default(),
        ServiceFilter {
            status: Some(Status::Archived),
            ..ServiceFilter::default()
        },
        ServiceFilter {
            service_type: Some("suggestion".into()),
            ..ServiceFilter::default()
        },
        ServiceFilter {
            assignee_id: Some(li),
            ..ServiceFilter::default()
        },
        // Filters read through their own index, the person checked on each.
        ServiceFilter {
            status: Some(Status::Handled),
            ..ServiceFilter::default()
        },
        ServiceFilter {
            assignee_id: Some(staff.managers[1]),
            ..ServiceFilter::default()
        },
        ServiceFilter {
            customer_id: Some(other_customer),
            ..ServiceFilter::default()
        },
    ];
    let mut nulls = 0;
    for key in [ServiceSort::Created, ServiceSort::Due] {
        for dir in [Dir::Asc, Dir::Desc] {
            let sort = Sort::new(key, dir);
            for f in &filters {
                let want = all_rows(sort, f.clone()).await;
                assert!(!want.is_empty(), "{sort:?} {f:?}");
                let (got, count) = walk(&store, li_p.owner_filter(), f, sort, 7).await;
                assert_eq!(got, want, "{sort:?} {f:?}");
                assert!(count.exact, "{count:?}");
                assert_eq!(count.value, want.len() as u64, "{sort:?} {f:?}");
                // Offset page 3 of 7.
                let req = ListRequest::new(sort, None, PageRequest::new(Some(3), Some(7)));
                let page = store.list(li_p.owner_filter(), f, req).await.unwrap();
                let ids: Vec<i64> = page.items.iter().map(|s| s.id).collect();
                let end = want.len().min(21);
                assert_eq!(ids, want[end.min(14)..end], "{sort:?} {f:?}");
            }
        }
        // The NULL due times were among what was walked.
        let all = store
            .list(
                li_p.owner_filter(),
                &ServiceFilter::default(),
                ListRequest::new(
                    Sort::new(ServiceSort::Due, Dir::Asc),
                    None,
                    PageRequest::new(None, Some(200)),
                ),
            )
            .await
            .unwrap();
        nulls += all
            .items
            .iter()
            .filter(|s| s.resolve_due_at.is_none())
            .count();
    }
    assert!(nulls > 0, "some of lina's services have no due time");
}

on_both!(a_managers_pages_are_the_services_they_took_or_handle);
