//! The loss module's sections on other pages: a customer's loss history (customer page) and
//! the customers at risk (home page).

use askama::Template;
use kehu_domain::Principal;
use kehu_store::page::ListRequest;
use kehu_web::AppState;
use kehu_web::context::Ctx;
use kehu_web::error::{AppError, PageError};
use kehu_web::labels::Labels;
use kehu_web::views::{Chrome, day, render, when};

use super::status_label;
use crate::domain::REASON;
use crate::store::{LossFilter, LossSort};

/// At-risk customers the home page names; the rest are behind the count's link.
const SHOWN: u64 = 5;

struct Measure {
    text: String,
    by: String,
    at: String,
}

struct Item {
    id: i64,
    status: String,
    status_code: String,
    warned: String,
    last_order: String,
    reason: String,
    measures: Vec<Measure>,
}

#[derive(Template)]
#[template(path = "loss/customer_panel.html")]
struct CustomerPanel {
    c: Chrome,
    items: Vec<Item>,
}

/// A customer's loss history in the user's scope, newest first, each with its measures; none
/// when it has none.
pub async fn customer_panel(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
    customer_id: i64,
) -> Result<Option<(String, u64)>, AppError> {
    let store = crate::losses(state);
    let scope = user.owner_filter();
    let records = store.of_customer(scope, customer_id).await?;
    if records.is_empty() {
        return Ok(None);
    }
    let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
    let measures = store.measures(scope, &ids).await?;
    let labels = Labels::load(state, ctx.tr.lang, &[REASON]).await?;
    let c = Chrome::new(ctx, "/customers");
    let items = records
        .iter()
        .map(|r| Item {
            id: r.id,
            status: status_label(&c.tr, &r.status),
            status_code: r.status.clone(),
            warned: when(&c.tr, &r.warned_at),
            last_order: r
                .last_order_at
                .map_or_else(|| c.t("loss-never-ordered"), |t| day(&c.tr, &t)),
            reason: r
                .reason
                .as_deref()
                .map(|v| labels.of(REASON, Some(v)))
                .unwrap_or_default(),
            measures: measures
                .iter()
                .filter(|m| m.record_id == r.id)
                .map(|m| Measure {
                    text: m.measure.clone(),
                    by: m.author.clone().unwrap_or_default(),
                    at: when(&c.tr, &m.created_at),
                })
                .collect(),
        })
        .collect();
    let n = records.len() as u64;
    let p = CustomerPanel { c, items };
    Ok(Some((render(&p).map_err(|e: PageError| e.0)?.0, n)))
}

struct AtRisk {
    id: i64,
    customer: String,
    days: String,
}

#[derive(Template)]
#[template(path = "loss/at_risk_panel.html")]
struct AtRiskPanel {
    c: Chrome,
    /// "3 位客户有流失风险" (none: nobody is).
    headline: Option<String>,
    items: Vec<AtRisk>,
}

/// The customers at risk in the user's scope (their own, for an account manager): how many,
/// and the ones longest without an order.
pub async fn at_risk_panel(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
) -> Result<(String, u64), AppError> {
    let store = crate::losses(state);
    let scope = user.owner_filter();
    // The list's first page: its count is the list kit's (capped at 10,000, remembered).
    let f = LossFilter {
        open: true,
        ..LossFilter::default()
    };
    let req = ListRequest {
        sort: kehu_store::page::Sort::new(LossSort::LastOrder, kehu_store::page::Dir::Asc),
        ..ListRequest::first(SHOWN)
    };
    let listing = store.list(scope, &f, req).await?;
    let (count, items) = (listing.count, listing.items);
    let c = Chrome::new(ctx, "/");
    let headline = match (count.value, count.exact) {
        (0, _) => None,
        (n, true) => Some(c.t_num(
            "loss-at-risk",
            "count",
            i64::try_from(n).unwrap_or(i64::MAX),
        )),
        (n, false) => Some(c.t_with("loss-at-risk", "count", &format!("{n}+"))),
    };
    let now = chrono::Utc::now();
    let items = items
        .iter()
        .map(|r| AtRisk {
            id: r.id,
            customer: r.customer_name.clone(),
            days: r.days_since_order(now).map_or_else(
                || c.t("loss-never-ordered"),
                |d| c.t_num("loss-days-count", "count", d),
            ),
        })
        .collect();
    let p = AtRiskPanel { headline, items, c };
    Ok((render(&p).map_err(|e: PageError| e.0)?.0, count.value))
}
