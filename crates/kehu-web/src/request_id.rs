//! The request id: a client's `x-request-id` when it is a UUID, else a fresh one; set on the
//! request (logs), echoed on the response, and readable while the request is served (problem
//! documents carry it). Only UUIDs pass, so a client cannot inject text into logs or headers.

use std::cell::Cell;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// What the request's task knows about itself.
struct Scope {
    id: String,
    /// Where a panic happened, noted by the panic hook for the catch-panic layer's log line.
    panic_site: Cell<Option<String>>,
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// The id of the request being served, if any.
pub fn current() -> Option<String> {
    SCOPE.try_with(|s| s.id.clone()).ok()
}

/// Notes where a panic happened; false outside a request (the panic is someone else's).
pub(crate) fn note_panic_site(site: String) -> bool {
    SCOPE.try_with(|s| s.panic_site.set(Some(site))).is_ok()
}

/// Where the request's panic happened, once.
pub(crate) fn take_panic_site() -> Option<String> {
    SCOPE.try_with(|s| s.panic_site.take()).ok().flatten()
}

/// True for the canonical UUID form (`8-4-4-4-12` hex digits).
fn is_uuid_shaped(s: &str) -> bool {
    s.len() == 36 && Uuid::try_parse(s).is_ok()
}

/// Replaces a missing or malformed `x-request-id` before anything logs it, and echoes it.
pub async fn middleware(mut req: Request, next: Next) -> Response {
    let sent = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|s| is_uuid_shaped(s))
        .map(str::to_owned);
    let id = sent.unwrap_or_else(|| Uuid::new_v4().to_string());
    let value = HeaderValue::from_str(&id).ok();
    if let Some(v) = &value {
        req.headers_mut().insert(HEADER, v.clone());
    }
    let scope = Scope {
        id,
        panic_site: Cell::new(None),
    };
    let mut resp = SCOPE.scope(scope, next.run(req)).await;
    if let Some(v) = value {
        resp.headers_mut().insert(HEADER, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_uuids_are_accepted() {
        assert!(is_uuid_shaped("67e55044-10b1-426f-9247-bb680e5fe0c8"));
        assert!(is_uuid_shaped("67E55044-10B1-426F-9247-BB680E5FE0C8"));
        for bad in [
            "",
            "abc",
            "67e5504410b1426f9247bb680e5fe0c8",
            "{67e55044-10b1-426f-9247-bb680e5fe0c8}",
            "urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8",
            "67e55044-10b1-426f-9247-bb680e5fe0c8\nfake log line",
            "67e55044-10b1-426f-9247-bb680e5fe0cg",
        ] {
            assert!(!is_uuid_shaped(bad), "{bad:?}");
        }
    }
}
