//! Errors of the web layer, mapped to HTTP in exactly two places: [`ApiError`] renders RFC 9457
//! problem+json with a stable `code`, [`PageError`] renders an HTML error page. Both speak the
//! request's language (set per request by the context middleware). A 500 logs the cause chain
//! and shows a generic message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use kehu_domain::{DomainError, FieldError};
use kehu_store::StoreError;
use kehu_store::db::StorageState;
use serde::Serialize;

use crate::i18n::Tr;
use crate::views;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("not signed in")]
    Unauthenticated,
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("CSRF token missing or wrong")]
    Csrf,
    #[error("bad request: {code}")]
    BadRequest { code: &'static str, detail: String },
    /// A query or path parameter that does not parse or is out of range; `errors[]` names it.
    #[error("bad parameter {}: {code}", param.field)]
    BadParam {
        code: &'static str,
        param: FieldError,
        /// What is wrong with it, already in the user's language.
        reason: String,
    },
    #[error("not found")]
    NotFound,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("storage full: {0}")]
    StorageFull(String),
    #[error("request took too long")]
    Timeout,
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e.storage() {
            Some(StorageState::Unavailable) => return AppError::Unavailable(e.to_string()),
            Some(StorageState::Full) => return AppError::StorageFull(e.to_string()),
            _ => {}
        }
        match e {
            StoreError::Domain(d) => AppError::Domain(d),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl AppError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    /// Status, stable code, and the Fluent key of the title.
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            AppError::Domain(DomainError::Invalid(_)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "problem-validation",
            ),
            AppError::Domain(DomainError::Conflict(_)) => {
                (StatusCode::CONFLICT, "already_exists", "problem-conflict")
            }
            AppError::Domain(DomainError::StaleVersion) => {
                (StatusCode::CONFLICT, "version_conflict", "problem-stale")
            }
            AppError::Domain(DomainError::NotFound) | AppError::NotFound => {
                (StatusCode::NOT_FOUND, "not_found", "problem-not-found")
            }
            AppError::Domain(DomainError::Forbidden) => {
                (StatusCode::FORBIDDEN, "forbidden", "problem-forbidden")
            }
            AppError::Domain(DomainError::NotAllowed(_)) => {
                (StatusCode::CONFLICT, "not_allowed", "problem-not-allowed")
            }
            AppError::Domain(DomainError::Refused(r)) => {
                (StatusCode::FORBIDDEN, r.code(), "problem-refused")
            }
            AppError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "problem-unauthenticated",
            ),
            AppError::PasswordChangeRequired => (
                StatusCode::FORBIDDEN,
                "password_change_required",
                "problem-password-change",
            ),
            AppError::Csrf => (StatusCode::FORBIDDEN, "csrf_failed", "problem-csrf"),
            AppError::BadRequest { code, .. } | AppError::BadParam { code, .. } => {
                (StatusCode::BAD_REQUEST, code, "problem-bad-request")
            }
            AppError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "problem-unavailable",
            ),
            AppError::StorageFull(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_full",
                "problem-storage-full",
            ),
            AppError::Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "problem-timeout",
            ),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "problem-internal",
            ),
        }
    }

    /// Adds `Retry-After` to a 503 answer (both renderings).
    fn set_retry_after(&self, resp: &mut Response) {
        if let Some(secs) = self.retry_after() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(secs));
        }
    }

    /// Seconds a client should wait before trying again (`Retry-After`), for 503s.
    pub fn retry_after(&self) -> Option<&'static str> {
        match self {
            AppError::Unavailable(_) => Some("5"),
            AppError::StorageFull(_) => Some("60"),
            _ => None,
        }
    }

    fn log(&self) {
        // The request id is named on each line: the request span may be off (log level warn).
        let id = crate::request_id::current().unwrap_or_default();
        match self {
            // One line per failure; the backtrace, many lines long when RUST_BACKTRACE is set,
            // only at debug level.
            AppError::Internal(e) => {
                tracing::error!(request_id = %id, error = %cause_chain(e), "request failed");
                if e.backtrace().status() == std::backtrace::BacktraceStatus::Captured {
                    tracing::debug!(backtrace = %e.backtrace(), "request failed: backtrace");
                }
            }
            AppError::Unavailable(e) => {
                tracing::warn!(request_id = %id, error = %e, "database unavailable");
            }
            AppError::StorageFull(e) => {
                tracing::warn!(request_id = %id, error = %e, "storage full")
            }
            AppError::Timeout => tracing::warn!(request_id = %id, "request timed out"),
            _ => {}
        }
    }

    /// A human sentence for the user, in their language.
    pub fn detail(&self, tr: &Tr) -> String {
        match self {
            AppError::Domain(DomainError::NotAllowed(key)) => tr.t(key),
            AppError::Domain(DomainError::Refused(r)) => tr.t(&format!("refusal-{}", r.code())),
            AppError::Domain(DomainError::Conflict(f)) => field_message(tr, f),
            AppError::BadRequest { detail, .. } if !detail.is_empty() => detail.clone(),
            AppError::BadParam { param, .. } => tr.t_args(
                "problem-bad-param-detail",
                &[("name", crate::i18n::FluentArg::Str(param.field.clone()))],
            ),
            _ => tr.t(&format!("{}-detail", self.parts().2)),
        }
    }
}

/// The cause chain on one line, each cause once: sqlx and the store repeat their source in
/// their own message, which `{:#}` would print three times over.
fn cause_chain(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let msg = cause.to_string().replace('\n', " ");
        if !line.contains(&msg) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&msg);
        }
    }
    line
}

/// "显示名称: 必填" — a field's label and what is wrong with it.
pub fn field_message(tr: &Tr, f: &FieldError) -> String {
    tr.t(&f.code)
}

/// One invalid field in a problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvalidParam {
    /// The field's name, as in the request.
    pub name: String,
    /// Stable code, e.g. `err-required`.
    pub code: String,
    /// What is wrong, in the user's language.
    pub reason: String,
}

/// RFC 9457 problem details, with a stable snake_case `code`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    /// Why the record's state forbids the change, as a stable key clients can match on: only
    /// with `not_allowed` (e.g. `err-role-builtin`, `err-role-in-use`, `err-dict-protected`).
    /// `detail` says the same in the user's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<InvalidParam>,
    /// The request's id (also in the `x-request-id` header), to quote when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An error answered as problem+json.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        let tr = crate::context::current_tr();
        let (status, code, title) = e.parts();
        let errors = match &e {
            AppError::Domain(DomainError::Invalid(fields)) => fields
                .iter()
                .map(|f| InvalidParam {
                    name: f.field.clone(),
                    code: f.code.clone(),
                    reason: field_message(&tr, f),
                })
                .collect(),
            AppError::Domain(DomainError::Conflict(f)) => vec![InvalidParam {
                name: f.field.clone(),
                code: f.code.clone(),
                reason: field_message(&tr, f),
            }],
            AppError::BadParam { param, reason, .. } => vec![InvalidParam {
                name: param.field.clone(),
                code: param.code.clone(),
                reason: reason.clone(),
            }],
            _ => Vec::new(),
        };
        let reason = match &e {
            AppError::Domain(DomainError::NotAllowed(key)) => Some((*key).to_owned()),
            _ => None,
        };
        let body = Problem {
            type_: format!("https://kehu.dev/problems/{code}"),
            title: tr.t(title),
            status: status.as_u16(),
            detail: e.detail(&tr),
            code: code.to_owned(),
            reason,
            errors,
            request_id: crate::request_id::current(),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        e.set_retry_after(&mut resp);
        resp
    }
}

/// An error answered as an HTML page (or a redirect to sign-in).
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        match e {
            AppError::Unauthenticated => {
                return axum::response::Redirect::to("/login").into_response();
            }
            AppError::PasswordChangeRequired => {
                return axum::response::Redirect::to("/profile#password").into_response();
            }
            _ => {}
        }
        let tr = crate::context::current_tr();
        let (status, _, title) = e.parts();
        let html = views::error_page(&tr, status.as_u16(), &tr.t(title), &e.detail(&tr));
        let mut resp = (status, Html(html)).into_response();
        e.set_retry_after(&mut resp);
        resp
    }
}
