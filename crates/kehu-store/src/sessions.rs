//! Server-side sessions, stored in the database so that several kehu processes on one
//! PostgreSQL share them. Only a hash of the cookie value is stored. A session ends when it
//! has been idle too long or, whatever its activity, when it reaches its absolute lifetime;
//! every method takes `now` so that tests can move time.

use chrono::{DateTime, Duration, Utc};
use sea_query::{Expr, ExprTrait, Query};

use crate::db::{Db, Tx};
use crate::error::StoreResult;
use crate::schema::Sessions;

#[derive(Clone, sqlx::FromRow)]
pub struct Session {
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// The token hash and the CSRF token are secrets: never in logs.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("token_hash", &"***")
            .field("user_id", &self.user_id)
            .field("csrf_token", &"***")
            .field("expires_at", &self.expires_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish()
    }
}

/// How long sessions live: `idle` after the last use, and never more than `absolute` after
/// sign-in (a stolen session cannot be kept alive forever by using it).
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Lifetime {
    /// The expiry of a session created at `created_at` and used at `now`: the idle slide,
    /// stopped at the absolute end.
    pub fn expiry(&self, created_at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        std::cmp::min(now + self.idle, created_at + self.absolute)
    }
}

/// A session to start: the hash of its cookie, whose it is, and where it comes from.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

#[derive(Clone, Debug)]
pub struct SessionStore {
    db: Db,
}

impl SessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Starts a session at `now`.
    pub async fn create(
        &self,
        new: &NewSession<'_>,
        now: DateTime<Utc>,
        lifetime: Lifetime,
    ) -> StoreResult<()> {
        let expires_at = lifetime.expiry(now, now);
        let ua = new
            .user_agent
            .map(|s| s.chars().take(255).collect::<String>());
        self.db
            .execute(
                Query::insert()
                    .into_table(Sessions::Table)
                    .columns([
                        Sessions::TokenHash,
                        Sessions::UserId,
                        Sessions::CsrfToken,
                        Sessions::CreatedAt,
                        Sessions::ExpiresAt,
                        Sessions::LastSeenAt,
                        Sessions::Ip,
                        Sessions::UserAgent,
                    ])
                    .values_panic([
                        new.token_hash.into(),
                        new.user_id.into(),
                        new.csrf_token.into(),
                        Expr::val(now),
                        Expr::val(expires_at),
                        Expr::val(now),
                        new.ip.map(str::to_owned).into(),
                        ua.into(),
                    ]),
            )
            .await?;
        Ok(())
    }

    /// The live session with this token hash at `now`, if any.
    pub async fn find(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        lifetime: Lifetime,
    ) -> StoreResult<Option<Session>> {
        Ok(self
            .db
            .fetch_optional(
                Query::select()
                    .columns([
                        Sessions::TokenHash,
                        Sessions::UserId,
                        Sessions::CsrfToken,
                        Sessions::CreatedAt,
                        Sessions::ExpiresAt,
                        Sessions::LastSeenAt,
                    ])
                    .from(Sessions::Table)
                    .and_where(Expr::col(Sessions::TokenHash).eq(token_hash))
                    .and_where(Expr::col(Sessions::ExpiresAt).gt(now))
                    // Also checked here, not only through expires_at: a session created
                    // under a longer absolute lifetime ends when the setting is lowered.
                    .and_where(Expr::col(Sessions::CreatedAt).gt(now - lifetime.absolute)),
            )
            .await?)
    }

    /// Slides the session's expiry forward, never past its absolute end (called at most once
    /// a minute per session).
    pub async fn touch(
        &self,
        session: &Session,
        now: DateTime<Utc>,
        lifetime: Lifetime,
    ) -> StoreResult<()> {
        let token_hash = session.token_hash.as_str();
        self.db
            .execute(
                Query::update()
                    .table(Sessions::Table)
                    .value(Sessions::LastSeenAt, Expr::val(now))
                    .value(
                        Sessions::ExpiresAt,
                        Expr::val(lifetime.expiry(session.created_at, now)),
                    )
                    .and_where(Expr::col(Sessions::TokenHash).eq(token_hash)),
            )
            .await?;
        Ok(())
    }

    pub async fn delete(&self, token_hash: &str) -> StoreResult<()> {
        self.db
            .execute(
                Query::delete()
                    .from_table(Sessions::Table)
                    .and_where(Expr::col(Sessions::TokenHash).eq(token_hash)),
            )
            .await?;
        Ok(())
    }

    /// Removes sessions expired at `now` (idle or past their absolute lifetime); returns how
    /// many.
    pub async fn purge_expired(&self, now: DateTime<Utc>, lifetime: Lifetime) -> StoreResult<u64> {
        Ok(self
            .db
            .execute(
                Query::delete().from_table(Sessions::Table).cond_where(
                    sea_query::Cond::any()
                        .add(Expr::col(Sessions::ExpiresAt).lte(now))
                        .add(Expr::col(Sessions::CreatedAt).lte(now - lifetime.absolute)),
                ),
            )
            .await?)
    }
}

pub(crate) async fn delete_for_user(tx: &mut Tx, user_id: i64) -> StoreResult<()> {
    delete_for_user_except(tx, user_id, None).await
}

pub(crate) async fn delete_for_user_except(
    tx: &mut Tx,
    user_id: i64,
    keep: Option<&str>,
) -> StoreResult<()> {
    let mut q = Query::delete()
        .from_table(Sessions::Table)
        .and_where(Expr::col(Sessions::UserId).eq(user_id))
        .to_owned();
    if let Some(k) = keep {
        q.and_where(Expr::col(Sessions::TokenHash).ne(k));
    }
    tx.execute(&q).await?;
    Ok(())
}
