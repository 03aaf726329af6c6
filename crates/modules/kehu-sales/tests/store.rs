//! The opportunity store on SQLite and PostgreSQL: a supervisor's and two managers' story from
//! a lead to a lost deal — the data scope following the owner (creator, then assignee), the
//! workflow's refusals, optimistic locking, the plan and its results, the audit log, and the
//! list's filters.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_customers::domain::DictValues;
use kehu_customers::store::CustomerStore;
use kehu_domain::{DomainError, Principal};
use kehu_sales::domain::{
    OpportunityDraft, OpportunityInput, PlanItemDraft, PlanItemInput, Status,
};
use kehu_sales::store::{Acting, OpportunityFilter, OpportunitySort, OpportunityStore, Won};
use kehu_store::audit::{Actor, AuditFilter};
use kehu_store::page::{ListRequest, Sort};
use kehu_store::{PageRequest, StoreError};
use kehu_testkit::{TestApp, TestBackend};

mod common;
use common::app;

const PW: &str = "lang-genug-123";

struct World {
    app: TestApp,
    store: OpportunityStore,
    dict: DictValues,
    customers: CustomerStore,
}

async fn world(backend: TestBackend) -> World {
    let app = app(backend).await;
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let customers = CustomerStore::new(app.store.db.clone(), offset);
    let dict = customers.dictionary().await.unwrap();
    let store = OpportunityStore::new(app.store.db.clone(), offset);
    World {
        app,
        store,
        dict,
        customers,
    }
}

impl World {
    async fn user(&self, username: &str, role: &str) -> (Principal, Acting) {
        let id = self.app.create_user(username, role, PW).await;
        let p = self.app.store.users.principal(id).await.unwrap().unwrap();
        let acting = kehu_sales::store::acting(&p, Actor::user(id, username, p.authority()));
        (p, acting)
    }

    fn draft(&self, title: &str, amount: &str) -> OpportunityDraft {
        let input = OpportunityInput {
            title: title.into(),
            prospect_name: format!("{title}公司"),
            source: "trade_fair".into(),
            success_rate: "40".into(),
            contact_name: "张三".into(),
            contact_phone: "13800138000".into(),
            expected_amount: amount.into(),
            ..OpportunityInput::default()
        };
        OpportunityDraft::parse(&input, &self.dict).unwrap()
    }

    /// An opportunity of `boss`'s about `prospect`, its contact's phone 13800138000, given to
    /// `to` and in development.
    async fn developing(&self, boss: &Acting, to: &(Principal, Acting), prospect: &str) -> i64 {
        self.developing_with(boss, to, prospect, false).await
    }

    /// [`Self::developing`], without the contact's phone when `no_phone`.
    async fn developing_with(
        &self,
        boss: &Acting,
        to: &(Principal, Acting),
        prospect: &str,
        no_phone: bool,
    ) -> i64 {
        let mut d = self.draft("采购意向", "50000");
        d.prospect_name = prospect.into();
        if no_phone {
            d.contact_phone = None;
        }
        let o = self.store.create(boss, &d).await.unwrap();
        self.store.assign(boss, o.id, &to.0, None).await.unwrap();
        let item = plan_item("2026-12-08", "报价");
        self.store.add_plan_item(&to.1, o.id, &item).await.unwrap();
        o.id
    }

    /// The audit log's actions on opportunity `id`, oldest first.
    async fn history(&self, id: i64) -> Vec<(String, serde_json::Value)> {
        let f = AuditFilter {
            entity: Some("opportunity".into()),
            entity_id: Some(id.to_string()),
            ..AuditFilter::default()
        };
        let list = self.app.store.audit.list(&f, PageRequest::default()).await;
        let mut out: Vec<_> = list
            .unwrap()
            .items
            .into_iter()
            .map(|e| (e.action.clone(), e.changes_json()))
            .collect();
        out.reverse();
        out
    }
}

fn plan_item(date: &str, todo: &str) -> PlanItemDraft {
    PlanItemDraft::parse(&PlanItemInput {
        date: date.into(),
        todo: todo.into(),
    })
    .unwrap()
}

/// The error as the user would be told: `not_found`, `forbidden`, `stale`, a refusal's key
/// or `field:code`.
fn refusal<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(StoreError::Domain(DomainError::NotFound)) => "not_found".into(),
        Err(StoreError::Domain(DomainError::Forbidden)) => "forbidden".into(),
        Err(StoreError::Domain(DomainError::StaleVersion)) => "stale".into(),
        Err(StoreError::Domain(DomainError::NotAllowed(key))) => key.into(),
        Err(StoreError::Domain(DomainError::Invalid(f))) => {
            format!("{}:{}", f[0].field, f[0].code)
        }
        other => panic!("not a refusal: {other:?}"),
    }
}

async fn from_a_lead_to_a_lost_deal(b: TestBackend) {
    let w = world(b).await;
    let (_, boss) = w.user("boss", "sales_supervisor").await;
    let (li_p, li) = w.user("li", "account_manager").await;
    let (wang_p, wang) = w.user("wang", "account_manager").await;
    let (exec_p, _) = w.user("exec", "executive").await;

    // Li enters a lead from the trade fair: unassigned and Li's.
    let o = w
        .store
        .create(&li, &w.draft("广交会意向", "12345.50"))
        .await
        .unwrap();
    assert_eq!(o.status(), Status::Unassigned);
    assert_eq!(
        (o.owner_id, o.created_by),
        (li.actor.user_id.unwrap(), li.actor.user_id)
    );
    assert_eq!(o.currency, "CNY");
    assert_eq!(o.contact_phone.as_deref(), Some("+8613800138000"));
    assert_eq!(o.expected_amount, Some(1_234_550));
    // Wang does not see it; the supervisor does.
    assert_eq!(refusal(w.store.get(wang.scope, o.id).await), "not_found");
    w.store.get(boss.scope, o.id).await.unwrap();

    // Li corrects it; a second save from the old page is stale and changes nothing.
    let o = w
        .store
        .update(&li, o.id, &w.draft("广交会采购意向", "20000"), o.version)
        .await
        .unwrap();
    assert_eq!((o.title.as_str(), o.version), ("广交会采购意向", 2));
    let stale = w.store.update(&li, o.id, &w.draft("旧的", "1"), 1).await;
    assert_eq!(refusal(stale), "stale");
    assert_eq!(
        refusal(w.store.delete(&wang, o.id, o.version).await),
        "not_found"
    );

    // Only a supervisor assigns, and only to someone who may develop it.
    assert_eq!(
        refusal(w.store.assign(&li, o.id, &wang_p, None).await),
        "forbidden"
    );
    assert_eq!(
        refusal(w.store.assign(&boss, o.id, &exec_p, None).await),
        "assignee_id:err-assignee-right"
    );
    assert_eq!(
        refusal(w.store.assign(&boss, o.id, &wang_p, Some(1)).await),
        "stale"
    );
    let o = w
        .store
        .assign(&boss, o.id, &wang_p, Some(o.version))
        .await
        .unwrap();
    assert_eq!(o.status(), Status::Assigned);
    assert_eq!(o.assignee_id, wang.actor.user_id);
    assert!(o.assigned_at.is_some());
    // Now Wang's: Li no longer sees it, and it is fixed for everyone.
    assert_eq!(refusal(w.store.get(li.scope, o.id).await), "not_found");
    let edit = w
        .store
        .update(&boss, o.id, &w.draft("改", "1"), o.version)
        .await;
    assert_eq!(refusal(edit), "err-opportunity-assigned");
    assert_eq!(
        refusal(w.store.delete(&boss, o.id, o.version).await),
        "err-opportunity-assigned"
    );

    // Wang plans: the first item starts the development; results need it started.
    let mine = w.store.get(wang.scope, o.id).await.unwrap();
    assert_eq!(mine.actions(&wang), vec![kehu_sales::domain::Action::Plan]);
    let early = w.store.record_result(&wang, o.id, 1, "好", 1).await;
    assert_eq!(refusal(early), "err-opportunity-not-developing");
    let by_boss = w
        .store
        .add_plan_item(&boss, o.id, &plan_item("2026-12-10", "上门拜访"))
        .await;
    assert_eq!(refusal(by_boss), "forbidden");
    let visit = w
        .store
        .add_plan_item(&wang, o.id, &plan_item("2026-12-10", "上门拜访"))
        .await
        .unwrap();
    let call = w
        .store
        .add_plan_item(&wang, o.id, &plan_item("2026-12-08", "电话预约"))
        .await
        .unwrap();
    let o = w.store.get(wang.scope, o.id).await.unwrap();
    assert_eq!(o.status(), Status::Developing);
    let plan = w.store.plan(wang.scope, o.id).await.unwrap();
    let todos: Vec<&str> = plan.iter().map(|i| i.todo.as_str()).collect();
    assert_eq!(todos, ["电话预约", "上门拜访"], "by date");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
    assert!(plan[0].is_overdue(today) && !plan[1].is_overdue(today));
    assert_eq!(refusal(w.store.plan(li.scope, o.id).await), "not_found");

    // Results: on the item's own version, only on this opportunity's items.
    let done = w
        .store
        .record_result(&wang, o.id, call.id, "约好周四见面", call.version)
        .await
        .unwrap();
    assert_eq!(done.result.as_deref(), Some("约好周四见面"));
    assert!(!done.is_overdue(today));
    let again = w
        .store
        .record_result(&wang, o.id, call.id, "x", call.version)
        .await;
    assert_eq!(refusal(again), "stale");
    let other = w
        .store
        .create(&li, &w.draft("另一个机会", ""))
        .await
        .unwrap();
    let wrong = w.store.record_result(&wang, o.id, 999_999, "x", 1).await;
    assert_eq!(refusal(wrong), "not_found");
    let by_li = w.store.record_result(&li, o.id, visit.id, "x", 1).await;
    assert_eq!(refusal(by_li), "not_found", "out of Li's scope");

    // The deal is lost: closed for good, with its reason.
    let o = w.store.fail(&wang, o.id, "价格太高", None).await.unwrap();
    assert_eq!(o.status(), Status::Failure);
    assert_eq!(o.failure_reason.as_deref(), Some("价格太高"));
    assert!(o.closed_at.is_some());
    let late = w
        .store
        .add_plan_item(&wang, o.id, &plan_item("2026-12-20", "再试一次"))
        .await;
    assert_eq!(refusal(late), "err-opportunity-closed");
    assert_eq!(
        refusal(w.store.assign(&boss, o.id, &li_p, None).await),
        "err-opportunity-closed"
    );

    // Every change is in the audit log, the assignment with who had it before and after.
    let history = w.history(o.id).await;
    let actions: Vec<&str> = history.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        ["create", "update", "update", "update", "update"],
        "created, edited, assigned, developing, lost"
    );
    let assigned = &history[2].1;
    assert_eq!(assigned["owner_id"]["before"], li.actor.user_id.unwrap());
    assert_eq!(assigned["owner_id"]["after"], wang.actor.user_id.unwrap());
    assert_eq!(assigned["status"]["after"], "assigned");
    assert_eq!(history[4].1["failure_reason"]["after"], "价格太高");

    // Lists: the scope, then the filters.
    let all = |scope, f: OpportunityFilter| {
        let store = w.store.clone();
        async move {
            let l = store.list(scope, &f, PageRequest::default()).await.unwrap();
            let mut titles: Vec<String> = l.items.into_iter().map(|o| o.title).collect();
            titles.sort();
            titles
        }
    };
    assert_eq!(
        all(li.scope, OpportunityFilter::default()).await,
        ["另一个机会"]
    );
    assert_eq!(
        all(wang.scope, OpportunityFilter::default()).await,
        ["广交会采购意向"]
    );
    assert_eq!(all(boss.scope, OpportunityFilter::default()).await.len(), 2);
    let lost = OpportunityFilter {
        status: Some(Status::Failure),
        ..OpportunityFilter::default()
    };
    assert_eq!(all(boss.scope, lost).await, ["广交会采购意向"]);
    let big = OpportunityFilter {
        min_amount: Some(1_000_000),
        ..OpportunityFilter::default()
    };
    assert_eq!(all(boss.scope, big).await, ["广交会采购意向"]);
    let wangs = OpportunityFilter {
        assignee_id: wang.actor.user_id,
        ..OpportunityFilter::default()
    };
    assert_eq!(all(boss.scope, wangs).await, ["广交会采购意向"]);
    // Sorted by amount, the one without an amount first (NULL is the smallest).
    let by_amount = ListRequest::new(
        Sort::parse("expected_amount").unwrap(),
        None,
        PageRequest::default(),
    );
    let l = w
        .store
        .list(boss.scope, &OpportunityFilter::default(), by_amount)
        .await
        .unwrap();
    let ids: Vec<i64> = l.items.iter().map(|o| o.id).collect();
    assert_eq!(ids, [other.id, o.id]);
    let _: Sort<OpportunitySort> = Sort::parse("-created_at").unwrap();
}

async fn the_supervisor_closes_and_a_one_person_company_does_everything(b: TestBackend) {
    let w = world(b).await;
    let (admin_p, admin) = w.user("owner", "admin").await;
    let o = w
        .store
        .create(&admin, &w.draft("自己的机会", "100"))
        .await
        .unwrap();
    let o = w.store.assign(&admin, o.id, &admin_p, None).await.unwrap();
    w.store
        .add_plan_item(&admin, o.id, &plan_item("2026-12-07", "报价"))
        .await
        .unwrap();
    // A failure needs a developing opportunity; reassigning keeps it developing.
    let o = w.store.assign(&admin, o.id, &admin_p, None).await.unwrap();
    assert_eq!(o.status(), Status::Developing);
    let o = w
        .store
        .fail(&admin, o.id, "预算取消", Some(o.version))
        .await
        .unwrap();
    assert_eq!(o.status(), Status::Failure);
    // Deleting is for unassigned ones only, and then it is gone.
    let gone = w
        .store
        .create(&admin, &w.draft("录错了", ""))
        .await
        .unwrap();
    w.store.delete(&admin, gone.id, gone.version).await.unwrap();
    assert_eq!(
        refusal(w.store.get(admin.scope, gone.id).await),
        "not_found"
    );
    let history = w.history(gone.id).await;
    assert_eq!(history.last().map(|(a, _)| a.as_str()), Some("delete"));
}

async fn a_won_deal_becomes_the_managers_customer_once(b: TestBackend) {
    let w = world(b).await;
    let (_, boss) = w.user("boss", "sales_supervisor").await;
    let wang = w.user("wang", "account_manager").await;
    let li = w.user("li", "account_manager").await;
    let id = w.developing(&boss, &wang, "华强电子").await;

    // Won: the customer is Wang's, from the opportunity, with its contact as primary.
    let Won::Closed(o) = w.store.succeed(&wang.1, id, None, None).await.unwrap() else {
        panic!("no customer was in the way")
    };
    assert_eq!(o.status(), Status::Success);
    assert!(o.closed_at.is_some());
    let customer_id = o.customer_id.expect("linked");
    let c = w.customers.get(wang.1.scope, customer_id).await.unwrap();
    assert_eq!(c.name, "华强电子");
    assert_eq!(c.owner_id, wang.0.user_id);
    assert_eq!(c.source.as_deref(), Some("trade_fair"));
    assert_eq!(c.level.as_deref(), Some("ordinary"));
    assert!(c.code.starts_with("KH"), "{}", c.code);
    let contacts = w
        .customers
        .contacts_of(wang.1.scope, customer_id)
        .await
        .unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].name, "张三");
    assert_eq!(contacts[0].mobile.as_deref(), Some("+8613800138000"));
    assert!(contacts[0].is_primary);

    // A second click finds it closed: still one customer of that name.
    let again = w.store.succeed(&wang.1, id, None, None).await;
    assert_eq!(refusal(again), "err-opportunity-closed");
    let same = |name: &'static str| {
        let customers = w.customers.clone();
        let scope = boss.scope;
        async move {
            let f = kehu_customers::store::CustomerFilter {
                q: Some(name.into()),
                ..Default::default()
            };
            let l = customers
                .list(scope, &f, PageRequest::default())
                .await
                .unwrap();
            l.items.into_iter().filter(|c| c.name == name).count()
        }
    };
    assert_eq!(same("华强电子").await, 1);

    // Another lead from the same company: refused with the customer in the way, nothing
    // written; then linked to it.
    let second = w.developing(&boss, &wang, "华强电子").await;
    let Won::Exists(found) = w.store.succeed(&wang.1, second, None, None).await.unwrap() else {
        panic!("the existing customer was not found")
    };
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].0, found[0].2.as_str()), (customer_id, "华强电子"));
    let still = w.store.get(wang.1.scope, second).await.unwrap();
    assert_eq!(
        (still.status(), still.customer_id),
        (Status::Developing, None)
    );
    assert_eq!(same("华强电子").await, 1);
    // Only a customer the closer may see can be linked.
    let lis = w
        .customers
        .create(
            li.1.scope,
            &kehu_customers::domain::CustomerDraft::parse(
                &kehu_customers::domain::CustomerInput {
                    name: "李的客户".into(),
                    ..Default::default()
                },
                &w.dict,
            )
            .unwrap(),
            &li.1.actor,
        )
        .await
        .unwrap();
    let foreign = w.store.succeed(&wang.1, second, Some(lis.id), None).await;
    assert_eq!(refusal(foreign), "not_found");
    let Won::Closed(o) = w
        .store
        .succeed(&wang.1, second, Some(customer_id), Some(still.version))
        .await
        .unwrap()
    else {
        panic!("linking closes it")
    };
    assert_eq!(o.customer_id, Some(customer_id));

    // The same phone under another name is the same customer too.
    let third = w.developing(&boss, &wang, "华强电子深圳分公司").await;
    let r = w.store.succeed(&wang.1, third, None, None).await.unwrap();
    assert!(
        matches!(r, Won::Exists(ref f) if f[0].0 == customer_id),
        "{r:?}"
    );
    // Someone with no part in it cannot close it.
    assert_eq!(
        refusal(w.store.succeed(&li.1, third, None, None).await),
        "not_found"
    );
}

/// Two "won" clicks at the same moment (a double submit, two tabs): one customer, one close;
/// the other click finds it closed (or, had it read before the first, stale).
async fn two_won_clicks_at_once_make_one_customer(b: TestBackend) {
    let w = world(b).await;
    let (_, boss) = w.user("boss", "sales_supervisor").await;
    let wang = w.user("wang", "account_manager").await;
    for round in 0..5 {
        let prospect = format!("同时点击{round}");
        let id = w.developing_with(&boss, &wang, &prospect, true).await;
        let (a, b) = tokio::join!(
            w.store.succeed(&wang.1, id, None, None),
            w.store.succeed(&boss, id, None, None)
        );
        let closed = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Ok(Won::Closed(_))))
            .count();
        assert_eq!(closed, 1, "round {round}: {a:?} / {b:?}");
        for r in [a, b] {
            if !matches!(r, Ok(Won::Closed(_))) {
                let why = refusal(r);
                assert!(
                    why == "err-opportunity-closed" || why == "stale",
                    "round {round}: {why}"
                );
            }
        }
        let f = kehu_customers::store::CustomerFilter {
            q: Some(prospect.clone()),
            ..Default::default()
        };
        let l = w
            .customers
            .list(boss.scope, &f, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(l.items.len(), 1, "round {round}: one customer");
        let o = w.store.get(boss.scope, id).await.unwrap();
        assert_eq!(o.customer_id, Some(l.items[0].id));
    }
}

common::on_both! {
    from_a_lead_to_a_lost_deal,
    the_supervisor_closes_and_a_one_person_company_does_everything,
    a_won_deal_becomes_the_managers_customer_once,
    two_won_clicks_at_once_make_one_customer,
}
