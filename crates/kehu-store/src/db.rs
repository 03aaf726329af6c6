//! The database handle: SQLite (embedded default) or PostgreSQL (scale-out), chosen by the URL
//! scheme. Queries are built once with sea-query and rendered for the backend at hand, so the
//! stores hold one copy of each query.

use std::str::FromStr;
use std::time::Duration;

use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, PgPool, SqlitePool};

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

/// A pooled connection to either backend. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
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

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "pwd", "token", "secret", "key", "auth"]
        .iter()
        .any(|s| name.contains(s))
}

impl Db {
    /// Opens a pool for `url`: `sqlite://path` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db, ConnectError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| ConnectError::InvalidUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| ConnectError::InvalidUrl(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(opts)
                .await
                .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
            Ok(Db::Postgres(pool))
        } else {
            Err(ConnectError::UnknownScheme(redact_url(url)))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Round-trips a trivial query: the readiness probe.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(drop),
            Db::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(drop),
        }
    }

    /// Starts a write transaction. SQLite takes the write lock at once (`BEGIN IMMEDIATE`) so
    /// that two concurrent writers wait on `busy_timeout` instead of failing on upgrade.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// A transaction on either backend; dropped without [`Tx::commit`] it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

/// The four ways to run a built statement, written once for pools and transactions alike.
macro_rules! executor_methods {
    ($ty:ty, [$($recv:tt)+], $s:ident, |$c:ident| $conn:expr) => {
        impl $ty {
            /// Runs a statement; returns the number of rows affected.
            pub async fn execute($($recv)+, stmt: &impl SqlxBinder) -> Result<u64, sqlx::Error> {
                match $s {
                    Self::Sqlite($c) => {
                        let (sql, v) = stmt.build_sqlx(SqliteQueryBuilder);
                        Ok(sqlx::query_with(AssertSqlSafe(sql), v).execute($conn).await?.rows_affected())
                    }
                    Self::Postgres($c) => {
                        let (sql, v) = stmt.build_sqlx(PostgresQueryBuilder);
                        Ok(sqlx::query_with(AssertSqlSafe(sql), v).execute($conn).await?.rows_affected())
                    }
                }
            }

            pub async fn fetch_all<T: Row>($($recv)+, stmt: &impl SqlxBinder) -> Result<Vec<T>, sqlx::Error> {
                match $s {
                    Self::Sqlite($c) => {
                        let (sql, v) = stmt.build_sqlx(SqliteQueryBuilder);
                        sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_all($conn).await
                    }
                    Self::Postgres($c) => {
                        let (sql, v) = stmt.build_sqlx(PostgresQueryBuilder);
                        sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_all($conn).await
                    }
                }
            }

            pub async fn fetch_optional<T: Row>($($recv)+, stmt: &impl SqlxBinder) -> Result<Option<T>, sqlx::Error> {
                match $s {
                    Self::Sqlite($c) => {
                        let (sql, v) = stmt.build_sqlx(SqliteQueryBuilder);
                        sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_optional($conn).await
                    }
                    Self::Postgres($c) => {
                        let (sql, v) = stmt.build_sqlx(PostgresQueryBuilder);
                        sqlx::query_as_with::<_, T, _>(AssertSqlSafe(sql), v).fetch_optional($conn).await
                    }
                }
            }

            /// Runs raw SQL without parameters (migrations, pragmas).
            pub async fn execute_raw($($recv)+, sql: &str) -> Result<(), sqlx::Error> {
                match $s {
                    Self::Sqlite($c) => sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute($conn).await.map(drop),
                    Self::Postgres($c) => sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute($conn).await.map(drop),
                }
            }
        }
    };
}

executor_methods!(Db, [&self], self, |p| p);
executor_methods!(Tx, [&mut self], self, |t| &mut **t);

impl Db {
    pub async fn fetch_one<T: Row>(&self, stmt: &impl SqlxBinder) -> Result<T, sqlx::Error> {
        self.fetch_optional(stmt)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
}

impl Tx {
    pub async fn fetch_one<T: Row>(&mut self, stmt: &impl SqlxBinder) -> Result<T, sqlx::Error> {
        self.fetch_optional(stmt)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
}

#[cfg(test)]
mod tests {
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
