//! `GET /api/v1/me`: who the caller is, their role, rights and data scope.

use axum::Router;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::context::ApiUser;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(me))
}

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role_id: i64,
    pub role: String,
    /// Right codes, e.g. `customer.read`.
    pub rights: Vec<String>,
    /// `own` or `all`.
    pub data_scope: String,
    pub language: Option<String>,
    pub must_change_password: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "me",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(ApiUser { user, .. }: ApiUser) -> Result<axum::Json<Me>, ApiError> {
    Ok(axum::Json(Me {
        id: user.user_id,
        username: user.username,
        display_name: user.display_name,
        role_id: user.role_id,
        role: user.role_name,
        rights: user.rights.iter().map(|r| r.code().to_owned()).collect(),
        data_scope: user.scope.code().to_owned(),
        language: user.language,
        must_change_password: user.must_change_password,
    }))
}
