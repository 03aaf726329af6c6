//! The customer-value pages: 客户价值分析 (`/reports/value`: the Pareto curve with the ABC
//! classes, the RFM grid, the segments, the four value classes, the clusters) and 客户终身价值
//! (`/reports/clv`: the customers by predicted lifetime value, or the ones at risk — lowest
//! P(alive) — each linked to its loss record), from the last run of the analysis job.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use kehu_customers::values::{self as stored, ValueFilter, ValueSort};
use kehu_domain::{Principal, Right};
use kehu_store::page::{Cursor, Dir, ListRequest, PageRequest, Sort};
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::error::{AppError, PageError};
use kehu_web::i18n::Tr;
use kehu_web::views::{Chrome, Opt, render, when};
use serde::Deserialize;

use crate::need;
use crate::table::{Format, Heading, Kind, Table};
use crate::value::{self, Figures, Run, SEGMENTS, VALUE_CLASSES};

pub(crate) struct Head {
    title: String,
    numeric: bool,
}

pub(crate) struct Section {
    id: &'static str,
    title: String,
    heads: Vec<Head>,
    /// Each cell's text and, for some, a link.
    rows: Vec<Vec<(String, Option<String>)>>,
    totals: Option<Vec<String>>,
}

impl Section {
    fn of(id: &'static str, title: String, t: &Table) -> Self {
        Section {
            id,
            title,
            heads: t
                .columns
                .iter()
                .map(|c| Head {
                    title: c.title.clone(),
                    numeric: matches!(c.kind, Kind::Count | Kind::Money | Kind::Share),
                })
                .collect(),
            rows: t
                .rows
                .iter()
                .map(|r| t.shown(r).into_iter().map(|s| (s, None)).collect())
                .collect(),
            totals: t.totals.as_ref().map(|r| t.shown(r)),
        }
    }
}

pub(crate) struct Select {
    name: &'static str,
    label: String,
    all: String,
    options: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "reports/value.html")]
struct ValuePage {
    c: Chrome,
    title: String,
    about: String,
    path: &'static str,
    run_line: String,
    can_run: bool,
    exports: Vec<(String, String)>,
    filters: Vec<Select>,
    /// Rows of (text, heat 0–4, hover) cells, R5 first.
    grid: Option<Vec<Vec<(String, u8, String)>>>,
    sections: Vec<Section>,
    next: Option<String>,
    print: Heading,
    /// Charts (SVG) above the tables.
    charts: Vec<String>,
}

/// "Computed at … over the orders up to …", or that no run has been made.
fn run_line(tr: &Tr, run: Option<&Run>) -> String {
    match run {
        Some(r) => tr.t_fill(
            "report-run-line",
            &[
                ("when", &when(tr, &r.finished_at)),
                ("as_of", &r.as_of.to_string()),
                ("orders", &r.orders.to_string()),
            ],
        ),
        None => tr.t("report-no-run"),
    }
}

/// The tables of the value analysis, in the order of the page and of the export's sheets.
pub(crate) fn tables(tr: &Tr, f: &Figures) -> Vec<(&'static str, String, Table)> {
    let segment = |k: &str| tr.t(&format!("segment-{k}"));
    let class = |k: &str| tr.t(&format!("value-class-{k}"));
    let abc = |k: &str| tr.t(&format!("abc-class-{k}"));
    let mut out = vec![
        (
            "pareto",
            tr.t_fill(
                "report-pareto-title",
                &[("percent", &f.customers_for_80.to_string())],
            ),
            value::pareto_table(tr, f),
        ),
        (
            "abc",
            tr.t("report-abc"),
            value::table_of_classes(tr, &f.abc, &["A", "B", "C"], abc),
        ),
        ("rfm", tr.t("report-rfm-grid"), value::grid_table(tr, f)),
        (
            "segments",
            tr.t("report-segments"),
            value::table_of_classes(tr, &f.segments, SEGMENTS, segment),
        ),
        (
            "value_classes",
            tr.t("report-value-classes"),
            value::table_of_classes(tr, &f.value_classes, VALUE_CLASSES, class),
        ),
    ];
    if !f.clusters.is_empty() {
        out.push((
            "clusters",
            tr.t("report-clusters"),
            value::cluster_table(tr, f),
        ));
    }
    out
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ValueQuery {
    format: Option<String>,
}

/// The value analysis' charts: the Pareto curve, the RFM grid as a heat map, the value
/// classes and the segments, the clusters (orders against revenue of their typical customer).
fn charts(tr: &Tr, f: &Figures) -> Vec<String> {
    use crate::chart::{self, Point, Points, Series};
    let mut out = Vec::new();
    let points: Vec<usize> = (1..=10).map(|i| i * 10).collect();
    out.extend(chart::line(
        &tr.t_fill(
            "report-pareto-title",
            &[("percent", &f.customers_for_80.to_string())],
        ),
        &points.iter().map(|p| format!("{p}%")).collect::<Vec<_>>(),
        &[Series {
            name: tr.t("report-share"),
            values: points
                .iter()
                .filter_map(|p| f.pareto.get(p - 1))
                .map(|bp| *bp as f64 / 100.0)
                .collect(),
        }],
    ));
    if !f.grid.is_empty() {
        let labels = |p: &str| (1..=5).map(|i| format!("{p}{i}")).collect::<Vec<_>>();
        let cells: Vec<(usize, usize, f64)> = f
            .grid
            .iter()
            .map(|g| (g.f as usize - 1, g.r as usize - 1, g.customers as f64))
            .collect();
        out.extend(chart::heatmap(
            &tr.t("report-rfm-grid"),
            &labels("F"),
            &labels("R"),
            &cells,
        ));
    }
    let name = |k: &str, prefix: &str| tr.t(&format!("{prefix}-{k}"));
    let classes: Vec<&value::ClassFigures> = VALUE_CLASSES
        .iter()
        .filter_map(|k| f.value_classes.iter().find(|c| c.key == *k))
        .collect();
    out.extend(chart::bar(
        &tr.t("report-value-classes"),
        &classes
            .iter()
            .map(|c| name(&c.key, "value-class"))
            .collect::<Vec<_>>(),
        &[Series {
            name: tr.t("report-customers"),
            values: classes.iter().map(|c| c.customers as f64).collect(),
        }],
    ));
    let segments: Vec<&value::ClassFigures> = SEGMENTS
        .iter()
        .filter_map(|k| f.segments.iter().find(|c| c.key == *k))
        .collect();
    out.extend(chart::horizontal_bar(
        &tr.t("report-segments"),
        &segments
            .iter()
            .map(|c| name(&c.key, "segment"))
            .collect::<Vec<_>>(),
        &[Series {
            name: tr.t("report-customers"),
            values: segments.iter().map(|c| c.customers as f64).collect(),
        }],
    ));
    if !f.clusters.is_empty() {
        out.extend(chart::scatter(
            &tr.t("report-clusters"),
            &tr.t("report-orders"),
            &tr.t("report-amount"),
            &[Points {
                name: tr.t("report-clusters"),
                points: f
                    .clusters
                    .iter()
                    .map(|c| Point {
                        label: tr.t_fill(
                            "report-cluster-point",
                            &[
                                ("n", &(c.cluster + 1).to_string()),
                                ("customers", &c.customers.to_string()),
                            ],
                        ),
                        x: c.orders,
                        y: c.revenue,
                    })
                    .collect(),
            }],
        ));
    }
    out
}

/// The heat (0–4) of a cell holding `n` of the grid's largest `max`.
fn heat(n: i64, max: i64) -> u8 {
    if n <= 0 || max <= 0 {
        return 0;
    }
    (1 + (n * 3) / max).clamp(1, 4) as u8
}

pub(crate) async fn value_page(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Reports>,
    Query(q): Query<ValueQuery>,
) -> Result<Response, PageError> {
    let found = value::figures(&state.store.db, user.owner_filter())
        .await
        .map_err(AppError::Internal)?;
    let tr = &ctx.tr;
    let (run, f) = match found {
        Some((run, f)) => (Some(run), f),
        None => (None, Figures::default()),
    };
    let tables = tables(tr, &f);
    if let Some(format) = q.format.as_deref().and_then(Format::from_code) {
        // One file: each table under its title.
        let t = stacked(&tables);
        return export(&t, tr, &user, "report-value", format, "customer-value");
    }
    let c = Chrome::new(&ctx, "/reports");
    let max = f.grid.iter().map(|g| g.customers).max().unwrap_or(0);
    let grid = (!f.grid.is_empty()).then(|| {
        (1..=5)
            .rev()
            .map(|r| {
                (1..=5)
                    .map(|fs| {
                        let cell = f.grid.iter().find(|g| g.r == r && g.f == fs);
                        let n = cell.map_or(0, |g| g.customers);
                        let hover = cell.map_or_else(String::new, |g| {
                            c.tr.t_fill(
                                "report-rfm-cell",
                                &[
                                    ("r", &r.to_string()),
                                    ("f", &fs.to_string()),
                                    ("n", &n.to_string()),
                                    ("m", &format!("{:.1}", g.mean_m)),
                                ],
                            )
                        });
                        (n.to_string(), heat(n, max), hover)
                    })
                    .collect()
            })
            .collect()
    });
    let sections = tables
        .iter()
        .filter(|(id, _, _)| *id != "rfm")
        .map(|(id, title, t)| Section::of(id, title.clone(), t))
        .collect();
    let p = ValuePage {
        title: c.t("report-value"),
        about: c.t("report-value-about"),
        path: "/reports/value",
        run_line: run_line(&c.tr, run.as_ref()),
        can_run: user.can(Right::SystemJobs),
        exports: vec![
            (
                c.t("report-export-xlsx"),
                "/reports/value?format=xlsx".into(),
            ),
            (c.t("report-export-csv"), "/reports/value?format=csv".into()),
        ],
        filters: Vec::new(),
        charts: charts(&c.tr, &f),
        grid,
        sections,
        next: None,
        print: crate::api::heading(
            &c.tr,
            &user,
            &c.t("report-value"),
            crate::period::Days::default(),
            &[],
        ),
        c,
    };
    Ok(render(&p)?.into_response())
}

/// Tables one under the other, each after a line with its title: one export.
fn stacked(tables: &[(&'static str, String, Table)]) -> Table {
    use crate::table::{Column, Value};
    let width = tables.iter().map(|t| t.2.columns.len()).max().unwrap_or(1);
    let mut out = Table {
        columns: vec![
            Column {
                key: "",
                title: String::new(),
                kind: Kind::Text,
            };
            width
        ],
        ..Table::default()
    };
    for (_, title, t) in tables {
        let pad = |mut r: Vec<Value>| {
            r.resize(width, Value::Empty);
            r
        };
        out.rows.push(pad(vec![Value::Text(title.clone())]));
        out.rows.push(pad(t
            .columns
            .iter()
            .map(|c| Value::Text(c.title.clone()))
            .collect()));
        for r in t.rows.iter().chain(t.totals.iter()) {
            // Each value as its own column shows it: the stacked table is text.
            out.rows
                .push(pad(t.shown(r).into_iter().map(Value::Text).collect()));
        }
        out.rows.push(pad(Vec::new()));
    }
    out
}

fn export(
    t: &Table,
    tr: &Tr,
    user: &Principal,
    title_key: &str,
    format: Format,
    name: &str,
) -> Result<Response, PageError> {
    let h = crate::api::heading(
        tr,
        user,
        &tr.t(title_key),
        crate::period::Days::default(),
        &[],
    );
    file(t, &h, format, name)
}

fn file(t: &Table, h: &Heading, format: Format, name: &str) -> Result<Response, PageError> {
    t.export(h, format, name)
        .map_err(|e| PageError::from(AppError::Internal(anyhow::Error::new(e))))
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ClvQuery {
    /// `at_risk`: the lowest P(alive) first, below one half.
    view: Option<String>,
    segment: Option<String>,
    value_class: Option<String>,
    cursor: Option<String>,
    format: Option<String>,
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The list's order and filter: by lifetime value, or the customers at risk.
pub(crate) fn clv_request(
    at_risk: bool,
    segment: Option<String>,
    value_class: Option<String>,
) -> (Sort<ValueSort>, ValueFilter) {
    let f = ValueFilter {
        segment,
        value_class,
        p_alive_below: at_risk.then_some(AT_RISK_BELOW),
    };
    let sort = if at_risk {
        Sort::new(ValueSort::PAlive, Dir::Asc)
    } else {
        Sort::new(ValueSort::Clv, Dir::Desc)
    };
    (sort, f)
}

/// A customer is at risk below this P(alive), in millionths.
pub const AT_RISK_BELOW: i32 = 500_000;

pub(crate) async fn clv_page(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Reports>,
    Query(q): Query<ClvQuery>,
) -> Result<Response, PageError> {
    let at_risk = q.view.as_deref() == Some("at_risk");
    let (sort, f) = clv_request(at_risk, blank(&q.segment), blank(&q.value_class));
    let db = &state.store.db;
    let scope = user.owner_filter();
    let tr = &ctx.tr;
    let title_key = if at_risk {
        "report-at-risk"
    } else {
        "report-clv-title"
    };
    if let Some(format) = q.format.as_deref().and_then(Format::from_code) {
        let mut rows = Vec::new();
        let mut req = ListRequest::new(
            sort,
            None,
            PageRequest::new(None, Some(PageRequest::MAX_PER_PAGE)),
        );
        loop {
            let l = stored::list(db, scope, &f, &req).await?;
            rows.extend(l.items);
            match l.next {
                Some(n) => req = ListRequest::new(sort, Some(n), req.page),
                None => break,
            }
        }
        let t = value::valued_table(tr, &rows);
        return export(
            &t,
            tr,
            &user,
            title_key,
            format,
            if at_risk { "at-risk" } else { "clv" },
        );
    }
    let cursor = q
        .cursor
        .as_deref()
        .and_then(|c| Cursor::decode(c, sort).ok());
    let req = ListRequest::new(sort, cursor, PageRequest::new(None, None));
    let listing = stored::list(db, scope, &f, &req).await?;
    let run = value::last_run(db).await.map_err(AppError::Internal)?;
    let c = Chrome::new(&ctx, "/reports");
    let t = value::valued_table(&c.tr, &listing.items);
    let mut s = Section::of("valued", c.t(title_key), &t);
    // The customer's name opens its page; at risk, the loss column opens its loss records.
    let can_loss = user.can(Right::LossRead);
    for (row, v) in s.rows.iter_mut().zip(&listing.items) {
        row[1].1 = Some(format!("/customers/{}", v.value.customer_id));
        if at_risk && can_loss {
            row[3].1 = Some(format!("/loss?customer_id={}", v.value.customer_id));
        }
    }
    let keep = |extra: &str| {
        let mut parts = Vec::new();
        if at_risk {
            parts.push("view=at_risk".to_owned());
        }
        if let Some(v) = blank(&q.segment) {
            parts.push(format!("segment={v}"));
        }
        if let Some(v) = blank(&q.value_class) {
            parts.push(format!("value_class={v}"));
        }
        if !extra.is_empty() {
            parts.push(extra.to_owned());
        }
        format!("/reports/clv?{}", parts.join("&"))
    };
    let views = Opt::list(
        [
            ("", c.t("report-clv-title")),
            ("at_risk", c.t("report-at-risk")),
        ],
        if at_risk { "at_risk" } else { "" },
    );
    let p = ValuePage {
        title: c.t(title_key),
        about: c.t(if at_risk {
            "report-at-risk-about"
        } else {
            "report-clv-about"
        }),
        path: "/reports/clv",
        run_line: run_line(&c.tr, run.as_ref()),
        can_run: user.can(Right::SystemJobs),
        exports: vec![
            (c.t("report-export-xlsx"), keep("format=xlsx")),
            (c.t("report-export-csv"), keep("format=csv")),
        ],
        filters: vec![
            Select {
                name: "view",
                label: c.t("report-view"),
                all: c.t("report-clv-title"),
                options: views.into_iter().skip(1).collect(),
            },
            Select {
                name: "segment",
                label: c.t("report-segment"),
                all: c.t("report-all-segments"),
                options: Opt::list(
                    SEGMENTS.iter().map(|k| (*k, c.t(&format!("segment-{k}")))),
                    blank(&q.segment).as_deref().unwrap_or_default(),
                ),
            },
            Select {
                name: "value_class",
                label: c.t("report-value-class"),
                all: c.t("report-all-value-classes"),
                options: Opt::list(
                    VALUE_CLASSES
                        .iter()
                        .map(|k| (*k, c.t(&format!("value-class-{k}")))),
                    blank(&q.value_class).as_deref().unwrap_or_default(),
                ),
            },
        ],
        grid: None,
        charts: Vec::new(),
        print: crate::api::heading(
            &c.tr,
            &user,
            &c.t(title_key),
            crate::period::Days::default(),
            &[],
        ),
        sections: vec![s],
        next: listing
            .next
            .map(|n| keep(&format!("cursor={}", n.encode()))),
        c,
    };
    Ok(render(&p)?.into_response())
}

/// 收入分解: the retention decomposition of the last 24 months, with its chart.
pub(crate) async fn retention_page(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Reports>,
    Query(q): Query<ValueQuery>,
) -> Result<Response, PageError> {
    let found = value::figures(&state.store.db, user.owner_filter())
        .await
        .map_err(AppError::Internal)?;
    let (run, f) = match found {
        Some((run, f)) => (Some(run), f),
        None => (None, Figures::default()),
    };
    let tr = &ctx.tr;
    let t = crate::retention::table(tr, &f.retention);
    if let Some(format) = q.format.as_deref().and_then(Format::from_code) {
        return export(&t, tr, &user, "report-retention", format, "retention");
    }
    let c = Chrome::new(&ctx, "/reports");
    let months: Vec<String> = f.retention.iter().map(|m| m.month.clone()).collect();
    let mut charts = Vec::new();
    charts.extend(crate::chart::line(
        &c.t("report-retention-rate"),
        &months,
        &[crate::chart::Series {
            name: c.t("report-retention-rate"),
            values: f
                .retention
                .iter()
                .map(|m| m.retention as f64 / 100.0)
                .collect(),
        }],
    ));
    charts.extend(crate::chart::bar(
        &c.t("report-retention-customers"),
        &months,
        &[
            crate::chart::Series {
                name: c.t("report-new-customers"),
                values: f.retention.iter().map(|m| m.new as f64).collect(),
            },
            crate::chart::Series {
                name: c.t("report-retained-customers"),
                values: f.retention.iter().map(|m| m.retained as f64).collect(),
            },
        ],
    ));
    let p = ValuePage {
        title: c.t("report-retention"),
        about: c.t("report-retention-about"),
        path: "/reports/retention",
        run_line: run_line(&c.tr, run.as_ref()),
        can_run: user.can(Right::SystemJobs),
        exports: vec![
            (
                c.t("report-export-xlsx"),
                "/reports/retention?format=xlsx".into(),
            ),
            (
                c.t("report-export-csv"),
                "/reports/retention?format=csv".into(),
            ),
        ],
        filters: Vec::new(),
        charts,
        grid: None,
        sections: vec![Section::of("retention", c.t("report-retention"), &t)],
        next: None,
        print: crate::api::heading(
            &c.tr,
            &user,
            &c.t("report-retention"),
            crate::period::Days::default(),
            &[],
        ),
        c,
    };
    Ok(render(&p)?.into_response())
}
