//! The HTTP/1 server loop under faults: a bounded number of connections, a deadline for each
//! request header, idle connections closed, accept errors (out of file descriptors) survived,
//! and a shutdown that lets in-flight requests finish but never outlives its deadline. A
//! connection with no request in flight (idle, or a header still arriving) does not hold it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower::Service as _;

use crate::config::Config;

/// How long the server waits for clients, and for how many at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_deadline: Duration,
}

impl From<&Config> for Limits {
    fn from(c: &Config) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(c.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(c.idle_timeout_secs),
            max_connections: c.max_connections.max(1),
            shutdown_deadline: Duration::from_secs(c.shutdown_deadline_secs),
        }
    }
}

/// Serves `app` on `listener` until `signal`, then stops accepting, lets the requests in
/// flight finish for at most `limits.shutdown_deadline`, and closes what is left.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    signal: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max_connections = fit_to_open_file_limit(limits.max_connections);
    let slots = Arc::new(Semaphore::new(max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut http = http1::Builder::new();
    // hyper starts the header clock whenever it waits for a request head, so this also bounds
    // the wait for the next request on a kept-alive connection.
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut at_limit = Episode::default();
    let mut accept_failing = Episode::default();
    tokio::pin!(signal);
    loop {
        while tasks.try_join_next().is_some() {}
        // A slot before accepting: at the limit, new clients wait in the listen backlog instead
        // of taking file descriptors the open connections and the database need.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if at_limit.begins() {
                    tracing::warn!(
                        max_connections,
                        "connection limit reached: new connections wait until open ones close"
                    );
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut signal => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // The client gave up between connecting and being accepted: nothing to do.
                Err(e) if is_client_gone(&e) => continue,
                Err(e) => {
                    // EMFILE and friends: retrying at once would spin; log once per episode.
                    if accept_failing.begins() {
                        tracing::error!(error = %e, "cannot accept connections; retrying");
                    }
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                        () = &mut signal => break,
                    }
                }
            },
            () = &mut signal => break,
        };
        tasks.spawn(connection(
            &http,
            stopping.clone(),
            &app,
            stream,
            peer,
            slot,
            limits,
        ));
    }

    // Stop accepting at once: new clients are refused rather than left waiting.
    drop(listener);
    while tasks.try_join_next().is_some() {}
    tracing::info!(
        open_connections = tasks.len(),
        deadline_secs = limits.shutdown_deadline.as_secs(),
        "stopped accepting; finishing requests in flight"
    );
    let _ = stop.send(true);
    let drained = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_deadline, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            deadline_secs = limits.shutdown_deadline.as_secs(),
            "shutdown deadline passed: closing the remaining connections"
        );
    }
    tasks.shutdown().await;
    Ok(())
}

/// Serves one connection until it ends, has been idle for `idle_timeout`, or shutdown closes it:
/// at once when no request is in flight, after the response otherwise.
fn connection(
    http: &http1::Builder,
    mut stopping: watch::Receiver<bool>,
    app: &Router,
    stream: TcpStream,
    peer: SocketAddr,
    slot: OwnedSemaphorePermit,
    limits: Limits,
) -> impl Future<Output = ()> + Send + 'static {
    let _ = stream.set_nodelay(true);
    let activity = Activity::default();
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let app = app.clone();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let counter = in_flight.clone();
    let service = hyper::service::service_fn(move |mut req: axum::http::Request<Incoming>| {
        // Handlers extract the peer address with `ConnectInfo`, as `axum::serve` provides it.
        req.extensions_mut().insert(ConnectInfo(peer));
        let guard = InFlight::enter(&counter);
        let answer = app.clone().call(req);
        async move {
            let resp = answer.await?;
            Ok::<_, std::convert::Infallible>(resp.map(|inner| Guarded {
                inner,
                _guard: guard,
            }))
        }
    });
    let conn = http.serve_connection(io, service);
    async move {
        let _slot = slot;
        tokio::pin!(conn);
        let mut shutting_down = false;
        loop {
            let quiet = activity.quiet_for();
            if quiet >= limits.idle_timeout {
                tracing::debug!(%peer, "closing an idle connection");
                return;
            }
            tokio::select! {
                ended = conn.as_mut() => {
                    if let Err(e) = ended {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = tokio::time::sleep(limits.idle_timeout - quiet) => {}
                _ = stopping.changed(), if !shutting_down => {
                    shutting_down = true;
                    if in_flight.load(Ordering::Acquire) == 0 {
                        return;
                    }
                    // Answer the request in flight, then close.
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Counts a request as in flight from the moment hyper hands it over until its response body
/// has been sent (or dropped): the guard travels from the handler's future into the body.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight while it is being sent.
struct Guarded {
    inner: axum::body::Body,
    _guard: InFlight,
}

impl hyper::body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// File descriptors kept back from connections for the database pool (SQLite: three files per
/// pooled connection), logs and the listener.
const RESERVED_FDS: usize = 64;

/// `max` lowered to what the open-file limit (`ulimit -n`) allows: past it, accepting fails
/// with "too many open files" and, worse, the database pool cannot open a connection.
fn fit_to_open_file_limit(max: usize) -> usize {
    let Some(nofile) = open_file_limit() else {
        return max;
    };
    let fit = nofile.saturating_sub(RESERVED_FDS).max(nofile / 2).max(1);
    if fit >= max {
        return max;
    }
    tracing::warn!(
        max_connections = max,
        open_file_limit = nofile,
        serving = fit,
        "max_connections lowered to fit the open-file limit; raise `ulimit -n` to serve more"
    );
    fit
}

/// The soft limit on open files, where the system tells it (Linux `/proc`).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A condition that recurs while it lasts (limit reached, accept failing), logged once per
/// episode: an episode ends after a minute without the condition.
#[derive(Default)]
struct Episode {
    last_seen: Option<Instant>,
}

impl Episode {
    const QUIET: Duration = Duration::from_secs(60);

    /// Notes the condition; true when this starts a new episode.
    fn begins(&mut self) -> bool {
        let now = Instant::now();
        let new = self
            .last_seen
            .is_none_or(|t| now.duration_since(t) >= Self::QUIET);
        self.last_seen = Some(now);
        new
    }
}

fn is_client_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// When a connection last read or wrote a byte.
#[derive(Clone)]
struct Activity {
    since: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            since: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.since.elapsed().saturating_sub(last)
    }
}

/// A stream that notes each read and write in its [`Activity`].
struct Tracked {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
