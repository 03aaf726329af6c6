//! The loss pages (客户流失管理): the list of loss records on the list kit ([`list`]), a
//! record's page with its measures, the forms to log one (暂缓流失) and to confirm the loss
//! (确定流失) and its history ([`show`]), the scan's settings ([`settings`]), and the panels
//! on the customer page and the home page ([`panels`]).

mod list;
mod panels;
mod settings;
mod show;

use axum::Router;
use axum::routing::{get, post};
use kehu_web::AppState;
use kehu_web::i18n::Tr;

pub use panels::{at_risk_panel, customer_panel};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(kehu_web::listing::routes::<list::LossList>())
        .route("/loss/settings", get(settings::page).post(settings::save))
        .route("/loss/{id}", get(show::show))
        .route("/loss/{id}/measures", post(show::add_measure))
        .route("/loss/{id}/confirm", post(show::confirm))
}

/// A status as the pages name it: 流失预警, 暂缓流失, 确定流失, 已挽回.
fn status_label(tr: &Tr, status: &str) -> String {
    tr.t(&format!("loss-status-{status}"))
}
