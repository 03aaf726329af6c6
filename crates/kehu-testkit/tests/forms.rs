//! The one form path (`kehu_web::form::submit`) end to end: a saved form answers 303 to the
//! record with `?saved=1` (POST-redirect-GET), a form the user can fix comes back with the
//! errors and what they typed (a stale one with 409; `conflict.rs` tells that story). Every
//! story on SQLite and on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_testkit::json::call;
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, both_backends};
use serde_json::Value;

/// The `industry` items, as the API lists them.
async fn industry_items(app: &TestApp) -> Vec<Value> {
    let token = app.token_for("admin").await;
    let path = "/api/v1/dictionary?kind=industry&per_page=200";
    let (status, list) = call(app, &token, Method::GET, path, None).await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().clone()
}

both_backends! {
    async fn a_saved_form_redirects_to_the_record_and_showing_it_saves_nothing_again(app) {
        let admin = app.admin().await;
        let before = industry_items(&app).await.len();
        let resp = admin.post_form("/dictionary", &[
            ("kind", "industry"), ("item", "农业"), ("value", "agriculture"), ("sort", "20"),
        ]).await;
        assert_eq!(resp.status(), 303);
        let items = industry_items(&app).await;
        assert_eq!(items.len(), before + 1);
        let item = items.iter().find(|e| e["value"] == "agriculture").unwrap();
        let (id, version) = (item["id"].as_i64().unwrap(), item["version"].as_i64().unwrap());
        // A new entry opens as itself, saying "saved".
        assert_eq!(resp.headers()["location"], format!("/dictionary/{id}?saved=1").as_str());

        let resp = admin.post_form(&format!("/dictionary/{id}"), &[
            ("kind", "industry"), ("item", "农林牧渔"), ("value", "agriculture"), ("sort", "20"),
            ("version", &version.to_string()),
        ]).await;
        assert_eq!(resp.status(), 303);
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(location, format!("/dictionary/{id}?saved=1"));

        // The page it leads to says "saved"; showing it (or reloading) changes nothing.
        for _ in 0..2 {
            let page = admin.get(&location).await;
            assert_eq!(page.status(), 200);
            assert!(page.text().await.unwrap().contains("已保存"));
        }
        let stored = app.store.dictionary.get(id).await.unwrap();
        assert_eq!((stored.item.as_str(), i64::from(stored.version)), ("农林牧渔", version + 1));
        assert_eq!(industry_items(&app).await.len(), before + 1);
    }

    async fn a_stale_form_comes_back_with_409_keeping_what_the_user_typed(app) {
        let admin = app.admin().await;
        let items = industry_items(&app).await;
        let item = items.iter().find(|e| e["editable"] == true).unwrap();
        let id = item["id"].as_i64().unwrap();
        let version = item["version"].as_i64().unwrap();
        let path = format!("/dictionary/{id}");
        let edit = |label: &'static str, version: i64| {
            let admin = &admin;
            let path = path.clone();
            let text = |k: &str| item[k].as_str().map_or_else(|| item[k].to_string(), str::to_owned);
            let (kind, value, sort) = (text("kind"), text("value"), text("sort"));
            async move {
                admin.post_form(&path, &[
                    ("kind", kind.as_str()), ("item", label), ("value", value.as_str()),
                    ("sort", sort.as_str()), ("version", &version.to_string()),
                ]).await
            }
        };
        assert_eq!(edit("第一次修改", version).await.status(), 303);

        // Someone else's change came first: the form keeps this user's text and says why.
        let stale = edit("第二次修改", version).await;
        assert_eq!(stale.status(), 409);
        let html = stale.text().await.unwrap();
        assert!(html.contains("value=\"第二次修改\""), "{html}");
        assert!(html.contains("此记录已被他人修改"), "{html}");
        assert_eq!(app.store.dictionary.get(id).await.unwrap().item, "第一次修改");
    }
}
