//! 销售机会 list on the list kit: filters (status, source, assignee, created period, amount,
//! customer, "mine"), sort headers, pager, column chooser, saved filters and phone cards.

use askama::Template;
use axum::response::{IntoResponse, Response};
use kehu_customers::domain::kinds;
use kehu_domain::money::Money;
use kehu_domain::{Principal, Right};
use kehu_web::AppState;
use kehu_web::context::Ctx;
use kehu_web::error::PageError;
use kehu_web::labels::Labels;
use kehu_web::listing::{Col, Empty, ListPage, ListParams, ListState, ListView, Saved};
use kehu_web::pages::opt_i64;
use kehu_web::views::{Chrome, Opt, render, when};
use serde::Deserialize;

use super::{amount_text, status_label};
use crate::domain::Status;
use crate::need;
use crate::store::{OpportunityFilter, OpportunitySort};

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    status: Option<String>,
    source: Option<String>,
    assignee: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    min_amount: Option<String>,
    max_amount: Option<String>,
    customer_id: Option<String>,
    /// Any value: only the user's own (`owner_id` = the user).
    mine: Option<String>,
    saved: Option<String>,
    #[serde(flatten)]
    list: ListParams,
}

impl ListQuery {
    fn mine(&self) -> bool {
        self.mine.as_deref().is_some_and(|m| !m.trim().is_empty())
    }
}

struct Row {
    id: i64,
    title: String,
    prospect: String,
    status: String,
    status_code: String,
    source: String,
    rate: i16,
    amount: String,
    close: String,
    owner: String,
    created: String,
}

#[derive(Template)]
#[template(path = "sales/list.html")]
struct ListTemplate {
    c: Chrome,
    rows: Vec<Row>,
    q: ListQuery,
    statuses: Vec<Opt>,
    sources: Vec<Opt>,
    /// Empty when the user sees only their own (then the filter is not offered).
    assignees: Vec<Opt>,
    l: ListView,
    can_write: bool,
    saved: bool,
}

const COLUMNS: &[Col<OpportunitySort>] = &[
    Col::plain("title", "field-title").fixed(),
    Col::plain("prospect", "field-prospect-name"),
    Col::plain("status", "col-status"),
    Col::plain("source", "opportunity-source"),
    Col::plain("rate", "field-success-rate"),
    Col::sorted("amount", "field-expected-amount", OpportunitySort::Amount),
    Col::sorted(
        "close",
        "field-expected-close-date",
        OpportunitySort::CloseDate,
    ),
    Col::plain("owner", "opportunity-owner"),
    Col::sorted("created", "col-created", OpportunitySort::Created).hidden(),
];

fn blank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// An amount typed in a filter, in fen; anything else is no bound (pages are lenient).
fn fen(s: &Option<String>) -> Option<i64> {
    Money::parse("amount", &blank(s).unwrap_or_default())
        .ok()
        .flatten()
        .map(Money::fen)
}

/// 销售机会: the opportunities in the user's scope.
pub(super) struct OpportunityList;

impl ListPage for OpportunityList {
    type Need = need::Opportunities;
    type Query = ListQuery;
    const PATH: &'static str = "/opportunities";
    const KEY: &'static str = "opportunities";

    async fn render(
        state: &AppState,
        ctx: &Ctx,
        user: &Principal,
        q: ListQuery,
        saved: Saved,
    ) -> Result<Response, PageError> {
        let flash = q.saved.is_some();
        let mine = q.mine().then_some("1");
        let at = ListState::<OpportunitySort>::new(
            Self::PATH,
            &q.list,
            COLUMNS,
            &[
                ("mine", mine),
                ("status", q.status.as_deref()),
                ("source", q.source.as_deref()),
                ("assignee", q.assignee.as_deref()),
                ("created_from", q.created_from.as_deref()),
                ("created_to", q.created_to.as_deref()),
                ("min_amount", q.min_amount.as_deref()),
                ("max_amount", q.max_amount.as_deref()),
                ("customer_id", q.customer_id.as_deref()),
            ],
        );
        // Pages are lenient: a period bound that is not a date is left out.
        let day = |s: &Option<String>, end: bool| {
            kehu_web::api::period_bound("created", s.as_deref(), end, state.config.time_zone)
                .ok()
                .flatten()
        };
        let filter = OpportunityFilter {
            status: blank(&q.status).and_then(|s| Status::from_code(&s)),
            source: blank(&q.source),
            assignee_id: opt_i64(&q.assignee),
            owner_id: q.mine().then_some(user.user_id),
            customer_id: opt_i64(&q.customer_id),
            created_from: day(&q.created_from, false),
            created_to: day(&q.created_to, true),
            min_amount: fen(&q.min_amount),
            max_amount: fen(&q.max_amount),
        };
        let listing = crate::opportunities(state)
            .list(user.owner_filter(), &filter, at.request())
            .await?;
        let sources = Labels::load(state, ctx.tr.lang, &[kinds::SOURCE]).await?;
        let c = Chrome::new(ctx, Self::PATH);
        let can_write = user.can(Right::OpportunityWrite);
        let empty = Empty {
            filtered: "opportunities-empty-filtered",
            none: "opportunities-empty",
            action: can_write.then_some(("opportunities-new", "/opportunities/new")),
        };
        let l = at.view(&c.tr, &listing, empty, saved);
        let rows = listing
            .items
            .iter()
            .map(|o| Row {
                id: o.id,
                title: o.title.clone(),
                prospect: o.prospect_name.clone(),
                status: status_label(&c.tr, &o.status),
                status_code: o.status.clone(),
                source: sources.of(kinds::SOURCE, o.source.as_deref()),
                rate: o.success_rate,
                amount: amount_text(o.expected_amount, &o.currency),
                close: o
                    .expected_close_date
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                owner: o.owner_name.clone(),
                created: when(&c.tr, &o.created_at),
            })
            .collect();
        let statuses = Opt::list(
            Status::ALL
                .iter()
                .map(|s| (s.code(), status_label(&c.tr, s.code()))),
            q.status.as_deref().unwrap_or_default(),
        );
        let assignees = if user.owner_filter().owner().is_none() {
            Opt::list(
                state.store.users.holding(Right::PlanWrite, 200).await?,
                q.assignee.as_deref().unwrap_or_default(),
            )
        } else {
            Vec::new()
        };
        let status = l.saved.status;
        let page = ListTemplate {
            rows,
            statuses,
            sources: sources.options(kinds::SOURCE, q.source.as_deref().unwrap_or_default()),
            assignees,
            q,
            l,
            can_write,
            saved: flash,
            c,
        };
        Ok((status, render(&page)?).into_response())
    }
}
