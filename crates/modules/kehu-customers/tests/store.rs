//! The customer store on SQLite and PostgreSQL: codes, the data scope (a manager's customers
//! and contacts only; anything else is not found), optimistic locking, the trash, transfer,
//! the one primary contact, and the list's filters, sorts and cursors.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use chrono::{Duration, FixedOffset, Utc};
use kehu_customers::domain::{
    ContactDraft, ContactInput, CustomerDraft, CustomerInput, DictValues, Status,
};
use kehu_customers::store::{ContactFilter, Customer, CustomerFilter, CustomerSort, CustomerStore};
use kehu_domain::DomainError;
use kehu_domain::policy::OwnerFilter;
use kehu_store::audit::{Actor, AuditEntry, AuditFilter};
use kehu_store::page::{ListRequest, Sort};
use kehu_store::{PageRequest, StoreError};
use kehu_testkit::{TestApp, TestBackend};

mod common;
use common::app;

const PW: &str = "lang-genug-123";

/// A user of the story: what the store is called with on their behalf.
struct Who {
    id: i64,
    scope: OwnerFilter,
    actor: Actor,
}

struct World {
    app: TestApp,
    store: CustomerStore,
    dict: DictValues,
}

async fn world(backend: TestBackend) -> World {
    let app = app(backend).await;
    let store = CustomerStore::new(
        app.store.db.clone(),
        FixedOffset::east_opt(8 * 3600).unwrap(),
    );
    let dict = store.dictionary().await.unwrap();
    World { app, store, dict }
}

impl World {
    async fn user(&self, username: &str, role: &str) -> Who {
        let id = self.app.create_user(username, role, PW).await;
        let p = self.app.store.users.principal(id).await.unwrap().unwrap();
        Who {
            id,
            scope: p.owner_filter(),
            actor: Actor::user(id, username, p.authority()),
        }
    }

    /// Customer `id`'s audit entries, newest first.
    async fn history(&self, id: i64) -> Vec<AuditEntry> {
        let f = AuditFilter {
            entity: Some("customer".into()),
            entity_id: Some(id.to_string()),
            ..AuditFilter::default()
        };
        let list = self.app.store.audit.list(&f, PageRequest::default()).await;
        list.unwrap().items
    }

    fn draft(&self, input: CustomerInput) -> CustomerDraft {
        CustomerDraft::parse(&input, &self.dict).unwrap()
    }

    async fn customer(&self, who: &Who, name: &str, region: &str, tags: &[&str]) -> Customer {
        let d = self.draft(CustomerInput {
            name: name.into(),
            region: region.into(),
            level: "ordinary".into(),
            tags: tags.join(","),
            ..CustomerInput::default()
        });
        self.store.create(who.scope, &d, &who.actor).await.unwrap()
    }
}

fn contact(name: &str, primary: bool) -> ContactDraft {
    ContactDraft::parse(&ContactInput {
        name: name.into(),
        mobile: "13800138000".into(),
        is_primary: primary,
        ..ContactInput::default()
    })
    .unwrap()
}

fn is_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Domain(DomainError::NotFound)))
}

fn field_error<T: std::fmt::Debug>(r: Result<T, StoreError>) -> (String, String) {
    match r {
        Err(StoreError::Domain(DomainError::Invalid(f))) if f.len() == 1 => {
            (f[0].field.clone(), f[0].code.clone())
        }
        other => unreachable!("expected one field error, got {other:?}"),
    }
}

fn names(l: &[Customer]) -> Vec<&str> {
    l.iter().map(|c| c.name.as_str()).collect()
}

async fn new_customers_get_the_days_next_code_their_manager_and_an_audit_entry(b: TestBackend) {
    let w = world(b).await;
    let li = w.user("li", "account_manager").await;
    let a = w.customer(&li, "广州华强电子", "440000", &["VIP"]).await;
    let b2 = w.customer(&li, "深圳海天", "440000", &[]).await;
    let day = Utc::now()
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y%m%d")
        .to_string();
    assert_eq!(a.code, format!("KH{day}000001"));
    assert_eq!(b2.code, format!("KH{day}000002"));
    assert_eq!((a.owner_id, a.owner_name.as_str()), (li.id, "测试 li"));
    assert_eq!(a.status, Status::Active.code());
    assert_eq!(a.tag_list(), ["VIP"]);
    assert_eq!(a.version, 1);

    let history = w.history(a.id).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, "create");
    assert_eq!(history[0].user_id, Some(li.id));
}

async fn a_manager_sees_and_changes_only_their_own_customers_and_contacts(b: TestBackend) {
    let w = world(b).await;
    let li = w.user("li", "account_manager").await;
    let wang = w.user("wang", "account_manager").await;
    let boss = w.user("zhao", "sales_supervisor").await;
    let mine = w.customer(&li, "李的客户", "440000", &[]).await;
    let theirs = w.customer(&wang, "王的客户", "110000", &[]).await;
    let their_contact = w
        .store
        .add_contact(
            wang.scope,
            theirs.id,
            &contact("王联系人", true),
            &wang.actor,
        )
        .await
        .unwrap();

    let listed = w
        .store
        .list(li.scope, &CustomerFilter::default(), ListRequest::first(50))
        .await
        .unwrap();
    assert_eq!(names(&listed.items), ["李的客户"]);
    let all = w
        .store
        .list(
            boss.scope,
            &CustomerFilter::default(),
            ListRequest::first(50),
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2, "a supervisor sees every customer");

    // Every way to reach another manager's customer or contact is "not found".
    let s = &w.store;
    let d = w.draft(CustomerInput {
        name: "改名".into(),
        ..CustomerInput::default()
    });
    let id = theirs.id;
    assert!(is_not_found(s.get(li.scope, id).await));
    assert!(is_not_found(s.update(li.scope, id, &d, 1, &li.actor).await));
    assert!(is_not_found(s.delete(li.scope, id, 1, &li.actor).await));
    assert!(is_not_found(s.purge(li.scope, id, 1, &li.actor, &[]).await));
    assert!(is_not_found(
        s.transfer(li.scope, &[mine.id, id], li.id, &li.actor).await
    ));
    assert!(is_not_found(s.contacts_of(li.scope, id).await));
    assert!(is_not_found(
        s.add_contact(li.scope, id, &contact("x", false), &li.actor)
            .await
    ));
    let cid = their_contact.id;
    assert!(is_not_found(s.contact(li.scope, cid).await));
    assert!(is_not_found(
        s.update_contact(li.scope, cid, &contact("x", true), 1, &li.actor)
            .await
    ));
    assert!(is_not_found(
        s.delete_contact(li.scope, cid, 1, &li.actor).await
    ));
    let contacts = s
        .contact_list(li.scope, &ContactFilter::default(), ListRequest::first(50))
        .await
        .unwrap();
    assert!(contacts.items.is_empty(), "{:?}", contacts.items);
    // Nothing of it changed.
    assert_eq!(s.get(boss.scope, id).await.unwrap(), theirs);

    // A manager's customers are their own: creating one for someone else is refused.
    let for_wang = w.draft(CustomerInput {
        name: "给王".into(),
        owner_id: wang.id.to_string(),
        ..CustomerInput::default()
    });
    assert_eq!(
        field_error(s.create(li.scope, &for_wang, &li.actor).await),
        ("owner_id".into(), "err-owner-scope".into())
    );
    let for_nobody = w.draft(CustomerInput {
        name: "无主".into(),
        owner_id: "999999".into(),
        ..CustomerInput::default()
    });
    assert_eq!(
        field_error(s.create(boss.scope, &for_nobody, &boss.actor).await),
        ("owner_id".into(), "err-owner-unknown".into())
    );
}

async fn a_stale_version_changes_nothing(b: TestBackend) {
    let w = world(b).await;
    let li = w.user("li", "account_manager").await;
    let c = w.customer(&li, "华强", "440000", &[]).await;
    let renamed = w.draft(CustomerInput {
        name: "华强电子".into(),
        phone: "020 8888 6666".into(),
        tags: "重点".into(),
        ..CustomerInput::default()
    });
    let after = w
        .store
        .update(li.scope, c.id, &renamed, c.version, &li.actor)
        .await
        .unwrap();
    assert_eq!(
        (after.name.as_str(), after.version),
        ("华强电子", c.version + 1)
    );
    assert_eq!(after.phone.as_deref(), Some("+862088886666"));
    assert_eq!(after.region, None, "a field left empty is cleared");
    let again = w
        .store
        .update(
            li.scope,
            c.id,
            &w.draft(CustomerInput {
                name: "旧版本".into(),
                ..CustomerInput::default()
            }),
            c.version,
            &li.actor,
        )
        .await;
    assert!(matches!(
        again,
        Err(StoreError::Domain(DomainError::StaleVersion))
    ));
    assert_eq!(w.store.get(li.scope, c.id).await.unwrap(), after);
    let stale_delete = w.store.delete(li.scope, c.id, c.version, &li.actor).await;
    assert!(matches!(
        stale_delete,
        Err(StoreError::Domain(DomainError::StaleVersion))
    ));
}

async fn deleted_customers_wait_in_the_trash_until_restored_or_purged(b: TestBackend) {
    let w = world(b).await;
    let li = w.user("li", "account_manager").await;
    let c = w.customer(&li, "华强", "440000", &[]).await;
    w.store
        .add_contact(li.scope, c.id, &contact("张三", true), &li.actor)
        .await
        .unwrap();
    let trashed = w
        .store
        .delete(li.scope, c.id, c.version, &li.actor)
        .await
        .unwrap();
    assert!(trashed.deleted_at.is_some());
    assert!(is_not_found(w.store.get(li.scope, c.id).await));
    let f = CustomerFilter::default();
    let live = w.store.list(li.scope, &f, ListRequest::first(50)).await;
    assert!(live.unwrap().items.is_empty());
    let contacts = w
        .store
        .contact_list(li.scope, &ContactFilter::default(), ListRequest::first(50))
        .await
        .unwrap();
    assert!(
        contacts.items.is_empty(),
        "a trashed customer's contacts go with it"
    );
    let trash = w.store.trash(li.scope, &f, ListRequest::first(50)).await;
    assert_eq!(names(&trash.unwrap().items), ["华强"]);

    let back = w
        .store
        .restore(li.scope, c.id, trashed.version, &li.actor)
        .await
        .unwrap();
    assert_eq!(back.deleted_at, None);
    assert_eq!(w.store.contacts_of(li.scope, c.id).await.unwrap().len(), 1);

    let admin = {
        let p = w.app.store.users.principal(1).await.unwrap().unwrap();
        Who {
            id: 1,
            scope: p.owner_filter(),
            actor: Actor::user(1, "admin", p.authority()),
        }
    };
    w.store
        .purge(admin.scope, c.id, back.version, &admin.actor, &[])
        .await
        .unwrap();
    assert!(is_not_found(w.store.get(admin.scope, c.id).await));
    let trash = w.store.trash(admin.scope, &f, ListRequest::first(50)).await;
    assert!(trash.unwrap().items.is_empty());
    assert_eq!(admin.id, 1);
}

async fn a_transfer_moves_every_customer_or_none_and_audits_each(b: TestBackend) {
    let w = world(b).await;
    let li = w.user("li", "account_manager").await;
    let wang = w.user("wang", "account_manager").await;
    let boss = w.user("zhao", "sales_supervisor").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(w.customer(&li, &format!("客户{i}"), "440000", &[]).await.id);
    }
    let moved = w
        .store
        .transfer(boss.scope, &ids, wang.id, &boss.actor)
        .await
        .unwrap();
    assert_eq!(moved, 3);
    let wangs = w
        .store
        .list(
            wang.scope,
            &CustomerFilter::default(),
            ListRequest::first(50),
        )
        .await
        .unwrap();
    assert_eq!(wangs.items.len(), 3);
    assert!(wangs.items.iter().all(|c| c.owner_id == wang.id));
    for id in &ids {
        let changes = w.history(*id).await[0].changes_json();
        assert_eq!(changes["owner_id"]["after"], wang.id, "{changes}");
    }
    // Again to the same manager: nothing changes hands. To nobody: refused.
    let again = w
        .store
        .transfer(boss.scope, &ids, wang.id, &boss.actor)
        .await;
    assert_eq!(again.unwrap(), 0);
    let nobody = w
        .store
        .transfer(boss.scope, &ids, 999_999, &boss.actor)
        .await;
    assert_eq!(
        field_error(nobody),
        ("owner_id".into(), "err-owner-unknown".into())
    );
    let none = w
        .store
        .transfer(boss.scope, &[], wang.id, &boss.actor)
        .await;
    assert_eq!(
        field_error(none),
        ("ids".into(), "err-transfer-count".into())
    );
}

async fn a_customer_always_has_exactly_one_primary_contact(b: TestBackend) {
    let w = world(b).await;
    let li = w.user("li", "account_manager").await;
    let c = w.customer(&li, "华强", "440000", &[]).await;
    let s = &w.store;
    let first = s
        .add_contact(li.scope, c.id, &contact("张三", false), &li.actor)
        .await
        .unwrap();
    assert!(first.is_primary, "the first contact is the primary");
    let second = s
        .add_contact(li.scope, c.id, &contact("李四", true), &li.actor)
        .await
        .unwrap();
    assert!(second.is_primary);
    let primaries = |list: Vec<kehu_customers::store::Contact>| -> Vec<String> {
        list.into_iter()
            .filter(|c| c.is_primary)
            .map(|c| c.name)
            .collect()
    };
    assert_eq!(
        primaries(s.contacts_of(li.scope, c.id).await.unwrap()),
        ["李四"]
    );
    let demote = s
        .update_contact(
            li.scope,
            second.id,
            &contact("李四", false),
            second.version,
            &li.actor,
        )
        .await;
    assert_eq!(
        field_error(demote),
        ("is_primary".into(), "err-primary-needed".into())
    );
    s.delete_contact(li.scope, second.id, second.version, &li.actor)
        .await
        .unwrap();
    assert_eq!(
        primaries(s.contacts_of(li.scope, c.id).await.unwrap()),
        ["张三"],
        "the remaining contact took over"
    );
}

async fn the_list_filters_sorts_and_pages_by_cursor(b: TestBackend) {
    let w = world(b).await;
    let li = w.user("li", "account_manager").await;
    let wang = w.user("wang", "account_manager").await;
    let boss = w.user("zhao", "sales_supervisor").await;
    w.customer(&li, "广州甲", "440000", &["VIP", "华南"]).await;
    w.customer(&li, "北京乙", "110000", &["VIP"]).await;
    let c = w.customer(&wang, "广州丙", "440000", &[]).await;
    w.customer(&wang, "上海丁", "310000", &["华南"]).await;
    let s = &w.store;
    let list = async |f: CustomerFilter, sort: &str| {
        let sort: Sort<CustomerSort> = sort.parse().unwrap();
        let req = ListRequest::new(sort, None, PageRequest::new(None, Some(50)));
        let l = s.list(boss.scope, &f, req).await.unwrap();
        l.items.into_iter().map(|c| c.name).collect::<Vec<_>>()
    };
    let region = CustomerFilter {
        region: Some("440000".into()),
        ..CustomerFilter::default()
    };
    assert_eq!(list(region, "-created_at").await, ["广州丙", "广州甲"]);
    let tag = CustomerFilter {
        tag: Some("VIP".into()),
        ..CustomerFilter::default()
    };
    assert_eq!(list(tag, "name").await, ["北京乙", "广州甲"]);
    let owner = CustomerFilter {
        owner_id: Some(wang.id),
        ..CustomerFilter::default()
    };
    assert_eq!(list(owner, "name").await, ["上海丁", "广州丙"]);
    let prefix = CustomerFilter {
        q: Some("广州".into()),
        ..CustomerFilter::default()
    };
    assert_eq!(list(prefix, "name").await, ["广州丙", "广州甲"]);
    let code = CustomerFilter {
        q: Some(c.code.to_lowercase()),
        ..CustomerFilter::default()
    };
    assert_eq!(list(code, "name").await, ["广州丙"]);
    let lost = CustomerFilter {
        status: Some(Status::Lost),
        ..CustomerFilter::default()
    };
    assert!(list(lost, "name").await.is_empty());
    let later = CustomerFilter {
        created_from: Some(Utc::now() + Duration::hours(1)),
        ..CustomerFilter::default()
    };
    assert!(list(later, "name").await.is_empty());
    let period = CustomerFilter {
        created_from: Some(Utc::now() - Duration::hours(1)),
        created_to: Some(Utc::now() + Duration::hours(1)),
        ..CustomerFilter::default()
    };
    assert_eq!(list(period, "name").await.len(), 4);

    // Two rows a page by name, then the next page from the cursor.
    let sort: Sort<CustomerSort> = "name".parse().unwrap();
    let f = CustomerFilter::default();
    let first = s
        .list(
            boss.scope,
            &f,
            ListRequest::new(sort, None, PageRequest::new(None, Some(2))),
        )
        .await
        .unwrap();
    assert_eq!(names(&first.items), ["上海丁", "北京乙"]);
    assert_eq!((first.count.value, first.count.exact), (4, true));
    let next = s
        .list(
            boss.scope,
            &f,
            ListRequest::new(sort, first.next, PageRequest::new(None, Some(2))),
        )
        .await
        .unwrap();
    assert_eq!(names(&next.items), ["广州丙", "广州甲"]);
    assert!(next.next.is_none());
}

common::on_both! {
    new_customers_get_the_days_next_code_their_manager_and_an_audit_entry,
    a_manager_sees_and_changes_only_their_own_customers_and_contacts,
    a_stale_version_changes_nothing,
    deleted_customers_wait_in_the_trash_until_restored_or_purged,
    a_transfer_moves_every_customer_or_none_and_audits_each,
    a_customer_always_has_exactly_one_primary_contact,
    the_list_filters_sorts_and_pages_by_cursor,
}
