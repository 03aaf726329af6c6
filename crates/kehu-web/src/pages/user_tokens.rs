//! An administrator's view of one user's API tokens (`/users/{id}/tokens`): when each was
//! issued, last used and expires, and a revoke button per live token. Right: `system.users`,
//! within the administrator's data scope (a token outside it is "not found").

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kehu_domain::DomainError;
use kehu_store::tokens::TokenFilter;

use crate::access::{PageGranted, need};
use crate::context::{CsrfForm, NoFields};
use crate::error::{AppError, PageError};
use crate::pages::SavedQuery;
use crate::pages::profile::{TokenRow, all_tokens, token_rows};
use crate::state::AppState;
use crate::views::{Chrome, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/{id}/tokens", get(list))
        .route("/users/{id}/tokens/{token_id}/revoke", post(revoke))
}

#[derive(Template)]
#[template(path = "users/tokens.html")]
struct TokensPage {
    c: Chrome,
    user_id: i64,
    username: String,
    title: String,
    tokens: Vec<TokenRow>,
    /// Where the token table's revoke buttons post.
    revoke_base: String,
    saved: bool,
}

async fn list(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Users>,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    let u = state.store.users.get(id).await?;
    let c = Chrome::new(&ctx, "/users");
    let page = state
        .store
        .tokens
        .list(user.owner_filter(), &TokenFilter::of_user(id), all_tokens())
        .await?;
    let tokens = token_rows(&c, page.items);
    let title = c.tr.t_args(
        "user-tokens-title",
        &[("user", crate::i18n::FluentArg::Str(u.username.clone()))],
    );
    let p = TokensPage {
        c,
        user_id: id,
        revoke_base: format!("/users/{id}/tokens"),
        username: u.username,
        title,
        tokens,
        saved: q.saved.is_some(),
    };
    Ok(render(&p)?.into_response())
}

async fn revoke(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Users>,
    Path((id, token_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    // A token outside the administrator's scope, or not that user's, is "not found".
    let scope = user.owner_filter();
    let token = state.store.tokens.get(scope, token_id).await?;
    if token.user_id != id {
        return Err(PageError(AppError::Domain(DomainError::NotFound)));
    }
    // The store records the revocation in the audit log; a token already revoked (a second
    // click) just shows the list again.
    if token.revoked_at.is_some() {
        return Ok(Redirect::to(&format!("/users/{id}/tokens")).into_response());
    }
    match state
        .store
        .tokens
        .revoke(scope, token_id, &ctx.actor())
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/users/{id}/tokens?saved=1")).into_response()),
        // Revoked by someone else a moment ago.
        Err(e) => match AppError::from(e) {
            AppError::Domain(DomainError::NotFound) => {
                Ok(Redirect::to(&format!("/users/{id}/tokens")).into_response())
            }
            other => Err(PageError(other)),
        },
    }
}
