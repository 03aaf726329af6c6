//! `/api/v1/me/tokens`: the caller's personal API tokens. A new token is shown once, in the
//! answer to its creation; only its SHA-256 digest is stored.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use kehu_domain::secrets::{new_token, token_digest};
use kehu_domain::{DomainError, text};
use kehu_store::tokens::ApiToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{
    BadRequest, Forbidden, Invalid, Json, ListOf, NotFound, PageQuery, Path, Query,
    Unauthenticated, created,
};
use crate::app::AppState;
use crate::context::ApiUser;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/tokens", get(list).post(issue))
        .route("/api/v1/me/tokens/{id}", delete(revoke))
}

/// A personal API token, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Set once the token is revoked; a revoked token no longer signs in.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for TokenOut {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/me/tokens",
    tag = "me",
    params(PageQuery),
    responses(
        (status = 200, description = "The caller's tokens, newest first", body = ListOf<TokenOut>),
        BadRequest, Unauthenticated, Forbidden,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiUser { user, .. }: ApiUser,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<ListOf<TokenOut>>, ApiError> {
    let tokens = state.store.tokens.list_for_user(user.user_id).await?;
    Ok(axum::Json(ListOf::from_vec(
        tokens.into_iter().map(TokenOut::from).collect(),
        q.request(),
    )))
}

/// A name to recognise the token by, e.g. the script that uses it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    #[serde(default)]
    #[schema(required = true)]
    pub name: String,
}

/// A new token: `token` is shown this once and cannot be read again.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    pub id: i64,
    pub name: String,
    /// Send it as `Authorization: Bearer <token>`.
    pub token: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/me/tokens",
    tag = "me",
    request_body = NewTokenBody,
    responses(
        (status = 201, description = "Issued; the token is in this answer only", body = IssuedToken,
            headers(("Location" = String, description = "The token's URL (for revoking)"))),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    )
)]
pub async fn issue(
    State(state): State<AppState>,
    ApiUser { user, ctx }: ApiUser,
    Json(b): Json<NewTokenBody>,
) -> Result<Response, ApiError> {
    let name = text::line("name", &b.name, 64).map_err(DomainError::from)?;
    let token = new_token();
    let id = state
        .store
        .tokens
        .issue(user.user_id, &name, &token_digest(&token), &ctx.actor())
        .await?;
    Ok(created(
        format!("/api/v1/me/tokens/{id}"),
        IssuedToken { id, name, token },
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/me/tokens/{id}",
    tag = "me",
    params(("id" = i64, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        Unauthenticated, Forbidden,
        NotFound,
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    ApiUser { user, ctx }: ApiUser,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    // Only the caller's own live tokens: anyone else's is "not found", not "forbidden".
    state
        .store
        .tokens
        .revoke(id, Some(user.user_id), &ctx.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
