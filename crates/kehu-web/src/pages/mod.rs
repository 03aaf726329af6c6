//! Server-rendered pages, one file per platform module, each with its own `router()`
//! (assembled into modules in `platform.rs`).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::context::Ctx;
use crate::error::{ApiError, AppError};
use crate::views;

pub mod audit;
pub mod auth;
pub mod dictionary;
pub mod home;
pub mod import;
pub mod jobs;
pub mod lists;
pub mod notifications;
pub mod profile;
pub mod roles;
pub mod search;
pub mod user_tokens;
pub mod users;

/// Unknown routes: a problem document under `/api/`, a page elsewhere.
pub async fn not_found(ctx: Ctx) -> Response {
    if ctx.path.starts_with("/api/") {
        return ApiError(AppError::NotFound).into_response();
    }
    let tr = ctx.tr;
    let html = views::error_page(
        &tr,
        404,
        &tr.t("problem-not-found"),
        &tr.t("problem-not-found-detail"),
    );
    (StatusCode::NOT_FOUND, Html(html)).into_response()
}

/// `?saved=1` after a successful post-redirect-get: the page shows "saved".
#[derive(serde::Deserialize, Default)]
pub struct SavedQuery {
    pub saved: Option<String>,
}

/// Parses an optional numeric query value ("" and absent are `None`).
pub fn opt_i64(s: &Option<String>) -> Option<i64> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
}
