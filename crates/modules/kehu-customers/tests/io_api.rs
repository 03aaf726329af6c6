//! Export and vCard import over HTTP on SQLite and PostgreSQL: the list's filters and the data
//! scope hold for a file too, formula cells are neutralised, an exported file imports back
//! to the same customers, contacts go out and come back as vCard 4.0, and bad requests are
//! problem documents.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use chrono::FixedOffset;
use kehu_customers::import::{Context, Kind, import_file};
use kehu_customers::store::{CustomerFilter, CustomerStore};
use kehu_domain::policy::OwnerFilter;
use kehu_domain::role::RoleInput;
use kehu_store::PageRequest;
use kehu_store::audit::Actor;
use kehu_store::page::ListRequest;
use kehu_testkit::json::call;
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, TestBackend};
use kehu_web::import::ImportOptions;
use serde_json::{Value, json};

mod common;
use common::{app, on_both};

const PW: &str = "lang-genug-123";

async fn token(app: &TestApp, username: &str, role: &str) -> (i64, String) {
    let id = app.create_user(username, role, PW).await;
    (id, app.token_for(username).await)
}

async fn create(app: &TestApp, t: &str, body: Value) -> i64 {
    let (s, c) = call(app, t, Method::POST, "/api/v1/customers", Some(body)).await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_i64().unwrap()
}

/// Status, content type and body of a GET with `t`'s token.
async fn download(app: &TestApp, t: &str, path: &str) -> (u16, String, Vec<u8>) {
    let r = app
        .client()
        .get(app.url(path))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

/// Gives the account manager role `customer.export` (a company may allow it).
async fn let_managers_export(app: &TestApp) {
    let role = app
        .store
        .roles
        .by_code("account_manager")
        .await
        .unwrap()
        .unwrap();
    let detail = app.store.roles.get(role.id).await.unwrap();
    let mut rights = detail.rights.clone();
    rights.push("customer.export".into());
    let input = RoleInput::parse(
        &detail.role.name,
        detail.role.description.as_deref().unwrap_or_default(),
        &detail.role.data_scope,
        &rights,
    )
    .unwrap();
    app.store
        .roles
        .update(role.id, &input, detail.role.version, &Actor::system())
        .await
        .unwrap();
}

fn store(app: &TestApp) -> CustomerStore {
    CustomerStore::new(
        app.store.db.clone(),
        FixedOffset::east_opt(8 * 3600).unwrap(),
    )
}

on_both!(
    a_csv_export_keeps_the_filters_and_neutralises_formulas,
    a_manager_exports_only_their_own_customers,
    an_exported_file_imports_back_to_the_same_customers,
    contacts_go_out_and_come_back_as_vcards,
    bad_export_and_import_requests_are_problem_documents,
);

async fn a_csv_export_keeps_the_filters_and_neutralises_formulas(b: TestBackend) {
    let app = app(b).await;
    let (_, boss) = token(&app, "boss", "admin").await;
    create(
        &app,
        &boss,
        json!({"name": "=cmd|' /C calc'!A0", "region": "440000"}),
    )
    .await;
    create(&app, &boss, json!({"name": "北京客户", "region": "110000"})).await;
    let (s, ct, body) = download(
        &app,
        &boss,
        "/api/v1/customers/export?format=csv&region=440000",
    )
    .await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/csv"), "{ct}");
    let text = String::from_utf8(body).unwrap();
    assert!(text.starts_with('\u{feff}'), "a BOM for Excel");
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("客户编号,客户名称,客户经理,地区"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains(",'=cmd|' /C calc'!A0,"), "{}", lines[1]);
    assert!(
        lines[1].contains(",广东省,"),
        "regions as labels: {}",
        lines[1]
    );
    assert!(!text.contains("北京客户"));

    let (s, ct, body) = download(&app, &boss, "/api/v1/customers/export?format=xlsx").await;
    assert_eq!(s, 200);
    assert!(ct.contains("spreadsheetml"), "{ct}");
    assert!(body.starts_with(b"PK"), "a zip");
    let mut rows = kehu_io::TableReader::from_reader(
        std::io::Cursor::new(body),
        &kehu_io::ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(rows.header()[1], "客户名称");
    assert_eq!(rows.by_ref().count(), 2);
}

async fn a_manager_exports_only_their_own_customers(b: TestBackend) {
    let app = app(b).await;
    let_managers_export(&app).await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let (_, wang) = token(&app, "wang", "account_manager").await;
    create(&app, &li, json!({"name": "李的客户"})).await;
    let theirs = create(&app, &wang, json!({"name": "王的客户"})).await;
    let (_, s) = call(
        &app,
        &wang,
        Method::POST,
        &format!("/api/v1/customers/{theirs}/contacts"),
        Some(json!({"name": "王的联系人", "mobile": "13800138000"})),
    )
    .await;
    assert_eq!(s["name"], "王的联系人");
    let (s, _, body) = download(&app, &li, "/api/v1/customers/export?format=csv").await;
    assert_eq!(s, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("李的客户") && !text.contains("王的客户"),
        "{text}"
    );
    // Asking for another manager's customer's contacts finds none.
    let path = format!("/api/v1/contacts/export?format=vcf&customer_id={theirs}");
    let (s, _, body) = download(&app, &li, &path).await;
    assert_eq!(s, 200);
    assert!(!String::from_utf8(body).unwrap().contains("王的联系人"));
    let (_, _, body) = download(&app, &wang, &path).await;
    assert!(String::from_utf8(body).unwrap().contains("FN:王的联系人"));
}

async fn an_exported_file_imports_back_to_the_same_customers(b: TestBackend) {
    let app1 = app(b).await;
    let (boss_id, boss) = token(&app1, "boss", "admin").await;
    create(
        &app1,
        &boss,
        json!({
            "name": "广州华强电子", "region": "440000", "level": "key_account",
            "phone": "020-8888 6666", "satisfaction": 4, "registered_capital": "1234.5",
            "tags": ["VIP", "华南"], "birthday": "1980-02-29", "gender": "female",
            "size": "medium", "memo": "=SUM(A1:A9) 不是公式"
        }),
    )
    .await;
    create(
        &app1,
        &boss,
        json!({"name": "深圳宏达", "industry": "manufacturing"}),
    )
    .await;
    let export = |format: &'static str| {
        let (app1, boss) = (&app1, boss.clone());
        async move {
            let path = format!("/api/v1/customers/export?format={format}");
            let (s, _, body) = download(app1, &boss, &path).await;
            assert_eq!(s, 200);
            body
        }
    };
    let original = store(&app1)
        .list(
            OwnerFilter::system(),
            &CustomerFilter::default(),
            ListRequest::from(PageRequest::new(Some(1), Some(50))),
        )
        .await
        .unwrap()
        .items;
    for format in ["csv", "xlsx"] {
        let app2 = app(b).await;
        app2.create_user("boss", "admin", PW).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("export.{format}"));
        std::fs::write(&path, export(format).await).unwrap();
        let s2 = store(&app2);
        let boss2 = app2.store.users.by_username("boss").await.unwrap().unwrap();
        let cx = Context::load(&s2, OwnerFilter::system(), Actor::system(), boss2.id)
            .await
            .unwrap();
        let summary = import_file(
            &s2,
            Kind::Customers,
            cx,
            &path,
            &ImportOptions::default(),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(
            summary.counts.line(),
            "imported 2, updated 0, skipped 0, rejected 0",
            "{format}"
        );
        let back = s2
            .list(
                OwnerFilter::system(),
                &CustomerFilter::default(),
                ListRequest::from(PageRequest::new(Some(1), Some(50))),
            )
            .await
            .unwrap()
            .items;
        let key = |c: &kehu_customers::store::Customer| {
            format!(
                "{:?}",
                (
                    (
                        &c.name,
                        &c.region,
                        &c.level,
                        &c.industry,
                        &c.phone,
                        c.satisfaction
                    ),
                    (
                        c.registered_capital,
                        &c.tags,
                        c.birthday,
                        &c.gender,
                        &c.size,
                        &c.memo
                    ),
                    &c.owner_name,
                )
            )
        };
        let mut a: Vec<_> = original.iter().map(key).collect();
        let mut z: Vec<_> = back.iter().map(key).collect();
        a.sort();
        z.sort();
        assert_eq!(a, z, "{format} round trip");
        let _ = boss_id;
    }
}

async fn contacts_go_out_and_come_back_as_vcards(b: TestBackend) {
    let app = app(b).await;
    let (_, boss) = token(&app, "boss", "admin").await;
    let from = create(&app, &boss, json!({"name": "甲公司"})).await;
    let to = create(&app, &boss, json!({"name": "乙公司"})).await;
    for body in [
        json!({"name": "张三", "mobile": "13800138000", "email": "zhang@example.cn", "position": "经理"}),
        json!({"name": "李四", "phone": "020-8888 6666"}),
    ] {
        let (s, c) = call(
            &app,
            &boss,
            Method::POST,
            &format!("/api/v1/customers/{from}/contacts"),
            Some(body),
        )
        .await;
        assert_eq!(s, 201, "{c}");
    }
    let (s, ct, vcf) = download(
        &app,
        &boss,
        &format!("/api/v1/contacts/export?format=vcf&customer_id={from}"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/vcard"), "{ct}");
    let text = String::from_utf8(vcf.clone()).unwrap();
    assert_eq!(text.matches("VERSION:4.0").count(), 2, "{text}");
    assert!(text.contains("TEL;TYPE=CELL:+8613800138000"), "{text}");
    let post = |vcf: Vec<u8>, customer: i64| {
        let (app, boss) = (&app, boss.clone());
        async move {
            let r = app
                .client()
                .post(app.url(&format!("/api/v1/contacts/import?customer_id={customer}")))
                .bearer_auth(&boss)
                .header("content-type", "text/vcard")
                .body(vcf)
                .send()
                .await
                .unwrap();
            kehu_testkit::json::read(r).await
        }
    };
    let (s, summary) = post(vcf.clone(), to).await;
    assert_eq!(
        (s, &summary),
        (
            200,
            &json!({"imported": 2, "updated": 0, "skipped": 0, "rejected": 0})
        )
    );
    let (_, again) = post(vcf, to).await;
    assert_eq!(again["skipped"], 2, "the same cards again are duplicates");
    let (_, list) = call(
        &app,
        &boss,
        Method::GET,
        &format!("/api/v1/customers/{to}/contacts"),
        None,
    )
    .await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["张三", "李四"], "the first is the primary");
    assert_eq!(list["items"][0]["mobile"], "+8613800138000");
    assert_eq!(list["items"][0]["position"], "经理");
    // A file past a megabyte (the API's usual body limit) comes in whole: no card cap.
    let mut many = String::new();
    for i in 0..6000 {
        many.push_str(&format!(
            "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:联系人{i}\r\nEMAIL:c{i}@example.cn\r\nNOTE:{}\r\nEND:VCARD\r\n",
            "备注".repeat(20)
        ));
    }
    assert!(many.len() > 1 << 20);
    let (s, summary) = post(many.into_bytes(), from).await;
    assert_eq!(
        (s, summary["imported"].as_u64()),
        (200, Some(6000)),
        "{summary}"
    );
    // Imported cards are in the header search like contacts entered by hand.
    let (s, found) = call(
        &app,
        &boss,
        Method::GET,
        "/api/v1/search?q=%E8%81%94%E7%B3%BB%E4%BA%BA5999",
        None,
    )
    .await;
    assert_eq!(s, 200, "{found}");
    let titles: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["title"].as_str())
        .collect();
    assert_eq!(titles, ["联系人5999"], "{found}");
}

async fn bad_export_and_import_requests_are_problem_documents(b: TestBackend) {
    let app = app(b).await;
    let (_, boss) = token(&app, "boss", "admin").await;
    let (_, sup) = token(&app, "sup", "sales_supervisor").await;
    let (_, li) = token(&app, "li", "account_manager").await;
    let (s, _, body) = download(&app, &boss, "/api/v1/customers/export?format=pdf").await;
    let p: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (s, p["code"].as_str()),
        (400, Some("malformed_query")),
        "{p}"
    );
    let (s, _, body) = download(&app, &boss, "/api/v1/customers/export?format=vcf").await;
    let p: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (s, p["code"].as_str()),
        (422, Some("validation_failed")),
        "{p}"
    );
    let (s, _, _) = download(&app, &boss, "/api/v1/customers/export").await;
    assert_eq!(s, 400, "the format is required");
    let (s, _, _) = download(&app, &li, "/api/v1/customers/export?format=csv").await;
    assert_eq!(s, 403, "managers lack customer.export by default");
    // The vCard import needs `customer.import` (the administrator's), and a customer in scope.
    let mine = create(&app, &li, json!({"name": "李的客户"})).await;
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:王五\r\nEND:VCARD\r\n";
    for (t, want) in [(&boss, 200), (&sup, 403), (&li, 403)] {
        let r = app
            .client()
            .post(app.url(&format!("/api/v1/contacts/import?customer_id={mine}")))
            .bearer_auth(t)
            .body(card)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want);
    }
    let r = app
        .client()
        .post(app.url("/api/v1/contacts/import?customer_id=999999"))
        .bearer_auth(&boss)
        .body(card)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // Garbage is no card: counted, never a 500.
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/contacts/import?customer_id={mine}")))
        .bearer_auth(&boss)
        .body(vec![0xff_u8, 0xfe, 0, 1, 2, 3])
        .send()
        .await
        .unwrap();
    let (s, v) = kehu_testkit::json::read(r).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["imported"], 0);
}
