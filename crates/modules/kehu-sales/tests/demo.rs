//! The demo's opportunities (`kehu demo --opportunities N`) on SQLite and PostgreSQL: a small
//! pipeline loads every status, plans with and without results, won ones with their customers
//! (created through the store, then linked), the board's totals as a recount of the rows, and
//! each manager sees only their own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::BTreeMap;

use chrono::FixedOffset;
use kehu_customers::store::CustomerStore;
use kehu_domain::policy::OwnerFilter;
use kehu_sales::demo::{self, Staff};
use kehu_sales::domain::Status;
use kehu_sales::store::{Opportunity, OpportunityFilter, OpportunitySort, OpportunityStore};
use kehu_store::PageRequest;
use kehu_store::page::{ListRequest, SortKey};
use kehu_testkit::TestBackend;

mod common;
use common::app;

const PW: &str = "lang-genug-123";

/// Every opportunity in `scope`, a page at a time by cursor.
async fn all(store: &OpportunityStore, scope: OwnerFilter) -> Vec<Opportunity> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let req = ListRequest::new(
            OpportunitySort::DEFAULT,
            cursor,
            PageRequest::new(None, Some(200)),
        );
        let page = store
            .list(scope, &OpportunityFilter::default(), req)
            .await
            .unwrap();
        out.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

/// The pipeline of `rows` counted from them: (status, currency) → (count, amount, weighted).
fn recount(rows: &[Opportunity]) -> BTreeMap<(String, String), (i64, i64, i64)> {
    let mut out: BTreeMap<(String, String), (i64, i64, i64)> = BTreeMap::new();
    for o in rows {
        let e = out
            .entry((o.status.clone(), o.currency.clone()))
            .or_default();
        let amount = o.expected_amount.unwrap_or(0);
        e.0 += 1;
        e.1 += amount;
        e.2 += amount * i64::from(o.success_rate);
    }
    out
}

async fn totals(
    store: &OpportunityStore,
    scope: OwnerFilter,
) -> BTreeMap<(String, String), (i64, i64, i64)> {
    store
        .pipeline(scope)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.count != 0)
        .map(|t| ((t.status, t.currency), (t.count, t.amount, t.weighted)))
        .collect()
}

async fn a_small_demo_pipeline_loads_every_status_and_adds_up(b: TestBackend) {
    let app = app(b).await;
    let offset = FixedOffset::east_opt(8 * 3600).unwrap();
    let supervisor = app.create_user("zhangwei", "sales_supervisor", PW).await;
    let li = app.create_user("lina", "account_manager", PW).await;
    let wang = app.create_user("wangfang", "account_manager", PW).await;
    let store = OpportunityStore::new(app.store.db.clone(), offset);
    let staff = Staff {
        supervisor,
        managers: vec![li, wang],
    };

    // Enough for more won ones than close through the store: the later ones are linked.
    let n = 800;
    let loaded = demo::load(&store, &staff, 2026, n, offset, |_| {})
        .await
        .unwrap();

    assert_eq!(loaded.opportunities, n);
    assert!(loaded.by_status.iter().all(|&k| k > 0), "{loaded:?}");
    assert_eq!(loaded.by_status.iter().sum::<u64>(), n);
    assert!(loaded.results > 0 && loaded.overdue > 0, "{loaded:?}");
    assert!(loaded.plan_items > loaded.results + loaded.overdue);
    assert!(
        loaded.customers_created > 50 && loaded.customers_linked > 0,
        "{loaded:?}"
    );

    let rows = all(&store, OwnerFilter::system()).await;
    assert_eq!(rows.len() as u64, n);
    for (status, want) in Status::ALL.iter().zip(loaded.by_status) {
        let got = rows.iter().filter(|o| o.status() == *status).count() as u64;
        assert_eq!(got, want, "{status:?}");
    }
    // Each as the workflow leaves it: the supervisor's until assigned, then the manager's.
    let customers = CustomerStore::new(app.store.db.clone(), offset);
    let (mut with_result, mut without) = (0, 0);
    for o in &rows {
        assert_eq!(o.created_by, Some(supervisor));
        let plan = store.plan(OwnerFilter::system(), o.id).await.unwrap();
        match o.status() {
            Status::Unassigned => {
                assert_eq!((o.owner_id, o.assignee_id), (supervisor, None));
                assert!(plan.is_empty());
            }
            Status::Assigned => {
                assert_eq!(Some(o.owner_id), o.assignee_id);
                assert!(plan.is_empty());
            }
            status => {
                assert_eq!(Some(o.owner_id), o.assignee_id);
                assert!((1..=4).contains(&plan.len()), "{o:?}");
                assert_eq!(status.is_closed(), o.closed_at.is_some());
            }
        }
        with_result += plan.iter().filter(|p| p.result.is_some()).count();
        without += plan.iter().filter(|p| p.result.is_none()).count();
        if o.status() == Status::Success {
            // Every won one became, or was linked to, a customer of its manager.
            let c = customers
                .get(
                    OwnerFilter::system(),
                    o.customer_id.expect("won: a customer"),
                )
                .await
                .unwrap();
            assert_eq!(Some(c.owner_id), o.assignee_id, "{o:?}");
        } else {
            assert_eq!(o.customer_id, None);
        }
        if o.status() == Status::Failure {
            assert!(o.failure_reason.is_some());
        }
    }
    assert_eq!(with_result as u64, loaded.results);
    assert_eq!((with_result + without) as u64, loaded.plan_items);

    // The board's running totals are the rows' recount, for all and for each manager.
    assert_eq!(totals(&store, OwnerFilter::system()).await, recount(&rows));
    for id in [li, wang] {
        let manager = app.store.users.principal(id).await.unwrap().unwrap();
        let scope = manager.owner_filter();
        let theirs = all(&store, scope).await;
        assert!(!theirs.is_empty());
        assert!(theirs.iter().all(|o| o.owner_id == id));
        let owned = rows.iter().filter(|o| o.owner_id == id).count();
        assert_eq!(theirs.len(), owned);
        assert_eq!(totals(&store, scope).await, recount(&theirs));
    }

    // A second run continues the pipeline: other opportunities, and the totals still add up.
    let more = demo::load(&store, &staff, 2026, 40, offset, |_| {})
        .await
        .unwrap();
    assert_eq!(more.opportunities, 40);
    let rows = all(&store, OwnerFilter::system()).await;
    assert_eq!(rows.len() as u64, n + 40);
    assert_eq!(totals(&store, OwnerFilter::system()).await, recount(&rows));
}

common::on_both! {
    a_small_demo_pipeline_loads_every_status_and_adds_up,
}
