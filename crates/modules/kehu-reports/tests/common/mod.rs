//! What the reports' test files share: kehu with every product module over a fresh
//! database (its scheduler still: the stories run the jobs when they mean to), and a world to
//! arrange users, products, customers and orders in through the API and to read the reports
//! back — as JSON, as the XLSX a user downloads, as the page.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests; not every file uses every helper"
)]

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use kehu_testkit::reqwest::Method;
use kehu_testkit::{Session, TestApp, TestBackend, json, spawn_app_with_modules_and};
use kehu_web::Modules;
use serde_json::{Value, json};

pub const PW: &str = "lang-genug-123";

/// The platform's modules and every product module.
pub fn modules() -> Modules {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_orders::module());
    modules.push(kehu_sales::module());
    modules.push(kehu_service::module());
    modules.push(kehu_loss::module());
    modules.push(kehu_reports::module());
    Modules::new(modules).unwrap()
}

/// Today in the configured time zone (Asia/Shanghai).
pub fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive()
}

pub struct World {
    pub app: TestApp,
    /// The administrator's token.
    pub admin: String,
}

impl World {
    pub async fn new(b: TestBackend) -> World {
        let app = spawn_app_with_modules_and(b, modules(), |c| c.job_tick_secs = 0).await;
        let admin = app.token_for("admin").await;
        World { app, admin }
    }

    pub async fn call(&self, t: &str, m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        json::call(&self.app, t, m, path, body).await
    }

    /// A GET that must answer 200: its answer.
    pub async fn get(&self, t: &str, path: &str) -> Value {
        let (s, v) = self.call(t, Method::GET, path, None).await;
        assert_eq!(s, 200, "{path}: {v}");
        v
    }

    /// A POST that must succeed (200 or 201): its answer.
    pub async fn post(&self, t: &str, path: &str, body: Value) -> Value {
        let (s, v) = self.call(t, Method::POST, path, Some(body)).await;
        assert!(s == 200 || s == 201, "{path}: {s} {v}");
        v
    }

    /// A user of `role`: their id and token.
    pub async fn user(&self, name: &str, role: &str) -> (i64, String) {
        let id = self.app.create_user(name, role, PW).await;
        (id, self.app.token_for(name).await)
    }

    /// A product the administrator enters: its answer.
    pub async fn product(&self, name: &str, unit: &str, price: &str, cost: Option<&str>) -> Value {
        let mut body = json!({"name": name, "unit": unit, "price": price});
        if let Some(c) = cost {
            body["cost"] = json!(c);
        }
        self.post(&self.admin, "/api/v1/products", body).await
    }

    pub async fn stock(&self, product: i64, warehouse: &str, quantity: &str) {
        let body = json!({"product_id": product, "warehouse": warehouse, "quantity": quantity});
        self.post(&self.admin, "/api/v1/stock", body).await;
    }

    /// A customer the holder of `t` enters (theirs): its id.
    pub async fn customer(&self, t: &str, body: Value) -> i64 {
        self.post(t, "/api/v1/customers", body).await["id"]
            .as_i64()
            .unwrap()
    }

    /// An order of `lines` (product, quantity, price): its id and version.
    pub async fn order(
        &self,
        t: &str,
        customer: i64,
        date: &str,
        lines: &[(i64, &str, &str)],
    ) -> (i64, i64) {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(p, q, price)| json!({"product_id": p, "quantity": q, "price": price}))
            .collect();
        let body = json!({"customer_id": customer, "date": date, "lines": lines});
        let o = self.post(t, "/api/v1/orders", body).await;
        (o["id"].as_i64().unwrap(), o["version"].as_i64().unwrap())
    }

    /// Moves order `(id, version)` on by `step` (`cancel`, `deliver`).
    pub async fn step(&self, t: &str, order: (i64, i64), step: &str) {
        let path = format!("/api/v1/orders/{}/{step}?version={}", order.0, order.1);
        let (s, o) = self.call(t, Method::POST, &path, Some(json!({}))).await;
        assert_eq!(s, 200, "{o}");
    }

    /// A file as a user downloads it: status, content type, bytes.
    pub async fn download(&self, t: &str, path: &str) -> (u16, String, Vec<u8>) {
        let r = self
            .app
            .client()
            .get(self.app.url(path))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let kind = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, kind, r.bytes().await.unwrap().to_vec())
    }

    /// The cells of the first sheet of the XLSX export at `path`.
    pub async fn sheet(&self, t: &str, path: &str) -> Vec<Vec<Data>> {
        let (s, kind, bytes) = self.download(t, path).await;
        assert_eq!(s, 200, "{path}");
        assert!(kind.contains("spreadsheetml"), "{kind}");
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range_at(0).unwrap().unwrap();
        sheet.rows().map(<[Data]>::to_vec).collect()
    }
}

/// The page at `path` as the session's user sees it (200).
pub async fn text(s: &Session, path: &str) -> String {
    let r = s.get(path).await;
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.text().await.unwrap()
}
