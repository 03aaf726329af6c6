//! The reports' section of the home page (a `RecordPanel` of record `home`), by what the
//! reader sees: an account manager their own figures — customers, this month's and this
//! year's order amount, customers at risk; a reader of every customer the company's — the
//! revenue trend of the last twelve months, new and retained customers and the retention
//! rate of the last full month, and this year's top customers.

use askama::Template;
use chrono::{Datelike, Months, NaiveDate};
use kehu_customers::values::{self as stored, ValueFilter, ValueSort};
use kehu_domain::Principal;
use kehu_orders::contribution::{self as figures, ContributionFilter};
use kehu_store::page::{Dir, ListRequest, PageRequest, Sort};
use kehu_web::AppState;
use kehu_web::context::Ctx;
use kehu_web::error::AppError;
use kehu_web::views::Chrome;

use crate::period::Days;
use crate::table::{Kind, Value, share};

/// One figure: its label, value and where it leads.
struct Figure {
    label: String,
    value: String,
    href: String,
}

#[derive(Template)]
#[template(path = "reports/home_panel.html")]
struct HomePanel {
    id: &'static str,
    figures: Vec<Figure>,
    chart: Option<String>,
    top_title: String,
    /// (customer id, name, amount).
    top: Vec<(i64, String, String)>,
    note: Option<String>,
}

fn money(fen: i64) -> String {
    Value::Int(fen).show(Kind::Money)
}

/// The first and last day of the month of `d`, of its year.
fn month_of(d: NaiveDate) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1);
    let last = first
        .and_then(|f| f.checked_add_months(Months::new(1)))
        .and_then(|n| n.pred_opt());
    (first, last)
}

fn year_of(d: NaiveDate) -> (Option<NaiveDate>, Option<NaiveDate>) {
    (
        NaiveDate::from_ymd_opt(d.year(), 1, 1),
        NaiveDate::from_ymd_opt(d.year(), 12, 31),
    )
}

async fn amount(
    state: &AppState,
    user: &Principal,
    (from, to): (Option<NaiveDate>, Option<NaiveDate>),
) -> Result<figures::ContributionTotals, AppError> {
    let f = ContributionFilter {
        from,
        to,
        customers: None,
    };
    Ok(figures::contribution_totals(&state.store.db, user.owner_filter(), &f).await?)
}

/// The panel's id, title, HTML and the number it stands for (this year's customers).
pub async fn panel(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
) -> Result<(&'static str, String, String, u64), AppError> {
    let c = Chrome::new(ctx, "/");
    let today = crate::today(state);
    let db = &state.store.db;
    let scope = user.owner_filter();
    let year = amount(state, user, year_of(today)).await?;
    let month = amount(state, user, month_of(today)).await?;
    let mut figures_shown = vec![
        Figure {
            label: c.t("home-report-month-amount"),
            value: money(month.amount),
            href: "/reports/contribution?period=this_month".into(),
        },
        Figure {
            label: c.t("home-report-year-amount"),
            value: money(year.amount),
            href: "/reports/contribution?period=this_year".into(),
        },
        Figure {
            label: c.t("home-report-year-customers"),
            value: year.customers.to_string(),
            href: "/reports/contribution?period=this_year".into(),
        },
    ];
    let at_risk = stored::list(
        db,
        scope,
        &ValueFilter {
            p_alive_below: Some(crate::value_pages::AT_RISK_BELOW),
            ..ValueFilter::default()
        },
        &ListRequest::new(
            Sort::new(ValueSort::PAlive, Dir::Asc),
            None,
            PageRequest::new(None, Some(1)),
        ),
    )
    .await?;
    figures_shown.push(Figure {
        label: c.t("home-report-at-risk"),
        value: format!(
            "{}{}",
            at_risk.count.value,
            if at_risk.count.exact { "" } else { "+" }
        ),
        href: "/reports/clv?view=at_risk".into(),
    });
    let mine = scope.owner().is_some();
    let (title_key, id) = if mine {
        ("home-report-mine", "report-home-mine")
    } else {
        ("home-report-company", "report-home-company")
    };
    let mut chart = None;
    let mut note = None;
    if !mine {
        let run = crate::value::last_run(db)
            .await
            .map_err(AppError::Internal)?;
        match run {
            Some(run) => {
                let months = &run.figures.retention;
                // The last full month: the run's own is still going.
                if let Some(m) = months.iter().rev().nth(1) {
                    figures_shown.push(Figure {
                        label: c
                            .tr
                            .t_fill("home-report-new-retained", &[("month", &m.month)]),
                        value: format!("{} / {}", m.new, m.retained),
                        href: "/reports/retention".into(),
                    });
                    figures_shown.push(Figure {
                        label: c.tr.t_fill("home-report-retention", &[("month", &m.month)]),
                        value: share(m.retention),
                        href: "/reports/retention".into(),
                    });
                }
                let last: Vec<&crate::retention::Month> =
                    months.iter().rev().take(12).rev().collect();
                chart = crate::chart::line(
                    &c.t("home-report-trend"),
                    &last.iter().map(|m| m.month.clone()).collect::<Vec<_>>(),
                    &[crate::chart::Series {
                        name: c.t("report-amount"),
                        values: last.iter().map(|m| m.revenue as f64 / 100.0).collect(),
                    }],
                );
            }
            None => note = Some(c.t("report-no-run")),
        }
    }
    if !mine {
        figures_shown.extend(company(state, user, ctx, today).await?);
    }
    let (from, to) = year_of(today);
    let top = figures::contribution(
        db,
        scope,
        &ContributionFilter {
            from,
            to,
            customers: None,
        },
        &ListRequest::first(5),
    )
    .await?;
    let p = HomePanel {
        id,
        figures: figures_shown,
        chart,
        top_title: c.t("home-report-top"),
        top: top
            .items
            .iter()
            .map(|t| (t.customer_id, t.customer_name.clone(), money(t.amount)))
            .collect(),
        note,
    };
    let html = p.render().map_err(|e| AppError::Internal(e.into()))?;
    let count = u64::try_from(year.customers).unwrap_or(0);
    Ok((id, c.t(title_key), html, count))
}

/// What a reader of every customer also sees: the work nobody has yet (for who assigns it),
/// the weighted pipeline, this month's service level breaches and this year's satisfaction,
/// and each account manager's order amount this year.
async fn company(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
    today: NaiveDate,
) -> Result<Vec<Figure>, AppError> {
    use chrono::Utc;
    use kehu_domain::Right;
    let tr = &ctx.tr;
    let db = state.store.db.clone();
    let scope = user.owner_filter();
    let zone = state.config.time_zone.tz();
    let offset = crate::offset(state);
    // The first instant of day `d` (none: open).
    let start = |d: Option<NaiveDate>| Days { from: d, to: None }.instants(&zone).0;
    let mut out = Vec::new();
    let sales = kehu_sales::store::OpportunityStore::new(db.clone(), offset);
    let services = kehu_service::store::ServiceStore::new(db.clone(), offset);
    if user.can(Right::OpportunityAssign) {
        let unassigned = sales
            .count_by_status(scope, None, None)
            .await?
            .into_iter()
            .find(|(s, _)| s == "unassigned")
            .map_or(0, |(_, n)| n);
        out.push(Figure {
            label: tr.t("home-report-unassigned-opportunities"),
            value: unassigned.to_string(),
            href: "/opportunities?status=unassigned".into(),
        });
        if let Some(cny) = sales
            .weighted_pipeline(scope)
            .await?
            .into_iter()
            .find(|t| t.currency == "CNY")
        {
            out.push(Figure {
                label: tr.t("home-report-weighted-pipeline"),
                value: money(cny.weighted_fen()),
                href: "/reports/pipeline".into(),
            });
        }
    }
    if user.can(Right::ServiceAssign) {
        let new = services
            .count_by_status(scope, None, None)
            .await?
            .into_iter()
            .find(|(s, _)| s == "new")
            .map_or(0, |(_, n)| n);
        out.push(Figure {
            label: tr.t("home-report-unassigned-services"),
            value: new.to_string(),
            href: "/services?status=new".into(),
        });
    }
    let now = Utc::now();
    let (month_start, _) = month_of(today);
    let late = services
        .attainment(
            scope,
            kehu_service::store::Target::Resolution,
            start(month_start),
            Some(now),
            now,
        )
        .await?
        .late;
    out.push(Figure {
        label: tr.t("home-report-sla-breaches"),
        value: late.to_string(),
        href: "/reports/service-levels?period=this_month".into(),
    });
    let (year_start, _) = year_of(today);
    let scores = services
        .count_by_satisfaction(scope, start(year_start), Some(now))
        .await?;
    let (n, sum) = scores.iter().fold((0_i64, 0_i64), |(n, s), (score, k)| {
        (n + k, s + i64::from(*score) * k)
    });
    out.push(Figure {
        label: tr.t("home-report-satisfaction"),
        value: if n > 0 {
            format!("{:.2}", sum as f64 / n as f64)
        } else {
            "—".to_owned()
        },
        href: "/reports/service-levels?period=this_year".into(),
    });
    // The team: each account manager's customers' order amount this year.
    for (id, name) in state.store.users.holding(Right::LossHandle, 20).await? {
        let f = ContributionFilter {
            from: year_of(today).0,
            to: year_of(today).1,
            customers: Some(kehu_customers::store::CustomerFilter {
                owner_id: Some(id),
                ..Default::default()
            }),
        };
        let t = figures::contribution_totals(&state.store.db, scope, &f).await?;
        if t.customers == 0 {
            continue;
        }
        out.push(Figure {
            label: tr.t_fill("home-report-team", &[("name", &name)]),
            value: money(t.amount),
            href: format!("/reports/contribution?period=this_year&owner={id}"),
        });
    }
    Ok(out)
}
