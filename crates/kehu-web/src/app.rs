//! The application: the router and the server's life cycle (the shared state is in
//! [`crate::state`]).
//! `Application::build` opens the database (migrating and seeding it), binds the listener
//! (port 0 in tests) and returns; `run_until_stopped` serves until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kehu_store::db::StorageState;
use kehu_store::{Store, StoreResult};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::config::Config;
use crate::state::AppState;
use crate::{api, context, guard, pages, request_id, security, statics};

/// The whole router: pages, API, operations endpoints, static files.
pub fn router(state: AppState) -> Router {
    let app = Router::new()
        .merge(pages::router())
        .merge(api::router())
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            context::middleware,
        ));
    // Operations endpoints and static files need no session and must work with the DB down.
    let all = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::endpoint))
        .merge(statics::router())
        .merge(api::docs_router())
        .merge(app);
    layers(all, state)
}

/// The layers every answer passes through, outermost first: request id (checked, echoed),
/// security headers, tracing span, metrics, caught panics (500 problem+json), the request
/// timeout, the body limit. Public so tests can put a misbehaving handler under them.
pub fn layers(routes: Router<AppState>, state: AppState) -> Router {
    guard::install_panic_hook();
    let timeout = axum::middleware::from_fn_with_state(state.clone(), guard::timeout);
    let metrics = axum::middleware::from_fn_with_state(state.clone(), crate::metrics::track);
    let headers = axum::middleware::from_fn_with_state(state.clone(), security::headers);
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
    routes
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(timeout)
        .layer(CatchPanicLayer::custom(guard::panic_response))
        .layer(metrics)
        .layer(trace)
        .layer(headers)
        .layer(axum::middleware::from_fn(request_id::middleware))
        .with_state(state)
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
}

impl Application {
    /// Opens (migrates, seeds) the database and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = Store::open_with(&config.db_url(), config.db_options()).await?;
        Self::with_store(config, store).await
    }

    pub async fn with_store(config: Config, store: Store) -> anyhow::Result<Self> {
        let addr = config.listen_addr()?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        Ok(Self {
            listener,
            state: AppState::new(store, config),
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
        let purge = tokio::spawn(purge_periodically(self.state.clone()));
        let limits = crate::server::Limits::from(&self.state.config);
        let app = router(self.state);
        let served = crate::server::serve(self.listener, app, limits, signal).await;
        purge.abort();
        store.db.close().await;
        served
    }
}

/// How often expired sessions and stale sign-in counters are removed.
pub const PURGE_EVERY: Duration = Duration::from_secs(10 * 60);

/// Removes expired sessions, stale throttle counters and expired devices now and then, for as
/// long as the server runs. Several kehu processes may all do it: the deletes are idempotent.
async fn purge_periodically(state: AppState) {
    // The first run comes one period after start, not at once: starting is busy enough.
    let first = tokio::time::Instant::now() + PURGE_EVERY;
    let mut tick = tokio::time::interval_at(first, PURGE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = purge(&state, chrono::Utc::now()).await {
            tracing::warn!(error = %e, "purging expired sessions failed");
        }
    }
}

/// One purge at `now`: returns how many rows went.
pub async fn purge(state: &AppState, now: chrono::DateTime<chrono::Utc>) -> StoreResult<u64> {
    let sessions = state
        .store
        .sessions
        .purge_expired(now, state.config.session_lifetime())
        .await?;
    let throttle = state.store.throttle.purge(now).await?;
    if sessions + throttle > 0 {
        tracing::debug!(sessions, throttle, "purged expired rows");
    }
    Ok(sessions + throttle)
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
