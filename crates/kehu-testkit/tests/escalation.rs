//! Privilege escalation, tried as an attacker with a delegated right would, through the API
//! and through the pages, on SQLite and on PostgreSQL: a user whose role holds only
//! `system.users`, and one whose role holds only `system.roles`. Every path is refused with a
//! stable code, nothing changes in the database, and the attempt is in the audit log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_domain::DataScope;
use kehu_domain::Right;
use kehu_domain::role::RoleInput;
use kehu_domain::secrets::hash_password;
use kehu_store::audit::AuditFilter;
use kehu_store::users::NewUser;
use kehu_store::{Actor, PageRequest};
use kehu_testkit::reqwest::{Method, Response};
use kehu_testkit::{TestApp, bearer, both_backends};
use serde_json::{Value, json};

const PW: &str = "delegated-pass-2026";

/// A custom role with exactly `rights`, made by the system.
async fn role_with(app: &TestApp, name: &str, rights: &[Right]) -> i64 {
    let input = RoleInput {
        name: name.into(),
        description: None,
        scope: DataScope::All,
        rights: rights.to_vec(),
    };
    app.store
        .roles
        .create(&input, &Actor::system())
        .await
        .unwrap()
        .role
        .id
}

async fn user_with_role(app: &TestApp, username: &str, role_id: i64) -> i64 {
    let new = NewUser {
        username: username.into(),
        display_name: format!("测试 {username}"),
        email: None,
        role_id,
        password_hash: hash_password(PW).unwrap(),
        must_change_password: false,
    };
    app.store
        .users
        .create(&new, &Actor::system())
        .await
        .unwrap()
        .id
}

async fn role_id(app: &TestApp, code: &str) -> i64 {
    app.store.roles.by_code(code).await.unwrap().unwrap().id
}

async fn admin_id(app: &TestApp) -> i64 {
    app.store
        .users
        .by_username("admin")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Asserts a 403 problem document with the refusal `code`.
async fn refused(resp: Response, code: &str) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!((status, body["code"].as_str()), (403, Some(code)), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

/// The `denied` audit entries, newest first, as (entity, entity id, refusal).
async fn denials(app: &TestApp) -> Vec<(String, String, String)> {
    let page = app
        .store
        .audit
        .list(&AuditFilter::default(), PageRequest::new(None, Some(200)))
        .await
        .unwrap();
    page.items
        .iter()
        .filter(|e| e.action == "denied")
        .map(|e| {
            let refusal = e.changes_json()["refusal"]["after"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (e.entity.clone(), e.entity_id.clone(), refusal)
        })
        .collect()
}

/// What an escalation could have changed about the administrator: role, disabled, password.
async fn admin_state(app: &TestApp) -> (i64, bool, String) {
    let id = admin_id(app).await;
    let u = app.store.users.get(id).await.unwrap();
    (
        u.role_id,
        u.disabled,
        app.store.users.password_hash(id).await.unwrap(),
    )
}

both_backends! {
    async fn a_user_administrator_cannot_make_anyone_an_administrator_through_the_api(app) {
        let users_only = role_with(&app, "用户管理员", &[Right::SystemUsers]).await;
        let me = user_with_role(&app, "delegate", users_only).await;
        let t = app.token_for("delegate").await;
        let admin_role = role_id(&app, "admin").await;
        let am_role = role_id(&app, "account_manager").await;
        let am = app.create_user("li.na", "account_manager", PW).await;
        let admin = admin_id(&app).await;
        let before = admin_state(&app).await;

        // A new account with the administrator role, or with rights the delegate lacks.
        for role in [admin_role, am_role] {
            refused(bearer(&app, &t, Method::POST, "/api/v1/users", Some(json!({
                "username": format!("sock{role}"), "display_name": "马甲", "role_id": role, "password": PW,
            }))).await, "rights_not_held").await;
        }
        assert!(app.store.users.by_username(&format!("sock{admin_role}")).await.unwrap().is_none());

        // Someone holding rights the delegate lacks is not theirs to change at all.
        let v = app.store.users.get(am).await.unwrap().version;
        refused(bearer(&app, &t, Method::PATCH, &format!("/api/v1/users/{am}"),
            Some(json!({"role_id": admin_role, "version": v}))).await, "target_outranks").await;
        assert_eq!(app.store.users.get(am).await.unwrap().role_id, am_role);

        // Themselves, through an account they may create (same role), which then promotes them.
        let sock = bearer(&app, &t, Method::POST, "/api/v1/users", Some(json!({
            "username": "sock", "display_name": "马甲", "role_id": users_only, "password": PW,
        }))).await;
        assert_eq!(sock.status(), 201);
        let sock_id = app.store.users.by_username("sock").await.unwrap().unwrap().id;
        let v = app.store.users.get(sock_id).await.unwrap().version;
        refused(bearer(&app, &t, Method::PATCH, &format!("/api/v1/users/{sock_id}"),
            Some(json!({"role_id": admin_role, "version": v}))).await, "rights_not_held").await;
        // The delegate knows sock's temporary password: they sign in as sock and replace it.
        let hash = hash_password(PW).unwrap();
        app.store.users.set_password(sock_id, &hash, false, None, &Actor::system()).await.unwrap();
        let sock_token = app.token_for("sock").await;
        let v = app.store.users.get(me).await.unwrap().version;
        refused(bearer(&app, &sock_token, Method::PATCH, &format!("/api/v1/users/{me}"),
            Some(json!({"role_id": admin_role, "version": v}))).await, "rights_not_held").await;
        assert_eq!(app.store.users.get(me).await.unwrap().role_id, users_only);

        // The administrator: password reset (to learn the temporary one), disabled, demoted,
        // even renamed.
        refused(bearer(&app, &t, Method::POST, &format!("/api/v1/users/{admin}/password"),
            Some(json!({"password": "i-know-this-now-2026"}))).await, "target_outranks").await;
        let v = app.store.users.get(admin).await.unwrap().version;
        for patch in [json!({"disabled": true}), json!({"role_id": users_only}), json!({"display_name": "被接管"})] {
            let mut body = patch.clone();
            body["version"] = json!(v);
            refused(bearer(&app, &t, Method::PATCH, &format!("/api/v1/users/{admin}"), Some(body)).await,
                "target_outranks").await;
        }
        // Nor can they cut the administrator off the API.
        app.token_for("admin").await;
        let admin_tokens = app.tokens_of(admin).await;
        let tid = admin_tokens[0].id;
        refused(bearer(&app, &t, Method::DELETE, &format!("/api/v1/users/{admin}/tokens/{tid}"), None).await,
            "target_outranks").await;
        assert!(app.tokens_of(admin).await[0].revoked_at.is_none());
        assert_eq!(admin_state(&app).await, before, "nothing about the administrator changed");
        assert_eq!(app.store.users.get(admin).await.unwrap().display_name, "系统管理员");

        // The administrator still signs in, and every attempt is in the audit log.
        app.admin().await;
        let d = denials(&app).await;
        assert_eq!(d.len(), 10, "{d:?}");
        assert!(d.contains(&("user".into(), admin.to_string(), "target_outranks".into())), "{d:?}");
        assert!(d.contains(&("user".into(), me.to_string(), "rights_not_held".into())), "{d:?}");
    }

    async fn a_role_administrator_cannot_grant_rights_they_do_not_hold_through_the_api(app) {
        let roles_only = role_with(&app, "角色管理员", &[Right::SystemRoles]).await;
        user_with_role(&app, "rolesmith", roles_only).await;
        let t = app.token_for("rolesmith").await;
        let admin_role = role_id(&app, "admin").await;
        let am_role = role_id(&app, "account_manager").await;

        // A new role with a right they lack.
        refused(bearer(&app, &t, Method::POST, "/api/v1/roles", Some(json!({
            "name": "后门", "data_scope": "all", "rights": ["system.roles", "system.users"],
        }))).await, "rights_not_held").await;
        assert!(app.store.roles.list().await.unwrap().iter().all(|r| r.role.name != "后门"));

        // Their own role widened.
        let own = app.store.roles.get(roles_only).await.unwrap();
        refused(bearer(&app, &t, Method::PATCH, &format!("/api/v1/roles/{roles_only}"), Some(json!({
            "rights": ["system.roles", "system.audit"], "version": own.role.version,
        }))).await, "rights_not_held").await;
        assert_eq!(app.store.roles.get(roles_only).await.unwrap().rights, ["system.roles"]);

        // Roles holding rights they lack: edited, stripped or deleted.
        for id in [admin_role, am_role] {
            let r = app.store.roles.get(id).await.unwrap();
            refused(bearer(&app, &t, Method::PATCH, &format!("/api/v1/roles/{id}"), Some(json!({
                "rights": ["system.roles"], "version": r.role.version,
            }))).await, "target_outranks").await;
            assert_eq!(app.store.roles.get(id).await.unwrap().rights, r.rights);
        }
        let spare = role_with(&app, "临时角色", &[Right::ReportRead]).await;
        refused(bearer(&app, &t, Method::DELETE, &format!("/api/v1/roles/{spare}?version=1"), None).await,
            "target_outranks").await;
        assert!(app.store.roles.get(spare).await.is_ok());

        // What they hold they may pass on.
        let ok = bearer(&app, &t, Method::POST, "/api/v1/roles", Some(json!({
            "name": "副角色管理员", "data_scope": "all", "rights": ["system.roles"],
        }))).await;
        assert_eq!(ok.status(), 201);
        assert_eq!(denials(&app).await.len(), 5);
    }

    async fn escalation_through_the_pages_is_refused_with_a_403_form_and_nothing_changes(app) {
        let users_only = role_with(&app, "用户管理员", &[Right::SystemUsers]).await;
        let roles_only = role_with(&app, "角色管理员", &[Right::SystemRoles]).await;
        user_with_role(&app, "delegate", users_only).await;
        user_with_role(&app, "rolesmith", roles_only).await;
        let admin_role = role_id(&app, "admin").await;
        let admin = admin_id(&app).await;
        let before = admin_state(&app).await;
        let s = app.login("delegate", PW).await;

        // The form offers only roles the delegate holds.
        let html = s.get("/users/new").await.text().await.unwrap();
        assert!(html.contains("用户管理员") && !html.contains("系统管理员"), "{html}");

        let resp = s.post_form("/users", &[("username", "sock"), ("display_name", "马甲"),
            ("role_id", &admin_role.to_string()), ("password", PW)]).await;
        assert_eq!(resp.status(), 403);
        assert!(resp.text().await.unwrap().contains("您不能授予或分配自己没有的权限"));
        assert!(app.store.users.by_username("sock").await.unwrap().is_none());

        let resp = s.post_form(&format!("/users/{admin}/password"), &[("password", "i-know-this-now-2026")]).await;
        assert_eq!(resp.status(), 403);
        let v = app.store.users.get(admin).await.unwrap().version.to_string();
        let resp = s.post_form(&format!("/users/{admin}"), &[("display_name", "系统管理员"),
            ("email", ""), ("role_id", &admin_role.to_string()), ("disabled", "on"), ("version", &v)]).await;
        assert_eq!(resp.status(), 403);
        assert_eq!(admin_state(&app).await, before);

        let am = app.create_user("li.na", "account_manager", PW).await;
        let v = app.store.users.get(am).await.unwrap().version.to_string();
        let resp = s.post_form(&format!("/users/{am}"), &[("display_name", "李娜"), ("email", ""),
            ("role_id", &admin_role.to_string()), ("version", &v)]).await;
        assert_eq!(resp.status(), 403);
        assert_ne!(app.store.users.get(am).await.unwrap().role_id, admin_role);

        // The role editor: rights the editor lacks are shown disabled, and forcing them is refused.
        let r = app.login("rolesmith", PW).await;
        let html = r.get(&format!("/roles/{roles_only}")).await.text().await.unwrap();
        assert!(html.contains(r#"value="system.users" disabled"#), "{html}");
        let v = app.store.roles.get(roles_only).await.unwrap().role.version.to_string();
        let resp = r.post_form(&format!("/roles/{roles_only}"), &[("name", "角色管理员"), ("description", ""),
            ("scope", "all"), ("rights", "system.roles"), ("rights", "system.users"), ("version", &v)]).await;
        assert_eq!(resp.status(), 403);
        assert_eq!(app.store.roles.get(roles_only).await.unwrap().rights, ["system.roles"]);
        let resp = r.post_form("/roles", &[("name", "后门"), ("description", ""), ("scope", "all"),
            ("rights", "customer.read")]).await;
        assert_eq!(resp.status(), 403);

        let d = denials(&app).await;
        assert_eq!(d.len(), 6, "{d:?}");
        assert!(d.contains(&("user".into(), "sock".into(), "rights_not_held".into())), "{d:?}");
        assert!(d.contains(&("user".into(), admin.to_string(), "target_outranks".into())), "{d:?}");
    }

    async fn administrators_reset_other_peoples_passwords_not_their_own(app) {
        let t = app.token_for("admin").await;
        let admin = admin_id(&app).await;
        let before = admin_state(&app).await;
        refused(bearer(&app, &t, Method::POST, &format!("/api/v1/users/{admin}/password"),
            Some(json!({"password": "a-new-admin-pass-1"}))).await, "own_account").await;
        assert_eq!(admin_state(&app).await, before);
        // The token still works: the reset did not happen.
        assert_eq!(bearer(&app, &t, Method::GET, "/api/v1/me", None).await.status(), 200);
        let am = app.create_user("li.na", "account_manager", PW).await;
        let ok = bearer(&app, &t, Method::POST, &format!("/api/v1/users/{am}/password"),
            Some(json!({"password": "temporary-pass-77"}))).await;
        assert_eq!(ok.status(), 204);
    }

    async fn the_last_active_administrator_can_be_neither_disabled_nor_demoted(app) {
        let admin = admin_id(&app).await;
        let am_role = role_id(&app, "account_manager").await;
        // The command line acts as the system, holding every right: still refused.
        let err = app.store.users.set_disabled(admin, true, &Actor::system()).await.unwrap_err();
        assert!(err.to_string().contains("last_administrator"), "{err}");
        let u = app.store.users.get(admin).await.unwrap();
        let demote = kehu_store::users::UserChanges {
            display_name: u.display_name.clone(), email: None, role_id: am_role, disabled: false,
        };
        let err = app.store.users.update(admin, &demote, u.version, &Actor::system()).await.unwrap_err();
        assert!(err.to_string().contains("last_administrator"), "{err}");

        // A custom role with every right, held by the only other administrator, cannot be stripped
        // once the built-in administrator is gone.
        let all: Vec<Right> = Right::ALL.to_vec();
        let full_role = role_with(&app, "超级管理员", &all).await;
        let second = user_with_role(&app, "second", full_role).await;
        app.store.users.set_disabled(admin, true, &Actor::system()).await.unwrap();
        let err = app.store.users.set_disabled(second, true, &Actor::system()).await.unwrap_err();
        assert!(err.to_string().contains("last_administrator"), "{err}");
        let r = app.store.roles.get(full_role).await.unwrap();
        let lesser = RoleInput { name: "超级管理员".into(), description: None, scope: DataScope::All,
            rights: vec![Right::SystemUsers] };
        let err = app.store.roles.update(full_role, &lesser, r.role.version, &Actor::system()).await.unwrap_err();
        assert!(err.to_string().contains("last_administrator"), "{err}");
        assert_eq!(app.store.roles.get(full_role).await.unwrap().rights.len(), Right::ALL.len());
        assert!(!app.store.users.get(second).await.unwrap().disabled);
        assert_eq!(denials(&app).await.len(), 4);
    }
}
