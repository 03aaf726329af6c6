//! Personal API tokens: stored as a SHA-256 hash, revocable, shown once when issued.

use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

use crate::audit::{self, Action, Actor};
use crate::cache::AuthCache;
use crate::db::Db;
use crate::error::{StoreResult, unique_as};
use crate::schema::ApiTokens;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
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

    pub async fn issue(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
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
                    ])
                    .values_panic([
                        user_id.into(),
                        name.into(),
                        token_hash.into(),
                        Expr::val(Utc::now()),
                    ])
                    .returning_col(ApiTokens::Id),
            )
            .await
            .map_err(unique_as("token"))?;
        let after = serde_json::json!({"user_id": user_id, "name": name});
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

    /// The owner of a live (not revoked) token with this hash.
    pub async fn user_for(&self, token_hash: &str) -> StoreResult<Option<(i64, i64)>> {
        if let Some(ids) = self.auth.token(token_hash) {
            return Ok(Some(ids));
        }
        let generation = self.auth.generation();
        let row: Option<(i64, i64)> = self
            .db
            .fetch_optional(
                Query::select()
                    .columns([ApiTokens::Id, ApiTokens::UserId])
                    .from(ApiTokens::Table)
                    .and_where(Expr::col(ApiTokens::TokenHash).eq(token_hash))
                    .and_where(Expr::col(ApiTokens::RevokedAt).is_null()),
            )
            .await?;
        if let Some(ids) = row {
            self.auth.put_token(generation, token_hash, ids);
        }
        Ok(row)
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
                        ApiTokens::RevokedAt,
                    ])
                    .from(ApiTokens::Table)
                    .and_where(Expr::col(ApiTokens::UserId).eq(user_id))
                    .order_by(ApiTokens::Id, Order::Desc),
            )
            .await?)
    }

    /// Revokes a token; `owner` limits it to that user's tokens (a user revoking their own).
    pub async fn revoke(&self, id: i64, owner: Option<i64>, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
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
