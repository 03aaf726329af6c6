//! Server-side sessions, stored in the database so that several kehu processes on one
//! PostgreSQL share them. Only a hash of the cookie value is stored.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Query};

use crate::db::{Db, Tx};
use crate::error::StoreResult;
use crate::schema::Sessions;

#[derive(Clone, sqlx::FromRow)]
pub struct Session {
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
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

#[derive(Clone, Debug)]
pub struct SessionStore {
    db: Db,
}

impl SessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn create(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> StoreResult<()> {
        let now = Utc::now();
        let ua = user_agent.map(|s| s.chars().take(255).collect::<String>());
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
                        token_hash.into(),
                        user_id.into(),
                        csrf_token.into(),
                        Expr::val(now),
                        Expr::val(expires_at),
                        Expr::val(now),
                        ip.map(str::to_owned).into(),
                        ua.into(),
                    ]),
            )
            .await?;
        Ok(())
    }

    /// The live session with this token hash, if any.
    pub async fn find(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        Ok(self
            .db
            .fetch_optional(
                Query::select()
                    .columns([
                        Sessions::TokenHash,
                        Sessions::UserId,
                        Sessions::CsrfToken,
                        Sessions::ExpiresAt,
                        Sessions::LastSeenAt,
                    ])
                    .from(Sessions::Table)
                    .and_where(Expr::col(Sessions::TokenHash).eq(token_hash))
                    .and_where(Expr::col(Sessions::ExpiresAt).gt(Utc::now())),
            )
            .await?)
    }

    /// Slides the session's expiry forward (called at most once a minute per session).
    pub async fn touch(&self, token_hash: &str, expires_at: DateTime<Utc>) -> StoreResult<()> {
        self.db
            .execute(
                Query::update()
                    .table(Sessions::Table)
                    .value(Sessions::LastSeenAt, Expr::val(Utc::now()))
                    .value(Sessions::ExpiresAt, Expr::val(expires_at))
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

    /// Removes expired sessions; returns how many.
    pub async fn purge_expired(&self) -> StoreResult<u64> {
        Ok(self
            .db
            .execute(
                Query::delete()
                    .from_table(Sessions::Table)
                    .and_where(Expr::col(Sessions::ExpiresAt).lte(Utc::now())),
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
