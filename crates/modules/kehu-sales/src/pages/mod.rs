//! The sales pages (营销管理): the opportunity list on the list kit ([`list`]), the create and
//! edit forms ([`form`]), the opportunity page with its development plan, the workflow's
//! actions and its history ([`show`]), the pipeline board ([`board`]) and the panels on the
//! customer page and the home page ([`panels`]). Every read and change goes through the
//! opportunity store in the user's data scope; what a user may do now is the workflow's
//! answer (`Opportunity::actions`), never decided here.

mod board;
mod form;
mod list;
mod panels;
mod show;

use axum::Router;
use axum::routing::{get, post};
use kehu_domain::{Principal, Right};
use kehu_store::page::ListRequest;
use kehu_store::users::UserFilter;
use kehu_web::AppState;
use kehu_web::context::Ctx;
use kehu_web::error::PageError;
use kehu_web::i18n::Tr;
use kehu_web::listing::grouped;
use kehu_web::views::{Opt, answer};

use crate::store::Acting;

pub use panels::{customer_panel, due_panel};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(kehu_web::listing::routes::<list::OpportunityList>())
        .route("/opportunities", post(form::create))
        .route("/opportunities/new", get(form::new_form))
        .route("/opportunities/{id}", get(show::show).post(form::update))
        .route("/opportunities/{id}/edit", get(form::edit_form))
        .route("/opportunities/{id}/delete", post(show::delete))
        .route("/opportunities/{id}/assign", post(show::assign))
        .route("/opportunities/{id}/plan-items", post(show::add_plan_item))
        .route(
            "/opportunities/{id}/plan-items/{item_id}/result",
            post(show::record_result),
        )
        .route("/opportunities/{id}/succeed", post(show::succeed))
        .route("/opportunities/{id}/fail", post(show::fail))
        .route("/pipeline", get(board::board))
}

/// The user acting on an opportunity: their scope, their name in the audit log, whether they
/// supervise sales.
fn acting(user: &Principal, ctx: &Ctx) -> Acting {
    crate::store::acting(user, ctx.actor())
}

/// A status as the pages name it: 未指派, 开发中 …
fn status_label(tr: &Tr, status: &str) -> String {
    tr.t(&format!("opportunity-status-{status}"))
}

/// An amount in fen as the pages show it: `12,345.50`.
fn money(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", grouped(abs / 100), abs % 100)
}

/// An expected amount with its currency, or nothing.
fn amount_text(fen: Option<i64>, currency: &str) -> String {
    fen.map(|f| format!("{} {currency}", money(f)))
        .unwrap_or_default()
}

/// The customer store: a won opportunity's customer, and the dictionary values an
/// opportunity's fields are checked against.
fn customers(state: &AppState) -> kehu_customers::store::CustomerStore {
    kehu_customers::store::CustomerStore::new(state.store.db.clone(), crate::offset(state))
}

/// The users (the first 200 by name): their names for the history, and whom an opportunity
/// may be given to — active users whose role holds `plan.write` (the store refuses anyone
/// else).
struct People(Vec<(i64, String, bool)>);

impl People {
    async fn load(state: &AppState) -> Result<Self, PageError> {
        let planners: Vec<i64> = state
            .store
            .roles
            .list()
            .await?
            .into_iter()
            .filter(|r| r.authority().rights.contains(&Right::PlanWrite))
            .map(|r| r.role.id)
            .collect();
        let users = state
            .store
            .users
            .list(&UserFilter::default(), ListRequest::first(200))
            .await?;
        Ok(Self(
            users
                .items
                .into_iter()
                .map(|u| {
                    let assignable = !u.disabled && planners.contains(&u.role_id);
                    (u.id, u.display_name, assignable)
                })
                .collect(),
        ))
    }

    fn name(&self, id: i64) -> Option<&str> {
        self.0
            .iter()
            .find(|(i, ..)| *i == id)
            .map(|(_, n, _)| n.as_str())
    }

    fn assignees(&self, current: &str) -> Vec<Opt> {
        Opt::list(
            self.0
                .iter()
                .filter(|(.., ok)| *ok)
                .map(|(id, name, _)| (*id, name.clone())),
            current,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_show_grouped_with_two_places() {
        assert_eq!(money(0), "0.00");
        assert_eq!(money(1_234_550), "12,345.50");
        assert_eq!(money(-5), "-0.05");
        assert_eq!(amount_text(Some(100), "USD"), "1.00 USD");
        assert_eq!(amount_text(None, "CNY"), "");
    }
}
