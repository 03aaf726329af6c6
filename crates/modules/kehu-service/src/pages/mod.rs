//! The service pages (服务管理): the list of services with a tab per stage — 服务分配 (new),
//! 服务处理 (assigned), 服务反馈 (handled), 服务归档 (archived) — on the list kit ([`list`]),
//! 服务创建 and the edit of a new one ([`form`]), the service page with its timeline, the
//! complaint's steps and the forms of what the user may do now ([`show`]), the distribution
//! and service level settings ([`settings`]), and the panels on the customer page and the home
//! page ([`panels`]). What a user may do is the workflow's answer (`Service::actions`).

mod form;
mod list;
mod panels;
mod settings;
mod show;

use axum::Router;
use axum::routing::{get, post};
use kehu_domain::Principal;
use kehu_store::scope::Acting;
use kehu_web::AppState;
use kehu_web::context::Ctx;
use kehu_web::i18n::Tr;

pub use panels::{customer_panel, waiting_panel};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(kehu_web::listing::routes::<list::ServiceList>())
        .route("/services", post(form::create))
        .route("/services/new", get(form::new_form))
        .route("/services/settings", get(settings::page))
        .route("/services/settings/routing", post(settings::set_routing))
        .route("/services/settings/sla", post(settings::set_sla))
        .route(
            "/services/settings/sla/{id}/remove",
            post(settings::remove_sla),
        )
        .route("/services/{id}", get(show::show).post(form::update))
        .route("/services/{id}/edit", get(form::edit_form))
        .route("/services/{id}/assign", post(show::assign))
        .route("/services/{id}/steps", post(show::add_step))
        .route("/services/{id}/handle", post(show::handle))
        .route("/services/{id}/feedback", post(show::feedback))
}

/// The user acting on a service.
fn acting(user: &Principal, ctx: &Ctx) -> Acting {
    crate::store::acting(user, ctx.actor())
}

/// A status as the pages name it: 新创建, 已分配 …
fn status_label(tr: &Tr, status: &str) -> String {
    tr.t(&format!("service-status-{status}"))
}

fn priority_label(tr: &Tr, priority: &str) -> String {
    tr.t(&format!("service-priority-{priority}"))
}
