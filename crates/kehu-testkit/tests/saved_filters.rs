//! The list kit's column chooser and saved filters, on SQLite and PostgreSQL: the store keeps
//! a user's saved filters to themselves (another's is neither read, listed nor deleted); over
//! HTTP the users list shows only the chosen columns (unknown keys ignored), a filter is saved
//! (PRG back to the list with it applied), applied from its chip, refused with a field error
//! when its name is missing, too long or taken, and deleted; another user's is 404.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_domain::DomainError;
use kehu_store::saved_filters::NewSavedFilter;
use kehu_store::{Actor, StoreError};
use kehu_testkit::{Session, TestApp, both_backends};

const PW: &str = "saved-filter-pass-2026";

fn is_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Domain(DomainError::NotFound)))
}

/// The `<thead>` of the page's list table.
fn thead(html: &str) -> &str {
    let start = html.find("<thead>").expect("a list table");
    let end = html[start..].find("</thead>").unwrap() + start;
    &html[start..end]
}

/// The `<tbody>` of the page's list table.
fn tbody(html: &str) -> &str {
    let start = html.find("<tbody>").expect("a list table");
    let end = html[start..].find("</tbody>").unwrap() + start;
    &html[start..end]
}

/// The saved filters row.
fn chips(html: &str) -> &str {
    let start = html
        .find("id=\"saved-filters\"")
        .expect("the saved filters row");
    let end = html[start..].find("<details").unwrap() + start;
    &html[start..end]
}

fn location(resp: &kehu_testkit::reqwest::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_owned()
}

async fn role_id(app: &TestApp, code: &str) -> i64 {
    app.store.roles.by_code(code).await.unwrap().unwrap().id
}

async fn html(s: &Session, path: &str) -> String {
    let resp = s.get(path).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.text().await.unwrap()
}

both_backends! {
    async fn a_saved_filter_outside_the_scope_is_not_read_listed_or_deleted(app) {
        let li = app.create_user("li.na", "account_manager", PW).await;
        let wang = app.create_user("wang.fang", "account_manager", PW).await;
        let li_p = app.store.users.principal(li).await.unwrap().unwrap();
        let wang_p = app.store.users.principal(wang).await.unwrap().unwrap();
        let li_actor = Actor::user(li, "li.na", li_p.authority());
        let wang_actor = Actor::user(wang, "wang.fang", wang_p.authority());
        let store = &app.store.saved_filters;
        let input = NewSavedFilter::parse("users", "销售", "role=3").unwrap();
        let mine = store.create(li, &input, &li_actor).await.unwrap();
        let theirs = store.create(wang, &input, &wang_actor).await.unwrap();

        // Each sees only their own, by id and in the list.
        assert_eq!(store.get(li_p.own_records(), mine.id).await.unwrap(), mine);
        assert!(is_not_found(store.get(li_p.own_records(), theirs.id).await));
        let listed = store.list(li_p.own_records(), "users").await.unwrap();
        assert_eq!(listed, vec![mine.clone()]);
        assert!(store.list(li_p.own_records(), "audit").await.unwrap().is_empty());

        // Deleting another's is "not found", and it is still there.
        assert!(is_not_found(store.delete(li_p.own_records(), theirs.id, &li_actor).await));
        assert_eq!(store.get(wang_p.own_records(), theirs.id).await.unwrap(), theirs);

        // The same name twice on one list is a conflict on the name.
        let again = store.create(li, &input, &li_actor).await;
        assert!(matches!(again, Err(StoreError::Domain(DomainError::Conflict(ref f))) if f.field == "name"), "{again:?}");

        // Deleting one's own works and is audited.
        store.delete(li_p.own_records(), mine.id, &li_actor).await.unwrap();
        assert!(is_not_found(store.get(li_p.own_records(), mine.id).await));
        let history = app.store.audit.list(
            &kehu_store::audit::AuditFilter { entity: Some("saved_filter".into()), ..Default::default() },
            kehu_store::page::ListRequest::first(20),
        ).await.unwrap();
        let actions: Vec<_> = history.items.iter().map(|e| (e.entity_id.clone(), e.action.clone())).collect();
        assert!(actions.contains(&(mine.id.to_string(), "delete".to_owned())), "{actions:?}");
        assert!(actions.contains(&(mine.id.to_string(), "create".to_owned())), "{actions:?}");
    }

    async fn the_users_list_shows_only_the_chosen_columns(app) {
        let admin = app.admin().await;
        let all = html(&admin, "/users").await;
        let head = thead(&all);
        assert!(head.contains("姓名") && head.contains("角色"), "{head}");
        assert!(!head.contains("电子邮件"), "the e-mail column is hidden by default: {head}");

        // Display name and e-mail only; an unknown key is ignored; the user name cannot be hidden.
        let some = html(&admin, "/users?cols=email,password_hash,display_name").await;
        let head = thead(&some);
        assert_eq!(head.matches("</th>").count(), 3, "{head}");
        assert!(head.contains("用户名") && head.contains("姓名") && head.contains("电子邮件"), "{head}");
        assert!(!head.contains("角色") && !head.contains("创建时间"), "{head}");
        let row = tbody(&some);
        assert_eq!(row.matches("</td>").count(), 3, "one row (admin), three cells: {row}");
        // The sort links keep the columns.
        assert!(head.contains("cols=display_name%2Cemail") || head.contains("cols=username%2Cdisplay_name%2Cemail"), "{head}");

        // Nothing chosen: the fixed column alone. Garbage: never a 500.
        let none = html(&admin, "/users?cols=").await;
        assert_eq!(thead(&none).matches("</th>").count(), 1);
        html(&admin, "/users?cols=%00,,,%E4%B8%AD").await;

        // The chooser's form turns ticked boxes into `cols=`.
        let resp = admin.get("/lists/columns?back=%2Fusers%3Frole%3D2&col=display_name&col=role").await;
        assert_eq!(resp.status(), 303);
        assert_eq!(location(&resp), "/users?role=2&cols=display_name%2Crole");
        let resp = admin.get("/lists/columns?back=https%3A%2F%2Fevil.example&col=role").await;
        assert_eq!(location(&resp), "/?cols=role", "never off the site");
    }

    async fn a_saved_filter_is_saved_applied_and_deleted(app) {
        let sales = role_id(&app, "account_manager").await;
        app.create_user("li.na", "account_manager", PW).await;
        let admin = app.admin().await;
        let query = format!("role={sales}&cols=username%2Crole");

        // Saving answers 303 back to the list with the filter applied.
        let resp = admin.post_form("/users/saved-filters", &[("name", " 销售 "), ("query", &query)]).await;
        assert_eq!(resp.status(), 303);
        let to = location(&resp);
        assert_eq!(to, format!("/users?{query}"));
        let page = html(&admin, &to).await;
        let body = tbody(&page);
        assert!(body.contains("li.na") && !body.contains(">admin<"), "filtered by role: {body}");
        let row = chips(&page);
        assert!(row.contains("chip active") && row.contains(">销售<"), "the chip is there and active: {row}");

        // Without the filter the chip is there, not active, and links to the filter.
        let plain = html(&admin, "/users").await;
        let row = chips(&plain);
        assert!(!row.contains("chip active"), "{row}");
        assert!(row.contains(&format!("href=\"/users?role={sales}&#38;cols=username%2Crole\"")), "{row}");
        assert!(tbody(&plain).contains(">admin<"));

        // The name is required, at most 40 characters, and unique per user and list.
        for (name, error) in [("  ", "必填"), (&"长".repeat(41)[..], "太长"), ("销售", "已被使用")] {
            let resp = admin.post_form("/users/saved-filters", &[("name", name), ("query", &query)]).await;
            assert_eq!(resp.status(), 422, "{name}");
            let page = resp.text().await.unwrap();
            assert!(page.contains("id=\"f-name-error\"") && page.contains(error), "{name}: {error}");
            assert!(page.contains("aria-invalid=\"true\""));
            // The list still shows, as it was filtered.
            assert!(tbody(&page).contains("li.na") && !tbody(&page).contains(">admin<"));
        }

        // The same name on another list is fine.
        let resp = admin.post_form("/audit/saved-filters", &[("name", "销售"), ("query", "action=create")]).await;
        assert_eq!(resp.status(), 303);
        assert_eq!(location(&resp), "/audit?action=create");

        // Another user cannot delete it: 404, and it is still there.
        let admin_id = app.store.users.by_username("admin").await.unwrap().unwrap().id;
        let admin_p = app.store.users.principal(admin_id).await.unwrap().unwrap();
        let saved = app.store.saved_filters.list(admin_p.own_records(), "users").await.unwrap();
        assert_eq!(saved.len(), 1);
        let id = saved[0].id;
        app.create_user("zhao.lei", "admin", PW).await;
        let other = app.login("zhao.lei", PW).await;
        let resp = other.post_form(&format!("/saved-filters/{id}/delete"), &[("back", "/users")]).await;
        assert_eq!(resp.status(), 404);
        assert!(!chips(&html(&other, "/users").await).contains("销售"), "not shown to another user");
        assert!(chips(&html(&admin, "/users").await).contains("销售"));

        // The owner deletes it and comes back to the list.
        let resp = admin.post_form(&format!("/saved-filters/{id}/delete"), &[("back", "/users?q=li")]).await;
        assert_eq!(resp.status(), 303);
        assert_eq!(location(&resp), "/users?q=li");
        assert!(!chips(&html(&admin, "/users").await).contains("销售"));
        let resp = admin.post_form(&format!("/saved-filters/{id}/delete"), &[("back", "/users")]).await;
        assert_eq!(resp.status(), 404, "gone");
    }
}
