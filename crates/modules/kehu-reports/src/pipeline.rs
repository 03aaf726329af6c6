//! The pipeline and service-level reports: 销售漏斗分析 (the opportunities created in a period
//! by status and by source, today's weighted pipeline per currency, the win rate of those
//! closed in the period and the conversion of those created in it) and 服务水平分析 (the
//! services taken in a period by status, how those due in it met their response and
//! resolution targets, the customers' satisfaction with the feedback given in it). Their
//! figures are read through the sales and service stores in the reader's data scope; each
//! report is a few [`Table`]s that its page shows one after another and that its export
//! writes as one table, each row named by its table's title.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, DurationRound, Utc};
use kehu_customers::domain::kinds::SOURCE;
use kehu_domain::Principal;
use kehu_domain::error::Errors;
use kehu_sales::pipeline::OpenTotal;
use kehu_sales::store::{Closed, OpportunityStore};
use kehu_service::store::{Attainment, ServiceStore, Target};
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::api::{BadRequest, Forbidden, Granted, Invalid, Query, Unauthenticated};
use kehu_web::context::Ctx;
use kehu_web::error::{ApiError, AppError, PageError};
use kehu_web::i18n::Tr;
use kehu_web::labels::Labels;
use kehu_web::views::{Chrome, Opt, render};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::api::heading;
use crate::ask::{PageAsk, api_file, blank, format_of};
use crate::need;
use crate::period::{Days, PRESETS};
use crate::table::{Format, Heading, Kind, Table, Value, basis_points};

/// The reports' API routes (`/api/v1/reports/pipeline`, `/api/v1/reports/service-levels`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/pipeline", get(pipeline_api))
        .route("/api/v1/reports/service-levels", get(service_levels_api))
}

/// The reports' pages (`/reports/pipeline`, `/reports/service-levels`).
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/reports/pipeline", get(pipeline_page))
        .route("/reports/service-levels", get(service_levels_page))
}

#[derive(OpenApi)]
#[openapi(
    paths(pipeline_api, service_levels_api),
    components(schemas(
        CountRow,
        WeightedOut,
        ConversionOut,
        PipelineReport,
        AttainmentOut,
        SatisfactionOut,
        ServiceLevelsReport
    ))
)]
pub struct PipelineApi;

// ---------------------------------------------------------------------------------------
// The figures.

/// One value counted (a status, a source, a score) and its share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The stored value (`None`: not given).
    pub key: Option<String>,
    pub label: String,
    pub count: i64,
    /// Basis points of all counted.
    pub share: i64,
}

/// `(key, label, count)` rows with each one's share of them all.
fn parts(rows: Vec<(Option<String>, String, i64)>) -> Vec<Part> {
    let all: i64 = rows.iter().map(|r| r.2).sum();
    rows.into_iter()
        .map(|(key, label, count)| Part {
            key,
            label,
            count,
            share: basis_points(count, all),
        })
        .collect()
}

/// `part` of `whole` in basis points; `None` of nothing.
fn rate(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| basis_points(part, whole))
}

/// The pipeline report's figures.
#[derive(Debug, Clone, Default)]
pub struct PipelineFigures {
    /// Created in the period, every status in the workflow's order.
    pub by_status: Vec<Part>,
    /// Created in the period, by source, most first.
    pub by_source: Vec<Part>,
    /// Created in the period.
    pub created: i64,
    /// Of those, won by now.
    pub created_won: i64,
    /// Open today, per currency (CNY first): the weighted pipeline.
    pub open: Vec<OpenTotal>,
    /// Closed in the period.
    pub closed: Closed,
}

impl PipelineFigures {
    /// Won of those closed in the period (won and lost).
    pub fn win_rate(&self) -> Option<i64> {
        rate(self.closed.won, self.closed.won + self.closed.lost)
    }

    /// Won of those created in the period.
    pub fn conversion(&self) -> Option<i64> {
        rate(self.created_won, self.created)
    }
}

/// The pipeline report's figures for `days`, in `user`'s scope.
pub async fn pipeline_figures(
    state: &AppState,
    user: &Principal,
    tr: &Tr,
    days: Days,
) -> Result<PipelineFigures, AppError> {
    use kehu_sales::domain::Status;
    let store = OpportunityStore::new(state.store.db.clone(), crate::offset(state));
    let scope = user.owner_filter();
    let (from, to) = days.instants(&state.config.time_zone.tz());
    let statuses = store.count_by_status(scope, from, to).await?;
    let count_of = |code: &str| -> i64 {
        statuses
            .iter()
            .filter(|(s, _)| s == code)
            .map(|(_, n)| n)
            .sum()
    };
    let by_status = parts(
        Status::ALL
            .iter()
            .map(|s| {
                let code = s.code();
                let label = tr.t(&format!("opportunity-status-{code}"));
                (Some(code.to_owned()), label, count_of(code))
            })
            .collect(),
    );
    let labels = Labels::load(state, tr.lang, &[SOURCE]).await?;
    let by_source = parts(
        store
            .count_by_source(scope, from, to)
            .await?
            .into_iter()
            .map(|(key, n)| {
                let label = match &key {
                    Some(k) => labels.of(SOURCE, Some(k)),
                    None => tr.t("report-not-filled"),
                };
                (key, label, n)
            })
            .collect(),
    );
    Ok(PipelineFigures {
        created: by_status.iter().map(|p| p.count).sum(),
        created_won: count_of(Status::Success.code()),
        by_status,
        by_source,
        open: store.weighted_pipeline(scope).await?,
        closed: store.count_closed(scope, from, to).await?,
    })
}

/// The service-level report's figures.
#[derive(Debug, Clone, Default)]
pub struct ServiceFigures {
    /// Taken in the period, every status in the workflow's order.
    pub by_status: Vec<Part>,
    pub total: i64,
    /// Due for a response in the period.
    pub response: Attainment,
    /// Due for a resolution in the period.
    pub resolution: Attainment,
    /// Feedback given in the period: scores 1–5, lowest first.
    pub scores: Vec<Part>,
    pub feedback: i64,
    /// The mean score in hundredths (`433`: 4.33), rounded half up; `None` without feedback.
    pub average: Option<i64>,
}

/// Met of those judged (met and late): those not yet due and not done have no verdict.
pub fn attainment_rate(a: &Attainment) -> Option<i64> {
    rate(a.met, a.met + a.late)
}

/// The service-level report's figures for `days` in `user`'s scope, judged now.
pub async fn service_figures(
    state: &AppState,
    user: &Principal,
    tr: &Tr,
    days: Days,
) -> Result<ServiceFigures, AppError> {
    use kehu_service::domain::Status;
    let store = ServiceStore::new(state.store.db.clone(), crate::offset(state));
    let scope = user.owner_filter();
    let (from, to) = days.instants(&state.config.time_zone.tz());
    let statuses = store.count_by_status(scope, from, to).await?;
    let by_status = parts(
        Status::ALL
            .iter()
            .map(|s| {
                let code = s.code();
                let n = statuses
                    .iter()
                    .filter(|(c, _)| c == code)
                    .map(|(_, n)| n)
                    .sum();
                let label = tr.t(&format!("service-status-{code}"));
                (Some(code.to_owned()), label, n)
            })
            .collect(),
    );
    // Now to the minute: the same report read again within it is the same statement.
    let now = Utc::now();
    let now = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    let response = store
        .attainment(scope, Target::Response, from, to, now)
        .await?;
    let resolution = store
        .attainment(scope, Target::Resolution, from, to, now)
        .await?;
    let given = store.count_by_satisfaction(scope, from, to).await?;
    let mut scores: Vec<(i16, i64)> = (1..=5).map(|s| (s, 0)).collect();
    for (score, n) in given {
        match scores.iter_mut().find(|(s, _)| *s == score) {
            Some(row) => row.1 += n,
            None => scores.push((score, n)),
        }
    }
    let feedback: i64 = scores.iter().map(|(_, n)| n).sum();
    let points: i64 = scores.iter().map(|(s, n)| i64::from(*s) * n).sum();
    let average = (feedback > 0).then(|| (points * 200 + feedback).div_euclid(feedback * 2));
    Ok(ServiceFigures {
        total: by_status.iter().map(|p| p.count).sum(),
        by_status,
        response,
        resolution,
        scores: parts(
            scores
                .into_iter()
                .map(|(s, n)| {
                    let key = s.to_string();
                    let label = tr.t_fill("report-stars", &[("n", &key)]);
                    (Some(key), label, n)
                })
                .collect(),
        ),
        feedback,
        average,
    })
}

// ---------------------------------------------------------------------------------------
// The tables: the page's sections, and the export's one table.

/// A report's table with its title and what to know about it.
pub struct Section {
    pub id: &'static str,
    pub title: String,
    pub note: Option<String>,
    pub table: Table,
}

fn count_table(tr: &Tr, label: &str, count: &str, rows: &[Part]) -> Table {
    let mut t = Table::default();
    t.column("key", tr.t("report-key"), Kind::Text)
        .column("label", tr.t(label), Kind::Text)
        .column("count", tr.t(count), Kind::Count)
        .column("share", tr.t("report-share"), Kind::Share);
    t.rows = rows
        .iter()
        .map(|p| {
            vec![
                p.key.clone().map_or(Value::Empty, Value::Text),
                Value::Text(p.label.clone()),
                Value::Int(p.count),
                Value::Int(p.share),
            ]
        })
        .collect();
    let all: i64 = rows.iter().map(|p| p.count).sum();
    t.totals = Some(vec![
        Value::Text(tr.t("report-total")),
        Value::Empty,
        Value::Int(all),
        Value::Int(if all > 0 { 10_000 } else { 0 }),
    ]);
    t
}

fn rate_value(bp: Option<i64>) -> Value {
    bp.map_or(Value::Empty, Value::Int)
}

/// The pipeline report's tables.
pub fn pipeline_sections(tr: &Tr, f: &PipelineFigures) -> Vec<Section> {
    let mut weighted = Table::default();
    weighted
        .column("key", tr.t("report-key"), Kind::Text)
        .column("currency", tr.t("report-currency"), Kind::Text)
        .column("count", tr.t("report-opportunities"), Kind::Count)
        .column("amount", tr.t("report-expected-amount"), Kind::Money)
        .column("weighted", tr.t("report-weighted-amount"), Kind::Money);
    weighted.rows = f
        .open
        .iter()
        .map(|o| {
            vec![
                Value::Text(o.currency.clone()),
                Value::Text(o.currency.clone()),
                Value::Int(o.count),
                Value::Int(o.amount),
                Value::Int(o.weighted_fen()),
            ]
        })
        .collect();
    let mut conversion = Table::default();
    conversion
        .column("key", tr.t("report-key"), Kind::Text)
        .column("label", tr.t("report-figure"), Kind::Text)
        .column("won", tr.t("report-won"), Kind::Count)
        .column("count", tr.t("report-opportunities"), Kind::Count)
        .column("share", tr.t("report-rate"), Kind::Share);
    let c = &f.closed;
    conversion.rows = vec![
        vec![
            Value::Text("closed".into()),
            Value::Text(tr.t("report-conversion-closed")),
            Value::Int(c.won),
            Value::Int(c.won + c.lost),
            rate_value(f.win_rate()),
        ],
        vec![
            Value::Text("created".into()),
            Value::Text(tr.t("report-conversion-created")),
            Value::Int(f.created_won),
            Value::Int(f.created),
            rate_value(f.conversion()),
        ],
    ];
    vec![
        Section {
            id: "status",
            title: tr.t("report-by-status-created"),
            note: None,
            table: count_table(tr, "report-status", "report-opportunities", &f.by_status),
        },
        Section {
            id: "source",
            title: tr.t("report-by-source-created"),
            note: None,
            table: count_table(
                tr,
                "opportunity-source",
                "report-opportunities",
                &f.by_source,
            ),
        },
        Section {
            id: "weighted",
            title: tr.t("report-weighted-pipeline"),
            note: Some(tr.t("report-weighted-pipeline-note")),
            table: weighted,
        },
        Section {
            id: "conversion",
            title: tr.t("report-conversion"),
            note: None,
            table: conversion,
        },
    ]
}

/// The service-level report's tables.
pub fn service_sections(tr: &Tr, f: &ServiceFigures) -> Vec<Section> {
    let mut sla = Table::default();
    sla.column("key", tr.t("report-key"), Kind::Text)
        .column("label", tr.t("report-target"), Kind::Text)
        .column("due", tr.t("report-due"), Kind::Count)
        .column("met", tr.t("report-met"), Kind::Count)
        .column("late", tr.t("report-late"), Kind::Count)
        .column("pending", tr.t("report-pending"), Kind::Count)
        .column("share", tr.t("report-attainment"), Kind::Share);
    sla.rows = [
        ("response", "report-sla-response", &f.response),
        ("resolution", "report-sla-resolution", &f.resolution),
    ]
    .into_iter()
    .map(|(key, label, a)| {
        vec![
            Value::Text(key.into()),
            Value::Text(tr.t(label)),
            Value::Int(a.due),
            Value::Int(a.met),
            Value::Int(a.late),
            Value::Int(a.pending),
            rate_value(attainment_rate(a)),
        ]
    })
    .collect();
    let mut satisfaction = count_table(tr, "report-score", "report-services", &f.scores);
    // The mean score in hundredths: a money column's two places, and an exact number in the
    // spreadsheet.
    satisfaction.column("average", tr.t("report-average"), Kind::Money);
    for r in &mut satisfaction.rows {
        r.push(Value::Empty);
    }
    if let Some(t) = &mut satisfaction.totals {
        t.push(f.average.map_or(Value::Empty, Value::Int));
    }
    vec![
        Section {
            id: "status",
            title: tr.t("report-services-by-status"),
            note: None,
            table: count_table(tr, "report-status", "report-services", &f.by_status),
        },
        Section {
            id: "sla",
            title: tr.t("report-sla"),
            note: Some(tr.t("report-sla-note")),
            table: sla,
        },
        Section {
            id: "satisfaction",
            title: tr.t("report-satisfaction"),
            note: None,
            table: satisfaction,
        },
    ]
}

/// The sections as one table, the export's: a first column naming each row's section, then
/// every column of any section (by key, in the order first met; `label` titled as a name,
/// `share` titled `share`),
/// each row's values under their columns and its section's totals after its rows.
pub fn one_table(tr: &Tr, sections: &[Section], share: &str) -> Table {
    let mut t = Table::default();
    t.column("section", tr.t("report-section"), Kind::Text);
    for s in sections {
        for c in &s.table.columns {
            if !t.columns.iter().any(|x| x.key == c.key) {
                t.columns.push(c.clone());
            }
        }
    }
    for c in &mut t.columns {
        match c.key {
            "label" => c.title = tr.t("report-label"),
            "share" => c.title = tr.t(share),
            _ => {}
        }
    }
    for s in sections {
        let at: Vec<Option<usize>> = t
            .columns
            .iter()
            .skip(1)
            .map(|c| s.table.columns.iter().position(|x| x.key == c.key))
            .collect();
        for row in s.table.rows.iter().chain(s.table.totals.iter()) {
            let mut out = vec![Value::Text(s.title.clone())];
            out.extend(
                at.iter()
                    .map(|i| i.and_then(|i| row.get(i).cloned()).unwrap_or(Value::Empty)),
            );
            t.rows.push(out);
        }
    }
    t
}

// ---------------------------------------------------------------------------------------
// The API.

/// Yuan (or the currency's unit) with two places, exact.
fn decimal(hundredths: i64) -> String {
    kehu_domain::money::fen_to_decimal(hundredths)
}

fn percent(bp: Option<i64>) -> Option<String> {
    bp.map(decimal)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// The first day counted (`2026-01-01`); open when absent.
    #[param(max_length = 10)]
    from: Option<String>,
    /// The last day counted (`2026-12-31`); open when absent. Both absent: all time.
    #[param(max_length = 10)]
    to: Option<String>,
    /// `csv` or `xlsx`: the report as a file (every table of it, one after another).
    #[param(max_length = 4)]
    format: Option<String>,
}

impl PeriodQuery {
    /// The days and the export's format, or every bad field at once.
    fn parse(&self) -> Result<(Days, Option<Format>), ApiError> {
        let mut e = Errors::new();
        let days = Days::parse(&mut e, self.from.as_deref(), self.to.as_deref());
        let format = format_of(&mut e, &self.format);
        e.finish().map_err(AppError::from)?;
        Ok((days, format))
    }
}

/// A value counted and its share.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountRow {
    /// The stored value: a status's code, a dictionary value, a score; `null`: not given.
    pub key: Option<String>,
    pub label: String,
    pub count: i64,
    /// Percent of those counted, two places.
    pub share: String,
}

fn count_rows(parts: &[Part]) -> Vec<CountRow> {
    parts
        .iter()
        .map(|p| CountRow {
            key: p.key.clone(),
            label: p.label.clone(),
            count: p.count,
            share: decimal(p.share),
        })
        .collect()
}

/// The open opportunities in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeightedOut {
    /// ISO 4217.
    pub currency: String,
    pub count: i64,
    /// Σ expected amounts, exact with two places (`"120000.00"`).
    pub amount: String,
    /// Σ expected amount × success rate, rounded half up to two places once.
    pub weighted_amount: String,
}

/// How the opportunities converted.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversionOut {
    /// Closed in the period as won.
    pub won: i64,
    /// Closed in the period as lost.
    pub lost: i64,
    /// `won` of `won + lost`, percent with two places; `null` when none was closed.
    pub win_rate: Option<String>,
    /// Created in the period.
    pub created: i64,
    /// Of those, won by now.
    pub created_won: i64,
    /// `created_won` of `created`, percent with two places; `null` when none was created.
    pub conversion_rate: Option<String>,
}

/// 销售漏斗分析.
#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineReport {
    pub from: Option<String>,
    pub to: Option<String>,
    /// The opportunities created in the period, per status (every status, the workflow's
    /// order).
    pub by_status: Vec<CountRow>,
    /// The same by source (dictionary `opportunity_source`; `key` `null`: none given), most
    /// first.
    pub by_source: Vec<CountRow>,
    /// The weighted pipeline now (whatever the period): the open opportunities per
    /// currency, CNY first.
    pub weighted: Vec<WeightedOut>,
    pub conversion: ConversionOut,
}

#[utoipa::path(get, path = "/api/v1/reports/pipeline", tag = "reports",
    params(PeriodQuery),
    responses(
        (status = 200, description = "销售漏斗分析: the opportunities in the caller's scope created in the period by status and by source, the weighted pipeline of the open ones now (per currency), the win rate of those closed in the period and the conversion of those created in it; with `format`, every table as one CSV or XLSX", body = PipelineReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn pipeline_api(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    let (days, format) = q.parse()?;
    let tr = &ctx.tr;
    let f = pipeline_figures(&state, &user, tr, days).await?;
    if let Some(format) = format {
        let t = one_table(tr, &pipeline_sections(tr, &f), "report-share-or-rate");
        let h = heading(tr, &user, &tr.t("report-pipeline"), days, &[]);
        return api_file(&t, &h, format, "pipeline");
    }
    Ok(axum::Json(PipelineReport {
        from: days.from.map(|d| d.to_string()),
        to: days.to.map(|d| d.to_string()),
        by_status: count_rows(&f.by_status),
        by_source: count_rows(&f.by_source),
        weighted: f
            .open
            .iter()
            .map(|o| WeightedOut {
                currency: o.currency.clone(),
                count: o.count,
                amount: decimal(o.amount),
                weighted_amount: decimal(o.weighted_fen()),
            })
            .collect(),
        conversion: ConversionOut {
            won: f.closed.won,
            lost: f.closed.lost,
            win_rate: percent(f.win_rate()),
            created: f.created,
            created_won: f.created_won,
            conversion_rate: percent(f.conversion()),
        },
    })
    .into_response())
}

/// How the services due in the period met a target.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttainmentOut {
    /// Due in the period.
    pub due: i64,
    /// Done by their due time.
    pub met: i64,
    /// Done after it, or not done with the time passed.
    pub late: i64,
    /// Not done and not yet due: no verdict yet.
    pub pending: i64,
    /// `met` of `met + late`, percent with two places; `null` when none is judged yet.
    pub attainment: Option<String>,
}

impl AttainmentOut {
    fn of(a: &Attainment) -> Self {
        AttainmentOut {
            due: a.due,
            met: a.met,
            late: a.late,
            pending: a.pending,
            attainment: percent(attainment_rate(a)),
        }
    }
}

/// The customers' satisfaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct SatisfactionOut {
    /// Services whose feedback was given in the period.
    pub feedback: i64,
    /// Their mean score (1–5) with two places, rounded half up; `null` without feedback.
    pub average: Option<String>,
    /// How many gave each score, 1 to 5.
    pub scores: Vec<CountRow>,
}

/// 服务水平分析.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceLevelsReport {
    pub from: Option<String>,
    pub to: Option<String>,
    /// The services taken in the period, per status (every status, the workflow's order).
    pub by_status: Vec<CountRow>,
    pub total: i64,
    /// The services due for a response in the period (the first step of a complaint's
    /// handler, or the handling).
    pub response: AttainmentOut,
    /// The services due to be resolved in the period (handled, and not reopened since).
    pub resolution: AttainmentOut,
    pub satisfaction: SatisfactionOut,
}

#[utoipa::path(get, path = "/api/v1/reports/service-levels", tag = "reports",
    params(PeriodQuery),
    responses(
        (status = 200, description = "服务水平分析: the services in the caller's scope taken in the period by status, the service level attainment of those due in the period (response and resolution, judged now) and the satisfaction of the feedback given in it; with `format`, every table as one CSV or XLSX", body = ServiceLevelsReport),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn service_levels_api(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Reports>,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    let (days, format) = q.parse()?;
    let tr = &ctx.tr;
    let f = service_figures(&state, &user, tr, days).await?;
    if let Some(format) = format {
        let t = one_table(tr, &service_sections(tr, &f), "report-share-or-attainment");
        let h = heading(tr, &user, &tr.t("report-service-levels"), days, &[]);
        return api_file(&t, &h, format, "service-levels");
    }
    Ok(axum::Json(ServiceLevelsReport {
        from: days.from.map(|d| d.to_string()),
        to: days.to.map(|d| d.to_string()),
        by_status: count_rows(&f.by_status),
        total: f.total,
        response: AttainmentOut::of(&f.response),
        resolution: AttainmentOut::of(&f.resolution),
        satisfaction: SatisfactionOut {
            feedback: f.feedback,
            average: f.average.map(decimal),
            scores: count_rows(&f.scores),
        },
    })
    .into_response())
}

// ---------------------------------------------------------------------------------------
// The pages.

struct Head {
    title: String,
    numeric: bool,
}

/// A section as the page shows it.
struct Shown {
    id: &'static str,
    title: String,
    note: Option<String>,
    heads: Vec<Head>,
    rows: Vec<Vec<String>>,
    totals: Option<Vec<String>>,
}

impl Shown {
    /// Section `s` without its `key` column (the stored codes, for the exports: a reader
    /// reads the names beside them).
    fn of(s: &Section) -> Self {
        let t = &s.table;
        let keep: Vec<bool> = t.columns.iter().map(|c| c.key != "key").collect();
        let kept = |cells: Vec<String>| -> Vec<String> {
            cells
                .into_iter()
                .zip(&keep)
                .filter_map(|(c, k)| k.then_some(c))
                .collect()
        };
        Shown {
            id: s.id,
            title: s.title.clone(),
            note: s.note.clone(),
            heads: t
                .columns
                .iter()
                .filter(|c| c.key != "key")
                .map(|c| Head {
                    title: c.title.clone(),
                    numeric: matches!(c.kind, Kind::Count | Kind::Money | Kind::Share),
                })
                .collect(),
            rows: t.rows.iter().map(|r| kept(t.shown(r))).collect(),
            totals: t.totals.as_ref().map(|r| kept(t.shown(r))),
        }
    }
}

/// A report page of several tables with its period and exports.
#[derive(Template)]
#[template(path = "reports/figures.html")]
struct FiguresPage {
    c: Chrome,
    key: &'static str,
    title: String,
    about: String,
    path: String,
    periods: Vec<Opt>,
    custom: bool,
    from: String,
    to: String,
    csv: String,
    xlsx: String,
    /// The figures in a sentence, above the tables.
    summary: String,
    sections: Vec<Shown>,
    /// What a printed page carries at its top.
    print: Heading,
    /// A bar chart of each section counted by name.
    charts: Vec<String>,
}

/// A bar chart of a section that counts by name (a `label` and a `count` column), when it
/// has more than one row.
fn chart_of(s: &Section) -> Option<String> {
    let t = &s.table;
    let label = t.columns.iter().position(|c| c.key == "label")?;
    let count = t.columns.iter().position(|c| c.key == "count")?;
    if t.rows.len() < 2 {
        return None;
    }
    let text = |v: &Value| match v {
        Value::Text(s) => s.clone(),
        other => other.show(Kind::Text),
    };
    let number = |v: &Value| match v {
        Value::Int(n) => *n as f64,
        _ => 0.0,
    };
    crate::chart::bar(
        &s.title,
        &t.rows.iter().map(|r| text(&r[label])).collect::<Vec<_>>(),
        &[crate::chart::Series {
            name: t.columns[count].title.clone(),
            values: t.rows.iter().map(|r| number(&r[count])).collect(),
        }],
    )
}

/// The page of report `key` (title `report-<key>`) with `sections`.
fn page(
    ctx: &Ctx,
    user: &Principal,
    key: &'static str,
    q: &PageAsk,
    days: Days,
    sections: &[Section],
    summary: String,
) -> Result<Response, PageError> {
    let c = Chrome::new(ctx, "/reports");
    let path = format!("/reports/{key}");
    let preset = q.preset();
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
    let title = c.t(&format!("report-{key}"));
    let p = FiguresPage {
        print: heading(&c.tr, user, &title, days, &[]),
        about: c.t(&format!("report-{key}-about")),
        csv: q.link(&path, &[("format", "csv")]),
        xlsx: q.link(&path, &[("format", "xlsx")]),
        custom: preset == "custom",
        from: blank(&q.from).unwrap_or_default().to_owned(),
        to: blank(&q.to).unwrap_or_default().to_owned(),
        sections: sections.iter().map(Shown::of).collect(),
        charts: sections.iter().filter_map(chart_of).collect(),
        title,
        path,
        key,
        periods,
        summary,
        c,
    };
    Ok(render(&p)?.into_response())
}

/// The report as a file under its heading, from its page.
fn page_file(
    ctx: &Ctx,
    user: &Principal,
    t: &Table,
    title_key: &str,
    days: Days,
    format: Format,
    name: &str,
) -> Result<Response, PageError> {
    let h = heading(&ctx.tr, user, &ctx.tr.t(title_key), days, &[]);
    crate::ask::page_file(t, &h, format, name)
}

/// A rate as the page's sentences say it: `66.7%`, or a dash for none.
fn said(tr: &Tr, bp: Option<i64>) -> String {
    bp.map_or_else(|| tr.t("report-no-figure"), crate::table::share)
}

async fn pipeline_page(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Reports>,
    axum::extract::Query(q): axum::extract::Query<PageAsk>,
) -> Result<Response, PageError> {
    let days = q.days(&state);
    let tr = &ctx.tr;
    let f = pipeline_figures(&state, &user, tr, days).await?;
    let sections = pipeline_sections(tr, &f);
    if let Some(format) = q.format() {
        let t = one_table(tr, &sections, "report-share-or-rate");
        return page_file(&ctx, &user, &t, "report-pipeline", days, format, "pipeline");
    }
    let summary = tr.t_fill(
        "report-pipeline-summary",
        &[
            ("created", &f.created.to_string()),
            ("win", &said(tr, f.win_rate())),
            ("conversion", &said(tr, f.conversion())),
        ],
    );
    page(&ctx, &user, "pipeline", &q, days, &sections, summary)
}

async fn service_levels_page(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Reports>,
    axum::extract::Query(q): axum::extract::Query<PageAsk>,
) -> Result<Response, PageError> {
    let days = q.days(&state);
    let tr = &ctx.tr;
    let f = service_figures(&state, &user, tr, days).await?;
    let sections = service_sections(tr, &f);
    if let Some(format) = q.format() {
        let t = one_table(tr, &sections, "report-share-or-attainment");
        let name = "service-levels";
        return page_file(&ctx, &user, &t, "report-service-levels", days, format, name);
    }
    let average = f.average.map_or_else(|| tr.t("report-no-figure"), decimal);
    let summary = tr.t_fill(
        "report-service-levels-summary",
        &[
            ("services", &f.total.to_string()),
            ("response", &said(tr, attainment_rate(&f.response))),
            ("resolution", &said(tr, attainment_rate(&f.resolution))),
            ("average", &average),
        ],
    );
    page(&ctx, &user, "service-levels", &q, days, &sections, summary)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn rates_of_nothing_are_none_and_shares_add_up() {
        assert_eq!(rate(2, 3), Some(6_667));
        assert_eq!(rate(0, 0), None);
        let p = parts(vec![
            (Some("a".into()), "A".into(), 1),
            (None, "-".into(), 3),
        ]);
        assert_eq!((p[0].share, p[1].share), (2_500, 7_500));
    }
}
