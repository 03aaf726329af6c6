//! Pages (stub while the store compiles).
use axum::Router;
use kehu_web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}

pub async fn customer_orders_html() {}
