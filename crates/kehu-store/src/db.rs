//! The database handle: SQLite (embedded default) or PostgreSQL (scale-out), chosen by the URL
//! scheme. Queries are built once with sea-query and rendered for the backend at hand, so the
//! stores hold one copy of each query.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, PgPool, Sqlite, SqliteConnection, SqlitePool};

pub use crate::statement::Statement;

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why [`Db::connect`] failed; each says what to fix in one line.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "unsupported database URL scheme in {0:?}: use sqlite://PATH or postgres://USER@HOST/DB"
    )]
    UnknownScheme(String),
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    #[error("cannot open the database: {0}")]
    Unreachable(String),
}

/// How the database is opened, beyond its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbOptions {
    /// SQLite: sync every commit to disk (`synchronous=FULL`), so that no acknowledged write
    /// is lost on power loss. `false` (`NORMAL`) is faster but may lose the last commits.
    pub sqlite_full_sync: bool,
    /// Connections read with at once (PostgreSQL: the pool; SQLite: the readers beside the one
    /// writer). `None`: [`default_pool_size`].
    pub pool_size: Option<u32>,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            sqlite_full_sync: true,
            pool_size: None,
        }
    }
}

/// Twice the cores this process may use, at least 4 and at most 16: the work of a query is
/// CPU (the data is in memory), and connections beyond what the cores can run only queue in
/// the operating system instead of in the pool. Measured on 2 cores with the sales board at a
/// million opportunities under 32 connections (bench/sales), PostgreSQL pools of 4, 8 and 16:
/// the board page at 1,071, 996 and 963 req/s (p99 43, 54, 66 ms), the list page at 1,058, 764
/// and 763 req/s.
pub fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    u32::try_from(cores.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .clamp(4, 16)
}

/// What the database's storage is known to be like, learnt from the errors operations meet;
/// and the writes through this handle, with the counts read since (`page::CountMemo`).
#[derive(Debug, Default)]
pub struct Health {
    /// A write failed because the disk (or the database's size limit) is full; cleared by the
    /// next write that succeeds.
    full: AtomicBool,
    /// PostgreSQL refused connections: requests fail at once instead of waiting for the pool,
    /// until the background probe connects again.
    down: AtomicBool,
    /// The background probe is running.
    probing: AtomicBool,
    /// Commits through this handle so far: a count read at one value still holds while it
    /// stays (see [`crate::page::CountMemo`]).
    writes: AtomicU64,
    /// The counts read since the last write, by statement.
    pub(crate) counts: crate::page::CountMemo,
}

/// The storage state `/readyz` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageState {
    Ready,
    Full,
    Unavailable,
}

/// SQLite: readers share a pool; every write goes through one connection ([`Writer`]), so
/// that concurrent writers queue in order instead of retrying on `SQLITE_BUSY`.
#[derive(Clone, Debug)]
pub struct SqlitePools {
    read: SqlitePool,
    writer: Arc<Writer>,
    /// The database file, to find out whether its disk has space again.
    path: std::path::PathBuf,
}

/// A pooled connection to either backend. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePools, Arc<Health>),
    Postgres(PgPool, Arc<Health>),
}

/// A row type decodable from both backends.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// Hides the secrets of a database URL for logs and messages: the password in the user
/// info, and the values of query parameters that hold one (`password=`, `sslpassword=`,
/// `token=`, `secret=`, `…key=` …).
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = redact_user_info(base);
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_secret_param(k) => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

fn redact_user_info(base: &str) -> String {
    match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &base[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &base[..s + 3], &creds[..c], &base[at..]),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    }
}

/// SQLite's primary result codes for a full disk or database (`SQLITE_FULL`), a read-only file
/// (`SQLITE_READONLY`) and an I/O error (`SQLITE_IOERR`), as sqlx reports them (the extended
/// code; its low byte is the primary one).
const SQLITE_FULL: i64 = 13;
const SQLITE_READONLY: i64 = 8;
const SQLITE_IOERR: i64 = 10;
const SQLITE_CANTOPEN: i64 = 14;

/// SQLite's "database is locked" (`SQLITE_BUSY`, any extended code).
fn is_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d)
        if d.code().and_then(|c| c.parse::<i64>().ok()).is_some_and(|c| c & 0xff == 5))
}

/// What an error says about the storage, if anything.
pub fn classify(e: &sqlx::Error) -> Option<StorageState> {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            Some(StorageState::Unavailable)
        }
        sqlx::Error::Database(d) => {
            let code = d.code()?;
            // PostgreSQL: class 53 (insufficient resources: 53100 disk_full), class 08
            // (connection exception), 57P0x (shutdown, cannot connect now).
            if code == "53100" {
                return Some(StorageState::Full);
            }
            if code.starts_with("08") || code.starts_with("57P0") || code.starts_with("53") {
                return Some(StorageState::Unavailable);
            }
            match code.parse::<i64>().ok()? & 0xff {
                SQLITE_FULL => Some(StorageState::Full),
                SQLITE_READONLY | SQLITE_IOERR | SQLITE_CANTOPEN => Some(StorageState::Unavailable),
                _ => None,
            }
        }
        _ => None,
    }
}

impl Health {
    /// Notes that a write went through (after its commit, so that a count read after this
    /// sees it).
    fn wrote<T>(&self, r: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if r.is_ok() {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        r
    }

    /// Notes what an operation's result says about the storage, and passes it on. Only a
    /// committed transaction shows that space is back (a small autocommit update may fit where
    /// an insert does not).
    fn observe<T>(&self, r: Result<T, sqlx::Error>, committed: bool) -> Result<T, sqlx::Error> {
        match &r {
            Ok(_) if committed => self.full.store(false, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => match classify(e) {
                Some(StorageState::Full) if !self.full.swap(true, Ordering::Relaxed) => {
                    tracing::error!(error = %e, "the database's storage is full: writes fail until space is freed");
                }
                // The server went away (a dead connection, a refused or timed-out connect):
                // fail fast until the probe reaches it again (PostgreSQL only, see check_up).
                Some(StorageState::Unavailable) => {
                    self.down.store(true, Ordering::Relaxed);
                }
                _ => {}
            },
        }
        r
    }
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "pwd", "token", "secret", "key", "auth"]
        .iter()
        .any(|s| name.contains(s))
}

impl Db {
    /// Opens a pool for `url` with the default options (see [`DbOptions`]).
    pub async fn connect(url: &str) -> Result<Db, ConnectError> {
        Self::connect_with(url, DbOptions::default()).await
    }

    /// Opens a pool for `url`: `sqlite://path` (created if missing) or `postgres://…`.
    pub async fn connect_with(url: &str, options: DbOptions) -> Result<Db, ConnectError> {
        let pool_size = options.pool_size.unwrap_or_else(default_pool_size);
        if url.starts_with("sqlite:") {
            let sync = if options.sqlite_full_sync {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            };
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| ConnectError::InvalidUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(sync)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Statement journals (an insert into a table with several indexes writes one
                // in a transaction) in memory, not in a temporary file: one write syscall per
                // page touched otherwise, which halved the audited-create throughput.
                .pragma("temp_store", "memory");
            let unreachable = |e: sqlx::Error| ConnectError::Unreachable(e.to_string());
            let path = opts.get_filename().to_path_buf();
            // The writer first: it creates the file and switches it to WAL. Another process
            // opening the same new file at the same moment holds it locked for that long: the
            // switch fails with SQLITE_BUSY at once (no busy handler there), so try again.
            let mut tries = 0;
            // The writer's page cache: a transaction that changes more pages than it holds
            // writes them to the WAL before it commits, and again each time it changes one of
            // them again. 64 MiB (SQLite's default is 2): the first loss scan at a million
            // customers, ten batches of 28,700 warnings, went from 10.3 s to 9.0 (its inserts
            // 2.5 s to 1.7). The readers keep the default: they change nothing.
            let write_opts = opts.clone().pragma("cache_size", "-65536");
            let write = loop {
                let opened = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(write_opts.clone())
                    .await;
                match opened {
                    Err(e) if is_busy(&e) && tries < 100 => {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(20 + 10 * tries)).await;
                    }
                    other => break other.map_err(unreachable)?,
                }
            };
            let read = SqlitePoolOptions::new()
                .max_connections(pool_size)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .map_err(unreachable)?;
            let writer = Arc::new(Writer::new(write));
            Ok(Db::Sqlite(
                SqlitePools { read, writer, path },
                Arc::default(),
            ))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| ConnectError::InvalidUrl(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(pool_size)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(opts)
                .await
                .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
            Ok(Db::Postgres(pool, Arc::default()))
        } else {
            Err(ConnectError::UnknownScheme(redact_url(url)))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(..) => Backend::Postgres,
        }
    }

    fn health(&self) -> &Arc<Health> {
        match self {
            Db::Sqlite(_, h) | Db::Postgres(_, h) => h,
        }
    }

    /// Where to check, while an operation waits for a connection, whether PostgreSQL is down.
    fn refusal_guard(&self) -> Option<(String, u16)> {
        match self {
            Db::Postgres(p, _) => {
                let o = p.connect_options();
                let host = o.get_host();
                // A Unix socket refuses in its own way: no TCP check there.
                (!host.starts_with('/')).then(|| (host.to_owned(), o.get_port()))
            }
            Db::Sqlite(..) => None,
        }
    }

    /// Fails at once while PostgreSQL is known to refuse connections (the pool would retry
    /// until its timeout); a background probe notices when it is back.
    fn check_up(&self) -> Result<(), sqlx::Error> {
        match self {
            Db::Postgres(pool, h) if h.down.load(Ordering::Relaxed) => {
                spawn_probe(pool.clone(), h.clone());
                Err(sqlx::Error::PoolTimedOut)
            }
            _ => Ok(()),
        }
    }

    /// Round-trips a trivial query: the readiness probe.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        self.check_up()?;
        let r = guard_refused(self.refusal_guard(), async {
            match self {
                Db::Sqlite(p, _) => sqlx::query("SELECT 1").execute(&p.read).await.map(drop),
                Db::Postgres(p, _) => sqlx::query("SELECT 1").execute(p).await.map(drop),
            }
        })
        .await;
        self.health().observe(r, false)
    }

    /// What `/readyz` reports. While the storage is known to be full, a small write (in a
    /// transaction that is committed) finds out whether space is back.
    pub async fn storage_state(&self) -> StorageState {
        if self.ping().await.is_err() {
            return StorageState::Unavailable;
        }
        if !self.health().full.load(Ordering::Relaxed) {
            return StorageState::Ready;
        }
        let probe = match self {
            // SQLite may fit a small update into pages it already has while an insert fails:
            // ask the disk itself whether a megabyte fits beside the database.
            Db::Sqlite(p, _) => probe_space(&p.path).await,
            // PostgreSQL writes a new row version for any update: a committed one needs space.
            Db::Postgres(..) => async {
                let mut tx = self.begin().await?;
                tx.execute_raw("UPDATE kehu_migrations SET name = name WHERE version = 1")
                    .await?;
                tx.commit().await
            }
            .await
            .map_err(|e| classify(&e).unwrap_or(StorageState::Unavailable)),
        };
        match probe {
            Ok(()) => {
                self.health().full.store(false, Ordering::Relaxed);
                StorageState::Ready
            }
            Err(state) => state,
        }
    }

    /// Starts a write transaction. SQLite takes the write lock at once (`BEGIN IMMEDIATE`) on
    /// the one write connection, so concurrent writers queue for it in order.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.check_up()?;
        let r = guard_refused(self.refusal_guard(), async {
            match self {
                Db::Sqlite(p, h) => SqliteTx::begin(&p.writer, h.clone()).await.map(Tx::Sqlite),
                Db::Postgres(p, h) => p.begin().await.map(|t| Tx::Postgres(t, h.clone())),
            }
        })
        .await;
        self.health().observe(r, false)
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p, _) => {
                p.writer.close().await;
                p.read.close().await;
            }
            Db::Postgres(p, _) => p.close().await,
        }
    }
}

/// Writes (and removes) a megabyte beside the SQLite file: `Full` when it does not fit.
async fn probe_space(db_file: &std::path::Path) -> Result<(), StorageState> {
    let probe = db_file.with_extension("space-probe");
    let written = tokio::task::spawn_blocking(move || {
        let r = std::fs::write(&probe, vec![0u8; 1 << 20])
            .and_then(|()| std::fs::File::open(&probe)?.sync_all());
        let _ = std::fs::remove_file(&probe);
        r
    })
    .await;
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::StorageFull => Err(StorageState::Full),
        _ => Err(StorageState::Unavailable),
    }
}

/// Runs `op`; if it is still waiting after a moment (the pool retries a refused connection
/// until its timeout), a direct TCP connection to the server finds out whether it is down,
/// and if it refuses, the operation fails at once instead of waiting seconds for the pool.
async fn guard_refused<T>(
    guard: Option<(String, u16)>,
    op: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    let Some((host, port)) = guard else {
        return op.await;
    };
    let refused = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let tried = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await;
        match tried {
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => e,
            _ => std::future::pending().await,
        }
    };
    tokio::select! {
        r = op => r,
        e = refused => Err(sqlx::Error::Io(e)),
    }
}

/// Connects in the background until PostgreSQL answers again, then lets requests through.
fn spawn_probe(pool: PgPool, health: Arc<Health>) {
    if health.probing.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(async move {
        while health.down.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let opts = pool.connect_options();
            let tried = tokio::time::timeout(
                Duration::from_secs(2),
                sqlx::ConnectOptions::connect(&*opts),
            )
            .await;
            if let Ok(Ok(conn)) = tried {
                let _ = sqlx::Connection::close(conn).await;
                health.down.store(false, Ordering::Relaxed);
                tracing::info!("PostgreSQL answers again");
            }
        }
        health.probing.store(false, Ordering::Release);
    });
}

/// The one SQLite write connection, with group commit. Each write transaction runs as a
/// savepoint inside an outer transaction; when a writer is done and nobody else is queued, the
/// outer transaction commits (one fsync for the whole group), and every writer of the group
/// learns the outcome before it answers its client. So a burst of concurrent writers shares
/// fsyncs instead of paying one each, and no writer is told "saved" before the data is on disk.
#[derive(Debug)]
pub struct Writer {
    pool: SqlitePool,
    state: Arc<tokio::sync::Mutex<WriterState>>,
    /// Writers queued for the connection (a writer that sees none commits the group itself).
    waiting: AtomicUsize,
}

#[derive(Debug, Default)]
struct WriterState {
    conn: Option<PoolConnection<Sqlite>>,
    batch: Option<Batch>,
    next_batch: u64,
}

/// An open outer transaction and the writers whose savepoints it holds.
#[derive(Debug)]
struct Batch {
    id: u64,
    members: usize,
    flusher: bool,
    done: tokio::sync::watch::Sender<Option<Result<(), BatchError>>>,
}

/// Why a group's COMMIT failed, told to each of its writers (sqlx errors cannot be cloned).
#[derive(Debug, Clone)]
struct BatchError {
    full: bool,
    message: String,
}

impl BatchError {
    fn of(e: &sqlx::Error) -> Self {
        Self {
            full: classify(e) == Some(StorageState::Full),
            message: e.to_string(),
        }
    }

    fn into_sqlx(self) -> sqlx::Error {
        let kind = if self.full {
            std::io::ErrorKind::StorageFull
        } else {
            std::io::ErrorKind::Other
        };
        sqlx::Error::Io(std::io::Error::new(kind, self.message))
    }
}

/// Counts a queued writer until it gets the connection (or gives up waiting).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Self(n)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

type Guard = tokio::sync::OwnedMutexGuard<WriterState>;

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sql).execute(conn).await.map(drop)
}

impl WriterState {
    fn conn(&mut self) -> Result<&mut SqliteConnection, sqlx::Error> {
        self.conn.as_deref_mut().ok_or(sqlx::Error::WorkerCrashed)
    }

    /// Commits the open group, tells its writers, and returns the outcome.
    async fn commit_batch(&mut self) -> Result<(), sqlx::Error> {
        let Some(batch) = self.batch.take() else {
            return Ok(());
        };
        let r = match self.conn() {
            Ok(c) => exec(c, "COMMIT").await,
            Err(e) => Err(e),
        };
        if let Err(e) = &r {
            self.discard().await;
            let _ = batch.done.send(Some(Err(BatchError::of(e))));
        } else {
            let _ = batch.done.send(Some(Ok(())));
        }
        r
    }

    /// Gives up the open group (its writers are told it failed) and the connection: after a
    /// failed COMMIT or ROLLBACK its state is not known, so it is closed, never pooled again.
    async fn abort(&mut self, why: &sqlx::Error) {
        if let Some(batch) = self.batch.take() {
            let _ = batch.done.send(Some(Err(BatchError::of(why))));
        }
        self.discard().await;
    }

    async fn discard(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            // SQLite may or may not have rolled back by itself (e.g. on a full disk).
            let _ = exec(&mut conn, "ROLLBACK").await;
            conn.close_on_drop();
        }
    }
}

impl Writer {
    fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            state: Arc::default(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The connection, once every writer queued before has finished with it.
    async fn lock(&self) -> Result<Guard, sqlx::Error> {
        let mut g = {
            let _queued = Queued::new(&self.waiting);
            self.state.clone().lock_owned().await
        };
        if g.conn.is_none() {
            g.conn = Some(self.pool.acquire().await?);
        }
        Ok(g)
    }

    /// Runs `sql` outside any group (e.g. `VACUUM INTO`, which cannot run in a transaction),
    /// after committing the open group.
    async fn exclusive(&self, sql: String) -> Result<(), sqlx::Error> {
        let mut g = self.lock().await?;
        g.commit_batch().await?;
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(g.conn()?)
            .await
            .map(drop)
    }

    async fn close(&self) {
        let mut g = self.state.clone().lock_owned().await;
        let _ = g.commit_batch().await;
        g.conn = None;
        self.pool.close().await;
    }
}

/// A SQLite write transaction: the first of a group is the group's own transaction; each
/// later one a savepoint in it. Dropped without [`Tx::commit`] (an error path), the first
/// rolls the group back (nobody else is in it yet), a later one its savepoint, and the group
/// goes on.
///
/// The first writer takes no savepoint because SQLite keeps a savepoint's sub-journal in
/// memory as a list of chunks that every statement's end walks from its start: a big write
/// (an import batch touching thousands of index pages) spent a third of its time there and
/// held the pages' copies in memory.
pub struct SqliteTx {
    guard: Option<Guard>,
    writer: Arc<Writer>,
    health: Arc<Health>,
    /// Runs inside `SAVEPOINT kehu_tx` (not the group's first writer).
    savepoint: bool,
}

impl SqliteTx {
    async fn begin(writer: &Arc<Writer>, health: Arc<Health>) -> Result<Self, sqlx::Error> {
        let mut g = writer.lock().await?;
        let first = g.batch.is_none();
        if first {
            if let Err(e) = exec(g.conn()?, "BEGIN IMMEDIATE").await {
                g.abort(&e).await;
                return Err(e);
            }
            g.next_batch += 1;
            let (done, _) = tokio::sync::watch::channel(None);
            g.batch = Some(Batch {
                id: g.next_batch,
                members: 0,
                flusher: false,
                done,
            });
        }
        if !first && let Err(e) = exec(g.conn()?, "SAVEPOINT kehu_tx").await {
            g.abort(&e).await;
            return Err(e);
        }
        Ok(Self {
            guard: Some(g),
            writer: writer.clone(),
            health,
            savepoint: !first,
        })
    }

    fn conn(&mut self) -> Result<&mut SqliteConnection, sqlx::Error> {
        self.guard
            .as_deref_mut()
            .ok_or(sqlx::Error::WorkerCrashed)?
            .conn()
    }

    /// Keeps this transaction's changes in the group and waits until the group is on disk.
    async fn commit(mut self) -> Result<(), sqlx::Error> {
        let mut g = self.guard.take().ok_or(sqlx::Error::WorkerCrashed)?;
        if self.savepoint
            && let Err(e) = exec(g.conn()?, "RELEASE kehu_tx").await
        {
            g.abort(&e).await;
            return self.health.observe(Err(e), true);
        }
        let Some(batch) = g.batch.as_mut() else {
            return Err(sqlx::Error::WorkerCrashed);
        };
        batch.members += 1;
        if self.writer.waiting.load(Ordering::SeqCst) == 0 {
            let r = g.commit_batch().await;
            return self.health.observe(r, true);
        }
        // Others are queued: one of them (or the flusher) commits the group.
        let mut done = batch.done.subscribe();
        if !batch.flusher {
            batch.flusher = true;
            spawn_flusher(self.writer.clone(), batch.id);
        }
        drop(g);
        let outcome = loop {
            if let Some(r) = done.borrow_and_update().clone() {
                break r;
            }
            if done.changed().await.is_err() {
                break Err(BatchError {
                    full: false,
                    message: "the write group ended without an outcome".into(),
                });
            }
        };
        self.health
            .observe(outcome.map_err(BatchError::into_sqlx), true)
    }
}

/// Commits group `id` once the writers queued before it are done, unless one did already.
fn spawn_flusher(writer: Arc<Writer>, id: u64) {
    tokio::spawn(async move {
        let Ok(mut g) = writer.lock().await else {
            return;
        };
        if g.batch.as_ref().is_some_and(|b| b.id == id) {
            let _ = g.commit_batch().await;
        }
    });
}

impl Drop for SqliteTx {
    /// Rolls back this transaction's savepoint (an error path), off the caller's task; an
    /// empty group with nobody queued is ended so the database is not left locked.
    fn drop(&mut self) {
        let Some(mut g) = self.guard.take() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            // No runtime to roll back on: closing the connection rolls everything back (and
            // the group's other writers learn that it failed).
            g.batch = None;
            if let Some(mut c) = g.conn.take() {
                c.close_on_drop();
            }
            return;
        };
        let writer = self.writer.clone();
        let savepoint = self.savepoint;
        rt.spawn(async move {
            if !savepoint {
                // The group's first writer: the group holds nothing else, it goes whole.
                g.batch = None;
                if let Ok(c) = g.conn()
                    && exec(c, "ROLLBACK").await.is_ok()
                {
                    return;
                }
                g.discard().await;
                return;
            }
            let undone = match g.conn() {
                Ok(c) => match exec(c, "ROLLBACK TO kehu_tx").await {
                    Ok(()) => exec(c, "RELEASE kehu_tx").await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            match undone {
                Err(e) => g.abort(&e).await,
                Ok(()) => {
                    let empty = g.batch.as_ref().is_some_and(|b| b.members == 0);
                    if empty && writer.waiting.load(Ordering::SeqCst) == 0 {
                        g.batch = None;
                        if let Ok(c) = g.conn()
                            && exec(c, "ROLLBACK").await.is_err()
                        {
                            g.discard().await;
                        }
                    }
                }
            }
        });
    }
}

/// A transaction on either backend; dropped without [`Tx::commit`] it rolls back.
pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>, Arc<Health>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => {
                let h = t.health.clone();
                h.wrote(t.commit().await)
            }
            Tx::Postgres(t, h) => h.wrote(h.observe(t.commit().await, true)),
        }
    }

    fn health(&self) -> &Arc<Health> {
        match self {
            Tx::Sqlite(t) => &t.health,
            Tx::Postgres(_, h) => h,
        }
    }

    /// A transaction exists, so the database was up when it began.
    fn check_up(&self) -> Result<(), sqlx::Error> {
        Ok(())
    }

    /// A transaction holds its connection: nothing to wait for.
    fn refusal_guard(&self) -> Option<(String, u16)> {
        None
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(..) => Backend::Postgres,
        }
    }

    /// Serialises, for the rest of the transaction, the work `lock` names across every kehu
    /// process on the database. SQLite's writer already admits one transaction at a time;
    /// PostgreSQL takes a transaction-scoped advisory lock.
    pub async fn lock(&mut self, lock: TxLock) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(_) => Ok(()),
            Tx::Postgres(t, _) => sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock.key())
                .execute(&mut **t)
                .await
                .map(drop),
        }
    }
}

/// What a transaction may serialise with [`Tx::lock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxLock {
    /// Migrations, seed data and the first administrator: instances starting together take
    /// turns.
    Startup,
    /// Administrative changes (users, roles) whose checks read more than the row they write,
    /// e.g. "is another administrator left?".
    AdminChanges,
    /// Automatic distribution of new work (services to handlers): who is next, or least
    /// loaded, is read and taken by one creation at a time.
    Distribution,
}

impl TxLock {
    const fn key(self) -> i64 {
        match self {
            TxLock::Startup => 7_303_243,
            TxLock::AdminChanges => 4_855_421,
            TxLock::Distribution => 3_217_885,
        }
    }
}

/// The ways to read with a built statement, written once for pools and transactions alike.
macro_rules! read_methods {
    ($ty:ty, [$($recv:tt)+], $s:ident, [$scrut:expr], $lite:pat => $lconn:expr, $pg:pat => $pconn:expr) => {
        impl $ty {
            pub async fn fetch_all<T: Row>($($recv)+, stmt: &impl Statement) -> Result<Vec<T>, sqlx::Error> {
                $s.check_up()?;
                let guard = $s.refusal_guard();
                let r = guard_refused(guard, async { match $scrut {
                    $lite => {
                        let (sql, v) = stmt.sql(SqliteQueryBuilder);
                        sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_all($lconn).await
                    }
                    $pg => {
                        let (sql, v) = stmt.sql(PostgresQueryBuilder);
                        sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_all($pconn).await
                    }
                } }).await;
                $s.health().observe(r, false)
            }

            /// The row `stmt` finds; none is [`DomainError::NotFound`] (a 404 to the caller).
            pub async fn fetch_found<T: Row>($($recv)+, stmt: &impl Statement) -> crate::StoreResult<T> {
                $s.fetch_optional(stmt).await?.ok_or_else(|| kehu_domain::DomainError::NotFound.into())
            }

            pub async fn fetch_optional<T: Row>($($recv)+, stmt: &impl Statement) -> Result<Option<T>, sqlx::Error> {
                $s.check_up()?;
                let guard = $s.refusal_guard();
                let r = guard_refused(guard, async { match $scrut {
                    $lite => {
                        let (sql, v) = stmt.sql(SqliteQueryBuilder);
                        sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_optional($lconn).await
                    }
                    $pg => {
                        let (sql, v) = stmt.sql(PostgresQueryBuilder);
                        sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_optional($pconn).await
                    }
                } }).await;
                $s.health().observe(r, false)
            }
        }
    };
}

// Reads outside a transaction go to the readers.
read_methods!(Db, [&self], self, [self], Db::Sqlite(p, _) => &p.read, Db::Postgres(p, _) => p);
read_methods!(Tx, [&mut self], self, [&mut *self], Tx::Sqlite(t) => t.conn()?, Tx::Postgres(t, _) => &mut **t);

impl Db {
    /// Runs a statement; returns the number of rows affected. On SQLite it is a transaction of
    /// its own on the writer (so it is durable and in order with the other writes).
    pub async fn execute(&self, stmt: &impl Statement) -> Result<u64, sqlx::Error> {
        match self {
            Db::Sqlite(..) => {
                let mut tx = self.begin().await?;
                let n = tx.execute(stmt).await?;
                tx.commit().await?;
                Ok(n)
            }
            Db::Postgres(p, h) => {
                self.check_up()?;
                let (sql, v) = stmt.sql(PostgresQueryBuilder);
                let r = guard_refused(self.refusal_guard(), async {
                    sqlx::query_with(AssertSqlSafe(sql), v)
                        .execute(p)
                        .await
                        .map(|r| r.rows_affected())
                })
                .await;
                h.wrote(h.observe(r, false))
            }
        }
    }

    /// Runs raw SQL without parameters (migrations, pragmas, `VACUUM INTO`); on SQLite outside
    /// any transaction, after the open write group is committed.
    pub async fn execute_raw(&self, sql: &str) -> Result<(), sqlx::Error> {
        self.check_up()?;
        let r = match self {
            Db::Sqlite(p, _) => p.writer.exclusive(sql.to_owned()).await,
            Db::Postgres(p, _) => {
                guard_refused(self.refusal_guard(), async {
                    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                        .execute(p)
                        .await
                        .map(drop)
                })
                .await
            }
        };
        let h = self.health();
        h.wrote(h.observe(r, false))
    }

    /// How many writes went through this handle so far (see [`crate::page::CountMemo`]).
    pub(crate) fn writes(&self) -> u64 {
        self.health().writes.load(Ordering::SeqCst)
    }

    /// The counts read on this database since its last write (see [`crate::page::CountMemo`]).
    pub(crate) fn counts(&self) -> &crate::page::CountMemo {
        &self.health().counts
    }

    /// Brings PostgreSQL's statistics of `tables` up to date (`ANALYZE`), after a bulk write
    /// changed their size: the planner otherwise goes on planning for the tables as they were
    /// (with autovacuum off, or before it comes round, an import's duplicate lookups at
    /// 130,000 customers took 20 s each, planned for 41). Nothing on SQLite, whose planner
    /// does not change its mind for statistics (measured with 3.51). Table names are the
    /// callers' own identifiers (lower-case letters and `_`); others are refused.
    pub async fn analyze(&self, tables: &[&str]) -> Result<(), sqlx::Error> {
        self.on_postgres(tables, "ANALYZE").await
    }

    /// After a bulk load of `tables` (`kehu demo` at scale): [`Db::analyze`] and, on
    /// PostgreSQL, marks their pages all-visible (`VACUUM (ANALYZE)`), as autovacuum does in
    /// its own time. Until then every index-only count reads the table's rows too: a handler's
    /// queue of 1,500 services at a million counted in 2.4 ms instead of 0.4, and the home page
    /// that counts three of them answered 227 requests a second instead of 415. Nothing on
    /// SQLite, whose indexes need no visibility map.
    pub async fn vacuum(&self, tables: &[&str]) -> Result<(), sqlx::Error> {
        self.on_postgres(tables, "VACUUM (ANALYZE)").await
    }

    /// `command tables…` on PostgreSQL (some of `tables`); nothing on SQLite.
    async fn on_postgres(&self, tables: &[&str], command: &str) -> Result<(), sqlx::Error> {
        if self.backend() == Backend::Sqlite || tables.is_empty() {
            return Ok(());
        }
        table_names(tables)?;
        self.execute_raw(&format!("{command} {}", tables.join(", ")))
            .await
    }

    /// After a bulk write to `tables` (an import's end): on PostgreSQL, merges the pending
    /// lists of their GIN indexes (which every search reads through until VACUUM merges them;
    /// none may run soon) and renews their statistics. Nothing on SQLite.
    pub async fn settle(&self, tables: &[&str]) -> Result<(), sqlx::Error> {
        table_names(tables)?;
        if self.backend() == Backend::Sqlite || tables.is_empty() {
            return Ok(());
        }
        let list = tables
            .iter()
            .map(|t| format!("'{t}'::regclass"))
            .collect::<Vec<_>>()
            .join(", ");
        self.execute_raw(&format!(
            "SELECT gin_clean_pending_list(i.indexrelid::regclass) FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam \
             WHERE a.amname = 'gin' AND i.indrelid IN ({list})"
        ))
        .await?;
        self.analyze(tables).await
    }
}

/// `tables` as they may be written into a statement: lower-case letters and `_` only.
fn table_names(tables: &[&str]) -> Result<(), sqlx::Error> {
    let valid = |t: &&str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if tables.iter().all(valid) {
        Ok(())
    } else {
        Err(sqlx::Error::Protocol("not a table name".into()))
    }
}

impl Tx {
    /// Runs a statement; returns the number of rows affected.
    pub async fn execute(&mut self, stmt: &impl Statement) -> Result<u64, sqlx::Error> {
        let r = match self {
            Tx::Sqlite(t) => {
                let (sql, v) = stmt.sql(SqliteQueryBuilder);
                sqlx::query_with(AssertSqlSafe(sql), v)
                    .execute(t.conn()?)
                    .await
                    .map(|r| r.rows_affected())
            }
            Tx::Postgres(t, _) => {
                let (sql, v) = stmt.sql(PostgresQueryBuilder);
                sqlx::query_with(AssertSqlSafe(sql), v)
                    .execute(&mut **t)
                    .await
                    .map(|r| r.rows_affected())
            }
        };
        self.health().observe(r, false)
    }

    /// Runs raw SQL without parameters (migrations).
    pub async fn execute_raw(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        let r = match self {
            Tx::Sqlite(t) => sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                .execute(t.conn()?)
                .await
                .map(drop),
            Tx::Postgres(t, _) => sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                .execute(&mut **t)
                .await
                .map(drop),
        };
        self.health().observe(r, false)
    }
}

impl Db {
    pub async fn fetch_one<T: Row>(&self, stmt: &impl Statement) -> Result<T, sqlx::Error> {
        self.fetch_optional(stmt)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
}

impl Tx {
    pub async fn fetch_one<T: Row>(&mut self, stmt: &impl Statement) -> Result<T, sqlx::Error> {
        self.fetch_optional(stmt)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://kehu.db"), "sqlite://kehu.db");
    }

    #[test]
    fn secrets_in_the_query_string_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact_url(
                "postgres://u:pw@h/db?sslmode=require&password=a%40b&sslpassword=k&token=t&client_secret=s&options[search_path]=x"
            ),
            "postgres://u:***@h/db?sslmode=require&password=***&sslpassword=***&token=***&client_secret=***&options[search_path]=x"
        );
        assert_eq!(
            redact_url("postgres://h/db?user=u&Password=pw"),
            "postgres://h/db?user=u&Password=***"
        );
        // An `@` in the query is not mistaken for the end of the user info.
        assert_eq!(
            redact_url("postgres://u@h/db?application_name=a@b&apikey=z"),
            "postgres://u@h/db?application_name=a@b&apikey=***"
        );
        assert_eq!(
            redact_url("sqlite://kehu.db?mode=rwc"),
            "sqlite://kehu.db?mode=rwc"
        );
    }

    /// The values in table `t`, in order.
    async fn values(db: &Db) -> Vec<i64> {
        let q = sea_query::Query::select()
            .column(sea_query::Alias::new("v"))
            .from(sea_query::Alias::new("t"))
            .order_by(sea_query::Alias::new("v"), sea_query::Order::Asc)
            .to_owned();
        let rows: Vec<(i64,)> = db.fetch_all(&q).await.unwrap();
        rows.into_iter().map(|r| r.0).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sqlite_writer_that_fails_undoes_its_own_writes_and_no_one_elses() {
        let dir = std::env::temp_dir().join(format!("kehu-db-writers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("w.db").display());
        let db = Db::connect_with(&url, DbOptions::default()).await.unwrap();
        db.execute_raw("CREATE TABLE t (v INTEGER NOT NULL)")
            .await
            .unwrap();

        // Arrange + Act: the first writer of a group (no savepoint of its own) gives up.
        let mut tx = db.begin().await.unwrap();
        tx.execute_raw("INSERT INTO t VALUES (1)").await.unwrap();
        drop(tx);
        // Forty writers at once, every third giving up after its insert: groups form with
        // first writers and savepoint members both failing.
        let writers = (2..42).map(|v| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await?;
                tx.execute_raw(&format!("INSERT INTO t VALUES ({v})"))
                    .await?;
                tokio::task::yield_now().await;
                if v % 3 == 0 {
                    drop(tx);
                    return Ok(());
                }
                tx.commit().await
            })
        });
        for w in writers.collect::<Vec<_>>() {
            w.await.unwrap().unwrap();
        }
        let mut tx = db.begin().await.unwrap();
        tx.execute_raw("INSERT INTO t VALUES (100)").await.unwrap();
        tx.commit().await.unwrap();

        // Assert: exactly the committed rows, also after reopening the file.
        let kept: Vec<i64> = (2..42).filter(|v| v % 3 != 0).chain([100]).collect();
        assert_eq!(values(&db).await, kept);
        db.close().await;
        let db = Db::connect_with(&url, DbOptions::default()).await.unwrap();
        assert_eq!(values(&db).await, kept);
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `.cargo/config.toml` builds the bundled SQLite with the planner's stability guarantee
    /// (else every list's bound `LIMIT ?` expires its cached statement: parsed and planned
    /// again on each execution) and without memory statistics (a global mutex per allocation).
    #[tokio::test]
    async fn sqlite_is_built_to_plan_each_statement_once() {
        let dir = std::env::temp_dir().join(format!("kehu-db-build-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("b.db").display());
        let db = Db::connect_with(&url, DbOptions::default()).await.unwrap();
        let q = sea_query::Query::select()
            .column(sea_query::Alias::new("compile_options"))
            .from(sea_query::Alias::new("pragma_compile_options"))
            .to_owned();
        let rows: Vec<(String,)> = db.fetch_all(&q).await.unwrap();
        let options: Vec<String> = rows.into_iter().map(|r| r.0).collect();
        for want in ["ENABLE_QPSG", "DEFAULT_MEMSTATUS=0"] {
            assert!(options.iter().any(|o| o == want), "{want} in {options:?}");
        }
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn an_unknown_scheme_names_the_schemes_that_work() {
        let err = Db::connect("mysql://u:pw@h/db")
            .await
            .err()
            .map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(
            msg.contains("sqlite://") && msg.contains("postgres://"),
            "{msg}"
        );
        assert!(!msg.contains("pw"), "{msg}");
    }
}
