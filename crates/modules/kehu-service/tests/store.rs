//! The service store on SQLite and PostgreSQL: who sees a service (who took it, its handler,
//! supervisors), service levels by type and customer level (the level's own row, else the
//! type's), overdue and due soon as time passes, the list's filters, what waits for a user,
//! and numbers that count up per day.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use chrono::{Duration, Utc};
use kehu_customers::domain::{CustomerDraft, CustomerInput, DictValues};
use kehu_customers::store::CustomerStore;
use kehu_domain::{DomainError, Principal};
use kehu_service::domain::{Priority, ServiceDraft, ServiceInput, Status};
use kehu_service::sla::{self, SlaDraft};
use kehu_service::store::{Due, ServiceFilter, ServiceStore, acting};
use kehu_store::StoreError;
use kehu_store::audit::Actor;
use kehu_store::page::ListRequest;
use kehu_store::scope::Acting;
use kehu_testkit::{TestApp, TestBackend};

mod common;
use common::{app, on_both};

const PW: &str = "lang-genug-123";

struct World {
    app: TestApp,
    store: ServiceStore,
    customers: CustomerStore,
    dict: DictValues,
}

async fn world(backend: TestBackend) -> World {
    let app = app(backend).await;
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let customers = CustomerStore::new(app.store.db.clone(), offset);
    let store = ServiceStore::new(app.store.db.clone(), offset);
    let dict = store.dictionary().await.unwrap();
    World {
        store,
        app,
        customers,
        dict,
    }
}

impl World {
    async fn user(&self, username: &str, role: &str) -> (Principal, Acting) {
        let id = self.app.create_user(username, role, PW).await;
        let p = self.app.store.users.principal(id).await.unwrap().unwrap();
        let a = acting(&p, Actor::user(id, username, p.authority()));
        (p, a)
    }

    async fn customer(&self, who: &Principal, name: &str, level: &str) -> i64 {
        let input = CustomerInput {
            name: name.into(),
            level: level.into(),
            ..CustomerInput::default()
        };
        let d = CustomerDraft::parse(&input, &self.dict).unwrap();
        let actor = Actor::user(who.user_id, &who.username, who.authority());
        self.customers
            .create(who.owner_filter(), &d, &actor)
            .await
            .unwrap()
            .id
    }

    fn draft(&self, kind: &str, customer_id: i64) -> ServiceDraft {
        let input = ServiceInput {
            service_type: kind.into(),
            title: format!("{kind} 请求"),
            customer_id: customer_id.to_string(),
            request: "客户来电".into(),
            ..ServiceInput::default()
        };
        ServiceDraft::parse(&input, &self.dict).unwrap()
    }
}

fn not_found(r: Result<impl std::fmt::Debug, StoreError>) {
    assert!(
        matches!(r, Err(StoreError::Domain(DomainError::NotFound))),
        "{r:?}"
    );
}

async fn who_sees_a_service(b: TestBackend) {
    let w = world(b).await;
    let (_, boss) = w.user("boss", "sales_supervisor").await;
    let (li_p, li) = w.user("li", "account_manager").await;
    let (zhao_p, zhao) = w.user("zhao", "account_manager").await;
    let (_, wang) = w.user("wang", "account_manager").await;
    let cu = w.customer(&li_p, "华强电子", "ordinary").await;

    let s = w
        .store
        .create(&li, &w.draft("consultation", cu))
        .await
        .unwrap();
    assert_eq!(s.status(), Status::New);
    // Another manager sees nothing of it, not even that it exists.
    not_found(w.store.get(wang.scope, s.id).await);
    not_found(w.store.get(zhao.scope, s.id).await);
    // Someone else's customer cannot have a service recorded by a manager.
    let theirs = w.customer(&zhao_p, "赵的客户", "ordinary").await;
    let e = w
        .store
        .create(&li, &w.draft("consultation", theirs))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Domain(DomainError::Invalid(_))),
        "{e:?}"
    );

    // Given to zhao: the handler sees it, and the one who took it still does.
    let s = w.store.assign(&boss, s.id, &zhao_p, None).await.unwrap();
    assert_eq!(w.store.get(zhao.scope, s.id).await.unwrap().id, s.id);
    assert_eq!(w.store.get(li.scope, s.id).await.unwrap().id, s.id);
    not_found(w.store.get(wang.scope, s.id).await);
    let mine = w
        .store
        .list(
            zhao.scope,
            &ServiceFilter::default(),
            ListRequest::first(20),
        )
        .await
        .unwrap();
    assert_eq!(mine.items.len(), 1);
    let waiting = w.store.waiting(zhao_p.user_id).await.unwrap();
    assert_eq!((waiting.to_handle, waiting.to_feedback), (1, 0));
    // Handled: li is to ask the customer.
    w.store.handle(&zhao, s.id, "已答复", None).await.unwrap();
    let waiting = w.store.waiting(li_p.user_id).await.unwrap();
    assert_eq!((waiting.to_handle, waiting.to_feedback), (0, 1));
    // The inbox: zhao was told of the assignment, li of the handling.
    let zi = w
        .app
        .store
        .inbox
        .list(zhao_p.own_records(), true, ListRequest::first(10))
        .await
        .unwrap();
    assert_eq!(
        zi.items.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(),
        ["service-assigned"]
    );
    let li_inbox = w
        .app
        .store
        .inbox
        .list(li_p.own_records(), true, ListRequest::first(10))
        .await
        .unwrap();
    assert_eq!(li_inbox.items[0].kind, "service-handled");
    assert_eq!(
        w.app.store.inbox.unread(li_p.own_records()).await.unwrap(),
        1
    );
    w.app
        .store
        .inbox
        .mark_read(li_p.own_records(), None)
        .await
        .unwrap();
    assert_eq!(
        w.app.store.inbox.unread(li_p.own_records()).await.unwrap(),
        0
    );
    // Nobody marks another's notices.
    assert_eq!(
        w.app
            .store
            .inbox
            .mark_read(li_p.own_records(), Some(&[zi.items[0].id]))
            .await
            .unwrap(),
        0
    );
}

async fn service_levels_and_overdue(b: TestBackend) {
    let w = world(b).await;
    let (boss_p, boss) = w.user("boss", "sales_supervisor").await;
    let key = w.customer(&boss_p, "大客户", "key_account").await;
    let plain = w.customer(&boss_p, "普通客户", "ordinary").await;

    // The seeded agreement: a key account's complaint sooner than anyone else's.
    let k = w
        .store
        .create(&boss, &w.draft("complaint", key))
        .await
        .unwrap();
    let p = w
        .store
        .create(&boss, &w.draft("complaint", plain))
        .await
        .unwrap();
    let mins = |s: &kehu_service::store::Service| {
        (
            (s.respond_due_at.unwrap() - s.created_at).num_minutes(),
            (s.resolve_due_at.unwrap() - s.created_at).num_minutes(),
        )
    };
    assert_eq!(mins(&k), (120, 1440));
    assert_eq!(mins(&p), (240, 2880));
    // A type without any row has no targets and is never overdue.
    let actor = Actor::system();
    let rows = sla::all(&w.app.store.db).await.unwrap();
    for r in rows.iter().filter(|r| r.service_type == "suggestion") {
        sla::remove(&w.app.store.db, r.id, &actor).await.unwrap();
    }
    let s = w
        .store
        .create(&boss, &w.draft("suggestion", plain))
        .await
        .unwrap();
    assert!(s.resolve_due_at.is_none());
    assert_eq!(s.due(Utc::now() + Duration::days(400)), Due::Met);
    // A changed agreement applies to new services only.
    let d = SlaDraft::parse("complaint".into(), String::new(), "30", "60").unwrap();
    sla::set(&w.app.store.db, &d, &actor).await.unwrap();
    let later = w
        .store
        .create(&boss, &w.draft("complaint", plain))
        .await
        .unwrap();
    assert_eq!(mins(&later), (30, 60));
    assert_eq!(
        mins(&w.store.get(boss.scope, p.id).await.unwrap()),
        (240, 2880)
    );

    // As time passes: on time, due soon, overdue; handled is met.
    let now = Utc::now();
    assert_eq!(k.due(now), Due::OnTime);
    assert_eq!(k.due(now + Duration::minutes(90)), Due::DueSoon);
    assert_eq!(k.due(now + Duration::minutes(121)), Due::Overdue);
    let overdue_at = |at| ServiceFilter {
        overdue: Some(true),
        now: Some(at),
        ..ServiceFilter::default()
    };
    let count = |f: ServiceFilter| {
        let store = w.store.clone();
        let scope = boss.scope;
        async move {
            store
                .list(scope, &f, ListRequest::first(50))
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(count(overdue_at(now)).await, 0);
    // After 61 minutes only the one promised within the hour; after 3 hours the key
    // account's too (its response was due in 2 hours).
    assert_eq!(count(overdue_at(now + Duration::minutes(61))).await, 1);
    assert_eq!(count(overdue_at(now + Duration::hours(3))).await, 2);
    assert_eq!(count(overdue_at(now + Duration::hours(49))).await, 3);
    // Handled is no longer overdue.
    let (h_p, h) = w.user("h", "account_manager").await;
    w.store.assign(&boss, k.id, &h_p, None).await.unwrap();
    w.store
        .add_step(&h, k.id, &step("validity", Some(false)))
        .await
        .unwrap();
    w.store
        .add_step(&h, k.id, &step("summary", None))
        .await
        .unwrap();
    w.store
        .handle(&h, k.id, "不成立，已解释", None)
        .await
        .unwrap();
    assert_eq!(count(overdue_at(now + Duration::hours(49))).await, 2);
    let not_late = ServiceFilter {
        overdue: Some(false),
        now: Some(now + Duration::hours(49)),
        ..ServiceFilter::default()
    };
    assert_eq!(count(not_late).await, 2, "the handled and the suggestion");
}

fn step(code: &str, accepted: Option<bool>) -> kehu_service::domain::StepDraft {
    kehu_service::domain::StepDraft::parse(&kehu_service::domain::StepInput {
        step: code.into(),
        content: "说明".into(),
        accepted: accepted.map(|a| a.to_string()).unwrap_or_default(),
    })
    .unwrap()
}

async fn numbers_and_filters(b: TestBackend) {
    let w = world(b).await;
    let (boss_p, boss) = w.user("boss", "sales_supervisor").await;
    let cu = w.customer(&boss_p, "华强电子", "ordinary").await;
    let other = w.customer(&boss_p, "立讯", "ordinary").await;
    let mut numbers = Vec::new();
    for (kind, c, prio) in [
        ("consultation", cu, "low"),
        ("complaint", cu, "urgent"),
        ("suggestion", other, ""),
    ] {
        let mut d = w.draft(kind, c);
        d.priority = Priority::from_code(prio).unwrap_or(Priority::Normal);
        numbers.push(w.store.create(&boss, &d).await.unwrap().number);
    }
    let day = numbers[0][2..10].to_owned();
    assert_eq!(
        numbers,
        [1, 2, 3].map(|n| format!("FW{day}-{n:04}")),
        "numbers count up per day"
    );
    let titles = |f: ServiceFilter| {
        let store = w.store.clone();
        let scope = boss.scope;
        async move {
            let l = store.list(scope, &f, ListRequest::first(50)).await.unwrap();
            l.items
                .into_iter()
                .map(|s| s.service_type)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        titles(ServiceFilter {
            customer_id: Some(cu),
            ..ServiceFilter::default()
        })
        .await,
        ["complaint", "consultation"],
        "newest first"
    );
    assert_eq!(
        titles(ServiceFilter {
            priority: Some(Priority::Urgent),
            ..ServiceFilter::default()
        })
        .await,
        ["complaint"]
    );
    assert_eq!(
        titles(ServiceFilter {
            service_type: Some("suggestion".into()),
            ..ServiceFilter::default()
        })
        .await,
        ["suggestion"]
    );
    assert_eq!(
        titles(ServiceFilter {
            statuses: vec![Status::Handled, Status::Archived],
            ..ServiceFilter::default()
        })
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        titles(ServiceFilter {
            created_from: Some(Utc::now() + Duration::hours(1)),
            ..ServiceFilter::default()
        })
        .await,
        Vec::<String>::new()
    );
}

on_both!(
    who_sees_a_service,
    service_levels_and_overdue,
    numbers_and_filters
);
