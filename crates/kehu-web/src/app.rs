//! The application: shared state, the router, and the server's life cycle.
//! `Application::build` opens the database (migrating and seeding it), binds the listener
//! (port 0 in tests) and returns; `run_until_stopped` serves until SIGTERM or Ctrl-C.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kehu_domain::Principal;
use kehu_store::{Store, StoreResult};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::config::Config;
use crate::metrics::Metrics;
use crate::throttle::Throttle;
use crate::{api, context, pages, statics};

/// State shared by every handler. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub store: Store,
    pub config: Config,
    pub metrics: Metrics,
    pub throttle: Throttle,
    /// When each API token's `last_used_at` was last written, to write it once a minute.
    token_use: Mutex<HashMap<i64, Instant>>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Store, config: Config) -> Self {
        Self(Arc::new(Inner {
            store,
            config,
            metrics: Metrics::new(),
            throttle: Throttle::default(),
            token_use: Mutex::new(HashMap::new()),
        }))
    }

    /// The user as the policy sees them, or `None` when missing or disabled.
    pub async fn principal(&self, user_id: i64) -> StoreResult<Option<Principal>> {
        self.store.users.principal(user_id).await
    }

    pub async fn note_token_use(&self, token_id: i64) -> StoreResult<()> {
        let due = {
            let mut map = self.token_use.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            match map.get(&token_id) {
                Some(t) if now.duration_since(*t) < Duration::from_secs(60) => false,
                _ => {
                    map.insert(token_id, now);
                    true
                }
            }
        };
        if due {
            self.store.tokens.mark_used(token_id).await?;
        }
        Ok(())
    }
}

/// The whole router: pages, API, operations endpoints, static files.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let app = Router::new()
        .merge(pages::router())
        .merge(api::router())
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            context::middleware,
        ));
    // Operations endpoints and static files need no session and must work with the DB down.
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::endpoint))
        .merge(statics::router())
        .merge(api::docs_router())
        .merge(app)
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::metrics::track))
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        // A 500 is logged once, by `AppError::log` with its cause; the trace layer's own
        // "response failed" line would repeat it. The span is at error level so that its
        // request id goes with every error whatever the configured log level.
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<axum::body::Body>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::error_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            },
        ).on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.store.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
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
        let store = Store::open(&config.db_url()).await?;
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
        let limits = crate::server::Limits::from(&self.state.config);
        let app = router(self.state);
        crate::server::serve(self.listener, app, limits, signal).await?;
        store.db.close().await;
        Ok(())
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
