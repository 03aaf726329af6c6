//! kehu's HTTP layer: the axum application, server-rendered pages (askama templates, Fluent
//! text), the JSON API under `/api/v1` with its OpenAPI document, and operations endpoints.
//! One folder per product module under `pages/` and `api/`.

pub mod api;
pub mod app;
pub mod config;
pub mod context;
pub mod error;
pub mod guard;
pub mod i18n;
pub mod listing;
pub mod metrics;
pub mod pages;
pub mod passwords;
pub mod redirect;
pub mod request_id;
pub mod security;
pub mod server;
pub mod setup;
pub mod statics;
pub mod telemetry;
pub mod throttle;
pub mod views;

pub use app::{AppState, Application};
pub use config::Config;
