//! 产品销售分析 and 客户信用分析: what each product sold in a period — its orders, quantity,
//! revenue and share of revenue (销售构成), its gross margin (毛利: revenue less the cost of
//! its lines, the margin rate) and its stock turnover (库存周转: units sold against the stock
//! there is now, and the days the stock lasts at that rate) — and the customers by credit
//! (信用度 1–5) with what they ordered in the period and their open orders. On the pages
//! (`/reports/products?view=sales|margin|turnover`, `/reports/credit`), in the API
//! (`/api/v1/reports/products`, `/api/v1/reports/credit`) and exported to XLSX and CSV.
//!
//! The data scope: the sales and margin of a reader whose scope is every customer come from
//! the products' running figures (`kehu_orders::product_figures`) of a kept period (a year,
//! quarter, month, all time), or from the order lines of other days; an account manager's are
//! always their own customers' order lines, summed when asked — exact, and as costly as their
//! book, not as the whole database. The stock turnover sets every customer's sales against the
//! company's stock: it is for readers whose scope is every customer; an account manager is
//! told so (the page's notice, the API's `restricted`) and given no rows.
//!
//! Cost: each order line keeps its product's cost when it was priced (lines placed before
//! that was kept took the product's cost of the day the migration ran). The margin is set
//! against the revenue of the lines that have a cost; a product none of whose lines has one
//! shows its cost and margin as unknown, and the revenue without a cost is its own column.

use askama::Template;
use axum::Router;
use axum::extract::{Query as PageQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kehu_customers::store::Breakdown;
use kehu_domain::Principal;
use kehu_domain::error::Errors;
use kehu_domain::money::{Quantity, fen_to_decimal};
use kehu_io::{Cell, CsvWriter, WriteError, XlsxWriter};
use kehu_orders::product_figures::ProductSales;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::api::{BadRequest, Forbidden, Granted, Invalid, Query, Unauthenticated};
use kehu_web::error::{ApiError, AppError, PageError};
use kehu_web::i18n::Tr;
use kehu_web::views::{Chrome, Opt, render};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::api::heading;
use crate::ask::{Export, PageAsk, api_file, blank, choice, format_of};
use crate::need;
use crate::period::{Days, PRESETS};
use crate::table::{Format, Heading, Kind, Value, basis_points, percent, yuan};

/// The API routes: `/api/v1/reports/products` and `/api/v1/reports/credit`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/products", get(products_api))
        .route("/api/v1/reports/credit", get(credit_api))
}

/// The pages: `/reports/products` and `/reports/credit`.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/reports/products", get(products_page))
        .route("/reports/credit", get(credit_page))
}

#[derive(OpenApi)]
#[openapi(
    paths(products_api, credit_api),
    components(schemas(
        ProductRow,
        ProductTotals,
        ProductsReport,
        CreditRow,
        CreditTotals,
        CreditReport
    ))
)]
pub struct ProductsApi;

/// What the product report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// 销售构成: orders, quantity, revenue and share of each product.
    Sales,
    /// 毛利: revenue, cost, margin and margin rate.
    Margin,
    /// 库存周转: units sold against the stock now.
    Turnover,
}

impl View {
    pub const ALL: [View; 3] = [View::Sales, View::Margin, View::Turnover];

    pub const fn code(self) -> &'static str {
        match self {
            View::Sales => "sales",
            View::Margin => "margin",
            View::Turnover => "turnover",
        }
    }

    pub fn from_code(code: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.code() == code)
    }
}

// ---------------------------------------------------------------------------------------
// Gathering

/// What each product sold in `days` to the customers in `user`'s scope, largest revenue
/// first.
pub async fn sales(
    state: &AppState,
    user: &Principal,
    days: Days,
) -> Result<Vec<ProductSales>, AppError> {
    let (db, scope) = (&state.store.db, user.owner_filter());
    Ok(kehu_orders::product_figures::sales(db, scope, days.from, days.to).await?)
}

/// A product's margin in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Margin {
    /// Fen; `None`: no line had a cost.
    pub cost: Option<i64>,
    /// Fen: the revenue of the lines with a cost less their cost.
    pub margin: Option<i64>,
    /// Basis points of the revenue with a cost (signed).
    pub rate: Option<i64>,
    /// Fen: the revenue of the lines without a cost.
    pub uncosted: i64,
}

impl Margin {
    pub fn of(revenue: i64, cost: i64, costed: i64) -> Margin {
        let known = costed != 0 || cost != 0;
        Margin {
            cost: known.then_some(cost),
            margin: known.then_some(costed - cost),
            rate: rate(costed - cost, costed),
            uncosted: revenue - costed,
        }
    }
}

/// `part` of `whole` in basis points, rounded half up, either sign (none of nothing).
fn rate(part: i64, whole: i64) -> Option<i64> {
    ratio(i128::from(part) * 10_000, i128::from(whole))
}

/// `num / den` rounded half up (toward the greater), `None` when `den` is not positive or the
/// quotient does not fit.
fn ratio(num: i128, den: i128) -> Option<i64> {
    if den <= 0 {
        return None;
    }
    i64::try_from((2 * num + den).div_euclid(2 * den)).ok()
}

/// One product's stock turnover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turnover {
    /// What it sold in the period (zero when it sold nothing but has stock).
    pub sales: ProductSales,
    /// Thousandths, over every warehouse and location now.
    pub stock: i64,
    /// Units sold per unit of stock, in hundredths (`None`: no stock).
    pub times: Option<i64>,
    /// The days the stock lasts at the period's rate of sales (`None`: it sold nothing).
    pub days: Option<i64>,
}

/// The stock turnover report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnoverReport {
    pub rows: Vec<Turnover>,
    /// The days the sales are counted over: from the period's first day (an open one: the
    /// first order's) to its last, or today if that is earlier.
    pub days: Option<i64>,
    /// The reader's scope is not every customer: no rows.
    pub restricted: bool,
}

/// The stock turnover of `days`: the products sold (as [`sales`]) and those with stock, sold
/// first by revenue, then the unsold by stock, most first. Only for a reader whose scope is
/// every customer.
pub async fn turnover(
    state: &AppState,
    user: &Principal,
    days: Days,
) -> Result<TurnoverReport, AppError> {
    let scope = user.owner_filter();
    if scope.owner().is_some() {
        return Ok(TurnoverReport {
            restricted: true,
            ..TurnoverReport::default()
        });
    }
    let db = &state.store.db;
    let sold = sales(state, user, days).await?;
    let mut stock = kehu_orders::products::ProductStore::new(db.clone())
        .stock_by_product()
        .await?;
    let today = crate::today(state);
    let first = match days.from {
        Some(d) => Some(d),
        None => kehu_orders::store::first_order_day(db, scope).await?,
    };
    let last = days.to.map_or(today, |t| t.min(today));
    let counted = first.map(|f| (last - f).num_days() + 1).filter(|n| *n > 0);
    let mut rows: Vec<Turnover> = Vec::with_capacity(sold.len() + stock.len());
    for s in sold {
        let have = stock
            .iter()
            .position(|p| p.product_id == s.product_id)
            .map_or(0, |i| stock.swap_remove(i).quantity);
        rows.push(turnover_of(s, have, counted));
    }
    stock.sort_by_key(|p| (std::cmp::Reverse(p.quantity), p.product_id));
    for p in stock.into_iter().filter(|p| p.quantity > 0) {
        let none = ProductSales {
            product_id: p.product_id,
            name: p.name,
            model: p.model,
            unit: p.unit,
            orders: 0,
            quantity: 0,
            revenue: 0,
            cost: 0,
            costed: 0,
            unit_cost: None,
        };
        rows.push(turnover_of(none, p.quantity, counted));
    }
    Ok(TurnoverReport {
        rows,
        days: counted,
        restricted: false,
    })
}

fn turnover_of(sales: ProductSales, stock: i64, counted: Option<i64>) -> Turnover {
    let sold = i128::from(sales.quantity);
    let days = match counted {
        Some(n) if sold > 0 => ratio(i128::from(stock.max(0)) * i128::from(n), sold),
        _ => None,
    };
    Turnover {
        times: ratio(sold * 100, i128::from(stock)),
        days,
        stock,
        sales,
    }
}

/// The customers of one credit and what they ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditLine {
    /// `1` … `5`; `None`: not filled in.
    pub key: Option<String>,
    pub label: String,
    pub customers: i64,
    /// Orders that count in the period, and their amount (fen).
    pub orders: i64,
    pub amount: i64,
    /// Open orders (placed, not yet delivered, whenever dated), and their amount (fen).
    pub open_orders: i64,
    pub open_amount: i64,
}

/// The credit overview of the customers in `user`'s scope (not in the trash): by credit, 5
/// first, "not filled in" last.
pub async fn credit(
    state: &AppState,
    user: &Principal,
    tr: &Tr,
    days: Days,
) -> Result<Vec<CreditLine>, AppError> {
    let (db, scope) = (&state.store.db, user.owner_filter());
    let counts = kehu_customers::store::composition(db, scope, Breakdown::Credit).await?;
    let (ordered, open) =
        kehu_orders::contribution::by_credit(db, scope, days.from, days.to).await?;
    let mut keys: Vec<Option<String>> = counts
        .iter()
        .map(|(k, _)| k.clone())
        .chain(ordered.iter().map(|f| f.credit.clone()))
        .chain(open.iter().map(|f| f.credit.clone()))
        .collect();
    // 5 first, "not filled in" last.
    keys.sort_by_key(|k| {
        (
            k.is_none(),
            std::cmp::Reverse(k.as_deref().and_then(|s| s.parse::<i64>().ok())),
        )
    });
    keys.dedup();
    Ok(keys
        .into_iter()
        .map(|key| {
            let of = |fs: &[kehu_orders::contribution::CreditFigures]| {
                fs.iter()
                    .find(|f| f.credit == key)
                    .map_or((0, 0), |f| (f.orders, f.amount))
            };
            let (orders, amount) = of(&ordered);
            let (open_orders, open_amount) = of(&open);
            CreditLine {
                label: match &key {
                    Some(k) => tr.t_fill("report-stars", &[("n", k)]),
                    None => tr.t("report-not-filled"),
                },
                customers: counts
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(0, |(_, n)| *n),
                key,
                orders,
                amount,
                open_orders,
                open_amount,
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// Tables

/// What a column holds: the report kit's kinds, and the numbers it has none for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Kit(Kind),
    /// Thousandths: a quantity, shown with the places it has (at most three).
    Quantity,
    /// Hundredths: a ratio with two places (`2.35`).
    Times,
    /// Basis points of either sign: a margin rate, a percentage with one place on the page.
    Rate,
}

impl Col {
    fn numeric(self) -> bool {
        !matches!(self, Col::Kit(Kind::Text) | Col::Kit(Kind::Day))
    }

    fn show(self, v: &Value) -> String {
        match (v, self) {
            (Value::Int(m), Col::Quantity) => Quantity::from_milli(*m).to_string(),
            (Value::Int(h), Col::Times) => fen_to_decimal(*h),
            (Value::Int(bp), Col::Rate) => {
                let tenths = (bp + 5).div_euclid(10);
                let sign = if tenths < 0 { "-" } else { "" };
                let abs = tenths.unsigned_abs();
                format!("{sign}{}.{}%", abs / 10, abs % 10)
            }
            (v, Col::Kit(kind)) => v.show(kind),
            (v, _) => v.show(Kind::Text),
        }
    }

    /// As a spreadsheet cell: amounts, quantities and ratios exact decimals, shares and rates
    /// percentages with two places (as the kit's).
    fn cell(self, v: &Value) -> Cell {
        match (v, self) {
            (Value::Int(m), Col::Quantity) => Cell::Decimal(Decimal::new(*m, 3).normalize()),
            (Value::Int(n), Col::Times | Col::Rate | Col::Kit(Kind::Money | Kind::Share)) => {
                Cell::Decimal(Decimal::new(*n, 2))
            }
            (Value::Int(n), _) => Cell::Integer(*n),
            (Value::Text(s), _) => Cell::Text(s.clone()),
            (Value::Day(d), _) => Cell::Date(*d),
            (Value::Empty, _) => Cell::Empty,
        }
    }
}

/// A report's table: its columns, rows and totals, as the page shows it and the exports write
/// it (the layout of [`crate::table::Table::export`]).
#[derive(Debug, Clone, Default)]
struct Sheet {
    cols: Vec<(String, Col)>,
    rows: Vec<Vec<Value>>,
    totals: Option<Vec<Value>>,
}

impl Export for Sheet {
    fn export(
        &self,
        heading: &Heading,
        format: Format,
        name: &str,
    ) -> Result<Response, WriteError> {
        Sheet::export(self, heading, format, name)
    }
}

impl Sheet {
    fn col(&mut self, title: String, col: Col) -> &mut Self {
        self.cols.push((title, col));
        self
    }

    fn shown(&self, row: &[Value]) -> Vec<String> {
        row.iter()
            .zip(&self.cols)
            .map(|(v, (_, c))| c.show(v))
            .collect()
    }

    fn heads(&self) -> Vec<Head> {
        self.cols
            .iter()
            .map(|(title, c)| Head {
                title: title.clone(),
                numeric: c.numeric(),
            })
            .collect()
    }

    /// The sheet as a file named `name` (ASCII, no extension): the heading's lines, a blank
    /// line, the header, the rows and the totals.
    fn export(
        &self,
        heading: &Heading,
        format: Format,
        name: &str,
    ) -> Result<Response, WriteError> {
        let cells = |row: &[Value]| -> Vec<Cell> {
            row.iter()
                .zip(&self.cols)
                .map(|(v, (_, c))| c.cell(v))
                .collect()
        };
        let mut lines: Vec<Vec<Cell>> = heading
            .lines
            .iter()
            .map(|l| vec![Cell::Text(l.clone())])
            .collect();
        lines.push(vec![Cell::Empty]);
        lines.push(
            self.cols
                .iter()
                .map(|(t, _)| Cell::Text(t.clone()))
                .collect(),
        );
        lines.extend(self.rows.iter().map(|r| cells(r)));
        lines.extend(self.totals.iter().map(|r| cells(r)));
        let title = [heading.title.as_str()];
        let (bytes, ext, kind) = match format {
            Format::Csv => {
                let mut w = CsvWriter::new(Vec::new(), &title)?;
                for r in &lines {
                    w.write_row(r)?;
                }
                (w.finish()?, "csv", "text/csv; charset=utf-8")
            }
            Format::Xlsx => {
                let mut w = XlsxWriter::new("report", &title)?;
                for r in &lines {
                    w.write_row(r)?;
                }
                let mut out = Vec::new();
                w.save_to_writer(&mut out)?;
                (
                    out,
                    "xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
            }
        };
        let disposition = format!("attachment; filename=\"{name}.{ext}\"");
        Ok((
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&disposition)
                        .unwrap_or(HeaderValue::from_static("attachment")),
                ),
            ],
            bytes,
        )
            .into_response())
    }
}

fn opt(v: Option<i64>) -> Value {
    v.map_or(Value::Empty, Value::Int)
}

/// Sums of the sales rows: revenue, cost, costed.
fn sums(rows: &[ProductSales]) -> (i64, i64, i64) {
    rows.iter().fold((0, 0, 0), |(r, c, k), s| {
        (r + s.revenue, c + s.cost, k + s.costed)
    })
}

/// 销售构成: each product's orders, quantity, revenue and share of revenue.
fn sales_sheet(tr: &Tr, rows: &[ProductSales]) -> Sheet {
    let mut t = Sheet::default();
    t.col(tr.t("report-product"), Col::Kit(Kind::Text))
        .col(tr.t("report-model"), Col::Kit(Kind::Text))
        .col(tr.t("report-unit"), Col::Kit(Kind::Text))
        .col(tr.t("report-orders"), Col::Kit(Kind::Count))
        .col(tr.t("report-quantity"), Col::Quantity)
        .col(tr.t("report-revenue"), Col::Kit(Kind::Money))
        .col(tr.t("report-revenue-share"), Col::Kit(Kind::Share));
    let (revenue, ..) = sums(rows);
    t.rows = rows
        .iter()
        .map(|s| {
            vec![
                Value::Text(s.name.clone()),
                Value::Text(s.model.clone()),
                Value::Text(s.unit.clone()),
                Value::Int(s.orders),
                Value::Int(s.quantity),
                Value::Int(s.revenue),
                Value::Int(basis_points(s.revenue, revenue)),
            ]
        })
        .collect();
    t.totals = Some(vec![
        Value::Text(tr.t("report-total")),
        Value::Empty,
        Value::Empty,
        Value::Empty,
        Value::Empty,
        Value::Int(revenue),
        Value::Int(if revenue > 0 { 10_000 } else { 0 }),
    ]);
    t
}

/// 毛利: each product's revenue, cost, margin and margin rate; an unknown cost says so.
fn margin_sheet(tr: &Tr, rows: &[ProductSales]) -> Sheet {
    let mut t = Sheet::default();
    t.col(tr.t("report-product"), Col::Kit(Kind::Text))
        .col(tr.t("report-model"), Col::Kit(Kind::Text))
        .col(tr.t("report-revenue"), Col::Kit(Kind::Money))
        .col(tr.t("report-cost"), Col::Kit(Kind::Money))
        .col(tr.t("report-margin"), Col::Kit(Kind::Money))
        .col(tr.t("report-margin-rate"), Col::Rate)
        .col(tr.t("report-uncosted"), Col::Kit(Kind::Money));
    let unknown = || Value::Text(tr.t("report-cost-unknown"));
    let known = |v: Option<i64>| v.map_or_else(unknown, Value::Int);
    t.rows = rows
        .iter()
        .map(|s| {
            let m = Margin::of(s.revenue, s.cost, s.costed);
            vec![
                Value::Text(s.name.clone()),
                Value::Text(s.model.clone()),
                Value::Int(s.revenue),
                known(m.cost),
                known(m.margin),
                m.rate.map_or_else(unknown, Value::Int),
                Value::Int(m.uncosted),
            ]
        })
        .collect();
    let (revenue, cost, costed) = sums(rows);
    let m = Margin::of(revenue, cost, costed);
    t.totals = Some(vec![
        Value::Text(tr.t("report-total")),
        Value::Empty,
        Value::Int(revenue),
        opt(m.cost),
        opt(m.margin),
        opt(m.rate),
        Value::Int(m.uncosted),
    ]);
    t
}

/// 库存周转: each product's units sold, stock, turnover and days of stock.
fn turnover_sheet(tr: &Tr, r: &TurnoverReport) -> Sheet {
    let mut t = Sheet::default();
    t.col(tr.t("report-product"), Col::Kit(Kind::Text))
        .col(tr.t("report-model"), Col::Kit(Kind::Text))
        .col(tr.t("report-unit"), Col::Kit(Kind::Text))
        .col(tr.t("report-sold"), Col::Quantity)
        .col(tr.t("report-stock"), Col::Quantity)
        .col(tr.t("report-turnover"), Col::Times)
        .col(tr.t("report-days-of-stock"), Col::Kit(Kind::Count));
    t.rows = r
        .rows
        .iter()
        .map(|x| {
            vec![
                Value::Text(x.sales.name.clone()),
                Value::Text(x.sales.model.clone()),
                Value::Text(x.sales.unit.clone()),
                Value::Int(x.sales.quantity),
                Value::Int(x.stock),
                opt(x.times),
                opt(x.days),
            ]
        })
        .collect();
    t
}

/// 客户信用分析: the customers of each credit, what they ordered and their open orders.
fn credit_sheet(tr: &Tr, lines: &[CreditLine]) -> Sheet {
    let mut t = Sheet::default();
    t.col(tr.t("report-credit-level"), Col::Kit(Kind::Text))
        .col(tr.t("report-customers"), Col::Kit(Kind::Count))
        .col(tr.t("report-customer-share"), Col::Kit(Kind::Share))
        .col(tr.t("report-orders"), Col::Kit(Kind::Count))
        .col(tr.t("report-amount"), Col::Kit(Kind::Money))
        .col(tr.t("report-share"), Col::Kit(Kind::Share))
        .col(tr.t("report-open-orders"), Col::Kit(Kind::Count))
        .col(tr.t("report-open-amount"), Col::Kit(Kind::Money));
    let all = credit_totals(lines);
    t.rows = lines
        .iter()
        .map(|l| {
            vec![
                Value::Text(l.label.clone()),
                Value::Int(l.customers),
                Value::Int(basis_points(l.customers, all.customers)),
                Value::Int(l.orders),
                Value::Int(l.amount),
                Value::Int(basis_points(l.amount, all.amount)),
                Value::Int(l.open_orders),
                Value::Int(l.open_amount),
            ]
        })
        .collect();
    let whole = |n: i64| Value::Int(if n > 0 { 10_000 } else { 0 });
    t.totals = Some(vec![
        Value::Text(tr.t("report-total")),
        Value::Int(all.customers),
        whole(all.customers),
        Value::Int(all.orders),
        Value::Int(all.amount),
        whole(all.amount),
        Value::Int(all.open_orders),
        Value::Int(all.open_amount),
    ]);
    t
}

fn credit_totals(lines: &[CreditLine]) -> CreditLine {
    lines.iter().fold(
        CreditLine {
            key: None,
            label: String::new(),
            customers: 0,
            orders: 0,
            amount: 0,
            open_orders: 0,
            open_amount: 0,
        },
        |mut t, l| {
            t.customers += l.customers;
            t.orders += l.orders;
            t.amount += l.amount;
            t.open_orders += l.open_orders;
            t.open_amount += l.open_amount;
            t
        },
    )
}

/// The lines under a report's title on the page, in the export's heading too.
fn notes(tr: &Tr, view: Option<View>, days: Option<i64>) -> Vec<String> {
    match view {
        Some(View::Margin) => vec![tr.t("report-margin-note")],
        Some(View::Turnover) => {
            let mut n = vec![tr.t("report-turnover-note")];
            if let Some(d) = days {
                n.push(tr.t_fill("report-turnover-days", &[("days", &d.to_string())]));
            }
            n
        }
        Some(View::Sales) => Vec::new(),
        None => vec![tr.t("report-credit-note")],
    }
}

/// The export heading's lines beyond the period: the view, the notes, a restriction.
fn more_lines(tr: &Tr, view: Option<View>, notes: &[String], notice: Option<&str>) -> Vec<String> {
    let mut more = Vec::new();
    if let Some(v) = view {
        let name = tr.t(&format!("report-view-{}", v.code()));
        more.push(tr.t_fill("report-heading-view", &[("view", &name)]));
    }
    more.extend(notes.iter().cloned());
    more.extend(notice.map(str::to_owned));
    more
}

// ---------------------------------------------------------------------------------------
// API

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductsQuery {
    /// The first day counted (`2026-01-01`); open when absent.
    #[param(max_length = 10)]
    from: Option<String>,
    /// The last day counted (`2026-12-31`); open when absent. Both absent: all time.
    #[param(max_length = 10)]
    to: Option<String>,
    /// `sales` (the default: orders, quantity, revenue, share), `margin` (cost, margin, margin
    /// rate) or `turnover` (units sold against the stock now; every customer's, so only for a
    /// caller whose scope is every customer).
    #[param(max_length = 10)]
    view: Option<String>,
    /// `csv` or `xlsx`: the view as a file (the page's export).
    #[param(max_length = 4)]
    format: Option<String>,
}

/// What one product sold in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductRow {
    pub product_id: i64,
    pub name: String,
    pub model: String,
    pub unit: String,
    /// Orders that count (not cancelled) with the product.
    pub orders: i64,
    /// Units sold, exact (`"12.5"`).
    pub quantity: String,
    /// Yuan, `"1234.50"`.
    pub revenue: String,
    /// Of the report's revenue, percent with two places.
    pub share: String,
    /// The cost of the lines with a cost (each line's product cost when it was priced), yuan;
    /// `null`: unknown (no line had a cost).
    pub cost: Option<String>,
    /// The revenue of the lines with a cost less their cost, yuan; `null`: unknown.
    pub margin: Option<String>,
    /// The margin of the revenue with a cost, percent with two places (either sign); `null`:
    /// unknown.
    pub margin_rate: Option<String>,
    /// The revenue of the lines without a cost, yuan (not in the margin).
    pub uncosted_revenue: String,
    /// `turnover` only: the stock now over every warehouse, exact (`null` in other views).
    pub stock: Option<String>,
    /// `turnover` only: units sold per unit of stock, two places; `null`: no stock.
    pub turnover: Option<String>,
    /// `turnover` only: the days the stock lasts at the period's rate of sales; `null`: it
    /// sold nothing.
    pub days_of_stock: Option<i64>,
}

impl ProductRow {
    fn of(s: &ProductSales, total: i64) -> Self {
        let m = Margin::of(s.revenue, s.cost, s.costed);
        ProductRow {
            product_id: s.product_id,
            name: s.name.clone(),
            model: s.model.clone(),
            unit: s.unit.clone(),
            orders: s.orders,
            quantity: Quantity::from_milli(s.quantity).to_string(),
            revenue: yuan(s.revenue),
            share: percent(basis_points(s.revenue, total)),
            cost: m.cost.map(yuan),
            margin: m.margin.map(yuan),
            margin_rate: m.rate.map(percent),
            uncosted_revenue: yuan(m.uncosted),
            stock: None,
            turnover: None,
            days_of_stock: None,
        }
    }
}

/// The totals of every row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductTotals {
    /// Products listed.
    pub products: i64,
    pub revenue: String,
    /// `null`: no line had a cost.
    pub cost: Option<String>,
    pub margin: Option<String>,
    pub margin_rate: Option<String>,
    pub uncosted_revenue: String,
}

/// The product report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductsReport {
    pub view: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The currency of every amount.
    pub currency: String,
    /// `turnover` only: the days the sales are counted over (the period's first day, or an
    /// open period's first order, to its last day or today if earlier).
    pub days: Option<i64>,
    /// `true`: the view is not open to the caller's data scope (the stock turnover sets every
    /// customer's sales against the stock); no rows, and `notice` says why.
    pub restricted: bool,
    pub notice: Option<String>,
    /// Largest revenue first; `turnover` adds the products with stock that sold nothing.
    pub items: Vec<ProductRow>,
    pub totals: ProductTotals,
}

#[utoipa::path(get, path = "/api/v1/reports/products", tag = "reports",
    params(ProductsQuery),
    responses(
        (status = 200, description = "产品销售分析: what each product sold to the customers in the caller's scope in the period (orders not cancelled) — its orders, quantity, revenue and share; its cost, gross margin and margin rate; or (`view=turnover`, every customer's, for a caller whose scope is every customer) its stock turnover and days of stock; with `format`, the view as CSV or XLSX", body = ProductsReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn products_api(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<ProductsQuery>,
) -> Result<Response, ApiError> {
    let mut e = Errors::new();
    let days = Days::parse(&mut e, q.from.as_deref(), q.to.as_deref());
    let view = choice(&mut e, "view", &q.view, View::Sales, View::from_code);
    let format = format_of(&mut e, &q.format);
    e.finish().map_err(AppError::from)?;
    let tr = &ctx.tr;
    let (sold, turn) = match view {
        View::Turnover => {
            let t = turnover(&state, &user, days).await?;
            let sold: Vec<ProductSales> = t.rows.iter().map(|x| x.sales.clone()).collect();
            (sold, Some(t))
        }
        _ => (sales(&state, &user, days).await?, None),
    };
    let notice = turn
        .as_ref()
        .filter(|t| t.restricted)
        .map(|_| tr.t("report-turnover-restricted"));
    if let Some(format) = format {
        let t = match (&turn, view) {
            (Some(t), _) => turnover_sheet(tr, t),
            (None, View::Margin) => margin_sheet(tr, &sold),
            (None, _) => sales_sheet(tr, &sold),
        };
        let n = notes(tr, Some(view), turn.as_ref().and_then(|t| t.days));
        let more = more_lines(tr, Some(view), &n, notice.as_deref());
        let h = heading(tr, &user, &tr.t("report-products"), days, &more);
        return api_file(&t, &h, format, &format!("products-{}", view.code()));
    }
    let (revenue, cost, costed) = sums(&sold);
    let mut items: Vec<ProductRow> = sold.iter().map(|s| ProductRow::of(s, revenue)).collect();
    if let Some(t) = &turn {
        for (row, x) in items.iter_mut().zip(&t.rows) {
            row.stock = Some(Quantity::from_milli(x.stock).to_string());
            row.turnover = x.times.map(fen_to_decimal);
            row.days_of_stock = x.days;
        }
    }
    let m = Margin::of(revenue, cost, costed);
    Ok(axum::Json(ProductsReport {
        view: view.code().into(),
        from: days.from.map(|d| d.to_string()),
        to: days.to.map(|d| d.to_string()),
        currency: "CNY".into(),
        days: turn.as_ref().and_then(|t| t.days),
        restricted: turn.as_ref().is_some_and(|t| t.restricted),
        notice,
        totals: ProductTotals {
            products: i64::try_from(items.len()).unwrap_or(i64::MAX),
            revenue: yuan(revenue),
            cost: m.cost.map(yuan),
            margin: m.margin.map(yuan),
            margin_rate: m.rate.map(percent),
            uncosted_revenue: yuan(m.uncosted),
        },
        items,
    })
    .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreditQuery {
    /// The first day of the orders counted (`2026-01-01`); open when absent.
    #[param(max_length = 10)]
    from: Option<String>,
    /// The last day; open when absent. Both absent: all time.
    #[param(max_length = 10)]
    to: Option<String>,
    /// `csv` or `xlsx`: the report as a file.
    #[param(max_length = 4)]
    format: Option<String>,
}

/// The customers of one credit.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditRow {
    /// `"1"` … `"5"`; `null`: not filled in.
    pub credit: Option<String>,
    pub label: String,
    /// Customers in the caller's scope, not in the trash.
    pub customers: i64,
    /// Of the customers counted, percent with two places.
    pub customer_share: String,
    /// Their orders that count (not cancelled) in the period, and the amount in yuan.
    pub orders: i64,
    pub amount: String,
    /// Of the period's amount, percent with two places.
    pub amount_share: String,
    /// Their open orders (placed, not yet delivered), whenever dated, and the amount.
    pub open_orders: i64,
    pub open_amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditTotals {
    pub customers: i64,
    pub orders: i64,
    pub amount: String,
    pub open_orders: i64,
    pub open_amount: String,
}

/// The credit overview.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditReport {
    pub from: Option<String>,
    pub to: Option<String>,
    pub currency: String,
    /// Credit 5 first, not filled in last; only credits with customers or orders.
    pub items: Vec<CreditRow>,
    pub totals: CreditTotals,
}

#[utoipa::path(get, path = "/api/v1/reports/credit", tag = "reports",
    params(CreditQuery),
    responses(
        (status = 200, description = "客户信用分析: the customers in the caller's scope (not in the trash) by credit (1–5), with their orders and amount in the period (not cancelled) and their open orders (placed, not delivered, whenever dated); with `format`, as CSV or XLSX", body = CreditReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn credit_api(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<CreditQuery>,
) -> Result<Response, ApiError> {
    let mut e = Errors::new();
    let days = Days::parse(&mut e, q.from.as_deref(), q.to.as_deref());
    let format = format_of(&mut e, &q.format);
    e.finish().map_err(AppError::from)?;
    let tr = &ctx.tr;
    let lines = credit(&state, &user, tr, days).await?;
    if let Some(format) = format {
        let t = credit_sheet(tr, &lines);
        let more = more_lines(tr, None, &notes(tr, None, None), None);
        let h = heading(tr, &user, &tr.t("report-credit"), days, &more);
        return api_file(&t, &h, format, "credit");
    }
    let all = credit_totals(&lines);
    Ok(axum::Json(CreditReport {
        from: days.from.map(|d| d.to_string()),
        to: days.to.map(|d| d.to_string()),
        currency: "CNY".into(),
        items: lines
            .iter()
            .map(|l| CreditRow {
                credit: l.key.clone(),
                label: l.label.clone(),
                customers: l.customers,
                customer_share: percent(basis_points(l.customers, all.customers)),
                orders: l.orders,
                amount: yuan(l.amount),
                amount_share: percent(basis_points(l.amount, all.amount)),
                open_orders: l.open_orders,
                open_amount: yuan(l.open_amount),
            })
            .collect(),
        totals: CreditTotals {
            customers: all.customers,
            orders: all.orders,
            amount: yuan(all.amount),
            open_orders: all.open_orders,
            open_amount: yuan(all.open_amount),
        },
    })
    .into_response())
}

// ---------------------------------------------------------------------------------------
// Pages

/// The view a page asks for (products: sales, the default).
fn view_of(ask: &PageAsk) -> View {
    blank(&ask.view)
        .and_then(View::from_code)
        .unwrap_or(View::Sales)
}

/// `path` asked as `ask` is, in view `view` (none: the credit overview's), with `extra`.
fn link_of(ask: &PageAsk, path: &str, view: Option<View>, extra: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(&str, &str)> = view.map(|v| ("view", v.code())).into_iter().collect();
    pairs.extend(extra.iter().copied());
    ask.link(path, &pairs)
}

struct Head {
    title: String,
    numeric: bool,
}

struct Tab {
    href: String,
    label: String,
    active: bool,
}

/// The product and credit pages: the period, the views, the notes and the table.
#[derive(Template)]
#[template(path = "reports/products.html")]
struct ProductsPage {
    c: Chrome,
    key: &'static str,
    title: String,
    about: String,
    path: String,
    periods: Vec<Opt>,
    custom: bool,
    from: String,
    to: String,
    /// The view kept by the period's form.
    view: Option<String>,
    tabs: Vec<Tab>,
    /// Why there is no table (the turnover in a manager's scope).
    notice: Option<String>,
    notes: Vec<String>,
    summary: String,
    heads: Vec<Head>,
    rows: Vec<Vec<String>>,
    totals: Option<Vec<String>>,
    csv: String,
    xlsx: String,
    print: Heading,
    /// The view's chart (SVG), when it has figures to draw.
    chart: Option<String>,
}

impl ProductsPage {
    fn new(
        c: Chrome,
        key: &'static str,
        ask: &PageAsk,
        view: Option<View>,
        print: Heading,
    ) -> Self {
        let path = format!("/reports/{key}");
        let preset = ask.preset();
        let mut periods = Opt::list(
            PRESETS
                .iter()
                .map(|p| (*p, c.t(&format!("report-period-{p}")))),
            preset,
        );
        periods.push(Opt {
            value: "custom".into(),
            label: c.t("report-period-custom"),
            selected: preset == "custom",
        });
        let tabs = match view {
            Some(current) => View::ALL
                .into_iter()
                .map(|v| Tab {
                    href: link_of(ask, &path, Some(v), &[]),
                    label: c.t(&format!("report-view-{}", v.code())),
                    active: v == current,
                })
                .collect(),
            None => Vec::new(),
        };
        ProductsPage {
            title: c.t(&format!("report-{key}")),
            about: c.t(&format!("report-{key}-about")),
            csv: link_of(ask, &path, view, &[("format", "csv")]),
            xlsx: link_of(ask, &path, view, &[("format", "xlsx")]),
            custom: preset == "custom",
            from: blank(&ask.from).unwrap_or_default().to_owned(),
            to: blank(&ask.to).unwrap_or_default().to_owned(),
            view: view.map(|v| v.code().to_owned()),
            path,
            key,
            periods,
            tabs,
            notice: None,
            notes: Vec::new(),
            summary: String::new(),
            chart: None,
            heads: Vec::new(),
            rows: Vec::new(),
            totals: None,
            print,
            c,
        }
    }

    fn sheet(&mut self, t: &Sheet) {
        self.heads = t.heads();
        self.rows = t.rows.iter().map(|r| t.shown(r)).collect();
        self.totals = t.totals.as_ref().map(|r| t.shown(r));
    }
}

async fn products_page(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Reports>,
    PageQuery(ask): PageQuery<PageAsk>,
) -> Result<Response, PageError> {
    let days = ask.days(&state);
    let view = view_of(&ask);
    let tr = &ctx.tr;
    let mut chart = None;
    let (t, count, turn) = match view {
        View::Turnover => {
            let t = turnover(&state, &user, days).await?;
            (turnover_sheet(tr, &t), t.rows.len(), Some(t))
        }
        View::Margin => {
            let s = sales(&state, &user, days).await?;
            chart = top_chart(&tr.t("report-products-chart-margin"), &s, |x| {
                (x.costed - x.cost) as f64 / 100.0
            });
            (margin_sheet(tr, &s), s.len(), None)
        }
        View::Sales => {
            let s = sales(&state, &user, days).await?;
            chart = top_chart(&tr.t("report-products-chart-sales"), &s, |x| {
                x.revenue as f64 / 100.0
            });
            (sales_sheet(tr, &s), s.len(), None)
        }
    };
    let notice = turn
        .as_ref()
        .filter(|t| t.restricted)
        .map(|_| tr.t("report-turnover-restricted"));
    let n = notes(tr, Some(view), turn.as_ref().and_then(|t| t.days));
    let more = more_lines(tr, Some(view), &n, notice.as_deref());
    let print = heading(tr, &user, &tr.t("report-products"), days, &more);
    if let Some(format) = ask.format() {
        return crate::ask::page_file(&t, &print, format, &format!("products-{}", view.code()));
    }
    let c = Chrome::new(&ctx, "/reports");
    let mut p = ProductsPage::new(c, "products", &ask, Some(view), print);
    p.sheet(&t);
    p.summary = p.c.t_num(
        "report-products-count",
        "count",
        i64::try_from(count).unwrap_or(i64::MAX),
    );
    p.notes = n;
    p.notice = notice;
    p.chart = chart;
    Ok(render(&p)?.into_response())
}

/// A lying bar chart of the (at most 15) products of `sold` with the largest `value`.
fn top_chart(
    title: &str,
    sold: &[ProductSales],
    value: impl Fn(&ProductSales) -> f64,
) -> Option<String> {
    let mut top: Vec<&ProductSales> = sold.iter().collect();
    top.sort_by(|a, b| value(b).total_cmp(&value(a)));
    top.truncate(15);
    crate::chart::horizontal_bar(
        title,
        &top.iter().map(|x| x.name.clone()).collect::<Vec<_>>(),
        &[crate::chart::Series {
            name: title.to_owned(),
            values: top.iter().map(|x| value(x)).collect(),
        }],
    )
}

async fn credit_page(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Reports>,
    PageQuery(ask): PageQuery<PageAsk>,
) -> Result<Response, PageError> {
    let days = ask.days(&state);
    let tr = &ctx.tr;
    let lines = credit(&state, &user, tr, days).await?;
    let t = credit_sheet(tr, &lines);
    let n = notes(tr, None, None);
    let print = heading(
        tr,
        &user,
        &tr.t("report-credit"),
        days,
        &more_lines(tr, None, &n, None),
    );
    if let Some(format) = ask.format() {
        return crate::ask::page_file(&t, &print, format, "credit");
    }
    let c = Chrome::new(&ctx, "/reports");
    let mut p = ProductsPage::new(c, "credit", &ask, None, print);
    p.sheet(&t);
    p.summary = p.c.t_num(
        "report-customers-count",
        "count",
        credit_totals(&lines).customers,
    );
    p.notes = n;
    Ok(render(&p)?.into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn a_margin_is_set_against_the_revenue_with_a_cost_and_unknown_without_one() {
        // 100.00 revenue, 60.00 of it with a cost of 45.00: margin 15.00, 25 % of 60.00.
        let m = Margin::of(10_000, 4_500, 6_000);
        assert_eq!(
            (m.cost, m.margin, m.rate, m.uncosted),
            (Some(4_500), Some(1_500), Some(2_500), 4_000)
        );
        let none = Margin::of(10_000, 0, 0);
        assert_eq!((none.cost, none.margin, none.rate), (None, None, None));
        // Sold below cost: a negative rate, rounded half up.
        let loss = Margin::of(300, 301, 300);
        assert_eq!((loss.margin, loss.rate), (Some(-1), Some(-33)));
    }

    #[test]
    fn rates_quantities_and_times_show_and_export_exactly() {
        assert_eq!(Col::Rate.show(&Value::Int(-2_555)), "-25.5%");
        assert_eq!(Col::Rate.show(&Value::Int(2_555)), "25.6%");
        assert_eq!(Col::Quantity.show(&Value::Int(12_500)), "12.5");
        assert_eq!(Col::Times.show(&Value::Int(235)), "2.35");
        assert_eq!(
            Col::Quantity.cell(&Value::Int(12_500)),
            Cell::Decimal(Decimal::new(125, 1))
        );
        assert_eq!(
            Col::Kit(Kind::Money).cell(&Value::Int(-5)),
            Cell::Decimal(Decimal::new(-5, 2))
        );
    }

    #[test]
    fn turnover_is_units_sold_per_unit_of_stock_and_the_stock_lasts_at_the_days_rate() {
        let sold = |q: i64| ProductSales {
            product_id: 1,
            name: "轴承".into(),
            model: String::new(),
            unit: "个".into(),
            orders: 1,
            quantity: q,
            revenue: 0,
            cost: 0,
            costed: 0,
            unit_cost: None,
        };
        // 30 sold in 90 days, 20 in stock: turnover 1.50, 60 days of stock.
        let t = turnover_of(sold(30_000), 20_000, Some(90));
        assert_eq!((t.times, t.days), (Some(150), Some(60)));
        let none = turnover_of(sold(0), 5_000, Some(90));
        assert_eq!((none.times, none.days), (Some(0), None));
        let out = turnover_of(sold(1_000), 0, Some(90));
        assert_eq!((out.times, out.days), (None, Some(0)));
    }
}
