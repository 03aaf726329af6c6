//! 基础数据 and 历史订单 pages: the product list (list kit) and form, the stock query (list kit)
//! and its row form, the order list (filters: number, customer, status, date period, amount),
//! the order form with lines (more lines by an "add line" submit button, no script needed),
//! the order page with its lines and totals, delivery and cancellation (after a confirming
//! page), and the customer's recent orders as an HTML fragment for the customer page. Orders
//! within the user's data scope.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kehu_domain::money::Money;
use kehu_domain::{Principal, Right};
use kehu_store::page::ListRequest;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::{CsrfForm, Ctx};
use kehu_web::error::{AppError, PageError};
use kehu_web::form;
use kehu_web::listing::{self, Col, Empty, ListPage, ListParams, ListState, ListView, Saved};
use kehu_web::pages::SavedQuery;
use kehu_web::views::{Chrome, FormErrors, Opt, answer, render, when};
use serde::Deserialize;

use crate::domain::{
    LineInput, NewOrder, NewProduct, NewStock, OrderInput, OrderStatus, ProductInput, StockInput,
};
use crate::need;
use crate::products::{Product, ProductFilter, ProductSort, ProductStore, StockFilter, StockSort};
use crate::store::{Order, OrderFilter, OrderSort};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(listing::routes::<ProductList>())
        .merge(listing::routes::<StockList>())
        .merge(listing::routes::<OrderList>())
        .route("/products", post(create_product))
        .route("/products/new", get(new_product))
        .route("/products/{id}", get(product_form).post(update_product))
        .route("/products/{id}/delete", post(delete_product))
        .route("/stock", post(add_stock))
        .route("/stock/new", get(new_stock))
        .route("/stock/{id}", get(stock_form).post(update_stock))
        .route("/orders", post(create_order))
        .route("/orders/new", get(new_order))
        .route("/orders/{id}", get(show_order))
        .route(
            "/orders/{id}/cancel",
            get(confirm_cancel).post(cancel_order),
        )
        .route("/orders/{id}/deliver", post(deliver_order))
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn status_label(c: &Chrome, status: &str) -> String {
    c.t(&format!("order-status-{status}"))
}

// ---- products ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct ProductQuery {
    q: Option<String>,
    saved: Option<String>,
    #[serde(flatten)]
    list: ListParams,
}

struct ProductRow {
    id: i64,
    name: String,
    model: String,
    grade: String,
    unit: String,
    price: String,
    cost: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "orders/products.html")]
struct ProductsTemplate {
    c: Chrome,
    rows: Vec<ProductRow>,
    q: ProductQuery,
    l: ListView,
    can_write: bool,
    saved: bool,
}

const PRODUCT_COLUMNS: &[Col<ProductSort>] = &[
    Col::sorted("name", "field-product-name", ProductSort::Name).fixed(),
    Col::sorted("model", "field-model", ProductSort::Model),
    Col::plain("grade", "field-grade"),
    Col::plain("unit", "field-unit"),
    Col::sorted("price", "field-price", ProductSort::Price),
    Col::plain("cost", "field-cost"),
    Col::sorted("updated", "col-updated", ProductSort::Updated).hidden(),
];

/// 产品查询: every product, filtered by the beginning of its name or model.
struct ProductList;

impl ListPage for ProductList {
    type Need = need::Products;
    type Query = ProductQuery;
    const PATH: &'static str = "/products";
    const KEY: &'static str = "products";

    async fn render(
        state: &AppState,
        ctx: &Ctx,
        user: &Principal,
        q: ProductQuery,
        saved: Saved,
    ) -> Result<Response, PageError> {
        let flash = q.saved.is_some();
        let at = ListState::<ProductSort>::new(
            Self::PATH,
            &q.list,
            PRODUCT_COLUMNS,
            &[("q", q.q.as_deref())],
        );
        let f = ProductFilter { q: blank(&q.q) };
        let listing = crate::products(state).list(&f, at.request()).await?;
        let c = Chrome::new(ctx, Self::PATH);
        let empty = Empty {
            filtered: "products-empty-filtered",
            none: "products-empty",
            action: Some(("products-new", "/products/new")),
        };
        let l = at.view(&c.tr, &listing, empty, saved);
        let rows = listing
            .items
            .iter()
            .map(|p| ProductRow {
                id: p.id,
                name: p.name.clone(),
                model: p.model.clone(),
                grade: p.grade.clone().unwrap_or_default(),
                unit: p.unit.clone(),
                price: p.price().to_string(),
                cost: p.cost().map(|m| m.to_string()).unwrap_or_default(),
                updated: when(&c.tr, &p.updated_at),
            })
            .collect();
        let status = l.saved.status;
        let page = ProductsTemplate {
            rows,
            q,
            l,
            can_write: user.can(Right::ProductWrite),
            saved: flash,
            c,
        };
        Ok((status, render(&page)?).into_response())
    }
}

#[derive(Template)]
#[template(path = "orders/product_form.html")]
struct ProductForm {
    c: Chrome,
    id: Option<i64>,
    f: ProductInput,
    version: i32,
    can_write: bool,
    errors: FormErrors,
    saved: bool,
}

fn product_input(p: &Product) -> ProductInput {
    ProductInput {
        name: p.name.clone(),
        model: p.model.clone(),
        grade: p.grade.clone().unwrap_or_default(),
        unit: p.unit.clone(),
        price: p.price().to_string(),
        cost: p.cost().map(|m| m.to_string()).unwrap_or_default(),
        memo: p.memo.clone().unwrap_or_default(),
    }
}

fn product_page(
    ctx: &Ctx,
    user: &Principal,
    id: Option<i64>,
    f: ProductInput,
    version: i32,
    errors: FormErrors,
    saved: bool,
) -> Result<Response, PageError> {
    let p = ProductForm {
        c: Chrome::new(ctx, "/products"),
        id,
        f,
        version,
        can_write: user.can(Right::ProductWrite),
        errors,
        saved,
    };
    answer(&p, &p.errors)
}

async fn new_product(
    PageGranted { user, ctx, .. }: PageGranted<need::ProductWrite>,
) -> Result<Response, PageError> {
    product_page(
        &ctx,
        &user,
        None,
        ProductInput::default(),
        0,
        FormErrors::default(),
        false,
    )
}

async fn create_product(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::ProductWrite>,
    CsrfForm(f): CsrfForm<ProductInput>,
) -> Result<Response, PageError> {
    let store = crate::products(&state);
    let (actor, s, u) = (ctx.actor(), &store, &user);
    form::submit(
        ctx.tr,
        NewProduct::parse(&f),
        |d| async move { s.create(&d, &actor).await },
        |p: &Product| format!("/products/{}", p.id),
        |errors| async move { product_page(&ctx, u, None, f, 0, errors, false) },
    )
    .await
}

async fn product_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Products>,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    let p = crate::products(&state).get(id).await?;
    product_page(
        &ctx,
        &user,
        Some(id),
        product_input(&p),
        p.version,
        FormErrors::default(),
        q.saved.is_some(),
    )
}

fn product_compared(f: &ProductInput) -> Vec<(&'static str, String)> {
    vec![
        ("name", f.name.clone()),
        ("model", f.model.clone()),
        ("grade", f.grade.clone()),
        ("unit", f.unit.clone()),
        ("price", f.price.clone()),
        ("cost", f.cost.clone()),
        ("memo", f.memo.clone()),
    ]
}

async fn stored_product(store: &ProductStore, id: i64) -> Result<form::Stored, AppError> {
    let p = store.get(id).await?;
    let last = store.last_change(id).await?;
    let fields = product_compared(&product_input(&p))
        .into_iter()
        .map(|(field, value)| form::StoredField::text(field, value))
        .collect();
    Ok(form::Stored {
        version: p.version,
        last,
        fields,
    })
}

async fn update_product(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::ProductWrite>,
    Path(id): Path<i64>,
    form::EditForm(f, versions): form::EditForm<ProductInput>,
) -> Result<Response, PageError> {
    let store = crate::products(&state);
    store.get(id).await?;
    let (actor, s, u) = (ctx.actor(), &store, &user);
    let edit = form::Edit {
        mine: product_compared(&f),
        stored: || stored_product(s, id),
        versions,
    };
    let version = edit.versions.to_save();
    form::submit_edit(
        ctx.tr,
        edit,
        NewProduct::parse(&f),
        |d, version| async move { s.update(id, &d, version, &actor).await },
        |_| format!("/products/{id}"),
        |errors| async move { product_page(&ctx, u, Some(id), f, version, errors, false) },
    )
    .await
}

#[derive(Deserialize)]
struct VersionForm {
    #[serde(default)]
    version: i32,
}

async fn delete_product(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::ProductWrite>,
    Path(id): Path<i64>,
    CsrfForm(v): CsrfForm<VersionForm>,
) -> Result<Response, PageError> {
    crate::products(&state)
        .delete(id, v.version, &ctx.actor())
        .await?;
    Ok(Redirect::to("/products?saved=1").into_response())
}

// ---- stock -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct StockQuery {
    q: Option<String>,
    warehouse: Option<String>,
    product_id: Option<String>,
    saved: Option<String>,
    #[serde(flatten)]
    list: ListParams,
}

struct StockLine {
    id: i64,
    product_id: i64,
    product: String,
    model: String,
    warehouse: String,
    location: String,
    quantity: String,
    unit: String,
    memo: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "orders/stock.html")]
struct StockTemplate {
    c: Chrome,
    rows: Vec<StockLine>,
    q: StockQuery,
    l: ListView,
    can_write: bool,
    saved: bool,
}

const STOCK_COLUMNS: &[Col<StockSort>] = &[
    Col::plain("product", "field-product-name").fixed(),
    Col::plain("model", "field-model"),
    Col::sorted("warehouse", "field-warehouse", StockSort::Warehouse),
    Col::plain("location", "field-location"),
    Col::plain("quantity", "field-quantity"),
    Col::plain("memo", "field-memo").hidden(),
    Col::sorted("updated", "col-updated", StockSort::Updated),
];

/// 库存查询: stock rows by product name or model and warehouse.
struct StockList;

impl ListPage for StockList {
    type Need = need::Products;
    type Query = StockQuery;
    const PATH: &'static str = "/stock";
    const KEY: &'static str = "stock";

    async fn render(
        state: &AppState,
        ctx: &Ctx,
        user: &Principal,
        q: StockQuery,
        saved: Saved,
    ) -> Result<Response, PageError> {
        let flash = q.saved.is_some();
        let at = ListState::<StockSort>::new(
            Self::PATH,
            &q.list,
            STOCK_COLUMNS,
            &[
                ("q", q.q.as_deref()),
                ("warehouse", q.warehouse.as_deref()),
                ("product_id", q.product_id.as_deref()),
            ],
        );
        let f = StockFilter {
            q: blank(&q.q),
            warehouse: blank(&q.warehouse),
            product_id: kehu_web::pages::opt_i64(&q.product_id),
        };
        let listing = crate::products(state).stock(&f, at.request()).await?;
        let c = Chrome::new(ctx, Self::PATH);
        let empty = Empty {
            filtered: "stock-empty-filtered",
            none: "stock-empty",
            action: Some(("stock-new", "/stock/new")),
        };
        let l = at.view(&c.tr, &listing, empty, saved);
        let rows = listing
            .items
            .iter()
            .map(|s| StockLine {
                id: s.id,
                product_id: s.product_id,
                product: s.product_name.clone(),
                model: s.model.clone(),
                warehouse: s.warehouse.clone(),
                location: s.location.clone(),
                quantity: s.quantity().to_string(),
                unit: s.unit.clone(),
                memo: s.memo.clone().unwrap_or_default(),
                updated: when(&c.tr, &s.updated_at),
            })
            .collect();
        let status = l.saved.status;
        let page = StockTemplate {
            rows,
            q,
            l,
            can_write: user.can(Right::ProductWrite),
            saved: flash,
            c,
        };
        Ok((status, render(&page)?).into_response())
    }
}

/// The products to pick from in a form: the first 200 by name.
async fn product_options(state: &AppState, current: &str) -> Result<Vec<Opt>, PageError> {
    let l = crate::products(state)
        .list(&ProductFilter::default(), ListRequest::first(200))
        .await?;
    Ok(Opt::list(
        l.items.into_iter().map(|p| {
            let label = if p.model.is_empty() {
                format!("{}（{}）", p.name, p.price())
            } else {
                format!("{} {}（{}）", p.name, p.model, p.price())
            };
            (p.id, label)
        }),
        current,
    ))
}

#[derive(Template)]
#[template(path = "orders/stock_form.html")]
struct StockForm {
    c: Chrome,
    /// The row being changed; `None` for a new one.
    id: Option<i64>,
    version: i32,
    can_write: bool,
    f: StockInput,
    products: Vec<Opt>,
    errors: FormErrors,
}

async fn stock_page(
    state: &AppState,
    ctx: &Ctx,
    user: &Principal,
    row: Option<(i64, i32)>,
    f: StockInput,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let p = StockForm {
        c: Chrome::new(ctx, "/stock"),
        id: row.map(|(id, _)| id),
        version: row.map_or(0, |(_, v)| v),
        can_write: user.can(Right::ProductWrite),
        products: product_options(state, &f.product_id).await?,
        f,
        errors,
    };
    answer(&p, &p.errors)
}

async fn new_stock(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::ProductWrite>,
) -> Result<Response, PageError> {
    let f = StockInput::default();
    stock_page(&state, &ctx, &user, None, f, FormErrors::default()).await
}

async fn stock_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Products>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let s = crate::products(&state).stock_row(id).await?;
    let f = StockInput {
        product_id: s.product_id.to_string(),
        warehouse: s.warehouse.clone(),
        location: s.location.clone(),
        quantity: s.quantity().to_string(),
        memo: s.memo.clone().unwrap_or_default(),
    };
    let row = Some((id, s.version));
    stock_page(&state, &ctx, &user, row, f, FormErrors::default()).await
}

/// The stock form's fields and the version it was loaded at.
#[derive(Deserialize)]
struct StockEdit {
    #[serde(flatten)]
    f: StockInput,
    #[serde(default)]
    version: i32,
}

async fn update_stock(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::ProductWrite>,
    Path(id): Path<i64>,
    CsrfForm(StockEdit { f, version }): CsrfForm<StockEdit>,
) -> Result<Response, PageError> {
    let store = crate::products(&state);
    store.stock_row(id).await?;
    let (actor, s, st, u) = (ctx.actor(), &store, &state, &user);
    let row = Some((id, version));
    form::submit(
        ctx.tr,
        NewStock::parse(&f),
        |d| async move { s.update_stock(id, &d, version, &actor).await },
        |_| "/stock".to_owned(),
        |errors| async move { stock_page(st, &ctx, u, row, f, errors).await },
    )
    .await
}

async fn add_stock(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::ProductWrite>,
    CsrfForm(f): CsrfForm<StockInput>,
) -> Result<Response, PageError> {
    let store = crate::products(&state);
    let (actor, s, st, u) = (ctx.actor(), &store, &state, &user);
    form::submit(
        ctx.tr,
        NewStock::parse(&f),
        |d| async move { s.add_stock(&d, &actor).await },
        |_| "/stock".to_owned(),
        |errors| async move { stock_page(st, &ctx, u, None, f, errors).await },
    )
    .await
}

// ---- orders ------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct OrderQuery {
    number: Option<String>,
    customer_id: Option<String>,
    status: Option<String>,
    date_from: Option<String>,
    date_to: Option<String>,
    min_total: Option<String>,
    max_total: Option<String>,
    saved: Option<String>,
    #[serde(flatten)]
    list: ListParams,
}

struct OrderRow {
    id: i64,
    number: String,
    customer_id: i64,
    customer: String,
    date: String,
    status: String,
    total: String,
    address: String,
}

#[derive(Template)]
#[template(path = "orders/list.html")]
struct OrdersTemplate {
    c: Chrome,
    rows: Vec<OrderRow>,
    q: OrderQuery,
    statuses: Vec<Opt>,
    l: ListView,
    can_write: bool,
    saved: bool,
}

const ORDER_COLUMNS: &[Col<OrderSort>] = &[
    Col::sorted("number", "field-number", OrderSort::Number).fixed(),
    Col::plain("customer", "field-customer-id"),
    Col::sorted("date", "field-date", OrderSort::Date),
    Col::plain("status", "col-status"),
    Col::sorted("total", "field-total", OrderSort::Total),
    Col::plain("address", "field-delivery-address").hidden(),
];

fn status_options(c: &Chrome, current: &str) -> Vec<Opt> {
    Opt::list(
        OrderStatus::ALL
            .iter()
            .map(|s| (s.code(), status_label(c, s.code()))),
        current,
    )
}

/// A day typed in a filter; anything else is no bound (pages are lenient).
fn day(s: &Option<String>) -> Option<chrono::NaiveDate> {
    blank(s).and_then(|s| chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
}

/// An amount typed in a filter; anything else is no bound.
fn amount(s: &Option<String>) -> Option<Money> {
    Money::parse("amount", &blank(s).unwrap_or_default())
        .ok()
        .flatten()
}

/// 历史订单: the orders of the customers in the user's scope.
struct OrderList;

impl ListPage for OrderList {
    type Need = need::Orders;
    type Query = OrderQuery;
    const PATH: &'static str = "/orders";
    const KEY: &'static str = "orders";

    async fn render(
        state: &AppState,
        ctx: &Ctx,
        user: &Principal,
        q: OrderQuery,
        saved: Saved,
    ) -> Result<Response, PageError> {
        let flash = q.saved.is_some();
        let at = ListState::<OrderSort>::new(
            Self::PATH,
            &q.list,
            ORDER_COLUMNS,
            &[
                ("number", q.number.as_deref()),
                ("customer_id", q.customer_id.as_deref()),
                ("status", q.status.as_deref()),
                ("date_from", q.date_from.as_deref()),
                ("date_to", q.date_to.as_deref()),
                ("min_total", q.min_total.as_deref()),
                ("max_total", q.max_total.as_deref()),
            ],
        );
        let f = OrderFilter {
            customer_id: kehu_web::pages::opt_i64(&q.customer_id),
            status: blank(&q.status).and_then(|s| OrderStatus::from_code(&s)),
            date_from: day(&q.date_from),
            date_to: day(&q.date_to),
            min_total: amount(&q.min_total),
            max_total: amount(&q.max_total),
            number: blank(&q.number),
        };
        let listing = crate::orders(state)
            .list(user.owner_filter(), &f, at.request())
            .await?;
        let c = Chrome::new(ctx, Self::PATH);
        let empty = Empty {
            filtered: "orders-empty-filtered",
            none: "orders-empty",
            action: Some(("orders-new", "/orders/new")),
        };
        let l = at.view(&c.tr, &listing, empty, saved);
        let rows = listing
            .items
            .iter()
            .map(|o| OrderRow {
                id: o.id,
                number: o.number.clone(),
                customer_id: o.customer_id,
                customer: o.customer_name.clone(),
                date: o.order_date.to_string(),
                status: status_label(&c, &o.status),
                total: o.total().to_string(),
                address: o.delivery_address.clone().unwrap_or_default(),
            })
            .collect();
        let status = l.saved.status;
        let page = OrdersTemplate {
            rows,
            statuses: status_options(&c, q.status.as_deref().unwrap_or_default()),
            q,
            l,
            can_write: user.can(Right::OrderWrite),
            saved: flash,
            c,
        };
        Ok((status, render(&page)?).into_response())
    }
}

#[derive(Template)]
#[template(path = "orders/form.html")]
struct OrderForm {
    c: Chrome,
    f: OrderInput,
    /// The customer named by the link the form came from: fixed, shown by name.
    customer: Option<(i64, String)>,
    customers: Vec<Opt>,
    /// Per line: the product options with that line's product selected.
    line_products: Vec<Vec<Opt>>,
    errors: FormErrors,
}

impl OrderForm {
    fn line_error(&self, i: &usize, field: &str) -> Option<&str> {
        self.errors.get(&crate::domain::line_field(*i, field))
    }
}

/// The customers to pick from (the user's first 200 by name), or the one the form is for.
async fn order_page(
    state: &AppState,
    ctx: &Ctx,
    user: &Principal,
    mut f: OrderInput,
    errors: FormErrors,
) -> Result<Response, PageError> {
    if f.lines.is_empty() {
        f.lines.push(LineInput::default());
    }
    let customers =
        kehu_customers::store::CustomerStore::new(state.store.db.clone(), crate::offset(state));
    let (fixed, options) =
        kehu_customers::store::customer_choice(&customers, user.owner_filter(), &f.customer_id)
            .await?;
    let products = product_options(state, "").await?;
    let line_products = f
        .lines
        .iter()
        .map(|l| {
            products
                .iter()
                .map(|o| Opt {
                    value: o.value.clone(),
                    label: o.label.clone(),
                    selected: o.value == l.product_id.trim(),
                })
                .collect()
        })
        .collect();
    let p = OrderForm {
        c: Chrome::new(ctx, "/orders"),
        f,
        customer: fixed,
        customers: options,
        line_products,
        errors,
    };
    answer(&p, &p.errors)
}

#[derive(Deserialize, Default)]
struct NewOrderQuery {
    customer_id: Option<String>,
}

async fn new_order(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::OrderWrite>,
    Query(q): Query<NewOrderQuery>,
) -> Result<Response, PageError> {
    let store = crate::orders(&state);
    let f = OrderInput {
        customer_id: q.customer_id.unwrap_or_default(),
        date: store.today().to_string(),
        ..OrderInput::default()
    };
    order_page(&state, &ctx, &user, f, FormErrors::default()).await
}

/// The order form as posted: its fields, the lines as `lines[i].field`, and which button was
/// pressed (`add_line`, `remove_line` = i, or saving).
struct PostedOrder {
    input: OrderInput,
    add_line: bool,
    remove_line: Option<usize>,
}

/// The most lines the form shows (adding stops there).
const FORM_LINES_MAX: usize = crate::domain::LINES_MAX;

fn posted_order(fields: BTreeMap<String, String>) -> PostedOrder {
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let mut lines: Vec<LineInput> = Vec::new();
    for (k, v) in &fields {
        let Some(rest) = k.strip_prefix("lines[") else {
            continue;
        };
        let Some((i, field)) = rest.split_once("].") else {
            continue;
        };
        let Ok(i) = i.parse::<usize>() else {
            continue;
        };
        if i >= FORM_LINES_MAX {
            continue;
        }
        if lines.len() <= i {
            lines.resize(i + 1, LineInput::default());
        }
        let l = &mut lines[i];
        match field {
            "product_id" => l.product_id = v.clone(),
            "quantity" => l.quantity = v.clone(),
            "price" => l.price = v.clone(),
            _ => {}
        }
    }
    PostedOrder {
        input: OrderInput {
            customer_id: get("customer_id"),
            date: get("date"),
            delivery_address: get("delivery_address"),
            memo: get("memo"),
            lines,
        },
        add_line: fields.contains_key("add_line"),
        remove_line: fields.get("remove_line").and_then(|v| v.parse().ok()),
    }
}

async fn create_order(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::OrderWrite>,
    CsrfForm(fields): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let PostedOrder {
        mut input,
        add_line,
        remove_line,
    } = posted_order(fields);
    if add_line || remove_line.is_some() {
        if let Some(i) = remove_line.filter(|i| *i < input.lines.len()) {
            input.lines.remove(i);
        }
        if add_line && input.lines.len() < FORM_LINES_MAX {
            input.lines.push(LineInput::default());
        }
        return order_page(&state, &ctx, &user, input, FormErrors::default()).await;
    }
    let store = crate::orders(&state);
    let (actor, s, st, u, scope) = (ctx.actor(), &store, &state, &user, user.owner_filter());
    let parsed = NewOrder::parse(&input, store.today());
    form::submit(
        ctx.tr,
        parsed,
        |d| async move { s.create(scope, &d, &actor).await },
        |o: &Order| format!("/orders/{}", o.id),
        |errors| async move { order_page(st, &ctx, u, input, errors).await },
    )
    .await
}

struct LineView {
    product: String,
    model: String,
    quantity: String,
    unit: String,
    price: String,
    total: String,
}

#[derive(Template)]
#[template(path = "orders/show.html")]
struct ShowTemplate {
    c: Chrome,
    o: Order,
    status: String,
    lines: Vec<LineView>,
    total: String,
    /// The order may still be delivered or cancelled by this user.
    open: bool,
    saved: bool,
}

fn line_views(o: &Order) -> Vec<LineView> {
    o.lines
        .iter()
        .map(|l| LineView {
            product: l.product_name.clone(),
            model: l.model.clone(),
            quantity: l.quantity().to_string(),
            unit: l.unit.clone(),
            price: l.price().to_string(),
            total: l.total().to_string(),
        })
        .collect()
}

async fn show_order(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Orders>,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    let o = crate::orders(&state).get(user.owner_filter(), id).await?;
    let c = Chrome::new(&ctx, "/orders");
    let p = ShowTemplate {
        status: status_label(&c, &o.status),
        lines: line_views(&o),
        total: o.total().to_string(),
        open: o.status() == OrderStatus::Placed && user.can(Right::OrderWrite),
        saved: q.saved.is_some(),
        o,
        c,
    };
    Ok(render(&p)?.into_response())
}

#[derive(Template)]
#[template(path = "orders/cancel.html")]
struct CancelTemplate {
    c: Chrome,
    o: Order,
    total: String,
}

/// 取消订单: the confirming page (works without script).
async fn confirm_cancel(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::OrderWrite>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let o = crate::orders(&state).get(user.owner_filter(), id).await?;
    o.status().cancel()?;
    let p = CancelTemplate {
        c: Chrome::new(&ctx, "/orders"),
        total: o.total().to_string(),
        o,
    };
    Ok(render(&p)?.into_response())
}

async fn cancel_order(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::OrderWrite>,
    Path(id): Path<i64>,
    CsrfForm(v): CsrfForm<VersionForm>,
) -> Result<Response, PageError> {
    crate::orders(&state)
        .cancel(user.owner_filter(), id, v.version, &ctx.actor())
        .await?;
    Ok(Redirect::to(&form::saved_at(&format!("/orders/{id}"))).into_response())
}

async fn deliver_order(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::OrderWrite>,
    Path(id): Path<i64>,
    CsrfForm(v): CsrfForm<VersionForm>,
) -> Result<Response, PageError> {
    crate::orders(&state)
        .deliver(user.owner_filter(), id, v.version, &ctx.actor())
        .await?;
    Ok(Redirect::to(&form::saved_at(&format!("/orders/{id}"))).into_response())
}

// ---- the customer page's panel -----------------------------------------------------------

/// How many of a customer's orders the customer page shows (the rest: the order list).
pub const PANEL_ORDERS: u64 = 10;

struct PanelOrder {
    id: i64,
    number: String,
    date: String,
    status: String,
    total: String,
    lines: Vec<LineView>,
}

#[derive(Template)]
#[template(path = "orders/panel.html")]
struct PanelTemplate {
    c: Chrome,
    customer_id: i64,
    orders: Vec<PanelOrder>,
    count: String,
    more: bool,
    can_write: bool,
}

/// A customer's recent orders (历史订单) with their lines and totals, as an HTML fragment for
/// the customer page, and how many orders the customer has (capped like every list count).
/// The page has found the customer in `user`'s scope; the orders are read in that scope too.
pub(crate) async fn customer_orders_panel(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
    customer_id: i64,
) -> Result<(String, u64), AppError> {
    let store = crate::orders(state);
    let scope = user.owner_filter();
    let listing = store
        .of_found_customer(scope, customer_id, ListRequest::first(PANEL_ORDERS))
        .await?;
    let ids: Vec<i64> = listing.items.iter().map(|o| o.id).collect();
    let mut lines = store.lines_of(scope, &ids).await?;
    let c = Chrome::new(ctx, "/customers");
    let orders = listing
        .items
        .into_iter()
        .map(|mut o| {
            let (mine, rest): (Vec<_>, Vec<_>) = lines.drain(..).partition(|l| l.order_id == o.id);
            lines = rest;
            o.lines = mine;
            PanelOrder {
                id: o.id,
                number: o.number.clone(),
                date: o.order_date.to_string(),
                status: status_label(&c, &o.status),
                total: o.total().to_string(),
                lines: line_views(&o),
            }
        })
        .collect();
    let count = listing.count.value;
    let p = PanelTemplate {
        count: listing::count_text(&c.tr, listing.count),
        more: listing.next.is_some(),
        can_write: user.can(Right::OrderWrite),
        customer_id,
        orders,
        c,
    };
    let html = p
        .render()
        .map_err(|e| AppError::from(anyhow::Error::from(e)))?;
    Ok((html, count))
}
