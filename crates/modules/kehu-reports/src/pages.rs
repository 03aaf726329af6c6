//! The report pages (统计报表, right `report.read`): an index of the reports, and each report
//! with its filters (a period preset or days of one's own, what it is counted by, the
//! customer), its table with totals, the pages of a long one and its export to XLSX and CSV
//! (`?format=xlsx`: the same filters, every row).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kehu_domain::Principal;
use kehu_orders::contribution::ContributionSort;
use kehu_store::page::{Cursor, ListRequest, PageRequest, Sort};
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::Ctx;
use kehu_web::error::PageError;
use kehu_web::views::{Chrome, Opt, render};

use crate::api::heading;
use crate::ask::{PageAsk, blank};
use crate::composition::Breakdown;
use crate::need;
use crate::period::{Days, PRESETS};
use crate::service::By;
use crate::table::{Format, Kind, Table};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports", get(index))
        .route("/reports/contribution", get(contribution))
        .route("/reports/composition", get(composition))
        .route("/reports/service", get(service))
        .route("/reports/loss", get(loss))
        .route("/reports/value", get(crate::value_pages::value_page))
        .route("/reports/clv", get(crate::value_pages::clv_page))
        .route(
            "/reports/retention",
            get(crate::value_pages::retention_page),
        )
}

/// The reports, in the order the index shows them: (path, title, description).
const REPORTS: &[(&str, &str, &str)] = &[
    (
        "contribution",
        "report-contribution",
        "report-contribution-about",
    ),
    (
        "composition",
        "report-composition",
        "report-composition-about",
    ),
    ("service", "report-service", "report-service-about"),
    ("loss", "report-loss", "report-loss-about"),
    ("value", "report-value", "report-value-about"),
    ("clv", "report-clv-title", "report-clv-about"),
    ("pipeline", "report-pipeline", "report-pipeline-about"),
    (
        "service-levels",
        "report-service-levels",
        "report-service-levels-about",
    ),
    ("retention", "report-retention", "report-retention-about"),
    ("products", "report-products", "report-products-about"),
    ("credit", "report-credit", "report-credit-about"),
];

struct Card {
    href: String,
    title: String,
    about: String,
}

#[derive(Template)]
#[template(path = "reports/index.html")]
struct IndexPage {
    c: Chrome,
    cards: Vec<Card>,
}

async fn index(PageGranted { ctx, .. }: PageGranted<need::Reports>) -> Result<Response, PageError> {
    let c = Chrome::new(&ctx, "/reports");
    let cards = REPORTS
        .iter()
        .map(|(path, title, about)| Card {
            href: format!("/reports/{path}"),
            title: c.t(title),
            about: c.t(about),
        })
        .collect();
    Ok(render(&IndexPage { c, cards })?.into_response())
}

/// Fen as yuan, for a chart.
fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

struct Head {
    title: String,
    numeric: bool,
}

/// A report page: its filters, table and links.
#[derive(Template)]
#[template(path = "reports/report.html")]
struct ReportPage {
    c: Chrome,
    key: &'static str,
    title: String,
    about: String,
    path: String,
    /// The period menu (empty: the report has no period).
    periods: Vec<Opt>,
    custom: bool,
    from: String,
    to: String,
    /// What it is counted by (empty: one way only).
    bys: Vec<Opt>,
    /// The customer filter (contribution only).
    q: Option<String>,
    sorts: Vec<Opt>,
    heads: Vec<Head>,
    rows: Vec<Vec<String>>,
    totals: Option<Vec<String>>,
    /// A second table (the losses by reason).
    side_title: String,
    side_heads: Vec<Head>,
    side_rows: Vec<Vec<String>>,
    csv: String,
    xlsx: String,
    next: Option<String>,
    first: Option<String>,
    /// The count line above the table.
    summary: String,
    /// What a printed page carries at its top: the report, its filters, when and by whom.
    print: crate::table::Heading,
    /// The report's chart (SVG), when it has figures to draw.
    chart: Option<String>,
}

fn heads(t: &Table) -> Vec<Head> {
    t.columns
        .iter()
        .map(|c| Head {
            title: c.title.clone(),
            numeric: matches!(c.kind, Kind::Count | Kind::Money | Kind::Share),
        })
        .collect()
}

impl ReportPage {
    fn new(
        c: Chrome,
        key: &'static str,
        q: &PageAsk,
        with_period: bool,
        print: crate::table::Heading,
    ) -> Self {
        let path = format!("/reports/{key}");
        let preset = q.preset();
        let mut periods = Vec::new();
        if with_period {
            periods = Opt::list(
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
        }
        ReportPage {
            title: c.t(&format!("report-{key}")),
            about: c.t(&format!("report-{key}-about")),
            csv: q.link(&path, &[("format", "csv")]),
            xlsx: q.link(&path, &[("format", "xlsx")]),
            custom: preset == "custom",
            from: blank(&q.from).unwrap_or_default().to_owned(),
            to: blank(&q.to).unwrap_or_default().to_owned(),
            path,
            key,
            periods,
            bys: Vec::new(),
            q: None,
            sorts: Vec::new(),
            heads: Vec::new(),
            rows: Vec::new(),
            totals: None,
            side_title: String::new(),
            side_heads: Vec::new(),
            side_rows: Vec::new(),
            next: None,
            first: None,
            summary: String::new(),
            print,
            chart: None,
            c,
        }
    }

    /// Shows `t` without its `key` column (the stored codes, for the exports: a reader reads
    /// the names beside them).
    fn table(&mut self, t: &Table) {
        let keep: Vec<bool> = t.columns.iter().map(|c| c.key != "key").collect();
        let kept = |cells: Vec<String>| -> Vec<String> {
            cells
                .into_iter()
                .zip(&keep)
                .filter_map(|(c, k)| k.then_some(c))
                .collect()
        };
        self.heads = heads(t)
            .into_iter()
            .zip(&keep)
            .filter_map(|(h, k)| k.then_some(h))
            .collect();
        self.rows = t.rows.iter().map(|r| kept(t.shown(r))).collect();
        self.totals = t.totals.as_ref().map(|r| kept(t.shown(r)));
    }
}

/// The report as a file, under its heading: `title_key`, the days, when and by whom.
fn file(
    t: &Table,
    ctx: &Ctx,
    user: &Principal,
    title_key: &str,
    days: Days,
    format: Format,
    name: &str,
) -> Result<Response, PageError> {
    let h = heading(&ctx.tr, user, &ctx.tr.t(title_key), days, &[]);
    crate::ask::page_file(t, &h, format, name)
}

async fn contribution(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Reports>,
    Query(q): Query<PageAsk>,
) -> Result<Response, PageError> {
    let days = q.days(&state);
    let f = crate::contribution::Filter {
        days,
        q: blank(&q.q).map(str::to_owned),
        owner_id: blank(&q.owner).and_then(|s| s.parse().ok()),
    };
    let sort = blank(&q.sort)
        .and_then(Sort::<ContributionSort>::parse)
        .unwrap_or_default();
    if let Some(format) = q.format() {
        let t = crate::contribution::whole(&state, &user, &ctx.tr, &f, sort).await?;
        return file(
            &t,
            &ctx,
            &user,
            "report-contribution",
            days,
            format,
            "contribution",
        );
    }
    let cursor = blank(&q.cursor).and_then(|c| Cursor::decode(c, sort).ok());
    let req = ListRequest::new(sort, cursor, PageRequest::new(None, None));
    let (listing, totals) = crate::contribution::page(&state, &user, &f, &req).await?;
    let c = Chrome::new(&ctx, "/reports");
    let mut t = crate::contribution::columns(&c.tr);
    t.rows = listing
        .items
        .iter()
        .map(|r| crate::contribution::row(r, &totals))
        .collect();
    t.totals = Some(crate::contribution::totals_row(&c.tr, &totals));
    let print = heading(&c.tr, &user, &c.t("report-contribution"), days, &[]);
    let mut p = ReportPage::new(c, "contribution", &q, true, print);
    p.table(&t);
    p.q = Some(blank(&q.q).unwrap_or_default().to_owned());
    p.sorts = Opt::list(
        Sort::<ContributionSort>::codes().into_iter().map(|code| {
            let label =
                p.c.t(&format!("report-sort-{}", code.replace('-', "desc-")));
            (code, label)
        }),
        &sort.code(),
    );
    p.summary =
        p.c.t_num("report-customers-count", "count", totals.customers);
    let top: Vec<_> = listing.items.iter().take(15).collect();
    p.chart = crate::chart::horizontal_bar(
        &p.c.t("report-contribution-chart"),
        &top.iter()
            .map(|r| r.customer_name.clone())
            .collect::<Vec<_>>(),
        &[crate::chart::Series {
            name: p.c.t("report-amount"),
            values: top.iter().map(|r| yuan(r.amount)).collect(),
        }],
    );
    p.next = listing
        .next
        .map(|n| q.link(&p.path, &[("cursor", n.encode().as_str())]));
    p.first = (listing.prev.is_some()).then(|| q.link(&p.path, &[]));
    Ok(render(&p)?.into_response())
}

async fn composition(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Reports>,
    Query(q): Query<PageAsk>,
) -> Result<Response, PageError> {
    let by = blank(&q.by)
        .and_then(Breakdown::from_code)
        .unwrap_or(Breakdown::Level);
    let parts = crate::composition::parts(&state, &user, &ctx.tr, by).await?;
    let t = crate::composition::table(&ctx.tr, &parts);
    if let Some(format) = q.format() {
        return file(
            &t,
            &ctx,
            &user,
            "report-composition",
            Days::default(),
            format,
            "composition",
        );
    }
    let c = Chrome::new(&ctx, "/reports");
    let by_name = c.t(&format!("report-by-{}", by.code()));
    let by_line = c.tr.t_fill("report-heading-by", &[("by", &by_name)]);
    let print = heading(
        &c.tr,
        &user,
        &c.t("report-composition"),
        Days::default(),
        &[by_line],
    );
    let mut p = ReportPage::new(c, "composition", &q, false, print);
    p.bys = Opt::list(
        Breakdown::ALL
            .iter()
            .map(|b| (b.code(), p.c.t(&format!("report-by-{}", b.code())))),
        by.code(),
    );
    p.table(&t);
    let all: i64 = parts.iter().map(|x| x.customers).sum();
    p.summary = p.c.t_num("report-customers-count", "count", all);
    p.chart = crate::chart::pie(
        &p.title,
        &parts
            .iter()
            .map(|x| (x.label.clone(), x.customers as f64))
            .collect::<Vec<_>>(),
    );
    Ok(render(&p)?.into_response())
}

async fn service(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Reports>,
    Query(q): Query<PageAsk>,
) -> Result<Response, PageError> {
    let days = q.days(&state);
    let by = blank(&q.by).and_then(By::from_code).unwrap_or(By::Type);
    let counts = crate::service::counts(&state, &user, &ctx.tr, days, by).await?;
    let t = crate::service::table(&ctx.tr, by, &counts);
    if let Some(format) = q.format() {
        return file(&t, &ctx, &user, "report-service", days, format, "service");
    }
    let c = Chrome::new(&ctx, "/reports");
    let print = heading(&c.tr, &user, &c.t("report-service"), days, &[]);
    let mut p = ReportPage::new(c, "service", &q, true, print);
    p.bys = Opt::list(
        [By::Type, By::Month]
            .iter()
            .map(|b| (b.code(), p.c.t(&format!("report-by-{}", b.code())))),
        by.code(),
    );
    p.table(&t);
    let all: i64 = counts.iter().map(|x| x.services).sum();
    p.summary = p.c.t_num("report-services-count", "count", all);
    let labels: Vec<String> = counts.iter().map(|x| x.label.clone()).collect();
    let series = [crate::chart::Series {
        name: p.c.t("report-services"),
        values: counts.iter().map(|x| x.services as f64).collect(),
    }];
    p.chart = match by {
        By::Type => crate::chart::bar(&p.title, &labels, &series),
        By::Month => crate::chart::line(&p.title, &labels, &series),
    };
    Ok(render(&p)?.into_response())
}

async fn loss(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Reports>,
    Query(q): Query<PageAsk>,
) -> Result<Response, PageError> {
    let days = q.days(&state);
    let f = crate::loss::filter(&state, days, blank(&q.owner).and_then(|s| s.parse().ok()));
    if let Some(format) = q.format() {
        let t = crate::loss::whole(&state, &user, &ctx.tr, &f).await?;
        return file(&t, &ctx, &user, "report-loss", days, format, "loss");
    }
    let sort = crate::loss::SORT;
    let cursor = blank(&q.cursor).and_then(|c| Cursor::decode(c, sort).ok());
    let req = ListRequest::new(sort, cursor, PageRequest::new(None, None));
    let listing = crate::loss::page(&state, &user, &f, req).await?;
    let reasons = crate::loss::reasons(&state, &user, &ctx.tr, &f).await?;
    let labels =
        kehu_web::labels::Labels::load(&state, ctx.tr.lang, &[kehu_loss::domain::REASON]).await?;
    let c = Chrome::new(&ctx, "/reports");
    let mut t = crate::loss::columns(&c.tr);
    t.rows = listing
        .items
        .iter()
        .map(|r| crate::loss::row(&state, &labels, r))
        .collect();
    let print = heading(&c.tr, &user, &c.t("report-loss"), days, &[]);
    let mut p = ReportPage::new(c, "loss", &q, true, print);
    p.table(&t);
    let all: i64 = reasons.iter().map(|r| r.losses).sum();
    p.summary = p.c.t_num("report-losses-count", "count", all);
    p.side_title = p.c.t("report-by-reason");
    let mut side = Table::default();
    side.column("label", p.c.t("report-reason"), Kind::Text)
        .column("losses", p.c.t("report-losses"), Kind::Count)
        .column("share", p.c.t("report-share"), Kind::Share);
    side.rows = reasons
        .iter()
        .map(|r| {
            use crate::table::Value;
            vec![
                Value::Text(r.label.clone()),
                Value::Int(r.losses),
                Value::Int(r.share),
            ]
        })
        .collect();
    p.side_heads = heads(&side);
    p.chart = crate::chart::pie(
        &p.side_title,
        &reasons
            .iter()
            .map(|r| (r.label.clone(), r.losses as f64))
            .collect::<Vec<_>>(),
    );
    p.side_rows = side.rows.iter().map(|r| side.shown(r)).collect();
    p.next = listing
        .next
        .map(|n| q.link(&p.path, &[("cursor", n.encode().as_str())]));
    p.first = (listing.prev.is_some()).then(|| q.link(&p.path, &[]));
    Ok(render(&p)?.into_response())
}
