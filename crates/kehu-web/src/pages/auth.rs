//! Sign-in, sign-out and the language switch.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, Utc};
use cookie::{Cookie, SameSite};
use kehu_domain::secrets::{new_token, token_digest, verify_password};
use kehu_domain::user::Language;
use serde::Deserialize;

use crate::app::AppState;
use crate::context::{CsrfForm, Ctx, LANG_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, cookie_name};
use crate::error::{AppError, PageError};
use crate::i18n::{FluentArg, Tr};
use crate::security::secrets_match;
use crate::throttle::{ACCOUNT_LOCK_MINUTES, MAX_PER_ACCOUNT};
use crate::views::{Chrome, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/language", post(switch_language))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only local paths: an open redirect after sign-in would be a phishing aid.
fn safe_next(next: Option<&str>) -> String {
    crate::redirect::safe_path(next)
}

/// A `Set-Cookie` header with our attributes; the name gets its `__Host-` prefix when
/// cookies are secure (see [`crate::context::cookie_name`]).
fn cookie_header(state: &AppState, c: Cookie<'static>) -> (header::HeaderName, String) {
    let mut c = c;
    c.set_name(cookie_name(state.config.secure_cookies, c.name()));
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(state.config.secure_cookies);
    (header::SET_COOKIE, c.to_string())
}

async fn login_page(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    if ctx.user.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    // An anonymous form token, echoed by the form (double submit).
    let token = ctx.login_csrf.clone().unwrap_or_else(new_token);
    ctx.login_csrf = Some(token.clone());
    let page = LoginPage {
        c: Chrome::new(&ctx, ""),
        username: String::new(),
        next: safe_next(q.next.as_deref()),
        error: None,
    };
    let set = cookie_header(&state, Cookie::new(LOGIN_CSRF_COOKIE, token));
    Ok(([set], render(&page)?).into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    let tr = ctx.tr;
    let ip = peer.ip();
    let fail = |msg: String| -> Result<Response, PageError> {
        let page = LoginPage {
            c: Chrome::new(&ctx, ""),
            username: form.username.chars().take(64).collect(),
            next: safe_next(Some(&form.next)),
            error: Some(msg),
        };
        Ok((axum::http::StatusCode::UNAUTHORIZED, render(&page)?).into_response())
    };
    if let Some(minutes) = state.throttle.blocked(ip) {
        return fail(locked(&tr, minutes));
    }
    let username = form.username.trim().to_lowercase();
    let creds = state.store.users.credentials(&username).await?;
    let Some(creds) = creds else {
        // Same work as a real check, so timing does not tell which names exist.
        let _ = verify_password(&form.password, &DUMMY_HASH);
        state.throttle.fail(ip);
        return fail(tr.t("login-failed"));
    };
    if let Some(until) = creds.locked_until
        && until > Utc::now()
    {
        state.throttle.fail(ip);
        let minutes = (until - Utc::now()).num_minutes().max(0) + 1;
        return fail(locked(&tr, u64::try_from(minutes).unwrap_or(1)));
    }
    let ok = verify_password(&form.password, &creds.password_hash);
    if !ok || creds.disabled {
        state.throttle.fail(ip);
        if !ok {
            let lock_until = Utc::now() + Duration::minutes(ACCOUNT_LOCK_MINUTES);
            let n = state
                .store
                .users
                .record_login_failure(creds.id, MAX_PER_ACCOUNT, lock_until)
                .await?;
            if n >= MAX_PER_ACCOUNT {
                return fail(locked(&tr, ACCOUNT_LOCK_MINUTES.unsigned_abs()));
            }
        }
        return fail(tr.t("login-failed"));
    }
    state.throttle.succeed(ip);
    state.store.users.record_login_success(creds.id).await?;
    let token = new_token();
    let expires = Utc::now() + Duration::hours(i64::from(state.config.session_hours));
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    state
        .store
        .sessions
        .create(
            &token_digest(&token),
            creds.id,
            &new_token(),
            expires,
            Some(&ip.to_string()),
            ua,
        )
        .await?;
    tracing::info!(user = %creds.username, "signed in");
    let set = cookie_header(&state, Cookie::new(SESSION_COOKIE, token));
    let mut gone = Cookie::from(LOGIN_CSRF_COOKIE);
    gone.make_removal();
    let clear = cookie_header(&state, gone);
    Ok((
        AppendHeaders([set, clear]),
        Redirect::to(&safe_next(Some(&form.next))),
    )
        .into_response())
}

/// A hash to verify against when the account is unknown, computed once.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    kehu_domain::secrets::hash_password(&new_token()).unwrap_or_default()
});

fn locked(tr: &Tr, minutes: u64) -> String {
    let m = i64::try_from(minutes).unwrap_or(i64::MAX);
    tr.t_args("login-locked", &[("minutes", FluentArg::Num(m))])
}

async fn logout(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(_): CsrfForm<crate::context::NoFields>,
) -> Result<Response, PageError> {
    if let Some(s) = &ctx.session {
        state.store.sessions.delete(&s.token_hash).await?;
    }
    let mut gone = Cookie::from(SESSION_COOKIE);
    gone.make_removal();
    Ok(([cookie_header(&state, gone)], Redirect::to("/login")).into_response())
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
    #[serde(default)]
    back: String,
}

/// Switches the UI language: saved to the user's profile when signed in, in a cookie always.
/// The form token is always checked: the session's when signed in, else the sign-in page's
/// anonymous one (double submit); without either the switch is refused.
async fn switch_language(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let sent = get("csrf").unwrap_or_default();
    if !secrets_match(&ctx.csrf(), &sent) {
        return Err(PageError(AppError::Csrf));
    }
    let form = LanguageForm {
        lang: get("lang").unwrap_or_default(),
        back: get("back").unwrap_or_default(),
    };
    let lang = Language::from_tag(&form.lang)
        .ok_or_else(|| AppError::bad_request("unknown_language", form.lang.clone()))?;
    if let Some(u) = &ctx.user {
        state
            .store
            .users
            .set_language(u.user_id, lang.tag())
            .await?;
    }
    let mut c = Cookie::new(LANG_COOKIE, lang.tag().to_owned());
    c.set_max_age(cookie::time::Duration::days(365));
    let set = cookie_header(&state, c);
    Ok(([set], Redirect::to(&safe_next(Some(&form.back)))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/users?page=2")), "/users?page=2");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("/\tevil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
