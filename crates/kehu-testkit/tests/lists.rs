//! The list kit on SQLite and PostgreSQL: keyset paging that returns every row exactly once
//! while rows are added between pages, previous pages, sorting by every offered key (stable,
//! the id breaking ties), the capped count, cursor tampering, a large audit log paged deep and
//! counted under filters; and the users and audit lists over HTTP (API and pages).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, DurationRound, Utc};
use kehu_store::audit::{self, Action, AuditFilter, AuditSort};
use kehu_store::page::{Cursor, Dir, KeyValue, ListRequest, Listing, Sort, SortKey};
use kehu_store::users::{NewUser, User, UserFilter, UserSort};
use kehu_store::{Actor, PageRequest};
use kehu_testkit::json::{call, field_names, problem};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, bearer, both_backends};
use serde_json::{Value, json};

/// Records `n` audit entries of entity `test` (ids "0", "1", …, after `from`).
async fn add_entries(app: &TestApp, from: usize, n: usize) {
    for i in from..from + n {
        audit::event(
            &app.store.db,
            &Actor::system(),
            Action::Create,
            "test",
            i,
            None,
            Some(&json!({"n": i})),
        )
        .await
        .unwrap();
    }
}

fn test_entries() -> AuditFilter {
    AuditFilter {
        entity: Some("test".into()),
        ..AuditFilter::default()
    }
}

fn req<K: SortKey>(sort: Sort<K>, cursor: Option<Cursor>, per_page: u64) -> ListRequest<K> {
    ListRequest::new(sort, cursor, PageRequest::new(None, Some(per_page)))
}

/// Creates a user straight in the store (no password hashing: these never sign in).
async fn add_user(app: &TestApp, username: &str, display_name: &str) -> User {
    let role = app
        .store
        .roles
        .by_code("account_manager")
        .await
        .unwrap()
        .unwrap();
    let new = NewUser {
        username: username.into(),
        display_name: display_name.into(),
        email: None,
        role_id: role.id,
        password_hash: "not-a-hash".into(),
        must_change_password: false,
    };
    app.store
        .users
        .create(&new, &Actor::system())
        .await
        .unwrap()
}

/// Pages through the audit entries of entity `test` under `sort`, adding `add` entries after
/// each page; returns the ids in the order seen.
async fn page_through_audit(app: &TestApp, sort: Sort<AuditSort>, add: usize) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut added = 1000;
    loop {
        let page = app
            .store
            .audit
            .list(&test_entries(), req(sort, cursor, 10))
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|e| e.id));
        // Rows arrive between pages.
        add_entries(app, added, add).await;
        added += add;
        match page.next {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
        assert!(seen.len() < 1000, "paging does not end");
    }
}

fn assert_unique(ids: &[i64]) {
    let set: BTreeSet<_> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "a row came twice: {ids:?}");
}

both_backends! {
    async fn keyset_paging_returns_every_row_once_while_rows_are_inserted_between_pages(app) {
        add_entries(&app, 0, 45).await;
        let first = app.store.audit.list(&test_entries(), req(AuditSort::DEFAULT, None, 200)).await.unwrap();
        let initial: Vec<i64> = first.items.iter().map(|e| e.id).collect();
        assert_eq!(initial.len(), 45);

        // Newest first: what arrives meanwhile is newer than the cursor, so never shown; every
        // row there at the start comes exactly once, in order.
        let newest_first = page_through_audit(&app, Sort::new(AuditSort::At, Dir::Desc), 3).await;
        assert_unique(&newest_first);
        assert_eq!(newest_first, initial);

        // Oldest first: the new rows join at the end and are reached too, each once.
        let before = app.store.audit.list(&test_entries(), req(AuditSort::DEFAULT, None, 200)).await.unwrap().items.len();
        let oldest_first = page_through_audit(&app, Sort::new(AuditSort::At, Dir::Asc), 3).await;
        assert_unique(&oldest_first);
        let mut sorted = oldest_first.clone();
        sorted.sort_unstable();
        assert_eq!(oldest_first, sorted, "ascending by time and id");
        assert!(initial.iter().all(|id| oldest_first.contains(id)), "a row is missing");
        assert!(oldest_first.len() > before, "the rows added meanwhile are reached");

        // Users by display name, with new users sorting both before and after the cursor.
        let mut initial_users = BTreeSet::new();
        for i in (0..50).step_by(2) {
            initial_users.insert(add_user(&app, &format!("u{i:02}"), &format!("n{i:02}")).await.id);
        }
        let sort = Sort::new(UserSort::DisplayName, Dir::Asc);
        let (mut seen, mut names, mut cursor, mut odd) = (Vec::new(), Vec::new(), None, 1);
        loop {
            let page = app.store.users.list(&UserFilter::default(), req(sort, cursor, 7)).await.unwrap();
            seen.extend(page.items.iter().map(|u| u.id));
            names.extend(page.items.iter().map(|u| (u.display_name.clone(), u.id)));
            for _ in 0..2 {
                if odd < 50 {
                    add_user(&app, &format!("u{odd:02}"), &format!("n{odd:02}")).await;
                    odd += 2;
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_unique(&seen);
        assert!(initial_users.iter().all(|id| seen.contains(id)), "a user is missing: {names:?}");
        let mut in_order = names.clone();
        in_order.sort();
        assert_eq!(names, in_order);
    }

    async fn a_previous_cursor_returns_the_page_before_and_stops_at_the_first(app) {
        add_entries(&app, 0, 25).await;
        let sort = AuditSort::DEFAULT;
        let ids = |l: &Listing<audit::AuditEntry>| l.items.iter().map(|e| e.id).collect::<Vec<_>>();
        let p1 = app.store.audit.list(&test_entries(), req(sort, None, 10)).await.unwrap();
        assert!(p1.prev.is_none());
        let p2 = app.store.audit.list(&test_entries(), req(sort, p1.next.clone(), 10)).await.unwrap();
        let p3 = app.store.audit.list(&test_entries(), req(sort, p2.next.clone(), 10)).await.unwrap();
        assert_eq!((p3.items.len(), p3.next.is_none()), (5, true));
        let back2 = app.store.audit.list(&test_entries(), req(sort, p3.prev.clone(), 10)).await.unwrap();
        assert_eq!(ids(&back2), ids(&p2));
        assert!(back2.prev.is_some() && back2.next.is_some());
        let back1 = app.store.audit.list(&test_entries(), req(sort, back2.prev.clone(), 10)).await.unwrap();
        assert_eq!(ids(&back1), ids(&p1));
        assert!(back1.prev.is_none(), "the first page has no previous page");
        // A previous page from a position near the top is the whole first page.
        let near_top = Cursor::before(sort, KeyValue::Time(p1.items[3].at), p1.items[3].id);
        let top = app.store.audit.list(&test_entries(), req(sort, Some(near_top), 10)).await.unwrap();
        assert_eq!(ids(&top), ids(&p1));
        // The offset pages remain, and give cursors too.
        let old = app.store.audit.list(&test_entries(), PageRequest::new(Some(2), Some(10))).await.unwrap();
        assert_eq!(ids(&old), ids(&p2));
        assert!(old.prev.is_some() && old.next.is_some());
    }

    async fn sorting_users_by_each_key_is_correct_and_stable(app) {
        // Equal display names and sign-in times, and accounts that never signed in.
        let mut made = Vec::new();
        for (i, name) in ["b", "a", "c", "a", "b", "a", "d", "c"].iter().enumerate() {
            made.push(add_user(&app, &format!("s{i}"), &format!("name-{name}")).await);
        }
        for u in made.iter().step_by(3) {
            app.store.users.record_login_success(u.id).await.unwrap();
        }
        let all = app.store.users.list(&UserFilter::default(), req(Sort::new(UserSort::Username, Dir::Asc), None, 200)).await.unwrap();
        let all = all.items;
        for &key in UserSort::ALL {
            for dir in [Dir::Asc, Dir::Desc] {
                let sort = Sort::new(key, dir);
                let mut expected: Vec<&User> = all.iter().collect();
                // NULL (never signed in) is the smallest value; the id breaks ties.
                expected.sort_by(|a, b| {
                    let by_key = match key {
                        UserSort::Username => a.username.cmp(&b.username),
                        UserSort::DisplayName => a.display_name.cmp(&b.display_name),
                        UserSort::LastLogin => a.last_login_at.cmp(&b.last_login_at),
                        UserSort::Created => a.created_at.cmp(&b.created_at),
                    };
                    by_key.then(a.id.cmp(&b.id))
                });
                if dir == Dir::Desc {
                    expected.reverse();
                }
                let expected: Vec<i64> = expected.iter().map(|u| u.id).collect();
                let (mut got, mut cursor) = (Vec::new(), None);
                loop {
                    let page = app.store.users.list(&UserFilter::default(), req(sort, cursor, 3)).await.unwrap();
                    got.extend(page.items.iter().map(|u| u.id));
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
                assert_eq!(got, expected, "{}", sort.code());
                // And backwards from the end, page by page.
                let last = all.iter().find(|u| Some(&u.id) == expected.last()).unwrap();
                let mut back = vec![last.id];
                let mut cursor = Some(Cursor::before(sort, kehu_store::page::Keyed::key(last, key), last.id));
                while let Some(c) = cursor {
                    let page = app.store.users.list(&UserFilter::default(), req(sort, Some(c), 3)).await.unwrap();
                    back.splice(0..0, page.items.iter().map(|u| u.id).filter(|id| !back.contains(id)).collect::<Vec<_>>());
                    cursor = page.prev;
                }
                assert_eq!(back, expected, "backwards, {}", sort.code());
            }
        }
    }

    async fn the_count_stops_at_ten_thousand_and_filtered_counts_are_exact(app) {
        let end = Utc::now() - Duration::days(1);
        audit::fill_synthetic(&app.store.db, 10_050, end).await.unwrap();
        let all = app.store.audit.list(&AuditFilter::default(), ListRequest::first(20)).await.unwrap();
        assert_eq!((all.count.value, all.count.exact), (10_000, false));
        assert_eq!(all.items.len(), 20);
        let roles = AuditFilter { entity: Some("role".into()), ..AuditFilter::default() };
        let roles = app.store.audit.list(&roles, ListRequest::first(20)).await.unwrap();
        assert_eq!((roles.count.value, roles.count.exact), (1_005, true));
        let denied = AuditFilter { action: Some("denied".into()), ..AuditFilter::default() };
        let denied = app.store.audit.list(&denied, ListRequest::first(20)).await.unwrap();
        assert_eq!((denied.count.value, denied.count.exact), (11, true));
        assert!(denied.next.is_none());
    }

    async fn a_large_audit_log_pages_deep_and_counts_filters_correctly(app) {
        const N: i64 = 200_000;
        let end = (Utc::now() - Duration::days(1)).duration_trunc(Duration::seconds(1)).unwrap();
        audit::fill_synthetic(&app.store.db, N as u64, end).await.unwrap();
        let start = end - Duration::seconds((N / 2 + 1) * 30);
        let at = |i: i64| start + Duration::seconds((i / 2) * 30);
        let oldest = app.store.audit
            .list(&AuditFilter::default(), req(Sort::new(AuditSort::At, Dir::Asc), None, 1))
            .await.unwrap();
        let first_id = oldest.items[0].id;
        assert_eq!(oldest.items[0].at, at(0));
        let id = |i: i64| first_id + i;
        let newest = AuditSort::DEFAULT;

        // A deep page, newest first, right after entry 150,000: entries 149,999 down.
        let k = 150_000;
        let deep = Cursor::after(newest, KeyValue::Time(at(k)), id(k));
        let page = app.store.audit.list(&AuditFilter::default(), req(newest, Some(deep), 50)).await.unwrap();
        let got: Vec<(i64, DateTime<Utc>)> = page.items.iter().map(|e| (e.id, e.at)).collect();
        let want: Vec<(i64, DateTime<Utc>)> = (k - 50..k).rev().map(|i| (id(i), at(i))).collect();
        assert_eq!(got, want);
        // And the page before that position: entries 150,050 down to 150,001.
        let back = Cursor::before(newest, KeyValue::Time(at(k)), id(k));
        let page = app.store.audit.list(&AuditFilter::default(), req(newest, Some(back), 50)).await.unwrap();
        let got: Vec<i64> = page.items.iter().map(|e| e.id).collect();
        assert_eq!(got, (k + 1..=k + 50).rev().map(id).collect::<Vec<_>>());

        // A filtered deep page: the user entries (i % 10 in 6..8) before entry 150,000.
        let users = AuditFilter { entity: Some("user".into()), ..AuditFilter::default() };
        let deep = Cursor::after(newest, KeyValue::Time(at(k)), id(k));
        let page = app.store.audit.list(&users, req(newest, Some(deep), 50)).await.unwrap();
        let want: Vec<i64> = (0..k).rev().filter(|i| (6..8).contains(&(i % 10))).take(50).map(id).collect();
        assert_eq!(page.items.iter().map(|e| e.id).collect::<Vec<_>>(), want);
        assert_eq!((page.count.value, page.count.exact), (10_000, false), "40,000 match");

        // Filtered counts: one user in a period, exact; one action, exact.
        let (a, b) = (60_000, 90_000);
        let period = AuditFilter {
            user_id: Some(3),
            from: Some(at(a)),
            to: Some(at(b)),
            ..AuditFilter::default()
        };
        let page = app.store.audit.list(&period, ListRequest::first(50)).await.unwrap();
        let want = (a..b).filter(|i| i % 20 + 1 == 3).count() as u64;
        assert_eq!((page.count.value, page.count.exact), (want, true));
        assert_eq!(page.items[0].id, id((a..b).rev().find(|i| i % 20 + 1 == 3).unwrap()));
        let denied = AuditFilter { action: Some("denied".into()), ..AuditFilter::default() };
        let page = app.store.audit.list(&denied, ListRequest::first(50)).await.unwrap();
        assert_eq!((page.count.value, page.count.exact), ((0..N).filter(|i| i % 997 == 0).count() as u64, true));
        // One record's history.
        let record = AuditFilter {
            entity: Some("role".into()),
            entity_id: Some("1234".into()),
            ..AuditFilter::default()
        };
        let page = app.store.audit.list(&record, ListRequest::first(50)).await.unwrap();
        let want: Vec<i64> = (0..N).rev().filter(|i| i % 10 == 8 && (i / 10) % 5000 == 1234).map(id).collect();
        assert_eq!(page.items.iter().map(|e| e.id).collect::<Vec<_>>(), want);
    }

    async fn the_users_api_sorts_pages_by_cursor_and_refuses_a_tampered_cursor(app) {
        let t = app.token_for("admin").await;
        for (u, n) in [("zoe", "a-zoe"), ("amy", "c-amy"), ("bob", "b-bob")] {
            add_user(&app, u, n).await;
        }
        let (s, p1) = call(&app, &t, Method::GET, "/api/v1/users?sort=-display_name&per_page=2", None).await;
        assert_eq!(s, 200, "{p1}");
        let names = |v: &Value| v["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        // Descending display names: the administrator's (系统管理员) first, then the ASCII ones.
        let all = {
            let (_, all) = call(&app, &t, Method::GET, "/api/v1/users?sort=-display_name&per_page=200", None).await;
            names(&all)
        };
        assert_eq!(all.len(), 4);
        assert_eq!(&all[all.len() - 3..], ["amy", "bob", "zoe"]);
        assert_eq!((&p1["total"], &p1["total_exact"], &p1["prev_cursor"]), (&json!(4), &json!(true), &Value::Null));
        assert_eq!(names(&p1), all[..2]);
        let next = p1["next_cursor"].as_str().unwrap();
        let (s, p2) = call(&app, &t, Method::GET, &format!("/api/v1/users?sort=-display_name&per_page=2&cursor={next}"), None).await;
        assert_eq!((s, names(&p2)), (200, all[2..].to_vec()));
        assert_eq!(p2["next_cursor"], Value::Null);
        let prev = p2["prev_cursor"].as_str().unwrap();
        let (_, back) = call(&app, &t, Method::GET, &format!("/api/v1/users?sort=-display_name&per_page=2&cursor={prev}"), None).await;
        assert_eq!(names(&back), names(&p1));

        // A cursor changed by one character, cut short, or made for another sort: 400.
        let mut bytes = next.as_bytes().to_vec();
        bytes[2] = if bytes[2] == b'x' { b'y' } else { b'x' };
        let tampered = String::from_utf8(bytes).unwrap();
        for path in [
            format!("/api/v1/users?sort=-display_name&cursor={tampered}"),
            format!("/api/v1/users?sort=-display_name&cursor={}", &next[..next.len() - 3]),
            format!("/api/v1/users?sort=display_name&cursor={next}"),
            format!("/api/v1/users?cursor={next}"),
            "/api/v1/users?cursor=%00%01".to_owned(),
        ] {
            let p = problem(bearer(&app, &t, Method::GET, &path, None).await, 400, "invalid_cursor").await;
            assert_eq!(field_names(&p), ["cursor"], "{path}");
        }
        let p = problem(bearer(&app, &t, Method::GET, "/api/v1/users?sort=password_hash", None).await, 400, "malformed_query").await;
        assert_eq!(field_names(&p), ["sort"]);
        // The search and the role filter still hold, with the sort.
        let (_, found) = call(&app, &t, Method::GET, "/api/v1/users?q=O&sort=-username", None).await;
        assert_eq!(names(&found), ["zoe", "bob"]);
    }

    async fn the_audit_api_filters_by_action_and_record_pages_by_cursor_and_caps_the_count(app) {
        let t = app.token_for("admin").await;
        audit::fill_synthetic(&app.store.db, 10_050, Utc::now() - Duration::days(1)).await.unwrap();
        let (s, all) = call(&app, &t, Method::GET, "/api/v1/audit?per_page=5", None).await;
        assert_eq!(s, 200, "{all}");
        assert_eq!((&all["total"], &all["total_exact"]), (&json!(10_000), &json!(false)));
        let at = |v: &Value| v["items"].as_array().unwrap().iter()
            .map(|e| e["at"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap())
            .collect::<Vec<_>>();
        let first = at(&all);
        assert!(first.windows(2).all(|w| w[0] >= w[1]), "newest first: {first:?}");
        let next = all["next_cursor"].as_str().unwrap();
        let (_, p2) = call(&app, &t, Method::GET, &format!("/api/v1/audit?per_page=5&cursor={next}"), None).await;
        assert!(at(&p2)[0] <= first[4]);
        let (_, oldest) = call(&app, &t, Method::GET, "/api/v1/audit?per_page=5&sort=at", None).await;
        assert!(at(&oldest)[0] < first[4]);

        let (_, denied) = call(&app, &t, Method::GET, "/api/v1/audit?action=denied&per_page=200", None).await;
        assert_eq!((&denied["total"], &denied["total_exact"]), (&json!(11), &json!(true)));
        assert!(denied["items"].as_array().unwrap().iter().all(|e| e["action"] == "denied"));
        let (_, record) = call(&app, &t, Method::GET, "/api/v1/audit?entity=role&entity_id=7", None).await;
        assert!(record["items"].as_array().unwrap().iter().all(|e| e["entity"] == "role" && e["entity_id"] == "7"));
        assert_eq!(record["total"], 1, "{record}");

        let p = problem(bearer(&app, &t, Method::GET, "/api/v1/audit?entity_id=7", None).await, 422, "validation_failed").await;
        assert_eq!(field_names(&p), ["entity_id"]);
        let p = problem(bearer(&app, &t, Method::GET, "/api/v1/audit?action=rename", None).await, 400, "malformed_query").await;
        assert_eq!(field_names(&p), ["action"]);
        let p = problem(bearer(&app, &t, Method::GET, &format!("/api/v1/audit?sort=at&cursor={next}"), None).await, 400, "invalid_cursor").await;
        assert_eq!(field_names(&p), ["cursor"]);
    }

    async fn the_users_page_sorts_by_header_pages_by_cursor_and_says_when_nothing_matches(app) {
        for i in 0..25 {
            add_user(&app, &format!("p{i:02}"), &format!("person {i:02}")).await;
        }
        let admin = app.admin().await;
        let html = admin.get("/users?per_page=20").await.text().await.unwrap();
        assert!(html.contains("共 26 条"), "{html}");
        // Sorted by user name: that header says so and turns around on a click.
        assert!(html.contains(r#"<th aria-sort="ascending"><a class="sort" href="/users?sort=-username&#38;per_page=20">用户名"#), "{html}");
        assert!(html.contains(r#"<th aria-sort="none"><a class="sort" href="/users?sort=display_name&#38;per_page=20">姓名"#), "{html}");
        assert!(html.contains(r#"<option value="20" selected>"#));
        assert!(!html.contains("rel=\"prev\""));
        let next = html.split("rel=\"next\"").next().unwrap().rsplit("href=\"").next().unwrap().split('"').next().unwrap().replace("&#38;", "&");
        assert!(next.starts_with("/users?per_page=20&cursor="), "{next}");
        let page2 = admin.get(&next).await.text().await.unwrap();
        assert!(page2.contains("p24") && !page2.contains(">p05<"), "the second page holds the rest");
        assert!(page2.contains("rel=\"prev\"") && !page2.contains("rel=\"next\""));

        let html = admin.get("/users?sort=-last_login_at").await.text().await.unwrap();
        assert!(html.contains(r#"<th aria-sort="descending"><a class="sort" href="/users?sort=last_login_at">上次登录"#), "{html}");
        // A bad cursor or sort on a page starts from the top.
        assert_eq!(admin.get("/users?cursor=garbage&sort=nope").await.status(), 200);

        let html = admin.get("/users?q=nobody-like-this&sort=-created_at").await.text().await.unwrap();
        assert!(html.contains("没有匹配的用户 · <a href=\"/users?sort=-created_at\" class=\"empty-action\">清除筛选</a>"), "{html}");
        assert!(html.contains("共 0 条"));
    }

    async fn the_audit_page_names_and_links_records_translates_fields_and_hides_unchanged_ones(app) {
        let t = app.token_for("admin").await;
        let role = app.store.roles.by_code("account_manager").await.unwrap().unwrap().id;
        let (_, u) = call(&app, &t, Method::POST, "/api/v1/users", Some(json!({
            "username": "zhangsan", "display_name": "张三", "role_id": role, "password": "secret-pass-42",
        }))).await;
        let (_, changed) = call(&app, &t, Method::PATCH, &format!("/api/v1/users/{}", u["id"]), Some(json!({
            "display_name": "张三丰", "version": u["version"],
        }))).await;
        assert_eq!(changed["display_name"], "张三丰");
        let admin = app.admin().await;

        let html = admin.get(&format!("/audit?entity=user&entity_id={}&action=update", u["id"])).await.text().await.unwrap();
        assert!(html.contains(&format!(r#"<a href="/users/{}" class="record">用户 zhangsan</a>"#, u["id"])), "{html}");
        assert!(html.contains("<dt>姓名</dt><dd><del>张三</del> → <ins>张三丰</ins></dd>"), "{html}");
        assert!(!html.contains("<dt>电子邮件</dt>") && !html.contains("<dt>display_name</dt>"), "{html}");
        assert!(html.contains("共 1 条"), "{html}");
        // The creation shows what was set, not the empty e-mail address nor the role's id.
        let html = admin.get(&format!("/audit?entity=user&entity_id={}&action=create", u["id"])).await.text().await.unwrap();
        assert!(html.contains("<dt>用户名</dt>") && html.contains("<dt>角色</dt>"), "{html}");
        assert!(!html.contains("<dt>电子邮件</dt>") && !html.contains("<dt>角色编号</dt>"), "{html}");

        // Thousands of entries: the count stops, the pager goes on; nothing matches an old period.
        audit::fill_synthetic(&app.store.db, 10_050, Utc::now() - Duration::days(1)).await.unwrap();
        let html = admin.get("/audit").await.text().await.unwrap();
        assert!(html.contains("共 10,000+ 条") && html.contains("rel=\"next\""), "{html}");
        assert!(html.contains(r#"<th aria-sort="descending"><a class="sort" href="/audit?sort=at">时间"#), "{html}");
        let html = admin.get("/audit?from=2001-01-01&to=2001-01-02").await.text().await.unwrap();
        assert!(html.contains("没有匹配的操作记录 · <a href=\"/audit\" class=\"empty-action\">清除筛选</a>"), "{html}");
    }
}

/// The parameter `name` of `GET path` in the OpenAPI document.
fn param<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("GET {path} has no parameter {name}"))
}

#[tokio::test]
async fn the_openapi_document_lists_each_sort_the_cursor_and_the_count_fields() {
    let app = kehu_testkit::spawn_app(kehu_testkit::TestBackend::Sqlite).await;
    let doc: Value = app
        .client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        param(&doc, "/api/v1/users", "sort")["schema"]["enum"],
        json!([
            "username",
            "-username",
            "display_name",
            "-display_name",
            "last_login_at",
            "-last_login_at",
            "created_at",
            "-created_at"
        ])
    );
    assert_eq!(
        param(&doc, "/api/v1/audit", "sort")["schema"]["enum"],
        json!(["at", "-at"])
    );
    assert!(
        param(&doc, "/api/v1/audit", "action")["schema"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("denied"))
    );
    for path in ["/api/v1/users", "/api/v1/audit"] {
        assert_eq!(
            param(&doc, path, "cursor")["schema"]["maxLength"],
            512,
            "{path}"
        );
    }
    let list = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(name, _)| name.starts_with("ListOf") && name.contains("AuditOut"))
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| {
            doc["paths"]["/api/v1/audit"]["get"]["responses"]["200"]["content"]["application/json"]
                ["schema"]
                .clone()
        });
    let text = list.to_string();
    for field in ["total_exact", "next_cursor", "prev_cursor"] {
        assert!(text.contains(field), "{field} missing: {text}");
    }
}
