//! The sales module's sections on other pages: a customer's opportunities on the customer page
//! (the one it came from and later ones, newest first) and, on the home page, the user's plan
//! items due today or overdue (of the opportunities they develop), each linking to its
//! opportunity's plan.

use askama::Template;
use kehu_domain::Principal;
use kehu_store::page::ListRequest;
use kehu_web::AppState;
use kehu_web::context::Ctx;
use kehu_web::error::AppError;
use kehu_web::views::Chrome;

use super::{amount_text, status_label};
use crate::store::OpportunityFilter;

/// How many of a customer's opportunities its page shows (the rest: the list).
const CUSTOMER_LATEST: u64 = 5;
/// How many due plan items the home page shows.
const DUE_LATEST: u64 = 10;

struct Row {
    id: i64,
    title: String,
    status: String,
    status_code: String,
    amount: String,
    date: String,
}

#[derive(Template)]
#[template(path = "sales/customer_panel.html")]
struct CustomerPanel {
    c: Chrome,
    rows: Vec<Row>,
}

fn html(t: &impl Template) -> Result<String, AppError> {
    t.render()
        .map_err(|e| AppError::from(anyhow::Error::from(e).context("rendering a panel")))
}

/// The customer page's panel: its HTML and how many opportunities the customer has.
pub async fn customer_panel(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
    customer_id: i64,
) -> Result<(String, u64), AppError> {
    let filter = OpportunityFilter {
        customer_id: Some(customer_id),
        ..OpportunityFilter::default()
    };
    let listing = crate::opportunities(state)
        .list(
            user.owner_filter(),
            &filter,
            ListRequest::first(CUSTOMER_LATEST),
        )
        .await?;
    let c = Chrome::new(ctx, "/customers");
    let rows = listing
        .items
        .iter()
        .map(|o| Row {
            id: o.id,
            title: o.title.clone(),
            status: status_label(&c.tr, &o.status),
            status_code: o.status.clone(),
            amount: amount_text(o.expected_amount, &o.currency),
            date: o
                .closed_at
                .unwrap_or(o.created_at)
                .with_timezone(&c.tr.zone.tz())
                .format("%Y-%m-%d")
                .to_string(),
        })
        .collect();
    let count = listing.count.value;
    Ok((html(&CustomerPanel { c, rows })?, count))
}

struct Due {
    opportunity_id: i64,
    title: String,
    date: String,
    todo: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "sales/due_panel.html")]
struct DuePanel {
    c: Chrome,
    items: Vec<Due>,
}

/// The home page's panel: the user's plan items due today or overdue, and how many.
pub async fn due_panel(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
) -> Result<(String, u64), AppError> {
    let store = crate::opportunities(state);
    let today = store.today();
    let (items, count) = store.due(user.own_records(), today, DUE_LATEST).await?;
    let items = items
        .into_iter()
        .map(|i| Due {
            overdue: i.is_overdue(today),
            opportunity_id: i.opportunity_id,
            title: i.opportunity_title,
            date: i.date.to_string(),
            todo: i.todo,
        })
        .collect();
    let c = Chrome::new(ctx, "/");
    Ok((html(&DuePanel { c, items })?, count))
}
