//! The service module's sections on other pages: a customer's services (customer page) and
//! what waits for the user (home page).

use askama::Template;
use chrono::Utc;
use kehu_domain::{Principal, Right};
use kehu_store::page::ListRequest;
use kehu_web::AppState;
use kehu_web::context::Ctx;
use kehu_web::error::PageError;
use kehu_web::labels::Labels;
use kehu_web::views::{Chrome, render, when};

use super::status_label;
use crate::domain::TYPE;
use crate::store::{Due, ServiceFilter};

/// Services the customer page shows; the rest are behind "all".
const SHOWN: u64 = 10;

struct Item {
    id: i64,
    number: String,
    title: String,
    kind: String,
    status: String,
    status_code: String,
    overdue: bool,
    created: String,
}

#[derive(Template)]
#[template(path = "service/customer_panel.html")]
struct CustomerPanel {
    c: Chrome,
    customer_id: i64,
    items: Vec<Item>,
    can_write: bool,
}

/// A customer's newest services in the user's scope, and how many there are.
pub async fn customer_panel(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
    customer_id: i64,
) -> Result<(String, u64), PageError> {
    let f = ServiceFilter {
        customer_id: Some(customer_id),
        ..ServiceFilter::default()
    };
    let l = crate::services(state)
        .list(user.owner_filter(), &f, ListRequest::first(SHOWN))
        .await?;
    let labels = Labels::load(state, ctx.tr.lang, &[TYPE]).await?;
    let c = Chrome::new(ctx, "/customers");
    let now = Utc::now();
    let items = l
        .items
        .iter()
        .map(|s| Item {
            id: s.id,
            number: s.number.clone(),
            title: s.title.clone(),
            kind: labels.of(TYPE, Some(&s.service_type)),
            status: status_label(&c.tr, &s.status),
            status_code: s.status.clone(),
            overdue: s.due(now) == Due::Overdue,
            created: when(&c.tr, &s.created_at),
        })
        .collect();
    let p = CustomerPanel {
        customer_id,
        items,
        can_write: user.can(Right::ServiceWrite),
        c,
    };
    Ok((render(&p)?.0, l.count.value))
}

#[derive(Template)]
#[template(path = "service/waiting_panel.html")]
struct WaitingPanel {
    c: Chrome,
    to_handle: i64,
    overdue: i64,
    to_feedback: i64,
}

/// What waits for the user: services to handle (overdue ones counted), and handled ones they
/// took to ask the customer about; the total.
pub async fn waiting_panel(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
) -> Result<(String, u64), PageError> {
    let w = crate::services(state).waiting(user.user_id).await?;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let p = WaitingPanel {
        c: Chrome::new(ctx, "/"),
        to_handle: n(w.to_handle),
        overdue: n(w.overdue),
        to_feedback: n(w.to_feedback),
    };
    Ok((render(&p)?.0, w.to_handle + w.to_feedback))
}
