//! The reports in the API (`/api/v1/reports/…`, right `report.read`, in the caller's data
//! scope): each answers its rows as JSON, or with `format=csv|xlsx` the same report as a file
//! (the page's export). Amounts are exact decimal strings in yuan (`"1234.50"`, currency
//! CNY); shares are percentages with two places (`"25.00"`).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kehu_domain::error::Errors;
use kehu_domain::{FieldError, Principal};
use kehu_orders::contribution::{Contribution, ContributionSort};
use kehu_store::page::Sort;
use kehu_web::AppState;
use kehu_web::api::{
    BadRequest, Forbidden, Granted, Invalid, ListOf, Query, Unauthenticated, blank_as_none,
    list_request, rules,
};
use kehu_web::error::{ApiError, AppError};
use kehu_web::i18n::Tr;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::ask::{api_file, choice, format_of};
use crate::composition::Breakdown;
use crate::need;
use crate::period::Days;
use crate::service::By;
use crate::table::{Format, Heading, Table, percent, yuan};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/contribution", get(contribution))
        .route("/api/v1/reports/composition", get(composition))
        .route("/api/v1/reports/service", get(service))
        .route("/api/v1/reports/loss", get(loss))
        .route("/api/v1/reports/pareto", get(pareto))
        .route("/api/v1/reports/rfm", get(rfm))
        .route("/api/v1/reports/value-classes", get(value_classes))
        .route("/api/v1/reports/clv", get(clv))
        .route("/api/v1/reports/retention", get(retention))
}

#[derive(OpenApi)]
#[openapi(
    paths(contribution, composition, service, loss),
    components(schemas(
        ContributionOut,
        ContributionTotalsOut,
        ContributionReport,
        CompositionRow,
        CompositionReport,
        ServiceRow,
        ServiceReport,
        LossRow,
        LossReasonRow,
        LossReport
    ))
)]
pub struct ReportsApi;

/// The heading of an export: the report, its period, who read it and when.
pub(crate) fn heading(
    tr: &Tr,
    user: &Principal,
    title: &str,
    days: Days,
    more: &[String],
) -> Heading {
    let day = |d: Option<chrono::NaiveDate>| d.map_or_else(|| "…".to_owned(), |d| d.to_string());
    let period = match (days.from, days.to) {
        (None, None) => tr.t("report-period-all"),
        (f, t) => format!("{} – {}", day(f), day(t)),
    };
    let mut lines = vec![tr.t_fill("report-heading-period", &[("period", &period)])];
    lines.extend(more.iter().cloned());
    let now = kehu_web::views::when(tr, &chrono::Utc::now());
    lines.push(tr.t_fill("report-heading-read", &[("when", &now)]) + " · " + &user.display_name);
    Heading {
        title: title.to_owned(),
        lines,
    }
}

fn contribution_sort() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    rules::sort::<ContributionSort>()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContributionQuery {
    /// The first day counted (`2026-01-01`); open when absent.
    #[param(max_length = 10)]
    from: Option<String>,
    /// The last day counted (`2026-12-31`); open when absent. Both absent: all time.
    #[param(max_length = 10)]
    to: Option<String>,
    /// The beginning of the customer's name or code.
    #[param(max_length = 64)]
    q: Option<String>,
    /// The customers' account manager.
    #[serde(default, deserialize_with = "blank_as_none")]
    owner_id: Option<i64>,
    /// `-amount` (the default, largest first), `amount`, `-orders` or `orders`.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = contribution_sort)]
    sort: Option<Sort<ContributionSort>>,
    /// Where to continue (a `next_cursor` or `prev_cursor`).
    #[param(max_length = 512)]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "kehu_web::api::page_number")]
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    #[serde(default, deserialize_with = "kehu_web::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
    /// `csv` or `xlsx`: the whole report as a file instead of a page of JSON.
    #[param(max_length = 4)]
    format: Option<String>,
}

/// What one customer contributed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionOut {
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    /// Orders that count (not cancelled).
    pub orders: i64,
    /// Their amount in yuan, `"1234.50"`.
    pub amount: String,
    /// Of the report's total amount, percent with two places.
    pub share: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionTotalsOut {
    /// Customers with an order that counts.
    pub customers: i64,
    pub orders: i64,
    pub amount: String,
}

/// A page of the contribution report with the totals of all its rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionReport {
    pub from: Option<String>,
    pub to: Option<String>,
    /// The currency of every amount.
    pub currency: String,
    #[serde(flatten)]
    pub page: ListOf<ContributionOut>,
    pub totals: ContributionTotalsOut,
}

#[utoipa::path(get, path = "/api/v1/reports/contribution", tag = "reports",
    params(ContributionQuery),
    responses(
        (status = 200, description = "客户贡献分析: a page of what each customer in the caller's scope ordered in the period (orders not cancelled), largest amount first unless `sort` says otherwise, with the totals; with `format`, the whole report as CSV or XLSX", body = ContributionReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn contribution(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<ContributionQuery>,
) -> Result<Response, ApiError> {
    let mut e = Errors::new();
    let days = Days::parse(&mut e, q.from.as_deref(), q.to.as_deref());
    let format = format_of(&mut e, &q.format);
    e.finish().map_err(AppError::from)?;
    let f = crate::contribution::Filter {
        days,
        q: q.q.clone().filter(|s| !s.trim().is_empty()),
        owner_id: q.owner_id,
    };
    if let Some(format) = format {
        let tr = &ctx.tr;
        let t =
            crate::contribution::whole(&state, &user, tr, &f, q.sort.unwrap_or_default()).await?;
        let h = heading(tr, &user, &tr.t("report-contribution"), days, &[]);
        return api_file(&t, &h, format, "contribution");
    }
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let (listing, totals) = crate::contribution::page(&state, &user, &f, &req).await?;
    let out = |c: Contribution| ContributionOut {
        share: percent(crate::table::basis_points(c.amount, totals.amount)),
        customer_id: c.customer_id,
        customer_code: c.customer_code,
        customer_name: c.customer_name,
        orders: c.orders,
        amount: yuan(c.amount),
    };
    Ok(axum::Json(ContributionReport {
        from: days.from.map(|d| d.to_string()),
        to: days.to.map(|d| d.to_string()),
        currency: "CNY".into(),
        page: ListOf::from_listing(listing, out),
        totals: ContributionTotalsOut {
            customers: totals.customers,
            orders: totals.orders,
            amount: yuan(totals.amount),
        },
    })
    .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompositionQuery {
    /// `level` (the default), `credit`, `satisfaction`, `region` or `industry`.
    #[param(max_length = 16)]
    by: Option<String>,
    /// `csv` or `xlsx`: the report as a file.
    #[param(max_length = 4)]
    format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompositionRow {
    /// The stored value (a dictionary code, or 1–5); `null`: not filled in.
    pub key: Option<String>,
    pub label: String,
    pub customers: i64,
    /// Percent of the customers counted, two places.
    pub share: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompositionReport {
    pub by: String,
    pub items: Vec<CompositionRow>,
    /// Customers counted (in the caller's scope, not in the trash).
    pub total: i64,
}

#[utoipa::path(get, path = "/api/v1/reports/composition", tag = "reports",
    params(CompositionQuery),
    responses(
        (status = 200, description = "客户构成分析: the customers in the caller's scope (not in the trash) by level, credit, satisfaction, region or industry, most first; with `format`, as CSV or XLSX", body = CompositionReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn composition(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<CompositionQuery>,
) -> Result<Response, ApiError> {
    let mut e = Errors::new();
    let by = choice(&mut e, "by", &q.by, Breakdown::Level, Breakdown::from_code);
    let format = format_of(&mut e, &q.format);
    e.finish().map_err(AppError::from)?;
    let tr = &ctx.tr;
    let parts = crate::composition::parts(&state, &user, tr, by).await?;
    if let Some(format) = format {
        let t = crate::composition::table(tr, &parts);
        let by_name = tr.t(&format!("report-by-{}", by.code()));
        let by_line = tr.t_fill("report-heading-by", &[("by", &by_name)]);
        let h = heading(
            tr,
            &user,
            &tr.t("report-composition"),
            Days::default(),
            &[by_line],
        );
        return api_file(&t, &h, format, "composition");
    }
    let total = parts.iter().map(|p| p.customers).sum();
    Ok(axum::Json(CompositionReport {
        by: by.code().into(),
        items: parts
            .into_iter()
            .map(|p| CompositionRow {
                key: p.key,
                label: p.label,
                customers: p.customers,
                share: percent(p.share),
            })
            .collect(),
        total,
    })
    .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceQuery {
    /// The first day (`2026-01-01`); open when absent.
    #[param(max_length = 10)]
    from: Option<String>,
    /// The last day; open when absent.
    #[param(max_length = 10)]
    to: Option<String>,
    /// `type` (the default) or `month` (at most the period's last 36 months; a period open
    /// at either end: the twelve months up to this one).
    #[param(max_length = 8)]
    by: Option<String>,
    /// `csv` or `xlsx`: the report as a file.
    #[param(max_length = 4)]
    format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceRow {
    /// The type's code (dictionary `service_type`) or the month, `2026-03`.
    pub key: String,
    pub label: String,
    pub services: i64,
    /// Percent of the services counted, two places.
    pub share: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceReport {
    pub by: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub items: Vec<ServiceRow>,
    pub total: i64,
}

#[utoipa::path(get, path = "/api/v1/reports/service", tag = "reports",
    params(ServiceQuery),
    responses(
        (status = 200, description = "客户服务分析: the services in the caller's scope taken in the period, by type or by month; with `format`, as CSV or XLSX", body = ServiceReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn service(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<ServiceQuery>,
) -> Result<Response, ApiError> {
    let mut e = Errors::new();
    let days = Days::parse(&mut e, q.from.as_deref(), q.to.as_deref());
    let by = choice(&mut e, "by", &q.by, By::Type, By::from_code);
    let format = format_of(&mut e, &q.format);
    e.finish().map_err(AppError::from)?;
    let tr = &ctx.tr;
    let counts = crate::service::counts(&state, &user, tr, days, by).await?;
    if let Some(format) = format {
        let t = crate::service::table(tr, by, &counts);
        let h = heading(tr, &user, &tr.t("report-service"), days, &[]);
        return api_file(&t, &h, format, "service");
    }
    let total = counts.iter().map(|c| c.services).sum();
    Ok(axum::Json(ServiceReport {
        by: by.code().into(),
        from: days.from.map(|d| d.to_string()),
        to: days.to.map(|d| d.to_string()),
        items: counts
            .into_iter()
            .map(|c| ServiceRow {
                key: c.key,
                label: c.label,
                services: c.services,
                share: percent(c.share),
            })
            .collect(),
        total,
    })
    .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LossQuery {
    /// Confirmed on or after this day (`2026-01-01`); open when absent.
    #[param(max_length = 10)]
    from: Option<String>,
    /// Confirmed on or before this day; open when absent.
    #[param(max_length = 10)]
    to: Option<String>,
    /// The account manager.
    #[serde(default, deserialize_with = "blank_as_none")]
    owner_id: Option<i64>,
    /// Where to continue (a `next_cursor` or `prev_cursor`).
    #[param(max_length = 512)]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "kehu_web::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
    /// `csv` or `xlsx`: the whole report as a file.
    #[param(max_length = 4)]
    format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LossRow {
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    /// The account manager's name.
    pub owner: String,
    /// The customer's last order when it was warned; `null`: never ordered.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_order_at: Option<chrono::DateTime<chrono::Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// A value of the dictionary `loss_reason`.
    pub reason: Option<String>,
    /// The reason's name.
    pub reason_label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LossReasonRow {
    pub key: Option<String>,
    pub label: String,
    pub losses: i64,
    pub share: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LossReport {
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(flatten)]
    pub page: ListOf<LossRow>,
    /// All the report's losses by reason, most first.
    pub reasons: Vec<LossReasonRow>,
}

#[utoipa::path(get, path = "/api/v1/reports/loss", tag = "reports",
    params(LossQuery),
    responses(
        (status = 200, description = "客户流失分析: the customers in the caller's scope whose loss was confirmed in the period, latest first, and the losses by reason; with `format`, the whole list as CSV or XLSX", body = LossReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn loss(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<LossQuery>,
) -> Result<Response, ApiError> {
    let mut e = Errors::new();
    let days = Days::parse(&mut e, q.from.as_deref(), q.to.as_deref());
    let format = format_of(&mut e, &q.format);
    e.finish().map_err(AppError::from)?;
    let tr = &ctx.tr;
    let f = crate::loss::filter(&state, days, q.owner_id);
    if let Some(format) = format {
        let t = crate::loss::whole(&state, &user, tr, &f).await?;
        let h = heading(tr, &user, &tr.t("report-loss"), days, &[]);
        return api_file(&t, &h, format, "loss");
    }
    let req = list_request(
        Some(crate::loss::SORT),
        q.cursor.as_deref(),
        None,
        q.per_page,
    )?;
    let listing = crate::loss::page(&state, &user, &f, req).await?;
    let reasons = crate::loss::reasons(&state, &user, tr, &f).await?;
    let labels =
        kehu_web::labels::Labels::load(&state, tr.lang, &[kehu_loss::domain::REASON]).await?;
    Ok(axum::Json(LossReport {
        from: days.from.map(|d| d.to_string()),
        to: days.to.map(|d| d.to_string()),
        page: ListOf::from_listing(listing, |r| LossRow {
            reason_label: labels.of(kehu_loss::domain::REASON, r.reason.as_deref()),
            customer_id: r.customer_id,
            customer_code: r.customer_code,
            customer_name: r.customer_name,
            owner: r.owner_name,
            last_order_at: r.last_order_at,
            confirmed_at: r.confirmed_at,
            reason: r.reason,
        }),
        reasons: reasons
            .into_iter()
            .map(|r| LossReasonRow {
                key: r.key,
                label: r.label,
                losses: r.losses,
                share: percent(r.share),
            })
            .collect(),
    })
    .into_response())
}

/// The analysis run the figures come from.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnalyticsRunOut {
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub finished_at: chrono::DateTime<chrono::Utc>,
    /// The last day of orders it read.
    pub as_of: String,
    /// Orders it read.
    pub orders: i64,
}

impl AnalyticsRunOut {
    fn of(r: &crate::value::Run) -> Self {
        AnalyticsRunOut {
            id: r.id,
            finished_at: r.finished_at,
            as_of: r.as_of.to_string(),
            orders: r.orders,
        }
    }
}

/// A class of customers (ABC, segment, value class).
#[derive(Debug, Serialize, ToSchema)]
pub struct ValueClassOut {
    pub key: String,
    pub label: String,
    pub customers: i64,
    /// Their revenue in yuan.
    pub revenue: String,
    /// Of all revenue, percent with two places.
    pub share: String,
    /// Their predicted lifetime value in yuan.
    pub clv: String,
}

fn classes_out(
    classes: &[crate::value::ClassFigures],
    keys: &[&str],
    name: impl Fn(&str) -> String,
) -> Vec<ValueClassOut> {
    let revenue: i64 = classes.iter().map(|c| c.revenue).sum();
    let rank = |k: &str| keys.iter().position(|x| *x == k).unwrap_or(keys.len());
    let mut sorted: Vec<&crate::value::ClassFigures> = classes.iter().collect();
    sorted.sort_by_key(|c| (rank(&c.key), c.key.clone()));
    sorted
        .into_iter()
        .map(|c| ValueClassOut {
            key: c.key.clone(),
            label: name(&c.key),
            customers: c.customers,
            revenue: yuan(c.revenue),
            share: percent(crate::table::basis_points(c.revenue, revenue)),
            clv: yuan(c.clv),
        })
        .collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValueQuery {
    /// `csv` or `xlsx`: the report as a file.
    #[param(max_length = 4)]
    format: Option<String>,
}

/// What a value report answers from: the export's format (if asked), the last run (none before
/// the first) and the figures in the caller's scope (empty before the first run).
async fn value_asked(
    state: &AppState,
    user: &Principal,
    q: &ValueQuery,
) -> Result<
    (
        Option<Format>,
        Option<crate::value::Run>,
        crate::value::Figures,
    ),
    ApiError,
> {
    let mut e = Errors::new();
    let format = format_of(&mut e, &q.format);
    e.finish().map_err(AppError::from)?;
    let found = crate::value::figures(&state.store.db, user.owner_filter())
        .await
        .map_err(AppError::Internal)?;
    Ok(match found {
        Some((run, f)) => (format, Some(run), f),
        None => (format, None, Default::default()),
    })
}

/// A value report as a file.
fn value_file(
    tr: &Tr,
    user: &Principal,
    title_key: &str,
    t: &Table,
    format: Format,
    name: &str,
) -> Result<Response, ApiError> {
    let h = heading(tr, user, &tr.t(title_key), Days::default(), &[]);
    api_file(t, &h, format, name)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParetoPoint {
    /// The top share of customers, by revenue: 1 … 100 percent.
    pub customers_percent: i64,
    /// Their share of all revenue, percent with two places.
    pub revenue_share: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParetoReport {
    /// `null` before the analysis job's first run.
    pub run: Option<AnalyticsRunOut>,
    /// Customers who ordered.
    pub customers: i64,
    pub revenue: String,
    /// The fewest customers, in percent, that bring 80 % of revenue.
    pub customers_for_80_percent: i64,
    pub points: Vec<ParetoPoint>,
    /// The A, B and C classes (the top customers to 80 % of revenue, the next to 95 %, the
    /// rest).
    pub classes: Vec<ValueClassOut>,
}

#[utoipa::path(get, path = "/api/v1/reports/pareto", tag = "reports",
    params(ValueQuery),
    responses(
        (status = 200, description = "80/20: the share of revenue of the top 1 … 100 % of customers and the ABC classes, in the caller's scope, from the last run of the analysis job; with `format`, as CSV or XLSX", body = ParetoReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn pareto(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<ValueQuery>,
) -> Result<Response, ApiError> {
    let (format, run, f) = value_asked(&state, &user, &q).await?;
    let tr = &ctx.tr;
    if let Some(format) = format {
        let t = crate::value::pareto_table(tr, &f);
        return value_file(tr, &user, "report-pareto", &t, format, "pareto");
    }
    Ok(axum::Json(ParetoReport {
        run: run.as_ref().map(AnalyticsRunOut::of),
        customers: f.customers,
        revenue: yuan(f.revenue),
        customers_for_80_percent: f.customers_for_80,
        points: f
            .pareto
            .iter()
            .enumerate()
            .map(|(i, bp)| ParetoPoint {
                customers_percent: i as i64 + 1,
                revenue_share: percent(*bp),
            })
            .collect(),
        classes: classes_out(&f.abc, &["A", "B", "C"], |k| {
            tr.t(&format!("abc-class-{k}"))
        }),
    })
    .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RfmCellOut {
    /// Recency score, 1 (longest ago) to 5 (most recent).
    pub r: i16,
    /// Frequency score, 1 to 5 (most orders).
    pub f: i16,
    pub customers: i64,
    /// The mean monetary score (1–5) of the cell's customers.
    pub mean_m: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RfmReport {
    pub run: Option<AnalyticsRunOut>,
    /// The cells with customers.
    pub cells: Vec<RfmCellOut>,
    /// The named segments, best first.
    pub segments: Vec<ValueClassOut>,
}

#[utoipa::path(get, path = "/api/v1/reports/rfm", tag = "reports",
    params(ValueQuery),
    responses(
        (status = 200, description = "The 5×5 RFM grid (recency × frequency, with the mean monetary score) and the named segments, in the caller's scope, from the last run of the analysis job; with `format`, as CSV or XLSX", body = RfmReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn rfm(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<ValueQuery>,
) -> Result<Response, ApiError> {
    let (format, run, f) = value_asked(&state, &user, &q).await?;
    let tr = &ctx.tr;
    let segment = |k: &str| tr.t(&format!("segment-{k}"));
    if let Some(format) = format {
        let t = crate::value::table_of_classes(tr, &f.segments, crate::value::SEGMENTS, segment);
        return value_file(tr, &user, "report-segments", &t, format, "rfm");
    }
    Ok(axum::Json(RfmReport {
        run: run.as_ref().map(AnalyticsRunOut::of),
        cells: f
            .grid
            .iter()
            .map(|c| RfmCellOut {
                r: c.r,
                f: c.f,
                customers: c.customers,
                mean_m: (c.mean_m * 100.0).round() / 100.0,
            })
            .collect(),
        segments: classes_out(&f.segments, crate::value::SEGMENTS, segment),
    })
    .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterOut {
    /// 1 … k.
    pub cluster: u32,
    pub customers: i64,
    /// Its typical customer: days since the last order, orders, revenue in yuan.
    pub recency_days: f64,
    pub orders: f64,
    pub revenue: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValueClassesReport {
    pub run: Option<AnalyticsRunOut>,
    /// High (高价值), sub (次价值), potential (潜在价值), low (低价值): current value (revenue of
    /// the last 12 months) × potential value (predicted lifetime value).
    pub classes: Vec<ValueClassOut>,
    /// The thresholds between high and low: revenue of the last 12 months, and lifetime value,
    /// in yuan.
    pub current_threshold: Option<f64>,
    pub potential_threshold: Option<f64>,
    /// The k-means clusters (everyone's only: empty in a manager's scope).
    pub clusters: Vec<ClusterOut>,
}

#[utoipa::path(get, path = "/api/v1/reports/value-classes", tag = "reports",
    params(ValueQuery),
    responses(
        (status = 200, description = "The four value classes with their customers, revenue and lifetime value, and the clusters' profiles, from the last run of the analysis job; with `format`, as CSV or XLSX", body = ValueClassesReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn value_classes(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<ValueQuery>,
) -> Result<Response, ApiError> {
    let (format, run, f) = value_asked(&state, &user, &q).await?;
    let tr = &ctx.tr;
    let class = |k: &str| tr.t(&format!("value-class-{k}"));
    if let Some(format) = format {
        let t = crate::value::table_of_classes(
            tr,
            &f.value_classes,
            crate::value::VALUE_CLASSES,
            class,
        );
        return value_file(
            tr,
            &user,
            "report-value-classes",
            &t,
            format,
            "value-classes",
        );
    }
    Ok(axum::Json(ValueClassesReport {
        run: run.as_ref().map(AnalyticsRunOut::of),
        classes: classes_out(&f.value_classes, crate::value::VALUE_CLASSES, class),
        current_threshold: f.current_threshold,
        potential_threshold: f.potential_threshold,
        clusters: f
            .clusters
            .iter()
            .map(|c| ClusterOut {
                cluster: c.cluster + 1,
                customers: c.customers,
                recency_days: c.recency_days,
                orders: c.orders,
                revenue: c.revenue,
            })
            .collect(),
    })
    .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClvQuery {
    /// `true`: the customers at risk — P(alive) below one half, lowest first — instead of
    /// the highest lifetime value first.
    #[serde(default, deserialize_with = "blank_as_none")]
    at_risk: Option<bool>,
    /// A segment (`champions`, `at_risk` …).
    #[param(max_length = 24)]
    segment: Option<String>,
    /// `high`, `sub`, `potential` or `low`.
    #[param(max_length = 12)]
    value_class: Option<String>,
    /// Where to continue (a `next_cursor` or `prev_cursor`).
    #[param(max_length = 512)]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "kehu_web::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
    /// `csv` or `xlsx`: the whole list as a file.
    #[param(max_length = 4)]
    format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValuedOut {
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    pub segment: String,
    /// A, B or C.
    pub abc: String,
    pub value_class: String,
    /// RFM scores, 1–5.
    pub r: i16,
    pub f: i16,
    pub m: i16,
    /// Predicted lifetime value over the next 12 months, yuan.
    pub clv: String,
    /// The probability that the customer is still buying, 0–1.
    pub p_alive: f64,
    /// Purchases expected over the next 12 months.
    pub expected_purchases: f64,
    /// Revenue so far, yuan.
    pub revenue: String,
    pub orders: i32,
    pub last_purchase: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClvReport {
    pub run: Option<AnalyticsRunOut>,
    #[serde(flatten)]
    pub page: ListOf<ValuedOut>,
}

#[utoipa::path(get, path = "/api/v1/reports/clv", tag = "reports",
    params(ClvQuery),
    responses(
        (status = 200, description = "The customers in the caller's scope by predicted lifetime value, highest first, or (`at_risk=true`) those least likely to buy again, from the last run of the analysis job; with `format`, the whole list as CSV or XLSX", body = ClvReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn clv(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<ClvQuery>,
) -> Result<Response, ApiError> {
    let mut e = Errors::new();
    let format = format_of(&mut e, &q.format);
    let pick = |e: &mut Errors, v: &Option<String>, field: &str, keys: &[&str]| {
        let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
        if !keys.contains(&v) {
            e.push(FieldError::new(field, "err-invalid"));
        }
        Some(v.to_owned())
    };
    let segment = pick(&mut e, &q.segment, "segment", crate::value::SEGMENTS);
    let class = pick(
        &mut e,
        &q.value_class,
        "value_class",
        crate::value::VALUE_CLASSES,
    );
    e.finish().map_err(AppError::from)?;
    let at_risk = q.at_risk.unwrap_or(false);
    let (sort, f) = crate::value_pages::clv_request(at_risk, segment, class);
    let (db, scope, tr) = (&state.store.db, user.owner_filter(), &ctx.tr);
    if let Some(format) = format {
        let mut rows = Vec::new();
        let per = kehu_store::page::PageRequest::new(None, Some(200));
        let mut req = kehu_store::page::ListRequest::new(sort, None, per);
        loop {
            let l = kehu_customers::values::list(db, scope, &f, &req).await?;
            rows.extend(l.items);
            match l.next {
                Some(n) => req = kehu_store::page::ListRequest::new(sort, Some(n), per),
                None => break,
            }
        }
        let t = crate::value::valued_table(tr, &rows);
        let key = if at_risk {
            "report-at-risk"
        } else {
            "report-clv-title"
        };
        return value_file(tr, &user, key, &t, format, "clv");
    }
    let req = list_request(Some(sort), q.cursor.as_deref(), None, q.per_page)?;
    let listing = kehu_customers::values::list(db, scope, &f, &req).await?;
    let run = crate::value::last_run(db)
        .await
        .map_err(AppError::Internal)?;
    Ok(axum::Json(ClvReport {
        run: run.as_ref().map(AnalyticsRunOut::of),
        page: ListOf::from_listing(listing, |v| {
            let x = v.value;
            ValuedOut {
                customer_id: x.customer_id,
                customer_code: v.customer_code,
                customer_name: v.customer_name,
                segment: x.segment,
                abc: x.abc,
                value_class: x.value_class,
                r: x.r,
                f: x.f,
                m: x.m,
                clv: yuan(x.clv),
                p_alive: f64::from(x.p_alive) / 1_000_000.0,
                expected_purchases: (x.expected_purchases * 1000.0).round() / 1000.0,
                revenue: yuan(x.revenue),
                orders: x.orders,
                last_purchase: x.last_purchase.map(|d| d.to_string()),
            }
        }),
    })
    .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionMonthOut {
    /// `2026-03`.
    pub month: String,
    /// Customers whose first order is in the month.
    pub new_customers: i64,
    /// Customers who had ordered before the month.
    pub existing_customers: i64,
    /// The share of those who ordered in the month, percent with two places.
    pub retention_rate: String,
    pub retained_customers: i64,
    /// new + retained.
    pub active_customers: i64,
    /// Revenue per active customer, yuan.
    pub revenue_per_customer: String,
    /// (new + existing × retention rate) × revenue per customer, yuan.
    pub revenue: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionReport {
    pub run: Option<AnalyticsRunOut>,
    /// The last 24 months, oldest first.
    pub months: Vec<RetentionMonthOut>,
}

#[utoipa::path(get, path = "/api/v1/reports/retention", tag = "reports",
    params(ValueQuery),
    responses(
        (status = 200, description = "The retention decomposition of the last 24 months in the caller's scope: revenue = (new customers + existing customers × retention rate) × revenue per customer; with `format`, as CSV or XLSX", body = RetentionReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn retention(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<ValueQuery>,
) -> Result<Response, ApiError> {
    let (format, run, f) = value_asked(&state, &user, &q).await?;
    let tr = &ctx.tr;
    if let Some(format) = format {
        let t = crate::retention::table(tr, &f.retention);
        return value_file(tr, &user, "report-retention", &t, format, "retention");
    }
    Ok(axum::Json(RetentionReport {
        run: run.as_ref().map(AnalyticsRunOut::of),
        months: f
            .retention
            .iter()
            .map(|m| RetentionMonthOut {
                month: m.month.clone(),
                new_customers: m.new,
                existing_customers: m.existing,
                retention_rate: percent(m.retention),
                retained_customers: m.retained,
                active_customers: m.active,
                revenue_per_customer: yuan(m.per_customer),
                revenue: yuan(m.revenue),
            })
            .collect(),
    })
    .into_response())
}
