//! The loss list on the list kit: filters (status, at risk only, manager, region, warned
//! period), sort by when warned or by the days since the last order, pager, column chooser,
//! saved filters and phone cards.

use askama::Template;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use kehu_customers::domain::kinds;
use kehu_domain::{Principal, Right};
use kehu_web::AppState;
use kehu_web::context::Ctx;
use kehu_web::error::PageError;
use kehu_web::labels::Labels;
use kehu_web::listing::{Col, Empty, ListPage, ListParams, ListState, ListView, Saved};
use kehu_web::pages::opt_i64;
use kehu_web::views::{Chrome, Opt, day, render, when};
use serde::Deserialize;

use super::status_label;
use crate::domain::Status;
use crate::need;
use crate::store::{LossFilter, LossSort};

/// The status filter's value for the records still open (warning or deferring).
pub(super) const OPEN: &str = "open";

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    status: Option<String>,
    owner: Option<String>,
    region: Option<String>,
    customer_id: Option<String>,
    warned_from: Option<String>,
    warned_to: Option<String>,
    #[serde(flatten)]
    list: ListParams,
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

struct Row {
    id: i64,
    customer_id: i64,
    customer: String,
    code: String,
    region: String,
    manager: String,
    status: String,
    status_code: String,
    last_order: String,
    days: String,
    warned: String,
}

#[derive(Template)]
#[template(path = "loss/list.html")]
struct ListTemplate {
    c: Chrome,
    rows: Vec<Row>,
    q: ListQuery,
    statuses: Vec<Opt>,
    regions: Vec<Opt>,
    /// Empty when the user sees only their own (then the filter is not offered).
    managers: Vec<Opt>,
    l: ListView,
    can_settle: bool,
}

const COLUMNS: &[Col<LossSort>] = &[
    Col::plain("customer", "loss-customer").fixed(),
    Col::plain("region", "field-region"),
    Col::plain("manager", "loss-manager"),
    Col::plain("status", "col-status"),
    Col::sorted("last_order", "loss-last-order", LossSort::LastOrder),
    Col::plain("days", "loss-days"),
    Col::sorted("warned", "loss-warned-at", LossSort::Warned),
];

/// 客户流失: the loss records in the user's scope.
pub(super) struct LossList;

impl ListPage for LossList {
    type Need = need::Loss;
    type Query = ListQuery;
    const PATH: &'static str = "/loss";
    const KEY: &'static str = "loss";

    async fn render(
        state: &AppState,
        ctx: &Ctx,
        user: &Principal,
        q: ListQuery,
        saved: Saved,
    ) -> Result<Response, PageError> {
        let at = ListState::<LossSort>::new(
            Self::PATH,
            &q.list,
            COLUMNS,
            &[
                ("status", q.status.as_deref()),
                ("owner", q.owner.as_deref()),
                ("region", q.region.as_deref()),
                ("customer_id", q.customer_id.as_deref()),
                ("warned_from", q.warned_from.as_deref()),
                ("warned_to", q.warned_to.as_deref()),
            ],
        );
        // Pages are lenient: a period bound that is not a date is left out.
        let bound = |s: &Option<String>, end: bool| {
            kehu_web::api::period_bound("warned", s.as_deref(), end, state.config.time_zone)
                .ok()
                .flatten()
        };
        let status = blank(&q.status);
        let filter = LossFilter {
            status: status.as_deref().and_then(Status::from_code),
            open: status.as_deref() == Some(OPEN),
            owner_id: opt_i64(&q.owner),
            customer_id: opt_i64(&q.customer_id),
            region: blank(&q.region),
            warned_from: bound(&q.warned_from, false),
            warned_to: bound(&q.warned_to, true),
            ..LossFilter::default()
        };
        let listing = crate::losses(state)
            .list(user.owner_filter(), &filter, at.request())
            .await?;
        let labels = Labels::load(state, ctx.tr.lang, &[kinds::REGION]).await?;
        let c = Chrome::new(ctx, Self::PATH);
        let empty = Empty {
            filtered: "loss-empty-filtered",
            none: "loss-empty",
            action: None,
        };
        let l = at.view(&c.tr, &listing, empty, saved);
        let now = Utc::now();
        let rows = listing
            .items
            .iter()
            .map(|r| Row {
                id: r.id,
                customer_id: r.customer_id,
                customer: r.customer_name.clone(),
                code: r.customer_code.clone(),
                region: labels.of(kinds::REGION, r.region.as_deref()),
                manager: r.owner_name.clone(),
                status: status_label(&c.tr, &r.status),
                status_code: r.status.clone(),
                last_order: r
                    .last_order_at
                    .map_or_else(|| c.t("loss-never-ordered"), |t| day(&c.tr, &t)),
                days: r
                    .days_since_order(now)
                    .map(|d| c.t_num("loss-days-count", "count", d))
                    .unwrap_or_default(),
                warned: when(&c.tr, &r.warned_at),
            })
            .collect();
        let mut statuses = vec![Opt {
            value: OPEN.to_owned(),
            label: c.t("loss-status-open"),
            selected: status.as_deref() == Some(OPEN),
        }];
        statuses.extend(Opt::list(
            Status::ALL
                .iter()
                .map(|s| (s.code(), status_label(&c.tr, s.code()))),
            status.as_deref().unwrap_or_default(),
        ));
        let managers = if user.owner_filter().owner().is_none() {
            Opt::list(
                state.store.users.holding(Right::LossHandle, 200).await?,
                q.owner.as_deref().unwrap_or_default(),
            )
        } else {
            Vec::new()
        };
        let answer_status = l.saved.status;
        let page = ListTemplate {
            rows,
            statuses,
            regions: labels.options(kinds::REGION, q.region.as_deref().unwrap_or_default()),
            managers,
            q,
            l,
            can_settle: user.can(Right::SystemJobs),
            c,
        };
        Ok((answer_status, render(&page)?).into_response())
    }
}
