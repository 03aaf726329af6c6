//! Personal API tokens, the first owned records: each belongs to a user, and every read and
//! change of them goes through the one scoped builder [`tokens`] with the caller's
//! [`OwnerFilter`]: a user manages their own; a holder of `system.users` with data scope `all`
//! lists and revokes anyone's. A token outside the scope is `NotFound`. Tokens are stored as a
//! SHA-256 hash, shown once when issued, revocable, and refused once past their expiry
//! (`expires_at`, `NULL` for a token that never expires).

use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use kehu_domain::policy::{AdminChange, OwnerFilter, authorize};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;

use crate::audit::{self, Action, Actor};
use crate::cache::{AuthCache, CachedToken};
use crate::db::{Db, Tx};
use crate::error::{StoreError, StoreResult, unique_as};
use crate::page::{Page, PageRequest};
use crate::schema::ApiTokens;
use crate::scope::{Owned, Scoped};

/// The one builder of every statement on `api_tokens` except the insert: the owner condition
/// of `scope` is already in it (see [`crate::scope`]).
fn tokens(scope: OwnerFilter) -> Scoped<ApiTokens> {
    Scoped::new(
        Owned {
            table: ApiTokens::Table,
            owner: ApiTokens::UserId,
        },
        scope,
    )
}

/// The columns of [`ApiToken`].
fn select_tokens(scope: OwnerFilter) -> SelectStatement {
    tokens(scope)
        .select()
        .columns([
            ApiTokens::Id,
            ApiTokens::UserId,
            ApiTokens::Name,
            ApiTokens::CreatedAt,
            ApiTokens::LastUsedAt,
            ApiTokens::ExpiresAt,
            ApiTokens::RevokedAt,
        ])
        .to_owned()
}

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

/// Which tokens a list shows, within the caller's scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenFilter {
    /// Only this user's tokens.
    pub user_id: Option<i64>,
    /// Revoked tokens too (the token tables show them greyed out).
    pub include_revoked: bool,
}

impl TokenFilter {
    /// Every token of `user_id`, revoked ones included.
    pub fn of_user(user_id: i64) -> Self {
        Self {
            user_id: Some(user_id),
            include_revoked: true,
        }
    }

    fn apply(&self, q: &mut SelectStatement) {
        if let Some(u) = self.user_id {
            q.and_where(Expr::col(ApiTokens::UserId).eq(u));
        }
        if !self.include_revoked {
            q.and_where(Expr::col(ApiTokens::RevokedAt).is_null());
        }
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

/// Revokes every live token of `user_id` inside the caller's transaction (a password reset
/// or a disabled account, already authorised by the user store), one audit entry per token;
/// returns how many. The caller clears the auth cache after commit.
pub(crate) async fn revoke_all_for_user(
    tx: &mut Tx,
    user_id: i64,
    reason: RevokeAllReason,
    actor: &Actor,
) -> StoreResult<usize> {
    let live: Vec<(i64,)> = tx
        .fetch_all(
            tokens(OwnerFilter::system())
                .select()
                .column(ApiTokens::Id)
                .and_where(Expr::col(ApiTokens::UserId).eq(user_id))
                .and_where(Expr::col(ApiTokens::RevokedAt).is_null()),
        )
        .await?;
    if live.is_empty() {
        return Ok(0);
    }
    tx.execute(
        tokens(OwnerFilter::system())
            .update()
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

    /// Stores a new token for `user_id`; `expires_at` `None` is a token that never expires
    /// (CLI only). Callers issue tokens for the user asking (or, at the command line, for
    /// anyone).
    pub async fn issue(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> StoreResult<i64> {
        self.db
            .write(async |tx| {
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
                let after =
                    serde_json::json!({"user_id": user_id, "name": name, "expires_at": expires_at});
                audit::record(
                    tx,
                    actor,
                    Action::Create,
                    "api_token",
                    id,
                    None,
                    Some(&after),
                )
                .await?;
                Ok(id)
            })
            .await
    }

    /// Token `id` if it is within `scope`; otherwise `NotFound`, as if it did not exist.
    pub async fn get(&self, scope: OwnerFilter, id: i64) -> StoreResult<ApiToken> {
        let q = select_tokens(scope)
            .and_where(Expr::col(ApiTokens::Id).eq(id))
            .to_owned();
        self.db.fetch_found(&q).await
    }

    /// How many tokens within `scope` pass `filter` (the home page's figure).
    pub async fn count(&self, scope: OwnerFilter, filter: &TokenFilter) -> StoreResult<i64> {
        let mut count = tokens(scope)
            .select()
            .expr(Expr::col(ApiTokens::Id).count())
            .to_owned();
        filter.apply(&mut count);
        let (total,): (i64,) = self.db.fetch_one(&count).await?;
        Ok(total)
    }

    /// The tokens within `scope` that pass `filter`, newest first.
    pub async fn list(
        &self,
        scope: OwnerFilter,
        filter: &TokenFilter,
        page: PageRequest,
    ) -> StoreResult<Page<ApiToken>> {
        let total = self.count(scope, filter).await?;
        let mut q = select_tokens(scope);
        filter.apply(&mut q);
        q.order_by(ApiTokens::Id, Order::Desc)
            .limit(page.per_page)
            .offset(page.offset());
        Ok(Page::new(self.db.fetch_all(&q).await?, total, page))
    }

    /// `(token id, user id)` of a live token with this hash: not revoked and not expired.
    /// Sign-in by bearer token, before anyone's scope is known.
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
                tokens(OwnerFilter::system())
                    .select()
                    .columns([ApiTokens::Id, ApiTokens::UserId, ApiTokens::ExpiresAt])
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

    /// Notes that token `id` just signed a request in (the bearer's own token).
    pub async fn mark_used(&self, id: i64) -> StoreResult<()> {
        self.db
            .execute(
                tokens(OwnerFilter::system())
                    .update()
                    .value(ApiTokens::LastUsedAt, Expr::val(Utc::now()))
                    .and_where(Expr::col(ApiTokens::Id).eq(id)),
            )
            .await?;
        Ok(())
    }

    /// Revokes live token `id` within `scope`; one outside it, or already revoked, is
    /// `NotFound`. Revoking someone else's token also passes the delegation policy: only for
    /// users holding no right the actor lacks.
    pub async fn revoke(&self, scope: OwnerFilter, id: i64, actor: &Actor) -> StoreResult<()> {
        let result = self.revoke_checked(scope, id, actor).await;
        let owner = match &result {
            Err(StoreError::Domain(DomainError::Refused(_))) => {
                self.get(scope, id).await.ok().map(|t| t.user_id)
            }
            _ => None,
        };
        let asked = serde_json::json!({"revoked": true, "user_id": owner});
        audit::note_refusal(&self.db, result, actor, "api_token", id, asked).await
    }

    async fn revoke_checked(&self, scope: OwnerFilter, id: i64, actor: &Actor) -> StoreResult<()> {
        self.db
            .write(async |tx| {
                let owner: Option<(i64,)> = tx
                    .fetch_optional(
                        tokens(scope)
                            .select()
                            .column(ApiTokens::UserId)
                            .and_where(Expr::col(ApiTokens::Id).eq(id))
                            .and_where(Expr::col(ApiTokens::RevokedAt).is_null()),
                    )
                    .await?;
                let Some((owner,)) = owner else {
                    return Err(DomainError::NotFound.into());
                };
                let target = crate::users::UserStore::target_by_id(tx, owner, actor).await?;
                authorize(
                    &actor.authority,
                    AdminChange::RevokeTokens { target: &target },
                )?;
                let revoked = tx
                    .execute(
                        tokens(scope)
                            .update()
                            .value(ApiTokens::RevokedAt, Expr::val(Utc::now()))
                            .and_where(Expr::col(ApiTokens::Id).eq(id))
                            .and_where(Expr::col(ApiTokens::RevokedAt).is_null()),
                    )
                    .await?;
                if revoked == 0 {
                    return Err(DomainError::NotFound.into());
                }
                audit::record(
                    tx,
                    actor,
                    Action::Update,
                    "api_token",
                    id,
                    Some(&serde_json::json!({"revoked": false})),
                    Some(&serde_json::json!({"revoked": true})),
                )
                .await
            })
            .await?;
        self.auth.clear();
        Ok(())
    }
}
