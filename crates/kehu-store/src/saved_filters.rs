//! Saved filters (保存的筛选): a user's named queries of a list (filters, sort, page size and
//! columns, never the position), owned records like API tokens. Every read and change goes
//! through the one scoped builder [`saved`] with the caller's [`OwnerFilter`]; a user sees and
//! deletes only their own (`Principal::own_records()`), another's is `NotFound`. Creating and
//! deleting go through the write kit, so both are in the audit log.

use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use kehu_domain::FieldError;
use kehu_domain::policy::OwnerFilter;
use sea_query::{Expr, ExprTrait, Order, SelectStatement, SimpleExpr};
use serde::Serialize;

use crate::audit::Actor;
use crate::db::{Db, Tx};
use crate::error::StoreResult;
use crate::schema::SavedFilters;
use crate::scope::{Owned, Scoped};
use crate::write::{self, Record, Table};

/// The longest name, in characters.
pub const NAME_MAX: usize = 40;
/// The longest saved query string, in bytes.
pub const QUERY_MAX: usize = 2000;
/// How many filters a user keeps per list.
pub const PER_LIST_MAX: usize = 50;

/// The one builder of every statement on `saved_filters` except the insert: the owner
/// condition of `scope` is already in it (see [`crate::scope`]).
fn saved(scope: OwnerFilter) -> Scoped<SavedFilters> {
    Scoped::new(
        Owned {
            table: SavedFilters::Table,
            owner: SavedFilters::UserId,
        },
        scope,
    )
}

fn select_saved(scope: OwnerFilter) -> SelectStatement {
    saved(scope)
        .select()
        .columns([
            SavedFilters::Id,
            SavedFilters::UserId,
            SavedFilters::ListKey,
            SavedFilters::Name,
            SavedFilters::Query,
            SavedFilters::CreatedAt,
            SavedFilters::UpdatedAt,
            SavedFilters::Version,
        ])
        .to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SavedFilter {
    pub id: i64,
    /// The owner.
    pub user_id: i64,
    /// The list it belongs to, e.g. `users`, `audit`.
    pub list_key: String,
    pub name: String,
    /// The list's query string without the position (`role=2&sort=-created&cols=…`).
    pub query: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A new saved filter, checked: the name trimmed, required and at most [`NAME_MAX`]
/// characters; a list key of lowercase letters, digits, `_`, `-` and `/`; a query string of at
/// most [`QUERY_MAX`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSavedFilter {
    list_key: String,
    name: String,
    query: String,
}

impl NewSavedFilter {
    pub fn parse(list_key: &str, name: &str, query: &str) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        let key_ok = !list_key.is_empty()
            && list_key.len() <= 64
            && list_key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-/".contains(c));
        if !key_ok {
            errors.push(FieldError::new("list", "err-invalid"));
        }
        let name = name.trim();
        if name.is_empty() {
            errors.push(FieldError::new("name", "err-required"));
        } else if name.chars().count() > NAME_MAX {
            errors.push(FieldError::new("name", "err-too-long"));
        }
        let query = query.trim().trim_start_matches('?');
        if query.len() > QUERY_MAX {
            errors.push(FieldError::new("query", "err-too-long"));
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        Ok(Self {
            list_key: list_key.to_owned(),
            name: name.to_owned(),
            query: query.to_owned(),
        })
    }
}

impl Record for SavedFilter {
    type Col = SavedFilters;
    const TABLE: Table<SavedFilters> = Table {
        table: SavedFilters::Table,
        id: SavedFilters::Id,
        version: SavedFilters::Version,
        created_at: SavedFilters::CreatedAt,
        created_by: SavedFilters::CreatedBy,
        updated_at: SavedFilters::UpdatedAt,
        updated_by: SavedFilters::UpdatedBy,
        entity: "saved_filter",
        unique: "name",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_saved(OwnerFilter::system()), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "user_id": self.user_id, "list": self.list_key, "name": self.name, "query": self.query,
        })
    }
}

#[derive(Clone, Debug)]
pub struct SavedFilterStore {
    db: Db,
}

impl SavedFilterStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The saved filters of list `list_key` within `scope`, by name.
    pub async fn list(&self, scope: OwnerFilter, list_key: &str) -> StoreResult<Vec<SavedFilter>> {
        let q = select_saved(scope)
            .and_where(Expr::col(SavedFilters::ListKey).eq(list_key))
            .order_by(SavedFilters::Name, Order::Asc)
            .order_by(SavedFilters::Id, Order::Asc)
            .limit(PER_LIST_MAX as u64)
            .to_owned();
        Ok(self.db.fetch_all(&q).await?)
    }

    /// Saved filter `id` if it is within `scope`; otherwise `NotFound`, as if it did not exist.
    pub async fn get(&self, scope: OwnerFilter, id: i64) -> StoreResult<SavedFilter> {
        let q = select_saved(scope)
            .and_where(Expr::col(SavedFilters::Id).eq(id))
            .to_owned();
        self.db.fetch_found(&q).await
    }

    /// Saves `input` for `owner` (the user asking). A name the owner already uses on that list
    /// is a conflict on `name` (`err-taken`); past [`PER_LIST_MAX`] on one list, `name` says
    /// there are too many.
    pub async fn create(
        &self,
        owner: i64,
        input: &NewSavedFilter,
        actor: &Actor,
    ) -> StoreResult<SavedFilter> {
        let scope = OwnerFilter::system();
        self.db
            .write(async |tx| {
                let (n,): (i64,) = tx
                    .fetch_one(
                        saved(scope)
                            .select()
                            .expr(Expr::col(SavedFilters::Id).count())
                            .and_where(Expr::col(SavedFilters::UserId).eq(owner))
                            .and_where(Expr::col(SavedFilters::ListKey).eq(&input.list_key)),
                    )
                    .await?;
                if n >= PER_LIST_MAX as i64 {
                    return Err(DomainError::field("name", "err-saved-filter-too-many").into());
                }
                let values: Vec<(SavedFilters, SimpleExpr)> = vec![
                    (SavedFilters::UserId, owner.into()),
                    (SavedFilters::ListKey, input.list_key.as_str().into()),
                    (SavedFilters::Name, input.name.as_str().into()),
                    (SavedFilters::Query, input.query.as_str().into()),
                ];
                write::create::<SavedFilter>(tx, values, actor, async |_, _| Ok(())).await
            })
            .await
    }

    /// Deletes saved filter `id` within `scope`; one outside it is `NotFound`.
    pub async fn delete(&self, scope: OwnerFilter, id: i64, actor: &Actor) -> StoreResult<()> {
        self.db
            .write(async |tx| {
                let q = select_saved(scope)
                    .and_where(Expr::col(SavedFilters::Id).eq(id))
                    .to_owned();
                let before: SavedFilter = tx.fetch_found(&q).await?;
                write::delete(tx, &before, before.version, actor).await
            })
            .await
    }
}
