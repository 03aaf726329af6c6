//! kehu's HTTP layer: the axum application, server-rendered pages (askama templates, Fluent
//! text), the JSON API under `/api/v1` with its OpenAPI document, and operations endpoints.
//! The module kit (`module.rs`: what a module contributes; the router, navigation and OpenAPI
//! document are built from the list of modules) and the platform's own modules (`platform.rs`,
//! with their handlers in `pages/` and `api/`).

pub mod access;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod context;
pub mod error;
pub mod form;
pub mod guard;
pub mod history;
pub mod i18n;
pub mod import;
pub mod jobs;
pub mod labels;
pub mod listing;
pub mod metrics;
pub mod module;
pub mod nav;
pub mod pages;
pub mod passwords;
pub mod platform;
pub mod record;
pub mod redirect;
pub mod request_id;
pub mod security;
pub mod server;
pub mod setup;
pub mod state;
pub mod statics;
pub mod telemetry;
pub mod throttle;
pub mod views;

pub use app::Application;
pub use config::Config;
pub use module::{Module, Modules, Panel, RecordPanel, Searchable};
pub use nav::NavEntry;
pub use state::AppState;
