//! Sign-in, sign-out and the language switch.

use std::net::{IpAddr, SocketAddr};

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, Utc};
use cookie::{Cookie, SameSite};
use kehu_domain::secrets::{new_token, token_digest};
use kehu_domain::user::Language;
use kehu_store::Actor;
use kehu_store::audit::{self, Action};
use kehu_store::sessions::NewSession;
use kehu_store::users::Credentials;
use serde::Deserialize;
use serde_json::json;

use crate::context::{
    CsrfForm, Ctx, LANG_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, cookie_name, cookie_value,
};
use crate::error::{AppError, PageError};
use crate::i18n::FluentArg;
use crate::security::secrets_match;
use crate::state::AppState;
use crate::views::{Chrome, render};
use crate::{passwords, throttle};
use kehu_domain::DataScope;
use kehu_domain::policy::Authority;

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
pub(crate) fn cookie_header(state: &AppState, c: Cookie<'static>) -> (header::HeaderName, String) {
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
    let now = Utc::now();
    let ip = throttle::client_ip(peer.ip(), &headers, &state.config.trusted_proxies);
    let username = throttle::normalise(&form.username);
    let answer = |status: StatusCode, msg: String| -> Result<Response, PageError> {
        let page = LoginPage {
            c: Chrome::new(&ctx, ""),
            username: form.username.chars().take(64).collect(),
            next: safe_next(Some(&form.next)),
            error: Some(msg),
        };
        Ok((status, render(&page)?).into_response())
    };
    let device_cookie = cookie_name(state.config.secure_cookies, throttle::DEVICE_COOKIE);
    let device = cookie_value(&headers, &device_cookie).map(|t| token_digest(&t));
    let known_device = match &device {
        Some(d) => state.store.throttle.known_device(d, &username, now).await?,
        None => false,
    };
    let throttled =
        throttle::admit(&state.store.throttle, &username, ip, known_device, now).await?;
    // Looked up for every attempt, existing name or not, after the throttling decision: the
    // answer never depends on it except through the password check.
    let creds = state.store.users.credentials(&username).await?;
    if let Some(until) = throttled {
        tracing::warn!(user = ?username, %ip, "sign-in throttled");
        sign_in_event(
            &state,
            creds.as_ref(),
            &username,
            Action::SignInThrottled,
            ip,
        )
        .await?;
        let wait = (until - now).num_seconds().max(1);
        let minutes = (wait + 59) / 60;
        let mut resp = answer(
            StatusCode::TOO_MANY_REQUESTS,
            tr.t_args("login-locked", &[("minutes", FluentArg::Num(minutes))]),
        )?;
        if let Ok(v) = header::HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(resp);
    }
    let hash = match &creds {
        Some(c) => c.password_hash.clone(),
        // Same work as a real check, so timing does not tell which names exist.
        None => dummy_hash().await?,
    };
    let ok = passwords::verify(form.password.clone(), hash).await;
    let creds = match creds {
        Some(c) if ok && !c.disabled => c,
        other => {
            tracing::warn!(user = ?username, %ip, "sign-in failed");
            sign_in_event(&state, other.as_ref(), &username, Action::SignInFailed, ip).await?;
            return answer(StatusCode::UNAUTHORIZED, tr.t("login-failed"));
        }
    };
    throttle::succeeded(&state.store.throttle, &username, ip).await?;
    state.store.users.record_login_success(creds.id).await?;
    let token = new_token();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let (token_hash, csrf, ip_text) = (token_digest(&token), new_token(), ip.to_string());
    let new = NewSession {
        token_hash: &token_hash,
        user_id: creds.id,
        csrf_token: &csrf,
        ip: Some(&ip_text),
        user_agent: ua,
    };
    state
        .store
        .sessions
        .create(&new, now, state.config.session_lifetime())
        .await?;
    tracing::info!(user = %creds.username, "signed in");
    let set = cookie_header(&state, Cookie::new(SESSION_COOKIE, token));
    let mut gone = Cookie::from(LOGIN_CSRF_COOKIE);
    gone.make_removal();
    let clear = cookie_header(&state, gone);
    let mut cookies = vec![set, clear];
    if !known_device {
        // This browser becomes a known device of the account (see `throttle`).
        let device = new_token();
        let days = throttle::DEVICE_DAYS;
        state
            .store
            .throttle
            .remember_device(
                &token_digest(&device),
                &username,
                now,
                now + Duration::days(days),
            )
            .await?;
        let mut c = Cookie::new(throttle::DEVICE_COOKIE, device);
        c.set_max_age(cookie::time::Duration::days(days));
        cookies.push(cookie_header(&state, c));
    }
    Ok((
        AppendHeaders(cookies),
        Redirect::to(&safe_next(Some(&form.next))),
    )
        .into_response())
}

/// Writes a failed or throttled sign-in to the audit log, as the account when it exists and
/// as the name tried otherwise.
async fn sign_in_event(
    state: &AppState,
    creds: Option<&Credentials>,
    username: &str,
    action: Action,
    ip: IpAddr,
) -> Result<(), AppError> {
    // Whoever signs in holds nothing yet: the actor only names who the attempt was for.
    let nothing = Authority::new([], DataScope::Own);
    let actor = match creds {
        Some(c) => Actor::user(c.id, c.username.clone(), nothing),
        None => Actor {
            user_id: None,
            username: username.chars().take(32).collect(),
            authority: nothing,
        },
    };
    let name: String = username.chars().take(64).collect();
    let ip = json!({"ip": ip.to_string()});
    audit::event(
        &state.store.db,
        &actor,
        action,
        "sign_in",
        name,
        None,
        Some(&ip),
    )
    .await?;
    Ok(())
}

/// A hash to verify against when the account is unknown, computed once (off the runtime).
async fn dummy_hash() -> Result<String, AppError> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| async { passwords::hash(&new_token()).await })
        .await
        .cloned()
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
