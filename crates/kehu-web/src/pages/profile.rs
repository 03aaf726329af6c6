//! The user's own profile: password, language, personal API tokens.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kehu_domain::secrets::{new_token, token_digest};
use kehu_domain::user::NewPassword;
use kehu_domain::{DomainError, FieldError, text};
use kehu_store::tokens::ApiToken;
use serde::Deserialize;

use crate::api::tokens::expiry;
use crate::context::{CsrfForm, SignedIn};
use crate::error::{AppError, PageError};
use crate::state::AppState;
use crate::views::{Chrome, FormErrors, render, when};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(profile))
        .route("/profile/password", post(change_password))
        .route("/profile/tokens", post(issue_token))
        .route("/profile/tokens/{id}/revoke", post(revoke_token))
}

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub last_used: String,
    /// When it expires, or "never" (CLI-issued tokens).
    pub expires: String,
    pub expired: bool,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    c: Chrome,
    username: String,
    display_name: String,
    role_name: String,
    must_change: bool,
    saved: bool,
    errors: FormErrors,
    tokens: Vec<TokenRow>,
    /// Where the token table's revoke buttons post.
    revoke_base: &'static str,
    new_token: Option<String>,
    token_errors: FormErrors,
}

#[derive(Deserialize, Default)]
struct ProfileQuery {
    saved: Option<String>,
}

/// Token rows as the profile and an administrator's view of a user's tokens show them.
pub(crate) fn token_rows(c: &Chrome, tokens: Vec<ApiToken>) -> Vec<TokenRow> {
    let now = chrono::Utc::now();
    tokens
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            created: when(&c.tr, &t.created_at),
            last_used: t.last_used_at.map(|x| when(&c.tr, &x)).unwrap_or_default(),
            expires: t
                .expires_at
                .map(|x| when(&c.tr, &x))
                .unwrap_or_else(|| c.t("token-never-expires")),
            expired: t.is_expired(now),
            revoked: t.revoked_at.is_some(),
            name: t.name,
        })
        .collect()
}

async fn page(
    state: &AppState,
    s: &SignedIn,
    errors: FormErrors,
    new_token: Option<String>,
    token_errors: FormErrors,
    saved: bool,
) -> Result<ProfilePage, PageError> {
    let c = Chrome::new(&s.ctx, "");
    let tokens = token_rows(&c, state.store.tokens.list_for_user(s.user.user_id).await?);
    Ok(ProfilePage {
        username: s.user.username.clone(),
        display_name: s.user.display_name.clone(),
        role_name: crate::views::role_label(&s.ctx.tr, &s.user.role_name),
        must_change: s.user.must_change_password,
        saved,
        errors,
        tokens,
        revoke_base: "/profile/tokens",
        new_token,
        token_errors,
        c,
    })
}

async fn profile(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, PageError> {
    let p = page(
        &state,
        &s,
        FormErrors::default(),
        None,
        FormErrors::default(),
        q.saved.is_some(),
    )
    .await?;
    Ok(render(&p)?.into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    s: SignedIn,
    CsrfForm(f): CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let tr = s.ctx.tr;
    let hash = state.store.users.password_hash(s.user.user_id).await?;
    let mut errors = Vec::new();
    if !crate::passwords::verify(f.current.clone(), hash).await {
        errors.push(FieldError::new("current", "err-password-wrong"));
    }
    match NewPassword::parse("new", &f.new) {
        Err(e) => errors.push(e),
        Ok(_) if f.new == f.current => errors.push(FieldError::new("new", "err-password-same")),
        Ok(_) => {}
    }
    if f.new != f.confirm {
        errors.push(FieldError::new("confirm", "err-password-mismatch"));
    }
    if !errors.is_empty() {
        let errs = FormErrors::from_fields(&tr, &errors);
        let p = page(&state, &s, errs, None, FormErrors::default(), false).await?;
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response());
    }
    let new_hash = crate::passwords::hash(&f.new).await?;
    let keep = s.ctx.session.as_ref().map(|x| x.token_hash.as_str());
    state
        .store
        .users
        .set_password(s.user.user_id, &new_hash, false, keep, &s.ctx.actor())
        .await?;
    let to = if s.user.must_change_password {
        "/"
    } else {
        "/profile?saved=1"
    };
    Ok(Redirect::to(to).into_response())
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
    /// Days until it expires; blank means the default (90).
    #[serde(default)]
    expires_days: String,
}

async fn issue_token(
    State(state): State<AppState>,
    s: SignedIn,
    CsrfForm(f): CsrfForm<TokenForm>,
) -> Result<Response, PageError> {
    let tr = s.ctx.tr;
    let days = match f.expires_days.trim() {
        "" => Ok(None),
        d => d
            .parse::<i64>()
            .map(Some)
            .map_err(|_| FieldError::new("expires_days", "err-token-days")),
    };
    let parsed = text::line("name", &f.name, 64).and_then(|name| {
        let expires_at = days.and_then(|d| expiry("expires_days", d))?;
        Ok((name, expires_at))
    });
    let (name, expires_at) = match parsed {
        Ok(ok) => ok,
        Err(e) => {
            let errs = FormErrors::from_fields(&tr, &[e]);
            let p = page(&state, &s, FormErrors::default(), None, errs, false).await?;
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response());
        }
    };
    let token = new_token();
    state
        .store
        .tokens
        .issue(
            s.user.user_id,
            &name,
            &token_digest(&token),
            Some(expires_at),
            &s.ctx.actor(),
        )
        .await?;
    // The token is shown once, on this response, and never again.
    let p = page(
        &state,
        &s,
        FormErrors::default(),
        Some(token),
        FormErrors::default(),
        false,
    )
    .await?;
    Ok(render(&p)?.into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<crate::context::NoFields>,
) -> Result<Response, PageError> {
    match state
        .store
        .tokens
        .revoke(id, Some(s.user.user_id), &s.ctx.actor())
        .await
    {
        Ok(()) => Ok(Redirect::to("/profile").into_response()),
        Err(e) => Err(PageError(AppError::from(e))),
    }
    .or_else(|e| match e.0 {
        AppError::Domain(DomainError::NotFound) => Ok(Redirect::to("/profile").into_response()),
        other => Err(PageError(other)),
    })
}
