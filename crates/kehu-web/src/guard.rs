//! The last line of defence: a request that runs too long or a handler that panics still gets
//! an answer in our error format (problem+json or an error page), never a dropped connection.

use std::any::Any;
use std::sync::Once;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::context::{anonymous_tr, in_language};
use crate::error::{ApiError, AppError, PageError};
use crate::request_id;
use crate::state::AppState;

/// The slowest line an upload is given time for, in bytes per second (a 150 MB customer file
/// at 256 KiB/s: ten minutes on top of the request's own time).
const UPLOAD_MIN_BYTES_PER_SEC: u64 = 256 * 1024;

/// How long a request may take: `base`, plus for a declared body (up to `max_body`, the
/// largest any route reads) what the slowest line we serve needs to send it: the handler
/// cannot answer before it has read the upload.
fn time_for(base: Duration, content_length: Option<u64>, max_body: u64) -> Duration {
    let sending = content_length.unwrap_or(0).min(max_body) / UPLOAD_MIN_BYTES_PER_SEC;
    base.saturating_add(Duration::from_secs(sending))
}

/// Answers 503 `timeout` when the request is not done within `request_timeout_secs` (and
/// the time its declared body takes to arrive at a slow line's pace, see [`time_for`]).
pub async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let limit = time_for(
        Duration::from_secs(state.config.request_timeout_secs),
        declared,
        state.config.import_max_mb.saturating_mul(1024 * 1024),
    );
    let is_api = req.uri().path().starts_with("/api/");
    // Only what the language of a timeout answer needs, read only when one is due: this runs
    // on every request.
    let mut lang = axum::http::HeaderMap::new();
    for name in [
        axum::http::header::COOKIE,
        axum::http::header::ACCEPT_LANGUAGE,
    ] {
        if let Some(v) = req.headers().get(&name) {
            lang.insert(name, v.clone());
        }
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            let tr = anonymous_tr(&lang, state.config.secure_cookies);
            in_language(tr, async {
                if is_api {
                    ApiError(AppError::Timeout).into_response()
                } else {
                    PageError(AppError::Timeout).into_response()
                }
            })
            .await
        }
    }
}

/// The catch-panic layer's answer: 500 problem+json `internal` with the request id, logged
/// once (by the error rendering, with the panic's message and place).
pub fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    let site = request_id::take_panic_site().unwrap_or_else(|| "unknown place".to_owned());
    let id = request_id::current().unwrap_or_default();
    ApiError(AppError::Internal(anyhow::anyhow!(
        "request {id}: handler panicked at {site}: {message}"
    )))
    .into_response()
}

/// Routes panics inside a request to the catch-panic layer's single log line (the default hook
/// would print them a second time, without the request id); other panics print as before.
/// "Inside a request" is the request-id scope; within it, handlers and the inner layers run
/// under the catch-panic layer, and the few layers between the two (security headers,
/// tracing, metrics) only set headers and count.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let site = info
                .location()
                .map_or_else(|| "unknown place".to_owned(), ToString::to_string);
            if !request_id::note_panic_site(site) {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_given_the_time_a_slow_line_needs_to_send_it() {
        let base = Duration::from_secs(30);
        assert_eq!(time_for(base, None, 512 << 20), base);
        assert_eq!(time_for(base, Some(2_000), 512 << 20), base);
        // 150 MiB at 256 KiB/s: 600 s more.
        assert_eq!(
            time_for(base, Some(150 << 20), 512 << 20),
            Duration::from_secs(630)
        );
        // A declared 2 GB body is no longer than the largest one a route reads.
        assert_eq!(
            time_for(base, Some(2 << 30), 512 << 20),
            Duration::from_secs(30 + 2048)
        );
    }
}
