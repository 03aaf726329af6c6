//! What the loss module's test files share: an application running the customer, order and
//! loss modules, and a world to arrange customers, their orders and scans in through the API.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests; not every file uses every helper"
)]

use chrono::{Months, NaiveDate, Utc};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, TestBackend, json, spawn_app_with_modules_and};
use kehu_web::Modules;
use serde_json::{Value, json};

pub const PW: &str = "lang-genug-123";
/// Guangdong and Zhejiang (dictionary `region`).
pub const GUANGDONG: &str = "440000";
pub const ZHEJIANG: &str = "330000";

/// The modules of the application under test: the platform's, customers, orders and loss.
pub fn modules() -> Modules {
    let mut modules = kehu_web::platform::modules();
    modules.push(kehu_customers::module());
    modules.push(kehu_orders::module());
    modules.push(kehu_loss::module());
    Modules::new(modules).unwrap()
}

/// kehu with those modules over a fresh database, its scheduler still (the stories run the
/// scan when they mean to).
pub async fn app(backend: TestBackend) -> TestApp {
    spawn_app_with_modules_and(backend, modules(), |c| c.job_tick_secs = 0).await
}

pub struct World {
    pub app: TestApp,
    /// The administrator's token.
    pub admin: String,
    product: i64,
}

/// Today in Beijing (the default time zone): the day the scan counts back from.
pub fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive()
}

/// Midnight of `day` in Beijing.
pub fn midnight(day: NaiveDate) -> chrono::DateTime<Utc> {
    use chrono::TimeZone;
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// `months` months and `days` days before today.
pub fn ago(months: u32, days: u64) -> NaiveDate {
    today().checked_sub_months(Months::new(months)).unwrap() - chrono::Days::new(days)
}

pub async fn world(backend: TestBackend) -> World {
    let app = app(backend).await;
    let admin = app.token_for("admin").await;
    let (s, p) = json::call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/products",
        Some(json!({"name": "静音轴承", "unit": "个", "price": "12.50"})),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let product = p["id"].as_i64().unwrap();
    World {
        app,
        admin,
        product,
    }
}

impl World {
    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        json::call(&self.app, token, method, path, body).await
    }

    /// A user with role `role`: their id and token.
    pub async fn user(&self, username: &str, role: &str) -> (i64, String) {
        let id = self.app.create_user(username, role, PW).await;
        (id, self.app.token_for(username).await)
    }

    /// A customer the holder of `token` enters (theirs): its id.
    pub async fn customer(&self, token: &str, name: &str, region: &str) -> i64 {
        let (s, c) = self
            .call(
                token,
                Method::POST,
                "/api/v1/customers",
                Some(json!({"name": name, "region": region})),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        c["id"].as_i64().unwrap()
    }

    /// An order of customer `customer` on day `date`, entered through the API by the holder
    /// of `token`: its id.
    pub async fn order(&self, token: &str, customer: i64, date: NaiveDate) -> i64 {
        let body = json!({
            "customer_id": customer,
            "date": date.to_string(),
            "lines": [{"product_id": self.product, "quantity": "2"}],
        });
        let (s, o) = self
            .call(token, Method::POST, "/api/v1/orders", Some(body))
            .await;
        assert_eq!(s, 201, "{o}");
        o["id"].as_i64().unwrap()
    }

    /// Runs the scan now as the administrator: the run's figures.
    pub async fn scan(&self) -> Value {
        let (s, run) = self
            .call(&self.admin, Method::POST, "/api/v1/jobs/loss-scan", None)
            .await;
        assert_eq!(s, 200, "{run}");
        assert_eq!(run["status"], "succeeded", "{run}");
        run["figures"].clone()
    }

    /// Loss records the holder of `token` sees with query `q` (`status=warning` …).
    pub async fn records(&self, token: &str, q: &str) -> Vec<Value> {
        let (s, l) = self
            .call(
                token,
                Method::GET,
                &format!("/api/v1/loss-records?{q}"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{l}");
        l["items"].as_array().unwrap().clone()
    }

    /// The live or last record of customer `id` (the administrator sees all).
    pub async fn record_of(&self, customer: i64) -> Value {
        let items = self
            .records(&self.admin, &format!("customer_id={customer}"))
            .await;
        assert!(!items.is_empty(), "customer {customer} has no loss record");
        items[0].clone()
    }

    /// Customer `id`'s status (`active`, `loss_warned`, `lost`).
    pub async fn status_of(&self, customer: i64) -> String {
        let (s, c) = self
            .call(
                &self.admin,
                Method::GET,
                &format!("/api/v1/customers/{customer}"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{c}");
        c["status"].as_str().unwrap().to_owned()
    }

    /// Sets customer `id`'s creation back to `day` (a customer entered long ago).
    pub async fn created_on(&self, customer: i64, day: NaiveDate) {
        self.set(customer, "created_at", midnight(day)).await;
    }

    /// Writes customer `id`'s `column` as the stores write it (bound, not as text).
    pub async fn set(&self, customer: i64, column: &str, at: chrono::DateTime<Utc>) {
        use sea_query::{Alias, Expr, ExprTrait, Query};
        let q = Query::update()
            .table(Alias::new("customers"))
            .value(Alias::new(column), Expr::val(at))
            .and_where(Expr::col(Alias::new("id")).eq(customer))
            .to_owned();
        self.app.store.db.execute(&q).await.unwrap();
    }
}

#[allow(unused_imports, reason = "not every test file runs stories on both")]
pub(crate) use kehu_testkit::on_both;
