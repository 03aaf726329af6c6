//! The data dictionary (`bas_dict`): items by kind. Non-editable items are protected.

use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use kehu_domain::dictionary::DictInput;
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;

use crate::audit::{self, Action, Actor};
use crate::db::{Db, Tx};
use crate::error::{StoreResult, unique_as};
use crate::page::{Page, PageRequest};
use crate::schema::Dictionary;

/// 数据字典条目.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DictEntry {
    pub id: i64,
    pub kind: String,
    pub item: String,
    pub value: String,
    pub sort: i32,
    pub editable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

fn snapshot(e: &DictEntry) -> serde_json::Value {
    serde_json::json!({"kind": e.kind, "item": e.item, "value": e.value, "sort": e.sort})
}

fn select_entries() -> SelectStatement {
    Query::select()
        .columns([
            Dictionary::Id,
            Dictionary::Kind,
            Dictionary::Item,
            Dictionary::Value,
            Dictionary::Sort,
            Dictionary::Editable,
            Dictionary::CreatedAt,
            Dictionary::UpdatedAt,
            Dictionary::Version,
        ])
        .from(Dictionary::Table)
        .to_owned()
}

#[derive(Clone, Debug)]
pub struct DictionaryStore {
    db: Db,
}

impl DictionaryStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Every kind with its item count, alphabetically.
    pub async fn kinds(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(self
            .db
            .fetch_all(
                Query::select()
                    .column(Dictionary::Kind)
                    .expr(Expr::col(Dictionary::Id).count())
                    .from(Dictionary::Table)
                    .group_by_col(Dictionary::Kind)
                    .order_by(Dictionary::Kind, Order::Asc),
            )
            .await?)
    }

    pub async fn list(
        &self,
        kind: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<DictEntry>> {
        let filter = |q: &mut SelectStatement| {
            if let Some(k) = kind {
                q.and_where(Expr::col(Dictionary::Kind).eq(k));
            }
        };
        let mut count = Query::select()
            .expr(Expr::col(Dictionary::Id).count())
            .from(Dictionary::Table)
            .to_owned();
        filter(&mut count);
        let (total,): (i64,) = self.db.fetch_one(&count).await?;
        let mut q = select_entries();
        filter(&mut q);
        q.order_by(Dictionary::Kind, Order::Asc)
            .order_by(Dictionary::Sort, Order::Asc)
            .order_by(Dictionary::Id, Order::Asc)
            .limit(page.per_page)
            .offset(page.offset());
        Ok(Page::new(self.db.fetch_all(&q).await?, total, page))
    }

    pub async fn count(&self) -> StoreResult<i64> {
        let (n,): (i64,) = self
            .db
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Dictionary::Id).count())
                    .from(Dictionary::Table),
            )
            .await?;
        Ok(n)
    }

    pub async fn get(&self, id: i64) -> StoreResult<DictEntry> {
        let q = select_entries()
            .and_where(Expr::col(Dictionary::Id).eq(id))
            .to_owned();
        self.db
            .fetch_optional(&q)
            .await?
            .ok_or(DomainError::NotFound.into())
    }

    async fn get_in(tx: &mut Tx, id: i64) -> StoreResult<DictEntry> {
        let q = select_entries()
            .and_where(Expr::col(Dictionary::Id).eq(id))
            .to_owned();
        tx.fetch_optional(&q)
            .await?
            .ok_or(DomainError::NotFound.into())
    }

    pub async fn create(&self, input: &DictInput, actor: &Actor) -> StoreResult<DictEntry> {
        let mut tx = self.db.begin().await?;
        let id = insert(&mut tx, input, true, actor).await?;
        let after = Self::get_in(&mut tx, id).await?;
        audit::record(
            &mut tx,
            actor,
            Action::Create,
            "dictionary",
            id,
            None,
            Some(&snapshot(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn update(
        &self,
        id: i64,
        input: &DictInput,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<DictEntry> {
        let mut tx = self.db.begin().await?;
        let before = Self::get_in(&mut tx, id).await?;
        if !before.editable {
            return Err(DomainError::NotAllowed("err-dict-protected").into());
        }
        let n = tx
            .execute(
                Query::update()
                    .table(Dictionary::Table)
                    .values([
                        (Dictionary::Kind, input.kind.as_str().into()),
                        (Dictionary::Item, input.item.as_str().into()),
                        (Dictionary::Value, input.value.as_str().into()),
                        (Dictionary::Sort, input.sort.into()),
                        (Dictionary::UpdatedAt, Expr::val(Utc::now())),
                        (Dictionary::UpdatedBy, actor.user_id.into()),
                        (Dictionary::Version, Expr::col(Dictionary::Version).add(1)),
                    ])
                    .and_where(Expr::col(Dictionary::Id).eq(id))
                    .and_where(Expr::col(Dictionary::Version).eq(version)),
            )
            .await
            .map_err(unique_as("item"))?;
        if n == 0 {
            return Err(DomainError::StaleVersion.into());
        }
        let after = Self::get_in(&mut tx, id).await?;
        audit::record(
            &mut tx,
            actor,
            Action::Update,
            "dictionary",
            id,
            Some(&snapshot(&before)),
            Some(&snapshot(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete(&self, id: i64, version: i32, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let before = Self::get_in(&mut tx, id).await?;
        if !before.editable {
            return Err(DomainError::NotAllowed("err-dict-protected").into());
        }
        let n = tx
            .execute(
                Query::delete()
                    .from_table(Dictionary::Table)
                    .and_where(Expr::col(Dictionary::Id).eq(id))
                    .and_where(Expr::col(Dictionary::Version).eq(version)),
            )
            .await?;
        if n == 0 {
            return Err(DomainError::StaleVersion.into());
        }
        audit::record(
            &mut tx,
            actor,
            Action::Delete,
            "dictionary",
            id,
            Some(&snapshot(&before)),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Inserts one item; `(kind, item)` is unique.
pub(crate) async fn insert(
    tx: &mut Tx,
    input: &DictInput,
    editable: bool,
    actor: &Actor,
) -> StoreResult<i64> {
    let now = Utc::now();
    let (id,): (i64,) = tx
        .fetch_one(
            Query::insert()
                .into_table(Dictionary::Table)
                .columns([
                    Dictionary::Kind,
                    Dictionary::Item,
                    Dictionary::Value,
                    Dictionary::Sort,
                    Dictionary::Editable,
                    Dictionary::CreatedAt,
                    Dictionary::CreatedBy,
                    Dictionary::UpdatedAt,
                    Dictionary::UpdatedBy,
                ])
                .values_panic([
                    input.kind.as_str().into(),
                    input.item.as_str().into(),
                    input.value.as_str().into(),
                    input.sort.into(),
                    editable.into(),
                    Expr::val(now),
                    actor.user_id.into(),
                    Expr::val(now),
                    actor.user_id.into(),
                ])
                .returning_col(Dictionary::Id),
        )
        .await
        .map_err(unique_as("item"))?;
    Ok(id)
}
