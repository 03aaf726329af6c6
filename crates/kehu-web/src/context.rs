//! The request context: who is asking (session cookie or API token) and in which language.
//! The middleware here resolves both once per request; extractors hand them to handlers.
//! Extractors only identify the user; what they may do is decided by the domain policy.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use cookie::Cookie;
use kehu_domain::Principal;
use kehu_domain::secrets::token_digest;
use kehu_domain::user::Language;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, AppError, PageError};
use crate::i18n::{Tr, negotiate};
use crate::nav::NavEntry;
use crate::security::secrets_match;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "kehu_session";
pub const LANG_COOKIE: &str = "kehu_lang";
pub const LOGIN_CSRF_COOKIE: &str = "kehu_login_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A cookie's name as sent: with secure cookies (HTTPS) it carries the `__Host-` prefix, so
/// browsers accept it only when `Secure`, for `Path=/` and without `Domain`: a sibling
/// subdomain or a plain-HTTP page cannot plant or overwrite it.
pub fn cookie_name(secure: bool, base: &str) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The language of a request before its user is known: the language cookie, else
/// `Accept-Language`.
pub fn anonymous_tr(headers: &HeaderMap, secure_cookies: bool) -> Tr {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let cookie_lang = cookie_value(headers, &cookie_name(secure_cookies, LANG_COOKIE))
        .and_then(|l| Language::from_tag(&l));
    Tr::new(cookie_lang.unwrap_or_else(|| negotiate(accept)))
}

/// Runs `fut` with `tr` as the request's translator (errors render in that language).
pub async fn in_language<F: std::future::Future>(tr: Tr, fut: F) -> F::Output {
    REQUEST_TR.scope(tr, fut).await
}

tokio::task_local! {
    static REQUEST_TR: Tr;
    /// The requester, so that an error page can show the app frame to a signed-in user.
    static REQUEST_CTX: Ctx;
}

/// The translator of the request being served (zh-CN outside a request).
pub fn current_tr() -> Tr {
    REQUEST_TR
        .try_with(|t| *t)
        .unwrap_or(Tr::new(Language::ZhCn))
}

/// The context of the request being served, once the middleware resolved it.
pub fn current_ctx() -> Option<Ctx> {
    REQUEST_CTX.try_with(Ctx::clone).ok()
}

/// The signed-in session behind a request.
#[derive(Clone)]
pub struct SessionInfo {
    pub token_hash: String,
    pub csrf: String,
}

impl std::fmt::Debug for SessionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionInfo { token_hash: ***, csrf: *** }")
    }
}

/// Everything a handler may want to know about the requester. Its extractors each take a
/// copy, so it is shared (one allocation per request, not one per extractor and field).
#[derive(Clone)]
pub struct Ctx(Arc<CtxData>);

impl Ctx {
    pub fn new(data: CtxData) -> Self {
        Self(Arc::new(data))
    }
}

impl std::ops::Deref for Ctx {
    type Target = CtxData;

    fn deref(&self) -> &CtxData {
        &self.0
    }
}

impl std::ops::DerefMut for Ctx {
    fn deref_mut(&mut self) -> &mut CtxData {
        Arc::make_mut(&mut self.0)
    }
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What [`Ctx`] holds.
#[derive(Clone)]
pub struct CtxData {
    pub tr: Tr,
    pub user: Option<Principal>,
    pub session: Option<SessionInfo>,
    /// The anonymous form token (sign-in page) from its cookie.
    pub login_csrf: Option<String>,
    pub path: String,
    /// Path and query, to come back to after sign-in or a language switch.
    pub uri: String,
    /// The application's navigation (every entry; the page frame filters by rights).
    pub nav: Arc<[NavEntry]>,
    /// The user's unread notices (the header's bell), counted for pages only.
    pub notices: u64,
}

impl std::fmt::Debug for CtxData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("tr", &self.tr)
            .field("user", &self.user)
            .field("session", &self.session)
            .field("login_csrf", &self.login_csrf.as_ref().map(|_| "***"))
            .field("path", &self.path)
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl CtxData {
    /// The token forms must echo: the session's, or the anonymous one before sign-in.
    pub fn csrf(&self) -> String {
        self.session
            .as_ref()
            .map(|s| s.csrf.clone())
            .or_else(|| self.login_csrf.clone())
            .unwrap_or_default()
    }

    pub fn actor(&self) -> kehu_store::Actor {
        match &self.user {
            Some(p) => kehu_store::Actor::user(p.user_id, p.username.clone(), p.authority()),
            None => kehu_store::Actor::system(),
        }
    }
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Resolves the requester and language, and checks the CSRF header on cookie-authenticated
/// API writes. Forms check their token in [`CsrfForm`].
pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let secure = state.config.secure_cookies;
    let fallback_tr = anonymous_tr(headers, secure).in_zone(state.config.time_zone);
    let path = req.uri().path().to_owned();
    let uri = req
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let is_api = path.starts_with("/api/");

    let resolved = resolve(&state, headers).await;
    let (user, session, via_token) = match resolved {
        Ok(r) => r,
        Err(e) => {
            let resp = if is_api {
                ApiError(e).into_response()
            } else {
                PageError(e).into_response()
            };
            return REQUEST_TR.scope(fallback_tr, async move { resp }).await;
        }
    };
    let lang = user
        .as_ref()
        .and_then(|u| u.language.as_deref())
        .and_then(Language::from_tag)
        .unwrap_or(fallback_tr.lang);
    let tr = Tr::new(lang).in_zone(state.config.time_zone);

    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if is_api && unsafe_method && !via_token {
        let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if let (Some(s), Some(sent)) = (&session, sent)
            && !secrets_match(&s.csrf, sent)
        {
            return REQUEST_TR
                .scope(tr, async { ApiError(AppError::Csrf).into_response() })
                .await;
        }
        if session.is_some() && sent.is_none() {
            return REQUEST_TR
                .scope(tr, async { ApiError(AppError::Csrf).into_response() })
                .await;
        }
    }

    // The bell's count: one indexed read per page a signed-in user opens.
    let notices = match &user {
        Some(u) if !is_api && req.method() == Method::GET && !u.must_change_password => {
            match state.store.inbox.unread(u.own_records()).await {
                Ok(n) => n,
                Err(e) => {
                    let resp = PageError(e.into()).into_response();
                    return REQUEST_TR.scope(tr, async move { resp }).await;
                }
            }
        }
        _ => 0,
    };
    let ctx = Ctx::new(CtxData {
        tr,
        user,
        session,
        login_csrf: cookie_value(req.headers(), &cookie_name(secure, LOGIN_CSRF_COOKIE)),
        path,
        uri,
        nav: state.nav.clone(),
        notices,
    });
    if is_api {
        req.extensions_mut().insert(ctx);
        return REQUEST_TR.scope(tr, next.run(req)).await;
    }
    // Pages keep the requester at hand for a framed error page (API errors are documents).
    req.extensions_mut().insert(ctx.clone());
    let served = REQUEST_CTX.scope(ctx, next.run(req));
    REQUEST_TR.scope(tr, served).await
}

type Resolved = (Option<Principal>, Option<SessionInfo>, bool);

async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Resolved, AppError> {
    let store = &state.store;
    if let Some(token) = bearer(headers) {
        let Some((token_id, user_id)) = store.tokens.user_for(&token_digest(token)).await? else {
            return Err(AppError::Unauthenticated);
        };
        let user = state.principal(user_id).await?;
        if user.is_none() {
            return Err(AppError::Unauthenticated);
        }
        state.note_token_use(token_id).await?;
        return Ok((user, None, true));
    }
    let session_cookie = cookie_name(state.config.secure_cookies, SESSION_COOKIE);
    let Some(token) = cookie_value(headers, &session_cookie) else {
        return Ok((None, None, false));
    };
    let hash = token_digest(&token);
    let now = Utc::now();
    let lifetime = state.config.session_lifetime();
    let Some(session) = store.sessions.find(&hash, now, lifetime).await? else {
        return Ok((None, None, false));
    };
    let Some(user) = state.principal(session.user_id).await? else {
        return Ok((None, None, false));
    };
    // Sliding expiry (capped at the absolute end), written at most once a minute per session.
    if now - session.last_seen_at > Duration::seconds(60) {
        store.sessions.touch(&session, now, lifetime).await?;
    }
    let info = SessionInfo {
        token_hash: hash,
        csrf: session.csrf_token,
    };
    Ok((Some(user), Some(info), false))
}

fn ctx_of(parts: &Parts) -> Ctx {
    parts.extensions.get::<Ctx>().cloned().unwrap_or_else(|| {
        Ctx::new(CtxData {
            tr: current_tr(),
            user: None,
            session: None,
            login_csrf: None,
            path: parts.uri.path().to_owned(),
            uri: parts.uri.to_string(),
            nav: Arc::from([]),
            notices: 0,
        })
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ctx_of(parts))
    }
}

fn login_redirect(ctx: &Ctx) -> Response {
    let next = serde_urlencoded::to_string([("next", ctx.uri.as_str())]).unwrap_or_default();
    Redirect::to(&format!("/login?{next}")).into_response()
}

/// A signed-in user on a page; a forced password change sends them to their profile first.
pub struct PageUser {
    pub user: Principal,
    pub ctx: Ctx,
}

impl<S: Send + Sync> FromRequestParts<S> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ctx = ctx_of(parts);
        match ctx.user.clone() {
            None => Err(login_redirect(&ctx)),
            Some(u) if u.must_change_password => Err(Redirect::to("/profile").into_response()),
            Some(user) => Ok(PageUser { user, ctx }),
        }
    }
}

/// A signed-in user who may still have to change their password (the profile page).
pub struct SignedIn {
    pub user: Principal,
    pub ctx: Ctx,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ctx = ctx_of(parts);
        match ctx.user.clone() {
            None => Err(login_redirect(&ctx)),
            Some(user) => Ok(SignedIn { user, ctx }),
        }
    }
}

/// A signed-in API caller (session cookie or bearer token).
pub struct ApiUser {
    pub user: Principal,
    pub ctx: Ctx,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ctx = ctx_of(parts);
        match ctx.user.clone() {
            None => Err(ApiError(AppError::Unauthenticated)),
            Some(u) if u.must_change_password && ctx.path != "/api/v1/me" => {
                Err(ApiError(AppError::PasswordChangeRequired))
            }
            Some(user) => Ok(ApiUser { user, ctx }),
        }
    }
}

/// A form whose `csrf` field must match the session's token (or the sign-in page's).
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = checked_form_body(req, state).await?;
        Ok(CsrfForm(parse_form(&bytes)?))
    }
}

/// The body of a submitted form whose `csrf` field matches the session's token.
pub(crate) async fn checked_form_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<Bytes, PageError> {
    let (parts, body) = req.into_parts();
    let ctx = ctx_of(&parts);
    let req = Request::from_parts(parts.clone(), body);
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|_| AppError::bad_request("body_too_large", ""))?;
    let sent: CsrfField = parse_form(&bytes)?;
    if !secrets_match(&ctx.csrf(), &sent.csrf) {
        return Err(PageError(AppError::Csrf));
    }
    Ok(bytes)
}

/// A form body read as `T`; one that does not fit is a 400 `malformed_form`.
pub(crate) fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PageError> {
    serde_urlencoded::from_bytes(bytes)
        .map_err(|e| PageError(AppError::bad_request("malformed_form", e.to_string())))
}

/// The body of a form that carries nothing but its CSRF token (delete, sign out).
#[derive(serde::Deserialize)]
pub struct NoFields {}
