//! `/api/v1/opportunities` and `/api/v1/pipeline`. (Being written.)
use axum::Router;
use kehu_web::AppState;
use utoipa::OpenApi;

pub fn router() -> Router<AppState> {
    Router::new()
}

#[derive(OpenApi)]
#[openapi(tags((name = "sales", description = "Sales opportunities (销售机会) and development plans (客户开发计划)")))]
pub struct SalesApi;
