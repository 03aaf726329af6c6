//! The sales pages. (Being written: see issue 10.)

use axum::Router;
use kehu_domain::policy::Principal;
use kehu_web::AppState;
use kehu_web::context::Ctx;
use kehu_web::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
}

/// The customer page's panel: its HTML and how many opportunities the customer has.
pub async fn customer_panel(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
    customer_id: i64,
) -> Result<(String, u64), AppError> {
    let _ = (state, user, ctx, customer_id);
    Ok((String::new(), 0))
}

/// The home page's panel: the user's plan items due today or overdue, and how many.
pub async fn due_panel(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
) -> Result<(String, u64), AppError> {
    let _ = (state, user, ctx);
    Ok((String::new(), 0))
}
