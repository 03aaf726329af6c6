//! The application: the router and the server's life cycle (the shared state is in
//! [`crate::state`]).
//! `Application::build` opens the database (migrating and seeding it), binds the listener
//! (port 0 in tests) and returns; `run_until_stopped` serves until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kehu_store::Store;
use kehu_store::db::StorageState;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::config::Config;
use crate::error::{ApiError, AppError};
use crate::module::Modules;
use crate::state::AppState;
use crate::{api, context, guard, pages, platform, request_id, security, statics};

/// The whole router: every module's pages and API, operations endpoints, static files, and
/// the API documentation built from the modules.
pub fn router(state: AppState, modules: &Modules) -> Router {
    let app =
        modules
            .router()
            .fallback(pages::not_found)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                context::middleware,
            ));
    // Operations endpoints and static files need no session and must work with the DB down.
    let all = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(statics::router())
        .merge(api::docs_router(modules.openapi()))
        .merge(app);
    layers(all, state)
}

/// The layers every answer passes through, outermost first: request id (checked, echoed),
/// security headers, tracing span, metrics, caught panics (500 problem+json), the request
/// timeout, the body limit. Public so tests can put a misbehaving handler under them.
///
/// The first three wrap the router once. The others label by the matched route template, so
/// they sit on the routes, composed into one service: `Router::layer` boxes each layer around
/// every route separately, and a request then clones every box of its route once per layer
/// (a tenth of the time to serve a small API read).
pub fn layers(routes: Router<AppState>, state: AppState) -> Router {
    guard::install_panic_hook();
    let timeout = axum::middleware::from_fn_with_state(state.clone(), guard::timeout);
    let metrics =
        axum::middleware::from_fn_with_state(state.metrics.clone(), crate::metrics::track);
    let headers = axum::middleware::from_fn_with_state(
        security::Https(state.config.secure_cookies),
        security::headers,
    );
    let trace = TraceLayer::new_for_http().make_span_with(
        |req: &axum::http::Request<axum::body::Body>| {
            // The request-id layer has already replaced anything that is not a UUID.
            let id = req
                .headers()
                .get(&request_id::HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            // At info level: with a quieter log level it costs nothing per request; error
            // lines carry the request id themselves (`AppError::log`).
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        },
    )
    // A 500 is logged once, by `AppError::log` with its cause; the trace layer's own
    // "response failed" line would repeat it.
    .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG));
    let routed = routes
        .layer(
            ServiceBuilder::new()
                .layer(metrics)
                .layer(CatchPanicLayer::custom(guard::panic_response))
                .layer(timeout)
                .layer(DefaultBodyLimit::max(1024 * 1024)),
        )
        .with_state(state);
    let outer = ServiceBuilder::new()
        .layer(axum::middleware::from_fn(request_id::middleware))
        .layer(headers)
        .layer(trace)
        .service(routed);
    Router::new().fallback_service(outer)
}

/// The metrics in OpenMetrics text; with `metrics_token` set, only for that bearer token.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = state.config.metrics_token() {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        if !security::secrets_match(expected, sent) {
            return ApiError(AppError::Unauthenticated).into_response();
        }
    }
    crate::metrics::openmetrics(&state.metrics)
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and its storage takes writes; otherwise 503 with the
/// reason (`database unavailable`, `storage full`) so operators see it at once.
async fn readyz(State(state): State<AppState>) -> Response {
    let state_of = tokio::time::timeout(Duration::from_secs(2), state.store.db.storage_state());
    match state_of.await {
        Ok(StorageState::Ready) => (StatusCode::OK, "ready").into_response(),
        Ok(StorageState::Full) => (StatusCode::SERVICE_UNAVAILABLE, "storage full").into_response(),
        Ok(StorageState::Unavailable) => {
            tracing::warn!("readiness check failed: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timeout").into_response(),
    }
}

/// A built application, bound to its address and ready to serve.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    modules: Modules,
}

impl Application {
    /// Opens (migrates, seeds) the database and binds the listener, with the platform's
    /// modules.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let modules = Modules::new(platform::modules())?;
        let store = modules.open_store(&config).await?;
        Self::with_modules(config, store, modules).await
    }

    /// The platform's modules over an open store.
    pub async fn with_store(config: Config, store: Store) -> anyhow::Result<Self> {
        Self::with_modules(config, store, Modules::new(platform::modules())?).await
    }

    /// The application the binary runs: `modules` over a store they were opened with
    /// ([`Modules::open_store`]).
    pub async fn with_modules(
        config: Config,
        store: Store,
        modules: Modules,
    ) -> anyhow::Result<Self> {
        let addr = config.listen_addr()?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        Ok(Self {
            listener,
            state: AppState::with_modules(store, config, &modules),
            modules,
        })
    }

    pub fn addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests (see [`crate::server`]).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.state.store.clone();
        let jobs: Vec<_> = self
            .modules
            .jobs()
            .into_iter()
            .map(|job| tokio::spawn(crate::module::run_periodically(job, self.state.clone())))
            .chain([
                tokio::spawn(renew_search_index(store.clone())),
                tokio::spawn(crate::jobs::scheduler(self.state.clone())),
            ])
            .collect();
        let limits = crate::server::Limits::from(&self.state.config);
        let app = router(self.state, &self.modules);
        let served = crate::server::serve(self.listener, app, limits, signal).await;
        for job in jobs {
            job.abort();
        }
        store.db.close().await;
        served
    }
}

/// Writes again, in the background, the search documents an older version of kehu tokenised
/// (see `SearchStore::renew_stale`): until it is done, a search may miss some of them.
async fn renew_search_index(store: kehu_store::Store) {
    match store.search.renew_stale(2000).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(documents = n, "search index renewed"),
        Err(e) => tracing::warn!(error = %e, "renewing the search index"),
    }
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not when
/// it is first polled, so a signal that arrives while the server starts is not lost.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("shutting down");
    }
}
