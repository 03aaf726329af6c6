//! Browser-facing protections on every response (content security policy, framing, sniffing,
//! referrer, HSTS, caching), and the constant-time comparison of secrets sent by clients.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

/// Our pages load only our own CSS and JS: no inline script, style attribute or handler.
const CSP: &str = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// The vendored Swagger UI under `/api/docs` also needs the icons its stylesheet embeds as
/// `data:` images, and the one inline `<style>` of its logo (allowed by its hash, not by
/// `'unsafe-inline'`); nothing else is loosened, and only on that path. Checked in headless
/// Chromium with utoipa-swagger-ui 10 (Swagger UI 5.32): no violation is reported.
const CSP_API_DOCS: &str = "default-src 'self'; img-src 'self' data:; \
    style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
    frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

const HSTS: &str = "max-age=31536000";

/// True when `sent` equals the non-empty `expected`, in time independent of where they differ.
pub fn secrets_match(expected: &str, sent: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(sent.as_bytes()))
}

/// Sets the protective headers on every response, whatever produced it (a handler, an error
/// page, a 404, a caught panic, a timeout, a static file).
/// Whether kehu is served over HTTPS (secure cookies say so): then responses carry HSTS.
#[derive(Clone, Copy, Debug)]
pub struct Https(pub bool);

pub async fn headers(State(Https(https)): State<Https>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let docs = path == "/api/docs" || path.starts_with("/api/docs/");
    // API answers are per caller and never cached; `/api/docs` is the static Swagger UI.
    let api = path.starts_with("/api/") && !docs;
    let mut resp = next.run(req).await;
    apply(resp.headers_mut(), docs, api, https);
    resp
}

fn apply(h: &mut HeaderMap, docs: bool, api: bool, https: bool) {
    let csp = if docs { CSP_API_DOCS } else { CSP };
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // HSTS only where kehu is known to be served over HTTPS (secure cookies say so).
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    // Pages show personal data and carry form tokens: not stored anywhere unless the handler
    // chose its own caching (the static files do).
    if api || !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_when_equal_and_present() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "ab"));
        assert!(!secrets_match("abc", ""));
        assert!(!secrets_match("", ""));
    }

    #[test]
    fn static_files_keep_their_caching_and_api_answers_are_never_stored() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=60"),
        );
        apply(&mut h, false, false, false);
        assert_eq!(h[header::CACHE_CONTROL], "max-age=60");
        assert!(!h.contains_key(header::STRICT_TRANSPORT_SECURITY));
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=60"),
        );
        apply(&mut h, false, true, true);
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::STRICT_TRANSPORT_SECURITY], HSTS);
    }
}
