//! `/api/v1/products`, `/api/v1/stock`, `/api/v1/orders` and `/api/v1/customers/{id}/orders`:
//! products (产品), stock (库存) and orders (订单) over JSON, on the platform's conventions
//! (`ListOf`, problem+json, `version` on every change, a PATCH as a merge patch parsed like a
//! create). Money is a decimal string (`"1234.50"`), quantities a decimal with up to three
//! places. Orders are within the caller's data scope: another manager's customer or order is
//! 404. Rights: `product.read`/`product.write`, `order.read`/`order.write`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use kehu_domain::error::Errors;
use kehu_domain::money::Money;
use kehu_store::page::Sort;
use kehu_web::AppState;
use kehu_web::api::{
    BadRequest, Conflict, Decimal, Forbidden, Granted, Invalid, Json, ListOf, NotFound, Path,
    Query, Unauthenticated, VersionQuery, blank_as_none, created, list_request, merge_patch,
    required_version, rules,
};
use kehu_web::error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::domain::{
    LineInput, NewOrder, NewProduct, NewStock, OrderInput, OrderStatus, ProductInput, StockInput,
};
use crate::need;
use crate::products::{Product, ProductFilter, ProductSort, StockFilter, StockRow, StockSort};
use crate::store::{Order, OrderFilter, OrderLine, OrderSort};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products", get(product_list).post(create_product))
        .route(
            "/api/v1/products/{id}",
            get(show_product)
                .patch(update_product)
                .delete(remove_product),
        )
        .route("/api/v1/stock", get(stock_list).post(add_stock))
        .route("/api/v1/stock/{id}", get(show_stock).patch(update_stock))
        .route("/api/v1/orders", get(order_list).post(create_order))
        .route("/api/v1/orders/{id}", get(show_order))
        .route("/api/v1/orders/{id}/cancel", post(cancel_order))
        .route("/api/v1/orders/{id}/deliver", post(deliver_order))
        .route("/api/v1/customers/{id}/orders", get(customer_orders))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        product_list, create_product, show_product, update_product, remove_product,
        stock_list, add_stock, show_stock, update_stock,
        order_list, create_order, show_order, cancel_order, deliver_order, customer_orders
    ),
    tags((name = "orders", description = "Products (产品), stock (库存) and orders (订单)"))
)]
pub struct OrdersApi;

fn text(v: Option<String>) -> String {
    v.unwrap_or_default()
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A product (产品).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductOut {
    pub id: i64,
    pub name: String,
    /// 型号; empty when none.
    pub model: String,
    /// 等级/批次.
    pub grade: Option<String>,
    pub unit: String,
    /// The list price, yuan as a decimal string (`"1299.50"`).
    pub price: String,
    pub cost: Option<String>,
    pub memo: Option<String>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Send it back on PATCH and DELETE (optimistic locking).
    pub version: i32,
}

impl From<Product> for ProductOut {
    fn from(p: Product) -> Self {
        Self {
            price: p.price().to_string(),
            cost: p.cost().map(|c| c.to_string()),
            id: p.id,
            name: p.name,
            model: p.model,
            grade: p.grade,
            unit: p.unit,
            memo: p.memo,
            created_at: p.created_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

kehu_web::bodies! {
    /// A product's fields: `name`, `unit` and `price` are required; money is a decimal string
    /// with at most two places.
    ProductBody,
    /// Changes to a product: absent fields stay, `null` clears a field.
    ProductPatch {
        /// 1–80 characters.
        name: String,
        /// 型号.
        model: String,
        /// 等级/批次.
        grade: String,
        /// 个, 台, kg …
        unit: String,
        /// `"1299.50"`.
        price: String,
        cost: String,
        memo: String,
    }
}

impl From<ProductBody> for ProductInput {
    fn from(b: ProductBody) -> Self {
        Self {
            name: text(b.name),
            model: text(b.model),
            grade: text(b.grade),
            unit: text(b.unit),
            price: text(b.price),
            cost: text(b.cost),
            memo: text(b.memo),
        }
    }
}

impl From<ProductOut> for ProductBody {
    fn from(p: ProductOut) -> Self {
        Self {
            name: Some(p.name),
            model: Some(p.model),
            grade: p.grade,
            unit: Some(p.unit),
            price: Some(p.price),
            cost: p.cost,
            memo: p.memo,
        }
    }
}

fn product_sort() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    rules::sort::<ProductSort>()
}

fn stock_sort() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    rules::sort::<StockSort>()
}

fn order_sort() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    rules::sort::<OrderSort>()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// The beginning of the name or of the model.
    #[param(max_length = 64)]
    q: Option<String>,
    /// `name` (the default), `model`, `price` or `updated_at`; `-` in front sorts descending.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = product_sort)]
    sort: Option<Sort<ProductSort>>,
    /// Where to continue (a `next_cursor` or `prev_cursor`).
    #[param(max_length = 512)]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "kehu_web::api::page_number")]
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    #[serde(default, deserialize_with = "kehu_web::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/products", tag = "orders", params(ProductQuery),
    responses(
        (status = 200, description = "One page of the products", body = ListOf<ProductOut>),
        BadRequest, Unauthenticated, Forbidden,
    ))]
pub async fn product_list(
    State(state): State<AppState>,
    _: Granted<need::Products>,
    Query(q): Query<ProductQuery>,
) -> Result<axum::Json<ListOf<ProductOut>>, ApiError> {
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let f = ProductFilter { q: non_empty(q.q) };
    let l = crate::products(&state).list(&f, req).await?;
    Ok(axum::Json(ListOf::from_listing(l, ProductOut::from)))
}

#[utoipa::path(post, path = "/api/v1/products", tag = "orders",
    request_body = ProductBody,
    responses(
        (status = 201, description = "Created", body = ProductOut,
            headers(("Location" = String, description = "The new product's URL"))),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn create_product(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::ProductWrite>,
    Json(b): Json<ProductBody>,
) -> Result<Response, ApiError> {
    let d = NewProduct::parse(&ProductInput::from(b))?;
    let p = crate::products(&state).create(&d, &ctx.actor()).await?;
    Ok(created(
        format!("/api/v1/products/{}", p.id),
        ProductOut::from(p),
    ))
}

#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "orders",
    params(("id" = i64, Path, description = "Product id", minimum = 1)),
    responses(
        (status = 200, description = "The product", body = ProductOut),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn show_product(
    State(state): State<AppState>,
    _: Granted<need::Products>,
    Path(id): Path<i64>,
) -> Result<axum::Json<ProductOut>, ApiError> {
    Ok(axum::Json(crate::products(&state).get(id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "orders",
    params(("id" = i64, Path, description = "Product id", minimum = 1)),
    request_body = ProductPatch,
    responses(
        (status = 200, description = "The changed product (orders keep what they were placed with)", body = ProductOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn update_product(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::ProductWrite>,
    Path(id): Path<i64>,
    Json(p): Json<ProductPatch>,
) -> Result<axum::Json<ProductOut>, ApiError> {
    let store = crate::products(&state);
    let current = ProductOut::from(store.get(id).await?);
    let version = required_version(p.version)?;
    let merged = merge_patch(ProductBody::from(current), &p)?;
    let d = NewProduct::parse(&ProductInput::from(merged))?;
    let p = store.update(id, &d, version, &ctx.actor()).await?;
    Ok(axum::Json(p.into()))
}

#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "orders",
    params(("id" = i64, Path, description = "Product id", minimum = 1), VersionQuery),
    responses(
        (status = 204, description = "Deleted with its stock rows. A product on an order is never deleted: 409 `not_allowed`, reason `err-product-in-use`"),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn remove_product(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::ProductWrite>,
    Path(id): Path<i64>,
    Query(v): Query<VersionQuery>,
) -> Result<Response, ApiError> {
    let version = required_version(v.version)?;
    crate::products(&state)
        .delete(id, version, &ctx.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A stock row (库存): a product's quantity at a warehouse's location.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockOut {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub model: String,
    pub unit: String,
    /// 仓库.
    pub warehouse: String,
    /// 货位; empty when none.
    pub location: String,
    /// A decimal with up to three places (`"12.5"`).
    pub quantity: String,
    pub memo: Option<String>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<StockRow> for StockOut {
    fn from(s: StockRow) -> Self {
        Self {
            quantity: s.quantity().to_string(),
            id: s.id,
            product_id: s.product_id,
            product_name: s.product_name,
            model: s.model,
            unit: s.unit,
            warehouse: s.warehouse,
            location: s.location,
            memo: s.memo,
            updated_at: s.updated_at,
            version: s.version,
        }
    }
}

/// A stock row's fields; `product_id`, `warehouse` and `quantity` (zero or more) are required.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StockBody {
    pub product_id: Option<i64>,
    pub warehouse: Option<String>,
    pub location: Option<String>,
    /// `"12.5"` or `12.5`.
    #[schema(value_type = Option<String>)]
    pub quantity: Option<Decimal>,
    pub memo: Option<String>,
    /// On PATCH: the `version` last read.
    pub version: Option<i32>,
}

impl From<&StockBody> for StockInput {
    fn from(b: &StockBody) -> Self {
        Self {
            product_id: b.product_id.map(|i| i.to_string()).unwrap_or_default(),
            warehouse: b.warehouse.clone().unwrap_or_default(),
            location: b.location.clone().unwrap_or_default(),
            quantity: b.quantity.as_ref().map(Decimal::text).unwrap_or_default(),
            memo: b.memo.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockQuery {
    /// The beginning of the product's name or model.
    #[param(max_length = 64)]
    q: Option<String>,
    /// One warehouse (exact).
    warehouse: Option<String>,
    /// One product.
    #[serde(default, deserialize_with = "blank_as_none")]
    product_id: Option<i64>,
    /// `warehouse` (the default) or `updated_at`; `-` in front sorts descending.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = stock_sort)]
    sort: Option<Sort<StockSort>>,
    #[param(max_length = 512)]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "kehu_web::api::page_number")]
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    #[serde(default, deserialize_with = "kehu_web::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/stock", tag = "orders", params(StockQuery),
    responses(
        (status = 200, description = "One page of the stock query (库存查询)", body = ListOf<StockOut>),
        BadRequest, Unauthenticated, Forbidden,
    ))]
pub async fn stock_list(
    State(state): State<AppState>,
    _: Granted<need::Products>,
    Query(q): Query<StockQuery>,
) -> Result<axum::Json<ListOf<StockOut>>, ApiError> {
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let f = StockFilter {
        q: non_empty(q.q),
        warehouse: non_empty(q.warehouse),
        product_id: q.product_id,
    };
    let l = crate::products(&state).stock(&f, req).await?;
    Ok(axum::Json(ListOf::from_listing(l, StockOut::from)))
}

#[utoipa::path(post, path = "/api/v1/stock", tag = "orders",
    request_body = StockBody,
    responses(
        (status = 201, description = "Added; a second row for the same product, warehouse and location is 409 `already_exists`", body = StockOut,
            headers(("Location" = String, description = "The new row's URL"))),
        BadRequest, Unauthenticated, Forbidden, Conflict, Invalid,
    ))]
pub async fn add_stock(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::ProductWrite>,
    Json(b): Json<StockBody>,
) -> Result<Response, ApiError> {
    let d = NewStock::parse(&StockInput::from(&b))?;
    let s = crate::products(&state).add_stock(&d, &ctx.actor()).await?;
    Ok(created(
        format!("/api/v1/stock/{}", s.id),
        StockOut::from(s),
    ))
}

#[utoipa::path(get, path = "/api/v1/stock/{id}", tag = "orders",
    params(("id" = i64, Path, description = "Stock row id", minimum = 1)),
    responses(
        (status = 200, description = "The stock row", body = StockOut),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn show_stock(
    State(state): State<AppState>,
    _: Granted<need::Products>,
    Path(id): Path<i64>,
) -> Result<axum::Json<StockOut>, ApiError> {
    Ok(axum::Json(
        crate::products(&state).stock_row(id).await?.into(),
    ))
}

#[utoipa::path(patch, path = "/api/v1/stock/{id}", tag = "orders",
    params(("id" = i64, Path, description = "Stock row id", minimum = 1)),
    request_body = StockBody,
    responses(
        (status = 200, description = "The changed row; absent fields stay", body = StockOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn update_stock(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::ProductWrite>,
    Path(id): Path<i64>,
    Json(b): Json<StockBody>,
) -> Result<axum::Json<StockOut>, ApiError> {
    let store = crate::products(&state);
    let cur = store.stock_row(id).await?;
    let version = required_version(b.version)?;
    let input = StockInput {
        product_id: b.product_id.unwrap_or(cur.product_id).to_string(),
        warehouse: b.warehouse.clone().unwrap_or(cur.warehouse.clone()),
        location: b.location.clone().unwrap_or(cur.location.clone()),
        quantity: b
            .quantity
            .as_ref()
            .map_or_else(|| cur.quantity().to_string(), Decimal::text),
        memo: b.memo.clone().or(cur.memo.clone()).unwrap_or_default(),
    };
    let d = NewStock::parse(&input)?;
    let s = store.update_stock(id, &d, version, &ctx.actor()).await?;
    Ok(axum::Json(s.into()))
}

/// One line of an order (订单明细).
#[derive(Debug, Serialize, ToSchema)]
pub struct LineOut {
    pub product_id: i64,
    /// The product's name, model and unit when the order was placed.
    pub product_name: String,
    pub model: String,
    pub unit: String,
    /// A decimal with up to three places (`"1.5"`).
    pub quantity: String,
    /// Yuan per unit (`"12.50"`).
    pub price: String,
    /// quantity × price, rounded half up to the fen (`"18.75"`).
    pub total: String,
}

impl From<OrderLine> for LineOut {
    fn from(l: OrderLine) -> Self {
        Self {
            quantity: l.quantity().to_string(),
            price: l.price().to_string(),
            total: l.total().to_string(),
            product_id: l.product_id,
            product_name: l.product_name,
            model: l.model,
            unit: l.unit,
        }
    }
}

/// An order (订单).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderOut {
    pub id: i64,
    /// `DD` + the day it was entered + a sequence, e.g. `DD20261123000042`.
    pub number: String,
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    /// The day the customer ordered (`2026-03-01`).
    pub date: NaiveDate,
    pub delivery_address: Option<String>,
    /// `placed`, `delivered` or `cancelled`.
    pub status: String,
    /// The sum of the line totals (`"1234.50"`).
    pub total: String,
    pub memo: Option<String>,
    /// Empty in lists; every line on `GET /api/v1/orders/{id}`.
    pub lines: Vec<LineOut>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Send it back to cancel or deliver (optimistic locking).
    pub version: i32,
}

impl From<Order> for OrderOut {
    fn from(o: Order) -> Self {
        Self {
            total: o.total().to_string(),
            lines: o.lines.into_iter().map(LineOut::from).collect(),
            id: o.id,
            number: o.number,
            customer_id: o.customer_id,
            customer_code: o.customer_code,
            customer_name: o.customer_name,
            date: o.order_date,
            delivery_address: o.delivery_address,
            status: o.status,
            memo: o.memo,
            created_at: o.created_at,
            updated_at: o.updated_at,
            version: o.version,
        }
    }
}

/// One line of a new order: an empty `price` takes the product's list price.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LineBody {
    pub product_id: Option<i64>,
    /// More than zero, up to three places: `"1.5"` or `1.5`.
    #[schema(value_type = Option<String>)]
    pub quantity: Option<Decimal>,
    /// Yuan per unit, a decimal string (`"12.50"`).
    pub price: Option<String>,
}

/// A new order. The `date` may lie in the past, never in the future.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OrderBody {
    /// A customer in the caller's scope.
    pub customer_id: Option<i64>,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    pub delivery_address: Option<String>,
    pub memo: Option<String>,
    /// 1 to 200 lines.
    pub lines: Vec<LineBody>,
}

impl From<OrderBody> for OrderInput {
    fn from(b: OrderBody) -> Self {
        let id = |v: Option<i64>| v.map(|i| i.to_string()).unwrap_or_default();
        Self {
            customer_id: id(b.customer_id),
            date: text(b.date),
            delivery_address: text(b.delivery_address),
            memo: text(b.memo),
            lines: b
                .lines
                .into_iter()
                .map(|l| LineInput {
                    product_id: id(l.product_id),
                    quantity: l.quantity.as_ref().map(Decimal::text).unwrap_or_default(),
                    price: text(l.price),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Only this customer's orders.
    #[serde(default, deserialize_with = "blank_as_none")]
    customer_id: Option<i64>,
    /// `placed`, `delivered` or `cancelled`.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(value_type = Option<String>)]
    status: Option<OrderStatus>,
    /// Dated on or after this day (`2026-03-01`).
    date_from: Option<String>,
    /// Dated on or before this day.
    date_to: Option<String>,
    /// A total of at least this many yuan (`"100.00"`).
    min_total: Option<String>,
    /// A total of at most this many yuan.
    max_total: Option<String>,
    /// The beginning of the order number.
    #[param(max_length = 32)]
    number: Option<String>,
    /// `date` (`-date`, newest first, is the default), `number` or `total`; `-` in front
    /// sorts descending.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = order_sort)]
    sort: Option<Sort<OrderSort>>,
    #[param(max_length = 512)]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "kehu_web::api::page_number")]
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    #[serde(default, deserialize_with = "kehu_web::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
}

fn day(field: &str, s: Option<&str>) -> Result<Option<NaiveDate>, kehu_domain::FieldError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| kehu_domain::FieldError::new(field, "err-date")),
    }
}

impl OrderQuery {
    fn filter(&self) -> Result<OrderFilter, ApiError> {
        let mut e = Errors::new();
        let date_from = e
            .check(day("date_from", self.date_from.as_deref()))
            .flatten();
        let date_to = e.check(day("date_to", self.date_to.as_deref())).flatten();
        let money = |f: &str, v: &Option<String>| Money::parse(f, v.as_deref().unwrap_or_default());
        let min_total = e.check(money("min_total", &self.min_total)).flatten();
        let max_total = e.check(money("max_total", &self.max_total)).flatten();
        e.finish()?;
        Ok(OrderFilter {
            customer_id: self.customer_id,
            status: self.status,
            date_from,
            date_to,
            min_total,
            max_total,
            number: non_empty(self.number.clone()),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderQuery),
    responses(
        (status = 200, description = "One page of the orders of the customers in the caller's scope, newest first unless `sort` says otherwise", body = ListOf<OrderOut>),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn order_list(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Orders>,
    Query(q): Query<OrderQuery>,
) -> Result<axum::Json<ListOf<OrderOut>>, ApiError> {
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let f = q.filter()?;
    let l = crate::orders(&state)
        .list(user.owner_filter(), &f, req)
        .await?;
    Ok(axum::Json(ListOf::from_listing(l, OrderOut::from)))
}

#[utoipa::path(post, path = "/api/v1/orders", tag = "orders",
    request_body = OrderBody,
    responses(
        (status = 201, description = "Placed (status `placed`); the customer's `last_order_at` follows", body = OrderOut,
            headers(("Location" = String, description = "The new order's URL"))),
        BadRequest, Unauthenticated, Forbidden, NotFound, Invalid,
    ))]
pub async fn create_order(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::OrderWrite>,
    Json(b): Json<OrderBody>,
) -> Result<Response, ApiError> {
    let store = crate::orders(&state);
    let d = NewOrder::parse(&OrderInput::from(b), store.today())?;
    let o = store.create(user.owner_filter(), &d, &ctx.actor()).await?;
    Ok(created(
        format!("/api/v1/orders/{}", o.id),
        OrderOut::from(o),
    ))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders",
    params(("id" = i64, Path, description = "Order id", minimum = 1)),
    responses(
        (status = 200, description = "The order with its lines", body = OrderOut),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn show_order(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Orders>,
    Path(id): Path<i64>,
) -> Result<axum::Json<OrderOut>, ApiError> {
    let o = crate::orders(&state).get(user.owner_filter(), id).await?;
    Ok(axum::Json(o.into()))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders",
    params(("id" = i64, Path, description = "Order id", minimum = 1), VersionQuery),
    responses(
        (status = 200, description = "Cancelled; the customer's `last_order_at` follows. Only a placed order is cancelled: otherwise 409 `not_allowed`", body = OrderOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn cancel_order(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::OrderWrite>,
    Path(id): Path<i64>,
    Query(v): Query<VersionQuery>,
) -> Result<axum::Json<OrderOut>, ApiError> {
    let version = required_version(v.version)?;
    let o = crate::orders(&state)
        .cancel(user.owner_filter(), id, version, &ctx.actor())
        .await?;
    Ok(axum::Json(o.into()))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/deliver", tag = "orders",
    params(("id" = i64, Path, description = "Order id", minimum = 1), VersionQuery),
    responses(
        (status = 200, description = "Delivered. Only a placed order is delivered: otherwise 409 `not_allowed`", body = OrderOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn deliver_order(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::OrderWrite>,
    Path(id): Path<i64>,
    Query(v): Query<VersionQuery>,
) -> Result<axum::Json<OrderOut>, ApiError> {
    let version = required_version(v.version)?;
    let o = crate::orders(&state)
        .deliver(user.owner_filter(), id, version, &ctx.actor())
        .await?;
    Ok(axum::Json(o.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerOrdersQuery {
    /// `date` (`-date` is the default), `number` or `total`.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = order_sort)]
    sort: Option<Sort<OrderSort>>,
    #[param(max_length = 512)]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "kehu_web::api::page_number")]
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    #[serde(default, deserialize_with = "kehu_web::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", tag = "orders",
    params(("id" = i64, Path, description = "Customer id", minimum = 1), CustomerOrdersQuery),
    responses(
        (status = 200, description = "The customer's order history (历史订单), newest first", body = ListOf<OrderOut>),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn customer_orders(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Orders>,
    Path(id): Path<i64>,
    Query(q): Query<CustomerOrdersQuery>,
) -> Result<axum::Json<ListOf<OrderOut>>, ApiError> {
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let l = crate::orders(&state)
        .of_customer(user.owner_filter(), id, req)
        .await?;
    Ok(axum::Json(ListOf::from_listing(l, OrderOut::from)))
}
