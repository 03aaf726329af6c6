//! `GET /api/v1/rights`: every right a role can grant, with its module and a label in the
//! caller's language. Any signed-in user may read it (clients build role editors from it).

use axum::Router;
use axum::routing::get;
use kehu_domain::Right;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::{ListOf, Unauthenticated};
use crate::context::ApiUser;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/rights", get(list))
}

/// One right (权限).
#[derive(Debug, Serialize, ToSchema)]
pub struct RightOut {
    /// Stable code, e.g. `customer.read`.
    pub code: String,
    /// The product module, e.g. `customers`.
    pub module: String,
    /// The module's name in the caller's language.
    pub module_label: String,
    /// The right's name in the caller's language.
    pub label: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/rights",
    tag = "rights",
    responses(
        (status = 200, description = "Every right, grouped by module in display order",
            body = ListOf<RightOut>),
        Unauthenticated,
    )
)]
pub async fn list(ApiUser { ctx, .. }: ApiUser) -> Result<axum::Json<ListOf<RightOut>>, ApiError> {
    let tr = ctx.tr;
    let items: Vec<RightOut> = Right::MODULES
        .iter()
        .flat_map(|m| Right::ALL.iter().filter(move |r| r.module() == *m))
        .map(|r| RightOut {
            code: r.code().to_owned(),
            module: r.module().to_owned(),
            module_label: tr.t(&format!("module-{}", r.module())),
            label: tr.t(&r.label_key()),
        })
        .collect();
    let n = items.len() as u64;
    Ok(axum::Json(ListOf {
        items,
        total: n,
        total_exact: true,
        page: 1,
        per_page: n,
        next_cursor: None,
        prev_cursor: None,
    }))
}
