//! The user's own profile: password, language, personal API tokens.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cookie::Cookie;
use kehu_domain::secrets::{new_token, token_digest};
use kehu_domain::user::NewPassword;
use kehu_domain::{DomainError, FieldError, text};
use kehu_store::PageRequest;
use kehu_store::tokens::{ApiToken, TokenFilter};
use serde::Deserialize;

use crate::api::tokens::expiry;
use crate::context::{CsrfForm, SignedIn, cookie_name, cookie_value};
use crate::error::{AppError, PageError};
use crate::form;
use crate::pages::auth::cookie_header;
use crate::state::AppState;
use crate::views::{Chrome, FormErrors, render, when};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(profile))
        .route("/profile/password", post(change_password))
        .route("/profile/tokens", post(issue_token))
        .route("/profile/tokens/{id}/revoke", post(revoke_token))
}

/// The token tables show the newest tokens, as many as a page holds.
pub(crate) fn all_tokens() -> PageRequest {
    PageRequest::new(None, Some(PageRequest::MAX_PER_PAGE))
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
    // One's own tokens, whatever one's data scope.
    let filter = TokenFilter {
        include_revoked: true,
        ..TokenFilter::default()
    };
    let page = state
        .store
        .tokens
        .list(s.user.own_records(), &filter, all_tokens())
        .await?;
    let tokens = token_rows(&c, page.items);
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

/// Carries a just-issued token from its POST to the profile page, which shows it once and
/// clears the cookie: the form is POST-redirect-GET like every other, so reloading the page
/// neither issues a second token nor shows this one again. Short-lived, HTTP-only, and only
/// shown when it is a live token of the signed-in user.
const NEW_TOKEN_COOKIE: &str = "kehu_new_token";

async fn profile(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, PageError> {
    let cookie = cookie_name(state.config.secure_cookies, NEW_TOKEN_COOKIE);
    let mut new_token = None;
    if let Some(t) = cookie_value(&headers, &cookie) {
        let owner = state.store.tokens.user_for(&token_digest(&t)).await?;
        new_token = owner.filter(|(_, u)| *u == s.user.user_id).map(|_| t);
    }
    let p = page(
        &state,
        &s,
        FormErrors::default(),
        new_token,
        FormErrors::default(),
        q.saved.is_some(),
    )
    .await?;
    let mut resp = render(&p)?.into_response();
    if cookie_value(&headers, &cookie).is_some() {
        let mut gone = Cookie::from(NEW_TOKEN_COOKIE);
        gone.make_removal();
        let (name, value) = cookie_header(&state, gone);
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().append(name, v);
        }
    }
    Ok(resp)
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
    let hash = state.store.users.password_hash(s.user.user_id).await?;
    let current_ok = crate::passwords::verify(f.current.clone(), hash).await;
    let (st, actor, user_id) = (&state, s.ctx.actor(), s.user.user_id);
    let keep = s.ctx.session.as_ref().map(|x| x.token_hash.clone());
    let to = if s.user.must_change_password {
        "/"
    } else {
        "/profile"
    };
    form::submit(
        s.ctx.tr,
        password_change(&f, current_ok),
        |new| async move {
            let new_hash = crate::passwords::hash(&new).await?;
            st.store
                .users
                .set_password(user_id, &new_hash, false, keep.as_deref(), &actor)
                .await?;
            Ok::<_, AppError>(())
        },
        |()| to.to_owned(),
        |errors| async move {
            let p = page(st, &s, errors, None, FormErrors::default(), false).await?;
            Ok(render(&p)?.into_response())
        },
    )
    .await
}

/// The new password when the form is right: the current one matches, the new one is
/// acceptable and differs from it, and the confirmation repeats it.
fn password_change(f: &PasswordForm, current_ok: bool) -> Result<String, DomainError> {
    let mut errors = Vec::new();
    if !current_ok {
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
    if errors.is_empty() {
        Ok(f.new.clone())
    } else {
        Err(DomainError::Invalid(errors))
    }
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
    let (st, actor, user_id) = (&state, s.ctx.actor(), s.user.user_id);
    let mut issued = None;
    let slot = &mut issued;
    let mut resp = form::submit(
        s.ctx.tr,
        parsed.map_err(DomainError::from),
        |(name, expires_at)| async move {
            let token = new_token();
            let digest = token_digest(&token);
            st.store
                .tokens
                .issue(user_id, &name, &digest, Some(expires_at), &actor)
                .await?;
            *slot = Some(token);
            Ok::<_, AppError>(())
        },
        |()| "/profile".to_owned(),
        |errors| async move {
            let p = page(st, &s, FormErrors::default(), None, errors, false).await?;
            Ok(render(&p)?.into_response())
        },
    )
    .await?;
    if let Some(token) = issued {
        let mut c = Cookie::new(NEW_TOKEN_COOKIE, token);
        c.set_max_age(cookie::time::Duration::minutes(5));
        let (name, value) = cookie_header(&state, c);
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().append(name, v);
        }
    }
    Ok(resp)
}

async fn revoke_token(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<crate::context::NoFields>,
) -> Result<Response, PageError> {
    // Someone else's token is "not found"; one already revoked (a second click) just shows
    // the profile again.
    let scope = s.user.own_records();
    let token = state.store.tokens.get(scope, id).await?;
    if token.revoked_at.is_none() {
        match state.store.tokens.revoke(scope, id, &s.ctx.actor()).await {
            Ok(()) => {}
            Err(e) => match AppError::from(e) {
                AppError::Domain(DomainError::NotFound) => {}
                other => return Err(PageError(other)),
            },
        }
    }
    Ok(Redirect::to("/profile").into_response())
}
