//! Data scope on owned records (personal API tokens, the first of them), on SQLite and on
//! PostgreSQL: through the store, every method shape (get, list, revoke) leaves a record
//! outside the caller's scope unread and unchanged; over HTTP, another user's token is
//! "not found" (404, the same answer as a token that does not exist), never "forbidden".

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_domain::policy::OwnerFilter;
use kehu_domain::role::RoleInput;
use kehu_domain::{DataScope, DomainError, Principal, Right};
use kehu_store::tokens::{ApiToken, TokenFilter};
use kehu_store::{Actor, PageRequest, StoreError};
use kehu_testkit::json::{call, problem};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, bearer, both_backends};
use serde_json::json;

const PW: &str = "scoped-pass-2026";

async fn principal(app: &TestApp, id: i64) -> Principal {
    app.store.users.principal(id).await.unwrap().unwrap()
}

fn is_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Domain(DomainError::NotFound)))
}

/// The only token of `user_id`.
async fn token_of(app: &TestApp, user_id: i64) -> ApiToken {
    let mut all = app.tokens_of(user_id).await;
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

/// A user administrator (`system.users`) whose role sees only their own records.
async fn own_scope_user_admin(app: &TestApp) -> i64 {
    let input = RoleInput {
        name: "本人用户管理员".into(),
        description: None,
        scope: DataScope::Own,
        rights: vec![Right::SystemUsers],
    };
    let role = app
        .store
        .roles
        .create(&input, &Actor::system())
        .await
        .unwrap();
    let hash = kehu_domain::secrets::hash_password(PW).unwrap();
    let new = kehu_store::users::NewUser {
        username: "own.admin".into(),
        display_name: "本人管理员".into(),
        email: None,
        role_id: role.role.id,
        password_hash: hash,
        must_change_password: false,
    };
    app.store
        .users
        .create(&new, &Actor::system())
        .await
        .unwrap()
        .id
}

both_backends! {
    async fn a_token_outside_the_scope_is_not_read_not_listed_and_not_revoked(app) {
        let li = app.create_user("li.na", "account_manager", PW).await;
        let wang = app.create_user("wang.fang", "account_manager", PW).await;
        app.token_for("li.na").await;
        let wang_secret = app.token_for("wang.fang").await;
        let (mine, theirs) = (token_of(&app, li).await, token_of(&app, wang).await);
        let li_p = principal(&app, li).await;
        let li_actor = Actor::user(li, "li.na", li_p.authority());
        let tokens = &app.store.tokens;

        // get: one's own is there, someone else's is not.
        assert_eq!(tokens.get(li_p.owner_filter(), mine.id).await.unwrap().name, "test");
        assert!(is_not_found(tokens.get(li_p.owner_filter(), theirs.id).await));
        assert!(is_not_found(tokens.get(li_p.own_records(), theirs.id).await));

        // list: without a filter only one's own; asking for someone else's finds nothing.
        let page = PageRequest::default();
        let all = TokenFilter { include_revoked: true, ..TokenFilter::default() };
        let listed = tokens.list(li_p.owner_filter(), &all, page).await.unwrap();
        assert_eq!((listed.total, listed.items.len()), (1, 1));
        assert_eq!(listed.items[0].id, mine.id);
        let asked = tokens.list(li_p.owner_filter(), &TokenFilter::of_user(wang), page).await.unwrap();
        assert_eq!((asked.total, asked.items.len()), (0, 0));

        // revoke (the update): nothing changes, and the token still signs in.
        assert!(is_not_found(tokens.revoke(li_p.owner_filter(), theirs.id, &li_actor).await));
        assert!(token_of(&app, wang).await.revoked_at.is_none());
        let (s, me) = call(&app, &wang_secret, Method::GET, "/api/v1/me", None).await;
        assert_eq!((s, &me["username"]), (200, &json!("wang.fang")));

        // Within the scope the same calls work: one's own, and the administrator's (scope all).
        tokens.revoke(li_p.own_records(), mine.id, &li_actor).await.unwrap();
        assert!(token_of(&app, li).await.revoked_at.is_some());
        let admin = principal(&app, 1).await;
        let everyone = tokens.list(admin.owner_filter(), &all, page).await.unwrap();
        assert_eq!(everyone.total, 2);
        let admin_actor = Actor::user(1, "admin", admin.authority());
        tokens.revoke(admin.owner_filter(), theirs.id, &admin_actor).await.unwrap();
        problem(bearer(&app, &wang_secret, Method::GET, "/api/v1/me", None).await, 401, "unauthenticated").await;
        // The system (command line, jobs) sees every token.
        let system = tokens.list(OwnerFilter::system(), &all, page).await.unwrap();
        assert_eq!(system.total, 2);
    }

    async fn another_users_token_answers_404_on_the_api_and_the_pages(app) {
        let li = app.create_user("li.na", "account_manager", PW).await;
        app.create_user("wang.fang", "sales_supervisor", PW).await;
        let li_secret = app.token_for("li.na").await;
        let wang_secret = app.token_for("wang.fang").await;
        let theirs = token_of(&app, li).await.id;
        let missing = theirs + 1000;

        // A user with scope `all` manages only their own tokens under /me and the profile.
        for id in [theirs, missing] {
            let path = format!("/api/v1/me/tokens/{id}");
            problem(bearer(&app, &wang_secret, Method::DELETE, &path, None).await, 404, "not_found").await;
        }
        let (_, mine) = call(&app, &wang_secret, Method::GET, "/api/v1/me/tokens", None).await;
        assert_eq!(mine["total"], 1, "{mine}");
        let s = app.login("wang.fang", PW).await;
        let resp = s.post_form(&format!("/profile/tokens/{theirs}/revoke"), &[]).await;
        assert_eq!(resp.status(), 404);
        let profile = s.get("/profile").await.text().await.unwrap();
        assert!(!profile.contains(&format!("/profile/tokens/{theirs}/revoke")), "another user's token is listed");

        // A user administrator whose scope is `own` does not reach other users' tokens either.
        own_scope_user_admin(&app).await;
        let own_admin = app.token_for("own.admin").await;
        let (s_list, list) = call(&app, &own_admin, Method::GET, &format!("/api/v1/users/{li}/tokens"), None).await;
        assert_eq!((s_list, &list["total"]), (200, &json!(0)), "{list}");
        for id in [theirs, missing] {
            let path = format!("/api/v1/users/{li}/tokens/{id}");
            problem(bearer(&app, &own_admin, Method::DELETE, &path, None).await, 404, "not_found").await;
        }
        let page = app.login("own.admin", PW).await;
        let resp = page.post_form(&format!("/users/{li}/tokens/{theirs}/revoke"), &[]).await;
        assert_eq!(resp.status(), 404);
        let html = page.get(&format!("/users/{li}/tokens")).await.text().await.unwrap();
        assert!(!html.contains(&format!("/users/{li}/tokens/{theirs}/revoke")), "{html}");

        // Nothing was revoked: the token still signs in.
        let (s_me, me) = call(&app, &li_secret, Method::GET, "/api/v1/me", None).await;
        assert_eq!((s_me, &me["username"]), (200, &json!("li.na")));
        assert!(token_of(&app, li).await.revoked_at.is_none());
    }
}
