//! Our own small CSS and JavaScript, embedded in the binary (no CDN, no build step).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");
const FAVICON: &str = include_str!("../static/favicon.svg");
const CACHE: &str = "public, max-age=3600";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/static/app.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, CACHE),
                    ],
                    CSS,
                )
                    .into_response()
            }),
        )
        .route(
            "/static/favicon.svg",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "image/svg+xml"),
                        (header::CACHE_CONTROL, CACHE),
                    ],
                    FAVICON,
                )
                    .into_response()
            }),
        )
        .route(
            "/static/app.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, CACHE),
                    ],
                    JS,
                )
                    .into_response()
            }),
        )
}
