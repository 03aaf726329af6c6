//! `/api/v1/me/tokens`: the caller's personal API tokens. A new token is shown once, in the
//! answer to its creation; only its SHA-256 digest is stored. Tokens expire (90 days unless
//! asked otherwise, at most 365; only the CLI issues tokens that never expire).
//! `/api/v1/users/{id}/tokens`: an administrator (`system.users`) lists and revokes anyone's
//! within their data scope (`all`: everyone's); a token outside it is "not found".

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::{DateTime, SubsecRound, Utc};
use kehu_domain::error::Errors;
use kehu_domain::secrets::{new_token, token_digest};
use kehu_domain::{DomainError, FieldError, text};
use kehu_store::tokens::{ApiToken, TokenFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{
    BadRequest, Forbidden, Granted, Invalid, Json, ListOf, NotFound, PageQuery, Path, Query,
    Unauthenticated, created, need,
};
use crate::context::ApiUser;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/tokens", get(list).post(issue))
        .route("/api/v1/me/tokens/{id}", delete(revoke))
        .route("/api/v1/users/{id}/tokens", get(list_for_user))
        .route(
            "/api/v1/users/{id}/tokens/{token_id}",
            delete(revoke_for_user),
        )
}

/// Days a new token lives unless the request says otherwise.
pub const DEFAULT_EXPIRY_DAYS: i64 = 90;
/// The longest life a token issued through the web may have.
pub const MAX_EXPIRY_DAYS: i64 = 365;

/// The expiry of a token issued now for `days` (1 to [`MAX_EXPIRY_DAYS`]; absent: the default).
pub fn expiry(field: &str, days: Option<i64>) -> Result<DateTime<Utc>, FieldError> {
    let days = days.unwrap_or(DEFAULT_EXPIRY_DAYS);
    if !(1..=MAX_EXPIRY_DAYS).contains(&days) {
        return Err(FieldError::new(field, "err-token-days"));
    }
    // Whole seconds: what is answered now is what both databases store and list later.
    Ok((Utc::now() + chrono::Duration::days(days)).trunc_subsecs(0))
}

/// A personal API token, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub id: i64,
    pub name: String,
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::time::rfc3339_opt")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When the token stops signing in; `null` for a token that never expires (CLI-issued).
    #[serde(serialize_with = "super::time::rfc3339_opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Set once the token is revoked; a revoked token no longer signs in.
    #[serde(serialize_with = "super::time::rfc3339_opt")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for TokenOut {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
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
    // One's own tokens, whatever one's data scope.
    let filter = TokenFilter {
        include_revoked: true,
        ..TokenFilter::default()
    };
    let page = state
        .store
        .tokens
        .list(user.own_records(), &filter, q.request())
        .await?;
    Ok(axum::Json(ListOf::from_page(page, TokenOut::from)))
}

/// A new token: a name to recognise it by (e.g. the script that uses it) and its lifetime.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    /// 1–64 characters, one line.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Days until the token expires, 1 to 365 (default 90).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 365)]
    pub expires_days: Option<i64>,
}

/// A new token: `token` is shown this once and cannot be read again.
#[derive(Serialize, ToSchema)]
pub struct IssuedToken {
    pub id: i64,
    pub name: String,
    #[serde(serialize_with = "super::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// Send it as `Authorization: Bearer <token>`.
    pub token: String,
}

/// The token is a secret: never in logs.
impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("token", &"***")
            .finish()
    }
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
    let mut errors = Errors::new();
    let name = errors.check(text::line("name", &b.name, 64));
    let expires_at = errors.check(expiry("expires_days", b.expires_days));
    errors.finish()?;
    let (Some(name), Some(expires_at)) = (name, expires_at) else {
        return Err(DomainError::field("name", "err-required").into());
    };
    let token = new_token();
    let id = state
        .store
        .tokens
        .issue(
            user.user_id,
            &name,
            &token_digest(&token),
            Some(expires_at),
            &ctx.actor(),
        )
        .await?;
    Ok(created(
        format!("/api/v1/me/tokens/{id}"),
        IssuedToken {
            id,
            name,
            expires_at,
            token,
        },
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/me/tokens/{id}",
    tag = "me",
    params(("id" = i64, Path, description = "Token id", minimum = 1)),
    responses(
        (status = 204, description = "Revoked"),
        BadRequest, Unauthenticated, Forbidden, NotFound,
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
        .revoke(user.own_records(), id, &ctx.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/tokens",
    tag = "users",
    params(("id" = i64, Path, description = "User id", minimum = 1), PageQuery),
    responses(
        (status = 200, description = "The user's tokens, newest first", body = ListOf<TokenOut>),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    )
)]
pub async fn list_for_user(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Users>,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<ListOf<TokenOut>>, ApiError> {
    // An unknown user is "not found", not an empty list.
    state.store.users.get(id).await?;
    let page = state
        .store
        .tokens
        .list(user.owner_filter(), &TokenFilter::of_user(id), q.request())
        .await?;
    Ok(axum::Json(ListOf::from_page(page, TokenOut::from)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/tokens/{token_id}",
    tag = "users",
    params(
        ("id" = i64, Path, description = "User id", minimum = 1),
        ("token_id" = i64, Path, description = "Token id", minimum = 1),
    ),
    responses(
        (status = 204, description = "Revoked (recorded in the audit log)"),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    )
)]
pub async fn revoke_for_user(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Users>,
    Path((id, token_id)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    // Only a live token of that user within the caller's scope: an already revoked one,
    // another user's or one outside the scope is "not found".
    let scope = user.owner_filter();
    if state.store.tokens.get(scope, token_id).await?.user_id != id {
        return Err(DomainError::NotFound.into());
    }
    state
        .store
        .tokens
        .revoke(scope, token_id, &ctx.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
