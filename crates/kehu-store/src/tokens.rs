//! Personal API tokens: stored as a SHA-256 hash, revocable, shown once when issued, and
//! refused once past their expiry (`expires_at`, `NULL` for a token that never expires).

use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use kehu_domain::policy::{AdminChange, authorize};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

use crate::audit::{self, Action, Actor};
use crate::cache::{AuthCache, CachedToken};
use crate::db::{Db, Tx};
use crate::error::{StoreResult, unique_as};
use crate::schema::ApiTokens;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Past its expiry: it no longer signs in, even if not revoked.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

/// Why a user's live tokens were revoked all at once (recorded in the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeAllReason {
    /// An administrator set a temporary password.
    PasswordReset,
    /// The account was disabled.
    Disabled,
}

impl RevokeAllReason {
    fn code(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::Disabled => "user_disabled",
        }
    }
}

/// Revokes every live token of `user_id` inside the caller's transaction, one audit entry per
/// token; returns how many. The caller clears the auth cache after commit.
pub(crate) async fn revoke_all_for_user(
    tx: &mut Tx,
    user_id: i64,
    reason: RevokeAllReason,
    actor: &Actor,
) -> StoreResult<usize> {
    let live: Vec<(i64,)> = tx
        .fetch_all(
            Query::select()
                .column(ApiTokens::Id)
                .from(ApiTokens::Table)
                .and_where(Expr::col(ApiTokens::UserId).eq(user_id))
                .and_where(Expr::col(ApiTokens::RevokedAt).is_null()),
        )
        .await?;
    if live.is_empty() {
        return Ok(0);
    }
    tx.execute(
        Query::update()
            .table(ApiTokens::Table)
            .value(ApiTokens::RevokedAt, Expr::val(Utc::now()))
            .and_where(Expr::col(ApiTokens::UserId).eq(user_id))
            .and_where(Expr::col(ApiTokens::RevokedAt).is_null()),
    )
    .await?;
    for (id,) in &live {
        audit::record(
            tx,
            actor,
            Action::Update,
            "api_token",
            *id,
            Some(&serde_json::json!({"revoked": false})),
            Some(&serde_json::json!({"revoked": true, "reason": reason.code()})),
        )
        .await?;
    }
    Ok(live.len())
}

#[derive(Clone, Debug)]
pub struct TokenStore {
    db: Db,
    auth: AuthCache,
}

impl TokenStore {
    pub fn new(db: Db, auth: AuthCache) -> Self {
        Self { db, auth }
    }

    /// Stores a new token; `expires_at` `None` is a token that never expires (CLI only).
    pub async fn issue(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> StoreResult<i64> {
        let mut tx = self.db.begin().await?;
        let (id,): (i64,) = tx
            .fetch_one(
                Query::insert()
                    .into_table(ApiTokens::Table)
                    .columns([
                        ApiTokens::UserId,
                        ApiTokens::Name,
                        ApiTokens::TokenHash,
                        ApiTokens::CreatedAt,
                        ApiTokens::ExpiresAt,
                    ])
                    .values_panic([
                        user_id.into(),
                        name.into(),
                        token_hash.into(),
                        Expr::val(Utc::now()),
                        Expr::val(expires_at),
                    ])
                    .returning_col(ApiTokens::Id),
            )
            .await
            .map_err(unique_as("token"))?;
        let after = serde_json::json!({"user_id": user_id, "name": name, "expires_at": expires_at});
        audit::record(
            &mut tx,
            actor,
            Action::Create,
            "api_token",
            id,
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// `(token id, user id)` of a live token with this hash: not revoked and not expired.
    pub async fn user_for(&self, token_hash: &str) -> StoreResult<Option<(i64, i64)>> {
        // The cache itself refuses an entry past the token's expiry.
        if let Some(t) = self.auth.token(token_hash) {
            return Ok(Some((t.id, t.user_id)));
        }
        let generation = self.auth.generation();
        let now = Utc::now();
        let row: Option<(i64, i64, Option<DateTime<Utc>>)> = self
            .db
            .fetch_optional(
                Query::select()
                    .columns([ApiTokens::Id, ApiTokens::UserId, ApiTokens::ExpiresAt])
                    .from(ApiTokens::Table)
                    .and_where(Expr::col(ApiTokens::TokenHash).eq(token_hash))
                    .and_where(Expr::col(ApiTokens::RevokedAt).is_null())
                    .and_where(
                        Expr::col(ApiTokens::ExpiresAt)
                            .is_null()
                            .or(Expr::col(ApiTokens::ExpiresAt).gt(Expr::val(now))),
                    ),
            )
            .await?;
        Ok(row.map(|(id, user_id, expires_at)| {
            self.auth.put_token(
                generation,
                token_hash,
                CachedToken {
                    id,
                    user_id,
                    expires_at,
                },
            );
            (id, user_id)
        }))
    }

    pub async fn mark_used(&self, id: i64) -> StoreResult<()> {
        self.db
            .execute(
                Query::update()
                    .table(ApiTokens::Table)
                    .value(ApiTokens::LastUsedAt, Expr::val(Utc::now()))
                    .and_where(Expr::col(ApiTokens::Id).eq(id)),
            )
            .await?;
        Ok(())
    }

    pub async fn list_for_user(&self, user_id: i64) -> StoreResult<Vec<ApiToken>> {
        Ok(self
            .db
            .fetch_all(
                Query::select()
                    .columns([
                        ApiTokens::Id,
                        ApiTokens::UserId,
                        ApiTokens::Name,
                        ApiTokens::CreatedAt,
                        ApiTokens::LastUsedAt,
                        ApiTokens::ExpiresAt,
                        ApiTokens::RevokedAt,
                    ])
                    .from(ApiTokens::Table)
                    .and_where(Expr::col(ApiTokens::UserId).eq(user_id))
                    .order_by(ApiTokens::Id, Order::Desc),
            )
            .await?)
    }

    /// Revokes a token; `owner` limits it to that user's tokens (a user revoking their own, or
    /// an administrator one of someone's, which the delegation policy allows only for users
    /// holding no right the administrator lacks).
    pub async fn revoke(&self, id: i64, owner: Option<i64>, actor: &Actor) -> StoreResult<()> {
        let result = self.revoke_checked(id, owner, actor).await;
        let asked = serde_json::json!({"revoked": true, "user_id": owner});
        audit::note_refusal(&self.db, result, actor, "api_token", id, asked).await
    }

    async fn revoke_checked(&self, id: i64, owner: Option<i64>, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        if let Some(u) = owner {
            let target = crate::users::UserStore::target_by_id(&mut tx, u, actor).await?;
            authorize(
                &actor.authority,
                AdminChange::RevokeTokens { target: &target },
            )?;
        }
        let mut q = Query::update()
            .table(ApiTokens::Table)
            .value(ApiTokens::RevokedAt, Expr::val(Utc::now()))
            .and_where(Expr::col(ApiTokens::Id).eq(id))
            .and_where(Expr::col(ApiTokens::RevokedAt).is_null())
            .to_owned();
        if let Some(u) = owner {
            q.and_where(Expr::col(ApiTokens::UserId).eq(u));
        }
        if tx.execute(&q).await? == 0 {
            return Err(DomainError::NotFound.into());
        }
        audit::record(
            &mut tx,
            actor,
            Action::Update,
            "api_token",
            id,
            Some(&serde_json::json!({"revoked": false})),
            Some(&serde_json::json!({"revoked": true})),
        )
        .await?;
        tx.commit().await?;
        self.auth.clear();
        Ok(())
    }
}
