//! The reports in the API (`/api/v1/reports/…`, right `report.read`, in the caller's data
//! scope): each answers its rows as JSON, or with `format=csv|xlsx` the same report as a file
//! (the page's export). Amounts are exact decimal strings in yuan (`"1234.50"`, currency
//! CNY); shares are percentages with two places (`"25.00"`).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kehu_domain::error::Errors;
use kehu_domain::{DomainError, FieldError, Principal};
use kehu_io::WriteError;
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

use crate::composition::Breakdown;
use crate::need;
use crate::period::Days;
use crate::service::By;
use crate::table::{Format, Heading, Table};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/contribution", get(contribution))
        .route("/api/v1/reports/composition", get(composition))
        .route("/api/v1/reports/service", get(service))
        .route("/api/v1/reports/loss", get(loss))
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

/// Yuan with two places, exact.
fn yuan(fen: i64) -> String {
    kehu_domain::money::fen_to_decimal(fen)
}

/// Basis points as a percentage with two places: 2500 → `"25.00"`.
fn percent(bp: i64) -> String {
    kehu_domain::money::fen_to_decimal(bp)
}

/// `format` given: the export's format, or a field error.
fn format_of(e: &mut Errors, format: Option<&str>) -> Option<Format> {
    let code = format.map(str::trim).filter(|s| !s.is_empty())?;
    let f = Format::from_code(code);
    if f.is_none() {
        e.push(FieldError::new("format", "err-invalid"));
    }
    f
}

/// A report written to a file.
fn file(t: &Table, heading: &Heading, format: Format, name: &str) -> Result<Response, ApiError> {
    t.export(heading, format, name).map_err(|e| {
        ApiError(match e {
            WriteError::TooManyRows => {
                AppError::Domain(DomainError::field("format", "err-export-too-many-rows"))
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        })
    })
}

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
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
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
    let format = format_of(&mut e, q.format.as_deref());
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
        return file(&t, &h, format, "contribution");
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
    let by = match q.by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Breakdown::Level,
        Some(code) => Breakdown::from_code(code).unwrap_or_else(|| {
            e.push(FieldError::new("by", "err-invalid"));
            Breakdown::Level
        }),
    };
    let format = format_of(&mut e, q.format.as_deref());
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
        return file(&t, &h, format, "composition");
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
    let by = match q.by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => By::Type,
        Some(code) => By::from_code(code).unwrap_or_else(|| {
            e.push(FieldError::new("by", "err-invalid"));
            By::Type
        }),
    };
    let format = format_of(&mut e, q.format.as_deref());
    e.finish().map_err(AppError::from)?;
    let tr = &ctx.tr;
    let counts = crate::service::counts(&state, &user, tr, days, by).await?;
    if let Some(format) = format {
        let t = crate::service::table(tr, by, &counts);
        let h = heading(tr, &user, &tr.t("report-service"), days, &[]);
        return file(&t, &h, format, "service");
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
    let format = format_of(&mut e, q.format.as_deref());
    e.finish().map_err(AppError::from)?;
    let tr = &ctx.tr;
    let f = crate::loss::filter(&state, days, q.owner_id);
    if let Some(format) = format {
        let t = crate::loss::whole(&state, &user, tr, &f).await?;
        let h = heading(tr, &user, &tr.t("report-loss"), days, &[]);
        return file(&t, &h, format, "loss");
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
